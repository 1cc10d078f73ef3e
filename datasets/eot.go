package datasets

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// This file holds the data of entropic optimal transport (Schrödinger
// bridge) experiments: pairs of distributions whose EOT plan is known in
// closed form (Gushchin et al. 2023, "Building the Bridge of Schrödinger: A
// Continuous Entropic Optimal Transport Benchmark", arXiv 2306.10161). The
// 2-D demo distributions are in toys.go, files of vectors in vectors.go.
//
// Convention. ε is the variance of the Brownian noise of the Schrödinger
// bridge, as in LightSB: the EOT problem is
//
//	min_π ∫ ½‖x − y‖² dπ(x, y) − ε H(π)   over plans π with marginals P₀, P₁,
//
// whose solution has the form π*(x, y) ∝ f(x) exp(−‖x − y‖²/(2ε)) g(y). So
// π*(y|x) ∝ N(y | x, εI)·g(y): the normal's variance is ε itself. (With the
// cost ‖x − y‖² instead of ½‖x − y‖², the same plan has regulariser 2ε.)

// GaussianMixture is the density Σ_k Weights[k]·N(Means[k], Covs[k]). Each
// Covs[k] is a Dim×Dim symmetric positive-definite matrix stored row-major.
type GaussianMixture struct {
	Weights []float64
	Means   [][]float64
	Covs    [][]float64
}

// EOTPair is a pair (P₀, P₁) with a known entropic OT plan: P₀ = Source, a
// Gaussian mixture; g = Potential, a Gaussian mixture Σ_k p_k N(μ_k, Σ_k);
// the plan π*(y|x) ∝ N(y | x, εI)·g(y), which is the Gaussian mixture
//
//	π*(y|x) = Σ_k w_k(x) N(y | Σ̃_k(Σ_k⁻¹μ_k + x/ε), Σ̃_k),
//	w_k(x) ∝ p_k N(x | μ_k, Σ_k + εI),   Σ̃_k = (I/ε + Σ_k⁻¹)⁻¹,
//
// and P₁ is its second marginal. Because π*(x, y) = P₀(x)·N(y|x, εI)g(y)/Z(x)
// factorises as f(x)·exp(−‖x−y‖²/(2ε))·g̃(y), it is the EOT plan between P₀
// and P₁ for the cost ½‖x−y‖² and entropy weight ε (see the convention above).
type EOTPair struct {
	Dim       int
	Epsilon   float64
	Source    GaussianMixture
	Potential GaussianMixture

	src  []eotGauss
	plan []eotPlanComponent
}

// eotGauss is one weighted Gaussian component, factorised for sampling and densities.
type eotGauss struct {
	logW   float64
	mean   []float64
	chol   []float64 // lower Cholesky factor L, row-major: cov = L Lᵀ
	logDet float64   // log |cov|
}

// eotPlanComponent is component k of π*(·|x): N(bias + slope·x, cov).
type eotPlanComponent struct {
	marg  eotGauss  // log p_k and N(μ_k, Σ_k + εI), which give w_k(x)
	bias  []float64 // Σ̃_k Σ_k⁻¹ μ_k
	slope []float64 // Σ̃_k / ε, row-major
	cov   []float64 // Σ̃_k, row-major
	chol  []float64 // Cholesky factor of Σ̃_k
}

