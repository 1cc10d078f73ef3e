package bt

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

func TestPluginOnSample(t *testing.T) {
	opts := kernel.Options{Params: map[string]any{ParamBootstrapRounds: 30, "seed": 5}}
	r1, err := kernel.Run(context.Background(), "bt.ratings", opts)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := kernel.Run(context.Background(), "bt.ratings", opts)
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := r1.CanonicalJSON()
	b2, _ := r2.CanonicalJSON()
	if string(b1) != string(b2) {
		t.Fatal("same seed, different CanonicalJSON")
	}
	r3, _ := kernel.Run(context.Background(), "bt.ratings", kernel.Options{Params: map[string]any{ParamBootstrapRounds: 30, "seed": 6}})
	if b3, _ := r3.CanonicalJSON(); string(b3) == string(b1) {
		t.Error("another seed gave the same bootstrap")
	}

	lb := r1.Tables["leaderboard"]
	if got := strings.Join(lb.Columns, ","); got != "model,rating,ci_low,ci_high,battles,wins,losses,ties" {
		t.Fatalf("leaderboard columns: %s", got)
	}
	if len(lb.Rows) != 10 {
		t.Fatalf("leaderboard has %d rows, want 10", len(lb.Rows))
	}
	rating, lo, hi := lb.Floats("rating"), lb.Floats("ci_low"), lb.Floats("ci_high")
	mean := 0.0
	for i := range rating {
		mean += rating[i] / float64(len(rating))
		if i > 0 && rating[i] > rating[i-1] {
			t.Errorf("leaderboard not sorted by rating: %v", rating)
		}
		if !(lo[i] <= rating[i] && rating[i] <= hi[i]) {
			t.Errorf("%s: rating %v outside its CI [%v, %v]", lb.Rows[i][0], rating[i], lo[i], hi[i])
		}
	}
	if math.Abs(mean-DefaultAnchorRating) > 1e-9 {
		t.Errorf("mean rating %v, want %v", mean, DefaultAnchorRating)
	}
	var battles float64
	for _, b := range lb.Floats("battles") {
		battles += b
	}
	if battles != 2*5000 || r1.Final["battles"] != 5000 || r1.Final["models"] != 10 {
		t.Errorf("battles: leaderboard sum %v, final %v, models %v", battles, r1.Final["battles"], r1.Final["models"])
	}
	for _, m := range []string{"log_likelihood", "iterations", "max_step", "grad_norm", "converged", "prior"} {
		if _, ok := r1.Final[m]; !ok {
			t.Errorf("final metric %s missing", m)
		}
	}
	if r1.Final["converged"] != 1 || r1.Final["max_step"] >= DefaultTolerance || r1.Final["prior"] != 0 {
		t.Errorf("finals: %v", r1.Final)
	}
	// The planted order of the sample: the leaderboard's top and bottom
	// models are the planted strongest and weakest.
	battlesList, planted, _ := datasets.GenerateArena(datasets.SampleArenaConfig())
	_ = battlesList
	best, worst := "", ""
	for m, th := range planted {
		if best == "" || th > planted[best] {
			best = m
		}
		if worst == "" || th < planted[worst] {
			worst = m
		}
	}
	models := lb.Strings("model")
	if models[0] != best || models[len(models)-1] != worst {
		t.Errorf("leaderboard %v: want %s first and %s last", models, best, worst)
	}

	wr := r1.Tables["win_rate"]
	if got := strings.Join(wr.Columns, ","); got != "model_a,model_b,win_rate" {
		t.Fatalf("win_rate columns: %s", got)
	}
	if len(wr.Rows) != 90 || wr.Rows[0][0] != models[0] || wr.Rows[0][1] != models[1] {
		t.Errorf("win_rate: %d rows, first %v", len(wr.Rows), wr.Rows[0])
	}
	// Win rates of a over b and b over a add up to 1 (ties as half).
	byPair := map[[2]string]float64{}
	for _, row := range wr.Rows {
		byPair[[2]string{row[0].(string), row[1].(string)}] = row[2].(float64)
	}
	for k, v := range byPair {
		if math.Abs(v+byPair[[2]string{k[1], k[0]}]-1) > 1e-12 {
			t.Errorf("%v: win rates %v and %v do not add to 1", k, v, byPair[[2]string{k[1], k[0]}])
		}
	}
	if len(r1.Charts) != 2 {
		t.Fatalf("charts: %+v", r1.Charts)
	}
	want := []kernel.Chart{
		{Kind: "leaderboard", ID: "leaderboard", Table: "leaderboard", Label: "model", Value: "rating", Low: "ci_low", High: "ci_high"},
		{Kind: "heatmap", ID: "win_rate", Table: "win_rate", X: "model_b", Y: "model_a", Value: "win_rate"},
	}
	for i, c := range r1.Charts {
		c.Title = ""
		if c.Kind != want[i].Kind || c.ID != want[i].ID || c.Table != want[i].Table || c.Label != want[i].Label ||
			c.Value != want[i].Value || c.Low != want[i].Low || c.High != want[i].High || c.X != want[i].X || c.Y != want[i].Y {
			t.Errorf("chart %d: got %+v, want %+v", i, c, want[i])
		}
	}
	if len(r1.Series["bootstrap_iterations"]) != 30 || len(r1.Series["fit_log_likelihood"]) == 0 {
		t.Errorf("series: %v", r1.SeriesNames())
	}
	if len(r1.Notes) == 0 || !strings.Contains(r1.Notes[0], "no --data: rating the embedded sample arena samples/arena.jsonl") {
		t.Errorf("notes: %q", r1.Notes)
	}
}

