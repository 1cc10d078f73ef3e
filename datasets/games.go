package datasets

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
)

// GameTolerance is how far P[i][j] + P[j][i] may be from 1, and P[i][i] from
// ½, in a preference matrix read from a file (the entries are often printed
// with a few digits).
const GameTolerance = 1e-6

// Game is a general preference game: for each prompt x, a K×K matrix with
// P[i][j] = P(action i ≻ action j | x). The matrix need not come from scores:
// cycles (i ≻ j ≻ k ≻ i) are allowed. Every prompt has the same K actions.
type Game struct {
	Actions []string     // names of the K actions (responses)
	Prompts []GamePrompt // one or more prompts
}

// GamePrompt is one prompt of a Game.
type GamePrompt struct {
	Name string
	// P is the K×K preference matrix: P[i][j] + P[j][i] = 1, P[i][i] = ½.
	P [][]float64
	// Ref is the reference policy π_ref(·|x) over the K actions; nil means uniform.
	Ref []float64
	// Features are φ(x, y) for each action (K rows of equal length), used by
	// log-linear policies; nil when the game has none.
	Features [][]float64
}

// K is the number of actions.
func (g *Game) K() int { return len(g.Actions) }

// RefPolicy returns π_ref of prompt p (uniform when the game gives none).
func (g *Game) RefPolicy(p int) []float64 {
	if r := g.Prompts[p].Ref; r != nil {
		return append([]float64(nil), r...)
	}
	k := g.K()
	u := make([]float64, k)
	for i := range u {
		u[i] = 1 / float64(k)
	}
	return u
}

// NumFeatures is the length of the feature vectors, or 0 when the game has none.
func (g *Game) NumFeatures() int {
	if len(g.Prompts) == 0 || len(g.Prompts[0].Features) == 0 {
		return 0
	}
	return len(g.Prompts[0].Features[0])
}

// Compare draws one comparison of actions i and j under prompt p from the
// oracle: true means i won, with probability P[i][j].
func (g *Game) Compare(rng *rand.Rand, p, i, j int) bool {
	return rng.Float64() < g.Prompts[p].P[i][j]
}

// Prob is the exact probability that action i beats action j under prompt p.
func (g *Game) Prob(p, i, j int) float64 { return g.Prompts[p].P[i][j] }

// PreferenceFromScores returns P[i][j] = σ(r[i] − r[j] + C[i][j]). The
// scores r are the transitive (Bradley–Terry) part; C, which must be
// antisymmetric (C[i][j] = −C[j][i]), is the intransitive part. C nil means
// zero: a pure Bradley–Terry game.
func PreferenceFromScores(r []float64, c [][]float64) ([][]float64, error) {
	k := len(r)
	if c != nil {
		if len(c) != k {
			return nil, fmt.Errorf("datasets: cyclic part has %d rows, want %d", len(c), k)
		}
		for i := range c {
			if len(c[i]) != k {
				return nil, fmt.Errorf("datasets: cyclic part row %d has %d entries, want %d", i, len(c[i]), k)
			}
		}
		for i := range k {
			for j := i; j < k; j++ {
				if math.Abs(c[i][j]+c[j][i]) > 1e-12 {
					return nil, fmt.Errorf("datasets: cyclic part must be antisymmetric, got C[%d][%d]=%g, C[%d][%d]=%g", i, j, c[i][j], j, i, c[j][i])
				}
			}
		}
	}
	p := make([][]float64, k)
	for i := range p {
		p[i] = make([]float64, k)
		for j := range p[i] {
			z := r[i] - r[j]
			if c != nil {
				z += c[i][j]
			}
			p[i][j] = sigmoid(z)
		}
	}
	// σ(z) + σ(−z) is 1 only up to rounding; make the game exactly
	// constant-sum so that exploitability and duality checks are exact.
	for i := range k {
		p[i][i] = 0.5
		for j := i + 1; j < k; j++ {
			p[j][i] = 1 - p[i][j]
		}
	}
	return p, nil
}

func gameActionNames(k int) []string {
	names := make([]string, k)
	for i := range names {
		names[i] = fmt.Sprintf("y%d", i)
	}
	return names
}

