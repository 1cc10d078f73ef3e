package lm

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/alignlab/alignlab/algos/decoder"
	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// The params of lm.inpo.
const (
	ParamRounds    = "rounds"    // int ≥ 1, default 3: INPO iterations (π_t refreshed, new pairs)
	ParamKappa     = "kappa"     // float > 0, default 5: INPO's step size κ
	ParamTau       = "tau"       // float > 0, default 0.1: KL regularisation τ towards π_SFT
	ParamSharpness = "sharpness" // float ≥ 0, default 2: the oracle's σ(sharpness·Δscore + cycle·c)
	ParamCycle     = "cycle"     // float ≥ 0, default 0: the oracle's rock–paper–scissors term
)

func (p prefPlugin) Info() kernel.Info {
	ps := append(notGenerators(taskParams()), modelParams()...)
	ps = append(ps, sftParams()...)
	var doc, summary string
	var papers []kernel.Paper
	switch p.id {
	case IDDPO:
		ps = append(ps,
			kernel.ChoiceParam(ParamLoss, LossDPO, []string{LossDPO, LossCDPO, LossRDPO, LossIPO}, "dpo, cdpo (label smoothing ε), rdpo (robust to flips at rate ε), ipo (square loss)"),
			kernel.FloatParam(ParamEpsilon, 0.2, 0, 0.499, "ε: the flip rate cdpo and rdpo assume"))
		summary = "the DPO family (DPO, cDPO, rDPO, IPO) on a transformer policy and text pairs"
		papers = []kernel.Paper{PaperDPO, PaperRDPO, PaperIPO}
		doc = `With u = log π_θ(y|x) − log π_ref(y|x) (sums over the completion's tokens,
EOS included) and h = u_w − u_l:
  dpo   ℓ = −log σ(βh)
  cdpo  ℓ = −(1−ε) log σ(βh) − ε log σ(−βh)
  rdpo  ℓ = [(1−ε)(−log σ(βh)) − ε(−log σ(−βh))] / (1 − 2ε)   (unbiased under flips at rate ε)
  ipo   ℓ = (h − 1/(2β))²
π_ref is the SFT model (sft=DIR, or trained here), its log-probs computed
once per pair (or read from ref_chosen_logps/ref_rejected_logps).`
	case IDTDPO:
		ps = append(ps,
			kernel.ChoiceParam(ParamLoss, LossTDPO2, []string{LossTDPO1, LossTDPO2}, "tdpo1 or tdpo2"),
			kernel.FloatParam(ParamAlpha, 0.5, 0, math.Inf(1), "α of TDPO2 (the paper's 0.5)"))
		summary = "token-level DPO (TDPO1, TDPO2) on a transformer policy and text pairs"
		papers = []kernel.Paper{PaperTDPO}
		doc = `With u = Σ_t [log π_θ − log π_ref](y_t) over the completion and
δ(x, y) = Σ_t KL(π_ref(·|x, y<t) ‖ π_θ(·|x, y<t)) (the sequential KL, over the
whole vocabulary at every completion position; π_ref's distributions are
computed once per pair):
  tdpo1 ℓ = −log σ(β[(u_w − u_l) − (δ_l − δ_w)])
  tdpo2 ℓ = −log σ(β[(u_w − u_l) − α(δ_l − sg(δ_w))])`
	case IDINPO:
		ps = append(ps,
			kernel.IntParam(ParamRounds, 3, 1, 1000, "INPO iterations; each samples new pairs from the current policy π_t"),
			kernel.FloatParam(ParamKappa, 5, 1e-9, 1e9, "κ, INPO's step size (the paper's 1/η); κτ must be ≤ 1"),
			kernel.FloatParam(ParamTau, 0.1, 1e-9, 1e9, "τ, the KL regularisation towards π_SFT"),
			kernel.FloatParam(ParamSharpness, 2, 0, 1e9, "the oracle: P(y ≻ y') = σ(sharpness·(score(y) − score(y')) + cycle·c(y, y'))"),
			kernel.FloatParam(ParamCycle, 0, 0, 1e9, "the oracle's intransitive term: completion lengths mod 3 play rock–paper–scissors"))
		summary = "INPO (iterative Nash policy optimisation) on a transformer policy with a general preference oracle on text"
		papers = []kernel.Paper{PaperINPO}
		doc = `Round t samples pairs from π_t (the policy at the round's start) on the
training prompts, labels them by drawing from the oracle P(y ≻ y') (a
verifier-score Bradley–Terry term plus an optional intransitive cycle), and
minimises
  L_t = E (h_t − κ/2)²,
  h_t = log π(y_w)/π(y_l) − κτ log π_ref(y_w)/π_ref(y_l) − (1−κτ) log π_t(y_w)/π_t(y_l),
whose population minimiser is π_{t+1} ∝ π_t^{1−κτ} π_ref^{κτ} exp(κ P(y ≻ π_t)).
steps are Adam steps per round; pairs are per round; the metrics are
recorded at the start and after every round (eval_every is not used).`
	}
	ps = append(ps, prefParams(p.id == IDINPO, map[bool]int{false: DefaultSteps, true: 50}[p.id == IDINPO])...)
	ps = append(ps, evalParams()...)
	doc += `

Records loss, and at every evaluation accuracy, principle, kl and kl_se
(KL(π ‖ π_SFT) = E_{y~π}[log π(y|x) − log π_SFT(y|x)] over one sample per
training prompt) and accuracy_test. Finals: the same with 4× the samples
and their standard errors; pair_accuracy (h > 0 against the verifier's
labels, before flips); pairs and flipped.

The transformer runs in float32; sequence log-probs, margins and losses are
float64. β defaults to 0.5, not the papers' 0.1: on this task (seeds 1–3,
150 steps) DPO at β = 0.1 drifts to KL(π ‖ π_SFT) ≈ 2.3 nats with no
accuracy gain over SFT (0.675 ± 0.023 against 0.652 ± 0.004), while β = 0.5
gains (0.820 ± 0.002, KL ≈ 1.1).`
	data := []kernel.DataFormat{prefData}
	if p.id == IDINPO {
		data = nil
	}
	return kernel.Info{ID: p.id, Precision: "float32 (GoMLX transformer: weights, activations, log-softmax); sequence log-probabilities and losses are summed in float64.", Summary: summary, Papers: papers, Params: ps, Data: data, Doc: doc, Model: policyModelDoc,
		Init: "the model is the SFT reference π_ref and the policy's start, as sft=DIR (give one of the two): a policy of lm.sft, lm.dpo, lm.tdpo or lm.inpo, not a reward model; its tokenizer comes along."}
}

