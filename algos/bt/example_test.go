package bt_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/alignlab/alignlab/algos/bt"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// Three models, each pair meeting 15 times; the maximum-likelihood strengths
// are γ = (4, 2, 1) (see TestThreeModelClosedForm for the derivation).
func threeModels() *datasets.ArenaCounts {
	return &datasets.ArenaCounts{
		Models: []string{"A", "B", "C"},
		Pairs: []datasets.PairCounts{
			{A: 0, B: 1, WinsA: 8, WinsB: 5, Ties: 2},
			{A: 0, B: 2, WinsA: 13, WinsB: 2},
			{A: 1, B: 2, WinsA: 9, WinsB: 6},
		},
	}
}

func ExampleFitNewton() {
	fit, err := bt.FitNewton(threeModels(), nil)
	if err != nil {
		panic(err)
	}
	for i, m := range fit.Models {
		fmt.Printf("%s θ = %+.4f\n", m, fit.Theta[i])
	}
	fmt.Printf("iterations %d, converged %v\n", fit.Iterations, fit.Converged)
	// Output:
	// A θ = +0.6931
	// B θ = +0.0000
	// C θ = -0.6931
	// iterations 5, converged true
}

func ExampleFitMM() {
	fit, err := bt.FitMM(threeModels(), &bt.Settings{Tolerance: 1e-12})
	if err != nil {
		panic(err)
	}
	// Elo scale, C pinned at 1000: A is 400·log10(4) above it.
	for i, r := range bt.Elo(fit.Theta, 2, 1000) {
		fmt.Printf("%s %.2f\n", fit.Models[i], r)
	}
	// Output:
	// A 1240.82
	// B 1120.41
	// C 1000.00
}

func ExampleFitNewton_ties() {
	battles, _, _ := datasets.GenerateArena(datasets.ArenaConfig{
		Models: 6, Battles: 30000, Ties: datasets.TiesRaoKupper, TieParam: 1.5, Seed: 1,
	})
	c, _ := datasets.AggregateBattles(battles)
	fit, _ := bt.FitNewton(c, &bt.Settings{Ties: bt.TiesRaoKupper})
	fmt.Printf("Rao–Kupper κ: planted 1.5, fitted %.2f\n", fit.TieParam)
	// Output:
	// Rao–Kupper κ: planted 1.5, fitted 1.51
}

func ExampleBootstrap() {
	battles, _, _ := datasets.GenerateArena(datasets.ArenaConfig{
		Names: []string{"big", "mid", "small"}, Theta: []float64{1, 0, -1}, Battles: 3000, Seed: 2,
	})
	c, _ := datasets.AggregateBattles(battles)
	full, _ := bt.FitNewton(c, nil)
	var ratings [][]float64
	_ = bt.Bootstrap(context.Background(), c, full, 200, rand.New(rand.NewPCG(1, 1)), bt.SolverNewton, bt.Settings{}, 0,
		func(round int, f *bt.Fit) error {
			ratings = append(ratings, bt.Elo(f.Theta, -1, 1000))
			return nil
		})
	for i, iv := range bt.Intervals(ratings) {
		fmt.Printf("%-5s 95%% CI width %.0f Elo\n", c.Models[i], iv.High-iv.Low)
	}
	// Output:
	// big   95% CI width 25 Elo
	// mid   95% CI width 24 Elo
	// small 95% CI width 27 Elo
}

// The plugin, as the CLI and notebooks run it: without --data it rates the
// embedded sample arena.
func Example_plugin() {
	res, err := kernel.Run(context.Background(), "bt.ratings", kernel.Options{
		Params: map[string]any{bt.ParamBootstrapRounds: 20, "seed": 1},
	})
	if err != nil {
		panic(err)
	}
	lb := res.Tables["leaderboard"]
	for _, row := range lb.Rows[:3] {
		fmt.Printf("%-14s %6.1f  [%6.1f, %6.1f]\n", row[0], row[1], row[2], row[3])
	}
	fmt.Println(res.Final["models"], "models,", res.Final["battles"], "battles")
	// Output:
	// ember-7b       1147.9  [1132.6, 1165.1]
	// juniper-1.5b   1087.3  [1060.6, 1103.2]
	// fjord-70b-chat 1033.7  [1020.2, 1044.7]
	// 10 models, 5000 battles
}
