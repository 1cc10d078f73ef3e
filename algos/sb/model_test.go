package sb

import (
	"math"
	"math/rand/v2"
	"testing"
)

// testModel returns a model with K components in dimension d and
// parameters drawn from r (means N(0, 1), S in [0.2, 1.5], α unnormalised).
func testModel(k, d int, eps float64, r *rand.Rand) *Model {
	m := &Model{Epsilon: eps}
	for range k {
		m.LogAlpha = append(m.LogAlpha, r.NormFloat64())
		rk, ls := make([]float64, d), make([]float64, d)
		for j := range d {
			rk[j] = r.NormFloat64()
			ls[j] = math.Log(0.2 + 1.3*r.Float64())
		}
		m.R = append(m.R, rk)
		m.LogS = append(m.LogS, ls)
	}
	return m
}

// normalPdf is the 1-D normal density, written out.
func normalPdf(y, mean, variance float64) float64 {
	return math.Exp(-(y-mean)*(y-mean)/(2*variance)) / math.Sqrt(2*math.Pi*variance)
}

// vDirect evaluates v(y) = Σ_k α_k Π_j N(y_j | r_kj, ε s_kj) term by term, without logs.
func vDirect(m *Model, y []float64) float64 {
	v := 0.0
	for k := range m.K() {
		p := math.Exp(m.LogAlpha[k])
		for j, yj := range y {
			p *= normalPdf(yj, m.R[k][j], m.Epsilon*math.Exp(m.LogS[k][j]))
		}
		v += p
	}
	return v
}

// TestLogVDirect checks log v against the product of normal densities.
func TestLogVDirect(t *testing.T) {
	const tol = 1e-12
	r := rand.New(rand.NewPCG(1, 1))
	for _, eps := range []float64{0.1, 1, 10} {
		m := testModel(4, 3, eps, r)
		for range 5 {
			y := []float64{r.NormFloat64(), r.NormFloat64(), r.NormFloat64()}
			want := math.Log(vDirect(m, y))
			if got := m.LogV(y); math.Abs(got-want) > tol*math.Max(1, math.Abs(want)) {
				t.Errorf("ε=%v: log v(%v) = %.15g, want %.15g", eps, y, got, want)
			}
		}
	}
}

// TestLogCQuadrature checks the closed form of c(x) = ∫ exp(⟨x, y⟩/ε) v(y) dy
// against the integral by the trapezoid rule, in 1-D.
func TestLogCQuadrature(t *testing.T) {
	const tol = 1e-8
	r := rand.New(rand.NewPCG(2, 2))
	for _, eps := range []float64{0.3, 1, 10} {
		m := testModel(3, 1, eps, r)
		for _, x := range []float64{-1.5, 0, 0.7} {
			const lo, hi, h = -40.0, 40.0, 2e-3
			integral := 0.0
			for y := lo; y <= hi; y += h {
				integral += math.Exp(x*y/eps) * vDirect(m, []float64{y}) * h
			}
			if got, want := m.LogC([]float64{x}), math.Log(integral); math.Abs(got-want) > tol {
				t.Errorf("ε=%v x=%v: log c = %.12g, want %.12g", eps, x, got, want)
			}
			// The learned plan's density integrates to one.
			mass := 0.0
			for y := lo; y <= hi; y += h {
				mass += math.Exp(m.PlanLogPdf([]float64{x}, []float64{y})) * h
			}
			if math.Abs(mass-1) > tol {
				t.Errorf("ε=%v x=%v: ∫ π_θ(y|x) dy = %.12g, want 1", eps, x, mass)
			}
		}
	}
}

// TestPlanMean checks the closed-form conditional mean against the sum
// written out and against the mean of plan samples.
func TestPlanMean(t *testing.T) {
	const n, bands, tol = 40000, 5.0, 1e-12
	r := rand.New(rand.NewPCG(3, 3))
	for _, eps := range []float64{0.1, 1, 10} {
		m := testModel(5, 3, eps, r)
		x := []float64{0.4, -0.8, 0.1}
		// w_k ∝ α_k exp((xᵀS_k x + 2 r_kᵀx)/(2ε)), written out.
		w := make([]float64, m.K())
		z := 0.0
		for k := range w {
			q := 0.0
			for j, xj := range x {
				q += math.Exp(m.LogS[k][j])*xj*xj + 2*m.R[k][j]*xj
			}
			w[k] = math.Exp(m.LogAlpha[k] + q/(2*eps))
			z += w[k]
		}
		want := make([]float64, 3)
		for k := range w {
			for j, xj := range x {
				want[j] += w[k] / z * (m.R[k][j] + math.Exp(m.LogS[k][j])*xj)
			}
		}
		mean, cov := m.PlanMoments(x)
		got := m.PlanMean(x)
		for j := range want {
			if math.Abs(got[j]-want[j]) > tol || math.Abs(mean[j]-want[j]) > tol {
				t.Errorf("ε=%v: mean[%d] = %v (moments %v), want %v", eps, j, got[j], mean[j], want[j])
			}
		}
		ys := m.SamplePlan(x, n, r)
		sm, sc := GaussianFit(ys)
		for j := range want {
			if se := math.Sqrt(cov[j*3+j] / n); math.Abs(sm[j]-want[j]) > bands*se {
				t.Errorf("ε=%v: sample mean[%d] = %.5g, want %.5g ± %.2g", eps, j, sm[j], want[j], bands*se)
			}
			for i := range 3 {
				se := math.Sqrt((cov[i*3+i]*cov[j*3+j] + cov[i*3+j]*cov[i*3+j]) / n)
				if math.Abs(sc[i*3+j]-cov[i*3+j]) > bands*se {
					t.Errorf("ε=%v: sample cov[%d][%d] = %.5g, want %.5g ± %.2g", eps, i, j, sc[i*3+j], cov[i*3+j], bands*se)
				}
			}
		}
	}
}

