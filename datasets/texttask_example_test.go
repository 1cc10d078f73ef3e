package datasets_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"

	"github.com/alignlab/alignlab/datasets"
)

func ExampleGenerateTextTask() {
	task, err := datasets.GenerateTextTask(datasets.DefaultTextTaskConfig(), rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		panic(err)
	}
	fmt.Println(len(task.Train), "train,", len(task.Test), "test prompts,", len(task.Demos), "demos")
	for _, d := range task.Demos[:4] {
		correct, principle := task.Verify(d.Prompt, d.Completion)
		fmt.Printf("%-7s %-10q wrong %-5v verbose %-5v → correct %-5v concise %-5v score %g\n",
			d.Prompt, d.Completion, d.Wrong, d.Verbose, correct, principle, task.Score(d.Prompt, d.Completion))
	}
	// Output:
	// 300 train, 100 test prompts, 2000 demos
	// 1+1=    "0"        wrong true  verbose false → correct false concise true  score 1
	// 8+10=   "18"       wrong false verbose false → correct true  concise true  score 3
	// 9+4=    "13 done." wrong false verbose true  → correct true  concise false score 2
	// 14+11=  "27"       wrong true  verbose false → correct false concise true  score 1
}

func ExampleVerify() {
	for _, c := range []string{"19", "19 ok!", "18", "019", ""} {
		correct, principle, _ := datasets.Verify("12+7=", c, 3)
		fmt.Printf("%-8q correct %-5v principle %v\n", c, correct, principle)
	}
	_, _, err := datasets.Verify("12 + 7 =", "19", 3)
	fmt.Println(err)
	// Output:
	// "19"     correct true  principle true
	// "19 ok!" correct true  principle false
	// "18"     correct false principle true
	// "019"    correct false principle true
	// ""       correct false principle true
	// datasets: text task: want a prompt of the form "a+b=" with decimal a and b, got "12 + 7 ="
}

// With cycle > 0, three completions of equal score whose lengths are 0, 1
// and 2 mod 3 beat each other around a cycle: no ranking explains them.
func ExampleTextTask_Preference() {
	task := &datasets.TextTask{Config: datasets.DefaultTextTaskConfig()}
	a, b, c := "19 ok!", "19 yes!", "19 done."
	for _, p := range [][2]string{{a, b}, {b, c}, {c, a}} {
		fmt.Printf("P(%q ≻ %q) = %.3f\n", p[0], p[1], task.Preference("12+7=", p[0], p[1], 1, 1))
	}
	fmt.Printf("P(%q ≻ %q) = %.3f (Bradley–Terry in score, 3 vs 2)\n", "19", a, task.Preference("12+7=", "19", a, 1, 0))
	// Output:
	// P("19 ok!" ≻ "19 yes!") = 0.731
	// P("19 yes!" ≻ "19 done.") = 0.731
	// P("19 done." ≻ "19 ok!") = 0.731
	// P("19" ≻ "19 ok!") = 0.731 (Bradley–Terry in score, 3 vs 2)
}

func ExampleTextTask_Label() {
	task := &datasets.TextTask{Config: datasets.DefaultTextTaskConfig()}
	r := rand.New(rand.NewPCG(2, 2))
	for range 3 {
		chosen, rejected, flipped, ok := task.Label("3+4=", "8", "7", 0.3, r)
		fmt.Println(chosen, rejected, flipped, ok)
	}
	_, _, _, ok := task.Label("3+4=", "8", "6", 0.3, r)
	fmt.Println("equal scores:", ok)
	// Output:
	// 8 7 true true
	// 8 7 true true
	// 7 8 false true
	// equal scores: false
}

func ExampleReadSFT() {
	in := `{"prompt": "12+7=", "completion": "19"}
{"prompt": [{"role": "user", "content": "2+2="}], "completion": [{"role": "assistant", "content": "4"}]}`
	ex, err := datasets.ReadSFT(strings.NewReader(in), "sft.jsonl")
	if err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", ex)
	_, err = datasets.ReadSFT(strings.NewReader(`{"text": "12+7=19"}`), "lm.jsonl")
	fmt.Println(err)
	// Output:
	// [{Prompt:12+7= Completion:19 Wrong:false Verbose:false} {Prompt:2+2= Completion:4 Wrong:false Verbose:false}]
	// lm.jsonl:1: prompt: missing: want prompt and completion (TRL's "text" field alone is not accepted)
}

func ExampleReadTextPairs() {
	in := `{"prompt": "12+7=", "chosen": "19", "rejected": "18", "ref_chosen_logps": -1.5, "ref_rejected_logps": -2.25}
{"chosen": [{"role": "user", "content": "2+2="}, {"role": "assistant", "content": "4"}], "rejected": [{"role": "user", "content": "2+2="}, {"role": "assistant", "content": "5"}], "ref_chosen_logps": -0.5, "ref_rejected_logps": -3}`
	p, err := datasets.ReadTextPairs(strings.NewReader(in), "pairs.jsonl")
	if err != nil {
		panic(err)
	}
	for _, q := range p.Pairs {
		fmt.Printf("%q: %q ≻ %q, ref log-probs %g, %g\n", q.Prompt, q.Chosen, q.Rejected, q.RefChosen, q.RefRejected)
	}
	if err := datasets.WriteTextPairs(os.Stdout, p); err != nil {
		panic(err)
	}
	_, err = datasets.ReadTextPairs(strings.NewReader(`{"chosen": "19", "rejected": "18", "ref_chosen_logps": -1}`), "bad.jsonl")
	fmt.Println(err)
	// Output:
	// "12+7=": "19" ≻ "18", ref log-probs -1.5, -2.25
	// "2+2=": "4" ≻ "5", ref log-probs -0.5, -3
	// {"prompt":"12+7=","chosen":"19","rejected":"18","ref_chosen_logps":-1.5,"ref_rejected_logps":-2.25}
	// {"prompt":"2+2=","chosen":"4","rejected":"5","ref_chosen_logps":-0.5,"ref_rejected_logps":-3}
	// bad.jsonl:1: ref_rejected_logps: missing: want ref_chosen_logps and ref_rejected_logps together
}
