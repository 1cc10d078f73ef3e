package bt

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// LossComparisonConfig configures CompareRewardLosses.
type LossComparisonConfig struct {
	Data   datasets.HelpSteerConfig // the generator of every repeat
	Reward RewardConfig             // the model and optimizer; Loss is set per variant
	Losses []string                 // the variants (default RewardLosses)
	// Repeats are independent datasets (and initializations) per variant;
	// the table gives their mean and standard error.
	Repeats int
}

// DefaultLossComparisonConfig is the bt.reward_losses default: the
// DefaultHelpSteerConfig data (1,000 training pairs, 2,000 held-out), a
// linear model, 300 Adam steps per stage, 3 repeats of all five losses.
func DefaultLossComparisonConfig() LossComparisonConfig {
	rc := DefaultRewardConfig()
	return LossComparisonConfig{Data: datasets.DefaultHelpSteerConfig(), Reward: rc, Losses: RewardLosses, Repeats: 3}
}

// LossComparison is the outcome of CompareRewardLosses: per loss, held-out
// accuracy against the true ordering in each true-strength bucket (1, 2, 3,
// by |Δr*| terciles) and over all pairs (index 3), mean and standard error
// over the repeats.
type LossComparison struct {
	Losses       []string
	Mean, StdErr map[string][4]float64
	// Bayes is the mean accuracy of the planted reward's labels against the
	// true ordering on the held-out pairs: what the annotators achieve.
	LabelAccuracy [4]float64
	Repeats       int
}

// StrengthBuckets names the columns of LossComparison: the true strength
// buckets and all pairs.
var StrengthBuckets = [4]string{"1", "2", "3", "all"}

// CompareRewardLosses trains every loss of cfg.Losses on the same
// GenerateHelpSteer datasets (one per repeat, drawn from r) and measures
// held-out accuracy against the true ordering, by true strength bucket.
// Within a repeat every variant starts from the same initialization.
// progress, if set, is called after each trained model with the count done
// and the total; a non-nil error stops the comparison.
func CompareRewardLosses(ctx context.Context, cfg LossComparisonConfig, r *rand.Rand, progress func(done, total int) error) (*LossComparison, error) {
	losses := cfg.Losses
	if len(losses) == 0 {
		losses = RewardLosses
	}
	for _, l := range losses {
		if !validLoss(l) {
			return nil, fmt.Errorf("bt: compare losses: unknown loss %q", l)
		}
	}
	if cfg.Repeats < 1 {
		return nil, fmt.Errorf("bt: compare losses: want repeats ≥ 1, got %d", cfg.Repeats)
	}
	acc := make(map[string][][4]float64, len(losses))
	var labelAcc [4]float64
	var labelN [4]int
	done, total := 0, cfg.Repeats*len(losses)
	for rep := 0; rep < cfg.Repeats; rep++ {
		dataSeed, initSeed := r.Uint64(), r.Uint64()
		train, test, err := datasets.GenerateHelpSteer(cfg.Data, rand.New(rand.NewPCG(dataSeed, 0x4e1b)))
		if err != nil {
			return nil, err
		}
		for _, p := range test.Pairs {
			b := test.Truth.TrueStrength(p.TrueDelta()) - 1
			ok := 0.0
			if !p.Flipped {
				ok = 1
			}
			labelAcc[b] += ok
			labelAcc[3] += ok
			labelN[b]++
			labelN[3]++
		}
		for _, loss := range losses {
			rc := cfg.Reward
			rc.Loss = loss
			rf, err := TrainReward(ctx, train, nil, rc, rand.New(rand.NewPCG(initSeed, 0x1a17)), nil)
			if err != nil {
				return nil, fmt.Errorf("bt: compare losses: %s: %w", loss, err)
			}
			m := EvaluateReward(rf.Model, test, "")
			acc[loss] = append(acc[loss], [4]float64{m.ByStrength[0], m.ByStrength[1], m.ByStrength[2], m.AccuracyTrue})
			done++
			if progress != nil {
				if err := progress(done, total); err != nil {
					return nil, err
				}
			}
		}
	}
	out := &LossComparison{Losses: losses, Mean: map[string][4]float64{}, StdErr: map[string][4]float64{}, Repeats: cfg.Repeats}
	for b := range labelAcc {
		out.LabelAccuracy[b] = labelAcc[b] / float64(max(labelN[b], 1))
	}
	for _, loss := range losses {
		var mean, se [4]float64
		runs := acc[loss]
		n := float64(len(runs))
		for b := range mean {
			for _, a := range runs {
				mean[b] += a[b] / n
			}
			if len(runs) > 1 {
				var ss float64
				for _, a := range runs {
					ss += (a[b] - mean[b]) * (a[b] - mean[b])
				}
				se[b] = math.Sqrt(ss / (n - 1) / n)
			}
		}
		out.Mean[loss], out.StdErr[loss] = mean, se
	}
	return out, nil
}