// CyclicGame is a single-prompt game on k actions with transitive scores
// r_i evenly spaced from spread/2 (action 0) down to −spread/2, plus the
// cyclic part C[i][j] = cycle · sin(2π(j−i)/k): each action beats the ones
// just after it on the circle. With cycle = 0 it is a Bradley–Terry game;
// with spread = 0 and k odd its Nash equilibrium is uniform.
func CyclicGame(k int, cycle, spread float64) *Game {
	r := make([]float64, k)
	c := make([][]float64, k)
	for i := range k {
		if k > 1 {
			r[i] = spread/2 - spread*float64(i)/float64(k-1)
		}
		c[i] = make([]float64, k)
		for j := range k {
			c[i][j] = cycle * math.Sin(2*math.Pi*float64(j-i)/float64(k))
		}
	}
	// sin is antisymmetric in (j−i) only up to rounding.
	for i := range k {
		c[i][i] = 0
		for j := i + 1; j < k; j++ {
			c[j][i] = -c[i][j]
		}
	}
	p, _ := PreferenceFromScores(r, c)
	return &Game{Actions: gameActionNames(k), Prompts: []GamePrompt{{Name: "x0", P: p}}}
}

// TransitiveGame is the Bradley–Terry game P[i][j] = σ(r[i] − r[j]).
func TransitiveGame(r []float64) *Game {
	p, _ := PreferenceFromScores(r, nil)
	return &Game{Actions: gameActionNames(len(r)), Prompts: []GamePrompt{{Name: "x0", P: p}}}
}

// RockPaperScissors is the deterministic cycle rock ≻ scissors ≻ paper ≻ rock.
func RockPaperScissors() *Game {
	return &Game{
		Actions: []string{"rock", "paper", "scissors"},
		Prompts: []GamePrompt{{Name: "x0", P: [][]float64{
			{0.5, 0, 1},
			{1, 0.5, 0},
			{0, 1, 0.5},
		}}},
	}
}

// ContextualGame draws a game with several prompts whose matrices come from
// features: for each prompt x and action y a feature vector φ(x, y) ~ N(0, I_d),
// and, shared by all prompts, a reward direction w ~ N(0, I_d/d) and an
// antisymmetric A = cycle · (B − Bᵀ)/√(2d), B_ab ~ N(0, 1). Then
//
//	P(i ≻ j | x) = σ(wᵀ(φ(x,i) − φ(x,j)) + φ(x,i)ᵀ A φ(x,j)),
//
// whose second term is antisymmetric in (i, j) and makes the game intransitive.
// Every draw comes from rng.
func ContextualGame(rng *rand.Rand, prompts, k, d int, cycle float64) *Game {
	w := make([]float64, d)
	for a := range w {
		w[a] = rng.NormFloat64() / math.Sqrt(float64(d))
	}
	b := make([][]float64, d)
	for a := range b {
		b[a] = make([]float64, d)
		for c := range b[a] {
			b[a][c] = rng.NormFloat64()
		}
	}
	am := make([][]float64, d)
	for a := range am {
		am[a] = make([]float64, d)
		for c := range am[a] {
			am[a][c] = cycle * (b[a][c] - b[c][a]) / math.Sqrt(2*float64(d))
		}
	}
	g := &Game{Actions: gameActionNames(k)}
	for x := range prompts {
		phi := make([][]float64, k)
		for i := range phi {
			phi[i] = make([]float64, d)
			for a := range phi[i] {
				phi[i][a] = rng.NormFloat64()
			}
		}
		r := make([]float64, k)
		c := make([][]float64, k)
		for i := range k {
			for a := range d {
				r[i] += w[a] * phi[i][a]
			}
			c[i] = make([]float64, k)
		}
		for i := range k {
			for j := i + 1; j < k; j++ {
				var s float64
				for a := range d {
					for e := range d {
						s += phi[i][a] * am[a][e] * phi[j][e]
					}
				}
				c[i][j], c[j][i] = s, -s
			}
		}
		p, _ := PreferenceFromScores(r, c)
		g.Prompts = append(g.Prompts, GamePrompt{Name: fmt.Sprintf("x%d", x), P: p, Features: phi})
	}
	return g
}

