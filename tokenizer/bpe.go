package tokenizer

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// splitPattern cuts text into the words BPE works within: a run of letters,
// of digits or of other non-space characters, each with at most one leading
// space, or a single whitespace character. BPE runs it as wordEnd; it is
// written to tokenizer.json, so it must mean the same to Go's regexp
// (hftokenizer's) and to Oniguruma (the Rust tokenizers'): hence the
// explicit whitespace class, since Go's \s is ASCII only and Oniguruma's is
// not. Its words hold a space only in front, which keeps hftokenizer's
// ByteLevel step (it also splits before every space) from cutting them again.
const splitPattern = ` ?\p{L}+| ?\p{N}+| ?[^\p{L}\p{N}\t\n\v\f\r ]+|[\t\n\v\f\r ]`

// wordEnd returns the length of the first word of s (s not empty) as
// splitPattern cuts it; it is that regular expression by hand, several times
// faster (the package's tests check that the two agree).
func wordEnd(s string) int {
	r, n := utf8.DecodeRuneInString(s)
	c := runeClass(r)
	if r == ' ' && n < len(s) {
		r2, n2 := utf8.DecodeRuneInString(s[n:])
		if c2 := runeClass(r2); c2 != classSpace {
			c, n = c2, n+n2
		}
	}
	if c == classSpace {
		return n
	}
	for n < len(s) {
		r, m := utf8.DecodeRuneInString(s[n:])
		if runeClass(r) != c {
			break
		}
		n += m
	}
	return n
}

// The character classes of splitPattern.
const (
	classLetter = iota
	classNumber
	classSpace
	classOther
)

func runeClass(r rune) int {
	switch {
	case r == ' ' || '\t' <= r && r <= '\r':
		return classSpace
	case unicode.IsLetter(r):
		return classLetter
	case unicode.IsNumber(r):
		return classNumber
	}
	return classOther
}

// forWords calls f for each word of s.
func forWords(s string, f func(w string)) {
	for len(s) > 0 {
		n := wordEnd(s)
		f(s[:n])
		s = s[n:]
	}
}

// BPE is a byte-level byte-pair-encoding tokenizer. Its ids are those of
// Byte (bytes 0…255, BOS 256, EOS 257, PAD 258) followed by the merged
// tokens in the order they were learned. Should a merge make bytes that are
// already a token, it reuses that token's id, as the HuggingFace trainer
// does (we have not seen it happen: random corpora give one new token per
// merge).
//
// Make one with TrainBPE; it is immutable and safe for concurrent use.
type BPE struct {
	// tokens holds the bytes of each id; nil for the special ids.
	tokens [][]byte
	// ids maps the bytes of each non-special token to its id.
	ids map[string]int
	// merges[r] is the pair of ids merge r joins into id merged[r].
	merges [][2]int
	merged []int
	// ranks maps pairKey(a, b) to the rank of the merge of a and b.
	ranks map[uint64]int
}

var _ Tokenizer = (*BPE)(nil)

func pairKey(a, b int) uint64 { return uint64(a)<<32 | uint64(uint32(b)) }

func newBPE() *BPE {
	b := &BPE{tokens: make([][]byte, firstMergeID), ids: map[string]int{}, ranks: map[uint64]int{}}
	for i := 0; i < 256; i++ {
		b.tokens[i] = []byte{byte(i)}
		b.ids[string(b.tokens[i])] = i
	}
	return b
}

// addMerge records the merge of ids x and y and returns the id it makes.
func (b *BPE) addMerge(x, y int) int {
	tok := make([]byte, 0, len(b.tokens[x])+len(b.tokens[y]))
	tok = append(append(tok, b.tokens[x]...), b.tokens[y]...)
	id, ok := b.ids[string(tok)]
	if !ok {
		id = len(b.tokens)
		b.tokens = append(b.tokens, tok)
		b.ids[string(tok)] = id
	}
	b.ranks[pairKey(x, y)] = len(b.merges)
	b.merges = append(b.merges, [2]int{x, y})
	b.merged = append(b.merged, id)
	return id
}

// TrainBPE learns a byte-level BPE from corpus. Each line is cut into words
// (see the package documentation); starting from the 256 byte tokens, it
// repeatedly counts the adjacent pairs of tokens within words and merges the
// most frequent pair into a new token. Among pairs of equal count it merges
// the one whose left token's bytes come first lexicographically, then the
// one whose right token's bytes do, so the result depends on the corpus only.
// It stops when the vocabulary, counting the 256 bytes and the 3 special
// tokens, reaches vocabSize, or when no pair occurs twice.
//
// vocabSize must be at least 259.
func TrainBPE(corpus []string, vocabSize int) (*BPE, error) {
	if vocabSize < firstMergeID {
		return nil, fmt.Errorf("tokenizer: vocabSize must be at least %d (256 bytes and 3 special tokens), got %d", firstMergeID, vocabSize)
	}
	counts := map[string]int{}
	for _, line := range corpus {
		splitSpecials(validUTF8(line), func(seg string, special int) {
			if special < 0 {
				forWords(seg, func(w string) { counts[w]++ })
			}
		})
	}
	type word struct {
		ids   []int
		count int
	}
	words := make([]word, 0, len(counts))
	for w, c := range counts {
		ids := make([]int, len(w))
		for i := 0; i < len(w); i++ {
			ids[i] = int(w[i])
		}
		words = append(words, word{ids, c})
	}
	pairs := map[uint64]int{}
	addPairs := func(w word, sign int) {
		for i := 0; i+1 < len(w.ids); i++ {
			k := pairKey(w.ids[i], w.ids[i+1])
			if pairs[k] += sign * w.count; pairs[k] == 0 {
				delete(pairs, k)
			}
		}
	}
	for _, w := range words {
		addPairs(w, 1)
	}

	b := newBPE()
	for len(b.tokens) < vocabSize {
		bestKey, bestCount := uint64(0), 1
		for k, c := range pairs {
			if c > bestCount || c == bestCount && bestCount > 1 && b.pairLess(k, bestKey) {
				bestKey, bestCount = k, c
			}
		}
		if bestCount < 2 {
			break
		}
		x, y := int(bestKey>>32), int(uint32(bestKey))
		id := b.addMerge(x, y)
		for i := range words {
			w := &words[i]
			if !containsPair(w.ids, x, y) {
				continue
			}
			addPairs(*w, -1)
			w.ids = mergePair(w.ids, x, y, id)
			addPairs(*w, 1)
		}
	}
	return b, nil
}

