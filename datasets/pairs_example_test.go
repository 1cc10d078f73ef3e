package datasets_test

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/alignlab/alignlab/datasets"
)

func ExampleReadRewardPairs() {
	in := `{"chosen": [0.3, -1.2, 0.8], "rejected": [0.1, 0.4, -0.5], "strength": 2, "chosen_rating": 3, "rejected_rating": 1}
{"chosen": [1, 1, 0], "rejected": [0, 0, 1], "margin": 1, "weight": 0.5, "chosen_rating": 2, "rejected_rating": 2}`
	p, err := datasets.ReadRewardPairs(strings.NewReader(in), "pairs.jsonl", nil)
	if err != nil {
		panic(err)
	}
	for _, q := range p.Pairs {
		fmt.Printf("chosen %v rejected %v strength %g weight %g ratings %g/%g\n", q.Chosen, q.Rejected, q.Strength, q.Weight, q.ChosenRating, q.RejectedRating)
	}
	_, err = datasets.ReadRewardPairs(strings.NewReader(`{"chosen": [1, 2], "rejected": [1, NaN]}`), "bad.jsonl", nil)
	fmt.Println(err)
	// Output:
	// chosen [0.3 -1.2 0.8] rejected [0.1 0.4 -0.5] strength 2 weight 1 ratings 3/1
	// chosen [1 1 0] rejected [0 0 1] strength 1 weight 0.5 ratings 2/2
	// bad.jsonl:1: rejected[1]: want a finite number, got NaN
}

// Texts become unit vectors of signed hashed word unigrams and bigrams.
// a and b have 11 features each and share 8 (5 words, 3 bigrams), a and c
// share "the": without collisions the cosines are 8/11 and 1/11.
func ExampleHashFeatures() {
	a := datasets.HashFeatures("Simmer the egg for seven minutes.", 1024)
	b := datasets.HashFeatures("simmer the egg for 9 minutes", 1024)
	c := datasets.HashFeatures("Paris is the capital of France.", 1024)
	cos := func(x, y []float64) (s float64) {
		for i := range x {
			s += x[i] * y[i]
		}
		return s
	}
	fmt.Printf("cos(a, b) = %.2f, cos(a, c) = %.2f\n", cos(a, b), cos(a, c))
	// Output:
	// cos(a, b) = 0.73, cos(a, c) = 0.09
}

func ExampleGenerateHelpSteer() {
	train, _, err := datasets.GenerateHelpSteer(datasets.DefaultHelpSteerConfig(), rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		panic(err)
	}
	p := train.Pairs[0]
	fmt.Printf("%d pairs; first: strength %g, ratings %g vs %g, planted Δr* %.2f, flipped %v\n",
		len(train.Pairs), p.Strength, p.ChosenRating, p.RejectedRating, p.TrueDelta(), p.Flipped)
	// Output:
	// 1000 pairs; first: strength 2, ratings 2 vs 1, planted Δr* 1.64, flipped false
}

func ExampleReadRankings() {
	r, err := datasets.ReadRankings(strings.NewReader(`{"ranking": ["aurora", "cedar", "ember"]}
{"ranking": ["ember", "aurora"]}`), "rankings.jsonl")
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Kind, r.Items, r.Lists)
	_, err = datasets.ReadRankings(strings.NewReader(`{"ranking": ["a", "b", "a"]}`), "bad.jsonl")
	fmt.Println(err)
	// Output:
	// items [aurora cedar ember] [[0 1 2] [2 0]]
	// bad.jsonl:1: ranking[2]: want distinct items, got "a" again (ranking[0])
}
