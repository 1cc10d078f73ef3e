package bt

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// Parameter keys of the bt.ratings plugin.
const (
	// ParamTies (choice, default "half"): how ties count — "half" (half a
	// win each, Chatbot Arena), "rao_kupper" or "davidson" (tie models with
	// a fitted tie parameter, reported as the final metric tie_param).
	ParamTies = "ties"
	// ParamSolver (choice, default "newton"): "newton" (FitNewton) or "mm"
	// (FitMM, Hunter 2004). Both reach the same maximum.
	ParamSolver = "solver"
	// ParamBootstrapRounds (int, default 100): multinomial bootstrap
	// replicates of the battles behind ci_low and ci_high; 0 skips the
	// bootstrap (the CI cells are then null: no interval exists).
	ParamBootstrapRounds = "bootstrap_rounds"
	// ParamAnchor (string, default ""): model pinned to ParamAnchorRating,
	// and the opponent of the vs_anchor table; empty pins the mean rating
	// instead (and there is no vs_anchor table).
	ParamAnchor = "anchor"
	// ParamAnchorRating (float, default 1000): rating of the anchor model,
	// or mean rating without one.
	ParamAnchorRating = "anchor_rating"
	// ParamPrior (float, default 1): weight of one virtual tie of every model
	// against a player of log-strength 0, used only when the data have no
	// finite maximum-likelihood ratings (a model with no wins or no losses);
	// 0 makes such data an error.
	ParamPrior = "prior"
	// ParamPriorAlways (bool, default false): apply ParamPrior to every fit,
	// as a regularizer, whether needed or not.
	ParamPriorAlways = "prior_always"
	// ParamTolerance (float, default 1e-10): a fit stops when no
	// log-strength moved by more than this in an iteration.
	ParamTolerance = "tolerance"
	// ParamMaxIterations (int, default 100000): iteration cap per fit.
	ParamMaxIterations = "max_iterations"
	// ParamFormat (choice, default "auto"): how --data files are read —
	// "battles" (model_a, model_b, winner, optional weight), "arena_hard"
	// (arena-hard-auto judgments, datasets.ReadArenaHard) or "auto" (each
	// file by its first record: "games" without "model_a" is arena_hard).
	ParamFormat = "format"
	// ParamBaseline (string, default "gpt-4-0314"): arena_hard only, the
	// model every judgment compares against.
	ParamBaseline = "baseline"
	// ParamStrongWeight (float, default 3): arena_hard only, the weight of
	// a strong verdict ("A>>B", "B>>A").
	ParamStrongWeight = "strong_weight"
	// ParamSelfBattles (choice, default "error"): a battle of a model
	// against itself is an error, or with "skip" dropped and counted (final
	// self_battles_skipped).
	ParamSelfBattles = "self_battles"
	// ParamHeatmapModels (int, default 50): with more models than this the
	// win_rate table (and its heatmap) keeps only the pairs among the top
	// heatmap_models models by battles, and a note says so.
	ParamHeatmapModels = "heatmap_models"
	// ParamFullTables (bool, default false): when win_rate is capped, also
	// write the full win-rate table (every pair that met) as win_rate_full.
	ParamFullTables = "full_tables"
)

// DefaultHeatmapModels is the default of ParamHeatmapModels.
const DefaultHeatmapModels = 50

// DefaultBootstrapRounds is the default of ParamBootstrapRounds, as in FastChat.
const DefaultBootstrapRounds = 100

func init() { kernel.Register(ratings{}) }

type ratings struct{}

var (
	_ kernel.Plugin = ratings{}
	_ kernel.Quick  = ratings{}
)

// QuickParams are small params that still draw random numbers (the
// bootstrap resamples).
func (ratings) QuickParams() map[string]any { return map[string]any{ParamBootstrapRounds: 20} }

