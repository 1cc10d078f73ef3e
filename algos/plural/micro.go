package plural

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/algos/pairloss"
	"github.com/alignlab/alignlab/kernel"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// # MiCRo: a mixture of Bradley–Terry heads and a context-aware router
//
// MiCRo (Shen, Yao, Yang, Sun, Luo, Pan, Zhang, Zhao 2025, "MiCRo: Mixture
// Modeling and Context-aware Routing for Personalized Preference
// Learning", arXiv:2505.24846; code github.com/MaxwellJryao/MiCRo) starts
// from the observation that when preferences are a mixture of subgroups,
//
//	P(a ≻ b) = Σ_k π_k σ(r_k(a) − r_k(b)),
//
// a single Bradley–Terry reward can at best predict the mixture's
// majority (IrreducibleAccuracy), and fits in two stages.
//
// Stage 1 (FitMixture) learns K̂ reward heads S (K̂ × N: head k's reward of
// item i) and weights π = softmax(α) from the binary labels alone. With
// s_c = ±1 the label of comparison c and Δ_k(c) = S_k,A − S_k,B it
// minimises one of two likelihoods (MixtureConfig.Level)
//
//	comparison (the paper's):  L = −(1/C) Σ_c log Σ_k π_k σ(s_c Δ_k(c))
//	user (the default):        L = −(1/C) Σ_u log Σ_k π_k Π_{c ∈ u} σ(s_c Δ_k(c))
//
// plus l2·‖params‖² and, optionally, balance·Σ_k π_k log π_k (the paper's
// load-balancing term). The paper's mixture is per comparison, tied
// together by a router on the prompt; here there are no prompts, and a
// per-comparison mixture sees each pair's labels only through their mean
// P̄(a, b), which identifies the heads poorly. The user level draws one
// latent group per user (the latent-class mixture of BT models): the
// analogue, once prompts are gone, of what ties comparisons together.
//
// The heads (MixtureConfig.Head) are base_linear, S_k,i = c_i + θ_k·φ_i (a
// base score per item shared by the heads plus a linear reward per head on
// the item features: the paper's heads are linear layers on a shared
// representation, and the planted −‖Aφ − p_k‖² = −‖Aφ‖² + 2 p_k·Aφ −
// ‖p_k‖² has this form), or items, a free score per item and head (FitBT's
// parameterisation, and the general one: the quadratic features of φ
// outnumber the items). The logistic terms are pairloss's (−log σ =
// SoftplusNeg), the sum over heads a log-sum-exp; full-batch Adam on
// fit.Loop from θ (or S) drawn N(0, init_scale²) (the paper adds a frozen
// random prior to each head for the same end: to break the heads'
// symmetry), c = 0, α = 0, keeping the best of `restarts` fits. With one
// head of free scores both levels are FitBT's loss exactly.
//
// Stage 2 (FitRouter) freezes the heads and fits a router on the user's
// context x_u, π(x_u) = softmax(V x_u + b), on the training comparisons of
// a random share of the users (router_fraction), minimising stage 1's loss
// with π(x_u) in place of π, plus router_l2·‖V‖², from V = 0, b = log π
// (the router starts as the global mixture). The paper describes this
// stage as an online routing strategy; it is fitted here by full-batch
// gradient steps on the same objective.
//
// The number of groups: stage 1 is fitted for every K̂ in 1 … K + extra_heads
// and scored by the held-out log-likelihood per comparison (user level: the
// posterior predictive log Σ_k p(k | train_u) Π_{c ∈ test_u} σ(s_c Δ_k(c));
// comparison level: log Σ_k π_k σ(s_c Δ_k(c))); k_best maximises it, k_hat
// is the smallest K̂ within one standard error (of the paired difference,
// over users) of the best.
//
// The plugin plural.micro reports held-out accuracy, overall and per true
// group, of the single BT model (FitBT with stage 1's optimizer, steps and
// l2), of the mixture with its global weights (user-agnostic, so bounded by
// IrreducibleAccuracy like BT; both also exactly, over all pairs against
// P̄), of the mixture routed by the user's context (and against the number
// of users the router learns from), and — not in the paper — of the mixture
// under each user's posterior given their own training comparisons; the
// bounds IrreducibleAccuracy and OracleAccuracy, overall and per group; the
// heads' recovery (MatchGroups: Pearson correlation with each planted
// group's reward, and the matched weights); and the held-out
// log-likelihood per K̂.

// The mixture likelihood levels (MixtureConfig.Level).
const (
	// MixtureUser draws one latent head per user: a user's comparisons
	// share it.
	MixtureUser = "user"
	// MixtureComparison draws a head per comparison (the paper's form).
	MixtureComparison = "comparison"
)

// MixtureLevels lists the levels, the default first.
var MixtureLevels = []string{MixtureUser, MixtureComparison}

// The heads' forms (MixtureConfig.Head).
const (
	// HeadItems gives each head one free score per item, S_k,i: FitBT's
	// parameterisation.
	HeadItems = "items"
	// HeadBaseLinear gives head k the reward S_k,i = c_i + θ_k·φ_i: a base
	// score per item shared by the heads plus a linear reward per head on
	// the item features (the paper's heads are linear layers on a shared
	// representation). The planted rewards have this form: −‖Aφ − p_k‖² =
	// −‖Aφ‖² + 2 p_k·Aφ − ‖p_k‖².
	HeadBaseLinear = "base_linear"
)

// MixtureHeads lists the heads' forms, the default first.
var MixtureHeads = []string{HeadBaseLinear, HeadItems}

// MixtureConfig configures FitMixture.
type MixtureConfig struct {
	Heads     int     // K̂ ≥ 1
	Head      string  // HeadBaseLinear or HeadItems
	Level     string  // MixtureUser or MixtureComparison
	InitScale float64 // ≥ 0: θ (or S for HeadItems) starts N(0, InitScale²), c at 0
	Restarts  int     // ≥ 1 fits from fresh heads; the lowest training loss wins
	L2        float64 // ≥ 0: adds L2·‖·‖² of the head parameters (c and θ, or S)
	// Balance ≥ 0 adds Balance·Σ_k π_k log π_k (the negative entropy of
	// the weights: the paper's load-balancing term, which keeps heads from
	// dying).
	Balance float64
	// Config holds the optimizer, its learning rate, the Steps and
	// EvalEvery; training is full batch (BatchSize is ignored).
	fit.Config
	Backend string // GoMLX backend; "" is the default
}

