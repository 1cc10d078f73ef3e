package lm

import (
	"errors"
	"math"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

var errNoPairs = errors.New("lm: every pair of samples was identical: the policy has nothing to compare")

func (rewardPlugin) Info() kernel.Info {
	ps := append(notGenerators(taskParams()), modelParams()...)
	ps = append(ps, sftParams()...)
	ps = append(ps,
		kernel.IntParam(ParamPairs, DefaultPairs, 1, 1<<24, "generated training pairs (and a quarter as many held-out pairs on the test prompts)"),
		kernel.Generators(kernel.FloatParam(ParamFlip, 0, 0, 0.499, "fraction of generated training labels flipped at random"))[0])
	ps = append(ps, fit.Params(fit.Defaults{
		LearningRate: 1e-3, Steps: 200, HasBatch: true, BatchSize: DefaultBatchSize, MinBatch: 1, EvalEvery: DefaultEvalEvery,
		Doc: map[string]string{fit.ParamBatchSize: "pairs per step"},
	})...)
	ps = append(ps, kernel.StringParam(ParamSave, "", "save the reward model (encoder + head) in this directory"))
	return kernel.Info{
		ID: IDReward, Summary: "a Bradley–Terry reward model on text: the SFT transformer as encoder, a scalar head on the last hidden state",
		Precision: "float32 (GoMLX transformer: weights, activations, log-softmax); sequence log-probabilities and losses are summed in float64.",
		Papers:    []kernel.Paper{PaperBT}, Params: ps, Data: []kernel.DataFormat{prefData},
		Doc: `r(x, y) = w·h_L(x, y) + b, with h_L the transformer's last hidden state at
the last token of prompt + completion; the encoder starts from the SFT model
and trains with the head (zero at the start). Loss: −log σ(r(x, y_w) − r(x, y_l)).

Records loss and, at every evaluation, pair_accuracy (r_w > r_l, ties ½) on
the training pairs (against the verifier's labels, before flips) and
pair_accuracy_test on held-out pairs sampled on the test prompts. Final:
score_corr, the correlation of r with the verifier's score on the
held-out responses.`,
		Model: rewardModelDoc,
		Init: `An lm.reward model: the encoder and head start from it instead of the SFT
model and a zero head (the SFT model, from sft or trained, still samples
the pairs). A policy of lm.sft, lm.dpo, lm.tdpo or lm.inpo: it is the SFT
model, as sft=DIR (give one of the two). Its tokenizer comes along.`,
	}
}

func (rewardPlugin) Run(job *kernel.Job) error {
	s, e, ref, err := withReference(job)
	if err != nil {
		return err
	}
	pairs, err := pairsFor(job, e, ref, s)
	if err != nil {
		return err
	}
	// Held-out pairs: the same sampler on the test prompts.
	heldTask := *e.Task
	heldTask.Train = e.Task.Test
	held := *e
	held.Task = &heldTask
	test, err := held.GeneratePairs(ref, max(1, job.Params.Int(ParamPairs)/4), 0, s.held)
	if err != nil {
		return err
	}
	m, err := warmReward(job, e)
	if m == nil && err == nil {
		m, err = ref.Clone()
	}
	if err != nil {
		return err
	}
	d, err := e.PairData(pairs, ref, false, true)
	if err != nil {
		return err
	}
	dt, err := e.PairData(test, ref, false, true)
	if err != nil {
		return err
	}
	// acc is the pairwise accuracy of the current rewards r of d's rows.
	acc := func(d *PairData, p *datasets.TextPairs, r []float64) float64 {
		h := make([]float64, d.P)
		for i := range h {
			h[i] = r[i] - r[d.P+i]
		}
		return cleanAccuracy(p, h)
	}
	// The loop evaluates after its last step too: the finals are the last
	// evaluation's, and rTest the held-out rewards of the trained model.
	var a, b float64
	var rTest []float64
	eval := func(step int) error {
		rTrain, err := rewards(m, d.Rows)
		if err != nil {
			return err
		}
		if rTest, err = rewards(m, dt.Rows); err != nil {
			return err
		}
		a, b = acc(d, pairs, rTrain), acc(dt, test, rTest)
		if err := job.Record(int64(step), MetricPairAccuracy, a); err != nil {
			return err
		}
		return job.Record(int64(step), MetricPairAccuracy+"_test", b)
	}
	cfg := fit.Read(job.Params)
	job.SetTotal(int64(cfg.Steps))
	if err := m.InitHead(); err != nil {
		return err
	}
	if err := Reward(job.Context(), m, d, cfg, s.train, job.Record, eval); err != nil {
		return err
	}
	job.SetFinal(MetricPairAccuracy, a)
	job.SetFinal(MetricPairAccuracy+"_test", b)
	// Correlation of r with the verifier's score on the held-out responses.
	var xs, ys []float64
	for i, p := range test.Pairs {
		xs = append(xs, rTest[i], rTest[dt.P+i])
		ys = append(ys, e.Task.Score(p.Prompt, p.Chosen), e.Task.Score(p.Prompt, p.Rejected))
	}
	job.SetFinal("score_corr", corr(xs, ys))
	job.AddChart(kernel.Chart{Title: "Reward-model loss", Kind: "line", Series: []string{"loss"}, XLabel: "step", YLabel: "loss"})
	job.AddChart(kernel.Chart{Title: "Pairwise accuracy (train, held-out)", Kind: "line", Series: []string{MetricPairAccuracy, MetricPairAccuracy + "_test"}, XLabel: "step", YLabel: "accuracy"})
	return save(job, e, m)
}

func corr(x, y []float64) float64 {
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= n
	my /= n
	var sxy, sxx, syy float64
	for i := range x {
		sxy += (x[i] - mx) * (y[i] - my)
		sxx += (x[i] - mx) * (x[i] - mx)
		syy += (y[i] - my) * (y[i] - my)
	}
	if sxx == 0 || syy == 0 {
		return 0
	}
	return sxy / math.Sqrt(sxx*syy)
}
