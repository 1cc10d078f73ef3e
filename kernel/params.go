package kernel

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// ParamType is the type of a plugin parameter.
type ParamType int

// The parameter types. Values reach a plugin as int64, float64, bool or string.
const (
	Int ParamType = iota
	Float
	Bool
	String
	Choice
)

func (t ParamType) String() string {
	switch t {
	case Int:
		return "int"
	case Float:
		return "float"
	case Bool:
		return "bool"
	case String:
		return "string"
	case Choice:
		return "choice"
	}
	return fmt.Sprintf("ParamType(%d)", int(t))
}

// Range is an interval of allowed numeric values. A zero Range (both bounds
// zero and not exclusive) is read as "no bounds"; use math.Inf for a half-line.
type Range struct {
	Min, Max                   float64
	MinExclusive, MaxExclusive bool
}

// Unbounded is the range of a parameter that takes any finite value.
var Unbounded = Range{Min: math.Inf(-1), Max: math.Inf(1)}

func (r Range) isZero() bool { return r == Range{} }

// Contains reports whether v is inside r. NaN and infinities never are: an
// infinite bound is open, as String writes it.
func (r Range) Contains(v float64) bool {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return false
	}
	if r.isZero() {
		return true
	}
	if v < r.Min || (r.MinExclusive && v == r.Min) {
		return false
	}
	if v > r.Max || (r.MaxExclusive && v == r.Max) {
		return false
	}
	return true
}

// String writes r in interval notation, e.g. "[0, 0.5)".
func (r Range) String() string {
	if r.isZero() {
		r = Unbounded
	}
	lo, hi := "[", "]"
	if r.MinExclusive || math.IsInf(r.Min, -1) {
		lo = "("
	}
	if r.MaxExclusive || math.IsInf(r.Max, 1) {
		hi = ")"
	}
	return lo + fmtBound(r.Min) + ", " + fmtBound(r.Max) + hi
}

