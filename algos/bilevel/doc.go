// Package bilevel learns how much to trust each source of training data by
// bilevel optimisation against a small clean validation set, after
//
//	Rui Pan, Dylan Zhang, Hanning Zhang, Xingyuan Pan, Minrui Xu, Jipeng
//	Zhang, Renjie Pi, Xiaoyu Wang, Tong Zhang (2024). ScaleBiO: Scalable
//	Bilevel Optimization for LLM Data Reweighting. arXiv:2406.19976.
//
// # Objective and updates
//
// Training example i comes from source s(i) ∈ {1, …, S}, with n_k examples
// in source k. The weights p = softmax(λ), λ₀ = 0 (uniform), enter the
// training loss, and L₁ is the loss on the clean validation set:
//
//	L₂(θ, λ) = Σ_i p_{s(i)}/n_{s(i)} · ℓ_i(θ) = Σ_k p_k ℓ̄_k(θ)
//	bilevel:   min_λ L₁(θ*(λ)),  θ*(λ) = argmin_θ L₂(θ, λ)
//
// ScaleBiO replaces the bilevel problem by the first-order minimax (no
// Hessian, no unrolling), with a penalty weight α that grows by a factor
// per round:
//
//	min_{w, λ} max_u  L₁(w) + α L₂(w, λ) − α L₂(u, λ)
//
//	u ← u − η_u · α ∇_u L₂(u, λ)
//	w ← w − η_w · (∇L₁(w) + α ∇_w L₂(w, λ))
//	λ ← λ − η_λ · α (∇_λ L₂(w, λ) − ∇_λ L₂(u, λ))
//	  = λ − η_λ · α J (ℓ̄(w) − ℓ̄(u)),   J = diag(p) − p pᵀ
//
// u tracks the lower-level solution θ*(λ); w trades the validation loss
// against staying near it; a source whose mean loss is higher at w than at
// u pulls w away from the validation optimum and loses weight. The three
// blocks step simultaneously, each with its own GoMLX Adam (or AdamW, whose
// decay applies to w and u only) state and learning rate, made by
// fit.NewOptimizer. LambdaGradient is the closed form of the λ-direction;
// the tests check GoMLX's autodiff against it.
//
// Every optimizer loop (ScaleBiO's and each baseline's) runs on fit.Loop,
// which stops on a cancelled context and on a non-finite loss, naming the
// step; ScaleBiO's loss there is the minimax objective
// L₁(w) + α(L₂(w, λ) − L₂(u, λ)). The shared hyperparameters (optimizer,
// learning_rate, steps, eval_every) are package fit's (fit.Params,
// fit.Read, Config's embedded fit.Config); learning_rate_u,
// learning_rate_lambda and adam_weight_decay are this package's.
//
// # Inner models
//
// logistic regression (z = w·x + b) and a one-hidden-layer tanh MLP on
// binary labels, with the per-example log-loss
//
//	ℓ = softplus(z) − y·z   (GoMLX's Softplus)
//
// and model dpo, a log-linear policy π_θ ∝ π_ref·exp(θ·φ) on preference
// pairs, whose loss is DPO's pair loss, pairloss.Loss{Kind:
// pairloss.Logistic, Beta: β} from algos/pairloss,
//
//	ℓ = −log σ(βh),   h = θ·(φ(y_w) − φ(y_l)),
//
// reweighting sources of preference pairs with different flip rates, the
// case the paper targets. Everything is full batch in float64.
//
// # Baselines and reports
//
// Compare trains, from the same start and for the same number of steps:
// uniform (p_k = 1/S), oracle (only the sources with the lowest known flip
// rate), val_only (the validation set alone), val_filter (each source scored
// by its mean loss under the val_only model, those above the lowest plus a
// margin dropped, uniform weights on the rest), scalebio (the minimax's w)
// and scalebio_retrain (a fresh model trained with ScaleBiO's final weights
// fixed). The plugin bilevel.reweight records the weights over training
// (series weight/<source>, val_loss, penalty, alpha; objective only at the
// step where training diverged) and reports the tables
// methods (method, val_logloss, test_logloss, test_accuracy), weights
// (source, flip_rate, weight) and filter, with charts of each.
//
// # Saved model
//
// A run hands back a Reweighted (kernel.Job.SetModel; `run --out DIR`
// writes DIR/model): ScaleBiO's final λ and weights, and the inner model
// retrained with those weights fixed (scalebio_retrain), as arrays in
// GoMLX's checkpoint format (package artifact) beside model.json (inner
// model, dimension, hidden units or β, source names). Its Score measures
// the retrained model on a file in the run's formats, with or without
// sources, without training: log_loss and accuracy, overall and per
// source; scoring the run's TEST file reproduces its test_logloss and
// test_accuracy of scalebio_retrain exactly. A run can start from a saved
// model (`run --model DIR`): its λ, matched to the sources by name, is
// ScaleBiO's starting λ (the models start fresh).
//
// Data: datasets.GenerateSources (a planted logistic model, per-source
// label flips) or datasets.GeneratePrefSources (the DPO testbed's
// log-linear pairs, per-source flips), or JSONL files read by
// datasets.LoadSources and datasets.LoadPrefSources.
package bilevel
