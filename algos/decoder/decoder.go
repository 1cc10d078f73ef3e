package decoder

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/zoo/transformer"
)

// The model sizes SizeConfig knows, smallest first.
const (
	// SizeTest is ≈ 50k parameters at a byte vocabulary: seconds to train,
	// for tests and `make test`.
	SizeTest = "test"
	// SizeSmall is ≈ 0.2M parameters: the notebook's default on 2 cores.
	SizeSmall = "small"
	// SizeNotebook is ≈ 1.3M parameters: minutes per stage on 2 cores.
	SizeNotebook = "notebook"
)

// Sizes lists the names SizeConfig knows, smallest first.
var Sizes = []string{SizeTest, SizeSmall, SizeNotebook}

// Config is the shape of a decoder-only transformer (GoMLX's
// ml/zoo/transformer: pre-norm blocks, RoPE positions, a causal mask).
type Config struct {
	Vocab  int    `json:"vocab"`   // tokens, including the special ones
	Dim    int    `json:"dim"`     // embedding width = Heads·HeadDim
	Layers int    `json:"layers"`  // transformer blocks
	Heads  int    `json:"heads"`   // attention heads
	FFN    int    `json:"ffn"`     // feed-forward width
	MaxLen int    `json:"max_len"` // longest sequence (prompt + completion + 1)
	DType  string `json:"dtype"`   // "float32" (default) or "float64"
	// Arch is the block layout: "" for alignlab's own (the zoo's post-norm
	// blocks with RoPE) or ArchGPT2 (LoadHF's).
	Arch string `json:"arch,omitempty"`
	// NormEps is the LayerNorm epsilon of ArchGPT2 models.
	NormEps float64 `json:"norm_eps,omitempty"`
}

// SizeConfig returns the shape of a named size (one of Sizes) for a
// vocabulary of vocab tokens and sequences of at most maxLen tokens.
func SizeConfig(size string, vocab, maxLen int) (Config, error) {
	c := Config{Vocab: vocab, MaxLen: maxLen, DType: "float32"}
	switch size {
	case SizeTest:
		c.Dim, c.Layers, c.Heads, c.FFN = 32, 2, 4, 128
	case SizeSmall:
		c.Dim, c.Layers, c.Heads, c.FFN = 64, 3, 4, 256
	case SizeNotebook:
		c.Dim, c.Layers, c.Heads, c.FFN = 128, 6, 8, 512
	default:
		return c, fmt.Errorf("decoder: unknown size %q (known: %s)", size, strings.Join(Sizes, ", "))
	}
	return c, c.Check()
}

// Check reports a shape the transformer cannot have.
func (c Config) Check() error {
	switch {
	case c.Vocab < 2:
		return fmt.Errorf("decoder: vocab must be ≥ 2, got %d", c.Vocab)
	case c.Dim < 1 || c.Layers < 1 || c.Heads < 1 || c.FFN < 1:
		return fmt.Errorf("decoder: dim, layers, heads and ffn must be ≥ 1, got %d, %d, %d, %d", c.Dim, c.Layers, c.Heads, c.FFN)
	case c.Dim%c.Heads != 0:
		return fmt.Errorf("decoder: dim %d is not a multiple of heads %d", c.Dim, c.Heads)
	case c.Arch != "" && c.Arch != ArchGPT2:
		return fmt.Errorf("decoder: unknown arch %q (known: \"\", %q)", c.Arch, ArchGPT2)
	case c.Arch == "" && (c.Dim/c.Heads)%2 != 0:
		return fmt.Errorf("decoder: the head width dim/heads = %d must be even (RoPE rotates pairs)", c.Dim/c.Heads)
	case c.MaxLen < 2:
		return fmt.Errorf("decoder: max_len must be ≥ 2, got %d", c.MaxLen)
	case c.DType != "" && c.DType != "float32" && c.DType != "float64":
		return fmt.Errorf("decoder: dtype must be float32 or float64, got %q", c.DType)
	}
	return nil
}

func (c Config) dtype() dtypes.DType {
	if c.DType == "float64" {
		return dtypes.Float64
	}
	return dtypes.Float32
}

// Scope names of the model's variables in its store.
const (
	scopePolicy = "policy" // the transformer
	scopeHead   = "head"   // the scalar reward head (reward models)
)

