package bt

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"sync"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/alignlab/alignlab/datasets"
)

// EloPerLogit converts log-strengths to Elo points: rating = EloPerLogit·θ +
// offset, so that P(i ≻ j) = σ(θi − θj) = 1 / (1 + 10^{−(ri − rj)/400}), the
// Chatbot Arena scale (FastChat: p = σ(ln 10 · (r_a − r_b)), Elo = 400 r + 1000).
const EloPerLogit = 400 / math.Ln10

// DefaultAnchorRating is the rating of the anchor, or the mean rating when
// there is no anchor model: the Chatbot Arena's INIT_RATING.
const DefaultAnchorRating = 1000.0

// Elo maps log-strengths to Elo ratings: the model at index anchor gets
// anchorRating; with anchor < 0 the mean rating is anchorRating.
func Elo(theta []float64, anchor int, anchorRating float64) []float64 {
	ref := 0.0
	if anchor >= 0 {
		ref = theta[anchor]
	} else {
		for _, th := range theta {
			ref += th
		}
		ref /= float64(len(theta))
	}
	r := make([]float64, len(theta))
	for i, th := range theta {
		r[i] = EloPerLogit*(th-ref) + anchorRating
	}
	return r
}

// Resample draws one multinomial bootstrap replicate of c: as many battles
// as c has, spread over its (pair, outcome) cells with probabilities
// proportional to their counts. This is resampling the battles with
// replacement, done on the counts (cost linear in the cells, not the
// battles). rng fully determines the result; see multinomial for the draw.
//
// Weighted battles (c.Cells not nil) are resampled the same way over the
// (pair, outcome, weight) cells: battles (rows) are drawn with replacement,
// c.Battles() of them, each keeping its weight, so a replicate's summed
// weight varies around c's. A battle of weight w is one draw, not w draws:
// the replicates of a weighted file are not those of the file with its rows
// repeated, whose intervals are narrower (the copies count as independent).
func Resample(c *datasets.ArenaCounts, rng *rand.Rand) *datasets.ArenaCounts {
	return newResampler(c).resample(rng)
}

// resampler holds what every replicate of one arena shares: its non-empty
// cells, in the order Resample visits them (pairs × outcomes, or c.Cells),
// each with its battle count, pair, outcome and weight.
type resampler struct {
	c       *datasets.ArenaCounts
	cells   []int64            // battles
	pair    []int32            // index into c.Pairs
	outcome []datasets.Outcome //
	weight  []float64          // nil when unweighted
	total   int64
}

func newResampler(c *datasets.ArenaCounts) *resampler {
	r := &resampler{c: c}
	add := func(pair int, o datasets.Outcome, n int64) {
		r.cells = append(r.cells, n)
		r.pair = append(r.pair, int32(pair))
		r.outcome = append(r.outcome, o)
		r.total += n
	}
	if c.Cells != nil {
		for _, cell := range c.Cells {
			if cell.Battles > 0 {
				add(cell.Pair, cell.Outcome, cell.Battles)
				r.weight = append(r.weight, cell.Weight)
			}
		}
		return r
	}
	r.cells = make([]int64, 0, 4*len(c.Pairs))
	for i, p := range c.Pairs {
		for _, o := range datasets.Outcomes {
			if n := p.Count(o); n > 0 {
				add(i, o, n)
			}
		}
	}
	return r
}

// draw sets *buf (grown as needed) to the battles drawn for each cell.
func (r *resampler) draw(rng *rand.Rand, buf *[]int64) []int64 {
	x := *buf
	if cap(x) < len(r.cells) {
		x = make([]int64, len(r.cells))
	}
	x = x[:len(r.cells)]
	*buf = x
	multinomial(r.cells, r.total, rng, x)
	return x
}

// resample draws a replicate as counts.
func (r *resampler) resample(rng *rand.Rand) *datasets.ArenaCounts {
	var x []int64
	r.draw(rng, &x)
	c := r.c
	out := &datasets.ArenaCounts{Models: c.Models, Pairs: make([]datasets.PairCounts, len(c.Pairs))}
	for i, p := range c.Pairs {
		out.Pairs[i] = datasets.PairCounts{A: p.A, B: p.B}
	}
	for k, n := range x {
		out.Pairs[r.pair[k]].Add(r.outcome[k], n)
	}
	if c.Cells != nil {
		out.Cells = slices.Clone(c.Cells)
		k := 0
		for i := range out.Cells {
			if out.Cells[i].Battles > 0 {
				out.Cells[i].Battles = x[k]
				k++
			}
		}
	}
	return out
}

