package replicate

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/alignlab/alignlab/algos/bt"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// The Bradley–Terry replication's design: 10 models with planted
// log-strengths evenly spaced in [−1.5, 1.5] (adjacent models 1/3 apart:
// P(i ≻ i+1) = 0.58), 20,000 decisive battles between uniformly drawn
// pairs, as in datasets.GenerateArena.
const (
	btModels    = 10
	btBattles   = 20000
	btHalfRange = 1.5
	// btCoverageRuns are the independent arenas whose bootstrap intervals
	// are checked against the planted ratings (quick, full).
	btCoverageRunsQuick = 50
	btCoverageRunsFull  = 200
	// btTailProb is the probability each statistical band leaves out: the
	// bands are 99.8 % (two-sided) or 99.9 % (one-sided) ranges, so that a
	// correct implementation fails a claim about once in a thousand runs.
	btTailProb = 0.001
)

func init() {
	Register(Paper{
		Name:  "bt",
		Title: "Bradley–Terry ratings (Bradley & Terry 1952; Hunter 2004 MM; Chatbot Arena, Chiang et al. 2024, arXiv:2403.04132)",
		Run:   runBT,
	})
}

// runBT replicates what the Chatbot Arena leaderboard rests on: maximum
// likelihood recovers planted strengths as precisely as the Fisher
// information allows, its 95 % bootstrap intervals cover them, and Hunter's
// MM reaches the same maximum as Newton's method.
func runBT(ctx context.Context, quick bool, seed int64) ([]Claim, []*kernel.Result, error) {
	dir, err := os.MkdirTemp("", "alignlab-replicate-bt-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)

	names := make([]string, btModels)
	theta := make([]float64, btModels)
	for i := range names {
		names[i] = fmt.Sprintf("model-%02d", i+1)
		theta[i] = btHalfRange - 2*btHalfRange*float64(i)/float64(btModels-1)
	}
	runs := btCoverageRunsFull
	if quick {
		runs = btCoverageRunsQuick
	}
	// One arena per run; arena 0 is also the recovery and solver arena.
	rng := rand.New(rand.NewPCG(uint64(seed), 0xb7))
	arena := func(i int) (string, error) {
		battles, _, err := datasets.GenerateArena(datasets.ArenaConfig{Names: names, Theta: theta, Battles: btBattles, Seed: rng.Uint64()})
		if err != nil {
			return "", err
		}
		path := filepath.Join(dir, fmt.Sprintf("arena-%03d.jsonl", i))
		f, err := os.Create(path)
		if err != nil {
			return "", err
		}
		if err := datasets.WriteBattlesJSONL(f, battles); err != nil {
			f.Close()
			return "", err
		}
		return path, f.Close()
	}
	rate := func(path string, params map[string]any) (map[string]float64, *kernel.Result, error) {
		params[kernel.ParamSeed] = seed
		res, err := kernel.Run(ctx, "bt.ratings", kernel.Options{Params: params, Data: []string{path}})
		if err != nil {
			return nil, nil, err
		}
		lb := res.Tables["leaderboard"]
		out := map[string]float64{}
		for i, m := range lb.Strings("model") {
			out[m] = lb.Floats("rating")[i]
		}
		if len(out) != btModels {
			return nil, nil, fmt.Errorf("replicate: bt: leaderboard has %d models, want %d", len(out), btModels)
		}
		return out, res, nil
	}

	path0, err := arena(0)
	if err != nil {
		return nil, nil, err
	}
	newton, recovery, err := rate(path0, map[string]any{bt.ParamBootstrapRounds: 0})
	if err != nil {
		return nil, nil, err
	}
	mm, _, err := rate(path0, map[string]any{bt.ParamBootstrapRounds: 0, bt.ParamSolver: bt.SolverMM})
	if err != nil {
		return nil, nil, err
	}
	fitted := make([]float64, btModels)
	var sq, mmDiff float64
	for i, n := range names {
		fitted[i] = (newton[n] - bt.DefaultAnchorRating) / bt.EloPerLogit
		sq += (fitted[i] - theta[i]) * (fitted[i] - theta[i])
		mmDiff = math.Max(mmDiff, math.Abs(mm[n]-newton[n]))
	}
	rmse := math.Sqrt(sq / btModels)
	tau := stat.Kendall(theta, fitted, nil)

	fisher := btFisher(theta, btBattles)
	rmseLow, rmseHigh := fisher.rmseBand(btTailProb)
	discordant := fisher.expectedDiscordant()
	pairs := btModels * (btModels - 1) / 2
	// Markov: P(D > m) ≤ E[D]/(m+1); m is the fewest discordant pairs that
	// this bound allows with probability ≥ 1 − btTailProb.
	allowed := max(math.Ceil(discordant/btTailProb)-1, 0)

	// Coverage of the 95 % bootstrap intervals (the plugin's default 100
	// rounds) over independent arenas.
	summary := kernel.NewJob(ctx, "replicate.bt", kernel.Params{kernel.ParamSeed: seed,
		"models": int64(btModels), "battles": int64(btBattles), "coverage_runs": int64(runs)}, nil)
	covered := make([]int, btModels)
	for r := range runs {
		path := path0
		if r > 0 {
			if path, err = arena(r); err != nil {
				return nil, nil, err
			}
		}
		runSeed := int64(rng.Uint64() >> 11) // seeds stay below 2^53
		res, err := kernel.Run(ctx, "bt.ratings", kernel.Options{Params: map[string]any{kernel.ParamSeed: runSeed}, Data: []string{path}})
		if err != nil {
			return nil, nil, err
		}
		lb := res.Tables["leaderboard"]
		low, high := lb.Floats("ci_low"), lb.Floats("ci_high")
		for i, m := range lb.Strings("model") {
			k := indexOf(names, m)
			if k < 0 {
				return nil, nil, fmt.Errorf("replicate: bt: unknown model %q in the leaderboard", m)
			}
			if planted := bt.DefaultAnchorRating + bt.EloPerLogit*theta[k]; low[i] <= planted && planted <= high[i] {
				covered[k]++
			}
		}
		if r > 0 {
			os.Remove(path)
		}
	}
	total := 0
	cov := summary.AddTable("coverage", "model", "coverage")
	for i, n := range names {
		total += covered[i]
		cov.Add(n, float64(covered[i])/float64(runs))
	}
	coverage := float64(total) / float64(runs*btModels)
	rec := summary.AddTable("recovery", "model", "planted_theta", "fitted_theta")
	for i, n := range names {
		rec.Add(n, theta[i], fitted[i])
	}
	summary.AddChart(kernel.Chart{Kind: "scatter", ID: "recovery", Title: fmt.Sprintf("fitted vs planted log-strength (n = %d battles)", btBattles),
		Table: "recovery", X: "planted_theta", Y: "fitted_theta", XLabel: "planted θ", YLabel: "fitted θ"})
	summary.AddChart(kernel.Chart{Kind: "bar", ID: "coverage", Title: fmt.Sprintf("coverage of the 95%% bootstrap intervals over %d arenas", runs),
		Table: "coverage", X: "model", Value: "coverage", YLabel: "coverage"})
	summary.SetFinal("rmse", rmse)
	summary.SetFinal("kendall_tau", tau)
	summary.SetFinal("coverage", coverage)
	summary.SetFinal("mm_newton_max_diff_elo", mmDiff)

	// The percentile interval of B bootstrap draws, read at the
	// interpolated order statistics h = q(B−1) (bt.Quantile), covers a
	// pivotal, symmetric estimate's truth like a new exchangeable draw falls
	// between those order statistics: 1 − 2(h_lo + 1)/(B + 1) = 0.931 for
	// B = 100, a little under the nominal 95 %. The band is that ± 4
	// binomial standard errors over the runs × models intervals.
	const b = bt.DefaultBootstrapRounds
	wantCov := 1 - 2*(0.025*(b-1)+1)/(b+1)
	se := math.Sqrt(wantCov * (1 - wantCov) / float64(runs*btModels))

	claims := []Claim{
		Check("recovery_rmse", fmt.Sprintf("planted θ recovered at n = %d (RMSE)", btBattles), rmse, Within(rmseLow, rmseHigh),
			fmt.Sprintf("Cramér–Rao: the Fisher information of this design (%d models, uniform pairs) at the planted θ predicts RMSE %.4f; the band is its 0.1–99.9 %% range (weighted χ², Welch–Satterthwaite)",
				btModels, math.Sqrt(fisher.trace()/btModels))),
		Check("recovery_kendall_tau", "planted order recovered (Kendall τ)", tau, Within(1-2*allowed/float64(pairs), 1),
			fmt.Sprintf("the Fisher covariance gives E[discordant pairs] = Σ Φ(−|θi − θj|/sd) = %.2g; by Markov at most %g discordant pair(s) of %d with probability ≥ 99.9 %%", discordant, allowed, pairs)),
		Check("bootstrap_coverage", fmt.Sprintf("95%% bootstrap CIs cover planted ratings (%d arenas)", runs), coverage,
			Within(wantCov-4*se, math.Min(1, wantCov+4*se)),
			fmt.Sprintf("percentile interval of %d bootstrap draws: expected coverage 1 − 2(0.025·%d + 1)/%d = %.3f; ± 4 binomial s.e. over %d intervals", b, b-1, b+1, wantCov, runs*btModels)).
			WithPaper(0.95, "nominal"),
		Check("mm_equals_newton", "MM and Newton reach the same ratings (max |Δ| Elo)", mmDiff, AtMost(1e-4),
			fmt.Sprintf("both stop when max |Δθ| < %g (the plugin's tolerance); MM converges linearly (Hunter 2004), so its distance to the maximum is ≤ tol·r/(1−r): below 1e-4 Elo = %.2g in θ for any rate r ≤ 0.9998", bt.DefaultTolerance, 1e-4/bt.EloPerLogit)).
			WithPaper(0, "Hunter 2004"),
	}
	return claims, []*kernel.Result{recovery, summary.Result}, nil
}

func indexOf(names []string, n string) int {
	for i, m := range names {
		if m == n {
			return i
		}
	}
	return -1
}

// btCovariance is the asymptotic covariance of the mean-centred maximum
// likelihood θ̂: the pseudo-inverse of the Fisher information
//
//	I = n · Σ_{i<j} π_ij p_ij(1 − p_ij)(e_i − e_j)(e_i − e_j)ᵀ,  p_ij = σ(θi − θj),
//
// with π_ij = 2/(K(K−1)) the probability that a battle is between i and j.
// The null direction of I (all θ moving together) is the one the centring
// removes.
type btCovariance struct {
	theta []float64
	cov   *mat.SymDense
	eig   []float64 // non-zero eigenvalues of cov
}

func btFisher(theta []float64, n int) *btCovariance {
	k := len(theta)
	info := mat.NewSymDense(k, nil)
	pair := 2 / float64(k*(k-1))
	for i := range k {
		for j := i + 1; j < k; j++ {
			p := 1 / (1 + math.Exp(-(theta[i] - theta[j])))
			w := float64(n) * pair * p * (1 - p)
			info.SetSym(i, i, info.At(i, i)+w)
			info.SetSym(j, j, info.At(j, j)+w)
			info.SetSym(i, j, info.At(i, j)-w)
		}
	}
	var es mat.EigenSym
	if !es.Factorize(info, true) {
		panic("replicate: bt: eigendecomposition of the Fisher information failed")
	}
	vals := es.Values(nil)
	var vecs mat.Dense
	es.VectorsTo(&vecs)
	cov := mat.NewSymDense(k, nil)
	c := &btCovariance{theta: theta, cov: cov}
	for a, l := range vals {
		if l <= 1e-9*vals[len(vals)-1] {
			continue // the all-ones direction
		}
		c.eig = append(c.eig, 1/l)
		for i := range k {
			for j := i; j < k; j++ {
				cov.SetSym(i, j, cov.At(i, j)+vecs.At(i, a)*vecs.At(j, a)/l)
			}
		}
	}
	return c
}

func (c *btCovariance) trace() float64 { return mat.Trace(c.cov) }

// rmseBand returns the tail and 1−tail quantiles of the RMSE
// √(‖θ̂ − θ‖²/K), where ‖θ̂ − θ‖² = Σ λ_a z_a² (λ the covariance's
// eigenvalues, z standard normal) is approximated by g·χ²_ν with the same
// mean and variance: g = Σλ²/Σλ, ν = (Σλ)²/Σλ².
func (c *btCovariance) rmseBand(tail float64) (lo, hi float64) {
	var s1, s2 float64
	for _, l := range c.eig {
		s1 += l
		s2 += l * l
	}
	g, nu := s2/s1, s1*s1/s2
	chi := distuv.ChiSquared{K: nu}
	k := float64(len(c.theta))
	return math.Sqrt(g * chi.Quantile(tail) / k), math.Sqrt(g * chi.Quantile(1-tail) / k)
}

// expectedDiscordant is the expected number of pairs the estimate orders
// against the truth: Σ_{i<j} Φ(−|θi − θj| / sd(θ̂i − θ̂j)).
func (c *btCovariance) expectedDiscordant() float64 {
	var e float64
	k := len(c.theta)
	for i := range k {
		for j := i + 1; j < k; j++ {
			sd := math.Sqrt(c.cov.At(i, i) + c.cov.At(j, j) - 2*c.cov.At(i, j))
			e += distuv.UnitNormal.CDF(-math.Abs(c.theta[i]-c.theta[j]) / sd)
		}
	}
	return e
}
