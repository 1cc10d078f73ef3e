package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alignlab/alignlab/plots"
)

func TestDataURI(t *testing.T) {
	svg := `<svg xmlns="http://www.w3.org/2000/svg"/>`
	b64 := base64.StdEncoding.EncodeToString([]byte(svg))
	for _, tc := range []struct {
		name, src, media, data, err string
	}{
		{"base64", "data:image/svg+xml;base64," + b64, "image/svg+xml", svg, ""},
		{"base64 with charset and line breaks", "data:image/svg+xml;charset=utf-8;base64," + b64[:10] + "\n" + b64[10:], "image/svg+xml", svg, ""},
		{"percent-encoded", "data:image/svg+xml;utf8," + url.PathEscape(svg), "image/svg+xml", svg, ""},
		{"png", "data:image/png;base64,iVBORw0KGgo=", "image/png", "\x89PNG\r\n\x1a\n", ""},
		{"bad base64", "data:image/svg+xml;base64,@@@", "image/svg+xml", "", "bad base64"},
		{"no comma", "data:image/svg+xml;base64", "", "", "without a comma"},
		{"a file", "chart.svg", "", "", "not a data: URI"},
		{"empty", "", "", "", "no src"},
	} {
		media, data, err := dataURI(tc.src)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: got error %v, want one saying %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || media != tc.media || string(data) != tc.data {
			t.Errorf("%s: got %q, %q, %v; want %q, %q", tc.name, media, data, err, tc.media, tc.data)
		}
	}
}

func TestCountSVG(t *testing.T) {
	const open = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 100 100">`
	for _, tc := range []struct {
		name, svg            string
		drawn, texts, script int
		external             int
		err                  string
	}{
		{"fixture chart", fixtureSVG("t"), 27, 12, 0, 0, ""},
		{"empty", emptySVG, 0, 0, 0, 0, ""},
		{"shapes", open + `<rect width="10" height="5"/><circle r="2"/><ellipse rx="1" ry="2"/><line x1="0" x2="5" stroke="#000"/>` +
			`<polyline points="0,0 1,1" stroke="red" fill="none"/><polygon points="0,0 1,1 2,0"/><path d="M0 0L1 1" stroke="red"/></svg>`, 7, 0, 0, 0, ""},
		{"no geometry", open + `<rect width="0" height="5"/><circle/><path d=""/><polyline points="1,1"/><line x1="1" x2="1" y1="2" y2="2" stroke="red"/></svg>`, 0, 0, 0, 0, ""},
		{"no paint", open + `<path d="M0 0L1 1" fill="none"/><line x1="0" x2="5"/><g fill="none"><rect width="1" height="1"/><rect width="1" height="1" stroke="red"/></g>` +
			`<rect width="1" height="1" style="fill: none; stroke: none"/></svg>`, 1, 0, 0, 0, ""},
		{"hidden", open + `<g display="none"><rect width="1" height="1"/><text>a</text></g><rect width="1" height="1" visibility="hidden"/>` +
			`<g opacity="0"><circle r="3"/></g><rect width="1" height="1" style="display:none"/></svg>`, 0, 0, 0, 0, ""},
		{"defs and clip paths", open + `<defs><path id="p" d="M0 0L1 1"/></defs><clipPath id="c"><rect width="5" height="5"/></clipPath>` +
			`<title>chart</title><desc>text</desc><use href="#p"/></svg>`, 1, 0, 0, 0, ""},
		{"texts", open + `<text x="1">a<tspan>b</tspan></text><text><tspan> c </tspan></text><text> </text><text fill="none">d</text></svg>`, 2, 2, 0, 0, ""},
		{"scripts", open + `<script>alert(1)</script><rect width="1" height="1" onclick="x()"/></svg>`, 1, 0, 2, 0, ""},
		{"external", open + `<image href="https://example.com/a.png"/><use xlink:href="other.svg#x"/><use href="#local"/><image href="data:image/png;base64,AA=="/></svg>`, 2, 0, 0, 2, ""},
		{"not svg", `<html><body/></html>`, 0, 0, 0, 0, "not <svg>"},
		{"malformed", open + `<rect width="1"`, 0, 0, 0, 0, "not well-formed"},
		{"nothing", ``, 0, 0, 0, 0, "no <svg>"},
	} {
		st, err := countSVG([]byte(tc.svg))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: got error %v, want one saying %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if st.Drawn != tc.drawn || st.Texts != tc.texts || st.Scripts != tc.script || len(st.External) != tc.external {
			t.Errorf("%s: got drawn %d, texts %d, scripts %d, external %q; want %d, %d, %d, %d external",
				tc.name, st.Drawn, st.Texts, st.Scripts, st.External, tc.drawn, tc.texts, tc.script, tc.external)
		}
	}
}

