package tdpo

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/kernel"
)

// The plugin IDs. The three training plugins share every parameter (α
// only matters to TDPO2) and, for one seed, the same task, reference and
// pairs, so their results compare the losses alone; tdpo.dpo is plain DPO
// on this token-level policy (the sequence-level dpo.dpo plugin trains a
// policy over candidate sets instead).
const (
	IDDPO      = "tdpo.dpo"
	IDTDPO1    = "tdpo.tdpo1"
	IDTDPO2    = "tdpo.tdpo2"
	IDFrontier = "tdpo.frontier"
)

// oldIDs are the plugins' IDs before they moved to the tdpo namespace,
// kept working as aliases.
var oldIDs = map[string]string{
	"dpo.tdpo_dpo":      IDDPO,
	"dpo.tdpo1":         IDTDPO1,
	"dpo.tdpo2":         IDTDPO2,
	"dpo.tdpo_frontier": IDFrontier,
}

// Hyperparameter keys. The shared ones are fit's: fit.ParamLearningRate
// (float > 0, default 0.01: Adam), fit.ParamSteps (int ≥ 1, default 300),
// fit.ParamBatchSize (int ≥ 0, default 64: pairs per step, 0 = all) and
// fit.ParamEvalEvery (int ≥ 1, default 10).
const (
	ParamBeta      = "beta"       // float > 0, default 0.1
	ParamAlpha     = "alpha"      // float ≥ 0, default 0.5 (TDPO2)
	ParamPolicy    = "policy"     // tabular or gru, default gru
	ParamHidden    = "hidden"     // int ≥ 1, default 16: GRU units
	ParamEvalDense = "eval_dense" // int ≥ 0, default 0 (tdpo.frontier: 20): also record every step up to this one
	ParamKLSamples = "kl_samples" // int ≥ 1, default 2048: responses per sampled measure

	// The synthetic task.
	ParamPrompts         = "prompts"           // int ≥ 1, default 4
	ParamVocab           = "vocab"             // int ≥ 2, default 6
	ParamLength          = "length"            // int ≥ 1, default 4
	ParamPositive        = "positive"          // int ≥ 0, default 2
	ParamNegative        = "negative"          // int ≥ 0, default 2
	ParamSentiment       = "sentiment"         // float ≥ 0, default 1
	ParamSFTSamples      = "sft_samples"       // int ≥ 1, default 4000
	ParamSFTSteps        = "sft_steps"         // int ≥ 0, default 300
	ParamSFTLearningRate = "sft_learning_rate" // float > 0, default 0.05
	ParamPairs           = "pairs"             // int ≥ 1, default 1000
	ParamLabelScale      = "label_scale"       // float ≥ 0, default 1

	// The sweep of tdpo.frontier: comma-separated lists.
	ParamLosses  = "losses"     // default "dpo,tdpo2"
	ParamBetas   = "betas"      // default "0.05,0.1,0.2,0.5,1"
	ParamAlphas  = "alphas"     // default "0.5"
	ParamBudgets = "kl_budgets" // default "0.25,0.5,1,2,4"
)

// The tables of tdpo.frontier.
const (
	TableFrontier = "frontier" // method, loss, beta, alpha, step, kl, reward, gap, seqkl_chosen, seqkl_rejected
	TableAtKL     = "at_kl"    // method, kl, reward: each method's frontier at the KL budgets
)

// Paper is the TDPO paper.
var Paper = kernel.Paper{
	Title:   "Token-level Direct Preference Optimization",
	Authors: "Yongcheng Zeng, Guoqing Liu, Weiyu Ma, Ning Yang, Haifeng Zhang, Jun Wang",
	Year:    2024,
	ArXiv:   "2404.11999",
}

type plugin struct{ kind Kind }

type frontierPlugin struct{}

var (
	_ kernel.Plugin = plugin{}
	_ kernel.Plugin = frontierPlugin{}
	_ kernel.Quick  = plugin{}
	_ kernel.Quick  = frontierPlugin{}
)

func init() {
	for _, k := range Kinds {
		kernel.Register(plugin{kind: k})
	}
	kernel.Register(frontierPlugin{})
	for old, id := range oldIDs {
		kernel.RegisterAlias(old, id)
	}
}

// ID returns the plugin ID of a loss: "tdpo." and the loss's name.
func ID(kind Kind) string { return "tdpo." + string(kind) }

