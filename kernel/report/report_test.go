package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/alignlab/alignlab/kernel"
	"github.com/alignlab/alignlab/plots"
)

// reportResult is a hand-built result with one chart of every kind.
func reportResult() *kernel.Result {
	res := &kernel.Result{
		Plugin: "toy.report", Params: map[string]any{"seed": int64(3), "beta": 0.1, "loss": "bt <x>"},
		Seed: 3, Backend: "go",
		Provenance: kernel.Provenance{Module: "github.com/alignlab/alignlab", ModuleVersion: "(devel)", GoVersion: "go1.27.3",
			Deps: map[string]string{"gonum.org/v1/gonum": "v0.17.0", "github.com/gomlx/gomlx": "v0.28.16"}},
		Final: map[string]float64{"loss": 0.25, "accuracy": 0.875},
		Series: map[string][]kernel.Point{
			"loss":     {{Step: 1, Value: 0.7}, {Step: 2, Value: 0.5}, {Step: 3, Value: 0.25}},
			"accuracy": {{Step: 1, Value: 0.5}, {Step: 3, Value: 0.875}},
		},
		Tables: map[string]*kernel.Table{},
		Notes:  []string{"a note with <markup> & such"},
		Timing: &kernel.Timing{Started: "2026-11-29T00:00:00Z", WallSeconds: 1.5},
	}
	lb := kernel.NewTable("model", "elo", "lo", "hi")
	lb.Add("a", 1100.0, 1080.0, 1120.0)
	lb.Add("b <i>", 1000, 990, 1010)
	res.Tables["ratings"] = lb
	wr := kernel.NewTable("row", "col", "p")
	wr.Add("a", "b", 0.75)
	wr.Add("b", "a", 0.25)
	wr.Add("a", "c", 0.9)
	res.Tables["winrate"] = wr
	acc := kernel.NewTable("dataset", "method", "acc", "eps")
	acc.Add("hh", "dpo", 0.6, 0.0)
	acc.Add("hh", "rdpo", 0.65, 0.1)
	acc.Add("shp", "dpo", 0.7, 0.2)
	acc.Add("shp", "rdpo", 0.72, 0.3)
	res.Tables["acc"] = acc
	res.Charts = []kernel.Chart{
		{Kind: "line", ID: "curves", Title: "Training", Series: []string{"loss", "accuracy"}},
		{Kind: "line", ID: "all"},
		{Kind: "leaderboard", ID: "elo", Title: "Elo", Table: "ratings", Label: "model", Value: "elo", Low: "lo", High: "hi"},
		{Kind: "heatmap", ID: "wins", Table: "winrate", X: "col", Y: "row", Value: "p"},
		{Kind: "bar", ID: "acc_bar", Table: "acc", X: "dataset", Value: "acc", Group: "method"},
		{Kind: "bar", ID: "acc_one", Table: "acc", X: "method", Value: "acc", Group: "dataset"},
		{Kind: "xy", ID: "acc_eps", Table: "acc", X: "eps", Value: "acc", Group: "method", LogX: true},
		{Kind: "scatter", ID: "cloud", Table: "acc", X: "eps", Y: "acc"},
	}
	return res
}

type reportOption struct {
	Title struct {
		Text string `json:"text"`
	} `json:"title"`
	Series []struct {
		Name string `json:"name"`
		Type string `json:"type"`
		Data []any  `json:"data"`
	} `json:"series"`
	XAxis []struct {
		Type string `json:"type"`
		Name string `json:"name"`
		Data []string
	} `json:"xAxis"`
	YAxis []struct {
		Data []string
	} `json:"yAxis"`
}

