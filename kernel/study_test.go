package kernel

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// registerLine registers a plugin whose final metric y = a·x + b + noise
// (noise ~ U(-0.5, 0.5) from the seed), failing when x = 13.
func registerLine(t *testing.T) {
	registerTemp(t, Info{ID: "study.line", Params: []Param{
		FloatParam("x", 0, -100, 100, "x"),
		FloatParam("a", 1, -10, 10, "slope"),
		IntParam("b", 0, -10, 10, "intercept"),
	}}, func(j *Job) error {
		x, a, b := j.Params.Float("x"), j.Params.Float("a"), float64(j.Params.Int("b"))
		if x == 13 {
			return errors.New("unlucky x")
		}
		j.SetFinal("y", a*x+b+j.Rand().Float64()-0.5)
		j.SetFinal("x2", x*x)
		return nil
	})
}

// A study equals the same runs done one by one, cell by cell, and its
// summary holds the mean and standard error over seeds.
func TestStudyEqualsRuns(t *testing.T) {
	registerLine(t)
	s := Study{Plugin: "study.line", Params: map[string]any{"a": 2.0},
		Grid:  []Axis{Vary("x", 1.0, 2.0, 3.0), Vary("b", 0, 5)},
		Seeds: []int64{1, 2, 3}}
	var seen int
	res, err := RunStudy(context.Background(), s, func(done, total int, c *Cell) {
		seen++
		if done != seen || total != 18 {
			t.Errorf("observer (%d, %d), want (%d, 18)", done, total, seen)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Cells) != 18 {
		t.Fatalf("%d cells, want 3 × 2 × 3", len(res.Cells))
	}
	i := 0
	for _, x := range []float64{1, 2, 3} {
		for _, b := range []int{0, 5} {
			var ys []float64
			for _, seed := range []int64{1, 2, 3} {
				one, err := Run(context.Background(), "study.line", Options{Params: map[string]any{"a": 2.0, "x": x, "b": b, ParamSeed: seed}})
				if err != nil {
					t.Fatal(err)
				}
				got, _ := res.Cells[i].Result.CanonicalJSON()
				want, _ := one.CanonicalJSON()
				if string(got) != string(want) {
					t.Errorf("cell %d (x=%v b=%v seed %d) differs from its own run", i, x, b, seed)
				}
				ys = append(ys, one.Final["y"])
				i++
			}
			row := res.Summary.Rows[(i-1)/3]
			mean, se := MeanSE(ys)
			if got, want := fmt.Sprint(row), fmt.Sprint([]any{x, b, x * x, 0, mean, se, 3}); got != want {
				t.Errorf("summary row %v, want x=%v b=%v x2=%v y=%v±%v runs=3", row, x, b, x*x, mean, se)
			}
		}
	}
	if want := []string{"x", "b", "x2", "x2_se", "y", "y_se", "runs"}; strings.Join(res.Summary.Columns, ",") != strings.Join(want, ",") {
		t.Errorf("columns %v, want %v", res.Summary.Columns, want)
	}
	r := res.Result("y")
	if r.Tables["study"] == nil || len(r.Charts) != 1 || r.Charts[0].Group != "group" || r.Tables["study"].Rows[1][0] != "b=5" {
		t.Errorf("Result: tables %v charts %+v", r.TableNames(), r.Charts)
	}
}

// A zipped axis moves its keys together; a failed cell is kept with its
// error and the study goes on; a bad grid fails before any run.
func TestStudyZipFailBad(t *testing.T) {
	registerLine(t)
	res, err := RunStudy(context.Background(), Study{Plugin: "study.line",
		Grid: []Axis{Zip([]string{"x", "a"}, []any{1.0, 3.0}, []any{13.0, 1.0}, []any{2.0, -1.0})}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Cells) != 3 || res.Cells[1].Result != nil || res.Cells[1].Err != "unlucky x" || len(res.Failed()) != 1 {
		t.Fatalf("cells %+v, want the second failed with its error", res.Cells)
	}
	if y := res.Cells[2].Result.Final["y"]; math.Abs(y-(-2)) > 0.5 {
		t.Errorf("x=2 a=-1: y = %v, want −2 ± 0.5", y)
	}
	if n := res.Summary.Rows[1][len(res.Summary.Columns)-1]; fmt.Sprint(n) != "0" {
		t.Errorf("failed point runs = %v, want 0", n)
	}
	if !strings.Contains(res.Result().Notes[0], "unlucky x") {
		t.Errorf("notes %q do not name the failed cell", res.Result().Notes)
	}
	for _, c := range []struct {
		s    Study
		want string
	}{
		{Study{Plugin: "study.nope"}, "unknown plugin"},
		{Study{Plugin: "study.line", Grid: []Axis{Vary("z", 1.0)}}, `unknown param "z"`},
		{Study{Plugin: "study.line", Grid: []Axis{Vary("x", 1000.0)}}, "param x"},
		{Study{Plugin: "study.line", Grid: []Axis{Zip([]string{"x", "a"}, []any{1.0})}}, "a row has 1 values for 2 keys"},
		{Study{Plugin: "study.line", Grid: []Axis{Vary("x", 1.0), Vary("x", 2.0)}}, `grid key "x" repeated or reserved`},
	} {
		if _, err := RunStudy(context.Background(), c.s, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want an error containing %q", c.s, err, c.want)
		}
	}
}

func TestMeanSE(t *testing.T) {
	const tol = 1e-15
	m, se := MeanSE([]float64{1, 2, 3, 4})
	if m != 2.5 || math.Abs(se-math.Sqrt(5.0/3/4)) > tol {
		t.Errorf("MeanSE(1..4) = %v, %v, want 2.5, %v", m, se, math.Sqrt(5.0/3/4))
	}
	if m, se := MeanSE([]float64{7}); m != 7 || !math.IsNaN(se) {
		t.Errorf("MeanSE(7) = %v, %v, want 7, NaN", m, se)
	}
	if m, _ := MeanSE(nil); !math.IsNaN(m) {
		t.Errorf("MeanSE() = %v, want NaN", m)
	}
}

// A study of a plugin that counts heads in n seeded flips of a fair coin:
// two grid points, three seeds each, and the mean and standard error of
// the fraction of heads per point.
func ExampleRunStudy() {
	Register(regPlugin{info: Info{ID: "example.flips", Params: []Param{IntParam("n", 10, 1, 1e6, "flips")}},
		run: func(j *Job) error {
			r, heads := j.Rand(), 0
			for range j.Params.Int("n") {
				if r.IntN(2) == 1 {
					heads++
				}
			}
			j.SetFinal("heads", float64(heads)/float64(j.Params.Int("n")))
			return nil
		}})
	defer unregister("example.flips")
	res, err := RunStudy(context.Background(), Study{
		Plugin: "example.flips",
		Grid:   []Axis{Vary("n", 10, 10000)},
		Seeds:  []int64{1, 2, 3},
	}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Summary.Columns)
	for _, row := range res.Summary.Rows {
		fmt.Printf("n=%v: %.2f ± %.2f over %v seeds\n", row[0], row[1], row[2], row[3])
	}
	// Output:
	// [n heads heads_se runs]
	// n=10: 0.47 ± 0.19 over 3 seeds
	// n=10000: 0.51 ± 0.01 over 3 seeds
}

func lineStudy() Study {
	return Study{Plugin: "study.line", Params: map[string]any{"a": 2.0},
		Grid:  []Axis{Vary("x", 1.0, 2.0, 13.0), Vary("b", 0, 5)},
		Seeds: []int64{1, 2, 3}}
}

func studyJSON(t *testing.T, r *StudyResult) string {
	t.Helper()
	b, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The number of jobs does not change the result, byte for byte.
func TestStudyJobs(t *testing.T) {
	registerLine(t)
	one, err := RunStudyWith(context.Background(), lineStudy(), StudyOptions{Jobs: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, jobs := range []int{2, 5} {
		many, err := RunStudyWith(context.Background(), lineStudy(), StudyOptions{Jobs: jobs})
		if err != nil {
			t.Fatal(err)
		}
		if studyJSON(t, many) != studyJSON(t, one) {
			t.Errorf("jobs %d: study.json differs from jobs 1", jobs)
		}
	}
	if !strings.Contains(studyJSON(t, one), `"error": "unlucky x"`) {
		t.Error("study.json does not record the failed cells' error")
	}
}

// A study stopped halfway continues from its cache: finished cells are
// not run again, and the result equals an uninterrupted run's.
func TestStudyResume(t *testing.T) {
	registerLine(t)
	want := studyJSON(t, must(RunStudy(context.Background(), lineStudy(), nil)))
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	_, err := RunStudyWith(ctx, lineStudy(), StudyOptions{Dir: dir, Observer: func(done, total int, c *Cell) {
		if done == 7 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted study: got %v, want context.Canceled", err)
	}
	res, err := RunStudyWith(context.Background(), lineStudy(), StudyOptions{Dir: dir, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Cached != 7 || res.Ran != 11 {
		t.Errorf("resumed: %d cached, %d run, want 7 and 11", res.Cached, res.Ran)
	}
	if got := studyJSON(t, res); got != want {
		t.Error("resumed study.json differs from an uninterrupted run's")
	}
	again, err := RunStudyWith(context.Background(), lineStudy(), StudyOptions{Dir: dir})
	if err != nil || again.Ran != 0 || again.Cached != 18 {
		t.Fatalf("complete rerun: %v, %d run, %d cached, want 0 and 18", err, again.Ran, again.Cached)
	}

	// A truncated cell and a foreign one (another cell's file under this
	// cell's name) are rerun, never trusted.
	a, b := cellPath(dir, res.Cells[0].Key), cellPath(dir, res.Cells[1].Key)
	data, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	other, _ := os.ReadFile(cellPath(dir, res.Cells[2].Key))
	if err := os.WriteFile(b, other, 0o644); err != nil {
		t.Fatal(err)
	}
	fixed, err := RunStudyWith(context.Background(), lineStudy(), StudyOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if fixed.Ran != 2 || studyJSON(t, fixed) != want {
		t.Errorf("after corrupting 2 cells: %d run (want 2), same JSON %v", fixed.Ran, studyJSON(t, fixed) == want)
	}
}

// Shards run into one directory and merge into the one-machine study.
func TestStudyShardsMerge(t *testing.T) {
	registerLine(t)
	want := studyJSON(t, must(RunStudy(context.Background(), lineStudy(), nil)))
	dir := t.TempDir()
	total := 0
	for i := 1; i <= 4; i++ {
		if i == 3 {
			if _, err := MergeStudy(dir); err == nil || !strings.Contains(err.Error(), "cells missing or invalid") {
				t.Errorf("merge before the last shards: got %v, want the missing cells named", err)
			}
		}
		part, err := RunStudyWith(context.Background(), lineStudy(), StudyOptions{Dir: dir, Shard: i, Shards: 4})
		if err != nil {
			t.Fatal(err)
		}
		if part.Summary != nil {
			t.Error("a shard's result has a summary")
		}
		total += len(part.Cells)
	}
	if total != 18 {
		t.Errorf("shards ran %d cells in all, want 18", total)
	}
	merged, err := MergeStudy(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := studyJSON(t, merged); got != want {
		t.Errorf("merged study.json differs from the one-machine run:\n%s\nwant\n%s", got, want)
	}
	for _, bad := range []StudyOptions{{Dir: dir, Shard: 0, Shards: 2}, {Dir: dir, Shard: 3, Shards: 2}, {Shard: 1, Shards: 2}} {
		if _, err := RunStudyWith(context.Background(), lineStudy(), bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// A cell's key covers its data: the same params on other data are
// another cell.
func TestStudyKeyCoversData(t *testing.T) {
	registerTemp(t, Info{ID: "study.data", Data: []DataFormat{{Name: "any"}}}, func(j *Job) error {
		j.SetFinal("one", 1)
		return nil
	})
	path := filepath.Join(t.TempDir(), "d.txt")
	key := func(content string) string {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		plan, err := planStudy(Study{Plugin: "study.data", Data: []string{path}})
		if err != nil {
			t.Fatal(err)
		}
		return plan.cells[0].Key
	}
	if key("a") == key("b") {
		t.Error("two data files gave one cell key")
	}
	if _, err := planStudy(Study{Plugin: "study.data", Data: []string{path + ".missing"}}); err == nil {
		t.Error("a missing data file planned")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
