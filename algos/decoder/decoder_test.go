package decoder

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// byteTok is a byte-level tokenizer: ids 0–255 are bytes, then BOS, EOS, PAD.
type byteTok struct{}

func (byteTok) Encode(s string) []int {
	out := make([]int, len(s))
	for i := range len(s) {
		out[i] = int(s[i])
	}
	return out
}
func (byteTok) Decode(ids []int) string {
	b := []byte{}
	for _, i := range ids {
		if i < 256 {
			b = append(b, byte(i))
		}
	}
	return string(b)
}
func (byteTok) VocabSize() int { return 259 }
func (byteTok) BOS() int       { return 256 }
func (byteTok) EOS() int       { return 257 }
func (byteTok) PAD() int       { return 258 }

const (
	tolSum   = 1e-4 // float32 model: a sum of ≤ 8 log-softmax terms, recomputed in float64
	tolExact = 0    // the same graph on the same weights
)

func testModel(t *testing.T, seed int64) *Model {
	t.Helper()
	cfg, err := SizeConfig(SizeTest, 259, 16)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(cfg, seed, "")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEncodeLayout(t *testing.T) {
	b, err := Encode(byteTok{}, []string{"1+2="}, []string{"3"}, 8, true)
	if err != nil {
		t.Fatal(err)
	}
	// sequence: BOS 1 + 2 = 3 EOS → inputs BOS..3, targets 1..EOS.
	wantIn := []int32{256, '1', '+', '2', '=', '3', 258, 258}
	wantTg := []int32{'1', '+', '2', '=', '3', 257, 258, 258}
	wantMask := []float32{0, 0, 0, 0, 1, 1, 0, 0}
	if !slices.Equal(b.Inputs, wantIn) || !slices.Equal(b.Targets, wantTg) || !slices.Equal(b.Mask, wantMask) {
		t.Fatalf("got inputs %v targets %v mask %v", b.Inputs, b.Targets, b.Mask)
	}
	if b.Lengths[0] != 6 || b.PromptLen[0] != 5 {
		t.Fatalf("lengths %v promptLen %v, want 6, 5", b.Lengths, b.PromptLen)
	}
	if _, err := Encode(byteTok{}, []string{"123456"}, []string{"789"}, 8, true); err == nil {
		t.Fatal("a row longer than L was accepted")
	}
}

// TestSeqLogProbByHand checks the sequence log-prob against the logits:
// Σ over completion positions of log-softmax(logits[t])[target[t]],
// computed here in float64 from Logits.
func TestSeqLogProbByHand(t *testing.T) {
	m := testModel(t, 3)
	b, err := Encode(byteTok{}, []string{"12+7=", "3+4=", "0+0="}, []string{"19", "7 ok!", ""}, 16, true)
	if err != nil {
		t.Fatal(err)
	}
	seq, err := m.SeqLogProbs(b)
	if err != nil {
		t.Fatal(err)
	}
	logits, err := m.Logits(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b.B {
		want := 0.0
		for tt := range b.L {
			if b.Mask[i*b.L+tt] == 0 {
				continue
			}
			row := logits[i][tt]
			mx := slices.Max(row)
			z := 0.0
			for _, v := range row {
				z += math.Exp(v - mx)
			}
			want += row[b.Targets[i*b.L+tt]] - mx - math.Log(z)
		}
		if math.Abs(seq[i]-want) > tolSum*math.Max(1, math.Abs(want)) {
			t.Errorf("row %d: seq log-prob %v, by hand %v", i, seq[i], want)
		}
		if !(seq[i] < 0) {
			t.Errorf("row %d: log-prob %v not negative", i, seq[i])
		}
	}
}

// TestCausal: a token's log-prob does not depend on later tokens.
func TestCausal(t *testing.T) {
	m := testModel(t, 4)
	a, _ := Encode(byteTok{}, []string{"5+5="}, []string{"10"}, 16, true)
	b, _ := Encode(byteTok{}, []string{"5+5="}, []string{"19 ok!"}, 16, true)
	ta, _ := m.TokenLogProbs(a)
	tb, _ := m.TokenLogProbs(b)
	// Position 4 predicts the first completion byte '1' in both.
	if ta[0][4] != tb[0][4] {
		t.Fatalf("log π('1' | 5+5=) differs with the continuation: %v vs %v", ta[0][4], tb[0][4])
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	m := testModel(t, 5)
	if err := m.InitHead(); err != nil {
		t.Fatal(err)
	}
	b, _ := Encode(byteTok{}, []string{"1+1=", "2+9="}, []string{"2", "11"}, 16, true)
	want, _ := m.SeqLogProbs(b)
	dir := t.TempDir()
	if err := m.Save(dir, Manifest{Tokenizer: "byte"}); err != nil {
		t.Fatal(err)
	}
	l, man, err := Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := l.SeqLogProbs(b)
	for i := range want {
		if math.Abs(got[i]-want[i]) > tolExact {
			t.Fatalf("row %d: reloaded log-prob %v, saved %v", i, got[i], want[i])
		}
	}
	if !man.HasHead || man.Tokenizer != "byte" || man.Params != m.NumParams() {
		t.Fatalf("manifest %+v", man)
	}
	if _, err := l.Rewards(b); err != nil {
		t.Fatal(err)
	}
}

func TestSampleDeterministicAndGreedy(t *testing.T) {
	m := testModel(t, 6)
	prompts := []string{"1+2=", "3+4=", "5+6="}
	opt := SampleOptions{MaxNew: 5, Batch: 4}
	a, _, err := m.Sample(byteTok{}, prompts, opt, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := m.Sample(byteTok{}, prompts, opt, rand.New(rand.NewPCG(1, 2)))
	if !slices.Equal(a, b) {
		t.Fatalf("same seed, different samples: %q vs %q", a, b)
	}
	// top_k = 1 is greedy: equal to the argmax continuation, whatever the seed.
	g1, _, _ := m.Sample(byteTok{}, prompts, SampleOptions{MaxNew: 3, TopK: 1}, rand.New(rand.NewPCG(1, 2)))
	g2, _, _ := m.Sample(byteTok{}, prompts, SampleOptions{MaxNew: 3, TopK: 1}, rand.New(rand.NewPCG(9, 9)))
	if !slices.Equal(g1, g2) {
		t.Fatalf("top_k=1 depends on the seed: %q vs %q", g1, g2)
	}
}

func TestPick(t *testing.T) {
	logits := []float64{0, math.Log(3), math.Log(6)} // p = 0.1, 0.3, 0.6
	r := rand.New(rand.NewPCG(1, 1))
	const n = 40000
	count := func(opt SampleOptions) []float64 {
		c := make([]float64, 3)
		for range n {
			c[pick(logits, opt, r)]++
		}
		for i := range c {
			c[i] /= n
		}
		return c
	}
	// 4 standard errors of a proportion at n = 40000 is ≤ 0.01.
	const tol = 0.01
	cases := []struct {
		name string
		opt  SampleOptions
		want []float64
	}{
		{"plain", SampleOptions{}, []float64{0.1, 0.3, 0.6}},
		{"top_k=2", SampleOptions{TopK: 2}, []float64{0, 1. / 3, 2. / 3}},
		{"top_p=0.8", SampleOptions{TopP: 0.8}, []float64{0, 1. / 3, 2. / 3}},
		{"T=0.5", SampleOptions{Temperature: 0.5}, []float64{1. / 46, 9. / 46, 36. / 46}},
	}
	for _, c := range cases {
		got := count(c.opt)
		for i := range got {
			if math.Abs(got[i]-c.want[i]) > tol {
				t.Errorf("%s: frequencies %v, want %v", c.name, got, c.want)
				break
			}
		}
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := SizeConfig("huge", 259, 16); err == nil {
		t.Fatal("unknown size accepted")
	}
	bad := Config{Vocab: 10, Dim: 30, Layers: 1, Heads: 4, FFN: 8, MaxLen: 8}
	if err := bad.Check(); err == nil {
		t.Fatal("dim not a multiple of heads accepted")
	}
}
