// Command lightsb measures LightSB training steps per second on the GoMLX
// Go backend (algos/sb) side by side with the same math in PyTorch
// (lightsb_torch.py), at D = 2 and D = 64 with K = 50 and batch 128 by
// default.
//
// For each D it writes one data set (x0: N(0, I) draws; x1: draws of the
// eot_mixture target), then alternates Go and PyTorch runs (Go, torch, Go,
// torch, …), each timing -steps Adam steps after -warmup untimed ones, and
// prints the medians and the ratio. Before timing, both sides take -check
// steps from the same initial parameters on the same minibatches and the
// program prints the largest difference of their minibatch losses (float32
// on both sides, so it should be ~1e-5 relative).
//
// Run from the repository root:
//
//	GOTOOLCHAIN=go1.27.3 go run ./bench/lightsb
//	go run ./bench/lightsb -dims 2,64 -rounds 5 -torch-threads 2
//
// PyTorch is /usr/bin/python3's torch. With -torch-threads > 1 the script
// runs with OMP_WAIT_POLICY=PASSIVE (without it, 2 threads on 2 cores
// oversubscribe and time erratically). The Go backend uses GOMAXPROCS cores.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/alignlab/alignlab/algos/sb"
	"github.com/alignlab/alignlab/datasets"
)

type options struct {
	dims         []int
	k, batch     int
	eps, lr      float64
	sInit        float64
	steps        int
	warmup       int
	check        int
	rounds       int
	rows         int
	torchThreads int
	python       string
	script       string
	dir          string
}

func main() {
	var o options
	dims := flag.String("dims", "2,64", "comma-separated dimensions")
	flag.IntVar(&o.k, "k", sb.DefaultK, "mixture components K")
	flag.IntVar(&o.batch, "batch", sb.DefaultBatchSize, "minibatch size")
	flag.Float64Var(&o.eps, "eps", 1, "ε")
	flag.Float64Var(&o.lr, "lr", 0.01, "Adam learning rate")
	flag.Float64Var(&o.sInit, "s-init", sb.DefaultSInit, "initial diagonal of every S_k")
	flag.IntVar(&o.steps, "steps", 300, "timed steps per run")
	flag.IntVar(&o.warmup, "warmup", 20, "untimed steps per run (includes compilation on the Go side)")
	flag.IntVar(&o.check, "check", 30, "steps whose losses both sides compare")
	flag.IntVar(&o.rounds, "rounds", 5, "alternating Go/PyTorch rounds per dimension")
	flag.IntVar(&o.rows, "rows", 50*128, "rows per data file (minibatches cycle through them)")
	flag.IntVar(&o.torchThreads, "torch-threads", 1, "torch.set_num_threads")
	flag.StringVar(&o.python, "python", "/usr/bin/python3", "Python with torch")
	flag.StringVar(&o.script, "script", "bench/lightsb/lightsb_torch.py", "the PyTorch side")
	flag.StringVar(&o.dir, "dir", "", "where to write the data files (default: a temporary directory)")
	flag.Parse()
	for _, f := range strings.Split(*dims, ",") {
		d, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || d < 1 {
			fail(fmt.Errorf("bad -dims entry %q", f))
		}
		o.dims = append(o.dims, d)
	}
	if o.rows%o.batch != 0 || o.rows < o.k {
		fail(fmt.Errorf("-rows must be a multiple of -batch and ≥ -k"))
	}
	if o.dir == "" {
		dir, err := os.MkdirTemp("", "lightsb-bench-")
		if err != nil {
			fail(err)
		}
		defer os.RemoveAll(dir)
		o.dir = dir
	}
	fmt.Printf("LightSB steps/s: K=%d batch=%d ε=%v lr=%v S init=%v, %d timed steps after %d warm-up, %d rounds; GOMAXPROCS=%d, torch threads=%d\n",
		o.k, o.batch, o.eps, o.lr, o.sInit, o.steps, o.warmup, o.rounds, runtime.GOMAXPROCS(0), o.torchThreads)
	fmt.Printf("%4s  %12s  %12s  %8s  %s\n", "D", "Go steps/s", "torch steps/s", "Go/torch", "max |Δloss| over the first steps")
	for _, d := range o.dims {
		if err := benchDim(o, d); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "lightsb:", err)
	os.Exit(1)
}

