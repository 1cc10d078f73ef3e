package replicate_test

import (
	"fmt"
	"math"

	"github.com/alignlab/alignlab/replicate"
)

// A claim is a measured number checked against a band whose source is
// stated: here the average regret bound of Hedge, ln K/(η(T+1)) + η/8.
func ExampleCheck() {
	k, eta, t := 5.0, 1.0, 1000.0
	bound := math.Log(k)/(eta*(t+1)) + eta/8
	c := replicate.Check("mwu_average_converges", "MWU average iterate converges", 0.0084, replicate.AtMost(bound),
		"Hedge's regret bound")
	fmt.Println(c.Band, c.Pass)
	c = replicate.Check("gap_ratio", "DPO gap ÷ rDPO gap", 0.7, replicate.Above(1), "the paper's ordering")
	fmt.Println(c.Band, c.Pass)
	// Output:
	// ≤ 0.1266 true
	// > 1 false
}
