package sb

import (
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/alignlab/alignlab/algos/artifact"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// A trained *Model is what sb.light hands back (kernel.Job.SetModel): a
// kernel.Model that scores new marginal samples or a benchmark pair
// (kernel.Scorer) and draws y | x at the user's x (kernel.Sampler).
var (
	_ kernel.Model       = (*Model)(nil)
	_ kernel.Scorer      = (*Model)(nil)
	_ kernel.Sampler     = (*Model)(nil)
	_ kernel.ModelLoader = plugin{}
)

// The arrays of a saved model (artifact.Weights, float64, GoMLX's
// checkpoint format) and the JSON file of its sizes and ε beside them.
const (
	WeightLogAlpha = "log_alpha" // [K]: log α_k (not normalised)
	WeightR        = "r"         // [K, D]: the means r_k
	WeightLogS     = "log_s"     // [K, D]: log of the diagonals of S_k
	ModelFile      = "model.json"
)

// The finals of Model.Score on sample files (besides FinalLoss).
const (
	FinalMeanLogC = "mean_log_c" // mean of log c_θ(x) over the source rows
	FinalMeanLogV = "mean_log_v" // mean of log v_θ(y) over the target rows
)

// modelFacts is ModelFile: what rebuilds a Model besides its arrays.
type modelFacts struct {
	Epsilon    float64 `json:"epsilon"`
	Components int     `json:"components"`
	Dim        int     `json:"dim"`
}

// Kind says what m is, with its sizes and ε.
func (m *Model) Kind() string {
	return fmt.Sprintf("LightSB Gaussian-mixture potential, K = %d, D = %d, ε = %g", m.K(), m.Dim(), m.Epsilon)
}

// weights returns m's parameters as named arrays: WeightLogAlpha,
// WeightR and WeightLogS.
func (m *Model) weights() artifact.Weights {
	k, d := m.K(), m.Dim()
	r, ls := make([]float64, 0, k*d), make([]float64, 0, k*d)
	for i := range k {
		r = append(r, m.R[i]...)
		ls = append(ls, m.LogS[i]...)
	}
	return artifact.Weights{
		WeightLogAlpha: artifact.F64(m.LogAlpha),
		WeightR:        artifact.F64(r, k, d),
		WeightLogS:     artifact.F64(ls, k, d),
	}
}

// Shapes returns the dimensions of m's arrays.
func (m *Model) Shapes() map[string][]int { return m.weights().Shapes() }

// Save writes m into dir: its arrays as a GoMLX checkpoint (package
// artifact) and ε, K and D in ModelFile. The values round-trip bit for bit.
func (m *Model) Save(dir string) error {
	if err := m.Check(); err != nil {
		return err
	}
	if err := artifact.Save(dir, m.weights()); err != nil {
		return err
	}
	return artifact.WriteFacts(dir, modelFacts{Epsilon: m.Epsilon, Components: m.K(), Dim: m.Dim()})
}

// LoadModel reads the potential Model.Save wrote into dir, checking every
// array's shape against ModelFile's K and D. The backend does not matter:
// the saved model scores and samples in plain Go float64.
func (plugin) LoadModel(dir string, _ *kernel.Manifest, _ string) (kernel.Model, error) {
	return loadModel(dir)
}

func loadModel(dir string) (*Model, error) {
	path := filepath.Join(dir, ModelFile)
	var f modelFacts
	if err := artifact.ReadFacts(dir, &f); err != nil {
		return nil, fmt.Errorf("sb: %w", err)
	}
	if f.Components < 1 || f.Dim < 1 {
		return nil, fmt.Errorf("sb: %s: components %d and dim %d, want both ≥ 1", path, f.Components, f.Dim)
	}
	w, err := artifact.Load(dir)
	if err != nil {
		return nil, err
	}
	k, d := f.Components, f.Dim
	la, err := w.Need(WeightLogAlpha, k)
	if err != nil {
		return nil, fmt.Errorf("sb: %s (%s says K = %d, D = %d)", err, ModelFile, k, d)
	}
	r, err := w.Need(WeightR, k, d)
	if err != nil {
		return nil, fmt.Errorf("sb: %s (%s says K = %d, D = %d)", err, ModelFile, k, d)
	}
	ls, err := w.Need(WeightLogS, k, d)
	if err != nil {
		return nil, fmt.Errorf("sb: %s (%s says K = %d, D = %d)", err, ModelFile, k, d)
	}
	rs, lss := r.Floats(), ls.Floats()
	m := &Model{Epsilon: f.Epsilon, LogAlpha: la.Floats()}
	for i := range k {
		m.R = append(m.R, rs[i*d:(i+1)*d:(i+1)*d])
		m.LogS = append(m.LogS, lss[i*d:(i+1)*d:(i+1)*d])
	}
	if err := m.Check(); err != nil {
		return nil, fmt.Errorf("%w (model in %s)", err, dir)
	}
	return m, nil
}

// Score measures m on job.Data, in the formats Run reads, without
// training (kernel.Scorer):
//
//   - two sample files (x0 then x1): every row scored, table "scores"
//     (side source or target, row: 0-based index in its file, score:
//     log c_θ(x) of a source row, log v_θ(y) of a target row), finals
//     mean_log_c, mean_log_v and loss = mean_log_c − mean_log_v (the
//     LightSB objective on these samples);
//   - one benchmark pair file: the finals of a run on it (loss on 4096
//     fresh draws, cbw2_uvp and its companions, kl_plan), from random
//     streams taken in Run's order, so that the run's own pair file scored
//     with its seed gives the run's own finals.
//
// ε is the model's: an epsilon param that differs is an error.
func (m *Model) Score(job *kernel.Job) error {
	if len(job.Data) == 0 {
		return job.DataCountError(dataUsage)
	}
	if eps := job.Params.Float(ParamEpsilon); eps != m.Epsilon {
		return &kernel.ModelUsageError{Plugin: job.Result.Plugin,
			Msg: fmt.Sprintf("the model was trained at ε = %v; scoring cannot change it (epsilon = %v given)", m.Epsilon, eps)}
	}
	data, err := loadMarginals(job, job.Rand())
	if err != nil {
		return err
	}
	if data.bench != nil && data.pair.Epsilon != m.Epsilon {
		return &datasets.Error{File: job.Data[0], Field: "epsilon",
			Msg: fmt.Sprintf("the pair's ε is %v but the model's is %v: score it with a model trained at ε = %v", data.pair.Epsilon, m.Epsilon, data.pair.Epsilon)}
	}
	if data.dim != m.Dim() {
		if data.bench != nil {
			return &datasets.Error{File: job.Data[0], Field: "dim",
				Msg: fmt.Sprintf("the pair is %d-dimensional, the model's D is %d", data.dim, m.Dim())}
		}
		return datasets.Errorf(job.Data[0], 1, "row", "want vectors of dimension %d (the model's D), got %d", m.Dim(), data.dim)
	}
	_ = job.Rand() // Run's training stream, unused: the evaluation draws stay the run's
	evalRand := job.Rand()
	if data.pair != nil {
		job.SetFinal(FinalLoss, m.Loss(data.src.Sample(evalDraws, evalRand), data.tgt.Sample(evalDraws, evalRand)))
		return reportTruth(job, m, data, evalRand)
	}
	t := job.AddTable("scores", "side", "row", "score")
	mean := func(side string, rows Rows, score func([]float64) float64) float64 {
		s := 0.0
		for i, x := range rows {
			v := score(x)
			t.Add(side, i, v)
			s += v
		}
		return s / float64(len(rows))
	}
	lc := mean("source", data.src.(Rows), m.LogC)
	lv := mean("target", data.tgt.(Rows), m.LogV)
	job.SetFinal(FinalMeanLogC, lc)
	job.SetFinal(FinalMeanLogV, lv)
	job.SetFinal(FinalLoss, lc-lv)
	return nil
}

// conditionsUsage is what Model.Sample reads from --x (--data).
const conditionsUsage = "1 file of conditions (--x xs.csv: one x per row, CSV or JSONL, of the model's dimension D)"

// Sample draws n samples of y | x for every row x of job.Data[0] (a
// vector file, as Run reads samples) without training (kernel.Sampler),
// into the table "samples": x_index (the row's 0-based index), x1 … xD
// (the condition) and y1 … yD (one full-dimensional draw). The sampler
// param chooses the draws: plan (exact draws of the mixture π_θ(·|x)) or
// sde (the endpoint of the learned bridge from x, sde_steps Euler–Maruyama
// steps). All draws come from the job's first random stream, in row order.
func (m *Model) Sample(job *kernel.Job, n int) error {
	if len(job.Data) != 1 {
		return job.DataCountError(conditionsUsage)
	}
	path := job.Data[0]
	xs, err := datasets.LoadVectors(path)
	if err != nil {
		return err
	}
	d := m.Dim()
	if len(xs[0]) != d {
		return datasets.Errorf(path, 1, "row", "want vectors of dimension %d (the model's D), got %d", d, len(xs[0]))
	}
	job.DataShape(0, "rows", len(xs), "dim", d)
	cols := []string{"x_index"}
	for _, v := range []string{"x", "y"} {
		for j := range d {
			cols = append(cols, v+strconv.Itoa(j+1))
		}
	}
	t := job.AddTable("samples", cols...)
	sampler, steps := job.Params.String(ParamSampler), job.Params.Int(ParamSDESteps)
	switch sampler {
	case SamplerPlan:
		job.Note("sb.light: %d exact draws of the learned plan π_θ(y|x) for each of %d x", n, len(xs))
	case SamplerSDE:
		job.Note("sb.light: %d endpoints of the learned bridge (%d Euler–Maruyama steps) for each of %d x", n, steps, len(xs))
	default:
		return fmt.Errorf("sb: unknown sampler %q (known: %v)", sampler, Samplers)
	}
	r := job.Rand()
	job.SetTotal(int64(len(xs)))
	row := make([]any, len(cols))
	for i, x := range xs {
		var ys [][]float64
		if sampler == SamplerSDE {
			ys = make([][]float64, n)
			for s := range ys {
				traj := m.SampleSDE(x, steps, r)
				ys[s] = traj[len(traj)-1]
			}
		} else {
			ys = m.SamplePlan(x, n, r)
		}
		row[0] = i
		for j, v := range x {
			row[1+j] = v
		}
		for _, y := range ys {
			for j, v := range y {
				row[1+d+j] = v
			}
			t.Add(row...)
		}
		if err := job.Step(int64(i + 1)); err != nil {
			return err
		}
	}
	if d >= 2 {
		job.AddChart(kernel.Chart{Kind: "scatter", ID: "samples", Title: "samples of y | x (first two coordinates), by x",
			Table: "samples", X: "y1", Y: "y2", Group: "x_index", Equal: true})
	}
	return nil
}
