// Package sb implements the Light Schrödinger Bridge (Korotin, Gushchin,
// Burnaev 2023, "Light Schrödinger Bridge", arXiv 2310.01174) and checks it
// against entropic OT pairs whose plan is known in closed form (Gushchin et
// al. 2023, "Building the Bridge of Schrödinger", arXiv 2306.10161), as the
// plugin "sb.light".
//
// # Model and loss
//
// The Schrödinger potential is a Gaussian mixture with diagonal S_k; its
// log-weights, means and log-diagonals are learned with GoMLX (autodiff,
// Adam, float32):
//
//	v_θ(y) = Σ_k α_k N(y | r_k, εS_k)
//	c_θ(x) = ∫ exp(⟨x, y⟩/ε) v_θ(y) dy = Σ_k α_k exp((xᵀS_k x + 2 r_kᵀx)/(2ε))
//	L(θ)   = mean_{x0 ~ P₀} log c_θ(x0) − mean_{x1 ~ P₁} log v_θ(x1)
//
// L(θ) equals KL(π*‖π_θ) up to a constant. It is not a loss on preference
// pairs, so it is written here (Trainer's graph, Model.Loss in float64), not
// taken from package pairloss. Fit minimises it on fit.Loop, the one
// training loop: Adam (fit.NewOptimizer, ε = 1e-8 as in the paper's code)
// on fresh minibatches of both marginals, the shared params learning_rate,
// steps, batch_size and eval_every declared by fit.Params and read by
// fit.Read, the mean minibatch loss of each eval_every window recorded, and
// a NaN or infinite loss stopping the run at its step. The learned plan
// and bridge are
//
//	π_θ(y|x) = Σ_k w_k(x) N(y | r_k + S_k x, εS_k),   w_k(x) ∝ α_k exp((xᵀS_k x + 2 r_kᵀx)/(2ε))
//	dX_t = g_θ(X_t, t) dt + √ε dW_t,   g_θ(x, t) = ε∇_x log ∫ N(x'|x, (1−t)εI) exp(‖x'‖²/(2ε)) v_θ(x') dx'
//
// with g_θ in closed form (Model.Drift). Sampling (Model.SamplePlan,
// Model.SampleSDE by Euler–Maruyama) runs in plain Go float64 from the
// learned parameters, seeded.
//
// # Convention for ε
//
// ε is the variance of the bridge's Brownian noise, as in the paper. The
// static problem is min_π ∫ ½‖x − y‖² dπ − ε H(π), whose plan is
// π(x, y) ∝ f(x) exp(−‖x − y‖²/(2ε)) g(y). The known-truth pairs of
// datasets.EOTPair use π*(y|x) ∝ N(y | x, εI)·g(y): the normal's variance is
// the same ε, which TestEOTPlanFactorises in datasets checks (with
// ‖x − y‖²/(4ε), i.e. the cost ‖x − y‖² at regulariser ε, the
// factorisation fails).
//
// # Metric
//
// cBW₂²-UVP (EntropicOTBenchmark's definition), in %:
//
//	100 · mean_x [½‖m̂ − m*‖² + ½ tr Σ̂ + ½ tr Σ* − tr (Σ̂^½ Σ* Σ̂^½)^½] / (½ Var(P₁))
//
// over test x ~ P₀, with (m̂, Σ̂) the mean and covariance (divisor n − 1) of
// the model's samples of y|x and (m*, Σ*) the true conditional's mean and
// covariance (the mean of the component covariances plus the covariance of
// the component means). EvaluateCBW also reports the value from the model
// plan's exact moments, the noise floor (samples of the true plan) and the
// independent plan π(y|x) = P₁(y) for scale.
//
// # What the plugin reports
//
// Series loss; finals loss, cbw2_uvp, cbw2_uvp_exact, cbw2_uvp_floor,
// cbw2_uvp_independent, target_variance, kl_plan (known plans only); tables
// samples (x, y, kind ∈ source/target/model/sde), trajectories and
// parameters; charts of the loss, the samples and the trajectories.
//
// Benchmark is a kernel.Study of sb.light over D × (ε, learning rate) on
// the eot_mixture pairs: a result whose table puts each cell's cBW₂²-UVP
// next to the paper's LightSB number, with a declared bar chart of the two.
package sb