// NewEOTPair checks source and potential, normalises their weights and
// factorises the closed-form plan. ε must be finite and > 0.
func NewEOTPair(source, potential GaussianMixture, epsilon float64) (*EOTPair, error) {
	if !(epsilon > 0) || math.IsInf(epsilon, 1) {
		return nil, fmt.Errorf("datasets: eot: epsilon must be finite and > 0, got %v", epsilon)
	}
	if len(source.Means) == 0 || len(source.Means[0]) == 0 {
		return nil, errors.New("datasets: eot: the source needs at least one component of dimension ≥ 1")
	}
	dim := len(source.Means[0])
	src, err := eotFactorMixture("source", source, dim, 0)
	if err != nil {
		return nil, err
	}
	// The potential is validated without jitter, then factorised with ε·I
	// added for the weights w_k(x).
	if _, err := eotFactorMixture("potential", potential, dim, 0); err != nil {
		return nil, err
	}
	marg, err := eotFactorMixture("potential", potential, dim, epsilon)
	if err != nil {
		return nil, err
	}
	p := &EOTPair{Dim: dim, Epsilon: epsilon, Source: eotCopyMixture(source), Potential: eotCopyMixture(potential), src: src}
	for k := range potential.Means {
		var eig mat.EigenSym
		if !eig.Factorize(mat.NewSymDense(dim, append([]float64(nil), potential.Covs[k]...)), true) {
			return nil, fmt.Errorf("datasets: eot: potential component %d: eigendecomposition failed", k)
		}
		lam := eig.Values(nil)
		var q mat.Dense
		eig.VectorsTo(&q)
		// With Σ = QΛQᵀ: Σ̃ = Q diag(ελ/(ε+λ)) Qᵀ, Σ̃/ε = Q diag(λ/(ε+λ)) Qᵀ and
		// Σ̃Σ⁻¹ = Q diag(ε/(ε+λ)) Qᵀ, which avoids inverting Σ.
		cov := eotQDQ(&q, lam, func(l float64) float64 { return epsilon * l / (epsilon + l) })
		slope := eotQDQ(&q, lam, func(l float64) float64 { return l / (epsilon + l) })
		shrink := eotQDQ(&q, lam, func(l float64) float64 { return epsilon / (epsilon + l) })
		chol, _, err := eotCholesky(cov, dim)
		if err != nil {
			return nil, fmt.Errorf("datasets: eot: plan component %d: %v", k, err)
		}
		p.plan = append(p.plan, eotPlanComponent{
			marg: marg[k], bias: eotMatVec(shrink, potential.Means[k], dim), slope: slope, cov: cov, chol: chol,
		})
	}
	return p, nil
}

// eotFactorMixture validates m and factorises its components, each
// covariance plus jitter·I (the potential's marginal-weight Gaussians use ε).
func eotFactorMixture(what string, m GaussianMixture, dim int, jitter float64) ([]eotGauss, error) {
	n := len(m.Means)
	if n == 0 || len(m.Weights) != n || len(m.Covs) != n {
		return nil, fmt.Errorf("datasets: eot: %s: want ≥ 1 component and as many weights, means and covariances, got %d, %d, %d",
			what, len(m.Weights), n, len(m.Covs))
	}
	total := 0.0
	for k, w := range m.Weights {
		if !(w > 0) || math.IsInf(w, 1) {
			return nil, fmt.Errorf("datasets: eot: %s: weight %d must be finite and > 0, got %v", what, k, w)
		}
		total += w
	}
	out := make([]eotGauss, n)
	for k := range n {
		if len(m.Means[k]) != dim {
			return nil, fmt.Errorf("datasets: eot: %s: mean %d has dimension %d, want %d", what, k, len(m.Means[k]), dim)
		}
		if len(m.Covs[k]) != dim*dim {
			return nil, fmt.Errorf("datasets: eot: %s: covariance %d has %d entries, want %d×%d", what, k, len(m.Covs[k]), dim, dim)
		}
		for _, v := range m.Means[k] {
			if !isFinite(v) {
				return nil, fmt.Errorf("datasets: eot: %s: mean %d is not finite", what, k)
			}
		}
		c := append([]float64(nil), m.Covs[k]...)
		for i := range dim {
			for j := range i {
				if c[i*dim+j] != c[j*dim+i] {
					return nil, fmt.Errorf("datasets: eot: %s: covariance %d is not symmetric at (%d, %d)", what, k, i, j)
				}
			}
			c[i*dim+i] += jitter
		}
		chol, logDet, err := eotCholesky(c, dim)
		if err != nil {
			return nil, fmt.Errorf("datasets: eot: %s: covariance %d: %v", what, k, err)
		}
		out[k] = eotGauss{logW: math.Log(m.Weights[k] / total), mean: append([]float64(nil), m.Means[k]...), chol: chol, logDet: logDet}
	}
	return out, nil
}

