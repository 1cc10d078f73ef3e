package nash

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/alignlab/alignlab/kernel"
)

// This file holds the convergence checks of the iterative plugins: the
// linear stability of the exact INPO update (INPOStabilityOf), and the
// converged metric and its note for nash.inpo, nash.dno and nash.mwu.

// ParamTolerance (float, default DefaultTolerance) is the distance below
// which an iterative run counts as converged: ‖π_T − π*_τ‖₁ for INPO, the
// exploitability of the last iterate for DNO, of the average iterate for
// MWU (means over prompts, as reported).
const ParamTolerance = "tolerance"

// DefaultTolerance is the default of ParamTolerance: the paper's claim for
// κ = 1, τ = 0.1 is ‖π_T − π*_τ‖₁ < 1e-3 within 100 iterations.
const DefaultTolerance = 1e-3

// MetricConverged is the final metric, 1 or 0, of whether a run met its
// convergence criterion (ParamTolerance).
const MetricConverged = "converged"

// The finals of nash.inpo's stability check (worst prompt).
const (
	// MetricKappaMax is the stability bound 2τ/(τ² + μ²) on κ.
	MetricKappaMax = "kappa_max"
	// MetricContractionRate is ρ = |1 − κτ + iκμ|, the linearised rate per iteration.
	MetricContractionRate = "contraction_rate"
)

func toleranceParam(doc string) kernel.Param {
	return kernel.Param{Key: ParamTolerance, Type: kernel.Float, Default: DefaultTolerance,
		Range: kernel.Range{Min: 0, Max: 1, MinExclusive: true}, Doc: doc}
}

// INPOStability is the linear stability of the exact INPO update at its
// fixed point π*_τ, for one prompt.
type INPOStability struct {
	// Mu is μ, the largest |eigenvalue| of the game's part of the update's
	// Jacobian at π*_τ (see INPOStabilityOf); its eigenvalues are imaginary.
	Mu float64
	// Rate is ρ = |1 − κτ + iκμ| = √((1 − κτ)² + κ²μ²): the spectral
	// radius of the update's Jacobian at π*_τ, the factor by which the
	// log-policy error shrinks per iteration near π*_τ (ρ ≥ 1: it does not).
	Rate float64
	// KappaMax = 2τ/(τ² + μ²) is the stability bound: ρ < 1 exactly when
	// κ < KappaMax.
	KappaMax float64
	// KappaBest = τ/(τ² + μ²) minimises ρ over κ, to BestRate = μ/√(τ² + μ²).
	KappaBest, BestRate float64
}

