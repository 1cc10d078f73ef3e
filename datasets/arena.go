package datasets

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"
)

// The normalized values of Battle.Winner, as in Chatbot Arena exports.
const (
	WinnerA          = "model_a"
	WinnerB          = "model_b"
	WinnerTie        = "tie"
	WinnerTieBothBad = "tie (bothbad)"
)

// winners lists the allowed winner values in the order error messages give them.
var battleWinners = []string{WinnerA, WinnerB, WinnerTie, WinnerTieBothBad}

// Battle is one pairwise comparison of two models, as in a Chatbot Arena
// export: which side won, or a tie. Winner is one of WinnerA, WinnerB,
// WinnerTie or WinnerTieBothBad.
type Battle struct {
	ModelA, ModelB, Winner string
}

// maxLine bounds one JSONL line. Arena exports carry whole conversations per
// line (a few MB); anything larger is almost certainly not a battle file.
const battleMaxLine = 64 << 20

// LoadBattles reads a battle file: JSON Lines (one object per line), a JSON
// array of objects, or CSV with a header naming model_a, model_b and winner
// (any order, other columns ignored). A name ending in .csv is read as CSV;
// otherwise a first non-space byte '[' means a JSON array, anything else
// JSONL. In JSON, fields other than model_a, model_b and winner are ignored.
// Winner values are trimmed and lower-cased, then must be one of
// "model_a", "model_b", "tie", "tie (bothbad)".
//
// Problems are reported as *Error with the file, the 1-based line and the
// field. The file is read as a stream; only the battles are kept.
func LoadBattles(path string) ([]Battle, error) {
	var out []Battle
	err := scanBattleFile(path, func(b Battle) error {
		out = append(out, b)
		return nil
	})
	return out, err
}

// LoadArenaCounts reads battle files (see LoadBattles for the formats) and
// aggregates them into counts without keeping the battles: the way to read a
// million-line export.
func LoadArenaCounts(paths ...string) (*ArenaCounts, error) {
	var agg ArenaAggregator
	for _, p := range paths {
		if err := scanBattleFile(p, agg.Add); err != nil {
			return nil, err
		}
	}
	return agg.Counts(), nil
}

