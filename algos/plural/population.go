package plural

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/alignlab/alignlab/algos/pairloss"
)

// This file holds the planted population: K groups of users with known
// ideal points, items with features, contexts that carry a signal of the
// group, and comparisons drawn per user.

// PopulationConfig configures GeneratePopulation. DefaultPopulationConfig
// gives the documented defaults.
type PopulationConfig struct {
	Groups        int       // K ≥ 1 latent groups
	Weights       []float64 // mixture weights π_k (nil: uniform); K non-negative numbers, normalised
	Dim           int       // d, item feature dimension
	Latent        int       // m, dimension of the ideal-point space
	Items         int       // N ≥ 2, the item pool
	Users         int       // users
	PerUser       int       // comparisons per user
	TestFraction  float64   // in [0, 1): share of each user's comparisons held out
	ContextDim    int       // dimension of a user's context (0: none)
	ContextSignal float64   // ≥ 0: norm of the group's mean in context space (0: contexts say nothing)
	Spread        float64   // > 0: standard deviation of the ideal points and of the item map's entries
}

// DefaultPopulationConfig: 3 groups with weights ½, ⅓, ⅙; 8 item features,
// a 2-D ideal-point space, 40 items, 300 users with 40 comparisons each
// (a quarter held out), 4-D contexts with group signal 2, spread 1.
func DefaultPopulationConfig() PopulationConfig {
	return PopulationConfig{Groups: 3, Weights: []float64{3, 2, 1}, Dim: 8, Latent: 2, Items: 40, Users: 300,
		PerUser: 40, TestFraction: 0.25, ContextDim: 4, ContextSignal: 2, Spread: 1}
}

// User is one member of the population.
type User struct {
	Group   int       // true group, in [0, K)
	Context []float64 // side information; its mean depends on the group
}

// Comparison is one user's judgement between items A and B.
type Comparison struct {
	User  int
	A, B  int
	AWins bool
}

// Population is a planted population of users with known groups. Group k
// rewards item i by r_k(i) = −‖A φ_i − p_k‖² (its ideal point p_k in the
// latent space the item map A sends items to), and a user of group k
// prefers a to b with probability σ(r_k(a) − r_k(b)).
type Population struct {
	Config  PopulationConfig
	Items   [][]float64 // φ_i ∈ R^d
	Map     [][]float64 // A, m × d
	Ideal   [][]float64 // p_k ∈ R^m
	Weights []float64   // π_k, summing to 1
	Users   []User
	Train   []Comparison
	Test    []Comparison
	latent  [][]float64 // A φ_i
}

func (c PopulationConfig) check() error {
	switch {
	case c.Groups < 1:
		return fmt.Errorf("plural: groups must be ≥ 1, got %d", c.Groups)
	case c.Weights != nil && len(c.Weights) != c.Groups:
		return fmt.Errorf("plural: %d mixture weights for %d groups", len(c.Weights), c.Groups)
	case c.Dim < 1 || c.Latent < 1:
		return fmt.Errorf("plural: feature and latent dimensions must be ≥ 1, got %d and %d", c.Dim, c.Latent)
	case c.Items < 2:
		return fmt.Errorf("plural: items must be ≥ 2, got %d", c.Items)
	case c.Users < 1 || c.PerUser < 1:
		return fmt.Errorf("plural: users and comparisons per user must be ≥ 1, got %d and %d", c.Users, c.PerUser)
	case !(c.TestFraction >= 0 && c.TestFraction < 1):
		return fmt.Errorf("plural: test fraction must be in [0, 1), got %v", c.TestFraction)
	case c.ContextDim < 0 || !(c.ContextSignal >= 0):
		return fmt.Errorf("plural: context dimension and signal must be ≥ 0, got %d and %v", c.ContextDim, c.ContextSignal)
	case !(c.Spread > 0) || math.IsInf(c.Spread, 0):
		return fmt.Errorf("plural: spread must be finite and > 0, got %v", c.Spread)
	}
	sum := 0.0
	for _, w := range c.Weights {
		if !(w >= 0) || math.IsInf(w, 0) {
			return fmt.Errorf("plural: mixture weights must be finite and ≥ 0, got %v", c.Weights)
		}
		sum += w
	}
	if c.Weights != nil && !(sum > 0) {
		return fmt.Errorf("plural: mixture weights sum to %v, want > 0", sum)
	}
	return nil
}

