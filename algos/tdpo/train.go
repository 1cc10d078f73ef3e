package tdpo

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/alignlab/alignlab/algos/fit"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Config is one preference-training run on a Task. DefaultConfig gives the
// defaults the plugins document.
type Config struct {
	Loss  Kind
	Beta  float64 // > 0
	Alpha float64 // ≥ 0, TDPO2's weight of δ_l − sg(δ_w)
	// Config holds the shared hyperparameters: LearningRate (Adam; the
	// optimizer is always Adam), Steps, BatchSize (pairs per step; 0 or ≥
	// the number of pairs means all) and EvalEvery (record the metrics
	// every this many steps, and at 0 and Steps).
	fit.Config
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
	return Config{Loss: kind, Beta: DefaultBeta, Alpha: DefaultAlpha,
		Config:    fit.Config{LearningRate: DefaultLearningRate, Steps: DefaultSteps, BatchSize: DefaultBatchSize, EvalEvery: DefaultEvalEvery},
		KLSamples: DefaultKLSamples}
}

func (c *Config) check() error {
	if err := Check(c.Loss, c.Beta, c.Alpha); err != nil {
		return err
	}
	if err := c.Config.Check("tdpo"); err != nil {
		return err
	}
	switch {
	case c.EvalDense < 0:
		return fmt.Errorf("tdpo: eval_dense must be ≥ 0, got %d", c.EvalDense)
	case c.KLSamples < 1:
		return fmt.Errorf("tdpo: kl_samples must be ≥ 1, got %d", c.KLSamples)
	}
	return nil
}

