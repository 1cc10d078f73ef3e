package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode"
)

// The checks in a real classic Jupyter server: an untrusted copy of an
// executed notebook must show every chart (its static image) and every
// Markdown output; a trusted copy must fit the page (no output wider than
// the notebook, no output folded into a scroll box).
//
// What the untrusted view keeps (classic Notebook 6.4, its sanitize-html
// allow-list): text/html is sanitized — scripts, <style>, inline <svg>,
// data-* attributes and every style attribute go; <img> with a data: URI,
// class, id, alt, width and height stay. text/markdown and image/svg+xml
// are not shown at all; text/plain, image/png, image/jpeg are.

// cellExpect is what one cell of an executed notebook should show.
type cellExpect struct {
	Charts   int      // chart positions in its outputs
	Markdown []string // its Markdown outputs
}

var (
	blockDiv    = regexp.MustCompile(`<div\b[^>]*\bclass\s*=\s*["'][^"']*\balignlab-chart\b[^>]*>`)
	blockDataID = regexp.MustCompile(`\bdata-chart-id\s*=\s*["']([A-Za-z0-9_]+)["']`)
)

// chartsInHTML counts the chart positions of an output's HTML: each
// div.alignlab-chart, and each chart a script initialises that is not one
// of those.
func chartsInHTML(h string) int {
	blocks := blockDiv.FindAllString(h, -1)
	ids := map[string]bool{}
	for _, b := range blocks {
		if m := blockDataID.FindStringSubmatch(b); m != nil {
			ids[m[1]] = true
		}
	}
	n := len(blocks)
	for _, id := range expectedCharts([]byte(h)) {
		if !ids[id] {
			n++
		}
	}
	return n
}

// expectations reads, for each cell, the chart positions and Markdown
// outputs that the executed notebook holds.
func expectations(nb *notebook) []cellExpect {
	out := make([]cellExpect, len(nb.Cells))
	for i, c := range nb.Cells {
		for _, o := range c.Outputs {
			if h, ok := o.Data["text/html"]; ok {
				out[i].Charts += chartsInHTML(string(h))
			}
			if md, ok := o.Data["text/markdown"]; ok {
				out[i].Markdown = append(out[i].Markdown, string(md))
			}
		}
	}
	return out
}

var (
	mdMath = regexp.MustCompile(`\$\$[\s\S]*?\$\$|\$[^$\n]+\$|\\\([\s\S]*?\\\)`)
	mdLink = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
	mdTag  = regexp.MustCompile(`<[^>]+>`)
)

