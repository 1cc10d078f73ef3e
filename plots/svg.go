package plots

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strconv"
	"strings"
)

// SVG layout, in the units of a 900-wide viewBox (px when shown at 900 px).
const (
	svgWidth      = 900
	svgFont       = 14 // px, every label, tick, legend entry and axis name
	svgTitleFont  = 18 // px
	svgFontFamily = "DejaVu Sans, Arial, Helvetica, sans-serif"
	legendSwatch  = 14  // px
	legendRow     = 22  // px
	minPlotHeight = 160 // px; a chart that needs more room grows taller
	maxLabelWidth = 280 // px; longer category labels are cut with "…"
	heatmapRaster = 10000
	gridColour    = "#e5e5e5"
	axisColour    = "#333"
	noteColour    = "#555"
)

// SVG returns a standalone SVG document that draws the chart as the
// interactive chart does: title, axes with ticks and names, grid, every
// series in its colour, error bars, legend. It holds no scripts and no
// references to anything outside it; the same chart gives the same bytes.
//
// Per builder it draws: Line, a path per series (broken at gaps), small
// circles at the points when a line has at most 40 of them, and an error
// bar path with caps per point that has one; Scatter, a circle per point
// shown, at half opacity when the cloud was subsampled; Bar, a rect per
// bar, grouped per category; Leaderboard, a label, an interval whisker with
// caps, a value point and the value and interval as text per row; Heatmap,
// a rect per cell with its value where it fits (a single embedded PNG of
// the cells, one pixel per cell, above 10,000 cells) and the colour scale.
// Legends (a swatch and a name per series) wrap onto more rows as needed.
// All text is at least 14 px in the 900-wide viewBox.
func (c *Chart) SVG() string { return renderSVG(c.fig) }

// svgDoc collects the drawing of one chart.
type svgDoc struct {
	b strings.Builder
	w float64 // viewBox width
}

func (d *svgDoc) printf(format string, args ...any) { fmt.Fprintf(&d.b, format, args...) }

// text draws s at (x, y) (y is the baseline). anchor is "", "middle" or
// "end"; attrs are extra attributes, written as given.
func (d *svgDoc) text(x, y float64, size int, anchor, attrs, s string) {
	d.b.WriteString(`<text x="` + pxs(x) + `" y="` + pxs(y) + `"`)
	if size != svgFont {
		d.b.WriteString(` font-size="` + strconv.Itoa(size) + `"`)
	}
	if anchor != "" {
		d.b.WriteString(` text-anchor="` + anchor + `"`)
	}
	if attrs != "" {
		d.b.WriteString(" " + attrs)
	}
	d.b.WriteString(">" + xmlText(s) + "</text>\n")
}

func renderSVG(f *figure) string {
	d := &svgDoc{w: svgWidth}
	h := float64(f.height)
	switch f.kind {
	case figLeaderboard:
		h = drawLeaderboard(d, f, h)
	case figHeatmap:
		h = drawHeatmap(d, f, h)
	default:
		h = drawCartesian(d, f, h)
	}
	hs := strconv.Itoa(int(math.Ceil(h)))
	var b strings.Builder
	b.Grow(d.b.Len() + 512)
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" width="` + strconv.Itoa(svgWidth) + `" height="` + hs +
		`" viewBox="0 0 ` + strconv.Itoa(svgWidth) + " " + hs + `" font-family="` + svgFontFamily +
		`" font-size="` + strconv.Itoa(svgFont) + `" fill="#222">` + "\n")
	b.WriteString("<title>" + xmlText(f.title) + "</title>\n")
	b.WriteString(`<rect class="background" width="100%" height="100%" fill="#fff"/>` + "\n")
	b.WriteString(d.b.String())
	b.WriteString("</svg>\n")
	return b.String()
}

