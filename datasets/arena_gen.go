package datasets

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
)

// This file holds the synthetic arena generator, Bradley–Terry with planted
// strengths and a choice of tie mechanism, and the embedded sample arena it
// generated.

// The tie mechanisms of GenerateArena.
const (
	// TiesConstant: each battle is a tie with probability TieRate, whatever
	// the strengths; otherwise Bradley–Terry decides it.
	TiesConstant = "constant"
	// TiesRaoKupper: P(i ≻ j) = σ(θi − θj − log κ), tie otherwise
	// (Rao & Kupper 1967), κ = TieParam > 1.
	TiesRaoKupper = "rao_kupper"
	// TiesDavidson: P(i ≻ j) = γi / (γi + γj + ν√(γiγj)) and
	// P(tie) = ν√(γiγj) / (γi + γj + ν√(γiγj)), γ = e^θ (Davidson 1970),
	// ν = TieParam ≥ 0.
	TiesDavidson = "davidson"
)

// ArenaConfig describes a synthetic arena with planted log-strengths.
type ArenaConfig struct {
	// Names of the models; if empty, Models names "model-01", "model-02", ….
	Names  []string
	Models int
	// Battles is the number of battles to draw.
	Battles int
	// Theta are the planted log-strengths, aligned with the names; if empty
	// they are drawn N(0, Spread²) (Spread 0 means 1) and centered to mean 0.
	Theta  []float64
	Spread float64
	// Ties is TiesConstant (the default when empty), TiesRaoKupper or
	// TiesDavidson. TieRate is the tie probability of TiesConstant; TieParam
	// is κ of Rao–Kupper or ν of Davidson.
	Ties     string
	TieRate  float64
	TieParam float64
	// BothBad is the fraction of ties labelled "tie (bothbad)" rather than "tie".
	BothBad float64
	// Skew is the popularity skew of pair draws: each side is drawn with
	// probability ∝ (rank+1)^−Skew over the models in name order, redrawn
	// until the sides differ. 0 draws pairs uniformly.
	Skew float64
	// Seed seeds every draw: the same config gives the same arena.
	Seed uint64
}

