// Command matmul measures GoMLX's pure-Go backend on one n×n×n float32
// matrix product (1024³ by default): GFLOP/s at the backend configuration
// given, for comparison with numpy/PyTorch (bench/matmul/run.sh).
//
//	go run ./bench/matmul [-n 1024] [-config go] [-repeat 7]
//
// Run it under GOMAXPROCS=1 and 2, with and without GOEXPERIMENT=simd.
package main

import (
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"runtime"
	"sort"
	"time"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/alignlab/alignlab/algos/backend"
	"github.com/alignlab/alignlab/bench/internal/measure"
)

func main() {
	n := flag.Int("n", 1024, "matrix size")
	config := flag.String("config", "go", "backend configuration (GOMLX_BACKEND syntax)")
	repeat := flag.Int("repeat", 7, "timed products (the median is reported)")
	prof := flag.String("cpuprofile", "", "write a CPU profile of the timed products here")
	flag.Parse()
	b, err := backend.Get(*config)
	if err != nil {
		log.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	data := func() *tensors.Tensor {
		v := make([]float32, *n**n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return tensors.FromFlatDataAndDimensions(v, *n, *n)
	}
	x, y := data(), data()
	exec := graph.MustNewExec(b, func(a, c *graph.Node) *graph.Node { return graph.MatMul(a, c) })
	exec.MustExec(x, y) // compile
	defer measure.CPUProfile(*prof)()
	var walls, cpus []float64
	for i := 0; i < *repeat; i++ {
		c0 := measure.CPUSeconds()
		t0 := time.Now()
		out := exec.MustExec(x, y)
		out[0].MustConstFlatData(func(any) {}) // wait for the result
		walls = append(walls, time.Since(t0).Seconds())
		cpus = append(cpus, measure.CPUSeconds()-c0)
	}
	sort.Float64s(walls)
	sort.Float64s(cpus)
	w, c := walls[len(walls)/2], cpus[len(cpus)/2]
	flops := 2 * float64(*n) * float64(*n) * float64(*n)
	fmt.Printf("matmul %d³ float32, backend %q, GOMAXPROCS %d: %.1f GFLOP/s (median of %d: %.1f ms wall, %.1f ms CPU, %.2f cores)\n",
		*n, *config, runtime.GOMAXPROCS(0), flops/w/1e9, *repeat, w*1e3, c*1e3, c/w)
}
