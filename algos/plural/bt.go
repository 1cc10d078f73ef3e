package plural

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/alignlab/alignlab/algos/backend"
	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/algos/pairloss"
	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// This file holds the baseline every paper compares with: one
// Bradley–Terry reward shared by all users, one score per item.

// BTConfig configures FitBT.
type BTConfig struct {
	fit.Config
	L2      float64 // ≥ 0: adds L2·‖s‖² (fixes the scores' free offset)
	Backend string  // GoMLX backend; "" is the default
}

// DefaultBTConfig: full-batch Adam at 0.05 for 500 steps, L2 = 1e-4.
func DefaultBTConfig() BTConfig {
	return BTConfig{Config: fit.Config{Optimizer: fit.Adam, LearningRate: 0.05, Steps: 500, EvalEvery: 50}, L2: 1e-4}
}

// BTModel is a single Bradley–Terry reward: one score per item.
type BTModel struct {
	Scores []float64
}

// Prob is the model's probability that a is preferred to b.
func (m *BTModel) Prob(a, b int) float64 { return pairloss.Sigmoid(m.Scores[a] - m.Scores[b]) }

// MetricBTLoss is the series FitBT records: the mean training loss since
// the previous record.
const MetricBTLoss = "bt_loss"

// FitBT fits one score per item of p to the comparisons cmps, whoever made
// them, by minimising the mean logistic pair loss −log σ(s_w − s_l) plus
// L2·‖s‖² (GoMLX, fit.Loop), starting from s = 0. Mini-batches, if any, are
// drawn from r. rec (may be nil) receives bt_loss every EvalEvery steps.
func FitBT(ctx context.Context, p *Population, cmps []Comparison, cfg BTConfig, r *rand.Rand, rec fit.Recorder) (_ *BTModel, err error) {
	defer fit.Catch("plural", &err)
	if err := cfg.Check("plural"); err != nil {
		return nil, err
	}
	if !(cfg.L2 >= 0) {
		return nil, fmt.Errorf("plural: l2 must be ≥ 0, got %v", cfg.L2)
	}
	if len(cmps) == 0 {
		return nil, fmt.Errorf("plural: no comparisons to fit")
	}
	n := len(p.Items)
	rows := winnerRows(cmps, n)
	be, opt, store, err := startFit(cfg.Backend, cfg.Config)
	if err != nil {
		return nil, err
	}
	scores := store.RootScope().VariableWithValue("scores", make([]float64, n))
	loss := pairloss.Loss{Kind: pairloss.Logistic, Beta: 1}
	step, err := model.NewExec(be, store, func(scope *model.Scope, d *Node) *Node {
		g := d.Graph()
		scope.SetTraining(g, true)
		s := scores.NodeValue(g)
		mean := loss.Mean(Dot(d, s).Product(), nil)
		total := mean
		if cfg.L2 > 0 {
			total = Add(mean, MulScalar(ReduceAllSum(Square(s)), cfg.L2))
		}
		opt.UpdateGraph(scope, g, total)
		return mean
	})
	if err != nil {
		return nil, err
	}
	batches := fit.NewBatcher(len(cmps), cfg.BatchSize, r)
	full := tensors.FromFlatDataAndDimensions(rows, len(cmps), n)
	loop := fit.NewLoop("plural", cfg.Steps, fit.ExecStep(step, func(int) []any {
		if batches.Full() {
			return []any{full}
		}
		idx := batches.Next()
		return []any{tensors.FromFlatDataAndDimensions(fit.Rows(rows, n, idx), len(idx), n)}
	}))
	loop.RecordMeanLoss(rec, MetricBTLoss, cfg.EvalEvery)
	if err := loop.Run(ctx); err != nil {
		return nil, err
	}
	return &BTModel{Scores: tensors.MustCopyFlatData[float64](scores.MustValue())}, nil
}

// startFit returns what every fit of the family starts from: the GoMLX
// backend named backendName (cached by algos/backend), c's optimizer and
// an empty variable store.
func startFit(backendName string, c fit.Config) (compute.Backend, optimizer.Interface, *model.Store, error) {
	be, err := backend.Get(backendName)
	if err != nil {
		return nil, nil, nil, err
	}
	opt, err := c.NewOptimizer()
	if err != nil {
		return nil, nil, nil, err
	}
	return be, opt, model.NewStore(), nil
}

// winnerRows returns the comparisons as rows of a [len(cmps), n] matrix
// with +1 at the winner and −1 at the loser, so that D·s = s_w − s_l.
func winnerRows(cmps []Comparison, n int) []float64 {
	rows := make([]float64, len(cmps)*n)
	for i, c := range cmps {
		w, l := c.A, c.B
		if !c.AWins {
			w, l = l, w
		}
		rows[i*n+w] = 1
		rows[i*n+l] = -1
	}
	return rows
}
