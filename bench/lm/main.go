// Command lm benchmarks the decoder-only transformer policy of
// algos/decoder (GoMLX's ml/zoo/transformer on the pure-Go backend) against
// the same transformer written by hand in PyTorch (torch_lm.py): training
// tokens per second of the SFT loss with Adam, and generated tokens per
// second.
//
//	go run ./bench/lm -size small      # or bench/lm/run.sh
//
// It builds a decoder.Model of the given size (seed 1, byte vocabulary of
// 259 tokens, max_len = -len) and a fixed batch of -batch arithmetic rows
// ("12+7=" → "19"), and writes both for the Python side: the batch as JSON
// (inputs, targets, mask, prompts) and the initial weights by scope path
// with their shapes. Each run, on either side, starts from those weights:
//
//   - Training: the loss is the mean over rows of −Σ_t mask·log π, Adam with
//     lr 1e-3 and ε = 1e-7 (GoMLX's default), float32. One untimed step (Go
//     compiles its graph there; it also gives the initial loss), then -steps
//     timed steps of B·L tokens each (padding included), with wall and CPU
//     time (getrusage: user + system, all threads of the process).
//   - Generation: greedy decoding (temperature → 0) of the batch's prompts,
//     each step a full forward pass over the B×L padded window (no KV
//     cache; that is what decoder.Model.Sample does, and the Python side
//     does the same), until EOS or max_len. One untimed forward pass first.
//     Tokens generated counts every picked token, EOS included.
//
// The two sides must agree on the parameter count and on the initial loss
// (relative 1e-4; MATCH or MISMATCH is printed). The greedy completions are
// compared too: float32 rounding can flip a near-tie, so that is reported
// as a count of identical rows, not as a check.
//
// Runs alternate: in each of -rounds rounds, for each thread count of
// -threads, the Go side and the Python side run once each, Go first in
// even rounds. Every run is a fresh process (the Go side re-executes this
// binary with -worker) so that GOMAXPROCS can differ between runs and no
// run inherits another's heap or thread pools. Medians over rounds are
// printed as a markdown table.
//
// Threads: the Go worker sets GOMAXPROCS before the backend exists (the
// pure-Go backend sizes its worker pool from it); the Python side calls
// torch.set_num_threads and gets OMP_NUM_THREADS, OPENBLAS_NUM_THREADS,
// MKL_NUM_THREADS and OMP_WAIT_POLICY=PASSIVE, without which its pools
// oversubscribe a 2-core machine (see bench/dpo).
package main