func scanBattleFile(path string, fn func(Battle) error) error {
	f, err := openInput(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return ScanBattles(f, path, fn)
}

// ReadBattles reads battles from r in any format LoadBattles accepts; name is
// the file name used in errors and, by its extension, to recognise CSV.
func ReadBattles(r io.Reader, name string) ([]Battle, error) {
	var out []Battle
	err := ScanBattles(r, name, func(b Battle) error {
		out = append(out, b)
		return nil
	})
	return out, err
}

// ScanBattles streams the battles of r to fn, in file order, stopping at the
// first error (a *Error for bad input, or fn's error). Model names are
// interned, so a long file does not hold one copy of a name per line.
func ScanBattles(r io.Reader, name string, fn func(Battle) error) error {
	s := &battleScanner{name: name, fn: fn, intern: map[string]string{}}
	br := bufio.NewReaderSize(r, 1<<16)
	if strings.EqualFold(filepath.Ext(name), ".csv") {
		return s.csv(br)
	}
	first, err := battleFirstByte(br)
	if err != nil {
		return &Error{File: name, Msg: err.Error()}
	}
	switch first {
	case 0:
		return s.empty()
	case '[':
		return s.jsonArray(br)
	}
	return s.jsonl(br)
}

// firstByte returns the first byte that is not white space or a UTF-8 byte
// order mark, without consuming it; 0 at end of input.
func battleFirstByte(br *bufio.Reader) (byte, error) {
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	for n := 1; ; n++ {
		p, err := br.Peek(n)
		if len(p) < n {
			if err == io.EOF || err == nil {
				return 0, nil
			}
			if err == bufio.ErrBufferFull {
				// A whole buffer of white space: not JSON array, so JSONL will report it.
				return ' ', nil
			}
			return 0, err
		}
		switch c := p[n-1]; c {
		case ' ', '\t', '\r', '\n':
		default:
			return c, nil
		}
	}
}

type battleScanner struct {
	inArray bool
	name    string
	fn      func(Battle) error
	intern  map[string]string
	count   int
}

func (s *battleScanner) errorf(line int, field, format string, args ...any) error {
	return Errorf(s.name, line, field, format, args...)
}

func (s *battleScanner) empty() error {
	return s.errorf(0, "", "want at least one battle, got an empty file")
}

// emit checks and normalizes one battle and hands it on.
func (s *battleScanner) emit(line int, a, b, w string) error {
	if a == "" {
		return s.errorf(line, "model_a", "want a model name, got an empty string")
	}
	if b == "" {
		return s.errorf(line, "model_b", "want a model name, got an empty string")
	}
	if a == b {
		return s.errorf(line, "model_b", "want a model other than model_a, got %s on both sides", quoteValue(a))
	}
	norm, ok := normalizeWinner(w)
	if !ok {
		return s.errorf(line, "winner", "want one of %s, got %s", quoteBattleList(battleWinners), quoteValue(w))
	}
	s.count++
	return s.fn(Battle{ModelA: s.name0(a), ModelB: s.name0(b), Winner: norm})
}

// internBytes returns b as a string, shared with earlier equal ones: a
// million lines name a few hundred models and four outcomes.
func (s *battleScanner) internBytes(b []byte) string {
	if v, ok := s.intern[string(b)]; ok { // no allocation for the lookup
		return v
	}
	v := string(b)
	s.intern[v] = v
	return v
}

func (s *battleScanner) name0(n string) string {
	if v, ok := s.intern[n]; ok {
		return v
	}
	s.intern[n] = n
	return n
}

func normalizeWinner(w string) (string, bool) {
	w = strings.ToLower(strings.TrimSpace(w))
	for _, v := range battleWinners {
		if w == v {
			return v, true
		}
	}
	return "", false
}

func quoteBattleList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

// checkUTF8 reports the first invalid byte of b, at 1-based column col0 +
// its index (col0 0: column unknown).
func (s *battleScanner) checkUTF8(line int, b []byte, col0 int) error {
	if utf8.Valid(b) {
		return nil
	}
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			if col0 == 0 {
				return s.errorf(line, "", "want UTF-8 text, got byte 0x%02x", b[i])
			}
			return s.errorf(line, "", "want UTF-8 text, got byte 0x%02x at column %d", b[i], col0+i)
		}
		i += size
	}
	return nil
}

// record is one JSON battle object; fields stay raw so that a wrong type can
// be reported by name instead of as a decoding failure.
type battleRecord struct {
	ModelA json.RawMessage `json:"model_a"`
	ModelB json.RawMessage `json:"model_b"`
	Winner json.RawMessage `json:"winner"`
}

// object decodes one JSON object (line is where it starts).
func (s *battleScanner) object(line int, raw []byte) error {
	col0 := 1
	if s.inArray {
		col0 = 0 // an element need not start its line: no column
	}
	if err := s.checkUTF8(line, raw, col0); err != nil {
		return err
	}
	if a, b, w, ok := flatBattle(raw); ok {
		return s.emit(line, s.internBytes(a), s.internBytes(b), s.internBytes(w))
	}
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		if len(trimmed) > 0 && json.Valid(trimmed) {
			return s.errorf(line, "", "want a JSON object, got %s", battleJSONKind(trimmed))
		}
	}
	var rec battleRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return s.jsonError(line, err)
	}
	var vals [3]string
	for i, f := range [3]struct {
		name string
		raw  json.RawMessage
	}{{"model_a", rec.ModelA}, {"model_b", rec.ModelB}, {"winner", rec.Winner}} {
		if f.raw == nil {
			if f.name == "winner" {
				return s.errorf(line, f.name, "want one of %s, got no such field", quoteBattleList(battleWinners))
			}
			return s.errorf(line, f.name, "want a model name, got no such field")
		}
		if f.raw[0] != '"' {
			return s.errorf(line, f.name, "want a string, got %s", battleJSONKind(f.raw))
		}
		if bytes.IndexByte(f.raw, '\\') < 0 {
			vals[i] = s.internBytes(f.raw[1 : len(f.raw)-1])
		} else if err := json.Unmarshal(f.raw, &vals[i]); err != nil {
			return s.errorf(line, f.name, "want a string, got %s", clipValue(string(f.raw)))
		}
	}
	return s.emit(line, vals[0], vals[1], vals[2])
}

