package plots

import (
	"fmt"
	"math"
	"strconv"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// Layout constants shared by the builders.
const (
	chartWidth   = "100%" // the chart div follows its output's width; the script resizes it
	plainHeight  = 440    // px, line, scatter and bar charts
	rowHeight    = 28     // px per label of a leaderboard or row of a heatmap
	minHeight    = 300    // px
	maxSymbols   = 40     // a line with more points is drawn without point symbols
	errorBarCap  = 18     // px, longest whisker cap of a leaderboard
	rotateLabels = 8      // more categories than this rotate the x labels
	gridRight    = 40     // px
	gridBottom   = 60     // px, room for the x tick labels and axis name

	// MaxScatterPoints is how many points a Scatter draws at most. A
	// larger cloud is subsampled evenly within each series, each keeping
	// its share, drawn at half opacity, and the chart says so under its
	// title ("1,500 of 4,000 points shown").
	MaxScatterPoints = 1500
)

// Theme font sizes of the interactive chart, in px.
const (
	titleFontSize = 18
	textFontSize  = 14 // axis labels and names, legend, subtitle
)

// frame is the layout every chart shares.
type frame struct {
	id, title, note string
	height          int
	legend          bool
	bottom          int
	left            int  // px, the grid's left edge
	equal           bool // a fixed grid without containLabel, so that the plot area is known
}

// top is the grid's top edge: below the title, the note and the legend.
func (fr frame) top() int {
	t := 50
	if fr.note != "" {
		t += 22
	}
	if fr.legend {
		t += 30
	}
	return t
}

// common returns the options every chart shares: id, size, SVG renderer,
// title, legend, no animation and a grid that keeps tick labels inside.
func common(fr frame) []charts.GlobalOpts {
	mustID(fr.id)
	legendTop := 34
	if fr.note != "" {
		legendTop += 22
	}
	return []charts.GlobalOpts{
		charts.WithInitializationOpts(opts.Initialization{
			ChartID: fr.id, Width: chartWidth, Height: strconv.Itoa(fr.height) + "px",
			Renderer: "svg", Theme: "white",
		}),
		charts.WithTitleOpts(opts.Title{Title: text(fr.title), Subtitle: text(fr.note), Left: "center"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(fr.legend), Type: "scroll", Top: strconv.Itoa(legendTop)}),
		charts.WithAnimation(false),
		charts.WithColorsOpts(palette),
		charts.WithGridOpts(opts.Grid{Left: strconv.Itoa(fr.left), Right: strconv.Itoa(gridRight), Top: strconv.Itoa(fr.top()),
			Bottom: strconv.Itoa(fr.bottom), ContainLabel: opts.Bool(!fr.equal)}),
	}
}

// theme returns the option keys of the lab's look that go-echarts' types
// cannot express: larger text for the title, axes, legend and subtitle, and
// dark axis text, readable when projected.
func theme(p *patch) *patch {
	if p == nil {
		p = &patch{}
	}
	if p.objects == nil {
		p.objects = map[string]map[string]any{}
	}
	if p.items == nil {
		p.items = map[string]map[int]map[string]any{}
	}
	for key, kv := range map[string]map[string]any{
		"title": {
			"textStyle":    map[string]any{"fontSize": titleFontSize},
			"subtextStyle": map[string]any{"fontSize": textFontSize},
		},
		"legend": {"textStyle": map[string]any{"fontSize": textFontSize}},
	} {
		if p.objects[key] == nil {
			p.objects[key] = map[string]any{}
		}
		deepMerge(p.objects[key], kv)
	}
	for _, axis := range []string{"xAxis", "yAxis"} {
		if p.items[axis] == nil {
			p.items[axis] = map[int]map[string]any{}
		}
		if p.items[axis][0] == nil {
			p.items[axis][0] = map[string]any{}
		}
		deepMerge(p.items[axis][0], map[string]any{
			"axisLabel":     map[string]any{"fontSize": textFontSize, "color": axisColour},
			"nameTextStyle": map[string]any{"fontSize": textFontSize, "color": axisColour},
		})
	}
	return p
}

// finish applies the theme and any chart-specific keys, and wraps the
// chart.
func finish(id string, c echart, p *patch, f *figure) *Chart {
	c.Accept(theme(p))
	c.Validate()
	return &Chart{id: id, ec: c, fig: f}
}

// showLegend reports whether a chart of these series needs a legend: more
// than one, or one whose name is not already the y axis' name.
func showLegend(names []string, yLabel string) bool {
	return len(names) > 1 || len(names) == 1 && names[0] != "" && names[0] != yLabel
}

// yAxisWidth estimates the width of the widest y tick label a value axis
// over the figure's data would show, so that the axis name clears the
// labels.
func yAxisWidth(f *figure) int {
	e := newExtent(f.ax.LogY)
	for _, s := range f.series {
		for i := range s.y {
			e.add(s.y[i])
			if s.low != nil {
				e.add(s.low[i])
				e.add(s.high[i])
			}
		}
	}
	for _, s := range f.bars {
		for _, v := range s.values {
			e.add(v)
		}
	}
	if f.kind == figBar && !f.ax.LogY {
		e.add(0)
	}
	var labels []string
	if f.equal != nil {
		_, _, y0, y1 := f.equal.ranges(float64(svgWidth-120), float64(f.height-120))
		_, labels = linearTicks(y0, y1, niceStep(y1-y0, 5))
	} else {
		labels = axisScale(e, 5).labels
	}
	w := 0.0
	for _, l := range labels {
		w = math.Max(w, textWidth(l, textFontSize))
	}
	return int(math.Ceil(w))
}

// xyFrame finishes the figure of Line and Scatter (its legend, its equal
// box) and returns its frame and y axis.
func xyFrame(id string, f *figure, names []string, ax Axes, p *patch) (frame, opts.YAxis) {
	f.legend = showLegend(names, ax.YLabel)
	if ax.Equal {
		f.equal = newEqualBox(f.series, ax)
	}
	return valueFrame(id, f, p)
}

// valueFrame lays out a chart with a value y axis: the name clears the
// tick labels, and with equal scales the grid is fixed (no containLabel)
// and both axes get the ranges of a nominal 900 px wide chart; the chart's
// script sets them again for its real size.
func valueFrame(id string, f *figure, p *patch) (frame, opts.YAxis) {
	yw := yAxisWidth(f)
	fr := frame{id: id, title: f.title, note: f.note, height: f.height, legend: f.legend, bottom: gridBottom, left: 20, equal: f.equal != nil}
	if f.ax.YLabel != "" {
		fr.left = 42
	}
	y := opts.YAxis{Type: axisType(f.ax.LogY), Name: text(f.ax.YLabel), NameLocation: "middle", NameGap: yw + 18}
	if f.kind != figBar {
		y.Scale = opts.Bool(true)
		// The axes frame the plot, as in the static image, rather than
		// crossing at zero.
		off := map[string]any{"axisLine": map[string]any{"onZero": false}}
		deepMerge(p.items["xAxis"][0], off)
		deepMerge(p.items["yAxis"][0], off)
	}
	if f.faded { // the legend's swatches stay solid
		deepMerge(p.objects["legend"], map[string]any{"itemStyle": map[string]any{"opacity": 1}})
	}
	if f.equal != nil {
		fr.left += yw + 8
		w, h := float64(svgWidth-fr.left-gridRight), float64(f.height-fr.top()-fr.bottom)
		x0, x1, y0, y1 := f.equal.ranges(w, h)
		hide := map[string]any{"showMinLabel": false, "showMaxLabel": false}
		deepMerge(p.items["xAxis"][0], map[string]any{"min": roundSig(x0), "max": roundSig(x1), "axisLabel": hide})
		deepMerge(p.items["yAxis"][0], map[string]any{"min": roundSig(y0), "max": roundSig(y1), "axisLabel": hide})
		f.grid = [4]int{fr.left, gridRight, fr.top(), fr.bottom}
	}
	return fr, y
}

// roundSig rounds v to 6 significant digits, so that computed axis ends
// read well in the option.
func roundSig(v float64) float64 {
	if v == 0 || !finite(v) {
		return v
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 6, 64), 64)
	return r
}

