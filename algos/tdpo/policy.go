package tdpo

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/alignlab/alignlab/algos/artifact"
	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
	"github.com/gomlx/gomlx/core/tensors"
)

// PolicyFile is the JSON file a saved Policy keeps beside its weights: the
// loss, β, α, the sequence space, the architecture and the reward's token
// classes.
const PolicyFile = artifact.FactsFile

// The tables of the model's Score and Sample.
const (
	// TableScores, one row per scored pair: pair, prompt, chosen and
	// rejected (tokens), logp_chosen, logp_rejected (Σ_t log π_θ),
	// logratio_chosen, logratio_rejected (u), seqkl_chosen, seqkl_rejected
	// (δ), margin (implicit reward, chosen − rejected) and loss.
	TableScores = "scores"
	// TableSamples, one row per sampled response: prompt, response
	// (words), tokens, reward r(y), logp (Σ_t log π_θ) and ref_logp.
	TableSamples = "samples"
)

// Policy is what the plugins tdpo.dpo, tdpo.tdpo1 and tdpo.tdpo2 train and
// save: the token policy π_θ and the reference π_ref it was trained
// against (one Spec), the loss, β and α of training, and the task's token
// classes, which give the reward r(y) = #positive − ½·#negative.
type Policy struct {
	Loss               Kind
	Beta, Alpha        float64
	Spec               Spec
	Positive, Negative int // the first Positive tokens are positive, the next Negative negative
	// PolicyWeights and RefWeights are the networks' weights by name, as
	// Net.Weights returns them.
	PolicyWeights, RefWeights map[string][]float64
}

var (
	_ kernel.Model       = (*Policy)(nil)
	_ kernel.Scorer      = (*Policy)(nil)
	_ kernel.Sampler     = (*Policy)(nil)
	_ kernel.ModelLoader = plugin{}
)

// policyMeta is PolicyFile's content.
type policyMeta struct {
	Loss     Kind    `json:"loss"`
	Beta     float64 `json:"beta"`
	Alpha    float64 `json:"alpha"`
	Prompts  int     `json:"prompts"`
	Vocab    int     `json:"vocab"`
	Length   int     `json:"length"`
	Policy   string  `json:"policy"`
	Hidden   int     `json:"hidden,omitempty"`
	Positive int     `json:"positive"`
	Negative int     `json:"negative"`
}

// newPolicy returns the model of a run: the trainer's policy and task.
func newPolicy(cfg Config, task *Task, policy *Net) *Policy {
	s := task.Config.Spec
	if s.Arch != ArchGRU {
		s.Hidden = 0 // not a size of the tabular model
	}
	return &Policy{Loss: cfg.Loss, Beta: cfg.Beta, Alpha: cfg.Alpha, Spec: s,
		Positive: task.Config.Positive, Negative: task.Config.Negative,
		PolicyWeights: policy.Weights(), RefWeights: task.Ref.Weights()}
}

// Kind says which policy p is and its sizes.
func (p *Policy) Kind() string {
	s := p.Spec
	arch := "tabular token policy"
	if s.Arch == ArchGRU {
		arch = fmt.Sprintf("GRU token policy, %d units", s.Hidden)
	}
	return fmt.Sprintf("%s, %d prompts, vocab %d, length %d (%s)", arch, s.Prompts, s.Vocab, s.Length, p.Loss)
}

// weights returns the arrays of the model: "policy/NAME" and "ref/NAME"
// for each weight of the Spec.
func (p *Policy) weights() artifact.Weights {
	w := artifact.Weights{}
	for _, v := range p.Spec.variables() {
		w["policy/"+v.name] = artifact.F64(p.PolicyWeights[v.name], v.dims...)
		w["ref/"+v.name] = artifact.F64(p.RefWeights[v.name], v.dims...)
	}
	return w
}

// Shapes lists the arrays "policy/NAME" and "ref/NAME" and their dimensions.
func (p *Policy) Shapes() map[string][]int {
	out := map[string][]int{}
	for _, v := range p.Spec.variables() {
		out["policy/"+v.name] = append([]int(nil), v.dims...)
		out["ref/"+v.name] = append([]int(nil), v.dims...)
	}
	return out
}

// Save writes both networks' weights (GoMLX checkpoint) and PolicyFile into dir.
func (p *Policy) Save(dir string) error {
	if err := artifact.Save(dir, p.weights()); err != nil {
		return err
	}
	s := p.Spec
	return artifact.WriteFacts(dir, policyMeta{Loss: p.Loss, Beta: p.Beta, Alpha: p.Alpha, Prompts: s.Prompts, Vocab: s.Vocab,
		Length: s.Length, Policy: s.Arch, Hidden: s.Hidden, Positive: p.Positive, Negative: p.Negative})
}

