package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/alignlab/alignlab/datasets"
	"github.com/gomlx/go-huggingface/tokenizers/api"
	"github.com/gomlx/go-huggingface/tokenizers/hftokenizer"
)

// Well-known text forms of the special tokens, tried in order when neither
// tokenizer_config.json nor hftokenizer names one.
var (
	bosNames = []string{"<bos>", "<s>", "<|begin_of_text|>", "<|startoftext|>", "[CLS]"}
	eosNames = []string{"<eos>", "</s>", "<|end_of_text|>", "<|endoftext|>", "[SEP]"}
	padNames = []string{"<pad>", "[PAD]", "<|pad|>", "<|finetune_right_pad_id|>"}
)

// Load reads a HuggingFace tokenizer.json, and the tokenizer_config.json next
// to it if there is one, with hftokenizer (models BPE, WordPiece and
// Unigram). Encode adds no special tokens, whatever the file's
// post-processor says; Decode skips the file's special tokens.
//
// BOS, EOS and PAD are the tokens tokenizer_config.json names (bos_token,
// eos_token, pad_token), else those hftokenizer recognises, else the first
// of the well-known forms ("<bos>", "<s>", …; "<eos>", "</s>", …; "<pad>",
// "[PAD]", …) in the vocabulary. One that is still missing, or that is the
// same token as EOS (or as BOS, for PAD), gets a fresh id after the
// vocabulary, counted in VocabSize: GPT-2's single <|endoftext|> becomes
// EOS, with fresh BOS and PAD ids.
//
// Errors are *datasets.Error naming the file, and the line and field where
// known.
func Load(path string) (Tokenizer, error) {
	content, err := readJSON(path)
	if err != nil {
		return nil, err
	}
	var head struct {
		Model struct {
			Type string `json:"type"`
		} `json:"model"`
	}
	if err := json.Unmarshal(content, &head); err != nil {
		return nil, jsonError(path, content, err)
	}
	switch head.Model.Type {
	case "BPE", "WordPiece", "Unigram":
	case "":
		return nil, datasets.Errorf(path, 0, "model.type", "missing; want BPE, WordPiece or Unigram")
	default:
		return nil, datasets.Errorf(path, 0, "model.type", "want BPE, WordPiece or Unigram, got %q", head.Model.Type)
	}
	config, err := readConfig(filepath.Join(filepath.Dir(path), "tokenizer_config.json"))
	if err != nil {
		return nil, err
	}
	// NewFromContent is NewFromFile without reading the file a second time.
	hf, err := hftokenizer.NewFromContent(config, content)
	if err != nil {
		return nil, datasets.Errorf(path, 0, "", "%v", err)
	}
	if err := hf.With(api.EncodeOptions{}); err != nil {
		return nil, datasets.Errorf(path, 0, "", "%v", err)
	}
	return newHF(path, hf, config), nil
}

// readJSON reads a file, its errors naming it.
func readJSON(path string) ([]byte, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, datasets.Errorf(path, 0, "", "cannot read: %v", err)
	}
	return content, nil
}

// jsonError locates a JSON decoding error of content, read from file.
func jsonError(file string, content []byte, err error) error {
	line := func(offset int64) int {
		return 1 + bytes.Count(content[:min(int(offset), len(content))], []byte{'\n'})
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return datasets.Errorf(file, line(se.Offset), "", "invalid JSON: %v", se)
	case errors.As(err, &te):
		return datasets.Errorf(file, line(te.Offset), te.Field, "want a JSON %v, got %s", te.Type, te.Value)
	}
	return datasets.Errorf(file, 0, "", "%v", err)
}

// readConfig reads the special-token names of a tokenizer_config.json, or
// returns nil if there is none. It reads the file itself because
// api.ParseConfigFile rejects the older form of these fields, an object
// {"content": "<s>", …} instead of the string.
func readConfig(path string) (*api.Config, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	content, err := readJSON(path)
	if err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(content, &raw); err != nil {
		return nil, jsonError(path, content, err)
	}
	config := &api.Config{ConfigFile: path}
	for _, f := range []struct {
		field string
		dst   *string
	}{
		{"bos_token", &config.BosToken}, {"eos_token", &config.EosToken}, {"pad_token", &config.PadToken},
		{"unk_token", &config.UnkToken}, {"cls_token", &config.ClsToken}, {"sep_token", &config.SepToken},
		{"mask_token", &config.MaskToken},
	} {
		field, dst := f.field, f.dst
		v, ok := raw[field]
		if !ok || string(v) == "null" {
			continue
		}
		var obj struct {
			Content string `json:"content"`
		}
		if json.Unmarshal(v, dst) != nil && json.Unmarshal(v, &obj) != nil {
			return nil, datasets.Errorf(path, 0, field, "want a string or {\"content\": string}, got %s", v)
		}
		if obj.Content != "" {
			*dst = obj.Content
		}
	}
	return config, nil
}

// hfTokenizer is a tokenizer.json read by hftokenizer.
type hfTokenizer struct {
	name          string
	hf            *hftokenizer.Tokenizer
	fileSize      int // one more than the file's largest id
	bos, eos, pad int
	special       map[int]bool // ids Decode skips
}

var _ Tokenizer = (*hfTokenizer)(nil)

func newHF(path string, hf *hftokenizer.Tokenizer, config *api.Config) *hfTokenizer {
	t := &hfTokenizer{name: "hf:" + path, hf: hf, special: map[int]bool{}}
	for _, id := range hf.GetVocab() {
		t.fileSize = max(t.fileSize, id+1)
	}
	for _, at := range hf.AddedTokensList() {
		if at.Special {
			t.special[at.ID] = true
		}
	}
	next := t.fileSize
	resolve := func(configName string, kind api.SpecialToken, names []string, taken ...int) int {
		id := -1
		if configName != "" {
			if i, ok := hf.TokenToID(configName); ok {
				id = i
			}
		}
		if id < 0 {
			if i, err := hf.SpecialTokenID(kind); err == nil {
				id = i
			}
		}
		for _, name := range names {
			if id >= 0 {
				break
			}
			if i, ok := hf.TokenToID(name); ok {
				id = i
			}
		}
		if id < 0 || slices.Contains(taken, id) {
			id = next
			next++
		}
		t.special[id] = true
		return id
	}
	var c api.Config
	if config != nil {
		c = *config
	}
	t.eos = resolve(c.EosToken, api.TokEndOfSentence, eosNames)
	t.bos = resolve(c.BosToken, api.TokBeginningOfSentence, bosNames, t.eos)
	t.pad = resolve(c.PadToken, api.TokPad, padNames, t.eos, t.bos)
	return t
}

func (t *hfTokenizer) Encode(s string) []int { return t.hf.Encode(s) }

func (t *hfTokenizer) Decode(ids []int) string {
	kept := make([]int, 0, len(ids))
	for _, id := range ids {
		if !t.special[id] {
			kept = append(kept, id)
		}
	}
	return t.hf.Decode(kept)
}

func (t *hfTokenizer) VocabSize() int { return max(t.fileSize, t.bos+1, t.eos+1, t.pad+1) }
func (t *hfTokenizer) BOS() int       { return t.bos }
func (t *hfTokenizer) EOS() int       { return t.eos }
func (t *hfTokenizer) PAD() int       { return t.pad }
func (t *hfTokenizer) Name() string   { return t.name }
