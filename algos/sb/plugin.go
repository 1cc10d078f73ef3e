package sb

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// Paper is the LightSB paper.
var Paper = kernel.Paper{
	Title:   "Light Schrödinger Bridge",
	Authors: "Alexander Korotin, Nikita Gushchin, Evgeny Burnaev",
	Year:    2023,
	ArXiv:   "2310.01174",
}

// BenchmarkPaper is the paper whose known-plan construction and metric the
// eot_* sources follow.
var BenchmarkPaper = kernel.Paper{
	Title:   "Building the Bridge of Schrödinger: A Continuous Entropic Optimal Transport Benchmark",
	Authors: "Nikita Gushchin, Alexander Kolesov, Petr Mokrov, Polina Karpikova, Andrey Spiridonov, Evgeny Burnaev, Alexander Korotin",
	Year:    2023,
	ArXiv:   "2306.10161",
}

// The final metrics of the plugin.
const (
	FinalLoss      = "loss"                 // Model.Loss on 4096 fresh draws of each marginal
	FinalCBW       = "cbw2_uvp"             // cBW₂²-UVP (%) from samples_per_x model samples per test x (eot_* only)
	FinalCBWExact  = "cbw2_uvp_exact"       // the same from the model plan's exact moments
	FinalCBWFloor  = "cbw2_uvp_floor"       // the same for samples of the true plan: the noise floor
	FinalCBWIndep  = "cbw2_uvp_independent" // the same for the independent plan π(y|x) = P₁(y)
	FinalTargetVar = "target_variance"      // Var(P₁), the metric's normaliser
	FinalKL        = "kl_plan"              // KL(π*‖π_θ) per x, averaged over 4096 draws of π* (eot_* only)
)

const (
	evalDraws           = 4096  // draws for the final loss and kl_plan
	targetVarianceDraws = 10000 // draws of P₀ for P₁'s moments
)

type plugin struct{}

var (
	_ kernel.Plugin = plugin{}
	_ kernel.Quick  = plugin{}
)

func init() { kernel.Register(plugin{}) }

func (plugin) Info() kernel.Info {
	return kernel.Info{
		ID:        "sb.light",
		Precision: "float32 (GoMLX) for the weights and the training step, as the authors' PyTorch code; data generation and metrics in float64.",
		Summary:   "Light Schrödinger Bridge: a Gaussian-mixture Schrödinger potential fit by KL minimisation, checked against known EOT plans",
		Papers:    []kernel.Paper{Paper, BenchmarkPaper},
		Params:    params(),
		Data: []kernel.DataFormat{{
			Name: "source and target samples (two files, CSV or JSONL)",
			Doc: `--data x0 --data x1: samples of P₀ then of P₁, one vector per line, same dimension.
CSV: comma-separated numbers, optionally a header row of column names.
JSONL: one JSON array of numbers per line. Values must be finite.`,
			Example: "x0.csv: 0.12,-1.5   (or x0.jsonl: [0.12, -1.5])",
		}, {
			Name: "an entropic OT benchmark pair (one JSON file)",
			Doc: `--data pair.json: the parameters of one Gaussian-mixture pair of the EOT benchmark
(Gushchin et al. 2023), read by datasets.LoadEOTBenchmark: epsilon (must equal the epsilon
param), source and potential mixtures (weights, means, D×D covariances), and optionally
dim, test_inputs (the fixed test x of cBW₂²-UVP, of which the first test_points are used)
and target_variance (Var(P₁), the metric's normaliser). The run trains on draws of the
pair and scores the fit against its closed-form plan, as for the eot_* sources.`,
			Example: `{"epsilon": 0.1, "source": {"weights": [1], "means": [[0, 0]], "covariances": [[[1, 0], [0, 1]]]}, "potential": {...}}`,
		}},
		Doc:   doc,
		Model: modelDoc,
		Init:  initDoc,
	}
}

