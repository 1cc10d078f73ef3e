package pairloss

import (
	"fmt"
	"math"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
)

// Kind names a pair loss; see the package documentation for the formulas.
type Kind string

// The pair losses.
const (
	Logistic     Kind = "logistic"     // −log σ(βh)
	Conservative Kind = "conservative" // cDPO: label smoothing ε
	Robust       Kind = "robust"       // rDPO: unbiased under flips at rate ε
	Square       Kind = "square"       // (h − m)²
	Margin       Kind = "margin"       // −log σ(βh − m)
)

// Kinds lists the losses in the order the package documents them.
var Kinds = []Kind{Logistic, Conservative, Robust, Square, Margin}

// Loss is one pair loss with its constants. The zero Beta is invalid: set
// it (1 for Bradley–Terry rewards).
type Loss struct {
	Kind    Kind
	Beta    float64 // scale of h, finite and > 0 (square ignores it)
	Epsilon float64 // assumed flip rate in [0, ½), read by conservative and robust
	Margin  float64 // m of square and margin, finite (margin can take m per pair)
}

// IPO returns the square loss of IPO, (h − 1/(2β))².
func IPO(beta float64) Loss { return Loss{Kind: Square, Beta: beta, Margin: 1 / (2 * beta)} }

// Check reports whether l is a valid loss: a known kind, β finite and > 0,
// ε in [0, ½) (checked for every kind: at ε ≥ ½ the labels carry no signal
// or the opposite one, and rDPO divides by 1 − 2ε) and a finite margin.
// prefix starts the error (the family's name, e.g. "dpo").
func (l Loss) Check(prefix string) error {
	known := false
	for _, k := range Kinds {
		known = known || k == l.Kind
	}
	switch {
	case !known:
		names := make([]string, len(Kinds))
		for i, k := range Kinds {
			names[i] = string(k)
		}
		return fmt.Errorf("%s: unknown pair loss %q (known: %s)", prefix, l.Kind, strings.Join(names, ", "))
	case !(l.Beta > 0) || math.IsInf(l.Beta, 1):
		return fmt.Errorf("%s: beta must be finite and > 0, got %v", prefix, l.Beta)
	case !(l.Epsilon >= 0 && l.Epsilon < 0.5):
		return fmt.Errorf("%s: epsilon must be in [0, 0.5), got %v", prefix, l.Epsilon)
	case math.IsNaN(l.Margin) || math.IsInf(l.Margin, 0):
		return fmt.Errorf("%s: margin must be finite, got %v", prefix, l.Margin)
	}
	return nil
}

// SoftplusNeg returns −log σ(z) = log(1 + e^(−z)) = max(u, 0) + log1p(e^(−|u|))
// with u = −z, stable for any z. At the kink u = 0 GoMLX differentiates
// graph.Max(u, 0) as 1 and |u| as +1; with both terms written in u these sum to
// the true derivative, 1 − ½ = ½ in u (−½ in z). Writing |z| instead would
// give 3/2.
func SoftplusNeg(z *graph.Node) *graph.Node {
	u := graph.Neg(z)
	return graph.Add(graph.Max(u, graph.ZerosLike(u)), graph.Log1p(graph.Exp(graph.Neg(graph.Abs(u)))))
}

// SoftplusNegFloat64 is SoftplusNeg in float64.
func SoftplusNegFloat64(z float64) float64 {
	return math.Max(-z, 0) + math.Log1p(math.Exp(-math.Abs(z)))
}

// Sigmoid is σ(z) = 1/(1 + e^(−z)).
func Sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// Pairs returns ℓ(h_i) for every pair, with the shape of h, the margin
// being l.Margin. It is a graph-building function and panics with Check's
// error on an invalid loss.
func (l Loss) Pairs(h *graph.Node) *graph.Node { return l.pairs(h, nil) }

