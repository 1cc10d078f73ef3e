package plural

import (
	"fmt"
	"slices"

	"github.com/alignlab/alignlab/algos/artifact"
	"github.com/alignlab/alignlab/algos/pairloss"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// MicroTrained is what a plural.micro run trains, and saves with `run --out
// DIR`: the mixture of Bradley–Terry heads (stage 1), the router on the
// user's context (stage 2) and the single BT baseline, all on the run's
// pool of items — the models the run's own finals come from.
type MicroTrained struct {
	Mixture *MixtureModel
	Router  *Router
	BT      *BTModel
}

var (
	_ kernel.Model       = (*MicroTrained)(nil)
	_ kernel.Scorer      = (*MicroTrained)(nil)
	_ kernel.ModelLoader = microPlugin{}
)

// microModelDoc is plural.micro's Info.Model.
const microModelDoc = `Saved: the K̂ mixture heads (mixture/scores, K̂ × N: each head's reward of each item of the run's pool; mixture/theta,
K̂ × d, for base_linear heads), the global weights π (mixture/weights), the router π(x) = softmax(V x + b) (router/v,
router/b) and the single BT baseline's scores (bt/scores); model.json holds level, head and the dimensions.
score --data FILE: comparisons, one JSON object a line, {"user": 3, "chosen": 5, "rejected": 12, "context": [x_1, …, x_C]}:
chosen and rejected are indices into the run's N items (the same seed and population params make the same pool),
context is the user's C context values (required: the router reads them), user is optional and only reported.
Fills the table scores (line, user, chosen, rejected, and P(chosen ≻ rejected) under the routed mixture p_router,
the global mixture p_mixture and BT p_bt) and the finals accuracy_router, accuracy_mixture, accuracy_bt (a tie
counts ½), log_loss_router, log_loss_mixture, log_loss_bt (mean −log P) and comparisons. The run's held-out
comparisons score to its own accuracy_router, accuracy_mixture and accuracy_bt.`

// microFacts is the model.json of plural.micro.
type microFacts struct {
	Plugin     string `json:"plugin"`
	Level      string `json:"level"`
	Head       string `json:"head"`
	Heads      int    `json:"heads"`
	Items      int    `json:"items"`
	Dim        int    `json:"dim,omitempty"` // θ's dimension (base_linear heads)
	ContextDim int    `json:"context_dim"`
}

func (m *MicroTrained) facts() microFacts {
	f := microFacts{Plugin: MicroID, Level: m.Mixture.Level, Head: m.Mixture.Head, Heads: len(m.Mixture.Scores),
		Items: len(m.BT.Scores), ContextDim: len(m.Router.B)}
	if len(m.Router.V) > 0 {
		f.ContextDim = len(m.Router.V[0])
	}
	if len(m.Mixture.Theta) > 0 {
		f.Dim = len(m.Mixture.Theta[0])
	}
	return f
}

// Kind says what the model is, with its sizes.
func (m *MicroTrained) Kind() string {
	f := m.facts()
	return fmt.Sprintf("MiCRo mixture of %d Bradley–Terry heads (%s, level %s) on %d items, router on %d-D contexts",
		f.Heads, f.Head, f.Level, f.Items, f.ContextDim)
}

func (m *MicroTrained) weights() artifact.Weights {
	f := m.facts()
	w := artifact.Weights{
		"mixture/scores":  rowsTensor(m.Mixture.Scores, f.Items),
		"mixture/weights": artifact.F64(m.Mixture.Weights),
		"mixture/loss":    artifact.Scalar(m.Mixture.Loss),
		"router/v":        rowsTensor(m.Router.V, f.ContextDim),
		"router/b":        artifact.F64(m.Router.B),
		"bt/scores":       artifact.F64(m.BT.Scores),
	}
	if f.Dim > 0 {
		w["mixture/theta"] = rowsTensor(m.Mixture.Theta, f.Dim)
	}
	return w
}

// Shapes lists the saved arrays and their dimensions.
func (m *MicroTrained) Shapes() map[string][]int { return m.weights().Shapes() }

// Save writes the arrays (GoMLX checkpoint, artifact.Save) and model.json
// into dir.
func (m *MicroTrained) Save(dir string) error {
	if err := artifact.Save(dir, m.weights()); err != nil {
		return err
	}
	return writeFacts(dir, m.facts())
}

// LoadModel reads a model MicroTrained.Save wrote into dir.
func (microPlugin) LoadModel(dir string, _ *kernel.Manifest, _ string) (kernel.Model, error) {
	var f microFacts
	if err := readFacts(dir, MicroID, &f, &f.Plugin); err != nil {
		return nil, err
	}
	switch {
	case !slices.Contains(MixtureLevels, f.Level) || !slices.Contains(MixtureHeads, f.Head):
		return nil, fmt.Errorf("plural: %s/%s: level %q and head %q, want one of %v and of %v", dir, modelFile, f.Level, f.Head, MixtureLevels, MixtureHeads)
	case f.Heads < 1 || f.Items < 2 || f.ContextDim < 1 || f.Dim < 0 || (f.Head == HeadBaseLinear) != (f.Dim > 0):
		return nil, fmt.Errorf("plural: %s/%s: heads %d, items %d, context_dim %d, dim %d: want heads ≥ 1, items ≥ 2, context_dim ≥ 1, and dim ≥ 1 exactly for %s heads",
			dir, modelFile, f.Heads, f.Items, f.ContextDim, f.Dim, HeadBaseLinear)
	}
	w, err := artifact.Load(dir)
	if err != nil {
		return nil, err
	}
	mix := &MixtureModel{Level: f.Level, Head: f.Head}
	rt := &Router{}
	bt := &BTModel{}
	if mix.Scores, err = needRows(dir, w, "mixture/scores", f.Heads, f.Items); err != nil {
		return nil, err
	}
	if mix.Weights, err = needVector(dir, w, "mixture/weights", f.Heads); err != nil {
		return nil, err
	}
	if mix.Loss, err = needScalar(dir, w, "mixture/loss"); err != nil {
		return nil, err
	}
	if f.Dim > 0 {
		if mix.Theta, err = needRows(dir, w, "mixture/theta", f.Heads, f.Dim); err != nil {
			return nil, err
		}
	}
	if rt.V, err = needRows(dir, w, "router/v", f.Heads, f.ContextDim); err != nil {
		return nil, err
	}
	if rt.B, err = needVector(dir, w, "router/b", f.Heads); err != nil {
		return nil, err
	}
	if bt.Scores, err = needVector(dir, w, "bt/scores", f.Items); err != nil {
		return nil, err
	}
	return &MicroTrained{Mixture: mix, Router: rt, BT: bt}, nil
}

// Score scores the comparisons of job.Data[0] (see microModelDoc) under the
// routed mixture, the global mixture and the BT baseline, without training.
func (m *MicroTrained) Score(job *kernel.Job) error {
	if len(job.Data) != 1 {
		return job.DataCountError("1 file, --data comparisons.jsonl (user, chosen, rejected, context)")
	}
	path := job.Data[0]
	rows, err := readScoreRows(path, scoreFormat{fields: []string{fieldUser, fieldChosen, fieldRejected, fieldContext}})
	if err != nil {
		return err
	}
	f := m.facts()
	for _, r := range rows {
		if err := checkPair(path, r, f.Items, 0); err != nil {
			return err
		}
		if r.context == nil {
			return datasets.Errorf(path, r.line, fieldContext, "missing: the router needs the user's %d context values", f.ContextDim)
		}
		if len(r.context) != f.ContextDim {
			return datasets.Errorf(path, r.line, fieldContext, "want %d values (the router's context dimension), got %d", f.ContextDim, len(r.context))
		}
	}
	tab := job.AddTable("scores", "line", "user", "chosen", "rejected", "p_router", "p_mixture", "p_bt")
	var router, mixture, bt pairStats
	for _, r := range rows {
		a, b := r.chosen.index, r.rejected.index
		w := m.Router.Weights(r.context)
		pr, pm, pb := m.Mixture.ProbWith(w, a, b), m.Mixture.Prob(a, b), m.BT.Prob(a, b)
		router.add(pr, mixtureNLL(w, m.Mixture.Scores, a, b))
		mixture.add(pm, mixtureNLL(m.Mixture.Weights, m.Mixture.Scores, a, b))
		bt.add(pb, pairloss.SoftplusNegFloat64(m.BT.Scores[a]-m.BT.Scores[b]))
		tab.Add(r.line, userCell(r.user), a, b, pr, pm, pb)
	}
	router.set(job.SetFinal, "accuracy_router", "log_loss_router")
	mixture.set(job.SetFinal, "accuracy_mixture", "log_loss_mixture")
	bt.set(job.SetFinal, "accuracy_bt", "log_loss_bt")
	job.SetFinal("comparisons", float64(len(rows)))
	job.DataShape(0, "comparisons", len(rows), "users", distinctUsers(rows), "context_dim", f.ContextDim)
	return nil
}

// userCell is a table cell for a row's user: nil when the row names none.
func userCell(u int) any {
	if u < 0 {
		return nil
	}
	return u
}