func decodeOption(t *testing.T, c *plots.Chart) reportOption {
	t.Helper()
	b, err := c.OptionsJSON()
	if err != nil {
		t.Fatal(err)
	}
	var o reportOption
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatal(err)
	}
	return o
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestChartsEveryKind(t *testing.T) {
	res := reportResult()
	charts, err := Charts(res)
	if err != nil {
		t.Fatal(err)
	}
	if len(charts) != len(res.Charts) {
		t.Fatalf("got %d charts, want %d", len(charts), len(res.Charts))
	}
	for i, c := range charts {
		if want := "toy_report_" + res.Charts[i].ID; c.ID() != want {
			t.Errorf("chart %d ID %q, want %q", i, c.ID(), want)
		}
	}
	o := func(i int) reportOption { return decodeOption(t, charts[i]) }

	line := o(0)
	if got, want := jsonText(line.Series[0].Data), `[[1,0.7],[2,0.5],[3,0.25]]`; line.Series[0].Name != "loss" || got != want {
		t.Errorf("line series 0: %q %s, want loss %s", line.Series[0].Name, got, want)
	}
	if line.Series[1].Name != "accuracy" || line.XAxis[0].Name != "step" || line.Title.Text != "Training" {
		t.Errorf("line: series %q, x axis %q, title %q", line.Series[1].Name, line.XAxis[0].Name, line.Title.Text)
	}
	all := o(1)
	if len(all.Series) != 2 || all.Series[0].Name != "accuracy" || all.Title.Text != "all" {
		t.Errorf("line of all series: %d series, first %q, title %q; want 2, accuracy (sorted), all", len(all.Series), all.Series[0].Name, all.Title.Text)
	}

	lb := o(2)
	if got, want := jsonText(lb.Series[0].Data), `[[1080,1100,1100,1100,1120],[990,1000,1000,1000,1010]]`; got != want {
		t.Errorf("leaderboard intervals %s, want %s", got, want)
	}
	if got, want := strings.Join(lb.YAxis[0].Data, "|"), "a|b <i>"; got != want {
		t.Errorf("leaderboard labels %q, want %q", got, want)
	}

	hm := o(3)
	if got, want := strings.Join(hm.XAxis[0].Data, ","), "b,a,c"; got != want {
		t.Errorf("heatmap x categories %q, want %q (first appearance)", got, want)
	}
	if got, want := strings.Join(hm.YAxis[0].Data, ","), "a,b"; got != want {
		t.Errorf("heatmap y categories %q, want %q", got, want)
	}
	var cells []string
	for _, d := range hm.Series[0].Data {
		cells = append(cells, jsonText(d.(map[string]any)["value"]))
	}
	if got, want := strings.Join(cells, " "), "[0,0,0.75] [2,0,0.9] [1,1,0.25]"; got != want {
		t.Errorf("heatmap cells %s, want %s", got, want)
	}

	bar := o(4)
	if len(bar.Series) != 2 || bar.Series[0].Name != "dpo" || jsonText(bar.Series[1].Data) != "[0.65,0.72]" {
		t.Errorf("bar series %+v, want dpo [0.6 0.7], rdpo [0.65 0.72]", bar.Series)
	}
	if got := strings.Join(bar.XAxis[0].Data, ","); got != "hh,shp" {
		t.Errorf("bar categories %q, want hh,shp", got)
	}
	one := o(5)
	if got := strings.Join(one.XAxis[0].Data, ","); got != "dpo,rdpo" || len(one.Series) != 2 {
		t.Errorf("bar by method: categories %q, %d series", got, len(one.Series))
	}

	xy := o(6)
	if got, want := jsonText(xy.Series[1].Data), `[[0.1,0.65],[0.3,0.72]]`; xy.Series[1].Type != "line" || xy.Series[1].Name != "rdpo" || got != want {
		t.Errorf("xy rdpo: %s %q %s, want a line rdpo %s", xy.Series[1].Type, xy.Series[1].Name, got, want)
	}
	// LogX drops eps = 0 from the dpo line (a log axis cannot place it).
	if got, want := jsonText(xy.Series[0].Data), `[[0.2,0.7]]`; xy.Series[0].Name != "dpo" || got != want || xy.XAxis[0].Type != "log" {
		t.Errorf("xy dpo: %q %s on a %q axis, want dpo %s on a log axis", xy.Series[0].Name, got, xy.XAxis[0].Type, want)
	}

	sc := o(7)
	if len(sc.Series) != 1 || sc.Series[0].Type != "scatter" || sc.Series[0].Name != "acc" || len(sc.Series[0].Data) != 4 {
		t.Errorf("scatter: %+v, want one series acc of 4 points", sc.Series)
	}
}

