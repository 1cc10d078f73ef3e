package bt

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"strings"

	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// Leaderboard is a score per model, higher better: the ratings of a
// bt.ratings (or bt.plackett_luce) result, or Bradley–Terry ratings fitted to
// battles.
type Leaderboard struct {
	Name   string // file name or label
	Models []string
	Scores []float64
	// Counts are the battles behind the scores when they were fitted here
	// (LeaderboardFromCounts); nil for scores read from a result.
	Counts *datasets.ArenaCounts
}

// Score returns the score of model and whether the leaderboard has it.
func (l *Leaderboard) Score(model string) (float64, bool) {
	for i, m := range l.Models {
		if m == model {
			return l.Scores[i], true
		}
	}
	return 0, false
}

// LeaderboardFromCounts fits Bradley–Terry ratings (FitNewton, half ties,
// the default prior when some model has no wins or no losses) to c and
// returns them on the Elo scale (mean 1000).
func LeaderboardFromCounts(name string, c *datasets.ArenaCounts) (*Leaderboard, error) {
	fit, err := FitNewton(c, &Settings{Prior: DefaultPrior})
	if err != nil {
		return nil, err
	}
	return &Leaderboard{Name: name, Models: c.Models, Scores: Elo(fit.Theta, -1, DefaultAnchorRating), Counts: c}, nil
}

// LoadLeaderboard reads a leaderboard from path: a result JSON written by
// `alignlab run` (kernel.Result) of bt.ratings (table leaderboard, columns
// model and rating) or of bt.plackett_luce (table ratings, columns item and
// theta); or a battle file in any format datasets.LoadBattles reads, to which
// Bradley–Terry ratings are fitted (LeaderboardFromCounts). A JSON object
// with a "plugin" field is taken for a result.
func LoadLeaderboard(path string) (*Leaderboard, error) {
	isResult, err := looksLikeResult(path)
	if err != nil {
		return nil, err
	}
	if !isResult {
		c, err := datasets.LoadArenaCounts(path)
		if err != nil {
			return nil, err
		}
		if len(c.Models) < 2 {
			return nil, &datasets.Error{File: path, Msg: fmt.Sprintf("want battles between at least 2 models, got %d", len(c.Models))}
		}
		return LeaderboardFromCounts(path, c)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &datasets.Error{File: path, Msg: err.Error()}
	}
	var res kernel.Result
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, &datasets.Error{File: path, Msg: "want a result JSON: " + err.Error()}
	}
	for _, want := range []struct{ table, label, score string }{{"leaderboard", "model", "rating"}, {"ratings", "item", "theta"}} {
		t, ok := res.Tables[want.table]
		if !ok {
			continue
		}
		if t.Col(want.label) < 0 || t.Col(want.score) < 0 {
			return nil, &datasets.Error{File: path, Field: "tables." + want.table,
				Msg: fmt.Sprintf("want columns %s and %s, got %s", want.label, want.score, strings.Join(t.Columns, ", "))}
		}
		lb := &Leaderboard{Name: path, Models: t.Strings(want.label), Scores: t.Floats(want.score)}
		seen := map[string]bool{}
		for i, m := range lb.Models {
			if seen[m] {
				return nil, &datasets.Error{File: path, Field: fmt.Sprintf("tables.%s.rows[%d]", want.table, i), Msg: fmt.Sprintf("want each %s once, got %q again", want.label, m)}
			}
			seen[m] = true
			if math.IsNaN(lb.Scores[i]) || math.IsInf(lb.Scores[i], 0) {
				return nil, &datasets.Error{File: path, Field: fmt.Sprintf("tables.%s.rows[%d]", want.table, i), Msg: fmt.Sprintf("want a finite %s for %q, got %v", want.score, m, lb.Scores[i])}
			}
		}
		return lb, nil
	}
	return nil, &datasets.Error{File: path, Field: "tables",
		Msg: fmt.Sprintf("want a bt.ratings result (table leaderboard) or a bt.plackett_luce result (table ratings), got %s result with tables %s",
			res.Plugin, strings.Join(res.TableNames(), ", "))}
}

