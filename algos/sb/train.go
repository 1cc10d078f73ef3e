package sb

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/alignlab/alignlab/algos/backend"
	"github.com/alignlab/alignlab/algos/fit"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Config is one LightSB training run. DefaultConfig gives the defaults the
// plugin documents. LearningRate, Steps, BatchSize and EvalEvery are the
// shared training params of package fit (read by fit.Read, checked by
// fit.Config.Check); the optimizer is always Adam with ε = 1e-8, as in the
// paper's code.
type Config struct {
	K            int     // mixture components, ≥ 1
	Epsilon      float64 // the bridge's noise variance ε > 0
	LearningRate float64 // Adam's learning rate, > 0; 0 means DefaultLearningRateFor(Epsilon)
	Steps        int     // Adam steps, ≥ 1
	BatchSize    int     // samples of each marginal per step, ≥ 1 (no full batch: the marginals are samplers)
	EvalEvery    int     // record the mean minibatch loss every this many steps, ≥ 1
	SInit        float64 // initial diagonal of every S_k, > 0
	Backend      string  // GoMLX backend configuration; "" means "go"
}

// adamEpsilon is Adam's ε in LightSB's training: PyTorch's default, which
// the paper's code keeps (GoMLX's default is 1e-7).
const adamEpsilon = 1e-8

// DefaultConfig returns the plugin's defaults.
func DefaultConfig() Config {
	return Config{K: DefaultK, Epsilon: DefaultEpsilon, LearningRate: DefaultLearningRate, Steps: DefaultSteps,
		BatchSize: DefaultBatchSize, EvalEvery: DefaultEvalEvery, SInit: DefaultSInit}
}

func (c *Config) check() error {
	switch {
	case c.K < 1:
		return fmt.Errorf("sb: K must be ≥ 1, got %d", c.K)
	case !(c.Epsilon > 0) || math.IsInf(c.Epsilon, 1):
		return fmt.Errorf("sb: epsilon must be finite and > 0, got %v", c.Epsilon)
	}
	if err := c.shared().Check("sb"); err != nil {
		return err
	}
	switch {
	case c.BatchSize < 1:
		return fmt.Errorf("sb: batch size must be ≥ 1, got %d", c.BatchSize)
	case !(c.SInit > 0) || math.IsInf(c.SInit, 1):
		return fmt.Errorf("sb: initial S must be finite and > 0, got %v", c.SInit)
	}
	return nil
}

// shared returns c's shared training params as package fit holds them,
// with the learning rate resolved.
func (c *Config) shared() fit.Config {
	return fit.Config{LearningRate: c.EffectiveLearningRate(), Steps: c.Steps, BatchSize: c.BatchSize, EvalEvery: c.EvalEvery}
}

// EffectiveLearningRate returns the learning rate the run takes:
// LearningRate, or when it is 0 the paper's for Epsilon
// (DefaultLearningRateFor).
func (c *Config) EffectiveLearningRate() float64 {
	if c.LearningRate == 0 {
		return DefaultLearningRateFor(c.Epsilon)
	}
	return c.LearningRate
}

// Sampler draws points of a marginal.
type Sampler interface {
	Sample(n int, r *rand.Rand) [][]float64
}

// SamplerFunc adapts a function to Sampler (e.g. a method of datasets.EOTPair).
type SamplerFunc func(n int, r *rand.Rand) [][]float64

// Sample calls f.
func (f SamplerFunc) Sample(n int, r *rand.Rand) [][]float64 { return f(n, r) }

// Rows samples a finite data set uniformly with replacement.
type Rows [][]float64

// Sample draws n rows of rs (the rows are shared, not copied).
func (rs Rows) Sample(n int, r *rand.Rand) [][]float64 {
	out := make([][]float64, n)
	for i := range out {
		out[i] = rs[r.IntN(len(rs))]
	}
	return out
}

// MetricLoss is the series Fit records: the mean minibatch loss since the
// previous record.
const MetricLoss = "loss"

// Fit trains a LightSB model between the marginals src and tgt: it draws
// the K initial means from tgt, then takes cfg.Steps Adam steps (on
// fit.Loop) on fresh minibatches of cfg.BatchSize points of each marginal,
// recording the mean minibatch loss of every cfg.EvalEvery steps as
// MetricLoss. A NaN or infinite loss stops it, naming the step (through rec,
// when rec is kernel.Job.Record, a *kernel.DivergedError). All draws come
// from r. rec may be nil.
func Fit(ctx context.Context, src, tgt Sampler, cfg Config, r *rand.Rand, rec fit.Recorder) (*Model, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	init, err := InitModel(cfg.Epsilon, tgt.Sample(cfg.K, r), cfg.SInit)
	if err != nil {
		return nil, err
	}
	return FitFrom(ctx, init, src, tgt, cfg, r, rec)
}

