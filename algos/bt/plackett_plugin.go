package bt

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// This file holds the bt.plackett_luce plugin: rankings of named items
// fitted by FitPlackettLuce (plackett.go) beside pairwise Bradley–Terry on
// the rank breaking, with bootstrap intervals; ranked candidate lists
// trained with PRO (pro.go).

// Parameter keys of bt.plackett_luce besides the shared ones (the training
// params fit.ParamOptimizer, fit.ParamLearningRate, fit.ParamSteps and
// fit.ParamEvalEvery; ParamL2, ParamHoldout, ParamDim, ParamRewardScale,
// ParamBootstrapRounds, ParamPrior, ParamTolerance, ParamMaxIterations).
const (
	// ParamMode (choice, default "items"): the generator used without
	// --data — "items" (Plackett–Luce rankings of named items) or
	// "candidates" (PRO lists of feature vectors with rewards). With --data
	// the file's kind decides.
	ParamMode = "mode"
	// ParamItems (int, default 8): items of the generated rankings.
	ParamItems = "items"
	// ParamRankings (int, default 300): generated rankings.
	ParamRankings = "rankings"
	// ParamListLength (int, default 4): items per generated ranking.
	ParamListLength = "list_length"
	// ParamOffered (int, default 0): the size of the offered set each
	// generated ranking is the top list_length of (0: complete rankings of
	// list_length items).
	ParamOffered = "offered"
	// ParamSpread (float, default 1): standard deviation of the planted θ.
	ParamSpread = "spread"
	// ParamTemperature (choice, default "dynamic"): PRO's temperature —
	// "dynamic" (from reward differences) or "constant" (T = 1, the
	// Plackett–Luce likelihood).
	ParamTemperature = "temperature"
	// ParamLists (int, default 200): generated training lists of candidates.
	ParamLists = "lists"
	// ParamTestLists (int, default 500): generated held-out lists.
	ParamTestLists = "test_lists"
	// ParamCandidates (int, default 6): candidates per generated list.
	ParamCandidates = "candidates"
	// ParamRewardNoise (float, default 1): standard deviation of the reward
	// model's error; lists are ranked by r* + noise.
	ParamRewardNoise = "reward_noise"
)

// The values of ParamMode.
const (
	ModeItems      = datasets.RankingItems
	ModeCandidates = datasets.RankingCandidates
)

// Papers of bt.plackett_luce.
var (
	PaperPlackett = kernel.Paper{Authors: "R. L. Plackett", Year: 1975, Title: "The analysis of permutations"}
	PaperLuce     = kernel.Paper{Authors: "R. D. Luce", Year: 1959, Title: "Individual choice behavior: A theoretical analysis"}
	PaperHunter   = kernel.Paper{Authors: "D. R. Hunter", Year: 2004, Title: "MM algorithms for generalized Bradley–Terry models"}
	PaperPRO      = kernel.Paper{Authors: "F. Song, B. Yu, M. Li, H. Yu, F. Huang, Y. Li, H. Wang", Year: 2023,
		Title: "Preference ranking optimization for human alignment", ArXiv: "2306.17492"}
)

func init() { kernel.Register(plPlugin{}) }

type plPlugin struct{}

var (
	_ kernel.Plugin = plPlugin{}
	_ kernel.Quick  = plPlugin{}
)

// QuickParams are small params that still draw random numbers (the
// rankings, the bootstrap resamples).
func (plPlugin) QuickParams() map[string]any {
	return map[string]any{ParamBootstrapRounds: 10, ParamRankings: 60}
}

