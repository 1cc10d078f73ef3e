package bt

import (
	"context"
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/alignlab/alignlab/algos/pairloss"
	"github.com/alignlab/alignlab/datasets"
)

// The tie conventions of Settings.Ties and the plugin's ParamTies.
const (
	// TiesHalf counts a tie as half a win for each side (the Chatbot Arena
	// convention); the model has no tie parameter.
	TiesHalf = "half"
	// TiesRaoKupper is the Rao–Kupper (1967) model with threshold κ ≥ 1:
	// P(i ≻ j) = σ(θi − θj − log κ), ties take the rest.
	TiesRaoKupper = "rao_kupper"
	// TiesDavidson is the Davidson (1970) model with tie weight ν ≥ 0:
	// P(i ≻ j) = γi / (γi + γj + ν√(γiγj)), γ = e^θ.
	TiesDavidson = "davidson"
)

// TieModels lists the tie conventions, the default first.
var TieModels = []string{TiesHalf, TiesRaoKupper, TiesDavidson}

// Defaults of Settings.
const (
	// DefaultTolerance stops a fit when no log-strength (nor the log of the
	// tie parameter) moved by more than this in the last iteration.
	DefaultTolerance = 1e-10
	// DefaultMaxIterations bounds the iterations of either solver.
	DefaultMaxIterations = 100000
	// DefaultPrior is the weight of the prior used when the data have no
	// finite maximum-likelihood estimate: one virtual tie per model.
	DefaultPrior = 1.0
)

// Settings configure FitMM and FitNewton. The zero value (or nil) is the
// half-tie Bradley–Terry model with the defaults above.
type Settings struct {
	// Ties is TiesHalf (when empty), TiesRaoKupper or TiesDavidson.
	Ties string
	// Prior is the weight w of a virtual tie of every model against a
	// reference player of log-strength 0: it adds w·[½ log σ(θi) + ½ log σ(−θi)]
	// to the log-likelihood, which keeps every θi finite. It is applied only
	// when the data have no finite maximum (a model without a win or without
	// a loss, or more generally a win graph that is not strongly connected),
	// or always with PriorAlways. With Prior 0 such data are an error
	// (*NoMLEError).
	Prior       float64
	PriorAlways bool
	// Tolerance (default DefaultTolerance) is the convergence criterion:
	// max |Δθi| (and |Δ log tie parameter|) of an iteration.
	Tolerance float64
	// MaxIterations (default DefaultMaxIterations) bounds the iterations;
	// a fit that reaches it returns with Converged false.
	MaxIterations int
	// Init warm-starts the fit from these log-strengths (indexed like the
	// counts' Models); InitTie from this tie parameter (κ or ν). Zero values
	// start from θ = 0 and a tie parameter matching the overall tie rate.
	Init    []float64
	InitTie float64
	// NewtonSystem is how FitNewton solves each Newton system: NewtonAuto
	// (when empty), NewtonDense or NewtonCG. FitMM ignores it.
	NewtonSystem string
	// Progress, if set, is called after every iteration; a non-nil error
	// stops the fit and is returned.
	Progress func(Iteration) error
	// Context, if set, is checked after every iteration; when it is done the
	// fit stops with its error.
	Context context.Context
	// ThetaOnly leaves Fit.LogLikelihood and Fit.GradNorm NaN instead of
	// spending two passes over the pairs on them: the bootstrap's
	// replicates need only θ (and the tie parameter).
	ThetaOnly bool
}

// How FitNewton solves its Newton systems (Settings.NewtonSystem).
const (
	// NewtonAuto is NewtonDense up to SparseNewtonModels models and
	// NewtonCG above.
	NewtonAuto = "auto"
	// NewtonDense factorises the dense (k+1)² Hessian by Cholesky: O(k³)
	// time and O(k²) memory per iteration.
	NewtonDense = "dense"
	// NewtonCG solves by Jacobi-preconditioned conjugate gradients on the
	// sparse Hessian, a weighted graph Laplacian over the pairs that met:
	// O(pairs) time per product and O(pairs + k) memory.
	NewtonCG = "cg"
)

// SparseNewtonModels is the model count above which NewtonAuto switches
// from the dense factorisation to conjugate gradients. At or below it fits
// are bit-identical to those of the dense solver.
const SparseNewtonModels = 200

// cgTolerance is the relative residual ‖As − g‖ ≤ η·‖g‖ at which
// conjugate gradients stop near the maximum: an inexact Newton step whose
// error shrinks the next step by about η, so Newton still converges to the
// same maximum within Settings.Tolerance. Far from it a loose residual
// does (cgForcing).
const cgTolerance = 1e-10

