package decoder

import (
	"fmt"
	"math"
	"sync"

	"github.com/alignlab/alignlab/algos/backend"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
)

// getBackend returns the backend named by config (backend.Get), seen
// through geluGradFixed: every model of this package runs on it.
func getBackend(config string) (compute.Backend, error) {
	be, err := backend.Get(config)
	if err != nil {
		return nil, err
	}
	return geluGradFixed(be), nil
}

// geluGradFixed returns be, or, where be differentiates fused activations
// with kernels of its own (compute.OpTypeFusedActivationVJP), a view of be
// whose graphs compute the approximate GELU's gradient from elementwise
// ops (geluApproxVJP) instead of that kernel. Every other op, the fused
// forward GELU included, is be's own.
//
// Why: under GOEXPERIMENT=simd, compute v0.1.14's SIMD kernel of the
// approximate GELU's gradient (vjpGeluApprox…SIMD in
// internal/gobackend/activations/simd_full_base.go) evaluates tanh at
// √(2/π)·(0.044715·x + x³) instead of √(2/π)·(x + 0.044715·x³), so the
// gradient through every feed-forward layer of the zoo transformer and of
// GPT-2 (gelu_new) is off by up to 0.12; the default build's scalar kernel
// is right. bench/simd reproduces it. Hiding the capability instead, so
// that GoMLX differentiates its decomposed formula, is right too but slow:
// that formula's x³ is a Pow, scalar Go code, half of the transformer's
// training step (bench/lm).
//
// The view is a whole backend, not just its builder: GoMLX ties a tensor
// to the backend its buffer reports, and refuses it in a graph of another,
// so the view's buffers report the view. It is made once per backend, so
// that every model's tensors stay usable by every other.
func geluGradFixed(be compute.Backend) compute.Backend {
	if !be.Capabilities().Operations[compute.OpTypeFusedActivationVJP] {
		return be
	}
	viewsMu.Lock()
	defer viewsMu.Unlock()
	if v, ok := views[be]; ok {
		return v
	}
	v := &gradView{Backend: be}
	views[be] = v
	return v
}

var (
	viewsMu sync.Mutex
	views   = map[compute.Backend]*gradView{}
)

// gradView is a backend whose main functions compute the approximate
// GELU's gradient with geluApproxVJP. Its buffers are the inner backend's,
// wrapped so that they report the view.
type gradView struct {
	compute.Backend
}

// Builder implements compute.Backend.
func (b *gradView) Builder(name string) compute.Builder {
	return &viewBuilder{Builder: b.Backend.Builder(name), view: b}
}

// geluApproxVJP returns dOut·f′(x) for f(x) = ½x(1 + tanh u), u = c(x +
// a·x³), c = √(2/π), a = 0.044715:
//
//	f′(x) = ½(1 + tanh u) + ½·x·(1 − tanh² u)·c·(1 + 3a·x²)
//
// built from fn's elementwise ops (SIMD kernels in the Go backend), in
// float32 for half-precision inputs.
func geluApproxVJP(fn compute.Function, x, dOut compute.Value) (compute.Value, error) {
	shape, err := fn.Shape(x)
	if err != nil {
		return nil, err
	}
	dt := shape.DType
	half := dt != dtypes.Float32 && dt != dtypes.Float64
	e := &opErr{}
	if half {
		x, dOut = e.v(fn.ConvertDType(x, dtypes.Float32)), e.v(fn.ConvertDType(dOut, dtypes.Float32))
		dt = dtypes.Float32
	}
	konst := func(v float64) compute.Value {
		if dt == dtypes.Float32 {
			return e.v(fn.Constant([]float32{float32(v)}))
		}
		return e.v(fn.Constant([]float64{v}))
	}
	mul := func(p, q compute.Value) compute.Value { return e.v(fn.Mul(p, q)) }
	add := func(p, q compute.Value) compute.Value { return e.v(fn.Add(p, q)) }
	const a = 0.044715
	c := math.Sqrt(2 / math.Pi)
	one := konst(1)
	x2 := mul(x, x)
	t := e.v(fn.Tanh(mul(mul(x, add(mul(x2, konst(a)), one)), konst(c)))) // tanh u
	sech2 := e.v(fn.Sub(one, mul(t, t)))                                  // 1 − tanh² u
	slope := mul(mul(x, sech2), add(mul(x2, konst(3*a*c/2)), konst(c/2))) // ½·x·(1 − tanh² u)·u′
	grad := mul(dOut, add(mul(add(t, one), konst(0.5)), slope))
	if half {
		grad = e.v(fn.ConvertDType(grad, shape.DType))
	}
	return grad, e.err
}

