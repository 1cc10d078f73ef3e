package nash

import (
	"errors"
	"fmt"
	"math"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/algos/pairloss"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// Keys of the run parameters.
const (
	// ParamIterations (int, default 100) is T, the number of policy updates.
	ParamIterations = "iterations"
	// ParamMode (choice, default "exact") is "exact" (the closed-form
	// population update, float64) or "sampled" (pairs drawn from π_t,
	// labelled by the oracle, the loss minimised with GoMLX autodiff + Adam).
	ParamMode = "mode"
	// ParamPolicy (choice, default "tabular") is the policy of sampled mode:
	// "tabular" (a logit per prompt and action) or "loglinear"
	// (π_θ(y|x) ∝ exp(θᵀφ(x,y)), θ shared by the prompts).
	ParamPolicy = "policy"
	// ParamPairs (int, default 1000) is the number of oracle-labelled pairs
	// per iteration in sampled mode (candidate sets for DNO-Prct). Sampled
	// mode also reads the shared fit.ParamSteps (default 200: Adam steps per
	// iteration) and fit.ParamLearningRate (default 0.05: Adam's learning
	// rate).
	ParamPairs = "pairs"
	// ParamKappa (float, default 1) is INPO's step size κ (the paper's 1/η):
	// the weight of P(y ≻ π_t) in the log-policy update.
	ParamKappa = "kappa"
	// ParamTau (float, default 0.1) is the KL-regularisation τ towards π_ref.
	ParamTau = "tau"
	// ParamEta (float, default 1) is DNO's η (target π_t·exp(r_t/η); β of
	// DPO in the prct variant), and MWU's step size.
	ParamEta = "eta"
	// ParamBeta (float, default 0.1) is the KL coefficient β of BT-RLHF.
	ParamBeta = "beta"
	// ParamVariant (choice, default "dno") is DNO's "dno" (soft labels from
	// r_t) or "prct" (DNO-Prct: best-vs-worst pairs, DPO against π_t).
	ParamVariant = "variant"
	// ParamCandidates (int, default 4) is the number of responses DNO-Prct
	// samples per prompt.
	ParamCandidates = "candidates"
	// ParamMargin (float, default 0.2) is the win-fraction gap DNO-Prct
	// requires between the best and the worst candidate.
	ParamMargin = "margin"
)

// The values of ParamMode and ParamVariant.
const (
	ModeExact    = "exact"
	ModeSampled  = "sampled"
	VariantDNO   = "dno"
	VariantPrct  = "prct"
	defaultIters = 100
)

func iterParam() kernel.Param {
	return kernel.IntParam(ParamIterations, defaultIters, 1, 100000, "T, policy updates")
}

func learnParams() []kernel.Param {
	return append([]kernel.Param{
		kernel.ChoiceParam(ParamMode, ModeExact, []string{ModeExact, ModeSampled}, "exact population update, or sampled pairs + GoMLX/Adam"),
		kernel.ChoiceParam(ParamPolicy, PolicyTabular, []string{PolicyTabular, PolicyLogLinear}, "policy of sampled mode"),
		kernel.IntParam(ParamPairs, 1000, 1, 10_000_000, "oracle-labelled pairs per iteration (sampled)"),
	}, adamParams("sampled")...)
}

// adamParams declares the shared steps and learning_rate of the learned
// updates (nash always trains with Adam); which says which runs read them.
func adamParams(which string) []kernel.Param {
	return fit.Params(fit.Defaults{LearningRate: 0.05, Steps: 200, Doc: map[string]string{
		fit.ParamLearningRate: "Adam learning rate (" + which + ")",
		fit.ParamSteps:        "Adam steps per iteration (" + which + ")",
	}})
}

func positive(key string, def float64, doc string) kernel.Param {
	return kernel.Param{Key: key, Type: kernel.Float, Default: def, Range: kernel.Range{Min: 0, Max: 1000, MinExclusive: true}, Doc: doc}
}

// learnConfig is the sampled-mode part of a run; its fit.Config holds the
// Adam steps and learning rate.
type learnConfig struct {
	Policy string
	Pairs  int
	fit.Config
}

func learnConfigOf(p kernel.Params) learnConfig {
	return learnConfig{Policy: p.String(ParamPolicy), Pairs: p.Int(ParamPairs), Config: fit.Read(p)}
}

// newPolicyLearner builds the learner of a sampled run and returns it with
// the initial log-policy: start (a saved policy; nil: π_ref) for a tabular
// policy, θ = 0 for log-linear.
func newPolicyLearner(job *kernel.Job, g *datasets.Game, ev *evaluator, c learnConfig, start [][]float64, loss pairloss.Loss, scale float64) (*learner, [][]float64, error) {
	x, k := len(g.Prompts), g.K()
	var features [][][]float64
	var init []float64
	switch c.Policy {
	case PolicyTabular:
		for p := range x {
			if start != nil {
				init = append(init, logStart(start[p])...)
				continue
			}
			init = append(init, logs(ev.ref[p])...)
		}
	case PolicyLogLinear:
		if g.NumFeatures() == 0 {
			job.Note("the game has no features: the log-linear policy uses one-hot action features, one policy shared by all prompts")
			for range x {
				fx := make([][]float64, k)
				for i := range fx {
					fx[i] = make([]float64, k)
					fx[i][i] = 1
				}
				features = append(features, fx)
			}
		} else {
			for _, pr := range g.Prompts {
				features = append(features, pr.Features)
			}
		}
		init = make([]float64, len(features[0][0]))
	default:
		return nil, nil, fmt.Errorf("nash: unknown policy %q", c.Policy)
	}
	l, err := newLearner(job.Backend, x, k, features, init, loss, scale, c.LearningRate, c.Steps)
	if err != nil {
		return nil, nil, err
	}
	logPi, err := l.logPolicy()
	return l, logPi, err
}

// updateFn maps log π_t to log π_{t+1}. A learned update also returns the
// loss it minimised, with learned true; exact updates, and a learned one
// left without data (DNO-Prct keeping no pair), return learned false and
// record no loss.
type updateFn func(t int, logPi [][]float64) (next [][]float64, loss float64, learned bool, err error)

// iterate runs T updates from logPi on a fit.Loop, one step per update,
// recording the metrics of every iterate (t = 0 is the initial policy) with
// the given suffix, and the loss of learned updates, and returns the last
// iterate and the average iterate (π_0 + … + π_T)/(T+1). A non-finite loss
// stops it as the divergence of its iteration. observe, if not nil, is
// called after the records of each iterate (t = 0 included) with the
// iterate's policy and the average of the iterates so far.
func iterate(job *kernel.Job, ev *evaluator, logPi [][]float64, iters int, suffix string,
	update updateFn, observe func(t int, pi, avg [][]float64) error) (last, avg [][]float64, err error) {
	pi := expAll(logPi)
	var prev [][]float64
	var mean runningMean
	var loss float64
	var learned bool
	loop := fit.NewLoop("nash", iters, func(t int) (float64, error) {
		next, l, ok, err := update(t, logPi)
		if err != nil {
			return 0, err
		}
		logPi, prev, pi = next, pi, expAll(next)
		loss, learned = l, ok
		if !learned {
			return 0, nil
		}
		return loss, nil
	})
	loop.Record = job.Record
	loop.LossMetric = MetricLoss + suffix
	loop.OnStart("record", func(int) error {
		if err := record(job, 0, suffix, ev.eval(pi, nil)); err != nil {
			return err
		}
		avg = mean.add(pi)
		if observe != nil {
			return observe(0, pi, avg)
		}
		return nil
	})
	loop.EveryN(1, "record", func(t int) error {
		if err := record(job, t, suffix, ev.eval(pi, prev)); err != nil {
			return err
		}
		if learned {
			if err := job.Record(int64(t), MetricLoss+suffix, loss); err != nil {
				return err
			}
		}
		avg = mean.add(pi)
		if observe != nil {
			return observe(t, pi, avg)
		}
		return nil
	})
	if err := loop.Run(job.Context()); err != nil {
		return nil, nil, err
	}
	return pi, avg, nil
}

// runningMean averages the iterates π_0, π_1, … of a run, per prompt.
type runningMean struct {
	sum [][]float64
	n   int
}

// add adds pi and returns the mean of the iterates so far, a new slice.
func (m *runningMean) add(pi [][]float64) [][]float64 {
	if m.sum == nil {
		m.sum = make([][]float64, len(pi))
		for x := range pi {
			m.sum[x] = make([]float64, len(pi[x]))
		}
	}
	m.n++
	avg := make([][]float64, len(m.sum))
	for x := range pi {
		avg[x] = make([]float64, len(pi[x]))
		for i, v := range pi[x] {
			m.sum[x][i] += v
			avg[x][i] = m.sum[x][i] / float64(m.n)
		}
	}
	return avg
}

// errStartLogLinear is a saved policy given to a log-linear learner: the
// model holds probabilities, not the θ of a log-linear policy.
var errStartLogLinear = errors.New("nash: policy=loglinear cannot start from a saved model (it holds each prompt's probabilities, not θ); use policy=tabular or mode=exact")

// logStart is log π of a saved policy a run starts from, with zero
// probabilities raised to the smallest positive float64: an exact update
// with κτ = 1 multiplies log π_t by 0, and Adam cannot move a −∞ logit.
func logStart(pi []float64) []float64 {
	out := make([]float64, len(pi))
	for i, v := range pi {
		out[i] = math.Log(max(v, math.SmallestNonzeroFloat64))
	}
	return out
}

// initial is the log-policy a run starts from: the saved start, or π_ref.
func initial(ev *evaluator, start [][]float64) [][]float64 {
	if start == nil {
		return logAll(ev.ref)
	}
	out := make([][]float64, len(start))
	for x, p := range start {
		out[x] = logStart(p)
	}
	return out
}

// perPrompt applies an exact update to every prompt, renormalising in log space.
func perPrompt(logPi [][]float64, f func(x int, z []float64) []float64) [][]float64 {
	out := make([][]float64, len(logPi))
	for x, z := range logPi {
		out[x] = normLog(f(x, z))
	}
	return out
}

// inpoConfig configures an INPO run.
type inpoConfig struct {
	Iterations int
	Kappa, Tau float64
	Mode       string
	Learn      learnConfig
	Start      [][]float64 // the policy π_0 per prompt; nil: π_ref
}

func (c inpoConfig) check() error {
	if c.Kappa*c.Tau > 1 {
		return fmt.Errorf("nash: kappa·tau must be ≤ 1 (π_t's exponent 1 − κτ), got %g·%g = %g", c.Kappa, c.Tau, c.Kappa*c.Tau)
	}
	if c.Mode == ModeExact && c.Learn.Policy != PolicyTabular {
		return fmt.Errorf("nash: mode=exact updates a tabular policy in closed form; policy=%s needs mode=sampled", c.Learn.Policy)
	}
	if c.Start != nil && c.Learn.Policy == PolicyLogLinear {
		return errStartLogLinear
	}
	return nil
}

// runINPO runs INPO on g and returns the last and the average iterate.
func runINPO(job *kernel.Job, g *datasets.Game, ev *evaluator, c inpoConfig, suffix string) (last, avg [][]float64, err error) {
	if err := c.check(); err != nil {
		return nil, nil, err
	}
	logRef := logAll(ev.ref)
	if c.Mode == ModeExact {
		return iterate(job, ev, initial(ev, c.Start), c.Iterations, suffix, func(_ int, logPi [][]float64) ([][]float64, float64, bool, error) {
			return perPrompt(logPi, func(x int, z []float64) []float64 {
				return inpoLog(g.Prompts[x].P, z, logRef[x], c.Kappa, c.Tau)
			}), 0, false, nil
		}, nil)
	}
	l, logPi0, err := newPolicyLearner(job, g, ev, c.Learn, c.Start, inpoLoss(c.Kappa), 1)
	if err != nil {
		return nil, nil, err
	}
	rng := job.Rand()
	k := g.K()
	return iterate(job, ev, logPi0, c.Iterations, suffix, func(_ int, logPi [][]float64) ([][]float64, float64, bool, error) {
		w := inpoPairs(rng, g, expAll(logPi), c.Learn.Pairs)
		offset := make([]float64, 0, len(logPi)*k)
		for x, z := range logPi {
			for i := range z {
				offset = append(offset, c.Kappa*c.Tau*logRef[x][i]+(1-c.Kappa*c.Tau)*z[i])
			}
		}
		loss, err := l.train(job.Context(), w, offset)
		if err != nil {
			return nil, 0, false, err
		}
		next, err := l.logPolicy()
		return next, loss, true, err
	}, nil)
}

// dnoConfig configures a DNO run.
type dnoConfig struct {
	Iterations int
	Eta        float64
	Mode       string
	Variant    string
	Candidates int
	Margin     float64
	Learn      learnConfig
	Start      [][]float64 // the policy π_0 per prompt; nil: π_ref
}

func (c dnoConfig) check() error {
	if c.Mode == ModeExact && c.Variant == VariantPrct {
		return fmt.Errorf("nash: variant=prct is a sampled method (best-vs-worst of sampled candidates); use mode=sampled")
	}
	if c.Mode == ModeExact && c.Learn.Policy != PolicyTabular {
		return fmt.Errorf("nash: mode=exact updates a tabular policy in closed form; policy=%s needs mode=sampled", c.Learn.Policy)
	}
	if c.Start != nil && c.Learn.Policy == PolicyLogLinear {
		return errStartLogLinear
	}
	return nil
}

// runDNO runs DNO (or DNO-Prct) on g and returns the last and the average
// iterate.
func runDNO(job *kernel.Job, g *datasets.Game, ev *evaluator, c dnoConfig, suffix string) (last, avg [][]float64, err error) {
	if err := c.check(); err != nil {
		return nil, nil, err
	}
	if c.Mode == ModeExact {
		return iterate(job, ev, initial(ev, c.Start), c.Iterations, suffix, func(_ int, logPi [][]float64) ([][]float64, float64, bool, error) {
			return perPrompt(logPi, func(x int, z []float64) []float64 {
				return mwuLog(g.Prompts[x].P, z, 1/c.Eta)
			}), 0, false, nil
		}, nil)
	}
	l, logPi0, err := newPolicyLearner(job, g, ev, c.Learn, c.Start, logisticLoss, c.Eta)
	if err != nil {
		return nil, nil, err
	}
	rng := job.Rand()
	skipped := 0
	last, avg, err = iterate(job, ev, logPi0, c.Iterations, suffix, func(_ int, logPi [][]float64) ([][]float64, float64, bool, error) {
		var w []float64
		if c.Variant == VariantPrct {
			var kept int
			w, kept = prctPairs(rng, g, expAll(logPi), c.Learn.Pairs, c.Candidates, c.Margin)
			if kept == 0 {
				skipped++
				return logPi, 0, false, nil
			}
		} else {
			w = dnoPairs(rng, g, expAll(logPi), c.Learn.Pairs)
		}
		var offset []float64
		for _, z := range logPi {
			offset = append(offset, z...)
		}
		loss, err := l.train(job.Context(), w, offset)
		if err != nil {
			return nil, 0, false, err
		}
		next, err := l.logPolicy()
		return next, loss, true, err
	}, nil)
	if skipped > 0 {
		job.Note("DNO-Prct kept no pair above margin %g in %d of %d iterations (policy left unchanged there)", c.Margin, skipped, c.Iterations)
	}
	return last, avg, err
}

// mwuConfig configures multiplicative weights.
type mwuConfig struct {
	Iterations int
	Eta        float64
	Start      [][]float64 // the policy π_0 per prompt; nil: π_ref
}

// runMWU runs exact multiplicative weights (self-play Hedge, τ = 0) and
// returns the last and the average iterate. The average of π_0 … π_t is
// recorded with suffix "_avg" on each metric.
func runMWU(job *kernel.Job, g *datasets.Game, ev *evaluator, c mwuConfig, suffix string) (last, avg [][]float64, err error) {
	var prevAvg [][]float64
	add := func(t int, _, avg [][]float64) error {
		err := record(job, t, "_avg"+suffix, ev.eval(avg, prevAvg))
		prevAvg = avg
		return err
	}
	return iterate(job, ev, initial(ev, c.Start), c.Iterations, suffix, func(_ int, logPi [][]float64) ([][]float64, float64, bool, error) {
		return perPrompt(logPi, func(x int, z []float64) []float64 {
			return mwuLog(g.Prompts[x].P, z, c.Eta)
		}), 0, false, nil
	}, add)
}

// btConfig configures BT-RLHF.
type btConfig struct {
	Iterations int // rounds: round t fits BT on pairs from π_{t−1}
	Beta       float64
	Mode       string
	Pairs      int
}

// runBT fits Bradley–Terry scores to comparisons of pairs drawn from π_{t−1}
// (π_0 = π_ref) and sets π_t = π_ref·exp(r/β), for each round t. It returns
// the last policy, the average of π_0 … π_T and the last scores.
func runBT(job *kernel.Job, g *datasets.Game, ev *evaluator, c btConfig, suffix string) (last, avg, scores [][]float64, err error) {
	rng := job.Rand()
	k := g.K()
	scores = make([][]float64, len(g.Prompts))
	last, avg, err = iterate(job, ev, logAll(ev.ref), c.Iterations, suffix, func(_ int, logPi [][]float64) ([][]float64, float64, bool, error) {
		cur := expAll(logPi)
		wins := make([][][]float64, len(g.Prompts))
		for x := range wins {
			wins[x] = make([][]float64, k)
			for i := range wins[x] {
				wins[x][i] = make([]float64, k)
				if c.Mode == ModeExact {
					for j := range k {
						wins[x][i][j] = cur[x][i] * cur[x][j] * g.Prompts[x].P[i][j]
					}
				}
			}
		}
		if c.Mode == ModeSampled {
			w := inpoPairs(rng, g, cur, c.Pairs)
			for x := range wins {
				for i := range k {
					for j := range k {
						wins[x][i][j] = w[(x*k+i)*k+j]
					}
				}
			}
		}
		next := make([][]float64, len(g.Prompts))
		for x := range wins {
			s, err := FitBT(wins[x])
			if err != nil {
				return nil, 0, false, fmt.Errorf("%w (prompt %s)", err, g.Prompts[x].Name)
			}
			scores[x] = s
			// BTPolicy in log space, so that tiny probabilities stay finite.
			z := logs(ev.ref[x])
			for i := range z {
				z[i] += s[i] / c.Beta
			}
			next[x] = normLog(z)
		}
		return next, 0, false, nil
	}, nil)
	return last, avg, scores, err
}
