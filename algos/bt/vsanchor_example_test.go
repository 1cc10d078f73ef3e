package bt_test

import (
	"fmt"

	"github.com/alignlab/alignlab/algos/bt"
)

// The predicted win rate against an anchor from Elo ratings: 400 points
// above it is 10:1.
func ExampleVsAnchor() {
	rating := []float64{1400, 1000, 1000 - 400*0.30103} // the last: 1:2 against the anchor
	for i, p := range bt.VsAnchor(rating, 1) {
		fmt.Printf("model %d: %.4f\n", i, p)
	}
	// Output:
	// model 0: 0.9091
	// model 1: 0.5000
	// model 2: 0.3333
}
