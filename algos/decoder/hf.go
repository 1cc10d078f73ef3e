package decoder

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
	"github.com/gomlx/compute/dtypes/bfloat16"
	"github.com/gomlx/compute/dtypes/float16"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/layers/attention"
	"github.com/gomlx/gomlx/ml/layers/attention/pos"
	"github.com/gomlx/gomlx/ml/layers/norm"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/zoo/transformer"
)

// The files of a HuggingFace checkpoint that LoadHF reads.
const (
	HFConfigFile  = "config.json"
	HFWeightsFile = "model.safetensors"
)

// LoadHF reads a local HuggingFace GPT-2 checkpoint (dir/config.json and
// dir/model.safetensors, as written by transformers' save_pretrained) into a
// Model on the backend named by backendConfig ("" is the pure-Go backend).
// Nothing is downloaded; the tokenizer (dir/tokenizer.json) is not read here.
//
// Supported: model_type "gpt2" with vocab_size, n_embd, n_layer, n_head and
// n_positions given; n_inner (null: 4·n_embd); layer_norm_epsilon (default
// 1e-5); activation_function "gelu_new" (the default); weights in F32, F16
// or BF16 (computed in float32), with or without the "transformer." prefix;
// the buffers attn.bias and attn.masked_bias and a tied lm_head.weight are
// skipped. The model computes GPT-2's forward exactly, up to float32
// rounding:
//
//	h₀ = wte[x_t] + wpe[t]
//	a  = h + c_proj(Attn(c_attn(LN₁(h))))  causal, scores q·k/√head_dim
//	h' = a + c_proj(gelu_new(c_fc(LN₂(a))))
//	logits = LN_f(h_L)·wteᵀ
//
// Not supported (an error names the file and key): other model types or
// activations, scale_attn_weights false, scale_attn_by_inverse_layer_idx,
// add_cross_attention, untied output weights (tie_word_embeddings false),
// sharded checkpoints (model.safetensors.index.json) and other dtypes.
//
// Differences from a HuggingFace model that remain:
//   - The output matrix is a copy of wteᵀ: tied at load, but fine-tuning
//     updates the two separately, and NumParams counts both.
//   - GoMLX's transformer blocks are post-norm, so the GPT-2 blocks run
//     inside the positional encoder hook of a one-block zoo transformer whose
//     block is frozen at zero (an exact identity, 8·n_embd + 4 weights, not
//     trained).
//   - Dropout (resid/embd/attn_pdrop) is not applied when training.
//   - Clone, Save and Load rebuild the alignlab architecture and so cannot
//     carry a GPT-2 model yet: its clone fails at the first evaluation with
//     a variable shape mismatch.
func LoadHF(dir, backendConfig string) (m *Model, err error) {
	hc, err := readHFConfig(filepath.Join(dir, HFConfigFile))
	if err != nil {
		return nil, err
	}
	weightsPath := filepath.Join(dir, HFWeightsFile)
	st, err := readSafetensors(weightsPath)
	if err != nil {
		return nil, err
	}
	values, err := hc.mapWeights(weightsPath, st)
	if err != nil {
		return nil, err
	}
	be, err := getBackend(backendConfig)
	if err != nil {
		return nil, err
	}
	defer fit.Catch("decoder", &err)
	m = &Model{Config: hc.config(), backend: be, store: model.NewStore()}
	if err := m.store.SetRNGStateFromSeed(0); err != nil {
		return nil, err
	}
	loaded := map[string]bool{}
	for p, t := range values {
		if _, err := m.store.CreateVariable(p, t); err != nil {
			return nil, fmt.Errorf("decoder: %s: %w", weightsPath, err)
		}
		loaded[p] = true
	}
	m.buildGPT2(hc.eps)
	// One evaluation (of one token: n_positions of a real checkpoint would
	// take minutes on the Go backend) creates the identity block's
	// variables; zeroing them is what makes it the identity.
	one := &Batch{B: 1, L: 1, Inputs: []int32{0}, Targets: []int32{0}, Mask: []float32{0}, Lengths: []int32{1}, PromptLen: []int{0}}
	if _, err := m.TokenLogProbs(one); err != nil {
		return nil, err
	}
	for v := range m.store.IterVariables() {
		p := v.Path()
		switch {
		case strings.HasPrefix(p, identityBlock+"/"):
			if err := v.SetValue(tensors.FromShape(v.Shape())); err != nil {
				return nil, err
			}
		case strings.HasPrefix(p, "/"+scopePolicy+"/") && !loaded[p]:
			return nil, fmt.Errorf("decoder: LoadHF: the model has a variable %s that no tensor of %s fills", p, weightsPath)
		}
	}
	m.freezeIdentity()
	return m, nil
}

