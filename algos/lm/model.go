package lm

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/alignlab/alignlab/algos/decoder"
	"github.com/alignlab/alignlab/kernel"
	"github.com/alignlab/alignlab/tokenizer"
)

// DecoderDir is the folder, inside a saved model's directory (`run --out
// DIR` writes DIR/model), of the transformer's checkpoint: what decoder.Save
// writes (its own manifest.json and weights/, GoMLX's checkpoint format)
// and, for a BPE or a HuggingFace tokenizer, tokenizer.json. The kernel's
// manifest.json sits beside it. The params init, sft and models accept
// either directory.
const DecoderDir = "decoder"

// TokenizerFile is the tokenizer a model is saved with, inside DecoderDir
// (none for the byte tokenizer).
const TokenizerFile = "tokenizer.json"

// Model is what an lm plugin trained, as a kernel.Model: the transformer
// (with its reward head for lm.reward) and its tokenizer. It scores text
// files (kernel.Scorer); the policies' models are *Policy, which also
// sample. Like decoder.Model, it is not safe for concurrent use.
type Model struct {
	Plugin  string // the plugin that trained it
	Decoder *decoder.Model
	Tok     tokenizer.Tokenizer
	// TokName is the tokenizer's name as trained ("byte", "bpe:512"); a
	// BPE read back from its tokenizer.json has another Name.
	TokName string
	// Seed is the seed of the run that trained the model (the manifest's,
	// once saved): with the task params it regenerates the task's prompts.
	Seed int64
}

// Policy is the model of lm.sft, lm.dpo, lm.tdpo and lm.inpo: a policy
// π(y | x) that samples (kernel.Sampler) as well as scores.
type Policy struct{ *Model }

var (
	_ kernel.Model       = (*Model)(nil)
	_ kernel.Scorer      = (*Model)(nil)
	_ kernel.Sampler     = (*Policy)(nil)
	_ kernel.ModelLoader = sftPlugin{}
	_ kernel.ModelLoader = rewardPlugin{}
	_ kernel.ModelLoader = prefPlugin{}
)

// ModelOf wraps a transformer trained by plugin at seed and its tokenizer:
// a *Policy, or a *Model when m has a reward head.
func ModelOf(plugin string, seed int64, m *decoder.Model, tok tokenizer.Tokenizer) kernel.Model {
	return (&Model{Plugin: plugin, Decoder: m, Tok: tok, TokName: tok.Name(), Seed: seed}).typed()
}

// typed is m as what it can do: m itself for a reward model, a *Policy
// for a policy.
func (m *Model) typed() kernel.Model {
	if m.Decoder.HasHead() {
		return m
	}
	return &Policy{m}
}

// Kind says "transformer policy" or "transformer reward model", with the
// shape, the tokenizer and the number of weights.
func (m *Model) Kind() string {
	what := "transformer policy"
	if m.Decoder.HasHead() {
		what = "transformer reward model"
	}
	c := m.Decoder.Config
	tok := m.TokName
	if strings.HasPrefix(tok, "hf:") {
		tok = TokenizerFile
	}
	return fmt.Sprintf("%s, %d layers × %d wide, vocab %d (%s), %d weights", what, c.Layers, c.Dim, c.Vocab, tok, m.Decoder.NumParams())
}

// Shapes lists the transformer's weights (decoder.Model.Shapes).
func (m *Model) Shapes() map[string][]int { return m.Decoder.Shapes() }

