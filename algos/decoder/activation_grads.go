package decoder

import (
	"fmt"
	"maps"
	"sync"

	"github.com/alignlab/alignlab/algos/backend"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/shapes"
)

// getBackend returns the backend named by config (backend.Get), seen
// through autodiffActivationGrads: every model of this package runs on it.
func getBackend(config string) (compute.Backend, error) {
	be, err := backend.Get(config)
	if err != nil {
		return nil, err
	}
	return autodiffActivationGrads(be), nil
}

// autodiffActivationGrads returns be, or, where be differentiates fused
// activations with kernels of its own (compute.OpTypeFusedActivationVJP),
// a view of be that hides that one capability. GoMLX then keeps the fused
// activation for the forward pass (the same op, the same values) and
// differentiates its decomposed formula by autodiff instead
// (activation.applyActivation falls back to graph.InternalFusedOpCaller).
//
// Why: under GOEXPERIMENT=simd, compute v0.1.14's SIMD kernel of the
// approximate GELU's gradient (vjpGeluApprox…SIMD in
// internal/gobackend/activations/simd_full_base.go) evaluates tanh at
// √(2/π)·(0.044715·x + x³) instead of √(2/π)·(x + 0.044715·x³), so the
// gradient through every feed-forward layer of the zoo transformer and of
// GPT-2 (gelu_new) is off by up to 0.12; the default build's scalar kernel
// is right. bench/simd reproduces it.
//
// The view is a whole backend, not just its capabilities: GoMLX ties a
// tensor to the backend its buffer reports, and refuses it in a graph of
// another, so the view's buffers report the view. It is made once per
// backend, so that every model's tensors stay usable by every other.
func autodiffActivationGrads(be compute.Backend) compute.Backend {
	if !be.Capabilities().Operations[compute.OpTypeFusedActivationVJP] {
		return be
	}
	viewsMu.Lock()
	defer viewsMu.Unlock()
	if v, ok := views[be]; ok {
		return v
	}
	caps := be.Capabilities()
	caps.Operations = maps.Clone(caps.Operations)
	delete(caps.Operations, compute.OpTypeFusedActivationVJP)
	v := &gradView{Backend: be, caps: caps}
	views[be] = v
	return v
}

var (
	viewsMu sync.Mutex
	views   = map[compute.Backend]*gradView{}
)

// gradView is a backend without fused activation gradients. Its buffers
// are the inner backend's, wrapped so that they report the view.
type gradView struct {
	compute.Backend
	caps compute.Capabilities
}

// Capabilities implements compute.Backend.
func (b *gradView) Capabilities() compute.Capabilities { return b.caps }

// Builder implements compute.Backend.
func (b *gradView) Builder(name string) compute.Builder {
	return &viewBuilder{Builder: b.Backend.Builder(name), view: b}
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
