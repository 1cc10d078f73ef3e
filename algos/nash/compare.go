package nash

import (
	"math"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// The methods nash.compare runs, in order; each names the suffix of its
// series ("exploitability/inpo_exact", …) and its row in the summary table.
const (
	MethodINPOExact   = "inpo_exact"
	MethodINPOSampled = "inpo_sampled"
	MethodDNOSampled  = "dno_sampled"
	MethodDNOPrct     = "dno_prct"
	MethodMWU         = "mwu"
	MethodMWUAverage  = "mwu_avg"
	MethodBTRLHF      = "bt_rlhf"
)

// Methods lists the methods of nash.compare in the order of its tables.
var Methods = []string{MethodINPOExact, MethodINPOSampled, MethodDNOSampled, MethodDNOPrct, MethodMWU, MethodMWUAverage, MethodBTRLHF}

// TableSummary is nash.compare's table of final metrics, one row per method.
const TableSummary = "summary"

type comparePlugin struct{}

var _ kernel.Quick = comparePlugin{}

// QuickParams returns small params that still sample: two iterations of
// every method on few pairs and Adam steps.
func (comparePlugin) QuickParams() map[string]any {
	return map[string]any{ParamIterations: 2, ParamPairs: 100, fit.ParamSteps: 10}
}

func (comparePlugin) Info() kernel.Info {
	params := append(gameParams(), iterParam(),
		positive(ParamKappa, 1, "step size of every method: INPO's κ, MWU's η = κ, DNO's η = 1/κ"),
		positive(ParamTau, 0.1, "INPO's τ (and the π*_τ of l1_tau_nash)"),
		positive(ParamBeta, 0.1, "BT-RLHF's β"),
		kernel.IntParam(ParamPairs, 1000, 1, 10_000_000, "oracle-labelled pairs per iteration (sampled methods)"))
	params = append(params, adamParams("sampled methods")...)
	params = append(params,
		kernel.IntParam(ParamCandidates, 4, 2, 64, "responses per prompt of DNO-Prct"),
		kernel.FloatParam(ParamMargin, 0.2, 0, 1, "DNO-Prct's best − worst win-fraction gap"),
		toleranceParam("a method converged when its final l1_tau_nash (INPO) or exploitability (the others) ≤ tolerance"))
	return kernel.Info{
		ID:        IDCompare,
		Precision: "float64 (GoMLX): tabular and log-linear policies on exact games, whose exploitability is computed in closed form.",
		Summary:   "INPO, DNO, DNO-Prct, MWU (last and average iterate) and BT-RLHF on the same preference game",
		Papers:    []kernel.Paper{paperINPO, paperDNO},
		Params:    params,
		Data:      gameData,
		Doc: `Runs on one game, with the same step size κ and the same seed:
  inpo_exact    π_{t+1} ∝ π_t^{1−κτ} π_ref^{κτ} exp(κ P(y ≻ π_t))
  inpo_sampled  the INPO loss on "pairs" oracle-labelled pairs per iteration, GoMLX + Adam, tabular
  dno_sampled   DNO's soft-label loss with η = 1/κ (population target π_t·exp(κ r_t)), tabular
  dno_prct      DNO-Prct: best-vs-worst of "candidates" samples, DPO (β = 1/κ) against π_t
  mwu, mwu_avg  exact multiplicative weights π_{t+1} ∝ π_t exp(κ P(y ≻ π_t)): last, average iterate
                (exact DNO is this same update)
  bt_rlhf       BT scores fitted to pairs from π_ref, π = π_ref·exp(r/β): one fit, drawn as a
                horizontal line
Series <metric>/<method> for exploitability, l1_nash, l1_tau_nash, winrate_ref, winrate_prev.
Tables: summary (method, exploitability, l1_nash, l1_tau_nash, winrate_ref), policy (method,
prompt, action, prob), policies (first prompt: action, policy, prob, for the bar chart),
preference (heatmap) and solutions (ref, Nash, π*_τ). The claims it checks (INPO paper): INPO's
last iterate converges to π*_τ; MWU's last iterate cycles while its average converges; BT-based
RLHF stays exploitable. With the defaults it runs in a few seconds.
Finals converged/<method> (1 or 0): INPO's when ‖π_T − π*_τ‖₁ ≤ tolerance, the others' when
their exploitability ≤ tolerance (bt_rlhf has none: it is one closed-form fit); a note lists
them, and another checks κ against INPO's stability bound 2τ/(τ² + μ²) (see nash.inpo).`,
	}
}

func (comparePlugin) Run(job *kernel.Job) error {
	g, err := loadGame(job, job.Rand())
	if err != nil {
		return err
	}
	p := job.Params
	iters := p.Int(ParamIterations)
	kappa, tau, beta := p.Float(ParamKappa), p.Float(ParamTau), p.Float(ParamBeta)
	learn := learnConfig{Policy: PolicyTabular, Pairs: p.Int(ParamPairs), Config: fit.Read(p)}
	if err := (inpoConfig{Kappa: kappa, Tau: tau, Learn: learn}).check(); err != nil {
		return err
	}
	ev, err := newEvaluator(g, tau)
	if err != nil {
		return err
	}
	job.SetTotal(int64(iters))
	addGameTables(job, ev)
	final := map[string][][]float64{}

	if final[MethodINPOExact], _, err = runINPO(job, g, ev, inpoConfig{Iterations: iters, Kappa: kappa, Tau: tau, Mode: ModeExact, Learn: learn}, "/"+MethodINPOExact); err != nil {
		return err
	}
	if final[MethodINPOSampled], _, err = runINPO(job, g, ev, inpoConfig{Iterations: iters, Kappa: kappa, Tau: tau, Mode: ModeSampled, Learn: learn}, "/"+MethodINPOSampled); err != nil {
		return err
	}
	if final[MethodDNOSampled], _, err = runDNO(job, g, ev, dnoConfig{Iterations: iters, Eta: 1 / kappa, Mode: ModeSampled, Variant: VariantDNO, Learn: learn}, "/"+MethodDNOSampled); err != nil {
		return err
	}
	if final[MethodDNOPrct], _, err = runDNO(job, g, ev, dnoConfig{Iterations: iters, Eta: 1 / kappa, Mode: ModeSampled, Variant: VariantPrct,
		Candidates: p.Int(ParamCandidates), Margin: p.Float(ParamMargin), Learn: learn}, "/"+MethodDNOPrct); err != nil {
		return err
	}
	if final[MethodMWU], final[MethodMWUAverage], err = runMWU(job, g, ev, mwuConfig{Iterations: iters, Eta: kappa}, "/"+MethodMWU); err != nil {
		return err
	}
	// runMWU names the average's series <metric>_avg/mwu; rename them to
	// <metric>/mwu_avg so that every method's series read alike.
	for _, m := range []string{MetricExploitability, MetricL1Nash, MetricL1TauNash, MetricWinRateRef, MetricWinRatePrev} {
		if s, ok := job.Result.Series[m+"_avg/"+MethodMWU]; ok {
			job.Result.Series[m+"/"+MethodMWUAverage] = s
			delete(job.Result.Series, m+"_avg/"+MethodMWU)
		}
	}
	bt, err := btOnce(g, ev, beta)
	if err != nil {
		return err
	}
	final[MethodBTRLHF] = bt
	btm := ev.eval(bt, nil)
	for t := 0; t <= iters; t++ {
		if err := record(job, t, "/"+MethodBTRLHF, metrics{Exploitability: btm.Exploitability, L1Nash: btm.L1Nash,
			L1TauNash: btm.L1TauNash, WinRateRef: btm.WinRateRef, WinRatePrev: math.NaN()}); err != nil {
			return err
		}
	}

	sum := job.AddTable(TableSummary, "method", MetricExploitability, MetricL1Nash, MetricL1TauNash, MetricWinRateRef)
	pol := job.AddTable(TablePolicy, "method", "prompt", "action", "prob")
	bars := job.AddTable(TablePolicies, "action", "policy", "prob")
	for i, a := range g.Actions {
		bars.Add(a, "nash", ev.nash[0][i])
		bars.Add(a, "tau_nash", ev.tauNash[0][i])
	}
	var series []string
	tol := p.Float(ParamTolerance)
	converged := map[string]bool{}
	for _, m := range Methods {
		pi := final[m]
		mt := ev.eval(pi, nil)
		sum.Add(m, mt.Exploitability, mt.L1Nash, mt.L1TauNash, mt.WinRateRef)
		setFinal(job, "/"+m, mt)
		switch m {
		case MethodINPOExact, MethodINPOSampled:
			converged[m] = mt.L1TauNash <= tol
		case MethodBTRLHF:
		default:
			converged[m] = mt.Exploitability <= tol
		}
		if ok, has := converged[m]; has {
			job.SetFinal(MetricConverged+"/"+m, boolMetric(ok))
		}
		for x, pr := range g.Prompts {
			for i, a := range g.Actions {
				pol.Add(m, pr.Name, a, pi[x][i])
			}
		}
		for i, a := range g.Actions {
			bars.Add(a, m, pi[0][i])
		}
		series = append(series, MetricExploitability+"/"+m)
	}
	st, err := inpoStability(ev, kappa, tau)
	if err != nil {
		return err
	}
	job.Note("%s", stabilityNote(st, kappa, tau))
	job.Note("tolerance %g: %s", tol, convergedList(converged, Methods))
	job.AddChart(kernel.Chart{Kind: "line", ID: "exploitability", Title: "exploitability max_y P(y ≻ π_t) − ½",
		Series: series, XLabel: "iteration", YLabel: "exploitability"})
	job.AddChart(kernel.Chart{Kind: "line", ID: "l1_tau_nash", Title: "‖π_t − π*_τ‖₁",
		Series: []string{MetricL1TauNash + "/" + MethodINPOExact, MetricL1TauNash + "/" + MethodINPOSampled,
			MetricL1TauNash + "/" + MethodMWU, MetricL1TauNash + "/" + MethodMWUAverage},
		XLabel: "iteration", YLabel: "L1"})
	job.AddChart(kernel.Chart{Kind: "bar", ID: "policies", Title: "final policies, prompt " + g.Prompts[0].Name,
		Table: TablePolicies, X: "action", Value: "prob", Group: "policy", YLabel: "probability"})
	return nil
}

// btOnce is one-shot BT-RLHF with population pair weights from π_ref.
func btOnce(g *datasets.Game, ev *evaluator, beta float64) ([][]float64, error) {
	k := g.K()
	out := make([][]float64, len(g.Prompts))
	for x, pr := range g.Prompts {
		wins := make([][]float64, k)
		for i := range wins {
			wins[i] = make([]float64, k)
			for j := range k {
				wins[i][j] = ev.ref[x][i] * ev.ref[x][j] * pr.P[i][j]
			}
		}
		s, err := FitBT(wins)
		if err != nil {
			return nil, err
		}
		out[x] = BTPolicy(s, ev.ref[x], beta)
	}
	return out, nil
}
