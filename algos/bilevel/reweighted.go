package bilevel

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/alignlab/alignlab/algos/artifact"
	"github.com/alignlab/alignlab/algos/pairloss"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// ModelFile is the JSON file, beside the arrays, of a saved Reweighted:
// the inner model's kind, dimension, hidden units or β, and the source
// names.
const ModelFile = "model.json"

// The tables score fills.
const (
	TableScores  = "scores"  // row, source, label, score, prob, loss: one row per example (pair)
	TableSources = "sources" // source, weight, examples, log_loss, accuracy
)

// The finals score sets (also per source, as <metric>/<source>).
const (
	MetricLogLoss  = "log_loss"
	MetricAccuracy = "accuracy"
)

var (
	_ kernel.Model       = (*Reweighted)(nil)
	_ kernel.Scorer      = (*Reweighted)(nil)
	_ kernel.ModelLoader = plugin{}
)

// Reweighted is what bilevel.reweight saves: ScaleBiO's final per-source
// weights and the inner model retrained from the common start with those
// weights fixed (the method scalebio_retrain). Its arrays are "lambda" and
// "weights" (one per source) and the inner model's parameters under
// "model/" (logistic: w, b; mlp: hidden_w, hidden_b, out_w, out_b; dpo:
// theta).
type Reweighted struct {
	Sources []string  // source names, in the order of the training data
	Lambda  []float64 // ScaleBiO's final λ
	Weights []float64 // p = softmax(λ)
	Model   string    // the inner model: ModelLogistic, ModelMLP or ModelDPO
	Dim     int       // feature dimension
	Hidden  int       // MLP hidden units (model mlp; else 0)
	Beta    float64   // DPO's β (model dpo; else 0)
	params  []param
}

// reweightedFile is ModelFile's content.
type reweightedFile struct {
	Model   string   `json:"model"`
	Dim     int      `json:"dim"`
	Hidden  int      `json:"hidden,omitempty"`
	Beta    float64  `json:"beta,omitempty"`
	Sources []string `json:"sources"`
}

// newReweighted is the model of a comparison's run with cfg on a problem
// of dimension dim.
func newReweighted(c *Comparison, cfg Config, dim int) *Reweighted {
	m := &Reweighted{Sources: slices.Clone(c.Sources), Lambda: c.Lambda, Weights: c.Weights,
		Model: cfg.Model, Dim: dim, params: c.retrained}
	switch cfg.Model {
	case ModelMLP:
		m.Hidden = cfg.Hidden
	case ModelDPO:
		m.Beta = cfg.Beta
	}
	return m
}

func (m *Reweighted) learner() learner {
	return learner{kind: m.Model, dim: m.Dim, hidden: m.Hidden, beta: m.Beta}
}

// Kind names the weights and the inner model with its size.
func (m *Reweighted) Kind() string {
	inner := m.Model
	switch m.Model {
	case ModelMLP:
		inner = fmt.Sprintf("mlp (%d hidden units)", m.Hidden)
	case ModelDPO:
		inner = fmt.Sprintf("dpo (β = %g)", m.Beta)
	}
	return fmt.Sprintf("ScaleBiO weights of %d sources and the %s model retrained with them, d = %d", len(m.Sources), inner, m.Dim)
}

const modelScope = "model/"

func (m *Reweighted) weights() artifact.Weights {
	w := artifact.Weights{"lambda": artifact.F64(m.Lambda), "weights": artifact.F64(m.Weights)}
	for _, p := range m.params {
		if len(p.dims) == 0 {
			w[modelScope+p.name] = artifact.Scalar(p.init[0])
			continue
		}
		w[modelScope+p.name] = artifact.F64(p.init, p.dims...)
	}
	return w
}

// Shapes lists the arrays: lambda and weights [sources], the inner
// model's parameters.
func (m *Reweighted) Shapes() map[string][]int { return m.weights().Shapes() }

// Save writes the arrays in GoMLX's checkpoint format and ModelFile.
func (m *Reweighted) Save(dir string) error {
	if err := artifact.Save(dir, m.weights()); err != nil {
		return err
	}
	return artifact.WriteFacts(dir, reweightedFile{Model: m.Model, Dim: m.Dim, Hidden: m.Hidden, Beta: m.Beta, Sources: m.Sources})
}

