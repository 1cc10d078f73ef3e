//go:build goexperiment.simd

package dpo

// tolBefore is the relative tolerance of the tests that compare float64
// runs with the values of the code before dtype (TestDTypeFloat64ReproducesBefore,
// TestDTypeLegacyModel): 0, the values were measured in this build
// (GOEXPERIMENT=simd, the project default).
const tolBefore = 0
