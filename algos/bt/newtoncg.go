package bt

import (
	"math"

	"github.com/alignlab/alignlab/algos/pairloss"
	"github.com/alignlab/alignlab/datasets"
)

// sparseHessian is −H of the objective kept as the pairs hold it: the θ
// block is a weighted graph Laplacian (an edge of weight w = −∂²ℓ/∂d² ≥ 0
// per pair that met) plus the prior's diagonal; with a fitted tie parameter
// its row and column are dense vectors.
type sparseHessian struct {
	w    []float64 // per pair
	diag []float64 // length n: the diagonal of −H
	col  []float64 // length k: −∂²/∂θi∂τ (nil without a tie parameter)
}

func newSparseHessian(p *problem, n int) *sparseHessian {
	h := &sparseHessian{w: make([]float64, len(p.a)), diag: make([]float64, n)}
	if p.fitTie {
		h.col = make([]float64, p.k)
	}
	return h
}

// gradientSparse is gradient with the Hessian kept sparse. Without wantObj,
// TiesHalf skips the log-likelihood (no log1p) and returns NaN.
func (p *problem) gradientSparse(theta []float64, tau float64, g []float64, h *sparseHessian, wantObj bool) (obj float64) {
	if !wantObj && p.ties == TiesHalf && !p.fitTie {
		return p.derivsSparse(theta, g, h)
	}
	for i := range g {
		g[i] = 0
	}
	for i := range h.diag {
		h.diag[i] = 0
	}
	for i := range h.col {
		h.col[i] = 0
	}
	k := p.k
	for i := range p.a {
		a, b := p.a[i], p.b[i]
		r := p.pair(i, theta[a]-theta[b], tau, true)
		obj += r.ll
		g[a] += r.gd
		g[b] -= r.gd
		h.w[i] = -r.hdd
		h.diag[a] -= r.hdd
		h.diag[b] -= r.hdd
		if p.fitTie {
			g[k] += r.gt
			h.col[a] -= r.hdt
			h.col[b] += r.hdt
			h.diag[k] -= r.htt
		}
	}
	if p.prior > 0 {
		for i, th := range theta {
			s := pairloss.Sigmoid(th)
			obj += p.prior * (logSigmoid(th) + logSigmoid(-th)) / 2
			g[i] += p.prior * (0.5 - s)
			h.diag[i] += p.prior * s * (1 - s)
		}
	}
	return obj
}

// derivsSparse is gradientSparse for TiesHalf without the objective.
func (p *problem) derivsSparse(theta []float64, g []float64, h *sparseHessian) float64 {
	for i := range g {
		g[i] = 0
	}
	for i := range h.diag {
		h.diag[i] = 0
	}
	for i := range p.a {
		a, b := p.a[i], p.b[i]
		gd, hdd := p.halfDerivs(i, theta[a]-theta[b])
		g[a] += gd
		g[b] -= gd
		h.w[i] = -hdd
		h.diag[a] -= hdd
		h.diag[b] -= hdd
	}
	if p.prior > 0 {
		for i, th := range theta {
			s := pairloss.Sigmoid(th)
			g[i] += p.prior * (0.5 - s)
			h.diag[i] += p.prior * s * (1 - s)
		}
	}
	return math.NaN()
}

// cgSystem is the Newton system A s = g of FitNewton, A = −H + c·1·1ᵀ on
// the θ block (c = 0 with a prior, which fixes the shift) plus ridge·I.
type cgSystem struct {
	p     *problem
	h     *sparseHessian
	c     float64
	ridge float64
}

// mul sets y = A v.
func (s *cgSystem) mul(y, v []float64) {
	p, h, k := s.p, s.h, s.p.k
	for i := range y {
		y[i] = (h.diag[i] + s.ridge) * v[i]
	}
	for i, w := range h.w {
		a, b := p.a[i], p.b[i]
		y[a] -= w * v[b]
		y[b] -= w * v[a]
	}
	if h.col != nil {
		vt := v[k]
		for i, ci := range h.col {
			y[i] += ci * vt
			y[k] += ci * v[i]
		}
	}
	if s.c != 0 {
		sum := 0.0
		for _, x := range v[:k] {
			sum += x
		}
		sum *= s.c
		for i := range y[:k] {
			y[i] += sum
		}
	}
}

// solve runs Jacobi-preconditioned conjugate gradients for A x = g from
// x = 0 to the relative residual eta (ws: four scratch vectors of length
// n). It returns false when A is found not positive definite along a
// search direction.
func (s *cgSystem) solve(x, g []float64, eta float64, ws [4][]float64) bool {
	r, z, d, ad := ws[0], ws[1], ws[2], ws[3]
	k := s.p.k
	pre := func(i int) float64 {
		m := s.h.diag[i] + s.ridge
		if i < k {
			m += s.c
		}
		return 1 / m
	}
	gg := 0.0
	for i := range x {
		x[i] = 0
		r[i] = g[i]
		gg += g[i] * g[i]
	}
	if gg == 0 {
		return true
	}
	stop := eta * eta * gg
	rz := 0.0
	for i := range r {
		z[i] = pre(i) * r[i]
		d[i] = z[i]
		rz += r[i] * z[i]
	}
	maxIter := 10 * len(x)
	for it := 0; it < maxIter; it++ {
		s.mul(ad, d)
		dad := 0.0
		for i := range d {
			dad += d[i] * ad[i]
		}
		if !(dad > 0) {
			return false
		}
		alpha := rz / dad
		rr := 0.0
		for i := range x {
			x[i] += alpha * d[i]
			r[i] -= alpha * ad[i]
			rr += r[i] * r[i]
		}
		if rr <= stop {
			return true
		}
		rzNext := 0.0
		for i := range r {
			z[i] = pre(i) * r[i]
			rzNext += r[i] * z[i]
		}
		beta := rzNext / rz
		rz = rzNext
		for i := range d {
			d[i] = z[i] + beta*d[i]
		}
	}
	return true // the last iterate: still an ascent direction for the line search
}

