package dpo

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"

	"github.com/alignlab/alignlab/algos/artifact"
	"github.com/alignlab/alignlab/algos/backend"
	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/algos/pairloss"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// PolicyFile is the JSON file a saved Policy keeps beside its weights:
// the loss, β, ε, architecture, sizes and dtype.
const PolicyFile = artifact.FactsFile

// TableScores is the table Policy.Score fills, one row per pair: pair
// (0-based, over the files in order), weight, log_ratio (h), margin (βh),
// p_chosen (σ(βh)) and loss (the pair's loss).
const TableScores = "scores"

// Policy is what the plugins dpo.dpo, dpo.cdpo, dpo.ipo and dpo.rdpo
// train and save: a log-linear policy π_θ ∝ π_ref·exp(θ·φ) or an MLP
// policy π ∝ π_ref·exp(f(φ)), with the loss, β and ε it was trained with.
//
// π_ref is not part of it: both policies tilt π_ref by exp(s(φ)) with a
// per-prompt normaliser, so the log-ratio difference
// h = [log π(y_w|x) − log π_ref(y_w|x)] − [log π(y_l|x) − log π_ref(y_l|x)]
// is s(φ(y_w)) − s(φ(y_l)) whatever π_ref is.
type Policy struct {
	Loss    Kind    // the loss it was trained with
	Beta    float64 // β of training
	Epsilon float64 // ε of training (cdpo, rdpo)
	Arch    string  // PolicyLogLinear or PolicyMLP
	Dim     int     // feature dimension d
	Hidden  int     // MLP units per hidden layer (0 for log-linear)
	Layers  int     // MLP hidden layers (0 for log-linear)
	// DType is the float type the policy was trained in, and in which the
	// MLP scores: dtypes.Float32 or dtypes.Float64 (the zero value means
	// Float64). The log-linear policy scores in float64 Go either way.
	DType dtypes.DType
	// Weights are the arrays: "theta" [d] (log-linear); "mlp/w0"
	// [hidden, d], "mlp/b0" [hidden], …, "mlp/w{L−1}", "mlp/b{L−1}" and
	// "mlp/out" [hidden] (MLP, weight matrices [out, in]); float32 or
	// float64 arrays as DType says (a trained policy's are; scoring
	// converts others).
	Weights artifact.Weights
}

var (
	_ kernel.Model       = (*Policy)(nil)
	_ kernel.Scorer      = (*Policy)(nil)
	_ kernel.ModelLoader = plugin{}
)

// policyMeta is PolicyFile's content.
type policyMeta struct {
	Loss    Kind    `json:"loss"`
	Beta    float64 `json:"beta"`
	Epsilon float64 `json:"epsilon"`
	Policy  string  `json:"policy"`
	Dim     int     `json:"dim"`
	Hidden  int     `json:"hidden,omitempty"`
	Layers  int     `json:"layers,omitempty"`
	// DType is "float32" or "float64"; a policy saved before the field
	// existed has none and is float64.
	DType string `json:"dtype,omitempty"`
}

// dtype is p.DType with the zero value read as Float64.
func (p *Policy) dtype() dtypes.DType {
	if p.DType == dtypes.InvalidDType {
		return dtypes.Float64
	}
	return p.DType
}

// Kind says which policy p is and its sizes.
// A float32 policy says so; float64 is the unmarked case.
func (p *Policy) Kind() string {
	prec := ""
	if p.dtype() == dtypes.Float32 {
		prec = ", float32"
	}
	if p.Arch == PolicyMLP {
		return fmt.Sprintf("MLP policy, d = %d, %d × %d tanh units%s (%s)", p.Dim, p.Layers, p.Hidden, prec, p.Loss)
	}
	return fmt.Sprintf("log-linear policy, d = %d%s (%s)", p.Dim, prec, p.Loss)
}

// Shapes lists the arrays of Weights and their dimensions.
func (p *Policy) Shapes() map[string][]int { return p.Weights.Shapes() }

