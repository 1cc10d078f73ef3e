package plural

// # RLBFF: principle-conditioned reward models
//
// Wang, Zeng, Delalleau, Evans, Egert, Shin, Soares, Dong & Kuchaiev
// (2025), "RLBFF: Binary Flexible Feedback to bridge between Human
// Feedback & Verifiable Rewards", arXiv:2509.21319. Feedback on single
// responses is turned into binary principles (the response satisfies
// principle j: yes or no), and the reward model, given the principle as
// input, predicts the probability of "yes" (an entailment task, trained
// with the cross-entropy of the binary label). At inference the user says
// which principles count; a Bradley–Terry model trained on preferences
// cannot be steered that way.
//
// The planted truth (GeneratePrinciples): items φ_i ∈ R^d, J principles
// with satisfaction logits ℓ_j(i) = v_j·φ_i + b_j and P_j(i) = σ(ℓ_j(i)),
// judgments (i, j, yes ~ Bernoulli(P_j(i))) on uniform (item, principle)
// pairs. A user with principle weights c (c ≥ 0, Σ c_j = 1) has the reward
// R_c(i) = Σ_j c_j P_j(i) and prefers a to b with probability
// σ(κ (R_c(a) − R_c(b))). The first weighting is the population's.
//
// The model (FitRLBFF) has one logistic head per principle on the item
// features, ĥ_j(i) = w_j·φ_i + β_j (a linear model of the principle's
// one-hot embedding crossed with the features), fitted with pairloss's
// logistic loss on h = ±ĥ (a pointwise loss):
//
//	L(W, β) = (1/M) Σ_n −log σ(y_n ĥ_{j_n}(i_n)) + λ‖W‖²,   y_n = +1 (yes), −1 (no)
//	∂L/∂w_j = (1/M) Σ_{n: j_n = j} −y_n σ(−y_n ĥ_j(i_n)) φ_{i_n} + 2λ w_j
//
// and composes a user's reward as R̂_c(i) = Σ_j c_j σ(ĥ_j(i)) (compose
// "prob", the truth's form) or Σ_j c_j ĥ_j(i) (compose "logit").
//
// Matched data: the single Bradley–Terry baseline (FitBT) is trained on as
// many preference labels as RLBFF gets binary judgments (M each), the
// comparisons drawn on uniform pairs of the same items from the population
// weighting.
//
// The plugin plural.rlbff reports, on held-out data: the accuracy per
// principle against the Bayes accuracy mean_i max(P_j, 1 − P_j) and the
// correlation of w_j with v_j; per weighting (the true "groups"), the
// pairwise accuracy of R̂_c, of the BT model and the exact Bayes bound
// mean_{a<b} max(q, 1 − q); overall (weightings in equal shares) next to
// the irreducible accuracy of a user-agnostic predictor and the oracle
// that knows each user's weighting; and a steering table (the top items
// under each weighting, with their true rank).

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/stat"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/algos/pairloss"
	"github.com/alignlab/alignlab/kernel"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// PrincipleConfig configures GeneratePrinciples.
type PrincipleConfig struct {
	Principles int     // J ≥ 1
	Dim        int     // d ≥ 1, item feature dimension
	Items      int     // N ≥ 2, the item pool
	Judgments  int     // M ≥ 1 training judgments, and the BT baseline's preference labels
	Test       int     // ≥ 1: held-out judgments, and held-out comparisons per weighting
	LogitScale float64 // s > 0: sd of the satisfaction logits
	PrefScale  float64 // κ > 0: preference sharpness on the composed reward
	// Weightings are the users' principle weights, J non-negative numbers
	// each (normalised to sum 1); the first is the population's, from which
	// the BT baseline's comparisons come. nil: DefaultWeightings(J).
	Weightings [][]float64
}

// DefaultPrincipleConfig: 4 principles, 8 features, 200 items, 2000
// judgments (and 2000 BT comparisons), 2000 held out, logit scale 2,
// preference scale 8, the default weightings. With 200 items each is in
// about 20 comparisons, as responses in preference data are seen rarely.
func DefaultPrincipleConfig() PrincipleConfig {
	return PrincipleConfig{Principles: 4, Dim: 8, Items: 200, Judgments: 2000, Test: 2000, LogitScale: 2, PrefScale: 8}
}

// DefaultWeightings are, for j principles: the population's (uniform), only
// principle 0, the second half of the principles (the last one when j = 1),
// and a ramp c_k ∝ k + 1; each normalised to sum 1.
func DefaultWeightings(j int) [][]float64 {
	uniform, first, half, ramp := make([]float64, j), make([]float64, j), make([]float64, j), make([]float64, j)
	for k := range j {
		uniform[k] = 1
		ramp[k] = float64(k + 1)
		if k >= j/2 {
			half[k] = 1
		}
	}
	first[0] = 1
	out := [][]float64{uniform, first, half, ramp}
	for _, w := range out {
		normalize(w)
	}
	return out
}