// opErr keeps the first error of a chain of backend ops.
type opErr struct{ err error }

func (e *opErr) v(v compute.Value, err error) compute.Value {
	if e.err == nil && err != nil {
		e.err = fmt.Errorf("decoder: GELU gradient: %w", err)
	}
	return v
}

// BufferFromFlatData implements compute.DataInterface.
func (b *gradView) BufferFromFlatData(dev compute.DeviceNum, flat any, shape shapes.Shape) (compute.Buffer, error) {
	buf, err := b.Backend.BufferFromFlatData(dev, flat, shape)
	return b.wrap(buf), err
}

// NewSharedBuffer implements compute.DataInterface.
func (b *gradView) NewSharedBuffer(dev compute.DeviceNum, shape shapes.Shape) (compute.Buffer, any, error) {
	buf, flat, err := b.Backend.NewSharedBuffer(dev, shape)
	return b.wrap(buf), flat, err
}

func (b *gradView) wrap(buf compute.Buffer) compute.Buffer {
	if buf == nil {
		return nil
	}
	return &viewBuffer{Buffer: buf, view: b}
}

type viewBuilder struct {
	compute.Builder
	view *gradView
}

// Main implements compute.Builder: the main function, with the GELU
// gradient of geluApproxVJP.
func (b *viewBuilder) Main() compute.Function { return &viewFunction{Function: b.Builder.Main()} }

// viewFunction is a function of the inner backend whose approximate-GELU
// gradient is geluApproxVJP. Closures and other functions stay the inner
// backend's, which other ops (Call, While, If) take as they are.
type viewFunction struct {
	compute.Function
}

// FusedActivationVJP implements compute.Function.
func (f *viewFunction) FusedActivationVJP(y, x, dOut compute.Value, cfg compute.ActivationConfig) (compute.Value, error) {
	if cfg.Type != compute.ActivationGeluApproximate {
		return f.Function.FusedActivationVJP(y, x, dOut, cfg)
	}
	return geluApproxVJP(f.Function, x, dOut)
}

// Compile implements compute.Builder.
func (b *viewBuilder) Compile() (compute.Executable, error) {
	exe, err := b.Builder.Compile()
	if err != nil {
		return nil, err
	}
	return &viewExecutable{Executable: exe, view: b.view}, nil
}

type viewExecutable struct {
	compute.Executable
	view *gradView
}

// Execute implements compute.Executable: the inner backend gets its own
// buffers, and its results come back wrapped.
func (e *viewExecutable) Execute(inputs []compute.Buffer, donate []bool, dev compute.DeviceNum) ([]compute.Buffer, error) {
	inner := make([]compute.Buffer, len(inputs))
	for i, in := range inputs {
		vb, ok := in.(*viewBuffer)
		if !ok || vb.view != e.view {
			return nil, fmt.Errorf("decoder: input %d of the graph is not a buffer of its backend", i)
		}
		inner[i] = vb.Buffer
	}
	outs, err := e.Executable.Execute(inner, donate, dev)
	if err != nil {
		return nil, err
	}
	for i, out := range outs {
		outs[i] = e.view.wrap(out)
	}
	return outs, nil
}

type viewBuffer struct {
	compute.Buffer
	view *gradView
}

// Backend implements compute.Buffer.
func (b *viewBuffer) Backend() compute.Backend { return b.view }
