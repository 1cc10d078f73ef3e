package bt

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/alignlab/alignlab/algos/backend"
	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// The closed forms below are written from the paper's formulas with log σ
// (HelpSteer2-Preference, Wang et al. 2024), independently of the
// implementation's softplus forms: d/dx log σ(x) = σ(−x).

func logSig(x float64) float64 { return -math.Log1p(math.Exp(-x)) }
func sig(x float64) float64    { return 1 / (1 + math.Exp(-x)) }

func closedRewardLoss(loss string, rw, rl, m, sw, sl float64) float64 {
	d := rw - rl
	switch loss {
	case LossBT:
		return -logSig(d)
	case LossMarginBT:
		return -logSig(d - m)
	case LossScaledBT:
		return -m * logSig(d)
	case LossRegression:
		return ((rw-sw)*(rw-sw) + (rl-sl)*(rl-sl)) / 2
	}
	panic(loss)
}

// closedRewardGrad is (∂ℓ/∂r_w, ∂ℓ/∂r_l, ∂ℓ/∂m).
func closedRewardGrad(loss string, rw, rl, m, sw, sl float64) (gw, gl, gm float64) {
	d := rw - rl
	switch loss {
	case LossBT:
		return -sig(-d), sig(-d), 0
	case LossMarginBT:
		return -sig(-(d - m)), sig(-(d - m)), sig(-(d - m))
	case LossScaledBT:
		return -m * sig(-d), m * sig(-d), -logSig(d)
	case LossRegression:
		return rw - sw, rl - sl, 0
	}
	panic(loss)
}

func testBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := backend.Get("")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var singleStageLosses = []string{LossBT, LossMarginBT, LossScaledBT, LossRegression}

func TestRewardPairLossesClosedForm(t *testing.T) {
	const tol = 1e-12
	rw := []float64{-3, -0.7, 0, 0.25, 1.5, 4, 0.3}
	rl := []float64{1, 0.2, 0, -0.5, 1.5, -2, 0.9}
	m := []float64{1, 2, 3, 1, 2, 3, 0}
	sw := []float64{4, 0, 2, 3, 1, 4, 2}
	sl := []float64{0, 1, 2, 3, 0, 1, 2}
	for _, loss := range singleStageLosses {
		outs := MustExecOnceN(testBackend(t), func(rw, rl, m, sw, sl *Node) []*Node {
			l := RewardPairLosses(loss, rw, rl, m, sw, sl)
			grads := Gradient(ReduceAllSum(l), rw, rl, m)
			return append([]*Node{l}, grads...)
		}, rw, rl, m, sw, sl)
		got := make([][]float64, len(outs))
		for i, o := range outs {
			got[i] = tensors.MustCopyFlatData[float64](o)
		}
		for i := range rw {
			want := closedRewardLoss(loss, rw[i], rl[i], m[i], sw[i], sl[i])
			if math.Abs(got[0][i]-want) > tol*(1+math.Abs(want)) {
				t.Errorf("%s pair %d: graph loss got %v, want %v", loss, i, got[0][i], want)
			}
			if f := RewardPairLossFloat64(loss, rw[i], rl[i], m[i], sw[i], sl[i]); math.Abs(f-want) > tol*(1+math.Abs(want)) {
				t.Errorf("%s pair %d: RewardPairLossFloat64 got %v, want %v", loss, i, f, want)
			}
			gw, gl, gm := closedRewardGrad(loss, rw[i], rl[i], m[i], sw[i], sl[i])
			for k, wantG := range []float64{gw, gl, gm} {
				if math.Abs(got[1+k][i]-wantG) > tol*(1+math.Abs(wantG)) {
					t.Errorf("%s pair %d: autodiff gradient %d got %v, want %v", loss, i, k, got[1+k][i], wantG)
				}
			}
		}
	}
}

