package datasets_test

// Fuzz targets for every loader. Properties, for any input: no panic; a
// failure is a *datasets.Error whose message is one line and starts with
// the file name; a success satisfies the format's invariants and survives a
// write-and-read round trip unchanged. "go test" runs them on the seeds
// below and on testdata/fuzz/<Target>/; "make fuzz" explores further.

import (
	"bufio"
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/datasets"
)

// checkErr checks the error contract of the loaders.
func checkErr(t *testing.T, err error, name string) {
	t.Helper()
	var de *datasets.Error
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not a *datasets.Error", err, err)
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\n\r") {
		t.Fatalf("error message is not one line: %q", msg)
	}
	if !strings.HasPrefix(msg, name) {
		t.Fatalf("error message %q does not start with the file name %q", msg, name)
	}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// sampleLines returns the first n lines of the embedded sample arena.
func sampleLines(n int) []byte {
	var b bytes.Buffer
	sc := bufio.NewScanner(datasets.SampleArena())
	for i := 0; i < n && sc.Scan(); i++ {
		b.Write(sc.Bytes())
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func FuzzReadBattles(f *testing.F) {
	for _, s := range []string{
		string(sampleLines(3)),
		`[{"model_a":"a","model_b":"b","winner":"tie (bothbad)"},{"model_a":"b","model_b":"c","winner":"MODEL_B"}]`,
		"model_a,model_b,winner\na,b,model_a\nb,a,tie\n",
		`{"model_a":"a\u00e9","model_b":"b","winner":"tie","x":[1,{"y":null}]}`,
		"\xef\xbb\xbf{\"model_a\":\"a\",\"model_b\":\"b\",\"winner\":\"model_b\"}\n\n",
		`{"model_a":"a","model_b":"a","winner":"model_a"}`,
		`{"model_a":1,"model_b":"b","winner":"model_a"}`,
		`{"model_a":"a","model_b":"b"`,
		"",
		"[]",
		"a,b\n",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, asCSV bool) {
		name := "battles.jsonl"
		if asCSV {
			name = "battles.csv"
		}
		battles, err := datasets.ReadBattles(bytes.NewReader(data), name)
		if err != nil {
			checkErr(t, err, name)
			return
		}
		if len(battles) == 0 {
			t.Fatal("no error and no battles")
		}
		for i, b := range battles {
			if b.ModelA == "" || b.ModelB == "" || b.ModelA == b.ModelB {
				t.Fatalf("battle %d: bad models %q, %q", i, b.ModelA, b.ModelB)
			}
			switch b.Winner {
			case datasets.WinnerA, datasets.WinnerB, datasets.WinnerTie, datasets.WinnerTieBothBad:
			default:
				t.Fatalf("battle %d: winner %q not normalised", i, b.Winner)
			}
		}
		counts, err := datasets.AggregateBattles(battles)
		if err != nil {
			t.Fatalf("aggregating loaded battles: %v", err)
		}
		if counts.Battles() != int64(len(battles)) {
			t.Fatalf("counts hold %d battles, loaded %d", counts.Battles(), len(battles))
		}
		var buf bytes.Buffer
		if err := datasets.WriteBattlesJSONL(&buf, battles); err != nil {
			t.Fatal(err)
		}
		again, err := datasets.ReadBattles(&buf, "again.jsonl")
		if err != nil {
			t.Fatalf("re-reading written battles: %v", err)
		}
		if !reflect.DeepEqual(battles, again) {
			t.Fatalf("round trip changed the battles")
		}
	})
}

func FuzzReadPrefs(f *testing.F) {
	for _, s := range []string{
		`{"features": [[0.1, -0.3], [0.5, 0.2], [0.0, 0.4]], "ref_logprobs": [-1.2, -0.9, -1.2], "chosen": 1, "rejected": 0}`,
		"{\"features\": [[1], [2]], \"chosen\": 0, \"rejected\": 1, \"weight\": 2.5}\n{\"features\": [[3], [4]], \"chosen\": 1, \"rejected\": 0}\n",
		`{"features": [[NaN, 1], [0, 1]], "chosen": 0, "rejected": 1}`,
		`{"features": [[1, 2], [3]], "chosen": 0, "rejected": 1}`,
		`{"features": [[1], [2]], "chosen": 0, "rejected": 5}`,
		`{"features": [[1], [2]], "chosen": "0", "rejected": 1}`,
		`{"features": [[1], [2]], "chosen": 0, "rejected": 1, "weight": -1}`,
		`{"features": [[1], [2]], "chosen": 0, "rejected": 1, "ref_logprobs": [Infinity, 0]}`,
		`{"features": [[1], [2]], "chosen": 0,`,
		"",
		"\xff\xfe",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "prefs.jsonl"
		p, err := datasets.ReadPrefs(bytes.NewReader(data), name)
		if err != nil {
			checkErr(t, err, name)
			return
		}
		if p.Dim < 1 || len(p.Pairs) == 0 || len(p.Prompts) != len(p.Pairs) {
			t.Fatalf("dim %d, %d pairs, %d prompts", p.Dim, len(p.Pairs), len(p.Prompts))
		}
		for i, pr := range p.Pairs {
			x := p.Prompts[pr.Prompt]
			nc := len(x.Features)
			if pr.Chosen < 0 || pr.Chosen >= nc || pr.Rejected < 0 || pr.Rejected >= nc || pr.Chosen == pr.Rejected {
				t.Fatalf("pair %d: chosen %d, rejected %d of %d candidates", i, pr.Chosen, pr.Rejected, nc)
			}
			if !finite(pr.Weight) || pr.Weight <= 0 {
				t.Fatalf("pair %d: weight %v", i, pr.Weight)
			}
			sum := 0.0
			for k, v := range x.Features {
				if len(v) != p.Dim {
					t.Fatalf("pair %d: candidate %d has %d features, want %d", i, k, len(v), p.Dim)
				}
				for _, f := range v {
					if !finite(f) {
						t.Fatalf("pair %d: feature %v", i, f)
					}
				}
				if !finite(x.RefLogProbs[k]) {
					t.Fatalf("pair %d: ref log-prob %v", i, x.RefLogProbs[k])
				}
				sum += math.Exp(x.RefLogProbs[k])
			}
			if math.Abs(sum-1) > 1e-9 {
				t.Fatalf("pair %d: π_ref sums to %v", i, sum)
			}
		}
		var buf bytes.Buffer
		if err := datasets.WritePrefs(&buf, p); err != nil {
			t.Fatal(err)
		}
		again, err := datasets.ReadPrefs(&buf, "again.jsonl")
		if err != nil {
			t.Fatalf("re-reading written prefs: %v", err)
		}
		if !reflect.DeepEqual(p.Pairs, again.Pairs) {
			t.Fatalf("round trip changed the pairs")
		}
		// Reading renormalises π_ref, which can move a log-probability by
		// an ulp; features are kept exactly.
		for i, x := range p.Prompts {
			y := again.Prompts[i]
			if !reflect.DeepEqual(x.Features, y.Features) {
				t.Fatalf("round trip changed prompt %d's features", i)
			}
			for k := range x.RefLogProbs {
				if d := math.Abs(x.RefLogProbs[k] - y.RefLogProbs[k]); d > 1e-12*math.Max(1, math.Abs(x.RefLogProbs[k])) {
					t.Fatalf("round trip moved prompt %d's ref log-prob %d by %g", i, k, d)
				}
			}
		}
	})
}

