// Package nash aligns policies with general, possibly intransitive,
// preferences by playing the preference game to its Nash equilibrium, after
//
//   - Zhang, Yu, Peng, Song, Tian, Huo, Jiang, Mi, Yu (2024). Iterative Nash
//     Policy Optimization: Aligning LLMs with General Preferences via
//     No-Regret Learning. arXiv:2407.00617 (INPO);
//   - Rosset, Cheng, Mitra, Santacroce, Awadallah, Xie (2024). Direct Nash
//     Optimization: Teaching Language Models to Self-Improve with General
//     Preferences. arXiv:2404.03715 (DNO, DNO-Prct).
//
// # The game
//
// A preference oracle gives P(y ≻ y' | x) for two responses to a prompt x
// (datasets.Game: a K×K matrix per prompt, P + Pᵀ = 1, diagonal ½, cycles
// allowed). Two policies play the symmetric zero-sum game with payoff P − ½.
// A policy's exploitability e(π) = max_y P(y ≻ π) − ½ is 0 exactly at a Nash
// equilibrium (the duality gap is 2e). Nash solves the game by linear
// programming (gonum's simplex); RegularizedNash finds π*_τ, the equilibrium
// of the game regularised by τ·KL(π ‖ π_ref), the fixed point of
// π ∝ π_ref·exp(Pπ/τ), by mirror-prox, and checks the fixed-point residual.
//
// # Updates and losses
//
// With κ the step size (the INPO paper's 1/η), τ the regularisation, η the
// DNO scale, pairs drawn from π_t and labelled by the oracle:
//
//	INPO  exact   π_{t+1}(y) ∝ π_t(y)^{1−κτ} π_ref(y)^{κτ} exp(κ P(y ≻ π_t))
//	      loss    L_t(π) = E[(h_t − κ/2)²],
//	              h_t = log π(y_w)/π(y_l) − κτ log π_ref(y_w)/π_ref(y_l) − (1−κτ) log π_t(y_w)/π_t(y_l)
//	DNO   exact   π_{t+1}(y) ∝ π_t(y) exp(r_t(y)/η),  r_t(y) = P(y ≻ π_t)
//	      loss    −E[σ(r_t(y1) − r_t(y2)) log σ(ηΔ) + σ(r_t(y2) − r_t(y1)) log σ(−ηΔ)],
//	              Δ = log π/π_t (y1) − log π/π_t (y2)
//	Prct  loss    −E[log σ(η(log π/π_t (y_w) − log π/π_t (y_l)))] on best-vs-worst of sampled candidates
//	MWU   exact   π_{t+1}(y) ∝ π_t(y) exp(η P(y ≻ π_t))          (INPO with τ = 0)
//	BT    fit     max Σ wins_ij log σ(r_i − r_j) (pairs from π_ref), π = π_ref exp(r/β)
//
// Over a tabular policy the population minimiser of the INPO loss is the
// exact INPO update and the population optimum of the DNO loss is the exact
// DNO update; the tests check both, and that sampled updates approach them.
// Exact DNO is MWU with step 1/η: it has no pull towards π_ref, and its last
// iterate cycles like MWU's on an intransitive game.
//
// The per-pair losses come from package pairloss: INPO's is the square
// loss (h − m)² with margin m = κ/2 (β = 1), DNO's and DNO-Prct's the
// logistic loss −log σ(z) (β = 1) of z = ηΔ, the learner scaling the
// log-ratios by η before the loss; the soft labels use pairloss.Sigmoid.
//
// Sampled updates minimise the loss with GoMLX autodiff and Adam
// (fit.NewOptimizer, the shared steps and learning_rate params) over a
// tabular policy (a logit per prompt and action) or a log-linear one
// (π_θ(y|x) ∝ exp(θᵀφ(x,y)), θ shared by the prompts). Because a pair's
// loss depends only on (x, y_w, y_l), the sampled pairs are aggregated into
// a weight tensor over the X·K·K cells: the loss is the same mean, at a cost
// independent of the number of pairs. Adam's state is reset every iteration.
// Exact updates and all evaluation run in float64 in plain Go.
//
// Both loops run on fit.Loop: the iterations (one update per step, the
// metrics recorded after each) and, inside a sampled update, the Adam steps.
// A NaN or infinite loss stops the run as a kernel.DivergedError at its
// iteration, metric loss.
//
// # Convergence
//
// Linearised at π*_τ, the exact INPO update multiplies the D-norm
// (D = diag(π*_τ)) of the centred log-policy error by
//
//	ρ = √((1 − κτ)² + κ²μ²)   per iteration,
//
// μ the largest |eigenvalue| of the game's antisymmetric part P − ½ seen
// through D (INPOStabilityOf). It converges near π*_τ only when
// κ < 2τ/(τ² + μ²), fastest at κ = τ/(τ² + μ²), where ρ = μ/√(τ² + μ²):
// a small τ needs a small κ and many iterations. nash.inpo notes κ against
// that bound on every run and reports kappa_max and contraction_rate.
// nash.inpo, nash.dno and nash.mwu report a final converged (1 or 0)
// against the tolerance param: ‖π_T − π*_τ‖₁ for INPO, the last iterate's
// exploitability for DNO, the average iterate's for MWU; when it is 0 a
// note names the knob (kappa or iterations for INPO, pairs when sampled;
// eta and iterations for MWU, from its regret bound; for DNO, whose last
// iterate cycles on an intransitive game, another method). nash.compare
// reports converged/<method>. nash.bt_rlhf has no criterion: each round
// is a closed-form fit (FitBT errors if its MM does not converge).
//
// # Plugins
//
//	nash.inpo     INPO, mode exact | sampled, policy tabular | loglinear
//	nash.dno      DNO (variant dno) and DNO-Prct (variant prct), mode exact | sampled
//	nash.mwu      multiplicative weights, last and average iterate
//	nash.bt_rlhf  Bradley–Terry reward fit + KL-regularised optimum (one round by default)
//	nash.compare  all of them on one game, with one step size κ
//
// Each reports per iteration, as series and final values (means over
// prompts): exploitability, l1_nash (to the LP equilibrium), l1_tau_nash (to
// π*_τ, INPO and compare), winrate_ref (P(π_t ≻ π_ref)), winrate_prev
// (P(π_t ≻ π_{t−1})) and, in sampled mode, loss. Tables: policy (prompt,
// action, prob), policies (the first prompt's final policy next to π_ref,
// the Nash equilibrium and π*_τ, drawn as bars), preference (row, col, prob:
// a heatmap of the first prompt's matrix) and solutions. nash.mwu adds the
// _avg metrics of the average iterate; nash.compare names its series
// <metric>/<method> and adds a summary table.
//
// # Saved models
//
// nash.inpo, nash.dno, nash.mwu and nash.bt_rlhf hand back a PolicyModel
// (kernel.Job.SetModel; `run --out DIR` writes DIR/model): every prompt's
// final and average policy (the table iterates holds the same numbers),
// with π_ref and τ (INPO) or β (BT-RLHF), as arrays in GoMLX's checkpoint
// format (package artifact) beside model.json (plugin, action and prompt
// names). Its Score measures both policies on a game file of the same
// prompts × actions without training (exploitability, duality_gap, l1_nash,
// winrate_ref, and l1_tau_nash for INPO; _avg for the average policy);
// scoring the training game reproduces the run's finals exactly. Its
// Sample draws actions per prompt. nash.inpo, nash.dno and nash.mwu can
// start from a saved model (`run --model DIR`): its final policy is π_0
// instead of π_ref, so a run of T1 iterations continued for T2 ends where
// one of T1 + T2 does, and a run started at its equilibrium stays there.
//
// Without --data the plugins generate datasets.CyclicGame(5, 3, 1): five
// actions with transitive scores from ½ to −½ and a cycle of strength 3, whose
// Nash equilibrium mixes actions 0, 1 and 3 and whose top Bradley–Terry
// action is exploitable by 0.36. With --data (a game file) the game params
// (game, actions, cycle, spread, prompts, features) are generator params:
// they do not apply, the result leaves them out of its params, and records
// the file's shape (actions, prompts, features) beside its hash.
package nash
