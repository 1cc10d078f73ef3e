package datasets

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestReadRewardPairsVectors(t *testing.T) {
	in := "\ufeff" + `{"prompt":[1,2],"chosen":[0.5,-1,2],"rejected":[0,0,1],"strength":2,"weight":0.5,"chosen_rating":3,"rejected_rating":1,"id":"x"}

{"prompt":[0,1],"chosen":[1,1,1],"rejected":[2,2,2],"margin":0,"chosen_rating":2,"rejected_rating":2}
`
	p, err := ReadRewardPairs(strings.NewReader(in), "v.jsonl", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Dim != 3 || p.PromptDim != 2 || len(p.Pairs) != 2 || p.Text || !p.HasStrength || !p.HasRatings || !p.HasWeights {
		t.Fatalf("got %+v", p)
	}
	a, b := p.Pairs[0], p.Pairs[1]
	if a.Strength != 2 || a.Weight != 0.5 || a.ChosenRating != 3 || a.RejectedRating != 1 || a.Chosen[2] != 2 || a.Prompt[1] != 2 {
		t.Errorf("pair 1: %+v", a)
	}
	if b.Strength != 0 || b.Weight != 1 || !math.IsNaN(b.ChosenReward) {
		t.Errorf("pair 2 (margin 0, a tie): %+v", b)
	}
	var buf bytes.Buffer
	if err := WriteRewardPairs(&buf, p); err != nil {
		t.Fatal(err)
	}
	q, err := ReadRewardPairs(&buf, "round-trip", nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(q.Pairs[0].Chosen, q.Pairs[1].Prompt, q.Pairs[0].Strength, q.Pairs[1].RejectedRating) !=
		fmt.Sprint(p.Pairs[0].Chosen, p.Pairs[1].Prompt, p.Pairs[0].Strength, p.Pairs[1].RejectedRating) {
		t.Errorf("round trip: got %+v, want %+v", q.Pairs, p.Pairs)
	}
}

func TestReadRewardPairsText(t *testing.T) {
	in := `{"prompt":"Capital of France?","chosen":"Paris.","rejected":"Lyon, I think."}
{"chosen":[{"role":"user","content":"Hi there"},{"role":"assistant","content":"Hello! How can I help?"}],"rejected":[{"role":"user","content":"Hi there"},{"role":"assistant","content":"Go away."}]}
{"chosen":"Yes.","rejected":"No."}
`
	p, err := ReadRewardPairs(strings.NewReader(in), "t.jsonl", &PairsOptions{HashDim: 64})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Text || p.Dim != 64 || p.PromptDim != 64 || len(p.Pairs) != 3 {
		t.Fatalf("got Dim %d PromptDim %d Text %v pairs %d", p.Dim, p.PromptDim, p.Text, len(p.Pairs))
	}
	want := [][3]string{
		{"Capital of France?", "Paris.", "Lyon, I think."},
		{"Hi there", "Hello! How can I help?", "Go away."}, // the shared user turn is the prompt
		{"", "Yes.", "No."},
	}
	for i, w := range want {
		got := p.Pairs[i]
		for k, v := range [][]float64{got.Prompt, got.Chosen, got.Rejected} {
			if fmt.Sprint(v) != fmt.Sprint(HashFeatures(w[k], 64)) {
				t.Errorf("pair %d text %d: features differ from HashFeatures(%q)", i, k, w[k])
			}
		}
	}
}

func TestHashFeatures(t *testing.T) {
	const tol = 1e-12
	v := HashFeatures("The cat sat on the mat. THE CAT!", 32)
	if n := math.Sqrt(dot(v, v)); math.Abs(n-1) > tol {
		t.Errorf("norm %v, want 1", n)
	}
	if fmt.Sprint(v) != fmt.Sprint(HashFeatures("the cat sat on the mat the cat", 32)) {
		t.Error("case and punctuation should not matter")
	}
	if fmt.Sprint(HashFeatures("dog bites man", 32)) == fmt.Sprint(HashFeatures("man bites dog", 32)) {
		t.Error("bigrams should tell word orders apart")
	}
	if z := HashFeatures(" ... ", 8); dot(z, z) != 0 {
		t.Errorf("no words: got %v, want zeros", z)
	}
	// One word in one bucket: its unit vector is ±e_bucket; with 1 bucket,
	// a single word gives ±1.
	if w := HashFeatures("word", 1); math.Abs(w[0]) != 1 {
		t.Errorf("one word, one bucket: got %v, want ±1", w)
	}
}

func TestReadRewardPairsErrors(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"empty", "\n\n", "p.jsonl: no pairs: want one JSON object per line"},
		{"not json", "{chosen", "p.jsonl:1: want a quoted key, got 'c' at column 2"},
		{"array line", "[1,2]", "p.jsonl:1: line: want a JSON object, got array"},
		{"missing rejected", `{"chosen":[1]}`, "p.jsonl:1: rejected: missing: want the rejected response"},
		{"ragged", `{"chosen":[1,2],"rejected":[1,2,3]}`, "p.jsonl:1: rejected: want 2 numbers (the length of chosen), got 3"},
		{"ragged later line", "{\"chosen\":[1,2],\"rejected\":[1,2]}\n{\"chosen\":[1],\"rejected\":[1]}", "p.jsonl:2: chosen: want 2 numbers (the length of chosen on the first line), got 1"},
		{"nan", `{"chosen":[1,NaN],"rejected":[1,2]}`, "p.jsonl:1: chosen[1]: want a finite number, got NaN"},
		{"infinity", `{"chosen":[1,2],"rejected":[-Infinity,2]}`, "p.jsonl:1: rejected[0]: want a finite number, got -Inf"},
		{"string number", `{"chosen":[1,"2"],"rejected":[1,2]}`, `p.jsonl:1: chosen[1]: want a finite number, got string "2"`},
		{"empty vector", `{"chosen":[],"rejected":[]}`, "p.jsonl:1: chosen: want a non-empty vector, got []"},
		{"negative strength", `{"chosen":[1],"rejected":[2],"strength":-1}`, "p.jsonl:1: strength: want a finite number ≥ 0, got -1"},
		{"strength and margin", `{"chosen":[1],"rejected":[2],"strength":1,"margin":1}`, "p.jsonl:1: margin: want strength or margin (synonyms), not both"},
		{"zero weight", `{"chosen":[1],"rejected":[2],"weight":0}`, "p.jsonl:1: weight: want a finite number > 0, got 0"},
		{"half ratings", `{"chosen":[1],"rejected":[2],"chosen_rating":1}`, "p.jsonl:1: rejected_rating: missing: want chosen_rating and rejected_rating together"},
		{"ratings appear", "{\"chosen\":[1],\"rejected\":[2]}\n{\"chosen\":[1],\"rejected\":[2],\"chosen_rating\":1,\"rejected_rating\":0}", "p.jsonl:2: chosen_rating: want ratings on every line or on none"},
		{"ratings vanish", "{\"chosen\":[1],\"rejected\":[2],\"chosen_rating\":1,\"rejected_rating\":0}\n{\"chosen\":[1],\"rejected\":[2]}", "p.jsonl:2: chosen_rating: missing: want ratings on every line"},
		{"prompt appears", "{\"chosen\":[1],\"rejected\":[2]}\n{\"chosen\":[1],\"rejected\":[2],\"prompt\":[3]}", "p.jsonl:2: prompt: want no prompt, as the first line has none"},
		{"text after vectors", "{\"chosen\":[1],\"rejected\":[2]}\n{\"chosen\":\"a\",\"rejected\":\"b\"}", "p.jsonl:2: chosen: want an array of numbers, got string"},
		{"vectors after text", "{\"chosen\":\"a\",\"rejected\":\"b\"}\n{\"chosen\":[1],\"rejected\":[2]}", "p.jsonl:2: chosen: want a string or a list of messages (the first line holds text), got array"},
		{"bad message", `{"chosen":[{"role":"user","content":3}],"rejected":"b"}`, "p.jsonl:1: chosen: want a list of {\"role\", \"content\"} messages with string fields"},
	} {
		_, err := ReadRewardPairs(strings.NewReader(c.in), "p.jsonl", nil)
		var de *Error
		if !errors.As(err, &de) || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: got %v, want a *datasets.Error starting %q", c.name, err, c.want)
		}
	}
}

