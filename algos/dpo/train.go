package dpo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/alignlab/alignlab/algos/backend"
	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/algos/pairloss"
	"github.com/alignlab/alignlab/datasets"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// The policies Train fits.
const (
	// PolicyLogLinear is π_θ(y|x) ∝ π_ref(y|x)·exp(θ·φ(x, y)), θ ∈ R^d.
	PolicyLogLinear = "loglinear"
	// PolicyMLP is π(y|x) ∝ π_ref(y|x)·exp(f(φ(x, y))) with f a tanh MLP.
	PolicyMLP = "mlp"
)

// The metrics Train records and returns.
const (
	MetricLoss          = "loss"           // the training loss over all pairs, as labelled (without the L2 term)
	MetricAccuracy      = "accuracy"       // fraction of pairs with h > 0, as labelled (ties count ½)
	MetricAccuracyClean = "accuracy_clean" // the same against the labels before flipping (planted data)
	MetricMargin        = "margin"         // mean implicit-reward margin βh
	MetricGap           = "gap"            // J* − J(π) on the held-out prompts (planted data)
	MetricParamError    = "param_error"    // ‖θ − θ*‖/‖θ*‖ (planted data, log-linear policy)
	MetricJ             = "J"              // J(π) = E_x[E_π r* − β KL(π‖π_ref)]
	MetricJStar         = "J_star"         // J(π*) with π* ∝ π_ref·exp(r*/β)
)

// Config is one training run. DefaultConfig gives the defaults the plugins document.
//
// The embedded fit.Config holds the shared hyperparameters: Optimizer
// (fit.Adam, fit.AdamW or fit.SGD), LearningRate, Steps (optimizer steps),
// BatchSize (pairs per step; 0 or ≥ the number of pairs means full batch)
// and EvalEvery (record the metrics every this many steps, and at steps 0
// and Steps).
type Config struct {
	fit.Config
	Loss    Kind
	Beta    float64 // > 0
	Epsilon float64 // assumed flip rate in [0, 0.5), used by cdpo and rdpo
	Policy  string  // PolicyLogLinear or PolicyMLP
	L2      float64 // ≥ 0: adds L2·‖θ‖² (or the sum of squared MLP weights) to the loss
	Radius  float64 // ≥ 0: if > 0, θ is projected onto the ball ‖θ‖ ≤ Radius after each step (log-linear)
	Hidden  int     // MLP units per hidden layer
	Layers  int     // MLP hidden layers
	Backend string  // GoMLX backend configuration; "" means "go"
	// DType is the float type of the policy's variables, inputs and
	// graphs: fit.DTypeFloat32, fit.DTypeFloat64, or fit.DTypeAuto (and
	// "") for float32 with the MLP and float64 with the log-linear policy.
	// The metrics are computed in float64 from the policy's float32 or
	// float64 scores either way.
	DType string
	// Init, if not nil, is the policy training starts from instead of
	// π_ref (θ = 0, or the MLP's zero output layer): a saved Policy of the
	// same architecture, dimension and sizes. The MLP's initial weights are
	// drawn from r all the same, so the mini-batches are those of a fresh run.
	Init *Policy
}

// DefaultConfig returns the defaults of the plugin of kind.
func DefaultConfig(kind Kind) Config {
	eps := 0.0
	if kind == CDPO || kind == RDPO {
		eps = DefaultEpsilon
	}
	return Config{
		Config: fit.Config{Optimizer: fit.Adam, LearningRate: DefaultLearningRate, Steps: DefaultSteps, EvalEvery: DefaultEvalEvery},
		Loss:   kind, Beta: DefaultBeta, Epsilon: eps,
		Policy: PolicyLogLinear, Hidden: DefaultHidden, Layers: DefaultLayers, DType: fit.DTypeAuto,
	}
}

// dtype resolves c.DType for c.Policy.
func (c *Config) dtype() (dtypes.DType, error) {
	dt, err := fit.ResolveDType(c.DType, c.Policy == PolicyMLP)
	if err != nil {
		return dt, fmt.Errorf("dpo: %w", err)
	}
	return dt, nil
}

