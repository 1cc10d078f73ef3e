package report

import (
	"encoding/json"
	"fmt"
	"html"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/alignlab/alignlab/kernel"
	"github.com/alignlab/alignlab/plots"
)

// MaxTableRows is how many rows TableHTML shows; the rest are counted in a
// "… N more rows" line, so a report stays readable and small.
const MaxTableRows = 200

// reportKinds are the values of kernel.Chart.Kind that Charts draws.
var reportKinds = []string{"bar", "heatmap", "leaderboard", "line", "scatter", "xy"}

// Charts draws the charts a result declares, in order. Each chart's element
// ID is the plugin ID with every character outside [A-Za-z0-9_] replaced by
// "_", then "_", then the chart's ID ("bt.ratings" chart "elo" →
// "bt_ratings_elo"): stable, for golden tests and reports. An error names
// the chart and the missing series, table or column.
func Charts(res *kernel.Result) ([]*plots.Chart, error) { return ChartsWithPrefix(res, "") }

// ChartsWithPrefix is Charts with element IDs "<prefix>_<plugin>_<chart>",
// so that several outputs of one notebook page (each a fresh
// plots.RandomID) do not collide. An empty prefix gives Charts' IDs.
func ChartsWithPrefix(res *kernel.Result, prefix string) ([]*plots.Chart, error) {
	if prefix != "" && !plots.ValidID(prefix) {
		return nil, fmt.Errorf("report: chart ID prefix %q must match [A-Za-z0-9_]+", prefix)
	}
	base := reportIDPart(res.Plugin)
	if prefix != "" {
		base = prefix + "_" + base
	}
	out := make([]*plots.Chart, 0, len(res.Charts))
	seen := make(map[string]bool, len(res.Charts))
	for i, c := range res.Charts {
		if !plots.ValidID(c.ID) {
			return nil, fmt.Errorf("report: %s: chart %d: ID %q must match [A-Za-z0-9_]+", res.Plugin, i, c.ID)
		}
		if seen[c.ID] {
			return nil, fmt.Errorf("report: %s: two charts have ID %q", res.Plugin, c.ID)
		}
		seen[c.ID] = true
		pc, err := reportChart(res, c, base+"_"+c.ID)
		if err != nil {
			return nil, fmt.Errorf("report: %s: chart %q (%s): %w", res.Plugin, c.ID, c.Kind, err)
		}
		out = append(out, pc)
	}
	return out, nil
}

// reportIDPart maps a plugin ID to a chart-ID fragment.
func reportIDPart(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "result"
	}
	return string(b)
}

func reportChart(res *kernel.Result, c kernel.Chart, id string) (*plots.Chart, error) {
	title := c.Title
	if title == "" {
		title = c.ID
	}
	if c.Kind == "line" {
		return reportLine(res, c, id, title)
	}
	if !reportKnownKind(c.Kind) {
		return nil, fmt.Errorf("unknown kind %q, want one of %s", c.Kind, strings.Join(reportKinds, ", "))
	}
	t, err := reportTable(res, c.Table)
	if err != nil {
		return nil, err
	}
	switch c.Kind {
	case "leaderboard":
		return reportLeaderboard(t, c, id, title)
	case "heatmap":
		return reportHeatmap(t, c, id, title)
	case "bar":
		return reportBar(t, c, id, title)
	case "xy", "scatter":
		return reportXY(t, c, id, title)
	}
	panic("unreachable")
}

func reportKnownKind(kind string) bool {
	for _, k := range reportKinds {
		if k == kind {
			return true
		}
	}
	return false
}

// reportLine draws the named series (all of them, sorted, when none is
// named) against their steps.
func reportLine(res *kernel.Result, c kernel.Chart, id, title string) (*plots.Chart, error) {
	names := c.Series
	if len(names) == 0 {
		names = res.SeriesNames()
		if len(names) == 0 {
			return nil, fmt.Errorf("the result has no series to draw")
		}
	}
	series := make([]plots.Series, 0, len(names))
	for _, name := range names {
		pts, ok := res.Series[name]
		if !ok {
			return nil, fmt.Errorf("series %q is not in the result (series: %s)", name, reportList(res.SeriesNames()))
		}
		s := plots.Series{Name: name, X: make([]float64, len(pts)), Y: make([]float64, len(pts))}
		for i, p := range pts {
			s.X[i], s.Y[i] = float64(p.Step), p.Value
		}
		series = append(series, s)
	}
	xl := c.XLabel
	if xl == "" {
		xl = "step"
	}
	yl := c.YLabel
	if yl == "" && len(names) == 1 {
		yl = names[0]
	}
	return plots.Line(id, title, series, plots.Axes{XLabel: xl, YLabel: yl, LogX: c.LogX}), nil
}

