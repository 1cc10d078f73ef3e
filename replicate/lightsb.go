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
// the claims are checked against.
const (
	// lightsbAcceptUVP is the acceptance threshold of the LightSB issue, in
	// %: a fit to a known plan must score below it.
	lightsbAcceptUVP = 1.0
	// lightsbIndepFactor is how many times lower than the independent plan
	// π(y|x) = P₁(y) the fitted plan's cBW₂²-UVP must be, in every cell
	// where the independent plan scores at least lightsbIndepMinUVP %.
	lightsbIndepFactor = 10.0
	lightsbIndepMinUVP = 1.0
	// lightsbPaperSteps and lightsbPaperLR are the paper-length runs: the
	// paper's 10,000 Adam steps at the learning rate of the notebook's
	// full-size table (0.003 for every ε; the paper's 6e-2 at ε = 10 is too
	// large on our pairs, the notebook found).
	lightsbPaperSteps = 10000
	lightsbPaperLR    = 0.003
)

// lightsbHardDim and lightsbHardEps name the benchmark cell whose paper
// value the notebook reports as not reproduced within 10,000 steps.
const (
	lightsbHardDim = 16
	lightsbHardEps = 0.1
)

// lightsbPaperFactor bounds our exact cBW₂²-UVP over the paper's value:
// within half an order of magnitude, √10.
var lightsbPaperFactor = math.Sqrt(10)

