package dpo_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/alignlab/alignlab/algos/artifact"
	"github.com/alignlab/alignlab/algos/dpo"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// A log-linear policy's log-ratio difference is θ·(φ(y_w) − φ(y_l)),
// whatever π_ref is.
func ExamplePolicy_LogRatios() {
	p := &dpo.Policy{Loss: dpo.DPO, Beta: 1, Arch: dpo.PolicyLogLinear, Dim: 2,
		Weights: artifact.Weights{"theta": artifact.F64([]float64{1, -2})}}
	data := &datasets.Prefs{Dim: 2,
		Prompts: []datasets.Prompt{{Features: [][]float64{{1, 0}, {0, 1}, {1, 1}}}},
		Pairs:   []datasets.Pair{{Prompt: 0, Chosen: 0, Rejected: 1, Weight: 1}, {Prompt: 0, Chosen: 2, Rejected: 0, Weight: 1}},
	}
	h, err := p.LogRatios(data, "")
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Kind())
	fmt.Println("h =", h)
	// Output:
	// log-linear policy, d = 2 (dpo)
	// h = [3 -2]
}

// A run's policy, saved and loaded back (the command line's run --out and
// score --model), scores new comparisons without training: the policy
// agrees with the first label and not with the second.
func ExamplePolicy_Score() {
	dir, err := os.MkdirTemp("", "dpo-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	res, err := kernel.Run(ctx, "dpo.rdpo", kernel.Options{Params: map[string]any{
		"dim": 3, "pairs": 2000, "flip_rate": 0.2, "epsilon": 0.2, "steps": 100, "eval_every": 50,
	}})
	if err != nil {
		panic(err)
	}
	if err := kernel.SaveModel(res, filepath.Join(dir, "model")); err != nil {
		panic(err)
	}
	l, err := kernel.Load(filepath.Join(dir, "model"))
	if err != nil {
		panic(err)
	}
	file := filepath.Join(dir, "new.jsonl")
	os.WriteFile(file, []byte(`{"features": [[0.5, 0.1, -0.2], [-0.4, 0.3, 0.1]], "chosen": 0, "rejected": 1}
{"features": [[0.2, -0.6, 0.3], [0.1, 0.2, 0.2], [0, 0, 0]], "chosen": 1, "rejected": 0}
`), 0o644)
	sc, err := l.Score(ctx, kernel.Options{Data: []string{file}})
	if err != nil {
		panic(err)
	}
	fmt.Println(l.Manifest.Kind)
	fmt.Println(sc.Tables[dpo.TableScores].Columns)
	for i, pc := range sc.Tables[dpo.TableScores].Floats("p_chosen") {
		fmt.Printf("pair %d: P(chosen ≻ rejected) = %.2f\n", i, pc)
	}
	fmt.Printf("accuracy %.1f\n", sc.Final["accuracy"])
	// Output:
	// log-linear policy, d = 3 (rdpo)
	// [pair weight log_ratio margin p_chosen loss]
	// pair 0: P(chosen ≻ rejected) = 0.83
	// pair 1: P(chosen ≻ rejected) = 0.23
	// accuracy 0.5
}
