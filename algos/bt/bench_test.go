package bt

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
)

// BenchmarkNewton times one full fit, dense and conjugate gradients, on
// generated arenas; bench/btratings times the plugin at 100, 1,000 and
// 10,000 models with millions of battles.
func BenchmarkNewton(b *testing.B) {
	for _, k := range []int{100, 300, 1000} {
		battles, _, err := datasets.GenerateArena(datasets.ArenaConfig{Models: k, Battles: 200 * k, TieRate: 0.2, Skew: 0.5, Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		c, err := datasets.AggregateBattles(battles)
		if err != nil {
			b.Fatal(err)
		}
		for _, sys := range []string{NewtonDense, NewtonCG} {
			b.Run(fmt.Sprintf("models=%d/%s", k, sys), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := FitNewton(c, &Settings{Prior: DefaultPrior, NewtonSystem: sys}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkBootstrap times 20 warm-started bootstrap fits on 1 and 2 workers.
func BenchmarkBootstrap(b *testing.B) {
	battles, _, err := datasets.GenerateArena(datasets.ArenaConfig{Models: 300, Battles: 60000, TieRate: 0.2, Skew: 0.5, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	c, err := datasets.AggregateBattles(battles)
	if err != nil {
		b.Fatal(err)
	}
	full, err := FitNewton(c, &Settings{Prior: DefaultPrior})
	if err != nil {
		b.Fatal(err)
	}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			for b.Loop() {
				err := Bootstrap(context.Background(), c, full, 20, rand.New(rand.NewPCG(1, 2)), SolverNewton,
					Settings{Prior: DefaultPrior}, workers, func(int, *Fit) error { return nil })
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRewardMLPStep times one bt.reward MLP training step (Adam,
// forward and backward of chosen and rejected, full batch) in float32, the
// MLP's default, and float64: at the plugin's default size (2,000 pairs,
// dim 16, 1×32 tanh) and a wider one (2,000 pairs, dim 256, 2×256 tanh).
func BenchmarkRewardMLPStep(b *testing.B) {
	for _, size := range []struct {
		name               string
		dim, hidden, layer int
	}{{"default", 16, 32, 1}, {"wide", 256, 256, 2}} {
		train, _, err := datasets.GenerateRewardPairs(datasets.RewardPairsConfig{Dim: size.dim, Pairs: 2000, TestPairs: 1, Scale: 2,
			Shape: datasets.RewardNonlinear}, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			b.Fatal(err)
		}
		for _, dt := range []string{fit.DTypeFloat32, fit.DTypeFloat64} {
			b.Run(fmt.Sprintf("%s/%s", size.name, dt), func(b *testing.B) {
				cfg := DefaultRewardConfig()
				cfg.Model, cfg.Hidden, cfg.Layers, cfg.DType = ModelMLP, size.hidden, size.layer, dt
				tr, err := NewRewardTrainer(train, cfg, LossBT, nil, rand.New(rand.NewPCG(2, 2)))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := tr.Step(); err != nil { // compiles the graph
					b.Fatal(err)
				}
				for b.Loop() {
					if _, err := tr.Step(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