// FitFrom is Fit from the given starting model instead of LightSB's
// initialisation (a warm start, e.g. from a saved model): init must have
// cfg.K components and ε = cfg.Epsilon; cfg.SInit does not apply. Adam
// starts afresh (its moments are not part of a model). init is not
// modified.
func FitFrom(ctx context.Context, init *Model, src, tgt Sampler, cfg Config, r *rand.Rand, rec fit.Recorder) (*Model, error) {
	t, err := NewTrainer(init, cfg)
	if err != nil {
		return nil, err
	}
	loop := fit.NewLoop("sb", cfg.Steps, func(int) (float64, error) {
		return t.Step(src.Sample(cfg.BatchSize, r), tgt.Sample(cfg.BatchSize, r))
	})
	loop.Watch(t.store)
	loop.RecordMeanLoss(rec, MetricLoss, cfg.EvalEvery)
	if err := loop.Run(ctx); err != nil {
		return nil, err
	}
	return t.Model()
}

// Trainer holds the GoMLX variables (float32) and compiled step of one
// LightSB fit. As in the authors' code, the weights are stored as ε·log α_k
// (their log_alpha_raw) and the graph divides by ε: Adam's steps, about
// the learning rate in size whatever the gradient's scale, then move log α
// by lr/ε, faster at small ε than steps on log α itself. The diagonals are
// stored as log s_k and the means as r_k. Its loss graph is the formula of
// Model.Loss with the sums over coordinates written as matrix products
// over the last axis:
//
//	log c: logα_k + ((x²)·s_k + 2 x·r_k)/(2ε)
//	log v: logα_k − ½[(y²)·(1/(εs_k)) − 2 y·(r_k/(εs_k)) + Σ_d (r²/(εs) + log(2πεs))_kd]
//
// with s_k = exp(log_s_k), followed by a log-sum-exp over k.
type Trainer struct {
	cfg      Config
	d        int
	store    *model.Store
	step     *model.Exec
	eval     *model.Exec
	logAlpha *model.Variable
	r        *model.Variable
	logS     *model.Variable
}

// NewTrainer creates the variables from init and compiles nothing yet
// (graphs compile on their first call). The backend comes from cfg.Backend.
func NewTrainer(init *Model, cfg Config) (t *Trainer, err error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if err := init.Check(); err != nil {
		return nil, err
	}
	if init.K() != cfg.K || init.Epsilon != cfg.Epsilon {
		return nil, fmt.Errorf("sb: initial model has K=%d, ε=%v; config has K=%d, ε=%v", init.K(), init.Epsilon, cfg.K, cfg.Epsilon)
	}
	opt, err := fit.NewOptimizer(fit.Adam, cfg.EffectiveLearningRate(), 0, adamEpsilon)
	if err != nil {
		return nil, err
	}
	be, err := backend.Get(cfg.Backend)
	if err != nil {
		return nil, err
	}
	defer fit.Catch("sb", &err)
	k, d := init.K(), init.Dim()
	t = &Trainer{cfg: cfg, d: d, store: model.NewStore()}
	root := t.store.RootScope()
	rawAlpha := make([]float64, k)
	for i, la := range init.LogAlpha {
		rawAlpha[i] = cfg.Epsilon * la
	}
	t.logAlpha = root.VariableWithValue("eps_log_alpha", tensors.FromFlatDataAndDimensions(toFloat32(rawAlpha), k))
	t.r = root.VariableWithValue("r", tensors.FromFlatDataAndDimensions(flatten32(init.R), k, d))
	t.logS = root.VariableWithValue("log_s", tensors.FromFlatDataAndDimensions(flatten32(init.LogS), k, d))
	// The Go backend embeds variables as constants in graphs not marked as
	// training (PreferConstantsForVariables): an update would then be
	// compiled away, and an evaluation graph would keep the values of its
	// first call. Both graphs read the variables as parameters.
	stepFn := func(scope *model.Scope, x0, x1 *Node) *Node {
		scope.SetTraining(x0.Graph(), true)
		lc, lv := t.logCV(x0, x1)
		loss := Sub(ReduceAllMean(lc), ReduceAllMean(lv))
		opt.UpdateGraph(scope, x0.Graph(), loss)
		return loss
	}
	if t.step, err = model.NewExec(be, t.store, stepFn); err != nil {
		return nil, err
	}
	evalFn := func(scope *model.Scope, x0, x1 *Node) (*Node, *Node) {
		scope.SetTraining(x0.Graph(), true)
		return t.logCV(x0, x1)
	}
	if t.eval, err = model.NewExec(be, t.store, evalFn); err != nil {
		return nil, err
	}
	return t, nil
}