// weigh sets the weights of p, a problem of c's pairs in c's order (see
// pairsOf), to the draws x: the weights of pairsOf on the replicate's
// counts, summed in the same order, so that a fit is the one of
// FitNewton or FitMM on Resample's counts bit for bit. bothBad is scratch
// of one entry per pair, used for weighted cells.
func (r *resampler) weigh(p *problem, x []int64, bothBad []float64) {
	clear(p.wa)
	clear(p.wb)
	clear(p.t)
	for k, n := range x {
		v := float64(n)
		if r.weight != nil {
			v *= r.weight[k]
		}
		i := r.pair[k]
		switch r.outcome[k] {
		case datasets.OutcomeWinA:
			p.wa[i] += v
		case datasets.OutcomeWinB:
			p.wb[i] += v
		case datasets.OutcomeTie:
			p.t[i] += v
		default:
			if r.weight == nil {
				p.t[i] += v // integers: exact in any order
			} else {
				bothBad[i] += v
			}
		}
	}
	if r.weight != nil {
		for i, v := range bothBad {
			p.t[i] += v
			bothBad[i] = 0
		}
	}
}

// multinomial sets x to one draw of Multinomial(total, counts/total)
// (total = Σ counts > 0): n draws with replacement from total items, cell k
// holding counts[k] of them. It draws every x[k] from an independent
// Poisson(counts[k]) — given their sum s, such counts are exactly
// Multinomial(s, counts/total) — and then, if s > total, removes s − total
// of the s drawn items chosen uniformly without replacement, or, if
// s < total, adds total − s items drawn from the cells with replacement
// (either leaves a multinomial draw of one size less or more, by
// exchangeability). The correction touches about √total items; a Poisson
// with an integer mean up to poissonInversion costs no exp or log.
func multinomial(counts []int64, total int64, rng *rand.Rand, x []int64) {
	var s int64
	for k, n := range counts {
		x[k] = poisson(n, rng)
		s += x[k]
	}
	switch {
	case s > total:
		// Distinct positions among the s drawn items, ascending, each
		// removed from the cell that holds it (end: where cell k's items
		// end, counted before any removal).
		k, end := -1, int64(0)
		for _, q := range distinctSorted(s, s-total, rng) {
			for end <= q {
				k++
				end += x[k]
			}
			x[k]--
		}
	case s < total:
		// Positions among the total items of counts, with replacement.
		pos := make([]int64, total-s)
		for i := range pos {
			pos[i] = rng.Int64N(total)
		}
		slices.Sort(pos)
		k, end := -1, int64(0)
		for _, q := range pos {
			for end <= q {
				k++
				end += counts[k]
			}
			x[k]++
		}
	}
}