// header draws the title, the note and the legend and returns the y below
// them.
func header(d *svgDoc, f *figure) float64 {
	y := 8.0
	if f.title != "" {
		d.text(d.w/2, 26, svgTitleFont, "middle", `font-weight="bold"`, truncate(f.title, d.w-40, svgTitleFont))
		y = 34
	}
	if f.note != "" {
		d.text(d.w/2, y+16, svgFont, "middle", `fill="`+noteColour+`"`, f.note)
		y += 22
	}
	if !f.legend {
		return y
	}
	var names, colours []string
	for _, s := range f.series {
		names, colours = append(names, s.name), append(colours, s.color)
	}
	for _, s := range f.bars {
		names, colours = append(names, s.name), append(colours, s.color)
	}
	return legend(d, names, colours, y+6)
}

// legend draws a swatch and a name per series in rows centred on the chart,
// starting a new row where the next entry would not fit, and returns the y
// below the last row.
func legend(d *svgDoc, names, colours []string, top float64) float64 {
	const gap, pad = 18.0, 6.0
	type entry struct {
		name, colour string
		w            float64
	}
	var rows [][]entry
	var widths []float64
	row, width := []entry(nil), 0.0
	for i, n := range names {
		n = truncate(n, 320, svgFont)
		e := entry{n, colours[i], legendSwatch + pad + textWidth(n, svgFont)}
		if len(row) > 0 && width+gap+e.w > d.w-40 {
			rows, widths = append(rows, row), append(widths, width)
			row, width = nil, 0
		}
		if len(row) > 0 {
			width += gap
		}
		row, width = append(row, e), width+e.w
	}
	if len(row) > 0 {
		rows, widths = append(rows, row), append(widths, width)
	}
	y := top
	for r, row := range rows {
		x := (d.w - widths[r]) / 2
		for _, e := range row {
			d.printf(`<rect class="swatch" x="%s" y="%s" width="%d" height="%d" rx="2" fill="%s"/>`+"\n",
				pxs(x), pxs(y+3), legendSwatch, legendSwatch, e.colour)
			d.text(x+legendSwatch+pad, y+15, svgFont, "", "", e.name)
			x += e.w + gap
		}
		y += legendRow
	}
	return y
}

// placeable reports whether v can be drawn on an axis.
func placeable(v float64, log bool) bool { return finite(v) && (!log || v > 0) }

