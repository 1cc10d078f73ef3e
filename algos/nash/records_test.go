package nash

import (
	"strings"
	"testing"

	"github.com/alignlab/alignlab/kernel"
)

// TestGameFileRecordsWhatRan runs every plugin on a game file (2 prompts,
// 4 actions, 3 features) and checks the record: the game params, which
// only shape a generated game, are absent (before, nash.inpo on a file
// recorded game: cyclic, actions: 5, prompts: 8), the file's shape is
// beside its hash, and the params that did apply are kept. Without
// --data the game params are recorded as before.
func TestGameFileRecordsWhatRan(t *testing.T) {
	data, err := writeSampleGame(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	gen := []string{ParamGame, ParamActions, ParamCycle, ParamSpread, ParamPrompts, ParamFeatures}
	wantShape := map[string]any{"actions": sampleActions, "prompts": samplePrompts, "features": sampleFeatures}
	for _, id := range []string{IDINPO, IDDNO, IDMWU, IDBTRLHF, IDCompare} {
		params, _ := kernel.QuickParams(id)
		res := run(t, id, params, data...)
		for _, k := range gen {
			if v, ok := res.Params[k]; ok {
				t.Errorf("%s on a file: params record the generator param %s = %v", id, k, v)
			}
		}
		if _, ok := res.Params[ParamIterations]; !ok {
			t.Errorf("%s on a file: params lack %s, which applied", id, ParamIterations)
		}
		if len(res.Provenance.Data) != 1 {
			t.Fatalf("%s: %d data records, want 1", id, len(res.Provenance.Data))
		}
		shape := res.Provenance.Data[0].Shape
		if len(shape) != len(wantShape) {
			t.Errorf("%s: shape %v, want %v", id, shape, wantShape)
		}
		for k, v := range wantShape {
			if shape[k] != v {
				t.Errorf("%s: shape[%s] = %v, want %v", id, k, shape[k], v)
			}
		}
		if notes := strings.Join(res.Notes, "\n"); !strings.Contains(notes, "generator params "+strings.Join([]string{ParamActions, ParamCycle, ParamFeatures, ParamGame, ParamPrompts, ParamSpread}, ", ")) {
			t.Errorf("%s: notes %q do not name the dropped game params", id, notes)
		}
		if rows := res.Tables[TableSolutions].Rows; len(rows) != samplePrompts*sampleActions {
			t.Errorf("%s: solutions table has %d rows, want the file's %d", id, len(rows), samplePrompts*sampleActions)
		}
	}
	res := run(t, IDMWU, map[string]any{ParamIterations: 2})
	for _, k := range gen {
		if _, ok := res.Params[k]; !ok {
			t.Errorf("generated game: params lack %s", k)
		}
	}
	d, err := kernel.Describe(IDINPO)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(d, "[generated data only: ignored with --data]"); n != len(gen) {
		t.Errorf("describe tags %d params as generated-data only, want %d", n, len(gen))
	}
}