// cgForcing is η for a Newton step after one of size prev (max |Δθi|,
// +Inf before the first): prev²/100, within [cgTolerance, 1e-2]. A Newton
// step of size s leaves an error of about C·s² (C ≈ 0.3 on arenas) plus
// η·s from the inexact solve, so η ≤ s_prev²/100 keeps the inexact part
// below the quadratic part (s ≈ C·s_prev²) while the first, large steps
// take a few conjugate-gradient iterations instead of a dozen.
func cgForcing(prev float64) float64 {
	return math.Max(cgTolerance, math.Min(1e-2, prev*prev/100))
}

// Iteration is the state after one iteration of a fit.
type Iteration struct {
	N             int     // 1-based
	LogLikelihood float64 // objective: data log-likelihood plus the prior term
	MaxStep       float64 // max |Δθi| (and |Δ log tie parameter|)
}

// Fit is a fitted model.
type Fit struct {
	Models []string  // as in the counts
	Theta  []float64 // log-strengths θ, shifted to mean 0
	// TieParam is κ (Rao–Kupper, ≥ 1) or ν (Davidson, ≥ 0); 0 for TiesHalf.
	TieParam float64
	Ties     string
	// LogLikelihood is the data log-likelihood at the fit (prior excluded);
	// for TiesHalf it is Σ (wins + ties/2) log σ(θi − θj) over the battles.
	LogLikelihood float64
	Iterations    int
	Converged     bool
	// MaxStep is the last iteration's max |Δθi| (and |Δ log tie parameter|):
	// the convergence criterion, compared with Settings.Tolerance.
	MaxStep float64
	// GradNorm is max |∂ objective/∂θi| (and ∂/∂ log tie parameter) at the
	// fit: near 0 at an optimum, in units of battles.
	GradNorm float64
	// Prior is the prior weight that was applied (0 when none was needed).
	Prior float64
}

// NoMLEError reports data whose likelihood has no finite maximum.
type NoMLEError struct {
	NoWins, NoLosses []string // models without a win (or tie) / without a loss (or tie)
	Disconnected     bool     // every model won and lost, but some group never lost to the rest
}

func (e *NoMLEError) Error() string {
	return "bt: no finite maximum-likelihood ratings: " + e.reason() + "; set a prior > 0"
}

func (e *NoMLEError) reason() string {
	var parts []string
	if len(e.NoWins) > 0 {
		parts = append(parts, "no wins or ties: "+strings.Join(e.NoWins, ", "))
	}
	if len(e.NoLosses) > 0 {
		parts = append(parts, "no losses or ties: "+strings.Join(e.NoLosses, ", "))
	}
	if len(parts) == 0 {
		return "the models split into groups one of which never lost to another"
	}
	return strings.Join(parts, "; ")
}

// Reason is the one-line explanation, without the advice.
func (e *NoMLEError) Reason() string { return e.reason() }

// CheckMLE reports whether the Bradley–Terry likelihood of c (with any of
// the tie conventions: a tie links both ways) has a finite maximum, unique
// up to a common shift of θ. That holds iff the directed graph with an edge
// i → j whenever i beat or tied j is strongly connected (Zermelo 1929;
// Hunter 2004, Assumption 1). It returns nil or a *NoMLEError.
func CheckMLE(c *datasets.ArenaCounts) error {
	p, err := pairsOf(c)
	if err != nil {
		return err
	}
	return p.checkMLE(c.Models)
}

// checkMLE is CheckMLE on the problem's weights.
func (p *problem) checkMLE(models []string) error {
	if p.k <= 1 || p.twoWayConnected() {
		return nil
	}
	edges := make([][2]int, 0, 2*len(p.a))
	for i := range p.a {
		if p.wa[i]+p.t[i] > 0 {
			edges = append(edges, [2]int{int(p.a[i]), int(p.b[i])})
		}
		if p.wb[i]+p.t[i] > 0 {
			edges = append(edges, [2]int{int(p.b[i]), int(p.a[i])})
		}
	}
	return newBeatGraph(p.k, edges).check(models)
}

// twoWayConnected reports whether the pairs whose edges go both ways (each
// beat or tied the other) connect all models: then any model reaches any
// other along them, so the graph is strongly connected. It is checkMLE's
// fast path for large arenas (a union–find over the pairs, no adjacency
// lists); false means "look closer", not "no maximum".
func (p *problem) twoWayConnected() bool {
	parent := make([]int, p.k)
	for i := range parent {
		parent[i] = i
	}
	root := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	groups := p.k
	for i := range p.a {
		if p.wa[i]+p.t[i] == 0 || p.wb[i]+p.t[i] == 0 {
			continue
		}
		if a, b := root(int(p.a[i])), root(int(p.b[i])); a != b {
			parent[a] = b
			groups--
		}
	}
	return groups == 1
}

// beatGraph is the directed graph of a comparison data set with an edge
// i → j whenever i beat, tied or was ranked above j. The likelihood of
// Bradley–Terry, or of Plackett–Luce, has a finite maximum iff the graph is
// strongly connected.
type beatGraph struct {
	out, in   adjacency
	won, lost []bool // an edge leaves, enters the vertex
}

