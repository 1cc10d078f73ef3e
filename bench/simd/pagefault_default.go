//go:build !goexperiment.simd

package main

import "fmt"

// loadAtPageEnd needs the SIMD build (see pagefault_simd.go).
func loadAtPageEnd() {
	fmt.Println("-pagefault reproduces a bug of GOEXPERIMENT=simd; run it in that build")
}
