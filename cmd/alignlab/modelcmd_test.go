package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/kernel"
)

// TestModelCommands follows a saved model through the command line: run
// --out writes OUT/model, score measures it on new battles, run --model
// starts from it, and the usage errors name what is wrong.
func TestModelCommands(t *testing.T) {
	dir := t.TempDir()
	battles := filepath.Join(dir, "battles.jsonl")
	var b strings.Builder
	for i, w := range []string{"model_a", "model_a", "model_b", "tie", "model_a", "model_b", "model_a"} {
		pair := [][2]string{{"x", "y"}, {"y", "z"}, {"x", "z"}}[i%3]
		b.WriteString(`{"model_a":"` + pair[0] + `","model_b":"` + pair[1] + `","winner":"` + w + "\"}\n")
	}
	os.WriteFile(battles, []byte(b.String()), 0o644)
	out := filepath.Join(dir, "out")
	code, _, errs := call(t, "run", "bt.ratings", "--data", battles, "--set", "bootstrap_rounds=0", "--out", out)
	if code != 0 {
		t.Fatalf("run: exit %d: %s", code, errs)
	}
	model := filepath.Join(out, "model")
	if !strings.Contains(errs, model+"/") {
		t.Errorf("run --out does not say it wrote %s: %q", model, errs)
	}
	man, _, err := kernel.ReadManifest(model)
	if err != nil {
		t.Fatal(err)
	}
	if man.Plugin != "bt.ratings" || len(man.Data) != 1 || man.Data[0].Path != battles || len(man.Shapes) == 0 {
		t.Errorf("manifest %+v", man)
	}

	// score: the scores of the training battles, as JSON and as CSV files.
	sdir := filepath.Join(dir, "scored")
	code, js, errs := call(t, "score", "bt.ratings", "--model", model, "--data", battles, "--json", "--out", sdir)
	if code != 0 {
		t.Fatalf("score: exit %d: %s", code, errs)
	}
	var res kernel.Result
	if err := json.Unmarshal([]byte(js), &res); err != nil {
		t.Fatal(err)
	}
	if res.Plugin != "bt.ratings" || res.Provenance.Model == nil || res.Provenance.Model.Dir != model || len(res.Final) == 0 {
		t.Errorf("score result: plugin %s, model %+v, final %v", res.Plugin, res.Provenance.Model, res.Final)
	}
	for _, name := range res.TableNames() {
		f, err := os.Open(filepath.Join(sdir, name+".csv"))
		if err != nil {
			t.Fatalf("score --out: %v", err)
		}
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil || len(rows) != len(res.Tables[name].Rows)+1 {
			t.Errorf("%s.csv: %d lines, %v; want a header and %d rows", name, len(rows), err, len(res.Tables[name].Rows))
		}
	}

	// run --model: recorded as the run's start.
	code, js, errs = call(t, "run", "bt.ratings", "--data", battles, "--set", "bootstrap_rounds=0", "--model", model, "--json")
	if code != 0 {
		t.Fatalf("run --model: exit %d: %s", code, errs)
	}
	res = kernel.Result{}
	json.Unmarshal([]byte(js), &res)
	if res.Provenance.Init == nil || res.Provenance.Init.Dir != model {
		t.Errorf("run --model records init %+v", res.Provenance.Init)
	}

	// sample: sb.light's full-dimensional y | x at the user's x, as the issue types it.
	x0, x1, xs := filepath.Join(dir, "x0.csv"), filepath.Join(dir, "x1.csv"), filepath.Join(dir, "xs.csv")
	var src, tgt strings.Builder
	src.WriteString("a,b,c,d\n")
	tgt.WriteString("a,b,c,d\n")
	for i := range 60 {
		u := float64(i%7)/3 - 1
		v := float64(i%5)/2 - 1
		fmt.Fprintf(&src, "%g,%g,%g,%g\n", u, v, -u, u*v)
		fmt.Fprintf(&tgt, "%g,%g,%g,%g\n", 1+v/2, 1-u/2, 1+u*v/2, 1+v/3)
	}
	os.WriteFile(x0, []byte(src.String()), 0o644)
	os.WriteFile(x1, []byte(tgt.String()), 0o644)
	os.WriteFile(xs, []byte("a,b,c,d\n0,0,0,0\n1,-1,0.5,2\n"), 0o644)
	sbOut := filepath.Join(dir, "sb")
	code, _, errs = call(t, "run", "sb.light", "--data", x0, "--data", x1, "--set", "steps=10", "--set", "components=4",
		"--set", "batch_size=16", "--set", "test_points=5", "--set", "samples_per_x=5", "--out", sbOut)
	if code != 0 {
		t.Fatalf("run sb.light: exit %d: %s", code, errs)
	}
	draws := filepath.Join(dir, "draws")
	code, _, errs = call(t, "sample", "sb.light", "--model", filepath.Join(sbOut, "model"), "--x", xs, "--n", "1000", "--out", draws)
	if code != 0 {
		t.Fatalf("sample sb.light: exit %d: %s", code, errs)
	}
	f, err := os.Open(filepath.Join(draws, "samples.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 2*1000+1 {
		t.Fatalf("samples.csv: %d lines (%v), want a header and 2 × 1000 draws", len(rows), err)
	}
	ys := 0
	for _, c := range rows[0] {
		if strings.HasPrefix(c, "y") {
			ys++
		}
	}
	if ys != 4 {
		t.Errorf("samples.csv columns %v: want all 4 coordinates of y", rows[0])
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"score", "bt.ratings", "--data", battles}, "score wants --model DIR"},
		{[]string{"score", "bt.ratings", "--model", model}, "score wants --data FILE"},
		{[]string{"score", "bt.reward", "--model", model, "--data", battles}, "holds a bt.ratings model"},
		{[]string{"score", "bt.ratings", "--model", dir, "--data", battles}, "is not a saved model"},
		{[]string{"sample", "bt.ratings", "--model", model, "--n", "0"}, `--n "0": want a whole number`},
		{[]string{"run", "bt.compare", "--model", model}, "cannot start from a saved model"},
		{[]string{"run", "bt.ratings", "--n", "3"}, "unknown flag"},
	} {
		code, _, errs := call(t, tt.args...)
		if code != exitUsage || !strings.Contains(errs, tt.want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and one line with %q", tt.args, code, errs, exitUsage, tt.want)
		}
	}
}
