package kernel

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestRangeString(t *testing.T) {
	tests := []struct {
		r    Range
		want string
	}{
		{Range{}, "(-inf, inf)"},
		{Unbounded, "(-inf, inf)"},
		{Range{Min: 0, Max: 1}, "[0, 1]"},
		{Range{Min: 0, Max: 0.5, MaxExclusive: true}, "[0, 0.5)"},
		{Range{Min: 0, Max: 1, MinExclusive: true}, "(0, 1]"},
		{Range{Min: -1, Max: 1, MinExclusive: true, MaxExclusive: true}, "(-1, 1)"},
		{Range{Min: 1e-9, Max: 1e9}, "[1e-09, 1000000000]"},
		{Range{Min: 0, Max: math.Inf(1)}, "[0, inf)"},
		{Range{Min: math.Inf(-1), Max: 0, MaxExclusive: true}, "(-inf, 0)"},
		{Range{Min: 1, Max: 1}, "[1, 1]"},
		{seedParam.Range, "[0, 9007199254740992]"},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.r, got, tt.want)
		}
	}
}

func TestRangeContains(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	half := Range{Min: 0, Max: 0.5, MaxExclusive: true}
	open := Range{Min: 0, Max: 1, MinExclusive: true, MaxExclusive: true}
	tests := []struct {
		r    Range
		v    float64
		want bool
	}{
		// The zero Range means any finite value.
		{Range{}, 0, true},
		{Range{}, -1e308, true},
		{Range{}, nan, false},
		{Range{}, inf, false},
		{Range{}, -inf, false},
		// Unbounded too: its String is "(-inf, inf)", open at both ends.
		{Unbounded, 1e308, true},
		{Unbounded, nan, false},
		{Unbounded, inf, false},
		{Unbounded, -inf, false},
		{Range{Min: 0, Max: inf}, inf, false},
		{Range{Min: 0, Max: inf}, 1e300, true},
		{Range{Min: 0, Max: 1}, 0, true},
		{Range{Min: 0, Max: 1}, 1, true},
		{Range{Min: 0, Max: 1}, -1e-300, false},
		{Range{Min: 0, Max: 1}, math.Nextafter(1, 2), false},
		{Range{Min: 0, Max: 1}, nan, false},
		{half, 0, true},
		{half, math.Nextafter(0.5, 0), true},
		{half, 0.5, false},
		{open, 0, false},
		{open, 1, false},
		{open, 0.5, true},
		{Range{Min: 2, Max: 2}, 2, true},
	}
	for _, tt := range tests {
		if got := tt.r.Contains(tt.v); got != tt.want {
			t.Errorf("%v.Contains(%v) = %v, want %v", tt.r, tt.v, got, tt.want)
		}
	}
}

func TestParamTypeString(t *testing.T) {
	for typ, want := range map[ParamType]string{
		Int: "int", Float: "float", Bool: "bool", String: "string", Choice: "choice", ParamType(9): "ParamType(9)",
	} {
		if got := typ.String(); got != want {
			t.Errorf("ParamType(%d).String() = %q, want %q", int(typ), got, want)
		}
	}
}

func TestParamAllowed(t *testing.T) {
	tests := []struct {
		p    Param
		want string
	}{
		{IntParam("n", 1, 1, 10, ""), "[1, 10]"},
		{FloatParam("f", 0, 0, math.Inf(1), ""), "[0, inf)"},
		{BoolParam("b", true, ""), "true or false"},
		{StringParam("s", "", ""), "any string"},
		{ChoiceParam("c", "bt", []string{"bt", "margin_bt"}, ""), "one of bt, margin_bt"},
	}
	for _, tt := range tests {
		if got := tt.p.Allowed(); got != tt.want {
			t.Errorf("%s.Allowed() = %q, want %q", tt.p.Key, got, tt.want)
		}
	}
}

