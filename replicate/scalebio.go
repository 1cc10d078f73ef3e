package replicate

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/integrate/quad"

	"github.com/alignlab/alignlab/algos/bilevel"
	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/kernel"
)

// The runs of notebooks/06-bilevel-reweighting.ipynb: bilevel.reweight at
// its defaults (8 sources × 1,000 examples with flip rates 0, 0, .1, .2,
// .3, .4, .5, .5, d = 20, 300 clean validation and 5,000 clean test
// examples, 1,000 Adam steps) with logistic regression for seeds 1–4 (here
// seed … seed+3) and with the DPO pair loss for seed 1 (here seed).
const (
	scalebioSeedsFull = 4
	// scalebioStepsQuick: a quick run trains ScaleBiO and every baseline
	// for 400 steps instead of 1,000. The weights settle within 100–200
	// steps (the notebook) and the full-batch fits converge, so the bands,
	// which depend on the data sizes only, are the same.
	scalebioStepsQuick = 400
	// scalebioCleanShare is the least weight mass the clean sources must
	// end with (a convention; see the claim).
	scalebioCleanShare = 0.5
)

func init() {
	Register(Paper{
		Name:  "scalebio",
		Title: "ScaleBiO: Scalable Bilevel Optimization for LLM Data Reweighting (Pan et al. 2024, arXiv:2406.19976)",
		Run:   runScaleBiO,
	})
}

// scalebioRun is what the claims read from one bilevel.reweight result.
type scalebioRun struct {
	seed                      int64
	uniform, oracle, scalebio float64 // test log-loss
	valFilter                 float64 // … of the val_filter heuristic
	clean                     float64 // ScaleBiO's weight mass on the flip-0 sources
	noise                     float64 // … on the pure-noise (flip 0.5) sources
	effFlip                   float64 // Σ p_k ε_k: the flip rate of the weighted mixture
}

func runScaleBiO(ctx context.Context, quick bool, seed int64) ([]Claim, []*kernel.Result, error) {
	run := func(model string, seed int64) (*kernel.Result, error) {
		params := map[string]any{bilevel.ParamModel: model, kernel.ParamSeed: seed}
		if quick {
			params[fit.ParamSteps] = scalebioStepsQuick
		}
		return kernel.Run(ctx, bilevel.ID, kernel.Options{Params: params})
	}
	seeds := scalebioSeedsFull
	if quick {
		seeds = 1
	}
	summary := kernel.NewJob(ctx, "replicate.scalebio", kernel.Params{kernel.ParamSeed: seed}, nil)
	runsTable := summary.AddTable("runs", "model", "seed", "uniform", "oracle", "scalebio", "clean_weight", "noise_weight", "effective_flip")
	losses := summary.AddTable("test_logloss", "run", "method", "test_logloss")
	var results []*kernel.Result
	var claims []Claim
	for _, model := range []string{bilevel.ModelLogistic, bilevel.ModelDPO} {
		n := seeds
		if model == bilevel.ModelDPO {
			n = 1 // the notebook runs the DPO version once
		}
		var runs []scalebioRun
		var th *scalebioPrediction
		for i := range n {
			res, err := run(model, seed+int64(i))
			if err != nil {
				return nil, nil, err
			}
			r, err := scalebioMeasure(res)
			if err != nil {
				return nil, nil, err
			}
			runs = append(runs, r)
			if i == 0 {
				results = append(results, res)
				if th, err = scalebioTheory(res, model); err != nil {
					return nil, nil, err
				}
			}
			runsTable.Add(model, r.seed, r.uniform, r.oracle, r.scalebio, r.clean, r.noise, r.effFlip)
			mt := res.Tables[bilevel.TableMethods]
			for j, m := range mt.Strings("method") {
				losses.Add(fmt.Sprintf("%s seed %d", model, r.seed), m, mt.Floats("test_logloss")[j])
			}
		}
		claims = append(claims, scalebioClaims(model, runs, th)...)
	}
	summary.AddChart(kernel.Chart{Kind: "bar", ID: "test_logloss", Title: "test log-loss per method and run (clean test set)",
		Table: "test_logloss", X: "run", Value: "test_logloss", Group: "method", YLabel: "log-loss"})
	for _, c := range claims {
		summary.SetFinal(c.Name, c.Measured)
	}
	return claims, append([]*kernel.Result{summary.Result}, results...), nil
}

