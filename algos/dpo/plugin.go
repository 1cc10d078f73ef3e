package dpo

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// Hyperparameter keys of the plugins. Keys shared with GoMLX have GoMLX's
// names (l2_regularization, fnn_num_hidden_nodes, fnn_num_hidden_layers).
// The training keys optimizer (adam or sgd, default adam), learning_rate
// (default 0.05), steps (default 500), batch_size (pairs per step, default
// 0 = full batch) and eval_every (default 10) are package fit's
// (fit.ParamOptimizer, …), and so is dtype (fit.ParamDType: auto, float32
// or float64; auto is float32 for the MLP policy, float64 for the
// log-linear one).
const (
	ParamBeta    = "beta"                  // float > 0, default 1: the KL weight β
	ParamEpsilon = "epsilon"               // float in [0, 0.5), default 0.1: the flip rate cdpo and rdpo assume
	ParamPolicy  = "policy"                // loglinear or mlp, default loglinear
	ParamL2      = "l2_regularization"     // float ≥ 0, default 0: adds l2·‖θ‖² (GoMLX's key)
	ParamRadius  = "theta_radius"          // float ≥ 0, default 0: project θ onto ‖θ‖ ≤ radius after each step (0 = off)
	ParamHidden  = "fnn_num_hidden_nodes"  // int ≥ 1, default 32: MLP units per layer (GoMLX's key)
	ParamLayers  = "fnn_num_hidden_layers" // int ≥ 1, default 1: MLP hidden layers (GoMLX's key)

	// The planted testbed, used when no --data is given.
	ParamDim         = "dim"          // int ≥ 1, default 8: feature dimension d
	ParamWNorm       = "w_norm"       // float > 0, default 3: ‖w*‖
	ParamCandidates  = "candidates"   // int ≥ 2, default 16: candidates per prompt
	ParamRef         = "ref"          // uniform or random, default uniform: π_ref
	ParamPairs       = "pairs"        // int ≥ 1, default 20000: training comparisons n
	ParamFlipRate    = "flip_rate"    // float in [0, 0.5], default 0.1: the data's true flip rate
	ParamTestPrompts = "test_prompts" // int ≥ 1, default 2000: held-out prompts for J, the gap
)

// Defaults of the plugins' parameters.
const (
	DefaultBeta         = 1.0
	DefaultEpsilon      = 0.1
	DefaultLearningRate = 0.05
	DefaultSteps        = 500
	DefaultHidden       = 32
	DefaultLayers       = 1
	DefaultEvalEvery    = 10

	DefaultDim         = 8
	DefaultWNorm       = 3.0
	DefaultCandidates  = 16
	DefaultPairs       = 20000
	DefaultFlipRate    = 0.1
	DefaultTestPrompts = 2000
)

// The reference values of π_ref in the planted testbed.
const (
	RefUniform = "uniform"
	RefRandom  = "random"
)

// Paper is the rDPO paper.
var Paper = kernel.Paper{
	Title:   "Provably Robust DPO: Aligning Language Models with Noisy Feedback",
	Authors: "Sayak Ray Chowdhury, Anush Kini, Nagarajan Natarajan",
	Year:    2024,
	ArXiv:   "2403.00409",
}

type plugin struct{ kind Kind }

var (
	_ kernel.Plugin     = plugin{}
	_ kernel.Quick      = plugin{}
	_ kernel.SampleData = plugin{}
)

func init() {
	for _, k := range Kinds {
		kernel.Register(plugin{kind: k})
	}
	kernel.Register(sweepPlugin{})
}

// QuickParams are small runs that still draw random numbers: mini-batches
// (cdpo, rdpo) or the MLP's initial weights and mini-batches (dpo).
func (p plugin) QuickParams() map[string]any {
	q := map[string]any{ParamPairs: 400, ParamTestPrompts: 50, fit.ParamSteps: 15, fit.ParamEvalEvery: 5}
	switch p.kind {
	case DPO:
		q[ParamPolicy], q[fit.ParamBatchSize], q[ParamHidden] = PolicyMLP, 64, 8
	case CDPO:
		q[fit.ParamBatchSize] = 100
	case RDPO:
		q[fit.ParamBatchSize], q[ParamEpsilon], q[ParamFlipRate] = 100, 0.2, 0.2
	}
	return q
}

// trainParams declares the shared training params with the plugins'
// defaults; evalEvery 0 leaves eval_every out.
func trainParams(steps, evalEvery int) []kernel.Param {
	return fit.Params(fit.Defaults{
		Optimizers:   []string{fit.Adam, fit.SGD},
		LearningRate: DefaultLearningRate,
		MaxLR:        math.Inf(1),
		Steps:        steps,
		HasBatch:     true,
		EvalEvery:    evalEvery,
		Doc:          map[string]string{fit.ParamBatchSize: "pairs per step; 0 = full batch"},
	})
}

