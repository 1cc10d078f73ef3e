package sb_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/alignlab/alignlab/algos/sb"
	"github.com/alignlab/alignlab/kernel"
)

// A run's potential is saved, loaded back and sampled at new x without
// training: the notebook's form of `alignlab run sb.light --out OUT` then
// `alignlab sample sb.light --model OUT/model --x xs.csv --n 3`.
func ExampleModel_Sample() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "sb-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	res, err := kernel.Run(ctx, "sb.light", kernel.Options{Params: map[string]any{
		sb.ParamDim: 3, sb.ParamK: 4, sb.ParamSteps: 50, sb.ParamTestPoints: 10, sb.ParamSamplesPerX: 20, sb.ParamPlotSamples: 10, sb.ParamTrajectories: 0, "seed": 1,
	}})
	if err != nil {
		panic(err)
	}
	model := filepath.Join(dir, "model")
	if err := kernel.SaveModel(res, model); err != nil {
		panic(err)
	}
	l, err := kernel.Load(model)
	if err != nil {
		panic(err)
	}
	xs := filepath.Join(dir, "xs.csv")
	if err := os.WriteFile(xs, []byte("0,0,0\n1,-1,0.5\n"), 0o644); err != nil {
		panic(err)
	}
	out, err := l.Sample(ctx, 3, kernel.Options{Data: []string{xs}})
	if err != nil {
		panic(err)
	}
	samples := out.Tables["samples"]
	fmt.Println(l.Model.Kind())
	fmt.Println(samples.Columns, len(samples.Rows), "rows")
	// Output:
	// LightSB Gaussian-mixture potential, K = 4, D = 3, ε = 0.1
	// [x_index x1 x2 x3 y1 y2 y3] 6 rows
}