// ParseWeightings reads weightings written as "1,1,1,1; 1,0,0,0; …": each
// of j non-negative numbers with a positive sum, normalised to sum 1.
func ParseWeightings(s string, j int) ([][]float64, error) {
	var out [][]float64
	for _, part := range strings.Split(s, ";") {
		fields := strings.Split(part, ",")
		if len(fields) != j {
			return nil, fmt.Errorf("plural: weighting %q has %d weights, want one per principle (%d)", strings.TrimSpace(part), len(fields), j)
		}
		w := make([]float64, j)
		for k, f := range fields {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil {
				return nil, fmt.Errorf("plural: weighting %q: %v", strings.TrimSpace(part), err)
			}
			w[k] = v
		}
		if err := checkWeighting(w); err != nil {
			return nil, err
		}
		normalize(w)
		out = append(out, w)
	}
	return out, nil
}

func checkWeighting(w []float64) error {
	sum := 0.0
	for _, v := range w {
		if !(v >= 0) || math.IsInf(v, 0) {
			return fmt.Errorf("plural: principle weights must be finite and ≥ 0, got %v", w)
		}
		sum += v
	}
	if !(sum > 0) {
		return fmt.Errorf("plural: principle weights %v sum to 0, want > 0", w)
	}
	return nil
}

func (c PrincipleConfig) check() error {
	switch {
	case c.Principles < 1 || c.Dim < 1:
		return fmt.Errorf("plural: principles and dimension must be ≥ 1, got %d and %d", c.Principles, c.Dim)
	case c.Items < 2:
		return fmt.Errorf("plural: items must be ≥ 2, got %d", c.Items)
	case c.Judgments < 1 || c.Test < 1:
		return fmt.Errorf("plural: judgments and test must be ≥ 1, got %d and %d", c.Judgments, c.Test)
	case !(c.LogitScale > 0) || math.IsInf(c.LogitScale, 0):
		return fmt.Errorf("plural: logit scale must be finite and > 0, got %v", c.LogitScale)
	case !(c.PrefScale > 0) || math.IsInf(c.PrefScale, 0):
		return fmt.Errorf("plural: preference scale must be finite and > 0, got %v", c.PrefScale)
	case c.Weightings != nil && len(c.Weightings) == 0:
		return fmt.Errorf("plural: want at least one weighting (the population's)")
	}
	for _, w := range c.Weightings {
		if len(w) != c.Principles {
			return fmt.Errorf("plural: weighting %v has %d weights, want %d", w, len(w), c.Principles)
		}
		if err := checkWeighting(w); err != nil {
			return err
		}
	}
	return nil
}

// Judgment is one binary principle judgment: item Item satisfies principle
// Principle (Yes) or not.
type Judgment struct {
	Item, Principle int
	Yes             bool
}

// Principles is a planted world of principle judgments and the preferences
// they imply; see the package documentation (# RLBFF) for the model.
type Principles struct {
	Config     PrincipleConfig
	Items      [][]float64 // φ_i ∈ R^d
	Satisfy    [][]float64 // v_j ∈ R^d
	Bias       []float64   // b_j
	Weightings [][]float64 // normalised; [0] is the population's
	Train      []Judgment  // M judgments
	Test       []Judgment  // held out
	// Prefs are M comparisons from the population weighting (User 0), the
	// BT baseline's matched training data; TestPrefs are Test comparisons
	// per weighting, User being the weighting's index.
	Prefs, TestPrefs []Comparison
}

// GeneratePrinciples draws a world from r: items φ_i ~ N(0, I), v_j ~
// N(0, s²/d I) and b_j ~ N(0, (s/2)²) (so the logits have sd ≈ s), then
// the training judgments, the held-out judgments (uniform item and
// principle, yes ~ Bernoulli(P_j(i))), the M population comparisons and
// the Test comparisons of each weighting (two distinct uniform items).
func GeneratePrinciples(cfg PrincipleConfig, r *rand.Rand) (*Principles, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	pr := &Principles{Config: cfg}
	if cfg.Weightings == nil {
		pr.Weightings = DefaultWeightings(cfg.Principles)
	} else {
		for _, w := range cfg.Weightings {
			w = slices.Clone(w)
			normalize(w)
			pr.Weightings = append(pr.Weightings, w)
		}
	}
	s := cfg.LogitScale
	pr.Items = gaussianRows(r, cfg.Items, cfg.Dim, 1)
	pr.Satisfy = gaussianRows(r, cfg.Principles, cfg.Dim, s/math.Sqrt(float64(cfg.Dim)))
	pr.Bias = gaussianRows(r, 1, cfg.Principles, s/2)[0]
	judge := func(n int) []Judgment {
		out := make([]Judgment, n)
		for k := range out {
			i, j := r.IntN(cfg.Items), r.IntN(cfg.Principles)
			out[k] = Judgment{Item: i, Principle: j, Yes: r.Float64() < pr.Prob(j, i)}
		}
		return out
	}
	pr.Train = judge(cfg.Judgments)
	pr.Test = judge(cfg.Test)
	compare := func(w, n int) []Comparison {
		out := make([]Comparison, n)
		for k := range out {
			a := r.IntN(cfg.Items)
			b := (a + 1 + r.IntN(cfg.Items-1)) % cfg.Items
			out[k] = Comparison{User: w, A: a, B: b, AWins: r.Float64() < pr.PairProb(pr.Weightings[w], a, b)}
		}
		return out
	}
	pr.Prefs = compare(0, cfg.Judgments)
	for w := range pr.Weightings {
		pr.TestPrefs = append(pr.TestPrefs, compare(w, cfg.Test)...)
	}
	return pr, nil
}