// drawCartesian draws a Line, Scatter or Bar chart in a box of height h
// (taller if its labels need it) and returns the height used.
func drawCartesian(d *svgDoc, f *figure, h float64) float64 {
	top := header(d, f) + 14
	bar := f.kind == figBar

	// The bottom margin holds the x tick labels and the axis name.
	rotate := false
	bottom := 30.0
	if bar {
		maxW := 0.0
		for _, c := range f.cats {
			maxW = math.Max(maxW, math.Min(textWidth(c, svgFont), maxLabelWidth))
		}
		band := (d.w - 120) / math.Max(1, float64(len(f.cats)))
		if len(f.cats) > rotateLabels || maxW > band-8 {
			rotate = true
			bottom = 16 + maxW*0.5 + svgFont
		}
	}
	if f.ax.XLabel != "" {
		bottom += 24
	}
	if h-bottom-top < minPlotHeight {
		h = top + minPlotHeight + bottom
	}
	plotH := h - bottom - top
	const right = 30.0

	// The y axis, then the left margin from its labels, then the x axis.
	ey, ex := newExtent(f.ax.LogY), newExtent(f.ax.LogX)
	for _, s := range f.series {
		for i := range s.x {
			ex.add(s.x[i])
			ey.add(s.y[i])
			if s.low != nil && placeable(s.low[i], f.ax.LogY) && placeable(s.high[i], f.ax.LogY) {
				ey.add(s.low[i])
				ey.add(s.high[i])
			}
		}
	}
	for _, s := range f.bars {
		for _, v := range s.values {
			ey.add(v)
		}
	}
	if bar && !f.ax.LogY {
		ey.add(0)
	}
	ny := max(2, int(plotH/55))
	leftFor := func(sy *scale) float64 {
		w := 0.0
		for _, l := range sy.labels {
			w = math.Max(w, textWidth(l, svgFont))
		}
		left := 14 + w + 10
		if f.ax.YLabel != "" {
			left += 24
		}
		return left
	}
	var sx, sy *scale
	if f.equal != nil {
		// Equal scales: the ranges follow from the plot's size, which
		// follows from the y labels; two rounds settle it.
		left := 80.0
		for range 2 {
			plotW := d.w - left - right
			x0, x1, y0, y1 := f.equal.ranges(plotW, plotH)
			sx = &scale{lo: x0, hi: x1, p0: left, p1: left + plotW}
			sy = &scale{lo: y0, hi: y1, p0: top + plotH, p1: top}
			sy.ticks, sy.labels = linearTicks(y0, y1, niceStep(y1-y0, ny))
			left = leftFor(sy)
		}
		sx.p0, sx.p1 = left, d.w-right
		x0, x1, y0, y1 := f.equal.ranges(sx.p1-sx.p0, plotH)
		sx.lo, sx.hi, sy.lo, sy.hi = x0, x1, y0, y1
		sy.ticks, sy.labels = linearTicks(y0, y1, niceStep(y1-y0, ny))
		sx.ticks, sx.labels = linearTicks(x0, x1, niceStep(x1-x0, max(2, int((sx.p1-sx.p0)/100))))
	} else {
		sy = axisScale(ey, ny)
		sy.p0, sy.p1 = top+plotH, top
		left := leftFor(sy)
		sx = &scale{p0: left, p1: d.w - right}
		if !bar {
			sx = axisScale(ex, max(2, int((d.w-left-right)/110)))
			sx.p0, sx.p1 = left, d.w-right
		}
	}
	left, plotBottom := sx.p0, top+plotH

	// Grid.
	var g strings.Builder
	for _, t := range sy.ticks {
		fmt.Fprintf(&g, "M%s %sH%s", pxs(left), pxs(sy.px(t)), pxs(sx.p1))
	}
	if !bar {
		for _, t := range sx.ticks {
			fmt.Fprintf(&g, "M%s %sV%s", pxs(sx.px(t)), pxs(top), pxs(plotBottom))
		}
	}
	if g.Len() > 0 {
		d.printf(`<path class="grid" d="%s" fill="none" stroke="%s"/>`+"\n", g.String(), gridColour)
	}

	// Series.
	switch f.kind {
	case figLine:
		for _, s := range f.series {
			drawLine(d, s, sx, sy, f)
		}
	case figScatter:
		for _, s := range f.series {
			drawPoints(d, s, sx, sy, f)
		}
	case figBar:
		drawBars(d, f, sx, sy)
	}

	// Axes, ticks and names.
	d.printf(`<path class="axis" d="M%s %sV%sH%s" fill="none" stroke="%s"/>`+"\n", pxs(left), pxs(top), pxs(plotBottom), pxs(sx.p1), axisColour)
	for i, t := range sy.ticks {
		d.text(left-8, sy.px(t)+5, svgFont, "end", "", sy.labels[i])
	}
	nameY := plotBottom + 46
	if bar {
		band := (sx.p1 - sx.p0) / math.Max(1, float64(len(f.cats)))
		for i, c := range f.cats {
			d.categoryLabel(left+(float64(i)+0.5)*band, plotBottom, c, rotate)
		}
		if rotate {
			nameY = h - 8
		}
	} else {
		for i, t := range sx.ticks {
			d.text(sx.px(t), plotBottom+20, svgFont, "middle", "", sx.labels[i])
		}
	}
	if f.ax.XLabel != "" {
		d.text((left+sx.p1)/2, nameY, svgFont, "middle", "", truncate(f.ax.XLabel, sx.p1-left, svgFont))
	}
	if f.ax.YLabel != "" {
		cy := top + plotH/2
		d.text(22, cy, svgFont, "middle", `transform="rotate(-90 22 `+pxs(cy)+`)"`, truncate(f.ax.YLabel, plotH, svgFont))
	}
	return h
}

