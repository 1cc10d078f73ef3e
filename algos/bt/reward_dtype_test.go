package bt

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"

	"github.com/alignlab/alignlab/algos/artifact"
	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/internal/modeltest"
	"github.com/alignlab/alignlab/kernel"
)

// Tolerances of the float32 reward model.
const (
	// tolF32Metric bounds |float32 − float64| / |float64| of a run's
	// continuous finals (losses, margins, rating RMSE, correlations) on the
	// same seed: measured ≤ 3.9e-4 over seeds 1–6 of both runs of
	// TestRewardMLPFloat32MatchesFloat64 (≤ 4.2e-5 on the seeds it uses).
	tolF32Metric = 1e-3
	// tolF32Pairs bounds how many pairs' orders (of train or test) may
	// change between the two: measured at most 1 of 1,000.
	tolF32Pairs = 2
)

// The bt.reward MLP runs of the dtype tests: full-batch Adam on a
// nonlinear planted reward, and mini-batches of the two-stage recipe on
// HelpSteer-style data with two hidden layers.
var (
	mlpFullBatch = map[string]any{"seed": 3, ParamModel: ModelMLP, ParamHidden: 8, fit.ParamSteps: 60, ParamPairs: 300, ParamTestPairs: 200,
		ParamRewardShape: datasets.RewardNonlinear}
	mlpTwoStage = map[string]any{"seed": 4, ParamModel: ModelMLP, ParamLayers: 2, fit.ParamBatchSize: 32, ParamSynthetic: SyntheticHelpSteer,
		ParamLoss: LossRegressionThenScaledBT, fit.ParamSteps: 30, ParamRegressionSteps: 20, ParamPairs: 300}
)