// gameFile is the JSON form of a Game, with either one matrix or a list of prompts.
type gameFile struct {
	Actions  []string         `json:"actions,omitempty"`
	Matrix   [][]float64      `json:"matrix,omitempty"`
	Ref      []float64        `json:"ref,omitempty"`
	Features [][]float64      `json:"features,omitempty"`
	Prompts  []gamePromptFile `json:"prompts,omitempty"`
}

type gamePromptFile struct {
	Name     string      `json:"name"`
	Matrix   [][]float64 `json:"matrix"`
	Ref      []float64   `json:"ref,omitempty"`
	Features [][]float64 `json:"features,omitempty"`
}

// WriteJSON writes g in the format LoadGame reads: one "matrix" for a
// single prompt, a "prompts" list otherwise.
func (g *Game) WriteJSON(w io.Writer) error {
	f := gameFile{Actions: g.Actions}
	if len(g.Prompts) == 1 && g.Prompts[0].Name == "x0" {
		f.Matrix, f.Ref, f.Features = g.Prompts[0].P, g.Prompts[0].Ref, g.Prompts[0].Features
	} else {
		for _, p := range g.Prompts {
			f.Prompts = append(f.Prompts, gamePromptFile{Name: p.Name, Matrix: p.P, Ref: p.Ref, Features: p.Features})
		}
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// LoadGame reads a preference game from a JSON file. Two shapes are accepted:
//
//	{"actions": ["a", "b", "c"], "matrix": [[0.5, 0.9, 0.2], ...], "ref": [...], "features": [[...], ...]}
//	{"actions": [...], "prompts": [{"name": "x0", "matrix": [[...]], "ref": [...], "features": [[...]]}, ...]}
//
// "matrix" is P with P[i][j] = P(i ≻ j): square, entries in [0, 1],
// P[i][j] + P[j][i] = 1 and P[i][i] = ½ within GameTolerance. "actions"
// (names) is optional and defaults to y0, y1, …; "ref" (π_ref, K
// non-negative entries summing to 1 within GameTolerance) and "features"
// (K rows of the same length, the same length in every prompt) are optional.
// Python's non-finite tokens (NaN, Infinity, -Infinity) are read and
// rejected by name. Problems are reported as *Error with the file, the line
// and the field.
func LoadGame(path string) (*Game, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fileError(path, err)
	}
	return ReadGame(bytes.NewReader(b), path)
}

// ReadGame reads a game in LoadGame's format from r; name is the file name
// used in errors.
func ReadGame(r io.Reader, name string) (*Game, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, &Error{File: name, Msg: err.Error()}
	}
	src, nonFinite := gameQuoteNonFinite(b)
	root, err := gameParse(src, b, nonFinite, name)
	if err != nil {
		return nil, err
	}
	v := gameValidator{file: name, src: src}
	return v.game(root)
}

// gameQuoteNonFinite quotes the bare tokens NaN, Infinity, -Infinity and
// +Infinity (Python's json writes them; JSON lacks them) outside strings, so
// that the file parses and validation reports the entry by name ("want a
// probability in [0, 1], got NaN"). The returned map holds the index of
// each quoted token's closing quote, which is where its node is, and the
// token, so that a string "NaN" stays a string. Line breaks are kept, so
// lines counted in the result are the file's.
func gameQuoteNonFinite(b []byte) ([]byte, map[int64]string) {
	var at map[int64]string
	eachNonFinite(b, func(i int, tok string) {
		if at == nil {
			at = map[int64]string{}
		}
		// Each token quoted before this one moved it 2 bytes on.
		at[int64(i+2*len(at)+len(tok)+1)] = tok
	})
	return quoteNonFinite(b), at
}

// gameNode is a JSON value with the offset of its first byte, so that
// validation errors can name the line of the offending entry.
type gameNode struct {
	off  int64
	kind byte // 'n' number, 's' string, 'b' bool, '0' null, '[' array, '{' object
	num  float64
	str  string
	arr  []*gameNode
	keys []string
	obj  map[string]*gameNode
}