// flatBattle is the fast path of object: a flat JSON object whose strings
// have no escapes and whose other values are numbers, true, false or null,
// with model_a, model_b and winner present once each as strings. It returns
// ok false for anything else (nested values, escapes, other types, invalid
// JSON, keys that match only case-insensitively), which the encoding/json
// path then decodes or reports, so both paths give the same battles.
func flatBattle(b []byte) (modelA, modelB, winner []byte, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, nil, nil, false
	}
	i = skipSpace(b, i+1)
	var seen [3]bool
	if i < len(b) && b[i] == '}' {
		return nil, nil, nil, false
	}
	for {
		key, j, good := flatString(b, i)
		if !good {
			return nil, nil, nil, false
		}
		i = skipSpace(b, j)
		if i >= len(b) || b[i] != ':' {
			return nil, nil, nil, false
		}
		i = skipSpace(b, i+1)
		field := -1
		switch string(key) {
		case "model_a":
			field = 0
		case "model_b":
			field = 1
		case "winner":
			field = 2
		default:
			if strings.EqualFold(string(key), "model_a") || strings.EqualFold(string(key), "model_b") || strings.EqualFold(string(key), "winner") {
				return nil, nil, nil, false
			}
		}
		if field >= 0 {
			val, j, good := flatString(b, i)
			if !good || seen[field] {
				return nil, nil, nil, false
			}
			seen[field] = true
			switch field {
			case 0:
				modelA = val
			case 1:
				modelB = val
			case 2:
				winner = val
			}
			i = j
		} else if i < len(b) && b[i] == '"' {
			_, j, good := flatString(b, i)
			if !good {
				return nil, nil, nil, false
			}
			i = j
		} else if j, good := flatScalar(b, i); good {
			i = j
		} else {
			return nil, nil, nil, false
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return nil, nil, nil, false
		}
		if b[i] == '}' {
			break
		}
		if b[i] != ',' {
			return nil, nil, nil, false
		}
		i = skipSpace(b, i+1)
	}
	if skipSpace(b, i+1) != len(b) || !seen[0] || !seen[1] || !seen[2] {
		return nil, nil, nil, false
	}
	return modelA, modelB, winner, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// flatString reads a JSON string without escapes or control bytes at b[i].
func flatString(b []byte, i int) (val []byte, next int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, i, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20:
			return nil, i, false
		}
	}
	return nil, i, false
}

// flatScalar reads a JSON number, true, false or null at b[i].
func flatScalar(b []byte, i int) (next int, ok bool) {
	for _, lit := range []string{"true", "false", "null"} {
		if bytes.HasPrefix(b[i:], []byte(lit)) {
			return i + len(lit), true
		}
	}
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	digits := func() int {
		k := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		return j - k
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case digits() == 0:
		return i, false
	}
	if j < len(b) && b[j] == '.' {
		j++
		if digits() == 0 {
			return i, false
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if digits() == 0 {
			return i, false
		}
	}
	return j, true
}

func (s *battleScanner) jsonError(line int, err error) error {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se) && se.Error() == "unexpected end of JSON input":
		return s.errorf(line, "", "want a complete JSON object, got truncated JSON")
	case errors.As(err, &se):
		return s.errorf(line, "", "want a JSON object, got invalid JSON at column %d: %s", se.Offset, se.Error())
	}
	return s.errorf(line, "", "want a JSON object, got %v", err)
}

// jsonKind names the JSON type of a value by its first byte.
func battleJSONKind(raw []byte) string {
	switch raw[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

func (s *battleScanner) jsonl(br *bufio.Reader) error {
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 0, 1<<16), battleMaxLine)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		if err := s.object(line, b); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return s.errorf(line+1, "", "want a line of at most %d MiB, got a longer one", battleMaxLine>>20)
		}
		return s.errorf(line+1, "", "%v", err)
	}
	if s.count == 0 {
		return s.empty()
	}
	return nil
}

// lineTracker counts the newlines of what a json.Decoder consumed, so that an
// element found at a byte offset can be given its line.
type battleLineTracker struct {
	r     io.Reader
	buf   []byte // bytes from offset base on
	start int    // bytes of buf already counted
	base  int64  // offset of buf[start]
	line  int    // newlines before base
}

func (t *battleLineTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if t.start > len(t.buf)/2 {
		t.buf = append(t.buf[:0], t.buf[t.start:]...)
		t.start = 0
	}
	t.buf = append(t.buf, p[:n]...)
	return n, err
}