func (c *Config) check() error {
	if err := checkLoss(c.Loss, c.Beta, c.Epsilon); err != nil {
		return err
	}
	if err := c.Config.Check("dpo"); err != nil {
		return err
	}
	if _, err := c.dtype(); err != nil {
		return err
	}
	switch {
	case c.Policy != PolicyLogLinear && c.Policy != PolicyMLP:
		return fmt.Errorf("dpo: unknown policy %q (known: %s, %s)", c.Policy, PolicyLogLinear, PolicyMLP)
	case !(c.L2 >= 0) || math.IsInf(c.L2, 1):
		return fmt.Errorf("dpo: l2 must be finite and ≥ 0, got %v", c.L2)
	case !(c.Radius >= 0) || math.IsInf(c.Radius, 1):
		return fmt.Errorf("dpo: radius must be finite and ≥ 0, got %v", c.Radius)
	case c.Policy == PolicyMLP && (c.Hidden < 1 || c.Layers < 1):
		return fmt.Errorf("dpo: the MLP needs ≥ 1 hidden layer of ≥ 1 unit, got %d of %d", c.Layers, c.Hidden)
	}
	return nil
}

// Metrics are the measures of a policy on its training pairs and, for
// planted data, against the truth. The Has… fields say which are defined.
type Metrics struct {
	Loss, Accuracy, AccuracyClean, Margin float64
	Gap, ParamError, J, JStar             float64
	HasClean, HasTruth, HasParamError     bool
}

// Each calls fn with the name and value of every defined metric, in a fixed order.
func (m Metrics) Each(fn func(name string, value float64)) {
	fn(MetricLoss, m.Loss)
	fn(MetricAccuracy, m.Accuracy)
	if m.HasClean {
		fn(MetricAccuracyClean, m.AccuracyClean)
	}
	fn(MetricMargin, m.Margin)
	if m.HasTruth {
		fn(MetricGap, m.Gap)
		fn(MetricJ, m.J)
		fn(MetricJStar, m.JStar)
	}
	if m.HasParamError {
		fn(MetricParamError, m.ParamError)
	}
}

// Fit is the outcome of Train.
type Fit struct {
	Theta     []float64 // the learned θ (log-linear policy), else nil
	ThetaStar []float64 // θ* = w*/β (planted data), else nil
	Metrics   Metrics   // at the last step
	Policy    *Policy   // the trained policy, as a run saves it
}

// Trainer holds the constant tensors, variables and executables of one
// training run. Create it with NewTrainer.
type Trainer struct {
	cfg     Config
	data    *datasets.Prefs
	r       *rand.Rand
	backend compute.Backend
	dtype   dtypes.DType // of the variables, the inputs and the graphs
	n, d    int

	// Log-linear: Δφ_i = φ(y_w) − φ(y_l), [n, d]. MLP: φ(y_w) rows then
	// φ(y_l) rows, [2n, d]. Both row-major, so the contracted feature axis is last.
	x       []float64
	weights []float64 // nil when every weight is 1
	full    []any     // the full-batch inputs
	batches *fit.Batcher

	store *model.Store
	train *model.Exec
	score *model.Exec // MLP: scores f(φ) of features [d, N]
	theta *model.Variable

	testX    *tensors.Tensor // MLP: the held-out candidates' features, [d, Σ K]
	trainX   *tensors.Tensor // MLP: x as a tensor, [d, 2n], for evaluation
	thetaStr []float64
	jStar    float64
}

// seriesMetrics are the metrics recorded along training (J and J* are only final).
var seriesMetrics = map[string]bool{MetricLoss: true, MetricAccuracy: true, MetricAccuracyClean: true, MetricMargin: true, MetricGap: true, MetricParamError: true}