// adjacency lists, compressed: the neighbours of v are to[start[v]:start[v+1]].
type adjacency struct {
	start, to []int
}

func newAdjacency(k int, edges [][2]int, from int) adjacency {
	a := adjacency{start: make([]int, k+1), to: make([]int, len(edges))}
	for _, e := range edges {
		a.start[e[from]+1]++
	}
	for v := 0; v < k; v++ {
		a.start[v+1] += a.start[v]
	}
	fill := append([]int(nil), a.start[:k]...)
	for _, e := range edges {
		v := e[from]
		a.to[fill[v]] = e[1-from]
		fill[v]++
	}
	return a
}

// newBeatGraph returns the graph of k vertices with the edges i → j.
func newBeatGraph(k int, edges [][2]int) *beatGraph {
	g := &beatGraph{out: newAdjacency(k, edges, 0), in: newAdjacency(k, edges, 1), won: make([]bool, k), lost: make([]bool, k)}
	for _, e := range edges {
		g.won[e[0]], g.lost[e[1]] = true, true
	}
	return g
}

// check returns nil when the graph is strongly connected, else a
// *NoMLEError naming (by names, one per vertex) the vertices that never
// won or never lost.
func (g *beatGraph) check(names []string) error {
	e := &NoMLEError{}
	for i, m := range names {
		if !g.won[i] {
			e.NoWins = append(e.NoWins, m)
		}
		if !g.lost[i] {
			e.NoLosses = append(e.NoLosses, m)
		}
	}
	if len(e.NoWins)+len(e.NoLosses) > 0 {
		return e
	}
	if reachesAll(g.out) && reachesAll(g.in) {
		return nil
	}
	e.Disconnected = true
	return e
}

func reachesAll(adj adjacency) bool {
	k := len(adj.start) - 1
	seen := make([]bool, k)
	stack := []int{0}
	seen[0] = true
	n := 1
	for len(stack) > 0 {
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, w := range adj.to[adj.start[v]:adj.start[v+1]] {
			if !seen[w] {
				seen[w] = true
				n++
				stack = append(stack, w)
			}
		}
	}
	return n == k
}

// mmUpdate ends an iteration of the MM algorithms (Hunter 2004) for
// Bradley–Terry and Plackett–Luce, whose update is γ_i ← num_i / den_i: it
// sets next to the update of gamma, with the prior's term in the
// denominator, and returns the largest |log(next_i/γ_i)|, the step.
func mmUpdate(next, gamma, num, den []float64, prior float64) (step float64) {
	for i := range next {
		d := den[i]
		if prior > 0 {
			d += prior / (gamma[i] + 1)
		}
		next[i] = num[i] / d
	}
	if prior == 0 {
		// Geometric mean 1: the likelihood is scale-free in γ.
		logMean := 0.0
		for _, g := range next {
			logMean += math.Log(g)
		}
		scale := math.Exp(-logMean / float64(len(next)))
		for i := range next {
			next[i] *= scale
		}
	}
	for i := range next {
		step = math.Max(step, math.Abs(math.Log(next[i]/gamma[i])))
	}
	return step
}

// problem is the count data in the form the solvers iterate over.
type problem struct {
	k         int
	a, b      []int32
	wa, wb, t []float64 // wins of a, wins of b, ties (incl. bothbad)
	ties      string    // effective convention (TiesHalf when the data have no ties)
	fitTie    bool
	prior     float64
	totalTies float64
}

func newProblem(c *datasets.ArenaCounts, s *Settings) (*problem, *Settings, error) {
	var set Settings
	if s != nil {
		set = *s
	}
	if set.Ties == "" {
		set.Ties = TiesHalf
	}
	if set.Tolerance == 0 {
		set.Tolerance = DefaultTolerance
	}
	if set.MaxIterations == 0 {
		set.MaxIterations = DefaultMaxIterations
	}
	switch set.Ties {
	case TiesHalf, TiesRaoKupper, TiesDavidson:
	default:
		return nil, nil, fmt.Errorf("bt: ties: want one of %s, got %q", strings.Join(TieModels, ", "), set.Ties)
	}
	switch set.NewtonSystem {
	case "", NewtonAuto, NewtonDense, NewtonCG:
	default:
		return nil, nil, fmt.Errorf("bt: newton_system: want one of %s, %s, %s, got %q", NewtonAuto, NewtonDense, NewtonCG, set.NewtonSystem)
	}
	if !(set.Prior >= 0) || math.IsInf(set.Prior, 0) {
		return nil, nil, fmt.Errorf("bt: prior: want a finite weight ≥ 0, got %v", set.Prior)
	}
	if !(set.Tolerance > 0) {
		return nil, nil, fmt.Errorf("bt: tolerance: want > 0, got %v", set.Tolerance)
	}
	k := len(c.Models)
	if k < 2 {
		return nil, nil, fmt.Errorf("bt: want at least 2 models, got %d", k)
	}
	if set.Init != nil && len(set.Init) != k {
		return nil, nil, fmt.Errorf("bt: init: want %d log-strengths, got %d", k, len(set.Init))
	}
	p, err := pairsOf(c)
	if err != nil {
		return nil, nil, err
	}
	if err := p.setup(&set, c.Models); err != nil {
		return nil, nil, err
	}
	return p, &set, nil
}

