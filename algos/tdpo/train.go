package tdpo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// Config is one preference-training run on a Task. DefaultConfig gives the
// defaults the plugins document.
type Config struct {
	Loss         Kind
	Beta         float64 // > 0
	Alpha        float64 // ≥ 0, TDPO2's weight of δ_l − sg(δ_w)
	LearningRate float64 // Adam
	Steps        int     // ≥ 1
	BatchSize    int     // pairs per step; 0 or ≥ the number of pairs means all
	EvalEvery    int     // record the metrics every this many steps (and at 0 and Steps)
	// EvalDense also records every step up to this one: training moves
	// fastest at the start, where a frontier drawn through sparse
	// checkpoints would cut below the path's concave curve.
	EvalDense int
	// KLSamples is the number of responses SampledMeasures draws when the
	// policy is neither tabular nor enumerable.
	KLSamples int
}

// Defaults of training. β and α are the paper's (and its code's) defaults.
const (
	DefaultBeta         = 0.1
	DefaultAlpha        = 0.5
	DefaultLearningRate = 0.01
	DefaultSteps        = 300
	DefaultBatchSize    = 64
	DefaultEvalEvery    = 10
	DefaultKLSamples    = 2048
)

// DefaultConfig returns the defaults of the plugin of kind.
func DefaultConfig(kind Kind) Config {
	return Config{Loss: kind, Beta: DefaultBeta, Alpha: DefaultAlpha, LearningRate: DefaultLearningRate,
		Steps: DefaultSteps, BatchSize: DefaultBatchSize, EvalEvery: DefaultEvalEvery, KLSamples: DefaultKLSamples}
}

func (c *Config) check() error {
	if err := Check(c.Loss, c.Beta, c.Alpha); err != nil {
		return err
	}
	switch {
	case !(c.LearningRate > 0) || math.IsInf(c.LearningRate, 1):
		return fmt.Errorf("tdpo: learning rate must be finite and > 0, got %v", c.LearningRate)
	case c.Steps < 1:
		return fmt.Errorf("tdpo: steps must be ≥ 1, got %d", c.Steps)
	case c.BatchSize < 0:
		return fmt.Errorf("tdpo: batch size must be ≥ 0, got %d", c.BatchSize)
	case c.EvalEvery < 1:
		return fmt.Errorf("tdpo: eval_every must be ≥ 1, got %d", c.EvalEvery)
	case c.EvalDense < 0:
		return fmt.Errorf("tdpo: eval_dense must be ≥ 0, got %d", c.EvalDense)
	case c.KLSamples < 1:
		return fmt.Errorf("tdpo: kl_samples must be ≥ 1, got %d", c.KLSamples)
	}
	return nil
}

// records reports whether step is one whose metrics are recorded.
func (c *Config) records(step int) bool {
	return step%c.EvalEvery == 0 || step == c.Steps || step <= c.EvalDense
}

// The metrics Train records, in the order Metrics.Each reports them.
const (
	MetricLoss          = "loss"            // the training loss over all pairs
	MetricAccuracy      = "reward_accuracy" // fraction of pairs whose implicit reward prefers the chosen response (ties ½)
	MetricMargin        = "margin"          // mean implicit-reward margin, chosen − rejected
	MetricSeqKLChosen   = "seqkl_chosen"    // mean δ_w = SeqKL(x, y_w) over the pairs
	MetricSeqKLRejected = "seqkl_rejected"  // mean δ_l = SeqKL(x, y_l)
	MetricKL            = "kl"              // E_x KL(π_θ(·|x) ‖ π_ref(·|x)) over whole responses
	MetricReward        = "reward"          // E_x E_{y∼π_θ} r(y)
)

// Metrics are the measures of the policy at one step.
type Metrics struct {
	Loss, Accuracy, Margin     float64
	SeqKLChosen, SeqKLRejected float64
	Measures
}

// Each calls fn with the name and value of every metric, in a fixed order.
func (m Metrics) Each(fn func(name string, value float64)) {
	fn(MetricLoss, m.Loss)
	fn(MetricAccuracy, m.Accuracy)
	fn(MetricMargin, m.Margin)
	fn(MetricSeqKLChosen, m.SeqKLChosen)
	fn(MetricSeqKLRejected, m.SeqKLRejected)
	fn(MetricKL, m.KL)
	fn(MetricReward, m.Reward)
}