func (plPlugin) Info() kernel.Info {
	def := DefaultPROConfig()
	// Generator params (kernel.Generators) shape the rankings drawn without
	// --data; with it the file decides, mode included.
	params := kernel.Generators(
		kernel.ChoiceParam(ParamMode, ModeItems, []string{ModeItems, ModeCandidates}, "no --data: rankings of items, or PRO lists of candidates (with --data the file decides)"),
	)
	params = append(params,
		kernel.IntParam(ParamBootstrapRounds, DefaultBootstrapRounds, 0, 100000, "items: bootstrap resamples of the rankings for 95% intervals (0: none)"),
		kernel.FloatParam(ParamPrior, DefaultPrior, 0, 1e6, "items: weight of a virtual tie per item vs. a θ=0 player, used when θ would be infinite"),
		kernel.Param{Key: ParamTolerance, Type: kernel.Float, Default: DefaultTolerance, Range: kernel.Range{Min: 0, Max: 1, MinExclusive: true},
			Doc: "items: stop the MM iterations when max |Δθ| is below this"},
		kernel.IntParam(ParamMaxIterations, DefaultMaxIterations, 1, 10000000, "items: MM iteration cap per fit"),
	)
	params = append(params, kernel.Generators(
		kernel.IntParam(ParamItems, 8, 2, 1<<16, "no --data, items: number of items"),
		kernel.IntParam(ParamRankings, 300, 1, 1<<24, "no --data, items: number of rankings"),
		kernel.IntParam(ParamListLength, 4, 2, 1<<16, "no --data, items: items per ranking (≤ items)"),
		kernel.IntParam(ParamOffered, 0, 0, 1<<16, "no --data, items: each ranking is the top list_length of this many offered items (list_length ≤ offered ≤ items; 0: complete rankings)"),
		kernel.Param{Key: ParamSpread, Type: kernel.Float, Default: 1.0, Range: kernel.Range{Min: 0, Max: 100, MinExclusive: true},
			Doc: "no --data, items: standard deviation of the planted log-strengths"},
	)...)
	params = append(params,
		kernel.ChoiceParam(ParamTemperature, def.Temperature, []string{TemperatureDynamic, TemperatureConstant}, "candidates: PRO's T from reward differences, or T = 1 (Plackett–Luce)"),
	)
	params = append(params, fit.Params(fit.Defaults{
		Optimizers:   []string{fit.Adam, fit.SGD},
		LearningRate: def.LearningRate, MaxLR: math.Inf(1),
		Steps:     def.Steps,
		EvalEvery: def.EvalEvery,
		Doc: map[string]string{
			fit.ParamOptimizer:    "candidates: GoMLX optimizer",
			fit.ParamLearningRate: "candidates: optimizer learning rate",
			fit.ParamSteps:        "candidates: optimizer steps",
			fit.ParamEvalEvery:    "candidates: steps between recorded metrics",
		},
	})...)
	params = append(params,
		kernel.FloatParam(ParamL2, def.L2, 0, math.Inf(1), "candidates: adds l2·‖θ‖²"),
		kernel.FloatParam(ParamHoldout, 0.2, 0, 0.9, "candidates, --data: fraction of lists held out for the test metrics"),
	)
	params = append(params, kernel.Generators(
		kernel.IntParam(ParamDim, 16, 1, 1<<14, "no --data, candidates: feature dimension"),
		kernel.IntParam(ParamLists, 200, 1, 1<<24, "no --data, candidates: training lists"),
		kernel.IntParam(ParamTestLists, 500, 1, 1<<24, "no --data, candidates: held-out lists"),
		kernel.IntParam(ParamCandidates, 6, 2, 1<<12, "no --data, candidates: candidates per list"),
		kernel.Param{Key: ParamRewardScale, Type: kernel.Float, Default: 2.0, Range: kernel.Range{Min: 0, Max: 100, MinExclusive: true},
			Doc: "no --data, candidates: standard deviation of the planted reward r*"},
		kernel.FloatParam(ParamRewardNoise, 1, 0, 100, "no --data, candidates: the reward model's error; lists are ranked by r* + noise"),
	)...)
	return kernel.Info{
		ID:        "bt.plackett_luce",
		Precision: "float64, in plain Go (gonum), no GoMLX graph: the Newton and MM solvers fit the likelihood to its maximum.",
		Summary:   "Plackett–Luce on rankings of any length: item ratings by MM (vs pairwise BT), and PRO's loss for a log-linear policy (GoMLX)",
		Papers:    []kernel.Paper{PaperPlackett, PaperLuce, PaperHunter, PaperPRO},
		Params:    params,
		Data: []kernel.DataFormat{
			{Name: "rankings of items (JSONL)", Doc: `one ranking per line, best first: ranking is an array of at least 2 distinct item
names (strings); lists may have any length and cover any subset of the items. offered,
optional per line, is the set the ranking is the top of (distinct names, every ranked item
among them): the ranked items were chosen over the offered ones left out. Without it the
ranking is complete: its items are all that were offered`,
				Example: `{"ranking": ["aurora-70b", "cedar-13b"], "offered": ["aurora-70b", "cedar-13b", "ember-7b", "fir-3b"]}`},
			{Name: "ranked candidates (JSONL)", Doc: `one list per line, best first: candidates is an array of at least 2 feature vectors
(numbers, the same length on every line); rewards, optional (every line or none), are the
scores the list was ranked by, one per candidate, non-increasing; the dynamic temperature
needs them`,
				Example: `{"candidates": [[0.5, 1.0], [0.2, -0.3], [-1.0, 0.4]], "rewards": [2.1, 0.3, -0.8]}`},
		},
		Doc: `Plackett–Luce (Luce 1959; Plackett 1975): a ranking y¹ ≻ y² ≻ … ≻ yⁿ has probability

    P = Π_{k=1}^{n−1} exp(s_k) / Σ_{i ≥ k} exp(s_i)

(Bradley–Terry when n = 2). Two uses:

items (rankings of named items): s = θ_item. A ranking may be the top k of a larger
offered set S (field offered): π_1 ≻ … ≻ π_k chosen from S, the rest of S unranked, with

    P = Π_{j=1}^{k} exp(θ_{π_j}) / Σ_{m ∈ S \ {π_1 … π_{j−1}}} exp(θ_m)

(k stages: the k-th item is still chosen over the unranked rest; with S = the ranked items
it is the complete ranking's probability above). Maximum likelihood by Hunter's (2004) MM
    γ_i ← W_i / Σ_rankings Σ_{stages j with i in the choice set C_j} 1/Σ_{m ∈ C_j} γ_m,
γ = e^θ, W_i the stages i won; a prior (virtual tie with a θ = 0 player) keeps θ finite for
items always ranked first or last (or only ever offered). Side by side, Bradley–Terry fitted
to the full rank breaking (every ranked item beats every item below it and every unranked
offered item, as independent battles).
Reports: table ratings (item, theta, ci_low, ci_high from bootstrap resamples of the
rankings, theta_pairwise, planted), finals log_likelihood, iterations, converged,
items, rankings, top_k_rankings (those with a larger offered set), prior,
kendall_tau_pl_pairwise, and on generated data
pl_rmse / pairwise_rmse (θ against the planted θ, both centered) and
pl_kendall_tau / pairwise_kendall_tau; a leaderboard chart and a scatter of estimated
against planted θ.

candidates (PRO, Song et al. 2023, arXiv 2306.17492): a log-linear policy over each
list's candidates, s_i = log π_θ(y_i) = log-softmax(θ·φ), trained with GoMLX on

    ℓ = Σ_{k=1}^{n−1} [ log Σ_{i ≥ k} exp(s_i T^k_i) − s_k T^k_k ],
    T^k_i = r(y^k) − r(y^i) (i > k),   T^k_k = max_{i > k} T^k_i,

the dynamic temperature from the rewards r the list was ranked by (temperature=constant:
T = 1, the Plackett–Luce negative log-likelihood). PRO's SFT term has no counterpart
here (there is no language model). Reports: series loss, test_top1, test_kendall_tau;
finals train_loss, test_top1 (best-scored candidate = reference best), test_kendall_tau
(mean per-list τ-b of θ·φ against the reference: the planted r* on generated data, else
the given order) and, on generated data, cos_theta (cosine of θ with the planted reward
direction); table theta.

Without --data: mode=items draws rankings of list_length random items ordered by
θ + Gumbel noise (an exact Plackett–Luce draw, θ ~ N(0, spread²)), or with offered > 0 the
top list_length of offered random items; mode=candidates
draws lists of φ ~ N(0, I_dim) ranked by a noisy reward model r* + reward_noise·ε.
With --data the file's kind decides and result.provenance.data records each file's shape:
kind, rankings, items and top_k_rankings (items), or kind, lists, dim and rewards
(candidates).`,
		Model: `what the run trained, by its data: on rankings of items the Plackett–Luce
log-strengths (array theta, mean 0; model.json names the items), on ranked candidates the
PRO policy's θ (array pro/theta [dim, 1], its GoMLX variable path; model.json gives dim).
Item ratings — score --data FILE…: rankings of items (offered sets as run reads them);
rankings offering an item the ratings do not know are skipped and counted (a note names a
few). Table scores: ranking (position, file after file), length, offered, first,
favourite (the offered item of highest θ), log_likelihood (the ranking's Plackett–Luce
log-likelihood, top-k with offered), top1 (1 when first is the favourite, shared on ties).
Finals: log_likelihood (the sum: the run's log_likelihood on its training file),
mean_log_likelihood, top1, rankings, rankings_skipped. sample --n N --data FILE: N
Plackett–Luce draws (Gumbel-max) of each ranking's length from its offered set: table
samples (ranking, sample, order "a > b > …").
PRO policy — score --data FILE…: ranked candidate lists of its dimension. Table scores:
list, candidates, log_prob_first (log π_θ of the list's best), log_likelihood (of the
given order, Plackett–Luce with s = θ·φ), top1, kendall_tau (τ-b of θ·φ against the
given order), loss (PRO's, at the temperature param; T = 1 without rewards). Finals:
lists, log_likelihood, mean_log_likelihood, top1, kendall_tau, loss (with holdout=0, on
the training file: the run's train_top1, train_kendall_tau, train_loss). sample --n N
--data FILE: N candidates drawn from π_θ per list: table samples (list, sample,
candidate, its 0-based position as given, log_prob).`,
		Init: `on rankings of items the saved log-strengths start the MM fit, matched by item name
(items the saved ratings do not know start at θ = 0, and a note names them; bootstrap fits
start from the fit as always): from its own optimum the fit stops after one iteration. On
ranked candidates the saved policy's θ starts the training (same dimension); the optimizer
starts fresh, so with sgd n steps from a policy saved after m steps are the m + n steps of
one run. The saved model must be of the kind the data train.`,
	}
}

