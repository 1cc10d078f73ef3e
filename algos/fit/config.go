package fit

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/alignlab/alignlab/kernel"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// Keys of the shared training hyperparameters (GoMLX's names where GoMLX
// has one).
const (
	// ParamOptimizer (choice, default per plugin, usually "adam"): the
	// optimizer, one of Optimizers.
	ParamOptimizer = "optimizer"
	// ParamLearningRate (float > 0, default per plugin): the optimizer's
	// learning rate.
	ParamLearningRate = "learning_rate"
	// ParamSteps (int ≥ 1, default per plugin): optimizer steps.
	ParamSteps = "steps"
	// ParamBatchSize (int, default per plugin): examples per step; 0 (where
	// the plugin allows it) means the full batch.
	ParamBatchSize = "batch_size"
	// ParamEvalEvery (int ≥ 1, default per plugin): steps between recorded
	// metrics.
	ParamEvalEvery = "eval_every"
)

// The optimizers, by the names ParamOptimizer takes.
const (
	Adam  = "adam"  // Adam, β1 = 0.9, β2 = 0.999 (GoMLX's defaults)
	AdamW = "adamw" // Adam with decoupled weight decay Config.WeightDecay
	SGD   = "sgd"   // plain gradient descent at a constant learning rate
)

// Optimizers lists the names NewOptimizer knows.
var Optimizers = []string{Adam, AdamW, SGD}

// Config holds the shared hyperparameters of one training run.
type Config struct {
	Optimizer    string  // one of Optimizers; "" means Adam
	LearningRate float64 // > 0
	Steps        int     // ≥ 1
	BatchSize    int     // ≥ 0; 0 means full batch
	EvalEvery    int     // ≥ 1
	WeightDecay  float64 // AdamW's decoupled decay, ≥ 0
	AdamEpsilon  float64 // Adam's ε; 0 means GoMLX's default
}

// Defaults are a plugin's defaults for the shared params. A zero field
// leaves its param out of Params (the plugin does not have it), except
// BatchSize, declared when HasBatch is set.
type Defaults struct {
	Optimizers   []string // the choices offered; the first is the default
	LearningRate float64
	MaxLR        float64 // upper bound of learning_rate; 0 means 10
	Steps        int
	HasBatch     bool
	BatchSize    int // default batch size (0: full batch)
	MinBatch     int // smallest batch size allowed: 0 allows "full batch"
	MaxBatch     int // largest; 0 means MaxInt32
	EvalEvery    int
	// Doc overrides a param's doc line by key (e.g. "Adam steps of
	// preference training").
	Doc map[string]string
}

// Params returns the kernel.Param declarations of the shared params that
// d gives a default for, in the order optimizer, learning_rate, steps,
// batch_size, eval_every.
func Params(d Defaults) []kernel.Param {
	doc := func(key, def string) string {
		if s, ok := d.Doc[key]; ok {
			return s
		}
		return def
	}
	var ps []kernel.Param
	if len(d.Optimizers) > 0 {
		ps = append(ps, kernel.ChoiceParam(ParamOptimizer, d.Optimizers[0], d.Optimizers,
			doc(ParamOptimizer, "GoMLX optimizer (sgd: constant learning rate)")))
	}
	if d.LearningRate > 0 {
		maxLR := d.MaxLR
		if maxLR == 0 {
			maxLR = 10
		}
		ps = append(ps, kernel.Param{Key: ParamLearningRate, Type: kernel.Float, Default: d.LearningRate,
			Range: kernel.Range{Min: 0, Max: maxLR, MinExclusive: true}, Doc: doc(ParamLearningRate, "optimizer learning rate")})
	}
	if d.Steps > 0 {
		ps = append(ps, kernel.IntParam(ParamSteps, int64(d.Steps), 1, math.MaxInt32, doc(ParamSteps, "optimizer steps")))
	}
	if d.HasBatch {
		maxB := d.MaxBatch
		if maxB == 0 {
			maxB = math.MaxInt32
		}
		def := "examples per step"
		if d.MinBatch == 0 {
			def += "; 0 = full batch"
		}
		ps = append(ps, kernel.IntParam(ParamBatchSize, int64(d.BatchSize), int64(d.MinBatch), int64(maxB), doc(ParamBatchSize, def)))
	}
	if d.EvalEvery > 0 {
		ps = append(ps, kernel.IntParam(ParamEvalEvery, int64(d.EvalEvery), 1, math.MaxInt32, doc(ParamEvalEvery, "steps between recorded metrics")))
	}
	return ps
}

