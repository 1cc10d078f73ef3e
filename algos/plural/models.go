package plural

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/alignlab/alignlab/algos/artifact"
	"github.com/alignlab/alignlab/algos/pairloss"
	"github.com/alignlab/alignlab/datasets"
)

// This file holds what the family's saved models share: the small JSON file
// of facts beside the arrays, and the file of comparisons (and judgments)
// their Score methods read. The plugins generate their own data and read no
// --data file, so the scored file is a format of the family's own, the
// generators' comparisons written out:
//
//	{"user": 3, "chosen": 5, "rejected": 12, "context": [0.1, -1.2, 0.4, 2.0]}
//	{"user": 7, "chosen": 0, "rejected": 9, "fit": true}
//	{"chosen": 4, "rejected": [0.3, …], "weighting": 1}
//	{"item": 5, "principle": 2, "yes": true}
//
// one JSON object per line; each plugin accepts the fields its model uses
// (Info.Model lists them) and rejects the others.

// modelFile is the JSON file of facts a model of the family writes beside
// its arrays (artifact.Save): the plugin, the dimensions and the choices
// (level, head) it needs to be rebuilt, read back before the arrays so that
// each array's shape can be checked.
const modelFile = "model.json"

// writeFacts writes facts, a struct with a Plugin field, to dir/model.json.
func writeFacts(dir string, facts any) error { return artifact.WriteFacts(dir, facts) }

// readFacts reads dir/model.json into facts and checks that it was written
// by the plugin id (plugin is the facts' Plugin field once read).
func readFacts(dir, id string, facts any, plugin *string) error {
	path := filepath.Join(dir, modelFile)
	if err := artifact.ReadFacts(dir, facts); err != nil {
		return fmt.Errorf("plural: %w", err)
	}
	if *plugin != id {
		return fmt.Errorf("plural: %s: plugin %q, want %q", path, *plugin, id)
	}
	return nil
}

// needRows returns the rows × cols array name of w as rows (a 0 × cols
// array when rows is 0), or an error naming dir and the array.
func needRows(dir string, w artifact.Weights, name string, rows, cols int) ([][]float64, error) {
	t, err := w.Need(name, rows, cols)
	if err != nil {
		return nil, fmt.Errorf("plural: %s: %w", dir, err)
	}
	return palUnflatten(t.Floats(), rows, cols), nil
}

// needVector returns the vector name of w of n values, or an error naming
// dir and the array.
func needVector(dir string, w artifact.Weights, name string, n int) ([]float64, error) {
	t, err := w.Need(name, n)
	if err != nil {
		return nil, fmt.Errorf("plural: %s: %w", dir, err)
	}
	return t.Floats(), nil
}

// needScalar returns the scalar name of w, or an error naming dir.
func needScalar(dir string, w artifact.Weights, name string) (float64, error) {
	t, err := w.Need(name)
	if err != nil {
		return 0, fmt.Errorf("plural: %s: %w", dir, err)
	}
	return t.Floats()[0], nil
}

// rowsTensor is the rows of x (each of cols values) as one array.
func rowsTensor(x [][]float64, cols int) artifact.Tensor {
	return artifact.F64(palFlatten(x), len(x), cols)
}

// The fields of a scored file.
const (
	fieldUser      = "user"      // a user's index (plural.micro, plural.pal)
	fieldChosen    = "chosen"    // the preferred item: its index in the pool, or its features
	fieldRejected  = "rejected"  // the other item
	fieldContext   = "context"   // the user's context (plural.micro's router)
	fieldFit       = "fit"       // plural.pal: fit the user's weights to this row instead of scoring it
	fieldWeighting = "weighting" // plural.rlbff: index into the weightings param
	fieldWeights   = "weights"   // plural.rlbff: the row's own principle weights
	fieldItem      = "item"      // plural.rlbff judgment: the item
	fieldPrinciple = "principle" // plural.rlbff judgment: the principle's index
	fieldYes       = "yes"       // plural.rlbff judgment: whether the item satisfies it
)

// scoreItem is an item of a scored row: its index in the model's item pool,
// or (features non-nil) an item given by its features.
type scoreItem struct {
	index    int
	features []float64
}

