package datasets

import (
	"errors"
	"strings"
	"testing"
)

// Every numeric field of every loader rejects NaN and infinities at load,
// with an *Error naming the file, the line and the field: a non-finite
// input must never reach training, where (under GOEXPERIMENT=simd) exp,
// tanh and σ would turn it into finite nonsense instead of a NaN loss.
// Each case puts one non-finite token (Python json's NaN, Infinity,
// -Infinity, or a literal that overflows float64) into an otherwise valid
// file.
func TestLoadersRejectNonFinite(t *testing.T) {
	type loader func(src, name string) error
	prefs := func(src, name string) error { _, err := ReadPrefs(strings.NewReader(src), name); return err }
	pairs := func(src, name string) error {
		_, err := ReadRewardPairs(strings.NewReader(src), name, nil)
		return err
	}
	rankings := func(src, name string) error { _, err := ReadRankings(strings.NewReader(src), name); return err }
	labeled := func(src, name string) error { _, err := ReadLabeled(strings.NewReader(src), name, true); return err }
	vectors := func(src, name string) error { _, err := ReadVectors(strings.NewReader(src), name); return err }
	textPairs := func(src, name string) error { _, err := ReadTextPairs(strings.NewReader(src), name); return err }
	battles := func(src, name string) error { _, err := ReadBattles(strings.NewReader(src), name); return err }
	game := func(src, name string) error { _, err := ReadGame(strings.NewReader(src), name); return err }
	eot := func(src, name string) error { _, err := ReadEOTBenchmark(strings.NewReader(src), name); return err }

	const eotOK = `{"epsilon": 0.1,
"source": {"weights": [1], "means": [[0, 0]], "covariances": [[[1, 0], [0, 1]]]},
"potential": {"weights": [1], "means": [[1, 1]], "covariances": [[[1, 0], [0, 1]]]},
"test_inputs": [[0.5, 0.5]], "target_variance": 2}`
	const gameOK = `{"matrix": [[0.5, 0.9], [0.1, 0.5]], "ref": [0.5, 0.5], "features": [[1, 0], [0, 1]]}`

	for _, c := range []struct {
		name  string // file name: CSV loaders read .csv as CSV
		read  loader
		valid string // the file without the bad token
		bad   string // valid with one token replaced
		line  int
		field string
	}{
		{"p.jsonl", prefs, `{"features": [[1, 0], [0, 1]], "chosen": 0, "rejected": 1}`,
			`{"features": [[1, 0], [0, 1e999]], "chosen": 0, "rejected": 1}`, 1, "features[1][1]"},
		{"p.jsonl", prefs, `{"features": [[1, 0], [0, 1]], "chosen": 0, "rejected": 1, "ref_logprobs": [0, -1]}`,
			`{"features": [[1, 0], [0, 1]], "chosen": 0, "rejected": 1, "ref_logprobs": [0, -Infinity]}`, 1, "ref_logprobs[1]"},
		{"p.jsonl", prefs, `{"features": [[1, 0], [0, 1]], "chosen": 0, "rejected": 1, "weight": 2}`,
			`{"features": [[1, 0], [0, 1]], "chosen": 0, "rejected": 1, "weight": NaN}`, 1, "weight"},

		{"r.jsonl", pairs, `{"chosen": [1, 2], "rejected": [3, 4]}`,
			`{"chosen": [1, 2], "rejected": [Infinity, 4]}`, 1, "rejected[0]"},
		{"r.jsonl", pairs, `{"chosen": [1, 2], "rejected": [3, 4], "prompt": [0]}`,
			`{"chosen": [1, 2], "rejected": [3, 4], "prompt": [NaN]}`, 1, "prompt[0]"},
		{"r.jsonl", pairs, `{"chosen": [1, 2], "rejected": [3, 4], "strength": 2}`,
			`{"chosen": [1, 2], "rejected": [3, 4], "strength": Infinity}`, 1, "strength"},
		{"r.jsonl", pairs, `{"chosen": [1, 2], "rejected": [3, 4], "margin": 2}`,
			`{"chosen": [1, 2], "rejected": [3, 4], "margin": NaN}`, 1, "margin"},
		{"r.jsonl", pairs, `{"chosen": [1, 2], "rejected": [3, 4], "weight": 2}`,
			`{"chosen": [1, 2], "rejected": [3, 4], "weight": 1e400}`, 1, "weight"},
		{"r.jsonl", pairs, `{"chosen": [1, 2], "rejected": [3, 4], "chosen_rating": 3, "rejected_rating": 1}`,
			`{"chosen": [1, 2], "rejected": [3, 4], "chosen_rating": 3, "rejected_rating": -Infinity}`, 1, "rejected_rating"},

		{"k.jsonl", rankings, `{"candidates": [[1, 2], [3, 4]], "rewards": [2, 1]}`,
			`{"candidates": [[1, 2], [3, NaN]], "rewards": [2, 1]}`, 1, "candidates[1][1]"},
		{"k.jsonl", rankings, `{"candidates": [[1, 2], [3, 4]], "rewards": [2, 1]}`,
			`{"candidates": [[1, 2], [3, 4]], "rewards": [Infinity, 1]}`, 1, "rewards[0]"},

		{"s.jsonl", labeled, `{"features": [1, 2], "label": 1, "source": "a"}`,
			`{"features": [1, -Infinity], "label": 1, "source": "a"}`, 1, "features[1]"},
		{"s.jsonl", labeled, `{"features": [1, 2], "label": 1, "source": "a"}`,
			`{"features": [1, 2], "label": NaN, "source": "a"}`, 1, "label"},

		{"v.csv", vectors, "x,y\n1,2\n", "x,y\n1,inf\n", 2, "y"},
		{"v.csv", vectors, "1,2\n3,4\n", "1,2\n3,-Inf\n", 2, "column 2"},
		{"v.jsonl", vectors, "[1, 2]\n", "[1, Infinity]\n", 1, "[1]"},

		{"t.jsonl", textPairs, `{"chosen": "a", "rejected": "b", "ref_chosen_logps": -1, "ref_rejected_logps": -2}`,
			`{"chosen": "a", "rejected": "b", "ref_chosen_logps": -1, "ref_rejected_logps": NaN}`, 1, "ref_rejected_logps"},
		{"t.jsonl", textPairs, `{"chosen": "a", "rejected": "b", "weight": 2}`,
			`{"chosen": "a", "rejected": "b", "weight": Infinity}`, 1, "weight"},

		{"b.jsonl", battles, `{"model_a": "x", "model_b": "y", "winner": "model_a", "weight": 2}`,
			`{"model_a": "x", "model_b": "y", "winner": "model_a", "weight": NaN}`, 1, "weight"},
		{"b.csv", battles, "model_a,model_b,winner,weight\nx,y,tie,2\n",
			"model_a,model_b,winner,weight\nx,y,tie,+Inf\n", 2, "weight"},

		{"g.json", game, gameOK, strings.Replace(gameOK, "0.9", "NaN", 1), 1, "matrix[0][1]"},
		{"g.json", game, gameOK, strings.Replace(gameOK, `"ref": [0.5, 0.5]`, `"ref": [Infinity, 0.5]`, 1), 1, "ref[0]"},
		{"g.json", game, gameOK, strings.Replace(gameOK, `[[1, 0], [0, 1]]`, `[[1, 0], [0, -Infinity]]`, 1), 1, "features[1][1]"},

		// One JSON object over several lines; the fields are encoding/json's
		// paths (source.weights.0).
		{"e.json", eot, eotOK, strings.Replace(eotOK, "0.1", "NaN", 1), 1, "epsilon"},
		{"e.json", eot, eotOK, strings.Replace(eotOK, `"weights": [1]`, `"weights": [Infinity]`, 1), 2, "source.weights"},
		{"e.json", eot, eotOK, strings.Replace(eotOK, `[[1, 1]]`, `[[1, NaN]]`, 1), 3, "potential.means"},
		{"e.json", eot, eotOK, strings.Replace(eotOK, `[[[1, 0], [0, 1]]]`, `[[[1, 0], [0, 1e999]]]`, 1), 2, "source.covariances"},
		{"e.json", eot, eotOK, strings.Replace(eotOK, `[[0.5, 0.5]]`, `[[0.5, -Infinity]]`, 1), 4, "test_inputs"},
		{"e.json", eot, eotOK, strings.Replace(eotOK, `"target_variance": 2`, `"target_variance": Infinity`, 1), 4, "target_variance"},
	} {
		if err := c.read(c.valid, c.name); err != nil {
			t.Errorf("%s: valid file %q: %v", c.name, c.valid, err)
			continue
		}
		err := c.read(c.bad, c.name)
		var de *Error
		switch {
		case !errors.As(err, &de):
			t.Errorf("%s %q: got %v, want a *datasets.Error", c.name, c.bad, err)
		case de.File != c.name || de.Line != c.line || !strings.HasPrefix(de.Field, c.field):
			t.Errorf("%s %q: got %q (file %s, line %d, field %s), want file %s, line %d, field %s",
				c.name, c.bad, err, de.File, de.Line, de.Field, c.name, c.line, c.field)
		}
	}
}
