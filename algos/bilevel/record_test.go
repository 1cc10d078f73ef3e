package bilevel

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
)

// With --data a run records what took effect (issue 14: it recorded dim:
// 20, flip_rates, per_source, val and test that were not used): none of the
// generator params, even when set, and per file the examples, dimension
// and (TRAIN) sources it read. The weights table claims no flip rate.
func TestPluginRecordsData(t *testing.T) {
	s, err := datasets.GenerateSources(datasets.SourcesConfig{Dim: 3, WNorm: 3, PerSource: 30, FlipRates: []float64{0, 0.4, 0.2}, Val: 20, Test: 25},
		rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var files []string
	for _, f := range []struct {
		name string
		l    *datasets.Labeled
	}{{"train.jsonl", s.Train}, {"val.jsonl", s.Val}, {"test.jsonl", s.Test}} {
		var b bytes.Buffer
		if err := datasets.WriteSources(&b, f.l); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, f.name)
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
	}
	params := map[string]any{fit.ParamSteps: 10, ParamRounds: 2,
		ParamDim: 20, ParamFlipRates: "0,0.5", ParamPerSource: 500, ParamVal: 300, ParamTest: 5000, ParamSignal: 2.0}
	res := run(t, params, files...)
	for _, key := range []string{ParamFlipRates, ParamPerSource, ParamDim, ParamSignal, ParamVal, ParamTest} {
		if v, ok := res.Params[key]; ok {
			t.Errorf("params record the generator's %s = %v, which did not apply to --data", key, v)
		}
	}
	for _, key := range []string{ParamModel, ParamAlpha, ParamRounds, fit.ParamSteps} {
		if _, ok := res.Params[key]; !ok {
			t.Errorf("params lack %s, which applies to --data", key)
		}
	}
	want := []map[string]any{
		{"examples": 90, "dim": 3, "sources": 3},
		{"examples": 20, "dim": 3},
		{"examples": 25, "dim": 3},
	}
	if len(res.Provenance.Data) != len(want) {
		t.Fatalf("%d data records, want %d", len(res.Provenance.Data), len(want))
	}
	for i, w := range want {
		got := res.Provenance.Data[i].Shape
		if len(got) != len(w) {
			t.Errorf("file %d: shape %v, want %v", i, got, w)
		}
		for key, v := range w {
			if got[key] != v {
				t.Errorf("file %d: shape %s = %v, want %v", i, key, got[key], v)
			}
		}
	}
	wt := res.Tables[TableWeights]
	if n := len(wt.Rows); n != 3 {
		t.Errorf("weights table has %d sources, want the file's 3", n)
	}
	for i, r := range wt.Floats("flip_rate") {
		if !math.IsNaN(r) {
			t.Errorf("source %d: flip_rate %v, want NaN: the file's rates are unknown", i, r)
		}
	}
}

// SampleData writes TRAIN, VAL and TEST in the classification format.
func TestSampleData(t *testing.T) {
	files, err := plugin{}.SampleData(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("%d files, want 3 (TRAIN VAL TEST)", len(files))
	}
	train, err := datasets.LoadSources(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(train.Examples) != 80 || len(train.Sources) != 2 || train.Dim != 4 {
		t.Errorf("train: %d examples, %d sources, dimension %d; want 80, 2, 4", len(train.Examples), len(train.Sources), train.Dim)
	}
	for _, f := range files[1:] {
		l, err := datasets.LoadExamples(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(l.Examples) != 40 || l.Dim != 4 {
			t.Errorf("%s: %d examples of dimension %d, want 40 of dimension 4", f, len(l.Examples), l.Dim)
		}
	}
}
