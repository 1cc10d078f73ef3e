package decoder

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/datasets"
)

// digitTok reads the digits 0–7 as tokens 0–7; BOS, EOS and PAD are 8, 9
// and 10: a vocabulary of 11, the tiny checkpoint's.
type digitTok struct{}

func (digitTok) Encode(s string) []int {
	out := make([]int, len(s))
	for i := range len(s) {
		out[i] = int(s[i] - '0')
	}
	return out
}
func (digitTok) Decode(ids []int) string {
	b := []byte{}
	for _, i := range ids {
		if i < 8 {
			b = append(b, byte('0'+i))
		}
	}
	return string(b)
}
func (digitTok) VocabSize() int { return 11 }
func (digitTok) BOS() int       { return 8 }
func (digitTok) EOS() int       { return 9 }
func (digitTok) PAD() int       { return 10 }

// tolHF bounds |float32 model − float64 reference| of a token log-prob,
// relative to max(1, |log-prob|).
const tolHF = 1e-4

// stEntry is one tensor to write into a safetensors file.
type stEntry struct {
	name  string
	dtype string
	shape []int
	data  []byte
}

func f32Entry(name string, shape []int, x []float32) stEntry {
	b := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return stEntry{name, "F32", shape, b}
}

// writeSafetensors writes the entries in order, as safetensors does.
func writeSafetensors(path string, entries []stEntry) error {
	header := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var data []byte
	for _, e := range entries {
		header[e.name] = map[string]any{"dtype": e.dtype, "shape": e.shape, "data_offsets": []int{len(data), len(data) + len(e.data)}}
		data = append(data, e.data...)
	}
	h, err := json.Marshal(header)
	if err != nil {
		return err
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	out = append(append(out, h...), data...)
	return os.WriteFile(path, out, 0o644)
}

// tinyGPT2 is a GPT-2 checkpoint small enough to check by hand: vocab 11,
// n_embd 8, 2 layers of 2 heads, 16 positions.
type tinyGPT2 struct {
	config  map[string]any
	entries []stEntry
	w       map[string][]float32 // by GPT-2 name, without prefix
}

const (
	tinyV, tinyD, tinyLayers, tinyHeads, tinyP = 11, 8, 2, 2, 16
	tinyF                                      = 4 * tinyD
	tinyEps                                    = 1e-5
)

// newTinyGPT2 draws the weights from seed; scale 0 gives zero matrices and
// biases with unit LayerNorm gains.
func newTinyGPT2(seed uint64, scale float64) *tinyGPT2 {
	r := rand.New(rand.NewPCG(seed, 0x6770_7432))
	g := &tinyGPT2{
		config: map[string]any{
			"model_type": "gpt2", "architectures": []string{"GPT2LMHeadModel"},
			"vocab_size": tinyV, "n_embd": tinyD, "n_layer": tinyLayers, "n_head": tinyHeads,
			"n_positions": tinyP, "n_ctx": tinyP, "n_inner": nil, "layer_norm_epsilon": tinyEps,
			"activation_function": "gelu_new", "resid_pdrop": 0.1, "embd_pdrop": 0.1, "attn_pdrop": 0.1,
		},
		w: map[string][]float32{},
	}
	add := func(name string, center float64, shape ...int) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(center + scale*r.NormFloat64())
		}
		g.w[name] = x
		g.entries = append(g.entries, f32Entry(name, shape, x))
	}
	add("wte.weight", 0, tinyV, tinyD)
	add("wpe.weight", 0, tinyP, tinyD)
	for l := range tinyLayers {
		h := fmt.Sprintf("h.%d.", l)
		add(h+"ln_1.weight", 1, tinyD)
		add(h+"ln_1.bias", 0, tinyD)
		add(h+"attn.c_attn.weight", 0, tinyD, 3*tinyD)
		add(h+"attn.c_attn.bias", 0, 3*tinyD)
		add(h+"attn.c_proj.weight", 0, tinyD, tinyD)
		add(h+"attn.c_proj.bias", 0, tinyD)
		add(h+"ln_2.weight", 1, tinyD)
		add(h+"ln_2.bias", 0, tinyD)
		add(h+"mlp.c_fc.weight", 0, tinyD, tinyF)
		add(h+"mlp.c_fc.bias", 0, tinyF)
		add(h+"mlp.c_proj.weight", 0, tinyF, tinyD)
		add(h+"mlp.c_proj.bias", 0, tinyD)
	}
	add("ln_f.weight", 1, tinyD)
	add("ln_f.bias", 0, tinyD)
	return g
}

// write saves the checkpoint into dir, each tensor name prefixed.
func (g *tinyGPT2) write(dir, prefix string) error {
	b, err := json.MarshalIndent(g.config, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, HFConfigFile), b, 0o644); err != nil {
		return err
	}
	entries := make([]stEntry, len(g.entries))
	for i, e := range g.entries {
		e.name = prefix + e.name
		entries[i] = e
	}
	return writeSafetensors(filepath.Join(dir, HFWeightsFile), entries)
}

