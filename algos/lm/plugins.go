package lm

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"github.com/alignlab/alignlab/algos/decoder"
	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// The plugin IDs.
const (
	IDSFT    = "lm.sft"
	IDReward = "lm.reward"
	IDDPO    = "lm.dpo"
	IDTDPO   = "lm.tdpo"
	IDINPO   = "lm.inpo"
	IDEval   = "lm.eval"
)

// The metrics the plugins record (series at every evaluation, and finals).
const (
	MetricAccuracy      = "accuracy"       // verifier accuracy of samples on the training prompts
	MetricPrinciple     = "principle"      // fraction of those samples within the principle's length
	MetricKL            = "kl"             // KL(π ‖ π_SFT) estimated on those samples
	MetricKLSE          = "kl_se"          // its standard error
	MetricAccuracyTest  = "accuracy_test"  // verifier accuracy on the held-out prompts
	MetricPrincipleTest = "principle_test" // principle rate on the held-out prompts
	MetricPairAccuracy  = "pair_accuracy"  // fraction of pairs with h > 0 (against the clean labels)
	MetricLength        = "length"         // mean completion length, tokens
)

// Papers.
var (
	PaperDPO  = kernel.Paper{Title: "Direct Preference Optimization: Your Language Model is Secretly a Reward Model", Authors: "Rafailov, Sharma, Mitchell, Ermon, Manning, Finn", Year: 2023, ArXiv: "2305.18290"}
	PaperRDPO = kernel.Paper{Title: "Provably Robust DPO: Aligning Language Models with Noisy Feedback", Authors: "Chowdhury, Kini, Natarajan", Year: 2024, ArXiv: "2403.00409"}
	PaperIPO  = kernel.Paper{Title: "A General Theoretical Paradigm to Understand Learning from Human Preferences", Authors: "Azar et al.", Year: 2023, ArXiv: "2310.12036"}
	PaperTDPO = kernel.Paper{Title: "Token-level Direct Preference Optimization", Authors: "Zeng, Liu, Ma, Yang, Zhang, Wang", Year: 2024, ArXiv: "2404.11999"}
	PaperINPO = kernel.Paper{Title: "Iterative Nash Policy Optimization: Aligning LLMs with General Preferences via No-Regret Learning", Authors: "Zhang et al.", Year: 2024, ArXiv: "2407.00617"}
	PaperBT   = kernel.Paper{Title: "Training language models to follow instructions with human feedback", Authors: "Ouyang et al.", Year: 2022, ArXiv: "2203.02155"}
)

var sftData = kernel.DataFormat{Name: "SFT demonstrations (JSONL)", Example: `{"prompt": "3+4=", "completion": "7"}`, Doc: "JSON Lines with \"prompt\" and \"completion\" (TRL's SFT format; strings or lists of {role, content} messages). Without --data: the generated task's noisy demonstrations."}

var prefData = kernel.DataFormat{Name: "preference pairs (JSONL)", Example: `{"prompt": "3+4=", "chosen": "7", "rejected": "8 ok!"}`, Doc: "JSON Lines with \"prompt\", \"chosen\", \"rejected\" (TRL's preference format), optional \"ref_chosen_logps\"/\"ref_rejected_logps\" (used as log π_ref when every line has them) and \"weight\". Without --data: pairs sampled from the SFT policy and labelled by the verifier."}

type sftPlugin struct{}
type rewardPlugin struct{}
type prefPlugin struct{ id string }

func init() {
	kernel.Register(sftPlugin{})
	kernel.Register(rewardPlugin{})
	kernel.Register(prefPlugin{IDDPO})
	kernel.Register(prefPlugin{IDTDPO})
	kernel.Register(prefPlugin{IDINPO})
	kernel.Register(evalPlugin{})
}

// quick are small, fast params that still sample, batch and evaluate.
func quick() map[string]any {
	return map[string]any{ParamPrompts: 8, ParamTestPrompts: 4, ParamDemos: 32, ParamSFTSteps: 2, ParamSFTBatchSize: 8, fit.ParamSteps: 2, fit.ParamBatchSize: 4, fit.ParamEvalEvery: 2, ParamPairs: 8}
}

