package tokenizer

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestByte(t *testing.T) {
	tok := Byte()
	if got, want := []int{tok.VocabSize(), tok.BOS(), tok.EOS(), tok.PAD()}, []int{259, 256, 257, 258}; !slices.Equal(got, want) {
		t.Errorf("VocabSize, BOS, EOS, PAD: got %v, want %v", got, want)
	}
	if got := tok.Name(); got != "byte" {
		t.Errorf("Name: got %q, want %q", got, "byte")
	}
	for _, test := range []struct {
		in  string
		ids []int
	}{
		{"", []int{}},
		{"12+7=", []int{49, 50, 43, 55, 61}},
		{"é", []int{0xc3, 0xa9}},
		{"中", []int{0xe4, 0xb8, 0xad}},
		{"\xff\x00", []int{255, 0}}, // not UTF-8: bytes all the same
		{"<eos>", []int{60, 101, 111, 115, 62}},
	} {
		ids := tok.Encode(test.in)
		if !slices.Equal(ids, test.ids) {
			t.Errorf("Encode(%q): got %v, want %v", test.in, ids, test.ids)
		}
		if got := tok.Decode(ids); got != test.in {
			t.Errorf("Decode(Encode(%q)) = %q", test.in, got)
		}
	}
	r := rand.New(rand.NewPCG(7, 7))
	for range 200 {
		s := randomText(r, 40)
		if got := tok.Decode(tok.Encode(s)); got != s {
			t.Errorf("Decode(Encode(%q)) = %q", s, got)
		}
	}
	if got := tok.Decode([]int{256, 104, 257, 105, 258, -3, 1000}); got != "hi" {
		t.Errorf("Decode skipping specials: got %q, want %q", got, "hi")
	}
}

func TestFromName(t *testing.T) {
	corpus := arithmeticCorpus(300, 1)
	dir := t.TempDir()
	path := filepath.Join(dir, "tokenizer.json")
	b, err := TrainBPE(corpus, 300)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.WriteJSON(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, test := range []struct {
		name     string
		wantName string // "" when an error is wanted
		wantErr  string
	}{
		{"byte", "byte", ""},
		{"bpe", "bpe:", ""},
		{"bpe:300", "bpe:300", ""},
		{path, "hf:" + path, ""},
		{"bpe:x", "", `tokenizer: "bpe:x": want bpe:N with N an integer`},
		{"bpe:100", "", "tokenizer: vocabSize must be at least 259 (256 bytes and 3 special tokens), got 100"},
		{"gpt9", "", `tokenizer: unknown tokenizer "gpt9" (want byte, bpe, bpe:N or the path of a tokenizer.json)`},
	} {
		tok, err := FromName(test.name, corpus)
		if test.wantErr != "" {
			if err == nil || err.Error() != test.wantErr {
				t.Errorf("FromName(%q): got error %v, want %q", test.name, err, test.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("FromName(%q): %v", test.name, err)
			continue
		}
		if !strings.HasPrefix(tok.Name(), test.wantName) {
			t.Errorf("FromName(%q).Name() = %q, want prefix %q", test.name, tok.Name(), test.wantName)
		}
	}
	tok, err := FromName("bpe", corpus)
	if err != nil {
		t.Fatal(err)
	}
	if n := tok.VocabSize(); n > DefaultBPEVocabSize || n <= firstMergeID {
		t.Errorf(`FromName("bpe").VocabSize() = %d, want in (259, %d]`, n, DefaultBPEVocabSize)
	}
}