// DefaultMixtureConfig: 3 base-linear heads at the user level, θ from
// N(0, 1), 2 restarts, and FitBT's training settings (full-batch Adam at
// 0.05 for 500 steps, L2 = 1e-4). plural.micro trains at 0.1 for 250 steps.
func DefaultMixtureConfig() MixtureConfig {
	bt := DefaultBTConfig()
	return MixtureConfig{Heads: 3, Head: HeadBaseLinear, Level: MixtureUser, InitScale: 1, Restarts: 2, L2: bt.L2, Config: bt.Config}
}

func (c MixtureConfig) check() error {
	switch {
	case c.Heads < 1:
		return fmt.Errorf("plural: heads must be ≥ 1, got %d", c.Heads)
	case c.Head != HeadItems && c.Head != HeadBaseLinear:
		return fmt.Errorf("plural: head must be %s or %s, got %q", HeadBaseLinear, HeadItems, c.Head)
	case c.Level != MixtureUser && c.Level != MixtureComparison:
		return fmt.Errorf("plural: mixture level must be %s or %s, got %q", MixtureUser, MixtureComparison, c.Level)
	case !(c.InitScale >= 0) || math.IsInf(c.InitScale, 0):
		return fmt.Errorf("plural: init scale must be finite and ≥ 0, got %v", c.InitScale)
	case c.Restarts < 1:
		return fmt.Errorf("plural: restarts must be ≥ 1, got %d", c.Restarts)
	case !(c.L2 >= 0) || math.IsInf(c.L2, 0):
		return fmt.Errorf("plural: l2 must be finite and ≥ 0, got %v", c.L2)
	case !(c.Balance >= 0) || math.IsInf(c.Balance, 0):
		return fmt.Errorf("plural: balance must be finite and ≥ 0, got %v", c.Balance)
	}
	return c.Config.Check("plural")
}

// MixtureModel is a fitted mixture of Bradley–Terry heads.
type MixtureModel struct {
	Level   string      // the likelihood it was fitted with
	Head    string      // the heads' form
	Scores  [][]float64 // S, K̂ × N: head k's reward of item i
	Theta   [][]float64 // HeadBaseLinear: θ_k, K̂ × d (nil for HeadItems)
	Weights []float64   // π, the global mixture weights
	Loss    float64     // final training loss (without the L2 and balance terms)
}

// Prob is the probability that a is preferred to b under the global
// weights, Σ_k π_k σ(S_k,a − S_k,b).
func (m *MixtureModel) Prob(a, b int) float64 { return m.ProbWith(m.Weights, a, b) }

// ProbWith is Prob under the weights w (a router's, a posterior).
func (m *MixtureModel) ProbWith(w []float64, a, b int) float64 {
	s := 0.0
	for k, wk := range w {
		s += wk * pairloss.Sigmoid(m.Scores[k][a]-m.Scores[k][b])
	}
	return s
}

// logLikHeads returns, for each head, Σ_{c ∈ cmps} log σ(s_c Δ_k(c)).
func (m *MixtureModel) logLikHeads(cmps []Comparison) []float64 {
	out := make([]float64, len(m.Scores))
	for k, s := range m.Scores {
		for _, c := range cmps {
			out[k] -= pairloss.SoftplusNegFloat64(microMargin(s, c))
		}
	}
	return out
}

// microMargin is s_c Δ(c): the winner's score minus the loser's.
func microMargin(s []float64, c Comparison) float64 {
	if c.AWins {
		return s[c.A] - s[c.B]
	}
	return s[c.B] - s[c.A]
}

// Posterior returns each user's posterior over the heads given their
// comparisons in cmps, p(k | u) ∝ π_k Π_{c ∈ u} σ(s_c Δ_k(c)), for users
// 0 … users−1 (the prior π for a user without comparisons).
func (m *MixtureModel) Posterior(users int, cmps []Comparison) [][]float64 {
	by := microByUser(users, cmps)
	out := make([][]float64, users)
	for u := range out {
		ll := m.logLikHeads(by[u])
		for k := range ll {
			ll[k] += math.Log(m.Weights[k])
		}
		out[u] = microSoftmax(ll)
	}
	return out
}

// NLL is the model's training loss on cmps, at its Level, without the L2
// term: the float64 twin of the loss FitMixture minimises.
func (m *MixtureModel) NLL(cmps []Comparison) float64 {
	logw := make([]float64, len(m.Weights))
	for k, w := range m.Weights {
		logw[k] = math.Log(w)
	}
	total := 0.0
	if m.Level == MixtureComparison {
		for _, c := range cmps {
			total -= microLogSumExp(microAdd(logw, m.logLikHeads([]Comparison{c})))
		}
		return total / float64(len(cmps))
	}
	for _, group := range microGroups(cmps) {
		total -= microLogSumExp(microAdd(logw, m.logLikHeads(group)))
	}
	return total / float64(len(cmps))
}

// HeldOutLogLik is the log-likelihood of the comparisons test per
// comparison, and its standard error over users: at the user level the
// posterior predictive log Σ_k p(k | train_u) Π_{c ∈ test_u} σ(s_c Δ_k(c)),
// at the comparison level log Σ_k π_k σ(s_c Δ_k(c)); perUser holds each
// user's total (users 0 … users−1) for paired comparisons between models.
func (m *MixtureModel) HeldOutLogLik(users int, train, test []Comparison) (ll, se float64, perUser []float64) {
	byTest := microByUser(users, test)
	perUser = make([]float64, users)
	logw := make([]float64, len(m.Weights))
	for k, w := range m.Weights {
		logw[k] = math.Log(w)
	}
	var post [][]float64
	if m.Level == MixtureUser {
		post = m.Posterior(users, train)
	}
	for u, cmps := range byTest {
		if len(cmps) == 0 {
			continue
		}
		if m.Level == MixtureUser {
			lw := make([]float64, len(post[u]))
			for k, w := range post[u] {
				lw[k] = math.Log(w)
			}
			perUser[u] = microLogSumExp(microAdd(lw, m.logLikHeads(cmps)))
			continue
		}
		for _, c := range cmps {
			perUser[u] += microLogSumExp(microAdd(logw, m.logLikHeads([]Comparison{c})))
		}
	}
	n := float64(len(test))
	return microSum(perUser) / n, microSE(perUser, users) * float64(users) / n, perUser
}

// microPadded lays the comparisons out for the mixture graph: the winner
// and loser of each row, grouped by user into blocks of `per` rows (rows
// masked out pad the shorter blocks), the mask, and the number of blocks.
// At the comparison level every comparison is its own block of one.
type microPadded struct {
	win, lose []int32   // [blocks·per]
	mask      []float64 // [blocks·per]
	blocks    int
	per       int
	n         int // comparisons
}

