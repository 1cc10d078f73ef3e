package sb

import (
	"context"
	"fmt"
	"math"

	"github.com/alignlab/alignlab/kernel"
)

// PaperCBW2UVP returns LightSB's cBW₂²-UVP (%) on the benchmark's
// Gaussian-mixture pairs as the paper reports it (K = 50, 10k Adam steps),
// and whether the paper has that cell.
func PaperCBW2UVP(dim int, eps float64) (float64, bool) {
	table := map[int][3]float64{
		2:   {0.03, 0.05, 0.07},
		16:  {0.08, 0.09, 0.11},
		64:  {0.28, 0.24, 0.21},
		128: {0.60, 0.62, 0.37},
	}
	row, ok := table[dim]
	if !ok {
		return 0, false
	}
	switch eps {
	case 0.1:
		return row[0], true
	case 1:
		return row[1], true
	case 10:
		return row[2], true
	}
	return 0, false
}

// BenchmarkConfig configures Benchmark. Zero fields take the paper's
// setting: D ∈ {2, 16, 64}, ε ∈ {0.1, 1, 10}, 10,000 steps at the plugin's
// default learning rate (the paper's for each ε) and S init (the authors'
// 1), 1,000 test x with 1,000 samples each; and seeds 1, 2, 3.
type BenchmarkConfig struct {
	Dims     []int
	Epsilons []float64
	Steps    int
	// LearningRate maps ε to Adam's learning rate; nil leaves learning_rate
	// at the plugin's default 0, the paper's rate for ε
	// (DefaultLearningRateFor).
	LearningRate func(eps float64) float64
	TestPoints   int
	SamplesPerX  int
	// Seeds are the seeds of every cell; the table reports the mean and
	// standard error over them. Default 1, 2, 3.
	Seeds []int64
	// Params are further fixed params of every cell (s_init, rotated,
	// components, …); they override the benchmark's own.
	Params map[string]any
	// Progress, if set, is called after each run (one cell, one seed).
	Progress func(done, total int, c *kernel.Cell)
}

// DefaultBenchmarkSeeds are the seeds of a BenchmarkConfig without Seeds.
var DefaultBenchmarkSeeds = []int64{1, 2, 3}

// withDefaults fills the zero fields of c as BenchmarkConfig documents.
func (c BenchmarkConfig) withDefaults() BenchmarkConfig {
	if len(c.Dims) == 0 {
		c.Dims = []int{2, 16, 64}
	}
	if len(c.Epsilons) == 0 {
		c.Epsilons = []float64{0.1, 1, 10}
	}
	if c.Steps == 0 {
		c.Steps = 10000
	}
	if c.TestPoints == 0 {
		c.TestPoints = DefaultTestPoints
	}
	if c.SamplesPerX == 0 {
		c.SamplesPerX = DefaultSamplesPerX
	}
	if len(c.Seeds) == 0 {
		c.Seeds = DefaultBenchmarkSeeds
	}
	return c
}

// Study returns the benchmark as a kernel.Study of sb.light on the
// eot_mixture pair: the grid D × ε (or D × (ε, learning rate), the rate
// moving with ε, when LearningRate is set) × the seeds, with c's defaults
// filled in. It fails for an ε that LearningRate gives no rate > 0.
func (c BenchmarkConfig) Study() (kernel.Study, error) {
	c = c.withDefaults()
	dims := make([]any, len(c.Dims))
	for i, d := range c.Dims {
		dims[i] = d
	}
	var epsAxis kernel.Axis
	if c.LearningRate == nil {
		eps := make([]any, len(c.Epsilons))
		for i, e := range c.Epsilons {
			eps[i] = e
		}
		epsAxis = kernel.Vary(ParamEpsilon, eps...)
	} else {
		rates := make([][]any, len(c.Epsilons))
		for i, eps := range c.Epsilons {
			lr := c.LearningRate(eps)
			if !(lr > 0) {
				return kernel.Study{}, fmt.Errorf("sb: benchmark: no learning rate for ε = %v", eps)
			}
			rates[i] = []any{eps, lr}
		}
		epsAxis = kernel.Zip([]string{ParamEpsilon, ParamLearningRate}, rates...)
	}
	params := map[string]any{
		ParamSource: SourceEOTMixture, ParamSteps: c.Steps, ParamTestPoints: c.TestPoints, ParamSamplesPerX: c.SamplesPerX,
		ParamPlotSamples: 0, ParamTrajectories: 0, ParamEvalEvery: max(c.Steps/100, 1),
	}
	for k, v := range c.Params {
		params[k] = v
	}
	return kernel.Study{
		Plugin: "sb.light",
		Params: params,
		Grid:   []kernel.Axis{kernel.Vary(ParamDim, dims...), epsAxis},
		Seeds:  append([]int64(nil), c.Seeds...),
	}, nil
}

// FullBenchmarkCommand is FullBenchmarkStudy on the command line (DIR is
// the study's output folder; the study command can spread its cells over
// processes or a Slurm cluster).
const FullBenchmarkCommand = "alignlab study sb.light --grid dim=2,16,64 --grid epsilon=0.1,1,10 --seeds 1-5" +
	" --set source=eot_mixture --set steps=10000 --set test_points=1000 --set samples_per_x=1000" +
	" --set plot_samples=0 --set trajectories=0 --set eval_every=100 --out DIR"