func reportLeaderboard(t *kernel.Table, c kernel.Chart, id, title string) (*plots.Chart, error) {
	labels, err := reportStrings(t, c.Table, "label", c.Label)
	if err != nil {
		return nil, err
	}
	value, err := reportFloats(t, c.Table, "value", c.Value)
	if err != nil {
		return nil, err
	}
	var low, high []float64
	switch {
	case c.Low == "" && c.High == "": // no intervals
	case c.Low == "" || c.High == "":
		return nil, fmt.Errorf("low and high name the interval's columns together; got low %q, high %q", c.Low, c.High)
	default:
		if low, err = reportFloats(t, c.Table, "low", c.Low); err != nil {
			return nil, err
		}
		if high, err = reportFloats(t, c.Table, "high", c.High); err != nil {
			return nil, err
		}
	}
	return plots.Leaderboard(id, title, labels, value, low, high), nil
}

// reportHeatmap lays the Value column out on a grid of the distinct X and Y
// values, in order of first appearance (the Y order on both axes when the two
// sets are equal); absent cells stay empty.
func reportHeatmap(t *kernel.Table, c kernel.Chart, id, title string) (*plots.Chart, error) {
	xs, err := reportStrings(t, c.Table, "x", c.X)
	if err != nil {
		return nil, err
	}
	ys, err := reportStrings(t, c.Table, "y", c.Y)
	if err != nil {
		return nil, err
	}
	vs, err := reportFloats(t, c.Table, "value", c.Value)
	if err != nil {
		return nil, err
	}
	xcats, xi := reportDistinct(xs)
	ycats, yi := reportDistinct(ys)
	// A pairwise matrix (the same categories on both axes, e.g. win rates)
	// reads best with both axes in one order, so the diagonal is a diagonal.
	if both, _ := reportDistinct(append(append([]string{}, ys...), xs...)); len(both) == len(xcats) && len(both) == len(ycats) {
		xcats, xi = ycats, yi
	}
	values := make([][]float64, len(ycats))
	filled := make([][]bool, len(ycats))
	for y := range values {
		values[y] = make([]float64, len(xcats))
		filled[y] = make([]bool, len(xcats))
		for x := range values[y] {
			values[y][x] = math.NaN()
		}
	}
	for r := range vs {
		x, y := xi[xs[r]], yi[ys[r]]
		if filled[y][x] {
			return nil, fmt.Errorf("table %q has two rows for cell (%s, %s) = (%q, %q)", c.Table, c.X, c.Y, xs[r], ys[r])
		}
		filled[y][x] = true
		values[y][x] = vs[r]
	}
	return plots.Heatmap(id, title, xcats, ycats, values), nil
}

// reportBar groups the Value column by category (X) and by Group.
func reportBar(t *kernel.Table, c kernel.Chart, id, title string) (*plots.Chart, error) {
	xs, err := reportStrings(t, c.Table, "x", c.X)
	if err != nil {
		return nil, err
	}
	vs, err := reportFloats(t, c.Table, "value", c.Value)
	if err != nil {
		return nil, err
	}
	groups, err := reportGroups(t, c)
	if err != nil {
		return nil, err
	}
	cats, ci := reportDistinct(xs)
	names, gi := reportDistinct(groups)
	series := make([]plots.BarSeries, len(names))
	filled := make([][]bool, len(names))
	for g, name := range names {
		if c.Group == "" {
			name = c.Value
		}
		series[g] = plots.BarSeries{Name: name, Values: make([]float64, len(cats))}
		filled[g] = make([]bool, len(cats))
		for i := range cats {
			series[g].Values[i] = math.NaN()
		}
	}
	for r := range vs {
		g, x := gi[groups[r]], ci[xs[r]]
		if filled[g][x] {
			return nil, fmt.Errorf("table %q has two rows for category %q in group %q", c.Table, xs[r], groups[r])
		}
		filled[g][x] = true
		series[g].Values[x] = vs[r]
	}
	xl, yl := c.XLabel, c.YLabel
	if xl == "" {
		xl = c.X
	}
	if yl == "" {
		yl = c.Value
	}
	return plots.Bar(id, title, cats, series, plots.Axes{XLabel: xl, YLabel: yl}), nil
}

