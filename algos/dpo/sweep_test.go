package dpo

import (
	"bytes"
	"context"
	"math"
	"testing"

	"github.com/alignlab/alignlab/kernel"
)

func smallSweep() SweepConfig {
	cfg := DefaultSweepConfig()
	cfg.Data.Pairs, cfg.Data.TestPrompts = 2000, 100
	cfg.Epsilons = []float64{0, 0.3}
	cfg.PairsGrid = []int{500, 2000}
	cfg.Replicates = 2
	cfg.Train.Steps, cfg.Train.EvalEvery = 100, 100
	return cfg
}

func TestSweep(t *testing.T) {
	cfg := smallSweep()
	res, err := Sweep(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	sw := res.Tables["sweep"]
	if got, want := len(sw.Rows), len(cfg.Epsilons)*len(cfg.Losses); got != want {
		t.Fatalf("sweep has %d rows, want %d", got, want)
	}
	// At ε = 0 the logistic losses are the same function: same numbers.
	gaps := sw.Floats("gap")
	for i, loss := range sw.Strings("loss") {
		if (loss == "cdpo" || loss == "rdpo") && sw.Floats("epsilon")[i] == 0 && gaps[i] != gaps[0] {
			t.Errorf("%s at ε = 0: gap %v, want DPO's %v", loss, gaps[i], gaps[0])
		}
	}
	// The theory lines are anchored where documented.
	pe := res.Tables["param_error_vs_epsilon"]
	if n := len(pe.Rows); n != 3*len(cfg.Epsilons)+len(cfg.Epsilons) {
		t.Errorf("param_error_vs_epsilon has %d rows", n)
	}
	last := len(pe.Rows) - 1
	if got, want := pe.Floats("param_error")[last], pe.Floats("param_error")[2]/(1-2*0.3); math.Abs(got-want) > 1e-12 {
		t.Errorf("theory at ε = 0.3: got %v, want rDPO's ε = 0 error ÷ 0.4 = %v", got, want)
	}
	if _, err := kernel.Charts(res); err != nil {
		t.Errorf("charts: %v", err)
	}
	// Parallel training does not change the numbers.
	again, err := Sweep(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := res.CanonicalJSON()
	b, _ := again.CanonicalJSON()
	if !bytes.Equal(a, b) {
		t.Error("two sweeps with the same seed differ")
	}
}

func TestSweepRejects(t *testing.T) {
	cfg := smallSweep()
	cfg.PairsGrid = []int{5000}
	if _, err := Sweep(context.Background(), cfg); err == nil || err.Error() != "dpo: sweep: pairs grid value 5000 outside [1, 2000]" {
		t.Errorf("got %v", err)
	}
	cfg = smallSweep()
	cfg.Epsilons = []float64{0.5}
	if _, err := Sweep(context.Background(), cfg); err == nil || err.Error() != "dpo: sweep: epsilon must be in [0, 0.5), got 0.5" {
		t.Errorf("got %v", err)
	}
}
