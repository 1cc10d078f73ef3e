package datasets

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestReadRankings(t *testing.T) {
	r, err := ReadRankings(strings.NewReader(`{"ranking":["b","a"]}
{"ranking":["c","a","b","d"],"note":"ignored"}
`), "r.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != RankingItems || fmt.Sprint(r.Items) != "[b a c d]" || fmt.Sprint(r.Lists) != "[[0 1] [2 1 0 3]]" {
		t.Errorf("got %+v", r)
	}
	c, err := ReadRankings(strings.NewReader(`{"candidates":[[1,2],[3,4],[5,6]],"rewards":[3,1,1]}
{"candidates":[[0,0],[1,1]],"rewards":[0,-2]}
`), "c.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if c.Kind != RankingCandidates || c.Dim != 2 || c.Len() != 2 || fmt.Sprint(c.Rewards) != "[[3 1 1] [0 -2]]" {
		t.Errorf("got %+v", c)
	}
	for _, src := range []*Rankings{r, c} {
		var buf bytes.Buffer
		if err := WriteRankings(&buf, src); err != nil {
			t.Fatal(err)
		}
		back, err := ReadRankings(&buf, "round-trip")
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(back.Lists, back.Candidates, back.Rewards, back.Items) != fmt.Sprint(src.Lists, src.Candidates, src.Rewards, src.Items) {
			t.Errorf("round trip: got %+v, want %+v", back, src)
		}
	}
}

// Issue 14: a top-k list keeps the set it was chosen from; lines without
// offered stay complete rankings, and items only offered are items.
func TestReadRankingsOffered(t *testing.T) {
	r, err := ReadRankings(strings.NewReader(`{"ranking":["b","a"]}
{"ranking":["c","a"],"offered":["a","b","c","d","e"]}
{"ranking":["a","c"],"offered":["c","a"]}
`), "r.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, got, want string }{
		{"items", fmt.Sprint(r.Items), "[b a c d e]"},
		{"lists", fmt.Sprint(r.Lists), "[[0 1] [2 1] [1 2]]"},
		{"offered", fmt.Sprint(r.Offered), "[[] [1 0 2 3 4] [2 1]]"},
		{"offered sets", fmt.Sprint(r.OfferedSet(0), r.OfferedSet(1), r.OfferedSet(2)), "[0 1] [1 0 2 3 4] [2 1]"},
		{"unranked", fmt.Sprint(r.Unranked(0), r.Unranked(1), r.Unranked(2)), "[] [0 3 4] []"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, c.got, c.want)
		}
	}
	if r.Offered[0] != nil {
		t.Errorf("a line without offered: got offered %v, want nil", r.Offered[0])
	}
	var buf bytes.Buffer
	if err := WriteRankings(&buf, r); err != nil {
		t.Fatal(err)
	}
	back, err := ReadRankings(bytes.NewReader(buf.Bytes()), "round-trip")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(back.Items, back.Lists, back.Offered) != fmt.Sprint(r.Items, r.Lists, r.Offered) {
		t.Errorf("round trip:\n%s", buf.Bytes())
	}
	plain, err := ReadRankings(strings.NewReader(`{"ranking":["a","b"]}`), "p.jsonl")
	if err != nil || plain.Offered != nil {
		t.Errorf("no offered anywhere: got %v, %v; want Offered nil", plain.Offered, err)
	}
}

