package bt

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/nn"

	"github.com/alignlab/alignlab/algos/backend"
	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/algos/pairloss"
	"github.com/alignlab/alignlab/datasets"
)

// This file holds the Bradley–Terry reward model and its training: the
// HelpSteer2-Preference losses (pair losses from package pairloss), the
// model r(z), the trainer (GoMLX, one step at a time), the metrics and
// TrainReward (the one- or two-stage loop, on fit.Loop). The plugin
// bt.reward is in reward_plugin.go, the loss comparison bt.reward_losses in
// helpsteer.go.

// The reward-model losses (RewardConfig.Loss, the plugins' ParamLoss).
// With Δ = r(y_w) − r(y_l) and preference strength m (HelpSteer2-Preference,
// Wang et al. 2024):
const (
	LossBT       = "bt"        // −log σ(Δ)
	LossMarginBT = "margin_bt" // −log σ(Δ − m)
	LossScaledBT = "scaled_bt" // −m · log σ(Δ)
	// LossRegression is ½[(r(y_w) − s_w)² + (r(y_l) − s_l)²] on the ratings s.
	LossRegression = "regression"
	// LossRegressionThenScaledBT trains LossRegression for
	// RewardConfig.RegressionSteps, then LossScaledBT from there for
	// RewardConfig.Steps, with a fresh optimizer: the paper's best recipe.
	LossRegressionThenScaledBT = "regression_then_scaled_bt"
)

// RewardLosses lists the losses, the default first.
var RewardLosses = []string{LossBT, LossMarginBT, LossScaledBT, LossRegression, LossRegressionThenScaledBT}

// The reward-model architectures (RewardConfig.Model).
const (
	// ModelLinear is r(x, y) = w·z + b, z = [prompt features, response features].
	ModelLinear = "linear"
	// ModelMLP is tanh hidden layers then a linear output, on the same z.
	ModelMLP = "mlp"
)

// RewardConfig configures TrainReward.
type RewardConfig struct {
	Model  string // ModelLinear or ModelMLP
	Hidden int    // units per hidden layer (ModelMLP)
	Layers int    // hidden layers (ModelMLP), ≥ 1
	Loss   string // one of RewardLosses
	// Config holds the optimizer (fit.Adam or fit.SGD; fit.AdamW with
	// WeightDecay), its learning rate, the Steps (of the scaled-BT stage for
	// LossRegressionThenScaledBT), BatchSize (pairs per step; 0, or ≥ the
	// pairs, means full batch) and EvalEvery (the step interval of the
	// metrics TrainReward records; 0 means every step).
	fit.Config
	// RegressionSteps are the steps of the regression stage of
	// LossRegressionThenScaledBT.
	RegressionSteps int
	// L2 adds L2·Σ‖W‖² over the weight matrices (not the biases).
	L2 float64
	// Backend is the GoMLX backend configuration ("" means "go").
	Backend string
	// DType is the float type of the model's variables, its inputs and
	// the whole training graph: fit.DTypeFloat32, fit.DTypeFloat64, or
	// fit.DTypeAuto ("" too), which is float32 for ModelMLP and float64
	// for ModelLinear, the exact testbed. Losses, metrics and the returned
	// RewardModel are float64 in Go either way.
	DType string
}

// DefaultRewardConfig is the plugin's default: a linear Bradley–Terry reward
// model, 300 full-batch Adam steps at learning rate 0.05.
func DefaultRewardConfig() RewardConfig {
	return RewardConfig{Model: ModelLinear, Hidden: 32, Layers: 1, Loss: LossBT, RegressionSteps: 150,
		Config: fit.Config{Optimizer: fit.Adam, LearningRate: 0.05, Steps: 300, EvalEvery: 25}}
}

