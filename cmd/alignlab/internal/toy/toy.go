// Package toy registers "test.toy", a tiny plugin that the alignlab command's
// tests run in place of real algorithms: it is instant, reads a simple data
// file, and can be told to panic, diverge or run until cancelled, so that
// every exit path of the command can be checked. It is linked into the
// command only by its tests (directly, and into the binary they build with
// -tags alignlab_toy); release builds never contain it.
package toy

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// ID is the plugin's ID.
const ID = "test.toy"

// Param keys of test.toy.
const (
	ParamSteps = "steps" // int, default 20: number of averaging steps
	ParamRate  = "rate"  // float in (0, 1], default 0.5: step size towards the target
	ParamMode  = "mode"  // choice, default "ok": ok, panic, diverge or slow
)

// DefaultTarget is the value estimated when no --data is given.
const DefaultTarget = 3.0

type plugin struct{}

func (plugin) Info() kernel.Info {
	return kernel.Info{
		ID:      ID,
		Summary: "test plugin: noisy running estimate of a mean",
		Params: []kernel.Param{
			kernel.IntParam(ParamSteps, 20, 1, 10000, "number of averaging steps"),
			{Key: ParamRate, Type: kernel.Float, Default: 0.5, Range: kernel.Range{Min: 0, Max: 1, MinExclusive: true}, Doc: "step size towards the target"},
			kernel.ChoiceParam(ParamMode, "ok", []string{"ok", "panic", "diverge", "slow"}, "ok, or a way to fail: panic, diverge, slow (runs until cancelled)"),
		},
		Data: []kernel.DataFormat{{
			Name:    "numbers (text)",
			Doc:     "one decimal number per line; blank lines are skipped",
			Example: "2.5",
		}},
		Doc: fmt.Sprintf("x[t+1] = x[t] + rate·(target − x[t]) + noise, target the mean of --data (default %g).", DefaultTarget),
	}
}

func (plugin) Run(job *kernel.Job) error {
	target := DefaultTarget
	if len(job.Data) > 0 {
		var err error
		if target, err = readMean(job.Data); err != nil {
			return err
		}
	}
	steps := int64(job.Params.Int(ParamSteps))
	rate := job.Params.Float(ParamRate)
	mode := job.Params.String(ParamMode)
	r := job.Rand()
	switch mode {
	case "panic":
		var m map[string]int
		m["boom"]++ // a nil-map write, the kind of bug a plugin can have
	case "slow":
		job.Note("started")
		// Bounded, so that a broken cancellation fails a test rather than hanging it.
		deadline := time.Now().Add(2 * time.Minute)
		for s := int64(1); time.Now().Before(deadline); s++ {
			if err := job.Record(s, "x", float64(s)); err != nil {
				return err
			}
			time.Sleep(5 * time.Millisecond)
		}
		return fmt.Errorf("toy: slow mode was not cancelled")
	}
	job.SetTotal(steps)
	x := 0.0
	for s := int64(1); s <= steps; s++ {
		x += rate*(target-x) + 0.01*r.NormFloat64()
		if mode == "diverge" && s == steps/2+1 {
			x = math.Inf(1)
		}
		if err := job.Record(s, "x", x); err != nil {
			return err
		}
	}
	job.SetFinal("estimate", x)
	job.SetFinal("error", math.Abs(x-target))
	t := job.AddTable("summary", "name", "value")
	t.Add("target", target)
	t.Add("estimate", x)
	t.Add("steps", steps)
	job.AddChart(kernel.Chart{Kind: "line", ID: "x", Title: "running estimate", Series: []string{"x"}, XLabel: "step", YLabel: "x"})
	job.Note("toy result, not an algorithm")
	return nil
}

func readMean(paths []string) (float64, error) {
	sum, n := 0.0, 0
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			return 0, &datasets.Error{File: path, Msg: err.Error()}
		}
		sc := bufio.NewScanner(f)
		for line := 1; sc.Scan(); line++ {
			s := strings.TrimSpace(sc.Text())
			if s == "" {
				continue
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				f.Close()
				return 0, datasets.Errorf(path, line, "x", "want a finite number, got %q", s)
			}
			sum += v
			n++
		}
		f.Close()
	}
	if n == 0 {
		return 0, datasets.Errorf(paths[0], 0, "", "no numbers")
	}
	return sum / float64(n), nil
}

func init() { kernel.Register(plugin{}) }