// logProbs is GPT-2's forward in float64, written out: log π(· | x_≤t)
// for every position t of tokens.
func (g *tinyGPT2) logProbs(tokens []int) [][]float64 {
	w := func(name string) []float64 {
		out := make([]float64, len(g.w[name]))
		for i, v := range g.w[name] {
			out[i] = float64(v)
		}
		return out
	}
	// affine returns x·W + b for W [in, out] row-major.
	affine := func(x []float64, W, b []float64) []float64 {
		out := append([]float64(nil), b...)
		for i, xi := range x {
			for j := range out {
				out[j] += xi * W[i*len(out)+j]
			}
		}
		return out
	}
	layerNorm := func(x, gain, bias []float64) []float64 {
		mean, vr := 0.0, 0.0
		for _, v := range x {
			mean += v
		}
		mean /= float64(len(x))
		for _, v := range x {
			vr += (v - mean) * (v - mean)
		}
		vr /= float64(len(x))
		out := make([]float64, len(x))
		for i, v := range x {
			out[i] = (v-mean)/math.Sqrt(vr+tinyEps)*gain[i] + bias[i]
		}
		return out
	}
	geluNew := func(x float64) float64 {
		return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
	}
	T, D, hd := len(tokens), tinyD, tinyD/tinyHeads
	wte, wpe := w("wte.weight"), w("wpe.weight")
	h := make([][]float64, T)
	for t, tok := range tokens {
		h[t] = make([]float64, D)
		for i := range D {
			h[t][i] = wte[tok*D+i] + wpe[t*D+i]
		}
	}
	for l := range tinyLayers {
		p := fmt.Sprintf("h.%d.", l)
		qkv := make([][]float64, T)
		for t := range T {
			qkv[t] = affine(layerNorm(h[t], w(p+"ln_1.weight"), w(p+"ln_1.bias")), w(p+"attn.c_attn.weight"), w(p+"attn.c_attn.bias"))
		}
		for t := range T {
			o := make([]float64, D)
			for head := range tinyHeads {
				q := qkv[t][head*hd : (head+1)*hd]
				s := make([]float64, t+1)
				mx := math.Inf(-1)
				for u := range t + 1 {
					k := qkv[u][D+head*hd : D+(head+1)*hd]
					for i := range hd {
						s[u] += q[i] * k[i]
					}
					s[u] /= math.Sqrt(float64(hd))
					mx = math.Max(mx, s[u])
				}
				z := 0.0
				for u := range s {
					s[u] = math.Exp(s[u] - mx)
					z += s[u]
				}
				for u := range s {
					v := qkv[u][2*D+head*hd : 2*D+(head+1)*hd]
					for i := range hd {
						o[head*hd+i] += s[u] / z * v[i]
					}
				}
			}
			a := affine(o, w(p+"attn.c_proj.weight"), w(p+"attn.c_proj.bias"))
			for i := range D {
				h[t][i] += a[i]
			}
		}
		for t := range T {
			f := affine(layerNorm(h[t], w(p+"ln_2.weight"), w(p+"ln_2.bias")), w(p+"mlp.c_fc.weight"), w(p+"mlp.c_fc.bias"))
			for i := range f {
				f[i] = geluNew(f[i])
			}
			m := affine(f, w(p+"mlp.c_proj.weight"), w(p+"mlp.c_proj.bias"))
			for i := range D {
				h[t][i] += m[i]
			}
		}
	}
	out := make([][]float64, T)
	for t := range T {
		x := layerNorm(h[t], w("ln_f.weight"), w("ln_f.bias"))
		logits := make([]float64, tinyV)
		mx := math.Inf(-1)
		for v := range tinyV {
			for i := range D {
				logits[v] += x[i] * wte[v*D+i]
			}
			mx = math.Max(mx, logits[v])
		}
		z := 0.0
		for _, l := range logits {
			z += math.Exp(l - mx)
		}
		for v := range logits {
			logits[v] -= mx + math.Log(z)
		}
		out[t] = logits
	}
	return out
}

