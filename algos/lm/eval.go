package lm

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/alignlab/alignlab/algos/decoder"
	"github.com/alignlab/alignlab/kernel"
)

// The params of lm.eval.
const (
	ParamModels   = "models"     // string: "name=DIR,name=DIR,…"
	ParamRef      = "ref"        // string: the model KL is measured against (a name of models, or a DIR)
	ParamPromptOf = "prompt_set" // choice train|test, default train
	ParamArena    = "arena"      // string, default "bt.ratings": the plugin that rates the battles; "" for none
)

// RatingsPlugin is the plugin lm.eval hands its battles to. It is looked
// up in the registry at run time (lm does not import the bt family); a
// program that links algos/all has it.
const RatingsPlugin = "bt.ratings"

type evalPlugin struct{}

func (evalPlugin) QuickParams() map[string]any {
	return map[string]any{ParamPrompts: 8, ParamTestPrompts: 4, ParamDemos: 32, ParamEvalReps: 1, ParamSFTSteps: 2, ParamSFTBatchSize: 8}
}

func (evalPlugin) Info() kernel.Info {
	ps := append(notGenerators(taskParams()), modelParams()...)
	ps = append(ps, sftParams()[1:]...) // the smoke test's SFT model
	ps = append(ps,
		kernel.StringParam(ParamModels, "", "the checkpoints, as name=DIR,name=DIR,… (saved with save=DIR); empty: a fresh and an SFT-trained model of this seed, for a smoke test"),
		kernel.StringParam(ParamRef, "", "the model KL(π ‖ ref) is measured against: one of the names in models, or a DIR; empty: the model named sft if any"),
		kernel.ChoiceParam(ParamPromptOf, "train", []string{"train", "test"}, "the prompts sampled on: the training prompts or the held-out ones"),
		kernel.IntParam(ParamEvalReps, 4, 1, 1<<10, "samples per model and prompt (each sample plays one battle against every other model's sample on the same prompt)"),
		kernel.StringParam(ParamArena, RatingsPlugin, "the registered plugin that rates the battles (empty: none)"),
	)
	return kernel.Info{
		ID: IDEval, Summary: "measure saved checkpoints with the verifier and rate them in an arena of their own battles",
		Precision: "float32 (GoMLX transformer: weights, activations, log-softmax); sequence log-probabilities and losses are summed in float64.",
		Papers:    []kernel.Paper{PaperDPO}, Params: ps,
		Doc: `For every checkpoint: accuracy and principle rate of its samples (temperature
1) on the task's prompts, with standard errors, KL(π ‖ ref) estimated by
E_{y~π}[log π(y|x) − log ref(y|x)] with its standard error, and the mean
completion length.

Battles: on every prompt and repetition, each model draws one completion;
every pair of models plays one battle judged by the verifier's score
(2·correct + principle; equal scores tie). The battles (table battles,
model_a/model_b/winner as arena files have them) are rated by bt.ratings
(Bradley–Terry, bootstrap 95% intervals): table leaderboard.

The task params must be those the models were trained with (same seed):
the prompts are regenerated from them.`,
	}
}

func parseModels(s string) (names, dirs []string, err error) {
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		name, dir, ok := strings.Cut(f, "=")
		if !ok || name == "" || dir == "" {
			return nil, nil, fmt.Errorf("want name=DIR, got %q", f)
		}
		for _, n := range names {
			if n == name {
				return nil, nil, fmt.Errorf("model name %q given twice", name)
			}
		}
		names, dirs = append(names, name), append(dirs, dir)
	}
	return names, dirs, nil
}