func (c *RewardConfig) check() error {
	switch {
	case c.Model != ModelLinear && c.Model != ModelMLP:
		return fmt.Errorf("bt: model: want %s or %s, got %q", ModelLinear, ModelMLP, c.Model)
	case c.Model == ModelMLP && (c.Hidden < 1 || c.Layers < 1):
		return fmt.Errorf("bt: mlp: want hidden ≥ 1 and layers ≥ 1, got %d and %d", c.Hidden, c.Layers)
	case !validLoss(c.Loss):
		return fmt.Errorf("bt: loss: want one of %s, got %q", strings.Join(RewardLosses, ", "), c.Loss)
	case c.RegressionSteps < 0:
		return fmt.Errorf("bt: regression steps: want ≥ 0, got %d", c.RegressionSteps)
	case !(c.L2 >= 0) || math.IsInf(c.L2, 0):
		return fmt.Errorf("bt: l2: want a finite number ≥ 0, got %v", c.L2)
	}
	if _, err := c.dtype(); err != nil {
		return fmt.Errorf("bt: %s: want one of %s, got %q", fit.ParamDType, strings.Join(fit.DTypes, ", "), c.DType)
	}
	return checkTraining("bt", c.Config)
}

// dtype resolves DType: auto is float32 for the MLP, the neural model.
func (c *RewardConfig) dtype() (dtypes.DType, error) {
	return fit.ResolveDType(c.DType, c.Model == ModelMLP)
}

// checkTraining checks the shared hyperparameters, EvalEvery 0 meaning
// every step.
func checkTraining(prefix string, c fit.Config) error {
	c.EvalEvery = max(c.EvalEvery, 1)
	return c.Check(prefix)
}

func validLoss(l string) bool {
	for _, v := range RewardLosses {
		if l == v {
			return true
		}
	}
	return false
}

// The pair losses of the pairwise reward losses, on h = Δ = r(y_w) − r(y_l):
// Bradley–Terry is the logistic loss at β = 1, −log σ(Δ); margin BT the
// margin loss −log σ(Δ − m) with the pair's strength as m.
var (
	lossBradleyTerry = pairloss.Loss{Kind: pairloss.Logistic, Beta: 1}
	lossMarginBT     = pairloss.Loss{Kind: pairloss.Margin, Beta: 1}
)

// RewardPairLosses returns the per-pair losses ℓ_i of rewards rw (chosen)
// and rl (rejected), all of shape [n], for a single-stage loss: strengths m
// are read by LossMarginBT and LossScaledBT, ratings sw and sl by
// LossRegression (other arguments may be nil). The pairwise losses are
// pairloss's, on h = rw − rl: bt the logistic loss (β = 1), margin_bt the
// margin loss with the per-pair margin m, scaled_bt m times the logistic
// loss; all stay finite for any Δ (pairloss.SoftplusNeg).
func RewardPairLosses(loss string, rw, rl, m, sw, sl *Node) *Node {
	switch loss {
	case LossBT:
		return lossBradleyTerry.Pairs(Sub(rw, rl))
	case LossMarginBT:
		return lossMarginBT.PairsMargin(Sub(rw, rl), m)
	case LossScaledBT:
		return Mul(m, lossBradleyTerry.Pairs(Sub(rw, rl)))
	case LossRegression:
		return MulScalar(Add(Square(Sub(rw, sw)), Square(Sub(rl, sl))), 0.5)
	}
	panic(fmt.Sprintf("bt: RewardPairLosses: want a single-stage loss (%s, %s, %s, %s), got %q",
		LossBT, LossMarginBT, LossScaledBT, LossRegression, loss))
}

// RewardPairLossFloat64 is RewardPairLosses for one pair in float64.
func RewardPairLossFloat64(loss string, rw, rl, m, sw, sl float64) float64 {
	switch loss {
	case LossBT:
		return lossBradleyTerry.Float64(rw - rl)
	case LossMarginBT:
		margin := lossMarginBT
		margin.Margin = m
		return margin.Float64(rw - rl)
	case LossScaledBT:
		return m * lossBradleyTerry.Float64(rw-rl)
	case LossRegression:
		return ((rw-sw)*(rw-sw) + (rl-sl)*(rl-sl)) / 2
	}
	panic(fmt.Sprintf("bt: RewardPairLossFloat64: unknown single-stage loss %q", loss))
}

