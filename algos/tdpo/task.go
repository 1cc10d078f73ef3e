package tdpo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/algos/pairloss"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// TaskConfig is the synthetic controlled-generation task, the paper's IMDb
// sentiment task made exact: a true text process writes "reviews" whose
// sentiment leans with the prompt, a reference model is fitted to them by
// SFT, and preference pairs sampled from the reference are labelled by
// Bradley–Terry on a known reward. DefaultTaskConfig gives the defaults the
// plugins document.
type TaskConfig struct {
	Spec // the sequence space and the architecture of the reference (and policy)

	// The first Positive tokens are "positive", the next Negative are
	// "negative", the rest neutral; r(y) = #positive − ½·#negative.
	Positive, Negative int
	// Sentiment is the lean b of the true text process: its logits for
	// prompt x are G[y_{t−1}, v] + b·s_x·sign(v), with G ~ N(0, 1) drawn
	// once, s_x evenly spaced in [−1, 1] and sign(v) = +1, −1, 0 for
	// positive, negative and neutral tokens.
	Sentiment float64

	SFTSamples      int     // sequences of the SFT corpus, prompts uniform
	SFTSteps        int     // Adam steps of SFT
	SFTBatch        int     // sequences per SFT step
	SFTLearningRate float64 // Adam learning rate of SFT

	Pairs int // preference pairs, responses drawn from π_ref, distinct
	// LabelScale is s in the Bradley–Terry labels P(y1 ≻ y2) = σ(s·(r(y1) − r(y2))).
	LabelScale float64

	Backend string // GoMLX backend configuration; "" means "go"
}

// Defaults of the task.
const (
	DefaultPrompts         = 4
	DefaultVocab           = 6
	DefaultLength          = 4
	DefaultHidden          = 16
	DefaultPositive        = 2
	DefaultNegative        = 2
	DefaultSentiment       = 1.0
	DefaultSFTSamples      = 4000
	DefaultSFTSteps        = 300
	DefaultSFTBatch        = 256
	DefaultSFTLearningRate = 0.05
	DefaultPairs           = 1000
	DefaultLabelScale      = 1.0
)

// DefaultTaskConfig returns the task the plugins run without --data, with
// the reference of architecture arch.
func DefaultTaskConfig(arch string) TaskConfig {
	return TaskConfig{
		Spec:     Spec{Prompts: DefaultPrompts, Vocab: DefaultVocab, Length: DefaultLength, Arch: arch, Hidden: DefaultHidden},
		Positive: DefaultPositive, Negative: DefaultNegative, Sentiment: DefaultSentiment,
		SFTSamples: DefaultSFTSamples, SFTSteps: DefaultSFTSteps, SFTBatch: DefaultSFTBatch, SFTLearningRate: DefaultSFTLearningRate,
		Pairs: DefaultPairs, LabelScale: DefaultLabelScale,
	}
}

func (c *TaskConfig) check() error {
	if err := c.Spec.check(); err != nil {
		return err
	}
	switch {
	case c.Positive < 0 || c.Negative < 0 || c.Positive+c.Negative > c.Vocab:
		return fmt.Errorf("tdpo: %d positive and %d negative tokens do not fit a vocabulary of %d", c.Positive, c.Negative, c.Vocab)
	case c.Positive+c.Negative == 0:
		return fmt.Errorf("tdpo: the reward needs a positive or a negative token")
	case !(c.Sentiment >= 0) || math.IsInf(c.Sentiment, 1):
		return fmt.Errorf("tdpo: sentiment must be finite and ≥ 0, got %v", c.Sentiment)
	case c.SFTSamples < 1 || c.SFTSteps < 0 || c.SFTBatch < 1:
		return fmt.Errorf("tdpo: SFT needs ≥ 1 sample, ≥ 0 steps and a batch ≥ 1, got %d, %d, %d", c.SFTSamples, c.SFTSteps, c.SFTBatch)
	case !(c.SFTLearningRate > 0) || math.IsInf(c.SFTLearningRate, 1):
		return fmt.Errorf("tdpo: SFT learning rate must be finite and > 0, got %v", c.SFTLearningRate)
	case c.Pairs < 1:
		return fmt.Errorf("tdpo: pairs must be ≥ 1, got %d", c.Pairs)
	case !(c.LabelScale >= 0) || math.IsInf(c.LabelScale, 1):
		return fmt.Errorf("tdpo: label scale must be finite and ≥ 0, got %v", c.LabelScale)
	}
	return nil
}

