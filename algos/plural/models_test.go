package plural

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/algos/pairloss"
	"github.com/alignlab/alignlab/internal/modeltest"
	"github.com/alignlab/alignlab/kernel"
)

// exact is the tolerance of a score that must reproduce a run's own final:
// the same float64 operations on the same values.
const exact = 0.0

// closedTol is the tolerance of a score against a closed form written with
// other (but equivalent) float64 operations.
const closedTol = 1e-12

// quick returns the plugin's quick params with the seed.
func quick(q kernel.Quick, seed int) map[string]any {
	p := q.QuickParams()
	p[kernel.ParamSeed] = seed
	return p
}

// replay returns a job with res's params and seed, whose Rand streams are
// the run's: a test regenerates the run's data with them.
func replay(res *kernel.Result) *kernel.Job {
	return kernel.NewJob(context.Background(), res.Plugin, kernel.Params(res.Params), nil)
}

// writeRows writes rows, one JSON object a line, to a file in a fresh
// temporary directory.
func writeRows(t *testing.T, rows ...map[string]any) string {
	t.Helper()
	var b strings.Builder
	for _, r := range rows {
		js, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(js)
		b.WriteByte('\n')
	}
	return writeText(t, b.String())
}

func writeText(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "rows.jsonl")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// pairRow is a comparison row with the winner as chosen.
func pairRow(c Comparison) map[string]any {
	w, l := c.A, c.B
	if !c.AWins {
		w, l = l, w
	}
	return map[string]any{"user": c.User, "chosen": w, "rejected": l}
}

// sameFinals checks that got's finals named in names equal want's (the
// run's own) within tol.
func sameFinals(t *testing.T, got, want *kernel.Result, tol float64, names map[string]string) {
	t.Helper()
	for g, w := range names {
		gv, ok := got.Final[g]
		wv, wok := want.Final[w]
		if !ok || !wok || math.Abs(gv-wv) > tol {
			t.Errorf("score final %s = %v (present %v), want the run's %s = %v (present %v)", g, gv, ok, w, wv, wok)
		}
	}
}

// loadedOf wraps a hand-made model of plugin id with its default params.
func loadedOf(t *testing.T, id string, m kernel.Model) *kernel.Loaded {
	t.Helper()
	p, err := kernel.Lookup(id)
	if err != nil {
		t.Fatal(err)
	}
	params, err := kernel.Validate(p.Info(), nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := kernel.LoadedOf(&kernel.Result{Plugin: id, Params: params, Model: m})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestMicroModel: train, save, load; the run's held-out comparisons score,
// in memory and loaded alike, to the run's own accuracies.
func TestMicroModel(t *testing.T) {
	res := modeltest.Train(t, MicroID, quick(microPlugin{}, 3))
	pair := modeltest.RoundTrip(t, res)
	job := replay(res)
	p, err := GeneratePopulation(microPopulation(job.Params), job.Rand())
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]map[string]any, len(p.Test))
	for i, c := range p.Test {
		rows[i] = pairRow(c)
		rows[i]["context"] = p.Users[c.User].Context
	}
	sc := pair.Score(t, nil, writeRows(t, rows...))
	sameFinals(t, sc, res, exact, map[string]string{"accuracy_router": "accuracy_router", "accuracy_mixture": "accuracy_mixture",
		"accuracy_bt": "accuracy_bt", "comparisons": "test_comparisons"})
	if n := len(sc.Tables["scores"].Rows); n != len(p.Test) {
		t.Errorf("scores table: %d rows, want %d", n, len(p.Test))
	}
	if sh := sc.Provenance.Data[0].Shape; sh["comparisons"] != len(p.Test) || sh["context_dim"] != 4 {
		t.Errorf("data shape %v", sh)
	}
}