// pairsOf returns the problem of c's pairs, before setup: every pair, in
// c's order, with its summed weights. Weighted battles enter with their
// summed weights (the counts when unweighted): a battle of weight w is w
// battles in the likelihood.
func pairsOf(c *datasets.ArenaCounts) (*problem, error) {
	k, n := len(c.Models), len(c.Pairs)
	p := &problem{k: k, a: make([]int32, n), b: make([]int32, n), wa: make([]float64, n), wb: make([]float64, n), t: make([]float64, n)}
	var weights []datasets.PairWeights
	if c.Weighted() {
		weights = c.Weights()
	}
	for i, pc := range c.Pairs {
		if pc.A < 0 || pc.A >= k || pc.B < 0 || pc.B >= k || pc.A == pc.B {
			return nil, fmt.Errorf("bt: pair (%d, %d) out of range for %d models", pc.A, pc.B, k)
		}
		p.a[i], p.b[i] = int32(pc.A), int32(pc.B)
		if weights != nil {
			pw := weights[i]
			p.wa[i], p.wb[i], p.t[i] = pw.WinsA, pw.WinsB, pw.Ties+pw.BothBad
		} else {
			p.wa[i], p.wb[i], p.t[i] = float64(pc.WinsA), float64(pc.WinsB), float64(pc.Ties+pc.BothBad)
		}
	}
	return p, nil
}

// setup chooses, from the problem's weights and set, the prior (when the
// data have no finite maximum, see CheckMLE, or always with PriorAlways)
// and the tie model (plain Bradley–Terry when a tie model meets data
// without ties).
func (p *problem) setup(set *Settings, models []string) error {
	p.ties, p.fitTie, p.prior, p.totalTies = set.Ties, false, 0, 0
	var decisive float64
	for i := range p.t {
		p.totalTies += p.t[i]
		decisive += p.wa[i] + p.wb[i]
	}
	if set.PriorAlways {
		p.prior = set.Prior
	} else if err := p.checkMLE(models); err != nil {
		if set.Prior == 0 {
			return err
		}
		p.prior = set.Prior
	}
	if p.ties != TiesHalf {
		if decisive == 0 {
			return fmt.Errorf("bt: ties %s: want at least one decisive battle, got only ties", p.ties)
		}
		// Without ties the tie parameter sits on its boundary (κ = 1, ν = 0),
		// where both models are plain Bradley–Terry.
		p.fitTie = p.totalTies > 0
		if !p.fitTie {
			p.ties = TiesHalf
		}
	}
	return nil
}

// initTie returns the starting tie parameter on the log scale: log κ or log ν.
func (p *problem) initTie(s *Settings) float64 {
	if s.InitTie > 0 && (p.ties != TiesRaoKupper || s.InitTie > 1) {
		return math.Log(s.InitTie)
	}
	var n float64
	for i := range p.a {
		n += p.wa[i] + p.wb[i] + p.t[i]
	}
	f := p.totalTies / n
	if p.ties == TiesRaoKupper {
		return math.Log((1 + f) / (1 - f)) // tie rate of two equal players
	}
	return math.Log(2 * f / (1 - f))
}

// tieParam maps the log-scale tie parameter back (κ or ν).
func (p *problem) tieParam(tau float64, requested string) float64 {
	switch {
	case p.fitTie:
		return math.Exp(tau)
	case requested == TiesRaoKupper:
		return 1
	}
	return 0
}

// logSigmoid is log σ(x) = −softplus(−x), accurate for large |x|.
func logSigmoid(x float64) float64 { return -pairloss.SoftplusNegFloat64(x) }

// pairTerms are one pair's log-likelihood and its derivatives with respect
// to d = θa − θb and τ (log κ or log ν).
type pairTerms struct {
	ll, gd, gt, hdd, hdt, htt float64
}

