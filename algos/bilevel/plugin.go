package bilevel

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// ID is the plugin's ID.
const ID = "bilevel.reweight"

// Hyperparameter keys. Keys shared with GoMLX have GoMLX's names
// (adam_weight_decay, fnn_num_hidden_nodes). The shared training keys are
// package fit's: fit.ParamSteps (int ≥ 1, default 1000: optimizer steps of
// ScaleBiO and of each baseline), fit.ParamLearningRate (float > 0,
// default 0.05: w and the baselines' models), fit.ParamOptimizer (adam or
// adamw, default adam) and fit.ParamEvalEvery (int ≥ 1, default 10: steps
// between recorded weights).
const (
	ParamModel              = "model"                // logistic, mlp or dpo, default logistic
	ParamAlpha              = "alpha"                // float > 0, default 1: α of the first round
	ParamAlphaGrowth        = "alpha_growth"         // float ≥ 1, default 1.5: α's factor per round
	ParamRounds             = "rounds"               // int ≥ 1, default 10: rounds of equal length (α fixed within one)
	ParamLearningRateU      = "learning_rate_u"      // float > 0, default 0.05: u
	ParamLearningRateLambda = "learning_rate_lambda" // float > 0, default 0.05: λ
	ParamWeightDecay        = "adam_weight_decay"    // float ≥ 0, default 0.01: AdamW's decay of w and u
	ParamHidden             = "fnn_num_hidden_nodes" // int ≥ 1, default 16: MLP hidden units
	ParamBeta               = "beta"                 // float > 0, default 1: DPO's β
	ParamFilterMargin       = "filter_margin"        // float ≥ 0, default 0.1: val_filter's threshold above the best source's loss

	// The generated data, used when no --data is given.
	ParamFlipRates = "flip_rates" // comma-separated rates in [0, 1], default "0,0,0.1,0.2,0.3,0.4,0.5,0.5": one source each
	ParamPerSource = "per_source" // int ≥ 1, default 1000: examples (pairs) per source
	ParamDim       = "dim"        // int ≥ 1, default 20: feature dimension d
	ParamSignal    = "signal"     // float > 0, default 3: standard deviation of the planted margin
	ParamVal       = "val"        // int ≥ 1, default 300: clean validation examples
	ParamTest      = "test"       // int ≥ 1, default 5000: clean test examples
)

// Defaults of the parameters.
const (
	DefaultAlpha              = 1.0
	DefaultAlphaGrowth        = 1.5
	DefaultRounds             = 10
	DefaultSteps              = 1000
	DefaultLearningRate       = 0.05
	DefaultLearningRateLambda = 0.05
	DefaultWeightDecay        = 0.01
	DefaultHidden             = 16
	DefaultBeta               = 1.0
	DefaultFilterMargin       = 0.1
	DefaultEvalEvery          = 10

	DefaultFlipRates = "0,0,0.1,0.2,0.3,0.4,0.5,0.5"
	DefaultPerSource = 1000
	DefaultDim       = 20
	DefaultSignal    = 3.0
	DefaultVal       = 300
	DefaultTest      = 5000
)

// The result's tables.
const (
	TableMethods = "methods" // method, val_logloss, test_logloss, test_accuracy
	TableWeights = "weights" // source, flip_rate, weight (ScaleBiO's final p)
	TableFilter  = "filter"  // source, flip_rate, val_model_loss, kept (the val_filter heuristic)
)

// Paper is the ScaleBiO paper.
var Paper = kernel.Paper{
	Title:   "ScaleBiO: Scalable Bilevel Optimization for LLM Data Reweighting",
	Authors: "Rui Pan, Dylan Zhang, Hanning Zhang, Xingyuan Pan, Minrui Xu, Jipeng Zhang, Renjie Pi, Xiaoyu Wang, Tong Zhang",
	Year:    2024,
	ArXiv:   "2406.19976",
}

type plugin struct{}

var (
	_ kernel.Plugin     = plugin{}
	_ kernel.Quick      = plugin{}
	_ kernel.SampleData = plugin{}
)

func init() { kernel.Register(plugin{}) }