// TestMicroScoreClosedForm scores a hand-made model: two heads on three
// items, a router on one context value with weights (¾, ¼) at x = ½ log 3
// and (¼, ¾) at −x, heads that prefer item 0 (head 0) or item 1 (head 1)
// with probability σ(log 4) = 0.8, BT preferring 0 to 1 with σ(log 9) = 0.9.
func TestMicroScoreClosedForm(t *testing.T) {
	x := math.Log(3) / 2
	m := &MicroTrained{
		Mixture: &MixtureModel{Level: MixtureUser, Head: HeadItems, Scores: [][]float64{{math.Log(4), 0, 0}, {0, math.Log(4), 0}}, Weights: []float64{0.5, 0.5}},
		Router:  &Router{V: [][]float64{{1}, {-1}}, B: []float64{0, 0}},
		BT:      &BTModel{Scores: []float64{math.Log(9), 0, 0}},
	}
	file := writeRows(t,
		map[string]any{"user": 0, "chosen": 0, "rejected": 1, "context": []float64{x}},
		map[string]any{"user": 0, "chosen": 1, "rejected": 0, "context": []float64{x}},
		map[string]any{"user": 1, "chosen": 1, "rejected": 0, "context": []float64{-x}})
	sc, err := loadedOf(t, MicroID, m).Score(context.Background(), kernel.Options{Data: []string{file}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		want float64
	}{
		{"accuracy_router", 2.0 / 3},
		{"log_loss_router", -(2*math.Log(0.65) + math.Log(0.35)) / 3},
		{"accuracy_mixture", 0.5}, // P = ½ on every row: each counts ½
		{"log_loss_mixture", math.Log(2)},
		{"accuracy_bt", 1.0 / 3},
		{"log_loss_bt", -(math.Log(0.9) + 2*math.Log(0.1)) / 3},
		{"comparisons", 3},
	} {
		if got := sc.Final[c.name]; math.Abs(got-c.want) > closedTol {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
	want := []float64{0.65, 0.35, 0.65}
	for i, got := range sc.Tables["scores"].Floats("p_router") {
		if math.Abs(got-want[i]) > closedTol {
			t.Errorf("row %d: p_router %v, want %v", i, got, want[i])
		}
	}
}

// palRun trains plural.pal at its quick params and regenerates the run's
// population and its split of the users.
func palRun(t *testing.T, seed int) (*kernel.Result, *Population, *palSplit) {
	t.Helper()
	res := modeltest.Train(t, PALID, quick(palPlugin{}, seed))
	job := replay(res)
	p, err := GeneratePopulation(palPopulation(job.Params), job.Rand())
	if err != nil {
		t.Fatal(err)
	}
	return res, p, palSplitUsers(p, job.Params.Float(PALParamNewUsers), job.Rand())
}

// TestPALModel: train, save, load; the training users' held-out
// comparisons score to the run's accuracy and bt_accuracy, and the held-out
// users' — their first 5 training comparisons as fit rows — to its
// few-shot accuracy at n = 5; an unknown user gets uniform weights.
func TestPALModel(t *testing.T) {
	res, _, split := palRun(t, 3)
	pair := modeltest.RoundTrip(t, res)

	var rows []map[string]any
	for _, c := range split.seenTest {
		rows = append(rows, pairRow(c))
	}
	sc := pair.Score(t, nil, writeRows(t, rows...))
	sameFinals(t, sc, res, exact, map[string]string{"accuracy": "accuracy", "bt_accuracy": "bt_accuracy", "accuracy_trained": "accuracy"})
	if sc.Final["users"] != float64(len(split.seenUsers)) || len(sc.Notes) != 0 {
		t.Errorf("users %v, want %d; notes %q", sc.Final["users"], len(split.seenUsers), sc.Notes)
	}

	rows = nil
	for _, c := range split.firstN(5) {
		r := pairRow(c)
		r["fit"] = true
		rows = append(rows, r)
	}
	for _, c := range split.newTest {
		rows = append(rows, pairRow(c))
	}
	sc = pair.Score(t, nil, writeRows(t, rows...))
	sameFinals(t, sc, res, exact, map[string]string{"user_mean_accuracy": "few_shot_accuracy_5", "user_accuracy_se": "few_shot_se_5"})
	if got, want := sc.Final["fitted_comparisons"], float64(5*len(split.newUsers)); got != want {
		t.Errorf("fitted_comparisons %v, want %v", got, want)
	}
	for _, st := range sc.Tables["users"].Strings("status") {
		if st != palFewShot {
			t.Errorf("a held-out user with fit rows has status %q, want %q", st, palFewShot)
		}
	}

	// A user the model has never seen: uniform weights, a' = mean prototype.
	m := pair.Loaded.Model.(*PALTrained)
	sc = pair.Score(t, nil, writeRows(t, map[string]any{"user": 1000, "chosen": 2, "rejected": 7}))
	ideal := make([]float64, len(m.PAL.Prototypes[0]))
	for _, pk := range m.PAL.Prototypes {
		for j, v := range pk {
			ideal[j] += v / float64(len(m.PAL.Prototypes))
		}
	}
	fa, fb := matVec(m.PAL.Map, m.Items[2]), matVec(m.PAL.Map, m.Items[7])
	want := pairloss.Sigmoid(palSqDist(fb, ideal) - palSqDist(fa, ideal))
	if got := sc.Tables["scores"].Floats("p_pal")[0]; math.Abs(got-want) > closedTol {
		t.Errorf("new user: p_pal %v, want %v (uniform weights)", got, want)
	}
	if _, ok := sc.Final["accuracy_new"]; !ok || len(sc.Notes) != 1 || sc.Tables["scores"].Rows[0][1] != int64(1000) {
		t.Errorf("new user: finals %v, notes %q, row %v", sc.Final, sc.Notes, sc.Tables["scores"].Rows[0])
	}
	// A new user with a large index is fitted without a row per index below it.
	sc = pair.Score(t, nil, writeRows(t,
		map[string]any{"user": 2_000_000_000, "chosen": 2, "rejected": 7, "fit": true},
		map[string]any{"user": 2_000_000_000, "chosen": 3, "rejected": 7}))
	if row := sc.Tables["users"].Rows[0]; row[0] != int64(2_000_000_000) || row[1] != palFewShot {
		t.Errorf("new user fitted: users row %v", row)
	}
}

// rlbffRun trains plural.rlbff with params and regenerates the run's world.
func rlbffRun(t *testing.T, params map[string]any) (*kernel.Result, *Principles) {
	t.Helper()
	res := modeltest.Train(t, RLBFFID, params)
	job := replay(res)
	cfg, err := rlbffPrinciples(job.Params)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := GeneratePrinciples(cfg, job.Rand())
	if err != nil {
		t.Fatal(err)
	}
	return res, pr
}

// TestRLBFFModel: train, save, load; the run's held-out judgments and
// comparisons score to its own finals; an item given by its features
// scores as its index does; the weightings param steers the score.
func TestRLBFFModel(t *testing.T) {
	res, pr := rlbffRun(t, quick(rlbffPlugin{}, 3))
	pair := modeltest.RoundTrip(t, res)
	var rows []map[string]any
	for _, jd := range pr.Test {
		rows = append(rows, map[string]any{"item": jd.Item, "principle": jd.Principle, "yes": jd.Yes})
	}
	for _, c := range pr.TestPrefs {
		r := pairRow(c)
		delete(r, "user")
		r["weighting"] = c.User
		rows = append(rows, r)
	}
	sc := pair.Score(t, nil, writeRows(t, rows...))
	names := map[string]string{"judgment_accuracy": "judgment_accuracy", "accuracy": "accuracy", "bt_accuracy": "bt_accuracy"}
	for w := range pr.Weightings {
		names["accuracy_"+weightingName(w)] = "accuracy_" + weightingName(w)
		names["bt_accuracy_"+weightingName(w)] = "bt_accuracy_" + weightingName(w)
	}
	sameFinals(t, sc, res, exact, names)

	// Steering: only principle 0 counts, so P = σ(σ(ĥ_0(a)) − σ(ĥ_0(b))).
	m := pair.Loaded.Model.(*RLBFFTrained)
	sc = pair.Score(t, map[string]any{RLBFFParamWeightings: "1,0,0,0"}, writeRows(t,
		map[string]any{"chosen": 3, "rejected": 5},
		map[string]any{"chosen": pr.Items[3], "rejected": 5}))
	want := pairloss.Sigmoid(m.RLBFF.Prob(0, pr.Items[3]) - m.RLBFF.Prob(0, pr.Items[5]))
	ps := sc.Tables["comparisons"].Floats("p")
	for i, got := range ps {
		if math.Abs(got-want) > closedTol {
			t.Errorf("row %d: p %v, want %v", i, got, want)
		}
	}
	if ps[0] != ps[1] {
		t.Errorf("item 3 by index and by features: p %v and %v, want equal", ps[0], ps[1])
	}
	if pb := sc.Tables["comparisons"].Rows[1][7]; pb != nil {
		t.Errorf("p_bt of an item given by features: got %v, want nil (BT scores pool items only)", pb)
	}
}

// TestRLBFFInit: a run started from a saved model starts where it ended:
// its held-out judgment accuracy at step 0 is the saved run's final one.
func TestRLBFFInit(t *testing.T) {
	params := quick(rlbffPlugin{}, 3)
	res := modeltest.Train(t, RLBFFID, params)
	dir := modeltest.Save(t, res)
	warm, err := kernel.Run(context.Background(), RLBFFID, kernel.Options{Params: params, Init: dir})
	if err != nil {
		t.Fatal(err)
	}
	got, want := warm.Series[MetricRLBFFTestJudg][0], res.Final["judgment_accuracy"]
	if got.Step != 0 || math.Abs(got.Value-want) > exact {
		t.Errorf("warm start: judgment accuracy %v at step %d, want the saved run's %v at 0", got.Value, got.Step, want)
	}
	if warm.Provenance.Init == nil || warm.Provenance.Init.Plugin != RLBFFID {
		t.Errorf("warm start: provenance init %+v", warm.Provenance.Init)
	}
	if warm.Model.(*RLBFFTrained).RLBFF.W[0][0] == res.Model.(*RLBFFTrained).RLBFF.W[0][0] {
		t.Errorf("warm start: the model did not train on from the saved one")
	}
}

// TestModelErrors: a model of another plugin or of other dimensions, and
// saved files that do not fit, give errors that say what is wrong.
func TestModelErrors(t *testing.T) {
	ctx := context.Background()
	rl := modeltest.Train(t, RLBFFID, quick(rlbffPlugin{}, 3))
	rlDir := modeltest.Save(t, rl)
	pal := modeltest.Train(t, PALID, quick(palPlugin{}, 3))
	palDir := modeltest.Save(t, pal)

	var mu *kernel.ModelUsageError
	params := quick(rlbffPlugin{}, 3)
	_, err := kernel.Run(ctx, RLBFFID, kernel.Options{Params: params, Init: palDir})
	if !errors.As(err, &mu) || !strings.Contains(err.Error(), "--model: PAL-A ideal points") || !strings.Contains(err.Error(), "want a plural.rlbff model") {
		t.Errorf("init from a pal model: %v", err)
	}
	params[RLBFFParamPrinciples] = 3
	_, err = kernel.Run(ctx, RLBFFID, kernel.Options{Params: params, Init: rlDir})
	if !errors.As(err, &mu) || !strings.Contains(err.Error(), "the saved model has 4 principles on 8 features, this run 3 on 8") {
		t.Errorf("init from a model of other dimensions: %v", err)
	}
	if _, err := kernel.Run(ctx, PALID, kernel.Options{Params: quick(palPlugin{}, 3), Init: palDir}); !errors.As(err, &mu) {
		t.Errorf("init of plural.pal, which cannot start from a model: %v", err)
	}

	// model.json that does not fit the arrays, or is another plugin's.
	facts := filepath.Join(rlDir, modelFile)
	orig, _ := os.ReadFile(facts)
	for _, c := range []struct{ from, to, want string }{
		{`"dim": 8`, `"dim": 9`, `array "rlbff/weights" has shape [4 8], want [4 9]`},
		{`"plugin": "plural.rlbff"`, `"plugin": "plural.pal"`, `plugin "plural.pal", want "plural.rlbff"`},
		{`"items": 12`, `"items": 1`, `want principles and dim ≥ 1, items ≥ 2`},
	} {
		os.WriteFile(facts, []byte(strings.Replace(string(orig), c.from, c.to, 1)), 0o644)
		if _, err := kernel.Load(rlDir); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), rlDir) {
			t.Errorf("model.json with %s: %v, want an error naming %s and %q", c.to, err, rlDir, c.want)
		}
	}
	os.Remove(facts)
	if _, err := kernel.Load(rlDir); err == nil || !strings.Contains(err.Error(), "holds no model.json") {
		t.Errorf("no model.json: %v", err)
	}
}

// TestScoreFileErrors: every mistake in a scored file is reported with the
// file, the line and the field.
func TestScoreFileErrors(t *testing.T) {
	ctx := context.Background()
	micro := loadedOf(t, MicroID, &MicroTrained{
		Mixture: &MixtureModel{Level: MixtureUser, Head: HeadItems, Scores: [][]float64{{1, 0, 0}}, Weights: []float64{1}},
		Router:  &Router{V: [][]float64{{0, 0}}, B: []float64{0}},
		BT:      &BTModel{Scores: []float64{1, 0, 0}},
	})
	pal := loadedOf(t, PALID, &PALTrained{
		PAL:   &PALModel{Map: [][]float64{{1, 0}}, Prototypes: [][]float64{{0}}, Logits: [][]float64{{0}}, Embedded: [][]float64{{1}, {0}, {2}}},
		Items: [][]float64{{1, 0}, {0, 1}, {2, 0}},
		BT:    &BTModel{Scores: []float64{1, 0, 0}},
	})
	rlbff := loadedOf(t, RLBFFID, &RLBFFTrained{
		RLBFF: &RLBFFModel{W: [][]float64{{1, 0}, {0, 1}, {1, 1}, {0, 0}}, Bias: []float64{0, 0, 0, 0}},
		Items: [][]float64{{1, 0}, {0, 1}, {2, 0}},
		BT:    &BTModel{Scores: []float64{1, 0, 0}},
	})
	ok := `{"user": 0, "chosen": 0, "rejected": 1, "context": [0, 0]}` + "\n"
	for _, c := range []struct {
		name  string
		model *kernel.Loaded
		line  string
		want  string // after "rows.jsonl:"
	}{
		{"micro not json", micro, `{"user": 0,`, `2: want a JSON object, got {"user": 0,`},
		{"micro unknown field", micro, `{"chosen": 0, "rejected": 1, "a_wins": true}`, `2: a_wins: unknown field: want user, chosen, rejected, context`},
		{"micro fit is pal's", micro, `{"chosen": 0, "rejected": 1, "fit": true}`, `2: fit: unknown field`},
		{"micro no context", micro, `{"chosen": 0, "rejected": 1}`, `2: context: missing: the router needs the user's 2 context values`},
		{"micro short context", micro, `{"chosen": 0, "rejected": 1, "context": [1]}`, `2: context: want 2 values (the router's context dimension), got 1`},
		{"micro item outside", micro, `{"chosen": 3, "rejected": 1, "context": [0, 0]}`, `2: chosen: item 3 is not in the model's pool of 3 items (0 … 2)`},
		{"micro same item", micro, `{"chosen": 1, "rejected": 1, "context": [0, 0]}`, `2: rejected: the same item as chosen (1)`},
		{"micro no rejected", micro, `{"chosen": 1, "context": [0, 0]}`, `2: rejected: missing`},
		{"micro negative user", micro, `{"user": -2, "chosen": 0, "rejected": 1, "context": [0, 0]}`, `2: user: want a non-negative integer, got -2`},
		{"micro features", micro, `{"chosen": [1, 0], "rejected": 1, "context": [0, 0]}`, `2: chosen: want an item's index (an integer ≥ 0), got [1, 0]`},
		{"pal no user", pal, `{"chosen": 0, "rejected": 1}`, `2: user: missing: want the user's index (the run's users are 0 … 0; a larger index is a new user)`},
		{"pal fit not bool", pal, `{"user": 0, "chosen": 0, "rejected": 1, "fit": "yes"}`, `2: fit: want true or false, got "yes"`},
		{"rlbff principle outside", rlbff, `{"item": 0, "principle": 4, "yes": true}`, `2: principle: principle 4: the model has 4 (0 … 3)`},
		{"rlbff judgment without yes", rlbff, `{"item": 0, "principle": 1}`, `2: yes: missing`},
		{"rlbff judgment and pair", rlbff, `{"item": 0, "principle": 1, "yes": false, "chosen": 2}`, `2: chosen: a judgment row (item, principle, yes) takes no chosen`},
		{"rlbff short features", rlbff, `{"chosen": [1, 2, 3], "rejected": 0}`, `2: chosen: want 2 features (the model's dimension), got 3`},
		{"rlbff weighting outside", rlbff, `{"chosen": 1, "rejected": 0, "weighting": 4}`, `2: weighting: weighting 4: the weightings param has 4 (0 … 3)`},
		{"rlbff weights length", rlbff, `{"chosen": 1, "rejected": 0, "weights": [1, 1]}`, `2: weights: want 4 weights (one per principle), got 2`},
		{"rlbff zero weights", rlbff, `{"chosen": 1, "rejected": 0, "weights": [0, 0, 0, 0]}`, `2: weights: want non-negative weights with a positive sum`},
		{"rlbff both weightings", rlbff, `{"chosen": 1, "rejected": 0, "weights": [1, 0, 0, 0], "weighting": 1}`, `2: weights: give weighting or weights, not both`},
	} {
		t.Run(c.name, func(t *testing.T) {
			first := ok
			if c.model == rlbff {
				first = `{"item": 0, "principle": 0, "yes": true}` + "\n"
			} else if c.model == pal {
				first = `{"user": 0, "chosen": 0, "rejected": 1}` + "\n"
			}
			path := writeText(t, first+c.line+"\n")
			_, err := c.model.Score(ctx, kernel.Options{Data: []string{path}})
			if want := path + ":" + c.want; err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("got %v, want %s…", err, want)
			}
		})
	}
	empty := writeText(t, "\n\n")
	if _, err := micro.Score(ctx, kernel.Options{Data: []string{empty}}); err == nil || err.Error() != empty+": no rows: want one JSON object per line" {
		t.Errorf("empty file: %v", err)
	}
	if _, err := micro.Score(ctx, kernel.Options{Data: []string{empty, empty}}); err == nil || !strings.Contains(err.Error(), "want 1 file") {
		t.Errorf("two files: %v", err)
	}
}

