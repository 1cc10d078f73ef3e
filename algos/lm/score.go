package lm

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/alignlab/alignlab/algos/decoder"
	"github.com/alignlab/alignlab/algos/pairloss"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// The finals of Model.Score and Policy.Sample (besides pair_accuracy,
// accuracy, principle and length, which mean what they mean in a run).
const (
	MetricLogpAccuracy   = "logp_accuracy"   // fraction of pairs with log π(y_w|x) > log π(y_l|x), ties ½
	MetricLogpMargin     = "logp_margin"     // mean log π(y_w|x) − log π(y_l|x)
	MetricImplicitMargin = "implicit_margin" // mean h = [log π − log π_ref](y_w) − [log π − log π_ref](y_l)
	MetricRewardMargin   = "reward_margin"   // mean r(x, y_w) − r(x, y_l)
	MetricLogLoss        = "log_loss"        // mean −log σ(r(x, y_w) − r(x, y_l))
	MetricNLL            = "nll"             // −Σ log π(y|x) / Σ tokens: nats per completion token, EOS included
	MetricLogLikelihood  = "log_likelihood"  // Σ log π(y|x) over the rows
	MetricMeanReward     = "mean_reward"     // mean r(x, y) over the rows
	MetricScoreCorr      = "score_corr"      // correlation of r with the verifier's score
)

// scoreWant is what Score reads, for its errors.
const scoreWant = "1 file, --data pairs.jsonl (prompt, chosen, rejected) or sft.jsonl (prompt, completion)"

// Score measures the model on job.Data[0] without training
// (kernel.Scorer), by the file's fields:
//
// TRL preference pairs (prompt, chosen, rejected; datasets.LoadTextPairs):
// a policy's log π of both responses (table scores: logp_chosen,
// logp_rejected, margin) and the finals logp_accuracy and logp_margin; when
// the file has ref_chosen_logps and ref_rejected_logps, also the implicit
// margin h = u_w − u_l with u = log π − log π_ref (column implicit_margin),
// and pair_accuracy (h > 0, ties ½) and implicit_margin: on the file a
// preference run trained on, pair_accuracy is the run's own. A reward
// model's r of both (reward_chosen, reward_rejected, p_chosen =
// σ(r_w − r_l)) and pair_accuracy (r_w > r_l, ties ½: the run's own on its
// training file), reward_margin, log_loss.
//
// TRL SFT examples (prompt, completion; datasets.LoadSFT): a policy's log π
// of each completion with its EOS (logp, tokens) and the finals nll (what
// sft_loss measures) and log_likelihood; a reward model's r (reward),
// mean_reward and, when every prompt is "a+b=", score_corr against the
// verifier (principle_max_chars from the params).
//
// The rows are encoded and evaluated as the runs do (same width, chunks of
// 64 rows), so the numbers are the runs' own to the bit.
func (m *Model) Score(job *kernel.Job) error {
	if len(job.Data) != 1 {
		return job.DataCountError(scoreWant)
	}
	path := job.Data[0]
	pairs, err := sniffPairs(path)
	if err != nil {
		return err
	}
	if !pairs {
		ex, err := datasets.LoadSFT(path)
		if err != nil {
			return err
		}
		job.DataShape(0, "examples", len(ex))
		return m.scoreExamples(job, ex)
	}
	p, err := datasets.LoadTextPairs(path)
	if err != nil {
		return err
	}
	job.DataShape(0, "pairs", len(p.Pairs), "ref_logps", p.HasRef)
	return m.scorePairs(job, p)
}

// rows encodes prompt/completion rows (with EOS) as the runs do: at the
// model's width, widened for the file's longest prompt and completion.
func (m *Model) rows(prompts, completions []string) (*decoder.Batch, error) {
	e := &Env{Tok: m.Tok, Config: m.Decoder.Config}
	e.Widen(prompts, completions)
	return e.Encode(prompts, completions)
}

