package datasets

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// This file holds the battles of a Chatbot Arena-style comparison of models,
// optionally weighted, and their deduplication into counts per unordered
// pair (ArenaCounts, ArenaAggregator), with the weights kept per (pair,
// outcome, weight) cell. Battle files are read and written in arena_io.go,
// arena-hard judgments read in arenahard.go, synthetic arenas drawn in
// arena_gen.go.

// The normalized values of Battle.Winner, as in Chatbot Arena exports.
const (
	WinnerA          = "model_a"
	WinnerB          = "model_b"
	WinnerTie        = "tie"
	WinnerTieBothBad = "tie (bothbad)"
)

// winners lists the allowed winner values in the order error messages give them.
var battleWinners = []string{WinnerA, WinnerB, WinnerTie, WinnerTieBothBad}

// Battle is one pairwise comparison of two models, as in a Chatbot Arena
// export: which side won, or a tie. Winner is one of WinnerA, WinnerB,
// WinnerTie or WinnerTieBothBad.
//
// Weight is how many battles this one counts for, as if its row were
// repeated Weight times (fractions allowed): a finite number > 0, or 0,
// which means 1, so that battles built without it are unweighted. The
// loaders set it from a file's optional weight field and skip battles whose
// weight is 0 (a row repeated zero times).
type Battle struct {
	ModelA, ModelB, Winner string
	Weight                 float64
}

// weight is b's effective weight: 1 when Weight is unset.
func (b Battle) weight() float64 {
	if b.Weight == 0 {
		return 1
	}
	return b.Weight
}

// Outcome names one of the four counts of a PairCounts.
type Outcome uint8

// The outcomes of a battle between Models[A] and Models[B] of a PairCounts,
// in the order cells are listed.
const (
	OutcomeWinA    Outcome = iota // Models[A] won: PairCounts.WinsA
	OutcomeWinB                   // Models[B] won: PairCounts.WinsB
	OutcomeTie                    // "tie": PairCounts.Ties
	OutcomeBothBad                // "tie (bothbad)": PairCounts.BothBad
)

// Outcomes lists the outcomes in cell order.
var Outcomes = []Outcome{OutcomeWinA, OutcomeWinB, OutcomeTie, OutcomeBothBad}

// ArenaCounts are battles deduplicated into counts per unordered pair of
// models: the sufficient statistics of Bradley–Terry-type models, which do
// not depend on which side a model was shown on.
//
// Weighted battles (Battle.Weight other than 1) keep two views: Pairs count
// battles (rows), and Cells group them by pair, outcome and weight, so that
// a bootstrap can resample rows each keeping its weight; Weights sums the
// weights per pair, what a fit uses. Without weights Cells is nil and
// Weights are the counts.
type ArenaCounts struct {
	Models []string     // sorted
	Pairs  []PairCounts // pairs that met at least once, sorted by (A, B)
	// Cells, nil unless some battle had a weight other than 1, are the
	// battles grouped by pair (index into Pairs), outcome and weight, sorted
	// in that order (weights ascending): their Battles add up to the Pairs'
	// counts, outcome by outcome.
	Cells []WeightCell
	// Skipped counts what the loaders read and left out (LoadArena).
	Skipped ArenaSkips
	// Formats holds, per file read by LoadArena, the format it was read as
	// (ArenaFormatBattles or ArenaFormatArenaHard), in order.
	Formats []string
}

// PairCounts are the outcomes of the battles between Models[A] and
// Models[B], A < B, whichever side each was shown on.
type PairCounts struct {
	A, B    int
	WinsA   int64 // battles Models[A] won
	WinsB   int64 // battles Models[B] won
	Ties    int64 // "tie"
	BothBad int64 // "tie (bothbad)"
}

// Total is the number of battles of the pair.
func (p PairCounts) Total() int64 { return p.WinsA + p.WinsB + p.Ties + p.BothBad }

// Count returns the count of outcome o.
func (p PairCounts) Count(o Outcome) int64 {
	switch o {
	case OutcomeWinA:
		return p.WinsA
	case OutcomeWinB:
		return p.WinsB
	case OutcomeTie:
		return p.Ties
	}
	return p.BothBad
}

// Add adds n battles of outcome o.
func (p *PairCounts) Add(o Outcome, n int64) {
	switch o {
	case OutcomeWinA:
		p.WinsA += n
	case OutcomeWinB:
		p.WinsB += n
	case OutcomeTie:
		p.Ties += n
	default:
		p.BothBad += n
	}
}

// WeightCell is a group of battles of one pair with the same outcome and
// the same weight.
type WeightCell struct {
	Pair    int // index into ArenaCounts.Pairs
	Outcome Outcome
	Weight  float64 // > 0
	Battles int64   // battles (rows) in the group
}

