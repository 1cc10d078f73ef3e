package sb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
	"github.com/alignlab/alignlab/kernel/report"
)

// small keeps plugin runs to a fraction of a second.
var small = map[string]any{
	ParamSteps: 60, ParamK: 8, ParamTestPoints: 20, ParamSamplesPerX: 50,
	ParamPlotSamples: 30, ParamTrajectories: 3, ParamSDESteps: 10, ParamEvalEvery: 20,
}

func withParams(extra map[string]any) map[string]any {
	p := map[string]any{}
	for k, v := range small {
		p[k] = v
	}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

func TestRunDeterministic(t *testing.T) {
	for _, src := range Sources[:4] {
		opts := kernel.Options{Params: withParams(map[string]any{ParamSource: src, ParamDim: 3, "seed": 7})}
		a, err := kernel.Run(context.Background(), "sb.light", opts)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		b, err := kernel.Run(context.Background(), "sb.light", opts)
		if err != nil {
			t.Fatal(err)
		}
		ja, _ := a.CanonicalJSON()
		jb, _ := b.CanonicalJSON()
		if !bytes.Equal(ja, jb) {
			t.Errorf("%s: same seed, different results", src)
		}
		if _, ok := a.Final[FinalCBW]; ok != strings.HasPrefix(src, "eot_") {
			t.Errorf("%s: cbw2_uvp reported = %v", src, ok)
		}
		if got := len(a.Tables["samples"].Rows); got != 4*30 {
			t.Errorf("%s: samples table has %d rows, want 120", src, got)
		}
		if got := len(a.Tables["trajectories"].Rows); got != 3*11 {
			t.Errorf("%s: trajectories table has %d rows, want 33", src, got)
		}
		if got := len(a.Series[MetricLoss]); got != 3 {
			t.Errorf("%s: loss series has %d points, want 3", src, got)
		}
		if _, err := report.Charts(a); err != nil {
			t.Errorf("%s: charts: %v", src, err)
		}
	}
}

func TestRunFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var x0, x1 bytes.Buffer
	_ = datasets.WriteVectorsCSV(&x0, [][]float64{{0, 0}, {1, 0}, {0, 1}, {-1, -1}})
	x0p := write("x0.csv", x0.String())
	_ = datasets.WriteVectorsCSV(&x1, [][]float64{{3, 3}, {4, 3}, {3, 4}})
	x1p := write("x1.csv", "a,b\n"+x1.String())
	x1j := write("x1.jsonl", "[3, 3]\n[4, 3]\n[3, 4]\n")
	for _, data := range [][]string{{x0p, x1p}, {x0p, x1j}} {
		res, err := kernel.Run(context.Background(), "sb.light", kernel.Options{Params: withParams(nil), Data: data})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := res.Final[FinalLoss]; !ok {
			t.Error("no final loss")
		}
	}
	ragged := write("bad.csv", "1,2\n3\n")
	wide := write("wide.csv", "1,2,3\n")
	for _, tc := range []struct {
		data []string
		want string
	}{
		{[]string{x0p, ragged}, ragged + ":2: row: want 2 values (as on line 1), got 1"},
		{[]string{x0p, wide}, wide + ":1: row: want vectors of dimension 2 (as in " + x0p + "), got 3"},
	} {
		_, err := kernel.Run(context.Background(), "sb.light", kernel.Options{Params: withParams(nil), Data: tc.data})
		var de *datasets.Error
		if !errors.As(err, &de) || err.Error() != tc.want {
			t.Errorf("got %v, want *datasets.Error %q", err, tc.want)
		}
	}
	_, err := kernel.Run(context.Background(), "sb.light", kernel.Options{Params: withParams(nil), Data: []string{x0p}})
	var ue *kernel.DataUsageError
	if !errors.As(err, &ue) || err.Error() != "sb.light: --data: want 2 sample files (--data x0 --data x1: source samples, then target samples) or 1 benchmark pair file (--data pair.json), got 1 file" {
		t.Errorf("one file: got %v, want a *kernel.DataUsageError", err)
	}
	_, err = kernel.Run(context.Background(), "sb.light", kernel.Options{Params: withParams(map[string]any{ParamSource: SourceFiles})})
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "got 0 files") {
		t.Errorf("files without data: got %v, want a *kernel.DataUsageError", err)
	}
}

