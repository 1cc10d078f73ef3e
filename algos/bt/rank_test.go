package bt

import (
	"math"
	"testing"
)

func TestKendallSpearmanKnownValues(t *testing.T) {
	const tol = 1e-12
	for _, c := range []struct {
		name     string
		x, y     []float64
		tau, rho float64
	}{
		// By hand: one discordant pair of six, τ = (5 − 1)/6; Σd² = 2,
		// ρ = 1 − 6·2/(4·15).
		{"one swap", []float64{1, 2, 3, 4}, []float64{1, 3, 2, 4}, 4.0 / 6, 0.8},
		// By hand: pairs (1,2) tied in x, (1,3) and (2,3) concordant:
		// τ_b = 2/√((3 − 1)·3); ρ = Pearson of ranks (1.5, 1.5, 3) and (1, 2, 3) = 1.5/√3.
		{"tie in x", []float64{1, 1, 2}, []float64{1, 2, 3}, 2 / math.Sqrt(6), 1.5 / math.Sqrt(3)},
		{"identity", []float64{5, 1, 3}, []float64{50, 10, 30}, 1, 1},
		{"reversed", []float64{5, 1, 3}, []float64{-5, -1, -3}, -1, -1},
		// Values computed once with scipy 1.10.1 (scipy.stats.kendalltau,
		// default variant "b", and scipy.stats.spearmanr) by /usr/bin/python3.
		{"scipy ties both", []float64{1, 2, 2, 3, 4, 4, 4, 5, 0.5, 7}, []float64{2, 1, 3, 3, 5, 4, 6, 6, 1, 2},
			0.5609756097560976, 0.6230559828490335},
		{"scipy negative and repeated", []float64{3.1, -0.4, 2.2, 2.2, 9.0, 0.0, -0.4, 5.5}, []float64{1, 1, 1, 2, 3, 0, 0, 2},
			0.6951816970931012, 0.7877462091665598},
	} {
		tau, err := KendallTau(c.x, c.y)
		if err != nil || math.Abs(tau-c.tau) > tol {
			t.Errorf("%s: KendallTau got %v (%v), want %v", c.name, tau, err, c.tau)
		}
		rho, err := SpearmanRho(c.x, c.y)
		if err != nil || math.Abs(rho-c.rho) > tol {
			t.Errorf("%s: SpearmanRho got %v (%v), want %v", c.name, rho, err, c.rho)
		}
	}
}

func TestRanksAverageTies(t *testing.T) {
	got := Ranks([]float64{10, 30, 20, 30, 10, 30})
	want := []float64{1.5, 5, 3, 5, 1.5, 5}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Ranks got %v, want %v", got, want)
		}
	}
}

func TestRankAgreementErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		x, y []float64
		want string
	}{
		{"lengths", []float64{1, 2}, []float64{1, 2, 3}, "bt: kendall tau: want vectors of the same length, got 2 and 3"},
		{"one item", []float64{1}, []float64{1}, "bt: kendall tau: want at least 2 items, got 1"},
		{"nan", []float64{1, math.NaN()}, []float64{1, 2}, "bt: kendall tau: item 1: want numbers, got NaN"},
		{"constant", []float64{1, 1, 1}, []float64{1, 2, 3}, "bt: kendall tau: undefined when x or y is constant"},
	} {
		_, err := KendallTau(c.x, c.y)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
		if _, err := SpearmanRho(c.x, c.y); err == nil {
			t.Errorf("%s: SpearmanRho gave no error", c.name)
		}
	}
}
