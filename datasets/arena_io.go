package datasets

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file holds the battle file readers, JSON Lines, a JSON array or CSV,
// all streamed through ScanArena (arena-hard judgments are read by
// arenahard.go through the same scanner), and the JSON Lines writer.

// maxLine bounds one JSONL line. Arena exports carry whole conversations per
// line (a few MB); anything larger is almost certainly not a battle file.
const battleMaxLine = 64 << 20

// The formats of ArenaOptions.Format.
const (
	// ArenaFormatAuto reads a JSON file whose first record has a "games"
	// field and no "model_a" as arena-hard judgments, anything else as
	// battles.
	ArenaFormatAuto = "auto"
	// ArenaFormatBattles reads battles (model_a, model_b, winner): see
	// LoadBattles.
	ArenaFormatBattles = "battles"
	// ArenaFormatArenaHard reads arena-hard-auto judgments: see
	// ReadArenaHard.
	ArenaFormatArenaHard = "arena_hard"
)

// ArenaFormats lists the values of ArenaOptions.Format, the default first.
var ArenaFormats = []string{ArenaFormatAuto, ArenaFormatBattles, ArenaFormatArenaHard}

// The policies of ArenaOptions.SelfBattles.
const (
	// SelfBattlesError makes a battle of a model against itself an error.
	SelfBattlesError = "error"
	// SelfBattlesSkip drops such battles and counts them (ArenaSkips.Self).
	SelfBattlesSkip = "skip"
)

// SelfBattlePolicies lists the values of ArenaOptions.SelfBattles, the
// default first.
var SelfBattlePolicies = []string{SelfBattlesError, SelfBattlesSkip}

// ArenaOptions configure LoadArena and ScanArena. The zero value (or nil)
// detects the format, rejects battles of a model against itself and reads
// arena-hard judgments with their defaults.
type ArenaOptions struct {
	// Format is one of ArenaFormats; empty means ArenaFormatAuto.
	Format string
	// SelfBattles is one of SelfBattlePolicies; empty means
	// SelfBattlesError.
	SelfBattles string
	// Baseline is the model every arena-hard judgment compares against
	// (default DefaultArenaHardBaseline).
	Baseline string
	// StrongWeight is the weight of an arena-hard "A>>B" or "B>>A" verdict,
	// a finite number > 0 (default DefaultStrongWeight).
	StrongWeight float64
}