func (ratings) Info() kernel.Info {
	return kernel.Info{
		ID:        "bt.ratings",
		Precision: "float64, in plain Go (gonum), no GoMLX graph: the Newton and MM solvers fit the likelihood to its maximum.",
		Summary:   "Bradley–Terry (Elo-scale) ratings of models from pairwise battles, with bootstrap CIs",
		Papers: []kernel.Paper{
			{Authors: "R. A. Bradley, M. E. Terry", Year: 1952, Title: "Rank analysis of incomplete block designs: I. The method of paired comparisons"},
			{Authors: "D. R. Hunter", Year: 2004, Title: "MM algorithms for generalized Bradley–Terry models"},
			{Authors: "W.-L. Chiang et al.", Year: 2024, Title: "Chatbot Arena: An open platform for evaluating LLMs by human preference", ArXiv: "2403.04132"},
			{Authors: "P. V. Rao, L. L. Kupper", Year: 1967, Title: "Ties in paired-comparison experiments: A generalization of the Bradley–Terry model"},
			{Authors: "R. R. Davidson", Year: 1970, Title: "On extending the Bradley–Terry model to accommodate ties in paired comparison experiments"},
		},
		Params: []kernel.Param{
			kernel.ChoiceParam(ParamTies, TiesHalf, TieModels, "tie convention: half a win each, or a Rao–Kupper / Davidson tie model"),
			kernel.ChoiceParam(ParamSolver, SolverNewton, []string{SolverNewton, SolverMM}, "Newton on the log-likelihood, or Hunter's MM iterations"),
			kernel.IntParam(ParamBootstrapRounds, DefaultBootstrapRounds, 0, 100000, "multinomial bootstrap replicates for the 95% intervals (0: none)"),
			kernel.StringParam(ParamAnchor, "", "model pinned to anchor_rating, and the opponent of table vs_anchor (empty: the mean rating is anchor_rating)"),
			kernel.FloatParam(ParamAnchorRating, DefaultAnchorRating, -1e6, 1e6, "rating of the anchor model, or mean rating"),
			kernel.FloatParam(ParamPrior, DefaultPrior, 0, 1e6, "weight of a virtual tie per model vs. a θ=0 player, used when ratings would be infinite"),
			kernel.BoolParam(ParamPriorAlways, false, "apply the prior to every fit, needed or not"),
			{Key: ParamTolerance, Type: kernel.Float, Default: DefaultTolerance, Range: kernel.Range{Min: 0, Max: 1, MinExclusive: true},
				Doc: "stop when max |Δθ| of an iteration is below this"},
			kernel.IntParam(ParamMaxIterations, DefaultMaxIterations, 1, 10000000, "iteration cap per fit"),
			kernel.ChoiceParam(ParamFormat, datasets.ArenaFormatAuto, datasets.ArenaFormats, "--data format: battles, arena_hard judgments, or auto (by each file's first record)"),
			kernel.StringParam(ParamBaseline, datasets.DefaultArenaHardBaseline, "arena_hard: the model every judgment compares against"),
			{Key: ParamStrongWeight, Type: kernel.Float, Default: datasets.DefaultStrongWeight, Range: kernel.Range{Min: 0, Max: 1e6, MinExclusive: true},
				Doc: "arena_hard: weight of a strong verdict (A>>B, B>>A)"},
			kernel.ChoiceParam(ParamSelfBattles, datasets.SelfBattlesError, datasets.SelfBattlePolicies, "battles of a model against itself: an error, or skip (drop and count them)"),
			kernel.IntParam(ParamHeatmapModels, DefaultHeatmapModels, 2, 1000000, "win_rate table and heatmap: above this many models keep the top ones by battles"),
			kernel.BoolParam(ParamFullTables, false, "when win_rate is capped, also write every pair's win rate as table win_rate_full"),
		},
		Data: []kernel.DataFormat{
			{Name: "arena battles (JSON Lines)", Doc: "one object per line with string fields model_a, model_b, winner;\n" +
				"winner is model_a, model_b, tie or \"tie (bothbad)\" (case-insensitive); an optional number\n" +
				"weight (finite, ≥ 0, default 1) counts the battle as that many (weight 0: skipped); other\n" +
				"fields (conversations, judge, language, tstamp, ...) are ignored; lines may be several MB",
				Example: `{"model_a":"aurora-70b","model_b":"cedar-13b","winner":"model_a","weight":2}`},
			{Name: "arena battles (JSON array)", Doc: "a file whose first non-space byte is '[': an array of the same objects,\n" +
				"such as a Chatbot Arena clean_battle_*.json export, read as a stream",
				Example: `[{"model_a":"aurora-70b","model_b":"cedar-13b","winner":"tie"}]`},
			{Name: "arena battles (CSV)", Doc: "a .csv (or .csv.gz) file with a header naming model_a, model_b and winner, and\n" +
				"optionally weight (any order, other columns ignored)",
				Example: "model_a,model_b,winner,weight"},
			{Name: "arena-hard judgments (JSON Lines)", Doc: "arena-hard-auto's model_judgment files (format=arena_hard, or detected):\n" +
				"one line per question and model, games[i].score one of A>>B, A>B, A=B, B>A, B>>A or null;\n" +
				"game 1 is baseline (A) vs model (B), game 2 model (A) vs baseline (B); >> weighs\n" +
				"strong_weight; null scores are skipped and counted (final null_scores_skipped)",
				Example: `{"question_id":"q1","model":"cedar-13b","judge":"gpt-4-1106-preview","games":[{"score":"A>B"},{"score":"B>>A"}]}`},
			{Name: "gzip", Doc: "any of these gzip-compressed (recognised by its first bytes, whatever the name)",
				Example: "arena.jsonl.gz"},
		},
		Doc: `Fits log-strengths θ to battle counts by maximum likelihood,

    P(i ≻ j) = σ(θi − θj),   ℓ(θ) = Σ_battles w [o log σ(θa − θb) + (1 − o) log σ(θb − θa)],

o = 1, 0 or ½ for a tie ("half", as in Chatbot Arena), w the battle's weight
(1 unless the file gives one), or with a tie model:
Rao–Kupper P(i ≻ j) = σ(θi − θj − log κ), or Davidson
P(i ≻ j) = γi/(γi + γj + ν√(γiγj)), γ = e^θ, fitting κ or ν as well.
Battles are first deduplicated into (weighted) counts per pair; the fit is
Newton's method (or Hunter's MM) on those counts; above 200 models each
Newton system is solved by Jacobi-preconditioned conjugate gradients on the
sparse Hessian (a weighted graph Laplacian) rather than a dense Cholesky
factorisation. Bootstrap fits start from the full fit and run on all cores,
with the same results for a seed whatever the core count. Ratings are on the Elo
scale, rating = 400/ln 10 · θ + offset, the offset putting the anchor model
(or the mean) at anchor_rating. 95% intervals are the 2.5/97.5% quantiles of
ratings refitted on bootstrap_rounds multinomial resamples of the battles
(seeded). Models with no wins or no losses would get infinite ratings: then
every model gets a virtual tie of weight prior against a θ = 0 player, and a
note says so.

Weights: a battle of weight w counts as w battles in the fit, so integer
weights give the ratings of the file with each row repeated w times. The
bootstrap resamples battles (rows) with replacement, each keeping its
weight: a weighted row is one draw, so its intervals are wider than those
of the repeated file, whose copies count as independent battles. The
leaderboard's battles, wins, losses and ties are then weighted sums; the
final battles counts rows and battle_weight sums the weights.

Arena-hard judgments (format=arena_hard): every game is a battle against
baseline, a strong verdict weighing strong_weight (3, as arena-hard-auto,
which repeats the row; the bootstrap here draws it once). With
anchor=<baseline>, vs_anchor is the benchmark's score.

Reports: table leaderboard (model, rating, ci_low, ci_high, battles, wins,
losses, ties; best first), table win_rate (empirical win rate of model_a over
model_b, ties as half, weighted), with an anchor table vs_anchor (model,
win_rate, ci_low, ci_high: the predicted win rate against the anchor,
P = σ((r_m − r_anchor)·ln 10/400), with its 95% bootstrap interval from the
same replicates; with more than heatmap_models models win_rate keeps only
the pairs among the heatmap_models models with the most battles, and
full_tables=true adds every pair as win_rate_full), final metrics log_likelihood, iterations, models,
battles, max_step (convergence criterion), grad_norm, converged, prior,
tie_param (tie models), battle_weight (weighted data),
self_battles_skipped (self_battles=skip) and null_scores_skipped
(arena-hard judgments); a leaderboard chart, a win-rate heatmap and a
vs_anchor chart. Without a bootstrap (bootstrap_rounds=0) the interval
cells are null in result.json: no interval exists.

Without --data it rates the embedded sample arena (datasets.SampleArena: 10
fictional models, 5,000 battles drawn with planted strengths) and notes so.
format, baseline, strong_weight and self_battles apply to --data files only. With
--data, result.provenance.data records each file's shape: battles (rows), models,
format, and battle_weight for weighted files.`,
		Model: `the ratings: every model's log-strength θ (array theta, mean 0) and the tie parameter
(tie_param: κ, ν, or 0 for half); model.json names the models, the tie model and the Elo
convention (anchor, anchor_rating).
score --data FILE…: battles in any format run reads (format, self_battles, baseline and
strong_weight apply) between two models the ratings know; the others are skipped and
counted (a note names a few). Table scores: battle (its position among the battles read,
file after file), model_a, model_b, winner, weight, p_a, p_b, p_tie (tie models; null for
half) and log_loss, −log P(outcome) (half: a tie is half a win each, as in the fit).
Finals: log_loss (weighted mean over the battles; on the training file it is
−log_likelihood / battle weight, the fit's objective), accuracy (decisive battles whose
predicted favourite won, weighted), battles, battle_weight, decisive_battles,
battles_skipped (and self_battles_skipped with self_battles=skip).`,
		Init: `the saved log-strengths start the main fit, matched by model name: models the saved
ratings do not know start at θ = 0 (a note counts and names them); with the same tie model
its tie parameter starts too. Bootstrap fits start from the main fit as always. From its
own optimum the fit stops after one iteration.`,
	}
}

