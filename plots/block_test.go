package plots

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestBlock checks the parts of a Block: the wrapper, the static image
// holding the chart's own SVG, the hidden interactive div, one guarded
// script, and nothing Jupyter's CSS widens.
func TestBlock(t *testing.T) {
	for _, c := range append(goldenCharts(), ringScatter(4000, true)) {
		t.Run(c.ID(), func(t *testing.T) {
			b := c.Block()
			if !strings.HasPrefix(b, `<div class="alignlab-chart" data-chart-id="`+c.ID()+`"`) || !strings.HasSuffix(b, "</div>\n") {
				t.Errorf("block is not one alignlab-chart div:\n%.300s", b)
			}
			m := regexp.MustCompile(`<img class="alignlab-static" alt="([^"]*)" width="100%" style="[^"]*width:100%;height:auto;" src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)">`).FindStringSubmatch(b)
			if m == nil {
				t.Fatalf("no static image:\n%.400s", b)
			}
			svg, err := base64.StdEncoding.DecodeString(m[2])
			if err != nil {
				t.Fatal(err)
			}
			if string(svg) != c.SVG() {
				t.Errorf("the image is not the chart's SVG")
			}
			wellFormed(t, string(svg))
			// Hidden by the attribute too: Jupyter's sanitizer of untrusted
			// outputs drops style attributes and keeps hidden.
			if !strings.Contains(b, `<div hidden class="item" id="`+c.ID()+`" style="display:none;width:100%;height:`) {
				t.Errorf("no hidden, full-width interactive div")
			}
			for _, bad := range []string{`class="container"`, "<!--", "let goecharts_", "<script src", echartsJS[:200]} {
				if strings.Contains(b, bad) {
					t.Errorf("block contains %q", bad)
				}
			}
			if n := strings.Count(strings.ToLower(b), "</script"); n != 1 {
				t.Errorf("block has %d </script, want 1", n)
			}
			if !strings.Contains(b, `if (typeof window.echarts !== "undefined") { draw(); }`) {
				t.Errorf("script is not guarded on window.echarts")
			}
		})
	}
	c := Line("evil_2", `a </script><script>alert(1)</script> <!-- "b"`, []Series{{Name: "</SCRIPT>", X: []float64{1}, Y: []float64{2}}}, Axes{})
	b := c.Block()
	if n := strings.Count(strings.ToLower(b), "</script"); n != 1 || strings.Contains(b, "<!--") {
		t.Errorf("a title with </script> or <!-- escaped the block's script:\n%s", b)
	}
	if !strings.Contains(b, `alt="a &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &lt;!-- &#34;b&#34;"`) {
		t.Errorf("alt text not escaped:\n%.300s", b)
	}
}

// blockRun is what the stand-in browser saw when it ran a Block's script.
type blockRun struct {
	Polls int    `json:"polls"`
	Img   string `json:"img"`  // the static image's display
	Live  string `json:"live"` // the interactive div's display
	Init  []any  `json:"init"` // [same element, theme, renderer]
	// Option summarises the first setOption: series count and the type of
	// each series' renderItem ("function" for error bars).
	Option struct {
		Series     int      `json:"series"`
		RenderItem []string `json:"renderItem"`
		Title      string   `json:"title"`
	} `json:"option"`
	Ranges []float64 `json:"ranges"` // an equal chart's second setOption: x min, x max, y min, y max
}