// TestLoadHFKnownAnswer compares the loaded model's token log-probs with
// the float64 GPT-2 forward above, on every real position of the rows (one
// fills all 16 positions, so every learned position is used).
func TestLoadHFKnownAnswer(t *testing.T) {
	g := newTinyGPT2(7, 0.5)
	prompts := []string{"01234567", "75", "3"}
	completions := []string{"7654321", "0", ""}
	for _, prefix := range []string{"", "transformer."} {
		dir := t.TempDir()
		if err := g.write(dir, prefix); err != nil {
			t.Fatal(err)
		}
		m, err := LoadHF(dir, "")
		if err != nil {
			t.Fatalf("prefix %q: %v", prefix, err)
		}
		b, err := Encode(digitTok{}, prompts, completions, tinyP, true)
		if err != nil {
			t.Fatal(err)
		}
		for i := range b.B {
			for tt := range b.L {
				b.Mask[i*b.L+tt] = 0
				if tt < int(b.Lengths[i]) {
					b.Mask[i*b.L+tt] = 1
				}
			}
		}
		got, err := m.TokenLogProbs(b)
		if err != nil {
			t.Fatal(err)
		}
		for i := range b.B {
			n := int(b.Lengths[i])
			tokens := make([]int, n)
			for tt := range n {
				tokens[tt] = int(b.Inputs[i*b.L+tt])
			}
			ref := g.logProbs(tokens)
			for tt := range n {
				want := ref[tt][b.Targets[i*b.L+tt]]
				if math.Abs(got[i][tt]-want) > tolHF*math.Max(1, math.Abs(want)) {
					t.Errorf("prefix %q, row %d, position %d: log-prob %v, want %v", prefix, i, tt, got[i][tt], want)
				}
			}
		}
	}
}

// TestLoadHFTrainable: only the zeroed identity block is frozen.
func TestLoadHFTrainable(t *testing.T) {
	dir := t.TempDir()
	if err := newTinyGPT2(1, 0.5).write(dir, ""); err != nil {
		t.Fatal(err)
	}
	m, err := LoadHF(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	frozen := 0
	for v := range m.Store().IterVariables() {
		p := v.Path()
		if !strings.HasPrefix(p, "/"+scopePolicy+"/") {
			continue
		}
		if strings.HasPrefix(p, identityBlock+"/") {
			frozen += v.Shape().Size()
			if v.Trainable {
				t.Errorf("%s: trainable, want frozen", p)
			}
		} else if !v.Trainable {
			t.Errorf("%s: frozen, want trainable", p)
		}
	}
	if want := 8*tinyD + 4; frozen != want {
		t.Errorf("got %d frozen weights, want %d", frozen, want)
	}
}

func TestLoadHFErrors(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(g *tinyGPT2)
		after func(dir string) // run on the written checkpoint
		want  []string
	}{
		{name: "no config", after: func(dir string) { os.Remove(filepath.Join(dir, HFConfigFile)) }, want: []string{HFConfigFile}},
		{name: "no weights", after: func(dir string) { os.Remove(filepath.Join(dir, HFWeightsFile)) }, want: []string{HFWeightsFile}},
		{name: "llama", edit: func(g *tinyGPT2) { g.config["model_type"] = "llama" }, want: []string{HFConfigFile, "model_type", "not supported yet: only gpt2"}},
		{name: "relu", edit: func(g *tinyGPT2) { g.config["activation_function"] = "relu" }, want: []string{HFConfigFile, "activation_function", "relu"}},
		{name: "no n_head", edit: func(g *tinyGPT2) { delete(g.config, "n_head") }, want: []string{HFConfigFile, "n_head: missing"}},
		{name: "untied", edit: func(g *tinyGPT2) { g.config["tie_word_embeddings"] = false }, want: []string{"tie_word_embeddings", "not supported"}},
		{name: "n_embd not a number", edit: func(g *tinyGPT2) { g.config["n_embd"] = "eight" }, want: []string{"n_embd", "want int"}},
		{name: "wrong shape", edit: func(g *tinyGPT2) {
			for i, e := range g.entries {
				if e.name == "h.1.mlp.c_fc.weight" {
					g.entries[i] = f32Entry(e.name, []int{tinyD, tinyF - 1}, make([]float32, tinyD*(tinyF-1)))
				}
			}
		}, want: []string{HFWeightsFile, "h.1.mlp.c_fc.weight", "shape [8 31], want [8 32]"}},
		{name: "missing tensor", edit: func(g *tinyGPT2) {
			g.entries = g.entries[:len(g.entries)-1] // ln_f.bias
		}, want: []string{HFWeightsFile, "ln_f.bias", "missing"}},
		{name: "F64", edit: func(g *tinyGPT2) {
			g.entries[0] = stEntry{"wte.weight", "F64", []int{tinyV, tinyD}, make([]byte, 8*tinyV*tinyD)}
		}, want: []string{HFWeightsFile, "wte.weight", "dtype F64 not supported"}},
		{name: "unknown tensor", edit: func(g *tinyGPT2) {
			g.entries = append(g.entries, f32Entry("h.0.attn.rotary", []int{2}, []float32{1, 2}))
		}, want: []string{"h.0.attn.rotary", "not a GPT-2 weight"}},
		{name: "truncated data", after: func(dir string) {
			p := filepath.Join(dir, HFWeightsFile)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)-4], 0o644)
		}, want: []string{HFWeightsFile, "ln_f.bias", "data_offsets"}},
	}
	for _, c := range cases {
		g := newTinyGPT2(2, 0.5)
		if c.edit != nil {
			c.edit(g)
		}
		dir := t.TempDir()
		if err := g.write(dir, ""); err != nil {
			t.Fatal(err)
		}
		if c.after != nil {
			c.after(dir)
		}
		_, err := LoadHF(dir, "")
		if err == nil {
			t.Errorf("%s: loaded, want an error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: got %q, want it to contain %q", c.name, err, w)
			}
		}
	}
}