func benchDim(o options, d int) error {
	r := rand.New(rand.NewPCG(uint64(d), 1))
	pair, err := datasets.GenerateEOT(datasets.EOTMixtureConfig(d, o.eps, false), r)
	if err != nil {
		return err
	}
	x0 := datasets.StandardNormal(o.rows, d, r)
	x1, _ := pair.SampleTarget(o.rows, r)
	p0, p1 := filepath.Join(o.dir, fmt.Sprintf("x0_d%d.csv", d)), filepath.Join(o.dir, fmt.Sprintf("x1_d%d.csv", d))
	for _, f := range []struct {
		path string
		rows [][]float64
	}{{p0, x0}, {p1, x1}} {
		var b bytes.Buffer
		if err := datasets.WriteVectorsCSV(&b, f.rows); err != nil {
			return err
		}
		if err := os.WriteFile(f.path, b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	// Read the files back, so that both sides train on the same float32 values.
	if x0, err = datasets.LoadVectors(p0); err != nil {
		return err
	}
	if x1, err = datasets.LoadVectors(p1); err != nil {
		return err
	}
	goLosses, _, err := goRun(o, x0, x1, o.check, 0, 0)
	if err != nil {
		return err
	}
	var goRates, torchRates []float64
	var torchLosses []float64
	for range o.rounds {
		_, rate, err := goRun(o, x0, x1, 0, o.warmup, o.steps)
		if err != nil {
			return err
		}
		goRates = append(goRates, rate)
		out, err := torchRun(o, p0, p1)
		if err != nil {
			return err
		}
		torchRates = append(torchRates, out.StepsPerS)
		torchLosses = out.Losses
	}
	maxDiff := 0.0
	for i := range min(len(goLosses), len(torchLosses)) {
		maxDiff = math.Max(maxDiff, math.Abs(goLosses[i]-torchLosses[i]))
	}
	g, t := median(goRates), median(torchRates)
	fmt.Printf("%4d  %12.1f  %12.1f  %8.2f  %.2g (losses %.5g → %.5g)\n", d, g, t, g/t, maxDiff, goLosses[0], goLosses[len(goLosses)-1])
	return nil
}

// batch returns minibatch i: rows i·B … i·B+B−1, cycling, as the PyTorch side does.
func batch(x [][]float64, i, b int) [][]float64 {
	lo := (i * b) % len(x)
	return x[lo : lo+b]
}

// goRun trains from the initial parameters: check steps whose losses it
// returns, then warmup untimed and timed steps whose rate it returns.
func goRun(o options, x0, x1 [][]float64, check, warmup, timed int) ([]float64, float64, error) {
	init, err := sb.InitModel(o.eps, x1[:o.k], o.sInit)
	if err != nil {
		return nil, 0, err
	}
	cfg := sb.DefaultConfig()
	cfg.K, cfg.Epsilon, cfg.LearningRate, cfg.BatchSize, cfg.SInit = o.k, o.eps, o.lr, o.batch, o.sInit
	t, err := sb.NewTrainer(init, cfg)
	if err != nil {
		return nil, 0, err
	}
	var losses []float64
	for i := range check {
		l, err := t.Step(batch(x0, i, o.batch), batch(x1, i, o.batch))
		if err != nil {
			return nil, 0, err
		}
		losses = append(losses, l)
	}
	for i := range warmup {
		if _, err := t.Step(batch(x0, i, o.batch), batch(x1, i, o.batch)); err != nil {
			return nil, 0, err
		}
	}
	if timed == 0 {
		return losses, 0, nil
	}
	start := time.Now()
	for i := range timed {
		if _, err := t.Step(batch(x0, warmup+i, o.batch), batch(x1, warmup+i, o.batch)); err != nil {
			return nil, 0, err
		}
	}
	return losses, float64(timed) / time.Since(start).Seconds(), nil
}

type torchOut struct {
	StepsPerS float64   `json:"steps_per_s"`
	Losses    []float64 `json:"losses"`
	Threads   int       `json:"threads"`
}

func torchRun(o options, p0, p1 string) (*torchOut, error) {
	cmd := exec.Command(o.python, o.script, p0, p1,
		"--k", strconv.Itoa(o.k), "--eps", fmt.Sprint(o.eps), "--lr", fmt.Sprint(o.lr), "--batch", strconv.Itoa(o.batch), "--s-init", fmt.Sprint(o.sInit),
		"--steps", strconv.Itoa(o.steps), "--warmup", strconv.Itoa(o.warmup), "--check", strconv.Itoa(o.check),
		"--threads", strconv.Itoa(o.torchThreads))
	cmd.Env = os.Environ()
	if o.torchThreads > 1 {
		cmd.Env = append(cmd.Env, "OMP_WAIT_POLICY=PASSIVE")
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %v: %s", o.script, err, strings.TrimSpace(stderr.String()))
	}
	var out torchOut
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("%s: output %q: %v", o.script, b, err)
	}
	return &out, nil
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
