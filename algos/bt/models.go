package bt

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/alignlab/alignlab/algos/artifact"
	"github.com/alignlab/alignlab/algos/pairloss"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// This file holds what the family's saved models share (the model.json
// beside the arrays, reading both back) and the model of bt.ratings,
// RatingsModel: its files, its loader and its Score. The reward model is
// in reward_model.go, the Plackett–Luce and PRO models in
// plackett_model.go.

// ModelFile is the JSON file a saved model of this package keeps beside
// its arrays (artifact.WeightsDir): the facts that are not arrays and that
// rebuilding the model needs — names, dimensions, the tie model, the
// architecture — under a "kind" that says which model it is.
const ModelFile = "model.json"

// The kinds of ModelFile.
const (
	kindRatings = "bt.ratings"
	kindReward  = "bt.reward"
	kindPLItems = "bt.plackett_luce/items"
	kindPRO     = "bt.plackett_luce/pro"
)

// writeModelFile writes v, which has a Kind field, as dir/ModelFile.
func writeModelFile(dir string, v any) error { return artifact.WriteFacts(dir, v) }

// readModelFile decodes dir/ModelFile into v and returns its kind; errors
// name the file.
func readModelFile(plugin, dir string, v any) (kind string, err error) {
	path := filepath.Join(dir, ModelFile)
	var b json.RawMessage
	if err := artifact.ReadFacts(dir, &b); err != nil {
		return "", fmt.Errorf("%s: %w", plugin, err)
	}
	var head struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return "", fmt.Errorf("%s: %s: %w", plugin, path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return "", fmt.Errorf("%s: %s: %w", plugin, path, err)
	}
	return head.Kind, nil
}

// wrongKind is the error for a model.json of another kind.
func wrongKind(plugin, dir, got string, want ...string) error {
	return fmt.Errorf("%s: %s: kind %q, want %s", plugin, filepath.Join(dir, ModelFile), got, strings.Join(quoted(want), " or "))
}

func quoted(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = fmt.Sprintf("%q", v)
	}
	return out
}

// count is "1 battle", "2 battles".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// savedArrays reads a saved model's arrays and checks them by name and
// shape (see artifact.Weights.Need); errors name the plugin and directory.
type savedArrays struct {
	plugin, dir string
	w           artifact.Weights
}

func loadArrays(plugin, dir string) (*savedArrays, error) {
	w, err := artifact.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", plugin, err)
	}
	return &savedArrays{plugin: plugin, dir: dir, w: w}, nil
}

func (s *savedArrays) need(name string, dims ...int) ([]float64, error) {
	t, err := s.w.Need(name, dims...)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", s.plugin, s.dir, err)
	}
	return t.Floats(), nil
}

// distinctNames checks the names a saved model indexes by: at least min,
// none empty, none twice.
func distinctNames(plugin, dir, what string, names []string, min int) error {
	if len(names) < min {
		return fmt.Errorf("%s: %s: want at least %d %s, got %d", plugin, filepath.Join(dir, ModelFile), min, what, len(names))
	}
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if n == "" || seen[n] {
			return fmt.Errorf("%s: %s: %s: %q is empty or named twice", plugin, filepath.Join(dir, ModelFile), what, n)
		}
		seen[n] = true
	}
	return nil
}

// indexOf maps names to their positions.
func indexOf(names []string) map[string]int {
	m := make(map[string]int, len(names))
	for i, n := range names {
		m[n] = i
	}
	return m
}

// unknownNames collects, in order of first appearance, names a saved model
// does not know, for a note naming a few of them.
type unknownNames struct {
	seen  map[string]bool
	names []string
}

func (u *unknownNames) add(name string) {
	if u.seen == nil {
		u.seen = map[string]bool{}
	}
	if !u.seen[name] {
		u.seen[name] = true
		u.names = append(u.names, name)
	}
}