func (ratings) Run(job *kernel.Job) error {
	prm := job.Params
	var counts *datasets.ArenaCounts
	var err error
	if len(job.Data) == 0 {
		var battles []datasets.Battle
		if battles, err = datasets.SampleBattles(); err != nil {
			return err
		}
		if counts, err = datasets.AggregateBattles(battles); err != nil {
			return err
		}
		job.Note("no --data: rating the embedded sample arena %s (%d fictional models, %d battles drawn by datasets.GenerateArena with planted strengths)",
			datasets.SampleArenaName, len(counts.Models), counts.Battles())
	} else {
		counts, err = loadArenaFiles(job, &datasets.ArenaOptions{
			Format:       prm.String(ParamFormat),
			SelfBattles:  prm.String(ParamSelfBattles),
			Baseline:     prm.String(ParamBaseline),
			StrongWeight: prm.Float(ParamStrongWeight),
		})
	}
	if err != nil {
		return err
	}
	if len(job.Data) > 0 {
		noteInput(job, counts)
	}
	if len(counts.Models) < 2 {
		return fmt.Errorf("bt: want battles between at least 2 models, got %d", len(counts.Models))
	}
	anchor := -1
	if name := prm.String(ParamAnchor); name != "" {
		if anchor = counts.Index(name); anchor < 0 {
			return fmt.Errorf("bt: anchor: want one of the models (%s), got %q", strings.Join(counts.Models, ", "), name)
		}
	}
	anchorRating := prm.Float(ParamAnchorRating)
	solve, err := SolverByName(prm.String(ParamSolver))
	if err != nil {
		return err
	}
	ties := prm.String(ParamTies)
	set := Settings{
		Ties:          ties,
		Prior:         prm.Float(ParamPrior),
		PriorAlways:   prm.Bool(ParamPriorAlways),
		Tolerance:     prm.Float(ParamTolerance),
		MaxIterations: prm.Int(ParamMaxIterations),
		Context:       job.Context(),
	}
	if init := job.InitModel(); init != nil {
		if set.Init, set.InitTie, err = initRatings(job, init, counts, ties); err != nil {
			return err
		}
	}
	if set.PriorAlways && set.Prior > 0 {
		job.Note("prior_always: every model gets a virtual tie of weight %g against a θ = 0 player in every fit", set.Prior)
	} else if err := CheckMLE(counts); err != nil {
		var ne *NoMLEError
		if errors.As(err, &ne) && set.Prior > 0 {
			job.Note("prior: ratings would be infinite (%s); every model gets a virtual tie of weight %g against a θ = 0 player",
				ne.Reason(), set.Prior)
		}
	}
	// The main fit's progress: every iteration up to 100, then every 100th.
	var last Iteration
	recorded := 0
	full := set
	full.Progress = func(it Iteration) error {
		last = it
		if it.N <= 100 || it.N%100 == 0 {
			recorded = it.N
			if err := job.Record(int64(it.N), "fit_log_likelihood", it.LogLikelihood); err != nil {
				return err
			}
			return job.Record(int64(it.N), "fit_max_step", it.MaxStep)
		}
		return nil
	}
	fit, err := solve(counts, &full)
	if err != nil {
		return err
	}
	if last.N > 0 && recorded != last.N {
		if err := job.Record(int64(last.N), "fit_log_likelihood", last.LogLikelihood); err != nil {
			return err
		}
		if err := job.Record(int64(last.N), "fit_max_step", last.MaxStep); err != nil {
			return err
		}
	}
	if !fit.Converged {
		job.Note("the fit stopped at %d iterations with max |Δθ| = %.3g > tolerance %g: ratings may be short of the maximum",
			fit.Iterations, fit.MaxStep, set.Tolerance)
	}
	var tieCount int64
	for _, st := range counts.Stats() {
		tieCount += st.Ties
	}
	if ties != TiesHalf && tieCount == 0 {
		job.Note("no ties in the data: the %s model is plain Bradley–Terry (tie parameter at its boundary)", ties)
	}
	rating := Elo(fit.Theta, anchor, anchorRating)

	rounds := prm.Int(ParamBootstrapRounds)
	var intervals []Interval // nil without a bootstrap
	var boot [][]float64
	if rounds > 0 {
		job.SetTotal(int64(rounds))
		boot = make([][]float64, 0, rounds)
		priorRounds := 0
		err := Bootstrap(job.Context(), counts, fit, rounds, job.Rand(), prm.String(ParamSolver), set, 0, func(round int, f *Fit) error {
			boot = append(boot, Elo(f.Theta, anchor, anchorRating))
			if f.Prior > 0 && fit.Prior == 0 {
				priorRounds++
			}
			return job.Record(int64(round), "bootstrap_iterations", float64(f.Iterations))
		})
		if err != nil {
			return err
		}
		intervals = Intervals(boot)
		if priorRounds > 0 {
			job.Note("bootstrap: %d of %d replicates had a model with no wins or no losses and were fitted with the prior (weight %g); the CI tails of weak or dominant models reflect it",
				priorRounds, rounds, set.Prior)
		}
		job.SetFinal("bootstrap_prior_rounds", float64(priorRounds))
	} else {
		job.Note("bootstrap_rounds = 0: no intervals (ci_low and ci_high are null)")
	}

	order := make([]int, len(counts.Models))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool {
		if rating[order[x]] != rating[order[y]] {
			return rating[order[x]] > rating[order[y]]
		}
		return counts.Models[order[x]] < counts.Models[order[y]]
	})
	lb := job.AddTable("leaderboard", "model", "rating", "ci_low", "ci_high", "battles", "wins", "losses", "ties")
	if counts.Weighted() {
		stats := counts.WeightedStats()
		for _, i := range order {
			st := stats[i]
			low, high := intervalCells(intervals, i)
			lb.Add(counts.Models[i], rating[i], low, high, st.Battles, st.Wins, st.Losses, st.Ties)
		}
	} else {
		stats := counts.Stats()
		for _, i := range order {
			st := stats[i]
			low, high := intervalCells(intervals, i)
			lb.Add(counts.Models[i], rating[i], low, high, st.Battles, st.Wins, st.Losses, st.Ties)
		}
	}
	winRateTables(job, counts, order, prm.Int(ParamHeatmapModels), prm.Bool(ParamFullTables))
	if anchor >= 0 {
		vsAnchorTable(job, counts.Models, rating, boot, anchor, order)
	}

	job.SetFinal("log_likelihood", fit.LogLikelihood)
	job.SetFinal("iterations", float64(fit.Iterations))
	job.SetFinal("models", float64(len(counts.Models)))
	job.SetFinal("battles", float64(counts.Battles()))
	if counts.Weighted() {
		job.SetFinal("battle_weight", counts.TotalWeight())
	}
	job.SetFinal("max_step", fit.MaxStep)
	job.SetFinal("grad_norm", fit.GradNorm)
	job.SetFinal("converged", boolMetric(fit.Converged))
	job.SetFinal("prior", fit.Prior)
	if ties != TiesHalf {
		job.SetFinal("tie_param", fit.TieParam)
	}
	anchorName := ""
	if anchor >= 0 {
		anchorName = counts.Models[anchor]
	}
	job.SetModel(&RatingsModel{Models: counts.Models, Theta: fit.Theta, Ties: fit.Ties, TieParam: fit.TieParam,
		Anchor: anchorName, AnchorRating: anchorRating})
	job.AddChart(kernel.Chart{Kind: "leaderboard", ID: "leaderboard", Title: "Bradley–Terry ratings (Elo scale, 95% bootstrap CI)",
		Table: "leaderboard", Label: "model", Value: "rating", Low: "ci_low", High: "ci_high"})
	job.AddChart(kernel.Chart{Kind: "heatmap", ID: "win_rate", Title: "Empirical win rate of model_a over model_b (ties as half)",
		Table: "win_rate", X: "model_b", Y: "model_a", Value: "win_rate"})
	if anchor >= 0 {
		job.AddChart(kernel.Chart{Kind: "leaderboard", ID: "vs_anchor",
			Title: fmt.Sprintf("Predicted win rate against %s (95%% bootstrap CI)", counts.Models[anchor]),
			Table: "vs_anchor", Label: "model", Value: "win_rate", Low: "ci_low", High: "ci_high"})
	}
	return nil
}

