package kernel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Axis is one dimension of a study's grid. Usually it varies one param
// (Vary); with several Keys their values move together, row by row (Zip),
// for settings that belong together such as ε and the learning rate tuned
// for it.
type Axis struct {
	Keys   []string `json:"keys"`
	Values [][]any  `json:"values"` // each row has one value per key
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
	Plugin string         `json:"plugin"`
	Params map[string]any `json:"params,omitempty"` // fixed params of every cell
	Grid   []Axis         `json:"grid,omitempty"`
	Seeds  []int64        `json:"seeds,omitempty"` // default: the plugin's default seed
	Data   []string       `json:"data,omitempty"`
}

// Cell is one run of a study.
type Cell struct {
	Point  map[string]any // the grid values of the cell
	Seed   int64
	Key    string  // hash of the plugin, its validated params (seed included) and the data hashes
	Result *Result // nil if the run failed
	Err    string  // the run's error; "" on success
	// Canonical is Result's canonical JSON (no timing): what study.json
	// and the cell cache hold.
	Canonical []byte
	// Cached reports that the cell was read from the cache, not run.
	Cached bool
}

// StudyResult holds every cell of a study, in grid order (the first axis
// slowest, seeds innermost), and the summary over seeds.
type StudyResult struct {
	Study Study
	Cells []Cell
	// Summary has one row per grid point: the grid keys, then for every
	// final metric m of the cells (sorted by name) its mean m and standard
	// error m_se over the seeds that succeeded, then runs, their number.
	// Nil for a shard's partial result.
	Summary *Table
	// Ran and Cached count the cells run now and those read from the cache.
	Ran, Cached int
}

// StudyOptions say how a study runs.
type StudyOptions struct {
	// Dir, if set, caches every finished cell as Dir/cells/<key>.json
	// (written atomically): a rerun skips them, so an interrupted study
	// continues where it stopped. A truncated or foreign cell file is
	// rerun, never trusted. A failed cell is cached with its error like a
	// finished one (a deterministic failure would fail again); delete its
	// file to retry it. An interrupted cell is not written.
	Dir string
	// Jobs is the number of cells run at once (goroutines); ≤ 1 runs one
	// at a time. The result does not depend on it.
	Jobs int
	// Shard and Shards (1 ≤ Shard ≤ Shards) run only the cells whose index
	// i in grid order has i mod Shards = Shard − 1, into Dir; MergeStudy
	// then assembles the study from Dir. Zero Shards runs every cell.
	Shard, Shards int
	// Observer, if set, is called after each cell, one call at a time.
	Observer func(done, total int, c *Cell)
}

// RunStudy runs every cell of s, one at a time and without a cache; see
// RunStudyWith.
func RunStudy(ctx context.Context, s Study, observer func(done, total int, c *Cell)) (*StudyResult, error) {
	return RunStudyWith(ctx, s, StudyOptions{Observer: observer})
}

// RunStudyWith runs the cells of s as opts say. A failed cell is recorded
// with its error and the study goes on; a cancelled context stops it with
// the context's error (cells already cached stay). An unknown plugin, a
// grid key that is not one of its params, a value its declaration rejects
// or an unreadable data file is an error before any run.
func RunStudyWith(ctx context.Context, s Study, opts StudyOptions) (*StudyResult, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	plan, err := planStudy(s)
	if err != nil {
		return nil, err
	}
	if opts.Shards < 0 || opts.Shards > 0 && (opts.Shard < 1 || opts.Shard > opts.Shards) {
		return nil, fmt.Errorf("kernel: study of %s: shard %d/%d: want 1 ≤ shard ≤ shards", s.Plugin, opts.Shard, opts.Shards)
	}
	if opts.Shards > 0 && opts.Dir == "" {
		return nil, fmt.Errorf("kernel: study of %s: a shard needs a directory to write its cells to", s.Plugin)
	}
	if opts.Dir != "" {
		if err := os.MkdirAll(filepath.Join(opts.Dir, "cells"), 0o755); err != nil {
			return nil, fmt.Errorf("kernel: study of %s: %w", s.Plugin, err)
		}
		if err := writeAtomic(filepath.Join(opts.Dir, StudySpecFile), plan.specJSON); err != nil {
			return nil, fmt.Errorf("kernel: study of %s: %w", s.Plugin, err)
		}
	}
	var todo []int
	for i := range plan.cells {
		if opts.Shards == 0 || i%opts.Shards == opts.Shard-1 {
			todo = append(todo, i)
		}
	}
	res := &StudyResult{Study: s, Cells: make([]Cell, len(plan.cells))}
	var (
		mu   sync.Mutex
		done int
		next = make(chan int)
		errs = make(chan error, 1)
		wg   sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := func(i int) error {
		c := plan.cells[i]
		if opts.Dir != "" {
			if cached, ok := readCell(opts.Dir, c.Key, plan.id); ok {
				cached.Point = c.Point
				c = cached
			}
		}
		if !c.Cached {
			r, err := Run(ctx, s.Plugin, Options{Params: cellParams(s.Params, c.Point, c.Seed), Data: s.Data})
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				c.Err = err.Error()
			} else {
				c.Result = r
				if c.Canonical, err = r.CanonicalJSON(); err != nil {
					return err
				}
			}
			if opts.Dir != "" {
				if err := writeCell(opts.Dir, c); err != nil {
					return err
				}
			}
		}
		mu.Lock()
		defer mu.Unlock()
		res.Cells[i] = c
		if c.Cached {
			res.Cached++
		} else {
			res.Ran++
		}
		done++
		if opts.Observer != nil {
			opts.Observer(done, len(todo), &res.Cells[i])
		}
		return nil
	}
	for range max(opts.Jobs, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := work(i); err != nil {
					select {
					case errs <- err:
					default:
					}
					cancel()
				}
			}
		}()
	}