// lightsbGaussianEpsilons returns the ε of the Gaussian→Gaussian pairs
// (D = 2): the three of the paper's benchmark, or when quick the smallest,
// whose plan is the sharpest.
func lightsbGaussianEpsilons(quick bool) []float64 {
	if quick {
		return []float64{0.1}
	}
	return []float64{0.1, 1, 10}
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
// and the rows D ≤ 16 of its full-size table (the paper's 10,000 steps,
// 1,000 test points). Quick: the reduced cells at ε = 10, where the
// independent plan comes closest to the true one (a few % at most), and one
// paper-length cell, D = 2, ε = 0.1 (the sharpest plan, where the sampled
// metric's floor is lowest).
//
// sb.Benchmark reads Seed 0 as its default seed 1, so replicating with
// seed 0 runs the benchmarks with seed 1.
func lightsbBenchmarks(quick bool, seed int64) (reduced, paper sb.BenchmarkConfig) {
	reduced = sb.ReducedBenchmarkConfig()
	reduced.Seed = seed
	paper = sb.BenchmarkConfig{
		Dims: []int{2, 16}, Epsilons: []float64{0.1, 1, 10}, Steps: lightsbPaperSteps,
		LearningRate: func(float64) float64 { return lightsbPaperLR },
		TestPoints:   sb.DefaultTestPoints, SamplesPerX: sb.DefaultSamplesPerX, Seed: seed,
	}
	if quick {
		reduced.Epsilons = []float64{10}
		paper.Dims, paper.Epsilons = []int{2}, []float64{0.1}
	}
	return reduced, paper
}

// runLightSB checks that LightSB learns known entropic OT plans: on
// Gaussian pairs below the 1 % threshold, on the benchmark's
// mixture pairs far better than the independent plan, and, at the paper's
// length, within half an order of magnitude of the paper's table in every
// cell but D = 16, ε = 0.1, which the notebook reports as not reproduced
// and which is held to the 1 % threshold instead.
func runLightSB(ctx context.Context, quick bool, seed int64) ([]Claim, []*kernel.Result, error) {
	light := func(params map[string]any) (*kernel.Result, error) {
		params[kernel.ParamSeed] = seed
		return kernel.Run(ctx, "sb.light", kernel.Options{Params: params})
	}
	var results []*kernel.Result
	if !quick {
		// The notebook's demos and its known-plan run, for the report's
		// charts; the claims are on the runs below.
		for _, params := range []map[string]any{
			{sb.ParamSource: sb.SourceSwissRoll, sb.ParamEpsilon: 0.1},
			{sb.ParamSource: sb.SourceMoons, sb.ParamEpsilon: 0.1},
			{sb.ParamSource: sb.SourceEOTMixture, sb.ParamDim: 2, sb.ParamEpsilon: 0.1},
		} {
			res, err := light(params)
			if err != nil {
				return nil, nil, err
			}
			results = append(results, res)
		}
	}

	summary := kernel.NewJob(ctx, "replicate.lightsb", kernel.Params{kernel.ParamSeed: seed}, nil)
	gauss := summary.AddTable("gaussian", "epsilon", sb.FinalCBW, sb.FinalCBWExact, sb.FinalCBWFloor, sb.FinalCBWIndep)
	worstGauss, worstGaussEps := math.Inf(-1), 0.0
	gaussEps := lightsbGaussianEpsilons(quick)
	for _, eps := range gaussEps {
		// The plugin's defaults: K = 50, 2,000 steps at learning rate 0.01,
		// 1,000 test points × 1,000 samples.
		res, err := light(map[string]any{sb.ParamSource: sb.SourceEOTGaussian, sb.ParamDim: 2, sb.ParamEpsilon: eps,
			sb.ParamPlotSamples: 0, sb.ParamTrajectories: 0})
		if err != nil {
			return nil, nil, err
		}
		f := res.Final
		gauss.Add(eps, f[sb.FinalCBW], f[sb.FinalCBWExact], f[sb.FinalCBWFloor], f[sb.FinalCBWIndep])
		summary.SetFinal(fmt.Sprintf("gaussian_eps%g/%s", eps, sb.FinalCBW), f[sb.FinalCBW])
		summary.SetFinal(fmt.Sprintf("gaussian_eps%g/%s", eps, sb.FinalCBWExact), f[sb.FinalCBWExact])
		if w := math.Max(f[sb.FinalCBW], f[sb.FinalCBWExact]); w > worstGauss || math.IsNaN(w) {
			worstGauss, worstGaussEps = w, eps
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
		{"reduced", fmt.Sprintf("reduced benchmark (%d steps): cBW₂²-UVP per cell", reducedCfg.Steps), reducedRes},
		{"paper_length", fmt.Sprintf("paper-length benchmark (%d steps, lr %g): cBW₂²-UVP per cell", paperCfg.Steps, lightsbPaperLR), paperRes},
	} {
		t := b.res.Tables[sb.BenchmarkTable]
		summary.Result.Tables[b.name] = t
		summary.Result.Tables[b.name+"_bars"] = b.res.Tables[sb.BenchmarkBarsTable]
		dims, eps := t.Floats("dim"), t.Floats("epsilon")
		for i := range dims {
			summary.SetFinal(fmt.Sprintf("%s_D%g_eps%g/%s", b.name, dims[i], eps[i], sb.FinalCBWExact), t.Floats(sb.FinalCBWExact)[i])
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
	// benchmark: the worst ratio over the cells where the independent plan
	// scores ≥ lightsbIndepMinUVP %.
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
	// Ours over the paper's, at the paper's length: the worst cell, but for
	// the one the notebook reports as not reproduced (lightsbHardDim,
	// lightsbHardEps), which is checked on its own.
	paperRatio, paperCell, paperCells := math.Inf(-1), "", 0
	hard := math.NaN()
	{
		dims, eps := paper.Floats("dim"), paper.Floats("epsilon")
		exact, pub := paper.Floats(sb.FinalCBWExact), paper.Floats("paper_lightsb")
		for i := range dims {
			if dims[i] == lightsbHardDim && eps[i] == lightsbHardEps {
				hard = exact[i]
				continue
			}
			paperCells++
			if r := exact[i] / pub[i]; r > paperRatio || math.IsNaN(r) {
				paperRatio, paperCell = r, fmt.Sprintf("D = %g, ε = %g", dims[i], eps[i])
			}
		}
	}
	summary.SetFinal("gaussian_worst_uvp", worstGauss)
	summary.SetFinal("reduced_min_independent_ratio", indepRatio)
	summary.SetFinal("paper_length_max_ratio_to_paper", paperRatio)

	floorCaveat := "exact = cBW₂²-UVP from the model plan's closed-form conditional moments instead of a Gaussian fitted to 1,000 samples per x: the sampled metric has a noise floor of its own (what samples of the true plan score), " +
		lightsbFloors(reduced, paper) + ", comparable to or above the paper's values there, so the sampled value measures the metric's noise more than the model"
	hardNote := ""
	if !math.IsNaN(hard) {
		hardNote = fmt.Sprintf(", in every cell but D = %d, ε = %g (the next claim)", lightsbHardDim, lightsbHardEps)
	}
	claims := []Claim{
		Check("gaussian_uvp", fmt.Sprintf("Gaussian→Gaussian pair, D = 2: cBW₂²-UVP %%, worst of sampled and exact over ε ∈ %s (at ε = %g)", lightsbSet(gaussEps), worstGaussEps),
			worstGauss, Band{Low: math.Inf(-1), High: lightsbAcceptUVP, HighOpen: true},
			fmt.Sprintf("the LightSB issue's acceptance threshold (< %g %%), at the plugin's defaults (K = 50, %d steps); the paper reports ≤ 0.3 %% on the benchmark's mixture pairs up to D = 64 with 10k steps, and a single Gaussian plan lies in LightSB's family (diagonal S)",
				lightsbAcceptUVP, sb.DefaultSteps)),
		Check("beats_independent_plan", fmt.Sprintf("reduced benchmark (%d steps, %d of %d cells): independent plan ÷ LightSB, exact cBW₂²-UVP (worst: %s)", reducedCfg.Steps, indepCells, len(reduced.Rows), indepCell),
			indepRatio, AtLeast(lightsbIndepFactor),
			fmt.Sprintf("a convention (the issue's): an order of magnitude better than the plan π(y|x) = P₁(y) that ignores x, in every cell where that plan scores ≥ %g %%; %s", lightsbIndepMinUVP, floorCaveat)),
		Check("paper_table", fmt.Sprintf("paper-length runs (%d steps, %d cell(s)): our exact cBW₂²-UVP ÷ the paper's (worst: %s)", paperCfg.Steps, paperCells, paperCell),
			paperRatio, AtMost(lightsbPaperFactor),
			fmt.Sprintf("the paper's benchmark table (LightSB row, cBW₂²-UVP %% at K = 50, 10k steps: %s), compared at the paper's length only%s; within half an order of magnitude (√10), a convention: our pairs are drawn by datasets.GenerateEOT from the benchmark's construction, not its downloaded parameters, so the numbers compare in kind, not digit for digit; learning rate %g for every ε, as in the notebook's full-size table; %s",
				lightsbPaperRows(), hardNote, lightsbPaperLR, floorCaveat)),
	}
	if !math.IsNaN(hard) {
		pub, _ := sb.PaperCBW2UVP(lightsbHardDim, lightsbHardEps)
		claims = append(claims, Check("paper_table_hard_cell",
			fmt.Sprintf("[paper's %g %% NOT reproduced on every pair] paper-length run D = %d, ε = %g: exact cBW₂²-UVP %%", pub, lightsbHardDim, lightsbHardEps),
			hard, Band{Low: math.Inf(-1), High: lightsbAcceptUVP, HighOpen: true},
			fmt.Sprintf("NOT the paper's value: on the pairs we draw, 10k steps reach the paper's %g %% for some pairs and not others (exact 0.07–0.48 %% over seeds 1–5, up to 6× the paper's; 0.34 %% after 40k steps for seed 3, so not only a matter of length), as the notebook reports; checked against the LightSB issue's acceptance threshold (< %g %%) instead, so that a regression shows",
				pub, lightsbAcceptUVP)))
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

// lightsbFloors describes the sampled metric's noise floor in the cells at
// ε ≥ 1 of the benchmark tables: "0.11–0.36 % in this run's cells at ε ≥ 1".
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
