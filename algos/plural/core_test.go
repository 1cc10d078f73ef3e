package plural

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/alignlab/alignlab/algos/fit"
	"gonum.org/v1/gonum/stat"
)

func testRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 17)) }

func TestGeneratePopulation(t *testing.T) {
	cfg := DefaultPopulationConfig()
	cfg.Users = 2000
	cfg.PerUser = 8
	p, err := GeneratePopulation(cfg, testRand(1))
	if err != nil {
		t.Fatal(err)
	}
	if w := p.Weights; math.Abs(w[0]-0.5) > 1e-15 || math.Abs(w[1]-1.0/3) > 1e-15 || math.Abs(w[2]-1.0/6) > 1e-15 {
		t.Errorf("weights %v, want ½ ⅓ ⅙", w)
	}
	if len(p.Train) != 2000*6 || len(p.Test) != 2000*2 {
		t.Errorf("%d train and %d test comparisons, want 12000 and 4000", len(p.Train), len(p.Test))
	}
	// Group shares within 4 standard errors of π.
	counts := make([]float64, 3)
	for _, u := range p.Users {
		counts[u.Group]++
	}
	for k, w := range p.Weights {
		if se := math.Sqrt(w * (1 - w) / 2000); math.Abs(counts[k]/2000-w) > 4*se {
			t.Errorf("group %d share %v, want %v ± %v", k, counts[k]/2000, w, 4*se)
		}
	}
	for a := range 5 {
		for b := range 5 {
			if s := p.Prob(1, a, b) + p.Prob(1, b, a); math.Abs(s-1) > 1e-15 {
				t.Errorf("P(a≻b) + P(b≻a) = %v for a=%d b=%d", s, a, b)
			}
		}
	}
	q, _ := GeneratePopulation(cfg, testRand(1))
	if !slices.Equal(q.Items[3], p.Items[3]) || q.Train[100] != p.Train[100] {
		t.Error("the same seed gave another population")
	}
	for _, bad := range []func(*PopulationConfig){
		func(c *PopulationConfig) { c.Groups = 0 },
		func(c *PopulationConfig) { c.Weights = []float64{1} },
		func(c *PopulationConfig) { c.Items = 1 },
		func(c *PopulationConfig) { c.TestFraction = 1 },
		func(c *PopulationConfig) { c.Spread = 0 },
		func(c *PopulationConfig) { c.Weights = []float64{0, 0, 0} },
	} {
		c := DefaultPopulationConfig()
		bad(&c)
		if _, err := GeneratePopulation(c, testRand(1)); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}

// The bounds on a hand-made population of 2 items: group 0 prefers item 0
// with probability σ(1), group 1 item 1 with σ(3), weights ¾ and ¼.
func TestBoundsClosedForm(t *testing.T) {
	const tol = 1e-15
	p := &Population{Weights: []float64{0.75, 0.25}, Items: [][]float64{{0}, {0}},
		Ideal: [][]float64{{1}, {-2}}, latent: [][]float64{{1}, {0}}}
	// r_0 = (0, −1): σ(1) for item 0; r_1 = (−9, −4): σ(−5) for item 0.
	s := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	pbar := 0.75*s(1) + 0.25*s(-5)
	acc, tr := p.IrreducibleAccuracy()
	if want := math.Max(pbar, 1-pbar); math.Abs(acc-want) > tol || !tr {
		t.Errorf("IrreducibleAccuracy = %v, %v; want %v, true", acc, tr, want)
	}
	if got, want := p.OracleAccuracy(), 0.75*s(1)+0.25*s(5); math.Abs(got-want) > tol {
		t.Errorf("OracleAccuracy = %v, want %v", got, want)
	}
}

// With one group the bound is the oracle, and the majority order is the
// group's reward order (transitive).
func TestBoundsOneGroup(t *testing.T) {
	cfg := DefaultPopulationConfig()
	cfg.Groups, cfg.Weights = 1, nil
	p, err := GeneratePopulation(cfg, testRand(2))
	if err != nil {
		t.Fatal(err)
	}
	acc, tr := p.IrreducibleAccuracy()
	if math.Abs(acc-p.OracleAccuracy()) > 1e-12 || !tr {
		t.Errorf("one group: irreducible %v (transitive %v), oracle %v", acc, tr, p.OracleAccuracy())
	}
}

func TestHungarianBruteForce(t *testing.T) {
	r := testRand(3)
	for trial := range 50 {
		n := 1 + trial%6
		cost := gaussianRows(r, n, n, 1)
		got := Hungarian(cost)
		total := func(perm []int) float64 {
			s := 0.0
			for i, j := range perm {
				s += cost[i][j]
			}
			return s
		}
		best := math.Inf(1)
		perm := make([]int, n)
		for i := range perm {
			perm[i] = i
		}
		var rec func(k int)
		rec = func(k int) {
			if k == n {
				best = math.Min(best, total(perm))
				return
			}
			for i := k; i < n; i++ {
				perm[k], perm[i] = perm[i], perm[k]
				rec(k + 1)
				perm[k], perm[i] = perm[i], perm[k]
			}
		}
		rec(0)
		seen := make([]bool, n)
		for _, j := range got {
			seen[j] = true
		}
		if math.Abs(total(got)-best) > 1e-12 || slices.Contains(seen, false) {
			t.Errorf("n=%d: Hungarian %v costs %v, brute force %v", n, got, total(got), best)
		}
	}
}

// Shuffled, rescaled and noisy copies of the true rewards are matched back.
func TestMatchGroups(t *testing.T) {
	r := testRand(4)
	truth := gaussianRows(r, 3, 30, 1)
	est := [][]float64{make([]float64, 30), make([]float64, 30), make([]float64, 30), make([]float64, 30)}
	for i := range 30 {
		est[0][i] = 2*truth[2][i] + 5 + 0.01*r.NormFloat64()
		est[1][i] = r.NormFloat64() // a spurious group
		est[2][i] = truth[0][i]
		est[3][i] = 0.5*truth[1][i] - 1
	}
	perm, corr := MatchGroups(truth, est)
	if !slices.Equal(perm, []int{2, 3, 0}) {
		t.Errorf("perm %v, want [2 3 0]", perm)
	}
	for k, c := range corr {
		if c < 0.999 {
			t.Errorf("group %d matched with correlation %v", k, c)
		}
	}
	perm, corr = MatchGroups(truth, est[2:3])
	if perm[0] != 0 || perm[1] != -1 || !math.IsNaN(corr[2]) {
		t.Errorf("fewer estimates than groups: perm %v corr %v", perm, corr)
	}
}

// The single BT model recovers a single group's reward (one group: the
// scores are the reward up to an offset and the logistic noise).
func TestFitBTRecoversOneGroup(t *testing.T) {
	cfg := DefaultPopulationConfig()
	cfg.Groups, cfg.Weights, cfg.Users = 1, nil, 400
	p, err := GeneratePopulation(cfg, testRand(5))
	if err != nil {
		t.Fatal(err)
	}
	bt := DefaultBTConfig()
	var recorded int
	m, err := FitBT(context.Background(), p, p.Train, bt, testRand(6), func(int64, string, float64) error { recorded++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if c := stat.Correlation(m.Scores, p.Rewards()[0], nil); c < 0.95 {
		t.Errorf("correlation of BT scores with the reward %v, want ≥ 0.95 (measured 0.97 at seed 5)", c)
	}
	acc := Accuracy(p.Test, func(c Comparison) float64 { return m.Prob(c.A, c.B) })
	bound, _ := p.IrreducibleAccuracy()
	if se := math.Sqrt(bound * (1 - bound) / float64(len(p.Test))); math.Abs(acc-bound) > 3*se {
		t.Errorf("held-out accuracy %v, want the bound %v ± %v", acc, bound, 3*se)
	}
	if recorded != 10 {
		t.Errorf("%d records, want 10 (500 steps / 50)", recorded)
	}
	bt.Config = fit.Config{LearningRate: 0.05, Steps: 0, EvalEvery: 1}
	if _, err := FitBT(context.Background(), p, p.Train, bt, nil, nil); err == nil {
		t.Error("0 steps: no error")
	}
}
