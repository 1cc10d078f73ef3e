package bt

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// This file holds the bt.reward plugin: its params, the data it reads or
// generates, and what it reports of TrainReward (reward.go).

// Parameter keys of the bt.reward and bt.reward_losses plugins besides the
// shared training params of package fit (fit.ParamOptimizer,
// fit.ParamLearningRate, fit.ParamSteps — of the scaled-BT stage for
// regression_then_scaled_bt —, fit.ParamBatchSize, fit.ParamDType — auto:
// float32 for the MLP, float64 for the linear model — and, bt.reward only,
// fit.ParamEvalEvery). Keys shared with GoMLX have GoMLX's names.
const (
	// ParamModel (choice, default "linear"): ModelLinear or ModelMLP.
	ParamModel = "model"
	// ParamHidden (int, default 32): MLP units per hidden layer (GoMLX's key).
	ParamHidden = "fnn_num_hidden_nodes"
	// ParamLayers (int, default 1): MLP hidden layers (GoMLX's key).
	ParamLayers = "fnn_num_hidden_layers"
	// ParamLoss (choice, default "bt"): one of RewardLosses.
	ParamLoss = "loss"
	// ParamRegressionSteps (int, default 150): steps of the regression
	// stage of regression_then_scaled_bt.
	ParamRegressionSteps = "regression_steps"
	// ParamL2 (float, default 0): adds l2·Σ‖W‖² over the weight matrices (GoMLX's key).
	ParamL2 = "l2_regularization"
	// ParamHoldout (float, default 0.2): fraction of loaded pairs held out
	// for the test metrics (drawn with the seed); 0 keeps them all for training.
	ParamHoldout = "holdout"
	// ParamHashDim (int, default 256): buckets of the text featurizer
	// (datasets.HashFeatures).
	ParamHashDim = "hash_dim"

	// The synthetic data used without --data.

	// ParamSynthetic (choice, default "bradley_terry"): the generator —
	// "bradley_terry" (datasets.GenerateRewardPairs) or "helpsteer"
	// (datasets.GenerateHelpSteer: strengths and ratings, for margin_bt,
	// scaled_bt and regression).
	ParamSynthetic = "synthetic"
	// ParamRewardShape (choice, default "linear"): the planted reward,
	// datasets.RewardLinear or datasets.RewardNonlinear.
	ParamRewardShape = "reward"
	// ParamDim (int, default 16): response feature dimension.
	ParamDim = "dim"
	// ParamPairs (int, default 2000): training pairs.
	ParamPairs = "pairs"
	// ParamTestPairs (int, default 1000): held-out pairs.
	ParamTestPairs = "test_pairs"
	// ParamRewardScale (float, default 2): standard deviation of r*(y).
	ParamRewardScale = "reward_scale"
)

// The values of ParamSynthetic.
const (
	SyntheticBT        = "bradley_terry"
	SyntheticHelpSteer = "helpsteer"
)

// Papers of the reward plugins.
var (
	PaperBradleyTerry = kernel.Paper{Authors: "R. A. Bradley, M. E. Terry", Year: 1952,
		Title: "Rank analysis of incomplete block designs: I. The method of paired comparisons"}
	PaperHelpSteer2Preference = kernel.Paper{Authors: "Z. Wang, A. Bukharin, O. Delalleau, D. Egert, G. Shen, J. Zeng, O. Kuchaiev, Y. Dong", Year: 2024,
		Title: "HelpSteer2-Preference: Complementing ratings with preferences", ArXiv: "2410.01257"}
	PaperInstructGPT = kernel.Paper{Authors: "L. Ouyang et al.", Year: 2022,
		Title: "Training language models to follow instructions with human feedback", ArXiv: "2203.02155"}
)

func init() { kernel.Register(rewardPlugin{}) }

type rewardPlugin struct{}

var (
	_ kernel.Plugin = rewardPlugin{}
	_ kernel.Quick  = rewardPlugin{}
)