func TestChartsWithPrefix(t *testing.T) {
	res := reportResult()
	charts, err := ChartsWithPrefix(res, "c0123")
	if err != nil {
		t.Fatal(err)
	}
	if got := charts[2].ID(); got != "c0123_toy_report_elo" {
		t.Errorf("prefixed ID %q, want c0123_toy_report_elo", got)
	}
	if _, err := ChartsWithPrefix(res, "bad-prefix"); err == nil {
		t.Errorf("a bad prefix was accepted")
	}
}

func TestChartsErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		chart kernel.Chart
		want  []string // all in the message
	}{
		{"unknown kind", kernel.Chart{Kind: "pie", ID: "p"}, []string{`chart "p"`, `unknown kind "pie"`, "leaderboard"}},
		{"bad id", kernel.Chart{Kind: "line", ID: "a.b"}, []string{`ID "a.b"`}},
		{"missing series", kernel.Chart{Kind: "line", ID: "l", Series: []string{"loss", "kl"}}, []string{`chart "l"`, `series "kl"`, "accuracy, loss"}},
		{"missing table", kernel.Chart{Kind: "leaderboard", ID: "lb", Table: "elo", Label: "model", Value: "elo"}, []string{`chart "lb"`, `table "elo" is not in the result`, "acc, ratings, winrate"}},
		{"no table", kernel.Chart{Kind: "bar", ID: "b", X: "dataset", Value: "acc"}, []string{`chart "b"`, "no table named"}},
		{"missing column", kernel.Chart{Kind: "heatmap", ID: "h", Table: "winrate", X: "col", Y: "row", Value: "prob"}, []string{`chart "h"`, `no column "prob"`, "row, col, p"}},
		{"unnamed column", kernel.Chart{Kind: "scatter", ID: "s", Table: "acc", X: "eps"}, []string{`chart "s"`, "field y names no column"}},
		{"text as number", kernel.Chart{Kind: "xy", ID: "x", Table: "acc", X: "method", Value: "acc"}, []string{`chart "x"`, `column "method" row 0`, `"dpo"`}},
		{"half interval", kernel.Chart{Kind: "leaderboard", ID: "lb", Table: "ratings", Label: "model", Value: "elo", Low: "lo"}, []string{`chart "lb"`, "low and high"}},
		{"valid control", kernel.Chart{Kind: "heatmap", ID: "h", Table: "acc", X: "dataset", Y: "method", Value: "acc"}, nil},
		{"duplicate heatmap cell", kernel.Chart{Kind: "heatmap", ID: "h", Table: "acc", X: "dataset", Y: "dataset", Value: "acc"}, []string{`chart "h"`, `two rows for cell`}},
		{"duplicate cell", kernel.Chart{Kind: "bar", ID: "d", Table: "acc", X: "dataset", Value: "acc"}, []string{`chart "d"`, `two rows for category "hh"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := reportResult()
			res.Charts = []kernel.Chart{tc.chart}
			_, err := Charts(res)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want one with %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	res := reportResult()
	res.Charts = append(res.Charts, kernel.Chart{Kind: "line", ID: "elo"})
	if _, err := Charts(res); err == nil || !strings.Contains(err.Error(), `two charts have ID "elo"`) {
		t.Errorf("duplicate chart IDs: got %v", err)
	}
}

func TestHTML(t *testing.T) {
	res := reportResult()
	big := kernel.NewTable("i", "x")
	for i := 0; i < MaxTableRows+5; i++ {
		big.Add(i, math.Sqrt(float64(i)))
	}
	res.Tables["big"] = big
	page, err := HTML(res)
	if err != nil {
		t.Fatal(err)
	}
	s := string(page)
	for _, want := range []string{
		"<title>alignlab report: toy.report</title>",
		"<th>seed</th><td>3</td>", "<th>backend</th><td>go</td>",
		"github.com/alignlab/alignlab (devel)", "<th>wall time</th><td>1.500 s</td>",
		"gonum.org/v1/gonum v0.17.0",
		"<td>bt &lt;x&gt;</td>",                                      // a param, escaped
		"<td>accuracy</td><td style=\"text-align:right\">0.875</td>", // final metrics
		"<li>a note with &lt;markup&gt; &amp; such</li>",
		"<h2>Table: ratings</h2>", "<td>b &lt;i&gt;</td>",
		"… 5 more rows",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if c, tb := strings.Index(s, "<h2>Charts</h2>"), strings.Index(s, "<h2>Table: "); c < 0 || tb < 0 || c > tb {
		t.Errorf("charts at byte %d, first table at byte %d: want the charts first", c, tb)
	}
	if strings.Contains(s, "<td>"+fmt.Sprint(MaxTableRows)+"</td>") {
		t.Errorf("report shows row %d of the big table", MaxTableRows)
	}
	if n := strings.Count(s, "(function (define, exports, module) {"); n != 1 {
		t.Errorf("library inlined %d times, want 1", n)
	}
	charts, _ := Charts(res)
	last := strings.Index(s, "<h2>Charts</h2>")
	for _, c := range charts {
		i := strings.Index(s, c.Block())
		if i < last {
			t.Errorf("chart %s missing or out of order", c.ID())
		}
		last = i
	}
	// With JavaScript off each chart is its static image.
	if n := strings.Count(s, `<img class="alignlab-static"`); n != len(charts) {
		t.Errorf("report has %d static chart images, want %d", n, len(charts))
	}
	if strings.Contains(s, `class="container"`) {
		t.Errorf("report holds a class=\"container\" element, which Jupyter's CSS widens")
	}
	// Same result, same bytes: maps are walked in sorted order.
	again, _ := HTML(res)
	if !bytes.Equal(page, again) {
		t.Errorf("HTML is not deterministic")
	}
	res.Charts = []kernel.Chart{{Kind: "line", ID: "x", Series: []string{"nope"}}}
	if _, err := HTML(res); err == nil {
		t.Errorf("HTML ignored a broken chart")
	}
}

func TestTableHTML(t *testing.T) {
	tb := kernel.NewTable("name <1>", "v", "ok")
	tb.Add("x & y", math.NaN(), true)
	tb.Add("z", 1.0/3, false)
	got := TableHTML(tb)
	for _, want := range []string{
		"<th>name &lt;1&gt;</th>", "<td>x &amp; y</td>", `<td style="text-align:right">NaN</td>`,
		`<td style="text-align:right">0.333333</td>`, "<td>true</td>",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("TableHTML lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "more rows") {
		t.Errorf("a short table got a more-rows line")
	}
	if TableHTML(nil) != "" {
		t.Errorf("TableHTML(nil) is not empty")
	}
}

// reportPlugin declares its charts the way a real plugin does, so that the
// test covers Job.AddChart, kernel.Run and a JSON round trip.
type reportPlugin struct{}

func (reportPlugin) Info() kernel.Info {
	return kernel.Info{ID: "toy.reportrun", Summary: "report test"}
}

func (reportPlugin) Run(job *kernel.Job) error {
	r := job.Rand()
	for s := int64(1); s <= 5; s++ {
		if err := job.Record(s, "loss", 1/float64(s)+0.01*r.Float64()); err != nil {
			return err
		}
	}
	tb := job.AddTable("ratings", "model", "elo", "lo", "hi")
	tb.Add("a", 1010.5, 1000, 1020)
	tb.Add("b", 990, math.NaN(), math.NaN())
	job.AddChart(kernel.Chart{Kind: "line", Series: []string{"loss"}})
	job.AddChart(kernel.Chart{Kind: "leaderboard", ID: "elo", Table: "ratings", Label: "model", Value: "elo", Low: "lo", High: "hi"})
	job.SetFinal("loss", 0.2)
	return nil
}

// registerReportPlugin registers reportPlugin once, however often the test runs
// (go test -count).
var registerReportPlugin sync.Once

func TestChartsAfterRunAndJSON(t *testing.T) {
	registerReportPlugin.Do(func() { kernel.Register(reportPlugin{}) }) // once: the registry has no Unregister
	res, err := kernel.Run(context.Background(), "toy.reportrun", kernel.Options{Params: map[string]any{"seed": 1}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := res.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back kernel.Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	before, err := Charts(res)
	if err != nil {
		t.Fatal(err)
	}
	after, err := Charts(&back)
	if err != nil {
		t.Fatal(err)
	}
	if before[0].ID() != "toy_reportrun_c0" || before[1].ID() != "toy_reportrun_elo" {
		t.Errorf("IDs %q, %q", before[0].ID(), before[1].ID())
	}
	for i := range before {
		x, _ := before[i].OptionsJSON()
		y, _ := after[i].OptionsJSON()
		if !bytes.Equal(x, y) {
			t.Errorf("chart %s changed across the JSON round trip:\n%s\nvs\n%s", before[i].ID(), x, y)
		}
	}
	if _, err := HTML(&back); err != nil {
		t.Fatal(err)
	}
}

// A table as the notebook display and the report show it.
func ExampleTableHTML() {
	t := kernel.NewTable("model", "elo")
	t.Add("a <b>", 1012.25)
	fmt.Print(TableHTML(t))
	// Output:
	// <table class="alignlab-table">
	// <thead><tr><th>model</th><th>elo</th></tr></thead>
	// <tbody>
	// <tr><td>a &lt;b&gt;</td><td style="text-align:right">1012.25</td></tr>
	// </tbody>
	// </table>
}

// A pairwise table whose column categories first appear in another order
// than its row categories still gets one order on both axes.
func TestChartsPairwiseHeatmapSharesOrder(t *testing.T) {
	wr := kernel.NewTable("a", "b", "p")
	for _, r := range [][2]string{{"x", "y"}, {"x", "z"}, {"y", "x"}, {"y", "z"}, {"z", "x"}, {"z", "y"}} {
		wr.Add(r[0], r[1], 0.5)
	}
	res := &kernel.Result{Plugin: "toy.pair", Tables: map[string]*kernel.Table{"wr": wr},
		Charts: []kernel.Chart{{Kind: "heatmap", ID: "h", Table: "wr", X: "b", Y: "a", Value: "p"}}}
	charts, err := Charts(res)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := charts[0].OptionsJSON()
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		XAxis []struct{ Data []string } `json:"xAxis"`
		YAxis []struct{ Data []string } `json:"yAxis"`
	}
	if err := json.Unmarshal(opts, &o); err != nil {
		t.Fatal(err)
	}
	if len(o.XAxis) == 0 || len(o.YAxis) == 0 || strings.Join(o.XAxis[0].Data, ",") != strings.Join(o.YAxis[0].Data, ",") {
		t.Errorf("axes differ: got x %v, y %v; want the same order", o.XAxis, o.YAxis)
	}
}

// Equal on a scatter or xy chart reaches the plot: its interactive option
// gets fixed axis ranges and a grid without containLabel (what equal
// scales need), which a chart without Equal lacks.
func TestChartsEqual(t *testing.T) {
	type option struct {
		Grid []struct {
			ContainLabel bool `json:"containLabel"`
		} `json:"grid"`
		XAxis []struct {
			Min *float64 `json:"min"`
		} `json:"xAxis"`
	}
	for _, tc := range []struct {
		kind  string
		equal bool
	}{{"scatter", true}, {"xy", true}, {"scatter", false}, {"xy", false}} {
		res := reportResult()
		c := kernel.Chart{Kind: tc.kind, ID: "c", Table: "acc", X: "eps", Y: "acc", Value: "acc", Group: "method", Equal: tc.equal}
		res.Charts = []kernel.Chart{c}
		charts, err := Charts(res)
		if err != nil {
			t.Fatal(err)
		}
		b, err := charts[0].OptionsJSON()
		if err != nil {
			t.Fatal(err)
		}
		var o option
		if err := json.Unmarshal(b, &o); err != nil {
			t.Fatal(err)
		}
		fixed := len(o.XAxis) == 1 && o.XAxis[0].Min != nil && len(o.Grid) == 1 && !o.Grid[0].ContainLabel
		if fixed != tc.equal {
			t.Errorf("%s chart with Equal %v: fixed equal-scale axes %v, want %v\n%s", tc.kind, tc.equal, fixed, tc.equal, b)
		}
	}
}
