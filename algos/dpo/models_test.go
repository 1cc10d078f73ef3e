package dpo

import (
	"context"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/algos/artifact"
	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/internal/modeltest"
	"github.com/alignlab/alignlab/kernel"
)

// writePrefs writes a planted file of pairs comparisons of dimension dim
// into dir and returns its path.
func writePrefs(t *testing.T, dir, name string, dim, pairs int, seed uint64) string {
	t.Helper()
	p, err := datasets.GeneratePrefs(datasets.PrefsConfig{Dim: dim, WNorm: 2, Candidates: 4, Pairs: pairs, FlipRate: 0.1, TestPrompts: 1},
		rand.New(rand.NewPCG(seed, 3)))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := writeFile(path, func(w io.Writer) error { return datasets.WritePrefs(w, p) }); err != nil {
		t.Fatal(err)
	}
	return path
}

// Every training plugin hands back its policy; saved and loaded, it
// scores new pairs exactly as the policy in memory does.
func TestModelRoundTrip(t *testing.T) {
	file := writePrefs(t, t.TempDir(), "new.jsonl", DefaultDim, 40, 1)
	for _, k := range Kinds {
		id := "dpo." + string(k)
		quick, _ := kernel.QuickParams(id)
		res := modeltest.Train(t, id, quick)
		p := modeltest.RoundTrip(t, res)
		sc := p.Score(t, nil, file)
		if n := len(sc.Tables[TableScores].Rows); n != 40 {
			t.Errorf("%s: %d rows of scores, want 40", id, n)
		}
		if got := sc.Provenance.Data[0].Shape["dim"]; got != DefaultDim {
			t.Errorf("%s: score recorded dim %v, want %d", id, got, DefaultDim)
		}
		for _, name := range []string{MetricLoss, MetricAccuracy, "mean_margin", "log_loss"} {
			if v, ok := sc.Final[name]; !ok || math.IsNaN(v) {
				t.Errorf("%s: score final %s = %v, %v", id, name, v, ok)
			}
		}
	}
}

// Scoring a run's own --data files reproduces its final loss, accuracy and
// margin bit for bit: they are full-batch measures of the final policy.
func TestModelScoreReproducesRun(t *testing.T) {
	dir := t.TempDir()
	files := []string{writePrefs(t, dir, "a.jsonl", 3, 60, 2), writePrefs(t, dir, "b.jsonl", 3, 30, 3)}
	for _, tc := range []struct {
		id     string
		params map[string]any
	}{
		{"dpo.dpo", map[string]any{}},
		{"dpo.rdpo", map[string]any{ParamEpsilon: 0.2, fit.ParamBatchSize: 30}},
		{"dpo.ipo", map[string]any{ParamBeta: 0.5}},
		{"dpo.cdpo", map[string]any{ParamPolicy: PolicyMLP, ParamHidden: 4, ParamLayers: 2, fit.ParamBatchSize: 30}},
	} {
		tc.params[fit.ParamSteps], tc.params[fit.ParamEvalEvery] = 12, 6
		res := modeltest.Train(t, tc.id, tc.params, files...)
		l, err := kernel.LoadedOf(res)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := l.Score(context.Background(), kernel.Options{Data: files})
		if err != nil {
			t.Fatalf("%s: %v", tc.id, err)
		}
		for score, run := range map[string]string{MetricLoss: MetricLoss, MetricAccuracy: MetricAccuracy, "mean_margin": MetricMargin} {
			if got, want := sc.Final[score], res.Final[run]; got != want {
				t.Errorf("%s: score %s = %v, want the run's final %s %v", tc.id, score, got, run, want)
			}
		}
		if tc.id == "dpo.dpo" && sc.Final["log_loss"] != sc.Final[MetricLoss] {
			t.Errorf("dpo.dpo: log_loss %v differs from its loss %v", sc.Final["log_loss"], sc.Final[MetricLoss])
		}
	}
}

