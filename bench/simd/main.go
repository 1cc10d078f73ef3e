// Command simd measures what GOEXPERIMENT=simd changes in the pure-Go
// GoMLX backend (compute v0.1.14, GoMLX v0.28.16) that alignlab's
// numerics depend on, and reproduces the upstream bug in the gradient of
// the approximate GELU. Run it under both builds and compare:
//
//	go run ./bench/simd
//	GOEXPERIMENT=simd go run ./bench/simd
//
// Part 1 is the bug report: activation.GeluApproximate (the fused op) and
// its autodiff gradient (the backend's fused VJP kernel) against the
// closed form of gelu_new and its derivative. Under simd the kernel
// vjpGeluApprox{Float32,Float64}SIMD (internal/gobackend/activations/
// simd_full_base.go) computes u = √(2/π)·x.MulAdd(0.044715, x³), that is
// √(2/π)·(0.044715·x + x³), where the formula is √(2/π)·(x + 0.044715·x³).
//
// Part 2 checks every fused activation's gradient against central finite
// differences of its own forward pass, in float64, away from kinks.
//
// Part 3 tabulates the edge cases of the element-wise ops for NaN, ±Inf,
// overflow and underflow, in float32 and float64.
//
// With -pagefault it only reproduces a bug of the Go toolchain's simd
// package that the backend's kernels hit: a partial vector load reads past
// the end of its slice, and the process dies when that is the end of
// mapped memory (scripts/gotoolchain.sh fixes it; backend.LoadAtPageEnd):
//
//	GOEXPERIMENT=simd go run ./bench/simd -pagefault
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"

	"github.com/alignlab/alignlab/algos/backend"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers/activation"
)