func valueX(name string, log bool) opts.XAxis {
	return opts.XAxis{Type: axisType(log), Name: text(name), NameLocation: "middle", NameGap: 32, Scale: opts.Bool(true)}
}

func axisType(log bool) string {
	if log {
		return "log"
	}
	return "value"
}

func categoryLabels(n int) *opts.AxisLabel {
	l := &opts.AxisLabel{Interval: "0"}
	if n > rotateLabels {
		l.Rotate = 30
	}
	return l
}

// points pairs x and y for a line or a point cloud. Points whose x cannot be
// placed are dropped; a y that cannot be placed becomes missing in a line
// (a gap) and drops the point in a cloud.
func points(fn string, s Series, ax Axes, dropMissingY bool) [][2]any {
	if len(s.X) != len(s.Y) {
		panic(fmt.Sprintf("plots: %s: series %q has %d x and %d y values", fn, s.Name, len(s.X), len(s.Y)))
	}
	pts := make([][2]any, 0, len(s.X))
	for i, x := range s.X {
		if num(x, ax.LogX) == missing {
			continue
		}
		y := num(s.Y[i], ax.LogY)
		if y == missing && dropMissingY {
			continue
		}
		pts = append(pts, [2]any{x, y})
	}
	return pts
}

// Line draws each series as a line of Y against X (loss or a metric against
// the step; one series per run). X and Y of a series must have the same
// length; a non-finite Y leaves a gap. A series with Low and High also gets
// an error bar at each point, with caps, in its colour. Series are coloured
// by name (see Color). With ax.Equal (and no log axis) one unit is as long
// on both axes (trajectories in a plane).
//
// The error bars are an ECharts custom series per line, after all the
// lines, with the line's name (so its legend entry hides both) and the
// line's colour set on both; each data item is [x, low, high], encoded on
// the y axis so that the axis range takes in the bars.
func Line(id, title string, series []Series, ax Axes) *Chart {
	mustID(id)
	f := &figure{kind: figLine, title: title, height: plainHeight, ax: ax, mark: 5}
	names := make([]string, len(series))
	for i, s := range series {
		names[i] = s.Name
	}
	colours := seriesColors(names)
	pts := make([][][2]any, len(series))
	bars := make([][][3]float64, len(series))
	withBars := false
	for i, s := range series {
		pts[i] = points("Line", s, ax, false)
		bars[i] = errorBars("Line", s, ax)
		withBars = withBars || bars[i] != nil
		fs := figSeries{name: s.Name, color: colours[i], marks: len(pts[i]) <= maxSymbols}
		for j, x := range s.X {
			if !placeable(x, ax.LogX) {
				continue
			}
			y := s.Y[j]
			if !placeable(y, ax.LogY) {
				y = math.NaN()
			}
			fs.x, fs.y = append(fs.x, x), append(fs.y, y)
			if s.Low != nil {
				lo, hi := s.Low[j], s.High[j]
				if !placeable(lo, ax.LogY) || !placeable(hi, ax.LogY) {
					lo, hi = math.NaN(), math.NaN()
				}
				fs.low, fs.high = append(fs.low, lo), append(fs.high, hi)
			}
		}
		f.series = append(f.series, fs)
	}
	p := theme(nil)
	fr, yAxis := xyFrame(id, f, names, ax, p)

	c := charts.NewLine()
	c.SetGlobalOptions(append(common(fr),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithXAxisOpts(valueX(ax.XLabel, ax.LogX)),
		charts.WithYAxisOpts(yAxis),
	)...)
	for i, s := range series {
		c.AddSeries(text(s.Name), nil, charts.WithSeriesOpts(func(ss *charts.SingleSeries) {
			ss.Data = pts[i]
			ss.ShowSymbol = opts.Bool(len(pts[i]) <= maxSymbols)
			ss.SymbolSize = f.mark
			ss.ItemStyle = &opts.ItemStyle{Color: colours[i]}
			ss.LineStyle = &opts.LineStyle{Width: 2}
		}))
	}
	if withBars {
		custom := charts.NewCustom()
		for i, s := range series {
			if bars[i] == nil {
				continue
			}
			custom.AddSeries(text(s.Name), nil, charts.WithSeriesOpts(func(ss *charts.SingleSeries) {
				ss.Data = bars[i]
				ss.RenderItem = opts.FuncOpts(errorBarJS)
				ss.Encode = &opts.Encode{X: 0, Y: []int{1, 2}, Tooltip: []int{1, 2}}
				ss.ItemStyle = &opts.ItemStyle{Color: colours[i]}
			}))
		}
		c.Overlap(custom)
	}
	return finish(id, c, p, f)
}