// scoreRow is one line of a scored file: a comparison (chosen ≻ rejected)
// or, with judgment set, a principle judgment. Absent integers are −1.
type scoreRow struct {
	line             int
	user             int
	chosen, rejected scoreItem
	context          []float64 // nil when absent
	fit              bool
	weighting        int
	weights          []float64 // nil when absent
	judgment         bool
	item             scoreItem
	principle        int
	yes              bool
}

// scoreFormat is what one plugin reads of the family's scored file: the
// fields it accepts and whether items may be given by their features.
type scoreFormat struct {
	fields   []string
	features bool
}

// maxScoreLine is the longest line of a scored file (a row of features).
const maxScoreLine = 16 << 20

// readScoreRows reads the scored file path: one JSON object per line (blank
// lines skipped), each a comparison with chosen and rejected or a judgment
// with item, principle and yes. Errors are *datasets.Error naming the file,
// the line and the field.
func readScoreRows(path string, f scoreFormat) ([]scoreRow, error) {
	allowed := map[string]bool{}
	for _, k := range f.fields {
		allowed[k] = true
	}
	var rows []scoreRow
	err := datasets.ReadJSONLines(path, maxScoreLine, "rows", func(b []byte, line int) error {
		row, err := parseScoreRow(b, path, line, f, allowed)
		if err == nil {
			rows = append(rows, row)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func parseScoreRow(b []byte, path string, line int, f scoreFormat, allowed map[string]bool) (scoreRow, error) {
	row := scoreRow{line: line, user: -1, weighting: -1, principle: -1}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil || obj == nil {
		return row, datasets.Errorf(path, line, "", "want a JSON object, got %s", scoreShort(b))
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !allowed[k] {
			return row, datasets.Errorf(path, line, k, "unknown field: want %s", strings.Join(f.fields, ", "))
		}
	}
	errf := func(field, format string, args ...any) error {
		return datasets.Errorf(path, line, field, format, args...)
	}
	var err error
	if raw, ok := obj[fieldUser]; ok {
		if row.user, err = scoreIndex(raw); err != nil {
			return row, errf(fieldUser, "%v", err)
		}
	}
	if raw, ok := obj[fieldWeighting]; ok {
		if row.weighting, err = scoreIndex(raw); err != nil {
			return row, errf(fieldWeighting, "%v", err)
		}
	}
	if raw, ok := obj[fieldContext]; ok {
		if row.context, err = scoreFloats(raw); err != nil {
			return row, errf(fieldContext, "%v", err)
		}
	}
	if raw, ok := obj[fieldWeights]; ok {
		if row.weights, err = scoreFloats(raw); err != nil {
			return row, errf(fieldWeights, "%v", err)
		}
		if err := checkWeighting(row.weights); err != nil {
			return row, errf(fieldWeights, "want non-negative weights with a positive sum, got %s", scoreShort(raw))
		}
	}
	if raw, ok := obj[fieldFit]; ok {
		if err := json.Unmarshal(raw, &row.fit); err != nil {
			return row, errf(fieldFit, "want true or false, got %s", scoreShort(raw))
		}
	}
	_, hasItem := obj[fieldItem]
	_, hasPrinciple := obj[fieldPrinciple]
	_, hasYes := obj[fieldYes]
	row.judgment = hasItem || hasPrinciple || hasYes
	item := func(field string, dst *scoreItem) error {
		raw, ok := obj[field]
		if !ok {
			return errf(field, "missing")
		}
		if len(raw) > 0 && raw[0] == '[' && f.features {
			v, err := scoreFloats(raw)
			if err != nil {
				return errf(field, "%v", err)
			}
			*dst = scoreItem{features: v}
			return nil
		}
		i, err := scoreIndex(raw)
		if err != nil {
			if f.features {
				return errf(field, "want an item's index (an integer ≥ 0) or its features (an array of numbers), got %s", scoreShort(raw))
			}
			return errf(field, "want an item's index (an integer ≥ 0), got %s", scoreShort(raw))
		}
		*dst = scoreItem{index: i}
		return nil
	}
	if row.judgment {
		for _, k := range []string{fieldChosen, fieldRejected, fieldWeighting, fieldWeights} {
			if _, ok := obj[k]; ok {
				return row, errf(k, "a judgment row (item, principle, yes) takes no %s", k)
			}
		}
		if err := item(fieldItem, &row.item); err != nil {
			return row, err
		}
		raw, ok := obj[fieldPrinciple]
		if !ok {
			return row, errf(fieldPrinciple, "missing")
		}
		if row.principle, err = scoreIndex(raw); err != nil {
			return row, errf(fieldPrinciple, "%v", err)
		}
		if raw, ok = obj[fieldYes]; !ok {
			return row, errf(fieldYes, "missing")
		}
		if err := json.Unmarshal(raw, &row.yes); err != nil {
			return row, errf(fieldYes, "want true or false, got %s", scoreShort(raw))
		}
		return row, nil
	}
	if err := item(fieldChosen, &row.chosen); err != nil {
		return row, err
	}
	if err := item(fieldRejected, &row.rejected); err != nil {
		return row, err
	}
	if row.weighting >= 0 && row.weights != nil {
		return row, errf(fieldWeights, "give weighting or weights, not both")
	}
	return row, nil
}

// scoreIndex reads a non-negative integer.
func scoreIndex(raw json.RawMessage) (int, error) {
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil || v < 0 || v != math.Trunc(v) || v > math.MaxInt32 {
		return 0, fmt.Errorf("want a non-negative integer, got %s", scoreShort(raw))
	}
	return int(v), nil
}

// scoreFloats reads an array of numbers.
func scoreFloats(raw json.RawMessage) ([]float64, error) {
	var v []float64
	if err := json.Unmarshal(raw, &v); err != nil || v == nil {
		return nil, fmt.Errorf("want an array of numbers, got %s", scoreShort(raw))
	}
	return v, nil
}

// scoreShort quotes at most 40 bytes of b for a message.
func scoreShort(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

// checkPoolItem checks that the row's field names an item of a pool of n
// items (by index: features are checked by the caller).
func checkPoolItem(path string, r scoreRow, field string, it scoreItem, n int) error {
	if it.features == nil && it.index >= n {
		return datasets.Errorf(path, r.line, field, "item %d is not in the model's pool of %d items (0 … %d)", it.index, n, n-1)
	}
	return nil
}

// checkPair checks a comparison row's items against a pool of n items (and
// features of dimension d where the format allows them): in the pool, and
// not the same item twice.
func checkPair(path string, r scoreRow, n, d int) error {
	for _, f := range []struct {
		name string
		it   scoreItem
	}{{fieldChosen, r.chosen}, {fieldRejected, r.rejected}} {
		if err := checkPoolItem(path, r, f.name, f.it, n); err != nil {
			return err
		}
		if f.it.features != nil && len(f.it.features) != d {
			return datasets.Errorf(path, r.line, f.name, "want %d features (the model's dimension), got %d", d, len(f.it.features))
		}
	}
	if r.chosen.features == nil && r.rejected.features == nil && r.chosen.index == r.rejected.index {
		return datasets.Errorf(path, r.line, fieldRejected, "the same item as chosen (%d): want two different items", r.chosen.index)
	}
	return nil
}

// pairStats accumulates a predictor's accuracy and log loss over the
// comparisons it scores, as the plugins' runs do (pairloss.Agreement of
// P − ½, a tie counting ½).
type pairStats struct {
	agree, loss float64
	n           int
}

// add counts a comparison whose chosen item the predictor prefers with
// probability p, at negative log-likelihood nll.
func (s *pairStats) add(p, nll float64) {
	s.agree += pairloss.Agreement(p - 0.5)
	s.loss += nll
	s.n++
}

// set sets the finals acc and loss (nothing when no comparison was scored).
func (s *pairStats) set(set func(string, float64), acc, loss string) {
	if s.n == 0 {
		return
	}
	set(acc, s.agree/float64(s.n))
	set(loss, s.loss/float64(s.n))
}

// mixtureNLL is −log Σ_k w_k σ(s_k,a − s_k,b), stable for any scores.
func mixtureNLL(w []float64, scores [][]float64, a, b int) float64 {
	terms := make([]float64, len(w))
	for k, wk := range w {
		terms[k] = math.Log(wk) - pairloss.SoftplusNegFloat64(scores[k][a]-scores[k][b])
	}
	return -microLogSumExp(terms)
}

// distinctUsers counts the distinct users ≥ 0 of rows.
func distinctUsers(rows []scoreRow) int {
	var us []int
	for _, r := range rows {
		if r.user >= 0 {
			us = append(us, r.user)
		}
	}
	slices.Sort(us)
	return len(slices.Compact(us))
}