func (sftPlugin) QuickParams() map[string]any {
	return map[string]any{ParamPrompts: 8, ParamTestPrompts: 4, ParamDemos: 32, fit.ParamSteps: 2, fit.ParamBatchSize: 8, fit.ParamEvalEvery: 2}
}
func (rewardPlugin) QuickParams() map[string]any { return quick() }
func (p prefPlugin) QuickParams() map[string]any {
	q := quick()
	if p.id == IDINPO {
		q[ParamRounds] = 2
		q[fit.ParamSteps] = 1
	}
	return q
}

func (sftPlugin) Info() kernel.Info {
	ps := append(taskParams(), modelParams()...)
	ps = append(ps, fit.Params(fit.Defaults{
		LearningRate: DefaultSFTLearningRate, Steps: DefaultSFTSteps, HasBatch: true, BatchSize: DefaultSFTBatchSize, MinBatch: 1, EvalEvery: 100,
		Doc: map[string]string{fit.ParamBatchSize: "demonstrations per step"},
	})...)
	ps = append(ps, kernel.StringParam(ParamInit, "", "start from this saved model instead of fresh weights: a save=DIR checkpoint or a model a run saved (--out DIR writes DIR/model; --model DIR means the same); its tokenizer must match"))
	ps = append(ps, evalParams()...)
	return kernel.Info{
		ID: IDSFT, Summary: "supervised fine-tuning of a small transformer on prompt/completion text (noisy demonstrations of a verifiable task)",
		Precision: "float32 (GoMLX transformer: weights, activations, log-softmax); sequence log-probabilities and losses are summed in float64.",
		Params:    ps, Data: []kernel.DataFormat{sftData},
		Doc: `Minimises the mean per-token negative log-likelihood of the completions
(EOS included) given the prompts:  L = −Σ mask·log π(y_t | x, y<t) / Σ mask.

The policy is GoMLX's decoder-only transformer (ml/zoo/transformer: RoPE,
causal mask, post-norm blocks, float32). The task: prompts "a+b=", the
verifier accepts the decimal sum; the principle asks for at most
principle_max_chars characters. The demonstrations are noisy at known
rates (wrong_rate wrong sums, verbose_rate with filler), so a perfect
imitator samples correct answers at rate ≈ 1 − wrong_rate.

Records sft_loss, and at every evaluation accuracy and principle of one
sample per training prompt (temperature 1), accuracy_test/principle_test on
the held-out prompts. Tables: samples (before and after). save=DIR writes
the model for lm.reward, lm.dpo, lm.tdpo, lm.inpo, lm.eval (sft=DIR).`,
		Model: policyModelDoc,
		Init:  "the weights start from the model's instead of fresh ones, as init=DIR (give one of the two): a policy of lm.sft, lm.dpo, lm.tdpo or lm.inpo; its tokenizer comes along unless tokenizer is set (and must then match); its size is kept.",
	}
}

// The Info.Model texts of the plugins.
const (
	policyModelDoc = `The trained policy: the transformer in model/decoder/ (GoMLX checkpoint,
decoder's manifest.json, tokenizer.json for a BPE).
score --data FILE, by the file's fields:
  TRL pairs (prompt, chosen, rejected): table scores (logp_chosen,
  logp_rejected, margin), finals logp_accuracy, logp_margin; with
  ref_chosen_logps/ref_rejected_logps also implicit_margin and
  pair_accuracy (h > 0, as the preference runs report it).
  TRL SFT (prompt, completion): table scores (logp, tokens), finals nll
  (nats per completion token, as sft_loss) and log_likelihood.
sample [--data PROMPTS] --n N: N completions per prompt (temperature 1;
prompts: JSONL with "prompt" or one a line; none: the task's training and
held-out prompts, regenerated from the task params and the training
seed): table samples; for prompts "a+b=" the verifier's correct/principle
columns and finals accuracy, principle (and accuracy_test,
principle_test on the task's held-out prompts).`
	rewardModelDoc = `The reward model: the transformer and its head in model/decoder/ (GoMLX
checkpoint, decoder's manifest.json, tokenizer.json for a BPE).
score --data FILE, by the file's fields:
  TRL pairs (prompt, chosen, rejected): table scores (reward_chosen,
  reward_rejected, p_chosen = σ(r_w − r_l)), finals pair_accuracy (on its
  training file, the run's own), reward_margin, log_loss.
  TRL SFT (prompt, completion): table scores (reward), finals mean_reward
  and, for prompts "a+b=", score_corr against the verifier.
It does not sample.`
)

