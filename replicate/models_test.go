package replicate_test

import (
	"context"
	"errors"
	"testing"

	"github.com/alignlab/alignlab/internal/modeltest"
	"github.com/alignlab/alignlab/kernel"
)

// noModel lists the registered plugins that train nothing they could hand
// back, and why; every other plugin must save its model.
var noModel = map[string]string{
	"bt.compare":        "compares two leaderboards",
	"bt.pl_vs_pairwise": "compares two estimators as rankings accumulate",
	"bt.reward_losses":  "compares five reward-model losses, one model each",
	"dpo.sweep":         "sweeps four losses over flip rates and sample sizes",
	"tdpo.frontier":     "sweeps β (and α) for DPO and TDPO",
	"nash.compare":      "compares six methods on one game",
	"lm.eval":           "measures saved checkpoints; trains nothing",
}

// TestEveryTrainingPluginSavesItsModel trains every plugin that is not a
// comparison (QuickParams; on its SampleData files when it reads --data,
// else on generated data), saves its model, loads it back
// and scores or samples with both, which must agree byte for byte (the
// round trip of issue 14); a plugin that can start from a model (Info.Init)
// then starts a run from the saved one.
func TestEveryTrainingPluginSavesItsModel(t *testing.T) {
	for _, id := range kernel.IDs() {
		p, _ := kernel.Lookup(id)
		info := p.Info()
		if info.ID != id {
			continue
		}
		t.Run(id, func(t *testing.T) {
			if why, ok := noModel[id]; ok {
				if info.Model != "" {
					t.Fatalf("%s is listed as saving no model (%s) but declares Info.Model", id, why)
				}
				return
			}
			if info.Model == "" {
				t.Fatalf("%s trains something but declares no Info.Model (or add it to noModel with the reason)", id)
			}
			params := map[string]any{kernel.ParamSeed: int64(3)}
			if q, ok := kernel.QuickParams(id); ok {
				for k, v := range q {
					params[k] = v
				}
			}
			// A plugin that reads files trains on its own sample files and
			// scores them, as a user scores new data of the same shape.
			var data []string
			if sd, ok := p.(kernel.SampleData); ok {
				var err error
				if data, err = sd.SampleData(t.TempDir()); err != nil {
					t.Fatal(err)
				}
			}
			res := modeltest.Train(t, id, params, data...)
			pair := modeltest.RoundTrip(t, res)
			_, scores := res.Model.(kernel.Scorer)
			_, samples := res.Model.(kernel.Sampler)
			if !scores && !samples {
				t.Fatalf("%s's model neither scores (kernel.Scorer) nor samples (kernel.Sampler): nothing can use it without retraining", id)
			}
			if scores && len(data) > 0 {
				// Score may read fewer files than the run: bilevel.reweight
				// trains on train, val and test files and scores one.
				files := data
				var du *kernel.DataUsageError
				if _, err := pair.Loaded.Score(context.Background(), kernel.Options{Data: files}); errors.As(err, &du) {
					files = data[len(data)-1:]
				}
				pair.Score(t, nil, files...)
			} else if scores {
				t.Logf("%s reads no --data: its family's tests score its model on files of their own", id)
			}
			if samples {
				// A sampler conditions on the first file (sb.light's x), or on
				// nothing when the model holds its own prompts (tdpo).
				_, conditioned := p.(kernel.SampleData)
				if conditioned && len(info.Data) > 0 {
					pair.Sample(t, 3, nil, data[0])
				} else {
					pair.Sample(t, 3, nil)
				}
			}
			if info.Init == "" {
				return
			}
			again, err := kernel.Run(context.Background(), id, kernel.Options{Params: params, Data: data, Init: pair.Dir})
			if err != nil {
				t.Fatalf("run from the saved model: %v", err)
			}
			if ref := again.Provenance.Init; ref == nil || ref.Dir != pair.Dir || ref.Plugin != id || ref.ManifestSHA256 == "" {
				t.Errorf("a run from the saved model records %+v as its start", ref)
			}
		})
	}
}
