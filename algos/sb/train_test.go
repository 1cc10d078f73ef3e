package sb

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// TestGraphMatchesModel checks the GoMLX loss graph (float32) against the
// plain-Go reference, which evaluates the sums term by term, and the loss
// a step returns against Model.Loss before the step.
func TestGraphMatchesModel(t *testing.T) {
	const relTol = 2e-5 // float32 arithmetic over sums of up to 64 terms
	r := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct {
		k, d int
		eps  float64
	}{{3, 1, 1}, {5, 3, 0.1}, {50, 64, 10}} {
		m := testModel(tc.k, tc.d, tc.eps, r)
		cfg := DefaultConfig()
		cfg.K, cfg.Epsilon = tc.k, tc.eps
		tr, err := NewTrainer(m, cfg)
		if err != nil {
			t.Fatal(err)
		}
		x0 := datasets.StandardNormal(7, tc.d, r)
		x1 := datasets.StandardNormal(7, tc.d, r)
		lc, lv, err := tr.Evaluate(x0, x1)
		if err != nil {
			t.Fatal(err)
		}
		for i := range x0 {
			if want := m.LogC(x0[i]); math.Abs(lc[i]-want) > relTol*math.Max(1, math.Abs(want)) {
				t.Errorf("K=%d D=%d: graph log c = %.7g, want %.7g", tc.k, tc.d, lc[i], want)
			}
			if want := m.LogV(x1[i]); math.Abs(lv[i]-want) > relTol*math.Max(1, math.Abs(want)) {
				t.Errorf("K=%d D=%d: graph log v = %.7g, want %.7g", tc.k, tc.d, lv[i], want)
			}
		}
		want := m.Loss(x0, x1)
		got, err := tr.Step(x0, x1)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-want) > relTol*math.Max(1, math.Abs(want)) {
			t.Errorf("K=%d D=%d: step loss = %.7g, want %.7g", tc.k, tc.d, got, want)
		}
		// The step moved the parameters, and Evaluate sees the new ones.
		after, err := tr.Model()
		if err != nil {
			t.Fatal(err)
		}
		lc2, _, err := tr.Evaluate(x0, x1)
		if err != nil {
			t.Fatal(err)
		}
		if want := after.LogC(x0[0]); math.Abs(lc2[0]-want) > relTol*math.Max(1, math.Abs(want)) || lc2[0] == lc[0] {
			t.Errorf("K=%d D=%d: after a step, graph log c = %.7g (before %.7g), want %.7g", tc.k, tc.d, lc2[0], lc[0], want)
		}
	}
}