var summaries = map[Kind]string{
	DPO:  "DPO: −log σ(βh) on log-linear or MLP policies, with planted-truth metrics",
	CDPO: "conservative DPO (label smoothing ε): −(1−ε) log σ(βh) − ε log σ(−βh)",
	IPO:  "IPO: squared loss (h − 1/(2β))²",
	RDPO: "provably robust DPO: the loss unbiased under label flips at rate ε",
}

var formulas = map[Kind]string{
	DPO:  "ℓ(h) = −log σ(βh)",
	CDPO: "ℓ(h) = −(1−ε) log σ(βh) − ε log σ(−βh)",
	IPO:  "ℓ(h) = (h − 1/(2β))²",
	RDPO: "ℓ(h) = [−(1−ε) log σ(βh) + ε log σ(−βh)] / (1 − 2ε)",
}

func (p plugin) Info() kernel.Info {
	params := []kernel.Param{
		{Key: ParamBeta, Type: kernel.Float, Default: DefaultBeta, Range: kernel.Range{Min: 0, Max: math.Inf(1), MinExclusive: true},
			Doc: "KL weight β of the objective E r* − β KL(π‖π_ref)"},
	}
	if p.kind == CDPO || p.kind == RDPO {
		params = append(params, kernel.Param{
			Key: ParamEpsilon, Type: kernel.Float, Default: DefaultEpsilon,
			Range: kernel.Range{Min: 0, Max: 0.5, MaxExclusive: true},
			Doc:   "flip rate ε the loss assumes (set it to the data's flip_rate)",
		})
	}
	params = append(params,
		kernel.ChoiceParam(ParamPolicy, PolicyLogLinear, []string{PolicyLogLinear, PolicyMLP}, "loglinear: π ∝ π_ref·exp(θ·φ); mlp: π ∝ π_ref·exp(f(φ)), f a tanh MLP"))
	params = append(params, trainParams(DefaultSteps, DefaultEvalEvery)...)
	params = append(params, modelParams()...)
	params = append(params, dtypeParam())
	// The testbed's params shape only the planted data: with --data they do
	// not take effect, and the run's record leaves them out.
	params = append(params, kernel.Generators(testbedParams(DefaultPairs, true)...)...)
	return kernel.Info{
		ID:        "dpo." + string(p.kind),
		Precision: precision,
		Summary:   summaries[p.kind],
		Papers:    []kernel.Paper{Paper},
		Params:    params,
		Data: []kernel.DataFormat{{
			Name: "preference comparisons (JSONL)",
			Doc: `one comparison per line; each line is its own prompt:
features: one feature vector φ(x, y) per candidate (≥ 2, same length on every line)
ref_logprobs: optional, log π_ref(y|x) per candidate (default uniform; renormalised)
chosen, rejected: distinct candidate indices; weight: optional, > 0 (default 1)`,
			Example: `{"features": [[0.1, -0.3], [0.5, 0.2], [0.0, 0.4]], "ref_logprobs": [-1.2, -0.9, -1.2], "chosen": 1, "rejected": 0}`,
		}},
		Doc:   p.doc(),
		Model: modelDoc,
		Init:  initDoc,
	}
}

// precision is the plugins' kernel.Info.Precision; it starts with the
// float type of the default policy, the log-linear one.
const precision = "float64 for the log-linear policy (the default: an exact testbed, θ* = w*/β in closed form), " +
	"float32 for the MLP policy (GoMLX weights, inputs and graphs; the metrics are computed in float64 from its scores, " +
	"within 1e-4 of a float64 run's in loss and gap). dtype=float64 trains the MLP in float64, " +
	"as bench/dpo compares it step by step with PyTorch."

// dtypeParam declares fit.ParamDType with the plugins' auto.
func dtypeParam() kernel.Param {
	return fit.DTypeParam("float32 for the MLP policy, float64 for the log-linear one")
}