func (p prefPlugin) Run(job *kernel.Job) error {
	s, e, ref, err := withReference(job)
	if err != nil {
		return err
	}
	policy, err := ref.Clone()
	if err != nil {
		return err
	}
	cfg := PrefConfig{Config: fit.Read(job.Params)}
	if p.id != IDINPO {
		cfg.Beta = job.Params.Float(ParamBeta)
	}
	switch p.id {
	case IDDPO:
		cfg.Loss, cfg.Epsilon = job.Params.String(ParamLoss), job.Params.Float(ParamEpsilon)
	case IDTDPO:
		cfg.Loss, cfg.Alpha = job.Params.String(ParamLoss), job.Params.Float(ParamAlpha)
	case IDINPO:
		return runINPO(job, e, s, ref, policy, cfg)
	}
	pairs, err := pairsFor(job, e, ref, s)
	if err != nil {
		return err
	}
	d, err := e.PairData(pairs, ref, cfg.tokenLevel(), true)
	if err != nil {
		return err
	}
	job.SetTotal(int64(cfg.Steps))
	ev := evaluator{job: job, e: e, s: s, policy: policy}
	eval := func(step int) error { return ev.record(step, ref) }
	if err := Prefer(job.Context(), policy, d, cfg, s.train, job.Record, eval); err != nil {
		return err
	}
	h, err := PairMargins(policy, d)
	if err != nil {
		return err
	}
	job.SetFinal(MetricPairAccuracy, cleanAccuracy(pairs, h))
	if err := ev.final(ref); err != nil {
		return err
	}
	prefCharts(job)
	return save(job, e, policy)
}