// Generated Bradley–Terry pairs: r* has the planted scale, and the label
// disagrees with r* as often as Bradley–Terry says, E σ(−|Δr*|).
func TestGenerateRewardPairs(t *testing.T) {
	for _, shape := range RewardShapes {
		train, test, err := GenerateRewardPairs(RewardPairsConfig{Dim: 5, Pairs: 20000, TestPairs: 10, Shape: shape, Scale: 1.5}, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		var sq, flips, want float64
		for _, p := range train.Pairs {
			sq += p.ChosenReward*p.ChosenReward + p.RejectedReward*p.RejectedReward
			if p.Flipped {
				flips++
			}
			want += sigmoid(-math.Abs(p.TrueDelta()))
			if (p.TrueDelta() < 0) != p.Flipped {
				t.Fatalf("Flipped %v but Δr* = %v", p.Flipped, p.TrueDelta())
			}
		}
		n := float64(len(train.Pairs))
		sd := math.Sqrt(sq / (2 * n))
		// Bands: 4 standard errors of a rate over 20,000 pairs (≤ 0.014),
		// and 3% on the standard deviation of r* over 40,000 draws.
		if math.Abs(flips/n-want/n) > 0.014 || math.Abs(sd-1.5) > 0.045 {
			t.Errorf("%s: flip rate %v, want %v; sd(r*) %v, want 1.5", shape, flips/n, want/n, sd)
		}
		if len(test.Pairs) != 10 || test.Truth != train.Truth {
			t.Errorf("%s: test pairs %d", shape, len(test.Pairs))
		}
	}
	a, _, _ := GenerateRewardPairs(RewardPairsConfig{Dim: 3, Pairs: 5, TestPairs: 1, Scale: 1}, rand.New(rand.NewPCG(9, 9)))
	b, _, _ := GenerateRewardPairs(RewardPairsConfig{Dim: 3, Pairs: 5, TestPairs: 1, Scale: 1}, rand.New(rand.NewPCG(9, 9)))
	if fmt.Sprint(a.Pairs) != fmt.Sprint(b.Pairs) {
		t.Error("same seed, different pairs")
	}
	if _, _, err := GenerateRewardPairs(RewardPairsConfig{Dim: 2, Pairs: 5, TestPairs: 1, Scale: 1, Shape: RewardNonlinear}, rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Error("nonlinear reward with dim 2: no error")
	}
}

// HelpSteer-style pairs: a third of the pairs per true strength, flip rates
// as configured per strength, reported strengths one off at the configured
// rate (less at the edges 1 and 3), ratings on 0…4.
func TestGenerateHelpSteer(t *testing.T) {
	cfg := DefaultHelpSteerConfig()
	cfg.Pairs = 30000
	train, _, err := GenerateHelpSteer(cfg, rand.New(rand.NewPCG(4, 4)))
	if err != nil {
		t.Fatal(err)
	}
	var count, flips, off [3]float64
	for _, p := range train.Pairs {
		m := train.Truth.TrueStrength(p.TrueDelta()) - 1
		count[m]++
		if p.Flipped {
			flips[m]++
		}
		if p.Strength != float64(m+1) {
			off[m]++
		}
		for _, s := range []float64{p.ChosenRating, p.RejectedRating} {
			if s < 0 || s > LikertMax || s != math.Trunc(s) {
				t.Fatalf("rating %v not in 0…%d", s, LikertMax)
			}
		}
	}
	n := float64(len(train.Pairs))
	for m := range count {
		// 4 standard errors: ≤ 0.011 for a share of 30,000, ≤ 0.018 for a rate over 10,000.
		if math.Abs(count[m]/n-1.0/3) > 0.011 {
			t.Errorf("strength %d holds %.4f of the pairs, want 1/3", m+1, count[m]/n)
		}
		if got := flips[m] / count[m]; math.Abs(got-cfg.Flip[m]) > 0.018 {
			t.Errorf("strength %d: flip rate %.4f, want %v", m+1, got, cfg.Flip[m])
		}
		want := cfg.StrengthNoise
		if m != 1 {
			want /= 2 // at 1 and 3 one of the two directions is clipped back
		}
		if got := off[m] / count[m]; math.Abs(got-want) > 0.018 {
			t.Errorf("strength %d: reported one off %.4f of the time, want %v", m+1, got, want)
		}
	}
}

// TestLongValuesClipped checks that the pairs and rankings loaders quote a
// long bad value by the one rule of errtext.go: whole runes up to maxQuoted
// bytes, then "… (N bytes)" with the whole length, so a message stays one
// short line of valid UTF-8.
func TestLongValuesClipped(t *testing.T) {
	// The messages start at byte 27, so with 2-byte runes a cut at byte
	// 64 (or the old 40) falls inside one.
	msgs := `[{"role":"user","content":"` + strings.Repeat("é", 40) + `"},{"role":"user","content":3}]`
	long := strings.Repeat("名", 30) // 90 bytes
	digits := "1" + strings.Repeat("0", 99)
	for _, c := range []struct {
		name, loader, in, value string
		want                    string // the message, after "f:1: "
	}{
		{"messages", "pairs", `{"chosen":` + msgs + `,"rejected":"b"}`, msgs,
			`chosen: want a list of {"role", "content"} messages with string fields, got ` +
				msgs[:63] + "… (" + fmt.Sprint(len(msgs)) + " bytes)"},
		{"number", "pairs", `{"chosen":[1],"rejected":` + digits + `}`, digits,
			"rejected: want an array of numbers, got number " + digits[:maxQuoted] + "… (100 bytes)"},
		{"duplicate item", "rankings", `{"ranking":["` + long + `","b","` + long + `"]}`, long,
			`ranking[2]: want distinct items, got "` + strings.Repeat("名", 21) + `"… (90 bytes) again (ranking[0])`},
	} {
		var err error
		switch c.loader {
		case "pairs":
			_, err = ReadRewardPairs(strings.NewReader(c.in), "f", nil)
		case "rankings":
			_, err = ReadRankings(strings.NewReader(c.in), "f")
		}
		var de *Error
		if !errors.As(err, &de) {
			t.Fatalf("%s: got %v, want a *datasets.Error", c.name, err)
		}
		msg := err.Error()
		if !utf8.ValidString(msg) {
			t.Errorf("%s: message is not valid UTF-8: %q", c.name, msg)
		}
		if total := fmt.Sprintf("(%d bytes)", len(c.value)); !strings.Contains(msg, total) {
			t.Errorf("%s: message %q does not name the whole length %s", c.name, msg, total)
		}
		if want := "f:1: " + c.want; msg != want {
			t.Errorf("%s:\ngot  %s\nwant %s", c.name, msg, want)
		}
	}
}
