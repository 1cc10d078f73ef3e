package sb

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// TestFilesRecordWhatRan runs sb.light on a 4-D CSV pair and on a
// benchmark pair file and checks the record: source, dim and rotated
// (before, a 4-D CSV pair recorded source: eot_mixture, dim: 2) are absent,
// each file's shape is beside its hash, and the training params are kept.
func TestFilesRecordWhatRan(t *testing.T) {
	dir := t.TempDir()
	csv, err := plugin{}.SampleData(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(9, 9))
	pair, err := datasets.GenerateEOT(datasets.EOTMixtureConfig(3, 1, false), r)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := datasets.WriteEOTBenchmark(&buf, &datasets.EOTBenchmark{Pair: pair, TestInputs: pair.SampleSource(30, r)}); err != nil {
		t.Fatal(err)
	}
	bench := filepath.Join(dir, "pair.json")
	if err := os.WriteFile(bench, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		data   []string
		params map[string]any
		shapes []map[string]any
		note   string
	}{
		{"csv pair", csv, nil, []map[string]any{
			{"rows": sampleSourceRows, "dim": sampleDim},
			{"rows": sampleTargetRows, "dim": sampleDim},
		}, "test_points and samples_per_x did not apply"},
		{"benchmark pair", []string{bench}, map[string]any{ParamEpsilon: 1.0}, []map[string]any{
			{"dim": 3, "source_components": len(pair.Source.Weights), "potential_components": len(pair.Potential.Weights), "test_inputs": 30},
		}, "on the first 20 of the pair file's 30 test inputs"},
	} {
		res, err := kernel.Run(context.Background(), "sb.light", kernel.Options{Params: withParams(tc.params), Data: tc.data})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, k := range []string{ParamSource, ParamDim, ParamRotated} {
			if v, ok := res.Params[k]; ok {
				t.Errorf("%s: params record the generator param %s = %v", tc.name, k, v)
			}
		}
		for _, k := range []string{ParamK, ParamEpsilon, ParamSteps, ParamTestPoints} {
			if _, ok := res.Params[k]; !ok {
				t.Errorf("%s: params lack %s", tc.name, k)
			}
		}
		if len(res.Provenance.Data) != len(tc.shapes) {
			t.Fatalf("%s: %d data records, want %d", tc.name, len(res.Provenance.Data), len(tc.shapes))
		}
		for i, want := range tc.shapes {
			got := res.Provenance.Data[i].Shape
			if len(got) != len(want) {
				t.Errorf("%s: file %d shape %v, want %v", tc.name, i, got, want)
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s: file %d shape[%s] = %v, want %v", tc.name, i, k, got[k], v)
				}
			}
		}
		notes := strings.Join(res.Notes, "\n")
		for _, want := range []string{"generator params dim, rotated, source did not apply", tc.note} {
			if !strings.Contains(notes, want) {
				t.Errorf("%s: notes %q lack %q", tc.name, notes, want)
			}
		}
	}
	d, err := kernel.Describe("sb.light")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(d, "[generated data only: ignored with --data]"); n != 3 {
		t.Errorf("describe tags %d params as generated-data only, want 3 (source, dim, rotated)", n)
	}
}