func FuzzReadGame(f *testing.F) {
	var rps bytes.Buffer
	datasets.RockPaperScissors().WriteJSON(&rps)
	for _, s := range []string{
		rps.String(),
		`{"matrix": [[0.5, 0.9], [0.1, 0.5]], "ref": [0.3, 0.7], "features": [[1, 0], [0, 1]]}`,
		`{"actions": ["a", "b"], "prompts": [{"name": "p", "matrix": [[0.5, 1], [0, 0.5]]}, {"matrix": [[0.5, 0.2], [0.8, 0.5]]}]}`,
		`{"matrix": [[0.5, 0.9], [0.2, 0.5]]}`,
		`{"matrix": [[0.5, 0.9, 0.1], [0.1, 0.5]]}`,
		`{"matrix": [[0.5, "x"], [0.1, 0.5]]}`,
		`{"matrix": [[0.5, 0.9], [0.1, 0.5]], "colour": 1}`,
		`{"matrix": [[0.5, 1e999], [0.1, 0.5]]}`,
		`{"matrix": [[0.5, 0.9], [0.1, 0.5]]} {}`,
		`{"matrix": [[[[[[`,
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "game.json"
		g, err := datasets.ReadGame(bytes.NewReader(data), name)
		if err != nil {
			checkErr(t, err, name)
			return
		}
		k := g.K()
		if k < 2 || len(g.Prompts) == 0 || len(g.Actions) != k {
			t.Fatalf("K = %d, %d prompts, %d actions", k, len(g.Prompts), len(g.Actions))
		}
		for x, pr := range g.Prompts {
			if len(pr.P) != k {
				t.Fatalf("prompt %d: %d rows, want %d", x, len(pr.P), k)
			}
			for i := range k {
				for j := range k {
					v := pr.P[i][j]
					if len(pr.P[i]) != k || !(v >= 0 && v <= 1) || math.Abs(v+pr.P[j][i]-1) > 2*datasets.GameTolerance {
						t.Fatalf("prompt %d: P[%d][%d] = %v is not a preference", x, i, j, v)
					}
				}
			}
			ref := g.RefPolicy(x)
			sum := 0.0
			for _, v := range ref {
				if !(v > 0) {
					t.Fatalf("prompt %d: π_ref %v", x, ref)
				}
				sum += v
			}
			if math.Abs(sum-1) > 2*datasets.GameTolerance {
				t.Fatalf("prompt %d: π_ref sums to %v", x, sum)
			}
		}
		var buf bytes.Buffer
		if err := g.WriteJSON(&buf); err != nil {
			t.Fatal(err)
		}
		again, err := datasets.ReadGame(&buf, "again.json")
		if err != nil {
			t.Fatalf("re-reading a written game: %v", err)
		}
		if !reflect.DeepEqual(g.Actions, again.Actions) || len(g.Prompts) != len(again.Prompts) {
			t.Fatalf("round trip changed the game")
		}
		for x := range g.Prompts {
			if !reflect.DeepEqual(g.Prompts[x].P, again.Prompts[x].P) {
				t.Fatalf("round trip changed prompt %d's matrix", x)
			}
		}
	})
}

