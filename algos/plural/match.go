package plural

import (
	"math"

	"github.com/alignlab/alignlab/algos/pairloss"
	"gonum.org/v1/gonum/stat"
)

// This file holds the measures every plugin of the family reports:
// accuracy on held-out comparisons (overall and per true group) and the
// matching of learned groups to the planted ones.

// Accuracy is the share of cmps whose winner the predictor names: prob(c)
// is its probability that c.A wins; a prediction of exactly ½ counts ½.
func Accuracy(cmps []Comparison, prob func(c Comparison) float64) float64 {
	if len(cmps) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, c := range cmps {
		s += agree(c, prob(c))
	}
	return s / float64(len(cmps))
}

// GroupAccuracy is Accuracy over the comparisons of each true group's
// users (NaN for a group without comparisons).
func GroupAccuracy(p *Population, cmps []Comparison, prob func(c Comparison) float64) []float64 {
	k := len(p.Ideal)
	sum, n := make([]float64, k), make([]float64, k)
	for _, c := range cmps {
		g := p.Users[c.User].Group
		sum[g] += agree(c, prob(c))
		n[g]++
	}
	for g := range sum {
		if n[g] == 0 {
			sum[g] = math.NaN()
		} else {
			sum[g] /= n[g]
		}
	}
	return sum
}

func agree(c Comparison, pa float64) float64 {
	h := pa - 0.5
	if !c.AWins {
		h = -h
	}
	return pairloss.Agreement(h)
}

// MatchGroups matches estimated group rewards to the true ones (rows:
// groups, columns: items) by the assignment that maximises the total
// Pearson correlation (Hungarian): perm[k] is the estimated group matched
// to true group k (−1 when there are fewer estimates than groups) and
// corr[k] its correlation with the truth (NaN when unmatched).
func MatchGroups(truth, est [][]float64) (perm []int, corr []float64) {
	k, e := len(truth), len(est)
	size := max(k, e)
	cost := make([][]float64, size)
	c := make([][]float64, k)
	for i := range cost {
		cost[i] = make([]float64, size)
		if i < k {
			c[i] = make([]float64, e)
			for j := range e {
				c[i][j] = stat.Correlation(truth[i], est[j], nil)
				cost[i][j] = -c[i][j]
			}
		}
	}
	assign := Hungarian(cost)
	perm, corr = make([]int, k), make([]float64, k)
	for i := range k {
		if j := assign[i]; j < e {
			perm[i], corr[i] = j, c[i][j]
		} else {
			perm[i], corr[i] = -1, math.NaN()
		}
	}
	return perm, corr
}

// Hungarian returns the assignment of rows to columns of the square cost
// matrix with the least total cost: row i goes to column out[i]. It is the
// O(n³) Hungarian (Kuhn–Munkres) method with potentials.
func Hungarian(cost [][]float64) []int {
	n := len(cost)
	// 1-based arrays, column 0 a sentinel (the classic formulation).
	u, v := make([]float64, n+1), make([]float64, n+1)
	match, way := make([]int, n+1), make([]int, n+1) // match[col] = row
	for i := 1; i <= n; i++ {
		match[0] = i
		j0 := 0
		minv := make([]float64, n+1)
		used := make([]bool, n+1)
		for j := range minv {
			minv[j] = math.Inf(1)
		}
		for {
			used[j0] = true
			i0, delta, j1 := match[j0], math.Inf(1), 0
			for j := 1; j <= n; j++ {
				if used[j] {
					continue
				}
				if cur := cost[i0-1][j-1] - u[i0] - v[j]; cur < minv[j] {
					minv[j], way[j] = cur, j0
				}
				if minv[j] < delta {
					delta, j1 = minv[j], j
				}
			}
			for j := 0; j <= n; j++ {
				if used[j] {
					u[match[j]] += delta
					v[j] -= delta
				} else {
					minv[j] -= delta
				}
			}
			j0 = j1
			if match[j0] == 0 {
				break
			}
		}
		for j0 != 0 {
			j1 := way[j0]
			match[j0] = match[j1]
			j0 = j1
		}
	}
	out := make([]int, n)
	for j := 1; j <= n; j++ {
		if match[j] > 0 {
			out[match[j]-1] = j - 1
		}
	}
	return out
}
