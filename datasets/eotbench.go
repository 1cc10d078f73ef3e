package datasets

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// This file reads and writes the parameters of one Gaussian-mixture pair of
// the entropic OT benchmark (Gushchin et al. 2023, arXiv 2306.10161), so
// that the pair the benchmark publishes (a separate download, as PyTorch
// tensors) can be scored instead of a pair drawn by GenerateEOT.
//
// The file is one JSON object:
//
//	{
//	  "dim": 2,                      optional; when present, must match the means
//	  "epsilon": 0.1,                ε > 0, the plan's noise variance (the package's convention)
//	  "source": {                    P₀ = Σ_k weights[k]·N(means[k], covariances[k])
//	    "weights": [0.5, 0.5],       K₀ values > 0 (normalised on reading)
//	    "means": [[0, 0], [1, 1]],   K₀ vectors of length D
//	    "covariances": [[[1, 0], [0, 1]], [[0.5, 0], [0, 0.5]]]   K₀ symmetric positive-definite D×D matrices
//	  },
//	  "potential": { "weights": …, "means": …, "covariances": … },   g, the same layout
//	  "test_inputs": [[0.1, -0.3], …],   optional: the fixed test x of cBW₂²-UVP
//	  "target_variance": 3.2         optional: Var(P₁) = tr Cov(P₁), the metric's normaliser (½·Var(P₁))
//	}
//
// The plan is π*(y|x) ∝ N(y | x, εI)·g(y), as for EOTPair: the benchmark's
// ConditionalPlan (plan covariance (I/ε + Σ_k⁻¹)⁻¹, weights ∝ p_k N(x | μ_k,
// Σ_k + εI)) is this same formula. The benchmark stores, per dimension D and
// ε, input_{probs,mus,sigmas}_dim_D.torch (P₀), potential_{probs,mus,
// sigmas}_dim_D_eps_ε.torch (g) and its test inputs; converting them is
// json.dump of each tensor's tolist() under the names above. Covariances
// converted from float32 may be asymmetric in the last digits: an
// asymmetry up to eotBenchSymTol of the matrix's largest entry is averaged
// away, a larger one is an error. Unknown fields are errors, so that a
// misspelt key does not silently drop a part of the pair.

// EOTBenchmark is one benchmark pair read from a file: the pair, and the
// benchmark's own test inputs and normaliser when the file has them.
type EOTBenchmark struct {
	Pair *EOTPair
	// TestInputs are the fixed test x of cBW₂²-UVP; nil when the file has
	// none (the x are then drawn from P₀).
	TestInputs [][]float64
	// TargetVariance is Var(P₁), the total variance (trace of the
	// covariance) of the target; 0 when the file has none (it is then
	// estimated from the pair).
	TargetVariance float64
}

// eotBenchSymTol is the relative asymmetry of a covariance that reading
// averages away (float32 round-off of a converted tensor is ~1e-7).
const eotBenchSymTol = 1e-5

type eotBenchMixture struct {
	Weights     []float64     `json:"weights"`
	Means       [][]float64   `json:"means"`
	Covariances [][][]float64 `json:"covariances"`
}

type eotBenchFile struct {
	Dim            *int             `json:"dim,omitempty"`
	Epsilon        float64          `json:"epsilon"`
	Source         *eotBenchMixture `json:"source"`
	Potential      *eotBenchMixture `json:"potential"`
	TestInputs     [][]float64      `json:"test_inputs,omitempty"`
	TargetVariance *float64         `json:"target_variance,omitempty"`
}

// LoadEOTBenchmark reads a benchmark pair file (see ReadEOTBenchmark).
func LoadEOTBenchmark(path string) (*EOTBenchmark, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Msg: err.Error()}
	}
	defer f.Close()
	return ReadEOTBenchmark(f, path)
}