// words splits text into its runs of letters and digits: Markdown
// punctuation, table rules and the whitespace of a rendering all drop out.
func words(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// markdownPieces returns the word sequences a reader must see of a
// Markdown text, whether it is rendered or shown as its plain-text twin:
// the text between math spans (MathJax renders those its own way), with
// links reduced to their text and HTML tags dropped.
func markdownPieces(md string) [][]string {
	md = mdLink.ReplaceAllString(md, "$1")
	var pieces [][]string
	for _, part := range mdMath.Split(md, -1) {
		if w := words(mdTag.ReplaceAllString(part, " ")); len(w) > 0 {
			pieces = append(pieces, w)
		}
	}
	return pieces
}

// containsWords reports whether needle occurs in hay as consecutive words.
func containsWords(hay, needle []string) bool {
	if len(needle) == 0 {
		return true
	}
outer:
	for i := 0; i+len(needle) <= len(hay); i++ {
		for k, w := range needle {
			if hay[i+k] != w {
				continue outer
			}
		}
		return true
	}
	return false
}

// markdownShown reports whether text (what a cell's outputs show) holds
// every piece of md.
func markdownShown(text, md string) bool {
	hay := words(text)
	for _, p := range markdownPieces(md) {
		if !containsWords(hay, p) {
			return false
		}
	}
	return true
}

// jupyterCell is what the probe saw of one cell in the Jupyter page.
type jupyterCell struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`    // the visible text of its outputs
	Outputs   int             `json:"outputs"` // output areas shown
	Folded    bool            `json:"folded"`  // the output is in a scroll box (class output_scroll)
	Overflow  []overflow      `json:"overflow"`
	Positions []chartPosition `json:"positions"`
	// Interactive counts the elements ECharts drew into.
	Interactive int `json:"interactive"`
}

// overflow is an output wider than its area: it has a horizontal scrollbar.
type overflow struct {
	Output      int `json:"output"`
	ScrollWidth int `json:"scrollWidth"`
	ClientWidth int `json:"clientWidth"`
}

// jupyterPage is what the probe saw of a notebook page.
type jupyterPage struct {
	Trusted     bool          `json:"trusted"`
	ScrollWidth int           `json:"scrollWidth"` // of the page
	ClientWidth int           `json:"clientWidth"`
	Cells       []jupyterCell `json:"cells"`
}

// jupyterProbeJS reports every cell of the open notebook.
const jupyterProbeJS = `(function () {` + positionsJS + `
  var nb = Jupyter.notebook, cells = nb.get_cells(), de = document.documentElement;
  var out = {trusted: !!nb.trusted, scrollWidth: de.scrollWidth, clientWidth: de.clientWidth, cells: []};
  for (var i = 0; i < cells.length; i++) {
    var el = cells[i].element[0], o = el.querySelector('div.output');
    var rec = {type: cells[i].cell_type, text: '', outputs: 0, folded: false, overflow: [], positions: []};
    if (o) {
      rec.text = o.innerText || '';
      rec.outputs = o.querySelectorAll('div.output_area').length;
      rec.folded = o.classList.contains('output_scroll');
      var subs = o.querySelectorAll('div.output_subarea');
      for (var k = 0; k < subs.length; k++) {
        if (subs[k].scrollWidth > subs[k].clientWidth + 1) {
          rec.overflow.push({output: k, scrollWidth: subs[k].scrollWidth, clientWidth: subs[k].clientWidth});
        }
      }
      rec.positions = nbcheckPositions(o, []);
      rec.interactive = o.querySelectorAll('[_echarts_instance_]').length;
    }
    out.cells.push(rec);
  }
  return out;
})()`

// jupyterReady is true once the notebook page has rendered every cell.
const jupyterReady = `window.Jupyter && Jupyter.notebook && Jupyter.notebook._fully_loaded`

// imagesLoaded is true once every image of the page has loaded or failed.
const imagesLoaded = `Array.prototype.every.call(document.images, function (im) { return im.complete; })`

// chartsSettled is true once every chart position of the page either has
// an ECharts instance or shows its static image, or has none: a trusted
// page is measured after its charts have drawn.
const chartsSettled = `Array.prototype.every.call(document.querySelectorAll('div.alignlab-chart'), function (el) {
  if (el.querySelector('[_echarts_instance_]')) { return true; }
  var im = el.querySelector('img.alignlab-static');
  return !im || im.style.display !== 'none';
})`

// openNotebook opens a notebook page of a running Jupyter server and
// probes it once it has rendered (and, with settle, once its charts drew).
func openNotebook(ctx context.Context, url string, settle bool) (*jupyterPage, *devtools, error) {
	d, err := startDevtools(ctx)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*jupyterPage, *devtools, error) {
		d.Close()
		return nil, nil, fmt.Errorf("%s: %v", url, err)
	}
	if err := d.navigate(ctx, url); err != nil {
		return fail(err)
	}
	if err := d.waitFor(ctx, jupyterReady, 90*time.Second); err != nil {
		return fail(fmt.Errorf("the notebook never finished loading: %v", err))
	}
	if err := d.waitFor(ctx, imagesLoaded, 30*time.Second); err != nil {
		return fail(err)
	}
	if settle {
		// The interactive charts wait up to ~5 s for the library; then
		// they draw and resize.
		_ = d.waitFor(ctx, chartsSettled, 8*time.Second)
		time.Sleep(time.Second)
	}
	var page jupyterPage
	if err := d.eval(ctx, jupyterProbeJS, &page); err != nil {
		return fail(err)
	}
	return &page, d, nil
}

// untrustedResult is the verdict of the untrusted-copy check.
type untrustedResult struct {
	Charts, ChartsShown     int
	Markdown, MarkdownShown int
	Folded                  int
	Problems                []string
}

// compareUntrusted checks a probed untrusted page against what the
// executed notebook holds: each cell must show a static image for each of
// its chart positions, and the text of each of its Markdown outputs.
func compareUntrusted(page *jupyterPage, want []cellExpect) *untrustedResult {
	r := &untrustedResult{}
	if page.Trusted {
		r.Problems = append(r.Problems, "the notebook is trusted here, so this is no untrusted view: copy it without signing, under a Jupyter data dir of its own")
	}
	if len(page.Cells) != len(want) {
		r.Problems = append(r.Problems, fmt.Sprintf("the page has %d cells, the notebook %d", len(page.Cells), len(want)))
	}
	for i, w := range want {
		var cell jupyterCell
		if i < len(page.Cells) {
			cell = page.Cells[i]
		}
		if cell.Folded {
			r.Folded++
		}
		shown := 0
		var why []string
		for k := range cell.Positions {
			if ok, y := cell.Positions[k].Shows(); ok {
				shown++
			} else {
				why = append(why, cell.Positions[k].Name()+": "+y)
			}
		}
		r.Charts += w.Charts
		r.ChartsShown += min(shown, w.Charts)
		if shown < w.Charts {
			msg := fmt.Sprintf("cell %d: %d of its %d charts show a static image", i+1, shown, w.Charts)
			if len(why) > 0 {
				msg += " (" + strings.Join(why, "; ") + ")"
			} else if len(cell.Positions) == 0 {
				msg += " (no div.alignlab-chart in its outputs: interactive-only charts, which an untrusted notebook shows as nothing)"
			}
			r.Problems = append(r.Problems, msg)
		}
		for _, md := range w.Markdown {
			r.Markdown++
			if markdownShown(cell.Text, md) {
				r.MarkdownShown++
			} else {
				r.Problems = append(r.Problems, fmt.Sprintf("cell %d: Markdown output not shown: %.70q (an untrusted notebook drops text/markdown; give it a text/plain or text/html twin)", i+1, md))
			}
		}
	}
	return r
}

// checkUntrusted opens url (an untrusted copy of the executed notebook nb)
// and compares what it shows with what nb holds.
func checkUntrusted(ctx context.Context, url string, nb *notebook) (*untrustedResult, error) {
	ctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	page, d, err := openNotebook(ctx, url, false)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	var all []chartPosition
	for _, c := range page.Cells {
		all = append(all, c.Positions...)
	}
	if err := inspectImages(ctx, d, all); err != nil {
		return nil, fmt.Errorf("%s: %v", url, err)
	}
	k := 0
	for i := range page.Cells {
		n := len(page.Cells[i].Positions)
		page.Cells[i].Positions = all[k : k+n]
		k += n
	}
	return compareUntrusted(page, expectations(nb)), nil
}

// layoutResult is the verdict of the layout check.
type layoutResult struct {
	Folded, Overflowing int
	// Charts counts chart positions; Interactive those ECharts drew.
	Charts, Interactive int
	Problems            []string
}

// checkLayout opens url (a trusted copy, so that its charts are the
// interactive ones) and finds outputs folded into a scroll box and outputs
// wider than the notebook.
func checkLayout(ctx context.Context, url string) (*layoutResult, error) {
	ctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	page, d, err := openNotebook(ctx, url, true)
	if err != nil {
		return nil, err
	}
	d.Close()
	return compareLayout(page), nil
}

func compareLayout(page *jupyterPage) *layoutResult {
	r := &layoutResult{}
	if !page.Trusted {
		r.Problems = append(r.Problems, "the notebook is not trusted here, so its charts are not the interactive ones: sign the copy (python3 -m nbformat.sign) under the server's Jupyter data dir")
	}
	if page.ScrollWidth > page.ClientWidth+1 {
		r.Problems = append(r.Problems, fmt.Sprintf("the page is %d px wide in a %d px window: a horizontal scrollbar", page.ScrollWidth, page.ClientWidth))
	}
	for i, c := range page.Cells {
		r.Charts += len(c.Positions)
		r.Interactive += c.Interactive
		if c.Folded {
			r.Folded++
			r.Problems = append(r.Problems, fmt.Sprintf("cell %d: its output is folded into a scroll box", i+1))
		}
		for _, o := range c.Overflow {
			r.Overflowing++
			r.Problems = append(r.Problems, fmt.Sprintf("cell %d: output %d is %d px wide in %d px: a horizontal scrollbar", i+1, o.Output+1, o.ScrollWidth, o.ClientWidth))
		}
	}
	return r
}

// reportUntrusted prints the summary line and each problem; it returns
// whether the check passed.
func reportUntrusted(stdout, stderr io.Writer, name string, r *untrustedResult) bool {
	for _, p := range r.Problems {
		fmt.Fprintf(stderr, "nbcheck: %s: untrusted: %s\n", name, p)
	}
	fmt.Fprintf(stdout, "%s: untrusted copy: charts %d/%d, markdown %d/%d (folded outputs: %d)\n",
		name, r.ChartsShown, r.Charts, r.MarkdownShown, r.Markdown, r.Folded)
	return len(r.Problems) == 0
}

// reportLayout prints the summary line and each problem; it returns
// whether the check passed.
func reportLayout(stdout, stderr io.Writer, name string, r *layoutResult) bool {
	for _, p := range r.Problems {
		fmt.Fprintf(stderr, "nbcheck: %s: layout: %s\n", name, p)
	}
	fmt.Fprintf(stdout, "%s: layout (trusted copy): %d outputs wider than the notebook, %d folded; %d/%d charts interactive\n",
		name, r.Overflowing, r.Folded, min(r.Interactive, r.Charts), r.Charts)
	return len(r.Problems) == 0
}