// quickTask are the small task and short training of QuickParams: an SFT
// of 5 steps on 200 responses, 100 pairs, 10 steps, and few responses for
// a sampled measure (read only by a GRU too large to enumerate).
func quickTask() map[string]any {
	return map[string]any{fit.ParamSteps: 10, fit.ParamEvalEvery: 5, ParamSFTSamples: 200, ParamSFTSteps: 5, ParamPairs: 100, ParamKLSamples: 64}
}

// QuickParams are small, fast params that still draw random numbers (SFT
// and preference mini-batches, pairs, samples): the tabular policy, except
// for TDPO1, which runs a 4-unit GRU.
func (p plugin) QuickParams() map[string]any {
	q := quickTask()
	if p.kind == TDPO1 {
		q[ParamHidden] = 4
	} else {
		q[ParamPolicy] = ArchTabular
	}
	return q
}

// QuickParams are small, fast params: QuickParams of the training plugins
// (tabular) for a sweep of two β.
func (frontierPlugin) QuickParams() map[string]any {
	q := quickTask()
	q[ParamPolicy] = ArchTabular
	q[ParamBetas] = "0.1,1"
	return q
}

var summaries = map[Kind]string{
	DPO:   "DPO on the token-level testbed (autoregressive policy, SFT reference), for comparison with TDPO",
	TDPO1: "TDPO1: DPO with the sequential KL of chosen and rejected responses in the margin",
	TDPO2: "TDPO2: TDPO with α-weighted sequential KL and a stop-gradient on the chosen one",
}

var formulas = map[Kind]string{
	DPO:   "ℓ = −log σ(β(u_w − u_l))",
	TDPO1: "ℓ = −log σ(β[(u_w − u_l) − (δ_l − δ_w)])",
	TDPO2: "ℓ = −log σ(β[(u_w − u_l) − α(δ_l − sg(δ_w))])",
}

func positive() kernel.Range { return kernel.Range{Min: 0, Max: math.Inf(1), MinExclusive: true} }

// DefaultFrontierEvalDense is eval_dense of tdpo.frontier: the first
// 20 steps, where (at learning rate 0.01) DPO's KL already passes 1 nat.
const DefaultFrontierEvalDense = 20

// trainParams are the params of every plugin of the package except the
// loss's own (β, α); evalDense is the default of eval_dense.
func trainParams(evalDense int64) []kernel.Param {
	ps := []kernel.Param{
		kernel.ChoiceParam(ParamPolicy, ArchGRU, []string{ArchGRU, ArchTabular},
			"gru: one-layer GRU over (prompt, previous token); tabular: logits table [prompt, previous token] → next token (exact DP metrics)"),
		kernel.IntParam(ParamHidden, DefaultHidden, 1, 1<<12, "GRU hidden units"),
	}
	ps = append(ps, fit.Params(fit.Defaults{
		LearningRate: DefaultLearningRate, MaxLR: math.Inf(1), Steps: DefaultSteps,
		HasBatch: true, BatchSize: DefaultBatchSize, EvalEvery: DefaultEvalEvery,
		Doc: map[string]string{
			fit.ParamLearningRate: "Adam learning rate of preference training",
			fit.ParamSteps:        "Adam steps of preference training",
			fit.ParamBatchSize:    "pairs per step; 0 = all pairs",
		},
	})...)
	return append(ps, []kernel.Param{
		kernel.IntParam(ParamEvalDense, evalDense, 0, math.MaxInt32, "also record the metrics at every step up to this one (training moves fastest at the start)"),
		kernel.IntParam(ParamKLSamples, DefaultKLSamples, 1, 1<<24, "responses sampled for reward and KL when the policy is a GRU too large to enumerate"),
		kernel.IntParam(ParamPrompts, DefaultPrompts, 1, 1<<10, "task: prompt tokens, with sentiment leans evenly spaced in [−1, 1]"),
		kernel.IntParam(ParamVocab, DefaultVocab, 2, 1<<10, "task: response vocabulary V"),
		kernel.IntParam(ParamLength, DefaultLength, 1, 1<<10, "task: response length T"),
		kernel.IntParam(ParamPositive, DefaultPositive, 0, 1<<10, "task: positive tokens (reward +1 each), the first ones of the vocabulary"),
		kernel.IntParam(ParamNegative, DefaultNegative, 0, 1<<10, "task: negative tokens (reward −½ each), after the positive ones"),
		kernel.FloatParam(ParamSentiment, DefaultSentiment, 0, math.Inf(1), "task: how much the prompt's sentiment leans the true text process"),
		kernel.IntParam(ParamSFTSamples, DefaultSFTSamples, 1, 1<<24, "task: sequences of the SFT corpus"),
		kernel.IntParam(ParamSFTSteps, DefaultSFTSteps, 0, math.MaxInt32, "task: Adam steps fitting π_ref to the corpus (batch 256)"),
		{Key: ParamSFTLearningRate, Type: kernel.Float, Default: DefaultSFTLearningRate, Range: positive(), Doc: "task: Adam learning rate of SFT"},
		kernel.IntParam(ParamPairs, DefaultPairs, 1, 1<<24, "task: preference pairs, two distinct responses from π_ref each"),
		kernel.FloatParam(ParamLabelScale, DefaultLabelScale, 0, math.Inf(1), "task: s in the labels P(y1 ≻ y2) = σ(s·(r(y1) − r(y2)))"),
	}...)
}