// looksLikeResult reports whether the file's first JSON value is an object
// with a "plugin" field (a kernel.Result), reading only that value.
func looksLikeResult(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return false, &datasets.Error{File: path, Msg: err.Error()}
	}
	defer f.Close()
	br := bufio.NewReader(f)
	for {
		c, err := br.ReadByte()
		if err != nil {
			return false, nil // empty or unreadable: the battle reader reports it
		}
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0xEF || c == 0xBB || c == 0xBF {
			continue
		}
		if c != '{' {
			return false, nil
		}
		br.UnreadByte()
		break
	}
	var obj map[string]json.RawMessage
	if err := json.NewDecoder(io.LimitReader(br, 64<<20)).Decode(&obj); err != nil {
		return false, nil
	}
	_, ok := obj["plugin"]
	_, tables := obj["tables"]
	return ok && tables, nil
}

// Agreement is the rank agreement of two leaderboards on their common models.
type Agreement struct {
	Models       []string  // common models, sorted by name
	A, B         []float64 // their scores
	OnlyA, OnlyB []string  // models of one leaderboard only
	Tau, Rho     float64   // Kendall τ-b and Spearman ρ
	// 95% percentile bootstrap intervals; NaN without a bootstrap.
	TauLow, TauHigh, RhoLow, RhoHigh float64
	// Bootstrap is "battles" (both leaderboards refitted on multinomial
	// resamples of their battles), "models" (the common models resampled
	// with replacement) or "" (none); Rounds counts the replicates used
	// (a models replicate with a constant side is skipped).
	Bootstrap string
	Rounds    int
}

// Bootstrap kinds of Agreement.Bootstrap.
const (
	BootstrapBattles = "battles"
	BootstrapModels  = "models"
)

// CompareLeaderboards measures how two leaderboards agree on the models they
// share: Kendall τ-b (as BOSE and MIRAGE-Bench report) and Spearman ρ, with
// 95% bootstrap intervals over rounds replicates drawn from rng — of the
// battles when both leaderboards were fitted from battles (the sampling
// noise of each arena), otherwise of the models (how much the agreement
// depends on which models are compared).
func CompareLeaderboards(a, b *Leaderboard, rounds int, rng *rand.Rand) (*Agreement, error) {
	ag := &Agreement{TauLow: math.NaN(), TauHigh: math.NaN(), RhoLow: math.NaN(), RhoHigh: math.NaN()}
	inB := map[string]int{}
	for i, m := range b.Models {
		inB[m] = i
	}
	inA := map[string]bool{}
	for _, m := range a.Models {
		inA[m] = true
	}
	for _, m := range a.Models {
		if _, ok := inB[m]; ok {
			ag.Models = append(ag.Models, m)
		} else {
			ag.OnlyA = append(ag.OnlyA, m)
		}
	}
	for _, m := range b.Models {
		if !inA[m] {
			ag.OnlyB = append(ag.OnlyB, m)
		}
	}
	sort.Strings(ag.Models)
	sort.Strings(ag.OnlyA)
	sort.Strings(ag.OnlyB)
	if len(ag.Models) < 2 {
		return nil, fmt.Errorf("bt: compare: want at least 2 models in both leaderboards, got %d in common (%s: %d models, %s: %d)",
			len(ag.Models), a.Name, len(a.Models), b.Name, len(b.Models))
	}
	ag.A, ag.B = commonScores(a, ag.Models), commonScores(b, ag.Models)
	var err error
	if ag.Tau, err = KendallTau(ag.A, ag.B); err != nil {
		return nil, err
	}
	if ag.Rho, err = SpearmanRho(ag.A, ag.B); err != nil {
		return nil, err
	}
	if rounds <= 0 {
		return ag, nil
	}
	var taus, rhos []float64
	if a.Counts != nil && b.Counts != nil {
		ag.Bootstrap = BootstrapBattles
		for range rounds {
			ra, err := LeaderboardFromCounts(a.Name, Resample(a.Counts, rng))
			if err != nil {
				return nil, err
			}
			rb, err := LeaderboardFromCounts(b.Name, Resample(b.Counts, rng))
			if err != nil {
				return nil, err
			}
			x, y := commonScores(ra, ag.Models), commonScores(rb, ag.Models)
			tau, err1 := KendallTau(x, y)
			rho, err2 := SpearmanRho(x, y)
			if err1 == nil && err2 == nil {
				taus, rhos = append(taus, tau), append(rhos, rho)
			}
		}
	} else {
		ag.Bootstrap = BootstrapModels
		n := len(ag.Models)
		x, y := make([]float64, n), make([]float64, n)
		for range rounds {
			for i := range x {
				j := rng.IntN(n)
				x[i], y[i] = ag.A[j], ag.B[j]
			}
			tau, err1 := KendallTau(x, y)
			rho, err2 := SpearmanRho(x, y)
			if err1 == nil && err2 == nil {
				taus, rhos = append(taus, tau), append(rhos, rho)
			}
		}
	}
	ag.Rounds = len(taus)
	if ag.Rounds > 0 {
		sort.Float64s(taus)
		sort.Float64s(rhos)
		ag.TauLow, ag.TauHigh = Quantile(taus, 0.025), Quantile(taus, 0.975)
		ag.RhoLow, ag.RhoHigh = Quantile(rhos, 0.025), Quantile(rhos, 0.975)
	}
	return ag, nil
}

