package dpo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// Keys of the params of dpo.sweep, besides those of the training (beta,
// policy, optimizer, learning_rate, steps, batch_size, l2_regularization,
// theta_radius, fnn_num_hidden_nodes, fnn_num_hidden_layers, dtype) and of the
// planted testbed (dim, w_norm, candidates, ref, pairs, test_prompts),
// which it shares with the training plugins. Lists are comma-separated.
const (
	// ParamEpsilons (list of floats in [0, 0.5), default
	// "0,0.1,0.2,0.3,0.4"): the flip rates of the data, told to cdpo and rdpo.
	ParamEpsilons = "epsilons"
	// ParamLosses (list of dpo, cdpo, ipo, rdpo; default "dpo,cdpo,rdpo,ipo").
	ParamLosses = "losses"
	// ParamPairsGrid (list of ints in [1, pairs], default
	// "1250,2500,5000,10000,20000"; "" = no curve): the sample sizes of the
	// parameter-error curve.
	ParamPairsGrid = "pairs_grid"
	// ParamGridEpsilon (float in [0, 0.5), default 0.3): the flip rate of
	// the parameter-error curve.
	ParamGridEpsilon = "grid_epsilon"
	// ParamReplicates (int ≥ 1, default 3): data sets per number, drawn
	// from seeds seed, seed+1, ….
	ParamReplicates = "replicates"
)

// SweepConfig configures Sweep: the planted testbed, the flip rates and
// losses to compare, and the sample sizes of the parameter-error curve.
// Params gives it as the params of the plugin dpo.sweep.
type SweepConfig struct {
	// Data is the testbed; FlipRate is replaced by each of Epsilons, and
	// Pairs is the largest n.
	Data     datasets.PrefsConfig
	Epsilons []float64
	Losses   []Kind
	// Train is the base training configuration; Loss and Epsilon are set
	// per run (the loss is told the true flip rate), the metrics are
	// evaluated once, after the last step (EvalEvery is not used), and the
	// backend is the kernel's (Backend is not used). Its optimizer is adam
	// or sgd: WeightDecay and AdamEpsilon are not params of dpo.sweep.
	Train Config
	// PairsGrid are the sample sizes n ≤ Data.Pairs of the parameter-error
	// curve, at flip rate GridEpsilon, for every loss but IPO (whose θ does
	// not estimate θ*). Each n uses the first n pairs of one data set, so the
	// sets are nested. Empty: no curve.
	PairsGrid   []int
	GridEpsilon float64
	// Replicates is the number of data sets (seeds Seed, Seed+1, …) each
	// number is averaged over; the tables give the mean and its standard
	// error. At least 1.
	Replicates int
	Seed       uint64 // at most 2^53, as every kernel seed
}

// DefaultSweepConfig is the notebook's sweep, and the defaults of
// dpo.sweep: d = 8, ‖w*‖ = 3, 16
// candidates, uniform π_ref, β = 1, n = 20,000, ε ∈ {0, 0.1, 0.2, 0.3, 0.4},
// all four losses, log-linear policy, full-batch Adam (200 steps at learning
// rate 0.05, which reaches the minimiser to about 4 digits on this testbed),
// n ∈ {1250, …, 20000} at ε = 0.3 for the parameter-error curve, and 3
// replicates.
func DefaultSweepConfig() SweepConfig {
	tr := DefaultConfig(DPO)
	tr.Steps = 200
	return SweepConfig{
		Data: datasets.PrefsConfig{Dim: DefaultDim, WNorm: DefaultWNorm, Candidates: DefaultCandidates,
			Pairs: DefaultPairs, TestPrompts: DefaultTestPrompts},
		Epsilons:    []float64{0, 0.1, 0.2, 0.3, 0.4},
		Losses:      []Kind{DPO, CDPO, RDPO, IPO},
		Train:       tr,
		PairsGrid:   []int{1250, 2500, 5000, 10000, 20000},
		GridEpsilon: 0.3,
		Replicates:  3,
		Seed:        1,
	}
}

// sweepRow is one trained policy of a sweep.
type sweepRow struct {
	gap, paramError, shrinkage, cosine, accuracyClean float64
}

// meanSE accumulates a mean and its standard error.
type meanSE struct{ n, sum, sumSq float64 }

