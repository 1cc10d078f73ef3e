// Command dpo benchmarks the dpo package's training step against the same
// math in PyTorch: rDPO (ε = 0.1, β = 1), full-batch Adam, for the
// log-linear policy (n = 20,000 pairs, d = 8) and the MLP policy (n =
// 4,096, 32 tanh units), in float64 on both sides (the default) or, with
// -dtype float32, in float32 on both sides.
//
//	go run ./bench/dpo                 # or bench/dpo/run.sh
//	go run ./bench/dpo -dtype float32
//
// It writes the planted preference files once (JSONL, read by both sides:
// the Go side through datasets.LoadPrefs, the Python side with json), and
// the MLP's initial weights, then alternates Go and PyTorch runs (Go first
// in even rounds, PyTorch first in odd ones). Each run takes one warm-up
// step (Go compiles its graph there), times the next -steps steps, and
// reports the loss over all pairs afterwards, which must agree between the
// sides: to 1e-8 (relative) in float64, to 1e-5 in float32, where both
// sides round differently at every step. It prints the median steps/s of
// each side and their ratio.
//
// The Go side sets the policies' dtype explicitly (dpo.Config.DType): its
// default, auto, would train the MLP in float32 against a float64 PyTorch.
//
// Threads: -threads sets GOMAXPROCS for the Go side (the pure-Go backend
// sizes its worker pool from it) and torch.set_num_threads for PyTorch; the
// default 1 compares one core against one core. The PyTorch process also
// gets OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS = -threads
// and OMP_WAIT_POLICY=PASSIVE: with OpenBLAS's own default of one thread per
// core, or OpenMP's spinning waits, it oversubscribes a 2-core machine and
// runs several times slower and erratically.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"time"

	"github.com/alignlab/alignlab/algos/dpo"
	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
)

type side struct {
	StepsPerS float64 `json:"steps_per_s"`
	Loss      float64 `json:"loss"`
	Threads   int     `json:"threads"`
}

type bench struct {
	name, file string
	cfg        dpo.Config
	data       *datasets.Prefs
	goRuns     []side
	pyRuns     []side
}

