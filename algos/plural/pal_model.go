package plural

import (
	"fmt"

	"github.com/alignlab/alignlab/algos/artifact"
	"github.com/alignlab/alignlab/algos/pairloss"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// PALTrained is what a plural.pal run trains, and saves with `run --out
// DIR`: the PAL-A model fitted to the training users (their logits; the
// users held out for the few-shot stage have none), the features of the
// run's item pool (which the item map embeds, and a few-shot fit reads),
// and the single BT baseline — the models the run's accuracy and
// bt_accuracy come from.
type PALTrained struct {
	PAL   *PALModel
	Items [][]float64 // φ_i of the run's pool, N × d
	BT    *BTModel
}

var (
	_ kernel.Model       = (*PALTrained)(nil)
	_ kernel.Scorer      = (*PALTrained)(nil)
	_ kernel.ModelLoader = palPlugin{}
)

// palModelDoc is plural.pal's Info.Model.
const palModelDoc = `Saved: the item map W (pal/map, m̂ × d), the K̂ prototypes (pal/prototypes, K̂ × m̂), every user's logits z_u
(pal/logits, U × K̂; pal/trained marks the users PAL was fitted to, 1, and those held out for the few-shot stage, 0),
the features of the run's N items (items, N × d) and the single BT baseline's scores (bt/scores); model.json holds
the dimensions.
score --data FILE: comparisons, one JSON object a line, {"user": 3, "chosen": 5, "rejected": 12} or with "fit": true:
user is the user's index (the run's users are 0 … U−1; a larger index is a new user), chosen and rejected are
indices into the run's N items (the same seed and population params make the same pool). Rows with "fit": true
are not scored: the weights of their users are fitted to them first (FitUsers: W and the prototypes frozen,
few_shot_steps, few_shot_learning_rate, few_shot_prior), replacing any saved ones. A user neither trained on nor
fitted is scored with uniform weights (noted). Fills the tables scores (line, user, status trained|few-shot|new,
chosen, rejected, p_pal and p_bt: P(chosen ≻ rejected)) and users (user, status, comparisons, accuracy,
bt_accuracy), and the finals accuracy, log_loss (mean −log P), bt_accuracy, bt_log_loss, accuracy_trained,
accuracy_few_shot, accuracy_new (those with comparisons), user_mean_accuracy and user_accuracy_se (the mean of the
users' accuracies, and its standard error), comparisons, users, fitted_comparisons. The run's held-out comparisons
of its training users score to its own accuracy and bt_accuracy; those of its held-out users, with their first n
training comparisons as fit rows, to its few_shot_accuracy_<n> and few_shot_se_<n> (user_mean_accuracy, user_accuracy_se).`

// palFacts is the model.json of plural.pal.
type palFacts struct {
	Plugin     string `json:"plugin"`
	Prototypes int    `json:"prototypes"` // K̂
	Latent     int    `json:"latent"`     // m̂
	Dim        int    `json:"dim"`        // d
	Items      int    `json:"items"`      // N
	Users      int    `json:"users"`      // U
}

func (m *PALTrained) facts() palFacts {
	return palFacts{Plugin: PALID, Prototypes: len(m.PAL.Prototypes), Latent: len(m.PAL.Map), Dim: len(m.Items[0]),
		Items: len(m.Items), Users: len(m.PAL.Logits)}
}

// trained returns the number of users with logits.
func (m *PALTrained) trained() int {
	n := 0
	for _, z := range m.PAL.Logits {
		if z != nil {
			n++
		}
	}
	return n
}

// Kind says what the model is, with its sizes.
func (m *PALTrained) Kind() string {
	f := m.facts()
	return fmt.Sprintf("PAL-A ideal points: %d prototypes in %d-D, item map from %d features, %d items, %d of %d users trained",
		f.Prototypes, f.Latent, f.Dim, f.Items, m.trained(), f.Users)
}

func (m *PALTrained) weights() artifact.Weights {
	f := m.facts()
	logits := make([]float64, 0, f.Users*f.Prototypes)
	trained := make([]float64, f.Users)
	for u, z := range m.PAL.Logits {
		if z == nil {
			logits = append(logits, make([]float64, f.Prototypes)...)
			continue
		}
		logits = append(logits, z...)
		trained[u] = 1
	}
	return artifact.Weights{
		"pal/map":        rowsTensor(m.PAL.Map, f.Dim),
		"pal/prototypes": rowsTensor(m.PAL.Prototypes, f.Latent),
		"pal/logits":     artifact.F64(logits, f.Users, f.Prototypes),
		"pal/trained":    artifact.F64(trained),
		"items":          rowsTensor(m.Items, f.Dim),
		"bt/scores":      artifact.F64(m.BT.Scores),
	}
}

// Shapes lists the saved arrays and their dimensions.
func (m *PALTrained) Shapes() map[string][]int { return m.weights().Shapes() }

// Save writes the arrays (GoMLX checkpoint, artifact.Save) and model.json
// into dir.
func (m *PALTrained) Save(dir string) error {
	if err := artifact.Save(dir, m.weights()); err != nil {
		return err
	}
	return writeFacts(dir, m.facts())
}

// LoadModel reads a model PALTrained.Save wrote into dir.
func (palPlugin) LoadModel(dir string, _ *kernel.Manifest, _ string) (kernel.Model, error) {
	var f palFacts
	if err := readFacts(dir, PALID, &f, &f.Plugin); err != nil {
		return nil, err
	}
	if f.Prototypes < 1 || f.Latent < 1 || f.Dim < 1 || f.Items < 2 || f.Users < 1 {
		return nil, fmt.Errorf("plural: %s/%s: prototypes %d, latent %d, dim %d, items %d, users %d: want each ≥ 1 (items ≥ 2)",
			dir, modelFile, f.Prototypes, f.Latent, f.Dim, f.Items, f.Users)
	}
	w, err := artifact.Load(dir)
	if err != nil {
		return nil, err
	}
	pal := &PALModel{}
	m := &PALTrained{PAL: pal, BT: &BTModel{}}
	if pal.Map, err = needRows(dir, w, "pal/map", f.Latent, f.Dim); err != nil {
		return nil, err
	}
	if pal.Prototypes, err = needRows(dir, w, "pal/prototypes", f.Prototypes, f.Latent); err != nil {
		return nil, err
	}
	logits, err := needRows(dir, w, "pal/logits", f.Users, f.Prototypes)
	if err != nil {
		return nil, err
	}
	trained, err := needVector(dir, w, "pal/trained", f.Users)
	if err != nil {
		return nil, err
	}
	pal.Logits = make([][]float64, f.Users)
	for u, t := range trained {
		switch t {
		case 1:
			pal.Logits[u] = logits[u]
		case 0:
		default:
			return nil, fmt.Errorf("plural: %s: array \"pal/trained\" holds %v for user %d, want 0 or 1", dir, t, u)
		}
	}
	if m.Items, err = needRows(dir, w, "items", f.Items, f.Dim); err != nil {
		return nil, err
	}
	if m.BT.Scores, err = needVector(dir, w, "bt/scores", f.Items); err != nil {
		return nil, err
	}
	pal.embed(&Population{Items: m.Items})
	return m, nil
}

// The statuses of a scored user of plural.pal.
const (
	palTrained = "trained"  // PAL was fitted to the user's comparisons
	palFewShot = "few-shot" // the user's weights were fitted to the file's fit rows
	palNew     = "new"      // neither: uniform weights
)

// Score scores the comparisons of job.Data[0] (see palModelDoc), fitting
// the weights of the users of its fit rows first.
func (m *PALTrained) Score(job *kernel.Job) error {
	if len(job.Data) != 1 {
		return job.DataCountError("1 file, --data comparisons.jsonl (user, chosen, rejected, fit)")
	}
	path := job.Data[0]
	rows, err := readScoreRows(path, scoreFormat{fields: []string{fieldUser, fieldChosen, fieldRejected, fieldFit}})
	if err != nil {
		return err
	}
	f := m.facts()
	// Users beyond the run's are numbered on from U in order of first
	// appearance (whatever their index in the file), origin maps back.
	origin := map[int]int{}
	inner := map[int]int{}
	user := func(u int) int {
		if u < f.Users {
			return u
		}
		i, ok := inner[u]
		if !ok {
			i = f.Users + len(inner)
			inner[u], origin[i] = i, u
		}
		return i
	}
	shown := func(u int) int {
		if o, ok := origin[u]; ok {
			return o
		}
		return u
	}
	var fitCmps, cmps []Comparison
	var lines []int
	for _, r := range rows {
		if err := checkPair(path, r, f.Items, 0); err != nil {
			return err
		}
		if r.user < 0 {
			return datasets.Errorf(path, r.line, fieldUser, "missing: want the user's index (the run's users are 0 … %d; a larger index is a new user)", f.Users-1)
		}
		c := Comparison{User: user(r.user), A: r.chosen.index, B: r.rejected.index, AWins: true}
		if r.fit {
			fitCmps = append(fitCmps, c)
		} else {
			cmps = append(cmps, c)
			lines = append(lines, r.line)
		}
	}
	if len(cmps) == 0 {
		return datasets.Errorf(path, 0, fieldFit, "every row is a fit row: want at least one comparison to score")
	}
	pal := m.PAL
	status := func(u int) string {
		if u < len(m.PAL.Logits) && m.PAL.Logits[u] != nil {
			return palTrained
		}
		return palNew
	}
	if len(fitCmps) > 0 {
		few := DefaultFewShotConfig()
		few.Steps, few.LearningRate, few.Prior, few.Backend = job.Params.Int(PALParamFewSteps), job.Params.Float(PALParamFewLR), job.Params.Float(PALParamFewPrior), job.Backend
		if pal, err = m.PAL.FitUsers(job.Context(), &Population{Items: m.Items, Users: make([]User, f.Users+len(inner))}, fitCmps, few, nil); err != nil {
			return err
		}
		fitted := map[int]bool{}
		for _, c := range fitCmps {
			fitted[c.User] = true
		}
		saved := status
		status = func(u int) string {
			if fitted[u] {
				return palFewShot
			}
			return saved(u)
		}
	}

	prob := func(c Comparison) float64 { return pal.Prob(c.User, c.A, c.B) }
	tab := job.AddTable("scores", "line", "user", "status", "chosen", "rejected", "p_pal", "p_bt")
	var all, bt pairStats
	by := map[string]*pairStats{palTrained: {}, palFewShot: {}, palNew: {}}
	type userStats struct{ pal, bt pairStats }
	perUser := map[int]*userStats{}
	var order []int
	newRows := 0
	for i, c := range cmps {
		ideal := pal.IdealPoint(c.User)
		h := palSqDist(pal.Embedded[c.B], ideal) - palSqDist(pal.Embedded[c.A], ideal)
		p, pb := pairloss.Sigmoid(h), m.BT.Prob(c.A, c.B)
		nll, nllBT := pairloss.SoftplusNegFloat64(h), pairloss.SoftplusNegFloat64(m.BT.Scores[c.A]-m.BT.Scores[c.B])
		st := status(c.User)
		all.add(p, nll)
		bt.add(pb, nllBT)
		by[st].add(p, nll)
		us := perUser[c.User]
		if us == nil {
			us = &userStats{}
			perUser[c.User] = us
			order = append(order, c.User)
		}
		us.pal.add(p, nll)
		us.bt.add(pb, nllBT)
		if st == palNew {
			newRows++
		}
		tab.Add(lines[i], shown(c.User), st, c.A, c.B, p, pb)
	}
	utab := job.AddTable("users", "user", "status", "comparisons", "accuracy", "bt_accuracy")
	for _, u := range order {
		us := perUser[u]
		utab.Add(shown(u), status(u), us.pal.n, us.pal.agree/float64(us.pal.n), us.bt.agree/float64(us.bt.n))
	}
	all.set(job.SetFinal, "accuracy", "log_loss")
	bt.set(job.SetFinal, "bt_accuracy", "bt_log_loss")
	for st, name := range map[string]string{palTrained: "trained", palFewShot: "few_shot", palNew: "new"} {
		if s := by[st]; s.n > 0 {
			job.SetFinal("accuracy_"+name, s.agree/float64(s.n))
		}
	}
	mean, se := palPerUserAccuracy(cmps, prob)
	job.SetFinal("user_mean_accuracy", mean)
	if len(order) > 1 {
		job.SetFinal("user_accuracy_se", se)
	}
	job.SetFinal("comparisons", float64(len(cmps)))
	job.SetFinal("users", float64(len(order)))
	job.SetFinal("fitted_comparisons", float64(len(fitCmps)))
	if newRows > 0 {
		job.Note("%d comparisons of users the model has not seen are scored with uniform weights on the prototypes; "+
			"rows of theirs with \"fit\": true fit their weights first", newRows)
	}
	job.DataShape(0, "comparisons", len(cmps), "fit_comparisons", len(fitCmps), "users", distinctUsers(rows))
	return nil
}