func (p plugin) Info() kernel.Info {
	params := []kernel.Param{{Key: ParamBeta, Type: kernel.Float, Default: DefaultBeta, Range: positive(), Doc: "β, the scale of the implicit reward (the paper's 0.1)"}}
	if p.kind == TDPO2 {
		params = append(params, kernel.FloatParam(ParamAlpha, DefaultAlpha, 0, math.Inf(1), "α, the weight of δ_l − sg(δ_w) (the paper's 0.5)"))
	}
	return kernel.Info{
		ID: ID(p.kind), Summary: summaries[p.kind], Papers: []kernel.Paper{Paper},
		Precision: "float64 (GoMLX): the token-level testbed enumerates every sequence, and its KL terms are checked against exact sums.",
		Params:    append(params, trainParams(0)...),
		Doc:       p.doc(),
		Model:     modelDoc,
		Init:      initDoc,
	}
}

const modelDoc = `The trained policy π_θ and the reference π_ref it was trained against
(Policy): both networks' weights ("policy/…" and "ref/…": table
[prompts·(vocab+1), vocab], or the GRU's wx, bx, wh, bh, wo, bo) in
GoMLX's checkpoint format, and model.json (loss, beta, alpha, prompts,
vocab, length, policy, hidden, and the positive and negative token counts
of the reward).
score --data FILE...: sequence pairs, JSONL, one a line:
    {"prompt": 0, "chosen": [0, 3, 1, 2], "rejected": [5, 3, 1, 0]}
(a prompt token, two distinct responses of length tokens in [0, vocab),
the preferred first). Table scores (pair, prompt, chosen, rejected,
logp_chosen, logp_rejected = Σ_t log π_θ, logratio_chosen,
logratio_rejected = u, seqkl_chosen, seqkl_rejected = δ, margin of the
implicit rewards, loss); finals loss, reward_accuracy, margin,
seqkl_chosen, seqkl_rejected as training reports them (at beta and alpha,
the trained run's unless set), logp_chosen, logp_rejected (means) and
label_accuracy (chosen has the higher true reward). Scoring the run's own
pairs gives its final loss, reward_accuracy, margin and SeqKLs.
sample --n N (no --x): N responses of π_θ for each prompt (seeded): table
samples (prompt, response, tokens, reward, logp, ref_logp); finals reward
and kl (mean log π_θ/π_ref of the samples).`

const initDoc = `The policy starts from the saved policy's weights instead of a copy of
π_ref; the task, and π_ref with it, is the run's (built from the seed).
The saved model must have the run's policy, hidden, prompts, vocab and
length; any tdpo.dpo, tdpo.tdpo1 or tdpo.tdpo2 model will do. Step 0 of
the series then measures the saved policy; reward_ref stays π_ref's.`

const lossDefs = `With u = Σ_t [log π_θ − log π_ref](y_t | x, y<t) (the sequence log ratio)
and SeqKL(x, y) = Σ_t KL(π_ref(·|x, y<t) ‖ π_θ(·|x, y<t)), δ_w and δ_l the
SeqKL of the chosen and rejected responses, sg the stop-gradient:`

