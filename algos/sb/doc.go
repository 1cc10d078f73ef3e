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
// # Defaults, and fidelity to the authors' code
//
// Given identical starting values and minibatches, Trainer and the
// authors' PyTorch code (bench/lightsb, both storing the weights as
// ε·log α) stay together to float32 precision for 3,000 steps: largest
// |Δloss| 8e-5 at D = 16 and 4e-4 at D = 64 (ε = 0.1, lr 1e-3, losses
// 76–465), 1e-5 at D = 16, ε = 1, lr 3e-3. The math is the same. The
// defaults are the authors' benchmark settings (LightSB_EOT_benchmark.ipynb):
// S_k initialised to 1·I (param s_init; their LightSB class defaults to
// 0.1), the weights stored as ε·log α_k, and learning_rate 0 meaning the
// paper's rate for ε (1e-3, 3e-3, 6e-2 at ε = 0.1, 1, 10;
// DefaultLearningRateFor). steps defaults to 2,000 (the paper trains
// 10,000). Measured on the generated D = 16, ε = 0.1 pairs of seeds 1–5,
// 10,000 steps at 1e-3 (exact cBW₂²-UVP, mean ± s.e.): S init 0.1 with the
// weights stored as log α 0.26 ± 0.07 % (worst 0.55 %); S init 0.1 with
// ε·log α 0.26 ± 0.06 % (worst 0.46 %, 3 of 5 runs ≥ 0.22 %); S init 1
// with ε·log α 0.113 ± 0.010 % (worst 0.14 %), sampled 0.18 ± 0.01 %
// against the paper's 0.08 % and a noise floor of 0.066 ± 0.008 %.
//
// At ε = 10 with the paper's 6e-2 the two codes drift apart by float32
// round-off amplified by the large steps (|Δloss| 1e-5 after 100 steps,
// 0.02 after 1,000, 0.1 after 3,000 on losses ≈ 19), and on our pairs that
// setting ends an order of magnitude above S init 0.1 at 3e-3 (exact
// 0.14 / 0.23 % against 0.013 / 0.017 % at D = 2 / 16, seeds 1–5, 10,000
// steps): a known difference at ε = 10, not a different formula.
//
// The sampled metric has a floor of its own: the true plan scored with
// 1,000 samples per test x scores, on our pairs (mean of seeds 1–5),
// 0.014 / 0.066 / 0.21 % at ε = 0.1, 0.096 / 0.29 / 0.77 % at ε = 1 and
// 0.16 / 0.38 / 0.91 % at ε = 10 for D = 2 / 16 / 64: comparable to or
// above the paper's values, so a single seed says little. Benchmark
// reports the mean ± standard error over seeds of the sampled and exact
// values and of the floor side by side. The eot_* pairs are drawn by
// datasets.GenerateEOT in the benchmark's style, not its published
// parameters, so they compare with the paper's table in kind, not digit
// for digit; with the benchmark's parameter files converted to JSON
// (datasets.LoadEOTBenchmark), one --data file scores the real benchmark
// pair on its own test inputs and normaliser.
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
// Benchmark is a kernel.Study of sb.light over D × ε × seeds on the
// eot_mixture pairs: a result whose table puts each cell's cBW₂²-UVP
// (sampled, exact and floor, mean ± s.e. over the seeds, and the worst
// seed) next to the paper's LightSB number, with a declared bar chart.
// FullBenchmarkStudy is the paper's full table (D ∈ {2, 16, 64} ×
// ε ∈ {0.1, 1, 10}, 10,000 steps, 5 seeds) as one study, for the study
// command (FullBenchmarkCommand) to run in parallel or on a cluster.
package sb