// Read returns the shared params present in p (validated by kernel.Run);
// absent ones keep their zero value, so a plugin without an optimizer
// param trains with Adam.
func Read(p kernel.Params) Config {
	var c Config
	if v, ok := p[ParamOptimizer].(string); ok {
		c.Optimizer = v
	}
	if v, ok := p[ParamLearningRate].(float64); ok {
		c.LearningRate = v
	}
	for key, dst := range map[string]*int{ParamSteps: &c.Steps, ParamBatchSize: &c.BatchSize, ParamEvalEvery: &c.EvalEvery} {
		if v, ok := p[key].(int64); ok {
			*dst = int(v)
		}
	}
	return c
}

// Check reports the first invalid field of c, its message starting with
// family ("dpo: learning rate must be finite and > 0, got 0").
func (c Config) Check(family string) error {
	switch {
	case c.Optimizer != "" && !slices.Contains(Optimizers, c.Optimizer):
		return fmt.Errorf("%s: unknown optimizer %q (known: %s)", family, c.Optimizer, strings.Join(Optimizers, ", "))
	case !(c.LearningRate > 0) || math.IsInf(c.LearningRate, 1):
		return fmt.Errorf("%s: learning rate must be finite and > 0, got %v", family, c.LearningRate)
	case c.Steps < 1:
		return fmt.Errorf("%s: steps must be ≥ 1, got %d", family, c.Steps)
	case c.BatchSize < 0:
		return fmt.Errorf("%s: batch size must be ≥ 0, got %d", family, c.BatchSize)
	case c.EvalEvery < 1:
		return fmt.Errorf("%s: eval_every must be ≥ 1, got %d", family, c.EvalEvery)
	case !(c.WeightDecay >= 0) || math.IsInf(c.WeightDecay, 1):
		return fmt.Errorf("%s: weight decay must be finite and ≥ 0, got %v", family, c.WeightDecay)
	case !(c.AdamEpsilon >= 0) || math.IsInf(c.AdamEpsilon, 1):
		return fmt.Errorf("%s: Adam's epsilon must be finite and ≥ 0, got %v", family, c.AdamEpsilon)
	}
	return nil
}

// Records reports whether metrics are due after step: every EvalEvery
// steps and at the last step.
func (c Config) Records(step int) bool {
	return step%max(c.EvalEvery, 1) == 0 || step == c.Steps
}

// NewOptimizer returns c's optimizer at c's learning rate.
func (c Config) NewOptimizer() (optimizer.Interface, error) {
	return NewOptimizer(c.Optimizer, c.LearningRate, c.WeightDecay, c.AdamEpsilon)
}

// NewOptimizer returns the GoMLX optimizer called name ("" is Adam) at
// learning rate lr, wrapped by Guard: Adam (with weight decay wd for AdamW,
// ignored by the others; with ε = eps when eps > 0) or constant-rate SGD.
// An unknown name is an error listing the known ones.
func NewOptimizer(name string, lr, wd, eps float64) (optimizer.Interface, error) {
	opt, err := newOptimizer(name, lr, wd, eps)
	if err != nil {
		return nil, err
	}
	return Guard(opt), nil
}

func newOptimizer(name string, lr, wd, eps float64) (optimizer.Interface, error) {
	switch name {
	case SGD:
		return optimizer.StochasticGradientDescent().WithDecay(false).WithLearningRate(lr).Done(), nil
	case Adam, AdamW, "":
		a := optimizer.Adam().LearningRate(lr)
		if eps > 0 {
			a = a.Epsilon(eps)
		}
		if name == AdamW && wd > 0 {
			a = a.WeightDecay(wd)
		}
		return a.Done(), nil
	}
	return nil, fmt.Errorf("fit: unknown optimizer %q (known: %s)", name, strings.Join(Optimizers, ", "))
}
