package sb

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/alignlab/alignlab/datasets"
)

func TestHalfBW2(t *testing.T) {
	const tol = 1e-10
	for _, tc := range []struct {
		name           string
		m1, c1, m2, c2 []float64
		want           float64
	}{
		{"identical", []float64{1, 2}, []float64{2, 0.5, 0.5, 1}, []float64{1, 2}, []float64{2, 0.5, 0.5, 1}, 0},
		{"means only", []float64{0, 0}, []float64{1, 0, 0, 1}, []float64{3, 4}, []float64{1, 0, 0, 1}, 12.5},
		// Commuting (diagonal) covariances: tr(c1^½ c2 c1^½)^½ = Σ √(a_i b_i),
		// so the covariance term is ½ Σ (√a_i − √b_i)².
		{"diagonal", []float64{0, 0}, []float64{4, 0, 0, 1}, []float64{0, 1}, []float64{1, 0, 0, 9}, 0.5*1 + 0.5*(1+4)},
		// In 1-D, ½BW² = ½(m1 − m2)² + ½(σ1 − σ2)².
		{"1-D", []float64{1}, []float64{0.25}, []float64{-1}, []float64{4}, 0.5*4 + 0.5*(0.5-2)*(0.5-2)},
		// A singular c1 (rank 1): c1^½ = c1/√2 for c1 = [[1,1],[1,1]]; with
		// c2 = I, c1^½ c2 c1^½ = c1²/2 = c1, whose root's trace is √2.
		{"singular", []float64{0, 0}, []float64{1, 1, 1, 1}, []float64{0, 0}, []float64{1, 0, 0, 1}, 0.5*2 + 0.5*2 - math.Sqrt2},
	} {
		if got := HalfBW2(tc.m1, tc.c1, tc.m2, tc.c2); math.Abs(got-tc.want) > tol {
			t.Errorf("%s: got %.12g, want %.12g", tc.name, got, tc.want)
		}
	}
}

func TestHalfBW2Symmetric(t *testing.T) {
	const tol = 1e-9
	r := rand.New(rand.NewPCG(1, 1))
	spd := func(d int) []float64 {
		a := make([]float64, d*d)
		for i := range a {
			a[i] = r.NormFloat64()
		}
		c := make([]float64, d*d)
		for i := range d {
			for j := range d {
				for k := range d {
					c[i*d+j] += a[i*d+k] * a[j*d+k]
				}
			}
		}
		return c
	}
	m := []float64{0.1, 0.2, 0.3, 0.4}
	for range 5 {
		c1, c2 := spd(4), spd(4)
		if a, b := HalfBW2(m, c1, m, c2), HalfBW2(m, c2, m, c1); math.Abs(a-b) > tol || a < -tol {
			t.Errorf("HalfBW2 not symmetric or negative: %g vs %g", a, b)
		}
	}
}

func TestGaussianFit(t *testing.T) {
	const tol = 1e-12
	// numpy.cov([[1,2,4],[0,1,5]]) = [[7/3, 4], [4, 7]] (divisor n − 1).
	mean, cov := GaussianFit([][]float64{{1, 0}, {2, 1}, {4, 5}})
	want := []float64{7.0 / 3, 4, 4, 7}
	if math.Abs(mean[0]-7.0/3) > tol || math.Abs(mean[1]-2) > tol {
		t.Errorf("mean %v", mean)
	}
	for i := range want {
		if math.Abs(cov[i]-want[i]) > tol {
			t.Errorf("cov %v, want %v", cov, want)
			break
		}
	}
}

// TestEvaluateCBWTruePlan puts the true plan of a Gaussian pair into the
// model family (K = 1, εS = Σ̃, r = Σ̃Σ⁻¹μ) and checks that its exact
// cBW₂²-UVP is 0, that its sampled value is at the noise floor's scale and
// that the independent plan is far worse.
func TestEvaluateCBWTruePlan(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	pair, err := datasets.GenerateEOT(datasets.EOTGaussianConfig(3, 1), r)
	if err != nil {
		t.Fatal(err)
	}
	mean0, cov := pair.ConditionalMoments([]float64{0, 0, 0})
	m := &Model{Epsilon: 1, LogAlpha: []float64{0}, R: [][]float64{mean0}, LogS: [][]float64{make([]float64, 3)}}
	for j := range 3 {
		m.LogS[0][j] = math.Log(cov[j*3+j] / pair.Epsilon)
	}
	res, err := EvaluateCBW(m, pair, Eval{TestPoints: 100, SamplesPerX: 500, VarianceSamples: 2000}, r)
	if err != nil {
		t.Fatal(err)
	}
	if res.Exact > 1e-9 {
		t.Errorf("exact cBW₂²-UVP of the true plan = %g, want 0", res.Exact)
	}
	if res.Sampled > 3*res.Floor || res.Floor > 3*res.Sampled {
		t.Errorf("sampled %g and floor %g should both be sampling noise of the same scale", res.Sampled, res.Floor)
	}
	if res.Independent < 10 {
		t.Errorf("independent plan scores %g%%, want ≫ 1%%", res.Independent)
	}
}

// With fixed test inputs and a given normaliser, the exact value is the
// formula evaluated on exactly those x: 100 · mean_x HalfBW2(model, true)
// / (½ · TargetVariance), and the estimate of Var(P₁) is still reported.
func TestEvaluateCBWFixedInputs(t *testing.T) {
	const tol = 1e-12
	r := rand.New(rand.NewPCG(4, 4))
	pair, err := datasets.GenerateEOT(datasets.EOTMixtureConfig(2, 0.5, false), r)
	if err != nil {
		t.Fatal(err)
	}
	m := testModel(3, 2, 0.5, r)
	xs := [][]float64{{0, 0}, {1, -1}, {0.5, 2}}
	const tv = 3.5
	res, err := EvaluateCBW(m, pair, Eval{TestInputs: xs, TargetVariance: tv, SamplesPerX: 50, VarianceSamples: 500}, r)
	if err != nil {
		t.Fatal(err)
	}
	want := 0.0
	for _, x := range xs {
		me, ce := m.PlanMoments(x)
		mt, ct := pair.ConditionalMoments(x)
		want += HalfBW2(me, ce, mt, ct)
	}
	want *= 100 / (float64(len(xs)) * 0.5 * tv)
	if math.Abs(res.Exact-want) > tol*want {
		t.Errorf("exact %.12g on the fixed inputs, want %.12g", res.Exact, want)
	}
	if res.TargetVariance != tv || !(res.EstimatedTargetVariance > 0) || res.EstimatedTargetVariance == tv {
		t.Errorf("target variance %v (estimated %v), want the given %v and an estimate", res.TargetVariance, res.EstimatedTargetVariance, tv)
	}
	if _, err := EvaluateCBW(m, pair, Eval{TestInputs: [][]float64{{1}}}, r); err == nil || err.Error() != "sb: test input 0 has dimension 1, want 2" {
		t.Errorf("short test input: got %v", err)
	}
}
