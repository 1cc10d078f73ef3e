package bt

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/nn"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/alignlab/alignlab/algos/backend"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// PLSettings configure FitPlackettLuce. The zero value (or nil) uses the
// defaults of Settings: DefaultTolerance, DefaultMaxIterations, and a prior
// only when it is an error not to (Prior 0 then).
type PLSettings struct {
	// Prior, PriorAlways, Tolerance, MaxIterations and Init mean what they
	// mean in Settings: a virtual tie of weight Prior of every item against
	// a θ = 0 player keeps θ finite when an item was always ranked first or
	// always last.
	Prior         float64
	PriorAlways   bool
	Tolerance     float64
	MaxIterations int
	Init          []float64
}

// PLFit is a Plackett–Luce fit of item log-strengths.
type PLFit struct {
	Items []string
	Theta []float64 // log-strengths, shifted to mean 0
	// LogLikelihood is Σ_rankings Σ_k [θ_{i_k} − log Σ_{j ≥ k} e^{θ_{i_j}}] (prior excluded).
	LogLikelihood float64
	Iterations    int
	Converged     bool
	MaxStep       float64
	Prior         float64 // the prior weight applied (0 when none was needed)
}

// CheckPlackettLuce reports whether the Plackett–Luce likelihood of r has a
// finite maximum: as for Bradley–Terry (Hunter 2004, Assumption 1), the
// directed graph "i was ranked directly above j" must be strongly connected.
// It returns nil or a *NoMLEError (NoWins: items always ranked last;
// NoLosses: items always ranked first).
func CheckPlackettLuce(r *datasets.Rankings) error {
	k := len(r.Items)
	if k <= 1 {
		return nil
	}
	g := newBeatGraph(k)
	for _, l := range r.Lists {
		for p := 0; p+1 < len(l); p++ {
			g.edge(l[p], l[p+1])
		}
	}
	return g.check(r.Items)
}

// FitPlackettLuce fits item log-strengths θ to rankings of named items by
// maximum likelihood under the Plackett–Luce model (Luce 1959; Plackett
// 1975), where a ranking i1 ≻ i2 ≻ … ≻ iL has probability
//
//	P = Π_{k=1}^{L−1} γ_{ik} / Σ_{j ≥ k} γ_{ij},   γ = e^θ,
//
// with Hunter's (2004) MM iterations
//
//	γi ← W_i / Σ_rankings Σ_{stages k with i among the remaining} 1 / Σ_{j ≥ k} γ_{ij},
//
// W_i the number of stages i won (positions before the last), renormalized
// to geometric mean 1. With rankings of length 2 this is FitMM's update for
// Bradley–Terry. Stops when max |Δθ| < Tolerance.
func FitPlackettLuce(r *datasets.Rankings, s *PLSettings) (*PLFit, error) {
	if r == nil || r.Kind != datasets.RankingItems {
		return nil, errors.New("bt: plackett–luce: want rankings of named items")
	}
	var set PLSettings
	if s != nil {
		set = *s
	}
	if set.Tolerance == 0 {
		set.Tolerance = DefaultTolerance
	}
	if set.MaxIterations == 0 {
		set.MaxIterations = DefaultMaxIterations
	}
	if !(set.Prior >= 0) || math.IsInf(set.Prior, 0) {
		return nil, fmt.Errorf("bt: plackett–luce: prior: want a finite weight ≥ 0, got %v", set.Prior)
	}
	k := len(r.Items)
	if k < 2 {
		return nil, fmt.Errorf("bt: plackett–luce: want at least 2 items, got %d", k)
	}
	if set.Init != nil && len(set.Init) != k {
		return nil, fmt.Errorf("bt: plackett–luce: init: want %d log-strengths, got %d", k, len(set.Init))
	}
	prior := 0.0
	if set.PriorAlways {
		prior = set.Prior
	} else if err := CheckPlackettLuce(r); err != nil {
		if set.Prior == 0 {
			return nil, err
		}
		prior = set.Prior
	}
	num := make([]float64, k)
	for _, l := range r.Lists {
		for p := 0; p+1 < len(l); p++ {
			num[l[p]]++
		}
	}
	for i := range num {
		num[i] += prior / 2
	}
	gamma := make([]float64, k)
	for i := range gamma {
		th := 0.0
		if set.Init != nil {
			th = set.Init[i]
		}
		gamma[i] = math.Exp(th)
	}
	den := make([]float64, k)
	next := make([]float64, k)
	var inv []float64 // prefix sums of 1/Σ_{j≥k} γ over the stages of a ranking
	step := math.Inf(1)
	it := 0
	for it < set.MaxIterations && !(step < set.Tolerance) {
		it++
		for i := range den {
			den[i] = 0
		}
		for _, l := range r.Lists {
			inv = plStageSums(l, gamma, inv)
			for p, item := range l {
				// Item at position p remains in stages 0 … min(p, L−2).
				den[item] += inv[min(p, len(l)-2)]
			}
		}
		step = mmUpdate(next, gamma, num, den, prior)
		gamma, next = next, gamma
	}
	theta := make([]float64, k)
	for i, g := range gamma {
		theta[i] = math.Log(g)
	}
	center(theta)
	return &PLFit{Items: r.Items, Theta: theta, LogLikelihood: PLLogLikelihood(r, theta),
		Iterations: it, Converged: step < set.Tolerance, MaxStep: step, Prior: prior}, nil
}

// plStageSums returns, for each stage k = 0 … L−2 of ranking l, the prefix
// sum Σ_{k' ≤ k} 1/Σ_{j ≥ k'} γ_{l[j]}, reusing buf.
func plStageSums(l []int, gamma []float64, buf []float64) []float64 {
	n := len(l)
	buf = buf[:0]
	suffix := make([]float64, n+1)
	for j := n - 1; j >= 0; j-- {
		suffix[j] = suffix[j+1] + gamma[l[j]]
	}
	acc := 0.0
	for s := 0; s < n-1; s++ {
		acc += 1 / suffix[s]
		buf = append(buf, acc)
	}
	return buf
}