func positive(key string, def float64, doc string) kernel.Param {
	return kernel.Param{Key: key, Type: kernel.Float, Default: def, Range: kernel.Range{Min: 0, Max: math.Inf(1), MinExclusive: true}, Doc: doc}
}

// QuickParams are small params for the tests that run every plugin: two
// sources of 40 examples, 10 steps.
func (plugin) QuickParams() map[string]any {
	return map[string]any{
		fit.ParamSteps: 10, ParamRounds: 2, fit.ParamEvalEvery: 5, ParamPerSource: 40,
		ParamVal: 40, ParamTest: 40, ParamDim: 4, ParamFlipRates: "0,0.3",
	}
}

// sharedParams returns fit's declarations of the shared params by key, so
// that Info lists them where it always has (describe's order).
func sharedParams() map[string]kernel.Param {
	ps := map[string]kernel.Param{}
	for _, p := range fit.Params(fit.Defaults{
		Optimizers:   []string{fit.Adam, fit.AdamW},
		LearningRate: DefaultLearningRate,
		MaxLR:        math.Inf(1),
		Steps:        DefaultSteps,
		EvalEvery:    DefaultEvalEvery,
		Doc: map[string]string{
			fit.ParamOptimizer:    "GoMLX optimizer of every block (adamw: decoupled decay of w and u)",
			fit.ParamLearningRate: "learning rate of w (and of the baselines' models)",
			fit.ParamSteps:        "optimizer steps of ScaleBiO and of every baseline fit (full batch)",
			fit.ParamEvalEvery:    "steps between recorded weights",
		},
	}) {
		ps[p.Key] = p
	}
	return ps
}

// generatorParams declares the params of the generated problem; with
// --data they do not take effect, and the run's record leaves them out.
func generatorParams() []kernel.Param {
	return kernel.Generators(
		kernel.StringParam(ParamFlipRates, DefaultFlipRates, "generated data: one source per comma-separated label-flip rate in [0, 1]"),
		kernel.IntParam(ParamPerSource, DefaultPerSource, 1, 1<<24, "generated data: examples (pairs) per source"),
		kernel.IntParam(ParamDim, DefaultDim, 1, 1<<12, "generated data: feature dimension d"),
		positive(ParamSignal, DefaultSignal, "generated data: standard deviation of the planted margin w*·x (pairs: r*(y_w) − r*(y_l))"),
		kernel.IntParam(ParamVal, DefaultVal, 1, 1<<24, "generated data: clean validation examples (pairs)"),
		kernel.IntParam(ParamTest, DefaultTest, 1, 1<<24, "generated data: clean test examples (pairs)"),
	)
}

