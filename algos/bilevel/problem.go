package bilevel

import (
	"errors"
	"fmt"
	"math"

	"github.com/alignlab/alignlab/datasets"
)

// The kinds of Problem.
const (
	KindClassification = "classification" // binary labels; models logistic and mlp
	KindPreference     = "preference"     // preference pairs; model dpo
)

// Problem is a multi-source learning problem in the form the trainers take:
// training examples tagged with their source, and clean validation and test
// sets. Build it with ClassificationProblem or PreferenceProblem.
type Problem struct {
	Kind      string // KindClassification or KindPreference
	Dim       int
	Sources   []string  // source names; Train.Source indexes them
	FlipRates []float64 // known label-flip rate of each source; NaN where unknown
	Train     Examples
	Val       Examples
	Test      Examples // N = 0 when there is no test set
}

// Examples is a set of examples as flat arrays.
type Examples struct {
	N int
	// X is N×Dim, row-major: the features (classification), or
	// Δφ = φ(x, y_w) − φ(x, y_l) (preference: a log-linear policy's
	// implicit reward margin is h = θ·Δφ).
	X []float64
	// Y are the labels in {0, 1}; 1 for every preference pair (its chosen
	// candidate is the preferred one).
	Y      []float64
	Source []int // source of each example (training split only)
}

// ClassificationProblem builds a classification Problem. train must name
// its sources; val and test are clean sets of the same dimension (test may
// be nil). flipRates gives each training source's flip rate if known (nil:
// all unknown).
func ClassificationProblem(train, val, test *datasets.Labeled, flipRates []float64) (*Problem, error) {
	if train == nil || len(train.Examples) == 0 {
		return nil, errors.New("bilevel: no training examples")
	}
	if val == nil || len(val.Examples) == 0 {
		return nil, errors.New("bilevel: no validation examples: reweighting needs a clean validation set")
	}
	p := &Problem{Kind: KindClassification, Dim: train.Dim, Sources: append([]string(nil), train.Sources...)}
	if err := p.setFlipRates(flipRates); err != nil {
		return nil, err
	}
	conv := func(what string, l *datasets.Labeled, withSource bool) (Examples, error) {
		if l.Dim != p.Dim {
			return Examples{}, fmt.Errorf("bilevel: the %s set has dimension %d, the training set %d", what, l.Dim, p.Dim)
		}
		return labeledExamples(l, withSource), nil
	}
	var err error
	if p.Train, err = conv("training", train, true); err != nil {
		return nil, err
	}
	if p.Val, err = conv("validation", val, false); err != nil {
		return nil, err
	}
	if test != nil {
		if p.Test, err = conv("test", test, false); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// PreferenceProblem builds a preference Problem from ps, whose Val must be
// set (Test may be nil).
func PreferenceProblem(ps *datasets.PrefSources) (*Problem, error) {
	if ps == nil || ps.Train == nil || len(ps.Train.Pairs) == 0 {
		return nil, errors.New("bilevel: no training pairs")
	}
	if ps.Val == nil || len(ps.Val.Pairs) == 0 {
		return nil, errors.New("bilevel: no validation pairs: reweighting needs a clean validation set")
	}
	if len(ps.Source) != len(ps.Train.Pairs) {
		return nil, fmt.Errorf("bilevel: %d sources for %d training pairs", len(ps.Source), len(ps.Train.Pairs))
	}
	p := &Problem{Kind: KindPreference, Dim: ps.Train.Dim, Sources: append([]string(nil), ps.Sources...)}
	if err := p.setFlipRates(ps.FlipRates); err != nil {
		return nil, err
	}
	conv := func(what string, pr *datasets.Prefs) (Examples, error) {
		if pr.Dim != p.Dim {
			return Examples{}, fmt.Errorf("bilevel: the %s pairs have dimension %d, the training pairs %d", what, pr.Dim, p.Dim)
		}
		return prefExamples(pr), nil
	}
	var err error
	if p.Train, err = conv("training", ps.Train); err != nil {
		return nil, err
	}
	p.Train.Source = append([]int(nil), ps.Source...)
	if p.Val, err = conv("validation", ps.Val); err != nil {
		return nil, err
	}
	if ps.Test != nil {
		if p.Test, err = conv("test", ps.Test); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// labeledExamples flattens l, with each example's source when withSource.
func labeledExamples(l *datasets.Labeled, withSource bool) Examples {
	s := Examples{N: len(l.Examples), X: make([]float64, 0, len(l.Examples)*l.Dim), Y: make([]float64, len(l.Examples))}
	if withSource {
		s.Source = make([]int, len(l.Examples))
	}
	for i, e := range l.Examples {
		s.X = append(s.X, e.Features...)
		s.Y[i] = float64(e.Label)
		if withSource {
			s.Source[i] = e.Source
		}
	}
	return s
}

// prefExamples turns preference pairs into examples of Δφ = φ(y_w) − φ(y_l)
// labelled 1.
func prefExamples(pr *datasets.Prefs) Examples {
	s := Examples{N: len(pr.Pairs), X: make([]float64, 0, len(pr.Pairs)*pr.Dim), Y: make([]float64, len(pr.Pairs))}
	for i, c := range pr.Pairs {
		x := pr.Prompts[c.Prompt]
		for j := range pr.Dim {
			s.X = append(s.X, x.Features[c.Chosen][j]-x.Features[c.Rejected][j])
		}
		s.Y[i] = 1
	}
	return s
}

func (p *Problem) setFlipRates(rates []float64) error {
	p.FlipRates = make([]float64, len(p.Sources))
	for k := range p.FlipRates {
		p.FlipRates[k] = math.NaN()
	}
	if rates == nil {
		return nil
	}
	if len(rates) != len(p.Sources) {
		return fmt.Errorf("bilevel: %d flip rates for %d sources", len(rates), len(p.Sources))
	}
	copy(p.FlipRates, rates)
	return nil
}

// check validates the problem's shapes.
func (p *Problem) check() error {
	s := len(p.Sources)
	if s == 0 {
		return errors.New("bilevel: no sources")
	}
	for _, sp := range []struct {
		name string
		s    *Examples
	}{{"training", &p.Train}, {"validation", &p.Val}, {"test", &p.Test}} {
		if len(sp.s.X) != sp.s.N*p.Dim || len(sp.s.Y) != sp.s.N {
			return fmt.Errorf("bilevel: the %s split has %d features and %d labels for %d examples of dimension %d",
				sp.name, len(sp.s.X), len(sp.s.Y), sp.s.N, p.Dim)
		}
	}
	if p.Train.N == 0 || p.Val.N == 0 {
		return errors.New("bilevel: need training and validation examples")
	}
	if len(p.Train.Source) != p.Train.N {
		return fmt.Errorf("bilevel: %d sources for %d training examples", len(p.Train.Source), p.Train.N)
	}
	for _, k := range p.Train.Source {
		if k < 0 || k >= s {
			return fmt.Errorf("bilevel: training source index %d out of [0, %d)", k, s)
		}
	}
	return nil
}

// sourceCounts returns n_k, the number of training examples of each source.
func (p *Problem) sourceCounts() []int {
	n := make([]int, len(p.Sources))
	for _, k := range p.Train.Source {
		n[k]++
	}
	return n
}
