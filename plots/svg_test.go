package plots

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// svgCounts counts what an SVG draws: elements by class, and circles.
func svgCounts(svg string) map[string]int {
	n := map[string]int{"circle": strings.Count(svg, "<circle ")}
	for _, m := range regexp.MustCompile(`class="([a-z]+)"`).FindAllStringSubmatch(svg, -1) {
		n[m[1]]++
	}
	return n
}

// TestSVGElements checks, per builder, how many things the static image
// draws for the golden charts' data, and that it is well-formed XML.
func TestSVGElements(t *testing.T) {
	byID := map[string]*Chart{}
	for _, c := range goldenCharts() {
		byID[c.ID()] = c
	}
	for _, tc := range []struct {
		id   string
		want map[string]int
	}{
		// Two lines (one path each, run a broken at its NaN), 3 + 3 point marks, a legend.
		{"line", map[string]int{"line": 2, "marks": 2, "circle": 6, "swatch": 2, "err": 0}},
		// x = 0 and y = 0 cannot sit on log axes: 2 points left; one named series gets a legend.
		{"line_log", map[string]int{"line": 1, "circle": 2, "swatch": 1}},
		// b=0 has bars at x = 1 and 3 (the NaN low drops the one at 2); b=5 has none.
		{"line_err", map[string]int{"line": 2, "circle": 6, "err": 2, "swatch": 2}},
		// 3 + 1 finite points.
		{"scatter", map[string]int{"points": 2, "circle": 4, "swatch": 2}},
		// Two intervals, three finite values, no legend.
		{"leaderboard", map[string]int{"err": 2, "value": 3, "circle": 3, "swatch": 0}},
		{"leaderboard_noci", map[string]int{"err": 0, "value": 2}},
		// Four finite cells of six, the colour scale.
		{"heatmap", map[string]int{"cell": 4, "scale": 1, "swatch": 0}},
		{"heatmap_flat", map[string]int{"cell": 1, "scale": 1}},
		// 3 + 2 finite bars.
		{"bar", map[string]int{"bar": 5, "swatch": 2}},
	} {
		t.Run(tc.id, func(t *testing.T) {
			svg := byID[tc.id].SVG()
			got := svgCounts(svg)
			for k, want := range tc.want {
				if got[k] != want {
					t.Errorf("%s: got %d, want %d", k, got[k], want)
				}
			}
			if got["background"] != 1 || got["axis"] != 1 && tc.id != "heatmap" && tc.id != "heatmap_flat" {
				t.Errorf("background %d, axis %d: want one of each", got["background"], got["axis"])
			}
			wellFormed(t, svg)
		})
	}
}

// wellFormed parses svg as XML and checks that it is one standalone <svg>
// with a viewBox, no script and no reference to anything outside it.
func wellFormed(t *testing.T, svg string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(svg))
	depth, roots := 0, 0
	for {
		tok, err := d.Token()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("SVG is not well-formed XML: %v\n%s", err, svg)
			}
			break
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if e.Name.Local != "svg" || e.Name.Space != "http://www.w3.org/2000/svg" {
					t.Errorf("root element %v, want svg in the SVG namespace", e.Name)
				}
			}
			if e.Name.Local == "script" || e.Name.Local == "foreignObject" {
				t.Errorf("SVG holds a <%s>", e.Name.Local)
			}
			for _, a := range e.Attr {
				if a.Name.Local == "href" && !strings.HasPrefix(a.Value, "data:image/png;base64,") {
					t.Errorf("SVG refers to %q", a.Value)
				}
				if strings.HasPrefix(a.Name.Local, "on") {
					t.Errorf("SVG has an event attribute %s", a.Name.Local)
				}
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if roots != 1 {
		t.Errorf("%d root elements, want 1", roots)
	}
	if !regexp.MustCompile(`^<svg xmlns="http://www.w3.org/2000/svg" width="900" height="\d+" viewBox="0 0 900 \d+"`).MatchString(svg) {
		t.Errorf("SVG does not start with a 900-wide viewBox:\n%.200s", svg)
	}
	if strings.Contains(svg, "http") && strings.Count(svg, "http") != 1 { // the namespace only
		t.Errorf("SVG mentions a URL")
	}
}

