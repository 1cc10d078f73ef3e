package lm

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/alignlab/alignlab/algos/decoder"
	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/algos/pairloss"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// The preference losses of Prefer, by the names of ParamLoss.
const (
	LossDPO   = "dpo"   // −log σ(β(u_w − u_l))
	LossCDPO  = "cdpo"  // label smoothing ε: (1−ε)·DPO(h) + ε·DPO(−h)
	LossRDPO  = "rdpo"  // robust DPO: unbiased under label flips at rate ε
	LossIPO   = "ipo"   // (u_w − u_l − 1/(2β))²
	LossTDPO1 = "tdpo1" // −log σ(β[(u_w − u_l) − (δ_l − δ_w)])
	LossTDPO2 = "tdpo2" // −log σ(β[(u_w − u_l) − α(δ_l − sg(δ_w))])
	// LossINPO is INPO's (h − κ/2)² with h the margin against the offset
	// κτ·log π_ref + (1−κτ)·log π_t (Prefer's Offsets carry it).
	LossINPO = "inpo"
)

// Losses lists the losses of Prefer.
var Losses = []string{LossDPO, LossCDPO, LossRDPO, LossIPO, LossTDPO1, LossTDPO2, LossINPO}

// PrefConfig is one preference-training run of Prefer.
type PrefConfig struct {
	fit.Config
	Loss    string
	Beta    float64 // β > 0 (DPO family, TDPO)
	Epsilon float64 // ε in [0, ½): cdpo, rdpo
	Alpha   float64 // α ≥ 0: tdpo2
	Kappa   float64 // κ > 0: inpo's target margin κ/2
}

func (c PrefConfig) pairLoss() (pairloss.Loss, error) {
	var l pairloss.Loss
	switch c.Loss {
	case LossDPO, LossTDPO1, LossTDPO2:
		l = pairloss.Loss{Kind: pairloss.Logistic, Beta: c.Beta}
	case LossCDPO:
		l = pairloss.Loss{Kind: pairloss.Conservative, Beta: c.Beta, Epsilon: c.Epsilon}
	case LossRDPO:
		l = pairloss.Loss{Kind: pairloss.Robust, Beta: c.Beta, Epsilon: c.Epsilon}
	case LossIPO:
		l = pairloss.IPO(c.Beta)
	case LossINPO:
		l = pairloss.Loss{Kind: pairloss.Square, Beta: 1, Margin: c.Kappa / 2}
	default:
		return l, fmt.Errorf("lm: unknown loss %q (known: %v)", c.Loss, Losses)
	}
	return l, l.Check("lm")
}

func (c PrefConfig) tokenLevel() bool { return c.Loss == LossTDPO1 || c.Loss == LossTDPO2 }

// PairData are encoded preference pairs: Rows holds the P chosen rows then
// the P rejected ones; Offset[i] is the constant the policy's log-prob of
// row i is measured against (log π_ref for the DPO family and TDPO; INPO's
// κτ·log π_ref + (1−κτ)·log π_t); RefAll, for TDPO, is π_ref's full
// log-softmax of every row, [2P][L·V] flattened per row (float32).
type PairData struct {
	P      int
	Rows   *decoder.Batch
	Offset []float64
	Weight []float64 // per pair; nil: all 1
	RefAll [][]float32
}

// pairBatch returns the rows of pairs idx (chosen then rejected) and their
// step inputs.
func (d *PairData) batch(idx []int, tokenLevel bool, vocab int) []any {
	rows := d.pairRows(idx)
	b := d.Rows.Rows(rows)
	off := make([]float64, len(rows))
	for j, r := range rows {
		off[j] = d.Offset[r]
	}
	in := append(b.Tensors(), tensors.FromFlatDataAndDimensions(off, len(rows)), tensors.FromFlatDataAndDimensions(d.weights(idx), len(idx)))
	if tokenLevel {
		flat := make([]float32, 0, len(rows)*b.L*vocab)
		for _, r := range rows {
			flat = append(flat, d.RefAll[r]...)
		}
		in = append(in, tensors.FromFlatDataAndDimensions(flat, len(rows), b.L, vocab))
	}
	return in
}

// pairRows returns the rows of pairs idx: the chosen ones, then the
// rejected ones.
func (d *PairData) pairRows(idx []int) []int {
	rows := make([]int, 0, 2*len(idx))
	rows = append(rows, idx...)
	for _, i := range idx {
		rows = append(rows, d.P+i)
	}
	return rows
}

// weights returns the weights of pairs idx (1 when the data have none).
func (d *PairData) weights(idx []int) []float64 {
	w := make([]float64, len(idx))
	for j, i := range idx {
		w[j] = 1
		if d.Weight != nil {
			w[j] = d.Weight[i]
		}
	}
	return w
}

