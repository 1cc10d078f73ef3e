package fit_test

import (
	"context"
	"fmt"

	"github.com/alignlab/alignlab/algos/backend"
	"github.com/alignlab/alignlab/algos/fit"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// A loop with an evaluation at the start, every 2 steps and at the last
// step. Step here halves a number; a plugin's step runs a GoMLX graph.
func ExampleLoop() {
	x := 1.0
	loop := fit.NewLoop("demo", 5, func(step int) (float64, error) {
		x /= 2
		return x, nil
	})
	eval := func(step int) error {
		fmt.Printf("step %d: x = %g\n", step, x)
		return nil
	}
	loop.OnStart("eval", eval)
	loop.EveryN(2, "eval", eval)
	if err := loop.Run(context.Background()); err != nil {
		fmt.Println(err)
	}
	// Output:
	// step 0: x = 1
	// step 2: x = 0.25
	// step 4: x = 0.0625
	// step 5: x = 0.03125
}

// SGD at η = 10 on (θ − 3)² multiplies θ − 3 by 1 − 2η = −19 every step.
// NewOptimizer's optimizers are Guard-ed and ExecStep checks their norms:
// the run stops when the squared norm of the gradient overflows (‖g‖ >
// 1.3e154), long before θ reaches +Inf or NaN.
func ExampleGuard() {
	be, err := backend.Get("")
	if err != nil {
		fmt.Println(err)
		return
	}
	store := model.NewStore()
	theta := store.RootScope().VariableWithValue("theta", []float64{0})
	opt, err := fit.NewOptimizer(fit.SGD, 10, 0, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	step, err := model.NewExec(be, store, func(scope *model.Scope, x *graph.Node) *graph.Node {
		g := x.Graph()
		scope.SetTraining(g, true)
		loss := graph.ReduceAllSum(graph.Square(graph.Sub(theta.NodeValue(g), x)))
		opt.UpdateGraph(scope, g, loss)
		return loss
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	loop := fit.NewLoop("demo", 1000, fit.ExecStep(step, func(int) []any { return []any{[]float64{3}} }))
	fmt.Println(loop.Run(context.Background()))
	fmt.Printf("θ = %.3g\n", theta.MustValue().Value().([]float64)[0])
	// Output:
	// demo: diverged at step 121: grad_norm is +Inf; try a smaller learning_rate
	// θ = 1.61e+155
}

// Transposed lays a row-major data matrix out column by column: here 3
// pairs × 2 features become 2 features × 3 pairs.
func ExampleTransposed() {
	x := []float64{
		1, 2,
		3, 4,
		5, 6,
	}
	fmt.Println(fit.Transposed(x, 3, 2))
	// Output: [1 3 5 2 4 6]
}