// pngOf encodes a w×h white picture with n dark pixels and one faint one.
func pngOf(t *testing.T, w, h, n int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.White)
		}
	}
	for i := range n {
		img.Set(i%w, i/w, color.RGBA{20, 60, 200, 255})
	}
	img.Set(w-1, h-1, color.RGBA{250, 250, 250, 255}) // anti-aliasing noise: not ink
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestInk(t *testing.T) {
	for _, tc := range []struct {
		w, h, n int
		enough  bool
	}{
		{200, 100, 0, false},
		{200, 100, minInkPixels - 1, false},
		{200, 100, minInkPixels, true},
		{1000, 1000, 2000, false}, // 0.2 % of a large image
		{1000, 1000, 4000, true},
	} {
		inked, total, err := ink(pngOf(t, tc.w, tc.h, tc.n))
		if err != nil {
			t.Fatal(err)
		}
		if inked != tc.n || total != tc.w*tc.h || enoughInk(inked, total) != tc.enough {
			t.Errorf("%dx%d with %d dark pixels: got %d of %d, enough %v; want %d, enough %v",
				tc.w, tc.h, tc.n, inked, total, enoughInk(inked, total), tc.n, tc.enough)
		}
	}
	if _, _, err := ink([]byte("not a png")); err == nil {
		t.Error("ink of a non-PNG: got nil error")
	}
}

func svgSrc(svg string) string {
	return "data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString([]byte(svg))
}

func TestPositionShows(t *testing.T) {
	good := staticImage{Src: svgSrc(fixtureSVG("t")), Alt: "t", Complete: true, NaturalWidth: 900, NaturalHeight: 440,
		Visible: true, Box: rect{W: 900, H: 440}, Captured: true, Inked: 30000, Pixels: 396000}
	with := func(f func(im *staticImage)) chartPosition {
		im := good
		f(&im)
		im.inspect()
		return chartPosition{Kind: "static", ID: "c", Found: true, Images: []staticImage{im}}
	}
	for _, tc := range []struct {
		name string
		pos  chartPosition
		why  string // "" if it shows
	}{
		{"good", with(func(*staticImage) {}), ""},
		{"old kind", chartPosition{Kind: "echarts", ID: "c", Found: true}, "interactive-only chart"},
		{"script without element", chartPosition{Kind: "echarts", ID: "c"}, "no element"},
		{"block without image", chartPosition{Kind: "static", ID: "c", Found: true}, "no img.alignlab-static"},
		{"empty svg", with(func(im *staticImage) { im.Src = svgSrc(emptySVG) }), "draws 0 elements"},
		{"not decoded", with(func(im *staticImage) { im.NaturalWidth = 0 }), "could not decode"},
		{"hidden", with(func(im *staticImage) { im.Visible = false }), "not visible"},
		{"tiny", with(func(im *staticImage) { im.Box = rect{W: 100, H: 50} }), "smaller than"},
		{"blank", with(func(im *staticImage) { im.Inked = 3 }), "looks blank"},
		{"not captured", with(func(im *staticImage) { im.Captured = false; im.CaptureErr = "gone" }), "no picture"},
		{"external", with(func(im *staticImage) { im.Src = "https://example.com/c.svg" }), "not a data: URI"},
		{"not an image", with(func(im *staticImage) { im.Src = "data:text/html;base64,PGI+" }), "not an image"},
		{"script in svg", with(func(im *staticImage) {
			im.Src = svgSrc(strings.Replace(fixtureSVG("t"), "</svg>", "<script>x()</script></svg>", 1))
		}), "scripts"},
		{"png", with(func(im *staticImage) { im.Src = "data:image/png;base64,iVBORw0KGgo=" }), ""},
	} {
		ok, why := tc.pos.Shows()
		if ok != (tc.why == "") || !strings.Contains(why, tc.why) {
			t.Errorf("%s: got %v, %q; want it to say %q", tc.name, ok, why, tc.why)
		}
	}
	// One good image among bad ones is enough.
	p := with(func(*staticImage) {})
	p.Images = append([]staticImage{{Src: svgSrc(emptySVG)}}, p.Images...)
	p.Images[0].inspect()
	if ok, why := p.Shows(); !ok {
		t.Errorf("a good image after a bad one: got %q", why)
	}
}