func (p *problem) pair(i int, d, tau float64, derivs bool) pairTerms {
	wa, wb, t := p.wa[i], p.wb[i], p.t[i]
	var r pairTerms
	switch p.ties {
	case TiesHalf:
		// One exp and one log1p: with e = e^{−|d|}, log σ(d) = min(d, 0) −
		// log(1 + e) and log σ(−d) = log σ(d) − d.
		n := wa + wb + t
		w := wa + t/2
		e := math.Exp(-math.Abs(d))
		ls := math.Min(d, 0) - math.Log1p(e)
		r.ll = n*ls - (n-w)*d
		if derivs {
			s := 1 / (1 + e)
			if d < 0 {
				s = e / (1 + e)
			}
			r.gd = w - n*s
			r.hdd = -n * s * (1 - s)
		}
	case TiesRaoKupper:
		// P(a) = σ(u), P(b) = σ(v), P(tie) = σ(−u)σ(−v)(1 − e^{−2τ}),
		// u = d − τ, v = −d − τ.
		u, v := d-tau, -d-tau
		r.ll = wa*logSigmoid(u) + wb*logSigmoid(v)
		if t > 0 {
			r.ll += t * (logSigmoid(-u) + logSigmoid(-v) + math.Log(-math.Expm1(-2*tau)))
		}
		if derivs {
			su, sv := pairloss.Sigmoid(u), pairloss.Sigmoid(v)
			du := wa*(1-su) - t*su
			dv := wb*(1-sv) - t*sv
			huu := -(wa + t) * su * (1 - su)
			hvv := -(wb + t) * sv * (1 - sv)
			c1 := 2 / math.Expm1(2*tau)
			r.gd = du - dv
			r.gt = -du - dv + t*c1
			r.hdd = huu + hvv
			r.hdt = -huu + hvv
			r.htt = huu + hvv - t*c1*(c1+2)
		}
	case TiesDavidson:
		// P(a), P(b), P(tie) ∝ e^{d/2}, e^{−d/2}, e^τ.
		x1, x2, x3 := d/2, -d/2, tau
		m := math.Max(x1, math.Max(x2, x3))
		e1, e2, e3 := math.Exp(x1-m), math.Exp(x2-m), math.Exp(x3-m)
		z := e1 + e2 + e3
		logZ := m + math.Log(z)
		n := wa + wb + t
		r.ll = wa*x1 + wb*x2 - n*logZ
		if t > 0 {
			r.ll += t * x3
		}
		if derivs {
			pa, pb, pt := e1/z, e2/z, e3/z
			r.gd = (wa-wb)/2 - n*(pa-pb)/2
			r.gt = t - n*pt
			r.hdd = -n * ((pa+pb)/4 - (pa-pb)*(pa-pb)/4)
			r.hdt = n * pt * (pa - pb) / 2
			r.htt = -n * pt * (1 - pt)
		}
	}
	return r
}

// halfDerivs is pair's gd and hdd for TiesHalf without the log-likelihood:
// one exp and no log1p, the same arithmetic as pair, so bit-identical values.
func (p *problem) halfDerivs(i int, d float64) (gd, hdd float64) {
	n := p.wa[i] + p.wb[i] + p.t[i]
	w := p.wa[i] + p.t[i]/2
	e := math.Exp(-math.Abs(d))
	s := 1 / (1 + e)
	if d < 0 {
		s = e / (1 + e)
	}
	return w - n*s, -n * s * (1 - s)
}

// gradientOnly fills g as gradient does, skipping the log-likelihood where
// the tie model allows (TiesHalf), which is most of the cost of a pass.
func (p *problem) gradientOnly(theta []float64, tau float64, g []float64) {
	if p.ties != TiesHalf || p.fitTie {
		p.gradient(theta, tau, g, nil)
		return
	}
	for i := range g {
		g[i] = 0
	}
	for i := range p.a {
		a, b := p.a[i], p.b[i]
		gd, _ := p.halfDerivs(i, theta[a]-theta[b])
		g[a] += gd
		g[b] -= gd
	}
	if p.prior > 0 {
		for i, th := range theta {
			g[i] += p.prior * (0.5 - pairloss.Sigmoid(th))
		}
	}
}

// objective is the data log-likelihood plus the prior term.
func (p *problem) objective(theta []float64, tau float64) (obj, data float64) {
	for i := range p.a {
		data += p.pair(i, theta[p.a[i]]-theta[p.b[i]], tau, false).ll
	}
	obj = data
	if p.prior > 0 {
		for _, th := range theta {
			obj += p.prior * (logSigmoid(th) + logSigmoid(-th)) / 2
		}
	}
	return obj, data
}