func main() {
	var (
		out      = flag.String("out", "bench/out/dpo", "directory for the data files")
		rounds   = flag.Int("rounds", 5, "alternating rounds (medians are reported)")
		steps    = flag.Int("steps", 200, "timed steps per run")
		pairs    = flag.Int("pairs", 20000, "pairs for the log-linear policy")
		mlpPairs = flag.Int("mlp-pairs", 4096, "pairs for the MLP policy")
		hidden   = flag.Int("hidden", 32, "MLP hidden units")
		threads  = flag.Int("threads", 1, "cores per side: GOMAXPROCS and torch threads")
		python   = flag.String("python", "/usr/bin/python3", "Python with torch")
		script   = flag.String("script", "bench/dpo/torch_dpo.py", "the PyTorch side")
		dtype    = flag.String("dtype", fit.DTypeFloat64, "float type of both sides and both policies: float64 or float32")
	)
	flag.Parse()
	// Relative agreement asked of the final losses: float64 sides agree to
	// ~1e-15 (README); float32 ones drift apart by rounding.
	tol := 1e-8
	switch *dtype {
	case fit.DTypeFloat64:
	case fit.DTypeFloat32:
		tol = 1e-5
	default:
		log.Fatalf("dpo bench: -dtype %q, want %s or %s", *dtype, fit.DTypeFloat64, fit.DTypeFloat32)
	}
	log.SetFlags(0)
	// Before the backend exists: its worker pool is sized from GOMAXPROCS.
	runtime.GOMAXPROCS(*threads)
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}

	base := dpo.DefaultConfig(dpo.RDPO)
	base.Epsilon, base.DType = 0.1, *dtype
	loglin, mlp := base, base
	loglin.Steps = *steps
	mlp.Steps = *steps
	mlp.Policy, mlp.Hidden, mlp.LearningRate = dpo.PolicyMLP, *hidden, 0.01
	benches := []*bench{
		{name: "loglinear", file: filepath.Join(*out, fmt.Sprintf("loglinear-%d.jsonl", *pairs)), cfg: loglin},
		{name: "mlp", file: filepath.Join(*out, fmt.Sprintf("mlp-%d.jsonl", *mlpPairs)), cfg: mlp},
	}
	initFile := filepath.Join(*out, fmt.Sprintf("mlp-init-%d-%s.json", *hidden, *dtype))
	for i, b := range benches {
		n := *pairs
		if i == 1 {
			n = *mlpPairs
		}
		// Four candidates keep the files small; training uses only the
		// chosen and rejected features.
		p, err := datasets.GeneratePrefs(datasets.PrefsConfig{Dim: 8, WNorm: 3, Candidates: 4, Pairs: n, FlipRate: 0.1, TestPrompts: 1},
			rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			log.Fatal(err)
		}
		if err := writeFile(b.file, func(f *os.File) error { return datasets.WritePrefs(f, p) }); err != nil {
			log.Fatal(err)
		}
		if b.data, err = datasets.LoadPrefs(b.file); err != nil {
			log.Fatal(err)
		}
	}
	t, err := dpo.NewTrainer(benches[1].data, mlp, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		log.Fatal(err)
	}
	if err := writeFile(initFile, func(f *os.File) error { return json.NewEncoder(f).Encode(t.Weights()) }); err != nil {
		log.Fatal(err)
	}

	fmt.Printf("machine: %d cores; %s; GOMAXPROCS=%d; torch threads %d; %d rounds of %d steps; %s\n",
		runtime.NumCPU(), runtime.Version(), runtime.GOMAXPROCS(0), *threads, *rounds, *steps, *dtype)
	for r := range *rounds {
		for _, b := range benches {
			goFirst := r%2 == 0
			for k := range 2 {
				if (k == 0) == goFirst {
					s, err := runGo(b)
					if err != nil {
						log.Fatal(err)
					}
					b.goRuns = append(b.goRuns, s)
				} else {
					args := []string{*script, "--data", b.file, "--policy", b.name, "--steps", strconv.Itoa(*steps),
						"--beta", fmt.Sprint(b.cfg.Beta), "--eps", fmt.Sprint(b.cfg.Epsilon), "--lr", fmt.Sprint(b.cfg.LearningRate),
						"--threads", strconv.Itoa(*threads), "--dtype", *dtype}
					if b.name == "mlp" {
						args = append(args, "--init", initFile)
					}
					s, err := runPython(*python, args, *threads)
					if err != nil {
						log.Fatal(err)
					}
					b.pyRuns = append(b.pyRuns, s)
				}
			}
		}
	}
	fmt.Printf("\n%-10s %8s %12s %12s %10s %16s %16s %10s\n", "policy", "pairs", "Go steps/s", "torch st/s", "torch/Go", "loss Go", "loss torch", "|Δloss|")
	for _, b := range benches {
		g, p := median(b.goRuns), median(b.pyRuns)
		lg, lp := b.goRuns[0].Loss, b.pyRuns[0].Loss
		fmt.Printf("%-10s %8d %12.1f %12.1f %9.2f× %16.12f %16.12f %10.2g\n", b.name, len(b.data.Pairs), g, p, p/g, lg, lp, math.Abs(lg-lp))
		for i := range b.goRuns {
			if b.goRuns[i].Loss != lg || b.pyRuns[i].Loss != lp {
				fmt.Printf("  note: losses differ between runs of one side (run %d)\n", i)
			}
		}
		if math.Abs(lg-lp) > tol*math.Max(1, math.Abs(lg)) {
			fmt.Printf("  MISMATCH: the sides disagree after %d steps\n", *steps+1)
		}
	}
}

// runGo loads nothing (the file was read once), builds a trainer, takes one
// untimed step (which compiles the graph) and times the next cfg.Steps.
func runGo(b *bench) (side, error) {
	t, err := dpo.NewTrainer(b.data, b.cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		return side{}, err
	}
	if _, err := t.Step(); err != nil {
		return side{}, err
	}
	start := time.Now()
	for range b.cfg.Steps {
		if _, err := t.Step(); err != nil {
			return side{}, err
		}
	}
	el := time.Since(start)
	m, err := t.Evaluate()
	if err != nil {
		return side{}, err
	}
	return side{StepsPerS: float64(b.cfg.Steps) / el.Seconds(), Loss: m.Loss, Threads: runtime.GOMAXPROCS(0)}, nil
}

// runPython runs the PyTorch side with every thread pool it may use (torch's
// intra-op pool, OpenMP, OpenBLAS, MKL) held to threads, and OpenMP
// waiting passively: spinning workers oversubscribe a small machine.
func runPython(python string, args []string, threads int) (side, error) {
	cmd := exec.CommandContext(context.Background(), python, args...)
	n := strconv.Itoa(threads)
	cmd.Env = append(os.Environ(), "OMP_WAIT_POLICY=PASSIVE", "OMP_NUM_THREADS="+n, "OPENBLAS_NUM_THREADS="+n, "MKL_NUM_THREADS="+n)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	outb, err := cmd.Output()
	if err != nil {
		return side{}, fmt.Errorf("%s: %v\n%s", args[0], err, stderr.String())
	}
	var s side
	if err := json.Unmarshal(bytes.TrimSpace(outb), &s); err != nil {
		return side{}, fmt.Errorf("%s: output %q: %v", args[0], outb, err)
	}
	return s, nil
}

func median(runs []side) float64 {
	v := make([]float64, len(runs))
	for i, r := range runs {
		v[i] = r.StepsPerS
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func writeFile(path string, fn func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
