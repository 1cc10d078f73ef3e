package sb

import (
	"context"
	"fmt"
	"math"

	"github.com/alignlab/alignlab/kernel"
	"github.com/alignlab/alignlab/plots"
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

// PaperLearningRate returns the paper's Adam learning rate for ε on the
// benchmark: 1e-3, 3e-3 and 6e-2 for ε = 0.1, 1 and 10 (0 for other ε).
func PaperLearningRate(eps float64) float64 {
	switch eps {
	case 0.1:
		return 1e-3
	case 1:
		return 3e-3
	case 10:
		return 6e-2
	}
	return 0
}

// BenchmarkConfig configures Benchmark. Zero fields take the paper's
// setting: D ∈ {2, 16, 64}, ε ∈ {0.1, 1, 10}, 10000 steps at the paper's
// learning rates, 1000 test x with 1000 samples each.
type BenchmarkConfig struct {
	Dims     []int
	Epsilons []float64
	Steps    int
	// LearningRate maps ε to Adam's learning rate; nil means PaperLearningRate.
	LearningRate func(eps float64) float64
	TestPoints   int
	SamplesPerX  int
	Seed         int64
	// Progress, if set, receives each finished row (in the table's column order).
	Progress func(row []any)
}

// BenchmarkColumns are the columns of Benchmark's table.
var BenchmarkColumns = []string{"dim", "epsilon", "steps", "learning_rate",
	FinalCBW, FinalCBWExact, FinalCBWFloor, FinalCBWIndep, "paper_lightsb", "seconds"}

// Benchmark runs sb.light on the eot_mixture pair of every (D, ε) cell and
// tabulates cBW₂²-UVP (from samples, exact, the noise floor and the
// independent plan) next to the paper's LightSB number (NaN where the
// paper has none) and the wall time of the run.
func Benchmark(ctx context.Context, cfg BenchmarkConfig) (*kernel.Table, error) {
	if len(cfg.Dims) == 0 {
		cfg.Dims = []int{2, 16, 64}
	}
	if len(cfg.Epsilons) == 0 {
		cfg.Epsilons = []float64{0.1, 1, 10}
	}
	if cfg.Steps == 0 {
		cfg.Steps = 10000
	}
	if cfg.LearningRate == nil {
		cfg.LearningRate = PaperLearningRate
	}
	if cfg.TestPoints == 0 {
		cfg.TestPoints = DefaultTestPoints
	}
	if cfg.SamplesPerX == 0 {
		cfg.SamplesPerX = DefaultSamplesPerX
	}
	if cfg.Seed == 0 {
		cfg.Seed = kernel.DefaultSeed
	}
	t := kernel.NewTable(BenchmarkColumns...)
	for _, d := range cfg.Dims {
		for _, eps := range cfg.Epsilons {
			lr := cfg.LearningRate(eps)
			if !(lr > 0) {
				return nil, fmt.Errorf("sb: benchmark: no learning rate for ε = %v", eps)
			}
			res, err := kernel.Run(ctx, "sb.light", kernel.Options{Params: map[string]any{
				ParamSource: SourceEOTMixture, ParamDim: d, ParamEpsilon: eps, ParamSteps: cfg.Steps,
				ParamLearningRate: lr, ParamTestPoints: cfg.TestPoints, ParamSamplesPerX: cfg.SamplesPerX,
				ParamPlotSamples: 0, ParamTrajectories: 0, ParamEvalEvery: max(cfg.Steps/100, 1), kernel.ParamSeed: cfg.Seed,
			}})
			if err != nil {
				return nil, fmt.Errorf("sb: benchmark D=%d ε=%v: %w", d, eps, err)
			}
			paper, ok := PaperCBW2UVP(d, eps)
			if !ok {
				paper = math.NaN()
			}
			row := []any{d, eps, cfg.Steps, lr, res.Final[FinalCBW], res.Final[FinalCBWExact],
				res.Final[FinalCBWFloor], res.Final[FinalCBWIndep], paper, res.Timing.WallSeconds}
			t.Add(row...)
			if cfg.Progress != nil {
				cfg.Progress(t.Rows[len(t.Rows)-1])
			}
		}
	}
	return t, nil
}

// ReducedBenchmarkConfig is the benchmark cut to run in about half a minute
// on 2 cores (the notebook's): D ∈ {2, 16}, 2000 steps instead of 10000,
// 200 test x, and learning rates chosen for the shorter run (0.01 for
// ε ≤ 0.1, else 0.003; measured on a 2000-step grid over {0.003, 0.01,
// 0.03}) instead of the paper's 10k-step ones.
func ReducedBenchmarkConfig() BenchmarkConfig {
	return BenchmarkConfig{
		Dims: []int{2, 16}, Epsilons: []float64{0.1, 1, 10}, Steps: 2000,
		LearningRate: func(eps float64) float64 {
			if eps <= 0.1 {
				return 0.01
			}
			return 0.003
		},
		TestPoints: 200, SamplesPerX: 1000,
	}
}

// BenchmarkChart draws a Benchmark table as grouped bars per (D, ε) cell:
// the paper's LightSB value, ours from samples (the paper's protocol), ours
// from the exact plan moments, and the noise floor of the sampled metric.
// The axis is linear: ECharts draws bars on a log axis from 1, which would
// turn values below 1 % into bars hanging downwards.
func BenchmarkChart(id string, t *kernel.Table) *plots.Chart {
	dims, eps := t.Floats("dim"), t.Floats("epsilon")
	cats := make([]string, len(dims))
	for i := range dims {
		cats[i] = fmt.Sprintf("D=%g ε=%g", dims[i], eps[i])
	}
	series := []plots.BarSeries{
		{Name: "paper (LightSB)", Values: t.Floats("paper_lightsb")},
		{Name: "ours, sampled", Values: t.Floats(FinalCBW)},
		{Name: "ours, exact moments", Values: t.Floats(FinalCBWExact)},
		{Name: "noise floor of sampled", Values: t.Floats(FinalCBWFloor)},
	}
	return plots.Bar(id, "cBW₂²-UVP (%) on eot_mixture pairs", cats, series, plots.Axes{XLabel: "cell", YLabel: "cBW₂²-UVP, %"})
}