// gameParse parses src, the file orig with its non-finite tokens quoted
// (nonFinite, from gameQuoteNonFinite).
func gameParse(src, orig []byte, nonFinite map[int64]string, name string) (*gameNode, error) {
	if len(bytes.TrimSpace(src)) == 0 {
		return nil, &Error{File: name, Msg: `want a JSON object with "matrix" or "prompts", got an empty file`}
	}
	// encoding/json's own scan of the whole text first: its errors locate
	// the offending byte the same way for every mistake (the Decoder's
	// Token errors count it in some cases and not in others), and it
	// catches text after the object.
	if err := json.Unmarshal(src, new(json.RawMessage)); err != nil {
		return nil, gameSyntaxError(src, orig, nonFinite, name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	root, err := gameParseValue(dec, nonFinite)
	if err != nil {
		return nil, gameSyntaxError(src, orig, nonFinite, name, err)
	}
	return root, nil
}

// gameSyntaxError describes a syntax error of src, located in orig.
func gameSyntaxError(src, orig []byte, nonFinite map[int64]string, name string, err error) error {
	column := func(i int) int {
		shift := 0
		for q := range nonFinite { // each token quoted before i moved it 2 bytes on
			if q < int64(i) {
				shift += 2
			}
		}
		i = min(i-shift, len(orig))
		return i - bytes.LastIndexByte(orig[:i], '\n')
	}
	t := jsonText{src: src, value: "JSON object", column: column}
	field, at, msg := t.syntaxError(err)
	return &Error{File: name, Line: gameLineAt(src, int64(at)), Field: field, Msg: msg}
}

func gameParseValue(dec *json.Decoder, nonFinite map[int64]string) (*gameNode, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	// InputOffset is the end of the token just read; its last byte is on
	// the token's line.
	n := &gameNode{off: max(dec.InputOffset()-1, 0)}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '[':
			n.kind = '['
			for dec.More() {
				c, err := gameParseValue(dec, nonFinite)
				if err != nil {
					return nil, err
				}
				n.arr = append(n.arr, c)
			}
		case '{':
			n.kind = '{'
			n.obj = map[string]*gameNode{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ := kt.(string)
				c, err := gameParseValue(dec, nonFinite)
				if err != nil {
					return nil, err
				}
				if _, dup := n.obj[key]; !dup {
					n.keys = append(n.keys, key)
				}
				n.obj[key] = c
			}
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
	case json.Number:
		// A number too large for float64 parses as ±Inf; validation
		// rejects it by name, as written.
		n.kind = 'n'
		n.str = t.String()
		n.num, _ = strconv.ParseFloat(n.str, 64)
	case string:
		n.kind, n.str = 's', t
		if tok, ok := nonFinite[n.off]; ok {
			n.kind, n.str = 'n', tok
			n.num, _ = strconv.ParseFloat(strings.Replace(tok, "Infinity", "Inf", 1), 64)
		}
	case bool:
		n.kind, n.str = 'b', strconv.FormatBool(t)
	case nil:
		n.kind, n.str = '0', "null"
	}
	return n, nil
}

func gameLineAt(b []byte, off int64) int {
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	return 1 + bytes.Count(b[:off], []byte{'\n'})
}

type gameValidator struct {
	file string
	src  []byte
}

func (v *gameValidator) errorf(n *gameNode, field, format string, args ...any) *Error {
	line := 0
	if n != nil {
		line = gameLineAt(v.src, n.off)
	}
	return Errorf(v.file, line, field, format, args...)
}

func gameDescribe(n *gameNode) string {
	switch n.kind {
	case 'n', 'b', '0':
		return clipValue(n.str)
	case 's':
		return quoteValue(n.str)
	case '[':
		return fmt.Sprintf("an array of %d", len(n.arr))
	}
	return "an object"
}

var gameTopKeys = []string{"actions", "matrix", "ref", "features", "prompts"}
var gamePromptKeys = []string{"name", "matrix", "ref", "features"}

func (v *gameValidator) checkKeys(n *gameNode, field string, allowed []string) error {
	for _, k := range n.keys {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			f := clipValue(k)
			if field != "" {
				f = field + "." + f
			}
			return v.errorf(n.obj[k], f, "unknown field, want one of %s", strings.Join(allowed, ", "))
		}
	}
	return nil
}

