package datasets

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func testPrefsConfig() PrefsConfig {
	return PrefsConfig{Dim: 4, WNorm: 3, Candidates: 5, RandomRef: true, Pairs: 4000, FlipRate: 0.2, TestPrompts: 50}
}

func TestGeneratePrefsShapes(t *testing.T) {
	cfg := testPrefsConfig()
	p, err := GeneratePrefs(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	const tol = 1e-12
	if got := math.Sqrt(dot(p.Truth.W, p.Truth.W)); math.Abs(got-cfg.WNorm) > tol {
		t.Errorf("‖w*‖: got %v, want %v", got, cfg.WNorm)
	}
	if p.Dim != cfg.Dim || len(p.Prompts) != cfg.Pairs || len(p.Pairs) != cfg.Pairs || len(p.Truth.Test) != cfg.TestPrompts {
		t.Fatalf("sizes: got dim %d, %d prompts, %d pairs, %d test; want %d, %d, %d, %d",
			p.Dim, len(p.Prompts), len(p.Pairs), len(p.Truth.Test), cfg.Dim, cfg.Pairs, cfg.Pairs, cfg.TestPrompts)
	}
	for i, x := range append(p.Prompts, p.Truth.Test...) {
		if len(x.Features) != cfg.Candidates || len(x.RefLogProbs) != cfg.Candidates {
			t.Fatalf("prompt %d: got %d candidates, %d ref log-probs, want %d", i, len(x.Features), len(x.RefLogProbs), cfg.Candidates)
		}
		s := 0.0
		for _, lp := range x.RefLogProbs {
			s += math.Exp(lp)
		}
		if math.Abs(s-1) > tol {
			t.Fatalf("prompt %d: Σ π_ref = %v, want 1", i, s)
		}
	}
	for i, pr := range p.Pairs {
		if pr.Chosen == pr.Rejected || pr.Weight != 1 || pr.Prompt != i {
			t.Fatalf("pair %d: %+v", i, pr)
		}
	}
}

// The labels follow Bradley–Terry on r*, then flips at FlipRate: both rates
// are checked against their expectations within 4 standard errors.
func TestGeneratePrefsLabels(t *testing.T) {
	cfg := testPrefsConfig()
	cfg.Pairs = 20000
	p, err := GeneratePrefs(cfg, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	n := float64(cfg.Pairs)
	flips, cleanAgree, wantAgree, varAgree := 0.0, 0.0, 0.0, 0.0
	for _, pr := range p.Pairs {
		x := p.Prompts[pr.Prompt]
		w, l := pr.Chosen, pr.Rejected
		if pr.Flipped {
			flips++
			w, l = l, w
		}
		d := p.Truth.Reward(x, w) - p.Truth.Reward(x, l)
		if d > 0 {
			cleanAgree++
		}
		q := sigmoid(math.Abs(d)) // P(the clean label prefers the higher reward)
		wantAgree += q
		varAgree += q * (1 - q)
	}
	if se := math.Sqrt(cfg.FlipRate * (1 - cfg.FlipRate) / n); math.Abs(flips/n-cfg.FlipRate) > 4*se {
		t.Errorf("flip rate: got %v, want %v ± %v", flips/n, cfg.FlipRate, 4*se)
	}
	if se := math.Sqrt(varAgree) / n; math.Abs(cleanAgree/n-wantAgree/n) > 4*se {
		t.Errorf("clean labels agreeing with r*: got %v, want %v ± %v", cleanAgree/n, wantAgree/n, 4*se)
	}
}

func TestGeneratePrefsDeterministic(t *testing.T) {
	cfg := testPrefsConfig()
	cfg.Pairs = 100
	a, _ := GeneratePrefs(cfg, rand.New(rand.NewPCG(7, 7)))
	b, _ := GeneratePrefs(cfg, rand.New(rand.NewPCG(7, 7)))
	if !reflect.DeepEqual(a, b) {
		t.Error("same seed gave different data")
	}
}

func TestGeneratePrefsRejects(t *testing.T) {
	good := testPrefsConfig()
	for _, tc := range []struct {
		edit func(*PrefsConfig)
		want string
	}{
		{func(c *PrefsConfig) { c.Dim = 0 }, "datasets: prefs: dimension must be ≥ 1, got 0"},
		{func(c *PrefsConfig) { c.WNorm = 0 }, "datasets: prefs: ‖w*‖ must be finite and > 0, got 0"},
		{func(c *PrefsConfig) { c.Candidates = 1 }, "datasets: prefs: candidates per prompt must be ≥ 2, got 1"},
		{func(c *PrefsConfig) { c.Pairs = 0 }, "datasets: prefs: pairs must be ≥ 1, got 0"},
		{func(c *PrefsConfig) { c.FlipRate = 1.5 }, "datasets: prefs: flip rate must be in [0, 1], got 1.5"},
		{func(c *PrefsConfig) { c.TestPrompts = 0 }, "datasets: prefs: test prompts must be ≥ 1, got 0"},
	} {
		cfg := good
		tc.edit(&cfg)
		_, err := GeneratePrefs(cfg, rand.New(rand.NewPCG(1, 1)))
		if err == nil || err.Error() != tc.want {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}

// A two-candidate prompt worked by hand: φ = (1), (0); w* = (2); π_ref
// uniform; β = 1. Then π* ∝ (e², 1)/2 and J* = log((e² + 1)/2); π_ref has
// J = E r* = 1.
func TestPrefsTruthKnownValues(t *testing.T) {
	const tol = 1e-12
	x := Prompt{Features: [][]float64{{1}, {0}}, RefLogProbs: []float64{math.Log(0.5), math.Log(0.5)}}
	truth := &PrefsTruth{W: []float64{2}, Test: []Prompt{x}}
	if got, want := truth.OptimalValue(1), math.Log((math.Exp(2)+1)/2); math.Abs(got-want) > tol {
		t.Errorf("J*: got %v, want %v", got, want)
	}
	if got := truth.Value(1, [][]float64{{0, 0}}); math.Abs(got-1) > tol {
		t.Errorf("J(π_ref): got %v, want 1", got)
	}
	// π puts probability p = σ(1) on y0: J = 2p − (p log 2p + (1−p) log 2(1−p)).
	p := sigmoid(1)
	want := 2*p - (p*math.Log(2*p) + (1-p)*math.Log(2*(1-p)))
	if got := truth.Value(1, truth.LogLinearScores([]float64{1})); math.Abs(got-want) > tol {
		t.Errorf("J(θ=1): got %v, want %v", got, want)
	}
	if got := truth.ThetaStar(0.5); got[0] != 4 {
		t.Errorf("θ* at β=0.5: got %v, want [4]", got)
	}
}

// J(π_θ*) = J*, and every other policy is below it.
func TestPrefsTruthOptimum(t *testing.T) {
	cfg := testPrefsConfig()
	cfg.Pairs = 1
	r := rand.New(rand.NewPCG(5, 6))
	p, err := GeneratePrefs(cfg, r)
	if err != nil {
		t.Fatal(err)
	}
	const tol = 1e-12
	for _, beta := range []float64{0.5, 1, 2} {
		star := p.Truth.OptimalValue(beta)
		if got := p.Truth.Value(beta, p.Truth.LogLinearScores(p.Truth.ThetaStar(beta))); math.Abs(got-star) > tol {
			t.Errorf("β=%v: J(π_θ*) = %v, want J* = %v", beta, got, star)
		}
		for range 5 {
			th := p.Truth.ThetaStar(beta)
			for i := range th {
				th[i] += 0.3 * r.NormFloat64()
			}
			if got := p.Truth.Value(beta, p.Truth.LogLinearScores(th)); got > star {
				t.Errorf("β=%v: J(θ) = %v above J* = %v", beta, got, star)
			}
		}
	}
}

func TestPrefsRoundTrip(t *testing.T) {
	cfg := testPrefsConfig()
	cfg.Pairs = 30
	p, _ := GeneratePrefs(cfg, rand.New(rand.NewPCG(9, 9)))
	p.Pairs[3].Weight = 2.5
	var buf bytes.Buffer
	if err := WritePrefs(&buf, p); err != nil {
		t.Fatal(err)
	}
	q, err := ReadPrefs(&buf, "p.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if q.Dim != p.Dim || len(q.Pairs) != len(p.Pairs) {
		t.Fatalf("got dim %d, %d pairs, want %d, %d", q.Dim, len(q.Pairs), p.Dim, len(p.Pairs))
	}
	const tol = 1e-12 // renormalising the reference log-probabilities may move the last bit
	for i, pr := range p.Pairs {
		qr := q.Pairs[i]
		if qr.Chosen != pr.Chosen || qr.Rejected != pr.Rejected || qr.Weight != pr.Weight || qr.Prompt != i {
			t.Fatalf("pair %d: got %+v, want %+v", i, qr, pr)
		}
		x, y := p.Prompts[pr.Prompt], q.Prompts[i]
		if !reflect.DeepEqual(x.Features, y.Features) {
			t.Fatalf("pair %d: features differ", i)
		}
		for k := range x.RefLogProbs {
			if math.Abs(x.RefLogProbs[k]-y.RefLogProbs[k]) > tol {
				t.Fatalf("pair %d: ref log-prob %d: got %v, want %v", i, k, y.RefLogProbs[k], x.RefLogProbs[k])
			}
		}
	}
}

func TestLoadPrefsDefaults(t *testing.T) {
	in := "\n" + `{"features": [[1, 0], [0, 1], [1, 1]], "chosen": 2, "rejected": 0, "prompt": "ignored"}` + "\n" +
		`{"features": [[0, 0], [2, 2]], "ref_logprobs": [0, 0], "chosen": 0, "rejected": 1, "weight": 0.5}` + "\n"
	p, err := ReadPrefs(strings.NewReader(in), "p.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	const tol = 1e-15
	if p.Dim != 2 || len(p.Pairs) != 2 || p.Truth != nil {
		t.Fatalf("got dim %d, %d pairs, truth %v", p.Dim, len(p.Pairs), p.Truth)
	}
	for i, want := range []float64{math.Log(1.0 / 3), math.Log(0.5)} {
		if got := p.Prompts[i].RefLogProbs[0]; math.Abs(got-want) > tol {
			t.Errorf("line %d: ref log-prob: got %v, want %v", i+1, got, want)
		}
	}
	if got := p.Pairs[1]; got.Chosen != 0 || got.Rejected != 1 || got.Weight != 0.5 || got.Prompt != 1 {
		t.Errorf("pair 1: got %+v", got)
	}
}

func TestLoadPrefsErrors(t *testing.T) {
	const ok = `{"features": [[1, 0], [0, 1]], "chosen": 0, "rejected": 1}`
	for _, tc := range []struct {
		line, want string
	}{
		{`{"features": [[1, 0], [0, 1, 2]], "chosen": 0, "rejected": 1}`, "p.jsonl:2: features[1]: want 2 numbers (the file's feature dimension), got 3"},
		{`{"features": [[1, 0], [0, NaN]], "chosen": 0, "rejected": 1}`, "p.jsonl:2: features[1][1]: want a finite number, got NaN"},
		{`{"features": [[1, 0], [0, -Infinity]], "chosen": 0, "rejected": 1}`, "p.jsonl:2: features[1][1]: want a finite number, got -Inf"},
		{`{"features": [[1, 0], [0, 1]], "chosen": 0, "rejected": 2}`, "p.jsonl:2: rejected: want a candidate index in [0, 2), got 2"},
		{`{"features": [[1, 0], [0, 1]], "chosen": -1, "rejected": 1}`, "p.jsonl:2: chosen: want a candidate index in [0, 2), got -1"},
		{`{"features": [[1, 0], [0, 1]], "chosen": 1, "rejected": 1}`, "p.jsonl:2: rejected: want a candidate other than chosen, got 1 for both"},
		{`{"features": [[1, 0], [0, 1]], "rejected": 1}`, "p.jsonl:2: chosen: missing: want a candidate index in [0, 2)"},
		{`{"features": [[1, 0], [0, 1]], "chosen": 1.5, "rejected": 0}`, "p.jsonl:2: chosen: want an integer, got number 1.5"},
		{`{"features": [[1, 0], [0, 1]], "chosen": "0", "rejected": 1}`, "p.jsonl:2: chosen: want an integer, got string"},
		{`{"features": [[1, 0]], "chosen": 0, "rejected": 1}`, "p.jsonl:2: features: want at least 2 candidates, got 1"},
		{`{"chosen": 0, "rejected": 1}`, "p.jsonl:2: features: missing: want one feature vector per candidate"},
		{`{"features": [[1, 0], [0, 1]], "ref_logprobs": [0], "chosen": 0, "rejected": 1}`, "p.jsonl:2: ref_logprobs: want 2 numbers (one per candidate), got 1"},
		{`{"features": [[1, 0], [0, 1]], "ref_logprobs": [0, NaN], "chosen": 0, "rejected": 1}`, "p.jsonl:2: ref_logprobs[1]: want a finite log-probability, got NaN"},
		{`{"features": [[1, 0], [0, 1]], "chosen": 0, "rejected": 1, "weight": -1}`, "p.jsonl:2: weight: want a finite number > 0, got -1"},
		{`{"features": [[1, 0], [0, 1]], "chosen": 0, "rejected": 1, "weight": 0}`, "p.jsonl:2: weight: want a finite number > 0, got 0"},
		{`{"features": [[1, 0], [0, 1]], "chosen": 0, "rejected": 1, "weight": "heavy"}`, `p.jsonl:2: weight: want a finite number > 0, got string "heavy"`},
		{`{"features": [[1, "a"], [0, 1]], "chosen": 0, "rejected": 1}`, `p.jsonl:2: features[0][1]: want a finite number, got string "a"`},
		{`{"features": [[1, 0], 3], "chosen": 0, "rejected": 1}`, "p.jsonl:2: features[1]: want an array, got number"},
		{`{"features": [[1, 0], [0, 1]], "chosen": 0,`, "p.jsonl:2: want a complete JSON object, got end of line"},
	} {
		_, err := ReadPrefs(strings.NewReader(ok+"\n"+tc.line+"\n"), "p.jsonl")
		checkMessage(t, tc.line, err, tc.want)
	}
}

func TestLoadPrefsFileErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.jsonl")
	if err := os.WriteFile(empty, []byte("\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{empty, empty + ": no comparisons: want one JSON object per line"},
		{filepath.Join(dir, "missing.jsonl"), filepath.Join(dir, "missing.jsonl") + ": no such file or directory"},
	} {
		_, err := LoadPrefs(tc.path)
		if err == nil || err.Error() != tc.want {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}

func ExampleGeneratePrefs() {
	cfg := PrefsConfig{Dim: 2, WNorm: 1, Candidates: 3, Pairs: 2, TestPrompts: 10}
	p, err := GeneratePrefs(cfg, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		panic(err)
	}
	beta := 1.0
	fmt.Printf("%d pairs over %d-dimensional features\n", len(p.Pairs), p.Dim)
	fmt.Printf("gap of π_ref: %.4f\n", p.Truth.OptimalValue(beta)-p.Truth.Value(beta, p.Truth.LogLinearScores(make([]float64, 2))))
	fmt.Printf("gap of π*: %.4f\n", p.Truth.OptimalValue(beta)-p.Truth.Value(beta, p.Truth.LogLinearScores(p.Truth.ThetaStar(beta))))
	// Output:
	// 2 pairs over 2-dimensional features
	// gap of π_ref: 0.1766
	// gap of π*: 0.0000
}