// rewardParams are the model and training params shared by bt.reward and
// bt.reward_losses; evalEvery, when > 0, declares fit.ParamEvalEvery with
// that default.
func rewardParams(def RewardConfig, evalEvery int) []kernel.Param {
	params := []kernel.Param{
		kernel.ChoiceParam(ParamModel, def.Model, []string{ModelLinear, ModelMLP}, "linear: r = w·z + b; mlp: tanh hidden layers, z = [prompt, response] features"),
		kernel.IntParam(ParamHidden, int64(def.Hidden), 1, 1<<14, "MLP units per hidden layer"),
		kernel.IntParam(ParamLayers, int64(def.Layers), 1, 16, "MLP hidden layers"),
		fit.DTypeParam(rewardAutoDType),
	}
	params = append(params, fit.Params(fit.Defaults{
		Optimizers:   []string{fit.Adam, fit.SGD},
		LearningRate: def.LearningRate, MaxLR: math.Inf(1),
		Steps:    def.Steps,
		HasBatch: true, BatchSize: def.BatchSize,
		EvalEvery: evalEvery,
		Doc: map[string]string{
			fit.ParamSteps:     "optimizer steps (of the scaled-BT stage for regression_then_scaled_bt)",
			fit.ParamBatchSize: "pairs per step; 0 = full batch",
		},
	})...)
	return append(params,
		kernel.IntParam(ParamRegressionSteps, int64(def.RegressionSteps), 1, math.MaxInt32, "steps of the regression stage of regression_then_scaled_bt"),
		kernel.FloatParam(ParamL2, def.L2, 0, math.Inf(1), "adds l2·Σ‖W‖² over the weight matrices (not biases)"),
	)
}

// rewardAutoDType is what fit.ParamDType's auto picks in the reward
// plugins (RewardConfig.DType).
const rewardAutoDType = "float32 for the MLP, float64 for the linear model"

// rewardPrecision is the reward plugins' kernel.Info.Precision; its first
// word is the default configuration's (the linear model's) float type.
const rewardPrecision = "float64 for the linear model, the default (GoMLX): an exact testbed whose gradients the tests check " +
	"against closed forms; float32 for the MLP (GoMLX: weights, inputs and the whole training graph), as neural reward " +
	"models are trained. dtype overrides either; losses and metrics are float64 in Go."

// rewardConfigFrom reads the params of rewardParams.
func rewardConfigFrom(p kernel.Params, backendName string) RewardConfig {
	return RewardConfig{
		Model: p.String(ParamModel), Hidden: p.Int(ParamHidden), Layers: p.Int(ParamLayers),
		Config: fit.Read(p), RegressionSteps: p.Int(ParamRegressionSteps),
		L2: p.Float(ParamL2), Backend: backendName, DType: p.String(fit.ParamDType),
	}
}

// QuickParams are small params that still draw random numbers (mini-batches,
// the MLP's initial weights).
func (rewardPlugin) QuickParams() map[string]any {
	return map[string]any{fit.ParamSteps: 10, fit.ParamEvalEvery: 5, ParamPairs: 200, ParamTestPairs: 50,
		fit.ParamBatchSize: 32, ParamModel: ModelMLP, ParamHidden: 4}
}

// RewardPairsFormats are the --data formats of the reward plugins.
var RewardPairsFormats = []kernel.DataFormat{
	{Name: "reward pairs, feature vectors (JSONL)",
		Doc: `one pair per line: chosen and rejected are the two responses' feature vectors (numbers, the
same length on every line); prompt, optional (every line or none), is a vector of its own
length, concatenated before each response's: z = [prompt, response], r = f(z). A linear
model's prompt term cancels in r(y_w) − r(y_l), so prompts matter to the pairwise losses
only through an MLP (and to regression through the bias they add).
Optional: strength (or its synonym margin; ≥ 0, default 1, 0 = a tie, which the pairwise
losses skip), weight (> 0, default 1), chosen_rating and rejected_rating (both or neither;
needed by the regression losses).`,
		Example: `{"chosen": [0.3, -1.2, 0.8], "rejected": [0.1, 0.4, -0.5], "strength": 2, "chosen_rating": 3, "rejected_rating": 1}`},
	{Name: "reward pairs, text (JSONL, TRL preference format)",
		Doc: `one pair per line: prompt (optional), chosen, rejected as strings, or as conversations
(lists of {"role", "content"} messages; without prompt, the messages chosen and rejected
share at the start are the prompt). Every text is featurized by signed feature hashing
(datasets.HashFeatures): lower-cased word unigrams and bigrams, FNV-1a hashed into
hash_dim buckets with a ±1 sign, the vector scaled to unit length; prompt and response
get hash_dim features each. Same optional fields as the vector form.`,
		Example: `{"prompt": "How do I boil an egg?", "chosen": "Simmer it for 7 minutes, then cool it in cold water.", "rejected": "Eggs are food."}`},
}