// errorBars returns the [x, low, high] items of a series' error bars: nil
// when it has none, only the bars whose three values can be placed.
func errorBars(fn string, s Series, ax Axes) [][3]float64 {
	if s.Low == nil && s.High == nil {
		return nil
	}
	if len(s.Low) != len(s.X) || len(s.High) != len(s.X) {
		panic(fmt.Sprintf("plots: %s: series %q has %d x values, %d lows and %d highs", fn, s.Name, len(s.X), len(s.Low), len(s.High)))
	}
	items := make([][3]float64, 0, len(s.X))
	for i, x := range s.X {
		lo, hi := s.Low[i], s.High[i]
		if num(x, ax.LogX) == missing || num(lo, ax.LogY) == missing || num(hi, ax.LogY) == missing {
			continue
		}
		items = append(items, [3]float64{x, lo, hi})
	}
	return items
}

// errorBarHalfCap is half the cap of a line's error bar, in px (a string:
// it is spliced into errorBarJS).
const errorBarHalfCap = "4"

// errorBarJS is the renderItem of an error-bar series: a vertical segment
// from low to high at x with a cap of errorBarHalfCap px on each side of
// both ends, stroked in the series' colour. go-echarts inlines it into the
// option as code, after JSON-encoding it as a string, so it holds no double
// quote or backslash (they would come out escaped), no "<", ">" or "&"
// (escaped by encoders that escape HTML) and no "//" comment (newlines are
// removed).
const errorBarJS = `function (params, api) {
	var x = api.value(0), lo = api.value(1), hi = api.value(2);
	if (isNaN(x) || isNaN(lo) || isNaN(hi)) { return null; }
	var a = api.coord([x, lo]), b = api.coord([x, hi]), w = ` + errorBarHalfCap + `, c = api.visual('color');
	var seg = function (x1, y1, x2, y2) {
		return {type: 'line', shape: {x1: x1, y1: y1, x2: x2, y2: y2}, style: {stroke: c, lineWidth: 1.5}};
	};
	return {type: 'group', children: [
		seg(a[0], a[1], b[0], b[1]),
		seg(a[0] - w, a[1], a[0] + w, a[1]),
		seg(b[0] - w, b[1], b[0] + w, b[1])
	]};
}`

