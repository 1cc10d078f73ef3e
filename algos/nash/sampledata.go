package nash

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

var (
	_ kernel.SampleData = inpoPlugin{}
	_ kernel.SampleData = dnoPlugin{}
	_ kernel.SampleData = mwuPlugin{}
	_ kernel.SampleData = btPlugin{}
	_ kernel.SampleData = comparePlugin{}
)

// The shape of the sample game: unlike the generated default (cyclic,
// 5 actions, 1 prompt), so that a record that still named the generator's
// settings would disagree with the file's shape.
const (
	samplePrompts  = 2
	sampleActions  = 4
	sampleFeatures = 3
)

// writeSampleGame writes a small game to dir/game.json: per prompt a mild
// cyclic game (so that BT-RLHF's sharpened policy still samples every
// action), with seeded features for the log-linear policy.
func writeSampleGame(dir string) ([]string, error) {
	rng := rand.New(rand.NewPCG(14, 1))
	g := &datasets.Game{}
	for x := range samplePrompts {
		c := datasets.CyclicGame(sampleActions, 1+float64(x), 0.5)
		g.Actions = c.Actions
		pr := c.Prompts[0]
		pr.Name = fmt.Sprintf("x%d", x)
		pr.Features = make([][]float64, sampleActions)
		for i := range pr.Features {
			pr.Features[i] = make([]float64, sampleFeatures)
			for a := range pr.Features[i] {
				pr.Features[i][a] = rng.NormFloat64()
			}
		}
		g.Prompts = append(g.Prompts, pr)
	}
	var buf bytes.Buffer
	if err := g.WriteJSON(&buf); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "game.json")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return nil, err
	}
	return []string{path}, nil
}

// SampleData writes a small preference game file (2 prompts, 4 actions,
// 3 features) into dir and returns its path.
func (inpoPlugin) SampleData(dir string) ([]string, error) { return writeSampleGame(dir) }

// SampleData writes a small preference game file (2 prompts, 4 actions,
// 3 features) into dir and returns its path.
func (dnoPlugin) SampleData(dir string) ([]string, error) { return writeSampleGame(dir) }

// SampleData writes a small preference game file (2 prompts, 4 actions,
// 3 features) into dir and returns its path.
func (mwuPlugin) SampleData(dir string) ([]string, error) { return writeSampleGame(dir) }

// SampleData writes a small preference game file (2 prompts, 4 actions,
// 3 features) into dir and returns its path.
func (btPlugin) SampleData(dir string) ([]string, error) { return writeSampleGame(dir) }

// SampleData writes a small preference game file (2 prompts, 4 actions,
// 3 features) into dir and returns its path.
func (comparePlugin) SampleData(dir string) ([]string, error) { return writeSampleGame(dir) }
