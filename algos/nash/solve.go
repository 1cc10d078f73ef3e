package nash

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize/convex/lp"
)

// Tolerances of the exact solvers.
const (
	// NashTolerance bounds the exploitability of the equilibrium Nash returns.
	NashTolerance = 1e-9
	// FixedPointTolerance bounds the L1 residual of the equilibrium
	// RegularizedNash returns.
	FixedPointTolerance = 1e-10
)

// WinProbs returns P(y ≻ π) = Σ_j P[y][j] π[j] for every action y.
func WinProbs(p [][]float64, pi []float64) []float64 {
	out := make([]float64, len(p))
	for i, row := range p {
		var s float64
		for j, v := range row {
			s += v * pi[j]
		}
		out[i] = s
	}
	return out
}

// WinRate is P(a ≻ b) = aᵀ P b for two mixed policies a and b.
func WinRate(p [][]float64, a, b []float64) float64 {
	var s float64
	for i, w := range WinProbs(p, b) {
		s += a[i] * w
	}
	return s
}

// Exploitability is e(π) = max_y P(y ≻ π) − ½: how much a best response
// beats π. It is 0 exactly at a Nash equilibrium of the symmetric game, and
// the duality gap max_y P(y ≻ π) − min_y P(π ≻ y) is 2e.
func Exploitability(p [][]float64, pi []float64) float64 {
	best := math.Inf(-1)
	for _, w := range WinProbs(p, pi) {
		best = max(best, w)
	}
	return best - 0.5
}

// L1 is Σ|a − b|.
func L1(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += math.Abs(a[i] - b[i])
	}
	return s
}

// Nash returns a Nash equilibrium of the symmetric zero-sum game with
// payoff P − ½ (P[i][j] = P(i ≻ j), P + Pᵀ = 1), found by linear
// programming: with B = P + 1 > 0 (game value 3/2),
//
//	minimize Σ u  s.t.  Bᵀu ≥ 1, u ≥ 0,   π = u / Σ u,
//
// so that P(π ≻ j) ≥ ½ for every j. It returns an error if the simplex
// fails or its answer is more than NashTolerance exploitable.
func Nash(p [][]float64) ([]float64, error) {
	k := len(p)
	if k == 0 {
		return nil, errors.New("nash: empty preference matrix")
	}
	// Standard form: [Bᵀ −I] (u, s) = 1, (u, s) ≥ 0.
	a := mat.NewDense(k, 2*k, nil)
	c := make([]float64, 2*k)
	b := make([]float64, k)
	for j := range k {
		b[j] = 1
		c[j] = 1
		for i := range k {
			a.Set(j, i, p[i][j]+1)
		}
		a.Set(j, k+j, -1)
	}
	_, x, err := lp.Simplex(c, a, b, 1e-12, nil)
	if err != nil {
		return nil, fmt.Errorf("nash: simplex: %w", err)
	}
	pi := make([]float64, k)
	var sum float64
	for i := range k {
		pi[i] = max(x[i], 0)
		sum += pi[i]
	}
	if sum <= 0 {
		return nil, errors.New("nash: simplex returned a zero strategy")
	}
	for i := range pi {
		pi[i] /= sum
	}
	if e := Exploitability(p, pi); e > NashTolerance {
		return nil, fmt.Errorf("nash: simplex solution is %g exploitable, want ≤ %g", e, NashTolerance)
	}
	return pi, nil
}

// softmaxLog turns log-weights z into the distribution softmax(z).
func softmaxLog(z []float64) []float64 {
	m := math.Inf(-1)
	for _, v := range z {
		m = max(m, v)
	}
	out := make([]float64, len(z))
	var s float64
	for i, v := range z {
		out[i] = math.Exp(v - m)
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

func logs(pi []float64) []float64 {
	out := make([]float64, len(pi))
	for i, v := range pi {
		out[i] = math.Log(v)
	}
	return out
}

// FixedPointResidual is ‖π − softmax(log π_ref + P π / τ)‖₁: zero exactly at
// the KL-regularised equilibrium π*_τ.
func FixedPointResidual(p [][]float64, ref []float64, tau float64, pi []float64) float64 {
	w := WinProbs(p, pi)
	z := logs(ref)
	for i := range z {
		z[i] += w[i] / tau
	}
	return L1(pi, softmaxLog(z))
}

// RegularizedNash returns π*_τ, the unique equilibrium of the game
// regularised by τ·KL(π ‖ π_ref): the fixed point of
//
//	π ∝ π_ref · exp(P π / τ).
//
// Plain fixed-point iteration of that map diverges for small τ (its
// Lipschitz constant is about ‖P‖/τ), so it runs mirror-prox
// (extragradient in log space) on the τ-strongly monotone regularised game,
// halving the step while the residual stalls. It returns an error unless the
// residual reaches FixedPointTolerance.
func RegularizedNash(p [][]float64, ref []float64, tau float64) ([]float64, error) {
	if tau <= 0 {
		return nil, fmt.Errorf("nash: tau must be > 0, got %g", tau)
	}
	logRef := logs(ref)
	pi := append([]float64(nil), ref...)
	step := 1 / (tau + 1) // ‖P − ½‖ ≤ ½·k in general; the halving below adapts
	best := math.Inf(1)
	stall := 0
	const maxIter = 2_000_000
	for it := 0; it < maxIter; it++ {
		res := FixedPointResidual(p, ref, tau, pi)
		if res < FixedPointTolerance {
			return pi, nil
		}
		if res < 0.999*best {
			best, stall = res, 0
		} else if stall++; stall > 200 {
			step /= 2
			stall = 0
			best = res
			if step < 1e-8 {
				break
			}
		}
		half := mirrorStep(logs(pi), logRef, WinProbs(p, pi), step, tau)
		pi = mirrorStep(logs(pi), logRef, WinProbs(p, half), step, tau)
	}
	return nil, fmt.Errorf("nash: regularised equilibrium did not converge (τ=%g, residual %g)", tau, FixedPointResidual(p, ref, tau, pi))
}

// mirrorStep returns π' ∝ π^{1−ητ} π_ref^{ητ} exp(η w), the KL mirror-descent
// step on the regularised game with payoff vector w.
func mirrorStep(logPi, logRef, w []float64, eta, tau float64) []float64 {
	z := make([]float64, len(logPi))
	for i := range z {
		z[i] = (1-eta*tau)*logPi[i] + eta*tau*logRef[i] + eta*w[i]
	}
	return softmaxLog(z)
}