// arrays returns the names and dimensions of the arrays an Arch, Dim,
// Hidden and Layers call for.
func (p *Policy) arrays() map[string][]int {
	if p.Arch != PolicyMLP {
		return map[string][]int{"theta": {p.Dim}}
	}
	out := map[string][]int{"mlp/out": {p.Hidden}}
	in := p.Dim
	for l := range p.Layers {
		out[fmt.Sprintf("mlp/w%d", l)] = []int{p.Hidden, in}
		out[fmt.Sprintf("mlp/b%d", l)] = []int{p.Hidden}
		in = p.Hidden
	}
	return out
}

// Save writes the weights (GoMLX checkpoint, as arrays of p's dtype) and
// PolicyFile into dir.
func (p *Policy) Save(dir string) error {
	dt := p.dtype()
	if dt != dtypes.Float32 && dt != dtypes.Float64 {
		return fmt.Errorf("dpo: save: policy dtype %s, want float32 or float64", dt)
	}
	w := artifact.Weights{}
	for name, t := range p.Weights {
		w[name] = t.In(dt)
	}
	if err := artifact.Save(dir, w); err != nil {
		return err
	}
	return artifact.WriteFacts(dir, policyMeta{Loss: p.Loss, Beta: p.Beta, Epsilon: p.Epsilon, Policy: p.Arch,
		Dim: p.Dim, Hidden: p.Hidden, Layers: p.Layers, DType: fit.DTypeName(dt)})
}

// loadPolicy reads a Policy saved in dir, checking PolicyFile's values and
// every array's shape and dtype.
func loadPolicy(dir string) (*Policy, error) {
	path := filepath.Join(dir, PolicyFile)
	var m policyMeta
	if err := artifact.ReadFacts(dir, &m); err != nil {
		return nil, fmt.Errorf("dpo: %w", err)
	}
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("dpo: %s: %s: %s", path, field, fmt.Sprintf(format, args...))
	}
	if _, err := parseKind(string(m.Loss)); err != nil {
		return nil, bad("loss", "%v", err)
	}
	switch {
	case m.Policy != PolicyLogLinear && m.Policy != PolicyMLP:
		return nil, bad("policy", "want %s or %s, got %q", PolicyLogLinear, PolicyMLP, m.Policy)
	case m.Dim < 1:
		return nil, bad("dim", "want ≥ 1, got %d", m.Dim)
	case m.Policy == PolicyMLP && m.Hidden < 1:
		return nil, bad("hidden", "want ≥ 1 for the MLP, got %d", m.Hidden)
	case m.Policy == PolicyMLP && m.Layers < 1:
		return nil, bad("layers", "want ≥ 1 for the MLP, got %d", m.Layers)
	}
	dt, err := fit.SavedDType(m.DType) // absent: saved before policies had a dtype
	if err != nil {
		return nil, bad("dtype", "%v", err)
	}
	w, err := artifact.Load(dir)
	if err != nil {
		return nil, err
	}
	p := &Policy{Loss: m.Loss, Beta: m.Beta, Epsilon: m.Epsilon, Arch: m.Policy, Dim: m.Dim, Hidden: m.Hidden, Layers: m.Layers,
		DType: dt, Weights: artifact.Weights{}}
	arrays := p.arrays()
	for _, name := range slices.Sorted(maps.Keys(arrays)) { // the first bad array, whatever the map's order
		dims := arrays[name]
		t, err := w.Need(name, dims...)
		if err != nil {
			return nil, fmt.Errorf("dpo: %s: %w (%s says %s)", dir, err, PolicyFile, p.Kind())
		}
		if (t.F32 != nil) != (dt == dtypes.Float32) {
			got := fit.DTypeFloat64
			if t.F32 != nil {
				got = fit.DTypeFloat32
			}
			return nil, bad("dtype", "%s, but the array %q is %s", fit.DTypeName(dt), name, got)
		}
		p.Weights[name] = t
	}
	return p, nil
}

// LoadModel reads the Policy a run of the plugin saved in dir.
func (pl plugin) LoadModel(dir string, man *kernel.Manifest, backendName string) (kernel.Model, error) {
	p, err := loadPolicy(dir)
	if err != nil {
		return nil, err
	}
	if p.Loss != pl.kind {
		return nil, fmt.Errorf("dpo: %s: %s says loss %s, but the manifest's plugin is dpo.%s", dir, PolicyFile, p.Loss, pl.kind)
	}
	return p, nil
}