const modelDoc = `The learned potential: log α_k (log_alpha, K), r_k (r, K×D) and log diag S_k
(log_s, K×D) as float64 arrays in GoMLX's checkpoint format, and ε, K, D in model.json.
alignlab sample sb.light --model DIR --x xs.csv --n N: N draws of y | x for each row x of
  xs.csv (CSV or JSONL, dimension D), full-dimensional, into table samples (x_index,
  x1…xD, y1…yD); sampler=plan (default) draws the learned plan π_θ(y|x) exactly,
  sampler=sde the bridge's endpoint after sde_steps Euler–Maruyama steps.
alignlab score sb.light --model DIR --data x0 --data x1: table scores (side, row, score:
  log c_θ(x) of each source row, log v_θ(y) of each target row), finals mean_log_c,
  mean_log_v and loss = mean_log_c − mean_log_v.
alignlab score sb.light --model DIR --data pair.json: the run's finals on a benchmark pair
  (loss, cbw2_uvp, cbw2_uvp_exact, cbw2_uvp_floor, cbw2_uvp_independent,
  target_variance, kl_plan); the run's own pair file with its seed gives its own finals.`

const initDoc = `The saved log α_k, r_k and S_k are the starting values of Adam (s_init and the initial
means drawn from the target do not apply); D must match the data and K the components
param. A potential trained at another ε starts the run at the run's ε.`

// params declares the plugin's params: K and ε, the shared training params
// of package fit, then the data, evaluation and chart params.
func params() []kernel.Param {
	pos := kernel.Range{Min: 0, Max: math.Inf(1), MinExclusive: true}
	ps := []kernel.Param{
		kernel.IntParam(ParamK, DefaultK, 1, 1<<14, "mixture components K of the potential v_θ"),
		{Key: ParamEpsilon, Type: kernel.Float, Default: DefaultEpsilon, Range: pos,
			Doc: "ε, the variance of the bridge's Brownian noise (EOT with cost ½‖x−y‖² and entropy weight ε)"},
		{Key: ParamSInit, Type: kernel.Float, Default: DefaultSInit, Range: pos,
			Doc: "initial diagonal of every S_k (1, the authors' benchmark setting; their class default 0.1 leaves some runs stuck)"},
	}
	// fit.Params declares learning_rate > 0; sb's default 0 means the
	// paper's rate for ε, so the declaration is widened below. The 1 given
	// here is only a placeholder that fit.Params needs to declare the param.
	shared := fit.Params(fit.Defaults{
		LearningRate: 1, MaxLR: math.Inf(1), Steps: DefaultSteps,
		HasBatch: true, BatchSize: DefaultBatchSize, MinBatch: 1, MaxBatch: 1 << 20, EvalEvery: DefaultEvalEvery,
		Doc: map[string]string{
			ParamLearningRate: "Adam's learning rate",
			ParamSteps:        "Adam steps",
			ParamBatchSize:    "points of each marginal per step",
			ParamEvalEvery:    "steps per recorded loss (the mean over the window)",
		},
	})
	for i := range shared {
		if shared[i].Key == ParamLearningRate {
			shared[i].Default = float64(DefaultLearningRate)
			shared[i].Range.MinExclusive = false
			shared[i].Doc = "Adam's learning rate; 0 = the paper's for ε (1e-3, 3e-3, 6e-2 at ε = 0.1, 1, 10; log-interpolated between)"
		}
	}
	ps = append(ps, shared...)
	// source, dim and rotated only choose the generated pair: with --data
	// the files are the data. test_points and samples_per_x are not
	// generator params: a benchmark pair file is scored with them.
	ps = append(ps, kernel.Generators(
		kernel.ChoiceParam(ParamSource, SourceEOTMixture, Sources, "data without --data: a known-plan pair (eot_*) or a 2-D demo; --data x0 --data x1 means sample files, one --data a benchmark pair file"),
		kernel.IntParam(ParamDim, DefaultDim, 1, 1024, "dimension D of the eot_* pairs (the 2-D demos are 2-D)"),
		kernel.BoolParam(ParamRotated, false, "eot_mixture: rotate the potential's covariances (π* then leaves the diagonal-S family)"),
	)...)
	return append(ps,
		kernel.IntParam(ParamTestPoints, DefaultTestPoints, 1, 1<<20, "eot_*: test x drawn from P₀ for cBW₂²-UVP"),
		kernel.IntParam(ParamSamplesPerX, DefaultSamplesPerX, 2, 1<<20, "eot_*: model samples of y|x per test x"),
		kernel.IntParam(ParamPlotSamples, DefaultPlotSamples, 0, 1<<20, "points per kind in the samples table"),
		kernel.IntParam(ParamTrajectories, DefaultTrajectories, 0, 1<<12, "SDE trajectories in the trajectories table"),
		kernel.IntParam(ParamSDESteps, DefaultSDESteps, 1, 1<<16, "Euler–Maruyama steps of the SDE from t = 0 to 1"),
		kernel.ChoiceParam(ParamSampler, SamplerPlan, Samplers, "alignlab sample: plan = exact draws of the learned plan π_θ(y|x), sde = the learned bridge's endpoint (sde_steps steps)"),
	)
}

