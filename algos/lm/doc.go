// Package lm is the alignment pipeline on text, in miniature: supervised
// fine-tuning, a reward model, the DPO family, token-level DPO and INPO on a
// small transformer (package decoder), judged by a verifier, in an arena of
// its own checkpoints.
//
// The task (datasets.TextTask) is arithmetic: prompts "a+b=", a verifier
// that accepts the decimal sum, and a binary principle "answer in at most N
// characters" (as RLBFF's binary principles). SFT learns from noisy
// demonstrations (wrong_rate wrong sums, verbose_rate with filler);
// preference pairs are two samples of the SFT policy labelled by the
// verifier's score 2·correct + principle (ties dropped), optionally with
// labels flipped at a known rate. Every metric has ground truth.
//
// The plugins, all on fit.Loop and pairloss:
//
//	lm.sft     L = −Σ mask·log π(y_t | x, y<t) / Σ mask
//	lm.reward  L = −log σ(r(x, y_w) − r(x, y_l)), r a head on the SFT encoder
//	lm.dpo     h = [log π − log π_ref](y_w) − [log π − log π_ref](y_l)
//	           dpo −log σ(βh); cdpo (1−ε)(−log σ(βh)) + ε(−log σ(−βh));
//	           rdpo [(1−ε)(−log σ(βh)) − ε(−log σ(−βh))]/(1−2ε); ipo (h − 1/(2β))²
//	lm.tdpo    tdpo1 −log σ(β[h − (δ_l − δ_w)]); tdpo2 −log σ(β[h − α(δ_l − sg(δ_w))]),
//	           δ = Σ_t KL(π_ref(·|x, y<t) ‖ π(·|x, y<t)) over the completion
//	lm.inpo    (h_t − κ/2)², h_t = log π(y_w)/π(y_l) − κτ log π_ref(y_w)/π_ref(y_l)
//	           − (1−κτ) log π_t(y_w)/π_t(y_l), pairs from π_t labelled by a
//	           general (optionally intransitive) oracle P(y ≻ y')
//	lm.eval    verifier accuracy, principle rate, KL(π ‖ π_SFT) by sampling
//	           (with standard errors), and battles between checkpoints rated by
//	           bt.ratings (looked up in the registry: lm imports no family)
//
// Papers: DPO (Rafailov et al. 2023, arXiv 2305.18290), rDPO (Chowdhury,
// Kini, Natarajan 2024, arXiv 2403.00409), IPO (Azar et al. 2023, arXiv
// 2310.12036), TDPO (Zeng et al. 2024, arXiv 2404.11999), INPO (Zhang et al.
// 2024, arXiv 2407.00617). The formulas follow ../shared/PAPERS.md.
//
// Models chain through directories: save=DIR writes a checkpoint
// (decoder.Save), sft=DIR starts a preference run from it, models=a=DIR,…
// names checkpoints for lm.eval. Without sft=DIR a preference plugin trains
// its SFT reference itself with the sft_* params (once per process and
// settings: a cache keyed by every setting that determines the weights).
//
// Saved models: every training plugin hands back what it trained
// (kernel's Job.SetModel) as a *Model, a *Policy for all but lm.reward;
// `run --out DIR` writes it into DIR/model: the transformer in
// DIR/model/decoder (DecoderDir: decoder.Save's GoMLX checkpoint and
// manifest, tokenizer.json for a BPE) beside the kernel's manifest. A
// loaded model scores without training (Model.Score): a TRL preference
// file gives log π of both responses (a reward model: r of both and
// σ(r_w − r_l)) and pair_accuracy as the runs report it (a policy's needs
// the file's reference log-probs); a TRL SFT file gives log π per row and
// the nll sft_loss measures. A policy samples n completions per prompt
// (Policy.Sample), verified when the prompts are "a+b=" (without a file:
// the task's own prompts). --model DIR means init=DIR for lm.sft and
// sft=DIR for the others (lm.reward also takes a reward model, which its
// reward model then starts from); init, sft and models accept either kind
// of directory, and save=DIR still writes the bare checkpoint.
//
// Randomness: every run draws its task, SFT batches, pairs, training
// batches, evaluation samples and (lm.reward) held-out pairs from six
// streams of the job's seed, in that order, so lm.dpo and lm.tdpo at one seed see the same task, SFT
// model and pairs and differ only by their loss.
package lm
