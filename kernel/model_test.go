package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// meanModel is a toy model: the mean of the numbers it was trained on,
// saved as a JSON file of its own.
type meanModel struct{ Mean float64 }

func (m *meanModel) Kind() string             { return "a mean" }
func (m *meanModel) Shapes() map[string][]int { return map[string][]int{"mean": {}} }
func (m *meanModel) Save(dir string) error {
	b, _ := json.Marshal(m)
	return os.WriteFile(filepath.Join(dir, "mean.json"), b, 0o644)
}

// Score reports the mean squared error of the model on the file's numbers.
func (m *meanModel) Score(job *Job) error {
	xs, err := readNumbers(job.Data[0])
	if err != nil {
		return err
	}
	var se float64
	for _, x := range xs {
		se += (x - m.Mean) * (x - m.Mean)
	}
	job.SetFinal("mse", se/float64(len(xs)))
	job.SetFinal("scale", job.Params.Float("scale"))
	return nil
}

// Sample draws n values mean + scale·u, u uniform in [0, 1).
func (m *meanModel) Sample(job *Job, n int) error {
	r := job.Rand()
	t := job.AddTable("samples", "y")
	for range n {
		t.Add(m.Mean + job.Params.Float("scale")*r.Float64())
	}
	return nil
}

type meanPlugin struct{ info Info }

func (p meanPlugin) Info() Info { return p.info }
func (p meanPlugin) Run(job *Job) error {
	var xs []float64
	if len(job.Data) > 0 {
		var err error
		if xs, err = readNumbers(job.Data[0]); err != nil {
			return err
		}
	} else {
		xs = []float64{1, 2, 3, 4}
	}
	start := 0.0
	if init := job.InitModel(); init != nil {
		m, ok := init.(*meanModel)
		if !ok {
			return errors.New("not a mean model")
		}
		start = m.Mean
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	m := &meanModel{Mean: (s + start) / float64(len(xs))}
	job.SetFinal("mean", m.Mean)
	job.SetModel(m)
	return nil
}

func (p meanPlugin) LoadModel(dir string, man *Manifest, backend string) (Model, error) {
	b, err := os.ReadFile(filepath.Join(dir, "mean.json"))
	if err != nil {
		return nil, err
	}
	m := &meanModel{}
	return m, json.Unmarshal(b, m)
}

func readNumbers(path string) ([]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var xs []float64
	for _, f := range strings.Fields(string(b)) {
		x, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil, err
		}
		xs = append(xs, x)
	}
	return xs, nil
}

func registerMean(t *testing.T, id string, init string) {
	info := Info{ID: id, Model: "the mean", Init: init, Data: []DataFormat{{Name: "numbers"}},
		Params: []Param{FloatParam("scale", 1, 0, 10, "sample spread")}}
	Register(meanPlugin{info})
	t.Cleanup(func() { unregister(id) })
}

