package nash

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/datasets"
)

// Closed forms: with two actions the game term of the Jacobian vanishes
// (the log-odds update is z' = (1 − κτ)z + const), so ρ = |1 − κτ|; for
// rock–paper–scissors at the uniform π*_τ, μ = ‖(P − ½)/3‖ = √3/6.
func TestINPOStabilityOfKnown(t *testing.T) {
	const tol = 1e-12
	rpsMu := math.Sqrt(3) / 6
	for _, tc := range []struct {
		name       string
		p          [][]float64
		star       []float64
		kappa, tau float64
		want       INPOStability
	}{
		{"two actions", [][]float64{{0.5, 0.8}, {0.2, 0.5}}, []float64{0.7, 0.3}, 1, 0.1,
			INPOStability{Mu: 0, Rate: 0.9, KappaMax: 20, KappaBest: 10, BestRate: 0}},
		{"rps", datasets.RockPaperScissors().Prompts[0].P, []float64{1.0 / 3, 1.0 / 3, 1.0 / 3}, 1, 0.1,
			INPOStability{Mu: rpsMu, Rate: math.Hypot(0.9, rpsMu), KappaMax: 0.2 / (0.01 + rpsMu*rpsMu),
				KappaBest: 0.1 / (0.01 + rpsMu*rpsMu), BestRate: rpsMu / math.Hypot(0.1, rpsMu)}},
		{"rps small tau", datasets.RockPaperScissors().Prompts[0].P, []float64{1.0 / 3, 1.0 / 3, 1.0 / 3}, 2, 0.01,
			INPOStability{Mu: rpsMu, Rate: math.Hypot(0.98, 2*rpsMu), KappaMax: 0.02 / (0.0001 + rpsMu*rpsMu),
				KappaBest: 0.01 / (0.0001 + rpsMu*rpsMu), BestRate: rpsMu / math.Hypot(0.01, rpsMu)}},
	} {
		got, err := INPOStabilityOf(tc.p, tc.star, tc.kappa, tc.tau)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, f := range []struct {
			name      string
			got, want float64
		}{{"μ", got.Mu, tc.want.Mu}, {"ρ", got.Rate, tc.want.Rate}, {"κ_max", got.KappaMax, tc.want.KappaMax},
			{"κ_best", got.KappaBest, tc.want.KappaBest}, {"ρ_best", got.BestRate, tc.want.BestRate}} {
			if math.Abs(f.got-f.want) > tol*math.Max(1, math.Abs(f.want)) {
				t.Errorf("%s: %s got %v, want %v", tc.name, f.name, f.got, f.want)
			}
		}
	}
	if _, err := INPOStabilityOf([][]float64{{0.5}}, []float64{1}, 1, 0); err == nil {
		t.Error("tau = 0: no error")
	}
}

// The rate is what the iteration does: from π*_τ perturbed by a tiny δ,
// the D-norm of the centred log-policy error changes by ρ per iteration,
// shrinking below the bound and growing above it (cyclic game, κ = 1:
// τ = 0.1 is stable, τ = 0.01 is not).
func TestINPOStabilityMatchesIteration(t *testing.T) {
	const (
		rateTol = 1e-4
		burn    = 100 // iterations for the dominant eigenvalues to take over
		span    = 20
		start   = 1e-7 // size of the perturbation: the linear regime
	)
	g := datasets.CyclicGame(5, 3, 1)
	p, ref := g.Prompts[0].P, g.RefPolicy(0)
	for _, tau := range []float64{0.1, 0.03, 0.01} {
		const kappa = 1.0
		star, err := RegularizedNash(p, ref, tau)
		if err != nil {
			t.Fatal(err)
		}
		st, err := INPOStabilityOf(p, star, kappa, tau)
		if err != nil {
			t.Fatal(err)
		}
		if st.Rate < 1 {
			// RegularizedNash stops at a residual of 1e-10; the stable
			// iteration itself sharpens π*_τ to rounding error.
			for range 3000 {
				star = INPOTarget(p, star, ref, kappa, tau)
			}
		}
		rng := rand.New(rand.NewPCG(1, 2))
		pi := make([]float64, len(star))
		for i := range pi {
			pi[i] = star[i] * math.Exp(start*rng.NormFloat64())
		}
		pi = softmaxLog(logs(pi))
		dnorm := func(pi []float64) float64 {
			var mean, sq float64
			for i := range pi {
				mean += star[i] * (math.Log(pi[i]) - math.Log(star[i]))
			}
			for i := range pi {
				d := math.Log(pi[i]) - math.Log(star[i]) - mean
				sq += star[i] * d * d
			}
			return math.Sqrt(sq)
		}
		var before float64
		for it := 1; it <= burn+span; it++ {
			pi = INPOTarget(p, pi, ref, kappa, tau)
			if it == burn {
				before = dnorm(pi)
			}
		}
		measured := math.Pow(dnorm(pi)/before, 1.0/span)
		t.Logf("τ = %g: measured rate %.6f, INPOStabilityOf %.6f", tau, measured, st.Rate)
		if math.Abs(measured-st.Rate) > rateTol {
			t.Errorf("τ = %g: measured rate %.5f, INPOStabilityOf %.5f (κ_max %.4g)", tau, measured, st.Rate, st.KappaMax)
		}
		if stable := kappa < st.KappaMax; stable != (st.Rate < 1) {
			t.Errorf("τ = %g: κ < κ_max is %v but ρ = %v", tau, stable, st.Rate)
		}
	}
}

func noteWith(notes []string, sub string) string {
	for _, n := range notes {
		if strings.Contains(n, sub) {
			return n
		}
	}
	return ""
}