// Save writes the transformer into dir/DecoderDir (decoder.Save) with its
// tokenizer: a BPE as tokenizer.json, a HuggingFace tokenizer.json copied
// (with the tokenizer_config.json beside it, if any), so that the
// directory is whole.
func (m *Model) Save(dir string) error {
	ddir := filepath.Join(dir, DecoderDir)
	if err := m.Decoder.Save(ddir, decoder.Manifest{Tokenizer: m.TokName, Extra: map[string]any{"plugin": m.Plugin}}); err != nil {
		return err
	}
	dst := filepath.Join(ddir, TokenizerFile)
	if b, ok := m.Tok.(*tokenizer.BPE); ok {
		return writeFile(dst, b.WriteJSON)
	}
	src, ok := strings.CutPrefix(m.Tok.Name(), "hf:")
	if !ok {
		return nil
	}
	if err := copyFile(src, dst); err != nil {
		return err
	}
	cfg := filepath.Join(filepath.Dir(src), "tokenizer_config.json")
	if !fileExists(cfg) {
		return nil
	}
	return copyFile(cfg, filepath.Join(ddir, "tokenizer_config.json"))
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func copyFile(src, dst string) error {
	if filepath.Clean(src) == filepath.Clean(dst) {
		return nil
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("lm: the model's tokenizer: %w", err)
	}
	return os.WriteFile(dst, b, 0o644)
}

// decoderDir is the checkpoint directory of dir: dir/DecoderDir when dir is
// a saved kernel model, else dir itself (a save=DIR checkpoint or a
// HuggingFace one).
func decoderDir(dir string) string {
	if d := filepath.Join(dir, DecoderDir); fileExists(filepath.Join(d, decoder.ManifestFile)) {
		return d
	}
	return dir
}

// LoadModel reads an lm.sft model saved in dir (kernel.ModelLoader).
func (sftPlugin) LoadModel(dir string, man *kernel.Manifest, backend string) (kernel.Model, error) {
	return loadModel(IDSFT, dir, man, backend)
}

// LoadModel reads an lm.reward model saved in dir (kernel.ModelLoader).
func (rewardPlugin) LoadModel(dir string, man *kernel.Manifest, backend string) (kernel.Model, error) {
	return loadModel(IDReward, dir, man, backend)
}

// LoadModel reads a model of the preference plugin saved in dir
// (kernel.ModelLoader).
func (p prefPlugin) LoadModel(dir string, man *kernel.Manifest, backend string) (kernel.Model, error) {
	return loadModel(p.id, dir, man, backend)
}

// loadModel reads the transformer in dir/DecoderDir and its tokenizer and
// checks them against the plugin (a reward head for lm.reward, none for a
// policy) and the manifest's shapes.
func loadModel(id, dir string, man *kernel.Manifest, backend string) (kernel.Model, error) {
	ddir := filepath.Join(dir, DecoderDir)
	if !fileExists(filepath.Join(ddir, decoder.ManifestFile)) {
		return nil, fmt.Errorf("lm: %s holds no %s/%s: not a model saved by %s", dir, DecoderDir, decoder.ManifestFile, id)
	}
	d, dman, err := decoder.Load(ddir, backend)
	if err != nil {
		return nil, err
	}
	switch head := d.HasHead(); {
	case id == IDReward && !head:
		return nil, fmt.Errorf("lm: %s: an %s model without a reward head", ddir, id)
	case id != IDReward && head:
		return nil, fmt.Errorf("lm: %s: a %s model with a reward head (a policy has none)", ddir, id)
	}
	tok, err := loadTokenizer(ddir, dman.Tokenizer)
	if err != nil {
		return nil, err
	}
	if tok.VocabSize() != d.Config.Vocab {
		return nil, fmt.Errorf("lm: %s: the tokenizer has %d ids, the model's vocabulary %d", ddir, tok.VocabSize(), d.Config.Vocab)
	}
	m := &Model{Plugin: id, Decoder: d, Tok: tok, TokName: dman.Tokenizer}
	if man != nil {
		if err := sameShapes(m.Shapes(), man.Shapes); err != nil {
			return nil, fmt.Errorf("lm: %s: %w", dir, err)
		}
		m.Seed = man.Seed
	}
	return m.typed(), nil
}

// loadTokenizer reads the tokenizer a model was saved with: byte, or the
// tokenizer.json in ddir (or, for a model saved by an older lm, the
// HuggingFace file its name points to).
func loadTokenizer(ddir, name string) (tokenizer.Tokenizer, error) {
	if name == "byte" {
		return tokenizer.Byte(), nil
	}
	path := filepath.Join(ddir, TokenizerFile)
	if !fileExists(path) {
		if p, ok := strings.CutPrefix(name, "hf:"); ok && fileExists(p) {
			path = p
		} else {
			return nil, fmt.Errorf("lm: %s: the model's tokenizer %s was not saved with it (no %s)", ddir, name, TokenizerFile)
		}
	}
	return tokenizer.Load(path)
}

// sameShapes reports the first array whose shape differs from the
// manifest's.
func sameShapes(got, want map[string][]int) error {
	names := make([]string, 0, len(want))
	for k := range want {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		g, ok := got[k]
		if !ok {
			return fmt.Errorf("the checkpoint has no array %q, the manifest lists it", k)
		}
		if !slices.Equal(g, want[k]) {
			return fmt.Errorf("array %q has shape %v, the manifest says %v", k, g, want[k])
		}
	}
	if len(got) != len(want) {
		return fmt.Errorf("the checkpoint has %d arrays, the manifest lists %d", len(got), len(want))
	}
	return nil
}

// baseOf is the *Model of an lm model (a *Policy's or a reward model
// itself), or nil for a model of another family.
func baseOf(m kernel.Model) *Model {
	switch x := m.(type) {
	case *Policy:
		return x.Model
	case *Model:
		return x
	}
	return nil
}

// policyOf is the policy a run of id starts from, given as --model: any
// lm policy (an lm.reward model is refused: its head has no place in a
// policy).
func policyOf(id string, m kernel.Model) (*Policy, error) {
	p, ok := m.(*Policy)
	if !ok {
		want := fmt.Sprintf("a transformer policy (a model of %s, %s, %s or %s)", IDSFT, IDDPO, IDTDPO, IDINPO)
		if id == IDReward {
			want += " or an " + IDReward + " model"
		}
		return nil, &kernel.ModelUsageError{Plugin: id, Msg: fmt.Sprintf("--model: %s, want %s", m.Kind(), want)}
	}
	return p, nil
}

// fits checks that a --model was trained with the env's tokenizer (setup
// takes the model's unless the tokenizer param names another) and returns
// a copy of its transformer.
func fits(id string, m *Model, e *Env) (*decoder.Model, error) {
	if m.Tok != e.Tok && (m.TokName != e.Tok.Name() || m.Decoder.Config.Vocab != e.Tok.VocabSize()) {
		return nil, &kernel.ModelUsageError{Plugin: id, Msg: fmt.Sprintf("--model: the model was trained with tokenizer %s (vocab %d); this run uses %s (vocab %d): leave tokenizer at byte and the model brings its own",
			m.TokName, m.Decoder.Config.Vocab, e.Tok.Name(), e.Tok.VocabSize())}
	}
	return m.Decoder.Clone()
}

// startFrom returns a copy of the policy the run was given with --model
// (kernel.Options.Init), which means the same as param=DIR (init for
// lm.sft, sft for the others), or nil when none. Both given must name one
// directory.
func startFrom(job *kernel.Job, e *Env, param string) (*decoder.Model, error) {
	im := job.InitModel()
	if im == nil {
		return nil, nil
	}
	id := job.Result.Plugin
	p, err := policyOf(id, im)
	if err != nil {
		return nil, err
	}
	from := ""
	if ref := job.Result.Provenance.Init; ref != nil {
		from = ref.Dir
	}
	if dir, _ := job.Params[param].(string); dir != "" && !sameDir(dir, from) {
		return nil, &kernel.ParamError{Plugin: id, Key: param, Value: dir, Want: fmt.Sprintf("\"\" or the --model directory %s (--model DIR means %s=DIR: give one of the two)", from, param)}
	}
	return fits(id, p.Model, e)
}

// warmReward returns a copy of the reward model lm.reward was given with
// --model, or nil when it was given none or a policy (which is its SFT
// model: startFrom).
func warmReward(job *kernel.Job, e *Env) (*decoder.Model, error) {
	m, ok := job.InitModel().(*Model)
	if !ok {
		return nil, nil
	}
	return fits(job.Result.Plugin, m, e)
}

// sameDir reports whether two model directories name one checkpoint.
func sameDir(a, b string) bool {
	abs := func(d string) string {
		d = decoderDir(d)
		if x, err := filepath.Abs(d); err == nil {
			return x
		}
		return filepath.Clean(d)
	}
	return abs(a) == abs(b)
}
