package decoder

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
)

// ManifestFile is the JSON file beside a saved model's weights.
const ManifestFile = "manifest.json"

// Manifest describes a saved model: its shape, its tokenizer and where it
// came from. Extra holds what the saving plugin adds (its params, seed, data
// hashes, metrics).
type Manifest struct {
	Format    string         `json:"format"` // "alignlab.decoder/1"
	Config    Config         `json:"config"`
	Tokenizer string         `json:"tokenizer"` // tokenizer name ("byte", "bpe:N" with tokenizer.json beside)
	HasHead   bool           `json:"has_head"`
	Params    int            `json:"params"`
	Extra     map[string]any `json:"extra,omitempty"`
}

// ManifestFormat is the Format of manifests this version writes and reads.
const ManifestFormat = "alignlab.decoder/1"

// Save writes the model's weights (GoMLX's checkpoint format, without any
// optimizer state) and its manifest into dir, created if needed.
func (m *Model) Save(dir string, man Manifest) (err error) {
	defer fit.Catch("decoder", &err)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	w, err := m.Clone()
	if err != nil {
		return err
	}
	h, err := checkpoint.Build(w.store).Dir(filepath.Join(dir, "weights")).Keep(1).Done()
	if err != nil {
		return fmt.Errorf("decoder: save %s: %w", dir, err)
	}
	if err := h.Save(); err != nil {
		return fmt.Errorf("decoder: save %s: %w", dir, err)
	}
	man.Format, man.Config, man.HasHead, man.Params = ManifestFormat, m.Config, m.HasHead(), m.NumParams()
	b, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ManifestFile), append(b, '\n'), 0o644)
}

// ReadManifest reads dir's manifest.
func ReadManifest(dir string) (Manifest, error) {
	var man Manifest
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return man, fmt.Errorf("decoder: %s is not a saved model: %w", dir, err)
	}
	if err := json.Unmarshal(b, &man); err != nil {
		return man, fmt.Errorf("decoder: %s: %w", filepath.Join(dir, ManifestFile), err)
	}
	if man.Format != ManifestFormat {
		return man, fmt.Errorf("decoder: %s: format %q, want %q", filepath.Join(dir, ManifestFile), man.Format, ManifestFormat)
	}
	return man, man.Config.Check()
}

// Load reads a model saved by Save, on the backend named by backendConfig.
func Load(dir, backendConfig string) (m *Model, man Manifest, err error) {
	if man, err = ReadManifest(dir); err != nil {
		return nil, man, err
	}
	be, err := getBackend(backendConfig)
	if err != nil {
		return nil, man, err
	}
	defer fit.Catch("decoder", &err)
	m = &Model{Config: man.Config, backend: be, store: model.NewStore()}
	if _, err := checkpoint.Load(m.store).Dir(filepath.Join(dir, "weights")).Immediate().Done(); err != nil {
		return nil, man, fmt.Errorf("decoder: load %s: %w", dir, err)
	}
	m.build()
	if got := m.NumParams(); got != man.Params {
		return nil, man, fmt.Errorf("decoder: load %s: %d weights, the manifest says %d", dir, got, man.Params)
	}
	return m, man, nil
}