// A hand-built log-linear policy scores in closed form: h = θ·(φ_w − φ_l),
// margin βh, P(chosen ≻ rejected) = σ(βh), and the weighted losses.
func TestModelScoreClosedForm(t *testing.T) {
	const tol = 1e-15
	dir := t.TempDir()
	file := filepath.Join(dir, "pairs.jsonl")
	os.WriteFile(file, []byte(`{"features": [[1, 0], [0, 1]], "chosen": 0, "rejected": 1}
{"features": [[0, 0], [1, 1], [2, 0]], "chosen": 2, "rejected": 1, "weight": 3}
`), 0o644)
	theta := []float64{1, -2}
	wantH := []float64{3, 3}       // 1·1 + (−2)(−1); 1·1 + (−2)(−1)
	wantWeights := []float64{1, 3} // as the file gives them
	const beta = 0.5
	pol := &Policy{Loss: DPO, Beta: beta, Arch: PolicyLogLinear, Dim: 2, Weights: artifact.Weights{"theta": artifact.F64(theta)}}
	l, err := kernel.LoadedOf(&kernel.Result{Plugin: "dpo.dpo", Model: pol, Params: kernel.Params{ParamBeta: beta}})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := l.Score(context.Background(), kernel.Options{Data: []string{file}})
	if err != nil {
		t.Fatal(err)
	}
	tb := sc.Tables[TableScores]
	for i, h := range tb.Floats("log_ratio") {
		if h != wantH[i] {
			t.Errorf("pair %d: h = %v, want %v", i, h, wantH[i])
		}
		if got := tb.Floats("weight")[i]; got != wantWeights[i] {
			t.Errorf("pair %d: weight %v, want %v", i, got, wantWeights[i])
		}
		if got, want := tb.Floats("p_chosen")[i], 1/(1+math.Exp(-beta*3)); math.Abs(got-want) > tol {
			t.Errorf("pair %d: p_chosen %v, want %v", i, got, want)
		}
	}
	wantLoss := math.Log1p(math.Exp(-beta * 3)) // the same for both pairs, whatever the weights
	for name, want := range map[string]float64{MetricLoss: wantLoss, "log_loss": wantLoss, MetricAccuracy: 1, "mean_margin": beta * 3} {
		if got := sc.Final[name]; math.Abs(got-want) > tol {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	// IPO's loss (h − 1/(2β))² at the caller's β = 0.25: (3 − 2)² = 1.
	ipo := *pol
	ipo.Loss = IPO
	l, _ = kernel.LoadedOf(&kernel.Result{Plugin: "dpo.ipo", Model: &ipo, Params: kernel.Params{ParamBeta: beta}})
	sc, err = l.Score(context.Background(), kernel.Options{Data: []string{file}, Params: map[string]any{ParamBeta: 0.25}})
	if err != nil {
		t.Fatal(err)
	}
	if got := sc.Final[MetricLoss]; math.Abs(got-1) > tol {
		t.Errorf("ipo at β = 0.25: loss %v, want 1", got)
	}
}

// A run started from a saved policy measures it at step 0: the series'
// first points are the saved run's finals, bit for bit (same seed, so the
// same planted pairs and held-out prompts).
func TestModelInit(t *testing.T) {
	for _, tc := range []struct {
		id     string
		params map[string]any
	}{
		{"dpo.rdpo", map[string]any{ParamEpsilon: 0.2}},
		{"dpo.dpo", map[string]any{ParamPolicy: PolicyMLP, ParamHidden: 4, fit.ParamBatchSize: 50}},
	} {
		params := map[string]any{ParamPairs: 200, ParamTestPrompts: 30, ParamDim: 3, fit.ParamSteps: 10, fit.ParamEvalEvery: 5}
		for k, v := range tc.params {
			params[k] = v
		}
		res := modeltest.Train(t, tc.id, params)
		dir := modeltest.Save(t, res)
		warm, err := kernel.Run(context.Background(), tc.id, kernel.Options{Params: params, Init: dir})
		if err != nil {
			t.Fatalf("%s: %v", tc.id, err)
		}
		for _, name := range []string{MetricLoss, MetricAccuracy, MetricMargin, MetricGap} {
			if got, want := warm.Series[name][0].Value, res.Final[name]; got != want {
				t.Errorf("%s: warm start: %s at step 0 = %v, want the saved run's final %v", tc.id, name, got, want)
			}
		}
		if warm.Provenance.Init == nil || warm.Provenance.Init.Plugin != tc.id {
			t.Errorf("%s: the result does not record the init model: %+v", tc.id, warm.Provenance.Init)
		}
		// Cold, step 0 is π_ref: h = 0 on every pair, accuracy ½.
		if got := res.Series[MetricAccuracy][0].Value; got != 0.5 {
			t.Errorf("%s: cold start: accuracy at step 0 = %v, want ½", tc.id, got)
		}
	}
}

// Bad models and bad data give errors that say what is wrong.
func TestModelErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	otherDir := modeltest.OtherModel(t)
	params := map[string]any{ParamPairs: 100, ParamTestPrompts: 10, ParamDim: 4, fit.ParamSteps: 2, fit.ParamEvalEvery: 1}
	res := modeltest.Train(t, "dpo.dpo", params)
	saved := modeltest.Save(t, res)
	file3 := writePrefs(t, dir, "d3.jsonl", 3, 10, 4)

	var mu *kernel.ModelUsageError
	for _, tc := range []struct {
		name  string
		run   func() error
		usage bool // a *kernel.ModelUsageError
		want  string
	}{
		{"another plugin's model", func() error {
			_, err := kernel.Run(ctx, "dpo.cdpo", kernel.Options{Params: params, Init: otherDir})
			return err
		}, true, "dpo.cdpo: --model: a constant, want a dpo policy"},
		{"another dimension", func() error {
			_, err := kernel.Run(ctx, "dpo.dpo", kernel.Options{Params: params, Data: []string{file3}, Init: saved})
			return err
		}, true, "dpo.dpo: --model: the saved policy has feature dimension 4, the run's data 3"},
		{"another architecture", func() error {
			p := map[string]any{ParamPolicy: PolicyMLP}
			for k, v := range params {
				p[k] = v
			}
			_, err := kernel.Run(ctx, "dpo.dpo", kernel.Options{Params: p, Init: saved})
			return err
		}, true, "the run trains policy = mlp (set policy=loglinear)"},
		{"scoring another dimension", func() error {
			l, err := kernel.Load(saved)
			if err != nil {
				return err
			}
			_, err = l.Score(ctx, kernel.Options{Data: []string{file3}})
			return err
		}, false, "d3.jsonl:1: features: want vectors of length 4 (the model's feature dimension), got 3"},
	} {
		err := tc.run()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
		if tc.usage && !errors.As(err, &mu) {
			t.Errorf("%s: %T is no *kernel.ModelUsageError", tc.name, err)
		}
	}

	// A saved policy whose arrays contradict model.json, or that lacks
	// model.json, does not load.
	bad := filepath.Join(dir, "bad")
	if err := kernel.SaveModel(res, bad); err != nil {
		t.Fatal(err)
	}
	if err := artifact.Save(bad, artifact.Weights{"theta": artifact.F64([]float64{1, 2, 3})}); err != nil {
		t.Fatal(err)
	}
	if _, err := kernel.Load(bad); err == nil || !strings.Contains(err.Error(), `array "theta" has shape [3], want [4]`) || !strings.Contains(err.Error(), bad) {
		t.Errorf("load of a policy with the wrong θ: %v", err)
	}
	os.Remove(filepath.Join(bad, PolicyFile))
	if _, err := kernel.Load(bad); err == nil || !strings.Contains(err.Error(), "holds no "+PolicyFile) {
		t.Errorf("load of a policy without its facts file: %v", err)
	}
}
