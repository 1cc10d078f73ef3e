package bilevel_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/alignlab/alignlab/algos/bilevel"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// The λ-direction of ScaleBiO moves weight away from the source whose loss
// rose more at w than at u: here source 1 (its difference is 2, source 0's 0).
func ExampleLambdaGradient() {
	lambda := []float64{0, 0} // p = (½, ½)
	lossW := []float64{0.4, 2.9}
	lossU := []float64{0.4, 0.9}
	g := bilevel.LambdaGradient(lambda, lossW, lossU, 1)
	fmt.Printf("gradient %.2f, weights %.2f\n", g, bilevel.Weights(lambda))
	// Output:
	// gradient [-0.50 0.50], weights [0.50 0.50]
}

// Reweight learns the weights of a clean source and a pure-noise source
// against a clean validation set.
func ExampleReweight() {
	s, err := datasets.GenerateSources(datasets.SourcesConfig{Dim: 5, WNorm: 3, PerSource: 400, FlipRates: []float64{0, 0.5}, Val: 150, Test: 1000},
		rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		panic(err)
	}
	p, err := bilevel.ClassificationProblem(s.Train, s.Val, s.Test, s.FlipRates)
	if err != nil {
		panic(err)
	}
	cfg := bilevel.DefaultConfig()
	cfg.Steps, cfg.Rounds = 300, 3
	rw, err := bilevel.Reweight(context.Background(), p, cfg, rand.New(rand.NewPCG(2, 2)), nil)
	if err != nil {
		panic(err)
	}
	fmt.Println("noise source weight below 0.05:", rw.Weights[1] < 0.05)
	// Output:
	// noise source weight below 0.05: true
}

// Compare runs ScaleBiO and the baselines on the same data and start.
func ExampleCompare() {
	s, err := datasets.GenerateSources(datasets.SourcesConfig{Dim: 5, WNorm: 3, PerSource: 300, FlipRates: []float64{0, 0.3, 0.5}, Val: 100, Test: 2000},
		rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		panic(err)
	}
	p, err := bilevel.ClassificationProblem(s.Train, s.Val, s.Test, s.FlipRates)
	if err != nil {
		panic(err)
	}
	cfg := bilevel.DefaultConfig()
	cfg.Steps, cfg.Rounds = 300, 3
	c, err := bilevel.Compare(context.Background(), p, cfg, rand.New(rand.NewPCG(4, 4)), nil)
	if err != nil {
		panic(err)
	}
	uniform, _ := c.Method(bilevel.MethodUniform)
	scalebio, _ := c.Method(bilevel.MethodScaleBiO)
	var names []string
	for _, m := range c.Methods {
		names = append(names, m.Method)
	}
	fmt.Println(strings.Join(names, " "))
	fmt.Println("val_filter keeps", c.Kept)
	fmt.Println("scalebio below uniform on the test set:", scalebio.Test.LogLoss < uniform.Test.LogLoss)
	// Output:
	// uniform oracle val_only val_filter scalebio scalebio_retrain
	// val_filter keeps [true false false]
	// scalebio below uniform on the test set: true
}

// The plugin generates 8 sources by default; here a smaller set.
func Example_plugin() {
	res, err := kernel.Run(context.Background(), bilevel.ID, kernel.Options{Params: map[string]any{
		"flip_rates": "0,0.5", "per_source": 300, "dim": 5, "val": 100, "test": 1000, "steps": 200, "rounds": 2,
	}})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Tables[bilevel.TableMethods].Columns)
	fmt.Println(res.Tables[bilevel.TableWeights].Strings("source"))
	fmt.Println("noise source weight below 0.1:", res.Final["weight/s1"] < 0.1)
	// Output:
	// [method val_logloss test_logloss test_accuracy]
	// [s0 s1]
	// noise source weight below 0.1: true
}
