package sb

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Model is a LightSB potential with diagonal S_k, in plain float64:
//
//	v(y) = Σ_k α_k N(y | r_k, εS_k),   α_k = exp(LogAlpha[k]),   S_k = diag(exp(LogS[k])).
//
// The weights need not sum to one: the loss and the plan are invariant to
// scaling all α_k. Every method evaluates the formulas term by term; they
// are the reference for the GoMLX training graph and the sampler of the
// learned plan.
type Model struct {
	Epsilon  float64
	LogAlpha []float64   // K
	R        [][]float64 // K × D
	LogS     [][]float64 // K × D
}

// K returns the number of components.
func (m *Model) K() int { return len(m.LogAlpha) }

// Dim returns the dimension D.
func (m *Model) Dim() int {
	if len(m.R) == 0 {
		return 0
	}
	return len(m.R[0])
}

// Check reports a malformed model: ε not > 0, no components, ragged or
// non-finite parameters.
func (m *Model) Check() error {
	if !(m.Epsilon > 0) || math.IsInf(m.Epsilon, 1) {
		return fmt.Errorf("sb: epsilon must be finite and > 0, got %v", m.Epsilon)
	}
	k, d := m.K(), m.Dim()
	if k == 0 || d == 0 || len(m.R) != k || len(m.LogS) != k {
		return fmt.Errorf("sb: model needs K ≥ 1 components of dimension ≥ 1 (log_alpha %d, r %d, log_s %d)", k, len(m.R), len(m.LogS))
	}
	for i := range k {
		if len(m.R[i]) != d || len(m.LogS[i]) != d {
			return fmt.Errorf("sb: component %d has %d means and %d log-diagonals, want %d", i, len(m.R[i]), len(m.LogS[i]), d)
		}
		if !finite(m.LogAlpha[i]) {
			return fmt.Errorf("sb: component %d: log_alpha is %v", i, m.LogAlpha[i])
		}
		for j := range d {
			if !finite(m.R[i][j]) || !finite(m.LogS[i][j]) {
				return fmt.Errorf("sb: component %d: parameters are not finite", i)
			}
		}
	}
	return nil
}

// Clone returns a deep copy of m.
func (m *Model) Clone() *Model {
	c := &Model{Epsilon: m.Epsilon, LogAlpha: append([]float64(nil), m.LogAlpha...)}
	for k := range m.R {
		c.R = append(c.R, append([]float64(nil), m.R[k]...))
		c.LogS = append(c.LogS, append([]float64(nil), m.LogS[k]...))
	}
	return c
}

// InitModel returns LightSB's initial model: α_k = 1/K, r_k = the K given
// target points, S_k = sInit·I.
func InitModel(epsilon float64, targets [][]float64, sInit float64) (*Model, error) {
	if len(targets) == 0 {
		return nil, errors.New("sb: no target points to initialise the means")
	}
	if !(sInit > 0) {
		return nil, fmt.Errorf("sb: initial S must be > 0, got %v", sInit)
	}
	k := len(targets)
	m := &Model{Epsilon: epsilon, LogAlpha: make([]float64, k)}
	for i, y := range targets {
		m.LogAlpha[i] = -math.Log(float64(k))
		m.R = append(m.R, append([]float64(nil), y...))
		ls := make([]float64, len(y))
		for j := range ls {
			ls[j] = math.Log(sInit)
		}
		m.LogS = append(m.LogS, ls)
	}
	return m, m.Check()
}

// cLogits returns log α_k + (xᵀS_k x + 2 r_kᵀx)/(2ε) for each k, the terms
// of log c(x) and the unnormalised log-weights of the plan's components.
func (m *Model) cLogits(x []float64, dst []float64) []float64 {
	for k := range m.LogAlpha {
		q := 0.0
		for j, xj := range x {
			q += math.Exp(m.LogS[k][j])*xj*xj + 2*m.R[k][j]*xj
		}
		dst[k] = m.LogAlpha[k] + q/(2*m.Epsilon)
	}
	return dst
}

// LogC returns log c(x) = log Σ_k α_k exp((xᵀS_k x + 2 r_kᵀx)/(2ε)),
// where c(x) = ∫ exp(⟨x, y⟩/ε) v(y) dy.
func (m *Model) LogC(x []float64) float64 {
	return logSumExp(m.cLogits(x, make([]float64, m.K())))
}