// Train fits cfg.Policy to the pairs of data by minimising the cfg.Loss
// with GoMLX (autodiff and cfg.Optimizer) on a fit.Loop, drawing
// mini-batches and MLP initial weights from r. It records the metrics at
// step 0 (the reference policy, or cfg.Init), every cfg.EvalEvery steps
// and at the last step, and stops on a NaN or infinite step loss (through
// rec, when set: kernel.Job.Record makes that a *kernel.DivergedError).
// rec may be nil.
func Train(ctx context.Context, data *datasets.Prefs, cfg Config, r *rand.Rand, rec fit.Recorder) (*Fit, error) {
	t, err := NewTrainer(data, cfg, r)
	if err != nil {
		return nil, err
	}
	var m Metrics
	report := func(step int) (err error) {
		if m, err = t.Evaluate(); err != nil || rec == nil {
			return err
		}
		m.Each(func(name string, v float64) {
			if err == nil && seriesMetrics[name] {
				err = rec(int64(step), name, v)
			}
		})
		return err
	}
	loop := fit.NewLoop("dpo", cfg.Steps, func(int) (float64, error) { return t.step() })
	loop.Watch(t.store)
	loop.Record = rec
	loop.OnStart("eval", report)
	loop.EveryN(cfg.EvalEvery, "eval", report)
	if err := loop.Run(ctx); err != nil {
		return nil, err
	}
	out := &Fit{Metrics: m, Theta: t.Theta(), Policy: t.policy()}
	if data.Truth != nil {
		out.ThetaStar = data.Truth.ThetaStar(cfg.Beta)
	}
	return out, nil
}