// gradient fills g (length k, or k+1 with the tie parameter last) and, when h
// is not nil, the Hessian of the objective; it returns the objective.
func (p *problem) gradient(theta []float64, tau float64, g []float64, h *mat.SymDense) (obj float64) {
	for i := range g {
		g[i] = 0
	}
	if h != nil {
		h.Zero()
	}
	k := p.k
	for i := range p.a {
		a, b := int(p.a[i]), int(p.b[i])
		r := p.pair(i, theta[a]-theta[b], tau, true)
		obj += r.ll
		g[a] += r.gd
		g[b] -= r.gd
		if p.fitTie {
			g[k] += r.gt
		}
		if h != nil {
			h.SetSym(a, a, h.At(a, a)+r.hdd)
			h.SetSym(b, b, h.At(b, b)+r.hdd)
			h.SetSym(a, b, h.At(a, b)-r.hdd)
			if p.fitTie {
				h.SetSym(a, k, h.At(a, k)+r.hdt)
				h.SetSym(b, k, h.At(b, k)-r.hdt)
				h.SetSym(k, k, h.At(k, k)+r.htt)
			}
		}
	}
	if p.prior > 0 {
		for i, th := range theta {
			s := pairloss.Sigmoid(th)
			obj += p.prior * (logSigmoid(th) + logSigmoid(-th)) / 2
			g[i] += p.prior * (0.5 - s)
			if h != nil {
				h.SetSym(i, i, h.At(i, i)-p.prior*s*(1-s))
			}
		}
	}
	return obj
}

func maxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, math.Abs(x))
	}
	return m
}

func center(theta []float64) {
	mean := 0.0
	for _, th := range theta {
		mean += th
	}
	mean /= float64(len(theta))
	for i := range theta {
		theta[i] -= mean
	}
}

// finish fills the result common to both solvers.
func (p *problem) finish(c *datasets.ArenaCounts, s *Settings, theta []float64, tau float64, iters int, step float64) *Fit {
	n := p.k
	if p.fitTie {
		n++
	}
	data, gradNorm := math.NaN(), math.NaN()
	if !s.ThetaOnly {
		g := make([]float64, n)
		p.gradientOnly(theta, tau, g)
		gradNorm = maxAbs(g)
		_, data = p.objective(theta, tau)
	}
	out := &Fit{
		Models:        c.Models,
		Theta:         append([]float64(nil), theta...),
		TieParam:      p.tieParam(tau, s.Ties),
		Ties:          s.Ties,
		LogLikelihood: data,
		Iterations:    iters,
		Converged:     step < s.Tolerance,
		MaxStep:       step,
		GradNorm:      gradNorm,
		Prior:         p.prior,
	}
	center(out.Theta)
	return out
}

func (p *problem) start(s *Settings) (theta []float64, tau float64) {
	theta = make([]float64, p.k)
	if s.Init != nil {
		copy(theta, s.Init)
	}
	if p.prior == 0 {
		center(theta)
	}
	if p.fitTie {
		tau = p.initTie(s)
	}
	return theta, tau
}

// FitMM fits by Hunter's (2004) minorization–maximization iterations, which
// raise the objective at every step. For TiesHalf:
//
//	γi ← Wi / Σj nij / (γi + γj),  Wi = wins + ties/2,  γ = e^θ,
//
// renormalized to geometric mean 1. For Rao–Kupper, Hunter's updates (γ
// with κ fixed, then κ in closed form); for Davidson the analogous updates
// from bounding √(γiγj) by the AM–GM inequality. See the package doc.
func FitMM(c *datasets.ArenaCounts, s *Settings) (*Fit, error) {
	p, set, err := newProblem(c, s)
	if err != nil {
		return nil, err
	}
	return p.mm(c, set)
}

// mm is FitMM on a problem that is set up.
func (p *problem) mm(c *datasets.ArenaCounts, set *Settings) (*Fit, error) {
	theta, tau := p.start(set)
	k := p.k
	gamma := make([]float64, k)
	for i, th := range theta {
		gamma[i] = math.Exp(th)
	}
	// Numerators do not change across iterations.
	num := make([]float64, k)
	for i := range p.a {
		a, b := p.a[i], p.b[i]
		switch p.ties {
		case TiesRaoKupper:
			num[a] += p.wa[i] + p.t[i]
			num[b] += p.wb[i] + p.t[i]
		default:
			num[a] += p.wa[i] + p.t[i]/2
			num[b] += p.wb[i] + p.t[i]/2
		}
	}
	for i := range num {
		num[i] += p.prior / 2
	}
	den := make([]float64, k)
	next := make([]float64, k)
	step := math.Inf(1)
	it := 0
	for it < set.MaxIterations && !(step < set.Tolerance) {
		it++
		for i := range den {
			den[i] = 0
		}
		tie := math.Exp(tau)
		for i := range p.a {
			a, b := p.a[i], p.b[i]
			ga, gb := gamma[a], gamma[b]
			switch p.ties {
			case TiesHalf:
				q := (p.wa[i] + p.wb[i] + p.t[i]) / (ga + gb)
				den[a] += q
				den[b] += q
			case TiesRaoKupper:
				nab := (p.wa[i] + p.t[i]) / (ga + tie*gb) // a's virtual wins over b
				nba := (p.wb[i] + p.t[i]) / (gb + tie*ga)
				den[a] += nab + tie*nba
				den[b] += nba + tie*nab
			case TiesDavidson:
				q := (p.wa[i] + p.wb[i] + p.t[i]) / (ga + gb + tie*math.Sqrt(ga*gb))
				r := math.Sqrt(gb / ga)
				den[a] += q * (1 + tie/2*r)
				den[b] += q * (1 + tie/2/r)
			}
		}
		step = mmUpdate(next, gamma, num, den, p.prior)
		gamma, next = next, gamma
		if p.fitTie {
			newTau := p.mmTie(gamma, tau)
			step = math.Max(step, math.Abs(newTau-tau))
			tau = newTau
		}
		if err := set.endIteration(it, step, func() float64 {
			for i, g := range gamma {
				theta[i] = math.Log(g)
			}
			obj, _ := p.objective(theta, tau)
			return obj
		}); err != nil {
			return nil, err
		}
	}
	for i, g := range gamma {
		theta[i] = math.Log(g)
	}
	return p.finish(c, set, theta, tau, it, step), nil
}

