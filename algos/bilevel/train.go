package bilevel

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/alignlab/alignlab/algos/backend"
	"github.com/alignlab/alignlab/algos/fit"
)

// Config is one run of Reweight or Compare. DefaultConfig gives the
// defaults the plugin documents.
type Config struct {
	// The shared training hyperparameters: Steps (of ScaleBiO and of every
	// baseline fit, ≥ 1), LearningRate (of w and of the baselines' models),
	// Optimizer (fit.Adam or fit.AdamW, for every block), WeightDecay
	// (AdamW's decay of w and u, not of λ), AdamEpsilon and EvalEvery
	// (steps between recorded weights). BatchSize must be 0: everything is
	// full batch.
	fit.Config

	Model  string  // ModelLogistic, ModelMLP or ModelDPO
	Hidden int     // MLP hidden units
	Beta   float64 // DPO's β

	Alpha       float64 // α of the first round, > 0
	AlphaGrowth float64 // α is multiplied by this after every round, ≥ 1
	Rounds      int     // rounds of equal length, 1 ≤ Rounds ≤ Steps

	LearningRateU      float64 // u
	LearningRateLambda float64 // λ

	FilterMargin float64 // the val_filter baseline drops sources whose loss exceeds the lowest by more
	Backend      string  // GoMLX backend configuration; "" means "go"

	// InitLambda, if set, is ScaleBiO's starting λ, one finite value per
	// source (a saved model's, to continue from its weights); nil starts
	// at λ = 0, uniform weights.
	InitLambda []float64
}

// DefaultConfig returns the plugin's defaults.
func DefaultConfig() Config {
	return Config{
		Config: fit.Config{
			Optimizer: fit.Adam, LearningRate: DefaultLearningRate, Steps: DefaultSteps,
			EvalEvery: DefaultEvalEvery, WeightDecay: DefaultWeightDecay,
		},
		Model: ModelLogistic, Hidden: DefaultHidden, Beta: DefaultBeta,
		Alpha: DefaultAlpha, AlphaGrowth: DefaultAlphaGrowth, Rounds: DefaultRounds,
		LearningRateU: DefaultLearningRate, LearningRateLambda: DefaultLearningRateLambda,
		FilterMargin: DefaultFilterMargin,
	}
}

// Check reports the first invalid field of c (the inner model is checked
// against the data by Reweight and Compare).
func (c Config) Check() error {
	pos := func(name string, v float64) error {
		if !(v > 0) || math.IsInf(v, 1) {
			return fmt.Errorf("bilevel: %s must be finite and > 0, got %v", name, v)
		}
		return nil
	}
	if err := pos("alpha", c.Alpha); err != nil {
		return err
	}
	if err := c.Config.Check("bilevel"); err != nil {
		return err
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"learning rate of u", c.LearningRateU}, {"learning rate of λ", c.LearningRateLambda}} {
		if err := pos(p.name, p.v); err != nil {
			return err
		}
	}
	switch {
	case c.Optimizer != fit.Adam && c.Optimizer != fit.AdamW:
		return fmt.Errorf("bilevel: unknown optimizer %q (known: %s, %s)", c.Optimizer, fit.Adam, fit.AdamW)
	case c.BatchSize != 0:
		return fmt.Errorf("bilevel: training is full batch; batch size must be 0, got %d", c.BatchSize)
	case !(c.AlphaGrowth >= 1) || math.IsInf(c.AlphaGrowth, 1):
		return fmt.Errorf("bilevel: alpha growth must be finite and ≥ 1, got %v", c.AlphaGrowth)
	case c.Rounds < 1 || c.Rounds > c.Steps:
		return fmt.Errorf("bilevel: want 1 ≤ rounds ≤ steps, got %d rounds of %d steps", c.Rounds, c.Steps)
	case !(c.FilterMargin >= 0) || math.IsInf(c.FilterMargin, 1):
		return fmt.Errorf("bilevel: filter margin must be finite and ≥ 0, got %v", c.FilterMargin)
	}
	return nil
}

func (c *Config) learner(dim int) learner {
	return learner{kind: c.Model, dim: dim, hidden: c.Hidden, beta: c.Beta}
}

// alphaAt returns α at step t (0-based): α·growth^round, with the steps
// split into Rounds rounds of (nearly) equal length.
func (c *Config) alphaAt(t int) float64 {
	round := t * c.Rounds / c.Steps
	return c.Alpha * math.Pow(c.AlphaGrowth, float64(round))
}

