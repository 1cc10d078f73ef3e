package datasets

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkGame checks the constant-sum identities exactly (the constructors
// make them hold bit for bit).
func checkGame(t *testing.T, g *Game) {
	t.Helper()
	k := g.K()
	for _, pr := range g.Prompts {
		if len(pr.P) != k {
			t.Fatalf("prompt %s: %d rows, want %d", pr.Name, len(pr.P), k)
		}
		for i := range k {
			if pr.P[i][i] != 0.5 {
				t.Errorf("prompt %s: P[%d][%d] = %v, want 0.5", pr.Name, i, i, pr.P[i][i])
			}
			for j := range k {
				if pr.P[i][j] < 0 || pr.P[i][j] > 1 {
					t.Errorf("prompt %s: P[%d][%d] = %v, want in [0, 1]", pr.Name, i, j, pr.P[i][j])
				}
				if s := pr.P[i][j] + pr.P[j][i]; s != 1 {
					t.Errorf("prompt %s: P[%d][%d] + P[%d][%d] = %v, want 1", pr.Name, i, j, j, i, s)
				}
			}
		}
	}
}

func TestPreferenceFromScores(t *testing.T) {
	const tol = 1e-15
	r := []float64{0.4, 0, -1}
	c := [][]float64{{0, 2, -1}, {-2, 0, 0.5}, {1, -0.5, 0}}
	p, err := PreferenceFromScores(r, c)
	if err != nil {
		t.Fatal(err)
	}
	for i := range r {
		for j := range r {
			want := 0.5
			if i != j {
				want = 1 / (1 + math.Exp(-(r[i] - r[j] + c[i][j])))
			}
			if math.Abs(p[i][j]-want) > tol {
				t.Errorf("P[%d][%d] = %v, want %v", i, j, p[i][j], want)
			}
		}
	}
	checkGame(t, &Game{Actions: gameActionNames(3), Prompts: []GamePrompt{{P: p}}})

	bad := [][]float64{{0, 1, 0}, {1, 0, 0}, {0, 0, 0}}
	if _, err := PreferenceFromScores(r, bad); err == nil || !strings.Contains(err.Error(), "antisymmetric") {
		t.Errorf("symmetric C: got %v, want an antisymmetry error", err)
	}
}

func TestGenerators(t *testing.T) {
	for _, tc := range []struct {
		name string
		g    *Game
		k    int
	}{
		{"cyclic", CyclicGame(5, 3, 1), 5},
		{"transitive", TransitiveGame([]float64{1, 0, -1, 2}), 4},
		{"rps", RockPaperScissors(), 3},
		{"contextual", ContextualGame(rand.New(rand.NewPCG(1, 2)), 4, 6, 3, 2), 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.g.K() != tc.k {
				t.Fatalf("K = %d, want %d", tc.g.K(), tc.k)
			}
			checkGame(t, tc.g)
		})
	}
	// A pure cycle on an odd circle: every action beats the (k−1)/2 after it.
	g := CyclicGame(5, 3, 0)
	for i := range 5 {
		for d := 1; d <= 2; d++ {
			if p := g.Prob(0, i, (i+d)%5); p <= 0.5 {
				t.Errorf("P(%d ≻ %d) = %v, want > 0.5 on a pure cycle", i, (i+d)%5, p)
			}
		}
	}
	// The transitive part alone orders the actions.
	tg := CyclicGame(4, 0, 2)
	for i := range 3 {
		if p := tg.Prob(0, i, i+1); p <= 0.5 {
			t.Errorf("transitive P(%d ≻ %d) = %v, want > 0.5", i, i+1, p)
		}
	}
	cg := ContextualGame(rand.New(rand.NewPCG(1, 2)), 4, 6, 3, 2)
	if cg.NumFeatures() != 3 || len(cg.Prompts) != 4 {
		t.Errorf("contextual: %d prompts with %d features, want 4 with 3", len(cg.Prompts), cg.NumFeatures())
	}
	again := ContextualGame(rand.New(rand.NewPCG(1, 2)), 4, 6, 3, 2)
	if fmt.Sprint(again.Prompts) != fmt.Sprint(cg.Prompts) {
		t.Error("contextual game differs for the same seed")
	}
}