func newMicroPadded(level string, cmps []Comparison) *microPadded {
	groups := microBlocks(level, cmps)
	per := 0
	for _, g := range groups {
		per = max(per, len(g))
	}
	rows := len(groups) * per
	pd := &microPadded{blocks: len(groups), per: per, n: len(cmps),
		win: make([]int32, rows), lose: make([]int32, rows), mask: make([]float64, rows)}
	for b, g := range groups {
		for i, c := range g {
			w, l := c.A, c.B
			if !c.AWins {
				w, l = l, w
			}
			pd.win[b*per+i], pd.lose[b*per+i], pd.mask[b*per+i] = int32(w), int32(l), 1
		}
	}
	return pd
}

func (pd *microPadded) inputs() []any {
	rows := pd.blocks * pd.per
	return []any{tensors.FromFlatDataAndDimensions(pd.win, rows, 1), tensors.FromFlatDataAndDimensions(pd.lose, rows, 1),
		tensors.FromFlatDataAndDimensions(pd.mask, rows)}
}

// microLogistic is the BT pair loss, −log σ(h).
var microLogistic = pairloss.Loss{Kind: pairloss.Logistic, Beta: 1}

// mixtureNLLGraph is the mixture's mean negative log-likelihood: s [K, N]
// head scores, alpha [K] logits of π, win, lose [rows, 1] (int32) and mask
// [rows] as microPadded lays them out (rows = blocks·per), n the number of
// comparisons (the divisor). Each block's log-likelihood under head k is
// Σ_{rows} mask · log σ(s_k,win − s_k,lose); the loss is
// −(1/n) Σ_blocks log Σ_k π_k exp(that). With one head it is FitBT's mean
// logistic loss: the log-softmax of one logit is 0 and the log-sum-exp of
// one term is the term.
func mixtureNLLGraph(s, alpha, win, lose, mask *Node, blocks, per int, n float64) *Node {
	k := s.Shape().Dimensions[0]
	st := Transpose(s, 0, 1)                    // [N, K]
	h := Sub(Gather(st, win), Gather(st, lose)) // [rows, K]
	ll := Neg(microLogistic.Pairs(h))           // log σ(h)
	ll = Mul(ll, Reshape(mask, blocks*per, 1))  // padding contributes 0
	if per > 1 {
		ll = ReduceSum(Reshape(ll, blocks, per, k), 1) // [blocks, K]
	}
	lse := microLogSumExpGraph(Add(ll, Reshape(LogSoftmax(alpha), 1, k))) // [blocks]
	if per == 1 && n == float64(blocks) {
		return Neg(ReduceAllMean(lse))
	}
	return MulScalar(ReduceAllSum(lse), -1/n)
}

// microLogSumExpGraph is log Σ_k exp(x_bk) over the last axis of x [B, K],
// shifted by the (constant) row maximum.
func microLogSumExpGraph(x *Node) *Node {
	dims := x.Shape().Dimensions
	m := StopGradient(ReduceAndKeep(x, ReduceMax, -1))
	return Add(Reshape(m, dims[0]), Log(ReduceSum(Exp(Sub(x, m)), -1)))
}

// MetricMixtureLoss is the series FitMixture records (per restart it is
// recorded under "mixture_loss" for restart 0 and "mixture_loss_rN" for
// the others).
const MetricMixtureLoss = "mixture_loss"

// FitMixture fits a mixture of cfg.Heads Bradley–Terry heads of the form
// cfg.Head and global weights to the comparisons cmps of p's users, by
// minimising the mixture loss at cfg.Level (mixtureNLLGraph) plus the L2
// and balance terms (full batch, fit.Loop), from θ (or S) drawn
// N(0, InitScale²) from r, c = 0 and α = 0; of cfg.Restarts fits it keeps
// the one with the lowest final loss. rec (may be nil) receives the loss
// every EvalEvery steps.
func FitMixture(ctx context.Context, p *Population, cmps []Comparison, cfg MixtureConfig, r *rand.Rand, rec fit.Recorder) (_ *MixtureModel, err error) {
	defer fit.Catch("plural", &err)
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if len(cmps) == 0 {
		return nil, fmt.Errorf("plural: no comparisons to fit")
	}
	n, k := len(p.Items), cfg.Heads
	pd := newMicroPadded(cfg.Level, cmps)
	in := pd.inputs()
	var best *MixtureModel
	for restart := range cfg.Restarts {
		be, opt, store, err := startFit(cfg.Backend, cfg.Config)
		if err != nil {
			return nil, err
		}
		root := store.RootScope()
		alpha := root.VariableWithValue("alpha", make([]float64, k))
		// params are the trained head variables; heads builds S [K, N]
		// from them.
		var params []*model.Variable
		var heads func(g *Graph) *Node
		if cfg.Head == HeadItems {
			init := make([]float64, k*n)
			for i := range init {
				init[i] = cfg.InitScale * r.NormFloat64()
			}
			scores := root.VariableWithValue("scores", tensors.FromFlatDataAndDimensions(init, k, n))
			params = []*model.Variable{scores}
			heads = func(g *Graph) *Node { return scores.NodeValue(g) }
		} else {
			d := len(p.Items[0])
			init := make([]float64, k*d)
			for i := range init {
				init[i] = cfg.InitScale * r.NormFloat64()
			}
			base := root.VariableWithValue("base", tensors.FromFlatDataAndDimensions(make([]float64, n), 1, n))
			theta := root.VariableWithValue("theta", tensors.FromFlatDataAndDimensions(init, k, d))
			params = []*model.Variable{base, theta}
			phiT := microTranspose(p.Items) // [d, N]
			heads = func(g *Graph) *Node {
				return Add(base.NodeValue(g), MatMul(theta.NodeValue(g), Const(g, phiT)))
			}
		}
		step, err := model.NewExec(be, store, func(scope *model.Scope, in []*Node) *Node {
			g := in[0].Graph()
			scope.SetTraining(g, true)
			mean := mixtureNLLGraph(heads(g), alpha.NodeValue(g), in[0], in[1], in[2], pd.blocks, pd.per, float64(pd.n))
			total := mean
			if cfg.L2 > 0 {
				for _, v := range params {
					total = Add(total, MulScalar(ReduceAllSum(Square(v.NodeValue(g))), cfg.L2))
				}
			}
			if cfg.Balance > 0 {
				logw := LogSoftmax(alpha.NodeValue(g))
				total = Add(total, MulScalar(ReduceAllSum(Mul(Exp(logw), logw)), cfg.Balance))
			}
			opt.UpdateGraph(scope, g, total)
			return mean
		})
		if err != nil {
			return nil, err
		}
		metric := MetricMixtureLoss
		if restart > 0 {
			metric = fmt.Sprintf("%s_r%d", MetricMixtureLoss, restart)
		}
		loop := fit.NewLoop("plural", cfg.Steps, fit.ExecStep(step, func(int) []any { return in }))
		loop.RecordMeanLoss(rec, metric, cfg.EvalEvery)
		if err := loop.Run(ctx); err != nil {
			return nil, err
		}
		m := &MixtureModel{Level: cfg.Level, Head: cfg.Head, Scores: make([][]float64, k),
			Weights: microSoftmax(tensors.MustCopyFlatData[float64](alpha.MustValue()))}
		if cfg.Head == HeadItems {
			flat := tensors.MustCopyFlatData[float64](params[0].MustValue())
			for h := range k {
				m.Scores[h] = flat[h*n : (h+1)*n]
			}
		} else {
			base := tensors.MustCopyFlatData[float64](params[0].MustValue())
			theta := tensors.MustCopyFlatData[float64](params[1].MustValue())
			d := len(p.Items[0])
			m.Theta = make([][]float64, k)
			for h := range k {
				m.Theta[h] = theta[h*d : (h+1)*d]
				m.Scores[h] = make([]float64, n)
				for i, phi := range p.Items {
					m.Scores[h][i] = base[i] + dot(m.Theta[h], phi)
				}
			}
		}
		m.Loss = m.NLL(cmps)
		if best == nil || m.Loss < best.Loss {
			best = m
		}
	}
	return best, nil
}

