package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alignlab/alignlab/kernel"
	"github.com/alignlab/alignlab/kernel/report"
)

func studyUsageText() string {
	return `Usage: alignlab study ID --grid key=v1,v2,... [--grid ...] [--seeds LIST] --out DIR [flags]
       alignlab study merge DIR

Runs plugin ID over the product of the --grid axes, once per seed; every
cell is an ordinary run (what "alignlab run ID --set ... --seed S" gives).
Each finished cell is cached in DIR/cells/, so the same command run again
skips it: an interrupted study (Ctrl-C, a killed job, a lost node) goes on
where it stopped. A cell file that is truncated or not that cell's is rerun.

  --grid key=v1,v2,...      an axis varying one param, values as in --set
                            (repeatable: the grid is the product of the
                            axes, the first varying slowest)
  --grid k1,k2=a1:b1,a2:b2  an axis moving params together, row by row
  --seeds LIST              the seeds of every grid point: 1-5, 1,3,7 or
                            1-3,9 (default: the plugin's default seed)
  --set key=value           a param fixed for every cell (repeatable)
  --data PATH               input file of every cell (repeatable)
  --jobs N                  cells run at once (default: the number of CPUs,
                            ` + strconv.Itoa(runtime.NumCPU()) + ` here); results do not depend on it
  --out DIR                 the study's directory (created if needed)
  --shard i/n               run only cells i, i+n, i+2n, … (from 1) into DIR,
                            for n copies started by a scheduler; then
                            "alignlab study merge DIR" assembles the study
  --executor local|slurm    where the cells run (default local: here)
  --slurm-opt "WORDS"       sbatch options, one #SBATCH line each
                            (repeatable), e.g. "--partition=cpu --time=30"
  --slurm-timeout D         longest wait for the Slurm job (default 1h)

Output: on stdout a table with one row per grid point: each final metric as
mean ± standard error over the seeds that succeeded, and runs, their number.
DIR/study.json holds every cell's result and the summary, without timings:
the same bytes for any --jobs, sharded or not, here or on a cluster.
DIR/report.html draws it. A shard writes only its cells and a line
"shard i/n: K cells (R run, C cached)".

--executor slurm writes DIR/slurm/study.sbatch, a job array of n tasks
(n = --jobs, or the number of cells if fewer), task k running this binary on
shard k+1/n with --jobs 1 and its output in DIR/slurm/task-k.out and .err;
it submits it with sbatch --parsable, polls squeue every second, then merges
the cells. DIR must be on a file system every node sees. Ctrl-C or the
timeout cancels the job (scancel); finished cells stay cached.

A failed cell (an error, a panic, a divergence) is a result of the study: it
is printed on stderr, one line each, kept with its error in study.json and
the report, and left out of the means. It is cached like the others: delete
DIR/cells/KEY.json (KEY is in study.json) to run it again.

Exit status: 0 the study ran, failed cells included; 1 every cell failed, a
merge found cells missing, or the Slurm job could not run; 2 bad usage; 130
interrupted (the finished cells stay cached).
`
}

// studyArgs are the parsed arguments of "alignlab study".
type studyArgs struct {
	id       string
	grids    []string // the --grid values as given: the Slurm tasks get them back
	axes     []rawAxis
	seeds    []int64
	seedsArg string
	sets     []string // the --set values as given
	params   map[string]string
	data     []string
	jobs     int
	out      string
	shard    int // 1-based; 0 with shards 0 runs every cell
	shards   int

	executor     string
	slurmOpts    []string // one #SBATCH line each
	slurmTimeout time.Duration
}

// rawAxis is one --grid before the plugin's declarations type its values.
type rawAxis struct {
	keys []string
	rows [][]string
}

// maxSeeds bounds --seeds, so that a typo such as 1-1000000000 is an error,
// not a study that would take years.
const maxSeeds = 100000

