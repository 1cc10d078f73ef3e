package tdpo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// FrontierConfig is a sweep of losses and hyperparameters on one task.
type FrontierConfig struct {
	Losses []Kind    // the losses to compare
	Betas  []float64 // β of every run
	Alphas []float64 // TDPO2 runs once per α (the others ignore α)
	Train  Config    // the rest of each run's Config (its Loss, Beta and Alpha are set by the sweep)
	Budget []float64 // KL budgets of the summary; nil means DefaultBudgets
	// OptimalBetas are the β of the exact optimum π*_β ∝ π_ref·exp(r/β),
	// drawn as the best frontier any policy can reach (enumerable tasks
	// only); nil means DefaultOptimalBetas.
	OptimalBetas []float64
}

// Defaults of Frontier.
var (
	DefaultFrontierLosses = []Kind{DPO, TDPO2}
	DefaultFrontierBetas  = []float64{0.05, 0.1, 0.2, 0.5, 1}
	DefaultFrontierAlphas = []float64{DefaultAlpha}
	DefaultBudgets        = []float64{0.25, 0.5, 1, 2, 4}
	DefaultOptimalBetas   = logSpaced(0.1, 20, 41) // dense enough to draw the optimum as a curve of points
)

// logSpaced returns n values from lo to hi, evenly spaced in log scale.
func logSpaced(lo, hi float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = lo * math.Pow(hi/lo, float64(i)/float64(n-1))
	}
	return out
}

// FrontierPoint is the policy of one run at one recorded step (or, with
// Method "optimal", the exact π*_β).
type FrontierPoint struct {
	Method                     string // e.g. "dpo", "tdpo2 α=0.5", "optimal"
	Loss                       Kind   // empty for the optimum
	Beta, Alpha                float64
	Step                       int
	KL, Reward                 float64
	SeqKLChosen, SeqKLRejected float64
	// Gap is R*(KL) − Reward, how far below the exact optimal frontier
	// (the most reward any policy gets at this KL) the point lies; NaN
	// when the task is not enumerable.
	Gap float64
}

// FrontierResult holds every point of a sweep and its summary.
type FrontierResult struct {
	Points  []FrontierPoint // every recorded step of every run, in run order
	Optimal []FrontierPoint // π*_β for each OptimalBetas (nil when the task is not enumerable)
	Methods []string        // the methods of Points, in run order
	Budgets []float64
	// AtKL[method][i] is the method's frontier at KL = Budgets[i]: the
	// highest reward of any of its runs where the run's path crosses that
	// KL, interpolating linearly between recorded steps (so the comparison
	// does not depend on where checkpoints fall); NaN if no run reaches
	// it. AtKL["optimal"] is the exact optimum R*(KL) (enumerable tasks).
	AtKL map[string][]float64
}

// Method names a run for the frontier's legend: the loss, and α for TDPO2.
func Method(kind Kind, alpha float64) string {
	if kind == TDPO2 {
		return fmt.Sprintf("%s α=%g", kind, alpha)
	}
	return string(kind)
}

// MethodOptimal is the Method of the exact optimum's points.
const MethodOptimal = "optimal"

// Frontier trains one policy per (loss, β, α) on task and collects, at
// every recorded step, its exact (or sampled) KL to π_ref and expected
// reward: the reward–KL frontier of the paper's IMDb figure, where each
// method's points are its checkpoints over training and β. Every run uses
// the same mini-batch order (drawn from one seed taken from r), so the
// methods differ only by their loss. progress, if not nil, is called after
// each run.
func Frontier(ctx context.Context, task *Task, fc FrontierConfig, r *rand.Rand, progress func(done, total int)) (*FrontierResult, error) {
	if len(fc.Losses) == 0 || len(fc.Betas) == 0 {
		return nil, fmt.Errorf("tdpo: frontier needs ≥ 1 loss and ≥ 1 β")
	}
	alphas := fc.Alphas
	if len(alphas) == 0 {
		alphas = []float64{DefaultAlpha}
	}
	type run struct {
		kind        Kind
		beta, alpha float64
	}
	var runs []run
	res := &FrontierResult{Budgets: fc.Budget, AtKL: map[string][]float64{}}
	if res.Budgets == nil {
		res.Budgets = DefaultBudgets
	}
	for _, k := range fc.Losses {
		as := []float64{alphas[0]}
		if k == TDPO2 {
			as = alphas
		}
		for _, a := range as {
			res.Methods = append(res.Methods, Method(k, a))
			for _, b := range fc.Betas {
				runs = append(runs, run{k, b, a})
			}
		}
	}
	curve := task.optimal()
	s1, s2 := r.Uint64(), r.Uint64()
	for i, rn := range runs {
		cfg := fc.Train
		cfg.Loss, cfg.Beta, cfg.Alpha = rn.kind, rn.beta, rn.alpha
		pending := map[string]float64{}
		rec := func(step int64, name string, v float64) error {
			pending[name] = v
			if name != MetricReward { // the last metric of a step
				return nil
			}
			res.Points = append(res.Points, FrontierPoint{
				Method: Method(rn.kind, rn.alpha), Loss: rn.kind, Beta: rn.beta, Alpha: rn.alpha, Step: int(step),
				KL: pending[MetricKL], Reward: v,
				SeqKLChosen: pending[MetricSeqKLChosen], SeqKLRejected: pending[MetricSeqKLRejected],
				Gap: curve.gap(pending[MetricKL], v),
			})
			return nil
		}
		if _, err := Train(ctx, task, cfg, rand.New(rand.NewPCG(s1, s2)), rec); err != nil {
			return nil, fmt.Errorf("tdpo: frontier run %s β=%g: %w", Method(rn.kind, rn.alpha), rn.beta, err)
		}
		if progress != nil {
			progress(i+1, len(runs))
		}
	}
	if task.Tree != nil {
		betas := fc.OptimalBetas
		if betas == nil {
			betas = DefaultOptimalBetas
		}
		for _, b := range betas {
			m := task.Tree.Optimal(task.Reward, b).Measure(task.Tree, task.Reward)
			res.Optimal = append(res.Optimal, FrontierPoint{Method: MethodOptimal, Beta: b, KL: m.KL, Reward: m.Reward})
		}
		res.AtKL[MethodOptimal] = make([]float64, len(res.Budgets))
		for i, b := range res.Budgets {
			res.AtKL[MethodOptimal][i] = curve.at(b)
		}
	}
	for _, method := range res.Methods {
		res.AtKL[method] = make([]float64, len(res.Budgets))
		for i, b := range res.Budgets {
			res.AtKL[method][i] = frontierAt(res.Points, method, b)
		}
	}
	return res, nil
}

