package datasets_test

import (
	"fmt"
	"strings"

	"github.com/alignlab/alignlab/datasets"
)

func ExampleReadEOTBenchmark() {
	// A 1-D pair at ε = 1: P₀ = N(0, 1), potential g = N(2, 1). The plan's
	// covariance is (1/ε + 1/1)⁻¹ = ½ and its mean ½(2 + x/ε).
	in := `{"epsilon": 1,
 "source": {"weights": [1], "means": [[0]], "covariances": [[[1]]]},
 "potential": {"weights": [1], "means": [[2]], "covariances": [[[1]]]},
 "test_inputs": [[-1], [0], [1]]}`
	b, err := datasets.ReadEOTBenchmark(strings.NewReader(in), "pair.json")
	if err != nil {
		panic(err)
	}
	for _, x := range b.TestInputs {
		m, c := b.Pair.ConditionalMoments(x)
		fmt.Printf("x = %g: mean %g, variance %g\n", x[0], m[0], c[0])
	}
	// Output:
	// x = -1: mean 0.5, variance 0.5
	// x = 0: mean 1, variance 0.5
	// x = 1: mean 1.5, variance 0.5
}
