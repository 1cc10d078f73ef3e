package decoder

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// benchRows returns n arithmetic rows "a+b=" → "a+b" (a, b < 100) drawn
// from seed, as in bench/lm.
func benchRows(n int, seed uint64) (prompts, completions []string) {
	r := rand.New(rand.NewPCG(seed, seed))
	for range n {
		a, b := r.IntN(100), r.IntN(100)
		prompts = append(prompts, fmt.Sprintf("%d+%d=", a, b))
		completions = append(completions, fmt.Sprint(a+b))
	}
	return prompts, completions
}

// benchModel is testModel for benchmarks: the test size, max_len 16.
func benchModel(b *testing.B, seed int64) *Model {
	b.Helper()
	cfg, err := SizeConfig(SizeTest, 259, 16)
	if err != nil {
		b.Fatal(err)
	}
	m, err := New(cfg, seed, "")
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkTrainStep times one Adam step (lr 1e-3) of the SFT loss, the
// mean over rows of −log π(completion | prompt), for the test size at
// B = 64, L = 16 (1,024 tokens per step). bench/lm compares the same step
// with PyTorch.
func BenchmarkTrainStep(b *testing.B) {
	batch, exec := benchTrainStep(b, optimizer.Adam().LearningRate(1e-3).Done())
	args := batch.Tensors()
	if _, err := exec.Call(args...); err != nil { // compiles the graph
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := exec.Call(args...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch.B*batch.L)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkTrainStepGuarded is BenchmarkTrainStep with fit's optimizer
// (Adam wrapped by fit.Guard) run by fit.ExecStep, which reads the
// guard's norms after each step: the divergence check's cost per step.
func BenchmarkTrainStepGuarded(b *testing.B) {
	opt, err := fit.NewOptimizer(fit.Adam, 1e-3, 0, 0)
	if err != nil {
		b.Fatal(err)
	}
	batch, exec := benchTrainStep(b, opt)
	args := batch.Tensors()
	step := fit.ExecStep(exec, func(int) []any { return args })
	if _, err := step(0); err != nil { // compiles the graph
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := step(0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch.B*batch.L)/b.Elapsed().Seconds(), "tokens/s")
}

// benchTrainStep returns the batch and the compiled SFT step with opt of
// the training benchmarks.
func benchTrainStep(b *testing.B, opt optimizer.Interface) (*Batch, *model.Exec) {
	m := benchModel(b, 1)
	prompts, completions := benchRows(64, 1)
	batch, err := Encode(byteTok{}, prompts, completions, 16, true)
	if err != nil {
		b.Fatal(err)
	}
	exec, err := sftStep(m, opt)
	if err != nil {
		b.Fatal(err)
	}
	return batch, exec
}

// sftStep compiles one step of opt on the SFT loss, the mean over rows of
// −log π(completion | prompt); it returns the loss (float64) before the
// update.
func sftStep(m *Model, opt optimizer.Interface) (*model.Exec, error) {
	return model.NewExec(m.Backend(), m.Store(), func(scope *model.Scope, in []*Node) *Node {
		g := in[0].Graph()
		scope.SetTraining(g, true)
		seq, _ := m.SeqLogProbsGraph(scope, in[0], in[1], in[2])
		loss := Neg(ReduceAllMean(seq))
		opt.UpdateGraph(scope, g, loss)
		return ConvertDType(loss, dtypes.Float64)
	})
}

// BenchmarkSample times Sample on 64 prompts with the test size (max_len
// 16, about 9 new tokens per prompt: one full-window forward pass per
// token, no KV cache), greedy so that every iteration does the same work.
func BenchmarkSample(b *testing.B) {
	m := benchModel(b, 1)
	prompts, _ := benchRows(64, 1)
	opt := SampleOptions{Temperature: 1e-9}
	r := rand.New(rand.NewPCG(1, 2))
	warm := opt
	warm.MaxNew = 1
	if _, _, err := m.Sample(byteTok{}, prompts, warm, r); err != nil { // compiles the graph
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := m.Sample(byteTok{}, prompts, opt, r); err != nil {
			b.Fatal(err)
		}
	}
}
