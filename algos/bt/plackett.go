package bt

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/alignlab/alignlab/datasets"
)

// This file holds the Plackett–Luce fit of rankings of named items (Hunter's
// MM, FitPlackettLuce), its likelihood and existence check, and the full
// rank breaking into pairwise battles (BreakRankings). PRO, Plackett–Luce
// for a policy over candidate lists, is in pro.go; the plugin
// bt.plackett_luce in plackett_plugin.go; the PL-vs-pairwise study
// bt.pl_vs_pairwise in plvspairwise.go.

// PLSettings configure FitPlackettLuce. The zero value (or nil) uses the
// defaults of Settings: DefaultTolerance, DefaultMaxIterations, and a prior
// only when it is an error not to (Prior 0 then).
type PLSettings struct {
	// Prior, PriorAlways, Tolerance, MaxIterations and Init mean what they
	// mean in Settings: a virtual tie of weight Prior of every item against
	// a θ = 0 player keeps θ finite when an item was always ranked first or
	// always last.
	Prior         float64
	PriorAlways   bool
	Tolerance     float64
	MaxIterations int
	Init          []float64
}

// PLFit is a Plackett–Luce fit of item log-strengths.
type PLFit struct {
	Items []string
	Theta []float64 // log-strengths, shifted to mean 0
	// LogLikelihood is Σ_rankings Σ_k [θ_{i_k} − log Σ_{j ≥ k} e^{θ_{i_j}}] (prior excluded).
	LogLikelihood float64
	Iterations    int
	Converged     bool
	MaxStep       float64
	Prior         float64 // the prior weight applied (0 when none was needed)
}

// CheckPlackettLuce reports whether the Plackett–Luce likelihood of r has a
// finite maximum: as for Bradley–Terry (Hunter 2004, Assumption 1), the
// directed graph "i was ranked directly above j" must be strongly connected.
// It returns nil or a *NoMLEError (NoWins: items always ranked last;
// NoLosses: items always ranked first).
func CheckPlackettLuce(r *datasets.Rankings) error {
	k := len(r.Items)
	if k <= 1 {
		return nil
	}
	g := newBeatGraph(k)
	for _, l := range r.Lists {
		for p := 0; p+1 < len(l); p++ {
			g.edge(l[p], l[p+1])
		}
	}
	return g.check(r.Items)
}

// FitPlackettLuce fits item log-strengths θ to rankings of named items by
// maximum likelihood under the Plackett–Luce model (Luce 1959; Plackett
// 1975), where a ranking i1 ≻ i2 ≻ … ≻ iL has probability
//
//	P = Π_{k=1}^{L−1} γ_{ik} / Σ_{j ≥ k} γ_{ij},   γ = e^θ,
//
// with Hunter's (2004) MM iterations
//
//	γi ← W_i / Σ_rankings Σ_{stages k with i among the remaining} 1 / Σ_{j ≥ k} γ_{ij},
//
// W_i the number of stages i won (positions before the last), renormalized
// to geometric mean 1. With rankings of length 2 this is FitMM's update for
// Bradley–Terry. Stops when max |Δθ| < Tolerance.
func FitPlackettLuce(r *datasets.Rankings, s *PLSettings) (*PLFit, error) {
	if r == nil || r.Kind != datasets.RankingItems {
		return nil, errors.New("bt: plackett–luce: want rankings of named items")
	}
	var set PLSettings
	if s != nil {
		set = *s
	}
	if set.Tolerance == 0 {
		set.Tolerance = DefaultTolerance
	}
	if set.MaxIterations == 0 {
		set.MaxIterations = DefaultMaxIterations
	}
	if !(set.Prior >= 0) || math.IsInf(set.Prior, 0) {
		return nil, fmt.Errorf("bt: plackett–luce: prior: want a finite weight ≥ 0, got %v", set.Prior)
	}
	k := len(r.Items)
	if k < 2 {
		return nil, fmt.Errorf("bt: plackett–luce: want at least 2 items, got %d", k)
	}
	if set.Init != nil && len(set.Init) != k {
		return nil, fmt.Errorf("bt: plackett–luce: init: want %d log-strengths, got %d", k, len(set.Init))
	}
	prior := 0.0
	if set.PriorAlways {
		prior = set.Prior
	} else if err := CheckPlackettLuce(r); err != nil {
		if set.Prior == 0 {
			return nil, err
		}
		prior = set.Prior
	}
	num := make([]float64, k)
	for _, l := range r.Lists {
		for p := 0; p+1 < len(l); p++ {
			num[l[p]]++
		}
	}
	for i := range num {
		num[i] += prior / 2
	}
	gamma := make([]float64, k)
	for i := range gamma {
		th := 0.0
		if set.Init != nil {
			th = set.Init[i]
		}
		gamma[i] = math.Exp(th)
	}
	den := make([]float64, k)
	next := make([]float64, k)
	var inv []float64 // prefix sums of 1/Σ_{j≥k} γ over the stages of a ranking
	step := math.Inf(1)
	it := 0
	for it < set.MaxIterations && !(step < set.Tolerance) {
		it++
		for i := range den {
			den[i] = 0
		}
		for _, l := range r.Lists {
			inv = plStageSums(l, gamma, inv)
			for p, item := range l {
				// Item at position p remains in stages 0 … min(p, L−2).
				den[item] += inv[min(p, len(l)-2)]
			}
		}
		step = mmUpdate(next, gamma, num, den, prior)
		gamma, next = next, gamma
	}
	theta := make([]float64, k)
	for i, g := range gamma {
		theta[i] = math.Log(g)
	}
	center(theta)
	return &PLFit{Items: r.Items, Theta: theta, LogLikelihood: PLLogLikelihood(r, theta),
		Iterations: it, Converged: step < set.Tolerance, MaxStep: step, Prior: prior}, nil
}