// Logit is the true satisfaction logit ℓ_j(i) = v_j·φ_i + b_j.
func (pr *Principles) Logit(j, i int) float64 { return dot(pr.Satisfy[j], pr.Items[i]) + pr.Bias[j] }

// Prob is P_j(i) = σ(ℓ_j(i)), the probability that item i is judged to
// satisfy principle j.
func (pr *Principles) Prob(j, i int) float64 { return pairloss.Sigmoid(pr.Logit(j, i)) }

// Reward is the composed reward R_c(i) = Σ_j c_j P_j(i) of weights c.
func (pr *Principles) Reward(c []float64, i int) float64 {
	s := 0.0
	for j, w := range c {
		s += w * pr.Prob(j, i)
	}
	return s
}

// PairProb is the probability σ(κ (R_c(a) − R_c(b))) that a user with
// weights c prefers a to b.
func (pr *Principles) PairProb(c []float64, a, b int) float64 {
	return pairloss.Sigmoid(pr.Config.PrefScale * (pr.Reward(c, a) - pr.Reward(c, b)))
}

// JudgmentBayes is the Bayes accuracy of principle j's judgments on a
// uniform item, mean_i max(P_j(i), 1 − P_j(i)), exact.
func (pr *Principles) JudgmentBayes(j int) float64 {
	s := 0.0
	for i := range pr.Items {
		p := pr.Prob(j, i)
		s += math.Max(p, 1-p)
	}
	return s / float64(len(pr.Items))
}

// PairBayes is the Bayes accuracy of the comparisons of a user with
// weights c on a uniform pair of distinct items, mean_{a<b} max(q, 1 − q)
// with q = PairProb(c, a, b), exact.
func (pr *Principles) PairBayes(c []float64) float64 {
	return pr.meanOverPairs(func(a, b int) float64 {
		q := pr.PairProb(c, a, b)
		return math.Max(q, 1-q)
	})
}

// IrreducibleAccuracy is the accuracy of the best predictor that does not
// know the user's weighting, when the weightings make equal shares of the
// comparisons: it picks the majority of q̄ = mean_w q_w on each pair, exact.
// transitive reports whether that majority is a total order (then one
// score per item attains the bound).
func (pr *Principles) IrreducibleAccuracy() (acc float64, transitive bool) {
	n := len(pr.Items)
	wins := make([]int, n)
	acc = pr.meanOverPairs(func(a, b int) float64 {
		q := 0.0
		for _, c := range pr.Weightings {
			q += pr.PairProb(c, a, b) / float64(len(pr.Weightings))
		}
		if q > 0.5 {
			wins[a]++
		} else {
			wins[b]++
		}
		return math.Max(q, 1-q)
	})
	seen := make([]bool, n)
	transitive = true
	for _, w := range wins {
		transitive = transitive && !seen[w]
		seen[w] = true
	}
	return acc, transitive
}

// OracleAccuracy is the accuracy of the predictor that knows each user's
// weighting: the mean of PairBayes over the weightings.
func (pr *Principles) OracleAccuracy() float64 {
	s := 0.0
	for _, c := range pr.Weightings {
		s += pr.PairBayes(c)
	}
	return s / float64(len(pr.Weightings))
}

func (pr *Principles) meanOverPairs(f func(a, b int) float64) float64 {
	n := len(pr.Items)
	s, pairs := 0.0, 0
	for a := range n {
		for b := a + 1; b < n; b++ {
			s += f(a, b)
			pairs++
		}
	}
	return s / float64(pairs)
}

// asPopulation is the world seen by the family's shared helpers: its items
// (FitBT reads only them) and one user per weighting whose true group is
// that weighting (GroupAccuracy). Its group rewards are not set.
func (pr *Principles) asPopulation() *Population {
	p := &Population{Items: pr.Items, Ideal: make([][]float64, len(pr.Weightings))}
	for w := range pr.Weightings {
		p.Users = append(p.Users, User{Group: w})
	}
	return p
}

// The ways RLBFFModel.Reward composes the principles.
const (
	ComposeProb  = "prob"  // Σ_j c_j σ(ĥ_j): the truth's form
	ComposeLogit = "logit" // Σ_j c_j ĥ_j
)

// RLBFFModel is a principle-conditioned reward model: one logistic head
// (W[j], Bias[j]) per principle on the item features.
type RLBFFModel struct {
	W    [][]float64 // w_j ∈ R^d
	Bias []float64   // β_j
}

