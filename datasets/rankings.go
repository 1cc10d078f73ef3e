package datasets

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
)

// The kinds of Rankings.
const (
	// RankingItems are rankings of named items (models, answers by name).
	RankingItems = "items"
	// RankingCandidates are rankings of candidates described by feature
	// vectors, optionally with the rewards they were ranked by.
	RankingCandidates = "candidates"
)

// Rankings are ranked lists, best first, of any length ≥ 2: either of named
// items (Kind RankingItems: Items, Lists, Offered) or of candidate responses
// given by feature vectors (Kind RankingCandidates: Dim, Candidates, Rewards).
//
// A ranking of items is either complete (the order of all its items) or the
// top k of a larger offered set: π_1 ≻ … ≻ π_k chosen from S ⊋ {π_1 … π_k},
// the rest of S unranked below them. Under Plackett–Luce with log-strengths
// θ the top-k list has probability
//
//	Π_{j=1}^{k} exp(θ_{π_j}) / Σ_{m ∈ S \ {π_1 … π_{j−1}}} exp(θ_m),
//
// which for S = {π_1 … π_k} is the probability of the complete ranking.
type Rankings struct {
	Kind  string
	Items []string // item names, in order of first appearance
	Lists [][]int  // per ranking, indices into Items, best first
	// Offered holds, per ranking, the indices of the offered set S it was
	// chosen from (its ranked items included), or nil for a complete
	// ranking of its items (S = the ranked items). Offered is nil when no
	// ranking has an offered set. Use OfferedSet to read it.
	Offered [][]int

	Dim        int           // length of every candidate vector
	Candidates [][][]float64 // per list, per position (best first), the features
	// Rewards are, per list, the scores the candidates were ranked by
	// (non-increasing); nil when the data have none.
	Rewards [][]float64

	// Truth is the planted model of generated rankings; nil for loaded ones.
	Truth *RankingTruth
}

// Len is the number of ranked lists.
func (r *Rankings) Len() int {
	if r.Kind == RankingCandidates {
		return len(r.Candidates)
	}
	return len(r.Lists)
}

// OfferedSet returns the offered set S of ranking l of items: Offered[l]
// when it has one, else the ranked items Lists[l] (a complete ranking).
func (r *Rankings) OfferedSet(l int) []int {
	if r.Offered != nil && r.Offered[l] != nil {
		return r.Offered[l]
	}
	return r.Lists[l]
}

// Unranked returns the items of ranking l's offered set that it does not
// rank (S \ {π_1 … π_k}, in the order of S): nil for a complete ranking.
func (r *Rankings) Unranked(l int) []int {
	if r.Offered == nil || r.Offered[l] == nil || len(r.Offered[l]) == len(r.Lists[l]) {
		return nil
	}
	ranked := make(map[int]bool, len(r.Lists[l]))
	for _, i := range r.Lists[l] {
		ranked[i] = true
	}
	var out []int
	for _, i := range r.Offered[l] {
		if !ranked[i] {
			out = append(out, i)
		}
	}
	return out
}

// RankingTruth is the planted model behind generated rankings.
type RankingTruth struct {
	// Theta are the items' planted log-strengths (RankingItems), by index.
	Theta []float64
	// W is the planted reward direction of candidates, r*(y) = W·φ(y)
	// (RankingCandidates); TrueRewards are r* per list and position.
	W           []float64
	TrueRewards [][]float64
}

// PLConfig configures GeneratePLRankings.
type PLConfig struct {
	Items    int     // number of items ≥ 2
	Rankings int     // rankings ≥ 1
	Length   int     // items per ranking, 2 ≤ Length ≤ Items
	Spread   float64 // standard deviation of the planted log-strengths > 0
	// Offered is the size of the offered set each ranking is the top
	// Length of, Length ≤ Offered ≤ Items; 0 (or Length) draws complete
	// rankings of Length items.
	Offered int
}

