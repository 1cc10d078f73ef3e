// Package modeltest checks a plugin's saved models in its own tests: a run
// trains a model, SaveModel writes it, kernel.Load reads it back, and the
// loaded model scores (or samples) exactly as the model in memory did.
package modeltest

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/alignlab/alignlab/kernel"
)

// Train runs id with params (and data) and returns its result, failing the
// test when the run fails or hands back no model.
func Train(t testing.TB, id string, params map[string]any, data ...string) *kernel.Result {
	t.Helper()
	res, err := kernel.Run(context.Background(), id, kernel.Options{Params: params, Data: data})
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	if res.Model == nil {
		t.Fatalf("%s: the run handed back no model (Job.SetModel)", id)
	}
	return res
}

// Save writes res's model into a fresh temporary directory and returns it.
func Save(t testing.TB, res *kernel.Result) string {
	t.Helper()
	dir := t.TempDir() + "/model"
	if err := kernel.SaveModel(res, dir); err != nil {
		t.Fatalf("%s: SaveModel: %v", res.Plugin, err)
	}
	return dir
}

// Pair is a model in memory and the same model saved and loaded back.
type Pair struct {
	Memory, Loaded *kernel.Loaded
	Dir            string
}

// RoundTrip saves res's model, loads it back and checks the manifest.
func RoundTrip(t testing.TB, res *kernel.Result) Pair {
	t.Helper()
	mem, err := kernel.LoadedOf(res)
	if err != nil {
		t.Fatal(err)
	}
	dir := Save(t, res)
	l, err := kernel.Load(dir)
	if err != nil {
		t.Fatalf("%s: Load(%s): %v", res.Plugin, dir, err)
	}
	if l.Manifest.Plugin != res.Plugin || l.Manifest.Seed != res.Seed {
		t.Errorf("%s: manifest says plugin %s seed %d", res.Plugin, l.Manifest.Plugin, l.Manifest.Seed)
	}
	if got, want := l.Model.Kind(), res.Model.Kind(); got != want {
		t.Errorf("%s: loaded kind %q, want %q", res.Plugin, got, want)
	}
	if a, b := fmtShapes(l.Model.Shapes()), fmtShapes(res.Model.Shapes()); a != b {
		t.Errorf("%s: loaded shapes %s, want %s", res.Plugin, a, b)
	}
	return Pair{Memory: mem, Loaded: l, Dir: dir}
}

// Score scores data with both models and fails unless the results are the
// same byte for byte (canonical JSON, the model reference aside). It
// returns the loaded model's result.
func (p Pair) Score(t testing.TB, params map[string]any, data ...string) *kernel.Result {
	t.Helper()
	ctx := context.Background()
	a, err := p.Memory.Score(ctx, kernel.Options{Params: params, Data: data})
	if err != nil {
		t.Fatalf("%s: score with the model in memory: %v", p.Memory.Manifest.Plugin, err)
	}
	b, err := p.Loaded.Score(ctx, kernel.Options{Params: params, Data: data})
	if err != nil {
		t.Fatalf("%s: score with the loaded model: %v", p.Memory.Manifest.Plugin, err)
	}
	Same(t, a, b)
	return b
}

// Sample samples with both models and fails unless the results are the
// same byte for byte. It returns the loaded model's result.
func (p Pair) Sample(t testing.TB, n int, params map[string]any, data ...string) *kernel.Result {
	t.Helper()
	ctx := context.Background()
	a, err := p.Memory.Sample(ctx, n, kernel.Options{Params: params, Data: data})
	if err != nil {
		t.Fatalf("%s: sample with the model in memory: %v", p.Memory.Manifest.Plugin, err)
	}
	b, err := p.Loaded.Sample(ctx, n, kernel.Options{Params: params, Data: data})
	if err != nil {
		t.Fatalf("%s: sample with the loaded model: %v", p.Memory.Manifest.Plugin, err)
	}
	Same(t, a, b)
	return b
}

// Same fails unless a and b have the same canonical JSON once the model
// reference (which names where each model came from) is set aside.
func Same(t testing.TB, a, b *kernel.Result) {
	t.Helper()
	ja, jb := canonical(t, a), canonical(t, b)
	if !bytes.Equal(ja, jb) {
		i := 0
		for i < len(ja) && i < len(jb) && ja[i] == jb[i] {
			i++
		}
		lo := max(i-120, 0)
		t.Fatalf("%s: the loaded model's result differs from the one in memory at byte %d:\nmemory: …%s…\nloaded: …%s…",
			a.Plugin, i, ja[lo:min(i+120, len(ja))], jb[lo:min(i+120, len(jb))])
	}
}

func canonical(t testing.TB, r *kernel.Result) []byte {
	t.Helper()
	c := *r
	c.Provenance.Model = nil
	b, err := c.CanonicalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fmtShapes(m map[string][]int) string {
	var b bytes.Buffer
	for _, k := range slices.Sorted(maps.Keys(m)) {
		b.WriteString(k)
		for _, d := range m[k] {
			b.WriteByte(' ')
			b.WriteString(strconv.Itoa(d))
		}
		b.WriteByte(';')
	}
	return b.String()
}

// OtherID is a plugin this package registers (on the first OtherModel) whose
// model is a constant that no family reads: the bad-input tests load it
// where their own model is wanted.
const OtherID = "modeltest.other"

// OtherKind is the Kind of OtherID's model, which errors name.
const OtherKind = "a constant"

type otherModel struct{}

func (otherModel) Kind() string             { return OtherKind }
func (otherModel) Shapes() map[string][]int { return map[string][]int{} }
func (otherModel) Save(string) error        { return nil }

type otherPlugin struct{}

func (otherPlugin) Info() kernel.Info {
	return kernel.Info{ID: OtherID, Summary: "a plugin of the tests whose model is no family's", Model: OtherKind}
}
func (otherPlugin) Run(job *kernel.Job) error { job.SetModel(otherModel{}); return nil }
func (otherPlugin) LoadModel(string, *kernel.Manifest, string) (kernel.Model, error) {
	return otherModel{}, nil
}

var registerOther sync.Once

// OtherModel saves a model of OtherID and returns its directory. The plugin
// is registered only then, so that the tests that run every plugin do not
// meet it.
func OtherModel(t testing.TB) string {
	t.Helper()
	registerOther.Do(func() { kernel.Register(otherPlugin{}) })
	return Save(t, Train(t, OtherID, nil))
}

// Tamper saves res's model into a fresh directory, decodes its JSON file
// name (a model's facts file) into an F, lets edit change it and writes it
// back: a saved model whose facts disagree with its arrays, for the
// bad-input tests. It returns the directory.
func Tamper[F any](t testing.TB, res *kernel.Result, name string, edit func(*F)) string {
	t.Helper()
	dir := Save(t, res)
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f F
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	edit(&f)
	if b, err = json.Marshal(f); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
