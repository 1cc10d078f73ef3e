package bt_test

import (
	"fmt"

	"github.com/alignlab/alignlab/algos/bt"
)

// Two leaderboards of the same five models disagree on one adjacent pair.
func ExampleKendallTau() {
	arena := []float64{1250, 1190, 1130, 1100, 1020}
	judge := []float64{9.1, 8.7, 7.9, 8.0, 6.5}
	tau, err := bt.KendallTau(arena, judge)
	if err != nil {
		panic(err)
	}
	fmt.Printf("τ-b = %.2f (9 concordant pairs, 1 discordant, of 10)\n", tau)
	// Output:
	// τ-b = 0.80 (9 concordant pairs, 1 discordant, of 10)
}

func ExampleSpearmanRho() {
	arena := []float64{1250, 1190, 1130, 1100, 1020}
	judge := []float64{9.1, 8.7, 7.9, 8.0, 6.5}
	rho, err := bt.SpearmanRho(arena, judge)
	if err != nil {
		panic(err)
	}
	fmt.Printf("ρ = %.2f\n", rho)
	// Output:
	// ρ = 0.90
}