// TestSVGText checks that text is escaped, legend names and axis names are
// there, and no text is smaller than 14 px.
func TestSVGText(t *testing.T) {
	c := Line("esc", `a <b> & "c" 'd'`, []Series{
		{Name: "</text><script>alert(1)</script>", X: []float64{1, 2}, Y: []float64{1, 2}},
		{Name: "ctrl\x01\x02 ok", X: []float64{1, 2}, Y: []float64{2, 1}},
	}, Axes{XLabel: "x<1>", YLabel: "y & z"})
	svg := c.SVG()
	wellFormed(t, svg)
	for _, want := range []string{
		"a &lt;b&gt; &amp; &quot;c&quot; &#39;d&#39;</text>",
		">&lt;/text&gt;&lt;script&gt;alert(1)&lt;/script&gt;</text>",
		">ctrl ok</text>",
		">x&lt;1&gt;</text>", ">y &amp; z</text>",
	} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %q", want)
		}
	}
	if strings.Contains(strings.ToLower(svg), "<script") {
		t.Errorf("SVG holds a script")
	}
	for _, c := range append(goldenCharts(), c) {
		s := c.SVG()
		if !strings.Contains(s, ` font-size="14" `) {
			t.Errorf("%s: the root font size is not 14", c.ID())
		}
		for _, m := range regexp.MustCompile(`font-size="(\d+)"`).FindAllStringSubmatch(s, -1) {
			if n, _ := strconv.Atoi(m[1]); n < 14 {
				t.Errorf("%s: text at %d px", c.ID(), n)
			}
		}
	}
	legend := Line("one", "", []Series{{X: []float64{1}, Y: []float64{1}}}, Axes{})
	if n := svgCounts(legend.SVG())["swatch"]; n != 0 {
		t.Errorf("one unnamed series got a legend of %d entries", n)
	}
}

func TestSVGLogAxisTicks(t *testing.T) {
	var c *Chart
	for _, g := range goldenCharts() {
		if g.ID() == "line_log" {
			c = g
		}
	}
	svg := c.SVG()
	// x from 1 to 100 and y from 0.01 to 0.1: at most two decades, so 2× and 5× ticks too.
	for _, want := range []string{">1</text>", ">2</text>", ">5</text>", ">10</text>", ">20</text>", ">50</text>", ">100</text>",
		">0.01</text>", ">0.02</text>", ">0.05</text>", ">0.1</text>"} {
		if !strings.Contains(svg, want) {
			t.Errorf("log axes lack the tick %s", want)
		}
	}
	for _, tc := range []struct {
		lo, hi float64
		want   string
	}{
		{1, 100, "1 2 5 10 20 50 100"},
		{0.001, 10, "0.001 0.01 0.1 1 10"},
		{1e-5, 1e3, "1e-5 0.001 0.1 10 1000"}, // eight decades: every second one
		{1e3, 1e6, "1000 10,000 1e5 1e6"},
	} {
		_, labels := logTicks(tc.lo, tc.hi)
		if got := strings.Join(labels, " "); got != tc.want {
			t.Errorf("logTicks(%g, %g): got %s, want %s", tc.lo, tc.hi, got, tc.want)
		}
	}
}

func TestTickLabels(t *testing.T) {
	for _, tc := range []struct {
		v, step float64
		want    string
	}{
		{0, 0.1, "0"},
		{0.25, 0.05, "0.25"},
		{0.30000000000000004, 0.1, "0.3"},
		{-0.4, 0.2, "-0.4"},
		{1100, 20, "1100"},
		{12000, 2000, "12,000"},
		{-12000, 2000, "-12,000"},
		{2e6, 1e6, "2e6"},
		{2.5e6, 5e5, "2.5e6"},
		{5e-5, 1e-5, "5e-5"},
		{1.5e-5, 5e-6, "1.5e-5"},
		{3, 1, "3"},
		{1, 0.2, "1.0"},
	} {
		if got := tickLabel(tc.v, tc.step); got != tc.want {
			t.Errorf("tickLabel(%g, %g) = %q, want %q", tc.v, tc.step, got, tc.want)
		}
	}
	const tol = 1e-12
	ticks, labels := linearTicks(-0.13, 0.87, 0.2)
	if len(ticks) != 5 || math.Abs(ticks[0]-0) > tol || labels[0] != "0" || labels[4] != "0.8" {
		t.Errorf("linearTicks(-0.13, 0.87, 0.2): got %v %v, want 0 … 0.8 by 0.2", ticks, labels)
	}
	for _, tc := range []struct {
		lo, hi        float64
		n             int
		wlo, whi, wst float64
	}{
		{0.13, 0.87, 5, 0.1, 0.9, 0.1},
		{0.13, 0.87, 3, 0, 1, 0.2},
		{0, 0.32, 5, 0, 0.35, 0.05}, // the ticks' step, also where the widened range would ask for another
		{3, 3, 5, 1.5, 4.5, 0.5},    // one value: a unit around it
	} {
		lo, hi, step := linearRange(tc.lo, tc.hi, tc.n, true)
		if math.Abs(lo-tc.wlo) > tol || math.Abs(hi-tc.whi) > tol || math.Abs(step-tc.wst) > tol {
			t.Errorf("linearRange(%g, %g, %d): got [%g, %g] by %g, want [%g, %g] by %g", tc.lo, tc.hi, tc.n, lo, hi, step, tc.wlo, tc.whi, tc.wst)
		}
	}
	if got := count(4000); got != "4,000" {
		t.Errorf("count(4000) = %q", got)
	}
}

