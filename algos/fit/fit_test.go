package fit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/algos/backend"
	"github.com/alignlab/alignlab/kernel"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// The hooks run in order: start hooks at step 0, EveryN hooks after every
// n-th and the last step, end hooks once.
func TestLoopCadence(t *testing.T) {
	var got []string
	l := NewLoop("test", 7, func(step int) (float64, error) { return float64(step), nil })
	l.OnStart("s", func(step int) error { got = append(got, fmt.Sprintf("s%d", step)); return nil })
	l.EveryN(3, "a", func(step int) error { got = append(got, fmt.Sprintf("a%d(%g)", step, l.MeanLoss())); return nil })
	l.EveryN(2, "b", func(step int) error { got = append(got, fmt.Sprintf("b%d", step)); return nil })
	l.OnEnd("e", func(step int) error { got = append(got, fmt.Sprintf("e%d", step)); return nil })
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// MeanLoss is the mean of the step losses since the last step at which
	// an EveryN hook ran: steps 1-2 → b; 3 → a (mean 3); 4 → b; 5-6 → a (5.5)
	// and b; 7 (last) → a (7), b.
	want := []string{"s0", "b2", "a3(3)", "b4", "a6(5.5)", "b6", "a7(7)", "b7", "e7"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// A NaN loss stops the loop at its step; with kernel.Job.Record as the
// recorder the error is the kernel's *DivergedError with the last finite
// values, otherwise the loop's own message.
func TestLoopDiverges(t *testing.T) {
	step := func(s int) (float64, error) {
		if s == 4 {
			return math.Inf(1), nil
		}
		return 1 / float64(s), nil
	}
	l := NewLoop("test", 10, step)
	err := l.Run(context.Background())
	if want := "test: diverged at step 4: loss is +Inf; try a smaller learning_rate"; err == nil || err.Error() != want {
		t.Errorf("without recorder: got %v, want %q", err, want)
	}

	job := kernel.NewJob(context.Background(), "test.fit", kernel.Params{}, nil)
	l = NewLoop("test", 10, step)
	l.Record = job.Record
	l.EveryN(1, "record", func(s int) error { return job.Record(int64(s), "loss", l.Loss) })
	err = l.Run(context.Background())
	var div *kernel.DivergedError
	if !errors.As(err, &div) {
		t.Fatalf("with job.Record: got %v, want a *kernel.DivergedError", err)
	}
	if div.Step != 4 || div.Metric != "loss" || div.LastFinite["loss"].Step != 3 {
		t.Errorf("got step %d metric %s last %v, want step 4, loss, last finite at 3", div.Step, div.Metric, div.LastFinite)
	}
}

func TestLoopStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	l := NewLoop("test", 100, func(s int) (float64, error) {
		n++
		if s == 5 {
			cancel()
		}
		return 0, nil
	})
	if err := l.Run(ctx); !errors.Is(err, context.Canceled) || n != 5 {
		t.Errorf("cancel: got %v after %d steps, want context.Canceled after 5", err, n)
	}

	l = NewLoop("test", 3, func(s int) (float64, error) { return 0, errors.New("boom") })
	if err := l.Run(context.Background()); err == nil || err.Error() != "test: step 1: boom" {
		t.Errorf("step error: got %v", err)
	}

	l = NewLoop("test", 3, func(s int) (float64, error) { return 0, nil })
	l.EveryN(2, "eval", func(s int) error { return errors.New("no data") })
	if err := l.Run(context.Background()); err == nil || err.Error() != "test: eval at step 2: no data" {
		t.Errorf("hook error: got %v", err)
	}

	l = NewLoop("test", 3, func(s int) (float64, error) { panic(errors.New("shape mismatch")) })
	if err := l.Run(context.Background()); err == nil || err.Error() != "test: shape mismatch" {
		t.Errorf("panic: got %v, want test: shape mismatch", err)
	}
}

// Every example appears once per epoch; batches continue across epochs.
func TestBatcher(t *testing.T) {
	b := NewBatcher(10, 4, rand.New(rand.NewPCG(1, 2)))
	if b.Full() || b.Size() != 4 {
		t.Fatalf("Full %v Size %d, want false 4", b.Full(), b.Size())
	}
	var seen []int
	for range 5 { // 20 draws = two epochs
		seen = append(seen, b.Next()...)
	}
	for e := range 2 {
		epoch := slices.Clone(seen[e*10 : (e+1)*10])
		slices.Sort(epoch)
		if !slices.Equal(epoch, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
			t.Errorf("epoch %d: got %v, want each index once", e, seen[e*10:(e+1)*10])
		}
	}
	for _, size := range []int{0, 10, 11} {
		if b := NewBatcher(10, size, nil); !b.Full() || b.Size() != 10 {
			t.Errorf("size %d: Full %v Size %d, want a full batch of 10", size, b.Full(), b.Size())
		}
	}
	if got := Rows([]float64{0, 1, 10, 11, 20, 21}, 2, []int{2, 0}); !slices.Equal(got, []float64{20, 21, 0, 1}) {
		t.Errorf("Rows got %v", got)
	}
}

// The shared params are declared once and read back as validated.
func TestParamsRead(t *testing.T) {
	d := Defaults{Optimizers: []string{Adam, SGD}, LearningRate: 0.05, Steps: 300, HasBatch: true, EvalEvery: 10,
		Doc: map[string]string{ParamSteps: "Adam steps"}}
	ps := Params(d)
	var keys []string
	for _, p := range ps {
		keys = append(keys, p.Key)
	}
	if want := []string{ParamOptimizer, ParamLearningRate, ParamSteps, ParamBatchSize, ParamEvalEvery}; !slices.Equal(keys, want) {
		t.Fatalf("keys %v, want %v", keys, want)
	}
	if ps[2].Doc != "Adam steps" {
		t.Errorf("doc override: got %q", ps[2].Doc)
	}
	info := kernel.Info{ID: "test.fit", Params: ps}
	p, err := kernel.Validate(info, map[string]any{ParamOptimizer: "sgd", ParamBatchSize: "32"})
	if err != nil {
		t.Fatal(err)
	}
	got := Read(p)
	want := Config{Optimizer: SGD, LearningRate: 0.05, Steps: 300, BatchSize: 32, EvalEvery: 10}
	if got != want {
		t.Errorf("Read got %+v, want %+v", got, want)
	}
	if _, err := kernel.Validate(info, map[string]any{ParamLearningRate: 0.0}); err == nil {
		t.Error("learning_rate 0 validated")
	}
	if len(Params(Defaults{LearningRate: 0.1})) != 1 {
		t.Error("Params declared params without defaults")
	}
}

func TestConfigCheck(t *testing.T) {
	ok := Config{LearningRate: 0.1, Steps: 1, EvalEvery: 1}
	for _, c := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) {}, ""},
		{func(c *Config) { c.Optimizer = "lion" }, `dpo: unknown optimizer "lion" (known: adam, adamw, sgd)`},
		{func(c *Config) { c.LearningRate = math.Inf(1) }, "dpo: learning rate must be finite and > 0, got +Inf"},
		{func(c *Config) { c.Steps = 0 }, "dpo: steps must be ≥ 1, got 0"},
		{func(c *Config) { c.BatchSize = -1 }, "dpo: batch size must be ≥ 0, got -1"},
		{func(c *Config) { c.EvalEvery = 0 }, "dpo: eval_every must be ≥ 1, got 0"},
	} {
		cfg := ok
		c.mod(&cfg)
		got := ""
		if err := cfg.Check("dpo"); err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("%+v: got %q, want %q", cfg, got, c.want)
		}
	}
	if _, err := NewOptimizer("lion", 0.1, 0, 0); err == nil || !strings.Contains(err.Error(), "known: adam, adamw, sgd") {
		t.Errorf("unknown optimizer: got %v", err)
	}
}