// runBlock runs c's Block script in Node with a stand-in for the page:
// mode "now" defines window.echarts before the script, "later" after its
// third poll, "never" not at all. Timers run in order, without waiting.
func runBlock(t *testing.T, node string, c *Chart, mode string) blockRun {
	t.Helper()
	b := c.Block()
	i := strings.Index(b, `<script type="text/javascript">`)
	j := strings.LastIndex(b, "</script>")
	script := b[i+len(`<script type="text/javascript">`) : j]
	harness := `var ID = ` + strconvQuote(c.ID()) + `, MODE = ` + strconvQuote(mode) + `;
var img = {style: {display: "block"}};
var el = {style: {display: "none"}, clientWidth: 800, clientHeight: 440, attrs: {},
	getAttribute: function (k) { return this.attrs[k]; }, setAttribute: function (k, v) { this.attrs[k] = v; },
	parentNode: {querySelector: function (q) { return q === "img.alignlab-static" ? img : null; }}};
var document = {getElementById: function (id) { return id === ID ? el : null; }};
var queue = [];
function setTimeout(f) { queue.push(f); }
var out = {polls: 0, init: null, option: null, ranges: null};
var fake = {init: function (e, theme, o) {
	out.init = [e === el, theme, o.renderer];
	return {
		setOption: function (opt) {
			if (!out.option) {
				out.option = {series: opt.series.length, title: opt.title.text,
					renderItem: opt.series.map(function (s) { return typeof s.renderItem; })};
			} else if (opt.xAxis) {
				out.ranges = [opt.xAxis[0].min, opt.xAxis[0].max, opt.yAxis[0].min, opt.yAxis[0].max];
			}
		},
		resize: function () {}, dispose: function () {}
	};
}};
var window = {addEventListener: function () {}};
if (MODE === "now") { window.echarts = fake; }
` + script + `
while (queue.length) {
	out.polls++;
	if (MODE === "later" && out.polls === 3) { window.echarts = fake; }
	queue.shift()();
}
out.img = img.style.display;
out.live = el.style.display;
console.log(JSON.stringify(out));
`
	got, err := exec.Command(node, "-e", harness).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, got)
	}
	var r blockRun
	if err := json.Unmarshal(got, &r); err != nil {
		t.Fatalf("%v: %s", err, got)
	}
	return r
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestBlockScript runs a Block's script in Node against a stand-in page.
// With the library there (at once or after a few polls) the interactive
// chart replaces the image, with the error bars' renderItem as code; with
// no library the script gives up after 50 polls (5 s) and leaves the image.
// An equal-axes chart sets ranges with one unit as long on both axes of
// its real plot area.
func TestBlockScript(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed; make notebooks checks the charts in a browser")
	}
	var lineErr *Chart
	for _, c := range goldenCharts() {
		if c.ID() == "line_err" {
			lineErr = c
		}
	}
	for _, tc := range []struct {
		mode      string
		polls     int
		img, live string
	}{
		{"now", 0, "none", "block"},
		{"later", 3, "none", "block"},
		{"never", libraryPolls, "block", "none"},
	} {
		r := runBlock(t, node, lineErr, tc.mode)
		if r.Polls != tc.polls || r.Img != tc.img || r.Live != tc.live {
			t.Errorf("%s: %d polls, image %q, chart %q; want %d, %q, %q", tc.mode, r.Polls, r.Img, r.Live, tc.polls, tc.img, tc.live)
		}
		if tc.mode == "never" {
			continue
		}
		if want := []any{true, "white", "svg"}; !equalJSON(r.Init, want) {
			t.Errorf("%s: init %v, want %v", tc.mode, r.Init, want)
		}
		if got := strings.Join(r.Option.RenderItem, ","); r.Option.Series != 3 || got != "undefined,undefined,function" || r.Option.Title != "Mean ± s.e." {
			t.Errorf("%s: option with %d series, renderItem %s, title %q", tc.mode, r.Option.Series, got, r.Option.Title)
		}
	}

	const tol = 1e-9
	r := runBlock(t, node, ringScatter(400, true), "now")
	if len(r.Ranges) != 4 {
		t.Fatalf("an equal chart set no axis ranges: %+v", r)
	}
	c := ringScatter(400, true)
	w := 800 - float64(c.fig.grid[0]+c.fig.grid[1])
	h := 440 - float64(c.fig.grid[2]+c.fig.grid[3])
	if ux, uy := (r.Ranges[1]-r.Ranges[0])/w, (r.Ranges[3]-r.Ranges[2])/h; math.Abs(ux-uy) > tol*ux {
		t.Errorf("equal chart: %g units per px across, %g up", ux, uy)
	}
}