// RouterConfig configures FitRouter.
type RouterConfig struct {
	fit.Config         // optimizer, learning rate, Steps, EvalEvery; full batch
	L2         float64 // ≥ 0: adds L2·‖V‖²
	Backend    string
}

// DefaultRouterConfig: full-batch Adam at 0.05 for 300 steps, L2 = 1e-3.
func DefaultRouterConfig() RouterConfig {
	return RouterConfig{Config: fit.Config{Optimizer: fit.Adam, LearningRate: 0.05, Steps: 300, EvalEvery: 50}, L2: 1e-3}
}

// Router maps a user's context to mixture weights, π(x) = softmax(V x + b).
type Router struct {
	V [][]float64 // K̂ × context dimension
	B []float64   // K̂
}

// Weights returns π(x).
func (r *Router) Weights(x []float64) []float64 {
	logits := make([]float64, len(r.B))
	for k := range logits {
		logits[k] = r.B[k] + dot(r.V[k], x)
	}
	return microSoftmax(logits)
}

// MetricRouterLoss is the series FitRouter records.
const MetricRouterLoss = "router_loss"

// FitRouter fits a router on the users' contexts to the comparisons cmps
// with the heads of m frozen: it minimises the mixture loss at m's level
// with π(x_u) in place of π — per comparison −(1/C) Σ_c log Σ_k π_k(x_u)
// σ(s_c Δ_k(c)), per user −(1/C) Σ_u log Σ_k π_k(x_u) Π_{c ∈ u}
// σ(s_c Δ_k(c)) — plus L2·‖V‖² (full batch, fit.Loop), from V = 0 and
// b = log π (the global weights of m). rec (may be nil)
// receives the loss every EvalEvery steps.
func FitRouter(ctx context.Context, p *Population, m *MixtureModel, cmps []Comparison, cfg RouterConfig, rec fit.Recorder) (_ *Router, err error) {
	defer fit.Catch("plural", &err)
	if err := cfg.Check("plural"); err != nil {
		return nil, err
	}
	if !(cfg.L2 >= 0) || math.IsInf(cfg.L2, 0) {
		return nil, fmt.Errorf("plural: router l2 must be finite and ≥ 0, got %v", cfg.L2)
	}
	if len(cmps) == 0 {
		return nil, fmt.Errorf("plural: no comparisons to fit the router on")
	}
	dim := len(p.Users[0].Context)
	if dim == 0 {
		return nil, fmt.Errorf("plural: the population has no contexts to route on")
	}
	k := len(m.Scores)
	// One block per user at the user level, per comparison otherwise; the
	// heads are frozen, so each block's log-likelihood under each head is
	// a constant input.
	blocks := microBlocks(m.Level, cmps)
	x := make([]float64, 0, len(blocks)*dim)
	ll := make([]float64, 0, len(blocks)*k)
	for _, b := range blocks {
		x = append(x, p.Users[b[0].User].Context...)
		ll = append(ll, m.logLikHeads(b)...)
	}
	nb, n := len(blocks), float64(len(cmps))
	b0 := make([]float64, k)
	for i, w := range m.Weights {
		b0[i] = math.Log(w)
	}
	be, opt, store, err := startFit(cfg.Backend, cfg.Config)
	if err != nil {
		return nil, err
	}
	vVar := store.RootScope().VariableWithValue("v", tensors.FromFlatDataAndDimensions(make([]float64, dim*k), dim, k))
	bVar := store.RootScope().VariableWithValue("b", b0)
	step, err := model.NewExec(be, store, func(scope *model.Scope, xs, lls *Node) *Node {
		g := xs.Graph()
		scope.SetTraining(g, true)
		v := vVar.NodeValue(g)
		logits := Add(MatMul(xs, v), Reshape(bVar.NodeValue(g), 1, k))
		mean := MulScalar(ReduceAllSum(microLogSumExpGraph(Add(LogSoftmax(logits, -1), lls))), -1/n)
		total := mean
		if cfg.L2 > 0 {
			total = Add(mean, MulScalar(ReduceAllSum(Square(v)), cfg.L2))
		}
		opt.UpdateGraph(scope, g, total)
		return mean
	})
	if err != nil {
		return nil, err
	}
	in := []any{tensors.FromFlatDataAndDimensions(x, nb, dim), tensors.FromFlatDataAndDimensions(ll, nb, k)}
	loop := fit.NewLoop("plural", cfg.Steps, fit.ExecStep(step, func(int) []any { return in }))
	loop.RecordMeanLoss(rec, MetricRouterLoss, cfg.EvalEvery)
	if err := loop.Run(ctx); err != nil {
		return nil, err
	}
	v := tensors.MustCopyFlatData[float64](vVar.MustValue()) // [dim, K]
	rt := &Router{V: make([][]float64, k), B: tensors.MustCopyFlatData[float64](bVar.MustValue())}
	for h := range k {
		rt.V[h] = make([]float64, dim)
		for j := range dim {
			rt.V[h][j] = v[j*k+h]
		}
	}
	return rt, nil
}