// QuickParams are small params that still draw data, minibatches, plan and
// SDE samples, for the tests that run every plugin.
func (plugin) QuickParams() map[string]any {
	return map[string]any{ParamSteps: 10, ParamK: 4, ParamBatchSize: 32, ParamEvalEvery: 5, ParamTestPoints: 10,
		ParamSamplesPerX: 20, ParamPlotSamples: 20, ParamTrajectories: 2, ParamSDESteps: 5}
}

const doc = `Model (diagonal S_k, float32 on the GoMLX backend):
    v_θ(y) = Σ_k α_k N(y | r_k, εS_k)
    c_θ(x) = Σ_k α_k exp((xᵀS_k x + 2 r_kᵀx)/(2ε))
Loss (= KL(π*‖π_θ) + const), Adam on minibatches of the two marginals:
    L(θ) = mean_x0 log c_θ(x0) − mean_x1 log v_θ(x1)
Learned plan and bridge:
    π_θ(y|x) = Σ_k w_k(x) N(y | r_k + S_k x, εS_k),  w_k(x) ∝ α_k exp((xᵀS_k x + 2 r_kᵀx)/(2ε))
    dX_t = g_θ(X_t, t) dt + √ε dW_t,  g_θ = ε∇_x log ∫ N(x'|x, (1−t)εI) exp(‖x'‖²/(2ε)) v_θ(x') dx'
Defaults as in the authors' benchmark notebook: α_k = 1/K, r_k = K target
draws, S_k = s_init·I with s_init = 1 (their LightSB class defaults to 0.1,
which leaves some runs stuck), the weights stored as ε·log α_k (so Adam moves
log α by about lr/ε a step), and learning_rate 0 = the paper's rate for ε:
1e-3, 3e-3, 6e-2 at ε = 0.1, 1, 10 (log-interpolated between, clamped outside).
steps defaults to 2,000; the paper trains 10,000.
ε is the noise variance: the plan solves min ∫½‖x−y‖² dπ − ε H(π).

Data (without --data, from the source param; fresh draws every step):
  eot_mixture   P₀ a mixture of 3 Gaussians in R^dim, potential g a mixture of
                5 Gaussians with diagonal covariances (randomly rotated with
                rotated=true); π*(y|x) ∝ N(y|x, εI) g(y) in closed form (Gushchin
                et al. 2023's construction; parameters drawn from the seed)
  eot_gaussian  P₀ = N(0, I), g one diagonal Gaussian: π* is Gaussian and in the model family
  gauss_to_swissroll, gaussians8_to_moons   2-D demos without a known plan
With --data: two files are samples of P₀ and P₁; one file is a benchmark pair
(JSON: epsilon, source and potential mixtures, optional test_inputs and
target_variance), scored like the eot_* sources on its own test inputs and
normaliser when it has them. With --data, source, dim and rotated do not
apply and are left out of the result's params; each file's shape is recorded
beside its hash (sample files: rows, dim; a pair file: dim,
source_components, potential_components, test_inputs). The generated eot_* pairs follow the
benchmark's construction but not its published parameters: their numbers
compare with the paper's in kind, not digit for digit.

Reports: series loss (mean minibatch loss per eval_every steps); finals loss
(on 4096 fresh draws), and with a known plan cbw2_uvp, the benchmark's
    cBW₂²-UVP = 100 · mean_x ½BW₂²(N(m̂, Σ̂), N(m*, Σ*)) / (½ Var(P₁))  [%]
with (m̂, Σ̂) fitted to samples_per_x plan samples at each of test_points x ~ P₀
and (m*, Σ*) the true conditional's moments; cbw2_uvp_exact (the model plan's
exact moments), cbw2_uvp_floor (samples of the true plan: the metric's noise
floor), cbw2_uvp_independent (π(y|x) = P₁, for scale), target_variance, and
kl_plan = KL(π*‖π_θ) estimated on 4096 plan draws. Tables: samples (x, y =
the first two coordinates, then kind: source, target, model = one plan draw per
source point, sde = the SDE's endpoint from the same point; for D > 2 the
columns coord_3 … coord_D keep the rest of each point), trajectories
(trajectory, step, t, x, y: the first two coordinates), parameters (component,
weight, coord, r, s). Charts: the loss, the samples (scatter of x, y) and the
trajectories. The sampler param applies only to alignlab sample (see Model).`

