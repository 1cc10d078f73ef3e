package lm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/alignlab/alignlab/algos/decoder"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/tokenizer"
)

// Env is what every stage of the pipeline shares: the task (prompts and
// verifier), the tokenizer and the model shape.
type Env struct {
	Task    *datasets.TextTask
	Tok     tokenizer.Tokenizer
	Config  decoder.Config
	Backend string // GoMLX backend configuration ("" = pure Go)
}

// corpus is the text a BPE tokenizer is trained on: every prompt, its
// answer, and the SFT demonstrations.
func corpus(t *datasets.TextTask) []string {
	var out []string
	for _, p := range append(append([]string{}, t.Train...), t.Test...) {
		a, _ := datasets.Answer(p)
		out = append(out, p, a)
	}
	for _, d := range t.Demos {
		out = append(out, d.Prompt, d.Completion)
	}
	return out
}

// NewEnv builds the tokenizer tokName (tokenizer.FromName: "byte", "bpe",
// "bpe:N" or a tokenizer.json path; BPE is trained on the task's corpus) and
// the shape of a model of the named size whose max_len fits the longest
// demonstration with room to generate.
func NewEnv(task *datasets.TextTask, tokName, size, backend string) (*Env, error) {
	tok, err := tokenizer.FromName(tokName, corpus(task))
	if err != nil {
		return nil, err
	}
	return newEnv(task, tok, size, backend)
}

// newEnv is NewEnv with the tokenizer built.
func newEnv(task *datasets.TextTask, tok tokenizer.Tokenizer, size, backend string) (*Env, error) {
	// Input positions: BOS, the longest prompt and the longest completion
	// (the targets add EOS), rounded up to a multiple of 8.
	maxP, maxC := 0, 0
	for _, p := range append(append([]string{}, task.Train...), task.Test...) {
		maxP = max(maxP, len(tok.Encode(p)))
	}
	for _, d := range task.Demos {
		maxC = max(maxC, len(tok.Encode(d.Completion)))
	}
	L := (1 + maxP + maxC + 7) / 8 * 8
	cfg, err := decoder.SizeConfig(size, tok.VocabSize(), L)
	if err != nil {
		return nil, err
	}
	return &Env{Task: task, Tok: tok, Config: cfg, Backend: backend}, nil
}

// NewModel returns a fresh model of the env's shape with weights from seed.
func (e *Env) NewModel(seed int64) (*decoder.Model, error) {
	return decoder.New(e.Config, seed, e.Backend)
}

// SaveModel writes m and the env's tokenizer (tokenizer.json for a BPE)
// into dir.
func (e *Env) SaveModel(m *decoder.Model, dir string, extra map[string]any) error {
	if err := m.Save(dir, decoder.Manifest{Tokenizer: e.Tok.Name(), Extra: extra}); err != nil {
		return err
	}
	if b, ok := e.Tok.(*tokenizer.BPE); ok {
		return writeFile(filepath.Join(dir, TokenizerFile), b.WriteJSON)
	}
	return nil
}

// LoadModel reads a model saved by SaveModel, a model a run saved (`run
// --out DIR`: the checkpoint in DIR/model/decoder, see DecoderDir), or a
// HuggingFace GPT-2 checkpoint (config.json + model.safetensors,
// decoder.LoadHF; give its tokenizer.json as the tokenizer param), and
// checks that its tokenizer and shape fit the env's (a model trained with
// another tokenizer reads other ids).
func (e *Env) LoadModel(dir string) (*decoder.Model, decoder.Manifest, error) {
	dir = decoderDir(dir)
	if _, err := os.Stat(filepath.Join(dir, decoder.ManifestFile)); err != nil {
		if _, herr := os.Stat(filepath.Join(dir, decoder.HFConfigFile)); herr == nil {
			return e.loadHF(dir)
		}
	}
	m, man, err := decoder.Load(dir, e.Backend)
	if err != nil {
		return nil, man, err
	}
	saved := filepath.Join(dir, "tokenizer.json")
	same := man.Tokenizer == e.Tok.Name() || e.Tok.Name() == "hf:"+saved
	if !same || man.Config.Vocab != e.Tok.VocabSize() {
		hint := "set tokenizer to match"
		if _, err := os.Stat(saved); err == nil {
			hint = "set tokenizer=" + saved
		}
		return nil, man, fmt.Errorf("lm: %s was trained with tokenizer %s (vocab %d); this run uses %s (vocab %d): %s", dir, man.Tokenizer, man.Config.Vocab, e.Tok.Name(), e.Tok.VocabSize(), hint)
	}
	return m, man, nil
}