func (m *meanSE) add(v float64) { m.n++; m.sum += v; m.sumSq += v * v }
func (m *meanSE) mean() float64 { return m.sum / m.n }
func (m *meanSE) se() float64 {
	if m.n < 2 {
		return math.NaN()
	}
	v := (m.sumSq - m.sum*m.sum/m.n) / (m.n - 1)
	return math.Sqrt(math.Max(v, 0) / m.n)
}

// Sweep runs the plugin dpo.sweep with cfg.Params() through kernel.Run: it
// trains every loss at every flip rate on the planted testbed (and,
// if asked, at every n of PairsGrid), Replicates times, and returns a
// result with the tables (means over replicates, with standard errors)
//
//	sweep: loss, epsilon, gap, gap_se, param_error, param_error_se,
//	  shrinkage, cosine, accuracy_clean
//	param_error_vs_epsilon: loss, epsilon, param_error, plus the theory line
//	  "rdpo theory ∝ 1/(1−2ε)" anchored at rDPO's error at the first ε
//	param_error_vs_n: loss, n, param_error, param_error_se, plus
//	  "rdpo theory ∝ 1/√n" anchored at rDPO's error at the largest n
//
// and xy charts of the gap and the parameter error against ε and of the
// parameter error against n (log scale). shrinkage is θ·θ*/‖θ*‖²: 1 for an
// unbiased estimate, below 1 when θ is shrunk toward π_ref; cosine is the
// cosine between θ and θ* (its direction alone). Within a
// replicate, the data at every ε come from one seed: they share w*, prompts
// and clean labels, and the pairs flipped at a smaller ε are a subset of
// those flipped at a larger one, so differences between flip rates are not
// noise between data sets.
func Sweep(ctx context.Context, cfg SweepConfig) (*kernel.Result, error) {
	return kernel.Run(ctx, "dpo.sweep", kernel.Options{Params: cfg.Params()})
}