// axisScale returns the scale of a value axis over an extent, with about n
// ticks: whole decades on a log axis, a range snapped to nice steps on a
// linear one.
func axisScale(e extent, n int) *scale {
	s := &scale{log: e.log}
	if e.log {
		lo, hi := logRange(e.lo, e.hi)
		if e.n == 0 {
			lo, hi = 1, 10
		}
		s.lo, s.hi = lo, hi
		s.ticks, s.labels = logTicks(lo, hi)
		return s
	}
	lo, hi, step := linearRange(e.lo, e.hi, n, true)
	s.lo, s.hi = lo, hi
	s.ticks, s.labels = linearTicks(lo, hi, step)
	return s
}

func drawLine(d *svgDoc, s figSeries, sx, sy *scale, f *figure) {
	var p strings.Builder
	pen := false
	for i, x := range s.x {
		if !placeable(s.y[i], f.ax.LogY) {
			pen = false
			continue
		}
		cmd := "L"
		if !pen {
			cmd = "M"
		}
		p.WriteString(cmd + pxs(sx.px(x)) + " " + pxs(sy.px(s.y[i])))
		pen = true
	}
	if p.Len() > 0 {
		d.printf(`<path class="line" d="%s" fill="none" stroke="%s" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"/>`+"\n", p.String(), s.color)
	}
	if s.marks {
		d.printf(`<g class="marks" fill="#fff" stroke="%s" stroke-width="1.5">`+"\n", s.color)
		for i, x := range s.x {
			if placeable(s.y[i], f.ax.LogY) {
				d.printf(`<circle cx="%s" cy="%s" r="%s"/>`+"\n", pxs(sx.px(x)), pxs(sy.px(s.y[i])), pxs(f.mark/2))
			}
		}
		d.b.WriteString("</g>\n")
	}
	for i, x := range s.x {
		if s.low == nil || !placeable(s.low[i], f.ax.LogY) || !placeable(s.high[i], f.ax.LogY) {
			continue
		}
		cx, a, b := sx.px(x), sy.px(s.low[i]), sy.px(s.high[i])
		d.printf(`<path class="err" d="M%s %sV%sM%s %sh8M%s %sh8" stroke="%s" stroke-width="1.5"/>`+"\n",
			pxs(cx), pxs(a), pxs(b), pxs(cx-4), pxs(a), pxs(cx-4), pxs(b), s.color)
	}
}

func drawPoints(d *svgDoc, s figSeries, sx, sy *scale, f *figure) {
	if len(s.x) == 0 {
		return
	}
	op := ""
	if f.faded {
		op = ` fill-opacity="0.5"`
	}
	d.printf(`<g class="points" fill="%s"%s>`+"\n", s.color, op)
	r := pxs(f.mark / 2)
	for i, x := range s.x {
		d.printf(`<circle cx="%s" cy="%s" r="%s"/>`+"\n", pxs(sx.px(x)), pxs(sy.px(s.y[i])), r)
	}
	d.b.WriteString("</g>\n")
}

func drawBars(d *svgDoc, f *figure, sx, sy *scale) {
	n := len(f.cats)
	if n == 0 || len(f.bars) == 0 {
		return
	}
	band := (sx.p1 - sx.p0) / float64(n)
	group := band * 0.7
	bw := group / float64(len(f.bars))
	base := sy.p0 // a log axis' floor
	if !f.ax.LogY {
		base = sy.px(math.Min(math.Max(0, sy.lo), sy.hi))
	}
	for j, s := range f.bars {
		for i, v := range s.values {
			if !placeable(v, f.ax.LogY) {
				continue
			}
			x := sx.p0 + float64(i)*band + (band-group)/2 + float64(j)*bw
			y := sy.px(v)
			d.printf(`<rect class="bar" x="%s" y="%s" width="%s" height="%s" fill="%s"/>`+"\n",
				pxs(x), pxs(math.Min(y, base)), pxs(math.Max(bw-1, 1)), pxs(math.Abs(base-y)), s.color)
		}
	}
}