func (sftPlugin) Run(job *kernel.Job) error {
	s := newStreams(job)
	e, err := setup(job, s)
	if err != nil {
		return err
	}
	demos := e.Task.Demos
	if len(job.Data) > 1 {
		return job.DataCountError("1 file, --data sft.jsonl")
	}
	if len(job.Data) == 1 {
		if demos, err = datasets.LoadSFT(job.Data[0]); err != nil {
			return err
		}
		var ps, cs []string
		for _, d := range demos {
			ps, cs = append(ps, d.Prompt), append(cs, d.Completion)
		}
		e.Widen(ps, cs)
		job.DataShape(0, "examples", len(demos))
	}
	m, err := startFrom(job, e, ParamInit)
	if m == nil && err == nil {
		if dir := job.Params.String(ParamInit); dir != "" {
			m, _, err = e.LoadModel(dir)
		} else {
			m, err = e.NewModel(job.Seed)
		}
	}
	if err != nil {
		return err
	}
	b, err := e.SFTBatch(demos)
	if err != nil {
		return err
	}
	cfg := fit.Read(job.Params)
	job.SetTotal(int64(cfg.Steps))
	samples := job.AddTable("samples", "stage", "prompt", "completion", "correct", "principle")
	ev := evaluator{job: job, e: e, s: s, policy: m}
	before := true
	eval := func(step int) error {
		if err := ev.record(step, nil); err != nil {
			return err
		}
		if before {
			before = false
			return ev.samples(samples, "before", m)
		}
		return nil
	}
	if err := SFT(job.Context(), m, b, cfg, s.sft, job.Record, eval); err != nil {
		return err
	}
	if err := ev.final(nil); err != nil {
		return err
	}
	if err := ev.samples(samples, "after", m); err != nil {
		return err
	}
	job.SetFinal("params", float64(m.NumParams()))
	job.AddChart(kernel.Chart{Title: "SFT loss (nats per completion token)", Kind: "line", Series: []string{"sft_loss"}, XLabel: "step", YLabel: "loss"})
	job.AddChart(kernel.Chart{Title: "Verifier accuracy and principle rate of samples", Kind: "line", Series: []string{MetricAccuracy, MetricPrinciple, MetricAccuracyTest}, XLabel: "step", YLabel: "rate"})
	return save(job, e, m)
}

// save hands back the trained model (a copy of its weights, without the
// optimizer's state) and writes it when the save param is set.
func save(job *kernel.Job, e *Env, m *decoder.Model) error {
	c, err := m.Clone()
	if err != nil {
		return err
	}
	trained := &Model{Plugin: job.Result.Plugin, Decoder: c, Tok: e.Tok, TokName: e.Tok.Name(), Seed: job.Seed}
	if im := baseOf(job.InitModel()); im != nil && im.Tok == e.Tok {
		trained.TokName = im.TokName // a BPE read back from tokenizer.json keeps its name
	}
	job.SetModel(trained.typed())
	dir := job.Params.String(ParamSave)
	if dir == "" {
		return nil
	}
	extra := map[string]any{"plugin": job.Result.Plugin, "seed": job.Seed, "params": job.Params}
	if err := e.SaveModel(m, dir, extra); err != nil {
		return err
	}
	job.Note("model saved in %s", dir)
	return nil
}

// evaluator records the sampled measures of a policy.
type evaluator struct {
	job    *kernel.Job
	e      *Env
	s      streams
	policy *decoder.Model
}

