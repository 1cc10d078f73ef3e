package tdpo

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/kernel"
	"github.com/alignlab/alignlab/kernel/report"
)

// quick are params that make a plugin run take a fraction of a second.
func quick(extra map[string]any) map[string]any {
	p := map[string]any{ParamPolicy: ArchTabular, ParamPairs: 200, fit.ParamSteps: 20, fit.ParamEvalEvery: 10, ParamSFTSteps: 100}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

func TestPluginsRegistered(t *testing.T) {
	for _, id := range []string{IDDPO, IDTDPO1, IDTDPO2, IDFrontier} {
		doc, err := kernel.Describe(id)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(doc, "2404.11999") || !strings.Contains(doc, "SeqKL") {
			t.Errorf("%s: describe lacks the paper or the SeqKL definition:\n%s", id, doc)
		}
	}
	doc, _ := kernel.Describe(IDTDPO2)
	if !strings.Contains(doc, formulas[TDPO2]) || !strings.Contains(doc, "alpha") {
		t.Errorf("tdpo.tdpo2: describe lacks its formula or α:\n%s", doc)
	}
	doc, _ = kernel.Describe(IDTDPO1)
	if strings.Contains(doc, "\n  alpha ") {
		t.Errorf("tdpo.tdpo1 should not declare alpha:\n%s", doc)
	}
}

// The plugins moved from the dpo namespace to tdpo's: the old IDs still
// run, as deprecated aliases whose results carry the new ID.
func TestOldIDs(t *testing.T) {
	want := map[string]string{"dpo.tdpo_dpo": "tdpo.dpo", "dpo.tdpo1": "tdpo.tdpo1", "dpo.tdpo2": "tdpo.tdpo2", "dpo.tdpo_frontier": "tdpo.frontier"}
	for old, id := range want {
		if got, ok := kernel.Deprecated(old); !ok || got != id {
			t.Errorf("Deprecated(%s) = %s, %v; want %s, true", old, got, ok, id)
		}
		if slices.Contains(kernel.IDs(), old) || !slices.Contains(kernel.IDs(), id) {
			t.Errorf("IDs() lists %s or lacks %s", old, id)
		}
	}
	res, err := kernel.Run(context.Background(), "dpo.tdpo2", kernel.Options{Params: quick(map[string]any{ParamPairs: 50, fit.ParamSteps: 2})})
	if err != nil {
		t.Fatal(err)
	}
	if res.Plugin != IDTDPO2 {
		t.Errorf("a run of dpo.tdpo2 reports plugin %s, want %s", res.Plugin, IDTDPO2)
	}
}

// The same seed gives byte-identical results, and the three losses see the
// same task: the same π_ref, hence the same step-0 reward.
func TestPluginDeterministicAndSameTask(t *testing.T) {
	run := func(id string) *kernel.Result {
		res, err := kernel.Run(context.Background(), id, kernel.Options{Params: quick(map[string]any{"seed": 7})})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a, b := run(IDTDPO2), run(IDTDPO2)
	ja, _ := a.CanonicalJSON()
	jb, _ := b.CanonicalJSON()
	if !bytes.Equal(ja, jb) {
		t.Error("two runs of tdpo.tdpo2 with seed 7 differ")
	}
	d := run(IDDPO)
	if a.Final["reward_ref"] != d.Final["reward_ref"] || a.Final["sft_loss"] != d.Final["sft_loss"] {
		t.Errorf("tdpo.tdpo2 and tdpo.dpo see different tasks: reward_ref %v vs %v", a.Final["reward_ref"], d.Final["reward_ref"])
	}
	for _, name := range []string{MetricLoss, MetricAccuracy, MetricMargin, MetricSeqKLChosen, MetricSeqKLRejected, MetricKL, MetricReward} {
		if pts := a.Series[name]; len(pts) != 3 {
			t.Errorf("series %s has %d points, want 3 (steps 0, 10, 20)", name, len(pts))
		}
	}
	if _, ok := a.Final["optimal_reward"]; !ok || len(a.Tables["samples"].Rows) != 2*DefaultPrompts*samplesPerPrompt {
		t.Errorf("finals %v / samples table %v", a.Final, a.Tables["samples"])
	}
	if _, err := report.Charts(a); err != nil {
		t.Error(err)
	}
}

func TestPluginRejectsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pairs.jsonl")
	if err := os.WriteFile(path, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := kernel.Run(context.Background(), IDTDPO1, kernel.Options{Params: quick(nil), Data: []string{path}})
	var de *kernel.DataUsageError
	if !errors.As(err, &de) || de.Got != 1 {
		t.Errorf("got %v, want a *kernel.DataUsageError for one file", err)
	}
}

func TestFrontierPlugin(t *testing.T) {
	res, err := kernel.Run(context.Background(), IDFrontier, kernel.Options{Params: quick(map[string]any{
		ParamLosses: "dpo, tdpo2", ParamBetas: "0.1,1", ParamAlphas: "0.5,1", ParamBudgets: "0.01,0.05,100", ParamEvalDense: 5,
	})})
	if err != nil {
		t.Fatal(err)
	}
	fr := res.Tables[TableFrontier]
	// 3 methods × 2 β × 8 checkpoints (steps 0–5, 10, 20), and the optimum's rows.
	if n := len(fr.Rows) - len(DefaultOptimalBetas); n != 48 {
		t.Errorf("frontier table has %d run rows, want 48", n)
	}
	at := res.Tables[TableAtKL]
	if len(at.Rows) != 4*3 {
		t.Errorf("at_kl table has %d rows, want 12 (optimal + 3 methods, 3 budgets)", len(at.Rows))
	}
	// No run reaches KL 100: those entries are NaN and not finals.
	for i, m := range at.Strings("method") {
		kl, r := at.Floats("kl")[i], at.Floats("reward")[i]
		if kl == 100 && m != MethodOptimal && !math.IsNaN(r) {
			t.Errorf("%s reaches KL 100?", m)
		}
	}
	if _, ok := res.Final["at_dpo_kl0.01"]; !ok {
		t.Errorf("finals %v lack at_dpo_kl0.01", res.Final)
	}
	if _, err := report.Charts(res); err != nil {
		t.Error(err)
	}
	for _, bad := range []map[string]any{{ParamBetas: "0.1,x"}, {ParamLosses: "dpo,ipo"}, {ParamAlphas: "-1"}, {ParamBudgets: ""}} {
		if _, err := kernel.Run(context.Background(), IDFrontier, kernel.Options{Params: quick(bad)}); err == nil || !strings.HasPrefix(err.Error(), "tdpo: ") {
			t.Errorf("params %v: got error %v, want a tdpo error", bad, err)
		}
	}
}