// TestSVGDeterministic: the same input gives the same bytes, built twice.
func TestSVGDeterministic(t *testing.T) {
	a, b := goldenCharts(), goldenCharts()
	for i := range a {
		if a[i].SVG() != b[i].SVG() || a[i].SVG() != a[i].SVG() {
			t.Errorf("%s: SVG differs between builds", a[i].ID())
		}
	}
	s1, s2 := ringScatter(4000, true).SVG(), ringScatter(4000, true).SVG()
	if s1 != s2 {
		t.Errorf("a subsampled scatter's SVG differs between builds")
	}
}

// TestSVGGolden compares two static images with testdata (refresh with
// go test ./plots -update after looking at them in a browser).
func TestSVGGolden(t *testing.T) {
	for _, c := range goldenCharts() {
		if c.ID() != "line_err" && c.ID() != "leaderboard" {
			continue
		}
		got := []byte(c.SVG())
		path := filepath.Join("testdata", c.ID()+".svg")
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./plots -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s (run go test ./plots -update after checking the change)", c.ID(), path)
		}
	}
}

// ringScatter is n points on a ring of radius 5, as two series (3:1),
// from a fixed seed.
func ringScatter(n int, equal bool) *Chart {
	r := rand.New(rand.NewPCG(1, 2))
	ss := []Series{{Name: "source"}, {Name: "target"}}
	for i := range n {
		a := r.Float64() * 2 * math.Pi
		k := 0
		if i%4 == 3 {
			k = 1
		}
		ss[k].X = append(ss[k].X, 5*math.Cos(a)+2)
		ss[k].Y = append(ss[k].Y, 5*math.Sin(a))
	}
	return Scatter("ring", "ring", ss, Axes{XLabel: "x", YLabel: "y", Equal: equal})
}

// circles returns the centres of the circles of an SVG, in order.
func circles(svg string) [][2]float64 {
	var out [][2]float64
	for _, m := range regexp.MustCompile(`<circle cx="([-0-9.]+)" cy="([-0-9.]+)"`).FindAllStringSubmatch(svg, -1) {
		x, _ := strconv.ParseFloat(m[1], 64)
		y, _ := strconv.ParseFloat(m[2], 64)
		out = append(out, [2]float64{x, y})
	}
	return out
}

// TestSVGEqualAxes: with Equal, a unit is as many pixels across as up (a
// ring is a circle); without, a wide chart stretches it.
func TestSVGEqualAxes(t *testing.T) {
	const tol = 0.15 // px: coordinates are written to a tenth
	pts := []Series{{Name: "p", X: []float64{0, 1, 0}, Y: []float64{0, 0, 1}}}
	for _, equal := range []bool{true, false} {
		c := circles(Scatter("eq", "", pts, Axes{Equal: equal}).SVG())
		if len(c) != 3 {
			t.Fatalf("got %d circles, want 3", len(c))
		}
		dx, dy := math.Abs(c[1][0]-c[0][0]), math.Abs(c[2][1]-c[0][1])
		if same := math.Abs(dx-dy) <= tol; same != equal {
			t.Errorf("Equal %v: a unit is %g px across and %g px up", equal, dx, dy)
		}
	}
	// The ring's width and height on screen.
	c := circles(ringScatter(400, true).SVG())
	minX, maxX, minY, maxY := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, p := range c {
		minX, maxX = math.Min(minX, p[0]), math.Max(maxX, p[0])
		minY, maxY = math.Min(minY, p[1]), math.Max(maxY, p[1])
	}
	if w, h := maxX-minX, maxY-minY; math.Abs(w-h) > 0.02*w {
		t.Errorf("a ring is drawn %g px wide and %g px high", w, h)
	}
}

