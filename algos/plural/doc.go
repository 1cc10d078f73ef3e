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
// The models (each a plugin reporting held-out accuracy per true group and
// overall, next to the baseline and the two bounds) are described in the
// files that implement them: PAL (Chen et al. 2024, arXiv:2406.08469),
// MiCRo (Shen et al. 2025, arXiv:2505.24846) and RLBFF (Wang et al. 2025,
// arXiv:2509.21319).
package plural