func parseStudyArgs(args []string) (*studyArgs, error) {
	sa := &studyArgs{params: map[string]string{}, jobs: runtime.NumCPU(), executor: "local", slurmTimeout: time.Hour}
	seen := map[string]bool{} // flags that may be given once
	once := func(name string) error {
		if seen[name] {
			return fmt.Errorf("--%s given twice", name)
		}
		seen[name] = true
		return nil
	}
	s := &flagScanner{args: args}
	for s.scan() {
		if !s.isFlag {
			if sa.id != "" {
				return nil, fmt.Errorf("study takes one plugin ID, got %q and %q", sa.id, s.arg)
			}
			sa.id = s.arg
			continue
		}
		if s.name == "h" || s.name == "help" {
			return nil, errHelp
		}
		value, err := s.needValue()
		if err != nil {
			return nil, s.unknownOr(err)
		}
		switch s.name {
		case "grid":
			ax, err := parseGrid(value)
			if err != nil {
				return nil, err
			}
			sa.grids = append(sa.grids, value)
			sa.axes = append(sa.axes, ax)
		case "seeds":
			if err := once(s.name); err != nil {
				return nil, err
			}
			if sa.seeds, err = parseSeeds(value); err != nil {
				return nil, err
			}
			sa.seedsArg = value
		case "set":
			key, v, err := kernel.ParseSet(value)
			if err != nil {
				return nil, fmt.Errorf("--set %q: want key=value", value)
			}
			if _, dup := sa.params[key]; dup {
				return nil, fmt.Errorf("--set %s given twice", key)
			}
			if key == kernel.ParamSeed {
				return nil, fmt.Errorf("--set seed=%s: a study's seeds are set by --seeds", v)
			}
			sa.params[key] = v
			sa.sets = append(sa.sets, value)
		case "data":
			if value == "" {
				return nil, errors.New("--data needs a file path")
			}
			sa.data = append(sa.data, value)
		case "jobs":
			if err := once(s.name); err != nil {
				return nil, err
			}
			n, err := strconv.Atoi(strings.TrimSpace(value))
			if err != nil || n < 1 || n > 4096 {
				return nil, fmt.Errorf("--jobs %q: want an integer in [1, 4096]", value)
			}
			sa.jobs = n
		case "out":
			if err := once(s.name); err != nil {
				return nil, err
			}
			if value == "" {
				return nil, errors.New("--out needs a directory")
			}
			sa.out = value
		case "shard":
			if err := once(s.name); err != nil {
				return nil, err
			}
			if sa.shard, sa.shards, err = parseShard(value); err != nil {
				return nil, err
			}
		case "executor":
			if err := once(s.name); err != nil {
				return nil, err
			}
			if value != "local" && value != "slurm" {
				return nil, fmt.Errorf("--executor %q: want local or slurm", value)
			}
			sa.executor = value
		case "slurm-opt":
			lines, err := parseSlurmOpts(value)
			if err != nil {
				return nil, err
			}
			sa.slurmOpts = append(sa.slurmOpts, lines...)
		case "slurm-timeout":
			if err := once(s.name); err != nil {
				return nil, err
			}
			d, err := time.ParseDuration(strings.TrimSpace(value))
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("--slurm-timeout %q: want a positive duration such as 90m or 2h", value)
			}
			sa.slurmTimeout = d
		default:
			return nil, s.unknown("study", studyFlags)
		}
	}
	switch {
	case sa.id == "":
		return nil, errors.New("study wants a plugin ID (see alignlab list)")
	case sa.out == "":
		return nil, errors.New("study wants --out DIR: its cells, study.json and report.html go there")
	case sa.executor == "slurm" && sa.shards > 0:
		return nil, errors.New("--shard is for one task of a study; --executor slurm makes the shards itself")
	case sa.executor != "slurm" && (len(sa.slurmOpts) > 0 || seen["slurm-timeout"]):
		return nil, errors.New("--slurm-opt and --slurm-timeout need --executor slurm")
	}
	return sa, nil
}

const studyFlags = "--grid, --seeds, --set, --data, --jobs, --out, --shard, --executor, --slurm-opt or --slurm-timeout"

// unknownOr turns "flag --frob needs a value" for a flag study does not
// take into the unknown-flag error, which says what it does take.
func (s *flagScanner) unknownOr(err error) error {
	switch s.name {
	case "grid", "seeds", "set", "data", "jobs", "out", "shard", "executor", "slurm-opt", "slurm-timeout":
		return err
	}
	return s.unknown("study", studyFlags)
}

