package sb

import (
	"math"

	"github.com/alignlab/alignlab/algos/fit"
)

// Hyperparameter keys of the sb.light plugin. learning_rate, steps,
// batch_size and eval_every are the shared training params of package fit
// (declared by fit.Params, read by fit.Read), under GoMLX's names.
const (
	ParamK            = "components"          // int ≥ 1, default 50: mixture components K of v_θ
	ParamEpsilon      = "epsilon"             // float > 0, default 0.1: the bridge's noise variance ε
	ParamSInit        = "s_init"              // float > 0, default 1: the initial diagonal of every S_k
	ParamLearningRate = fit.ParamLearningRate // float ≥ 0, default 0: Adam's learning rate; 0 means DefaultLearningRateFor(ε)
	ParamSteps        = fit.ParamSteps        // int ≥ 1, default 2000: Adam steps
	ParamBatchSize    = fit.ParamBatchSize    // int ≥ 1, default 128: points of each marginal per step
	ParamEvalEvery    = fit.ParamEvalEvery    // int ≥ 1, default 20: steps per recorded loss (the window's mean)

	// The generated data (generator params, kernel.Param.Generator: with
	// --data they do not apply and are left out of the result's params).
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

	// Drawing from a saved model (Model.Sample, alignlab sample).
	ParamSampler = "sampler" // plan (default) or sde: how Model.Sample draws y | x
)

// Defaults of the plugin's parameters.
const (
	DefaultK       = 50
	DefaultEpsilon = 0.1
	// DefaultLearningRate 0 stands for the paper's learning rate at the
	// run's ε (DefaultLearningRateFor).
	DefaultLearningRate = 0
	DefaultSteps        = 2000
	DefaultBatchSize    = 128
	DefaultEvalEvery    = 20
	// DefaultSInit is the initial S_k = 1·I of the authors' benchmark
	// notebook (LightSB_EOT_benchmark.ipynb passes S_diagonal_init=1.0).
	// Their LightSB class defaults to 0.1, which this package used before:
	// on our D = 16, ε = 0.1 pairs it left runs stuck well above the
	// paper's numbers (see the package doc).
	DefaultSInit = 1.0

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

// The values of ParamSampler.
const (
	SamplerPlan = "plan" // exact draws of the learned plan π_θ(y|x), a Gaussian mixture (Model.SamplePlan)
	SamplerSDE  = "sde"  // the endpoint X(1) of the learned bridge from X(0) = x, sde_steps Euler–Maruyama steps (Model.SampleSDE)
)

// Samplers lists the values of ParamSampler.
var Samplers = []string{SamplerPlan, SamplerSDE}

// Sources lists the values of ParamSource.
var Sources = []string{SourceEOTMixture, SourceEOTGaussian, SourceSwissRoll, SourceMoons, SourceFiles}

// PaperLearningRate returns the paper's Adam learning rate for ε on the
// benchmark: 1e-3, 3e-3 and 6e-2 for ε = 0.1, 1 and 10 (the authors'
// LightSB_EOT_benchmark.ipynb), and 0 for any other ε.
func PaperLearningRate(eps float64) float64 {
	switch eps {
	case 0.1:
		return 1e-3
	case 1:
		return 3e-3
	case 10:
		return 6e-2
	}
	return 0
}

// DefaultLearningRateFor returns the learning rate a run at ε takes when
// learning_rate is 0: the paper's at ε = 0.1, 1 and 10 (PaperLearningRate);
// between them, linear in log lr against log ε; below 0.1 the rate of 0.1
// and above 10 the rate of 10. The interpolation is ours: the paper gives
// only the three values.
func DefaultLearningRateFor(eps float64) float64 {
	if lr := PaperLearningRate(eps); lr > 0 {
		return lr
	}
	knots := [...]float64{0.1, 1, 10}
	switch {
	case eps <= knots[0]:
		return PaperLearningRate(knots[0])
	case eps >= knots[2]:
		return PaperLearningRate(knots[2])
	}
	lo, hi := knots[0], knots[1]
	if eps > knots[1] {
		lo, hi = knots[1], knots[2]
	}
	t := (math.Log(eps) - math.Log(lo)) / (math.Log(hi) - math.Log(lo))
	return math.Exp((1-t)*math.Log(PaperLearningRate(lo)) + t*math.Log(PaperLearningRate(hi)))
}