const taskDoc = `Task (no --data: everything is generated from the seed): the paper's IMDb
sentiment task made exact. P prompts with sentiment leans evenly spaced in
[−1, 1]; a true text process (a Markov chain with N(0, 1) logits, shifted
by ±sentiment·lean on positive/negative tokens) writes sft_samples
responses of T tokens; π_ref, of the chosen policy architecture, is fitted
to them by SFT (maximum likelihood, Adam); pairs of distinct responses are
sampled from π_ref and labelled by Bradley–Terry on the known reward
r(y) = #positive − ½·#negative tokens. The policy starts as a copy of
π_ref. The same seed gives the same task in every plugin of the package.`

const reportsDoc = `Reports (series every eval_every steps and at every step up to eval_dense,
and final): loss, reward_accuracy
and margin of the implicit rewards (β·u for DPO, β·(u + δ) for TDPO, as
the authors' code), seqkl_chosen and seqkl_rejected (mean δ_w, δ_l over
the pairs), kl = E_x KL(π_θ(·|x) ‖ π_ref(·|x)) over whole responses and
reward = E_x E_{y∼π_θ} r(y) — exact for the tabular policy (dynamic
programming over the previous token) and for a GRU whose P·V^(T−1)
prefixes can be enumerated (≤ 32768; the default task has 864), else
estimated from kl_samples sampled responses (a note says which).
Finals add reward_ref (π_ref's), optimal_reward (the most reward any
policy has at the final KL, from π* ∝ π_ref·exp(r/β') over a grid of β';
enumerable tasks), sft_loss and sft_entropy (π_ref's per-token NLL on
the corpus and the true process's entropy, its floor) and
label_accuracy (the fraction of labels that agree with the true reward:
the ceiling of reward_accuracy). Table samples: responses of π_θ and
π_ref with their rewards.`

func (p plugin) doc() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n    %s\naveraged over the pairs.", lossDefs, formulas[p.kind])
	switch p.kind {
	case TDPO1:
		b.WriteString(`
TDPO1 adds δ_w − δ_l to DPO's margin: a token-level KL pull toward π_ref
that weighs the two responses equally.`)
	case TDPO2:
		b.WriteString(`
TDPO2 weighs the KL term by α and stops the gradient through δ_w, so the
loss only pushes δ_l down (and u_w − u_l up); the paper reports it keeps
both sequential KLs far below DPO's. Defaults β = 0.1, α = 0.5 (paper).`)
	case DPO:
		b.WriteString(`
Plain DPO on the same autoregressive policy, task and pairs as tdpo.tdpo1
and tdpo.tdpo2, so runs with one seed differ only by the loss.`)
	}
	b.WriteString("\n\n" + taskDoc + "\n\n" + reportsDoc)
	return b.String()
}

// TaskConfigFromParams reads the task from validated params (missing keys
// keep DefaultTaskConfig's values).
func TaskConfigFromParams(ps kernel.Params) TaskConfig {
	arch := ArchGRU
	if _, ok := ps[ParamPolicy]; ok {
		arch = ps.String(ParamPolicy)
	}
	c := DefaultTaskConfig(arch)
	for key, dst := range map[string]*int{ParamHidden: &c.Hidden, ParamPrompts: &c.Prompts, ParamVocab: &c.Vocab,
		ParamLength: &c.Length, ParamPositive: &c.Positive, ParamNegative: &c.Negative,
		ParamSFTSamples: &c.SFTSamples, ParamSFTSteps: &c.SFTSteps, ParamPairs: &c.Pairs} {
		if _, ok := ps[key]; ok {
			*dst = ps.Int(key)
		}
	}
	for key, dst := range map[string]*float64{ParamSentiment: &c.Sentiment, ParamSFTLearningRate: &c.SFTLearningRate, ParamLabelScale: &c.LabelScale} {
		if _, ok := ps[key]; ok {
			*dst = ps.Float(key)
		}
	}
	return c
}