// LoadModel reads a model bilevel.reweight saved.
func (plugin) LoadModel(dir string, _ *kernel.Manifest, _ string) (kernel.Model, error) {
	path := filepath.Join(dir, ModelFile)
	var f reweightedFile
	if err := artifact.ReadFacts(dir, &f); err != nil {
		return nil, fmt.Errorf("bilevel: %w", err)
	}
	m := &Reweighted{Sources: f.Sources, Model: f.Model, Dim: f.Dim, Hidden: f.Hidden, Beta: f.Beta}
	switch {
	case f.Dim < 1:
		return nil, fmt.Errorf("bilevel: %s: dim: want ≥ 1, got %d", path, f.Dim)
	case len(f.Sources) == 0:
		return nil, fmt.Errorf("bilevel: %s: sources: want at least one", path)
	}
	kind := KindClassification
	if f.Model == ModelDPO {
		kind = KindPreference
	}
	if err := m.learner().check(kind); err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	w, err := artifact.Load(dir)
	if err != nil {
		return nil, err
	}
	need := func(name string, dims ...int) ([]float64, error) {
		t, err := w.Need(name, dims...)
		if err != nil {
			return nil, fmt.Errorf("bilevel: %w (%s: model %s, d = %d, %d sources)", err, ModelFile, f.Model, f.Dim, len(f.Sources))
		}
		return t.Floats(), nil
	}
	s := len(f.Sources)
	if m.Lambda, err = need("lambda", s); err != nil {
		return nil, err
	}
	if m.Weights, err = need("weights", s); err != nil {
		return nil, err
	}
	// Only the names and shapes of the fresh parameters are used.
	for _, p := range m.learner().params(rand.New(rand.NewPCG(0, 0))) {
		v, err := need(modelScope+p.name, p.dims...)
		if err != nil {
			return nil, err
		}
		m.params = append(m.params, param{name: p.name, dims: p.dims, init: v})
	}
	return m, nil
}

// scored is a scored data file: its examples, each one's source name, and
// the source names in order of first appearance.
type scored struct {
	ex      Examples
	source  []string
	sources []string
}

// loadScored reads the file Score scores, in the format the plugin reads
// for the model's kind: labelled examples (source optional) or preference
// pairs (source optional, but on every line or none).
func (m *Reweighted) loadScored(job *kernel.Job) (*scored, error) {
	path := job.Data[0]
	sc := &scored{}
	var dim int
	if m.Model == ModelDPO {
		ps, err := datasets.LoadPrefSources(path)
		var de *datasets.Error
		if errors.As(err, &de) && de.Field == "source" && strings.HasPrefix(de.Msg, "missing") {
			// A clean set without sources, like the run's VAL and TEST.
			var pr *datasets.Prefs
			if pr, err = datasets.LoadPrefs(path); err == nil {
				ps = &datasets.PrefSources{Train: pr, Source: make([]int, len(pr.Pairs)), Sources: []string{""}}
			}
			if err == nil {
				job.Note("%s: line %d has no source: the pairs are scored without per-source results", path, de.Line)
			}
		}
		if err != nil {
			return nil, err
		}
		dim = ps.Train.Dim
		sc.ex, sc.sources = prefExamples(ps.Train), ps.Sources
		for _, k := range ps.Source {
			sc.source = append(sc.source, ps.Sources[k])
		}
		job.DataShape(0, "pairs", sc.ex.N, "dim", dim, "sources", named(sc.sources))
	} else {
		l, err := datasets.LoadExamples(path)
		if err != nil {
			return nil, err
		}
		dim = l.Dim
		sc.ex, sc.sources = labeledExamples(l, false), l.Sources
		for _, e := range l.Examples {
			sc.source = append(sc.source, l.Sources[e.Source])
		}
		job.DataShape(0, "examples", sc.ex.N, "dim", dim, "sources", named(sc.sources))
	}
	if dim != m.Dim {
		return nil, datasets.Errorf(path, 0, "features", "dimension %d, but the model was trained on dimension %d", dim, m.Dim)
	}
	return sc, nil
}

// named counts the non-empty source names.
func named(sources []string) int {
	n := 0
	for _, s := range sources {
		if s != "" {
			n++
		}
	}
	return n
}

// Score measures the retrained model on the one file in job.Data, in the
// format the plugin reads for the model's kind (labelled examples; for
// dpo, preference pairs), with or without sources, training nothing:
// finals log_loss (the mean per-example loss, for dpo −log σ(βh)) and
// accuracy as the run's methods table reports them, and per named source
// log_loss/<source> and accuracy/<source>; TableSources (with the model's
// weight of each source, NaN for one it was not trained on) and
// TableScores, one row per example.
func (m *Reweighted) Score(job *kernel.Job) error {
	if len(job.Data) != 1 {
		what := "labelled examples"
		if m.Model == ModelDPO {
			what = "preference pairs"
		}
		return job.DataCountError("1 file (" + what + ", with or without sources)")
	}
	sc, err := m.loadScored(job)
	if err != nil {
		return err
	}
	lr := m.learner()
	s, err := newSession(lr, job.Backend, m.params, scopeW)
	if err != nil {
		return err
	}
	ev, losses, err := s.evaluate(sc.ex)
	if err != nil {
		return err
	}
	z, err := s.scores(sc.ex)
	if err != nil {
		return err
	}
	job.SetFinal(MetricLogLoss, ev.LogLoss)
	job.SetFinal(MetricAccuracy, ev.Accuracy)

	scale := 1.0
	if m.Model == ModelDPO {
		scale = m.Beta
	}
	st := job.AddTable(TableScores, "row", "source", "label", "score", "prob", "loss")
	sum, right, n := map[string]float64{}, map[string]float64{}, map[string]int{}
	for i := range sc.ex.N {
		y := sc.ex.Y[i]
		st.Add(i+1, sc.source[i], y, z[i], pairloss.Sigmoid(scale*z[i]), losses[i])
		src := sc.source[i]
		sum[src] += losses[i]
		right[src] += agreement(z[i], y)
		n[src]++
	}
	tt := job.AddTable(TableSources, "source", "weight", "examples", MetricLogLoss, MetricAccuracy)
	for _, src := range sc.sources {
		w := math.NaN()
		if k := slices.Index(m.Sources, src); k >= 0 {
			w = m.Weights[k]
		}
		ll, acc := sum[src]/float64(n[src]), right[src]/float64(n[src])
		tt.Add(src, w, n[src], ll, acc)
		if src != "" {
			job.SetFinal(MetricLogLoss+"/"+src, ll)
			job.SetFinal(MetricAccuracy+"/"+src, acc)
		}
	}
	return nil
}

