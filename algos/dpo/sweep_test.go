package dpo

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/alignlab/alignlab/kernel"
	"github.com/alignlab/alignlab/kernel/report"
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
	if _, err := report.Charts(res); err != nil {
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

// The sweep is the registered plugin dpo.sweep: its defaults are
// DefaultSweepConfig, a config survives the trip through its params, and
// kernel.Run by ID gives the result Sweep gives.
func TestSweepPlugin(t *testing.T) {
	p, err := kernel.Lookup("dpo.sweep")
	if err != nil {
		t.Fatal(err)
	}
	// Fields the sweep does not read: the data's flip rate (each ε replaces
	// it) and the evaluation cadence (once, at the end).
	unread := func(c SweepConfig) SweepConfig {
		c.Data.FlipRate, c.Train.EvalEvery = 0, 0
		return c
	}
	for name, raw := range map[string]map[string]any{
		"defaults": nil,
		"small":    smallSweep().Params(),
	} {
		ps, err := kernel.Validate(p.Info(), raw)
		if err != nil {
			t.Fatal(err)
		}
		got, err := sweepConfigFromParams(ps)
		if err != nil {
			t.Fatal(err)
		}
		got.Seed = uint64(ps.Int64(kernel.ParamSeed))
		want := DefaultSweepConfig()
		if raw != nil {
			want = smallSweep()
		}
		if got, want := unread(got), unread(want); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: params read back as %+v, want %+v", name, got, want)
		}
	}

	cfg := smallSweep()
	cfg.Epsilons, cfg.Losses, cfg.PairsGrid, cfg.Replicates = []float64{0.2}, []Kind{RDPO}, []int{1000}, 1
	res, err := Sweep(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	byID, err := kernel.Run(context.Background(), "dpo.sweep", kernel.Options{Params: map[string]any{
		ParamPairs: "2000", ParamTestPrompts: "100", ParamEpsilons: "0.2", ParamLosses: "rdpo", ParamPairsGrid: "1000",
		ParamReplicates: "1", "steps": "100",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Plugin != "dpo.sweep" || byID.Plugin != "dpo.sweep" {
		t.Errorf("plugins %q and %q, want dpo.sweep", res.Plugin, byID.Plugin)
	}
	for _, name := range []string{"sweep", "param_error_vs_epsilon", "param_error_vs_n"} {
		// %v prints every float exactly; DeepEqual would fail on the NaN
		// standard errors of one replicate.
		if a, b := fmt.Sprint(res.Tables[name]), fmt.Sprint(byID.Tables[name]); a != b {
			t.Errorf("table %s: Sweep gave %v, kernel.Run %v", name, a, b)
		}
	}

	for key, val := range map[string]string{
		ParamLosses:    "dpo,kto",
		ParamEpsilons:  "0,x",
		ParamPairsGrid: "1.5",
	} {
		_, err := kernel.Run(context.Background(), "dpo.sweep", kernel.Options{Params: map[string]any{key: val}})
		if err == nil {
			t.Errorf("%s = %q: no error", key, val)
		}
	}
}