// String lists up to three names and how many more.
func (u *unknownNames) String() string {
	const shown = 3
	if len(u.names) <= shown {
		return strings.Join(u.names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(u.names[:shown], ", "), len(u.names)-shown)
}

// RatingsModel is what bt.ratings trains: the log-strengths of named
// models under a tie model, and the Elo convention its result reports them
// in. Its Score predicts battles; a run starts from it (Info.Init).
type RatingsModel struct {
	Models []string  // sorted, as the run's counts
	Theta  []float64 // log-strengths, mean 0
	// Ties is TiesHalf, TiesRaoKupper or TiesDavidson; TieParam is κ
	// (Rao–Kupper, ≥ 1), ν (Davidson, ≥ 0) or 0 (TiesHalf).
	Ties     string
	TieParam float64
	// Anchor is the model pinned to AnchorRating on the Elo scale; empty
	// when the mean rating is AnchorRating.
	Anchor       string
	AnchorRating float64
}

var (
	_ kernel.Model       = (*RatingsModel)(nil)
	_ kernel.Scorer      = (*RatingsModel)(nil)
	_ kernel.ModelLoader = ratings{}
)

// ratingsFile is RatingsModel's ModelFile.
type ratingsFile struct {
	Kind         string   `json:"kind"`
	Models       []string `json:"models"`
	Ties         string   `json:"ties"`
	Anchor       string   `json:"anchor"`
	AnchorRating float64  `json:"anchor_rating"`
}

// Kind says "Bradley–Terry ratings of k models (ties …)".
func (m *RatingsModel) Kind() string {
	return fmt.Sprintf("Bradley–Terry ratings of %d models (ties %s)", len(m.Models), m.Ties)
}

func (m *RatingsModel) weights() artifact.Weights {
	return artifact.Weights{"theta": artifact.F64(m.Theta), "tie_param": artifact.Scalar(m.TieParam)}
}

// Shapes are theta [models] and the scalar tie_param.
func (m *RatingsModel) Shapes() map[string][]int { return m.weights().Shapes() }

// Save writes the arrays theta and tie_param as a GoMLX checkpoint and the
// names, tie model and Elo convention as ModelFile.
func (m *RatingsModel) Save(dir string) error {
	if err := artifact.Save(dir, m.weights()); err != nil {
		return err
	}
	return writeModelFile(dir, ratingsFile{Kind: kindRatings, Models: m.Models, Ties: m.Ties, Anchor: m.Anchor, AnchorRating: m.AnchorRating})
}

// Ratings returns the Elo ratings of Models, as the run's leaderboard
// gives them: 400/ln 10 · θ shifted to put Anchor (or the mean) at
// AnchorRating.
func (m *RatingsModel) Ratings() []float64 {
	anchor := -1
	if m.Anchor != "" {
		for i, name := range m.Models {
			if name == m.Anchor {
				anchor = i
			}
		}
	}
	return Elo(m.Theta, anchor, m.AnchorRating)
}

// Predict returns the predicted probabilities that model a beats model b,
// that b beats a, and of a tie (0 under TiesHalf, which has no tie
// probability: there a tie counts half a win each), and false when the
// model does not rate a or b. With d = θa − θb:
//
//	half:        σ(d), σ(−d), 0
//	Rao–Kupper:  σ(d − log κ), σ(−d − log κ), the rest
//	Davidson:    e^{d/2}, e^{−d/2}, ν normalised to sum 1
func (m *RatingsModel) Predict(a, b string) (winA, winB, tie float64, ok bool) {
	i, j := -1, -1
	for k, name := range m.Models {
		switch name {
		case a:
			i = k
		case b:
			j = k
		}
	}
	if i < 0 || j < 0 {
		return 0, 0, 0, false
	}
	la, lb, lt := m.logProbs(m.Theta[i] - m.Theta[j])
	return math.Exp(la), math.Exp(lb), math.Exp(lt), true
}

// logProbs returns log P(a wins), log P(b wins) and log P(tie) at
// d = θa − θb, in the forms the fit's likelihood uses; under TiesHalf
// the third is log P(tie) = −∞ and a tie scores (la + lb)/2 instead.
func (m *RatingsModel) logProbs(d float64) (la, lb, lt float64) {
	switch m.Ties {
	case TiesRaoKupper:
		tau := math.Log(m.TieParam)
		u, v := d-tau, -d-tau
		return logSigmoid(u), logSigmoid(v), logSigmoid(-u) + logSigmoid(-v) + math.Log(-math.Expm1(-2*tau))
	case TiesDavidson:
		x1, x2, x3 := d/2, -d/2, math.Log(m.TieParam)
		mx := math.Max(x1, math.Max(x2, x3))
		logZ := mx + math.Log(math.Exp(x1-mx)+math.Exp(x2-mx)+math.Exp(x3-mx))
		return x1 - logZ, x2 - logZ, x3 - logZ
	}
	return logSigmoid(d), logSigmoid(-d), math.Inf(-1)
}

// Score predicts every battle of job.Data between two models it rates:
// table scores, finals log_loss, accuracy, battles, decisive_battles and
// battles_skipped (see the plugin's Info.Model).
func (m *RatingsModel) Score(job *kernel.Job) error {
	prm := job.Params
	if t := prm.String(ParamTies); t != m.Ties {
		return &kernel.ModelUsageError{Plugin: "bt.ratings", Msg: fmt.Sprintf("score: ties=%s, but the saved model is a %s model, which it keeps: drop ties", t, m.Ties)}
	}
	opt := &datasets.ArenaOptions{
		Format:       prm.String(ParamFormat),
		SelfBattles:  prm.String(ParamSelfBattles),
		Baseline:     prm.String(ParamBaseline),
		StrongWeight: prm.Float(ParamStrongWeight),
	}
	index := indexOf(m.Models)
	half := m.Ties == TiesHalf
	t := job.AddTable("scores", "battle", "model_a", "model_b", "winner", "weight", "p_a", "p_b", "p_tie", "log_loss")
	var (
		scored, skipped, selfSkipped, impossibleTies int
		weight, loss, decisive, correct              float64
		unknown                                      unknownNames
	)
	for i, path := range job.Data {
		read, inFile := 0, 0
		sc, err := datasets.ScanArenaFile(path, opt, func(b datasets.Battle) error {
			read++
			if read%(1<<16) == 0 {
				if err := job.Context().Err(); err != nil {
					return err
				}
			}
			a, okA := index[b.ModelA]
			c, okC := index[b.ModelB]
			if !okA || !okC {
				if !okA {
					unknown.add(b.ModelA)
				}
				if !okC {
					unknown.add(b.ModelB)
				}
				skipped++
				return nil
			}
			w := b.Weight
			if w == 0 {
				w = 1
			}
			d := m.Theta[a] - m.Theta[c]
			la, lb, lt := m.logProbs(d)
			var ll float64
			switch b.Winner {
			case datasets.WinnerA:
				ll = la
				decisive += w
				correct += w * pairloss.Agreement(d)
			case datasets.WinnerB:
				ll = lb
				decisive += w
				correct += w * pairloss.Agreement(-d)
			default:
				if half {
					ll = (la + lb) / 2
				} else {
					ll = lt
					if math.IsInf(lt, -1) {
						impossibleTies++
					}
				}
			}
			var pTie any
			if !half {
				pTie = math.Exp(lt)
			}
			scored++
			inFile++
			t.Add(scored, b.ModelA, b.ModelB, b.Winner, w, math.Exp(la), math.Exp(lb), pTie, -ll)
			weight += w
			loss += w * -ll
			return nil
		})
		if err != nil {
			return err
		}
		selfSkipped += int(sc.Skipped.Self)
		job.DataShape(i, "battles", read, "scored", inFile, "format", sc.Format)
	}
	if scored == 0 {
		return fmt.Errorf("bt.ratings: score: no battle in %s is between two models the saved model rates (%s)",
			strings.Join(job.Data, ", "), strings.Join(m.Models, ", "))
	}
	if skipped > 0 {
		job.Note("skipped %s naming models the saved ratings do not know: %s", count(skipped, "battle"), unknown.String())
	}
	if impossibleTies > 0 {
		job.Note("the saved %s model gives ties probability 0 (tie parameter %g: its training data had no ties), so the %s scored have an infinite log loss",
			m.Ties, m.TieParam, count(impossibleTies, "tie"))
	}
	job.SetFinal("battles", float64(scored))
	job.SetFinal("battles_skipped", float64(skipped))
	job.SetFinal("battle_weight", weight)
	job.SetFinal("log_loss", loss/weight)
	job.SetFinal("decisive_battles", decisive)
	if decisive > 0 {
		job.SetFinal("accuracy", correct/decisive)
	}
	if prm.String(ParamSelfBattles) == datasets.SelfBattlesSkip {
		job.SetFinal("self_battles_skipped", float64(selfSkipped))
	}
	return nil
}

// LoadModel reads a RatingsModel saved by a bt.ratings run.
func (ratings) LoadModel(dir string, _ *kernel.Manifest, _ string) (kernel.Model, error) {
	const plugin = "bt.ratings"
	var f ratingsFile
	kind, err := readModelFile(plugin, dir, &f)
	if err != nil {
		return nil, err
	}
	if kind != kindRatings {
		return nil, wrongKind(plugin, dir, kind, kindRatings)
	}
	if err := distinctNames(plugin, dir, "models", f.Models, 2); err != nil {
		return nil, err
	}
	if !slices.Contains(TieModels, f.Ties) {
		return nil, fmt.Errorf("%s: %s: ties: want one of %s, got %q", plugin, filepath.Join(dir, ModelFile), strings.Join(TieModels, ", "), f.Ties)
	}
	a, err := loadArrays(plugin, dir)
	if err != nil {
		return nil, err
	}
	theta, err := a.need("theta", len(f.Models))
	if err != nil {
		return nil, err
	}
	tie, err := a.need("tie_param")
	if err != nil {
		return nil, err
	}
	return &RatingsModel{Models: f.Models, Theta: theta, Ties: f.Ties, TieParam: tie[0], Anchor: f.Anchor, AnchorRating: f.AnchorRating}, nil
}

// initRatings returns the starting log-strengths (and tie parameter, 0 for
// none) of a bt.ratings run on counts from the saved model init, or an
// error when init is another kind of model or rates none of the models.
func initRatings(job *kernel.Job, init kernel.Model, c *datasets.ArenaCounts, ties string) (theta []float64, tie float64, err error) {
	m, ok := init.(*RatingsModel)
	if !ok {
		return nil, 0, fmt.Errorf("bt.ratings: --model: %s, want Bradley–Terry ratings (a bt.ratings model)", init.Kind())
	}
	index := indexOf(m.Models)
	theta = make([]float64, len(c.Models))
	var missing unknownNames
	for i, name := range c.Models {
		if j, ok := index[name]; ok {
			theta[i] = m.Theta[j]
		} else {
			missing.add(name)
		}
	}
	if len(missing.names) == len(c.Models) {
		return nil, 0, fmt.Errorf("bt.ratings: --model: the saved ratings (%s) rate none of the data's %d models", strings.Join(m.Models, ", "), len(c.Models))
	}
	msg := fmt.Sprintf("started from the saved %s", m.Kind())
	if len(missing.names) > 0 {
		msg += fmt.Sprintf("; %d of the data's %d models not in it start at θ = 0: %s", len(missing.names), len(c.Models), missing.String())
	}
	switch {
	case m.Ties == ties && ties != TiesHalf:
		tie = m.TieParam
		msg += fmt.Sprintf(", and from its tie parameter %g", tie)
	case ties != TiesHalf:
		msg += fmt.Sprintf("; it is a %s model, so the %s tie parameter starts from the data's tie rate", m.Ties, ties)
	}
	job.Note("%s", msg)
	return theta, tie, nil
}