// Model is a decoder-only transformer with its variables: a policy
// π(y_t | x, y_<t) over the tokens, and, for reward models, a scalar head on
// the last hidden state. Create one with New or Load; it is not safe for
// concurrent use.
type Model struct {
	Config  Config
	backend compute.Backend
	store   *model.Store
	zoo     *transformer.Model

	logProbs *model.Exec // token log-probs of a batch
	logits   *model.Exec // all logits of a batch (tests, sampling)
	reward   *model.Exec // head scores of a batch
	last     *model.Exec // next-token logits at given positions (sampling)
}

// New returns a freshly initialised model of shape cfg, its weights drawn
// from seed (GoMLX's default initialiser on the store's random state), on
// the backend named by config ("" is the pure-Go backend).
func New(cfg Config, seed int64, backendConfig string) (m *Model, err error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if cfg.DType == "" {
		cfg.DType = "float32"
	}
	be, err := getBackend(backendConfig)
	if err != nil {
		return nil, err
	}
	defer fit.Catch("decoder", &err)
	m = &Model{Config: cfg, backend: be, store: model.NewStore()}
	if err := m.store.SetRNGStateFromSeed(seed); err != nil {
		return nil, err
	}
	m.build()
	// One evaluation creates and initialises every variable of the policy.
	b := m.emptyBatch(1)
	if _, err := m.TokenLogProbs(b); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Model) build() {
	c := m.Config
	if c.Arch == ArchGPT2 {
		m.buildGPT2(c.NormEps)
		return
	}
	m.zoo = transformer.New(m.store.RootScope().At(scopePolicy)).
		WithVocabSize(c.Vocab).WithEmbedDim(c.Dim).WithNumLayers(c.Layers).
		WithNumHeads(c.Heads).WithHeadDim(c.Dim / c.Heads).WithFFNDim(c.FFN).
		WithMaxPosEmbed(c.MaxLen).WithDType(c.dtype()).WithPositionalEncoder(newRoPE(10000)).
		WithFinalNormalization(layers.NormalizationLayerNorm)
}

// Store is the model's GoMLX variable store (for training loops that add an
// optimizer's state next to the weights).
func (m *Model) Store() *model.Store { return m.store }

// Backend is the compute backend the model runs on.
func (m *Model) Backend() compute.Backend { return m.backend }

// NumParams is the number of weights of the policy and head (not the
// optimizer's state).
func (m *Model) NumParams() int {
	n := 0
	for v := range m.store.IterVariables() {
		if strings.HasPrefix(v.Path(), "/"+scopePolicy) || strings.HasPrefix(v.Path(), "/"+scopeHead) {
			n += v.Shape().Size()
		}
	}
	return n
}

// Clone returns an independent copy of the model's weights (the frozen
// reference of DPO, the starting point of a fine-tune).
func (m *Model) Clone() (*Model, error) {
	st, err := m.store.Clone()
	if err != nil {
		return nil, err
	}
	c := &Model{Config: m.Config, backend: m.backend, store: st}
	// Only the weights travel: the optimizer's state of a trained model
	// must not leak into the next stage's optimizer.
	var drop []string
	for v := range st.IterVariables() {
		p := v.Path()
		if !strings.HasPrefix(p, "/"+scopePolicy) && !strings.HasPrefix(p, "/"+scopeHead) && !strings.Contains(p, "rng") {
			drop = append(drop, p)
		}
	}
	for _, p := range drop {
		if err := st.DeleteVariable(p); err != nil {
			return nil, err
		}
	}
	c.build()
	return c, nil
}

// Policy builds the policy's logits [B, L, Vocab] for input tokens [B, L]
// inside a graph whose scope is the model store's root (a model.Exec of
// m.Store()).
func (m *Model) Policy(scope *model.Scope, inputs *Node) *Node {
	return m.byShards(inputs, func(rows *Node) *Node {
		m.zoo.Scope = scope.At(scopePolicy).ResetVisited()
		return m.zoo.Logits(rows, transformer.CallOptions{})
	})
}

// Hidden is the last hidden state [B, L, Dim] (after the final norm).
func (m *Model) Hidden(scope *model.Scope, inputs *Node) *Node {
	return m.byShards(inputs, func(rows *Node) *Node {
		m.zoo.Scope = scope.At(scopePolicy).ResetVisited()
		h, _, _ := m.zoo.AllLayers(rows, transformer.CallOptions{})
		return h
	})
}