func (e *Env) loadHF(dir string) (*decoder.Model, decoder.Manifest, error) {
	m, err := decoder.LoadHF(dir, e.Backend)
	if err != nil {
		return nil, decoder.Manifest{}, err
	}
	man := decoder.Manifest{Format: decoder.ManifestFormat, Config: m.Config, Tokenizer: e.Tok.Name(), Params: m.NumParams()}
	switch {
	case e.Tok.VocabSize() > m.Config.Vocab:
		return nil, man, fmt.Errorf("lm: %s: the tokenizer %s has %d ids, the model's vocabulary %d (give the checkpoint's own tokenizer.json as the tokenizer param)", dir, e.Tok.Name(), e.Tok.VocabSize(), m.Config.Vocab)
	case e.Config.MaxLen > m.Config.MaxLen:
		return nil, man, fmt.Errorf("lm: %s: the task needs %d positions, the model has %d", dir, e.Config.MaxLen, m.Config.MaxLen)
	}
	return m, man, nil
}

// Widen makes the env's rows long enough for the longest prompt plus the
// longest completion of a data file (RoPE positions have no fixed limit:
// the width is only the batches' shape).
func (e *Env) Widen(prompts, completions []string) {
	maxP, maxC := 0, 0
	for _, p := range prompts {
		maxP = max(maxP, len(e.Tok.Encode(p)))
	}
	for _, c := range completions {
		maxC = max(maxC, len(e.Tok.Encode(c)))
	}
	if L := (1 + maxP + maxC + 7) / 8 * 8; L > e.Config.MaxLen {
		e.Config.MaxLen = L
	}
}

// Encode encodes prompt/completion rows (with EOS) at the env's width, or
// wider when a row needs it (decoder.EncodeWide): a sampled completion can
// re-encode to more tokens than were sampled (invalid UTF-8 from an
// untrained model becomes U+FFFD), and RoPE positions set no limit.
func (e *Env) Encode(prompts, completions []string) (*decoder.Batch, error) {
	return decoder.EncodeWide(e.Tok, prompts, completions, e.Config.MaxLen, true)
}

// SFTBatch encodes demonstrations.
func (e *Env) SFTBatch(ex []datasets.TextExample) (*decoder.Batch, error) {
	ps, cs := make([]string, len(ex)), make([]string, len(ex))
	for i, x := range ex {
		ps[i], cs[i] = x.Prompt, x.Completion
	}
	return e.Encode(ps, cs)
}

// Sample draws one completion per prompt from m at temperature 1.
func (e *Env) Sample(m *decoder.Model, prompts []string, r *rand.Rand) ([]string, error) {
	out, _, err := m.Sample(e.Tok, prompts, decoder.SampleOptions{Batch: evalBatch}, r)
	return out, err
}

// GeneratePairs samples two completions per draw from policy on training
// prompts (uniformly) and labels them with the verifier (the higher Score
// is chosen; draws with equal scores are discarded), flipping each label
// with probability flip. It stops at n pairs or after 20·n draws.
func (e *Env) GeneratePairs(policy *decoder.Model, n int, flip float64, r *rand.Rand) (*datasets.TextPairs, error) {
	p, err := e.drawPairs(policy, n, r, func(prompt, y1, y2 string) (datasets.TextPair, bool) {
		c, rj, flipped, ok := e.Task.Label(prompt, y1, y2, flip, r)
		return datasets.TextPair{Prompt: prompt, Chosen: c, Rejected: rj, Flipped: flipped}, ok
	})
	if err != nil {
		return nil, err
	}
	if len(p.Pairs) == 0 {
		return nil, fmt.Errorf("lm: no two samples of the SFT policy differed in verifier score in %d draws: the policy has nothing to learn from", 20*n)
	}
	return p, nil
}