// mmTie is the closed-form MM update of the tie parameter with γ fixed.
func (p *problem) mmTie(gamma []float64, tau float64) float64 {
	tie := math.Exp(tau)
	var cSum float64
	for i := range p.a {
		ga, gb := gamma[p.a[i]], gamma[p.b[i]]
		switch p.ties {
		case TiesRaoKupper:
			cSum += (p.wa[i]+p.t[i])*gb/(ga+tie*gb) + (p.wb[i]+p.t[i])*ga/(gb+tie*ga)
		case TiesDavidson:
			s := math.Sqrt(ga * gb)
			cSum += (p.wa[i] + p.wb[i] + p.t[i]) * s / (ga + gb + tie*s)
		}
	}
	r := p.totalTies / cSum
	if p.ties == TiesRaoKupper {
		// Maximizer of T log(κ² − 1) − κC: κ = T/C + √(1 + (T/C)²).
		return math.Log(r + math.Sqrt(1+r*r))
	}
	return math.Log(r) // maximizer of T log ν − νC
}

// FitNewton fits by Newton's method on the log-likelihood, jointly in θ and
// the log of the tie parameter, with a backtracking line search. The
// likelihood does not change when every θi moves together; without a prior
// that direction is fixed by solving (−H + c·1·1ᵀ) s = ∇ (H the Hessian),
// whose solution has Σ si = 0, and θ is kept at mean 0. Settings.NewtonSystem
// chooses how that system is solved: by a dense Cholesky factorisation, or
// (above SparseNewtonModels models by default) by preconditioned conjugate
// gradients on the sparse Hessian.
func FitNewton(c *datasets.ArenaCounts, s *Settings) (*Fit, error) {
	p, set, err := newProblem(c, s)
	if err != nil {
		return nil, err
	}
	return p.newton(c, set)
}

// newton is FitNewton on a problem that is set up.
func (p *problem) newton(c *datasets.ArenaCounts, set *Settings) (*Fit, error) {
	theta, tau := p.start(set)
	if set.NewtonSystem == NewtonCG || ((set.NewtonSystem == "" || set.NewtonSystem == NewtonAuto) && p.k > SparseNewtonModels) {
		return p.newtonCG(c, set, theta, tau)
	}
	k := p.k
	n := k
	if p.fitTie {
		n++
	}
	// Objective, gradient and Hessian come from one pass over the pairs, at
	// the current point and at each line-search trial; an accepted trial's
	// are the next iteration's.
	g, gTrial := make([]float64, n), make([]float64, n)
	h, hTrial := mat.NewSymDense(n, nil), mat.NewSymDense(n, nil)
	a := mat.NewSymDense(n, nil)
	var chol mat.Cholesky
	stepVec := mat.NewVecDense(n, nil)
	trial := make([]float64, k)
	obj := p.gradient(theta, tau, g, h)
	step := math.Inf(1)
	it := 0
	for it < set.MaxIterations && !(step < set.Tolerance) {
		it++
		// a = −H (+ gauge), positive definite at a strictly concave point.
		diag := 0.0
		for i := 0; i < n; i++ {
			for j := i; j < n; j++ {
				a.SetSym(i, j, -h.At(i, j))
			}
			diag += -h.At(i, i)
		}
		if p.prior == 0 {
			c := diag / float64(n) / float64(k)
			for i := 0; i < k; i++ {
				for j := i; j < k; j++ {
					a.SetSym(i, j, a.At(i, j)+c)
				}
			}
		}
		// Not numerically positive definite, or so ill-conditioned that the
		// solve loses every digit (a bootstrap replicate whose tie
		// parameter runs to its boundary): damp toward gradient ascent.
		ridge := 0.0
		for !chol.Factorize(a) || chol.SolveVecTo(stepVec, mat.NewVecDense(n, g)) != nil {
			last := ridge
			var err error
			if ridge, err = nextRidge(ridge, diag, n); err != nil {
				return nil, err
			}
			for i := 0; i < n; i++ {
				a.SetSym(i, i, a.At(i, i)+ridge-last)
			}
		}
		sv := stepVec.RawVector().Data
		slope := 0.0
		for i := range sv {
			slope += sv[i] * g[i]
		}
		alpha, newObj, newTau := p.backtrack(theta, trial, sv, tau, obj, slope, func(trial []float64, tau float64) float64 {
			return p.gradient(trial, tau, gTrial, hTrial)
		})
		if alpha < 1e-12 {
			// No ascent possible: at the optimum up to rounding.
			step = 0
			break
		}
		step = alpha * maxAbs(sv)
		copy(theta, trial)
		if p.prior == 0 {
			center(theta) // the objective and its derivatives are shift-invariant
		}
		tau, obj = newTau, newObj
		g, gTrial = gTrial, g
		h, hTrial = hTrial, h
		if err := set.endIteration(it, step, func() float64 { return obj }); err != nil {
			return nil, err
		}
	}
	return p.finish(c, set, theta, tau, it, step), nil
}