// Recorder receives the metrics during training; kernel.Job.Record is one.
// A non-nil error stops training and is returned by Train.
type Recorder func(step int64, metric string, value float64) error

// Train fits a copy of task.Ref to task.Pairs with cfg.Loss (GoMLX
// autodiff and Adam), drawing mini-batches (and, for sampled measures,
// responses) from r. It records the metrics at step 0 (π_θ = π_ref), every
// cfg.EvalEvery steps and at the last step, and returns the last ones.
// rec may be nil.
func Train(ctx context.Context, task *Task, cfg Config, r *rand.Rand, rec Recorder) (Metrics, error) {
	t, err := NewTrainer(task, cfg, r)
	if err != nil {
		return Metrics{}, err
	}
	report := func(step int) (Metrics, error) {
		m, err := t.Evaluate()
		if err != nil || rec == nil {
			return m, err
		}
		var rerr error
		m.Each(func(name string, v float64) {
			if rerr == nil {
				rerr = rec(int64(step), name, v)
			}
		})
		return m, rerr
	}
	m, err := report(0)
	if err != nil {
		return m, err
	}
	for step := 1; step <= cfg.Steps; step++ {
		if err := ctx.Err(); err != nil {
			return m, err
		}
		if err := t.Step(); err != nil {
			return m, fmt.Errorf("tdpo: step %d: %w", step, err)
		}
		if cfg.records(step) {
			if m, err = report(step); err != nil {
				return m, err
			}
		}
	}
	return m, nil
}

// Trainer holds the policy, its executables and the batching state of one
// run. Create it with NewTrainer.
type Trainer struct {
	task   *Task
	cfg    Config
	r      *rand.Rand
	Policy *Net

	n, batch int
	prompts  []int // 2n: the pairs' prompts, chosen rows then rejected rows
	seqs     []int // 2n·T
	full     []any // the inputs of all pairs
	perm     []int
	cursor   int
	train    *model.Exec
	eval     *model.Exec
}

