package bt_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/alignlab/alignlab/algos/bt"
	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
)

// The HelpSteer2-Preference losses of one pair whose chosen response scores
// 1 above the rejected one, at preference strength m = 2.
func ExampleRewardPairLossFloat64() {
	rw, rl, m := 1.0, 0.0, 2.0
	for _, loss := range []string{bt.LossBT, bt.LossMarginBT, bt.LossScaledBT} {
		fmt.Printf("%-9s %.4f\n", loss, bt.RewardPairLossFloat64(loss, rw, rl, m, 0, 0))
	}
	// Ratings 3 and 1: ½[(1 − 3)² + (0 − 1)²].
	fmt.Printf("%-9s %.4f\n", bt.LossRegression, bt.RewardPairLossFloat64(bt.LossRegression, rw, rl, m, 3, 1))
	// Output:
	// bt        0.3133
	// margin_bt 1.3133
	// scaled_bt 0.6265
	// regression 2.5000
}

// A linear Bradley–Terry reward model trained on pairs labelled by a
// planted reward reaches the accuracy of the planted reward itself.
func ExampleTrainReward() {
	r := rand.New(rand.NewPCG(1, 1))
	train, test, err := datasets.GenerateRewardPairs(datasets.RewardPairsConfig{Dim: 4, Pairs: 1000, TestPairs: 1000, Scale: 2}, r)
	if err != nil {
		panic(err)
	}
	fit, err := bt.TrainReward(context.Background(), train, test, bt.DefaultRewardConfig(), r, nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("held-out accuracy %.2f (Bayes %.2f), true order %.2f, Pearson with r* %.2f\n",
		fit.Test.Accuracy, fit.Test.BayesAccuracy, fit.Test.AccuracyTrue, fit.Test.Pearson)
	// Output:
	// held-out accuracy 0.83 (Bayes 0.83), true order 0.98, Pearson with r* 1.00
}

// An MLP reward model trains in float32 unless DType says otherwise (auto,
// or "", picks float32 for the MLP and float64 for the linear model); the
// same seed in float64 reaches the same held-out metrics, which are
// computed in float64 either way.
func ExampleRewardConfig_dType() {
	train, test, err := datasets.GenerateRewardPairs(datasets.RewardPairsConfig{Dim: 4, Pairs: 500, TestPairs: 500, Scale: 2,
		Shape: datasets.RewardNonlinear}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		panic(err)
	}
	cfg := bt.DefaultRewardConfig()
	cfg.Model, cfg.Hidden, cfg.Steps = bt.ModelMLP, 8, 100
	for _, dt := range []string{fit.DTypeAuto, fit.DTypeFloat64} {
		cfg.DType = dt
		f, err := bt.TrainReward(context.Background(), train, test, cfg, rand.New(rand.NewPCG(2, 2)), nil)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%-7s trained in %s: held-out accuracy %.3f, Pearson with r* %.3f\n", dt, f.Model.DType, f.Test.Accuracy, f.Test.Pearson)
	}
	// Output:
	// auto    trained in Float32: held-out accuracy 0.792, Pearson with r* 0.926
	// float64 trained in Float64: held-out accuracy 0.792, Pearson with r* 0.926
}

func ExampleCompareRewardLosses() {
	cfg := bt.DefaultLossComparisonConfig()
	cfg.Data.Dim, cfg.Data.Pairs, cfg.Data.TestPairs = 8, 300, 1500
	cfg.Losses = []string{bt.LossBT, bt.LossScaledBT, bt.LossRegression}
	cfg.Repeats = 1
	cmp, err := bt.CompareRewardLosses(context.Background(), cfg, rand.New(rand.NewPCG(1, 1)), nil)
	if err != nil {
		panic(err)
	}
	for _, l := range cmp.Losses {
		a := cmp.Mean[l]
		fmt.Printf("%-10s strength 1: %.2f  all: %.2f\n", l, a[0], a[3])
	}
	// Output:
	// bt         strength 1: 0.79  all: 0.93
	// scaled_bt  strength 1: 0.79  all: 0.93
	// regression strength 1: 0.97  all: 0.99
}
