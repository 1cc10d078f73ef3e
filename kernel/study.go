package kernel

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Axis is one dimension of a study's grid. Usually it varies one param
// (Vary); with several Keys their values move together, row by row (Zip),
// for settings that belong together such as ε and the learning rate tuned
// for it.
type Axis struct {
	Keys   []string
	Values [][]any // each row has one value per key
}

// Vary returns the axis of one param taking values.
func Vary(key string, values ...any) Axis {
	rows := make([][]any, len(values))
	for i, v := range values {
		rows[i] = []any{v}
	}
	return Axis{Keys: []string{key}, Values: rows}
}

// Zip returns the axis of several params moving together: rows[i] holds
// one value per key.
func Zip(keys []string, rows ...[]any) Axis { return Axis{Keys: keys, Values: rows} }

// Study is a registered plugin run over the cartesian product of its Grid
// axes, once per seed, every cell a normal Run (validation, data hashing,
// panic recovery and divergence handling all apply).
type Study struct {
	Plugin string
	Params map[string]any // fixed params of every cell
	Grid   []Axis
	Seeds  []int64 // default: the plugin's default seed
	Data   []string
}

// Cell is one run of a study.
type Cell struct {
	Point  map[string]any // the grid values of the cell
	Seed   int64
	Result *Result // nil if the run failed
	Err    string  // the run's error; "" on success
}

// StudyResult holds every cell of a study, in grid order (the first axis
// slowest, seeds innermost), and the summary over seeds.
type StudyResult struct {
	Study Study
	Cells []Cell
	// Summary has one row per grid point: the grid keys, then for every
	// final metric m of the cells (sorted by name) its mean m and standard
	// error m_se over the seeds that succeeded, then runs, their number.
	Summary *Table
}

// RunStudy runs every cell of s in order. A failed cell is recorded with
// its error and the study goes on; a cancelled context stops it with the
// context's error. An unknown plugin, a grid key that is not one of its
// params or a value its declaration rejects is an error before any run.
// observer, if set, is called after each cell.
func RunStudy(ctx context.Context, s Study, observer func(done, total int, c *Cell)) (*StudyResult, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	p, err := Lookup(s.Plugin)
	if err != nil {
		return nil, err
	}
	info := p.Info()
	seeds := s.Seeds
	if len(seeds) == 0 {
		seeds = []int64{DefaultSeed}
	}
	var keys []string
	for i, ax := range s.Grid {
		if len(ax.Keys) == 0 || len(ax.Values) == 0 {
			return nil, fmt.Errorf("kernel: study of %s: axis %d has no keys or no values", s.Plugin, i+1)
		}
		for _, row := range ax.Values {
			if len(row) != len(ax.Keys) {
				return nil, fmt.Errorf("kernel: study of %s: axis %v: a row has %d values for %d keys", s.Plugin, ax.Keys, len(row), len(ax.Keys))
			}
		}
		for _, k := range ax.Keys {
			if k == "runs" || k == "group" || contains(keys, k) {
				return nil, fmt.Errorf("kernel: study of %s: grid key %q repeated or reserved (runs and group name summary columns)", s.Plugin, k)
			}
			keys = append(keys, k)
		}
	}
	points := gridPoints(s.Grid)
	for _, pt := range points {
		if _, err := Validate(info, cellParams(s.Params, pt, seeds[0])); err != nil {
			return nil, fmt.Errorf("kernel: study of %s: %w", s.Plugin, err)
		}
	}
	res := &StudyResult{Study: s}
	total := len(points) * len(seeds)
	for _, pt := range points {
		for _, seed := range seeds {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			c := Cell{Point: pt, Seed: seed}
			r, err := Run(ctx, s.Plugin, Options{Params: cellParams(s.Params, pt, seed), Data: s.Data})
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				c.Err = err.Error()
			} else {
				c.Result = r
			}
			res.Cells = append(res.Cells, c)
			if observer != nil {
				observer(len(res.Cells), total, &res.Cells[len(res.Cells)-1])
			}
		}
	}
	res.Summary = summarize(keys, points, len(seeds), res.Cells)
	return res, nil
}

// gridPoints returns the cartesian product of the axes, first axis slowest.
func gridPoints(grid []Axis) []map[string]any {
	points := []map[string]any{{}}
	for _, ax := range grid {
		var next []map[string]any
		for _, pt := range points {
			for _, row := range ax.Values {
				q := make(map[string]any, len(pt)+len(row))
				for k, v := range pt {
					q[k] = v
				}
				for i, k := range ax.Keys {
					q[k] = row[i]
				}
				next = append(next, q)
			}
		}
		points = next
	}
	return points
}

