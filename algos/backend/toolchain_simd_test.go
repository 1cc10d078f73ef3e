//go:build goexperiment.simd

package backend

import (
	"os"
	"os/exec"
	"simd/archsimd"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// The SIMD build needs a Go toolchain whose partial vector loads stay
// inside their slice: go1.27.3's archsimd.Load…Part reads the whole vector,
// and the Go backend's kernels crash the process when a buffer ends at the
// last mapped page of the heap (bench/simd/README.md, section 4). The
// check runs in a child process, because the unfixed load kills it.
func TestToolchainLoadsInsideSlices(t *testing.T) {
	if os.Getenv("ALIGNLAB_LOAD_AT_PAGE_END") == "1" {
		loadAtPageEnd()
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestToolchainLoadsInsideSlices$")
	cmd.Env = append(os.Environ(), "ALIGNLAB_LOAD_AT_PAGE_END=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		first, _, _ := strings.Cut(string(out), "\n")
		t.Fatalf("a SIMD load of 6 float64 that end at a page boundary crashed (%v: %s): this Go toolchain "+
			"reads past the end of short slices; build with the fixed one, PATH=\"$(scripts/gotoolchain.sh):$PATH\"", err, first)
	}
}

// loadAtPageEnd loads 6 float64 that end at the last byte of a mapped
// page whose next page is unreadable.
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
	v, n := archsimd.LoadFloat64x8Part(s)
	out := make([]float64, 8)
	v.Store(out)
	if n != 6 || out[6] != 0 || out[7] != 0 {
		panic("LoadFloat64x8Part loaded the wrong elements")
	}
}