func (plPlugin) Run(job *kernel.Job) error {
	prm := job.Params
	if len(job.Data) == 0 {
		if prm.String(ParamMode) == ModeItems {
			cfg := datasets.PLConfig{Items: prm.Int(ParamItems), Rankings: prm.Int(ParamRankings), Length: prm.Int(ParamListLength),
				Spread: prm.Float(ParamSpread), Offered: prm.Int(ParamOffered)}
			r, err := datasets.GeneratePLRankings(cfg, job.Rand())
			if err != nil {
				return err
			}
			if cfg.Offered > cfg.Length {
				job.Note("no --data: %d Plackett–Luce top-%d lists of %d offered of %d items with planted θ ~ N(0, %g²)", cfg.Rankings, cfg.Length, cfg.Offered, cfg.Items, cfg.Spread)
			} else {
				job.Note("no --data: %d Plackett–Luce rankings of %d of %d items with planted θ ~ N(0, %g²)", cfg.Rankings, cfg.Length, cfg.Items, cfg.Spread)
			}
			return runPLItems(job, r)
		}
		cfg := datasets.CandidateRankingsConfig{Dim: prm.Int(ParamDim), Lists: prm.Int(ParamLists), TestLists: prm.Int(ParamTestLists),
			Candidates: prm.Int(ParamCandidates), Scale: prm.Float(ParamRewardScale), RewardNoise: prm.Float(ParamRewardNoise)}
		train, test, err := datasets.GenerateCandidateRankings(cfg, job.Rand())
		if err != nil {
			return err
		}
		job.Note("no --data: %d lists of %d candidates (dim %d) ranked by a reward model r* + N(0, %g²) noise, planted r* of scale %g; %d held-out lists scored against r*",
			cfg.Lists, cfg.Candidates, cfg.Dim, cfg.RewardNoise, cfg.Scale, cfg.TestLists)
		return runPRO(job, train, test)
	}
	var all *datasets.Rankings
	for i, path := range job.Data {
		r, err := datasets.LoadRankings(path)
		if err != nil {
			return err
		}
		job.DataShape(i, rankingsShape(r)...)
		if all == nil {
			all = r
			continue
		}
		if err := appendRankings(all, r, path); err != nil {
			return err
		}
	}
	if all.Kind == datasets.RankingItems {
		return runPLItems(job, all)
	}
	train, test := splitRankings(all, prm.Float(ParamHoldout), job.Rand())
	if test == nil {
		job.Note("holdout = 0: no held-out lists, only training metrics")
	}
	return runPRO(job, train, test)
}

