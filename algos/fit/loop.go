package fit

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/alignlab/alignlab/kernel"
	"github.com/gomlx/gomlx/ml/model"
)

// Recorder receives metrics during training; kernel.Job.Record is one. A
// non-nil error stops the loop and is returned by Run as it is.
type Recorder func(step int64, metric string, value float64) error

// StepFn takes optimizer step number step (1-based) and returns the loss it
// measured; a NaN or infinite loss stops the loop, and so does a
// *NonFiniteError (what ExecStep returns when CheckFinite fails). A step
// with no loss to report returns 0.
type StepFn func(step int) (loss float64, err error)

// Hook is called with the number of the step just taken (0 before the
// first). Its error stops the loop.
type Hook func(step int) error

type namedHook struct {
	name  string
	every int // EveryN's n; 0 for start and end hooks
	fn    Hook
}

// Loop runs Steps calls of Step and its hooks. Create it with NewLoop.
type Loop struct {
	// Family prefixes the loop's errors ("dpo: step 3: …").
	Family string
	// Steps is the number of optimizer steps.
	Steps int
	// Step takes one step.
	Step StepFn
	// Record, if set, receives the non-finite loss (or gradient or
	// parameter norm) that stops the loop (kernel.Job.Record turns it into a
	// *kernel.DivergedError naming the step, the metric and the last finite
	// values).
	Record Recorder
	// LossMetric names the loss in Record and in errors; default "loss".
	LossMetric string
	// Hint ends the divergence error; default "try a smaller learning_rate".
	Hint string

	// Loss is the loss of the last step taken.
	Loss float64

	start, every, end []namedHook
	watched           []*model.Store
	window            float64
	windowN           int
}

// NewLoop returns a loop of steps calls of step, for family.
func NewLoop(family string, steps int, step StepFn) *Loop {
	return &Loop{Family: family, Steps: steps, Step: step}
}

// OnStart adds a hook called before the first step, with step 0 (e.g. to
// record the metrics of the initial model).
func (l *Loop) OnStart(name string, fn Hook) { l.start = append(l.start, namedHook{name, 0, fn}) }

// EveryN adds a hook called after every n-th step and after the last one
// (n < 1 counts as 1). Hooks run in the order they were added.
func (l *Loop) EveryN(n int, name string, fn Hook) {
	l.every = append(l.every, namedHook{name, max(n, 1), fn})
}

// OnEnd adds a hook called once after the last step.
func (l *Loop) OnEnd(name string, fn Hook) { l.end = append(l.end, namedHook{name, 0, fn}) }

// Watch makes the loop run CheckFinite on each store after every step: a
// gradient or parameter norm that is NaN or infinite stops it as a
// non-finite loss does, metric MetricGradNorm or MetricParamNorm. Watch
// the store of every model a step trains with a Guard-ed optimizer (those
// of NewOptimizer are), unless the step is an ExecStep, which checks its
// own: under GOEXPERIMENT=simd a diverged model can report a finite loss.
func (l *Loop) Watch(stores ...*model.Store) { l.watched = append(l.watched, stores...) }

// MeanLoss returns the mean step loss since the last step at which an
// EveryN hook ran (since the start before that): the smoothed loss a hook
// records.
func (l *Loop) MeanLoss() float64 {
	if l.windowN == 0 {
		return math.NaN()
	}
	return l.window / float64(l.windowN)
}

// Run runs the loop: start hooks, then for each step: the context check,
// Step, the loss check, the watched stores' CheckFinite and the due EveryN
// hooks; then the end hooks. A panic inside (GoMLX graph building) becomes
// an error.
func (l *Loop) Run(ctx context.Context) (err error) {
	defer Catch(l.Family, &err)
	for _, h := range l.start {
		if err := l.call(h, 0); err != nil {
			return err
		}
	}
	for step := 1; step <= l.Steps; step++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		loss, err := l.Step(step)
		var nonFinite *NonFiniteError
		if err != nil && !errors.As(err, &nonFinite) {
			return fmt.Errorf("%s: step %d: %w", l.Family, step, err)
		}
		l.Loss = loss
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return l.diverged(step, l.lossMetric(), loss)
		}
		for i := 0; nonFinite == nil && i < len(l.watched); i++ {
			if err := CheckFinite(l.watched[i]); err != nil && !errors.As(err, &nonFinite) {
				return fmt.Errorf("%s: step %d: %w", l.Family, step, err)
			}
		}
		if nonFinite != nil {
			return l.diverged(step, nonFinite.Metric, nonFinite.Value)
		}
		l.window += loss
		l.windowN++
		ran := false
		for _, h := range l.every {
			if step%h.every == 0 || step == l.Steps {
				ran = true
				if err := l.call(h, step); err != nil {
					return err
				}
			}
		}
		if ran {
			l.window, l.windowN = 0, 0
		}
	}
	for _, h := range l.end {
		if err := l.call(h, l.Steps); err != nil {
			return err
		}
	}
	return nil
}

// call runs one hook. Errors that already say what happened (a divergence
// reported by the recorder, a cancelled context) pass as they are; others
// are wrapped with the hook's name and step.
func (l *Loop) call(h namedHook, step int) error {
	err := h.fn(step)
	if err == nil {
		return nil
	}
	var div *kernel.DivergedError
	if errors.As(err, &div) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%s: %s at step %d: %w", l.Family, h.name, step, err)
}

func (l *Loop) lossMetric() string {
	if l.LossMetric == "" {
		return "loss"
	}
	return l.LossMetric
}

// diverged reports the non-finite value of metric at step: through Record
// when set (which returns its *kernel.DivergedError), else as the loop's
// own error, which wraps a *NonFiniteError.
func (l *Loop) diverged(step int, metric string, value float64) error {
	hint := l.Hint
	if hint == "" {
		hint = "try a smaller " + ParamLearningRate
	}
	if l.Record != nil {
		if err := l.Record(int64(step), metric, value); err != nil {
			return err
		}
	}
	return fmt.Errorf("%s: diverged at step %d: %w; %s", l.Family, step, &NonFiniteError{Metric: metric, Value: value}, hint)
}

// Catch turns a panic (GoMLX reports graph-building errors by panicking)
// into *err, prefixed with family. Use it deferred, at a library entry
// point that builds or runs graphs outside Loop.Run:
//
//	defer fit.Catch("dpo", &err)
func Catch(family string, err *error) {
	if p := recover(); p != nil {
		if e, ok := p.(error); ok {
			*err = fmt.Errorf("%s: %w", family, e)
		} else {
			*err = fmt.Errorf("%s: %v", family, p)
		}
	}
}

// RecordMeanLoss makes the loop report its loss as metric: through rec,
// the mean step loss every n steps and after the last (MeanLoss), and the
// name metric in a divergence. With a nil rec it only names the metric.
func (l *Loop) RecordMeanLoss(rec Recorder, metric string, n int) {
	l.Record, l.LossMetric = rec, metric
	if rec != nil {
		l.EveryN(n, "record "+metric, func(step int) error { return rec(int64(step), metric, l.MeanLoss()) })
	}
}