// records reports whether step is one whose metrics are recorded.
func (c *Config) records(step int) bool {
	return c.Config.Records(step) || step <= c.EvalDense
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

// Train fits a copy of task.Ref to task.Pairs with cfg.Loss (GoMLX
// autodiff and Adam), drawing mini-batches (and, for sampled measures,
// responses) from r. It records the metrics at step 0 (π_θ = π_ref), every
// cfg.EvalEvery steps and at the last step, and returns the last ones.
// rec may be nil.
func Train(ctx context.Context, task *Task, cfg Config, r *rand.Rand, rec fit.Recorder) (Metrics, error) {
	t, err := NewTrainer(task, cfg, r)
	if err != nil {
		return Metrics{}, err
	}
	_, last, err := t.run(ctx, rec, nil)
	return last, err
}

// run takes cfg.Steps optimizer steps on a fit.Loop, evaluating the policy
// at step 0 and at every step cfg.records, and sending the metrics to rec
// (if not nil; rec also receives a non-finite training loss, which stops
// the loop). idle, if not nil, is called after the steps that record
// nothing (progress). It returns the metrics at step 0 and the last ones.
func (t *Trainer) run(ctx context.Context, rec fit.Recorder, idle func(step int) error) (first, last Metrics, err error) {
	evaluate := func(step int) error {
		m, err := t.Evaluate()
		if err != nil {
			return err
		}
		if step == 0 {
			first = m
		}
		last = m
		if rec == nil {
			return nil
		}
		var rerr error
		m.Each(func(name string, v float64) {
			if rerr == nil {
				rerr = rec(int64(step), name, v)
			}
		})
		return rerr
	}
	loop := fit.NewLoop("tdpo", t.cfg.Steps, func(int) (float64, error) { return t.Step() })
	loop.Watch(t.Policy.store)
	loop.Record = rec
	loop.OnStart("evaluate", evaluate)
	// One hook at every step: the recorded steps (every EvalEvery, the
	// last, and all up to EvalDense) are not those of a single EveryN.
	loop.EveryN(1, "evaluate", func(step int) error {
		if t.cfg.records(step) {
			return evaluate(step)
		}
		if idle != nil {
			return idle(step)
		}
		return nil
	})
	err = loop.Run(ctx)
	return first, last, err
}

// Trainer holds the policy, its executables and the batching state of one
// run. Create it with NewTrainer.
type Trainer struct {
	task   *Task
	cfg    Config
	r      *rand.Rand
	Policy *Net

	n       int
	batches *fit.Batcher // over the n pairs
	prompts []int        // 2n: the pairs' prompts, chosen rows then rejected rows
	seqs    []int        // 2n·T
	full    []any        // the inputs of all pairs
	train   *model.Exec
	eval    *model.Exec
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
	defer fit.Catch("tdpo", &err)
	t = &Trainer{task: task, cfg: cfg, r: r, Policy: policy, n: len(task.Pairs)}
	t.batches = fit.NewBatcher(t.n, cfg.BatchSize, r)
	t.prompts, t.seqs = task.pairSequences()
	t.full = t.inputs(t.prompts, t.seqs, task.refLogp)
	opt, err := cfg.NewOptimizer()
	if err != nil {
		return nil, err
	}
	t.train, err = model.NewExec(policy.backend, policy.store, func(scope *model.Scope, in []*Node) *Node {
		g := in[0].Graph()
		scope.SetTraining(g, true)
		u, d := sequenceStats(scope, s, in[0], in[1], in[2], in[3])
		b := u.Shape().Dimensions[0] / 2
		half := func(x *Node, i int) *Node { return Reshape(Slice(Reshape(x, 2, b), AxisElem(i)), b) }
		loss := logistic.Mean(Logits(cfg.Loss, half(u, 0), half(u, 1), half(d, 0), half(d, 1), cfg.Beta, cfg.Alpha), nil)
		opt.UpdateGraph(scope, g, loss)
		return loss
	})
	if err != nil {
		return nil, err
	}
	if t.eval, err = statsExec(policy); err != nil {
		return nil, err
	}
	return t, nil
}

// statsExec returns an executable of net's u and SeqKL per sequence (see
// sequenceStats) from statsInputs.
func statsExec(net *Net) (*model.Exec, error) {
	return model.NewExec(net.backend, net.store, func(scope *model.Scope, in []*Node) []*Node {
		scope.SetTraining(in[0].Graph(), true)
		u, d := sequenceStats(scope, net.Spec, in[0], in[1], in[2], in[3])
		return []*Node{u, d}
	})
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
	return statsInputs(t.task.Config.Spec, prompts, seqs, refLogp)
}

// statsInputs builds the inputs of the training and statistics
// executables for sequences of spec s with π_ref's log-conditionals
// refLogp [N, T, V].
func statsInputs(s Spec, prompts, seqs []int, refLogp []float64) []any {
	p32, prev := contextInputs(s, prompts, seqs)
	n := len(prompts)
	return []any{p32, prev, targets(seqs, n, s.Length), tensors.FromFlatDataAndDimensions(refLogp, n, s.Length, s.Vocab)}
}

// Step takes one Adam step on the next batch, all the pairs or the next
// fit.Batcher batch (every batch has the same size, so one compiled graph
// serves all steps), and returns the batch's loss before the update.
func (t *Trainer) Step() (loss float64, err error) {
	defer fit.Catch("tdpo", &err)
	in := t.full
	if !t.batches.Full() {
		s := t.task.Config.Spec
		T := s.Length
		idx := t.batches.Next()
		b := len(idx)
		rows := make([]int, 2*b) // chosen rows, then the same pairs' rejected rows
		for k, i := range idx {
			rows[k], rows[b+k] = i, t.n+i
		}
		prompts := make([]int, 2*b)
		seqs := make([]int, 2*b*T)
		for dst, src := range rows {
			prompts[dst] = t.prompts[src]
			copy(seqs[dst*T:(dst+1)*T], t.seqs[src*T:(src+1)*T])
		}
		in = t.inputs(prompts, seqs, fit.Rows(t.task.refLogp, T*s.Vocab, rows))
	}
	out, err := t.train.Exec(in...)
	if err != nil {
		return 0, err
	}
	return tensors.ToScalar[float64](out[0]), nil
}

// Evaluate measures the current policy: the pair metrics over all pairs (in
// float64 from the per-sequence u and SeqKL), and the sequence-level reward
// and KL — exactly for a tabular policy (dynamic programming) or an
// enumerable one (the prefix tree), else from cfg.KLSamples samples.
func (t *Trainer) Evaluate() (m Metrics, err error) {
	defer fit.Catch("tdpo", &err)
	out, err := t.eval.Exec(t.full...)
	if err != nil {
		return m, err
	}
	m = pairMetrics(t.cfg, tensors.MustCopyFlatData[float64](out[0]), tensors.MustCopyFlatData[float64](out[1]))
	m.Measures, err = t.Measure()
	return m, err
}

// pairMetrics returns the pair metrics (loss, accuracy, margin, mean
// SeqKLs) of n pairs from u and SeqKL of their 2n sequences, chosen ones
// first.
func pairMetrics(cfg Config, u, d []float64) (m Metrics) {
	n := len(u) / 2
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
	return m
}

// refMeasures returns π_ref's sequence-level reward and KL (0), as Measure
// finds them at step 0 of a run that starts at π_ref; r draws the
// responses of a sampled measure.
func (t *Trainer) refMeasures(r *rand.Rand) (Measures, error) {
	task := t.task
	s := task.Config.Spec
	switch {
	case s.Arch == ArchTabular:
		return chainMeasures(s, task.refTable, task.refTable, task.Reward), nil
	case task.Tree != nil:
		return task.Tree.Measure(task.Tree, task.Reward), nil
	}
	return SampledMeasures(task.Ref, task.Ref, task.Reward, t.cfg.KLSamples, r)
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