func main() {
	pagefault := flag.Bool("pagefault", false, "only reproduce the toolchain's SIMD load past a slice's end (it crashes the process)")
	flag.Parse()
	if *pagefault {
		loadAtPageEnd()
		return
	}
	be, err := backend.Get("")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%s, GOEXPERIMENT=simd: %v, backend %s\n\n", runtime.Version(), simdBuild, be.Name())
	if err := geluReport(be); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := activationGradients(be); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := edgeCases(be); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// geluNew and geluNewGrad are gelu_new and its derivative in float64.
func geluNew(x float64) float64 {
	return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
}

func geluNewGrad(x float64) float64 {
	c := math.Sqrt(2 / math.Pi)
	t := math.Tanh(c * (x + 0.044715*x*x*x))
	return 0.5*(1+t) + 0.5*x*(1-t*t)*c*(1+3*0.044715*x*x)
}

// valueAndGrad runs act on xs (converted to dtype) and its gradient
// (autodiff of the sum), returned in float64.
func valueAndGrad(be compute.Backend, act activation.Type, dtype dtypes.DType, xs []float64) (y, dy []float64, err error) {
	out, err := ExecOnceN(be, func(x *Node) []*Node {
		x = ConvertDType(x, dtype)
		y := activation.Apply(act, x)
		dx := Gradient(ReduceAllSum(y), x)[0]
		return []*Node{ConvertDType(y, dtypes.Float64), ConvertDType(dx, dtypes.Float64)}
	}, xs)
	if err != nil {
		return nil, nil, err
	}
	return tensors.MustCopyFlatData[float64](out[0]), tensors.MustCopyFlatData[float64](out[1]), nil
}

func geluReport(be compute.Backend) error {
	fmt.Println("1. activation.GeluApproximate (fused) vs gelu_new's closed form")
	xs := []float64{-3, -1, -0.5, 0.5, 1, 2, 3}
	grid := make([]float64, 1601)
	for i := range grid {
		grid[i] = -8 + float64(i)/100
	}
	for _, dtype := range []dtypes.DType{dtypes.Float32, dtypes.Float64} {
		y, dy, err := valueAndGrad(be, activation.TypeGeluApprox, dtype, xs)
		if err != nil {
			return err
		}
		fmt.Printf("   %s\n   %6s %12s %12s %12s %12s\n", dtype, "x", "gelu", "closed form", "gradient", "closed form")
		for i, x := range xs {
			fmt.Printf("   %6g %12.7f %12.7f %12.7f %12.7f\n", x, y[i], geluNew(x), dy[i], geluNewGrad(x))
		}
		y, dy, err = valueAndGrad(be, activation.TypeGeluApprox, dtype, grid)
		if err != nil {
			return err
		}
		var errY, errDy, at float64
		for i, x := range grid {
			errY = max(errY, math.Abs(y[i]-geluNew(x)))
			if e := math.Abs(dy[i] - geluNewGrad(x)); e > errDy {
				errDy, at = e, x
			}
		}
		fmt.Printf("   max over x in [-8, 8]: |value error| %.3g, |gradient error| %.3g (at x = %g)\n\n", errY, errDy, at)
	}
	return nil
}

// activationGradients compares each fused activation's autodiff gradient
// with central differences of its forward pass, in float64.
func activationGradients(be compute.Backend) error {
	fmt.Println("2. fused activations, float64: max |autodiff gradient − central difference (h = 1e-6)| on x in [-6, 6]")
	const h = 1e-6
	var xs []float64
	for i := range 1201 {
		x := -6 + float64(i)/100
		if kink := min(math.Abs(x), math.Abs(math.Abs(x)-2.5), math.Abs(math.Abs(x)-3)); kink > 0.05 { // relu's, hard_sigmoid's, hard_swish's
			xs = append(xs, x)
		}
	}
	plus, minus := make([]float64, len(xs)), make([]float64, len(xs))
	for i, x := range xs {
		plus[i], minus[i] = x+h, x-h
	}
	for _, act := range []activation.Type{
		activation.TypeTanh, activation.TypeSigmoid, activation.TypeSilu, activation.TypeGelu,
		activation.TypeGeluApprox, activation.TypeRelu, activation.TypeLeakyRelu, activation.TypeSelu,
		activation.TypeHardSigmoid, activation.TypeHardSwish,
	} {
		_, dy, err := valueAndGrad(be, act, dtypes.Float64, xs)
		if err != nil {
			return err
		}
		yp, _, err := valueAndGrad(be, act, dtypes.Float64, plus)
		if err != nil {
			return err
		}
		ym, _, err := valueAndGrad(be, act, dtypes.Float64, minus)
		if err != nil {
			return err
		}
		worst, at := 0.0, 0.0
		for i := range xs {
			if e := math.Abs(dy[i] - (yp[i]-ym[i])/(2*h)); e > worst {
				worst, at = e, xs[i]
			}
		}
		fmt.Printf("   %-16s %.2g (at x = %g)\n", act, worst, at)
	}
	fmt.Println()
	return nil
}

func edgeCases(be compute.Backend) error {
	fmt.Println("3. element-wise ops at the edges")
	nan, inf := math.NaN(), math.Inf(1)
	inputs := []float64{nan, inf, -inf, 89, 710, -104, -746, -1000}
	ops := []struct {
		name string
		fn   func(*Node) *Node
	}{
		{"exp", Exp},
		{"tanh", Tanh},
		{"sigmoid", Sigmoid},
		{"log1p", Log1p},
		{"log", Log},
		{"abs", Abs},
		{"max(x, 0)", func(x *Node) *Node { return Max(x, ZerosLike(x)) }},
		{"x·x", func(x *Node) *Node { return Mul(x, x) }},
		{"x² + 1²", func(x *Node) *Node { // ReduceSum of products, as the divergence guard sums
			v := Stack([]*Node{x, OnesLike(x)}, 1)
			return ReduceSum(Mul(v, v), 1)
		}},
	}
	for _, dtype := range []dtypes.DType{dtypes.Float32, dtypes.Float64} {
		fmt.Printf("   %s\n   %-10s", dtype, "x")
		for _, x := range inputs {
			fmt.Printf(" %11g", x)
		}
		fmt.Println()
		for _, op := range ops {
			out, err := ExecOnceN(be, func(x *Node) []*Node {
				return []*Node{ConvertDType(op.fn(ConvertDType(x, dtype)), dtypes.Float64)}
			}, inputs)
			if err != nil {
				return err
			}
			fmt.Printf("   %-10s", op.name)
			for _, v := range tensors.MustCopyFlatData[float64](out[0]) {
				fmt.Printf(" %11.4g", v)
			}
			fmt.Println()
		}
	}
	return nil
}