// GeneratePLRankings draws rankings from a Plackett–Luce model with planted
// log-strengths θ ~ N(0, Spread²) (centered to mean 0) of items named
// "item-01", "item-02", …: each ranking offers a uniformly random subset S
// of Offered items (Length when Offered is 0), orders them by θ_i + Gumbel
// noise, which is an exact Plackett–Luce draw, P(i1 ≻ … ≻ iL) =
// Π_k γ_{ik} / Σ_{j ≥ k} γ_{ij} with γ = e^θ, and keeps the first Length:
// an exact top-Length draw from S (Offered records S when it is larger).
func GeneratePLRankings(cfg PLConfig, r *rand.Rand) (*Rankings, error) {
	switch {
	case cfg.Items < 2:
		return nil, fmt.Errorf("datasets: rankings: want at least 2 items, got %d", cfg.Items)
	case cfg.Rankings < 1:
		return nil, fmt.Errorf("datasets: rankings: want at least 1 ranking, got %d", cfg.Rankings)
	case cfg.Length < 2 || cfg.Length > cfg.Items:
		return nil, fmt.Errorf("datasets: rankings: want a ranking length in [2, %d], got %d", cfg.Items, cfg.Length)
	case !(cfg.Spread > 0) || math.IsInf(cfg.Spread, 0):
		return nil, fmt.Errorf("datasets: rankings: want a finite spread > 0, got %v", cfg.Spread)
	case cfg.Offered != 0 && (cfg.Offered < cfg.Length || cfg.Offered > cfg.Items):
		return nil, fmt.Errorf("datasets: rankings: want an offered set size in [%d, %d] (list length to items) or 0, got %d", cfg.Length, cfg.Items, cfg.Offered)
	}
	offered := cfg.Offered
	if offered == 0 {
		offered = cfg.Length
	}
	k := cfg.Items
	out := &Rankings{Kind: RankingItems, Items: make([]string, k), Lists: make([][]int, cfg.Rankings)}
	width := len(strconv.Itoa(k))
	if width < 2 {
		width = 2
	}
	for i := range out.Items {
		out.Items[i] = fmt.Sprintf("item-%0*d", width, i+1)
	}
	theta := make([]float64, k)
	mean := 0.0
	for i := range theta {
		theta[i] = cfg.Spread * r.NormFloat64()
		mean += theta[i] / float64(k)
	}
	for i := range theta {
		theta[i] -= mean
	}
	out.Truth = &RankingTruth{Theta: theta}
	if offered > cfg.Length {
		out.Offered = make([][]int, cfg.Rankings)
	}
	perm := make([]int, k)
	for i := range perm {
		perm[i] = i
	}
	for n := range out.Lists {
		// Partial Fisher–Yates: the first offered entries are a uniform subset.
		for i := 0; i < offered; i++ {
			j := i + r.IntN(k-i)
			perm[i], perm[j] = perm[j], perm[i]
		}
		out.Lists[n] = plOrder(perm[:offered], func(i int) float64 { return theta[i] }, r)[:cfg.Length]
		if out.Offered != nil {
			out.Offered[n] = append([]int(nil), perm[:offered]...)
			sort.Ints(out.Offered[n])
		}
	}
	return out, nil
}

// plOrder returns idx ordered by utility + Gumbel noise, highest first.
func plOrder(idx []int, utility func(int) float64, r *rand.Rand) []int {
	keys := make([]float64, len(idx))
	order := make([]int, len(idx))
	for i, it := range idx {
		keys[i] = utility(it) + rankGumbel(r)
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return keys[order[a]] > keys[order[b]] })
	out := make([]int, len(idx))
	for i, o := range order {
		out[i] = idx[o]
	}
	return out
}

// rankGumbel draws a standard Gumbel variate, −log(−log U).
func rankGumbel(r *rand.Rand) float64 {
	u := r.Float64()
	for u == 0 {
		u = r.Float64()
	}
	return -math.Log(-math.Log(u))
}

// CandidateRankingsConfig configures GenerateCandidateRankings.
type CandidateRankingsConfig struct {
	Dim        int     // feature dimension ≥ 1
	Lists      int     // training lists ≥ 1
	TestLists  int     // held-out lists ≥ 1
	Candidates int     // candidates per list ≥ 2
	Scale      float64 // standard deviation of the planted reward r* > 0
	// RewardNoise is the standard deviation of the reward model's error:
	// lists are ranked by r_φ = r* + RewardNoise·ε, as PRO ranks by a
	// learned reward model, and Rewards hold r_φ.
	RewardNoise float64
}