// plStageSums returns, for each stage k = 0 … L−2 of ranking l, the prefix
// sum Σ_{k' ≤ k} 1/Σ_{j ≥ k'} γ_{l[j]}, reusing buf.
func plStageSums(l []int, gamma []float64, buf []float64) []float64 {
	n := len(l)
	buf = buf[:0]
	suffix := make([]float64, n+1)
	for j := n - 1; j >= 0; j-- {
		suffix[j] = suffix[j+1] + gamma[l[j]]
	}
	acc := 0.0
	for s := 0; s < n-1; s++ {
		acc += 1 / suffix[s]
		buf = append(buf, acc)
	}
	return buf
}

// PLLogLikelihood is the Plackett–Luce log-likelihood of rankings of named
// items at log-strengths theta.
func PLLogLikelihood(r *datasets.Rankings, theta []float64) float64 {
	ll := 0.0
	for _, l := range r.Lists {
		// log Σ_{j ≥ k} e^θ, from the end, with a running max for stability.
		n := len(l)
		m := math.Inf(-1)
		sum := 0.0 // Σ e^{θ − m}
		lse := make([]float64, n)
		for j := n - 1; j >= 0; j-- {
			th := theta[l[j]]
			if th > m {
				sum = sum*math.Exp(m-th) + 1
				m = th
			} else {
				sum += math.Exp(th - m)
			}
			lse[j] = m + math.Log(sum)
		}
		for k := 0; k < n-1; k++ {
			ll += theta[l[k]] - lse[k]
		}
	}
	return ll
}

// BreakRankings turns rankings of items into pairwise battles by full rank
// breaking: every item beats every item ranked below it, L(L−1)/2 battles
// per ranking of length L. Fitting Bradley–Terry to them treats the pairs of
// one ranking as independent, which they are not.
func BreakRankings(r *datasets.Rankings) *datasets.ArenaCounts {
	k := len(r.Items)
	cnt := make(map[[2]int]*datasets.PairCounts)
	var keys [][2]int
	for _, l := range r.Lists {
		for a := 0; a < len(l); a++ {
			for b := a + 1; b < len(l); b++ {
				i, j := l[a], l[b]
				key := [2]int{min(i, j), max(i, j)}
				pc, ok := cnt[key]
				if !ok {
					pc = &datasets.PairCounts{A: key[0], B: key[1]}
					cnt[key] = pc
					keys = append(keys, key)
				}
				if i == key[0] {
					pc.WinsA++
				} else {
					pc.WinsB++
				}
			}
		}
	}
	sort.Slice(keys, func(a, b int) bool {
		if keys[a][0] != keys[b][0] {
			return keys[a][0] < keys[b][0]
		}
		return keys[a][1] < keys[b][1]
	})
	out := &datasets.ArenaCounts{Models: append([]string(nil), r.Items[:k]...)}
	for _, key := range keys {
		out.Pairs = append(out.Pairs, *cnt[key])
	}
	return out
}