// lineAt returns the 1-based line of the byte at off; offsets must not decrease.
func (t *battleLineTracker) lineAt(off int64) int {
	k := int(off - t.base)
	if k > len(t.buf)-t.start {
		k = len(t.buf) - t.start
	}
	if k > 0 {
		t.line += bytes.Count(t.buf[t.start:t.start+k], []byte{'\n'})
		t.start += k
		t.base += int64(k)
	}
	return t.line + 1
}

// lastLine returns the line of the last non-space byte read.
func (t *battleLineTracker) lastLine() int {
	rest := bytes.TrimRight(t.buf[t.start:], " \t\r\n")
	return t.line + bytes.Count(rest, []byte{'\n'}) + 1
}

func (s *battleScanner) jsonArray(br *bufio.Reader) error {
	s.inArray = true
	lt := &battleLineTracker{r: br}
	dec := json.NewDecoder(lt)
	if _, err := dec.Token(); err != nil { // the '[' already seen
		return s.errorf(1, "", "want a JSON array, got %v", err)
	}
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			var se *json.SyntaxError
			switch {
			case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
				errors.As(err, &se) && se.Error() == "unexpected end of JSON input":
				return s.errorf(lt.lastLine(), "", "want a complete JSON array, got truncated JSON")
			case errors.As(err, &se):
				return s.errorf(lt.lineAt(se.Offset), "", "want a JSON array of objects, got invalid JSON: %s", se.Error())
			}
			return s.errorf(lt.lineAt(dec.InputOffset()), "", "want a JSON array of objects, got %v", err)
		}
		line := lt.lineAt(dec.InputOffset() - int64(len(raw)))
		if err := s.object(line, raw); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) && se.Error() != "unexpected end of JSON input" {
			return s.errorf(lt.lineAt(se.Offset), "", "want a JSON array of objects, got invalid JSON: %s", se.Error())
		}
		return s.errorf(lt.lastLine(), "", "want a complete JSON array, got truncated JSON")
	}
	if s.count == 0 {
		return s.errorf(1, "", "want at least one battle, got an empty array")
	}
	return nil
}

func (s *battleScanner) csv(br *bufio.Reader) error {
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return s.empty()
	}
	if err != nil {
		return s.csvError(err)
	}
	col := map[string]int{"model_a": -1, "model_b": -1, "winner": -1}
	for i, h := range header {
		if err := s.checkUTF8(1, []byte(h), 1); err != nil {
			return err
		}
		h = strings.ToLower(strings.TrimSpace(h))
		if _, ok := col[h]; ok && col[h] < 0 {
			col[h] = i
		}
	}
	for _, f := range []string{"model_a", "model_b", "winner"} {
		if col[f] < 0 {
			return s.errorf(1, f, "want a header with columns model_a, model_b, winner, got %s", quoteValue(strings.Join(header, ",")))
		}
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return s.csvError(err)
		}
		line, _ := cr.FieldPos(0)
		for i, f := range rec {
			l, c := cr.FieldPos(i)
			if err := s.checkUTF8(l, []byte(f), c); err != nil {
				return err
			}
		}
		var vals [3]string
		for i, f := range []string{"model_a", "model_b", "winner"} {
			if col[f] >= len(rec) {
				return s.errorf(line, f, "want %d fields, got %d", len(header), len(rec))
			}
			vals[i] = strings.TrimSpace(rec[col[f]])
		}
		if err := s.emit(line, vals[0], vals[1], vals[2]); err != nil {
			return err
		}
	}
	if s.count == 0 {
		return s.errorf(0, "", "want at least one battle after the header, got none")
	}
	return nil
}

func (s *battleScanner) csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return s.errorf(pe.Line, "", "want CSV, got %v at column %d", pe.Err, pe.Column)
	}
	return s.errorf(0, "", "%v", err)
}

