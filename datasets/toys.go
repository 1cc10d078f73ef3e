package datasets

import (
	"math"
	"math/rand/v2"
)

// This file holds the 2-D demo distributions of the entropic OT experiments
// (no known plan): StandardNormal, SwissRoll, EightGaussians and Moons.

// StandardNormal draws n points of N(0, I_dim).
func StandardNormal(n, dim int, r *rand.Rand) [][]float64 {
	rows := eotRows(n, dim)
	for _, x := range rows {
		for i := range x {
			x[i] = r.NormFloat64()
		}
	}
	return rows
}

// SwissRoll draws n points of a 2-D Swiss roll: angle t = 1.5π(1 + 2u),
// u ~ U(0, 1), point (t cos t, t sin t)/7.5 plus N(0, (noise/7.5)²) per
// coordinate; the scale makes it about as wide as N(0, I) (LightSB's demo
// uses noise 0.8).
func SwissRoll(n int, noise float64, r *rand.Rand) [][]float64 {
	rows := eotRows(n, 2)
	for _, x := range rows {
		t := 1.5 * math.Pi * (1 + 2*r.Float64())
		x[0] = (t*math.Cos(t) + noise*r.NormFloat64()) / 7.5
		x[1] = (t*math.Sin(t) + noise*r.NormFloat64()) / 7.5
	}
	return rows
}

// EightGaussians draws n points of a mixture of 8 equally weighted Gaussians
// with standard deviation std, centred on the circle of radius radius at
// angles 2πj/8.
func EightGaussians(n int, radius, std float64, r *rand.Rand) [][]float64 {
	rows := eotRows(n, 2)
	for _, x := range rows {
		a := 2 * math.Pi * float64(r.IntN(8)) / 8
		x[0] = radius*math.Cos(a) + std*r.NormFloat64()
		x[1] = radius*math.Sin(a) + std*r.NormFloat64()
	}
	return rows
}

// Moons draws n points of two interleaved half circles (the upper one of
// radius 1 centred at (0, 0), the lower one at (1, 0.5)), shifted so that
// their centre is at the origin, scaled by scale, plus N(0, noise²) per
// coordinate.
func Moons(n int, scale, noise float64, r *rand.Rand) [][]float64 {
	rows := eotRows(n, 2)
	for _, x := range rows {
		a := math.Pi * r.Float64()
		if r.IntN(2) == 0 {
			x[0], x[1] = math.Cos(a), math.Sin(a)
		} else {
			x[0], x[1] = 1-math.Cos(a), 0.5-math.Sin(a)
		}
		x[0] = (x[0]-0.5)*scale + noise*r.NormFloat64()
		x[1] = (x[1]-0.25)*scale + noise*r.NormFloat64()
	}
	return rows
}
