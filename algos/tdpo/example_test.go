package tdpo_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/alignlab/alignlab/algos/tdpo"
	"github.com/alignlab/alignlab/kernel"
)

// Train DPO and TDPO2 on the same tabular task, pairs and mini-batches:
// at the paper's β = 0.1, TDPO2 keeps the sequential KL of both chosen and
// rejected responses, and the whole-response KL, well below DPO's.
func ExampleTrain() {
	cfg := tdpo.DefaultTaskConfig(tdpo.ArchTabular)
	cfg.Pairs = 500
	task, err := tdpo.NewTask(context.Background(), cfg, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		panic(err)
	}
	for _, kind := range []tdpo.Kind{tdpo.DPO, tdpo.TDPO2} {
		c := tdpo.DefaultConfig(kind)
		c.LearningRate, c.Steps, c.EvalEvery = 0.05, 100, 100
		m, err := tdpo.Train(context.Background(), task, c, rand.New(rand.NewPCG(1, 2)), nil)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%-5s SeqKL chosen %.2f rejected %.2f, KL(π‖π_ref) %.2f, reward %.2f\n",
			kind, m.SeqKLChosen, m.SeqKLRejected, m.KL, m.Reward)
	}
	// Output:
	// dpo   SeqKL chosen 4.11 rejected 4.78, KL(π‖π_ref) 2.22, reward 2.80
	// tdpo2 SeqKL chosen 1.17 rejected 1.39, KL(π‖π_ref) 0.79, reward 2.09
}

// The exact optimum of E r − β·KL(π‖π_ref) over whole responses, from the
// reference's prefix tree: smaller β buys reward with KL.
func ExampleTree_Optimal() {
	cfg := tdpo.DefaultTaskConfig(tdpo.ArchTabular)
	cfg.Pairs = 10
	task, err := tdpo.NewTask(context.Background(), cfg, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		panic(err)
	}
	for _, beta := range []float64{10, 1, 0.3} {
		m := task.Tree.Optimal(task.Reward, beta).Measure(task.Tree, task.Reward)
		fmt.Printf("β = %-4g KL %.2f reward %.2f\n", beta, m.KL, m.Reward)
	}
	// Output:
	// β = 10   KL 0.01 reward 1.18
	// β = 1    KL 0.54 reward 2.14
	// β = 0.3  KL 3.67 reward 3.76
}

// The plugins run through the kernel; without --data they generate the
// task from the seed. The blank import of algos/all (or of algos/tdpo)
// registers them.
func Example_plugin() {
	res, err := kernel.Run(context.Background(), tdpo.IDTDPO2, kernel.Options{Params: map[string]any{
		"policy": "tabular", "pairs": 300, "steps": 60, "eval_every": 20, "learning_rate": 0.05,
	}})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(res.Series["seqkl_rejected"]), "points of the seqkl_rejected series")
	fmt.Printf("reward rose: %v; below the optimum at its KL: %v\n",
		res.Final["reward"] > res.Final["reward_ref"], res.Final["reward"] < res.Final["optimal_reward"])
	// Output:
	// 4 points of the seqkl_rejected series
	// reward rose: true; below the optimum at its KL: true
}

// Frontier sweeps β for each loss and compares the methods' reward at equal
// KL with the exact optimum's.
func ExampleFrontier() {
	cfg := tdpo.DefaultTaskConfig(tdpo.ArchTabular)
	cfg.Pairs = 300
	task, err := tdpo.NewTask(context.Background(), cfg, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		panic(err)
	}
	train := tdpo.DefaultConfig(tdpo.DPO)
	train.LearningRate, train.Steps, train.EvalEvery = 0.05, 60, 5
	res, err := tdpo.Frontier(context.Background(), task, tdpo.FrontierConfig{
		Losses: []tdpo.Kind{tdpo.DPO, tdpo.TDPO2}, Betas: []float64{0.1, 1}, Alphas: []float64{0.5},
		Train: train, Budget: []float64{0.25, 0.5},
	}, rand.New(rand.NewPCG(1, 2)), nil)
	if err != nil {
		panic(err)
	}
	for _, m := range append([]string{tdpo.MethodOptimal}, res.Methods...) {
		fmt.Printf("%-12s reward at KL 0.25: %.2f, at KL 0.5: %.2f\n", m, res.AtKL[m][0], res.AtKL[m][1])
	}
	// Output:
	// optimal      reward at KL 0.25: 1.80, at KL 0.5: 2.10
	// dpo          reward at KL 0.25: 1.57, at KL 0.5: 1.78
	// tdpo2 α=0.5  reward at KL 0.25: 1.58, at KL 0.5: 1.79
}
