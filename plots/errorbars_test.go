package plots

import (
	"encoding/json"
	"math"
	"os/exec"
	"strings"
	"testing"
)

// TestLineErrorBars checks the error-bar series of a Line, independently
// of the golden file: one custom series per line that has bars, after the
// lines, in the line's colour, holding [x, low, high] for the bars that can
// be placed.
func TestLineErrorBars(t *testing.T) {
	type series struct {
		Name       string         `json:"name"`
		Type       string         `json:"type"`
		Data       [][]any        `json:"data"`
		RenderItem string         `json:"renderItem"`
		Encode     map[string]any `json:"encode"`
		ItemStyle  struct {
			Color string `json:"color"`
		} `json:"itemStyle"`
	}
	decode := func(c *Chart) []series {
		t.Helper()
		b, err := c.OptionsJSON()
		if err != nil {
			t.Fatal(err)
		}
		var o struct{ Series []series }
		if err := json.Unmarshal(b, &o); err != nil {
			t.Fatal(err)
		}
		return o.Series
	}
	c := Line("bars", "", []Series{
		{Name: "a", X: []float64{1, 2, 3, 4}, Y: []float64{1, 2, 3, 4},
			Low: []float64{0.5, nan, 2.5, 3}, High: []float64{1.5, 2.5, math.Inf(1), 5}},
		{Name: "no bars", X: []float64{1, 2}, Y: []float64{0, 0}},
		{Name: "c", X: []float64{1, nan}, Y: []float64{7, 8}, Low: []float64{6, 7}, High: []float64{8, 9}},
	}, Axes{})
	got := decode(c)
	if len(got) != 5 {
		t.Fatalf("got %d series, want 3 lines and 2 bar series", len(got))
	}
	colours := seriesColors([]string{"a", "no bars", "c"})
	for i, want := range []struct{ name, typ, colour, data string }{
		{"a", "line", colours[0], ""},
		{"no bars", "line", colours[1], ""},
		{"c", "line", colours[2], ""},
		{"a", "custom", colours[0], "[[1,0.5,1.5],[4,3,5]]"}, // NaN low and +Inf high left out
		{"c", "custom", colours[2], "[[1,6,8]]"},             // NaN x left out
	} {
		s := got[i]
		if s.Name != want.name || s.Type != want.typ || s.ItemStyle.Color != want.colour {
			t.Errorf("series %d: got %s %q in %s, want %s %q in %s", i, s.Type, s.Name, s.ItemStyle.Color, want.typ, want.name, want.colour)
		}
		if want.typ != "custom" {
			continue
		}
		if d, _ := json.Marshal(s.Data); string(d) != want.data {
			t.Errorf("bars of %q: got %s, want %s", s.Name, d, want.data)
		}
		if enc, _ := json.Marshal(s.Encode); string(enc) != `{"tooltip":[1,2],"x":0,"y":[1,2]}` {
			t.Errorf("bars of %q: encode %s, want x 0 and y [1, 2], so the y axis takes in the bars", s.Name, enc)
		}
		if !strings.HasPrefix(s.RenderItem, "__f__function (params, api) {") || !strings.HasSuffix(s.RenderItem, "}__f__") {
			t.Errorf("bars of %q: renderItem %.60q is not go-echarts' marked function", s.Name, s.RenderItem)
		}
	}

	// Without bars, lines are coloured by name too.
	plain := decode(Line("plain", "", []Series{{Name: "a", X: []float64{1}, Y: []float64{1}}}, Axes{}))
	if len(plain) != 1 || plain[0].ItemStyle.Color != Color("a") {
		t.Errorf("a line without bars: got %+v, want one line in Color(\"a\") = %s", plain, Color("a"))
	}

	// On a log y axis a bar reaching 0 or below cannot be placed.
	logc := decode(Line("logbars", "", []Series{{Name: "a", X: []float64{1, 2}, Y: []float64{1, 1},
		Low: []float64{0.5, -1}, High: []float64{2, 2}}}, Axes{LogY: true}))
	if d, _ := json.Marshal(logc[1].Data); string(d) != "[[1,0.5,2]]" {
		t.Errorf("log axis bars: got %s, want [[1,0.5,2]]", d)
	}

	// In the page the function is code, not a string.
	snip := c.Snippet()
	if strings.Contains(snip, "__f__") || strings.Count(snip, `"renderItem":function (params, api) {`) != 2 {
		t.Errorf("snippet: want two renderItem functions inlined as code, no markers:\n%s", snip)
	}
}

// TestErrorBarJS runs errorBarJS, as the snippet inlines it, in Node with
// a stand-in for ECharts' api: coord maps (x, y) to pixels (10x, 100 − 10y).
// It checks the three segments (the bar and its two caps) and the colour,
// and that a NaN end draws nothing.
func TestErrorBarJS(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed; the browser check of make notebooks still draws the bars")
	}
	// The code exactly as go-echarts writes it into the page.
	snip := Line("js", "", []Series{{Name: "a", X: []float64{2}, Y: []float64{5}, Low: []float64{4}, High: []float64{7}}}, Axes{}).Snippet()
	i := strings.Index(snip, `"renderItem":`)
	j := strings.Index(snip[i:], "]};}")
	if i < 0 || j < 0 {
		t.Fatalf("no renderItem function in the snippet:\n%s", snip)
	}
	fn := snip[i+len(`"renderItem":`) : i+j+len("]};}")]
	script := `var f = ` + fn + `;
function api(v) { return {
	value: function (d) { return v[d]; },
	coord: function (p) { return [10 * p[0], 100 - 10 * p[1]]; },
	visual: function (k) { return k === 'color' ? '#abc' : undefined; }
}; }
var g = f({}, api([2, 4, 7]));
var out = g.children.map(function (e) { var s = e.shape; return [e.type, s.x1, s.y1, s.x2, s.y2, e.style.stroke].join(' '); });
out.push(String(f({}, api([2, NaN, 7]))));
console.log(g.type + '\n' + out.join('\n'));
`
	b, err := exec.Command(node, "-e", script).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s\nfunction: %s", err, b, fn)
	}
	want := strings.Join([]string{
		"group",
		"line 20 60 20 30 #abc", // the bar, from low (y = 100 − 40) to high (100 − 70)
		"line 16 60 24 60 #abc", // the cap at low, 4 px each side
		"line 16 30 24 30 #abc", // the cap at high
		"null",                  // a NaN end draws nothing
	}, "\n")
	if got := strings.TrimSpace(string(b)); got != want {
		t.Errorf("renderItem drew:\n%s\nwant:\n%s", got, want)
	}
}
