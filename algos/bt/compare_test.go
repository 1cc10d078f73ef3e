package bt

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

func TestCompareLeaderboardsKnown(t *testing.T) {
	a := &Leaderboard{Name: "a", Models: []string{"m1", "m2", "m3", "m4", "only-a"}, Scores: []float64{4, 3, 2, 1, 0}}
	b := &Leaderboard{Name: "b", Models: []string{"m4", "m3", "m2", "m1", "only-b"}, Scores: []float64{1, 3, 2, 4, 9}}
	ag, err := CompareLeaderboards(a, b, 500, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	// Common m1 > m2 > m3 > m4 in a; m1 > m3 > m2 > m4 in b: one swap of
	// six pairs, τ = 4/6, ρ = 0.8.
	if math.Abs(ag.Tau-4.0/6) > 1e-12 || math.Abs(ag.Rho-0.8) > 1e-12 {
		t.Errorf("τ %v, ρ %v; want 2/3 and 0.8", ag.Tau, ag.Rho)
	}
	if strings.Join(ag.OnlyA, ",") != "only-a" || strings.Join(ag.OnlyB, ",") != "only-b" || len(ag.Models) != 4 {
		t.Errorf("models %v, only A %v, only B %v", ag.Models, ag.OnlyA, ag.OnlyB)
	}
	if ag.Bootstrap != BootstrapModels || ag.Rounds == 0 || ag.Rounds > 500 || !(ag.TauLow <= ag.Tau && ag.Tau <= ag.TauHigh) {
		t.Errorf("bootstrap %s, %d rounds, τ interval [%v, %v]", ag.Bootstrap, ag.Rounds, ag.TauLow, ag.TauHigh)
	}
	if _, err := CompareLeaderboards(a, &Leaderboard{Name: "c", Models: []string{"m1", "x"}, Scores: []float64{1, 2}}, 0, nil); err == nil ||
		!strings.Contains(err.Error(), "want at least 2 models in both leaderboards, got 1 in common") {
		t.Errorf("one model in common: got %v", err)
	}
}

// A bt.ratings result and the battle file it was computed from give the
// same leaderboard: τ = 1; the battle bootstrap of two arenas drawn from the
// same planted strengths gives an interval around the observed τ.
func TestLoadLeaderboardResultAndBattles(t *testing.T) {
	dir := t.TempDir()
	battles := filepath.Join(dir, "arena.jsonl")
	b, err := os.ReadFile(filepath.Join("..", "..", "datasets", datasets.SampleArenaName))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(battles, b, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := kernel.Run(context.Background(), "bt.ratings", kernel.Options{Params: map[string]any{ParamBootstrapRounds: 0}, Data: []string{battles}})
	if err != nil {
		t.Fatal(err)
	}
	js, err := res.JSON()
	if err != nil {
		t.Fatal(err)
	}
	resultPath := filepath.Join(dir, "result.json")
	if err := os.WriteFile(resultPath, js, 0o644); err != nil {
		t.Fatal(err)
	}
	fromResult, err := LoadLeaderboard(resultPath)
	if err != nil {
		t.Fatal(err)
	}
	fromBattles, err := LoadLeaderboard(battles)
	if err != nil {
		t.Fatal(err)
	}
	if fromResult.Counts != nil || fromBattles.Counts == nil || len(fromResult.Models) != 10 {
		t.Fatalf("result: %d models (counts %v); battles: counts %v", len(fromResult.Models), fromResult.Counts != nil, fromBattles.Counts != nil)
	}
	for i, m := range fromResult.Models {
		if s, ok := fromBattles.Score(m); !ok || math.Abs(s-fromResult.Scores[i]) > 1e-6 {
			t.Errorf("%s: %v from the result, %v from the battles", m, fromResult.Scores[i], s)
		}
	}
	res, err = kernel.Run(context.Background(), "bt.compare", kernel.Options{Params: map[string]any{ParamBootstrapRounds: 20}, Data: []string{resultPath, battles}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Final["kendall_tau"] != 1 || res.Final["spearman_rho"] != 1 || res.Final["models"] != 10 {
		t.Errorf("same leaderboard twice: finals %v", res.Final)
	}
	// Errors: a result of another plugin; one file.
	other, err := kernel.Run(context.Background(), "bt.compare", kernel.Options{Params: map[string]any{ParamBootstrapRounds: 0}})
	if err != nil {
		t.Fatal(err)
	}
	js, _ = other.JSON()
	otherPath := filepath.Join(dir, "other.json")
	os.WriteFile(otherPath, js, 0o644)
	_, err = LoadLeaderboard(otherPath)
	var de *datasets.Error
	if !errors.As(err, &de) || de.Field != "tables" || !strings.Contains(err.Error(), "got bt.compare result with tables models") {
		t.Errorf("a bt.compare result: got %v", err)
	}
	_, err = kernel.Run(context.Background(), "bt.compare", kernel.Options{Data: []string{battles}})
	var ue *kernel.DataUsageError
	if !errors.As(err, &ue) || err.Error() != "bt.compare: --data: want 2 files, two leaderboards (--data A --data B), got 1 file" {
		t.Errorf("one file: got %v, want a *kernel.DataUsageError", err)
	}
}

func TestComparePluginDefault(t *testing.T) {
	var prev []byte
	for range 2 {
		res, err := kernel.Run(context.Background(), "bt.compare", kernel.Options{Params: map[string]any{ParamBootstrapRounds: 30, "seed": 2}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := res.CanonicalJSON()
		if prev != nil && string(b) != string(prev) {
			t.Fatal("same seed, different result")
		}
		prev = b
		f := res.Final
		if !(f["tau_ci_low"] <= f["kendall_tau"] && f["kendall_tau"] <= f["tau_ci_high"]) || f["models"] != 10 || f["bootstrap_rounds_used"] != 30 {
			t.Errorf("finals %v", f)
		}
		// Both arenas rank the planted strengths well: the sample has 5,000 battles.
		if f["tau_a_planted"] < 0.7 {
			t.Errorf("τ of the sample arena against its planted order %v, want ≥ 0.7", f["tau_a_planted"])
		}
	}
}