func TestChartsInHTML(t *testing.T) {
	series := []plots.Series{{Name: "loss", X: []float64{1, 2}, Y: []float64{1, 0.5}}}
	old := plots.Line("old_chart", "old", series, plots.Axes{}).Snippet()
	block := fixtureBlock("new_chart", "new", fixtureSVG("new"), "") +
		`<script>var el = document.getElementById("new_chart"); echarts.init(document.getElementById('new_chart'));</script>`
	for _, tc := range []struct {
		name, html string
		want       int
	}{
		{"nothing", "<p>text</p>", 0},
		{"old kind", old, 1},
		{"block", block, 1},
		{"block and old kind", block + old, 2},
		{"two blocks, class among others", `<div data-chart-id="a" class="x alignlab-chart"></div><div class='alignlab-chart' data-chart-id='b'></div>`, 2},
	} {
		if got := chartsInHTML(tc.html); got != tc.want {
			t.Errorf("%s: got %d chart positions, want %d", tc.name, got, tc.want)
		}
	}
}

func TestExpectations(t *testing.T) {
	var nb notebook
	if err := json.Unmarshal(untrustedFixture(), &nb); err != nil {
		t.Fatal(err)
	}
	var charts []int
	var md []int
	for _, c := range expectations(&nb) {
		charts = append(charts, c.Charts)
		md = append(md, len(c.Markdown))
	}
	if got, want := jsonOf(charts), "[0,1,1,0,0,1]"; got != want {
		t.Errorf("charts per cell: got %s, want %s", got, want)
	}
	if got, want := jsonOf(md), "[0,0,0,1,1,0]"; got != want {
		t.Errorf("Markdown outputs per cell: got %s, want %s", got, want)
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestMarkdownShown(t *testing.T) {
	for _, tc := range []struct {
		name, text, md string
		want           bool
	}{
		{"rendered", "Top model: ember-7b, rating 1148.", "Top model: **ember-7b**, rating 1148.", true},
		{"plain twin", "Top model: **ember-7b**, rating 1148.", "Top model: **ember-7b**, rating 1148.", true},
		{"among other outputs", "loss\n0.5\nTop model: ember-7b, rating 1148.\nmore", "Top model: **ember-7b**, rating 1148.", true},
		{"missing", "loss 0.5", "Top model: **ember-7b**, rating 1148.", false},
		{"other number", "Top model: ember-7b, rating 1149.", "Top model: **ember-7b**, rating 1148.", false},
		{"math rendered differently", "log-loss 0.662 with β=0.1 — see the paper.", `log-loss **0.662** with $\beta = 0.1$ — see [the paper](https://arxiv.org/abs/2305.18290).`, true},
		{"table", "model\trating\nember\t1148\n", "| model | rating |\n|---|---|\n| ember | 1148 |", true},
		{"html in markdown", "a\nb", "a<br>b", true},
		{"only math", "", "$x^2$", true},
	} {
		if got := markdownShown(tc.text, tc.md); got != tc.want {
			t.Errorf("%s: got %v, want %v (pieces %q)", tc.name, got, tc.want, markdownPieces(tc.md))
		}
	}
}

// untrustedPage is a probe report of the untrusted fixture as classic
// Jupyter shows it: cell 2's block kept its image, cell 3's interactive-only
// chart is an empty div, cell 4's Markdown was dropped, cell 5's plain twin
// shows, cell 6's image is empty.
func untrustedPage(t *testing.T) *jupyterPage {
	t.Helper()
	shown := func(svg string) []chartPosition {
		im := staticImage{Src: svgSrc(svg), Complete: true, NaturalWidth: 900, NaturalHeight: 440, Visible: true,
			Box: rect{W: 900, H: 440}, Captured: true, Inked: 20000, Pixels: 396000}
		if svg == emptySVG {
			im.Inked = 0
		}
		im.inspect()
		return []chartPosition{{Kind: "static", Found: true, Images: []staticImage{im}}}
	}
	return &jupyterPage{Cells: []jupyterCell{
		{Type: "markdown"},
		{Type: "code", Outputs: 1, Positions: shown(fixtureSVG("good"))},
		{Type: "code", Outputs: 1},
		{Type: "code"},
		{Type: "code", Outputs: 1, Text: "Held-out log-loss **0.662** with $\\beta = 0.1$ — see [the paper](https://arxiv.org/abs/2305.18290)."},
		{Type: "code", Outputs: 1, Positions: shown(emptySVG)},
	}}
}

func TestCompareUntrusted(t *testing.T) {
	var nb notebook
	if err := json.Unmarshal(untrustedFixture(), &nb); err != nil {
		t.Fatal(err)
	}
	page := untrustedPage(t)
	r := compareUntrusted(page, expectations(&nb))
	if got := [2]int{r.ChartsShown, r.Charts}; got != untrustedFixtureCharts {
		t.Errorf("charts: got %v, want %v", got, untrustedFixtureCharts)
	}
	if got := [2]int{r.MarkdownShown, r.Markdown}; got != untrustedFixtureMarkdown {
		t.Errorf("markdown: got %v, want %v", got, untrustedFixtureMarkdown)
	}
	want := []string{"cell 3: 0 of its 1 charts", "cell 4: Markdown output not shown", "cell 6: 0 of its 1 charts"}
	if len(r.Problems) != len(want) {
		t.Fatalf("got problems %q, want %d", r.Problems, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(r.Problems[i], w) {
			t.Errorf("problem %d: got %q, want it to start %q", i, r.Problems[i], w)
		}
	}

	page.Trusted = true
	page.Cells = page.Cells[:5]
	r = compareUntrusted(page, expectations(&nb))
	all := strings.Join(r.Problems, "|")
	for _, w := range []string{"the notebook is trusted here", "the page has 5 cells, the notebook 6", "cell 6: 0 of its 1 charts"} {
		if !strings.Contains(all, w) {
			t.Errorf("got problems %q, want one saying %q", r.Problems, w)
		}
	}
}

func TestCompareLayout(t *testing.T) {
	page := &jupyterPage{Trusted: true, ScrollWidth: 1280, ClientWidth: 1280, Cells: []jupyterCell{
		{Type: "code", Positions: []chartPosition{{Kind: "static"}}, Interactive: 1},
		{Type: "code", Folded: true},
		{Type: "code", Overflow: []overflow{{Output: 1, ScrollWidth: 1146, ClientWidth: 979}}},
	}}
	r := compareLayout(page)
	if r.Folded != 1 || r.Overflowing != 1 || r.Charts != 1 || r.Interactive != 1 || len(r.Problems) != 2 ||
		!strings.HasPrefix(r.Problems[0], "cell 2: its output is folded") ||
		r.Problems[1] != "cell 3: output 2 is 1146 px wide in 979 px: a horizontal scrollbar" {
		t.Errorf("got %+v", r)
	}
	page = &jupyterPage{ScrollWidth: 1400, ClientWidth: 1280}
	r = compareLayout(page)
	if all := strings.Join(r.Problems, "|"); !strings.Contains(all, "not trusted") || !strings.Contains(all, "1400 px wide in a 1280 px window") {
		t.Errorf("got %q", r.Problems)
	}
	if r := compareLayout(&jupyterPage{Trusted: true}); len(r.Problems) != 0 {
		t.Errorf("a clean page: got %q", r.Problems)
	}
}

func TestInjectMarker(t *testing.T) {
	got := string(injectMarker([]byte("<html><HEAD lang=en><title>t</title></head><body></body></html>")))
	if !strings.HasPrefix(got, "<html><HEAD lang=en><script>") || !strings.Contains(got, scriptMarker) {
		t.Errorf("the marker must open the head: %s", got)
	}
	if got := string(injectMarker([]byte("<p>no head</p>"))); !strings.HasPrefix(got, "<script>") {
		t.Errorf("without a head the marker goes first: %s", got)
	}
}

func needChromium(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath(chromiumPath()); err != nil {
		t.Skipf("no Chromium at %s (apt-get install chromium)", chromiumPath())
	}
}

// TestStaticCatchesBrokenCharts is the negative test of the JavaScript-off
// check in headless Chromium: the fixture's good chart shows its image
// (even though a script on the page would hide it, were scripts on) and
// each broken one is reported.
func TestStaticCatchesBrokenCharts(t *testing.T) {
	needChromium(t)
	var out bytes.Buffer
	if err := selftestStatic(context.Background(), t.TempDir(), &out); err != nil {
		t.Fatal(err)
	}
}

// TestNojsExitStatus runs "nbcheck nojs" on one-chart pages: a page passes
// only if its chart shows a static image.
func TestNojsExitStatus(t *testing.T) {
	needChromium(t)
	series := []plots.Series{{Name: "loss", X: []float64{1, 2, 3}, Y: []float64{1, 0.5, 0.3}}}
	dir := t.TempDir()
	for _, tc := range []struct {
		name, body string
		want       int
		says       string
	}{
		{"good", fixtureBlock("a", "good", fixtureSVG("good"), ""), 0, "1/1 charts show a static image"},
		{"no static image", plots.Line("b", "old", series, plots.Axes{}).Snippet(), 1, "0/1 charts"},
		{"empty svg", fixtureBlock("c", "empty", emptySVG, ""), 1, "0/1 charts"},
		{"no chart", "<p>text</p>", 0, "0/0 charts"},
	} {
		page := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".html")
		if err := os.WriteFile(page, []byte("<!DOCTYPE html><html><head></head><body>"+tc.body+"</body></html>"), 0o644); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		shot := filepath.Join(dir, "shot.png")
		code := run([]string{"nojs", "-screenshot", shot, page}, &stdout, &stderr)
		if code != tc.want || !strings.Contains(stdout.String(), tc.says) {
			t.Errorf("%s: got exit %d, %q, %q; want %d and %q", tc.name, code, stdout.String(), stderr.String(), tc.want, tc.says)
		}
		if st, err := os.Stat(shot); err != nil || st.Size() == 0 {
			t.Errorf("%s: no screenshot: %v", tc.name, err)
		}
		os.Remove(shot)
	}
}

// startJupyter starts a classic Jupyter server on a free port with scratch
// Jupyter dirs (nothing trusted, no kernel) serving dir, and returns its
// base URL; it stops with the test.
func startJupyter(t *testing.T, dir string) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import notebook.notebookapp").Run(); err != nil {
		t.Skipf("no classic Jupyter Notebook for %s (apt-get install jupyter-notebook): %v", py, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	scratch := t.TempDir()
	cmd := exec.Command(py, "-m", "notebook", "--no-browser", "--allow-root", "--ip=127.0.0.1", fmt.Sprintf("--port=%d", port),
		"--NotebookApp.token=", "--NotebookApp.password=", "--notebook-dir="+dir)
	cmd.Env = append(os.Environ(), "JUPYTER_DATA_DIR="+filepath.Join(scratch, "data"),
		"JUPYTER_CONFIG_DIR="+filepath.Join(scratch, "config"), "JUPYTER_RUNTIME_DIR="+filepath.Join(scratch, "runtime"))
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	for range 120 {
		if resp, err := http.Get(base + "/api"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("the Jupyter server did not answer at %s: %s", base, log.String())
	return ""
}

// TestUntrustedCatchesBrokenOutputs is the negative test of the
// untrusted-copy check in a real Jupyter server: of the fixture notebook's
// outputs, the chart with its static image and the Markdown with a
// plain-text twin show; the interactive-only chart, the Markdown alone and
// the empty image are reported.
func TestUntrustedCatchesBrokenOutputs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Jupyter server and Chromium")
	}
	needChromium(t)
	dir := t.TempDir()
	base := startJupyter(t, dir)
	var out bytes.Buffer
	if err := selftestUntrusted(context.Background(), base, dir, &out); err != nil {
		t.Fatal(err)
	}
}
