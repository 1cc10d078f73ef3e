package datasets

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode"
)

// RewardPairs are pairwise comparisons of responses for training a reward
// model r(x, y): each pair says that response Chosen was preferred to
// Rejected (for the same prompt). Responses and prompts are feature vectors;
// text files are turned into vectors by HashFeatures.
type RewardPairs struct {
	Dim       int // length of every Chosen and Rejected vector
	PromptDim int // length of every Prompt vector; 0 when the pairs have no prompt features
	Pairs     []RewardPair
	// Text reports that the file held text, featurized by HashFeatures.
	Text bool
	// HasStrength, HasRatings and HasWeights report that the file gave
	// strength (or margin), ratings and weights (on at least one line).
	HasStrength, HasRatings, HasWeights bool
	// Truth is the planted reward of generated pairs; nil for loaded ones.
	Truth *RewardTruth
}

// RewardPair is one comparison: Chosen ≻ Rejected.
type RewardPair struct {
	Prompt           []float64 // PromptDim prompt features; nil when PromptDim is 0
	Chosen, Rejected []float64 // Dim features each
	// Strength m ≥ 0 is the preference strength (HelpSteer2-Preference's
	// |label| ∈ {1, 2, 3}); 1 when the data give none. 0 is a tie, which
	// the pairwise losses skip.
	Strength float64
	Weight   float64 // > 0; 1 unless the data give one
	// ChosenRating and RejectedRating are absolute ratings of the two
	// responses (e.g. HelpSteer2's 0–4 helpfulness); NaN when not given.
	ChosenRating, RejectedRating float64
	// ChosenReward and RejectedReward are the planted rewards r*(y) of
	// generated pairs; NaN for loaded ones.
	ChosenReward, RejectedReward float64
	// Flipped reports, for generated pairs, that the label disagrees with the
	// planted rewards (the annotator preferred the worse response).
	Flipped bool
}

// TrueDelta returns r*(chosen) − r*(rejected), NaN for loaded pairs.
func (p *RewardPair) TrueDelta() float64 { return p.ChosenReward - p.RejectedReward }

// The planted reward shapes of GenerateRewardPairs and GenerateHelpSteer.
const (
	// RewardLinear is r*(y) = s·u·φ(y) with u a unit vector.
	RewardLinear = "linear"
	// RewardNonlinear is r*(y) = s·(u·φ + ((v1·φ)² − (v2·φ)²)/2)/√2 with u,
	// v1, v2 orthonormal: half of its variance is quadratic, which no
	// linear model captures.
	RewardNonlinear = "nonlinear"
)

// RewardShapes lists the planted reward shapes, the default first.
var RewardShapes = []string{RewardLinear, RewardNonlinear}

// RewardTruth is the planted reward r*(y) of generated pairs; φ(y) ~ N(0, I)
// so that r*(y) has mean 0 and standard deviation Scale.
type RewardTruth struct {
	Shape     string
	Scale     float64
	U, V1, V2 []float64 // orthonormal directions; V1, V2 nil for RewardLinear
	// Thresholds are the |Δr*| bucket edges t1 < t2 of preference strength
	// (strength 1 below t1, 2 below t2, else 3); nil for GenerateRewardPairs.
	Thresholds []float64
	// Flip is the probability, by true strength 1, 2, 3, that the annotator
	// preferred the worse response (GenerateHelpSteer); nil for plain
	// Bradley–Terry labels.
	Flip []float64
}

// Reward returns r*(φ).
func (t *RewardTruth) Reward(phi []float64) float64 {
	a := dot(t.U, phi)
	if t.Shape == RewardNonlinear {
		b, c := dot(t.V1, phi), dot(t.V2, phi)
		return t.Scale * (a + (b*b-c*c)/2) / math.Sqrt2
	}
	return t.Scale * a
}

// TrueStrength is the strength bucket (1, 2 or 3) of a true reward
// difference, by Thresholds.
func (t *RewardTruth) TrueStrength(delta float64) int {
	d := math.Abs(delta)
	switch {
	case len(t.Thresholds) < 2:
		return 1
	case d < t.Thresholds[0]:
		return 1
	case d < t.Thresholds[1]:
		return 2
	}
	return 3
}