// modelOptimizer returns the optimizer of a block of model parameters (w,
// u, a baseline's model) at learning rate lr: c's Adam or AdamW.
func (c *Config) modelOptimizer(lr float64) (optimizer.Interface, error) {
	return fit.NewOptimizer(c.Optimizer, lr, c.WeightDecay, c.AdamEpsilon)
}

// lambdaOptimizer returns λ's optimizer: Adam without weight decay, which
// on λ would pull the weights towards uniform, not part of the objective.
func (c *Config) lambdaOptimizer() (optimizer.Interface, error) {
	return fit.NewOptimizer(fit.Adam, c.LearningRateLambda, 0, c.AdamEpsilon)
}

// Eval is a model's mean per-example loss and accuracy on a set: for
// classification the log-loss, for DPO −log σ(βh) (the preference
// log-loss of the implicit reward), and the fraction of examples on the
// label's side (ties ½).
type Eval struct {
	LogLoss, Accuracy float64
}

// Weights returns p = softmax(λ).
func Weights(lambda []float64) []float64 {
	m := math.Inf(-1)
	for _, v := range lambda {
		m = max(m, v)
	}
	p := make([]float64, len(lambda))
	s := 0.0
	for k, v := range lambda {
		p[k] = math.Exp(v - m)
		s += p[k]
	}
	for k := range p {
		p[k] /= s
	}
	return p
}

// LambdaGradient returns ScaleBiO's λ-direction in closed form,
//
//	α (∇_λ L₂(w, λ) − ∇_λ L₂(u, λ)) = α J (ℓ̄(w) − ℓ̄(u)),  J = diag(p) − p pᵀ,
//
// that is α p_k (d_k − Σ_j p_j d_j) with d = ℓ̄(w) − ℓ̄(u), p = softmax(λ),
// and ℓ̄_k the mean loss of source k.
func LambdaGradient(lambda, lossW, lossU []float64, alpha float64) []float64 {
	p := Weights(lambda)
	mean := 0.0
	for k := range p {
		mean += p[k] * (lossW[k] - lossU[k])
	}
	g := make([]float64, len(p))
	for k := range p {
		g[k] = alpha * p[k] * (lossW[k] - lossU[k] - mean)
	}
	return g
}

// lambdaObjective is the graph whose gradient in λ is ScaleBiO's
// λ-direction: α Σ_k softmax(λ)_k · sg(ℓ̄_k(w) − ℓ̄_k(u)), sg the stop-gradient
// (w and u are not moved by it). Autodiff through the softmax gives
// LambdaGradient; the tests check it.
func lambdaObjective(lambda, lossW, lossU, alpha *Node) *Node {
	d := StopGradient(Sub(lossW, lossU))
	return Mul(alpha, ReduceAllSum(Mul(Softmax(lambda, -1), d)))
}

// session holds a GoMLX store with one copy of a learner's parameters per
// scope, and the executable that evaluates the copy in scope "w".
type session struct {
	m     learner
	be    compute.Backend
	store *model.Store
	eval  *model.Exec
}

// scopeW, scopeU and scopeLambda are the scopes of ScaleBiO's blocks; fits
// with fixed weights use scopeW alone.
const (
	scopeW      = "w"
	scopeU      = "u"
	scopeLambda = "lambda"
)

func newSession(m learner, backendName string, init []param, scopes ...string) (*session, error) {
	be, err := backend.Get(backendName)
	if err != nil {
		return nil, err
	}
	s := &session{m: m, be: be, store: model.NewStore()}
	for _, sc := range scopes {
		if err := createParams(s.store.RootScope().At("%s", sc), init); err != nil {
			return nil, err
		}
	}
	s.eval, err = model.NewExec(be, s.store, func(scope *model.Scope, x, y *Node) (*Node, *Node, *Node) {
		// The Go backend embeds variables as constants outside training
		// mode, which would freeze the evaluated parameters at their values
		// of the first call.
		scope.SetTraining(x.Graph(), true)
		z := m.scores(scope.At(scopeW), x)
		l := m.losses(z, y)
		return ReduceAllMean(l), accuracy(z, y), l
	})
	if err != nil {
		return nil, fmt.Errorf("bilevel: building the evaluation graph: %w", err)
	}
	return s, nil
}

