package datasets

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
)

// Labeled is a set of binary-labelled examples, each tagged with the data
// source it came from (a web crawl, an annotator pool, a synthetic
// generator): the input of data-reweighting methods, which learn how much
// to trust each source.
type Labeled struct {
	Dim      int
	Sources  []string // distinct source names, in order of first appearance
	Examples []Example
}

// Example is one labelled example of a Labeled set.
type Example struct {
	Features []float64 // length Dim
	Label    int       // 0 or 1
	Source   int       // index into Labeled.Sources
	// Flipped reports, for generated data, that the label was flipped
	// after the draw from the planted model.
	Flipped bool
}

// SourcesConfig configures GenerateSources: len(FlipRates) training sources
// of PerSource examples each, labelled by one planted logistic model and
// then flipped at a per-source rate, and clean validation and test sets.
type SourcesConfig struct {
	Dim       int       // feature dimension d ≥ 1
	WNorm     float64   // ‖w*‖ > 0, the norm of the planted weights
	PerSource int       // examples per training source, ≥ 1
	FlipRates []float64 // one per source, each in [0, 1]; at least one
	Val       int       // clean validation examples, ≥ 1
	Test      int       // clean test examples, ≥ 0
}

// SourceSet is a generated multi-source classification problem.
type SourceSet struct {
	Train *Labeled  // the sources, in the order of FlipRates, named s0, s1, …
	Val   *Labeled  // clean: source "val"
	Test  *Labeled  // clean: source "test"; nil when SourcesConfig.Test is 0
	W     []float64 // the planted weights: P(y = 1 | x) = σ(W·x)
	// FlipRates are the sources' label-flip rates, as configured.
	FlipRates []float64
}

// SourceName returns the name GenerateSources and GeneratePrefSources give
// to source k: "s0", "s1", ….
func SourceName(k int) string { return "s" + strconv.Itoa(k) }

func checkSourceRates(what string, rates []float64) error {
	if len(rates) == 0 {
		return fmt.Errorf("datasets: %s: want at least one source (flip rate), got none", what)
	}
	for k, e := range rates {
		if !(e >= 0 && e <= 1) {
			return fmt.Errorf("datasets: %s: flip rate of source %d must be in [0, 1], got %v", what, k, e)
		}
	}
	return nil
}

// GenerateSources draws a planted multi-source problem from r:
//
//   - w* uniform on the sphere of radius WNorm in R^Dim (no intercept);
//   - every example x ~ N(0, I_Dim), y ~ Bernoulli(σ(w*·x)), so that the
//     margin w*·x has standard deviation WNorm;
//   - the label of an example of source k is then flipped with probability
//     FlipRates[k]; the validation and test labels are never flipped.
//
// Draws are made in the order w*, the sources (in order), validation, test,
// and per example: x, the label, the flip.
func GenerateSources(cfg SourcesConfig, r *rand.Rand) (*SourceSet, error) {
	if err := checkSphere("sources", cfg.Dim, cfg.WNorm); err != nil {
		return nil, err
	}
	switch {
	case cfg.PerSource < 1:
		return nil, fmt.Errorf("datasets: sources: examples per source must be ≥ 1, got %d", cfg.PerSource)
	case cfg.Val < 1:
		return nil, fmt.Errorf("datasets: sources: validation examples must be ≥ 1, got %d", cfg.Val)
	case cfg.Test < 0:
		return nil, fmt.Errorf("datasets: sources: test examples must be ≥ 0, got %d", cfg.Test)
	}
	if err := checkSourceRates("sources", cfg.FlipRates); err != nil {
		return nil, err
	}
	w := sphere(cfg.Dim, cfg.WNorm, r)
	draw := func(source int, eps float64) Example {
		x := make([]float64, cfg.Dim)
		for j := range x {
			x[j] = r.NormFloat64()
		}
		e := Example{Features: x, Source: source}
		if r.Float64() < sigmoid(dot(w, x)) {
			e.Label = 1
		}
		if r.Float64() < eps {
			e.Label, e.Flipped = 1-e.Label, true
		}
		return e
	}
	s := &SourceSet{W: w, FlipRates: append([]float64(nil), cfg.FlipRates...)}
	s.Train = &Labeled{Dim: cfg.Dim, Examples: make([]Example, 0, len(cfg.FlipRates)*cfg.PerSource)}
	for k, eps := range cfg.FlipRates {
		s.Train.Sources = append(s.Train.Sources, SourceName(k))
		for range cfg.PerSource {
			s.Train.Examples = append(s.Train.Examples, draw(k, eps))
		}
	}
	clean := func(name string, n int) *Labeled {
		l := &Labeled{Dim: cfg.Dim, Sources: []string{name}, Examples: make([]Example, n)}
		for i := range l.Examples {
			l.Examples[i] = draw(0, 0)
		}
		return l
	}
	s.Val = clean("val", cfg.Val)
	if cfg.Test > 0 {
		s.Test = clean("test", cfg.Test)
	}
	return s, nil
}

