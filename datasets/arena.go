package datasets

import (
	"fmt"
	"sort"
)

// This file holds the battles of a Chatbot Arena-style comparison of models
// and their deduplication into counts per unordered pair (ArenaCounts,
// ArenaAggregator). Battle files are read and written in arena_io.go,
// synthetic arenas drawn in arena_gen.go.

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
type Battle struct {
	ModelA, ModelB, Winner string
}

// ArenaCounts are battles deduplicated into counts per unordered pair of
// models: the sufficient statistics of Bradley–Terry-type models, which do
// not depend on which side a model was shown on.
type ArenaCounts struct {
	Models []string     // sorted
	Pairs  []PairCounts // pairs that met at least once, sorted by (A, B)
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

// Battles is the number of battles counted.
func (c *ArenaCounts) Battles() int64 {
	var n int64
	for _, p := range c.Pairs {
		n += p.Total()
	}
	return n
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

// ArenaAggregator accumulates battles into ArenaCounts one at a time. The
// zero value is ready to use.
type ArenaAggregator struct {
	cells map[[2]string]*PairCounts
}

// Add counts one battle. Its winner must be normalized (as the loaders do);
// Add returns an error otherwise, and for a model playing itself.
func (g *ArenaAggregator) Add(b Battle) error {
	if b.ModelA == b.ModelB {
		return fmt.Errorf("datasets: battle of %q against itself", b.ModelA)
	}
	if g.cells == nil {
		g.cells = map[[2]string]*PairCounts{}
	}
	lo, hi, swapped := b.ModelA, b.ModelB, false
	if hi < lo {
		lo, hi, swapped = hi, lo, true
	}
	c := g.cells[[2]string{lo, hi}]
	if c == nil {
		c = &PairCounts{}
		g.cells[[2]string{lo, hi}] = c
	}
	switch b.Winner {
	case WinnerA, WinnerB:
		if (b.Winner == WinnerA) != swapped {
			c.WinsA++
		} else {
			c.WinsB++
		}
	case WinnerTie:
		c.Ties++
	case WinnerTieBothBad:
		c.BothBad++
	default:
		return fmt.Errorf("datasets: winner: want one of %s, got %q", quoteBattleList(battleWinners), b.Winner)
	}
	return nil
}

// Counts returns the counts so far, models sorted by name.
func (g *ArenaAggregator) Counts() *ArenaCounts {
	set := map[string]bool{}
	for k := range g.cells {
		set[k[0]], set[k[1]] = true, true
	}
	c := &ArenaCounts{Models: make([]string, 0, len(set))}
	for m := range set {
		c.Models = append(c.Models, m)
	}
	sort.Strings(c.Models)
	for k, v := range g.cells {
		p := *v
		p.A, p.B = c.Index(k[0]), c.Index(k[1])
		c.Pairs = append(c.Pairs, p)
	}
	sort.Slice(c.Pairs, func(i, j int) bool {
		if c.Pairs[i].A != c.Pairs[j].A {
			return c.Pairs[i].A < c.Pairs[j].A
		}
		return c.Pairs[i].B < c.Pairs[j].B
	})
	return c
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