// ConfigFromParams reads a training Config from validated params (missing
// keys keep DefaultConfig's values); the shared ones through fit.Read.
func ConfigFromParams(ps kernel.Params) Config {
	cfg := DefaultConfig()
	if _, ok := ps[ParamK]; ok {
		cfg.K = ps.Int(ParamK)
	}
	if _, ok := ps[ParamEpsilon]; ok {
		cfg.Epsilon = ps.Float(ParamEpsilon)
	}
	if _, ok := ps[ParamSInit]; ok {
		cfg.SInit = ps.Float(ParamSInit)
	}
	// fit.Read leaves absent keys at 0: for steps, batch_size and
	// eval_every a value no param of sb takes; for learning_rate the
	// default, which Config reads the same way.
	shared := fit.Read(ps)
	for _, f := range []struct {
		dst *int
		v   int
	}{{&cfg.Steps, shared.Steps}, {&cfg.BatchSize, shared.BatchSize}, {&cfg.EvalEvery, shared.EvalEvery}} {
		if f.v != 0 {
			*f.dst = f.v
		}
	}
	cfg.LearningRate = shared.LearningRate
	return cfg
}

// marginals are the two sides of a run: samplers for training and, when
// the plan is known, the pair (with a benchmark file's test inputs and
// normaliser, when it has them).
type marginals struct {
	src, tgt Sampler
	pair     *datasets.EOTPair
	bench    *datasets.EOTBenchmark
	dim      int
}

// pairMarginals samples the two sides of a known pair.
func pairMarginals(pair *datasets.EOTPair) *marginals {
	return &marginals{
		src:  SamplerFunc(pair.SampleSource),
		tgt:  SamplerFunc(func(n int, r *rand.Rand) [][]float64 { y, _ := pair.SampleTarget(n, r); return y }),
		pair: pair, dim: pair.Dim,
	}
}

// dataUsage is what sb.light reads from --data.
const dataUsage = "2 sample files (--data x0 --data x1: source samples, then target samples) or 1 benchmark pair file (--data pair.json)"

