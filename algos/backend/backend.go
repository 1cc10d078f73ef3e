// Package backend creates the GoMLX compute backend that algos/ plugins run
// on, from the configuration kernel.Backend() resolves ("go" unless
// GOMLX_BACKEND says otherwise).
//
// Only the pure-Go backend is compiled in by default: it needs nothing
// installed and never downloads. XLA (CPU or CUDA) is an opt-in for users who
// have the PJRT plugin: build with -tags xla (see xla.go).
//
// "go", the default, is GoMLX's pure-Go backend configured as
// GoDefaultConfig: a graph's ops run one at a time and each large op (a
// matmul) is split over all cores. GoMLX's own default runs independent
// ops concurrently instead, and then a matmul uses one core: 1024³ float32
// at 93 GFLOP/s against 163 on this 2-core machine (simd build), while
// training steps measured the same either way (bench/matmul,
// bench/dpo). "go:ops_parallel" asks for GoMLX's default.
//
// On this backend (GoMLX v0.28.16), graph variables are baked in as
// constants unless the graph is in training mode: a hand-written training
// step must call scope.SetTraining(g, true), or its updates vanish after the
// first step. See docs/writing-a-plugin.md.
package backend

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend" // the default, pure Go
)

// GoDefaultConfig is the configuration Get creates for "go".
const GoDefaultConfig = "go:ops_sequential"

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
		create = GoDefaultConfig
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
