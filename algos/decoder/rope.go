package decoder

import (
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers/attention/pos"
)

// rope is the zoo's rotary position encoding (pos.RoPE: the halves
// (x[i], x[i + Dh/2]) of each head rotated by the angle p·base^(−2i/Dh)),
// laid out for the Go backend's SIMD kernels. pos.RoPE splits each head
// into halves with slices, multiplies them by cos and sin broadcast over the
// batch and heads (a broadcast the backend runs in generic, unvectorised
// code), and concatenates the halves; together with their gradients these
// were 12 % of the small transformer's training step (bench/lm). rope
// computes the same numbers as
//
//	out = x ⊙ cos′ + (x·R) ⊙ sin′
//
// where cos′ and sin′ repeat cos and sin over both halves and the heads,
// and R is the signed permutation that maps (x₁, x₂) to (−x₂, x₁): a small
// matmul that only moves and negates values, so every output element is
// the product and sum pos.RoPE forms, bit for bit (TestRoPEIsZooRoPE).
// Inputs other than the zoo's [B, L, H, Dh] with positions [L] go to
// pos.RoPE itself.
type rope struct {
	zoo *pos.RoPE // its BaseFreq is the base; it also encodes the other layouts
}

var _ pos.QKEncoder = (*rope)(nil)

func newRoPE(base float64) *rope { return &rope{zoo: pos.NewRoPE(base)} }

// Name implements pos.Encoder.
func (r *rope) Name() string { return r.zoo.Name() }

// EncodeQK implements pos.QKEncoder.
func (r *rope) EncodeQK(q, k, positions *Node, seqAxis int) (*Node, *Node) {
	if q.Rank() != 4 || k.Rank() != 4 || seqAxis != 1 || positions.Rank() != 1 ||
		q.Shape().Dimensions[3]%2 != 0 || !q.Shape().Equal(k.Shape()) {
		return r.zoo.EncodeQK(q, k, positions, seqAxis)
	}
	cos, sin, rot := r.tables(q, positions)
	return r.apply(q, cos, sin, rot), r.apply(k, cos, sin, rot)
}

// tables returns cos′ and sin′ as [1, L·H·Dh] and R as [Dh, Dh], for x
// [B, L, H, Dh]. The angles are pos.RoPE's, op for op.
func (r *rope) tables(x, positions *Node) (cos, sin, rot *Node) {
	g := x.Graph()
	dims := x.Shape().Dimensions
	L, H, Dh := dims[1], dims[2], dims[3]
	dt := x.DType()
	half := Dh / 2
	p := ExpandDims(ConvertDType(positions, dt), -1) // [L, 1]
	i := MulScalar(Iota(g, shapes.Make(dt, half), 0), 2.0/float64(Dh))
	freqs := Reciprocal(Pow(ConvertDType(Const(g, []float64{r.zoo.BaseFreq}), dt), i))
	angles := Mul(p, ExpandDims(freqs, 0)) // [L, Dh/2]
	row := func(t *Node) *Node {
		t = Concatenate([]*Node{t, t}, -1)                                     // [L, Dh]
		return Reshape(BroadcastToDims(ExpandAxes(t, 1), L, H, Dh), 1, L*H*Dh) // [1, L·H·Dh]
	}
	m := make([]float64, Dh*Dh)
	for j := range half {
		m[(j+half)*Dh+j] = -1 // out[j] = −x[j + Dh/2]
		m[j*Dh+j+half] = 1    // out[j + Dh/2] = x[j]
	}
	rot = ConvertDType(Const(g, m), dt)
	return row(Cos(angles)), row(Sin(angles)), Reshape(rot, Dh, Dh)
}

func (r *rope) apply(x, cos, sin, rot *Node) *Node {
	dims := x.Shape().Dimensions
	B, L, H, Dh := dims[0], dims[1], dims[2], dims[3]
	swapped := Dot(Reshape(x, B*L*H, Dh), rot).Product()
	flat := func(t *Node) *Node { return Reshape(t, B, L*H*Dh) }
	return Reshape(Add(Mul(flat(x), cos), Mul(flat(swapped), sin)), B, L, H, Dh)
}
