package plots

import "math"

// figKind is the kind of chart a figure draws.
type figKind int

const (
	figLine figKind = iota
	figScatter
	figLeaderboard
	figHeatmap
	figBar
)

// figure is a renderer-neutral description of what a chart draws, kept
// next to its ECharts option so that SVG can draw the same chart without a
// browser. The builders fill it with the values they also give ECharts,
// after the same cleaning (points that cannot be placed left out, a
// scatter subsampled).
type figure struct {
	kind   figKind
	title  string
	note   string // a line under the title, e.g. "1,500 of 4,000 points shown"
	height int    // px, the interactive chart's height and the SVG's
	ax     Axes
	legend bool

	series []figSeries // Line, Scatter
	faded  bool        // Scatter: points at half opacity
	mark   float64     // px, diameter of a line's point marks or a scatter's points

	cats []string  // Bar categories, Heatmap columns
	bars []figBars // Bar

	labels            []string  // Leaderboard labels, Heatmap rows
	value, low, high  []float64 // Leaderboard
	cells             [][]float64
	cmin, cmax        float64 // Heatmap colour scale
	precision         int     // decimals of the colour scale's end labels
	equal             *equalBox
	grid              [4]int // px: left, right, top, bottom of an equal chart's interactive grid
	leaderboardPoints string // colour of a leaderboard's value points
	leaderboardBars   string // colour of its intervals
}

// figSeries is one line or point cloud as drawn: a line keeps every x that
// can be placed, with NaN for a y that cannot (a gap); a cloud keeps only
// the points it draws. Low and High are nil or as long as X; a bar with an
// end that cannot be placed is NaN there.
type figSeries struct {
	name, color string
	x, y        []float64
	low, high   []float64
	marks       bool // a line with point marks
}

// figBars is one group of bars, NaN where no bar is drawn.
type figBars struct {
	name, color string
	values      []float64
}

// equalBox is the data a chart with equal axis scales must show: centre
// and span (padded), from which the axis ranges follow for any plot size.
type equalBox struct {
	cx, cy, sx, sy float64
}

// equalPad is the share of the data span added on each side of a chart
// with equal axes, so that no point sits on its frame.
const equalPad = 0.05

// newEqualBox returns the box of the figure's series, or nil when there is
// nothing to draw or an axis is logarithmic (where equal scales mean
// nothing).
func newEqualBox(series []figSeries, ax Axes) *equalBox {
	if ax.LogX || ax.LogY {
		return nil
	}
	ex, ey := newExtent(false), newExtent(false)
	for _, s := range series {
		for i, x := range s.x {
			if !finite(s.y[i]) {
				continue
			}
			ex.add(x)
			ey.add(s.y[i])
			if s.low != nil {
				ey.add(s.low[i])
				ey.add(s.high[i])
			}
		}
	}
	if ex.n == 0 {
		return nil
	}
	sx, sy := ex.hi-ex.lo, ey.hi-ey.lo
	switch {
	case sx == 0 && sy == 0:
		sx, sy = 1, 1
	case sx == 0:
		sx = sy
	case sy == 0:
		sy = sx
	}
	return &equalBox{cx: (ex.lo + ex.hi) / 2, cy: (ey.lo + ey.hi) / 2, sx: sx * (1 + 2*equalPad), sy: sy * (1 + 2*equalPad)}
}

// ranges returns the axis ranges that show the box with one data unit the
// same number of pixels on both axes in a plot of w × h px.
func (e *equalBox) ranges(w, h float64) (x0, x1, y0, y1 float64) {
	s := math.Max(e.sx/w, e.sy/h)
	return e.cx - s*w/2, e.cx + s*w/2, e.cy - s*h/2, e.cy + s*h/2
}
