package bt

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// TestRunOnDataRecordsWhatRan runs each bt plugin that reads --data on its
// SampleData files, with its generator params set away from their
// defaults, and checks the result: no generator param in the params, no
// note about generated data, and every file's shape beside its hash.
func TestRunOnDataRecordsWhatRan(t *testing.T) {
	for _, c := range []struct {
		id     string
		params map[string]any
		// absent are the generator params; shapes the wanted shape per file.
		absent []string
		shapes []map[string]any
	}{
		{
			id:     "bt.ratings",
			params: map[string]any{ParamBootstrapRounds: 5},
			shapes: []map[string]any{
				{"format": datasets.ArenaFormatBattles, "battles": 200, "models": 4},
				{"format": datasets.ArenaFormatBattles, "battles": 150, "models": 5},
			},
		},
		{
			id:     "bt.compare",
			params: map[string]any{ParamBootstrapRounds: 5, ParamBattlesB: 77},
			absent: []string{ParamBattlesB},
			shapes: []map[string]any{
				{"format": FormatScoresCSV, "models": 4},
				{"format": FormatBattles, "models": 4, "battles": 200},
			},
		},
		{
			id: "bt.plackett_luce",
			params: map[string]any{ParamBootstrapRounds: 5, ParamMode: ModeCandidates, ParamItems: 20, ParamRankings: 9,
				ParamListLength: 7, ParamOffered: 9, ParamSpread: 3.0, ParamDim: 4, ParamLists: 10, ParamTestLists: 10,
				ParamCandidates: 3, ParamRewardScale: 1.0, ParamRewardNoise: 0.5},
			absent: []string{ParamMode, ParamItems, ParamRankings, ParamListLength, ParamOffered, ParamSpread,
				ParamDim, ParamLists, ParamTestLists, ParamCandidates, ParamRewardScale, ParamRewardNoise},
			shapes: []map[string]any{
				{"kind": datasets.RankingItems, "rankings": 60, "items": 6, "top_k_rankings": 60},
			},
		},
		{
			id: "bt.reward",
			params: map[string]any{fit.ParamSteps: 5, fit.ParamEvalEvery: 5, ParamSynthetic: SyntheticHelpSteer,
				ParamRewardShape: datasets.RewardNonlinear, ParamDim: 20, ParamPairs: 10, ParamTestPairs: 10, ParamRewardScale: 1.0},
			absent: []string{ParamSynthetic, ParamRewardShape, ParamDim, ParamPairs, ParamTestPairs, ParamRewardScale},
			shapes: []map[string]any{
				{"pairs": 120, "dim": 5, "prompt_dim": 0, "text": false, "strength": false, "ratings": false, "weights": false},
			},
		},
	} {
		t.Run(c.id, func(t *testing.T) {
			p, err := kernel.Lookup(c.id)
			if err != nil {
				t.Fatal(err)
			}
			data, err := p.(kernel.SampleData).SampleData(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			res, err := kernel.Run(context.Background(), c.id, kernel.Options{Params: c.params, Data: data})
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range c.absent {
				if v, ok := res.Params[k]; ok {
					t.Errorf("params record the generator param %s = %v", k, v)
				}
			}
			for k := range c.params {
				if _, ok := res.Params[k]; !ok && !contains(c.absent, k) {
					t.Errorf("params lack %s, which took effect", k)
				}
			}
			for _, n := range res.Notes {
				if strings.HasPrefix(n, "no --data") {
					t.Errorf("note about generated data: %q", n)
				}
			}
			if len(res.Provenance.Data) != len(c.shapes) {
				t.Fatalf("got %d data records, want %d", len(res.Provenance.Data), len(c.shapes))
			}
			for i, want := range c.shapes {
				d := res.Provenance.Data[i]
				if d.Path != data[i] || d.SHA256 == "" {
					t.Errorf("file %d: got path %q hash %q, want %q and its hash", i, d.Path, d.SHA256, data[i])
				}
				if fmt.Sprint(d.Shape) != fmt.Sprint(want) {
					t.Errorf("file %d shape: got %v, want %v", i, d.Shape, want)
				}
			}
		})
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// TestMergeArenaCounts checks that reading battle files one at a time and
// merging their counts (what bt.ratings does to record each file's shape)
// gives the counts of datasets.LoadArena over all of them: weighted and
// unweighted files, skipped self-battles, weight-0 rows.
func TestMergeArenaCounts(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	plain := write("plain.jsonl", `{"model_a":"a","model_b":"b","winner":"model_a"}
{"model_a":"b","model_b":"c","winner":"tie"}
{"model_a":"c","model_b":"c","winner":"model_b"}
{"model_a":"c","model_b":"a","winner":"tie (bothbad)"}
`)
	weighted := write("weighted.csv", "model_a,model_b,winner,weight\n"+
		"a,b,model_b,2.5\n"+
		"b,a,model_a,1\n"+
		"d,a,model_a,0\n"+
		"a,d,model_b,3\n")
	opt := &datasets.ArenaOptions{SelfBattles: datasets.SelfBattlesSkip}
	for _, files := range [][]string{{plain, plain}, {plain, weighted}, {weighted, plain, weighted}} {
		want, err := datasets.LoadArena(opt, files...)
		if err != nil {
			t.Fatal(err)
		}
		var parts []*datasets.ArenaCounts
		for _, f := range files {
			c, err := datasets.LoadArena(opt, f)
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, c)
		}
		got, err := mergeArenaCounts(parts)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%v: got %+v, want %+v", files, got, want)
		}
	}
}
