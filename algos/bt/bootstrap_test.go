package bt

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/alignlab/alignlab/datasets"
)

// Bootstrap fits a replicate on c's pairs with drawn weights; the fit is
// the solver's on Resample's counts from the same seed, bit for bit, for
// both solvers, every tie model, dense and conjugate-gradient Newton
// systems, and weighted cells.
func TestBootstrapReplicateIsResampleFit(t *testing.T) {
	sparse, _ := counts(t, datasets.ArenaConfig{Models: 12, Battles: 400, Seed: 5})
	for _, tc := range []struct {
		name string
		c    *datasets.ArenaCounts
	}{{"three", threeModels()}, {"weighted", weightedThree()}, {"sparse arena", sparse}} {
		for _, solver := range []string{SolverNewton, SolverMM} {
			for _, ties := range TieModels {
				for _, system := range []string{NewtonDense, NewtonCG} {
					if solver == SolverMM && system == NewtonCG {
						continue
					}
					s := Settings{Ties: ties, Prior: DefaultPrior, NewtonSystem: system}
					solve, _ := SolverByName(solver)
					full, err := solve(tc.c, &s)
					if err != nil {
						t.Fatal(err)
					}
					const rounds = 6
					seeds := rand.New(rand.NewPCG(11, 12))
					err = Bootstrap(context.Background(), tc.c, full, rounds, rand.New(rand.NewPCG(11, 12)), solver, s, 2, func(round int, f *Fit) error {
						rs := s
						rs.Init, rs.InitTie, rs.Tolerance, rs.ThetaOnly = full.Theta, full.TieParam, BootstrapTolerance, true
						want, err := solve(Resample(tc.c, rand.New(rand.NewPCG(seeds.Uint64(), replicateStream))), &rs)
						if err != nil {
							return err
						}
						for i := range want.Theta {
							if f.Theta[i] != want.Theta[i] || f.TieParam != want.TieParam || f.Prior != want.Prior || f.Iterations != want.Iterations {
								t.Fatalf("%s %s %s %s round %d: θ %v (tie %v, prior %v, %d iterations), Resample's fit θ %v (tie %v, prior %v, %d)",
									tc.name, solver, ties, system, round, f.Theta, f.TieParam, f.Prior, f.Iterations, want.Theta, want.TieParam, want.Prior, want.Iterations)
							}
						}
						if !math.IsNaN(f.LogLikelihood) || !math.IsNaN(f.GradNorm) {
							t.Errorf("replicate log-likelihood %v, gradient norm %v: want NaN (ThetaOnly)", f.LogLikelihood, f.GradNorm)
						}
						return nil
					})
					if err != nil {
						t.Fatalf("%s %s %s: %v", tc.name, solver, ties, err)
					}
				}
			}
		}
	}
	if err := Bootstrap(context.Background(), threeModels(), &Fit{Theta: make([]float64, 3)}, 1, rand.New(rand.NewPCG(1, 1)), "lbfgs", Settings{}, 1, nil); err == nil {
		t.Error("solver lbfgs: want an error")
	}
}

// CheckMLE's union–find fast path agrees with the reachability check on
// random sparse arenas, strongly connected or not.
func TestCheckMLEFastPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	connected, total := 0, 0
	for trial := 0; trial < 400; trial++ {
		k := 2 + rng.IntN(7)
		c := &datasets.ArenaCounts{Models: make([]string, k)}
		for i := range c.Models {
			c.Models[i] = string(rune('a' + i))
		}
		for a := 0; a < k; a++ {
			for b := a + 1; b < k; b++ {
				if rng.Float64() < 0.5 {
					continue
				}
				c.Pairs = append(c.Pairs, datasets.PairCounts{A: a, B: b, WinsA: int64(rng.IntN(2)), WinsB: int64(rng.IntN(2)), Ties: int64(rng.IntN(4) / 3)})
			}
		}
		var edges [][2]int
		for _, p := range c.Pairs {
			if p.WinsA+p.Ties > 0 {
				edges = append(edges, [2]int{p.A, p.B})
			}
			if p.WinsB+p.Ties > 0 {
				edges = append(edges, [2]int{p.B, p.A})
			}
		}
		slow := newBeatGraph(k, edges).check(c.Models)
		fast := CheckMLE(c)
		if (slow == nil) != (fast == nil) {
			t.Fatalf("%+v: CheckMLE %v, reachability %v", c.Pairs, fast, slow)
		}
		total++
		if fast == nil {
			connected++
		}
	}
	if connected < 40 || connected > total-40 {
		t.Errorf("%d of %d arenas strongly connected: the test wants both kinds", connected, total)
	}
}
