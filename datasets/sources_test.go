package datasets

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func testSourcesConfig() SourcesConfig {
	return SourcesConfig{Dim: 5, WNorm: 3, PerSource: 4000, FlipRates: []float64{0, 0.2, 0.5}, Val: 300, Test: 500}
}

func TestGenerateSourcesShapes(t *testing.T) {
	cfg := testSourcesConfig()
	s, err := GenerateSources(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	const tol = 1e-12
	if got := math.Sqrt(dot(s.W, s.W)); math.Abs(got-cfg.WNorm) > tol {
		t.Errorf("‖w*‖: got %v, want %v", got, cfg.WNorm)
	}
	if got, want := s.Train.Sources, []string{"s0", "s1", "s2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("sources: got %v, want %v", got, want)
	}
	if len(s.Train.Examples) != 3*cfg.PerSource || len(s.Val.Examples) != cfg.Val || len(s.Test.Examples) != cfg.Test {
		t.Fatalf("sizes: got %d, %d, %d; want %d, %d, %d", len(s.Train.Examples), len(s.Val.Examples), len(s.Test.Examples), 3*cfg.PerSource, cfg.Val, cfg.Test)
	}
	for i, e := range s.Train.Examples {
		if e.Source != i/cfg.PerSource || len(e.Features) != cfg.Dim || (e.Label != 0 && e.Label != 1) {
			t.Fatalf("example %d: source %d, %d features, label %d", i, e.Source, len(e.Features), e.Label)
		}
	}
	for _, set := range []*Labeled{s.Val, s.Test} {
		for i, e := range set.Examples {
			if e.Flipped || e.Source != 0 {
				t.Fatalf("%s example %d: flipped %v, source %d; want a clean example of source 0", set.Sources[0], i, e.Flipped, e.Source)
			}
		}
	}
	cfg.Test = 0
	if s, err = GenerateSources(cfg, rand.New(rand.NewPCG(1, 2))); err != nil || s.Test != nil {
		t.Errorf("Test = 0: got test set %v, error %v; want none", s.Test, err)
	}
}

// Each source's flip fraction, and the agreement of the unflipped labels
// with the planted model, are within 4 standard errors of their expectations.
func TestGenerateSourcesLabels(t *testing.T) {
	cfg := testSourcesConfig()
	s, err := GenerateSources(cfg, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	n := float64(cfg.PerSource)
	for k, eps := range cfg.FlipRates {
		flips, ones, wantOnes, varOnes := 0.0, 0.0, 0.0, 0.0
		for _, e := range s.Train.Examples[k*cfg.PerSource : (k+1)*cfg.PerSource] {
			y := e.Label
			if e.Flipped {
				flips++
				y = 1 - y
			}
			q := sigmoid(dot(s.W, e.Features))
			ones += float64(y)
			wantOnes += q
			varOnes += q * (1 - q)
		}
		if se := math.Sqrt(eps * (1 - eps) / n); math.Abs(flips/n-eps) > 4*se+1e-12 {
			t.Errorf("source %d: flip rate got %v, want %v ± %v", k, flips/n, eps, 4*se)
		}
		if d := math.Abs(ones - wantOnes); d > 4*math.Sqrt(varOnes) {
			t.Errorf("source %d: clean labels = 1: got %v, want %v ± %v", k, ones, wantOnes, 4*math.Sqrt(varOnes))
		}
	}
}

func TestGenerateSourcesDeterministic(t *testing.T) {
	cfg := testSourcesConfig()
	cfg.PerSource = 50
	a, err := GenerateSources(cfg, rand.New(rand.NewPCG(5, 6)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := GenerateSources(cfg, rand.New(rand.NewPCG(5, 6)))
	if !reflect.DeepEqual(a, b) {
		t.Error("same seed: got different sets")
	}
}

func TestGenerateSourcesInvalid(t *testing.T) {
	good := testSourcesConfig()
	for _, tc := range []struct {
		name string
		edit func(*SourcesConfig)
		want string
	}{
		{"dim", func(c *SourcesConfig) { c.Dim = 0 }, "dimension"},
		{"wnorm", func(c *SourcesConfig) { c.WNorm = math.Inf(1) }, "‖w*‖"},
		{"per source", func(c *SourcesConfig) { c.PerSource = 0 }, "per source"},
		{"val", func(c *SourcesConfig) { c.Val = 0 }, "validation"},
		{"no sources", func(c *SourcesConfig) { c.FlipRates = nil }, "at least one source"},
		{"rate", func(c *SourcesConfig) { c.FlipRates = []float64{0, 1.5} }, "source 1"},
	} {
		cfg := good
		tc.edit(&cfg)
		if _, err := GenerateSources(cfg, rand.New(rand.NewPCG(1, 1))); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", tc.name, err, tc.want)
		}
	}
}

func TestGeneratePrefSources(t *testing.T) {
	cfg := PrefSourcesConfig{Dim: 4, WNorm: 3, Candidates: 5, PerSource: 3000, FlipRates: []float64{0, 0.3}, Val: 100, Test: 200}
	ps, err := GeneratePrefSources(cfg, rand.New(rand.NewPCG(7, 8)))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps.Train.Pairs) != 2*cfg.PerSource || len(ps.Source) != 2*cfg.PerSource || len(ps.Val.Pairs) != cfg.Val || len(ps.Test.Pairs) != cfg.Test {
		t.Fatalf("sizes: got %d pairs, %d sources, %d val, %d test", len(ps.Train.Pairs), len(ps.Source), len(ps.Val.Pairs), len(ps.Test.Pairs))
	}
	for _, p := range []*Prefs{ps.Train, ps.Val, ps.Test} {
		for i, pr := range p.Pairs {
			if pr.Prompt != i || len(p.Prompts[i].Features) != cfg.Candidates {
				t.Fatalf("pair %d: prompt %d with %d candidates", i, pr.Prompt, len(p.Prompts[i].Features))
			}
		}
		if !reflect.DeepEqual(p.Truth.W, ps.Train.Truth.W) {
			t.Error("the sets do not share w*")
		}
	}
	for _, p := range []*Prefs{ps.Val, ps.Test} {
		for i, pr := range p.Pairs {
			if pr.Flipped {
				t.Fatalf("clean pair %d is flipped", i)
			}
		}
	}
	n := float64(cfg.PerSource)
	for k, eps := range cfg.FlipRates {
		flips := 0.0
		for i, pr := range ps.Train.Pairs {
			if ps.Source[i] == k && pr.Flipped {
				flips++
			}
		}
		if se := math.Sqrt(eps * (1 - eps) / n); math.Abs(flips/n-eps) > 4*se+1e-12 {
			t.Errorf("source %d: flip rate got %v, want %v ± %v", k, flips/n, eps, 4*se)
		}
	}
	if want := 0.15; math.Abs(ps.Train.Truth.FlipRate-want) > 1e-12 {
		t.Errorf("mean flip rate: got %v, want %v", ps.Train.Truth.FlipRate, want)
	}
}

func TestSourcesRoundTrip(t *testing.T) {
	cfg := testSourcesConfig()
	cfg.PerSource = 20
	s, err := GenerateSources(cfg, rand.New(rand.NewPCG(9, 9)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteSources(&buf, s.Train); err != nil {
		t.Fatal(err)
	}
	got, err := ReadLabeled(&buf, "t.jsonl", true)
	if err != nil {
		t.Fatal(err)
	}
	want := *s.Train
	want.Examples = append([]Example(nil), s.Train.Examples...)
	for i := range want.Examples {
		want.Examples[i].Flipped = false // not part of the format
	}
	if !reflect.DeepEqual(got, &want) {
		t.Error("read back a different set")
	}
}

func TestLoadSourcesErrors(t *testing.T) {
	ok := `{"features": [1, 2], "label": 1, "source": "a"}`
	for _, tc := range []struct {
		name, text  string
		needSource  bool
		line        int
		field, want string
	}{
		{"empty", "\n\n", true, 0, "", "no examples"},
		{"json", ok + "\n{\"features\": [1,", true, 2, "features", "unclosed array: want a complete JSON object, got end of line"},
		{"features missing", `{"label": 1, "source": "a"}`, true, 1, "features", "missing"},
		{"features type", `{"features": 3, "label": 1, "source": "a"}`, true, 1, "features", "want an array, got number"},
		{"features empty", `{"features": [], "label": 1, "source": "a"}`, true, 1, "features", "non-empty"},
		{"dimension", ok + "\n\n" + `{"features": [1], "label": 0, "source": "a"}`, true, 3, "features", "want 2 numbers (the file's feature dimension), got 1"},
		{"nan", `{"features": [1, NaN], "label": 1, "source": "a"}`, true, 1, "features[1]", "want a finite number, got NaN"},
		{"string feature", `{"features": ["x", 1], "label": 1, "source": "a"}`, true, 1, "features[0]", `got string "x"`},
		{"label missing", `{"features": [1, 2], "source": "a"}`, true, 1, "label", "missing: want 0 or 1"},
		{"label 2", `{"features": [1, 2], "label": 2, "source": "a"}`, true, 1, "label", "want 0 or 1, got 2"},
		{"label bool", `{"features": [1, 2], "label": true, "source": "a"}`, true, 1, "label", "got bool true"},
		{"source missing", `{"features": [1, 2], "label": 0}`, true, 1, "source", "missing"},
		{"source number", `{"features": [1, 2], "label": 0, "source": 3}`, true, 1, "source", "want a string, got number 3"},
		{"source empty", `{"features": [1, 2], "label": 0, "source": ""}`, true, 1, "source", "non-empty"},
		{"source optional but a number", `{"features": [1, 2], "label": 0, "source": [1]}`, false, 1, "source", "want a string, got array"},
	} {
		_, err := ReadLabeled(strings.NewReader(tc.text), "f.jsonl", tc.needSource)
		var de *Error
		if !errors.As(err, &de) {
			t.Errorf("%s: got %v, want a *datasets.Error", tc.name, err)
			continue
		}
		if de.File != "f.jsonl" || de.Line != tc.line || de.Field != tc.field || !strings.Contains(de.Msg, tc.want) {
			t.Errorf("%s: got %q (line %d, field %q), want line %d, field %q, message with %q", tc.name, de.Error(), de.Line, de.Field, tc.line, tc.field, tc.want)
		}
		if strings.Contains(de.Error(), "\n") {
			t.Errorf("%s: message spans lines: %q", tc.name, de.Error())
		}
	}
}

func TestLoadExamplesOptionalSource(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "val.jsonl")
	text := "{\"features\": [1, 2], \"label\": 1}\n{\"features\": [0, 2.5], \"label\": 0, \"source\": \"x\"}\n"
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := LoadExamples(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := l.Sources, []string{"", "x"}; !reflect.DeepEqual(got, want) || len(l.Examples) != 2 || l.Dim != 2 {
		t.Errorf("got sources %q, %d examples of dim %d; want %q, 2 of dim 2", got, len(l.Examples), l.Dim, want)
	}
	if _, err := LoadSources(path); err == nil || !strings.Contains(err.Error(), "val.jsonl:1: source: missing") {
		t.Errorf("LoadSources: got %v, want a missing-source error on line 1", err)
	}
	var de *Error
	if _, err := LoadSources(filepath.Join(dir, "nope.jsonl")); !errors.As(err, &de) {
		t.Errorf("missing file: got %v, want a *datasets.Error", err)
	}
}

func TestLoadPrefSources(t *testing.T) {
	p, err := GeneratePrefs(PrefsConfig{Dim: 3, WNorm: 1, Candidates: 3, Pairs: 5, TestPrompts: 1}, rand.New(rand.NewPCG(1, 3)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WritePrefs(&buf, p); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	names := []string{"b", "a", "b", "b", "a"}
	for i := range lines {
		lines[i] = strings.TrimSuffix(lines[i], "}") + fmt.Sprintf(`,"source":%q}`, names[i])
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "p.jsonl")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ps, err := LoadPrefSources(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ps.Source, []int{0, 1, 0, 0, 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("sources: got %v, want %v", got, want)
	}
	if got, want := ps.Sources, []string{"b", "a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("names: got %v, want %v", got, want)
	}
	if len(ps.FlipRates) != 2 || !math.IsNaN(ps.FlipRates[0]) {
		t.Errorf("flip rates: got %v, want NaN for each source", ps.FlipRates)
	}
	lines[3] = strings.Replace(lines[3], `,"source":"b"`, "", 1)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var de *Error
	if _, err := LoadPrefSources(path); !errors.As(err, &de) || de.Line != 4 || de.Field != "source" {
		t.Errorf("missing source: got %v, want a *datasets.Error at line 4, field source", err)
	}
}

func ExampleGenerateSources() {
	s, err := GenerateSources(SourcesConfig{Dim: 3, WNorm: 2, PerSource: 100, FlipRates: []float64{0, 0.5}, Val: 30, Test: 40},
		rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		panic(err)
	}
	flipped := make([]int, len(s.Train.Sources))
	for _, e := range s.Train.Examples {
		if e.Flipped {
			flipped[e.Source]++
		}
	}
	fmt.Println(s.Train.Sources, len(s.Train.Examples), len(s.Val.Examples), len(s.Test.Examples))
	fmt.Println("s0 flipped:", flipped[0], "s1 flipped more than 30:", flipped[1] > 30)
	// Output:
	// [s0 s1] 200 30 40
	// s0 flipped: 0 s1 flipped more than 30: true
}
