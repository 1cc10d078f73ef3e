package nash

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/alignlab/alignlab/algos/artifact"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// TableIterates is the table, of every plugin that trains a policy, of
// every prompt's final and average policy: prompt, action, final, average.
const TableIterates = "iterates"

// TablePolicyScores is the table score fills: prompt, policy ("final" or
// "average"), exploitability, duality_gap, l1_nash, winrate_ref and, for
// nash.inpo, l1_tau_nash.
const TablePolicyScores = "policy_scores"

// MetricDualityGap is max_y P(y ≻ π) − min_y P(π ≻ y) = 2·exploitability,
// a final of score (mean over prompts).
const MetricDualityGap = "duality_gap"

// ModelFile is the JSON file, beside the arrays, of a saved PolicyModel:
// the plugin, the action and prompt names and the KL coefficient.
const ModelFile = "model.json"

// The policies a PolicyModel holds, as named in its arrays, its tables
// and the "policy" column of score and sample.
const (
	PolicyFinal   = "final"
	PolicyAverage = "average"
)

// trainers lists the plugins that save a PolicyModel.
var trainers = []string{IDINPO, IDDNO, IDMWU, IDBTRLHF}

var (
	_ kernel.Model       = (*PolicyModel)(nil)
	_ kernel.Scorer      = (*PolicyModel)(nil)
	_ kernel.Sampler     = (*PolicyModel)(nil)
	_ kernel.ModelLoader = inpoPlugin{}
	_ kernel.ModelLoader = dnoPlugin{}
	_ kernel.ModelLoader = mwuPlugin{}
	_ kernel.ModelLoader = btPlugin{}
)

// PolicyModel is what nash.inpo, nash.dno, nash.mwu and nash.bt_rlhf save:
// every prompt's final (last-iterate) and average policy over the game's
// actions, as probabilities. Its arrays are "final" and "average" (and
// "ref" for a KL-regularised method), prompts × actions, row-major.
type PolicyModel struct {
	Plugin  string   // the plugin that trained it
	Actions []string // the game's action names
	Prompts []string // the game's prompt names
	// Final is π_T(·|x) and Average is (π_0 + … + π_T)/(T+1), one
	// distribution over the actions per prompt.
	Final, Average [][]float64
	// KL is the coefficient of the KL regularisation towards Ref: τ for
	// nash.inpo, β for nash.bt_rlhf; 0, with Ref nil, for nash.dno and
	// nash.mwu, which have no pull towards π_ref.
	KL  float64
	Ref [][]float64
}

// modelFile is ModelFile's content.
type modelFile struct {
	Plugin  string   `json:"plugin"`
	Actions []string `json:"actions"`
	Prompts []string `json:"prompts"`
	KL      float64  `json:"kl,omitempty"`
}

// klName is the name of the plugin's KL coefficient.
func klName(plugin string) string {
	if plugin == IDBTRLHF {
		return "β"
	}
	return "τ"
}

// Kind says whose policies these are and their size.
func (m *PolicyModel) Kind() string {
	s := fmt.Sprintf("%s policies (final and average), %s × %s", m.Plugin, count(len(m.Prompts), "prompt"), count(len(m.Actions), "action"))
	if m.Ref != nil {
		s += fmt.Sprintf(", %s = %g", klName(m.Plugin), m.KL)
	}
	return s
}

func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func (m *PolicyModel) weights() artifact.Weights {
	x, k := len(m.Prompts), len(m.Actions)
	w := artifact.Weights{
		PolicyFinal:   artifact.F64(slices.Concat(m.Final...), x, k),
		PolicyAverage: artifact.F64(slices.Concat(m.Average...), x, k),
	}
	if m.Ref != nil {
		w["ref"] = artifact.F64(slices.Concat(m.Ref...), x, k)
	}
	return w
}

// Shapes lists the arrays: final, average (and ref), prompts × actions.
func (m *PolicyModel) Shapes() map[string][]int { return m.weights().Shapes() }

