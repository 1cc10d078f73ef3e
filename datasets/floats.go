package datasets

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// The vector arithmetic the generators and loaders share.

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// sigmoid is σ(x) = 1/(1 + e^−x), computed from e^−|x| so that it neither
// overflows nor loses precision for large |x|.
func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

func isFinite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// logSumExp is log Σ exp(v), shifted by max v so that it does not overflow.
func logSumExp(v []float64) float64 {
	m := math.Inf(-1)
	for _, x := range v {
		m = math.Max(m, x)
	}
	s := 0.0
	for _, x := range v {
		s += math.Exp(x - m)
	}
	return m + math.Log(s)
}

// normalizeLogProbs subtracts logSumExp(v) from every entry of v, in place,
// and returns v.
func normalizeLogProbs(v []float64) []float64 {
	lse := logSumExp(v)
	for i := range v {
		v[i] -= lse
	}
	return v
}

// checkSphere checks the arguments of sphere for the generator what.
func checkSphere(what string, d int, norm float64) error {
	switch {
	case d < 1:
		return fmt.Errorf("datasets: %s: dimension must be ≥ 1, got %d", what, d)
	case !(norm > 0) || math.IsInf(norm, 0):
		return fmt.Errorf("datasets: %s: ‖w*‖ must be finite and > 0, got %v", what, norm)
	}
	return nil
}

// sphere draws a vector uniform on the sphere of radius norm in R^d.
func sphere(d int, norm float64, r *rand.Rand) []float64 {
	w := make([]float64, d)
	var n float64
	for n == 0 {
		for i := range w {
			w[i] = r.NormFloat64()
		}
		n = math.Sqrt(dot(w, w))
	}
	for i := range w {
		w[i] *= norm / n
	}
	return w
}
