package datasets_test

import (
	"fmt"
	"strings"

	"github.com/alignlab/alignlab/datasets"
)

// A top-2 list chosen from four offered items keeps the two it left out.
func ExampleRankings_Unranked() {
	r, err := datasets.ReadRankings(strings.NewReader(`{"ranking": ["cedar", "aurora"], "offered": ["aurora", "birch", "cedar", "dune"]}
{"ranking": ["birch", "aurora"]}
`), "top2.jsonl")
	if err != nil {
		fmt.Println(err)
		return
	}
	for l := range r.Lists {
		var ranked, rest []string
		for _, i := range r.Lists[l] {
			ranked = append(ranked, r.Items[i])
		}
		for _, i := range r.Unranked(l) {
			rest = append(rest, r.Items[i])
		}
		fmt.Printf("%v over %v\n", ranked, rest)
	}
	_, err = datasets.ReadRankings(strings.NewReader(`{"ranking": ["a", "e"], "offered": ["a", "b", "c"]}`), "bad.jsonl")
	fmt.Println(err)
	// Output:
	// [cedar aurora] over [birch dune]
	// [birch aurora] over []
	// bad.jsonl:1: offered: want every ranked item among the offered, missing "e" (ranking[1])
}