func eotCopyMixture(m GaussianMixture) GaussianMixture {
	total := 0.0
	for _, w := range m.Weights {
		total += w
	}
	c := GaussianMixture{Weights: make([]float64, len(m.Weights)), Means: make([][]float64, len(m.Means)), Covs: make([][]float64, len(m.Covs))}
	for k := range m.Weights {
		c.Weights[k] = m.Weights[k] / total
		c.Means[k] = append([]float64(nil), m.Means[k]...)
		c.Covs[k] = append([]float64(nil), m.Covs[k]...)
	}
	return c
}

// eotCholesky returns the lower factor of the row-major SPD matrix a and log|a|.
func eotCholesky(a []float64, dim int) ([]float64, float64, error) {
	var ch mat.Cholesky
	if !ch.Factorize(mat.NewSymDense(dim, append([]float64(nil), a...))) {
		return nil, 0, errors.New("not positive definite")
	}
	var l mat.TriDense
	ch.LTo(&l)
	out := make([]float64, dim*dim)
	for i := range dim {
		for j := 0; j <= i; j++ {
			out[i*dim+j] = l.At(i, j)
		}
	}
	return out, ch.LogDet(), nil
}

// eotQDQ returns Q diag(f(λ)) Qᵀ, row-major.
func eotQDQ(q *mat.Dense, lam []float64, f func(float64) float64) []float64 {
	dim := len(lam)
	d := make([]float64, dim)
	for i, l := range lam {
		d[i] = f(l)
	}
	out := make([]float64, dim*dim)
	for i := range dim {
		for j := 0; j <= i; j++ {
			s := 0.0
			for k := range dim {
				s += q.At(i, k) * d[k] * q.At(j, k)
			}
			out[i*dim+j], out[j*dim+i] = s, s
		}
	}
	return out
}

func eotMatVec(a, x []float64, dim int) []float64 {
	out := make([]float64, dim)
	for i := range dim {
		s := 0.0
		row := a[i*dim : (i+1)*dim]
		for j, v := range row {
			s += v * x[j]
		}
		out[i] = s
	}
	return out
}

// logPdf returns log N(x | mean, cov); buf has room for Dim values.
func (g *eotGauss) logPdf(x, buf []float64) float64 {
	dim := len(x)
	// Solve L z = x − mean by forward substitution: ‖z‖² is the Mahalanobis term.
	q := 0.0
	for i := range dim {
		s := x[i] - g.mean[i]
		row := g.chol[i*dim : i*dim+i]
		for j, l := range row {
			s -= l * buf[j]
		}
		buf[i] = s / g.chol[i*dim+i]
		q += buf[i] * buf[i]
	}
	return -0.5 * (q + g.logDet + float64(dim)*math.Log(2*math.Pi))
}

// sample writes mean + L z, z ~ N(0, I), into dst; buf has room for Dim values.
func eotSampleGauss(dst, mean, chol, buf []float64, r *rand.Rand) {
	dim := len(dst)
	for i := range buf[:dim] {
		buf[i] = r.NormFloat64()
	}
	for i := range dim {
		s := mean[i]
		for j, l := range chol[i*dim : i*dim+i+1] {
			s += l * buf[j]
		}
		dst[i] = s
	}
}

// eotPick draws an index with probabilities ∝ exp(logw).
func eotPick(logw []float64, r *rand.Rand) int {
	w := eotSoftmax(logw)
	u := r.Float64()
	for k, p := range w {
		u -= p
		if u < 0 {
			return k
		}
	}
	return len(w) - 1
}

