package tokenizer

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Tokenizer turns text into token ids and back.
//
// Implementations are safe for concurrent use.
type Tokenizer interface {
	// Encode returns the ids of s. It adds no special tokens of its own.
	Encode(s string) []int
	// Decode returns the text of ids, skipping special and unknown ids.
	Decode(ids []int) string
	// VocabSize is one more than the largest id, special tokens included.
	VocabSize() int
	// BOS is the id of the beginning-of-sequence token.
	BOS() int
	// EOS is the id of the end-of-sequence token.
	EOS() int
	// PAD is the id of the padding token; BOS, EOS and PAD are distinct.
	PAD() int
	// Name says what the tokenizer is: "byte", "bpe:<vocab size>" or
	// "hf:<file>".
	Name() string
}

// The special tokens of Byte and BPE, at the same ids in both.
const (
	bosID = 256
	eosID = 257
	padID = 258
	// firstMergeID is the id of a BPE's first merged token.
	firstMergeID = 259
)

// specials are the text forms of BOS, EOS and PAD, indexed by id-bosID, as
// written to tokenizer.json.
var specials = [3]string{"<bos>", "<eos>", "<pad>"}

// Byte returns the byte-level tokenizer: the ids 0…255 are the bytes of the
// text, BOS, EOS and PAD are 256, 257 and 258, and VocabSize is 259.
// Decode(Encode(s)) == s for every string, valid UTF-8 or not.
func Byte() Tokenizer { return byteTokenizer{} }

type byteTokenizer struct{}

var _ Tokenizer = byteTokenizer{}

func (byteTokenizer) Encode(s string) []int {
	ids := make([]int, len(s))
	for i := 0; i < len(s); i++ {
		ids[i] = int(s[i])
	}
	return ids
}

func (byteTokenizer) Decode(ids []int) string {
	b := make([]byte, 0, len(ids))
	for _, id := range ids {
		if id >= 0 && id < 256 {
			b = append(b, byte(id))
		}
	}
	return string(b)
}

func (byteTokenizer) VocabSize() int { return firstMergeID }
func (byteTokenizer) BOS() int       { return bosID }
func (byteTokenizer) EOS() int       { return eosID }
func (byteTokenizer) PAD() int       { return padID }
func (byteTokenizer) Name() string   { return "byte" }

// DefaultBPEVocabSize is the vocabulary size FromName("bpe", corpus) trains to.
const DefaultBPEVocabSize = 512

// FromName returns the tokenizer a name stands for:
//
//	"byte"     Byte()
//	"bpe"      TrainBPE(corpus, DefaultBPEVocabSize)
//	"bpe:N"    TrainBPE(corpus, N)
//	otherwise  Load(name), a path to a tokenizer.json
//
// corpus is used only by the "bpe" forms.
func FromName(name string, corpus []string) (Tokenizer, error) {
	switch {
	case name == "byte":
		return Byte(), nil
	case name == "bpe":
		return TrainBPE(corpus, DefaultBPEVocabSize)
	case strings.HasPrefix(name, "bpe:"):
		n, err := strconv.Atoi(name[len("bpe:"):])
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %q: want bpe:N with N an integer", name)
		}
		return TrainBPE(corpus, n)
	}
	if _, err := os.Stat(name); err != nil {
		return nil, fmt.Errorf("tokenizer: unknown tokenizer %q (want byte, bpe, bpe:N or the path of a tokenizer.json)", name)
	}
	return Load(name)
}
