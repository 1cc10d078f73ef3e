package bt_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/alignlab/alignlab/algos/bt"
	"github.com/alignlab/alignlab/datasets"
)

// The fit agrees with a general-purpose optimizer (scipy.optimize.minimize
// on the same log-likelihood gives θ = 0.2121, −0.1645, −0.0476).
func ExampleFitPlackettLuce() {
	r := &datasets.Rankings{Kind: datasets.RankingItems, Items: []string{"a", "b", "c"},
		Lists: [][]int{{0, 1, 2}, {0, 2, 1}, {1, 0}, {2, 1, 0}, {0, 1}}}
	fit, err := bt.FitPlackettLuce(r, nil)
	if err != nil {
		panic(err)
	}
	for i, it := range fit.Items {
		fmt.Printf("%s θ = %+.3f\n", it, fit.Theta[i])
	}
	fmt.Printf("log-likelihood %.4f, converged %v\n", fit.LogLikelihood, fit.Converged)
	// Output:
	// a θ = +0.212
	// b θ = -0.165
	// c θ = -0.048
	// log-likelihood -6.6674, converged true
}

// Full rank breaking: a ranking of 3 items is 3 battles.
func ExampleBreakRankings() {
	r := &datasets.Rankings{Kind: datasets.RankingItems, Items: []string{"a", "b", "c"}, Lists: [][]int{{2, 0, 1}}}
	for _, p := range bt.BreakRankings(r).Pairs {
		fmt.Printf("%s vs %s: %d–%d\n", r.Items[p.A], r.Items[p.B], p.WinsA, p.WinsB)
	}
	// Output:
	// a vs b: 1–0
	// a vs c: 0–1
	// b vs c: 0–1
}

// PRO's loss of one list of three candidates ranked by rewards 3, 1, 0, at
// policy scores s = log π: with the dynamic temperature, and with T = 1
// (the Plackett–Luce negative log-likelihood). By hand, the first is
// log(e^{−1.5} + e^{−2.4} + e^{−6}) + 1.5 + log(e^{−1.2} + e^{−2}) + 1.2.
func ExamplePROLossFloat64() {
	s := []float64{-0.5, -1.2, -2.0}
	rewards := []float64{3, 1, 0}
	fmt.Printf("dynamic  %.4f\n", bt.PROLossFloat64(s, bt.PROTemperatures(3, rewards, bt.TemperatureDynamic)))
	fmt.Printf("constant %.4f\n", bt.PROLossFloat64(s, bt.PROTemperatures(3, nil, bt.TemperatureConstant)))
	// Output:
	// dynamic  0.7201
	// constant 0.9133
}

func ExampleCompareLeaderboards() {
	a := &bt.Leaderboard{Name: "arena", Models: []string{"m1", "m2", "m3", "m4"}, Scores: []float64{1200, 1150, 1100, 1000}}
	b := &bt.Leaderboard{Name: "judge", Models: []string{"m1", "m2", "m3", "m4"}, Scores: []float64{8.9, 7.2, 7.5, 6.0}}
	ag, err := bt.CompareLeaderboards(a, b, 1000, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		panic(err)
	}
	fmt.Printf("τ-b %.3f, ρ %.2f; bootstrap of the %s\n", ag.Tau, ag.Rho, ag.Bootstrap)
	// Output:
	// τ-b 0.667, ρ 0.80; bootstrap of the models
}

// Plackett–Luce against Bradley–Terry on the full rank breaking, for
// rankings of 6 of 8 items: both recover the planted strengths, more
// closely with more rankings (bt.pl_vs_pairwise runs this by ID).
func ExamplePLVersusPairwise() {
	t, err := bt.PLVersusPairwise(datasets.PLConfig{Items: 8, Length: 6, Spread: 1}, []int{100, 800}, 3, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		panic(err)
	}
	for _, row := range t.Rows {
		fmt.Printf("%-13s %3d rankings: RMSE %.3f\n", row[0], row[1], row[2])
	}
	// Output:
	// plackett_luce 100 rankings: RMSE 0.108
	// pairwise      100 rankings: RMSE 0.125
	// plackett_luce 800 rankings: RMSE 0.042
	// pairwise      800 rankings: RMSE 0.055
}