import (
	"bytes"
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
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/alignlab/alignlab/algos/decoder"
	"github.com/alignlab/alignlab/bench/internal/measure"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// Tolerances of the cross-checks.
const (
	tolInitLoss = 1e-4 // relative: float32 forward passes by two libraries
	// tolLastLoss is relative, after the timed steps: float32 rounding
	// compounds over the Adam steps, but a wrong gradient shows at once
	// (the default build stays within 3e-7 after 20 steps; the
	// GOEXPERIMENT=simd build of GoMLX's compute v0.1.14, whose
	// approximate-GELU derivative is wrong, is off by 6.5e-5 after 3 steps
	// of the test size and 4e-4 after one step of the small size).
	tolLastLoss = 1e-5
)

// vocab is the byte vocabulary: 256 bytes, then BOS, EOS, PAD.
const vocab = 259

// result is one run of either side, as one JSON line.
type result struct {
	Side        string    `json:"side"`
	Threads     int       `json:"threads"`
	Params      int       `json:"params"`
	FirstStepMS float64   `json:"first_step_ms"` // Go: includes compiling the graph
	WallMS      float64   `json:"train_wall_ms"` // per timed step
	CPUMS       float64   `json:"train_cpu_ms"`  // per timed step, all threads
	TrainTokS   float64   `json:"train_tok_s"`
	Loss0       float64   `json:"loss0"`      // before any update
	LossLast    float64   `json:"loss_final"` // the last timed step's loss
	GenTokens   int       `json:"gen_tokens"`
	GenWallS    float64   `json:"gen_wall_s"`
	GenCPUS     float64   `json:"gen_cpu_s"`
	GenTokS     float64   `json:"gen_tok_s"`
	GenIDs      [][]int32 `json:"gen_ids"` // picked tokens per prompt, EOS included
}

// batchFile is the fixed batch both sides train and generate on.
type batchFile struct {
	B       int       `json:"B"`
	L       int       `json:"L"`
	Vocab   int       `json:"vocab"`
	BOS     int       `json:"bos"`
	EOS     int       `json:"eos"`
	PAD     int       `json:"pad"`
	Inputs  []int32   `json:"inputs"`
	Targets []int32   `json:"targets"`
	Mask    []float32 `json:"mask"`
	Prompts []string  `json:"prompts"`
}

// weight is one variable of the policy, row-major in GoMLX's layout (dense
// weights [in, out], embeddings [vocab, dim]).
type weight struct {
	Name   string    `json:"name"`
	Shape  []int     `json:"shape"`
	Values []float32 `json:"values"`
}

// initFile is the model's shape and its initial weights, sorted by path.
type initFile struct {
	Size    string         `json:"size"`
	Config  decoder.Config `json:"config"`
	Params  int            `json:"params"`
	Weights []weight       `json:"weights"`
}

// options are the command's flags and the paths of the files it writes.
type options struct {
	size                string
	batch, length       int
	steps, rounds       int
	threads             []int
	python, script      string
	out                 string
	batchPath, initPath string
}

func main() {
	var (
		o       options
		threads = flag.String("threads", "1,2", "comma-separated thread counts (GOMAXPROCS for Go, torch threads for PyTorch)")
		worker  = flag.Int("worker", 0, "internal: run the Go side once with this many threads and print its result")
		cpuProf = flag.String("cpuprofile", "", "with -worker: write the Go side's CPU profile to this file")
	)
	flag.StringVar(&o.size, "size", decoder.SizeSmall, "model size: "+strings.Join(decoder.Sizes, ", "))
	flag.IntVar(&o.batch, "batch", 64, "rows per batch (B)")
	flag.IntVar(&o.length, "len", 16, "positions per row (L) = the model's max_len")
	flag.IntVar(&o.steps, "steps", 20, "timed Adam steps per run")
	flag.IntVar(&o.rounds, "rounds", 3, "alternating rounds (medians are reported)")
	flag.StringVar(&o.python, "python", "/usr/bin/python3", "Python with torch")
	flag.StringVar(&o.script, "script", "bench/lm/torch_lm.py", "the PyTorch side")
	flag.StringVar(&o.out, "out", "bench/out/lm", "directory for the batch and weight files")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("lm: ")
	for _, f := range strings.Split(*threads, ",") {
		t, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || t < 1 {
			log.Fatalf("-threads: want positive integers, got %q", *threads)
		}
		o.threads = append(o.threads, t)
	}
	if o.steps < 1 || o.rounds < 1 || o.batch < 1 {
		log.Fatalf("-steps, -rounds and -batch must be ≥ 1")
	}
	o.batchPath = filepath.Join(o.out, fmt.Sprintf("batch-B%d-L%d.json", o.batch, o.length))
	o.initPath = filepath.Join(o.out, fmt.Sprintf("init-%s-L%d.json", o.size, o.length))

	if *worker > 0 {
		// Before the backend exists: its worker pool is sized from GOMAXPROCS.
		runtime.GOMAXPROCS(*worker)
		stop := measure.CPUProfile(*cpuProf)
		r, err := runGo(o)
		stop()
		if err != nil {
			log.Fatal(err)
		}
		if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
			log.Fatal(err)
		}
		return
	}
	if err := orchestrate(o); err != nil {
		log.Fatal(err)
	}
}

// idTok is the byte tokenizer of the benchmark: ids 0–255 are bytes, then
// BOS, EOS, PAD. Decode maps every id to its own rune (U+E000 + id) instead
// of to bytes, so that the ids Sample picked — special tokens included — can
// be read back from its output exactly.
type idTok struct{}

func (idTok) Encode(s string) []int {
	out := make([]int, len(s))
	for i := range len(s) {
		out[i] = int(s[i])
	}
	return out
}

func (idTok) Decode(ids []int) string {
	var sb strings.Builder
	for _, id := range ids {
		sb.WriteRune(rune(0xE000 + id))
	}
	return sb.String()
}

func (idTok) VocabSize() int { return vocab }
func (idTok) BOS() int       { return 256 }
func (idTok) EOS() int       { return 257 }
func (idTok) PAD() int       { return 258 }