// rankingsShape is what one rankings file held, for Job.DataShape: its
// kind, and rankings, items and top_k_rankings (those with a larger
// offered set) of items, or lists, dim and rewards of candidates.
func rankingsShape(r *datasets.Rankings) []any {
	if r.Kind == datasets.RankingItems {
		return []any{"kind", r.Kind, "rankings", len(r.Lists), "items", len(r.Items), "top_k_rankings", topKRankings(r)}
	}
	return []any{"kind", r.Kind, "lists", len(r.Candidates), "dim", r.Dim, "rewards", r.Rewards != nil}
}

// topKRankings counts the rankings of items chosen from a larger offered set.
func topKRankings(r *datasets.Rankings) int {
	n := 0
	for l := range r.Lists {
		if r.Unranked(l) != nil {
			n++
		}
	}
	return n
}

// appendRankings appends the rankings of r (read from path) to all.
func appendRankings(all, r *datasets.Rankings, path string) error {
	if r.Kind != all.Kind {
		return &datasets.Error{File: path, Msg: fmt.Sprintf("want rankings of %s like the first file, got %s", all.Kind, r.Kind)}
	}
	if all.Kind == datasets.RankingItems {
		index := map[string]int{}
		for i, it := range all.Items {
			index[it] = i
		}
		remap := func(l []int) []int {
			m := make([]int, len(l))
			for p, i := range l {
				j, ok := index[r.Items[i]]
				if !ok {
					j = len(all.Items)
					index[r.Items[i]] = j
					all.Items = append(all.Items, r.Items[i])
				}
				m[p] = j
			}
			return m
		}
		if r.Offered != nil && all.Offered == nil {
			all.Offered = make([][]int, len(all.Lists), len(all.Lists)+len(r.Lists))
		}
		for n, l := range r.Lists {
			all.Lists = append(all.Lists, remap(l))
			if all.Offered == nil {
				continue
			}
			var s []int
			if r.Offered != nil && r.Offered[n] != nil {
				s = remap(r.Offered[n])
			}
			all.Offered = append(all.Offered, s)
		}
		return nil
	}
	if r.Dim != all.Dim || (r.Rewards == nil) != (all.Rewards == nil) {
		return &datasets.Error{File: path, Msg: fmt.Sprintf("want candidates of dimension %d (rewards %v) like the first file, got %d (rewards %v)",
			all.Dim, all.Rewards != nil, r.Dim, r.Rewards != nil)}
	}
	all.Candidates = append(all.Candidates, r.Candidates...)
	if all.Rewards != nil {
		all.Rewards = append(all.Rewards, r.Rewards...)
	}
	return nil
}