// NewTrainer prepares the training of cfg.Policy on data (Train's loop
// without the schedule, for benchmarks and custom loops): it builds the
// constant inputs, the variables (from r for the MLP) and the executables.
func NewTrainer(data *datasets.Prefs, cfg Config, r *rand.Rand) (t *Trainer, err error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if data == nil || len(data.Pairs) == 0 {
		return nil, errors.New("dpo: no preference pairs to train on")
	}
	be, err := backend.Get(cfg.Backend)
	if err != nil {
		return nil, err
	}
	defer fit.Catch("dpo", &err)
	dt, _ := cfg.dtype() // checked above
	t = newTrainer(data, cfg, r, be, dt)
	if err := t.build(); err != nil {
		return nil, err
	}
	if cfg.Init != nil {
		if err := cfg.Init.fits(cfg, t.d); err != nil {
			return nil, fmt.Errorf("dpo: init policy: %w", err)
		}
		if err := t.start(cfg.Init); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Step takes one optimizer step on the next batch and returns the batch
// loss before the update (the L2 term excluded).
func (t *Trainer) Step() (loss float64, err error) {
	defer fit.Catch("dpo", &err)
	return t.step()
}

// step is Step without the panic recovery, which fit.Loop provides.
func (t *Trainer) step() (float64, error) {
	out, err := t.train.Call(t.batch()...)
	if err != nil {
		return 0, err
	}
	return tensors.ToScalar[float64](out[0]), nil // converted in the graph
}

// Theta returns a copy of the current θ of a log-linear policy, nil for the MLP.
func (t *Trainer) Theta() []float64 {
	if t.theta == nil {
		return nil
	}
	return t.thetaValue()
}

// Weights returns a copy of the current value of every trainable variable
// by name ("theta"; or "w0", "b0", …, "out" for the MLP, weight matrices
// row-major [out, in]), as float64 (exactly, from a float32 trainer too):
// what a reimplementation elsewhere needs to start from the same point.
func (t *Trainer) Weights() map[string][]float64 {
	out := map[string][]float64{}
	for v := range t.store.RootScope().IterVariables() {
		if v.Trainable {
			w, err := fit.Float64s(v.MustValue())
			if err != nil {
				panic(err) // the trainer creates float32 or float64 variables only
			}
			out[v.Name()] = w
		}
	}
	return out
}

func newTrainer(data *datasets.Prefs, cfg Config, r *rand.Rand, be compute.Backend, dt dtypes.DType) *Trainer {
	t := &Trainer{cfg: cfg, data: data, r: r, backend: be, dtype: dt, n: len(data.Pairs), d: data.Dim}
	n, d := t.n, t.d
	if cfg.Policy == PolicyLogLinear {
		t.x = make([]float64, n*d)
		for i, p := range data.Pairs {
			x := data.Prompts[p.Prompt]
			row := t.x[i*d : (i+1)*d]
			for j := range row {
				row[j] = x.Features[p.Chosen][j] - x.Features[p.Rejected][j]
			}
		}
	} else {
		t.x = make([]float64, 2*n*d)
		for i, p := range data.Pairs {
			x := data.Prompts[p.Prompt]
			copy(t.x[i*d:(i+1)*d], x.Features[p.Chosen])
			copy(t.x[(n+i)*d:(n+i+1)*d], x.Features[p.Rejected])
		}
	}
	for _, p := range data.Pairs {
		if p.Weight != 1 {
			t.weights = make([]float64, n)
			for j, q := range data.Pairs {
				t.weights[j] = q.Weight
			}
			break
		}
	}
	t.batches = fit.NewBatcher(n, cfg.BatchSize, r)
	t.full = []any{t.features(t.x)}
	if t.weights != nil {
		t.full = append(t.full, fit.Tensor(dt, t.weights, n))
	}
	if cfg.Policy == PolicyMLP {
		t.trainX = t.full[0].(*tensors.Tensor)
	}
	if data.Truth != nil {
		t.thetaStr = data.Truth.ThetaStar(cfg.Beta)
		t.jStar = data.Truth.OptimalValue(cfg.Beta)
	}
	return t
}

// features returns the flat feature rows x (width d) as the graphs'
// input (featureTensor).
func (t *Trainer) features(x []float64) *tensors.Tensor { return featureTensor(t.dtype, x, t.d) }

// featureTensor returns the flat feature rows x (width d) in dtype dt, laid
// out feature by feature, [d, rows]: every op of the log-linear score and
// of the MLP then runs along the rows (see linearScores and mlpScores).
func featureTensor(dt dtypes.DType, x []float64, d int) *tensors.Tensor {
	rows := len(x) / d
	return fit.Tensor(dt, fit.Transposed(x, rows, d), d, rows)
}

// linearScores returns w·x_n for features x laid out [d, N] and weights w
// [d], as [N]: a broadcast product and a sum over the first axis, whose
// ops, and their gradients', run along the N rows in the backend's SIMD
// kernels, in float32 as in float64. A matmul of [N, d] by [d] took ≈ 0.3
// ms of the log-linear step at N = 20,000, and a product and sum over a
// last axis of d = 8 runs in generic code in float32 (BenchmarkStep).
func linearScores(x, w *Node) *Node { return ReduceSum(Mul(x, ExpandAxes(w, -1)), 0) }

// batch returns the inputs of the next step: the full batch, or the next
// BatchSize pairs of a permutation redrawn each epoch (every batch has the
// same size, so one compiled graph serves all steps).
func (t *Trainer) batch() []any {
	if t.batches.Full() {
		return t.full
	}
	n, d := t.n, t.d
	idx := t.batches.Next()
	x := fit.Rows(t.x[:n*d], d, idx)
	if t.cfg.Policy == PolicyMLP { // the rejected rows follow the chosen ones
		x = append(x, fit.Rows(t.x[n*d:], d, idx)...)
	}
	in := []any{t.features(x)}
	if t.weights != nil {
		in = append(in, fit.Tensor(t.dtype, fit.Rows(t.weights, 1, idx), len(idx)))
	}
	return in
}

// build creates the variables and the training (and scoring) executables.
func (t *Trainer) build() error {
	cfg := t.cfg
	t.store = model.NewStore()
	opt, err := cfg.NewOptimizer()
	if err != nil {
		return err
	}
	root := t.store.RootScope()
	var params []*model.Variable // the weights the L2 term covers
	if cfg.Policy == PolicyLogLinear {
		// θ = 0 starts training at π_ref, as DPO starts from the reference model.
		t.theta = root.VariableWithValue("theta", fit.Tensor(t.dtype, make([]float64, t.d), t.d))
		params = []*model.Variable{t.theta}
	} else {
		params = t.initMLP(root.In("mlp"))
	}
	trainFn := func(scope *model.Scope, in []*Node) *Node {
		x := in[0]
		g := x.Graph()
		asParameters(scope, g)
		var h *Node
		if cfg.Policy == PolicyLogLinear {
			h = linearScores(x, t.theta.NodeValue(g)) // Δφ·θ
		} else {
			s := mlpScores(scope.In("mlp"), x, cfg.Layers) // [2B]
			// h = s(chosen) − s(rejected) as one contraction, which avoids
			// Slice (whose gradient needs Pad).
			h = Dot(ConvertDType(Const(g, []float64{1, -1}), s.DType()), Reshape(s, 2, x.Shape().Dimensions[1]/2)).Product()
		}
		var w *Node
		if len(in) > 1 {
			w = in[1]
		}
		loss := cfg.Loss.PairLoss(cfg.Beta, cfg.Epsilon).Mean(h, w)
		total := loss
		if cfg.L2 > 0 {
			var sq *Node
			for _, v := range params {
				s := ReduceAllSum(Square(v.NodeValue(g)))
				if sq == nil {
					sq = s
				} else {
					sq = Add(sq, s)
				}
			}
			total = Add(loss, MulScalar(sq, cfg.L2))
		}
		opt.UpdateGraph(scope, g, total)
		if cfg.Radius > 0 && t.theta != nil {
			th := t.theta.NodeValue(g) // the updated value
			norm := Sqrt(ReduceAllSum(Square(th)))
			scale := Min(ScalarOne(g, th.DType()), Div(Scalar(g, th.DType(), cfg.Radius), Max(norm, Scalar(g, th.DType(), tiny(th.DType())))))
			t.theta.SetNodeValue(Mul(th, scale))
		}
		// The Go side reads the loss as float64 whatever the graph's dtype.
		return ConvertDType(loss, dtypes.Float64)
	}
	if t.train, err = model.NewExec(t.backend, t.store, trainFn); err != nil {
		return err
	}
	if cfg.Policy == PolicyMLP {
		scoreFn := func(scope *model.Scope, x *Node) *Node {
			asParameters(scope, x.Graph())
			return mlpScores(scope.In("mlp"), x, cfg.Layers)
		}
		if t.score, err = model.NewExec(t.backend, t.store, scoreFn); err != nil {
			return err
		}
		if truth := t.data.Truth; truth != nil {
			var flat []float64
			rows := 0
			for _, x := range truth.Test {
				for _, f := range x.Features {
					flat = append(flat, f...)
					rows++
				}
			}
			t.testX = t.features(flat)
		}
	}
	return nil
}

// tiny is the smallest positive normal number of dt (float32 or float64),
// which keeps the radius projection's division finite at θ = 0.
func tiny(dt dtypes.DType) float64 {
	if dt == dtypes.Float32 {
		return 0x1p-126
	}
	return 1e-300
}

// asParameters marks g as a training graph. Outside training, backends
// that prefer constants (the Go backend does) embed variables' current
// values into the compiled graph, which would freeze θ at its first value
// in every later call of a cached graph.
func asParameters(scope *model.Scope, g *Graph) { scope.SetTraining(g, true) }

// initMLP creates the MLP's variables with weights drawn from t.r: hidden
// layers with N(0, 1/fan_in) weights and zero biases, and a zero output
// layer, so that training starts at π_ref as in the log-linear case.
// Weights are stored [out, in], so every contraction is over the last axis.
func (t *Trainer) initMLP(scope *model.Scope) []*model.Variable {
	var weights []*model.Variable
	in := t.d
	for l := range t.cfg.Layers {
		h := t.cfg.Hidden
		w := make([]float64, h*in)
		sd := 1 / math.Sqrt(float64(in))
		for i := range w {
			w[i] = t.r.NormFloat64() * sd
		}
		// Drawn in float64 and rounded: a float32 MLP starts from the
		// float64 one's weights, and both draw the same numbers from t.r.
		wv := scope.VariableWithValue(fmt.Sprintf("w%d", l), fit.Tensor(t.dtype, w, h, in))
		scope.VariableWithValue(fmt.Sprintf("b%d", l), fit.Tensor(t.dtype, make([]float64, h), h))
		weights = append(weights, wv)
		in = h
	}
	weights = append(weights, scope.VariableWithValue("out", fit.Tensor(t.dtype, make([]float64, in), in)))
	return weights
}

// mlpScores returns f(x) for x laid out feature by feature, [d, N]
// (Trainer.features): tanh hidden layers and a linear output without bias
// (a constant shift of f cancels in h and in π). The activations stay
// [units, N]: the weights' gradients then contract the N rows on the last
// axis of both operands, which the backend's matmul takes as it is, and
// the output layer is linearScores over the units, whose gradient is a
// broadcast product. With rows [N, d] and a matmul output layer, the
// backend transposed [N, units] activations in the gradient: with them
// the float32 step at N = 8,192 took 2.9 ms, without them 0.7 ms
// (BenchmarkStep).
func mlpScores(scope *model.Scope, x *Node, layers int) *Node {
	g := x.Graph()
	for l := range layers {
		w := scope.GetVariable(fmt.Sprintf("w%d", l)).NodeValue(g)
		b := scope.GetVariable(fmt.Sprintf("b%d", l)).NodeValue(g)
		x = Tanh(Add(Einsum("hd,dn->hn", w, x), ExpandAxes(b, -1)))
	}
	return linearScores(x, scope.GetVariable("out").NodeValue(g))
}

// thetaValue returns θ as float64 (exactly, from a float32 θ too).
func (t *Trainer) thetaValue() []float64 {
	th, err := fit.Float64s(t.theta.MustValue())
	if err != nil {
		panic(err) // θ is created float32 or float64
	}
	return th
}

// Evaluate measures the current policy on all training pairs and, for
// planted data, on the held-out prompts. Log-linear policies are measured
// in plain float64 Go from θ; MLPs through a scoring executable in the
// trainer's dtype, whose scores f(φ) the metrics take as float64.
func (t *Trainer) Evaluate() (m Metrics, err error) {
	defer fit.Catch("dpo", &err)
	cfg := t.cfg
	h := make([]float64, t.n)
	var theta []float64
	if t.theta != nil {
		theta = t.thetaValue()
		for i := range h {
			h[i] = dotf(theta, t.x[i*t.d:(i+1)*t.d])
		}
	} else {
		s, err := t.scores(t.trainX)
		if err != nil {
			return Metrics{}, err
		}
		for i := range h {
			h[i] = s[i] - s[t.n+i]
		}
	}
	if m.Loss, err = cfg.Loss.PairLoss(cfg.Beta, cfg.Epsilon).MeanFloat64("dpo", h, t.weights); err != nil {
		return m, err
	}
	truth := t.data.Truth
	m.HasClean = truth != nil
	for i, hi := range h {
		m.Accuracy += pairloss.Agreement(hi)
		m.Margin += cfg.Beta * hi
		if m.HasClean {
			if t.data.Pairs[i].Flipped {
				hi = -hi
			}
			m.AccuracyClean += pairloss.Agreement(hi)
		}
	}
	n := float64(t.n)
	m.Accuracy /= n
	m.Margin /= n
	m.AccuracyClean /= n
	if truth == nil {
		return m, nil
	}
	var scores [][]float64
	if theta != nil {
		scores = truth.LogLinearScores(theta)
		m.HasParamError = true
		m.ParamError = relErr(theta, t.thetaStr)
	} else {
		s, err := t.scores(t.testX)
		if err != nil {
			return m, err
		}
		scores = make([][]float64, len(truth.Test))
		for i, x := range truth.Test {
			scores[i], s = s[:len(x.Features)], s[len(x.Features):]
		}
	}
	m.HasTruth = true
	m.J = truth.Value(cfg.Beta, scores)
	m.JStar = t.jStar
	m.Gap = m.JStar - m.J
	return m, nil
}

func (t *Trainer) scores(x *tensors.Tensor) ([]float64, error) {
	out, err := t.score.Call(x)
	if err != nil {
		return nil, err
	}
	return fit.Float64s(out[0])
}

func dotf(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// relErr returns ‖a − b‖/‖b‖.
func relErr(a, b []float64) float64 {
	num, den := 0.0, 0.0
	for i := range a {
		num += (a[i] - b[i]) * (a[i] - b[i])
		den += b[i] * b[i]
	}
	return math.Sqrt(num / den)
}
