package tokenizer

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
)

// byteRunes is the byte-to-character table of byte-level BPE (GPT-2's, which
// tokenizer.json's ByteLevel steps use): printable Latin-1 bytes stand for
// themselves, the other bytes, in order, for U+0100 onwards, so every token is
// a printable string without spaces.
var byteRunes = func() (t [256]rune) {
	next := rune(256)
	for i := range t {
		switch {
		case '!' <= i && i <= '~', 0xA1 <= i && i <= 0xAC, 0xAE <= i && i <= 0xFF:
			t[i] = rune(i)
		default:
			t[i] = next
			next++
		}
	}
	return t
}()

// byteLevel returns the tokenizer.json form of a token's bytes.
func byteLevel(tok []byte) string {
	var sb strings.Builder
	for _, c := range tok {
		sb.WriteRune(byteRunes[c])
	}
	return sb.String()
}

// The parts of tokenizer.json that WriteJSON writes, in HuggingFace's order.
type (
	hfFile struct {
		Version       string      `json:"version"`
		Truncation    *struct{}   `json:"truncation"`
		Padding       *struct{}   `json:"padding"`
		AddedTokens   []hfAdded   `json:"added_tokens"`
		Normalizer    *struct{}   `json:"normalizer"`
		PreTokenizer  hfPreTok    `json:"pre_tokenizer"`
		PostProcessor *struct{}   `json:"post_processor"`
		Decoder       hfByteLevel `json:"decoder"`
		Model         hfModel     `json:"model"`
	}
	hfAdded struct {
		ID         int    `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		Lstrip     bool   `json:"lstrip"`
		Rstrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
		Special    bool   `json:"special"`
	}
	hfPreTok struct {
		Type          string `json:"type"`
		PreTokenizers []any  `json:"pretokenizers"`
	}
	hfSplit struct {
		Type     string            `json:"type"`
		Pattern  map[string]string `json:"pattern"`
		Behavior string            `json:"behavior"`
		Invert   bool              `json:"invert"`
	}
	hfByteLevel struct {
		Type           string `json:"type"`
		AddPrefixSpace bool   `json:"add_prefix_space"`
		TrimOffsets    bool   `json:"trim_offsets"`
		UseRegex       bool   `json:"use_regex"`
	}
	hfModel struct {
		Type                    string   `json:"type"`
		Dropout                 *float64 `json:"dropout"`
		UnkToken                *string  `json:"unk_token"`
		ContinuingSubwordPrefix *string  `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string  `json:"end_of_word_suffix"`
		FuseUnk                 bool     `json:"fuse_unk"`
		ByteFallback            bool     `json:"byte_fallback"`
		IgnoreMerges            bool     `json:"ignore_merges"`
		Vocab                   hfVocab  `json:"vocab"`
		Merges                  []string `json:"merges"`
	}
)

// hfVocab is the token strings by id; it marshals to a JSON object in id
// order (a Go map would come out sorted by key).
type hfVocab []string

func (v hfVocab) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	buf.WriteByte('{')
	for id, tok := range v {
		if id > 0 {
			buf.WriteByte(',')
		}
		if err := enc.Encode(tok); err != nil {
			return nil, err
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
		buf.WriteByte(':')
		if err := enc.Encode(id); err != nil {
			return nil, err
		}
		buf.Truncate(buf.Len() - 1)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// WriteJSON writes b as a HuggingFace tokenizer.json that Load, hftokenizer
// and the HuggingFace tokenizers library read as the same tokenizer: model
// "BPE" with the vocabulary in GPT-2's byte-level characters and the merges
// in rank order; pre-tokenizer a Sequence of a Split on the word pattern
// (behavior Isolated) and a ByteLevel step without its own regex or prefix
// space; decoder ByteLevel; no normalizer and no post-processor; and
// "<bos>", "<eos>", "<pad>" as special added tokens at 256, 257 and 258
// (also in the model's vocabulary, which keeps its ids contiguous).
func (b *BPE) WriteJSON(w io.Writer) error {
	vocab := make(hfVocab, len(b.tokens))
	for id, tok := range b.tokens {
		vocab[id] = byteLevel(tok)
	}
	var added []hfAdded
	for k, sp := range specials {
		vocab[bosID+k] = sp
		added = append(added, hfAdded{ID: bosID + k, Content: sp, Special: true})
	}
	merges := make([]string, len(b.merges))
	for r, m := range b.merges {
		merges[r] = byteLevel(b.tokens[m[0]]) + " " + byteLevel(b.tokens[m[1]])
	}
	byteLevelStep := hfByteLevel{Type: "ByteLevel", TrimOffsets: true}
	f := hfFile{
		Version:     "1.0",
		AddedTokens: added,
		PreTokenizer: hfPreTok{Type: "Sequence", PreTokenizers: []any{
			hfSplit{Type: "Split", Pattern: map[string]string{"Regex": splitPattern}, Behavior: "Isolated"},
			byteLevelStep,
		}},
		Decoder: byteLevelStep,
		Model:   hfModel{Type: "BPE", Vocab: vocab, Merges: merges},
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(f)
}