// parseGrid reads "key=v1,v2,..." or, for a zipped axis,
// "k1,k2=a1:b1,a2:b2,...". Values are kept as strings: the plugin's
// declarations type them, as they do --set values.
func parseGrid(s string) (rawAxis, error) {
	keyPart, valPart, ok := strings.Cut(s, "=")
	if !ok {
		return rawAxis{}, fmt.Errorf("--grid %q: want key=v1,v2,... or k1,k2=a1:b1,a2:b2,...", s)
	}
	var ax rawAxis
	for _, k := range strings.Split(keyPart, ",") {
		k = strings.TrimSpace(k)
		if k == "" {
			return rawAxis{}, fmt.Errorf("--grid %q: empty key; want key=v1,v2,... or k1,k2=a1:b1,a2:b2,...", s)
		}
		ax.keys = append(ax.keys, k)
	}
	for _, v := range strings.Split(valPart, ",") {
		var row []string
		if len(ax.keys) == 1 {
			row = []string{v} // a single key's value may hold a colon
		} else {
			row = strings.Split(v, ":")
		}
		if len(row) != len(ax.keys) {
			return rawAxis{}, fmt.Errorf("--grid %q: value %q has %d parts for %d keys; want %s", s, v, len(row), len(ax.keys), strings.Join(ax.keys, ":"))
		}
		for i := range row {
			row[i] = strings.TrimSpace(row[i])
			if row[i] == "" {
				return rawAxis{}, fmt.Errorf("--grid %q: empty value for %s", s, ax.keys[i])
			}
		}
		ax.rows = append(ax.rows, row)
	}
	return ax, nil
}

// parseSeeds reads a list of seeds and ranges: "1-5", "1,3,7", "1-3,9".
func parseSeeds(s string) ([]int64, error) {
	bad := func(why string) error {
		return fmt.Errorf("--seeds %q: %s; want seeds and ranges such as 1-5, 1,3,7 or 1-3,9", s, why)
	}
	var out []int64
	seen := map[int64]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := parseSeed(lo)
		if err != nil {
			return nil, bad(fmt.Sprintf("%q is not a seed in [0, 2^53]", part))
		}
		b := a
		if isRange {
			if b, err = parseSeed(hi); err != nil {
				return nil, bad(fmt.Sprintf("%q is not a range of seeds in [0, 2^53]", part))
			}
			if b < a {
				return nil, bad(fmt.Sprintf("range %s ends before it starts", part))
			}
		}
		if b-a >= maxSeeds || len(out)+int(b-a) >= maxSeeds {
			return nil, bad(fmt.Sprintf("more than %d seeds", maxSeeds))
		}
		for x := a; x <= b; x++ {
			if seen[x] {
				return nil, bad(fmt.Sprintf("seed %d given twice", x))
			}
			seen[x] = true
			out = append(out, x)
		}
	}
	return out, nil
}

func parseSeed(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 || n > 1<<53 {
		return 0, errors.New("bad seed")
	}
	return n, nil
}

// parseShard reads "i/n" with 1 ≤ i ≤ n.
func parseShard(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || i < 1 || i > n {
		return 0, 0, fmt.Errorf("--shard %q: want i/n with 1 ≤ i ≤ n, such as 1/4", s)
	}
	return i, n, nil
}

// parseSlurmOpts splits "--partition=x --time 10" into one sbatch option
// per line: a word that does not start with "-" is the value of the option
// before it. The options that alignlab sets itself are refused.
func parseSlurmOpts(s string) ([]string, error) {
	var lines []string
	for _, w := range strings.Fields(s) {
		if !strings.HasPrefix(w, "-") {
			if len(lines) == 0 {
				return nil, fmt.Errorf("--slurm-opt %q: want sbatch options such as \"--partition=cpu --time=30\"", s)
			}
			lines[len(lines)-1] += " " + w
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(w, "-"), "=")
		switch name {
		case "array", "a", "output", "o", "error", "e", "chdir", "D", "parsable", "wrap":
			return nil, fmt.Errorf("--slurm-opt %s: alignlab sets --array, --output, --error and --chdir itself", w)
		}
		lines = append(lines, w)
	}
	if len(lines) == 0 {
		return nil, errors.New("--slurm-opt needs sbatch options, such as \"--partition=cpu\"")
	}
	return lines, nil
}

