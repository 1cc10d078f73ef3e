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
)

// The optimizers (ParamOptimizer), GoMLX's.
const (
	OptimizerAdam  = "adam"  // Adam, β1 = 0.9, β2 = 0.999
	OptimizerAdamW = "adamw" // Adam with decoupled weight decay on the model parameters (ScaleBiO's choice)
)

// Config is one run of Reweight or Compare. DefaultConfig gives the
// defaults the plugin documents.
type Config struct {
	Model  string  // ModelLogistic, ModelMLP or ModelDPO
	Hidden int     // MLP hidden units
	Beta   float64 // DPO's β

	Alpha       float64 // α of the first round, > 0
	AlphaGrowth float64 // α is multiplied by this after every round, ≥ 1
	Rounds      int     // rounds of equal length, ≥ 1
	Steps       int     // optimizer steps of ScaleBiO and of every baseline fit, ≥ 1

	LearningRate       float64 // w, and the models of the baselines
	LearningRateU      float64 // u
	LearningRateLambda float64 // λ
	Optimizer          string  // OptimizerAdam or OptimizerAdamW
	WeightDecay        float64 // AdamW's decay of w and u (not of λ)

	FilterMargin float64 // the val_filter baseline drops sources whose loss exceeds the lowest by more
	EvalEvery    int     // steps between recorded weights
	Backend      string  // GoMLX backend configuration; "" means "go"
}

// DefaultConfig returns the plugin's defaults.
func DefaultConfig() Config {
	return Config{
		Model: ModelLogistic, Hidden: DefaultHidden, Beta: DefaultBeta,
		Alpha: DefaultAlpha, AlphaGrowth: DefaultAlphaGrowth, Rounds: DefaultRounds, Steps: DefaultSteps,
		LearningRate: DefaultLearningRate, LearningRateU: DefaultLearningRate, LearningRateLambda: DefaultLearningRateLambda,
		Optimizer: OptimizerAdam, WeightDecay: DefaultWeightDecay,
		FilterMargin: DefaultFilterMargin, EvalEvery: DefaultEvalEvery,
	}
}

func (c *Config) check() error {
	pos := func(name string, v float64) error {
		if !(v > 0) || math.IsInf(v, 1) {
			return fmt.Errorf("bilevel: %s must be finite and > 0, got %v", name, v)
		}
		return nil
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"alpha", c.Alpha}, {"learning rate", c.LearningRate}, {"learning rate of u", c.LearningRateU}, {"learning rate of λ", c.LearningRateLambda}} {
		if err := pos(p.name, p.v); err != nil {
			return err
		}
	}
	switch {
	case !(c.AlphaGrowth >= 1) || math.IsInf(c.AlphaGrowth, 1):
		return fmt.Errorf("bilevel: alpha growth must be finite and ≥ 1, got %v", c.AlphaGrowth)
	case c.Rounds < 1 || c.Steps < 1 || c.Rounds > c.Steps:
		return fmt.Errorf("bilevel: want 1 ≤ rounds ≤ steps, got %d rounds of %d steps", c.Rounds, c.Steps)
	case c.Optimizer != OptimizerAdam && c.Optimizer != OptimizerAdamW:
		return fmt.Errorf("bilevel: unknown optimizer %q (known: %s, %s)", c.Optimizer, OptimizerAdam, OptimizerAdamW)
	case !(c.WeightDecay >= 0) || math.IsInf(c.WeightDecay, 1):
		return fmt.Errorf("bilevel: weight decay must be finite and ≥ 0, got %v", c.WeightDecay)
	case !(c.FilterMargin >= 0) || math.IsInf(c.FilterMargin, 1):
		return fmt.Errorf("bilevel: filter margin must be finite and ≥ 0, got %v", c.FilterMargin)
	case c.EvalEvery < 1:
		return fmt.Errorf("bilevel: eval_every must be ≥ 1, got %d", c.EvalEvery)
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

// newOptimizer returns the GoMLX optimizer of one block of variables.
// Weight decay applies to the model parameters only: on λ it would pull
// the weights towards uniform, which is not part of the objective.
func (c *Config) newOptimizer(lr float64, decay bool) optimizer.Interface {
	a := optimizer.Adam().LearningRate(lr)
	if decay && c.Optimizer == OptimizerAdamW && c.WeightDecay > 0 {
		a = a.WeightDecay(c.WeightDecay)
	}
	return a.Done()
}

// Recorder receives metrics during training; kernel.Job.Record is one. A
// non-nil error stops training and is returned.
type Recorder func(step int64, metric string, value float64) error

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

// recoverGraph turns a panic of GoMLX graph building or execution into *err.
func recoverGraph(err *error) {
	if r := recover(); r != nil {
		if e, ok := r.(error); ok {
			*err = fmt.Errorf("bilevel: %w", e)
		} else {
			*err = fmt.Errorf("bilevel: %v", r)
		}
	}
}

// fitWeighted trains a fresh copy of the learner (starting at init) for
// cfg.Steps steps on sp, minimising Σ_i c_i ℓ_i with fixed per-example
// weights c, and returns the session holding it.
func fitWeighted(ctx context.Context, m learner, sp Examples, c []float64, init []param, cfg Config) (s *session, err error) {
	defer recoverGraph(&err)
	if s, err = newSession(m, cfg.Backend, init, scopeW); err != nil {
		return nil, err
	}
	opt := cfg.newOptimizer(cfg.LearningRate, true)
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
	for range cfg.Steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out, err := step.Call()
		if err != nil {
			return nil, fmt.Errorf("bilevel: training step: %w", err)
		}
		if v := tensors.ToScalar[float64](out[0]); math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("bilevel: the weighted training loss diverged (%v); try a smaller learning rate", v)
		}
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
)

