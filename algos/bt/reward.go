package bt

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/nn"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/alignlab/alignlab/algos/backend"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

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

// The optimizers (RewardConfig.Optimizer).
const (
	OptimizerAdam = "adam"
	OptimizerSGD  = "sgd" // plain gradient descent, no decay
)

// RewardConfig configures TrainReward.
type RewardConfig struct {
	Model  string // ModelLinear or ModelMLP
	Hidden int    // units per hidden layer (ModelMLP)
	Layers int    // hidden layers (ModelMLP), ≥ 1
	Loss   string // one of RewardLosses
	// Steps are the optimizer steps (of the scaled-BT stage for
	// LossRegressionThenScaledBT); RegressionSteps those of its regression stage.
	Steps, RegressionSteps int
	LearningRate           float64
	Optimizer              string // OptimizerAdam or OptimizerSGD
	// BatchSize is the pairs per step; 0 (or ≥ the pairs) means full batch.
	BatchSize int
	// L2 adds L2·Σ‖W‖² over the weight matrices (not the biases).
	L2 float64
	// EvalEvery is the step interval of the metrics TrainReward records.
	EvalEvery int
	// Backend is the GoMLX backend configuration ("" means "go").
	Backend string
}

// DefaultRewardConfig is the plugin's default: a linear Bradley–Terry reward
// model, 300 full-batch Adam steps at learning rate 0.05.
func DefaultRewardConfig() RewardConfig {
	return RewardConfig{Model: ModelLinear, Hidden: 32, Layers: 1, Loss: LossBT,
		Steps: 300, RegressionSteps: 150, LearningRate: 0.05, Optimizer: OptimizerAdam, EvalEvery: 25}
}

func (c *RewardConfig) check() error {
	switch {
	case c.Model != ModelLinear && c.Model != ModelMLP:
		return fmt.Errorf("bt: model: want %s or %s, got %q", ModelLinear, ModelMLP, c.Model)
	case c.Model == ModelMLP && (c.Hidden < 1 || c.Layers < 1):
		return fmt.Errorf("bt: mlp: want hidden ≥ 1 and layers ≥ 1, got %d and %d", c.Hidden, c.Layers)
	case !validLoss(c.Loss):
		return fmt.Errorf("bt: loss: want one of %s, got %q", strings.Join(RewardLosses, ", "), c.Loss)
	case c.Steps < 0 || c.RegressionSteps < 0:
		return fmt.Errorf("bt: steps: want ≥ 0, got %d and %d", c.Steps, c.RegressionSteps)
	case !(c.LearningRate > 0) || math.IsInf(c.LearningRate, 0):
		return fmt.Errorf("bt: learning rate: want a finite number > 0, got %v", c.LearningRate)
	case c.Optimizer != OptimizerAdam && c.Optimizer != OptimizerSGD:
		return fmt.Errorf("bt: optimizer: want %s or %s, got %q", OptimizerAdam, OptimizerSGD, c.Optimizer)
	case c.BatchSize < 0:
		return fmt.Errorf("bt: batch size: want ≥ 0, got %d", c.BatchSize)
	case !(c.L2 >= 0) || math.IsInf(c.L2, 0):
		return fmt.Errorf("bt: l2: want a finite number ≥ 0, got %v", c.L2)
	}
	return nil
}

func validLoss(l string) bool {
	for _, v := range RewardLosses {
		if l == v {
			return true
		}
	}
	return false
}