func FuzzReadVectors(f *testing.F) {
	for _, s := range []string{
		"x,y\n0.5,-1.2\n1,2\n",
		"[0.5, -1.2]\n[1, 2]\n",
		"1,2\n3\n",
		"[1, NaN]\n",
		"[1, 2]\n[3]\n",
		"1,2\nx,4\n",
		"1e999,2\n",
		`"a,b`,
		"\n\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "vectors.csv"
		rows, err := datasets.ReadVectors(bytes.NewReader(data), name)
		if err != nil {
			checkErr(t, err, name)
			return
		}
		if len(rows) == 0 || len(rows[0]) == 0 {
			t.Fatal("no error and no vectors")
		}
		for i, r := range rows {
			if len(r) != len(rows[0]) {
				t.Fatalf("row %d has %d values, row 0 %d", i, len(r), len(rows[0]))
			}
			for _, v := range r {
				if !finite(v) {
					t.Fatalf("row %d: %v", i, v)
				}
			}
		}
		var buf bytes.Buffer
		if err := datasets.WriteVectorsCSV(&buf, rows); err != nil {
			t.Fatal(err)
		}
		again, err := datasets.ReadVectors(&buf, "again.csv")
		if err != nil {
			t.Fatalf("re-reading written vectors: %v", err)
		}
		if !reflect.DeepEqual(rows, again) {
			t.Fatalf("round trip changed the vectors")
		}
	})
}