// microGroups splits cmps by user, in increasing user order, keeping each
// user's comparisons in their order.
func microGroups(cmps []Comparison) [][]Comparison {
	by := map[int][]Comparison{}
	for _, c := range cmps {
		by[c.User] = append(by[c.User], c)
	}
	users := make([]int, 0, len(by))
	for u := range by {
		users = append(users, u)
	}
	sort.Ints(users)
	out := make([][]Comparison, len(users))
	for i, u := range users {
		out[i] = by[u]
	}
	return out
}

// microBlocks splits cmps into the blocks of the mixture likelihood at
// level: one per user (microGroups), or one per comparison.
func microBlocks(level string, cmps []Comparison) [][]Comparison {
	if level != MixtureComparison {
		return microGroups(cmps)
	}
	out := make([][]Comparison, len(cmps))
	for i := range cmps {
		out[i] = cmps[i : i+1]
	}
	return out
}

// microByUser indexes cmps by user 0 … users−1.
func microByUser(users int, cmps []Comparison) [][]Comparison {
	out := make([][]Comparison, users)
	for _, c := range cmps {
		out[c.User] = append(out[c.User], c)
	}
	return out
}

func microSoftmax(x []float64) []float64 {
	lse := microLogSumExp(x)
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = math.Exp(v - lse)
	}
	return out
}

func microLogSumExp(x []float64) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, v)
	}
	if math.IsInf(m, -1) {
		return m
	}
	s := 0.0
	for _, v := range x {
		s += math.Exp(v - m)
	}
	return m + math.Log(s)
}

func microAdd(a, b []float64) []float64 {
	out := make([]float64, len(a))
	for i := range a {
		out[i] = a[i] + b[i]
	}
	return out
}

func microSum(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s
}

// microSE is the standard error of the mean of x's first n entries.
func microSE(x []float64, n int) float64 {
	if n < 2 {
		return math.NaN()
	}
	mean := microSum(x[:n]) / float64(n)
	ss := 0.0
	for _, v := range x[:n] {
		ss += (v - mean) * (v - mean)
	}
	return math.Sqrt(ss / float64(n-1) / float64(n))
}

// microTranspose returns the rows x (n × d) as a d × n matrix.
func microTranspose(x [][]float64) [][]float64 {
	if len(x) == 0 {
		return nil
	}
	out := make([][]float64, len(x[0]))
	for j := range out {
		out[j] = make([]float64, len(x))
		for i, row := range x {
			out[j][i] = row[j]
		}
	}
	return out
}

// MicroID is the ID of the MiCRo plugin.
const MicroID = "plural.micro"

// Param keys of plural.micro besides fit's shared ones (optimizer,
// learning_rate, steps, eval_every: stage 1's training, also used by the
// single BT baseline).
const (
	// The planted population (PopulationConfig; weights ½ ⅓ ⅙ for 3 groups,
	// uniform otherwise).
	MicroParamGroups        = "groups"         // int in [1, 16], default 3: K
	MicroParamUsers         = "users"          // int in [2, 10⁵], default 300
	MicroParamPerUser       = "per_user"       // int in [2, 10⁴], default 40: comparisons per user
	MicroParamItems         = "items"          // int in [2, 2000], default 40: N
	MicroParamDim           = "dim"            // int in [1, 256], default 8: d
	MicroParamLatent        = "latent"         // int in [1, 64], default 2: m
	MicroParamContextDim    = "context_dim"    // int in [1, 256], default 4
	MicroParamContextSignal = "context_signal" // float in [0, 100], default 2
	MicroParamSpread        = "spread"         // float in (0, 100], default 1
	MicroParamTestFraction  = "test_fraction"  // float in (0, 0.9], default 0.25

	// Stage 1.
	MicroParamHeads     = "heads"             // int in [0, 32], default 0: K̂ (0: the planted K)
	MicroParamHead      = "head"              // choice base_linear|items
	MicroParamLevel     = "level"             // choice user|comparison
	MicroParamInitScale = "init_scale"        // float in [0, 100], default 1
	MicroParamRestarts  = "restarts"          // int in [1, 100], default 2
	MicroParamBalance   = "balance"           // float in [0, 100], default 0: the load-balancing weight
	MicroParamL2        = "l2_regularization" // float in [0, 10], default 1e-4 (GoMLX's key)
	// MicroParamExtraHeads (int in [0, 8], default 2): the K̂ sweep fits
	// 1 … K + extra_heads heads.
	MicroParamExtraHeads = "extra_heads"

	// Stage 2.
	MicroParamRouterFraction = "router_fraction"      // float in (0, 1], default 0.1: users whose comparisons fit the router
	MicroParamRouterSteps    = "router_steps"         // int ≥ 1, default 300
	MicroParamRouterLR       = "router_learning_rate" // float > 0, default 0.05
	MicroParamRouterL2       = "router_l2"            // float in [0, 10], default 1e-3
)

func init() { kernel.Register(microPlugin{}) }

type microPlugin struct{}

var _ kernel.Quick = microPlugin{}

// PaperMiCRo is the MiCRo paper.
var PaperMiCRo = kernel.Paper{Title: "MiCRo: Mixture Modeling and Context-aware Routing for Personalized Preference Learning",
	Authors: "J. Shen, J. Yao, R. Yang, Y. Sun, F. Luo, R. Pan, T. Zhang, H. Zhao", Year: 2025, ArXiv: "2505.24846"}

// microDefaults are plural.micro's stage-1 defaults: DefaultMixtureConfig
// with Adam at 0.1 for 250 steps (converged on the default population).
func microDefaults() MixtureConfig {
	c := DefaultMixtureConfig()
	c.LearningRate, c.Steps, c.EvalEvery = 0.1, 250, 25
	return c
}

