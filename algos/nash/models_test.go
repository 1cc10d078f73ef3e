package nash

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/internal/modeltest"
	"github.com/alignlab/alignlab/kernel"
)

// Tolerances of the saved-model tests.
const (
	// continueTol bounds the difference between one run of T1 + T2
	// iterations and a run of T2 started from the saved model of a run of
	// T1: they differ only by log(softmax(z)) ≠ z in the last bits.
	continueTol = 1e-12
	// stayTol bounds how far a run started at an equilibrium (LP Nash,
	// π*_τ, solved to 1e-9 and 1e-10) moves from it.
	stayTol = 1e-8
)

// writeGameFile writes g to dir/name and returns the path.
func writeGameFile(t *testing.T, dir, name string, g *datasets.Game) string {
	t.Helper()
	var buf bytes.Buffer
	if err := g.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func sampleGame(t *testing.T) string {
	t.Helper()
	data, err := writeSampleGame(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return data[0]
}

// saveModel saves m as if plugin had trained it and returns the directory.
func saveModel(t *testing.T, plugin string, m kernel.Model) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "model")
	if err := kernel.SaveModel(&kernel.Result{Plugin: plugin, Model: m}, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestModelRoundTrip trains every policy plugin on a 2-prompt game file,
// saves and reloads the model, and scores the same file with the model in
// memory and the loaded one: byte-identical results, and the known
// answer that scoring the training game reproduces the run's own finals
// exactly (the saved policies are the ones they were computed from).
func TestModelRoundTrip(t *testing.T) {
	data := sampleGame(t)
	for _, tc := range []struct {
		name   string
		id     string
		params map[string]any
		finals []string
	}{
		{"inpo exact", IDINPO, map[string]any{ParamIterations: 5}, []string{MetricExploitability, MetricL1Nash, MetricL1TauNash, MetricWinRateRef}},
		{"inpo sampled", IDINPO, nil, []string{MetricExploitability, MetricL1Nash, MetricL1TauNash, MetricWinRateRef}},
		{"dno prct", IDDNO, nil, []string{MetricExploitability, MetricL1Nash, MetricWinRateRef}},
		{"mwu", IDMWU, nil, []string{MetricExploitability, MetricL1Nash, MetricWinRateRef,
			MetricExploitability + "_avg", MetricL1Nash + "_avg", MetricWinRateRef + "_avg"}},
		{"bt_rlhf sampled", IDBTRLHF, nil, []string{MetricExploitability, MetricL1Nash, MetricWinRateRef}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			params := tc.params
			if params == nil {
				params, _ = kernel.QuickParams(tc.id)
			}
			res := modeltest.Train(t, tc.id, params, data)
			p := modeltest.RoundTrip(t, res)
			sc := p.Score(t, nil, data)
			for _, f := range tc.finals {
				if got, want := sc.Final[f], res.Final[f]; got != want {
					t.Errorf("score %s = %v, want the run's %v", f, got, want)
				}
			}
			if got, want := sc.Final[MetricDualityGap], 2*res.Final[MetricExploitability]; got != want {
				t.Errorf("duality gap %v, want 2·exploitability = %v", got, want)
			}
			if rows := len(sc.Tables[TablePolicyScores].Rows); rows != 2*samplePrompts {
				t.Errorf("%s has %d rows, want %d (prompts × final, average)", TablePolicyScores, rows, 2*samplePrompts)
			}
			for _, files := range [][]string{nil, {data}} {
				smp := p.Sample(t, 7, nil, files...)
				if rows := len(smp.Tables["samples"].Rows); rows != 7*2*samplePrompts {
					t.Errorf("samples has %d rows, want %d", rows, 7*2*samplePrompts)
				}
			}
		})
	}
}

// TestIteratesAllPrompts checks that every policy plugin reports every
// prompt's final and average policy (before, nash.mwu gave the average of
// the first prompt only, the others none), that the final column is the
// policy table, and the known answer of one exact INPO step: the average
// is (π_ref + INPOTarget(π_ref))/2.
func TestIteratesAllPrompts(t *testing.T) {
	data := sampleGame(t)
	g, err := datasets.LoadGame(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range trainers {
		params, _ := kernel.QuickParams(id)
		res := run(t, id, params, data)
		it := res.Tables[TableIterates]
		if it == nil {
			t.Fatalf("%s: no table %s", id, TableIterates)
		}
		if got := strings.Join(it.Columns, ","); got != "prompt,action,final,average" {
			t.Errorf("%s: columns %s", id, got)
		}
		prompts := map[string]float64{}
		avg := it.Floats(PolicyAverage)
		for i, pr := range it.Strings("prompt") {
			prompts[pr] += avg[i]
		}
		for _, pr := range g.Prompts {
			if s, ok := prompts[pr.Name]; !ok || math.Abs(s-1) > exactTol {
				t.Errorf("%s: prompt %s: average sums to %v (present %v), want 1", id, pr.Name, s, ok)
			}
		}
		if len(it.Rows) != samplePrompts*sampleActions {
			t.Errorf("%s: %d rows, want %d", id, len(it.Rows), samplePrompts*sampleActions)
		}
		final, prob := it.Floats(PolicyFinal), res.Tables[TablePolicy].Floats("prob")
		for i := range final {
			if final[i] != prob[i] {
				t.Errorf("%s: row %d: final %v, policy table %v", id, i, final[i], prob[i])
			}
		}
		if id == IDMWU {
			// The model's average gives the run's exploitability_avg.
			var e float64
			for x, pr := range g.Prompts {
				e += Exploitability(pr.P, avg[x*sampleActions:(x+1)*sampleActions]) / samplePrompts
			}
			if got := res.Final[MetricExploitability+"_avg"]; math.Abs(got-e) > exactTol {
				t.Errorf("mwu: exploitability_avg %v, from the table's averages %v", got, e)
			}
		}
	}

	const kappa, tau = 1.0, 0.1
	res := run(t, IDINPO, map[string]any{ParamIterations: 1, ParamKappa: kappa, ParamTau: tau}, data)
	avg := res.Tables[TableIterates].Floats(PolicyAverage)
	for x, pr := range g.Prompts {
		ref := g.RefPolicy(x)
		next := INPOTarget(pr.P, ref, ref, kappa, tau)
		for i := range ref {
			if got, want := avg[x*sampleActions+i], (ref[i]+next[i])/2; math.Abs(got-want) > exactTol {
				t.Errorf("inpo, one step: prompt %s action %d: average %v, want %v", pr.Name, i, got, want)
			}
		}
	}
}

// TestScoreClosedForm scores hand-made policies on rock–paper–scissors:
// pure rock is exploited by paper with certainty (e = ½, gap 1, ‖rock −
// uniform‖₁ = 4/3) and ties uniform π_ref on average; uniform is the
// equilibrium.
func TestScoreClosedForm(t *testing.T) {
	g := datasets.RockPaperScissors()
	data := writeGameFile(t, t.TempDir(), "rps.json", g)
	third := 1.0 / 3
	m := &PolicyModel{Plugin: IDMWU, Actions: g.Actions, Prompts: []string{g.Prompts[0].Name},
		Final: [][]float64{{1, 0, 0}}, Average: [][]float64{{third, third, third}}}
	l, err := kernel.LoadedOf(&kernel.Result{Plugin: IDMWU, Model: m})
	if err != nil {
		t.Fatal(err)
	}
	sc, err := l.Score(context.Background(), kernel.Options{Data: []string{data}})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]float64{
		MetricExploitability: 0.5, MetricDualityGap: 1, MetricL1Nash: 4 * third, MetricWinRateRef: 0.5,
		MetricExploitability + "_avg": 0, MetricDualityGap + "_avg": 0, MetricL1Nash + "_avg": 0, MetricWinRateRef + "_avg": 0.5,
	} {
		if got := sc.Final[name]; math.Abs(got-want) > exactTol {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if _, ok := sc.Final[MetricL1TauNash]; ok {
		t.Error("an mwu model scored l1_tau_nash; only nash.inpo has a τ")
	}
}

// TestInitStaysAtEquilibrium: started at the exact equilibrium of its own
// update, a run stays there, where from π_ref it does not: MWU at the LP
// Nash (its last iterate otherwise cycles), INPO at π*_τ.
func TestInitStaysAtEquilibrium(t *testing.T) {
	g := datasets.CyclicGame(5, 3, 1) // the plugins' default game
	p, ref := g.Prompts[0].P, g.RefPolicy(0)
	nashPi, err := Nash(p)
	if err != nil {
		t.Fatal(err)
	}
	star, err := RegularizedNash(p, ref, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id     string
		start  []float64
		metric string
		params map[string]any
	}{
		{IDMWU, nashPi, MetricExploitability, map[string]any{ParamIterations: 30}},
		{IDINPO, star, MetricL1TauNash, map[string]any{ParamIterations: 30, ParamTau: 0.1}},
	} {
		m := &PolicyModel{Plugin: tc.id, Actions: g.Actions, Prompts: []string{g.Prompts[0].Name},
			Final: [][]float64{tc.start}, Average: [][]float64{tc.start}}
		if tc.id == IDINPO {
			m.KL, m.Ref = 0.1, [][]float64{ref}
		}
		dir := saveModel(t, tc.id, m)
		res, err := kernel.Run(context.Background(), tc.id, kernel.Options{Params: tc.params, Init: dir})
		if err != nil {
			t.Fatalf("%s: %v", tc.id, err)
		}
		for _, pt := range res.Series[tc.metric] {
			if pt.Value > stayTol {
				t.Errorf("%s from its equilibrium: %s = %v at t = %d, want ≤ %g", tc.id, tc.metric, pt.Value, pt.Step, stayTol)
				break
			}
		}
		if res.Provenance.Init == nil || res.Provenance.Init.Plugin != tc.id {
			t.Errorf("%s: provenance init %+v", tc.id, res.Provenance.Init)
		}
		if from := run(t, tc.id, tc.params); seriesAt(t, from, tc.metric, 1) < 100*stayTol {
			t.Errorf("%s from π_ref: %s at t = 1 is already %v: the test does not tell the start", tc.id, tc.metric, seriesAt(t, from, tc.metric, 1))
		}
	}
}

// TestInitContinues: T1 iterations, saved, then T2 more from the saved
// model, end where one run of T1 + T2 iterations does (exact updates are
// deterministic); a sampled tabular run starts at the saved policy.
func TestInitContinues(t *testing.T) {
	data := sampleGame(t)
	for _, id := range []string{IDINPO, IDDNO, IDMWU} {
		first := modeltest.Train(t, id, map[string]any{ParamIterations: 3}, data)
		dir := modeltest.Save(t, first)
		second, err := kernel.Run(context.Background(), id, kernel.Options{Params: map[string]any{ParamIterations: 2}, Data: []string{data}, Init: dir})
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		whole := run(t, id, map[string]any{ParamIterations: 5}, data)
		got, want := second.Tables[TablePolicy].Floats("prob"), whole.Tables[TablePolicy].Floats("prob")
		for i := range want {
			if math.Abs(got[i]-want[i]) > continueTol {
				t.Errorf("%s: 3 + 2 iterations: π(%d) = %v, 5 iterations: %v", id, i, got[i], want[i])
			}
		}
		if e0, e := seriesAt(t, second, MetricExploitability, 0), first.Final[MetricExploitability]; math.Abs(e0-e) > continueTol {
			t.Errorf("%s: exploitability at t = 0 is %v, the saved model's %v", id, e0, e)
		}
	}
	first := modeltest.Train(t, IDMWU, map[string]any{ParamIterations: 3}, data)
	dir := modeltest.Save(t, first)
	sampled, err := kernel.Run(context.Background(), IDDNO, kernel.Options{Data: []string{data}, Init: dir,
		Params: map[string]any{ParamMode: ModeSampled, ParamIterations: 1, ParamPairs: 50, fit.ParamSteps: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if e0, e := seriesAt(t, sampled, MetricExploitability, 0), first.Final[MetricExploitability]; math.Abs(e0-e) > continueTol {
		t.Errorf("sampled dno from an mwu model: exploitability at t = 0 is %v, the saved model's %v", e0, e)
	}
}

// TestModelBadInput: a model of another kind, of another shape, a
// tampered model file, a log-linear start and wrong data counts give
// errors that say what is wrong.
func TestModelBadInput(t *testing.T) {
	ctx := context.Background()
	data := sampleGame(t) // 2 prompts × 4 actions; the default game is 1 × 5
	other := modeltest.OtherModel(t)
	mwu := modeltest.Train(t, IDMWU, map[string]any{ParamIterations: 2}, data)
	mwuDir := modeltest.Save(t, mwu)
	defaultGame := writeGameFile(t, t.TempDir(), "cyclic.json", datasets.CyclicGame(5, 3, 1))

	var mu *kernel.ModelUsageError
	for _, tc := range []struct {
		name string
		opts kernel.Options
		want string
	}{
		{"another plugin's model", kernel.Options{Init: other}, "--model: a constant, want a nash policy model"},
		{"another shape", kernel.Options{Init: mwuDir}, "the game has 1 prompt × 5 actions, the model 2 prompts × 4 actions"},
		{"log-linear start", kernel.Options{Init: mwuDir, Data: []string{data}, Params: map[string]any{ParamMode: ModeSampled, ParamPolicy: PolicyLogLinear}},
			"policy=loglinear cannot start from a saved model"},
	} {
		_, err := kernel.Run(ctx, IDINPO, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
		if tc.name != "log-linear start" && !errors.As(err, &mu) {
			t.Errorf("%s: %T, want a *kernel.ModelUsageError", tc.name, err)
		}
	}
	if _, err := kernel.Run(ctx, IDBTRLHF, kernel.Options{Init: mwuDir, Data: []string{data}}); !errors.As(err, &mu) || !strings.Contains(err.Error(), "cannot start from a saved model") {
		t.Errorf("bt_rlhf with --model: %v", err)
	}

	l, err := kernel.Load(mwuDir)
	if err != nil {
		t.Fatal(err)
	}
	var de *datasets.Error
	if _, err := l.Score(ctx, kernel.Options{Data: []string{defaultGame}}); !errors.As(err, &de) || de.File != defaultGame || de.Field != "actions" ||
		!strings.Contains(err.Error(), "the game has 1 prompt × 5 actions, the model 2 prompts × 4 actions") {
		t.Errorf("score on a game of another shape: %v", err)
	}
	var du *kernel.DataUsageError
	if _, err := l.Score(ctx, kernel.Options{Data: []string{data, data}}); !errors.As(err, &du) || !strings.Contains(err.Error(), "want 1 file") {
		t.Errorf("score of two files: %v", err)
	}
	if _, err := l.Sample(ctx, 3, kernel.Options{Data: []string{data, data}}); !errors.As(err, &du) || !strings.Contains(err.Error(), "want at most 1 file") {
		t.Errorf("sample with two files: %v", err)
	}
	if _, err := l.Sample(ctx, 3, kernel.Options{Data: []string{defaultGame}}); !errors.As(err, &de) || de.Field != "actions" {
		t.Errorf("sample with a game of another shape: %v", err)
	}

	// A model file that disagrees with the arrays or the manifest.
	tamper := func(f func(*modelFile)) string { return modeltest.Tamper(t, mwu, ModelFile, f) }
	for _, tc := range []struct {
		name string
		dir  string
		want string
	}{
		{"one action more", tamper(func(f *modelFile) { f.Actions = append(f.Actions, "extra") }), `array "final" has shape [2 4], want [2 5]`},
		{"another plugin", tamper(func(f *modelFile) { f.Plugin = IDDNO }), `plugin "nash.dno", but the manifest says nash.mwu`},
		{"no model file", func() string { d := modeltest.Save(t, mwu); os.Remove(filepath.Join(d, ModelFile)); return d }(), ModelFile},
	} {
		if _, err := kernel.Load(tc.dir); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.dir) {
			t.Errorf("%s: got %v, want an error naming %s and containing %q", tc.name, err, tc.dir, tc.want)
		}
	}
}

// TestSampleFrequencies: the actions sample draws follow the policies,
// each frequency within sampleSigmas binomial standard deviations.
func TestSampleFrequencies(t *testing.T) {
	const n, sampleSigmas = 20000, 5.0
	g := datasets.RockPaperScissors()
	final, third := []float64{0.6, 0.3, 0.1}, 1.0/3
	m := &PolicyModel{Plugin: IDDNO, Actions: g.Actions, Prompts: []string{"x"},
		Final: [][]float64{final}, Average: [][]float64{{third, third, third}}}
	l, err := kernel.LoadedOf(&kernel.Result{Plugin: IDDNO, Seed: 3, Model: m})
	if err != nil {
		t.Fatal(err)
	}
	res, err := l.Sample(context.Background(), n, kernel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]map[string]float64{PolicyFinal: {}, PolicyAverage: {}}
	tab := res.Tables["samples"]
	actions := tab.Strings("action")
	for i, pol := range tab.Strings("policy") {
		count[pol][actions[i]]++
	}
	for pol, pi := range map[string][]float64{PolicyFinal: final, PolicyAverage: m.Average[0]} {
		for i, a := range g.Actions {
			got, sd := count[pol][a]/n, math.Sqrt(pi[i]*(1-pi[i])/n)
			if math.Abs(got-pi[i]) > sampleSigmas*sd {
				t.Errorf("%s policy: action %s drawn %.4f of the time, want %.4f ± %.4f", pol, a, got, pi[i], sampleSigmas*sd)
			}
		}
	}
}