// scalebioMeasure reads the test log-losses and ScaleBiO's final weights.
func scalebioMeasure(res *kernel.Result) (scalebioRun, error) {
	r := scalebioRun{seed: res.Seed}
	mt := res.Tables[bilevel.TableMethods]
	for _, m := range []struct {
		dst  *float64
		name string
	}{{&r.uniform, bilevel.MethodUniform}, {&r.oracle, bilevel.MethodOracle}, {&r.scalebio, bilevel.MethodScaleBiO},
		{&r.valFilter, bilevel.MethodValFilter}} {
		v, err := tableCell(mt, "test_logloss", map[string]string{"method": m.name})
		if err != nil {
			return r, fmt.Errorf("replicate: scalebio: %w", err)
		}
		*m.dst = v
	}
	wt := res.Tables[bilevel.TableWeights]
	if wt == nil || wt.Col("flip_rate") < 0 || wt.Col("weight") < 0 {
		return r, fmt.Errorf("replicate: scalebio: %s has no weights table: %w", res.Plugin, errNoRow)
	}
	rates, weights := wt.Floats("flip_rate"), wt.Floats("weight")
	var clean, noise int
	for k, e := range rates {
		r.effFlip += weights[k] * e
		switch e {
		case 0:
			r.clean += weights[k]
			clean++
		case 0.5:
			r.noise += weights[k]
			noise++
		}
	}
	if clean == 0 || noise == 0 {
		return r, fmt.Errorf("replicate: scalebio: want sources with flip rates 0 and 0.5, got %v: %w", rates, errNoRow)
	}
	return r, nil
}

// scalebioPrediction holds the bands of one model's claims, derived from
// the design the plugin ran.
type scalebioPrediction struct {
	params       int     // p: parameters of the inner model
	nVal, nClean int     // clean validation examples; training examples in flip-0 sources
	meanFlip     float64 // ε̄, the flip rate of the uniform mixture
	signal       float64 // standard deviation of the planted margin w*·x
	valExcess    float64 // p/(2 n_val)
	cleanExcess  float64 // p/(2 n_clean)
	uniformLoss  float64 // Δ(ε̄): the uniform mixture's population excess test loss
	oracleTol    float64 // valExcess − cleanExcess
	uniformGap   float64 // Δ(ε̄) − valExcess
	effFlipMax   float64 // the ε at which Δ(ε) = oracleTol
	noiseMax     float64 // 2 × the ε at which Δ(ε) = cleanExcess
}

// scalebioTheory derives the bands from the asymptotics of a
// well-specified maximum-likelihood fit and from the population loss under
// label flips (flipPopulation). Both testbeds have the same population: a
// margin z = w*·x ~ N(0, signal²) with P(y = 1 | z) = σ(z) (logistic: x ~
// N(0, I), ‖w*‖ = signal; dpo: z is the reward margin r*(y_w) − r*(y_l),
// scaled to standard deviation signal), and the inner model is a logistic
// fit in z's direction: p = d + 1 parameters for logistic regression, d for
// the intercept-free log-linear DPO policy.
func scalebioTheory(res *kernel.Result, model string) (*scalebioPrediction, error) {
	ps := kernel.Params(res.Params)
	d := ps.Int(bilevel.ParamDim)
	th := &scalebioPrediction{params: d, nVal: ps.Int(bilevel.ParamVal), signal: ps.Float(bilevel.ParamSignal)}
	if model == bilevel.ModelLogistic {
		th.params = d + 1
	}
	rates, err := bilevel.ParseFlipRates(ps.String(bilevel.ParamFlipRates))
	if err != nil {
		return nil, err
	}
	for _, e := range rates {
		th.meanFlip += e / float64(len(rates))
		if e == 0 {
			th.nClean += ps.Int(bilevel.ParamPerSource)
		}
	}
	if th.nClean == 0 {
		return nil, fmt.Errorf("replicate: scalebio: no clean source in flip rates %v", rates)
	}
	pop := newFlipPopulation(th.signal)
	p := float64(th.params)
	th.valExcess = p / (2 * float64(th.nVal))
	th.cleanExcess = p / (2 * float64(th.nClean))
	th.oracleTol = th.valExcess - th.cleanExcess
	th.uniformLoss = pop.excess(th.meanFlip)
	th.uniformGap = th.uniformLoss - th.valExcess
	th.effFlipMax = pop.flipFor(th.oracleTol)
	th.noiseMax = 2 * pop.flipFor(th.cleanExcess)
	return th, nil
}