func (v *gameValidator) game(root *gameNode) (*Game, error) {
	if root.kind != '{' {
		return nil, v.errorf(root, "", "want a JSON object with \"matrix\" or \"prompts\", got %s", gameDescribe(root))
	}
	if err := v.checkKeys(root, "", gameTopKeys); err != nil {
		return nil, err
	}
	g := &Game{}
	mat, prompts := root.obj["matrix"], root.obj["prompts"]
	switch {
	case mat != nil && prompts != nil:
		return nil, v.errorf(prompts, "prompts", "want either \"matrix\" or \"prompts\", got both")
	case mat == nil && prompts == nil:
		return nil, v.errorf(root, "matrix", "missing, want a K×K preference matrix (or a \"prompts\" list)")
	case mat != nil:
		p, err := v.prompt(root, "", "x0")
		if err != nil {
			return nil, err
		}
		g.Prompts = []GamePrompt{p}
	default:
		for _, k := range []string{"ref", "features"} {
			if root.obj[k] != nil {
				return nil, v.errorf(root.obj[k], k, "belongs inside each prompt when \"prompts\" is given")
			}
		}
		if prompts.kind != '[' || len(prompts.arr) == 0 {
			return nil, v.errorf(prompts, "prompts", "want a non-empty array of prompts, got %s", gameDescribe(prompts))
		}
		for i, pn := range prompts.arr {
			field := fmt.Sprintf("prompts[%d]", i)
			if pn.kind != '{' {
				return nil, v.errorf(pn, field, "want an object with \"matrix\", got %s", gameDescribe(pn))
			}
			if err := v.checkKeys(pn, field, gamePromptKeys); err != nil {
				return nil, err
			}
			name := fmt.Sprintf("x%d", i)
			if nn := pn.obj["name"]; nn != nil {
				if nn.kind != 's' {
					return nil, v.errorf(nn, field+".name", "want a string, got %s", gameDescribe(nn))
				}
				name = nn.str
			}
			p, err := v.prompt(pn, field+".", name)
			if err != nil {
				return nil, err
			}
			g.Prompts = append(g.Prompts, p)
		}
	}
	k := len(g.Prompts[0].P)
	for i, p := range g.Prompts {
		if len(p.P) != k {
			return nil, v.errorf(prompts.arr[i].obj["matrix"], fmt.Sprintf("prompts[%d].matrix", i),
				"want %d×%d like the first prompt, got %d×%d", k, k, len(p.P), len(p.P))
		}
	}
	d := len(g.Prompts[0].Features)
	if d > 0 {
		d = len(g.Prompts[0].Features[0])
	}
	for i, p := range g.Prompts {
		pd := 0
		if len(p.Features) > 0 {
			pd = len(p.Features[0])
		}
		if pd != d {
			return nil, v.errorf(prompts.arr[i].obj["features"], fmt.Sprintf("prompts[%d].features", i),
				"want features of length %d in every prompt like the first, got %d", d, pd)
		}
	}
	if an := root.obj["actions"]; an != nil {
		if an.kind != '[' || len(an.arr) != k {
			return nil, v.errorf(an, "actions", "want an array of %d names (one per matrix row), got %s", k, gameDescribe(an))
		}
		seen := map[string]bool{}
		for i, e := range an.arr {
			if e.kind != 's' || e.str == "" {
				return nil, v.errorf(e, fmt.Sprintf("actions[%d]", i), "want a non-empty string, got %s", gameDescribe(e))
			}
			if seen[e.str] {
				return nil, v.errorf(e, fmt.Sprintf("actions[%d]", i), "want distinct names, got %s twice", quoteValue(e.str))
			}
			seen[e.str] = true
			g.Actions = append(g.Actions, e.str)
		}
	} else {
		g.Actions = gameActionNames(k)
	}
	return g, nil
}