feed:
	for _, i := range todo {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if opts.Shards > 0 {
		var mine []Cell
		for _, i := range todo {
			mine = append(mine, res.Cells[i])
		}
		res.Cells = mine
		return res, nil
	}
	res.Summary = summarize(plan.keys, plan.points, plan.perPoint, res.Cells)
	return res, nil
}

// MergeStudy assembles the study whose spec and cells are in dir (written
// by the shards of RunStudyWith, on one machine or many): every cell must
// be there and valid; the missing ones are named.
func MergeStudy(dir string) (*StudyResult, error) {
	b, err := os.ReadFile(filepath.Join(dir, StudySpecFile))
	if err != nil {
		return nil, fmt.Errorf("kernel: merge: %w (not a study directory?)", err)
	}
	var s Study
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("kernel: merge: %s: %w", filepath.Join(dir, StudySpecFile), err)
	}
	plan, err := planStudy(s)
	if err != nil {
		return nil, err
	}
	res := &StudyResult{Study: s, Cells: make([]Cell, len(plan.cells))}
	var missing []string
	for i, c := range plan.cells {
		cached, ok := readCell(dir, c.Key, plan.id)
		if !ok {
			missing = append(missing, CellText(s, c))
			continue
		}
		cached.Point = c.Point
		res.Cells[i] = cached
		res.Cached++
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("kernel: merge %s: %d of %d cells missing or invalid: %s", dir, len(missing), len(plan.cells), strings.Join(missing, "; "))
	}
	res.Summary = summarize(plan.keys, plan.points, plan.perPoint, res.Cells)
	return res, nil
}

// PrepareStudy makes every check RunStudyWith makes before it runs
// anything (plugin, grid, params, data files) and returns the number of
// cells; with dir set it also writes the study's spec there, so that
// shards started elsewhere (a cluster's tasks) and MergeStudy find it.
func PrepareStudy(s Study, dir string) (cells int, err error) {
	plan, err := planStudy(s)
	if err != nil {
		return 0, err
	}
	if dir != "" {
		if err := os.MkdirAll(filepath.Join(dir, "cells"), 0o755); err != nil {
			return 0, fmt.Errorf("kernel: study of %s: %w", s.Plugin, err)
		}
		if err := writeAtomic(filepath.Join(dir, StudySpecFile), plan.specJSON); err != nil {
			return 0, fmt.Errorf("kernel: study of %s: %w", s.Plugin, err)
		}
	}
	return len(plan.cells), nil
}

// StudySpecFile is the file in a study directory that holds the study's
// spec, so that a merge by hand needs only the directory.
const StudySpecFile = "study-spec.json"

// studyPlan is a checked study: its cells with their keys.
type studyPlan struct {
	id       string // the plugin's canonical ID
	keys     []string
	points   []map[string]any
	perPoint int
	cells    []Cell // Point, Seed and Key set
	specJSON []byte
}

