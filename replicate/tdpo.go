package replicate

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/algos/tdpo"
	"github.com/alignlab/alignlab/kernel"
)

// The checks of the TDPO replication. The SeqKL claims read the runs of
// notebooks/03-token-level-dpo.ipynb part (a): tdpo.dpo, tdpo.tdpo1 and
// tdpo.tdpo2 at their defaults (the paper's β = 0.1, α = 0.5; a 16-unit
// GRU; 300 Adam steps). The frontier claims compare TDPO2 (α = 0.5) with
// DPO at the KL values tdpoFrontierKLs, where every β run of both methods
// has a checkpoint path (their KL passes 0.25 nats within ~10 steps); above
// ~0.5 nats TDPO2's runs level off and its frontier ends (notebook 03).
const (
	// tdpoFarBelow is the band of "far below DPO's" SeqKL: a factor of
	// two, a convention (no number is read off the paper's figure).
	tdpoFarBelow = 0.5
	// tdpoTracksDPO is the band of "at DPO's level" for TDPO1's SeqKL: at
	// least three quarters of DPO's, a convention.
	tdpoTracksDPO = 0.75
	// tdpoLossTolerance is how much less reward than DPO at equal KL still
	// counts as "at least DPO's": 0.05, under 1 % of the reward's range
	// (6 for T = 4), a convention.
	tdpoLossTolerance = 0.05
	// tdpoVisibleGain is the share of DPO's gap to the exact optimum that
	// TDPO2 would have to close for its frontier gain to count as
	// reproduced: a half, a convention.
	tdpoVisibleGain = 0.5
)

// tdpoFrontierKLs are the KL values (nats) the frontier claims read.
var tdpoFrontierKLs = []float64{0.1, 0.25}

// tdpoBudgets are the kl_budgets of every frontier run, the notebook's.
const tdpoBudgets = "0.1,0.25,0.5,1,2,4"

// tdpoSetting is one tdpo.frontier sweep of the replication.
type tdpoSetting struct {
	name   string
	params map[string]any
}

// tdpoSettings are the frontier sweeps: the notebook's parts (b) GRU,
// (c) tabular and (d) T = 5, or, quick, part (b) reduced to the paper's
// α, β ∈ {0.2, 1} and 30 steps. On KL ≤ 0.25 the reduced sweep reads
// nearly the same frontier as the full one (within 0.006 reward at seeds
// 1–4): the most reward at low KL comes from the large-β runs, whose first
// 30 steps are the full runs' first 30 (same seed, task and mini-batch
// order).
func tdpoSettings(quick bool) []tdpoSetting {
	if quick {
		return []tdpoSetting{{"GRU, T = 4, β ∈ {0.2, 1}, 30 steps", map[string]any{
			tdpo.ParamBetas: "0.2,1", tdpo.ParamAlphas: "0.5", fit.ParamSteps: 30, tdpo.ParamBudgets: tdpoBudgets}}}
	}
	return []tdpoSetting{
		{"GRU, T = 4", map[string]any{tdpo.ParamAlphas: "0.5,1", tdpo.ParamBudgets: tdpoBudgets}},
		{"tabular, T = 4", map[string]any{tdpo.ParamPolicy: tdpo.ArchTabular, fit.ParamLearningRate: 0.05,
			tdpo.ParamAlphas: "0.5,1", tdpo.ParamBudgets: tdpoBudgets}},
		{"GRU, T = 5", map[string]any{tdpo.ParamLength: 5, tdpo.ParamBetas: "0.05,0.2,1", tdpo.ParamBudgets: tdpoBudgets}},
	}
}

func init() {
	Register(Paper{
		Name:  "tdpo",
		Title: "Token-level Direct Preference Optimization (Zeng et al. 2024, arXiv:2404.11999): TDPO1, TDPO2 vs DPO",
		Run:   runTDPO,
	})
}

