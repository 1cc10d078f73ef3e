package nash

import (
	"errors"
	"fmt"
	"math"
)

// INPOTarget is the exact (population) INPO update, the minimiser of the
// INPO loss over a tabular policy:
//
//	π_{t+1}(y) ∝ π_t(y)^{1−κτ} π_ref(y)^{κτ} exp(κ P(y ≻ π_t)).
//
// Its fixed point is the regularised equilibrium π*_τ.
func INPOTarget(p [][]float64, pi, ref []float64, kappa, tau float64) []float64 {
	return softmaxLog(inpoLog(p, logs(pi), logs(ref), kappa, tau))
}

// inpoLog is INPOTarget on log-probabilities (unnormalised result).
func inpoLog(p [][]float64, logPi, logRef []float64, kappa, tau float64) []float64 {
	w := WinProbs(p, softmaxLog(logPi))
	z := make([]float64, len(logPi))
	for i := range z {
		z[i] = (1-kappa*tau)*logPi[i] + kappa*tau*logRef[i] + kappa*w[i]
	}
	return z
}

// DNOTarget is the exact (population) DNO update, the maximiser of the DNO
// objective over a tabular policy:
//
//	π_{t+1}(y) ∝ π_t(y) · exp(r_t(y)/η),   r_t(y) = P(y ≻ π_t).
//
// It is multiplicative weights with step 1/η (MWUStep).
func DNOTarget(p [][]float64, pi []float64, eta float64) []float64 {
	return MWUStep(p, pi, 1/eta)
}

// MWUStep is one multiplicative-weights (Hedge) step of self-play with step
// size η: π_{t+1}(y) ∝ π_t(y) · exp(η P(y ≻ π_t)). It is INPOTarget with τ = 0.
func MWUStep(p [][]float64, pi []float64, eta float64) []float64 {
	return softmaxLog(mwuLog(p, logs(pi), eta))
}

func mwuLog(p [][]float64, logPi []float64, eta float64) []float64 {
	w := WinProbs(p, softmaxLog(logPi))
	z := make([]float64, len(logPi))
	for i := range z {
		z[i] = logPi[i] + eta*w[i]
	}
	return z
}

// FitBT fits Bradley–Terry scores s (mean zero) by maximum likelihood to
// pairwise wins: wins[i][j] is the (possibly fractional, possibly
// population-weighted) number of times i beat j. It uses Hunter's MM,
// γ_i ← W_i / Σ_{j≠i} n_ij/(γ_i + γ_j) with n_ij = wins[i][j] + wins[j][i],
// until the scores move less than 1e-12. The MLE exists only if every action
// both won and lost; otherwise FitBT returns an error.
func FitBT(wins [][]float64) ([]float64, error) {
	k := len(wins)
	w := make([]float64, k)
	for i := range k {
		var lost float64
		for j := range k {
			if i != j {
				w[i] += wins[i][j]
				lost += wins[j][i]
			}
		}
		if w[i] <= 0 || lost <= 0 {
			return nil, fmt.Errorf("nash: Bradley–Terry fit: action %d has %g wins and %g losses; the MLE needs both (collect more pairs)", i, w[i], lost)
		}
	}
	gamma := make([]float64, k)
	for i := range gamma {
		gamma[i] = 1
	}
	next := make([]float64, k)
	for it := 0; it < 1_000_000; it++ {
		for i := range k {
			var den float64
			for j := range k {
				if i != j {
					den += (wins[i][j] + wins[j][i]) / (gamma[i] + gamma[j])
				}
			}
			next[i] = w[i] / den
		}
		// Geometric mean 1 keeps the scores centred.
		var ls float64
		for _, g := range next {
			ls += math.Log(g)
		}
		shift := math.Exp(ls / float64(k))
		var change float64
		for i := range k {
			g := next[i] / shift
			change = max(change, math.Abs(math.Log(g)-math.Log(gamma[i])))
			gamma[i] = g
		}
		if change < 1e-12 {
			return logs(gamma), nil
		}
	}
	return nil, errors.New("nash: Bradley–Terry fit did not converge")
}

// BTPolicy is the optimum of the KL-regularised reward objective
// E_π[r] − β·KL(π ‖ π_ref): π(y) ∝ π_ref(y) · exp(r(y)/β). With r the
// Bradley–Terry scores of a preference game, it is what RLHF under the BT
// assumption (reward model + PPO, or DPO) converges to.
func BTPolicy(scores, ref []float64, beta float64) []float64 {
	z := logs(ref)
	for i := range z {
		z[i] += scores[i] / beta
	}
	return softmaxLog(z)
}
