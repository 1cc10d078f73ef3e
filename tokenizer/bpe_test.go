package tokenizer

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// arithmeticCorpus is the kind of text the lab trains policies on: prompts
// "a+b=" and answers, some with a remark.
func arithmeticCorpus(n int, seed uint64) []string {
	r := rand.New(rand.NewPCG(seed, 1))
	remarks := []string{"", "", " ok!", " done.", " I think"}
	var lines []string
	for range n {
		a, b := r.IntN(50), r.IntN(50)
		lines = append(lines, fmt.Sprintf("%d+%d=", a, b), fmt.Sprintf("%d%s", a+b, remarks[r.IntN(len(remarks))]))
	}
	return lines
}

// randomText draws a string of up to maxLen characters from ASCII, accented
// and CJK letters, emoji and assorted whitespace.
func randomText(r *rand.Rand, maxLen int) string {
	pool := []rune("abcxyz XYZ0123456789+-=!?.,'<>/\t\n\r\v\fé中文🙂\u00a0\u3000 ")
	var sb strings.Builder
	for range r.IntN(maxLen + 1) {
		sb.WriteRune(pool[r.IntN(len(pool))])
	}
	return sb.String()
}

// mergeStrings lists b's merges as pairs of token texts.
func mergeStrings(b *BPE) [][2]string {
	var out [][2]string
	for _, m := range b.merges {
		out = append(out, [2]string{string(b.tokens[m[0]]), string(b.tokens[m[1]])})
	}
	return out
}

// splitRegexp is splitPattern as hftokenizer runs it.
var splitRegexp = regexp.MustCompile(splitPattern)

// words cuts s with wordEnd.
func words(s string) []string {
	var out []string
	forWords(s, func(w string) { out = append(out, w) })
	return out
}

func TestSplitPattern(t *testing.T) {
	for _, test := range []struct {
		in   string
		want []string
	}{
		{"12+7=", []string{"12", "+", "7", "="}},
		{"19 ok!", []string{"19", " ok", "!"}},
		{"a  b", []string{"a", " ", " b"}},
		{"x\n\ty", []string{"x", "\n", "\t", "y"}},
		{" ?! é中", []string{" ?!", " é中"}},
		{"a\u00a0b", []string{"a", "\u00a0", "b"}},                   // no-break space is not whitespace here
		{"a\xffb \xfe\xfd", []string{"a", "\xff", "b", " \xfe\xfd"}}, // invalid bytes are "other"
		{"", nil},
	} {
		if got := splitRegexp.FindAllString(test.in, -1); !slices.Equal(got, test.want) {
			t.Errorf("regexp words of %q: got %q, want %q", test.in, got, test.want)
		}
		if got := words(test.in); !slices.Equal(got, test.want) {
			t.Errorf("wordEnd words of %q: got %q, want %q", test.in, got, test.want)
		}
	}
	r := rand.New(rand.NewPCG(5, 5))
	for range 2000 {
		s := randomText(r, 30)
		if got, want := words(s), splitRegexp.FindAllString(s, -1); !slices.Equal(got, want) {
			t.Errorf("words of %q: wordEnd %q, regexp %q", s, got, want)
		}
	}
}

// The merges and ids below are worked out by hand in the comments.
func TestTrainBPEKnown(t *testing.T) {
	for _, test := range []struct {
		name      string
		corpus    []string
		vocabSize int
		merges    [][2]string
		encode    map[string][]int
	}{
		{
			// Pair counts aa 2+1 = 3, ab 1+1 = 2: merge a+a (259). Then the
			// words are [aa a b] and [aa b]: no pair occurs twice.
			name:      "aaab aab",
			corpus:    []string{"aaab", "aab"},
			vocabSize: 512,
			merges:    [][2]string{{"a", "a"}},
			encode:    map[string][]int{"aaab": {259, 97, 98}, "aab": {259, 98}, "ab": {97, 98}, "aaaa": {259, 259}},
		},
		{
			// aa 3 and ab 3 tie; "a" "a" < "a" "b", so a+a (259) first.
			// Then [aa a b] [aa b] [a b] count ab 2: a+b (260).
			name:      "tie on count",
			corpus:    []string{"aaab", "aab", "ab"},
			vocabSize: 512,
			merges:    [][2]string{{"a", "a"}, {"a", "b"}},
			encode:    map[string][]int{"aaab": {259, 260}, "aab": {259, 98}, "bab": {98, 260}},
		},
		{
			// Words "ba", " ba", " ab", " ab": ba 2, " a" 2, ab 2, " b" 1.
			// Ties go to the smaller left token, ' ' < 'a' < 'b': " "+"a"
			// (259), then " a"+"b" (260, count 2 against ba's 2), then
			// "b"+"a" (261).
			name:      "tie on bytes",
			corpus:    []string{"ba ba ab ab"},
			vocabSize: 512,
			merges:    [][2]string{{" ", "a"}, {" a", "b"}, {"b", "a"}},
			encode:    map[string][]int{"ba ba ab ab": {261, 32, 261, 260, 260}, "ab": {97, 98}},
		},
		{
			name:      "stops at vocabSize",
			corpus:    []string{"ba ba ab ab"},
			vocabSize: 260,
			merges:    [][2]string{{" ", "a"}},
			encode:    map[string][]int{"ba ab": {98, 97, 259, 98}},
		},
		{
			name:      "no merges",
			corpus:    nil,
			vocabSize: 259,
			merges:    nil,
			encode:    map[string][]int{"hé": {104, 195, 169}},
		},
		{
			// The special forms are cut out before counting: the words are
			// x, x, x. Counted as text, "<eos>" twice would give e+o twice.
			name:      "specials are not trained on",
			corpus:    []string{"x<eos>x<eos>", "x"},
			vocabSize: 512,
			merges:    nil,
			encode:    map[string][]int{"x<eos>": {120, eosID}, "<bos>a<pad>": {bosID, 97, padID}},
		},
	} {
		b, err := TrainBPE(test.corpus, test.vocabSize)
		if err != nil {
			t.Fatalf("%s: %v", test.name, err)
		}
		if got := mergeStrings(b); !slices.Equal(got, test.merges) {
			t.Errorf("%s: merges: got %q, want %q", test.name, got, test.merges)
		}
		if got, want := b.VocabSize(), firstMergeID+len(test.merges); got != want {
			t.Errorf("%s: VocabSize: got %d, want %d", test.name, got, want)
		}
		if got, want := b.Name(), fmt.Sprintf("bpe:%d", b.VocabSize()); got != want {
			t.Errorf("%s: Name: got %q, want %q", test.name, got, want)
		}
		for s, want := range test.encode {
			if got := b.Encode(s); !slices.Equal(got, want) {
				t.Errorf("%s: Encode(%q): got %v, want %v", test.name, s, got, want)
			}
		}
	}
}