// planStudy checks s and lists its cells. The cells' keys hash the
// plugin, the validated params (defaults filled in, seed included) and the
// SHA-256 of each data file, so a cache never serves a cell of other data.
func planStudy(s Study) (*studyPlan, error) {
	p, err := Lookup(s.Plugin)
	if err != nil {
		return nil, err
	}
	info := p.Info()
	seeds := s.Seeds
	if len(seeds) == 0 {
		seeds = []int64{DefaultSeed}
	}
	plan := &studyPlan{id: info.ID, perPoint: len(seeds)}
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
			if k == "runs" || k == "group" || k == ParamSeed || contains(plan.keys, k) {
				return nil, fmt.Errorf("kernel: study of %s: grid key %q repeated or reserved (seed is set by the seeds; runs and group name summary columns)", s.Plugin, k)
			}
			plan.keys = append(plan.keys, k)
		}
	}
	var hashes []string
	for _, path := range s.Data {
		h, err := hashFile(path)
		if err != nil {
			return nil, err
		}
		hashes = append(hashes, h.SHA256)
	}
	plan.points = gridPoints(s.Grid)
	for _, pt := range plan.points {
		for _, seed := range seeds {
			params, err := Validate(info, cellParams(s.Params, pt, seed))
			if err != nil {
				return nil, fmt.Errorf("kernel: study of %s: %w", s.Plugin, err)
			}
			key, err := json.Marshal(struct {
				Plugin string   `json:"plugin"`
				Params Params   `json:"params"`
				Data   []string `json:"data"`
			}{info.ID, params, hashes})
			if err != nil {
				return nil, fmt.Errorf("kernel: study of %s: %w", s.Plugin, err)
			}
			sum := sha256.Sum256(key)
			plan.cells = append(plan.cells, Cell{Point: pt, Seed: seed, Key: hex.EncodeToString(sum[:16])})
		}
	}
	if plan.specJSON, err = json.MarshalIndent(s, "", "  "); err != nil {
		return nil, fmt.Errorf("kernel: study of %s: %w", s.Plugin, err)
	}
	return plan, nil
}