// PLLogLikelihood is the Plackett–Luce log-likelihood of rankings of named
// items at log-strengths theta.
func PLLogLikelihood(r *datasets.Rankings, theta []float64) float64 {
	ll := 0.0
	for _, l := range r.Lists {
		// log Σ_{j ≥ k} e^θ, from the end, with a running max for stability.
		n := len(l)
		m := math.Inf(-1)
		sum := 0.0 // Σ e^{θ − m}
		lse := make([]float64, n)
		for j := n - 1; j >= 0; j-- {
			th := theta[l[j]]
			if th > m {
				sum = sum*math.Exp(m-th) + 1
				m = th
			} else {
				sum += math.Exp(th - m)
			}
			lse[j] = m + math.Log(sum)
		}
		for k := 0; k < n-1; k++ {
			ll += theta[l[k]] - lse[k]
		}
	}
	return ll
}

// BreakRankings turns rankings of items into pairwise battles by full rank
// breaking: every item beats every item ranked below it, L(L−1)/2 battles
// per ranking of length L. Fitting Bradley–Terry to them treats the pairs of
// one ranking as independent, which they are not.
func BreakRankings(r *datasets.Rankings) *datasets.ArenaCounts {
	k := len(r.Items)
	cnt := make(map[[2]int]*datasets.PairCounts)
	var keys [][2]int
	for _, l := range r.Lists {
		for a := 0; a < len(l); a++ {
			for b := a + 1; b < len(l); b++ {
				i, j := l[a], l[b]
				key := [2]int{min(i, j), max(i, j)}
				pc, ok := cnt[key]
				if !ok {
					pc = &datasets.PairCounts{A: key[0], B: key[1]}
					cnt[key] = pc
					keys = append(keys, key)
				}
				if i == key[0] {
					pc.WinsA++
				} else {
					pc.WinsB++
				}
			}
		}
	}
	sort.Slice(keys, func(a, b int) bool {
		if keys[a][0] != keys[b][0] {
			return keys[a][0] < keys[b][0]
		}
		return keys[a][1] < keys[b][1]
	})
	out := &datasets.ArenaCounts{Models: append([]string(nil), r.Items[:k]...)}
	for _, key := range keys {
		out.Pairs = append(out.Pairs, *cnt[key])
	}
	return out
}

// The temperatures of PRO (PROConfig.Temperature).
const (
	// TemperatureDynamic is PRO's T from reward differences.
	TemperatureDynamic = "dynamic"
	// TemperatureConstant is T = 1: the Plackett–Luce negative log-likelihood.
	TemperatureConstant = "constant"
)

// PROConfig configures TrainPRO.
type PROConfig struct {
	Temperature  string // TemperatureDynamic (needs rewards) or TemperatureConstant
	Steps        int
	LearningRate float64
	Optimizer    string // OptimizerAdam or OptimizerSGD
	L2           float64
	EvalEvery    int
	Backend      string
}

// DefaultPROConfig is the bt.plackett_luce default for candidate lists:
// dynamic temperature, 300 full-batch Adam steps at learning rate 0.05.
func DefaultPROConfig() PROConfig {
	return PROConfig{Temperature: TemperatureDynamic, Steps: 300, LearningRate: 0.05, Optimizer: OptimizerAdam, EvalEvery: 25}
}

// PROTemperatures returns PRO's temperature matrix of one ranked list of
// length n with rewards R (non-increasing; nil for TemperatureConstant):
// T[k][i] for stage k = 0 … n−2 and i ≥ k,
//
//	T[k][i] = R_k − R_i (i > k),   T[k][k] = max_{i>k} T[k][i],
//
// or 1 everywhere for TemperatureConstant; entries with i < k, and the row
// of the last position, are 0 (unused).
func PROTemperatures(n int, rewards []float64, temperature string) [][]float64 {
	t := make([][]float64, n)
	for k := range t {
		t[k] = make([]float64, n)
		if k == n-1 {
			continue
		}
		if temperature == TemperatureConstant || rewards == nil {
			for i := k; i < n; i++ {
				t[k][i] = 1
			}
			continue
		}
		top := math.Inf(-1)
		for i := k + 1; i < n; i++ {
			t[k][i] = rewards[k] - rewards[i]
			top = math.Max(top, t[k][i])
		}
		t[k][k] = top
	}
	return t
}

// PROLossFloat64 is the PRO loss of one list with scores s (best first) and
// temperatures t (PROTemperatures):
//
//	Σ_{k=0}^{n−2} [ log Σ_{i ≥ k} exp(s_i T[k][i]) − s_k T[k][k] ].
//
// With T ≡ 1 it is the Plackett–Luce negative log-likelihood of the order.
func PROLossFloat64(s []float64, t [][]float64) float64 {
	n := len(s)
	loss := 0.0
	for k := 0; k < n-1; k++ {
		m := math.Inf(-1)
		for i := k; i < n; i++ {
			m = math.Max(m, s[i]*t[k][i])
		}
		sum := 0.0
		for i := k; i < n; i++ {
			sum += math.Exp(s[i]*t[k][i] - m)
		}
		loss += m + math.Log(sum) - s[k]*t[k][k]
	}
	return loss
}

// PROTrainer trains a log-linear policy over each list's candidates,
// π_θ(y) ∝ exp(θ·φ(y)), with scores s = log π_θ (log-softmax over the list),
// on the PRO loss averaged over lists (Song et al. 2023; their score is the
// mean token log-probability of an LLM, here a log-linear policy over a
// finite candidate set).
type PROTrainer struct {
	cfg        PROConfig
	backend    compute.Backend
	store      *model.Store
	theta      *model.Variable
	exec       *model.Exec
	in         []any
	lists, pad int
	dim        int
}