// RewardPairsConfig configures GenerateRewardPairs.
type RewardPairsConfig struct {
	Dim       int     // feature dimension ≥ 1 (≥ 3 for RewardNonlinear)
	Pairs     int     // training pairs ≥ 1
	TestPairs int     // held-out pairs ≥ 1
	Shape     string  // RewardLinear (when empty) or RewardNonlinear
	Scale     float64 // standard deviation of r*(y) > 0
}

func (c *RewardPairsConfig) check(what string) error {
	if c.Shape == "" {
		c.Shape = RewardLinear
	}
	switch {
	case c.Shape != RewardLinear && c.Shape != RewardNonlinear:
		return fmt.Errorf("datasets: %s: reward shape must be one of %s, got %q", what, strings.Join(RewardShapes, ", "), c.Shape)
	case c.Dim < 1:
		return fmt.Errorf("datasets: %s: dimension must be ≥ 1, got %d", what, c.Dim)
	case c.Shape == RewardNonlinear && c.Dim < 3:
		return fmt.Errorf("datasets: %s: the nonlinear reward needs dimension ≥ 3, got %d", what, c.Dim)
	case c.Pairs < 1:
		return fmt.Errorf("datasets: %s: pairs must be ≥ 1, got %d", what, c.Pairs)
	case c.TestPairs < 1:
		return fmt.Errorf("datasets: %s: test pairs must be ≥ 1, got %d", what, c.TestPairs)
	case !(c.Scale > 0) || math.IsInf(c.Scale, 0):
		return fmt.Errorf("datasets: %s: reward scale must be finite and > 0, got %v", what, c.Scale)
	}
	return nil
}

// plantReward draws the planted directions: orthonormal u (v1, v2) by
// Gram–Schmidt on standard normal draws.
func plantReward(c RewardPairsConfig, r *rand.Rand) *RewardTruth {
	n := 1
	if c.Shape == RewardNonlinear {
		n = 3
	}
	var basis [][]float64
	for len(basis) < n {
		v := make([]float64, c.Dim)
		for i := range v {
			v[i] = r.NormFloat64()
		}
		for _, b := range basis {
			d := dot(v, b)
			for i := range v {
				v[i] -= d * b[i]
			}
		}
		norm := math.Sqrt(dot(v, v))
		if norm < 1e-6 {
			continue // (almost) dependent: draw again
		}
		for i := range v {
			v[i] /= norm
		}
		basis = append(basis, v)
	}
	t := &RewardTruth{Shape: c.Shape, Scale: c.Scale, U: basis[0]}
	if n == 3 {
		t.V1, t.V2 = basis[1], basis[2]
	}
	return t
}

// drawResponse draws φ ~ N(0, I_dim).
func drawResponse(dim int, r *rand.Rand) []float64 {
	v := make([]float64, dim)
	for i := range v {
		v[i] = r.NormFloat64()
	}
	return v
}

func newPlantedPair(t *RewardTruth, a, b []float64) RewardPair {
	return RewardPair{Chosen: a, Rejected: b, Strength: 1, Weight: 1,
		ChosenRating: math.NaN(), RejectedRating: math.NaN(),
		ChosenReward: t.Reward(a), RejectedReward: t.Reward(b)}
}

func (p *RewardPair) swap() {
	p.Chosen, p.Rejected = p.Rejected, p.Chosen
	p.ChosenRating, p.RejectedRating = p.RejectedRating, p.ChosenRating
	p.ChosenReward, p.RejectedReward = p.RejectedReward, p.ChosenReward
}

// GenerateRewardPairs draws a planted Bradley–Terry reward-model testbed
// from r: the reward r*(y) (see RewardTruth; its directions are drawn
// first), then for each training and held-out pair two responses φ ~ N(0, I)
// labelled by P(y1 ≻ y2) = σ(r*(y1) − r*(y2)). Held-out pairs are labelled
// the same way (their planted rewards give the true ordering).
func GenerateRewardPairs(cfg RewardPairsConfig, r *rand.Rand) (train, test *RewardPairs, err error) {
	if err := cfg.check("reward pairs"); err != nil {
		return nil, nil, err
	}
	truth := plantReward(cfg, r)
	draw := func(n int) *RewardPairs {
		out := &RewardPairs{Dim: cfg.Dim, Pairs: make([]RewardPair, n), Truth: truth}
		for i := range out.Pairs {
			p := newPlantedPair(truth, drawResponse(cfg.Dim, r), drawResponse(cfg.Dim, r))
			if r.Float64() >= sigmoid(p.TrueDelta()) {
				p.swap()
			}
			p.Flipped = p.TrueDelta() < 0
			out.Pairs[i] = p
		}
		return out
	}
	return draw(cfg.Pairs), draw(cfg.TestPairs), nil
}