// Table returns the comparison as a table (loss, strength, accuracy,
// stderr), one row per loss and bucket, plus the annotators' label accuracy
// as the row "labels".
func (c *LossComparison) Table() *kernel.Table {
	t := kernel.NewTable("loss", "strength", "accuracy", "stderr")
	for _, loss := range c.Losses {
		for b, name := range StrengthBuckets {
			t.Add(loss, name, c.Mean[loss][b], c.StdErr[loss][b])
		}
	}
	for b, name := range StrengthBuckets {
		t.Add("labels", name, c.LabelAccuracy[b], 0.0)
	}
	return t
}

// Chart declares the bar chart of a result table made by Table: accuracy
// by strength bucket, one bar per loss.
func (c *LossComparison) Chart(table string) kernel.Chart {
	return kernel.Chart{Kind: "bar", ID: "accuracy_by_strength", Title: "Held-out accuracy on the true ordering, by true preference strength",
		Table: table, X: "strength", Value: "accuracy", Group: "loss", XLabel: "true strength bucket (|Δr*| terciles)", YLabel: "accuracy"}
}

// Parameter keys of bt.reward_losses besides the model's (see ParamModel).
const (
	// ParamRepeats (int, default 3): independent datasets per loss.
	ParamRepeats = "repeats"
	// ParamFlip1, ParamFlip2, ParamFlip3 (float in [0, 0.5], defaults 0.35,
	// 0.15, 0.05): the annotators' flip rate at true strength 1, 2, 3.
	ParamFlip1 = "flip_1"
	ParamFlip2 = "flip_2"
	ParamFlip3 = "flip_3"
	// ParamStrengthNoise (float in [0, 1], default 0.2): probability that
	// the reported strength is one off.
	ParamStrengthNoise = "strength_noise"
	// ParamRatingNoise (float ≥ 0, default 0.5): rating noise, in points of
	// the 0–4 scale, before rounding.
	ParamRatingNoise = "rating_noise"
)

func init() { kernel.Register(lossesPlugin{}) }

type lossesPlugin struct{}

var (
	_ kernel.Plugin = lossesPlugin{}
	_ kernel.Quick  = lossesPlugin{}
)

// QuickParams are small params that still draw random numbers (the
// repeat's data).
func (lossesPlugin) QuickParams() map[string]any {
	return map[string]any{fit.ParamSteps: 10, ParamRegressionSteps: 5, ParamPairs: 200, ParamTestPairs: 50, ParamRepeats: 1}
}

