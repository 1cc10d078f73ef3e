package kernel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/alignlab/alignlab/datasets"
)

// BackendEnv is the environment variable that selects the GoMLX backend,
// in GoMLX's own syntax ("go", "xla:cpu", "xla:cuda"). Unset means "go", the
// pure-Go backend, which never downloads anything.
const BackendEnv = "GOMLX_BACKEND"

// DefaultBackend is the backend used when BackendEnv is unset.
const DefaultBackend = "go"

// Backend returns the GoMLX backend configuration runs will use.
func Backend() string {
	if b := strings.TrimSpace(os.Getenv(BackendEnv)); b != "" {
		return b
	}
	return DefaultBackend
}

// Event is one progress report of a running plugin: a metric value at a
// step, or (Metric empty) only the step count, or a Note.
type Event struct {
	Step   int64
	Total  int64 // total steps when known, else 0
	Metric string
	Value  float64
	Note   string
}

// DivergedError stops a run whose metric became NaN or infinite.
type DivergedError struct {
	Plugin     string
	Step       int64
	Metric     string
	Value      float64
	LastFinite map[string]Point // last finite value of every metric so far
	Hint       string           // what to try, e.g. "try a smaller learning_rate"
}

func (e *DivergedError) Error() string {
	var last []string
	for _, k := range sortedKeys(e.LastFinite) {
		p := e.LastFinite[k]
		last = append(last, fmt.Sprintf("%s=%.6g@%d", k, p.Value, p.Step))
	}
	var s string
	if e.Step < 0 {
		s = fmt.Sprintf("%s: final metric %s is %v", e.Plugin, e.Metric, e.Value)
	} else {
		s = fmt.Sprintf("%s: diverged at step %d: %s is %v", e.Plugin, e.Step, e.Metric, e.Value)
	}
	if len(last) > 0 {
		s += " (last finite: " + strings.Join(last, ", ") + ")"
	}
	if e.Hint != "" {
		s += "; " + e.Hint
	}
	return s
}

// PanicError is a panic inside a plugin (typically from GoMLX graph
// building), turned into an error at the run boundary.
type PanicError struct {
	Plugin string
	Value  any
	Stack  string
}

func (e *PanicError) Error() string {
	msg := fmt.Sprint(e.Value)
	if err, ok := e.Value.(error); ok {
		msg = err.Error()
	}
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return fmt.Sprintf("%s: %s", e.Plugin, msg)
}

// Unwrap returns the panic value if it was an error.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// DataUsageError is a run given a number of --data files its plugin cannot
// use: any to a plugin that reads none (Info.Data empty; kernel.Run checks
// this before the plugin runs), or a count the plugin does not accept (the
// plugin returns it, from Job.DataCountError). Like *ParamError, it is bad
// usage, not a failed run: the command line exits 2 on it.
type DataUsageError struct {
	Plugin string
	Want   string // the files the plugin reads, e.g. "2 files, --data x0 --data x1"; "" for none
	Got    int    // the number of --data files given
}

func (e *DataUsageError) Error() string {
	files := "files"
	if e.Got == 1 {
		files = "file"
	}
	if e.Want == "" {
		return fmt.Sprintf("%s reads no --data files: want none, got %d %s", e.Plugin, e.Got, files)
	}
	return fmt.Sprintf("%s: --data: want %s, got %d %s", e.Plugin, e.Want, e.Got, files)
}

// Job is a plugin's view of one run: its validated params, its seed, its
// data, and the Result it fills.
type Job struct {
	ctx      context.Context
	Params   Params
	Data     []string // input files, possibly none
	Seed     int64
	Backend  string // GoMLX backend configuration, e.g. "go"
	Result   *Result
	observer func(Event)
	streams  uint64
	total    int64
	last     map[string]Point
	diverged error
	init     Model
}

// NewJob returns a job for a plugin run outside kernel.Run (in tests of a
// plugin's internals). Params must already be validated.
func NewJob(ctx context.Context, id string, params Params, data []string) *Job {
	seed := int64(DefaultSeed)
	if s, ok := params[ParamSeed].(int64); ok {
		seed = s
	}
	backend := Backend() // read once: the job runs on the backend its result records
	return &Job{
		ctx: ctx, Params: params, Data: data, Seed: seed, Backend: backend,
		Result: newResult(id, params, seed, backend),
		last:   map[string]Point{},
	}
}

func newResult(id string, params Params, seed int64, backend string) *Result {
	return &Result{
		Plugin: id, Params: params, Seed: seed, Backend: backend,
		Provenance: provenance(),
		Final:      map[string]float64{},
		Series:     map[string][]Point{},
		Tables:     map[string]*Table{},
	}
}

// Context is the run's context; long loops should stop when it is done.
func (j *Job) Context() context.Context { return j.ctx }