func TestTrainBPEErrors(t *testing.T) {
	for _, n := range []int{-1, 0, 256, 258} {
		_, err := TrainBPE([]string{"aaaa"}, n)
		want := fmt.Sprintf("tokenizer: vocabSize must be at least 259 (256 bytes and 3 special tokens), got %d", n)
		if err == nil || err.Error() != want {
			t.Errorf("TrainBPE(_, %d): got error %v, want %q", n, err, want)
		}
	}
}

func TestBPERoundTrip(t *testing.T) {
	corpus := arithmeticCorpus(300, 1)
	b, err := TrainBPE(corpus, 400)
	if err != nil {
		t.Fatal(err)
	}
	if b.VocabSize() <= firstMergeID {
		t.Fatalf("VocabSize %d: want merges", b.VocabSize())
	}
	r := rand.New(rand.NewPCG(2, 2))
	texts := slices.Clone(corpus)
	for range 500 {
		texts = append(texts, randomText(r, 30))
	}
	for _, s := range texts {
		ids := b.Encode(s)
		if got := b.Decode(ids); got != s {
			t.Errorf("Decode(Encode(%q)) = %q (ids %v)", s, got, ids)
		}
		for _, id := range ids {
			if id < 0 || id >= b.VocabSize() || id == bosID || id == eosID || id == padID {
				t.Errorf("Encode(%q): id %d out of range or special", s, id)
			}
		}
	}
	// The corpus should compress: fewer tokens than bytes.
	var nBytes, nTokens int
	for _, s := range corpus {
		nBytes += len(s)
		nTokens += len(b.Encode(s))
	}
	if nTokens >= nBytes {
		t.Errorf("corpus: %d tokens for %d bytes, want fewer", nTokens, nBytes)
	}
}

func TestBPEDeterministic(t *testing.T) {
	corpus := arithmeticCorpus(200, 3)
	shuffled := slices.Clone(corpus)
	rand.New(rand.NewPCG(4, 4)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	var want [][2]string
	for i, c := range [][]string{corpus, corpus, shuffled} {
		b, err := TrainBPE(c, 350)
		if err != nil {
			t.Fatal(err)
		}
		got := mergeStrings(b)
		if i == 0 {
			want = got
			continue
		}
		if !slices.Equal(got, want) {
			t.Errorf("run %d: merges differ:\ngot  %q\nwant %q", i, got, want)
		}
	}
}

func TestBPESpecialsAndInvalidUTF8(t *testing.T) {
	b, err := TrainBPE(nil, 259)
	if err != nil {
		t.Fatal(err)
	}
	for _, test := range []struct {
		in     string
		ids    []int
		decode string
	}{
		{"1<eos>2", []int{49, eosID, 50}, "12"},
		{"<bos<pad>>", []int{60, 98, 111, 115, padID, 62}, "<bos>"},
		{"\xff", []int{0xef, 0xbf, 0xbd}, "\ufffd"},
		{"a\xc3", []int{97, 0xef, 0xbf, 0xbd}, "a\ufffd"},
	} {
		ids := b.Encode(test.in)
		if !slices.Equal(ids, test.ids) {
			t.Errorf("Encode(%q): got %v, want %v", test.in, ids, test.ids)
		}
		if got := b.Decode(ids); got != test.decode {
			t.Errorf("Decode(%v): got %q, want %q", ids, got, test.decode)
		}
	}
	if got := b.Decode([]int{-1, 104, 9999, 105}); got != "hi" {
		t.Errorf("Decode with unknown ids: got %q, want %q", got, "hi")
	}
}

func BenchmarkBPEEncode(b *testing.B) {
	corpus := arithmeticCorpus(2000, 5)
	bpe, err := TrainBPE(corpus, DefaultBPEVocabSize)
	if err != nil {
		b.Fatal(err)
	}
	text := strings.Join(corpus[:200], " ")
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		bpe.Encode(text)
	}
}
