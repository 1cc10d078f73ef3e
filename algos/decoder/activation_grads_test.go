package decoder

import (
	"math"
	"os"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/algos/backend"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
)

// geluNew is GPT-2's gelu_new, ½x(1 + tanh(√(2/π)(x + 0.044715x³))), and
// geluNewGrad its derivative, in float64.
func geluNew(x float64) float64 {
	return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
}

func geluNewGrad(x float64) float64 {
	c := math.Sqrt(2 / math.Pi)
	t := math.Tanh(c * (x + 0.044715*x*x*x))
	return 0.5*(1+t) + 0.5*x*(1-t*t)*c*(1+3*0.044715*x*x)
}

// geluGrid is x = −8, −7.99, …, 8.
func geluGrid() []float64 {
	xs := make([]float64, 1601)
	for i := range xs {
		xs[i] = -8 + float64(i)/100
	}
	return xs
}

// geluAndGrad evaluates activation.GeluApproximate and its autodiff
// gradient on xs, in dtype, on be.
func geluAndGrad(t *testing.T, be compute.Backend, dtype dtypes.DType, xs []float64) (y, dy []float64) {
	t.Helper()
	out, err := ExecOnceN(be, func(x *Node) []*Node {
		x = ConvertDType(x, dtype)
		y := activation.GeluApproximate(x)
		dx := Gradient(ReduceAllSum(y), x)[0]
		return []*Node{ConvertDType(y, dtypes.Float64), ConvertDType(dx, dtypes.Float64)}
	}, xs)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float64](out[0]), tensors.MustCopyFlatData[float64](out[1])
}

// The decoder's GELU (gelu_new, the zoo's and GPT-2's) has the gradient
// of its closed form, under the default build and under GOEXPERIMENT=simd,
// and the same values as the backend's fused op, bit for bit: the models'
// backend keeps the fused forward and composes the gradient from
// elementwise ops (geluApproxVJP).
func TestGeluGradient(t *testing.T) {
	const (
		// geluApproxVJP against the closed form on |x| ≤ 8: rounding of
		// a dozen operations, measured 6.7e-16
		// (default build) and 9.7e-15 (simd) in float64, 5.5e-7 and
		// 1.9e-6 in float32.
		tolGrad64 = 1e-13
		tolGrad32 = 5e-6
		// The forward pass against the closed form, the check that it is
		// gelu_new at all: measured 0 and 1.8e-15 in float64, 5.7e-7 in
		// float32 (both builds).
		tolValue64 = 1e-13
		tolValue32 = 2e-6
	)
	raw, err := backend.Get("")
	if err != nil {
		t.Fatal(err)
	}
	view := geluGradFixed(raw)
	xs := geluGrid()
	for _, c := range []struct {
		dtype           dtypes.DType
		tolGrad, tolVal float64
	}{
		{dtypes.Float64, tolGrad64, tolValue64},
		{dtypes.Float32, tolGrad32, tolValue32},
	} {
		y, dy := geluAndGrad(t, view, c.dtype, xs)
		yFused, dyFused := geluAndGrad(t, raw, c.dtype, xs)
		var errGrad, errVal, errFused, diffForward float64
		for i, x := range xs {
			errGrad = max(errGrad, math.Abs(dy[i]-geluNewGrad(x)))
			errVal = max(errVal, math.Abs(y[i]-geluNew(x)))
			errFused = max(errFused, math.Abs(dyFused[i]-geluNewGrad(x)))
			diffForward = max(diffForward, math.Abs(y[i]-yFused[i]))
		}
		if errGrad > c.tolGrad {
			t.Errorf("%s: gradient off the closed form by up to %.3g, want ≤ %g", c.dtype, errGrad, c.tolGrad)
		}
		if errVal > c.tolVal {
			t.Errorf("%s: values off gelu_new by up to %.3g, want ≤ %g", c.dtype, errVal, c.tolVal)
		}
		if diffForward != 0 {
			t.Errorf("%s: values differ from the fused op by up to %.3g, want 0", c.dtype, diffForward)
		}
		t.Logf("%s: |gradient − closed form| ≤ %.3g; the fused kernel's gradient: ≤ %.3g; values vs closed form ≤ %.3g",
			c.dtype, errGrad, errFused, errVal)
	}
}