// Rand returns a new random stream derived from the seed. Streams are
// numbered in the order of the calls, so a plugin that calls Rand in the
// same order gets the same draws.
func (j *Job) Rand() *rand.Rand {
	j.streams++
	return rand.New(rand.NewPCG(uint64(j.Seed), 0x9e3779b97f4a7c15^j.streams))
}

// SetTotal announces the number of steps the run will take (for progress bars).
func (j *Job) SetTotal(steps int64) {
	j.total = steps
	j.emit(Event{Total: steps})
}

// Step reports progress without a metric; it returns the context's error
// when the run was cancelled.
func (j *Job) Step(step int64) error {
	j.emit(Event{Step: step, Total: j.total})
	return j.ctx.Err()
}

// Record appends value to the metric series at step and reports it. It
// returns an error, which the plugin must return, when the run was
// cancelled or when the value is NaN or infinite (a *DivergedError).
func (j *Job) Record(step int64, metric string, value float64) error {
	if j.diverged != nil {
		return j.diverged
	}
	if math.IsNaN(value) || math.IsInf(value, 0) {
		last := make(map[string]Point, len(j.last))
		for k, v := range j.last {
			last[k] = v
		}
		j.diverged = &DivergedError{Plugin: j.Result.Plugin, Step: step, Metric: metric, Value: value, LastFinite: last, Hint: j.hint()}
		return j.diverged
	}
	p := Point{Step: step, Value: value}
	j.Result.Series[metric] = append(j.Result.Series[metric], p)
	j.last[metric] = p
	j.emit(Event{Step: step, Total: j.total, Metric: metric, Value: value})
	return j.ctx.Err()
}

// SetFinal sets a scalar final metric.
func (j *Job) SetFinal(name string, value float64) { j.Result.Final[name] = value }

// AddTable adds (or replaces) a named table and returns it.
func (j *Job) AddTable(name string, columns ...string) *Table {
	t := NewTable(columns...)
	j.Result.Tables[name] = t
	return t
}

// AddChart declares a chart of the result. An empty ID is derived from the index.
func (j *Job) AddChart(c Chart) {
	if c.ID == "" {
		c.ID = fmt.Sprintf("c%d", len(j.Result.Charts))
	}
	j.Result.Charts = append(j.Result.Charts, c)
}

// DataCountError returns the error for a number of --data files the plugin
// cannot use; want says what it reads, e.g. "2 files, --data x0 --data x1
// (source samples, then target samples)".
func (j *Job) DataCountError(want string) *DataUsageError {
	return &DataUsageError{Plugin: j.Result.Plugin, Want: want, Got: len(j.Data)}
}

// DataShape records what the plugin read from its i-th --data file (rows,
// dimension, models, actions…) beside the file's hash, as key, value pairs:
// job.DataShape(0, "battles", n, "models", k).
func (j *Job) DataShape(i int, kv ...any) {
	pv := &j.Result.Provenance
	for len(pv.Data) <= i {
		path := ""
		if len(pv.Data) < len(j.Data) {
			path = j.Data[len(pv.Data)]
		}
		pv.Data = append(pv.Data, DataHash{Path: path})
	}
	d := &pv.Data[i]
	if d.Shape == nil {
		d.Shape = map[string]any{}
	}
	for k := 0; k+1 < len(kv); k += 2 {
		d.Shape[fmt.Sprint(kv[k])] = kv[k+1]
	}
}

// Note adds a remark for the reader of the result (a warning, a caveat).
func (j *Job) Note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	j.Result.Notes = append(j.Result.Notes, msg)
	j.emit(Event{Note: msg})
}

// hint suggests the usual cure of a divergence when the plugin has a learning rate.
func (j *Job) hint() string {
	if _, ok := j.Params["learning_rate"]; ok {
		return "try a smaller learning_rate"
	}
	return ""
}

func (j *Job) emit(e Event) {
	if j.observer != nil {
		j.observer(e)
	}
}

