package nash

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/alignlab/alignlab/datasets"
)

// Named tolerances of the known-answer tests.
const (
	exactTol = 1e-9 // closed forms and LP solutions
	refTol   = 1e-7 // values computed independently with scipy/numpy
)

// handGame is a 3-action intransitive game small enough to score by hand.
var handGame = [][]float64{
	{0.5, 0.7, 0.2},
	{0.3, 0.5, 0.6},
	{0.8, 0.4, 0.5},
}

func TestExploitabilityByHand(t *testing.T) {
	rps := datasets.RockPaperScissors().Prompts[0].P
	for _, tc := range []struct {
		name string
		p    [][]float64
		pi   []float64
		want float64
	}{
		// Paper beats pure rock with probability 1.
		{"rps rock", rps, []float64{1, 0, 0}, 0.5},
		{"rps uniform", rps, []float64{1. / 3, 1. / 3, 1. / 3}, 0},
		// P(y ≻ y0) is column 0: 0.5, 0.3, 0.8 → y2 wins 0.8.
		{"hand pure y0", handGame, []float64{1, 0, 0}, 0.3},
		// P(y ≻ π) = 0.6, 0.4, 0.6 for π = (½, ½, 0).
		{"hand mixed", handGame, []float64{0.5, 0.5, 0}, 0.1},
	} {
		if got := Exploitability(tc.p, tc.pi); math.Abs(got-tc.want) > exactTol {
			t.Errorf("%s: exploitability %v, want %v", tc.name, got, tc.want)
		}
	}
	// The duality gap max_y P(y ≻ π) − min_y P(π ≻ y) is 2e.
	pi := []float64{0.2, 0.5, 0.3}
	w := WinProbs(handGame, pi)
	lo := math.Inf(1)
	for j := range handGame {
		lo = math.Min(lo, WinRate(handGame, pi, []float64{b2f(j == 0), b2f(j == 1), b2f(j == 2)}))
	}
	hi := math.Max(w[0], math.Max(w[1], w[2]))
	if got, want := hi-lo, 2*Exploitability(handGame, pi); math.Abs(got-want) > exactTol {
		t.Errorf("duality gap %v, want 2e = %v", got, want)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func TestNash(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    [][]float64
		want []float64
		tol  float64
	}{
		{"rps is uniform", datasets.RockPaperScissors().Prompts[0].P, []float64{1. / 3, 1. / 3, 1. / 3}, exactTol},
		// A pure BT game: the Nash is the top item, wherever it is.
		{"transitive top", datasets.TransitiveGame([]float64{0, 2, 1, -1}).Prompts[0].P, []float64{0, 1, 0, 0}, exactTol},
		{"pure 5-cycle is uniform", datasets.CyclicGame(5, 3, 0).Prompts[0].P, []float64{0.2, 0.2, 0.2, 0.2, 0.2}, exactTol},
		// scipy.optimize.linprog (HiGHS) on the same LP.
		{"cyclic default", datasets.CyclicGame(5, 3, 1).Prompts[0].P, []float64{0.37008467, 0.21311191, 0, 0.41680342, 0}, 1e-8},
	} {
		got, err := Nash(tc.p)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if d := L1(got, tc.want); d > tc.tol*float64(len(got)) {
			t.Errorf("%s: Nash %v, want %v (L1 %g)", tc.name, got, tc.want, d)
		}
		// Nash ⇔ P(π ≻ j) ≥ ½ for every pure j.
		for j, w := range WinProbs(tc.p, got) {
			if w > 0.5+NashTolerance {
				t.Errorf("%s: P(%d ≻ π) = %v > ½", tc.name, j, w)
			}
		}
	}
	// Random games: the LP answer is always unexploitable.
	rng := rand.New(rand.NewPCG(11, 12))
	for range 20 {
		g := datasets.ContextualGame(rng, 1, 2+rng.IntN(7), 3, 2)
		pi, err := Nash(g.Prompts[0].P)
		if err != nil {
			t.Fatal(err)
		}
		if e := Exploitability(g.Prompts[0].P, pi); e > NashTolerance {
			t.Errorf("random game: exploitability %g", e)
		}
	}
}

func TestRegularizedNash(t *testing.T) {
	cyc := datasets.CyclicGame(5, 3, 1).Prompts[0].P
	uniform5 := []float64{0.2, 0.2, 0.2, 0.2, 0.2}
	for _, tc := range []struct {
		name string
		p    [][]float64
		ref  []float64
		tau  float64
	}{
		{"cyclic τ=1", cyc, uniform5, 1},
		{"cyclic τ=0.1", cyc, uniform5, 0.1},
		{"cyclic τ=0.01", cyc, uniform5, 0.01},
		{"cyclic skewed ref", cyc, []float64{0.6, 0.1, 0.1, 0.1, 0.1}, 0.05},
		{"rps τ=0.02", datasets.RockPaperScissors().Prompts[0].P, []float64{0.7, 0.2, 0.1}, 0.02},
		{"hand τ=0.3", handGame, []float64{1. / 3, 1. / 3, 1. / 3}, 0.3},
	} {
		pi, err := RegularizedNash(tc.p, tc.ref, tc.tau)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		// The fixed-point equation π ∝ π_ref·exp(Pπ/τ), checked independently.
		w := WinProbs(tc.p, pi)
		var z float64
		for i := range pi {
			z += tc.ref[i] * math.Exp(w[i]/tc.tau)
		}
		for i := range pi {
			if want := tc.ref[i] * math.Exp(w[i]/tc.tau) / z; math.Abs(pi[i]-want) > exactTol {
				t.Errorf("%s: π[%d] = %v, want π_ref·exp(Pπ/τ)/Z = %v", tc.name, i, pi[i], want)
			}
		}
	}
	// numpy mirror-prox to 1e-15 on the same game.
	pi, _ := RegularizedNash(cyc, uniform5, 0.1)
	if want := []float64{0.27983031, 0.17920958, 0.15467761, 0.20991063, 0.17637187}; L1(pi, want) > 5*refTol {
		t.Errorf("π*_0.1 = %v, want %v", pi, want)
	}
	// Limits: τ → ∞ gives π_ref, τ → 0 gives the Nash equilibrium.
	big, _ := RegularizedNash(cyc, uniform5, 1000)
	if d := L1(big, uniform5); d > 1e-4 {
		t.Errorf("τ=1000: ‖π*_τ − π_ref‖₁ = %g, want < 1e-4", d)
	}
	small, _ := RegularizedNash(cyc, uniform5, 0.001)
	if e := Exploitability(cyc, small); e > 1e-3 {
		t.Errorf("τ=0.001: exploitability %g, want < 1e-3", e)
	}
	if _, err := RegularizedNash(cyc, uniform5, 0); err == nil {
		t.Error("τ = 0: want an error")
	}
}

func TestExactUpdates(t *testing.T) {
	p := datasets.CyclicGame(5, 3, 1).Prompts[0].P
	pi := []float64{0.3, 0.1, 0.2, 0.25, 0.15}
	ref := []float64{0.2, 0.2, 0.2, 0.2, 0.2}
	const kappa, tau, eta = 0.8, 0.25, 0.5
	w := WinProbs(p, pi)
	norm := func(v []float64) []float64 {
		var s float64
		for _, x := range v {
			s += x
		}
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = x / s
		}
		return out
	}
	inpo := make([]float64, 5)
	dno := make([]float64, 5)
	for i := range 5 {
		inpo[i] = math.Pow(pi[i], 1-kappa*tau) * math.Pow(ref[i], kappa*tau) * math.Exp(kappa*w[i])
		dno[i] = pi[i] * math.Exp(w[i]/eta)
	}
	if got, want := INPOTarget(p, pi, ref, kappa, tau), norm(inpo); L1(got, want) > exactTol {
		t.Errorf("INPOTarget %v, want %v", got, want)
	}
	if got, want := DNOTarget(p, pi, eta), norm(dno); L1(got, want) > exactTol {
		t.Errorf("DNOTarget %v, want %v", got, want)
	}
	// MWU is INPO with τ = 0.
	if got, want := MWUStep(p, pi, kappa), INPOTarget(p, pi, ref, kappa, 0); L1(got, want) > exactTol {
		t.Errorf("MWUStep %v, want INPOTarget(τ=0) %v", got, want)
	}
	// π*_τ is a fixed point of the INPO update for any κ.
	star, _ := RegularizedNash(p, ref, tau)
	if got := INPOTarget(p, star, ref, 2, tau); L1(got, star) > 1e-9 {
		t.Errorf("INPO moved π*_τ by %g", L1(got, star))
	}
}

func TestFitBT(t *testing.T) {
	r := []float64{1.5, -0.5, 0.25, -1.25} // mean zero
	p := datasets.TransitiveGame(r).Prompts[0].P
	ref := []float64{0.1, 0.4, 0.3, 0.2}
	wins := make([][]float64, 4)
	for i := range wins {
		wins[i] = make([]float64, 4)
		for j := range 4 {
			wins[i][j] = ref[i] * ref[j] * p[i][j]
		}
	}
	s, err := FitBT(wins)
	if err != nil {
		t.Fatal(err)
	}
	for i := range r {
		if math.Abs(s[i]-r[i]) > exactTol {
			t.Errorf("score %d = %v, want %v", i, s[i], r[i])
		}
	}
	wins[2] = []float64{0, 0, 0, 0}
	if _, err := FitBT(wins); err == nil {
		t.Error("an action without wins: want an error")
	}
	got := BTPolicy([]float64{1, 0}, []float64{0.5, 0.5}, 0.5)
	if want := math.Exp(2) / (1 + math.Exp(2)); math.Abs(got[0]-want) > exactTol {
		t.Errorf("BTPolicy %v, want [%v …]", got, want)
	}
}
