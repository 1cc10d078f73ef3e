package nash

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// Keys of the parameters that choose the game. All plugins of the package
// take them; they are generator params (kernel.Param.Generator): with
// --data the game comes from the file, and they are left out of the
// result's params.
const (
	// ParamGame (choice, default "cyclic") is the generated game: "cyclic"
	// (datasets.CyclicGame: transitive scores plus a cycle), "rps"
	// (rock–paper–scissors), "transitive" (Bradley–Terry, no cycle) or
	// "contextual" (datasets.ContextualGame: several prompts with features).
	ParamGame = "game"
	// ParamActions (int, default 5) is K, the number of actions per prompt.
	ParamActions = "actions"
	// ParamCycle (float, default 3) is the strength of the cyclic part.
	ParamCycle = "cycle"
	// ParamSpread (float, default 1) is the range of the transitive scores.
	ParamSpread = "spread"
	// ParamPrompts (int, default 8) is the number of prompts of the contextual game.
	ParamPrompts = "prompts"
	// ParamFeatures (int, default 4) is the feature dimension of the contextual game.
	ParamFeatures = "features"
)

// The generated games.
const (
	GameCyclic     = "cyclic"
	GameRPS        = "rps"
	GameTransitive = "transitive"
	GameContextual = "contextual"
)

func gameParams() []kernel.Param {
	return kernel.Generators(
		kernel.ChoiceParam(ParamGame, GameCyclic, []string{GameCyclic, GameRPS, GameTransitive, GameContextual},
			"generated game when no --data is given"),
		kernel.IntParam(ParamActions, 5, 2, 64, "K, actions per prompt (cyclic, transitive, contextual)"),
		kernel.FloatParam(ParamCycle, 3, 0, 20, "strength c of the cyclic part C[i][j] = c·sin(2π(j−i)/K) (cyclic); scale of A (contextual)"),
		kernel.FloatParam(ParamSpread, 1, 0, 20, "transitive scores r_i evenly spaced in [−spread/2, spread/2] (cyclic, transitive)"),
		kernel.IntParam(ParamPrompts, 8, 1, 1000, "prompts of the contextual game"),
		kernel.IntParam(ParamFeatures, 4, 1, 64, "feature dimension d of the contextual game"),
	)
}

const gameDataDoc = `One JSON object: {"actions": [names], "matrix": [[P_ij]], "ref": [π_ref], "features": [[φ]]}
for one prompt, or {"actions": [...], "prompts": [{"name": ..., "matrix": ..., "ref": ..., "features": ...}]}.
P_ij = P(action i ≻ action j): square, entries in [0, 1], P + Pᵀ = 1 and diagonal ½
within 1e-6. "actions", "ref" (default uniform) and "features" (for policy=loglinear) are optional.`

const gameDataExample = `{"actions": ["rock", "paper", "scissors"], "matrix": [[0.5, 0, 1], [1, 0.5, 0], [0, 1, 0.5]]}`

var gameData = []kernel.DataFormat{{Name: "preference game (JSON)", Doc: gameDataDoc, Example: gameDataExample}}

// loadGame reads the game from --data, recording its shape (actions,
// prompts, features) beside the file's hash, or generates the one the
// params name (drawing from rng only for the contextual game).
func loadGame(job *kernel.Job, rng *rand.Rand) (*datasets.Game, error) {
	switch len(job.Data) {
	case 0:
	case 1:
		g, err := datasets.LoadGame(job.Data[0])
		if err != nil {
			return nil, err
		}
		job.DataShape(0, "actions", g.K(), "prompts", len(g.Prompts), "features", g.NumFeatures())
		return g, nil
	default:
		return nil, job.DataCountError("at most 1 file (a game)")
	}
	k := job.Params.Int(ParamActions)
	switch job.Params.String(ParamGame) {
	case GameRPS:
		return datasets.RockPaperScissors(), nil
	case GameTransitive:
		return datasets.CyclicGame(k, 0, job.Params.Float(ParamSpread)), nil
	case GameContextual:
		return datasets.ContextualGame(rng, job.Params.Int(ParamPrompts), k, job.Params.Int(ParamFeatures), job.Params.Float(ParamCycle)), nil
	}
	return datasets.CyclicGame(k, job.Params.Float(ParamCycle), job.Params.Float(ParamSpread)), nil
}

