package kernel_test

// Fuzz targets for the parameter parser: command-line values reach
// kernel.Validate as strings, and "--set" assignments go through ParseSet.
// For any input: no panic; a rejected value is a *kernel.ParamError with a
// one-line message; an accepted one has the declared Go type, lies in the
// declared range, and validates again to itself.

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/kernel"
)

// fuzzInfo declares one parameter of every type and range shape.
var fuzzInfo = kernel.Info{
	ID:      "fuzz.params",
	Summary: "parameters of every kind",
	Params: []kernel.Param{
		kernel.IntParam("steps", 10, 1, 1000, "an int in [1, 1000]"),
		kernel.FloatParam("rate", 0.5, 0, 1, "a float in [0, 1]"),
		{Key: "epsilon", Type: kernel.Float, Default: 0.1, Range: kernel.Range{Min: 0, Max: 0.5, MaxExclusive: true}, Doc: "[0, 0.5)"},
		{Key: "free", Type: kernel.Float, Default: 0.0, Doc: "any finite float"},
		kernel.BoolParam("flag", false, "a bool"),
		kernel.StringParam("name", "", "any string"),
		kernel.ChoiceParam("mode", "a", []string{"a", "b c", "é"}, "a choice"),
	},
}

func paramOf(key string) (kernel.Param, bool) {
	for _, p := range fuzzInfo.Params {
		if p.Key == key {
			return p, true
		}
	}
	return kernel.Param{}, false
}

func FuzzValidate(f *testing.F) {
	for _, kv := range [][2]string{
		{"steps", "10"}, {"steps", " 7 "}, {"steps", "1e3"}, {"steps", "0"}, {"steps", "99999999999999999999"},
		{"rate", "0.3"}, {"rate", "NaN"}, {"rate", "+Inf"}, {"rate", "1.0000001"}, {"rate", "0x1p-2"},
		{"epsilon", "0.5"}, {"epsilon", "0.49999999999999994"}, {"free", "-1e308"}, {"free", "1e309"},
		{"flag", "true"}, {"flag", "T"}, {"flag", "yes"}, {"name", "\xff\n"}, {"mode", "b c"}, {"mode", "B"},
		{"seed", "3"}, {"seed", "-1"}, {"seed", "9007199254740993"}, {"bogus", "1"}, {"", ""},
	} {
		f.Add(kv[0], kv[1])
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		params, err := kernel.Validate(fuzzInfo, map[string]any{key: value})
		if err != nil {
			var pe *kernel.ParamError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *kernel.ParamError", err, err)
			}
			if msg := err.Error(); strings.ContainsAny(msg, "\n\r") || !strings.HasPrefix(msg, fuzzInfo.ID+": ") {
				t.Fatalf("error message %q: want one line starting with the plugin ID", msg)
			}
			return
		}
		v := params[key]
		if key == kernel.ParamSeed {
			if s, ok := v.(int64); !ok || s < 0 || s > 1<<53 {
				t.Fatalf("seed %q accepted as %v (%T)", value, v, v)
			}
			return
		}
		p, ok := paramOf(key)
		if !ok {
			t.Fatalf("unknown key %q accepted", key)
		}
		var canon string
		switch p.Type {
		case kernel.Int:
			n, ok := v.(int64)
			if !ok || !p.Range.Contains(float64(n)) {
				t.Fatalf("%s=%q accepted as %v (%T), want an int64 in %s", key, value, v, v, p.Allowed())
			}
			canon = strconv.FormatInt(n, 10)
		case kernel.Float:
			x, ok := v.(float64)
			if !ok || math.IsNaN(x) || math.IsInf(x, 0) || !p.Range.Contains(x) {
				t.Fatalf("%s=%q accepted as %v (%T), want a finite float64 in %s", key, value, v, v, p.Allowed())
			}
			canon = strconv.FormatFloat(x, 'g', -1, 64)
		case kernel.Bool:
			b, ok := v.(bool)
			if !ok {
				t.Fatalf("%s=%q accepted as %v (%T), want a bool", key, value, v, v)
			}
			canon = strconv.FormatBool(b)
		case kernel.String, kernel.Choice:
			s, ok := v.(string)
			if !ok || s != value {
				t.Fatalf("%s=%q accepted as %v (%T), want the string itself", key, value, v, v)
			}
			canon = s
		}
		again, err := kernel.Validate(fuzzInfo, map[string]any{key: canon})
		if err != nil || again[key] != v {
			t.Fatalf("%s: canonical form %q of %q validates to %v, %v; want %v", key, canon, value, again[key], err, v)
		}
	})
}

func FuzzParseSet(f *testing.F) {
	for _, s := range []string{"a=1", " a = 1 ", "a==", "=1", "a", "", "a=b=c", "\xff=\n", "  =x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		key, value, err := kernel.ParseSet(s)
		if err != nil {
			if msg := err.Error(); strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("error message is not one line: %q", msg)
			}
			if k, _, ok := strings.Cut(s, "="); ok && strings.TrimSpace(k) != "" {
				t.Fatalf("%q rejected (%v), but it has a key and a value", s, err)
			}
			return
		}
		if key == "" || key != strings.TrimSpace(key) {
			t.Fatalf("%q: key %q, want non-empty and trimmed", s, key)
		}
		k, v, ok := strings.Cut(s, "=")
		if !ok || strings.TrimSpace(k) != key || v != value {
			t.Fatalf("%q split into %q, %q; want the text around the first '='", s, key, value)
		}
	})
}
