package plural

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/alignlab/alignlab/algos/artifact"
	"github.com/alignlab/alignlab/algos/pairloss"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// RLBFFTrained is what a plural.rlbff run trains, and saves with `run --out
// DIR`: the principle-conditioned reward model (one logistic head per
// principle on the item features), the features of the run's item pool
// and the single BT baseline — the models the run's finals come from.
type RLBFFTrained struct {
	RLBFF *RLBFFModel
	Items [][]float64 // φ_i of the run's pool, N × d
	BT    *BTModel
}

var (
	_ kernel.Model       = (*RLBFFTrained)(nil)
	_ kernel.Scorer      = (*RLBFFTrained)(nil)
	_ kernel.ModelLoader = rlbffPlugin{}
)

// rlbffModelDoc is plural.rlbff's Info.Model.
const rlbffModelDoc = `Saved: the J principle heads ĥ_j(φ) = w_j·φ + β_j (rlbff/weights, J × d; rlbff/biases, J), the features of the
run's N items (items, N × d) and the single BT baseline's scores (bt/scores); model.json holds the dimensions.
score --data FILE: one JSON object a line, each a principle judgment {"item": 5, "principle": 2, "yes": true} or a
comparison {"chosen": 5, "rejected": 12, "weighting": 1} (or "weights": [c_1, …, c_J], the row's own principle
weights, normalised to sum 1; neither: weighting 0, the population's). An item is an index into the run's N items
(the same seed and params make the same pool) or its d features, [φ_1, …, φ_d]. weighting indexes the weightings
param (the run's, unless score sets it: steering without refitting); compose applies too. Fills the tables judgments (line, item,
principle, yes, p_yes = σ(ĥ)) and comparisons (line, weighting, chosen, rejected, their composed rewards, p =
σ(R̂(chosen) − R̂(rejected)), p_bt: BT's, for pool items only) and the finals judgment_accuracy,
judgment_log_loss, judgment_accuracy_p<j>, accuracy, log_loss, bt_accuracy, bt_log_loss, accuracy_<weighting> and
bt_accuracy_<weighting> (population, w1, …), judgments, comparisons. The run's held-out judgments and comparisons
(weighting: each comparison's weighting) score to its own judgment_accuracy, accuracy, bt_accuracy and
accuracy_<weighting>.`

// rlbffInitDoc is plural.rlbff's Info.Init.
const rlbffInitDoc = `The saved principle heads (W, β) start the principle model's fit instead of zeros; the run's principles and dim
must be the model's. The BT baseline and the smaller fits of the matched-data curve start from scratch.`

// rlbffFacts is the model.json of plural.rlbff.
type rlbffFacts struct {
	Plugin     string `json:"plugin"`
	Principles int    `json:"principles"` // J
	Dim        int    `json:"dim"`        // d
	Items      int    `json:"items"`      // N
}

func (m *RLBFFTrained) facts() rlbffFacts {
	return rlbffFacts{Plugin: RLBFFID, Principles: len(m.RLBFF.W), Dim: len(m.Items[0]), Items: len(m.Items)}
}

// Kind says what the model is, with its sizes.
func (m *RLBFFTrained) Kind() string {
	f := m.facts()
	return fmt.Sprintf("RLBFF principle reward model: %d principle heads on %d features, %d items", f.Principles, f.Dim, f.Items)
}

func (m *RLBFFTrained) weights() artifact.Weights {
	f := m.facts()
	return artifact.Weights{
		"rlbff/weights": rowsTensor(m.RLBFF.W, f.Dim),
		"rlbff/biases":  artifact.F64(m.RLBFF.Bias),
		"items":         rowsTensor(m.Items, f.Dim),
		"bt/scores":     artifact.F64(m.BT.Scores),
	}
}

// Shapes lists the saved arrays and their dimensions.
func (m *RLBFFTrained) Shapes() map[string][]int { return m.weights().Shapes() }

// Save writes the arrays (GoMLX checkpoint, artifact.Save) and model.json
// into dir.
func (m *RLBFFTrained) Save(dir string) error {
	if err := artifact.Save(dir, m.weights()); err != nil {
		return err
	}
	return writeFacts(dir, m.facts())
}

