package plots

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var nan = math.NaN()

// goldenCharts builds every kind of chart from small fixed data, with the
// awkward cases in it: NaN and ±Inf, a non-positive value on a log axis,
// a missing interval, text that looks like markup.
func goldenCharts() []*Chart {
	return []*Chart{
		Line("line", "Loss", []Series{
			{Name: "run a", X: []float64{1, 2, 3, 4}, Y: []float64{0.9, 0.5, nan, 0.2}},
			{Name: "run b", X: []float64{1, 2, 3, 4}, Y: []float64{1, 0.7, 0.4, math.Inf(1)}},
		}, Axes{XLabel: "step", YLabel: "loss"}),
		Line("line_log", "Log axes", []Series{
			{Name: "r", X: []float64{0, 1, 10, 100}, Y: []float64{1, 0.1, 0.01, 0}},
		}, Axes{LogX: true, LogY: true}),
		Line("line_err", "Mean ± s.e.", []Series{
			{Name: "b=0", X: []float64{1, 2, 3}, Y: []float64{0.5, 0.4, 0.3},
				Low: []float64{0.4, nan, 0.25}, High: []float64{0.6, 0.5, 0.35}},
			{Name: "b=5", X: []float64{1, 2, 3}, Y: []float64{0.9, 0.8, 0.7}},
		}, Axes{XLabel: "x", YLabel: "y"}),
		Scatter("scatter", "Clouds", []Series{
			{Name: "source", X: []float64{0, 0.5, nan, 1}, Y: []float64{0, -0.5, 1, 1}},
			{Name: "target", X: []float64{2, 2.5}, Y: []float64{1, math.Inf(-1)}},
		}, Axes{XLabel: "x₁", YLabel: "x₂"}),
		Leaderboard("leaderboard", "Ratings <b>", []string{"model-a", "model-b", "no-ci", "none"},
			[]float64{1100, 1050.5, 990, nan}, []float64{1080, 1030, nan, nan}, []float64{1121, 1070, nan, nan}),
		Leaderboard("leaderboard_noci", "No intervals", []string{"x", "y"}, []float64{2, 1}, nil, nil),
		Heatmap("heatmap", "Win rate", []string{"a", "b", "c"}, []string{"a", "b"},
			[][]float64{{nan, 0.75, 0.8}, {0.25, nan, -0.125}}),
		Heatmap("heatmap_flat", "One value", []string{"a"}, []string{"a"}, [][]float64{{3}}),
		Bar("bar", "Accuracy", []string{"hh", "shp", "uf"}, []BarSeries{
			{Name: "dpo", Values: []float64{0.6, 0.7, 0.65}},
			{Name: "rdpo", Values: []float64{0.62, nan, 0.69}},
		}, Axes{XLabel: "dataset", YLabel: "accuracy"}),
	}
}

func TestOptionsGolden(t *testing.T) {
	for _, c := range goldenCharts() {
		t.Run(c.ID(), func(t *testing.T) {
			got, err := c.OptionsJSON()
			if err != nil {
				t.Fatal(err)
			}
			again, _ := c.OptionsJSON()
			if !bytes.Equal(got, again) {
				t.Fatalf("OptionsJSON is not stable across calls")
			}
			path := filepath.Join("testdata", c.ID()+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./plots -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("options differ from %s (run go test ./plots -update after checking the change)\ngot:\n%s", path, got)
			}
		})
	}
}