// NewPROTrainer prepares the training on candidate rankings r; θ starts at 0.
func NewPROTrainer(r *datasets.Rankings, cfg PROConfig) (t *PROTrainer, err error) {
	if r == nil || r.Kind != datasets.RankingCandidates || r.Len() == 0 {
		return nil, errors.New("bt: pro: want ranked lists of candidates")
	}
	switch {
	case cfg.Temperature != TemperatureDynamic && cfg.Temperature != TemperatureConstant:
		return nil, fmt.Errorf("bt: pro: temperature: want %s or %s, got %q", TemperatureDynamic, TemperatureConstant, cfg.Temperature)
	case cfg.Temperature == TemperatureDynamic && r.Rewards == nil:
		return nil, errors.New("bt: pro: the dynamic temperature needs rewards in the data (or use temperature=constant)")
	case !(cfg.LearningRate > 0) || math.IsInf(cfg.LearningRate, 0):
		return nil, fmt.Errorf("bt: pro: learning rate: want a finite number > 0, got %v", cfg.LearningRate)
	case cfg.Optimizer != OptimizerAdam && cfg.Optimizer != OptimizerSGD:
		return nil, fmt.Errorf("bt: pro: optimizer: want %s or %s, got %q", OptimizerAdam, OptimizerSGD, cfg.Optimizer)
	}
	be, err := backend.Get(cfg.Backend)
	if err != nil {
		return nil, err
	}
	defer recoverGraph(&err)
	t = &PROTrainer{cfg: cfg, backend: be, lists: r.Len(), dim: r.Dim}
	for _, l := range r.Candidates {
		t.pad = max(t.pad, len(l))
	}
	L, n, d := t.lists, t.pad, t.dim
	x := make([]float64, L*n*d)
	valid := make([]bool, L*n)
	rowValid := make([]float64, L*n) // stage k takes part: k ≤ len−2
	stage := make([]bool, L*n*n)     // term i of stage k: k ≤ len−2, k ≤ i < len
	temp := make([]float64, L*n*n)
	diag := make([]float64, L*n)
	for l, cands := range r.Candidates {
		var rw []float64
		if r.Rewards != nil {
			rw = r.Rewards[l]
		}
		tm := PROTemperatures(len(cands), rw, cfg.Temperature)
		for i, phi := range cands {
			copy(x[(l*n+i)*d:], phi)
			valid[l*n+i] = true
		}
		for k := 0; k+1 < len(cands); k++ {
			rowValid[l*n+k] = 1
			diag[l*n+k] = tm[k][k]
			for i := k; i < len(cands); i++ {
				stage[(l*n+k)*n+i] = true
				temp[(l*n+k)*n+i] = tm[k][i]
			}
		}
	}
	t.in = []any{
		tensors.FromFlatDataAndDimensions(x, L, n, d),
		tensors.FromFlatDataAndDimensions(valid, L, n),
		tensors.FromFlatDataAndDimensions(rowValid, L, n),
		tensors.FromFlatDataAndDimensions(stage, L, n, n),
		tensors.FromFlatDataAndDimensions(temp, L, n, n),
		tensors.FromFlatDataAndDimensions(diag, L, n),
	}
	t.store = model.NewStore()
	t.theta = t.store.RootScope().In("pro").VariableWithValue("theta", tensors.FromFlatDataAndDimensions(make([]float64, d), d, 1))
	var opt optimizer.Interface
	if cfg.Optimizer == OptimizerSGD {
		opt = optimizer.StochasticGradientDescent().WithDecay(false).WithLearningRate(cfg.LearningRate).Done()
	} else {
		opt = optimizer.Adam().LearningRate(cfg.LearningRate).Done()
	}
	t.exec, err = model.NewExec(be, t.store, func(scope *model.Scope, in []*Node) *Node {
		g := in[0].Graph()
		scope.SetTraining(g, true) // keep θ a parameter, not a baked-in constant
		loss := PROLossGraph(t.theta.NodeValue(g), in[0], in[1], in[2], in[3], in[4], in[5])
		total := loss
		if cfg.L2 > 0 {
			total = Add(total, MulScalar(ReduceAllSum(Square(t.theta.NodeValue(g))), cfg.L2))
		}
		opt.UpdateGraph(scope, g, total)
		return loss
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// PROLossGraph builds the mean PRO loss over L lists padded to n candidates
// of dimension d, for a log-linear policy θ [d, 1]: x [L, n, d] features,
// valid [L, n] (bool) the real candidates, rowValid [L, n] 1 for the stages
// k ≤ len−2, stage [L, n, n] (bool) the terms i ≥ k of each stage, temp
// [L, n, n] T[k][i] and diag [L, n] T[k][k] (PROTemperatures). Scores are
// s = log-softmax of θ·φ over each list's candidates.
func PROLossGraph(theta, x, valid, rowValid, stage, temp, diag *Node) *Node {
	g := x.Graph()
	dims := x.Shape().Dimensions
	L, n := dims[0], dims[1]
	logits := Reshape(nn.Dense(x, theta, nil, compute.DenseLayoutInputOutputs), L, n)
	s := MaskedLogSoftmax(logits, valid, -1)
	s = Where(valid, s, ZerosLike(s)) // padded candidates score 0 (and are masked below)
	a := Mul(InsertAxes(s, 1), temp)  // a[l,k,i] = s_i·T[k][i]
	neg := Scalar(g, a.DType(), -1e300)
	top := StopGradient(ReduceMax(Where(stage, a, BroadcastToShape(neg, a.Shape())), -1))
	top = Mul(top, rowValid) // 0 for unused rows, whose max is −1e300
	shifted := Where(stage, Sub(a, InsertAxes(top, -1)), BroadcastToShape(neg, a.Shape()))
	sum := ReduceSum(Exp(shifted), -1)
	lse := Add(Log(Add(sum, OneMinus(rowValid))), top) // log 1 = 0 on unused rows
	per := Mul(Sub(lse, Mul(s, diag)), rowValid)
	return DivScalar(ReduceAllSum(per), float64(L))
}

// Step takes one full-batch optimizer step and returns the loss before it.
func (t *PROTrainer) Step() (loss float64, err error) {
	defer recoverGraph(&err)
	out, err := t.exec.Call(t.in...)
	if err != nil {
		return 0, err
	}
	return tensors.ToScalar[float64](out[0]), nil
}

// Theta returns a copy of the current θ.
func (t *PROTrainer) Theta() (theta []float64, err error) {
	defer recoverGraph(&err)
	v, err := t.theta.Value()
	if err != nil {
		return nil, err
	}
	return tensors.CopyFlatData[float64](v)
}

// RankingMetrics measure a scoring of candidate lists.
type RankingMetrics struct {
	Lists int
	// Top1 is the fraction of lists whose best-scored candidate is the
	// reference best (ties in the score split evenly).
	Top1 float64
	// KendallTau is the mean τ-b per list between the scores and the
	// reference (the planted rewards on generated data, else the order given).
	KendallTau float64
	// Loss is the mean PRO loss of the lists under the given temperature.
	Loss float64
}

// EvaluateRankings scores each list's candidates by θ·φ and compares with
// the truth (Truth.TrueRewards) when present, else with the given order.
func EvaluateRankings(r *datasets.Rankings, theta []float64, temperature string) RankingMetrics {
	var m RankingMetrics
	var tauN int
	for l, cands := range r.Candidates {
		n := len(cands)
		score := make([]float64, n)
		for i, phi := range cands {
			for j, v := range phi {
				score[i] += theta[j] * v
			}
		}
		ref := make([]float64, n)
		for i := range ref {
			ref[i] = float64(n - i) // the given order, best first
		}
		if r.Truth != nil && r.Truth.TrueRewards != nil {
			ref = r.Truth.TrueRewards[l]
		}
		best := 0
		for i := range ref {
			if ref[i] > ref[best] {
				best = i
			}
		}
		top := math.Inf(-1)
		ties := 0
		for _, s := range score {
			top = math.Max(top, s)
		}
		for _, s := range score {
			if s == top {
				ties++
			}
		}
		if score[best] == top {
			m.Top1 += 1 / float64(ties)
		}
		if tau, err := KendallTau(score, ref); err == nil {
			m.KendallTau += tau
			tauN++
		}
		var rw []float64
		if r.Rewards != nil {
			rw = r.Rewards[l]
		}
		// PRO's scores are log π_θ: log-softmax over the list.
		logp := append([]float64(nil), score...)
		mx := math.Inf(-1)
		for _, v := range logp {
			mx = math.Max(mx, v)
		}
		z := 0.0
		for _, v := range logp {
			z += math.Exp(v - mx)
		}
		for i := range logp {
			logp[i] -= mx + math.Log(z)
		}
		m.Loss += PROLossFloat64(logp, PROTemperatures(n, rw, temperature))
		m.Lists++
	}
	if m.Lists > 0 {
		m.Top1 /= float64(m.Lists)
		m.Loss /= float64(m.Lists)
	}
	if tauN > 0 {
		m.KendallTau /= float64(tauN)
	} else {
		m.KendallTau = math.NaN()
	}
	return m
}

// TrainPRO trains a log-linear policy on candidate rankings with the PRO
// loss and returns θ. Every cfg.EvalEvery steps (and at the end) it records
// loss and, with test lists, test_top1 and test_kendall_tau.
func TrainPRO(ctx context.Context, train, test *datasets.Rankings, cfg PROConfig, rec Recorder) ([]float64, error) {
	t, err := NewPROTrainer(train, cfg)
	if err != nil {
		return nil, err
	}
	every := max(cfg.EvalEvery, 1)
	for k := 1; k <= cfg.Steps; k++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		loss, err := t.Step()
		if err != nil {
			return nil, fmt.Errorf("bt: pro step %d: %w", k, err)
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return nil, fmt.Errorf("bt: pro step %d: loss is %v; try a smaller learning_rate", k, loss)
		}
		if rec == nil || (k%every != 0 && k != cfg.Steps) {
			continue
		}
		if err := rec(int64(k), "loss", loss); err != nil {
			return nil, err
		}
		if test != nil {
			theta, err := t.Theta()
			if err != nil {
				return nil, err
			}
			m := EvaluateRankings(test, theta, cfg.Temperature)
			if err := rec(int64(k), "test_top1", m.Top1); err != nil {
				return nil, err
			}
			if err := rec(int64(k), "test_kendall_tau", m.KendallTau); err != nil {
				return nil, err
			}
		}
	}
	return t.Theta()
}

// resampleRankings draws len(r.Lists) rankings with replacement.
func resampleRankings(r *datasets.Rankings, rng *rand.Rand) *datasets.Rankings {
	out := *r
	out.Lists = make([][]int, len(r.Lists))
	for i := range out.Lists {
		out.Lists[i] = r.Lists[rng.IntN(len(r.Lists))]
	}
	return &out
}

// Parameter keys of bt.plackett_luce besides the shared ones (ParamSteps,
// ParamLearningRate, ParamOptimizer, ParamL2, ParamEvalEvery, ParamHoldout,
// ParamDim, ParamRewardScale, ParamBootstrapRounds, ParamPrior,
// ParamTolerance, ParamMaxIterations).
const (
	// ParamMode (choice, default "items"): the generator used without
	// --data — "items" (Plackett–Luce rankings of named items) or
	// "candidates" (PRO lists of feature vectors with rewards). With --data
	// the file's kind decides.
	ParamMode = "mode"
	// ParamItems (int, default 8): items of the generated rankings.
	ParamItems = "items"
	// ParamRankings (int, default 300): generated rankings.
	ParamRankings = "rankings"
	// ParamListLength (int, default 4): items per generated ranking.
	ParamListLength = "list_length"
	// ParamSpread (float, default 1): standard deviation of the planted θ.
	ParamSpread = "spread"
	// ParamTemperature (choice, default "dynamic"): PRO's temperature —
	// "dynamic" (from reward differences) or "constant" (T = 1, the
	// Plackett–Luce likelihood).
	ParamTemperature = "temperature"
	// ParamLists (int, default 200): generated training lists of candidates.
	ParamLists = "lists"
	// ParamTestLists (int, default 500): generated held-out lists.
	ParamTestLists = "test_lists"
	// ParamCandidates (int, default 6): candidates per generated list.
	ParamCandidates = "candidates"
	// ParamRewardNoise (float, default 1): standard deviation of the reward
	// model's error; lists are ranked by r* + noise.
	ParamRewardNoise = "reward_noise"
)

// The values of ParamMode.
const (
	ModeItems      = datasets.RankingItems
	ModeCandidates = datasets.RankingCandidates
)

// Papers of bt.plackett_luce.
var (
	PaperPlackett = kernel.Paper{Authors: "R. L. Plackett", Year: 1975, Title: "The analysis of permutations"}
	PaperLuce     = kernel.Paper{Authors: "R. D. Luce", Year: 1959, Title: "Individual choice behavior: A theoretical analysis"}
	PaperHunter   = kernel.Paper{Authors: "D. R. Hunter", Year: 2004, Title: "MM algorithms for generalized Bradley–Terry models"}
	PaperPRO      = kernel.Paper{Authors: "F. Song, B. Yu, M. Li, H. Yu, F. Huang, Y. Li, H. Wang", Year: 2023,
		Title: "Preference ranking optimization for human alignment", ArXiv: "2306.17492"}
)

func init() { kernel.Register(plPlugin{}) }

type plPlugin struct{}

var _ kernel.Plugin = plPlugin{}

func (plPlugin) Info() kernel.Info {
	def := DefaultPROConfig()
	pos := kernel.Range{Min: 0, Max: math.Inf(1), MinExclusive: true}
	return kernel.Info{
		ID:      "bt.plackett_luce",
		Summary: "Plackett–Luce on rankings of any length: item ratings by MM (vs pairwise BT), and PRO's loss for a log-linear policy (GoMLX)",
		Papers:  []kernel.Paper{PaperPlackett, PaperLuce, PaperHunter, PaperPRO},
		Params: []kernel.Param{
			kernel.ChoiceParam(ParamMode, ModeItems, []string{ModeItems, ModeCandidates}, "no --data: rankings of items, or PRO lists of candidates (with --data the file decides)"),
			kernel.IntParam(ParamBootstrapRounds, DefaultBootstrapRounds, 0, 100000, "items: bootstrap resamples of the rankings for 95% intervals (0: none)"),
			kernel.FloatParam(ParamPrior, DefaultPrior, 0, 1e6, "items: weight of a virtual tie per item vs. a θ=0 player, used when θ would be infinite"),
			{Key: ParamTolerance, Type: kernel.Float, Default: DefaultTolerance, Range: kernel.Range{Min: 0, Max: 1, MinExclusive: true},
				Doc: "items: stop the MM iterations when max |Δθ| is below this"},
			kernel.IntParam(ParamMaxIterations, DefaultMaxIterations, 1, 10000000, "items: MM iteration cap per fit"),
			kernel.IntParam(ParamItems, 8, 2, 1<<16, "no --data, items: number of items"),
			kernel.IntParam(ParamRankings, 300, 1, 1<<24, "no --data, items: number of rankings"),
			kernel.IntParam(ParamListLength, 4, 2, 1<<16, "no --data, items: items per ranking (≤ items)"),
			{Key: ParamSpread, Type: kernel.Float, Default: 1.0, Range: kernel.Range{Min: 0, Max: 100, MinExclusive: true},
				Doc: "no --data, items: standard deviation of the planted log-strengths"},
			kernel.ChoiceParam(ParamTemperature, def.Temperature, []string{TemperatureDynamic, TemperatureConstant}, "candidates: PRO's T from reward differences, or T = 1 (Plackett–Luce)"),
			kernel.IntParam(ParamSteps, int64(def.Steps), 1, math.MaxInt32, "candidates: optimizer steps"),
			kernel.ChoiceParam(ParamOptimizer, def.Optimizer, []string{OptimizerAdam, OptimizerSGD}, "candidates: GoMLX optimizer"),
			{Key: ParamLearningRate, Type: kernel.Float, Default: def.LearningRate, Range: pos, Doc: "candidates: optimizer learning rate"},
			kernel.FloatParam(ParamL2, def.L2, 0, math.Inf(1), "candidates: adds l2·‖θ‖²"),
			kernel.IntParam(ParamEvalEvery, int64(def.EvalEvery), 1, math.MaxInt32, "candidates: steps between recorded metrics"),
			kernel.FloatParam(ParamHoldout, 0.2, 0, 0.9, "candidates, --data: fraction of lists held out for the test metrics"),
			kernel.IntParam(ParamDim, 16, 1, 1<<14, "no --data, candidates: feature dimension"),
			kernel.IntParam(ParamLists, 200, 1, 1<<24, "no --data, candidates: training lists"),
			kernel.IntParam(ParamTestLists, 500, 1, 1<<24, "no --data, candidates: held-out lists"),
			kernel.IntParam(ParamCandidates, 6, 2, 1<<12, "no --data, candidates: candidates per list"),
			{Key: ParamRewardScale, Type: kernel.Float, Default: 2.0, Range: kernel.Range{Min: 0, Max: 100, MinExclusive: true},
				Doc: "no --data, candidates: standard deviation of the planted reward r*"},
			kernel.FloatParam(ParamRewardNoise, 1, 0, 100, "no --data, candidates: the reward model's error; lists are ranked by r* + noise"),
		},
		Data: []kernel.DataFormat{
			{Name: "rankings of items (JSONL)", Doc: `one ranking per line, best first: ranking is an array of at least 2 distinct item
names (strings); lists may have any length and cover any subset of the items`,
				Example: `{"ranking": ["aurora-70b", "cedar-13b", "ember-7b"]}`},
			{Name: "ranked candidates (JSONL)", Doc: `one list per line, best first: candidates is an array of at least 2 feature vectors
(numbers, the same length on every line); rewards, optional (every line or none), are the
scores the list was ranked by, one per candidate, non-increasing; the dynamic temperature
needs them`,
				Example: `{"candidates": [[0.5, 1.0], [0.2, -0.3], [-1.0, 0.4]], "rewards": [2.1, 0.3, -0.8]}`},
		},
		Doc: `Plackett–Luce (Luce 1959; Plackett 1975): a ranking y¹ ≻ y² ≻ … ≻ yⁿ has probability

    P = Π_{k=1}^{n−1} exp(s_k) / Σ_{i ≥ k} exp(s_i)

(Bradley–Terry when n = 2). Two uses:

items (rankings of named items): s = θ_item; maximum likelihood by Hunter's (2004) MM
    γ_i ← W_i / Σ_rankings Σ_{stages k with i remaining} 1/Σ_{j ≥ k} γ_j,   γ = e^θ,
W_i the stages i won; a prior (virtual tie with a θ = 0 player) keeps θ finite for
items always ranked first or last. Side by side, Bradley–Terry fitted to the full rank
breaking (every item beats every item below it, as independent battles).
Reports: table ratings (item, theta, ci_low, ci_high from bootstrap resamples of the
rankings, theta_pairwise, planted), finals log_likelihood, iterations, converged,
items, rankings, prior, kendall_tau_pl_pairwise, and on generated data
pl_rmse / pairwise_rmse (θ against the planted θ, both centered) and
pl_kendall_tau / pairwise_kendall_tau; a leaderboard chart and a scatter of estimated
against planted θ.

candidates (PRO, Song et al. 2023, arXiv 2306.17492): a log-linear policy over each
list's candidates, s_i = log π_θ(y_i) = log-softmax(θ·φ), trained with GoMLX on

    ℓ = Σ_{k=1}^{n−1} [ log Σ_{i ≥ k} exp(s_i T^k_i) − s_k T^k_k ],
    T^k_i = r(y^k) − r(y^i) (i > k),   T^k_k = max_{i > k} T^k_i,

the dynamic temperature from the rewards r the list was ranked by (temperature=constant:
T = 1, the Plackett–Luce negative log-likelihood). PRO's SFT term has no counterpart
here (there is no language model). Reports: series loss, test_top1, test_kendall_tau;
finals train_loss, test_top1 (best-scored candidate = reference best), test_kendall_tau
(mean per-list τ-b of θ·φ against the reference: the planted r* on generated data, else
the given order) and, on generated data, cos_theta (cosine of θ with the planted reward
direction); table theta.

Without --data: mode=items draws rankings of list_length random items ordered by
θ + Gumbel noise (an exact Plackett–Luce draw, θ ~ N(0, spread²)); mode=candidates
draws lists of φ ~ N(0, I_dim) ranked by a noisy reward model r* + reward_noise·ε.`,
	}
}

func (plPlugin) Run(job *kernel.Job) error {
	prm := job.Params
	if len(job.Data) == 0 {
		if prm.String(ParamMode) == ModeItems {
			cfg := datasets.PLConfig{Items: prm.Int(ParamItems), Rankings: prm.Int(ParamRankings), Length: prm.Int(ParamListLength), Spread: prm.Float(ParamSpread)}
			r, err := datasets.GeneratePLRankings(cfg, job.Rand())
			if err != nil {
				return err
			}
			job.Note("no --data: %d Plackett–Luce rankings of %d of %d items with planted θ ~ N(0, %g²)", cfg.Rankings, cfg.Length, cfg.Items, cfg.Spread)
			return runPLItems(job, r)
		}
		cfg := datasets.CandidateRankingsConfig{Dim: prm.Int(ParamDim), Lists: prm.Int(ParamLists), TestLists: prm.Int(ParamTestLists),
			Candidates: prm.Int(ParamCandidates), Scale: prm.Float(ParamRewardScale), RewardNoise: prm.Float(ParamRewardNoise)}
		train, test, err := datasets.GenerateCandidateRankings(cfg, job.Rand())
		if err != nil {
			return err
		}
		job.Note("no --data: %d lists of %d candidates (dim %d) ranked by a reward model r* + N(0, %g²) noise, planted r* of scale %g; %d held-out lists scored against r*",
			cfg.Lists, cfg.Candidates, cfg.Dim, cfg.RewardNoise, cfg.Scale, cfg.TestLists)
		return runPRO(job, train, test)
	}
	var all *datasets.Rankings
	for _, path := range job.Data {
		r, err := datasets.LoadRankings(path)
		if err != nil {
			return err
		}
		if all == nil {
			all = r
			continue
		}
		if err := appendRankings(all, r, path); err != nil {
			return err
		}
	}
	if all.Kind == datasets.RankingItems {
		return runPLItems(job, all)
	}
	train, test := splitRankings(all, prm.Float(ParamHoldout), job.Rand())
	if test == nil {
		job.Note("holdout = 0: no held-out lists, only training metrics")
	}
	return runPRO(job, train, test)
}

// appendRankings appends the rankings of r (read from path) to all.
func appendRankings(all, r *datasets.Rankings, path string) error {
	if r.Kind != all.Kind {
		return &datasets.Error{File: path, Msg: fmt.Sprintf("want rankings of %s like the first file, got %s", all.Kind, r.Kind)}
	}
	if all.Kind == datasets.RankingItems {
		index := map[string]int{}
		for i, it := range all.Items {
			index[it] = i
		}
		for _, l := range r.Lists {
			m := make([]int, len(l))
			for p, i := range l {
				j, ok := index[r.Items[i]]
				if !ok {
					j = len(all.Items)
					index[r.Items[i]] = j
					all.Items = append(all.Items, r.Items[i])
				}
				m[p] = j
			}
			all.Lists = append(all.Lists, m)
		}
		return nil
	}
	if r.Dim != all.Dim || (r.Rewards == nil) != (all.Rewards == nil) {
		return &datasets.Error{File: path, Msg: fmt.Sprintf("want candidates of dimension %d (rewards %v) like the first file, got %d (rewards %v)",
			all.Dim, all.Rewards != nil, r.Dim, r.Rewards != nil)}
	}
	all.Candidates = append(all.Candidates, r.Candidates...)
	if all.Rewards != nil {
		all.Rewards = append(all.Rewards, r.Rewards...)
	}
	return nil
}

// splitRankings holds out a seeded fraction of candidate lists (see holdOut).
func splitRankings(all *datasets.Rankings, frac float64, r *rand.Rand) (train, test *datasets.Rankings) {
	trainIdx, testIdx := holdOut(all.Len(), frac, r)
	if testIdx == nil {
		return all, nil
	}
	mk := func(idx []int) *datasets.Rankings {
		out := *all
		out.Candidates = make([][][]float64, len(idx))
		if all.Rewards != nil {
			out.Rewards = make([][]float64, len(idx))
		}
		for i, j := range idx {
			out.Candidates[i] = all.Candidates[j]
			if all.Rewards != nil {
				out.Rewards[i] = all.Rewards[j]
			}
		}
		return &out
	}
	return mk(trainIdx), mk(testIdx)
}

func runPLItems(job *kernel.Job, r *datasets.Rankings) error {
	prm := job.Params
	set := PLSettings{Prior: prm.Float(ParamPrior), Tolerance: prm.Float(ParamTolerance), MaxIterations: prm.Int(ParamMaxIterations)}
	if err := CheckPlackettLuce(r); err != nil {
		var ne *NoMLEError
		if errors.As(err, &ne) && set.Prior > 0 {
			job.Note("prior: θ would be infinite (%s); every item gets a virtual tie of weight %g against a θ = 0 player", ne.Reason(), set.Prior)
		}
	}
	fit, err := FitPlackettLuce(r, &set)
	if err != nil {
		return err
	}
	if !fit.Converged {
		job.Note("the MM fit stopped at %d iterations with max |Δθ| = %.3g > tolerance %g", fit.Iterations, fit.MaxStep, set.Tolerance)
	}
	pair, err := FitNewton(BreakRankings(r), &Settings{Prior: set.Prior, Tolerance: set.Tolerance, MaxIterations: set.MaxIterations})
	if err != nil {
		return err
	}
	k := len(r.Items)
	low, high := make([]float64, k), make([]float64, k)
	for i := range low {
		low[i], high[i] = math.NaN(), math.NaN()
	}
	if rounds := prm.Int(ParamBootstrapRounds); rounds > 0 {
		job.SetTotal(int64(rounds))
		rng := job.Rand()
		boot := make([][]float64, 0, rounds)
		bset := set
		bset.Init = fit.Theta
		// A resample may lose the finite maximum: give it the prior then.
		if bset.Prior == 0 {
			bset.Prior = DefaultPrior
		}
		for b := 1; b <= rounds; b++ {
			f, err := FitPlackettLuce(resampleRankings(r, rng), &bset)
			if err != nil {
				return err
			}
			boot = append(boot, f.Theta)
			if err := job.Step(int64(b)); err != nil {
				return err
			}
		}
		for i, iv := range Intervals(boot) {
			low[i], high[i] = iv.Low, iv.High
		}
	}
	var planted []float64
	if r.Truth != nil {
		planted = r.Truth.Theta
	}
	order := make([]int, k)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return fit.Theta[order[a]] > fit.Theta[order[b]] })
	t := job.AddTable("ratings", "item", "theta", "ci_low", "ci_high", "theta_pairwise", "planted")
	est := job.AddTable("estimates", "method", "planted", "estimate")
	for _, i := range order {
		p := math.NaN()
		if planted != nil {
			p = planted[i]
		}
		t.Add(r.Items[i], fit.Theta[i], low[i], high[i], pair.Theta[i], p)
	}
	job.SetFinal("log_likelihood", fit.LogLikelihood)
	job.SetFinal("iterations", float64(fit.Iterations))
	job.SetFinal("converged", boolMetric(fit.Converged))
	job.SetFinal("items", float64(k))
	job.SetFinal("rankings", float64(len(r.Lists)))
	job.SetFinal("prior", fit.Prior)
	if tau, err := KendallTau(fit.Theta, pair.Theta); err == nil {
		job.SetFinal("kendall_tau_pl_pairwise", tau)
	}
	job.AddChart(kernel.Chart{Kind: "leaderboard", ID: "ratings", Title: "Plackett–Luce log-strengths θ (95% bootstrap CI)",
		Table: "ratings", Label: "item", Value: "theta", Low: "ci_low", High: "ci_high"})
	if planted != nil {
		for _, m := range []struct {
			name  string
			theta []float64
		}{{"plackett_luce", fit.Theta}, {"pairwise", pair.Theta}} {
			for i := range planted {
				est.Add(m.name, planted[i], m.theta[i])
			}
			var sq float64
			for i := range planted {
				sq += (m.theta[i] - planted[i]) * (m.theta[i] - planted[i])
			}
			prefix := "pl"
			if m.name == "pairwise" {
				prefix = "pairwise"
			}
			job.SetFinal(prefix+"_rmse", math.Sqrt(sq/float64(k)))
			if tau, err := KendallTau(m.theta, planted); err == nil {
				job.SetFinal(prefix+"_kendall_tau", tau)
			}
		}
		job.AddChart(kernel.Chart{Kind: "scatter", ID: "estimates", Title: "Estimated vs planted θ: Plackett–Luce and pairwise BT on the rank breaking",
			Table: "estimates", X: "planted", Y: "estimate", Group: "method", XLabel: "planted θ", YLabel: "estimated θ"})
	} else {
		delete(job.Result.Tables, "estimates")
	}
	return nil
}

