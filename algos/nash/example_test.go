package nash_test

import (
	"context"
	"fmt"

	"github.com/alignlab/alignlab/algos/nash"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// The LP equilibrium of rock–paper–scissors is uniform, and a pure strategy
// is exploited by the action that beats it.
func ExampleNash() {
	p := datasets.RockPaperScissors().Prompts[0].P
	pi, err := nash.Nash(p)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("Nash %.3f, exploitability %.3f\n", pi, nash.Exploitability(p, pi))
	fmt.Printf("pure rock: exploitability %.3f\n", nash.Exploitability(p, []float64{1, 0, 0}))
	// Output:
	// Nash [0.333 0.333 0.333], exploitability 0.000
	// pure rock: exploitability 0.500
}

// π*_τ sits between π_ref (large τ) and the Nash equilibrium (small τ).
func ExampleRegularizedNash() {
	g := datasets.CyclicGame(5, 3, 1)
	p, ref := g.Prompts[0].P, g.RefPolicy(0)
	for _, tau := range []float64{10, 0.1, 0.001} {
		pi, err := nash.RegularizedNash(p, ref, tau)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("τ=%-5g π*_τ %.3f exploitability %.4f\n", tau, pi, nash.Exploitability(p, pi))
	}
	// Output:
	// τ=10    π*_τ [0.201 0.201 0.200 0.199 0.199] exploitability 0.0538
	// τ=0.1   π*_τ [0.280 0.179 0.155 0.210 0.176] exploitability 0.0313
	// τ=0.001 π*_τ [0.369 0.214 0.000 0.415 0.002] exploitability 0.0002
}

// One exact INPO step moves π_t towards π*_τ; iterating converges to it.
func ExampleINPOTarget() {
	g := datasets.CyclicGame(5, 3, 1)
	p, ref := g.Prompts[0].P, g.RefPolicy(0)
	star, _ := nash.RegularizedNash(p, ref, 0.1)
	pi := ref
	for t := 1; t <= 100; t++ {
		pi = nash.INPOTarget(p, pi, ref, 1, 0.1)
		if t == 1 || t == 10 || t == 100 {
			fmt.Printf("t=%-3d ‖π_t − π*_τ‖₁ = %.1e\n", t, nash.L1(pi, star))
		}
	}
	// Output:
	// t=1   ‖π_t − π*_τ‖₁ = 1.7e-01
	// t=10  ‖π_t − π*_τ‖₁ = 7.6e-02
	// t=100 ‖π_t − π*_τ‖₁ = 1.1e-04
}

// nash.compare runs every method on one game; its summary table holds the
// final exploitability of each.
func Example_compare() {
	res, err := kernel.Run(context.Background(), nash.IDCompare, kernel.Options{Params: map[string]any{
		nash.ParamIterations: 100, kernel.ParamSeed: 1,
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	sum := res.Tables[nash.TableSummary]
	e := sum.Floats(nash.MetricExploitability)
	for i, m := range sum.Strings("method") {
		switch m {
		case nash.MethodINPOExact, nash.MethodMWU, nash.MethodMWUAverage, nash.MethodBTRLHF:
			fmt.Printf("%-10s %.3f\n", m, e[i])
		}
	}
	// Output:
	// inpo_exact 0.031
	// mwu        0.273
	// mwu_avg    0.016
	// bt_rlhf    0.253
}
