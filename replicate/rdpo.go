package replicate

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"gonum.org/v1/gonum/mat"

	"github.com/alignlab/alignlab/algos/dpo"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// rdpoEpsilon is the flip rate the claims are checked at (the paper's
// high-noise regime; the notebook quotes it too).
const rdpoEpsilon = 0.3

func init() {
	Register(Paper{
		Name:  "rdpo",
		Title: "Provably Robust DPO (Chowdhury, Kini, Natarajan 2024, arXiv:2403.00409)",
		Run:   runRDPO,
	})
}

// rdpoSweep is the sweep the replication runs (the plugin dpo.sweep, through
// dpo.Sweep): the notebook's (notebooks/02-robust-dpo.ipynb,
// dpo.DefaultSweepConfig: n = 20,000, 3 replicates, every loss and flip
// rate) or, quick, the three logistic losses at ε ∈ {0, 0.3} with n = 5,000
// and 6 replicates.
func rdpoSweep(quick bool, seed int64) dpo.SweepConfig {
	cfg := dpo.DefaultSweepConfig()
	cfg.Seed = uint64(seed)
	if quick {
		cfg.Data.Pairs, cfg.Data.TestPrompts = 5000, 500
		cfg.Epsilons = []float64{0, rdpoEpsilon}
		cfg.Losses = []dpo.Kind{dpo.DPO, dpo.CDPO, dpo.RDPO}
		cfg.PairsGrid = nil
		cfg.Replicates = 6
	}
	return cfg
}

