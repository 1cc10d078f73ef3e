package nash

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/alignlab/alignlab/algos/pairloss"
	"github.com/alignlab/alignlab/datasets"
	"github.com/gomlx/gomlx/core/tensors"
)

// Bands of the learned-update tests.
const (
	// popTol: Adam on the exact population loss (300+ steps) reaches the
	// closed-form minimiser to ~1e-9 in L1 (measured); the band leaves room.
	popTol = 1e-6
	// sampledBand: with n = 200 000 pairs each action's win rate
	// P(y ≻ π_t) is estimated to about ½/√(n·π_t(y)) ≈ 0.003, moving log π
	// by κ times that; an L1 of 0.02 is several standard errors.
	sampledBand = 0.02
)

// testPolicy is a non-uniform π_t per prompt, so that the tests do not pass
// by symmetry.
func testPolicy(x, k int) [][]float64 {
	pi := make([][]float64, x)
	for p := range pi {
		z := make([]float64, k)
		for i := range z {
			z[i] = math.Sin(float64(3*p+i)) * 0.8
		}
		pi[p] = softmaxLog(z)
	}
	return pi
}

// inpoPopulation returns the INPO weights E[pairs] = π_t(i)π_t(j)P_ij / X
// and offsets κτ log π_ref + (1 − κτ) log π_t.
func inpoPopulation(g *datasets.Game, pi [][]float64, kappa, tau float64) (w, off []float64) {
	x, k := len(g.Prompts), g.K()
	for p := range x {
		ref := g.RefPolicy(p)
		for i := range k {
			off = append(off, kappa*tau*math.Log(ref[i])+(1-kappa*tau)*math.Log(pi[p][i]))
			for j := range k {
				w = append(w, pi[p][i]*pi[p][j]*g.Prompts[p].P[i][j]/float64(x))
			}
		}
	}
	return w, off
}

func flatLogs(pi [][]float64) []float64 {
	var out []float64
	for _, p := range pi {
		out = append(out, logs(p)...)
	}
	return out
}

func TestINPOLossPopulationMinimiser(t *testing.T) {
	const kappa, tau = 1.0, 0.1
	for _, tc := range []struct {
		name     string
		g        *datasets.Game
		features string // "" (tabular), "onehot" or "game"
	}{
		{"tabular, one prompt", datasets.CyclicGame(5, 3, 1), ""},
		{"tabular, contextual", datasets.ContextualGame(rand.New(rand.NewPCG(2, 3)), 3, 4, 3, 2), ""},
		// One-hot features make the log-linear policy tabular.
		{"log-linear one-hot", datasets.CyclicGame(5, 3, 1), "onehot"},
		// d ≥ X·K generic features: θ ↦ logits is onto, so the log-linear
		// minimiser is the tabular one.
		{"log-linear rich features", datasets.ContextualGame(rand.New(rand.NewPCG(5, 6)), 2, 3, 8, 2), "game"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x, k := len(tc.g.Prompts), tc.g.K()
			pi := testPolicy(x, k)
			w, off := inpoPopulation(tc.g, pi, kappa, tau)
			var features [][][]float64
			init := flatLogs(pi)
			switch tc.features {
			case "onehot":
				fx := make([][]float64, k)
				for i := range fx {
					fx[i] = make([]float64, k)
					fx[i][i] = 1
				}
				features = [][][]float64{fx}
				init = logs(pi[0])
			case "game":
				for _, pr := range tc.g.Prompts {
					features = append(features, pr.Features)
				}
				init = make([]float64, tc.g.NumFeatures())
			}
			l, err := newLearner("go", x, k, features, init, inpoLoss(kappa), 1, 0.05, 400)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := l.train(t.Context(), w, off); err != nil {
				t.Fatal(err)
			}
			got, err := l.logPolicy()
			if err != nil {
				t.Fatal(err)
			}
			for p := range x {
				want := INPOTarget(tc.g.Prompts[p].P, pi[p], tc.g.RefPolicy(p), kappa, tau)
				if d := L1(softmaxLog(got[p]), want); d > popTol {
					t.Errorf("prompt %d: ‖argmin L − closed form‖₁ = %g, want ≤ %g", p, d, popTol)
				}
			}
		})
	}
}

