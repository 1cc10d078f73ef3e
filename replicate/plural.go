package replicate

import (
	"context"
	"fmt"
	"math"

	"github.com/alignlab/alignlab/algos/plural"
	"github.com/alignlab/alignlab/kernel"
)

// The runs of notebooks/08-pluralistic-preferences.ipynb: plural.micro,
// plural.pal and plural.rlbff at their defaults (3 planted groups, 300
// users, 40 items; RLBFF with 4 principles and 200 items), and plural.rlbff
// with 40 items for the known difference. The bands were set from seeds
// 1–3 (measured values in each source); the runs take about 8 s in all, so
// quick and full are the same.
func init() {
	Register(Paper{
		Name:  "plural",
		Title: "Pluralistic and principle-based reward models: MiCRo (Shen et al. 2025, arXiv:2505.24846), PAL (Chen et al. 2024, arXiv:2406.08469), RLBFF (Wang et al. 2025, arXiv:2509.21319) vs one Bradley–Terry reward",
		Run:   runPlural,
	})
}

func runPlural(ctx context.Context, _ bool, seed int64) ([]Claim, []*kernel.Result, error) {
	run := func(id string, params map[string]any) (*kernel.Result, error) {
		p := map[string]any{kernel.ParamSeed: seed}
		for k, v := range params {
			p[k] = v
		}
		return kernel.Run(ctx, id, kernel.Options{Params: p})
	}
	micro, err := run(plural.MicroID, nil)
	if err != nil {
		return nil, nil, err
	}
	pal, err := run(plural.PALID, nil)
	if err != nil {
		return nil, nil, err
	}
	rlbff, err := run(plural.RLBFFID, nil)
	if err != nil {
		return nil, nil, err
	}
	small, err := run(plural.RLBFFID, map[string]any{plural.RLBFFParamItems: 40})
	if err != nil {
		return nil, nil, err
	}
	names := []struct {
		res  *kernel.Result
		name string
	}{
		{micro, "accuracy_bt"}, {micro, "irreducible_accuracy"}, {micro, "test_comparisons"}, {micro, "accuracy_mixture"}, {micro, "accuracy_router"},
		{pal, "accuracy"}, {pal, "bt_accuracy"}, {pal, "few_shot_accuracy_0"}, {pal, "few_shot_accuracy_5"}, {pal, "reward_corr_min"},
		{rlbff, "accuracy_population"}, {rlbff, "bt_accuracy_population"}, {small, "accuracy_population"}, {small, "bt_accuracy_population"},
	}
	v := make([]float64, len(names))
	for i, n := range names {
		if v[i], err = final("plural", n.res, n.name); err != nil {
			return nil, nil, err
		}
	}
	btAcc, irr, nTest, mix, router := v[0], v[1], v[2], v[3], v[4]
	palAcc, palBT, shot0, shot5, palCorr := v[5], v[6], v[7], v[8], v[9]
	rl, rlBT, rlSmall, rlSmallBT := v[10], v[11], v[12], v[13]
	se := math.Sqrt(irr * (1 - irr) / nTest)

	claims := []Claim{
		Check("bt_at_irreducible_bound", "one BT reward's held-out accuracy sits at the exact irreducible bound (MiCRo's population)",
			btAcc, Within(irr-3*se, irr+3*se),
			fmt.Sprintf("the bound %.4g, exact over all item pairs (IrreducibleAccuracy), ± 3 s.e. of %d held-out comparisons; seeds 1–3: z = −1.9, −0.6, 1.2", irr, int(nTest))).
			WithPaperText("a single BT model has an irreducible error on mixed preferences (MiCRo)"),
		Check("micro_router_beats_bt", "MiCRo: the mixture with context-routed weights beats one BT reward (held-out accuracy, gain)",
			router-btAcc, AtLeast(0.02), "seeds 1–3: +0.19, +0.05, +0.05").
			WithPaperText("mixture + context routing > BT (MiCRo)"),
		KnownDifference("micro_global_mixture_gain", "MiCRo: the mixture with global weights beats one BT reward (held-out accuracy, gain)",
			mix-btAcc, AtMost(0.05), "seeds 1–3: +0.028, 0.000, +0.003",
			"with no prompt to route on, a mixture with fixed weights predicts each pair by its population-average preference, as one reward does; the gain comes only from per-user weights (the router), measured in the claim above").
			WithPaperText("the mixture alone improves on BT"),
		Check("pal_beats_bt", "PAL: the ideal-point mixture beats one BT reward on the training users' held-out comparisons (gain)",
			palAcc-palBT, AtLeast(0.05), "seeds 1–3: +0.22, +0.10, +0.11").
			WithPaperText("PAL > BT on heterogeneous preferences (PAL)"),
		Check("pal_groups_recovered", "PAL: the learned prototypes' rewards match the planted groups (worst Hungarian-matched correlation)",
			palCorr, AtLeast(0.95), "the issue's recovery bar; seeds 1–3: 0.961, 0.997, 0.997").
			WithPaperText("not stated (our check)"),
		Check("pal_few_shot_rises", "PAL: a new user's accuracy rises with 5 of their comparisons (5-shot − 0-shot)",
			shot5-shot0, AtLeast(0.03), "seeds 1–3: +0.21, +0.07, +0.05").
			WithPaperText("few-shot personalisation from a handful of comparisons (PAL)"),
		Check("rlbff_matched_data", "RLBFF: a principle reward model on 2,000 binary judgments ≥ BT on 2,000 comparisons, 200 items (population weighting, gain)",
			rl-rlBT, AtLeast(0), "seeds 1–3: +0.021, +0.050, +0.040; ≥ 0 at every matched size 125–2,000 over seeds 0–9").
			WithPaperText("principle-based RM ≥ BT at matched data (RLBFF)"),
		KnownDifference("rlbff_small_pool", "RLBFF: the same comparison with 40 items (gain over BT)",
			rlSmall-rlSmallBT, AtMost(0.02), "seeds 1–3: −0.002, +0.001, +0.002",
			"with a small item pool BT's one score per item is learned well from the same number of labels, so the principle model's use of features buys nothing; the paper's responses are rarely repeated, which the 200-item pool models").
			WithPaperText("principle-based RM ≥ BT at matched data"),
	}
	return claims, []*kernel.Result{micro, pal, rlbff}, nil
}
