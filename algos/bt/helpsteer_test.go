package bt

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/kernel"
)

// The comparison's label row is a known answer: annotators agree with the
// true order with probability 1 − flip_m in bucket m. On this convex (linear)
// problem regression→scaled BT converges to scaled BT's optimum, so the two
// agree; every loss beats chance.
func TestCompareRewardLosses(t *testing.T) {
	cfg := DefaultLossComparisonConfig()
	cfg.Data.Dim, cfg.Data.Pairs, cfg.Data.TestPairs = 8, 400, 3000
	cfg.Repeats = 2
	cmp, err := CompareRewardLosses(context.Background(), cfg, rand.New(rand.NewPCG(1, 2)), nil)
	if err != nil {
		t.Fatal(err)
	}
	for b := 0; b < 3; b++ {
		// 2 repeats × 1,000 pairs per bucket: 4 standard errors ≤ 0.045.
		if want := 1 - cfg.Data.Flip[b]; math.Abs(cmp.LabelAccuracy[b]-want) > 0.045 {
			t.Errorf("labels, strength %d: accuracy %v, want %v", b+1, cmp.LabelAccuracy[b], want)
		}
	}
	for _, l := range cmp.Losses {
		t.Logf("%-26s %.3f ± %.3f", l, cmp.Mean[l], cmp.StdErr[l])
		if cmp.Mean[l][3] < 0.75 {
			t.Errorf("%s: accuracy %v, want ≥ 0.75", l, cmp.Mean[l][3])
		}
	}
	if d := math.Abs(cmp.Mean[LossScaledBT][3] - cmp.Mean[LossRegressionThenScaledBT][3]); d > 0.01 {
		t.Errorf("scaled BT and regression→scaled BT differ by %v on a convex loss", d)
	}
	tab := cmp.Table()
	if len(tab.Rows) != 4*(len(cmp.Losses)+1) {
		t.Errorf("table has %d rows", len(tab.Rows))
	}
}

var fastLosses = map[string]any{ParamRepeats: 1, ParamPairs: 100, ParamTestPairs: 200, fit.ParamSteps: 20, ParamRegressionSteps: 10}

func TestRewardLossesPluginDeterministic(t *testing.T) {
	var prev []byte
	for range 2 {
		res, err := kernel.Run(context.Background(), "bt.reward_losses", kernel.Options{Params: fastLosses})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := res.CanonicalJSON()
		if prev != nil && string(b) != string(prev) {
			t.Fatal("same seed, different result")
		}
		prev = b
		for _, l := range RewardLosses {
			if v, ok := res.Final["accuracy_"+l]; !ok || v < 0 || v > 1 {
				t.Errorf("accuracy_%s = %v (present %v)", l, v, ok)
			}
		}
	}
}

// With common random numbers across noise levels, the preference-only
// losses do not move with the rating noise, and regression gets worse as
// the ratings get noisier.
func TestSweepRatingNoise(t *testing.T) {
	cfg := DefaultLossComparisonConfig()
	cfg.Data.Dim, cfg.Data.Pairs, cfg.Data.TestPairs = 8, 300, 1000
	cfg.Repeats = 1
	cfg.Losses = []string{LossBT, LossRegression}
	tab, err := SweepRatingNoise(context.Background(), cfg, []float64{0.25, 3}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	acc := tab.Floats("accuracy") // bt@0.25, regression@0.25, bt@3, regression@3
	if len(acc) != 4 || acc[0] != acc[2] || !(acc[1] > acc[3]) {
		t.Errorf("accuracies %v: want bt unchanged and regression worse at noise 3", acc)
	}
}