// loadArenaFiles reads job's --data files as datasets.LoadArena does, and
// records each file's shape (format, battles, models, and battle_weight
// when weighted). Several files are read one at a time and their counts
// merged, which gives the counts of LoadArena over all of them.
func loadArenaFiles(job *kernel.Job, opt *datasets.ArenaOptions) (*datasets.ArenaCounts, error) {
	parts := make([]*datasets.ArenaCounts, len(job.Data))
	for i, path := range job.Data {
		c, err := datasets.LoadArena(opt, path)
		if err != nil {
			return nil, err
		}
		job.DataShape(i, arenaShape(c)...)
		parts[i] = c
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	return mergeArenaCounts(parts)
}

// arenaShape is the shape of the battles of one file, for Job.DataShape.
func arenaShape(c *datasets.ArenaCounts) []any {
	kv := []any{"battles", c.Battles(), "models", len(c.Models)}
	if len(c.Formats) == 1 {
		kv = append(kv, "format", c.Formats[0])
	}
	if c.Weighted() {
		kv = append(kv, "battle_weight", c.TotalWeight())
	}
	return kv
}

// mergeArenaCounts adds up the counts of several files by replaying their
// battles (rows, each with its weight) into one aggregator: the counts,
// cells, skips and formats LoadArena gives for the files together.
func mergeArenaCounts(parts []*datasets.ArenaCounts) (*datasets.ArenaCounts, error) {
	var agg datasets.ArenaAggregator
	var skipped datasets.ArenaSkips
	var formats []string
	replay := func(c *datasets.ArenaCounts, p datasets.PairCounts, o datasets.Outcome, weight float64, n int64) error {
		b := datasets.Battle{ModelA: c.Models[p.A], ModelB: c.Models[p.B], Weight: weight}
		switch o {
		case datasets.OutcomeWinA:
			b.Winner = datasets.WinnerA
		case datasets.OutcomeWinB:
			b.Winner = datasets.WinnerB
		case datasets.OutcomeTie:
			b.Winner = datasets.WinnerTie
		default:
			b.Winner = datasets.WinnerTieBothBad
		}
		for ; n > 0; n-- {
			if err := agg.Add(b); err != nil {
				return err
			}
		}
		return nil
	}
	for _, c := range parts {
		if c.Weighted() {
			for _, cell := range c.Cells {
				if err := replay(c, c.Pairs[cell.Pair], cell.Outcome, cell.Weight, cell.Battles); err != nil {
					return nil, err
				}
			}
		} else {
			for _, p := range c.Pairs {
				for _, o := range datasets.Outcomes {
					if err := replay(c, p, o, 0, p.Count(o)); err != nil {
						return nil, err
					}
				}
			}
		}
		skipped.Self += c.Skipped.Self
		skipped.ZeroWeight += c.Skipped.ZeroWeight
		skipped.NullScore += c.Skipped.NullScore
		formats = append(formats, c.Formats...)
	}
	all := agg.Counts()
	all.Skipped, all.Formats = skipped, formats
	return all, nil
}

// noteInput records what reading --data left out or read differently from
// plain battles: arena-hard judgments, skipped self-battles, weights.
func noteInput(job *kernel.Job, c *datasets.ArenaCounts) {
	prm := job.Params
	var hard []string
	for i, f := range c.Formats {
		if f == datasets.ArenaFormatArenaHard {
			hard = append(hard, job.Data[i])
		}
	}
	if len(hard) > 0 {
		job.Note("arena_hard: read %s as arena-hard judgments: every game a battle against baseline %s, game 2 with the positions swapped, strong verdicts (A>>B, B>>A) weighing %g; %d games without a verdict (score null) skipped",
			strings.Join(hard, ", "), prm.String(ParamBaseline), prm.Float(ParamStrongWeight), c.Skipped.NullScore)
		job.SetFinal("null_scores_skipped", float64(c.Skipped.NullScore))
		if prm.String(ParamAnchor) == "" {
			job.Note("arena_hard: set anchor=%s for the benchmark's score, the predicted win rate against the baseline (table vs_anchor)", prm.String(ParamBaseline))
		}
	}
	if prm.String(ParamSelfBattles) == datasets.SelfBattlesSkip {
		job.SetFinal("self_battles_skipped", float64(c.Skipped.Self))
		if c.Skipped.Self > 0 {
			job.Note("self_battles=skip: dropped %d battles of a model against itself", c.Skipped.Self)
		}
	}
	if c.Skipped.ZeroWeight > 0 {
		job.Note("skipped %d battles of weight 0 (a row repeated zero times)", c.Skipped.ZeroWeight)
	}
	if c.Weighted() {
		job.Note("weighted battles (%d rows, summed weight %g): a battle of weight w counts w times in the fit; the bootstrap resamples rows, each keeping its weight; the leaderboard's battles, wins, losses and ties are weighted sums",
			c.Battles(), c.TotalWeight())
	}
}

// intervalCells are the ci_low and ci_high cells of model i: nil (JSON
// null) without a bootstrap, where no interval exists.
func intervalCells(iv []Interval, i int) (low, high any) {
	if iv == nil {
		return nil, nil
	}
	return iv[i].Low, iv[i].High
}

// VsAnchor returns the predicted win rate of every model against the
// anchor from Elo ratings, P = σ((r_m − r_anchor)·ln 10/400) = σ(θm − θa),
// indexed like rating (the anchor's own is ½).
func VsAnchor(rating []float64, anchor int) []float64 {
	out := make([]float64, len(rating))
	for i, r := range rating {
		out[i] = 1 / (1 + math.Exp(-(r-rating[anchor])/EloPerLogit))
	}
	return out
}

// vsAnchorTable adds table vs_anchor: every model's predicted win rate
// against the anchor, with the 2.5/97.5% quantiles of the same quantity
// over the bootstrap replicates (null without them), in leaderboard order.
func vsAnchorTable(job *kernel.Job, models []string, rating []float64, boot [][]float64, anchor int, order []int) {
	p := VsAnchor(rating, anchor)
	var iv []Interval
	if len(boot) > 0 {
		reps := make([][]float64, len(boot))
		for r, b := range boot {
			reps[r] = VsAnchor(b, anchor)
		}
		iv = Intervals(reps)
	}
	t := job.AddTable("vs_anchor", "model", "win_rate", "ci_low", "ci_high")
	for _, i := range order {
		low, high := intervalCells(iv, i)
		t.Add(models[i], p[i], low, high)
	}
}

// winRateTables adds table win_rate: the empirical win rate of every model
// over every other it met, ties as half, battles counted with their weights,
// rows and columns in leaderboard order. With more than maxModels models it
// keeps the pairs among the maxModels models with the most battles (ties
// broken by leaderboard order) and notes so; full then adds every pair as
// win_rate_full.
func winRateTables(job *kernel.Job, c *datasets.ArenaCounts, order []int, maxModels int, full bool) {
	k := len(c.Models)
	if k <= maxModels {
		winRateTable(job, "win_rate", c, order)
		return
	}
	battles := make([]float64, k)
	for i, w := range c.Weights() {
		p := c.Pairs[i]
		battles[p.A] += w.Total()
		battles[p.B] += w.Total()
	}
	top := append([]int(nil), order...)
	sort.SliceStable(top, func(x, y int) bool { return battles[top[x]] > battles[top[y]] })
	keep := make([]bool, k)
	for _, i := range top[:maxModels] {
		keep[i] = true
	}
	var rows []int
	for _, i := range order {
		if keep[i] {
			rows = append(rows, i)
		}
	}
	winRateTable(job, "win_rate", c, rows)
	msg := "win_rate: %d models, more than heatmap_models = %d: table win_rate and its heatmap keep the pairs among the %d models with the most battles"
	if full {
		winRateTable(job, "win_rate_full", c, order)
		job.Note(msg+"; table win_rate_full has every pair that met (full_tables=true)", k, maxModels, maxModels)
	} else {
		job.Note(msg+"; set full_tables=true for every pair (table win_rate_full)", k, maxModels, maxModels)
	}
}

// winRateTable adds table name: the win rate of a over b for every pair of
// rows (model indices, in table order) that met. Counts are dense m×m for
// up to 2,000 rows, else a sorted list of the pairs that met.
func winRateTable(job *kernel.Job, name string, c *datasets.ArenaCounts, rows []int) {
	k := len(c.Models)
	slot := make([]int, k) // position in rows + 1; 0: left out
	for x, i := range rows {
		slot[i] = x + 1
	}
	m := len(rows)
	wr := job.AddTable(name, "model_a", "model_b", "win_rate")
	type cell struct {
		a, b        int
		score, game float64 // wins + ties/2 of a over b, battles
	}
	var cells []cell
	for i, w := range c.Weights() {
		p := c.Pairs[i]
		a, b := slot[p.A]-1, slot[p.B]-1
		if a < 0 || b < 0 {
			continue
		}
		t := (w.Ties + w.BothBad) / 2
		n := w.Total()
		cells = append(cells, cell{a, b, w.WinsA + t, n}, cell{b, a, w.WinsB + t, n})
	}
	if m <= 2000 {
		score, games := make([]float64, m*m), make([]float64, m*m)
		for _, e := range cells {
			score[e.a*m+e.b] += e.score
			games[e.a*m+e.b] += e.game
		}
		for a := 0; a < m; a++ {
			for b := 0; b < m; b++ {
				if a != b && games[a*m+b] > 0 {
					wr.Add(c.Models[rows[a]], c.Models[rows[b]], score[a*m+b]/games[a*m+b])
				}
			}
		}
		return
	}
	// Stable: duplicates of a pair add up in the order of c.Pairs, as above.
	sort.SliceStable(cells, func(x, y int) bool {
		if cells[x].a != cells[y].a {
			return cells[x].a < cells[y].a
		}
		return cells[x].b < cells[y].b
	})
	for i := 0; i < len(cells); {
		e := cells[i]
		var s, n float64
		for ; i < len(cells) && cells[i].a == e.a && cells[i].b == e.b; i++ {
			s += cells[i].score
			n += cells[i].game
		}
		if e.a != e.b && n > 0 {
			wr.Add(c.Models[rows[e.a]], c.Models[rows[e.b]], s/n)
		}
	}
}

func boolMetric(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