// A real GoMLX training through the loop, with a known answer: SGD on
// (θ − 3)² at rate η gives θ_k = 3 − 3(1 − 2η)^k exactly (up to rounding).
func TestLoopTrainsSGD(t *testing.T) {
	const (
		eta   = 0.1
		steps = 25
		tol   = 1e-12
	)
	be, err := backend.Get("")
	if err != nil {
		t.Fatal(err)
	}
	store := model.NewStore()
	theta := store.RootScope().VariableWithValue("theta", []float64{0})
	opt, err := NewOptimizer(SGD, eta, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	exec, err := model.NewExec(be, store, func(scope *model.Scope, x *Node) *Node {
		g := x.Graph()
		scope.SetTraining(g, true)
		loss := ReduceAllSum(Square(Sub(theta.NodeValue(g), x)))
		opt.UpdateGraph(scope, g, loss)
		return loss
	})
	if err != nil {
		t.Fatal(err)
	}
	var trace []float64
	var recorded []float64
	l := NewLoop("test", steps, ExecStep(exec, func(int) []any { return []any{[]float64{3}} }))
	l.RecordMeanLoss(func(step int64, metric string, v float64) error {
		if metric != "sq" {
			t.Errorf("recorded metric %q, want sq", metric)
		}
		recorded = append(recorded, v)
		return nil
	}, "sq", 5)
	l.EveryN(5, "theta", func(int) error {
		trace = append(trace, tensors.MustCopyFlatData[float64](theta.MustValue())[0])
		return nil
	})
	if err := l.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i, got := range trace {
		k := float64(5 * (i + 1))
		if want := 3 - 3*math.Pow(1-2*eta, k); math.Abs(got-want) > tol {
			t.Errorf("θ after %v steps: got %v, want %v", k, got, want)
		}
	}
	if len(trace) != 5 || len(recorded) != 5 {
		t.Errorf("%d traces and %d records, want 5 each", len(trace), len(recorded))
	}
	// The first record is the mean of the losses (θ_k − 3)² before steps
	// 1…5, θ_k = 3 − 3(1−2η)^k: 9·Σ_{k=0..4} (0.8)^{2k} / 5.
	want := 0.0
	for k := range 5 {
		want += 9 * math.Pow(1-2*eta, 2*float64(k)) / 5
	}
	if len(recorded) > 0 && math.Abs(recorded[0]-want) > tol {
		t.Errorf("first recorded mean loss %v, want %v", recorded[0], want)
	}
}

func TestDType(t *testing.T) {
	for _, c := range []struct {
		name   string
		neural bool
		want   dtypes.DType
	}{{"auto", true, dtypes.Float32}, {"auto", false, dtypes.Float64}, {"", true, dtypes.Float32},
		{"float32", false, dtypes.Float32}, {"float64", true, dtypes.Float64}} {
		got, err := ResolveDType(c.name, c.neural)
		if err != nil || got != c.want {
			t.Errorf("ResolveDType(%q, %v) = %v, %v; want %v", c.name, c.neural, got, err, c.want)
		}
	}
	if _, err := ResolveDType("bf16", true); err == nil || !strings.Contains(err.Error(), `dtype: want one of [auto float32 float64], got "bf16"`) {
		t.Errorf("bf16: got %v", err)
	}
	x := []float64{1.5, -2, 1e-3}
	for _, dt := range []dtypes.DType{dtypes.Float32, dtypes.Float64} {
		tt := Tensor(dt, x, 3, 1)
		if tt.DType() != dt || tt.Shape().Dimensions[0] != 3 {
			t.Fatalf("%v: tensor %s", dt, tt.Shape())
		}
		back, err := Float64s(tt)
		if err != nil {
			t.Fatal(err)
		}
		for i := range x {
			if d := math.Abs(back[i] - x[i]); d > 1e-7*math.Abs(x[i]) {
				t.Errorf("%v: value %d round trip %v, want %v", dt, i, back[i], x[i])
			}
		}
	}
}
