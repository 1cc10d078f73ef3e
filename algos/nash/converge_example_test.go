package nash_test

import (
	"fmt"

	"github.com/alignlab/alignlab/algos/nash"
	"github.com/alignlab/alignlab/datasets"
)

// The step size of exact INPO on the default cyclic game: κ = 1 is stable
// at τ = 0.1 but not at τ = 0.01, where κ must stay below about 0.4.
func ExampleINPOStabilityOf() {
	g := datasets.CyclicGame(5, 3, 1)
	p, ref := g.Prompts[0].P, g.RefPolicy(0)
	for _, tau := range []float64{0.1, 0.01} {
		star, err := nash.RegularizedNash(p, ref, tau)
		if err != nil {
			fmt.Println(err)
			return
		}
		s, err := nash.INPOStabilityOf(p, star, 1, tau)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("τ = %-4g κ = 1: ρ = %.4f, stable for κ < %.3f (fastest κ = %.3f, ρ = %.5f)\n", tau, s.Rate, s.KappaMax, s.KappaBest, s.BestRate)
	}
	// Output:
	// τ = 0.1  κ = 1: ρ = 0.9322, stable for κ < 2.897 (fastest κ = 1.449, ρ = 0.92474)
	// τ = 0.01 κ = 1: ρ = 1.0150, stable for κ < 0.397 (fastest κ = 0.199, ρ = 0.99901)
}