// Pair is one labelled comparison: two distinct responses to a prompt.
type Pair struct {
	Prompt           int
	Chosen, Rejected []int // Length tokens each
}

// Task is a built instance of the task: the reward, the true text process,
// the SFT reference and the preference pairs.
type Task struct {
	Config TaskConfig
	Reward []float64 // r(v) per token: 1 positive, −½ negative, 0 neutral
	// World holds log q(v | x, y_{t−1}) of the true text process, row-major
	// [P, V+1, V] (the previous token V is the begin token).
	World []float64
	Ref   *Net  // the reference π_ref, fitted by SFT; frozen
	Tree  *Tree // π_ref's conditionals at every prefix; nil when too many to enumerate
	Pairs []Pair

	// SFTLoss is π_ref's mean per-token negative log-likelihood on the SFT
	// corpus; SFTEntropy the true process's per-token entropy on the same
	// prefixes, the least that loss can be in expectation.
	SFTLoss, SFTEntropy float64
	// Accuracy is the fraction of pairs whose chosen response has the
	// higher true reward (ties ½): the ceiling of any reward accuracy.
	Accuracy float64

	curve    *optimalCurve // built by optimal on first use
	refTable []float64     // tabular reference: log π_ref rows [P·(V+1), V]
	refLogp  []float64     // π_ref's conditionals on the pairs: [2n, T, V], chosen rows then rejected rows
}

// SequenceReward returns r(y) = Σ_t r(y_t).
func (t *Task) SequenceReward(y []int) float64 {
	s := 0.0
	for _, v := range y {
		s += t.Reward[v]
	}
	return s
}

// NewTask builds the task: draws the true text process, samples the SFT
// corpus, fits the reference, and samples and labels the pairs, all from r.
func NewTask(ctx context.Context, cfg TaskConfig, r *rand.Rand) (*Task, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	s := cfg.Spec
	t := &Task{Config: cfg, Reward: make([]float64, s.Vocab)}
	sign := make([]float64, s.Vocab)
	for v := range s.Vocab {
		switch {
		case v < cfg.Positive:
			t.Reward[v], sign[v] = 1, 1
		case v < cfg.Positive+cfg.Negative:
			t.Reward[v], sign[v] = -0.5, -1
		}
	}
	V1 := s.Vocab + 1
	g := make([]float64, V1*s.Vocab)
	for i := range g {
		g[i] = r.NormFloat64()
	}
	t.World = make([]float64, s.Prompts*V1*s.Vocab)
	for x := range s.Prompts {
		sx := 0.0
		if s.Prompts > 1 {
			sx = -1 + 2*float64(x)/float64(s.Prompts-1)
		}
		for prev := range V1 {
			row := t.World[(x*V1+prev)*s.Vocab : (x*V1+prev+1)*s.Vocab]
			for v := range row {
				row[v] = g[prev*s.Vocab+v] + cfg.Sentiment*sx*sign[v]
			}
			logNormalize(row)
		}
	}

	// The SFT corpus, from the true process.
	prompts := make([]int, cfg.SFTSamples)
	seqs := make([]int, cfg.SFTSamples*s.Length)
	ent := 0.0
	for i := range prompts {
		x := r.IntN(s.Prompts)
		prompts[i] = x
		prev := s.bos()
		for k := range s.Length {
			row := t.World[(x*V1+prev)*s.Vocab : (x*V1+prev+1)*s.Vocab]
			ent += entropy(row)
			prev = sampleLog(row, r)
			seqs[i*s.Length+k] = prev
		}
	}
	t.SFTEntropy = ent / float64(len(seqs))
	ref, err := NewNet(s, InitialWeights(s, r), cfg.Backend)
	if err != nil {
		return nil, err
	}
	if err := fitSFT(ctx, ref, prompts, seqs, cfg, r); err != nil {
		return nil, err
	}
	t.Ref = ref
	if t.SFTLoss, err = nll(ref, prompts, seqs); err != nil {
		return nil, err
	}
	if s.Arch == ArchTabular {
		t.refTable = logSoftmaxRows(ref.Weights()["table"], s.Vocab)
	}
	if Enumerable(s) {
		if t.Tree, err = NewTree(ref); err != nil {
			return nil, err
		}
	}
	if err := t.samplePairs(r); err != nil {
		return nil, err
	}
	return t, ctx.Err()
}