// runSweep is dpo.sweep's Run: the sweep of cfg, into job.
func runSweep(job *kernel.Job, cfg SweepConfig) error {
	ctx := job.Context()
	if len(cfg.Epsilons) == 0 || len(cfg.Losses) == 0 {
		return fmt.Errorf("dpo: sweep needs at least one epsilon and one loss")
	}
	for _, eps := range append([]float64{cfg.GridEpsilon}, cfg.Epsilons...) {
		if !(eps >= 0 && eps < 0.5) {
			return fmt.Errorf("dpo: sweep: epsilon must be in [0, 0.5), got %v", eps)
		}
	}
	for _, n := range cfg.PairsGrid {
		if n < 1 || n > cfg.Data.Pairs {
			return fmt.Errorf("dpo: sweep: pairs grid value %d outside [1, %d]", n, cfg.Data.Pairs)
		}
	}
	run := func(data *datasets.Prefs, kind Kind, eps float64, seed uint64) (sweepRow, error) {
		tc := cfg.Train
		tc.Loss, tc.Epsilon = kind, eps
		tc.EvalEvery, tc.Backend = tc.Steps, job.Backend
		if kind == DPO || kind == IPO {
			tc.Epsilon = 0
		}
		f, err := Train(ctx, data, tc, rand.New(rand.NewPCG(seed, 2)), nil)
		if err != nil {
			return sweepRow{}, fmt.Errorf("dpo: sweep %s at ε = %v, n = %d: %w", kind, eps, len(data.Pairs), err)
		}
		row := sweepRow{gap: f.Metrics.Gap, paramError: math.NaN(), shrinkage: math.NaN(), cosine: math.NaN(), accuracyClean: f.Metrics.AccuracyClean}
		if th, st := f.Theta, f.ThetaStar; th != nil {
			row.paramError = f.Metrics.ParamError
			row.shrinkage = dotf(th, st) / dotf(st, st)
			row.cosine = dotf(th, st) / math.Sqrt(dotf(th, th)*dotf(st, st))
		}
		return row, nil
	}
	generate := func(eps float64, seed uint64) (*datasets.Prefs, error) {
		dc := cfg.Data
		dc.FlipRate = eps
		return datasets.GeneratePrefs(dc, rand.New(rand.NewPCG(seed, 1)))
	}

	type cell struct{ gap, perr, shrink, cos, acc meanSE }
	cells := make([][]cell, len(cfg.Epsilons)) // [ε][loss]
	for i := range cells {
		cells[i] = make([]cell, len(cfg.Losses))
	}
	for rep := range cfg.Replicates {
		seed := cfg.Seed + uint64(rep)
		for i, eps := range cfg.Epsilons {
			data, err := generate(eps, seed)
			if err != nil {
				return err
			}
			rows := make([]sweepRow, len(cfg.Losses))
			err = parallel(len(cfg.Losses), func(j int) (err error) {
				rows[j], err = run(data, cfg.Losses[j], eps, seed)
				return err
			})
			if err != nil {
				return err
			}
			for j, row := range rows {
				c := &cells[i][j]
				c.gap.add(row.gap)
				c.perr.add(row.paramError)
				c.shrink.add(row.shrinkage)
				c.cos.add(row.cosine)
				c.acc.add(row.accuracyClean)
			}
		}
	}
	sweep := job.AddTable("sweep", "loss", "epsilon", "gap", "gap_se", "param_error", "param_error_se", "shrinkage", "cosine", "accuracy_clean")
	perr := job.AddTable("param_error_vs_epsilon", "loss", "epsilon", "param_error")
	anchor := math.NaN()
	for i, eps := range cfg.Epsilons {
		for j, kind := range cfg.Losses {
			c := &cells[i][j]
			sweep.Add(string(kind), eps, c.gap.mean(), c.gap.se(), c.perr.mean(), c.perr.se(), c.shrink.mean(), c.cos.mean(), c.acc.mean())
			if kind != IPO {
				perr.Add(string(kind), eps, c.perr.mean())
			}
			if kind == RDPO && i == 0 {
				anchor = c.perr.mean() * (1 - 2*eps)
			}
		}
	}
	if !math.IsNaN(anchor) {
		for _, eps := range cfg.Epsilons {
			perr.Add("rdpo theory ∝ 1/(1−2ε)", eps, anchor/(1-2*eps))
		}
	}
	job.AddChart(kernel.Chart{Kind: "xy", ID: "gap_vs_epsilon", Title: fmt.Sprintf("sub-optimality gap J* − J(π) vs flip rate (n = %d)", cfg.Data.Pairs),
		Table: "sweep", X: "epsilon", Value: "gap", Group: "loss", XLabel: "flip rate ε", YLabel: "gap"})
	job.AddChart(kernel.Chart{Kind: "xy", ID: "param_error_vs_epsilon", Title: "‖θ − θ*‖/‖θ*‖ vs flip rate",
		Table: "param_error_vs_epsilon", X: "epsilon", Value: "param_error", Group: "loss", XLabel: "flip rate ε", YLabel: "relative parameter error"})

	if len(cfg.PairsGrid) == 0 {
		return nil
	}
	var kinds []Kind
	for _, k := range cfg.Losses {
		if k != IPO {
			kinds = append(kinds, k)
		}
	}
	grid := make([][]meanSE, len(kinds)) // [loss][n]
	for j := range grid {
		grid[j] = make([]meanSE, len(cfg.PairsGrid))
	}
	for rep := range cfg.Replicates {
		seed := cfg.Seed + uint64(rep)
		data, err := generate(cfg.GridEpsilon, seed)
		if err != nil {
			return err
		}
		nn := len(cfg.PairsGrid)
		rows := make([]sweepRow, len(kinds)*nn)
		err = parallel(len(rows), func(i int) (err error) {
			sub := *data
			sub.Pairs = data.Pairs[:cfg.PairsGrid[i%nn]]
			rows[i], err = run(&sub, kinds[i/nn], cfg.GridEpsilon, seed)
			return err
		})
		if err != nil {
			return err
		}
		for i, row := range rows {
			grid[i/nn][i%nn].add(row.paramError)
		}
	}
	curve := job.AddTable("param_error_vs_n", "loss", "n", "param_error", "param_error_se")
	anchor, anchorN := math.NaN(), 0
	for j, kind := range kinds {
		for k, n := range cfg.PairsGrid {
			m := &grid[j][k]
			curve.Add(string(kind), int64(n), m.mean(), m.se())
			if kind == RDPO && n > anchorN {
				anchor, anchorN = m.mean(), n
			}
		}
	}
	if !math.IsNaN(anchor) {
		for _, n := range cfg.PairsGrid {
			curve.Add("rdpo theory ∝ 1/√n", int64(n), anchor*math.Sqrt(float64(anchorN)/float64(n)), math.NaN())
		}
	}
	job.AddChart(kernel.Chart{Kind: "xy", ID: "param_error_vs_n", Title: fmt.Sprintf("‖θ − θ*‖/‖θ*‖ vs n at flip rate %v", cfg.GridEpsilon),
		Table: "param_error_vs_n", X: "n", Value: "param_error", Group: "loss", XLabel: "pairs n", YLabel: "relative parameter error", LogX: true})
	return nil
}