// FullBenchmarkStudy is the full-size LightSB table as one study: sb.light
// on the eot_mixture pairs, D ∈ {2, 16, 64} × ε ∈ {0.1, 1, 10} × seeds
// 1–5, the paper's 10,000 Adam steps at the paper's learning rate for
// each ε (the plugin's default) from S init 1 (the authors' benchmark
// setting), 1,000 test x × 1,000 samples: 45 runs, about 15 minutes on 2
// cores one run at a time (a D = 64 run ≈ 40 s, D ≤ 16 6–14 s). FullBenchmarkCommand is the same study
// on the command line.
func FullBenchmarkStudy() kernel.Study {
	s, err := BenchmarkConfig{Seeds: []int64{1, 2, 3, 4, 5}}.Study()
	if err != nil {
		panic(err) // unreachable: without LearningRate, Study cannot fail
	}
	return s
}

// The tables and the chart of Benchmark's result.
const (
	BenchmarkTable     = "benchmark"      // BenchmarkColumns, one row per (D, ε) cell: mean and s.e. over the seeds
	BenchmarkRunsTable = "benchmark_runs" // BenchmarkRunColumns, one row per run (cell × seed)
	BenchmarkBarsTable = "benchmark_bars" // cell, kind, uvp: the chart's bars (means), four kinds per cell
	BenchmarkChartID   = "benchmark"      // grouped bars of BenchmarkBarsTable
)

// BenchmarkColumns are the columns of Benchmark's table: per cell the
// grid values and the effective learning rate, the number of runs, then
// for cBW₂²-UVP sampled, exact and its noise floor the mean over seeds and
// its standard error (_se); the worst seed's exact value (_max, where a
// stuck run shows); the independent plan's mean; the paper's LightSB
// value; and the mean wall time of a run in seconds.
var BenchmarkColumns = []string{"dim", "epsilon", "steps", "learning_rate", "runs",
	FinalCBW, FinalCBW + "_se", FinalCBWExact, FinalCBWExact + "_se", FinalCBWExact + "_max",
	FinalCBWFloor, FinalCBWFloor + "_se", FinalCBWIndep, "paper_lightsb", "seconds"}

// BenchmarkRunColumns are the columns of the per-run table.
var BenchmarkRunColumns = []string{"dim", "epsilon", "seed", FinalCBW, FinalCBWExact, FinalCBWFloor, FinalCBWIndep, FinalKL, "seconds"}

// benchmarkBars are the bar series of the chart: a column of the table and
// its legend name.
var benchmarkBars = []struct{ col, kind string }{
	{"paper_lightsb", "paper (LightSB)"}, {FinalCBW, "ours, sampled"},
	{FinalCBWExact, "ours, exact moments"}, {FinalCBWFloor, "noise floor of sampled"},
}

