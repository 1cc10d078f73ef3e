package bt

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// Leaderboard is a score per model, higher better: a plain leaderboard
// file (model, score), the ratings of a bt.ratings (or bt.plackett_luce)
// result, or Bradley–Terry ratings fitted to battles.
type Leaderboard struct {
	Name   string // file name or label
	Models []string
	Scores []float64
	// Format is how the leaderboard was read: one of the Format constants
	// (FormatBattles for LeaderboardFromCounts).
	Format string
	// Counts are the battles behind the scores when they were fitted here
	// (LeaderboardFromCounts); nil for scores read from a file.
	Counts *datasets.ArenaCounts
}

// The values of Leaderboard.Format: the input formats LoadLeaderboard reads.
const (
	FormatScoresCSV   = "leaderboard csv"   // header naming model and score
	FormatScoresJSON  = "leaderboard json"  // [{"model": …, "score": …}, …] or {"model": score, …}
	FormatScoresJSONL = "leaderboard jsonl" // one {"model": …, "score": …} per line
	FormatResult      = "result"            // a kernel.Result of bt.ratings or bt.plackett_luce
	FormatBattles     = "battles"           // a battle file, fitted here
)

// leaderboardFormats says what LoadLeaderboard accepts, for its errors.
const leaderboardFormats = `want a leaderboard (CSV with a header naming model and score; JSON [{"model": …, "score": …}, …], ` +
	`{"model": score, …} or one {"model": …, "score": …} per line), a result JSON of bt.ratings or bt.plackett_luce, ` +
	`or battles (model_a, model_b, winner)`

// scoreColumns are the names of a leaderboard's score column, by preference.
var scoreColumns = []string{"score", "rating", "elo"}

// Score returns the score of model and whether the leaderboard has it.
func (l *Leaderboard) Score(model string) (float64, bool) {
	for i, m := range l.Models {
		if m == model {
			return l.Scores[i], true
		}
	}
	return 0, false
}

// LeaderboardFromCounts fits Bradley–Terry ratings (FitNewton, half ties,
// the default prior when some model has no wins or no losses) to c and
// returns them on the Elo scale (mean 1000).
func LeaderboardFromCounts(name string, c *datasets.ArenaCounts) (*Leaderboard, error) {
	fit, err := FitNewton(c, &Settings{Prior: DefaultPrior})
	if err != nil {
		return nil, err
	}
	return &Leaderboard{Name: name, Models: c.Models, Scores: Elo(fit.Theta, -1, DefaultAnchorRating), Format: FormatBattles, Counts: c}, nil
}

// LoadLeaderboard reads a leaderboard from path, in a format told by its
// content (gzip-compressed or not):
//
//   - a plain leaderboard: CSV whose header names a model column and a score
//     column (score, rating or elo; case and surrounding blanks ignored,
//     other columns ignored), e.g. "model,score"; or JSON, an array of
//     objects {"model": name, "score": number} (rating or elo also name the
//     score), such objects one per line, or one object {"name": number, …};
//   - a result JSON written by `alignlab run` (a kernel.Result, an object
//     with fields plugin and tables) of bt.ratings (table leaderboard,
//     columns model and rating) or of bt.plackett_luce (table ratings,
//     columns item and theta);
//   - a battle file in any format datasets.LoadBattles reads (CSV header or
//     JSON fields model_a, model_b, winner), to which Bradley–Terry ratings
//     are fitted (LeaderboardFromCounts).
//
// Scores must be finite and models distinct and non-empty, at least 2.
// Problems are *datasets.Error with file, line and field; a file in none of
// these formats gets one that lists them.
func LoadLeaderboard(path string) (*Leaderboard, error) {
	format, err := sniffLeaderboard(path)
	if err != nil {
		return nil, err
	}
	switch format {
	case FormatBattles:
		c, err := datasets.LoadArenaCounts(path)
		if err != nil {
			return nil, err
		}
		if len(c.Models) < 2 {
			return nil, &datasets.Error{File: path, Msg: fmt.Sprintf("want battles between at least 2 models, got %d", len(c.Models))}
		}
		return LeaderboardFromCounts(path, c)
	case FormatResult:
		return loadResultLeaderboard(path)
	}
	rc, err := datasets.Open(path)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	sr := &scoreReader{name: path, lb: &Leaderboard{Name: path, Format: format}, seen: map[string]int{}}
	switch format {
	case FormatScoresCSV:
		err = sr.csv(rc)
	case FormatScoresJSONL:
		err = sr.jsonl(rc)
	default:
		err = sr.json(rc)
	}
	if err != nil {
		return nil, err
	}
	if n := len(sr.lb.Models); n < 2 {
		return nil, &datasets.Error{File: path, Msg: fmt.Sprintf("want a leaderboard of at least 2 models, got %d", n)}
	}
	return sr.lb, nil
}