// eotSoftmax normalises exp(logw) in place and returns it.
func eotSoftmax(logw []float64) []float64 {
	m := math.Inf(-1)
	for _, v := range logw {
		m = math.Max(m, v)
	}
	s := 0.0
	for i, v := range logw {
		logw[i] = math.Exp(v - m)
		s += logw[i]
	}
	for i := range logw {
		logw[i] /= s
	}
	return logw
}

func eotRows(n, dim int) [][]float64 {
	flat := make([]float64, n*dim)
	rows := make([][]float64, n)
	for i := range rows {
		rows[i] = flat[i*dim : (i+1)*dim : (i+1)*dim]
	}
	return rows
}

// SampleSource draws n points of P₀.
func (p *EOTPair) SampleSource(n int, r *rand.Rand) [][]float64 {
	rows := eotRows(n, p.Dim)
	logw := make([]float64, len(p.src))
	buf := make([]float64, p.Dim)
	for _, x := range rows {
		for k, c := range p.src {
			logw[k] = c.logW
		}
		c := &p.src[eotPick(logw, r)]
		eotSampleGauss(x, c.mean, c.chol, buf, r)
	}
	return rows
}

// ConditionalWeights returns w_k(x), the weights of the components of π*(·|x).
func (p *EOTPair) ConditionalWeights(x []float64) []float64 {
	return eotSoftmax(p.conditionalLogWeights(x, make([]float64, len(p.plan)), make([]float64, p.Dim)))
}

func (p *EOTPair) conditionalLogWeights(x, dst, buf []float64) []float64 {
	for k := range p.plan {
		c := &p.plan[k].marg
		dst[k] = c.logW + c.logPdf(x, buf)
	}
	return dst
}

// ConditionalMean returns the mean of component k of π*(·|x),
// Σ̃_k(Σ_k⁻¹μ_k + x/ε).
func (p *EOTPair) ConditionalMean(k int, x []float64) []float64 {
	c := &p.plan[k]
	m := eotMatVec(c.slope, x, p.Dim)
	for i := range m {
		m[i] += c.bias[i]
	}
	return m
}

// ConditionalCov returns the covariance Σ̃_k = (I/ε + Σ_k⁻¹)⁻¹ of component k
// of π*(·|x) (the same for every x), row-major.
func (p *EOTPair) ConditionalCov(k int) []float64 { return append([]float64(nil), p.plan[k].cov...) }

// ConditionalMoments returns the mean and covariance (row-major) of π*(·|x):
// m* = Σ_k w_k m_k and Σ* = Σ_k w_k Σ̃_k + Σ_k w_k (m_k − m*)(m_k − m*)ᵀ, the
// mean of the component covariances plus the covariance of the component means.
func (p *EOTPair) ConditionalMoments(x []float64) (mean, cov []float64) {
	d := p.Dim
	w := p.ConditionalWeights(x)
	means := make([][]float64, len(w))
	mean = make([]float64, d)
	for k, wk := range w {
		means[k] = p.ConditionalMean(k, x)
		for i, v := range means[k] {
			mean[i] += wk * v
		}
	}
	cov = make([]float64, d*d)
	for k, wk := range w {
		for i := range d {
			di := means[k][i] - mean[i]
			for j := range d {
				cov[i*d+j] += wk * (p.plan[k].cov[i*d+j] + di*(means[k][j]-mean[j]))
			}
		}
	}
	return mean, cov
}

// ConditionalLogPdf returns log π*(y|x), the log-density of the closed-form mixture.
func (p *EOTPair) ConditionalLogPdf(x, y []float64) float64 {
	buf := make([]float64, p.Dim)
	logw := normalizeLogProbs(p.conditionalLogWeights(x, make([]float64, len(p.plan)), buf))
	terms := make([]float64, len(p.plan))
	for k := range p.plan {
		g := eotGauss{mean: p.ConditionalMean(k, x), chol: p.plan[k].chol}
		for i := range p.Dim {
			g.logDet += 2 * math.Log(g.chol[i*p.Dim+i])
		}
		terms[k] = logw[k] + g.logPdf(y, buf)
	}
	return logSumExp(terms)
}