func TestReadRankingsErrors(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"duplicate", `{"ranking":["a","b","c","b"]}`, `r.jsonl:1: ranking[3]: want distinct items, got "b" again (ranking[1])`},
		{"one item", `{"ranking":["a"]}`, "r.jsonl:1: ranking: want at least 2 items, got 1"},
		{"empty ranking", `{"ranking":[]}`, "r.jsonl:1: ranking: want at least 2 items, got 0"},
		{"empty name", `{"ranking":["a",""]}`, `r.jsonl:1: ranking[1]: want a non-empty item name, got ""`},
		{"number name", `{"ranking":["a",3]}`, "r.jsonl:1: ranking[1]: want an item name (a string), got number 3"},
		{"not a list", `{"ranking":"a > b"}`, "r.jsonl:1: ranking: want an array of item names, best first, got string"},
		{"neither", `{"items":["a","b"]}`, "r.jsonl:1: ranking: missing: want ranking (item names, best first) or candidates"},
		{"both", `{"ranking":["a","b"],"candidates":[[1],[2]]}`, "r.jsonl:1: candidates: want ranking or candidates on a line, not both"},
		{"kind changes", "{\"ranking\":[\"a\",\"b\"]}\n{\"candidates\":[[1],[2]]}", "r.jsonl:2: candidates: want items on every line, as on the first line"},
		{"one candidate", `{"candidates":[[1,2]]}`, "r.jsonl:1: candidates: want at least 2 candidates, got 1"},
		{"ragged", `{"candidates":[[1,2],[3,4],[5]]}`, "r.jsonl:1: candidates[2]: want 2 numbers (the file's feature dimension), got 1"},
		{"ragged across lines", "{\"candidates\":[[1,2],[3,4]]}\n{\"candidates\":[[1,2,3],[3,4,5]]}", "r.jsonl:2: candidates[0]: want 2 numbers (the file's feature dimension), got 3"},
		{"nan", `{"candidates":[[1,2],[NaN,4]]}`, "r.jsonl:1: candidates[1][0]: want a finite number, got NaN"},
		{"reward nan", `{"candidates":[[1],[2]],"rewards":[1,NaN]}`, "r.jsonl:1: rewards[1]: want a finite number, got NaN"},
		{"rewards length", `{"candidates":[[1],[2]],"rewards":[1]}`, "r.jsonl:1: rewards: want 2 numbers (one per candidate), got 1"},
		{"rewards increase", `{"candidates":[[1],[2],[3]],"rewards":[1,0.5,0.7]}`, "r.jsonl:1: rewards[2]: want rewards non-increasing along the list (best first), got 0.7 after 0.5"},
		{"rewards vanish", "{\"candidates\":[[1],[2]],\"rewards\":[1,0]}\n{\"candidates\":[[1],[2]]}", "r.jsonl:2: rewards: missing: want rewards on every line"},
		{"empty file", "", "r.jsonl: no rankings: want one JSON object per line"},
		{"offered lacks a ranked item", `{"ranking":["a","c"],"offered":["a","b","d"]}`, `r.jsonl:1: offered: want every ranked item among the offered, missing "c" (ranking[1])`},
		{"offered duplicate", "{\"ranking\":[\"a\",\"b\"]}\n{\"ranking\":[\"a\",\"b\"],\"offered\":[\"a\",\"b\",\"c\",\"b\"]}", `r.jsonl:2: offered[3]: want distinct items, got "b" again (offered[1])`},
		{"offered not a list", `{"ranking":["a","b"],"offered":"a b c"}`, "r.jsonl:1: offered: want an array of item names, the set the ranking was chosen from, got string"},
		{"offered empty name", `{"ranking":["a","b"],"offered":["a","b",""]}`, `r.jsonl:1: offered[2]: want a non-empty item name, got ""`},
		{"offered number", `{"ranking":["a","b"],"offered":["a","b",7]}`, "r.jsonl:1: offered[2]: want an item name (a string), got number 7"},
		{"offered with candidates", `{"candidates":[[1],[2]],"offered":["a","b"]}`, "r.jsonl:1: offered: want offered only with ranking (named items), not with candidates"},
	} {
		_, err := ReadRankings(strings.NewReader(c.in), "r.jsonl")
		var de *Error
		if !errors.As(err, &de) || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: got %v, want a *datasets.Error starting %q", c.name, err, c.want)
		}
	}
}