// ConfigFromParams reads a training Config from validated params (missing
// keys keep DefaultConfig's values); the shared ones through fit.Read.
func ConfigFromParams(kind Kind, ps kernel.Params) Config {
	c := DefaultConfig(kind)
	shared := fit.Read(ps)
	for key, set := range map[string]func(){
		ParamBeta:             func() { c.Beta = ps.Float(ParamBeta) },
		ParamAlpha:            func() { c.Alpha = ps.Float(ParamAlpha) },
		ParamEvalDense:        func() { c.EvalDense = ps.Int(ParamEvalDense) },
		ParamKLSamples:        func() { c.KLSamples = ps.Int(ParamKLSamples) },
		fit.ParamLearningRate: func() { c.LearningRate = shared.LearningRate },
		fit.ParamSteps:        func() { c.Steps = shared.Steps },
		fit.ParamBatchSize:    func() { c.BatchSize = shared.BatchSize },
		fit.ParamEvalEvery:    func() { c.EvalEvery = shared.EvalEvery },
	} {
		if _, ok := ps[key]; ok {
			set()
		}
	}
	return c
}

// newJobTask builds the task of a job (the job's first random stream).
func newJobTask(job *kernel.Job) (*Task, error) {
	cfg := TaskConfigFromParams(job.Params)
	cfg.Backend = job.Backend
	return NewTask(job.Context(), cfg, job.Rand())
}

func noteMeasures(job *kernel.Job, task *Task, cfg Config) {
	s := task.Config.Spec
	switch {
	case s.Arch == ArchTabular:
		job.Note("kl and reward are exact (dynamic programming over the previous token)")
	case task.Tree != nil:
		job.Note("kl and reward are exact (all %d prefixes enumerated)", s.Prompts*(task.Tree.off[s.Length]))
	default:
		job.Note("kl and reward are Monte-Carlo estimates from %d sampled responses per evaluation", cfg.KLSamples)
	}
}

// Run builds the task and trains the plugin's loss on it.
func (p plugin) Run(job *kernel.Job) error {
	cfg := ConfigFromParams(p.kind, job.Params)
	task, err := newJobTask(job)
	if err != nil {
		return err
	}
	noteMeasures(job, task, cfg)
	var init *Policy
	if m := job.InitModel(); m != nil {
		var ok bool
		if init, ok = m.(*Policy); !ok {
			return &kernel.ModelUsageError{Plugin: job.Result.Plugin, Msg: fmt.Sprintf("--model: %s, want a tdpo token policy (saved by tdpo.dpo, tdpo.tdpo1 or tdpo.tdpo2)", m.Kind())}
		}
		if err := init.fits(task.Config.Spec); err != nil {
			return &kernel.ModelUsageError{Plugin: job.Result.Plugin, Msg: "--model: " + err.Error()}
		}
	}
	job.SetTotal(int64(cfg.Steps))
	t, err := NewTrainer(task, cfg, job.Rand())
	if err != nil {
		return err
	}
	if init != nil {
		if err := t.Policy.SetWeights(init.PolicyWeights); err != nil {
			return err
		}
	}
	first, m, err := t.run(job.Context(), job.Record, func(step int) error { return job.Step(int64(step)) })
	if err != nil {
		return err
	}
	ref := first.Measures // step 0 is π_ref, unless the policy started from a saved one
	if init != nil {
		if ref, err = t.refMeasures(job.Rand()); err != nil {
			return err
		}
	}
	m.Each(job.SetFinal)
	job.SetFinal("reward_ref", ref.Reward)
	if opt := task.OptimalReward(m.KL); !math.IsNaN(opt) {
		job.SetFinal("optimal_reward", opt)
	}
	job.SetFinal("sft_loss", task.SFTLoss)
	job.SetFinal("sft_entropy", task.SFTEntropy)
	job.SetFinal("label_accuracy", task.Accuracy)
	if err := addSamples(job, task, t.Policy); err != nil {
		return err
	}
	job.SetModel(newPolicy(cfg, task, t.Policy))
	job.AddChart(kernel.Chart{Kind: "line", ID: "seqkl", Title: "sequential KL of chosen and rejected responses", Series: []string{MetricSeqKLChosen, MetricSeqKLRejected}, YLabel: "SeqKL (nats)"})
	job.AddChart(kernel.Chart{Kind: "line", ID: "kl", Title: "KL(π_θ ‖ π_ref) over whole responses", Series: []string{MetricKL}, YLabel: "KL (nats)"})
	job.AddChart(kernel.Chart{Kind: "line", ID: "reward", Title: "expected reward E r(y), y ∼ π_θ", Series: []string{MetricReward}, YLabel: "reward"})
	job.AddChart(kernel.Chart{Kind: "line", ID: "loss", Title: "training loss", Series: []string{MetricLoss}})
	job.AddChart(kernel.Chart{Kind: "line", ID: "accuracy", Title: "implicit-reward accuracy", Series: []string{MetricAccuracy}})
	return nil
}