// record samples eval_reps completions per training prompt and records
// accuracy, principle, and (with a reference) kl and kl_se at step.
func (v evaluator) record(step int, ref *decoder.Model) error {
	ev, _, _, err := v.e.Evaluate(v.policy, ref, v.e.Task.Train, v.job.Params.Int(ParamEvalReps), v.s.eval)
	if err != nil {
		return err
	}
	ev2, _, _, err := v.e.Evaluate(v.policy, nil, v.e.Task.Test, v.job.Params.Int(ParamEvalReps), v.s.eval)
	if err != nil {
		return err
	}
	for _, kv := range []struct {
		k string
		v float64
	}{{MetricAccuracy, ev.Accuracy}, {MetricPrinciple, ev.Principle}, {MetricAccuracyTest, ev2.Accuracy}, {MetricLength, ev.Length}} {
		if err := v.job.Record(int64(step), kv.k, kv.v); err != nil {
			return err
		}
	}
	if ref != nil {
		if err := v.job.Record(int64(step), MetricKL, ev.KL); err != nil {
			return err
		}
		return v.job.Record(int64(step), MetricKLSE, ev.KLSE)
	}
	return nil
}

// final measures the policy once more with 4× the samples and sets the
// finals with their standard errors.
func (v evaluator) final(ref *decoder.Model) error {
	reps := 4 * v.job.Params.Int(ParamEvalReps)
	ev, _, _, err := v.e.Evaluate(v.policy, ref, v.e.Task.Train, reps, v.s.eval)
	if err != nil {
		return err
	}
	et, _, _, err := v.e.Evaluate(v.policy, nil, v.e.Task.Test, reps, v.s.eval)
	if err != nil {
		return err
	}
	j := v.job
	j.SetFinal(MetricAccuracy, ev.Accuracy)
	j.SetFinal(MetricAccuracy+"_se", ev.SE(ev.Accuracy))
	j.SetFinal(MetricPrinciple, ev.Principle)
	j.SetFinal(MetricPrinciple+"_se", ev.SE(ev.Principle))
	j.SetFinal(MetricAccuracyTest, et.Accuracy)
	j.SetFinal(MetricAccuracyTest+"_se", et.SE(et.Accuracy))
	j.SetFinal(MetricPrincipleTest, et.Principle)
	j.SetFinal(MetricLength, ev.Length)
	if ref != nil {
		j.SetFinal(MetricKL, ev.KL)
		j.SetFinal(MetricKLSE, ev.KLSE)
	}
	return nil
}

// samples adds one completion for each of the first 8 training prompts.
func (v evaluator) samples(t *kernel.Table, stage string, m *decoder.Model) error {
	n := min(8, len(v.e.Task.Train))
	prompts := v.e.Task.Train[:n]
	ys, err := v.e.Sample(m, prompts, v.s.eval)
	if err != nil {
		return err
	}
	for i, y := range ys {
		c, p := v.e.Task.Verify(prompts[i], y)
		t.Add(stage, prompts[i], Printable(y), c, p)
	}
	return nil
}

// pairsFor returns a preference run's pairs: from --data, or generated
// from the reference with the pairs and flip params.
func pairsFor(job *kernel.Job, e *Env, ref *decoder.Model, s streams) (*datasets.TextPairs, error) {
	if len(job.Data) > 1 {
		return nil, job.DataCountError("1 file, --data pairs.jsonl")
	}
	if len(job.Data) == 1 {
		p, err := datasets.LoadTextPairs(job.Data[0])
		if err != nil {
			return nil, err
		}
		var ps, cs []string
		for _, q := range p.Pairs {
			ps, cs = append(ps, q.Prompt, q.Prompt), append(cs, q.Chosen, q.Rejected)
		}
		e.Widen(ps, cs)
		job.DataShape(0, "pairs", len(p.Pairs), "ref_logps", p.HasRef)
		return p, nil
	}
	n, flip := job.Params.Int(ParamPairs), job.Params.Float(ParamFlip)
	key := fmt.Sprintf("%v|%s|%d|%v|%d|%x", taskConfig(job.Params), e.Tok.Name(), n, flip, job.Seed, fingerprint(ref))
	pairCache.Lock()
	p := pairCache.m[key]
	pairCache.Unlock()
	if p == nil {
		var err error
		if p, err = e.GeneratePairs(ref, n, flip, s.pairs); err != nil {
			return nil, err
		}
		pairCache.Lock()
		pairCache.m[key] = p
		pairCache.Unlock()
	}
	flipped := 0
	for _, q := range p.Pairs {
		if q.Flipped {
			flipped++
		}
	}
	job.SetFinal("pairs", float64(len(p.Pairs)))
	job.SetFinal("flipped", float64(flipped)/float64(len(p.Pairs)))
	return p, nil
}

