package decoder

import (
	"math"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// A batch run as row shards (byShards) gives what its rows give run in
// batches too small to shard: the same sequence log-probs, and gradients
// that are the sum of the small batches' gradients, in float64 and in
// float32.
func TestShardsAreRowBatches(t *testing.T) {
	const (
		B, small = 64, MinShardRows // small batches of one shard each
		// float64: the shards' products are blocked differently and the
		// gradient adds their contributions in another order; measured
		// ≤ 1.1e-16 (values) and ≤ 1.2e-15 (gradients), relative to the
		// largest of each output, in both builds.
		tol64 = 1e-12
		// float32: measured ≤ 6.6e-8 and ≤ 7.7e-7.
		tol32 = 2e-5
	)
	prompts, completions := benchRows(B, 7)
	for _, dt := range []string{"float64", "float32"} {
		cfg, err := SizeConfig(SizeTest, 259, 16)
		if err != nil {
			t.Fatal(err)
		}
		cfg.DType = dt
		m, err := New(cfg, 1, "")
		if err != nil {
			t.Fatal(err)
		}
		if m.Shards(B) != RowShards || m.Shards(small) != 1 || m.Shards(2*small-1) != 1 {
			t.Fatalf("Shards(%d, %d, %d) = %d, %d, %d, want %d, 1, 1", B, small, 2*small-1,
				m.Shards(B), m.Shards(small), m.Shards(2*small-1), RowShards)
		}
		exec, err := model.NewExec(m.Backend(), m.Store(), func(scope *model.Scope, in []*Node) []*Node {
			scope.SetTraining(in[0].Graph(), true)
			seq, _ := m.SeqLogProbsGraph(scope, in[0], in[1], in[2])
			out := []*Node{ConvertDType(seq, dtypes.Float64)}
			for _, g := range scope.BuildTrainableVariablesGradientsGraph(ReduceAllSum(seq)) {
				out = append(out, ConvertDType(g, dtypes.Float64))
			}
			return out
		})
		if err != nil {
			t.Fatal(err)
		}
		run := func(lo, hi int) [][]float64 {
			b, err := Encode(byteTok{}, prompts[lo:hi], completions[lo:hi], 16, true)
			if err != nil {
				t.Fatal(err)
			}
			outs, err := exec.Call(b.Tensors()...)
			if err != nil {
				t.Fatal(err)
			}
			flat := make([][]float64, len(outs))
			for i, o := range outs {
				flat[i] = tensors.MustCopyFlatData[float64](o)
			}
			return flat
		}
		whole := run(0, B)
		want := make([][]float64, len(whole))
		for lo := 0; lo < B; lo += small {
			part := run(lo, lo+small)
			want[0] = append(want[0], part[0]...)
			for i := 1; i < len(part); i++ {
				if want[i] == nil {
					want[i] = make([]float64, len(part[i]))
				}
				for j, v := range part[i] {
					want[i][j] += v
				}
			}
		}
		tol := tol64
		if dt == "float32" {
			tol = tol32
		}
		var rel [2]float64 // the worst relative error of the values, of the gradients
		for i := range whole {
			scale, worst := 0.0, 0.0
			for j := range want[i] {
				scale = math.Max(scale, math.Abs(want[i][j]))
				worst = math.Max(worst, math.Abs(whole[i][j]-want[i][j]))
			}
			if worst > tol*scale {
				t.Errorf("%s, output %d (0: log-probs, then gradients): off by %.3g of %.3g, want ≤ %g relative", dt, i, worst, scale, tol)
			}
			rel[min(i, 1)] = math.Max(rel[min(i, 1)], worst/scale)
		}
		t.Logf("%s: log-probs within %.3g, gradients within %.3g (relative)", dt, rel[0], rel[1])
	}
}

// Training gives the same numbers, bit for bit, whether the backend runs
// one op at a time (GoConfig with one core) or ops concurrently on two
// executors (with two cores): the shards are fixed, and concurrency only
// changes the order in which independent ops run.
func TestSameNumbersOnAnyExecutor(t *testing.T) {
	prompts, completions := benchRows(64, 3)
	batch, err := Encode(byteTok{}, prompts, completions, 16, true)
	if err != nil {
		t.Fatal(err)
	}
	train := func(config string) (losses []float64, weights []float32) {
		cfg, err := SizeConfig(SizeTest, 259, 16)
		if err != nil {
			t.Fatal(err)
		}
		m, err := New(cfg, 1, config)
		if err != nil {
			t.Fatal(err)
		}
		exec, err := sftStep(m, optimizer.Adam().LearningRate(1e-2).Done())
		if err != nil {
			t.Fatal(err)
		}
		for range 4 {
			out, err := exec.Call(batch.Tensors()...)
			if err != nil {
				t.Fatal(err)
			}
			losses = append(losses, tensors.ToScalar[float64](out[0]))
		}
		for v := range m.Store().IterVariables() {
			if v.Trainable {
				weights = append(weights, tensors.MustCopyFlatData[float32](v.MustValue())...)
			}
		}
		return losses, weights
	}
	seqLoss, seqW := train("go:ops_sequential")
	parLoss, parW := train("go:ops_parallel,num_executors=2")
	for i := range seqLoss {
		if seqLoss[i] != parLoss[i] {
			t.Errorf("loss at step %d: %v one op at a time, %v on two executors", i, seqLoss[i], parLoss[i])
		}
	}
	if len(seqW) != len(parW) {
		t.Fatalf("%d weights against %d", len(seqW), len(parW))
	}
	for i := range seqW {
		if seqW[i] != parW[i] {
			t.Fatalf("weight %d after 4 steps: %v one op at a time, %v on two executors", i, seqW[i], parW[i])
		}
	}
}
