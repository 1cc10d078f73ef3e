// Package bt fits Bradley–Terry ratings to pairwise battles between models,
// as on the Chatbot Arena leaderboard, and registers the bt.ratings plugin;
// it also trains Bradley–Terry reward models (bt.reward, bt.reward_losses),
// fits Plackett–Luce to rankings of any length (bt.plackett_luce), compares
// it with pairwise Bradley–Terry on the rank breaking (bt.pl_vs_pairwise)
// and measures the rank agreement of leaderboards (bt.compare).
//
// Papers:
//   - R. A. Bradley and M. E. Terry (1952), "Rank analysis of incomplete
//     block designs: I. The method of paired comparisons", Biometrika 39.
//   - D. R. Hunter (2004), "MM algorithms for generalized Bradley–Terry
//     models", Annals of Statistics 32(1).
//   - W.-L. Chiang et al. (2024), "Chatbot Arena: An open platform for
//     evaluating LLMs by human preference", arXiv:2403.04132.
//   - P. V. Rao and L. L. Kupper (1967), "Ties in paired-comparison
//     experiments: a generalization of the Bradley–Terry model", JASA 62.
//   - R. R. Davidson (1970), "On extending the Bradley–Terry model to
//     accommodate ties in paired comparison experiments", JASA 65.
//   - Z. Wang et al. (2024), "HelpSteer2-Preference: Complementing ratings
//     with preferences", arXiv:2410.01257.
//   - F. Song et al. (2023), "Preference ranking optimization for human
//     alignment" (PRO), arXiv:2306.17492.
//   - R. D. Luce (1959), "Individual choice behavior"; R. L. Plackett
//     (1975), "The analysis of permutations", JRSS C 24.
//   - M. G. Kendall (1938), "A new measure of rank correlation",
//     Biometrika 30; C. Spearman (1904).
//
// # Model
//
// Each model i has a log-strength θi (γi = e^θi). Battles are deduplicated
// into counts per unordered pair {a, b}: wins of a (w_ab), wins of b (w_ba)
// and ties t_ab ("tie" and "tie (bothbad)" alike). The log-likelihoods are
//
//	half (default):  ℓ = Σ_{a,b} (w_ab + t_ab/2) log σ(θa − θb) + (w_ba + t_ab/2) log σ(θb − θa)
//	Rao–Kupper:      ℓ = Σ w_ab log σ(θa − θb − η) + w_ba log σ(θb − θa − η)
//	                     + t_ab [log σ(η − θa + θb) + log σ(η + θa − θb) + log(1 − e^{−2η})],  κ = e^η ≥ 1
//	Davidson:        ℓ = Σ w_ab log γa + w_ba log γb + t_ab log(ν√(γaγb)) − n_ab log(γa + γb + ν√(γaγb)),  ν ≥ 0
//
// with n_ab = w_ab + w_ba + t_ab. "half" is the Chatbot
// Arena (FastChat) loss −Σ w[o log p + (1−o) log(1−p)] with o = ½ for a
// tie. All three are concave in θ and in log κ (log ν) and invariant when
// every θ moves together: results are shifted to mean θ = 0.
//
// # Solvers
//
// FitMM is Hunter's minorization–maximization: for "half"
//
//	γi ← W_i / Σ_j n_ij/(γi + γj),    W_i = wins_i + ties_i/2;
//
// for Rao–Kupper Hunter's (2004) updates, where a tie counts as a win of
// each side against the handicap κ:
//
//	γi ← (wins_i + ties_i) / Σ_j [(w_ij + t_ij)/(γi + κγj) + κ(w_ji + t_ij)/(γj + κγi)],
//	κ  ← T/C + √(1 + (T/C)²),   T = all ties,  C = Σ_{i≠j} (w_ij + t_ij) γj/(γi + κγj);
//
// for Davidson [derived here the same way, after bounding √(γiγj) above by
// ½(γi√(γj/γi) + γj√(γi/γj)) at the current point (AM–GM)]:
//
//	γi ← (wins_i + ties_i/2) / Σ_j n_ij (1 + ν/2·√(γj/γi)) / (γi + γj + ν√(γiγj)),
//	ν  ← T / Σ_{i<j} n_ij √(γiγj) / (γi + γj + ν√(γiγj)).
//
// Every update raises ℓ (γ renormalized to geometric mean 1, the tie
// parameter updated after γ).
// FitNewton takes Newton steps in (θ, log κ or log ν) with a backtracking
// line search; both stop when max |Δθ| < tolerance and agree to ~1e-9.
//
// # Existence and the prior
//
// The maximum is finite iff the graph "i beat or tied j" is strongly
// connected (Hunter 2004, Assumption 1): a model with no wins or no losses
// would get θ = ∓∞. Then (or always, with Settings.PriorAlways) every model
// gets a virtual tie of weight w against a player of θ = 0, the concave term
// w·[½ log σ(θi) + ½ log σ(−θi)], which keeps every θ finite and barely moves
// well-measured models; the plugin says so in a note.
//
// # Elo scale and bootstrap
//
// rating = 400/ln 10 · θ + offset (FastChat: p = σ(ln 10 (r_a − r_b)),
// Elo = 400 r + 1000), the offset putting an anchor model, or the mean, at
// 1000 by default. Confidence intervals: refit on multinomial resamples of the
// count vector (Resample; the same law as resampling battles with
// replacement), warm-started from the full fit, and take the 2.5/97.5 %
// quantiles per model (Intervals). A resample draws each non-empty cell's
// count from an independent Poisson with the cell's count as mean (given
// their sum s, such counts are Multinomial(s, counts/n)), then removes
// s − n drawn battles uniformly without replacement, or adds n − s battles
// drawn with replacement; either leaves Multinomial(n, counts/n) exactly,
// with no exp or log per cell. Replicates keep the full data's pairs and
// redraw only their weights (Bootstrap).
//
// # The plugin
//
// bt.ratings reads battles (JSONL, JSON array or CSV; see
// datasets.LoadBattles) or, without --data, the embedded sample arena, and
// reports the tables leaderboard (model, rating, ci_low, ci_high, battles,
// wins, losses, ties) and win_rate (model_a, model_b, win_rate), the final
// metrics log_likelihood, iterations, models, battles, max_step, grad_norm,
// converged, prior (and tie_param for the tie models), a leaderboard chart
// and a win-rate heatmap.
//
// Real arena files load as they are: a battle may carry a weight (a
// non-negative real: the fit counts it w times, the bootstrap resamples
// battle rows each keeping its weight, and the leaderboard's battles, wins,
// losses and ties are weighted sums); gzip input is detected by its magic
// bytes; self_battles=skip drops a model's battles against itself (default
// error); format=arena_hard reads arena-hard-auto judgment files (each game a
// battle against the baseline, "A>>B" and "B>>A" counting strong_weight
// times). With an anchor, the table vs_anchor gives every model's predicted
// win rate against it, σ(ln 10·(r_m − r_anchor)/400), with its bootstrap
// interval. Without a bootstrap the intervals are JSON null.
//
// # Reward models (bt.reward, bt.reward_losses)
//
// A reward model r_θ(z), z = [prompt features, response features], linear
// or a tanh MLP, is trained with GoMLX autodiff on pairs y_w ≻ y_l
// (datasets.RewardPairs: feature vectors, or text hashed by
// datasets.HashFeatures) minimising Σ w_i ℓ_i / Σ w_i with, for
// Δ = r(y_w) − r(y_l) and preference strength m,
//
//	bt:         ℓ = −log σ(Δ)                               (pairloss.Logistic, β = 1, h = Δ)
//	margin_bt:  ℓ = −log σ(Δ − m)                           (pairloss.Margin, β = 1, m per pair)
//	scaled_bt:  ℓ = −m · log σ(Δ)                           (m × pairloss.Logistic)
//	regression: ℓ = ½[(r(y_w) − s_w)² + (r(y_l) − s_l)²]   (ratings s; not a pair loss)
//
// The pairwise losses are package pairloss's, computed in the stable form
// −log σ(z) = pairloss.SoftplusNeg(z) and averaged by
// pairloss.WeightedMean. regression_then_scaled_bt is the
// HelpSteer2-Preference recipe: regression first, then scaled BT from its
// weights with a fresh optimizer. Each stage is a fit.Loop, its steps
// counted across the stages; optimizer, learning_rate, steps, batch_size
// and eval_every are package fit's shared params (fit.Params, fit.Read),
// and mini-batches are drawn by fit.Batcher. TrainReward reports accuracy and
// margin, and on planted data (datasets.GenerateRewardPairs,
// datasets.GenerateHelpSteer) the Bayes accuracy of the planted reward, the
// accuracy against the true ordering and the correlation with r*.
// CompareRewardLosses trains all variants on the same HelpSteer-like data and
// splits held-out accuracy on the true ordering by true strength bucket.
// Measured on its default (linear model, 1,000 pairs, 3 repeats) the paper's
// ordering does not reproduce: regression > margin BT > BT ≥ scaled BT, and
// regression→scaled BT ends where scaled BT does, because a linear model's
// scaled-BT loss is convex and its second stage converges (see
// notebooks/01-bradley-terry.ipynb).
//
// # Plackett–Luce and PRO (bt.plackett_luce, bt.pl_vs_pairwise)
//
// A ranking y¹ ≻ … ≻ yⁿ has Plackett–Luce probability
// Π_k exp(s_k) / Σ_{i≥k} exp(s_i). For named items (s = θ_item)
// FitPlackettLuce is Hunter's MM,
//
//	γi ← W_i / Σ_rankings Σ_{stages k with i remaining} 1/Σ_{j≥k} γj,
//
// which is FitMM when every ranking has 2 items. A top-k list chosen from a
// larger offered set S (the rankings' offered field) has probability
// Π_{j≤k} exp(θ_{π_j}) / Σ_{m ∈ S∖{π_1…π_{j−1}}} exp(θ_m): the items never
// ranked stay in every denominator. For candidate lists (PRO,
// Song et al. 2023) a log-linear policy s = log-softmax(θ·φ) minimises
//
//	Σ_k [ log Σ_{i≥k} exp(s_i T^k_i) − s_k T^k_k ],  T^k_i = r(y^k) − r(y^i),  T^k_k = max_{i>k} T^k_i,
//
// or T ≡ 1 (the Plackett–Luce likelihood), full batch on a fit.Loop
// (TrainPRO).
//
// bt.pl_vs_pairwise (PLVersusPairwise) draws Plackett–Luce rankings of
// planted strengths for a growing number of rankings and compares the
// recovery (RMSE, Kendall τ) of FitPlackettLuce with that of FitNewton on
// the full rank breaking (BreakRankings), which treats the pairs of a
// ranking as independent.
//
// # Rank agreement (bt.compare)
//
// KendallTau (τ-b, with ties) and SpearmanRho (average ranks) compare two
// leaderboards; CompareLeaderboards adds 95% bootstrap intervals, over the
// battles when both leaderboards come from battles, else over the models.
// A leaderboard is read from battles, a result JSON, or a plain model,score
// table (CSV with a model and a score/rating/elo column, or JSON), detected
// from the file's content.
//
// # Saved models
//
// The three training plugins hand back what they fit (kernel.Job.SetModel;
// `alignlab run --out DIR` writes DIR/model): bt.ratings a RatingsModel
// (θ per model, the tie model and parameter, the Elo anchor),
// bt.reward a TrainedReward (the network's layers under the variable
// paths of its GoMLX store, and the input it reads), bt.plackett_luce a
// PLItemsModel (θ per item) or a PROPolicy (θ per feature), whichever its
// data trained. The arrays are a GoMLX checkpoint (package artifact); the
// names, dimensions and architecture are ModelFile beside them, read back
// by each plugin's LoadModel. Without training, Score measures a model on
// new files in the formats run reads, and on the training file gives the
// run's own numbers (bt.ratings: log_loss = −log_likelihood / battle
// weight; bt.reward and PRO with holdout=0: the train_ metrics;
// Plackett–Luce items: log_likelihood); the Plackett–Luce models also
// Sample rankings (Gumbel-max) or candidates (from π_θ). A run given a
// saved model (`run --model DIR`) starts from it: ratings and item
// strengths matched by name, from their own optimum ending after one
// iteration; reward networks and PRO policies of the same shape, the
// optimizer fresh.
package bt
