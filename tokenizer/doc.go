// Package tokenizer turns text into token ids and back for the small
// language-model policies of the lab, with nothing to download: a
// byte-level tokenizer, a byte-level BPE trained on the run's own corpus,
// and HuggingFace tokenizer.json files read from disk.
//
// # Ids
//
// Byte and BPE share their first ids:
//
//	0…255   the bytes of the text
//	256     <bos>  (BOS)
//	257     <eos>  (EOS)
//	258     <pad>  (PAD)
//	259…    BPE's merged tokens, in the order they were learned
//
// so every string, in any script, encodes: a byte no merge covers stays its
// own token, and a BPE without merges encodes UTF-8 text as Byte does (but
// see tokenizer.json below for two exceptions).
//
// # Training a BPE
//
// TrainBPE cuts each corpus line into words, so that no token spans two
// words: a run of letters, of digits or of other non-space characters,
// each with at most one leading space, or a single whitespace character
// ("12+7= 19 ok!" gives "12", "+", "7", "=", " 19", " ok", "!"). As a
// regular expression (in Go quotes, as it starts with a space):
//
//	` ?\p{L}+| ?\p{N}+| ?[^\p{L}\p{N}\t\n\v\f\r ]+|[\t\n\v\f\r ]`
//
// Starting from the 256 single bytes it then repeats:
//
//  1. count each pair of adjacent tokens within each word, once per
//     occurrence, over all words;
//  2. take the pair with the highest count; among equal counts, the one
//     whose left token's bytes are lexicographically smallest, then whose
//     right token's are;
//  3. make the pair's concatenation a token (reusing its id if it already
//     is one) and replace the pair in every word, left to right.
//
// It stops when the vocabulary, bytes and specials included, reaches the
// size asked for, or when the best pair occurs only once. The same corpus
// therefore always gives the same merges. For corpus {"aaab", "aab"} the
// counts are aa 3, ab 2: the one merge is a+a → "aa" (id 259), after which
// no pair occurs twice, and "aaab" encodes to [259 97 98].
//
// Encoding cuts the text into words the same way and, within each word,
// applies the learned merges by rank: the earliest learned merge that occurs,
// at its leftmost occurrence, until none does.
//
// # tokenizer.json
//
// BPE.WriteJSON writes a HuggingFace tokenizer.json (see WriteJSON for its
// parts) and Load reads one with github.com/gomlx/go-huggingface's
// hftokenizer. For a BPE written by WriteJSON, the loaded tokenizer's Encode
// and Decode give the same results as the BPE's own; the package's tests
// check this. To agree with hftokenizer the BPE follows it in two places:
// the text forms "<bos>", "<eos>" and "<pad>" inside a string encode to the
// special ids (so Decode, which skips specials, drops them), and each byte
// that is not valid UTF-8 encodes as U+FFFD. Byte has neither rule: it
// encodes every byte as itself.
package tokenizer