// HelpSteerConfig configures GenerateHelpSteer, a synthetic stand-in for
// HelpSteer2-Preference (Wang et al. 2024): preference strengths and
// strength-dependent annotator noise, plus Likert ratings of each response.
type HelpSteerConfig struct {
	RewardPairsConfig
	// Flip[m−1] is the probability that the annotator prefers the worse
	// response when the true strength is m = 1, 2, 3 (each in [0, 0.5]).
	Flip [3]float64
	// StrengthNoise is the probability that the reported strength is one
	// off the true one (up or down, a fair coin, kept within 1…3).
	StrengthNoise float64
	// RatingNoise is the standard deviation, in rating points, of the noise
	// added before a rating is rounded to the 0–4 scale.
	RatingNoise float64
}

// DefaultHelpSteerConfig is the generator of the bt.reward_losses comparison:
// 32 features, a linear reward of scale 1.5, flip rates 0.35, 0.15, 0.05 by
// strength, strength reported one off 20% of the time, rating noise 0.5.
func DefaultHelpSteerConfig() HelpSteerConfig {
	return HelpSteerConfig{
		RewardPairsConfig: RewardPairsConfig{Dim: 32, Pairs: 1000, TestPairs: 2000, Shape: RewardLinear, Scale: 1.5},
		Flip:              [3]float64{0.35, 0.15, 0.05},
		StrengthNoise:     0.2,
		RatingNoise:       0.5,
	}
}

// Terciles of the half-normal: |Z| < 0.4307 with probability ⅓ and < 0.9674
// with probability ⅔ (Φ⁻¹(2/3) and Φ⁻¹(5/6)).
var (
	halfNormalTercile1 = math.Sqrt2 * math.Erfinv(1.0/3)
	halfNormalTercile2 = math.Sqrt2 * math.Erfinv(2.0/3)
)

// LikertMax is the top of the 0…LikertMax rating scale of GenerateHelpSteer
// (HelpSteer2's helpfulness is rated 0–4).
const LikertMax = 4

// GenerateHelpSteer draws pairs as GenerateRewardPairs does, but labels them
// as HelpSteer2-Preference annotators would:
//
//   - the true strength m* ∈ {1, 2, 3} is the bucket of |Δr*| with edges at
//     the terciles of |Δr*| for a linear reward, Scale·√2·(0.4307, 0.9674)
//     (so each strength holds a third of the pairs);
//   - the annotator prefers the better response except with probability
//     Flip[m*−1], and reports strength m = m*, or one off with probability
//     StrengthNoise;
//   - each response gets a Likert rating round(2 + r*/Scale + RatingNoise·ε)
//     clipped to 0…LikertMax.
//
// Held-out pairs carry the planted rewards, which give the true ordering and
// the true strength bucket; their labels are drawn the same way.
func GenerateHelpSteer(cfg HelpSteerConfig, r *rand.Rand) (train, test *RewardPairs, err error) {
	if err := cfg.check("helpsteer"); err != nil {
		return nil, nil, err
	}
	for m, f := range cfg.Flip {
		if !(f >= 0 && f <= 0.5) {
			return nil, nil, fmt.Errorf("datasets: helpsteer: flip rate of strength %d must be in [0, 0.5], got %v", m+1, f)
		}
	}
	if !(cfg.StrengthNoise >= 0 && cfg.StrengthNoise <= 1) {
		return nil, nil, fmt.Errorf("datasets: helpsteer: strength noise must be in [0, 1], got %v", cfg.StrengthNoise)
	}
	if !(cfg.RatingNoise >= 0) || math.IsInf(cfg.RatingNoise, 0) {
		return nil, nil, fmt.Errorf("datasets: helpsteer: rating noise must be finite and ≥ 0, got %v", cfg.RatingNoise)
	}
	truth := plantReward(cfg.RewardPairsConfig, r)
	sd := cfg.Scale * math.Sqrt2 // of Δr* for a linear reward
	truth.Thresholds = []float64{sd * halfNormalTercile1, sd * halfNormalTercile2}
	truth.Flip = cfg.Flip[:]
	rate := func(reward float64) float64 {
		v := math.Round(2 + reward/cfg.Scale + cfg.RatingNoise*r.NormFloat64())
		return math.Max(0, math.Min(LikertMax, v))
	}
	draw := func(n int) *RewardPairs {
		out := &RewardPairs{Dim: cfg.Dim, Pairs: make([]RewardPair, n), Truth: truth,
			HasStrength: true, HasRatings: true}
		for i := range out.Pairs {
			p := newPlantedPair(truth, drawResponse(cfg.Dim, r), drawResponse(cfg.Dim, r))
			if p.TrueDelta() < 0 {
				p.swap()
			}
			m := truth.TrueStrength(p.TrueDelta())
			if r.Float64() < cfg.Flip[m-1] {
				p.swap()
				p.Flipped = true
			}
			if r.Float64() < cfg.StrengthNoise {
				if r.IntN(2) == 0 {
					m--
				} else {
					m++
				}
				m = max(1, min(3, m))
			}
			p.Strength = float64(m)
			p.ChosenRating, p.RejectedRating = rate(p.ChosenReward), rate(p.RejectedReward)
			out.Pairs[i] = p
		}
		return out
	}
	return draw(cfg.Pairs), draw(cfg.TestPairs), nil
}