// LoadModel reads a model RLBFFTrained.Save wrote into dir.
func (rlbffPlugin) LoadModel(dir string, _ *kernel.Manifest, _ string) (kernel.Model, error) {
	var f rlbffFacts
	if err := readFacts(dir, RLBFFID, &f, &f.Plugin); err != nil {
		return nil, err
	}
	if f.Principles < 1 || f.Dim < 1 || f.Items < 2 {
		return nil, fmt.Errorf("plural: %s/%s: principles %d, dim %d, items %d: want principles and dim ≥ 1, items ≥ 2",
			dir, modelFile, f.Principles, f.Dim, f.Items)
	}
	w, err := artifact.Load(dir)
	if err != nil {
		return nil, err
	}
	m := &RLBFFTrained{RLBFF: &RLBFFModel{}, BT: &BTModel{}}
	if m.RLBFF.W, err = needRows(dir, w, "rlbff/weights", f.Principles, f.Dim); err != nil {
		return nil, err
	}
	if m.RLBFF.Bias, err = needVector(dir, w, "rlbff/biases", f.Principles); err != nil {
		return nil, err
	}
	if m.Items, err = needRows(dir, w, "items", f.Items, f.Dim); err != nil {
		return nil, err
	}
	if m.BT.Scores, err = needVector(dir, w, "bt/scores", f.Items); err != nil {
		return nil, err
	}
	return m, nil
}

// rlbffInit returns the heads a plural.rlbff run starts from: those of the
// model job.InitModel holds (checked against the run's cfg), or nil.
func rlbffInit(job *kernel.Job, cfg PrincipleConfig) (*RLBFFModel, error) {
	im := job.InitModel()
	if im == nil {
		return nil, nil
	}
	saved, ok := im.(*RLBFFTrained)
	if !ok {
		return nil, &kernel.ModelUsageError{Plugin: RLBFFID, Msg: fmt.Sprintf("--model: %s, want a %s model", im.Kind(), RLBFFID)}
	}
	if f := saved.facts(); f.Principles != cfg.Principles || f.Dim != cfg.Dim {
		return nil, &kernel.ModelUsageError{Plugin: RLBFFID, Msg: fmt.Sprintf(
			"--model: the saved model has %d principles on %d features, this run %d on %d (params %s, %s)",
			f.Principles, f.Dim, cfg.Principles, cfg.Dim, RLBFFParamPrinciples, RLBFFParamDim)}
	}
	return saved.RLBFF, nil
}

// rlbffWeightings are the weightings the params name (the defaults for "").
func rlbffWeightings(prm kernel.Params, j int) ([][]float64, error) {
	s := strings.TrimSpace(prm.String(RLBFFParamWeightings))
	if s == "" {
		return DefaultWeightings(j), nil
	}
	return ParseWeightings(s, j)
}

