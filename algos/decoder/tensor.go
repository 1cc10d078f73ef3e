package decoder

import "github.com/gomlx/gomlx/core/tensors"

func tensorOf[T int32 | float32 | float64](flat []T, dims ...int) *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(flat, dims...)
}