// buildStudy types the grid and --set values by the plugin's declarations
// (so that study.json holds dim: 2, not "2"), and checks what the kernel
// would only reject after other checks, or not as bad usage: a grid key
// given twice, reserved or also set by --set, and a value repeated on an
// axis (two cells with the same key).
func (sa *studyArgs) buildStudy() (kernel.Study, error) {
	p, err := kernel.Lookup(sa.id)
	if err != nil {
		return kernel.Study{}, err
	}
	info := p.Info()
	typed := func(key string, v string) (any, error) {
		params, err := kernel.Validate(info, map[string]any{key: v})
		if err != nil {
			return nil, err
		}
		return params[key], nil
	}
	s := kernel.Study{Plugin: sa.id, Seeds: sa.seeds, Data: sa.data}
	if len(sa.params) > 0 {
		s.Params = map[string]any{}
		for k, v := range sa.params {
			if s.Params[k], err = typed(k, v); err != nil {
				return kernel.Study{}, err
			}
		}
	}
	seenKey := map[string]bool{}
	for _, ax := range sa.axes {
		for _, k := range ax.keys {
			switch {
			case k == kernel.ParamSeed:
				return kernel.Study{}, usageError("--grid seed: a study's seeds are set by --seeds")
			case k == "runs" || k == "group":
				return kernel.Study{}, usageErrorf("--grid %s: %q names a column of the summary; it cannot be a grid key", k, k)
			case seenKey[k]:
				return kernel.Study{}, usageErrorf("--grid %s: the key is on two axes", k)
			}
			if _, set := sa.params[k]; set {
				return kernel.Study{}, usageErrorf("--grid %s conflicts with --set %s=%s: give one", k, k, sa.params[k])
			}
			seenKey[k] = true
		}
		axis := kernel.Axis{Keys: ax.keys}
		seenRow := map[string]bool{}
		for _, row := range ax.rows {
			vals := make([]any, len(row))
			for i, v := range row {
				if vals[i], err = typed(ax.keys[i], v); err != nil {
					return kernel.Study{}, err
				}
			}
			id := fmt.Sprint(vals...)
			if seenRow[id] {
				return kernel.Study{}, usageErrorf("--grid %s: value %s given twice", strings.Join(ax.keys, ","), strings.Join(row, ":"))
			}
			seenRow[id] = true
			axis.Values = append(axis.Values, vals)
		}
		s.Grid = append(s.Grid, axis)
	}
	return s, nil
}

// studyUsageError is bad usage found after parsing, where the plugin's
// declarations are known: exit 2, like a parse error.
type studyUsageError struct{ msg string }

func (e *studyUsageError) Error() string { return e.msg }

func usageError(msg string) error { return &studyUsageError{msg} }

func usageErrorf(format string, args ...any) error {
	return &studyUsageError{fmt.Sprintf(format, args...)}
}

// studyCells is the number of cells of s: grid points × seeds.
func studyCells(s kernel.Study) int {
	n := max(len(s.Seeds), 1)
	for _, ax := range s.Grid {
		n *= len(ax.Values)
	}
	return n
}

func studyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "merge" {
		return studyMergeCmd(args[1:], stdout, stderr)
	}
	sa, err := parseStudyArgs(args)
	if errors.Is(err, errHelp) {
		io.WriteString(stdout, studyUsageText())
		return exitOK
	}
	if err != nil {
		return usagef(stderr, "%v", err)
	}
	if st, err := os.Stat(sa.out); err == nil && !st.IsDir() {
		return usagef(stderr, "--out %s: not a directory", sa.out)
	}
	s, err := sa.buildStudy()
	var uerr *studyUsageError
	if errors.As(err, &uerr) {
		return usagef(stderr, "%s", uerr.msg)
	}
	if err != nil {
		return reportError(stderr, err)
	}
	if sa.executor == "slurm" {
		return slurmStudy(ctx, sa, s, stdout, stderr)
	}
	prog := newStudyProgress(stderr, sa.id, studyKeys(s))
	res, err := kernel.RunStudyWith(ctx, s, kernel.StudyOptions{Dir: sa.out, Jobs: sa.jobs, Shard: sa.shard, Shards: sa.shards, Observer: prog.observe})
	prog.finish()
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		if errors.Is(err, context.Canceled) && prog.done > 0 {
			fmt.Fprintf(stderr, "alignlab: study: %d cells done stay cached in %s; run the same command again to go on\n",
				prog.done, filepath.Join(sa.out, "cells"))
		}
		return reportError(stderr, err)
	}
	if sa.shards > 0 {
		fmt.Fprintf(stdout, "shard %d/%d: %d cells (%d run, %d cached)\n", sa.shard, sa.shards, len(res.Cells), res.Ran, res.Cached)
		return exitOK
	}
	return finishStudy(stdout, stderr, sa.out, res,
		fmt.Sprintf("%s study, %d cells: %d cells cached, %d run, %d failed", sa.id, len(res.Cells), res.Cached, res.Ran, len(res.Failed())))
}

