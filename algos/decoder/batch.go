package decoder

import "fmt"

// Tokenizer is what the model needs of a tokenizer (package tokenizer's
// Tokenizer satisfies it).
type Tokenizer interface {
	Encode(s string) []int
	Decode(ids []int) string
	VocabSize() int
	BOS() int
	EOS() int
	PAD() int
}

// Batch is B sequences [BOS, prompt…, completion…, EOS] as next-token
// training rows of L positions: Inputs[b, t] is token t of the sequence,
// Targets[b, t] token t + 1, and Mask[b, t] is 1 where that target is a
// completion token (or the closing EOS), the tokens log π(y | x) sums over.
// Rows are right-padded with PAD (which the causal mask keeps out of every
// real position). Row-major [B, L].
type Batch struct {
	B, L    int
	Inputs  []int32
	Targets []int32
	Mask    []float32
	// Lengths[b] is the number of real input positions of row b (BOS,
	// prompt and completion: the reward head reads the last one).
	Lengths []int32
	// PromptLen[b] is the number of input positions before the completion
	// (BOS and the prompt).
	PromptLen []int
}

// Encode builds the batch of prompts[i] + completions[i] in L positions.
// A completion with eos appends the EOS token after it (training rows and
// scored samples); without, the row ends at the completion (prompts to
// continue). It fails when a row does not fit in L.
func Encode(tok Tokenizer, prompts, completions []string, L int, eos bool) (*Batch, error) {
	seqs, promptLen, err := encodeRows(tok, prompts, completions, eos)
	if err != nil {
		return nil, err
	}
	for i, seq := range seqs {
		if n := len(seq) - 1; n > L {
			return nil, fmt.Errorf("decoder: row %d (%q + %q) needs %d positions, the batch has %d", i, prompts[i], completions[i], n, L)
		}
	}
	return layout(tok, seqs, promptLen, L), nil
}

// EncodeWide is Encode in at least L positions, or in the smallest multiple
// of 8 that fits every row when one does not fit in L (a model with RoPE
// positions sets no limit: the width is only the batch's shape).
func EncodeWide(tok Tokenizer, prompts, completions []string, L int, eos bool) (*Batch, error) {
	seqs, promptLen, err := encodeRows(tok, prompts, completions, eos)
	if err != nil {
		return nil, err
	}
	for _, seq := range seqs {
		if n := len(seq) - 1; n > L {
			L = (n + 7) / 8 * 8
		}
	}
	return layout(tok, seqs, promptLen, L), nil
}

// encodeRows tokenises every row as [BOS, prompt…, completion…(, EOS)] and
// returns the prompt lengths (BOS included).
func encodeRows(tok Tokenizer, prompts, completions []string, eos bool) (seqs [][]int, promptLen []int, err error) {
	if len(prompts) != len(completions) {
		return nil, nil, fmt.Errorf("decoder: %d prompts for %d completions", len(prompts), len(completions))
	}
	seqs, promptLen = make([][]int, len(prompts)), make([]int, len(prompts))
	for i := range prompts {
		p := tok.Encode(prompts[i])
		c := tok.Encode(completions[i])
		seq := make([]int, 0, len(p)+len(c)+2)
		seq = append(seq, tok.BOS())
		seq = append(seq, p...)
		seq = append(seq, c...)
		if eos {
			seq = append(seq, tok.EOS())
		}
		seqs[i], promptLen[i] = seq, 1+len(p)
	}
	return seqs, promptLen, nil
}

// layout lays the sequences out as next-token rows of L positions (every
// row fits).
func layout(tok Tokenizer, seqs [][]int, promptLen []int, L int) *Batch {
	B := len(seqs)
	b := &Batch{B: B, L: L, Inputs: make([]int32, B*L), Targets: make([]int32, B*L), Mask: make([]float32, B*L), Lengths: make([]int32, B), PromptLen: promptLen}
	pad := int32(tok.PAD())
	for i, seq := range seqs {
		// Inputs are seq[:n−1], targets seq[1:].
		n := len(seq) - 1
		row := i * L
		for t := range L {
			b.Inputs[row+t], b.Targets[row+t] = pad, pad
		}
		for t := range n {
			b.Inputs[row+t] = int32(seq[t])
			b.Targets[row+t] = int32(seq[t+1])
			if t+1 >= promptLen[i] { // target t+1 is a completion token or EOS
				b.Mask[row+t] = 1
			}
		}
		b.Lengths[i] = int32(n)
	}
	return b
}

// Rows returns the sub-batch of the rows idx, in that order.
func (b *Batch) Rows(idx []int) *Batch {
	out := &Batch{B: len(idx), L: b.L, Inputs: make([]int32, 0, len(idx)*b.L), Targets: make([]int32, 0, len(idx)*b.L), Mask: make([]float32, 0, len(idx)*b.L)}
	for _, i := range idx {
		out.Inputs = append(out.Inputs, b.Inputs[i*b.L:(i+1)*b.L]...)
		out.Targets = append(out.Targets, b.Targets[i*b.L:(i+1)*b.L]...)
		out.Mask = append(out.Mask, b.Mask[i*b.L:(i+1)*b.L]...)
		out.Lengths = append(out.Lengths, b.Lengths[i])
		out.PromptLen = append(out.PromptLen, b.PromptLen[i])
	}
	return out
}

// Concat returns the rows of a followed by those of b (same L).
func Concat(a, b *Batch) *Batch {
	out := &Batch{B: a.B + b.B, L: a.L}
	out.Inputs = append(append([]int32{}, a.Inputs...), b.Inputs...)
	out.Targets = append(append([]int32{}, a.Targets...), b.Targets...)
	out.Mask = append(append([]float32{}, a.Mask...), b.Mask...)
	out.Lengths = append(append([]int32{}, a.Lengths...), b.Lengths...)
	out.PromptLen = append(append([]int{}, a.PromptLen...), b.PromptLen...)
	return out
}

// Tensors returns inputs, targets and mask as the arguments of an Exec.
func (b *Batch) Tensors() []any {
	return []any{tensorOf(b.Inputs, b.B, b.L), tensorOf(b.Targets, b.B, b.L), tensorOf(b.Mask, b.B, b.L)}
}

func (m *Model) emptyBatch(B int) *Batch {
	L := m.Config.MaxLen
	return &Batch{B: B, L: L, Inputs: make([]int32, B*L), Targets: make([]int32, B*L), Mask: make([]float32, B*L), Lengths: ones32(B), PromptLen: make([]int, B)}
}

func ones32(n int) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = 1
	}
	return out
}