// loadMarginals reads the run's data: job.Data, or without it the
// generated pair the source param names. The caller checks a benchmark
// pair file's ε against its own.
func loadMarginals(job *kernel.Job, r *rand.Rand) (*marginals, error) {
	source := job.Params.String(ParamSource)
	if len(job.Data) > 0 {
		source = SourceFiles
	}
	switch source {
	case SourceFiles:
		if len(job.Data) == 1 && strings.EqualFold(filepath.Ext(job.Data[0]), ".json") {
			b, err := datasets.LoadEOTBenchmark(job.Data[0])
			if err != nil {
				return nil, err
			}
			job.DataShape(0, "dim", b.Pair.Dim, "source_components", len(b.Pair.Source.Weights),
				"potential_components", len(b.Pair.Potential.Weights), "test_inputs", len(b.TestInputs))
			m := pairMarginals(b.Pair)
			m.bench = b
			return m, nil
		}
		if len(job.Data) != 2 {
			return nil, job.DataCountError(dataUsage)
		}
		x0, err := datasets.LoadVectors(job.Data[0])
		if err != nil {
			return nil, err
		}
		x1, err := datasets.LoadVectors(job.Data[1])
		if err != nil {
			return nil, err
		}
		if len(x1[0]) != len(x0[0]) {
			return nil, &datasets.Error{File: job.Data[1], Line: 1, Field: "row",
				Msg: fmt.Sprintf("want vectors of dimension %d (as in %s), got %d", len(x0[0]), job.Data[0], len(x1[0]))}
		}
		job.DataShape(0, "rows", len(x0), "dim", len(x0[0]))
		job.DataShape(1, "rows", len(x1), "dim", len(x1[0]))
		job.Note("sb.light: sample files carry no known plan: no cBW₂²-UVP or kl_plan, so %s and %s did not apply", ParamTestPoints, ParamSamplesPerX)
		return &marginals{src: Rows(x0), tgt: Rows(x1), dim: len(x0[0])}, nil
	case SourceSwissRoll:
		return &marginals{
			src: SamplerFunc(func(n int, r *rand.Rand) [][]float64 { return datasets.StandardNormal(n, 2, r) }),
			tgt: SamplerFunc(func(n int, r *rand.Rand) [][]float64 { return datasets.SwissRoll(n, 0.8, r) }),
			dim: 2,
		}, nil
	case SourceMoons:
		return &marginals{
			src: SamplerFunc(func(n int, r *rand.Rand) [][]float64 { return datasets.EightGaussians(n, 2, 0.2, r) }),
			tgt: SamplerFunc(func(n int, r *rand.Rand) [][]float64 { return datasets.Moons(n, 2, 0.1, r) }),
			dim: 2,
		}, nil
	case SourceEOTGaussian, SourceEOTMixture:
		dim, eps := job.Params.Int(ParamDim), job.Params.Float(ParamEpsilon)
		cfg := datasets.EOTMixtureConfig(dim, eps, job.Params.Bool(ParamRotated))
		if source == SourceEOTGaussian {
			cfg = datasets.EOTGaussianConfig(dim, eps)
		}
		pair, err := datasets.GenerateEOT(cfg, r)
		if err != nil {
			return nil, err
		}
		return pairMarginals(pair), nil
	}
	return nil, fmt.Errorf("sb: unknown source %q", source)
}

