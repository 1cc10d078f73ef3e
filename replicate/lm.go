package replicate

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/algos/lm"
	"github.com/alignlab/alignlab/kernel"
)

// The runs of notebooks/07-alignment-pipeline.ipynb: lm.sft, then lm.dpo
// (dpo), lm.tdpo (tdpo2) and lm.inpo from its checkpoint on the same
// verifier-labelled pairs, lm.dpo (dpo, rdpo) with 20 % of the labels
// flipped, and lm.eval's arena of the checkpoints, all at the "test" size
// (42k weights) and β = 0.5. Quick runs 100 preference steps (40 per INPO
// round × 2) on 600 pairs with one evaluation at the end (SFT's too), rates
// the arena on 2 samples per prompt, and leaves out the flipped-label pair;
// full runs the notebook's settings.
func init() {
	Register(Paper{
		Name:  "lm",
		Title: "The alignment pipeline on a transformer: DPO (arXiv:2305.18290), rDPO (arXiv:2403.00409), TDPO (arXiv:2404.11999), INPO (arXiv:2407.00617) on text with a verifier",
		Run:   runLM,
	})
}

// lmSignificance is how many standard errors of the difference an
// improvement must clear to count: 2, a convention.
const lmSignificance = 2

func runLM(ctx context.Context, quick bool, seed int64) ([]Claim, []*kernel.Result, error) {
	dir, err := os.MkdirTemp("", "alignlab-replicate-lm-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	steps, evalEvery, inpoSteps, inpoRounds, pairs, reps := 150, 50, 50, 3, lm.DefaultPairs, 4
	sftEval := 100
	if quick {
		steps, evalEvery, inpoSteps, inpoRounds, pairs, reps = 100, 100, 40, 2, 600, 2
		sftEval = lm.DefaultSFTSteps
	}
	run := func(id string, params map[string]any) (*kernel.Result, error) {
		p := map[string]any{kernel.ParamSeed: seed}
		for k, v := range params {
			p[k] = v
		}
		return kernel.Run(ctx, id, kernel.Options{Params: p})
	}
	sftDir := filepath.Join(dir, "sft")
	sft, err := run(lm.IDSFT, map[string]any{lm.ParamSave: sftDir, fit.ParamEvalEvery: sftEval})
	if err != nil {
		return nil, nil, err
	}
	pref := func(id, name string, extra map[string]any) (*kernel.Result, error) {
		p := map[string]any{lm.ParamSFT: sftDir, fit.ParamSteps: steps, fit.ParamEvalEvery: evalEvery, lm.ParamPairs: pairs, lm.ParamSave: filepath.Join(dir, name)}
		for k, v := range extra {
			p[k] = v
		}
		return run(id, p)
	}
	runs := map[string]*kernel.Result{}
	type stage struct {
		name, id string
		extra    map[string]any
	}
	order := []stage{
		{"dpo", lm.IDDPO, map[string]any{lm.ParamLoss: lm.LossDPO}},
		{"tdpo2", lm.IDTDPO, map[string]any{lm.ParamLoss: lm.LossTDPO2}},
		{"inpo", lm.IDINPO, map[string]any{fit.ParamSteps: inpoSteps, lm.ParamRounds: inpoRounds}},
	}
	if !quick {
		order = append(order,
			stage{"dpo_flip", lm.IDDPO, map[string]any{lm.ParamLoss: lm.LossDPO, lm.ParamFlip: 0.2}},
			stage{"rdpo_flip", lm.IDDPO, map[string]any{lm.ParamLoss: lm.LossRDPO, lm.ParamFlip: 0.2, lm.ParamEpsilon: 0.2}})
	}
	names := []string{"sft"}
	for _, o := range order {
		if runs[o.name], err = pref(o.id, o.name, o.extra); err != nil {
			return nil, nil, err
		}
		names = append(names, o.name)
	}
	var models []string
	for _, n := range names {
		models = append(models, n+"="+filepath.Join(dir, n))
	}
	arena, err := run(lm.IDEval, map[string]any{lm.ParamModels: strings.Join(models, ","), lm.ParamRef: "sft", lm.ParamEvalReps: reps})
	if err != nil {
		return nil, nil, err
	}
	get := func(res *kernel.Result, name string) float64 {
		if err != nil {
			return math.NaN()
		}
		var v float64
		v, err = final("lm", res, name)
		return v
	}
	sftAcc, sftSE, sftPrin := get(sft, "accuracy"), get(sft, "accuracy_se"), get(sft, "principle")
	sftTest := get(sft, "accuracy_test")
	dpo, tdpo2, inpo := runs["dpo"], runs["tdpo2"], runs["inpo"]
	dpoAcc, dpoSE, dpoPrin, dpoKL := get(dpo, "accuracy"), get(dpo, "accuracy_se"), get(dpo, "principle"), get(dpo, "kl")
	dpoTest := get(dpo, "accuracy_test")
	tdpoKL, tdpoAcc := get(tdpo2, "kl"), get(tdpo2, "accuracy")
	inpoAcc, inpoSE := get(inpo, "accuracy"), get(inpo, "accuracy_se")
	if err != nil {
		return nil, nil, err
	}
	gain := func(a, sa float64) (float64, float64) {
		return a - sftAcc, lmSignificance * math.Hypot(sa, sftSE)
	}
	dg, dneed := gain(dpoAcc, dpoSE)
	ig, ineed := gain(inpoAcc, inpoSE)
	rating := func(model string) float64 {
		lb := arena.Tables["leaderboard"]
		if lb == nil {
			return math.NaN()
		}
		for r, m := range lb.Strings("model") {
			if m == model {
				return lb.Floats("rating")[r]
			}
		}
		return math.NaN()
	}
	claims := []Claim{
		Check("lm_sft_imitates_demos", "SFT samples are right about as often as its demonstrations (70 %): verifier accuracy on the training prompts",
			sftAcc, Within(0.55, 0.75), "a perfect imitator scores 0.70; seeds 1–3: 0.652 ± 0.004 (4 samples per prompt)").
			WithPaperText("SFT imitates its demonstrations, noise included"),
		Check("lm_dpo_beats_sft", "DPO (β = 0.5) raises verifier accuracy over SFT (gain over 2 s.e. of the difference)",
			dg-dneed, AtLeast(0), fmt.Sprintf("gain %.3f, 2 s.e. %.3f; seeds 1–3 at 150 steps: 0.820 ± 0.002 against SFT's 0.652 ± 0.004", dg, dneed)).
			WithPaperText("DPO optimises the preference objective from pairs alone"),
		Check("lm_dpo_learns_principle", "DPO's principle rate (≤ 2 characters) — SFT's is ≈ 0.67", dpoPrin, AtLeast(sftPrin+0.15),
			fmt.Sprintf("SFT %.3f + 0.15, a convention; seeds 1–3: 0.964 ± 0.012", sftPrin)),
		Check("lm_tdpo2_kl_below_dpo", "TDPO2's KL(π ‖ π_SFT) below DPO's at equal β = 0.5 (ratio)", tdpoKL/dpoKL, AtMost(1),
			fmt.Sprintf("TDPO2 %.3f vs DPO %.3f nats (accuracy %.3f vs %.3f); seeds 1–3 at 150 steps: 0.71 ± 0.01 vs 1.10 ± 0.04", tdpoKL, dpoKL, tdpoAcc, dpoAcc)).
			WithPaperText("TDPO2 keeps the sequential KL below DPO's"),
		Check("lm_inpo_beats_sft", "INPO raises verifier accuracy over SFT (gain over 2 s.e.)", ig-ineed, AtLeast(0),
			fmt.Sprintf("gain %.3f, 2 s.e. %.3f; seeds 1–3 (3 rounds × 50 steps): 0.910 ± 0.007", ig, ineed)).
			WithPaperText("INPO's iterations improve the policy against the preference oracle"),
		Check("lm_arena_orders_dpo_above_sft", "in the arena of checkpoints (verifier-judged battles → bt.ratings), DPO's rating minus SFT's",
			rating("dpo")-rating("sft"), Above(0), "the battles are judged by the same verifier as the accuracies"),
		KnownDifference("lm_heldout_not_improved", "held-out prompts: DPO's verifier accuracy minus SFT's", dpoTest-sftTest, AtMost(0.1),
			fmt.Sprintf("SFT %.3f, DPO %.3f; seeds 1–3: SFT 0.408 ± 0.021", sftTest, dpoTest),
			"42k weights trained on 80 sums memorise them instead of learning addition: preference training sharpens what the model knows and cannot add what it does not; papers evaluate models that generalise"),
	}
	results := []*kernel.Result{sft, dpo, tdpo2, inpo, arena}
	if !quick {
		df, rf := runs["dpo_flip"], runs["rdpo_flip"]
		dfAcc, rfAcc := get(df, "accuracy"), get(rf, "accuracy")
		if err != nil {
			return nil, nil, err
		}
		dfKL, rfKL := get(df, "kl"), get(rf, "kl")
		if err != nil {
			return nil, nil, err
		}
		claims = append(claims,
			KnownDifference("lm_rdpo_vs_dpo_flipped", "with 20 % flipped labels, rDPO (ε = 0.2) minus DPO: verifier accuracy",
				rfAcc-dfAcc, AtMost(0.02), fmt.Sprintf("DPO %.3f, rDPO %.3f; seeds 1–3: DPO 0.793 ± 0.011, rDPO 0.724 ± 0.010", dfAcc, rfAcc),
				"symmetric flips shrink DPO's implied reward margins but keep their order, so DPO's samples lose little accuracy (0.793 against 0.820 on clean labels); rDPO's unbiased loss is unbounded below (slope −βε/(1−2ε) as h grows), and the finite policy pays for it in KL"+fmt.Sprintf(" (%.2f against DPO's %.2f nats here)", rfKL, dfKL)).
				WithPaperText("rDPO beats DPO under label flips (on reward gap, log-linear policies: notebook 02)"))
		results = append(results, df, rf)
	}
	return claims, results, nil
}