// TestCompareFrequency checks that sampled comparisons are Bernoulli(P[i][j]):
// the win frequency of n draws is within 5 standard errors.
func TestCompareFrequency(t *testing.T) {
	g := CyclicGame(5, 3, 1)
	const n = 20000
	rng := rand.New(rand.NewPCG(7, 7))
	for _, ij := range [][2]int{{0, 1}, {0, 3}, {2, 4}} {
		p := g.Prob(0, ij[0], ij[1])
		wins := 0
		for range n {
			if g.Compare(rng, 0, ij[0], ij[1]) {
				wins++
			}
		}
		se := math.Sqrt(p * (1 - p) / n)
		if f := float64(wins) / n; math.Abs(f-p) > 5*se {
			t.Errorf("P(%d ≻ %d): frequency %v, want %v ± %v", ij[0], ij[1], f, p, 5*se)
		}
	}
	a, b := rand.New(rand.NewPCG(3, 4)), rand.New(rand.NewPCG(3, 4))
	for range 100 {
		if g.Compare(a, 0, 0, 3) != g.Compare(b, 0, 0, 3) {
			t.Fatal("same seed, different comparisons")
		}
	}
}

func TestGameRoundTrip(t *testing.T) {
	for _, g := range []*Game{CyclicGame(4, 2, 1), ContextualGame(rand.New(rand.NewPCG(5, 5)), 3, 4, 2, 1)} {
		var buf bytes.Buffer
		if err := g.WriteJSON(&buf); err != nil {
			t.Fatal(err)
		}
		got, err := ReadGame(&buf, "game.json")
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(g) {
			t.Errorf("round trip:\n got %v\nwant %v", got, g)
		}
	}
}

func TestLoadGame(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "g.json")
	src := `{
  "actions": ["a", "b", "c"],
  "prompts": [
    {"name": "p", "matrix": [[0.5, 0.9, 0.2], [0.1, 0.5, 0.7], [0.8, 0.3, 0.5]], "ref": [0.5, 0.25, 0.25]},
    {"name": "q", "matrix": [[0.5, 0, 1], [1, 0.5, 0], [0, 1, 0.5]]}
  ]
}`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := LoadGame(path)
	if err != nil {
		t.Fatal(err)
	}
	if g.K() != 3 || len(g.Prompts) != 2 || g.Prompts[1].Name != "q" || g.Actions[2] != "c" {
		t.Fatalf("got %+v", g)
	}
	if got := g.RefPolicy(0); got[0] != 0.5 {
		t.Errorf("ref = %v, want [0.5 0.25 0.25]", got)
	}
	if got := g.RefPolicy(1); math.Abs(got[0]-1.0/3) > 1e-15 {
		t.Errorf("default ref = %v, want uniform", got)
	}
	if _, err := LoadGame(filepath.Join(dir, "missing.json")); !isDataError(err, "missing.json", 0, "") {
		t.Errorf("missing file: got %v", err)
	}
}

func isDataError(err error, file string, line int, field string) bool {
	var de *Error
	return errors.As(err, &de) && strings.HasSuffix(de.File, file) && de.Line == line && de.Field == field
}

func TestLoadGameErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		line      int
		field     string
		msg       string
	}{
		{"syntax", "{\"matrix\": [[0.5, 1],\n [0, 0.5]],,}", 2, "", "want a quoted key, got ',' at column 12"},
		{"truncated", "{\"matrix\": [[0.5, 1],", 1, "matrix", "unclosed array: want a complete JSON object, got end of file"},
		{"not object", "[[0.5]]", 1, "", "want a JSON object"},
		{"no matrix", `{"actions": ["a"]}`, 1, "matrix", "missing"},
		{"both", `{"matrix": [[0.5, 0.5], [0.5, 0.5]], "prompts": []}`, 1, "prompts", "either"},
		{"unknown field", "{\"matrix\": [[0.5, 0.5], [0.5, 0.5]],\n \"matirx\": 1}", 2, "matirx", "unknown field"},
		{"not square", "{\"matrix\": [\n[0.5, 0.5, 0.5],\n[0.5, 0.5]]}", 2, "matrix[0]", "square"},
		{"1x1", `{"matrix": [[0.5]]}`, 1, "matrix", "K ≥ 2"},
		{"above 1", "{\"matrix\": [[0.5, 1.2],\n[-0.2, 0.5]]}", 1, "matrix[0][1]", "want a probability in [0, 1], got 1.2"},
		{"string entry", `{"matrix": [[0.5, "x"], [0.5, 0.5]]}`, 1, "matrix[0][1]", `got "x"`},
		{"not constant-sum", "{\"matrix\": [[0.5, 0.7],\n[0.4, 0.5]]}", 2, "matrix[1][0]", "P + Pᵀ = 1"},
		{"diagonal", "{\"matrix\": [[0.5, 0.7],\n[0.3, 0.4]]}", 2, "matrix[1][1]", "0.5 on the diagonal"},
		{"ref sum", `{"matrix": [[0.5, 0.7], [0.3, 0.5]], "ref": [0.5, 0.6]}`, 1, "ref", "summing to 1"},
		{"ref zero", `{"matrix": [[0.5, 0.7], [0.3, 0.5]], "ref": [1, 0]}`, 1, "ref[1]", "positive"},
		{"features rows", `{"matrix": [[0.5, 0.7], [0.3, 0.5]], "features": [[1, 2]]}`, 1, "features", "2 feature rows"},
		{"features ragged", `{"matrix": [[0.5, 0.7], [0.3, 0.5]], "features": [[1, 2], [3]]}`, 1, "features[1]", "2 numbers"},
		{"actions count", `{"actions": ["a"], "matrix": [[0.5, 0.7], [0.3, 0.5]]}`, 1, "actions", "2 names"},
		{"actions dup", `{"actions": ["a", "a"], "matrix": [[0.5, 0.7], [0.3, 0.5]]}`, 1, "actions[1]", "distinct"},
		{"prompt sizes", "{\"prompts\": [{\"matrix\": [[0.5, 0.7], [0.3, 0.5]]},\n{\"matrix\": [[0.5, 0.5, 0.5], [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]]}]}", 2, "prompts[1].matrix", "2×2"},
		{"prompt field", `{"prompts": [{"matrix": [[0.5, 0.7], [0.3, 0.5]], "weight": 2}]}`, 1, "prompts[0].weight", "unknown field"},
		{"prompt entry", `{"prompts": [{"matrix": [[0.5, 0.7], [0.3, 0.6]]}]}`, 1, "prompts[0].matrix[1][1]", "diagonal"},
		{"top-level ref with prompts", `{"ref": [1], "prompts": [{"matrix": [[0.5, 0.7], [0.3, 0.5]]}]}`, 1, "ref", "inside each prompt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadGame(strings.NewReader(tc.src), "bad.json")
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("got %v (%T), want *datasets.Error", err, err)
			}
			if de.File != "bad.json" || de.Line != tc.line || de.Field != tc.field || !strings.Contains(de.Msg, tc.msg) {
				t.Errorf("got %q (line %d, field %q), want line %d, field %q, message containing %q", err, de.Line, de.Field, tc.line, tc.field, tc.msg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("message spans lines: %q", err)
			}
		})
	}
}

func ExampleReadGame() {
	src := `{"actions": ["rock", "paper", "scissors"],
	         "matrix": [[0.5, 0, 1], [1, 0.5, 0], [0, 1, 0.5]]}`
	g, err := ReadGame(strings.NewReader(src), "rps.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(g.Actions, g.Prob(0, 1, 0), g.RefPolicy(0)[0])

	_, err = ReadGame(strings.NewReader(`{"matrix": [[0.5, 0.7], [0.4, 0.5]]}`), "bad.json")
	fmt.Println(err)
	// Output:
	// [rock paper scissors] 1 0.3333333333333333
	// bad.json:1: matrix[1][0]: want 1 − matrix[0][1] = 0.3 within 1e-06 (P + Pᵀ = 1), got 0.4
}

func ExampleCyclicGame() {
	g := CyclicGame(3, 2, 0)
	for _, row := range g.Prompts[0].P {
		fmt.Printf("%.3f\n", row)
	}
	// Output:
	// [0.500 0.850 0.150]
	// [0.150 0.500 0.850]
	// [0.850 0.150 0.500]
}