// GenerateCandidateRankings draws PRO-style ranked lists: a planted reward
// r*(y) = W·φ(y) with W = Scale·u (u a uniform unit vector), then per list
// Candidates responses φ ~ N(0, I_Dim), scored by a noisy reward model
// r_φ = r* + RewardNoise·ε and ranked by r_φ, best first; Rewards are r_φ and
// Truth.TrueRewards r*. Held-out lists are drawn the same way.
func GenerateCandidateRankings(cfg CandidateRankingsConfig, r *rand.Rand) (train, test *Rankings, err error) {
	switch {
	case cfg.Dim < 1:
		return nil, nil, fmt.Errorf("datasets: rankings: dimension must be ≥ 1, got %d", cfg.Dim)
	case cfg.Lists < 1 || cfg.TestLists < 1:
		return nil, nil, fmt.Errorf("datasets: rankings: lists and test lists must be ≥ 1, got %d and %d", cfg.Lists, cfg.TestLists)
	case cfg.Candidates < 2:
		return nil, nil, fmt.Errorf("datasets: rankings: want at least 2 candidates per list, got %d", cfg.Candidates)
	case !(cfg.Scale > 0) || math.IsInf(cfg.Scale, 0):
		return nil, nil, fmt.Errorf("datasets: rankings: reward scale must be finite and > 0, got %v", cfg.Scale)
	case !(cfg.RewardNoise >= 0) || math.IsInf(cfg.RewardNoise, 0):
		return nil, nil, fmt.Errorf("datasets: rankings: reward noise must be finite and ≥ 0, got %v", cfg.RewardNoise)
	}
	truth := plantReward(RewardPairsConfig{Dim: cfg.Dim, Shape: RewardLinear, Scale: cfg.Scale}, r)
	w := make([]float64, cfg.Dim)
	for i, u := range truth.U {
		w[i] = cfg.Scale * u
	}
	draw := func(n int) *Rankings {
		out := &Rankings{Kind: RankingCandidates, Dim: cfg.Dim,
			Candidates: make([][][]float64, n), Rewards: make([][]float64, n),
			Truth: &RankingTruth{W: w, TrueRewards: make([][]float64, n)}}
		for l := range out.Candidates {
			phis := make([][]float64, cfg.Candidates)
			score := make([]float64, cfg.Candidates)
			truth := make([]float64, cfg.Candidates)
			order := make([]int, cfg.Candidates)
			for c := range phis {
				phis[c] = drawResponse(cfg.Dim, r)
				truth[c] = dot(w, phis[c])
				score[c] = truth[c] + cfg.RewardNoise*r.NormFloat64()
				order[c] = c
			}
			sort.SliceStable(order, func(a, b int) bool { return score[order[a]] > score[order[b]] })
			out.Candidates[l] = make([][]float64, cfg.Candidates)
			out.Rewards[l] = make([]float64, cfg.Candidates)
			out.Truth.TrueRewards[l] = make([]float64, cfg.Candidates)
			for pos, c := range order {
				out.Candidates[l][pos] = phis[c]
				out.Rewards[l][pos] = score[c]
				out.Truth.TrueRewards[l][pos] = truth[c]
			}
		}
		return out
	}
	return draw(cfg.Lists), draw(cfg.TestLists), nil
}

// LoadRankings reads ranked lists, JSON Lines, one list per line, best
// first, all lines of one kind:
//
//	{"ranking": ["model-a", "model-c", "model-b"]}
//	{"ranking": ["model-c", "model-a"], "offered": ["model-a", "model-b", "model-c", "model-d"]}
//	{"candidates": [[0.1, 2.0], [0.3, -1], [1, 1]], "rewards": [2.5, 0.4, -1]}
//
// A ranking names at least 2 distinct items (non-empty strings). Offered,
// optional per line, is the set the ranking is the top of: distinct item
// names that include every ranked item; without it the ranking is complete
// (see Rankings). Items that are only offered are items too. Candidates
// are at least 2 vectors of finite numbers, all of the file's length;
// rewards, optional (on every line or none), are one finite number per
// candidate, non-increasing (the list is ranked by them). Other fields and
// blank lines are ignored. Problems are *Error with file, line and field,
// e.g. `r.jsonl:4: ranking[2]: want distinct items, got "b" again (ranking[0])`
// or `r.jsonl:2: offered: want every ranked item among the offered, missing "c" (ranking[1])`.
func LoadRankings(path string) (*Rankings, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadRankings(f, path)
}