// ids reads back the token ids of an idTok.Decode string.
func ids(s string) []int32 {
	out := make([]int32, 0, utf8.RuneCountInString(s))
	for _, r := range s {
		out = append(out, int32(r-0xE000))
	}
	return out
}

// arithmetic returns n rows "a+b=" → "a+b" with a, b in [0, 100).
func arithmetic(n int, r *rand.Rand) (prompts, completions []string) {
	for range n {
		a, b := r.IntN(100), r.IntN(100)
		prompts = append(prompts, fmt.Sprintf("%d+%d=", a, b))
		completions = append(completions, strconv.Itoa(a+b))
	}
	return prompts, completions
}

func newModel(o options) (*decoder.Model, error) {
	cfg, err := decoder.SizeConfig(o.size, vocab, o.length)
	if err != nil {
		return nil, err
	}
	return decoder.New(cfg, 1, "")
}

// writeInputs writes the batch and the initial weights for both sides.
func writeInputs(o options) (*decoder.Model, error) {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return nil, err
	}
	prompts, completions := arithmetic(o.batch, rand.New(rand.NewPCG(1, 1)))
	tok := idTok{}
	b, err := decoder.Encode(tok, prompts, completions, o.length, true)
	if err != nil {
		return nil, err
	}
	bf := batchFile{B: b.B, L: b.L, Vocab: vocab, BOS: tok.BOS(), EOS: tok.EOS(), PAD: tok.PAD(),
		Inputs: b.Inputs, Targets: b.Targets, Mask: b.Mask, Prompts: prompts}
	if err := writeJSON(o.batchPath, bf); err != nil {
		return nil, err
	}
	m, err := newModel(o)
	if err != nil {
		return nil, err
	}
	shapes := map[string][]int{}
	for v := range m.Store().IterVariables() {
		shapes[v.Path()] = v.Shape().Dimensions
	}
	names, values := m.Weights()
	f := initFile{Size: o.size, Config: m.Config, Params: m.NumParams()}
	for i, n := range names {
		w := weight{Name: n, Shape: shapes[n], Values: make([]float32, len(values[i]))}
		for j, x := range values[i] {
			w.Values[j] = float32(x) // the model is float32: exact
		}
		f.Weights = append(f.Weights, w)
	}
	return m, writeJSON(o.initPath, f)
}

