// Package artifact writes and reads the arrays of a trained model in
// GoMLX's checkpoint format, for the plugins' kernel.Model implementations.
//
// A model is a set of named arrays (Weights): a plugin's Save turns its
// fields (ratings, θ, MLP layers, mixture weights, tabular policies…) into
// Weights and calls Save; its ModelLoader calls Load and turns them back.
// The files are GoMLX's own (dir/weights/checkpoint-*.{json,bin}), so a
// model trained as GoMLX variables can be loaded into a model.Store by
// GoMLX itself (Into); values round-trip bit for bit, float64 as float64
// and float32 as float32.
package artifact

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
)

// WeightsDir is the folder, inside a model's directory, of its checkpoint.
const WeightsDir = "weights"

// Tensor is one array of a model, in row-major order: exactly one of F64
// and F32 is set, with as many values as the product of Shape (a scalar has
// an empty Shape and one value).
type Tensor struct {
	Shape []int
	F64   []float64
	F32   []float32
}

// F64 returns a float64 tensor of data with the given dimensions (none for
// a vector of len(data)).
func F64(data []float64, dims ...int) Tensor {
	if len(dims) == 0 {
		dims = []int{len(data)}
	}
	return Tensor{Shape: slices.Clone(dims), F64: slices.Clone(data)}
}

// F32 is F64 for float32 data.
func F32(data []float32, dims ...int) Tensor {
	if len(dims) == 0 {
		dims = []int{len(data)}
	}
	return Tensor{Shape: slices.Clone(dims), F32: slices.Clone(data)}
}

// In returns t's values as an array of dt (float32 or float64): t itself
// when it already is one (from float32 to float64 exactly, rounded the
// other way).
func (t Tensor) In(dt dtypes.DType) Tensor {
	switch {
	case dt == dtypes.Float32 && t.F32 != nil, dt != dtypes.Float32 && t.F64 != nil:
		return t
	case dt == dtypes.Float32:
		v := make([]float32, len(t.F64))
		for i, x := range t.F64 {
			v[i] = float32(x)
		}
		return Tensor{Shape: t.Shape, F32: v}
	}
	return Tensor{Shape: t.Shape, F64: t.Floats()}
}

// Scalar is a float64 tensor of one value and no dimensions.
func Scalar(v float64) Tensor { return Tensor{Shape: []int{}, F64: []float64{v}} }

