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
	"github.com/alignlab/alignlab/internal/modeltest"
	"github.com/alignlab/alignlab/kernel"
)

// meanTol bounds the difference between a mean over all examples and the
// example-weighted mean of the per-source means (summation order).
const meanTol = 1e-12

// modelFiles writes a small problem of two sources in dimension 4 into
// dir: classification TRAIN, VAL, TEST (sources "clean" and "noisy", flip
// rates 0 and 0.4) and preference TRAIN, VAL, TEST of the same sources.
func modelFiles(t *testing.T, dir string) (labelled, pairs []string) {
	t.Helper()
	write := func(name string, b []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	names := []string{"clean", "noisy"}
	s, err := datasets.GenerateSources(datasets.SourcesConfig{Dim: 4, WNorm: 3, PerSource: 40, FlipRates: []float64{0, 0.4}, Val: 30, Test: 50},
		rand.New(rand.NewPCG(14, 3)))
	if err != nil {
		t.Fatal(err)
	}
	s.Train.Sources = names
	for _, f := range []struct {
		name string
		l    *datasets.Labeled
	}{{"train.jsonl", s.Train}, {"val.jsonl", s.Val}, {"test.jsonl", s.Test}} {
		var b bytes.Buffer
		if err := datasets.WriteSources(&b, f.l); err != nil {
			t.Fatal(err)
		}
		labelled = append(labelled, write(f.name, b.Bytes()))
	}
	ps, err := datasets.GeneratePrefSources(datasets.PrefSourcesConfig{Dim: 4, WNorm: 4, Candidates: 2, PerSource: 40,
		FlipRates: []float64{0, 0.4}, Val: 30, Test: 50}, rand.New(rand.NewPCG(14, 4)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name    string
		p       *datasets.Prefs
		sources []int
	}{{"ptrain.jsonl", ps.Train, ps.Source}, {"pval.jsonl", ps.Val, nil}, {"ptest.jsonl", ps.Test, nil}} {
		var b bytes.Buffer
		if err := datasets.WritePrefs(&b, f.p); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(b.String()), "\n")
		if f.sources != nil {
			for i := range lines {
				lines[i] = strings.TrimSuffix(lines[i], "}") + `,"source":"` + names[f.sources[i]] + `"}`
			}
		}
		pairs = append(pairs, write(f.name, []byte(strings.Join(lines, "\n")+"\n")))
	}
	return labelled, pairs
}

func quickModel(model string) map[string]any {
	return map[string]any{ParamModel: model, fit.ParamSteps: 20, ParamRounds: 2, fit.ParamEvalEvery: 5, ParamHidden: 3}
}

// TestModelRoundTrip trains each inner model on files, saves and reloads
// the model, and scores the clean TEST file and the sourced TRAIN file
// with the model in memory and the loaded one (byte-identical results).
// Known answer: TEST scores exactly the run's test_logloss and
// test_accuracy of scalebio_retrain, VAL its val_logloss; the per-source
// log-losses of TRAIN average, weighted by their examples, to the overall.
func TestModelRoundTrip(t *testing.T) {
	labelled, pairs := modelFiles(t, t.TempDir())
	for _, tc := range []struct {
		model string
		files []string
	}{{ModelLogistic, labelled}, {ModelMLP, labelled}, {ModelDPO, pairs}} {
		t.Run(tc.model, func(t *testing.T) {
			res := modeltest.Train(t, ID, quickModel(tc.model), tc.files...)
			p := modeltest.RoundTrip(t, res)
			train, val, test := tc.files[0], tc.files[1], tc.files[2]
			sc := p.Score(t, nil, test)
			for _, f := range []struct{ got, want string }{
				{MetricLogLoss, "test_logloss/" + MethodScaleBiORetrain},
				{MetricAccuracy, "test_accuracy/" + MethodScaleBiORetrain},
			} {
				if got, want := sc.Final[f.got], res.Final[f.want]; got != want {
					t.Errorf("score of TEST: %s = %v, want the run's %s = %v", f.got, got, f.want, want)
				}
			}
			if got, want := p.Score(t, nil, val).Final[MetricLogLoss], res.Final["val_logloss/"+MethodScaleBiORetrain]; got != want {
				t.Errorf("score of VAL: log_loss %v, want the run's %v", got, want)
			}
			if rows := len(sc.Tables[TableScores].Rows); rows != 50 {
				t.Errorf("scores table: %d rows, want 50", rows)
			}

			sc = p.Score(t, nil, train)
			src := sc.Tables[TableSources]
			if got := strings.Join(src.Strings("source"), ","); got != "clean,noisy" {
				t.Fatalf("sources %s, want clean,noisy", got)
			}
			var weighted float64
			weights, examples := src.Floats("weight"), src.Floats("examples")
			for k, s := range src.Strings("source") {
				if got, want := weights[k], res.Final[MetricWeightPrefix+s]; got != want {
					t.Errorf("source %s: weight %v, want the run's %v", s, got, want)
				}
				weighted += examples[k] * sc.Final[MetricLogLoss+"/"+s] / 80
			}
			if got := sc.Final[MetricLogLoss]; math.Abs(weighted-got) > meanTol {
				t.Errorf("per-source log-losses average to %v, overall %v", weighted, got)
			}
		})
	}
}

// TestModelInit: a run started from a saved model starts ScaleBiO's
// weights at the saved ones, bit for bit (the weights at step 0), where a
// fresh run starts uniform; sources are matched by name.
func TestModelInit(t *testing.T) {
	labelled, _ := modelFiles(t, t.TempDir())
	res := modeltest.Train(t, ID, quickModel(ModelLogistic), labelled...)
	dir := modeltest.Save(t, res)
	started, err := kernel.Run(context.Background(), ID, kernel.Options{Params: quickModel(ModelLogistic), Data: labelled, Init: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"clean", "noisy"} {
		first := started.Series[MetricWeightPrefix+s][0]
		if want := res.Final[MetricWeightPrefix+s]; first.Step != 0 || first.Value != want {
			t.Errorf("source %s: weight at step %d = %v, want the saved %v", s, first.Step, first.Value, want)
		}
		if fresh := res.Series[MetricWeightPrefix+s][0].Value; fresh != 0.5 {
			t.Errorf("source %s: a fresh run starts at %v, want ½", s, fresh)
		}
	}
	if started.Provenance.Init == nil || started.Provenance.Init.Plugin != ID {
		t.Errorf("provenance init %+v", started.Provenance.Init)
	}
}

// TestModelBadInput: a model of another plugin, of other sources, data of
// another dimension or kind, a tampered model file and two files give
// errors that say what is wrong.
func TestModelBadInput(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	labelled, pairs := modelFiles(t, dir)
	res := modeltest.Train(t, ID, quickModel(ModelLogistic), labelled...)
	saved := modeltest.Save(t, res)
	other := modeltest.OtherModel(t)

	var mu *kernel.ModelUsageError
	gen := map[string]any{fit.ParamSteps: 10, ParamRounds: 1, ParamPerSource: 20, ParamVal: 20, ParamTest: 20, ParamDim: 4, ParamFlipRates: "0,0.2,0.4"}
	for _, tc := range []struct {
		name string
		init string
		want string
	}{
		{"another plugin's model", other, "--model: a constant, want a bilevel.reweight model"},
		{"other sources", saved, "the saved weights are of the sources clean, noisy, the training data has s0, s1, s2"},
	} {
		_, err := kernel.Run(ctx, ID, kernel.Options{Params: gen, Init: tc.init})
		if !errors.As(err, &mu) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want a *kernel.ModelUsageError containing %q", tc.name, err, tc.want)
		}
	}

	l, err := kernel.Load(saved)
	if err != nil {
		t.Fatal(err)
	}
	wide := filepath.Join(dir, "wide.jsonl")
	os.WriteFile(wide, []byte(`{"features": [1, 2, 3, 4, 5], "label": 1}`+"\n"), 0o644)
	var de *datasets.Error
	if _, err := l.Score(ctx, kernel.Options{Data: []string{wide}}); !errors.As(err, &de) || de.File != wide || de.Field != "features" ||
		!strings.Contains(err.Error(), "dimension 5, but the model was trained on dimension 4") {
		t.Errorf("score of another dimension: %v", err)
	}
	if _, err := l.Score(ctx, kernel.Options{Data: []string{pairs[2]}}); !errors.As(err, &de) || de.File != pairs[2] {
		t.Errorf("score of pairs with a logistic model: %v", err)
	}
	var du *kernel.DataUsageError
	if _, err := l.Score(ctx, kernel.Options{Data: labelled[1:]}); !errors.As(err, &du) || !strings.Contains(err.Error(), "want 1 file") {
		t.Errorf("score of two files: %v", err)
	}

	tamper := func(f func(*reweightedFile)) string { return modeltest.Tamper(t, res, ModelFile, f) }
	for _, tc := range []struct {
		name string
		dir  string
		want string
	}{
		{"another dimension", tamper(func(f *reweightedFile) { f.Dim = 6 }), `array "model/w" has shape [4], want [6]`},
		{"a source more", tamper(func(f *reweightedFile) { f.Sources = append(f.Sources, "extra") }), `array "lambda" has shape [2], want [3]`},
		{"another inner model", tamper(func(f *reweightedFile) { f.Model = ModelMLP; f.Hidden = 2 }), `no array "model/hidden_w"`},
		{"an unknown inner model", tamper(func(f *reweightedFile) { f.Model = "forest" }), `unknown model "forest"`},
	} {
		if _, err := kernel.Load(tc.dir); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.dir) {
			t.Errorf("%s: got %v, want an error naming %s and containing %q", tc.name, err, tc.dir, tc.want)
		}
	}
}