// drawLeaderboard draws one row per label: the label, the interval whisker
// with caps, the value point, and the value and interval as text on the
// right.
func drawLeaderboard(d *svgDoc, f *figure, h float64) float64 {
	top := header(d, f) + 6
	n := len(f.labels)
	const bottom = 40.0
	if h-top-bottom < float64(n)*22 {
		h = top + bottom + float64(n)*22
	}
	plotH := h - top - bottom
	rowH := plotH / math.Max(1, float64(n))

	labels := make([]string, n)
	texts := make([]string, n)
	labelW, textW := 0.0, 0.0
	ex := newExtent(false)
	for i, l := range f.labels {
		labels[i] = truncate(l, maxLabelWidth, svgFont)
		labelW = math.Max(labelW, textWidth(labels[i], svgFont))
		v, lo, hi := f.value[i], f.low[i], f.high[i]
		texts[i] = short(v)
		if finite(lo) || finite(hi) {
			texts[i] += " [" + short(lo) + ", " + short(hi) + "]"
		}
		texts[i] = truncate(texts[i], 240, svgFont)
		textW = math.Max(textW, textWidth(texts[i], svgFont))
		ex.add(v)
		if finite(lo) && finite(hi) {
			ex.add(lo)
			ex.add(hi)
		}
	}
	left := 12 + labelW + 14
	right := textW + 26
	plotW := d.w - left - right
	if ex.n > 0 { // ECharts' boundaryGap of 5% on each side
		pad := (ex.hi - ex.lo) * 0.05
		ex.lo, ex.hi = ex.lo-pad, ex.hi+pad
	}
	sx := axisScale(ex, max(2, int(plotW/110)))
	sx.p0, sx.p1 = left, left+plotW
	plotBottom := top + plotH

	var g strings.Builder
	for _, t := range sx.ticks {
		fmt.Fprintf(&g, "M%s %sV%s", pxs(sx.px(t)), pxs(top), pxs(plotBottom))
	}
	d.printf(`<path class="grid" d="%s" fill="none" stroke="%s"/>`+"\n", g.String(), gridColour)
	for i := range f.labels {
		yc := top + (float64(i)+0.5)*rowH
		d.text(left-12, yc+5, svgFont, "end", "", labels[i])
		v, lo, hi := f.value[i], f.low[i], f.high[i]
		if finite(lo) && finite(hi) {
			a, b := sx.px(lo), sx.px(hi)
			d.printf(`<path class="err" d="M%s %sH%sM%s %sv12M%s %sv12" stroke="%s" stroke-width="1.5"/>`+"\n",
				pxs(a), pxs(yc), pxs(b), pxs(a), pxs(yc-6), pxs(b), pxs(yc-6), f.leaderboardBars)
		}
		if finite(v) {
			d.printf(`<circle class="value" cx="%s" cy="%s" r="4.5" fill="%s"/>`+"\n", pxs(sx.px(v)), pxs(yc), f.leaderboardPoints)
		}
		d.text(d.w-right+14, yc+5, svgFont, "", `fill="`+noteColour+`"`, texts[i])
	}
	d.printf(`<path class="axis" d="M%s %sH%s" fill="none" stroke="%s"/>`+"\n", pxs(left), pxs(plotBottom), pxs(sx.p1), axisColour)
	for i, t := range sx.ticks {
		d.text(sx.px(t), plotBottom+20, svgFont, "middle", "", sx.labels[i])
	}
	return h
}

// heatmapStops is the colour scale of a heatmap, low to high (the
// interactive chart's visualMap uses the same).
var heatmapStops = []string{"#c6dbef", "#6baed6", "#2171b5", "#08306b"}