func runPRO(job *kernel.Job, train, test *datasets.Rankings) error {
	prm := job.Params
	cfg := PROConfig{Temperature: prm.String(ParamTemperature), Steps: prm.Int(ParamSteps), LearningRate: prm.Float(ParamLearningRate),
		Optimizer: prm.String(ParamOptimizer), L2: prm.Float(ParamL2), EvalEvery: prm.Int(ParamEvalEvery), Backend: job.Backend}
	job.SetTotal(int64(cfg.Steps))
	theta, err := TrainPRO(job.Context(), train, test, cfg, job.Record)
	if err != nil {
		return err
	}
	tm := EvaluateRankings(train, theta, cfg.Temperature)
	job.SetFinal("lists", float64(train.Len()))
	job.SetFinal("train_loss", tm.Loss)
	job.SetFinal("train_top1", tm.Top1)
	setIfFinite(job, "train_kendall_tau", tm.KendallTau)
	if test != nil {
		m := EvaluateRankings(test, theta, cfg.Temperature)
		job.SetFinal("test_lists", float64(test.Len()))
		job.SetFinal("test_top1", m.Top1)
		setIfFinite(job, "test_kendall_tau", m.KendallTau)
	}
	t := job.AddTable("theta", "feature", "theta", "planted")
	var w []float64
	if train.Truth != nil {
		w = train.Truth.W
		job.SetFinal("cos_theta", cosine(theta, w))
	}
	for i, v := range theta {
		p := math.NaN()
		if w != nil {
			p = w[i]
		}
		t.Add(i, v, p)
	}
	series := []string{"loss"}
	job.AddChart(kernel.Chart{Kind: "line", ID: "loss", Title: "PRO loss (" + cfg.Temperature + " temperature)", Series: series})
	if test != nil {
		job.AddChart(kernel.Chart{Kind: "line", ID: "test", Title: "Held-out ranking quality", Series: []string{"test_top1", "test_kendall_tau"}})
	}
	return nil
}

