package bilevel

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
	kreport "github.com/alignlab/alignlab/kernel/report" // package bilevel has a func report
)

// smallParams is a problem small enough for a unit test: three sources
// (clean, 20% flips, pure noise) of 300 examples in 5 dimensions.
func smallParams(model string) map[string]any {
	return map[string]any{
		ParamModel: model, ParamFlipRates: "0,0.2,0.5", ParamPerSource: 300, ParamDim: 5,
		ParamVal: 100, ParamTest: 2000, fit.ParamSteps: 300, ParamRounds: 3, ParamHidden: 4,
	}
}

func run(t *testing.T, params map[string]any, data ...string) *kernel.Result {
	t.Helper()
	res, err := kernel.Run(context.Background(), ID, kernel.Options{Params: params, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func methodRow(t *testing.T, res *kernel.Result, method, col string) float64 {
	t.Helper()
	tb := res.Tables[TableMethods]
	for i, m := range tb.Strings("method") {
		if m == method {
			return tb.Floats(col)[i]
		}
	}
	t.Fatalf("no method %s in %v", method, tb.Strings("method"))
	return 0
}

func TestPluginInfo(t *testing.T) {
	p, err := kernel.Lookup(ID)
	if err != nil {
		t.Fatal(err)
	}
	info := p.Info()
	keys := map[string]bool{}
	for _, pr := range info.Params {
		keys[pr.Key] = true
	}
	for _, k := range []string{ParamModel, ParamAlpha, ParamAlphaGrowth, ParamRounds, fit.ParamSteps, fit.ParamLearningRate,
		ParamLearningRateU, ParamLearningRateLambda, fit.ParamOptimizer, ParamWeightDecay, ParamHidden, ParamBeta,
		ParamFilterMargin, fit.ParamEvalEvery, ParamFlipRates, ParamPerSource, ParamDim, ParamSignal, ParamVal, ParamTest} {
		if !keys[k] {
			t.Errorf("param %s is not declared", k)
		}
	}
	doc, err := kernel.Describe(ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2406.19976", "min_{w, λ} max_u", "J_softmax", "val_filter"} {
		if !strings.Contains(doc, want) {
			t.Errorf("describe lacks %q", want)
		}
	}
}

// On the small planted problem, reweighting moves the weight to the clean
// source and lands near the oracle, well below uniform weights.
func TestPluginClassification(t *testing.T) {
	for _, model := range []string{ModelLogistic, ModelDPO} {
		res := run(t, smallParams(model))
		tb := res.Tables[TableMethods]
		if got, want := strings.Join(tb.Columns, ","), "method,val_logloss,test_logloss,test_accuracy"; got != want {
			t.Errorf("%s: methods columns %s, want %s", model, got, want)
		}
		if got, want := strings.Join(tb.Strings("method"), ","), strings.Join(Methods, ","); got != want {
			t.Errorf("%s: methods %s, want %s", model, got, want)
		}
		w := res.Tables[TableWeights]
		if got, want := strings.Join(w.Columns, ","), "source,flip_rate,weight"; got != want {
			t.Errorf("%s: weights columns %s, want %s", model, got, want)
		}
		sum := 0.0
		for _, v := range w.Floats("weight") {
			sum += v
		}
		if math.Abs(sum-1) > 1e-12 {
			t.Errorf("%s: weights sum to %v, want 1", model, sum)
		}
		if p0 := w.Floats("weight")[0]; p0 < 0.8 {
			t.Errorf("%s: clean source weight %v, want > 0.8 (from ⅓)", model, p0)
		}
		uni, orc := methodRow(t, res, MethodUniform, "test_logloss"), methodRow(t, res, MethodOracle, "test_logloss")
		sb := methodRow(t, res, MethodScaleBiO, "test_logloss")
		t.Logf("%s: test log-loss uniform %.4f, oracle %.4f, scalebio %.4f; weights %.3g", model, uni, orc, sb, w.Floats("weight"))
		if !(sb < uni-0.05 && math.Abs(sb-orc) < 0.03) {
			t.Errorf("%s: test log-loss scalebio %v: want ≥ 0.05 below uniform (%v) and within 0.03 of the oracle (%v)", model, sb, uni, orc)
		}
		if n := len(res.Series[MetricWeightPrefix+"s2"]); n < 30 {
			t.Errorf("%s: %d points in weight/s2, want ≥ 30", model, n)
		}
		if len(res.Charts) != 3 {
			t.Errorf("%s: %d charts, want 3", model, len(res.Charts))
		}
		if _, err := kreport.Charts(res); err != nil {
			t.Errorf("%s: charts: %v", model, err)
		}
	}
}

func TestPluginDeterministic(t *testing.T) {
	params := smallParams(ModelMLP)
	params[fit.ParamSteps] = 60
	params[ParamPerSource] = 60
	params[ParamRounds] = 2
	a, err := run(t, params).CanonicalJSON()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := run(t, params).CanonicalJSON()
	if !bytes.Equal(a, b) {
		t.Error("same seed: the canonical JSON differs")
	}
	params[kernel.ParamSeed] = 2
	c, _ := run(t, params).CanonicalJSON()
	if bytes.Equal(a, c) {
		t.Error("seeds 1 and 2 gave the same result")
	}
}

func TestPluginData(t *testing.T) {
	s, err := datasets.GenerateSources(datasets.SourcesConfig{Dim: 4, WNorm: 3, PerSource: 150, FlipRates: []float64{0, 0.5}, Val: 80, Test: 200},
		rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	s.Train.Sources = []string{"curated", "scraped"}
	dir := t.TempDir()
	write := func(name string, l *datasets.Labeled) string {
		var buf bytes.Buffer
		if err := datasets.WriteSources(&buf, l); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	train, val, test := write("train.jsonl", s.Train), write("val.jsonl", s.Val), write("test.jsonl", s.Test)
	params := map[string]any{fit.ParamSteps: 100, ParamRounds: 2}
	res := run(t, params, train, val, test)
	w := res.Tables[TableWeights]
	if got := strings.Join(w.Strings("source"), ","); got != "curated,scraped" {
		t.Errorf("sources: got %s, want curated,scraped", got)
	}
	if got := w.Strings("flip_rate"); got[0] != "NaN" {
		t.Errorf("flip rates of loaded data: got %v, want NaN", got)
	}
	if len(res.Tables[TableMethods].Rows) != len(Methods)-1 {
		t.Errorf("loaded data: %d methods, want %d (no oracle)", len(res.Tables[TableMethods].Rows), len(Methods)-1)
	}
	if len(res.Notes) == 0 || !strings.Contains(res.Notes[0], "oracle") {
		t.Errorf("notes %q: want one about the skipped oracle", res.Notes)
	}
	res = run(t, params, train, val)
	if v := methodRow(t, res, MethodUniform, "test_logloss"); !math.IsNaN(v) {
		t.Errorf("no test file: test_logloss %v, want NaN", v)
	}

	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte(`{"features": [1, 2, 3, 4], "label": 1, "source": "a"}`+"\n"+`{"features": [1, 2, 3, 4], "label": 3, "source": "a"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = kernel.Run(context.Background(), ID, kernel.Options{Params: params, Data: []string{bad, val}})
	var de *datasets.Error
	if !errors.As(err, &de) || de.Line != 2 || de.Field != "label" {
		t.Errorf("bad file: got %v, want a *datasets.Error at line 2, field label", err)
	}
	if _, err := kernel.Run(context.Background(), ID, kernel.Options{Params: params, Data: []string{train}}); err == nil || !strings.Contains(err.Error(), "TRAIN VAL [TEST]") {
		t.Errorf("one file: got %v, want an error naming TRAIN VAL [TEST]", err)
	}
	// Preference pairs: the same sources read by model dpo.
	ps, err := datasets.GeneratePrefSources(datasets.PrefSourcesConfig{Dim: 4, WNorm: 4, Candidates: 2, PerSource: 150,
		FlipRates: []float64{0, 0.5}, Val: 80, Test: 200}, rand.New(rand.NewPCG(2, 2)))
	if err != nil {
		t.Fatal(err)
	}
	writePrefs := func(name string, p *datasets.Prefs, sources []string) string {
		var buf bytes.Buffer
		if err := datasets.WritePrefs(&buf, p); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		for i := range lines {
			if sources != nil {
				lines[i] = strings.TrimSuffix(lines[i], "}") + `,"source":"` + sources[i] + `"}`
			}
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	names := make([]string, len(ps.Source))
	for i, k := range ps.Source {
		names[i] = []string{"gold", "noisy"}[k]
	}
	dpoParams := map[string]any{ParamModel: ModelDPO, fit.ParamSteps: 200, ParamRounds: 2}
	res = run(t, dpoParams, writePrefs("ptrain.jsonl", ps.Train, names), writePrefs("pval.jsonl", ps.Val, nil), writePrefs("ptest.jsonl", ps.Test, nil))
	if got := strings.Join(res.Tables[TableWeights].Strings("source"), ","); got != "gold,noisy" {
		t.Errorf("pair sources: got %s, want gold,noisy", got)
	}
	if w := res.Final[MetricWeightPrefix+"noisy"]; w > 0.2 {
		t.Errorf("pairs: the pure-noise source keeps weight %v, want < 0.2 (from ½)", w)
	}

	params[ParamFlipRates] = "0,x"
	if _, err := kernel.Run(context.Background(), ID, kernel.Options{Params: params}); err == nil || !strings.Contains(err.Error(), `flip_rates: want comma-separated rates in [0, 1], got "x"`) {
		t.Errorf("bad flip_rates: got %v", err)
	}
}

// A diverging run stops with a *kernel.DivergedError naming the step and
// the quantity: with α = 10³⁰⁰ the gradient of α·(L₂(w) − L₂(u)) has a
// norm past √(largest float64) ≈ 1.3e154 at the first step, which fit's
// guard counts as diverged (grad_norm); without the guard the objective
// itself became +Inf at step 21, in the second round (α·10¹⁰).
func TestPluginDiverged(t *testing.T) {
	params := map[string]any{ParamFlipRates: "0,0.5", ParamPerSource: 40, ParamDim: 4, ParamVal: 40, ParamTest: 40,
		fit.ParamSteps: 40, ParamRounds: 2, ParamAlpha: 1e300, ParamAlphaGrowth: 1e10}
	_, err := kernel.Run(context.Background(), ID, kernel.Options{Params: params})
	var de *kernel.DivergedError
	if !errors.As(err, &de) || de.Step != 1 || de.Metric != fit.MetricGradNorm {
		t.Errorf("got %v, want a *kernel.DivergedError at step 1, metric %s", err, fit.MetricGradNorm)
	}
}