// Run trains LightSB on the run's marginals and reports as the doc says.
// Random streams, in order: data, training, evaluation, charts; so changing
// a chart parameter does not change the fit.
func (plugin) Run(job *kernel.Job) error {
	cfg := ConfigFromParams(job.Params)
	cfg.Backend = job.Backend
	if cfg.LearningRate == 0 {
		job.Note("sb.light: learning_rate 0: the paper's rate for ε = %g, %g", cfg.Epsilon, cfg.EffectiveLearningRate())
	}
	data, err := loadMarginals(job, job.Rand())
	if err != nil {
		return err
	}
	if data.bench != nil && data.pair.Epsilon != cfg.Epsilon {
		return &datasets.Error{File: job.Data[0], Field: "epsilon",
			Msg: fmt.Sprintf("the pair's ε is %v but the run's epsilon param is %v: set epsilon=%v", data.pair.Epsilon, cfg.Epsilon, data.pair.Epsilon)}
	}
	init, err := initModel(job, cfg, data.dim)
	if err != nil {
		return err
	}
	trainRand, evalRand, plotRand := job.Rand(), job.Rand(), job.Rand()
	job.SetTotal(int64(cfg.Steps))
	var m *Model
	if init != nil {
		m, err = FitFrom(job.Context(), init, data.src, data.tgt, cfg, trainRand, job.Record)
	} else {
		m, err = Fit(job.Context(), data.src, data.tgt, cfg, trainRand, job.Record)
	}
	if err != nil {
		return err
	}
	job.SetFinal(FinalLoss, m.Loss(data.src.Sample(evalDraws, evalRand), data.tgt.Sample(evalDraws, evalRand)))
	if data.pair != nil {
		if err := reportTruth(job, m, data, evalRand); err != nil {
			return err
		}
	}
	if data.dim > 2 {
		job.Note("sb.light: dimension %d: the samples chart and the trajectories show the first two coordinates (the samples table keeps all %d: x, y, coord_3 … coord_%d)", data.dim, data.dim, data.dim)
	}
	reportSamples(job, m, data, plotRand)
	params := job.AddTable("parameters", "component", "weight", "coord", "r", "s")
	w := softmax(append([]float64(nil), m.LogAlpha...))
	for k := range m.K() {
		for j := range m.Dim() {
			params.Add(k, w[k], j, m.R[k][j], math.Exp(m.LogS[k][j]))
		}
	}
	job.AddChart(kernel.Chart{Kind: "line", ID: "loss", Title: "LightSB loss (KL to the true plan + const)", Series: []string{MetricLoss}, XLabel: "step", YLabel: "loss"})
	job.AddChart(kernel.Chart{Kind: "scatter", ID: "samples", Title: "source, target, learned plan and SDE samples", Table: "samples", X: "x", Y: "y", Group: "kind", Equal: true})
	if job.Params.Int(ParamTrajectories) > 0 {
		job.AddChart(kernel.Chart{Kind: "xy", ID: "trajectories", Title: "SDE trajectories of the learned bridge", Table: "trajectories", X: "x", Value: "y", Group: "trajectory", XLabel: "x", YLabel: "y", Equal: true})
	}
	job.SetModel(m)
	return nil
}

// initModel returns the saved potential the run starts from (run
// --model), checked against the run's data dimension and components
// param and set to the run's ε, or nil without one.
func initModel(job *kernel.Job, cfg Config, dim int) (*Model, error) {
	im := job.InitModel()
	if im == nil {
		return nil, nil
	}
	id := job.Result.Plugin
	saved, ok := im.(*Model)
	if !ok {
		return nil, &kernel.ModelUsageError{Plugin: id, Msg: fmt.Sprintf("--model: %s, want a LightSB potential (a model saved by sb.light)", im.Kind())}
	}
	switch {
	case saved.Dim() != dim:
		return nil, &kernel.ModelUsageError{Plugin: id, Msg: fmt.Sprintf("--model: the saved potential has dimension D = %d, the run's data %d", saved.Dim(), dim)}
	case saved.K() != cfg.K:
		return nil, &kernel.ModelUsageError{Plugin: id, Msg: fmt.Sprintf("--model: the saved potential has %d components, the run's %s param is %d: set %s=%d", saved.K(), ParamK, cfg.K, ParamK, saved.K())}
	}
	init := saved.Clone()
	if init.Epsilon != cfg.Epsilon {
		job.Note("sb.light: the saved potential was trained at ε = %v; its parameters start this run at ε = %v", init.Epsilon, cfg.Epsilon)
		init.Epsilon = cfg.Epsilon
	}
	job.Note("sb.light: training starts from the saved potential (--model), so %s does not apply", ParamSInit)
	return init, nil
}