// LogV returns log v(y) = log Σ_k α_k N(y | r_k, εS_k).
func (m *Model) LogV(y []float64) float64 {
	terms := make([]float64, m.K())
	for k := range terms {
		lp := m.LogAlpha[k]
		for j, yj := range y {
			v := m.Epsilon * math.Exp(m.LogS[k][j])
			d := yj - m.R[k][j]
			lp -= 0.5 * (d*d/v + math.Log(2*math.Pi*v))
		}
		terms[k] = lp
	}
	return logSumExp(terms)
}

// Loss returns the LightSB objective on samples of the two marginals,
// mean_i log c(x0_i) − mean_j log v(x1_j), which is KL(π*‖π_θ) up to a
// constant that does not depend on θ.
func (m *Model) Loss(x0, x1 [][]float64) float64 {
	a, b := 0.0, 0.0
	for _, x := range x0 {
		a += m.LogC(x)
	}
	for _, y := range x1 {
		b += m.LogV(y)
	}
	return a/float64(len(x0)) - b/float64(len(x1))
}

// PlanLogPdf returns log π_θ(y|x) = ⟨x, y⟩/ε + log v(y) − log c(x).
func (m *Model) PlanLogPdf(x, y []float64) float64 {
	dot := 0.0
	for j := range x {
		dot += x[j] * y[j]
	}
	return dot/m.Epsilon + m.LogV(y) - m.LogC(x)
}

// PlanWeights returns w_k(x) ∝ α_k exp((xᵀS_k x + 2 r_kᵀx)/(2ε)), the
// weights of the components N(r_k + S_k x, εS_k) of π_θ(·|x).
func (m *Model) PlanWeights(x []float64) []float64 {
	return softmax(m.cLogits(x, make([]float64, m.K())))
}

// PlanMean returns the mean of π_θ(·|x), Σ_k w_k(x)(r_k + S_k x).
func (m *Model) PlanMean(x []float64) []float64 {
	mean, _ := m.planMoments(x, false)
	return mean
}

// PlanMoments returns the mean and covariance (D×D, row-major) of π_θ(·|x):
// Σ_k w_k εS_k plus the covariance of the component means r_k + S_k x.
func (m *Model) PlanMoments(x []float64) (mean, cov []float64) { return m.planMoments(x, true) }

func (m *Model) planMoments(x []float64, withCov bool) (mean, cov []float64) {
	d := m.Dim()
	w := m.PlanWeights(x)
	means := make([][]float64, len(w))
	mean = make([]float64, d)
	for k, wk := range w {
		means[k] = m.componentMean(k, x, nil)
		for j, v := range means[k] {
			mean[j] += wk * v
		}
	}
	if !withCov {
		return mean, nil
	}
	cov = make([]float64, d*d)
	for k, wk := range w {
		if wk == 0 {
			continue
		}
		for i := range d {
			di := means[k][i] - mean[i]
			cov[i*d+i] += wk * m.Epsilon * math.Exp(m.LogS[k][i])
			for j := range d {
				cov[i*d+j] += wk * di * (means[k][j] - mean[j])
			}
		}
	}
	return mean, cov
}

// componentMean writes r_k + S_k x into dst (allocated when nil).
func (m *Model) componentMean(k int, x, dst []float64) []float64 {
	if dst == nil {
		dst = make([]float64, len(x))
	}
	for j, xj := range x {
		dst[j] = m.R[k][j] + math.Exp(m.LogS[k][j])*xj
	}
	return dst
}

// SamplePlan draws n points of π_θ(·|x) = Σ_k w_k(x) N(r_k + S_k x, εS_k).
func (m *Model) SamplePlan(x []float64, n int, r *rand.Rand) [][]float64 {
	d := m.Dim()
	w := m.PlanWeights(x)
	cum := cumulative(w)
	flat := make([]float64, n*d)
	out := make([][]float64, n)
	for i := range out {
		y := flat[i*d : (i+1)*d : (i+1)*d]
		k := pick(cum, r.Float64())
		for j, xj := range x {
			s := math.Exp(m.LogS[k][j])
			y[j] = m.R[k][j] + s*xj + math.Sqrt(m.Epsilon*s)*r.NormFloat64()
		}
		out[i] = y
	}
	return out
}