// Reweight learns per-source weights p = softmax(λ) by ScaleBiO's
// first-order minimax (see the package documentation): every step updates
// u, w and λ simultaneously from the same point, each with its own Adam
// (or AdamW) state and learning rate, α growing by AlphaGrowth per round.
// The learner starts from init (nil: drawn from r) in both w and u. It
// records, at step 0, every cfg.EvalEvery steps and at cfg.Steps, the
// weights (weight/<source>), val_loss (L₁(w)), penalty and alpha; rec may
// be nil.
func Reweight(ctx context.Context, p *Problem, cfg Config, r *rand.Rand, rec Recorder) (*Reweighting, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	m := cfg.learner(p.Dim)
	if err := m.check(p.Kind); err != nil {
		return nil, err
	}
	rw, _, err := reweight(ctx, p, cfg, m, m.params(r), rec)
	return rw, err
}

func reweight(ctx context.Context, p *Problem, cfg Config, m learner, init []param, rec Recorder) (rw *Reweighting, s *session, err error) {
	defer recoverGraph(&err)
	if s, err = newSession(m, cfg.Backend, init, scopeW, scopeU); err != nil {
		return nil, nil, err
	}
	ns := len(p.Sources)
	lambda := s.store.RootScope().At(scopeLambda).VariableWithValue("lambda", make([]float64, ns))
	optW := cfg.newOptimizer(cfg.LearningRate, true)
	optU := cfg.newOptimizer(cfg.LearningRateU, true)
	optL := cfg.newOptimizer(cfg.LearningRateLambda, false)
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
	recordWeights := func(t int) error {
		if rec == nil {
			return nil
		}
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
	for t := range cfg.Steps {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		report := rec != nil && t%cfg.EvalEvery == 0
		if report {
			if err := recordWeights(t); err != nil {
				return nil, nil, err
			}
		}
		alpha := cfg.alphaAt(t)
		out, err := step.Call(alpha)
		if err != nil {
			return nil, nil, fmt.Errorf("bilevel: ScaleBiO step %d: %w", t+1, err)
		}
		l1, l2w, l2u := tensors.ToScalar[float64](out[0]), tensors.ToScalar[float64](out[1]), tensors.ToScalar[float64](out[2])
		if report {
			for _, v := range []struct {
				name string
				v    float64
			}{{MetricValLoss, l1}, {MetricPenalty, l2w - l2u}, {MetricAlpha, alpha}} {
				if err := rec(int64(t), v.name, v.v); err != nil {
					return nil, nil, err
				}
			}
		} else if math.IsNaN(l1+l2w+l2u) || math.IsInf(l1+l2w+l2u, 0) {
			return nil, nil, fmt.Errorf("bilevel: ScaleBiO diverged at step %d (L₁ = %v, L₂(w) = %v, L₂(u) = %v); try smaller learning rates or α", t, l1, l2w, l2u)
		}
	}
	if err := recordWeights(cfg.Steps); err != nil {
		return nil, nil, err
	}
	lam, err := readLambda()
	if err != nil {
		return nil, nil, err
	}
	rw = &Reweighting{Lambda: lam, Weights: Weights(lam)}
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