func (rewardPlugin) Info() kernel.Info {
	def := DefaultRewardConfig()
	params := []kernel.Param{
		kernel.ChoiceParam(ParamLoss, def.Loss, RewardLosses, "bt −log σ(Δ); margin_bt −log σ(Δ − m); scaled_bt −m·log σ(Δ); regression MSE on ratings; regression_then_scaled_bt"),
	}
	params = append(params, rewardParams(def, def.EvalEvery)...)
	params = append(params,
		kernel.FloatParam(ParamHoldout, 0.2, 0, 0.9, "loaded data: fraction of pairs held out for the test metrics"),
		kernel.IntParam(ParamHashDim, datasets.DefaultHashDim, 1, 1<<20, "text data: feature-hashing buckets per text"),
	)
	// The generator of the pairs drawn without --data (kernel.Generators):
	// with --data the file's pairs replace them.
	params = append(params, kernel.Generators(
		kernel.ChoiceParam(ParamSynthetic, SyntheticBT, []string{SyntheticBT, SyntheticHelpSteer}, "no --data: plain Bradley–Terry labels, or HelpSteer-style strengths, noise and ratings"),
		kernel.ChoiceParam(ParamRewardShape, datasets.RewardLinear, datasets.RewardShapes, "no --data: the planted reward r*(y), linear or half quadratic"),
		kernel.IntParam(ParamDim, 16, 3, 1<<14, "no --data: response feature dimension"),
		kernel.IntParam(ParamPairs, 2000, 1, 1<<24, "no --data: training pairs"),
		kernel.IntParam(ParamTestPairs, 1000, 1, 1<<24, "no --data: held-out pairs"),
		kernel.Param{Key: ParamRewardScale, Type: kernel.Float, Default: 2.0, Range: kernel.Range{Min: 0, Max: 100, MinExclusive: true},
			Doc: "no --data: standard deviation of the planted reward r*(y)"},
	)...)
	return kernel.Info{
		ID:        "bt.reward",
		Precision: rewardPrecision + " A saved model keeps its dtype; score computes in float64 from its weights.",
		Summary:   "Bradley–Terry reward model (linear or MLP, GoMLX) on response features, with the HelpSteer2-Preference loss variants",
		Papers:    []kernel.Paper{PaperBradleyTerry, PaperInstructGPT, PaperHelpSteer2Preference},
		Params:    params,
		Data:      RewardPairsFormats,
		Doc: `Trains a reward model r_θ(z), z = [prompt, response] features, on pairs y_w ≻ y_l with
GoMLX autodiff (Adam or SGD), minimising the weighted mean Σ w_i ℓ_i / Σ w_i of

    bt:         ℓ = −log σ(Δ),                 Δ = r(y_w) − r(y_l)   (Bradley–Terry; InstructGPT's RM loss)
    margin_bt:  ℓ = −log σ(Δ − m)              (m = preference strength)
    scaled_bt:  ℓ = −m · log σ(Δ)
    regression: ℓ = ½[(r(y_w) − s_w)² + (r(y_l) − s_l)²]   (MSE on the ratings s)
    regression_then_scaled_bt: regression for regression_steps, then scaled_bt from there

(the variants of HelpSteer2-Preference, Wang et al. 2024; pairs of strength 0, ties, are
skipped by the pairwise losses), plus l2_regularization·Σ‖W‖². The model is linear,
r = w·z + b, or an MLP with tanh hidden layers; weights start at 0 (hidden layers
N(0, 1/fan_in), seeded). dtype=auto trains the MLP in float32 and the linear model in
float64; the metrics are computed in float64 from the trained weights either way.

Reports: series loss, train_accuracy, test_accuracy (and test_accuracy_true on synthetic
data) every eval_every steps; finals train_accuracy, test_accuracy (r(y_w) > r(y_l)
against the labels, a tie ½), train_margin and test_margin (mean Δ), test_loss, pairs,
test_pairs, rating_rmse (with ratings); on synthetic data also bayes_accuracy (the
expected accuracy of the planted reward r* against the noisy labels: the ceiling of
test_accuracy), test_accuracy_true (against the true ordering sign(Δr*)), and
reward_pearson / reward_spearman (r against r* over the held-out responses). Tables:
weights (linear model: feature, weight, and planted, the planted reward's weight on
synthetic linear data) and, on synthetic data, rewards (planted vs learned, 300 held-out
responses); charts of the accuracies, the loss and the reward scatter.

Without --data it generates pairs with a planted reward r*(y) (φ ~ N(0, I_dim), linear
r* = s·u·φ or half quadratic), labelled by P(y1 ≻ y2) = σ(r*(y1) − r*(y2))
(synthetic=bradley_terry) or HelpSteer-style (synthetic=helpsteer: strengths 1–3 from
|Δr*| terciles, flip rates 0.35/0.15/0.05 by strength, 0–4 ratings). With --data it
reads pairs (one or more files) and holds out a seeded fraction, holdout, for testing;
result.provenance.data records each file's shape: pairs, dim (hash_dim for text),
prompt_dim, text, and whether it gave strength, ratings and weights.`,
		Model: `the reward network: each layer's weights [in, out] and biases [out] under the variable
paths of its GoMLX store (reward/hidden<l>/…, reward/output/…), in the dtype it was
trained in; model.json gives the architecture, the input (dim, prompt_dim; text and
hash_dim for text pairs), the loss and the dtype (float64 when absent). Scores are
computed in float64 from the saved weights.
score --data FILE…: reward pairs in either form run reads, of the input the model was
trained on (hash_dim is the model's). Table scores: pair (position, file after file),
reward_chosen, reward_rejected, margin Δ = r(y_w) − r(y_l), p_chosen = σ(Δ), strength,
weight, log_loss −log σ(Δ) (null for a tie, strength 0). Finals over the pairs that are not
ties, as the run's train_ metrics: accuracy (Δ > 0, ½ for Δ = 0), mean_margin, log_loss
(weighted mean of −log σ(Δ)), loss (weighted mean of the loss it was trained with; scaled_bt
for regression_then_scaled_bt), pairs, tie_pairs, and rating_rmse when the pairs have ratings.
On the training file with holdout=0 they are the run's train_accuracy, train_margin and
train_loss.`,
		Init: `the saved network's weights, converted to the run's dtype, start the training (its
first stage, for regression_then_scaled_bt) instead of zeros and seeded hidden layers.
The data must have its input (dim, prompt_dim, text) and the params its architecture
(model, fnn_num_hidden_layers, fnn_num_hidden_nodes); the error says what to set. The
optimizer starts fresh: with sgd and full batches, n steps from a model saved after m
steps are the m + n steps of one run (in either dtype).`,
	}
}