// TestDrift checks the closed-form drift against ε d/dx log h(x, t), with
// h(x, t) = ∫ N(x' | x, (1−t)ε) exp(x'²/(2ε)) v(x') dx' by quadrature and
// the derivative by central differences, in 1-D. At t = 0 the drift is
// E_θ[y|x] − x.
func TestDrift(t *testing.T) {
	const tol = 1e-5
	r := rand.New(rand.NewPCG(4, 4))
	for _, eps := range []float64{0.5, 1, 4} {
		m := testModel(3, 1, eps, r)
		logH := func(x, tt float64) float64 {
			const lo, hi, h = -30.0, 30.0, 2e-3
			s := 0.0
			for y := lo; y <= hi; y += h {
				s += normalPdf(y, x, (1-tt)*eps) * math.Exp(y*y/(2*eps)) * vDirect(m, []float64{y}) * h
			}
			return math.Log(s)
		}
		for _, tt := range []float64{0, 0.3, 0.8} {
			for _, x := range []float64{-1, 1.3} {
				const dx = 1e-4
				want := eps * (logH(x+dx, tt) - logH(x-dx, tt)) / (2 * dx)
				if got := m.Drift([]float64{x}, tt)[0]; math.Abs(got-want) > tol*math.Max(1, math.Abs(want)) {
					t.Errorf("ε=%v t=%v x=%v: drift %.8g, want %.8g", eps, tt, x, got, want)
				}
			}
		}
	}
	m := testModel(4, 2, 0.7, r)
	x := []float64{0.3, -0.5}
	g, mean := m.Drift(x, 0), m.PlanMean(x)
	for j := range x {
		if math.Abs(g[j]-(mean[j]-x[j])) > 1e-12 {
			t.Errorf("t=0: drift[%d] = %v, want E[y|x] − x = %v", j, g[j], mean[j]-x[j])
		}
	}
}

// TestSDEEndpoints checks that the Euler–Maruyama bridge ends where the
// plan puts y: the endpoints' mean and covariance match π_θ(·|x) within 5
// standard errors plus the discretisation bias allowance.
func TestSDEEndpoints(t *testing.T) {
	const n, steps, bands, bias = 4000, 200, 5.0, 0.02
	r := rand.New(rand.NewPCG(5, 5))
	m := testModel(4, 2, 1, r)
	x := []float64{0.5, -0.2}
	mean, cov := m.PlanMoments(x)
	ends := make([][]float64, n)
	for i := range ends {
		path := m.SampleSDE(x, steps, r)
		if len(path) != steps+1 || path[0][0] != x[0] {
			t.Fatalf("path has %d states starting at %v", len(path), path[0])
		}
		ends[i] = path[steps]
	}
	sm, sc := GaussianFit(ends)
	for j := range 2 {
		if se := math.Sqrt(cov[j*2+j] / n); math.Abs(sm[j]-mean[j]) > bands*se+bias {
			t.Errorf("endpoint mean[%d] = %.4g, want %.4g ± %.2g", j, sm[j], mean[j], bands*se+bias)
		}
		se := math.Sqrt(2 * cov[j*2+j] * cov[j*2+j] / n)
		if math.Abs(sc[j*2+j]-cov[j*2+j]) > bands*se+bias {
			t.Errorf("endpoint var[%d] = %.4g, want %.4g ± %.2g", j, sc[j*2+j], cov[j*2+j], bands*se+bias)
		}
	}
}

func TestModelCheck(t *testing.T) {
	good := testModel(2, 2, 1, rand.New(rand.NewPCG(6, 6)))
	if err := good.Check(); err != nil {
		t.Fatal(err)
	}
	bad := good.Clone()
	bad.LogS[1] = bad.LogS[1][:1]
	if err := bad.Check(); err == nil || err.Error() != "sb: component 1 has 2 means and 1 log-diagonals, want 2" {
		t.Errorf("got %v", err)
	}
	bad = good.Clone()
	bad.Epsilon = 0
	if err := bad.Check(); err == nil || err.Error() != "sb: epsilon must be finite and > 0, got 0" {
		t.Errorf("got %v", err)
	}
}