// Drift returns the drift of the learned Schrödinger bridge at (x, t),
// t ∈ [0, 1): g(x, t) = ε∇_x log ∫ N(x' | x, (1−t)εI) exp(‖x'‖²/(2ε)) v(x') dx',
// which for diagonal S_k is
//
//	g = (Σ_k p_k(x, t) (S_k x + (1−t) r_k)/(t S_k + (1−t)) − x)/(1 − t)
//
// (per coordinate), p = softmax_k[log α_k − ½ log|S_k| − ½ log|A_k| −
// ½ r_kᵀ(εS_k)⁻¹r_k + ½ c_kᵀA_k⁻¹c_k], A_k = t/(ε(1−t)) I + (εS_k)⁻¹,
// c_k = x/(ε(1−t)) + (εS_k)⁻¹r_k. At t = 0, p = w(x) and g = E_θ[y|x] − x.
func (m *Model) Drift(x []float64, t float64) []float64 {
	return m.drift(x, t, make([]float64, m.K()), make([]float64, len(x)))
}

func (m *Model) drift(x []float64, t float64, logits, dst []float64) []float64 {
	eps, u := m.Epsilon, 1-t
	for k := range m.LogAlpha {
		l := m.LogAlpha[k]
		for j, xj := range x {
			s := math.Exp(m.LogS[k][j])
			a := t/(eps*u) + 1/(eps*s)
			c := xj/(eps*u) + m.R[k][j]/(eps*s)
			l += -0.5*m.LogS[k][j] - 0.5*math.Log(a) - 0.5*m.R[k][j]*m.R[k][j]/(eps*s) + 0.5*c*c/a
		}
		logits[k] = l
	}
	p := softmax(logits)
	for j := range dst {
		dst[j] = -x[j]
	}
	for k, pk := range p {
		if pk == 0 {
			continue
		}
		for j, xj := range x {
			s := math.Exp(m.LogS[k][j])
			dst[j] += pk * (s*xj + u*m.R[k][j]) / (t*s + u)
		}
	}
	for j := range dst {
		dst[j] /= u
	}
	return dst
}

// SampleSDE simulates the learned bridge from x with steps Euler–Maruyama
// steps of size dt = 1/steps, X ← X + g(X, t) dt + √(ε dt) z, and returns
// the steps+1 states X(0) = x, X(dt), …, X(1). The drift is only evaluated
// at t < 1.
func (m *Model) SampleSDE(x []float64, steps int, r *rand.Rand) [][]float64 {
	d := m.Dim()
	dt := 1 / float64(steps)
	noise := math.Sqrt(m.Epsilon * dt)
	path := make([][]float64, steps+1)
	path[0] = append([]float64(nil), x...)
	logits, g := make([]float64, m.K()), make([]float64, d)
	for n := range steps {
		cur := path[n]
		m.drift(cur, float64(n)*dt, logits, g)
		next := make([]float64, d)
		for j := range next {
			next[j] = cur[j] + g[j]*dt + noise*r.NormFloat64()
		}
		path[n+1] = next
	}
	return path
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func logSumExp(v []float64) float64 {
	mx := math.Inf(-1)
	for _, x := range v {
		mx = math.Max(mx, x)
	}
	if math.IsInf(mx, 0) {
		return mx
	}
	s := 0.0
	for _, x := range v {
		s += math.Exp(x - mx)
	}
	return mx + math.Log(s)
}

// softmax normalises exp(v) in place and returns v.
func softmax(v []float64) []float64 {
	z := logSumExp(v)
	for i := range v {
		v[i] = math.Exp(v[i] - z)
	}
	return v
}

func cumulative(w []float64) []float64 {
	c := make([]float64, len(w))
	s := 0.0
	for i, v := range w {
		s += v
		c[i] = s
	}
	return c
}

// pick returns the first index whose cumulative weight exceeds u·total.
func pick(cum []float64, u float64) int {
	u *= cum[len(cum)-1]
	lo, hi := 0, len(cum)-1
	for lo < hi {
		mid := (lo + hi) / 2
		if cum[mid] > u {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}
