// Package dpo implements the DPO family of preference-optimisation losses,
// with provably robust DPO (rDPO), and trains log-linear and MLP policies
// with them on GoMLX.
//
// Paper: Sayak Ray Chowdhury, Anush Kini, Nagarajan Natarajan (2024),
// "Provably Robust DPO: Aligning Language Models with Noisy Feedback",
// arXiv:2403.00409. The robust loss matches TRL's loss_type="robust".
//
// With h = [log π_θ(y_w|x) − log π_ref(y_w|x)] − [log π_θ(y_l|x) − log π_ref(y_l|x)],
// β > 0 and an assumed flip rate ε ∈ [0, ½), the pair losses are
//
//	dpo:  −log σ(βh)                                    pairloss.Logistic
//	cdpo: −(1−ε) log σ(βh) − ε log σ(−βh)               pairloss.Conservative
//	ipo:  (h − 1/(2β))²                                 pairloss.IPO(β) (Square, m = 1/(2β))
//	rdpo: [−(1−ε) log σ(βh) + ε log σ(−βh)] / (1 − 2ε)  pairloss.Robust
//
// and a batch loss is their weighted mean Σ w_i ℓ(h_i) / Σ w_i. If each label
// is flipped with probability ε (h → −h), (1−ε)·rdpo(h) + ε·rdpo(−h) = dpo(h):
// rDPO is unbiased for the clean DPO loss, and keeps its minimiser; cDPO and
// DPO are biased toward π_ref. rDPO is convex in h but unbounded below per
// pair (slope −βε/(1−2ε) as h → ∞), so a log-linear θ may need a bound
// (Config.Radius) when n is small or ε overstates the true flip rate.
//
// The losses are package pairloss's (one softplus form, one range check);
// the names dpo, cdpo, ipo and rdpo are this family's: Kind.PairLoss maps
// a name, β and ε to the pairloss.Loss, whose Pairs and Mean build it in a
// GoMLX graph and whose Float64 and MeanFloat64 evaluate it in float64.
//
// Policies over a finite candidate set per prompt: log-linear
// π_θ(y|x) ∝ π_ref(y|x)·exp(θ·φ(x, y)), for which h = θ·(φ(y_w) − φ(y_l)), and
// an MLP f replacing θ·φ. Train fits them with GoMLX autodiff and Adam or
// SGD, starting at π_ref, on the shared training loop of package fit
// (fit.Loop, fit.Batcher, fit's optimizers and hyperparameters optimizer,
// learning_rate, steps, batch_size, eval_every). On the planted testbed (datasets.GeneratePrefs:
// r* = w*·φ, Bradley–Terry labels flipped at a known rate) it measures the
// policy exactly against the optimum of the KL-regularised objective
//
//	J(π) = E_x[ E_{y∼π} r*(x, y) − β KL(π(·|x) ‖ π_ref(·|x)) ],
//	π* ∝ π_ref·exp(r*/β), θ* = w*/β,
//
// reporting the gap J* − J(π) and ‖θ − θ*‖/‖θ*‖.
//
// Precision: the param dtype (fit.ParamDType, Config.DType) sets the float
// type of the policy's variables, inputs and graphs. Its default, auto,
// trains the MLP in float32 and the log-linear policy, an exact testbed,
// in float64. The metrics are computed in float64 either way: the
// log-linear policy's in Go from θ, the MLP's from its float32 or float64
// scores. A float32 MLP run ends within 1e-4 of the float64 run of the same
// seed in loss and gap (measured ≤ 3.2e-5), with the same accuracies;
// dtype=float64 is the MLP of before the param to about 4e-15 (relative;
// the plain mean loss is now summed by pairloss.SumSoftplusNeg).
//
// The plugin dpo.sweep
// compares the losses across flip rates and sample sizes; Sweep runs it
// from a SweepConfig (notebooks/02-robust-dpo.ipynb, replicate rdpo).
//
// The plugins dpo.dpo, dpo.cdpo, dpo.ipo and dpo.rdpo record, every
// eval_every steps, the series loss, accuracy (h > 0 as labelled, ties ½),
// accuracy_clean (against the labels before flipping), margin (mean βh)
// and, on planted data, gap and param_error; finals add J and J_star; the
// log-linear policy's θ is the table theta (index, value). Without --data
// they generate the planted testbed; with it they read JSONL comparisons
// (datasets.LoadPrefs). dpo.sweep reports the tables sweep (gap, parameter
// error, shrinkage, cosine and clean accuracy per loss and ε, means over
// replicates with standard errors), param_error_vs_epsilon and
// param_error_vs_n, with the rDPO theory lines ∝ 1/(1−2ε) and ∝ 1/√n.
//
// # Saved models
//
// A run of dpo.dpo, dpo.cdpo, dpo.ipo or dpo.rdpo hands back its final
// Policy (kernel.Job.SetModel; Fit.Policy): θ, or the MLP's weights, in
// GoMLX's checkpoint format (package artifact; float32 or float64 arrays,
// the run's dtype) with PolicyFile (loss, β, ε, architecture, sizes,
// dtype; a policy saved without a dtype is float64). π_ref is not saved:
// h does not depend on it.
// Loaded back (kernel.Load), the policy scores comparisons in the --data
// format without training (Policy.Score, `alignlab score`): per pair h,
// βh and σ(βh) in the table scores; loss, accuracy, mean_margin and
// log_loss as finals. Scoring a run's own files gives its final loss,
// accuracy and margin bit for bit. A run can start from a saved policy
// (`run --model DIR`, Config.Init) instead of π_ref.
package dpo
