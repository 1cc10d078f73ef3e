package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Chromium is the browser the checks drive; CHROMIUM overrides it.
func chromiumPath() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// chromiumFlags keep a headless Chromium from reaching the network or a
// profile, so a check runs the same on any machine. The virtual time budget
// lets timers (the probe's, ECharts' animations) run without waiting in real
// time.
var chromiumFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--virtual-time-budget=15000",
}

// initCall finds the charts a page means to draw: go-echarts initializes
// each with echarts.init(document.getElementById('ID'), ...); blockID
// finds those of plots.Chart.Block, whose script looks its element up by
// the block's data-chart-id.
var (
	initCall = regexp.MustCompile(`echarts\.init\(\s*document\.getElementById\(\s*['"]([A-Za-z0-9_]+)['"]`)
	blockID  = regexp.MustCompile(`<div\b[^>]*\bdata-chart-id\s*=\s*["']([A-Za-z0-9_]+)["']`)
)

// expectedCharts returns the IDs of the charts the page's source
// initializes (never nil: the probes read it as a JSON array).
func expectedCharts(page []byte) []string {
	seen := map[string]bool{}
	ids := []string{}
	for _, re := range []*regexp.Regexp{initCall, blockID} {
		for _, m := range re.FindAllSubmatch(page, -1) {
			id := string(m[1])
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	return ids
}

// resultMarker surrounds the probe's JSON in the dumped DOM (probeJS
// spells it in two pieces).
const resultMarker = "NBCHECK_RESULT"

// catcherJS records uncaught script errors from the start of the page, to
// explain a chart that did not draw.
const catcherJS = `<script>window.__nbcheckErrors = [];
window.addEventListener('error', function (e) { window.__nbcheckErrors.push(String(e.message || e)); });</script>
`

// probeJS runs after the page's scripts and timers: for every chart
// element (those the source initializes, and any ECharts instance) it
// records whether ECharts owns it and what it drew — SVG paths, or
// non-transparent pixels of its canvases — and writes that as JSON into the
// DOM, which --dump-dom prints.
const probeJS = `<script>
(function () {
  function probe() {
    var ids = %s;
    var seen = {};
    var all = document.querySelectorAll('[_echarts_instance_]');
    for (var i = 0; i < all.length; i++) {
      if (all[i].id && ids.indexOf(all[i].id) < 0) { ids.push(all[i].id); }
    }
    var out = {charts: [], unnamed: 0, errors: window.__nbcheckErrors || [],
               height: document.documentElement.scrollHeight};
    for (var i = 0; i < all.length; i++) { if (!all[i].id) { out.unnamed++; } }
    for (var k = 0; k < ids.length; k++) {
      var el = document.getElementById(ids[k]);
      var r = {id: ids[k], found: !!el, instance: false, paths: 0, pixels: 0, width: 0, height: 0};
      if (el) {
        r.instance = el.hasAttribute('_echarts_instance_');
        r.paths = el.querySelectorAll('svg path').length;
        r.width = el.clientWidth; r.height = el.clientHeight;
        var cs = el.querySelectorAll('canvas');
        for (var c = 0; c < cs.length; c++) {
          try {
            var d = cs[c].getContext('2d').getImageData(0, 0, cs[c].width, cs[c].height).data;
            for (var p = 3; p < d.length; p += 16) { if (d[p] !== 0) { r.pixels++; } }
          } catch (e) { out.errors.push('canvas ' + ids[k] + ': ' + e); }
        }
      }
      out.charts.push(r);
    }
    var pre = document.createElement('pre');
    var mark = 'NBCHECK' + '_RESULT'; // split, so the script's own text does not hold the marker
    pre.textContent = mark + JSON.stringify(out) + mark;
    document.body.appendChild(pre);
  }
  setTimeout(probe, 3000);
})();
</script>
`

// injectProbe adds the error catcher after <head> and the probe before the
// LAST </body>: the inlined ECharts library contains "</body>" too.
func injectProbe(page []byte) ([]byte, error) {
	i := bytes.LastIndex(page, []byte("</body>"))
	if i < 0 {
		return nil, fmt.Errorf("no </body> in the page")
	}
	ids, _ := json.Marshal(expectedCharts(page))
	var b bytes.Buffer
	b.Grow(len(page) + 4096)
	head := headTag.FindIndex(page[:i])
	if head != nil {
		b.Write(page[:head[1]])
		b.WriteString(catcherJS)
		b.Write(page[head[1]:i])
	} else {
		b.Write(page[:i])
	}
	fmt.Fprintf(&b, probeJS, ids)
	b.Write(page[i:])
	return b.Bytes(), nil
}

var headTag = regexp.MustCompile(`(?i)<head(\s[^>]*)?>`)

// chartState is what the probe saw of one chart.
type chartState struct {
	ID       string `json:"id"`
	Found    bool   `json:"found"`
	Instance bool   `json:"instance"`
	Paths    int    `json:"paths"`
	Pixels   int    `json:"pixels"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
}

// Drew reports whether ECharts drew the chart where a reader sees it: an
// instance, on an element with a size, that produced SVG paths or painted
// canvas pixels. (ECharts draws into a hidden element that has a styled size.)
func (c chartState) Drew() bool {
	return c.Found && c.Instance && c.Width > 0 && c.Height > 0 && (c.Paths > 0 || c.Pixels > 0)
}

// Why says what is wrong with a chart that did not draw.
func (c chartState) Why() string {
	switch {
	case !c.Found:
		return "no element with this ID in the page"
	case !c.Instance:
		return "ECharts never initialized it (script error? library not loaded?)"
	case c.Width == 0 || c.Height == 0:
		return fmt.Sprintf("its element has no size on the page (%dx%d): hidden or collapsed", c.Width, c.Height)
	}
	return "ECharts drew nothing in it"
}

type probeResult struct {
	Charts  []chartState `json:"charts"`
	Unnamed int          `json:"unnamed"`
	Errors  []string     `json:"errors"`
	Height  int          `json:"height"` // of the whole page, in CSS pixels
}

// parseProbe finds the probe's JSON in a dumped DOM.
func parseProbe(dom []byte) (*probeResult, error) {
	s := string(dom)
	i := strings.Index(s, resultMarker)
	if i < 0 {
		return nil, fmt.Errorf("the probe did not report (the page never finished loading, or its scripts were blocked)")
	}
	j := strings.Index(s[i+len(resultMarker):], resultMarker)
	if j < 0 {
		return nil, fmt.Errorf("the probe's report is cut")
	}
	raw := html.UnescapeString(s[i+len(resultMarker) : i+len(resultMarker)+j])
	var r probeResult
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return nil, fmt.Errorf("the probe's report: %v", err)
	}
	return &r, nil
}

// runChromium runs a headless Chromium on a file with a fresh profile.
func runChromium(ctx context.Context, file string, extra ...string) ([]byte, error) {
	profile, err := os.MkdirTemp("", "nbcheck-chromium-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(profile)
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	args := append(append(append([]string{}, chromiumFlags...), "--user-data-dir="+profile), extra...)
	args = append(args, "file://"+abs)
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromiumPath(), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %v: %s", chromiumPath(), err, lastLines(stderr.String(), 3))
	}
	return stdout.Bytes(), nil
}

// checkPage opens page (an HTML file) in Chromium with the probe and
// reports every chart. The probed copy is written next to it.
func checkPage(ctx context.Context, page string) (*probeResult, error) {
	src, err := os.ReadFile(page)
	if err != nil {
		return nil, err
	}
	probed, err := injectProbe(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", page, err)
	}
	probedPath := strings.TrimSuffix(page, filepath.Ext(page)) + ".probe.html"
	if err := os.WriteFile(probedPath, probed, 0o644); err != nil {
		return nil, err
	}
	dom, err := runChromium(ctx, probedPath, "--dump-dom")
	if err != nil {
		return nil, err
	}
	res, err := parseProbe(dom)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", page, err)
	}
	return res, nil
}

// screenshot writes a PNG of page as a 1280-wide window shows it.
func screenshot(ctx context.Context, page, png string, height int) error {
	abs, err := filepath.Abs(png)
	if err != nil {
		return err
	}
	_, err = runChromium(ctx, page, "--screenshot="+abs, fmt.Sprintf("--window-size=1280,%d", height), "--hide-scrollbars")
	if err != nil {
		return err
	}
	if _, err := os.Stat(abs); err != nil {
		return fmt.Errorf("chromium wrote no screenshot: %v", err)
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
