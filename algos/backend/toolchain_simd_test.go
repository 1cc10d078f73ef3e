//go:build goexperiment.simd

package backend

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The SIMD build needs a Go toolchain whose partial vector loads stay
// inside their slice: go1.27.3's archsimd.Load…Part reads the whole vector,
// and the Go backend's kernels crash the process when a buffer ends at the
// last mapped page of the heap (bench/simd/README.md, section 4). The
// check runs in a child process, because the unfixed load kills it.
func TestToolchainLoadsInsideSlices(t *testing.T) {
	if os.Getenv("ALIGNLAB_LOAD_AT_PAGE_END") == "1" {
		got, err := LoadAtPageEnd()
		if err != nil {
			t.Fatal(err)
		}
		if want := []float64{1, 2, 3, 4, 5, 6, 0, 0}; !slices.Equal(got, want) {
			t.Fatalf("LoadFloat64x8Part loaded %v, want %v", got, want)
		}
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestToolchainLoadsInsideSlices$")
	cmd.Env = append(os.Environ(), "ALIGNLAB_LOAD_AT_PAGE_END=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "PASS") {
		first, _, _ := strings.Cut(string(out), "\n")
		t.Fatalf("a SIMD load of 6 float64 that end at a page boundary crashed (%v: %s): this Go toolchain "+
			"reads past the end of short slices; build with the fixed one, PATH=\"$(scripts/gotoolchain.sh):$PATH\"", err, first)
	}
}