// samplesPerPrompt is how many responses per prompt the samples table shows.
const samplesPerPrompt = 2

// addSamples adds the table samples: responses of π_θ and π_ref, in words.
func addSamples(job *kernel.Job, task *Task, policy *Net) error {
	s := task.Config.Spec
	var prompts []int
	for x := range s.Prompts {
		for range samplesPerPrompt {
			prompts = append(prompts, x)
		}
	}
	tb := job.AddTable("samples", "model", "prompt", "response", "reward")
	r := job.Rand()
	for _, m := range []struct {
		name string
		net  *Net
	}{{"policy", policy}, {"reference", task.Ref}} {
		seqs, err := Sample(m.net, prompts, r)
		if err != nil {
			return err
		}
		for i, x := range prompts {
			y := seqs[i*s.Length : (i+1)*s.Length]
			tb.Add(m.name, task.PromptName(x), task.Words(y), task.SequenceReward(y))
		}
	}
	return nil
}

// PromptName names prompt x by its sentiment lean, e.g. "x0 (lean −1)".
func (t *Task) PromptName(x int) string {
	lean := 0.0
	if P := t.Config.Prompts; P > 1 {
		lean = -1 + 2*float64(x)/float64(P-1)
	}
	return fmt.Sprintf("x%d (lean %+.2g)", x, lean)
}

var (
	positiveWords = []string{"great", "good", "fun", "moving"}
	negativeWords = []string{"awful", "bad", "dull", "bland"}
	neutralWords  = []string{"the", "plot", "film", "actors", "scene", "music"}
)

// Words writes response y with a word per token: positive, negative and
// neutral tokens get words of their kind (then "pos5", "neg5", "tok9"…).
func (t *Task) Words(y []int) string {
	w := make([]string, len(y))
	P, N := t.Config.Positive, t.Config.Negative
	pick := func(list []string, i int, prefix string) string {
		if i < len(list) {
			return list[i]
		}
		return prefix + strconv.Itoa(i)
	}
	for i, v := range y {
		switch {
		case v < P:
			w[i] = pick(positiveWords, v, "pos")
		case v < P+N:
			w[i] = pick(negativeWords, v-P, "neg")
		default:
			w[i] = pick(neutralWords, v-P-N, "tok")
		}
	}
	return strings.Join(w, " ")
}

func (frontierPlugin) Info() kernel.Info {
	params := []kernel.Param{
		kernel.StringParam(ParamLosses, "dpo,tdpo2", "losses to compare, comma-separated: dpo, tdpo1, tdpo2"),
		kernel.StringParam(ParamBetas, "0.05,0.1,0.2,0.5,1", "β of the runs, comma-separated, each > 0"),
		kernel.StringParam(ParamAlphas, "0.5", "α of the TDPO2 runs, comma-separated, each ≥ 0"),
		kernel.StringParam(ParamBudgets, "0.25,0.5,1,2,4", "KL values (nats) at which the frontiers are compared"),
	}
	return kernel.Info{
		ID:        IDFrontier,
		Precision: "float64 (GoMLX): the token-level testbed enumerates every sequence, and its KL terms are checked against exact sums.",
		Summary:   "reward–KL frontier of DPO vs TDPO over a sweep of β (and α) on the token-level testbed",
		Papers:    []kernel.Paper{Paper},
		Params:    append(params, trainParams(DefaultFrontierEvalDense)...),
		Doc: lossDefs + `
    dpo:   ` + formulas[DPO] + `
    tdpo1: ` + formulas[TDPO1] + `
    tdpo2: ` + formulas[TDPO2] + `

Trains one policy per loss, β and (TDPO2) α on one task, all with the same
mini-batch order, and records — at every step up to eval_dense (default
20: the fast start, where sparse checkpoints would understate a path's
reward at low KL), then every eval_every steps — the policy's sequence KL
to π_ref and its expected reward: the reward–KL frontier of the
paper's IMDb figure, whose points are checkpoints over training and β. The
exact optimum π*_β ∝ π_ref·exp(r/β) traces the best frontier any policy
can reach (enumerable tasks). Same task as tdpo.tdpo1 and tdpo.tdpo2 with
the same seed.

` + taskDoc + `

Reports: table frontier (method, loss, beta, alpha, step, kl, reward,
gap = R*(kl) − reward, seqkl_chosen, seqkl_rejected; the optimum's rows
have method "optimal" and step −1); table at_kl (method, kl, reward): each
method's frontier at the kl_budgets — the most reward of any of its runs
where the run's path crosses that KL, interpolated between checkpoints
(NaN where no run reaches it) — and the optimum's; a scatter chart of the
frontier and a line chart of at_kl. Finals: at_<method>_kl<budget> for
each method and budget (NaN-free entries only).`,
	}
}