// sniffLeaderboard tells the format of path from its first bytes: the first
// JSON value's fields, or the CSV header's columns.
func sniffLeaderboard(path string) (string, error) {
	rc, err := datasets.Open(path)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 1<<16)
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	first := byte(0)
	for {
		c, err := br.ReadByte()
		if err != nil {
			// Empty: the battle reader words it.
			return FormatBattles, nil
		}
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			first = c
			br.UnreadByte()
			break
		}
	}
	dec := json.NewDecoder(io.LimitReader(br, 64<<20))
	switch first {
	case '{':
		var obj map[string]json.RawMessage
		if err := dec.Decode(&obj); err != nil {
			return FormatBattles, nil // broken JSON: the battle reader locates it
		}
		_, plugin := obj["plugin"]
		_, tables := obj["tables"]
		switch {
		case plugin && tables:
			return FormatResult, nil
		case battleFields(obj):
			return FormatBattles, nil
		case hasField(obj, "model"):
			return FormatScoresJSONL, nil
		case len(obj) > 0 && allNumbers(obj):
			return FormatScoresJSON, nil
		}
		return "", &datasets.Error{File: path, Line: 1, Msg: fmt.Sprintf("%s; got an object with fields %s", leaderboardFormats, fieldList(obj))}
	case '[':
		if _, err := dec.Token(); err != nil || !dec.More() {
			return FormatBattles, nil
		}
		var obj map[string]json.RawMessage
		if err := dec.Decode(&obj); err != nil {
			return FormatBattles, nil
		}
		switch {
		case battleFields(obj):
			return FormatBattles, nil
		case hasField(obj, "model"):
			return FormatScoresJSON, nil
		}
		return "", &datasets.Error{File: path, Field: "[0]", Msg: fmt.Sprintf("%s; got an object with fields %s", leaderboardFormats, fieldList(obj))}
	}
	line, err := br.ReadString('\n')
	if err != nil && line == "" {
		return FormatBattles, nil
	}
	cr := csv.NewReader(strings.NewReader(line))
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	header, err := cr.Read()
	if err != nil {
		return FormatBattles, nil
	}
	cols := map[string]bool{}
	for _, h := range header {
		cols[strings.ToLower(strings.TrimSpace(h))] = true
	}
	switch {
	case cols["model_a"]:
		return FormatBattles, nil
	case cols["model"]:
		for _, c := range scoreColumns {
			if cols[c] {
				return FormatScoresCSV, nil
			}
		}
		return "", &datasets.Error{File: path, Line: 1, Field: "score",
			Msg: fmt.Sprintf("missing: a leaderboard CSV names a score column (%s) beside model; %s; got header %q", strings.Join(scoreColumns, ", "), leaderboardFormats, strings.TrimSpace(line))}
	}
	return "", &datasets.Error{File: path, Line: 1, Msg: fmt.Sprintf("%s; got header %q", leaderboardFormats, strings.TrimSpace(line))}
}