// reportXY draws an "xy" chart (X against Value, lines in row order, with
// an error bar from Low to High at each point when both are set) or a
// "scatter" chart (X against Y, points), one series per Group value, with
// equal scales on both axes when the chart asks for them (Equal).
func reportXY(t *kernel.Table, c kernel.Chart, id, title string) (*plots.Chart, error) {
	xs, err := reportFloats(t, c.Table, "x", c.X)
	if err != nil {
		return nil, err
	}
	yField, yCol := "value", c.Value
	if c.Kind == "scatter" {
		yField, yCol = "y", c.Y
	}
	ys, err := reportFloats(t, c.Table, yField, yCol)
	if err != nil {
		return nil, err
	}
	var low, high []float64
	switch {
	case c.Low == "" && c.High == "": // no error bars
	case c.Kind == "scatter":
		return nil, fmt.Errorf("low and high draw error bars on xy charts, not on scatter; got low %q, high %q", c.Low, c.High)
	case c.Low == "" || c.High == "":
		return nil, fmt.Errorf("low and high name the error bars' columns together; got low %q, high %q", c.Low, c.High)
	default:
		if low, err = reportFloats(t, c.Table, "low", c.Low); err != nil {
			return nil, err
		}
		if high, err = reportFloats(t, c.Table, "high", c.High); err != nil {
			return nil, err
		}
	}
	groups, err := reportGroups(t, c)
	if err != nil {
		return nil, err
	}
	names, gi := reportDistinct(groups)
	series := make([]plots.Series, len(names))
	for g, name := range names {
		if c.Group == "" {
			name = yCol
		}
		series[g].Name = name
		if low != nil {
			series[g].Low, series[g].High = []float64{}, []float64{}
		}
	}
	for r := range xs {
		s := &series[gi[groups[r]]]
		s.X = append(s.X, xs[r])
		s.Y = append(s.Y, ys[r])
		if low != nil {
			s.Low = append(s.Low, low[r])
			s.High = append(s.High, high[r])
		}
	}
	xl, yl := c.XLabel, c.YLabel
	if xl == "" {
		xl = c.X
	}
	if yl == "" {
		yl = yCol
	}
	ax := plots.Axes{XLabel: xl, YLabel: yl, LogX: c.LogX, Equal: c.Equal}
	if c.Kind == "scatter" {
		return plots.Scatter(id, title, series, ax), nil
	}
	return plots.Line(id, title, series, ax), nil
}

func reportTable(res *kernel.Result, name string) (*kernel.Table, error) {
	if name == "" {
		return nil, fmt.Errorf("no table named (tables: %s)", reportList(res.TableNames()))
	}
	t, ok := res.Tables[name]
	if !ok || t == nil {
		return nil, fmt.Errorf("table %q is not in the result (tables: %s)", name, reportList(res.TableNames()))
	}
	return t, nil
}

// reportColumn finds the column a chart field names.
func reportColumn(t *kernel.Table, table, field, col string) (int, error) {
	if col == "" {
		return -1, fmt.Errorf("field %s names no column of table %q (columns: %s)", field, table, reportList(t.Columns))
	}
	i := t.Col(col)
	if i < 0 {
		return -1, fmt.Errorf("table %q has no column %q for %s (columns: %s)", table, col, field, reportList(t.Columns))
	}
	return i, nil
}

func reportStrings(t *kernel.Table, table, field, col string) ([]string, error) {
	if _, err := reportColumn(t, table, field, col); err != nil {
		return nil, err
	}
	return t.Strings(col), nil
}

// reportFloats reads a numeric column; missing cells and the strings that
// encode non-finite floats in JSON read as NaN and ±Inf, any other text is
// an error.
func reportFloats(t *kernel.Table, table, field, col string) ([]float64, error) {
	c, err := reportColumn(t, table, field, col)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(t.Rows))
	for r, row := range t.Rows {
		var cell any
		if c < len(row) {
			cell = row[c]
		}
		v, ok := reportNumber(cell)
		if !ok {
			return nil, fmt.Errorf("table %q column %q row %d: want a number, got %#v", table, col, r, cell)
		}
		out[r] = v
	}
	return out, nil
}

func reportNumber(cell any) (float64, bool) {
	switch x := cell.(type) {
	case nil:
		return math.NaN(), true
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case json.Number:
		v, err := x.Float64()
		return v, err == nil
	case string:
		switch x {
		case "NaN":
			return math.NaN(), true
		case "+Inf":
			return math.Inf(1), true
		case "-Inf":
			return math.Inf(-1), true
		}
	}
	return 0, false
}

// reportGroups returns each row's group; all rows share one group when the
// chart names no Group column.
func reportGroups(t *kernel.Table, c kernel.Chart) ([]string, error) {
	if c.Group == "" {
		return make([]string, len(t.Rows)), nil
	}
	return reportStrings(t, c.Table, "group", c.Group)
}

// reportDistinct returns the distinct values of s in order of first
// appearance, and each one's index.
func reportDistinct(s []string) ([]string, map[string]int) {
	idx := map[string]int{}
	var out []string
	for _, v := range s {
		if _, ok := idx[v]; !ok {
			idx[v] = len(out)
			out = append(out, v)
		}
	}
	return out, idx
}