// loadPolicy reads a Policy saved in dir, checking PolicyFile's values and
// every array's shape.
func loadPolicy(dir string) (*Policy, error) {
	path := filepath.Join(dir, PolicyFile)
	var m policyMeta
	if err := artifact.ReadFacts(dir, &m); err != nil {
		return nil, fmt.Errorf("tdpo: %w", err)
	}
	p := &Policy{Loss: m.Loss, Beta: m.Beta, Alpha: m.Alpha, Positive: m.Positive, Negative: m.Negative,
		Spec:          Spec{Prompts: m.Prompts, Vocab: m.Vocab, Length: m.Length, Arch: m.Policy, Hidden: m.Hidden},
		PolicyWeights: map[string][]float64{}, RefWeights: map[string][]float64{}}
	if _, err := ParseKind(string(m.Loss)); err != nil {
		return nil, fmt.Errorf("tdpo: %s: loss: %w", path, err)
	}
	if err := p.Spec.check(); err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	if m.Positive < 0 || m.Negative < 0 || m.Positive+m.Negative > m.Vocab {
		return nil, fmt.Errorf("tdpo: %s: positive, negative: %d and %d tokens do not fit a vocabulary of %d", path, m.Positive, m.Negative, m.Vocab)
	}
	w, err := artifact.Load(dir)
	if err != nil {
		return nil, err
	}
	for _, v := range p.Spec.variables() {
		for _, net := range []struct {
			prefix string
			dst    map[string][]float64
		}{{"policy/", p.PolicyWeights}, {"ref/", p.RefWeights}} {
			t, err := w.Need(net.prefix+v.name, v.dims...)
			if err != nil {
				return nil, fmt.Errorf("tdpo: %s: %w (%s says %s)", dir, err, PolicyFile, p.Kind())
			}
			net.dst[v.name] = t.Floats()
		}
	}
	return p, nil
}

// LoadModel reads the Policy a run of the plugin saved in dir.
func (pl plugin) LoadModel(dir string, man *kernel.Manifest, backendName string) (kernel.Model, error) {
	p, err := loadPolicy(dir)
	if err != nil {
		return nil, err
	}
	if p.Loss != pl.kind {
		return nil, fmt.Errorf("tdpo: %s: %s says loss %s, but the manifest's plugin is %s", dir, PolicyFile, p.Loss, ID(pl.kind))
	}
	return p, nil
}

// fits reports whether p can start the training of a policy of spec s.
func (p *Policy) fits(s Spec) error {
	q := p.Spec
	switch {
	case q.Arch != s.Arch:
		return fmt.Errorf("the saved model is a %s, the run trains policy = %s (set %s=%s)", p.Kind(), s.Arch, ParamPolicy, q.Arch)
	case q.Arch == ArchGRU && q.Hidden != s.Hidden:
		return fmt.Errorf("the saved GRU has %d units, the run's %d (set %s=%d)", q.Hidden, s.Hidden, ParamHidden, q.Hidden)
	case q.Prompts != s.Prompts || q.Vocab != s.Vocab || q.Length != s.Length:
		return fmt.Errorf("the saved model has %d prompts, vocab %d, length %d; the run's task %d, %d, %d (set %s=%d, %s=%d, %s=%d)",
			q.Prompts, q.Vocab, q.Length, s.Prompts, s.Vocab, s.Length, ParamPrompts, q.Prompts, ParamVocab, q.Vocab, ParamLength, q.Length)
	}
	return nil
}

// nets builds the policy and the reference networks on the named backend.
func (p *Policy) nets(backendName string) (policy, ref *Net, err error) {
	if policy, err = NewNet(p.Spec, p.PolicyWeights, backendName); err != nil {
		return nil, nil, err
	}
	if ref, err = NewNet(p.Spec, p.RefWeights, backendName); err != nil {
		return nil, nil, err
	}
	return policy, ref, nil
}

// reward returns r(y) = #positive − ½·#negative tokens of y.
func (p *Policy) reward(y []int) float64 {
	r := 0.0
	for _, v := range y {
		switch {
		case v < p.Positive:
			r++
		case v < p.Positive+p.Negative:
			r -= 0.5
		}
	}
	return r
}

// naming is a Task that only names prompts and words (PromptName, Words).
func (p *Policy) naming() *Task {
	return &Task{Config: TaskConfig{Spec: p.Spec, Positive: p.Positive, Negative: p.Negative}}
}

// sequenceLogProbs returns Σ_t log π(y_t | x, y<t) for each sequence of
// seqs from net's per-position conditionals lp.
func sequenceLogProbs(s Spec, lp []float64, seqs []int) []float64 {
	T, V := s.Length, s.Vocab
	out := make([]float64, len(seqs)/T)
	for i := range out {
		for t := range T {
			out[i] += lp[(i*T+t)*V+seqs[i*T+t]]
		}
	}
	return out
}

