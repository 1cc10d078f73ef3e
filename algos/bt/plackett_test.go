package bt

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// With every ranking of length 2, Plackett–Luce is Bradley–Terry and
// Hunter's PL update is FitMM's: same iterates, same fit.
func TestPLEqualsBTOnPairs(t *testing.T) {
	battles, _, err := datasets.GenerateArena(datasets.ArenaConfig{Models: 7, Battles: 3000, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	counts, err := datasets.AggregateBattles(battles)
	if err != nil {
		t.Fatal(err)
	}
	r := &datasets.Rankings{Kind: datasets.RankingItems, Items: counts.Models}
	for _, p := range counts.Pairs {
		for range p.WinsA {
			r.Lists = append(r.Lists, []int{p.A, p.B})
		}
		for range p.WinsB {
			r.Lists = append(r.Lists, []int{p.B, p.A})
		}
	}
	bt, err := FitMM(counts, nil)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := FitPlackettLuce(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	const tol = 1e-9
	for i := range bt.Theta {
		if math.Abs(bt.Theta[i]-pl.Theta[i]) > tol {
			t.Errorf("%s: PL θ %v, BT θ %v", counts.Models[i], pl.Theta[i], bt.Theta[i])
		}
	}
	if bt.Iterations != pl.Iterations || math.Abs(bt.LogLikelihood-pl.LogLikelihood) > 1e-8 {
		t.Errorf("iterations %d vs %d, log-likelihood %v vs %v", pl.Iterations, bt.Iterations, pl.LogLikelihood, bt.LogLikelihood)
	}
}

func TestPLLogLikelihoodClosedForm(t *testing.T) {
	r := &datasets.Rankings{Kind: datasets.RankingItems, Items: []string{"a", "b", "c"}, Lists: [][]int{{0, 1, 2}, {2, 0}}}
	theta := []float64{math.Log(4), math.Log(2), 0} // γ = 4, 2, 1
	// a ≻ b ≻ c: 4/7 · 2/3; c ≻ a: 1/5.
	want := math.Log(4.0/7*2/3) + math.Log(1.0/5)
	if got := PLLogLikelihood(r, theta); math.Abs(got-want) > 1e-12 {
		t.Errorf("got %v, want %v", got, want)
	}
	// T ≡ 1 turns PRO into the Plackett–Luce negative log-likelihood.
	for _, l := range r.Lists {
		s := make([]float64, len(l))
		for i, it := range l {
			s[i] = theta[it]
		}
		one := &datasets.Rankings{Kind: datasets.RankingItems, Items: r.Items, Lists: [][]int{l}}
		if got, want := PROLossFloat64(s, PROTemperatures(len(l), nil, TemperatureConstant)), -PLLogLikelihood(one, theta); math.Abs(got-want) > 1e-12 {
			t.Errorf("PRO with T = 1 on %v: got %v, want %v", l, got, want)
		}
	}
}

// At the MM fit the score ∂ℓ/∂θi = W_i − Σ_stages γi/Σ_{j≥k}γj vanishes,
// and the planted θ of 3,000 generated rankings is recovered within 0.1 RMSE.
func TestPLFitStationaryAndRecovers(t *testing.T) {
	r, err := datasets.GeneratePLRankings(datasets.PLConfig{Items: 8, Rankings: 3000, Length: 4, Spread: 1}, rand.New(rand.NewPCG(2, 3)))
	if err != nil {
		t.Fatal(err)
	}
	fit, err := FitPlackettLuce(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := make([]float64, len(r.Items))
	for _, l := range r.Lists {
		for k := 0; k+1 < len(l); k++ {
			g[l[k]]++
			s := 0.0
			for _, j := range l[k:] {
				s += math.Exp(fit.Theta[j])
			}
			for _, j := range l[k:] {
				g[j] -= math.Exp(fit.Theta[j]) / s
			}
		}
	}
	if m := maxAbs(g); m > 1e-6 || !fit.Converged {
		t.Errorf("max |∂ℓ/∂θ| = %v at the fit (converged %v), want ≈ 0", m, fit.Converged)
	}
	var sq float64
	for i, th := range fit.Theta {
		sq += (th - r.Truth.Theta[i]) * (th - r.Truth.Theta[i])
	}
	if rmse := math.Sqrt(sq / float64(len(fit.Theta))); rmse > 0.1 {
		t.Errorf("RMSE to planted θ %v, want < 0.1", rmse)
	}
}

func TestPLNoMLE(t *testing.T) {
	r := &datasets.Rankings{Kind: datasets.RankingItems, Items: []string{"a", "b", "c"}, Lists: [][]int{{0, 1}, {0, 2}, {1, 2}, {2, 1}}}
	_, err := FitPlackettLuce(r, nil)
	var ne *NoMLEError
	if !errors.As(err, &ne) || strings.Join(ne.NoWins, ",") != "" || strings.Join(ne.NoLosses, ",") != "a" {
		t.Fatalf("got %v, want a NoMLEError with a never ranked below", err)
	}
	fit, err := FitPlackettLuce(r, &PLSettings{Prior: 1})
	if err != nil || fit.Prior != 1 || !(fit.Theta[0] > fit.Theta[1]) {
		t.Errorf("with the prior: %+v, %v", fit, err)
	}
}

func TestPROTemperatures(t *testing.T) {
	got := PROTemperatures(3, []float64{3, 1, 0}, TemperatureDynamic)
	// Stage 0: T_1 = 3 − 1, T_2 = 3 − 0, T_0 = max = 3; stage 1: T_2 = 1, T_1 = 1.
	want := [][]float64{{3, 2, 3}, {0, 1, 1}, {0, 0, 0}}
	for k := range want {
		for i := range want[k] {
			if got[k][i] != want[k][i] {
				t.Fatalf("got %v, want %v", got, want)
			}
		}
	}
}

// proGradClosed is ∂(mean PRO loss)/∂θ for a log-linear policy, from
// ∂ℓ_k/∂s_i = T^k_i p^k_i − [i = k] T^k_k (p^k the softmax of s·T^k over
// i ≥ k) and ∂s_i/∂θ = φ_i − Σ_j π_j φ_j (s = log-softmax of θ·φ).
func proGradClosed(r *datasets.Rankings, theta []float64, temperature string) []float64 {
	d := len(theta)
	grad := make([]float64, d)
	for l, cands := range r.Candidates {
		n := len(cands)
		z := make([]float64, n)
		for i, phi := range cands {
			for j := range phi {
				z[i] += theta[j] * phi[j]
			}
		}
		lse := math.Inf(-1)
		for _, v := range z {
			lse = math.Max(lse, v)
		}
		sum := 0.0
		for _, v := range z {
			sum += math.Exp(v - lse)
		}
		lse += math.Log(sum)
		s, pi := make([]float64, n), make([]float64, n)
		for i := range z {
			s[i] = z[i] - lse
			pi[i] = math.Exp(s[i])
		}
		var rw []float64
		if r.Rewards != nil {
			rw = r.Rewards[l]
		}
		tm := PROTemperatures(n, rw, temperature)
		ds := make([]float64, n)
		for k := 0; k < n-1; k++ {
			den := 0.0
			for i := k; i < n; i++ {
				den += math.Exp(s[i] * tm[k][i])
			}
			for i := k; i < n; i++ {
				ds[i] += tm[k][i] * math.Exp(s[i]*tm[k][i]) / den
			}
			ds[k] -= tm[k][k]
		}
		mean := make([]float64, d)
		for i, phi := range cands {
			for j := range phi {
				mean[j] += pi[i] * phi[j]
			}
		}
		for i, phi := range cands {
			for j := range phi {
				grad[j] += ds[i] * (phi[j] - mean[j]) / float64(len(r.Candidates))
			}
		}
	}
	return grad
}

// The GoMLX PRO loss (padded lists of different lengths) and its autodiff
// gradient agree with PROLossFloat64 and the closed-form gradient.
func TestPROLossGraphClosedForm(t *testing.T) {
	const tol = 1e-10
	rng := rand.New(rand.NewPCG(8, 8))
	r := &datasets.Rankings{Kind: datasets.RankingCandidates, Dim: 3}
	for _, n := range []int{2, 5, 3, 4} {
		var cands [][]float64
		var rw []float64
		for i := 0; i < n; i++ {
			cands = append(cands, []float64{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()})
			rw = append(rw, rng.NormFloat64())
		}
		sortDesc(rw)
		rw[n-1] = rw[n-2] // a tie in the rewards is allowed
		r.Candidates = append(r.Candidates, cands)
		r.Rewards = append(r.Rewards, rw)
	}
	theta := []float64{0.7, -1.3, 0.4}
	for _, temp := range []string{TemperatureDynamic, TemperatureConstant} {
		tr, err := NewPROTrainer(r, PROConfig{Temperature: temp, Config: fit.Config{Steps: 1, LearningRate: 0.1, Optimizer: fit.SGD}})
		if err != nil {
			t.Fatal(err)
		}
		in := append([]any{tensors.FromFlatDataAndDimensions(theta, 3, 1)}, tr.in...)
		outs := MustExecOnceN(testBackend(t), func(nodes []*Node) []*Node {
			loss := PROLossGraph(nodes[0], nodes[1], nodes[2], nodes[3], nodes[4], nodes[5], nodes[6])
			return []*Node{loss, Gradient(loss, nodes[0])[0]}
		}, in...)
		loss := tensors.ToScalar[float64](outs[0])
		grad := tensors.MustCopyFlatData[float64](outs[1])
		want := EvaluateRankings(r, theta, temp).Loss
		if math.Abs(loss-want) > tol {
			t.Errorf("%s: graph loss %v, PROLossFloat64 mean %v", temp, loss, want)
		}
		wantG := proGradClosed(r, theta, temp)
		for j := range wantG {
			if math.Abs(grad[j]-wantG[j]) > tol {
				t.Errorf("%s: ∂/∂θ%d autodiff %v, closed form %v", temp, j, grad[j], wantG[j])
			}
		}
	}
}

func sortDesc(v []float64) {
	for i := range v {
		for j := i + 1; j < len(v); j++ {
			if v[j] > v[i] {
				v[i], v[j] = v[j], v[i]
			}
		}
	}
}

// PRO on lists ranked by a noisy reward model recovers the planted reward
// direction (cosine > 0.95) and ranks held-out lists well (τ > 0.8).
func TestPRORecoversPlantedDirection(t *testing.T) {
	train, test, err := datasets.GenerateCandidateRankings(datasets.CandidateRankingsConfig{Dim: 6, Lists: 200, TestLists: 200, Candidates: 5, Scale: 2, RewardNoise: 1},
		rand.New(rand.NewPCG(5, 5)))
	if err != nil {
		t.Fatal(err)
	}
	for _, temp := range []string{TemperatureDynamic, TemperatureConstant} {
		cfg := DefaultPROConfig()
		cfg.Temperature = temp
		theta, err := TrainPRO(context.Background(), train, nil, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		m := EvaluateRankings(test, theta, temp)
		cos := cosine(theta, train.Truth.W)
		t.Logf("%s: cos %.4f, held-out top-1 %.3f, τ %.3f", temp, cos, m.Top1, m.KendallTau)
		if cos < 0.95 || m.KendallTau < 0.8 {
			t.Errorf("%s: cos %v, τ %v; want > 0.95 and > 0.8", temp, cos, m.KendallTau)
		}
	}
	_, err = NewPROTrainer(&datasets.Rankings{Kind: datasets.RankingCandidates, Dim: 1, Candidates: [][][]float64{{{1}, {2}}}}, DefaultPROConfig())
	if err == nil || !strings.Contains(err.Error(), "needs rewards") {
		t.Errorf("dynamic temperature without rewards: got %v", err)
	}
}

var fastPL = map[string]any{ParamBootstrapRounds: 10, ParamRankings: 100}
var fastPRO = map[string]any{ParamMode: ModeCandidates, fit.ParamSteps: 20, ParamLists: 50, ParamTestLists: 50, fit.ParamEvalEvery: 10}

func TestPlackettLucePluginDeterministic(t *testing.T) {
	for _, params := range []map[string]any{fastPL, fastPRO} {
		var prev []byte
		for range 2 {
			res, err := kernel.Run(context.Background(), "bt.plackett_luce", kernel.Options{Params: params})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := res.CanonicalJSON()
			if prev != nil && string(b) != string(prev) {
				t.Fatalf("%v: same seed, different result", params)
			}
			prev = b
		}
	}
}

func TestPlackettLucePluginFiles(t *testing.T) {
	items := writeFile(t, "r.jsonl", `{"ranking":["a","b","c"]}
{"ranking":["b","c"]}
{"ranking":["c","a","b","d"]}
{"ranking":["d","a"]}
`)
	res, err := kernel.Run(context.Background(), "bt.plackett_luce", kernel.Options{Params: map[string]any{ParamBootstrapRounds: 5}, Data: []string{items}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Final["items"] != 4 || res.Final["rankings"] != 4 || len(res.Tables["ratings"].Rows) != 4 {
		t.Errorf("finals %v", res.Final)
	}
	cands := writeFile(t, "c.jsonl", `{"candidates":[[1,0],[0,1],[-1,0]],"rewards":[2,1,0]}
{"candidates":[[0.5,0.5],[0,-1]],"rewards":[1,-1]}
{"candidates":[[2,0],[1,1],[0,0]],"rewards":[3,2,0]}
`)
	res, err = kernel.Run(context.Background(), "bt.plackett_luce", kernel.Options{Params: map[string]any{fit.ParamSteps: 10, ParamHoldout: 0.34}, Data: []string{cands}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Final["lists"] != 2 || res.Final["test_lists"] != 1 {
		t.Errorf("finals %v", res.Final)
	}
	bad := writeFile(t, "bad.jsonl", `{"ranking":["a","b","a"]}`)
	_, err = kernel.Run(context.Background(), "bt.plackett_luce", kernel.Options{Data: []string{bad}})
	var de *datasets.Error
	if !errors.As(err, &de) || !strings.HasSuffix(err.Error(), `bad.jsonl:1: ranking[2]: want distinct items, got "a" again (ranking[0])`) {
		t.Errorf("duplicate item: got %v", err)
	}
}

// plBruteForce is the probability of the top-k list top chosen from the
// offered set s, by enumeration: the sum, over every complete ranking of s
// that starts with top, of its Plackett–Luce probability, each computed as
// a plain product of exp(θ)/Σ exp(θ) over the stages.
func plBruteForce(theta []float64, s, top []int) float64 {
	total := 0.0
	var rec func(prefix, rest []int)
	rec = func(prefix, rest []int) {
		if len(rest) == 0 {
			for j := range top {
				if prefix[j] != top[j] {
					return
				}
			}
			p := 1.0
			for j := range prefix {
				den := 0.0
				for _, m := range prefix[j:] {
					den += math.Exp(theta[m])
				}
				p *= math.Exp(theta[prefix[j]]) / den
			}
			total += p
			return
		}
		for i := range rest {
			next := append(append([]int(nil), rest[:i]...), rest[i+1:]...)
			rec(append(append([]int(nil), prefix...), rest[i]), next)
		}
	}
	rec(nil, s)
	return total
}

// Issue 14: a top-k list of a larger offered set has the Plackett–Luce
// probability of its prefix, Π_j exp(θ_{π_j})/Σ_{S \ {π_1 … π_{j−1}}} exp(θ),
// which is the total probability of the complete rankings of S that start
// with it; and the top-k lists of S have probabilities summing to 1.
func TestPLTopKLikelihoodBruteForce(t *testing.T) {
	const tol = 1e-12
	items := []string{"a", "b", "c", "d", "e"}
	theta := []float64{0.3, -1.2, 0.8, 0, -0.4}
	for _, tc := range []struct {
		name    string
		top     []int
		offered []int // nil: complete ranking
	}{
		{"top 2 of 5", []int{2, 0}, []int{0, 1, 2, 3, 4}},
		{"top 3 of 4", []int{3, 4, 1}, []int{1, 3, 4, 2}},
		{"top 4 of 5", []int{4, 3, 2, 1}, []int{0, 1, 2, 3, 4}},
		{"complete, offered given", []int{1, 0, 2}, []int{2, 1, 0}},
		{"complete", []int{4, 0, 1, 3}, nil},
	} {
		r := &datasets.Rankings{Kind: datasets.RankingItems, Items: items, Lists: [][]int{tc.top}, Offered: [][]int{tc.offered}}
		s := tc.offered
		if s == nil {
			s = tc.top
		}
		want := math.Log(plBruteForce(theta, s, tc.top))
		if got := PLLogLikelihood(r, theta); math.Abs(got-want) > tol {
			t.Errorf("%s: PLLogLikelihood %v, brute force %v", tc.name, got, want)
		}
	}
	// Σ over the 5·4 = 20 top-2 lists of the 5 items.
	sum := 0.0
	for i := range items {
		for j := range items {
			if i != j {
				r := &datasets.Rankings{Kind: datasets.RankingItems, Items: items, Lists: [][]int{{i, j}}, Offered: [][]int{{0, 1, 2, 3, 4}}}
				sum += math.Exp(PLLogLikelihood(r, theta))
			}
		}
	}
	if math.Abs(sum-1) > tol {
		t.Errorf("top-2 lists of 5: probabilities sum to %v, want 1", sum)
	}
}

// plScore is ∂ℓ/∂θ by the plain formula: per stage j, the winner gets +1 and
// every m in the choice set C_j gets −exp(θ_m)/Σ_{C_j} exp(θ).
func plScore(r *datasets.Rankings, theta []float64) []float64 {
	g := make([]float64, len(theta))
	for n, l := range r.Lists {
		set := r.OfferedSet(n)
		chosen := map[int]bool{}
		for j, w := range l {
			var choice []int
			for _, m := range set {
				if !chosen[m] {
					choice = append(choice, m)
				}
			}
			if len(choice) > 1 {
				den := 0.0
				for _, m := range choice {
					den += math.Exp(theta[m])
				}
				g[w]++
				for _, m := range choice {
					g[m] -= math.Exp(theta[m]) / den
				}
			}
			chosen[l[j]] = true
		}
	}
	return g
}

// Issue 14: the fit uses the top-k likelihood. On 4,000 top-2 lists of 5
// offered of 8 items, the MM fit is a stationary point of it (score ≈ 0 by
// the plain formula) and recovers the planted θ; reading the same lists as
// complete rankings of their 2 items (what happened before) is biased.
func TestPLTopKFitRecovers(t *testing.T) {
	const (
		scoreTol = 1e-6
		rmseTol  = 0.1
	)
	r, err := datasets.GeneratePLRankings(datasets.PLConfig{Items: 8, Rankings: 4000, Length: 2, Offered: 5, Spread: 1}, rand.New(rand.NewPCG(4, 4)))
	if err != nil {
		t.Fatal(err)
	}
	rmse := func(theta []float64) float64 {
		var sq float64
		for i, th := range theta {
			sq += (th - r.Truth.Theta[i]) * (th - r.Truth.Theta[i])
		}
		return math.Sqrt(sq / float64(len(theta)))
	}
	fit, err := FitPlackettLuce(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	score := 0.0
	for _, v := range plScore(r, fit.Theta) {
		score = math.Max(score, math.Abs(v))
	}
	if score > scoreTol || !fit.Converged {
		t.Errorf("max |∂ℓ/∂θ| = %v at the fit (converged %v), want ≈ 0", score, fit.Converged)
	}
	if got := rmse(fit.Theta); got > rmseTol {
		t.Errorf("RMSE to planted θ %v, want < %v", got, rmseTol)
	}
	// The likelihood is at its maximum: moving any θ_i lowers it.
	for i := range fit.Theta {
		moved := append([]float64(nil), fit.Theta...)
		moved[i] += 1e-3
		if PLLogLikelihood(r, moved) > fit.LogLikelihood {
			t.Errorf("θ_%d + 1e-3 raises the log-likelihood", i)
		}
	}
	complete := *r
	complete.Offered = nil
	naive, err := FitPlackettLuce(&complete, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("RMSE: top-k likelihood %.3f, read as complete rankings %.3f", rmse(fit.Theta), rmse(naive.Theta))
	if rmse(naive.Theta) < 2*rmse(fit.Theta) {
		t.Errorf("ignoring the offered sets: RMSE %v, want well above the top-k fit's %v", rmse(naive.Theta), rmse(fit.Theta))
	}
}

// An item only ever offered never won a stage: θ = −∞ without a prior.
// The rank breaking gives each ranked item a win over the unranked ones.
func TestPLTopKNoMLEAndBreaking(t *testing.T) {
	r := &datasets.Rankings{Kind: datasets.RankingItems, Items: []string{"a", "b", "c"},
		Lists: [][]int{{0, 1}, {1, 0}}, Offered: [][]int{{0, 1, 2}, nil}}
	var ne *NoMLEError
	if err := CheckPlackettLuce(r); !errors.As(err, &ne) || strings.Join(ne.NoWins, ",") != "c" || len(ne.NoLosses) != 0 {
		t.Errorf("got %v, want a NoMLEError naming c (never won)", err)
	}
	var got []string
	for _, p := range BreakRankings(r).Pairs {
		got = append(got, fmt.Sprintf("%s-%s %d:%d", r.Items[p.A], r.Items[p.B], p.WinsA, p.WinsB))
	}
	if want := "a-b 1:1,a-c 1:0,b-c 1:0"; strings.Join(got, ",") != want {
		t.Errorf("rank breaking %s, want %s", strings.Join(got, ","), want)
	}
}

func TestPlackettLucePluginOffered(t *testing.T) {
	path := writeFile(t, "topk.jsonl", `{"ranking":["a","b"],"offered":["a","b","c","d"]}
{"ranking":["c","a"],"offered":["a","b","c","d"]}
{"ranking":["b","d","c"]}
{"ranking":["d","a"],"offered":["d","a","c"]}
{"ranking":["c","b"],"offered":["a","b","c"]}
`)
	res, err := kernel.Run(context.Background(), "bt.plackett_luce", kernel.Options{Params: map[string]any{ParamBootstrapRounds: 0}, Data: []string{path}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Final["items"] != 4 || res.Final["rankings"] != 5 || res.Final["top_k_rankings"] != 4 {
		t.Errorf("finals %v", res.Final)
	}
	r, err := datasets.LoadRankings(path)
	if err != nil {
		t.Fatal(err)
	}
	fit, err := FitPlackettLuce(r, &PLSettings{Prior: DefaultPrior})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Final["log_likelihood"]; math.Abs(got-fit.LogLikelihood) > 1e-12 {
		t.Errorf("plugin log-likelihood %v, FitPlackettLuce %v", got, fit.LogLikelihood)
	}
	gen, err := kernel.Run(context.Background(), "bt.plackett_luce", kernel.Options{Params: map[string]any{ParamBootstrapRounds: 5, ParamRankings: 200, ParamListLength: 2, ParamOffered: 5}})
	if err != nil {
		t.Fatal(err)
	}
	if gen.Final["top_k_rankings"] != 200 || gen.Final["converged"] != 1 {
		t.Errorf("generated top-2 of 5: finals %v", gen.Final)
	}
	bad := writeFile(t, "bad.jsonl", `{"ranking":["a","b"]}
{"ranking":["a","e"],"offered":["a","b","c"]}`)
	_, err = kernel.Run(context.Background(), "bt.plackett_luce", kernel.Options{Data: []string{bad}})
	var de *datasets.Error
	if !errors.As(err, &de) || de.Line != 2 || de.Field != "offered" || !strings.Contains(err.Error(), `missing "e" (ranking[1])`) {
		t.Errorf("ranked item not offered: got %v", err)
	}
}