func (plugin) Info() kernel.Info {
	shared := sharedParams()
	params := []kernel.Param{
		kernel.ChoiceParam(ParamModel, ModelLogistic, Models, "inner model: logistic regression, a tanh MLP (classification) or a log-linear DPO policy (preference pairs)"),
		positive(ParamAlpha, DefaultAlpha, "α of the first round: weight of the lower-level penalty α(L₂(w, λ) − L₂(u, λ))"),
		kernel.FloatParam(ParamAlphaGrowth, DefaultAlphaGrowth, 1, math.Inf(1), "α is multiplied by this after each round"),
		kernel.IntParam(ParamRounds, DefaultRounds, 1, math.MaxInt32, "rounds of equal length; α is fixed within a round"),
		shared[fit.ParamSteps],
		shared[fit.ParamLearningRate],
		positive(ParamLearningRateU, DefaultLearningRate, "learning rate of u"),
		positive(ParamLearningRateLambda, DefaultLearningRateLambda, "learning rate of λ"),
		shared[fit.ParamOptimizer],
		kernel.FloatParam(ParamWeightDecay, DefaultWeightDecay, 0, math.Inf(1), "AdamW weight decay of the model parameters (optimizer=adamw)"),
		kernel.IntParam(ParamHidden, DefaultHidden, 1, 1<<16, "MLP hidden units (model=mlp)"),
		positive(ParamBeta, DefaultBeta, "DPO's β (model=dpo)"),
		kernel.FloatParam(ParamFilterMargin, DefaultFilterMargin, 0, math.Inf(1), "val_filter drops sources whose mean loss under the val_only model exceeds the lowest by more"),
		shared[fit.ParamEvalEvery],
	}
	return kernel.Info{
		ID:        ID,
		Precision: "float64 (GoMLX): logistic and DPO learners on planted data, whose learned weights are compared with the oracle's.",
		Summary:   "ScaleBiO: learn per-source data weights on a clean validation set by first-order bilevel minimax",
		Papers:    []kernel.Paper{Paper},
		Params:    append(params, generatorParams()...),
		Data: []kernel.DataFormat{
			{
				Name: "labelled examples with sources (JSONL; model logistic or mlp)",
				Doc: `--data TRAIN VAL [TEST]: one example per line, features an array of numbers (same length
on every line), label 0 or 1, source a string naming the example's data source (required in
TRAIN, ignored in VAL and TEST, which must be clean). Without TEST the test columns are NaN.`,
				Example: `{"features": [0.31, -1.2, 0.05], "label": 1, "source": "crawl"}`,
			},
			{
				Name: "preference pairs with sources (JSONL; model dpo)",
				Doc: `--data TRAIN VAL [TEST] in the format of dpo's --data (features per candidate,
optional ref_logprobs, chosen, rejected), TRAIN lines with a string field source.`,
				Example: `{"features": [[0.1, 0.4], [0.3, -0.2]], "chosen": 0, "rejected": 1, "source": "annotators_b"}`,
			},
		},
		Doc: `ScaleBiO (Pan et al. 2024): training examples come from S sources; the weights
p = softmax(λ), λ₀ = 0, enter the training loss L₂(θ, λ) = Σ_i p_{s(i)}/n_{s(i)} ℓ_i(θ)
= Σ_k p_k ℓ̄_k(θ), and L₁(θ) is the loss on a clean validation set. The bilevel problem
min_λ L₁(θ*(λ)), θ*(λ) = argmin_θ L₂(θ, λ), is replaced by the first-order minimax
  min_{w, λ} max_u  L₁(w) + α L₂(w, λ) − α L₂(u, λ)
with simultaneous steps (each block its own Adam/AdamW state and learning rate):
  u ← u − η_u · α ∇_u L₂(u, λ)
  w ← w − η_w · (∇L₁(w) + α ∇_w L₂(w, λ))
  λ ← λ − η_λ · α (∇_λ L₂(w, λ) − ∇_λ L₂(u, λ)) = λ − η_λ · α J_softmax(λ) (ℓ̄(w) − ℓ̄(u))
α grows by alpha_growth after each of the rounds. A source whose loss is higher at w (which
fits the clean validation set) than at u (which fits the current mixture) loses weight.
Inner models: logistic regression, a tanh MLP, or (model=dpo) a log-linear policy with the
DPO pair loss −log σ(β θ·(φ(y_w) − φ(y_l))) (algos/pairloss, kind logistic).
Baselines, trained for the same steps from the same start: uniform (p_k = 1/S), oracle (only
the sources with the lowest known flip rate), val_only (fitted to the validation set),
val_filter (sources scored by the val_only model's mean loss; those above the lowest +
filter_margin dropped; uniform on the rest) and scalebio_retrain (a fresh model with
ScaleBiO's final weights fixed).
Reports: series weight/<source> (p_k), val_loss (L₁(w)), penalty (L₂(w) − L₂(u)) and alpha
(objective, L₁(w) + α(L₂(w) − L₂(u)), only at the step where training diverged);
tables methods (method, val_logloss, test_logloss, test_accuracy: mean loss and accuracy on the
clean sets; for dpo the preference log-loss −log σ(βh)), weights (source, flip_rate, weight)
and filter (source, flip_rate, val_model_loss, kept); finals <metric>/<method> and
weight/<source>; charts of the weights over training, test log-loss per method, final weights.
Without --data it generates 8 sources × 1000 examples with flip rates 0, 0, .1, .2, .3, .4, .5,
.5 (flip_rates), d = 20, x ~ N(0, I), y ~ Bernoulli(σ(w*·x)) with ‖w*‖ = signal = 3, then
flipped per source; 300 clean validation and 5000 clean test examples. With model=dpo the
same sources of preference pairs (datasets.GeneratePrefSources: two candidates per prompt,
features N(0, 1/d), Bradley–Terry labels, ‖w*‖ = signal·√(d/2) so that the reward margin has
standard deviation signal).
With --data the generator params (flip_rates, per_source, dim, signal, val, test) do not
apply and are left out of the record, which gives each file's examples (model dpo: pairs),
dim and, for TRAIN, sources beside its hash; flip_rate is NaN (unknown) and oracle is skipped.
Defaults: alpha 1, alpha_growth 1.5, rounds 10, steps 1000, learning rates 0.05, adam.
The paper's LLM setting used AdamW, lr 1e-5 (w, u) and 1e-2 (λ), α 10–100.`,
		Model: modelDoc,
		Init:  initDoc,
	}
}