func reportList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// HTML renders a result as one standalone, offline HTML page: a header
// (plugin, seed, backend, module version, wall time, data files), the
// params, the final metrics, the notes, the declared charts and every table
// (at most MaxTableRows rows each). Everything from the result is escaped.
// Each chart is a plots Block: a static SVG image that the interactive
// chart replaces where JavaScript runs, so the page reads with it off.
func HTML(res *kernel.Result) ([]byte, error) {
	charts, err := Charts(res)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	esc := html.EscapeString

	b.WriteString("<table class=\"alignlab-meta\">\n")
	meta := func(k, v string) { fmt.Fprintf(&b, "<tr><th>%s</th><td>%s</td></tr>\n", esc(k), esc(v)) }
	meta("plugin", res.Plugin)
	meta("seed", strconv.FormatInt(res.Seed, 10))
	meta("backend", res.Backend)
	pv := res.Provenance
	meta("module", strings.TrimSpace(pv.Module+" "+pv.ModuleVersion))
	if pv.GoVersion != "" {
		meta("go", pv.GoVersion)
	}
	for _, dep := range slices.Sorted(maps.Keys(pv.Deps)) {
		meta("dependency", dep+" "+pv.Deps[dep])
	}
	for _, d := range pv.Data {
		meta("data", fmt.Sprintf("%s (%d bytes, sha256 %s)", d.Path, d.Bytes, d.SHA256))
	}
	if res.Timing != nil {
		meta("started", res.Timing.Started)
		meta("wall time", strconv.FormatFloat(res.Timing.WallSeconds, 'f', 3, 64)+" s")
	}
	b.WriteString("</table>\n")

	if len(res.Params) > 0 {
		b.WriteString("<h2>Parameters</h2>\n")
		t := kernel.NewTable("param", "value")
		for _, k := range slices.Sorted(maps.Keys(res.Params)) {
			t.Add(k, res.Params[k])
		}
		b.WriteString(TableHTML(t))
	}
	if len(res.Final) > 0 {
		b.WriteString("<h2>Final metrics</h2>\n")
		t := kernel.NewTable("metric", "value")
		for _, k := range slices.Sorted(maps.Keys(res.Final)) {
			t.Add(k, res.Final[k])
		}
		b.WriteString(TableHTML(t))
	}
	if len(res.Notes) > 0 {
		b.WriteString("<h2>Notes</h2>\n<ul>\n")
		for _, n := range res.Notes {
			fmt.Fprintf(&b, "<li>%s</li>\n", esc(n))
		}
		b.WriteString("</ul>\n")
	}
	// Charts before tables: the picture is what a reader looks for first.
	if len(charts) > 0 {
		b.WriteString("<h2>Charts</h2>\n")
		seen := make(map[string]bool, len(charts))
		for _, c := range charts {
			if seen[c.ID()] {
				return nil, fmt.Errorf("report: %s: two charts have ID %q", res.Plugin, c.ID())
			}
			seen[c.ID()] = true
			b.WriteString(c.Block())
		}
	}
	for _, name := range res.TableNames() {
		fmt.Fprintf(&b, "<h2>Table: %s</h2>\n", esc(name))
		b.WriteString(TableHTML(res.Tables[name]))
	}
	return plots.Page("alignlab report: "+res.Plugin, b.String()), nil
}

// TableHTML renders t as an HTML <table>, every header and cell escaped,
// numbers right-aligned and floats to six significant digits. After
// MaxTableRows rows it adds a line "… N more rows".
func TableHTML(t *kernel.Table) string {
	if t == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("<table class=\"alignlab-table\">\n<thead><tr>")
	for _, c := range t.Columns {
		fmt.Fprintf(&b, "<th>%s</th>", html.EscapeString(c))
	}
	b.WriteString("</tr></thead>\n<tbody>\n")
	for r, row := range t.Rows {
		if r == MaxTableRows {
			break
		}
		b.WriteString("<tr>")
		for c := range t.Columns {
			var cell any
			if c < len(row) {
				cell = row[c]
			}
			if NumberCell(cell) {
				fmt.Fprintf(&b, "<td style=\"text-align:right\">%s</td>", html.EscapeString(CellText(cell)))
			} else {
				fmt.Fprintf(&b, "<td>%s</td>", html.EscapeString(CellText(cell)))
			}
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody>\n</table>\n")
	if n := len(t.Rows) - MaxTableRows; n > 0 {
		fmt.Fprintf(&b, "<p class=\"alignlab-more\">… %d more rows</p>\n", n)
	}
	return b.String()
}

// NumberCell reports whether a table cell is a number (TableHTML aligns it
// right): a float, an integer or a non-finite float's string.
func NumberCell(cell any) bool {
	_, num := reportNumber(cell)
	return num && cell != nil
}

// CellText formats a table cell or param value for a reader: floats to six
// significant digits, nil as nothing.
func CellText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(x, 'g', 6, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', 6, 32)
	case string:
		return x
	}
	return fmt.Sprint(v)
}