// freezeIdentity keeps training away from the identity block's weights
// (a checkpoint does not record which variables are trainable).
func (m *Model) freezeIdentity() {
	for v := range m.store.IterVariables() {
		if strings.HasPrefix(v.Path(), identityBlock+"/") {
			v.SetTrainable(false)
		}
	}
}

// ArchGPT2 is Config.Arch of models read by LoadHF.
const ArchGPT2 = "gpt2"

// identityBlock is the scope of the zoo's own (single, zeroed) block.
const identityBlock = "/" + scopePolicy + "/layer_0"

// buildGPT2 configures the zoo transformer for GPT-2: its embeddings, final
// LayerNorm and output matrix are the zoo's; the blocks are gpt2Blocks,
// run as the zoo's positional encoder, followed by one zoo block of width
// one that LoadHF zeroes into the identity.
func (m *Model) buildGPT2(eps float64) {
	c := m.Config
	m.zoo = transformer.New(m.store.RootScope().At(scopePolicy)).
		WithVocabSize(c.Vocab).WithEmbedDim(c.Dim).WithNumLayers(1).
		WithNumHeads(1).WithHeadDim(1).WithFFNDim(1).
		WithMaxPosEmbed(c.MaxLen).WithDType(c.dtype()).
		WithNormalization(layers.NormalizationNone).
		WithFinalNormalization(layers.NormalizationLayerNorm).WithNormEpsilon(eps)
	m.zoo.WithPositionalEncoder(&gpt2Blocks{zoo: m.zoo, cfg: c, eps: eps})
	m.freezeIdentity()
}

// gpt2Blocks adds GPT-2's learned absolute positions to the token
// embeddings and runs its pre-norm blocks: a pos.PreEncoder, because that
// is the one place the zoo transformer lets a caller's graph code in.
type gpt2Blocks struct {
	zoo *transformer.Model // its Scope is the policy's scope of the graph being built
	cfg Config
	eps float64
}

var _ pos.PreEncoder = (*gpt2Blocks)(nil)

// Name implements pos.Encoder.
func (b *gpt2Blocks) Name() string { return "gpt2" }

// PreEncode implements pos.PreEncoder: x is wte[tokens] [B, L, D].
func (b *gpt2Blocks) PreEncode(x, positions *Node, seqAxis int) *Node {
	scope := b.zoo.Scope
	h := pos.NewLearned(scope, b.cfg.MaxLen, b.cfg.Dim).PreEncode(x, positions, seqAxis)
	blocks := scope.In("gpt2")
	for l := range b.cfg.Layers {
		h = b.block(blocks.In("h_%d", l), h)
	}
	return h
}

func (b *gpt2Blocks) block(scope *model.Scope, h *Node) *Node {
	dims := h.Shape().Dimensions
	B, L, D, H := dims[0], dims[1], b.cfg.Dim, b.cfg.Heads
	attn := scope.In("attn")
	qkv := layers.Dense(attn.In("c_attn"), b.layerNorm(scope.In("ln_1"), h), true, 3*D)
	qkvs := Split(qkv, -1, 3)
	q := Reshape(qkvs[0], B, L, H, D/H)
	k := Reshape(qkvs[1], B, L, H, D/H)
	v := Reshape(qkvs[2], B, L, H, D/H)
	a, _ := attention.Core(q, k, v, attention.LayoutBSHD, attention.CoreOptions{
		Scale:         1 / math.Sqrt(float64(D/H)),
		UseCausalMask: true,
	})
	h = Add(h, layers.Dense(attn.In("c_proj"), Reshape(a, B, L, D), true, D))
	mlp := scope.In("mlp")
	f := layers.Dense(mlp.In("c_fc"), b.layerNorm(scope.In("ln_2"), h), true, b.cfg.FFN)
	f = activation.GeluApproximate(f) // = gelu_new
	return Add(h, layers.Dense(mlp.In("c_proj"), f, true, D))
}