func TestINPOSampledApproachesExact(t *testing.T) {
	const kappa, tau, n = 1.0, 0.1, 200_000
	g := datasets.CyclicGame(5, 3, 1)
	pi := testPolicy(1, 5)
	w := inpoPairs(rand.New(rand.NewPCG(9, 9)), g, pi, n)
	_, off := inpoPopulation(g, pi, kappa, tau)
	l, err := newLearner("go", 1, 5, nil, flatLogs(pi), inpoLoss(kappa), 1, 0.05, 300)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.train(t.Context(), w, off); err != nil {
		t.Fatal(err)
	}
	got, _ := l.logPolicy()
	want := INPOTarget(g.Prompts[0].P, pi[0], g.RefPolicy(0), kappa, tau)
	d := L1(softmaxLog(got[0]), want)
	// A second fit starts from a fresh Adam state: its step counter counts
	// only its own steps.
	if _, err := l.train(t.Context(), w, off); err != nil {
		t.Fatal(err)
	}
	if step := l.store.GetVariable("/AdamOptimizer/step"); step == nil || tensors.ToScalar[float64](step.MustValue()) != 300 {
		t.Errorf("Adam step counter after the second fit: %v, want 300", step)
	}
	if d > sampledBand {
		t.Errorf("sampled update: L1 to the exact update %g, want ≤ %g", d, sampledBand)
	}
	t.Logf("sampled INPO update with %d pairs: L1 to the exact update %.4f (step size %.4f)", n, d, L1(pi[0], want))
}

func TestDNOPopulationOptimum(t *testing.T) {
	g := datasets.CyclicGame(5, 3, 1)
	p := g.Prompts[0].P
	pi := testPolicy(1, 5)[0]
	r := WinProbs(p, pi)
	for _, eta := range []float64{1, 0.25} {
		w := make([]float64, 0, 25)
		for i := range 5 {
			for j := range 5 {
				w = append(w, pi[i]*pi[j]*pairloss.Sigmoid(r[i]-r[j]))
			}
		}
		l, err := newLearner("go", 1, 5, nil, logs(pi), logisticLoss, eta, 0.05, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.train(t.Context(), w, logs(pi)); err != nil {
			t.Fatal(err)
		}
		got, _ := l.logPolicy()
		want := make([]float64, 5)
		for i := range want {
			want[i] = pi[i] * math.Exp(r[i]/eta)
		}
		want = softmaxLog(logs(want))
		if d := L1(softmaxLog(got[0]), want); d > 1e-5 {
			t.Errorf("η=%g: ‖argmax − π_t·exp(r_t/η)‖₁ = %g, want ≤ 1e-5", eta, d)
		}
	}
	// Sampled soft labels (r_t estimated from the same comparisons).
	w := dnoPairs(rand.New(rand.NewPCG(4, 4)), g, [][]float64{pi}, 200_000)
	l, _ := newLearner("go", 1, 5, nil, logs(pi), logisticLoss, 1, 0.05, 1000)
	if _, err := l.train(t.Context(), w, logs(pi)); err != nil {
		t.Fatal(err)
	}
	got, _ := l.logPolicy()
	if d := L1(softmaxLog(got[0]), DNOTarget(p, pi, 1)); d > sampledBand {
		t.Errorf("sampled DNO update: L1 to π_t·exp(r_t) %g, want ≤ %g", d, sampledBand)
	}
}

func TestPrctPairs(t *testing.T) {
	// Deterministic order: i beats j for i < j. The best candidate is the
	// smallest action drawn, the worst the largest.
	k := 4
	p := make([][]float64, k)
	for i := range p {
		p[i] = make([]float64, k)
		for j := range p[i] {
			switch {
			case i < j:
				p[i][j] = 1
			case i == j:
				p[i][j] = 0.5
			}
		}
	}
	g := &datasets.Game{Actions: []string{"a", "b", "c", "d"}, Prompts: []datasets.GamePrompt{{Name: "x0", P: p}}}
	w, kept := prctPairs(rand.New(rand.NewPCG(1, 1)), g, [][]float64{{0.25, 0.25, 0.25, 0.25}}, 500, 3, 0.5)
	if kept == 0 || kept > 500 {
		t.Fatalf("kept %d of 500", kept)
	}
	var sum float64
	for i := range k {
		for j := range k {
			if w[i*k+j] > 0 && i >= j {
				t.Errorf("pair (%d, %d) kept, but %d never beats %d", i, j, i, j)
			}
			sum += w[i*k+j]
		}
	}
	if math.Abs(sum-1) > exactTol {
		t.Errorf("weights sum to %v, want 1", sum)
	}
}