// Logit is ĥ_j(φ) = w_j·φ + β_j.
func (m *RLBFFModel) Logit(j int, phi []float64) float64 { return dot(m.W[j], phi) + m.Bias[j] }

// Prob is the predicted probability that an item with features φ
// satisfies principle j, σ(ĥ_j(φ)).
func (m *RLBFFModel) Prob(j int, phi []float64) float64 { return pairloss.Sigmoid(m.Logit(j, phi)) }

// Reward is the reward of an item with features φ for a user with
// principle weights c: Σ_j c_j σ(ĥ_j(φ)) (ComposeProb) or Σ_j c_j ĥ_j(φ)
// (ComposeLogit).
func (m *RLBFFModel) Reward(c, phi []float64, compose string) float64 {
	s := 0.0
	for j, w := range c {
		if w == 0 {
			continue
		}
		if compose == ComposeLogit {
			s += w * m.Logit(j, phi)
		} else {
			s += w * m.Prob(j, phi)
		}
	}
	return s
}

// JudgmentAccuracy is the share of judgments whose answer the model
// predicts (ĥ > 0 for yes; ĥ = 0 counts ½), per principle and overall
// (NaN for a principle without judgments).
func (m *RLBFFModel) JudgmentAccuracy(items [][]float64, js []Judgment) (per []float64, all float64) {
	sum, n := make([]float64, len(m.W)), make([]float64, len(m.W))
	for _, jd := range js {
		h := m.Logit(jd.Principle, items[jd.Item])
		if !jd.Yes {
			h = -h
		}
		a := pairloss.Agreement(h)
		sum[jd.Principle] += a
		n[jd.Principle]++
		all += a
	}
	for j := range sum {
		sum[j] /= n[j] // 0/0 = NaN for an unjudged principle
	}
	return sum, all / float64(len(js))
}

// RLBFFConfig configures FitRLBFF.
type RLBFFConfig struct {
	fit.Config
	L2      float64 // λ ≥ 0 on ‖W‖² (not the biases)
	Backend string  // GoMLX backend; "" is the default
}

// DefaultRLBFFConfig: full-batch Adam at 0.05 for 300 steps, λ = 1e-4.
func DefaultRLBFFConfig() RLBFFConfig {
	return RLBFFConfig{Config: fit.Config{Optimizer: fit.Adam, LearningRate: 0.05, Steps: 300, EvalEvery: 25}, L2: 1e-4}
}

// The series FitRLBFF records.
const (
	MetricRLBFFLoss     = "rlbff_loss"              // mean training loss since the previous record
	MetricRLBFFTestJudg = "rlbff_judgment_accuracy" // held-out judgment accuracy (pr.Test)
)

// rlbffLoss is L(W, β) without and with the L2 term: x [B, d] features,
// onehot [B, J] principles, sign [B] ±1 answers, w [J, d], beta [J].
func rlbffLoss(w, beta, x, onehot, sign *Node, l2 float64) (mean, total *Node) {
	logits := Add(ReduceSum(Mul(MatMul(x, Transpose(w, 0, 1)), onehot), 1), MatMul(onehot, beta))
	mean = pairloss.Loss{Kind: pairloss.Logistic, Beta: 1}.Mean(Mul(sign, logits), nil)
	total = mean
	if l2 > 0 {
		total = Add(mean, MulScalar(ReduceAllSum(Square(w)), l2))
	}
	return mean, total
}

// rlbffInputs returns the rows of the judgments js: features [n, d],
// one-hot principles [n, J] and ±1 answers [n].
func rlbffInputs(items [][]float64, j int, js []Judgment) (x, onehot, sign []float64) {
	d := len(items[0])
	x, onehot, sign = make([]float64, len(js)*d), make([]float64, len(js)*j), make([]float64, len(js))
	for n, jd := range js {
		copy(x[n*d:], items[jd.Item])
		onehot[n*j+jd.Principle] = 1
		sign[n] = -1
		if jd.Yes {
			sign[n] = 1
		}
	}
	return x, onehot, sign
}

// FitRLBFF fits one logistic head per principle of pr to the judgments
// train by minimising L(W, β) (GoMLX, fit.Loop), from W = 0, β = 0.
// Mini-batches, if any, come from r. rec (may be nil) receives rlbff_loss
// and the held-out judgment accuracy on pr.Test every EvalEvery steps (and
// the accuracy at step 0).
func FitRLBFF(ctx context.Context, pr *Principles, train []Judgment, cfg RLBFFConfig, r *rand.Rand, rec fit.Recorder) (*RLBFFModel, error) {
	return fitRLBFF(ctx, pr, train, cfg, r, rec, nil)
}

