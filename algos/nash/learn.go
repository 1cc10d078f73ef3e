package nash

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/alignlab/alignlab/algos/backend"
	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/algos/pairloss"
)

// inpoLoss is INPO's per-pair loss (h − κ/2)².
func inpoLoss(kappa float64) pairloss.Loss {
	return pairloss.Loss{Kind: pairloss.Square, Beta: 1, Margin: kappa / 2}
}

// logisticLoss is −log σ(h): DNO's soft-label cross-entropy (the weights
// split by the soft label) and DPO (hard labels). The learner scales h by η
// before the loss, so β stays 1.
var logisticLoss = pairloss.Loss{Kind: pairloss.Logistic, Beta: 1}

// learner minimises, with GoMLX autodiff and Adam, a pairwise loss over a
// policy π_θ(·|x) for every prompt x:
//
//	L(θ) = Σ_{x,i,j} W[x,i,j] · ℓ(d[x,i] − d[x,j]),   d = s·(log π_θ − o),
//
// where ℓ is a pairloss.Loss, W[x,i,j] the (normalised) weight of "i
// preferred to j under x", and the offset o and scale s are constants of the
// iteration. Because the
// loss of a pair depends only on (x, i, j), sampled pairs are aggregated into
// W: the loss equals the mean over the pairs, at the cost of K² cells.
type learner struct {
	exec     *model.Exec
	store    *model.Store
	theta    *model.Variable
	x, k, d  int
	features []float64 // X·K·d, row-major; nil for a tabular policy
	lr       float64
	steps    int
}

// The values of ParamPolicy: the parameterisation of π_θ.
const (
	PolicyTabular   = "tabular"   // one free logit per (prompt, action)
	PolicyLogLinear = "loglinear" // π_θ(y|x) ∝ exp(θᵀφ(x,y)), θ shared by all prompts
)

// newLearner builds the training graph. features is X×K×d for a log-linear
// policy (nil for tabular); init is the initial θ (X·K logits, or d weights).
func newLearner(backendName string, x, k int, features [][][]float64, init []float64,
	loss pairloss.Loss, scale, lr float64, steps int) (*learner, error) {
	if err := loss.Check("nash"); err != nil {
		return nil, err
	}
	be, err := backend.Get(backendName)
	if err != nil {
		return nil, err
	}
	l := &learner{x: x, k: k, lr: lr, steps: steps, store: model.NewStore()}
	var thetaDims []int
	if features == nil {
		thetaDims = []int{x, k}
	} else {
		l.d = len(features[0][0])
		thetaDims = []int{l.d}
		l.features = make([]float64, 0, x*k*l.d)
		for _, fx := range features {
			for _, phi := range fx {
				l.features = append(l.features, phi...)
			}
		}
	}
	l.theta, err = l.store.RootScope().In("policy").CreateVariable("theta", tensors.FromFlatDataAndDimensions(append([]float64(nil), init...), thetaDims...))
	if err != nil {
		return nil, fmt.Errorf("nash: %w", err)
	}
	opt, err := fit.NewOptimizer(fit.Adam, lr, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("nash: %w", err)
	}
	l.exec, err = model.NewExec(be, l.store, func(scope *model.Scope, w, offset *Node) *Node {
		g := w.Graph()
		// The Go backend prefers to embed variables as constants outside
		// training mode, which would freeze θ at its first value.
		scope.SetTraining(g, true)
		theta := l.theta.NodeValue(g)
		var logits *Node
		if l.features == nil {
			logits = theta
		} else {
			phi := Const(g, tensors.FromFlatDataAndDimensions(l.features, x, k, l.d))
			logits = ReduceSum(Mul(phi, BroadcastToDims(Reshape(theta, 1, 1, l.d), x, k, l.d)), -1)
		}
		dv := MulScalar(Sub(LogSoftmax(logits, -1), offset), scale)
		h := Sub(BroadcastToDims(InsertAxes(dv, -1), x, k, k), BroadcastToDims(InsertAxes(dv, 1), x, k, k))
		// W sums to 1: the weighted sum is the mean, without
		// pairloss.WeightedMean's division by ΣW.
		total := ReduceAllSum(Mul(w, loss.Pairs(h)))
		opt.UpdateGraph(scope, g, total)
		return total
	})
	if err != nil {
		return nil, fmt.Errorf("nash: building the %s graph: %w", policyName(features), err)
	}
	return l, nil
}