// A plural.rlbff run's model is saved, loaded back and, without refitting,
// scores new judgments and comparisons, steered by a user who cares only
// for principle 0.
func ExampleRLBFFTrained() {
	ctx := context.Background()
	params := map[string]any{RLBFFParamItems: 20, RLBFFParamJudgments: 400, "steps": 100, RLBFFParamBTSteps: 50, kernel.ParamSeed: 1}
	res, err := kernel.Run(ctx, RLBFFID, kernel.Options{Params: params})
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "rlbff")
	defer os.RemoveAll(dir)
	if err := kernel.SaveModel(res, filepath.Join(dir, "model")); err != nil {
		fmt.Println(err)
		return
	}
	l, err := kernel.Load(filepath.Join(dir, "model"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(l.Model.Kind())
	rows := filepath.Join(dir, "rows.jsonl")
	os.WriteFile(rows, []byte(`{"item": 3, "principle": 0, "yes": true}
{"item": 4, "principle": 1, "yes": false}
{"chosen": 3, "rejected": 4}
{"chosen": 3, "rejected": 4, "weights": [1, 0, 0, 0]}
`), 0o644)
	sc, err := l.Score(ctx, kernel.Options{Data: []string{rows}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range sc.Tables["judgments"].Rows {
		fmt.Printf("item %v satisfies principle %v: P = %.2f\n", r[1], r[2], r[4])
	}
	for _, r := range sc.Tables["comparisons"].Rows {
		fmt.Printf("weighting %s: P(3 ≻ 4) = %.2f\n", r[1], r[6])
	}
	// Output:
	// RLBFF principle reward model: 4 principle heads on 8 features, 20 items
	// item 3 satisfies principle 0: P = 0.72
	// item 4 satisfies principle 1: P = 0.17
	// weighting population: P(3 ≻ 4) = 0.55
	// weighting own: P(3 ≻ 4) = 0.43
}

// A hand-made MiCRo model scores comparisons without training: two heads
// on three items, the router sending context x = ½ log 3 to weights (¾, ¼)
// and −x to (¼, ¾).
func ExampleMicroTrained() {
	m := &MicroTrained{
		Mixture: &MixtureModel{Level: MixtureUser, Head: HeadItems, Scores: [][]float64{{math.Log(4), 0, 0}, {0, math.Log(4), 0}}, Weights: []float64{0.5, 0.5}},
		Router:  &Router{V: [][]float64{{1}, {-1}}, B: []float64{0, 0}},
		BT:      &BTModel{Scores: []float64{math.Log(9), 0, 0}},
	}
	params, _ := kernel.Validate(microPlugin{}.Info(), nil)
	l, _ := kernel.LoadedOf(&kernel.Result{Plugin: MicroID, Params: params, Model: m})
	dir, _ := os.MkdirTemp("", "micro")
	defer os.RemoveAll(dir)
	rows := filepath.Join(dir, "comparisons.jsonl")
	os.WriteFile(rows, []byte(`{"user": 0, "chosen": 0, "rejected": 1, "context": [0.5493061443340549]}
{"user": 1, "chosen": 1, "rejected": 0, "context": [-0.5493061443340549]}
`), 0o644)
	sc, err := l.Score(context.Background(), kernel.Options{Data: []string{rows}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range sc.Tables["scores"].Rows {
		fmt.Printf("user %v, %v ≻ %v: routed %.2f, global mixture %.2f, BT %.2f\n", r[1], r[2], r[3], r[4], r[5], r[6])
	}
	fmt.Printf("accuracy: routed %.2f, BT %.2f\n", sc.Final["accuracy_router"], sc.Final["accuracy_bt"])
	// Output:
	// user 0, 0 ≻ 1: routed 0.65, global mixture 0.50, BT 0.90
	// user 1, 1 ≻ 0: routed 0.65, global mixture 0.50, BT 0.10
	// accuracy: routed 1.00, BT 0.50
}

// A plural.pal run's model scores a training user's comparison and, after
// fitting their weights to two comparisons, a new user's.
func ExamplePALTrained() {
	res, err := kernel.Run(context.Background(), PALID, kernel.Options{Params: palPlugin{}.QuickParams()})
	if err != nil {
		fmt.Println(err)
		return
	}
	l, _ := kernel.LoadedOf(res)
	fmt.Println(l.Model.Kind())
	dir, _ := os.MkdirTemp("", "pal")
	defer os.RemoveAll(dir)
	rows := filepath.Join(dir, "comparisons.jsonl")
	os.WriteFile(rows, []byte(`{"user": 1, "chosen": 2, "rejected": 5}
{"user": 500, "chosen": 2, "rejected": 5, "fit": true}
{"user": 500, "chosen": 2, "rejected": 8, "fit": true}
{"user": 500, "chosen": 4, "rejected": 5}
`), 0o644)
	sc, err := l.Score(context.Background(), kernel.Options{Data: []string{rows}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range sc.Tables["scores"].Rows {
		fmt.Printf("user %v (%v), %v ≻ %v: PAL %.2f, BT %.2f\n", r[1], r[2], r[3], r[4], r[5], r[6])
	}
	// Output:
	// PAL-A ideal points: 3 prototypes in 2-D, item map from 8 features, 12 items, 32 of 40 users trained
	// user 1 (trained), 2 ≻ 5: PAL 0.32, BT 0.68
	// user 500 (few-shot), 4 ≻ 5: PAL 0.11, BT 0.29
}
