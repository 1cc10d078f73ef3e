package replicate

import (
	"context"
	"testing"
)

// TestNashQuick runs the nash replication at seed 1 (about 2 s): INPO,
// MWU and BT-RLHF reproduce; DNO-Prct's collapse is a known difference
// with its reason; every claim states the paper's result.
func TestNashQuick(t *testing.T) {
	claims, _, err := runNash(context.Background(), true, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name   string
		status Status
	}{
		{"inpo_last_iterate", StatusReproduced},
		{"mwu_last_iterate_cycles", StatusReproduced},
		{"mwu_average_converges", StatusReproduced},
		{"bt_rlhf_exploitable", StatusReproduced},
		{"dno_prct_exploitable", StatusKnownDifference},
	}
	if len(claims) != len(want) {
		t.Fatalf("got %d claims, want %d", len(claims), len(want))
	}
	for i, c := range claims {
		if c.Name != want[i].name || c.Status != want[i].status {
			t.Errorf("claim %d: %s %s (measured %v, band %s); want %s %s", i, c.Name, c.Status, c.Measured, c.Band, want[i].name, want[i].status)
		}
		if c.PaperString() == "—" || c.Source == "" || (c.Status == StatusKnownDifference) != (c.Why != "") {
			t.Errorf("%s: paper %q, source %q, why %q", c.Name, c.PaperString(), c.Source, c.Why)
		}
	}
}