// Len is the number of values the shape holds.
func (t Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Weights are a model's named arrays. Names are slash-separated paths
// ("theta", "mlp/w0"), the variable paths of the checkpoint.
type Weights map[string]Tensor

// Shapes returns each array's dimensions, for kernel.Model.Shapes.
func (w Weights) Shapes() map[string][]int {
	out := make(map[string][]int, len(w))
	for k, t := range w {
		out[k] = slices.Clone(t.Shape)
	}
	return out
}

// Names returns the array names, sorted.
func (w Weights) Names() []string {
	names := make([]string, 0, len(w))
	for k := range w {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Need returns the array name, checked to have the given dimensions (any
// length for a -1), or an error naming the model and the array.
func (w Weights) Need(name string, dims ...int) (Tensor, error) {
	t, ok := w[name]
	if !ok {
		return t, fmt.Errorf("saved model has no array %q (it has %s)", name, strings.Join(w.Names(), ", "))
	}
	ok = len(t.Shape) == len(dims)
	for i := 0; ok && i < len(dims); i++ {
		ok = dims[i] < 0 || dims[i] == t.Shape[i]
	}
	if !ok {
		return t, fmt.Errorf("saved model: array %q has shape %v, want %v", name, t.Shape, dims)
	}
	return t, nil
}

// Floats returns the array's values as float64 (a copy).
func (t Tensor) Floats() []float64 {
	if t.F64 != nil {
		return slices.Clone(t.F64)
	}
	out := make([]float64, len(t.F32))
	for i, v := range t.F32 {
		out[i] = float64(v)
	}
	return out
}

func (t Tensor) tensor(name string) (*tensors.Tensor, error) {
	switch {
	case t.F64 != nil && t.F32 == nil && len(t.F64) == t.Len():
		return tensors.FromFlatDataAndDimensions(t.F64, t.Shape...), nil
	case t.F32 != nil && t.F64 == nil && len(t.F32) == t.Len():
		return tensors.FromFlatDataAndDimensions(t.F32, t.Shape...), nil
	}
	return nil, fmt.Errorf("artifact: array %q: want exactly one of F64 and F32 with %d values (shape %v)", name, t.Len(), t.Shape)
}

func fromTensor(v *tensors.Tensor) (Tensor, error) {
	sh := v.Shape()
	out := Tensor{Shape: slices.Clone(sh.Dimensions)}
	if out.Shape == nil {
		out.Shape = []int{}
	}
	var err error
	switch sh.DType {
	case dtypes.Float64:
		out.F64, err = tensors.CopyFlatData[float64](v)
	case dtypes.Float32:
		out.F32, err = tensors.CopyFlatData[float32](v)
	default:
		err = fmt.Errorf("dtype %s, want float64 or float32", sh.DType)
	}
	return out, err
}

// skip tells the checkpoint's own bookkeeping (GoMLX's global step) from
// the model's arrays.
func skip(p string) bool { return strings.TrimPrefix(p, "/") == "global_step" }

func path(name string) string { return "/" + strings.TrimPrefix(name, "/") }

// Save writes w into dir/weights as a GoMLX checkpoint.
func Save(dir string, w Weights) (err error) {
	defer catch(&err)
	store := model.NewStore()
	for _, name := range w.Names() {
		t, err := w[name].tensor(name)
		if err != nil {
			return err
		}
		if _, err := store.CreateVariable(path(name), t); err != nil {
			return fmt.Errorf("artifact: array %q: %w", name, err)
		}
	}
	wd := filepath.Join(dir, WeightsDir)
	if err := os.RemoveAll(wd); err != nil { // one checkpoint: the model, not a history
		return err
	}
	h, err := checkpoint.Build(store).Dir(wd).Keep(1).Done()
	if err != nil {
		return fmt.Errorf("artifact: save %s: %w", dir, err)
	}
	if err := h.Save(); err != nil {
		return fmt.Errorf("artifact: save %s: %w", dir, err)
	}
	return nil
}

// Load reads the arrays Save wrote into dir/weights.
func Load(dir string) (w Weights, err error) {
	defer catch(&err)
	wd := filepath.Join(dir, WeightsDir)
	if st, err := os.Stat(wd); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("artifact: %s holds no %s/ checkpoint", dir, WeightsDir)
	}
	store := model.NewStore()
	h, err := checkpoint.Load(store).Dir(wd).Immediate().Done()
	if err != nil {
		return nil, fmt.Errorf("artifact: load %s: %w", dir, err)
	}
	w = Weights{}
	for p, v := range h.LoadedVariables() {
		if skip(p) {
			continue
		}
		t, err := fromTensor(v)
		if err != nil {
			return nil, fmt.Errorf("artifact: load %s: array %q: %w", dir, p, err)
		}
		w[strings.TrimPrefix(p, "/")] = t
	}
	for v := range store.IterVariables() {
		name := strings.TrimPrefix(v.Path(), "/")
		if _, ok := w[name]; ok || skip(v.Path()) {
			continue
		}
		val, err := v.Value()
		if err != nil {
			return nil, err
		}
		if w[name], err = fromTensor(val); err != nil {
			return nil, fmt.Errorf("artifact: load %s: array %q: %w", dir, name, err)
		}
	}
	if len(w) == 0 {
		return nil, fmt.Errorf("artifact: %s: the checkpoint holds no arrays", dir)
	}
	return w, nil
}

// FromStore copies the variables of a GoMLX store whose paths keep
// accepts (nil: all) into Weights, named by their paths without the
// leading slash.
func FromStore(store *model.Store, keep func(path string) bool) (Weights, error) {
	w := Weights{}
	for v := range store.IterVariables() {
		if keep != nil && !keep(v.Path()) {
			continue
		}
		val, err := v.Value()
		if err != nil {
			return nil, fmt.Errorf("artifact: variable %s: %w", v.Path(), err)
		}
		t, err := fromTensor(val)
		if err != nil {
			return nil, fmt.Errorf("artifact: variable %s: %w", v.Path(), err)
		}
		w[strings.TrimPrefix(v.Path(), "/")] = t
	}
	return w, nil
}

// Into sets the value of every array of w as a variable of store (created
// if missing), for a model that trains or scores as GoMLX variables.
func (w Weights) Into(store *model.Store) (err error) {
	defer catch(&err)
	for _, name := range w.Names() {
		t, err := w[name].tensor(name)
		if err != nil {
			return err
		}
		if v := store.GetVariable(path(name)); v != nil {
			if err := v.SetValue(t); err != nil {
				return fmt.Errorf("artifact: variable %s: %w", name, err)
			}
			continue
		}
		if _, err := store.CreateVariable(path(name), t); err != nil {
			return fmt.Errorf("artifact: variable %s: %w", name, err)
		}
	}
	return nil
}

// catch turns a GoMLX panic into an error.
func catch(err *error) {
	if r := recover(); r != nil {
		if e, ok := r.(error); ok {
			*err = fmt.Errorf("artifact: %w", e)
			return
		}
		*err = fmt.Errorf("artifact: %v", r)
	}
}

// FactsFile is the small JSON file a model saves beside its arrays: what it
// needs to be rebuilt (names, dimensions, settings), read before the arrays
// so that their shapes can be checked against it.
const FactsFile = "model.json"

// WriteFacts writes facts as indented JSON into dir/FactsFile.
func WriteFacts(dir string, facts any) error {
	b, err := json.MarshalIndent(facts, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, FactsFile), append(b, '\n'), 0o644)
}

// ReadFacts decodes dir/FactsFile into facts, refusing fields facts does not
// have; errors name the file, and a missing one says that dir is not a saved
// model of this kind.
func ReadFacts(dir string, facts any) error {
	path := filepath.Join(dir, FactsFile)
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s holds no %s (the facts its model is rebuilt from)", dir, FactsFile)
		}
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(facts); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
