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

// Prefs is a set of pairwise preferences over finite candidate sets: each
// Pair compares two candidates of one Prompt, described by feature vectors
// φ(x, y) ∈ R^Dim and reference log-probabilities log π_ref(y|x).
type Prefs struct {
	Dim     int
	Prompts []Prompt
	Pairs   []Pair
	// Truth is the planted model when the data was generated (GeneratePrefs);
	// nil for loaded data.
	Truth *PrefsTruth
}

// Prompt is one prompt x: its candidates' features and reference log-probabilities.
type Prompt struct {
	Features [][]float64 // one vector of length Dim per candidate
	// RefLogProbs are log π_ref(y|x) over the candidates, normalised so that
	// their exponentials sum to 1.
	RefLogProbs []float64
}

// Pair is one labelled comparison: candidate Chosen of Prompts[Prompt] was
// preferred to candidate Rejected.
type Pair struct {
	Prompt           int
	Chosen, Rejected int
	Weight           float64 // > 0; 1 unless the file gives one
	// Flipped reports, for generated data, that the label was flipped after
	// the Bradley–Terry draw: the clean label prefers Rejected.
	Flipped bool
}

// PrefsConfig configures GeneratePrefs, the planted log-linear testbed.
type PrefsConfig struct {
	Dim         int     // feature dimension d ≥ 1
	WNorm       float64 // ‖w*‖ > 0, the norm of the planted reward vector
	Candidates  int     // candidates per prompt, ≥ 2
	RandomRef   bool    // π_ref = softmax of N(0, 1) logits instead of uniform
	Pairs       int     // n training comparisons, one prompt each, ≥ 1
	FlipRate    float64 // probability in [0, 1] that a label is flipped
	TestPrompts int     // held-out prompts on which PrefsTruth measures policies, ≥ 1
}

// PrefsTruth is the planted model of generated preferences: the true reward
// r*(x, y) = W·φ(x, y) and held-out prompts on which to measure policies.
type PrefsTruth struct {
	W        []float64
	FlipRate float64
	Test     []Prompt
}

// GeneratePrefs draws the planted log-linear testbed from r:
//
//   - w* uniform on the sphere of radius WNorm in R^Dim;
//   - per prompt, Candidates feature vectors with i.i.d. N(0, 1/Dim) entries
//     (so E‖φ‖² = 1 and r* = w*·φ has standard deviation ‖w*‖/√Dim);
//   - π_ref uniform, or softmax of N(0, 1) logits when RandomRef;
//   - per pair, a fresh prompt and two distinct candidates drawn from π_ref
//     (the second conditioned on differing from the first), labelled by
//     Bradley–Terry, P(y1 ≻ y2) = σ(r*(y1) − r*(y2)), then flipped with
//     probability FlipRate.
//
// The held-out prompts are drawn the same way after the training pairs.
func GeneratePrefs(cfg PrefsConfig, r *rand.Rand) (*Prefs, error) {
	if err := checkSphere("prefs", cfg.Dim, cfg.WNorm); err != nil {
		return nil, err
	}
	switch {
	case cfg.Candidates < 2:
		return nil, fmt.Errorf("datasets: prefs: candidates per prompt must be ≥ 2, got %d", cfg.Candidates)
	case cfg.Pairs < 1:
		return nil, fmt.Errorf("datasets: prefs: pairs must be ≥ 1, got %d", cfg.Pairs)
	case !(cfg.FlipRate >= 0 && cfg.FlipRate <= 1):
		return nil, fmt.Errorf("datasets: prefs: flip rate must be in [0, 1], got %v", cfg.FlipRate)
	case cfg.TestPrompts < 1:
		return nil, fmt.Errorf("datasets: prefs: test prompts must be ≥ 1, got %d", cfg.TestPrompts)
	}
	w := sphere(cfg.Dim, cfg.WNorm, r)
	truth := &PrefsTruth{W: w, FlipRate: cfg.FlipRate}
	p := &Prefs{Dim: cfg.Dim, Prompts: make([]Prompt, cfg.Pairs), Pairs: make([]Pair, cfg.Pairs), Truth: truth}
	probs := make([]float64, cfg.Candidates)
	for i := range p.Pairs {
		x := drawPrompt(cfg, r)
		p.Prompts[i] = x
		for k, lp := range x.RefLogProbs {
			probs[k] = math.Exp(lp)
		}
		y1 := drawIndex(probs, -1, r)
		y2 := drawIndex(probs, y1, r)
		r1, r2 := dot(w, x.Features[y1]), dot(w, x.Features[y2])
		if r.Float64() >= sigmoid(r1-r2) {
			y1, y2 = y2, y1
		}
		flipped := r.Float64() < cfg.FlipRate
		if flipped {
			y1, y2 = y2, y1
		}
		p.Pairs[i] = Pair{Prompt: i, Chosen: y1, Rejected: y2, Weight: 1, Flipped: flipped}
	}
	truth.Test = make([]Prompt, cfg.TestPrompts)
	for i := range truth.Test {
		truth.Test[i] = drawPrompt(cfg, r)
	}
	return p, nil
}

