package dpo

import (
	"fmt"
	"strings"

	"github.com/alignlab/alignlab/algos/pairloss"
)

// Kind names a loss of the DPO family: the names users give the plugins
// and the sweep. The losses themselves are package pairloss's.
type Kind string

// The losses. See the package documentation for the formulas.
const (
	DPO  Kind = "dpo"  // −log σ(βh): pairloss.Logistic
	CDPO Kind = "cdpo" // conservative DPO, label smoothing ε: pairloss.Conservative
	IPO  Kind = "ipo"  // (h − 1/(2β))²: pairloss.IPO
	RDPO Kind = "rdpo" // provably robust DPO, unbiased under flips at rate ε: pairloss.Robust
)

// Kinds lists the losses in the order the package documents them.
var Kinds = []Kind{DPO, CDPO, IPO, RDPO}

// PairLoss returns the pair loss k names at β = beta and assumed flip rate
// eps (which dpo and ipo ignore). Build it into a graph with its Pairs or
// Mean method, or evaluate it with Float64; its Check reports invalid
// constants. An unknown k gives a loss of an unknown kind, which Check
// rejects.
func (k Kind) PairLoss(beta, eps float64) pairloss.Loss {
	switch k {
	case DPO:
		return pairloss.Loss{Kind: pairloss.Logistic, Beta: beta, Epsilon: eps}
	case CDPO:
		return pairloss.Loss{Kind: pairloss.Conservative, Beta: beta, Epsilon: eps}
	case IPO:
		l := pairloss.IPO(beta)
		l.Epsilon = eps
		return l
	case RDPO:
		return pairloss.Loss{Kind: pairloss.Robust, Beta: beta, Epsilon: eps}
	}
	return pairloss.Loss{Kind: pairloss.Kind(k), Beta: beta, Epsilon: eps}
}

// parseKind returns the Kind named s.
func parseKind(s string) (Kind, error) {
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

// checkLoss reports whether kind, β and ε make a valid loss: a known kind
// (by the family's names), β finite and > 0, and ε in [0, 0.5) (checked for
// every kind, though only cdpo and rdpo use it).
func checkLoss(kind Kind, beta, eps float64) error {
	if _, err := parseKind(string(kind)); err != nil {
		return err
	}
	return kind.PairLoss(beta, eps).Check("dpo")
}