// nextRidge is the next damping of a Hessian that is not numerically
// negative definite (0, then 1e-8·(mean diagonal + 1), then ×10 each time),
// or an error once it passes 1e12·(diagonal sum + 1).
func nextRidge(ridge, diag float64, n int) (float64, error) {
	switch {
	case ridge > 1e12*(diag+1) || math.IsNaN(diag):
		return 0, fmt.Errorf("bt: newton: Hessian not negative definite (diagonal sum %v)", diag)
	case ridge == 0:
		return 1e-8 * (diag/float64(n) + 1), nil
	}
	return ridge * 10, nil
}

// backtrack is the Armijo line search of both Newton solvers on the
// concave objective: from (theta, tau) along the step sv (its last entry
// moves the tie parameter when it is fitted), it halves α from 1 until
// f(θ + α·sv) ≥ f(θ) + 1e-4·α·slope, leaving θ + α·sv in trial. eval
// returns f at (trial, tau), with the derivatives into the caller's
// buffers. The full step is taken when the predicted gain is below the
// objective's rounding (slope ≤ 1e-13·(|f| + 1)), which can no longer
// tell it from a worse one: without this rule the search stalls up to
// 3e-5 Elo short of the maximum on arenas of a few hundred models. α <
// 1e-12 means no ascent was found.
func (p *problem) backtrack(theta, trial, sv []float64, tau, obj, slope float64, eval func(trial []float64, tau float64) float64) (alpha, newObj, newTau float64) {
	alpha, newObj, newTau = 1, math.Inf(-1), tau
	for ; alpha >= 1e-12; alpha /= 2 {
		for i := range trial {
			trial[i] = theta[i] + alpha*sv[i]
		}
		newTau = tau
		if p.fitTie {
			newTau = tau + alpha*sv[p.k]
		}
		if p.ties == TiesRaoKupper && p.fitTie && newTau <= 0 {
			continue // κ must stay above 1
		}
		newObj = eval(trial, newTau)
		if newObj >= obj+1e-4*alpha*slope || (alpha == 1 && slope <= 1e-13*(math.Abs(obj)+1)) {
			break
		}
	}
	return alpha, newObj, newTau
}

// endIteration ends iteration it of a solver: the context's error if it is
// done, else the progress callback's (the log-likelihood, from obj, is only
// computed when there is a callback).
func (set Settings) endIteration(it int, step float64, obj func() float64) error {
	if set.Context != nil && set.Context.Err() != nil {
		return set.Context.Err()
	}
	if set.Progress != nil {
		return set.Progress(Iteration{N: it, LogLikelihood: obj(), MaxStep: step})
	}
	return nil
}

// Solver is FitMM or FitNewton.
type Solver func(c *datasets.ArenaCounts, s *Settings) (*Fit, error)

// solverMethod is the solver called name as a method of a problem that is
// set up (the bootstrap's replicates are such problems).
func solverMethod(name string) (func(p *problem, c *datasets.ArenaCounts, set *Settings) (*Fit, error), error) {
	switch name {
	case SolverNewton:
		return (*problem).newton, nil
	case SolverMM:
		return (*problem).mm, nil
	}
	return nil, fmt.Errorf("bt: solver: want one of %s, %s, got %q", SolverNewton, SolverMM, name)
}

// The solver names of the plugin's ParamSolver.
const (
	SolverNewton = "newton"
	SolverMM     = "mm"
)

// SolverByName returns the solver called name ("newton" or "mm").
func SolverByName(name string) (Solver, error) {
	method, err := solverMethod(name)
	if err != nil {
		return nil, err
	}
	return func(c *datasets.ArenaCounts, s *Settings) (*Fit, error) {
		p, set, err := newProblem(c, s)
		if err != nil {
			return nil, err
		}
		return method(p, c, set)
	}, nil
}