// Scatter draws each series as a cloud of points, coloured by name (see
// Color). Points with a coordinate that cannot be placed are left out. A
// cloud of more than MaxScatterPoints points in all is subsampled evenly
// within each series (each keeps its share of the points) and drawn at
// half opacity, and the chart says how many points it shows. With
// ax.Equal (and no log axis) one unit is as long on both axes, so that a
// circle of points stays a circle.
func Scatter(id, title string, series []Series, ax Axes) *Chart {
	mustID(id)
	all := make([][][2]any, len(series))
	total := 0
	for i, s := range series {
		all[i] = points("Scatter", s, ax, true)
		total += len(all[i])
	}
	f := &figure{kind: figScatter, title: title, height: plainHeight, ax: ax, mark: 6}
	shown := total
	if total > MaxScatterPoints {
		shown = 0
		for i := range all {
			all[i] = subsample(all[i], total)
			shown += len(all[i])
		}
		f.faded = true
		f.note = count(shown) + " of " + count(total) + " points shown"
	}
	if shown > 500 {
		f.mark = 4
	}
	names := make([]string, len(series))
	for i, s := range series {
		names[i] = s.Name
	}
	colours := seriesColors(names)
	for i, s := range series {
		fs := figSeries{name: s.Name, color: colours[i]}
		for _, p := range all[i] {
			fs.x, fs.y = append(fs.x, p[0].(float64)), append(fs.y, p[1].(float64))
		}
		f.series = append(f.series, fs)
	}
	p := theme(nil)
	fr, yAxis := xyFrame(id, f, names, ax, p)

	c := charts.NewScatter()
	c.SetGlobalOptions(append(common(fr),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item"}),
		charts.WithXAxisOpts(valueX(ax.XLabel, ax.LogX)),
		charts.WithYAxisOpts(yAxis),
	)...)
	for i, s := range series {
		c.AddSeries(text(s.Name), nil, charts.WithSeriesOpts(func(ss *charts.SingleSeries) {
			ss.Data = all[i]
			ss.SymbolSize = f.mark
			ss.ItemStyle = &opts.ItemStyle{Color: colours[i]}
			if f.faded {
				ss.ItemStyle.Opacity = opts.Float(0.5)
			}
		}))
	}
	return finish(id, c, p, f)
}

