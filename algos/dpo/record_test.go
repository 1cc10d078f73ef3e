package dpo

import (
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
)

// With --data a run records what took effect: none of the planted
// testbed's params (here set to values that contradict the files), and per
// file the pairs, prompts and dimension it read. The log-linear θ has the
// files' dimension, and no note compares epsilon with a flip rate the
// files do not have.
func TestPluginRecordsData(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(7, 1))
	var files []string
	for i, n := range []int{50, 30} {
		p, err := datasets.GeneratePrefs(datasets.PrefsConfig{Dim: 3, WNorm: 2, Candidates: 3, Pairs: n, TestPrompts: 1}, r)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, []string{"a.jsonl", "b.jsonl"}[i])
		if err := writeFile(path, func(w io.Writer) error { return datasets.WritePrefs(w, p) }); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
	}
	wantShape := []map[string]any{{"pairs": 50, "prompts": 50, "dim": 3}, {"pairs": 30, "prompts": 30, "dim": 3}}
	testbed := []string{ParamDim, ParamWNorm, ParamCandidates, ParamRef, ParamPairs, ParamFlipRate, ParamTestPrompts}
	for _, k := range Kinds {
		id := "dpo." + string(k)
		params := map[string]any{fit.ParamSteps: 5, fit.ParamEvalEvery: 5,
			ParamDim: 7, ParamPairs: 999, ParamFlipRate: 0.3, ParamCandidates: 5, ParamTestPrompts: 11}
		res, err := runPlugin(t, id, params, files...)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		for _, key := range testbed {
			if v, ok := res.Params[key]; ok {
				t.Errorf("%s: params record the testbed's %s = %v, which did not apply to --data", id, key, v)
			}
		}
		for _, key := range []string{ParamBeta, ParamPolicy, fit.ParamSteps} {
			if _, ok := res.Params[key]; !ok {
				t.Errorf("%s: params lack %s, which applies to --data", id, key)
			}
		}
		if len(res.Provenance.Data) != len(files) {
			t.Fatalf("%s: %d data records, want %d", id, len(res.Provenance.Data), len(files))
		}
		for i, want := range wantShape {
			got := res.Provenance.Data[i].Shape
			if len(got) != len(want) {
				t.Errorf("%s: file %d: shape %v, want %v", id, i, got, want)
			}
			for key, v := range want {
				if got[key] != v {
					t.Errorf("%s: file %d: shape %s = %v, want %v", id, i, key, got[key], v)
				}
			}
		}
		if n := len(res.Tables["theta"].Rows); n != 3 {
			t.Errorf("%s: θ has %d entries, want the files' dimension 3", id, n)
		}
		for _, n := range res.Notes {
			if strings.Contains(n, "flip_rate 0.3") {
				t.Errorf("%s: note %q claims the testbed's flip rate", id, n)
			}
		}
	}
}

// SampleData writes files the plugins read.
func TestSampleData(t *testing.T) {
	files, err := plugin{kind: DPO}.SampleData(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{120, 80} {
		p, err := datasets.LoadPrefs(files[i])
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Pairs) != want || p.Dim != 3 {
			t.Errorf("file %d: %d pairs of dimension %d, want %d of dimension 3", i, len(p.Pairs), p.Dim, want)
		}
	}
}