// PairWeights are the summed weights of the battles of a PairCounts,
// outcome by outcome: the counts themselves for unweighted battles.
type PairWeights struct {
	WinsA, WinsB, Ties, BothBad float64
}

// Total is the summed weight of the pair's battles.
func (p PairWeights) Total() float64 { return p.WinsA + p.WinsB + p.Ties + p.BothBad }

// Add adds weight w to outcome o.
func (p *PairWeights) Add(o Outcome, w float64) {
	switch o {
	case OutcomeWinA:
		p.WinsA += w
	case OutcomeWinB:
		p.WinsB += w
	case OutcomeTie:
		p.Ties += w
	default:
		p.BothBad += w
	}
}

// ArenaSkips count the records a loader read and did not turn into
// battles.
type ArenaSkips struct {
	Self       int64 // battles of a model against itself (ArenaOptions.SelfBattles "skip")
	ZeroWeight int64 // battles of weight 0
	NullScore  int64 // arena-hard games without a verdict (score null)
}

// Battles is the number of battles counted (rows, whatever their weights).
func (c *ArenaCounts) Battles() int64 {
	var n int64
	for _, p := range c.Pairs {
		n += p.Total()
	}
	return n
}

// Weighted reports whether some battle had a weight other than 1.
func (c *ArenaCounts) Weighted() bool { return c.Cells != nil }

// Weights returns the summed weights of every pair, indexed like c.Pairs:
// from c.Cells when the battles are weighted, else the counts.
func (c *ArenaCounts) Weights() []PairWeights {
	out := make([]PairWeights, len(c.Pairs))
	if c.Cells == nil {
		for i, p := range c.Pairs {
			out[i] = PairWeights{float64(p.WinsA), float64(p.WinsB), float64(p.Ties), float64(p.BothBad)}
		}
		return out
	}
	for _, cell := range c.Cells {
		out[cell.Pair].Add(cell.Outcome, float64(cell.Battles)*cell.Weight)
	}
	return out
}

// TotalWeight is the summed weight of all battles: Battles() without weights.
func (c *ArenaCounts) TotalWeight() float64 {
	var w float64
	for _, p := range c.Weights() {
		w += p.Total()
	}
	return w
}

// Index returns the index of model name in c.Models, or -1.
func (c *ArenaCounts) Index(name string) int {
	i := sort.SearchStrings(c.Models, name)
	if i < len(c.Models) && c.Models[i] == name {
		return i
	}
	return -1
}

// ModelStats are one model's totals over all its battles.
type ModelStats struct {
	Battles, Wins, Losses, Ties int64 // Ties include "tie (bothbad)"
}

// Stats returns the totals of every model, indexed like c.Models.
func (c *ArenaCounts) Stats() []ModelStats {
	st := make([]ModelStats, len(c.Models))
	for _, p := range c.Pairs {
		t := p.Ties + p.BothBad
		a, b := &st[p.A], &st[p.B]
		a.Battles += p.Total()
		b.Battles += p.Total()
		a.Wins += p.WinsA
		a.Losses += p.WinsB
		b.Wins += p.WinsB
		b.Losses += p.WinsA
		a.Ties += t
		b.Ties += t
	}
	return st
}

// ModelWeights are one model's totals over all its battles, each battle
// counted with its weight.
type ModelWeights struct {
	Battles, Wins, Losses, Ties float64 // Ties include "tie (bothbad)"
}

// WeightedStats returns the weighted totals of every model, indexed like
// c.Models: Stats, with every battle counted Weight times.
func (c *ArenaCounts) WeightedStats() []ModelWeights {
	st := make([]ModelWeights, len(c.Models))
	for i, w := range c.Weights() {
		p := c.Pairs[i]
		t := w.Ties + w.BothBad
		a, b := &st[p.A], &st[p.B]
		a.Battles += w.Total()
		b.Battles += w.Total()
		a.Wins += w.WinsA
		a.Losses += w.WinsB
		b.Wins += w.WinsB
		b.Losses += w.WinsA
		a.Ties += t
		b.Ties += t
	}
	return st
}

// ArenaAggregator accumulates battles into ArenaCounts one at a time. The
// zero value is ready to use.
type ArenaAggregator struct {
	ids   map[string]int32 // model name → id, in order of appearance
	names []string         // by id
	index map[uint64]int32 // (lo id, hi id) → index into pairs
	pairs []PairCounts     // A, B: ids, Models[A] < Models[B] by name
	// weighted counts the battles of weight other than 1; those of weight 1
	// are the rest of pairs, so unweighted data cost nothing here.
	weighted map[weightKey]int64
}

// weightKey is a group of weighted battles: pair (index into the
// aggregator's pairs), outcome and weight.
type weightKey struct {
	pair int32
	o    Outcome
	w    float64
}

