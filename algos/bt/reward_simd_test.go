//go:build goexperiment.simd

package bt

// tolPrevFloat64 is the relative tolerance of
// TestRewardMLPFloat64ReproducesPrevious: 0, its pins were measured in this
// build (GOEXPERIMENT=simd, the project default).
const tolPrevFloat64 = 0