// evaluate measures the parameters in scope w on sp; it also returns the
// per-example losses.
func (s *session) evaluate(sp Examples) (Eval, []float64, error) {
	if sp.N == 0 {
		return Eval{LogLoss: math.NaN(), Accuracy: math.NaN()}, nil, nil
	}
	out, err := s.eval.Call(tensors.FromFlatDataAndDimensions(sp.X, sp.N, s.m.dim), tensors.FromFlatDataAndDimensions(sp.Y, sp.N))
	if err != nil {
		return Eval{}, nil, fmt.Errorf("bilevel: evaluating: %w", err)
	}
	l, err := tensors.CopyFlatData[float64](out[2])
	if err != nil {
		return Eval{}, nil, err
	}
	return Eval{LogLoss: tensors.ToScalar[float64](out[0]), Accuracy: tensors.ToScalar[float64](out[1])}, l, nil
}

// params returns the values of the parameters in scope w, named and shaped
// like like.
func (s *session) params(like []param) ([]param, error) {
	out := make([]param, len(like))
	for i, p := range like {
		v := s.store.RootScope().At(scopeW).GetVariable(p.name)
		if v == nil {
			return nil, fmt.Errorf("bilevel: no variable %s/%s", scopeW, p.name)
		}
		t, err := v.Value()
		if err != nil {
			return nil, fmt.Errorf("bilevel: reading %s/%s: %w", scopeW, p.name, err)
		}
		vals, err := tensors.CopyFlatData[float64](t)
		if err != nil {
			return nil, fmt.Errorf("bilevel: reading %s/%s: %w", scopeW, p.name, err)
		}
		out[i] = param{name: p.name, dims: p.dims, init: vals}
	}
	return out, nil
}

// sourceMeans returns ℓ̄_k, the mean of the per-example losses l of each
// source (NaN for a source without examples).
func sourceMeans(p *Problem, l []float64) []float64 {
	sum := make([]float64, len(p.Sources))
	n := p.sourceCounts()
	for i, k := range p.Train.Source {
		sum[k] += l[i]
	}
	for k := range sum {
		sum[k] /= float64(n[k])
	}
	return sum
}

// sourceLosses returns ℓ̄_k, the mean loss of each source, [S], of the
// parameters in scope on the training examples x, y, with mat the
// sourceMatrix.
func (m learner) sourceLosses(scope *model.Scope, x, y, mat *Node) *Node {
	return Dot(mat, m.losses(m.scores(scope, x), y)).Product()
}

// sourceMatrix returns M [S, N] with M[k, i] = 1/n_k if example i is of
// source k, else 0: ℓ̄ = M ℓ.
func sourceMatrix(p *Problem) []float64 {
	s, n := len(p.Sources), p.Train.N
	counts := p.sourceCounts()
	m := make([]float64, s*n)
	for i, k := range p.Train.Source {
		m[k*n+i] = 1 / float64(counts[k])
	}
	return m
}