// INPOStabilityOf linearises the exact INPO update
//
//	log π' = (1 − κτ) log π + κτ log π_ref + κ P π − log Z
//
// at its fixed point star = π*_τ. Write δ = log π − log π*_τ, normalised by
// π*_τᵀδ = 0, and u = D^½δ with D = diag(π*_τ), so that u ⊥ s = √π*_τ.
// With A = P − ½ (antisymmetric, as P + Pᵀ = 1) the Jacobian on those u is
//
//	J = (1 − κτ)I + κ Q M Q,   M = D^½ A D^½,   Q = I − s sᵀ,
//
// and QMQ is antisymmetric: its eigenvalues are ±iμ_j, J is normal, and
//
//	ρ = max |eig J| = √((1 − κτ)² + κ²μ²) < 1   ⇔   κ < 2τ/(τ² + μ²),   μ = max_j μ_j.
//
// (‖QMQ‖ ≤ ‖M‖; with two actions QMQ = 0 and ρ = |1 − κτ|.) The bound is
// local: with ρ < 1 the iterates converge to π*_τ from nearby, the D-norm
// of δ shrinking by ρ per iteration; with ρ > 1 they cannot converge to it
// (unless they start on it). It needs 0 < star[i] and tau > 0.
func INPOStabilityOf(p [][]float64, star []float64, kappa, tau float64) (INPOStability, error) {
	k := len(p)
	if k == 0 || len(star) != k {
		return INPOStability{}, fmt.Errorf("nash: stability: want a K×K matrix and K probabilities, got %d and %d", k, len(star))
	}
	if !(tau > 0) {
		return INPOStability{}, fmt.Errorf("nash: stability: tau must be > 0, got %g", tau)
	}
	s := make([]float64, k)
	for i, v := range star {
		if !(v > 0) {
			return INPOStability{}, fmt.Errorf("nash: stability: want π*_τ > 0, got %g for action %d", v, i)
		}
		s[i] = math.Sqrt(v)
	}
	m := mat.NewDense(k, k, nil)
	q := mat.NewDense(k, k, nil)
	for i := range k {
		for j := range k {
			m.Set(i, j, s[i]*s[j]*(p[i][j]-0.5))
			id := 0.0
			if i == j {
				id = 1
			}
			q.Set(i, j, id-s[i]*s[j])
		}
	}
	var qmq mat.Dense
	qmq.Product(q, m, q)
	// (QMQ)ᵀQMQ is symmetric with eigenvalues μ_j².
	var sq mat.SymDense
	sq.SymOuterK(1, qmq.T())
	var eig mat.EigenSym
	if !eig.Factorize(&sq, false) {
		return INPOStability{}, errors.New("nash: stability: eigen-decomposition failed")
	}
	mu2 := 0.0
	for _, v := range eig.Values(nil) {
		mu2 = max(mu2, v)
	}
	st := INPOStability{Mu: math.Sqrt(mu2)}
	st.Rate = math.Hypot(1-kappa*tau, kappa*st.Mu)
	st.KappaMax = 2 * tau / (tau*tau + mu2)
	st.KappaBest = tau / (tau*tau + mu2)
	st.BestRate = st.Mu / math.Hypot(tau, st.Mu)
	return st, nil
}

// inpoStability is INPOStabilityOf for every prompt of ev's game, and the
// worst of them: the largest rate, the smallest bounds.
func inpoStability(ev *evaluator, kappa, tau float64) (INPOStability, error) {
	var worst INPOStability
	for x, pr := range ev.game.Prompts {
		s, err := INPOStabilityOf(pr.P, ev.tauNash[x], kappa, tau)
		if err != nil {
			return worst, err
		}
		if x == 0 || s.Rate > worst.Rate {
			worst.Rate, worst.Mu = s.Rate, s.Mu
		}
		if x == 0 || s.KappaMax < worst.KappaMax {
			worst.KappaMax = s.KappaMax
		}
		if x == 0 || s.BestRate > worst.BestRate {
			worst.KappaBest, worst.BestRate = s.KappaBest, s.BestRate
		}
	}
	return worst, nil
}

// iterationsToReach is about how many iterations at rate rho shrink dist to
// tol (0 when dist ≤ tol; +Inf when rho ≥ 1).
func iterationsToReach(dist, tol, rho float64) float64 {
	if dist <= tol {
		return 0
	}
	if rho >= 1 {
		return math.Inf(1)
	}
	return math.Ceil(math.Log(tol/dist) / math.Log(rho))
}

// stabilityNote says whether κ is below the stability bound.
func stabilityNote(s INPOStability, kappa, tau float64) string {
	if s.Rate < 1 {
		return fmt.Sprintf("step size: kappa = %g is below the stability bound 2τ/(τ² + μ²) = %.4g of this game (τ = %g, μ = %.4g): the exact update contracts by ρ = %.4g per iteration near π*_τ",
			kappa, s.KappaMax, tau, s.Mu, s.Rate)
	}
	return fmt.Sprintf("step size: kappa = %g exceeds the stability bound 2τ/(τ² + μ²) = %.4g of this game (τ = %g, μ = %.4g): ρ = %.4g ≥ 1, the exact update cannot settle at π*_τ; set kappa below %.4g (fastest: kappa = %.4g, ρ = %.6g)",
		kappa, s.KappaMax, tau, s.Mu, s.Rate, s.KappaMax, s.KappaBest, s.BestRate)
}