// parseFloats parses a comma-separated list of floats, each checked by ok.
func parseFloats(key, s string, ok func(float64) bool, want string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || !ok(v) {
			return nil, fmt.Errorf("tdpo: param %s: got %q, want %s", key, f, want)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("tdpo: param %s: got %q, want a comma-separated list of %s", key, s, want)
	}
	return out, nil
}

// FrontierConfigFromParams reads the sweep from validated params.
func FrontierConfigFromParams(ps kernel.Params) (FrontierConfig, error) {
	fc := FrontierConfig{Train: ConfigFromParams(DPO, ps)}
	for _, name := range strings.Split(ps.String(ParamLosses), ",") {
		k, err := ParseKind(strings.TrimSpace(name))
		if err != nil {
			return fc, err
		}
		fc.Losses = append(fc.Losses, k)
	}
	var err error
	if fc.Betas, err = parseFloats(ParamBetas, ps.String(ParamBetas), func(v float64) bool { return v > 0 }, "numbers > 0"); err != nil {
		return fc, err
	}
	if fc.Alphas, err = parseFloats(ParamAlphas, ps.String(ParamAlphas), func(v float64) bool { return v >= 0 }, "numbers ≥ 0"); err != nil {
		return fc, err
	}
	if fc.Budget, err = parseFloats(ParamBudgets, ps.String(ParamBudgets), func(v float64) bool { return v > 0 }, "numbers > 0"); err != nil {
		return fc, err
	}
	return fc, nil
}

// Run builds the task and runs Frontier on it.
func (frontierPlugin) Run(job *kernel.Job) error {
	fc, err := FrontierConfigFromParams(job.Params)
	if err != nil {
		return err
	}
	task, err := newJobTask(job)
	if err != nil {
		return err
	}
	noteMeasures(job, task, fc.Train)
	res, err := Frontier(job.Context(), task, fc, job.Rand(), func(done, total int) {
		job.SetTotal(int64(total))
		_ = job.Step(int64(done)) // cancellation reaches Frontier through the context
	})
	if err != nil {
		return err
	}
	tb := job.AddTable(TableFrontier, "method", "loss", "beta", "alpha", "step", "kl", "reward", "gap", "seqkl_chosen", "seqkl_rejected")
	for _, p := range append(res.Optimal, res.Points...) {
		step := p.Step
		if p.Method == MethodOptimal {
			step = -1
		}
		tb.Add(p.Method, string(p.Loss), p.Beta, p.Alpha, step, p.KL, p.Reward, p.Gap, p.SeqKLChosen, p.SeqKLRejected)
	}
	at := job.AddTable(TableAtKL, "method", "kl", "reward")
	methods := res.Methods
	if res.Optimal != nil {
		methods = append([]string{MethodOptimal}, methods...)
	}
	for _, m := range methods {
		for i, b := range res.Budgets {
			v := res.AtKL[m][i]
			at.Add(m, b, v)
			if !math.IsNaN(v) {
				job.SetFinal(fmt.Sprintf("at_%s_kl%g", strings.NewReplacer(" ", "_", "α=", "alpha").Replace(m), b), v)
			}
		}
	}
	job.AddChart(kernel.Chart{Kind: "scatter", ID: "frontier", Title: "reward vs KL(π_θ ‖ π_ref): checkpoints over training and β",
		Table: TableFrontier, X: "kl", Y: "reward", Group: "method", XLabel: "KL (nats)", YLabel: "expected reward"})
	job.AddChart(kernel.Chart{Kind: "xy", ID: "at_kl", Title: "frontier at equal KL",
		Table: TableAtKL, X: "kl", Value: "reward", Group: "method", XLabel: "KL (nats)", YLabel: "expected reward"})
	return nil
}
