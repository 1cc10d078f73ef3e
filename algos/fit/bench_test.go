package fit

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/alignlab/alignlab/algos/backend"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// BenchmarkLoopOverhead is the loop's own cost per step (context check,
// loss check, hook dispatch) around a step that does nothing: what every
// family pays for sharing the loop instead of a bare for statement.
func BenchmarkLoopOverhead(b *testing.B) {
	l := NewLoop("bench", b.N, func(int) (float64, error) { return 1, nil })
	l.EveryN(10, "eval", func(int) error { return nil })
	b.ResetTimer()
	if err := l.Run(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkBatcher draws batches of 64 rows of width 16 out of 10,000.
func BenchmarkBatcher(b *testing.B) {
	const n, d = 10000, 16
	x := make([]float64, n*d)
	bt := NewBatcher(n, 64, rand.New(rand.NewPCG(1, 2)))
	for b.Loop() {
		_ = Rows(x, d, bt.Next())
	}
}

// BenchmarkGuard times one full-batch Adam step of a tanh MLP (8 inputs,
// 32 units, float64, 4,096 pairs: the shape of the DPO MLP bench) with the
// bare GoMLX optimizer and with Guard plus ExecStep's CheckFinite: the
// guard's cost per step.
func BenchmarkGuard(b *testing.B) {
	be, err := backend.Get("")
	if err != nil {
		b.Fatal(err)
	}
	const n, d, h = 4096, 8, 32
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, 2*n*d)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	xt := tensors.FromFlatDataAndDimensions(x, 2*n, d)
	for _, guard := range []bool{false, true} {
		name := "bare"
		if guard {
			name = "guarded"
		}
		b.Run(name, func(b *testing.B) {
			store := model.NewStore()
			w1 := store.RootScope().VariableWithValue("w1", tensors.FromShape(shapes.Make(dtypes.Float64, d, h)))
			w2 := store.RootScope().VariableWithValue("w2", tensors.FromShape(shapes.Make(dtypes.Float64, h)))
			opt, err := newOptimizer(Adam, 1e-3, 0, 0)
			if err != nil {
				b.Fatal(err)
			}
			if guard {
				opt = Guard(opt)
			}
			exec, err := model.NewExec(be, store, func(scope *model.Scope, x *Node) *Node {
				g := x.Graph()
				scope.SetTraining(g, true)
				s := Dot(Tanh(Dot(x, w1.NodeValue(g)).Product()), w2.NodeValue(g)).Product()
				hh := Dot(Const(g, []float64{1, -1}), Reshape(s, 2, n)).Product()
				loss := ReduceAllMean(Log1p(Exp(Neg(hh))))
				opt.UpdateGraph(scope, g, loss)
				return loss
			})
			if err != nil {
				b.Fatal(err)
			}
			step := ExecStep(exec, func(int) []any { return []any{xt} })
			if !guard {
				step = func(int) (float64, error) {
					out, err := exec.Call(xt)
					if err != nil {
						return 0, err
					}
					return tensors.ToScalar[float64](out[0]), nil
				}
			}
			if _, err := step(0); err != nil { // compiles the graph
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := step(0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