func (rewardPlugin) Run(job *kernel.Job) error {
	prm := job.Params
	cfg := rewardConfigFrom(prm, job.Backend)
	cfg.Loss = prm.String(ParamLoss)
	var train, test *datasets.RewardPairs
	var err error
	if len(job.Data) == 0 {
		rc := datasets.RewardPairsConfig{Dim: prm.Int(ParamDim), Pairs: prm.Int(ParamPairs), TestPairs: prm.Int(ParamTestPairs),
			Shape: prm.String(ParamRewardShape), Scale: prm.Float(ParamRewardScale)}
		if prm.String(ParamSynthetic) == SyntheticHelpSteer {
			hc := datasets.DefaultHelpSteerConfig()
			hc.RewardPairsConfig = rc
			train, test, err = datasets.GenerateHelpSteer(hc, job.Rand())
			job.Note("no --data: %d HelpSteer-style pairs (%s reward, scale %g, dim %d; strengths from |Δr*| terciles, flip rates %v by strength, 0–4 ratings) and %d held-out pairs",
				rc.Pairs, rc.Shape, rc.Scale, rc.Dim, hc.Flip, rc.TestPairs)
		} else {
			train, test, err = datasets.GenerateRewardPairs(rc, job.Rand())
			job.Note("no --data: %d Bradley–Terry pairs with a planted %s reward (scale %g, dim %d) and %d held-out pairs",
				rc.Pairs, rc.Shape, rc.Scale, rc.Dim, rc.TestPairs)
		}
		if err != nil {
			return err
		}
	} else {
		all, err := loadPairsFiles(job, prm.Int(ParamHashDim))
		if err != nil {
			return err
		}
		train, test = splitPairs(all, prm.Float(ParamHoldout), job.Rand())
		if test == nil {
			job.Note("holdout = 0: no held-out pairs, only training metrics")
		}
		if all.Text {
			job.Note("text pairs featurized by signed feature hashing into %d buckets per text (datasets.HashFeatures)", all.Dim)
		}
	}
	if (cfg.Loss == LossRegression || cfg.Loss == LossRegressionThenScaledBT) && !train.HasRatings {
		hint := "give chosen_rating and rejected_rating in the data"
		if len(job.Data) == 0 {
			hint = "use synthetic=helpsteer"
		}
		return fmt.Errorf("bt: loss %s needs ratings: %s", cfg.Loss, hint)
	}
	if (cfg.Loss == LossMarginBT || cfg.Loss == LossScaledBT || cfg.Loss == LossRegressionThenScaledBT) && !train.HasStrength {
		job.Note("the data give no strengths: every pair has m = 1, so %s is plain bt (up to its margin)", cfg.Loss)
	}
	var init *RewardModel
	if m := job.InitModel(); m != nil {
		if init, err = initReward(job, m, train, cfg); err != nil {
			return err
		}
	}
	total := cfg.Steps
	if cfg.Loss == LossRegressionThenScaledBT {
		total += cfg.RegressionSteps
	}
	job.SetTotal(int64(total))
	rf, err := TrainRewardFrom(job.Context(), train, test, cfg, init, job.Rand(), job.Record)
	if err != nil {
		return err
	}
	job.SetModel(rewardModelOf(rf.Model, train, prm.Int(ParamHashDim), cfg.Loss))
	job.SetFinal("pairs", float64(len(train.Pairs)))
	job.SetFinal("steps", float64(rf.Steps))
	job.SetFinal("train_accuracy", rf.Train.Accuracy)
	job.SetFinal("train_margin", rf.Train.Margin)
	setIfFinite(job, "train_loss", rf.Train.Loss)
	setIfFinite(job, "rating_rmse", rf.Train.RatingRMSE)
	if test != nil {
		job.SetFinal("test_pairs", float64(len(test.Pairs)))
		job.SetFinal("test_accuracy", rf.Test.Accuracy)
		job.SetFinal("test_margin", rf.Test.Margin)
		setIfFinite(job, "test_loss", rf.Test.Loss)
		setIfFinite(job, "bayes_accuracy", rf.Test.BayesAccuracy)
		setIfFinite(job, "test_accuracy_true", rf.Test.AccuracyTrue)
		setIfFinite(job, "reward_pearson", rf.Test.Pearson)
		setIfFinite(job, "reward_spearman", rf.Test.Spearman)
	}
	if w, _ := rf.Model.Linear(); w != nil {
		t := job.AddTable("weights", "feature", "weight", "planted")
		truth := train.Truth
		for i, v := range w {
			planted := math.NaN()
			if truth != nil && truth.Shape == datasets.RewardLinear {
				planted = truth.Scale * truth.U[i]
			}
			t.Add(i, v, planted)
		}
	}
	series := []string{"train_accuracy"}
	if test != nil {
		series = append(series, "test_accuracy")
		if test.Truth != nil {
			series = append(series, "test_accuracy_true")
		}
	}
	job.AddChart(kernel.Chart{Kind: "line", ID: "accuracy", Title: "Reward-model accuracy", Series: series, YLabel: "accuracy"})
	job.AddChart(kernel.Chart{Kind: "line", ID: "loss", Title: "Training loss (" + cfg.Loss + ")", Series: []string{"loss"}})
	if test != nil && test.Truth != nil {
		t := job.AddTable("rewards", "planted", "learned")
		for i := 0; i < len(test.Pairs) && i < 150; i++ {
			p := &test.Pairs[i]
			rw, rl := rf.Model.ScorePair(p)
			t.Add(p.ChosenReward, rw)
			t.Add(p.RejectedReward, rl)
		}
		job.AddChart(kernel.Chart{Kind: "scatter", ID: "rewards", Title: "Learned vs planted reward (held-out responses)",
			Table: "rewards", X: "planted", Y: "learned", XLabel: "planted r*", YLabel: "learned r"})
	}
	return nil
}

