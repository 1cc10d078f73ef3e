package nash

import (
	"math/rand/v2"

	"github.com/alignlab/alignlab/algos/pairloss"
	"github.com/alignlab/alignlab/datasets"
)

// Sampled updates draw n pairs per iteration, spread over the prompts
// round-robin (pair m goes to prompt m mod X), both responses from π_t(·|x),
// and ask the oracle which won. The pairs are aggregated into a weight tensor
// W[x,i,j] (X·K·K, row-major) that sums to 1; the learner's loss is then the
// mean over the pairs.

// inpoPairs returns W[x,w,l] = (number of pairs in which w beat l) / n.
func inpoPairs(rng *rand.Rand, g *datasets.Game, pi [][]float64, n int) []float64 {
	x, k := len(g.Prompts), g.K()
	w := make([]float64, x*k*k)
	for m := range n {
		p := m % x
		a, b := sample(rng, pi[p]), sample(rng, pi[p])
		if !g.Compare(rng, p, a, b) {
			a, b = b, a
		}
		w[(p*k+a)*k+b] += 1 / float64(n)
	}
	return w
}

// dnoPairs draws n pairs and weights each by DNO's soft label: the pair
// (y1, y2) adds s = σ(r̂(y1) − r̂(y2)) to W[x,y1,y2] and 1 − s to W[x,y2,y1],
// so that the logistic loss Σ W·(−log σ(ηΔ)) is DNO's cross-entropy.
//
// r̂_t(y) estimates P(y ≻ π_t) from the same comparisons: the opponent in a
// pair is itself a draw from π_t, so the fraction of y's comparisons that y
// won is an unbiased estimate of P(y ≻ π_t) (a pair (y, y) counts as one
// win in two appearances, i.e. ½).
func dnoPairs(rng *rand.Rand, g *datasets.Game, pi [][]float64, n int) []float64 {
	x, k := len(g.Prompts), g.K()
	type pair struct{ p, a, b int }
	pairs := make([]pair, n)
	wins := make([]float64, x*k)
	seen := make([]float64, x*k)
	for m := range n {
		p := m % x
		a, b := sample(rng, pi[p]), sample(rng, pi[p])
		pairs[m] = pair{p, a, b}
		seen[p*k+a]++
		seen[p*k+b]++
		if g.Compare(rng, p, a, b) {
			wins[p*k+a]++
		} else {
			wins[p*k+b]++
		}
	}
	r := make([]float64, x*k)
	for i := range r {
		if seen[i] > 0 {
			r[i] = wins[i] / seen[i]
		}
	}
	w := make([]float64, x*k*k)
	for _, pr := range pairs {
		s := pairloss.Sigmoid(r[pr.p*k+pr.a] - r[pr.p*k+pr.b])
		w[(pr.p*k+pr.a)*k+pr.b] += s / float64(n)
		w[(pr.p*k+pr.b)*k+pr.a] += (1 - s) / float64(n)
	}
	return w
}

// prctPairs is DNO-Prct's data step: n times, draw `candidates` responses
// from π_t(·|x), let the oracle compare every two of them once, score each
// by its fraction of wins, and keep (best, worst) if the scores differ by at
// least margin and the two are different actions. It returns W normalised
// over the kept pairs (all zero if none was kept) and the number kept.
func prctPairs(rng *rand.Rand, g *datasets.Game, pi [][]float64, n, candidates int, margin float64) ([]float64, int) {
	x, k := len(g.Prompts), g.K()
	w := make([]float64, x*k*k)
	ys := make([]int, candidates)
	score := make([]float64, candidates)
	kept := 0
	for m := range n {
		p := m % x
		for c := range ys {
			ys[c] = sample(rng, pi[p])
			score[c] = 0
		}
		for a := range candidates {
			for b := a + 1; b < candidates; b++ {
				if g.Compare(rng, p, ys[a], ys[b]) {
					score[a]++
				} else {
					score[b]++
				}
			}
		}
		best, worst := 0, 0
		for c := range ys {
			if score[c] > score[best] {
				best = c
			}
			if score[c] < score[worst] {
				worst = c
			}
		}
		gap := (score[best] - score[worst]) / float64(candidates-1)
		if ys[best] == ys[worst] || gap < margin {
			continue
		}
		w[(p*k+ys[best])*k+ys[worst]]++
		kept++
	}
	if kept > 0 {
		for i := range w {
			w[i] /= float64(kept)
		}
	}
	return w, kept
}