// fitSFT trains net by maximum likelihood (mean per-token cross-entropy)
// on the corpus with Adam, on a fit.Loop over mini-batches of a permutation
// redrawn each epoch.
func fitSFT(ctx context.Context, net *Net, prompts, seqs []int, cfg TaskConfig, r *rand.Rand) (err error) {
	if cfg.SFTSteps == 0 {
		return nil
	}
	defer fit.Catch("tdpo", &err)
	s := net.Spec
	opt, err := fit.NewOptimizer(fit.Adam, cfg.SFTLearningRate, 0, 0)
	if err != nil {
		return err
	}
	exec, err := model.NewExec(net.backend, net.store, func(scope *model.Scope, prompt, prev, target *Node) *Node {
		g := prompt.Graph()
		scope.SetTraining(g, true)
		logp := logProbs(scope, s, prompt, prev)
		loss := Neg(ReduceAllMean(ReduceSum(Mul(logp, OneHot(target, s.Vocab, logp.DType())), -1)))
		opt.UpdateGraph(scope, g, loss)
		return loss
	})
	if err != nil {
		return err
	}
	batches := fit.NewBatcher(len(prompts), cfg.SFTBatch, r)
	bp, bs := make([]int, batches.Size()), make([]int, batches.Size()*s.Length)
	loop := fit.NewLoop("tdpo: SFT", cfg.SFTSteps, func(int) (float64, error) {
		// Next even when the batch is the whole corpus: each step then
		// takes it in a new order, keeping the random stream (and the
		// loss's summation order) of every result recorded so far.
		for k, i := range batches.Next() {
			bp[k] = prompts[i]
			copy(bs[k*s.Length:(k+1)*s.Length], seqs[i*s.Length:(i+1)*s.Length])
		}
		p32, prev := contextInputs(s, bp, bs)
		out, err := exec.Exec(p32, prev, targets(bs, len(bp), s.Length))
		if err != nil {
			return 0, err
		}
		return tensors.ToScalar[float64](out[0]), nil
	})
	loop.LossMetric = "sft_loss"
	loop.Hint = "try a smaller " + ParamSFTLearningRate
	loop.Watch(net.store)
	return loop.Run(ctx)
}

func targets(seqs []int, n, T int) *tensors.Tensor {
	y := make([]int32, len(seqs))
	for i, v := range seqs {
		y[i] = int32(v)
	}
	return tensors.FromFlatDataAndDimensions(y, n, T)
}

// nll is the mean per-token negative log-likelihood of seqs under net.
func nll(net *Net, prompts, seqs []int) (float64, error) {
	lp, err := net.LogProbs(prompts, seqs)
	if err != nil {
		return 0, err
	}
	V := net.Spec.Vocab
	s := 0.0
	for i, v := range seqs {
		s -= lp[i*V+v]
	}
	return s / float64(len(seqs)), nil
}