// RewardPairLosses returns the per-pair losses ℓ_i of rewards rw (chosen)
// and rl (rejected), all of shape [n], for a single-stage loss: strengths m
// are read by LossMarginBT and LossScaledBT, ratings sw and sl by
// LossRegression (other arguments may be nil). Every form is built from
// softplus(z) = log(1 + e^z) = −log σ(−z), which stays finite for any Δ.
func RewardPairLosses(loss string, rw, rl, m, sw, sl *Node) *Node {
	switch loss {
	case LossBT:
		return Softplus(Sub(rl, rw))
	case LossMarginBT:
		return Softplus(Sub(m, Sub(rw, rl)))
	case LossScaledBT:
		return Mul(m, Softplus(Sub(rl, rw)))
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
		return softplus(rl - rw)
	case LossMarginBT:
		return softplus(m - (rw - rl))
	case LossScaledBT:
		return m * softplus(rl-rw)
	case LossRegression:
		return ((rw-sw)*(rw-sw) + (rl-sl)*(rl-sl)) / 2
	}
	panic(fmt.Sprintf("bt: RewardPairLossFloat64: unknown single-stage loss %q", loss))
}

// softplus is log(1 + e^z) without overflow.
func softplus(z float64) float64 {
	if z > 0 {
		return z + math.Log1p(math.Exp(-z))
	}
	return math.Log1p(math.Exp(z))
}

// RewardLayer is one dense layer of a RewardModel: out = act(in·W + B), W
// row-major [In, Out] (GoMLX's layers.Dense layout).
type RewardLayer struct {
	In, Out int
	W, B    []float64
}

// RewardModel is a trained reward model r(z), z = [prompt, response]
// features: tanh hidden layers (none for ModelLinear) and a linear output.
type RewardModel struct {
	Kind   string
	In     int
	Hidden []RewardLayer
	Output RewardLayer // Out = 1
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

// Recorder receives a metric value at a step (a kernel.Job's Record); a
// non-nil error stops training and is returned.
type Recorder func(step int64, metric string, value float64) error

// RewardTrainer takes optimizer steps of one single-stage loss on a set of
// pairs (TrainReward's loop without the schedule).
type RewardTrainer struct {
	cfg     RewardConfig
	loss    string
	backend compute.Backend
	store   *model.Store
	layers  []layerVars // hidden layers then the output
	exec    *model.Exec
	r       *rand.Rand

	n, in        int       // training pairs (ties dropped for pairwise losses), input width
	xw, xl       []float64 // [n, in] inputs of the chosen and rejected responses
	m, w, sw, sl []float64 // [n] strength, weight, ratings
	batch        int
	perm         []int
	cursor       int
	full         []any
}

type layerVars struct {
	in, out int
	w, b    *model.Variable
}

// NewRewardTrainer prepares the training of cfg.Model with the single-stage
// loss on data. init, when not nil, is the starting model (same shape);
// otherwise weights start at zero for the linear model and the output layer,
// and hidden weights are drawn N(0, 1/fan_in) from r. r also orders the
// minibatches.
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
	be, err := backend.Get(cfg.Backend)
	if err != nil {
		return nil, err
	}
	defer recoverGraph(&err)
	t = &RewardTrainer{cfg: cfg, loss: loss, backend: be, r: r, in: data.PromptDim + data.Dim}
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
	t.batch = t.n
	if cfg.BatchSize > 0 && cfg.BatchSize < t.n {
		t.batch = cfg.BatchSize
	}
	t.full = t.inputs(nil)
	if err := t.build(init); err != nil {
		return nil, err
	}
	return t, nil
}

// recoverGraph turns a panic of GoMLX graph building or execution into *err.
func recoverGraph(err *error) {
	if p := recover(); p != nil {
		if e, ok := p.(error); ok {
			*err = fmt.Errorf("bt: %w", e)
		} else {
			*err = fmt.Errorf("bt: %v", p)
		}
	}
}