// margins returns the pair margin h [P] of a step's inputs: with u = log π
// − offset per row, h = u_w − u_l, minus TDPO's sequential-KL term for the
// token-level losses.
func margins(m *decoder.Model, scope *model.Scope, in []*Node, cfg PrefConfig) (h *Node) {
	inputs, targets, mask, offset := in[0], in[1], in[2], in[3]
	seq, _ := m.SeqLogProbsGraph(scope, inputs, targets, mask)
	seq = ConvertDType(seq, dtypes.Float64)
	u := Sub(seq, offset)
	P := inputs.Shape().Dimensions[0] / 2
	g := inputs.Graph()
	diff := Const(g, []float64{1, -1})
	h = Dot(diff, Reshape(u, 2, P)).Product() // u_w − u_l, without Slice
	if cfg.tokenLevel() {
		refAll := ConvertDType(in[5], dtypes.Float32)
		_, all := m.TokenLogProbsGraph(scope, inputs, targets)
		all = ConvertDType(all, dtypes.Float32)
		// KL(π_ref ‖ π_θ) at every position, summed over the response.
		kl := ReduceSum(Mul(Exp(refAll), Sub(refAll, all)), -1) // [2P, L]
		delta := ConvertDType(ReduceSum(Mul(kl, ConvertDType(mask, dtypes.Float32)), -1), dtypes.Float64)
		d2 := Reshape(delta, 2, P)
		dw := Reshape(Slice(d2, AxisElem(0)), P)
		dl := Reshape(Slice(d2, AxisElem(1)), P)
		switch cfg.Loss {
		case LossTDPO1:
			h = Sub(h, Sub(dl, dw))
		case LossTDPO2:
			h = Sub(h, MulScalar(Sub(dl, StopGradient(dw)), cfg.Alpha))
		}
	}
	return h
}

// Prefer trains policy on the pairs of d with cfg's loss on a fit.Loop,
// drawing mini-batches from r; eval, when set, runs at step 0, every
// EvalEvery steps and at the end (it records what it measures). It
// returns the final training loss over the last batch.
func Prefer(ctx context.Context, policy *decoder.Model, d *PairData, cfg PrefConfig, r *rand.Rand, rec fit.Recorder, eval func(step int) error) (err error) {
	defer fit.Catch("lm", &err)
	loss, err := cfg.pairLoss()
	if err != nil {
		return err
	}
	if err := cfg.Config.Check("lm"); err != nil {
		return err
	}
	if cfg.tokenLevel() && len(d.RefAll) != 2*d.P {
		return fmt.Errorf("lm: %s needs the reference's log-softmax of every row", cfg.Loss)
	}
	lossFn := func(scope *model.Scope, in []*Node) *Node { return loss.Mean(margins(policy, scope, in, cfg), in[4]) }
	inputs := func(idx []int) []any { return d.batch(idx, cfg.tokenLevel(), policy.Config.Vocab) }
	return train(ctx, policy, cfg.Config, d.P, inputs, lossFn, "loss", r, rec, eval)
}

// train runs cfg.Steps optimizer steps of lossFn (a scalar graph of the
// inputs that inputs returns for the rows idx of a mini-batch drawn from n
// rows) on m's weights, on a fit.Loop that records the mean loss as metric
// and calls eval at the start and every EvalEvery steps.
func train(ctx context.Context, m *decoder.Model, cfg fit.Config, n int, inputs func(idx []int) []any,
	lossFn func(scope *model.Scope, in []*Node) *Node, metric string, r *rand.Rand, rec fit.Recorder, eval func(step int) error) error {
	opt, err := cfg.NewOptimizer()
	if err != nil {
		return err
	}
	exec, err := model.NewExec(m.Backend(), m.Store(), func(scope *model.Scope, in []*Node) *Node {
		g := in[0].Graph()
		scope.SetTraining(g, true)
		l := ConvertDType(lossFn(scope, in), dtypes.Float64)
		opt.UpdateGraph(scope, g, l)
		return l
	})
	if err != nil {
		return err
	}
	batches := fit.NewBatcher(n, cfg.BatchSize, r)
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	step := fit.ExecStep(exec, func(int) []any {
		if batches.Full() {
			return inputs(all)
		}
		return inputs(batches.Next())
	})
	loop := fit.NewLoop("lm", cfg.Steps, step)
	loop.RecordMeanLoss(rec, metric, cfg.EvalEvery)
	if eval != nil {
		loop.OnStart("eval", eval)
		loop.EveryN(cfg.EvalEvery, "eval", eval)
	}
	return loop.Run(ctx)
}

// PairMargins returns h = u_w − u_l of every pair (the implicit-reward
// margin over β for the DPO family) under policy.
func PairMargins(policy *decoder.Model, d *PairData) ([]float64, error) {
	seq, err := seqLogProbs(policy, d.Rows)
	if err != nil {
		return nil, err
	}
	h := make([]float64, d.P)
	for i := range h {
		h[i] = (seq[i] - d.Offset[i]) - (seq[d.P+i] - d.Offset[d.P+i])
	}
	return h, nil
}