// prompt reads matrix, ref and features from the object n; prefix is the
// field path of n ("" or "prompts[i].").
func (v *gameValidator) prompt(n *gameNode, prefix, name string) (GamePrompt, error) {
	p := GamePrompt{Name: name}
	mn := n.obj["matrix"]
	field := prefix + "matrix"
	if mn == nil {
		return p, v.errorf(n, field, "missing, want a K×K preference matrix")
	}
	if mn.kind != '[' || len(mn.arr) < 2 {
		return p, v.errorf(mn, field, "want a K×K array of arrays with K ≥ 2, got %s", gameDescribe(mn))
	}
	k := len(mn.arr)
	p.P = make([][]float64, k)
	for i, row := range mn.arr {
		if row.kind != '[' || len(row.arr) != k {
			return p, v.errorf(row, fmt.Sprintf("%s[%d]", field, i), "want a row of %d numbers (the matrix must be square), got %s", k, gameDescribe(row))
		}
		p.P[i] = make([]float64, k)
		for j, e := range row.arr {
			f := fmt.Sprintf("%s[%d][%d]", field, i, j)
			if e.kind != 'n' || !(e.num >= 0 && e.num <= 1) { // NaN fails both comparisons
				return p, v.errorf(e, f, "want a probability in [0, 1], got %s", gameDescribe(e))
			}
			p.P[i][j] = e.num
		}
	}
	for i := range k {
		if d := p.P[i][i] - 0.5; math.Abs(d) > GameTolerance {
			return p, v.errorf(mn.arr[i].arr[i], fmt.Sprintf("%s[%d][%d]", field, i, i), "want 0.5 on the diagonal (an action ties with itself), got %s", clipValue(mn.arr[i].arr[i].str))
		}
		for j := i + 1; j < k; j++ {
			if s := p.P[i][j] + p.P[j][i]; math.Abs(s-1) > GameTolerance {
				return p, v.errorf(mn.arr[j].arr[i], fmt.Sprintf("%s[%d][%d]", field, j, i),
					"want 1 − %s[%d][%d] = %.6g within %g (P + Pᵀ = 1), got %s", field, i, j, 1-p.P[i][j], GameTolerance, clipValue(mn.arr[j].arr[i].str))
			}
		}
	}
	if rn := n.obj["ref"]; rn != nil {
		f := prefix + "ref"
		if rn.kind != '[' || len(rn.arr) != k {
			return p, v.errorf(rn, f, "want %d probabilities (π_ref over the actions), got %s", k, gameDescribe(rn))
		}
		var sum float64
		for i, e := range rn.arr {
			if e.kind != 'n' || !(e.num >= 0 && e.num <= 1) { // NaN fails both comparisons
				return p, v.errorf(e, fmt.Sprintf("%s[%d]", f, i), "want a probability in [0, 1], got %s", gameDescribe(e))
			}
			if e.num == 0 {
				return p, v.errorf(e, fmt.Sprintf("%s[%d]", f, i), "want a positive probability (π_ref must cover every action), got 0")
			}
			p.Ref = append(p.Ref, e.num)
			sum += e.num
		}
		if math.Abs(sum-1) > GameTolerance {
			return p, v.errorf(rn, f, "want probabilities summing to 1 within %g, got sum %g", GameTolerance, sum)
		}
	}
	if fn := n.obj["features"]; fn != nil {
		f := prefix + "features"
		if fn.kind != '[' || len(fn.arr) != k {
			return p, v.errorf(fn, f, "want %d feature rows (one per action), got %s", k, gameDescribe(fn))
		}
		d := -1
		for i, row := range fn.arr {
			if row.kind != '[' || len(row.arr) == 0 || (d >= 0 && len(row.arr) != d) {
				want := "a non-empty array of numbers"
				if d >= 0 {
					want = fmt.Sprintf("an array of %d numbers like row 0", d)
				}
				return p, v.errorf(row, fmt.Sprintf("%s[%d]", f, i), "want %s, got %s", want, gameDescribe(row))
			}
			d = len(row.arr)
			phi := make([]float64, d)
			for a, e := range row.arr {
				if e.kind != 'n' {
					return p, v.errorf(e, fmt.Sprintf("%s[%d][%d]", f, i, a), "want a number, got %s", gameDescribe(e))
				}
				if math.IsNaN(e.num) || math.IsInf(e.num, 0) {
					return p, v.errorf(e, fmt.Sprintf("%s[%d][%d]", f, i, a), "want a finite number, got %s", gameDescribe(e))
				}
				phi[a] = e.num
			}
			p.Features = append(p.Features, phi)
		}
	}
	return p, nil
}