func cellParams(fixed, point map[string]any, seed int64) map[string]any {
	out := make(map[string]any, len(fixed)+len(point)+1)
	for k, v := range fixed {
		out[k] = v
	}
	for k, v := range point {
		out[k] = v
	}
	out[ParamSeed] = seed
	return out
}

func summarize(keys []string, points []map[string]any, perPoint int, cells []Cell) *Table {
	metricSet := map[string]bool{}
	for _, c := range cells {
		if c.Result != nil {
			for m := range c.Result.Final {
				metricSet[m] = true
			}
		}
	}
	metrics := make([]string, 0, len(metricSet))
	for m := range metricSet {
		metrics = append(metrics, m)
	}
	sort.Strings(metrics)
	cols := append([]string{}, keys...)
	for _, m := range metrics {
		cols = append(cols, m, m+"_se")
	}
	t := NewTable(append(cols, "runs")...)
	for i, pt := range points {
		row := make([]any, 0, len(t.Columns))
		for _, k := range keys {
			row = append(row, pt[k])
		}
		group := cells[i*perPoint : (i+1)*perPoint]
		n := 0
		for _, c := range group {
			if c.Result != nil {
				n++
			}
		}
		for _, m := range metrics {
			var vs []float64
			for _, c := range group {
				if c.Result != nil {
					if v, ok := c.Result.Final[m]; ok {
						vs = append(vs, v)
					}
				}
			}
			mean, se := MeanSE(vs)
			row = append(row, mean, se)
		}
		t.Add(append(row, n)...)
	}
	return t
}

// MeanSE returns the mean of vs and its standard error s/√n (NaN for the
// error when n < 2, and for both when vs is empty).
func MeanSE(vs []float64) (mean, se float64) {
	n := float64(len(vs))
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	for _, v := range vs {
		mean += v
	}
	mean /= n
	if n < 2 {
		return mean, math.NaN()
	}
	ss := 0.0
	for _, v := range vs {
		ss += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(ss / (n - 1) / n)
}

// Failed returns the cells whose run failed.
func (r *StudyResult) Failed() []Cell {
	var out []Cell
	for _, c := range r.Cells {
		if c.Result == nil {
			out = append(out, c)
		}
	}
	return out
}

// Result returns the study as a Result that reports and notebooks show:
// the Summary as table "study" and, for each of metrics (every final
// metric when none are named), an xy chart of its mean against the first
// grid key, one line per value of the other keys. Its Params are the fixed
// params, and its notes name the failed cells.
func (r *StudyResult) Result(metrics ...string) *Result {
	s := r.Study
	params := Params{}
	for k, v := range s.Params {
		params[k] = v
	}
	res := newResult(s.Plugin, params, 0, Backend())
	t := r.Summary
	var keys []string
	for _, ax := range s.Grid {
		keys = append(keys, ax.Keys...)
	}
	if len(keys) > 1 {
		// The group column names the other keys' values of a row.
		grouped := NewTable(append([]string{"group"}, t.Columns...)...)
		for _, row := range t.Rows {
			var parts []string
			for i, k := range keys[1:] {
				parts = append(parts, fmt.Sprintf("%s=%v", k, row[i+1]))
			}
			grouped.Add(append([]any{strings.Join(parts, " ")}, row...)...)
		}
		t = grouped
	}
	res.Tables["study"] = t
	if len(metrics) == 0 {
		for _, c := range t.Columns {
			if c != "runs" && c != "group" && !strings.HasSuffix(c, "_se") && !contains(keys, c) {
				metrics = append(metrics, c)
			}
		}
	}
	if len(keys) > 0 {
		for _, m := range metrics {
			ch := Chart{Kind: "xy", ID: "study_" + chartID(m), Title: fmt.Sprintf("%s against %s (mean over %d seeds)", m, keys[0], max(len(s.Seeds), 1)),
				Table: "study", X: keys[0], Value: m, XLabel: keys[0], YLabel: m}
			if len(keys) > 1 {
				ch.Group = "group"
			}
			res.Charts = append(res.Charts, ch)
		}
	}
	for _, c := range r.Failed() {
		res.Notes = append(res.Notes, fmt.Sprintf("cell %v seed %d failed: %s", c.Point, c.Seed, c.Err))
	}
	return res
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// chartID maps a metric name to the [A-Za-z0-9_] alphabet of chart IDs.
func chartID(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, s)
}