// fitWeighted trains a fresh copy of the learner (starting at init) for
// cfg.Steps steps on sp, on a fit.Loop, minimising Σ_i c_i ℓ_i with fixed
// per-example weights c, and returns the session holding it. It records
// nothing; a non-finite loss is an error naming the step.
func fitWeighted(ctx context.Context, m learner, sp Examples, c []float64, init []param, cfg Config) (*session, error) {
	s, err := newSession(m, cfg.Backend, init, scopeW)
	if err != nil {
		return nil, err
	}
	opt, err := cfg.modelOptimizer(cfg.LearningRate)
	if err != nil {
		return nil, err
	}
	step, err := model.NewExec(s.be, s.store, func(scope *model.Scope, g *Graph) *Node {
		scope.SetTraining(g, true) // see newSession
		x := Const(g, tensors.FromFlatDataAndDimensions(sp.X, sp.N, m.dim))
		y := Const(g, tensors.FromFlatDataAndDimensions(sp.Y, sp.N))
		weights := Const(g, tensors.FromFlatDataAndDimensions(c, sp.N))
		loss := Dot(weights, m.losses(m.scores(scope.At(scopeW), x), y)).Product()
		opt.UpdateGraph(scope.At(scopeW), g, loss)
		return loss
	})
	if err != nil {
		return nil, fmt.Errorf("bilevel: building the training graph: %w", err)
	}
	loop := fit.NewLoop("bilevel", cfg.Steps, func(int) (float64, error) {
		out, err := step.Call()
		if err != nil {
			return 0, err
		}
		return tensors.ToScalar[float64](out[0]), nil
	})
	loop.LossMetric = "weighted training loss"
	loop.Watch(s.store)
	if err := loop.Run(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// exampleWeights returns c_i = p_{s(i)}/n_{s(i)}: the per-example weights
// of L₂(θ, p) = Σ_k p_k ℓ̄_k(θ).
func exampleWeights(p *Problem, weights []float64) []float64 {
	n := p.sourceCounts()
	c := make([]float64, p.Train.N)
	for i, k := range p.Train.Source {
		c[i] = weights[k] / float64(n[k])
	}
	return c
}

// Reweighting is the outcome of Reweight.
type Reweighting struct {
	Lambda  []float64 // the final λ
	Weights []float64 // p = softmax(λ)
	// Val and Test measure the final w (the upper-level model, which has
	// seen the validation set through L₁: its Val is not held out).
	Val, Test Eval
}

// Metric names Reweight records.
const (
	MetricWeightPrefix = "weight/" // weight/<source>: p_k
	MetricValLoss      = "val_loss"
	MetricPenalty      = "penalty" // L₂(w, λ) − L₂(u, λ) ≥ 0 when u has reached the lower-level optimum
	MetricAlpha        = "alpha"
	// MetricObjective is the minimax objective L₁(w) + α(L₂(w, λ) −
	// L₂(u, λ)) of a step; it is recorded only when it is not finite (the
	// step at which ScaleBiO diverged).
	MetricObjective = "objective"
)

// Reweight learns per-source weights p = softmax(λ) by ScaleBiO's
// first-order minimax (see the package documentation): every step updates
// u, w and λ simultaneously from the same point, each with its own Adam
// (or AdamW) state and learning rate, α growing by AlphaGrowth per round.
// The learner starts from the same parameters (drawn from r for the MLP)
// in both w and u. The steps run on a fit.Loop. Reweight records to rec
// (which may be nil), at step 0, every cfg.EvalEvery steps and at
// cfg.Steps, the weights after that many steps (weight/<source>) and, but
// at cfg.Steps, val_loss (L₁(w)), penalty and alpha measured at that point
// by the next step; at cfg.Steps, val_loss of the final w. A non-finite
// objective L₁(w) + α(L₂(w, λ) − L₂(u, λ)) stops it, naming the step
// (through rec, when set, as metric objective).
func Reweight(ctx context.Context, p *Problem, cfg Config, r *rand.Rand, rec fit.Recorder) (_ *Reweighting, err error) {
	defer fit.Catch("bilevel", &err)
	m, err := prepare(p, cfg)
	if err != nil {
		return nil, err
	}
	rw, _, err := reweight(ctx, p, cfg, m, m.params(r), rec)
	return rw, err
}

// prepare checks cfg and p and returns the learner of p's kind.
func prepare(p *Problem, cfg Config) (learner, error) {
	if err := cfg.Check(); err != nil {
		return learner{}, err
	}
	if err := p.check(); err != nil {
		return learner{}, err
	}
	m := cfg.learner(p.Dim)
	return m, m.check(p.Kind)
}

func reweight(ctx context.Context, p *Problem, cfg Config, m learner, init []param, rec fit.Recorder) (*Reweighting, *session, error) {
	s, err := newSession(m, cfg.Backend, init, scopeW, scopeU)
	if err != nil {
		return nil, nil, err
	}
	ns := len(p.Sources)
	lambda0 := make([]float64, ns)
	if cfg.InitLambda != nil {
		if len(cfg.InitLambda) != ns {
			return nil, nil, fmt.Errorf("bilevel: %d starting λ for %d sources", len(cfg.InitLambda), ns)
		}
		for k, v := range cfg.InitLambda {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, nil, fmt.Errorf("bilevel: starting λ of source %s is %v, want a finite number", p.Sources[k], v)
			}
		}
		copy(lambda0, cfg.InitLambda)
	}
	lambda := s.store.RootScope().At(scopeLambda).VariableWithValue("lambda", lambda0)
	optW, err := cfg.modelOptimizer(cfg.LearningRate)
	if err != nil {
		return nil, nil, err
	}
	optU, err := cfg.modelOptimizer(cfg.LearningRateU)
	if err != nil {
		return nil, nil, err
	}
	optL, err := cfg.lambdaOptimizer()
	if err != nil {
		return nil, nil, err
	}
	tr, va := p.Train, p.Val
	step, err := model.NewExec(s.be, s.store, func(scope *model.Scope, alpha *Node) (*Node, *Node, *Node) {
		g := alpha.Graph()
		scope.SetTraining(g, true) // see newSession
		x := Const(g, tensors.FromFlatDataAndDimensions(tr.X, tr.N, m.dim))
		y := Const(g, tensors.FromFlatDataAndDimensions(tr.Y, tr.N))
		mat := Const(g, tensors.FromFlatDataAndDimensions(sourceMatrix(p), ns, tr.N))
		xv := Const(g, tensors.FromFlatDataAndDimensions(va.X, va.N, m.dim))
		yv := Const(g, tensors.FromFlatDataAndDimensions(va.Y, va.N))
		sw, su := scope.At(scopeW), scope.At(scopeU)
		barW := m.sourceLosses(sw, x, y, mat) // ℓ̄(w), [S]
		barU := m.sourceLosses(su, x, y, mat) // ℓ̄(u)
		l1 := ReduceAllMean(m.losses(m.scores(sw, xv), yv))
		lam := lambda.NodeValue(g)
		pk := StopGradient(Softmax(lam, -1))
		l2w := ReduceAllSum(Mul(pk, barW)) // L₂(w, λ)
		l2u := ReduceAllSum(Mul(pk, barU)) // L₂(u, λ)
		// All three gradients are taken at the current point before any
		// block moves (simultaneous updates).
		lossL := lambdaObjective(lam, barW, barU, alpha)
		optW.UpdateGraph(sw, g, Add(l1, Mul(alpha, l2w)))
		optU.UpdateGraph(su, g, Mul(alpha, l2u))
		optL.UpdateGraph(scope.At(scopeLambda), g, lossL)
		return l1, l2w, l2u
	})
	if err != nil {
		return nil, nil, fmt.Errorf("bilevel: building the ScaleBiO graph: %w", err)
	}
	readLambda := func() ([]float64, error) {
		t, err := lambda.Value()
		if err != nil {
			return nil, fmt.Errorf("bilevel: reading λ: %w", err)
		}
		return tensors.CopyFlatData[float64](t)
	}
	// The weights after t steps are recorded at step t.
	recordWeights := func(t int) error {
		lam, err := readLambda()
		if err != nil {
			return err
		}
		for k, w := range Weights(lam) {
			if err := rec(int64(t), MetricWeightPrefix+p.Sources[k], w); err != nil {
				return err
			}
		}
		return nil
	}
	loop := fit.NewLoop("bilevel", cfg.Steps, func(n int) (float64, error) {
		t := n - 1 // steps taken before this one
		alpha := cfg.alphaAt(t)
		out, err := step.Call(alpha)
		if err != nil {
			return 0, err
		}
		l1, l2w, l2u := tensors.ToScalar[float64](out[0]), tensors.ToScalar[float64](out[1]), tensors.ToScalar[float64](out[2])
		objective := l1 + alpha*(l2w-l2u)
		// The losses are measured at the point before the update, the
		// point of step t; the loop checks the objective first.
		if rec != nil && t%cfg.EvalEvery == 0 && !math.IsNaN(objective) && !math.IsInf(objective, 0) {
			for _, v := range []struct {
				name string
				v    float64
			}{{MetricValLoss, l1}, {MetricPenalty, l2w - l2u}, {MetricAlpha, alpha}} {
				if err := rec(int64(t), v.name, v.v); err != nil {
					return 0, err
				}
			}
		}
		return objective, nil
	})
	loop.Record = rec
	loop.LossMetric = MetricObjective
	loop.Hint = "try smaller learning rates or a smaller alpha"
	loop.Watch(s.store)
	if rec != nil {
		loop.OnStart("weights", recordWeights)
		loop.EveryN(cfg.EvalEvery, "weights", recordWeights)
	}
	if err := loop.Run(ctx); err != nil {
		return nil, nil, err
	}
	lam, err := readLambda()
	if err != nil {
		return nil, nil, err
	}
	rw := &Reweighting{Lambda: lam, Weights: Weights(lam)}
	if rw.Val, _, err = s.evaluate(p.Val); err != nil {
		return nil, nil, err
	}
	if rw.Test, _, err = s.evaluate(p.Test); err != nil {
		return nil, nil, err
	}
	if rec != nil {
		if err := rec(int64(cfg.Steps), MetricValLoss, rw.Val.LogLoss); err != nil {
			return nil, nil, err
		}
	}
	return rw, s, nil
}