// battleFields reports whether obj looks like a battle record: model_a, or
// games (an arena-hard judgment, whose model field names the contestant).
func battleFields(obj map[string]json.RawMessage) bool {
	return hasField(obj, "model_a") || hasField(obj, "games")
}

// hasField reports whether obj has key, in any case.
func hasField(obj map[string]json.RawMessage, key string) bool {
	for k := range obj {
		if strings.EqualFold(strings.TrimSpace(k), key) {
			return true
		}
	}
	return false
}

func allNumbers(obj map[string]json.RawMessage) bool {
	for _, v := range obj {
		var f float64
		if json.Unmarshal(v, &f) != nil {
			return false
		}
	}
	return true
}

func fieldList(obj map[string]json.RawMessage) string {
	if len(obj) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, strconv.Quote(k))
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

// scoreReader reads plain leaderboards into lb.
type scoreReader struct {
	name   string
	lb     *Leaderboard
	seen   map[string]int // model → its index
	places []string       // per model, where it was given ("line 3", "[2]")
}

// add appends model with score, read at line (0 if unknown) in field.
func (sr *scoreReader) add(model string, score float64, line int, modelField, scoreField, where string) error {
	if model == "" {
		return datasets.Errorf(sr.name, line, modelField, "want a model name, got an empty string")
	}
	if j, dup := sr.seen[model]; dup {
		return datasets.Errorf(sr.name, line, modelField, "want each model once, got %q again (first at %s)", model, sr.places[j])
	}
	if math.IsNaN(score) || math.IsInf(score, 0) {
		return datasets.Errorf(sr.name, line, scoreField, "want a finite score for %q, got %v", model, score)
	}
	sr.seen[model] = len(sr.lb.Models)
	sr.lb.Models = append(sr.lb.Models, model)
	sr.lb.Scores = append(sr.lb.Scores, score)
	sr.places = append(sr.places, where)
	return nil
}

func (sr *scoreReader) csv(r io.Reader) error {
	br := bufio.NewReader(r)
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return sr.csvError(err)
	}
	mc, sc := -1, -1
	scoreName := ""
	for _, want := range scoreColumns {
		for i, h := range header {
			if sc < 0 && strings.EqualFold(strings.TrimSpace(h), want) {
				sc, scoreName = i, strings.TrimSpace(h)
			}
		}
	}
	for i, h := range header {
		if mc < 0 && strings.EqualFold(strings.TrimSpace(h), "model") {
			mc = i
		}
	}
	if mc < 0 || sc < 0 {
		return datasets.Errorf(sr.name, 1, "", "%s; got header %q", leaderboardFormats, strings.Join(header, ","))
	}
	modelName := strings.TrimSpace(header[mc])
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return sr.csvError(err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) <= max(mc, sc) {
			return datasets.Errorf(sr.name, line, "", "want %d fields, as the header, got %d", len(header), len(rec))
		}
		cell := strings.TrimSpace(rec[sc])
		score, perr := strconv.ParseFloat(cell, 64)
		if perr != nil {
			return datasets.Errorf(sr.name, line, scoreName, "want a number, got %q", cell)
		}
		if err := sr.add(strings.TrimSpace(rec[mc]), score, line, modelName, scoreName, fmt.Sprintf("line %d", line)); err != nil {
			return err
		}
	}
}

func (sr *scoreReader) csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return datasets.Errorf(sr.name, pe.Line, "", "%v", pe.Err)
	}
	return &datasets.Error{File: sr.name, Msg: err.Error()}
}

