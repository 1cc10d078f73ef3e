package plural

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/alignlab/alignlab/algos/backend"
	"github.com/alignlab/alignlab/algos/pairloss"
	"github.com/alignlab/alignlab/kernel"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// microTiny is a hand-made case: 4 items, 3 users, 6 comparisons, 2 heads.
func microTiny() (p *Population, cmps []Comparison, s [][]float64, alpha []float64) {
	p = &Population{Items: make([][]float64, 4), Users: make([]User, 3)}
	cmps = []Comparison{
		{User: 0, A: 0, B: 1, AWins: true}, {User: 0, A: 2, B: 3, AWins: false},
		{User: 1, A: 1, B: 2, AWins: true}, {User: 2, A: 0, B: 3, AWins: true},
		{User: 2, A: 3, B: 1, AWins: true}, {User: 2, A: 2, B: 0, AWins: false},
	}
	s = [][]float64{{0.5, -1.2, 0.3, 2.0}, {-0.7, 0.9, 1.5, -0.4}}
	alpha = []float64{0.4, -0.3}
	return p, cmps, s, alpha
}

// closedMixture is the mixture loss and its gradients written out with
// plain products (no logs of sums): blocks are the users (level user) or
// the comparisons; with h_ck = s_c Δ_k(c), L_bk = Π_{c ∈ b} σ(h_ck),
// γ_bk = π_k L_bk / Σ_j π_j L_bj,
//
//	loss = −(1/C) Σ_b log Σ_k π_k L_bk
//	∂loss/∂S_k,w(c) = −(1/C) γ_b(c)k (1 − σ(h_ck)) = −∂loss/∂S_k,l(c) (summed over c)
//	∂loss/∂α_k = −(1/C) Σ_b (γ_bk − π_k)
func closedMixture(level string, cmps []Comparison, s [][]float64, alpha []float64) (loss float64, gs [][]float64, ga []float64) {
	k := len(s)
	pi := make([]float64, k)
	z := 0.0
	for i, a := range alpha {
		pi[i] = math.Exp(a)
		z += pi[i]
	}
	for i := range pi {
		pi[i] /= z
	}
	var blocks [][]Comparison
	if level == MixtureUser {
		by := map[int][]Comparison{}
		for _, c := range cmps {
			by[c.User] = append(by[c.User], c)
		}
		for u := 0; u < 3; u++ {
			if len(by[u]) > 0 {
				blocks = append(blocks, by[u])
			}
		}
	} else {
		for _, c := range cmps {
			blocks = append(blocks, []Comparison{c})
		}
	}
	n := float64(len(cmps))
	gs = make([][]float64, k)
	for h := range gs {
		gs[h] = make([]float64, len(s[0]))
	}
	ga = make([]float64, k)
	for _, b := range blocks {
		lik := make([]float64, k)
		mix := 0.0
		for h := range k {
			lik[h] = 1
			for _, c := range b {
				lik[h] *= pairloss.Sigmoid(microMargin(s[h], c))
			}
			mix += pi[h] * lik[h]
		}
		loss -= math.Log(mix) / n
		for h := range k {
			gamma := pi[h] * lik[h] / mix
			ga[h] -= (gamma - pi[h]) / n
			for _, c := range b {
				w, l := c.A, c.B
				if !c.AWins {
					w, l = l, w
				}
				g := -gamma * (1 - pairloss.Sigmoid(s[h][w]-s[h][l])) / n
				gs[h][w] += g
				gs[h][l] -= g
			}
		}
	}
	return loss, gs, ga
}