func policyName(features [][][]float64) string {
	if features == nil {
		return PolicyTabular
	}
	return PolicyLogLinear
}

// train resets Adam, takes l.steps steps on the weights w (X·K·K) and
// offsets (X·K), and returns the loss of the last step (measured before its
// update). A NaN or infinite loss stops it early and is returned with a nil
// error, for the iteration loop to report as the divergence of its
// iteration; so does a non-finite gradient or parameter norm (the guard of
// fit.Loop.Watch), returned as a NaN loss.
func (l *learner) train(ctx context.Context, w, offset []float64) (float64, error) {
	if err := l.resetOptimizer(); err != nil {
		return 0, err
	}
	wt := tensors.FromFlatDataAndDimensions(w, l.x, l.k, l.k)
	ot := tensors.FromFlatDataAndDimensions(offset, l.x, l.k)
	loop := fit.NewLoop("nash", l.steps, func(int) (float64, error) {
		out, err := l.exec.Call(wt, ot)
		if err != nil {
			return 0, fmt.Errorf("optimizer step: %w", err)
		}
		return tensors.ToScalar[float64](out[0]), nil
	})
	loop.Watch(l.store)
	err := loop.Run(ctx)
	if err != nil && (math.IsNaN(loop.Loss) || math.IsInf(loop.Loss, 0)) {
		return loop.Loss, nil
	}
	if err != nil && errors.As(err, new(*fit.NonFiniteError)) {
		return math.NaN(), nil // a gradient or parameter norm, with a finite loss
	}
	return loop.Loss, err
}

// resetOptimizer zeroes Adam's moments and step counters, so that every
// iteration's loss is minimised from a fresh optimiser state (the loss
// changes completely between iterations; stale second moments would set the
// step size of the next one).
func (l *learner) resetOptimizer() error {
	for v := range l.store.IterVariables() {
		if v == l.theta || !v.HasValue() {
			continue
		}
		if !strings.HasPrefix(v.Path(), "/"+optimizer.AdamDefaultScope+"/") {
			continue
		}
		t := tensors.FromShape(v.Shape())
		if err := v.SetValue(t); err != nil {
			return fmt.Errorf("nash: resetting %s: %w", v.Path(), err)
		}
	}
	return nil
}

// logPolicy returns log π_θ(·|x) for every prompt, computed in float64 from θ.
func (l *learner) logPolicy() ([][]float64, error) {
	t, err := l.theta.Value()
	if err != nil {
		return nil, fmt.Errorf("nash: reading θ: %w", err)
	}
	theta, err := tensors.CopyFlatData[float64](t)
	if err != nil {
		return nil, fmt.Errorf("nash: reading θ: %w", err)
	}
	return logPolicyOf(theta, l.x, l.k, l.features, l.d), nil
}

// logPolicyOf maps θ to log π for a tabular (features nil) or log-linear policy.
func logPolicyOf(theta []float64, x, k int, features []float64, d int) [][]float64 {
	out := make([][]float64, x)
	for p := range x {
		z := make([]float64, k)
		for i := range k {
			if features == nil {
				z[i] = theta[p*k+i]
				continue
			}
			phi := features[(p*k+i)*d : (p*k+i+1)*d]
			for a := range d {
				z[i] += phi[a] * theta[a]
			}
		}
		out[p] = normLog(z)
	}
	return out
}

// normLog returns z − logsumexp(z).
func normLog(z []float64) []float64 {
	m := math.Inf(-1)
	for _, v := range z {
		m = max(m, v)
	}
	var s float64
	for _, v := range z {
		s += math.Exp(v - m)
	}
	lse := m + math.Log(s)
	out := make([]float64, len(z))
	for i, v := range z {
		out[i] = v - lse
	}
	return out
}