// record reads one {"model": …, "score": …} object.
func (sr *scoreReader) record(raw json.RawMessage, line int, prefix, where string) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return datasets.Errorf(sr.name, line, strings.TrimSuffix(prefix, "."), "want an object {\"model\": …, \"score\": …}")
	}
	// Sorted keys: the same field wins whatever the map's order.
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var model string
	var modelRaw, scoreRaw json.RawMessage
	scoreKey := ""
	for _, want := range scoreColumns {
		for _, k := range keys {
			if scoreKey == "" && strings.EqualFold(strings.TrimSpace(k), want) {
				scoreKey, scoreRaw = k, obj[k]
			}
		}
	}
	for _, k := range keys {
		if modelRaw == nil && strings.EqualFold(strings.TrimSpace(k), "model") {
			modelRaw = obj[k]
		}
	}
	if modelRaw == nil {
		return datasets.Errorf(sr.name, line, prefix+"model", "missing: want the model's name")
	}
	if err := json.Unmarshal(modelRaw, &model); err != nil {
		return datasets.Errorf(sr.name, line, prefix+"model", "want a string, got %s", bytes.TrimSpace(modelRaw))
	}
	if scoreRaw == nil {
		return datasets.Errorf(sr.name, line, prefix+"score", "missing: want a score (field score, rating or elo)")
	}
	var score float64
	if err := json.Unmarshal(scoreRaw, &score); err != nil {
		return datasets.Errorf(sr.name, line, prefix+scoreKey, "want a number, got %s", bytes.TrimSpace(scoreRaw))
	}
	return sr.add(model, score, line, prefix+"model", prefix+scoreKey, where)
}

func (sr *scoreReader) jsonl(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte{0xEF, 0xBB, 0xBF})
		}
		if len(b) == 0 {
			continue
		}
		if err := sr.record(b, line, "", fmt.Sprintf("line %d", line)); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return datasets.Errorf(sr.name, line+1, "", "%v", err)
	}
	return nil
}

func (sr *scoreReader) json(r io.Reader) error {
	b, err := io.ReadAll(io.LimitReader(r, 256<<20))
	if err != nil {
		return &datasets.Error{File: sr.name, Msg: err.Error()}
	}
	b = bytes.TrimPrefix(bytes.TrimSpace(b), []byte{0xEF, 0xBB, 0xBF})
	if len(b) > 0 && b[0] == '[' {
		var elems []json.RawMessage
		if err := json.Unmarshal(b, &elems); err != nil {
			return &datasets.Error{File: sr.name, Msg: "want a JSON array of {\"model\": …, \"score\": …}: " + err.Error()}
		}
		for i, e := range elems {
			where := fmt.Sprintf("[%d]", i)
			if err := sr.record(e, 0, where+".", where); err != nil {
				return err
			}
		}
		return nil
	}
	// {"model": score, …}, in the file's order.
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		return &datasets.Error{File: sr.name, Msg: "want a JSON object {\"model\": score, …}: " + err.Error()}
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return &datasets.Error{File: sr.name, Msg: "want a JSON object {\"model\": score, …}: " + err.Error()}
		}
		model, _ := tok.(string)
		var score float64
		if err := dec.Decode(&score); err != nil {
			return datasets.Errorf(sr.name, 0, model, "want a number: %v", err)
		}
		if err := sr.add(model, score, 0, model, model, strconv.Quote(model)); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return &datasets.Error{File: sr.name, Msg: "want a JSON object {\"model\": score, …}: " + err.Error()}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &datasets.Error{File: sr.name, Msg: "want one JSON object {\"model\": score, …}, got more after it"}
	}
	return nil
}

