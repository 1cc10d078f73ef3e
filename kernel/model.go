package kernel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"
)

// A Model is what a run trained: ratings, a reward model, a policy, a
// potential. A plugin that trains one hands it back with Job.SetModel; it
// travels in Result.Model (not in the JSON), is written by SaveModel (the
// command line's `run --out DIR` writes DIR/model) and read back by Load,
// which finds the plugin's ModelLoader through the registry.
type Model interface {
	// Kind says what the model is, in a few words: "Bradley–Terry ratings
	// of 12 models", "log-linear policy, d = 8".
	Kind() string
	// Shapes lists the model's arrays and their dimensions; the manifest
	// records them.
	Shapes() map[string][]int
	// Save writes the model's own files into dir, which exists; SaveModel
	// writes the manifest (ManifestFile) beside them. Where the model is
	// GoMLX variables, the files are GoMLX's checkpoint format.
	Save(dir string) error
}

// ModelLoader is the optional ability of a Plugin to read back the models
// its runs save, found by type assertion like Quick. A plugin that calls
// Job.SetModel must have it.
type ModelLoader interface {
	// LoadModel reads the model saved in dir, described by man, for use on
	// the GoMLX backend named by backend.
	LoadModel(dir string, man *Manifest, backend string) (Model, error)
}

// Scorer is the optional ability of a Model to measure itself on new data
// without training: job.Data are files in the formats its plugin reads,
// job.Params the plugin's params (the trained model's, overridden by the
// caller's), and it fills job.Result (log-probs, predicted preferences,
// accuracy…) as a run would.
type Scorer interface {
	Score(job *Job) error
}

// Sampler is the optional ability of a Model to draw from itself without
// training: n samples for each condition in job.Data (for example y | x for
// each row x of a CSV file), into job.Result's "samples" table.
type Sampler interface {
	Sample(job *Job, n int) error
}

// ManifestFile is the JSON file SaveModel writes beside a model's own files.
const ManifestFile = "manifest.json"

// ModelFormat is the Format of the manifests this version writes and reads.
const ModelFormat = "alignlab.model/1"

// Manifest describes a saved model: which plugin trained it, with which
// params, seed and data, and the shapes of its arrays.
type Manifest struct {
	Format  string             `json:"format"`
	Plugin  string             `json:"plugin"`
	Kind    string             `json:"kind"`
	Params  map[string]any     `json:"params"`
	Seed    int64              `json:"seed"`
	Backend string             `json:"backend"`
	Data    []DataHash         `json:"data,omitempty"`
	Shapes  map[string][]int   `json:"shapes"`
	Final   map[string]float64 `json:"final,omitempty"`
	// Init is the model the run started from, if any.
	Init          *ModelRef `json:"init,omitempty"`
	ModuleVersion string    `json:"module_version"`
	Saved         string    `json:"saved"` // RFC 3339, UTC
}

// ModelRef names a saved model a run used: to start from (Provenance.Init)
// or to score or sample with (Provenance.Model).
type ModelRef struct {
	Dir    string `json:"dir,omitempty"` // empty for a model in memory
	Plugin string `json:"plugin"`
	Seed   int64  `json:"seed"`
	// ManifestSHA256 is the hash of the manifest file as saved.
	ManifestSHA256 string `json:"manifest_sha256,omitempty"`
}

// ModelUsageError is a model asked of a plugin that has none: --model to a
// plugin that cannot start from one, score to a model that cannot score, a
// model directory that holds another plugin's model. Like *ParamError it is
// bad usage: the command line exits 2 on it.
type ModelUsageError struct {
	Plugin string
	Msg    string
}

func (e *ModelUsageError) Error() string {
	if e.Plugin == "" {
		return e.Msg
	}
	return e.Plugin + ": " + e.Msg
}

// SetModel hands back the model the run trained (see Model).
func (j *Job) SetModel(m Model) { j.Result.Model = m }

// InitModel returns the model the run was asked to start from
// (Options.Init, the command line's --model), or nil. Only a plugin whose
// Info.Init says what starting from a model means gets one; it type-asserts
// it to its own model type and returns an error naming both when it is
// another plugin's.
func (j *Job) InitModel() Model { return j.init }

// Load reads the model in dir as a Loaded model: its manifest, then its
// files through the manifest's plugin (which must be registered: import
// its package, or algos/all).
func Load(dir string) (*Loaded, error) { return load(dir, Backend()) }

func load(dir, backend string) (*Loaded, error) {
	man, sum, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	p, err := Lookup(man.Plugin)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	ld, ok := p.(ModelLoader)
	if !ok {
		return nil, &ModelUsageError{Plugin: man.Plugin, Msg: "saves no models, so " + dir + " cannot be one of its"}
	}
	m, err := ld.LoadModel(dir, man, backend)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", dir, err)
	}
	return &Loaded{Manifest: man, Model: m, Dir: dir, sum: sum}, nil
}

// ReadManifest reads dir's manifest and checks its format; the second
// result is the manifest file's SHA-256.
func ReadManifest(dir string) (*Manifest, string, error) {
	path := filepath.Join(dir, ManifestFile)
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, "", &ModelUsageError{Msg: fmt.Sprintf("%s is not a saved model: no %s (a run saves one with --out DIR, into DIR/model)", dir, ManifestFile)}
		}
		return nil, "", fmt.Errorf("model %s: %w", dir, err)
	}
	man := &Manifest{}
	if err := json.Unmarshal(b, man); err != nil {
		return nil, "", &ModelUsageError{Msg: fmt.Sprintf("%s: %v", path, err)}
	}
	if man.Format != ModelFormat {
		return nil, "", &ModelUsageError{Msg: fmt.Sprintf("%s: format %q, want %q", path, man.Format, ModelFormat)}
	}
	if man.Plugin == "" {
		return nil, "", &ModelUsageError{Msg: path + ": no plugin"}
	}
	h := sha256.Sum256(b)
	return man, hex.EncodeToString(h[:]), nil
}

