package pairloss_test

import (
	"fmt"

	"github.com/alignlab/alignlab/algos/pairloss"
)

// The losses of one pair whose implicit reward difference is h = 2, at
// β = 0.5 and an assumed flip rate of 0.2.
func ExampleLoss_Float64() {
	const h = 2.0
	for _, l := range []pairloss.Loss{
		{Kind: pairloss.Logistic, Beta: 0.5},
		{Kind: pairloss.Conservative, Beta: 0.5, Epsilon: 0.2},
		{Kind: pairloss.Robust, Beta: 0.5, Epsilon: 0.2},
		pairloss.IPO(0.5),
		{Kind: pairloss.Margin, Beta: 0.5, Margin: 1},
	} {
		fmt.Printf("%-12s %.4f\n", l.Kind, l.Float64(h))
	}
	// Output:
	// logistic     0.3133
	// conservative 0.5133
	// robust       -0.0201
	// square       1.0000
	// margin       0.6931
}
