package fit

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/alignlab/alignlab/kernel"
)

// ParamDType (choice, default "auto"): the float type of a plugin's model
// and training graph, one of DTypes. "auto" is the plugin's own choice,
// which its describe text states: float32 for neural models (an MLP
// policy or reward model), float64 for exact testbeds and closed-form
// checks. Inputs, metrics and saved scalars stay float64 in Go.
const ParamDType = "dtype"

// The values of ParamDType.
const (
	DTypeAuto    = "auto"
	DTypeFloat32 = "float32"
	DTypeFloat64 = "float64"
)

// DTypes lists the values ParamDType takes.
var DTypes = []string{DTypeAuto, DTypeFloat32, DTypeFloat64}

// DTypeParam declares ParamDType; auto says what "auto" picks for this
// plugin (e.g. "float32 for the MLP policy, float64 for the log-linear
// one").
func DTypeParam(auto string) kernel.Param {
	return kernel.ChoiceParam(ParamDType, DTypeAuto, DTypes, "float type of the model and its training graph; auto: "+auto)
}

// ResolveDType maps a ParamDType value to the GoMLX dtype: name itself, or
// for "auto" (and "") float32 when neural, else float64.
func ResolveDType(name string, neural bool) (dtypes.DType, error) {
	switch name {
	case DTypeFloat32:
		return dtypes.Float32, nil
	case DTypeFloat64:
		return dtypes.Float64, nil
	case DTypeAuto, "":
		if neural {
			return dtypes.Float32, nil
		}
		return dtypes.Float64, nil
	}
	return dtypes.InvalidDType, fmt.Errorf("fit: %s: want one of %v, got %q", ParamDType, DTypes, name)
}

// DTypeName is the ParamDType value naming dt, as saved models record it:
// "float32" for Float32, "float64" otherwise.
func DTypeName(dt dtypes.DType) string {
	if dt == dtypes.Float32 {
		return DTypeFloat32
	}
	return DTypeFloat64
}

// SavedDType reads the dtype a saved model records (DTypeName's values);
// "", a model saved before dtypes were recorded, is Float64. Its error
// says what was wanted, for the caller to prefix with the file and field.
func SavedDType(name string) (dtypes.DType, error) {
	switch name {
	case DTypeFloat32:
		return dtypes.Float32, nil
	case DTypeFloat64, "":
		return dtypes.Float64, nil
	}
	return dtypes.InvalidDType, fmt.Errorf("want %s or %s, got %q", DTypeFloat32, DTypeFloat64, name)
}

// Tensor returns x (float64, row-major) as a tensor of dtype dt (Float32
// or Float64) and the given dimensions.
func Tensor(dt dtypes.DType, x []float64, dims ...int) *tensors.Tensor {
	if dt == dtypes.Float32 {
		y := make([]float32, len(x))
		for i, v := range x {
			y[i] = float32(v)
		}
		return tensors.FromFlatDataAndDimensions(y, dims...)
	}
	return tensors.FromFlatDataAndDimensions(x, dims...)
}

// Float64s returns the values of a float32 or float64 tensor as float64.
func Float64s(t *tensors.Tensor) ([]float64, error) {
	switch t.DType() {
	case dtypes.Float64:
		return tensors.CopyFlatData[float64](t)
	case dtypes.Float32:
		v, err := tensors.CopyFlatData[float32](t)
		if err != nil {
			return nil, err
		}
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out, nil
	}
	return nil, fmt.Errorf("fit: want a float32 or float64 tensor, got %s", t.DType())
}
