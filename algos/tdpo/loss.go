package tdpo

import (
	"fmt"
	"math"
	"slices"

	"github.com/alignlab/alignlab/algos/pairloss"
	. "github.com/gomlx/gomlx/core/graph"
)

// Kind names a pair loss of the package.
type Kind string

// The losses. See the package documentation for the formulas.
const (
	DPO   Kind = "dpo"   // −log σ(β(u_w − u_l)), on the same token-level policy
	TDPO1 Kind = "tdpo1" // −log σ(β[(u_w − u_l) − (δ_l − δ_w)])
	TDPO2 Kind = "tdpo2" // −log σ(β[(u_w − u_l) − α(δ_l − sg(δ_w))])
)

// Kinds lists the losses in the order the package documents them.
var Kinds = []Kind{DPO, TDPO1, TDPO2}

// ParseKind returns the Kind named s.
func ParseKind(s string) (Kind, error) {
	if k := Kind(s); slices.Contains(Kinds, k) {
		return k, nil
	}
	return "", fmt.Errorf("tdpo: unknown loss %q (known: dpo, tdpo1, tdpo2)", s)
}

// logistic is the pair loss of every kind, −log σ(z), applied to Logits
// (which carry β, hence Beta 1 here).
var logistic = pairloss.Loss{Kind: pairloss.Logistic, Beta: 1}

// Check reports whether kind, β and α make a valid loss: a known kind, β
// finite and > 0 (pairloss's check), α finite and ≥ 0 (checked for every
// kind; only TDPO2 uses it).
func Check(kind Kind, beta, alpha float64) error {
	if _, err := ParseKind(string(kind)); err != nil {
		return err
	}
	if err := (pairloss.Loss{Kind: pairloss.Logistic, Beta: beta}).Check("tdpo"); err != nil {
		return err
	}
	if !(alpha >= 0) || math.IsInf(alpha, 1) {
		return fmt.Errorf("tdpo: alpha must be finite and ≥ 0, got %v", alpha)
	}
	return nil
}

// Logits returns the argument z of the pair loss −log σ(z), with the shape
// of its inputs: u_w, u_l are the chosen and rejected sums of per-token log
// ratios log π_θ/π_ref, δ_w, δ_l their sequential KL divergences
// SeqKL(x, y) = Σ_t KL(π_ref(·|x, y<t) ‖ π_θ(·|x, y<t)). DPO ignores δ; TDPO2
// stops the gradient through δ_w. It is a graph-building function and
// panics with Check's error on invalid settings.
func Logits(kind Kind, uw, ul, dw, dl *Node, beta, alpha float64) *Node {
	if err := Check(kind, beta, alpha); err != nil {
		panic(err)
	}
	h := Sub(uw, ul)
	switch kind {
	case TDPO1:
		h = Sub(h, Sub(dl, dw))
	case TDPO2:
		h = Sub(h, MulScalar(Sub(dl, StopGradient(dw)), alpha))
	}
	return MulScalar(h, beta)
}

// PairLosses returns −log σ(Logits(…)) for each pair (pairloss's logistic
// loss).
func PairLosses(kind Kind, uw, ul, dw, dl *Node, beta, alpha float64) *Node {
	return logistic.Pairs(Logits(kind, uw, ul, dw, dl, beta, alpha))
}

// PairLossFloat64 is PairLosses for one pair in plain float64. It panics
// with Check's error on invalid settings.
func PairLossFloat64(kind Kind, uw, ul, dw, dl, beta, alpha float64) float64 {
	return logistic.Float64(logitFloat64(kind, uw, ul, dw, dl, beta, alpha))
}

func logitFloat64(kind Kind, uw, ul, dw, dl, beta, alpha float64) float64 {
	if err := Check(kind, beta, alpha); err != nil {
		panic(err)
	}
	h := uw - ul
	switch kind {
	case TDPO1:
		h -= dl - dw
	case TDPO2:
		h -= alpha * (dl - dw)
	}
	return beta * h
}

// ImplicitRewards returns the implicit rewards of a chosen and a rejected
// response as the authors' code reports them: β·u for DPO, β·(u + δ) for
// TDPO1 and TDPO2 (the token-level reward, the log ratio plus the
// sequential KL). Reward accuracy counts pairs whose chosen reward is the
// larger; the margin is their difference.
func ImplicitRewards(kind Kind, uw, ul, dw, dl, beta float64) (chosen, rejected float64) {
	if kind == DPO {
		return beta * uw, beta * ul
	}
	return beta * (uw + dw), beta * (ul + dl)
}