// fitRLBFF is FitRLBFF from the heads of start (nil: W = 0, β = 0), whose
// dimensions must be pr's.
func fitRLBFF(ctx context.Context, pr *Principles, train []Judgment, cfg RLBFFConfig, r *rand.Rand, rec fit.Recorder, start *RLBFFModel) (_ *RLBFFModel, err error) {
	defer fit.Catch("plural", &err)
	if err := cfg.Check("plural"); err != nil {
		return nil, err
	}
	if !(cfg.L2 >= 0) || math.IsInf(cfg.L2, 0) {
		return nil, fmt.Errorf("plural: l2 must be finite and ≥ 0, got %v", cfg.L2)
	}
	if len(train) == 0 {
		return nil, fmt.Errorf("plural: no judgments to fit")
	}
	nj, d := len(pr.Satisfy), len(pr.Items[0])
	x, onehot, sign := rlbffInputs(pr.Items, nj, train)
	be, opt, store, err := startFit(cfg.Backend, cfg.Config)
	if err != nil {
		return nil, err
	}
	root := store.RootScope().In("rlbff")
	w0, b0 := make([]float64, nj*d), make([]float64, nj)
	if start != nil {
		if len(start.W) != nj || len(start.Bias) != nj || len(start.W[0]) != d {
			return nil, fmt.Errorf("plural: the initial heads are not %d principles on %d features", nj, d)
		}
		w0, b0 = palFlatten(start.W), slices.Clone(start.Bias)
	}
	wVar := root.VariableWithValue("weights", tensors.FromFlatDataAndDimensions(w0, nj, d))
	bVar := root.VariableWithValue("biases", b0)
	step, err := model.NewExec(be, store, func(scope *model.Scope, in []*Node) *Node {
		g := in[0].Graph()
		scope.SetTraining(g, true) // variables stay variables on the Go backend
		mean, total := rlbffLoss(wVar.NodeValue(g), bVar.NodeValue(g), in[0], in[1], in[2], cfg.L2)
		opt.UpdateGraph(scope, g, total)
		return mean
	})
	if err != nil {
		return nil, err
	}
	current := func() *RLBFFModel {
		flat := tensors.MustCopyFlatData[float64](wVar.MustValue())
		m := &RLBFFModel{Bias: tensors.MustCopyFlatData[float64](bVar.MustValue())}
		for j := range nj {
			m.W = append(m.W, flat[j*d:(j+1)*d])
		}
		return m
	}
	batches := fit.NewBatcher(len(train), cfg.BatchSize, r)
	inputs := func(idx []int) []any {
		xs, hs, ss := x, onehot, sign
		if idx != nil {
			xs, hs, ss = fit.Rows(x, d, idx), fit.Rows(onehot, nj, idx), fit.Rows(sign, 1, idx)
		}
		n := len(ss)
		return []any{tensors.FromFlatDataAndDimensions(xs, n, d), tensors.FromFlatDataAndDimensions(hs, n, nj),
			tensors.FromFlatDataAndDimensions(ss, n)}
	}
	full := inputs(nil)
	loop := fit.NewLoop("plural", cfg.Steps, fit.ExecStep(step, func(int) []any {
		if batches.Full() {
			return full
		}
		return inputs(batches.Next())
	}))
	loop.Record, loop.LossMetric = rec, MetricRLBFFLoss
	if rec != nil {
		record := func(step int) error {
			if step > 0 {
				if err := rec(int64(step), MetricRLBFFLoss, loop.MeanLoss()); err != nil {
					return err
				}
			}
			if len(pr.Test) == 0 {
				return nil
			}
			_, acc := current().JudgmentAccuracy(pr.Items, pr.Test)
			return rec(int64(step), MetricRLBFFTestJudg, acc)
		}
		loop.OnStart("record", record)
		loop.EveryN(cfg.EvalEvery, "record", record)
	}
	if err := loop.Run(ctx); err != nil {
		return nil, err
	}
	return current(), nil
}

// RLBFFID is the ID of the RLBFF plugin.
const RLBFFID = "plural.rlbff"

// Param keys of plural.rlbff besides fit's shared ones (optimizer,
// learning_rate, steps, batch_size, eval_every: RLBFF's training).
const (
	RLBFFParamPrinciples = "principles"  // int in [1, 64], default 4: J
	RLBFFParamDim        = "dim"         // int in [1, 256], default 8: item features d
	RLBFFParamItems      = "items"       // int in [2, 2000], default 200
	RLBFFParamJudgments  = "judgments"   // int in [1, 10⁶], default 2000: M, also the BT labels
	RLBFFParamTest       = "test"        // int in [1, 10⁶], default 2000: held out judgments, and comparisons per weighting
	RLBFFParamLogitScale = "logit_scale" // float in (0, 20], default 2: sd of the satisfaction logits
	RLBFFParamPrefScale  = "pref_scale"  // float in (0, 100], default 8: κ
	// RLBFFParamWeightings (string, default "": DefaultWeightings): users'
	// principle weights "c,c,…; c,c,…", the first being the population's.
	RLBFFParamWeightings = "weightings"
	RLBFFParamCompose    = "compose"  // choice prob|logit, default prob
	RLBFFParamL2         = "l2"       // float in [0, 10], default 1e-4: λ of RLBFF and of BT
	RLBFFParamBTSteps    = "bt_steps" // int ≥ 1, default 500: full-batch Adam steps of the BT baseline
	RLBFFParamTopK       = "top_k"    // int in [1, 100], default 3: items per weighting in the steering table
)

