package tokenizer_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/alignlab/alignlab/tokenizer"
)

func ExampleByte() {
	tok := tokenizer.Byte()
	ids := tok.Encode("3+4=é")
	fmt.Println(tok.Name(), tok.VocabSize(), ids)
	fmt.Printf("%q\n", tok.Decode(append([]int{tok.BOS()}, append(ids, tok.EOS())...)))
	// Output:
	// byte 259 [51 43 52 61 195 169]
	// "3+4=é"
}

// Merges stay within words. The pairs " "+"o" and "o"+"k" both occur 3
// times; " " sorts before "o", so " o" is merged first (259), then " ok"
// (260), then "1"+"2", which occurs twice (261).
func ExampleTrainBPE() {
	corpus := []string{"12+7=", "19 ok!", "3+4=", "7 ok!", "12+3=", "15 ok!", "2+7=", "9"}
	bpe, err := tokenizer.TrainBPE(corpus, 300)
	if err != nil {
		panic(err)
	}
	ids := bpe.Encode("12+7= 19 ok!")
	fmt.Println(bpe.Name(), ids)
	var tokens []string
	for _, id := range ids {
		tokens = append(tokens, bpe.Decode([]int{id}))
	}
	fmt.Printf("%q\n", tokens)
	_, err = tokenizer.TrainBPE(corpus, 100)
	fmt.Println(err)
	// Output:
	// bpe:262 [261 43 55 61 32 49 57 260 33]
	// ["12" "+" "7" "=" " " "1" "9" " ok" "!"]
	// tokenizer: vocabSize must be at least 259 (256 bytes and 3 special tokens), got 100
}

// A trained BPE saved as tokenizer.json and read back with hftokenizer
// encodes the same.
func ExampleBPE_WriteJSON() {
	bpe, err := tokenizer.TrainBPE([]string{"12+7=", "19 ok!", "3+4=", "7 ok!", "12+3=", "15 ok!"}, 300)
	if err != nil {
		panic(err)
	}
	dir, err := os.MkdirTemp("", "tokenizer")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "tokenizer.json")
	f, err := os.Create(path)
	if err != nil {
		panic(err)
	}
	if err := bpe.WriteJSON(f); err != nil {
		panic(err)
	}
	if err := f.Close(); err != nil {
		panic(err)
	}
	hf, err := tokenizer.Load(path)
	if err != nil {
		panic(err)
	}
	fmt.Println(bpe.Encode("12+3= 15 ok!"), bpe.VocabSize())
	fmt.Println(hf.Encode("12+3= 15 ok!"), hf.VocabSize(), hf.BOS(), hf.EOS(), hf.PAD())
	// Output:
	// [261 43 51 61 32 49 53 260 33] 262
	// [261 43 51 61 32 49 53 260 33] 262 256 257 258
}

func ExampleFromName() {
	corpus := []string{"34+43=", "77", "34+43=", "77"}
	for _, name := range []string{"byte", "bpe", "bpe:260", "no/such/tokenizer.json"} {
		tok, err := tokenizer.FromName(name, corpus)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(tok.Name(), tok.Encode("34+43=77"))
	}
	// Output:
	// byte [51 52 43 52 51 61 55 55]
	// bpe:262 [259 43 260 61 261]
	// bpe:260 [259 43 52 51 61 55 55]
	// tokenizer: unknown tokenizer "no/such/tokenizer.json" (want byte, bpe, bpe:N or the path of a tokenizer.json)
}
