package report

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/kernel"
)

// An xy chart with Low and High draws, per group, the line and its error
// bars from the named columns; a NaN interval (one seed: no standard
// error) draws no bar, also after a JSON round trip, where NaN becomes a
// string.
func TestChartsXYErrorBars(t *testing.T) {
	tb := kernel.NewTable("group", "x", "m", "m_low", "m_high")
	tb.Add("b=0", 1.0, 0.5, 0.4, 0.6)
	tb.Add("b=0", 2.0, 0.3, 0.25, 0.35)
	tb.Add("b=5", 1.0, 0.9, math.NaN(), math.NaN())
	tb.Add("b=5", 2, 0.7, 0.6, 0.8)
	res := &kernel.Result{Plugin: "toy.study", Tables: map[string]*kernel.Table{"study": tb},
		Charts: []kernel.Chart{{Kind: "xy", ID: "m", Table: "study", X: "x", Value: "m", Low: "m_low", High: "m_high", Group: "group"}}}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back kernel.Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]*kernel.Result{"result": res, "from JSON": &back} {
		charts, err := Charts(r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		o := decodeOption(t, charts[0])
		var got []string
		for _, s := range o.Series {
			got = append(got, s.Type+" "+s.Name+" "+jsonText(s.Data))
		}
		want := []string{
			"line b=0 [[1,0.5],[2,0.3]]",
			"line b=5 [[1,0.9],[2,0.7]]",
			"custom b=0 [[1,0.4,0.6],[2,0.25,0.35]]",
			"custom b=5 [[2,0.6,0.8]]",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: series\n%s\nwant\n%s", name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}

	for _, tc := range []struct {
		name  string
		chart kernel.Chart
		want  string
	}{
		{"half interval", kernel.Chart{Kind: "xy", ID: "h", Table: "study", X: "x", Value: "m", High: "m_high"}, "low and high name the error bars' columns together"},
		{"missing column", kernel.Chart{Kind: "xy", ID: "h", Table: "study", X: "x", Value: "m", Low: "m_lo", High: "m_high"}, `no column "m_lo" for low`},
		{"text column", kernel.Chart{Kind: "xy", ID: "h", Table: "study", X: "x", Value: "m", Low: "group", High: "m_high"}, `column "group" row 0`},
		{"scatter", kernel.Chart{Kind: "scatter", ID: "s", Table: "study", X: "x", Y: "m", Low: "m_low", High: "m_high"}, "error bars on xy charts, not on scatter"},
	} {
		r := *res
		r.Charts = []kernel.Chart{tc.chart}
		if _, err := Charts(&r); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}
