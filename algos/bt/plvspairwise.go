package bt

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// This file holds the study of Plackett–Luce against pairwise Bradley–Terry
// on the full rank breaking, as the number of rankings grows
// (PLVersusPairwise), and the plugin bt.pl_vs_pairwise that runs it.

// PLVersusPairwise measures, for each number of rankings in sizes, how well
// Plackett–Luce (FitPlackettLuce) and Bradley–Terry on the full rank
// breaking (FitNewton on BreakRankings) recover planted log-strengths from
// the same rankings: cfg (Rankings is replaced by each size) drawn repeats
// times from r. The table has columns method ("plackett_luce" or
// "pairwise"), rankings, rmse (of θ against the planted θ, both centered),
// rmse_stderr (over the repeats) and kendall_tau (mean τ-b with the planted
// order). Fits that need it get the default prior.
func PLVersusPairwise(cfg datasets.PLConfig, sizes []int, repeats int, r *rand.Rand) (*kernel.Table, error) {
	if repeats < 1 {
		return nil, fmt.Errorf("bt: pl versus pairwise: want repeats ≥ 1, got %d", repeats)
	}
	t := kernel.NewTable("method", "rankings", "rmse", "rmse_stderr", "kendall_tau")
	for _, n := range sizes {
		cfg.Rankings = n
		var rmse, tau [2][]float64
		for range repeats {
			data, err := datasets.GeneratePLRankings(cfg, r)
			if err != nil {
				return nil, err
			}
			pl, err := FitPlackettLuce(data, &PLSettings{Prior: DefaultPrior})
			if err != nil {
				return nil, err
			}
			pw, err := FitNewton(BreakRankings(data), &Settings{Prior: DefaultPrior})
			if err != nil {
				return nil, err
			}
			for m, theta := range [][]float64{pl.Theta, pw.Theta} {
				var sq float64
				for i, th := range theta {
					sq += (th - data.Truth.Theta[i]) * (th - data.Truth.Theta[i])
				}
				rmse[m] = append(rmse[m], math.Sqrt(sq/float64(len(theta))))
				if k, err := KendallTau(theta, data.Truth.Theta); err == nil {
					tau[m] = append(tau[m], k)
				}
			}
		}
		for m, name := range []string{"plackett_luce", "pairwise"} {
			mean, se := meanStderr(rmse[m])
			tm, _ := meanStderr(tau[m])
			t.Add(name, n, mean, se, tm)
		}
	}
	return t, nil
}

func meanStderr(v []float64) (mean, se float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	n := float64(len(v))
	for _, x := range v {
		mean += x / n
	}
	if len(v) > 1 {
		var ss float64
		for _, x := range v {
			ss += (x - mean) * (x - mean)
		}
		se = math.Sqrt(ss / (n - 1) / n)
	}
	return mean, se
}

// ParamSizes (string, default "50,100,200,400,800,1600"): the numbers of
// rankings bt.pl_vs_pairwise draws, comma-separated. Its other params are
// ParamItems, ParamListLength, ParamSpread and ParamRepeats.
const ParamSizes = "sizes"

func init() { kernel.Register(plVersusPairwisePlugin{}) }

type plVersusPairwisePlugin struct{}

var (
	_ kernel.Plugin = plVersusPairwisePlugin{}
	_ kernel.Quick  = plVersusPairwisePlugin{}
)

// QuickParams are small params that still draw random numbers (the
// rankings).
func (plVersusPairwisePlugin) QuickParams() map[string]any {
	return map[string]any{ParamSizes: "20,40", ParamRepeats: 2, ParamItems: 5, ParamListLength: 3}
}

func (plVersusPairwisePlugin) Info() kernel.Info {
	return kernel.Info{
		ID:        "bt.pl_vs_pairwise",
		Precision: "float64, in plain Go (gonum), no GoMLX graph: the Newton and MM solvers fit the likelihood to its maximum.",
		Summary:   "Plackett–Luce vs pairwise Bradley–Terry on the rank breaking: recovery of planted strengths as rankings accumulate",
		Papers:    []kernel.Paper{PaperPlackett, PaperLuce, PaperHunter},
		Params: []kernel.Param{
			kernel.IntParam(ParamItems, 8, 2, 1<<16, "number of items"),
			kernel.IntParam(ParamListLength, 6, 2, 1<<16, "items per ranking (≤ items)"),
			{Key: ParamSpread, Type: kernel.Float, Default: 1.0, Range: kernel.Range{Min: 0, Max: 100, MinExclusive: true},
				Doc: "standard deviation of the planted log-strengths"},
			kernel.StringParam(ParamSizes, "50,100,200,400,800,1600", "numbers of rankings, comma-separated, each ≥ 1"),
			kernel.IntParam(ParamRepeats, 5, 1, 1000, "independent datasets per number of rankings (mean ± standard error)"),
		},
		Doc: `For each number of rankings n in sizes, draws repeats datasets of n rankings of
list_length of items items, ordered by θ + Gumbel noise (an exact Plackett–Luce draw,
θ ~ N(0, spread²)), and fits each twice: Plackett–Luce by Hunter's MM (as
bt.plackett_luce), and Bradley–Terry (Newton) on the full rank breaking, every item
beating every item below it as if the L(L−1)/2 battles of a ranking were independent.
Fits that need it get the default prior. The draws come from PCG(seed, seed).

Reports: table rmse (method plackett_luce or pairwise, rankings, rmse of θ against the
planted θ, both centered, its standard error over the repeats, and kendall_tau, the
mean τ-b with the planted order), an xy chart of rmse against rankings, and finals
pl_rmse, pairwise_rmse, pl_kendall_tau, pairwise_kendall_tau at the largest n.

Without --data only (it generates its rankings; params above).`,
	}
}

func (plVersusPairwisePlugin) Run(job *kernel.Job) error {
	prm := job.Params
	sizes, err := parseSizes(prm.String(ParamSizes))
	if err != nil {
		return err
	}
	cfg := datasets.PLConfig{Items: prm.Int(ParamItems), Length: prm.Int(ParamListLength), Spread: prm.Float(ParamSpread)}
	// PCG(seed, seed) rather than job.Rand(): at the default seed 1 the
	// study draws what PLVersusPairwise with rand.NewPCG(1, 1) draws, the
	// numbers notebooks/01 has shown.
	seed := uint64(job.Seed)
	t, err := PLVersusPairwise(cfg, sizes, prm.Int(ParamRepeats), rand.New(rand.NewPCG(seed, seed)))
	if err != nil {
		return err
	}
	job.Result.Tables["rmse"] = t
	largest := sizes[0]
	for _, n := range sizes {
		largest = max(largest, n)
	}
	rankings, rmse, tau := t.Floats("rankings"), t.Floats("rmse"), t.Floats("kendall_tau")
	for i, row := range t.Rows {
		if rankings[i] != float64(largest) {
			continue
		}
		prefix := "pl"
		if row[0] == "pairwise" {
			prefix = "pairwise"
		}
		setIfFinite(job, prefix+"_rmse", rmse[i])
		setIfFinite(job, prefix+"_kendall_tau", tau[i])
	}
	job.AddChart(kernel.Chart{Kind: "xy", ID: "rmse", Title: "RMSE of θ against the planted strengths",
		Table: "rmse", X: "rankings", Value: "rmse", Group: "method", XLabel: "rankings", YLabel: "RMSE of θ", LogX: true})
	return nil
}

// parseSizes reads ParamSizes: positive integers, comma-separated.
func parseSizes(s string) ([]int, error) {
	var sizes []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bt: %s: want numbers of rankings ≥ 1, comma-separated, got %q", ParamSizes, s)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}