func (microPlugin) Info() kernel.Info {
	pc, mc, rc := DefaultPopulationConfig(), microDefaults(), DefaultRouterConfig()
	params := []kernel.Param{
		kernel.IntParam(MicroParamGroups, int64(pc.Groups), 1, 16, "planted groups K (weights ½ ⅓ ⅙ for 3, uniform otherwise)"),
		kernel.IntParam(MicroParamUsers, int64(pc.Users), 2, 100_000, "users"),
		kernel.IntParam(MicroParamPerUser, int64(pc.PerUser), 2, 10_000, "comparisons per user"),
		kernel.IntParam(MicroParamItems, int64(pc.Items), 2, 2000, "items N"),
		kernel.IntParam(MicroParamDim, int64(pc.Dim), 1, 256, "item feature dimension d"),
		kernel.IntParam(MicroParamLatent, int64(pc.Latent), 1, 64, "ideal-point dimension m"),
		kernel.IntParam(MicroParamContextDim, int64(pc.ContextDim), 1, 256, "user context dimension"),
		kernel.FloatParam(MicroParamContextSignal, pc.ContextSignal, 0, 100, "norm of each group's context mean (0: contexts say nothing)"),
		kernel.Param{Key: MicroParamSpread, Type: kernel.Float, Default: pc.Spread, Range: kernel.Range{Min: 0, Max: 100, MinExclusive: true},
			Doc: "standard deviation of the ideal points and of the item map"},
		kernel.Param{Key: MicroParamTestFraction, Type: kernel.Float, Default: pc.TestFraction, Range: kernel.Range{Min: 0, Max: 0.9, MinExclusive: true},
			Doc: "share of each user's comparisons held out"},
		kernel.IntParam(MicroParamHeads, 0, 0, 32, "mixture heads K̂ (0: the planted K)"),
		kernel.ChoiceParam(MicroParamHead, mc.Head, MixtureHeads, "base_linear: S_ki = c_i + θ_k·φ_i; items: a free score per item and head"),
		kernel.ChoiceParam(MicroParamLevel, mc.Level, MixtureLevels, "user: one latent head per user; comparison: per comparison (the paper's)"),
		kernel.FloatParam(MicroParamInitScale, mc.InitScale, 0, 100, "heads' initial parameters ~ N(0, init_scale²)"),
		kernel.IntParam(MicroParamRestarts, int64(mc.Restarts), 1, 100, "stage-1 fits from fresh heads; the lowest training loss wins"),
		kernel.FloatParam(MicroParamBalance, mc.Balance, 0, 100, "weight of the load-balancing term Σ π log π"),
		kernel.FloatParam(MicroParamL2, mc.L2, 0, 10, "λ of the L2 penalty on the heads (and on the BT baseline's scores)"),
		kernel.IntParam(MicroParamExtraHeads, 2, 0, 8, "the K̂ sweep fits 1 … K + extra_heads heads"),
		kernel.Param{Key: MicroParamRouterFraction, Type: kernel.Float, Default: 0.1, Range: kernel.Range{Min: 0, Max: 1, MinExclusive: true},
			Doc: "share of the users whose training comparisons (with their contexts) fit the router"},
		kernel.IntParam(MicroParamRouterSteps, int64(rc.Steps), 1, 1_000_000, "full-batch Adam steps of the router"),
		kernel.Param{Key: MicroParamRouterLR, Type: kernel.Float, Default: rc.LearningRate, Range: kernel.Range{Min: 0, Max: 10, MinExclusive: true},
			Doc: "the router's learning rate"},
		kernel.FloatParam(MicroParamRouterL2, rc.L2, 0, 10, "λ of the L2 penalty on the router's V"),
	}
	params = append(params, fit.Params(fit.Defaults{
		Optimizers: []string{fit.Adam, fit.SGD}, LearningRate: mc.LearningRate, Steps: mc.Steps, EvalEvery: mc.EvalEvery,
		Doc: map[string]string{fit.ParamSteps: "full-batch optimizer steps of stage 1 (and of the BT baseline)"},
	})...)
	return kernel.Info{
		ID:        MicroID,
		Precision: "float64 (GoMLX): linear and small MLP reward models checked against planted parameters. Not yet float32 by default (issue 19).",
		Summary:   "MiCRo: a mixture of Bradley–Terry heads from binary preferences, then a router on the user's context, vs one BT model",
		Papers:    []kernel.Paper{PaperMiCRo},
		Params:    params,
		Model:     microModelDoc,
		Doc: `Plants K groups of users (rewards r_k(i) = −‖Aφ_i − p_k‖², contexts that carry a signal of the group) and fits
stage 1, K̂ reward heads and global weights π from the binary labels alone,

    level=user:        L = −(1/C) Σ_u log Σ_k π_k Π_{c ∈ u} σ(s_c Δ_k(c))
    level=comparison:  L = −(1/C) Σ_c log Σ_k π_k σ(s_c Δ_k(c))      (the paper's)

(Δ_k(c) = S_k,A − S_k,B, s_c = ±1 by the label; heads S_ki = c_i + θ_k·φ_i or free per-item scores) + l2·‖·‖²
+ balance·Σ π log π, then stage 2 with the heads frozen: a router π(x_u) = softmax(V x_u + b) fitted on the
training comparisons of a router_fraction of the users, by stage 1's loss with π(x_u) for π, + router_l2·‖V‖².

Finals: accuracy_{bt,mixture,router,posterior} and per true group accuracy_<model>_group<k> (held out; posterior,
not in the paper: the mixture under each user's posterior given their own training comparisons);
accuracy_{bt,mixture}_exact (exact over all pairs against the mixture P̄); irreducible_accuracy (the best
user-agnostic predictor), oracle_accuracy (knows each user's group), transitive; accuracy_router_all_users;
recovery_corr_group<k>, recovery_corr_min/mean (Pearson correlation of each planted group's reward with its
Hungarian-matched head), fitted_weight_group<k>; heldout_loglik, k_best and k_hat (the smallest K̂ within one
standard error of the best) over K̂ = 1 … K + extra_heads, k_best_correct, k_hat_correct. Tables and charts:
accuracy per group and model with the per-group bounds; heads (held-out log-likelihood ± SE vs K̂); rewards
(learned vs planted, matched); router_supervision (routed accuracy vs users the router learns from); losses.`,
	}
}

// QuickParams are small params for the tests that run every plugin.
func (microPlugin) QuickParams() map[string]any {
	return map[string]any{MicroParamUsers: 30, MicroParamPerUser: 8, MicroParamItems: 10, MicroParamExtraHeads: 0,
		MicroParamRestarts: 1, fit.ParamSteps: 20, fit.ParamEvalEvery: 10, MicroParamRouterSteps: 10, MicroParamRouterFraction: 0.5}
}

// microPopulation is the population plural.micro plants from its params.
func microPopulation(prm kernel.Params) PopulationConfig {
	pc := DefaultPopulationConfig()
	pc.Groups, pc.Users, pc.PerUser, pc.Items = prm.Int(MicroParamGroups), prm.Int(MicroParamUsers), prm.Int(MicroParamPerUser), prm.Int(MicroParamItems)
	pc.Dim, pc.Latent, pc.ContextDim = prm.Int(MicroParamDim), prm.Int(MicroParamLatent), prm.Int(MicroParamContextDim)
	pc.ContextSignal, pc.Spread, pc.TestFraction = prm.Float(MicroParamContextSignal), prm.Float(MicroParamSpread), prm.Float(MicroParamTestFraction)
	if pc.Groups != len(pc.Weights) {
		pc.Weights = nil
	}
	return pc
}

