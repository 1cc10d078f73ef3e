package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/alignlab/alignlab/kernel"
	"github.com/alignlab/alignlab/kernel/report"
)

const runUsageText = `Usage: alignlab run ID [--set key=value]... [--data PATH]... [--seed N] [--out DIR] [--json]

Flags may come before or after ID; "--flag value" and "--flag=value" both work.
  --set key=value   set a param (repeatable, each key once); see "alignlab describe ID"
  --data PATH       input file (repeatable)
  --seed N          the seed of every random draw (same as --set seed=N)
  --out DIR         write DIR/result.json and DIR/report.html (DIR is created if needed)
  --json            print the result as JSON on stdout; progress and notes go to stderr
`

// runArgs are the parsed arguments of "alignlab run".
type runArgs struct {
	id     string
	params map[string]any
	data   []string
	out    string
	json   bool
}

var errHelp = errors.New("help requested")

// parseRunArgs reads the run command line. Flags and the ID may come in any
// order, since "run ID --set a=1" is how people type it after a first try.
func parseRunArgs(args []string) (*runArgs, error) {
	ra := &runArgs{params: map[string]any{}}
	seed := ""
	var err error
	s := &flagScanner{args: args}
	for s.scan() {
		if !s.isFlag {
			if err := ra.setID(s.arg); err != nil {
				return nil, err
			}
			continue
		}
		switch s.name {
		case "h", "help":
			return nil, errHelp
		case "json":
			if ra.json, err = s.boolValue(); err != nil {
				return nil, err
			}
		case "set":
			value, err := s.needValue()
			if err != nil {
				return nil, err
			}
			key, v, err := kernel.ParseSet(value)
			if err != nil {
				return nil, fmt.Errorf("--set %q: want key=value", value)
			}
			if _, dup := ra.params[key]; dup {
				return nil, fmt.Errorf("--set %s given twice", key)
			}
			ra.params[key] = v
		case "data":
			path, err := s.needNonEmpty("a file path")
			if err != nil {
				return nil, err
			}
			ra.data = append(ra.data, path)
		case "seed":
			value, err := s.needValue()
			if err != nil {
				return nil, err
			}
			if seed != "" {
				return nil, errors.New("--seed given twice")
			}
			seed = value
		case "out":
			if ra.out, err = s.needNonEmpty("a directory"); err != nil {
				return nil, err
			}
		default:
			return nil, s.unknown("run", "--set, --data, --seed, --out or --json")
		}
	}
	if ra.id == "" {
		return nil, errors.New("run wants a plugin ID (see alignlab list)")
	}
	if seed != "" {
		if _, dup := ra.params[kernel.ParamSeed]; dup {
			return nil, fmt.Errorf("--seed %s conflicts with --set seed=%v: give one", seed, ra.params[kernel.ParamSeed])
		}
		ra.params[kernel.ParamSeed] = seed
	}
	return ra, nil
}

func (ra *runArgs) setID(id string) error {
	if ra.id != "" {
		return fmt.Errorf("run takes one plugin ID, got %q and %q", ra.id, id)
	}
	ra.id = id
	return nil
}

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	ra, err := parseRunArgs(args)
	if errors.Is(err, errHelp) {
		io.WriteString(stdout, runUsageText)
		return exitOK
	}
	if err != nil {
		return usagef(stderr, "%v", err)
	}
	// Found out before a long run, not after it.
	if st, err := os.Stat(ra.out); ra.out != "" && err == nil && !st.IsDir() {
		return usagef(stderr, "--out %s: not a directory", ra.out)
	}
	prog := newProgress(stderr, ra.id, ra.json)
	res, err := kernel.Run(ctx, ra.id, kernel.Options{Params: ra.params, Data: ra.data, Observer: prog.observe})
	prog.finish()
	if err == nil && ctx.Err() != nil {
		err = ctx.Err() // interrupted after the plugin finished: write nothing
	}
	if err != nil {
		return reportError(stderr, err)
	}
	if ra.out != "" {
		if err := writeOut(ra.out, res); err != nil {
			fmt.Fprintf(stderr, "alignlab: %s\n", oneLine(err.Error()))
			return exitFailure
		}
	}
	if ra.json {
		b, err := res.JSON()
		if err != nil {
			fmt.Fprintf(stderr, "alignlab: encoding result: %s\n", oneLine(err.Error()))
			return exitFailure
		}
		stdout.Write(b)
	} else {
		writeSummary(stdout, res)
	}
	if ra.out != "" {
		fmt.Fprintf(stderr, "alignlab: wrote %s and %s\n",
			filepath.Join(ra.out, "result.json"), filepath.Join(ra.out, "report.html"))
	}
	return exitOK
}

