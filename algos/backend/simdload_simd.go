//go:build goexperiment.simd

package backend

import (
	"simd/archsimd"
	"syscall"
	"unsafe"
)

// LoadAtPageEnd loads, with archsimd.LoadFloat64x8Part, the float64s 1 to
// 6 placed at the end of a mapped page whose next page is unreadable, and
// returns the vector's 8 lanes: 1 to 6, then zeros. go1.27.3's own
// LoadFloat64x8Part loads all 8 lanes and masks them afterwards, so it
// kills the process ("fatal error: fault"), as it killed backend kernels
// whose buffer ended at the heap's last mapped page; the toolchain of
// scripts/gotoolchain.sh loads only the slice. Used by
// TestToolchainLoadsInsideSlices and bench/simd -pagefault.
func LoadAtPageEnd() ([]float64, error) {
	page := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 2*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, err
	}
	defer syscall.Munmap(mem)
	if err := syscall.Mprotect(mem[page:], syscall.PROT_NONE); err != nil {
		return nil, err
	}
	all := unsafe.Slice((*float64)(unsafe.Pointer(&mem[0])), page/8)
	s := all[len(all)-6:]
	for i := range s {
		s[i] = float64(i + 1)
	}
	v, _ := archsimd.LoadFloat64x8Part(s)
	out := make([]float64, 8)
	v.Store(out)
	return out, nil
}