// ConfigOf reads a Config from validated params.
func ConfigOf(p kernel.Params) Config {
	c := Config{
		Config: fit.Read(p),
		Model:  p.String(ParamModel), Hidden: p.Int(ParamHidden), Beta: p.Float(ParamBeta),
		Alpha: p.Float(ParamAlpha), AlphaGrowth: p.Float(ParamAlphaGrowth), Rounds: p.Int(ParamRounds),
		LearningRateU: p.Float(ParamLearningRateU), LearningRateLambda: p.Float(ParamLearningRateLambda),
		FilterMargin: p.Float(ParamFilterMargin),
	}
	c.WeightDecay = p.Float(ParamWeightDecay)
	return c
}

// ParseFlipRates parses a comma-separated list of rates in [0, 1].
func ParseFlipRates(s string) ([]float64, error) {
	var rates []float64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		v, err := strconv.ParseFloat(f, 64)
		if err != nil || !(v >= 0 && v <= 1) {
			return nil, fmt.Errorf("bilevel: %s: want comma-separated rates in [0, 1], got %q", ParamFlipRates, f)
		}
		rates = append(rates, v)
	}
	return rates, nil
}

func (plugin) Run(job *kernel.Job) error {
	cfg := ConfigOf(job.Params)
	cfg.Backend = job.Backend
	if err := cfg.Check(); err != nil {
		return err
	}
	p, err := problemOf(job, cfg.Model)
	if err != nil {
		return err
	}
	if cfg.InitLambda, err = initLambda(job, p); err != nil {
		return err
	}
	job.SetTotal(int64(cfg.Steps))
	c, err := Compare(job.Context(), p, cfg, job.Rand(), job.Record)
	if err != nil {
		return err
	}
	report(job, c)
	job.SetModel(newReweighted(c, cfg, p.Dim))
	return nil
}

// problemOf generates the problem (no --data) or loads it.
func problemOf(job *kernel.Job, modelKind string) (*Problem, error) {
	pp := job.Params
	if len(job.Data) == 0 {
		rates, err := ParseFlipRates(pp.String(ParamFlipRates))
		if err != nil {
			return nil, err
		}
		d, signal := pp.Int(ParamDim), pp.Float(ParamSignal)
		if modelKind == ModelDPO {
			ps, err := datasets.GeneratePrefSources(datasets.PrefSourcesConfig{
				Dim: d, WNorm: signal * math.Sqrt(float64(d)/2), Candidates: 2,
				PerSource: pp.Int(ParamPerSource), FlipRates: rates, Val: pp.Int(ParamVal), Test: pp.Int(ParamTest),
			}, job.Rand())
			if err != nil {
				return nil, err
			}
			return PreferenceProblem(ps)
		}
		s, err := datasets.GenerateSources(datasets.SourcesConfig{
			Dim: d, WNorm: signal, PerSource: pp.Int(ParamPerSource), FlipRates: rates, Val: pp.Int(ParamVal), Test: pp.Int(ParamTest),
		}, job.Rand())
		if err != nil {
			return nil, err
		}
		return ClassificationProblem(s.Train, s.Val, s.Test, s.FlipRates)
	}
	if n := len(job.Data); n < 2 || n > 3 {
		return nil, job.DataCountError("2 or 3 files (TRAIN VAL [TEST])")
	}
	if modelKind == ModelDPO {
		ps, err := datasets.LoadPrefSources(job.Data[0])
		if err != nil {
			return nil, err
		}
		job.DataShape(0, "pairs", len(ps.Train.Pairs), "dim", ps.Train.Dim, "sources", len(ps.Sources))
		if ps.Val, err = datasets.LoadPrefs(job.Data[1]); err != nil {
			return nil, err
		}
		job.DataShape(1, "pairs", len(ps.Val.Pairs), "dim", ps.Val.Dim)
		if len(job.Data) == 3 {
			if ps.Test, err = datasets.LoadPrefs(job.Data[2]); err != nil {
				return nil, err
			}
			job.DataShape(2, "pairs", len(ps.Test.Pairs), "dim", ps.Test.Dim)
		}
		return PreferenceProblem(ps)
	}
	train, err := datasets.LoadSources(job.Data[0])
	if err != nil {
		return nil, err
	}
	job.DataShape(0, "examples", len(train.Examples), "dim", train.Dim, "sources", len(train.Sources))
	val, err := datasets.LoadExamples(job.Data[1])
	if err != nil {
		return nil, err
	}
	job.DataShape(1, "examples", len(val.Examples), "dim", val.Dim)
	var test *datasets.Labeled
	if len(job.Data) == 3 {
		if test, err = datasets.LoadExamples(job.Data[2]); err != nil {
			return nil, err
		}
		job.DataShape(2, "examples", len(test.Examples), "dim", test.Dim)
	}
	return ClassificationProblem(train, val, test, nil)
}