func prefCharts(job *kernel.Job) {
	job.AddChart(kernel.Chart{Title: "Training loss", Kind: "line", Series: []string{"loss"}, XLabel: "step", YLabel: "loss"})
	job.AddChart(kernel.Chart{Title: "Verifier accuracy and principle rate of samples", Kind: "line", Series: []string{MetricAccuracy, MetricPrinciple, MetricAccuracyTest}, XLabel: "step", YLabel: "rate"})
	job.AddChart(kernel.Chart{Title: "KL(π ‖ π_SFT), nats", Kind: "line", Series: []string{MetricKL}, XLabel: "step", YLabel: "KL"})
}

// runINPO runs lm.inpo's rounds.
func runINPO(job *kernel.Job, e *Env, s streams, ref, policy *decoder.Model, cfg PrefConfig) error {
	kappa, tau := job.Params.Float(ParamKappa), job.Params.Float(ParamTau)
	if kappa*tau > 1 {
		return &kernel.ParamError{Plugin: job.Result.Plugin, Key: ParamKappa, Value: kappa, Want: fmt.Sprintf("κ·τ ≤ 1 with tau = %v (the update mixes π_t^(1−κτ) π_ref^(κτ))", tau)}
	}
	cfg.Loss, cfg.Kappa = LossINPO, kappa
	rounds := job.Params.Int(ParamRounds)
	sharp, cycle := job.Params.Float(ParamSharpness), job.Params.Float(ParamCycle)
	job.SetTotal(int64(rounds * cfg.Steps))
	ev := evaluator{job: job, e: e, s: s, policy: policy}
	if err := ev.record(0, ref); err != nil {
		return err
	}
	for t := range rounds {
		pt, err := policy.Clone()
		if err != nil {
			return err
		}
		pairs, err := oraclePairs(e, pt, job.Params.Int(ParamPairs), sharp, cycle, s.pairs)
		if err != nil {
			return err
		}
		d, err := e.PairData(pairs, ref, false, false)
		if err != nil {
			return err
		}
		lt, err := seqLogProbs(pt, d.Rows)
		if err != nil {
			return err
		}
		for i := range d.Offset {
			d.Offset[i] = kappa*tau*d.Offset[i] + (1-kappa*tau)*lt[i]
		}
		base := int64(t * cfg.Steps)
		rec := func(step int64, name string, v float64) error { return job.Record(base+step, name, v) }
		c := cfg
		c.EvalEvery = cfg.Steps
		if err := Prefer(job.Context(), policy, d, c, s.train, rec, nil); err != nil {
			return err
		}
		if err := ev.record(int(base)+cfg.Steps, ref); err != nil {
			return err
		}
	}
	if err := ev.final(ref); err != nil {
		return err
	}
	job.SetFinal("rounds", float64(rounds))
	prefCharts(job)
	return save(job, e, policy)
}

// oraclePairs samples two completions per draw from policy on training
// prompts and labels them by a draw from the oracle P(y1 ≻ y2); identical
// completions are skipped.
func oraclePairs(e *Env, policy *decoder.Model, n int, sharp, cycle float64, r *rand.Rand) (*datasets.TextPairs, error) {
	out, err := e.drawPairs(policy, n, r, func(prompt, y1, y2 string) (datasets.TextPair, bool) {
		if y1 == y2 {
			return datasets.TextPair{}, false
		}
		if r.Float64() >= e.Task.Preference(prompt, y1, y2, sharp, cycle) {
			y1, y2 = y2, y1
		}
		return datasets.TextPair{Prompt: prompt, Chosen: y1, Rejected: y2}, true
	})
	if err != nil {
		return nil, err
	}
	if len(out.Pairs) == 0 {
		return nil, errNoPairs
	}
	return out, nil
}