func drawPrompt(cfg PrefsConfig, r *rand.Rand) Prompt {
	scale := 1 / math.Sqrt(float64(cfg.Dim))
	flat := make([]float64, cfg.Candidates*cfg.Dim)
	for i := range flat {
		flat[i] = r.NormFloat64() * scale
	}
	x := Prompt{Features: make([][]float64, cfg.Candidates), RefLogProbs: make([]float64, cfg.Candidates)}
	for k := range x.Features {
		x.Features[k] = flat[k*cfg.Dim : (k+1)*cfg.Dim : (k+1)*cfg.Dim]
	}
	if cfg.RandomRef {
		for k := range x.RefLogProbs {
			x.RefLogProbs[k] = r.NormFloat64()
		}
	}
	normalizeLogProbs(x.RefLogProbs)
	return x
}

// drawIndex draws k with probability ∝ probs[k], excluding skip (−1: none).
func drawIndex(probs []float64, skip int, r *rand.Rand) int {
	total := 0.0
	for k, p := range probs {
		if k != skip {
			total += p
		}
	}
	u := r.Float64() * total
	last := -1
	for k, p := range probs {
		if k == skip {
			continue
		}
		last = k
		if u < p {
			return k
		}
		u -= p
	}
	return last // rounding left u ≥ 0 after the last term
}

// Reward returns r*(x, y_k) = W·φ(x, y_k).
func (t *PrefsTruth) Reward(x Prompt, k int) float64 { return dot(t.W, x.Features[k]) }

// ThetaStar returns θ* = w*/β, the parameter of the optimal log-linear
// policy π* ∝ π_ref·exp(r*/β) of the KL-regularised objective.
func (t *PrefsTruth) ThetaStar(beta float64) []float64 {
	th := make([]float64, len(t.W))
	for i, w := range t.W {
		th[i] = w / beta
	}
	return th
}

// LogLinearScores returns θ·φ(x, y) for every candidate of every held-out
// prompt: the scores of the policy π_θ ∝ π_ref·exp(θ·φ), for Value.
func (t *PrefsTruth) LogLinearScores(theta []float64) [][]float64 {
	out := make([][]float64, len(t.Test))
	for i, x := range t.Test {
		out[i] = make([]float64, len(x.Features))
		for k, f := range x.Features {
			out[i][k] = dot(theta, f)
		}
	}
	return out
}

// Value returns J(π) = mean over the held-out prompts of
// E_{y∼π}[r*(x, y)] − β·KL(π(·|x) ‖ π_ref(·|x)), exactly over each prompt's
// candidates, for the policy π(y|x) ∝ π_ref(y|x)·exp(scores[i][y]) (scores
// are defined up to a constant per prompt, as in LogLinearScores).
func (t *PrefsTruth) Value(beta float64, scores [][]float64) float64 {
	if len(scores) != len(t.Test) {
		panic(fmt.Sprintf("datasets: prefs: Value got scores for %d prompts, want %d", len(scores), len(t.Test)))
	}
	total := 0.0
	var logp []float64
	for i, x := range t.Test {
		if len(scores[i]) != len(x.Features) {
			panic(fmt.Sprintf("datasets: prefs: Value got %d scores for test prompt %d, want %d", len(scores[i]), i, len(x.Features)))
		}
		logp = append(logp[:0], scores[i]...)
		for k := range logp {
			logp[k] += x.RefLogProbs[k]
		}
		normalizeLogProbs(logp)
		for k, lp := range logp {
			pk := math.Exp(lp)
			if pk == 0 {
				continue // 0·log 0 = 0
			}
			total += pk * (t.Reward(x, k) - beta*(lp-x.RefLogProbs[k]))
		}
	}
	return total / float64(len(t.Test))
}

// OptimalValue returns J* = J(π*) = mean over the held-out prompts of
// β·log Σ_y π_ref(y|x)·exp(r*(x, y)/β), the largest value any policy reaches.
func (t *PrefsTruth) OptimalValue(beta float64) float64 {
	total := 0.0
	var v []float64
	for _, x := range t.Test {
		v = v[:0]
		for k := range x.Features {
			v = append(v, x.RefLogProbs[k]+t.Reward(x, k)/beta)
		}
		total += beta * logSumExp(v)
	}
	return total / float64(len(t.Test))
}

// prefsMaxLine bounds one JSONL line of a preference file.
const prefsMaxLine = 64 << 20

// LoadPrefs reads a preference file in JSON Lines, one comparison per line:
//
//	{"features": [[...], [...], ...], "ref_logprobs": [...], "chosen": 0, "rejected": 2, "weight": 1}
//
// features holds one vector per candidate of the line's prompt (at least 2
// candidates; every vector of the file has the same length); ref_logprobs,
// optional, gives log π_ref(y|x) per candidate (default uniform; it is
// renormalised over the candidates); chosen and rejected are distinct
// candidate indices; weight, optional, is a finite number > 0 (default 1).
// Each line is its own prompt. Blank lines and other fields are ignored.
//
// Problems are reported as *Error naming the file, the 1-based line and the
// field, e.g. "p.jsonl:3: features[2][1]: want a finite number, got NaN".
func LoadPrefs(path string) (*Prefs, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadPrefs(f, path)
}