const modelDoc = `The trained policy (Policy): θ ("theta" [dim]) for the log-linear policy,
or the MLP's weights ("mlp/w0" [hidden, dim], "mlp/b0" [hidden], …,
"mlp/out" [hidden]), in GoMLX's checkpoint format as float32 or float64
arrays (the run's dtype), and model.json (loss, beta, epsilon, policy,
dim, hidden, layers, dtype; a policy saved without dtype is float64). The
MLP scores in its saved dtype. π_ref is not saved: h does not depend on
it (the policy tilts π_ref by exp(θ·φ) or exp(f(φ)), whose normaliser
cancels in h).
score --data FILE...: preference comparisons in the --data format (Data),
of the policy's dim. Per pair, table scores (pair, weight, log_ratio h,
margin βh, p_chosen = σ(βh), loss); finals loss (this plugin's loss at
beta and epsilon, the trained run's unless set), accuracy (h > 0; ties ½),
mean_margin (mean βh) and log_loss (mean −log σ(βh)). Scoring a run's own
--data files gives its final loss, accuracy and margin.`

const initDoc = `The policy starts from the saved one (θ, or the MLP's weights) instead of
π_ref; the reference stays the run's. The saved policy must have the
run's policy, the data's dim and (MLP) its hidden and layers; any dpo.dpo,
dpo.cdpo, dpo.ipo or dpo.rdpo model will do. Its weights are converted to
the run's dtype (rounded when a float64 policy starts a float32 run). Step
0 of the series then measures the saved policy on the run's pairs.`

// modelParams declares the regularisation and MLP params.
func modelParams() []kernel.Param {
	return []kernel.Param{
		kernel.FloatParam(ParamL2, 0, 0, math.Inf(1), "L2 penalty weight: adds l2·‖θ‖² (MLP: all weight matrices)"),
		kernel.FloatParam(ParamRadius, 0, 0, math.Inf(1), "log-linear: project θ onto ‖θ‖ ≤ radius after each step; 0 = off"),
		kernel.IntParam(ParamHidden, DefaultHidden, 1, 1<<16, "MLP units per hidden layer"),
		kernel.IntParam(ParamLayers, DefaultLayers, 1, 16, "MLP hidden layers"),
	}
}

// testbedParams declares the planted testbed's params, with its flip rate
// if flip is set.
func testbedParams(pairs int, flip bool) []kernel.Param {
	ps := []kernel.Param{
		kernel.IntParam(ParamDim, DefaultDim, 1, 1<<12, "planted testbed: feature dimension d"),
		{Key: ParamWNorm, Type: kernel.Float, Default: DefaultWNorm,
			Range: kernel.Range{Min: 0, Max: math.Inf(1), MinExclusive: true}, Doc: "planted testbed: ‖w*‖ of the true reward r* = w*·φ"},
		kernel.IntParam(ParamCandidates, DefaultCandidates, 2, 1<<12, "planted testbed: candidates per prompt"),
		kernel.ChoiceParam(ParamRef, RefUniform, []string{RefUniform, RefRandom}, "planted testbed: π_ref uniform, or softmax of N(0,1) logits"),
		kernel.IntParam(ParamPairs, int64(pairs), 1, 1<<26, "planted testbed: training comparisons n"),
	}
	if flip {
		ps = append(ps, kernel.FloatParam(ParamFlipRate, DefaultFlipRate, 0, 0.5, "planted testbed: probability that a label is flipped"))
	}
	return append(ps, kernel.IntParam(ParamTestPrompts, DefaultTestPrompts, 1, 1<<20, "planted testbed: held-out prompts for J and the gap"))
}

func (p plugin) doc() string {
	var b strings.Builder
	fmt.Fprintf(&b, `Loss, with h = [log π_θ(y_w|x) − log π_ref(y_w|x)] − [log π_θ(y_l|x) − log π_ref(y_l|x)]:
    %s
averaged over the pairs with their weights.`, formulas[p.kind])
	switch p.kind {
	case RDPO:
		b.WriteString(`
Unbiased: if each label is flipped with probability ε, the expected rDPO loss
equals the clean DPO loss, so it keeps DPO's minimiser; its variance grows
like 1/(1−2ε). It is unbounded below per pair: with few pairs, with an
epsilon above the data's true flip rate, or with the MLP policy, bound θ
(theta_radius) or add l2_regularization.`)
	case CDPO:
		b.WriteString(`
Label smoothing: biased under flips (θ shrinks toward 0 even more than DPO's).`)
	case IPO:
		b.WriteString(`
Regresses h to 1/(2β) on every labelled pair; it does not target π* of the
KL-regularised objective, so its gap does not vanish with n.`)
	}
	b.WriteString(`

Policy: log-linear π_θ(y|x) ∝ π_ref(y|x)·exp(θ·φ(x, y)) over each prompt's
candidates (then h = θ·(φ(y_w) − φ(y_l))), starting at θ = 0 (π_ref), or an
MLP f replacing θ·φ (zero output layer: it also starts at π_ref). Trained
with GoMLX autodiff and Adam (or SGD), full batch unless batch_size is set,
in dtype: auto trains the MLP in float32 and the log-linear policy in
float64.

Without --data: the planted log-linear testbed. w* uniform on the sphere of
radius w_norm in R^dim; per prompt, candidates feature vectors with N(0, 1/dim)
entries; π_ref uniform or random; each of the n = pairs comparisons draws a
fresh prompt and two distinct candidates from π_ref, a Bradley–Terry label
P(y1 ≻ y2) = σ(r*(y1) − r*(y2)) with r* = w*·φ, then flips it with
probability flip_rate. test_prompts held-out prompts measure the policy.
With --data these testbed params (dim, w_norm, candidates, ref, pairs,
flip_rate, test_prompts) do not apply and are left out of the record, which
gives each file's pairs, prompts and dim beside its hash instead.

Reports (series every eval_every steps, and final): loss (as labelled),
accuracy (h > 0 as labelled; ties ½), accuracy_clean (against the labels
before flipping), margin (mean βh); on planted data also gap = J* − J(π),
J(π) = E_x[E_π r* − β KL(π‖π_ref)] exactly over the held-out prompts' candidates,
J_star (π* ∝ π_ref·exp(r*/β), θ* = w*/β) and, for the log-linear policy,
param_error = ‖θ − θ*‖/‖θ*‖. Tables: theta (index, value) for the log-linear
policy; theta_star on planted data. Charts: the series.`)
	return b.String()
}

