package decoder

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// SampleOptions configure Sample.
type SampleOptions struct {
	// Temperature > 0 divides the logits (1: the policy itself; → 0:
	// greedy). 0 means 1.
	Temperature float64
	// TopK > 0 keeps only the K most likely tokens; 0 keeps all.
	TopK int
	// TopP in (0, 1) keeps the smallest set of most likely tokens whose
	// probability reaches TopP (nucleus sampling); 0 or 1 keeps all.
	TopP float64
	// MaxNew is the most tokens generated per completion (EOS included); 0
	// means as many as max_len allows.
	MaxNew int
	// Batch is the number of rows run at once (one compiled shape); 0
	// means 64.
	Batch int
}

// Sample draws one completion for every prompt from the policy, token by
// token, with randomness from r only (the same r state gives the same
// completions). A completion ends at EOS (not included in the text) or at
// MaxNew tokens or at max_len; Truncated reports the rows that did not end
// at EOS.
func (m *Model) Sample(tok Tokenizer, prompts []string, opt SampleOptions, r *rand.Rand) (out []string, truncated []bool, err error) {
	defer fit.Catch("decoder", &err)
	if opt.Temperature < 0 || math.IsNaN(opt.Temperature) || opt.TopK < 0 || opt.TopP < 0 || opt.TopP > 1 || opt.MaxNew < 0 {
		return nil, nil, fmt.Errorf("decoder: sample: want temperature ≥ 0, top_k ≥ 0, top_p in [0, 1], max_new ≥ 0; got %v, %d, %v, %d", opt.Temperature, opt.TopK, opt.TopP, opt.MaxNew)
	}
	B := opt.Batch
	if B <= 0 {
		B = 64
	}
	if err := m.lastLogitsExec(); err != nil {
		return nil, nil, err
	}
	L := m.Config.MaxLen
	out = make([]string, len(prompts))
	truncated = make([]bool, len(prompts))
	for start := 0; start < len(prompts); start += B {
		end := min(start+B, len(prompts))
		seqs := make([][]int, B)
		done := make([]bool, B)
		gen := make([][]int, B)
		for i := range B {
			if start+i < end {
				seqs[i] = append([]int{tok.BOS()}, tok.Encode(prompts[start+i])...)
				if len(seqs[i]) >= L {
					return nil, nil, fmt.Errorf("decoder: sample: prompt %q takes %d of the model's %d positions, leaving none to generate", prompts[start+i], len(seqs[i]), L)
				}
			} else {
				seqs[i], done[i] = []int{tok.BOS()}, true
			}
		}
		for {
			active := false
			for i := range B {
				if !done[i] {
					active = true
				}
			}
			if !active {
				break
			}
			logits, err := m.lastLogits(tok, seqs)
			if err != nil {
				return nil, nil, err
			}
			for i := range B {
				if done[i] {
					continue
				}
				next := pick(logits[i], opt, r)
				if next == tok.EOS() {
					done[i] = true
					continue
				}
				gen[i] = append(gen[i], next)
				seqs[i] = append(seqs[i], next)
				if len(seqs[i]) >= L || (opt.MaxNew > 0 && len(gen[i]) >= opt.MaxNew) {
					done[i] = true
					truncated[start+i] = true
				}
			}
		}
		for i := range end - start {
			out[start+i] = tok.Decode(gen[i])
		}
	}
	return out, truncated, nil
}

func (m *Model) lastLogitsExec() (err error) {
	if m.last != nil {
		return nil
	}
	m.last, err = model.NewExec(m.backend, m.store, func(scope *model.Scope, in []*Node) *Node {
		evalScope(scope, in[0].Graph())
		logits := m.Policy(scope, in[0]) // [B, W, V]
		at := OneHot(in[1], in[0].Shape().Dimensions[1], logits.DType())
		return ConvertDType(ReduceSum(Mul(logits, ExpandAxes(at, -1)), 1), dtypes.Float64) // [B, V]
	})
	return err
}

// lastLogits returns the next-token logits after each sequence. The
// window is only as wide as the longest sequence needs (rounded up to a
// multiple of 8, so that few shapes are compiled): with a causal mask the
// positions after a sequence's end change nothing before it.
func (m *Model) lastLogits(tok Tokenizer, seqs [][]int) ([][]float64, error) {
	B, V := len(seqs), m.Config.Vocab
	L := 0
	for _, s := range seqs {
		L = max(L, len(s))
	}
	L = min(m.Config.MaxLen, (L+7)/8*8)
	in := make([]int32, B*L)
	pos := make([]int32, B)
	for i, s := range seqs {
		for t := range L {
			in[i*L+t] = int32(tok.PAD())
		}
		for t, id := range s {
			in[i*L+t] = int32(id)
		}
		pos[i] = int32(len(s) - 1)
	}
	res, err := m.last.Call(tensors.FromFlatDataAndDimensions(in, B, L), tensors.FromFlatDataAndDimensions(pos, B))
	if err != nil {
		return nil, err
	}
	flat := tensors.MustCopyFlatData[float64](res[0])
	out := make([][]float64, B)
	for i := range out {
		out[i] = flat[i*V : (i+1)*V]
	}
	return out, nil
}

// pick draws a token from softmax(logits/T) restricted by TopK and TopP.
func pick(logits []float64, opt SampleOptions, r *rand.Rand) int {
	T := opt.Temperature
	if T == 0 {
		T = 1
	}
	idx := make([]int, len(logits))
	for i := range idx {
		idx[i] = i
	}
	// Most likely first; ties by token id, so the order is deterministic.
	sort.SliceStable(idx, func(a, b int) bool { return logits[idx[a]] > logits[idx[b]] })
	if T < 1e-6 {
		return idx[0]
	}
	keep := len(idx)
	if opt.TopK > 0 && opt.TopK < keep {
		keep = opt.TopK
	}
	p := make([]float64, keep)
	mx := logits[idx[0]] / T
	sum := 0.0
	for j := range keep {
		p[j] = math.Exp(logits[idx[j]]/T - mx)
		sum += p[j]
	}
	if opt.TopP > 0 && opt.TopP < 1 {
		acc := 0.0
		for j := range keep {
			acc += p[j] / sum
			if acc >= opt.TopP {
				keep = j + 1
				break
			}
		}
		sum = 0
		for j := range keep {
			sum += p[j]
		}
	}
	u := r.Float64() * sum
	for j := range keep {
		u -= p[j]
		if u < 0 {
			return idx[j]
		}
	}
	return idx[keep-1]
}