// evaluator holds the exact solutions of a game, per prompt, and scores
// policies against them. Multi-prompt metrics are means over prompts.
type evaluator struct {
	game    *datasets.Game
	ref     [][]float64
	nash    [][]float64
	tauNash [][]float64 // nil when no τ
	tau     float64
}

func newEvaluator(g *datasets.Game, tau float64) (*evaluator, error) {
	e := &evaluator{game: g, tau: tau}
	for x := range g.Prompts {
		p := g.Prompts[x].P
		e.ref = append(e.ref, g.RefPolicy(x))
		n, err := Nash(p)
		if err != nil {
			return nil, fmt.Errorf("%w (prompt %s)", err, g.Prompts[x].Name)
		}
		e.nash = append(e.nash, n)
		if tau > 0 {
			t, err := RegularizedNash(p, e.ref[x], tau)
			if err != nil {
				return nil, fmt.Errorf("%w (prompt %s)", err, g.Prompts[x].Name)
			}
			e.tauNash = append(e.tauNash, t)
		}
	}
	return e, nil
}

// metrics are the scores of a policy (means over prompts).
type metrics struct {
	Exploitability float64 // max_y P(y ≻ π) − ½
	L1Nash         float64 // ‖π − π_Nash‖₁ (the LP equilibrium)
	L1TauNash      float64 // ‖π − π*_τ‖₁ (NaN without τ)
	WinRateRef     float64 // P(π ≻ π_ref)
	WinRatePrev    float64 // P(π ≻ previous iterate) (NaN without one)
}

func (e *evaluator) eval(pi, prev [][]float64) metrics {
	var m metrics
	n := float64(len(pi))
	for x := range pi {
		p := e.game.Prompts[x].P
		m.Exploitability += Exploitability(p, pi[x]) / n
		m.L1Nash += L1(pi[x], e.nash[x]) / n
		if e.tauNash != nil {
			m.L1TauNash += L1(pi[x], e.tauNash[x]) / n
		}
		m.WinRateRef += WinRate(p, pi[x], e.ref[x]) / n
		if prev != nil {
			m.WinRatePrev += WinRate(p, pi[x], prev[x]) / n
		}
	}
	if e.tauNash == nil {
		m.L1TauNash = math.NaN()
	}
	if prev == nil {
		m.WinRatePrev = math.NaN()
	}
	return m
}

// namedMetric is one metric and its series name.
type namedMetric struct {
	name string
	v    float64
}

// named lists m's metrics under their names, in reporting order, leaving
// out the NaN ones (not measured: no τ, no previous iterate). record and
// setFinal both use it, so the series and the finals name the same things.
func (m metrics) named() []namedMetric {
	var out []namedMetric
	for _, kv := range []namedMetric{
		{MetricExploitability, m.Exploitability},
		{MetricL1Nash, m.L1Nash},
		{MetricL1TauNash, m.L1TauNash},
		{MetricWinRateRef, m.WinRateRef},
		{MetricWinRatePrev, m.WinRatePrev},
	} {
		if !math.IsNaN(kv.v) {
			out = append(out, kv)
		}
	}
	return out
}

// record appends the metrics of iteration t to the job's series, each name
// suffixed by suffix ("" or "/method"); NaN metrics are skipped.
func record(job *kernel.Job, t int, suffix string, m metrics) error {
	for _, kv := range m.named() {
		if err := job.Record(int64(t), kv.name+suffix, kv.v); err != nil {
			return err
		}
	}
	return nil
}

