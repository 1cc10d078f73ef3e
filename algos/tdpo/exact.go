package tdpo

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// MaxEnumerate is the most sequences, P·V^(T−1), that NewTree enumerates:
// beyond it, policies that are not tabular are measured by sampling.
const MaxEnumerate = 1 << 15

// Enumerable reports whether NewTree can enumerate every prefix of s.
func Enumerable(s Spec) bool {
	n := s.Prompts
	for range s.Length - 1 {
		n *= s.Vocab
		if n > MaxEnumerate {
			return false
		}
	}
	return true
}

// Sequences returns all V^T sequences of T tokens in lexicographic order,
// for exact sums over responses when V^T is small.
func Sequences(V, T int) [][]int {
	n := 1
	for range T {
		n *= V
	}
	out := make([][]int, n)
	for c := range n {
		y := make([]int, T)
		for t, rest := T-1, c; t >= 0; t-- {
			y[t] = rest % V
			rest /= V
		}
		out[c] = y
	}
	return out
}

// Measures are the sequence-level measures of a policy π against π_ref,
// with prompts uniform: the expected reward E_x E_{y∼π(·|x)} r(y) and the
// sequence KL E_x KL(π(·|x) ‖ π_ref(·|x)) over whole responses, which by
// the chain rule is E_x E_{y∼π} Σ_t KL(π(·|x, y<t) ‖ π_ref(·|x, y<t)).
type Measures struct {
	Reward, KL float64
	// Exact is false for Monte-Carlo estimates (SampledMeasures).
	Exact bool
}

// Tree holds a model's conditionals log π(·|x, y<t) at every prefix y<t of
// every prompt x. Prefixes of length t are numbered by their base-V value
// after those of length < t.
type Tree struct {
	Spec Spec
	off  []int     // off[t]: the first node of length t; off[T] = the number of nodes
	logp []float64 // [P, nodes, V]
}

func newTree(s Spec) *Tree {
	tr := &Tree{Spec: s, off: make([]int, s.Length+1)}
	width := 1
	for t := range s.Length {
		tr.off[t+1] = tr.off[t] + width
		width *= s.Vocab
	}
	tr.logp = make([]float64, s.Prompts*tr.off[s.Length]*s.Vocab)
	return tr
}

// Cond returns log π(·|x, prefix) (V values; do not modify).
func (tr *Tree) Cond(x int, prefix []int) []float64 {
	code := 0
	for _, v := range prefix {
		code = code*tr.Spec.Vocab + v
	}
	return tr.cond(x, len(prefix), code)
}

func (tr *Tree) cond(x, t, code int) []float64 {
	V := tr.Spec.Vocab
	i := (x*tr.off[tr.Spec.Length] + tr.off[t] + code) * V
	return tr.logp[i : i+V]
}

// NewTree evaluates net at every prefix with one batched call on the
// P·V^(T−1) sequences whose first T−1 tokens take every value (a causal
// model's conditional at t reads only y<t, so the last token is arbitrary).
func NewTree(net *Net) (*Tree, error) {
	s := net.Spec
	if !Enumerable(s) {
		return nil, fmt.Errorf("tdpo: %d prompts × %d^%d prefixes exceed MaxEnumerate = %d", s.Prompts, s.Vocab, s.Length-1, MaxEnumerate)
	}
	tr := newTree(s)
	T, V := s.Length, s.Vocab
	width := tr.off[T] - tr.off[T-1] // V^(T−1)
	prompts := make([]int, s.Prompts*width)
	seqs := make([]int, len(prompts)*T)
	for x := range s.Prompts {
		for c := range width {
			n := x*width + c
			prompts[n] = x
			for t, rest := T-2, c; t >= 0; t-- {
				seqs[n*T+t] = rest % V
				rest /= V
			}
		}
	}
	lp, err := net.LogProbs(prompts, seqs)
	if err != nil {
		return nil, err
	}
	for n, x := range prompts {
		c := n % width
		for t := range T {
			// The prefix of length t of the T−1 enumerated tokens.
			code := c
			for range T - 1 - t {
				code /= V
			}
			copy(tr.cond(x, t, code), lp[(n*T+t)*V:(n*T+t+1)*V])
		}
	}
	return tr, nil
}

// Measure returns the exact Measures of tr's policy against ref (same Spec)
// under the per-token reward, by a forward pass over the prefix tree.
func (tr *Tree) Measure(ref *Tree, reward []float64) Measures {
	s := tr.Spec
	T, V := s.Length, s.Vocab
	var m Measures
	mass := []float64{}
	for x := range s.Prompts {
		mass = append(mass[:0], 1)
		for t := range T {
			next := make([]float64, len(mass)*V)
			for code, w := range mass {
				if w == 0 {
					continue
				}
				p, q := tr.cond(x, t, code), ref.cond(x, t, code)
				m.Reward += w * expected(p, reward)
				m.KL += w * kl(p, q)
				for v, l := range p {
					next[code*V+v] = w * math.Exp(l)
				}
			}
			mass = next
		}
	}
	m.Reward /= float64(s.Prompts)
	m.KL /= float64(s.Prompts)
	m.Exact = true
	return m
}