// PrefSourcesConfig configures GeneratePrefSources: preference pairs of the
// planted log-linear testbed (GeneratePrefs) split into len(FlipRates)
// sources, each with its own label-flip rate, and clean validation and test
// pairs.
type PrefSourcesConfig struct {
	Dim        int       // feature dimension d ≥ 1
	WNorm      float64   // ‖w*‖ > 0
	Candidates int       // candidates per prompt, ≥ 2
	RandomRef  bool      // π_ref = softmax of N(0, 1) logits instead of uniform
	PerSource  int       // pairs per training source, ≥ 1
	FlipRates  []float64 // one per source, each in [0, 1]; at least one
	Val        int       // clean validation pairs, ≥ 1
	Test       int       // clean test pairs, ≥ 1
}

// PrefSources is a multi-source preference problem: training pairs tagged
// with their source, and clean validation and test pairs.
type PrefSources struct {
	Train   *Prefs
	Source  []int    // source of each training pair, an index into Sources
	Sources []string // source names
	// FlipRates are the sources' flip rates; NaN where unknown (loaded data).
	FlipRates []float64
	Val, Test *Prefs // clean pairs; nil when not given (loaded data)
}

// GeneratePrefSources draws one planted testbed with GeneratePrefs (w*,
// features, π_ref and Bradley–Terry labels exactly as there, with no flips)
// holding PerSource pairs per source, then the validation pairs, then the
// test pairs; it then flips the label of each pair of source k with
// probability FlipRates[k], drawing from r in pair order. Every *Prefs
// carries the same Truth (w*), whose held-out prompts are the test pairs'
// prompts and whose FlipRate is the mean training flip rate (0 for the
// clean sets).
func GeneratePrefSources(cfg PrefSourcesConfig, r *rand.Rand) (*PrefSources, error) {
	switch {
	case cfg.PerSource < 1:
		return nil, fmt.Errorf("datasets: pref sources: pairs per source must be ≥ 1, got %d", cfg.PerSource)
	case cfg.Val < 1:
		return nil, fmt.Errorf("datasets: pref sources: validation pairs must be ≥ 1, got %d", cfg.Val)
	case cfg.Test < 1:
		return nil, fmt.Errorf("datasets: pref sources: test pairs must be ≥ 1, got %d", cfg.Test)
	}
	if err := checkSourceRates("pref sources", cfg.FlipRates); err != nil {
		return nil, err
	}
	nTrain := len(cfg.FlipRates) * cfg.PerSource
	all, err := GeneratePrefs(PrefsConfig{
		Dim: cfg.Dim, WNorm: cfg.WNorm, Candidates: cfg.Candidates, RandomRef: cfg.RandomRef,
		Pairs: nTrain + cfg.Val + cfg.Test, FlipRate: 0, TestPrompts: 1,
	}, r)
	if err != nil {
		return nil, err
	}
	split := func(lo, hi int) *Prefs {
		p := &Prefs{Dim: all.Dim, Prompts: make([]Prompt, 0, hi-lo), Pairs: make([]Pair, 0, hi-lo)}
		for i := lo; i < hi; i++ {
			pr := all.Pairs[i]
			p.Prompts = append(p.Prompts, all.Prompts[pr.Prompt])
			pr.Prompt = len(p.Pairs)
			p.Pairs = append(p.Pairs, pr)
		}
		return p
	}
	ps := &PrefSources{
		Train:     split(0, nTrain),
		Val:       split(nTrain, nTrain+cfg.Val),
		Test:      split(nTrain+cfg.Val, nTrain+cfg.Val+cfg.Test),
		Source:    make([]int, nTrain),
		FlipRates: append([]float64(nil), cfg.FlipRates...),
	}
	mean := 0.0
	for k, eps := range cfg.FlipRates {
		ps.Sources = append(ps.Sources, SourceName(k))
		mean += eps / float64(len(cfg.FlipRates))
		for i := k * cfg.PerSource; i < (k+1)*cfg.PerSource; i++ {
			ps.Source[i] = k
			if r.Float64() < eps {
				pr := &ps.Train.Pairs[i]
				pr.Chosen, pr.Rejected, pr.Flipped = pr.Rejected, pr.Chosen, true
			}
		}
	}
	w := all.Truth.W
	ps.Train.Truth = &PrefsTruth{W: w, FlipRate: mean, Test: ps.Test.Prompts}
	ps.Val.Truth = &PrefsTruth{W: w, Test: ps.Test.Prompts}
	ps.Test.Truth = &PrefsTruth{W: w, Test: ps.Test.Prompts}
	return ps, nil
}

