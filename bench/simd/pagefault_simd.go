//go:build goexperiment.simd

package main

import (
	"fmt"
	"os"

	"github.com/alignlab/alignlab/algos/backend"
)

// loadAtPageEnd reproduces the Go toolchain bug that scripts/gotoolchain.sh
// fixes (backend.LoadAtPageEnd): with go1.27.3's own simd package the
// process dies with "fatal error: fault".
func loadAtPageEnd() {
	fmt.Println("archsimd.LoadFloat64x8Part of 6 float64 that end at a page boundary (the next page unreadable) ...")
	out, err := backend.LoadAtPageEnd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("loaded 6 elements:", out, "— the toolchain reads only inside the slice")
}