// Score measures the policy on the sequence pairs of job.Data (JSONL, see
// LoadPairs; all files together) without training: per pair the table
// scores; finals loss, reward_accuracy, margin, seqkl_chosen and
// seqkl_rejected as training reports them (the plugin's loss at the job's
// beta and alpha), logp_chosen and logp_rejected (mean sequence
// log-probabilities under π_θ) and label_accuracy (the fraction of pairs
// whose chosen response has the higher true reward; ties ½).
func (p *Policy) Score(job *kernel.Job) (err error) {
	defer fit.Catch("tdpo", &err)
	if len(job.Data) == 0 {
		return &kernel.ModelUsageError{Plugin: job.Result.Plugin, Msg: "score needs sequence pairs (--data FILE)"}
	}
	s := p.Spec
	var pairs []Pair
	for i, path := range job.Data {
		ps, err := LoadPairs(path, s)
		if err != nil {
			return err
		}
		job.DataShape(i, "pairs", len(ps))
		pairs = append(pairs, ps...)
	}
	cfg := ConfigFromParams(p.Loss, job.Params)
	if err := Check(p.Loss, cfg.Beta, cfg.Alpha); err != nil {
		return err
	}
	policy, ref, err := p.nets(job.Backend)
	if err != nil {
		return err
	}
	prompts, seqs := pairSequences(pairs, s.Length)
	refLogp, err := ref.LogProbs(prompts, seqs)
	if err != nil {
		return err
	}
	lp, err := policy.LogProbs(prompts, seqs)
	if err != nil {
		return err
	}
	exec, err := statsExec(policy)
	if err != nil {
		return err
	}
	out, err := exec.Exec(statsInputs(s, prompts, seqs, refLogp)...)
	if err != nil {
		return err
	}
	u := tensors.MustCopyFlatData[float64](out[0])
	d := tensors.MustCopyFlatData[float64](out[1])
	m := pairMetrics(cfg, u, d)
	logp := sequenceLogProbs(s, lp, seqs)
	n := len(pairs)
	tb := job.AddTable(TableScores, "pair", "prompt", "chosen", "rejected", "logp_chosen", "logp_rejected",
		"logratio_chosen", "logratio_rejected", "seqkl_chosen", "seqkl_rejected", "margin", "loss")
	var lw, ll, label float64
	for i, pr := range pairs {
		uw, ul, dw, dl := u[i], u[n+i], d[i], d[n+i]
		cw, cl := ImplicitRewards(p.Loss, uw, ul, dw, dl, cfg.Beta)
		tb.Add(i, pr.Prompt, tokens(pr.Chosen), tokens(pr.Rejected), logp[i], logp[n+i], uw, ul, dw, dl, cw-cl,
			PairLossFloat64(p.Loss, uw, ul, dw, dl, cfg.Beta, cfg.Alpha))
		lw += logp[i]
		ll += logp[n+i]
		switch rw, rl := p.reward(pr.Chosen), p.reward(pr.Rejected); {
		case rw > rl:
			label++
		case rw == rl:
			label += 0.5
		}
	}
	nf := float64(n)
	job.SetFinal(MetricLoss, m.Loss)
	job.SetFinal(MetricAccuracy, m.Accuracy)
	job.SetFinal(MetricMargin, m.Margin)
	job.SetFinal(MetricSeqKLChosen, m.SeqKLChosen)
	job.SetFinal(MetricSeqKLRejected, m.SeqKLRejected)
	job.SetFinal("logp_chosen", lw/nf)
	job.SetFinal("logp_rejected", ll/nf)
	job.SetFinal("label_accuracy", label/nf)
	return nil
}

// Sample draws n responses from the policy for each of its prompts, with
// job.Rand(), into the table samples; finals reward (the mean true reward
// of the samples) and kl (the mean of log π_θ(y|x) − log π_ref(y|x), a
// Monte-Carlo estimate of KL(π_θ ‖ π_ref) over whole responses). It reads
// no data: the prompts are the model's.
func (p *Policy) Sample(job *kernel.Job, n int) error {
	s := p.Spec
	if len(job.Data) > 0 {
		return &kernel.ModelUsageError{Plugin: job.Result.Plugin,
			Msg: fmt.Sprintf("sample reads no --x or --data: it draws n responses for each of the model's %d prompts", s.Prompts)}
	}
	if n < 1 {
		return &kernel.ModelUsageError{Plugin: job.Result.Plugin, Msg: fmt.Sprintf("sample: n = %d, want at least 1", n)}
	}
	policy, ref, err := p.nets(job.Backend)
	if err != nil {
		return err
	}
	prompts := make([]int, 0, s.Prompts*n)
	for x := range s.Prompts {
		for range n {
			prompts = append(prompts, x)
		}
	}
	seqs, err := Sample(policy, prompts, job.Rand())
	if err != nil {
		return err
	}
	lp, err := policy.LogProbs(prompts, seqs)
	if err != nil {
		return err
	}
	lq, err := ref.LogProbs(prompts, seqs)
	if err != nil {
		return err
	}
	logp, refLogp := sequenceLogProbs(s, lp, seqs), sequenceLogProbs(s, lq, seqs)
	names := p.naming()
	tb := job.AddTable(TableSamples, "prompt", "response", "tokens", "reward", "logp", "ref_logp")
	var reward, kl float64
	T := s.Length
	for i, x := range prompts {
		y := seqs[i*T : (i+1)*T]
		r := p.reward(y)
		tb.Add(x, names.Words(y), tokens(y), r, logp[i], refLogp[i])
		reward += r
		kl += logp[i] - refLogp[i]
	}
	job.SetFinal(MetricReward, reward/float64(len(prompts)))
	job.SetFinal(MetricKL, kl/float64(len(prompts)))
	return nil
}

