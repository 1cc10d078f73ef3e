package bt

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/nn"

	"github.com/alignlab/alignlab/algos/backend"
	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
)

// This file holds PRO (Song et al. 2023) for a log-linear policy over
// ranked candidate lists: the temperatures, the loss (float64 and graph),
// the trainer, the ranking metrics and TrainPRO (on fit.Loop). The
// Plackett–Luce fit of named items is in plackett.go, the plugin
// bt.plackett_luce in plackett_plugin.go.

// The temperatures of PRO (PROConfig.Temperature).
const (
	// TemperatureDynamic is PRO's T from reward differences.
	TemperatureDynamic = "dynamic"
	// TemperatureConstant is T = 1: the Plackett–Luce negative log-likelihood.
	TemperatureConstant = "constant"
)

// PROConfig configures TrainPRO.
type PROConfig struct {
	Temperature string // TemperatureDynamic (needs rewards) or TemperatureConstant
	// Config holds the optimizer (fit.Adam or fit.SGD; fit.AdamW with
	// WeightDecay), its learning rate, the Steps and EvalEvery (the step
	// interval of the metrics TrainPRO records; 0 means every step). Every
	// step takes all lists: BatchSize is not read.
	fit.Config
	L2      float64 // adds L2·‖θ‖²
	Backend string  // the GoMLX backend configuration ("" means "go")
}

// DefaultPROConfig is the bt.plackett_luce default for candidate lists:
// dynamic temperature, 300 full-batch Adam steps at learning rate 0.05.
func DefaultPROConfig() PROConfig {
	return PROConfig{Temperature: TemperatureDynamic,
		Config: fit.Config{Optimizer: fit.Adam, LearningRate: 0.05, Steps: 300, EvalEvery: 25}}
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
func NewPROTrainer(r *datasets.Rankings, cfg PROConfig) (*PROTrainer, error) {
	return NewPROTrainerFrom(r, cfg, nil)
}

// NewPROTrainerFrom is NewPROTrainer with θ starting at init (r.Dim
// values; nil: 0).
func NewPROTrainerFrom(r *datasets.Rankings, cfg PROConfig, init []float64) (t *PROTrainer, err error) {
	if r == nil || r.Kind != datasets.RankingCandidates || r.Len() == 0 {
		return nil, errors.New("bt: pro: want ranked lists of candidates")
	}
	switch {
	case cfg.Temperature != TemperatureDynamic && cfg.Temperature != TemperatureConstant:
		return nil, fmt.Errorf("bt: pro: temperature: want %s or %s, got %q", TemperatureDynamic, TemperatureConstant, cfg.Temperature)
	case cfg.Temperature == TemperatureDynamic && r.Rewards == nil:
		return nil, errors.New("bt: pro: the dynamic temperature needs rewards in the data (or use temperature=constant)")
	}
	if err := checkTraining("bt: pro", cfg.Config); err != nil {
		return nil, err
	}
	if init != nil && len(init) != r.Dim {
		return nil, fmt.Errorf("bt: pro: init: want θ of dimension %d, got %d", r.Dim, len(init))
	}
	be, err := backend.Get(cfg.Backend)
	if err != nil {
		return nil, err
	}
	defer fit.Catch("bt", &err)
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
	theta0 := make([]float64, d)
	copy(theta0, init)
	t.theta = t.store.RootScope().In("pro").VariableWithValue("theta", tensors.FromFlatDataAndDimensions(theta0, d, 1))
	opt, err := cfg.NewOptimizer()
	if err != nil {
		return nil, err
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
	defer fit.Catch("bt", &err)
	out, err := t.exec.Call(t.in...)
	if err != nil {
		return 0, err
	}
	return tensors.ToScalar[float64](out[0]), nil
}

// Theta returns a copy of the current θ.
func (t *PROTrainer) Theta() (theta []float64, err error) {
	defer fit.Catch("bt", &err)
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
// loss (a fit.Loop of cfg.Steps full-batch steps) and returns θ. Every
// cfg.EvalEvery steps (and at the end) it records loss and, with test
// lists, test_top1 and test_kendall_tau. A NaN or infinite loss stops the
// training, recorded at its step (kernel.Job.Record makes it a
// *kernel.DivergedError).
func TrainPRO(ctx context.Context, train, test *datasets.Rankings, cfg PROConfig, rec fit.Recorder) ([]float64, error) {
	return TrainPROFrom(ctx, train, test, cfg, nil, rec)
}

// TrainPROFrom is TrainPRO with θ starting at init (nil: 0).
func TrainPROFrom(ctx context.Context, train, test *datasets.Rankings, cfg PROConfig, init []float64, rec fit.Recorder) ([]float64, error) {
	t, err := NewPROTrainerFrom(train, cfg, init)
	if err != nil {
		return nil, err
	}
	loop := fit.NewLoop("bt: pro", cfg.Steps, func(int) (float64, error) { return t.Step() })
	loop.Watch(t.store)
	if rec != nil {
		loop.Record = rec
		loop.EveryN(cfg.EvalEvery, "eval", func(k int) error {
			if err := rec(int64(k), "loss", loop.Loss); err != nil {
				return err
			}
			if test == nil {
				return nil
			}
			theta, err := t.Theta()
			if err != nil {
				return err
			}
			m := EvaluateRankings(test, theta, cfg.Temperature)
			if err := rec(int64(k), "test_top1", m.Top1); err != nil {
				return err
			}
			return rec(int64(k), "test_kendall_tau", m.KendallTau)
		})
	}
	if err := loop.Run(ctx); err != nil {
		return nil, err
	}
	return t.Theta()
}
