// Package backend creates the GoMLX compute backend that algos/ plugins run
// on, from the configuration kernel.Backend() resolves ("go" unless
// GOMLX_BACKEND says otherwise).
//
// Only the pure-Go backend is compiled in by default: it needs nothing
// installed and never downloads. XLA (CPU or CUDA) is an opt-in for users who
// have the PJRT plugin: build with -tags xla (see xla.go).
//
// "go", the default, is GoMLX's pure-Go backend configured by GoConfig:
// with one core (GOMAXPROCS = 1) a graph's ops run one at a time; with
// more, independent ops run concurrently on GOMAXPROCS executors and a
// large op (a matmul) is split over the cores the executors leave free.
// GoMLX's own default ("go:ops_parallel") starts 8 executors, capped at
// twice GOMAXPROCS, which fill the pool that ops split into: a 1024³
// float32 matmul then runs on one core (94 GFLOP/s against 176 on this
// 2-core machine, simd build, bench/matmul). With GOMAXPROCS executors
// the matmul keeps both cores, and the transformer's training step, whose
// backward pass has independent branches, takes 31 ms instead of 45 at 2
// threads (bench/lm); one op at a time ("go:ops_sequential") gives the
// matmul both cores but not the step.
//
// On this backend (GoMLX v0.28.16), graph variables are baked in as
// constants unless the graph is in training mode: a hand-written training
// step must call scope.SetTraining(g, true), or its updates vanish after the
// first step. See docs/writing-a-plugin.md.
package backend

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend" // the default, pure Go
)

// GoConfig returns the configuration Get creates for "go", for the
// current GOMAXPROCS: "go:ops_sequential" for 1, else
// "go:ops_parallel,num_executors=N" with N = GOMAXPROCS.
func GoConfig() string {
	n := runtime.GOMAXPROCS(0)
	if n <= 1 {
		return "go:ops_sequential"
	}
	return fmt.Sprintf("go:ops_parallel,num_executors=%d", n)
}

var (
	mu    sync.Mutex
	cache = map[string]compute.Backend{}
)

// Get returns the backend for config, creating it on first use and sharing
// it afterwards (backends are safe for concurrent use and costly to create).
func Get(config string) (b compute.Backend, err error) {
	if config == "" {
		config = "go"
	}
	mu.Lock()
	defer mu.Unlock()
	if b, ok := cache[config]; ok {
		return b, nil
	}
	name, _, _ := strings.Cut(config, ":")
	if !registered(name) {
		list := compute.List()
		sort.Strings(list)
		return nil, fmt.Errorf("backend: GOMLX_BACKEND=%q: backend %q is not compiled in (available: %s; XLA needs -tags xla and its PJRT plugin)",
			config, name, strings.Join(list, ", "))
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("backend: creating %q: %v", config, r)
		}
	}()
	create := config
	if create == "go" {
		create = GoConfig()
	}
	b, err = compute.NewWithConfig(create)
	if err != nil {
		return nil, fmt.Errorf("backend: creating %q: %w", config, err)
	}
	cache[config] = b
	return b, nil
}

func registered(name string) bool {
	for _, n := range compute.List() {
		if n == name {
			return true
		}
	}
	return false
}
