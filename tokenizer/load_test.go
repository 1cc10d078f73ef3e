package tokenizer

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// writeFile writes content to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeBPE writes b's tokenizer.json into a fresh directory.
func writeBPE(t *testing.T, b *BPE) string {
	t.Helper()
	var buf bytes.Buffer
	if err := b.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	return writeFile(t, t.TempDir(), "tokenizer.json", buf.String())
}

func TestByteLevel(t *testing.T) {
	for _, test := range []struct {
		in   []byte
		want string
	}{
		{[]byte("ab!~"), "ab!~"},
		{[]byte{0}, "\u0100"},
		{[]byte(" "), "\u0120"},  // Ġ
		{[]byte("\n"), "\u010a"}, // Ċ
		{[]byte{0x7f}, "\u0121"},
		{[]byte{0xa0}, "\u0142"},
		{[]byte{0xa1, 0xac, 0xae, 0xff}, "\u00a1\u00ac\u00ae\u00ff"},
		{[]byte{0xad}, "\u0143"},
		{[]byte("é"), "\u00c3\u00a9"},
	} {
		if got := byteLevel(test.in); got != test.want {
			t.Errorf("byteLevel(% x): got %q, want %q", test.in, got, test.want)
		}
	}
	seen := map[rune]bool{}
	for _, r := range byteRunes {
		if seen[r] {
			t.Errorf("byteRunes: %q twice", r)
		}
		seen[r] = true
	}
}

func TestWriteJSON(t *testing.T) {
	b, err := TrainBPE([]string{"ba ba ab ab"}, 512)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := b.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var f struct {
		AddedTokens []struct {
			ID      int    `json:"id"`
			Content string `json:"content"`
			Special bool   `json:"special"`
		} `json:"added_tokens"`
		Model struct {
			Type   string         `json:"type"`
			Vocab  map[string]int `json:"vocab"`
			Merges []string       `json:"merges"`
		} `json:"model"`
	}
	if err := json.Unmarshal(buf.Bytes(), &f); err != nil {
		t.Fatal(err)
	}
	if got, want := f.Model.Merges, []string{"Ġ a", "Ġa b", "b a"}; !slices.Equal(got, want) {
		t.Errorf("merges: got %q, want %q", got, want)
	}
	if f.Model.Type != "BPE" || len(f.Model.Vocab) != 262 {
		t.Errorf("model: type %q with %d tokens, want BPE with 262", f.Model.Type, len(f.Model.Vocab))
	}
	for tok, want := range map[string]int{"Ġ": 32, "Ā": 0, "<bos>": 256, "<eos>": 257, "<pad>": 258, "Ġa": 259, "Ġab": 260, "ba": 261} {
		if got, ok := f.Model.Vocab[tok]; !ok || got != want {
			t.Errorf("vocab[%q]: got %d (present %v), want %d", tok, got, ok, want)
		}
	}
	for i, at := range f.AddedTokens {
		if at.ID != 256+i || at.Content != specials[i] || !at.Special {
			t.Errorf("added_tokens[%d]: got %+v, want id %d content %q special", i, at, 256+i, specials[i])
		}
	}
}

// TestLoadMatchesBPE checks the round trip BPE → tokenizer.json → hftokenizer:
// the same ids on the training lines and on unseen text, the same text back.
func TestLoadMatchesBPE(t *testing.T) {
	corpus := append(arithmeticCorpus(300, 1), "The cat sat.  Twice!\tTabs\nand lines", "naïve café, 中文 🙂🙂")
	b, err := TrainBPE(corpus, 420)
	if err != nil {
		t.Fatal(err)
	}
	path := writeBPE(t, b)
	tok, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tok.Name(), "hf:"+path; got != want {
		t.Errorf("Name: got %q, want %q", got, want)
	}
	if got, want := []int{tok.VocabSize(), tok.BOS(), tok.EOS(), tok.PAD()}, []int{b.VocabSize(), 256, 257, 258}; !slices.Equal(got, want) {
		t.Errorf("VocabSize, BOS, EOS, PAD: got %v, want %v", got, want)
	}
	texts := slices.Clone(corpus)
	texts = append(texts, "", " ", "  leading", "trailing  ", "123456789+987654321=", "x<eos>y<bos><pad>",
		"ok!ok!ok!", "\u00a0nbsp\u3000ideographic", "a\xffb\xc3", "<eos")
	r := rand.New(rand.NewPCG(9, 9))
	for range 1000 {
		texts = append(texts, randomText(r, 40))
	}
	for _, s := range texts {
		want := b.Encode(s)
		got := tok.Encode(s)
		if len(got) != len(want) || len(got) > 0 && !slices.Equal(got, want) {
			t.Errorf("Encode(%q): loaded %v, in memory %v", s, got, want)
			continue
		}
		if got, want := tok.Decode(want), b.Decode(want); got != want {
			t.Errorf("Decode(%v): loaded %q, in memory %q", want, got, want)
		}
	}
	ids := []int{tok.BOS(), 49, 50, tok.EOS(), tok.PAD(), tok.PAD()}
	if got := tok.Decode(ids); got != "12" {
		t.Errorf("Decode(%v): got %q, want %q", ids, got, "12")
	}
}