// frontierAt returns the highest reward at KL = kl along the method's runs
// (consecutive points of one run joined by segments), NaN if none crosses it.
func frontierAt(points []FrontierPoint, method string, kl float64) float64 {
	best := math.NaN()
	for i := 1; i < len(points); i++ {
		a, b := points[i-1], points[i]
		if b.Method != method || a.Method != method || a.Beta != b.Beta || a.Alpha != b.Alpha || b.Step <= a.Step {
			continue // not two consecutive checkpoints of one run
		}
		lo, hi := min(a.KL, b.KL), max(a.KL, b.KL)
		if kl < lo || kl > hi {
			continue
		}
		r := a.Reward
		if hi > lo {
			r += (kl - a.KL) / (b.KL - a.KL) * (b.Reward - a.Reward)
		}
		if !(r <= best) {
			best = r
		}
	}
	return best
}

// optimalCurve is the exact optimal frontier R*(KL) = max E r subject to
// KL(π ‖ π_ref) ≤ KL, traced by π*_β ∝ π_ref·exp(r/β) on a dense grid of β
// (the KL of π*_β falls as β grows) and interpolated linearly.
type optimalCurve struct{ kl, reward []float64 }

// optimalCurveBetas spans KL from ~0 (β = 1000) to nearly its maximum
// log 1/π_ref(best response) (β = 0.001), 241 points.
func newOptimalCurve(task *Task) *optimalCurve {
	c := &optimalCurve{}
	for i := 240; i >= 0; i-- {
		beta := math.Pow(10, -3+6*float64(i)/240)
		m := task.Tree.Optimal(task.Reward, beta).Measure(task.Tree, task.Reward)
		c.kl = append(c.kl, m.KL)
		c.reward = append(c.reward, m.Reward)
	}
	return c
}

// at returns R*(kl), clamped to the ends of the grid.
func (c *optimalCurve) at(kl float64) float64 {
	n := len(c.kl)
	switch {
	case kl <= c.kl[0]:
		return c.reward[0]
	case kl >= c.kl[n-1]:
		return c.reward[n-1]
	}
	i := sort.SearchFloat64s(c.kl, kl) // c.kl[i-1] < kl ≤ c.kl[i]
	w := (kl - c.kl[i-1]) / (c.kl[i] - c.kl[i-1])
	return c.reward[i-1] + w*(c.reward[i]-c.reward[i-1])
}

// optimal returns the task's optimal curve, built on first use; nil when
// the task is not enumerable.
func (t *Task) optimal() *optimalCurve {
	if t.Tree != nil && t.curve == nil {
		t.curve = newOptimalCurve(t)
	}
	return t.curve
}

// OptimalReward returns R*(kl) = max E r subject to KL(π ‖ π_ref) ≤ kl,
// exactly (up to interpolation on a grid of 241 β), or NaN when the task
// is not enumerable.
func (t *Task) OptimalReward(kl float64) float64 {
	c := t.optimal()
	if c == nil {
		return math.NaN()
	}
	return c.at(kl)
}

func (c *optimalCurve) gap(kl, reward float64) float64 {
	if c == nil {
		return math.NaN()
	}
	return c.at(kl) - reward
}

// SortedByKL returns the points sorted by KL (then reward), for drawing a
// frontier as a line.
func SortedByKL(points []FrontierPoint) []FrontierPoint {
	out := append([]FrontierPoint(nil), points...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].KL != out[j].KL {
			return out[i].KL < out[j].KL
		}
		return out[i].Reward < out[j].Reward
	})
	return out
}
