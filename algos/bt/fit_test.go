package bt

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat"

	"github.com/alignlab/alignlab/datasets"
)

// Tolerances, named for what they bound.
const (
	tolSolvers  = 1e-6 // |θ_MM − θ_Newton|, as the issue asks
	tolClosed   = 1e-8 // θ against a closed form
	tolLL       = 1e-6 // log-likelihoods (relative)
	tolGradient = 1e-3 // max |∂ℓ/∂θ| at a fit, in battles
)

func counts(t *testing.T, cfg datasets.ArenaConfig) (*datasets.ArenaCounts, map[string]float64) {
	t.Helper()
	battles, planted, err := datasets.GenerateArena(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := datasets.AggregateBattles(battles)
	if err != nil {
		t.Fatal(err)
	}
	return c, planted
}

func maxDiff(a, b []float64) float64 {
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(a[i]-b[i]))
	}
	return m
}

// MM and Newton climb the same concave likelihood: same maximum.
func TestSolversAgree(t *testing.T) {
	cases := []struct {
		name string
		ties string
		cfg  datasets.ArenaConfig
	}{
		{"half, uniform", TiesHalf, datasets.ArenaConfig{Models: 12, Battles: 20000, TieRate: 0.2, BothBad: 0.5, Seed: 1}},
		{"half, skewed pairs", TiesHalf, datasets.ArenaConfig{Models: 15, Battles: 20000, Spread: 1.5, Skew: 1, Seed: 2}},
		{"rao_kupper", TiesRaoKupper, datasets.ArenaConfig{Models: 10, Battles: 20000, Ties: datasets.TiesRaoKupper, TieParam: 1.8, Seed: 3}},
		{"davidson", TiesDavidson, datasets.ArenaConfig{Models: 10, Battles: 20000, Ties: datasets.TiesDavidson, TieParam: 0.8, Seed: 4}},
		{"davidson on constant-rate ties", TiesDavidson, datasets.ArenaConfig{Models: 8, Battles: 20000, TieRate: 0.3, Seed: 5}},
	}
	for _, c := range cases {
		ac, _ := counts(t, c.cfg)
		mm, err := FitMM(ac, &Settings{Ties: c.ties})
		if err != nil {
			t.Fatalf("%s: MM: %v", c.name, err)
		}
		nt, err := FitNewton(ac, &Settings{Ties: c.ties})
		if err != nil {
			t.Fatalf("%s: Newton: %v", c.name, err)
		}
		if d := maxDiff(mm.Theta, nt.Theta); d > tolSolvers {
			t.Errorf("%s: max |θ_MM − θ_Newton| = %g, want ≤ %g", c.name, d, tolSolvers)
		}
		if d := math.Abs(mm.TieParam - nt.TieParam); d > tolSolvers {
			t.Errorf("%s: tie param MM %v, Newton %v", c.name, mm.TieParam, nt.TieParam)
		}
		if d := math.Abs(mm.LogLikelihood-nt.LogLikelihood) / math.Abs(nt.LogLikelihood); d > tolLL {
			t.Errorf("%s: log-likelihood MM %v, Newton %v", c.name, mm.LogLikelihood, nt.LogLikelihood)
		}
		for _, f := range []*Fit{mm, nt} {
			if !f.Converged || f.GradNorm > tolGradient {
				t.Errorf("%s: converged %v, grad norm %g (want ≤ %g)", c.name, f.Converged, f.GradNorm, tolGradient)
			}
		}
		t.Logf("%s: MM %d iterations, Newton %d; max |Δθ| %.2g; tie param %.4f",
			c.name, mm.Iterations, nt.Iterations, maxDiff(mm.Theta, nt.Theta), nt.TieParam)
	}
}

