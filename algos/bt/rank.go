package bt

import (
	"fmt"
	"math"
	"sort"
)

// KendallTau returns Kendall's (1938, 1945) τ-b between two score vectors
// of the same items (x[i] and y[i] score item i; higher is better, or any
// consistent order):
//
//	τ_b = (n_c − n_d) / √((n₀ − n_x)(n₀ − n_y)),
//
// n_c and n_d the concordant and discordant pairs, n₀ = n(n−1)/2, n_x and
// n_y the pairs tied in x and in y. Without ties it is τ-a. It is scipy's
// default (scipy.stats.kendalltau, variant "b"). The cost is O(n²) pairs,
// which is nothing for leaderboards and fine up to some thousands of items.
// It fails for fewer than 2 items, lengths that differ, NaN, or a constant
// x or y (τ-b is 0/0 then).
func KendallTau(x, y []float64) (float64, error) {
	if err := checkRankInput("kendall tau", x, y); err != nil {
		return math.NaN(), err
	}
	n := len(x)
	var nc, nd, tx, ty float64 // concordant, discordant, tied in x, tied in y
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			sx, sy := sign(x[i]-x[j]), sign(y[i]-y[j])
			switch {
			case sx == 0 && sy == 0:
				tx++
				ty++
			case sx == 0:
				tx++
			case sy == 0:
				ty++
			case sx == sy:
				nc++
			default:
				nd++
			}
		}
	}
	n0 := float64(n) * float64(n-1) / 2
	if tx == n0 || ty == n0 {
		return math.NaN(), fmt.Errorf("bt: kendall tau: undefined when x or y is constant")
	}
	return (nc - nd) / math.Sqrt((n0-tx)*(n0-ty)), nil
}

// SpearmanRho returns Spearman's ρ between two score vectors of the same
// items: the Pearson correlation of their ranks, tied values sharing the
// mean of their ranks (as scipy.stats.spearmanr). It fails as KendallTau does.
func SpearmanRho(x, y []float64) (float64, error) {
	if err := checkRankInput("spearman rho", x, y); err != nil {
		return math.NaN(), err
	}
	rho := Pearson(Ranks(x), Ranks(y))
	if math.IsNaN(rho) {
		return rho, fmt.Errorf("bt: spearman rho: undefined when x or y is constant")
	}
	return rho, nil
}

// Ranks returns the 1-based ranks of x in increasing order, ties sharing the
// mean of the ranks they span (scipy.stats.rankdata's "average").
func Ranks(x []float64) []float64 {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return x[idx[a]] < x[idx[b]] })
	r := make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && x[idx[j+1]] == x[idx[i]] {
			j++
		}
		avg := float64(i+j)/2 + 1
		for k := i; k <= j; k++ {
			r[idx[k]] = avg
		}
		i = j + 1
	}
	return r
}

// Pearson returns the Pearson correlation of x and y (same length), NaN
// when either is constant.
func Pearson(x, y []float64) float64 {
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= n
	my /= n
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	return sxy / math.Sqrt(sxx*syy)
}

func checkRankInput(what string, x, y []float64) error {
	if len(x) != len(y) {
		return fmt.Errorf("bt: %s: want vectors of the same length, got %d and %d", what, len(x), len(y))
	}
	if len(x) < 2 {
		return fmt.Errorf("bt: %s: want at least 2 items, got %d", what, len(x))
	}
	for i := range x {
		if math.IsNaN(x[i]) || math.IsNaN(y[i]) {
			return fmt.Errorf("bt: %s: item %d: want numbers, got NaN", what, i)
		}
	}
	return nil
}

func sign(v float64) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}
