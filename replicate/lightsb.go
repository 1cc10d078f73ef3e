package replicate

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/alignlab/alignlab/algos/sb"
	"github.com/alignlab/alignlab/kernel"
)

// The runs of notebooks/05-light-schrodinger-bridge.ipynb, and the bands
// the claims are checked against. Every run is sb.light at the plugin's
// defaults, the authors' benchmark settings (S init 1, weights stored as
// ε·log α, the paper's learning rate for ε), unless a band's source says
// otherwise.
const (
	// lightsbAcceptUVP is the acceptance threshold of the LightSB issue, in
	// %: a fit to a known plan must score below it.
	lightsbAcceptUVP = 1.0
	// lightsbIndepFactor is how many times lower than the independent plan
	// π(y|x) = P₁(y) the fitted plan's exact cBW₂²-UVP must be (means over
	// seeds), in every reduced-benchmark cell where the independent plan
	// scores at least lightsbIndepMinUVP %: the cells at ε ≤ 1 (28–170 %
	// there; at ε = 10 the true plan is itself close to independent, 1.3–
	// 4 %, and 2,000 steps at the paper's 6e-2 leave 0.33 / 0.30 % exact at
	// D = 2 / 16, a factor 6.6–6.9: measured over seeds 1–3).
	lightsbIndepFactor = 10.0
	lightsbIndepMinUVP = 10.0
	// lightsbPaperSteps is the paper's length: 10,000 Adam steps.
	lightsbPaperSteps = 10000
	// lightsbStuckUVP is the exact cBW₂²-UVP (%) a run at D = 16, ε = 0.1
	// must stay below: with S init 0.1, 3 of 5 runs (seeds 1–5, 10,000 steps
	// at 1e-3) ended at 0.23–0.46 %; with S init 1 all 5 ended at
	// 0.083–0.142 %.
	lightsbStuckUVP = 0.22
)

// lightsbPaperFactor bounds our exact cBW₂²-UVP (mean over seeds) over the
// paper's value: within half an order of magnitude, √10. Measured at the
// paper's length over seeds 1–5, the worst cell for D ≤ 16 was 2.1 (D = 16,
// ε = 10: 0.235 % against 0.11 %).
var lightsbPaperFactor = math.Sqrt(10)

// lightsbGaussianEpsilons returns the ε of the Gaussian→Gaussian pairs
// (D = 2): 0.1 and 1, or when quick 0.1, whose plan is the sharpest. Not
// ε = 10: there the true plan is nearly independent (the independent plan
// scores 0.3 %) and 2,000 steps at the paper's 6e-2 leave the last iterate
// noisy, 0.34 / 1.44 / 0.48 % sampled over seeds 1–3.
func lightsbGaussianEpsilons(quick bool) []float64 {
	if quick {
		return []float64{0.1}
	}
	return []float64{0.1, 1}
}

// lightsbSeeds are the seeds of every study: three from seed, or when
// quick seed alone (a smoke test; the band's sources are measured over
// several seeds).
func lightsbSeeds(quick bool, seed int64) []int64 {
	if quick {
		return []int64{seed}
	}
	return []int64{seed, seed + 1, seed + 2}
}

func init() {
	Register(Paper{
		Name:  "lightsb",
		Title: "Light Schrödinger Bridge (Korotin, Gushchin, Burnaev 2023, arXiv:2310.01174) on known EOT plans (Gushchin et al. 2023, arXiv:2306.10161)",
		Run:   runLightSB,
	})
}

