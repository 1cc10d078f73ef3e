package dpo

import (
	"math/rand/v2"
	"testing"

	"github.com/alignlab/alignlab/algos/fit"
)

// BenchmarkStep times one full-batch Adam step of rDPO on the planted
// testbed (d = 8, 16 candidates): the log-linear policy at n = 20,000 and
// the MLP (32 tanh units) at n = 4,096, as in bench/dpo, in float64 (the
// MLP's step of before dtype; bench/dpo's default) and in float32 (auto's
// choice for the MLP).
func BenchmarkStep(b *testing.B) {
	for _, bc := range []struct {
		name   string
		policy string
		pairs  int
		dtype  string
	}{
		{"loglinear_n20000", PolicyLogLinear, 20000, fit.DTypeAuto},
		{"mlp_n4096", PolicyMLP, 4096, fit.DTypeFloat64},
		{"mlp_float32_n4096", PolicyMLP, 4096, fit.DTypeFloat32},
		{"loglinear_float32_n20000", PolicyLogLinear, 20000, fit.DTypeFloat32},
	} {
		b.Run(bc.name, func(b *testing.B) {
			data := planted(b, bc.pairs, 0.1, 1)
			cfg := DefaultConfig(RDPO)
			cfg.Policy, cfg.DType = bc.policy, bc.dtype
			t, err := NewTrainer(data, cfg, rand.New(rand.NewPCG(1, 2)))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := t.Step(); err != nil { // compiles the graph
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := t.Step(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