// TestLoadHFErrorLine: a config error is a *datasets.Error at the key's line.
func TestLoadHFErrorLine(t *testing.T) {
	dir := t.TempDir()
	cfg := "{\n  \"n_embd\": 8,\n  \"model_type\": \"llama\"\n}\n"
	if err := os.WriteFile(filepath.Join(dir, HFConfigFile), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadHF(dir, "")
	var e *datasets.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want a *datasets.Error", err)
	}
	if e.Line != 3 || e.Field != "model_type" || e.File != filepath.Join(dir, HFConfigFile) {
		t.Fatalf("got file %q line %d field %q, want %q line 3 field model_type", e.File, e.Line, e.Field, filepath.Join(dir, HFConfigFile))
	}
}

// TestSafetensorsHalf reads F16 and BF16 tensors of exactly representable
// values.
func TestSafetensorsHalf(t *testing.T) {
	const tolExactHalf = 0 // every value is exact in both formats
	bits := func(b ...uint16) []byte {
		out := []byte{}
		for _, v := range b {
			out = binary.LittleEndian.AppendUint16(out, v)
		}
		return out
	}
	cases := []struct {
		dtype string
		data  []byte
		want  []float32
	}{
		{"F16", bits(0x3C00, 0xC000, 0x7BFF, 0x0001, 0x3800), []float32{1, -2, 65504, 0x1p-24, 0.5}},
		{"BF16", bits(0x3F80, 0xC000, 0x4780, 0x0001, 0x3F00), []float32{1, -2, 65536, 0x1p-133, 0.5}},
	}
	for _, c := range cases {
		p := filepath.Join(t.TempDir(), HFWeightsFile)
		if err := writeSafetensors(p, []stEntry{{"x", c.dtype, []int{len(c.want)}, c.data}}); err != nil {
			t.Fatal(err)
		}
		st, err := readSafetensors(p)
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range c.want {
			if got := st["x"].data[i]; math.Abs(float64(got-w)) > tolExactHalf {
				t.Errorf("%s[%d]: got %v, want %v", c.dtype, i, got, w)
			}
		}
	}
}

// ExampleLoadHF loads a GPT-2 checkpoint whose matrices are all zero: every
// logit is 0, so every token has log-prob −ln 11.
func ExampleLoadHF() {
	dir, err := os.MkdirTemp("", "gpt2")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	if err := newTinyGPT2(1, 0).write(dir, ""); err != nil {
		fmt.Println(err)
		return
	}

	m, err := LoadHF(dir, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	b, err := Encode(digitTok{}, []string{"12"}, []string{"34"}, 8, true)
	if err != nil {
		fmt.Println(err)
		return
	}
	tok, err := m.TokenLogProbs(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("vocab %d, dim %d, layers %d, heads %d\n", m.Config.Vocab, m.Config.Dim, m.Config.Layers, m.Config.Heads)
	fmt.Printf("log π(3 | 12) = %.4f, −ln 11 = %.4f\n", tok[0][2], -math.Log(11))
	// Output:
	// vocab 11, dim 8, layers 2, heads 2
	// log π(3 | 12) = -2.3979, −ln 11 = -2.3979
}

// TestLoadHFCloneSaveLoad: a loaded GPT-2 survives Clone and Save → Load
// bit for bit (the frozen reference of DPO is a Clone; a fine-tuned model
// is saved in alignlab's own format).
func TestLoadHFCloneSaveLoad(t *testing.T) {
	dir := t.TempDir()
	if err := newTinyGPT2(3, 0.5).write(dir, ""); err != nil {
		t.Fatal(err)
	}
	m, err := LoadHF(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Encode(digitTok{}, []string{"0123", "75"}, []string{"45", "0"}, tinyP, true)
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.SeqLogProbs(b)
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.Clone()
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := m.Save(out, Manifest{Tokenizer: "digits"}); err != nil {
		t.Fatal(err)
	}
	l, _, err := Load(out, "")
	if err != nil {
		t.Fatal(err)
	}
	for name, mm := range map[string]*Model{"clone": c, "reloaded": l} {
		got, err := mm.SeqLogProbs(b)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: log-probs %v, want %v", name, got, want)
		}
	}
}