// runGo is one Go run: a fresh model (seed 1, the weights written for the
// Python side), the training steps, then the generation.
func runGo(o options) (result, error) {
	res := result{Side: "go", Threads: runtime.GOMAXPROCS(0)}
	var bf batchFile
	if err := readJSON(o.batchPath, &bf); err != nil {
		return res, err
	}
	m, err := newModel(o)
	if err != nil {
		return res, err
	}
	res.Params = m.NumParams()
	b := &decoder.Batch{B: bf.B, L: bf.L, Inputs: bf.Inputs, Targets: bf.Targets, Mask: bf.Mask}

	// The generation runs on a copy of the initial weights (the PyTorch
	// side generates from its initial weights too): the training below
	// moves them.
	gm, err := m.Clone()
	if err != nil {
		return res, err
	}

	opt := optimizer.Adam().LearningRate(1e-3).Done()
	step, err := model.NewExec(m.Backend(), m.Store(), func(scope *model.Scope, in []*Node) *Node {
		g := in[0].Graph()
		scope.SetTraining(g, true)
		seq, _ := m.SeqLogProbsGraph(scope, in[0], in[1], in[2])
		loss := Neg(ReduceAllMean(seq))
		opt.UpdateGraph(scope, g, loss)
		return ConvertDType(loss, dtypes.Float64)
	})
	if err != nil {
		return res, err
	}
	call := func() (float64, error) {
		out, err := step.Call(b.Tensors()...)
		if err != nil {
			return 0, err
		}
		return tensors.ToScalar[float64](out[0]), nil
	}
	start := time.Now()
	if res.Loss0, err = call(); err != nil {
		return res, err
	}
	res.FirstStepMS = ms(time.Since(start))
	cpu0, start := cpuTime(), time.Now()
	for range o.steps {
		if res.LossLast, err = call(); err != nil {
			return res, err
		}
	}
	wall, cpu := time.Since(start), cpuTime()-cpu0
	res.WallMS = ms(wall) / float64(o.steps)
	res.CPUMS = ms(cpu) / float64(o.steps)
	res.TrainTokS = float64(o.steps*b.B*b.L) / wall.Seconds()

	// Greedy: Sample takes a temperature below 1e-6 as argmax.
	greedy := decoder.SampleOptions{Temperature: 1e-9, Batch: bf.B}
	warm := greedy
	warm.MaxNew = 1 // compiles the forward pass
	r := rand.New(rand.NewPCG(1, 3))
	if _, _, err := gm.Sample(idTok{}, bf.Prompts, warm, r); err != nil {
		return res, err
	}
	cpu0, start = cpuTime(), time.Now()
	out, truncated, err := gm.Sample(idTok{}, bf.Prompts, greedy, r)
	if err != nil {
		return res, err
	}
	wall, cpu = time.Since(start), cpuTime()-cpu0
	for i, s := range out {
		row := ids(s)
		if !truncated[i] {
			row = append(row, int32(idTok{}.EOS()))
		}
		res.GenIDs = append(res.GenIDs, row)
		res.GenTokens += len(row)
	}
	res.GenWallS, res.GenCPUS = wall.Seconds(), cpu.Seconds()
	res.GenTokS = float64(res.GenTokens) / wall.Seconds()
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// cpuTime is the user + system time of this process, all threads.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// orchestrate writes the inputs, runs the alternating rounds and reports.
func orchestrate(o options) error {
	m, err := writeInputs(o)
	if err != nil {
		return err
	}
	c := m.Config
	// runtime.Version names a GOEXPERIMENT too (go1.27.3-X:simd).
	fmt.Printf("machine: %d cores, %s, load average %s\n", runtime.NumCPU(), runtime.Version(), loadAvg())
	fmt.Printf("model %q: dim %d, layers %d, heads %d, ffn %d, vocab %d, max_len %d, %d params; batch %d×%d; %d timed steps, %d rounds, threads %v\n",
		o.size, c.Dim, c.Layers, c.Heads, c.FFN, c.Vocab, c.MaxLen, m.NumParams(), o.batch, o.length, o.steps, o.rounds, o.threads)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	runs := map[string]map[int][]result{"go": {}, "torch": {}}
	for r := range o.rounds {
		for _, t := range o.threads {
			for k := range 2 {
				var res result
				if (k == 0) == (r%2 == 0) {
					res, err = runProcess(exec.Command(self, append(workerArgs(o), "-worker", strconv.Itoa(t))...), nil)
				} else {
					n := strconv.Itoa(t)
					cmd := exec.Command(o.python, o.script, "--batch", o.batchPath, "--init", o.initPath,
						"--steps", strconv.Itoa(o.steps), "--threads", n)
					res, err = runProcess(cmd, []string{"OMP_WAIT_POLICY=PASSIVE", "OMP_NUM_THREADS=" + n, "OPENBLAS_NUM_THREADS=" + n, "MKL_NUM_THREADS=" + n})
				}
				if err != nil {
					return err
				}
				fmt.Printf("round %d threads %d %-5s: train %8.0f tok/s (%7.1f ms/step wall, %7.1f CPU; first step %6.0f ms), loss %.6f → %.6f; generate %7.0f tok/s (%d tokens, %.2f s wall, %.2f CPU)\n",
					r, t, res.Side, res.TrainTokS, res.WallMS, res.CPUMS, res.FirstStepMS, res.Loss0, res.LossLast,
					res.GenTokS, res.GenTokens, res.GenWallS, res.GenCPUS)
				runs[res.Side][t] = append(runs[res.Side][t], res)
			}
		}
	}
	report(o, runs)
	return nil
}

// workerArgs passes the flags that shape the run on to a Go worker.
func workerArgs(o options) []string {
	return []string{"-size", o.size, "-batch", strconv.Itoa(o.batch), "-len", strconv.Itoa(o.length),
		"-steps", strconv.Itoa(o.steps), "-out", o.out}
}

func runProcess(cmd *exec.Cmd, env []string) (result, error) {
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return result{}, fmt.Errorf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, stderr.String())
	}
	var r result
	if err := json.Unmarshal(bytes.TrimSpace(out), &r); err != nil {
		return result{}, fmt.Errorf("%s: output %q: %v", cmd.Args[0], out, err)
	}
	return r, nil
}