// Issue 14: nash.inpo with τ = 0.01 and the default κ = 1 ended far from
// π*_τ with no word. κ = 1 exceeds the stability bound 2τ/(τ² + μ²) ≈ 0.40
// of the default game: the run must say converged = 0 and name kappa, and
// following the note (κ below the bound, more iterations) must converge.
func TestINPOSmallTauReportsNonConvergence(t *testing.T) {
	const boundTol = 1e-9
	res := run(t, IDINPO, map[string]any{ParamTau: 0.01})
	conv, ok := res.Final[MetricConverged]
	if !ok || conv != 0 {
		t.Fatalf("τ = 0.01, κ = 1: converged %v (present %v), want 0; finals %v", conv, ok, res.Final)
	}
	if l := res.Final[MetricL1TauNash]; l < 0.1 {
		t.Errorf("τ = 0.01, κ = 1: ‖π_T − π*_τ‖₁ = %v; the premise is a run that ends far from π*_τ", l)
	}
	g := datasets.CyclicGame(5, 3, 1)
	star, err := RegularizedNash(g.Prompts[0].P, g.RefPolicy(0), 0.01)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := INPOStabilityOf(g.Prompts[0].P, star, 1, 0.01)
	if got := res.Final[MetricKappaMax]; math.Abs(got-st.KappaMax) > boundTol || got > 1 {
		t.Errorf("kappa_max %v, want %v (< κ = 1)", got, st.KappaMax)
	}
	if got := res.Final[MetricContractionRate]; math.Abs(got-st.Rate) > boundTol || got < 1 {
		t.Errorf("contraction_rate %v, want %v (≥ 1)", got, st.Rate)
	}
	if noteWith(res.Notes, "kappa = 1 exceeds the stability bound") == "" || noteWith(res.Notes, "not converged") == "" ||
		!strings.Contains(noteWith(res.Notes, "not converged"), "lower kappa below") {
		t.Errorf("notes %q: want the step-size check and a note naming kappa", res.Notes)
	}
	// The advice: κ = 0.2 (below 0.40, near the fastest 0.199), ρ ≈ 0.999,
	// so about 7,000 iterations.
	fixed := run(t, IDINPO, map[string]any{ParamTau: 0.01, ParamKappa: 0.2, ParamIterations: 7000})
	if fixed.Final[MetricConverged] != 1 || noteWith(fixed.Notes, "not converged") != "" {
		t.Errorf("κ = 0.2, T = 7000: converged %v, l1_tau_nash %v, notes %q", fixed.Final[MetricConverged], fixed.Final[MetricL1TauNash], fixed.Notes)
	}
	def := run(t, IDINPO, nil)
	if def.Final[MetricConverged] != 1 || noteWith(def.Notes, "is below the stability bound") == "" {
		t.Errorf("defaults: converged %v, notes %q", def.Final[MetricConverged], def.Notes)
	}
}

// Below the bound but short of iterations, the note's estimate (from ρ)
// is enough: τ = 0.03, κ = 1 (ρ ≈ 0.998) converges within 10% more
// iterations than the note asks for.
func TestINPOIterationsEstimate(t *testing.T) {
	res := run(t, IDINPO, map[string]any{ParamTau: 0.03})
	note := noteWith(res.Notes, "raise iterations to about ")
	if res.Final[MetricConverged] != 0 || note == "" {
		t.Fatalf("τ = 0.03, T = 100: converged %v, notes %q", res.Final[MetricConverged], res.Notes)
	}
	var want int
	if _, err := fmt.Sscanf(note[strings.Index(note, "raise iterations to about ")+len("raise iterations to about "):], "%d", &want); err != nil {
		t.Fatalf("note %q: %v", note, err)
	}
	again := run(t, IDINPO, map[string]any{ParamTau: 0.03, ParamIterations: want + want/10})
	if again.Final[MetricConverged] != 1 {
		t.Errorf("T = %d (the note's %d + 10%%): l1_tau_nash %v, not converged", want+want/10, want, again.Final[MetricL1TauNash])
	}
}

// DNO's last iterate and MWU's average have their own criteria
// (exploitability ≤ tolerance).
func TestDNOAndMWUConverged(t *testing.T) {
	for _, tc := range []struct {
		name   string
		id     string
		params map[string]any
		want   float64
		note   string // in the not-converged note
	}{
		{"dno cycles", IDDNO, nil, 0, "nash.inpo"},
		{"dno at rps equilibrium", IDDNO, map[string]any{ParamGame: GameRPS}, 1, ""},
		{"mwu average, T = 100", IDMWU, nil, 0, "lower eta towards"},
		{"mwu average, T = 1000, tolerance 0.01", IDMWU, map[string]any{ParamIterations: 1000, ParamTolerance: 0.01}, 1, ""},
	} {
		res := run(t, tc.id, tc.params)
		got, ok := res.Final[MetricConverged]
		if !ok || got != tc.want {
			t.Errorf("%s: converged %v (present %v), want %v", tc.name, got, ok, tc.want)
		}
		n := noteWith(res.Notes, "not converged")
		if (tc.note == "") != (n == "") || !strings.Contains(n, tc.note) {
			t.Errorf("%s: note %q, want one containing %q", tc.name, n, tc.note)
		}
	}
	res := run(t, IDCompare, map[string]any{ParamIterations: 100, ParamPairs: 200, "steps": 20})
	if res.Final[MetricConverged+"/"+MethodINPOExact] != 1 || res.Final[MetricConverged+"/"+MethodMWU] != 0 {
		t.Errorf("compare: finals %v", res.Final)
	}
	if _, ok := res.Final[MetricConverged+"/"+MethodBTRLHF]; ok {
		t.Error("compare: bt_rlhf has no convergence criterion, but reports one")
	}
	if noteWith(res.Notes, "converged: inpo_exact;") == "" {
		t.Errorf("compare: notes %q", res.Notes)
	}
}