// Run validates opts against the plugin's params, seeds the run, runs the
// plugin and returns its Result. Errors are typed where a caller must
// branch: *UnknownPluginError, *ParamError, *DataUsageError (--data given
// to a plugin that reads none, or a file count it cannot use),
// *datasets.Error (bad input), *DivergedError, *PanicError, or the
// context's error when cancelled.
func Run(ctx context.Context, id string, opts Options) (*Result, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	p, err := Lookup(id)
	if err != nil {
		return nil, err
	}
	info := p.Info()
	params, err := Validate(info, opts.Params)
	if err != nil {
		return nil, err
	}
	if len(info.Data) == 0 && len(opts.Data) > 0 {
		return nil, &DataUsageError{Plugin: id, Got: len(opts.Data)}
	}
	hashes, err := hashFiles(opts.Data)
	if err != nil {
		return nil, err
	}
	var init *Loaded
	if opts.Init != "" {
		if init, err = initFor(&info, opts.Init, Backend()); err != nil {
			return nil, err
		}
	}
	job := NewJob(ctx, info.ID, params, opts.Data)
	if init != nil {
		job.init = init.Model
		job.Result.Provenance.Init = init.ref()
	}
	if info.ID != id {
		job.Note("%s is a deprecated ID of %s; use %s", id, info.ID, info.ID)
	}
	job.observer = opts.Observer
	job.Result.Provenance.Data = hashes
	start := time.Now()
	if err := execute(job, func() error { return p.Run(job) }); err != nil {
		return nil, err
	}
	for name, v := range job.Result.Final {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, &DivergedError{Plugin: id, Step: -1, Metric: name, Value: v, LastFinite: job.last}
		}
	}
	finish(job, &info, start)
	return job.Result, nil
}

// hashFiles checks and hashes the data files, in order.
func hashFiles(paths []string) ([]DataHash, error) {
	hashes := make([]DataHash, 0, len(paths))
	for _, path := range paths {
		h, err := hashFile(path)
		if err != nil {
			return nil, err
		}
		hashes = append(hashes, h)
	}
	return hashes, nil
}

// execute runs fn as the job's work (a plugin's Run, a model's Score or
// Sample): a panic becomes a *PanicError, and a divergence the job recorded
// or a cancelled context is the error even when fn returned nil.
func execute(job *Job, fn func() error) error {
	err := protect(job, fn)
	if err == nil && job.diverged != nil {
		err = job.diverged
	}
	if err == nil && job.ctx.Err() != nil {
		err = job.ctx.Err()
	}
	return err
}

// finish completes the record of a job that succeeded: on data files, the
// generator params leave its params (dropGenerators); then its timing.
func finish(job *Job, info *Info, start time.Time) {
	if len(job.Data) > 0 {
		dropGenerators(info, job)
	}
	job.Result.Timing = &Timing{Started: start.UTC().Format(time.RFC3339), WallSeconds: time.Since(start).Seconds()}
}

// dropGenerators leaves out of the result's params those that only shape
// generated data, with a note, so that the record of a job on files says
// what took effect.
func dropGenerators(info *Info, job *Job) {
	kept := make(Params, len(job.Result.Params))
	var dropped []string
	gen := map[string]bool{}
	for _, p := range info.Params {
		gen[p.Key] = p.Generator
	}
	for k, v := range job.Result.Params {
		if gen[k] {
			dropped = append(dropped, k)
			continue
		}
		kept[k] = v
	}
	if len(dropped) > 0 {
		sort.Strings(dropped)
		job.Result.Params = kept
		job.Note("with --data, the generator params %s did not apply and are left out of the params", strings.Join(dropped, ", "))
	}
}

// protect calls fn, turning a panic into a *PanicError.
func protect(job *Job, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Plugin: job.Result.Plugin, Value: r, Stack: string(debug.Stack())}
		}
	}()
	return fn()
}

// hashFile checks that path is a readable regular file and hashes it.
func hashFile(path string) (DataHash, error) {
	st, err := os.Stat(path)
	if err != nil {
		return DataHash{}, &datasets.Error{File: path, Msg: errText(err)}
	}
	if st.IsDir() {
		return DataHash{}, &datasets.Error{File: path, Msg: "is a directory, want a data file"}
	}
	if !st.Mode().IsRegular() { // a FIFO would block the open, and a pipe cannot be read twice (hash, then load)
		return DataHash{}, &datasets.Error{File: path, Msg: "is not a regular file (a pipe, socket or device), want a data file"}
	}
	f, err := os.Open(path)
	if err != nil {
		return DataHash{}, &datasets.Error{File: path, Msg: errText(err)}
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return DataHash{}, &datasets.Error{File: path, Msg: errText(err)}
	}
	return DataHash{Path: path, Bytes: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// provenance reads the module's and its dependencies' versions from the build info.
func provenance() Provenance {
	pv := Provenance{Module: "github.com/alignlab/alignlab", ModuleVersion: "(devel)", GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return pv
	}
	if bi.Main.Path == pv.Module && bi.Main.Version != "" {
		pv.ModuleVersion = bi.Main.Version
	}
	pv.Deps = map[string]string{}
	for _, d := range bi.Deps {
		switch d.Path {
		case "github.com/gomlx/gomlx", "github.com/gomlx/compute", "gonum.org/v1/gonum", "github.com/go-echarts/go-echarts/v2":
			pv.Deps[d.Path] = d.Version
		case pv.Module:
			pv.ModuleVersion = d.Version
		}
	}
	return pv
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
