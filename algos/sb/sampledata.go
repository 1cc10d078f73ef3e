package sb

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

var _ kernel.SampleData = plugin{}

// The shape of the sample files: 4-D, unlike the generated default (2-D
// eot_mixture), so that a record that still named the generator's
// settings would disagree with the files.
const (
	sampleDim        = 4
	sampleSourceRows = 64
	sampleTargetRows = 48
)

// SampleData writes a 4-D pair of sample files into dir (x0.csv: 64 draws
// of N(0, I); x1.csv: 48 draws of N(1, I/4), seeded) and returns their
// paths, source first.
func (plugin) SampleData(dir string) ([]string, error) {
	r := rand.New(rand.NewPCG(14, 2))
	x0 := datasets.StandardNormal(sampleSourceRows, sampleDim, r)
	x1 := datasets.StandardNormal(sampleTargetRows, sampleDim, r)
	for _, y := range x1 {
		for j := range y {
			y[j] = 1 + y[j]/2
		}
	}
	var paths []string
	for _, f := range []struct {
		name string
		rows [][]float64
	}{{"x0.csv", x0}, {"x1.csv", x1}} {
		var buf bytes.Buffer
		if err := datasets.WriteVectorsCSV(&buf, f.rows); err != nil {
			return nil, err
		}
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}
