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

const runUsageText = `Usage: alignlab run ID [--set key=value]... [--data PATH]... [--seed N] [--model DIR] [--out DIR] [--json]

Flags may come before or after ID; "--flag value" and "--flag=value" both work.
  --set key=value   set a param (repeatable, each key once); see "alignlab describe ID"
  --data PATH       input file (repeatable)
  --seed N          the seed of every random draw (same as --set seed=N)
  --model DIR       start from the model saved in DIR (by an earlier run's --out: DIR is OUT/model);
                    "alignlab describe ID" says what starting from one means for ID
  --out DIR         write DIR/result.json and DIR/report.html (DIR is created if needed), and
                    DIR/model (the trained model and its manifest.json) when ID trains one
  --json            print the result as JSON on stdout; progress and notes go to stderr
`

// runArgs are the parsed arguments of "alignlab run".
type runArgs struct {
	verb   string // run, score or sample
	id     string
	params map[string]any
	data   []string
	out    string
	json   bool
	model  string // --model DIR
	n      int    // sample's --n
}

var errHelp = errors.New("help requested")

// parseRunArgs reads the run command line. Flags and the ID may come in any
// order, since "run ID --set a=1" is how people type it after a first try.
func parseRunArgs(args []string) (*runArgs, error) { return parseArgs("run", args) }

// parseArgs reads the command line of run, score or sample: the same flags,
// with --model, and sample's --n and --x (another name for --data).
func parseArgs(verb string, args []string) (*runArgs, error) {
	ra := &runArgs{verb: verb, params: map[string]any{}}
	nSet := false
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
		case "model":
			if ra.model != "" {
				return nil, errors.New("--model given twice")
			}
			if ra.model, err = s.needNonEmpty("a saved model's directory"); err != nil {
				return nil, err
			}
		case "n":
			if verb != "sample" {
				return nil, s.unknown(verb, flagsOf(verb))
			}
			value, err := s.needValue()
			if err != nil {
				return nil, err
			}
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("--n %q: want a whole number of samples, at least 1", value)
			}
			ra.n, nSet = n, true
		case "data", "x":
			if s.name == "x" && verb != "sample" {
				return nil, s.unknown(verb, flagsOf(verb))
			}
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
			return nil, s.unknown(verb, flagsOf(verb))
		}
	}
	if ra.id == "" {
		return nil, fmt.Errorf("%s wants a plugin ID (see alignlab list)", verb)
	}
	if verb != "run" && ra.model == "" {
		return nil, fmt.Errorf("%s wants --model DIR, a model saved by run --out (DIR is OUT/model)", verb)
	}
	if verb == "score" && len(ra.data) == 0 {
		return nil, errors.New("score wants --data FILE: the data to score")
	}
	if verb == "sample" && !nSet {
		ra.n = defaultSamples
	}
	if seed != "" {
		if _, dup := ra.params[kernel.ParamSeed]; dup {
			return nil, fmt.Errorf("--seed %s conflicts with --set seed=%v: give one", seed, ra.params[kernel.ParamSeed])
		}
		ra.params[kernel.ParamSeed] = seed
	}
	return ra, nil
}

// defaultSamples is sample's --n when not given.
const defaultSamples = 100

func flagsOf(verb string) string {
	switch verb {
	case "sample":
		return "--model, --x (or --data), --n, --set, --seed, --out or --json"
	case "score":
		return "--model, --data, --set, --seed, --out or --json"
	}
	return "--set, --data, --seed, --model, --out or --json"
}

func (ra *runArgs) setID(id string) error {
	if ra.id != "" {
		return fmt.Errorf("%s takes one plugin ID, got %q and %q", ra.verb, ra.id, id)
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
	res, err := kernel.Run(ctx, ra.id, kernel.Options{Params: ra.params, Data: ra.data, Init: ra.model, Observer: prog.observe})
	prog.finish()
	return finishCmd(ctx, ra, res, err, stdout, stderr)
}

// finishCmd writes what run, score and sample produced: --out files, the
// JSON or the summary.
func finishCmd(ctx context.Context, ra *runArgs, res *kernel.Result, err error, stdout, stderr io.Writer) int {
	if err == nil && ctx.Err() != nil {
		err = ctx.Err() // interrupted after the plugin finished: write nothing
	}
	if err != nil {
		return reportError(stderr, err)
	}
	var wrote []string
	if ra.out != "" {
		if wrote, err = writeOut(ra.out, res, ra.verb != "run"); err != nil {
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
	if len(wrote) > 0 {
		fmt.Fprintf(stderr, "alignlab: wrote %s\n", strings.Join(wrote, ", "))
	}
	return exitOK
}

// writeOut writes dir/result.json and dir/report.html, dir/model when the
// run trained a model, and with tables (score, sample) every table as
// dir/NAME.csv. The files are rendered before anything is written, and
// each lands by rename, so a reader never sees a partial file and a failed
// render leaves the directory as it was. It returns the paths written.
func writeOut(dir string, res *kernel.Result, tables bool) ([]string, error) {
	js, err := res.JSON()
	if err != nil {
		return nil, fmt.Errorf("encoding result: %w", err)
	}
	html, err := report.HTML(res)
	if err != nil {
		return nil, fmt.Errorf("rendering report: %w", err)
	}
	files := map[string][]byte{"result.json": js, "report.html": html}
	if tables {
		for _, name := range res.TableNames() {
			var b strings.Builder
			if err := res.Tables[name].WriteCSV(&b); err != nil {
				return nil, fmt.Errorf("table %s: %w", name, err)
			}
			files[name+".csv"] = []byte(b.String())
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var wrote []string
	for _, name := range sortedKeys(files) {
		path := filepath.Join(dir, name)
		if err := writeFileAtomic(path, files[name]); err != nil {
			return wrote, err
		}
		wrote = append(wrote, path)
	}
	if res.Model != nil {
		path := filepath.Join(dir, "model")
		if err := saveModelAtomic(res, path); err != nil {
			return wrote, err
		}
		wrote = append(wrote, path+"/")
	}
	return wrote, nil
}

// saveModelAtomic saves res's model into a fresh directory beside path and
// renames it over path, so that a model directory is never half old, half new.
func saveModelAtomic(res *kernel.Result, path string) error {
	tmp, err := os.MkdirTemp(filepath.Dir(path), ".model.*.tmp")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := kernel.SaveModel(res, tmp); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if err := os.RemoveAll(path); err != nil {
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
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
