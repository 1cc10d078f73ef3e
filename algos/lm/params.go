package lm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"

	"github.com/alignlab/alignlab/algos/decoder"
	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// Hyperparameter keys shared by the lm plugins. The training ones are
// fit's (optimizer, learning_rate, steps, batch_size, eval_every).
const (
	// The task (datasets.TextTaskConfig).
	ParamPrompts     = "prompts"             // int ≥ 1, default DefaultPrompts: training prompts
	ParamTestPrompts = "test_prompts"        // int ≥ 1, default DefaultTestPrompts: held-out prompts
	ParamMaxOperand  = "max_operand"         // int ≥ 1, default DefaultMaxOperand
	ParamDemos       = "demos"               // int ≥ 1, default 2000: SFT demonstrations
	ParamWrongRate   = "wrong_rate"          // float in [0, 1], default 0.3: demos with a wrong sum
	ParamVerboseRate = "verbose_rate"        // float in [0, 1], default 0.3: demos with filler
	ParamMaxChars    = "principle_max_chars" // int, default DefaultMaxChars: the principle's length

	// The model.
	ParamSize      = "size"      // choice test|small|notebook, default test
	ParamTokenizer = "tokenizer" // string, default "byte": byte, bpe, bpe:N or a tokenizer.json path

	// The SFT reference of the preference plugins.
	ParamSFT             = "sft"               // string, default "": a saved SFT model; "" trains one
	ParamSFTSteps        = "sft_steps"         // int ≥ 1, default DefaultSFTSteps
	ParamSFTLearningRate = "sft_learning_rate" // float > 0, default DefaultSFTLearningRate
	ParamSFTBatchSize    = "sft_batch_size"    // int ≥ 1, default DefaultSFTBatchSize

	// Preference data and losses.
	ParamPairs   = "pairs"   // int ≥ 1, default DefaultPairs: generated pairs
	ParamFlip    = "flip"    // float in [0, 0.5), default 0: flipped labels of generated pairs
	ParamLoss    = "loss"    // choice, per plugin
	ParamBeta    = "beta"    // float > 0, default DefaultBeta
	ParamEpsilon = "epsilon" // float in [0, 0.5): cdpo/rdpo's assumed flip rate, default 0.2
	ParamAlpha   = "alpha"   // float ≥ 0, default 0.5: TDPO2's α

	// Evaluation and artifacts.
	ParamEvalReps = "eval_reps" // int ≥ 1, default 1: samples per prompt at each evaluation
	ParamSave     = "save"      // string, default "": a directory to save the trained model in
	ParamInit     = "init"      // string, default "": a saved model to start from
)

// Defaults of the shared params.
const (
	DefaultPrompts         = 80
	DefaultTestPrompts     = 20
	DefaultMaxOperand      = 9
	DefaultMaxChars        = 2
	DefaultSFTSteps        = 400
	DefaultSFTLearningRate = 3e-3
	DefaultSFTBatchSize    = 64
	DefaultPairs           = 1000
	DefaultBeta            = 0.5
	DefaultLearningRate    = 3e-4
	DefaultSteps           = 150
	DefaultBatchSize       = 32
	DefaultEvalEvery       = 50
)

// sftGen marks a demonstration param: a generator param of lm.sft only.
// Every plugin but lm.sft clears the mark (notGenerators).
func sftGen(p kernel.Param) kernel.Param { p.Generator = true; return p }

// notGenerators clears every Generator mark of ps.
func notGenerators(ps []kernel.Param) []kernel.Param {
	for i := range ps {
		ps[i].Generator = false
	}
	return ps
}

func taskParams() []kernel.Param {
	d := datasets.DefaultTextTaskConfig()
	return []kernel.Param{
		kernel.IntParam(ParamPrompts, DefaultPrompts, 1, 1<<20, "task: training prompts \"a+b=\" (distinct)"),
		kernel.IntParam(ParamTestPrompts, DefaultTestPrompts, 1, 1<<20, "task: held-out prompts, disjoint from the training ones"),
		kernel.IntParam(ParamMaxOperand, DefaultMaxOperand, 1, 4998, "task: operands a, b in 0…max_operand"),
		// Generators of lm.sft (its --data replaces the demonstrations); the
		// other plugins' SFT reference still learns from them.
		sftGen(kernel.IntParam(ParamDemos, int64(d.Demos), 1, 1<<24, "task: SFT demonstrations over the training prompts")),
		sftGen(kernel.FloatParam(ParamWrongRate, d.WrongRate, 0, 1, "task: fraction of demonstrations with a wrong sum (±1 or ±2)")),
		sftGen(kernel.FloatParam(ParamVerboseRate, d.VerboseRate, 0, 1, "task: fraction of demonstrations with filler (\" ok!\", \" done.\", \" yes\") that breaks the principle")),
		kernel.IntParam(ParamMaxChars, DefaultMaxChars, 1, 4, "task: the principle: a completion of at most this many characters"),
	}
}