// ReadPrefs reads preferences from r in LoadPrefs's format; name is the file
// name used in errors.
func ReadPrefs(r io.Reader, name string) (*Prefs, error) {
	p := &Prefs{}
	if err := readJSONRecords(r, name, prefsMaxLine, "comparisons", func(b []byte, line, col0 int) error {
		return p.addLine(b, name, line, col0)
	}); err != nil {
		return nil, err
	}
	return p, nil
}

// prefsLine is one line of a preference file. Numbers stay raw so that a
// bad one (a string, NaN) is reported with its exact place.
type prefsLine struct {
	Features    [][]json.RawMessage `json:"features"`
	RefLogProbs []json.RawMessage   `json:"ref_logprobs"`
	Chosen      *int                `json:"chosen"`
	Rejected    *int                `json:"rejected"`
	Weight      json.RawMessage     `json:"weight"`
}

// addLine reads line b of the file; col0 bytes of the line precede b.
func (p *Prefs) addLine(b []byte, name string, line, col0 int) error {
	var l prefsLine
	if err := decodeJSONRecord(&l, b, name, line, col0); err != nil {
		return err
	}
	if l.Features == nil {
		return Errorf(name, line, "features", "missing: want one feature vector per candidate")
	}
	nc := len(l.Features)
	if nc < 2 {
		return Errorf(name, line, "features", "want at least 2 candidates, got %d", nc)
	}
	if p.Dim == 0 {
		p.Dim = len(l.Features[0])
		if p.Dim == 0 {
			return Errorf(name, line, "features[0]", "want a non-empty vector, got []")
		}
	}
	x := Prompt{Features: make([][]float64, nc), RefLogProbs: make([]float64, nc)}
	flat := make([]float64, nc*p.Dim)
	for k, v := range l.Features {
		if len(v) != p.Dim {
			return Errorf(name, line, fmt.Sprintf("features[%d]", k), "want %d numbers (the file's feature dimension), got %d", p.Dim, len(v))
		}
		row := flat[k*p.Dim : (k+1)*p.Dim : (k+1)*p.Dim]
		if j, got := finiteNumbers(row, v); j >= 0 {
			return Errorf(name, line, fmt.Sprintf("features[%d][%d]", k, j), "want a finite number, got %s", got)
		}
		x.Features[k] = row
	}
	if l.RefLogProbs != nil {
		if len(l.RefLogProbs) != nc {
			return Errorf(name, line, "ref_logprobs", "want %d numbers (one per candidate), got %d", nc, len(l.RefLogProbs))
		}
		if k, got := finiteNumbers(x.RefLogProbs, l.RefLogProbs); k >= 0 {
			return Errorf(name, line, fmt.Sprintf("ref_logprobs[%d]", k), "want a finite log-probability, got %s", got)
		}
	}
	normalizeLogProbs(x.RefLogProbs)
	pair := Pair{Prompt: len(p.Prompts), Weight: 1}
	for _, c := range []struct {
		field string
		v     *int
		dst   *int
	}{{"chosen", l.Chosen, &pair.Chosen}, {"rejected", l.Rejected, &pair.Rejected}} {
		if c.v == nil {
			return Errorf(name, line, c.field, "missing: want a candidate index in [0, %d)", nc)
		}
		if *c.v < 0 || *c.v >= nc {
			return Errorf(name, line, c.field, "want a candidate index in [0, %d), got %d", nc, *c.v)
		}
		*c.dst = *c.v
	}
	if pair.Chosen == pair.Rejected {
		return Errorf(name, line, "rejected", "want a candidate other than chosen, got %d for both", pair.Chosen)
	}
	if l.Weight != nil {
		w, bad := jsonNumber(l.Weight)
		if bad != "" || !isFinite(w) || w <= 0 {
			return Errorf(name, line, "weight", "want a finite number > 0, got %s", badOr(bad, w))
		}
		pair.Weight = w
	}
	p.Prompts = append(p.Prompts, x)
	p.Pairs = append(p.Pairs, pair)
	return nil
}

// WritePrefs writes p in LoadPrefs's format, one comparison per line, with
// the prompt's features and reference log-probabilities repeated on each
// line; weights equal to 1 are omitted. Numbers are written in the shortest
// form that reads back exactly.
func WritePrefs(w io.Writer, p *Prefs) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	var buf []byte
	for _, pr := range p.Pairs {
		x := p.Prompts[pr.Prompt]
		buf = append(buf[:0], `{"features":[`...)
		for k, f := range x.Features {
			if k > 0 {
				buf = append(buf, ',')
			}
			buf = appendFloats(buf, f)
		}
		buf = append(buf, `],"ref_logprobs":`...)
		buf = appendFloats(buf, x.RefLogProbs)
		buf = fmt.Appendf(buf, `,"chosen":%d,"rejected":%d`, pr.Chosen, pr.Rejected)
		if pr.Weight != 1 {
			buf = append(buf, `,"weight":`...)
			buf = strconv.AppendFloat(buf, pr.Weight, 'g', -1, 64)
		}
		buf = append(buf, "}\n"...)
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}
