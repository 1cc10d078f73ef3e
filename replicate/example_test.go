package replicate_test

import (
	"fmt"
	"math"

	"github.com/alignlab/alignlab/replicate"
)

// A claim is a measured number checked against a band whose source is
// stated: here the average regret bound of Hedge, ln K/(η(T+1)) + η/8. In
// its band it is reproduced; out of it, failed.
func ExampleCheck() {
	k, eta, t := 5.0, 1.0, 1000.0
	bound := math.Log(k)/(eta*(t+1)) + eta/8
	c := replicate.Check("mwu_average_converges", "MWU average iterate converges", 0.0084, replicate.AtMost(bound),
		"Hedge's regret bound").WithPaperText("→ 0")
	fmt.Println(c.Band, c.Status, c.PaperString())
	c = replicate.Check("gap_ratio", "DPO gap ÷ rDPO gap", 0.7, replicate.Above(1), "the paper's ordering")
	fmt.Println(c.Band, c.Status, c.PaperString())
	// Output:
	// ≤ 0.1266 reproduced → 0
	// > 1 failed —
}

// A known difference is a paper's result that does not hold on this
// testbed: its band checks what the testbed shows instead, and the reason
// is written beside it. It is not a pass: it reads "known difference", and
// it fails like any claim when the measurement leaves its band.
func ExampleKnownDifference() {
	c := replicate.KnownDifference("frontier_gain_share", "share of DPO's gap to the optimum closed by TDPO2", 0.14,
		replicate.AtMost(0.5), "this testbed's finding: TDPO2 closes less than half the gap",
		"the paper reports a visible gain; here it is a few hundredths of reward").
		WithPaperText("a visible gain")
	fmt.Println(c.Status, "|", c.PaperString(), "|", c.Why)
	c = replicate.KnownDifference("frontier_gain_share", "share closed by TDPO2", 0.8, replicate.AtMost(0.5), "ours", "no visible gain here")
	fmt.Println(c.Status)
	// Output:
	// known difference | a visible gain | the paper reports a visible gain; here it is a few hundredths of reward
	// failed
}