func TestModelSaveLoadScoreSample(t *testing.T) {
	registerMean(t, "toy.mean", "the mean is added to the data's sum")
	ctx := context.Background()
	dir := t.TempDir()
	data := filepath.Join(dir, "xs.txt")
	os.WriteFile(data, []byte("2 4 6\n"), 0o644)

	res, err := Run(ctx, "toy.mean", Options{Data: []string{data}, Params: map[string]any{"seed": 7, "scale": 2.0}})
	if err != nil {
		t.Fatal(err)
	}
	mdir := filepath.Join(dir, "model")
	if err := SaveModel(res, mdir); err != nil {
		t.Fatal(err)
	}
	l, err := Load(mdir)
	if err != nil {
		t.Fatal(err)
	}
	man := l.Manifest
	if man.Plugin != "toy.mean" || man.Seed != 7 || man.Kind != "a mean" || len(man.Data) != 1 || man.Data[0].SHA256 == "" || man.Final["mean"] != 4 {
		t.Errorf("manifest %+v", man)
	}
	if l.Model.(*meanModel).Mean != 4 {
		t.Errorf("loaded mean %v, want 4", l.Model.(*meanModel).Mean)
	}
	// Score: the trained params apply unless overridden; the model is recorded.
	sc, err := l.Score(ctx, Options{Data: []string{data}})
	if err != nil {
		t.Fatal(err)
	}
	if sc.Final["mse"] != 8.0/3 || sc.Final["scale"] != 2 || sc.Seed != 7 {
		t.Errorf("score finals %v seed %d", sc.Final, sc.Seed)
	}
	if sc.Provenance.Model == nil || sc.Provenance.Model.Dir != mdir || sc.Provenance.Model.ManifestSHA256 == "" {
		t.Errorf("score provenance %+v", sc.Provenance.Model)
	}
	sc, err = l.Score(ctx, Options{Data: []string{data}, Params: map[string]any{"scale": "3"}})
	if err != nil || sc.Final["scale"] != 3 {
		t.Errorf("override: %v %v", sc.Final, err)
	}
	// Sample: seeded, the same from memory and from disk.
	mem, _ := LoadedOf(res)
	a, err := mem.Sample(ctx, 5, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := l.Sample(ctx, 5, Options{})
	ja, _ := json.Marshal(a.Tables)
	jb, _ := json.Marshal(b.Tables)
	if string(ja) != string(jb) || len(a.Tables["samples"].Rows) != 5 {
		t.Errorf("samples differ or wrong count:\n%s\n%s", ja, jb)
	}
	// Init: the saved mean starts the next run.
	res2, err := Run(ctx, "toy.mean", Options{Data: []string{data}, Init: mdir})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Final["mean"] != (12.0+4)/3 || res2.Provenance.Init == nil || res2.Provenance.Init.Plugin != "toy.mean" {
		t.Errorf("init run: %v %+v", res2.Final, res2.Provenance.Init)
	}
	js, _ := json.Marshal(res2)
	if !strings.Contains(string(js), `"init":{"dir":`) {
		t.Errorf("result JSON does not record the init model: %s", js)
	}
}

func TestModelUsageErrors(t *testing.T) {
	registerMean(t, "toy.meannoinit", "")
	ctx := context.Background()
	dir := t.TempDir()
	res, err := Run(ctx, "toy.meannoinit", Options{})
	if err != nil {
		t.Fatal(err)
	}
	mdir := filepath.Join(dir, "m")
	if err := SaveModel(res, mdir); err != nil {
		t.Fatal(err)
	}
	var mu *ModelUsageError
	if _, err := Run(ctx, "toy.meannoinit", Options{Init: mdir}); !errors.As(err, &mu) || !strings.Contains(err.Error(), "cannot start from a saved model") {
		t.Errorf("init to a plugin that cannot: %v", err)
	}
	l, _ := Load(mdir)
	if _, err := l.Score(ctx, Options{}); !errors.As(err, &mu) || !strings.Contains(err.Error(), "--data") {
		t.Errorf("score without data: %v", err)
	}
	if _, err := l.Sample(ctx, 0, Options{}); !errors.As(err, &mu) {
		t.Errorf("sample n=0: %v", err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "is not a saved model") {
		t.Errorf("load of a non-model dir: %v", err)
	}
	// A manifest of a plugin nobody registered names the lookup problem.
	os.WriteFile(filepath.Join(mdir, ManifestFile), []byte(`{"format":"alignlab.model/1","plugin":"gone.away"}`), 0o644)
	if _, err := Load(mdir); err == nil || !strings.Contains(err.Error(), "gone.away") {
		t.Errorf("load of an unknown plugin's model: %v", err)
	}
	os.WriteFile(filepath.Join(mdir, ManifestFile), []byte(`{"format":"other/2","plugin":"toy.meannoinit"}`), 0o644)
	if _, err := Load(mdir); err == nil || !strings.Contains(err.Error(), `format "other/2"`) {
		t.Errorf("load of another format: %v", err)
	}
	if err := SaveModel(&Result{Plugin: "x.y"}, mdir); !errors.As(err, &mu) {
		t.Errorf("SaveModel without a model: %v", err)
	}
	// Register refuses a plugin that declares a model it cannot load.
	if msg := panicText(func() { Register(regPlugin{Info{ID: "toy.noloader", Model: "x"}, nil}) }); !strings.Contains(msg, "no ModelLoader") {
		t.Errorf("Register of a Model without a loader: %q", msg)
	}
}
