package sb

import (
	"bytes"
	"context"
	"errors"
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
	if !errors.As(err, &ue) || err.Error() != "sb.light: --data: want 2 files, --data x0 --data x1 (source samples, then target samples), got 1 file" {
		t.Errorf("one file: got %v, want a *kernel.DataUsageError", err)
	}
	_, err = kernel.Run(context.Background(), "sb.light", kernel.Options{Params: withParams(map[string]any{ParamSource: SourceFiles})})
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "got 0 files") {
		t.Errorf("files without data: got %v, want a *kernel.DataUsageError", err)
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

// The benchmark is a study of sb.light: its table has a row per (D, ε)
// cell with the paper's value where the paper has one, and its bar chart
// draws from the bars table.
func TestBenchmarkTable(t *testing.T) {
	var progress int
	res, err := Benchmark(context.Background(), BenchmarkConfig{
		Dims: []int{2, 3}, Epsilons: []float64{1}, Steps: 30, TestPoints: 10, SamplesPerX: 20,
		Progress: func(row []any) {
			if len(row) != len(BenchmarkColumns) {
				t.Errorf("progress row %v, want %d cells", row, len(BenchmarkColumns))
			}
			progress++
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tab := res.Tables[BenchmarkTable]
	if tab == nil || len(tab.Rows) != 2 || strings.Join(tab.Columns, ",") != strings.Join(BenchmarkColumns, ",") {
		t.Fatalf("tables %v: %s = %v", res.TableNames(), BenchmarkTable, tab)
	}
	if progress != 2 {
		t.Errorf("progress called %d times, want 2", progress)
	}
	if dims := tab.Floats("dim"); dims[0] != 2 || dims[1] != 3 {
		t.Errorf("dims %v, want [2 3]", dims)
	}
	paper := tab.Floats("paper_lightsb")
	if paper[0] != 0.05 || paper[1] == paper[1] {
		t.Errorf("paper column %v, want [0.05 NaN]", paper)
	}
	if lr := tab.Floats("learning_rate")[0]; lr != PaperLearningRate(1) {
		t.Errorf("learning rate %v, want the paper's %v", lr, PaperLearningRate(1))
	}
	if s := tab.Floats("seconds")[0]; !(s > 0) {
		t.Errorf("seconds %v, want the cell's wall time", s)
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
	if _, err := Benchmark(context.Background(), BenchmarkConfig{Epsilons: []float64{0.5}}); err == nil || err.Error() != "sb: benchmark: no learning rate for ε = 0.5" {
		t.Errorf("ε without a learning rate: got %v", err)
	}
}

// A cell of the benchmark is the plain run of sb.light with the same params.
func TestBenchmarkStudy(t *testing.T) {
	s, err := ReducedBenchmarkConfig().Study()
	if err != nil {
		t.Fatal(err)
	}
	if s.Plugin != "sb.light" || len(s.Grid) != 2 || len(s.Grid[0].Values) != 2 || len(s.Grid[1].Values) != 3 ||
		strings.Join(s.Grid[1].Keys, ",") != ParamEpsilon+","+ParamLearningRate || s.Seeds[0] != kernel.DefaultSeed {
		t.Fatalf("study %+v, want D × (ε, learning_rate) of sb.light at the default seed", s)
	}
	if got := s.Grid[1].Values[0]; got[0] != 0.1 || got[1] != 0.01 {
		t.Errorf("first (ε, lr) %v, want (0.1, 0.01)", got)
	}
}