// options returns o with its defaults filled in, or an error naming the
// field that is out of range.
func (o *ArenaOptions) options() (ArenaOptions, error) {
	var opt ArenaOptions
	if o != nil {
		opt = *o
	}
	if opt.Format == "" {
		opt.Format = ArenaFormatAuto
	}
	if opt.SelfBattles == "" {
		opt.SelfBattles = SelfBattlesError
	}
	if opt.Baseline == "" {
		opt.Baseline = DefaultArenaHardBaseline
	}
	if opt.StrongWeight == 0 {
		opt.StrongWeight = DefaultStrongWeight
	}
	switch {
	case !contains(ArenaFormats, opt.Format):
		return opt, fmt.Errorf("datasets: format: want one of %s, got %q", strings.Join(ArenaFormats, ", "), opt.Format)
	case !contains(SelfBattlePolicies, opt.SelfBattles):
		return opt, fmt.Errorf("datasets: self_battles: want one of %s, got %q", strings.Join(SelfBattlePolicies, ", "), opt.SelfBattles)
	case !(opt.StrongWeight > 0) || math.IsInf(opt.StrongWeight, 0):
		return opt, fmt.Errorf("datasets: strong_weight: want a finite number > 0, got %v", opt.StrongWeight)
	}
	return opt, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// ArenaScan is what ScanArena read besides the battles it handed on.
type ArenaScan struct {
	Format  string // ArenaFormatBattles or ArenaFormatArenaHard
	Skipped ArenaSkips
}

// LoadBattles reads a battle file: JSON Lines (one object per line), a JSON
// array of objects, or CSV with a header naming model_a, model_b and winner
// (any order, other columns ignored). A name ending in .csv (or .csv.gz) is
// read as CSV; otherwise a first non-space byte '[' means a JSON array,
// anything else JSONL. In JSON, fields other than model_a, model_b, winner
// and weight are ignored. Winner values are trimmed and lower-cased, then
// must be one of "model_a", "model_b", "tie", "tie (bothbad)". A gzip file
// is decompressed as it is read (see Open), and a file of arena-hard
// judgments is recognised by its fields and read as ReadArenaHard does
// (ArenaFormatAuto).
//
// The optional weight (a JSON number, or a CSV column named weight) is how
// many battles the row counts for, a finite number ≥ 0: a weight w is the
// row repeated w times, so a battle of weight 0 is skipped. Without it a
// battle weighs 1 (Battle.Weight 0).
//
// Problems are reported as *Error with the file, the 1-based line and the
// field. The file is read as a stream; only the battles are kept.
func LoadBattles(path string) ([]Battle, error) {
	var out []Battle
	_, err := ScanArenaFile(path, nil, func(b Battle) error {
		out = append(out, b)
		return nil
	})
	return out, err
}

// LoadArenaCounts reads battle files (see LoadBattles for the formats) and
// aggregates them into counts without keeping the battles: the way to read a
// million-line export. It is LoadArena with the default options.
func LoadArenaCounts(paths ...string) (*ArenaCounts, error) {
	return LoadArena(nil, paths...)
}

// LoadArena reads battle files or arena-hard judgment files (see
// LoadBattles, ReadArenaHard and ArenaOptions) into counts, without keeping
// the battles. The counts record per file the format it was read as
// (Formats) and what was skipped (Skipped).
func LoadArena(opt *ArenaOptions, paths ...string) (*ArenaCounts, error) {
	if _, err := opt.options(); err != nil {
		return nil, err
	}
	var agg ArenaAggregator
	var skipped ArenaSkips
	formats := make([]string, 0, len(paths))
	for _, p := range paths {
		sc, err := ScanArenaFile(p, opt, agg.Add)
		if err != nil {
			return nil, err
		}
		skipped.Self += sc.Skipped.Self
		skipped.ZeroWeight += sc.Skipped.ZeroWeight
		skipped.NullScore += sc.Skipped.NullScore
		formats = append(formats, sc.Format)
	}
	c := agg.Counts()
	c.Skipped, c.Formats = skipped, formats
	return c, nil
}

// ScanArenaFile is ScanArena on the file at path, opened by Open (gzip or
// not).
func ScanArenaFile(path string, opt *ArenaOptions, fn func(Battle) error) (ArenaScan, error) {
	f, err := Open(path)
	if err != nil {
		return ArenaScan{}, err
	}
	defer f.Close()
	return ScanArena(f, path, opt, fn)
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
// interned, so a long file does not hold one copy of a name per line. It is
// ScanArena with the default options, the skipped records left uncounted.
func ScanBattles(r io.Reader, name string, fn func(Battle) error) error {
	_, err := ScanArena(r, name, nil, fn)
	return err
}

// ScanArena streams the battles of r, a battle file or (by opt.Format, or
// detected) arena-hard judgments, to fn in file order, stopping at the first
// error (a *Error for bad input, or fn's error; a plain error for bad
// options). Battles of weight 0, and with opt.SelfBattles "skip" battles of
// a model against itself, are counted in the result instead of handed on.
// name is the file name used in errors and, by its extension (.csv, or
// .csv.gz), to recognise CSV.
func ScanArena(r io.Reader, name string, opt *ArenaOptions, fn func(Battle) error) (ArenaScan, error) {
	o, err := opt.options()
	if err != nil {
		return ArenaScan{}, err
	}
	s := &battleScanner{name: name, fn: fn, intern: map[string]string{}, opt: o}
	err = s.scan(r)
	format := ArenaFormatBattles
	if s.hard {
		format = ArenaFormatArenaHard
	}
	return ArenaScan{Format: format, Skipped: s.skipped}, err
}

func (s *battleScanner) scan(r io.Reader) error {
	br := bufio.NewReaderSize(r, 1<<16)
	if isCSVName(s.name) {
		if s.opt.Format == ArenaFormatArenaHard {
			return s.errorf(0, "", "want arena-hard judgments as JSON Lines, got a .csv file")
		}
		return s.csv(br)
	}
	first, err := battleFirstByte(br)
	if err != nil {
		return &Error{File: s.name, Msg: err.Error()}
	}
	switch first {
	case 0:
		return s.empty()
	case '[':
		return s.jsonArray(br)
	}
	return s.jsonl(br)
}

// isCSVName reports whether a file name ends in .csv, or .csv.gz.
func isCSVName(name string) bool {
	if strings.EqualFold(filepath.Ext(name), ".gz") {
		name = name[:len(name)-3]
	}
	return strings.EqualFold(filepath.Ext(name), ".csv")
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
	opt     ArenaOptions
	decided bool // the format is known (hard says which)
	hard    bool // arena-hard judgments
	count   int  // battles handed on
	records int  // records read (battles or judgments)
	skipped ArenaSkips
}

func (s *battleScanner) errorf(line int, field, format string, args ...any) error {
	return Errorf(s.name, line, field, format, args...)
}

func (s *battleScanner) empty() error {
	return s.errorf(0, "", "want at least one battle, got an empty file")
}

// noneKept is the error of a file whose every record was skipped.
func (s *battleScanner) noneKept() error {
	var why []string
	for _, k := range []struct {
		n    int64
		what string
	}{{s.skipped.Self, "of a model against itself"}, {s.skipped.ZeroWeight, "of weight 0"}, {s.skipped.NullScore, "without a verdict (score null)"}} {
		if k.n > 0 {
			why = append(why, fmt.Sprintf("%d %s", k.n, k.what))
		}
	}
	return s.errorf(0, "", "want at least one battle, got none kept: skipped %s", strings.Join(why, ", "))
}

// end is the check at the end of the input: some battle was kept.
func (s *battleScanner) end(emptyErr error) error {
	switch {
	case s.count > 0:
		return nil
	case s.records > 0:
		return s.noneKept()
	}
	return emptyErr
}

// emit checks and normalizes one battle and hands it on; weight is the
// row's weight field (NaN: none).
func (s *battleScanner) emit(line int, a, b, w string, weight float64) error {
	if a == "" {
		return s.errorf(line, "model_a", "want a model name, got an empty string")
	}
	if b == "" {
		return s.errorf(line, "model_b", "want a model name, got an empty string")
	}
	norm, ok := normalizeWinner(w)
	if !ok {
		return s.errorf(line, "winner", "want one of %s, got %s", quoteBattleList(battleWinners), quoteValue(w))
	}
	return s.hand(line, a, b, norm, weight)
}

// hand hands on a battle whose names and winner are valid, or counts it
// skipped: a self-battle (an error unless self_battles is skip), a weight
// of 0.
func (s *battleScanner) hand(line int, a, b, winner string, weight float64) error {
	if a == b {
		if s.opt.SelfBattles != SelfBattlesSkip {
			return s.errorf(line, "model_b", "want a model other than model_a, got %s on both sides; set self_battles=skip to drop such battles", quoteValue(a))
		}
		s.skipped.Self++
		return nil
	}
	if weight == 0 {
		s.skipped.ZeroWeight++
		return nil
	}
	if math.IsNaN(weight) {
		weight = 0 // unweighted
	}
	s.count++
	return s.fn(Battle{ModelA: s.name0(a), ModelB: s.name0(b), Winner: winner, Weight: weight})
}

// weightValue checks a weight read from field weight: a finite number ≥ 0;
// bad describes a value that is not a number (jsonNumber).
func (s *battleScanner) weightValue(line int, w float64, bad string) (float64, error) {
	if bad != "" || !(w >= 0) || math.IsInf(w, 0) {
		return 0, s.errorf(line, "weight", "want a finite number ≥ 0, got %s", badOr(bad, w))
	}
	return w, nil
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
	Weight json.RawMessage `json:"weight"`
}

// object decodes one JSON object (line is where it starts): a battle, or a
// judgment when the file holds arena-hard judgments.
func (s *battleScanner) object(line int, raw []byte) error {
	col0 := 1
	if s.inArray {
		col0 = 0 // an element need not start its line: no column
	}
	if err := s.checkUTF8(line, raw, col0); err != nil {
		return err
	}
	s.records++
	if !s.decided {
		s.decide(raw)
	}
	if s.hard {
		return s.judgment(line, raw)
	}
	if a, b, w, wt, ok := flatBattle(raw); ok {
		weight := math.NaN()
		if wt != nil {
			f, err := strconv.ParseFloat(string(wt), 64)
			if weight, err = s.weightValue(line, f, rangeBad(err, wt)); err != nil {
				return err
			}
		}
		return s.emit(line, s.internBytes(a), s.internBytes(b), s.internBytes(w), weight)
	}
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		if len(trimmed) > 0 && json.Valid(trimmed) {
			return s.errorf(line, "", "want a JSON object, got %s", battleJSONKind(trimmed))
		}
	}
	var rec battleRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		// Python's json writes NaN and Infinity: let them reach the weight
		// check, which names the field.
		if q := quoteNonFinite(raw); len(q) == len(raw) || json.Unmarshal(q, &rec) != nil {
			return s.jsonError(line, err)
		}
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
	weight := math.NaN()
	if rec.Weight != nil {
		f, bad := jsonNumber(rec.Weight)
		var err error
		if weight, err = s.weightValue(line, f, bad); err != nil {
			return err
		}
	}
	return s.emit(line, vals[0], vals[1], vals[2], weight)
}

// rangeBad is jsonNumber's description of a number token that does not
// parse as a float64 (out of range), or "".
func rangeBad(err error, tok []byte) string {
	if err == nil {
		return ""
	}
	return "number " + clipValue(string(tok)) + " (out of range)"
}

// flatBattle is the fast path of object: a flat JSON object whose strings
// have no escapes and whose other values are numbers, true, false or null,
// with model_a, model_b and winner present once each as strings and weight
// at most once, as a number. It returns ok false for anything else (nested
// values, escapes, other types, invalid JSON, keys that match only
// case-insensitively), which the encoding/json path then decodes or
// reports, so both paths give the same battles. weight is the weight's
// number token, nil without one.
func flatBattle(b []byte) (modelA, modelB, winner, weight []byte, ok bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, nil, nil, nil, false
	}
	i = skipSpace(b, i+1)
	var seen [4]bool
	if i < len(b) && b[i] == '}' {
		return nil, nil, nil, nil, false
	}
	for {
		key, j, good := flatString(b, i)
		if !good {
			return nil, nil, nil, nil, false
		}
		i = skipSpace(b, j)
		if i >= len(b) || b[i] != ':' {
			return nil, nil, nil, nil, false
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
		case "weight":
			field = 3
		default:
			for _, k := range [...]string{"model_a", "model_b", "winner", "weight"} {
				if strings.EqualFold(string(key), k) {
					return nil, nil, nil, nil, false
				}
			}
		}
		switch {
		case field == 3:
			if seen[3] || i >= len(b) || !(b[i] == '-' || b[i] >= '0' && b[i] <= '9') {
				return nil, nil, nil, nil, false
			}
			j, good := flatScalar(b, i)
			if !good {
				return nil, nil, nil, nil, false
			}
			seen[3] = true
			weight = b[i:j]
			i = j
		case field >= 0:
			val, j, good := flatString(b, i)
			if !good || seen[field] {
				return nil, nil, nil, nil, false
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
		case i < len(b) && b[i] == '"':
			_, j, good := flatString(b, i)
			if !good {
				return nil, nil, nil, nil, false
			}
			i = j
		default:
			j, good := flatScalar(b, i)
			if !good {
				return nil, nil, nil, nil, false
			}
			i = j
		}
		i = skipSpace(b, i)
		if i >= len(b) {
			return nil, nil, nil, nil, false
		}
		if b[i] == '}' {
			break
		}
		if b[i] != ',' {
			return nil, nil, nil, nil, false
		}
		i = skipSpace(b, i+1)
	}
	if skipSpace(b, i+1) != len(b) || !seen[0] || !seen[1] || !seen[2] {
		return nil, nil, nil, nil, false
	}
	return modelA, modelB, winner, weight, true
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

// readErrs remembers the first error of a read other than io.EOF.
type readErrs struct {
	r   io.Reader
	err error
}

func (r *readErrs) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

func (s *battleScanner) jsonl(br *bufio.Reader) error {
	// A read that fails (a truncated gzip stream) still hands the scanner
	// the partial last line: its read error, not its JSON, is the problem.
	re := &readErrs{r: br}
	sc := bufio.NewScanner(re)
	sc.Buffer(make([]byte, 0, 1<<16), battleMaxLine)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		if err := s.object(line, b); err != nil {
			if re.err != nil {
				return s.errorf(line, "", "%v", re.err)
			}
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return s.errorf(line+1, "", "want a line of at most %d MiB, got a longer one", battleMaxLine>>20)
		}
		return s.errorf(line+1, "", "%v", err)
	}
	return s.end(s.empty())
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
	return s.end(s.errorf(1, "", "want at least one battle, got an empty array"))
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
	col := map[string]int{"model_a": -1, "model_b": -1, "winner": -1, "weight": -1}
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
	last := 1 // line of the last record read
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				// A read error (a corrupt gzip stream): after the last good line.
				return s.errorf(last+1, "", "%v", err)
			}
			return s.csvError(err)
		}
		line, _ := cr.FieldPos(0)
		last = line
		for i, f := range rec {
			l, c := cr.FieldPos(i)
			if err := s.checkUTF8(l, []byte(f), c); err != nil {
				return err
			}
		}
		s.records++
		var vals [3]string
		for i, f := range []string{"model_a", "model_b", "winner"} {
			if col[f] >= len(rec) {
				return s.errorf(line, f, "want %d fields, got %d", len(header), len(rec))
			}
			vals[i] = strings.TrimSpace(rec[col[f]])
		}
		weight := math.NaN()
		if c := col["weight"]; c >= 0 {
			if c >= len(rec) {
				return s.errorf(line, "weight", "want %d fields, got %d", len(header), len(rec))
			}
			cell := strings.TrimSpace(rec[c])
			f, err := strconv.ParseFloat(cell, 64)
			bad := ""
			switch {
			case cell == "":
				bad = "an empty cell"
			case err != nil && errors.Is(err, strconv.ErrRange):
				bad = "number " + clipValue(cell) + " (out of range)"
			case err != nil:
				bad = quoteValue(cell)
			}
			if weight, err = s.weightValue(line, f, bad); err != nil {
				return err
			}
		}
		if err := s.emit(line, vals[0], vals[1], vals[2], weight); err != nil {
			return err
		}
	}
	return s.end(s.errorf(0, "", "want at least one battle after the header, got none"))
}

func (s *battleScanner) csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return s.errorf(pe.Line, "", "want CSV, got %v at column %d", pe.Err, pe.Column)
	}
	return s.errorf(0, "", "%v", err)
}

// WriteBattlesJSONL writes battles as JSON Lines, one
// {"model_a": …, "model_b": …, "winner": …} object per line, with
// "weight" when the battle has one (Weight not 0), in the shortest form
// that reads back exactly.
func WriteBattlesJSONL(w io.Writer, battles []Battle) error {
	bw := bufio.NewWriter(w)
	var buf []byte
	for _, b := range battles {
		buf = append(buf[:0], `{"model_a":`...)
		buf = append(buf, battleJSONString(b.ModelA)...)
		buf = append(buf, `,"model_b":`...)
		buf = append(buf, battleJSONString(b.ModelB)...)
		buf = append(buf, `,"winner":`...)
		buf = append(buf, battleJSONString(b.Winner)...)
		if b.Weight != 0 {
			buf = append(buf, `,"weight":`...)
			buf = strconv.AppendFloat(buf, b.Weight, 'g', -1, 64)
		}
		buf = append(buf, "}\n"...)
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func battleJSONString(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}
