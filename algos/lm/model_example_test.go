package lm_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/alignlab/alignlab/algos/lm"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// A policy saved as a run saves it, loaded back, scores an SFT file and
// samples two completions per prompt (an untrained model here, so the
// numbers say nothing; the shapes of the results do).
func ExampleModelOf() {
	cfg := datasets.DefaultTextTaskConfig()
	cfg.Prompts, cfg.TestPrompts, cfg.Demos = 8, 4, 16
	task, err := datasets.GenerateTextTask(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		panic(err)
	}
	e, err := lm.NewEnv(task, "byte", "test", "")
	if err != nil {
		panic(err)
	}
	d, err := e.NewModel(1)
	if err != nil {
		panic(err)
	}
	m := lm.ModelOf(lm.IDSFT, 1, d, e.Tok)
	fmt.Println(m.Kind())

	dir, err := os.MkdirTemp("", "lm-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	if err := kernel.SaveModel(&kernel.Result{Plugin: lm.IDSFT, Seed: 1, Model: m}, filepath.Join(dir, "model")); err != nil {
		panic(err)
	}
	l, err := kernel.Load(filepath.Join(dir, "model"))
	if err != nil {
		panic(err)
	}
	sft := filepath.Join(dir, "sft.jsonl")
	prompts := filepath.Join(dir, "prompts.txt")
	os.WriteFile(sft, []byte(`{"prompt": "1+2=", "completion": "3"}`+"\n"+`{"prompt": "4+4=", "completion": "8"}`+"\n"), 0o644)
	os.WriteFile(prompts, []byte("1+2=\n4+4=\n6+1=\n"), 0o644)
	ctx := context.Background()
	sc, err := l.Score(ctx, kernel.Options{Data: []string{sft}})
	if err != nil {
		panic(err)
	}
	fmt.Println(sc.Tables["scores"].Columns, len(sc.Tables["scores"].Rows), sc.Final["tokens"])
	sa, err := l.Sample(ctx, 2, kernel.Options{Data: []string{prompts}})
	if err != nil {
		panic(err)
	}
	fmt.Println(sa.Tables["samples"].Columns, len(sa.Tables["samples"].Rows))
	// Output:
	// transformer policy, 2 layers × 32 wide, vocab 259 (byte), 42048 weights
	// [prompt completion logp tokens] 2 4
	// [prompt sample completion tokens truncated correct principle] 6
}
