//go:build goexperiment.simd

package main

import (
	"fmt"
	"simd/archsimd"
	"syscall"
	"unsafe"
)

// loadAtPageEnd is the reproduction of the Go toolchain bug that
// backend.padHeap works around: archsimd.LoadFloat64x8Part of 6 float64
// that end at the last byte of a mapped page, the next page unreadable.
// The function documents that it loads fewer than 8 elements; it loads
// all 8 and masks them afterwards, and the process dies with "fatal
// error: fault" (go1.27.3, go1.27.4).
func loadAtPageEnd() {
	page := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 2*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		panic(err)
	}
	if err := syscall.Mprotect(mem[page:], syscall.PROT_NONE); err != nil {
		panic(err)
	}
	all := unsafe.Slice((*float64)(unsafe.Pointer(&mem[0])), page/8)
	s := all[len(all)-6:]
	for i := range s {
		s[i] = float64(i + 1)
	}
	fmt.Println("archsimd.LoadFloat64x8Part of 6 float64 that end at a page boundary (the next page unreadable) ...")
	v, n := archsimd.LoadFloat64x8Part(s)
	out := make([]float64, 8)
	v.Store(out)
	fmt.Println("loaded", n, "elements:", out, "— the toolchain reads only inside the slice")
}