// tokens writes a response as its token indices separated by spaces.
func tokens(y []int) string {
	var b strings.Builder
	for i, v := range y {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(v))
	}
	return b.String()
}

// pairLine is one line of a sequence-pairs file.
type pairLine struct {
	Prompt   *int  `json:"prompt"`
	Chosen   []int `json:"chosen"`
	Rejected []int `json:"rejected"`
}

// LoadPairs reads sequence pairs for models of spec s from a JSON Lines
// file, one pair a line:
//
//	{"prompt": 0, "chosen": [0, 3, 1, 2], "rejected": [5, 3, 1, 0]}
//
// prompt is a prompt token in [0, Prompts); chosen and rejected are
// responses of Length tokens in [0, Vocab), the preferred one first, and
// differ. Blank lines and other fields are ignored. Problems are
// *datasets.Error naming the file, the line and the field.
func LoadPairs(path string, s Spec) ([]Pair, error) {
	var pairs []Pair
	err := datasets.ReadJSONLines(path, 1<<24, "sequence pairs", func(b []byte, line int) error {
		var l pairLine
		if err := json.Unmarshal(b, &l); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) && te.Field != "" {
				field, what := fieldWant(te.Field, s)
				return datasets.Errorf(path, line, field, "want %s, got a JSON %s", what, te.Value)
			}
			return datasets.Errorf(path, line, "", "want a JSON object, got %v", err)
		}
		if l.Prompt == nil {
			return datasets.Errorf(path, line, "prompt", "missing: want a prompt token in [0, %d)", s.Prompts)
		}
		if *l.Prompt < 0 || *l.Prompt >= s.Prompts {
			return datasets.Errorf(path, line, "prompt", "want a prompt token in [0, %d), got %d", s.Prompts, *l.Prompt)
		}
		for _, c := range []struct {
			field string
			y     []int
		}{{"chosen", l.Chosen}, {"rejected", l.Rejected}} {
			if len(c.y) != s.Length {
				return datasets.Errorf(path, line, c.field, "want %d tokens (the model's length), got %d", s.Length, len(c.y))
			}
			for t, v := range c.y {
				if v < 0 || v >= s.Vocab {
					return datasets.Errorf(path, line, fmt.Sprintf("%s[%d]", c.field, t), "want a token in [0, %d), got %d", s.Vocab, v)
				}
			}
		}
		if equalInts(l.Chosen, l.Rejected) {
			return datasets.Errorf(path, line, "rejected", "want a response other than chosen, got the same %v", l.Chosen)
		}
		pairs = append(pairs, Pair{Prompt: *l.Prompt, Chosen: l.Chosen, Rejected: l.Rejected})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return pairs, nil
}

// fieldWant returns the field of a pairs line that encoding/json names
// ("chosen.2" is chosen[2]) and what it holds.
func fieldWant(jsonField string, s Spec) (field, what string) {
	name, index, elem := strings.Cut(jsonField, ".")
	switch {
	case name == "prompt":
		return name, fmt.Sprintf("a prompt token in [0, %d)", s.Prompts)
	case elem:
		return fmt.Sprintf("%s[%s]", name, index), fmt.Sprintf("a token in [0, %d)", s.Vocab)
	}
	return name, fmt.Sprintf("a list of %d tokens in [0, %d)", s.Length, s.Vocab)
}

// WritePairs writes pairs in LoadPairs's format, one a line.
func WritePairs(w io.Writer, pairs []Pair) error {
	bw := bufio.NewWriter(w)
	for _, p := range pairs {
		b, err := json.Marshal(pairLine{Prompt: &p.Prompt, Chosen: p.Chosen, Rejected: p.Rejected})
		if err != nil {
			return err
		}
		bw.Write(b)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}
