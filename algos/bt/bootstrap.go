package bt

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
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
// replacement, done on the counts (cost independent of the battle count).
// Draws are sequential conditional binomials, so rng fully determines the result.
//
// Weighted battles (c.Cells not nil) are resampled the same way over the
// (pair, outcome, weight) cells: battles (rows) are drawn with replacement,
// c.Battles() of them, each keeping its weight, so a replicate's summed
// weight varies around c's. A battle of weight w is one draw, not w draws:
// the replicates of a weighted file are not those of the file with its rows
// repeated, whose intervals are narrower (the copies count as independent).
func Resample(c *datasets.ArenaCounts, rng *rand.Rand) *datasets.ArenaCounts {
	out := &datasets.ArenaCounts{Models: c.Models, Pairs: make([]datasets.PairCounts, len(c.Pairs))}
	left := c.Battles() // battles still to place
	mass := left        // battles of the original in the cells still to visit
	draw := func(count int64) int64 {
		if count == 0 || left == 0 {
			return 0
		}
		var x int64
		if count >= mass {
			x = left
		} else {
			x = binomial(left, float64(count)/float64(mass), rng)
		}
		left -= x
		mass -= count
		return x
	}
	if c.Cells != nil {
		out.Cells = make([]datasets.WeightCell, len(c.Cells))
		for i, p := range c.Pairs {
			out.Pairs[i] = datasets.PairCounts{A: p.A, B: p.B}
		}
		for i, cell := range c.Cells {
			cell.Battles = draw(cell.Battles)
			out.Cells[i] = cell
			out.Pairs[cell.Pair].Add(cell.Outcome, cell.Battles)
		}
		return out
	}
	for i, p := range c.Pairs {
		out.Pairs[i] = datasets.PairCounts{
			A: p.A, B: p.B,
			WinsA: draw(p.WinsA), WinsB: draw(p.WinsB), Ties: draw(p.Ties), BothBad: draw(p.BothBad),
		}
	}
	return out
}

// binomial draws from Bin(n, p). Means below 30 — most cells of an arena —
// use inversion, a walk up the CDF with f(k+1) = f(k)·(n−k)/(k+1)·p/(1−p),
// which costs O(np) cheap steps; larger ones gonum's rejection sampler.
func binomial(n int64, p float64, rng *rand.Rand) int64 {
	if n <= 0 || p <= 0 {
		return 0
	}
	if p >= 1 {
		return n
	}
	flip := p > 0.5
	if flip {
		p = 1 - p
	}
	var x int64
	if float64(n)*p < 30 {
		// f(0) = (1−p)^n ≥ e^{−60} here: no underflow.
		f := math.Exp(float64(n) * math.Log1p(-p))
		r := p / (1 - p)
		u := rng.Float64()
		for u > f && x < n && f > 0 {
			u -= f
			x++
			f *= r * float64(n-x+1) / float64(x)
		}
	} else {
		x = int64(distuv.Binomial{N: float64(n), P: p, Src: rng}.Rand())
	}
	if flip {
		return n - x
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
// solve and settings s, each warm-started from full (the fit on all the
// data) and run to at least BootstrapTolerance. The seed of each replicate is drawn from rng in round order on the
// calling goroutine; replicates are drawn and fitted by workers goroutines
// (0 means GOMAXPROCS), so the fits depend only on rng, not on scheduling. done is called on the calling goroutine in round
// order (1-based); a non-nil error from it or from a fit, or ctx being done,
// stops the bootstrap and is returned.
func Bootstrap(ctx context.Context, c *datasets.ArenaCounts, full *Fit, rounds int, rng *rand.Rand,
	solve Solver, s Settings, workers int, done func(round int, f *Fit) error) error {
	if rounds <= 0 {
		return nil
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	s.Init = full.Theta
	s.InitTie = full.TieParam
	if s.Tolerance < BootstrapTolerance {
		s.Tolerance = BootstrapTolerance
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
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			set := s
			set.Progress = nil
			set.Context = ctx
			for j := range jobs {
				counts := Resample(c, rand.New(rand.NewPCG(j.seed, replicateStream)))
				f, err := solve(counts, &set)
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