// Plackett–Luce draws: with 3 items ranked in full, item i comes first with
// probability γ_i/Σγ, and i ≻ j ≻ k with Π_k γ_{ik}/Σ_{j≥k} γ_{ij}.
func TestGeneratePLRankings(t *testing.T) {
	r, err := GeneratePLRankings(PLConfig{Items: 3, Rankings: 40000, Length: 3, Spread: 1}, rand.New(rand.NewPCG(7, 7)))
	if err != nil {
		t.Fatal(err)
	}
	g := make([]float64, 3)
	sum := 0.0
	for i, th := range r.Truth.Theta {
		g[i] = math.Exp(th)
		sum += g[i]
	}
	first := make([]float64, 3)
	full := map[string]float64{}
	for _, l := range r.Lists {
		first[l[0]]++
		full[fmt.Sprint(l)]++
	}
	n := float64(len(r.Lists))
	for i := range first {
		// 4 standard errors of a share over 40,000 draws: ≤ 0.01.
		if want := g[i] / sum; math.Abs(first[i]/n-want) > 0.01 {
			t.Errorf("item %d first %.4f of the time, want %.4f", i, first[i]/n, want)
		}
	}
	l := []int{2, 0, 1}
	want := g[2] / sum * g[0] / (g[0] + g[1])
	if got := full[fmt.Sprint(l)] / n; math.Abs(got-want) > 0.01 {
		t.Errorf("P(%v) %.4f, want %.4f", l, got, want)
	}
	if _, err := GeneratePLRankings(PLConfig{Items: 3, Rankings: 1, Length: 4, Spread: 1}, rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Error("length > items: no error")
	}
}

// Top-2 of 3 offered: the first is i with probability γ_i/Σ_S γ, the pair
// (i, j) with γ_i/Σ_S γ · γ_j/(Σ_S γ − γ_i); the offered set is recorded.
func TestGeneratePLRankingsOffered(t *testing.T) {
	const share = 0.01 // 4 standard errors of a share over 40,000 draws
	r, err := GeneratePLRankings(PLConfig{Items: 3, Rankings: 40000, Length: 2, Offered: 3, Spread: 1}, rand.New(rand.NewPCG(7, 8)))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Offered) != len(r.Lists) || fmt.Sprint(r.Offered[0]) != "[0 1 2]" || fmt.Sprint(r.Unranked(0)) != fmt.Sprint([]int{3 - r.Lists[0][0] - r.Lists[0][1]}) {
		t.Fatalf("offered %v, list %v", r.Offered[0], r.Lists[0])
	}
	g := make([]float64, 3)
	sum := 0.0
	for i, th := range r.Truth.Theta {
		g[i] = math.Exp(th)
		sum += g[i]
	}
	pairs := map[[2]int]float64{}
	for _, l := range r.Lists {
		pairs[[2]int{l[0], l[1]}]++
	}
	for i := range 3 {
		for j := range 3 {
			if i == j {
				continue
			}
			want := g[i] / sum * g[j] / (sum - g[i])
			if got := pairs[[2]int{i, j}] / float64(len(r.Lists)); math.Abs(got-want) > share {
				t.Errorf("P(%d ≻ %d on top) %.4f, want %.4f", i, j, got, want)
			}
		}
	}
	for _, bad := range []int{1, 4} {
		if _, err := GeneratePLRankings(PLConfig{Items: 3, Rankings: 1, Length: 2, Offered: bad, Spread: 1}, rand.New(rand.NewPCG(1, 1))); err == nil {
			t.Errorf("offered %d: no error", bad)
		}
	}
	full, err := GeneratePLRankings(PLConfig{Items: 4, Rankings: 3, Length: 3, Offered: 3, Spread: 1}, rand.New(rand.NewPCG(1, 1)))
	if err != nil || full.Offered != nil {
		t.Errorf("offered = length: got offered %v, %v; want complete rankings", full.Offered, err)
	}
}

func TestGenerateCandidateRankings(t *testing.T) {
	train, test, err := GenerateCandidateRankings(CandidateRankingsConfig{Dim: 4, Lists: 50, TestLists: 5, Candidates: 5, Scale: 2, RewardNoise: 0}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 50 || test.Len() != 5 || train.Truth.W == nil {
		t.Fatalf("got %d and %d lists", train.Len(), test.Len())
	}
	for l, cands := range train.Candidates {
		for i, phi := range cands {
			// Without reward noise the rewards are r* = W·φ, sorted.
			if r := dot(train.Truth.W, phi); math.Abs(r-train.Rewards[l][i]) > 1e-12 || train.Truth.TrueRewards[l][i] != r {
				t.Fatalf("list %d candidate %d: reward %v, r* %v", l, i, train.Rewards[l][i], r)
			}
			if i > 0 && train.Rewards[l][i] > train.Rewards[l][i-1] {
				t.Fatalf("list %d not sorted: %v", l, train.Rewards[l])
			}
		}
	}
}