// Run trains the plugin's loss on job.Data (JSONL preference files,
// concatenated) or, without data, on the planted testbed.
func (p plugin) Run(job *kernel.Job) error {
	cfg := ConfigFromParams(p.kind, job.Params)
	cfg.Backend = job.Backend
	data, err := loadOrGenerate(job)
	if err != nil {
		return err
	}
	if data.Truth != nil && (p.kind == CDPO || p.kind == RDPO) && cfg.Epsilon != data.Truth.FlipRate {
		job.Note("%s: epsilon %v differs from the data's flip_rate %v; the loss assumes the wrong noise rate", job.Result.Plugin, cfg.Epsilon, data.Truth.FlipRate)
	}
	if m := job.InitModel(); m != nil {
		init, ok := m.(*Policy)
		if !ok {
			return &kernel.ModelUsageError{Plugin: job.Result.Plugin, Msg: fmt.Sprintf("--model: %s, want a dpo policy (saved by dpo.dpo, dpo.cdpo, dpo.ipo or dpo.rdpo)", m.Kind())}
		}
		if err := init.fits(cfg, data.Dim); err != nil {
			return &kernel.ModelUsageError{Plugin: job.Result.Plugin, Msg: "--model: " + err.Error()}
		}
		cfg.Init = init
	}
	job.SetTotal(int64(cfg.Steps))
	f, err := Train(job.Context(), data, cfg, job.Rand(), job.Record)
	if err != nil {
		return err
	}
	job.SetModel(f.Policy)
	f.Metrics.Each(job.SetFinal)
	if f.Theta != nil {
		t := job.AddTable("theta", "index", "value")
		for i, v := range f.Theta {
			t.Add(i, v)
		}
	}
	if f.ThetaStar != nil {
		t := job.AddTable("theta_star", "index", "value")
		for i, v := range f.ThetaStar {
			t.Add(i, v)
		}
	}
	job.AddChart(kernel.Chart{Kind: "line", ID: "loss", Title: "training loss (as labelled)", Series: []string{MetricLoss}, XLabel: "step", YLabel: "loss"})
	acc := []string{MetricAccuracy}
	if f.Metrics.HasClean {
		acc = append(acc, MetricAccuracyClean)
	}
	job.AddChart(kernel.Chart{Kind: "line", ID: "accuracy", Title: "reward accuracy (h > 0)", Series: acc, XLabel: "step", YLabel: "accuracy"})
	job.AddChart(kernel.Chart{Kind: "line", ID: "margin", Title: "implicit reward margin mean(βh)", Series: []string{MetricMargin}, XLabel: "step", YLabel: "margin"})
	if f.Metrics.HasTruth {
		job.AddChart(kernel.Chart{Kind: "line", ID: "gap", Title: "sub-optimality gap J* − J(π)", Series: []string{MetricGap}, XLabel: "step", YLabel: "gap"})
	}
	if f.Metrics.HasParamError {
		job.AddChart(kernel.Chart{Kind: "line", ID: "param_error", Title: "‖θ − θ*‖/‖θ*‖", Series: []string{MetricParamError}, XLabel: "step", YLabel: "relative error"})
	}
	return nil
}

