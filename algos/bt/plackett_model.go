package bt

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"

	"github.com/alignlab/alignlab/algos/artifact"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// This file holds the two models of bt.plackett_luce — the item ratings
// of rankings of named items (PLItemsModel) and the log-linear PRO policy
// of ranked candidates (PROPolicy) — with their files, the plugin's
// loader, their Score and Sample, and the checks of a warm start.

// PLItemsModel is what bt.plackett_luce trains on rankings of named
// items: their Plackett–Luce log-strengths. Its Score measures rankings,
// its Sample draws them; a run on items starts from it (Info.Init).
type PLItemsModel struct {
	Items []string
	Theta []float64 // log-strengths, mean 0
}

// PROPolicy is what bt.plackett_luce trains on ranked candidates: the
// log-linear policy π_θ(y) ∝ exp(θ·φ(y)) over each list's candidates. Its
// Score measures ranked lists, its Sample draws candidates; a run on
// candidates starts from it (Info.Init).
type PROPolicy struct {
	Theta []float64 // θ, one weight per feature
}

var (
	_ kernel.Model       = (*PLItemsModel)(nil)
	_ kernel.Scorer      = (*PLItemsModel)(nil)
	_ kernel.Sampler     = (*PLItemsModel)(nil)
	_ kernel.Model       = (*PROPolicy)(nil)
	_ kernel.Scorer      = (*PROPolicy)(nil)
	_ kernel.Sampler     = (*PROPolicy)(nil)
	_ kernel.ModelLoader = plPlugin{}
)

// plFile is the ModelFile of both models.
type plFile struct {
	Kind  string   `json:"kind"`
	Items []string `json:"items,omitempty"` // items
	Dim   int      `json:"dim,omitempty"`   // PRO
}

// Kind says "Plackett–Luce ratings of k items".
func (m *PLItemsModel) Kind() string {
	return fmt.Sprintf("Plackett–Luce ratings of %d items", len(m.Items))
}

func (m *PLItemsModel) weights() artifact.Weights {
	return artifact.Weights{"theta": artifact.F64(m.Theta)}
}

// Shapes is theta [items].
func (m *PLItemsModel) Shapes() map[string][]int { return m.weights().Shapes() }

// Save writes theta as a GoMLX checkpoint and the item names as ModelFile.
func (m *PLItemsModel) Save(dir string) error {
	if err := artifact.Save(dir, m.weights()); err != nil {
		return err
	}
	return writeModelFile(dir, plFile{Kind: kindPLItems, Items: m.Items})
}

// Kind says "log-linear PRO policy, d = n".
func (m *PROPolicy) Kind() string { return fmt.Sprintf("log-linear PRO policy, d = %d", len(m.Theta)) }

// weights is θ under the variable path of the trainer's GoMLX store.
func (m *PROPolicy) weights() artifact.Weights {
	return artifact.Weights{"pro/theta": artifact.F64(m.Theta, len(m.Theta), 1)}
}

// Shapes is pro/theta [d, 1].
func (m *PROPolicy) Shapes() map[string][]int { return m.weights().Shapes() }

// Save writes θ as a GoMLX checkpoint and its dimension as ModelFile.
func (m *PROPolicy) Save(dir string) error {
	if err := artifact.Save(dir, m.weights()); err != nil {
		return err
	}
	return writeModelFile(dir, plFile{Kind: kindPRO, Dim: len(m.Theta)})
}