// SourceLogPdf returns log P₀(x).
func (p *EOTPair) SourceLogPdf(x []float64) float64 {
	buf := make([]float64, p.Dim)
	terms := make([]float64, len(p.src))
	for k := range p.src {
		terms[k] = p.src[k].logW + p.src[k].logPdf(x, buf)
	}
	return logSumExp(terms)
}

// SampleConditional draws n points of π*(·|x).
func (p *EOTPair) SampleConditional(x []float64, n int, r *rand.Rand) [][]float64 {
	rows := eotRows(n, p.Dim)
	logw := p.conditionalLogWeights(x, make([]float64, len(p.plan)), make([]float64, p.Dim))
	means := make([][]float64, len(p.plan))
	buf := make([]float64, p.Dim)
	w := make([]float64, len(logw))
	for _, y := range rows {
		copy(w, logw)
		k := eotPick(w, r)
		if means[k] == nil {
			means[k] = p.ConditionalMean(k, x)
		}
		eotSampleGauss(y, means[k], p.plan[k].chol, buf, r)
	}
	return rows
}

// SampleTarget draws n points of P₁ (x from P₀, then y from π*(·|x)); it
// also returns the x of each y, which makes (x, y) a draw of the plan π*.
func (p *EOTPair) SampleTarget(n int, r *rand.Rand) (y, x [][]float64) {
	x = p.SampleSource(n, r)
	y = eotRows(n, p.Dim)
	logw := make([]float64, len(p.plan))
	buf := make([]float64, p.Dim)
	for i, xi := range x {
		k := eotPick(p.conditionalLogWeights(xi, logw, buf), r)
		eotSampleGauss(y[i], p.ConditionalMean(k, xi), p.plan[k].chol, buf, r)
	}
	return y, x
}

// TargetMoments estimates the mean and covariance (row-major) of P₁ from n
// draws of P₀ by the law of total covariance, E_x Σ*(x) + Cov_x m*(x): no
// sampling noise from y given x. The covariance of the means has divisor n − 1.
func (p *EOTPair) TargetMoments(n int, r *rand.Rand) (mean, cov []float64) {
	d := p.Dim
	xs := p.SampleSource(n, r)
	nf := float64(n)
	mean = make([]float64, d)
	means := make([][]float64, n)
	within := make([]float64, d*d)
	for i, x := range xs {
		m, c := p.ConditionalMoments(x)
		means[i] = m
		for j, v := range m {
			mean[j] += v / nf
		}
		for j, v := range c {
			within[j] += v / nf
		}
	}
	cov = within
	for _, m := range means {
		for i := range d {
			di := (m[i] - mean[i]) / math.Max(nf-1, 1)
			for j := range d {
				cov[i*d+j] += di * (m[j] - mean[j])
			}
		}
	}
	return mean, cov
}

// EOTConfig configures GenerateEOT.
type EOTConfig struct {
	Dim     int     // dimension D ≥ 1
	Epsilon float64 // the plan's ε > 0 (the bridge's noise variance)
	// SourceComponents is the number of components of P₀ (≥ 1). With 1, P₀ =
	// N(0, I); with more, equal weights, means ~ N(0, I), covariances 0.1·I.
	SourceComponents int
	// PotentialComponents is the number of components of g (≥ 1): equal
	// weights, means ~ N(0, I), covariances Q diag(λ) Qᵀ with λ ~ U(0.1, 1)
	// and Q a uniformly random rotation (or Q = I when Diagonal).
	PotentialComponents int
	Diagonal            bool
}

// The presets of GenerateEOT used by the sb.light plugin.