func (microPlugin) Run(job *kernel.Job) error {
	prm := job.Params
	pc := microPopulation(prm)
	mc := MixtureConfig{Heads: prm.Int(MicroParamHeads), Head: prm.String(MicroParamHead), Level: prm.String(MicroParamLevel),
		InitScale: prm.Float(MicroParamInitScale), Restarts: prm.Int(MicroParamRestarts), L2: prm.Float(MicroParamL2),
		Balance: prm.Float(MicroParamBalance), Config: fit.Read(prm), Backend: job.Backend}
	if mc.Heads == 0 {
		mc.Heads = pc.Groups
	}
	rc := DefaultRouterConfig()
	rc.Steps, rc.LearningRate, rc.L2, rc.EvalEvery, rc.Backend = prm.Int(MicroParamRouterSteps), prm.Float(MicroParamRouterLR), prm.Float(MicroParamRouterL2), mc.EvalEvery, job.Backend
	bc := BTConfig{Config: mc.Config, L2: mc.L2, Backend: job.Backend}

	p, err := GeneratePopulation(pc, job.Rand())
	if err != nil {
		return err
	}
	if len(p.Test) == 0 {
		return fmt.Errorf("plural: no held-out comparisons: raise %s or %s", MicroParamPerUser, MicroParamTestFraction)
	}
	maxHeads := pc.Groups + prm.Int(MicroParamExtraHeads)
	job.SetTotal(int64(bc.Steps + mc.Steps*mc.Restarts + rc.Steps))
	ctx := job.Context()
	bt, err := FitBT(ctx, p, p.Train, bc, job.Rand(), job.Record)
	if err != nil {
		return err
	}
	m, err := FitMixture(ctx, p, p.Train, mc, job.Rand(), job.Record)
	if err != nil {
		return err
	}

	// Stage 2: the router, on a random share of the users; and the
	// router's accuracy against the number of users it learns from (nested
	// shares of one permutation).
	order := job.Rand().Perm(pc.Users)
	nr := max(1, int(math.Round(prm.Float(MicroParamRouterFraction)*float64(pc.Users))))
	router, routed, err := microRouterOn(ctx, p, m, order[:nr], rc, job.Record)
	if err != nil {
		return err
	}
	supervision := job.AddTable("router_supervision", "users", "model", "accuracy")
	mixtureAcc := Accuracy(p.Test, func(c Comparison) float64 { return m.Prob(c.A, c.B) })
	prev := 0
	for _, f := range []float64{0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1} {
		n := max(1, int(math.Round(f*float64(pc.Users))))
		if n <= prev {
			continue
		}
		prev = n
		rt := router
		if n != nr {
			if rt, _, err = microRouterOn(ctx, p, m, order[:n], rc, nil); err != nil {
				return err
			}
		}
		supervision.Add(float64(n), "router", Accuracy(p.Test, func(c Comparison) float64 { return m.ProbWith(rt.Weights(p.Users[c.User].Context), c.A, c.B) }))
		supervision.Add(float64(n), "mixture", mixtureAcc)
		if n == pc.Users {
			job.SetFinal("accuracy_router_all_users", supervision.Rows[len(supervision.Rows)-2][2].(float64))
		}
	}
	job.AddChart(kernel.Chart{Kind: "xy", ID: "micro_router_supervision", Title: "Routed accuracy vs the number of users the router learns from",
		Table: "router_supervision", X: "users", Value: "accuracy", Group: "model", XLabel: "users with contexts (stage 2)", YLabel: "held-out accuracy", LogX: true})

	// The number of groups: the held-out log-likelihood per K̂.
	sweep := make([]*MixtureModel, maxHeads+1)
	sweep[mc.Heads] = m
	for k := 1; k <= maxHeads; k++ {
		if sweep[k] != nil {
			continue
		}
		c := mc
		c.Heads = k
		if sweep[k], err = FitMixture(ctx, p, p.Train, c, job.Rand(), nil); err != nil {
			return err
		}
	}
	reportMicro(job, p, bt, m, router, sweep[1:], routed, nr)
	job.SetModel(&MicroTrained{Mixture: m, Router: router, BT: bt})
	return nil
}

// microRouterOn fits a router on the training comparisons of users.
func microRouterOn(ctx context.Context, p *Population, m *MixtureModel, users []int, rc RouterConfig, rec fit.Recorder) (*Router, []Comparison, error) {
	in := make([]bool, len(p.Users))
	for _, u := range users {
		in[u] = true
	}
	var cmps []Comparison
	for _, c := range p.Train {
		if in[c.User] {
			cmps = append(cmps, c)
		}
	}
	rt, err := FitRouter(ctx, p, m, cmps, rc, rec)
	return rt, cmps, err
}

