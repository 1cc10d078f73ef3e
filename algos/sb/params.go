package sb

import "github.com/alignlab/alignlab/algos/fit"

// Hyperparameter keys of the sb.light plugin. learning_rate, steps,
// batch_size and eval_every are the shared training params of package fit
// (declared by fit.Params, read by fit.Read), under GoMLX's names.
const (
	ParamK            = "components"          // int ≥ 1, default 50: mixture components K of v_θ
	ParamEpsilon      = "epsilon"             // float > 0, default 0.1: the bridge's noise variance ε
	ParamLearningRate = fit.ParamLearningRate // float > 0, default 0.01: Adam's learning rate
	ParamSteps        = fit.ParamSteps        // int ≥ 1, default 2000: Adam steps
	ParamBatchSize    = fit.ParamBatchSize    // int ≥ 1, default 128: points of each marginal per step
	ParamEvalEvery    = fit.ParamEvalEvery    // int ≥ 1, default 20: steps per recorded loss (the window's mean)

	// The data.
	ParamSource  = "source"  // eot_mixture (default), eot_gaussian, gauss_to_swissroll, gaussians8_to_moons or files
	ParamDim     = "dim"     // int ≥ 1, default 2: dimension of the eot_* pairs
	ParamRotated = "rotated" // bool, default false: eot_mixture with randomly rotated potential covariances

	// Evaluation against the known plan (eot_* sources).
	ParamTestPoints  = "test_points"   // int ≥ 1, default 1000: test x for cBW₂²-UVP
	ParamSamplesPerX = "samples_per_x" // int ≥ 2, default 1000: plan samples per test x

	// Samples and trajectories for the charts.
	ParamPlotSamples  = "plot_samples" // int ≥ 0, default 1000: points per kind in the samples table
	ParamTrajectories = "trajectories" // int ≥ 0, default 12: SDE trajectories in the trajectories table
	ParamSDESteps     = "sde_steps"    // int ≥ 1, default 100: Euler–Maruyama steps from t = 0 to 1
)

// Defaults of the plugin's parameters.
const (
	DefaultK            = 50
	DefaultEpsilon      = 0.1
	DefaultLearningRate = 0.01
	DefaultSteps        = 2000
	DefaultBatchSize    = 128
	DefaultEvalEvery    = 20
	DefaultSInit        = 0.1 // LightSB's initial S_k = 0.1·I (not a parameter)

	DefaultDim          = 2
	DefaultTestPoints   = 1000
	DefaultSamplesPerX  = 1000
	DefaultPlotSamples  = 1000
	DefaultTrajectories = 12
	DefaultSDESteps     = 100
)

// The values of ParamSource.
const (
	SourceEOTMixture  = "eot_mixture"         // known plan: 3-Gaussian P₀, 5-Gaussian potential (datasets.EOTMixtureConfig)
	SourceEOTGaussian = "eot_gaussian"        // known plan: Gaussian to Gaussian (datasets.EOTGaussianConfig)
	SourceSwissRoll   = "gauss_to_swissroll"  // 2-D demo: N(0, I) → Swiss roll
	SourceMoons       = "gaussians8_to_moons" // 2-D demo: 8 Gaussians → two moons
	SourceFiles       = "files"               // --data x0 --data x1
)

// Sources lists the values of ParamSource.
var Sources = []string{SourceEOTMixture, SourceEOTGaussian, SourceSwissRoll, SourceMoons, SourceFiles}