func init() { kernel.Register(rlbffPlugin{}) }

type rlbffPlugin struct{}

var _ kernel.Quick = rlbffPlugin{}

func (rlbffPlugin) Info() kernel.Info {
	d := DefaultPrincipleConfig()
	params := []kernel.Param{
		kernel.IntParam(RLBFFParamPrinciples, int64(d.Principles), 1, 64, "principles J"),
		kernel.IntParam(RLBFFParamDim, int64(d.Dim), 1, 256, "item feature dimension d"),
		kernel.IntParam(RLBFFParamItems, int64(d.Items), 2, 2000, "items in the pool"),
		kernel.IntParam(RLBFFParamJudgments, int64(d.Judgments), 1, 1_000_000, "training binary judgments M; the BT baseline gets M preference labels (matched data)"),
		kernel.IntParam(RLBFFParamTest, int64(d.Test), 1, 1_000_000, "held-out judgments, and held-out comparisons per weighting"),
		kernel.FloatParam(RLBFFParamLogitScale, d.LogitScale, 1e-3, 20, "standard deviation of the true satisfaction logits"),
		kernel.FloatParam(RLBFFParamPrefScale, d.PrefScale, 1e-3, 100, "κ: P(a ≻ b) = σ(κ (R_c(a) − R_c(b)))"),
		kernel.StringParam(RLBFFParamWeightings, "", `users' principle weights "c,…; c,…" (first: the population's; "" = uniform, only principle 0, second half, ramp)`),
		kernel.ChoiceParam(RLBFFParamCompose, ComposeProb, []string{ComposeProb, ComposeLogit}, "compose the principles' probabilities or logits"),
		kernel.FloatParam(RLBFFParamL2, DefaultRLBFFConfig().L2, 0, 10, "λ of the L2 penalty (RLBFF weights, BT scores)"),
		kernel.IntParam(RLBFFParamBTSteps, int64(DefaultBTConfig().Steps), 1, 1_000_000, "full-batch Adam steps of the single BT baseline"),
		kernel.IntParam(RLBFFParamTopK, 3, 1, 100, "top items per weighting in the steering table"),
	}
	rc := DefaultRLBFFConfig()
	params = append(params, fit.Params(fit.Defaults{
		Optimizers: []string{fit.Adam, fit.SGD}, LearningRate: rc.LearningRate, Steps: rc.Steps,
		HasBatch: true, BatchSize: 0, EvalEvery: rc.EvalEvery,
		Doc: map[string]string{fit.ParamSteps: "optimizer steps of the principle model"},
	})...)
	return kernel.Info{
		ID:        RLBFFID,
		Precision: "float64 (GoMLX): linear and small MLP reward models checked against planted parameters. Not yet float32 by default (issue 19).",
		Summary:   "principle-conditioned reward model from binary principle judgments, steered by user weights, vs one BT model at matched data",
		Papers: []kernel.Paper{{Title: "RLBFF: Binary Flexible Feedback to bridge between Human Feedback & Verifiable Rewards",
			Authors: "Z. Wang, J. Zeng, O. Delalleau, E. Evans, D. Egert, H.-C. Shin, F. Soares, Y. Dong, O. Kuchaiev", Year: 2025, ArXiv: "2509.21319"}},
		Params: params,
		Model:  rlbffModelDoc,
		Init:   rlbffInitDoc,
		Doc: "Plants J principles with satisfaction logits v_j·φ_i + b_j and binary judgments yes ~ Bernoulli(σ(·)); fits one logistic " +
			"head per principle, L = mean −log σ(±ĥ_j(i)) + λ‖W‖²; composes a user's reward Σ_j c_j σ(ĥ_j(i)). Reports held-out accuracy " +
			"per principle (vs Bayes) and per user weighting (vs a single BT model trained on as many population-weighting comparisons " +
			"as RLBFF has judgments, and the exact Bayes, irreducible and oracle bounds), and the top items under each weighting.",
	}
}

// QuickParams are small params for the tests that run every plugin.
func (rlbffPlugin) QuickParams() map[string]any {
	return map[string]any{RLBFFParamItems: 12, RLBFFParamJudgments: 200, RLBFFParamTest: 200,
		fit.ParamSteps: 20, RLBFFParamBTSteps: 20, fit.ParamEvalEvery: 10}
}

// rlbffPrinciples is the world plural.rlbff plants from its params.
func rlbffPrinciples(p kernel.Params) (PrincipleConfig, error) {
	cfg := DefaultPrincipleConfig()
	cfg.Principles, cfg.Dim, cfg.Items = p.Int(RLBFFParamPrinciples), p.Int(RLBFFParamDim), p.Int(RLBFFParamItems)
	cfg.Judgments, cfg.Test = p.Int(RLBFFParamJudgments), p.Int(RLBFFParamTest)
	cfg.LogitScale, cfg.PrefScale = p.Float(RLBFFParamLogitScale), p.Float(RLBFFParamPrefScale)
	if s := strings.TrimSpace(p.String(RLBFFParamWeightings)); s != "" {
		w, err := ParseWeightings(s, cfg.Principles)
		if err != nil {
			return cfg, err
		}
		cfg.Weightings = w
	}
	return cfg, nil
}