// RewardLayer is one dense layer of a RewardModel: out = act(in·W + B), W
// row-major [In, Out] (GoMLX's layers.Dense layout).
type RewardLayer struct {
	In, Out int
	W, B    []float64
}

// RewardModel is a trained reward model r(z), z = [prompt, response]
// features: tanh hidden layers (none for ModelLinear) and a linear output.
// Score computes in float64 whatever the model was trained in.
type RewardModel struct {
	Kind   string
	In     int
	Hidden []RewardLayer
	Output RewardLayer // Out = 1
	// DType is the float type it was trained in, dtypes.Float32 or
	// dtypes.Float64 (the zero value, dtypes.InvalidDType, means Float64):
	// the weights hold values exact in it, so that a float32 model saves
	// as float32 without rounding.
	DType dtypes.DType
}

// dtype is DType with the zero value read as Float64.
func (m *RewardModel) dtype() dtypes.DType {
	if m.DType == dtypes.Float32 {
		return dtypes.Float32
	}
	return dtypes.Float64
}

// Score returns r(z) for an input of length In.
func (m *RewardModel) Score(z []float64) float64 {
	h := z
	for _, l := range m.Hidden {
		next := make([]float64, l.Out)
		for o := range next {
			next[o] = l.B[o]
		}
		for i, v := range h {
			row := l.W[i*l.Out : (i+1)*l.Out]
			for o := range next {
				next[o] += v * row[o]
			}
		}
		for o := range next {
			next[o] = math.Tanh(next[o])
		}
		h = next
	}
	s := m.Output.B[0]
	for i, v := range h {
		s += v * m.Output.W[i]
	}
	return s
}

// ScorePair returns r(x, y_w) and r(x, y_l) of a pair.
func (m *RewardModel) ScorePair(p *datasets.RewardPair) (rw, rl float64) {
	return m.Score(rewardInput(p.Prompt, p.Chosen)), m.Score(rewardInput(p.Prompt, p.Rejected))
}

// Linear returns the weights and bias of a ModelLinear model (nil for an MLP).
func (m *RewardModel) Linear() (w []float64, b float64) {
	if len(m.Hidden) > 0 {
		return nil, 0
	}
	return append([]float64(nil), m.Output.W...), m.Output.B[0]
}

func rewardInput(prompt, response []float64) []float64 {
	if len(prompt) == 0 {
		return response
	}
	z := make([]float64, 0, len(prompt)+len(response))
	return append(append(z, prompt...), response...)
}

// RewardTrainer takes optimizer steps of one single-stage loss on a set of
// pairs (TrainReward's loop without the schedule).
type RewardTrainer struct {
	cfg     RewardConfig
	loss    string
	dt      dtypes.DType // of the variables, the inputs and the graph
	backend compute.Backend
	store   *model.Store
	layers  []layerVars // hidden layers then the output
	exec    *model.Exec

	n, in        int       // training pairs (ties dropped for pairwise losses), input width
	xw, xl       []float64 // [n, in] inputs of the chosen and rejected responses
	m, w, sw, sl []float64 // [n] strength, weight, ratings
	batches      *fit.Batcher
	full         []any
}

type layerVars struct {
	in, out int
	w, b    *model.Variable
}