// samplePairs draws Config.Pairs pairs of distinct responses from π_ref and
// labels them. Identical responses carry no preference and are redrawn (a
// whole round of n at a time, so the compiled shape stays one).
func (t *Task) samplePairs(r *rand.Rand) error {
	cfg := t.Config
	n, T := cfg.Pairs, cfg.Length
	prompts := make([]int, n)
	for i := range prompts {
		prompts[i] = r.IntN(cfg.Prompts)
	}
	a, err := Sample(t.Ref, prompts, r)
	if err != nil {
		return err
	}
	b, err := Sample(t.Ref, prompts, r)
	if err != nil {
		return err
	}
	same := func(i int) bool { return equalInts(a[i*T:(i+1)*T], b[i*T:(i+1)*T]) }
	for round := 0; ; round++ {
		pending := false
		for i := range n {
			pending = pending || same(i)
		}
		if !pending {
			break
		}
		if round == 20 {
			return fmt.Errorf("tdpo: π_ref keeps drawing identical responses (after %d rounds); raise the length or the vocabulary", round)
		}
		c, err := Sample(t.Ref, prompts, r)
		if err != nil {
			return err
		}
		for i := range n {
			if same(i) {
				copy(b[i*T:(i+1)*T], c[i*T:(i+1)*T])
			}
		}
	}
	t.Pairs = make([]Pair, n)
	acc := 0.0
	for i := range n {
		ya, yb := a[i*T:(i+1)*T], b[i*T:(i+1)*T]
		ra, rb := t.SequenceReward(ya), t.SequenceReward(yb)
		p := Pair{Prompt: prompts[i], Chosen: ya, Rejected: yb}
		if r.Float64() >= pairloss.Sigmoid(cfg.LabelScale*(ra-rb)) {
			p.Chosen, p.Rejected = yb, ya
			ra, rb = rb, ra
		}
		switch {
		case ra > rb:
			acc++
		case ra == rb:
			acc += 0.5
		}
		t.Pairs[i] = p
	}
	t.Accuracy = acc / float64(n)
	// The reference's conditionals on the pairs are constants of training,
	// computed once (the authors run the reference under no_grad).
	pp, seqs := t.pairSequences()
	t.refLogp, err = t.Ref.LogProbs(pp, seqs)
	return err
}

// pairSequences returns the prompts and tokens of every chosen response,
// then of every rejected one.
func (t *Task) pairSequences() (prompts, seqs []int) { return pairSequences(t.Pairs, t.Config.Length) }

// pairSequences returns the prompts and tokens of the chosen responses of
// pairs (T tokens each), then of the rejected ones.
func pairSequences(pairs []Pair, T int) (prompts, seqs []int) {
	n := len(pairs)
	prompts = make([]int, 2*n)
	seqs = make([]int, 2*n*T)
	for i, p := range pairs {
		prompts[i], prompts[n+i] = p.Prompt, p.Prompt
		copy(seqs[i*T:], p.Chosen)
		copy(seqs[(n+i)*T:], p.Rejected)
	}
	return prompts, seqs
}

// Sample draws one response per prompt from net, token by token (T calls
// of its executable; future positions are ignored by the causal model).
func Sample(net *Net, prompts []int, r *rand.Rand) ([]int, error) {
	s := net.Spec
	T, V := s.Length, s.Vocab
	seqs := make([]int, len(prompts)*T)
	for t := range T {
		lp, err := net.LogProbs(prompts, seqs)
		if err != nil {
			return nil, err
		}
		for i := range prompts {
			seqs[i*T+t] = sampleLog(lp[(i*T+t)*V:(i*T+t+1)*V], r)
		}
	}
	return seqs, nil
}

// sampleLog draws an index from the distribution with log-probabilities lp.
func sampleLog(lp []float64, r *rand.Rand) int {
	u := r.Float64()
	c := 0.0
	for v, l := range lp {
		c += math.Exp(l)
		if u < c {
			return v
		}
	}
	return len(lp) - 1 // rounding: the total may fall short of 1
}

func logNormalize(row []float64) {
	m := math.Inf(-1)
	for _, v := range row {
		m = max(m, v)
	}
	s := 0.0
	for _, v := range row {
		s += math.Exp(v - m)
	}
	lse := m + math.Log(s)
	for i := range row {
		row[i] -= lse
	}
}

func logSoftmaxRows(w []float64, V int) []float64 {
	out := append([]float64(nil), w...)
	for i := 0; i < len(out); i += V {
		logNormalize(out[i : i+V])
	}
	return out
}

func entropy(lp []float64) float64 {
	h := 0.0
	for _, l := range lp {
		h -= math.Exp(l) * l
	}
	return h
}

func equalInts(a, b []int) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