// commonScores returns l's scores of models (which l must all have).
func commonScores(l *Leaderboard, models []string) []float64 {
	idx := make(map[string]int, len(l.Models))
	for i, m := range l.Models {
		idx[m] = i
	}
	out := make([]float64, len(models))
	for i, m := range models {
		out[i] = l.Scores[idx[m]]
	}
	return out
}

// ParamBattlesB (int, default 1000) is the battle count of bt.compare's
// second synthetic arena, used without --data.
const ParamBattlesB = "battles_b"

// DefaultCompareRounds is the default ParamBootstrapRounds of bt.compare.
const DefaultCompareRounds = 200

func init() { kernel.Register(comparePlugin{}) }

type comparePlugin struct{}

var (
	_ kernel.Plugin = comparePlugin{}
	_ kernel.Quick  = comparePlugin{}
)

// QuickParams are small params that still draw random numbers (the second
// arena's battles, the bootstrap resamples).
func (comparePlugin) QuickParams() map[string]any {
	return map[string]any{ParamBootstrapRounds: 10, ParamBattlesB: 300}
}

// PaperKendall is Kendall's τ.
var PaperKendall = kernel.Paper{Authors: "M. G. Kendall", Year: 1938, Title: "A new measure of rank correlation"}

func (comparePlugin) Info() kernel.Info {
	return kernel.Info{
		ID:      "bt.compare",
		Summary: "Rank agreement of two leaderboards: Kendall τ-b and Spearman ρ with bootstrap intervals",
		Papers: []kernel.Paper{PaperKendall,
			{Authors: "C. Spearman", Year: 1904, Title: "The proof and measurement of association between two things"}},
		Params: []kernel.Param{
			kernel.IntParam(ParamBootstrapRounds, DefaultCompareRounds, 0, 100000, "bootstrap replicates for the 95% intervals (0: none)"),
			kernel.IntParam(ParamBattlesB, 1000, 1, 1<<26, "no --data: battles of the second arena"),
		},
		Data: []kernel.DataFormat{
			{Name: "two leaderboards (--data A --data B)", Doc: `each either a result JSON of bt.ratings (its leaderboard table: model, rating) or of
bt.plackett_luce (its ratings table: item, theta), as written by alignlab run; or a battle
file (JSONL, JSON array or CSV, as bt.ratings reads), which is fitted here
(Bradley–Terry, Newton, half ties, prior 1 only when a rating would be infinite)`,
				Example: "--data build/judge-a/result.json --data judge-b-battles.jsonl"},
		},
		Doc: `Compares two leaderboards on the models they share (Kendall 1938; Spearman 1904):

    τ_b = (n_c − n_d) / √((n₀ − n_a)(n₀ − n_b)),   ρ = Pearson correlation of the ranks,

n_c / n_d the concordant / discordant model pairs, n₀ = n(n−1)/2, n_a, n_b the pairs tied
in one leaderboard (τ-b, scipy's default, is τ-a without ties; tied scores share their
mean rank in ρ). BOSE and MIRAGE-Bench report such τ between a cheap and a reference
ranking. 95% intervals are percentiles over bootstrap_rounds seeded replicates: when both
inputs are battle files, both arenas are resampled (multinomial on their battle counts)
and refitted, so the interval shows the sampling noise of the two arenas; otherwise the
common models are resampled with replacement.

Reports: finals kendall_tau, spearman_rho, tau_ci_low, tau_ci_high, rho_ci_low,
rho_ci_high, models (in common), only_in_a, only_in_b, bootstrap_rounds_used; table
models (model, score_a, score_b, rank_a, rank_b; sorted by score_a) and a scatter chart.

Without --data it compares the embedded sample arena (5,000 battles) with a second arena
of battles_b battles drawn from the same planted strengths (another "judge" with fewer
votes), and also reports each one's τ against the planted order (tau_a_planted,
tau_b_planted).`,
	}
}

