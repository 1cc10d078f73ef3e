package fit

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/alignlab/alignlab/algos/backend"
	"github.com/alignlab/alignlab/kernel"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// guardNorms returns the guard variable of scope in store, [Σg², Σθ'²].
func guardNorms(t *testing.T, store *model.Store, scope string) []float64 {
	t.Helper()
	v := store.GetVariable(model.JoinPath(scope, GuardScope, GuardVariable))
	if v == nil {
		t.Fatalf("no guard variable under %s", scope)
	}
	return tensors.MustCopyFlatData[float64](v.MustValue())
}

// One SGD step on (θ − x)² from θ = (1, 2), x = (3, −1), η = 0.1: the
// gradient 2(θ − x) = (−4, 6) has Σg² = 52, and θ' = θ − ηg = (1.4, 1.4)
// has Σθ'² = 3.92. A second optimizer on its own scope keeps its own
// guard; two on one scope add up.
func TestGuardNorms(t *testing.T) {
	const tol = 1e-12
	be, err := backend.Get("")
	if err != nil {
		t.Fatal(err)
	}
	store := model.NewStore()
	a := store.RootScope().In("a").VariableWithValue("theta", []float64{1, 2})
	b := store.RootScope().In("b").VariableWithValue("theta", []float64{1, 2})
	optA, _ := NewOptimizer(SGD, 0.1, 0, 0)
	optB, _ := NewOptimizer(SGD, 0.1, 0, 0)
	exec, err := model.NewExec(be, store, func(scope *model.Scope, x *Node) *Node {
		g := x.Graph()
		scope.SetTraining(g, true)
		la := ReduceAllSum(Square(Sub(a.NodeValue(g), x)))
		lb := ReduceAllSum(Square(Sub(b.NodeValue(g), x)))
		optA.UpdateGraph(scope.At("a"), g, la)
		optB.UpdateGraph(scope.At("b"), g, lb)
		return Add(la, lb)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.Call([]float64{3, -1}); err != nil {
		t.Fatal(err)
	}
	want := []float64{52, 3.92}
	for _, scope := range []string{"/a", "/b"} {
		got := guardNorms(t, store, scope)
		for i := range want {
			if math.Abs(got[i]-want[i]) > tol {
				t.Errorf("%s: got %v, want %v", scope, got, want)
			}
		}
	}
	if err := CheckFinite(store); err != nil {
		t.Errorf("CheckFinite of finite norms: %v", err)
	}

	// Two updates of one scope in a graph share its guard, which holds
	// their sums. On the root scope each update moves every trainable
	// variable of the graph: the first (of lb) finds ∇ = (0, g_b) and
	// leaves a = (1, 2), b = (1.4, 1.4); the second (of la) differentiates
	// la at the nodes the first set, which la does not use, so ∇ = 0 and
	// nothing moves. Σg² = 52 + 0, Σθ'² = 8.92 + 8.92.
	store = model.NewStore()
	a = store.RootScope().In("a").VariableWithValue("theta", []float64{1, 2})
	b = store.RootScope().In("b").VariableWithValue("theta", []float64{1, 2})
	exec, err = model.NewExec(be, store, func(scope *model.Scope, x *Node) *Node {
		g := x.Graph()
		scope.SetTraining(g, true)
		la := ReduceAllSum(Square(Sub(a.NodeValue(g), x)))
		lb := ReduceAllSum(Square(Sub(b.NodeValue(g), x)))
		optB.UpdateGraph(scope, g, lb)
		optA.UpdateGraph(scope, g, la)
		return Add(la, lb)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.Call([]float64{3, -1}); err != nil {
		t.Fatal(err)
	}
	want = []float64{52, 2 * 8.92}
	if got := guardNorms(t, store, "/"); math.Abs(got[0]-want[0]) > tol || math.Abs(got[1]-want[1]) > tol {
		t.Errorf("root guard of two updates: got %v, want %v", got, want)
	}
}

// The guard changes no update: Adam and SGD, with and without Guard,
// train a tanh MLP to bit-identical weights.
func TestGuardKeepsUpdates(t *testing.T) {
	be, err := backend.Get("")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{Adam, SGD} {
		var weights [2][]float64
		for k, guard := range []bool{false, true} {
			p := newPairMLP(dtypes.Float64)
			opt, err := newOptimizer(name, 0.05, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if guard {
				opt = Guard(opt)
			}
			exec, err := p.exec(be, opt, 0)
			if err != nil {
				t.Fatal(err)
			}
			for range 20 {
				if _, err := exec.Call(p.x); err != nil {
					t.Fatal(err)
				}
			}
			weights[k] = append(tensors.MustCopyFlatData[float64](p.w1.MustValue()), tensors.MustCopyFlatData[float64](p.w2.MustValue())...)
		}
		for i := range weights[0] {
			if weights[0][i] != weights[1][i] {
				t.Errorf("%s: weight %d got %v with the guard, want %v as without", name, i, weights[1][i], weights[0][i])
				break
			}
		}
	}
}

// A divergence the loss does not show stops the loop at its step, through
// ExecStep and through Watch, as a *kernel.DivergedError naming the
// quantity: the step reports a constant loss while it trains a separate
// objective whose gradient is NaN, or whose update overflows.
func TestGuardStopsHiddenDivergence(t *testing.T) {
	be, err := backend.Get("")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		lr     float64
		x      []float64
		metric string
		value  float64
	}{
		// ∇(θ·x) = x holds a NaN.
		{"nan gradient", 0.1, []float64{1, math.NaN()}, MetricGradNorm, math.NaN()},
		// θ' = 0 − 1e308·(−10) overflows; the gradient is finite.
		{"overflowing step", 1e308, []float64{-10, 0}, MetricParamNorm, math.Inf(1)},
	} {
		for _, via := range []string{"ExecStep", "Watch"} {
			store := model.NewStore()
			theta := store.RootScope().VariableWithValue("theta", []float64{0, 0})
			opt, _ := NewOptimizer(SGD, c.lr, 0, 0)
			exec, err := model.NewExec(be, store, func(scope *model.Scope, x *Node) *Node {
				g := x.Graph()
				scope.SetTraining(g, true)
				opt.UpdateGraph(scope, g, ReduceAllSum(Mul(theta.NodeValue(g), x)))
				return Const(g, 1.0)
			})
			if err != nil {
				t.Fatal(err)
			}
			step := ExecStep(exec, func(int) []any { return []any{c.x} })
			if via == "Watch" {
				step = func(int) (float64, error) {
					out, err := exec.Call(c.x)
					if err != nil {
						return 0, err
					}
					return tensors.ToScalar[float64](out[0]), nil
				}
			}
			job := kernel.NewJob(context.Background(), "test.fit", kernel.Params{}, nil)
			l := NewLoop("test", 5, step)
			l.RecordMeanLoss(job.Record, "loss", 1)
			if via == "Watch" {
				l.Watch(store)
			}
			err = l.Run(context.Background())
			var div *kernel.DivergedError
			switch {
			case !errors.As(err, &div):
				t.Errorf("%s via %s: got %v, want a *kernel.DivergedError", c.name, via, err)
			case div.Step != 1 || div.Metric != c.metric || !sameFloat(div.Value, c.value):
				t.Errorf("%s via %s: got step %d, %s = %v, want step 1, %s = %v", c.name, via, div.Step, div.Metric, div.Value, c.metric, c.value)
			}
		}
	}
}

// Without a recorder the loop's own error names the quantity and wraps a
// *NonFiniteError, for a NaN loss as for a guard's norm.
func TestGuardErrorText(t *testing.T) {
	for _, c := range []struct {
		loss  float64
		err   error
		want  string
		value float64
	}{
		{0.5, &NonFiniteError{Metric: MetricParamNorm, Value: math.Inf(1)},
			"test: diverged at step 1: param_norm is +Inf; try a smaller learning_rate", math.Inf(1)},
		{math.NaN(), nil, "test: diverged at step 1: loss is NaN; try a smaller learning_rate", math.NaN()},
	} {
		l := NewLoop("test", 3, func(int) (float64, error) { return c.loss, c.err })
		err := l.Run(context.Background())
		var nf *NonFiniteError
		if err == nil || err.Error() != c.want {
			t.Errorf("got %v, want %q", err, c.want)
		} else if !errors.As(err, &nf) || !sameFloat(nf.Value, c.value) {
			t.Errorf("%v: does not wrap a *NonFiniteError of value %v", err, c.value)
		}
	}
}

// The forced divergence: a tanh MLP scoring pairs, trained on a bounded
// loss (mean σ(−h), h the score margin) plus ‖θ‖², by SGD at η = 2, four
// times the rate at which the L2 term alone stays stable (θ' ≈ −3θ). The
// weights grow threefold a step until their squared norm overflows. The
// run must stop with a divergence at the same step under the default build
// and under GOEXPERIMENT=simd, where σ(NaN) = 1 keeps the loss finite once
// the weights are NaN: without the guard that build trains all its steps
// and returns NaN weights without an error (logged below).
func TestForcedDivergence(t *testing.T) {
	const steps = 1000
	be, err := backend.Get("")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		dtype dtypes.DType
		// step at which ‖g‖² overflows: ‖θ‖ ≈ 3^k passes √max in float32
		// (1.8e19) at k ≈ 40, in float64 (1.3e154) at k ≈ 323.
		step int64
	}{
		{dtypes.Float32, 40},
		{dtypes.Float64, 323},
	} {
		p := newPairMLP(c.dtype)
		opt, err := NewOptimizer(SGD, 2, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		exec, err := p.exec(be, opt, 1)
		if err != nil {
			t.Fatal(err)
		}
		job := kernel.NewJob(context.Background(), "test.fit", kernel.Params{}, nil)
		l := NewLoop("test", steps, ExecStep(exec, func(int) []any { return []any{p.x} }))
		l.RecordMeanLoss(job.Record, "loss", 10)
		err = l.Run(context.Background())
		var div *kernel.DivergedError
		if !errors.As(err, &div) {
			t.Errorf("%s: got %v, want a *kernel.DivergedError", c.dtype, err)
			continue
		}
		if div.Step != c.step || div.Metric != MetricGradNorm {
			t.Errorf("%s: diverged at step %d on %s, want step %d on %s", c.dtype, div.Step, div.Metric, c.step, MetricGradNorm)
		}

		// The same run with the bare optimizer, for the log.
		p = newPairMLP(c.dtype)
		bare, _ := newOptimizer(SGD, 2, 0, 0)
		if exec, err = p.exec(be, bare, 1); err != nil {
			t.Fatal(err)
		}
		l = NewLoop("test", steps, func(int) (float64, error) {
			out, err := exec.Call(p.x)
			if err != nil {
				return 0, err
			}
			return tensors.ToScalar[float64](out[0]), nil
		})
		err = l.Run(context.Background())
		t.Logf("%s without the guard: %v; last loss %v, w2 = %v", c.dtype, err, l.Loss, p.w2.MustValue())
	}
}

// pairMLP is a tanh MLP, s(x) = w2·tanh(W1 x), scoring the rows of x: the
// first n chosen, the next n rejected. Its weights and data come from a
// fixed seed.
type pairMLP struct {
	dtype  dtypes.DType
	x      *tensors.Tensor // [2n, d]
	w1, w2 *model.Variable
	store  *model.Store
}

const pairN, pairD, pairH = 64, 4, 8

func newPairMLP(dtype dtypes.DType) *pairMLP {
	r := rand.New(rand.NewPCG(1, 2))
	normal := func(n int, scale float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = scale * r.NormFloat64()
		}
		return v
	}
	p := &pairMLP{dtype: dtype, store: model.NewStore()}
	p.x = asDType(normal(2*pairN*pairD, 1), dtype, 2*pairN, pairD)
	root := p.store.RootScope()
	p.w1 = root.VariableWithValue("w1", asDType(normal(pairD*pairH, 0.5), dtype, pairD, pairH))
	p.w2 = root.VariableWithValue("w2", asDType(normal(pairH, 0.5), dtype, pairH))
	return p
}

func asDType(v []float64, dtype dtypes.DType, dims ...int) *tensors.Tensor {
	if dtype == dtypes.Float32 {
		f := make([]float32, len(v))
		for i, x := range v {
			f[i] = float32(x)
		}
		return tensors.FromFlatDataAndDimensions(f, dims...)
	}
	return tensors.FromFlatDataAndDimensions(v, dims...)
}

// exec compiles a training step of opt on mean σ(−h) + l2·‖θ‖², h the
// chosen-minus-rejected score; the step returns mean σ(−h) in float64.
func (p *pairMLP) exec(be compute.Backend, opt optimizer.Interface, l2 float64) (*model.Exec, error) {
	return model.NewExec(be, p.store, func(scope *model.Scope, x *Node) *Node {
		g := x.Graph()
		scope.SetTraining(g, true)
		w1, w2 := p.w1.NodeValue(g), p.w2.NodeValue(g)
		s := Dot(Tanh(Dot(x, w1).Product()), w2).Product()
		h := Dot(ConvertDType(Const(g, []float64{1, -1}), p.dtype), Reshape(s, 2, pairN)).Product()
		loss := ReduceAllMean(Sigmoid(Neg(h)))
		total := loss
		if l2 > 0 {
			sq := Add(ReduceAllSum(Mul(w1, w1)), ReduceAllSum(Mul(w2, w2)))
			total = Add(loss, MulScalar(sq, l2))
		}
		opt.UpdateGraph(scope, g, total)
		return ConvertDType(loss, dtypes.Float64)
	})
}

// sameFloat is == with NaN equal to NaN.
func sameFloat(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