func (b *gpt2Blocks) layerNorm(scope *model.Scope, x *Node) *Node {
	return norm.LayerNorm(scope, x, -1).Epsilon(b.eps).Done()
}

// hfConfig is the part of a GPT-2 config.json that shapes the model.
type hfConfig struct {
	vocab, dim, layers, heads, inner, positions int
	eps                                         float64
}

func (hc hfConfig) config() Config {
	return Config{Vocab: hc.vocab, Dim: hc.dim, Layers: hc.layers, Heads: hc.heads, FFN: hc.inner, MaxLen: hc.positions, DType: "float32", Arch: ArchGPT2, NormEps: hc.eps}
}

// readHFConfig reads and checks a GPT-2 config.json.
func readHFConfig(path string) (hfConfig, error) {
	var hc hfConfig
	raw, err := os.ReadFile(path)
	if err != nil {
		return hc, fmt.Errorf("decoder: %w", err)
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return hc, fmt.Errorf("decoder: %w", datasets.Errorf(path, 0, "", "not a JSON object: %v", err))
	}
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("decoder: %w", datasets.Errorf(path, lineOf(raw, key), key, format, args...))
	}
	var modelType string
	if err := getKey(keys, "model_type", &modelType); err != nil {
		return hc, bad("model_type", "%v", err)
	}
	if modelType != "gpt2" {
		return hc, bad("model_type", "not supported yet: only gpt2, got %q", modelType)
	}
	for _, f := range []struct {
		key string
		to  *int
	}{{"vocab_size", &hc.vocab}, {"n_embd", &hc.dim}, {"n_layer", &hc.layers}, {"n_head", &hc.heads}, {"n_positions", &hc.positions}} {
		if err := getKey(keys, f.key, f.to); err != nil {
			return hc, bad(f.key, "%v", err)
		}
		if *f.to < 1 {
			return hc, bad(f.key, "must be ≥ 1, got %d", *f.to)
		}
	}
	if hc.dim%hc.heads != 0 {
		return hc, bad("n_head", "n_embd %d is not a multiple of n_head %d", hc.dim, hc.heads)
	}
	hc.inner = 4 * hc.dim
	if err := optKey(keys, "n_inner", &hc.inner); err != nil {
		return hc, bad("n_inner", "%v", err)
	}
	if hc.inner < 1 {
		return hc, bad("n_inner", "must be ≥ 1 or null, got %d", hc.inner)
	}
	hc.eps = 1e-5
	if err := optKey(keys, "layer_norm_epsilon", &hc.eps); err != nil {
		return hc, bad("layer_norm_epsilon", "%v", err)
	}
	if !(hc.eps > 0) {
		return hc, bad("layer_norm_epsilon", "must be > 0, got %v", hc.eps)
	}
	act := "gelu_new"
	if err := optKey(keys, "activation_function", &act); err != nil {
		return hc, bad("activation_function", "%v", err)
	}
	if act != "gelu_new" {
		return hc, bad("activation_function", "not supported yet: only gelu_new, got %q", act)
	}
	for _, f := range []struct {
		key  string
		want bool
	}{{"scale_attn_weights", true}, {"scale_attn_by_inverse_layer_idx", false}, {"add_cross_attention", false}, {"tie_word_embeddings", true}} {
		got := f.want
		if err := optKey(keys, f.key, &got); err != nil {
			return hc, bad(f.key, "%v", err)
		}
		if got != f.want {
			return hc, bad(f.key, "not supported yet: only %v, got %v", f.want, got)
		}
	}
	return hc, nil
}