// Benchmark runs cfg.Study (sb.light on the eot_mixture pair of every
// (D, ε) cell and seed, each a normal kernel.Run) and returns a result
// with the table BenchmarkTable: per cell the mean ± standard error over
// the seeds of cBW₂²-UVP from samples, exact, and the noise floor (the
// true plan scored the same way), the worst seed's exact value, the
// independent plan, next to the paper's LightSB number (NaN where the
// paper has none); the table BenchmarkRunsTable of every run; the table
// BenchmarkBarsTable; and the bar chart BenchmarkChartID: per cell the
// paper's value, our sampled and exact means and the noise floor, on a
// linear axis (a log axis would draw values below 1 % as bars hanging
// down from 1). The pairs are drawn by datasets.GenerateEOT from each
// run's seed, in the benchmark's style but not its published parameters,
// so the comparison with the paper is in kind, not digit for digit. The
// study's summary stays as table "study". A failed run fails the
// benchmark.
func Benchmark(ctx context.Context, cfg BenchmarkConfig) (*kernel.Result, error) {
	cfg = cfg.withDefaults()
	study, err := cfg.Study()
	if err != nil {
		return nil, err
	}
	st, err := kernel.RunStudy(ctx, study, func(done, total int, c *kernel.Cell) {
		if cfg.Progress != nil {
			cfg.Progress(done, total, c)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("sb: benchmark: %w", err)
	}
	if failed := st.Failed(); len(failed) > 0 {
		c := failed[0]
		return nil, fmt.Errorf("sb: benchmark D=%v ε=%v seed %d: %s", c.Point[ParamDim], c.Point[ParamEpsilon], c.Seed, c.Err)
	}
	res := st.Result()
	res.Seed = cfg.Seeds[0]
	t := kernel.NewTable(BenchmarkColumns...)
	runs := kernel.NewTable(BenchmarkRunColumns...)
	bars := kernel.NewTable("cell", "kind", "uvp")
	n := len(cfg.Seeds)
	for i := 0; i+n <= len(st.Cells); i += n {
		row := benchmarkRow(st.Cells[i : i+n])
		t.Add(row...)
		for _, c := range st.Cells[i : i+n] {
			runs.Add(benchmarkRun(c)...)
		}
		cell := fmt.Sprintf("D=%d ε=%g", row[0], row[1])
		for _, b := range benchmarkBars {
			bars.Add(cell, b.kind, row[t.Col(b.col)])
		}
	}
	res.Tables[BenchmarkTable] = t
	res.Tables[BenchmarkRunsTable] = runs
	res.Tables[BenchmarkBarsTable] = bars
	// The study's charts (each metric against D) give way to the one the
	// paper's comparison needs.
	res.Charts = []kernel.Chart{{Kind: "bar", ID: BenchmarkChartID,
		Title: fmt.Sprintf("cBW₂²-UVP (%%) on generated eot_mixture pairs, mean of %d seeds", n),
		Table: BenchmarkBarsTable, X: "cell", Value: "uvp", Group: "kind", XLabel: "cell", YLabel: "cBW₂²-UVP, %"}}
	return res, nil
}

// cellLearningRate is the learning rate a run took: its param, or the
// paper's for its ε when the param is 0.
func cellLearningRate(p kernel.Params) float64 {
	if lr := p.Float(ParamLearningRate); lr > 0 {
		return lr
	}
	return DefaultLearningRateFor(p.Float(ParamEpsilon))
}

// benchmarkRow is the row of BenchmarkTable for the runs of one cell (all
// succeeded).
func benchmarkRow(cells []kernel.Cell) []any {
	first := cells[0].Result
	p := kernel.Params(first.Params)
	d, eps := p.Int64(ParamDim), p.Float(ParamEpsilon)
	paper, ok := PaperCBW2UVP(int(d), eps)
	if !ok {
		paper = math.NaN()
	}
	values := func(metric string) []float64 {
		vs := make([]float64, len(cells))
		for i, c := range cells {
			vs[i] = c.Result.Final[metric]
		}
		return vs
	}
	row := []any{d, eps, p.Int64(ParamSteps), cellLearningRate(p), int64(len(cells))}
	for _, m := range []string{FinalCBW, FinalCBWExact} {
		mean, se := kernel.MeanSE(values(m))
		row = append(row, mean, se)
	}
	worst := math.Inf(-1)
	for _, v := range values(FinalCBWExact) {
		if v > worst || math.IsNaN(v) {
			worst = v
		}
	}
	floor, floorSE := kernel.MeanSE(values(FinalCBWFloor))
	indep, _ := kernel.MeanSE(values(FinalCBWIndep))
	wall := make([]float64, len(cells))
	for i, c := range cells {
		wall[i] = runSeconds(c.Result)
	}
	sec, _ := kernel.MeanSE(wall)
	return append(row, worst, floor, floorSE, indep, paper, sec)
}

// benchmarkRun is the row of BenchmarkRunsTable for one run.
func benchmarkRun(c kernel.Cell) []any {
	p := kernel.Params(c.Result.Params)
	f := c.Result.Final
	return []any{p.Int64(ParamDim), p.Float(ParamEpsilon), c.Seed, f[FinalCBW], f[FinalCBWExact], f[FinalCBWFloor], f[FinalCBWIndep], f[FinalKL], runSeconds(c.Result)}
}

func runSeconds(res *kernel.Result) float64 {
	if res.Timing == nil {
		return math.NaN()
	}
	return res.Timing.WallSeconds
}

// ReducedBenchmarkConfig is the benchmark cut to run in half a minute on
// 2 cores (the notebook's, 18 runs): D ∈ {2, 16}, 2,000 steps instead of 10,000,
// 200 test x, seeds 1–3, S init 1 (the default), and learning rates for
// the shorter run: 3e-3 for ε ≤ 1, the paper's 6e-2 at ε = 10. Measured
// over seeds 1–3 at 2,000 steps (exact cBW₂²-UVP, mean, D = 2 / 16): at
// ε = 0.1 the paper's 1e-3 leaves 0.42 / 1.10 %, 3e-3 reaches 0.042 /
// 0.40 %, 1e-2 0.098 / 0.67 %; at ε = 1 3e-3 (the paper's) 0.039 /
// 0.069 %, 1e-2 0.090 / 0.21 %; at ε = 10 the paper's 6e-2 0.33 / 0.30 %,
// while 3e-3 and 1e-2 leave D = 16 at 101 % and 20 % (from S = 1 the
// plan must shrink S by ~20× at ε = 10, which small steps do not finish).
func ReducedBenchmarkConfig() BenchmarkConfig {
	return BenchmarkConfig{
		Dims: []int{2, 16}, Epsilons: []float64{0.1, 1, 10}, Steps: 2000,
		LearningRate: ReducedLearningRate,
		TestPoints:   200, SamplesPerX: 1000, Seeds: []int64{1, 2, 3},
	}
}

// ReducedLearningRate is ReducedBenchmarkConfig's learning rate for ε:
// 6e-2 (the paper's) for ε ≥ 10, else 3e-3.
func ReducedLearningRate(eps float64) float64 {
	if eps >= 10 {
		return 6e-2
	}
	return 3e-3
}
