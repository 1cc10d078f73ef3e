package sb_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/alignlab/alignlab/algos/sb"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

func ExampleModel_PlanMean() {
	// Two components in 1-D with ε = 1: w_k(x) ∝ α_k exp((s_k x² + 2 r_k x)/2).
	m := &sb.Model{Epsilon: 1, LogAlpha: []float64{0, 0}, R: [][]float64{{-1}, {1}}, LogS: [][]float64{{0}, {0}}}
	// At x = 0 both weights are ½, so E[y|x] = ½(−1) + ½(1) = 0.
	fmt.Printf("%.3f %.3f\n", m.PlanWeights([]float64{0}), m.PlanMean([]float64{0}))
	// At x = 1 the weights are ∝ e^{-1/2}, e^{3/2}: E[y|x] = Σ w_k (r_k + s_k x).
	fmt.Printf("%.3f %.3f\n", m.PlanWeights([]float64{1}), m.PlanMean([]float64{1}))
	// Output:
	// [0.500 0.500] [0.000]
	// [0.119 0.881] [1.762]
}

func ExampleHalfBW2() {
	// ½BW₂² between N(0, diag(4, 1)) and N((0, 1), diag(1, 9)):
	// ½‖Δm‖² + ½Σ(√a − √b)² = ½ + ½(1 + 4).
	fmt.Println(sb.HalfBW2([]float64{0, 0}, []float64{4, 0, 0, 1}, []float64{0, 1}, []float64{1, 0, 0, 9}))
	// Output: 3
}

func ExampleFit() {
	r := rand.New(rand.NewPCG(1, 1))
	pair, err := datasets.GenerateEOT(datasets.EOTGaussianConfig(2, 1), r)
	if err != nil {
		panic(err)
	}
	target := sb.SamplerFunc(func(n int, r *rand.Rand) [][]float64 { y, _ := pair.SampleTarget(n, r); return y })
	cfg := sb.DefaultConfig()
	cfg.K, cfg.Epsilon, cfg.Steps, cfg.LearningRate = 5, 1, 500, 0.02
	m, err := sb.Fit(context.Background(), sb.SamplerFunc(pair.SampleSource), target, cfg, r, nil)
	if err != nil {
		panic(err)
	}
	res, err := sb.EvaluateCBW(m, pair, sb.Eval{TestPoints: 100, SamplesPerX: 500}, r)
	if err != nil {
		panic(err)
	}
	fmt.Println("cBW₂²-UVP below 1%:", res.Exact < 1, "independent plan above 10%:", res.Independent > 10)
	// Output: cBW₂²-UVP below 1%: true independent plan above 10%: true
}

func Example_plugin() {
	res, err := kernel.Run(context.Background(), "sb.light", kernel.Options{Params: map[string]any{
		sb.ParamSource: sb.SourceSwissRoll, sb.ParamSteps: 100, sb.ParamPlotSamples: 50, sb.ParamTrajectories: 2,
	}})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.TableNames(), len(res.Charts))
	// Output: [parameters samples trajectories] 3
}

func ExampleDefaultLearningRateFor() {
	// The paper's rates at its three ε, and between them the geometric
	// interpolation (linear in log lr against log ε).
	for _, eps := range []float64{0.1, 1, 10, 3} {
		fmt.Printf("ε = %g: %.4g\n", eps, sb.DefaultLearningRateFor(eps))
	}
	// Output:
	// ε = 0.1: 0.001
	// ε = 1: 0.003
	// ε = 10: 0.06
	// ε = 3: 0.01253
}

func ExampleFullBenchmarkStudy() {
	s := sb.FullBenchmarkStudy()
	cells := 1
	for _, ax := range s.Grid {
		cells *= len(ax.Values)
		fmt.Println(ax.Keys, ax.Values)
	}
	fmt.Println(cells, "cells ×", len(s.Seeds), "seeds at", s.Params[sb.ParamSteps], "steps")
	// Output:
	// [dim] [[2] [16] [64]]
	// [epsilon] [[0.1] [1] [10]]
	// 9 cells × 5 seeds at 10000 steps
}