// subsample keeps an even selection of pts, its share of MaxScatterPoints
// out of total (at least one point of a non-empty series).
func subsample(pts [][2]any, total int) [][2]any {
	n := len(pts)
	k := int(math.Round(float64(MaxScatterPoints) * float64(n) / float64(total)))
	k = min(n, max(k, min(n, 1)))
	out := make([][2]any, k)
	for j := range out {
		out[j] = pts[j*n/k]
	}
	return out
}

// Leaderboard ranks labels, top to bottom in the given order, each with a
// point at value and an error bar from low to high. low and high may both be
// nil (no error bars); otherwise every slice has len(labels) elements. A
// non-finite value, low or high leaves out that point or bar.
//
// The error bar is a boxplot item [low, v, v, v, high]: its box collapses
// onto the value and its whiskers, with caps, span the interval.
func Leaderboard(id, title string, labels []string, value, low, high []float64) *Chart {
	mustID(id)
	n := len(labels)
	if low == nil && high == nil {
		low, high = nanSlice(n), nanSlice(n)
	}
	if len(value) != n || len(low) != n || len(high) != n {
		panic(fmt.Sprintf("plots: Leaderboard: %d labels, %d values, %d lows, %d highs", n, len(value), len(low), len(high)))
	}
	f := &figure{kind: figLeaderboard, title: title, height: max(minHeight, 100+rowHeight*n),
		labels: labels, value: value, low: low, high: high,
		leaderboardBars: palette[0], leaderboardPoints: palette[1]}
	c := charts.NewBoxPlot()
	c.SetGlobalOptions(append(common(frame{id: id, title: title, height: f.height, bottom: 40, left: 20}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", Scale: opts.Bool(true)}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Data: texts(labels), Inverse: opts.Bool(true),
			AxisLabel: &opts.AxisLabel{Interval: "0"}}),
	)...)
	bars := make([]any, n)
	marks := make([]opts.ScatterData, n)
	for i := range labels {
		v, lo, hi := value[i], low[i], high[i]
		bars[i] = missing
		if finite(lo) && finite(hi) {
			mid := v
			if !finite(mid) {
				mid = (lo + hi) / 2
			}
			bars[i] = [5]float64{lo, mid, mid, mid, hi}
		}
		name := text(labels[i]) + ": " + short(v)
		if finite(lo) || finite(hi) {
			name += " [" + short(lo) + ", " + short(hi) + "]"
		}
		marks[i] = opts.ScatterData{Name: name, Value: [2]any{num(v, false), i}}
	}
	c.AddSeries("interval", nil, charts.WithSeriesOpts(func(s *charts.SingleSeries) {
		s.Data = bars
		s.ItemStyle = &opts.ItemStyle{Color: "rgba(0,0,0,0)", BorderColor: f.leaderboardBars, BorderWidth: 1.5}
	}))
	sc := charts.NewScatter()
	sc.AddSeries("value", marks, charts.WithSeriesOpts(func(s *charts.SingleSeries) {
		s.SymbolSize = 9
		s.ItemStyle = &opts.ItemStyle{Color: f.leaderboardPoints}
		s.SeriesTooltip = &opts.SeriesTooltip{Formatter: "{b}"}
	}))
	c.Overlap(sc)
	// silent: hovering a whisker would show a five-number tooltip that means nothing here.
	// boundaryGap: a margin, so that an interval at the extreme does not sit on the axis line.
	return finish(id, c, &patch{items: map[string]map[int]map[string]any{
		"series": {0: {"boxWidth": [2]int{errorBarCap / 2, errorBarCap}, "silent": true}},
		"xAxis":  {0: {"boundaryGap": [2]string{"5%", "5%"}}},
	}}, f)
}