// lightsbBenchmarks returns the two benchmark configurations the
// replication runs. Full: the notebook's reduced benchmark
// (sb.ReducedBenchmarkConfig: D ∈ {2, 16} × ε ∈ {0.1, 1, 10}, 2,000 steps)
// and the rows D ≤ 16 of the full-size table (sb.FullBenchmarkStudy: the
// paper's 10,000 steps at the paper's learning rates, 1,000 test points),
// both over lightsbSeeds. Quick: the reduced cell D = 2, ε = 1 and the
// paper-length cell D = 2, ε = 0.1 (the sharpest plan, where the sampled
// metric's floor is lowest), one seed.
func lightsbBenchmarks(quick bool, seed int64) (reduced, paper sb.BenchmarkConfig) {
	seeds := lightsbSeeds(quick, seed)
	reduced = sb.ReducedBenchmarkConfig()
	reduced.Seeds = seeds
	paper = sb.BenchmarkConfig{
		Dims: []int{2, 16}, Epsilons: []float64{0.1, 1, 10}, Steps: lightsbPaperSteps,
		TestPoints: sb.DefaultTestPoints, SamplesPerX: sb.DefaultSamplesPerX, Seeds: seeds,
	}
	if quick {
		reduced.Dims, reduced.Epsilons = []int{2}, []float64{1}
		paper.Dims, paper.Epsilons = []int{2}, []float64{0.1}
	}
	return reduced, paper
}

