package sb

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/alignlab/alignlab/datasets"
	"gonum.org/v1/gonum/mat"
)

// HalfBW2 returns half the squared Bures–Wasserstein distance between
// N(m1, c1) and N(m2, c2) (covariances D×D, row-major, symmetric PSD):
//
//	½‖m1 − m2‖² + ½ tr c1 + ½ tr c2 − tr (c1^{½} c2 c1^{½})^{½},
//
// the per-x term of cBW₂²-UVP. Square roots come from symmetric
// eigendecompositions, with eigenvalues rounded below zero clamped to 0.
func HalfBW2(m1, c1, m2, c2 []float64) float64 {
	return halfBW2Root(m1, c1, sqrtSym(c1, len(m1)), m2, c2)
}

// halfBW2Root is HalfBW2 with c1^{½} given (it is reused across x for the
// independent-plan baseline).
func halfBW2Root(m1, c1, root1, m2, c2 []float64) float64 {
	d := len(m1)
	s := 0.0
	for i := range d {
		s += 0.5*(m1[i]-m2[i])*(m1[i]-m2[i]) + 0.5*c1[i*d+i] + 0.5*c2[i*d+i]
	}
	r := mat.NewDense(d, d, root1)
	var tmp, prod mat.Dense
	tmp.Mul(r, mat.NewDense(d, d, c2))
	prod.Mul(&tmp, r)
	return s - traceSqrtSym(symmetrized(&prod, d), d)
}

func symmetrized(a *mat.Dense, d int) *mat.SymDense {
	s := mat.NewSymDense(d, nil)
	for i := range d {
		for j := i; j < d; j++ {
			s.SetSym(i, j, 0.5*(a.At(i, j)+a.At(j, i)))
		}
	}
	return s
}

// sqrtSym returns the PSD square root of the symmetric row-major matrix a.
func sqrtSym(a []float64, d int) []float64 {
	var eig mat.EigenSym
	if !eig.Factorize(mat.NewSymDense(d, append([]float64(nil), a...)), true) {
		nan := make([]float64, d*d)
		for i := range nan {
			nan[i] = math.NaN()
		}
		return nan
	}
	lam := eig.Values(nil)
	var q mat.Dense
	eig.VectorsTo(&q)
	out := make([]float64, d*d)
	for i := range d {
		for j := 0; j <= i; j++ {
			s := 0.0
			for k, l := range lam {
				s += q.At(i, k) * math.Sqrt(math.Max(l, 0)) * q.At(j, k)
			}
			out[i*d+j], out[j*d+i] = s, s
		}
	}
	return out
}

func traceSqrtSym(a *mat.SymDense, d int) float64 {
	var eig mat.EigenSym
	if !eig.Factorize(a, false) {
		return math.NaN()
	}
	s := 0.0
	for _, l := range eig.Values(nil) {
		s += math.Sqrt(math.Max(l, 0))
	}
	return s
}