// NewRewardTrainer prepares the training of cfg.Model with the single-stage
// loss on data, in cfg's DType. init, when not nil, is the starting model
// (same shape; its weights rounded to float32 for a float32 run);
// otherwise weights start at zero for the linear model and the output
// layer, and hidden weights are drawn N(0, 1/fan_in) from r (in float64,
// then rounded: a float32 run starts from the float64 run's weights,
// rounded). r also orders the minibatches.
func NewRewardTrainer(data *datasets.RewardPairs, cfg RewardConfig, loss string, init *RewardModel, r *rand.Rand) (t *RewardTrainer, err error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	switch loss {
	case LossBT, LossMarginBT, LossScaledBT, LossRegression:
	default:
		return nil, fmt.Errorf("bt: NewRewardTrainer: want a single-stage loss, got %q", loss)
	}
	if data == nil || len(data.Pairs) == 0 {
		return nil, errors.New("bt: no pairs to train the reward model on")
	}
	if loss == LossRegression && !data.HasRatings {
		return nil, errors.New("bt: loss regression needs ratings (chosen_rating and rejected_rating on every pair)")
	}
	dt, err := cfg.dtype()
	if err != nil {
		return nil, err
	}
	be, err := backend.Get(cfg.Backend)
	if err != nil {
		return nil, err
	}
	defer fit.Catch("bt", &err)
	t = &RewardTrainer{cfg: cfg, loss: loss, dt: dt, backend: be, in: data.PromptDim + data.Dim}
	for i := range data.Pairs {
		p := &data.Pairs[i]
		if loss != LossRegression && p.Strength == 0 {
			continue // a tie says nothing about the order
		}
		t.xw = append(t.xw, rewardInput(p.Prompt, p.Chosen)...)
		t.xl = append(t.xl, rewardInput(p.Prompt, p.Rejected)...)
		t.m = append(t.m, p.Strength)
		t.w = append(t.w, p.Weight)
		sw, sl := p.ChosenRating, p.RejectedRating
		if math.IsNaN(sw) {
			sw, sl = 0, 0
		}
		t.sw = append(t.sw, sw)
		t.sl = append(t.sl, sl)
		t.n++
	}
	if t.n == 0 {
		return nil, errors.New("bt: every pair is a tie (strength 0): nothing to train a pairwise loss on")
	}
	// The batcher draws its first permutation at the first step, after
	// build has drawn the initial weights from r.
	t.batches = fit.NewBatcher(t.n, cfg.BatchSize, r)
	t.full = t.inputs(nil)
	if err := t.build(init, r); err != nil {
		return nil, err
	}
	return t, nil
}

// inputs returns the step inputs for the pairs idx (nil: all of them), in
// the trainer's dtype.
func (t *RewardTrainer) inputs(idx []int) []any {
	in := t.in
	xw, xl, m, w, sw, sl := t.xw, t.xl, t.m, t.w, t.sw, t.sl
	if idx != nil {
		xw, xl = fit.Rows(xw, in, idx), fit.Rows(xl, in, idx)
		m, w, sw, sl = fit.Rows(m, 1, idx), fit.Rows(w, 1, idx), fit.Rows(sw, 1, idx), fit.Rows(sl, 1, idx)
	}
	b, dt := len(m), t.dt
	return []any{
		fit.Tensor(dt, xw, b, in), fit.Tensor(dt, xl, b, in),
		fit.Tensor(dt, m, b), fit.Tensor(dt, w, b),
		fit.Tensor(dt, sw, b), fit.Tensor(dt, sl, b),
	}
}

