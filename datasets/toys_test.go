package datasets

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestDemoDistributions(t *testing.T) {
	const tol = 0.05 // on means and spreads of 20000 draws
	r := rand.New(rand.NewPCG(4, 4))
	for _, tc := range []struct {
		name     string
		rows     [][]float64
		wantMean [2]float64
		wantRMS  float64 // root mean squared norm
	}{
		{"normal", StandardNormal(20000, 2, r), [2]float64{0, 0}, math.Sqrt(2)},
		{"eight", EightGaussians(20000, 2, 0.1, r), [2]float64{0, 0}, math.Sqrt(4 + 2*0.01)},
		// Moons scaled by 1, no noise: both halves have E‖p‖² = E(cos a − ½)² +
		// E(sin a − ¼)² = ¾ + 9/16 − 1/π, a ~ U(0, π).
		{"moons", Moons(20000, 1, 0, r), [2]float64{0, 0}, math.Sqrt(0.75 + 0.5625 - 1/math.Pi)},
	} {
		var m [2]float64
		var sq float64
		for _, p := range tc.rows {
			m[0] += p[0] / float64(len(tc.rows))
			m[1] += p[1] / float64(len(tc.rows))
			sq += (p[0]*p[0] + p[1]*p[1]) / float64(len(tc.rows))
		}
		if math.Abs(m[0]-tc.wantMean[0]) > tol || math.Abs(m[1]-tc.wantMean[1]) > tol || math.Abs(math.Sqrt(sq)-tc.wantRMS) > tol {
			t.Errorf("%s: mean %v rms %.4f, want %v %.4f", tc.name, m, math.Sqrt(sq), tc.wantMean, tc.wantRMS)
		}
	}
	// The Swiss roll's points lie on the spiral r = t/7.5 with t ∈ [1.5π, 4.5π].
	for _, p := range SwissRoll(1000, 0, r) {
		rad := math.Hypot(p[0], p[1]) * 7.5
		if rad < 1.5*math.Pi-1e-9 || rad > 4.5*math.Pi+1e-9 {
			t.Fatalf("swiss roll point %v off the spiral (radius·7.5 = %v)", p, rad)
		}
	}
}
