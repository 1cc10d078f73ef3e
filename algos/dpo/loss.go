package dpo

import (
	"fmt"
	"math"
	"strings"

	. "github.com/gomlx/gomlx/core/graph"
)

// Kind names a loss of the DPO family.
type Kind string

// The losses. See the package documentation for the formulas.
const (
	DPO  Kind = "dpo"  // −log σ(βh)
	CDPO Kind = "cdpo" // conservative DPO, label smoothing ε
	IPO  Kind = "ipo"  // (h − 1/(2β))²
	RDPO Kind = "rdpo" // provably robust DPO, unbiased under flips at rate ε
)

// Kinds lists the losses in the order the package documents them.
var Kinds = []Kind{DPO, CDPO, IPO, RDPO}

// ParseKind returns the Kind named s.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds {
		if string(k) == s {
			return k, nil
		}
	}
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return "", fmt.Errorf("dpo: unknown loss %q (known: %s)", s, strings.Join(names, ", "))
}

// Check reports whether kind, β and ε make a valid loss: a known kind,
// β finite and > 0, and ε in [0, 0.5) (checked for every kind, though only
// cdpo and rdpo use it: rDPO divides by 1 − 2ε, and at ε ≥ 0.5 the labels
// carry no signal or the opposite one).
func Check(kind Kind, beta, eps float64) error {
	if _, err := ParseKind(string(kind)); err != nil {
		return err
	}
	if !(beta > 0) || math.IsInf(beta, 1) {
		return fmt.Errorf("dpo: beta must be finite and > 0, got %v", beta)
	}
	if !(eps >= 0 && eps < 0.5) {
		return fmt.Errorf("dpo: epsilon must be in [0, 0.5), got %v", eps)
	}
	return nil
}

// softplusNeg returns −log σ(z) = log(1 + e^(−z)) = max(u, 0) + log1p(e^(−|u|))
// with u = −z, stable for any z. At the kink u = 0 GoMLX differentiates
// Max(u, 0) as 1 and |u| as +1; with both terms written in u these sum to
// the true derivative, 1 − ½ = ½ in u (−½ in z). Writing |z| instead
// would give 3/2.
func softplusNeg(z *Node) *Node {
	u := Neg(z)
	return Add(Max(u, ZerosLike(u)), Log1p(Exp(Neg(Abs(u)))))
}

// PairLosses returns the loss of each pair, ℓ(h_i), with the shape of h:
// h_i = log π_θ/π_ref(y_w) − log π_θ/π_ref(y_l). It is a graph-building
// function and panics with Check's error on an invalid kind, β or ε.
//
// Forms used, with z = βh and the identity log σ(−z) = log σ(z) − z:
// cDPO = −log σ(z) + εz and rDPO = −log σ(z) − εz/(1 − 2ε), each equal to
// the formula in the package documentation, with one softplus instead of two.
func PairLosses(kind Kind, h *Node, beta, eps float64) *Node {
	if err := Check(kind, beta, eps); err != nil {
		panic(err)
	}
	if kind == IPO {
		return Square(AddScalar(h, -1/(2*beta)))
	}
	z := MulScalar(h, beta)
	loss := softplusNeg(z)
	switch kind {
	case CDPO:
		if eps != 0 {
			loss = Add(loss, MulScalar(z, eps))
		}
	case RDPO:
		if eps != 0 {
			loss = Sub(loss, MulScalar(z, eps/(1-2*eps)))
		}
	}
	return loss
}

// Loss returns the weighted mean of the pair losses, Σ w_i ℓ(h_i) / Σ w_i,
// as a scalar; with nil weights, the plain mean. The weights must have h's
// shape; gradients flow to them too (for reweighting schemes that learn
// them). It is a graph-building function and panics on invalid settings.
func Loss(kind Kind, h *Node, beta, eps float64, weights *Node) *Node {
	losses := PairLosses(kind, h, beta, eps)
	if weights == nil {
		return ReduceAllMean(losses)
	}
	if !weights.Shape().Equal(h.Shape()) {
		panic(fmt.Errorf("dpo: weights have shape %s, want h's shape %s", weights.Shape(), h.Shape()))
	}
	return Div(ReduceAllSum(Mul(weights, losses)), ReduceAllSum(weights))
}

// PairLossFloat64 is PairLosses for one pair in plain float64. It panics
// with Check's error on an invalid kind, β or ε.
func PairLossFloat64(kind Kind, h, beta, eps float64) float64 {
	if err := Check(kind, beta, eps); err != nil {
		panic(err)
	}
	return pairLoss(kind, h, beta, eps)
}

func pairLoss(kind Kind, h, beta, eps float64) float64 {
	if kind == IPO {
		d := h - 1/(2*beta)
		return d * d
	}
	z := beta * h
	loss := math.Max(-z, 0) + math.Log1p(math.Exp(-math.Abs(z)))
	switch kind {
	case CDPO:
		loss += eps * z
	case RDPO:
		loss -= eps * z / (1 - 2*eps)
	}
	return loss
}

// LossFloat64 is Loss in plain float64: the weighted mean of the pair
// losses (plain mean when weights is nil).
func LossFloat64(kind Kind, h []float64, beta, eps float64, weights []float64) (float64, error) {
	if err := Check(kind, beta, eps); err != nil {
		return 0, err
	}
	if len(h) == 0 {
		return 0, fmt.Errorf("dpo: loss of no pairs")
	}
	if weights != nil && len(weights) != len(h) {
		return 0, fmt.Errorf("dpo: %d weights for %d pairs", len(weights), len(h))
	}
	sum, wsum := 0.0, 0.0
	for i, hi := range h {
		w := 1.0
		if weights != nil {
			w = weights[i]
		}
		sum += w * pairLoss(kind, hi, beta, eps)
		wsum += w
	}
	if !(wsum > 0) {
		return 0, fmt.Errorf("dpo: weights sum to %v, want > 0", wsum)
	}
	return sum / wsum, nil
}