// A float64 model's gradient with respect to its first feed-forward
// weights, through GELU, matches central finite differences of its loss.
func TestModelGradientFiniteDifference(t *testing.T) {
	const (
		h = 1e-5
		// Central differences: O(h²) truncation plus float64 rounding of a
		// loss near 5.6 divided by 2h, ≈ 1e-10; the SIMD kernel's bug
		// would show as errors of 1e-3 and more.
		tol = 1e-7
	)
	cfg, err := SizeConfig(SizeTest, 259, 16)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DType = "float64"
	m, err := New(cfg, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	prompts, completions := benchRows(4, 1)
	batch, err := Encode(byteTok{}, prompts, completions, 16, true)
	if err != nil {
		t.Fatal(err)
	}
	var w *model.Variable
	for v := range m.Store().IterVariables() {
		if strings.Contains(v.Path(), "/ff1/") && v.Name() == "weights" {
			w = v
			break
		}
	}
	if w == nil {
		t.Fatal("no ff1 weights in the model")
	}
	lossGraph := func(scope *model.Scope, in []*Node) *Node {
		scope.SetTraining(in[0].Graph(), true) // weights as parameters, not constants
		seq, _ := m.SeqLogProbsGraph(scope, in[0], in[1], in[2])
		return Neg(ReduceAllMean(seq))
	}
	lossExec, err := model.NewExec(m.Backend(), m.Store(), lossGraph)
	if err != nil {
		t.Fatal(err)
	}
	var wIndex int
	gradExec, err := model.NewExec(m.Backend(), m.Store(), func(scope *model.Scope, in []*Node) []*Node {
		// Every gradient is an output, as in a training step: a graph
		// with w's alone makes the Go backend (compute v0.1.14) panic with
		// an index out of range while it runs.
		g := in[0].Graph()
		grads := scope.BuildTrainableVariablesGradientsGraph(lossGraph(scope, in))
		wIndex = 0
		for v := range scope.IterVariables() {
			if v == w {
				return grads
			}
			if v.Trainable && v.InUseByGraph(g) {
				wIndex++
			}
		}
		panic("w is not a trainable variable of the graph")
	})
	if err != nil {
		t.Fatal(err)
	}
	args := batch.Tensors()
	out, err := gradExec.Call(args...)
	if err != nil {
		t.Fatal(err)
	}
	grad := tensors.MustCopyFlatData[float64](out[wIndex])
	w0 := tensors.MustCopyFlatData[float64](w.MustValue())
	loss := func(i int, delta float64) float64 {
		wi := append([]float64(nil), w0...)
		wi[i] += delta
		if err := w.SetValue(tensors.FromFlatDataAndDimensions(wi, w.Shape().Dimensions...)); err != nil {
			t.Fatal(err)
		}
		out, err := lossExec.Call(args...)
		if err != nil {
			t.Fatal(err)
		}
		return tensors.ToScalar[float64](out[0])
	}
	worst := 0.0
	for k := range 12 {
		i := (k * 331) % len(w0) // spread over the matrix
		fd := (loss(i, h) - loss(i, -h)) / (2 * h)
		worst = max(worst, math.Abs(fd-grad[i]))
		if math.Abs(fd-grad[i]) > tol {
			t.Errorf("∂loss/∂w[%d]: autodiff %.10g, finite difference %.10g", i, grad[i], fd)
		}
	}
	t.Logf("max |autodiff − finite difference| over 12 weights: %.3g", worst)
}

// Every way to get a model (New, Load, LoadHF for GPT-2) runs it on the
// view whose GELU gradient is geluApproxVJP.
func TestModelsFixGeluGradient(t *testing.T) {
	dir := t.TempDir()
	m := testModel(t, 1)
	if err := m.Save(dir+"/own", Manifest{Tokenizer: "byte"}); err != nil {
		t.Fatal(err)
	}
	loaded, _, err := Load(dir+"/own", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir+"/gpt2", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := newTinyGPT2(1, 0.5).write(dir+"/gpt2", ""); err != nil {
		t.Fatal(err)
	}
	gpt2, err := LoadHF(dir+"/gpt2", "")
	if err != nil {
		t.Fatal(err)
	}
	for name, m := range map[string]*Model{"New": m, "Load": loaded, "LoadHF": gpt2} {
		if _, ok := m.Backend().(*gradView); !ok {
			t.Errorf("%s: the model's backend is %T, not the view that fixes the GELU gradient", name, m.Backend())
		}
	}
}