func (evalPlugin) Run(job *kernel.Job) error {
	s := newStreams(job)
	e, err := setup(job, s)
	if err != nil {
		return err
	}
	names, dirs, err := parseModels(job.Params.String(ParamModels))
	if err != nil {
		return &kernel.ParamError{Plugin: job.Result.Plugin, Key: ParamModels, Value: job.Params.String(ParamModels), Want: "name=DIR,name=DIR,… (" + err.Error() + ")"}
	}
	models := map[string]*decoder.Model{}
	if len(names) == 0 {
		// A smoke test: the untrained model against a briefly trained one.
		fresh, err := e.NewModel(job.Seed)
		if err != nil {
			return err
		}
		sft, err := reference(job, e, s)
		if err != nil {
			return err
		}
		names = []string{"init", "sft"}
		models["init"], models["sft"] = fresh, sft
	} else {
		for i, n := range names {
			m, _, err := e.LoadModel(dirs[i])
			if err != nil {
				return err
			}
			models[n] = m
		}
	}
	var ref *decoder.Model
	switch r := job.Params.String(ParamRef); {
	case r != "" && models[r] != nil:
		ref = models[r]
	case r != "":
		if ref, _, err = e.LoadModel(r); err != nil {
			return err
		}
	default:
		ref = models["sft"]
	}
	set := e.Task.Train
	if job.Params.String(ParamPromptOf) == "test" {
		set = e.Task.Test
	}
	reps := job.Params.Int(ParamEvalReps)
	per := job.AddTable("models", "model", "accuracy", "accuracy_se", "principle", "principle_se", "kl", "kl_se", "length")
	samples := map[string][]string{}
	var prompts []string
	job.SetTotal(int64(len(names)))
	for i, n := range names {
		ev, ps, ys, err := e.Evaluate(models[n], ref, set, reps, s.eval)
		if err != nil {
			return err
		}
		prompts, samples[n] = ps, ys
		kl, klse := any(ev.KL), any(ev.KLSE)
		if ref == nil {
			kl, klse = nil, nil
		}
		per.Add(n, ev.Accuracy, ev.SE(ev.Accuracy), ev.Principle, ev.SE(ev.Principle), kl, klse, ev.Length)
		job.SetFinal(n+"_accuracy", ev.Accuracy)
		if err := job.Step(int64(i + 1)); err != nil {
			return err
		}
	}
	battles := job.AddTable("battles", "model_a", "model_b", "winner", "prompt")
	var lines []string
	for i := range names {
		for j := i + 1; j < len(names); j++ {
			a, b := names[i], names[j]
			for k, p := range prompts {
				sa, sb := e.Task.Score(p, samples[a][k]), e.Task.Score(p, samples[b][k])
				w := "tie"
				switch {
				case sa > sb:
					w = "model_a"
				case sb > sa:
					w = "model_b"
				}
				battles.Add(a, b, w, p)
				line, _ := json.Marshal(map[string]string{"model_a": a, "model_b": b, "winner": w})
				lines = append(lines, string(line))
			}
		}
	}
	job.SetFinal("battles", float64(len(lines)))
	job.AddChart(kernel.Chart{Title: "Verifier accuracy of each checkpoint (95% interval)", Kind: "leaderboard", Table: "accuracy_ci", Label: "model", Value: "accuracy", Low: "low", High: "high"})
	ci := job.AddTable("accuracy_ci", "model", "accuracy", "low", "high")
	for r, n := range per.Strings("model") {
		a, se := per.Floats("accuracy")[r], per.Floats("accuracy_se")[r]
		ci.Add(n, a, math.Max(0, a-1.96*se), math.Min(1, a+1.96*se))
	}
	arena := job.Params.String(ParamArena)
	if arena == "" || len(names) < 2 {
		return nil
	}
	if _, err := kernel.Lookup(arena); err != nil {
		job.Note("no arena ratings: %v", err)
		return nil
	}
	dir, err := os.MkdirTemp("", "lm-eval-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "battles.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	res, err := kernel.Run(job.Context(), arena, kernel.Options{Params: map[string]any{kernel.ParamSeed: job.Seed}, Data: []string{path}})
	if err != nil {
		return fmt.Errorf("lm: rating the battles with %s: %w", arena, err)
	}
	if lb, ok := res.Tables["leaderboard"]; ok {
		job.Result.Tables["leaderboard"] = lb
		job.AddChart(kernel.Chart{Title: "Arena of the checkpoints: Bradley–Terry rating (95% bootstrap interval)", Kind: "leaderboard", Table: "leaderboard", Label: "model", Value: "rating", Low: "ci_low", High: "ci_high"})
	}
	for _, n := range res.Notes {
		job.Note("%s: %s", arena, n)
	}
	return nil
}