func studyMergeCmd(args []string, stdout, stderr io.Writer) int {
	var dir string
	s := &flagScanner{args: args}
	for s.scan() {
		switch {
		case s.isFlag && (s.name == "h" || s.name == "help"):
			io.WriteString(stdout, studyUsageText())
			return exitOK
		case s.isFlag:
			return usagef(stderr, "unknown flag %s for study merge (it takes only DIR)", s.arg)
		case dir != "":
			return usagef(stderr, "study merge takes one directory, got %q and %q", dir, s.arg)
		}
		dir = s.arg
	}
	if dir == "" {
		return usagef(stderr, "study merge wants the study's directory (the --out of its shards)")
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return usagef(stderr, "study merge %s: not a directory", dir)
	}
	res, err := kernel.MergeStudy(dir)
	if err != nil {
		return reportError(stderr, err)
	}
	printFailures(stderr, res)
	return finishStudy(stdout, stderr, dir, res,
		fmt.Sprintf("%s study, %d cells merged from %s, %d failed", res.Study.Plugin, len(res.Cells), dir, len(res.Failed())))
}

// finishStudy writes dir/study.json and dir/report.html (both rendered
// first, each landing by rename), prints the summary, and returns the exit
// status: 1 when no cell succeeded (the files are still written: they say
// why), else 0.
func finishStudy(stdout, stderr io.Writer, dir string, res *kernel.StudyResult, header string) int {
	js, err := res.JSON()
	if err != nil {
		fmt.Fprintf(stderr, "alignlab: encoding study: %s\n", oneLine(err.Error()))
		return exitFailure
	}
	html, err := report.HTML(studyReport(res))
	if err != nil {
		fmt.Fprintf(stderr, "alignlab: rendering study report: %s\n", oneLine(err.Error()))
		return exitFailure
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(stderr, "alignlab: %s\n", oneLine(err.Error()))
		return exitFailure
	}
	for _, f := range []struct {
		name string
		b    []byte
	}{{kernel.StudyFile, js}, {"report.html", html}} {
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.b); err != nil {
			fmt.Fprintf(stderr, "alignlab: %s\n", oneLine(err.Error()))
			return exitFailure
		}
	}
	fmt.Fprintln(stdout, header)
	writeStudySummary(stdout, res)
	fmt.Fprintf(stderr, "alignlab: wrote %s and %s\n", filepath.Join(dir, kernel.StudyFile), filepath.Join(dir, "report.html"))
	if failed := res.Failed(); len(failed) == len(res.Cells) && len(failed) > 0 {
		fmt.Fprintf(stderr, "alignlab: study: every cell failed; the first: %s\n", oneLine(failed[0].Err))
		return exitFailure
	}
	return exitOK
}

// studyReport is the study's Result for report.html: the summary table and
// a chart of each metric against the first grid key (bars when that key's
// values are not numbers).
func studyReport(res *kernel.StudyResult) *kernel.Result { return res.Result() }

func studyKeys(s kernel.Study) []string {
	var keys []string
	for _, ax := range s.Grid {
		keys = append(keys, ax.Keys...)
	}
	return keys
}