func (m *Model) scorePairs(job *kernel.Job, p *datasets.TextPairs) error {
	P := len(p.Pairs)
	ps, cs := make([]string, 2*P), make([]string, 2*P)
	for i, q := range p.Pairs {
		ps[i], cs[i] = q.Prompt, q.Chosen
		ps[P+i], cs[P+i] = q.Prompt, q.Rejected
	}
	rows, err := m.rows(ps, cs)
	if err != nil {
		return err
	}
	if m.Decoder.HasHead() {
		r, err := rewards(m.Decoder, rows)
		if err != nil {
			return err
		}
		t := job.AddTable("scores", "prompt", "chosen", "rejected", "reward_chosen", "reward_rejected", "p_chosen")
		h := make([]float64, P)
		var loss float64
		for i, q := range p.Pairs {
			h[i] = r[i] - r[P+i]
			loss += pairloss.SoftplusNegFloat64(h[i])
			t.Add(q.Prompt, q.Chosen, q.Rejected, r[i], r[P+i], pairloss.Sigmoid(h[i]))
		}
		job.SetFinal(MetricPairAccuracy, cleanAccuracy(p, h))
		job.SetFinal(MetricRewardMargin, mean(h))
		job.SetFinal(MetricLogLoss, loss/float64(P))
		job.SetFinal("pairs", float64(P))
		return nil
	}
	lp, err := seqLogProbs(m.Decoder, rows)
	if err != nil {
		return err
	}
	cols := []string{"prompt", "chosen", "rejected", "logp_chosen", "logp_rejected", "margin"}
	if p.HasRef {
		cols = append(cols, "implicit_margin")
	}
	t := job.AddTable("scores", cols...)
	margin, h := make([]float64, P), make([]float64, P)
	for i, q := range p.Pairs {
		margin[i] = lp[i] - lp[P+i]
		row := []any{q.Prompt, q.Chosen, q.Rejected, lp[i], lp[P+i], margin[i]}
		if p.HasRef {
			// As PairMargins, with the file's log π_ref as the offsets.
			h[i] = (lp[i] - q.RefChosen) - (lp[P+i] - q.RefRejected)
			row = append(row, h[i])
		}
		t.Add(row...)
	}
	job.SetFinal(MetricLogpAccuracy, cleanAccuracy(p, margin))
	job.SetFinal(MetricLogpMargin, mean(margin))
	if p.HasRef {
		job.SetFinal(MetricPairAccuracy, cleanAccuracy(p, h))
		job.SetFinal(MetricImplicitMargin, mean(h))
	}
	job.SetFinal("pairs", float64(P))
	return nil
}

func (m *Model) scoreExamples(job *kernel.Job, ex []datasets.TextExample) error {
	ps, cs := make([]string, len(ex)), make([]string, len(ex))
	for i, x := range ex {
		ps[i], cs[i] = x.Prompt, x.Completion
	}
	rows, err := m.rows(ps, cs)
	if err != nil {
		return err
	}
	if m.Decoder.HasHead() {
		r, err := rewards(m.Decoder, rows)
		if err != nil {
			return err
		}
		t := job.AddTable("scores", "prompt", "completion", "reward")
		verifiable := true
		scores := make([]float64, len(ex))
		for i, x := range ex {
			t.Add(x.Prompt, x.Completion, r[i])
			c, pr, err := datasets.Verify(x.Prompt, x.Completion, job.Params.Int(ParamMaxChars))
			verifiable = verifiable && err == nil
			scores[i] = 2*b2f(c) + b2f(pr)
		}
		job.SetFinal(MetricMeanReward, mean(r))
		if verifiable {
			job.SetFinal(MetricScoreCorr, corr(r, scores))
		}
		job.SetFinal("examples", float64(len(ex)))
		return nil
	}
	lp, err := seqLogProbs(m.Decoder, rows)
	if err != nil {
		return err
	}
	t := job.AddTable("scores", "prompt", "completion", "logp", "tokens")
	var sum, tokens float64
	for i, x := range ex {
		n := 0.0
		for _, v := range rows.Mask[i*rows.L : (i+1)*rows.L] {
			n += float64(v)
		}
		t.Add(x.Prompt, x.Completion, lp[i], int(n))
		sum += lp[i]
		tokens += n
	}
	job.SetFinal(MetricNLL, -sum/tokens)
	job.SetFinal(MetricLogLikelihood, sum)
	job.SetFinal("examples", float64(len(ex)))
	job.SetFinal("tokens", tokens)
	return nil
}