// A GPT-2 style file: one special token, named as both bos and eos by the
// config in the older object form, and no pad token.
func TestLoadFreshSpecials(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "tokenizer.json", `{
  "added_tokens": [{"id": 3, "content": "<|endoftext|>", "special": true}],
  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false},
  "decoder": {"type": "ByteLevel"},
  "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "<|endoftext|>": 3}, "merges": ["a b"]}
}`)
	writeFile(t, dir, "tokenizer_config.json", `{"bos_token": {"content": "<|endoftext|>"}, "eos_token": "<|endoftext|>", "pad_token": null}`)
	tok, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := []int{tok.VocabSize(), tok.EOS(), tok.BOS(), tok.PAD()}, []int{6, 3, 4, 5}; !slices.Equal(got, want) {
		t.Errorf("VocabSize, EOS, BOS, PAD: got %v, want %v", got, want)
	}
	if got, want := tok.Encode("abba<|endoftext|>"), []int{2, 1, 0, 3}; !slices.Equal(got, want) {
		t.Errorf("Encode: got %v, want %v", got, want)
	}
	if got, want := tok.Decode([]int{4, 2, 1, 3, 5}), "abb"; got != want {
		t.Errorf("Decode: got %q, want %q", got, want)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	for _, test := range []struct {
		name, content, config string
		want                  string // with "DIR" for dir
	}{
		{"missing.json", "", "", "DIR/missing.json: cannot read: no such file or directory"},
		{"syntax.json", "{\n  \"model\": {\n    \"type\": BPE\n  }\n}", "",
			"DIR/syntax.json:3: invalid JSON: invalid character 'B' looking for beginning of value"},
		{"type.json", "{\n\"model\": {\"type\": 7}}", "", "DIR/type.json:2: model.type: want a JSON string, got number"},
		{"notype.json", `{"model": {}}`, "", "DIR/notype.json: model.type: missing; want BPE, WordPiece or Unigram"},
		{"wordlevel.json", `{"model": {"type": "WordLevel"}}`, "", `DIR/wordlevel.json: model.type: want BPE, WordPiece or Unigram, got "WordLevel"`},
		{"config/tokenizer.json", `{"model": {"type": "BPE", "vocab": {}}}`, `{"eos_token": 2}`,
			"DIR/config/tokenizer_config.json: eos_token: want a string or {\"content\": string}, got 2"},
	} {
		path := filepath.Join(dir, test.name)
		if test.content != "" {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Dir(path), filepath.Base(path), test.content)
		}
		if test.config != "" {
			writeFile(t, filepath.Dir(path), "tokenizer_config.json", test.config)
		}
		_, err := Load(path)
		want := dir + test.want[len("DIR"):]
		if err == nil || err.Error() != want {
			t.Errorf("Load(%s): got error %v, want %q", test.name, err, want)
		}
	}
}

// TestLoadMatchesBPERandom repeats the round trip on corpora of random text
// over few letters, whose many overlapping merges ("aaaa", "abab") test the
// order in which both sides apply them; picking single bytes of "é" also
// puts invalid UTF-8 in the corpus.
func TestLoadMatchesBPERandom(t *testing.T) {
	for seed := range uint64(5) {
		r := rand.New(rand.NewPCG(seed, 10))
		var corpus []string
		for range 200 {
			var sb strings.Builder
			for range r.IntN(20) {
				sb.WriteByte("aab b1+é"[r.IntN(8)])
			}
			corpus = append(corpus, sb.String())
		}
		b, err := TrainBPE(corpus, 300+int(seed)*50)
		if err != nil {
			t.Fatal(err)
		}
		if b.VocabSize() < 280 {
			t.Fatalf("seed %d: VocabSize %d, want merges to compare", seed, b.VocabSize())
		}
		tok, err := Load(writeBPE(t, b))
		if err != nil {
			t.Fatal(err)
		}
		texts := slices.Clone(corpus)
		for range 200 {
			texts = append(texts, randomText(r, 30))
		}
		for _, s := range texts {
			want, got := b.Encode(s), tok.Encode(s)
			if len(got) != len(want) || len(got) > 0 && !slices.Equal(got, want) {
				t.Errorf("seed %d: Encode(%q): loaded %v, in memory %v", seed, s, got, want)
			}
		}
	}
}

func TestConcurrentEncode(t *testing.T) {
	corpus := arithmeticCorpus(100, 1)
	b, err := TrainBPE(corpus, 400)
	if err != nil {
		t.Fatal(err)
	}
	hf, err := Load(writeBPE(t, b))
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []Tokenizer{Byte(), b, hf} {
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for _, s := range corpus[g*20 : g*20+20] {
					if got := tok.Decode(tok.Encode(s)); got != s {
						t.Errorf("%s: Decode(Encode(%q)) = %q", tok.Name(), s, got)
					}
				}
			})
		}
		wg.Wait()
	}
}