// The softplus forms stay finite where log σ underflows.
func TestRewardPairLossesStable(t *testing.T) {
	// expUnderflowTol bounds what exp(−1000) (true value 5e-435) may
	// return: 0 in the default build, but 2.2250738585072542e-308 (a few
	// ulps above the smallest normal float64, 0x1p-1022) under
	// GOEXPERIMENT=simd, whose exp clamps its argument instead of
	// underflowing to 0. softplus(−1000) = log1p(exp(−1000)) and its
	// gradient σ(−1000) inherit it; the large-Δ side stays exact.
	const expUnderflowTol = 0x1p-1021 // ≈ 4.5e-308, twice the smallest normal
	out := MustExecOnceN(testBackend(t), func(rw, rl *Node) []*Node {
		l := RewardPairLosses(LossBT, rw, rl, nil, nil, nil)
		return []*Node{l, Gradient(ReduceAllSum(l), rw)[0]}
	}, []float64{-1000, 1000}, []float64{0, 0})
	loss, grad := tensors.MustCopyFlatData[float64](out[0]), tensors.MustCopyFlatData[float64](out[1])
	if loss[0] != 1000 || math.Abs(loss[1]) > expUnderflowTol || grad[0] != -1 || math.Abs(grad[1]) > expUnderflowTol {
		t.Errorf("Δ = ∓1000: loss %v, gradient %v, want [1000 0] and [-1 0] (the zeros within %g)", loss, grad, expUnderflowTol)
	}
}

// smallPairs is a hand-made set of 4 pairs in 3 dimensions with strengths,
// weights and ratings.
func smallPairs() *datasets.RewardPairs {
	p := &datasets.RewardPairs{Dim: 3, HasStrength: true, HasRatings: true, HasWeights: true}
	for i, c := range []struct {
		w, l   []float64
		m, wt  float64
		sw, sl float64
	}{
		{[]float64{1, 0, 2}, []float64{0, 1, -1}, 1, 1, 3, 1},
		{[]float64{0.5, -1, 0}, []float64{1, 1, 1}, 2, 2, 4, 2},
		{[]float64{-1, 2, 0.5}, []float64{0, 0, 0}, 3, 0.5, 2, 2},
		{[]float64{2, 2, 2}, []float64{1, -1, 0}, 1, 1.5, 1, 0},
	} {
		_ = i
		p.Pairs = append(p.Pairs, datasets.RewardPair{Chosen: c.w, Rejected: c.l, Strength: c.m, Weight: c.wt,
			ChosenRating: c.sw, RejectedRating: c.sl, ChosenReward: math.NaN(), RejectedReward: math.NaN()})
	}
	return p
}

// linearGrad is ∇_w and ∂_b of the weighted mean loss of a linear model
// r = w·z + b, from the closed-form ∂ℓ/∂r.
func linearGrad(loss string, p *datasets.RewardPairs, w []float64, b float64) ([]float64, float64) {
	g := make([]float64, len(w))
	gb, wsum := 0.0, 0.0
	for _, q := range p.Pairs {
		wsum += q.Weight
	}
	for _, q := range p.Pairs {
		rw, rl := b, b
		for j := range w {
			rw += w[j] * q.Chosen[j]
			rl += w[j] * q.Rejected[j]
		}
		gw, gl, _ := closedRewardGrad(loss, rw, rl, q.Strength, q.ChosenRating, q.RejectedRating)
		c := q.Weight / wsum
		for j := range g {
			g[j] += c * (gw*q.Chosen[j] + gl*q.Rejected[j])
		}
		gb += c * (gw + gl)
	}
	return g, gb
}