// threeModels is a hand-solvable arena. The Bradley–Terry MLE solves
// Zermelo's score equations W_i = Σ_j n_ij γi/(γi + γj) (W_i = wins + ties/2),
// which have one solution up to scale. Every pair plays n = 15 battles and the
// totals are W_A = 22, W_B = 15, W_C = 8. Try γ = (4, 2, 1):
//
//	A: 15·4/6 + 15·4/5 = 10 + 12 = 22
//	B: 15·2/6 + 15·2/3 =  5 + 10 = 15
//	C: 15·1/5 + 15·1/3 =  3 +  5 =  8
//
// so θ = (ln 4, ln 2, 0) − ln 2 = (ln 2, 0, −ln 2) after centering. The
// per-pair counts are chosen so that no pair's own log-odds gives the answer
// (A–B: 8 wins, 5 losses, 2 ties → log(9/6) ≠ ln 2): only the joint
// solution does. The maximized log-likelihood is
//
//	ℓ = 9 ln(2/3) + 6 ln(1/3) + 13 ln(4/5) + 2 ln(1/5) + 9 ln(2/3) + 6 ln(1/3).
func threeModels() *datasets.ArenaCounts {
	return &datasets.ArenaCounts{
		Models: []string{"A", "B", "C"},
		Pairs: []datasets.PairCounts{
			{A: 0, B: 1, WinsA: 8, WinsB: 5, Ties: 1, BothBad: 1},
			{A: 0, B: 2, WinsA: 13, WinsB: 2},
			{A: 1, B: 2, WinsA: 9, WinsB: 6},
		},
	}
}

