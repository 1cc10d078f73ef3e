package kernel

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratorParamsLeftOutWithData: with --data a run records only the
// params that took effect, says which it left out, and keeps the shape the
// plugin read beside the file's hash; without data, every param is kept.
func TestGeneratorParamsLeftOutWithData(t *testing.T) {
	info := Info{ID: "rec.toy", Summary: "toy", Params: append([]Param{FloatParam("beta", 1, 0, 10, "applies always")},
		Generators(IntParam("dim", 2, 1, 10, "generated data only"), IntParam("rows", 5, 1, 100, "generated data only"))...),
		Data: []DataFormat{{Name: "rows", Doc: "one number a line"}}}
	registerTemp(t, info, func(j *Job) error {
		if len(j.Data) > 0 {
			j.DataShape(0, "rows", 3, "dim", 1)
		}
		return nil
	})
	path := filepath.Join(t.TempDir(), "x.txt")
	if err := os.WriteFile(path, []byte("1\n2\n3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), "rec.toy", Options{Params: map[string]any{"dim": 4}, Data: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"dim", "rows"} {
		if _, ok := res.Params[k]; ok {
			t.Errorf("with --data the result records the generator param %s", k)
		}
	}
	if _, ok := res.Params["beta"]; !ok {
		t.Error("beta, which applies to data too, is missing")
	}
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "dim, rows did not apply") {
		t.Errorf("notes %q: want one naming dim, rows", res.Notes)
	}
	if sh := res.Provenance.Data[0].Shape; sh["rows"] != 3 || sh["dim"] != 1 || res.Provenance.Data[0].SHA256 == "" {
		t.Errorf("data provenance %+v: want the hash and the shape rows 3, dim 1", res.Provenance.Data[0])
	}
	res, err = Run(context.Background(), "rec.toy", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Params["dim"] != int64(2) || res.Params["rows"] != int64(5) || len(res.Notes) != 0 {
		t.Errorf("without data: params %v, notes %q", res.Params, res.Notes)
	}
	d, err := Describe("rec.toy")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(d, "[generated data only: ignored with --data]") != 2 {
		t.Errorf("describe does not tag the two generator params:\n%s", d)
	}
}
