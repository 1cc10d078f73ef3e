package tdpo

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/algos/artifact"
	"github.com/alignlab/alignlab/internal/modeltest"
	"github.com/alignlab/alignlab/kernel"
)

// writePairsFile writes pairs into dir/name and returns the path.
func writePairsFile(t *testing.T, dir, name string, pairs []Pair) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := WritePairs(f, pairs); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// handPairs are pairs of the default task's sequence space (4 prompts,
// vocabulary 6, length 4).
var handPairs = []Pair{
	{Prompt: 0, Chosen: []int{0, 1, 4, 5}, Rejected: []int{2, 3, 4, 5}},
	{Prompt: 3, Chosen: []int{5, 5, 0, 0}, Rejected: []int{0, 0, 5, 5}},
	{Prompt: 2, Chosen: []int{5, 5, 5, 5}, Rejected: []int{0, 5, 5, 5}},
}

// runTask rebuilds the task of a run from its params and seed, as the
// plugin's Run does (the job's first random stream).
func runTask(t *testing.T, res *kernel.Result) *Task {
	t.Helper()
	task, err := newJobTask(kernel.NewJob(context.Background(), res.Plugin, res.Params, nil))
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// Every training plugin hands back its policy; saved and loaded, it
// scores pairs and samples exactly as the policy in memory does.
func TestModelRoundTrip(t *testing.T) {
	file := writePairsFile(t, t.TempDir(), "pairs.jsonl", handPairs)
	for _, k := range Kinds {
		quick, _ := kernel.QuickParams(ID(k))
		res := modeltest.Train(t, ID(k), quick)
		p := modeltest.RoundTrip(t, res)
		sc := p.Score(t, nil, file)
		if n := len(sc.Tables[TableScores].Rows); n != len(handPairs) {
			t.Errorf("%s: %d rows of scores, want %d", ID(k), n, len(handPairs))
		}
		if got := sc.Provenance.Data[0].Shape["pairs"]; got != len(handPairs) {
			t.Errorf("%s: score recorded %v pairs, want %d", ID(k), got, len(handPairs))
		}
		// Against the true reward r = #positive − ½·#negative, the labels
		// are right (2 > −1), tied (2 = 2) and wrong (0 < 1): (1 + ½ + 0)/3.
		if got, want := sc.Final["label_accuracy"], 0.5; got != want {
			t.Errorf("%s: label_accuracy %v, want %v", ID(k), got, want)
		}
		sa := p.Sample(t, 3, nil)
		if n := len(sa.Tables[TableSamples].Rows); n != 3*DefaultPrompts {
			t.Errorf("%s: %d samples, want 3 for each of %d prompts", ID(k), n, DefaultPrompts)
		}
	}
}

// Scoring a run's own pairs reproduces its final pair metrics bit for bit:
// they are measures of the final policy on all its pairs.
func TestModelScoreReproducesRun(t *testing.T) {
	dir := t.TempDir()
	for _, id := range []string{IDTDPO2, IDTDPO1} { // tabular, GRU
		quick, _ := kernel.QuickParams(id)
		res := modeltest.Train(t, id, quick)
		file := writePairsFile(t, dir, id+".jsonl", runTask(t, res).Pairs)
		l, err := kernel.LoadedOf(res)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := l.Score(context.Background(), kernel.Options{Data: []string{file}})
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		for _, name := range []string{MetricLoss, MetricAccuracy, MetricMargin, MetricSeqKLChosen, MetricSeqKLRejected, "label_accuracy"} {
			if got, want := sc.Final[name], res.Final[name]; got != want {
				t.Errorf("%s: score %s = %v, want the run's final %v", id, name, got, want)
			}
		}
	}
}

// A hand-built tabular policy over one prompt, two tokens and one position
// scores in closed form. With π_ref uniform and π_θ(0) = σ(a), the log
// ratios are u_w − u_l = a, and both SeqKLs are KL(π_ref ‖ π_θ) (one
// context): every loss is −log σ(βa), every margin βa.
func TestModelScoreClosedForm(t *testing.T) {
	const tol = 1e-14
	const a, beta = 1.5, 0.4
	s := Spec{Prompts: 1, Vocab: 2, Length: 1, Arch: ArchTabular}
	// Rows x·(V+1) + previous token; the begin token is V = 2.
	pol := &Policy{Loss: TDPO2, Beta: beta, Alpha: 0.5, Spec: s, Positive: 1,
		PolicyWeights: map[string][]float64{"table": {0, 0, 0, 0, a, 0}},
		RefWeights:    map[string][]float64{"table": make([]float64, 6)}}
	file := writePairsFile(t, t.TempDir(), "p.jsonl", []Pair{{Prompt: 0, Chosen: []int{0}, Rejected: []int{1}}})
	sig := 1 / (1 + math.Exp(-a))
	seqKL := 0.5*math.Log(0.5/sig) + 0.5*math.Log(0.5/(1-sig))
	for _, k := range Kinds {
		p := *pol
		p.Loss = k
		l, err := kernel.LoadedOf(&kernel.Result{Plugin: ID(k), Model: &p, Params: kernel.Params{ParamBeta: beta, ParamAlpha: 0.5}})
		if err != nil {
			t.Fatal(err)
		}
		sc, err := l.Score(context.Background(), kernel.Options{Data: []string{file}})
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		for name, want := range map[string]float64{
			MetricLoss: math.Log1p(math.Exp(-beta * a)), MetricMargin: beta * a, MetricAccuracy: 1,
			MetricSeqKLChosen: seqKL, MetricSeqKLRejected: seqKL,
			"logp_chosen": math.Log(sig), "logp_rejected": math.Log(1 - sig), "label_accuracy": 1,
		} {
			if got := sc.Final[name]; math.Abs(got-want) > tol {
				t.Errorf("%s: %s = %v, want %v", k, name, got, want)
			}
		}
		// Sampling: the fraction of token 0 estimates σ(a) ≈ 0.818.
		sa, err := l.Sample(context.Background(), 4000, kernel.Options{})
		if err != nil {
			t.Fatal(err)
		}
		zeros := 0.0
		for _, y := range sa.Tables[TableSamples].Strings("tokens") {
			if y == "0" {
				zeros++
			}
		}
		const band = 0.025 // > 4 standard errors, √(σ(1−σ)/4000) ≈ 0.006
		if got := zeros / 4000; math.Abs(got-sig) > band {
			t.Errorf("%s: token 0 drawn %v of the time, want σ(a) = %v ± %v", k, got, sig, band)
		}
	}
}

// A run started from a saved policy measures it at step 0: the series'
// first points are the saved run's finals, bit for bit (same seed, so the
// same task, reference and pairs), and reward_ref stays π_ref's.
func TestModelInit(t *testing.T) {
	for _, id := range []string{IDTDPO2, IDTDPO1} { // tabular, GRU
		params, _ := kernel.QuickParams(id)
		res := modeltest.Train(t, id, params)
		dir := modeltest.Save(t, res)
		warm, err := kernel.Run(context.Background(), id, kernel.Options{Params: params, Init: dir})
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		for _, name := range []string{MetricLoss, MetricAccuracy, MetricMargin, MetricSeqKLChosen, MetricSeqKLRejected, MetricKL, MetricReward} {
			if got, want := warm.Series[name][0].Value, res.Final[name]; got != want {
				t.Errorf("%s: warm start: %s at step 0 = %v, want the saved run's final %v", id, name, got, want)
			}
		}
		if got, want := warm.Final["reward_ref"], res.Final["reward_ref"]; got != want {
			t.Errorf("%s: warm start: reward_ref %v, want π_ref's %v", id, got, want)
		}
		if warm.Provenance.Init == nil || warm.Provenance.Init.Plugin != id {
			t.Errorf("%s: the result does not record the init model: %+v", id, warm.Provenance.Init)
		}
	}
}

// Bad models and bad data give errors that say what is wrong.
func TestModelErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	otherDir := modeltest.OtherModel(t)
	params := quick(map[string]any{ParamPairs: 50, "steps": 2, ParamSFTSteps: 2})
	res := modeltest.Train(t, IDDPO, params)
	saved := modeltest.Save(t, res)
	with := func(extra map[string]any) map[string]any {
		p := map[string]any{}
		for k, v := range params {
			p[k] = v
		}
		for k, v := range extra {
			p[k] = v
		}
		return p
	}
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		os.WriteFile(path, []byte(text), 0o644)
		return path
	}
	score := func(file string) error {
		l, err := kernel.Load(saved)
		if err != nil {
			return err
		}
		_, err = l.Score(ctx, kernel.Options{Data: []string{file}})
		return err
	}
	var mu *kernel.ModelUsageError
	for _, tc := range []struct {
		name  string
		run   func() error
		usage bool // a *kernel.ModelUsageError
		want  string
	}{
		{"another plugin's model", func() error {
			_, err := kernel.Run(ctx, IDTDPO2, kernel.Options{Params: params, Init: otherDir})
			return err
		}, true, "tdpo.tdpo2: --model: a constant, want a tdpo token policy"},
		{"another vocabulary", func() error {
			_, err := kernel.Run(ctx, IDTDPO1, kernel.Options{Params: with(map[string]any{ParamVocab: 5}), Init: saved})
			return err
		}, true, "the saved model has 4 prompts, vocab 6, length 4; the run's task 4, 5, 4 (set prompts=4, vocab=6, length=4)"},
		{"another architecture", func() error {
			_, err := kernel.Run(ctx, IDDPO, kernel.Options{Params: with(map[string]any{ParamPolicy: ArchGRU}), Init: saved})
			return err
		}, true, "the run trains policy = gru (set policy=tabular)"},
		{"a token out of the vocabulary", func() error {
			return score(write("big.jsonl", `{"prompt": 1, "chosen": [0, 1, 2, 3], "rejected": [0, 1, 2, 4]}

{"prompt": 1, "chosen": [0, 1, 2, 7], "rejected": [0, 1, 2, 3]}
`))
		}, false, "big.jsonl:3: chosen[3]: want a token in [0, 6), got 7"},
		{"a response too short", func() error {
			return score(write("short.jsonl", `{"prompt": 0, "chosen": [0, 1, 2, 3], "rejected": [0, 1]}`))
		}, false, "short.jsonl:1: rejected: want 4 tokens (the model's length), got 2"},
		{"a prompt out of range", func() error {
			return score(write("prompt.jsonl", `{"prompt": 4, "chosen": [0, 1, 2, 3], "rejected": [0, 1, 2, 4]}`))
		}, false, "prompt.jsonl:1: prompt: want a prompt token in [0, 4), got 4"},
		{"identical responses", func() error {
			return score(write("same.jsonl", `{"prompt": 0, "chosen": [0, 1, 2, 3], "rejected": [0, 1, 2, 3]}`))
		}, false, "same.jsonl:1: rejected: want a response other than chosen"},
		{"a token that is no integer", func() error {
			return score(write("float.jsonl", `{"prompt": 0, "chosen": [0, 1.5, 2, 3], "rejected": [0, 1, 2, 4]}`))
		}, false, "float.jsonl:1: chosen[1]: want a token in [0, 6), got a JSON number 1.5"},
		{"sampling with --x", func() error {
			l, err := kernel.Load(saved)
			if err != nil {
				return err
			}
			_, err = l.Sample(ctx, 2, kernel.Options{Data: []string{write("x.csv", "x\n1\n")}})
			return err
		}, true, "tdpo.dpo: sample reads no --x or --data"},
	} {
		err := tc.run()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
		if tc.usage && !errors.As(err, &mu) {
			t.Errorf("%s: %T is no *kernel.ModelUsageError", tc.name, err)
		}
	}

	// A saved model whose arrays contradict model.json does not load.
	bad := filepath.Join(dir, "bad")
	if err := kernel.SaveModel(res, bad); err != nil {
		t.Fatal(err)
	}
	w := res.Model.(*Policy).weights()
	w["ref/table"] = artifact.F64(make([]float64, 12), 2, 6)
	if err := artifact.Save(bad, w); err != nil {
		t.Fatal(err)
	}
	if _, err := kernel.Load(bad); err == nil || !strings.Contains(err.Error(), `array "ref/table" has shape [2 6], want [28 6]`) || !strings.Contains(err.Error(), bad) {
		t.Errorf("load of a model with a wrong reference table: %v", err)
	}
}