// RowShards is how many row shards a batch of at least
// RowShards·MinShardRows rows runs as (byShards), and MinShardRows the
// fewest rows of a shard.
const (
	RowShards    = 2
	MinShardRows = 16
)

// Shards returns how many row shards byShards splits a batch of B rows
// into: RowShards, or 1 for fewer than RowShards·MinShardRows rows. It
// does not depend on the machine's cores, so that a seeded run gives the
// same numbers on any machine; on one core the shards run one after the
// other (1.5 % slower than one batch, bench/lm).
func (m *Model) Shards(B int) int {
	if B < RowShards*MinShardRows {
		return 1
	}
	return RowShards
}

// byShards applies f, a computation row by row, to the rows of x [B, …]
// in Shards(B) consecutive parts and concatenates the results along the
// first axis. The parts are independent chains of ops, which the Go
// backend runs concurrently on two cores or more (backend.GoConfig),
// forward and backward: at 2 cores the small transformer's training step
// takes 26–29 ms instead of 31 (bench/lm). Every row's value is the same
// math either way; results can differ from one unsharded batch in the last
// bits, because the kernels block the smaller products differently and the
// gradient sums the shards' contributions separately
// (TestShardsAreRowBatches).
func (m *Model) byShards(x *Node, f func(rows *Node) *Node) *Node {
	B := x.Shape().Dimensions[0]
	k := m.Shards(B)
	if k == 1 {
		return f(x)
	}
	parts := make([]*Node, k)
	for i := range k {
		parts[i] = f(Slice(x, AxisRange(i*B/k, (i+1)*B/k)))
	}
	return Concatenate(parts, 0)
}

// TokenLogProbsGraph returns log π(targets[b, t] | inputs[b, ≤ t]) as
// [B, L] (the log-softmax of the logits gathered at the targets) and the
// full log-softmax [B, L, Vocab]. Padding positions are computed like the
// others; multiply by a mask.
func (m *Model) TokenLogProbsGraph(scope *model.Scope, inputs, targets *Node) (tok, all *Node) {
	logits := m.Policy(scope, inputs)
	all = LogSoftmax(logits, -1)
	oneHot := OneHot(targets, m.Config.Vocab, all.DType())
	tok = ReduceSum(Mul(all, oneHot), -1)
	return tok, all
}

// SeqLogProbsGraph returns Σ_t mask[b, t]·log π(targets[b, t] | …) as [B]
// and the token log-probs [B, L].
func (m *Model) SeqLogProbsGraph(scope *model.Scope, inputs, targets, mask *Node) (seq, tok *Node) {
	tok, _ = m.TokenLogProbsGraph(scope, inputs, targets)
	return ReduceSum(Mul(tok, ConvertDType(mask, tok.DType())), -1), tok
}

// RewardGraph is the reward head r(x, y) [B]: a linear map of the last
// hidden state at each row's last real token (position lengths[b] − 1 of
// the inputs).
func (m *Model) RewardGraph(scope *model.Scope, inputs, lengths *Node) *Node {
	h := m.Hidden(scope, inputs) // [B, L, D]
	L := inputs.Shape().Dimensions[1]
	last := OneHot(AddScalar(lengths, -1), L, h.DType()) // [B, L]
	pooled := ReduceSum(Mul(h, ExpandAxes(last, -1)), 1) // [B, D]
	r := layers.Dense(scope.At(scopeHead), pooled, true, 1)
	return Reshape(r, inputs.Shape().Dimensions[0])
}

// InitHead creates the reward head's variables (zero weights: r ≡ 0 at
// the start, so the first gradient is the encoder's) if the model has none.
func (m *Model) InitHead() error {
	if m.store.GetVariable("/"+scopeHead+"/dense/weights") != nil {
		return nil
	}
	dt := m.Config.dtype()
	head := m.store.RootScope().At(scopeHead).At("dense")
	head.VariableWithValue("weights", tensors.FromShape(shapes.Make(dt, m.Config.Dim, 1)))
	head.VariableWithValue("biases", tensors.FromShape(shapes.Make(dt, 1)))
	return nil
}

// HasHead reports whether the model has a reward head.
func (m *Model) HasHead() bool {
	return m.store.GetVariable("/"+scopeHead+"/dense/weights") != nil
}

// evalScope marks g as a training graph so that the variables are read at
// call time, not baked in as constants (see package backend).
func evalScope(scope *model.Scope, g *Graph) { scope.SetTraining(g, true) }