// GeneratePopulation draws a population from r: item features φ_i ~ N(0, I),
// the item map A and the ideal points with entries ~ N(0, Spread²/d) and
// N(0, Spread²) (A scaled so that A φ has the ideal points' scale), each
// user's group from π and context ~ N(μ_k, I) with group means μ_k of norm
// ContextSignal in random directions, and PerUser comparisons per user
// between two distinct uniform items, the first TestFraction of which (per
// user, rounded down) are held out.
func GeneratePopulation(cfg PopulationConfig, r *rand.Rand) (*Population, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	p := &Population{Config: cfg}
	k := cfg.Groups
	p.Weights = make([]float64, k)
	for i := range p.Weights {
		if cfg.Weights == nil {
			p.Weights[i] = 1 / float64(k)
		} else {
			p.Weights[i] = cfg.Weights[i]
		}
	}
	normalize(p.Weights)
	p.Items = gaussianRows(r, cfg.Items, cfg.Dim, 1)
	p.Map = gaussianRows(r, cfg.Latent, cfg.Dim, cfg.Spread/math.Sqrt(float64(cfg.Dim)))
	p.Ideal = gaussianRows(r, k, cfg.Latent, cfg.Spread)
	p.latent = make([][]float64, cfg.Items)
	for i, phi := range p.Items {
		p.latent[i] = matVec(p.Map, phi)
	}
	means := make([][]float64, k)
	for g := range means {
		means[g] = make([]float64, cfg.ContextDim)
		if cfg.ContextDim > 0 && cfg.ContextSignal > 0 {
			dir := gaussianRows(r, 1, cfg.ContextDim, 1)[0]
			n := math.Sqrt(dot(dir, dir))
			for j := range dir {
				means[g][j] = cfg.ContextSignal * dir[j] / n
			}
		}
	}
	p.Users = make([]User, cfg.Users)
	for u := range p.Users {
		g := draw(r, p.Weights)
		ctx := make([]float64, cfg.ContextDim)
		for j := range ctx {
			ctx[j] = means[g][j] + r.NormFloat64()
		}
		p.Users[u] = User{Group: g, Context: ctx}
	}
	nTest := int(cfg.TestFraction * float64(cfg.PerUser))
	for u, user := range p.Users {
		for c := range cfg.PerUser {
			a := r.IntN(cfg.Items)
			b := (a + 1 + r.IntN(cfg.Items-1)) % cfg.Items
			cmp := Comparison{User: u, A: a, B: b, AWins: r.Float64() < p.Prob(user.Group, a, b)}
			if c < nTest {
				p.Test = append(p.Test, cmp)
			} else {
				p.Train = append(p.Train, cmp)
			}
		}
	}
	return p, nil
}

// Reward is group k's reward of item i, −‖A φ_i − p_k‖².
func (p *Population) Reward(k, i int) float64 {
	d := 0.0
	for j, z := range p.latent[i] {
		d += (z - p.Ideal[k][j]) * (z - p.Ideal[k][j])
	}
	return -d
}

// Rewards returns the K × N matrix of every group's reward of every item.
func (p *Population) Rewards() [][]float64 {
	out := make([][]float64, len(p.Ideal))
	for k := range out {
		out[k] = make([]float64, len(p.Items))
		for i := range out[k] {
			out[k][i] = p.Reward(k, i)
		}
	}
	return out
}

// Prob is the probability that a user of group k prefers a to b.
func (p *Population) Prob(k, a, b int) float64 {
	return pairloss.Sigmoid(p.Reward(k, a) - p.Reward(k, b))
}

// MixtureProb is the probability that a random user (group drawn from π)
// prefers a to b: P̄(a ≻ b) = Σ_k π_k σ(r_k(a) − r_k(b)).
func (p *Population) MixtureProb(a, b int) float64 {
	s := 0.0
	for k, w := range p.Weights {
		s += w * p.Prob(k, a, b)
	}
	return s
}

// IrreducibleAccuracy is the accuracy, on a comparison of a random user
// between a uniform pair of distinct items, of the best predictor that
// does not know the user: it picks the majority winner of P̄, and is right
// with probability max(P̄, 1 − P̄). The average is exact, over all pairs.
// transitive reports whether the majority relation is a total order, in
// which case one reward per item (a single Bradley–Terry model) attains
// the bound; with a cycle no single reward can.
func (p *Population) IrreducibleAccuracy() (acc float64, transitive bool) {
	n := len(p.Items)
	wins := make([]int, n)
	pairs := 0
	for a := range n {
		for b := a + 1; b < n; b++ {
			q := p.MixtureProb(a, b)
			acc += math.Max(q, 1-q)
			if q > 0.5 {
				wins[a]++
			} else {
				wins[b]++
			}
			pairs++
		}
	}
	// A tournament is transitive iff its win counts are 0, 1, …, n−1.
	seen := make([]bool, n)
	transitive = true
	for _, w := range wins {
		if seen[w] {
			transitive = false
		}
		seen[w] = true
	}
	return acc / float64(pairs), transitive
}

// OracleAccuracy is the accuracy of the predictor that knows each user's
// group: Σ_k π_k · mean over pairs of max(P_k, 1 − P_k), exact.
func (p *Population) OracleAccuracy() float64 {
	n := len(p.Items)
	acc, pairs := 0.0, 0
	for a := range n {
		for b := a + 1; b < n; b++ {
			for k, w := range p.Weights {
				q := p.Prob(k, a, b)
				acc += w * math.Max(q, 1-q)
			}
			pairs++
		}
	}
	return acc / float64(pairs)
}

// gaussian returns n draws of N(0, sd²) from r.
func gaussian(r *rand.Rand, n int, sd float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = sd * r.NormFloat64()
	}
	return out
}

// gaussianRows returns a rows × cols matrix of N(0, sd²) draws from r,
// drawn row by row (the order of gaussian(r, rows·cols, sd)).
func gaussianRows(r *rand.Rand, rows, cols int, sd float64) [][]float64 {
	flat := gaussian(r, rows*cols, sd)
	out := make([][]float64, rows)
	for i := range out {
		out[i] = flat[i*cols : (i+1)*cols : (i+1)*cols]
	}
	return out
}

func matVec(m [][]float64, v []float64) []float64 {
	out := make([]float64, len(m))
	for i, row := range m {
		out[i] = dot(row, v)
	}
	return out
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func normalize(w []float64) {
	s := 0.0
	for _, v := range w {
		s += v
	}
	for i := range w {
		w[i] /= s
	}
}

// draw returns an index drawn from the probabilities w.
func draw(r *rand.Rand, w []float64) int {
	u := r.Float64()
	for i, v := range w {
		if u < v {
			return i
		}
		u -= v
	}
	return len(w) - 1
}