// distinctSorted returns m distinct integers drawn uniformly from [0, n)
// (m ≤ n), ascending: Floyd's sampling without replacement.
func distinctSorted(n, m int64, rng *rand.Rand) []int64 {
	seen := make(map[int64]struct{}, m)
	out := make([]int64, 0, m)
	for j := n - m; j < n; j++ {
		t := rng.Int64N(j + 1)
		if _, dup := seen[t]; dup {
			t = j
		}
		seen[t] = struct{}{}
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// poissonInversion is the largest mean drawn by inversion (a walk up the
// CDF from e^{−λ}, expected λ + 1 steps, e^{−λ} from a table); larger means
// use gonum's rejection sampler.
const poissonInversion = 40

// expNeg[n] = e^{−n}; inverse[n] = 1/n (inverse[0] unused).
var expNeg, inverse = func() (e, inv [poissonInversion + 1]float64) {
	for n := range e {
		e[n] = math.Exp(-float64(n))
		inv[n] = 1 / float64(n)
	}
	return e, inv
}()

// poisson draws from Poisson(lambda) for an integer mean lambda ≥ 0.
func poisson(lambda int64, rng *rand.Rand) int64 {
	if lambda <= 0 {
		return 0
	}
	if lambda > poissonInversion {
		return int64(distuv.Poisson{Lambda: float64(lambda), Src: rng}.Rand())
	}
	l := float64(lambda)
	f := expNeg[lambda]
	u := rng.Float64()
	var x int64
	for u > f && f > 0 {
		u -= f
		x++
		if x <= poissonInversion {
			f *= l * inverse[x]
		} else {
			f *= l / float64(x)
		}
	}
	return x
}

// Quantile is the q-quantile of sorted by linear interpolation between order
// statistics (numpy's default, as pandas' quantile used by FastChat).
func Quantile(sorted []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	h := q * float64(n-1)
	lo := math.Floor(h)
	i := int(lo)
	if i+1 >= n {
		return sorted[n-1]
	}
	return sorted[i] + (h-lo)*(sorted[i+1]-sorted[i])
}

// Interval summarizes bootstrap ratings of one model.
type Interval struct {
	Median, Low, High float64 // 50 %, 2.5 % and 97.5 % quantiles
}

// Intervals returns, per model, the median and 95 % percentile interval of
// ratings (one row per bootstrap round).
func Intervals(ratings [][]float64) []Interval {
	if len(ratings) == 0 {
		return nil
	}
	k := len(ratings[0])
	out := make([]Interval, k)
	col := make([]float64, len(ratings))
	for m := 0; m < k; m++ {
		for r := range ratings {
			col[r] = ratings[r][m]
		}
		sort.Float64s(col)
		out[m] = Interval{Median: Quantile(col, 0.5), Low: Quantile(col, 0.025), High: Quantile(col, 0.975)}
	}
	return out
}

// BootstrapTolerance is the convergence criterion (Settings.Tolerance, in
// log-strength) of the bootstrap fits when the settings ask for a tighter
// one: 1e-6 is 1.7e-4 Elo, and after a Newton step that small the error left
// is of the order of its square. Intervals are quantiles of ratings whose
// sampling spread is several Elo, so fitting replicates to 1e-10 (the point
// estimate's default) only buys a confirming iteration per replicate.
const BootstrapTolerance = 1e-6

// replicateStream is the PCG stream of the bootstrap replicates' generators.
const replicateStream = 0xb007

// Bootstrap fits rounds multinomial replicates of c (see Resample) with
// the solver called solver (SolverNewton or SolverMM) and settings s, each
// warm-started from full (the fit on all the data) and run to at least
// BootstrapTolerance, without their log-likelihood and gradient norm
// (Settings.ThetaOnly). A replicate's fit is the one of the solver on
// Resample's counts, bit for bit, but its pairs are c's, laid out once,
// and only their weights are drawn anew. The seed of each replicate is
// drawn from rng in round order on the calling goroutine; replicates are
// drawn and fitted by workers goroutines (0 means GOMAXPROCS), so the fits
// depend only on rng, not on scheduling. done is called on the calling
// goroutine in round order (1-based); a non-nil error from it or from a
// fit, or ctx being done, stops the bootstrap and is returned.
func Bootstrap(ctx context.Context, c *datasets.ArenaCounts, full *Fit, rounds int, rng *rand.Rand,
	solver string, s Settings, workers int, done func(round int, f *Fit) error) error {
	if rounds <= 0 {
		return nil
	}
	method, err := solverMethod(solver)
	if err != nil {
		return err
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	s.Init = full.Theta
	s.InitTie = full.TieParam
	if s.Tolerance < BootstrapTolerance {
		s.Tolerance = BootstrapTolerance
	}
	s.Progress = nil
	s.ThetaOnly = true
	base, set, err := newProblem(c, &s) // validates s once; its pairs are every replicate's
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	type result struct {
		fit *Fit
		err error
	}
	type job struct {
		seed uint64 // of the replicate: drawn in order, resampled in parallel
		out  chan result
	}
	window := 2 * workers // replicates drawn ahead of the one awaited
	jobs := make(chan job, window)
	var wg sync.WaitGroup
	r := newResampler(c)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			set := *set
			set.Context = ctx
			n := len(base.a)
			rep := &problem{k: base.k, a: base.a, b: base.b, wa: make([]float64, n), wb: make([]float64, n), t: make([]float64, n)}
			var bothBad []float64
			if r.weight != nil {
				bothBad = make([]float64, n)
			}
			var buf []int64
			for j := range jobs {
				r.weigh(rep, r.draw(rand.New(rand.NewPCG(j.seed, replicateStream)), &buf), bothBad)
				var f *Fit
				err := rep.setup(&set, c.Models)
				if err == nil {
					f, err = method(rep, c, &set)
				}
				j.out <- result{f, err}
			}
		}()
	}
	defer func() {
		cancel()
		close(jobs)
		wg.Wait()
	}()
	var pending []chan result
	next := 0
	for round := 1; round <= rounds; round++ {
		for next < rounds && len(pending) < window {
			if err := ctx.Err(); err != nil {
				return err
			}
			ch := make(chan result, 1)
			jobs <- job{rng.Uint64(), ch}
			pending = append(pending, ch)
			next++
		}
		res := <-pending[0]
		pending = pending[1:]
		if res.err != nil {
			return res.err
		}
		if err := done(round, res.fit); err != nil {
			return err
		}
	}
	return nil
}
