package tdpo_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/alignlab/alignlab/algos/tdpo"
	"github.com/alignlab/alignlab/kernel"
)

// Sequence pairs, the format a saved token policy scores, written and
// read back for a model of 4 prompts, a vocabulary of 6 and length 3.
func ExampleLoadPairs() {
	dir, err := os.MkdirTemp("", "tdpo-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	var b bytes.Buffer
	pairs := []tdpo.Pair{{Prompt: 3, Chosen: []int{0, 1, 5}, Rejected: []int{2, 2, 5}}}
	if err := tdpo.WritePairs(&b, pairs); err != nil {
		panic(err)
	}
	fmt.Print(b.String())
	path := filepath.Join(dir, "pairs.jsonl")
	os.WriteFile(path, b.Bytes(), 0o644)
	back, err := tdpo.LoadPairs(path, tdpo.Spec{Prompts: 4, Vocab: 6, Length: 3, Arch: tdpo.ArchTabular})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", back[0])
	_, err = tdpo.LoadPairs(path, tdpo.Spec{Prompts: 4, Vocab: 5, Length: 3, Arch: tdpo.ArchTabular})
	fmt.Println(err != nil)
	// Output:
	// {"prompt":3,"chosen":[0,1,5],"rejected":[2,2,5]}
	// {Prompt:3 Chosen:[0 1 5] Rejected:[2 2 5]}
	// true
}

// A trained token policy, in memory here as a run hands it back (saved
// with kernel.SaveModel and read with kernel.Load it does the same),
// samples responses for each prompt: their mean reward estimates the
// policy's expected reward, which the run measured exactly.
func ExamplePolicy_Sample() {
	ctx := context.Background()
	res, err := kernel.Run(ctx, tdpo.IDTDPO2, kernel.Options{Params: map[string]any{
		"policy": "tabular", "sft_samples": 1000, "sft_steps": 100, "pairs": 300, "steps": 60, "eval_every": 20, "learning_rate": 0.05,
	}})
	if err != nil {
		panic(err)
	}
	l, err := kernel.LoadedOf(res)
	if err != nil {
		panic(err)
	}
	sa, err := l.Sample(ctx, 500, kernel.Options{})
	if err != nil {
		panic(err)
	}
	fmt.Println(l.Model.Kind())
	fmt.Println(sa.Tables[tdpo.TableSamples].Columns)
	fmt.Printf("%d samples; mean reward %.2f (the run's exact %.2f)\n",
		len(sa.Tables[tdpo.TableSamples].Rows), sa.Final["reward"], res.Final["reward"])
	// Output:
	// tabular token policy, 4 prompts, vocab 6, length 4 (tdpo2)
	// [prompt response tokens reward logp ref_logp]
	// 2000 samples; mean reward 2.12 (the run's exact 2.14)
}