// The graph's mixture loss and its autodiff gradients equal the closed
// forms on the tiny case, at both levels; so does MixtureModel.NLL.
func TestMixtureLossClosedForm(t *testing.T) {
	const tol = 1e-12
	be, err := backend.Get("")
	if err != nil {
		t.Fatal(err)
	}
	_, cmps, s, alpha := microTiny()
	for _, level := range MixtureLevels {
		pd := newMicroPadded(level, cmps)
		in := append([]any{tensors.FromFlatDataAndDimensions(flatRows(s), len(s), len(s[0])), alpha}, pd.inputs()...)
		out := MustExecOnceN(be, func(sn, an, win, lose, mask *Node) []*Node {
			l := mixtureNLLGraph(sn, an, win, lose, mask, pd.blocks, pd.per, float64(pd.n))
			return append([]*Node{l}, Gradient(l, sn, an)...)
		}, in...)
		loss := tensors.ToScalar[float64](out[0])
		gs, ga := tensors.MustCopyFlatData[float64](out[1]), tensors.MustCopyFlatData[float64](out[2])
		wantLoss, wantGS, wantGA := closedMixture(level, cmps, s, alpha)
		if math.Abs(loss-wantLoss) > tol {
			t.Errorf("%s: graph loss got %v, want %v", level, loss, wantLoss)
		}
		for h := range wantGS {
			for i, want := range wantGS[h] {
				if got := gs[h*len(s[0])+i]; math.Abs(got-want) > tol {
					t.Errorf("%s: ∂/∂S[%d][%d] got %v, want %v", level, h, i, got, want)
				}
			}
			if math.Abs(ga[h]-wantGA[h]) > tol {
				t.Errorf("%s: ∂/∂α[%d] got %v, want %v", level, h, ga[h], wantGA[h])
			}
		}
		m := &MixtureModel{Level: level, Scores: s, Weights: microSoftmax(alpha)}
		if got := m.NLL(cmps); math.Abs(got-wantLoss) > tol {
			t.Errorf("%s: NLL got %v, want %v", level, got, wantLoss)
		}
	}
}

func flatRows(x [][]float64) []float64 {
	var out []float64
	for _, r := range x {
		out = append(out, r...)
	}
	return out
}