// sourcesMaxLine bounds one JSONL line of a sources file.
const sourcesMaxLine = 16 << 20

// LoadSources reads a multi-source classification file in JSON Lines, one
// example per line:
//
//	{"features": [0.3, -1.2, ...], "label": 1, "source": "web"}
//
// features is a non-empty array of finite numbers, of the same length on
// every line; label is 0 or 1; source is a non-empty string naming the
// example's data source. Blank lines and other fields are ignored.
//
// Problems are reported as *Error naming the file, the 1-based line and the
// field, e.g. "train.jsonl:7: label: want 0 or 1, got 2".
func LoadSources(path string) (*Labeled, error) { return loadLabeled(path, true) }

// LoadExamples reads a file in LoadSources's format in which source is
// optional (a clean validation or test set): examples without one belong
// to the source "".
func LoadExamples(path string) (*Labeled, error) { return loadLabeled(path, false) }

func loadLabeled(path string, needSource bool) (*Labeled, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadLabeled(f, path, needSource)
}

// ReadLabeled reads examples from r in LoadSources's format; name is the
// file name used in errors, and needSource says whether every line must
// name its source.
func ReadLabeled(r io.Reader, name string, needSource bool) (*Labeled, error) {
	l := &Labeled{}
	index := map[string]int{}
	if err := readJSONRecords(r, name, sourcesMaxLine, "examples", func(b []byte, line, col0 int) error {
		return l.addLine(b, name, line, col0, needSource, index)
	}); err != nil {
		return nil, err
	}
	return l, nil
}

// sourcesLine is one line of a sources file; values stay raw so that a bad
// one is reported with its exact place and kind.
type sourcesLine struct {
	Features []json.RawMessage `json:"features"`
	Label    json.RawMessage   `json:"label"`
	Source   json.RawMessage   `json:"source"`
}