// PairsMargin is Pairs with a margin per pair, m with h's shape (the
// margin kind only; other kinds panic).
func (l Loss) PairsMargin(h, m *graph.Node) *graph.Node {
	if l.Kind != Margin {
		panic(fmt.Errorf("pairloss: PairsMargin of the %s loss; only %s takes a margin per pair", l.Kind, Margin))
	}
	if !m.Shape().Equal(h.Shape()) {
		panic(fmt.Errorf("pairloss: margins have shape %s, want h's shape %s", m.Shape(), h.Shape()))
	}
	return l.pairs(h, m)
}

func (l Loss) pairs(h, m *graph.Node) *graph.Node {
	arg, lin := l.parts(h, m)
	if arg == nil {
		return lin
	}
	if lin == nil {
		return SoftplusNeg(arg)
	}
	return graph.Add(SoftplusNeg(arg), lin)
}

// parts splits ℓ(h) into SoftplusNeg(arg) + lin, either of which may be nil
// (square has no softplus, most kinds no linear term). It panics with
// Check's error on an invalid loss.
func (l Loss) parts(h, m *graph.Node) (arg, lin *graph.Node) {
	if err := l.Check("pairloss"); err != nil {
		panic(err)
	}
	if l.Kind == Square {
		return nil, graph.Square(graph.AddScalar(h, -l.Margin))
	}
	z := h
	if l.Beta != 1 {
		z = graph.MulScalar(h, l.Beta)
	}
	switch l.Kind {
	case Conservative:
		if l.Epsilon != 0 {
			return z, graph.MulScalar(z, l.Epsilon)
		}
	case Robust:
		if l.Epsilon != 0 {
			return z, graph.MulScalar(z, -l.Epsilon/(1-2*l.Epsilon))
		}
	case Margin:
		if m != nil {
			return graph.Sub(z, m), nil
		}
		if l.Margin != 0 {
			return graph.AddScalar(z, -l.Margin), nil
		}
	}
	return z, nil
}

// Mean returns the weighted mean of the pair losses, Σ w_i ℓ(h_i) / Σ w_i,
// as a scalar; with nil weights the plain mean. The weights must have h's
// shape; gradients flow to them too. The plain mean sums the softplus with
// SumSoftplusNeg, which needs no logarithm per pair.
func (l Loss) Mean(h, weights *graph.Node) *graph.Node {
	if weights != nil {
		return WeightedMean(l.Pairs(h), weights)
	}
	arg, lin := l.parts(h, nil)
	var sum *graph.Node
	if arg != nil {
		sum = SumSoftplusNeg(arg)
	}
	if lin != nil {
		if s := graph.ReduceAllSum(lin); sum == nil {
			sum = s
		} else {
			sum = graph.Add(sum, s)
		}
	}
	return graph.DivScalar(sum, float64(h.Shape().Size()))
}

// SumSoftplusNeg returns Σ_i −log σ(z_i) over all elements of z, as a
// scalar, with the gradient σ(z_i) − 1 of each term.
//
// Its value is Σ max(u_i, 0) + Σ_blocks log Π_{i∈block} (1 + e^(−|u_i|))
// with u = −z: one logarithm per block of 512 elements (64 in float32)
// instead of one per element. The backend's log1p is scalar Go code, ≈ 40
// ns an element on shuffled inputs, while its products are SIMD; on the
// 20,000-pair DPO step this is most of the step (bench/dpo). Every factor is
// in (1, 2], so a block's product stays below 2^512 (2^64), and each
// rounding adds at most one ulp of relative error to its product, so the
// sum is off by at most about 512 ulp of 1 a block; measured, it agrees
// with the compensated sum of the per-pair losses as closely as the
// per-pair log1p summed by ReduceAllSum does (TestMeanUnweighted). The
// gradient does not go through the products: it is taken from
// Σ u_i·σ(u_i) with σ held constant, whose value is subtracted again
// exactly; an infinite z_i makes the sum NaN (the per-pair form gives ±Inf).
//
// Other float types than float32 and float64 sum SoftplusNeg(z).
func SumSoftplusNeg(z *graph.Node) *graph.Node {
	block := 0
	switch z.DType() {
	case dtypes.Float64:
		block = 512
	case dtypes.Float32:
		block = 64
	default:
		return graph.ReduceAllSum(SoftplusNeg(z))
	}
	u := graph.Reshape(graph.Neg(z), z.Shape().Size())
	value := graph.Add(graph.ReduceAllSum(graph.Max(u, graph.ZerosLike(u))),
		sumLogBlocks(graph.OnePlus(graph.Exp(graph.Neg(graph.Abs(u)))), block))
	slope := graph.ReduceAllSum(graph.Mul(u, graph.StopGradient(graph.Logistic(u))))
	return graph.Add(graph.StopGradient(value), graph.Sub(slope, graph.StopGradient(slope)))
}