func (t *RewardTrainer) build(init *RewardModel, r *rand.Rand) error {
	cfg := t.cfg
	t.store = model.NewStore()
	root := t.store.RootScope().In("reward")
	// Layer shapes: hidden layers then the output.
	var shapes [][2]int
	in := t.in
	if cfg.Model == ModelMLP {
		for range cfg.Layers {
			shapes = append(shapes, [2]int{in, cfg.Hidden})
			in = cfg.Hidden
		}
	}
	shapes = append(shapes, [2]int{in, 1})
	if init != nil {
		if init.In != t.in || len(init.Hidden) != len(shapes)-1 {
			return fmt.Errorf("bt: init model has input %d and %d hidden layers, want %d and %d", init.In, len(init.Hidden), t.in, len(shapes)-1)
		}
	}
	for l, s := range shapes {
		// Variables are created with chosen values, so the initialization is
		// seeded from r, not from GoMLX's own random state.
		name := fmt.Sprintf("hidden%d", l)
		if l == len(shapes)-1 {
			name = "output"
		}
		scope := root.In("%s", name)
		var w, b []float64
		switch {
		case init != nil && l < len(shapes)-1:
			w, b = append([]float64(nil), init.Hidden[l].W...), append([]float64(nil), init.Hidden[l].B...)
		case init != nil:
			w, b = append([]float64(nil), init.Output.W...), append([]float64(nil), init.Output.B...)
		default:
			w, b = make([]float64, s[0]*s[1]), make([]float64, s[1])
			if l < len(shapes)-1 {
				sd := 1 / math.Sqrt(float64(s[0]))
				for i := range w {
					w[i] = r.NormFloat64() * sd
				}
			}
		}
		if len(w) != s[0]*s[1] || len(b) != s[1] {
			return fmt.Errorf("bt: init layer %d has %d weights and %d biases, want %d and %d", l, len(w), len(b), s[0]*s[1], s[1])
		}
		wv := scope.VariableWithValue("weights", fit.Tensor(t.dt, w, s[0], s[1]))
		bv := scope.VariableWithValue("biases", fit.Tensor(t.dt, b, s[1]))
		t.layers = append(t.layers, layerVars{in: s[0], out: s[1], w: wv, b: bv})
	}
	opt, err := cfg.NewOptimizer()
	if err != nil {
		return err
	}
	t.exec, err = model.NewExec(t.backend, t.store, func(scope *model.Scope, in []*Node) *Node {
		g := in[0].Graph()
		// Outside training mode the Go backend bakes variables into the
		// compiled graph as constants, which would freeze the weights.
		scope.SetTraining(g, true)
		rw, rl := t.forward(in[0]), t.forward(in[1])
		loss := pairloss.WeightedMean(RewardPairLosses(t.loss, rw, rl, in[2], in[4], in[5]), in[3])
		total := loss
		if cfg.L2 > 0 {
			for _, lv := range t.layers {
				total = Add(total, MulScalar(ReduceAllSum(Square(lv.w.NodeValue(g))), cfg.L2))
			}
		}
		opt.UpdateGraph(scope, g, total)
		if loss.DType() != dtypes.Float64 {
			loss = ConvertDType(loss, dtypes.Float64)
		}
		return loss
	})
	return err
}

// forward is r(z) for rows z [B, in] → [B], with GoMLX's dense layer
// (nn.Dense, weights [in, out]).
func (t *RewardTrainer) forward(z *Node) *Node {
	g := z.Graph()
	h := z
	for l, lv := range t.layers {
		h = nn.Dense(h, lv.w.NodeValue(g), lv.b.NodeValue(g), compute.DenseLayoutInputOutputs)
		if l < len(t.layers)-1 {
			h = Tanh(h)
		}
	}
	return Reshape(h, z.Shape().Dimensions[0])
}

// Pairs is the number of pairs the trainer trains on (ties dropped for
// pairwise losses).
func (t *RewardTrainer) Pairs() int { return t.n }

// Step takes one optimizer step on the next batch (the full batch, or the
// next BatchSize pairs of a permutation redrawn each epoch) and returns the
// batch loss before the update, without the L2 term.
func (t *RewardTrainer) Step() (loss float64, err error) {
	defer fit.Catch("bt", &err)
	in := t.full
	if !t.batches.Full() {
		in = t.inputs(t.batches.Next())
	}
	out, err := t.exec.Call(in...)
	if err != nil {
		return 0, err
	}
	return tensors.ToScalar[float64](out[0]), nil
}

// Model returns a copy of the current model, its weights in float64 and
// its DType the trainer's.
func (t *RewardTrainer) Model() (m *RewardModel, err error) {
	defer fit.Catch("bt", &err)
	m = &RewardModel{Kind: t.cfg.Model, In: t.in, DType: t.dt}
	for l, lv := range t.layers {
		w, err := lv.w.Value()
		if err != nil {
			return nil, err
		}
		b, err := lv.b.Value()
		if err != nil {
			return nil, err
		}
		layer := RewardLayer{In: lv.in, Out: lv.out}
		if layer.W, err = fit.Float64s(w); err != nil {
			return nil, err
		}
		if layer.B, err = fit.Float64s(b); err != nil {
			return nil, err
		}
		if l == len(t.layers)-1 {
			m.Output = layer
		} else {
			m.Hidden = append(m.Hidden, layer)
		}
	}
	return m, nil
}