func fmtBound(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	if v == math.Trunc(v) && math.Abs(v) < 1e16 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Param declares one typed hyperparameter of a plugin.
type Param struct {
	Key     string    // snake_case key, e.g. "learning_rate"
	Type    ParamType // Int, Float, Bool, String or Choice
	Default any       // int64, float64, bool or string, matching Type
	Range   Range     // allowed values for Int and Float; zero means any finite value
	Choices []string  // allowed values for Choice
	Doc     string    // one line
	// Generator marks a param that only shapes the data a plugin generates
	// when it is given no --data (a dimension, a sample count, a planted
	// flip rate). With --data it does not take effect: the result leaves it
	// out of its params, and describe says so.
	Generator bool
}

// Generators returns ps with every param marked Generator.
func Generators(ps ...Param) []Param {
	out := make([]Param, len(ps))
	for i, p := range ps {
		p.Generator = true
		out[i] = p
	}
	return out
}

// IntParam declares an integer parameter allowed in [min, max].
func IntParam(key string, def, min, max int64, doc string) Param {
	return Param{Key: key, Type: Int, Default: def, Range: Range{Min: float64(min), Max: float64(max)}, Doc: doc}
}

// FloatParam declares a float parameter allowed in the closed interval [min, max]
// (use math.Inf for an open end, or set Range yourself for exclusive bounds).
func FloatParam(key string, def, min, max float64, doc string) Param {
	return Param{Key: key, Type: Float, Default: def, Range: Range{Min: min, Max: max}, Doc: doc}
}

// BoolParam declares a boolean parameter.
func BoolParam(key string, def bool, doc string) Param {
	return Param{Key: key, Type: Bool, Default: def, Doc: doc}
}

// StringParam declares a free-form string parameter.
func StringParam(key, def, doc string) Param {
	return Param{Key: key, Type: String, Default: def, Doc: doc}
}

// ChoiceParam declares a string parameter restricted to choices.
func ChoiceParam(key, def string, choices []string, doc string) Param {
	return Param{Key: key, Type: Choice, Default: def, Choices: choices, Doc: doc}
}

// Allowed describes the allowed values of p, e.g. "[0, 0.5)" or "one of bt, margin_bt".
func (p Param) Allowed() string {
	switch p.Type {
	case Int, Float:
		return p.Range.String()
	case Bool:
		return "true or false"
	case Choice:
		return "one of " + strings.Join(p.Choices, ", ")
	}
	return "any string"
}

// ParamSeed is the parameter every plugin has: the one seed from which all
// randomness of a run is drawn. Default 1.
const ParamSeed = "seed"

// DefaultSeed is the value of ParamSeed when none is given.
const DefaultSeed = 1

// Seeds stay below 2^53 so that they survive JSON, whose numbers are doubles.
var seedParam = IntParam(ParamSeed, DefaultSeed, 0, 1<<53, "seed of every random draw in the run")

// ParamError reports a parameter that is unknown, of the wrong type or out of range.
type ParamError struct {
	Plugin string
	Key    string
	Value  any    // the value given, as given
	Want   string // what was expected, e.g. "float in [0, 0.5)"
	Known  []string
}

func (e *ParamError) Error() string {
	if e.Want == "" {
		return fmt.Sprintf("%s: unknown param %q (known: %s)", e.Plugin, e.Key, strings.Join(e.Known, ", "))
	}
	return fmt.Sprintf("%s: param %s: got %v, want %s", e.Plugin, e.Key, fmtValue(e.Value), e.Want)
}

func fmtValue(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return fmt.Sprint(v)
}

// Params are the validated, effective parameters of a run: every declared key
// is present, with its default where none was given. Values are int64,
// float64, bool or string.
type Params map[string]any

// Int returns the integer param key; it panics if key is not an Int param of the plugin.
func (p Params) Int(key string) int { return int(p.get(key).(int64)) }

// Int64 returns the integer param key.
func (p Params) Int64(key string) int64 { return p.get(key).(int64) }

// Float returns the float param key.
func (p Params) Float(key string) float64 { return p.get(key).(float64) }

// Bool returns the boolean param key.
func (p Params) Bool(key string) bool { return p.get(key).(bool) }

// String returns the string or choice param key.
func (p Params) String(key string) string { return p.get(key).(string) }

func (p Params) get(key string) any {
	v, ok := p[key]
	if !ok {
		panic(fmt.Sprintf("kernel: param %q is not declared by the plugin", key))
	}
	return v
}

// Keys returns the keys of p, sorted.
func (p Params) Keys() []string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// allParams returns the plugin's declared params with the common seed param appended.
func allParams(info *Info) []Param {
	ps := make([]Param, 0, len(info.Params)+1)
	ps = append(ps, info.Params...)
	for _, p := range ps {
		if p.Key == ParamSeed {
			return ps
		}
	}
	return append(ps, seedParam)
}

// Validate checks raw against the plugin's declared params and returns the
// effective params with defaults filled in. Raw values may be strings (as
// from a command line: "0.3", "true") or Go values (int, int64, float64, bool, string).
func Validate(info Info, raw map[string]any) (Params, error) {
	decl := allParams(&info)
	byKey := make(map[string]Param, len(decl))
	known := make([]string, 0, len(decl))
	for _, p := range decl {
		byKey[p.Key] = p
		known = append(known, p.Key)
	}
	sort.Strings(known)
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(Params, len(decl))
	for _, k := range keys {
		p, ok := byKey[k]
		if !ok {
			return nil, &ParamError{Plugin: info.ID, Key: k, Value: raw[k], Known: known}
		}
		v, err := p.convert(raw[k])
		if err != nil {
			return nil, &ParamError{Plugin: info.ID, Key: k, Value: raw[k], Want: p.Type.String() + " " + p.Allowed()}
		}
		out[k] = v
	}
	for _, p := range decl {
		if _, ok := out[p.Key]; !ok {
			v, err := p.convert(p.Default)
			if err != nil {
				panic(fmt.Sprintf("kernel: plugin %s: default of param %s: %v", info.ID, p.Key, err))
			}
			out[p.Key] = v
		}
	}
	return out, nil
}

var errBadValue = fmt.Errorf("bad value")

// convert turns v into the param's canonical Go type and checks the range.
func (p Param) convert(v any) (any, error) {
	switch p.Type {
	case Int:
		var n int64
		switch x := v.(type) {
		case int:
			n = int64(x)
		case int64:
			n = x
		case int32:
			n = int64(x)
		case float64:
			if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
				return nil, errBadValue
			}
			n = int64(x)
		case string:
			var err error
			n, err = strconv.ParseInt(strings.TrimSpace(x), 10, 64)
			if err != nil {
				return nil, errBadValue
			}
		default:
			return nil, errBadValue
		}
		if n > 1<<53 || n < -(1<<53) || !p.Range.Contains(float64(n)) { // beyond 2^53 float64(n) rounds into range
			return nil, errBadValue
		}
		return n, nil
	case Float:
		var f float64
		switch x := v.(type) {
		case float64:
			f = x
		case float32:
			f = float64(x)
		case int:
			f = float64(x)
		case int64:
			f = float64(x)
		case string:
			var err error
			f, err = strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil {
				return nil, errBadValue
			}
		default:
			return nil, errBadValue
		}
		if math.IsNaN(f) || math.IsInf(f, 0) || !p.Range.Contains(f) {
			return nil, errBadValue
		}
		return f, nil
	case Bool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(x))
			if err != nil {
				return nil, errBadValue
			}
			return b, nil
		}
		return nil, errBadValue
	case String:
		if s, ok := v.(string); ok {
			return s, nil
		}
		return nil, errBadValue
	case Choice:
		s, ok := v.(string)
		if !ok {
			return nil, errBadValue
		}
		for _, c := range p.Choices {
			if s == c {
				return s, nil
			}
		}
		return nil, errBadValue
	}
	return nil, errBadValue
}

// ParseSet splits a command-line "key=value" assignment.
func ParseSet(s string) (key, value string, err error) {
	k, v, ok := strings.Cut(s, "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return "", "", fmt.Errorf("kernel: --set %q: want key=value", s)
	}
	return k, v, nil
}