// runTDPO runs part (a) of the notebook in both modes (three runs of a few
// seconds) and the frontier sweeps of tdpoSettings.
func runTDPO(ctx context.Context, quick bool, seed int64) ([]Claim, []*kernel.Result, error) {
	var results []*kernel.Result
	seqKL := map[tdpo.Kind][2]float64{} // final δ_w, δ_l
	for _, k := range tdpo.Kinds {
		res, err := kernel.Run(ctx, tdpo.ID(k), kernel.Options{Params: map[string]any{kernel.ParamSeed: seed}})
		if err != nil {
			return nil, nil, err
		}
		w, ok1 := res.Final[tdpo.MetricSeqKLChosen]
		l, ok2 := res.Final[tdpo.MetricSeqKLRejected]
		if !ok1 || !ok2 {
			return nil, nil, fmt.Errorf("replicate: tdpo: %s has no final %s or %s: %w", res.Plugin, tdpo.MetricSeqKLChosen, tdpo.MetricSeqKLRejected, errNoRow)
		}
		seqKL[k] = [2]float64{w, l}
		results = append(results, res)
	}
	var gains []tdpoGain
	for _, s := range tdpoSettings(quick) {
		params := map[string]any{kernel.ParamSeed: seed}
		for key, v := range s.params {
			params[key] = v
		}
		res, err := kernel.Run(ctx, tdpo.IDFrontier, kernel.Options{Params: params})
		if err != nil {
			return nil, nil, err
		}
		g, err := frontierGain(res, s.name, tdpo.Method(tdpo.TDPO2, tdpo.DefaultAlpha), tdpoFrontierKLs)
		if err != nil {
			return nil, nil, err
		}
		gains = append(gains, g)
		results = append(results, res)
	}

	d, t1, t2 := seqKL[tdpo.DPO], seqKL[tdpo.TDPO1], seqKL[tdpo.TDPO2]
	run := fmt.Sprintf("β = %g, α = %g, %d steps, one seed: same task, pairs and mini-batches", tdpo.DefaultBeta, tdpo.DefaultAlpha, tdpo.DefaultSteps)
	farBelow := func(which string, i int) string {
		return fmt.Sprintf("the paper's IMDb experiment (its figure of the sequential KL of preferred and dispreferred responses over training): TDPO2 keeps both far below DPO's; the factor ½ is a convention for \"far below\", not a number read off the figure. Measured (tdpo.dpo vs tdpo.tdpo2, %s): %s SeqKL DPO %.3g nats, TDPO2 %.3g",
			run, which, d[i], t2[i])
	}
	minDiff, maxShare := math.Inf(1), math.Inf(-1)
	var detail []string
	for _, g := range gains {
		minDiff, maxShare = math.Min(minDiff, g.minDiff()), math.Max(maxShare, g.share())
		detail = append(detail, g.String())
	}
	kls := make([]string, len(tdpoFrontierKLs))
	for i, kl := range tdpoFrontierKLs {
		kls[i] = fmt.Sprint(kl)
	}
	klList := strings.Join(kls, ", ")
	settings := ""
	if len(gains) > 1 {
		settings = fmt.Sprintf("; %d settings", len(gains))
	}
	measured := strings.Join(detail, "; ")
	const farBelowPaper = "far below DPO's"
	claims := []Claim{
		Check("tdpo2_seqkl_chosen", "TDPO2's SeqKL of chosen responses ÷ DPO's", t2[0]/d[0], AtMost(tdpoFarBelow), farBelow("chosen", 0)).
			WithPaperText(farBelowPaper),
		Check("tdpo2_seqkl_rejected", "TDPO2's SeqKL of rejected responses ÷ DPO's", t2[1]/d[1], AtMost(tdpoFarBelow), farBelow("rejected", 1)).
			WithPaperText(farBelowPaper),
		KnownDifference("tdpo1_seqkl_tracks_dpo", "TDPO1's SeqKL (δ_w + δ_l) ÷ DPO's",
			(t1[0]+t1[1])/(d[0]+d[1]), AtLeast(tdpoTracksDPO),
			fmt.Sprintf("checks this testbed's finding (notebook 03) that TDPO1's SeqKL tracks DPO's; ¾ is a convention for \"at DPO's level\" (TDPO2 sits below ½, the claims above), so a TDPO1 that drifted toward TDPO2 would fail it. Measured (%s): δ_w, δ_l = %.3g, %.3g (DPO), %.3g, %.3g (TDPO1), %.3g, %.3g (TDPO2)",
				run, d[0], d[1], t1[0], t1[1], t2[0], t2[1]),
			"the paper's IMDb figure puts TDPO1's SeqKL between DPO's and TDPO2's; here it tracks DPO's. TDPO1's margin adds δ_w − δ_l with weight 1, so its gradient rewards raising δ_w as much as lowering δ_l and nothing holds the joint drift back; TDPO2's stop-gradient on δ_w removes the first").
			WithPaperText("< 1 (between)"),
		Check("frontier_no_loss", fmt.Sprintf("frontier: TDPO2 − DPO reward at equal KL (worst of KL %s%s)", klList, settings), minDiff, AtLeast(-tdpoLossTolerance),
			fmt.Sprintf("the paper's IMDb reward–KL frontier: TDPO2 reaches at least DPO's reward at equal KL(π_θ ‖ π_ref). Each method's frontier at a KL is the most reward any of its β runs has where its path crosses that KL (tdpo.frontier's at_kl, exact reward and KL); the tolerance %g reward is a convention. Measured: %s",
				tdpoLossTolerance, measured)).
			WithPaperText("≥ 0 (a better frontier)"),
		KnownDifference("frontier_gain_share", fmt.Sprintf("share of DPO's gap to the optimum closed by TDPO2 (KL %s%s)", klList, settings), maxShare, AtMost(tdpoVisibleGain),
			fmt.Sprintf("checks this testbed's finding (notebook 03) that TDPO2's gain is small. No policy beats the exact optimum R*(KL) (π*_β ∝ π_ref·exp(r/β)), so a gain is measured against DPO's room to gain: Σ(TDPO2 − DPO) ÷ Σ(R* − DPO) over KL ∈ {%s} (1: TDPO2 on the optimal frontier, 0: no gain). Holds while TDPO2 closes less than half the gap, a convention for \"no visible gain\"; leaving the band would mean the paper's gain reproduces here, and the claim should become a reproduced one. Measured: %s",
				klList, measured),
			"the paper's IMDb figure shows a visibly better reward–KL frontier for TDPO2; on this testbed (GRU, exact rewards) TDPO2 − DPO at equal KL is a few hundredths of reward, about a fifth of DPO's distance to the optimum, and TDPO2 ties or trails above 0.5 nats, where its runs level off near 1 nat at α = 0.5. An apparent +0.2 gain came from sparse checkpoints and vanished with dense recording").
			WithPaperText("a visible gain"),
	}
	return claims, results, nil
}