// EOTGaussianConfig is a Gaussian-to-Gaussian pair: P₀ = N(0, I) and g one
// Gaussian with a diagonal covariance, so π*(·|x) is Gaussian and LightSB's
// model family (diagonal S) contains the true plan.
func EOTGaussianConfig(dim int, epsilon float64) EOTConfig {
	return EOTConfig{Dim: dim, Epsilon: epsilon, SourceComponents: 1, PotentialComponents: 1, Diagonal: true}
}

// EOTMixtureConfig is in the style of the benchmark's Gaussian-mixture
// pairs: P₀ a mixture of 3 Gaussians and g a mixture of 5 Gaussians with
// diagonal covariances, so that each component of π*(·|x) has a diagonal
// covariance and LightSB's family (diagonal S, K ≥ 5) contains the plan.
// The parameters are drawn here, not the benchmark's published ones (which
// are a download), so numbers are comparable in kind, not digit for digit.
// With rotated, the potential's covariances are randomly rotated: the plan
// then leaves the diagonal family, and the fit measures that misspecification too.
func EOTMixtureConfig(dim int, epsilon float64, rotated bool) EOTConfig {
	return EOTConfig{Dim: dim, Epsilon: epsilon, SourceComponents: 3, PotentialComponents: 5, Diagonal: !rotated}
}

// GenerateEOT draws a pair with a known EOT plan as cfg describes, from r.
func GenerateEOT(cfg EOTConfig, r *rand.Rand) (*EOTPair, error) {
	switch {
	case cfg.Dim < 1:
		return nil, fmt.Errorf("datasets: eot: dimension must be ≥ 1, got %d", cfg.Dim)
	case cfg.SourceComponents < 1 || cfg.PotentialComponents < 1:
		return nil, fmt.Errorf("datasets: eot: want ≥ 1 source and potential component, got %d and %d", cfg.SourceComponents, cfg.PotentialComponents)
	}
	d := cfg.Dim
	normal := func() []float64 {
		v := make([]float64, d)
		for i := range v {
			v[i] = r.NormFloat64()
		}
		return v
	}
	scaledIdentity := func(s float64) []float64 {
		c := make([]float64, d*d)
		for i := range d {
			c[i*d+i] = s
		}
		return c
	}
	var src GaussianMixture
	if cfg.SourceComponents == 1 {
		src = GaussianMixture{Weights: []float64{1}, Means: [][]float64{make([]float64, d)}, Covs: [][]float64{scaledIdentity(1)}}
	} else {
		for range cfg.SourceComponents {
			src.Weights = append(src.Weights, 1)
			src.Means = append(src.Means, normal())
			src.Covs = append(src.Covs, scaledIdentity(0.1))
		}
	}
	var pot GaussianMixture
	for range cfg.PotentialComponents {
		pot.Weights = append(pot.Weights, 1)
		pot.Means = append(pot.Means, normal())
		lam := make([]float64, d)
		for i := range lam {
			lam[i] = 0.1 + 0.9*r.Float64()
		}
		if cfg.Diagonal {
			c := make([]float64, d*d)
			for i, l := range lam {
				c[i*d+i] = l
			}
			pot.Covs = append(pot.Covs, c)
			continue
		}
		q := eotRotation(d, r)
		pot.Covs = append(pot.Covs, eotQDQ(q, lam, func(l float64) float64 { return l }))
	}
	return NewEOTPair(src, pot, cfg.Epsilon)
}

// eotRotation returns a Haar-random orthogonal matrix: the Q of the QR
// factorisation of a Gaussian matrix, with column signs fixed by diag(R) > 0.
func eotRotation(d int, r *rand.Rand) *mat.Dense {
	g := mat.NewDense(d, d, nil)
	for i := range d {
		for j := range d {
			g.Set(i, j, r.NormFloat64())
		}
	}
	var qr mat.QR
	qr.Factorize(g)
	var q, rr mat.Dense
	qr.QTo(&q)
	qr.RTo(&rr)
	for j := range d {
		if rr.At(j, j) < 0 {
			for i := range d {
				q.Set(i, j, -q.At(i, j))
			}
		}
	}
	return &q
}