// ReadEOTBenchmark reads one benchmark pair in the JSON layout above from
// r; name is the file name its errors carry. Every problem is a *Error
// naming the field ("potential.covariances[2]") and, for a syntax or type
// error, the line.
func ReadEOTBenchmark(r io.Reader, name string) (*EOTBenchmark, error) {
	data, err := io.ReadAll(bufio.NewReader(r))
	if err != nil {
		return nil, &Error{File: name, Msg: err.Error()}
	}
	// Python's json writes NaN and Infinity bare; quoted, they reach the
	// decoder as strings, whose type error names their field and line
	// (quoting adds no line break).
	dec := json.NewDecoder(bytes.NewReader(quoteNonFinite(data)))
	dec.DisallowUnknownFields()
	var f eotBenchFile
	if err := dec.Decode(&f); err != nil {
		return nil, eotBenchJSONError(name, quoteNonFinite(data), err)
	}
	if dec.More() {
		off := dec.InputOffset()
		off += int64(len(data[off:]) - len(bytes.TrimLeft(data[off:], " \t\r\n")))
		return nil, &Error{File: name, Line: lineAt(data, off), Msg: "want one JSON object, found more after it"}
	}
	fail := func(field, format string, args ...any) error {
		return &Error{File: name, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	if !(f.Epsilon > 0) || math.IsInf(f.Epsilon, 1) {
		return nil, fail("epsilon", "want a finite number > 0, got %v", f.Epsilon)
	}
	if f.Source == nil {
		return nil, fail("source", "missing: want the source mixture (weights, means, covariances)")
	}
	if f.Potential == nil {
		return nil, fail("potential", "missing: want the potential mixture (weights, means, covariances)")
	}
	if len(f.Source.Means) == 0 || len(f.Source.Means[0]) == 0 {
		return nil, fail("source.means", "want at least one mean of dimension ≥ 1")
	}
	dim := len(f.Source.Means[0])
	if f.Dim != nil && *f.Dim != dim {
		return nil, fail("dim", "is %d, but source.means[0] has %d values", *f.Dim, dim)
	}
	src, err := eotBenchMixtureOf(name, "source", f.Source, dim)
	if err != nil {
		return nil, err
	}
	pot, err := eotBenchMixtureOf(name, "potential", f.Potential, dim)
	if err != nil {
		return nil, err
	}
	pair, err := NewEOTPair(src, pot, f.Epsilon)
	if err != nil {
		// The fields were checked above; what is left (a matrix that is
		// not positive definite) names its component in the message.
		return nil, &Error{File: name, Msg: strings.TrimPrefix(err.Error(), "datasets: eot: ")}
	}
	b := &EOTBenchmark{Pair: pair}
	for i, x := range f.TestInputs {
		field := fmt.Sprintf("test_inputs[%d]", i)
		if len(x) != dim {
			return nil, fail(field, "has %d values, want %d", len(x), dim)
		}
		if !allFinite(x) {
			return nil, fail(field, "values must be finite")
		}
	}
	b.TestInputs = f.TestInputs
	if f.TargetVariance != nil {
		if v := *f.TargetVariance; !(v > 0) || math.IsInf(v, 1) {
			return nil, fail("target_variance", "want a finite number > 0, got %v", v)
		}
		b.TargetVariance = *f.TargetVariance
	}
	return b, nil
}

// eotBenchMixtureOf checks one mixture of the file and converts it.
func eotBenchMixtureOf(file, what string, m *eotBenchMixture, dim int) (GaussianMixture, error) {
	fail := func(field, format string, args ...any) error {
		return &Error{File: file, Field: what + "." + field, Msg: fmt.Sprintf(format, args...)}
	}
	k := len(m.Means)
	switch {
	case k == 0:
		return GaussianMixture{}, fail("means", "want at least one component")
	case len(m.Weights) != k:
		return GaussianMixture{}, fail("weights", "has %d values for %d means", len(m.Weights), k)
	case len(m.Covariances) != k:
		return GaussianMixture{}, fail("covariances", "has %d matrices for %d means", len(m.Covariances), k)
	}
	out := GaussianMixture{Weights: append([]float64(nil), m.Weights...)}
	for i, w := range m.Weights {
		if !(w > 0) || math.IsInf(w, 1) {
			return GaussianMixture{}, fail(fmt.Sprintf("weights[%d]", i), "want a finite number > 0, got %v", w)
		}
	}
	for i, mu := range m.Means {
		if len(mu) != dim {
			return GaussianMixture{}, fail(fmt.Sprintf("means[%d]", i), "has %d values, want %d", len(mu), dim)
		}
		if !allFinite(mu) {
			return GaussianMixture{}, fail(fmt.Sprintf("means[%d]", i), "values must be finite")
		}
		out.Means = append(out.Means, append([]float64(nil), mu...))
	}
	for i, c := range m.Covariances {
		field := fmt.Sprintf("covariances[%d]", i)
		if len(c) != dim {
			return GaussianMixture{}, fail(field, "has %d rows, want %d", len(c), dim)
		}
		flat := make([]float64, 0, dim*dim)
		scale := 0.0
		for j, row := range c {
			if len(row) != dim {
				return GaussianMixture{}, fail(field, "row %d has %d values, want %d", j, len(row), dim)
			}
			if !allFinite(row) {
				return GaussianMixture{}, fail(field, "values must be finite")
			}
			for _, v := range row {
				scale = math.Max(scale, math.Abs(v))
			}
			flat = append(flat, row...)
		}
		for a := range dim {
			for b := range a {
				u, l := flat[b*dim+a], flat[a*dim+b]
				if math.Abs(u-l) > eotBenchSymTol*scale {
					return GaussianMixture{}, fail(field, "not symmetric: (%d, %d) = %v but (%d, %d) = %v", b, a, u, a, b, l)
				}
				flat[b*dim+a], flat[a*dim+b] = (u+l)/2, (u+l)/2
			}
		}
		out.Covs = append(out.Covs, flat)
	}
	return out, nil
}

// WriteEOTBenchmark writes b in the layout ReadEOTBenchmark reads (the
// mixtures' weights normalised, as EOTPair holds them), indented, with a
// final newline. It lets a generated pair be scored again, or by other tools.
func WriteEOTBenchmark(w io.Writer, b *EOTBenchmark) error {
	if b == nil || b.Pair == nil {
		return errors.New("datasets: eot benchmark: nothing to write (no pair)")
	}
	p := b.Pair
	mixture := func(m GaussianMixture) *eotBenchMixture {
		out := &eotBenchMixture{Weights: m.Weights, Means: m.Means}
		for _, c := range m.Covs {
			rows := make([][]float64, p.Dim)
			for i := range rows {
				rows[i] = c[i*p.Dim : (i+1)*p.Dim]
			}
			out.Covariances = append(out.Covariances, rows)
		}
		return out
	}
	dim := p.Dim
	f := eotBenchFile{Dim: &dim, Epsilon: p.Epsilon, Source: mixture(p.Source), Potential: mixture(p.Potential), TestInputs: b.TestInputs}
	if b.TargetVariance > 0 {
		f.TargetVariance = &b.TargetVariance
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(f)
}

// eotBenchJSONError turns a decoding error into an *Error with the line
// and, where JSON names it, the field.
func eotBenchJSONError(name string, data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &Error{File: name, Line: lineAt(data, syn.Offset), Msg: "invalid JSON: " + syn.Error()}
	case errors.As(err, &typ):
		e := &Error{File: name, Line: lineAt(data, typ.Offset), Field: typ.Field,
			Msg: fmt.Sprintf("want %s, got a JSON %s", eotBenchGoType(typ.Type.String()), typ.Value)}
		for _, tok := range nonFiniteTokens {
			if typ.Value == "string" && bytes.HasSuffix(data[:min(max(typ.Offset, 0), int64(len(data)))], []byte(`"`+tok+`"`)) {
				v, _ := strconv.ParseFloat(tok, 64)
				want := eotBenchGoType(typ.Type.String())
				if strings.TrimLeft(typ.Type.String(), "*[]") == "float64" {
					want = "a finite number"
				}
				e.Msg = fmt.Sprintf("want %s, got %v", want, v)
			}
		}
		return e
	case errors.Is(err, io.EOF):
		return &Error{File: name, Msg: "empty file: want one JSON object"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &Error{File: name, Line: lineAt(data, int64(len(data))), Msg: "invalid JSON: unexpected end of file"}
	}
	// DisallowUnknownFields reports `json: unknown field "covs"`.
	return &Error{File: name, Msg: strings.TrimPrefix(err.Error(), "json: ") +
		" (known: dim, epsilon, source, potential, test_inputs, target_variance; a mixture has weights, means, covariances)"}
}

// eotBenchGoType names a decoding target as a reader of the format knows it.
func eotBenchGoType(t string) string {
	switch strings.TrimLeft(t, "*[]") {
	case "float64", "int":
		if strings.HasPrefix(t, "[") {
			return "an array"
		}
		return "a number"
	case "datasets.eotBenchMixture":
		return "an object with weights, means and covariances"
	}
	return t
}

// lineAt returns the 1-based line of byte offset off in data.
func lineAt(data []byte, off int64) int {
	off = min(max(off, 0), int64(len(data)))
	return 1 + bytes.Count(data[:off], []byte("\n"))
}

func allFinite(v []float64) bool {
	for _, x := range v {
		if !isFinite(x) {
			return false
		}
	}
	return true
}