// fits reports whether p can start the training of cfg's policy on data of
// dimension dim: same architecture and sizes.
func (p *Policy) fits(cfg Config, dim int) error {
	switch {
	case p.Arch != cfg.Policy:
		return fmt.Errorf("the saved policy is %s, the run trains policy = %s (set policy=%s)", p.Kind(), cfg.Policy, p.Arch)
	case p.Dim != dim:
		return fmt.Errorf("the saved policy has feature dimension %d, the run's data %d", p.Dim, dim)
	case p.Arch == PolicyMLP && (p.Hidden != cfg.Hidden || p.Layers != cfg.Layers):
		return fmt.Errorf("the saved MLP has %d hidden layers of %d units, the run %d of %d (set %s=%d, %s=%d)",
			p.Layers, p.Hidden, cfg.Layers, cfg.Hidden, ParamLayers, p.Layers, ParamHidden, p.Hidden)
	}
	for name, dims := range p.arrays() {
		if _, err := p.Weights.Need(name, dims...); err != nil {
			return err
		}
	}
	return nil
}

// policy returns the trainer's current policy (copies of its weights, in
// the trainer's dtype).
func (t *Trainer) policy() *Policy {
	cfg := t.cfg
	p := &Policy{Loss: cfg.Loss, Beta: cfg.Beta, Epsilon: cfg.Epsilon, Arch: cfg.Policy, Dim: t.d, DType: t.dtype, Weights: artifact.Weights{}}
	if cfg.Policy == PolicyMLP {
		p.Hidden, p.Layers = cfg.Hidden, cfg.Layers
	}
	for name, dims := range p.arrays() {
		v := t.store.GetVariable("/" + name).MustValue()
		if t.dtype == dtypes.Float32 {
			p.Weights[name] = artifact.F32(tensors.MustCopyFlatData[float32](v), dims...)
		} else {
			p.Weights[name] = artifact.F64(tensors.MustCopyFlatData[float64](v), dims...)
		}
	}
	return p
}

// start sets the trainer's variables to the weights of p, converted to the
// trainer's dtype (exactly from float32 to float64, rounded the other way).
func (t *Trainer) start(p *Policy) error {
	for _, name := range p.Weights.Names() {
		v := t.store.GetVariable("/" + name)
		w := p.Weights[name]
		if v == nil {
			return fmt.Errorf("dpo: init policy: the trainer has no variable %q", name)
		}
		if err := v.SetValue(fit.Tensor(t.dtype, w.Floats(), w.Shape...)); err != nil {
			return fmt.Errorf("dpo: init policy: %s: %w", name, err)
		}
	}
	return nil
}

// LogRatios returns h_i = [log π(y_w|x) − log π_ref(y_w|x)] − [log π(y_l|x)
// − log π_ref(y_l|x)] for every pair of data: θ·(φ(y_w) − φ(y_l)) for the
// log-linear policy, f(φ(y_w)) − f(φ(y_l)) for the MLP (evaluated with
// GoMLX on the named backend, "" for "go", in the policy's dtype; the
// differences are taken in float64). data must have the policy's feature
// dimension.
func (p *Policy) LogRatios(data *datasets.Prefs, backendName string) (h []float64, err error) {
	if data == nil || len(data.Pairs) == 0 {
		return nil, errors.New("dpo: no pairs to score")
	}
	if data.Dim != p.Dim {
		return nil, fmt.Errorf("dpo: the pairs have feature dimension %d, the policy %d", data.Dim, p.Dim)
	}
	n, d := len(data.Pairs), p.Dim
	h = make([]float64, n)
	if p.Arch != PolicyMLP {
		theta := p.Weights["theta"].Floats()
		// The difference first, then the dot product, as Trainer.Evaluate
		// does: scoring the training pairs gives its numbers bit for bit.
		row := make([]float64, d)
		for i, pr := range data.Pairs {
			x := data.Prompts[pr.Prompt]
			for j := range row {
				row[j] = x.Features[pr.Chosen][j] - x.Features[pr.Rejected][j]
			}
			h[i] = dotf(theta, row)
		}
		return h, nil
	}
	x := make([]float64, 2*n*d) // chosen rows, then rejected rows
	for i, pr := range data.Pairs {
		f := data.Prompts[pr.Prompt].Features
		copy(x[i*d:(i+1)*d], f[pr.Chosen])
		copy(x[(n+i)*d:(n+i+1)*d], f[pr.Rejected])
	}
	s, err := p.mlpScores(x, backendName)
	if err != nil {
		return nil, err
	}
	for i := range h {
		h[i] = s[i] - s[n+i]
	}
	return h, nil
}