// With one head (free per-item scores, starting at 0, FitBT's optimizer,
// steps and L2) the mixture is FitBT, at both levels: the log-softmax of
// one logit is exactly 0 and the log-sum-exp of one term is the term, so
// the two runs take the same steps up to the summation order of the
// gradients (measured 8e-16 apart).
func TestMixtureOneHeadIsBT(t *testing.T) {
	const tol = 1e-9
	cfg := DefaultPopulationConfig()
	cfg.Users = 100
	p, err := GeneratePopulation(cfg, testRand(3))
	if err != nil {
		t.Fatal(err)
	}
	bc := DefaultBTConfig()
	bt, err := FitBT(context.Background(), p, p.Train, bc, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, level := range MixtureLevels {
		mc := MixtureConfig{Heads: 1, Head: HeadItems, Level: level, InitScale: 0, Restarts: 1, L2: bc.L2, Config: bc.Config}
		m, err := FitMixture(context.Background(), p, p.Train, mc, testRand(4), nil)
		if err != nil {
			t.Fatal(err)
		}
		worst := 0.0
		for i, v := range bt.Scores {
			worst = math.Max(worst, math.Abs(m.Scores[0][i]-v))
		}
		if worst > tol {
			t.Errorf("%s: one-head mixture and FitBT differ by %v, want ≤ %v", level, worst, tol)
		}
		t.Logf("%s: max |S − s_BT| = %.3g", level, worst)
		if m.Weights[0] != 1 {
			t.Errorf("%s: the one weight is %v, want 1", level, m.Weights[0])
		}
	}
}

// At the default population size the user-level mixture with base-linear
// heads recovers the planted groups: after Hungarian matching, each head's
// correlation with its group's reward is ≥ 0.95 (measured 0.997 at this
// seed) and its weight within 0.05 of π_k. The held-out log-likelihood is
// best at K̂ = K within one standard error.
func TestMixtureRecoversGroups(t *testing.T) {
	const minCorr, weightTol = 0.95, 0.05
	p, err := GeneratePopulation(DefaultPopulationConfig(), testRand(2))
	if err != nil {
		t.Fatal(err)
	}
	mc := microDefaults()
	m, err := FitMixture(context.Background(), p, p.Train, mc, testRand(102), nil)
	if err != nil {
		t.Fatal(err)
	}
	perm, corr := MatchGroups(p.Rewards(), m.Scores)
	for k, c := range corr {
		if !(c >= minCorr) {
			t.Errorf("group %d: correlation got %v, want ≥ %v", k, c, minCorr)
		}
		if w := m.Weights[perm[k]]; math.Abs(w-p.Weights[k]) > weightTol {
			t.Errorf("group %d: weight got %v, want %v ± %v", k, w, p.Weights[k], weightTol)
		}
	}
	users := len(p.Users)
	ll3, se3, _ := m.HeldOutLogLik(users, p.Train, p.Test)
	for _, k := range []int{1, 2} {
		c := mc
		c.Heads = k
		mk, err := FitMixture(context.Background(), p, p.Train, c, testRand(200+uint64(k)), nil)
		if err != nil {
			t.Fatal(err)
		}
		if ll, _, _ := mk.HeldOutLogLik(users, p.Train, p.Test); !(ll < ll3-se3) {
			t.Errorf("K̂ = %d: held-out log-likelihood %v, want below K̂ = 3's %v − %v", k, ll, ll3, se3)
		}
	}
}

// The single BT model sits at the irreducible bound when the majority is
// transitive: the exact accuracy of its order over all pairs (against the
// mixture P̄) is within 0.005 of the bound, and its held-out accuracy is
// within two standard errors of it (z measured 0.3 at this seed).
func TestBTAtIrreducibleBound(t *testing.T) {
	const exactTol, zMax = 0.005, 2.0
	p, err := GeneratePopulation(DefaultPopulationConfig(), testRand(1))
	if err != nil {
		t.Fatal(err)
	}
	bound, transitive := p.IrreducibleAccuracy()
	if !transitive {
		t.Fatal("the population at seed 1 should have a transitive majority")
	}
	bt, err := FitBT(context.Background(), p, p.Train, DefaultBTConfig(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	exact := microExactAccuracy(p, bt.Prob)
	if math.Abs(exact-bound) > exactTol {
		t.Errorf("exact accuracy of the BT order got %v, want the bound %v ± %v", exact, bound, exactTol)
	}
	acc := Accuracy(p.Test, func(c Comparison) float64 { return bt.Prob(c.A, c.B) })
	se := math.Sqrt(bound * (1 - bound) / float64(len(p.Test)))
	z := math.Abs(acc-bound) / se
	if z > zMax {
		t.Errorf("held-out BT accuracy %v, bound %v: z = %v, want ≤ %v", acc, bound, z, zMax)
	}
	t.Logf("bound %.4f, BT order exactly %.4f, held out %.4f (z = %.2f)", bound, exact, acc, z)
}

// Stage 2 pays: routed by the users' contexts (30 users' comparisons), the
// mixture beats its global weights (by 0.11 at this seed, whose group
// contexts are well apart; the gain shrinks with the contexts' signal),
// which sit with BT at the irreducible bound; the per-user posterior (not
// in the paper) is at most the oracle.
func TestRouterBeatsGlobalWeights(t *testing.T) {
	const gain, zMax = 0.05, 2.0
	p, err := GeneratePopulation(DefaultPopulationConfig(), testRand(4))
	if err != nil {
		t.Fatal(err)
	}
	m, err := FitMixture(context.Background(), p, p.Train, microDefaults(), testRand(104), nil)
	if err != nil {
		t.Fatal(err)
	}
	users := make([]int, 30)
	for i := range users {
		users[i] = i * 10
	}
	rt, routed, err := microRouterOn(context.Background(), p, m, users, DefaultRouterConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(routed) != 30*30 {
		t.Fatalf("router on %d comparisons, want 900", len(routed))
	}
	global := Accuracy(p.Test, func(c Comparison) float64 { return m.Prob(c.A, c.B) })
	routedAcc := Accuracy(p.Test, func(c Comparison) float64 { return m.ProbWith(rt.Weights(p.Users[c.User].Context), c.A, c.B) })
	if !(routedAcc > global+gain) {
		t.Errorf("routed accuracy %v, want > global %v + %v", routedAcc, global, gain)
	}
	t.Logf("global %.4f, routed %.4f", global, routedAcc)
	post := m.Posterior(len(p.Users), p.Train)
	postAcc := Accuracy(p.Test, func(c Comparison) float64 { return m.ProbWith(post[c.User], c.A, c.B) })
	oracle := p.OracleAccuracy()
	if se := math.Sqrt(oracle * (1 - oracle) / float64(len(p.Test))); postAcc > oracle+zMax*se {
		t.Errorf("posterior accuracy %v above the oracle %v + %v", postAcc, oracle, zMax*se)
	}
	irr, _ := p.IrreducibleAccuracy()
	if se := math.Sqrt(irr * (1 - irr) / float64(len(p.Test))); global > irr+zMax*se {
		t.Errorf("global-weight accuracy %v above the irreducible bound %v + %v", global, irr, zMax*se)
	}
}

// The router starts as the global mixture (V = 0, b = log π): its first
// loss is the mixture's NLL at both levels.
func TestRouterStartsAtGlobalWeights(t *testing.T) {
	const tol = 1e-12
	p, err := GeneratePopulation(DefaultPopulationConfig(), testRand(3))
	if err != nil {
		t.Fatal(err)
	}
	m := &MixtureModel{Scores: p.Rewards(), Weights: []float64{0.2, 0.3, 0.5}}
	cmps := p.Train[:200]
	for _, level := range MixtureLevels {
		m.Level = level
		rc := DefaultRouterConfig()
		rc.Steps, rc.EvalEvery = 1, 1
		var first float64
		if _, err := FitRouter(context.Background(), p, m, cmps, rc, func(_ int64, _ string, v float64) error { first = v; return nil }); err != nil {
			t.Fatal(err)
		}
		if want := m.NLL(cmps); math.Abs(first-want) > tol {
			t.Errorf("%s: router's first loss %v, want the mixture NLL %v", level, first, want)
		}
	}
}

// The per-group bounds average, with the weights π, to the overall ones.
func TestMicroGroupBounds(t *testing.T) {
	const tol = 1e-12
	p, err := GeneratePopulation(DefaultPopulationConfig(), testRand(7))
	if err != nil {
		t.Fatal(err)
	}
	irrG, oracleG := microGroupBounds(p)
	irr, oracle := 0.0, 0.0
	for k, w := range p.Weights {
		irr += w * irrG[k]
		oracle += w * oracleG[k]
	}
	wantIrr, _ := p.IrreducibleAccuracy()
	if math.Abs(irr-wantIrr) > tol || math.Abs(oracle-p.OracleAccuracy()) > tol {
		t.Errorf("π-weighted group bounds %v, %v; want %v, %v", irr, oracle, wantIrr, p.OracleAccuracy())
	}
}

func TestMixtureConfigErrors(t *testing.T) {
	p, err := GeneratePopulation(DefaultPopulationConfig(), testRand(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []func(*MixtureConfig){
		func(c *MixtureConfig) { c.Heads = 0 },
		func(c *MixtureConfig) { c.Head = "mlp" },
		func(c *MixtureConfig) { c.Level = "item" },
		func(c *MixtureConfig) { c.InitScale = -1 },
		func(c *MixtureConfig) { c.Restarts = 0 },
		func(c *MixtureConfig) { c.L2 = math.NaN() },
		func(c *MixtureConfig) { c.Balance = -1 },
		func(c *MixtureConfig) { c.Steps = 0 },
	} {
		c := DefaultMixtureConfig()
		bad(&c)
		if _, err := FitMixture(context.Background(), p, p.Train, c, testRand(1), nil); err == nil {
			t.Errorf("config %+v: no error", c)
		}
	}
	if _, err := FitMixture(context.Background(), p, nil, DefaultMixtureConfig(), testRand(1), nil); err == nil {
		t.Error("no comparisons: no error")
	}
}

// The plugin runs end to end on a small population and reports its
// finals, tables and charts.
func TestMicroPlugin(t *testing.T) {
	res, err := kernel.Run(context.Background(), MicroID, kernel.Options{Params: map[string]any{
		MicroParamUsers: 60, MicroParamPerUser: 20, MicroParamItems: 15, MicroParamExtraHeads: 1,
		MicroParamRestarts: 1, "steps": 60, MicroParamRouterSteps: 50, kernel.ParamSeed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"accuracy_bt", "accuracy_mixture", "accuracy_router", "accuracy_posterior",
		"accuracy_router_group2", "irreducible_accuracy", "oracle_accuracy", "recovery_corr_min", "k_hat", "k_best", "heldout_loglik"} {
		if v, ok := res.Final[name]; !ok || math.IsNaN(v) {
			t.Errorf("final %s: got %v (present %v)", name, v, ok)
		}
	}
	if got := len(res.Tables["heads"].Rows); got != 4 {
		t.Errorf("heads table has %d rows, want 4 (K̂ = 1 … 3 + 1)", got)
	}
	for _, name := range []string{"accuracy", "recovery", "rewards", "router_supervision"} {
		if res.Tables[name] == nil || len(res.Tables[name].Rows) == 0 {
			t.Errorf("table %s missing or empty", name)
		}
	}
	if len(res.Charts) != 5 {
		t.Errorf("%d charts, want 5", len(res.Charts))
	}
}

// The same seed gives the same result, byte for byte (quick params).
func TestMicroDeterministic(t *testing.T) {
	var out [2][]byte
	for i := range out {
		params := microPlugin{}.QuickParams()
		params[kernel.ParamSeed] = 9
		res, err := kernel.Run(context.Background(), MicroID, kernel.Options{Params: params})
		if err != nil {
			t.Fatal(err)
		}
		if out[i], err = res.CanonicalJSON(); err != nil {
			t.Fatal(err)
		}
	}
	if string(out[0]) != string(out[1]) {
		t.Error("two runs with seed 9 differ")
	}
}

// A mixture of two heads fitted to a population of two groups finds both.
func ExampleFitMixture() {
	cfg := DefaultPopulationConfig()
	cfg.Groups, cfg.Weights, cfg.Users, cfg.Items = 2, nil, 200, 20
	p, err := GeneratePopulation(cfg, testRand(4))
	if err != nil {
		panic(err)
	}
	mc := DefaultMixtureConfig()
	mc.Heads, mc.LearningRate, mc.Steps = 2, 0.1, 200
	m, err := FitMixture(context.Background(), p, p.Train, mc, testRand(5), nil)
	if err != nil {
		panic(err)
	}
	_, corr := MatchGroups(p.Rewards(), m.Scores)
	bt, err := FitBT(context.Background(), p, p.Train, DefaultBTConfig(), nil, nil)
	if err != nil {
		panic(err)
	}
	post := m.Posterior(len(p.Users), p.Train)
	irr, _ := p.IrreducibleAccuracy()
	fmt.Printf("correlation with the planted rewards: %.2f\n", corr)
	fmt.Printf("held-out accuracy: BT %.2f, mixture %.2f, posterior %.2f (irreducible %.2f, oracle %.2f)\n",
		Accuracy(p.Test, func(c Comparison) float64 { return bt.Prob(c.A, c.B) }),
		Accuracy(p.Test, func(c Comparison) float64 { return m.Prob(c.A, c.B) }),
		Accuracy(p.Test, func(c Comparison) float64 { return m.ProbWith(post[c.User], c.A, c.B) }),
		irr, p.OracleAccuracy())
	// Output:
	// correlation with the planted rewards: [1.00 1.00]
	// held-out accuracy: BT 0.83, mixture 0.83, posterior 0.92 (irreducible 0.82, oracle 0.92)
}