// pairCache keeps the pairs generated in this process by everything that
// determines them (the reference's weights included), so that lm.dpo,
// lm.tdpo and lm.reward on one SFT model sample them once; the cached pairs
// are the ones a new draw would give (the pairs stream depends on the seed
// alone), so results do not change.
var pairCache = struct {
	sync.Mutex
	m map[string]*datasets.TextPairs
}{m: map[string]*datasets.TextPairs{}}

// fingerprint hashes a model's weights.
func fingerprint(m *decoder.Model) []byte {
	h := sha256.New()
	names, vals := m.Weights()
	for i, n := range names {
		h.Write([]byte(n))
		for _, v := range vals[i] {
			var b [8]byte
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
			h.Write(b[:])
		}
	}
	return h.Sum(nil)
}

// cleanAccuracy is the fraction of pairs whose margin agrees with the
// verifier (the labels before flipping); ties count ½.
func cleanAccuracy(pairs *datasets.TextPairs, h []float64) float64 {
	acc := 0.0
	for i, p := range pairs.Pairs {
		s := h[i]
		if p.Flipped {
			s = -s
		}
		switch {
		case s > 0:
			acc++
		case s == 0:
			acc += 0.5
		}
	}
	return acc / float64(len(h))
}

// Printable shows a sampled completion in a table: as Go quotes it (control
// characters and invalid bytes escaped, which an untrained model emits),
// without the surrounding quotes.
func Printable(s string) string {
	q := strconv.QuoteToGraphic(s)
	return q[1 : len(q)-1]
}

// SampleData writes a small SFT file in TRL's format.
func (sftPlugin) SampleData(dir string) ([]string, error) {
	ex := []datasets.TextExample{{Prompt: "1+2=", Completion: "3"}, {Prompt: "4+4=", Completion: "8"}, {Prompt: "2+5=", Completion: "7"}, {Prompt: "9+0=", Completion: "9"}}
	return writeSample(dir, "sft.jsonl", func(w io.Writer) error { return datasets.WriteSFT(w, ex) })
}

// SampleData writes a small preference file in TRL's format (none for
// lm.inpo, which reads no files: it samples its own pairs).
func (p prefPlugin) SampleData(dir string) ([]string, error) {
	if p.id == IDINPO {
		return nil, nil
	}
	return samplePairs(dir)
}

// SampleData writes a small preference file in TRL's format.
func (rewardPlugin) SampleData(dir string) ([]string, error) { return samplePairs(dir) }

func samplePairs(dir string) ([]string, error) {
	p := &datasets.TextPairs{Pairs: []datasets.TextPair{
		{Prompt: "1+2=", Chosen: "3", Rejected: "4 ok!"}, {Prompt: "4+4=", Chosen: "8", Rejected: "9"},
		{Prompt: "2+5=", Chosen: "7", Rejected: "7 yes"}, {Prompt: "9+0=", Chosen: "9", Rejected: "10"},
	}}
	return writeSample(dir, "prefs.jsonl", func(w io.Writer) error { return datasets.WriteTextPairs(w, p) })
}

func writeSample(dir, name string, write func(io.Writer) error) ([]string, error) {
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := write(f); err != nil {
		f.Close()
		return nil, err
	}
	return []string{path}, f.Close()
}