// report prints the cross-checks (from the first round at the first thread
// count: both sides are deterministic at a given thread count) and the
// tables of medians.
func report(o options, runs map[string]map[int][]result) {
	g0, p0 := runs["go"][o.threads[0]][0], runs["torch"][o.threads[0]][0]
	fmt.Println()
	fmt.Printf("params: alignlab %d, PyTorch %d", g0.Params, p0.Params)
	if g0.Params != p0.Params {
		fmt.Print("  MISMATCH")
	}
	fmt.Println()
	rel := math.Abs(g0.Loss0-p0.Loss0) / math.Max(1e-12, math.Abs(g0.Loss0))
	verdict := "MATCH"
	if rel > tolInitLoss {
		verdict = "MISMATCH"
	}
	fmt.Printf("initial loss: alignlab %.7f, PyTorch %.7f, relative difference %.1e: %s (tolerance %.0e)\n", g0.Loss0, p0.Loss0, rel, verdict, tolInitLoss)
	rel = math.Abs(g0.LossLast-p0.LossLast) / math.Max(1e-12, math.Abs(g0.LossLast))
	verdict = "MATCH"
	if rel > tolLastLoss {
		verdict = "MISMATCH"
	}
	fmt.Printf("loss after %d updates: alignlab %.7f, PyTorch %.7f, relative difference %.1e: %s (tolerance %.0e)\n", o.steps, g0.LossLast, p0.LossLast, rel, verdict, tolLastLoss)
	same := 0
	for i := range min(len(g0.GenIDs), len(p0.GenIDs)) {
		if slices.Equal(g0.GenIDs[i], p0.GenIDs[i]) {
			same++
		}
	}
	fmt.Printf("greedy completions identical: %d of %d rows; tokens generated: alignlab %d, PyTorch %d\n", same, len(g0.GenIDs), g0.GenTokens, p0.GenTokens)

	med := func(rs []result, f func(result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		return median(v)
	}
	fmt.Printf("\nMedians of %d rounds, size %s, B = %d, L = %d. Training (%d tokens per step, padding included):\n\n", o.rounds, o.size, o.batch, o.length, o.batch*o.length)
	fmt.Println("| threads | alignlab tok/s | PyTorch tok/s | PyTorch ÷ alignlab | alignlab ms/step wall / CPU | PyTorch ms/step wall / CPU | PyTorch ÷ alignlab by CPU time |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, t := range o.threads {
		g, p := runs["go"][t], runs["torch"][t]
		gt, pt := med(g, func(r result) float64 { return r.TrainTokS }), med(p, func(r result) float64 { return r.TrainTokS })
		gw, gc := med(g, func(r result) float64 { return r.WallMS }), med(g, func(r result) float64 { return r.CPUMS })
		pw, pc := med(p, func(r result) float64 { return r.WallMS }), med(p, func(r result) float64 { return r.CPUMS })
		fmt.Printf("| %d | %.0f | %.0f | %.1f× | %.1f / %.1f | %.1f / %.1f | %.1f× |\n", t, gt, pt, pt/gt, gw, gc, pw, pc, gc/pc)
	}
	fmt.Printf("\nGeneration (greedy, %d prompts, full-window forward per token):\n\n", o.batch)
	fmt.Println("| threads | alignlab tok/s | PyTorch tok/s | PyTorch ÷ alignlab | alignlab s wall / CPU | PyTorch s wall / CPU | PyTorch ÷ alignlab by CPU time |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, t := range o.threads {
		g, p := runs["go"][t], runs["torch"][t]
		gt, pt := med(g, func(r result) float64 { return r.GenTokS }), med(p, func(r result) float64 { return r.GenTokS })
		gw, gc := med(g, func(r result) float64 { return r.GenWallS }), med(g, func(r result) float64 { return r.GenCPUS })
		pw, pc := med(p, func(r result) float64 { return r.GenWallS }), med(p, func(r result) float64 { return r.GenCPUS })
		// Both sides generate the same number of tokens when the greedy
		// completions agree, so the CPU seconds compare directly.
		fmt.Printf("| %d | %.0f | %.0f | %.1f× | %.2f / %.2f | %.2f / %.2f | %.1f× |\n", t, gt, pt, pt/gt, gw, gc, pw, pc, gc/pc)
	}
}

func median(v []float64) float64 {
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func writeJSON(path string, v any) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(f).Encode(v); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	return nil
}