func TestThreeModelClosedForm(t *testing.T) {
	c := threeModels()
	want := []float64{math.Ln2, 0, -math.Ln2}
	wantLL := 18*math.Log(2.0/3) + 12*math.Log(1.0/3) + 13*math.Log(4.0/5) + 2*math.Log(1.0/5)
	for _, solver := range []struct {
		name string
		fit  Solver
	}{{"mm", FitMM}, {"newton", FitNewton}} {
		f, err := solver.fit(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxDiff(f.Theta, want); d > tolClosed {
			t.Errorf("%s: θ = %v, want %v", solver.name, f.Theta, want)
		}
		if math.Abs(f.LogLikelihood-wantLL) > tolClosed {
			t.Errorf("%s: log-likelihood %v, want %v", solver.name, f.LogLikelihood, wantLL)
		}
	}
	// On the Elo scale A is 400·log10(4) ≈ 240.8 points above C.
	f, _ := FitNewton(c, nil)
	r := Elo(f.Theta, 2, 1000)
	if want := 1000 + 400*math.Log10(4); math.Abs(r[0]-want) > 1e-6 || r[2] != 1000 {
		t.Errorf("Elo anchored on C: got %v, want A = %v, C = 1000", r, want)
	}
	if mean := (r[0] + r[1] + r[2]) / 3; math.Abs(Elo(f.Theta, -1, 1000)[1]-1000) > 1e-6 || mean == 0 {
		t.Errorf("Elo around the mean: B should sit at 1000, got %v", Elo(f.Theta, -1, 1000))
	}
}

// With 20k battles among 10 models each θ is measured from ~4,000 battles:
// standard error ≈ 1/√(4000 · p(1−p)) ≈ 0.035 at p(1−p) ≈ 0.2. The data have
// no ties: ties that occur at a constant rate whatever the strengths, counted
// as half wins, pull every θ toward 0 (at a 15 % tie rate RMSE grows to
// ≈ 0.26 with the order intact) — the half convention measures win rates,
// not the strengths of a tie model.
func TestRecoversPlantedStrengths(t *testing.T) {
	const (
		rmseLow, rmseHigh = 0.01, 0.08 // about [0.3, 2.3] × the expected error
		minTau            = 0.85
	)
	c, planted := counts(t, datasets.ArenaConfig{Models: 10, Battles: 20000, Seed: 11})
	f, err := FitNewton(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	truth := make([]float64, len(c.Models))
	sse := 0.0
	for i, m := range c.Models {
		truth[i] = planted[m]
		sse += (f.Theta[i] - truth[i]) * (f.Theta[i] - truth[i])
	}
	rmse := math.Sqrt(sse / float64(len(truth)))
	tau := stat.Kendall(truth, f.Theta, nil)
	t.Logf("n = 20000, 10 models: RMSE(θ̂ − θ) = %.4f, Kendall τ = %.3f", rmse, tau)
	if rmse < rmseLow || rmse > rmseHigh {
		t.Errorf("RMSE %v, want in [%v, %v]", rmse, rmseLow, rmseHigh)
	}
	if tau < minTau {
		t.Errorf("Kendall τ %v, want ≥ %v", tau, minTau)
	}
}

// The tie models recover the tie parameter they generate data from.
func TestTieModelsRecoverTieParameter(t *testing.T) {
	const tolRel = 0.05 // the standard error at 20k battles is ≈ 1–2 %
	for _, c := range []struct {
		ties  string
		param float64
	}{
		{TiesRaoKupper, 1.8},
		{TiesRaoKupper, 1.2},
		{TiesDavidson, 0.8},
		{TiesDavidson, 2.5},
	} {
		ac, planted := counts(t, datasets.ArenaConfig{Models: 8, Battles: 20000, Ties: c.ties, TieParam: c.param, Seed: 21})
		for _, solver := range []Solver{FitMM, FitNewton} {
			f, err := solver(ac, &Settings{Ties: c.ties})
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(f.TieParam-c.param) > tolRel*c.param {
				t.Errorf("%s: tie parameter %v, planted %v", c.ties, f.TieParam, c.param)
			}
			worst := 0.0
			for i, m := range ac.Models {
				worst = math.Max(worst, math.Abs(f.Theta[i]-planted[m]))
			}
			if worst > 0.15 {
				t.Errorf("%s: max |θ̂ − θ| = %v", c.ties, worst)
			}
		}
	}
}

func TestNoWinsStaysFinite(t *testing.T) {
	c, _ := counts(t, datasets.ArenaConfig{Models: 5, Battles: 2000, TieRate: 0.1, Seed: 5})
	// Model index 0 now loses every battle it played, and never ties.
	for i := range c.Pairs {
		p := &c.Pairs[i]
		if p.A == 0 {
			p.WinsB += p.WinsA + p.Ties + p.BothBad
			p.WinsA, p.Ties, p.BothBad = 0, 0, 0
		}
	}
	loser := c.Models[0]
	for _, solver := range []Solver{FitMM, FitNewton} {
		_, err := solver(c, nil)
		var ne *NoMLEError
		if !errors.As(err, &ne) {
			t.Fatalf("no prior: got %v, want *NoMLEError", err)
		}
		if want := "bt: no finite maximum-likelihood ratings: no wins or ties: " + loser + "; set a prior > 0"; err.Error() != want {
			t.Errorf("got %q, want %q", err, want)
		}
	}
	mm, err := FitMM(c, &Settings{Prior: DefaultPrior})
	if err != nil {
		t.Fatal(err)
	}
	nt, err := FitNewton(c, &Settings{Prior: DefaultPrior})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(mm.Theta, nt.Theta); d > tolSolvers {
		t.Errorf("with prior: max |θ_MM − θ_Newton| = %g", d)
	}
	for i, th := range nt.Theta {
		if math.IsNaN(th) || math.IsInf(th, 0) || math.Abs(th) > 20 {
			t.Errorf("θ[%s] = %v, want finite", c.Models[i], th)
		}
		if i > 0 && th <= nt.Theta[0] {
			t.Errorf("θ[%s] = %v not above the winless model's %v", c.Models[i], th, nt.Theta[0])
		}
	}
	if nt.Prior != DefaultPrior {
		t.Errorf("Fit.Prior = %v, want %v", nt.Prior, DefaultPrior)
	}
	t.Logf("winless model θ = %.3f (others %.3f … %.3f)", nt.Theta[0], nt.Theta[1], nt.Theta[4])

	// A disconnected arena (two groups that never met) is reported as such.
	split := &datasets.ArenaCounts{Models: []string{"a", "b", "c", "d"}, Pairs: []datasets.PairCounts{
		{A: 0, B: 1, WinsA: 3, WinsB: 2}, {A: 2, B: 3, WinsA: 1, WinsB: 4},
	}}
	if err := CheckMLE(split); err == nil || !errors.As(err, new(*NoMLEError)) ||
		err.Error() != "bt: no finite maximum-likelihood ratings: the models split into groups one of which never lost to another; set a prior > 0" {
		t.Errorf("disconnected: got %v", err)
	}
	if err := CheckMLE(threeModels()); err != nil {
		t.Errorf("three models: got %v, want nil", err)
	}
}

func TestResampleIsMultinomial(t *testing.T) {
	c := threeModels()
	rng := rand.New(rand.NewPCG(1, 2))
	const rounds = 4000
	cells := func(x *datasets.ArenaCounts) []float64 {
		var v []float64
		for _, p := range x.Pairs {
			v = append(v, float64(p.WinsA), float64(p.WinsB), float64(p.Ties), float64(p.BothBad))
		}
		return v
	}
	orig := cells(c)
	n := float64(c.Battles())
	mean := make([]float64, len(orig))
	for r := 0; r < rounds; r++ {
		x := Resample(c, rng)
		if x.Battles() != c.Battles() {
			t.Fatalf("replicate has %d battles, want %d", x.Battles(), c.Battles())
		}
		for i, v := range cells(x) {
			mean[i] += v / rounds
		}
	}
	// E[x_k] = n p_k; its standard error over the rounds is √(n p(1−p)/rounds).
	for i := range orig {
		p := orig[i] / n
		se := math.Sqrt(n * p * (1 - p) / rounds)
		if math.Abs(mean[i]-orig[i]) > 4*se+1e-12 {
			t.Errorf("cell %d: mean %v, want %v ± %v", i, mean[i], orig[i], 4*se)
		}
	}
}

// weightedThree is threeModels with some battles weighted: the same rows,
// grouped into cells of weights 1, 2.5 and 3.
func weightedThree() *datasets.ArenaCounts {
	c := threeModels()
	c.Cells = []datasets.WeightCell{
		{Pair: 0, Outcome: datasets.OutcomeWinA, Weight: 1, Battles: 5}, {Pair: 0, Outcome: datasets.OutcomeWinA, Weight: 3, Battles: 3},
		{Pair: 0, Outcome: datasets.OutcomeWinB, Weight: 1, Battles: 5},
		{Pair: 0, Outcome: datasets.OutcomeTie, Weight: 2.5, Battles: 1}, {Pair: 0, Outcome: datasets.OutcomeBothBad, Weight: 1, Battles: 1},
		{Pair: 1, Outcome: datasets.OutcomeWinA, Weight: 1, Battles: 13}, {Pair: 1, Outcome: datasets.OutcomeWinB, Weight: 3, Battles: 2},
		{Pair: 2, Outcome: datasets.OutcomeWinA, Weight: 1, Battles: 9}, {Pair: 2, Outcome: datasets.OutcomeWinB, Weight: 1, Battles: 6},
	}
	return c
}

// A weighted replicate draws rows, c.Battles() of them, over the (pair,
// outcome, weight) cells: each cell's mean is its count, each row keeps its
// weight, and the pairs' counts are the cells' sums.
func TestResampleWeighted(t *testing.T) {
	c := weightedThree()
	rng := rand.New(rand.NewPCG(3, 4))
	const rounds = 4000
	n := float64(c.Battles())
	mean := make([]float64, len(c.Cells))
	for r := 0; r < rounds; r++ {
		x := Resample(c, rng)
		if x.Battles() != c.Battles() || len(x.Cells) != len(c.Cells) {
			t.Fatalf("replicate: %d battles in %d cells, want %d in %d", x.Battles(), len(x.Cells), c.Battles(), len(c.Cells))
		}
		sums := make([]datasets.PairCounts, len(x.Pairs))
		for i, cell := range x.Cells {
			if cell.Weight != c.Cells[i].Weight || cell.Pair != c.Cells[i].Pair || cell.Outcome != c.Cells[i].Outcome {
				t.Fatalf("cell %d: got %+v, want the cell of %+v", i, cell, c.Cells[i])
			}
			sums[cell.Pair].Add(cell.Outcome, cell.Battles)
			mean[i] += float64(cell.Battles) / rounds
		}
		for i, p := range x.Pairs {
			sums[i].A, sums[i].B = p.A, p.B
			if p != sums[i] {
				t.Fatalf("pair %d: counts %+v, cells add up to %+v", i, p, sums[i])
			}
		}
	}
	for i, cell := range c.Cells {
		q := float64(cell.Battles) / n
		se := math.Sqrt(n * q * (1 - q) / rounds)
		if math.Abs(mean[i]-float64(cell.Battles)) > 4*se {
			t.Errorf("cell %d: mean %v, want %v ± %v", i, mean[i], cell.Battles, 4*se)
		}
	}
	// Cells of weight 1 only draw exactly what the unweighted counts draw.
	ones := threeModels()
	for i, p := range ones.Pairs {
		for _, o := range datasets.Outcomes {
			if n := p.Count(o); n > 0 {
				ones.Cells = append(ones.Cells, datasets.WeightCell{Pair: i, Outcome: o, Weight: 1, Battles: n})
			}
		}
	}
	a := Resample(threeModels(), rand.New(rand.NewPCG(7, 8)))
	b := Resample(ones, rand.New(rand.NewPCG(7, 8)))
	if fmt.Sprint(a.Pairs) != fmt.Sprint(b.Pairs) {
		t.Errorf("weight-1 cells drew %v, counts %v", b.Pairs, a.Pairs)
	}
}

// A fit on weighted counts is the fit on the counts with every battle
// repeated its weight times (integer weights), for both solvers and every
// tie model.
func TestFitWeightedIsRepeated(t *testing.T) {
	const tolRepeat = 1e-12 // θ: the same sums, the same arithmetic
	c := weightedThree()
	c.Cells[3].Weight = 2 // integer weights only: a tie of weight 2
	rep := &datasets.ArenaCounts{Models: c.Models, Pairs: make([]datasets.PairCounts, len(c.Pairs))}
	for i, p := range c.Pairs {
		rep.Pairs[i] = datasets.PairCounts{A: p.A, B: p.B}
	}
	for _, cell := range c.Cells {
		rep.Pairs[cell.Pair].Add(cell.Outcome, cell.Battles*int64(cell.Weight))
	}
	for _, solve := range []Solver{FitNewton, FitMM} {
		for _, ties := range TieModels {
			w, err := solve(c, &Settings{Ties: ties})
			if err != nil {
				t.Fatal(err)
			}
			r, err := solve(rep, &Settings{Ties: ties})
			if err != nil {
				t.Fatal(err)
			}
			if d := maxDiff(w.Theta, r.Theta); d > tolRepeat || math.Abs(w.TieParam-r.TieParam) > tolRepeat ||
				math.Abs(w.LogLikelihood-r.LogLikelihood) > tolRepeat*math.Abs(r.LogLikelihood) {
				t.Errorf("%s: weighted θ %v (tie %v, ℓ %v), repeated θ %v (tie %v, ℓ %v)",
					ties, w.Theta, w.TieParam, w.LogLikelihood, r.Theta, r.TieParam, r.LogLikelihood)
			}
		}
	}
}

func TestPoissonMoments(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const draws = 20000
	// 1 … 40 by inversion, above by rejection.
	for _, lambda := range []int64{1, 3, 17, poissonInversion, poissonInversion + 1, 500, 100000} {
		var sum, sq float64
		for i := 0; i < draws; i++ {
			x := float64(poisson(lambda, rng))
			sum += x
			sq += x * x
		}
		mean := sum / draws
		variance := sq/draws - mean*mean
		want := float64(lambda)
		// Standard errors: √(λ/draws) for the mean, ≈ λ·√(2/draws) for the variance.
		if math.Abs(mean-want) > 4*math.Sqrt(want/draws) {
			t.Errorf("Poisson(%d): mean %v", lambda, mean)
		}
		if math.Abs(variance-want) > 5*want*math.Sqrt(2.0/draws) {
			t.Errorf("Poisson(%d): variance %v", lambda, variance)
		}
	}
}

// multinomial draws exactly total items, with the multinomial's means,
// variances n·p·(1−p) and covariances −n·pᵢ·pⱼ; Poisson draws without the
// correction would have variances n·p and no covariance.
func TestMultinomialMoments(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const draws = 20000
	for _, counts := range [][]int64{{1, 2, 3}, {30, 1, 7, 12}, {60, 45, 5, 90}, {1, 1}} {
		var total int64
		for _, n := range counts {
			total += n
		}
		k := len(counts)
		sum := make([]float64, k)
		prod := make([][]float64, k)
		for i := range prod {
			prod[i] = make([]float64, k)
		}
		x := make([]int64, k)
		for d := 0; d < draws; d++ {
			multinomial(counts, total, rng, x)
			var s int64
			for i := range x {
				if x[i] < 0 {
					t.Fatalf("counts %v: negative draw %v", counts, x)
				}
				s += x[i]
				sum[i] += float64(x[i])
				for j := range x {
					prod[i][j] += float64(x[i] * x[j])
				}
			}
			if s != total {
				t.Fatalf("counts %v: drew %d items, want %d", counts, s, total)
			}
		}
		n := float64(total)
		for i := range counts {
			pi := float64(counts[i]) / n
			mean := sum[i] / draws
			if sd := math.Sqrt(n * pi * (1 - pi) / draws); math.Abs(mean-n*pi) > 4*sd {
				t.Errorf("counts %v: cell %d mean %v, want %v", counts, i, mean, n*pi)
			}
			for j := range counts {
				pj := float64(counts[j]) / n
				cov := prod[i][j]/draws - mean*sum[j]/draws
				want := -n * pi * pj
				if i == j {
					want = n * pi * (1 - pi)
				}
				// A (co)variance estimate's SE is at most about √(var_i·var_j·2/draws).
				se := math.Sqrt(n*pi*(1-pi)*n*pj*(1-pj)*2/draws) + 1e-9
				if math.Abs(cov-want) > 5*se {
					t.Errorf("counts %v: cov(%d, %d) = %v, want %v ± %v", counts, i, j, cov, want, 5*se)
				}
			}
		}
	}
}

// Bootstrap 95 % intervals cover the planted ratings about 95 % of the time.
func TestBootstrapCoverage(t *testing.T) {
	const (
		replicates = 40
		models     = 8
		rounds     = 100
		low, high  = 0.85, 0.99 // 320 model×replicate pairs: SE of a 95 % rate ≈ 1.2 %
	)
	covered, total := 0, 0
	for rep := 0; rep < replicates; rep++ {
		c, planted := counts(t, datasets.ArenaConfig{Models: models, Battles: 3000, Seed: uint64(100 + rep)})
		full, err := FitNewton(c, &Settings{Prior: DefaultPrior})
		if err != nil {
			t.Fatal(err)
		}
		var boot [][]float64
		err = Bootstrap(context.Background(), c, full, rounds, rand.New(rand.NewPCG(uint64(rep), 9)), SolverNewton,
			Settings{Prior: DefaultPrior}, 0, func(_ int, f *Fit) error {
				boot = append(boot, Elo(f.Theta, -1, 1000))
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
		truth := make([]float64, models)
		for i, m := range c.Models {
			truth[i] = planted[m]
		}
		truthElo := Elo(truth, -1, 1000)
		for i, iv := range Intervals(boot) {
			total++
			if iv.Low <= truthElo[i] && truthElo[i] <= iv.High {
				covered++
			}
		}
	}
	rate := float64(covered) / float64(total)
	t.Logf("coverage of planted ratings by 95%% bootstrap intervals: %d/%d = %.3f", covered, total, rate)
	if rate < low || rate > high {
		t.Errorf("coverage %v, want in [%v, %v]", rate, low, high)
	}
}

func TestBootstrapDeterministicAndCancellable(t *testing.T) {
	c, _ := counts(t, datasets.ArenaConfig{Models: 6, Battles: 3000, Seed: 8})
	full, _ := FitNewton(c, nil)
	run := func(workers int) [][]float64 {
		var out [][]float64
		err := Bootstrap(context.Background(), c, full, 20, rand.New(rand.NewPCG(3, 4)), SolverMM, Settings{}, workers,
			func(_ int, f *Fit) error { out = append(out, f.Theta); return nil })
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	a, b := run(1), run(3)
	for r := range a {
		if maxDiff(a[r], b[r]) != 0 {
			t.Fatalf("round %d differs between 1 and 3 workers", r+1)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	err := Bootstrap(ctx, c, full, 50, rand.New(rand.NewPCG(3, 4)), SolverNewton, Settings{}, 2,
		func(round int, _ *Fit) error {
			if round == 3 {
				cancel()
			}
			return ctx.Err()
		})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestSettingsErrors(t *testing.T) {
	c := threeModels()
	for _, tc := range []struct {
		s    Settings
		want string
	}{
		{Settings{Ties: "draws"}, `bt: ties: want one of half, rao_kupper, davidson, got "draws"`},
		{Settings{Prior: -1}, `bt: prior: want a finite weight ≥ 0, got -1`},
		{Settings{Init: []float64{1}}, `bt: init: want 3 log-strengths, got 1`},
	} {
		if _, err := FitMM(c, &tc.s); err == nil || err.Error() != tc.want {
			t.Errorf("got %v, want %s", err, tc.want)
		}
	}
	onlyTies := &datasets.ArenaCounts{Models: []string{"a", "b"}, Pairs: []datasets.PairCounts{{A: 0, B: 1, Ties: 4}}}
	if _, err := FitNewton(onlyTies, &Settings{Ties: TiesRaoKupper}); err == nil ||
		err.Error() != "bt: ties rao_kupper: want at least one decisive battle, got only ties" {
		t.Errorf("only ties: got %v", err)
	}
	if _, err := SolverByName("lbfgs"); err == nil || err.Error() != `bt: solver: want one of newton, mm, got "lbfgs"` {
		t.Errorf("got %v", err)
	}
}

func TestQuantile(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5}
	for _, c := range []struct{ q, want float64 }{{0, 1}, {0.5, 3}, {0.025, 1.1}, {0.975, 4.9}, {1, 5}} {
		if got := Quantile(x, c.q); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
}