// Score scores the judgments and comparisons of job.Data[0] (see
// rlbffModelDoc), without training.
func (m *RLBFFTrained) Score(job *kernel.Job) error {
	if len(job.Data) != 1 {
		return job.DataCountError("1 file, --data rows.jsonl (judgments: item, principle, yes; comparisons: chosen, rejected, weighting or weights)")
	}
	path := job.Data[0]
	rows, err := readScoreRows(path, scoreFormat{features: true,
		fields: []string{fieldItem, fieldPrinciple, fieldYes, fieldChosen, fieldRejected, fieldWeighting, fieldWeights}})
	if err != nil {
		return err
	}
	f := m.facts()
	weightings, err := rlbffWeightings(job.Params, f.Principles)
	if err != nil {
		return err
	}
	compose := job.Params.String(RLBFFParamCompose)
	// Items given by their features follow the pool's.
	items := m.Items[:len(m.Items):len(m.Items)]
	index := func(it scoreItem) int {
		if it.features == nil {
			return it.index
		}
		items = append(items, it.features)
		return len(items) - 1
	}
	var js []Judgment
	var jLines []int
	type comparison struct {
		line, a, b, weighting int
		weights               []float64
	}
	var cs []comparison
	for _, r := range rows {
		if r.judgment {
			if err := checkPoolItem(path, r, fieldItem, r.item, f.Items); err != nil {
				return err
			}
			if r.item.features != nil && len(r.item.features) != f.Dim {
				return datasets.Errorf(path, r.line, fieldItem, "want %d features (the model's dimension), got %d", f.Dim, len(r.item.features))
			}
			if r.principle >= f.Principles {
				return datasets.Errorf(path, r.line, fieldPrinciple, "principle %d: the model has %d (0 … %d)", r.principle, f.Principles, f.Principles-1)
			}
			js = append(js, Judgment{Item: index(r.item), Principle: r.principle, Yes: r.yes})
			jLines = append(jLines, r.line)
			continue
		}
		if err := checkPair(path, r, f.Items, f.Dim); err != nil {
			return err
		}
		c := comparison{line: r.line, weighting: max(r.weighting, 0), weights: r.weights}
		switch {
		case r.weights != nil:
			c.weighting = -1
			if len(r.weights) != f.Principles {
				return datasets.Errorf(path, r.line, fieldWeights, "want %d weights (one per principle), got %d", f.Principles, len(r.weights))
			}
			c.weights = append([]float64(nil), r.weights...)
			normalize(c.weights)
		case c.weighting >= len(weightings):
			return datasets.Errorf(path, r.line, fieldWeighting, "weighting %d: the weightings param has %d (0 … %d)", c.weighting, len(weightings), len(weightings)-1)
		default:
			c.weights = weightings[c.weighting]
		}
		// Pool items keep their index, for BT.
		c.a, c.b = index(r.chosen), index(r.rejected)
		cs = append(cs, c)
	}

	if len(js) > 0 {
		per, all := m.RLBFF.JudgmentAccuracy(items, js)
		jtab := job.AddTable("judgments", "line", "item", "principle", "yes", "p_yes")
		loss := 0.0
		for i, jd := range js {
			h := m.RLBFF.Logit(jd.Principle, items[jd.Item])
			if !jd.Yes {
				h = -h
			}
			loss += pairloss.SoftplusNegFloat64(h)
			jtab.Add(jLines[i], rlbffItemCell(jd.Item, f.Items), jd.Principle, jd.Yes, m.RLBFF.Prob(jd.Principle, items[jd.Item]))
		}
		job.SetFinal("judgment_accuracy", all)
		job.SetFinal("judgment_log_loss", loss/float64(len(js)))
		for j, a := range per {
			if a == a { // principles without judgments are NaN
				job.SetFinal("judgment_accuracy_p"+strconv.Itoa(j), a)
			}
		}
	}
	if len(cs) > 0 {
		ctab := job.AddTable("comparisons", "line", "weighting", "chosen", "rejected", "reward_chosen", "reward_rejected", "p", "p_bt")
		var all, bt pairStats
		perW, perWBT := make([]pairStats, len(weightings)), make([]pairStats, len(weightings))
		for _, c := range cs {
			ra, rb := m.RLBFF.Reward(c.weights, items[c.a], compose), m.RLBFF.Reward(c.weights, items[c.b], compose)
			p, nll := pairloss.Sigmoid(ra-rb), pairloss.SoftplusNegFloat64(ra-rb)
			all.add(p, nll)
			name := "own"
			if c.weighting >= 0 {
				name = weightingName(c.weighting)
				perW[c.weighting].add(p, nll)
			}
			var pb any
			if c.a < f.Items && c.b < f.Items {
				q := m.BT.Prob(c.a, c.b)
				bt.add(q, pairloss.SoftplusNegFloat64(m.BT.Scores[c.a]-m.BT.Scores[c.b]))
				if c.weighting >= 0 {
					perWBT[c.weighting].add(q, 0)
				}
				pb = q
			}
			ctab.Add(c.line, name, rlbffItemCell(c.a, f.Items), rlbffItemCell(c.b, f.Items), ra, rb, p, pb)
		}
		all.set(job.SetFinal, "accuracy", "log_loss")
		bt.set(job.SetFinal, "bt_accuracy", "bt_log_loss")
		for w := range weightings {
			if s := perW[w]; s.n > 0 {
				job.SetFinal("accuracy_"+weightingName(w), s.agree/float64(s.n))
			}
			if s := perWBT[w]; s.n > 0 {
				job.SetFinal("bt_accuracy_"+weightingName(w), s.agree/float64(s.n))
			}
		}
	}
	job.SetFinal("judgments", float64(len(js)))
	job.SetFinal("comparisons", float64(len(cs)))
	job.DataShape(0, "judgments", len(js), "comparisons", len(cs), "feature_items", len(items)-f.Items, "principles", f.Principles)
	return nil
}

// rlbffItemCell is a table cell for item i of a pool of n: its index, or
// "features" for an item the file gave by its features.
func rlbffItemCell(i, n int) any {
	if i >= n {
		return "features"
	}
	return i
}
