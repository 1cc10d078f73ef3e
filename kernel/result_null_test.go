package kernel_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/kernel"
	"github.com/alignlab/alignlab/kernel/report"
)

// A nil cell, a quantity that does not exist, is JSON null and reads back
// as nil; a NaN cell, a computation that gave NaN, stays the string "NaN".
// Charts draw a leaderboard whose interval cells are nil, before and after
// the round trip.
func TestTableNilCells(t *testing.T) {
	res := &kernel.Result{Plugin: "x.nulls", Params: map[string]any{}, Final: map[string]float64{"a": 1}, Tables: map[string]*kernel.Table{}}
	lb := kernel.NewTable("model", "rating", "ci_low", "ci_high")
	lb.Add("alpha", 1010.5, nil, nil)
	lb.Add("beta", 989.5, math.NaN(), 1000.0)
	res.Tables["leaderboard"] = lb
	res.Charts = []kernel.Chart{{Kind: "leaderboard", ID: "lb", Table: "leaderboard", Label: "model", Value: "rating", Low: "ci_low", High: "ci_high"}}

	b, err := res.JSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`["alpha", 1010.5, null, null]`, `["beta", 989.5, "NaN", 1000]`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("result JSON lacks row %s:\n%s", want, b)
		}
	}
	var back kernel.Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	bt := back.Tables["leaderboard"]
	if bt.Rows[0][2] != nil || bt.Rows[0][3] != nil || bt.Rows[1][2] != "NaN" {
		t.Errorf("decoded rows %v, want nil, nil and \"NaN\"", bt.Rows)
	}
	low := bt.Floats("ci_low")
	if !math.IsNaN(low[0]) || !math.IsNaN(low[1]) {
		t.Errorf("Floats(ci_low) = %v, want [NaN NaN]", low)
	}
	if got := bt.Strings("ci_high"); got[0] != "" || got[1] != "1000" {
		t.Errorf("Strings(ci_high) = %q, want [\"\" \"1000\"]", got)
	}
	again, err := back.JSON()
	if err != nil || string(again) != string(b) {
		t.Errorf("second encoding differs (%v):\n%s\nfirst:\n%s", err, again, b)
	}
	for name, r := range map[string]*kernel.Result{"in memory": res, "decoded": &back} {
		charts, err := report.Charts(r)
		if err != nil || len(charts) != 1 {
			t.Errorf("%s: charts %d, %v", name, len(charts), err)
		}
		if _, err := report.HTML(r); err != nil {
			t.Errorf("%s: report: %v", name, err)
		}
	}
}