// scalebioClaims checks the worst of runs against th.
func scalebioClaims(model string, runs []scalebioRun, th *scalebioPrediction) []Claim {
	worst := struct{ oracle, uniform, clean, noise, eff, edge float64 }{math.Inf(-1), math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1), math.Inf(-1)}
	for _, r := range runs {
		worst.edge = math.Max(worst.edge, r.valFilter-r.scalebio)
		worst.oracle = math.Max(worst.oracle, r.scalebio-r.oracle)
		worst.uniform = math.Min(worst.uniform, r.uniform-r.scalebio)
		worst.clean = math.Min(worst.clean, r.clean)
		worst.noise = math.Max(worst.noise, r.noise)
		worst.eff = math.Max(worst.eff, r.effFlip)
	}
	of := ""
	if len(runs) > 1 {
		of = fmt.Sprintf(", worst of %d seeds", len(runs))
	}
	what := "logistic regression"
	if model == bilevel.ModelDPO {
		what = "DPO pairs"
	}
	asym := fmt.Sprintf("a well-specified maximum-likelihood fit of p = %d parameters to n clean examples is p/(2n) above the Bayes test log-loss, to first order", th.params)
	delta := fmt.Sprintf("Δ(ε) is the population excess test log-loss of the logistic fit to labels flipped at rate ε (soft labels ε + (1−2ε)σ(z), margin z ~ N(0, %g²)), by Gauss–Hermite quadrature", th.signal)
	return []Claim{
		Check(model+"_near_oracle", fmt.Sprintf("%s: test log-loss, scalebio − clean-only oracle%s", what, of), worst.oracle, AtMost(th.oracleTol),
			fmt.Sprintf("%s: the oracle (n = %d clean training examples) is %.4f above Bayes, a fit to the %d validation examples alone %.4f; the band is the difference: reweighting must extract more than the validation set alone would give", asym, th.nClean, th.cleanExcess, th.nVal, th.valExcess)).
			WithPaperText("≈ 0 (optimal weights)"),
		Check(model+"_below_uniform", fmt.Sprintf("%s: test log-loss, uniform − scalebio%s", what, of), worst.uniform, AtLeast(th.uniformGap),
			fmt.Sprintf("uniform weights train on labels flipped at the mean rate ε̄ = %.3g, independent of x; %s: Δ(ε̄) = %.4f; ScaleBiO is at most p/(2·%d) = %.4f above Bayes (the previous claim), so the gap is ≥ Δ(ε̄) − %.4f (the issue's quick study: uniform ≈ 0.50 vs reweighted ≈ 0.37)", th.meanFlip, delta, th.uniformLoss, th.nVal, th.valExcess, th.valExcess)).
			WithPaperText("> 0 (beats uniform)"),
		Check(model+"_clean_weight", fmt.Sprintf("%s: ScaleBiO's weight on the clean (flip 0) sources%s", what, of), worst.clean, AtLeast(scalebioCleanShare),
			"a convention: the paper's claim that the learned weights move onto the high-quality sources, read as a majority of the mass on the flip-0 sources (uniform weights give them 2/8); near-clean sources (flip 0.1) may keep some, which the effective-flip claim prices").
			WithPaperText("most of it"),
		Check(model+"_noise_weight", fmt.Sprintf("%s: ScaleBiO's weight on the pure-noise (flip 0.5) sources%s", what, of), worst.noise, AtMost(th.noiseMax),
			fmt.Sprintf("labels flipped at rate 0.5 do not depend on x, so mass m on them (the rest clean) is a flip rate m/2 for the whole mixture; %s; the band is the m whose cost Δ(m/2) equals the oracle's own estimation error p/(2·%d) = %.4f", delta, th.nClean, th.cleanExcess)).
			WithPaperText("≈ 0 (down-weighted)"),
		Check(model+"_effective_flip", fmt.Sprintf("%s: flip rate of the weighted mixture, Σ p_k ε_k%s", what, of), worst.eff, AtMost(th.effFlipMax),
			fmt.Sprintf("a model trained with the learned weights (scalebio_retrain) sees labels flipped at rate Σ p_k ε_k; %s; the band is the rate at which Δ equals the near-oracle tolerance %.4f", delta, th.oracleTol)),
		KnownDifference(model+"_edge_over_val_filter", fmt.Sprintf("%s: test log-loss, val_filter heuristic − scalebio%s", what, of), worst.edge, AtMost(th.cleanExcess),
			fmt.Sprintf("checks this testbed's finding (notebook 06) that ScaleBiO has no edge over the val_filter heuristic: val_filter keeps exactly the clean sources, so (%s) it is p/(2·%d) = %.4f above Bayes, and no fit's expected test loss is below Bayes: an edge above %.4f would mean the heuristic kept noisy data, and the paper's advantage over data filtering shows here. The band is that bound; the near-oracle claim bounds the other side", asym, th.nClean, th.cleanExcess, th.cleanExcess),
			"the paper's LLM experiments put ScaleBiO ahead of uniform sampling and of data-filtering baselines; on this testbed label noise shows plainly in each source's loss under the validation-only model (seed 1: the 10 %-flip source 0.26 nats above the worse clean one, against the heuristic's 0.1 threshold), so filtering already lands on the clean-only oracle and ScaleBiO can only tie it. Sources that differ in coverage or informativeness rather than flips, where it might not, are not tested").
			WithPaperText("> 0 (beats filtering)"),
	}
}