// Sample draws n completions for every prompt from the policy
// (kernel.Sampler) at temperature 1, as the runs sample, with the job's
// first random stream: table samples (prompt, sample 1…n, completion,
// tokens, truncated: no EOS before max_len), final length (mean tokens).
// The prompts are job.Data[0], a JSON Lines file with "prompt" (a string
// or a list of {role, content} messages: TRL's SFT and preference files
// qualify) or a text file of one prompt per line; without a file, the
// task's training and held-out prompts, regenerated from the task params
// and the seed of the run that trained the model (column set: train or
// test). When every prompt is "a+b=", the verifier's columns correct and
// principle and the finals accuracy and principle with their standard
// errors (principle_max_chars from the params); on the task's prompts,
// accuracy_test and principle_test for the held-out ones, as a run
// reports them.
func (p *Policy) Sample(job *kernel.Job, n int) error {
	var prompts, sets []string
	var lines []int
	path := ""
	switch len(job.Data) {
	case 0:
		task, err := p.task(job)
		if err != nil {
			return err
		}
		for _, s := range []struct {
			name    string
			prompts []string
		}{{"train", task.Train}, {"test", task.Test}} {
			for _, q := range s.prompts {
				prompts, sets = append(prompts, q), append(sets, s.name)
			}
		}
	case 1:
		path = job.Data[0]
		var err error
		if prompts, lines, err = readPrompts(path); err != nil {
			return err
		}
		job.DataShape(0, "prompts", len(prompts))
	default:
		return job.DataCountError("at most 1 file, --data prompts.jsonl (\"prompt\" on every line) or prompts.txt (one a line); none: the task's prompts")
	}
	L := p.Decoder.Config.MaxLen
	verifiable := true
	for i, pr := range prompts {
		if k := 1 + len(p.Tok.Encode(pr)); k >= L {
			msg := fmt.Sprintf("takes %d of the model's %d positions (BOS included), leaving none to generate", k, L)
			if path == "" {
				return fmt.Errorf("lm: the task's prompt %q %s", pr, msg)
			}
			return datasets.Errorf(path, lines[i], "prompt", "%s", msg)
		}
		_, err := datasets.Answer(pr)
		verifiable = verifiable && err == nil
	}
	all := make([]string, 0, n*len(prompts))
	for _, pr := range prompts {
		for range n {
			all = append(all, pr)
		}
	}
	// Fewer rows than a batch of the runs' sample in one narrower batch: the
	// same draws in the same order, less padding.
	batch := min(evalBatch, (len(all)+7)/8*8)
	ys, truncated, err := p.Decoder.Sample(p.Tok, all, decoder.SampleOptions{Batch: batch}, job.Rand())
	if err != nil {
		return err
	}
	var cols []string
	if sets != nil {
		cols = append(cols, "set")
	}
	cols = append(cols, "prompt", "sample", "completion", "tokens", "truncated")
	if verifiable {
		cols = append(cols, "correct", "principle")
	}
	t := job.AddTable("samples", cols...)
	maxChars := job.Params.Int(ParamMaxChars)
	var length float64
	type tally struct{ n, acc, prin float64 }
	bySet := map[string]*tally{}
	for i, y := range ys {
		k := len(p.Tok.Encode(y))
		length += float64(k)
		var row []any
		set := ""
		if sets != nil {
			set = sets[i/n]
			row = append(row, set)
		}
		row = append(row, all[i], i%n+1, Printable(y), k, truncated[i])
		if verifiable {
			c, pr, _ := datasets.Verify(all[i], y, maxChars)
			if bySet[set] == nil {
				bySet[set] = &tally{}
			}
			s := bySet[set]
			s.n, s.acc, s.prin = s.n+1, s.acc+b2f(c), s.prin+b2f(pr)
			row = append(row, c, pr)
		}
		t.Add(row...)
	}
	N := float64(len(ys))
	job.SetFinal(MetricLength, length/N)
	job.SetFinal("samples", N)
	for set, s := range bySet {
		suffix := ""
		if set == "test" {
			suffix = "_test"
		}
		ev := Eval{N: int(s.n)}
		job.SetFinal(MetricAccuracy+suffix, s.acc/s.n)
		job.SetFinal(MetricAccuracy+suffix+"_se", ev.SE(s.acc/s.n))
		job.SetFinal(MetricPrinciple+suffix, s.prin/s.n)
		job.SetFinal(MetricPrinciple+suffix+"_se", ev.SE(s.prin/s.n))
	}
	return nil
}