// tdpoGain is TDPO2's frontier against DPO's and the optimum's in one
// setting, at a few KL values.
type tdpoGain struct {
	setting string
	kl      []float64
	diff    []float64 // TDPO2 − DPO
	gap     []float64 // R* − DPO: the most any method could gain over DPO
}

// frontierGain reads the at_kl table of a tdpo.frontier result at the
// KL values kls for method (a TDPO2 method name), DPO and the optimum.
func frontierGain(res *kernel.Result, setting, method string, kls []float64) (tdpoGain, error) {
	g := tdpoGain{setting: setting, kl: kls}
	t := res.Tables[tdpo.TableAtKL]
	if t == nil {
		return g, fmt.Errorf("replicate: tdpo: %s has no %s table: %w", res.Plugin, tdpo.TableAtKL, errNoRow)
	}
	at := func(m string, kl float64) (float64, error) {
		ms, ks, rs := t.Strings("method"), t.Floats("kl"), t.Floats("reward")
		for i := range ms {
			if ms[i] == m && ks[i] == kl {
				return rs[i], nil
			}
		}
		return 0, fmt.Errorf("replicate: tdpo: %s at_kl: no row for %q at KL %g: %w", res.Plugin, m, kl, errNoRow)
	}
	for _, kl := range kls {
		var v [3]float64
		for i, m := range []string{method, string(tdpo.DPO), tdpo.MethodOptimal} {
			var err error
			if v[i], err = at(m, kl); err != nil {
				return g, err
			}
		}
		g.diff = append(g.diff, v[0]-v[1])
		g.gap = append(g.gap, v[2]-v[1])
	}
	return g, nil
}

// minDiff is the smallest TDPO2 − DPO (NaN if a method's frontier misses a
// KL value: the claim then fails, as it should).
func (g tdpoGain) minDiff() float64 {
	m := math.Inf(1)
	for _, d := range g.diff {
		if math.IsNaN(d) {
			return d
		}
		m = math.Min(m, d)
	}
	return m
}

// share is Σ(TDPO2 − DPO) ÷ Σ(R* − DPO), the part of DPO's room to gain
// that TDPO2 takes; pooling the KL values steadies the small denominators.
// NaN when DPO has no room (it sits on the optimum: no gain is possible).
func (g tdpoGain) share() float64 {
	var num, den float64
	for i := range g.diff {
		num += g.diff[i]
		den += g.gap[i]
	}
	if !(den > 0) {
		return math.NaN()
	}
	return num / den
}

func (g tdpoGain) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: TDPO2 − DPO", g.setting)
	for i, kl := range g.kl {
		fmt.Fprintf(&b, " %+.3f at KL %g,", g.diff[i], kl)
	}
	b.WriteString(" R* − DPO")
	for i, kl := range g.kl {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, " %.3f at KL %g", g.gap[i], kl)
	}
	fmt.Fprintf(&b, ", share %.2f", g.share())
	return b.String()
}