// drawHeatmap draws a cell per finite value, its value where the text
// fits (to two significant digits where three do not), the row and column
// labels and the colour scale.
func drawHeatmap(d *svgDoc, f *figure, h float64) float64 {
	top := header(d, f) + 6
	nx, ny := len(f.cats), len(f.labels)
	labelW, catW := 0.0, 0.0
	for _, l := range f.labels {
		labelW = math.Max(labelW, math.Min(textWidth(l, svgFont), maxLabelWidth))
	}
	for _, c := range f.cats {
		catW = math.Max(catW, math.Min(textWidth(c, svgFont), maxLabelWidth))
	}
	left := 12 + labelW + 10
	const right = 20.0
	plotW := d.w - left - right
	cw := plotW / math.Max(1, float64(nx))
	rotate := nx > rotateLabels || catW > cw-8
	labelsH := 26.0
	if rotate {
		labelsH = 16 + catW*0.5 + svgFont
	}
	bottom := labelsH + 44 // the colour scale below the labels
	if h-top-bottom < float64(ny)*16 {
		h = top + bottom + float64(ny)*16
	}
	plotH := h - top - bottom
	ch := plotH / math.Max(1, float64(ny))
	plotBottom := top + plotH

	span := f.cmax - f.cmin
	fill := func(v float64) color.RGBA {
		t := 0.0
		if span > 0 {
			t = math.Min(1, math.Max(0, (v-f.cmin)/span))
		}
		return rampColour(t)
	}
	if nx*ny > heatmapRaster {
		img := image.NewNRGBA(image.Rect(0, 0, nx, ny))
		for y, row := range f.cells {
			for x, v := range row {
				if finite(v) {
					c := fill(v)
					img.SetNRGBA(x, y, color.NRGBA{c.R, c.G, c.B, 255})
				}
			}
		}
		var buf bytes.Buffer
		_ = png.Encode(&buf, img) // writing to memory does not fail
		d.printf(`<image class="cells" x="%s" y="%s" width="%s" height="%s" preserveAspectRatio="none" style="image-rendering:pixelated" href="data:image/png;base64,%s"/>`+"\n",
			pxs(left), pxs(top), pxs(plotW), pxs(plotH), base64.StdEncoding.EncodeToString(buf.Bytes()))
	} else {
		for y, row := range f.cells {
			for x, v := range row {
				if !finite(v) {
					continue
				}
				c := fill(v)
				x0, y0 := left+float64(x)*cw, top+float64(y)*ch
				d.printf(`<rect class="cell" x="%s" y="%s" width="%s" height="%s" fill="%s"/>`+"\n",
					pxs(x0), pxs(y0), pxs(math.Max(cw-1, 0.5)), pxs(math.Max(ch-1, 0.5)), hexColour(c))
				label := short(v)
				if textWidth(label, svgFont) > cw-4 { // two digits rather than a blank that reads as missing
					label = strconv.FormatFloat(v, 'g', 2, 64)
				}
				if textWidth(label, svgFont) <= cw-4 && ch >= 18 {
					ink := "#1a1a1a"
					if luminance(c) < 0.4 {
						ink = "#fff"
					}
					d.text(x0+cw/2, y0+ch/2+5, svgFont, "middle", `fill="`+ink+`"`, label)
				}
			}
		}
	}
	if ny > 0 && ch >= 10 {
		for y, l := range f.labels {
			d.text(left-8, top+(float64(y)+0.5)*ch+5, svgFont, "end", "", truncate(l, maxLabelWidth, svgFont))
		}
	}
	if nx > 0 && cw >= 10 {
		for x, c := range f.cats {
			d.categoryLabel(left+(float64(x)+0.5)*cw, plotBottom, c, rotate)
		}
	}

	// The colour scale, centred under the labels.
	const barW, barH = 240.0, 12.0
	bx, by := d.w/2-barW/2, h-12-barH
	d.b.WriteString(`<defs><linearGradient id="scale">`)
	for i, s := range heatmapStops {
		d.printf(`<stop offset="%s" stop-color="%s"/>`, pxs(float64(i)/float64(len(heatmapStops)-1)), s)
	}
	d.b.WriteString("</linearGradient></defs>\n")
	d.printf(`<rect class="scale" x="%s" y="%s" width="%s" height="%s" fill="url(#scale)"/>`+"\n", pxs(bx), pxs(by), pxs(barW), pxs(barH))
	d.text(bx-8, by+barH-1, svgFont, "end", "", strconv.FormatFloat(f.cmin, 'f', f.precision, 64))
	d.text(bx+barW+8, by+barH-1, svgFont, "", "", strconv.FormatFloat(f.cmax, 'f', f.precision, 64))
	return h
}