// evalBatch is the number of rows of every evaluation call.
const evalBatch = 64

// inChunks applies f to the rows of b in chunks of evalBatch rows (one
// compiled shape: the last chunk is padded by repeating its first row) and
// returns its per-row results for the real rows, in order.
func inChunks[T any](b *decoder.Batch, f func(*decoder.Batch) ([]T, error)) ([]T, error) {
	out := make([]T, 0, b.B)
	for start := 0; start < b.B; start += evalBatch {
		idx := make([]int, evalBatch)
		for i := range idx {
			idx[i] = start
			if start+i < b.B {
				idx[i] = start + i
			}
		}
		r, err := f(b.Rows(idx))
		if err != nil {
			return nil, err
		}
		out = append(out, r[:min(evalBatch, b.B-start)]...)
	}
	return out, nil
}

// seqLogProbs scores every row of b: log π(y | x).
func seqLogProbs(m *decoder.Model, b *decoder.Batch) ([]float64, error) {
	return inChunks(b, m.SeqLogProbs)
}

// rewards scores every row of b with m's reward head.
func rewards(m *decoder.Model, b *decoder.Batch) ([]float64, error) {
	return inChunks(b, m.Rewards)
}

// refLogSoftmax returns π's log-softmax at every position of every row of
// b, [B][L·V] float32 (TDPO's reference distributions).
func refLogSoftmax(m *decoder.Model, b *decoder.Batch) ([][]float32, error) {
	return inChunks(b, func(c *decoder.Batch) ([][]float32, error) {
		lg, err := m.Logits(c)
		if err != nil {
			return nil, err
		}
		out := make([][]float32, len(lg))
		for i, rowLogits := range lg {
			row := make([]float32, 0, c.L*m.Config.Vocab)
			for _, z := range rowLogits {
				mx := math.Inf(-1)
				for _, v := range z {
					mx = math.Max(mx, v)
				}
				s := 0.0
				for _, v := range z {
					s += math.Exp(v - mx)
				}
				ls := mx + math.Log(s)
				for _, v := range z {
					row = append(row, float32(v-ls))
				}
			}
			out[i] = row
		}
		return out, nil
	})
}

// SFT fine-tunes m on the (prompt, completion) rows of b by the mean
// per-token negative log-likelihood of the completions (EOS included).
func SFT(ctx context.Context, m *decoder.Model, b *decoder.Batch, cfg fit.Config, r *rand.Rand, rec fit.Recorder, eval func(step int) error) (err error) {
	defer fit.Catch("lm", &err)
	if err := cfg.Check("lm"); err != nil {
		return err
	}
	lossFn := func(scope *model.Scope, in []*Node) *Node {
		_, tok := m.SeqLogProbsGraph(scope, in[0], in[1], in[2])
		mask := ConvertDType(in[2], tok.DType())
		return Neg(Div(ReduceAllSum(Mul(tok, mask)), ReduceAllSum(mask)))
	}
	inputs := func(idx []int) []any { return b.Rows(idx).Tensors() }
	return train(ctx, m, cfg, b.B, inputs, lossFn, "sft_loss", r, rec, eval)
}

// Reward trains m's reward head and encoder on pairs (chosen rows then
// rejected rows of rows, P each) by the Bradley–Terry loss
// −log σ(r(x, y_w) − r(x, y_l)).
func Reward(ctx context.Context, m *decoder.Model, d *PairData, cfg fit.Config, r *rand.Rand, rec fit.Recorder, eval func(step int) error) (err error) {
	defer fit.Catch("lm", &err)
	if err := cfg.Check("lm"); err != nil {
		return err
	}
	if err := m.InitHead(); err != nil {
		return err
	}
	bt := pairloss.Loss{Kind: pairloss.Logistic, Beta: 1}
	lossFn := func(scope *model.Scope, in []*Node) *Node {
		rw := ConvertDType(m.RewardGraph(scope, in[0], in[1]), dtypes.Float64)
		P := in[0].Shape().Dimensions[0] / 2
		h := Dot(Const(in[0].Graph(), []float64{1, -1}), Reshape(rw, 2, P)).Product()
		return bt.Mean(h, in[2])
	}
	inputs := func(idx []int) []any {
		b := d.Rows.Rows(d.pairRows(idx))
		return []any{tensors.FromFlatDataAndDimensions(b.Inputs, b.B, b.L), tensors.FromFlatDataAndDimensions(b.Lengths, b.B), tensors.FromFlatDataAndDimensions(d.weights(idx), len(idx))}
	}
	return train(ctx, m, cfg, d.P, inputs, lossFn, "loss", r, rec, eval)
}
