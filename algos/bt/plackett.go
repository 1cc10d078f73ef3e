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
	// LogLikelihood is PLLogLikelihood at Theta (prior excluded).
	LogLikelihood float64
	Iterations    int
	Converged     bool
	MaxStep       float64
	Prior         float64 // the prior weight applied (0 when none was needed)
}

// CheckPlackettLuce reports whether the Plackett–Luce likelihood of r has a
// finite maximum: as for Bradley–Terry (Hunter 2004, Assumption 1), the
// directed graph "i was chosen over j" must be strongly connected. A ranking
// gives the edges π_j → π_{j+1} and, when it is the top k of a larger
// offered set, π_k → every unranked offered item (the other edges follow by
// paths). It returns nil or a *NoMLEError (NoWins: items always ranked last
// or never ranked; NoLosses: items always ranked first).
func CheckPlackettLuce(r *datasets.Rankings) error {
	k := len(r.Items)
	if k <= 1 {
		return nil
	}
	var edges [][2]int
	for n, l := range r.Lists {
		for p := 0; p+1 < len(l); p++ {
			edges = append(edges, [2]int{l[p], l[p+1]})
		}
		for _, u := range r.Unranked(n) {
			edges = append(edges, [2]int{l[len(l)-1], u})
		}
	}
	return newBeatGraph(k, edges).check(r.Items)
}

// FitPlackettLuce fits item log-strengths θ to rankings of named items by
// maximum likelihood under the Plackett–Luce model (Luce 1959; Plackett
// 1975), where a ranking π_1 ≻ … ≻ π_k, the top k of the offered set S
// (S = its own items for a complete ranking, see datasets.Rankings), has
// probability
//
//	P = Π_{j=1}^{k} γ_{π_j} / Σ_{m ∈ C_j} γ_m,   C_j = S \ {π_1 … π_{j−1}},   γ = e^θ,
//
// (the stage with |C_j| = 1, the last of a complete ranking, has P = 1 and
// is skipped) with Hunter's (2004) MM iterations
//
//	γ_i ← W_i / Σ_rankings Σ_{stages j with i ∈ C_j} 1 / Σ_{m ∈ C_j} γ_m,
//
// W_i the number of stages i won, renormalized to geometric mean 1. Each
// iteration increases the likelihood; at its fixed point the score
// ∂ℓ/∂θ_i = W_i − Σ_{stages with i ∈ C_j} γ_i/Σ_{C_j} γ vanishes. With rankings
// of length 2 this is FitMM's update for Bradley–Terry. Stops when
// max |Δθ| < Tolerance.
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
	unranked := make([][]int, len(r.Lists))
	for n, l := range r.Lists {
		unranked[n] = r.Unranked(n)
		for p := range plStages(l, unranked[n]) {
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
	var inv []float64 // prefix sums of 1/Σ_{C_j} γ over the stages of a ranking
	step := math.Inf(1)
	it := 0
	for it < set.MaxIterations && !(step < set.Tolerance) {
		it++
		for i := range den {
			den[i] = 0
		}
		for n, l := range r.Lists {
			rest := unranked[n]
			inv = plStageSums(l, rest, gamma, inv)
			last := len(inv) - 1
			for p, item := range l {
				// The item at position p is in the choice sets of stages 0 … p.
				den[item] += inv[min(p, last)]
			}
			for _, item := range rest {
				den[item] += inv[last]
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

// plStages is the number of stages of ranking l with unranked offered
// items rest that carry information: len(l) when rest is not empty (the
// k-th item is chosen over the rest), len(l) − 1 for a complete ranking
// (its last stage has one item left).
func plStages(l, rest []int) int {
	if len(rest) > 0 {
		return len(l)
	}
	return len(l) - 1
}

// plStageSums returns, for each stage j of ranking l with unranked offered
// items rest (plStages of them), the prefix sum Σ_{j' ≤ j} 1/Σ_{m ∈ C_j'} γ_m,
// C_j = rest ∪ {l[j], l[j+1], …}, reusing buf.
func plStageSums(l, rest []int, gamma []float64, buf []float64) []float64 {
	n := len(l)
	buf = buf[:0]
	base := 0.0
	for _, i := range rest {
		base += gamma[i]
	}
	suffix := make([]float64, n+1)
	suffix[n] = base
	for j := n - 1; j >= 0; j-- {
		suffix[j] = suffix[j+1] + gamma[l[j]]
	}
	acc := 0.0
	for s := range plStages(l, rest) {
		acc += 1 / suffix[s]
		buf = append(buf, acc)
	}
	return buf
}

// PLLogLikelihood is the Plackett–Luce log-likelihood of rankings of named
// items at log-strengths theta: for each ranking π_1 ≻ … ≻ π_k of its
// offered set S (see FitPlackettLuce),
//
//	Σ_{j=1}^{k} [θ_{π_j} − log Σ_{m ∈ S \ {π_1 … π_{j−1}}} e^{θ_m}].
func PLLogLikelihood(r *datasets.Rankings, theta []float64) float64 {
	ll := 0.0
	for n, l := range r.Lists {
		plStageTerms(theta, l, r.Unranked(n), func(term float64) { ll += term })
	}
	return ll
}

// plStageTerms calls add with the log-likelihood term of every stage j of
// ranking l with unranked offered items rest, in order:
// θ_{l[j]} − log Σ_{m ∈ C_j} e^{θ_m}.
func plStageTerms(theta []float64, l, rest []int, add func(term float64)) {
	// log Σ_{C_j} e^θ from the end, with a running max for stability,
	// starting from the unranked offered items (in every C_j).
	m := math.Inf(-1)
	sum := 0.0 // Σ e^{θ − m}
	push := func(th float64) {
		if th > m {
			sum = sum*math.Exp(m-th) + 1
			m = th
		} else {
			sum += math.Exp(th - m)
		}
	}
	for _, i := range rest {
		push(theta[i])
	}
	lse := make([]float64, len(l))
	for j := len(l) - 1; j >= 0; j-- {
		push(theta[l[j]])
		lse[j] = m + math.Log(sum)
	}
	for j := range plStages(l, rest) {
		add(theta[l[j]] - lse[j])
	}
}

// BreakRankings turns rankings of items into pairwise battles by full rank
// breaking: every ranked item beats every item ranked below it and, for the
// top k of a larger offered set, every offered item left unranked:
// k(k−1)/2 + k·u battles per ranking of k items with u unranked. Fitting
// Bradley–Terry to them treats the pairs of one ranking as independent,
// which they are not.
func BreakRankings(r *datasets.Rankings) *datasets.ArenaCounts {
	k := len(r.Items)
	cnt := make(map[[2]int]*datasets.PairCounts)
	var keys [][2]int
	for n, l := range r.Lists {
		below := append(append([]int(nil), l...), r.Unranked(n)...)
		for a := 0; a < len(l); a++ {
			for b := a + 1; b < len(below); b++ {
				i, j := l[a], below[b]
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