func (comparePlugin) Run(job *kernel.Job) error {
	prm := job.Params
	var a, b *Leaderboard
	var planted map[string]float64
	switch len(job.Data) {
	case 0:
		battles, err := datasets.SampleBattles()
		if err != nil {
			return err
		}
		ca, err := datasets.AggregateBattles(battles)
		if err != nil {
			return err
		}
		// The sample's planted strengths (drawn from its seed before any
		// battle), then fresh battles from another seed.
		cfg := datasets.SampleArenaConfig()
		cfg.Battles = 0
		if _, planted, err = datasets.GenerateArena(cfg); err != nil {
			return err
		}
		cfg.Theta = make([]float64, len(cfg.Names))
		for i, n := range cfg.Names {
			cfg.Theta[i] = planted[n]
		}
		cfg.Battles = prm.Int(ParamBattlesB)
		cfg.Seed = job.Rand().Uint64()
		bb, _, err := datasets.GenerateArena(cfg)
		if err != nil {
			return err
		}
		cb, err := datasets.AggregateBattles(bb)
		if err != nil {
			return err
		}
		if a, err = LeaderboardFromCounts(datasets.SampleArenaName, ca); err != nil {
			return err
		}
		if b, err = LeaderboardFromCounts(fmt.Sprintf("second arena (%d battles)", cfg.Battles), cb); err != nil {
			return err
		}
		job.Note("no --data: comparing the sample arena (%d battles) with a second arena of %d battles drawn from the same planted strengths",
			ca.Battles(), cb.Battles())
	case 2:
		var err error
		if a, err = LoadLeaderboard(job.Data[0]); err != nil {
			return err
		}
		if b, err = LoadLeaderboard(job.Data[1]); err != nil {
			return err
		}
	default:
		return job.DataCountError("2 files, two leaderboards (--data A --data B)")
	}
	rounds := prm.Int(ParamBootstrapRounds)
	ag, err := CompareLeaderboards(a, b, rounds, job.Rand())
	if err != nil {
		return err
	}
	job.SetFinal("kendall_tau", ag.Tau)
	job.SetFinal("spearman_rho", ag.Rho)
	if ag.Rounds > 0 {
		job.SetFinal("tau_ci_low", ag.TauLow)
		job.SetFinal("tau_ci_high", ag.TauHigh)
		job.SetFinal("rho_ci_low", ag.RhoLow)
		job.SetFinal("rho_ci_high", ag.RhoHigh)
		job.Note("95%% intervals from %d bootstrap replicates of the %s", ag.Rounds, ag.Bootstrap)
	}
	job.SetFinal("bootstrap_rounds_used", float64(ag.Rounds))
	job.SetFinal("models", float64(len(ag.Models)))
	job.SetFinal("only_in_a", float64(len(ag.OnlyA)))
	job.SetFinal("only_in_b", float64(len(ag.OnlyB)))
	if len(ag.OnlyA)+len(ag.OnlyB) > 0 {
		job.Note("compared on the %d common models; only in A: %s; only in B: %s", len(ag.Models), listOrNone(ag.OnlyA), listOrNone(ag.OnlyB))
	}
	if planted != nil {
		truth := make([]float64, len(ag.Models))
		for i, m := range ag.Models {
			truth[i] = planted[m]
		}
		if tau, err := KendallTau(ag.A, truth); err == nil {
			job.SetFinal("tau_a_planted", tau)
		}
		if tau, err := KendallTau(ag.B, truth); err == nil {
			job.SetFinal("tau_b_planted", tau)
		}
	}
	ra, rb := Ranks(negate(ag.A)), Ranks(negate(ag.B))
	order := make([]int, len(ag.Models))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool { return ag.A[order[x]] > ag.A[order[y]] })
	t := job.AddTable("models", "model", "score_a", "score_b", "rank_a", "rank_b")
	for _, i := range order {
		t.Add(ag.Models[i], ag.A[i], ag.B[i], ra[i], rb[i])
	}
	job.AddChart(kernel.Chart{Kind: "scatter", ID: "scores", Title: fmt.Sprintf("Leaderboard A vs B (τ-b = %.3f)", ag.Tau),
		Table: "models", X: "score_a", Y: "score_b", XLabel: "A: " + a.Name, YLabel: "B: " + b.Name})
	return nil
}

func negate(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = -x
	}
	return out
}

func listOrNone(v []string) string {
	if len(v) == 0 {
		return "none"
	}
	return strings.Join(v, ", ")
}
