package replicate

import (
	"context"
	"testing"
)

// TestHelpSteer2Quick runs the quick replication at seed 1 (about 2 s) and
// checks that both claims are known differences, each with a reason, the
// paper's result beside ours and a measurement in its band: on this
// testbed neither scaled BT nor regression → scaled BT leads.
func TestHelpSteer2Quick(t *testing.T) {
	claims, results, err := runHelpSteer2(context.Background(), true, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"scaled_bt_lead", "regression_then_scaled_bt_lead"}
	if len(claims) != len(want) || len(results) != 1 || results[0].Plugin != "bt.reward_losses" {
		t.Fatalf("got %d claims, %d results; want %d claims and the bt.reward_losses result", len(claims), len(results), len(want))
	}
	for i, c := range claims {
		t.Logf("%s: %.4g, band %s", c.Name, c.Measured, c.Band)
		if c.Name != want[i] || c.Status != StatusKnownDifference || c.Why == "" || c.PaperText == "" || c.Source == "" {
			t.Errorf("claim %d: %s, status %s, why %q, paper %q; want %s, a known difference with a reason and the paper's result",
				i, c.Name, c.Status, c.Why, c.PaperText, want[i])
		}
		// The order this testbed shows is clear, not a tie: both leads are
		// negative by more than the repeats' standard error (≈ 0.004).
		if !(c.Measured < -0.01) {
			t.Errorf("%s: measured %v, want a clear deficit (< −0.01)", c.Name, c.Measured)
		}
	}
}