// DefaultHashDim is the default number of buckets of HashFeatures.
const DefaultHashDim = 256

// HashFeatures turns text into a dim-dimensional vector by signed feature
// hashing (Weinberger et al. 2009): the text is lower-cased and split into
// words (maximal runs of letters and digits); every word unigram and every
// bigram of consecutive words ("w1 w2") is hashed with 64-bit FNV-1a, adds
// +1 or −1 (the hash's top bit) to bucket hash mod dim, and the vector is
// scaled to unit L2 norm (text without words gives the zero vector).
// Signs make colliding features cancel in expectation rather than pile up.
func HashFeatures(text string, dim int) []float64 {
	v := make([]float64, dim)
	if dim < 1 {
		return v
	}
	words := strings.FieldsFunc(strings.ToLower(text), func(c rune) bool {
		return !unicode.IsLetter(c) && !unicode.IsDigit(c)
	})
	add := func(s string) {
		h := fnv.New64a()
		h.Write([]byte(s))
		x := h.Sum64()
		if x>>63 == 1 {
			v[x%uint64(dim)]--
		} else {
			v[x%uint64(dim)]++
		}
	}
	for i, w := range words {
		add(w)
		if i > 0 {
			add(words[i-1] + " " + w)
		}
	}
	norm := math.Sqrt(dot(v, v))
	if norm > 0 {
		for i := range v {
			v[i] /= norm
		}
	}
	return v
}

// PairsOptions configure LoadRewardPairs.
type PairsOptions struct {
	// HashDim is the number of buckets HashFeatures uses for text files
	// (default DefaultHashDim).
	HashDim int
}

// pairsMaxLine bounds one JSONL line of a pairs file.
const pairsMaxLine = 64 << 20

// LoadRewardPairs reads reward-model comparisons, JSON Lines, one pair per
// line, in one of two forms (every line of a file in the same form):
//
// Feature vectors:
//
//	{"chosen": [0.1, 2, ...], "rejected": [...], "prompt": [...], "strength": 2, "weight": 1,
//	 "chosen_rating": 3, "rejected_rating": 1}
//
// chosen and rejected are numbers, as many on every line; prompt, optional
// (on every line or on none), is a vector of its own length, given to the
// model concatenated before the response's: r(x, y) = f([prompt, response]).
//
// Text (the TRL preference format):
//
//	{"prompt": "How do I ...?", "chosen": "You can ...", "rejected": "No."}
//
// chosen and rejected are strings, or conversations (arrays of {"role",
// "content"} messages, TRL's conversational format: the messages shared at
// the start of chosen and rejected are the prompt when no prompt is given).
// Every text becomes HashFeatures(text, HashDim); when some line has a
// prompt, every pair gets prompt features (zero for an empty prompt).
//
// Optional on either form: strength (or margin, its synonym; a finite
// number ≥ 0, default 1, 0 a tie), weight (finite, > 0, default 1),
// chosen_rating and rejected_rating (finite numbers, both or neither). Other
// fields and blank lines are ignored. Problems are *Error with file, line and
// field, e.g. "p.jsonl:3: rejected[2]: want a finite number, got NaN".
func LoadRewardPairs(path string, opt *PairsOptions) (*RewardPairs, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadRewardPairs(f, path, opt)
}