// inputs returns the step inputs for the pairs idx (nil: all of them).
func (t *RewardTrainer) inputs(idx []int) []any {
	if idx == nil {
		b, in := t.n, t.in
		return []any{
			tensors.FromFlatDataAndDimensions(t.xw, b, in), tensors.FromFlatDataAndDimensions(t.xl, b, in),
			tensors.FromFlatDataAndDimensions(t.m, b), tensors.FromFlatDataAndDimensions(t.w, b),
			tensors.FromFlatDataAndDimensions(t.sw, b), tensors.FromFlatDataAndDimensions(t.sl, b),
		}
	}
	b, in := len(idx), t.in
	xw, xl := make([]float64, b*in), make([]float64, b*in)
	m, w, sw, sl := make([]float64, b), make([]float64, b), make([]float64, b), make([]float64, b)
	for k, i := range idx {
		copy(xw[k*in:(k+1)*in], t.xw[i*in:(i+1)*in])
		copy(xl[k*in:(k+1)*in], t.xl[i*in:(i+1)*in])
		m[k], w[k], sw[k], sl[k] = t.m[i], t.w[i], t.sw[i], t.sl[i]
	}
	return []any{
		tensors.FromFlatDataAndDimensions(xw, b, in), tensors.FromFlatDataAndDimensions(xl, b, in),
		tensors.FromFlatDataAndDimensions(m, b), tensors.FromFlatDataAndDimensions(w, b),
		tensors.FromFlatDataAndDimensions(sw, b), tensors.FromFlatDataAndDimensions(sl, b),
	}
}