// GaussianFit returns the mean and the unbiased covariance (divisor n − 1,
// as numpy.cov) of the rows of ys, D×D row-major. It needs ≥ 2 rows.
func GaussianFit(ys [][]float64) (mean, cov []float64) {
	n, d := len(ys), len(ys[0])
	mean = make([]float64, d)
	for _, y := range ys {
		for j, v := range y {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	cov = make([]float64, d*d)
	c := make([]float64, d)
	for _, y := range ys {
		for j, v := range y {
			c[j] = v - mean[j]
		}
		for i := range d {
			ci := c[i]
			row := cov[i*d : i*d+i+1]
			for j := range row {
				row[j] += ci * c[j]
			}
		}
	}
	for i := range d {
		for j := 0; j <= i; j++ {
			v := cov[i*d+j] / float64(n-1)
			cov[i*d+j], cov[j*d+i] = v, v
		}
	}
	return mean, cov
}

// Eval configures EvaluateCBW. Zero fields take the benchmark's values.
type Eval struct {
	TestPoints      int // test x drawn from P₀; 0 means 1000
	SamplesPerX     int // model samples of y|x per test x; 0 means 1000
	VarianceSamples int // draws of P₀ for P₁'s mean, covariance and total variance; 0 means 10000
	// TestInputs, when set, are the test x (the benchmark's fixed ones)
	// instead of TestPoints draws of P₀.
	TestInputs [][]float64
	// TargetVariance, when > 0, is the normaliser Var(P₁) (the
	// benchmark's published value) instead of the estimate from
	// VarianceSamples draws.
	TargetVariance float64
}

func (e Eval) withDefaults() Eval {
	if e.TestPoints == 0 {
		e.TestPoints = 1000
	}
	if e.SamplesPerX == 0 {
		e.SamplesPerX = 1000
	}
	if e.VarianceSamples == 0 {
		e.VarianceSamples = 10000
	}
	return e
}

// CBW holds cBW₂²-UVP values (in %) of one model against a known plan:
//
//	cBW₂²-UVP = 100 · mean_x HalfBW2(m̂(x), Σ̂(x), m*(x), Σ*(x)) / (½ Var(P₁)),
//
// with Var(P₁) the total variance (trace of the covariance) of P₁.
type CBW struct {
	// Sampled fits (m̂, Σ̂) to SamplesPerX draws of the model's plan, as the
	// benchmark does.
	Sampled float64
	// Exact uses the model plan's own mean and covariance (a Gaussian
	// mixture, so they are closed-form): no sampling noise.
	Exact float64
	// Floor fits (m̂, Σ̂) to SamplesPerX draws of the true plan: what a
	// perfect model scores with that many samples (the metric's noise floor).
	Floor float64
	// Independent is the plan π(y|x) = P₁(y), which ignores x: (m̂, Σ̂) are
	// P₁'s mean and covariance for every x. It sets the scale.
	Independent float64
	// TargetVariance is Var(P₁), the normaliser: Eval.TargetVariance when
	// given, else EstimatedTargetVariance.
	TargetVariance float64
	// EstimatedTargetVariance is Var(P₁) estimated from Eval.VarianceSamples
	// draws of P₀ (the law of total covariance, no sampling of y).
	EstimatedTargetVariance float64
}

// EvaluateCBW measures m against the known plan of pair on TestPoints x
// drawn from P₀ (or on cfg.TestInputs). Each x has its own random stream
// derived from r, so the result does not depend on how many goroutines
// share the work.
func EvaluateCBW(m *Model, pair *datasets.EOTPair, cfg Eval, r *rand.Rand) (CBW, error) {
	cfg = cfg.withDefaults()
	if m.Dim() != pair.Dim {
		return CBW{}, errors.New("sb: model and pair dimensions differ")
	}
	if cfg.SamplesPerX < 2 {
		return CBW{}, errors.New("sb: need ≥ 2 samples per x to fit a covariance")
	}
	d := pair.Dim
	for i, x := range cfg.TestInputs {
		if len(x) != d {
			return CBW{}, fmt.Errorf("sb: test input %d has dimension %d, want %d", i, len(x), d)
		}
	}
	if !(cfg.TargetVariance >= 0) || math.IsInf(cfg.TargetVariance, 1) {
		return CBW{}, fmt.Errorf("sb: target variance must be finite and > 0 (or 0 to estimate it), got %v", cfg.TargetVariance)
	}
	mean1, cov1 := pair.TargetMoments(cfg.VarianceSamples, r)
	out := CBW{}
	for i := range d {
		out.EstimatedTargetVariance += cov1[i*d+i]
	}
	out.TargetVariance = out.EstimatedTargetVariance
	if cfg.TargetVariance > 0 {
		out.TargetVariance = cfg.TargetVariance
	}
	root1 := sqrtSym(cov1, d)
	var xs [][]float64
	if len(cfg.TestInputs) > 0 {
		xs = cfg.TestInputs
	} else {
		xs = pair.SampleSource(cfg.TestPoints, r)
	}
	seeds := make([]uint64, len(xs))
	for i := range seeds {
		seeds[i] = r.Uint64()
	}
	terms := make([][4]float64, len(xs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				x := xs[i]
				rx := rand.New(rand.NewPCG(seeds[i], uint64(i)))
				mt, ct := pair.ConditionalMoments(x)
				ms, cs := GaussianFit(m.SamplePlan(x, cfg.SamplesPerX, rx))
				me, ce := m.PlanMoments(x)
				mf, cf := GaussianFit(pair.SampleConditional(x, cfg.SamplesPerX, rx))
				terms[i] = [4]float64{
					HalfBW2(ms, cs, mt, ct),
					HalfBW2(me, ce, mt, ct),
					HalfBW2(mf, cf, mt, ct),
					halfBW2Root(mean1, cov1, root1, mt, ct),
				}
			}
		}()
	}
	for i := range xs {
		next <- i
	}
	close(next)
	wg.Wait()
	var sum [4]float64
	for _, t := range terms {
		for j := range sum {
			sum[j] += t[j]
		}
	}
	scale := 100 / (float64(len(xs)) * 0.5 * out.TargetVariance)
	out.Sampled, out.Exact, out.Floor, out.Independent = sum[0]*scale, sum[1]*scale, sum[2]*scale, sum[3]*scale
	return out, nil
}
