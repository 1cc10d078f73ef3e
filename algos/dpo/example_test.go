package dpo_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/alignlab/alignlab/algos/dpo"
	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// Train log-linear policies with DPO and with rDPO on planted data whose
// labels were flipped at rate 0.3 (rDPO is told that rate): DPO's θ shrinks
// toward π_ref, rDPO's does not.
func ExampleTrain() {
	data, err := datasets.GeneratePrefs(datasets.PrefsConfig{
		Dim: 4, WNorm: 2, Candidates: 8, Pairs: 10000, FlipRate: 0.3, TestPrompts: 200,
	}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		panic(err)
	}
	for _, kind := range []dpo.Kind{dpo.DPO, dpo.RDPO} {
		cfg := dpo.DefaultConfig(kind)
		if kind == dpo.RDPO {
			cfg.Epsilon = 0.3
		}
		cfg.Steps, cfg.EvalEvery = 300, 300
		fit, err := dpo.Train(context.Background(), data, cfg, rand.New(rand.NewPCG(1, 2)), nil)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%-4s ‖θ‖ = %.2f (‖θ*‖ = 2), param error %.2f, gap %.3f\n",
			kind, norm(fit.Theta), fit.Metrics.ParamError, fit.Metrics.Gap)
	}
	// Output:
	// dpo  ‖θ‖ = 0.61 (‖θ*‖ = 2), param error 0.70, gap 0.201
	// rdpo ‖θ‖ = 2.06 (‖θ*‖ = 2), param error 0.13, gap 0.006
}

// The plugins run through the kernel; without --data they generate the
// planted testbed. The blank import of algos/all (or of algos/dpo)
// registers them.
func Example_plugin() {
	res, err := kernel.Run(context.Background(), "dpo.rdpo", kernel.Options{Params: map[string]any{
		"pairs": 2000, "flip_rate": 0.2, "epsilon": 0.2, "steps": 200, "eval_every": 50,
	}})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(res.Series["gap"]), "points of the gap series")
	fmt.Println("theta table columns:", res.Tables["theta"].Columns)
	fmt.Printf("gap < J* − J(π_ref): %v\n", res.Final["gap"] < res.Series["gap"][0].Value)
	// Output:
	// 5 points of the gap series
	// theta table columns: [index value]
	// gap < J* − J(π_ref): true
}

// A small sweep: the gap of each loss at two flip rates.
func ExampleSweep() {
	cfg := dpo.DefaultSweepConfig()
	cfg.Data.Pairs, cfg.Data.TestPrompts = 3000, 200
	cfg.Epsilons = []float64{0, 0.3}
	cfg.Losses = []dpo.Kind{dpo.DPO, dpo.RDPO}
	cfg.PairsGrid, cfg.Replicates = nil, 1
	res, err := dpo.Sweep(context.Background(), cfg)
	if err != nil {
		panic(err)
	}
	t := res.Tables["sweep"]
	for i, loss := range t.Strings("loss") {
		fmt.Printf("%s ε=%.1f gap<0.05: %v\n", loss, t.Floats("epsilon")[i], t.Floats("gap")[i] < 0.05)
	}
	// Output:
	// dpo ε=0.0 gap<0.05: true
	// rdpo ε=0.0 gap<0.05: true
	// dpo ε=0.3 gap<0.05: false
	// rdpo ε=0.3 gap<0.05: true
}

func norm(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

// The MLP policy trains in float32 by default (Config.DType auto); the
// float64 run of the same seed starts from the same weights, draws the same
// mini-batches and ends at nearly the same loss.
func Example_dtype() {
	data, err := datasets.GeneratePrefs(datasets.PrefsConfig{
		Dim: 4, WNorm: 2, Candidates: 8, Pairs: 1000, FlipRate: 0.1, TestPrompts: 100,
	}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		panic(err)
	}
	loss := map[string]float64{}
	for _, dt := range []string{fit.DTypeAuto, fit.DTypeFloat64} {
		cfg := dpo.DefaultConfig(dpo.DPO)
		cfg.Policy, cfg.Hidden, cfg.BatchSize, cfg.LearningRate, cfg.Steps, cfg.EvalEvery = dpo.PolicyMLP, 8, 100, 0.01, 100, 100
		cfg.DType = dt
		f, err := dpo.Train(context.Background(), data, cfg, rand.New(rand.NewPCG(1, 2)), nil)
		if err != nil {
			panic(err)
		}
		fmt.Printf("dtype %s: %s\n", dt, f.Policy.Kind())
		loss[dt] = f.Metrics.Loss
	}
	fmt.Printf("loss %.4f, |float32 − float64| < 1e-5: %v\n", loss[fit.DTypeFloat64], math.Abs(loss[fit.DTypeAuto]-loss[fit.DTypeFloat64]) < 1e-5)
	// Output:
	// dtype auto: MLP policy, d = 4, 1 × 8 tanh units, float32 (dpo)
	// dtype float64: MLP policy, d = 4, 1 × 8 tanh units (dpo)
	// loss 0.5867, |float32 − float64| < 1e-5: true
}
