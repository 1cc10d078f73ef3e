package fit

import (
	"math"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// ExecStep returns the StepFn that calls exec (a training step compiled
// with model.NewExec, whose first output is the scalar loss) on the inputs
// that inputs returns for the step (nil: exec takes none), then, when the
// loss is finite, runs CheckFinite on exec's store: its error, a
// *NonFiniteError, stops a Loop as a divergence.
func ExecStep(exec *model.Exec, inputs func(step int) []any) StepFn {
	store := exec.Store()
	return func(step int) (float64, error) {
		var in []any
		if inputs != nil {
			in = inputs(step)
		}
		out, err := exec.Call(in...)
		if err != nil {
			return 0, err
		}
		loss := tensors.ToScalar[float64](out[0])
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return loss, nil
		}
		return loss, CheckFinite(store)
	}
}