func (rlbffPlugin) Run(job *kernel.Job) error {
	p := job.Params
	cfg, err := rlbffPrinciples(p)
	if err != nil {
		return err
	}
	start, err := rlbffInit(job, cfg)
	if err != nil {
		return err
	}
	rc := RLBFFConfig{Config: fit.Read(p), L2: p.Float(RLBFFParamL2), Backend: job.Backend}
	bc := DefaultBTConfig()
	bc.Steps, bc.EvalEvery, bc.L2, bc.Backend = p.Int(RLBFFParamBTSteps), rc.EvalEvery, rc.L2, job.Backend
	compose := p.String(RLBFFParamCompose)

	pr, err := GeneratePrinciples(cfg, job.Rand())
	if err != nil {
		return err
	}
	job.SetTotal(int64(rc.Steps + bc.Steps))
	m, err := fitRLBFF(job.Context(), pr, pr.Train, rc, job.Rand(), job.Record, start)
	if err != nil {
		return err
	}
	bt, err := FitBT(job.Context(), pr.asPopulation(), pr.Prefs, bc, job.Rand(), job.Record)
	if err != nil {
		return err
	}
	reportRLBFF(job, pr, m, bt, compose, p.Int(RLBFFParamTopK))
	if err := matchedDataCurve(job, pr, m, bt, rc, bc, compose); err != nil {
		return err
	}
	job.SetModel(&RLBFFTrained{RLBFF: m, Items: pr.Items, BT: bt})
	return nil
}

// matchedDataCurve fits RLBFF on the first n judgments and BT on the first
// n population comparisons, for n = M/16, M/8, M/4, M/2 (the models at M
// are m and bt), and reports both models' held-out accuracy under the
// population weighting against n: the table matched_data and its chart.
func matchedDataCurve(job *kernel.Job, pr *Principles, m *RLBFFModel, bt *BTModel, rc RLBFFConfig, bc BTConfig, compose string) error {
	pop := pr.TestPrefs[:pr.Config.Test] // weighting 0 comes first
	c := pr.Weightings[0]
	bayes := pr.PairBayes(c)
	tab := job.AddTable("matched_data", "labels", "model", "accuracy")
	var sizes []int
	for _, div := range []int{16, 8, 4, 2} {
		if n := len(pr.Train) / div; n >= 1 && (len(sizes) == 0 || n > sizes[len(sizes)-1]) {
			sizes = append(sizes, n)
		}
	}
	sizes = append(sizes, len(pr.Train))
	for _, n := range sizes {
		mn, bn := m, bt
		if n < len(pr.Train) {
			var err error
			if mn, err = FitRLBFF(job.Context(), pr, pr.Train[:n], rc, job.Rand(), nil); err != nil {
				return err
			}
			if bn, err = FitBT(job.Context(), pr.asPopulation(), pr.Prefs[:n], bc, job.Rand(), nil); err != nil {
				return err
			}
		}
		reward := make([]float64, len(pr.Items))
		for i, phi := range pr.Items {
			reward[i] = mn.Reward(c, phi, compose)
		}
		tab.Add(float64(n), "rlbff", Accuracy(pop, func(c Comparison) float64 { return pairloss.Sigmoid(reward[c.A] - reward[c.B]) }))
		tab.Add(float64(n), "bt", Accuracy(pop, func(c Comparison) float64 { return bn.Prob(c.A, c.B) }))
		tab.Add(float64(n), "bayes", bayes)
	}
	job.AddChart(kernel.Chart{Kind: "xy", ID: "rlbff_matched_data", Title: "Population-weighting accuracy at matched data: RLBFF (judgments) vs BT (comparisons)",
		Table: "matched_data", X: "labels", Value: "accuracy", Group: "model", XLabel: "binary labels (judgments or comparisons)", YLabel: "held-out accuracy", LogX: true})
	return nil
}

// weightingName names weighting w in tables and finals.
func weightingName(w int) string {
	if w == 0 {
		return "population"
	}
	return fmt.Sprintf("w%d", w)
}