// loadResultLeaderboard reads the ratings table of a bt.ratings or
// bt.plackett_luce result.
func loadResultLeaderboard(path string) (*Leaderboard, error) {
	rc, err := datasets.Open(path)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, &datasets.Error{File: path, Msg: err.Error()}
	}
	var res kernel.Result
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, &datasets.Error{File: path, Msg: "want a result JSON: " + err.Error()}
	}
	for _, want := range []struct{ table, label, score string }{{"leaderboard", "model", "rating"}, {"ratings", "item", "theta"}} {
		t, ok := res.Tables[want.table]
		if !ok {
			continue
		}
		if t.Col(want.label) < 0 || t.Col(want.score) < 0 {
			return nil, &datasets.Error{File: path, Field: "tables." + want.table,
				Msg: fmt.Sprintf("want columns %s and %s, got %s", want.label, want.score, strings.Join(t.Columns, ", "))}
		}
		lb := &Leaderboard{Name: path, Format: FormatResult, Models: t.Strings(want.label), Scores: t.Floats(want.score)}
		seen := map[string]bool{}
		for i, m := range lb.Models {
			if seen[m] {
				return nil, &datasets.Error{File: path, Field: fmt.Sprintf("tables.%s.rows[%d]", want.table, i), Msg: fmt.Sprintf("want each %s once, got %q again", want.label, m)}
			}
			seen[m] = true
			if math.IsNaN(lb.Scores[i]) || math.IsInf(lb.Scores[i], 0) {
				return nil, &datasets.Error{File: path, Field: fmt.Sprintf("tables.%s.rows[%d]", want.table, i), Msg: fmt.Sprintf("want a finite %s for %q, got %v", want.score, m, lb.Scores[i])}
			}
		}
		return lb, nil
	}
	return nil, &datasets.Error{File: path, Field: "tables",
		Msg: fmt.Sprintf("want a bt.ratings result (table leaderboard) or a bt.plackett_luce result (table ratings), got %s result with tables %s",
			res.Plugin, strings.Join(res.TableNames(), ", "))}
}

// Agreement is the rank agreement of two leaderboards on their common models.
type Agreement struct {
	Models       []string  // common models, sorted by name
	A, B         []float64 // their scores
	OnlyA, OnlyB []string  // models of one leaderboard only
	Tau, Rho     float64   // Kendall τ-b and Spearman ρ
	// 95% percentile bootstrap intervals; NaN without a bootstrap.
	TauLow, TauHigh, RhoLow, RhoHigh float64
	// Bootstrap is "battles" (both leaderboards refitted on multinomial
	// resamples of their battles), "models" (the common models resampled
	// with replacement) or "" (none); Rounds counts the replicates used
	// (a models replicate with a constant side is skipped).
	Bootstrap string
	Rounds    int
}

// Bootstrap kinds of Agreement.Bootstrap.
const (
	BootstrapBattles = "battles"
	BootstrapModels  = "models"
)