// splitRankings holds out a seeded fraction of candidate lists (see holdOut).
func splitRankings(all *datasets.Rankings, frac float64, r *rand.Rand) (train, test *datasets.Rankings) {
	trainIdx, testIdx := holdOut(all.Len(), frac, r)
	if testIdx == nil {
		return all, nil
	}
	mk := func(idx []int) *datasets.Rankings {
		out := *all
		out.Candidates = make([][][]float64, len(idx))
		if all.Rewards != nil {
			out.Rewards = make([][]float64, len(idx))
		}
		for i, j := range idx {
			out.Candidates[i] = all.Candidates[j]
			if all.Rewards != nil {
				out.Rewards[i] = all.Rewards[j]
			}
		}
		return &out
	}
	return mk(trainIdx), mk(testIdx)
}

func runPLItems(job *kernel.Job, r *datasets.Rankings) error {
	prm := job.Params
	set := PLSettings{Prior: prm.Float(ParamPrior), Tolerance: prm.Float(ParamTolerance), MaxIterations: prm.Int(ParamMaxIterations)}
	if init := job.InitModel(); init != nil {
		var err error
		if set.Init, err = initPLItems(job, init, r); err != nil {
			return err
		}
	}
	if err := CheckPlackettLuce(r); err != nil {
		var ne *NoMLEError
		if errors.As(err, &ne) && set.Prior > 0 {
			job.Note("prior: θ would be infinite (%s); every item gets a virtual tie of weight %g against a θ = 0 player", ne.Reason(), set.Prior)
		}
	}
	pl, err := FitPlackettLuce(r, &set)
	if err != nil {
		return err
	}
	if !pl.Converged {
		job.Note("the MM fit stopped at %d iterations with max |Δθ| = %.3g > tolerance %g", pl.Iterations, pl.MaxStep, set.Tolerance)
	}
	pair, err := FitNewton(BreakRankings(r), &Settings{Prior: set.Prior, Tolerance: set.Tolerance, MaxIterations: set.MaxIterations})
	if err != nil {
		return err
	}
	k := len(r.Items)
	low, high := make([]float64, k), make([]float64, k)
	for i := range low {
		low[i], high[i] = math.NaN(), math.NaN()
	}
	if rounds := prm.Int(ParamBootstrapRounds); rounds > 0 {
		job.SetTotal(int64(rounds))
		rng := job.Rand()
		boot := make([][]float64, 0, rounds)
		bset := set
		bset.Init = pl.Theta
		// A resample may lose the finite maximum: give it the prior then.
		if bset.Prior == 0 {
			bset.Prior = DefaultPrior
		}
		for b := 1; b <= rounds; b++ {
			f, err := FitPlackettLuce(resampleRankings(r, rng), &bset)
			if err != nil {
				return err
			}
			boot = append(boot, f.Theta)
			if err := job.Step(int64(b)); err != nil {
				return err
			}
		}
		for i, iv := range Intervals(boot) {
			low[i], high[i] = iv.Low, iv.High
		}
	}
	var planted []float64
	if r.Truth != nil {
		planted = r.Truth.Theta
	}
	order := make([]int, k)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return pl.Theta[order[a]] > pl.Theta[order[b]] })
	t := job.AddTable("ratings", "item", "theta", "ci_low", "ci_high", "theta_pairwise", "planted")
	est := job.AddTable("estimates", "method", "planted", "estimate")
	for _, i := range order {
		p := math.NaN()
		if planted != nil {
			p = planted[i]
		}
		t.Add(r.Items[i], pl.Theta[i], low[i], high[i], pair.Theta[i], p)
	}
	job.SetFinal("log_likelihood", pl.LogLikelihood)
	job.SetFinal("iterations", float64(pl.Iterations))
	job.SetFinal("converged", boolMetric(pl.Converged))
	job.SetFinal("items", float64(k))
	job.SetFinal("rankings", float64(len(r.Lists)))
	job.SetFinal("top_k_rankings", float64(topKRankings(r)))
	job.SetFinal("prior", pl.Prior)
	if tau, err := KendallTau(pl.Theta, pair.Theta); err == nil {
		job.SetFinal("kendall_tau_pl_pairwise", tau)
	}
	job.SetModel(&PLItemsModel{Items: r.Items, Theta: pl.Theta})
	job.AddChart(kernel.Chart{Kind: "leaderboard", ID: "ratings", Title: "Plackett–Luce log-strengths θ (95% bootstrap CI)",
		Table: "ratings", Label: "item", Value: "theta", Low: "ci_low", High: "ci_high"})
	if planted != nil {
		for _, m := range []struct {
			name  string
			theta []float64
		}{{"plackett_luce", pl.Theta}, {"pairwise", pair.Theta}} {
			for i := range planted {
				est.Add(m.name, planted[i], m.theta[i])
			}
			var sq float64
			for i := range planted {
				sq += (m.theta[i] - planted[i]) * (m.theta[i] - planted[i])
			}
			prefix := "pl"
			if m.name == "pairwise" {
				prefix = "pairwise"
			}
			job.SetFinal(prefix+"_rmse", math.Sqrt(sq/float64(k)))
			if tau, err := KendallTau(m.theta, planted); err == nil {
				job.SetFinal(prefix+"_kendall_tau", tau)
			}
		}
		job.AddChart(kernel.Chart{Kind: "scatter", ID: "estimates", Title: "Estimated vs planted θ: Plackett–Luce and pairwise BT on the rank breaking",
			Table: "estimates", X: "planted", Y: "estimate", Group: "method", XLabel: "planted θ", YLabel: "estimated θ"})
	} else {
		delete(job.Result.Tables, "estimates")
	}
	return nil
}