// LoadModel reads the PLItemsModel or PROPolicy saved by a
// bt.plackett_luce run.
func (plPlugin) LoadModel(dir string, _ *kernel.Manifest, _ string) (kernel.Model, error) {
	const plugin = "bt.plackett_luce"
	var f plFile
	kind, err := readModelFile(plugin, dir, &f)
	if err != nil {
		return nil, err
	}
	switch kind {
	case kindPLItems:
		if err := distinctNames(plugin, dir, "items", f.Items, 2); err != nil {
			return nil, err
		}
		a, err := loadArrays(plugin, dir)
		if err != nil {
			return nil, err
		}
		theta, err := a.need("theta", len(f.Items))
		if err != nil {
			return nil, err
		}
		return &PLItemsModel{Items: f.Items, Theta: theta}, nil
	case kindPRO:
		if f.Dim < 1 {
			return nil, fmt.Errorf("%s: %s: dim: want ≥ 1, got %d", plugin, filepath.Join(dir, ModelFile), f.Dim)
		}
		a, err := loadArrays(plugin, dir)
		if err != nil {
			return nil, err
		}
		theta, err := a.need("pro/theta", f.Dim, 1)
		if err != nil {
			return nil, err
		}
		return &PROPolicy{Theta: theta}, nil
	}
	return nil, wrongKind(plugin, dir, kind, kindPLItems, kindPRO)
}

// plRow is one ranking of job.Data in a PLItemsModel's item indices.
type plRow struct {
	ranked, rest, offered []int
}

// rankings reads the rankings of job.Data that name only items the model
// rates, in its indices, and notes how many it skipped.
func (m *PLItemsModel) rankings(job *kernel.Job) ([]plRow, error) {
	index := indexOf(m.Items)
	var rows []plRow
	var unknown unknownNames
	skipped := 0
	for i, path := range job.Data {
		r, err := datasets.LoadRankings(path)
		if err != nil {
			return nil, err
		}
		job.DataShape(i, rankingsShape(r)...)
		if r.Kind != datasets.RankingItems {
			return nil, &datasets.Error{File: path, Msg: fmt.Sprintf("want rankings of items, which the saved %s rates, got ranked candidates (a PRO policy scores those)", m.Kind())}
		}
		for n, l := range r.Lists {
			ok := true
			remap := func(idx []int) []int {
				out := make([]int, len(idx))
				for p, it := range idx {
					j, known := index[r.Items[it]]
					if !known {
						unknown.add(r.Items[it])
						ok = false
					}
					out[p] = j
				}
				return out
			}
			row := plRow{ranked: remap(l), rest: remap(r.Unranked(n)), offered: remap(r.OfferedSet(n))}
			if !ok {
				skipped++
				continue
			}
			rows = append(rows, row)
		}
	}
	if skipped > 0 {
		job.Note("skipped %s offering items the saved ratings do not know: %s", count(skipped, "ranking"), unknown.String())
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("bt.plackett_luce: no ranking in %s offers only items the saved model rates (%s)",
			strings.Join(job.Data, ", "), strings.Join(m.Items, ", "))
	}
	job.SetFinal("rankings_skipped", float64(skipped))
	return rows, nil
}

// Score measures the rankings of job.Data under the model without
// training: table scores and finals rankings, rankings_skipped,
// log_likelihood, mean_log_likelihood and top1 (see the plugin's
// Info.Model).
func (m *PLItemsModel) Score(job *kernel.Job) error {
	rows, err := m.rankings(job)
	if err != nil {
		return err
	}
	t := job.AddTable("scores", "ranking", "length", "offered", "first", "favourite", "log_likelihood", "top1")
	var total, top1 float64
	for n, row := range rows {
		ll := 0.0
		plStageTerms(m.Theta, row.ranked, row.rest, func(term float64) {
			ll += term
			total += term // in PLLogLikelihood's order: the training file gives its value exactly
		})
		fav, hit := m.favourite(row)
		top1 += hit
		t.Add(n+1, len(row.ranked), len(row.offered), m.Items[row.ranked[0]], m.Items[fav], ll, hit)
	}
	job.SetFinal("rankings", float64(len(rows)))
	job.SetFinal("log_likelihood", total)
	job.SetFinal("mean_log_likelihood", total/float64(len(rows)))
	job.SetFinal("top1", top1/float64(len(rows)))
	return nil
}

// favourite returns the offered item of highest θ (the first in offered
// order on a tie) and the top-1 credit of the ranking: 1 when its first
// item has the highest θ, shared evenly among the items that tie there.
func (m *PLItemsModel) favourite(row plRow) (fav int, hit float64) {
	fav = row.offered[0]
	ties := 0
	for _, i := range row.offered {
		switch {
		case m.Theta[i] > m.Theta[fav]:
			fav, ties = i, 1
		case m.Theta[i] == m.Theta[fav]:
			ties++
		}
	}
	if m.Theta[row.ranked[0]] == m.Theta[fav] {
		hit = 1 / float64(ties)
	}
	return fav, hit
}