// mlpScores returns f(x) for the flat rows x (width Dim) through the graph
// Trainer.Evaluate uses, in p's dtype.
func (p *Policy) mlpScores(x []float64, backendName string) (s []float64, err error) {
	be, err := backend.Get(backendName)
	if err != nil {
		return nil, err
	}
	defer fit.Catch("dpo", &err)
	dt := p.dtype()
	w := artifact.Weights{}
	for name, t := range p.Weights {
		w[name] = t.In(dt)
	}
	store := model.NewStore()
	if err := w.Into(store); err != nil {
		return nil, err
	}
	exec, err := model.NewExec(be, store, func(scope *model.Scope, x *Node) *Node {
		asParameters(scope, x.Graph())
		return mlpScores(scope.In("mlp"), x, p.Layers)
	})
	if err != nil {
		return nil, err
	}
	out, err := exec.Call(featureTensor(dt, x, p.Dim))
	if err != nil {
		return nil, err
	}
	return fit.Float64s(out[0])
}

// Score measures the policy on the comparisons of job.Data (JSONL, as the
// plugins' --data; all files together, of the policy's dimension) without
// training: per pair the table scores, and the finals loss (the plugin's
// loss at the job's beta and epsilon, weighted as in training), accuracy
// (h > 0; ties ½), mean_margin (mean βh) and log_loss (the weighted mean of
// −log σ(βh), the log-loss of the predicted preferences).
func (p *Policy) Score(job *kernel.Job) error {
	if len(job.Data) == 0 {
		return &kernel.ModelUsageError{Plugin: job.Result.Plugin, Msg: "score needs preference comparisons (--data FILE)"}
	}
	data, err := loadOrGenerate(job)
	if err != nil {
		return err
	}
	if data.Dim != p.Dim {
		return datasets.Errorf(job.Data[0], 1, "features", "want vectors of length %d (the model's feature dimension), got %d", p.Dim, data.Dim)
	}
	cfg := ConfigFromParams(p.Loss, job.Params)
	loss := p.Loss.PairLoss(cfg.Beta, cfg.Epsilon)
	if err := loss.Check("dpo"); err != nil {
		return err
	}
	h, err := p.LogRatios(data, job.Backend)
	if err != nil {
		return err
	}
	var weights []float64 // nil when all are 1, as in training
	for _, pr := range data.Pairs {
		if pr.Weight != 1 {
			weights = make([]float64, len(data.Pairs))
			for i, q := range data.Pairs {
				weights[i] = q.Weight
			}
			break
		}
	}
	mean, err := loss.MeanFloat64("dpo", h, weights)
	if err != nil {
		return err
	}
	logLoss, err := pairloss.Loss{Kind: pairloss.Logistic, Beta: cfg.Beta}.MeanFloat64("dpo", h, weights)
	if err != nil {
		return err
	}
	tb := job.AddTable(TableScores, "pair", "weight", "log_ratio", "margin", "p_chosen", "loss")
	var acc, margin float64
	for i, hi := range h {
		acc += pairloss.Agreement(hi)
		margin += cfg.Beta * hi
		tb.Add(i, data.Pairs[i].Weight, hi, cfg.Beta*hi, pairloss.Sigmoid(cfg.Beta*hi), loss.Float64(hi))
	}
	n := float64(len(h))
	job.SetFinal(MetricLoss, mean)
	job.SetFinal(MetricAccuracy, acc/n)
	job.SetFinal("mean_margin", margin/n)
	job.SetFinal("log_loss", logLoss)
	return nil
}