// Optimal returns the policy that maximises E r − β·KL(π ‖ π_ref) over
// whole responses, π*(y|x) ∝ π_ref(y|x)·exp(r(y)/β), as a tree of its
// conditionals: π*(v|x, y<t) = π_ref(v|·)·exp(r(v)/β + log Z(y<t v) − log Z(y<t)),
// with log Z computed backwards from Z = 1 past the last token.
func (tr *Tree) Optimal(reward []float64, beta float64) *Tree {
	s := tr.Spec
	T, V := s.Length, s.Vocab
	opt := newTree(s)
	a := make([]float64, V)
	for x := range s.Prompts {
		var childZ []float64 // log Z of the nodes of length t+1
		for t := T - 1; t >= 0; t-- {
			width := tr.off[t+1] - tr.off[t]
			z := make([]float64, width)
			for code := range width {
				q := tr.cond(x, t, code)
				for v := range V {
					a[v] = q[v] + reward[v]/beta
					if childZ != nil {
						a[v] += childZ[code*V+v]
					}
				}
				lse := logSumExp(a)
				z[code] = lse
				p := opt.cond(x, t, code)
				for v := range V {
					p[v] = a[v] - lse
				}
			}
			childZ = z
		}
	}
	return opt
}

// chainMeasures returns the exact Measures of a tabular policy against a
// tabular reference (log-probability rows [P·(V+1), V] indexed by
// x·(V+1) + y_{t−1}) by dynamic programming over the previous token: the
// distribution d_t of y_{t−1} under π is all the conditionals need.
func chainMeasures(s Spec, pol, ref, reward []float64) Measures {
	V, V1 := s.Vocab, s.Vocab+1
	var m Measures
	d := make([]float64, V1)
	next := make([]float64, V1)
	for x := range s.Prompts {
		clear(d)
		d[s.bos()] = 1
		for range s.Length {
			clear(next)
			for prev, w := range d {
				if w == 0 {
					continue
				}
				row := (x*V1 + prev) * V
				p, q := pol[row:row+V], ref[row:row+V]
				m.Reward += w * expected(p, reward)
				m.KL += w * kl(p, q)
				for v, l := range p {
					next[v] += w * math.Exp(l)
				}
			}
			d, next = next, d
		}
	}
	m.Reward /= float64(s.Prompts)
	m.KL /= float64(s.Prompts)
	m.Exact = true
	return m
}

// SampledMeasures estimates the Measures of policy against ref from n
// responses sampled from the policy, prompts taken in turn (x = i mod P).
// Along each sampled prefix it adds the exact per-token expectations
// Σ_v π(v|·) r(v) and KL(π(·|·) ‖ π_ref(·|·)) rather than r(y_t) and
// log π/π_ref(y_t): both unbiased, with less variance.
func SampledMeasures(policy, ref *Net, reward []float64, n int, r *rand.Rand) (Measures, error) {
	s := policy.Spec
	T, V := s.Length, s.Vocab
	prompts := make([]int, n)
	for i := range prompts {
		prompts[i] = i % s.Prompts
	}
	seqs, err := Sample(policy, prompts, r)
	if err != nil {
		return Measures{}, err
	}
	lp, err := policy.LogProbs(prompts, seqs)
	if err != nil {
		return Measures{}, err
	}
	lq, err := ref.LogProbs(prompts, seqs)
	if err != nil {
		return Measures{}, err
	}
	var m Measures
	for i := range n * T {
		p, q := lp[i*V:(i+1)*V], lq[i*V:(i+1)*V]
		m.Reward += expected(p, reward)
		m.KL += kl(p, q)
	}
	m.Reward /= float64(n)
	m.KL /= float64(n)
	return m, nil
}

// expected returns Σ_v p(v)·f(v) for log-probabilities lp.
func expected(lp, f []float64) float64 {
	s := 0.0
	for v, l := range lp {
		s += math.Exp(l) * f[v]
	}
	return s
}

// kl returns KL(p ‖ q) = Σ p (log p − log q) for log-probabilities.
func kl(lp, lq []float64) float64 {
	s := 0.0
	for v, l := range lp {
		if p := math.Exp(l); p > 0 {
			s += p * (l - lq[v])
		}
	}
	return s
}

func logSumExp(a []float64) float64 {
	m := math.Inf(-1)
	for _, v := range a {
		m = max(m, v)
	}
	s := 0.0
	for _, v := range a {
		s += math.Exp(v - m)
	}
	return m + math.Log(s)
}