// Sample draws n rankings for each ranking of job.Data, of its length from
// its offered set, by the Gumbel-max construction (θ_i + Gumbel noise,
// sorted: an exact Plackett–Luce draw): table samples (ranking, sample,
// order, the names best first joined by " > ").
func (m *PLItemsModel) Sample(job *kernel.Job, n int) error {
	rows, err := m.rankings(job)
	if err != nil {
		return err
	}
	r := job.Rand()
	t := job.AddTable("samples", "ranking", "sample", "order")
	for k, row := range rows {
		keys := make([]float64, len(row.offered))
		idx := make([]int, len(row.offered))
		names := make([]string, len(row.ranked))
		for s := 1; s <= n; s++ {
			for p, i := range row.offered {
				u := r.Float64()
				for u == 0 {
					u = r.Float64()
				}
				keys[p] = m.Theta[i] - math.Log(-math.Log(u))
				idx[p] = p
			}
			sort.SliceStable(idx, func(a, b int) bool { return keys[idx[a]] > keys[idx[b]] })
			for p := range names {
				names[p] = m.Items[row.offered[idx[p]]]
			}
			t.Add(k+1, s, strings.Join(names, " > "))
		}
		if err := job.Context().Err(); err != nil {
			return err
		}
	}
	job.SetFinal("rankings", float64(len(rows)))
	return nil
}

// lists reads the candidate lists of job.Data, which must have the
// policy's dimension.
func (m *PROPolicy) lists(job *kernel.Job) (*datasets.Rankings, error) {
	var all *datasets.Rankings
	for i, path := range job.Data {
		r, err := datasets.LoadRankings(path)
		if err != nil {
			return nil, err
		}
		job.DataShape(i, rankingsShape(r)...)
		switch {
		case r.Kind != datasets.RankingCandidates:
			return nil, &datasets.Error{File: path, Msg: fmt.Sprintf("want ranked candidates, which the saved %s scores, got rankings of items (Plackett–Luce item ratings score those)", m.Kind())}
		case r.Dim != len(m.Theta):
			return nil, &datasets.Error{File: path, Msg: fmt.Sprintf("want candidates of the saved policy's dimension %d, got %d", len(m.Theta), r.Dim)}
		}
		if all == nil {
			all = r
			continue
		}
		if err := appendRankings(all, r, path); err != nil {
			return nil, err
		}
	}
	return all, nil
}

// logProbs returns log π_θ over one list's candidates: log-softmax of θ·φ.
func (m *PROPolicy) logProbs(cands [][]float64) []float64 {
	s := make([]float64, len(cands))
	mx := math.Inf(-1)
	for i, phi := range cands {
		for j, v := range phi {
			s[i] += m.Theta[j] * v
		}
		mx = math.Max(mx, s[i])
	}
	z := 0.0
	for _, v := range s {
		z += math.Exp(v - mx)
	}
	lz := mx + math.Log(z)
	for i := range s {
		s[i] -= lz
	}
	return s
}

