package nash

import (
	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

func init() {
	kernel.Register(inpoPlugin{})
	kernel.Register(dnoPlugin{})
	kernel.Register(mwuPlugin{})
	kernel.Register(btPlugin{})
	kernel.Register(comparePlugin{})
}

// The plugin IDs.
const (
	IDINPO    = "nash.inpo"
	IDDNO     = "nash.dno"
	IDMWU     = "nash.mwu"
	IDBTRLHF  = "nash.bt_rlhf"
	IDCompare = "nash.compare"
)

var (
	paperINPO = kernel.Paper{
		Title:   "Iterative Nash Policy Optimization: Aligning LLMs with General Preferences via No-Regret Learning",
		Authors: "Zhang, Yu, Peng, Song, Tian, Huo, Jiang, Mi, Yu", Year: 2024, ArXiv: "2407.00617",
	}
	paperDNO = kernel.Paper{
		Title:   "Direct Nash Optimization: Teaching Language Models to Self-Improve with General Preferences",
		Authors: "Rosset, Cheng, Mitra, Santacroce, Awadallah, Xie", Year: 2024, ArXiv: "2404.03715",
	}
)

const metricsDoc = `
Reports, per iteration t (t = 0 is the initial policy) and as final values, means over prompts:
  exploitability  e(π) = max_y P(y ≻ π) − ½ (0 at a Nash equilibrium; duality gap 2e)
  l1_nash         ‖π − π_Nash‖₁, π_Nash the LP equilibrium of the game P − ½
  winrate_ref     P(π_t ≻ π_ref);  winrate_prev  P(π_t ≻ π_{t−1})
Tables: policy (prompt, action, prob: the final policy), policies (first prompt: final, ref,
nash[, tau_nash] as bars), preference (row, col, prob: the first prompt's matrix, a heatmap),
solutions (prompt, action, ref, nash[, tau_nash]) and iterates (prompt, action, final, average:
every prompt's final policy and the average (π_0 + … + π_T)/(T+1) of its iterates).
Without --data it generates the game named by "game" (default: cyclic, K = 5, c = 3,
spread 1: a Nash on 3 actions that the top BT item is far from). With --data the game params do
not apply (left out of the result's params); the file's actions, prompts and features are
recorded beside its hash.`

type inpoPlugin struct{}

var _ kernel.Quick = inpoPlugin{}

// QuickParams returns small params that still sample: two sampled
// iterations on few pairs and Adam steps.
func (inpoPlugin) QuickParams() map[string]any {
	return map[string]any{ParamMode: ModeSampled, ParamIterations: 2, ParamPairs: 100, fit.ParamSteps: 10}
}

func (inpoPlugin) Info() kernel.Info {
	params := append(gameParams(), iterParam(),
		positive(ParamKappa, 1, "step size κ of the update (the paper's 1/η)"),
		positive(ParamTau, 0.1, "KL regularisation τ towards π_ref; need κτ ≤ 1"),
		toleranceParam("converged when ‖π_T − π*_τ‖₁ ≤ tolerance"))
	params = append(params, learnParams()...)
	return kernel.Info{
		ID:        IDINPO,
		Precision: "float64 (GoMLX): tabular and log-linear policies on exact games, whose exploitability is computed in closed form.",
		Summary:   "INPO: no-regret self-play towards the KL-regularised Nash equilibrium of a general preference game",
		Papers:    []kernel.Paper{paperINPO},
		Params:    params,
		Data:      gameData,
		Doc: `Online mirror descent on the game P(y ≻ y') with KL regularisation τ to π_ref:
  π_{t+1}(y) ∝ π_t(y)^{1−κτ} π_ref(y)^{κτ} exp(κ P(y ≻ π_t))            (mode=exact)
whose fixed point is π*_τ ∝ π_ref·exp(P π*_τ / τ). mode=sampled draws "pairs" pairs from π_t,
labels them with the oracle (Bernoulli, seeded), and minimises with GoMLX + Adam ("steps" steps)
  L_t(π) = E[(h_t − κ/2)²],  h_t = log π(y_w)/π(y_l) − κτ log π_ref(y_w)/π_ref(y_l)
                                    − (1−κτ) log π_t(y_w)/π_t(y_l)
over a tabular or log-linear policy; its population minimiser over a tabular policy is the
exact update. The paper's claim: the last iterate converges to π*_τ (here for κ = 1, τ = 0.1:
L1 < 1e-3 within 100 iterations).
Step size: linearised at π*_τ, the exact update multiplies the log-policy error by at most
  ρ = |1 − κτ + iκμ| = √((1 − κτ)² + κ²μ²)   per iteration,
μ the spectral radius of (P − ½)·diag(π*_τ) (imaginary eigenvalues), computed from the game. So
it converges near π*_τ only if κ < 2τ/(τ² + μ²) (the stability bound), fastest at
κ = τ/(τ² + μ²); a small τ needs a small κ and many iterations (cyclic game, τ = 0.01: bound
≈ 0.40, so the default κ = 1 never settles). Every run notes κ against the bound.
` + metricsDoc + `
Also l1_tau_nash (‖π − π*_τ‖₁) and, in sampled mode, loss (the INPO loss at the last Adam step).
Finals converged (1 when the final l1_tau_nash ≤ tolerance, else 0, with a note naming the
knob: kappa above the bound, iterations below it, pairs in sampled mode), kappa_max (the bound)
and contraction_rate (ρ; both for the worst prompt).`,
		Model: modelDoc(", π_ref and τ", " and l1_tau_nash (at the param tau)"),
		Init:  initDoc,
	}
}

func (inpoPlugin) Run(job *kernel.Job) error {
	g, err := loadGame(job, job.Rand())
	if err != nil {
		return err
	}
	c := inpoConfig{
		Iterations: job.Params.Int(ParamIterations),
		Kappa:      job.Params.Float(ParamKappa), Tau: job.Params.Float(ParamTau),
		Mode: job.Params.String(ParamMode), Learn: learnConfigOf(job.Params),
	}
	if c.Start, err = startPolicy(job, IDINPO, g); err != nil {
		return err
	}
	if err := c.check(); err != nil {
		return err
	}
	var last, avg [][]float64
	ev, err := selfPlay(job, g, c.Tau, c.Iterations, func(ev *evaluator) (pi [][]float64, err error) {
		last, avg, err = runINPO(job, g, ev, c, "")
		return last, err
	})
	if err != nil {
		return err
	}
	if err := inpoConvergence(job, ev, last, c, job.Params.Float(ParamTolerance)); err != nil {
		return err
	}
	job.AddChart(kernel.Chart{Kind: "line", ID: "exploitability", Title: "INPO: exploitability and distance to π*_τ",
		Series: []string{MetricExploitability, MetricL1TauNash}, XLabel: "iteration"})
	finishModel(job, IDINPO, ev, last, avg, c.Tau)
	return nil
}

type dnoPlugin struct{}

var _ kernel.Quick = dnoPlugin{}

// QuickParams returns small params that still sample: two sampled
// DNO-Prct iterations on few candidate sets and Adam steps.
func (dnoPlugin) QuickParams() map[string]any {
	return map[string]any{ParamMode: ModeSampled, ParamVariant: VariantPrct, ParamIterations: 2, ParamPairs: 100, fit.ParamSteps: 10}
}

func (dnoPlugin) Info() kernel.Info {
	params := append(gameParams(), iterParam(),
		positive(ParamEta, 1, "η: target π_t·exp(r_t/η) (β of DPO for prct)"),
		kernel.ChoiceParam(ParamVariant, VariantDNO, []string{VariantDNO, VariantPrct}, "dno (soft labels from r_t) or prct (best-vs-worst DPO)"),
		kernel.IntParam(ParamCandidates, 4, 2, 64, "responses sampled per prompt (prct)"),
		kernel.FloatParam(ParamMargin, 0.2, 0, 1, "min. win-fraction gap best − worst (prct)"),
		toleranceParam("converged when the last iterate's exploitability ≤ tolerance"))
	params = append(params, learnParams()...)
	return kernel.Info{
		ID:        IDDNO,
		Precision: "float64 (GoMLX): tabular and log-linear policies on exact games, whose exploitability is computed in closed form.",
		Summary:   "DNO: batched self-improvement against r_t(y) = P(y ≻ π_t), and DNO-Prct",
		Papers:    []kernel.Paper{paperDNO},
		Params:    params,
		Data:      gameData,
		Doc: `With r_t(y) = P(y ≻ π_t) and Δ = log(π/π_t)(y1) − log(π/π_t)(y2), y1, y2 ~ π_t, maximise
  E[σ(r_t(y1) − r_t(y2)) log σ(ηΔ) + σ(r_t(y2) − r_t(y1)) log σ(−ηΔ)]
whose population optimum is π_{t+1} ∝ π_t·exp(r_t/η) (mode=exact): multiplicative weights with
step 1/η, no pull towards π_ref, so on an intransitive game the last iterate cycles like
nash.mwu. mode=sampled estimates r_t(y) by y's win fraction in the iteration's "pairs"
comparisons (each opponent is a draw from π_t) and minimises the cross-entropy with GoMLX + Adam.
variant=prct (DNO-Prct): "pairs" times draw "candidates" responses from π_t, compare every two
once, keep (best, worst) by win fraction if the gap is ≥ margin, and minimise the DPO loss
−log σ(η[log π/π_t(y_w) − log π/π_t(y_l)]) against π_t (sampled only).
` + metricsDoc + `
In sampled mode also loss (at the last Adam step). Final converged: 1 when the last iterate's
exploitability ≤ tolerance, else 0 with a note (the last iterate of an unregularised update
cycles around a mixed equilibrium: nash.inpo or nash.mwu's average are the remedies, not more
iterations).`,
		Model: modelDoc("", ""),
		Init:  initDoc,
	}
}

func (dnoPlugin) Run(job *kernel.Job) error {
	g, err := loadGame(job, job.Rand())
	if err != nil {
		return err
	}
	c := dnoConfig{
		Iterations: job.Params.Int(ParamIterations), Eta: job.Params.Float(ParamEta),
		Mode: job.Params.String(ParamMode), Variant: job.Params.String(ParamVariant),
		Candidates: job.Params.Int(ParamCandidates), Margin: job.Params.Float(ParamMargin),
		Learn: learnConfigOf(job.Params),
	}
	if c.Start, err = startPolicy(job, IDDNO, g); err != nil {
		return err
	}
	if err := c.check(); err != nil {
		return err
	}
	var last, avg [][]float64
	ev, err := selfPlay(job, g, 0, c.Iterations, func(ev *evaluator) (pi [][]float64, err error) {
		last, avg, err = runDNO(job, g, ev, c, "")
		return last, err
	})
	if err != nil {
		return err
	}
	dnoConvergence(job, ev, last, c.Iterations, job.Params.Float(ParamTolerance))
	job.AddChart(kernel.Chart{Kind: "line", ID: "exploitability", Title: "DNO: exploitability",
		Series: []string{MetricExploitability}, XLabel: "iteration"})
	finishModel(job, IDDNO, ev, last, avg, 0)
	return nil
}

type mwuPlugin struct{}

var _ kernel.Quick = mwuPlugin{}

// QuickParams returns 50 exact iterations (MWU draws nothing).
func (mwuPlugin) QuickParams() map[string]any {
	return map[string]any{ParamIterations: 50}
}

func (mwuPlugin) Info() kernel.Info {
	params := append(gameParams(), iterParam(), positive(ParamEta, 1, "step size η"),
		toleranceParam("converged when the average iterate's exploitability ≤ tolerance"))
	return kernel.Info{
		ID:        IDMWU,
		Precision: "float64 (GoMLX): tabular and log-linear policies on exact games, whose exploitability is computed in closed form.",
		Summary:   "Multiplicative weights self-play (τ = 0): the last iterate cycles, the average converges",
		Papers:    []kernel.Paper{paperINPO, paperDNO},
		Params:    params,
		Data:      gameData,
		Doc: `Exact self-play Hedge on the symmetric game:
  π_{t+1}(y) ∝ π_t(y) · exp(η P(y ≻ π_t))            (INPO with τ = 0; DNO with η_DNO = 1/η)
The exploitability of the average iterate π̄_t = (π_0 + … + π_t)/(t+1) is the average regret,
≤ log K/(η(t+1)) + η/8; the last iterate spirals away from an interior equilibrium.
` + metricsDoc + `
Each metric also with suffix _avg for the average iterate (exploitability_avg, l1_nash_avg, …);
the policy table holds the last iterate, the policies table adds the average ("average").
Final converged: 1 when the average iterate's exploitability ≤ tolerance, else 0 with a note
giving the regret bound and the η that minimises it for the run's T.`,
		Model: modelDoc("", ""),
		Init:  initDoc,
	}
}

func (mwuPlugin) Run(job *kernel.Job) error {
	g, err := loadGame(job, job.Rand())
	if err != nil {
		return err
	}
	c := mwuConfig{Iterations: job.Params.Int(ParamIterations), Eta: job.Params.Float(ParamEta)}
	if c.Start, err = startPolicy(job, IDMWU, g); err != nil {
		return err
	}
	var last, avg [][]float64
	ev, err := selfPlay(job, g, 0, c.Iterations, func(ev *evaluator) (_ [][]float64, err error) {
		last, avg, err = runMWU(job, g, ev, c, "")
		return last, err
	})
	if err != nil {
		return err
	}
	setFinal(job, "_avg", ev.eval(avg, nil))
	mwuConvergence(job, ev, avg, c, job.Params.Float(ParamTolerance))
	pt := job.Result.Tables[TablePolicies]
	for i, a := range g.Actions {
		pt.Add(a, "average", avg[0][i])
	}
	job.AddChart(kernel.Chart{Kind: "line", ID: "exploitability", Title: "MWU: last vs. average iterate",
		Series: []string{MetricExploitability, MetricExploitability + "_avg"}, XLabel: "iteration"})
	finishModel(job, IDMWU, ev, last, avg, 0)
	return nil
}

type btPlugin struct{}

var _ kernel.Quick = btPlugin{}

// QuickParams returns small params that still sample: two rounds on
// sampled comparisons.
func (btPlugin) QuickParams() map[string]any {
	return map[string]any{ParamMode: ModeSampled, ParamPairs: 3000, ParamIterations: 2}
}

func (btPlugin) Info() kernel.Info {
	params := append(gameParams(),
		kernel.IntParam(ParamIterations, 1, 1, 100000, "rounds; round t fits BT on pairs from π_{t−1} (1 = classic RLHF)"),
		positive(ParamBeta, 0.1, "KL coefficient β"),
		kernel.ChoiceParam(ParamMode, ModeExact, []string{ModeExact, ModeSampled}, "population pair weights, or sampled comparisons"),
		kernel.IntParam(ParamPairs, 1000, 1, 10_000_000, "oracle-labelled pairs per round (sampled)"))
	return kernel.Info{
		ID:        IDBTRLHF,
		Precision: "float64 (GoMLX): tabular and log-linear policies on exact games, whose exploitability is computed in closed form.",
		Summary:   "RLHF under Bradley–Terry on a general preference game: BT reward fit + KL-regularised optimum",
		Papers:    []kernel.Paper{paperINPO},
		Params:    params,
		Data:      gameData,
		Doc: `What reward-based RLHF converges to when preferences are not BT: fit scores r by maximum
likelihood of P(i ≻ j) = σ(r_i − r_j) to comparisons of pairs drawn from π_ref (population
weights π_ref(i)π_ref(j)P_ij in mode=exact, Bernoulli samples in mode=sampled; Hunter's MM in
float64), then take the optimum of E_π[r] − β KL(π ‖ π_ref):
  π(y) ∝ π_ref(y) · exp(r(y)/β).
With iterations > 1, round t refits on pairs drawn from π_{t−1} (online iterative RLHF).
On an intransitive game the BT scores order the actions by average win rate, and π
concentrates on the top one, which a cyclic opponent beats: it stays exploitable.
` + metricsDoc + `
Table scores (prompt, action, bt_score) holds the last fit.`,
		Model: modelDoc(", π_ref and β", ""),
	}
}

func (btPlugin) Run(job *kernel.Job) error {
	g, err := loadGame(job, job.Rand())
	if err != nil {
		return err
	}
	c := btConfig{Iterations: job.Params.Int(ParamIterations), Beta: job.Params.Float(ParamBeta),
		Mode: job.Params.String(ParamMode), Pairs: job.Params.Int(ParamPairs)}
	var last, avg, scores [][]float64
	ev, err := selfPlay(job, g, 0, c.Iterations, func(ev *evaluator) (_ [][]float64, err error) {
		last, avg, scores, err = runBT(job, g, ev, c, "")
		return last, err
	})
	if err != nil {
		return err
	}
	st := job.AddTable("scores", "prompt", "action", "bt_score")
	for x, pr := range g.Prompts {
		for i, a := range g.Actions {
			st.Add(pr.Name, a, scores[x][i])
		}
	}
	job.AddChart(kernel.Chart{Kind: "line", ID: "exploitability", Title: "BT-RLHF: exploitability per round",
		Series: []string{MetricExploitability}, XLabel: "round"})
	finishModel(job, IDBTRLHF, ev, last, avg, c.Beta)
	return nil
}

// selfPlay is what the plugins that run one method on the game g share,
// once the method's config is read and checked: it reports the game (the
// preference table, the exact solutions and their charts), runs the method
// for iterations iterations through run, with an evaluator that measures
// policies against the solutions at regularisation tau, and reports the
// last iterate run returns (final metrics and policy tables). The plugin
// then adds what is its own, its chart last.
func selfPlay(job *kernel.Job, g *datasets.Game, tau float64, iterations int, run func(ev *evaluator) ([][]float64, error)) (*evaluator, error) {
	ev, err := newEvaluator(g, tau)
	if err != nil {
		return nil, err
	}
	job.SetTotal(int64(iterations))
	addGameTables(job, ev)
	pi, err := run(ev)
	if err != nil {
		return nil, err
	}
	setFinal(job, "", ev.eval(pi, nil))
	addPolicyTables(job, ev, pi)
	return ev, nil
}