// cellFile is the cache file of one cell.
type cellFile struct {
	Key    string          `json:"key"`
	Plugin string          `json:"plugin"`
	Seed   int64           `json:"seed"`
	Err    string          `json:"error,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
}

func cellPath(dir, key string) string { return filepath.Join(dir, "cells", key+".json") }

func writeCell(dir string, c Cell) error {
	b, err := json.Marshal(cellFile{Key: c.Key, Plugin: c.resultPlugin(), Seed: c.Seed, Err: c.Err, Result: c.Canonical})
	if err != nil {
		return err
	}
	return writeAtomic(cellPath(dir, c.Key), b)
}

func (c Cell) resultPlugin() string {
	if c.Result != nil {
		return c.Result.Plugin
	}
	return ""
}

// readCell returns the cached cell key of plugin id, and false when the
// file is missing, truncated, or not that cell's (then it is rerun).
func readCell(dir, key, id string) (Cell, bool) {
	b, err := os.ReadFile(cellPath(dir, key))
	if err != nil {
		return Cell{}, false
	}
	var f cellFile
	if err := json.Unmarshal(b, &f); err != nil || f.Key != key {
		return Cell{}, false
	}
	c := Cell{Key: key, Seed: f.Seed, Err: f.Err, Cached: true}
	if f.Err == "" {
		var r Result
		if len(f.Result) == 0 || f.Plugin != id || json.Unmarshal(f.Result, &r) != nil || r.Plugin != id || r.Seed != f.Seed {
			return Cell{}, false
		}
		c.Result, c.Canonical = &r, []byte(f.Result)
	}
	return c, true
}

// writeAtomic writes b to path through a temporary file and a rename, so
// that a reader sees the old file or the new one, never a part.
func writeAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
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

// CellText names a cell of s by its grid values, in grid order, and seed:
// "dim=2 epsilon=0.1 seed 3".
func CellText(s Study, c Cell) string {
	var b strings.Builder
	for _, ax := range s.Grid {
		for _, k := range ax.Keys {
			fmt.Fprintf(&b, "%s=%v ", k, c.Point[k])
		}
	}
	fmt.Fprintf(&b, "seed %d", c.Seed)
	return b.String()
}

// StudyFile is the name of a study's output file in its directory.
const StudyFile = "study.json"

// JSON returns the study as one JSON document: the spec, every cell (its
// grid point, seed, key, and canonical result or error) and the summary.
// It holds no timings, so a study run with any number of jobs, in shards,
// on one machine or a cluster, gives the same bytes.
func (r *StudyResult) JSON() ([]byte, error) {
	type cellJSON struct {
		Point  map[string]any  `json:"point"`
		Seed   int64           `json:"seed"`
		Key    string          `json:"key"`
		Err    string          `json:"error,omitempty"`
		Result json.RawMessage `json:"result,omitempty"`
	}
	cells := make([]cellJSON, len(r.Cells))
	for i, c := range r.Cells {
		cells[i] = cellJSON{Point: c.Point, Seed: c.Seed, Key: c.Key, Err: c.Err, Result: c.Canonical}
	}
	b, err := json.MarshalIndent(struct {
		Study   Study      `json:"study"`
		Cells   []cellJSON `json:"cells"`
		Summary *Table     `json:"summary,omitempty"`
	}{r.Study, cells, r.Summary}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
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

// Result returns the study as a Result that reports and notebooks show.
// Its table "study" has one row per grid point: the grid keys, then for
// every final metric m its mean m, standard error m_se and the interval
// m_low = m − m_se, m_high = m + m_se (NaN with one seed), then runs; when
// the grid has two keys or more, a first column group names the other
// keys' values. For each of metrics (every final metric when none are
// named) it declares an xy chart of the mean against the first grid key,
// with error bars from m_low to m_high, one line per group. Its Params are
// the fixed params; its notes name the failed cells. A shard's partial
// result (no Summary) gives neither table nor charts.
func (r *StudyResult) Result(metrics ...string) *Result {
	s := r.Study
	params := Params{}
	for k, v := range s.Params {
		params[k] = v
	}
	res := newResult(s.Plugin, params, 0, Backend())
	var keys []string
	for _, ax := range s.Grid {
		keys = append(keys, ax.Keys...)
	}
	if r.Summary != nil {
		t, all := studyTable(r.Summary, keys)
		res.Tables["study"] = t
		if len(metrics) == 0 {
			metrics = all
		}
	}
	over := fmt.Sprintf("mean ± s.e. over %d seeds", len(s.Seeds))
	if len(s.Seeds) < 2 {
		over = "1 seed: no error bars"
	}
	if len(keys) > 0 && r.Summary != nil {
		// A numeric first key is an x axis with error bars; any other (a
		// choice, a string) names categories, drawn as bars.
		numeric := true
		for _, row := range r.Summary.Rows {
			switch row[0].(type) {
			case float64, int64, int:
			default:
				numeric = false
			}
		}
		for _, m := range metrics {
			ch := Chart{Kind: "xy", ID: "study_" + chartID(m), Title: fmt.Sprintf("%s against %s (%s)", m, keys[0], over),
				Table: "study", X: keys[0], Value: m, Low: m + "_low", High: m + "_high", XLabel: keys[0], YLabel: m}
			if !numeric {
				ch.Kind, ch.Low, ch.High = "bar", "", ""
				ch.Title = fmt.Sprintf("%s by %s (mean over %d seeds)", m, keys[0], max(len(s.Seeds), 1))
			}
			if len(keys) > 1 {
				ch.Group = "group"
			}
			res.Charts = append(res.Charts, ch)
		}
	}
	for _, c := range r.Failed() {
		res.Notes = append(res.Notes, fmt.Sprintf("cell %s failed: %s", CellText(s, c), c.Err))
	}
	return res
}

// studyTable is Result's table "study" built from a Summary (whose columns
// are the keys, then m and m_se for each metric m, then runs), and the
// metrics in it.
func studyTable(sum *Table, keys []string) (*Table, []string) {
	var metrics []string
	for j := len(keys); j+1 < len(sum.Columns); j += 2 {
		if m := sum.Columns[j]; sum.Columns[j+1] == m+"_se" {
			metrics = append(metrics, m)
		}
	}
	var cols []string
	if len(keys) > 1 {
		cols = append(cols, "group")
	}
	cols = append(cols, keys...)
	means := make([][]float64, len(metrics))
	ses := make([][]float64, len(metrics))
	for i, m := range metrics {
		cols = append(cols, m, m+"_se", m+"_low", m+"_high")
		means[i], ses[i] = sum.Floats(m), sum.Floats(m+"_se")
	}
	cols = append(cols, "runs")
	t := NewTable(cols...)
	runs := sum.Col("runs")
	for r, row := range sum.Rows {
		out := make([]any, 0, len(cols))
		if len(keys) > 1 {
			// The group names the other keys' values of the row.
			var parts []string
			for i, k := range keys[1:] {
				parts = append(parts, fmt.Sprintf("%s=%v", k, row[i+1]))
			}
			out = append(out, strings.Join(parts, " "))
		}
		out = append(out, row[:len(keys)]...)
		for i, m := range metrics {
			mean, se := means[i][r], ses[i][r]
			out = append(out, row[sum.Col(m)], row[sum.Col(m+"_se")], mean-se, mean+se)
		}
		var n any
		if runs >= 0 {
			n = row[runs]
		}
		t.Add(append(out, n)...)
	}
	return t, metrics
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