// drawPairs draws two completions of policy per draw on uniformly chosen
// training prompts, in batches, and keeps the pairs label accepts, until n
// pairs or 20·n draws.
func (e *Env) drawPairs(policy *decoder.Model, n int, r *rand.Rand, label func(prompt, y1, y2 string) (datasets.TextPair, bool)) (*datasets.TextPairs, error) {
	out := &datasets.TextPairs{}
	for draws := 0; len(out.Pairs) < n && draws < 20*n; {
		k := max(evalBatch, 2*(n-len(out.Pairs)))
		prompts := make([]string, k)
		for i := range prompts {
			prompts[i] = e.Task.Train[r.IntN(len(e.Task.Train))]
		}
		ys, err := e.Sample(policy, append(append([]string{}, prompts...), prompts...), r)
		if err != nil {
			return nil, err
		}
		for i := 0; i < k && len(out.Pairs) < n; i++ {
			draws++
			if p, ok := label(prompts[i], ys[i], ys[k+i]); ok {
				p.RefChosen, p.RefRejected, p.Weight = math.NaN(), math.NaN(), 1
				out.Pairs = append(out.Pairs, p)
			}
		}
	}
	return out, nil
}

// PairData encodes pairs and their offsets: log π_ref of both responses
// (from the pairs' ref_chosen_logps/ref_rejected_logps when every pair has
// them and useFileRef, else computed with ref), and for token-level losses
// the reference's log-softmax at every position.
func (e *Env) PairData(pairs *datasets.TextPairs, ref *decoder.Model, tokenLevel, useFileRef bool) (*PairData, error) {
	P := len(pairs.Pairs)
	ps, cs := make([]string, 2*P), make([]string, 2*P)
	w := make([]float64, P)
	weighted := false
	for i, p := range pairs.Pairs {
		ps[i], cs[i] = p.Prompt, p.Chosen
		ps[P+i], cs[P+i] = p.Prompt, p.Rejected
		w[i] = p.Weight
		if w[i] == 0 {
			w[i] = 1
		}
		weighted = weighted || w[i] != 1
	}
	rows, err := e.Encode(ps, cs)
	if err != nil {
		return nil, err
	}
	d := &PairData{P: P, Rows: rows}
	if weighted {
		d.Weight = w
	}
	if useFileRef && pairs.HasRef {
		d.Offset = make([]float64, 2*P)
		for i, p := range pairs.Pairs {
			d.Offset[i], d.Offset[P+i] = p.RefChosen, p.RefRejected
		}
	} else if d.Offset, err = seqLogProbs(ref, rows); err != nil {
		return nil, err
	}
	if tokenLevel {
		if d.RefAll, err = refLogSoftmax(ref, rows); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Eval is a policy measured by sampling on held-out prompts.
type Eval struct {
	N         int     // samples
	Accuracy  float64 // fraction the verifier accepts
	Principle float64 // fraction within the principle's length
	Score     float64 // mean verifier score 2·correct + principle
	// KL is the estimate of KL(π ‖ π_ref) = E_{y~π}[log π(y|x) − log π_ref(y|x)]
	// over the samples, KLSE its standard error.
	KL, KLSE float64
	Length   float64 // mean completion length in tokens
}

// SE returns the standard error of a proportion p over the eval's samples.
func (v Eval) SE(p float64) float64 { return math.Sqrt(p * (1 - p) / float64(v.N)) }

// Evaluate samples reps completions for every prompt of set from m and
// measures them; ref (may be nil) is the model KL is measured against.
func (e *Env) Evaluate(m, ref *decoder.Model, set []string, reps int, r *rand.Rand) (Eval, []string, []string, error) {
	var prompts []string
	for range reps {
		prompts = append(prompts, set...)
	}
	ys, err := e.Sample(m, prompts, r)
	if err != nil {
		return Eval{}, nil, nil, err
	}
	v := Eval{N: len(ys)}
	for i, y := range ys {
		c, p := e.Task.Verify(prompts[i], y)
		v.Accuracy += b2f(c)
		v.Principle += b2f(p)
		v.Score += e.Task.Score(prompts[i], y)
		v.Length += float64(len(e.Tok.Encode(y)))
	}
	n := float64(len(ys))
	v.Accuracy /= n
	v.Principle /= n
	v.Score /= n
	v.Length /= n
	if ref != nil {
		b, err := e.Encode(prompts, ys)
		if err != nil {
			return v, nil, nil, err
		}
		lp, err := seqLogProbs(m, b)
		if err != nil {
			return v, nil, nil, err
		}
		lr, err := seqLogProbs(ref, b)
		if err != nil {
			return v, nil, nil, err
		}
		var s, s2 float64
		for i := range lp {
			d := lp[i] - lr[i]
			s += d
			s2 += d * d
		}
		v.KL = s / n
		if n > 1 {
			v.KLSE = math.Sqrt(math.Max(0, s2/n-v.KL*v.KL) / (n - 1))
		}
	}
	return v, prompts, ys, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