// ReadRewardPairs reads pairs from r in LoadRewardPairs's format; name is
// the file name used in errors.
func ReadRewardPairs(r io.Reader, name string, opt *PairsOptions) (*RewardPairs, error) {
	hashDim := DefaultHashDim
	if opt != nil && opt.HashDim != 0 {
		hashDim = opt.HashDim
	}
	if hashDim < 1 {
		return nil, fmt.Errorf("datasets: pairs: hash dimension must be ≥ 1, got %d", hashDim)
	}
	rd := &pairsReader{name: name, hashDim: hashDim, out: &RewardPairs{}}
	if err := readJSONRecords(r, name, pairsMaxLine, "pairs", rd.line); err != nil {
		return nil, err
	}
	if rd.text && rd.anyPrompt {
		rd.out.PromptDim = hashDim
		for i := range rd.out.Pairs {
			rd.out.Pairs[i].Prompt = HashFeatures(rd.prompts[i], hashDim)
		}
	}
	return rd.out, nil
}

type pairsReader struct {
	name      string
	hashDim   int
	out       *RewardPairs
	formKnown bool // the first line fixed text vs vectors and the prompt
	text      bool
	hasPrompt bool // vector form: prompt on line 1
	anyPrompt bool // text form: some prompt seen
	prompts   []string
}

// pairsObject decodes line b of a JSON Lines file (col0 bytes into the
// line) into its fields (see decodeJSONLine).
func pairsObject(b []byte, name string, line, col0 int) (map[string]json.RawMessage, error) {
	var obj map[string]json.RawMessage
	if err := decodeJSONLine(&obj, b, name, line, col0, "JSON object"); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, Errorf(name, line, "line", "want a JSON object, got %s", te.Value)
		}
		return nil, err
	}
	if obj == nil {
		return nil, Errorf(name, line, "line", "want a JSON object, got null")
	}
	return obj, nil
}