// One --data file is a benchmark pair: the run scores the fit on the
// file's test inputs (the first test_points of them) with the file's
// normaliser, and a pair whose ε differs from the epsilon param is refused.
func TestRunBenchmarkFile(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	pair, err := datasets.GenerateEOT(datasets.EOTMixtureConfig(2, 1, false), r)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	b := &datasets.EOTBenchmark{Pair: pair, TestInputs: pair.SampleSource(30, r), TargetVariance: 7.25}
	if err := datasets.WriteEOTBenchmark(&buf, b); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "pair.json")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := kernel.Run(context.Background(), "sb.light", kernel.Options{Params: withParams(map[string]any{ParamEpsilon: 1.0}), Data: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Final[FinalTargetVar]; got != 7.25 {
		t.Errorf("target_variance %v, want the file's 7.25", got)
	}
	if !(res.Final[FinalCBWIndep] > 0) || !(res.Final[FinalCBWExact] > 0) {
		t.Errorf("finals %v, want cBW₂²-UVP values", res.Final)
	}
	notes := strings.Join(res.Notes, "\n")
	for _, want := range []string{"on the first 20 of the pair file's 30 test inputs", "normaliser Var(P₁) = 7.25 from the pair file"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}
	_, err = kernel.Run(context.Background(), "sb.light", kernel.Options{Params: withParams(map[string]any{ParamEpsilon: 0.1}), Data: []string{path}})
	var de *datasets.Error
	if want := path + ": epsilon: the pair's ε is 1 but the run's epsilon param is 0.1: set epsilon=1"; !errors.As(err, &de) || err.Error() != want {
		t.Errorf("ε mismatch: got %v, want %q", err, want)
	}
}

func TestDescribe(t *testing.T) {
	d, err := kernel.Describe("sb.light")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2310.01174", "mean_x0 log c_θ(x0) − mean_x1 log v_θ(x1)", "cBW₂²-UVP", "components", "eot_mixture"} {
		if !strings.Contains(d, want) {
			t.Errorf("describe lacks %q", want)
		}
	}
}