func cosine(a, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += a[i] * b[i]
		aa += a[i] * a[i]
		bb += b[i] * b[i]
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

// PLVersusPairwise measures, for each number of rankings in sizes, how well
// Plackett–Luce (FitPlackettLuce) and Bradley–Terry on the full rank
// breaking (FitNewton on BreakRankings) recover planted log-strengths from
// the same rankings: cfg (Rankings is replaced by each size) drawn repeats
// times from r. The table has columns method ("plackett_luce" or
// "pairwise"), rankings, rmse (of θ against the planted θ, both centered),
// rmse_stderr (over the repeats) and kendall_tau (mean τ-b with the planted
// order). Fits that need it get the default prior.
func PLVersusPairwise(cfg datasets.PLConfig, sizes []int, repeats int, r *rand.Rand) (*kernel.Table, error) {
	if repeats < 1 {
		return nil, fmt.Errorf("bt: pl versus pairwise: want repeats ≥ 1, got %d", repeats)
	}
	t := kernel.NewTable("method", "rankings", "rmse", "rmse_stderr", "kendall_tau")
	for _, n := range sizes {
		cfg.Rankings = n
		var rmse, tau [2][]float64
		for range repeats {
			data, err := datasets.GeneratePLRankings(cfg, r)
			if err != nil {
				return nil, err
			}
			pl, err := FitPlackettLuce(data, &PLSettings{Prior: DefaultPrior})
			if err != nil {
				return nil, err
			}
			pw, err := FitNewton(BreakRankings(data), &Settings{Prior: DefaultPrior})
			if err != nil {
				return nil, err
			}
			for m, theta := range [][]float64{pl.Theta, pw.Theta} {
				var sq float64
				for i, th := range theta {
					sq += (th - data.Truth.Theta[i]) * (th - data.Truth.Theta[i])
				}
				rmse[m] = append(rmse[m], math.Sqrt(sq/float64(len(theta))))
				if k, err := KendallTau(theta, data.Truth.Theta); err == nil {
					tau[m] = append(tau[m], k)
				}
			}
		}
		for m, name := range []string{"plackett_luce", "pairwise"} {
			mean, se := meanStderr(rmse[m])
			tm, _ := meanStderr(tau[m])
			t.Add(name, n, mean, se, tm)
		}
	}
	return t, nil
}

func meanStderr(v []float64) (mean, se float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	n := float64(len(v))
	for _, x := range v {
		mean += x / n
	}
	if len(v) > 1 {
		var ss float64
		for _, x := range v {
			ss += (x - mean) * (x - mean)
		}
		se = math.Sqrt(ss / (n - 1) / n)
	}
	return mean, se
}
