package fit_test

import (
	"context"
	"fmt"

	"github.com/alignlab/alignlab/algos/fit"
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
