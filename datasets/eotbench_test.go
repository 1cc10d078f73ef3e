package datasets

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// eotBenchSmall is a hand-written benchmark file: P₀ = N(0, I) in 2-D, the
// potential one Gaussian N((2, −3), diag(1, 3)) at ε = 1, so the plan is
// N(Σ̃(Σ⁻¹μ + x/ε), Σ̃) with Σ̃ = (I + Σ⁻¹)⁻¹ = diag(0.5, 0.75). The
// second source covariance is asymmetric by float32 round-off.
const eotBenchSmall = `{
 "dim": 2,
 "epsilon": 1,
 "source": {
  "weights": [3, 1],
  "means": [[0, 0], [0, 0]],
  "covariances": [[[1, 0], [0, 1]], [[1, 1e-9], [0, 1]]]
 },
 "potential": {
  "weights": [1],
  "means": [[2, -3]],
  "covariances": [[[1, 0], [0, 3]]]
 },
 "test_inputs": [[1, 1], [0, -2], [0.5, 0.25]],
 "target_variance": 4.5
}
`

func TestReadEOTBenchmark(t *testing.T) {
	const tol = 1e-12
	b, err := ReadEOTBenchmark(strings.NewReader(eotBenchSmall), "small.json")
	if err != nil {
		t.Fatal(err)
	}
	p := b.Pair
	if p.Dim != 2 || p.Epsilon != 1 || len(b.TestInputs) != 3 || b.TargetVariance != 4.5 {
		t.Fatalf("got dim %d ε %v, %d test inputs, target variance %v; want 2, 1, 3, 4.5", p.Dim, p.Epsilon, len(b.TestInputs), b.TargetVariance)
	}
	if w := p.Source.Weights; w[0] != 0.75 || w[1] != 0.25 {
		t.Errorf("source weights %v, want [0.75 0.25] (normalised)", w)
	}
	if c := p.Source.Covs[1]; c[1] != c[2] || c[1] != 5e-10 {
		t.Errorf("asymmetric covariance read as %v, want the off-diagonal averaged to 5e-10", c)
	}
	// Σ̃ = diag(0.5, 0.75); Σ⁻¹μ = (2, −1); at x = (1, 1): mean Σ̃·(3, 0) = (1.5, 0).
	for _, tc := range []struct{ x, mean []float64 }{
		{[]float64{1, 1}, []float64{1.5, 0}},
		{[]float64{0, -2}, []float64{1, -2.25}},
	} {
		m, c := p.ConditionalMoments(tc.x)
		if math.Abs(m[0]-tc.mean[0]) > tol || math.Abs(m[1]-tc.mean[1]) > tol {
			t.Errorf("x = %v: conditional mean %v, want %v", tc.x, m, tc.mean)
		}
		if want := []float64{0.5, 0, 0, 0.75}; math.Abs(c[0]-want[0]) > tol || math.Abs(c[3]-want[3]) > tol || c[1] != 0 || c[2] != 0 {
			t.Errorf("x = %v: conditional covariance %v, want %v", tc.x, c, want)
		}
	}
}

// A file written by WriteEOTBenchmark reads back as the same pair: the
// same conditional moments at random x, the same test inputs.
func TestEOTBenchmarkRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	pair, err := GenerateEOT(EOTMixtureConfig(3, 0.1, true), r)
	if err != nil {
		t.Fatal(err)
	}
	in := &EOTBenchmark{Pair: pair, TestInputs: pair.SampleSource(4, r), TargetVariance: 2.5}
	var buf bytes.Buffer
	if err := WriteEOTBenchmark(&buf, in); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "pair.json")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := LoadEOTBenchmark(path)
	if err != nil {
		t.Fatal(err)
	}
	if out.TargetVariance != 2.5 || len(out.TestInputs) != 4 || out.TestInputs[3][2] != in.TestInputs[3][2] {
		t.Errorf("read back target variance %v and test inputs %v, want 2.5 and %v", out.TargetVariance, out.TestInputs, in.TestInputs)
	}
	for _, x := range pair.SampleSource(5, r) {
		m1, c1 := pair.ConditionalMoments(x)
		m2, c2 := out.Pair.ConditionalMoments(x)
		for i := range m1 {
			if m1[i] != m2[i] {
				t.Fatalf("x = %v: mean %v after the round trip, want %v", x, m2, m1)
			}
		}
		for i := range c1 {
			if c1[i] != c2[i] {
				t.Fatalf("x = %v: covariance %v after the round trip, want %v", x, c2, c1)
			}
		}
	}
}