// One SGD step of every loss from w = 0, b = 0 moves the weights by −η∇L,
// ∇L from the closed form: the whole training graph (inputs, weighting,
// variables, optimizer) against the formula.
func TestRewardTrainerSGDStep(t *testing.T) {
	const tol = 1e-12
	const eta = 0.3
	data := smallPairs()
	for _, loss := range singleStageLosses {
		cfg := DefaultRewardConfig()
		cfg.Optimizer, cfg.LearningRate = fit.SGD, eta
		tr, err := NewRewardTrainer(data, cfg, loss, nil, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		for step := 0; step < 2; step++ {
			before, err := tr.Model()
			if err != nil {
				t.Fatal(err)
			}
			w0, b0 := before.Linear()
			g, gb := linearGrad(loss, data, w0, b0)
			if _, err := tr.Step(); err != nil {
				t.Fatal(err)
			}
			m, err := tr.Model()
			if err != nil {
				t.Fatal(err)
			}
			w1, b1 := m.Linear()
			for j := range w1 {
				if want := w0[j] - eta*g[j]; math.Abs(w1[j]-want) > tol {
					t.Errorf("%s step %d: w[%d] got %v, want %v", loss, step+1, j, w1[j], want)
				}
			}
			if want := b0 - eta*gb; math.Abs(b1-want) > tol {
				t.Errorf("%s step %d: b got %v, want %v", loss, step+1, b1, want)
			}
		}
	}
}

// The two-stage recipe's second stage starts where regression ended: one
// SGD step of scaled BT from the regression model, checked in closed form.
func TestRegressionThenScaledBTStartsFromRegression(t *testing.T) {
	const tol = 1e-12
	data := smallPairs()
	cfg := DefaultRewardConfig()
	cfg.Optimizer, cfg.LearningRate, cfg.RegressionSteps, cfg.Steps = fit.SGD, 0.1, 5, 0
	cfg.Loss = LossRegression
	cfg.Steps = 5
	reg, err := TrainReward(context.Background(), data, nil, cfg, rand.New(rand.NewPCG(1, 1)), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Loss, cfg.Steps = LossRegressionThenScaledBT, 1
	two, err := TrainReward(context.Background(), data, nil, cfg, rand.New(rand.NewPCG(1, 1)), nil)
	if err != nil {
		t.Fatal(err)
	}
	w0, b0 := reg.Model.Linear()
	g, gb := linearGrad(LossScaledBT, data, w0, b0)
	w1, b1 := two.Model.Linear()
	for j := range w1 {
		if want := w0[j] - 0.1*g[j]; math.Abs(w1[j]-want) > tol {
			t.Errorf("w[%d] got %v, want %v", j, w1[j], want)
		}
	}
	if math.Abs(b1-(b0-0.1*gb)) > tol || two.Steps != 6 {
		t.Errorf("b got %v, want %v; steps %d, want 6", b1, b0-0.1*gb, two.Steps)
	}
}

// Steps count across the two stages: each stage records every EvalEvery
// of its steps and at its last step, numbered from the start of training.
func TestTrainRewardRecordsAcrossStages(t *testing.T) {
	cfg := DefaultRewardConfig()
	cfg.Loss, cfg.RegressionSteps, cfg.Steps, cfg.EvalEvery = LossRegressionThenScaledBT, 3, 4, 2
	var steps []int64
	rec := func(step int64, metric string, v float64) error {
		if metric == "loss" {
			steps = append(steps, step)
		}
		return nil
	}
	rf, err := TrainReward(context.Background(), smallPairs(), nil, cfg, rand.New(rand.NewPCG(1, 1)), rec)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{2, 3, 5, 7}; !slices.Equal(steps, want) || rf.Steps != 7 {
		t.Errorf("loss recorded at %v after %d steps, want %v after 7", steps, rf.Steps, want)
	}
}

// A linear Bradley–Terry reward model recovers a planted linear reward: its
// held-out accuracy reaches the Bayes accuracy of r* itself (within 0.02),
// and its rewards correlate with r* (Pearson > 0.99), with the planted scale
// (‖w‖/‖w*‖ within 10%).
func TestRewardRecoversPlantedLinear(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	train, test, err := datasets.GenerateRewardPairs(datasets.RewardPairsConfig{Dim: 8, Pairs: 3000, TestPairs: 1500, Scale: 2}, r)
	if err != nil {
		t.Fatal(err)
	}
	fit, err := TrainReward(context.Background(), train, test, DefaultRewardConfig(), r, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := fit.Model.Linear()
	var ww, ws, ss float64
	for i := range w {
		ws += w[i] * 2 * train.Truth.U[i]
		ww += w[i] * w[i]
		ss += 4 * train.Truth.U[i] * train.Truth.U[i]
	}
	m := fit.Test
	t.Logf("test accuracy %.4f, Bayes %.4f, true-order accuracy %.4f, Pearson %.4f, cos %.4f, ‖w‖/‖w*‖ %.3f",
		m.Accuracy, m.BayesAccuracy, m.AccuracyTrue, m.Pearson, ws/math.Sqrt(ww*ss), math.Sqrt(ww/ss))
	if math.Abs(m.Accuracy-m.BayesAccuracy) > 0.02 {
		t.Errorf("test accuracy %v, want within 0.02 of the Bayes accuracy %v", m.Accuracy, m.BayesAccuracy)
	}
	if m.Pearson < 0.99 || ws/math.Sqrt(ww*ss) < 0.99 {
		t.Errorf("Pearson %v and cosine %v, want > 0.99", m.Pearson, ws/math.Sqrt(ww*ss))
	}
	if ratio := math.Sqrt(ww / ss); ratio < 0.9 || ratio > 1.1 {
		t.Errorf("‖w‖/‖w*‖ = %v, want within [0.9, 1.1]", ratio)
	}
}

// On a half-quadratic planted reward, which no linear model captures, an
// MLP's rewards track r* far better than a linear model's.
func TestRewardMLPBeatsLinearOnNonlinear(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	train, test, err := datasets.GenerateRewardPairs(datasets.RewardPairsConfig{Dim: 6, Pairs: 2000, TestPairs: 1000, Shape: datasets.RewardNonlinear, Scale: 2}, r)
	if err != nil {
		t.Fatal(err)
	}
	lin, err := TrainReward(context.Background(), train, test, DefaultRewardConfig(), r, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultRewardConfig()
	cfg.Model, cfg.Hidden, cfg.LearningRate, cfg.L2, cfg.Steps = ModelMLP, 16, 0.02, 0.01, 300
	mlp, err := TrainReward(context.Background(), train, test, cfg, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Pearson with r*: linear %.3f, MLP %.3f; accuracy linear %.3f, MLP %.3f, Bayes %.3f",
		lin.Test.Pearson, mlp.Test.Pearson, lin.Test.Accuracy, mlp.Test.Accuracy, mlp.Test.BayesAccuracy)
	if mlp.Test.Pearson < lin.Test.Pearson+0.15 || mlp.Test.Pearson < 0.9 {
		t.Errorf("MLP Pearson %v, linear %v: want the MLP above 0.9 and 0.15 above linear", mlp.Test.Pearson, lin.Test.Pearson)
	}
}

func TestTrainRewardErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	plain, _, _ := datasets.GenerateRewardPairs(datasets.RewardPairsConfig{Dim: 3, Pairs: 10, TestPairs: 1, Scale: 1}, r)
	ties := smallPairs()
	for i := range ties.Pairs {
		ties.Pairs[i].Strength = 0
	}
	cfg := DefaultRewardConfig()
	for _, c := range []struct {
		name string
		data *datasets.RewardPairs
		loss string
		want string
	}{
		{"regression without ratings", plain, LossRegression, "bt: loss regression needs ratings (chosen_rating and rejected_rating on every pair)"},
		{"two-stage without ratings", plain, LossRegressionThenScaledBT, "bt: loss regression needs ratings"},
		{"all ties", ties, LossBT, "bt: every pair is a tie (strength 0): nothing to train a pairwise loss on"},
		{"unknown loss", plain, "hinge", "bt: loss: want one of bt, margin_bt, scaled_bt, regression, regression_then_scaled_bt, got \"hinge\""},
	} {
		cfg.Loss = c.loss
		_, err := TrainReward(context.Background(), c.data, nil, cfg, r, nil)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// fastReward are the bt.reward params of quick tests (and of the
// repository's determinism test).
var fastReward = map[string]any{fit.ParamSteps: 20, ParamPairs: 200, ParamTestPairs: 100, fit.ParamEvalEvery: 10}

func TestRewardPluginDeterministic(t *testing.T) {
	for _, extra := range []map[string]any{
		{},
		{ParamModel: ModelMLP, ParamHidden: 8},
		{ParamSynthetic: SyntheticHelpSteer, ParamLoss: LossRegressionThenScaledBT, ParamRegressionSteps: 10},
	} {
		params := map[string]any{"seed": 3}
		for k, v := range fastReward {
			params[k] = v
		}
		for k, v := range extra {
			params[k] = v
		}
		var prev []byte
		for range 2 {
			res, err := kernel.Run(context.Background(), "bt.reward", kernel.Options{Params: params})
			if err != nil {
				t.Fatal(err)
			}
			b, err := res.CanonicalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if prev != nil && string(b) != string(prev) {
				t.Fatalf("%v: same seed, different result", extra)
			}
			prev = b
			for _, k := range []string{"train_accuracy", "test_accuracy", "bayes_accuracy", "test_accuracy_true", "reward_pearson"} {
				if v, ok := res.Final[k]; !ok || !(v >= -1 && v <= 1) {
					t.Errorf("%v: final %s = %v (present %v)", extra, k, v, ok)
				}
			}
		}
	}
}

func TestRewardPluginFiles(t *testing.T) {
	vec := writeFile(t, "v.jsonl", `{"chosen":[1,0,2],"rejected":[0,1,-1],"strength":2}
{"chosen":[0.5,-1,0],"rejected":[1,1,1]}
{"chosen":[-1,2,0.5],"rejected":[0,0,0],"weight":2}
{"chosen":[2,2,2],"rejected":[1,-1,0]}
`)
	res, err := kernel.Run(context.Background(), "bt.reward", kernel.Options{Params: map[string]any{fit.ParamSteps: 5, ParamHoldout: 0.25}, Data: []string{vec}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Final["pairs"] != 3 || res.Final["test_pairs"] != 1 || len(res.Tables["weights"].Rows) != 3 {
		t.Errorf("finals %v, weights %d rows", res.Final, len(res.Tables["weights"].Rows))
	}
	text := writeFile(t, "t.jsonl", `{"prompt":"How do I boil an egg?","chosen":"Simmer it for seven minutes.","rejected":"No idea."}
{"chosen":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello! How can I help?"}],"rejected":[{"role":"user","content":"Hi"},{"role":"assistant","content":"What."}]}
`)
	res, err = kernel.Run(context.Background(), "bt.reward", kernel.Options{Params: map[string]any{fit.ParamSteps: 5, ParamHashDim: 16, ParamHoldout: 0.0}, Data: []string{text}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Tables["weights"].Rows); n != 32 { // prompt and response, 16 each
		t.Errorf("text pairs: %d weights, want 32", n)
	}
	for _, c := range []struct{ name, content, want string }{
		{"ragged", `{"chosen":[1,2,3],"rejected":[1,2]}`, "bad.jsonl:1: rejected: want 3 numbers (the length of chosen), got 2"},
		{"nan", "{\"chosen\":[1,2],\"rejected\":[0,0]}\n{\"chosen\":[1,NaN],\"rejected\":[0,0]}", "bad.jsonl:2: chosen[1]: want a finite number, got NaN"},
	} {
		path := writeFile(t, "bad.jsonl", c.content)
		_, err := kernel.Run(context.Background(), "bt.reward", kernel.Options{Data: []string{path}})
		var de *datasets.Error
		if !errors.As(err, &de) || !strings.HasSuffix(err.Error(), c.want) {
			t.Errorf("%s: got %v, want a *datasets.Error ending %q", c.name, err, c.want)
		}
	}
	_, err = kernel.Run(context.Background(), "bt.reward", kernel.Options{Data: []string{vec, text}})
	var de *datasets.Error
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "want pairs like") {
		t.Errorf("vector and text files together: got %v", err)
	}
	_, err = kernel.Run(context.Background(), "bt.reward", kernel.Options{Params: map[string]any{ParamLoss: LossRegression}, Data: []string{vec}})
	if err == nil || !strings.Contains(err.Error(), "needs ratings") {
		t.Errorf("regression on pairs without ratings: got %v", err)
	}
}