// sumLogBlocks returns Σ log a_i for a flat a with every a_i in [1, 2],
// as the sum of the logarithms of products of block elements.
func sumLogBlocks(a *graph.Node, block int) *graph.Node {
	n := a.Shape().Size()
	if n <= block {
		return graph.Log(graph.ReduceAllMultiply(a))
	}
	full := n / block * block
	head := a
	if full < n {
		head = graph.Slice(a, graph.AxisRange(0, full))
	}
	sum := graph.ReduceAllSum(graph.Log(graph.ReduceMultiply(graph.Reshape(head, full/block, block), 1)))
	if full < n {
		sum = graph.Add(sum, graph.Log(graph.ReduceAllMultiply(graph.Slice(a, graph.AxisRange(full, n)))))
	}
	return sum
}

// WeightedMean returns Σ w_i ℓ_i / Σ w_i of per-pair losses (the plain mean
// for nil weights), for losses built with PairsMargin or combined by hand.
func WeightedMean(losses, weights *graph.Node) *graph.Node {
	if weights == nil {
		return graph.ReduceAllMean(losses)
	}
	if !weights.Shape().Equal(losses.Shape()) {
		panic(fmt.Errorf("pairloss: weights have shape %s, want the losses' shape %s", weights.Shape(), losses.Shape()))
	}
	return graph.Div(graph.ReduceAllSum(graph.Mul(weights, losses)), graph.ReduceAllSum(weights))
}

// Float64 is Pairs for one pair in float64. It panics with Check's error
// on an invalid loss.
func (l Loss) Float64(h float64) float64 {
	if err := l.Check("pairloss"); err != nil {
		panic(err)
	}
	return l.value(h)
}

func (l Loss) value(h float64) float64 {
	if l.Kind == Square {
		d := h - l.Margin
		return d * d
	}
	z := l.Beta * h
	switch l.Kind {
	case Conservative:
		return SoftplusNegFloat64(z) + l.Epsilon*z
	case Robust:
		return SoftplusNegFloat64(z) - l.Epsilon*z/(1-2*l.Epsilon)
	case Margin:
		return SoftplusNegFloat64(z - l.Margin)
	}
	return SoftplusNegFloat64(z)
}

// MeanFloat64 is Mean in float64: Σ w_i ℓ(h_i) / Σ w_i (the plain mean for
// nil weights). prefix starts the errors.
func (l Loss) MeanFloat64(prefix string, h, weights []float64) (float64, error) {
	if err := l.Check(prefix); err != nil {
		return 0, err
	}
	if len(h) == 0 {
		return 0, fmt.Errorf("%s: loss of no pairs", prefix)
	}
	if weights != nil && len(weights) != len(h) {
		return 0, fmt.Errorf("%s: %d weights for %d pairs", prefix, len(weights), len(h))
	}
	sum, wsum := 0.0, 0.0
	for i, hi := range h {
		w := 1.0
		if weights != nil {
			w = weights[i]
		}
		sum += w * l.value(hi)
		wsum += w
	}
	if !(wsum > 0) {
		return 0, fmt.Errorf("%s: weights sum to %v, want > 0", prefix, wsum)
	}
	return sum / wsum, nil
}

// Agreement scores one pair's score difference against its label: 1 when
// h > 0 (the label's side is preferred), ½ on a tie (as at a reference
// policy, or an untrained model), else 0. Its mean over pairs is the
// accuracy every family reports.
func Agreement(h float64) float64 {
	switch {
	case h > 0:
		return 1
	case h == 0:
		return 0.5
	}
	return 0
}