// addLine reads line b of the file; col0 bytes of the line precede b.
func (l *Labeled) addLine(b []byte, name string, line, col0 int, needSource bool, index map[string]int) error {
	var raw sourcesLine
	if err := decodeJSONRecord(&raw, b, name, line, col0); err != nil {
		return err
	}
	if raw.Features == nil {
		return Errorf(name, line, "features", "missing: want an array of numbers")
	}
	if len(raw.Features) == 0 {
		return Errorf(name, line, "features", "want a non-empty array of numbers, got []")
	}
	if l.Dim == 0 {
		l.Dim = len(raw.Features)
	}
	if len(raw.Features) != l.Dim {
		return Errorf(name, line, "features", "want %d numbers (the file's feature dimension), got %d", l.Dim, len(raw.Features))
	}
	e := Example{Features: make([]float64, l.Dim)}
	if j, got := finiteNumbers(e.Features, raw.Features); j >= 0 {
		return Errorf(name, line, fmt.Sprintf("features[%d]", j), "want a finite number, got %s", got)
	}
	if raw.Label == nil {
		return Errorf(name, line, "label", "missing: want 0 or 1")
	}
	y, bad := jsonNumber(raw.Label)
	if bad != "" || (y != 0 && y != 1) {
		return Errorf(name, line, "label", "want 0 or 1, got %s", badOr(bad, y))
	}
	e.Label = int(y)
	src := ""
	switch {
	case raw.Source == nil && needSource:
		return Errorf(name, line, "source", "missing: want the name of the example's data source")
	case raw.Source != nil:
		if err := json.Unmarshal(raw.Source, &src); err != nil {
			return Errorf(name, line, "source", "want a string, got %s", sourceKind(raw.Source))
		}
		if src == "" && needSource {
			return Errorf(name, line, "source", "want a non-empty name, got \"\"")
		}
	}
	k, ok := index[src]
	if !ok {
		k = len(l.Sources)
		index[src] = k
		l.Sources = append(l.Sources, src)
	}
	e.Source = k
	l.Examples = append(l.Examples, e)
	return nil
}

// sourceKind describes a JSON value that is not a string.
func sourceKind(raw json.RawMessage) string {
	_, bad := jsonNumber(raw)
	if bad == "" {
		return "number " + string(raw)
	}
	return bad
}

// WriteSources writes l in LoadSources's format, one example per line.
// Numbers are written in the shortest form that reads back exactly.
func WriteSources(w io.Writer, l *Labeled) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	var buf []byte
	for _, e := range l.Examples {
		buf = append(buf[:0], `{"features":`...)
		buf = appendFloats(buf, e.Features)
		buf = fmt.Appendf(buf, `,"label":%d,"source":`, e.Label)
		name, err := json.Marshal(l.Sources[e.Source])
		if err != nil {
			return err
		}
		buf = append(buf, name...)
		buf = append(buf, "}\n"...)
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// LoadPrefSources reads preference pairs in LoadPrefs's format, each line
// with a string field "source" naming its data source:
//
//	{"features": [[...], [...]], "chosen": 0, "rejected": 1, "source": "annotators_b"}
//
// The result has no flip rates (NaN) and no validation or test pairs.
func LoadPrefSources(path string) (*PrefSources, error) {
	p, err := LoadPrefs(path)
	if err != nil {
		return nil, err
	}
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ps := &PrefSources{Train: p, Source: make([]int, 0, len(p.Pairs))}
	index := map[string]int{}
	if err := scanJSONLines(f, path, prefsMaxLine, func(b []byte, line, col0 int) error {
		// LoadPrefs has validated the line; only the source is left to read.
		var raw struct {
			Source json.RawMessage `json:"source"`
		}
		if err := decodeJSONRecord(&raw, b, path, line, col0); err != nil {
			return err
		}
		if raw.Source == nil {
			return Errorf(path, line, "source", "missing: want the name of the pair's data source")
		}
		var src string
		if err := json.Unmarshal(raw.Source, &src); err != nil {
			return Errorf(path, line, "source", "want a string, got %s", sourceKind(raw.Source))
		}
		if src == "" {
			return Errorf(path, line, "source", "want a non-empty name, got \"\"")
		}
		k, ok := index[src]
		if !ok {
			k = len(ps.Sources)
			index[src] = k
			ps.Sources = append(ps.Sources, src)
			ps.FlipRates = append(ps.FlipRates, math.NaN())
		}
		ps.Source = append(ps.Source, k)
		return nil
	}); err != nil {
		return nil, err
	}
	if len(ps.Source) != len(p.Pairs) {
		return nil, &Error{File: path, Msg: fmt.Sprintf("read %d sources for %d pairs (the file changed while being read?)", len(ps.Source), len(p.Pairs))}
	}
	return ps, nil
}