func runPRO(job *kernel.Job, train, test *datasets.Rankings) error {
	prm := job.Params
	cfg := PROConfig{Temperature: prm.String(ParamTemperature), Config: fit.Read(prm), L2: prm.Float(ParamL2), Backend: job.Backend}
	var init []float64
	if m := job.InitModel(); m != nil {
		var err error
		if init, err = initPRO(job, m, train.Dim); err != nil {
			return err
		}
	}
	job.SetTotal(int64(cfg.Steps))
	theta, err := TrainPROFrom(job.Context(), train, test, cfg, init, job.Record)
	if err != nil {
		return err
	}
	job.SetModel(&PROPolicy{Theta: theta})
	tm := EvaluateRankings(train, theta, cfg.Temperature)
	job.SetFinal("lists", float64(train.Len()))
	job.SetFinal("train_loss", tm.Loss)
	job.SetFinal("train_top1", tm.Top1)
	setIfFinite(job, "train_kendall_tau", tm.KendallTau)
	if test != nil {
		m := EvaluateRankings(test, theta, cfg.Temperature)
		job.SetFinal("test_lists", float64(test.Len()))
		job.SetFinal("test_top1", m.Top1)
		setIfFinite(job, "test_kendall_tau", m.KendallTau)
	}
	t := job.AddTable("theta", "feature", "theta", "planted")
	var w []float64
	if train.Truth != nil {
		w = train.Truth.W
		job.SetFinal("cos_theta", cosine(theta, w))
	}
	for i, v := range theta {
		p := math.NaN()
		if w != nil {
			p = w[i]
		}
		t.Add(i, v, p)
	}
	series := []string{"loss"}
	job.AddChart(kernel.Chart{Kind: "line", ID: "loss", Title: "PRO loss (" + cfg.Temperature + " temperature)", Series: series})
	if test != nil {
		job.AddChart(kernel.Chart{Kind: "line", ID: "test", Title: "Held-out ranking quality", Series: []string{"test_top1", "test_kendall_tau"}})
	}
	return nil
}

func cosine(a, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += a[i] * b[i]
		aa += a[i] * a[i]
		bb += b[i] * b[i]
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

// resampleRankings draws len(r.Lists) rankings (with their offered sets)
// with replacement.
func resampleRankings(r *datasets.Rankings, rng *rand.Rand) *datasets.Rankings {
	out := *r
	out.Lists = make([][]int, len(r.Lists))
	if r.Offered != nil {
		out.Offered = make([][]int, len(r.Lists))
	}
	for i := range out.Lists {
		j := rng.IntN(len(r.Lists))
		out.Lists[i] = r.Lists[j]
		if r.Offered != nil {
			out.Offered[i] = r.Offered[j]
		}
	}
	return &out
}
