package plots

import (
	"fmt"
	"math"
	"strconv"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// Layout constants shared by the builders. The width is fixed rather than
// "100%": a chart initialised while its notebook output is not yet laid out
// would otherwise get zero width.
const (
	chartWidth   = "900px"
	plainHeight  = 440 // px, line, scatter and bar charts
	rowHeight    = 28  // px per label of a leaderboard or row of a heatmap
	minHeight    = 300 // px
	maxSymbols   = 40  // a line with more points is drawn without point symbols
	errorBarCap  = 18  // px, longest whisker cap of a leaderboard
	rotateLabels = 8   // more categories than this rotate the x labels
)

var palette = []string{"#5470c6", "#91cc75", "#fac858", "#ee6666", "#73c0de", "#3ba272", "#fc8452", "#9a60b4", "#ea7ccc"}

// common returns the options every chart shares: id, size, SVG renderer,
// title, legend, no animation and a grid that keeps tick labels inside.
func common(id, title string, height int, legend bool, bottom int) []charts.GlobalOpts {
	mustID(id)
	top := "40"
	if legend {
		top = "70"
	}
	return []charts.GlobalOpts{
		charts.WithInitializationOpts(opts.Initialization{
			ChartID: id, Width: chartWidth, Height: strconv.Itoa(height) + "px",
			Renderer: "svg", Theme: "white",
		}),
		charts.WithTitleOpts(opts.Title{Title: text(title), Left: "center"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(legend), Type: "scroll", Top: "28"}),
		charts.WithAnimation(false),
		charts.WithColorsOpts(palette),
		charts.WithGridOpts(opts.Grid{Left: "70", Right: "40", Top: top, Bottom: strconv.Itoa(bottom), ContainLabel: opts.Bool(true)}),
	}
}

func valueX(name string, log bool) opts.XAxis {
	return opts.XAxis{Type: axisType(log), Name: text(name), NameLocation: "middle", NameGap: 30, Scale: opts.Bool(true)}
}

func valueY(name string, log bool) opts.YAxis {
	return opts.YAxis{Type: axisType(log), Name: text(name), NameLocation: "middle", NameGap: 55, Scale: opts.Bool(true)}
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
// an error bar at each point, with caps, in its colour.
//
// The error bars are an ECharts custom series per line, after all the
// lines, with the line's name (so its legend entry hides both) and the
// line's colour set on both; each data item is [x, low, high], encoded on
// the y axis so that the axis range takes in the bars.
func Line(id, title string, series []Series, ax Axes) *Chart {
	c := charts.NewLine()
	c.SetGlobalOptions(append(common(id, title, plainHeight, len(series) > 1, 60),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithXAxisOpts(valueX(ax.XLabel, ax.LogX)),
		charts.WithYAxisOpts(valueY(ax.YLabel, ax.LogY)),
	)...)
	withBars := false
	for _, s := range series {
		if s.Low != nil || s.High != nil {
			withBars = true
		}
	}
	// The colours are set only on charts with error bars, where a line and
	// its bars must match; elsewhere ECharts' palette order applies.
	colour := func(i int) *opts.ItemStyle {
		if !withBars {
			return nil
		}
		return &opts.ItemStyle{Color: palette[i%len(palette)]}
	}
	for i, s := range series {
		pts := points("Line", s, ax, false)
		c.AddSeries(text(s.Name), nil, charts.WithSeriesOpts(func(ss *charts.SingleSeries) {
			ss.Data = pts
			ss.ShowSymbol = opts.Bool(len(pts) <= maxSymbols)
			ss.SymbolSize = 5
			ss.ItemStyle = colour(i)
		}))
	}
	if withBars {
		bars := charts.NewCustom()
		for i, s := range series {
			items := errorBars("Line", s, ax)
			if items == nil {
				continue
			}
			bars.AddSeries(text(s.Name), nil, charts.WithSeriesOpts(func(ss *charts.SingleSeries) {
				ss.Data = items
				ss.RenderItem = opts.FuncOpts(errorBarJS)
				ss.Encode = &opts.Encode{X: 0, Y: []int{1, 2}, Tooltip: []int{1, 2}}
				ss.ItemStyle = colour(i)
			}))
		}
		c.Overlap(bars)
	}
	c.Validate()
	return &Chart{id: id, ec: c}
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

// Scatter draws each series as a cloud of small points. Points with a
// coordinate that cannot be placed are left out.
func Scatter(id, title string, series []Series, ax Axes) *Chart {
	c := charts.NewScatter()
	c.SetGlobalOptions(append(common(id, title, plainHeight, len(series) > 1, 60),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item"}),
		charts.WithXAxisOpts(valueX(ax.XLabel, ax.LogX)),
		charts.WithYAxisOpts(valueY(ax.YLabel, ax.LogY)),
	)...)
	for _, s := range series {
		pts := points("Scatter", s, ax, true)
		c.AddSeries(text(s.Name), nil, charts.WithSeriesOpts(func(ss *charts.SingleSeries) {
			ss.Data = pts
			ss.SymbolSize = 4
		}))
	}
	c.Validate()
	return &Chart{id: id, ec: c}
}

// Leaderboard ranks labels, top to bottom in the given order, each with a
// point at value and an error bar from low to high. low and high may both be
// nil (no error bars); otherwise every slice has len(labels) elements. A
// non-finite value, low or high leaves out that point or bar.
//
// The error bar is a boxplot item [low, v, v, v, high]: its box collapses
// onto the value and its whiskers, with caps, span the interval.
func Leaderboard(id, title string, labels []string, value, low, high []float64) *Chart {
	n := len(labels)
	if low == nil && high == nil {
		low, high = nanSlice(n), nanSlice(n)
	}
	if len(value) != n || len(low) != n || len(high) != n {
		panic(fmt.Sprintf("plots: Leaderboard: %d labels, %d values, %d lows, %d highs", n, len(value), len(low), len(high)))
	}
	c := charts.NewBoxPlot()
	c.SetGlobalOptions(append(common(id, title, max(minHeight, 100+rowHeight*n), false, 40),
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
		s.ItemStyle = &opts.ItemStyle{Color: "rgba(0,0,0,0)", BorderColor: palette[0], BorderWidth: 1.5}
	}))
	sc := charts.NewScatter()
	sc.AddSeries("value", marks, charts.WithSeriesOpts(func(s *charts.SingleSeries) {
		s.SymbolSize = 9
		s.ItemStyle = &opts.ItemStyle{Color: palette[3]}
		s.SeriesTooltip = &opts.SeriesTooltip{Formatter: "{b}"}
	}))
	c.Overlap(sc)
	// silent: hovering a whisker would show a five-number tooltip that means nothing here.
	// boundaryGap: a margin, so that an interval at the extreme does not sit on the axis line.
	c.Accept(&patch{items: map[string]map[int]map[string]any{
		"series": {0: {"boxWidth": [2]int{errorBarCap / 2, errorBarCap}, "silent": true}},
		"xAxis":  {0: {"boundaryGap": [2]string{"5%", "5%"}}},
	}})
	c.Validate()
	return &Chart{id: id, ec: c}
}

// Heatmap draws values[y][x] on a grid of xcats (columns) by ycats (rows,
// the first at the top), each cell labelled with its value; the colour scale
// spans the finite values. NaN cells are left empty.
func Heatmap(id, title string, xcats, ycats []string, values [][]float64) *Chart {
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
	c := charts.NewHeatMap()
	gl := common(id, title, max(minHeight, 150+rowHeight*len(ycats)), false, 80) // room for the visualMap
	gl = append(gl,
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category", Data: texts(xcats), AxisLabel: categoryLabels(len(xcats))}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Data: texts(ycats), Inverse: opts.Bool(true),
			AxisLabel: &opts.AxisLabel{Interval: "0"}}),
	)
	c.SetGlobalOptions(gl...)
	c.AddSeries("value", cells, charts.WithLabelOpts(opts.Label{Show: opts.Bool(true), Formatter: "{b}"}))
	c.Accept(&patch{top: map[string]any{"visualMap": []map[string]any{{
		"type": "continuous", "min": lo, "max": hi, "precision": precision(hi - lo), "calculable": true,
		"orient": "horizontal", "left": "center", "bottom": 0,
		// The lowest colour is not white, so that an empty (NaN) cell stands out.
		"inRange": map[string]any{"color": []string{"#c6dbef", "#6baed6", "#2171b5", "#08306b"}},
	}}}})
	c.Validate()
	return &Chart{id: id, ec: c}
}