// parallel calls fn(0), …, fn(n−1) on up to GOMAXPROCS goroutines and
// returns the error of the lowest i that failed. A training step runs its
// ops one after another on one core, so independent trainings in parallel
// use a multi-core machine; every run writes only its own slot, so the
// results do not depend on the schedule.
func parallel(n int, fn func(i int) error) error {
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return firstErr(errs)
}

func firstErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Params returns cfg as the params of dpo.sweep (the seed included).
func (cfg SweepConfig) Params() map[string]any {
	floats := func(v []float64) string {
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = strconv.FormatFloat(x, 'g', -1, 64)
		}
		return strings.Join(s, ",")
	}
	ints := func(v []int) string {
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = strconv.Itoa(x)
		}
		return strings.Join(s, ",")
	}
	kinds := make([]string, len(cfg.Losses))
	for i, k := range cfg.Losses {
		kinds[i] = string(k)
	}
	ref := RefUniform
	if cfg.Data.RandomRef {
		ref = RefRandom
	}
	tr := cfg.Train
	dtype := tr.DType
	if dtype == "" {
		dtype = fit.DTypeAuto
	}
	return map[string]any{
		kernel.ParamSeed: int64(cfg.Seed),
		ParamDim:         cfg.Data.Dim, ParamWNorm: cfg.Data.WNorm, ParamCandidates: cfg.Data.Candidates,
		ParamRef: ref, ParamPairs: cfg.Data.Pairs, ParamTestPrompts: cfg.Data.TestPrompts,
		ParamEpsilons: floats(cfg.Epsilons), ParamLosses: strings.Join(kinds, ","), ParamPairsGrid: ints(cfg.PairsGrid),
		ParamGridEpsilon: cfg.GridEpsilon, ParamReplicates: cfg.Replicates,
		ParamBeta: tr.Beta, ParamPolicy: tr.Policy, fit.ParamOptimizer: tr.Optimizer,
		fit.ParamLearningRate: tr.LearningRate, fit.ParamSteps: tr.Steps, fit.ParamBatchSize: tr.BatchSize,
		ParamL2: tr.L2, ParamRadius: tr.Radius, ParamHidden: tr.Hidden, ParamLayers: tr.Layers,
		fit.ParamDType: dtype,
	}
}

// sweepConfigFromParams reads a SweepConfig from dpo.sweep's validated
// params (the seed is the job's).
func sweepConfigFromParams(ps kernel.Params) (SweepConfig, error) {
	cfg := SweepConfig{
		Data:        PrefsConfigFromParams(ps),
		Train:       ConfigFromParams(DPO, ps),
		GridEpsilon: ps.Float(ParamGridEpsilon),
		Replicates:  ps.Int(ParamReplicates),
	}
	for _, s := range splitList(ps.String(ParamEpsilons)) {
		eps, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return cfg, fmt.Errorf("dpo: sweep: %s: %q is not a number", ParamEpsilons, s)
		}
		cfg.Epsilons = append(cfg.Epsilons, eps)
	}
	for _, s := range splitList(ps.String(ParamLosses)) {
		k, err := parseKind(s)
		if err != nil {
			return cfg, err
		}
		cfg.Losses = append(cfg.Losses, k)
	}
	for _, s := range splitList(ps.String(ParamPairsGrid)) {
		n, err := strconv.Atoi(s)
		if err != nil {
			return cfg, fmt.Errorf("dpo: sweep: %s: %q is not an integer", ParamPairsGrid, s)
		}
		cfg.PairsGrid = append(cfg.PairsGrid, n)
	}
	return cfg, nil
}

// splitList splits a comma-separated list, trimming spaces; "" is empty.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// sweepPlugin is dpo.sweep: Sweep as a plugin, re-runnable by ID.
type sweepPlugin struct{}