func (rd *pairsReader) line(b []byte, line, col0 int) error {
	obj, err := pairsObject(b, rd.name, line, col0)
	if err != nil {
		return err
	}
	errf := func(field, format string, args ...any) error { return Errorf(rd.name, line, field, format, args...) }
	for _, f := range []string{"chosen", "rejected"} {
		if _, ok := obj[f]; !ok {
			return errf(f, "missing: want the %s response (a vector of numbers, a string or a list of messages)", f)
		}
	}
	kind := pairsKind(obj["chosen"])
	text := kind == "string" || kind == "array of messages"
	if !rd.formKnown {
		rd.formKnown, rd.text = true, text
		_, rd.hasPrompt = obj["prompt"]
	}
	p := RewardPair{Strength: 1, Weight: 1, ChosenRating: math.NaN(), RejectedRating: math.NaN(),
		ChosenReward: math.NaN(), RejectedReward: math.NaN()}
	if rd.text {
		prompt, err := rd.textPair(obj, line, &p)
		if err != nil {
			return err
		}
		rd.prompts = append(rd.prompts, prompt)
		if prompt != "" {
			rd.anyPrompt = true
		}
	} else if err := rd.vectorPair(obj, line, &p); err != nil {
		return err
	}
	// Optional numbers.
	sRaw, hasS := obj["strength"]
	mRaw, hasM := obj["margin"]
	switch {
	case hasS && hasM:
		return errf("margin", "want strength or margin (synonyms), not both")
	case hasM:
		sRaw, hasS = mRaw, true
	}
	if hasS {
		field := "strength"
		if hasM {
			field = "margin"
		}
		v, bad := jsonNumber(sRaw)
		if bad != "" || !isFinite(v) || v < 0 {
			return errf(field, "want a finite number ≥ 0, got %s", badOr(bad, v))
		}
		p.Strength = v
		rd.out.HasStrength = true
	}
	if raw, ok := obj["weight"]; ok {
		v, bad := jsonNumber(raw)
		if bad != "" || !isFinite(v) || v <= 0 {
			return errf("weight", "want a finite number > 0, got %s", badOr(bad, v))
		}
		p.Weight = v
		rd.out.HasWeights = true
	}
	cr, hasCR := obj["chosen_rating"]
	rr, hasRR := obj["rejected_rating"]
	switch {
	case hasCR != hasRR:
		missing := "rejected_rating"
		if !hasCR {
			missing = "chosen_rating"
		}
		return errf(missing, "missing: want chosen_rating and rejected_rating together")
	case hasCR:
		for _, c := range []struct {
			field string
			raw   json.RawMessage
			dst   *float64
		}{{"chosen_rating", cr, &p.ChosenRating}, {"rejected_rating", rr, &p.RejectedRating}} {
			v, bad := jsonNumber(c.raw)
			if bad != "" || !isFinite(v) {
				return errf(c.field, "want a finite number, got %s", badOr(bad, v))
			}
			*c.dst = v
		}
		if len(rd.out.Pairs) > 0 && !rd.out.HasRatings {
			return errf("chosen_rating", "want ratings on every line or on none; earlier lines have none")
		}
		rd.out.HasRatings = true
	case rd.out.HasRatings:
		return errf("chosen_rating", "missing: want ratings on every line, as earlier lines have them")
	}
	rd.out.Pairs = append(rd.out.Pairs, p)
	return nil
}

func (rd *pairsReader) vectorPair(obj map[string]json.RawMessage, line int, p *RewardPair) error {
	errf := func(field, format string, args ...any) error { return Errorf(rd.name, line, field, format, args...) }
	var err error
	if p.Chosen, err = rd.vector(obj["chosen"], "chosen", line, &rd.out.Dim, "the length of chosen on the first line"); err != nil {
		return err
	}
	if p.Rejected, err = rd.vector(obj["rejected"], "rejected", line, &rd.out.Dim, "the length of chosen"); err != nil {
		return err
	}
	raw, ok := obj["prompt"]
	switch {
	case ok && !rd.hasPrompt:
		return errf("prompt", "want no prompt, as the first line has none (give prompt features on every line or on none)")
	case !ok && rd.hasPrompt:
		return errf("prompt", "missing: want prompt features on every line, as the first line has them")
	case ok:
		if p.Prompt, err = rd.vector(raw, "prompt", line, &rd.out.PromptDim, "the length of prompt on the first line"); err != nil {
			return err
		}
	}
	return nil
}

// vector decodes an array of finite numbers whose length must equal *dim
// (set from the first one when 0).
func (rd *pairsReader) vector(raw json.RawMessage, field string, line int, dim *int, what string) ([]float64, error) {
	v, err := pairsVector(raw, rd.name, line, field)
	if err != nil {
		return nil, err
	}
	if *dim == 0 {
		if len(v) == 0 {
			return nil, Errorf(rd.name, line, field, "want a non-empty vector, got []")
		}
		*dim = len(v)
	} else if len(v) != *dim {
		return nil, Errorf(rd.name, line, field, "want %d numbers (%s), got %d", *dim, what, len(v))
	}
	return v, nil
}

// pairsVector decodes a JSON array of finite numbers.
func pairsVector(raw json.RawMessage, name string, line int, field string) ([]float64, error) {
	var elems []json.RawMessage
	if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &elems) != nil {
		return nil, Errorf(name, line, field, "want an array of numbers, got %s", pairsKind(raw))
	}
	v := make([]float64, len(elems))
	if j, got := finiteNumbers(v, elems); j >= 0 {
		return nil, Errorf(name, line, fmt.Sprintf("%s[%d]", field, j), "want a finite number, got %s", got)
	}
	return v, nil
}

type pairsMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// textPair featurizes a text pair and returns its prompt text.
func (rd *pairsReader) textPair(obj map[string]json.RawMessage, line int, p *RewardPair) (string, error) {
	texts := map[string][]pairsMessage{}
	for _, f := range []string{"prompt", "chosen", "rejected"} {
		raw, ok := obj[f]
		if !ok {
			continue
		}
		msgs, err := pairsText(raw, rd.name, line, f)
		if err != nil {
			return "", err
		}
		texts[f] = msgs
	}
	chosen, rejected := texts["chosen"], texts["rejected"]
	prompt := texts["prompt"]
	if _, ok := obj["prompt"]; !ok {
		// TRL's implicit prompt: the messages chosen and rejected share.
		n := 0
		for n < len(chosen)-1 && n < len(rejected)-1 && chosen[n] == rejected[n] {
			n++
		}
		prompt, chosen, rejected = chosen[:n], chosen[n:], rejected[n:]
	}
	p.Chosen = HashFeatures(pairsJoin(chosen), rd.hashDim)
	p.Rejected = HashFeatures(pairsJoin(rejected), rd.hashDim)
	rd.out.Dim = rd.hashDim
	rd.out.Text = true
	return pairsJoin(prompt), nil
}

// pairsText decodes a string or a list of {role, content} messages; a
// string is one message without a role.
func pairsText(raw json.RawMessage, name string, line int, field string) ([]pairsMessage, error) {
	switch pairsKind(raw) {
	case "string":
		var s string
		_ = json.Unmarshal(raw, &s)
		return []pairsMessage{{Content: s}}, nil
	case "array of messages", "empty array":
		var msgs []pairsMessage
		if err := json.Unmarshal(raw, &msgs); err != nil {
			return nil, Errorf(name, line, field, "want a list of {\"role\", \"content\"} messages with string fields, got %s", clipValue(string(raw)))
		}
		return msgs, nil
	}
	return nil, Errorf(name, line, field, "want a string or a list of messages (the first line holds text), got %s", pairsKind(raw))
}

func pairsJoin(msgs []pairsMessage) string {
	parts := make([]string, len(msgs))
	for i, m := range msgs {
		parts[i] = m.Content
	}
	return strings.Join(parts, "\n")
}

// pairsKind names the JSON kind of raw for messages and form detection.
func pairsKind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		var s string
		_ = json.Unmarshal(raw, &s)
		switch s {
		case "NaN", "Infinity", "+Infinity", "-Infinity":
			return s
		}
		return "string"
	case '{':
		return "object"
	case 't', 'f':
		return "bool " + string(raw)
	case 'n':
		return "null"
	case '[':
		inner := bytes.TrimSpace(raw[1:])
		switch {
		case len(inner) > 0 && inner[0] == ']':
			return "empty array"
		case len(inner) > 0 && inner[0] == '{':
			return "array of messages"
		}
		return "array"
	}
	return "number " + clipValue(string(raw)) // digits can run to megabytes
}

// WriteRewardPairs writes vector pairs in LoadRewardPairs's format; strength,
// weight and ratings are written when the set has them. Numbers are written
// in the shortest form that reads back exactly.
func WriteRewardPairs(w io.Writer, p *RewardPairs) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	var buf []byte
	for _, pr := range p.Pairs {
		buf = append(buf[:0], `{"chosen":`...)
		buf = appendFloats(buf, pr.Chosen)
		buf = append(buf, `,"rejected":`...)
		buf = appendFloats(buf, pr.Rejected)
		if p.PromptDim > 0 {
			buf = append(buf, `,"prompt":`...)
			buf = appendFloats(buf, pr.Prompt)
		}
		if p.HasStrength {
			buf = append(buf, `,"strength":`...)
			buf = strconv.AppendFloat(buf, pr.Strength, 'g', -1, 64)
		}
		if p.HasWeights {
			buf = append(buf, `,"weight":`...)
			buf = strconv.AppendFloat(buf, pr.Weight, 'g', -1, 64)
		}
		if p.HasRatings {
			buf = append(buf, `,"chosen_rating":`...)
			buf = strconv.AppendFloat(buf, pr.ChosenRating, 'g', -1, 64)
			buf = append(buf, `,"rejected_rating":`...)
			buf = strconv.AppendFloat(buf, pr.RejectedRating, 'g', -1, 64)
		}
		buf = append(buf, "}\n"...)
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}
