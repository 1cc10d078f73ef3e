package bt

import (
	"bytes"
	"compress/gzip"
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

// Issue 14: bt.compare reads plain leaderboards (model, score), which it
// used to parse as battles ("model_a" missing). Five models, one swap
// (m2/m3) and one tie in B (m2 = m4): n_c = 8, n_d = 1, n_b = 1 of 10 pairs,
// τ_b = (8 − 1)/√(10·9) = 7/√90; ranks (5,4,3,2,1) vs (5,2.5,4,2.5,1) give
// ρ = 8/√(10·9.5).
func TestCompareLeaderboardFiles(t *testing.T) {
	const tol = 1e-12
	wantTau, wantRho := 7/math.Sqrt(90), 8/math.Sqrt(95)
	a := writeFile(t, "a.csv", "model,score\nm1,1300\nm2,1250\nm3,1200\nm4,1150\nm5,1100\n")
	b := writeFile(t, "b.csv", "\ufeffRank, Model ,Rating,votes\n1,m1,9.1,300\n3,m2,8.7,120\n2,m3,8.9,80\n3,m4,8.7,95\n5,m5,7.0,410\n")
	bJSON := writeFile(t, "b.json", `[{"model":"m1","score":9.1},{"model":"m2","score":8.7},{"model":"m3","score":8.9},{"model":"m4","score":8.7},{"model":"m5","score":7}]`)
	bJSONL := writeFile(t, "b.jsonl", "{\"model\":\"m1\",\"elo\":9.1}\n\n{\"model\":\"m2\",\"elo\":8.7}\n{\"model\":\"m3\",\"elo\":8.9}\n{\"model\":\"m4\",\"elo\":8.7}\n{\"model\":\"m5\",\"elo\":7}\n")
	bMap := writeFile(t, "b-map.json", `{"m1": 9.1, "m2": 8.7, "m3": 8.9, "m4": 8.7, "m5": 7}`)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("model,score\nm1,9.1\nm2,8.7\nm3,8.9\nm4,8.7\nm5,7\n"))
	zw.Close()
	bGz := writeFile(t, "b.csv.gz", gz.String())
	for _, tc := range []struct {
		name, b, format string
	}{
		{"csv", b, FormatScoresCSV},
		{"json array", bJSON, FormatScoresJSON},
		{"json lines", bJSONL, FormatScoresJSONL},
		{"json object", bMap, FormatScoresJSON},
		{"gzip csv", bGz, FormatScoresCSV},
	} {
		res, err := kernel.Run(context.Background(), "bt.compare", kernel.Options{Params: map[string]any{ParamBootstrapRounds: 0}, Data: []string{a, tc.b}})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := res.Final["kendall_tau"]; math.Abs(got-wantTau) > tol {
			t.Errorf("%s: τ-b %v, want 7/√90 = %v", tc.name, got, wantTau)
		}
		if got := res.Final["spearman_rho"]; math.Abs(got-wantRho) > tol {
			t.Errorf("%s: ρ %v, want 8/√95 = %v", tc.name, got, wantRho)
		}
		if res.Final["models"] != 5 {
			t.Errorf("%s: %v models in common, want 5", tc.name, res.Final["models"])
		}
		lb, err := LoadLeaderboard(tc.b)
		if err != nil || lb.Format != tc.format {
			t.Errorf("%s: format %q, %v; want %q", tc.name, lb.Format, err, tc.format)
		}
	}
}

func TestLoadLeaderboardErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file, content, want string
	}{
		{"unknown csv header", "x.csv", "name,points\na,1\nb,2\n",
			`x.csv:1: want a leaderboard (CSV with a header naming model and score; JSON [{"model": …, "score": …}, …], {"model": score, …} or one {"model": …, "score": …} per line), a result JSON of bt.ratings or bt.plackett_luce, or battles (model_a, model_b, winner); got header "name,points"`},
		{"no score column", "x.csv", "model,votes\na,1\n", `x.csv:1: score: missing: a leaderboard CSV names a score column (score, rating, elo) beside model`},
		{"duplicate model", "x.csv", "model,score\na,1\nb,2\na,3\n", `x.csv:4: model: want each model once, got "a" again (first at line 2)`},
		{"bad score", "x.csv", "model,score\na,1\nb,high\n", `x.csv:3: score: want a number, got "high"`},
		{"nan score", "x.csv", "model,score\na,1\nb,NaN\n", `x.csv:3: score: want a finite score for "b", got NaN`},
		{"empty model", "x.csv", "model,score\na,1\n,2\n", "x.csv:3: model: want a model name, got an empty string"},
		{"short row", "x.csv", "model,rank,score\na,1,1\nb,2\n", "x.csv:3: want 3 fields, as the header, got 2"},
		{"one model", "x.csv", "model,score\na,1\n", "x.csv: want a leaderboard of at least 2 models, got 1"},
		{"json score missing", "x.json", `[{"model":"a","score":1},{"model":"b"}]`, "x.json: [1].score: missing: want a score (field score, rating or elo)"},
		{"json score string", "x.jsonl", "{\"model\":\"a\",\"score\":1}\n{\"model\":\"b\",\"score\":\"2\"}\n", `x.jsonl:2: score: want a number, got "2"`},
		{"json other object", "x.json", `{"name": "a", "points": [1]}`, `x.json:1: want a leaderboard (CSV`},
		{"json array of other objects", "x.json", `[{"name": "a"}]`, `x.json: [0]: want a leaderboard (CSV`},
		{"json objects, one per line", "x.json", "{\"a\": 1, \"b\": 2}\n{\"c\": 3}\n", `x.json: want one JSON object {"model": score, …}, got more after it`},
		{"json object, string score", "x.json", `{"a": 1, "b": 2, "c": "3"}`, `x.json:1: want a leaderboard (CSV`},
	} {
		path := writeFile(t, tc.file, tc.content)
		_, err := LoadLeaderboard(path)
		var de *datasets.Error
		if !errors.As(err, &de) || !strings.HasPrefix(strings.TrimPrefix(err.Error(), filepath.Dir(path)+string(filepath.Separator)), tc.want) {
			t.Errorf("%s: got %v, want a *datasets.Error starting %q", tc.name, err, tc.want)
		}
	}
}