// CompareLeaderboards measures how two leaderboards agree on the models they
// share: Kendall τ-b (as BOSE and MIRAGE-Bench report) and Spearman ρ, with
// 95% bootstrap intervals over rounds replicates drawn from rng — of the
// battles when both leaderboards were fitted from battles (the sampling
// noise of each arena), otherwise of the models (how much the agreement
// depends on which models are compared).
func CompareLeaderboards(a, b *Leaderboard, rounds int, rng *rand.Rand) (*Agreement, error) {
	ag := &Agreement{TauLow: math.NaN(), TauHigh: math.NaN(), RhoLow: math.NaN(), RhoHigh: math.NaN()}
	inB := map[string]int{}
	for i, m := range b.Models {
		inB[m] = i
	}
	inA := map[string]bool{}
	for _, m := range a.Models {
		inA[m] = true
	}
	for _, m := range a.Models {
		if _, ok := inB[m]; ok {
			ag.Models = append(ag.Models, m)
		} else {
			ag.OnlyA = append(ag.OnlyA, m)
		}
	}
	for _, m := range b.Models {
		if !inA[m] {
			ag.OnlyB = append(ag.OnlyB, m)
		}
	}
	sort.Strings(ag.Models)
	sort.Strings(ag.OnlyA)
	sort.Strings(ag.OnlyB)
	if len(ag.Models) < 2 {
		return nil, fmt.Errorf("bt: compare: want at least 2 models in both leaderboards, got %d in common (%s: %d models, %s: %d)",
			len(ag.Models), a.Name, len(a.Models), b.Name, len(b.Models))
	}
	ag.A, ag.B = commonScores(a, ag.Models), commonScores(b, ag.Models)
	var err error
	if ag.Tau, err = KendallTau(ag.A, ag.B); err != nil {
		return nil, err
	}
	if ag.Rho, err = SpearmanRho(ag.A, ag.B); err != nil {
		return nil, err
	}
	if rounds <= 0 {
		return ag, nil
	}
	var taus, rhos []float64
	if a.Counts != nil && b.Counts != nil {
		ag.Bootstrap = BootstrapBattles
		for range rounds {
			ra, err := LeaderboardFromCounts(a.Name, Resample(a.Counts, rng))
			if err != nil {
				return nil, err
			}
			rb, err := LeaderboardFromCounts(b.Name, Resample(b.Counts, rng))
			if err != nil {
				return nil, err
			}
			x, y := commonScores(ra, ag.Models), commonScores(rb, ag.Models)
			tau, err1 := KendallTau(x, y)
			rho, err2 := SpearmanRho(x, y)
			if err1 == nil && err2 == nil {
				taus, rhos = append(taus, tau), append(rhos, rho)
			}
		}
	} else {
		ag.Bootstrap = BootstrapModels
		n := len(ag.Models)
		x, y := make([]float64, n), make([]float64, n)
		for range rounds {
			for i := range x {
				j := rng.IntN(n)
				x[i], y[i] = ag.A[j], ag.B[j]
			}
			tau, err1 := KendallTau(x, y)
			rho, err2 := SpearmanRho(x, y)
			if err1 == nil && err2 == nil {
				taus, rhos = append(taus, tau), append(rhos, rho)
			}
		}
	}
	ag.Rounds = len(taus)
	if ag.Rounds > 0 {
		sort.Float64s(taus)
		sort.Float64s(rhos)
		ag.TauLow, ag.TauHigh = Quantile(taus, 0.025), Quantile(taus, 0.975)
		ag.RhoLow, ag.RhoHigh = Quantile(rhos, 0.025), Quantile(rhos, 0.975)
	}
	return ag, nil
}

// commonScores returns l's scores of models (which l must all have).
func commonScores(l *Leaderboard, models []string) []float64 {
	idx := make(map[string]int, len(l.Models))
	for i, m := range l.Models {
		idx[m] = i
	}
	out := make([]float64, len(models))
	for i, m := range models {
		out[i] = l.Scores[idx[m]]
	}
	return out
}

// ParamBattlesB (int, default 1000) is the battle count of bt.compare's
// second synthetic arena, used without --data.
const ParamBattlesB = "battles_b"

// DefaultCompareRounds is the default ParamBootstrapRounds of bt.compare.
const DefaultCompareRounds = 200

func init() { kernel.Register(comparePlugin{}) }

type comparePlugin struct{}

var (
	_ kernel.Plugin = comparePlugin{}
	_ kernel.Quick  = comparePlugin{}
)

// QuickParams are small params that still draw random numbers (the second
// arena's battles, the bootstrap resamples).
func (comparePlugin) QuickParams() map[string]any {
	return map[string]any{ParamBootstrapRounds: 10, ParamBattlesB: 300}
}

// PaperKendall is Kendall's τ.
var PaperKendall = kernel.Paper{Authors: "M. G. Kendall", Year: 1938, Title: "A new measure of rank correlation"}

