package artifact

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSaveLoadRoundTripsBitForBit(t *testing.T) {
	dir := t.TempDir()
	w := Weights{
		"theta":   F64([]float64{1.5, -2.25, math.Pi, math.SmallestNonzeroFloat64, -0.0}),
		"mlp/w0":  F32([]float32{1, 2, 3, 4, 5, 6}, 2, 3),
		"mlp/b0":  F64([]float64{0.1, 0.2}, 2),
		"tau":     Scalar(0.125),
		"big/x/y": F64(make([]float64, 12), 2, 2, 3),
	}
	if err := Save(dir, w); err != nil {
		t.Fatal(err)
	}
	// A second save replaces the first: one checkpoint, not a history.
	if err := Save(dir, w); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Names(), w.Names()) {
		t.Fatalf("names %v, want %v", got.Names(), w.Names())
	}
	for _, name := range w.Names() {
		a, b := w[name], got[name]
		if !slices.Equal(a.Shape, b.Shape) {
			t.Errorf("%s: shape %v, want %v", name, b.Shape, a.Shape)
		}
		if (a.F64 == nil) != (b.F64 == nil) || (a.F32 == nil) != (b.F32 == nil) {
			t.Errorf("%s: dtype changed", name)
		}
		for i := range a.F64 {
			if math.Float64bits(a.F64[i]) != math.Float64bits(b.F64[i]) {
				t.Errorf("%s[%d] = %v, want %v (bit for bit)", name, i, b.F64[i], a.F64[i])
			}
		}
		if !slices.Equal(a.F32, b.F32) {
			t.Errorf("%s: %v, want %v", name, b.F32, a.F32)
		}
	}
	if _, err := got.Need("mlp/w0", 2, -1); err != nil {
		t.Error(err)
	}
	if _, err := got.Need("mlp/w0", 3, 2); err == nil {
		t.Error("Need accepted a wrong shape")
	}
	if _, err := got.Need("nope"); err == nil {
		t.Error("Need accepted a missing array")
	}
}

func TestLoadEmptyDirFails(t *testing.T) {
	if _, err := Load(t.TempDir()); err == nil {
		t.Fatal("Load of a directory without weights succeeded")
	}
}

func TestBadTensorIsAnError(t *testing.T) {
	err := Save(t.TempDir(), Weights{"x": {Shape: []int{3}, F64: []float64{1, 2}}})
	if err == nil {
		t.Fatal("Save accepted 2 values for shape [3]")
	}
}

func TestFacts(t *testing.T) {
	type facts struct {
		Dim   int      `json:"dim"`
		Names []string `json:"names"`
	}
	dir := t.TempDir()
	if err := ReadFacts(dir, &facts{}); err == nil || !strings.Contains(err.Error(), "holds no model.json") {
		t.Errorf("missing facts: %v", err)
	}
	want := facts{Dim: 3, Names: []string{"a", "b"}}
	if err := WriteFacts(dir, want); err != nil {
		t.Fatal(err)
	}
	var got facts
	if err := ReadFacts(dir, &got); err != nil || got.Dim != 3 || !slices.Equal(got.Names, want.Names) {
		t.Errorf("read back %+v, %v", got, err)
	}
	os.WriteFile(filepath.Join(dir, FactsFile), []byte(`{"dim":3,"extra":1}`), 0o644)
	if err := ReadFacts(dir, &got); err == nil || !strings.Contains(err.Error(), `unknown field "extra"`) {
		t.Errorf("unknown field: %v", err)
	}
}
