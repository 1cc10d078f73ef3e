package datasets

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// oneDimPair is a 1-D pair with a two-component potential, small enough to
// check by quadrature.
func oneDimPair(t *testing.T, eps float64) *EOTPair {
	t.Helper()
	p, err := NewEOTPair(
		GaussianMixture{Weights: []float64{1}, Means: [][]float64{{0}}, Covs: [][]float64{{1}}},
		GaussianMixture{Weights: []float64{0.3, 0.7}, Means: [][]float64{{-1.5}, {2}}, Covs: [][]float64{{0.4}, {1.3}}},
		eps)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestEOTPlanQuadrature checks the closed-form conditional plan against
// N(y | x, ε)·g(y) normalised numerically on a fine grid.
func TestEOTPlanQuadrature(t *testing.T) {
	const tol = 1e-7 // trapezoid rule with h = 1e-3 on a smooth, fast-decaying density
	for _, eps := range []float64{0.1, 1, 10} {
		p := oneDimPair(t, eps)
		g := func(y float64) float64 {
			s := 0.0
			for k, w := range p.Potential.Weights {
				m, v := p.Potential.Means[k][0], p.Potential.Covs[k][0]
				s += w * math.Exp(-(y-m)*(y-m)/(2*v)) / math.Sqrt(2*math.Pi*v)
			}
			return s
		}
		for _, x := range []float64{-2, 0.3, 2.5} {
			const lo, hi, h = -30.0, 30.0, 1e-3
			var z, m1, m2 float64
			for y := lo; y <= hi; y += h {
				d := math.Exp(-(y-x)*(y-x)/(2*eps)) * g(y)
				z += d
				m1 += d * y
				m2 += d * y * y
			}
			mean := m1 / z
			variance := m2/z - mean*mean
			gotMean, gotCov := p.ConditionalMoments([]float64{x})
			if math.Abs(gotMean[0]-mean) > tol || math.Abs(gotCov[0]-variance) > tol {
				t.Errorf("ε=%v x=%v: got mean %.9g var %.9g, want %.9g %.9g", eps, x, gotMean[0], gotCov[0], mean, variance)
			}
			for _, y := range []float64{-1, 0.5, 3} {
				want := math.Log(math.Exp(-(y-x)*(y-x)/(2*eps)) * g(y) / (z * h))
				if got := p.ConditionalLogPdf([]float64{x}, []float64{y}); math.Abs(got-want) > tol {
					t.Errorf("ε=%v x=%v y=%v: log π*(y|x) got %.9g, want %.9g", eps, x, y, got, want)
				}
			}
		}
	}
}

// TestEOTPlanFactorises checks that the plan is an EOT plan for the
// convention of the package doc: log π*(x, y) + ‖x − y‖²/(2ε) is a sum
// f(x) + g(y), so its mixed difference over two x and two y vanishes. With
// ‖x − y‖²/(4ε) (the other common convention) it does not.
func TestEOTPlanFactorises(t *testing.T) {
	const tol = 1e-9
	r := rand.New(rand.NewPCG(7, 7))
	p, err := GenerateEOT(EOTMixtureConfig(3, 0.5, true), r)
	if err != nil {
		t.Fatal(err)
	}
	logPlan := func(x, y []float64, costScale float64) float64 {
		d := 0.0
		for i := range x {
			d += (x[i] - y[i]) * (x[i] - y[i])
		}
		return p.SourceLogPdf(x) + p.ConditionalLogPdf(x, y) + costScale*d/p.Epsilon
	}
	for trial := range 5 {
		xs := p.SampleSource(2, r)
		ys, _ := p.SampleTarget(2, r)
		mixed := func(scale float64) float64 {
			return logPlan(xs[0], ys[0], scale) + logPlan(xs[1], ys[1], scale) - logPlan(xs[0], ys[1], scale) - logPlan(xs[1], ys[0], scale)
		}
		if got := mixed(0.5); math.Abs(got) > tol {
			t.Errorf("trial %d: mixed difference with ‖x−y‖²/(2ε): got %g, want 0", trial, got)
		}
		if got := mixed(0.25); math.Abs(got) < 1e-3 {
			t.Errorf("trial %d: mixed difference with ‖x−y‖²/(4ε): got %g, want clearly nonzero", trial, got)
		}
	}
}

// TestEOTConditionalSamples checks that draws of π*(·|x) have the mean and
// covariance ConditionalMoments states, within 5 standard errors.
func TestEOTConditionalSamples(t *testing.T) {
	const n, bands = 40000, 5.0
	r := rand.New(rand.NewPCG(3, 1))
	for _, eps := range []float64{0.1, 1, 10} {
		p, err := GenerateEOT(EOTMixtureConfig(3, eps, true), r)
		if err != nil {
			t.Fatal(err)
		}
		d := p.Dim
		for _, x := range p.SampleSource(3, r) {
			mean, cov := p.ConditionalMoments(x)
			ys := p.SampleConditional(x, n, r)
			m, c := sampleMoments(ys)
			for i := range d {
				if se := math.Sqrt(cov[i*d+i] / n); math.Abs(m[i]-mean[i]) > bands*se {
					t.Errorf("ε=%v: mean[%d] got %.5g, want %.5g ± %.2g", eps, i, m[i], mean[i], bands*se)
				}
				for j := range d {
					// The Gaussian standard error of a covariance entry; the
					// mixture's heavier tails are covered by the 5-band.
					se := math.Sqrt((cov[i*d+i]*cov[j*d+j] + cov[i*d+j]*cov[i*d+j]) / n)
					if math.Abs(c[i*d+j]-cov[i*d+j]) > bands*se {
						t.Errorf("ε=%v: cov[%d][%d] got %.5g, want %.5g ± %.2g", eps, i, j, c[i*d+j], cov[i*d+j], bands*se)
					}
				}
			}
		}
	}
}

func sampleMoments(ys [][]float64) (mean, cov []float64) {
	d := len(ys[0])
	n := float64(len(ys))
	mean = make([]float64, d)
	for _, y := range ys {
		for i, v := range y {
			mean[i] += v / n
		}
	}
	cov = make([]float64, d*d)
	for _, y := range ys {
		for i := range d {
			for j := range d {
				cov[i*d+j] += (y[i] - mean[i]) * (y[j] - mean[j]) / (n - 1)
			}
		}
	}
	return mean, cov
}

// TestEOTTargetMoments compares the law-of-total-covariance estimate with the
// moments of plain draws of P₁.
func TestEOTTargetMoments(t *testing.T) {
	const n, relTol = 40000, 0.03
	r := rand.New(rand.NewPCG(5, 5))
	p, err := GenerateEOT(EOTMixtureConfig(4, 1, true), r)
	if err != nil {
		t.Fatal(err)
	}
	ys, _ := p.SampleTarget(n, r)
	wantMean, wantCov := sampleMoments(ys)
	mean, cov := p.TargetMoments(n, r)
	d := p.Dim
	total := 0.0
	for i := range d {
		total += wantCov[i*d+i]
	}
	// Tolerances relative to the total variance: covariance entries and
	// mean coordinates alike.
	for i := range d {
		if math.Abs(mean[i]-wantMean[i]) > relTol*math.Sqrt(total) {
			t.Errorf("mean[%d]: got %.4g, want %.4g", i, mean[i], wantMean[i])
		}
		for j := range d {
			if math.Abs(cov[i*d+j]-wantCov[i*d+j]) > relTol*total/float64(d) {
				t.Errorf("cov[%d][%d]: got %.4g, want %.4g", i, j, cov[i*d+j], wantCov[i*d+j])
			}
		}
	}
}

// TestEOTGaussianPlan checks the Gaussian preset against the closed form of
// a single Gaussian potential: y|x ~ N(Σ̃(Σ⁻¹μ + x/ε), Σ̃), Σ̃ = (I/ε + Σ⁻¹)⁻¹.
func TestEOTGaussianPlan(t *testing.T) {
	const tol = 1e-12
	r := rand.New(rand.NewPCG(1, 2))
	p, err := GenerateEOT(EOTGaussianConfig(3, 0.7), r)
	if err != nil {
		t.Fatal(err)
	}
	d, eps := p.Dim, p.Epsilon
	x := []float64{0.3, -1, 2}
	mean, cov := p.ConditionalMoments(x)
	for i := range d {
		s := p.Potential.Covs[0][i*d+i]
		tilde := 1 / (1/eps + 1/s)
		wantMean := tilde * (p.Potential.Means[0][i]/s + x[i]/eps)
		if math.Abs(mean[i]-wantMean) > tol || math.Abs(cov[i*d+i]-tilde) > tol {
			t.Errorf("coordinate %d: got mean %v var %v, want %v %v", i, mean[i], cov[i*d+i], wantMean, tilde)
		}
		for j := range d {
			if j != i && cov[i*d+j] != 0 {
				t.Errorf("cov[%d][%d] = %v, want 0", i, j, cov[i*d+j])
			}
		}
	}
}

func TestGenerateEOTDeterministic(t *testing.T) {
	a, err := GenerateEOT(EOTMixtureConfig(4, 1, true), rand.New(rand.NewPCG(9, 9)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := GenerateEOT(EOTMixtureConfig(4, 1, true), rand.New(rand.NewPCG(9, 9)))
	if !reflect.DeepEqual(a.Source, b.Source) || !reflect.DeepEqual(a.Potential, b.Potential) {
		t.Error("same seed, different pairs")
	}
	ya, _ := a.SampleTarget(10, rand.New(rand.NewPCG(1, 1)))
	yb, _ := b.SampleTarget(10, rand.New(rand.NewPCG(1, 1)))
	if !reflect.DeepEqual(ya, yb) {
		t.Error("same seed, different samples")
	}
}

func TestNewEOTPairRejects(t *testing.T) {
	unit := GaussianMixture{Weights: []float64{1}, Means: [][]float64{{0, 0}}, Covs: [][]float64{{1, 0, 0, 1}}}
	for _, tc := range []struct {
		name     string
		src, pot GaussianMixture
		eps      float64
		want     string
	}{
		{"eps", unit, unit, 0, "datasets: eot: epsilon must be finite and > 0, got 0"},
		{"not SPD", unit, GaussianMixture{Weights: []float64{1}, Means: [][]float64{{0, 0}}, Covs: [][]float64{{1, 2, 2, 1}}}, 1,
			"datasets: eot: potential: covariance 0: not positive definite"},
		{"asymmetric", unit, GaussianMixture{Weights: []float64{1}, Means: [][]float64{{0, 0}}, Covs: [][]float64{{1, 0.1, 0, 1}}}, 1,
			"datasets: eot: potential: covariance 0 is not symmetric at (1, 0)"},
		{"dimension", unit, GaussianMixture{Weights: []float64{1}, Means: [][]float64{{0}}, Covs: [][]float64{{1}}}, 1,
			"datasets: eot: potential: mean 0 has dimension 1, want 2"},
		{"weight", GaussianMixture{Weights: []float64{-1}, Means: unit.Means, Covs: unit.Covs}, unit, 1,
			"datasets: eot: source: weight 0 must be finite and > 0, got -1"},
	} {
		if _, err := NewEOTPair(tc.src, tc.pot, tc.eps); err == nil || err.Error() != tc.want {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}

func ExampleGenerateEOT() {
	r := rand.New(rand.NewPCG(1, 1))
	pair, err := GenerateEOT(EOTGaussianConfig(1, 1), r)
	if err != nil {
		panic(err)
	}
	// One Gaussian potential N(μ, σ²) gives y | x ~ N(σ̃²(μ/σ² + x/ε), σ̃²),
	// σ̃² = 1/(1/ε + 1/σ²).
	mu, s2 := pair.Potential.Means[0][0], pair.Potential.Covs[0][0]
	mean, cov := pair.ConditionalMoments([]float64{1})
	tilde := 1 / (1 + 1/s2)
	fmt.Printf("closed form matches: %v %v\n", math.Abs(mean[0]-tilde*(mu/s2+1)) < 1e-12, math.Abs(cov[0]-tilde) < 1e-12)
	// Output: closed form matches: true true
}
