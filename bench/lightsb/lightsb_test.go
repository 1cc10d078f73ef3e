package main

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/alignlab/alignlab/algos/sb"
	"github.com/alignlab/alignlab/datasets"
)

// BenchmarkStep times one LightSB Adam step (K = 50, batch 128) on the
// GoMLX Go backend, compilation excluded:
//
//	go test -run ^$ -bench Step ./bench/lightsb
func BenchmarkStep(b *testing.B) {
	for _, d := range []int{2, 64} {
		b.Run(fmt.Sprintf("D=%d", d), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, uint64(d)))
			x0 := datasets.StandardNormal(10*sb.DefaultBatchSize, d, r)
			x1 := datasets.StandardNormal(10*sb.DefaultBatchSize, d, r)
			init, err := sb.InitModel(1, x1[:sb.DefaultK], sb.DefaultSInit)
			if err != nil {
				b.Fatal(err)
			}
			cfg := sb.DefaultConfig()
			cfg.Epsilon = 1
			t, err := sb.NewTrainer(init, cfg)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := t.Step(batch(x0, 0, cfg.BatchSize), batch(x1, 0, cfg.BatchSize)); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				if _, err := t.Step(batch(x0, i, cfg.BatchSize), batch(x1, i, cfg.BatchSize)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestBatchCycles checks the minibatch indexing both sides share.
func TestBatchCycles(t *testing.T) {
	x := [][]float64{{0}, {1}, {2}, {3}}
	if got := batch(x, 3, 2); got[0][0] != 2 || got[1][0] != 3 {
		t.Errorf("batch 3 of 2 rows: got %v, want [[2] [3]]", got)
	}
}