// ConfigFromParams reads a training Config from validated plugin params
// (missing keys keep DefaultConfig's values).
func ConfigFromParams(kind Kind, ps kernel.Params) Config {
	cfg := DefaultConfig(kind)
	// fit.Read leaves absent keys zero, which no validated value is (but
	// batch_size's, whose default is 0 too).
	shared := fit.Read(ps)
	if shared.Optimizer != "" {
		cfg.Optimizer = shared.Optimizer
	}
	if shared.LearningRate != 0 {
		cfg.LearningRate = shared.LearningRate
	}
	if shared.Steps != 0 {
		cfg.Steps = shared.Steps
	}
	if shared.EvalEvery != 0 {
		cfg.EvalEvery = shared.EvalEvery
	}
	cfg.BatchSize = shared.BatchSize
	for key, dst := range map[string]*float64{ParamBeta: &cfg.Beta, ParamEpsilon: &cfg.Epsilon, ParamL2: &cfg.L2, ParamRadius: &cfg.Radius} {
		if _, ok := ps[key]; ok {
			*dst = ps.Float(key)
		}
	}
	for key, dst := range map[string]*int{ParamHidden: &cfg.Hidden, ParamLayers: &cfg.Layers} {
		if _, ok := ps[key]; ok {
			*dst = ps.Int(key)
		}
	}
	for key, dst := range map[string]*string{ParamPolicy: &cfg.Policy, fit.ParamDType: &cfg.DType} {
		if _, ok := ps[key]; ok {
			*dst = ps.String(key)
		}
	}
	return cfg
}

// PrefsConfigFromParams reads the planted testbed's configuration from
// validated plugin params (missing keys take the documented defaults).
func PrefsConfigFromParams(ps kernel.Params) datasets.PrefsConfig {
	c := datasets.PrefsConfig{Dim: DefaultDim, WNorm: DefaultWNorm, Candidates: DefaultCandidates,
		Pairs: DefaultPairs, FlipRate: DefaultFlipRate, TestPrompts: DefaultTestPrompts}
	for key, dst := range map[string]*int{ParamDim: &c.Dim, ParamCandidates: &c.Candidates, ParamPairs: &c.Pairs, ParamTestPrompts: &c.TestPrompts} {
		if _, ok := ps[key]; ok {
			*dst = ps.Int(key)
		}
	}
	for key, dst := range map[string]*float64{ParamWNorm: &c.WNorm, ParamFlipRate: &c.FlipRate} {
		if _, ok := ps[key]; ok {
			*dst = ps.Float(key)
		}
	}
	if _, ok := ps[ParamRef]; ok {
		c.RandomRef = ps.String(ParamRef) == RefRandom
	}
	return c
}

// loadOrGenerate reads job.Data (all files, concatenated: same feature
// dimension required) or generates the planted testbed. It records each
// file's shape: pairs, prompts and dim.
func loadOrGenerate(job *kernel.Job) (*datasets.Prefs, error) {
	if len(job.Data) == 0 {
		return datasets.GeneratePrefs(PrefsConfigFromParams(job.Params), job.Rand())
	}
	var all *datasets.Prefs
	for i, path := range job.Data {
		p, err := datasets.LoadPrefs(path)
		if err != nil {
			return nil, err
		}
		job.DataShape(i, "pairs", len(p.Pairs), "prompts", len(p.Prompts), "dim", p.Dim)
		if all == nil {
			all = p
			continue
		}
		if p.Dim != all.Dim {
			return nil, &datasets.Error{File: path, Line: 1, Field: "features", Msg: fmt.Sprintf("want vectors of length %d (as in %s), got %d", all.Dim, job.Data[0], p.Dim)}
		}
		off := len(all.Prompts)
		all.Prompts = append(all.Prompts, p.Prompts...)
		for _, pr := range p.Pairs {
			pr.Prompt += off
			all.Pairs = append(all.Pairs, pr)
		}
	}
	return all, nil
}

// SampleData writes two small files of the planted testbed (dim 3, 120
// and 80 pairs, 10% flips), in --data order.
func (plugin) SampleData(dir string) ([]string, error) {
	r := rand.New(rand.NewPCG(14, 1))
	var paths []string
	for i, n := range []int{120, 80} {
		p, err := datasets.GeneratePrefs(datasets.PrefsConfig{Dim: 3, WNorm: 2, Candidates: 4, Pairs: n, FlipRate: 0.1, TestPrompts: 1}, r)
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dir, fmt.Sprintf("prefs%d.jsonl", i))
		if err := writeFile(path, func(w io.Writer) error { return datasets.WritePrefs(w, p) }); err != nil {
			return nil, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// writeFile creates path and fills it with write.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