// getKey decodes the required key into to.
func getKey(keys map[string]json.RawMessage, key string, to any) error {
	v, ok := keys[key]
	if !ok || string(v) == "null" {
		return errors.New("missing")
	}
	if err := json.Unmarshal(v, to); err != nil {
		return fmt.Errorf("want %s, got %s", strings.TrimPrefix(fmt.Sprintf("%T", to), "*"), v)
	}
	return nil
}

// optKey decodes key into to when present and not null.
func optKey(keys map[string]json.RawMessage, key string, to any) error {
	if v, ok := keys[key]; !ok || string(v) == "null" {
		return nil
	}
	return getKey(keys, key, to)
}

// lineOf is the 1-based line of the first `"key"` in raw, 0 if none.
func lineOf(raw []byte, key string) int {
	i := bytes.Index(raw, []byte(`"`+key+`"`))
	if i < 0 {
		return 0
	}
	return 1 + bytes.Count(raw[:i], []byte("\n"))
}

// mapWeights returns the store variables GPT-2's tensors fill, by path,
// checking every tensor's shape against the config.
func (hc hfConfig) mapWeights(path string, st map[string]stTensor) (map[string]*tensors.Tensor, error) {
	V, D, P, F := hc.vocab, hc.dim, hc.positions, hc.inner
	type target struct {
		path  string
		shape []int
	}
	p := "/" + scopePolicy
	want := map[string]target{
		"wte.weight":  {p + "/token_embed/embeddings", []int{V, D}},
		"wpe.weight":  {p + "/pos_embed/embeddings", []int{P, D}},
		"ln_f.weight": {p + "/final_norm/layer_normalization/gain", []int{D}},
		"ln_f.bias":   {p + "/final_norm/layer_normalization/offset", []int{D}},
	}
	for l := range hc.layers {
		h := fmt.Sprintf("h.%d.", l)
		s := fmt.Sprintf("%s/gpt2/h_%d/", p, l)
		for _, ln := range []string{"ln_1", "ln_2"} {
			want[h+ln+".weight"] = target{s + ln + "/layer_normalization/gain", []int{D}}
			want[h+ln+".bias"] = target{s + ln + "/layer_normalization/offset", []int{D}}
		}
		for _, d := range []struct {
			name    string
			in, out int
		}{{"attn.c_attn", D, 3 * D}, {"attn.c_proj", D, D}, {"mlp.c_fc", D, F}, {"mlp.c_proj", F, D}} {
			dir := s + strings.ReplaceAll(d.name, ".", "/") + "/dense/"
			want[h+d.name+".weight"] = target{dir + "weights", []int{d.in, d.out}}
			want[h+d.name+".bias"] = target{dir + "biases", []int{d.out}}
		}
	}
	bad := func(name, format string, args ...any) error {
		return fmt.Errorf("decoder: %w", datasets.Errorf(path, 0, name, format, args...))
	}
	out := map[string]*tensors.Tensor{}
	names := make([]string, 0, len(st))
	for n := range st {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t := st[n]
		key := strings.TrimPrefix(n, "transformer.")
		tg, ok := want[key]
		switch {
		case ok:
		case key == "lm_head.weight":
			tg.shape = []int{V, D} // tied to wte: checked, not used
		case strings.HasSuffix(key, ".attn.bias") || strings.HasSuffix(key, ".attn.masked_bias"):
			continue // the causal mask buffers of older checkpoints
		default:
			return nil, bad(n, "not a GPT-2 weight (not supported)")
		}
		if !equalInts(t.shape, tg.shape) {
			return nil, bad(n, "shape %v, want %v", t.shape, tg.shape)
		}
		if tg.path == "" {
			continue
		}
		if _, dup := out[tg.path]; dup {
			return nil, bad(n, "given twice (with and without the transformer. prefix)")
		}
		out[tg.path] = tensors.FromFlatDataAndDimensions(t.data, t.shape...)
		if key == "wte.weight" {
			out[p+"/output/dense/weights"] = tensors.FromFlatDataAndDimensions(fit.Transposed(t.data, V, D), D, V)
		}
	}
	missing := []string{}
	for n, tg := range want {
		if _, ok := out[tg.path]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, bad(missing[0], "missing (%d GPT-2 weights missing in all)", len(missing))
	}
	return out, nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// stTensor is one tensor of a safetensors file, converted to float32.
type stTensor struct {
	shape []int
	data  []float32
}

// The element sizes of the safetensors dtypes readSafetensors converts.
var stDTypeSize = map[string]int{"F32": 4, "F16": 2, "BF16": 2}

// maxSTHeader bounds the JSON header a safetensors file may declare.
const maxSTHeader = 100 << 20

// readSafetensors reads every tensor of a safetensors file: an 8-byte
// little-endian header length n, n bytes of JSON {name: {dtype, shape,
// data_offsets: [begin, end)}} (offsets relative to the end of the header)
// and the little-endian data. A small reader of our own rather than
// go-huggingface's, whose API starts from a hub.Repo and its cache layout.
func readSafetensors(path string) (map[string]stTensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("decoder: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("decoder: %w", err)
	}
	bad := func(name, format string, args ...any) error {
		return fmt.Errorf("decoder: %w", datasets.Errorf(path, 0, name, format, args...))
	}
	var n uint64
	if err := binary.Read(f, binary.LittleEndian, &n); err != nil {
		return nil, bad("", "not a safetensors file: %v", err)
	}
	if n > maxSTHeader || int64(n) > fi.Size()-8 {
		return nil, bad("", "not a safetensors file: header of %d bytes in a file of %d", n, fi.Size())
	}
	header := make([]byte, n)
	if _, err := io.ReadFull(f, header); err != nil {
		return nil, bad("", "header: %v", err)
	}
	var entries map[string]json.RawMessage
	if err := json.Unmarshal(header, &entries); err != nil {
		return nil, bad("", "header: %v", err)
	}
	base, size := int64(8+n), fi.Size()-int64(8+n)
	out := map[string]stTensor{}
	for name, raw := range entries {
		if name == "__metadata__" {
			continue
		}
		var e struct {
			DType   string  `json:"dtype"`
			Shape   []int   `json:"shape"`
			Offsets []int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, bad(name, "header entry: %v", err)
		}
		es, ok := stDTypeSize[e.DType]
		if !ok {
			return nil, bad(name, "dtype %s not supported (want F32, F16 or BF16)", e.DType)
		}
		count := 1
		for _, d := range e.Shape {
			if d < 0 {
				return nil, bad(name, "negative dimension in shape %v", e.Shape)
			}
			count *= d
		}
		if len(e.Offsets) != 2 || e.Offsets[0] < 0 || e.Offsets[1] < e.Offsets[0] || e.Offsets[1] > size {
			return nil, bad(name, "data_offsets %v outside the %d data bytes", e.Offsets, size)
		}
		if e.Offsets[1]-e.Offsets[0] != int64(count*es) {
			return nil, bad(name, "%d data bytes for shape %v of %s (want %d)", e.Offsets[1]-e.Offsets[0], e.Shape, e.DType, count*es)
		}
		buf := make([]byte, count*es)
		if _, err := f.ReadAt(buf, base+e.Offsets[0]); err != nil {
			return nil, bad(name, "%v", err)
		}
		out[name] = stTensor{shape: e.Shape, data: decodeFloats(buf, e.DType, count)}
	}
	return out, nil
}

// decodeFloats converts count little-endian values of dtype to float32.
func decodeFloats(buf []byte, dtype string, count int) []float32 {
	out := make([]float32, count)
	for i := range out {
		switch dtype {
		case "F32":
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
		case "F16":
			out[i] = float16.FromBits(binary.LittleEndian.Uint16(buf[2*i:])).Float32()
		case "BF16":
			out[i] = bfloat16.FromBits(binary.LittleEndian.Uint16(buf[2*i:])).Float32()
		}
	}
	return out
}