func setIfFinite(job *kernel.Job, name string, v float64) {
	if !math.IsNaN(v) && !math.IsInf(v, 0) {
		job.SetFinal(name, v)
	}
}

// loadPairsFiles loads and concatenates job's pair files, which must agree
// on their form and dimensions, and records each file's shape.
func loadPairsFiles(job *kernel.Job, hashDim int) (*datasets.RewardPairs, error) {
	paths := job.Data
	var all *datasets.RewardPairs
	for i, path := range paths {
		p, err := datasets.LoadRewardPairs(path, &datasets.PairsOptions{HashDim: hashDim})
		if err != nil {
			return nil, err
		}
		job.DataShape(i, pairsShape(p)...)
		if all == nil {
			all = p
			continue
		}
		if p.Text != all.Text || p.Dim != all.Dim || p.PromptDim != all.PromptDim || p.HasRatings != all.HasRatings {
			return nil, &datasets.Error{File: path, Msg: fmt.Sprintf("want pairs like %s (text %v, dimension %d, prompt dimension %d, ratings %v), got text %v, dimension %d, prompt dimension %d, ratings %v",
				paths[0], all.Text, all.Dim, all.PromptDim, all.HasRatings, p.Text, p.Dim, p.PromptDim, p.HasRatings)}
		}
		all.Pairs = append(all.Pairs, p.Pairs...)
		all.HasStrength = all.HasStrength || p.HasStrength
		all.HasWeights = all.HasWeights || p.HasWeights
	}
	return all, nil
}