// logCV builds log c(x0_b) and log v(x1_b), each of shape [B].
func (t *Trainer) logCV(x0, x1 *Node) (*Node, *Node) {
	g := x0.Graph()
	eps := t.cfg.Epsilon
	logAlpha := InsertAxes(MulScalar(t.logAlpha.NodeValue(g), 1/eps), 0) // [1, K]
	r := t.r.NodeValue(g)                                                // [K, D]
	logS := t.logS.NodeValue(g)                                          // [K, D]
	s := Exp(logS)

	quad := Einsum("bd,kd->bk", Square(x0), s)
	lin := Einsum("bd,kd->bk", x0, r)
	lc := logSumExpLast(Add(logAlpha, MulScalar(Add(quad, MulScalar(lin, 2)), 1/(2*eps))))

	inv := MulScalar(Exp(Neg(logS)), 1/eps) // 1/(εs), [K, D]
	q2 := Einsum("bd,kd->bk", Square(x1), inv)
	q1 := Einsum("bd,kd->bk", x1, Mul(r, inv))
	q0 := ReduceSum(Add(Mul(Square(r), inv), logS), 1) // [K]
	logNorm := float64(t.d) * math.Log(2*math.Pi*eps)
	quadV := Add(Sub(q2, MulScalar(q1, 2)), InsertAxes(AddScalar(q0, logNorm), 0))
	lv := logSumExpLast(Sub(logAlpha, MulScalar(quadV, 0.5)))
	return lc, lv
}

// logSumExpLast reduces z [B, K] over its last axis, shifted by the
// (gradient-free) row maximum for stability.
func logSumExpLast(z *Node) *Node {
	m := StopGradient(ReduceMax(z, -1))
	return Add(m, Log(ReduceSum(Exp(Sub(z, InsertAxes(m, -1))), -1)))
}

// Step takes one Adam step on the minibatches x0 (source) and x1 (target),
// each B × D, and returns the minibatch loss before the step.
func (t *Trainer) Step(x0, x1 [][]float64) (loss float64, err error) {
	a, b, err := t.inputs(x0, x1)
	if err != nil {
		return 0, err
	}
	defer fit.Catch("sb", &err)
	out, err := t.step.Call(a, b)
	if err != nil {
		return 0, err
	}
	v, err := tensors.CopyFlatData[float32](out[0])
	if err != nil {
		return 0, err
	}
	return float64(v[0]), nil
}

// Evaluate returns the graph's log c(x0_i) and log v(x1_j) at the current
// parameters (float32 arithmetic), for checking against Model.
func (t *Trainer) Evaluate(x0, x1 [][]float64) (logC, logV []float64, err error) {
	a, b, err := t.inputs(x0, x1)
	if err != nil {
		return nil, nil, err
	}
	defer fit.Catch("sb", &err)
	out, err := t.eval.Call(a, b)
	if err != nil {
		return nil, nil, err
	}
	c, err := tensors.CopyFlatData[float32](out[0])
	if err != nil {
		return nil, nil, err
	}
	v, err := tensors.CopyFlatData[float32](out[1])
	if err != nil {
		return nil, nil, err
	}
	return toFloat64(c), toFloat64(v), nil
}

func (t *Trainer) inputs(x0, x1 [][]float64) (*tensors.Tensor, *tensors.Tensor, error) {
	for _, x := range [][][]float64{x0, x1} {
		if len(x) == 0 {
			return nil, nil, errors.New("sb: empty minibatch")
		}
		for _, row := range x {
			if len(row) != t.d {
				return nil, nil, fmt.Errorf("sb: minibatch row has dimension %d, want %d", len(row), t.d)
			}
		}
	}
	return tensors.FromFlatDataAndDimensions(flatten32(x0), len(x0), t.d),
		tensors.FromFlatDataAndDimensions(flatten32(x1), len(x1), t.d), nil
}

// Model returns the current parameters as a float64 Model.
func (t *Trainer) Model() (*Model, error) {
	get := func(v *model.Variable) ([]float64, error) {
		val, err := v.Value()
		if err != nil {
			return nil, err
		}
		f, err := tensors.CopyFlatData[float32](val)
		return toFloat64(f), err
	}
	la, err := get(t.logAlpha)
	if err != nil {
		return nil, err
	}
	r, err := get(t.r)
	if err != nil {
		return nil, err
	}
	ls, err := get(t.logS)
	if err != nil {
		return nil, err
	}
	for k := range la {
		la[k] /= t.cfg.Epsilon
	}
	m := &Model{Epsilon: t.cfg.Epsilon, LogAlpha: la}
	for k := range la {
		m.R = append(m.R, r[k*t.d:(k+1)*t.d:(k+1)*t.d])
		m.LogS = append(m.LogS, ls[k*t.d:(k+1)*t.d:(k+1)*t.d])
	}
	return m, m.Check()
}

func toFloat32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

func toFloat64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func flatten32(rows [][]float64) []float32 {
	if len(rows) == 0 {
		return nil
	}
	d := len(rows[0])
	out := make([]float32, len(rows)*d)
	for i, row := range rows {
		for j, x := range row {
			out[i*d+j] = float32(x)
		}
	}
	return out
}