// RewardMetrics measure a reward model on a set of pairs.
type RewardMetrics struct {
	Pairs    int     // pairs measured (ties, strength 0, are skipped)
	Accuracy float64 // fraction with r(y_w) > r(y_l) (a tie in r counts ½), against the labels
	Margin   float64 // mean r(y_w) − r(y_l)
	Loss     float64 // mean loss (the single-stage loss measured), NaN if not measured
	// RatingRMSE is √mean (r − rating)² over both responses when the pairs
	// have ratings; NaN otherwise.
	RatingRMSE float64

	// With planted rewards (generated pairs) only, else NaN:
	AccuracyTrue  float64    // against the true ordering, sign(r*(y_w) − r*(y_l))
	BayesAccuracy float64    // expected accuracy of r* itself against the labels
	ByStrength    [3]float64 // AccuracyTrue within true strength buckets 1, 2, 3 (HelpSteer data)
	ByStrengthN   [3]int
	Pearson       float64 // correlation of r and r* over all responses
	Spearman      float64
}

// EvaluateReward measures m on pairs; loss names the loss whose mean is
// reported (LossRegressionThenScaledBT measures LossScaledBT; "" none).
func EvaluateReward(m *RewardModel, pairs *datasets.RewardPairs, loss string) RewardMetrics {
	nan := math.NaN()
	out := RewardMetrics{Loss: nan, RatingRMSE: nan, AccuracyTrue: nan, BayesAccuracy: nan, Pearson: nan, Spearman: nan,
		ByStrength: [3]float64{nan, nan, nan}}
	if loss == LossRegressionThenScaledBT {
		loss = LossScaledBT
	}
	truth := pairs.Truth
	var acc, margin, lsum, wsum, sq, accTrue, bayes float64
	var byS [3]float64
	var pred, planted []float64
	nRated := 0
	for i := range pairs.Pairs {
		p := &pairs.Pairs[i]
		rw, rl := m.ScorePair(p)
		if pairs.HasRatings {
			sq += (rw-p.ChosenRating)*(rw-p.ChosenRating) + (rl-p.RejectedRating)*(rl-p.RejectedRating)
			nRated += 2
		}
		if truth != nil {
			pred = append(pred, rw, rl)
			planted = append(planted, p.ChosenReward, p.RejectedReward)
		}
		if loss != "" && (loss == LossRegression || p.Strength > 0) {
			lsum += p.Weight * RewardPairLossFloat64(loss, rw, rl, p.Strength, p.ChosenRating, p.RejectedRating)
			wsum += p.Weight
		}
		if p.Strength == 0 {
			continue
		}
		out.Pairs++
		acc += pairloss.Agreement(rw - rl)
		margin += rw - rl
		if truth != nil {
			d := p.TrueDelta()
			a := pairloss.Agreement((rw - rl) * sign64(d))
			accTrue += a
			if truth.Flip != nil {
				bayes += 1 - truth.Flip[truth.TrueStrength(d)-1]
			} else {
				bayes += pairloss.Sigmoid(math.Abs(d))
			}
			if truth.Thresholds != nil {
				s := truth.TrueStrength(d) - 1
				byS[s] += a
				out.ByStrengthN[s]++
			}
		}
	}
	if out.Pairs > 0 {
		n := float64(out.Pairs)
		out.Accuracy, out.Margin = acc/n, margin/n
		if truth != nil {
			out.AccuracyTrue, out.BayesAccuracy = accTrue/n, bayes/n
			for s := range byS {
				if out.ByStrengthN[s] > 0 {
					out.ByStrength[s] = byS[s] / float64(out.ByStrengthN[s])
				}
			}
		}
	}
	if wsum > 0 {
		out.Loss = lsum / wsum
	}
	if nRated > 0 {
		out.RatingRMSE = math.Sqrt(sq / float64(nRated))
	}
	if len(pred) >= 2 {
		out.Pearson = Pearson(pred, planted)
		if rho, err := SpearmanRho(pred, planted); err == nil {
			out.Spearman = rho
		}
	}
	return out
}

