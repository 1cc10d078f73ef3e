package replicate

import (
	"context"
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/integrate/quad"
)

// TestFlipPopulation checks the population model behind the scalebio
// bands against known answers: no flips cost nothing, flips at rate ½
// leave the constant predictor (log 2), and at ε = 0.1 and 0.25 the excess
// matches an independent computation (scipy: adaptive quadrature of the
// same integrals and brentq for the slope, σ-margin s = 3).
func TestFlipPopulation(t *testing.T) {
	const s = 3
	p := newFlipPopulation(s)
	// The Bayes log-loss E[H(σ(z))], z ~ N(0, s²), by gonum's default rule
	// (no Hermite nodes) as a cross-check of the 200-point Hermite rule.
	bayes := quad.Fixed(func(z float64) float64 {
		return math.Exp(-z*z/(2*s*s)) / (s * math.Sqrt(2*math.Pi)) * (sigmoid(z)*softplus(-z) + (1-sigmoid(z))*softplus(z))
	}, math.Inf(-1), math.Inf(1), 2000, nil, 0)
	for _, tc := range []struct {
		name      string
		got, want float64
		tol       float64
	}{
		{"Bayes loss (Hermite vs default rule)", p.loss(1, sigmoid), bayes, 1e-8},
		{"Bayes loss (scipy)", p.loss(1, sigmoid), 0.3605369002, 1e-9},
		{"Δ(0)", p.excess(0), 0, 1e-12},
		{"Δ(½)", p.excess(0.5), math.Ln2 - bayes, 1e-8},
		{"Δ(0.1) (scipy)", p.excess(0.1), 0.0389318640, 1e-7},
		{"Δ(0.25) (scipy)", p.excess(0.25), 0.1345998166, 1e-7},
		{"flipFor inverts Δ", p.excess(p.flipFor(0.03)), 0.03, 1e-9},
	} {
		if math.Abs(tc.got-tc.want) > tc.tol {
			t.Errorf("%s: got %.10g, want %.10g (tolerance %g)", tc.name, tc.got, tc.want, tc.tol)
		}
	}
	for i := range 10 {
		lo, hi := 0.05*float64(i), 0.05*float64(i+1)
		if p.excess(hi) <= p.excess(lo) {
			t.Errorf("Δ(%g) = %g is not above Δ(%g) = %g", hi, p.excess(hi), lo, p.excess(lo))
		}
	}
}

// TestScaleBiOQuick runs the quick replication at seed 1: no claim fails
// (the edge over val_filter is a known difference) and the report, with
// its charts, renders.
func TestScaleBiOQuick(t *testing.T) {
	if !slices.Contains(Names(), "scalebio") {
		t.Fatalf("papers %v lack scalebio", Names())
	}
	checkQuick(t, "scalebio", 12)
}

// checkQuick replicates paper with --quick at seed 1 and wants claims
// claims, none failed (reproduced or known differences, the latter with a
// reason), and a report that renders.
func checkQuick(t *testing.T, paper string, claims int) {
	t.Helper()
	rep, err := Replicate(context.Background(), []string{paper}, Options{Quick: true, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	pr := rep.Papers[0]
	if pr.Err != nil {
		t.Fatalf("%s did not run: %v", paper, pr.Err)
	}
	if len(pr.Claims) != claims {
		t.Errorf("%d claims, want %d", len(pr.Claims), claims)
	}
	for _, c := range pr.Claims {
		t.Logf("%s: %s = %.4g, want %s", c.Name, c.Text, c.Measured, c.Band)
		if c.Failed() {
			t.Errorf("claim %s failed: %s = %.4g, want %s (%s)", c.Name, c.Text, c.Measured, c.Band, c.Source)
		}
		if c.Source == "" {
			t.Errorf("claim %s has no source for its band", c.Name)
		}
		if (c.Status == StatusKnownDifference) != (c.Why != "") {
			t.Errorf("claim %s: status %s, why %q; a known difference, and only one, says why", c.Name, c.Status, c.Why)
		}
	}
	if _, err := rep.HTML(); err != nil {
		t.Errorf("report.html: %v", err)
	}
	if _, err := rep.JSON(); err != nil {
		t.Errorf("replication.json: %v", err)
	}
}