func TestPluginDataAnchorAndPrior(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "arena.csv")
	// "dud" never wins or ties: the prior must kick in and be reported.
	text := "model_a,model_b,winner\n" +
		strings.Repeat("alpha,beta,model_a\nbeta,alpha,model_a\nalpha,beta,tie\nbeta,gamma,model_a\ngamma,alpha,tie (bothbad)\ngamma,beta,model_a\nalpha,gamma,model_b\n", 20) +
		strings.Repeat("dud,alpha,model_b\ngamma,dud,model_a\n", 5)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, solver := range []string{SolverNewton, SolverMM} {
		for _, ties := range TieModels {
			res, err := kernel.Run(context.Background(), "bt.ratings", kernel.Options{
				Params: map[string]any{ParamAnchor: "beta", ParamAnchorRating: 1200.0, ParamBootstrapRounds: 20, ParamSolver: solver, ParamTies: ties},
				Data:   []string{path},
			})
			if err != nil {
				t.Fatalf("%s/%s: %v", solver, ties, err)
			}
			lb := res.Tables["leaderboard"]
			models, rating := lb.Strings("model"), lb.Floats("rating")
			for i, m := range models {
				if m == "beta" && rating[i] != 1200 {
					t.Errorf("anchor beta rated %v, want 1200", rating[i])
				}
				if math.IsNaN(rating[i]) || math.IsInf(rating[i], 0) {
					t.Errorf("%s rated %v", m, rating[i])
				}
			}
			if models[len(models)-1] != "dud" {
				t.Errorf("%s/%s: leaderboard %v: want dud last", solver, ties, models)
			}
			if res.Final["prior"] != DefaultPrior {
				t.Errorf("final prior %v, want %v", res.Final["prior"], DefaultPrior)
			}
			notes := strings.Join(res.Notes, "\n")
			if !strings.Contains(notes, "prior: ratings would be infinite (no wins or ties: dud)") {
				t.Errorf("notes %q do not mention the prior", notes)
			}
			if _, ok := res.Final["tie_param"]; ok != (ties != TiesHalf) {
				t.Errorf("%s: tie_param reported %v", ties, ok)
			}
		}
	}
	_, err := kernel.Run(context.Background(), "bt.ratings", kernel.Options{
		Params: map[string]any{ParamPrior: 0.0}, Data: []string{path}})
	var ne *NoMLEError
	if !errors.As(err, &ne) {
		t.Errorf("prior 0: got %v, want *NoMLEError", err)
	}
	_, err = kernel.Run(context.Background(), "bt.ratings", kernel.Options{
		Params: map[string]any{ParamAnchor: "zeta"}, Data: []string{path}})
	if err == nil || err.Error() != `bt: anchor: want one of the models (alpha, beta, dud, gamma), got "zeta"` {
		t.Errorf("unknown anchor: got %v", err)
	}
}

func TestPluginBadDataAndCancel(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(path, []byte(`{"model_a":"a","model_b":"b","winner":"model_a"}`+"\n"+`{"model_a":"a","model_b":"b","winner":"win"}`+"\n"), 0o644)
	_, err := kernel.Run(context.Background(), "bt.ratings", kernel.Options{Data: []string{path}})
	var de *datasets.Error
	if !errors.As(err, &de) || de.Line != 2 || de.Field != "winner" {
		t.Errorf("got %v, want a *datasets.Error at line 2, field winner", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	_, err = kernel.Run(ctx, "bt.ratings", kernel.Options{
		Params: map[string]any{ParamBootstrapRounds: 1000},
		Observer: func(e kernel.Event) {
			if e.Metric == "bootstrap_iterations" && e.Step == 5 {
				cancel()
			}
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: got %v, want context.Canceled", err)
	}
	desc, err := kernel.Describe("bt.ratings")
	if err != nil || !strings.Contains(desc, "P(i ≻ j) = σ(θi − θj)") || !strings.Contains(desc, "bootstrap_rounds") {
		t.Errorf("describe: %v\n%s", err, desc)
	}
}