// convertTests are the conversions of raw values (as a command line or a
// notebook gives them) to each param type's Go type. A nil want is an error.
var convertTests = []struct {
	p    Param
	in   any
	want any
}{
	{IntParam("n", 1, -5, 1<<40, ""), 3, int64(3)},
	{IntParam("n", 1, -5, 1<<40, ""), int64(-5), int64(-5)},
	{IntParam("n", 1, -5, 1<<40, ""), int32(7), int64(7)},
	{IntParam("n", 1, -5, 1<<40, ""), 4.0, int64(4)},
	{IntParam("n", 1, -5, 1<<40, ""), " 12 ", int64(12)},
	{IntParam("n", 1, -5, 1<<40, ""), "-5", int64(-5)},
	{IntParam("n", 1, -5, 1<<40, ""), 1 << 40, int64(1 << 40)},
	{IntParam("n", 1, -5, 1<<40, ""), 4.5, nil},
	{IntParam("n", 1, -5, 1<<40, ""), 1e300, nil},
	{IntParam("n", 1, -5, 1<<40, ""), "12.0", nil},
	{IntParam("n", 1, -5, 1<<40, ""), "0x10", nil},
	{IntParam("n", 1, -5, 1<<40, ""), "", nil},
	{IntParam("n", 1, -5, 1<<40, ""), -6, nil},
	{IntParam("n", 1, -5, 1<<40, ""), 1<<40 + 1, nil},
	{IntParam("n", 1, -5, 1<<40, ""), true, nil},
	{FloatParam("f", 0, -1, 1, ""), 0.25, 0.25},
	{FloatParam("f", 0, -1, 1, ""), float32(0.5), 0.5},
	{FloatParam("f", 0, -1, 1, ""), 1, 1.0},
	{FloatParam("f", 0, -1, 1, ""), int64(-1), -1.0},
	{FloatParam("f", 0, -1, 1, ""), " 1e-3", 0.001},
	{FloatParam("f", 0, -1, 1, ""), "-.5", -0.5},
	{FloatParam("f", 0, -1, 1, ""), "1.0000001", nil},
	{FloatParam("f", 0, -1, 1, ""), "NaN", nil},
	{FloatParam("f", 0, -1, 1, ""), math.NaN(), nil},
	{FloatParam("f", 0, math.Inf(-1), math.Inf(1), ""), "inf", nil},
	{FloatParam("f", 0, math.Inf(-1), math.Inf(1), ""), math.Inf(-1), nil},
	{FloatParam("f", 0, math.Inf(-1), math.Inf(1), ""), 1e308, 1e308},
	{FloatParam("f", 0, -1, 1, ""), "half", nil},
	{FloatParam("f", 0, -1, 1, ""), false, nil},
	{Param{Key: "e", Type: Float, Range: Range{Min: 0, Max: 0.5, MaxExclusive: true}}, 0.5, nil},
	{Param{Key: "e", Type: Float, Range: Range{Min: 0, Max: 0.5, MaxExclusive: true}}, 0.0, 0.0},
	{Param{Key: "z", Type: Float}, -1e300, -1e300}, // zero Range: any finite value
	{BoolParam("b", false, ""), true, true},
	{BoolParam("b", false, ""), "true", true},
	{BoolParam("b", false, ""), " F ", false},
	{BoolParam("b", false, ""), "1", true},
	{BoolParam("b", false, ""), "yes", nil},
	{BoolParam("b", false, ""), 1, nil},
	{StringParam("s", "", ""), "a b", "a b"},
	{StringParam("s", "", ""), "", ""},
	{StringParam("s", "", ""), 5, nil},
	{ChoiceParam("c", "bt", []string{"bt", "margin_bt"}, ""), "margin_bt", "margin_bt"},
	{ChoiceParam("c", "bt", []string{"bt", "margin_bt"}, ""), "BT", nil},
	{ChoiceParam("c", "bt", []string{"bt", "margin_bt"}, ""), " bt", nil},
	{ChoiceParam("c", "bt", []string{"bt", "margin_bt"}, ""), 0, nil},
	{Param{Key: "x", Type: ParamType(9)}, "a", nil},
}

func TestParamConvert(t *testing.T) {
	for _, tt := range convertTests {
		got, err := tt.p.convert(tt.in)
		switch {
		case tt.want == nil && err == nil:
			t.Errorf("%s %s: convert(%#v) = %#v, want an error", tt.p.Type, tt.p.Key, tt.in, got)
		case tt.want != nil && err != nil:
			t.Errorf("%s %s: convert(%#v): %v, want %#v", tt.p.Type, tt.p.Key, tt.in, err, tt.want)
		case got != tt.want && tt.want != nil:
			// Exact comparison, type included: a plugin reads int64, not int.
			t.Errorf("%s %s: convert(%#v) = %#v, want %#v", tt.p.Type, tt.p.Key, tt.in, got, tt.want)
		}
	}
}

var validateInfo = Info{
	ID: "params.test",
	Params: []Param{
		IntParam("n", 5, 1, 10, "a count"),
		FloatParam("f", 0.5, 0, 1, "a fraction"),
		{Key: "e", Type: Float, Default: 0.0, Range: Range{Min: 0, Max: 0.5, MaxExclusive: true}, Doc: "a flip rate"},
		BoolParam("b", false, "a switch"),
		StringParam("s", "x", "a name"),
		ChoiceParam("c", "bt", []string{"bt", "margin_bt"}, "a loss"),
	},
}

