package bt

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// This file holds the plugins' SampleData (kernel.SampleData): small input
// files, written with the datasets package's own generators and writers,
// on which the tests that run every plugin on files check what a run on
// data records.

var (
	_ kernel.SampleData = ratings{}
	_ kernel.SampleData = comparePlugin{}
	_ kernel.SampleData = plPlugin{}
	_ kernel.SampleData = rewardPlugin{}
)

// sampleSeed seeds every sample file: the same files every time.
const sampleSeed = 14

// writeSample writes what write produces to dir/name and returns the path.
func writeSample(dir, name string, write func(*bytes.Buffer) error) (string, error) {
	var b bytes.Buffer
	if err := write(&b); err != nil {
		return "", err
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return "", err
	}
	return path, nil
}

// sampleBattles writes battles of a small generated arena to dir/name.
func sampleBattles(dir, name string, models, battles int, seed uint64) (string, error) {
	bs, _, err := datasets.GenerateArena(datasets.ArenaConfig{Models: models, Battles: battles, TieRate: 0.1, Seed: seed})
	if err != nil {
		return "", err
	}
	return writeSample(dir, name, func(b *bytes.Buffer) error { return datasets.WriteBattlesJSONL(b, bs) })
}

// SampleData writes two battle files (JSONL) of small generated arenas,
// the second with a model the first lacks.
func (ratings) SampleData(dir string) ([]string, error) {
	a, err := sampleBattles(dir, "arena-a.jsonl", 4, 200, sampleSeed)
	if err != nil {
		return nil, err
	}
	b, err := sampleBattles(dir, "arena-b.jsonl", 5, 150, sampleSeed+1)
	if err != nil {
		return nil, err
	}
	return []string{a, b}, nil
}

// SampleData writes a plain leaderboard (CSV model,score) and a battle file
// on the same models, fitted by bt.compare.
func (comparePlugin) SampleData(dir string) ([]string, error) {
	lb, err := writeSample(dir, "leaderboard.csv", func(b *bytes.Buffer) error {
		b.WriteString("model,score\n")
		for i, s := range []float64{1012.5, 1040, 987.25, 960} {
			fmt.Fprintf(b, "model-%02d,%g\n", i+1, s)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	battles, err := sampleBattles(dir, "arena.jsonl", 4, 200, sampleSeed)
	if err != nil {
		return nil, err
	}
	return []string{lb, battles}, nil
}

// SampleData writes one file of Plackett–Luce rankings of items, top-3
// lists of 5 offered of 6 items.
func (plPlugin) SampleData(dir string) ([]string, error) {
	r, err := datasets.GeneratePLRankings(datasets.PLConfig{Items: 6, Rankings: 60, Length: 3, Offered: 5, Spread: 1},
		rand.New(rand.NewPCG(sampleSeed, 0)))
	if err != nil {
		return nil, err
	}
	path, err := writeSample(dir, "rankings.jsonl", func(b *bytes.Buffer) error { return datasets.WriteRankings(b, r) })
	if err != nil {
		return nil, err
	}
	return []string{path}, nil
}

// SampleData writes one file of 120 Bradley–Terry reward pairs of
// dimension 5 (feature vectors).
func (rewardPlugin) SampleData(dir string) ([]string, error) {
	train, _, err := datasets.GenerateRewardPairs(datasets.RewardPairsConfig{Dim: 5, Pairs: 120, TestPairs: 1, Scale: 2},
		rand.New(rand.NewPCG(sampleSeed, 0)))
	if err != nil {
		return nil, err
	}
	path, err := writeSample(dir, "pairs.jsonl", func(b *bytes.Buffer) error { return datasets.WriteRewardPairs(b, train) })
	if err != nil {
		return nil, err
	}
	return []string{path}, nil
}
