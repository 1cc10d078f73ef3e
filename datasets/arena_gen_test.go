package datasets

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateArenaSample = flag.Bool("update-arena", false, "rewrite samples/arena.jsonl from SampleArenaConfig")

func TestGenerateArena(t *testing.T) {
	const (
		n       = 40000
		tieRate = 0.25
		bothBad = 0.4
		tolRate = 0.01 // ≈ 4 binomial standard errors at n = 40k
	)
	battles, planted, err := GenerateArena(ArenaConfig{Models: 4, Battles: n, TieRate: tieRate, BothBad: bothBad, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	again, _, _ := GenerateArena(ArenaConfig{Models: 4, Battles: n, TieRate: tieRate, BothBad: bothBad, Seed: 3})
	if fmt.Sprint(again[:50]) != fmt.Sprint(battles[:50]) {
		t.Error("same seed, different battles")
	}
	sum := 0.0
	for _, th := range planted {
		sum += th
	}
	if math.Abs(sum) > 1e-12 {
		t.Errorf("planted θ not centered: sum %v", sum)
	}
	c, err := AggregateBattles(battles)
	if err != nil {
		t.Fatal(err)
	}
	var ties, bb, aSide int
	for _, b := range battles {
		switch b.Winner {
		case WinnerTie:
			ties++
		case WinnerTieBothBad:
			bb++
		case WinnerA:
			aSide++
		}
	}
	if got := float64(ties+bb) / n; math.Abs(got-tieRate) > tolRate {
		t.Errorf("tie rate: got %v, want %v", got, tieRate)
	}
	if got := float64(bb) / float64(ties+bb); math.Abs(got-bothBad) > 2*tolRate {
		t.Errorf("bothbad share: got %v, want %v", got, bothBad)
	}
	// Sides are a fair coin: model_a wins half of the decisive battles.
	if got := float64(aSide) / float64(n-ties-bb); math.Abs(got-0.5) > tolRate {
		t.Errorf("model_a win share: got %v, want 0.5", got)
	}
	// Decisive win rates follow σ(θi − θj).
	for _, p := range c.Pairs {
		d := planted[c.Models[p.A]] - planted[c.Models[p.B]]
		want := 1 / (1 + math.Exp(-d))
		got := float64(p.WinsA) / float64(p.WinsA+p.WinsB)
		se := math.Sqrt(want * (1 - want) / float64(p.WinsA+p.WinsB))
		if math.Abs(got-want) > 4*se {
			t.Errorf("%s vs %s: win rate %v, want σ(%v) = %v ± %v", c.Models[p.A], c.Models[p.B], got, d, want, 4*se)
		}
	}
	// Popularity skew: the first model plays more than the last.
	skewed, _, _ := GenerateArena(ArenaConfig{Models: 5, Battles: 5000, Skew: 1.5, Seed: 1})
	cs, _ := AggregateBattles(skewed)
	st := cs.Stats()
	if st[0].Battles < 2*st[4].Battles {
		t.Errorf("skew 1.5: first model played %d, last %d; want at least twice", st[0].Battles, st[4].Battles)
	}
	for _, bad := range []ArenaConfig{
		{Models: 1, Battles: 5},
		{Models: 3, Battles: 5, TieRate: 1},
		{Models: 3, Battles: 5, Ties: TiesRaoKupper, TieParam: 0.5},
		{Models: 3, Battles: 5, Ties: "bogus"},
		{Names: []string{"a", "a"}, Battles: 5},
	} {
		if _, _, err := GenerateArena(bad); err == nil || !strings.HasPrefix(err.Error(), "datasets: arena: ") {
			t.Errorf("%+v: got %v, want a datasets: arena error", bad, err)
		}
	}
}

// The embedded sample is what its config generates, byte for byte; refresh it
// with go test ./datasets -run TestSampleArena -update-arena.
func TestSampleArena(t *testing.T) {
	battles, _, err := GenerateArena(SampleArenaConfig())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteBattlesJSONL(&buf, battles); err != nil {
		t.Fatal(err)
	}
	if *updateArenaSample {
		if err := os.WriteFile(filepath.FromSlash(SampleArenaName), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Skip("rewrote " + SampleArenaName + "; rerun without -update-arena")
	}
	if !bytes.Equal(buf.Bytes(), sampleArena) {
		t.Fatalf("%s differs from GenerateArena(SampleArenaConfig()); run with -update-arena", SampleArenaName)
	}
	got, err := SampleBattles()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(battles) {
		t.Error("sample does not read back as generated")
	}
	c, _ := AggregateBattles(got)
	var ties, bb int64
	for _, p := range c.Pairs {
		ties += p.Ties
		bb += p.BothBad
	}
	if len(c.Models) != 10 || c.Battles() != 5000 || ties == 0 || bb == 0 {
		t.Errorf("sample: %d models, %d battles, %d ties, %d bothbad", len(c.Models), c.Battles(), ties, bb)
	}
}