func runReward(t *testing.T, params map[string]any) *kernel.Result {
	t.Helper()
	res, err := kernel.Run(context.Background(), "bt.reward", kernel.Options{Params: params})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// dtype=float64 is the MLP of before float32 became its default: the finals
// below were measured before the dtype param existed (GOEXPERIMENT=simd
// build; tolPrevFloat64 says what the scalar build may differ by).
func TestRewardMLPFloat64ReproducesPrevious(t *testing.T) {
	for _, c := range []struct {
		name   string
		params map[string]any
		want   map[string]float64
	}{
		{"full batch", mlpFullBatch, map[string]float64{
			"train_loss": 0.15900162104853968, "test_loss": 1.0847410065466025,
			"train_margin": 3.5160559282895534, "test_margin": 1.5849307763836484,
			"train_accuracy": 0.9666666666666667, "test_accuracy": 0.655, "reward_pearson": 0.5431607168211013,
		}},
		{"two stage", mlpTwoStage, map[string]float64{
			"train_loss": 0.3497040189718768, "test_loss": 0.8926045361744017,
			"train_margin": 2.5312142246837226, "test_margin": 1.5954811674177407,
			"rating_rmse": 1.6693307011047005, "test_accuracy": 0.762, "reward_pearson": 0.89942962150973,
		}},
	} {
		res := runReward(t, merged(c.params, map[string]any{fit.ParamDType: fit.DTypeFloat64}))
		for k, want := range c.want {
			if got := res.Final[k]; math.Abs(got-want) > tolPrevFloat64*math.Abs(want) {
				t.Errorf("%s: %s got %v, want %v", c.name, k, got, want)
			}
		}
	}
}

// The default float32 MLP reaches the float64 MLP's metrics on the same
// seed: the same initial weights (drawn in float64, then rounded) and the
// same mini-batches.
func TestRewardMLPFloat32MatchesFloat64(t *testing.T) {
	for _, c := range []struct {
		name   string
		params map[string]any
	}{{"full batch", mlpFullBatch}, {"two stage", mlpTwoStage}} {
		f32 := runReward(t, c.params) // auto: float32 for the MLP
		f64 := runReward(t, merged(c.params, map[string]any{fit.ParamDType: fit.DTypeFloat64}))
		if f32.Model.(*TrainedReward).Net.DType != dtypes.Float32 || f64.Model.(*TrainedReward).Net.DType != dtypes.Float64 {
			t.Fatalf("%s: trained in %s and %s, want Float32 (auto) and Float64", c.name,
				f32.Model.(*TrainedReward).Net.DType, f64.Model.(*TrainedReward).Net.DType)
		}
		for _, k := range []string{"train_loss", "test_loss", "train_margin", "test_margin", "rating_rmse", "reward_pearson", "reward_spearman"} {
			want, ok := f64.Final[k]
			if !ok {
				continue
			}
			if got := f32.Final[k]; math.Abs(got-want) > tolF32Metric*math.Abs(want) {
				t.Errorf("%s: %s float32 %v, float64 %v: want within %g relative", c.name, k, got, want, tolF32Metric)
			}
		}
		for _, k := range []struct{ acc, n string }{{"train_accuracy", "pairs"}, {"test_accuracy", "test_pairs"}, {"test_accuracy_true", "test_pairs"}} {
			got, want := f32.Final[k.acc], f64.Final[k.acc]
			if d := math.Abs(got-want) * f64.Final[k.n]; d > tolF32Pairs+1e-9 {
				t.Errorf("%s: %s float32 %v, float64 %v: %.0f pairs apart, want ≤ %d", c.name, k.acc, got, want, d, tolF32Pairs)
			}
		}
	}
}

// A float32 trainer's loss comes back as float64 and its weights are
// float32 values; auto picks float32 for the MLP only.
func TestRewardTrainerDType(t *testing.T) {
	data := smallPairs()
	for _, c := range []struct {
		model, dtype string
		want         dtypes.DType
	}{
		{ModelLinear, "", dtypes.Float64},
		{ModelLinear, fit.DTypeAuto, dtypes.Float64},
		{ModelLinear, fit.DTypeFloat32, dtypes.Float32},
		{ModelMLP, "", dtypes.Float32},
		{ModelMLP, fit.DTypeAuto, dtypes.Float32},
		{ModelMLP, fit.DTypeFloat64, dtypes.Float64},
	} {
		cfg := DefaultRewardConfig()
		cfg.Model, cfg.Hidden, cfg.DType = c.model, 3, c.dtype
		tr, err := NewRewardTrainer(data, cfg, LossBT, nil, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		loss, err := tr.Step()
		if err != nil {
			t.Fatal(err)
		}
		if want := math.Ln2; math.Abs(loss-want) > 1e-6 { // the output layer starts at 0: Δ = 0 for every pair
			t.Errorf("%s %q: first loss %v, want log 2", c.model, c.dtype, loss)
		}
		m, err := tr.Model()
		if err != nil {
			t.Fatal(err)
		}
		if m.DType != c.want {
			t.Errorf("%s %q: model dtype %s, want %s", c.model, c.dtype, m.DType, c.want)
		}
		if c.want == dtypes.Float32 {
			for _, l := range append(m.Hidden, m.Output) {
				for _, v := range append(l.W, l.B...) {
					if float64(float32(v)) != v {
						t.Fatalf("%s %q: weight %v is not a float32 value", c.model, c.dtype, v)
					}
				}
			}
		}
	}
	cfg := DefaultRewardConfig()
	cfg.DType = "float16"
	if _, err := TrainReward(context.Background(), data, nil, cfg, rand.New(rand.NewPCG(1, 1)), nil); err == nil ||
		err.Error() != `bt: dtype: want one of auto, float32, float64, got "float16"` {
		t.Errorf("dtype float16: got %v", err)
	}
}

// A dtype the param does not list is refused before the run, by both
// plugins, naming the param and its choices.
func TestRewardDTypeParamRefused(t *testing.T) {
	for _, id := range []string{"bt.reward", "bt.reward_losses"} {
		_, err := kernel.Run(context.Background(), id, kernel.Options{Params: map[string]any{fit.ParamDType: "bad"}})
		var pe *kernel.ParamError
		want := id + `: param dtype: got "bad", want choice one of auto, float32, float64`
		if !errors.As(err, &pe) || pe.Key != fit.ParamDType || err.Error() != want {
			t.Errorf("%s: got %v, want a *kernel.ParamError %q", id, err, want)
		}
	}
}

// A float32 MLP saves its weights as float32 and "dtype": "float32" in
// model.json, and the loaded model scores exactly as the one in memory;
// a model.json without dtype (saved before it was recorded) loads as
// float64, and an unknown dtype is an error naming the file and field.
func TestRewardModelDType(t *testing.T) {
	file := rewardPairsFile(t, "pairs.jsonl", 40, 3, 4)
	params := map[string]any{fit.ParamSteps: 15, ParamHoldout: 0, ParamModel: ModelMLP, ParamHidden: 4}
	for _, c := range []struct {
		dtype string
		want  dtypes.DType
	}{{fit.DTypeAuto, dtypes.Float32}, {fit.DTypeFloat64, dtypes.Float64}} {
		res := modeltest.Train(t, "bt.reward", merged(params, map[string]any{fit.ParamDType: c.dtype}), file)
		pair := modeltest.RoundTrip(t, res)
		pair.Score(t, nil, file)
		net := pair.Loaded.Model.(*TrainedReward).Net
		if net.DType != c.want {
			t.Errorf("%s: loaded dtype %s, want %s", c.dtype, net.DType, c.want)
		}
		var f rewardFile
		b, err := os.ReadFile(filepath.Join(pair.Dir, ModelFile))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &f); err != nil || f.DType != fit.DTypeName(c.want) {
			t.Errorf("%s: model.json dtype %q (%v), want %q", c.dtype, f.DType, err, fit.DTypeName(c.want))
		}
		w, err := artifact.Load(pair.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for name, a := range w {
			if f32 := a.F32 != nil; f32 != (c.want == dtypes.Float32) {
				t.Errorf("%s: array %s saved as float32 %v", c.dtype, name, f32)
			}
		}
	}

	// Before dtype was recorded: float64 arrays and no dtype in model.json.
	res := modeltest.Train(t, "bt.reward", merged(params, map[string]any{fit.ParamDType: fit.DTypeFloat64}), file)
	dir := modeltest.Save(t, res)
	path := filepath.Join(dir, ModelFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	json.Unmarshal(b, &raw)
	delete(raw, "dtype")
	if err := writeModelFile(dir, raw); err != nil {
		t.Fatal(err)
	}
	l, err := kernel.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if dt := l.Model.(*TrainedReward).Net.DType; dt != dtypes.Float64 {
		t.Errorf("model.json without dtype: loaded as %s, want Float64", dt)
	}
	mem, err := kernel.LoadedOf(res)
	if err != nil {
		t.Fatal(err)
	}
	a, err := mem.Score(context.Background(), kernel.Options{Data: []string{file}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := l.Score(context.Background(), kernel.Options{Data: []string{file}})
	if err != nil {
		t.Fatal(err)
	}
	modeltest.Same(t, a, s)

	raw["dtype"] = "float16"
	writeModelFile(dir, raw)
	if _, err := kernel.Load(dir); err == nil || !strings.Contains(err.Error(), path+`: dtype: want float32 or float64, got "float16"`) {
		t.Errorf("dtype float16: got %v", err)
	}
}

// A warm start across dtypes converts the saved weights and says so.
func TestRewardModelInitAcrossDTypes(t *testing.T) {
	file := rewardPairsFile(t, "pairs.jsonl", 40, 3, 5)
	params := map[string]any{fit.ParamSteps: 5, ParamHoldout: 0, ParamModel: ModelMLP, ParamHidden: 4}
	dir := modeltest.Save(t, modeltest.Train(t, "bt.reward", params, file))
	warm, err := kernel.Run(context.Background(), "bt.reward", kernel.Options{Params: merged(params, map[string]any{fit.ParamDType: fit.DTypeFloat64}), Data: []string{file}, Init: dir})
	if err != nil {
		t.Fatal(err)
	}
	const want = "the saved model is float32, this run float64: its weights are converted"
	found := false
	for _, n := range warm.Notes {
		found = found || n == want
	}
	if !found || warm.Model.(*TrainedReward).Net.DType != dtypes.Float64 {
		t.Errorf("notes %q, dtype %s: want the note %q and Float64", warm.Notes, warm.Model.(*TrainedReward).Net.DType, want)
	}
}