// ReadRankings reads rankings from r in LoadRankings's format; name is the
// file name used in errors.
func ReadRankings(r io.Reader, name string) (*Rankings, error) {
	rd := &rankReader{name: name, out: &Rankings{}, index: map[string]int{}}
	if err := readJSONRecords(r, name, pairsMaxLine, "rankings", rd.line); err != nil {
		return nil, err
	}
	return rd.out, nil
}

type rankReader struct {
	name       string
	out        *Rankings
	index      map[string]int
	hasRewards bool
}

func (rd *rankReader) line(b []byte, line, col0 int) error {
	obj, err := pairsObject(b, rd.name, line, col0)
	if err != nil {
		return err
	}
	errf := func(field, format string, args ...any) error { return Errorf(rd.name, line, field, format, args...) }
	rk, hasR := obj["ranking"]
	cd, hasC := obj["candidates"]
	kind := RankingItems
	switch {
	case hasR && hasC:
		return errf("candidates", "want ranking or candidates on a line, not both")
	case !hasR && !hasC:
		return errf("ranking", "missing: want ranking (item names, best first) or candidates (feature vectors, best first)")
	case hasC:
		kind = RankingCandidates
	}
	first := rd.out.Kind == ""
	if first {
		rd.out.Kind = kind
		_, rd.hasRewards = obj["rewards"]
	} else if kind != rd.out.Kind {
		field := "ranking"
		if kind == RankingCandidates {
			field = "candidates"
		}
		return errf(field, "want %s on every line, as on the first line", rd.out.Kind)
	}
	if kind == RankingItems {
		return rd.items(rk, obj, line)
	}
	if _, has := obj["offered"]; has {
		return errf("offered", "want offered only with ranking (named items), not with candidates")
	}
	return rd.candidates(cd, obj, line)
}

// names reads field (ranking or offered): an array of distinct non-empty
// item names, at least min of them.
func (rd *rankReader) names(raw json.RawMessage, field, what string, min, line int) ([]string, map[string]int, error) {
	errf := func(field, format string, args ...any) error { return Errorf(rd.name, line, field, format, args...) }
	var elems []json.RawMessage
	if k := pairsKind(raw); (k != "array" && k != "empty array") || json.Unmarshal(raw, &elems) != nil {
		return nil, nil, errf(field, "want an array of item names, %s, got %s", what, k)
	}
	if len(elems) < min {
		return nil, nil, errf(field, "want at least %d items, got %d", min, len(elems))
	}
	seen := make(map[string]int, len(elems))
	out := make([]string, len(elems))
	for i, e := range elems {
		f := fmt.Sprintf("%s[%d]", field, i)
		e = bytes.TrimSpace(e)
		var s string
		if len(e) == 0 || e[0] != '"' || json.Unmarshal(e, &s) != nil {
			return nil, nil, errf(f, "want an item name (a string), got %s", pairsKind(e))
		}
		if s == "" {
			return nil, nil, errf(f, "want a non-empty item name, got \"\"")
		}
		if j, dup := seen[s]; dup {
			return nil, nil, errf(f, "want distinct items, got %s again (%s[%d])", quoteValue(s), field, j)
		}
		seen[s] = i
		out[i] = s
	}
	return out, seen, nil
}

// itemIndex returns the index of item s, adding it to the items.
func (rd *rankReader) itemIndex(s string) int {
	idx, ok := rd.index[s]
	if !ok {
		idx = len(rd.out.Items)
		rd.index[s] = idx
		rd.out.Items = append(rd.out.Items, s)
	}
	return idx
}