// The benchmark is a study of sb.light over seeds: its table has a row per
// (D, ε) cell with the mean and standard error over the seeds (checked
// against the per-run table), the worst seed, the effective learning rate
// and the paper's value where the paper has one; its bar chart draws from
// the bars table.
func TestBenchmarkTable(t *testing.T) {
	var progress int
	res, err := Benchmark(context.Background(), BenchmarkConfig{
		Dims: []int{2, 3}, Epsilons: []float64{1}, Steps: 30, TestPoints: 10, SamplesPerX: 20, Seeds: []int64{4, 5, 6},
		Progress: func(done, total int, c *kernel.Cell) {
			progress++
			if done != progress || total != 6 || c.Result == nil {
				t.Errorf("progress %d/%d (cell %+v), want %d/6 with a result", done, total, c, progress)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tab := res.Tables[BenchmarkTable]
	if tab == nil || len(tab.Rows) != 2 || strings.Join(tab.Columns, ",") != strings.Join(BenchmarkColumns, ",") {
		t.Fatalf("tables %v: %s = %v", res.TableNames(), BenchmarkTable, tab)
	}
	runs := res.Tables[BenchmarkRunsTable]
	if runs == nil || len(runs.Rows) != 6 || strings.Join(runs.Columns, ",") != strings.Join(BenchmarkRunColumns, ",") {
		t.Fatalf("%s = %v, want 6 runs", BenchmarkRunsTable, runs)
	}
	if progress != 6 {
		t.Errorf("progress called %d times, want 6", progress)
	}
	if dims := tab.Floats("dim"); dims[0] != 2 || dims[1] != 3 {
		t.Errorf("dims %v, want [2 3]", dims)
	}
	if seeds := runs.Floats("seed"); seeds[0] != 4 || seeds[2] != 6 || seeds[3] != 4 {
		t.Errorf("run seeds %v, want 4, 5, 6 per cell", seeds)
	}
	// Cell 2's mean, s.e. and worst exact value from its three runs.
	exact := runs.Floats(FinalCBWExact)[3:]
	mean := (exact[0] + exact[1] + exact[2]) / 3
	ss := 0.0
	for _, v := range exact {
		ss += (v - mean) * (v - mean)
	}
	se := math.Sqrt(ss / 2 / 3)
	worst := math.Max(exact[0], math.Max(exact[1], exact[2]))
	const tol = 1e-12
	if got := tab.Floats(FinalCBWExact)[1]; math.Abs(got-mean) > tol*mean {
		t.Errorf("exact mean %v, want %v", got, mean)
	}
	if got := tab.Floats(FinalCBWExact + "_se")[1]; math.Abs(got-se) > tol*mean || !(se > 0) {
		t.Errorf("exact s.e. %v, want %v > 0", got, se)
	}
	if got := tab.Floats(FinalCBWExact + "_max")[1]; got != worst {
		t.Errorf("worst exact %v, want %v", got, worst)
	}
	if n := tab.Floats("runs"); n[0] != 3 || n[1] != 3 {
		t.Errorf("runs %v, want 3 per cell", n)
	}
	paper := tab.Floats("paper_lightsb")
	if paper[0] != 0.05 || paper[1] == paper[1] {
		t.Errorf("paper column %v, want [0.05 NaN]", paper)
	}
	if lr := tab.Floats("learning_rate")[0]; lr != PaperLearningRate(1) {
		t.Errorf("learning rate %v, want the paper's %v (the plugin's default 0 resolved)", lr, PaperLearningRate(1))
	}
	if s := tab.Floats("seconds")[0]; !(s > 0) {
		t.Errorf("seconds %v, want the mean wall time of a run", s)
	}
	if bars := res.Tables[BenchmarkBarsTable]; bars == nil || len(bars.Rows) != 2*4 || bars.Rows[0][0] != "D=2 ε=1" {
		t.Errorf("bars table %v, want 4 bars for each of 2 cells", bars)
	}
	if len(res.Charts) != 1 || res.Charts[0].Kind != "bar" || res.Charts[0].ID != BenchmarkChartID {
		t.Errorf("charts %+v, want the bar chart %q", res.Charts, BenchmarkChartID)
	}
	if _, err := report.Charts(res); err != nil {
		t.Errorf("charts: %v", err)
	}
	bad := BenchmarkConfig{Epsilons: []float64{0.5}, LearningRate: PaperLearningRate}
	if _, err := Benchmark(context.Background(), bad); err == nil || err.Error() != "sb: benchmark: no learning rate for ε = 0.5" {
		t.Errorf("ε without a learning rate: got %v", err)
	}
}

// A cell of the benchmark is the plain run of sb.light with the same params;
// without LearningRate the grid is D × ε and the cells take the plugin's
// default rate, with it D × (ε, learning_rate).
func TestBenchmarkStudy(t *testing.T) {
	s, err := ReducedBenchmarkConfig().Study()
	if err != nil {
		t.Fatal(err)
	}
	if s.Plugin != "sb.light" || len(s.Grid) != 2 || len(s.Grid[0].Values) != 2 || len(s.Grid[1].Values) != 3 ||
		strings.Join(s.Grid[1].Keys, ",") != ParamEpsilon+","+ParamLearningRate || len(s.Seeds) != 3 {
		t.Fatalf("study %+v, want D × (ε, learning_rate) of sb.light over 3 seeds", s)
	}
	if got := s.Grid[1].Values; got[0][1] != 3e-3 || got[1][1] != 3e-3 || got[2][1] != 6e-2 {
		t.Errorf("reduced (ε, lr) rows %v, want 3e-3 at ε = 0.1 and 1, 6e-2 at ε = 10", got)
	}
	plain, err := BenchmarkConfig{Params: map[string]any{ParamSInit: 0.1}}.Study()
	if err != nil {
		t.Fatal(err)
	}
	if got := plain.Grid[1]; strings.Join(got.Keys, ",") != ParamEpsilon || len(got.Values) != 3 {
		t.Errorf("without LearningRate: axis %+v, want ε alone (the plugin's default rate)", got)
	}
	if _, ok := plain.Params[ParamLearningRate]; ok || plain.Params[ParamSInit] != 0.1 || plain.Params[ParamSteps] != 10000 {
		t.Errorf("params %v, want no learning_rate, s_init 0.1 from Params and the default 10,000 steps", plain.Params)
	}
}

// FullBenchmarkStudy is the 3 × 3 × 5 table at the paper's length, and
// FullBenchmarkCommand says the same on the command line: every --grid,
// --seeds and --set of the command is checked against the study.
func TestFullBenchmarkStudy(t *testing.T) {
	s := FullBenchmarkStudy()
	if s.Plugin != "sb.light" || len(s.Grid) != 2 || len(s.Seeds) != 5 || s.Seeds[0] != 1 || s.Seeds[4] != 5 {
		t.Fatalf("study %+v, want sb.light over a 2-axis grid and seeds 1–5", s)
	}
	fields := strings.Fields(FullBenchmarkCommand)
	if strings.Join(fields[:3], " ") != "alignlab study sb.light" {
		t.Fatalf("command %q, want alignlab study sb.light …", FullBenchmarkCommand)
	}
	grids, sets := map[string]string{}, map[string]string{}
	for i := 3; i+1 < len(fields); i += 2 {
		k, v, _ := strings.Cut(fields[i+1], "=")
		switch fields[i] {
		case "--grid":
			grids[k] = v
		case "--set":
			sets[k] = v
		case "--seeds":
			if fields[i+1] != "1-5" {
				t.Errorf("--seeds %s, want 1-5", fields[i+1])
			}
		case "--out":
		default:
			t.Errorf("unexpected flag %s", fields[i])
		}
	}
	for _, ax := range s.Grid {
		if len(ax.Keys) != 1 {
			t.Fatalf("axis %v moves several keys; the command's --grid cannot", ax.Keys)
		}
		var vs []string
		for _, row := range ax.Values {
			vs = append(vs, fmt.Sprint(row[0]))
		}
		if got := grids[ax.Keys[0]]; got != strings.Join(vs, ",") {
			t.Errorf("--grid %s=%s, study has %v", ax.Keys[0], got, vs)
		}
		delete(grids, ax.Keys[0])
	}
	if len(grids) > 0 {
		t.Errorf("command grids %v not in the study", grids)
	}
	for k, v := range s.Params {
		if sets[k] != fmt.Sprint(v) {
			t.Errorf("--set %s=%q, study has %v", k, sets[k], v)
		}
		delete(sets, k)
	}
	if len(sets) > 0 {
		t.Errorf("command sets %v not in the study", sets)
	}
	if _, err := kernel.Validate(mustInfo(t), s.Params); err != nil {
		t.Errorf("the study's params do not validate: %v", err)
	}
}

func mustInfo(t *testing.T) kernel.Info {
	t.Helper()
	p, err := kernel.Lookup("sb.light")
	if err != nil {
		t.Fatal(err)
	}
	return p.Info()
}