func modelParams() []kernel.Param {
	return []kernel.Param{
		kernel.ChoiceParam(ParamSize, decoder.SizeTest, decoder.Sizes, "transformer size: test ≈ 42k weights (seconds), small ≈ 0.18M, notebook ≈ 1.3M (minutes per stage on 2 cores)"),
		kernel.StringParam(ParamTokenizer, "byte", "byte (259 ids), bpe (trained on the task's text, 512 ids), bpe:N, or a tokenizer.json path"),
	}
}

func sftParams() []kernel.Param {
	return []kernel.Param{
		kernel.StringParam(ParamSFT, "", "the SFT reference: a model saved by lm.sft (save=DIR, or --out DIR's DIR/model; --model DIR means the same); empty trains one with the sft_* params (kept in memory for later runs of this process)"),
		kernel.IntParam(ParamSFTSteps, DefaultSFTSteps, 1, math.MaxInt32, "SFT: Adam steps"),
		kernel.FloatParam(ParamSFTLearningRate, DefaultSFTLearningRate, 1e-12, 10, "SFT: Adam learning rate"),
		kernel.IntParam(ParamSFTBatchSize, DefaultSFTBatchSize, 1, 1<<20, "SFT: demonstrations per step"),
	}
}

func evalParams() []kernel.Param {
	return []kernel.Param{
		kernel.IntParam(ParamEvalReps, 1, 1, 1<<10, "samples per prompt at each evaluation (temperature 1)"),
		kernel.StringParam(ParamSave, "", "save the trained model (GoMLX checkpoint + manifest.json) in this directory"),
	}
}

// prefParams are the preference plugins' params: β (unless inpo), the
// generated pairs, and the training ones with steps defaulting to steps.
func prefParams(inpo bool, steps int) []kernel.Param {
	var ps []kernel.Param
	if !inpo {
		ps = append(ps, kernel.FloatParam(ParamBeta, DefaultBeta, 1e-9, 1e9, "β, the scale of the implicit reward β·log(π/π_ref) (the papers use 0.1; why 0.5 here: see the text above)"))
	}
	{
		ps = append(ps,
			kernel.Generators(
				kernel.IntParam(ParamPairs, DefaultPairs, 1, 1<<24, "generated pairs: two samples of the SFT policy on a training prompt, labelled by the verifier (ties dropped)"),
				kernel.FloatParam(ParamFlip, 0, 0, 0.499, "fraction of generated labels flipped at random (label noise, known to the test)"),
			)...,
		)
	}
	return append(ps, fit.Params(fit.Defaults{
		LearningRate: DefaultLearningRate, Steps: steps, HasBatch: true, BatchSize: DefaultBatchSize, MinBatch: 1,
		EvalEvery: DefaultEvalEvery,
		Doc:       map[string]string{fit.ParamBatchSize: "pairs per step", fit.ParamSteps: map[bool]string{false: "Adam steps", true: "Adam steps per round"}[inpo]},
	})...)
}

// taskConfig reads the task params.
func taskConfig(ps kernel.Params) datasets.TextTaskConfig {
	c := datasets.DefaultTextTaskConfig()
	c.Prompts, c.TestPrompts, c.MaxOperand = ps.Int(ParamPrompts), ps.Int(ParamTestPrompts), ps.Int(ParamMaxOperand)
	c.Demos, c.WrongRate, c.VerboseRate = ps.Int(ParamDemos), ps.Float(ParamWrongRate), ps.Float(ParamVerboseRate)
	c.PrincipleMaxChars = ps.Int(ParamMaxChars)
	return c
}

// streams are a run's random streams, drawn from the job in one fixed
// order so that every plugin sees the same task, SFT model and pairs for
// one seed.
// held draws lm.reward's held-out pairs (apart from pairs, which a cache
// may leave undrawn).
type streams struct{ task, sft, pairs, train, eval, held *rand.Rand }