// inpoConvergence sets the finals converged, kappa_max and
// contraction_rate of an INPO run whose last iterate is pi and notes the
// stability check and, when it did not converge, the knob to turn.
func inpoConvergence(job *kernel.Job, ev *evaluator, pi [][]float64, c inpoConfig, tol float64) error {
	s, err := inpoStability(ev, c.Kappa, c.Tau)
	if err != nil {
		return err
	}
	job.SetFinal(MetricKappaMax, s.KappaMax)
	job.SetFinal(MetricContractionRate, s.Rate)
	job.Note("%s", stabilityNote(s, c.Kappa, c.Tau))
	l1 := ev.eval(pi, nil).L1TauNash
	ok := l1 <= tol
	job.SetFinal(MetricConverged, boolMetric(ok))
	if ok {
		return nil
	}
	head := fmt.Sprintf("not converged: ‖π_T − π*_τ‖₁ = %.3g > tolerance %g after %d iterations", l1, tol, c.Iterations)
	switch {
	case s.Rate >= 1:
		job.Note("%s: lower kappa below %.4g (see the step-size note)", head, s.KappaMax)
	case c.Mode == ModeSampled:
		job.Note("%s: sampled updates carry noise of order 1/√pairs; raise pairs (and steps), or iterations", head)
	default:
		more := iterationsToReach(l1, tol, s.Rate)
		fast := ""
		if s.BestRate < s.Rate {
			fast = fmt.Sprintf(", or move kappa towards %.4g (ρ = %.6g)", s.KappaBest, s.BestRate)
		}
		job.Note("%s: at ρ = %.6g per iteration about %.0f more reach it; raise iterations to about %.0f%s",
			head, s.Rate, more, float64(c.Iterations)+more, fast)
	}
	return nil
}

// dnoConvergence sets converged for DNO's last iterate (exploitability ≤
// tol) and, when it did not converge, notes why more iterations may not help.
func dnoConvergence(job *kernel.Job, ev *evaluator, pi [][]float64, iterations int, tol float64) {
	e := ev.eval(pi, nil).Exploitability
	ok := e <= tol
	job.SetFinal(MetricConverged, boolMetric(ok))
	if !ok {
		job.Note("not converged: the last iterate's exploitability %.3g > tolerance %g after %d iterations; DNO is multiplicative weights with step 1/η and no pull towards π_ref, whose last iterate cycles around a mixed equilibrium (more iterations do not help then): use nash.inpo (tau > 0) for a last iterate that converges, or nash.mwu's average iterate",
			e, tol, iterations)
	}
}

// mwuConvergence sets converged for MWU's average iterate (exploitability ≤
// tol) and, when it did not converge, notes the regret bound and the knobs.
func mwuConvergence(job *kernel.Job, ev *evaluator, avg [][]float64, c mwuConfig, tol float64) {
	e := ev.eval(avg, nil).Exploitability
	ok := e <= tol
	job.SetFinal(MetricConverged, boolMetric(ok))
	if ok {
		return
	}
	k := float64(ev.game.K())
	t := float64(c.Iterations + 1)
	bound := math.Log(k)/(c.Eta*t) + c.Eta/8
	job.Note("not converged: the average iterate's exploitability %.3g > tolerance %g after %d iterations (regret bound ln K/(η(T+1)) + η/8 = %.3g); raise iterations, and lower eta towards √(8 ln K/(T+1)) = %.3g, which minimises the bound",
		e, tol, c.Iterations, bound, math.Sqrt(8*math.Log(k)/t))
}

func boolMetric(ok bool) float64 {
	if ok {
		return 1
	}
	return 0
}

// convergedList names the methods that converged and those that did not.
func convergedList(ok map[string]bool, order []string) string {
	var yes, no []string
	for _, m := range order {
		v, has := ok[m]
		switch {
		case !has:
		case v:
			yes = append(yes, m)
		default:
			no = append(no, m)
		}
	}
	none := func(v []string) string {
		if len(v) == 0 {
			return "none"
		}
		return strings.Join(v, ", ")
	}
	return fmt.Sprintf("converged: %s; not converged: %s", none(yes), none(no))
}
