// Package plural holds pluralistic and principle-based reward models:
// preferences that differ between users, and rewards a user composes from
// named principles — each against the single Bradley–Terry reward model
// that assumes one reward shared by everyone.
//
// The planted population (GeneratePopulation): K groups with mixture
// weights π_k and ideal points p_k in an m-dimensional latent space, items
// with features φ_i ∈ R^d sent there by a linear map A, so group k rewards
//
//	r_k(i) = −‖A φ_i − p_k‖²,   P_k(a ≻ b) = σ(r_k(a) − r_k(b)),
//
// users drawn from the groups with contexts that carry a signal of their
// group, and comparisons drawn per user. A predictor that does not know
// the user is at best right with probability E_pairs max(P̄, 1 − P̄),
// P̄ = Σ_k π_k P_k (IrreducibleAccuracy, exact over the item pool); one
// that knows each user's group, E_pairs Σ_k π_k max(P_k, 1 − P_k)
// (OracleAccuracy).
//
// The baseline (FitBT) is one score per item fitted to everyone's
// comparisons with the logistic pair loss −log σ(s_w − s_l) (algos/pairloss)
// on the shared loop (algos/fit). Learned groups are matched to the planted
// ones by the Hungarian assignment of reward correlations (MatchGroups).
//
// The models, each a plugin reporting held-out accuracy per true group and
// overall next to the baseline and the two bounds (the full derivations,
// and where they depart from the papers, head pal.go, micro.go, rlbff.go):
//
// plural.micro — MiCRo (Shen et al. 2025, "MiCRo: Mixture Modeling and
// Context-aware Routing for Personalized Preference Learning",
// arXiv:2505.24846): K̂ reward heads S_k and weights π, from the binary
// labels s_c = ±1 alone (Δ_k(c) = S_k,A − S_k,B), then a router
// π(x) = softmax(V x + b) on the user's context, heads frozen:
//
//	L = −(1/C) Σ_u log Σ_k π_k Π_{c ∈ u} σ(s_c Δ_k(c))   (per user; per comparison as in the paper: level=comparison)
//
// plural.pal — PAL-A (Chen et al. 2024, "PAL: Pluralistic Alignment
// Framework for Learning from Heterogeneous Preferences", arXiv:2406.08469):
// an item map W, K prototypes p_k, a user's ideal point
// a_u = Σ_k softmax(z_u)_k p_k, few-shot fits of new users' z with W and p
// frozen:
//
//	h = ‖W φ_B − a_u‖² − ‖W φ_A − a_u‖²,   L = mean −log σ(h) + λ_z Σ‖z_u‖² + λ_H Σ H(softmax(z_u))
//
// plural.rlbff — RLBFF (Wang et al. 2025, "RLBFF: Binary Flexible Feedback
// to bridge between Human Feedback & Verifiable Rewards", arXiv:2509.21319):
// one logistic head per principle j on binary judgments "item i satisfies
// j", and a user's reward composed from the principles they choose:
//
//	P̂_j(i) = σ(w_j·φ_i + b_j),   L = mean −log σ(±(w_j·φ_i + b_j)),   r_c(i) = Σ_j c_j P̂_j(i)
//
// Saved models: each run hands back what it trained (kernel.Job.SetModel;
// `run --out DIR` writes DIR/model) — MicroTrained (the mixture heads, the
// router and the BT baseline), PALTrained (the item map, the prototypes,
// the users' logits, the pool's features and the BT baseline) and
// RLBFFTrained (the principle heads, the pool's features and the BT
// baseline) — as named arrays in GoMLX's checkpoint format
// (algos/artifact) beside a model.json of dimensions and choices. The
// plugins generate their data and read no --data file, so `alignlab score`
// reads a JSONL format of the family's own: the generators' comparisons
// {"user", "chosen", "rejected"} (with the user's "context" for MiCRo's
// router, "fit": true for the comparisons PAL fits a user's weights to
// before scoring the rest, a "weighting" or "weights" for RLBFF) and
// RLBFF's judgments {"item", "principle", "yes"}; items are indices into
// the run's pool (the same seed and params make the same pool), or for
// RLBFF their features. Scoring a run's own held-out data reproduces its
// accuracies exactly. plural.rlbff can start from a saved model (its heads
// start the fit); `describe` says what each plugin saves and scores.
package plural