// rampColour interpolates heatmapStops at t in [0, 1], in RGB as ECharts'
// visualMap does.
func rampColour(t float64) color.RGBA {
	k := len(heatmapStops) - 1
	seg := min(k-1, int(t*float64(k)))
	u := t*float64(k) - float64(seg)
	a, b := parseHex(heatmapStops[seg]), parseHex(heatmapStops[seg+1])
	mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x) + u*(float64(y)-float64(x)))) }
	return color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 255}
}

func parseHex(s string) color.RGBA {
	v, _ := strconv.ParseUint(strings.TrimPrefix(s, "#"), 16, 32)
	return color.RGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 255}
}

func hexColour(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// luminance is the relative luminance of c (0 black, 1 white), as WCAG
// defines it.
func luminance(c color.RGBA) float64 {
	lin := func(v uint8) float64 {
		x := float64(v) / 255
		if x <= 0.04045 {
			return x / 12.92
		}
		return math.Pow((x+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.R) + 0.7152*lin(c.G) + 0.0722*lin(c.B)
}

// pxs writes a coordinate to a tenth of a pixel, without a trailing ".0".
func pxs(v float64) string {
	r := math.Round(v*10) / 10
	if r == 0 {
		return "0"
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// xmlText escapes s for an XML text node or attribute and drops the
// characters XML cannot hold (controls other than tab and newline, which
// become spaces).
func xmlText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&quot;")
		case r == '\'':
			b.WriteString("&#39;")
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case r < 0x20 || r >= 0xD800 && r <= 0xDFFF || r == 0xFFFE || r == 0xFFFF:
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// textWidth estimates the width of s in a sans-serif font of the given
// size, from per-glyph widths of DejaVu Sans (wider than Arial or
// Helvetica, so text measured for it fits in those too); layout needs no
// more than that.
func textWidth(s string, size float64) float64 {
	w := 0.0
	for _, r := range s {
		switch {
		case r == ' ':
			w += 0.32
		case strings.ContainsRune("il.,:;'|!ijtfI[]()", r):
			w += 0.36
		case r >= '0' && r <= '9':
			w += 0.64
		case strings.ContainsRune("mwMW%@", r):
			w += 0.92
		case r >= 'A' && r <= 'Z':
			w += 0.72
		case r < 0x2E80:
			w += 0.62
		default: // CJK and other wide scripts
			w += 1
		}
	}
	return w * size
}

// truncate cuts s, ending it with "…", so that it is at most maxW wide.
func truncate(s string, maxW float64, size float64) string {
	if textWidth(s, size) <= maxW {
		return s
	}
	rs := []rune(s)
	for len(rs) > 0 && textWidth(string(rs)+"…", size) > maxW {
		rs = rs[:len(rs)-1]
	}
	return string(rs) + "…"
}

// categoryLabel writes category c under the x axis at x (the bottom of the
// plot at plotBottom), truncated, tilted by 30° when rotate.
func (d *svgDoc) categoryLabel(x, plotBottom float64, c string, rotate bool) {
	c = truncate(c, maxLabelWidth, svgFont)
	if rotate {
		y := plotBottom + 16
		d.text(x, y, svgFont, "end", `transform="rotate(-30 `+pxs(x)+" "+pxs(y)+`)"`, c)
		return
	}
	d.text(x, plotBottom+20, svgFont, "middle", "", c)
}