// reportMicro sets plural.micro's finals, tables and charts.
func reportMicro(job *kernel.Job, p *Population, bt *BTModel, m *MixtureModel, router *Router, sweep []*MixtureModel, routed []Comparison, routerUsers int) {
	users := len(p.Users)
	post := m.Posterior(users, p.Train)
	models := []struct {
		name string
		prob func(c Comparison) float64
	}{
		{"bt", func(c Comparison) float64 { return bt.Prob(c.A, c.B) }},
		{"mixture", func(c Comparison) float64 { return m.Prob(c.A, c.B) }},
		{"router", func(c Comparison) float64 { return m.ProbWith(router.Weights(p.Users[c.User].Context), c.A, c.B) }},
		{"posterior", func(c Comparison) float64 { return m.ProbWith(post[c.User], c.A, c.B) }},
	}
	irr, transitive := p.IrreducibleAccuracy()
	irrG, oracleG := microGroupBounds(p)
	acc := job.AddTable("accuracy", "group", "model", "accuracy")
	for _, md := range models {
		all := Accuracy(p.Test, md.prob)
		job.SetFinal("accuracy_"+md.name, all)
		acc.Add("all", md.name, all)
		for k, a := range GroupAccuracy(p, p.Test, md.prob) {
			job.SetFinal(fmt.Sprintf("accuracy_%s_group%d", md.name, k), a)
			acc.Add(fmt.Sprintf("group %d", k), md.name, a)
		}
	}
	acc.Add("all", "irreducible", irr)
	acc.Add("all", "oracle", p.OracleAccuracy())
	for k := range irrG {
		acc.Add(fmt.Sprintf("group %d", k), "irreducible", irrG[k])
		acc.Add(fmt.Sprintf("group %d", k), "oracle", oracleG[k])
	}
	job.SetFinal("irreducible_accuracy", irr)
	job.SetFinal("oracle_accuracy", p.OracleAccuracy())
	// The user-agnostic models' accuracy without the test sample's noise:
	// exact over all pairs, against the mixture P̄.
	job.SetFinal("accuracy_bt_exact", microExactAccuracy(p, bt.Prob))
	job.SetFinal("accuracy_mixture_exact", microExactAccuracy(p, m.Prob))
	job.SetFinal("transitive", map[bool]float64{false: 0, true: 1}[transitive])
	job.SetFinal("test_comparisons", float64(len(p.Test)))
	job.SetFinal("router_users", float64(routerUsers))
	job.SetFinal("router_comparisons", float64(len(routed)))
	if !transitive {
		job.Note("the user-agnostic majority has a cycle: no single score per item attains the irreducible accuracy")
	}

	// Recovery of the groups.
	truth := p.Rewards()
	perm, corr := MatchGroups(truth, m.Scores)
	rec := job.AddTable("recovery", "group", "weight", "fitted_weight", "correlation")
	minC, meanC := math.Inf(1), 0.0
	for k := range truth {
		w := math.NaN()
		if perm[k] >= 0 {
			w = m.Weights[perm[k]]
		}
		rec.Add(fmt.Sprintf("group %d", k), p.Weights[k], w, corr[k])
		job.SetFinal(fmt.Sprintf("recovery_corr_group%d", k), corr[k])
		job.SetFinal(fmt.Sprintf("fitted_weight_group%d", k), w)
		minC = math.Min(minC, corr[k])
		meanC += corr[k] / float64(len(truth))
	}
	job.SetFinal("recovery_corr_min", minC)
	job.SetFinal("recovery_corr_mean", meanC)
	rewards := job.AddTable("rewards", "group", "planted", "learned")
	for k := range truth {
		if perm[k] < 0 {
			continue
		}
		for i := range truth[k] {
			rewards.Add(fmt.Sprintf("group %d", k), truth[k][i], m.Scores[perm[k]][i])
		}
	}

	// The number of groups.
	heads := job.AddTable("heads", "heads", "heldout_loglik", "low", "high", "train_loss")
	lls := make([]float64, len(sweep))
	perUser := make([][]float64, len(sweep))
	best := 0
	for i, s := range sweep {
		ll, se, pu := s.HeldOutLogLik(users, p.Train, p.Test)
		lls[i], perUser[i] = ll, pu
		heads.Add(float64(i+1), ll, ll-se, ll+se, s.Loss)
		if ll > lls[best] {
			best = i
		}
	}
	kHat := best
	for i := range best {
		diff := make([]float64, users)
		for u := range diff {
			diff[u] = perUser[best][u] - perUser[i][u]
		}
		if se := microSE(diff, users) * float64(users) / float64(len(p.Test)); lls[best]-lls[i] <= se {
			kHat = i
			break
		}
	}
	job.SetFinal("heads", float64(len(m.Scores)))
	job.SetFinal("heldout_loglik", lls[len(m.Scores)-1])
	job.SetFinal("k_best", float64(best+1))
	job.SetFinal("k_hat", float64(kHat+1))
	job.SetFinal("k_hat_correct", map[bool]float64{false: 0, true: 1}[kHat+1 == len(p.Weights)])
	job.SetFinal("k_best_correct", map[bool]float64{false: 0, true: 1}[best+1 == len(p.Weights)])

	job.AddChart(kernel.Chart{Kind: "bar", ID: "micro_accuracy", Title: "Held-out accuracy per true group: BT, mixture, routed mixture, posterior, bounds",
		Table: "accuracy", X: "group", Value: "accuracy", Group: "model", YLabel: "held-out accuracy"})
	job.AddChart(kernel.Chart{Kind: "xy", ID: "micro_heads", Title: "Held-out log-likelihood per comparison vs the number of heads K̂",
		Table: "heads", X: "heads", Value: "heldout_loglik", Low: "low", High: "high", XLabel: "K̂", YLabel: "held-out log-likelihood"})
	job.AddChart(kernel.Chart{Kind: "scatter", ID: "micro_rewards", Title: "Learned head vs planted group reward (matched)",
		Table: "rewards", X: "planted", Y: "learned", Group: "group", XLabel: "planted r_k", YLabel: "learned head"})
	job.AddChart(kernel.Chart{Kind: "line", ID: "micro_loss", Title: "Training losses",
		Series: []string{MetricMixtureLoss, MetricBTLoss, MetricRouterLoss}, YLabel: "loss"})
}

// microExactAccuracy is the accuracy of the user-agnostic predictor prob
// on a random user's comparison of a uniform pair of distinct items,
// exact: the mean over pairs of P̄ or 1 − P̄ on the side prob picks (½ on
// a tie).
func microExactAccuracy(p *Population, prob func(a, b int) float64) float64 {
	n := len(p.Items)
	acc, pairs := 0.0, 0
	for a := range n {
		for b := a + 1; b < n; b++ {
			q, h := p.MixtureProb(a, b), prob(a, b)
			switch {
			case h > 0.5:
				acc += q
			case h < 0.5:
				acc += 1 - q
			default:
				acc += 0.5
			}
			pairs++
		}
	}
	return acc / float64(pairs)
}

// microGroupBounds returns, per true group k, the accuracy on group k's
// users of the best user-agnostic predictor (the majority of P̄: mean over
// pairs of P_k or 1 − P_k on its side) and of the oracle (mean of
// max(P_k, 1 − P_k)), exact over all pairs of items.
func microGroupBounds(p *Population) (irr, oracle []float64) {
	k, n := len(p.Weights), len(p.Items)
	irr, oracle = make([]float64, k), make([]float64, k)
	pairs := 0
	for a := range n {
		for b := a + 1; b < n; b++ {
			q := p.MixtureProb(a, b)
			for g := range k {
				pk := p.Prob(g, a, b)
				switch {
				case q > 0.5:
					irr[g] += pk
				case q < 0.5:
					irr[g] += 1 - pk
				default:
					irr[g] += 0.5
				}
				oracle[g] += math.Max(pk, 1-pk)
			}
			pairs++
		}
	}
	for g := range k {
		irr[g] /= float64(pairs)
		oracle[g] /= float64(pairs)
	}
	return irr, oracle
}