// writeStudySummary prints the summary table: the grid keys, each final
// metric as "mean ± se" (the mean alone with one seed), and runs.
func writeStudySummary(w io.Writer, res *kernel.StudyResult) {
	t := res.Summary
	if t == nil || len(t.Rows) == 0 {
		return
	}
	keys := studyKeys(res.Study)
	// The Summary's columns are the keys, then m, m_se for each metric m
	// (a metric may itself end in _se), then runs.
	var metrics []string
	for j := len(keys); j+1 < len(t.Columns); j += 2 {
		if m := t.Columns[j]; t.Columns[j+1] == m+"_se" {
			metrics = append(metrics, m)
		}
	}
	head := append(append(append([]string{}, keys...), metrics...), "runs")
	points := "grid points"
	if len(t.Rows) == 1 {
		points = "grid point"
	}
	fmt.Fprintf(w, "\nstudy (%d %s", len(t.Rows), points)
	if len(t.Rows) > maxSummaryRows {
		fmt.Fprintf(w, ", first %d; all in study.json and report.html", maxSummaryRows)
	}
	fmt.Fprintln(w, "; mean ± standard error over seeds):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  %s\n", strings.Join(head, "\t"))
	for r, row := range t.Rows {
		if r == maxSummaryRows {
			break
		}
		var cells []string
		for _, k := range keys {
			cells = append(cells, fmtCell(row[t.Col(k)]))
		}
		for _, m := range metrics {
			cells = append(cells, meanSE(row[t.Col(m)], row[t.Col(m+"_se")]))
		}
		cells = append(cells, fmtCell(row[t.Col("runs")]))
		fmt.Fprintf(tw, "  %s\n", strings.Join(cells, "\t"))
	}
	tw.Flush()
}

func meanSE(mean, se any) string {
	m, ok := mean.(float64)
	if !ok || math.IsNaN(m) {
		return "-"
	}
	if s, ok := se.(float64); ok && !math.IsNaN(s) {
		return fmtCell(m) + " ± " + fmtCell(s)
	}
	return fmtCell(m)
}

// cellName is a cell's grid point in grid order, and its seed.
func cellName(keys []string, c *kernel.Cell) string {
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%s", k, fmtCell(c.Point[k])))
	}
	return strings.TrimSpace(strings.Join(parts, " ") + fmt.Sprintf(" seed %d", c.Seed))
}

// printFailures prints one line per failed cell of res.
func printFailures(stderr io.Writer, res *kernel.StudyResult) {
	keys := studyKeys(res.Study)
	for _, c := range res.Failed() {
		fmt.Fprintf(stderr, "alignlab: study: cell %s failed: %s\n", cellName(keys, &c), oneLine(c.Err))
	}
}

// studyProgress reports a study's cells: a failed cell as one line on
// stderr, always; and when stderr is a terminal, a bar of cells done.
type studyProgress struct {
	w              io.Writer
	tty            bool
	id             string
	keys           []string
	done, total    int
	cached, failed int
	lastDraw       time.Time
	termLine
	clock func() time.Time
}

func newStudyProgress(w io.Writer, id string, keys []string) *studyProgress {
	return &studyProgress{w: w, tty: isTerminal(w), id: id, keys: keys, clock: time.Now}
}

// observe is the kernel's study Observer: it is called one cell at a time.
func (p *studyProgress) observe(done, total int, c *kernel.Cell) {
	p.done, p.total = done, total
	if c.Cached {
		p.cached++
	}
	if c.Result == nil {
		p.failed++
		p.clear()
		cached := ""
		if c.Cached {
			cached = " (cached)"
		}
		fmt.Fprintf(p.w, "alignlab: study: cell %s failed%s: %s\n", cellName(p.keys, c), cached, oneLine(c.Err))
	}
	if now := p.clock(); p.tty && (now.Sub(p.lastDraw) >= redrawEvery || done == total) {
		p.lastDraw = now
		const width = 20
		n := width * done / max(total, 1)
		line := fmt.Sprintf("study %s [%s%s] %d/%d cells  %d cached  %d failed", p.id,
			strings.Repeat("=", n), strings.Repeat(" ", width-n), done, total, p.cached, p.failed)
		p.show(p.w, line)
	}
}

func (p *studyProgress) clear() { p.erase(p.w) }

func (p *studyProgress) finish() { p.clear() }
