package tdpo

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/alignlab/alignlab/algos/backend"
	"github.com/alignlab/alignlab/algos/fit"
)

// The architectures of the policy (and of its SFT reference, which has the
// same one: the policy starts as a copy of it).
const (
	// ArchTabular is a logits table indexed by (prompt, previous token):
	// π(y_t | x, y<t) = softmax(W[x, y_{t−1}]), with a begin token before
	// y_0. Its metrics are computed exactly by dynamic programming.
	ArchTabular = "tabular"
	// ArchGRU is a one-layer GRU over one-hot (prompt, previous token)
	// inputs with a linear read-out: a small neural autoregressive model
	// whose conditionals depend on the whole prefix.
	ArchGRU = "gru"
)

// Spec is the sequence space and the architecture of a policy.
type Spec struct {
	Prompts int    // P ≥ 1 prompt tokens x
	Vocab   int    // V ≥ 2 response tokens
	Length  int    // T ≥ 1 tokens per response (fixed length, no end token)
	Arch    string // ArchTabular or ArchGRU
	Hidden  int    // GRU units (ignored by ArchTabular)
}

func (s Spec) check() error {
	switch {
	case s.Prompts < 1:
		return fmt.Errorf("tdpo: prompts must be ≥ 1, got %d", s.Prompts)
	case s.Vocab < 2:
		return fmt.Errorf("tdpo: vocab must be ≥ 2, got %d", s.Vocab)
	case s.Length < 1:
		return fmt.Errorf("tdpo: length must be ≥ 1, got %d", s.Length)
	case s.Arch != ArchTabular && s.Arch != ArchGRU:
		return fmt.Errorf("tdpo: unknown policy %q (known: %s, %s)", s.Arch, ArchTabular, ArchGRU)
	case s.Arch == ArchGRU && s.Hidden < 1:
		return fmt.Errorf("tdpo: the GRU needs ≥ 1 hidden unit, got %d", s.Hidden)
	}
	return nil
}

// bos is the begin token fed as y_{−1}; it is the index Vocab.
func (s Spec) bos() int { return s.Vocab }

// variable is one weight tensor of a network.
type variable struct {
	name string
	dims []int
}

// variables lists the weights of s, in a fixed order. GRU weights are
// stored [in, out] and gate-fused along the last axis in the order
// (update z, reset r, candidate n), as in PyTorch's GRU.
func (s Spec) variables() []variable {
	if s.Arch == ArchTabular {
		return []variable{{"table", []int{s.Prompts * (s.Vocab + 1), s.Vocab}}}
	}
	in, h := s.Prompts+s.Vocab+1, s.Hidden
	return []variable{
		{"wx", []int{in, 3 * h}}, {"bx", []int{3 * h}},
		{"wh", []int{h, 3 * h}}, {"bh", []int{3 * h}},
		{"wo", []int{h, s.Vocab}}, {"bo", []int{s.Vocab}},
	}
}

// InitialWeights draws the starting weights of an untrained network from r:
// a zero table (uniform conditionals) for ArchTabular; for ArchGRU,
// U(−1/√H, 1/√H) entries as PyTorch initialises a GRU, and a zero read-out
// (uniform conditionals before SFT).
func InitialWeights(s Spec, r *rand.Rand) map[string][]float64 {
	out := map[string][]float64{}
	for _, v := range s.variables() {
		w := make([]float64, size(v.dims))
		if s.Arch == ArchGRU && v.name != "wo" && v.name != "bo" {
			a := 1 / math.Sqrt(float64(s.Hidden))
			for i := range w {
				w[i] = (2*r.Float64() - 1) * a
			}
		}
		out[v.name] = w
	}
	return out
}

// logProbs builds log π(·|x, y<t) for every position: prompt is [N] and
// prev [N, T] (int32; prev[n, 0] is the begin token), the result [N, T, V].
func logProbs(scope *model.Scope, s Spec, prompt, prev *Node) *Node {
	g := prompt.Graph()
	n, T, V := prev.Shape().Dimensions[0], s.Length, s.Vocab
	w := func(name string) *Node { return scope.GetVariable(name).NodeValue(g) }
	if s.Arch == ArchTabular {
		// state = x·(V+1) + y_{t−1}; a one-hot contraction instead of a
		// Gather keeps the gradient a plain matrix product.
		state := Add(MulScalar(BroadcastToDims(InsertAxes(prompt, -1), n, T), float64(V+1)), prev)
		onehot := OneHot(state, s.Prompts*(V+1), dtypes.Float64)
		return LogSoftmax(Einsum("nts,sv->ntv", onehot, w("table")), -1)
	}
	H := s.Hidden
	in := Concatenate([]*Node{
		OneHot(BroadcastToDims(InsertAxes(prompt, -1), n, T), s.Prompts, dtypes.Float64),
		OneHot(prev, V+1, dtypes.Float64),
	}, -1)
	// Input projections of all positions at once: [N, T, 3H].
	xp := Add(Einsum("ntd,dk->ntk", in, w("wx")), ExpandLeftToRank(w("bx"), 3))
	wh, bh := w("wh"), ExpandLeftToRank(w("bh"), 2)
	h := Zeros(g, shapes.Make(dtypes.Float64, n, H))
	hs := make([]*Node, T)
	for t := range T {
		xt := Reshape(Slice(xp, AxisRange(), AxisElem(t)), n, 3*H)
		hp := Add(Einsum("nh,hk->nk", h, wh), bh)
		gate := func(node *Node, i int) *Node { return Slice(node, AxisRange(), AxisRange(i*H, (i+1)*H)) }
		z := Sigmoid(Add(gate(xt, 0), gate(hp, 0)))
		rr := Sigmoid(Add(gate(xt, 1), gate(hp, 1)))
		cand := Tanh(Add(gate(xt, 2), Mul(rr, gate(hp, 2))))
		h = Add(cand, Mul(z, Sub(h, cand))) // (1−z)·n + z·h
		hs[t] = h
	}
	out := Einsum("nth,hv->ntv", Stack(hs, 1), w("wo"))
	return LogSoftmax(Add(out, ExpandLeftToRank(w("bo"), 3)), -1)
}