// TokenLogProbs returns log π of every target token of b, [B][L] (zero
// where the mask is 0).
func (m *Model) TokenLogProbs(b *Batch) (out [][]float64, err error) {
	defer fit.Catch("decoder", &err)
	if m.logProbs == nil {
		m.logProbs, err = model.NewExec(m.backend, m.store, func(scope *model.Scope, in []*Node) *Node {
			evalScope(scope, in[0].Graph())
			_, tok := m.SeqLogProbsGraph(scope, in[0], in[1], in[2])
			return ConvertDType(Mul(tok, ConvertDType(in[2], tok.DType())), dtypes.Float64)
		})
		if err != nil {
			return nil, err
		}
	}
	res, err := m.logProbs.Call(b.Tensors()...)
	if err != nil {
		return nil, err
	}
	flat := tensors.MustCopyFlatData[float64](res[0])
	out = make([][]float64, b.B)
	for i := range out {
		out[i] = flat[i*b.L : (i+1)*b.L]
	}
	return out, nil
}

// SeqLogProbs returns log π(y | x) of every row of b: the sum of its masked
// token log-probs.
func (m *Model) SeqLogProbs(b *Batch) ([]float64, error) {
	tok, err := m.TokenLogProbs(b)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(tok))
	for i, row := range tok {
		for _, v := range row {
			out[i] += v
		}
	}
	return out, nil
}

// Logits returns the logits of every position of b, [B][L][Vocab].
func (m *Model) Logits(b *Batch) (out [][][]float64, err error) {
	defer fit.Catch("decoder", &err)
	if m.logits == nil {
		m.logits, err = model.NewExec(m.backend, m.store, func(scope *model.Scope, in *Node) *Node {
			evalScope(scope, in.Graph())
			return ConvertDType(m.Policy(scope, in), dtypes.Float64)
		})
		if err != nil {
			return nil, err
		}
	}
	res, err := m.logits.Call(tensors.FromFlatDataAndDimensions(b.Inputs, b.B, b.L))
	if err != nil {
		return nil, err
	}
	flat := tensors.MustCopyFlatData[float64](res[0])
	V := m.Config.Vocab
	out = make([][][]float64, b.B)
	for i := range out {
		out[i] = make([][]float64, b.L)
		for t := range out[i] {
			off := (i*b.L + t) * V
			out[i][t] = flat[off : off+V]
		}
	}
	return out, nil
}

// Rewards returns the reward head's r(x, y) for every row of b.
func (m *Model) Rewards(b *Batch) (out []float64, err error) {
	if !m.HasHead() {
		return nil, errors.New("decoder: the model has no reward head")
	}
	defer fit.Catch("decoder", &err)
	if m.reward == nil {
		m.reward, err = model.NewExec(m.backend, m.store, func(scope *model.Scope, in []*Node) *Node {
			evalScope(scope, in[0].Graph())
			return ConvertDType(m.RewardGraph(scope, in[0], in[1]), dtypes.Float64)
		})
		if err != nil {
			return nil, err
		}
	}
	res, err := m.reward.Call(tensors.FromFlatDataAndDimensions(b.Inputs, b.B, b.L), tensors.FromFlatDataAndDimensions(b.Lengths, b.B))
	if err != nil {
		return nil, err
	}
	return tensors.MustCopyFlatData[float64](res[0]), nil
}

// Weights returns a copy of every weight of the policy and head by its
// scope path, sorted by path (what a reimplementation elsewhere needs to
// start from the same point).
func (m *Model) Weights() (names []string, values [][]float64) {
	vars := map[string][]float64{}
	for v := range m.store.IterVariables() {
		p := v.Path()
		if !strings.HasPrefix(p, "/"+scopePolicy) && !strings.HasPrefix(p, "/"+scopeHead) {
			continue
		}
		t := v.MustValue()
		vals := make([]float64, t.Shape().Size())
		switch t.DType() {
		case dtypes.Float32:
			for i, x := range tensors.MustCopyFlatData[float32](t) {
				vals[i] = float64(x)
			}
		case dtypes.Float64:
			copy(vals, tensors.MustCopyFlatData[float64](t))
		default:
			continue
		}
		vars[p] = vals
	}
	for p := range vars {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		values = append(values, vars[p])
	}
	return names, values
}