// pairsShape is what one pair file held, for Job.DataShape: pairs, dim
// (response features; hash buckets for text), prompt_dim, text, and which
// optional fields it gave.
func pairsShape(p *datasets.RewardPairs) []any {
	return []any{"pairs", len(p.Pairs), "dim", p.Dim, "prompt_dim", p.PromptDim, "text", p.Text,
		"strength", p.HasStrength, "ratings", p.HasRatings, "weights", p.HasWeights}
}

// splitPairs holds out a seeded fraction of the pairs (see holdOut).
func splitPairs(all *datasets.RewardPairs, frac float64, r *rand.Rand) (train, test *datasets.RewardPairs) {
	trainIdx, testIdx := holdOut(len(all.Pairs), frac, r)
	if testIdx == nil {
		return all, nil
	}
	mk := func(idx []int) *datasets.RewardPairs {
		out := *all
		out.Pairs = make([]datasets.RewardPair, len(idx))
		for i, j := range idx {
			out.Pairs[i] = all.Pairs[j]
		}
		return &out
	}
	return mk(trainIdx), mk(testIdx)
}

// holdOut picks round(frac·n) of n items to hold out (at least 1 when
// frac > 0, and at least 1 item stays for training) by a permutation from
// r, and returns the indices of the training and the held-out items; nil,
// nil when it holds none out, and then r is not drawn from.
func holdOut(n int, frac float64, r *rand.Rand) (train, test []int) {
	k := int(math.Round(frac * float64(n)))
	if frac > 0 && k == 0 {
		k = 1
	}
	if k >= n {
		k = n - 1
	}
	if k <= 0 {
		return nil, nil
	}
	perm := r.Perm(n)
	return perm[k:], perm[:k]
}