func sign64(v float64) float64 { return float64(sign(v)) }

// RewardFit is the result of TrainReward.
type RewardFit struct {
	Model       *RewardModel
	Train, Test RewardMetrics // Test is zero when no test pairs were given
	Steps       int           // optimizer steps taken over all stages
}

// TrainReward trains a reward model on train with cfg.Loss (two stages for
// LossRegressionThenScaledBT, each a fit.Loop, the second starting from the
// first's model with a fresh optimizer) and measures it on train and test
// (test may be nil). Every cfg.EvalEvery steps, and at the end of each
// stage, it records loss (the batch loss before the step), train_accuracy
// and, with test pairs, test_accuracy (and test_accuracy_true on planted
// data); steps count across the stages. A NaN or infinite loss stops the
// training, recorded at its step (kernel.Job.Record makes it a
// *kernel.DivergedError).
func TrainReward(ctx context.Context, train, test *datasets.RewardPairs, cfg RewardConfig, r *rand.Rand, rec fit.Recorder) (*RewardFit, error) {
	return TrainRewardFrom(ctx, train, test, cfg, nil, r, rec)
}

// TrainRewardFrom is TrainReward with the first stage starting from init
// (a model of cfg's architecture on the data's input; nil: the usual
// start, zero weights and seeded hidden layers). A warm start draws no
// initial weights from r, so r's later draws (the mini-batches) differ
// from a fresh run's.
func TrainRewardFrom(ctx context.Context, train, test *datasets.RewardPairs, cfg RewardConfig, init *RewardModel, r *rand.Rand, rec fit.Recorder) (*RewardFit, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	stages := []struct {
		loss  string
		steps int
	}{{cfg.Loss, cfg.Steps}}
	if cfg.Loss == LossRegressionThenScaledBT {
		stages = []struct {
			loss  string
			steps int
		}{{LossRegression, cfg.RegressionSteps}, {LossScaledBT, cfg.Steps}}
	}
	current := init
	done := 0 // steps of the finished stages
	for _, st := range stages {
		t, err := NewRewardTrainer(train, cfg, st.loss, current, r)
		if err != nil {
			return nil, err
		}
		loop := fit.NewLoop("bt: "+st.loss, st.steps, func(int) (float64, error) { return t.Step() })
		loop.Watch(t.store)
		if rec != nil {
			offset := int64(done)
			loop.Record = func(step int64, metric string, value float64) error { return rec(offset+step, metric, value) }
			loop.EveryN(cfg.EvalEvery, "eval", func(k int) error {
				m, err := t.Model()
				if err != nil {
					return err
				}
				return recordReward(loop.Record, int64(k), loop.Loss, m, train, test)
			})
		}
		if err := loop.Run(ctx); err != nil {
			return nil, err
		}
		done += st.steps
		if current, err = t.Model(); err != nil {
			return nil, err
		}
	}
	rf := &RewardFit{Model: current, Steps: done, Train: EvaluateReward(current, train, cfg.Loss)}
	if test != nil {
		rf.Test = EvaluateReward(current, test, cfg.Loss)
	}
	return rf, nil
}

// recordReward records, at step, the step's loss and the accuracies of m on
// train and test (test may be nil).
func recordReward(rec fit.Recorder, step int64, loss float64, m *RewardModel, train, test *datasets.RewardPairs) error {
	if err := rec(step, "loss", loss); err != nil {
		return err
	}
	if err := rec(step, "train_accuracy", EvaluateReward(m, train, "").Accuracy); err != nil {
		return err
	}
	if test == nil {
		return nil
	}
	mt := EvaluateReward(m, test, "")
	if err := rec(step, "test_accuracy", mt.Accuracy); err != nil {
		return err
	}
	if !math.IsNaN(mt.AccuracyTrue) {
		return rec(step, "test_accuracy_true", mt.AccuracyTrue)
	}
	return nil
}
