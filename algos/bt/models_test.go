package bt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// Tolerances of the saved-model tests.
const (
	tolLogLoss   = 1e-12 // score's log loss vs −log_likelihood/weight: the same sums in another order
	tolEloClosed = 1e-9  // vs a closed form from the leaderboard's Elo ratings (rounded through the Elo scale)
	tolWarmElo   = 1e-9  // Elo ratings of a warm start from the optimum vs the optimum
	tolWarmPL    = 1e-9  // θ of a warm start from the PL optimum vs the optimum
	tolSGD       = 1e-12 // m + n SGD steps from a saved model vs m + n steps in one run
)

// merged returns a copy of base with extra's keys set.
func merged(base, extra map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// threeBattles is a hand-made arena of 3 models with wins both ways, ties
// of both kinds and a weighted battle (summed weight 13).
const threeBattles = `{"model_a":"A","model_b":"B","winner":"model_a"}
{"model_a":"B","model_b":"A","winner":"model_b"}
{"model_a":"A","model_b":"B","winner":"model_a"}
{"model_a":"A","model_b":"B","winner":"model_b"}
{"model_a":"A","model_b":"B","winner":"tie"}
{"model_a":"B","model_b":"C","winner":"model_a"}
{"model_a":"C","model_b":"B","winner":"model_b"}
{"model_a":"B","model_b":"C","winner":"model_b"}
{"model_a":"C","model_b":"B","winner":"tie (bothbad)"}
{"model_a":"A","model_b":"C","winner":"model_a"}
{"model_a":"C","model_b":"A","winner":"model_b"}
{"model_a":"C","model_b":"A","winner":"model_a","weight":2}
`

func TestRatingsModelScore(t *testing.T) {
	file := writeFile(t, "three.jsonl", threeBattles)
	for _, ties := range TieModels {
		res := modeltest.Train(t, "bt.ratings", map[string]any{ParamBootstrapRounds: 5, ParamTies: ties}, file)
		p := modeltest.RoundTrip(t, res)
		sc := p.Score(t, nil, file)
		// Scoring the training file gives the objective the fit maximised.
		if got, want := sc.Final["battle_weight"], 13.0; got != want {
			t.Errorf("%s: battle_weight: got %v, want %v", ties, got, want)
		}
		want := -res.Final["log_likelihood"] / 13
		if got := sc.Final["log_loss"]; math.Abs(got-want) > tolLogLoss {
			t.Errorf("%s: log_loss: got %.15g, want −log_likelihood/weight = %.15g", ties, got, want)
		}
		if got := len(sc.Tables["scores"].Rows); got != 12 || sc.Final["battles"] != 12 || sc.Final["battles_skipped"] != 0 {
			t.Errorf("%s: got %d score rows, battles %v, skipped %v, want 12, 12, 0", ties, got, sc.Final["battles"], sc.Final["battles_skipped"])
		}
		// Per battle, the outcome probabilities add up to 1.
		tb := sc.Tables["scores"]
		pa, pb, pt := tb.Floats("p_a"), tb.Floats("p_b"), tb.Floats("p_tie")
		for i := range pa {
			tie := pt[i]
			if ties == TiesHalf {
				if !math.IsNaN(tie) {
					t.Errorf("%s: battle %d: p_tie %v, want null (half has no tie probability)", ties, i+1, tie)
				}
				tie = 0
			}
			if s := pa[i] + pb[i] + tie; math.Abs(s-1) > 1e-12 {
				t.Errorf("%s: battle %d: p_a + p_b + p_tie = %v, want 1", ties, i+1, s)
			}
		}
	}
}

// TestRatingsModelScoreClosedForm recomputes the half-tie log loss and the
// accuracy of the three-model arena from the leaderboard's Elo ratings.
func TestRatingsModelScoreClosedForm(t *testing.T) {
	file := writeFile(t, "three.jsonl", threeBattles)
	res := modeltest.Train(t, "bt.ratings", map[string]any{ParamBootstrapRounds: 0}, file)
	elo := column(t, res, "leaderboard", "rating")
	sc := modeltest.RoundTrip(t, res).Score(t, nil, file)
	battles := []struct {
		a, b, winner string
		w            float64
	}{
		{"A", "B", "model_a", 1}, {"B", "A", "model_b", 1}, {"A", "B", "model_a", 1}, {"A", "B", "model_b", 1}, {"A", "B", "tie", 1},
		{"B", "C", "model_a", 1}, {"C", "B", "model_b", 1}, {"B", "C", "model_b", 1}, {"C", "B", "tie (bothbad)", 1},
		{"A", "C", "model_a", 1}, {"C", "A", "model_b", 1}, {"C", "A", "model_a", 2},
	}
	var loss, weight, correct, decisive float64
	for _, b := range battles {
		d := (elo[b.a] - elo[b.b]) / EloPerLogit
		pa := 1 / (1 + math.Exp(-d))
		var ll float64
		switch b.winner {
		case "model_a":
			ll = math.Log(pa)
			decisive += b.w
			if d > 0 {
				correct += b.w
			}
		case "model_b":
			ll = math.Log(1 - pa)
			decisive += b.w
			if d < 0 {
				correct += b.w
			}
		default:
			ll = (math.Log(pa) + math.Log(1-pa)) / 2
		}
		loss -= b.w * ll
		weight += b.w
	}
	for _, c := range []struct {
		final string
		want  float64
	}{{"log_loss", loss / weight}, {"accuracy", correct / decisive}, {"decisive_battles", decisive}} {
		if got := sc.Final[c.final]; math.Abs(got-c.want) > tolEloClosed {
			t.Errorf("%s: got %.12g, want %.12g", c.final, got, c.want)
		}
	}
	// The model's own Elo ratings are the leaderboard's.
	m := res.Model.(*RatingsModel)
	for i, r := range m.Ratings() {
		if got, want := r, elo[m.Models[i]]; got != want {
			t.Errorf("Ratings()[%s]: got %v, want %v", m.Models[i], got, want)
		}
	}
}

func TestRatingsModelScoreInputs(t *testing.T) {
	file := writeFile(t, "three.jsonl", threeBattles)
	res := modeltest.Train(t, "bt.ratings", map[string]any{ParamBootstrapRounds: 0}, file)
	p := modeltest.RoundTrip(t, res)
	ctx := context.Background()

	// Gzip and CSV, as run reads them; an unknown model is skipped and named.
	dir := t.TempDir()
	csv := writeText(t, dir, "new.csv.gz", gzipped(t, []byte("model_b,model_a,winner\nB,A,model_a\nD,A,model_b\n")))
	sc := p.Score(t, nil, csv)
	if sc.Final["battles"] != 1 || sc.Final["battles_skipped"] != 1 {
		t.Errorf("battles %v, skipped %v, want 1 and 1", sc.Final["battles"], sc.Final["battles_skipped"])
	}
	if len(sc.Notes) != 1 || !strings.Contains(sc.Notes[0], "D") {
		t.Errorf("notes %q, want one naming D", sc.Notes)
	}
	if sh := sc.Provenance.Data[0].Shape; sh["battles"] != 2 || sh["scored"] != 1 {
		t.Errorf("data shape %v, want battles 2, scored 1", sh)
	}

	// A bad line is the loaders' error, with file, line and field.
	bad := writeFile(t, "bad.jsonl", `{"model_a":"A","model_b":"B","winner":"model_a"}`+"\n"+`{"model_a":"A","model_b":"B","winner":"maybe"}`+"\n")
	_, err := p.Loaded.Score(ctx, kernel.Options{Data: []string{bad}})
	var de *datasets.Error
	if !errors.As(err, &de) || de.File != bad || de.Line != 2 || de.Field != "winner" {
		t.Errorf("bad winner: got %v, want a datasets.Error at %s:2 winner", err, bad)
	}
	// Only unknown models: an error naming the rated ones.
	other := writeFile(t, "other.jsonl", `{"model_a":"X","model_b":"Y","winner":"model_a"}`+"\n")
	if _, err := p.Loaded.Score(ctx, kernel.Options{Data: []string{other}}); err == nil || !strings.Contains(err.Error(), "A, B, C") {
		t.Errorf("no known model: got %v, want an error naming A, B, C", err)
	}
	// The tie model is the model's own.
	var mu *kernel.ModelUsageError
	if _, err := p.Loaded.Score(ctx, kernel.Options{Data: []string{file}, Params: map[string]any{ParamTies: TiesDavidson}}); !errors.As(err, &mu) || !strings.Contains(err.Error(), "ties=davidson") {
		t.Errorf("ties override: got %v, want a ModelUsageError", err)
	}
}

func TestRatingsModelInit(t *testing.T) {
	file := writeFile(t, "three.jsonl", threeBattles)
	ctx := context.Background()
	for _, c := range []struct{ solver, ties string }{
		{SolverNewton, TiesHalf}, {SolverMM, TiesHalf}, {SolverNewton, TiesDavidson}, {SolverMM, TiesRaoKupper},
	} {
		params := map[string]any{ParamBootstrapRounds: 0, ParamSolver: c.solver, ParamTies: c.ties}
		if c.solver == SolverMM {
			// MM converges linearly: at tolerance 1e-10 its last step can
			// still be 1e-11 in θ (2e-9 Elo), so it fits closer here.
			params[ParamTolerance] = 1e-13
		}
		res := modeltest.Train(t, "bt.ratings", params, file)
		dir := modeltest.Save(t, res)
		warm, err := kernel.Run(ctx, "bt.ratings", kernel.Options{Params: params, Data: []string{file}, Init: dir})
		if err != nil {
			t.Fatalf("%s %s: %v", c.solver, c.ties, err)
		}
		if it := warm.Final["iterations"]; it > 2 {
			t.Errorf("%s %s: warm start from the optimum took %v iterations, want ≤ 2", c.solver, c.ties, it)
		}
		want, got := column(t, res, "leaderboard", "rating"), column(t, warm, "leaderboard", "rating")
		for m, r := range want {
			if math.Abs(got[m]-r) > tolWarmElo {
				t.Errorf("%s %s: %s: warm rating %.12g, want %.12g", c.solver, c.ties, m, got[m], r)
			}
		}
		if warm.Provenance.Init == nil || !strings.Contains(strings.Join(warm.Notes, "\n"), "started from the saved") {
			t.Errorf("%s %s: init not recorded: %+v %q", c.solver, c.ties, warm.Provenance.Init, warm.Notes)
		}
	}

	// A model the saved ratings lack starts at 0, and a note names it.
	res := modeltest.Train(t, "bt.ratings", map[string]any{ParamBootstrapRounds: 0}, file)
	dir := modeltest.Save(t, res)
	four := writeFile(t, "four.jsonl", threeBattles+`{"model_a":"D","model_b":"A","winner":"model_b"}`+"\n"+`{"model_a":"D","model_b":"C","winner":"model_a"}`+"\n")
	warm, err := kernel.Run(ctx, "bt.ratings", kernel.Options{Params: map[string]any{ParamBootstrapRounds: 0}, Data: []string{four}, Init: dir})
	if err != nil {
		t.Fatal(err)
	}
	if notes := strings.Join(warm.Notes, "\n"); !strings.Contains(notes, "1 of the data's 4 models not in it start at θ = 0: D") {
		t.Errorf("notes %q, want one naming D", notes)
	}
}

func TestRatingsModelErrors(t *testing.T) {
	file := writeFile(t, "three.jsonl", threeBattles)
	ctx := context.Background()
	res := modeltest.Train(t, "bt.ratings", map[string]any{ParamBootstrapRounds: 0}, file)
	dir := modeltest.Save(t, res)

	// Another plugin's model cannot start a bt.ratings run.
	ranks := writeFile(t, "ranks.jsonl", fourRankings)
	pl := modeltest.Save(t, modeltest.Train(t, "bt.plackett_luce", map[string]any{ParamBootstrapRounds: 0}, ranks))
	_, err := kernel.Run(ctx, "bt.ratings", kernel.Options{Data: []string{file}, Init: pl})
	if err == nil || !strings.Contains(err.Error(), "Plackett–Luce ratings of 4 items, want Bradley–Terry ratings") {
		t.Errorf("init from a PL model: got %v", err)
	}
	// Ratings of none of the data's models.
	other := writeFile(t, "other.jsonl", "{\"model_a\":\"X\",\"model_b\":\"Y\",\"winner\":\"model_a\"}\n{\"model_a\":\"X\",\"model_b\":\"Y\",\"winner\":\"model_b\"}\n")
	if _, err := kernel.Run(ctx, "bt.ratings", kernel.Options{Data: []string{other}, Init: dir}); err == nil || !strings.Contains(err.Error(), "rate none of the data's 2 models") {
		t.Errorf("init with no model in common: got %v", err)
	}
	// A model.json naming a model more than the arrays hold.
	var f ratingsFile
	b, _ := os.ReadFile(filepath.Join(dir, ModelFile))
	json.Unmarshal(b, &f)
	f.Models = append(f.Models, "D")
	if err := writeModelFile(dir, f); err != nil {
		t.Fatal(err)
	}
	if _, err := kernel.Load(dir); err == nil || !strings.Contains(err.Error(), `array "theta" has shape [3], want [4]`) || !strings.Contains(err.Error(), dir) {
		t.Errorf("mismatched theta: got %v", err)
	}
	f.Models, f.Kind = f.Models[:3], kindReward
	writeModelFile(dir, f)
	if _, err := kernel.Load(dir); err == nil || !strings.Contains(err.Error(), `kind "bt.reward", want "bt.ratings"`) {
		t.Errorf("wrong kind: got %v", err)
	}
}

// rewardPairsFile writes n pairs of dimension dim labelled by a planted
// linear reward (seeded), and returns the path.
func rewardPairsFile(t *testing.T, name string, n, dim int, seed uint64) string {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	var b strings.Builder
	vec := func() []float64 {
		v := make([]float64, dim)
		for i := range v {
			v[i] = math.Round(r.NormFloat64()*1000) / 1000
		}
		return v
	}
	for range n {
		x, y := vec(), vec()
		d := 0.0
		for i := range x {
			d += float64(i%3-1) * (x[i] - y[i]) * 2
		}
		if r.Float64() > 1/(1+math.Exp(-d)) {
			x, y = y, x
		}
		line, _ := json.Marshal(map[string]any{"chosen": x, "rejected": y, "strength": 1 + r.IntN(3)})
		b.Write(line)
		b.WriteByte('\n')
	}
	return writeFile(t, name, b.String())
}

const textPairs = `{"prompt": "How do I boil an egg?", "chosen": "Simmer it for 7 minutes, then cool it in cold water.", "rejected": "Eggs are food."}
{"prompt": "Name a prime.", "chosen": "Seven is prime.", "rejected": "Nine."}
{"prompt": "What is the capital of France?", "chosen": "Paris is the capital of France.", "rejected": "France is big."}
{"prompt": "How far is the moon?", "chosen": "About 384,000 km on average.", "rejected": "Far."}
{"prompt": "Boil water?", "chosen": "Heat it to 100 degrees at sea level.", "rejected": "Water is wet."}
{"prompt": "Say hi.", "chosen": "Hi there!", "rejected": "No."}
`

func TestRewardModelScore(t *testing.T) {
	vecs := rewardPairsFile(t, "pairs.jsonl", 40, 3, 1)
	text := writeFile(t, "text.jsonl", textPairs)
	for _, c := range []struct {
		name   string
		params map[string]any
		file   string
		kind   string
	}{
		{"linear", map[string]any{}, vecs, "linear reward model, input 3"},
		{"mlp", map[string]any{ParamModel: ModelMLP, ParamHidden: 4, ParamLayers: 2}, vecs, "MLP reward model, input 3, 2×4 tanh"}, // float32
		{"mlp float64", map[string]any{ParamModel: ModelMLP, ParamHidden: 4, ParamLayers: 2, fit.ParamDType: fit.DTypeFloat64}, vecs, "MLP reward model, input 3, 2×4 tanh"},
		{"margin_bt", map[string]any{ParamLoss: LossMarginBT}, vecs, "linear reward model, input 3"},
		{"text", map[string]any{ParamHashDim: 16}, text, "linear reward model, input 32, text hashed into 16 buckets"},
	} {
		params := merged(map[string]any{fit.ParamSteps: 15, ParamHoldout: 0, fit.ParamEvalEvery: 5, fit.ParamBatchSize: 0}, c.params)
		res := modeltest.Train(t, "bt.reward", params, c.file)
		if got := res.Model.Kind(); got != c.kind {
			t.Errorf("%s: kind %q, want %q", c.name, got, c.kind)
		}
		sc := modeltest.RoundTrip(t, res).Score(t, nil, c.file)
		// The training file (holdout 0) gives the run's own train metrics.
		for _, k := range []struct{ score, run string }{{"accuracy", "train_accuracy"}, {"mean_margin", "train_margin"}, {"loss", "train_loss"}} {
			if got, want := sc.Final[k.score], res.Final[k.run]; got != want {
				t.Errorf("%s: %s: got %v, want the run's %s %v", c.name, k.score, got, k.run, want)
			}
		}
		if c.name == "linear" || c.name == "text" {
			if got, want := sc.Final["log_loss"], res.Final["train_loss"]; math.Abs(got-want) > tolLogLoss {
				t.Errorf("%s: log_loss %v, want train_loss %v (bt)", c.name, got, want)
			}
		}
		tb := sc.Tables["scores"]
		rw, rl, pc := tb.Floats("reward_chosen"), tb.Floats("reward_rejected"), tb.Floats("p_chosen")
		for i := range rw {
			if want := 1 / (1 + math.Exp(-(rw[i] - rl[i]))); math.Abs(pc[i]-want) > 1e-15 {
				t.Errorf("%s: pair %d: p_chosen %v, want σ(Δ) = %v", c.name, i+1, pc[i], want)
			}
		}
	}
}

func TestRewardModelInit(t *testing.T) {
	file := rewardPairsFile(t, "pairs.jsonl", 40, 3, 2)
	ctx := context.Background()
	base := map[string]any{fit.ParamOptimizer: fit.SGD, fit.ParamLearningRate: 0.5, ParamHoldout: 0, fit.ParamBatchSize: 0, fit.ParamEvalEvery: 5}
	for _, arch := range []map[string]any{{}, {ParamModel: ModelMLP, ParamHidden: 3}, {ParamModel: ModelMLP, ParamHidden: 3, fit.ParamDType: fit.DTypeFloat64}} {
		// SGD on full batches keeps no state: 20 steps, saved, then 10 more
		// are the 30 steps of one run.
		first := modeltest.Train(t, "bt.reward", merged(merged(base, arch), map[string]any{fit.ParamSteps: 20}), file)
		dir := modeltest.Save(t, first)
		warm, err := kernel.Run(ctx, "bt.reward", kernel.Options{Params: merged(merged(base, arch), map[string]any{fit.ParamSteps: 10}), Data: []string{file}, Init: dir})
		if err != nil {
			t.Fatal(err)
		}
		whole := modeltest.Train(t, "bt.reward", merged(merged(base, arch), map[string]any{fit.ParamSteps: 30}), file)
		got, want := warm.Model.(*TrainedReward).weights(), whole.Model.(*TrainedReward).weights()
		for name, w := range want {
			g := got[name].Floats()
			for i, v := range w.Floats() {
				if math.Abs(g[i]-v) > tolSGD {
					t.Errorf("%v: %s[%d]: 20 + 10 steps %v, 30 steps %v", arch, name, i, g[i], v)
				}
			}
		}
	}
}

func TestRewardModelErrors(t *testing.T) {
	file := rewardPairsFile(t, "pairs.jsonl", 20, 3, 3)
	wide := rewardPairsFile(t, "wide.jsonl", 20, 4, 3)
	ctx := context.Background()
	params := map[string]any{fit.ParamSteps: 5, ParamHoldout: 0, ParamModel: ModelMLP, ParamHidden: 4}
	res := modeltest.Train(t, "bt.reward", params, file)
	dir := modeltest.Save(t, res)
	for _, c := range []struct {
		name   string
		params map[string]any
		data   string
		want   string
	}{
		{"dimension", params, wide, "reads feature vectors of dimension 3, prompt dimension 0, but the data are feature vectors of dimension 4"},
		{"architecture", map[string]any{fit.ParamSteps: 5}, file, "set model=mlp fnn_num_hidden_layers=1 fnn_num_hidden_nodes=4 to start from it"},
		{"units", merged(params, map[string]any{ParamHidden: 5}), file, "fnn_num_hidden_nodes=4"},
	} {
		if _, err := kernel.Run(ctx, "bt.reward", kernel.Options{Params: c.params, Data: []string{c.data}, Init: dir}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
	// Scoring pairs of another dimension names the file.
	l, err := kernel.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = l.Score(ctx, kernel.Options{Data: []string{wide}})
	var de *datasets.Error
	if !errors.As(err, &de) || de.File != wide || !strings.Contains(err.Error(), "want the pairs the saved model reads") {
		t.Errorf("score of wider pairs: got %v", err)
	}
	// A ratings model cannot start a reward run.
	ratingsDir := modeltest.Save(t, modeltest.Train(t, "bt.ratings", map[string]any{ParamBootstrapRounds: 0}, writeFile(t, "b.jsonl", threeBattles)))
	if _, err := kernel.Run(ctx, "bt.reward", kernel.Options{Params: params, Data: []string{file}, Init: ratingsDir}); err == nil || !strings.Contains(err.Error(), "want a reward model") {
		t.Errorf("init from ratings: got %v", err)
	}
	// Arrays of another shape than model.json says.
	var f rewardFile
	b, _ := os.ReadFile(filepath.Join(dir, ModelFile))
	json.Unmarshal(b, &f)
	f.HiddenUnits = 5
	writeModelFile(dir, f)
	if _, err := kernel.Load(dir); err == nil || !strings.Contains(err.Error(), `array "reward/hidden0/weights" has shape [3 4], want [3 5]`) {
		t.Errorf("mismatched layer: got %v", err)
	}
}

// fourRankings are rankings of 4 items, complete and top-k, whose
// Plackett–Luce likelihood has a finite maximum.
const fourRankings = `{"ranking":["A","B","C"]}
{"ranking":["B","A","D"]}
{"ranking":["A","C","D","B"]}
{"ranking":["C","A"],"offered":["A","B","C","D"]}
{"ranking":["D","B","C"]}
{"ranking":["B","C"]}
{"ranking":["A","D"],"offered":["A","B","D"]}
{"ranking":["C","D","A"]}
`

// candidateLists writes n ranked lists of 3 candidates of dimension 2 with
// rewards r = w·φ, best first.
func candidateLists(t *testing.T, name string, n int, seed uint64) string {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 2))
	var b strings.Builder
	for range n {
		type cand struct {
			phi []float64
			rw  float64
		}
		cs := make([]cand, 3)
		for i := range cs {
			phi := []float64{math.Round(r.NormFloat64()*100) / 100, math.Round(r.NormFloat64()*100) / 100}
			cs[i] = cand{phi, 1.5*phi[0] - 0.5*phi[1] + math.Round(r.NormFloat64()*50)/100}
		}
		for i := range cs { // best first
			for j := i + 1; j < len(cs); j++ {
				if cs[j].rw > cs[i].rw {
					cs[i], cs[j] = cs[j], cs[i]
				}
			}
		}
		line, _ := json.Marshal(map[string]any{
			"candidates": [][]float64{cs[0].phi, cs[1].phi, cs[2].phi},
			"rewards":    []float64{cs[0].rw, cs[1].rw, cs[2].rw},
		})
		b.Write(line)
		b.WriteByte('\n')
	}
	return writeFile(t, name, b.String())
}

func TestPLItemsModel(t *testing.T) {
	file := writeFile(t, "ranks.jsonl", fourRankings)
	res := modeltest.Train(t, "bt.plackett_luce", map[string]any{ParamBootstrapRounds: 5}, file)
	p := modeltest.RoundTrip(t, res)
	sc := p.Score(t, nil, file)
	// Summed in the order of the fit's own likelihood: the same number.
	if got, want := sc.Final["log_likelihood"], res.Final["log_likelihood"]; got != want {
		t.Errorf("log_likelihood: got %v, want the run's %v", got, want)
	}
	// Each ranking's log-likelihood and top-1 credit, recomputed.
	m := res.Model.(*PLItemsModel)
	theta := map[string]float64{}
	for i, it := range m.Items {
		theta[it] = m.Theta[i]
	}
	var lists []struct {
		Ranking, Offered []string
	}
	for _, line := range strings.Split(strings.TrimSpace(fourRankings), "\n") {
		var l struct{ Ranking, Offered []string }
		json.Unmarshal([]byte(line), &l)
		if l.Offered == nil {
			l.Offered = l.Ranking
		}
		lists = append(lists, l)
	}
	tb := sc.Tables["scores"]
	lls, top := tb.Floats("log_likelihood"), tb.Floats("top1")
	var wantTop float64
	for n, l := range lists {
		left := append([]string(nil), l.Offered...)
		ll := 0.0
		for _, it := range l.Ranking {
			if len(left) == 1 {
				break
			}
			z := 0.0
			for _, o := range left {
				z += math.Exp(theta[o])
			}
			ll += theta[it] - math.Log(z)
			for i, o := range left {
				if o == it {
					left = append(left[:i], left[i+1:]...)
					break
				}
			}
		}
		if math.Abs(lls[n]-ll) > tolLogLoss {
			t.Errorf("ranking %d: log_likelihood %v, want %v", n+1, lls[n], ll)
		}
		best := true
		for _, o := range l.Offered {
			best = best && theta[o] <= theta[l.Ranking[0]]
		}
		want := 0.0
		if best {
			want = 1
		}
		wantTop += want
		if top[n] != want {
			t.Errorf("ranking %d: top1 %v, want %v", n+1, top[n], want)
		}
	}
	if got, want := sc.Final["top1"], wantTop/float64(len(lists)); got != want {
		t.Errorf("top1: got %v, want %v", got, want)
	}
	s := p.Sample(t, 3, nil, file)
	rows := s.Tables["samples"].Strings("order")
	if len(rows) != 3*len(lists) {
		t.Fatalf("got %d samples, want %d", len(rows), 3*len(lists))
	}
	for i, order := range rows {
		if got, want := len(strings.Split(order, " > ")), len(lists[i/3].Ranking); got != want {
			t.Errorf("sample %d %q: %d items, want the ranking's %d", i, order, got, want)
		}
	}
}

func TestPROPolicy(t *testing.T) {
	file := candidateLists(t, "lists.jsonl", 12, 1)
	res := modeltest.Train(t, "bt.plackett_luce", map[string]any{fit.ParamSteps: 20, ParamHoldout: 0, fit.ParamEvalEvery: 10}, file)
	if got, want := res.Model.Kind(), "log-linear PRO policy, d = 2"; got != want {
		t.Errorf("kind %q, want %q", got, want)
	}
	p := modeltest.RoundTrip(t, res)
	sc := p.Score(t, nil, file)
	for _, k := range []struct{ score, run string }{{"top1", "train_top1"}, {"loss", "train_loss"}, {"kendall_tau", "train_kendall_tau"}} {
		if got, want := sc.Final[k.score], res.Final[k.run]; got != want {
			t.Errorf("%s: got %v, want the run's %s %v", k.score, got, k.run, want)
		}
	}
	// The constant temperature's PRO loss is the Plackett–Luce negative
	// log-likelihood of the given order.
	sc = p.Score(t, map[string]any{ParamTemperature: TemperatureConstant}, file)
	if got, want := sc.Final["loss"], -sc.Final["mean_log_likelihood"]; math.Abs(got-want) > tolLogLoss {
		t.Errorf("constant temperature: loss %v, want −mean_log_likelihood %v", got, want)
	}
	s := p.Sample(t, 4, nil, file)
	if got := len(s.Tables["samples"].Rows); got != 4*12 {
		t.Errorf("got %d samples, want 48", got)
	}
}

func TestPLInit(t *testing.T) {
	ctx := context.Background()
	ranks := writeFile(t, "ranks.jsonl", fourRankings)
	params := map[string]any{ParamBootstrapRounds: 0}
	res := modeltest.Train(t, "bt.plackett_luce", params, ranks)
	dir := modeltest.Save(t, res)
	warm, err := kernel.Run(ctx, "bt.plackett_luce", kernel.Options{Params: params, Data: []string{ranks}, Init: dir})
	if err != nil {
		t.Fatal(err)
	}
	if it := warm.Final["iterations"]; it > 2 {
		t.Errorf("warm start from the optimum took %v iterations, want ≤ 2", it)
	}
	want, got := res.Model.(*PLItemsModel).Theta, warm.Model.(*PLItemsModel).Theta
	for i := range want {
		if math.Abs(got[i]-want[i]) > tolWarmPL {
			t.Errorf("θ[%d]: warm %v, want %v", i, got[i], want[i])
		}
	}

	// PRO with SGD: 20 steps, saved, then 10 more are 30 steps.
	lists := candidateLists(t, "lists.jsonl", 12, 2)
	sgd := map[string]any{fit.ParamOptimizer: fit.SGD, fit.ParamLearningRate: 0.5, ParamHoldout: 0, fit.ParamEvalEvery: 10}
	first := modeltest.Train(t, "bt.plackett_luce", merged(sgd, map[string]any{fit.ParamSteps: 20}), lists)
	pdir := modeltest.Save(t, first)
	more, err := kernel.Run(ctx, "bt.plackett_luce", kernel.Options{Params: merged(sgd, map[string]any{fit.ParamSteps: 10}), Data: []string{lists}, Init: pdir})
	if err != nil {
		t.Fatal(err)
	}
	whole := modeltest.Train(t, "bt.plackett_luce", merged(sgd, map[string]any{fit.ParamSteps: 30}), lists)
	want, got = whole.Model.(*PROPolicy).Theta, more.Model.(*PROPolicy).Theta
	for i := range want {
		if math.Abs(got[i]-want[i]) > tolSGD {
			t.Errorf("PRO θ[%d]: 20 + 10 steps %v, 30 steps %v", i, got[i], want[i])
		}
	}

	// The saved model must be of the data's kind and dimension.
	wide := writeFile(t, "wide.jsonl", `{"candidates": [[1, 2, 3], [0, 1, 0]], "rewards": [1, 0]}`+"\n"+`{"candidates": [[0, 2, 1], [1, 1, 0]], "rewards": [1, 0]}`+"\n")
	for _, c := range []struct {
		name, data, init, want string
	}{
		{"policy for items", ranks, pdir, "log-linear PRO policy, d = 2, want Plackett–Luce item ratings"},
		{"ratings for candidates", lists, dir, "Plackett–Luce ratings of 4 items, want a log-linear PRO policy"},
		{"dimension", wide, pdir, "the saved log-linear PRO policy, d = 2, but the candidates have dimension 3"},
	} {
		if _, err := kernel.Run(ctx, "bt.plackett_luce", kernel.Options{Params: map[string]any{ParamHoldout: 0}, Data: []string{c.data}, Init: c.init}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
	// Scoring data of the other kind names the file.
	for _, c := range []struct{ model, data, want string }{
		{dir, lists, "want rankings of items"},
		{pdir, ranks, "want ranked candidates"},
		{pdir, wide, "want candidates of the saved policy's dimension 2, got 3"},
	} {
		l, err := kernel.Load(c.model)
		if err != nil {
			t.Fatal(err)
		}
		_, err = l.Score(ctx, kernel.Options{Data: []string{c.data}})
		var de *datasets.Error
		if !errors.As(err, &de) || de.File != c.data || !strings.Contains(err.Error(), c.want) {
			t.Errorf("score %s with %s: got %v, want %q", filepath.Base(c.data), c.model, err, c.want)
		}
	}
	// A ranking offering an unknown item is skipped.
	extra := writeFile(t, "extra.jsonl", fourRankings+`{"ranking":["E","A"]}`+"\n")
	l, _ := kernel.Load(dir)
	sc, err := l.Score(ctx, kernel.Options{Data: []string{extra}})
	if err != nil {
		t.Fatal(err)
	}
	if sc.Final["rankings"] != 8 || sc.Final["rankings_skipped"] != 1 || !strings.Contains(fmt.Sprint(sc.Notes), "E") {
		t.Errorf("rankings %v, skipped %v, notes %q", sc.Final["rankings"], sc.Final["rankings_skipped"], sc.Notes)
	}
}

// A tie model fitted without ties gives ties probability 0: a tie scored
// has an infinite log loss, and a note says why.
func TestRatingsModelImpossibleTie(t *testing.T) {
	decisive := writeFile(t, "decisive.jsonl", `{"model_a":"A","model_b":"B","winner":"model_a"}
{"model_a":"A","model_b":"B","winner":"model_b"}
{"model_a":"A","model_b":"B","winner":"model_a"}
`)
	tie := writeFile(t, "tie.jsonl", `{"model_a":"A","model_b":"B","winner":"tie"}`+"\n")
	for _, ties := range []string{TiesRaoKupper, TiesDavidson} {
		res := modeltest.Train(t, "bt.ratings", map[string]any{ParamBootstrapRounds: 0, ParamTies: ties}, decisive)
		sc := modeltest.RoundTrip(t, res).Score(t, nil, tie)
		if got := sc.Final["log_loss"]; !math.IsInf(got, 1) || sc.Tables["scores"].Floats("p_tie")[0] != 0 {
			t.Errorf("%s: log_loss %v, p_tie %v, want +Inf and 0", ties, got, sc.Tables["scores"].Floats("p_tie")[0])
		}
		if !strings.Contains(fmt.Sprint(sc.Notes), "gives ties probability 0") {
			t.Errorf("%s: notes %q", ties, sc.Notes)
		}
	}
}