func (t *RewardTrainer) build(init *RewardModel) error {
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
					w[i] = t.r.NormFloat64() * sd
				}
			}
		}
		if len(w) != s[0]*s[1] || len(b) != s[1] {
			return fmt.Errorf("bt: init layer %d has %d weights and %d biases, want %d and %d", l, len(w), len(b), s[0]*s[1], s[1])
		}
		wv := scope.VariableWithValue("weights", tensors.FromFlatDataAndDimensions(w, s[0], s[1]))
		bv := scope.VariableWithValue("biases", tensors.FromFlatDataAndDimensions(b, s[1]))
		t.layers = append(t.layers, layerVars{in: s[0], out: s[1], w: wv, b: bv})
	}
	var opt optimizer.Interface
	if cfg.Optimizer == OptimizerSGD {
		opt = optimizer.StochasticGradientDescent().WithDecay(false).WithLearningRate(cfg.LearningRate).Done()
	} else {
		opt = optimizer.Adam().LearningRate(cfg.LearningRate).Done()
	}
	var err error
	t.exec, err = model.NewExec(t.backend, t.store, func(scope *model.Scope, in []*Node) *Node {
		g := in[0].Graph()
		// Outside training mode the Go backend bakes variables into the
		// compiled graph as constants, which would freeze the weights.
		scope.SetTraining(g, true)
		rw, rl := t.forward(in[0]), t.forward(in[1])
		per := RewardPairLosses(t.loss, rw, rl, in[2], in[4], in[5])
		w := in[3]
		loss := Div(ReduceAllSum(Mul(w, per)), ReduceAllSum(w))
		total := loss
		if cfg.L2 > 0 {
			for _, lv := range t.layers {
				total = Add(total, MulScalar(ReduceAllSum(Square(lv.w.NodeValue(g))), cfg.L2))
			}
		}
		opt.UpdateGraph(scope, g, total)
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
	defer recoverGraph(&err)
	in := t.full
	if t.batch < t.n {
		idx := make([]int, t.batch)
		for k := range idx {
			if t.cursor == len(t.perm) {
				t.perm = t.r.Perm(t.n)
				t.cursor = 0
			}
			idx[k] = t.perm[t.cursor]
			t.cursor++
		}
		in = t.inputs(idx)
	}
	out, err := t.exec.Call(in...)
	if err != nil {
		return 0, err
	}
	return tensors.ToScalar[float64](out[0]), nil
}

// Model returns a copy of the current model.
func (t *RewardTrainer) Model() (m *RewardModel, err error) {
	defer recoverGraph(&err)
	m = &RewardModel{Kind: t.cfg.Model, In: t.in}
	for l, lv := range t.layers {
		w, err := lv.w.Value()
		if err != nil {
			return nil, err
		}
		b, err := lv.b.Value()
		if err != nil {
			return nil, err
		}
		layer := RewardLayer{In: lv.in, Out: lv.out, W: tensors.MustCopyFlatData[float64](w), B: tensors.MustCopyFlatData[float64](b)}
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
		acc += agreement(rw - rl)
		margin += rw - rl
		if truth != nil {
			d := p.TrueDelta()
			a := agreement((rw - rl) * sign64(d))
			accTrue += a
			if truth.Flip != nil {
				bayes += 1 - truth.Flip[truth.TrueStrength(d)-1]
			} else {
				bayes += sigmoid(math.Abs(d))
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

// agreement is 1 when a reward difference agrees with the label, ½ on a tie.
func agreement(d float64) float64 {
	switch {
	case d > 0:
		return 1
	case d == 0:
		return 0.5
	}
	return 0
}

func sign64(v float64) float64 { return float64(sign(v)) }

// RewardFit is the result of TrainReward.
type RewardFit struct {
	Model       *RewardModel
	Train, Test RewardMetrics // Test is zero when no test pairs were given
	Steps       int           // optimizer steps taken over all stages
}

// TrainReward trains a reward model on train with cfg.Loss (two stages for
// LossRegressionThenScaledBT) and measures it on train and test (test may be
// nil). Every cfg.EvalEvery steps, and at the end of each stage, it records
// loss (the batch loss before the step), train_accuracy and, with test
// pairs, test_accuracy (and test_accuracy_true on planted data); steps count
// across the stages.
func TrainReward(ctx context.Context, train, test *datasets.RewardPairs, cfg RewardConfig, r *rand.Rand, rec Recorder) (*RewardFit, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.EvalEvery < 1 {
		cfg.EvalEvery = 1
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
	var current *RewardModel
	step := 0
	record := func(loss float64) error {
		if rec == nil {
			return nil
		}
		if err := rec(int64(step), "loss", loss); err != nil {
			return err
		}
		m := EvaluateReward(current, train, "")
		if err := rec(int64(step), "train_accuracy", m.Accuracy); err != nil {
			return err
		}
		if test != nil {
			mt := EvaluateReward(current, test, "")
			if err := rec(int64(step), "test_accuracy", mt.Accuracy); err != nil {
				return err
			}
			if !math.IsNaN(mt.AccuracyTrue) {
				if err := rec(int64(step), "test_accuracy_true", mt.AccuracyTrue); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, st := range stages {
		t, err := NewRewardTrainer(train, cfg, st.loss, current, r)
		if err != nil {
			return nil, err
		}
		for k := 1; k <= st.steps; k++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			loss, err := t.Step()
			if err != nil {
				return nil, fmt.Errorf("bt: %s step %d: %w", st.loss, k, err)
			}
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				if rec != nil {
					if err := rec(int64(step+1), "loss", loss); err != nil {
						return nil, err
					}
				}
				return nil, fmt.Errorf("bt: %s step %d: loss is %v; try a smaller learning_rate", st.loss, k, loss)
			}
			step++
			if k%cfg.EvalEvery == 0 || k == st.steps {
				if current, err = t.Model(); err != nil {
					return nil, err
				}
				if err := record(loss); err != nil {
					return nil, err
				}
			}
		}
		if current, err = t.Model(); err != nil {
			return nil, err
		}
	}
	fit := &RewardFit{Model: current, Steps: step, Train: EvaluateReward(current, train, cfg.Loss)}
	if test != nil {
		fit.Test = EvaluateReward(current, test, cfg.Loss)
	}
	return fit, nil
}

// Parameter keys of the bt.reward and bt.reward_losses plugins. Keys shared
// with GoMLX (and the dpo plugins) have GoMLX's names.
const (
	// ParamModel (choice, default "linear"): ModelLinear or ModelMLP.
	ParamModel = "model"
	// ParamHidden (int, default 32): MLP units per hidden layer (GoMLX's key).
	ParamHidden = "fnn_num_hidden_nodes"
	// ParamLayers (int, default 1): MLP hidden layers (GoMLX's key).
	ParamLayers = "fnn_num_hidden_layers"
	// ParamLoss (choice, default "bt"): one of RewardLosses.
	ParamLoss = "loss"
	// ParamSteps (int, default 300): optimizer steps (of the scaled-BT
	// stage for regression_then_scaled_bt).
	ParamSteps = "steps"
	// ParamRegressionSteps (int, default 150): steps of the regression
	// stage of regression_then_scaled_bt.
	ParamRegressionSteps = "regression_steps"
	// ParamOptimizer (choice, default "adam"): adam or sgd (GoMLX's key).
	ParamOptimizer = "optimizer"
	// ParamLearningRate (float, default 0.05): the optimizer's learning rate (GoMLX's key).
	ParamLearningRate = "learning_rate"
	// ParamBatchSize (int, default 0): pairs per step; 0 is the full batch.
	ParamBatchSize = "batch_size"
	// ParamL2 (float, default 0): adds l2·Σ‖W‖² over the weight matrices (GoMLX's key).
	ParamL2 = "l2_regularization"
	// ParamEvalEvery (int, default 25): steps between recorded metrics.
	ParamEvalEvery = "eval_every"
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

var _ kernel.Plugin = rewardPlugin{}

// rewardParams are the model and optimizer params shared by bt.reward and bt.reward_losses.
func rewardParams(def RewardConfig) []kernel.Param {
	pos := kernel.Range{Min: 0, Max: math.Inf(1), MinExclusive: true}
	return []kernel.Param{
		kernel.ChoiceParam(ParamModel, def.Model, []string{ModelLinear, ModelMLP}, "linear: r = w·z + b; mlp: tanh hidden layers, z = [prompt, response] features"),
		kernel.IntParam(ParamHidden, int64(def.Hidden), 1, 1<<14, "MLP units per hidden layer"),
		kernel.IntParam(ParamLayers, int64(def.Layers), 1, 16, "MLP hidden layers"),
		kernel.IntParam(ParamSteps, int64(def.Steps), 1, math.MaxInt32, "optimizer steps (of the scaled-BT stage for regression_then_scaled_bt)"),
		kernel.IntParam(ParamRegressionSteps, int64(def.RegressionSteps), 1, math.MaxInt32, "steps of the regression stage of regression_then_scaled_bt"),
		kernel.ChoiceParam(ParamOptimizer, def.Optimizer, []string{OptimizerAdam, OptimizerSGD}, "GoMLX optimizer (sgd: constant learning rate)"),
		{Key: ParamLearningRate, Type: kernel.Float, Default: def.LearningRate, Range: pos, Doc: "optimizer learning rate"},
		kernel.IntParam(ParamBatchSize, int64(def.BatchSize), 0, math.MaxInt32, "pairs per step; 0 = full batch"),
		kernel.FloatParam(ParamL2, def.L2, 0, math.Inf(1), "adds l2·Σ‖W‖² over the weight matrices (not biases)"),
	}
}

func rewardConfigFrom(p kernel.Params, backendName string) RewardConfig {
	return RewardConfig{
		Model: p.String(ParamModel), Hidden: p.Int(ParamHidden), Layers: p.Int(ParamLayers),
		Steps: p.Int(ParamSteps), RegressionSteps: p.Int(ParamRegressionSteps),
		Optimizer: p.String(ParamOptimizer), LearningRate: p.Float(ParamLearningRate),
		BatchSize: p.Int(ParamBatchSize), L2: p.Float(ParamL2), Backend: backendName,
	}
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
	params = append(params, rewardParams(def)...)
	params = append(params,
		kernel.IntParam(ParamEvalEvery, 25, 1, math.MaxInt32, "steps between recorded metrics"),
		kernel.FloatParam(ParamHoldout, 0.2, 0, 0.9, "loaded data: fraction of pairs held out for the test metrics"),
		kernel.IntParam(ParamHashDim, datasets.DefaultHashDim, 1, 1<<20, "text data: feature-hashing buckets per text"),
		kernel.ChoiceParam(ParamSynthetic, SyntheticBT, []string{SyntheticBT, SyntheticHelpSteer}, "no --data: plain Bradley–Terry labels, or HelpSteer-style strengths, noise and ratings"),
		kernel.ChoiceParam(ParamRewardShape, datasets.RewardLinear, datasets.RewardShapes, "no --data: the planted reward r*(y), linear or half quadratic"),
		kernel.IntParam(ParamDim, 16, 3, 1<<14, "no --data: response feature dimension"),
		kernel.IntParam(ParamPairs, 2000, 1, 1<<24, "no --data: training pairs"),
		kernel.IntParam(ParamTestPairs, 1000, 1, 1<<24, "no --data: held-out pairs"),
		kernel.Param{Key: ParamRewardScale, Type: kernel.Float, Default: 2.0, Range: kernel.Range{Min: 0, Max: 100, MinExclusive: true},
			Doc: "no --data: standard deviation of the planted reward r*(y)"},
	)
	return kernel.Info{
		ID:      "bt.reward",
		Summary: "Bradley–Terry reward model (linear or MLP, GoMLX) on response features, with the HelpSteer2-Preference loss variants",
		Papers:  []kernel.Paper{PaperBradleyTerry, PaperInstructGPT, PaperHelpSteer2Preference},
		Params:  params,
		Data:    RewardPairsFormats,
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
N(0, 1/fan_in), seeded).

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
reads pairs (one or more files) and holds out a seeded fraction, holdout, for testing.`,
	}
}

func (rewardPlugin) Run(job *kernel.Job) error {
	prm := job.Params
	cfg := rewardConfigFrom(prm, job.Backend)
	cfg.Loss = prm.String(ParamLoss)
	cfg.EvalEvery = prm.Int(ParamEvalEvery)
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
		all, err := loadPairsFiles(job.Data, prm.Int(ParamHashDim))
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
	total := cfg.Steps
	if cfg.Loss == LossRegressionThenScaledBT {
		total += cfg.RegressionSteps
	}
	job.SetTotal(int64(total))
	fit, err := TrainReward(job.Context(), train, test, cfg, job.Rand(), job.Record)
	if err != nil {
		return err
	}
	job.SetFinal("pairs", float64(len(train.Pairs)))
	job.SetFinal("steps", float64(fit.Steps))
	job.SetFinal("train_accuracy", fit.Train.Accuracy)
	job.SetFinal("train_margin", fit.Train.Margin)
	setIfFinite(job, "train_loss", fit.Train.Loss)
	setIfFinite(job, "rating_rmse", fit.Train.RatingRMSE)
	if test != nil {
		job.SetFinal("test_pairs", float64(len(test.Pairs)))
		job.SetFinal("test_accuracy", fit.Test.Accuracy)
		job.SetFinal("test_margin", fit.Test.Margin)
		setIfFinite(job, "test_loss", fit.Test.Loss)
		setIfFinite(job, "bayes_accuracy", fit.Test.BayesAccuracy)
		setIfFinite(job, "test_accuracy_true", fit.Test.AccuracyTrue)
		setIfFinite(job, "reward_pearson", fit.Test.Pearson)
		setIfFinite(job, "reward_spearman", fit.Test.Spearman)
	}
	if w, _ := fit.Model.Linear(); w != nil {
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
			rw, rl := fit.Model.ScorePair(p)
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

// loadPairsFiles loads and concatenates pair files, which must agree on
// their form and dimensions.
func loadPairsFiles(paths []string, hashDim int) (*datasets.RewardPairs, error) {
	var all *datasets.RewardPairs
	for _, path := range paths {
		p, err := datasets.LoadRewardPairs(path, &datasets.PairsOptions{HashDim: hashDim})
		if err != nil {
			return nil, err
		}
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