func newStreams(job *kernel.Job) streams {
	return streams{task: job.Rand(), sft: job.Rand(), pairs: job.Rand(), train: job.Rand(), eval: job.Rand(), held: job.Rand()}
}

// setup builds the task and the env of a run.
func setup(job *kernel.Job, s streams) (*Env, error) {
	task, err := datasets.GenerateTextTask(taskConfig(job.Params), s.task)
	if err != nil {
		return nil, err
	}
	tok := job.Params.String(ParamTokenizer)
	// A model saved with its own tokenizer (a BPE writes tokenizer.json
	// beside its weights) brings it along unless the run names another.
	if m := baseOf(job.InitModel()); m != nil && tok == "byte" && m.TokName != "byte" {
		job.Note("tokenizer: %s, saved with the model (--model)", m.TokName)
		return newEnv(task, m.Tok, job.Params.String(ParamSize), job.Backend)
	}
	for _, key := range []string{ParamSFT, ParamInit} {
		dir, _ := job.Params[key].(string)
		if dir == "" || tok != "byte" {
			continue
		}
		dir = decoderDir(dir)
		if man, err := decoder.ReadManifest(dir); err == nil && man.Tokenizer != "byte" {
			if path := filepath.Join(dir, TokenizerFile); fileExists(path) {
				tok = path
				job.Note("tokenizer: %s, saved with the model in %s", man.Tokenizer, dir)
			}
		}
	}
	return NewEnv(task, tok, job.Params.String(ParamSize), job.Backend)
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}

// withReference starts a run that trains against the SFT model: its
// streams, its env and the reference (see reference).
func withReference(job *kernel.Job) (streams, *Env, *decoder.Model, error) {
	s := newStreams(job)
	e, err := setup(job, s)
	if err != nil {
		return s, nil, nil, err
	}
	ref, err := reference(job, e, s)
	return s, e, ref, err
}

// sftCache keeps the SFT models trained inside this process, by everything
// that determines them, so that a notebook comparing five losses trains
// the reference once.
var sftCache = struct {
	sync.Mutex
	m map[string]*decoder.Model
}{m: map[string]*decoder.Model{}}

// sftConfig reads the sft_* params.
func sftConfig(ps kernel.Params) fit.Config {
	return fit.Config{Optimizer: fit.Adam, LearningRate: ps.Float(ParamSFTLearningRate), Steps: ps.Int(ParamSFTSteps), BatchSize: ps.Int(ParamSFTBatchSize), EvalEvery: max(1, ps.Int(ParamSFTSteps))}
}

// reference returns the SFT model of a preference run: the --model policy,
// loaded from the sft param, or trained (or taken from the cache) with the
// sft_* params.
func reference(job *kernel.Job, e *Env, s streams) (*decoder.Model, error) {
	// A reward model given to lm.reward is where its reward model starts
	// (warmReward), not its SFT model.
	if _, warm := job.InitModel().(*Model); !warm || job.Result.Plugin != IDReward {
		if m, err := startFrom(job, e, ParamSFT); m != nil || err != nil {
			return m, err
		}
	}
	if dir, _ := job.Params[ParamSFT].(string); dir != "" { // lm.eval has no sft param
		m, _, err := e.LoadModel(dir)
		return m, err
	}
	cfg := sftConfig(job.Params)
	key := fmt.Sprintf("%v|%s|%+v|%+v|%d|%s", taskConfig(job.Params), e.Tok.Name(), e.Config, cfg, job.Seed, e.Backend)
	sftCache.Lock()
	cached := sftCache.m[key]
	sftCache.Unlock()
	if cached != nil { // the same weights as training again: the result does not change
		return cached.Clone()
	}
	m, err := e.NewModel(job.Seed)
	if err != nil {
		return nil, err
	}
	b, err := e.SFTBatch(e.Task.Demos)
	if err != nil {
		return nil, err
	}
	rec := func(step int64, name string, v float64) error { return job.Step(step) }
	if err := SFT(job.Context(), m, b, cfg, s.sft, rec, nil); err != nil {
		return nil, err
	}
	c, err := m.Clone()
	if err != nil {
		return nil, err
	}
	sftCache.Lock()
	sftCache.m[key] = c
	sftCache.Unlock()
	return m, nil
}