// GenerateArena draws battles from a Bradley–Terry model with planted
// log-strengths θ (P(i ≻ j) = σ(θi − θj) among decisive battles) and the
// configured tie mechanism. It returns the battles and the planted θ by
// model name. The side a model is shown on is a fair coin.
func GenerateArena(cfg ArenaConfig) ([]Battle, map[string]float64, error) {
	names := cfg.Names
	if len(names) == 0 {
		names = make([]string, cfg.Models)
		for i := range names {
			names[i] = fmt.Sprintf("model-%02d", i+1)
		}
	}
	k := len(names)
	if k < 2 {
		return nil, nil, fmt.Errorf("datasets: arena: want at least 2 models, got %d", k)
	}
	seen := map[string]bool{}
	for _, n := range names {
		if n == "" || seen[n] {
			return nil, nil, fmt.Errorf("datasets: arena: want distinct non-empty model names, got %q twice or empty", n)
		}
		seen[n] = true
	}
	if cfg.Battles < 0 {
		return nil, nil, fmt.Errorf("datasets: arena: want battles ≥ 0, got %d", cfg.Battles)
	}
	ties := cfg.Ties
	if ties == "" {
		ties = TiesConstant
	}
	switch ties {
	case TiesConstant:
		if cfg.TieRate < 0 || cfg.TieRate >= 1 {
			return nil, nil, fmt.Errorf("datasets: arena: want tie rate in [0, 1), got %v", cfg.TieRate)
		}
	case TiesRaoKupper:
		if !(cfg.TieParam >= 1) {
			return nil, nil, fmt.Errorf("datasets: arena: want Rao–Kupper κ ≥ 1, got %v", cfg.TieParam)
		}
	case TiesDavidson:
		if !(cfg.TieParam >= 0) {
			return nil, nil, fmt.Errorf("datasets: arena: want Davidson ν ≥ 0, got %v", cfg.TieParam)
		}
	default:
		return nil, nil, fmt.Errorf("datasets: arena: want ties one of %q, %q, %q, got %q", TiesConstant, TiesRaoKupper, TiesDavidson, cfg.Ties)
	}
	if cfg.BothBad < 0 || cfg.BothBad > 1 {
		return nil, nil, fmt.Errorf("datasets: arena: want bothbad fraction in [0, 1], got %v", cfg.BothBad)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xa7e4a))
	theta := make([]float64, k)
	if len(cfg.Theta) > 0 {
		if len(cfg.Theta) != k {
			return nil, nil, fmt.Errorf("datasets: arena: want %d planted strengths, got %d", k, len(cfg.Theta))
		}
		copy(theta, cfg.Theta)
	} else {
		spread := cfg.Spread
		if spread == 0 {
			spread = 1
		}
		mean := 0.0
		for i := range theta {
			theta[i] = spread * rng.NormFloat64()
			mean += theta[i] / float64(k)
		}
		for i := range theta {
			theta[i] -= mean
		}
	}
	// Cumulative popularity weights for the pair draws.
	cum := make([]float64, k)
	total := 0.0
	for i := range cum {
		total += math.Pow(float64(i+1), -cfg.Skew)
		cum[i] = total
	}
	pick := func() int {
		u := rng.Float64() * total
		i := sort.SearchFloat64s(cum, u)
		if i >= k {
			i = k - 1
		}
		return i
	}
	battles := make([]Battle, cfg.Battles)
	for n := range battles {
		i := pick()
		j := pick()
		for j == i {
			j = pick()
		}
		d := theta[i] - theta[j]
		var pWin, pTie float64 // P(i ≻ j), P(tie)
		switch ties {
		case TiesConstant:
			pTie = cfg.TieRate
			pWin = (1 - pTie) / (1 + math.Exp(-d))
		case TiesRaoKupper:
			eta := math.Log(cfg.TieParam)
			pWin = 1 / (1 + math.Exp(-(d - eta)))
			pLose := 1 / (1 + math.Exp(-(-d - eta)))
			pTie = 1 - pWin - pLose
		case TiesDavidson:
			z := math.Exp(d/2) + math.Exp(-d/2) + cfg.TieParam
			pWin = math.Exp(d/2) / z
			pTie = cfg.TieParam / z
		}
		u := rng.Float64()
		var w string
		switch {
		case u < pWin:
			w = WinnerA
		case u < pWin+pTie:
			w = WinnerTie
			if rng.Float64() < cfg.BothBad {
				w = WinnerTieBothBad
			}
		default:
			w = WinnerB
		}
		if rng.IntN(2) == 1 { // show i on the right
			i, j = j, i
			switch w {
			case WinnerA:
				w = WinnerB
			case WinnerB:
				w = WinnerA
			}
		}
		battles[n] = Battle{ModelA: names[i], ModelB: names[j], Winner: w}
	}
	planted := make(map[string]float64, k)
	for i, n := range names {
		planted[n] = theta[i]
	}
	return battles, planted, nil
}

// SampleArenaName is the name of the embedded sample arena, used in errors
// and notes: a JSONL file of 10 fictional models and 5,000 battles drawn by
// GenerateArena(SampleArenaConfig()).
const SampleArenaName = "samples/arena.jsonl"

//go:embed samples/arena.jsonl
var sampleArena []byte

// SampleArenaConfig is the config the embedded sample arena was generated
// with; regenerating it gives the embedded file byte for byte.
func SampleArenaConfig() ArenaConfig {
	return ArenaConfig{
		Names: []string{
			"aurora-70b", "basalt-34b", "cedar-13b", "dune-8x7b", "ember-7b",
			"fjord-70b-chat", "granite-3b", "helix-22b", "iris-mini", "juniper-1.5b",
		},
		Battles: 5000,
		Spread:  0.8,
		TieRate: 0.2,
		BothBad: 0.3,
		Skew:    0.5,
		Seed:    2024,
	}
}

// SampleArena returns a reader of the embedded sample arena (JSONL); read it
// with ReadBattles(SampleArena(), SampleArenaName) or SampleBattles.
func SampleArena() io.Reader { return bytes.NewReader(sampleArena) }

// SampleBattles returns the battles of the embedded sample arena.
func SampleBattles() ([]Battle, error) { return ReadBattles(SampleArena(), SampleArenaName) }
