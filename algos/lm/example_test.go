package lm_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/alignlab/alignlab/algos/lm"
	"github.com/alignlab/alignlab/datasets"
)

// The env of the notebook's task: byte tokens, and rows wide enough for
// BOS, the longest prompt ("9+9=") and the longest demonstration ("18 done.").
func ExampleNewEnv() {
	cfg := datasets.DefaultTextTaskConfig()
	cfg.Prompts, cfg.TestPrompts, cfg.MaxOperand, cfg.PrincipleMaxChars = lm.DefaultPrompts, lm.DefaultTestPrompts, lm.DefaultMaxOperand, lm.DefaultMaxChars
	task, err := datasets.GenerateTextTask(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		panic(err)
	}
	e, err := lm.NewEnv(task, "byte", "test", "")
	if err != nil {
		panic(err)
	}
	fmt.Println(e.Tok.Name(), e.Config.Vocab, e.Config.MaxLen, e.Config.Dim, e.Config.Layers)
	correct, principle := task.Verify("9+9=", "18")
	fmt.Println(correct, principle, task.Score("9+9=", "18 done."))
	// Output:
	// byte 259 16 32 2
	// true true 2
}