// Each bad file is an *Error naming the field (and line, where JSON gives one).
func TestReadEOTBenchmarkRejects(t *testing.T) {
	edit := func(old, new string) string {
		if !strings.Contains(eotBenchSmall, old) {
			t.Fatalf("test file lacks %q", old)
		}
		return strings.Replace(eotBenchSmall, old, new, 1)
	}
	for _, tc := range []struct{ name, text, want string }{
		{"empty", "", "f.json: empty file: want one JSON object"},
		{"syntax", edit(`"epsilon": 1,`, `"epsilon": 1,,`), "f.json:3: invalid JSON: invalid character ',' looking for beginning of object key string"},
		{"type", edit(`"epsilon": 1`, `"epsilon": "1"`), "f.json:3: epsilon: want a number, got a JSON string"},
		{"unknown field", edit(`"weights": [1]`, `"weight": [1]`), `f.json: unknown field "weight" (known: dim, epsilon, source, potential, test_inputs, target_variance; a mixture has weights, means, covariances)`},
		{"epsilon", edit(`"epsilon": 1`, `"epsilon": 0`), "f.json: epsilon: want a finite number > 0, got 0"},
		{"no potential", `{"epsilon": 1, "source": {"weights": [1], "means": [[0]], "covariances": [[[1]]]}}`, "f.json: potential: missing: want the potential mixture (weights, means, covariances)"},
		{"null potential", `{"epsilon": 1, "source": {"weights": [1], "means": [[0]], "covariances": [[[1]]]}, "potential": null}`, "f.json: potential: missing: want the potential mixture (weights, means, covariances)"},
		{"mixture type", `{"epsilon": 1, "source": [1]}`, "f.json:1: source: want an object with weights, means and covariances, got a JSON array"},
		{"dim", edit(`"dim": 2`, `"dim": 3`), "f.json: dim: is 3, but source.means[0] has 2 values"},
		{"weights count", edit(`"weights": [3, 1]`, `"weights": [3]`), "f.json: source.weights: has 1 values for 2 means"},
		{"weight sign", edit(`"weights": [3, 1]`, `"weights": [3, -1]`), "f.json: source.weights[1]: want a finite number > 0, got -1"},
		{"mean length", edit(`[[2, -3]]`, `[[2, -3, 1]]`), "f.json: potential.means[0]: has 3 values, want 2"},
		{"rows", edit(`[[[1, 0], [0, 3]]]`, `[[[1, 0]]]`), "f.json: potential.covariances[0]: has 1 rows, want 2"},
		{"asymmetric", edit(`[[[1, 0], [0, 3]]]`, `[[[1, 0.5], [0, 3]]]`), "f.json: potential.covariances[0]: not symmetric: (0, 1) = 0.5 but (1, 0) = 0"},
		{"not positive definite", edit(`[[[1, 0], [0, 3]]]`, `[[[1, 2], [2, 3]]]`), "f.json: potential: covariance 0: not positive definite"},
		{"test input", edit(`[0, -2]`, `[0]`), "f.json: test_inputs[1]: has 1 values, want 2"},
		{"target variance", edit(`4.5`, `-1`), "f.json: target_variance: want a finite number > 0, got -1"},
		{"two objects", eotBenchSmall + "{}", "f.json:17: want one JSON object, found more after it"},
	} {
		_, err := ReadEOTBenchmark(strings.NewReader(tc.text), "f.json")
		var de *Error
		if !errors.As(err, &de) || err.Error() != tc.want {
			t.Errorf("%s: got %v, want *Error %q", tc.name, err, tc.want)
		}
	}
	missing := filepath.Join(t.TempDir(), "missing.json")
	if _, err := LoadEOTBenchmark(missing); err == nil || !strings.HasPrefix(err.Error(), missing+": open ") {
		t.Errorf("missing file: got %v", err)
	}
}
