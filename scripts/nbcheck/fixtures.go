package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"strings"

	"github.com/alignlab/alignlab/plots"
)

// Hand-written fixtures for the self-tests of the JavaScript-off and the
// untrusted-copy checks. The chart blocks follow the plots contract
// (plots.Chart.Block): a div.alignlab-chart holding an img.alignlab-static
// with the SVG as a data: URI, and the interactive div, hidden.

// fixtureSVG is a small but complete static chart: a frame, axes with
// ticks and labels, a title, a series and a legend.
func fixtureSVG(title string) string {
	var b strings.Builder
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 900 440" width="900" height="440" font-family="sans-serif">` + "\n")
	b.WriteString(`<rect x="0" y="0" width="900" height="440" fill="#ffffff"/>` + "\n")
	fmt.Fprintf(&b, `<text x="450" y="28" text-anchor="middle" font-size="18" fill="#222">%s</text>`+"\n", html.EscapeString(title))
	b.WriteString(`<g stroke="#444" stroke-width="1.5"><line x1="70" y1="380" x2="860" y2="380"/><line x1="70" y1="60" x2="70" y2="380"/></g>` + "\n")
	for i := 0; i <= 4; i++ {
		x := 70 + 197.5*float64(i)
		y := 380 - 80*float64(i)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="380" x2="%.1f" y2="386" stroke="#444"/><text x="%.1f" y="404" text-anchor="middle" font-size="14" fill="#222">%d</text>`+"\n", x, x, x, i*25)
		fmt.Fprintf(&b, `<line x1="64" y1="%.1f" x2="860" y2="%.1f" stroke="#ddd"/><text x="58" y="%.1f" text-anchor="end" font-size="14" fill="#222">%.1f</text>`+"\n", y, y, y+5, 0.25*float64(i))
	}
	b.WriteString(`<polyline fill="none" stroke="#1f77b4" stroke-width="3" points="70,100 267,220 465,290 662,330 860,350"/>` + "\n")
	b.WriteString(`<rect x="720" y="50" width="14" height="14" fill="#1f77b4"/><text x="740" y="62" font-size="14" fill="#222">loss</text>` + "\n")
	b.WriteString(`</svg>` + "\n")
	return b.String()
}

// fixtureBlock is the HTML of one chart that carries its static image svg.
// imgStyle is added to the image's style (e.g. "display:none").
func fixtureBlock(id, title, svg, imgStyle string) string {
	src := "data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString([]byte(svg))
	return fmt.Sprintf(`<div class="alignlab-chart" data-chart-id="%s">
<img class="alignlab-static" alt="%s" width="100%%" style="width:100%%;height:auto;%s" src="%s">
<div id="%s" style="display:none;width:100%%;height:440px"></div>
</div>
`, id, html.EscapeString(title), imgStyle, src, id)
}

// Static fixture chart IDs: one chart whose static image shows, and the
// ways a chart position shows nothing without JavaScript.
const (
	staticGood    = "nbcheck_static_good"
	staticOldKind = "nbcheck_static_oldkind" // interactive only, no static image
	staticEmpty   = "nbcheck_static_empty"   // an SVG that draws nothing
	staticBlank   = "nbcheck_static_blank"   // elements, but white on white
	staticHidden  = "nbcheck_static_hidden"  // the image is display:none
	staticBroken  = "nbcheck_static_broken"  // not an SVG the browser can decode
	staticNoImage = "nbcheck_static_noimg"   // a block without its image
)

const emptySVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 900 440" width="900" height="440"></svg>`

// blankSVG has enough elements to pass a count, but paints white on white.
func blankSVG() string {
	var b strings.Builder
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 900 440" width="900" height="440">`)
	for i := range 12 {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="60" height="30" fill="#ffffff" stroke="#fefefe"/>`, 20+70*i, 20+30*(i%6))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// hideIfScriptsRun hides every static image: if the page's scripts ran,
// even the good chart fails, so the JavaScript-off check cannot pass by
// accident with scripts on.
const hideIfScriptsRun = `<script>document.querySelectorAll('img.alignlab-static').forEach(function (im) { im.style.display = 'none'; });</script>
`

// staticFixturePage is an offline page with one good chart position and
// the broken ones; staticFixtureWant says which must show an image.
func staticFixturePage() []byte {
	series := []plots.Series{{Name: "loss", X: []float64{1, 2, 3, 4}, Y: []float64{1, 0.5, 0.3, 0.25}}}
	old := plots.Line(staticOldKind, "interactive only", series, plots.Axes{})
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>nbcheck JavaScript-off fixture</title></head>\n<body>\n")
	b.WriteString(fixtureBlock(staticGood, "good", fixtureSVG("good"), ""))
	b.WriteString(old.Snippet())
	b.WriteString(fixtureBlock(staticEmpty, "empty", emptySVG, ""))
	b.WriteString(fixtureBlock(staticBlank, "blank", blankSVG(), ""))
	b.WriteString(fixtureBlock(staticHidden, "hidden", fixtureSVG("hidden"), "display:none"))
	b.WriteString(fixtureBlock(staticBroken, "broken", "<svg xmlns=\"http://www.w3.org/2000/svg\"><rect", ""))
	fmt.Fprintf(&b, "<div class=\"alignlab-chart\" data-chart-id=\"%s\"><div id=\"%s\" style=\"display:none\"></div></div>\n", staticNoImage, staticNoImage)
	b.WriteString(hideIfScriptsRun)
	b.WriteString("</body>\n</html>\n")
	return []byte(b.String())
}

var staticFixtureWant = map[string]bool{
	staticGood: true, staticOldKind: false, staticEmpty: false, staticBlank: false,
	staticHidden: false, staticBroken: false, staticNoImage: false,
}

// untrustedFixture is a notebook with saved outputs for the untrusted-copy
// check's self-test; untrustedFixtureBad lists the cells (numbered from 1)
// it must find fault with, and the charts and Markdown outputs it must
// count as shown.
func untrustedFixture() []byte {
	series := []plots.Series{{Name: "loss", X: []float64{1, 2, 3, 4}, Y: []float64{1, 0.5, 0.3, 0.25}}}
	old := plots.Line("nbcheck_untrusted_old", "interactive only", series, plots.Axes{})
	htmlOut := func(s string) map[string]any {
		return map[string]any{"output_type": "display_data", "metadata": map[string]any{}, "data": map[string]any{"text/html": s}}
	}
	mdOut := func(md string, plain bool) map[string]any {
		data := map[string]any{"text/markdown": md}
		if plain {
			data["text/plain"] = md
		}
		return map[string]any{"output_type": "display_data", "metadata": map[string]any{}, "data": data}
	}
	code := func(n int, outs ...map[string]any) map[string]any {
		return map[string]any{"cell_type": "code", "id": fmt.Sprintf("c%d", n), "metadata": map[string]any{},
			"execution_count": n, "source": "%%\n", "outputs": outs}
	}
	nb := map[string]any{
		"nbformat": 4, "nbformat_minor": 5,
		"metadata": map[string]any{"kernelspec": map[string]any{"name": "nbcheck-no-such-kernel", "display_name": "none", "language": "go"}},
		"cells": []any{
			map[string]any{"cell_type": "markdown", "id": "m0", "metadata": map[string]any{}, "source": "# nbcheck untrusted fixture"},
			code(1, htmlOut(fixtureBlock("nbcheck_untrusted_good", "good", fixtureSVG("good"), "")+hideIfScriptsRun)),
			code(2, htmlOut(old.Snippet())),
			code(3, mdOut("Top model: **ember-7b**, rating 1148.", false)),
			code(4, mdOut("Held-out log-loss **0.662** with $\\beta = 0.1$ — see [the paper](https://arxiv.org/abs/2305.18290).", true)),
			code(5, htmlOut(fixtureBlock("nbcheck_untrusted_empty", "empty", emptySVG, ""))),
		},
	}
	b, err := json.MarshalIndent(nb, "", " ")
	if err != nil {
		panic(err)
	}
	return b
}

// The untrusted fixture's verdicts: cells 3 (chart without image), 4
// (Markdown without a twin) and 6 (empty SVG) are faulted; of 3 charts 1
// shows, of 2 Markdown outputs 1.
var (
	untrustedFixtureBad      = []int{3, 4, 6}
	untrustedFixtureCharts   = [2]int{1, 3}
	untrustedFixtureMarkdown = [2]int{1, 2}
)
