package replicate_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	_ "github.com/alignlab/alignlab/algos/all"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// TestEveryPluginDeterministic runs every registered plugin twice with the
// same seed and compares the canonical JSON byte for byte; it also checks
// each result's provenance. With each plugin's QuickParams (kernel.Quick:
// a plugin carries its own, so a new plugin needs no edit here) the whole test takes a
// few seconds on 2 cores, so it runs with -short too.
func TestEveryPluginDeterministic(t *testing.T) {
	const seed = 7
	for _, id := range kernel.IDs() {
		fast, ok := kernel.QuickParams(id)
		if !ok {
			t.Logf("%s has no QuickParams method (kernel.Quick): running it with its defaults", id)
		}
		t.Run(id, func(t *testing.T) {
			params := map[string]any{kernel.ParamSeed: seed}
			for k, v := range fast {
				params[k] = v
			}
			var out [2][]byte
			var res *kernel.Result
			start := time.Now()
			for i := range out {
				var err error
				res, err = kernel.Run(context.Background(), id, kernel.Options{Params: params})
				if err != nil {
					t.Fatalf("run %d: %v", i+1, err)
				}
				if out[i], err = res.CanonicalJSON(); err != nil {
					t.Fatal(err)
				}
			}
			t.Logf("%s: two runs in %.2f s", id, time.Since(start).Seconds())
			if !bytes.Equal(out[0], out[1]) {
				a, b := out[0], out[1]
				i := 0
				for i < len(a) && i < len(b) && a[i] == b[i] {
					i++
				}
				t.Errorf("two runs with seed %d differ from byte %d: %.80q vs %.80q", seed, i, a[i:], b[i:])
			}
			checkProvenance(t, res, params, nil)
		})
	}
}

// checkProvenance checks that res says what produced it: module and Go
// versions, backend, the GoMLX dependencies, the seed, every effective
// param, and a hash of each input file.
func checkProvenance(t *testing.T, res *kernel.Result, raw map[string]any, data []string) {
	t.Helper()
	pv := res.Provenance
	if pv.Module != "github.com/alignlab/alignlab" || pv.ModuleVersion == "" {
		t.Errorf("provenance module %q version %q", pv.Module, pv.ModuleVersion)
	}
	if pv.GoVersion != runtime.Version() {
		t.Errorf("provenance Go version %q, want %q", pv.GoVersion, runtime.Version())
	}
	if res.Backend == "" || res.Backend != kernel.Backend() {
		t.Errorf("backend %q, want %q", res.Backend, kernel.Backend())
	}
	for _, dep := range []string{"github.com/gomlx/gomlx", "github.com/gomlx/compute"} {
		if pv.Deps[dep] == "" {
			t.Errorf("provenance lacks the version of %s (deps %v)", dep, pv.Deps)
		}
	}
	p, err := kernel.Lookup(res.Plugin)
	if err != nil {
		t.Fatal(err)
	}
	want, err := kernel.Validate(p.Info(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 { // with data, generator params did not take effect
		for _, prm := range p.Info().Params {
			if prm.Generator {
				delete(want, prm.Key)
			}
		}
	}
	if res.Seed != want.Int64(kernel.ParamSeed) {
		t.Errorf("seed %d, want %d", res.Seed, want.Int64(kernel.ParamSeed))
	}
	if len(res.Params) != len(want) {
		t.Errorf("result has %d params, the plugin declares %d (with seed)", len(res.Params), len(want))
	}
	for k, v := range want {
		if res.Params[k] != v {
			t.Errorf("param %s = %v (%T), want the effective value %v (%T)", k, res.Params[k], res.Params[k], v, v)
		}
	}
	if len(pv.Data) != len(data) {
		t.Fatalf("provenance has %d data hashes, want %d", len(pv.Data), len(data))
	}
	for i, path := range data {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if d := pv.Data[i]; d.Path != path || d.Bytes != int64(len(b)) || d.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("data hash %+v, want %s, %d bytes, sha256 %x", d, path, len(b), sum)
		}
	}
}

// TestEveryDataPluginRecordsWhatRan runs every plugin that reads --data on
// the small files it writes itself (kernel.SampleData) and checks that the
// result records what ran: no generator param (the data replaced what they
// shape), the shape of every file beside its hash, and the same bytes twice.
func TestEveryDataPluginRecordsWhatRan(t *testing.T) {
	for _, id := range kernel.IDs() {
		p, _ := kernel.Lookup(id)
		info := p.Info()
		if len(info.Data) == 0 || info.ID != id {
			continue
		}
		t.Run(id, func(t *testing.T) {
			sd, ok := p.(kernel.SampleData)
			if !ok {
				t.Fatalf("%s reads --data but has no SampleData method (kernel.SampleData): the provenance of its runs on files is untested", id)
			}
			data, err := sd.SampleData(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			params := map[string]any{kernel.ParamSeed: int64(5)}
			if q, ok := kernel.QuickParams(id); ok {
				for k, v := range q {
					params[k] = v
				}
			}
			var out [2][]byte
			var res *kernel.Result
			for i := range out {
				if res, err = kernel.Run(context.Background(), id, kernel.Options{Params: params, Data: data}); err != nil {
					t.Fatalf("run %d on %v: %v", i+1, data, err)
				}
				if out[i], err = res.CanonicalJSON(); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(out[0], out[1]) {
				t.Errorf("two runs on the same files differ")
			}
			for _, prm := range info.Params {
				if _, ok := res.Params[prm.Key]; ok && prm.Generator {
					t.Errorf("with --data the result records the generator param %s", prm.Key)
				}
			}
			for i, d := range res.Provenance.Data {
				if len(d.Shape) == 0 {
					t.Errorf("data file %d (%s): no shape recorded (Job.DataShape)", i, d.Path)
				}
			}
			checkProvenance(t, res, params, data)
		})
	}
}

// TestProvenanceOfData runs plugins on input files and checks that each
// file's size and SHA-256 are in the result.
func TestProvenanceOfData(t *testing.T) {
	dir := t.TempDir()
	battles, _, err := datasets.GenerateArena(datasets.ArenaConfig{Models: 4, Battles: 300, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := datasets.WriteBattlesJSONL(&b, battles); err != nil {
		t.Fatal(err)
	}
	arena := filepath.Join(dir, "arena.jsonl")
	if err := os.WriteFile(arena, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var g bytes.Buffer
	if err := datasets.RockPaperScissors().WriteJSON(&g); err != nil {
		t.Fatal(err)
	}
	game := filepath.Join(dir, "rps.json")
	if err := os.WriteFile(game, g.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		id     string
		params map[string]any
		data   []string
	}{
		{"bt.ratings", map[string]any{kernel.ParamSeed: int64(2), "bootstrap_rounds": 5}, []string{arena, arena}},
		{"nash.mwu", map[string]any{kernel.ParamSeed: int64(3), "iterations": 5}, []string{game}},
	} {
		res, err := kernel.Run(context.Background(), c.id, kernel.Options{Params: c.params, Data: c.data})
		if err != nil {
			t.Fatalf("%s: %v", c.id, err)
		}
		checkProvenance(t, res, c.params, c.data)
	}
}