// task regenerates the task of the run that trained the policy: its first
// random stream (newStreams) at the run's seed, with the task params.
func (p *Policy) task(job *kernel.Job) (*datasets.TextTask, error) {
	ps := maps.Clone(job.Params)
	ps[kernel.ParamSeed] = p.Seed
	run := kernel.NewJob(job.Context(), job.Result.Plugin, ps, nil)
	return datasets.GenerateTextTask(taskConfig(job.Params), run.Rand())
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// readLines returns the lines of a text file, decompressed when it starts
// with gzip's magic bytes (datasets.Open, as the datasets loaders read).
func readLines(path string) ([]string, error) {
	r, err := datasets.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, datasets.Errorf(path, 0, "", "%v", err)
	}
	return strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n"), nil
}

// sniffPairs tells a TRL preference file (a "chosen" or "rejected" field
// on its first line) from an SFT file ("completion"). A first line that is
// not a JSON object is left to LoadTextPairs to report.
func sniffPairs(path string) (bool, error) {
	lines, err := readLines(path)
	if err != nil {
		return false, err
	}
	for i, line := range lines {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal([]byte(line), &obj) != nil || obj == nil {
			return true, nil
		}
		_, c := obj["chosen"]
		_, r := obj["rejected"]
		if c || r {
			return true, nil
		}
		if _, ok := obj["completion"]; ok {
			return false, nil
		}
		fields := make([]string, 0, len(obj))
		for k := range obj {
			fields = append(fields, k)
		}
		slices.Sort(fields)
		return false, datasets.Errorf(path, i+1, "chosen", "missing: want chosen and rejected (TRL's preference format) or completion (its SFT format); the line has %s", strings.Join(fields, ", "))
	}
	return true, nil
}

// readPrompts reads the prompts of a JSON Lines file ("prompt": a string,
// or a list of {role, content} messages whose contents are joined with
// "\n", as datasets.LoadSFT reads them) or of a text file (every line that
// is not blank), with their line numbers. datasets reads no file of
// prompts alone.
func readPrompts(path string) (prompts []string, lines []int, err error) {
	text, err := readLines(path)
	if err != nil {
		return nil, nil, err
	}
	jsonl := false
	for _, line := range text {
		if s := strings.TrimSpace(line); s != "" {
			jsonl = strings.HasPrefix(s, "{")
			break
		}
	}
	for i, line := range text {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if !jsonl {
			prompts, lines = append(prompts, line), append(lines, i+1)
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &obj); err != nil || obj == nil {
			return nil, nil, datasets.Errorf(path, i+1, "", "want a JSON object with \"prompt\" (the first line is one)")
		}
		raw, ok := obj["prompt"]
		if !ok {
			return nil, nil, datasets.Errorf(path, i+1, "prompt", "missing: want a string or a list of messages")
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			var msgs []struct {
				Role    string  `json:"role"`
				Content *string `json:"content"`
			}
			if json.Unmarshal(raw, &msgs) != nil || len(msgs) == 0 {
				return nil, nil, datasets.Errorf(path, i+1, "prompt", "want a string or a list of {role, content} messages, got %s", raw)
			}
			parts := make([]string, len(msgs))
			for j, m := range msgs {
				if m.Content == nil {
					return nil, nil, datasets.Errorf(path, i+1, "prompt", "message %d has no content", j+1)
				}
				parts[j] = *m.Content
			}
			s = strings.Join(parts, "\n")
		}
		prompts, lines = append(prompts, s), append(lines, i+1)
	}
	if len(prompts) == 0 {
		return nil, nil, datasets.Errorf(path, 0, "", "no prompts")
	}
	return prompts, lines, nil
}
