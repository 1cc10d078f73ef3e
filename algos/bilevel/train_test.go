package bilevel

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/algos/pairloss"
	"github.com/alignlab/alignlab/datasets"
)

// toyProblem generates a small classification problem: one source per flip rate.
func toyProblem(t *testing.T, seed uint64, perSource int, rates ...float64) *Problem {
	t.Helper()
	s, err := datasets.GenerateSources(datasets.SourcesConfig{Dim: 5, WNorm: 3, PerSource: perSource, FlipRates: rates, Val: 200, Test: 1000},
		rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	p, err := ClassificationProblem(s.Train, s.Val, s.Test, s.FlipRates)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func toyConfig() Config {
	cfg := DefaultConfig()
	cfg.Steps = 300
	cfg.Rounds = 3
	return cfg
}

// logisticLoss is ℓ = softplus(z) − y·z in plain float64.
func logisticLoss(z, y float64) float64 { return pairloss.SoftplusNegFloat64(-z) - y*z }

// The λ-direction that autodiff takes through the training graph's pieces
// (source means of per-example losses, the softmax) equals the closed form
// α J (ℓ̄(w) − ℓ̄(u)), J = diag(p) − p pᵀ, with ℓ̄ computed in plain float64.
func TestLambdaGradientMatchesAutodiff(t *testing.T) {
	const tol = 1e-12
	p := toyProblem(t, 1, 40, 0, 0.2, 0.5)
	m := learner{kind: ModelLogistic, dim: p.Dim}
	r := rand.New(rand.NewPCG(2, 2))
	for _, tc := range []struct {
		name  string
		alpha float64
	}{{"alpha 1", 1}, {"alpha 10", 10}, {"alpha 0.3", 0.3}} {
		wv, uv := make([]float64, p.Dim), make([]float64, p.Dim)
		for j := range wv {
			wv[j], uv[j] = r.NormFloat64(), r.NormFloat64()
		}
		bw, bu := r.NormFloat64(), r.NormFloat64()
		lam := []float64{r.NormFloat64(), r.NormFloat64(), r.NormFloat64()}
		init := []param{{"w", []int{p.Dim}, wv}, {"b", nil, []float64{bw}}}
		s, err := newSession(m, "", init, scopeW)
		if err != nil {
			t.Fatal(err)
		}
		if err := createParams(s.store.RootScope().At(scopeU), []param{{"w", []int{p.Dim}, uv}, {"b", nil, []float64{bu}}}); err != nil {
			t.Fatal(err)
		}
		grad, err := model.NewExec(s.be, s.store, func(scope *model.Scope, lambda, alpha *Node) *Node {
			g := lambda.Graph()
			scope.SetTraining(g, true)
			x := Const(g, tensors.FromFlatDataAndDimensions(p.Train.X, p.Train.N, p.Dim))
			y := Const(g, tensors.FromFlatDataAndDimensions(p.Train.Y, p.Train.N))
			mat := Const(g, tensors.FromFlatDataAndDimensions(sourceMatrix(p), len(p.Sources), p.Train.N))
			obj := lambdaObjective(lambda, m.sourceLosses(scope.At(scopeW), x, y, mat), m.sourceLosses(scope.At(scopeU), x, y, mat), alpha)
			return Gradient(obj, lambda)[0]
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := grad.Call(lam, tc.alpha)
		if err != nil {
			t.Fatal(err)
		}
		got := tensors.MustCopyFlatData[float64](out[0])

		lw, lu := make([]float64, p.Train.N), make([]float64, p.Train.N)
		for i := range p.Train.N {
			x := p.Train.X[i*p.Dim : (i+1)*p.Dim]
			zw, zu := bw, bu
			for j := range x {
				zw += wv[j] * x[j]
				zu += uv[j] * x[j]
			}
			lw[i], lu[i] = logisticLoss(zw, p.Train.Y[i]), logisticLoss(zu, p.Train.Y[i])
		}
		want := LambdaGradient(lam, sourceMeans(p, lw), sourceMeans(p, lu), tc.alpha)
		t.Logf("%s: autodiff %.6g, closed form %.6g", tc.name, got, want)
		sum := 0.0
		for k := range want {
			sum += got[k]
			if math.Abs(got[k]-want[k]) > tol {
				t.Errorf("%s: ∂/∂λ_%d: got %v, want %v", tc.name, k, got[k], want[k])
			}
		}
		// softmax(λ + c) = softmax(λ): the gradient sums to zero.
		if math.Abs(sum) > tol {
			t.Errorf("%s: Σ_k ∂/∂λ_k: got %v, want 0", tc.name, sum)
		}
	}
}

func TestLambdaGradientClosedForm(t *testing.T) {
	const tol = 1e-15
	// Two sources at λ = 0: p = (½, ½), J = [[¼, −¼], [−¼, ¼]].
	g := LambdaGradient([]float64{0, 0}, []float64{1, 3}, []float64{1, 1}, 2)
	if want := []float64{-1, 1}; math.Abs(g[0]-want[0]) > tol || math.Abs(g[1]-want[1]) > tol {
		t.Errorf("got %v, want %v", g, want)
	}
	// Equal loss differences move no weight.
	g = LambdaGradient([]float64{0.3, -1, 2}, []float64{1, 2, 3}, []float64{0.5, 1.5, 2.5}, 7)
	for k, v := range g {
		if math.Abs(v) > tol {
			t.Errorf("equal differences: ∂/∂λ_%d = %v, want 0", k, v)
		}
	}
}

// Two sources holding the same examples get the same gradient at every
// step, so their weights stay equal; a third, noisy source loses weight.
func TestIdenticalSourcesStayEqual(t *testing.T) {
	const tol = 1e-9
	p := toyProblem(t, 3, 300, 0, 0.4)
	n := p.Train.N / 2
	// Source 2 is a copy of source 0.
	p.Sources = append(p.Sources, "copy_of_s0")
	p.FlipRates = append(p.FlipRates, 0)
	p.Train.X = append(p.Train.X, p.Train.X[:n*p.Dim]...)
	p.Train.Y = append(p.Train.Y, p.Train.Y[:n]...)
	for range n {
		p.Train.Source = append(p.Train.Source, 2)
	}
	p.Train.N += n
	last := map[string]float64{}
	checked := 0
	rec := func(step int64, metric string, v float64) error {
		last[metric] = v
		if metric == MetricWeightPrefix+"copy_of_s0" {
			checked++
			if d := math.Abs(v - last[MetricWeightPrefix+"s0"]); d > tol {
				t.Errorf("step %d: |p_s0 − p_copy| = %v, want ≤ %v", step, d, tol)
			}
		}
		return nil
	}
	rw, err := Reweight(context.Background(), p, toyConfig(), rand.New(rand.NewPCG(1, 1)), rec)
	if err != nil {
		t.Fatal(err)
	}
	if checked < 10 {
		t.Errorf("checked the weights at %d steps, want ≥ 10", checked)
	}
	t.Logf("final weights %.4g", rw.Weights)
	if w := rw.Weights; math.Abs(w[0]-w[2]) > tol || w[1] > 0.1 {
		t.Errorf("final weights %v: want p_s0 = p_copy and p_s1 (flip rate 0.4) < 0.1", w)
	}
}

// With one clean and one pure-noise source (labels flipped with
// probability ½, independent of x), the noise source's weight goes to ~0.
func TestNoiseSourceWeightVanishes(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		p := toyProblem(t, seed, 500, 0, 0.5)
		rw, err := Reweight(context.Background(), p, toyConfig(), rand.New(rand.NewPCG(seed, 1)), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("seed %d: weights %.3g", seed, rw.Weights)
		if rw.Weights[1] > 0.05 {
			t.Errorf("seed %d: noise source weight %v, want < 0.05 (from ½)", seed, rw.Weights[1])
		}
	}
}

// A fixed-weight fit reaches the minimum of the weighted logistic loss:
// its float64 gradient vanishes (this fails if the graph froze the
// variables, as the Go backend does outside training mode).
func TestFitWeightedReachesOptimum(t *testing.T) {
	const tol = 1e-4
	p := toyProblem(t, 4, 200, 0, 0.3)
	cfg := DefaultConfig()
	cfg.Steps = 1500
	m := learner{kind: ModelLogistic, dim: p.Dim}
	c := exampleWeights(p, []float64{0.7, 0.3})
	s, err := fitWeighted(context.Background(), m, p.Train, c, m.params(nil), cfg)
	if err != nil {
		t.Fatal(err)
	}
	wv := tensors.MustCopyFlatData[float64](s.store.GetVariable("/w/w").MustValue())
	b := tensors.MustCopyFlatData[float64](s.store.GetVariable("/w/b").MustValue())[0]
	grad := make([]float64, p.Dim+1)
	for i := range p.Train.N {
		x := p.Train.X[i*p.Dim : (i+1)*p.Dim]
		z := b
		for j := range x {
			z += wv[j] * x[j]
		}
		r := c[i] * (pairloss.Sigmoid(z) - p.Train.Y[i])
		for j := range x {
			grad[j] += r * x[j]
		}
		grad[p.Dim] += r
	}
	for j, g := range grad {
		if math.Abs(g) > tol {
			t.Errorf("∂L/∂θ_%d at the fit: got %v, want 0 ± %v", j, g, tol)
		}
	}
}

func TestReweightDeterministic(t *testing.T) {
	p := toyProblem(t, 5, 100, 0, 0.3, 0.5)
	cfg := toyConfig()
	cfg.Steps = 100
	cfg.Model = ModelMLP
	cfg.Hidden = 3
	a, err := Reweight(context.Background(), p, cfg, rand.New(rand.NewPCG(9, 9)), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Reweight(context.Background(), p, cfg, rand.New(rand.NewPCG(9, 9)), nil)
	for k := range a.Lambda {
		if a.Lambda[k] != b.Lambda[k] {
			t.Fatalf("λ: got %v and %v with the same seed", a.Lambda, b.Lambda)
		}
	}
	if a.Test != b.Test {
		t.Errorf("test metrics: got %v and %v with the same seed", a.Test, b.Test)
	}
}

func TestConfigErrors(t *testing.T) {
	p := toyProblem(t, 6, 10, 0, 0.5)
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"alpha", func(c *Config) { c.Alpha = 0 }, "alpha"},
		{"growth", func(c *Config) { c.AlphaGrowth = 0.5 }, "alpha growth"},
		{"rounds", func(c *Config) { c.Rounds = c.Steps + 1 }, "rounds"},
		{"lr lambda", func(c *Config) { c.LearningRateLambda = math.Inf(1) }, "λ"},
		{"optimizer", func(c *Config) { c.Optimizer = "sgd" }, "unknown optimizer"},
		{"model", func(c *Config) { c.Model = "tree" }, "unknown model"},
		{"dpo on labels", func(c *Config) { c.Model = ModelDPO }, "needs preference pairs"},
		{"eval every", func(c *Config) { c.EvalEvery = 0 }, "eval_every"},
	} {
		cfg := toyConfig()
		tc.edit(&cfg)
		_, err := Reweight(context.Background(), p, cfg, rand.New(rand.NewPCG(1, 1)), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "bilevel: ") {
			t.Errorf("%s: got %v, want a bilevel error mentioning %q", tc.name, err, tc.want)
		}
	}
}

func TestAlphaSchedule(t *testing.T) {
	cfg := Config{Config: fit.Config{Steps: 10}, Alpha: 2, AlphaGrowth: 3, Rounds: 4}
	want := []float64{2, 2, 2, 6, 6, 18, 18, 18, 54, 54} // rounds of 3, 2, 3, 2 steps
	for step, w := range want {
		if got := cfg.alphaAt(step); math.Abs(got-w) > 1e-12 {
			t.Errorf("step %d: α = %v, want %v", step, got, w)
		}
	}
}