// runLightSB checks that LightSB at the authors' benchmark settings learns
// known entropic OT plans: on Gaussian pairs below the 1 %
// threshold, on the mixture pairs far better than the independent plan,
// and, at the paper's length, within half an order of magnitude of the
// paper's table (in kind: our pairs are generated) with no stuck run at
// D = 16, ε = 0.1. That our sampled metric cannot match the paper's digit
// for digit, because its own floor on our pairs is above the paper's
// values at ε ≥ 1, is a known difference.
func runLightSB(ctx context.Context, quick bool, seed int64) ([]Claim, []*kernel.Result, error) {
	seeds := lightsbSeeds(quick, seed)
	var results []*kernel.Result
	if !quick {
		// The notebook's demos (2,000 steps at learning rate 0.01, as the
		// notebook runs them) and its known-plan run, for the report's
		// charts; the claims are on the runs below.
		for _, params := range []map[string]any{
			{sb.ParamSource: sb.SourceSwissRoll, sb.ParamEpsilon: 0.1, sb.ParamLearningRate: 0.01},
			{sb.ParamSource: sb.SourceMoons, sb.ParamEpsilon: 0.1, sb.ParamLearningRate: 0.01},
			{sb.ParamSource: sb.SourceEOTMixture, sb.ParamDim: 2, sb.ParamEpsilon: 0.1},
		} {
			params[kernel.ParamSeed] = seed
			res, err := kernel.Run(ctx, "sb.light", kernel.Options{Params: params})
			if err != nil {
				return nil, nil, err
			}
			results = append(results, res)
		}
	}

	summary := kernel.NewJob(ctx, "replicate.lightsb", kernel.Params{kernel.ParamSeed: seed}, nil)

	// Gaussian→Gaussian pairs at the plugin's defaults (K = 50, 2,000
	// steps at the paper's learning rate, 1,000 test points × 1,000
	// samples): the worst run.
	gaussEps := lightsbGaussianEpsilons(quick)
	epsAny := make([]any, len(gaussEps))
	for i, e := range gaussEps {
		epsAny[i] = e
	}
	gst, err := kernel.RunStudy(ctx, kernel.Study{
		Plugin: "sb.light",
		Params: map[string]any{sb.ParamSource: sb.SourceEOTGaussian, sb.ParamDim: 2, sb.ParamPlotSamples: 0, sb.ParamTrajectories: 0},
		Grid:   []kernel.Axis{kernel.Vary(sb.ParamEpsilon, epsAny...)},
		Seeds:  seeds,
	}, nil)
	if err != nil {
		return nil, nil, err
	}
	if failed := gst.Failed(); len(failed) > 0 {
		return nil, nil, fmt.Errorf("replicate: lightsb: Gaussian pair ε = %v seed %d: %s", failed[0].Point[sb.ParamEpsilon], failed[0].Seed, failed[0].Err)
	}
	gauss := summary.AddTable("gaussian", "epsilon", "seed", sb.FinalCBW, sb.FinalCBWExact, sb.FinalCBWFloor, sb.FinalCBWIndep)
	worstGauss, worstGaussCell := math.Inf(-1), ""
	for _, c := range gst.Cells {
		f, eps := c.Result.Final, c.Point[sb.ParamEpsilon]
		gauss.Add(eps, c.Seed, f[sb.FinalCBW], f[sb.FinalCBWExact], f[sb.FinalCBWFloor], f[sb.FinalCBWIndep])
		if w := math.Max(f[sb.FinalCBW], f[sb.FinalCBWExact]); w > worstGauss || math.IsNaN(w) {
			worstGauss, worstGaussCell = w, fmt.Sprintf("ε = %v, seed %d", eps, c.Seed)
		}
	}

	reducedCfg, paperCfg := lightsbBenchmarks(quick, seed)
	reducedRes, err := sb.Benchmark(ctx, reducedCfg)
	if err != nil {
		return nil, nil, err
	}
	paperRes, err := sb.Benchmark(ctx, paperCfg)
	if err != nil {
		return nil, nil, err
	}
	reduced, paper := reducedRes.Tables[sb.BenchmarkTable], paperRes.Tables[sb.BenchmarkTable]
	for _, b := range []struct {
		name, title string
		res         *kernel.Result
	}{
		{"reduced", fmt.Sprintf("reduced benchmark (%d steps): cBW₂²-UVP per cell, mean of %d seed(s)", reducedCfg.Steps, len(seeds)), reducedRes},
		{"paper_length", fmt.Sprintf("paper-length benchmark (%d steps, the paper's learning rates): cBW₂²-UVP per cell, mean of %d seed(s)", paperCfg.Steps, len(seeds)), paperRes},
	} {
		t := b.res.Tables[sb.BenchmarkTable]
		summary.Result.Tables[b.name] = t
		summary.Result.Tables[b.name+"_runs"] = b.res.Tables[sb.BenchmarkRunsTable]
		summary.Result.Tables[b.name+"_bars"] = b.res.Tables[sb.BenchmarkBarsTable]
		dims, eps := t.Floats("dim"), t.Floats("epsilon")
		for i := range dims {
			for _, m := range []string{sb.FinalCBW, sb.FinalCBWExact, sb.FinalCBWFloor} {
				summary.SetFinal(fmt.Sprintf("%s_D%g_eps%g/%s", b.name, dims[i], eps[i], m), t.Floats(m)[i])
			}
		}
		// sb's bar chart, renamed for this result's two benchmarks.
		for _, c := range b.res.Charts {
			if c.ID == sb.BenchmarkChartID {
				c.ID, c.Title, c.Table = b.name, b.title, b.name+"_bars"
				summary.AddChart(c)
			}
		}
	}

	// The fitted plan against the independent one, on the reduced
	// benchmark: the worst ratio of means over the cells where the
	// independent plan scores ≥ lightsbIndepMinUVP %.
	indepRatio, indepCell, indepCells := math.Inf(1), "", 0
	{
		dims, eps := reduced.Floats("dim"), reduced.Floats("epsilon")
		exact, indep := reduced.Floats(sb.FinalCBWExact), reduced.Floats(sb.FinalCBWIndep)
		for i := range dims {
			if !(indep[i] >= lightsbIndepMinUVP) {
				continue
			}
			indepCells++
			if r := indep[i] / exact[i]; r < indepRatio || math.IsNaN(r) {
				indepRatio, indepCell = r, fmt.Sprintf("D = %g, ε = %g", dims[i], eps[i])
			}
		}
		if indepCells == 0 {
			return nil, nil, fmt.Errorf("replicate: lightsb: no benchmark cell has an independent-plan cBW₂²-UVP ≥ %g %%: %w", lightsbIndepMinUVP, errNoRow)
		}
	}
	// At the paper's length: our exact mean over the paper's value in the
	// worst cell; the worst run of D = 16, ε = 0.1 (stuck runs); and, at
	// ε ≥ 1, the metric's floor over the paper's value (the smallest).
	paperRatio, paperCell := math.Inf(-1), ""
	stuck, stuckRuns := math.NaN(), 0
	{
		dims, eps := paper.Floats("dim"), paper.Floats("epsilon")
		exact, pub, worst := paper.Floats(sb.FinalCBWExact), paper.Floats("paper_lightsb"), paper.Floats(sb.FinalCBWExact+"_max")
		for i := range dims {
			if r := exact[i] / pub[i]; r > paperRatio || math.IsNaN(r) {
				paperRatio, paperCell = r, fmt.Sprintf("D = %g, ε = %g", dims[i], eps[i])
			}
			if dims[i] == 16 && eps[i] == 0.1 {
				stuck, stuckRuns = worst[i], int(paper.Floats("runs")[i])
			}
		}
	}
	// The floor at ε ≥ 1 needs no training length: quick reads it from
	// the reduced cell, full from the paper-length cells (1,000 test x).
	floorTable := paper
	if quick {
		floorTable = reduced
	}
	floorRatio, floorCell, floorCells := math.Inf(1), "", 0
	{
		dims, eps := floorTable.Floats("dim"), floorTable.Floats("epsilon")
		floor, pub := floorTable.Floats(sb.FinalCBWFloor), floorTable.Floats("paper_lightsb")
		for i := range dims {
			if eps[i] < 1 {
				continue
			}
			floorCells++
			if r := floor[i] / pub[i]; r < floorRatio || math.IsNaN(r) {
				floorRatio, floorCell = r, fmt.Sprintf("D = %g, ε = %g", dims[i], eps[i])
			}
		}
		if floorCells == 0 {
			return nil, nil, fmt.Errorf("replicate: lightsb: no benchmark cell at ε ≥ 1 to read the metric's floor from: %w", errNoRow)
		}
	}
	summary.SetFinal("gaussian_worst_uvp", worstGauss)
	summary.SetFinal("reduced_min_independent_ratio", indepRatio)
	summary.SetFinal("paper_length_max_ratio_to_paper", paperRatio)
	summary.SetFinal("floor_min_ratio_to_paper", floorRatio)

	seedsText := fmt.Sprintf("seed %d", seeds[0])
	if len(seeds) > 1 {
		seedsText = fmt.Sprintf("mean of seeds %d–%d", seeds[0], seeds[len(seeds)-1])
	}
	claims := []Claim{
		Check("gaussian_uvp", fmt.Sprintf("Gaussian→Gaussian pair, D = 2, plugin defaults: cBW₂²-UVP %%, worst of sampled and exact over ε ∈ %s and %d seed(s) (at %s)", lightsbSet(gaussEps), len(seeds), worstGaussCell),
			worstGauss, Band{Low: math.Inf(-1), High: lightsbAcceptUVP, HighOpen: true},
			fmt.Sprintf("the LightSB issue's acceptance threshold (< %g %%), at the plugin's defaults (K = 50, %d steps at the paper's learning rate, S init 1); measured 0.07–0.17 %% over seeds 1–3 at ε = 0.1 and 1; a single Gaussian plan lies in LightSB's family (diagonal S)",
				lightsbAcceptUVP, sb.DefaultSteps)).
			WithPaperText("no Gaussian pairs; ≤ 0.28 % on mixture pairs up to D = 64"),
		Check("beats_independent_plan", fmt.Sprintf("reduced benchmark (%d steps, %d cell(s) where the independent plan scores ≥ %g %%): independent plan ÷ LightSB, exact cBW₂²-UVP, %s (worst: %s)", reducedCfg.Steps, indepCells, lightsbIndepMinUVP, seedsText, indepCell),
			indepRatio, AtLeast(lightsbIndepFactor),
			fmt.Sprintf("a convention (the issue's): an order of magnitude better than the plan π(y|x) = P₁(y) that ignores x, where that plan scores ≥ %g %% (ε ≤ 1; measured: ratios of 360 and more over seeds 1–3); at ε = 10 the true plan is itself nearly independent (1.3–4 %%) and 2,000 steps reach only a factor 6.6–6.9, so those cells are not held to it",
				lightsbIndepMinUVP)).
			WithPaperText("not stated (our check)"),
		Check("paper_table", fmt.Sprintf("paper-length runs (%d steps, the paper's learning rates, %d cell(s), %s): our exact cBW₂²-UVP ÷ the paper's (worst: %s)", paperCfg.Steps, len(paper.Rows), seedsText, paperCell),
			paperRatio, AtMost(lightsbPaperFactor),
			fmt.Sprintf("the paper's benchmark table (LightSB row, cBW₂²-UVP %% at K = 50, 10k steps: %s), compared in kind: our pairs are drawn by datasets.GenerateEOT from the benchmark's construction, not its published parameters, and our exact value (the model plan's closed-form moments) stands in for the paper's sampled one; within half an order of magnitude (√10), a convention; measured over seeds 1–5: ratios 0.5–2.1, worst D = 16, ε = 10",
				lightsbPaperRows())).
			WithPaperText(lightsbPaperRows()),
		KnownDifference("sampled_floor_above_paper", fmt.Sprintf("the sampled metric's own floor (the true plan scored with 1,000 samples per x) ÷ the paper's value, at ε ≥ 1 (%d cell(s), %s; smallest: %s)", floorCells, seedsText, floorCell),
			floorRatio, AtLeast(1),
			"measured: the floor on our generated pairs, "+lightsbFloors(floorTable)+", is 1.9–3.5× the paper's value in every cell at ε ≥ 1 (seeds 1–5, 10,000 steps, 1,000 test x); it does not depend on the model or the training length",
			"the paper's sampled cBW₂²-UVP at ε ≥ 1 (0.05–0.11 %) is below what a perfect model scores with the same protocol on our generated pairs, so our sampled values (0.13–0.63 % at paper length) cannot match it digit for digit; the pairs differ in shape from the benchmark's (whose parameters are a separate download: sb.light --data pair.json scores them); compare exact moments, or the benchmark's own pairs").
			WithPaperText("0.05–0.11 % (sampled, ε ≥ 1)"),
	}
	if !math.IsNaN(stuck) {
		pub, _ := sb.PaperCBW2UVP(16, 0.1)
		claims = append(claims, Check("no_stuck_runs", fmt.Sprintf("paper-length D = 16, ε = 0.1: worst exact cBW₂²-UVP %% over %d seeds (S init 1)", stuckRuns),
			stuck, Band{Low: math.Inf(-1), High: lightsbStuckUVP, HighOpen: true},
			fmt.Sprintf("measured over seeds 1–5, 10,000 steps at 1e-3: with S init 0.1 (the LightSB class's default, which this lab used before) 3 of 5 runs ended at 0.23–0.46 %% (mean 0.26 ± 0.06 %%); with S init 1 (the authors' benchmark notebook) 0.083–0.142 %% (mean 0.113 ± 0.010 %%); the band is the stuck runs' lower end, %g %%", lightsbStuckUVP)).
			WithPaper(pub, "sampled"))
	}
	return claims, append([]*kernel.Result{summary.Result}, results...), nil
}