// Loaded is a model with its manifest: read from a directory by Load, or
// taken from a Result in memory by LoadedOf. Score and Sample use it
// without training.
type Loaded struct {
	Manifest *Manifest
	Model    Model
	Dir      string // empty for a model in memory
	sum      string
}

// LoadedOf wraps the model of a result in memory, with the manifest
// SaveModel would write for it.
func LoadedOf(res *Result) (*Loaded, error) {
	if res == nil || res.Model == nil {
		plugin := ""
		if res != nil {
			plugin = res.Plugin
		}
		return nil, &ModelUsageError{Plugin: plugin, Msg: "the result holds no model"}
	}
	return &Loaded{Manifest: manifestOf(res), Model: res.Model}, nil
}

func (l *Loaded) ref() *ModelRef {
	return &ModelRef{Dir: l.Dir, Plugin: l.Manifest.Plugin, Seed: l.Manifest.Seed, ManifestSHA256: l.sum}
}

func manifestOf(res *Result) *Manifest {
	return &Manifest{
		Format: ModelFormat, Plugin: res.Plugin, Kind: res.Model.Kind(),
		Params: res.Params, Seed: res.Seed, Backend: res.Backend,
		Data: res.Provenance.Data, Shapes: res.Model.Shapes(), Final: finite(res.Final),
		Init: res.Provenance.Init, ModuleVersion: res.Provenance.ModuleVersion,
	}
}

func finite(m map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out[k] = v
		}
	}
	return out
}

// SaveModel writes the result's model into dir (created if needed): the
// model's own files and ManifestFile.
func SaveModel(res *Result, dir string) error {
	if _, err := LoadedOf(res); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := res.Model.Save(dir); err != nil {
		return fmt.Errorf("%s: save model to %s: %w", res.Plugin, dir, err)
	}
	man := manifestOf(res)
	man.Saved = time.Now().UTC().Format(time.RFC3339)
	b, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ManifestFile), append(b, '\n'), 0o644)
}

// Score measures the model on opts.Data without training and returns the
// scores as a Result of the model's plugin: opts.Params override the
// trained model's params, the seed is opts' (default: the model's).
func (l *Loaded) Score(ctx context.Context, opts Options) (*Result, error) {
	s, ok := l.Model.(Scorer)
	if !ok {
		return nil, &ModelUsageError{Plugin: l.Manifest.Plugin, Msg: "its models cannot score data (no Scorer); see `alignlab describe " + l.Manifest.Plugin + "`"}
	}
	if len(opts.Data) == 0 {
		return nil, &ModelUsageError{Plugin: l.Manifest.Plugin, Msg: "score needs data to score (--data FILE)"}
	}
	return l.use(ctx, opts, func(job *Job) error { return s.Score(job) })
}

// Sample draws n samples from the model for each condition in opts.Data
// (see Sampler) without training.
func (l *Loaded) Sample(ctx context.Context, n int, opts Options) (*Result, error) {
	s, ok := l.Model.(Sampler)
	if !ok {
		return nil, &ModelUsageError{Plugin: l.Manifest.Plugin, Msg: "its models cannot sample (no Sampler); see `alignlab describe " + l.Manifest.Plugin + "`"}
	}
	if n < 1 {
		return nil, &ModelUsageError{Plugin: l.Manifest.Plugin, Msg: fmt.Sprintf("sample: n = %d, want at least 1", n)}
	}
	return l.use(ctx, opts, func(job *Job) error { return s.Sample(job, n) })
}

// use runs fn as a job of the model's plugin: params validated (the
// model's, overridden by opts'), data hashed, panics recovered, the model
// recorded in the provenance.
func (l *Loaded) use(ctx context.Context, opts Options, fn func(*Job) error) (*Result, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	p, err := Lookup(l.Manifest.Plugin)
	if err != nil {
		return nil, err
	}
	info := p.Info()
	raw := map[string]any{}
	for k, v := range l.Manifest.Params {
		if info.Param(k) != nil {
			raw[k] = v
		}
	}
	if _, ok := opts.Params[ParamSeed]; !ok {
		raw[ParamSeed] = l.Manifest.Seed
	}
	for k, v := range opts.Params {
		raw[k] = v
	}
	params, err := Validate(info, raw)
	if err != nil {
		return nil, err
	}
	hashes, err := hashFiles(opts.Data)
	if err != nil {
		return nil, err
	}
	job := NewJob(ctx, info.ID, params, opts.Data)
	job.observer = opts.Observer
	job.Result.Provenance.Data = hashes
	job.Result.Provenance.Model = l.ref()
	start := time.Now()
	if err := execute(job, func() error { return fn(job) }); err != nil {
		return nil, err
	}
	finish(job, &info, start)
	return job.Result, nil
}

// Param returns the declaration of the param key, or nil.
func (info *Info) Param(key string) *Param {
	for _, p := range allParams(info) {
		if p.Key == key {
			return &p
		}
	}
	return nil
}

// initFor loads the model a run starts from and checks the plugin can.
func initFor(info *Info, dir, backend string) (*Loaded, error) {
	if info.Init == "" {
		return nil, &ModelUsageError{Plugin: info.ID, Msg: "cannot start from a saved model (--model " + dir + "); the plugins that can say so in `alignlab describe`"}
	}
	return load(dir, backend)
}