func reportRLBFF(job *kernel.Job, pr *Principles, m *RLBFFModel, bt *BTModel, compose string, topK int) {
	// Principles: held-out accuracy vs Bayes, weight recovery.
	per, all := m.JudgmentAccuracy(pr.Items, pr.Test)
	ptab := job.AddTable("principles", "principle", "accuracy", "bayes_accuracy", "weight_corr", "bias", "fitted_bias")
	pbar := job.AddTable("principle_accuracy", "principle", "model", "accuracy")
	minCorr, bayesMean := math.Inf(1), 0.0
	for j := range pr.Satisfy {
		corr := stat.Correlation(pr.Satisfy[j], m.W[j], nil)
		bayes := pr.JudgmentBayes(j)
		minCorr = math.Min(minCorr, corr)
		bayesMean += bayes / float64(len(pr.Satisfy))
		name := fmt.Sprintf("p%d", j)
		ptab.Add(name, per[j], bayes, corr, pr.Bias[j], m.Bias[j])
		pbar.Add(name, "rlbff", per[j])
		pbar.Add(name, "bayes", bayes)
	}
	job.SetFinal("judgment_accuracy", all)
	job.SetFinal("judgment_bayes_accuracy", bayesMean)
	job.SetFinal("min_weight_corr", minCorr)

	// Weightings: composed reward vs BT vs Bayes on held-out comparisons.
	reward := make([][]float64, len(pr.Weightings)) // R̂_c per weighting, per item
	for w, c := range pr.Weightings {
		reward[w] = make([]float64, len(pr.Items))
		for i, phi := range pr.Items {
			reward[w][i] = m.Reward(c, phi, compose)
		}
	}
	rlbffProb := func(c Comparison) float64 { return pairloss.Sigmoid(reward[c.User][c.A] - reward[c.User][c.B]) }
	btProb := func(c Comparison) float64 { return bt.Prob(c.A, c.B) }
	shell := pr.asPopulation()
	accR, accB := GroupAccuracy(shell, pr.TestPrefs, rlbffProb), GroupAccuracy(shell, pr.TestPrefs, btProb)
	wtab := job.AddTable("weightings", "weighting", "weights", "rlbff", "bt", "bayes", "comparisons")
	wbar := job.AddTable("weighting_accuracy", "weighting", "model", "accuracy")
	for w, c := range pr.Weightings {
		name := weightingName(w)
		bayes := pr.PairBayes(c)
		ws := make([]string, len(c))
		for j, v := range c {
			ws[j] = strconv.FormatFloat(v, 'g', 3, 64)
		}
		wtab.Add(name, strings.Join(ws, ","), accR[w], accB[w], bayes, pr.Config.Test)
		wbar.Add(name, "rlbff", accR[w])
		wbar.Add(name, "bt", accB[w])
		wbar.Add(name, "bayes", bayes)
		job.SetFinal("accuracy_"+name, accR[w])
		job.SetFinal("bt_accuracy_"+name, accB[w])
		job.SetFinal("bayes_accuracy_"+name, bayes)
	}
	irr, transitive := pr.IrreducibleAccuracy()
	job.SetFinal("accuracy", Accuracy(pr.TestPrefs, rlbffProb))
	job.SetFinal("bt_accuracy", Accuracy(pr.TestPrefs, btProb))
	job.SetFinal("irreducible_accuracy", irr)
	job.SetFinal("oracle_accuracy", pr.OracleAccuracy())
	job.SetFinal("matched_labels", float64(len(pr.Train)))
	if !transitive {
		job.Note("the user-agnostic majority over the weightings has a cycle: no single score per item attains the irreducible accuracy")
	}

	// Steering: the top items under each weighting.
	topK = min(topK, len(pr.Items))
	stab := job.AddTable("steering", "weighting", "rank", "item", "reward", "true_reward", "true_rank")
	overlap := 0.0
	for w, c := range pr.Weightings {
		truth := make([]float64, len(pr.Items))
		for i := range truth {
			truth[i] = pr.Reward(c, i)
		}
		est, tru := rankItems(reward[w]), rankItems(truth)
		trueRank := make([]int, len(tru))
		for r, i := range tru {
			trueRank[i] = r + 1
		}
		for r, i := range est[:topK] {
			stab.Add(weightingName(w), r+1, fmt.Sprintf("i%d", i), reward[w][i], truth[i], trueRank[i])
			if trueRank[i] <= topK {
				overlap++
			}
		}
	}
	job.SetFinal("steering_overlap", overlap/float64(topK*len(pr.Weightings)))

	job.AddChart(kernel.Chart{Kind: "bar", ID: "rlbff_weightings", Title: "Held-out pairwise accuracy per user weighting: RLBFF, single BT, Bayes",
		Table: "weighting_accuracy", X: "weighting", Value: "accuracy", Group: "model", YLabel: "accuracy"})
	job.AddChart(kernel.Chart{Kind: "bar", ID: "rlbff_principles", Title: "Held-out judgment accuracy per principle vs Bayes",
		Table: "principle_accuracy", X: "principle", Value: "accuracy", Group: "model", YLabel: "accuracy"})
	job.AddChart(kernel.Chart{Kind: "line", ID: "rlbff_training", Title: "Training losses and held-out judgment accuracy",
		Series: []string{MetricRLBFFLoss, MetricBTLoss, MetricRLBFFTestJudg}})
}

// rankItems returns the item indices by decreasing score (ties by index).
func rankItems(score []float64) []int {
	idx := make([]int, len(score))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case score[a] > score[b]:
			return -1
		case score[a] < score[b]:
			return 1
		}
		return 0
	})
	return idx
}