// SampleData writes a small generated problem in the classification
// format: TRAIN (two sources of 40 examples in 4 dimensions, flip rates 0
// and 0.3), VAL and TEST (40 clean examples each), in --data order.
func (plugin) SampleData(dir string) ([]string, error) {
	s, err := datasets.GenerateSources(datasets.SourcesConfig{Dim: 4, WNorm: DefaultSignal, PerSource: 40,
		FlipRates: []float64{0, 0.3}, Val: 40, Test: 40}, rand.New(rand.NewPCG(14, 2)))
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, f := range []struct {
		name string
		l    *datasets.Labeled
	}{{"train.jsonl", s.Train}, {"val.jsonl", s.Val}, {"test.jsonl", s.Test}} {
		var b bytes.Buffer
		if err := datasets.WriteSources(&b, f.l); err != nil {
			return nil, err
		}
		path := filepath.Join(dir, f.name)
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			return nil, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// report fills the job's tables, finals and charts from c.
func report(job *kernel.Job, c *Comparison) {
	mt := job.AddTable(TableMethods, "method", "val_logloss", "test_logloss", "test_accuracy")
	for _, m := range c.Methods {
		mt.Add(m.Method, m.Val.LogLoss, m.Test.LogLoss, m.Test.Accuracy)
		for _, f := range []struct {
			name string
			v    float64
		}{{"val_logloss", m.Val.LogLoss}, {"test_logloss", m.Test.LogLoss}, {"test_accuracy", m.Test.Accuracy}} {
			if !math.IsNaN(f.v) {
				job.SetFinal(f.name+"/"+m.Method, f.v)
			}
		}
	}
	wt := job.AddTable(TableWeights, "source", "flip_rate", "weight")
	ft := job.AddTable(TableFilter, "source", "flip_rate", "val_model_loss", "kept")
	series := make([]string, len(c.Sources))
	for k, s := range c.Sources {
		wt.Add(s, c.FlipRates[k], c.Weights[k])
		ft.Add(s, c.FlipRates[k], c.FilterLoss[k], c.Kept[k])
		job.SetFinal(MetricWeightPrefix+s, c.Weights[k])
		series[k] = MetricWeightPrefix + s
	}
	for _, n := range c.Notes {
		job.Note("%s", n)
	}
	job.AddChart(kernel.Chart{Kind: "line", ID: "weights", Title: "ScaleBiO source weights p = softmax(λ)",
		Series: series, XLabel: "step", YLabel: "weight"})
	job.AddChart(kernel.Chart{Kind: "bar", ID: "test_logloss", Title: "test log-loss per method (clean test set)",
		Table: TableMethods, X: "method", Value: "test_logloss", YLabel: "log-loss"})
	job.AddChart(kernel.Chart{Kind: "bar", ID: "final_weights", Title: "final source weights",
		Table: TableWeights, X: "source", Value: "weight", YLabel: "weight"})
}
