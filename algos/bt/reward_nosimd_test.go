//go:build !goexperiment.simd

package bt

// tolPrevFloat64 is the relative tolerance of
// TestRewardMLPFloat64ReproducesPrevious: its pins were measured under
// GOEXPERIMENT=simd, and the scalar kernels give those finals within
// 2e-14 (measured).
const tolPrevFloat64 = 1e-12
