//go:build !goexperiment.simd

package dpo

// tolBefore is the relative tolerance of the tests that compare float64
// runs with the values of the code before dtype (TestDTypeFloat64ReproducesBefore,
// TestDTypeLegacyModel): their values were measured under GOEXPERIMENT=simd,
// whose exp and tanh kernels differ from the scalar ones in the last bits;
// the scalar build gives them within 7e-15 (measured).
const tolBefore = 1e-12