// pairLess orders pairs of ids by the bytes of their left, then right, token.
func (b *BPE) pairLess(k1, k2 uint64) bool {
	if c := bytes.Compare(b.tokens[k1>>32], b.tokens[k2>>32]); c != 0 {
		return c < 0
	}
	return bytes.Compare(b.tokens[uint32(k1)], b.tokens[uint32(k2)]) < 0
}

func containsPair(ids []int, x, y int) bool {
	for i := 0; i+1 < len(ids); i++ {
		if ids[i] == x && ids[i+1] == y {
			return true
		}
	}
	return false
}

// mergePair replaces each occurrence of x, y in ids, left to right and
// without overlap, by id.
func mergePair(ids []int, x, y, id int) []int {
	out := ids[:0]
	for i := 0; i < len(ids); i++ {
		if i+1 < len(ids) && ids[i] == x && ids[i+1] == y {
			out = append(out, id)
			i++
		} else {
			out = append(out, ids[i])
		}
	}
	return out
}

// Encode returns the ids of s: the text forms "<bos>", "<eos>" and "<pad>"
// become the special ids (as they do in HuggingFace tokenizers), the rest is
// cut into words and each word's bytes are merged by rank, the earliest
// learned merge first and, among its occurrences, the leftmost first. Each
// byte of s that is not valid UTF-8 is encoded as U+FFFD, as hftokenizer
// does.
func (b *BPE) Encode(s string) []int {
	var ids []int
	splitSpecials(validUTF8(s), func(seg string, special int) {
		if special >= 0 {
			ids = append(ids, special)
			return
		}
		forWords(seg, func(w string) { ids = b.encodeWord(ids, w) })
	})
	return ids
}

// encodeWord appends the ids of word w to ids.
func (b *BPE) encodeWord(ids []int, w string) []int {
	start := len(ids)
	for i := 0; i < len(w); i++ {
		ids = append(ids, int(w[i]))
	}
	sym := ids[start:]
	for len(sym) > 1 {
		best, at := -1, -1
		for i := 0; i+1 < len(sym); i++ {
			if r, ok := b.ranks[pairKey(sym[i], sym[i+1])]; ok && (at < 0 || r < best) {
				best, at = r, i
			}
		}
		if at < 0 {
			break
		}
		sym[at] = b.merged[best]
		sym = append(sym[:at+1], sym[at+2:]...)
	}
	return ids[:start+len(sym)]
}

// Decode returns the bytes of ids as a string, skipping the special ids and
// ids outside the vocabulary.
func (b *BPE) Decode(ids []int) string {
	var out []byte
	for _, id := range ids {
		if id >= 0 && id < len(b.tokens) {
			out = append(out, b.tokens[id]...)
		}
	}
	return string(out)
}

// VocabSize is 259 plus the number of merged tokens.
func (b *BPE) VocabSize() int { return len(b.tokens) }

// BOS is 256.
func (b *BPE) BOS() int { return bosID }

// EOS is 257.
func (b *BPE) EOS() int { return eosID }

// PAD is 258.
func (b *BPE) PAD() int { return padID }

// Name is "bpe:" followed by VocabSize, which is less than the size asked of
// TrainBPE when training ran out of pairs occurring twice.
func (b *BPE) Name() string { return fmt.Sprintf("bpe:%d", b.VocabSize()) }

// splitSpecials calls visit, in order, for each run of ordinary text in s
// with special = -1 and for each text form of a special token with its id.
// The special forms start with '<', which is never inside a multi-byte UTF-8
// sequence, so scanning bytes finds what hftokenizer's scan of runes finds.
func splitSpecials(s string, visit func(seg string, special int)) {
	start := 0
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			break
		}
		i += j
		id := -1
		for k, sp := range specials {
			if strings.HasPrefix(s[i:], sp) {
				id = bosID + k
				break
			}
		}
		if id < 0 {
			i++
			continue
		}
		if start < i {
			visit(s[start:i], -1)
		}
		visit(s[i:i+len(specials[id-bosID])], id)
		i += len(specials[id-bosID])
		start = i
	}
	if start < len(s) {
		visit(s[start:], -1)
	}
}

// validUTF8 replaces each byte of s that is not part of valid UTF-8 by
// U+FFFD, as ranging over the string does.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var sb strings.Builder
	for _, r := range s {
		sb.WriteRune(r)
	}
	return sb.String()
}