// setFinal sets the final metrics (NaN ones are left out).
func setFinal(job *kernel.Job, suffix string, m metrics) {
	for _, kv := range m.named() {
		job.SetFinal(kv.name+suffix, kv.v)
	}
}

// The metric names of the series and final values.
const (
	MetricExploitability = "exploitability"
	MetricL1Nash         = "l1_nash"
	MetricL1TauNash      = "l1_tau_nash"
	MetricWinRateRef     = "winrate_ref"
	MetricWinRatePrev    = "winrate_prev"
	MetricLoss           = "loss"
)

// The names of the result tables.
const (
	TablePolicy     = "policy"     // prompt, action, prob: the final policy
	TablePolicies   = "policies"   // action, policy, prob: first prompt, final vs. ref, Nash, π*_τ
	TablePreference = "preference" // row, col, prob: the first prompt's matrix
	TableSolutions  = "solutions"  // prompt, action, ref, nash, tau_nash
)

// addGameTables adds the preference heatmap table, the exact solutions and
// their charts.
func addGameTables(job *kernel.Job, e *evaluator) {
	g := e.game
	pt := job.AddTable(TablePreference, "row", "col", "prob")
	for i, a := range g.Actions {
		for j, b := range g.Actions {
			pt.Add(a, b, g.Prompts[0].P[i][j])
		}
	}
	cols := []string{"prompt", "action", "ref", "nash"}
	if e.tauNash != nil {
		cols = append(cols, "tau_nash")
	}
	st := job.AddTable(TableSolutions, cols...)
	for x, pr := range g.Prompts {
		for i, a := range g.Actions {
			row := []any{pr.Name, a, e.ref[x][i], e.nash[x][i]}
			if e.tauNash != nil {
				row = append(row, e.tauNash[x][i])
			}
			st.Add(row...)
		}
	}
	job.AddChart(kernel.Chart{Kind: "heatmap", ID: "preference", Title: "P(row ≻ col), prompt " + g.Prompts[0].Name,
		Table: TablePreference, X: "col", Y: "row", Value: "prob"})
}

// addPolicyTables adds the final policy (all prompts) and, for the first
// prompt, the policy next to π_ref, the Nash equilibrium and π*_τ as bars.
func addPolicyTables(job *kernel.Job, e *evaluator, pi [][]float64) {
	g := e.game
	t := job.AddTable(TablePolicy, "prompt", "action", "prob")
	for x, pr := range g.Prompts {
		for i, a := range g.Actions {
			t.Add(pr.Name, a, pi[x][i])
		}
	}
	bt := job.AddTable(TablePolicies, "action", "policy", "prob")
	for i, a := range g.Actions {
		bt.Add(a, "final", pi[0][i])
		bt.Add(a, "ref", e.ref[0][i])
		bt.Add(a, "nash", e.nash[0][i])
		if e.tauNash != nil {
			bt.Add(a, "tau_nash", e.tauNash[0][i])
		}
	}
	job.AddChart(kernel.Chart{Kind: "bar", ID: "policies", Title: "policies, prompt " + g.Prompts[0].Name,
		Table: TablePolicies, X: "action", Value: "prob", Group: "policy", YLabel: "probability"})
}

func expAll(logPi [][]float64) [][]float64 {
	out := make([][]float64, len(logPi))
	for x, z := range logPi {
		out[x] = softmaxLog(z)
	}
	return out
}

func logAll(pi [][]float64) [][]float64 {
	out := make([][]float64, len(pi))
	for x, p := range pi {
		out[x] = logs(p)
	}
	return out
}

// sample draws an action from the distribution pi.
func sample(rng *rand.Rand, pi []float64) int {
	u := rng.Float64()
	var c float64
	for i, p := range pi {
		c += p
		if u < c {
			return i
		}
	}
	// Rounding left u ≥ Σπ: take the last action with mass.
	for i := len(pi) - 1; i >= 0; i-- {
		if pi[i] > 0 {
			return i
		}
	}
	return len(pi) - 1
}