// TestOptionsMissingValues checks the encoding of non-finite values,
// independently of the golden files.
func TestOptionsMissingValues(t *testing.T) {
	type option struct {
		Series []struct {
			Type string `json:"type"`
			Data []any  `json:"data"`
		} `json:"series"`
		VisualMap []struct {
			Min, Max float64
		} `json:"visualMap"`
	}
	decode := func(c *Chart) option {
		t.Helper()
		b, err := c.OptionsJSON()
		if err != nil {
			t.Fatal(err)
		}
		var o option
		if err := json.Unmarshal(b, &o); err != nil {
			t.Fatal(err)
		}
		return o
	}
	charts := goldenCharts()
	byID := map[string]*Chart{}
	for _, c := range charts {
		byID[c.ID()] = c
	}

	line := decode(byID["line"])
	if got := line.Series[0].Data[2]; !equalJSON(got, []any{3.0, "-"}) {
		t.Errorf("line NaN point: got %v, want [3 -]", got)
	}
	if got := line.Series[1].Data[3]; !equalJSON(got, []any{4.0, "-"}) {
		t.Errorf("line +Inf point: got %v, want [4 -]", got)
	}
	logl := decode(byID["line_log"])
	if got, want := logl.Series[0].Data, []any{[]any{1.0, 0.1}, []any{10.0, 0.01}, []any{100.0, "-"}}; !equalJSON(got, want) {
		t.Errorf("log line: got %v, want %v", got, want)
	}
	sc := decode(byID["scatter"])
	if n0, n1 := len(sc.Series[0].Data), len(sc.Series[1].Data); n0 != 3 || n1 != 1 {
		t.Errorf("scatter kept %d and %d points, want 3 and 1", n0, n1)
	}
	lb := decode(byID["leaderboard"])
	if lb.Series[0].Type != "boxplot" || lb.Series[1].Type != "scatter" {
		t.Fatalf("leaderboard series types %q, %q, want boxplot, scatter", lb.Series[0].Type, lb.Series[1].Type)
	}
	if got, want := lb.Series[0].Data[0], []any{1080.0, 1100.0, 1100.0, 1100.0, 1121.0}; !equalJSON(got, want) {
		t.Errorf("error bar 0: got %v, want %v", got, want)
	}
	if got := lb.Series[0].Data[2]; got != "-" {
		t.Errorf("error bar without interval: got %v, want -", got)
	}
	hm := decode(byID["heatmap"])
	if n := len(hm.Series[0].Data); n != 4 {
		t.Errorf("heatmap has %d cells, want 4 (two NaN left out)", n)
	}
	if vm := hm.VisualMap; len(vm) != 1 || vm[0].Min != -0.125 || vm[0].Max != 0.8 {
		t.Errorf("heatmap visualMap %+v, want min -0.125, max 0.8", vm)
	}
	flat := decode(byID["heatmap_flat"])
	if vm := flat.VisualMap; len(vm) != 1 || vm[0].Min != 2.5 || vm[0].Max != 3.5 {
		t.Errorf("one-value heatmap visualMap %+v, want min 2.5, max 3.5", vm)
	}
	bar := decode(byID["bar"])
	if got := bar.Series[1].Data[1]; got != "-" {
		t.Errorf("bar NaN: got %v, want -", got)
	}
}

func equalJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func TestPageInlinesEChartsOnce(t *testing.T) {
	charts := goldenCharts()
	page := string(Page("Report <&>", "<p id=\"body\">tables</p>", charts...))
	if n := strings.Count(page, echartsJS); n != 1 {
		t.Fatalf("page holds the library %d times, want 1", n)
	}
	if strings.Contains(page, "<script src") || strings.Contains(page, "cdn") {
		t.Errorf("page loads something from outside")
	}
	lib := strings.Index(page, echartsJS)
	body := strings.Index(page, `<p id="body">tables</p>`)
	if body < lib {
		t.Errorf("body comes before the library")
	}
	last := body
	for _, c := range charts {
		i := strings.Index(page, c.Block())
		if i < last {
			t.Errorf("chart %s is missing or out of order", c.ID())
		}
		last = i
	}
	if !strings.Contains(page, "<title>Report &lt;&amp;&gt;</title>") {
		t.Errorf("title not escaped")
	}
	if !strings.HasSuffix(page, "</body>\n</html>\n") {
		t.Errorf("page does not end with </body></html>")
	}
}

func TestScriptGuardAndWrapper(t *testing.T) {
	s := Script()
	for _, want := range []string{
		"if (typeof window.echarts === 'undefined') {",
		"(function (define, exports, module) {",
		"}).call(window);",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("Script lacks %q", want)
		}
	}
	if !strings.HasPrefix(s, "<script") || !strings.HasSuffix(s, "</script>\n") {
		t.Errorf("Script is not one <script> element")
	}
	if strings.Count(s, echartsJS) != 1 {
		t.Errorf("Script does not hold the library once")
	}
	h := HTML(goldenCharts()[0])
	if !strings.HasPrefix(h, s) || !strings.HasSuffix(h, goldenCharts()[0].Block()) {
		t.Errorf("HTML is not Script followed by the block")
	}
}

// TestEmbeddedLibrary checks that the embedded file is the pinned ECharts
// and that it can sit inside an inline <script>: the HTML parser would end
// the element at "</script" and "<!--" changes how it finds the end.
func TestEmbeddedLibrary(t *testing.T) {
	if len(echartsJS) < 500_000 {
		t.Fatalf("embedded library is only %d bytes", len(echartsJS))
	}
	if !strings.Contains(echartsJS, `version="`+EChartsVersion+`"`) {
		t.Errorf("embedded library is not ECharts %s", EChartsVersion)
	}
	low := strings.ToLower(echartsJS)
	for _, bad := range []string{"</script", "<!--"} {
		if strings.Contains(low, bad) {
			t.Errorf("embedded library contains %q", bad)
		}
	}
	for _, f := range []string{"assets/LICENSE", "assets/NOTICE"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("license file: %v", err)
		}
	}
}