func (lossesPlugin) Info() kernel.Info {
	def := DefaultLossComparisonConfig()
	d := def.Data
	params := rewardParams(def.Reward, 0)
	params = append(params,
		kernel.IntParam(ParamRepeats, int64(def.Repeats), 1, 1000, "independent datasets per loss (mean ± standard error)"),
		kernel.ChoiceParam(ParamRewardShape, d.Shape, datasets.RewardShapes, "the planted reward r*(y), linear or half quadratic"),
		kernel.IntParam(ParamDim, int64(d.Dim), 3, 1<<14, "response feature dimension"),
		kernel.IntParam(ParamPairs, int64(d.Pairs), 1, 1<<24, "training pairs per repeat"),
		kernel.IntParam(ParamTestPairs, int64(d.TestPairs), 3, 1<<24, "held-out pairs per repeat"),
		kernel.Param{Key: ParamRewardScale, Type: kernel.Float, Default: d.Scale, Range: kernel.Range{Min: 0, Max: 100, MinExclusive: true},
			Doc: "standard deviation of the planted reward r*(y)"},
		kernel.FloatParam(ParamFlip1, d.Flip[0], 0, 0.5, "annotator flip rate at true strength 1"),
		kernel.FloatParam(ParamFlip2, d.Flip[1], 0, 0.5, "annotator flip rate at true strength 2"),
		kernel.FloatParam(ParamFlip3, d.Flip[2], 0, 0.5, "annotator flip rate at true strength 3"),
		kernel.FloatParam(ParamStrengthNoise, d.StrengthNoise, 0, 1, "probability that the reported strength is one off"),
		kernel.FloatParam(ParamRatingNoise, d.RatingNoise, 0, 100, "rating noise (0–4 scale points) before rounding"),
	)
	return kernel.Info{
		ID:        "bt.reward_losses",
		Precision: rewardPrecision,
		Summary:   "HelpSteer2-Preference comparison: BT, margin BT, scaled BT, regression and regression→scaled BT, by preference strength",
		Papers:    []kernel.Paper{PaperHelpSteer2Preference, PaperBradleyTerry},
		Params:    params,
		Doc: `Trains one reward model per loss of bt.reward (Δ = r(y_w) − r(y_l), m = strength):

    bt −log σ(Δ) · margin_bt −log σ(Δ − m) · scaled_bt −m·log σ(Δ)
    regression ½[(r(y_w) − s_w)² + (r(y_l) − s_l)²] · regression_then_scaled_bt

on the same synthetic HelpSteer2-Preference-like data (datasets.GenerateHelpSteer: a
planted reward r*, true strength 1/2/3 = the |Δr*| tercile, annotators flipping the
order with probability flip_m and misreporting the strength by one with probability
strength_noise, 0–4 Likert ratings round(2 + r*/scale + rating_noise·ε)), repeats
times with fresh data, and measures held-out accuracy against the TRUE ordering
sign(Δr*), split by true strength bucket. Wang et al. (2024) report scaled BT ≥ the
other BT variants and regression followed by scaled BT best (RewardBench 94.1 with a
70B model); this plugin tests whether that ordering holds for a well-specified
linear (or MLP) reward model, where it need not.

Reports: table accuracy_by_strength (loss, strength 1/2/3/all, accuracy, stderr over
repeats; the row "labels" is the annotators' own agreement with the true order), a bar
chart of it, finals accuracy_<loss> (all pairs) and label_accuracy.

Without --data only (it generates its data; params above).`,
	}
}

func (lossesPlugin) Run(job *kernel.Job) error {
	prm := job.Params
	cfg := DefaultLossComparisonConfig()
	cfg.Reward = rewardConfigFrom(prm, job.Backend)
	cfg.Repeats = prm.Int(ParamRepeats)
	cfg.Data.RewardPairsConfig = datasets.RewardPairsConfig{Dim: prm.Int(ParamDim), Pairs: prm.Int(ParamPairs), TestPairs: prm.Int(ParamTestPairs),
		Shape: prm.String(ParamRewardShape), Scale: prm.Float(ParamRewardScale)}
	cfg.Data.Flip = [3]float64{prm.Float(ParamFlip1), prm.Float(ParamFlip2), prm.Float(ParamFlip3)}
	cfg.Data.StrengthNoise = prm.Float(ParamStrengthNoise)
	cfg.Data.RatingNoise = prm.Float(ParamRatingNoise)
	job.SetTotal(int64(cfg.Repeats * len(cfg.Losses)))
	cmp, err := CompareRewardLosses(job.Context(), cfg, job.Rand(), func(done, total int) error { return job.Step(int64(done)) })
	if err != nil {
		return err
	}
	job.Result.Tables["accuracy_by_strength"] = cmp.Table()
	job.AddChart(cmp.Chart("accuracy_by_strength"))
	for _, l := range cmp.Losses {
		job.SetFinal("accuracy_"+l, cmp.Mean[l][3])
	}
	job.SetFinal("label_accuracy", cmp.LabelAccuracy[3])
	return nil
}

// SweepRatingNoise runs CompareRewardLosses at each rating noise (the
// standard deviation, in rating points, of the Likert ratings' noise) and
// returns the overall held-out accuracy against the true ordering: a table
// (loss, rating_noise, accuracy, stderr). Every noise level sees the same
// draws from r (the same features, rewards, labels and initializations;
// only the ratings' noise is scaled), so the preference-only losses give
// the same accuracy at every level and only the regression losses move.
func SweepRatingNoise(ctx context.Context, cfg LossComparisonConfig, noises []float64, r *rand.Rand) (*kernel.Table, error) {
	t := kernel.NewTable("loss", "rating_noise", "accuracy", "stderr")
	seed := r.Uint64()
	for _, noise := range noises {
		c := cfg
		c.Data.RatingNoise = noise
		cmp, err := CompareRewardLosses(ctx, c, rand.New(rand.NewPCG(seed, 0x5eed)), nil)
		if err != nil {
			return nil, err
		}
		for _, l := range cmp.Losses {
			t.Add(l, noise, cmp.Mean[l][3], cmp.StdErr[l][3])
		}
	}
	return t, nil
}