// id returns the id of model name, adding it if new.
func (g *ArenaAggregator) id(name string) int32 {
	id, ok := g.ids[name]
	if !ok {
		if g.ids == nil {
			g.ids, g.index = map[string]int32{}, map[uint64]int32{}
		}
		id = int32(len(g.names))
		g.ids[name] = id
		g.names = append(g.names, name)
	}
	return id
}

// Add counts one battle. Its winner must be normalized (as the loaders do)
// and its weight finite and ≥ 0 (0 meaning 1); Add returns an error
// otherwise, and for a model playing itself.
func (g *ArenaAggregator) Add(b Battle) error {
	if b.ModelA == b.ModelB {
		return fmt.Errorf("datasets: battle of %q against itself", b.ModelA)
	}
	w := b.weight()
	if !(w > 0) || math.IsInf(w, 0) {
		return fmt.Errorf("datasets: battle weight: want a finite number ≥ 0, got %v", b.Weight)
	}
	lo, hi, swapped := b.ModelA, b.ModelB, false
	if hi < lo {
		lo, hi, swapped = hi, lo, true
	}
	var o Outcome
	switch b.Winner {
	case WinnerA, WinnerB:
		o = OutcomeWinB
		if (b.Winner == WinnerA) != swapped {
			o = OutcomeWinA
		}
	case WinnerTie:
		o = OutcomeTie
	case WinnerTieBothBad:
		o = OutcomeBothBad
	default:
		return fmt.Errorf("datasets: winner: want one of %s, got %q", quoteBattleList(battleWinners), b.Winner)
	}
	a, c := g.id(lo), g.id(hi)
	key := uint64(a)<<32 | uint64(c)
	i, ok := g.index[key]
	if !ok {
		i = int32(len(g.pairs))
		g.index[key] = i
		g.pairs = append(g.pairs, PairCounts{A: int(a), B: int(c)})
	}
	g.pairs[i].Add(o, 1)
	if w != 1 {
		if g.weighted == nil {
			g.weighted = map[weightKey]int64{}
		}
		g.weighted[weightKey{i, o, w}]++
	}
	return nil
}

// Counts returns the counts so far, models sorted by name.
func (g *ArenaAggregator) Counts() *ArenaCounts {
	c := &ArenaCounts{Models: slices.Clone(g.names)}
	sort.Strings(c.Models)
	rank := make([]int, len(g.names)) // id → index in c.Models
	for i, m := range c.Models {
		rank[g.ids[m]] = i
	}
	order := make([]int32, len(g.pairs)) // c.Pairs[j] is g.pairs[order[j]]
	for i := range order {
		order[i] = int32(i)
	}
	key := func(i int32) (int, int) { return rank[g.pairs[i].A], rank[g.pairs[i].B] }
	slices.SortFunc(order, func(x, y int32) int {
		xa, xb := key(x)
		ya, yb := key(y)
		if xa != ya {
			return xa - ya
		}
		return xb - yb
	})
	c.Pairs = make([]PairCounts, len(order))
	at := make([]int, len(order)) // g.pairs index → c.Pairs index
	for j, i := range order {
		p := g.pairs[i]
		p.A, p.B = key(i)
		c.Pairs[j] = p
		at[i] = j
	}
	if len(g.weighted) > 0 {
		c.Cells = g.weightCells(c, at)
	}
	return c
}

// weightCells lists the battles of c by pair, outcome and weight: the
// weighted groups counted by Add, and weight 1 for the rest. at maps the
// aggregator's pair indices to c's.
func (g *ArenaAggregator) weightCells(c *ArenaCounts, at []int) []WeightCell {
	type group struct {
		pair int
		o    Outcome
	}
	byGroup := map[group][]WeightCell{}
	for k, n := range g.weighted {
		gr := group{at[k.pair], k.o}
		byGroup[gr] = append(byGroup[gr], WeightCell{Pair: gr.pair, Outcome: k.o, Weight: k.w, Battles: n})
	}
	var cells []WeightCell
	for i, p := range c.Pairs {
		for _, o := range Outcomes {
			n := p.Count(o)
			if n == 0 {
				continue
			}
			ws := byGroup[group{i, o}]
			for _, w := range ws {
				n -= w.Battles
			}
			if n > 0 {
				ws = append(ws, WeightCell{Pair: i, Outcome: o, Weight: 1, Battles: n})
			}
			sort.Slice(ws, func(x, y int) bool { return ws[x].Weight < ws[y].Weight })
			cells = append(cells, ws...)
		}
	}
	return cells
}

// AggregateBattles deduplicates battles into counts per unordered pair.
func AggregateBattles(battles []Battle) (*ArenaCounts, error) {
	var g ArenaAggregator
	for _, b := range battles {
		if err := g.Add(b); err != nil {
			return nil, err
		}
	}
	return g.Counts(), nil
}