// Heatmap draws values[y][x] on a grid of xcats (columns) by ycats (rows,
// the first at the top), each cell labelled with its value; the colour scale
// spans the finite values. NaN cells are left empty.
func Heatmap(id, title string, xcats, ycats []string, values [][]float64) *Chart {
	mustID(id)
	if len(values) != len(ycats) {
		panic(fmt.Sprintf("plots: Heatmap: %d rows of values for %d y categories", len(values), len(ycats)))
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	var cells []opts.HeatMapData
	for y, row := range values {
		if len(row) != len(xcats) {
			panic(fmt.Sprintf("plots: Heatmap: row %d has %d values for %d x categories", y, len(row), len(xcats)))
		}
		for x, v := range row {
			if !finite(v) {
				continue
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
			cells = append(cells, opts.HeatMapData{Name: short(v), Value: [3]any{x, y, v}})
		}
	}
	switch {
	case len(cells) == 0:
		lo, hi = 0, 1
	case lo == hi: // a zero-width scale would give every cell the same end colour
		lo, hi = lo-0.5, hi+0.5
	}
	f := &figure{kind: figHeatmap, title: title, height: max(minHeight, 150+rowHeight*len(ycats)),
		cats: xcats, labels: ycats, cells: values, cmin: lo, cmax: hi, precision: precision(hi - lo)}
	c := charts.NewHeatMap()
	gl := common(frame{id: id, title: title, height: f.height, bottom: 80, left: 20}) // room for the visualMap
	gl = append(gl,
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category", Data: texts(xcats), AxisLabel: categoryLabels(len(xcats))}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Data: texts(ycats), Inverse: opts.Bool(true),
			AxisLabel: &opts.AxisLabel{Interval: "0"}}),
	)
	c.SetGlobalOptions(gl...)
	c.AddSeries("value", cells, charts.WithLabelOpts(opts.Label{Show: opts.Bool(true), Formatter: "{b}"}))
	return finish(id, c, &patch{top: map[string]any{"visualMap": []map[string]any{{
		"type": "continuous", "min": lo, "max": hi, "precision": f.precision, "calculable": true,
		"orient": "horizontal", "left": "center", "bottom": 0,
		"textStyle": map[string]any{"fontSize": textFontSize},
		// The lowest colour is not white, so that an empty (NaN) cell stands out.
		"inRange": map[string]any{"color": heatmapStops},
	}}}}, f)
}

// Bar draws grouped bars: for each category, one bar per series, coloured
// by the series' name (see Color). Every series has len(categories) values;
// a non-finite value draws no bar. ax.LogX and ax.Equal are ignored (the x
// axis holds categories).
func Bar(id, title string, categories []string, series []BarSeries, ax Axes) *Chart {
	mustID(id)
	ax.LogX, ax.Equal = false, false
	names := make([]string, len(series))
	for i, s := range series {
		if len(s.Values) != len(categories) {
			panic(fmt.Sprintf("plots: Bar: series %q has %d values for %d categories", s.Name, len(s.Values), len(categories)))
		}
		names[i] = s.Name
	}
	colours := seriesColors(names)
	f := &figure{kind: figBar, title: title, height: plainHeight, ax: ax, cats: categories, legend: showLegend(names, ax.YLabel)}
	vals := make([][]any, len(series))
	for i, s := range series {
		fb := figBars{name: s.Name, color: colours[i], values: make([]float64, len(s.Values))}
		vals[i] = make([]any, len(s.Values))
		for j, v := range s.Values {
			vals[i][j] = num(v, ax.LogY)
			fb.values[j] = v
			if !placeable(v, ax.LogY) {
				fb.values[j] = math.NaN()
			}
		}
		f.bars = append(f.bars, fb)
	}
	p := theme(nil)
	fr, yAxis := valueFrame(id, f, p)
	c := charts.NewBar()
	c.SetGlobalOptions(append(common(fr),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category", Name: text(ax.XLabel), NameLocation: "middle", NameGap: 32,
			AxisLabel: categoryLabels(len(categories))}),
		// Bars start at zero (or at the log axis' floor): a scaled axis would hide the shortest bar.
		charts.WithYAxisOpts(yAxis),
	)...)
	c.SetXAxis(texts(categories))
	for i, s := range series {
		c.AddSeries(text(s.Name), nil, charts.WithSeriesOpts(func(ss *charts.SingleSeries) {
			ss.Data = vals[i]
			ss.ItemStyle = &opts.ItemStyle{Color: colours[i]}
		}))
	}
	return finish(id, c, p, f)
}

// short formats v for a label: three significant digits, but whole numbers
// from 100 to a million (ratings read 1123, not 1.12e+03); "NaN" when missing.
func short(v float64) string {
	switch {
	case !finite(v):
		return strconv.FormatFloat(v, 'g', -1, 64)
	case math.Abs(v) >= 100 && math.Abs(v) < 1e6:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// precision is the number of decimals that tells apart the ends of a
// colour scale spanning width: 2 for a width of 1, 0 from 100 up.
func precision(width float64) int {
	return min(6, max(0, 2-int(math.Floor(math.Log10(width)))))
}

func nanSlice(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = math.NaN()
	}
	return s
}