// agreement is 1 when the score z is on the label's side, ½ for a tie,
// else 0, as the accuracy graph counts it.
func agreement(z, y float64) float64 {
	pred := 0.0
	switch {
	case z > 0:
		pred = 1
	case z == 0:
		pred = 0.5
	}
	return pred*y + (1-pred)*(1-y)
}

// scores returns the model's score z (h for dpo) of every example of sp.
func (s *session) scores(sp Examples) ([]float64, error) {
	if sp.N == 0 {
		return nil, nil
	}
	exec, err := model.NewExec(s.be, s.store, func(scope *model.Scope, x *Node) *Node {
		scope.SetTraining(x.Graph(), true) // see newSession
		return s.m.scores(scope.At(scopeW), x)
	})
	if err != nil {
		return nil, fmt.Errorf("bilevel: building the scoring graph: %w", err)
	}
	out, err := exec.Call(tensors.FromFlatDataAndDimensions(sp.X, sp.N, s.m.dim))
	if err != nil {
		return nil, fmt.Errorf("bilevel: scoring: %w", err)
	}
	return tensors.CopyFlatData[float64](out[0])
}

// initLambda returns the starting λ of a run on p: the λ of the saved
// model the run was given (job.InitModel), matched to p's sources by name,
// or nil (start at 0).
func initLambda(job *kernel.Job, p *Problem) ([]float64, error) {
	init := job.InitModel()
	if init == nil {
		return nil, nil
	}
	m, ok := init.(*Reweighted)
	if !ok {
		return nil, &kernel.ModelUsageError{Plugin: ID, Msg: fmt.Sprintf("--model: %s, want a %s model", init.Kind(), ID)}
	}
	a, b := slices.Sorted(slices.Values(m.Sources)), slices.Sorted(slices.Values(p.Sources))
	if !slices.Equal(a, b) {
		return nil, &kernel.ModelUsageError{Plugin: ID, Msg: fmt.Sprintf("--model: the saved weights are of the sources %s, the training data has %s: start from a model of the same sources",
			strings.Join(m.Sources, ", "), strings.Join(p.Sources, ", "))}
	}
	lambda := make([]float64, len(p.Sources))
	for k, s := range p.Sources {
		lambda[k] = m.Lambda[slices.Index(m.Sources, s)]
	}
	job.Note("ScaleBiO's λ starts at the saved model's final λ (weights %s), not at 0; w, u and the baselines start fresh", fmtWeights(p.Sources, Weights(lambda)))
	return lambda, nil
}

func fmtWeights(sources []string, w []float64) string {
	parts := make([]string, len(w))
	for k, v := range w {
		parts[k] = fmt.Sprintf("%s %.3g", sources[k], v)
	}
	return strings.Join(parts, ", ")
}

// modelDoc is the plugin's Info.Model text.
const modelDoc = `Saves ScaleBiO's final per-source weights (lambda, weights = softmax(λ)) and the inner model
retrained from the common start with them fixed (the method scalebio_retrain): model/weights in
GoMLX's checkpoint format, model/model.json (model, dim, hidden or beta, source names). The run's
table weights holds the same weights.
score --data FILE (one file in the format the run reads for the model: labelled examples, or
preference pairs for model dpo; source optional) measures the retrained model on it, training
nothing: finals log_loss and accuracy (as the methods table: scoring the run's TEST file gives
its test_logloss/scalebio_retrain and test_accuracy/scalebio_retrain), log_loss/<source> and
accuracy/<source> per named source; tables sources (source, weight, examples, log_loss,
accuracy) and scores (row, source, label, score z or h, prob σ(z) or σ(βh), loss). A file of
another dimension is an error naming the file and field.`

// initDoc is the plugin's Info.Init text.
const initDoc = `ScaleBiO's λ starts at the saved model's final λ (matched to the training data's sources by name;
the sources must be the same) instead of 0; w, u and the baselines start fresh.`