// WriteBattlesJSONL writes battles as JSON Lines, one
// {"model_a": …, "model_b": …, "winner": …} object per line.
func WriteBattlesJSONL(w io.Writer, battles []Battle) error {
	bw := bufio.NewWriter(w)
	for _, b := range battles {
		if _, err := fmt.Fprintf(bw, "{\"model_a\":%s,\"model_b\":%s,\"winner\":%s}\n",
			battleJSONString(b.ModelA), battleJSONString(b.ModelB), battleJSONString(b.Winner)); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func battleJSONString(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

// ArenaCounts are battles deduplicated into counts per unordered pair of
// models: the sufficient statistics of Bradley–Terry-type models, which do
// not depend on which side a model was shown on.
type ArenaCounts struct {
	Models []string     // sorted
	Pairs  []PairCounts // pairs that met at least once, sorted by (A, B)
}

// PairCounts are the outcomes of the battles between Models[A] and
// Models[B], A < B, whichever side each was shown on.
type PairCounts struct {
	A, B    int
	WinsA   int64 // battles Models[A] won
	WinsB   int64 // battles Models[B] won
	Ties    int64 // "tie"
	BothBad int64 // "tie (bothbad)"
}

// Total is the number of battles of the pair.
func (p PairCounts) Total() int64 { return p.WinsA + p.WinsB + p.Ties + p.BothBad }

// Battles is the number of battles counted.
func (c *ArenaCounts) Battles() int64 {
	var n int64
	for _, p := range c.Pairs {
		n += p.Total()
	}
	return n
}

// Index returns the index of model name in c.Models, or -1.
func (c *ArenaCounts) Index(name string) int {
	i := sort.SearchStrings(c.Models, name)
	if i < len(c.Models) && c.Models[i] == name {
		return i
	}
	return -1
}

// ModelStats are one model's totals over all its battles.
type ModelStats struct {
	Battles, Wins, Losses, Ties int64 // Ties include "tie (bothbad)"
}

// Stats returns the totals of every model, indexed like c.Models.
func (c *ArenaCounts) Stats() []ModelStats {
	st := make([]ModelStats, len(c.Models))
	for _, p := range c.Pairs {
		t := p.Ties + p.BothBad
		a, b := &st[p.A], &st[p.B]
		a.Battles += p.Total()
		b.Battles += p.Total()
		a.Wins += p.WinsA
		a.Losses += p.WinsB
		b.Wins += p.WinsB
		b.Losses += p.WinsA
		a.Ties += t
		b.Ties += t
	}
	return st
}

// ArenaAggregator accumulates battles into ArenaCounts one at a time. The
// zero value is ready to use.
type ArenaAggregator struct {
	cells map[[2]string]*PairCounts
}

// Add counts one battle. Its winner must be normalized (as the loaders do);
// Add returns an error otherwise, and for a model playing itself.
func (g *ArenaAggregator) Add(b Battle) error {
	if b.ModelA == b.ModelB {
		return fmt.Errorf("datasets: battle of %q against itself", b.ModelA)
	}
	if g.cells == nil {
		g.cells = map[[2]string]*PairCounts{}
	}
	lo, hi, swapped := b.ModelA, b.ModelB, false
	if hi < lo {
		lo, hi, swapped = hi, lo, true
	}
	c := g.cells[[2]string{lo, hi}]
	if c == nil {
		c = &PairCounts{}
		g.cells[[2]string{lo, hi}] = c
	}
	switch b.Winner {
	case WinnerA, WinnerB:
		if (b.Winner == WinnerA) != swapped {
			c.WinsA++
		} else {
			c.WinsB++
		}
	case WinnerTie:
		c.Ties++
	case WinnerTieBothBad:
		c.BothBad++
	default:
		return fmt.Errorf("datasets: winner: want one of %s, got %q", quoteBattleList(battleWinners), b.Winner)
	}
	return nil
}

// Counts returns the counts so far, models sorted by name.
func (g *ArenaAggregator) Counts() *ArenaCounts {
	set := map[string]bool{}
	for k := range g.cells {
		set[k[0]], set[k[1]] = true, true
	}
	c := &ArenaCounts{Models: make([]string, 0, len(set))}
	for m := range set {
		c.Models = append(c.Models, m)
	}
	sort.Strings(c.Models)
	for k, v := range g.cells {
		p := *v
		p.A, p.B = c.Index(k[0]), c.Index(k[1])
		c.Pairs = append(c.Pairs, p)
	}
	sort.Slice(c.Pairs, func(i, j int) bool {
		if c.Pairs[i].A != c.Pairs[j].A {
			return c.Pairs[i].A < c.Pairs[j].A
		}
		return c.Pairs[i].B < c.Pairs[j].B
	})
	return c
}

// AggregateBattles deduplicates battles into counts per unordered pair.
func AggregateBattles(battles []Battle) (*ArenaCounts, error) {
	var g ArenaAggregator
	for _, b := range battles {
		if err := g.Add(b); err != nil {
			return nil, err
		}
	}
	return g.Counts(), nil
}

// The tie mechanisms of GenerateArena.
const (
	// TiesConstant: each battle is a tie with probability TieRate, whatever
	// the strengths; otherwise Bradley–Terry decides it.
	TiesConstant = "constant"
	// TiesRaoKupper: P(i ≻ j) = σ(θi − θj − log κ), tie otherwise
	// (Rao & Kupper 1967), κ = TieParam > 1.
	TiesRaoKupper = "rao_kupper"
	// TiesDavidson: P(i ≻ j) = γi / (γi + γj + ν√(γiγj)) and
	// P(tie) = ν√(γiγj) / (γi + γj + ν√(γiγj)), γ = e^θ (Davidson 1970),
	// ν = TieParam ≥ 0.
	TiesDavidson = "davidson"
)

// ArenaConfig describes a synthetic arena with planted log-strengths.
type ArenaConfig struct {
	// Names of the models; if empty, Models names "model-01", "model-02", ….
	Names  []string
	Models int
	// Battles is the number of battles to draw.
	Battles int
	// Theta are the planted log-strengths, aligned with the names; if empty
	// they are drawn N(0, Spread²) (Spread 0 means 1) and centered to mean 0.
	Theta  []float64
	Spread float64
	// Ties is TiesConstant (the default when empty), TiesRaoKupper or
	// TiesDavidson. TieRate is the tie probability of TiesConstant; TieParam
	// is κ of Rao–Kupper or ν of Davidson.
	Ties     string
	TieRate  float64
	TieParam float64
	// BothBad is the fraction of ties labelled "tie (bothbad)" rather than "tie".
	BothBad float64
	// Skew is the popularity skew of pair draws: each side is drawn with
	// probability ∝ (rank+1)^−Skew over the models in name order, redrawn
	// until the sides differ. 0 draws pairs uniformly.
	Skew float64
	// Seed seeds every draw: the same config gives the same arena.
	Seed uint64
}

// GenerateArena draws battles from a Bradley–Terry model with planted
// log-strengths θ (P(i ≻ j) = σ(θi − θj) among decisive battles) and the
// configured tie mechanism. It returns the battles and the planted θ by
// model name. The side a model is shown on is a fair coin.
func GenerateArena(cfg ArenaConfig) ([]Battle, map[string]float64, error) {
	names := cfg.Names
	if len(names) == 0 {
		names = make([]string, cfg.Models)
		for i := range names {
			names[i] = fmt.Sprintf("model-%02d", i+1)
		}
	}
	k := len(names)
	if k < 2 {
		return nil, nil, fmt.Errorf("datasets: arena: want at least 2 models, got %d", k)
	}
	seen := map[string]bool{}
	for _, n := range names {
		if n == "" || seen[n] {
			return nil, nil, fmt.Errorf("datasets: arena: want distinct non-empty model names, got %q twice or empty", n)
		}
		seen[n] = true
	}
	if cfg.Battles < 0 {
		return nil, nil, fmt.Errorf("datasets: arena: want battles ≥ 0, got %d", cfg.Battles)
	}
	ties := cfg.Ties
	if ties == "" {
		ties = TiesConstant
	}
	switch ties {
	case TiesConstant:
		if cfg.TieRate < 0 || cfg.TieRate >= 1 {
			return nil, nil, fmt.Errorf("datasets: arena: want tie rate in [0, 1), got %v", cfg.TieRate)
		}
	case TiesRaoKupper:
		if !(cfg.TieParam >= 1) {
			return nil, nil, fmt.Errorf("datasets: arena: want Rao–Kupper κ ≥ 1, got %v", cfg.TieParam)
		}
	case TiesDavidson:
		if !(cfg.TieParam >= 0) {
			return nil, nil, fmt.Errorf("datasets: arena: want Davidson ν ≥ 0, got %v", cfg.TieParam)
		}
	default:
		return nil, nil, fmt.Errorf("datasets: arena: want ties one of %q, %q, %q, got %q", TiesConstant, TiesRaoKupper, TiesDavidson, cfg.Ties)
	}
	if cfg.BothBad < 0 || cfg.BothBad > 1 {
		return nil, nil, fmt.Errorf("datasets: arena: want bothbad fraction in [0, 1], got %v", cfg.BothBad)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xa7e4a))
	theta := make([]float64, k)
	if len(cfg.Theta) > 0 {
		if len(cfg.Theta) != k {
			return nil, nil, fmt.Errorf("datasets: arena: want %d planted strengths, got %d", k, len(cfg.Theta))
		}
		copy(theta, cfg.Theta)
	} else {
		spread := cfg.Spread
		if spread == 0 {
			spread = 1
		}
		mean := 0.0
		for i := range theta {
			theta[i] = spread * rng.NormFloat64()
			mean += theta[i] / float64(k)
		}
		for i := range theta {
			theta[i] -= mean
		}
	}
	// Cumulative popularity weights for the pair draws.
	cum := make([]float64, k)
	total := 0.0
	for i := range cum {
		total += math.Pow(float64(i+1), -cfg.Skew)
		cum[i] = total
	}
	pick := func() int {
		u := rng.Float64() * total
		i := sort.SearchFloat64s(cum, u)
		if i >= k {
			i = k - 1
		}
		return i
	}
	battles := make([]Battle, cfg.Battles)
	for n := range battles {
		i := pick()
		j := pick()
		for j == i {
			j = pick()
		}
		d := theta[i] - theta[j]
		var pWin, pTie float64 // P(i ≻ j), P(tie)
		switch ties {
		case TiesConstant:
			pTie = cfg.TieRate
			pWin = (1 - pTie) / (1 + math.Exp(-d))
		case TiesRaoKupper:
			eta := math.Log(cfg.TieParam)
			pWin = 1 / (1 + math.Exp(-(d - eta)))
			pLose := 1 / (1 + math.Exp(-(-d - eta)))
			pTie = 1 - pWin - pLose
		case TiesDavidson:
			z := math.Exp(d/2) + math.Exp(-d/2) + cfg.TieParam
			pWin = math.Exp(d/2) / z
			pTie = cfg.TieParam / z
		}
		u := rng.Float64()
		var w string
		switch {
		case u < pWin:
			w = WinnerA
		case u < pWin+pTie:
			w = WinnerTie
			if rng.Float64() < cfg.BothBad {
				w = WinnerTieBothBad
			}
		default:
			w = WinnerB
		}
		if rng.IntN(2) == 1 { // show i on the right
			i, j = j, i
			switch w {
			case WinnerA:
				w = WinnerB
			case WinnerB:
				w = WinnerA
			}
		}
		battles[n] = Battle{ModelA: names[i], ModelB: names[j], Winner: w}
	}
	planted := make(map[string]float64, k)
	for i, n := range names {
		planted[n] = theta[i]
	}
	return battles, planted, nil
}

// SampleArenaName is the name of the embedded sample arena, used in errors
// and notes: a JSONL file of 10 fictional models and 5,000 battles drawn by
// GenerateArena(SampleArenaConfig()).
const SampleArenaName = "samples/arena.jsonl"

//go:embed samples/arena.jsonl
var sampleArena []byte

// SampleArenaConfig is the config the embedded sample arena was generated
// with; regenerating it gives the embedded file byte for byte.
func SampleArenaConfig() ArenaConfig {
	return ArenaConfig{
		Names: []string{
			"aurora-70b", "basalt-34b", "cedar-13b", "dune-8x7b", "ember-7b",
			"fjord-70b-chat", "granite-3b", "helix-22b", "iris-mini", "juniper-1.5b",
		},
		Battles: 5000,
		Spread:  0.8,
		TieRate: 0.2,
		BothBad: 0.3,
		Skew:    0.5,
		Seed:    2024,
	}
}

// SampleArena returns a reader of the embedded sample arena (JSONL); read it
// with ReadBattles(SampleArena(), SampleArenaName) or SampleBattles.
func SampleArena() io.Reader { return bytes.NewReader(sampleArena) }

// SampleBattles returns the battles of the embedded sample arena.
func SampleBattles() ([]Battle, error) { return ReadBattles(SampleArena(), SampleArenaName) }