// lightsbPaperRows writes the paper's values for D ∈ {2, 16}:
// "D = 2: 0.03/0.05/0.07, D = 16: … for ε = 0.1/1/10".
func lightsbPaperRows() string {
	var rows []string
	for _, d := range []int{2, 16} {
		var cells []string
		for _, eps := range []float64{0.1, 1, 10} {
			v, _ := sb.PaperCBW2UVP(d, eps)
			cells = append(cells, strconv.FormatFloat(v, 'g', -1, 64))
		}
		rows = append(rows, fmt.Sprintf("D = %d: %s", d, strings.Join(cells, "/")))
	}
	return strings.Join(rows, ", ") + " for ε = 0.1/1/10"
}

// lightsbSet writes values as a set: "{0.1, 1, 10}".
func lightsbSet(vs []float64) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// lightsbFloors describes the sampled metric's noise floor (means over
// seeds) in the cells at ε ≥ 1 of the benchmark tables:
// "0.096–0.38 % in this run's cells at ε ≥ 1".
func lightsbFloors(tables ...*kernel.Table) string {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, t := range tables {
		eps, floor := t.Floats("epsilon"), t.Floats(sb.FinalCBWFloor)
		for i := range eps {
			if eps[i] >= 1 {
				lo, hi = math.Min(lo, floor[i]), math.Max(hi, floor[i])
			}
		}
	}
	if lo > hi {
		return "largest at ε ≥ 1 (no such cell in this run)"
	}
	return fmt.Sprintf("%.2g–%.2g %% in this run's cells at ε ≥ 1", lo, hi)
}