func FuzzReadLabeled(f *testing.F) {
	for _, s := range []string{
		"{\"features\": [0.1, 2], \"label\": 1, \"source\": \"web\"}\n{\"features\": [3, 4], \"label\": 0, \"source\": \"crowd\"}\n",
		`{"features": [0.1, 2], "label": 1}`,
		`{"features": [0.1, 2], "label": 2, "source": "web"}`,
		`{"features": [NaN], "label": 1, "source": "web"}`,
		`{"features": [1], "label": 1, "source": 7}`,
		`{"features": [1], "label": 1, "source": ""}`,
		`{"features": []`,
		"",
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, needSource bool) {
		const name = "sources.jsonl"
		l, err := datasets.ReadLabeled(bytes.NewReader(data), name, needSource)
		if err != nil {
			checkErr(t, err, name)
			return
		}
		if l.Dim < 1 || len(l.Examples) == 0 {
			t.Fatalf("dim %d, %d examples", l.Dim, len(l.Examples))
		}
		for i, e := range l.Examples {
			if len(e.Features) != l.Dim || (e.Label != 0 && e.Label != 1) || e.Source < 0 || e.Source >= len(l.Sources) {
				t.Fatalf("example %d: %+v", i, e)
			}
			for _, v := range e.Features {
				if !finite(v) {
					t.Fatalf("example %d: feature %v", i, v)
				}
			}
			if needSource && l.Sources[e.Source] == "" {
				t.Fatalf("example %d: empty source", i)
			}
		}
		if !needSource {
			return // WriteSources always writes the source; "" reads back only when optional
		}
		var buf bytes.Buffer
		if err := datasets.WriteSources(&buf, l); err != nil {
			t.Fatal(err)
		}
		again, err := datasets.ReadLabeled(&buf, "again.jsonl", true)
		if err != nil {
			t.Fatalf("re-reading written examples: %v", err)
		}
		if !reflect.DeepEqual(l.Examples, again.Examples) || !reflect.DeepEqual(l.Sources, again.Sources) {
			t.Fatalf("round trip changed the examples")
		}
	})
}

// FuzzLoadPrefSources goes through a file: LoadPrefSources has no reader form.
func FuzzLoadPrefSources(f *testing.F) {
	for _, s := range []string{
		"{\"features\": [[1], [2]], \"chosen\": 0, \"rejected\": 1, \"source\": \"a\"}\n{\"features\": [[1], [2]], \"chosen\": 1, \"rejected\": 0, \"source\": \"b\"}\n",
		`{"features": [[1], [2]], "chosen": 0, "rejected": 1}`,
		`{"features": [[1], [2]], "chosen": 0, "rejected": 1, "source": 3}`,
		`{"features": [[1], [2]], "chosen": 0, "rejected": 1, "source": ""}`,
		"",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "pref_sources.jsonl")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ps, err := datasets.LoadPrefSources(path)
		if err != nil {
			checkErr(t, err, path)
			return
		}
		if len(ps.Source) != len(ps.Train.Pairs) || len(ps.FlipRates) != len(ps.Sources) {
			t.Fatalf("%d sources for %d pairs, %d flip rates for %d names", len(ps.Source), len(ps.Train.Pairs), len(ps.FlipRates), len(ps.Sources))
		}
		for i, s := range ps.Source {
			if s < 0 || s >= len(ps.Sources) || ps.Sources[s] == "" {
				t.Fatalf("pair %d: source %d of %v", i, s, ps.Sources)
			}
		}
	})
}