// NewTrainer prepares cfg's run on task: the policy (a copy of π_ref), the
// training executable (loss and Adam update) and the evaluation one.
func NewTrainer(task *Task, cfg Config, r *rand.Rand) (t *Trainer, err error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if task == nil || len(task.Pairs) == 0 {
		return nil, fmt.Errorf("tdpo: no preference pairs to train on")
	}
	s := task.Config.Spec
	policy, err := NewNet(s, task.Ref.Weights(), task.Config.Backend)
	if err != nil {
		return nil, err
	}
	defer recoverGraphPanic(&err)
	t = &Trainer{task: task, cfg: cfg, r: r, Policy: policy, n: len(task.Pairs)}
	t.batch = t.n
	if cfg.BatchSize > 0 && cfg.BatchSize < t.n {
		t.batch = cfg.BatchSize
	}
	t.prompts, t.seqs = task.pairSequences()
	t.full = t.inputs(t.prompts, t.seqs, task.refLogp)
	opt := optimizer.Adam().LearningRate(cfg.LearningRate).Done()
	t.train, err = model.NewExec(policy.backend, policy.store, func(scope *model.Scope, in []*Node) *Node {
		g := in[0].Graph()
		scope.SetTraining(g, true)
		u, d := sequenceStats(scope, s, in[0], in[1], in[2], in[3])
		b := u.Shape().Dimensions[0] / 2
		half := func(x *Node, i int) *Node { return Reshape(Slice(Reshape(x, 2, b), AxisElem(i)), b) }
		loss := ReduceAllMean(PairLosses(cfg.Loss, half(u, 0), half(u, 1), half(d, 0), half(d, 1), cfg.Beta, cfg.Alpha))
		opt.UpdateGraph(scope, g, loss)
		return loss
	})
	if err != nil {
		return nil, err
	}
	t.eval, err = model.NewExec(policy.backend, policy.store, func(scope *model.Scope, in []*Node) []*Node {
		scope.SetTraining(in[0].Graph(), true)
		u, d := sequenceStats(scope, s, in[0], in[1], in[2], in[3])
		return []*Node{u, d}
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// sequenceStats returns, per sequence, u = Σ_t [log π_θ − log π_ref](y_t)
// and SeqKL = Σ_t KL(π_ref(·|x, y<t) ‖ π_θ(·|x, y<t)), from the prompts
// [N], previous tokens [N, T], targets [N, T] and π_ref's log-conditionals
// [N, T, V] (a constant: no gradient reaches the reference).
func sequenceStats(scope *model.Scope, s Spec, prompt, prev, target, refLogp *Node) (u, seqKL *Node) {
	logp := logProbs(scope, s, prompt, prev)
	onehot := OneHot(target, s.Vocab, logp.DType())
	u = ReduceSum(Mul(onehot, Sub(logp, refLogp)), -1, -2)
	seqKL = ReduceSum(Mul(Exp(refLogp), Sub(refLogp, logp)), -1, -2)
	return u, seqKL
}

// inputs builds the executables' inputs for sequences with π_ref's
// log-conditionals refLogp [N, T, V].
func (t *Trainer) inputs(prompts, seqs []int, refLogp []float64) []any {
	s := t.task.Config.Spec
	p32, prev := contextInputs(s, prompts, seqs)
	n := len(prompts)
	return []any{p32, prev, targets(seqs, n, s.Length), tensors.FromFlatDataAndDimensions(refLogp, n, s.Length, s.Vocab)}
}

// Step takes one Adam step on the next batch: the whole set, or the next
// BatchSize pairs of a permutation redrawn each epoch (every batch has the
// same size, so one compiled graph serves all steps).
func (t *Trainer) Step() (err error) {
	defer recoverGraphPanic(&err)
	in := t.full
	if t.batch < t.n {
		s := t.task.Config.Spec
		T, V := s.Length, s.Vocab
		b := t.batch
		prompts := make([]int, 2*b)
		seqs := make([]int, 2*b*T)
		ref := make([]float64, 2*b*T*V)
		for k := range b {
			if t.cursor == len(t.perm) {
				t.perm, t.cursor = t.r.Perm(t.n), 0
			}
			i := t.perm[t.cursor]
			t.cursor++
			for half, src := range []int{i, t.n + i} {
				dst := half*b + k
				prompts[dst] = t.prompts[src]
				copy(seqs[dst*T:(dst+1)*T], t.seqs[src*T:(src+1)*T])
				copy(ref[dst*T*V:(dst+1)*T*V], t.task.refLogp[src*T*V:(src+1)*T*V])
			}
		}
		in = t.inputs(prompts, seqs, ref)
	}
	_, err = t.train.Exec(in...)
	return err
}

// Evaluate measures the current policy: the pair metrics over all pairs (in
// float64 from the per-sequence u and SeqKL), and the sequence-level reward
// and KL — exactly for a tabular policy (dynamic programming) or an
// enumerable one (the prefix tree), else from cfg.KLSamples samples.
func (t *Trainer) Evaluate() (m Metrics, err error) {
	defer recoverGraphPanic(&err)
	out, err := t.eval.Exec(t.full...)
	if err != nil {
		return m, err
	}
	u := tensors.MustCopyFlatData[float64](out[0])
	d := tensors.MustCopyFlatData[float64](out[1])
	n, cfg := t.n, t.cfg
	for i := range n {
		uw, ul, dw, dl := u[i], u[n+i], d[i], d[n+i]
		m.Loss += PairLossFloat64(cfg.Loss, uw, ul, dw, dl, cfg.Beta, cfg.Alpha)
		cw, cl := ImplicitRewards(cfg.Loss, uw, ul, dw, dl, cfg.Beta)
		switch {
		case cw > cl:
			m.Accuracy++
		case cw == cl:
			m.Accuracy += 0.5
		}
		m.Margin += cw - cl
		m.SeqKLChosen += dw
		m.SeqKLRejected += dl
	}
	nf := float64(n)
	m.Loss /= nf
	m.Accuracy /= nf
	m.Margin /= nf
	m.SeqKLChosen /= nf
	m.SeqKLRejected /= nf
	m.Measures, err = t.Measure()
	return m, err
}

// Measure returns the policy's sequence-level reward and KL to π_ref.
func (t *Trainer) Measure() (Measures, error) {
	task := t.task
	s := task.Config.Spec
	switch {
	case s.Arch == ArchTabular:
		pol := logSoftmaxRows(t.Policy.Weights()["table"], s.Vocab)
		return chainMeasures(s, pol, task.refTable, task.Reward), nil
	case task.Tree != nil:
		tree, err := NewTree(t.Policy)
		if err != nil {
			return Measures{}, err
		}
		return tree.Measure(task.Tree, task.Reward), nil
	}
	return SampledMeasures(t.Policy, task.Ref, task.Reward, t.cfg.KLSamples, t.r)
}
