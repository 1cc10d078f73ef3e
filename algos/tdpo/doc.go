// Package tdpo implements token-level DPO (TDPO1, TDPO2) and, for
// comparison, DPO on small autoregressive policies trained with GoMLX, with
// exact sequential-KL diagnostics and the reward–KL frontier.
//
// Paper: Yongcheng Zeng, Guoqing Liu, Weiyu Ma, Ning Yang, Haifeng Zhang,
// Jun Wang (2024), "Token-level Direct Preference Optimization",
// arXiv:2404.11999. The losses and the implicit rewards follow the
// authors' code (Vance0124/Token-level-Direct-Preference-Optimization).
//
// For a prompt x and a response y = (y_0, …, y_{T−1}), with
//
//	u(x, y)     = Σ_t [log π_θ(y_t|x, y<t) − log π_ref(y_t|x, y<t)]
//	SeqKL(x, y) = Σ_t KL(π_ref(·|x, y<t) ‖ π_θ(·|x, y<t))
//
// and δ_w, δ_l the SeqKL of the chosen and rejected responses, the pair
// losses are
//
//	dpo:   −log σ(β(u_w − u_l))
//	tdpo1: −log σ(β[(u_w − u_l) − (δ_l − δ_w)])
//	tdpo2: −log σ(β[(u_w − u_l) − α(δ_l − sg(δ_w))])
//
// with sg the stop-gradient (graph.StopGradient) and the paper's defaults
// β = 0.1, α = 0.5; a batch loss is their mean. The package's own part is
// the argument z = β[…] (Logits); −log σ(z) and the batch mean are
// pairloss's logistic loss (pairloss.Loss{Kind: Logistic, Beta: 1} on z,
// β being already in z), so PairLosses (a GoMLX graph) and PairLossFloat64
// (float64) share pairloss's stable softplus. The implicit rewards are
// β·u (DPO) and β·(u + δ) (TDPO); reward accuracy and margin compare them.
//
// Policies (Spec, Net): a tabular model, a logits table indexed by (prompt,
// previous token), and a one-layer GRU over one-hot (prompt, previous
// token) inputs — both over a vocabulary of V tokens, responses of fixed
// length T, P prompts. Net.LogProbs gives every position's conditional in
// one call; Sample draws responses (seeded); Sequences enumerates all V^T
// responses; NewTree evaluates a model at every prefix when P·V^(T−1) ≤
// MaxEnumerate.
//
// The task (NewTask), the paper's IMDb sentiment task made exact: a true
// text process, a Markov chain whose positive and negative tokens lean with
// the prompt, writes an SFT corpus; the reference π_ref, of the policy's
// architecture, is fitted to it by maximum likelihood (so π_ref is a real
// model, not uniform); pairs of distinct responses are sampled from π_ref
// and labelled by Bradley–Terry on the known reward
//
//	r(y) = #positive tokens − ½ · #negative tokens.
//
// Training, of π_ref by SFT and of the policy by Train, runs on fit's
// loop (fit.Loop: it stops on a cancelled context and on a NaN or infinite
// loss, naming the step), with fit's Adam and mini-batches (fit.Batcher:
// slices of a permutation redrawn each epoch). learning_rate, steps,
// batch_size and eval_every are fit's shared params; sft_learning_rate and
// sft_steps are the package's.
//
// Train starts the policy at π_ref and measures, besides the pair metrics,
// the whole-response KL(π_θ ‖ π_ref) and the expected reward: exactly for a
// tabular policy (dynamic programming over the previous token) and for an
// enumerable GRU (the prefix tree), else by sampling (SampledMeasures).
// Tree.Optimal gives the exact optimum π* ∝ π_ref·exp(r/β) of
// E r − β·KL, which traces the best reward–KL frontier any policy can reach.
// Frontier sweeps losses, β and α and compares the methods' frontiers at
// equal KL with it.
//
// Plugins: tdpo.dpo, tdpo.tdpo1 and tdpo.tdpo2 — one per loss, with the
// same params, so that with one seed they train on the same task, pairs
// and mini-batches — record the series loss, reward_accuracy, margin,
// seqkl_chosen, seqkl_rejected, kl and reward every eval_every steps, with
// finals (those, reward_ref, optimal_reward at the final KL, sft_loss,
// sft_entropy, label_accuracy) and a table of sampled responses.
// tdpo.frontier runs Frontier and reports the tables frontier and
// at_kl with a scatter chart of the frontier. None reads --data: the task
// is generated from the seed. Their IDs before the move to the tdpo
// namespace (dpo.tdpo_dpo, dpo.tdpo1, dpo.tdpo2, dpo.tdpo_frontier) still
// run, as deprecated aliases. notebooks/03-token-level-dpo.ipynb shows what
// reproduces: the KL control of TDPO2, and how little its frontier differs
// from DPO's on these small models.
//
// # Saved models
//
// A run of tdpo.dpo, tdpo.tdpo1 or tdpo.tdpo2 hands back a Policy
// (kernel.Job.SetModel): the trained policy's and the reference's weights
// in GoMLX's checkpoint format (package artifact), with PolicyFile (loss,
// β, α, the sequence space, the architecture, the reward's token
// classes). Loaded back (kernel.Load), it scores sequence pairs without
// training (Policy.Score, `alignlab score`; the JSON Lines of LoadPairs
// and WritePairs, {"prompt": 0, "chosen": [...], "rejected": [...]}):
// sequence log-probabilities, log ratios u, SeqKLs, implicit-reward
// margins and the loss per pair, and the training metrics as finals —
// bit for bit the run's final ones on its own pairs. It samples responses
// for each prompt (Policy.Sample, `alignlab sample`). A run can start its
// policy from a saved one (`run --model DIR`) instead of a copy of π_ref.
package tdpo
