// Package decoder is the transformer policy every family of the lab can use
// on text: a decoder-only language model π(y_t | x, y<t) built on GoMLX's
// own model zoo (ml/zoo/transformer, GoMLX v0.28.16), with what alignment
// training needs around it.
//
//   - Sizes: SizeConfig("test" ≈ 42k weights, "small" ≈ 0.18M, "notebook"
//     ≈ 1.3M) at a vocabulary and sequence length. Blocks are the zoo's
//     standard ones: post-norm (LayerNorm after each residual sum), RoPE
//     positions (base 10000), a causal mask, approximate GELU, biases, a
//     final LayerNorm and an untied output layer; float32 by default.
//   - Batches: Encode lays out [BOS, prompt…, completion…, EOS] as
//     next-token rows, right-padded; Mask marks the completion targets
//     (EOS included), the tokens log π(y | x) sums over.
//   - Log-probs: TokenLogProbsGraph (the log-softmax gathered at the
//     targets, and the full log-softmax for token-level KLs),
//     SeqLogProbsGraph (Σ_t mask·log π) for training graphs on
//     Model.Store(); TokenLogProbs, SeqLogProbs and Logits to evaluate.
//   - A reward head (RewardGraph, InitHead, Rewards): r(x, y) = w·h_L + b on
//     the last hidden state at the last real token.
//   - Sampling (Sample): token by token with temperature, top-k and top-p,
//     every draw from the caller's *rand.Rand; no KV cache (sequences are
//     short: each step reruns the whole window).
//   - Artifacts: Save writes GoMLX's checkpoint format (weights only, no
//     optimizer state) and manifest.json (shape, tokenizer, the saving
//     plugin's params); Load reads it back bit for bit. LoadHF reads a local
//     HuggingFace GPT-2 checkpoint (config.json + model.safetensors).
//
// Models run on the backend of package backend seen through a view whose
// graphs compute the approximate GELU's gradient (gelu_new's) from
// elementwise ops: under GOEXPERIMENT=simd the Go backend's fused GELU
// gradient (compute v0.1.14) is off by up to 0.12 (bench/simd). The
// forward pass keeps the fused GELU, bit for bit.
//
// A batch of B ≥ RowShards·MinShardRows (32) rows runs as RowShards (2)
// row shards: independent chains of ops, forward and backward, that the Go
// backend runs concurrently on two cores or more. The shard count does not
// depend on the cores, so a seeded run gives the same numbers anywhere.
//
// Only the pure-Go backend is compiled in by default (see package backend).
// Measured against PyTorch 1.13 on the same transformer (bench/lm: same
// weights, same loss to 1e-6), the small transformer's training step takes
// 1.25× PyTorch's time on one core and 0.78× on two; greedy generation runs
// 1.2× PyTorch's speed on one core and 1.8× on two. RoPE is the zoo's,
// laid out for the backend's SIMD kernels (rope.go).
package decoder