// Score measures the ranked lists of job.Data under the policy without
// training: table scores and finals lists, log_likelihood,
// mean_log_likelihood, top1, kendall_tau and loss (see the plugin's
// Info.Model).
func (m *PROPolicy) Score(job *kernel.Job) error {
	all, err := m.lists(job)
	if err != nil {
		return err
	}
	temp := job.Params.String(ParamTemperature)
	if temp == TemperatureDynamic && all.Rewards == nil {
		job.Note("the lists give no rewards: the dynamic temperature is T = 1 and loss is the Plackett–Luce negative log-likelihood")
	}
	t := job.AddTable("scores", "list", "candidates", "log_prob_first", "log_likelihood", "top1", "kendall_tau", "loss")
	total := 0.0
	for l, cands := range all.Candidates {
		one := &datasets.Rankings{Kind: datasets.RankingCandidates, Dim: all.Dim, Candidates: all.Candidates[l : l+1]}
		if all.Rewards != nil {
			one.Rewards = all.Rewards[l : l+1]
		}
		ev := EvaluateRankings(one, m.Theta, temp)
		logp := m.logProbs(cands)
		ll := -PROLossFloat64(logp, PROTemperatures(len(cands), nil, TemperatureConstant))
		total += ll
		var tau any
		if !math.IsNaN(ev.KendallTau) {
			tau = ev.KendallTau
		}
		t.Add(l+1, len(cands), logp[0], ll, ev.Top1, tau, ev.Loss)
	}
	ev := EvaluateRankings(all, m.Theta, temp)
	n := float64(all.Len())
	job.SetFinal("lists", n)
	job.SetFinal("log_likelihood", total)
	job.SetFinal("mean_log_likelihood", total/n)
	job.SetFinal("top1", ev.Top1)
	job.SetFinal("loss", ev.Loss)
	setIfFinite(job, "kendall_tau", ev.KendallTau)
	return nil
}

// Sample draws n candidates from π_θ for each list of job.Data: table
// samples (list, sample, candidate — its 0-based position in the list as
// given, 0 the best —, log_prob).
func (m *PROPolicy) Sample(job *kernel.Job, n int) error {
	all, err := m.lists(job)
	if err != nil {
		return err
	}
	r := job.Rand()
	t := job.AddTable("samples", "list", "sample", "candidate", "log_prob")
	for l, cands := range all.Candidates {
		logp := m.logProbs(cands)
		for s := 1; s <= n; s++ {
			u := r.Float64()
			pick := len(logp) - 1 // u beyond the rounded total: the last
			acc := 0.0
			for i, lp := range logp {
				acc += math.Exp(lp)
				if u < acc {
					pick = i
					break
				}
			}
			t.Add(l+1, s, pick, logp[pick])
		}
		if err := job.Context().Err(); err != nil {
			return err
		}
	}
	job.SetFinal("lists", float64(all.Len()))
	return nil
}

// initPLItems returns the starting log-strengths of an items run on r
// from the saved model init.
func initPLItems(job *kernel.Job, init kernel.Model, r *datasets.Rankings) ([]float64, error) {
	m, ok := init.(*PLItemsModel)
	if !ok {
		return nil, fmt.Errorf("bt.plackett_luce: --model: %s, want Plackett–Luce item ratings (the data are rankings of items)", init.Kind())
	}
	index := indexOf(m.Items)
	theta := make([]float64, len(r.Items))
	var missing unknownNames
	for i, name := range r.Items {
		if j, ok := index[name]; ok {
			theta[i] = m.Theta[j]
		} else {
			missing.add(name)
		}
	}
	if len(missing.names) == len(r.Items) {
		return nil, fmt.Errorf("bt.plackett_luce: --model: the saved ratings (%s) rate none of the data's %d items", strings.Join(m.Items, ", "), len(r.Items))
	}
	msg := fmt.Sprintf("started from the saved %s", m.Kind())
	if len(missing.names) > 0 {
		msg += fmt.Sprintf("; %d of the data's %d items not in it start at θ = 0: %s", len(missing.names), len(r.Items), missing.String())
	}
	job.Note("%s", msg)
	return theta, nil
}

// initPRO returns the starting θ of a PRO run on candidates of dimension
// dim from the saved model init.
func initPRO(job *kernel.Job, init kernel.Model, dim int) ([]float64, error) {
	m, ok := init.(*PROPolicy)
	if !ok {
		return nil, fmt.Errorf("bt.plackett_luce: --model: %s, want a log-linear PRO policy (the data are ranked candidates)", init.Kind())
	}
	if len(m.Theta) != dim {
		return nil, fmt.Errorf("bt.plackett_luce: --model: the saved %s, but the candidates have dimension %d", m.Kind(), dim)
	}
	job.Note("started from the saved %s", m.Kind())
	return append([]float64(nil), m.Theta...), nil
}