var (
	_ kernel.Plugin = sweepPlugin{}
	_ kernel.Quick  = sweepPlugin{}
)

func (sweepPlugin) Info() kernel.Info {
	def := DefaultSweepConfig()
	lists := def.Params() // the defaults of the list params, as strings
	params := []kernel.Param{
		kernel.StringParam(ParamEpsilons, lists[ParamEpsilons].(string),
			"flip rates ε of the data (comma-separated, each in [0, 0.5)); cdpo and rdpo are told the true ε"),
		kernel.StringParam(ParamLosses, lists[ParamLosses].(string), "losses to compare (comma-separated: dpo, cdpo, ipo, rdpo)"),
		kernel.StringParam(ParamPairsGrid, lists[ParamPairsGrid].(string),
			"sample sizes n ≤ pairs of the parameter-error curve (comma-separated; empty: no curve)"),
		{Key: ParamGridEpsilon, Type: kernel.Float, Default: def.GridEpsilon, Range: kernel.Range{Min: 0, Max: 0.5, MaxExclusive: true},
			Doc: "flip rate of the parameter-error curve"},
		kernel.IntParam(ParamReplicates, int64(def.Replicates), 1, 1<<16, "data sets (seeds seed, seed+1, …) each number is averaged over"),
		{Key: ParamBeta, Type: kernel.Float, Default: def.Train.Beta, Range: kernel.Range{Min: 0, Max: math.Inf(1), MinExclusive: true},
			Doc: "KL weight β of the objective E r* − β KL(π‖π_ref)"},
		kernel.ChoiceParam(ParamPolicy, def.Train.Policy, []string{PolicyLogLinear, PolicyMLP}, "loglinear: π ∝ π_ref·exp(θ·φ); mlp: π ∝ π_ref·exp(f(φ)), f a tanh MLP (no param_error)"),
	}
	params = append(params, trainParams(def.Train.Steps, 0)...)
	params = append(params, modelParams()...)
	params = append(params, dtypeParam())
	params = append(params, testbedParams(def.Data.Pairs, false)...)
	return kernel.Info{
		ID:        "dpo.sweep",
		Precision: precision,
		Summary:   "compare dpo, cdpo, ipo and rdpo across flip rates and sample sizes on the planted testbed",
		Papers:    []kernel.Paper{Paper},
		Params:    params,
		Doc: `Trains every loss of losses at every flip rate of epsilons on the planted
testbed (the data's flip rate; cdpo and rdpo are told it), and, at flip
rate grid_epsilon, every loss but ipo at every n of pairs_grid (the first n
pairs of one data set, so the sets are nested), replicates times: replicate
r draws its data from seed + r, so within a replicate every ε shares w*,
the prompts and the clean labels. Each training evaluates once, after its
last step; independent trainings run in parallel (same numbers).

Tables (means over replicates, with standard errors):
  sweep: loss, epsilon, gap, gap_se, param_error, param_error_se,
    shrinkage (θ·θ*/‖θ*‖²), cosine (of θ and θ*), accuracy_clean
  param_error_vs_epsilon: loss, epsilon, param_error, with the line
    "rdpo theory ∝ 1/(1−2ε)" anchored at rDPO's error at the first ε
  param_error_vs_n: loss, n, param_error, param_error_se, with
    "rdpo theory ∝ 1/√n" anchored at rDPO's error at the largest n
Charts: gap and parameter error against ε, parameter error against n.`,
	}
}

// QuickParams: two flip rates, two losses, a two-point curve, one
// replicate of a few hundred pairs, 20 mini-batch steps.
func (sweepPlugin) QuickParams() map[string]any {
	return map[string]any{ParamPairs: 300, ParamTestPrompts: 50, ParamEpsilons: "0,0.3", ParamLosses: "dpo,rdpo",
		ParamPairsGrid: "150,300", ParamReplicates: 1, fit.ParamSteps: 20, fit.ParamBatchSize: 100}
}

// Run runs the sweep the params describe, from the job's seed.
func (sweepPlugin) Run(job *kernel.Job) error {
	cfg, err := sweepConfigFromParams(job.Params)
	if err != nil {
		return err
	}
	cfg.Seed = uint64(job.Seed)
	return runSweep(job, cfg)
}