// Save writes the arrays in GoMLX's checkpoint format and ModelFile.
func (m *PolicyModel) Save(dir string) error {
	if err := artifact.Save(dir, m.weights()); err != nil {
		return err
	}
	return artifact.WriteFacts(dir, modelFile{Plugin: m.Plugin, Actions: m.Actions, Prompts: m.Prompts, KL: m.KL})
}

// loadPolicyModel reads the PolicyModel plugin saved in dir.
func loadPolicyModel(plugin, dir string) (*PolicyModel, error) {
	path := filepath.Join(dir, ModelFile)
	var f modelFile
	if err := artifact.ReadFacts(dir, &f); err != nil {
		return nil, fmt.Errorf("nash: %w", err)
	}
	switch {
	case f.Plugin != plugin:
		return nil, fmt.Errorf("nash: %s: plugin %q, but the manifest says %s", path, f.Plugin, plugin)
	case len(f.Actions) < 2 || len(f.Prompts) < 1:
		return nil, fmt.Errorf("nash: %s: want at least 2 actions and 1 prompt, got %d and %d", path, len(f.Actions), len(f.Prompts))
	}
	regularised := plugin == IDINPO || plugin == IDBTRLHF
	if regularised && !(f.KL > 0) {
		return nil, fmt.Errorf("nash: %s: kl: want the %s of %s (> 0), got %g", path, klName(plugin), plugin, f.KL)
	}
	w, err := artifact.Load(dir)
	if err != nil {
		return nil, err
	}
	m := &PolicyModel{Plugin: plugin, Actions: f.Actions, Prompts: f.Prompts}
	x, k := len(f.Prompts), len(f.Actions)
	read := func(name string) ([][]float64, error) {
		t, err := w.Need(name, x, k)
		if err != nil {
			return nil, fmt.Errorf("nash: %w (%s: %d prompts × %d actions)", err, ModelFile, x, k)
		}
		v := t.Floats()
		rows := make([][]float64, x)
		for p := range rows {
			rows[p] = v[p*k : (p+1)*k : (p+1)*k]
			if err := checkDistribution(rows[p]); err != nil {
				return nil, fmt.Errorf("nash: saved model: array %q, prompt %s: %w", name, f.Prompts[p], err)
			}
		}
		return rows, nil
	}
	if m.Final, err = read(PolicyFinal); err != nil {
		return nil, err
	}
	if m.Average, err = read(PolicyAverage); err != nil {
		return nil, err
	}
	if regularised {
		m.KL = f.KL
		if m.Ref, err = read("ref"); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// distributionTolerance bounds |Σπ − 1| of a saved policy.
const distributionTolerance = 1e-9

func checkDistribution(pi []float64) error {
	var s float64
	for i, v := range pi {
		if !(v >= 0 && v <= 1) {
			return fmt.Errorf("probability %v of action %d is not in [0, 1]", v, i)
		}
		s += v
	}
	if math.Abs(s-1) > distributionTolerance {
		return fmt.Errorf("probabilities sum to %v, want 1", s)
	}
	return nil
}

// LoadModel reads a model nash.inpo saved.
func (inpoPlugin) LoadModel(dir string, _ *kernel.Manifest, _ string) (kernel.Model, error) {
	return loadPolicyModel(IDINPO, dir)
}

// LoadModel reads a model nash.dno saved.
func (dnoPlugin) LoadModel(dir string, _ *kernel.Manifest, _ string) (kernel.Model, error) {
	return loadPolicyModel(IDDNO, dir)
}

// LoadModel reads a model nash.mwu saved.
func (mwuPlugin) LoadModel(dir string, _ *kernel.Manifest, _ string) (kernel.Model, error) {
	return loadPolicyModel(IDMWU, dir)
}

// LoadModel reads a model nash.bt_rlhf saved.
func (btPlugin) LoadModel(dir string, _ *kernel.Manifest, _ string) (kernel.Model, error) {
	return loadPolicyModel(IDBTRLHF, dir)
}

// mismatch says how g's shape differs from the model's ("" if it does not)
// and which field of a game file holds the difference.
func (m *PolicyModel) mismatch(g *datasets.Game) (field, msg string) {
	switch {
	case g.K() != len(m.Actions):
		field = "actions"
	case len(g.Prompts) != len(m.Prompts):
		field = "prompts"
	default:
		return "", ""
	}
	return field, fmt.Sprintf("the game has %s × %s, the model %s × %s",
		count(len(g.Prompts), "prompt"), count(g.K(), "action"), count(len(m.Prompts), "prompt"), count(len(m.Actions), "action"))
}

// noteNames notes action or prompt names of g that differ from the
// model's: the policies apply by position.
func (m *PolicyModel) noteNames(job *kernel.Job, g *datasets.Game) {
	if !slices.Equal(g.Actions, m.Actions) {
		job.Note("the game's actions %s differ from the model's %s: its policies apply by position", strings.Join(g.Actions, ", "), strings.Join(m.Actions, ", "))
	}
	names := make([]string, len(g.Prompts))
	for x, pr := range g.Prompts {
		names[x] = pr.Name
	}
	if !slices.Equal(names, m.Prompts) {
		job.Note("the game's prompts %s differ from the model's %s: its policies apply by position", strings.Join(names, ", "), strings.Join(m.Prompts, ", "))
	}
}

// readGame reads the game in job.Data[0], records its shape and checks it
// is the model's.
func (m *PolicyModel) readGame(job *kernel.Job) (*datasets.Game, error) {
	path := job.Data[0]
	g, err := datasets.LoadGame(path)
	if err != nil {
		return nil, err
	}
	job.DataShape(0, "actions", g.K(), "prompts", len(g.Prompts), "features", g.NumFeatures())
	if field, msg := m.mismatch(g); msg != "" {
		return nil, datasets.Errorf(path, 0, field, "%s", msg)
	}
	return g, nil
}

// Score measures the final and the average policy on the game in
// job.Data (one file of the model's shape, in the format the plugin
// reads): finals exploitability, duality_gap, l1_nash, winrate_ref
// (against the file's π_ref) and, for nash.inpo, l1_tau_nash (at the param
// tau), means over prompts, each also with suffix _avg for the average
// policy; and TablePolicyScores, per prompt and policy. It trains nothing.
func (m *PolicyModel) Score(job *kernel.Job) error {
	if len(job.Data) != 1 {
		return job.DataCountError("1 file (a game of the model's " + count(len(m.Prompts), "prompt") + " × " + count(len(m.Actions), "action") + ")")
	}
	g, err := m.readGame(job)
	if err != nil {
		return err
	}
	m.noteNames(job, g)
	tau := 0.0
	if m.Plugin == IDINPO {
		tau = job.Params.Float(ParamTau)
	}
	ev, err := newEvaluator(g, tau)
	if err != nil {
		return err
	}
	cols := []string{"prompt", "policy", MetricExploitability, MetricDualityGap, MetricL1Nash, MetricWinRateRef}
	if tau > 0 {
		cols = append(cols, MetricL1TauNash)
	}
	t := job.AddTable(TablePolicyScores, cols...)
	for _, pol := range []struct {
		name, suffix string
		pi           [][]float64
	}{{PolicyFinal, "", m.Final}, {PolicyAverage, "_avg", m.Average}} {
		mt := ev.eval(pol.pi, nil)
		setFinal(job, pol.suffix, mt)
		job.SetFinal(MetricDualityGap+pol.suffix, 2*mt.Exploitability)
		for x, pr := range g.Prompts {
			p := pr.P
			e := Exploitability(p, pol.pi[x])
			row := []any{pr.Name, pol.name, e, 2 * e, L1(pol.pi[x], ev.nash[x]), WinRate(p, pol.pi[x], ev.ref[x])}
			if tau > 0 {
				row = append(row, L1(pol.pi[x], ev.tauNash[x]))
			}
			t.Add(row...)
		}
	}
	return nil
}

// Sample draws n actions for every prompt from the final and from the
// average policy, into the table "samples" (prompt, policy, action), from
// the job's seeded stream. The prompts are the model's; a game file in
// job.Data is optional and, if given, must have the model's shape.
func (m *PolicyModel) Sample(job *kernel.Job, n int) error {
	switch len(job.Data) {
	case 0:
	case 1:
		g, err := m.readGame(job)
		if err != nil {
			return err
		}
		m.noteNames(job, g)
	default:
		return job.DataCountError("at most 1 file (a game of the model's shape; the prompts are the model's)")
	}
	rng := job.Rand()
	t := job.AddTable("samples", "prompt", "policy", "action")
	for x, pr := range m.Prompts {
		for _, pol := range []struct {
			name string
			pi   []float64
		}{{PolicyFinal, m.Final[x]}, {PolicyAverage, m.Average[x]}} {
			for range n {
				t.Add(pr, pol.name, m.Actions[sample(rng, pol.pi)])
			}
		}
	}
	return nil
}

// finishModel adds TableIterates (every prompt's final and average policy)
// and hands the model back to the job. kl > 0 saves π_ref with it.
func finishModel(job *kernel.Job, plugin string, ev *evaluator, last, avg [][]float64, kl float64) {
	g := ev.game
	t := job.AddTable(TableIterates, "prompt", "action", PolicyFinal, PolicyAverage)
	m := &PolicyModel{Plugin: plugin, Actions: slices.Clone(g.Actions), Final: last, Average: avg}
	for x, pr := range g.Prompts {
		m.Prompts = append(m.Prompts, pr.Name)
		for i, a := range g.Actions {
			t.Add(pr.Name, a, last[x][i], avg[x][i])
		}
	}
	if kl > 0 {
		m.KL, m.Ref = kl, ev.ref
	}
	job.SetModel(m)
}

// startPolicy returns the policy a run of plugin starts from: the final
// policy of the saved model it was given (job.InitModel), which must have
// g's shape, or nil (start from π_ref).
func startPolicy(job *kernel.Job, plugin string, g *datasets.Game) ([][]float64, error) {
	init := job.InitModel()
	if init == nil {
		return nil, nil
	}
	m, ok := init.(*PolicyModel)
	if !ok {
		return nil, &kernel.ModelUsageError{Plugin: plugin, Msg: fmt.Sprintf("--model: %s, want a nash policy model (saved by %s)", init.Kind(), strings.Join(trainers, ", "))}
	}
	if _, msg := m.mismatch(g); msg != "" {
		return nil, &kernel.ModelUsageError{Plugin: plugin, Msg: "--model: " + msg + ": start from a model of the same game"}
	}
	m.noteNames(job, g)
	job.Note("π_0 is the final policy of the saved %s model, not π_ref", m.Plugin)
	return m.Final, nil
}

// modelDoc is the Info.Model text of a plugin that saves a PolicyModel;
// saved names what it keeps besides the two policies, metric what score
// measures besides the common metrics.
func modelDoc(saved, metric string) string {
	return `Saves every prompt's final (last-iterate) and average policy` + saved + ` (model/weights in
GoMLX's checkpoint format, model/model.json: plugin, action and prompt names); the run's table
iterates (prompt, action, final, average) holds the same numbers.
score --data GAME (a game file of the model's prompts × actions) measures both policies on it,
training nothing: finals exploitability, duality_gap (= 2·exploitability), l1_nash` + metric + `
and winrate_ref (against the file's π_ref), means over prompts, each also _avg for the average
policy; table policy_scores (prompt, policy, the same metrics per prompt). A game of another
shape is an error naming the file and field.
sample draws n actions per prompt from each policy into table samples (prompt, policy, action);
--data GAME is optional there (checked against the model's shape).`
}

// initDoc is the Info.Init text of the plugins that can start from a
// saved PolicyModel.
const initDoc = `π_0 is the saved model's final policy instead of π_ref (any nash policy model whose prompts ×
actions match the game; names that differ are noted). mode=sampled starts the tabular logits
there; policy=loglinear cannot start from a model (it saves probabilities, not θ).`