// flipPopulation is the population of the sources testbeds: a margin
// z ~ N(0, s²), clean labels P(y = 1 | z) = σ(z), and expectations over z
// by 200-point Gauss–Hermite quadrature. By symmetry the logistic fit to
// flipped labels has no intercept and points along z, so it is one
// number: the slope c of σ(cz).
type flipPopulation struct {
	z, w []float64
}

func newFlipPopulation(s float64) *flipPopulation {
	const n = 200
	p := &flipPopulation{z: make([]float64, n), w: make([]float64, n)}
	quad.Hermite{}.FixedLocations(p.z, p.w, math.Inf(-1), math.Inf(1))
	// ∫ e^{−x²} f(x) dx ≈ Σ w_i f(x_i), so E f(z) = Σ w_i f(√2 s x_i)/√π.
	for i := range p.z {
		p.z[i] *= math.Sqrt2 * s
		p.w[i] /= math.SqrtPi
	}
	return p
}

func (p *flipPopulation) mean(f func(z float64) float64) float64 {
	var m float64
	for i, z := range p.z {
		m += p.w[i] * f(z)
	}
	return m
}

// loss is the expected log-loss of σ(cz) against labels drawn with
// probability q(z): E[q softplus(−cz) + (1 − q) softplus(cz)].
func (p *flipPopulation) loss(c float64, q func(z float64) float64) float64 {
	return p.mean(func(z float64) float64 { return q(z)*softplus(-c*z) + (1-q(z))*softplus(c*z) })
}

// excess returns Δ(eps): the clean test log-loss of the population logistic
// fit to labels flipped at rate eps, minus the Bayes log-loss (c = 1).
func (p *flipPopulation) excess(eps float64) float64 {
	q := func(z float64) float64 { return eps + (1-2*eps)*sigmoid(z) }
	// The fit's derivative in c, E[(σ(cz) − q) z], increases with c and is
	// ≤ 0 at c = 0 and ≥ 0 at c = 1 for eps in [0, ½]: bisect.
	lo, hi := 0.0, 1.0
	for range 100 {
		c := (lo + hi) / 2
		if p.mean(func(z float64) float64 { return (sigmoid(c*z) - q(z)) * z }) < 0 {
			lo = c
		} else {
			hi = c
		}
	}
	return p.loss((lo+hi)/2, sigmoid) - p.loss(1, sigmoid)
}

// flipFor returns the flip rate ε in [0, ½] at which excess(ε) = target
// (excess increases with ε).
func (p *flipPopulation) flipFor(target float64) float64 {
	lo, hi := 0.0, 0.5
	for range 60 {
		e := (lo + hi) / 2
		if p.excess(e) < target {
			lo = e
		} else {
			hi = e
		}
	}
	return (lo + hi) / 2
}

// softplus is log(1 + eᵗ) = −log σ(−t), computed without overflow.
func softplus(t float64) float64 {
	if t > 0 {
		return t + math.Log1p(math.Exp(-t))
	}
	return math.Log1p(math.Exp(t))
}