func (comparePlugin) Info() kernel.Info {
	return kernel.Info{
		ID:        "bt.compare",
		Precision: "float64, in plain Go (gonum), no GoMLX graph: the Newton and MM solvers fit the likelihood to its maximum.",
		Summary:   "Rank agreement of two leaderboards: Kendall τ-b and Spearman ρ with bootstrap intervals",
		Papers: []kernel.Paper{PaperKendall,
			{Authors: "C. Spearman", Year: 1904, Title: "The proof and measurement of association between two things"}},
		Params: append([]kernel.Param{
			kernel.IntParam(ParamBootstrapRounds, DefaultCompareRounds, 0, 100000, "bootstrap replicates for the 95% intervals (0: none)"),
		}, kernel.Generators(
			kernel.IntParam(ParamBattlesB, 1000, 1, 1<<26, "no --data: battles of the second arena"),
		)...),
		Data: []kernel.DataFormat{
			{Name: "two leaderboards (--data A --data B)", Doc: `each, told by its content (gzip or not), one of
  a plain leaderboard: CSV whose header names model and score (or rating, or elo; other
    columns ignored), or JSON: [{"model": …, "score": …}, …], one such object per line, or
    {"model": score, …};
  a result JSON of bt.ratings (its leaderboard table: model, rating) or of bt.plackett_luce
    (its ratings table: item, theta), as written by alignlab run;
  a battle file (JSONL, JSON array or CSV with model_a, model_b, winner, as bt.ratings
    reads), which is fitted here (Bradley–Terry, Newton, half ties, prior 1 only when a
    rating would be infinite).
A file in none of these formats is an error that lists them`,
				Example: "--data arena-leaderboard.csv --data build/judge-b/result.json"},
		},
		Doc: `Compares two leaderboards on the models they share (Kendall 1938; Spearman 1904):

    τ_b = (n_c − n_d) / √((n₀ − n_a)(n₀ − n_b)),   ρ = Pearson correlation of the ranks,

n_c / n_d the concordant / discordant model pairs, n₀ = n(n−1)/2, n_a, n_b the pairs tied
in one leaderboard (τ-b, scipy's default, is τ-a without ties; tied scores share their
mean rank in ρ). BOSE and MIRAGE-Bench report such τ between a cheap and a reference
ranking. 95% intervals are percentiles over bootstrap_rounds seeded replicates: when both
inputs are battle files, both arenas are resampled (multinomial on their battle counts)
and refitted, so the interval shows the sampling noise of the two arenas; otherwise the
common models are resampled with replacement.

Reports: finals kendall_tau, spearman_rho, tau_ci_low, tau_ci_high, rho_ci_low,
rho_ci_high, models (in common), only_in_a, only_in_b, bootstrap_rounds_used; table
models (model, score_a, score_b, rank_a, rank_b; sorted by score_a) and a scatter chart.

Without --data it compares the embedded sample arena (5,000 battles) with a second arena
of battles_b battles drawn from the same planted strengths (another "judge" with fewer
votes), and also reports each one's τ against the planted order (tau_a_planted,
tau_b_planted). With --data, result.provenance.data records each file's shape: format and
models, and battles (and battle_weight, weighted) for a battle file.`,
	}
}