// Bar draws grouped bars: for each category, one bar per series.
// Every series has len(categories) values; a non-finite value draws no bar.
// ax.LogX is ignored (the x axis holds categories).
func Bar(id, title string, categories []string, series []BarSeries, ax Axes) *Chart {
	c := charts.NewBar()
	c.SetGlobalOptions(append(common(id, title, plainHeight, len(series) > 1, 60),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category", Name: text(ax.XLabel), NameLocation: "middle", NameGap: 30,
			AxisLabel: categoryLabels(len(categories))}),
		// Bars start at zero (or at the log axis' floor): a scaled axis would hide the shortest bar.
		charts.WithYAxisOpts(opts.YAxis{Type: axisType(ax.LogY), Name: text(ax.YLabel), NameLocation: "middle", NameGap: 55}),
	)...)
	c.SetXAxis(texts(categories))
	for _, s := range series {
		if len(s.Values) != len(categories) {
			panic(fmt.Sprintf("plots: Bar: series %q has %d values for %d categories", s.Name, len(s.Values), len(categories)))
		}
		vals := make([]any, len(s.Values))
		for i, v := range s.Values {
			vals[i] = num(v, ax.LogY)
		}
		c.AddSeries(text(s.Name), nil, charts.WithSeriesOpts(func(ss *charts.SingleSeries) { ss.Data = vals }))
	}
	c.Validate()
	return &Chart{id: id, ec: c}
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