// writeOut writes dir/result.json and dir/report.html. Both are rendered
// before anything is written, and each lands by rename, so a reader never
// sees a partial file and a failed render leaves the directory as it was.
func writeOut(dir string, res *kernel.Result) error {
	js, err := res.JSON()
	if err != nil {
		return fmt.Errorf("encoding result: %w", err)
	}
	html, err := report.HTML(res)
	if err != nil {
		return fmt.Errorf("rendering report: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, "result.json"), js); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, "report.html"), html)
}

func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644) // CreateTemp makes 0600; results are meant to be shared
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// maxSummaryRows bounds the table printed by a run without --json; the whole
// table is in result.json.
const maxSummaryRows = 25

// writeSummary prints what a person wants after a run: final metrics, the
// main table (the one the first chart draws, e.g. the leaderboard), the
// series lengths and the notes.
func writeSummary(w io.Writer, res *kernel.Result) {
	fmt.Fprintf(w, "%s  seed %d  backend %s", res.Plugin, res.Seed, res.Backend)
	if res.Timing != nil {
		fmt.Fprintf(w, "  %.2f s", res.Timing.WallSeconds)
	}
	fmt.Fprintln(w)
	if len(res.Final) > 0 {
		fmt.Fprintln(w, "\nfinal:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, k := range sortedKeys(res.Final) {
			fmt.Fprintf(tw, "  %s\t%s\n", k, fmtCell(res.Final[k]))
		}
		tw.Flush()
	}
	if name := mainTable(res); name != "" {
		t := res.Tables[name]
		fmt.Fprintf(w, "\n%s (%d rows", name, len(t.Rows))
		if len(t.Rows) > maxSummaryRows {
			fmt.Fprintf(w, ", first %d", maxSummaryRows)
		}
		fmt.Fprintln(w, "):")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  %s\n", strings.Join(t.Columns, "\t"))
		for i, row := range t.Rows {
			if i == maxSummaryRows {
				break
			}
			cells := make([]string, len(row))
			for j, c := range row {
				cells[j] = fmtCell(c)
			}
			fmt.Fprintf(tw, "  %s\n", strings.Join(cells, "\t"))
		}
		tw.Flush()
		if others := len(res.Tables) - 1; others > 0 {
			fmt.Fprintf(w, "  (%d more table(s) in the JSON result and the report)\n", others)
		}
	}
	if names := res.SeriesNames(); len(names) > 0 {
		fmt.Fprintln(w, "\nseries:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, n := range names {
			pts := res.Series[n]
			if len(pts) == 0 {
				continue
			}
			last := pts[len(pts)-1]
			fmt.Fprintf(tw, "  %s\t%d points\tlast %s at step %d\n", n, len(pts), fmtCell(last.Value), last.Step)
		}
		tw.Flush()
	}
	if len(res.Notes) > 0 {
		fmt.Fprintln(w, "\nnotes:")
		for _, n := range res.Notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
}

// mainTable picks the table a reader looks at first: the one drawn by the
// first chart that draws a table, else the first by name.
func mainTable(res *kernel.Result) string {
	for _, c := range res.Charts {
		if _, ok := res.Tables[c.Table]; ok && c.Table != "" {
			return c.Table
		}
	}
	if names := res.TableNames(); len(names) > 0 {
		return names[0]
	}
	return ""
}

func fmtCell(c any) string {
	switch x := c.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
		return strconv.FormatFloat(x, 'g', 6, 64)
	case float32:
		return fmtCell(float64(x))
	case nil:
		return "-"
	}
	return fmt.Sprint(c)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