// TestValidateErrors checks the exact error text for every type, since the
// command line prints it as the whole diagnosis.
func TestValidateErrors(t *testing.T) {
	tests := []struct {
		raw  map[string]any
		want string
	}{
		{map[string]any{"zz": 1}, `params.test: unknown param "zz" (known: b, c, e, f, n, s, seed)`},
		{map[string]any{"n": "abc"}, `params.test: param n: got "abc", want int [1, 10]`},
		{map[string]any{"n": 11}, `params.test: param n: got 11, want int [1, 10]`},
		{map[string]any{"n": 2.5}, `params.test: param n: got 2.5, want int [1, 10]`},
		{map[string]any{"f": 3}, `params.test: param f: got 3, want float [0, 1]`},
		{map[string]any{"f": "-0.1"}, `params.test: param f: got "-0.1", want float [0, 1]`},
		{map[string]any{"e": "0.5"}, `params.test: param e: got "0.5", want float [0, 0.5)`},
		{map[string]any{"b": "yes"}, `params.test: param b: got "yes", want bool true or false`},
		{map[string]any{"s": 5}, `params.test: param s: got 5, want string any string`},
		{map[string]any{"c": "BT"}, `params.test: param c: got "BT", want choice one of bt, margin_bt`},
		{map[string]any{"seed": "-1"}, `params.test: param seed: got "-1", want int [0, 9007199254740992]`},
		// Keys are checked in sorted order, so the first error is stable.
		{map[string]any{"n": 0, "b": "no way"}, `params.test: param b: got "no way", want bool true or false`},
	}
	for _, tt := range tests {
		_, err := Validate(validateInfo, tt.raw)
		pe, ok := err.(*ParamError)
		if !ok {
			t.Errorf("Validate(%v): %v, want a *ParamError", tt.raw, err)
			continue
		}
		if got := pe.Error(); got != tt.want {
			t.Errorf("Validate(%v):\ngot  %s\nwant %s", tt.raw, got, tt.want)
		}
	}
}

func TestValidateDefaults(t *testing.T) {
	p, err := Validate(validateInfo, map[string]any{"n": "7", "b": true})
	if err != nil {
		t.Fatal(err)
	}
	want := Params{"n": int64(7), "f": 0.5, "e": 0.0, "b": true, "s": "x", "c": "bt", "seed": int64(DefaultSeed)}
	if len(p) != len(want) {
		t.Errorf("got %d params %v, want %d", len(p), p, len(want))
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("param %s = %#v, want %#v", k, p[k], v)
		}
	}
	if p.Int("n") != 7 || p.Int64("n") != 7 || p.Float("f") != 0.5 || !p.Bool("b") || p.String("s") != "x" || p.String("c") != "bt" {
		t.Errorf("typed getters disagree with %v", p)
	}
	if got := strings.Join(p.Keys(), ","); got != "b,c,e,f,n,s,seed" {
		t.Errorf("Keys() = %s, want b,c,e,f,n,s,seed", got)
	}
}

func TestParamsGetUndeclaredPanics(t *testing.T) {
	defer func() {
		if r := recover(); fmt.Sprint(r) != `kernel: param "lr" is not declared by the plugin` {
			t.Errorf("recovered %v", r)
		}
	}()
	Params{}.Float("lr")
}

func TestParseSet(t *testing.T) {
	tests := []struct {
		in, key, value, err string
	}{
		{"a=1", "a", "1", ""},
		{"a=", "a", "", ""},
		{" lr =0.1", "lr", "0.1", ""},
		{"k=v=w", "k", "v=w", ""},
		{"a", "", "", `kernel: --set "a": want key=value`},
		{"=1", "", "", `kernel: --set "=1": want key=value`},
		{" =1", "", "", `kernel: --set " =1": want key=value`},
		{"", "", "", `kernel: --set "": want key=value`},
	}
	for _, tt := range tests {
		k, v, err := ParseSet(tt.in)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if k != tt.key || v != tt.value || gotErr != tt.err {
			t.Errorf("ParseSet(%q) = %q, %q, %q; want %q, %q, %q", tt.in, k, v, gotErr, tt.key, tt.value, tt.err)
		}
	}
}

// Raw values may be strings, as from a command line, or Go values, as from a
// notebook; Validate returns them as int64, float64, bool or string with the
// defaults filled in.
func ExampleValidate() {
	info := Info{
		ID: "example.validate",
		Params: []Param{
			FloatParam("learning_rate", 0.1, 0, 10, "step size"),
			{Key: "epsilon", Type: Float, Default: 0.0, Range: Range{Min: 0, Max: 0.5, MaxExclusive: true}, Doc: "label flip rate"},
			IntParam("steps", 100, 1, 100000, "training steps"),
		},
	}
	p, err := Validate(info, map[string]any{"learning_rate": "0.3", "steps": 20})
	fmt.Println(p, err)
	_, err = Validate(info, map[string]any{"epsilon": "0.5"})
	fmt.Println(err)
	// Output:
	// map[epsilon:0 learning_rate:0.3 seed:1 steps:20] <nil>
	// example.validate: param epsilon: got "0.5", want float [0, 0.5)
}