// fullStepPasses reports whether the full step sv from theta passes the
// line search's Armijo test, f(θ+s) − f(θ) ≥ 1e-4·slope, from slopes
// alone (trial is left at θ + sv, the derivatives there in g, h). The
// objective is concave, so along the step its slope φ′(t) = ∇f(θ+t·s)·s
// only falls, and f(θ+s) − f(θ) = ∫₀¹ φ′ ≥ φ′(1), or, tighter when a full
// Newton step overshoots a little (φ′(1) < 0, about half the time),
// ≥ (φ′(½) + φ′(1))/2. Either bound passing the test passes the test on f
// that backtrack would make — the step it would take — without the
// objective's log1p: at most one more pass, for φ′(½), of one exp a pair.
//
// A step already below tol passes without either pass: it is the last
// one, it moves no θ by more than the tolerance, and near the maximum the
// test only measures rounding (g, h are then left as they were: the fit
// ends without them).
func (p *problem) fullStepPasses(theta, trial, sv []float64, tau, slope, tol float64, g []float64, h *sparseHessian) bool {
	for i := range trial {
		trial[i] = theta[i] + sv[i]
	}
	if maxAbs(sv) < tol {
		return true
	}
	p.gradientSparse(trial, tau, g, h, false)
	end := 0.0
	for i := range sv {
		end += sv[i] * g[i]
	}
	if end >= 1e-4*slope {
		return true
	}
	return (p.slopeAt(theta, sv, 0.5)+end)/2 >= 1e-4*slope
}

// slopeAt is φ′(t) = ∇f(θ + t·s)·s for TiesHalf without a tie parameter,
// one pass over the pairs: Σ ∂ℓ/∂d·(s_a − s_b) plus the prior's terms.
func (p *problem) slopeAt(theta, sv []float64, t float64) float64 {
	slope := 0.0
	for i := range p.a {
		a, b := p.a[i], p.b[i]
		gd, _ := p.halfDerivs(i, theta[a]-theta[b]+t*(sv[a]-sv[b]))
		slope += gd * (sv[a] - sv[b])
	}
	if p.prior > 0 {
		for i, th := range theta {
			slope += p.prior * (0.5 - pairloss.Sigmoid(th+t*sv[i])) * sv[i]
		}
	}
	return slope
}

// newtonCG is FitNewton with each Newton system solved by conjugate
// gradients; the line search and stopping rule are FitNewton's.
func (p *problem) newtonCG(c *datasets.ArenaCounts, set *Settings, theta []float64, tau float64) (*Fit, error) {
	k := p.k
	n := k
	if p.fitTie {
		n++
	}
	g, gTrial := make([]float64, n), make([]float64, n)
	h, hTrial := newSparseHessian(p, n), newSparseHessian(p, n)
	var ws [4][]float64
	for i := range ws {
		ws[i] = make([]float64, n)
	}
	sv := make([]float64, n)
	trial := make([]float64, k)
	// Without a progress callback the objective is only needed when a full
	// Newton step fails the gradient test below, so TiesHalf skips it (its
	// log1p is most of a pass); obj is NaN while unknown.
	lazy := set.Progress == nil
	obj := p.gradientSparse(theta, tau, g, h, !lazy)
	step := math.Inf(1)
	it := 0
	for it < set.MaxIterations && !(step < set.Tolerance) {
		it++
		diag := 0.0
		for _, d := range h.diag {
			diag += d
		}
		sys := cgSystem{p: p, h: h}
		if p.prior == 0 {
			sys.c = diag / float64(n) / float64(k)
		}
		for !sys.solve(sv, g, cgForcing(step), ws) {
			var err error
			if sys.ridge, err = nextRidge(sys.ridge, diag, n); err != nil {
				return nil, err
			}
		}
		slope := 0.0
		for i := range sv {
			slope += sv[i] * g[i]
		}
		alpha, newObj, newTau := 1.0, math.NaN(), tau
		if !(lazy && !p.fitTie && p.fullStepPasses(theta, trial, sv, tau, slope, set.Tolerance, gTrial, hTrial)) {
			if math.IsNaN(obj) {
				obj = p.gradientSparse(theta, tau, g, h, true)
			}
			// Near the maximum (flat) the rounding of the objective can no
			// longer tell a full Newton step from a worse one: take it
			// rather than halve it dozens of times.
			alpha, newObj, newTau = p.backtrack(theta, trial, sv, tau, obj, slope, func(trial []float64, tau float64) float64 {
				return p.gradientSparse(trial, tau, gTrial, hTrial, true)
			})
			if alpha < 1e-12 {
				step = 0
				break
			}
		}
		step = alpha * maxAbs(sv)
		copy(theta, trial)
		if p.prior == 0 {
			center(theta)
		}
		tau, obj = newTau, newObj
		g, gTrial = gTrial, g
		h, hTrial = hTrial, h
		if err := set.endIteration(it, step, func() float64 { return obj }); err != nil {
			return nil, err
		}
	}
	return p.finish(c, set, theta, tau, it, step), nil
}
