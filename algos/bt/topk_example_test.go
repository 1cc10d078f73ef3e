package bt_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/alignlab/alignlab/algos/bt"
	"github.com/alignlab/alignlab/datasets"
)

// The top 2 of four offered items, strengths γ = 4, 2, 1, 1: a first
// (4/8), then b of the rest (2/4), so P = 1/4. The same two read as a
// complete ranking of a and b would have P = 4/6.
func ExamplePLLogLikelihood_topK() {
	theta := []float64{math.Log(4), math.Log(2), 0, 0}
	items := []string{"a", "b", "c", "d"}
	topK := &datasets.Rankings{Kind: datasets.RankingItems, Items: items, Lists: [][]int{{0, 1}}, Offered: [][]int{{0, 1, 2, 3}}}
	complete := &datasets.Rankings{Kind: datasets.RankingItems, Items: items, Lists: [][]int{{0, 1}}}
	fmt.Printf("top 2 of 4: P = %.4f\n", math.Exp(bt.PLLogLikelihood(topK, theta)))
	fmt.Printf("complete:   P = %.4f\n", math.Exp(bt.PLLogLikelihood(complete, theta)))
	// Output:
	// top 2 of 4: P = 0.2500
	// complete:   P = 0.6667
}

// A plain leaderboard CSV (model, score) is read as it is; its format is
// told by its header.
func ExampleLoadLeaderboard() {
	dir, err := os.MkdirTemp("", "leaderboard")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "board.csv")
	os.WriteFile(path, []byte("model,score\naurora,1210\ncedar,1175\nember,1090\n"), 0o644)
	lb, err := bt.LoadLeaderboard(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(lb.Format, lb.Models, lb.Scores)
	// Output:
	// leaderboard csv [aurora cedar ember] [1210 1175 1090]
}
