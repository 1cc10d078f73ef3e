package bilevel

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/alignlab/alignlab/algos/fit"
)

// The methods Compare runs, in the order of its results.
const (
	MethodUniform         = "uniform"          // every source weighted equally (p_k = 1/S)
	MethodOracle          = "oracle"           // only the sources with the lowest known flip rate
	MethodValOnly         = "val_only"         // the model fitted to the validation set alone
	MethodValFilter       = "val_filter"       // sources scored by the val_only model, the worst dropped, uniform on the rest
	MethodScaleBiO        = "scalebio"         // ScaleBiO's upper-level model w
	MethodScaleBiORetrain = "scalebio_retrain" // a fresh model fitted with ScaleBiO's final weights fixed
)

// Methods lists the methods of Compare in order.
var Methods = []string{MethodUniform, MethodOracle, MethodValOnly, MethodValFilter, MethodScaleBiO, MethodScaleBiORetrain}

// MethodResult is one method's model, measured on the validation and test sets.
type MethodResult struct {
	Method    string
	Weights   []float64 // the source weights it trained with; nil for val_only
	Val, Test Eval      // Test is NaN when the problem has no test set
}

// Comparison is the outcome of Compare.
type Comparison struct {
	Sources   []string
	FlipRates []float64      // as in the Problem (NaN where unknown)
	Methods   []MethodResult // in the order of Methods; oracle is absent when no flip rate is known
	Weights   []float64      // ScaleBiO's final weights
	Lambda    []float64      // ScaleBiO's final λ (Weights = softmax(λ))
	// FilterLoss is each source's mean loss under the val_only model, and
	// Kept says which sources val_filter kept (loss ≤ lowest + FilterMargin).
	FilterLoss []float64
	Kept       []bool
	Notes      []string // caveats for the reader
	// retrained is the scalebio_retrain model's parameters.
	retrained []param
}

// Method returns the result of method name, or false.
func (c *Comparison) Method(name string) (MethodResult, bool) {
	for _, m := range c.Methods {
		if m.Method == name {
			return m, true
		}
	}
	return MethodResult{}, false
}

// Compare runs ScaleBiO and the baselines on the same problem, every model
// starting from the same initial parameters (drawn once from r, for the
// MLP) and trained for cfg.Steps steps with the same optimizer and learning
// rate (cfg.LearningRate). ScaleBiO's series go to rec (see Reweight); rec
// may be nil.
func Compare(ctx context.Context, p *Problem, cfg Config, r *rand.Rand, rec fit.Recorder) (_ *Comparison, err error) {
	defer fit.Catch("bilevel", &err)
	m, err := prepare(p, cfg)
	if err != nil {
		return nil, err
	}
	init := m.params(r)
	ns := len(p.Sources)
	c := &Comparison{Sources: p.Sources, FlipRates: p.FlipRates}

	rw, _, err := reweight(ctx, p, cfg, m, init, rec)
	if err != nil {
		return nil, err
	}
	c.Weights, c.Lambda = rw.Weights, rw.Lambda

	// fixed trains a model with the given source weights; it returns the
	// session holding the model, for scalebio_retrain's to be kept.
	fixed := func(name string, weights []float64) (MethodResult, *session, error) {
		s, err := fitWeighted(ctx, m, p.Train, exampleWeights(p, weights), init, cfg)
		if err != nil {
			return MethodResult{}, nil, fmt.Errorf("%w (method %s)", err, name)
		}
		res := MethodResult{Method: name, Weights: weights}
		if res.Val, _, err = s.evaluate(p.Val); err != nil {
			return res, nil, err
		}
		res.Test, _, err = s.evaluate(p.Test)
		return res, s, err
	}

	uniform := make([]float64, ns)
	for k := range uniform {
		uniform[k] = 1 / float64(ns)
	}
	res, _, err := fixed(MethodUniform, uniform)
	if err != nil {
		return nil, err
	}
	c.Methods = append(c.Methods, res)

	if oracle := oracleWeights(p.FlipRates); oracle != nil {
		if res, _, err = fixed(MethodOracle, oracle); err != nil {
			return nil, err
		}
		c.Methods = append(c.Methods, res)
	} else {
		c.Notes = append(c.Notes, "no source has a known flip rate: the oracle baseline is skipped")
	}

	// The validation model: fitted to the clean validation set alone
	// (uniform per-example weights), then used to score the sources.
	vs, err := fitWeighted(ctx, m, p.Val, constant(p.Val.N, 1/float64(p.Val.N)), init, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w (method %s)", err, MethodValOnly)
	}
	valOnly := MethodResult{Method: MethodValOnly}
	if valOnly.Val, _, err = vs.evaluate(p.Val); err != nil {
		return nil, err
	}
	if valOnly.Test, _, err = vs.evaluate(p.Test); err != nil {
		return nil, err
	}
	c.Methods = append(c.Methods, valOnly)
	_, perExample, err := vs.evaluate(p.Train)
	if err != nil {
		return nil, err
	}
	c.FilterLoss = sourceMeans(p, perExample)
	c.Kept = filterSources(c.FilterLoss, cfg.FilterMargin)
	kept := make([]float64, ns)
	nk := 0
	for _, ok := range c.Kept {
		if ok {
			nk++
		}
	}
	for k, ok := range c.Kept {
		if ok {
			kept[k] = 1 / float64(nk)
		}
	}
	if res, _, err = fixed(MethodValFilter, kept); err != nil {
		return nil, err
	}
	c.Methods = append(c.Methods, res)

	c.Methods = append(c.Methods, MethodResult{Method: MethodScaleBiO, Weights: rw.Weights, Val: rw.Val, Test: rw.Test})
	res, retrained, err := fixed(MethodScaleBiORetrain, rw.Weights)
	if err != nil {
		return nil, err
	}
	c.Methods = append(c.Methods, res)
	if c.retrained, err = retrained.params(init); err != nil {
		return nil, err
	}
	if p.Test.N == 0 {
		c.Notes = append(c.Notes, "no test set: the test columns are NaN")
	}
	return c, nil
}

// oracleWeights spreads the weight evenly over the sources with the lowest
// known flip rate; nil when no rate is known.
func oracleWeights(rates []float64) []float64 {
	best := math.Inf(1)
	for _, e := range rates {
		if !math.IsNaN(e) {
			best = min(best, e)
		}
	}
	if math.IsInf(best, 1) {
		return nil
	}
	w := make([]float64, len(rates))
	n := 0
	for k, e := range rates {
		if e == best {
			w[k] = 1
			n++
		}
	}
	for k := range w {
		w[k] /= float64(n)
	}
	return w
}

// filterSources keeps the sources whose loss is at most the lowest plus margin.
func filterSources(loss []float64, margin float64) []bool {
	lo := math.Inf(1)
	for _, l := range loss {
		if !math.IsNaN(l) {
			lo = min(lo, l)
		}
	}
	kept := make([]bool, len(loss))
	for k, l := range loss {
		kept[k] = l <= lo+margin
	}
	return kept
}

func constant(n int, v float64) []float64 {
	c := make([]float64, n)
	for i := range c {
		c[i] = v
	}
	return c
}

// String writes the comparison as a small text table.
func (c *Comparison) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-17s %12s %13s %13s\n", "method", "val_logloss", "test_logloss", "test_accuracy")
	for _, m := range c.Methods {
		fmt.Fprintf(&b, "%-17s %12.4f %13.4f %13.4f\n", m.Method, m.Val.LogLoss, m.Test.LogLoss, m.Test.Accuracy)
	}
	return b.String()
}