func (comparePlugin) Run(job *kernel.Job) error {
	prm := job.Params
	var a, b *Leaderboard
	var planted map[string]float64
	switch len(job.Data) {
	case 0:
		battles, err := datasets.SampleBattles()
		if err != nil {
			return err
		}
		ca, err := datasets.AggregateBattles(battles)
		if err != nil {
			return err
		}
		// The sample's planted strengths (drawn from its seed before any
		// battle), then fresh battles from another seed.
		cfg := datasets.SampleArenaConfig()
		cfg.Battles = 0
		if _, planted, err = datasets.GenerateArena(cfg); err != nil {
			return err
		}
		cfg.Theta = make([]float64, len(cfg.Names))
		for i, n := range cfg.Names {
			cfg.Theta[i] = planted[n]
		}
		cfg.Battles = prm.Int(ParamBattlesB)
		cfg.Seed = job.Rand().Uint64()
		bb, _, err := datasets.GenerateArena(cfg)
		if err != nil {
			return err
		}
		cb, err := datasets.AggregateBattles(bb)
		if err != nil {
			return err
		}
		if a, err = LeaderboardFromCounts(datasets.SampleArenaName, ca); err != nil {
			return err
		}
		if b, err = LeaderboardFromCounts(fmt.Sprintf("second arena (%d battles)", cfg.Battles), cb); err != nil {
			return err
		}
		job.Note("no --data: comparing the sample arena (%d battles) with a second arena of %d battles drawn from the same planted strengths",
			ca.Battles(), cb.Battles())
	case 2:
		var err error
		if a, err = LoadLeaderboard(job.Data[0]); err != nil {
			return err
		}
		if b, err = LoadLeaderboard(job.Data[1]); err != nil {
			return err
		}
		job.DataShape(0, leaderboardShape(a)...)
		job.DataShape(1, leaderboardShape(b)...)
		job.Note("A: %s (%d models); B: %s (%d models)", a.Format, len(a.Models), b.Format, len(b.Models))
	default:
		return job.DataCountError("2 files, two leaderboards (--data A --data B)")
	}
	rounds := prm.Int(ParamBootstrapRounds)
	ag, err := CompareLeaderboards(a, b, rounds, job.Rand())
	if err != nil {
		return err
	}
	job.SetFinal("kendall_tau", ag.Tau)
	job.SetFinal("spearman_rho", ag.Rho)
	if ag.Rounds > 0 {
		job.SetFinal("tau_ci_low", ag.TauLow)
		job.SetFinal("tau_ci_high", ag.TauHigh)
		job.SetFinal("rho_ci_low", ag.RhoLow)
		job.SetFinal("rho_ci_high", ag.RhoHigh)
		job.Note("95%% intervals from %d bootstrap replicates of the %s", ag.Rounds, ag.Bootstrap)
	}
	job.SetFinal("bootstrap_rounds_used", float64(ag.Rounds))
	job.SetFinal("models", float64(len(ag.Models)))
	job.SetFinal("only_in_a", float64(len(ag.OnlyA)))
	job.SetFinal("only_in_b", float64(len(ag.OnlyB)))
	if len(ag.OnlyA)+len(ag.OnlyB) > 0 {
		job.Note("compared on the %d common models; only in A: %s; only in B: %s", len(ag.Models), listOrNone(ag.OnlyA), listOrNone(ag.OnlyB))
	}
	if planted != nil {
		truth := make([]float64, len(ag.Models))
		for i, m := range ag.Models {
			truth[i] = planted[m]
		}
		if tau, err := KendallTau(ag.A, truth); err == nil {
			job.SetFinal("tau_a_planted", tau)
		}
		if tau, err := KendallTau(ag.B, truth); err == nil {
			job.SetFinal("tau_b_planted", tau)
		}
	}
	ra, rb := Ranks(negate(ag.A)), Ranks(negate(ag.B))
	order := make([]int, len(ag.Models))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool { return ag.A[order[x]] > ag.A[order[y]] })
	t := job.AddTable("models", "model", "score_a", "score_b", "rank_a", "rank_b")
	for _, i := range order {
		t.Add(ag.Models[i], ag.A[i], ag.B[i], ra[i], rb[i])
	}
	job.AddChart(kernel.Chart{Kind: "scatter", ID: "scores", Title: fmt.Sprintf("Leaderboard A vs B (τ-b = %.3f)", ag.Tau),
		Table: "models", X: "score_a", Y: "score_b", XLabel: "A: " + a.Name, YLabel: "B: " + b.Name})
	return nil
}

// leaderboardShape is what LoadLeaderboard read, for Job.DataShape: the
// format and models, and for a battle file its battles.
func leaderboardShape(l *Leaderboard) []any {
	kv := []any{"format", l.Format, "models", len(l.Models)}
	if l.Counts != nil {
		kv = append(kv, "battles", l.Counts.Battles())
		if l.Counts.Weighted() {
			kv = append(kv, "battle_weight", l.Counts.TotalWeight())
		}
	}
	return kv
}

func negate(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = -x
	}
	return out
}

func listOrNone(v []string) string {
	if len(v) == 0 {
		return "none"
	}
	return strings.Join(v, ", ")
}