func runRDPO(ctx context.Context, quick bool, seed int64) ([]Claim, []*kernel.Result, error) {
	cfg := rdpoSweep(quick, seed)
	res, err := dpo.Sweep(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	sw := res.Tables["sweep"]
	get := func(loss dpo.Kind, eps float64, col string) (float64, error) {
		return tableCell(sw, col, map[string]string{"loss": string(loss), "epsilon": strconv.FormatFloat(eps, 'g', -1, 64)})
	}
	var v struct{ gapDPO, gapCDPO, gapRDPO, err0, errEps, shrink float64 }
	for _, c := range []struct {
		dst  *float64
		loss dpo.Kind
		eps  float64
		col  string
	}{
		{&v.gapDPO, dpo.DPO, rdpoEpsilon, "gap"}, {&v.gapCDPO, dpo.CDPO, rdpoEpsilon, "gap"}, {&v.gapRDPO, dpo.RDPO, rdpoEpsilon, "gap"},
		{&v.err0, dpo.RDPO, 0, "param_error"}, {&v.errEps, dpo.RDPO, rdpoEpsilon, "param_error"},
		{&v.shrink, dpo.DPO, rdpoEpsilon, "shrinkage"},
	} {
		if *c.dst, err = get(c.loss, c.eps, c.col); err != nil {
			return nil, nil, err
		}
	}
	th, err := rdpoTheory(cfg, rdpoEpsilon)
	if err != nil {
		return nil, nil, err
	}
	bound := 1 / (1 - 2*rdpoEpsilon)
	n := cfg.Data.Pairs
	const biased = "rDPO's expected loss under symmetric flips is the clean DPO loss (the paper's unbiasedness lemma), so its error bound O(1/(1−2ε)·√(d/n)) vanishes with n; DPO and cDPO minimise a different loss whose minimiser is shrunk toward π_ref for every n"
	claims := []Claim{
		Check("gap_rdpo_below_dpo", fmt.Sprintf("gap at ε = %g: rDPO < DPO (DPO ÷ rDPO)", rdpoEpsilon), v.gapDPO/v.gapRDPO, Above(1), biased).
			WithPaperText("> 1 (rDPO robust)"),
		Check("gap_dpo_below_cdpo", fmt.Sprintf("gap at ε = %g: DPO < cDPO (cDPO ÷ DPO)", rdpoEpsilon), v.gapCDPO/v.gapDPO, Above(1),
			"cDPO's label smoothing with the true ε shrinks θ further: its population minimiser solves the soft-label fit with labels pulled toward ½ twice (flips, then smoothing), so its policy is closer to π_ref than DPO's"),
		Check("rdpo_error_growth", fmt.Sprintf("rDPO error(ε = %g) ÷ error(0) ≈ 1/(1−2ε) = %.3g", rdpoEpsilon, bound), v.errEps/v.err0,
			Within(bound*(1-3*th.ratioRelSD), th.ratio*(1+3*th.ratioRelSD)),
			fmt.Sprintf("asymptotic covariance of the rDPO estimate, H⁻¹(H + ε(1−ε)/(1−2ε)²·M)H⁻¹/n (H = E p(1−p)ΔφΔφᵀ, M = E ΔφΔφᵀ ⪰ 4H), on this design: ratio ≥ 1/(1−2ε) = %.3g (equality when every p = ½), predicted %.3g; ± 3 s.d. of the mean of %d replicates (relative %.2g)",
				bound, th.ratio, cfg.Replicates, th.ratioRelSD)).
			WithPaper(bound, "its bound"),
		Check("dpo_shrinkage", fmt.Sprintf("DPO's θ shrinks at ε = %g (θ·θ*/‖θ*‖²)", rdpoEpsilon), v.shrink,
			Within(th.shrink-3*th.shrinkSD, th.shrink+3*th.shrinkSD),
			fmt.Sprintf("population minimiser of DPO under flips: the logistic fit to soft labels ε + (1−2ε)σ(r*(y_w) − r*(y_l)) on this design, ≈ 1 − 2ε = %.2g for weak preferences, predicted %.3f; ± 3 s.d. (sandwich covariance at n = %d, %d replicates)",
				1-2*rdpoEpsilon, th.shrink, n, cfg.Replicates)).
			WithPaperText("< 1 (DPO biased)"),
	}
	return claims, []*kernel.Result{res}, nil
}

// tableCell returns column col of the one row of t whose columns match.
func tableCell(t *kernel.Table, col string, match map[string]string) (float64, error) {
	if t == nil {
		return 0, fmt.Errorf("replicate: missing table: %w", errNoRow)
	}
	found := -1
	for i := range t.Rows {
		ok := true
		for c, want := range match {
			if t.Col(c) < 0 || t.Strings(c)[i] != want {
				ok = false
				break
			}
		}
		if ok {
			found = i
			break
		}
	}
	if found < 0 || t.Col(col) < 0 {
		return 0, fmt.Errorf("replicate: row %v, column %q: %w", match, col, errNoRow)
	}
	return t.Floats(col)[found], nil
}

// rdpoPrediction is what the asymptotic theory predicts for a sweep.
type rdpoPrediction struct {
	ratio, ratioRelSD float64 // rDPO's mean relative error at ε over that at 0, and its relative s.d.
	shrink, shrinkSD  float64 // DPO's mean shrinkage at ε and the s.d. of that mean
}

// rdpoTheory predicts, for the sweep's own designs (regenerated as
// dpo.sweep draws them: replicate r from PCG(seed + r, 1); a different
// stream would give statistically equivalent designs), rDPO's error ratio
// and DPO's shrinkage at flip rate eps.
//
// With Δφ = φ(y1) − φ(y2) for a pair, p = σ(w*·Δφ) and β absorbed into θ,
// the per-pair rDPO gradient at θ* has mean 0 and variance
// q(1−q)/(1−2ε)² = p(1−p) + ε(1−ε)/(1−2ε)², q = ε + (1−2ε)p, while its
// Hessian is DPO's, p(1−p)ΔφΔφᵀ. So the estimate's covariance is
// H⁻¹(H + c M)H⁻¹/n, c = ε(1−ε)/(1−2ε)², and ‖θ̂ − θ*‖² ≈ Σ λ z² over its
// eigenvalues λ. DPO under flips converges to the logistic fit u_pop to the
// soft labels q, with sandwich covariance H_u⁻¹ V H_u⁻¹/n.
func rdpoTheory(cfg dpo.SweepConfig, eps float64) (*rdpoPrediction, error) {
	c := eps * (1 - eps) / ((1 - 2*eps) * (1 - 2*eps))
	var m0, m1, var0, var1, shrink, shrinkVar float64
	for r := range cfg.Replicates {
		dc := cfg.Data
		dc.FlipRate = 0
		data, err := datasets.GeneratePrefs(dc, rand.New(rand.NewPCG(cfg.Seed+uint64(r), 1)))
		if err != nil {
			return nil, err
		}
		d, n := data.Dim, len(data.Pairs)
		w := data.Truth.W
		ww := dotf(w, w)
		dphi := make([][]float64, n)
		p := make([]float64, n)
		for i, pr := range data.Pairs {
			x := data.Prompts[pr.Prompt]
			dphi[i] = make([]float64, d)
			for a := range d {
				dphi[i][a] = x.Features[pr.Chosen][a] - x.Features[pr.Rejected][a]
			}
			p[i] = sigmoid(dotf(w, dphi[i]))
		}
		gram := func(weight func(i int) float64) *mat.SymDense {
			g := mat.NewSymDense(d, nil)
			for i, v := range dphi {
				wi := weight(i) / float64(n)
				for a := range d {
					for b := a; b < d; b++ {
						g.SetSym(a, b, g.At(a, b)+wi*v[a]*v[b])
					}
				}
			}
			return g
		}
		h := gram(func(i int) float64 { return p[i] * (1 - p[i]) })
		mm := gram(func(int) float64 { return 1 })
		var hinv mat.Dense
		if err := hinv.Inverse(h); err != nil {
			return nil, fmt.Errorf("replicate: rdpo: Hessian: %w", err)
		}
		for k, cc := range []float64{0, c} {
			var v mat.Dense
			v.Scale(cc, mm)
			v.Add(&v, h)
			cov := sandwich(&hinv, &v, float64(n)*ww)
			a, b := eigSums(cov)
			mean, vr := math.Sqrt(a), b/(2*a)
			if k == 0 {
				m0, var0 = m0+mean, var0+vr
			} else {
				m1, var1 = m1+mean, var1+vr
			}
		}
		u, hu, vu, err := softLogistic(dphi, p, eps)
		if err != nil {
			return nil, err
		}
		var huinv mat.Dense
		if err := huinv.Inverse(hu); err != nil {
			return nil, fmt.Errorf("replicate: rdpo: DPO Hessian: %w", err)
		}
		cov := sandwich(&huinv, vu, float64(n))
		dir := mat.NewVecDense(d, nil)
		for a := range d {
			dir.SetVec(a, w[a]/ww)
		}
		shrink += dotf(u, w) / ww
		shrinkVar += mat.Inner(dir, cov, dir)
	}
	reps := float64(cfg.Replicates)
	pred := &rdpoPrediction{
		ratio:    m1 / m0,
		shrink:   shrink / reps,
		shrinkSD: math.Sqrt(shrinkVar) / reps,
	}
	pred.ratioRelSD = math.Hypot(math.Sqrt(var0)/m0, math.Sqrt(var1)/m1)
	return pred, nil
}

// sandwich returns A V A / scale for symmetric A and V.
func sandwich(a *mat.Dense, v mat.Matrix, scale float64) *mat.SymDense {
	var t, s mat.Dense
	t.Mul(a, v)
	s.Mul(&t, a)
	d, _ := s.Dims()
	out := mat.NewSymDense(d, nil)
	for i := range d {
		for j := i; j < d; j++ {
			out.SetSym(i, j, (s.At(i, j)+s.At(j, i))/(2*scale))
		}
	}
	return out
}

// eigSums returns Σλ and Σλ² over the eigenvalues of a symmetric matrix
// (its trace and squared Frobenius norm).
func eigSums(s *mat.SymDense) (sum, sumSq float64) {
	d, _ := s.Dims()
	for i := range d {
		sum += s.At(i, i)
		for j := range d {
			sumSq += s.At(i, j) * s.At(i, j)
		}
	}
	return sum, sumSq
}

// softLogistic minimises Σ −q log σ(u·x) − (1−q) log σ(−u·x) with
// q = eps + (1−2eps)p by Newton's method, and returns u with the Hessian
// E σ'(u·x) x xᵀ and the per-pair gradient covariance
// E[((σ − q)² + q(1−q)) x xᵀ] at u (label noise and design spread).
func softLogistic(x [][]float64, p []float64, eps float64) ([]float64, *mat.SymDense, *mat.SymDense, error) {
	d, n := len(x[0]), float64(len(x))
	u := make([]float64, d)
	q := make([]float64, len(x))
	for i := range q {
		q[i] = eps + (1-2*eps)*p[i]
	}
	for iter := 0; ; iter++ {
		h := mat.NewSymDense(d, nil)
		v := mat.NewSymDense(d, nil)
		g := mat.NewVecDense(d, nil)
		for i, xi := range x {
			s := sigmoid(dotf(u, xi))
			for a := range d {
				g.SetVec(a, g.AtVec(a)+(s-q[i])*xi[a]/n)
				for b := a; b < d; b++ {
					h.SetSym(a, b, h.At(a, b)+s*(1-s)*xi[a]*xi[b]/n)
					v.SetSym(a, b, v.At(a, b)+((s-q[i])*(s-q[i])+q[i]*(1-q[i]))*xi[a]*xi[b]/n)
				}
			}
		}
		var step mat.VecDense
		if err := step.SolveVec(h, g); err != nil {
			return nil, nil, nil, fmt.Errorf("replicate: rdpo: soft-label fit: %w", err)
		}
		for a := range d {
			u[a] -= step.AtVec(a)
		}
		if mat.Norm(&step, math.Inf(1)) < 1e-12 || iter == 100 {
			return u, h, v, nil
		}
	}
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

func dotf(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