func FuzzReadRewardPairs(f *testing.F) {
	for _, s := range []string{
		`{"chosen": [0.1, 2], "rejected": [1, -1], "prompt": [3], "strength": 2, "weight": 0.5, "chosen_rating": 3, "rejected_rating": 1}`,
		`{"prompt": "How do I sort?", "chosen": "Use sort.Slice.", "rejected": "No."}`,
		`{"chosen": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}], "rejected": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "go away"}]}`,
		`{"chosen": [1, 2], "rejected": [1]}`,
		`{"chosen": [NaN], "rejected": [1]}`,
		`{"chosen": [1], "rejected": [1], "strength": -1}`,
		`{"chosen": [1], "rejected": [1], "chosen_rating": 3}`,
		`{"chosen": "a", "rejected": [1]}`,
		`{"chosen": [1], "rejected"`,
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "pairs.jsonl"
		p, err := datasets.ReadRewardPairs(bytes.NewReader(data), name, &datasets.PairsOptions{HashDim: 8})
		if err != nil {
			checkErr(t, err, name)
			return
		}
		if p.Dim < 1 || len(p.Pairs) == 0 {
			t.Fatalf("dim %d, %d pairs", p.Dim, len(p.Pairs))
		}
		for i, pr := range p.Pairs {
			if len(pr.Chosen) != p.Dim || len(pr.Rejected) != p.Dim || len(pr.Prompt) != p.PromptDim {
				t.Fatalf("pair %d: lengths %d, %d, prompt %d; want %d, %d, %d", i, len(pr.Chosen), len(pr.Rejected), len(pr.Prompt), p.Dim, p.Dim, p.PromptDim)
			}
			for _, v := range append(append(append([]float64(nil), pr.Chosen...), pr.Rejected...), pr.Prompt...) {
				if !finite(v) {
					t.Fatalf("pair %d: feature %v", i, v)
				}
			}
			if !finite(pr.Strength) || pr.Strength < 0 || !finite(pr.Weight) || pr.Weight <= 0 {
				t.Fatalf("pair %d: strength %v, weight %v", i, pr.Strength, pr.Weight)
			}
			if math.IsNaN(pr.ChosenRating) != math.IsNaN(pr.RejectedRating) {
				t.Fatalf("pair %d: ratings %v, %v: both or neither", i, pr.ChosenRating, pr.RejectedRating)
			}
		}
	})
}

func FuzzReadRankings(f *testing.F) {
	for _, s := range []string{
		"{\"ranking\": [\"model-a\", \"model-c\", \"model-b\"]}\n{\"ranking\": [\"model-b\", \"model-a\"]}\n",
		`{"candidates": [[0.1, 2.0], [0.3, -1], [1, 1]], "rewards": [2.5, 0.4, -1]}`,
		`{"ranking": ["a", "b", "a"]}`,
		`{"ranking": ["a"]}`,
		`{"ranking": ["a", ""]}`,
		`{"candidates": [[1, 2], [3]]}`,
		`{"candidates": [[1], [2]], "rewards": [1, 2]}`,
		"{\"ranking\": [\"a\", \"b\"]}\n{\"candidates\": [[1], [2]]}\n",
		`{"ranking": ["a", "b"`,
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "rankings.jsonl"
		r, err := datasets.ReadRankings(bytes.NewReader(data), name)
		if err != nil {
			checkErr(t, err, name)
			return
		}
		if r.Len() == 0 {
			t.Fatal("no error and no rankings")
		}
		switch r.Kind {
		case datasets.RankingItems:
			for l, list := range r.Lists {
				seen := map[int]bool{}
				for _, i := range list {
					if i < 0 || i >= len(r.Items) || seen[i] || r.Items[i] == "" {
						t.Fatalf("list %d: %v over %d items", l, list, len(r.Items))
					}
					seen[i] = true
				}
				if len(list) < 2 {
					t.Fatalf("list %d has %d items", l, len(list))
				}
			}
		case datasets.RankingCandidates:
			for l, c := range r.Candidates {
				if len(c) < 2 {
					t.Fatalf("list %d has %d candidates", l, len(c))
				}
				for _, v := range c {
					if len(v) != r.Dim {
						t.Fatalf("list %d: vector of %d, want %d", l, len(v), r.Dim)
					}
				}
				if r.Rewards != nil {
					for k := 1; k < len(r.Rewards[l]); k++ {
						if !(r.Rewards[l][k] <= r.Rewards[l][k-1]) {
							t.Fatalf("list %d: rewards %v increase", l, r.Rewards[l])
						}
					}
				}
			}
		default:
			t.Fatalf("kind %q", r.Kind)
		}
	})
}