// Net is a policy (or a reference model) held in its own GoMLX store, with
// an executable that returns its per-position conditionals.
type Net struct {
	Spec    Spec
	backend compute.Backend
	store   *model.Store
	logp    *model.Exec
}

// NewNet creates a network of spec s with the given weights (by name, as
// InitialWeights returns them) on the named GoMLX backend ("" means "go").
func NewNet(s Spec, weights map[string][]float64, backendName string) (net *Net, err error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	be, err := backend.Get(backendName)
	if err != nil {
		return nil, err
	}
	defer fit.Catch("tdpo", &err)
	net = &Net{Spec: s, backend: be, store: model.NewStore()}
	root := net.store.RootScope()
	for _, v := range s.variables() {
		w, ok := weights[v.name]
		if !ok || len(w) != size(v.dims) {
			return nil, fmt.Errorf("tdpo: weight %q: want %v values, got %d", v.name, v.dims, len(w))
		}
		root.VariableWithValue(v.name, tensors.FromFlatDataAndDimensions(append([]float64(nil), w...), v.dims...))
	}
	net.logp, err = model.NewExec(be, net.store, func(scope *model.Scope, prompt, prev *Node) *Node {
		// Training mode makes the Go backend read variables as parameters;
		// otherwise it embeds their current values in the cached graph.
		scope.SetTraining(prompt.Graph(), true)
		return logProbs(scope, s, prompt, prev)
	})
	if err != nil {
		return nil, err
	}
	return net, nil
}

// Weights returns a copy of the network's weights by name.
func (n *Net) Weights() map[string][]float64 {
	out := map[string][]float64{}
	root := n.store.RootScope()
	for _, v := range n.Spec.variables() {
		out[v.name] = tensors.MustCopyFlatData[float64](root.GetVariable(v.name).MustValue())
	}
	return out
}

// SetWeights replaces the network's weights (all of them, by name).
func (n *Net) SetWeights(weights map[string][]float64) error {
	root := n.store.RootScope()
	for _, v := range n.Spec.variables() {
		w, ok := weights[v.name]
		if !ok || len(w) != size(v.dims) {
			return fmt.Errorf("tdpo: weight %q: want %v values, got %d", v.name, v.dims, len(w))
		}
		if err := root.GetVariable(v.name).SetValue(tensors.FromFlatDataAndDimensions(append([]float64(nil), w...), v.dims...)); err != nil {
			return fmt.Errorf("tdpo: setting %q: %w", v.name, err)
		}
	}
	return nil
}

// LogProbs returns log π(·|x, y<t) for sequences seqs (N·T tokens,
// row-major) under prompts (N): N·T·V values, row-major [N, T, V]. The
// conditional at position t depends only on seqs[n, :t].
func (n *Net) LogProbs(prompts, seqs []int) (out []float64, err error) {
	s := n.Spec
	if len(seqs) != len(prompts)*s.Length {
		return nil, fmt.Errorf("tdpo: %d tokens for %d prompts of length %d", len(seqs), len(prompts), s.Length)
	}
	defer fit.Catch("tdpo", &err)
	p32, prev := contextInputs(s, prompts, seqs)
	res, err := n.logp.Exec(p32, prev)
	if err != nil {
		return nil, err
	}
	return tensors.CopyFlatData[float64](res[0])
}

// contextInputs returns the prompt [N] and previous-token [N, T] tensors of
// sequences: prev[n, 0] is the begin token, prev[n, t] = seqs[n, t−1].
func contextInputs(s Spec, prompts, seqs []int) (*tensors.Tensor, *tensors.Tensor) {
	N, T := len(prompts), s.Length
	p := make([]int32, N)
	prev := make([]int32, N*T)
	for i, x := range prompts {
		p[i] = int32(x)
		prev[i*T] = int32(s.bos())
		for t := 1; t < T; t++ {
			prev[i*T+t] = int32(seqs[i*T+t-1])
		}
	}
	return tensors.FromFlatDataAndDimensions(p, N), tensors.FromFlatDataAndDimensions(prev, N, T)
}

func size(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}