func (rd *rankReader) items(raw json.RawMessage, obj map[string]json.RawMessage, line int) error {
	ranked, _, err := rd.names(raw, "ranking", "best first", 2, line)
	if err != nil {
		return err
	}
	var offered []string
	if of, has := obj["offered"]; has {
		var inS map[string]int
		if offered, inS, err = rd.names(of, "offered", "the set the ranking was chosen from", 2, line); err != nil {
			return err
		}
		for i, s := range ranked {
			if _, ok := inS[s]; !ok {
				return Errorf(rd.name, line, "offered", "want every ranked item among the offered, missing %s (ranking[%d])", quoteValue(s), i)
			}
		}
	}
	list := make([]int, len(ranked))
	for i, s := range ranked {
		list[i] = rd.itemIndex(s)
	}
	n := len(rd.out.Lists)
	rd.out.Lists = append(rd.out.Lists, list)
	if offered == nil {
		if rd.out.Offered != nil {
			rd.out.Offered = append(rd.out.Offered, nil)
		}
		return nil
	}
	set := make([]int, len(offered))
	for i, s := range offered {
		set[i] = rd.itemIndex(s)
	}
	if rd.out.Offered == nil {
		rd.out.Offered = make([][]int, n, n+1)
	}
	rd.out.Offered = append(rd.out.Offered, set)
	return nil
}

func (rd *rankReader) candidates(raw json.RawMessage, obj map[string]json.RawMessage, line int) error {
	errf := func(field, format string, args ...any) error { return Errorf(rd.name, line, field, format, args...) }
	var elems []json.RawMessage
	if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &elems) != nil {
		return errf("candidates", "want an array of feature vectors, best first, got %s", pairsKind(raw))
	}
	if len(elems) < 2 {
		return errf("candidates", "want at least 2 candidates, got %d", len(elems))
	}
	list := make([][]float64, len(elems))
	for c, e := range elems {
		field := fmt.Sprintf("candidates[%d]", c)
		v, err := pairsVector(e, rd.name, line, field)
		if err != nil {
			return err
		}
		if rd.out.Dim == 0 {
			if len(v) == 0 {
				return errf(field, "want a non-empty vector, got []")
			}
			rd.out.Dim = len(v)
		} else if len(v) != rd.out.Dim {
			return errf(field, "want %d numbers (the file's feature dimension), got %d", rd.out.Dim, len(v))
		}
		list[c] = v
	}
	rw, has := obj["rewards"]
	switch {
	case has && !rd.hasRewards:
		return errf("rewards", "want no rewards, as the first line has none (give rewards on every line or on none)")
	case !has && rd.hasRewards:
		return errf("rewards", "missing: want rewards on every line, as the first line has them")
	case has:
		v, err := pairsVector(rw, rd.name, line, "rewards")
		if err != nil {
			return err
		}
		if len(v) != len(list) {
			return errf("rewards", "want %d numbers (one per candidate), got %d", len(list), len(v))
		}
		for i := 1; i < len(v); i++ {
			if v[i] > v[i-1] {
				return errf(fmt.Sprintf("rewards[%d]", i), "want rewards non-increasing along the list (best first), got %v after %v", v[i], v[i-1])
			}
		}
		rd.out.Rewards = append(rd.out.Rewards, v)
	}
	rd.out.Candidates = append(rd.out.Candidates, list)
	return nil
}

// WriteRankings writes r in LoadRankings's format.
func WriteRankings(w io.Writer, r *Rankings) error {
	var buf []byte
	for l := 0; l < r.Len(); l++ {
		if r.Kind == RankingItems {
			buf = append(buf, `{"ranking":`...)
			buf = appendNames(buf, r.Items, r.Lists[l])
			if r.Offered != nil && r.Offered[l] != nil {
				buf = append(buf, `,"offered":`...)
				buf = appendNames(buf, r.Items, r.Offered[l])
			}
			buf = append(buf, "}\n"...)
			continue
		}
		buf = append(buf, `{"candidates":[`...)
		for c, v := range r.Candidates[l] {
			if c > 0 {
				buf = append(buf, ',')
			}
			buf = appendFloats(buf, v)
		}
		buf = append(buf, ']')
		if r.Rewards != nil {
			buf = append(buf, `,"rewards":`...)
			buf = appendFloats(buf, r.Rewards[l])
		}
		buf = append(buf, "}\n"...)
	}
	_, err := w.Write(buf)
	return err
}

// appendNames appends the JSON array of the names of items idx.
func appendNames(buf []byte, names []string, idx []int) []byte {
	buf = append(buf, '[')
	for i, it := range idx {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendQuote(buf, names[it])
	}
	return append(buf, ']')
}