func reportTruth(job *kernel.Job, m *Model, data *marginals, r *rand.Rand) error {
	pair := data.pair
	eval := Eval{TestPoints: job.Params.Int(ParamTestPoints), SamplesPerX: job.Params.Int(ParamSamplesPerX), VarianceSamples: targetVarianceDraws}
	if b := data.bench; b != nil {
		if n := len(b.TestInputs); n > 0 {
			eval.TestInputs = b.TestInputs[:min(n, eval.TestPoints)]
			job.Note("sb.light: cBW₂²-UVP on the first %d of the pair file's %d test inputs (test_points = %d)", len(eval.TestInputs), n, eval.TestPoints)
		}
		eval.TargetVariance = b.TargetVariance
	}
	res, err := EvaluateCBW(m, pair, eval, r)
	if err != nil {
		return err
	}
	if eval.TargetVariance > 0 {
		job.Note("sb.light: normaliser Var(P₁) = %.6g from the pair file (estimated from %d draws of P₀: %.6g)", eval.TargetVariance, targetVarianceDraws, res.EstimatedTargetVariance)
	}
	job.SetFinal(FinalCBW, res.Sampled)
	job.SetFinal(FinalCBWExact, res.Exact)
	job.SetFinal(FinalCBWFloor, res.Floor)
	job.SetFinal(FinalCBWIndep, res.Independent)
	job.SetFinal(FinalTargetVar, res.TargetVariance)
	ys, xs := pair.SampleTarget(evalDraws, r)
	kl := 0.0
	for i := range xs {
		kl += pair.ConditionalLogPdf(xs[i], ys[i]) - m.PlanLogPdf(xs[i], ys[i])
	}
	job.SetFinal(FinalKL, kl/float64(len(xs)))
	return nil
}

func reportSamples(job *kernel.Job, m *Model, data *marginals, r *rand.Rand) {
	n := job.Params.Int(ParamPlotSamples)
	steps := job.Params.Int(ParamSDESteps)
	// x and y are the first two coordinates (the scatter's axes); in more
	// dimensions coord_3 … coord_D follow kind, so that every point is
	// whole.
	cols := []string{"x", "y", "kind"}
	for j := 3; j <= data.dim; j++ {
		cols = append(cols, "coord_"+strconv.Itoa(j))
	}
	t := job.AddTable("samples", cols...)
	xs := data.src.Sample(n, r)
	ys := data.tgt.Sample(n, r)
	row := make([]any, len(cols))
	add := func(kind string, pts [][]float64) {
		for _, p := range pts {
			row[0], row[1], row[2] = p[0], second(p), kind
			for j := 2; j < len(p); j++ {
				row[j+1] = p[j]
			}
			t.Add(row...)
		}
	}
	add("source", xs)
	add("target", ys)
	model := make([][]float64, len(xs))
	for i, x := range xs {
		model[i] = m.SamplePlan(x, 1, r)[0]
	}
	add("model", model)
	sde := make([][]float64, len(xs))
	for i, x := range xs {
		path := m.SampleSDE(x, steps, r)
		sde[i] = path[len(path)-1]
	}
	add("sde", sde)

	tr := job.AddTable("trajectories", "trajectory", "step", "t", "x", "y")
	starts := data.src.Sample(job.Params.Int(ParamTrajectories), r)
	for _, x := range starts {
		// Named by where it starts, so that a legend says which path is which.
		name := fmt.Sprintf("from (%.2f, %.2f)", x[0], second(x))
		for s, p := range m.SampleSDE(x, steps, r) {
			tr.Add(name, s, float64(s)/float64(steps), p[0], second(p))
		}
	}
}

// second returns the second coordinate, or 0 for 1-D data.
func second(p []float64) float64 {
	if len(p) < 2 {
		return 0
	}
	return p[1]
}