func TestSnippet(t *testing.T) {
	c := Line("evil_1", "a </script><script>alert(1)</script> <!-- b", []Series{{Name: "</SCRIPT>", X: []float64{1}, Y: []float64{2}}}, Axes{})
	s := c.Snippet()
	if n := strings.Count(strings.ToLower(s), "</script"); n != 1 {
		t.Errorf("snippet has %d </script, want 1 (its own end):\n%s", n, s)
	}
	if strings.Contains(s, "<!--") {
		t.Errorf("snippet contains <!--")
	}
	for _, want := range []string{`id="evil_1"`, "let goecharts_evil_1 = echarts.init(", `renderer: "svg"`} {
		if !strings.Contains(s, want) {
			t.Errorf("snippet lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "<script src") || strings.Contains(s, echartsJS[:200]) {
		t.Errorf("snippet carries assets")
	}
	// The option JSON keeps the text as given.
	b, err := c.OptionsJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"text": "a </script><script>alert(1)</script> <!-- b"`)) {
		t.Errorf("title changed in the option:\n%s", b)
	}
}

func TestFunctionMarkerInText(t *testing.T) {
	// go-echarts strips "__f__" and a neighbouring quote when rendering, which
	// would let a label end its JSON string; text() defuses the marker.
	c := Bar("marker", `x"__f__,alert(1),"__f__`, []string{"__f____f__"}, []BarSeries{{Name: "a", Values: []float64{1}}}, Axes{})
	s := c.Snippet()
	if strings.Contains(s, "__f__") || !strings.Contains(s, "x\\\"_\u200b_f__,alert(1),\\\"") {
		t.Errorf("a function marker survived into the snippet:\n%s", s)
	}
}

func TestIDs(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"a", true}, {"Chart_01", true}, {"0abc", true},
		{"", false}, {"a-b", false}, {"a.b", false}, {"a b", false}, {"é", false}, {"a'", false},
	} {
		if got := ValidID(tc.id); got != tc.want {
			t.Errorf("ValidID(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
	builders := map[string]func(id string){
		"Line":        func(id string) { Line(id, "", nil, Axes{}) },
		"Scatter":     func(id string) { Scatter(id, "", nil, Axes{}) },
		"Leaderboard": func(id string) { Leaderboard(id, "", nil, nil, nil, nil) },
		"Heatmap":     func(id string) { Heatmap(id, "", nil, nil, nil) },
		"Bar":         func(id string) { Bar(id, "", nil, nil, Axes{}) },
	}
	for name, build := range builders {
		if !panics(func() { build("bad.id") }) {
			t.Errorf("%s accepted the ID bad.id", name)
		}
		if panics(func() { build("good_id") }) {
			t.Errorf("%s refused the ID good_id", name)
		}
	}
	c := Line("dup", "", nil, Axes{})
	if !panics(func() { Page("", "", c, c) }) {
		t.Errorf("Page accepted two charts with one ID")
	}
	if !panics(func() { HTML(c, c) }) {
		t.Errorf("HTML accepted two charts with one ID")
	}
	re := regexp.MustCompile(`^c[0-9a-f]{16}$`)
	a, b := RandomID(), RandomID()
	if !re.MatchString(a) || !ValidID(a) || a == b {
		t.Errorf("RandomID gave %q then %q", a, b)
	}
}

func TestLengthMismatchPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"Line": func() { Line("x", "", []Series{{X: []float64{1, 2}, Y: []float64{1}}}, Axes{}) },
		"Line low only": func() {
			Line("x", "", []Series{{X: []float64{1}, Y: []float64{1}, Low: []float64{0}}}, Axes{})
		},
		"Line short high": func() {
			Line("x", "", []Series{{X: []float64{1, 2}, Y: []float64{1, 2}, Low: []float64{0, 1}, High: []float64{2}}}, Axes{})
		},
		"Leaderboard": func() { Leaderboard("x", "", []string{"a"}, []float64{1, 2}, nil, nil) },
		"Heatmap":     func() { Heatmap("x", "", []string{"a"}, []string{"a"}, [][]float64{{1, 2}}) },
		"Bar":         func() { Bar("x", "", []string{"a"}, []BarSeries{{Values: nil}}, Axes{}) },
	} {
		if !panics(f) {
			t.Errorf("%s accepted mismatched lengths", name)
		}
	}
}

func panics(f func()) (p bool) {
	defer func() { p = recover() != nil }()
	f()
	return false
}
