package bilevel_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/alignlab/alignlab/algos/bilevel"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// A run of bilevel.reweight hands back the learnt source weights and the
// model retrained with them; saved and loaded back, it scores the clean
// test file exactly as the run reported, and the training file per source.
func ExampleReweighted_Score() {
	dir, err := os.MkdirTemp("", "bilevel-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	s, err := datasets.GenerateSources(datasets.SourcesConfig{Dim: 5, WNorm: 3, PerSource: 200, FlipRates: []float64{0, 0.5}, Val: 100, Test: 500},
		rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		fmt.Println(err)
		return
	}
	var files []string
	for _, f := range []struct {
		name string
		l    *datasets.Labeled
	}{{"train.jsonl", s.Train}, {"val.jsonl", s.Val}, {"test.jsonl", s.Test}} {
		var b bytes.Buffer
		if err := datasets.WriteSources(&b, f.l); err != nil {
			fmt.Println(err)
			return
		}
		path := filepath.Join(dir, f.name)
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			fmt.Println(err)
			return
		}
		files = append(files, path)
	}
	ctx := context.Background()
	res, err := kernel.Run(ctx, bilevel.ID, kernel.Options{Params: map[string]any{"steps": 300, "rounds": 3}, Data: files})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := kernel.SaveModel(res, filepath.Join(dir, "model")); err != nil {
		fmt.Println(err)
		return
	}
	m, err := kernel.Load(filepath.Join(dir, "model"))
	if err != nil {
		fmt.Println(err)
		return
	}
	rw := m.Model.(*bilevel.Reweighted)
	fmt.Println(rw.Kind())
	fmt.Printf("weights %s %.2f, %s %.2f\n", rw.Sources[0], rw.Weights[0], rw.Sources[1], rw.Weights[1])
	test, err := m.Score(ctx, kernel.Options{Data: files[2:]})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("test log-loss as the run:", test.Final[bilevel.MetricLogLoss] == res.Final["test_logloss/scalebio_retrain"])
	train, err := m.Score(ctx, kernel.Options{Data: files[:1]})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("training accuracy: s0 %.2f, s1 %.2f\n", train.Final["accuracy/s0"], train.Final["accuracy/s1"])
	// Output:
	// ScaleBiO weights of 2 sources and the logistic model retrained with them, d = 5
	// weights s0 0.98, s1 0.02
	// test log-loss as the run: true
	// training accuracy: s0 0.82, s1 0.53
}