// TestScatterSubsample: 4,000 points in two series (3,000 + 1,000) show as
// 1,125 + 375, evenly, at half opacity, and both renderings say so.
func TestScatterSubsample(t *testing.T) {
	c := ringScatter(4000, true)
	svg := c.SVG()
	if n := svgCounts(svg)["circle"]; n != MaxScatterPoints {
		t.Errorf("SVG draws %d points, want %d", n, MaxScatterPoints)
	}
	if !strings.Contains(svg, ">1,500 of 4,000 points shown</text>") || strings.Count(svg, `fill-opacity="0.5"`) != 2 {
		t.Errorf("SVG does not say it shows 1,500 of 4,000 points, or is not at half opacity")
	}
	b, err := c.OptionsJSON()
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		Title struct {
			Subtext string `json:"subtext"`
		} `json:"title"`
		Legend struct {
			ItemStyle struct {
				Opacity float64 `json:"opacity"`
			} `json:"itemStyle"`
		} `json:"legend"`
		Series []struct {
			Data      [][2]float64 `json:"data"`
			ItemStyle struct {
				Opacity float64 `json:"opacity"`
			} `json:"itemStyle"`
		} `json:"series"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		t.Fatal(err)
	}
	if o.Title.Subtext != "1,500 of 4,000 points shown" {
		t.Errorf("option subtext %q", o.Title.Subtext)
	}
	if o.Legend.ItemStyle.Opacity != 1 {
		t.Errorf("legend swatches at opacity %g, want 1 (solid)", o.Legend.ItemStyle.Opacity)
	}
	for i, want := range []int{1125, 375} {
		if got := len(o.Series[i].Data); got != want || o.Series[i].ItemStyle.Opacity != 0.5 {
			t.Errorf("series %d: %d points at opacity %g, want %d at 0.5", i, got, o.Series[i].ItemStyle.Opacity, want)
		}
	}
	// Evenly: point j of the 1,125 kept is point ⌊j·3000/1125⌋ of the series.
	pts := make([][2]any, 3000)
	for i := range pts {
		pts[i] = [2]any{float64(i), 0.0}
	}
	kept := subsample(pts, 4000)
	if len(kept) != 1125 {
		t.Fatalf("subsample kept %d of 3000, want 1125", len(kept))
	}
	for j, p := range kept {
		if want := float64(j * 3000 / 1125); p[0] != want {
			t.Fatalf("kept point %d is point %v, want %v", j, p[0], want)
		}
	}
	small := ringScatter(MaxScatterPoints, false)
	if n := svgCounts(small.SVG())["circle"]; n != MaxScatterPoints || strings.Contains(small.SVG(), "points shown") {
		t.Errorf("a cloud of exactly %d points was subsampled to %d", MaxScatterPoints, n)
	}
}

// TestSVGHeatmapRaster: a grid of more than 10,000 cells is one embedded
// PNG, a pixel per cell, instead of a rect per cell.
func TestSVGHeatmapRaster(t *testing.T) {
	const nx, ny = 101, 100
	cats := make([]string, nx)
	rows := make([]string, ny)
	vals := make([][]float64, ny)
	for i := range cats {
		cats[i] = "c" + strconv.Itoa(i)
	}
	for y := range vals {
		rows[y] = "r" + strconv.Itoa(y)
		vals[y] = make([]float64, nx)
		for x := range vals[y] {
			vals[y][x] = float64(x - y)
		}
	}
	vals[0][0] = math.NaN()
	svg := Heatmap("big", "big", cats, rows, vals).SVG()
	wellFormed(t, svg)
	if n := svgCounts(svg); n["cell"] != 0 || n["cells"] != 1 {
		t.Fatalf("got %d cell rects and %d images, want 0 and 1", n["cell"], n["cells"])
	}
	m := regexp.MustCompile(`href="data:image/png;base64,([^"]+)"`).FindStringSubmatch(svg)
	raw, err := base64.StdEncoding.DecodeString(m[1])
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != nx || b.Dy() != ny {
		t.Errorf("PNG is %v, want %d × %d", b, nx, ny)
	}
	if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
		t.Errorf("the NaN cell is not transparent")
	}
	if _, _, _, a := img.At(1, 0).RGBA(); a == 0 {
		t.Errorf("a finite cell is transparent")
	}
}

// TestSVGEmpty: charts with nothing to draw still give a well-formed image
// with their frame.
func TestSVGEmpty(t *testing.T) {
	for _, c := range []*Chart{
		Line("a", "empty", nil, Axes{}),
		Line("b", "", []Series{{Name: "nan", X: []float64{nan}, Y: []float64{1}}}, Axes{LogY: true, Equal: true}),
		Scatter("c", "", []Series{{Name: "x"}}, Axes{Equal: true}),
		Leaderboard("d", "", nil, nil, nil, nil),
		Heatmap("e", "", nil, nil, nil),
		Bar("f", "", nil, nil, Axes{LogY: true}),
	} {
		wellFormed(t, c.SVG())
	}
}