// TestFitGaussianPair fits LightSB to Gaussian-to-Gaussian pairs with a
// known plan and requires cBW₂²-UVP < 1 %. At ε = 0.1 and 1 the independent
// plan scores 35–150 %; at ε = 10 the plan is nearly independent (≈ 0.3 %),
// so there the exact value must also beat it by half. 1,000 steps at
// learning rate 0.01 from the default S init 1: over the pair seeds 3–6
// the worst sampled value was 0.30 % and the worst exact value at ε = 10
// 0.12 % (600 steps, enough from the old S init 0.1, left ε = 0.1 at 2.3 %).
func TestFitGaussianPair(t *testing.T) {
	const maxUVP = 1.0 // %
	for _, eps := range []float64{0.1, 1, 10} {
		r := rand.New(rand.NewPCG(3, uint64(eps*10)))
		pair, err := datasets.GenerateEOT(datasets.EOTGaussianConfig(2, eps), r)
		if err != nil {
			t.Fatal(err)
		}
		cfg := DefaultConfig()
		cfg.K, cfg.Epsilon, cfg.Steps, cfg.LearningRate = 10, eps, 1000, 0.01
		m, err := Fit(context.Background(), SamplerFunc(pair.SampleSource), targetSampler(pair), cfg, r, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := EvaluateCBW(m, pair, Eval{TestPoints: 200, SamplesPerX: 1000, VarianceSamples: 4000}, r)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("ε=%v: cBW₂²-UVP sampled %.3f%%, exact %.3f%%, floor %.3f%%, independent %.1f%%", eps, res.Sampled, res.Exact, res.Floor, res.Independent)
		if res.Sampled >= maxUVP || res.Exact >= maxUVP {
			t.Errorf("ε=%v: cBW₂²-UVP sampled %.3f%%, exact %.3f%%, want < %v%%", eps, res.Sampled, res.Exact, maxUVP)
		}
		if res.Exact >= res.Independent/2 {
			t.Errorf("ε=%v: exact cBW₂²-UVP %.3f%%, want < half the independent plan's %.3f%%", eps, res.Exact, res.Independent)
		}
	}
}

func targetSampler(pair *datasets.EOTPair) Sampler {
	return SamplerFunc(func(n int, r *rand.Rand) [][]float64 { y, _ := pair.SampleTarget(n, r); return y })
}

func TestConfigRejects(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.K = 0 }, "sb: K must be ≥ 1, got 0"},
		{func(c *Config) { c.Epsilon = math.Inf(1) }, "sb: epsilon must be finite and > 0, got +Inf"},
		{func(c *Config) { c.LearningRate = -1 }, "sb: learning rate must be finite and > 0, got -1"},
		{func(c *Config) { c.SInit = 0 }, "sb: initial S must be finite and > 0, got 0"},
		{func(c *Config) { c.BatchSize = 0 }, "sb: batch size must be ≥ 1, got 0"},
	} {
		cfg := DefaultConfig()
		tc.edit(&cfg)
		_, err := Fit(context.Background(), Rows{{0}}, Rows{{0}}, cfg, rand.New(rand.NewPCG(1, 1)), nil)
		if err == nil || err.Error() != tc.want {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}

// A non-finite loss stops Fit at its step: with kernel.Job.Record as the
// recorder as the kernel's *DivergedError, without one as Fit's own error.
// Source points of size 1e30 overflow float32 in the first step.
func TestFitDiverges(t *testing.T) {
	cfg := DefaultConfig()
	cfg.K, cfg.Steps, cfg.BatchSize = 2, 10, 4
	src, tgt := Rows{{1e30, 0}}, Rows{{0, 0}, {1, 1}}
	_, err := Fit(context.Background(), src, tgt, cfg, rand.New(rand.NewPCG(1, 1)), nil)
	if err == nil || !strings.HasPrefix(err.Error(), "sb: diverged at step 1: loss is ") {
		t.Errorf("without recorder: got %v, want sb: diverged at step 1", err)
	}
	job := kernel.NewJob(context.Background(), "sb.light", kernel.Params{}, nil)
	_, err = Fit(context.Background(), src, tgt, cfg, rand.New(rand.NewPCG(1, 1)), job.Record)
	var div *kernel.DivergedError
	if !errors.As(err, &div) || div.Step != 1 || div.Metric != MetricLoss {
		t.Errorf("with job.Record: got %v, want a *kernel.DivergedError at step 1", err)
	}
}

// Adam's first step moves every parameter with a nonzero gradient by the
// learning rate (m̂/√v̂ = g/|g|). The weights are stored as ε·log α, as in
// the authors' code, so log α moves by lr/ε while r and log s move by lr:
// at ε = 0.1 ten times as far. Stored as log α it would move by lr.
func TestFirstStepScales(t *testing.T) {
	const lr, eps, tol = 0.01, 0.1, 2e-5
	r := rand.New(rand.NewPCG(2, 2))
	m := testModel(4, 3, eps, r)
	cfg := DefaultConfig()
	cfg.K, cfg.Epsilon, cfg.LearningRate = 4, eps, lr
	tr, err := NewTrainer(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Step(datasets.StandardNormal(16, 3, r), datasets.StandardNormal(16, 3, r)); err != nil {
		t.Fatal(err)
	}
	after, err := tr.Model()
	if err != nil {
		t.Fatal(err)
	}
	for k := range m.K() {
		if got := math.Abs(after.LogAlpha[k] - m.LogAlpha[k]); math.Abs(got-lr/eps) > tol*10 {
			t.Errorf("component %d: |Δ log α| = %.6g, want lr/ε = %g", k, got, lr/eps)
		}
		for j := range m.Dim() {
			if got := math.Abs(after.R[k][j] - m.R[k][j]); math.Abs(got-lr) > tol {
				t.Errorf("component %d, coord %d: |Δ r| = %.6g, want lr = %g", k, j, got, lr)
			}
			if got := math.Abs(after.LogS[k][j] - m.LogS[k][j]); math.Abs(got-lr) > tol {
				t.Errorf("component %d, coord %d: |Δ log s| = %.6g, want lr = %g", k, j, got, lr)
			}
		}
	}
}

// The plugin's defaults are the authors' benchmark settings: S init 1 and
// learning_rate 0, which resolves to the paper's rate for ε.
func TestDefaultLearningRate(t *testing.T) {
	ps, err := kernel.Validate(mustInfo(t), map[string]any{ParamEpsilon: 1.0})
	if err != nil {
		t.Fatal(err)
	}
	cfg := ConfigFromParams(ps)
	if cfg.SInit != 1 || cfg.LearningRate != 0 || cfg.EffectiveLearningRate() != 3e-3 {
		t.Errorf("defaults at ε = 1: s_init %v, learning_rate %v (effective %v), want 1, 0 (3e-3)", cfg.SInit, cfg.LearningRate, cfg.EffectiveLearningRate())
	}
	for _, tc := range []struct{ eps, want float64 }{
		{0.1, 1e-3}, {1, 3e-3}, {10, 6e-2}, {0.01, 1e-3}, {100, 6e-2},
		{math.Sqrt(0.1), math.Sqrt(1e-3 * 3e-3)}, // halfway in log ε: the geometric mean
		{math.Sqrt(10), math.Sqrt(3e-3 * 6e-2)},
	} {
		if got := DefaultLearningRateFor(tc.eps); math.Abs(got-tc.want) > 1e-12*tc.want {
			t.Errorf("DefaultLearningRateFor(%g) = %g, want %g", tc.eps, got, tc.want)
		}
	}
}
