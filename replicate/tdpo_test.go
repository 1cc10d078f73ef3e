package replicate

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/alignlab/alignlab/algos/tdpo"
	"github.com/alignlab/alignlab/kernel"
)

// TestTDPOQuick runs the quick replication at seed 1 (about 10–15 s on 2
// cores: four GRU tasks fitted by SFT, three 300-step runs and a small
// frontier sweep) and checks that every claim holds with the status it is
// written with: the two known differences check what this testbed shows
// where it differs from the paper, and say why.
func TestTDPOQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("the quick tdpo replication takes ~15 s; run without -short")
	}
	claims, results, err := runTDPO(context.Background(), true, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name   string
		status Status
	}{
		{"tdpo2_seqkl_chosen", StatusReproduced},
		{"tdpo2_seqkl_rejected", StatusReproduced},
		{"tdpo1_seqkl_tracks_dpo", StatusKnownDifference},
		{"frontier_no_loss", StatusReproduced},
		{"frontier_gain_share", StatusKnownDifference},
	}
	if len(claims) != len(want) {
		t.Fatalf("got %d claims, want %d", len(claims), len(want))
	}
	for i, c := range claims {
		if c.Name != want[i].name || c.Status != want[i].status {
			t.Errorf("claim %d is %q, %s; want %q, %s (measured %v, band %s)", i, c.Name, c.Status, want[i].name, want[i].status, c.Measured, c.Band)
		}
		if c.Source == "" || c.PaperString() == "—" {
			t.Errorf("%s: source %q, paper's value %q; want both", c.Name, c.Source, c.PaperString())
		}
		if (c.Status == StatusKnownDifference) != (c.Why != "") {
			t.Errorf("%s: status %s with why %q", c.Name, c.Status, c.Why)
		}
	}
	plugins := []string{tdpo.IDDPO, tdpo.IDTDPO1, tdpo.IDTDPO2, tdpo.IDFrontier}
	if len(results) != len(plugins) {
		t.Fatalf("got %d results, want %d", len(results), len(plugins))
	}
	for i, r := range results {
		if r.Plugin != plugins[i] || r.Seed != 1 {
			t.Errorf("result %d: %s seed %d, want %s seed 1", i, r.Plugin, r.Seed, plugins[i])
		}
	}
}

// atKLResult builds a tdpo.frontier-like result whose at_kl table
// holds the given rewards per method at KL 0.1 and 0.25.
func atKLResult(rewards map[string][2]float64) *kernel.Result {
	t := kernel.NewTable("method", "kl", "reward")
	for _, m := range []string{tdpo.MethodOptimal, "dpo", "tdpo2 α=0.5"} {
		if r, ok := rewards[m]; ok {
			t.Add(m, 0.1, r[0])
			t.Add(m, 0.25, r[1])
		}
	}
	return &kernel.Result{Plugin: tdpo.IDFrontier, Tables: map[string]*kernel.Table{tdpo.TableAtKL: t}}
}

// TestFrontierGain checks the frontier claims' arithmetic on hand-made
// frontiers: the worst difference and the pooled share of DPO's gap to the
// optimum, Σ(TDPO2 − DPO)/Σ(R* − DPO).
func TestFrontierGain(t *testing.T) {
	const tol = 1e-12
	nan := math.NaN()
	for _, tc := range []struct {
		name           string
		opt, dpo, tdpo [2]float64
		minDiff, share float64
	}{
		{"no gain", [2]float64{1.5, 1.8}, [2]float64{1.4, 1.7}, [2]float64{1.4, 1.7}, 0, 0},
		{"on the optimum", [2]float64{1.5, 1.8}, [2]float64{1.4, 1.7}, [2]float64{1.5, 1.8}, 0.1, 1},
		{"small gain, one loss", [2]float64{1.5, 1.8}, [2]float64{1.45, 1.65}, [2]float64{1.44, 1.75}, -0.01, 0.09 / 0.2},
		{"TDPO2 never reaches a KL", [2]float64{1.5, 1.8}, [2]float64{1.4, 1.7}, [2]float64{1.45, nan}, nan, nan},
		{"DPO on the optimum: no room", [2]float64{1.5, 1.8}, [2]float64{1.5, 1.8}, [2]float64{1.5, 1.79}, -0.01, nan},
	} {
		res := atKLResult(map[string][2]float64{tdpo.MethodOptimal: tc.opt, "dpo": tc.dpo, "tdpo2 α=0.5": tc.tdpo})
		g, err := frontierGain(res, "test", "tdpo2 α=0.5", []float64{0.1, 0.25})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, c := range []struct {
			what      string
			got, want float64
		}{{"min difference", g.minDiff(), tc.minDiff}, {"share", g.share(), tc.share}} {
			if math.IsNaN(c.want) != math.IsNaN(c.got) || math.Abs(c.got-c.want) > tol {
				t.Errorf("%s: %s: got %v, want %v", tc.name, c.what, c.got, c.want)
			}
		}
	}
	// A NaN fails the claims' bands instead of passing them.
	for _, b := range []Band{AtLeast(-tdpoLossTolerance), AtMost(tdpoVisibleGain)} {
		if b.Contains(nan) {
			t.Errorf("band %s contains NaN", b)
		}
	}
}

func TestFrontierGainMissingRow(t *testing.T) {
	res := atKLResult(map[string][2]float64{"dpo": {1, 2}, "tdpo2 α=0.5": {1, 2}}) // no optimum
	if _, err := frontierGain(res, "test", "tdpo2 α=0.5", []float64{0.1}); !errors.Is(err, errNoRow) {
		t.Errorf("no optimum rows: got %v, want errNoRow", err)
	}
	if _, err := frontierGain(&kernel.Result{Plugin: tdpo.IDFrontier}, "test", "tdpo2 α=0.5", []float64{0.1}); !errors.Is(err, errNoRow) {
		t.Errorf("no at_kl table: got %v, want errNoRow", err)
	}
}
