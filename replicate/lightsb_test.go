package replicate

import (
	"slices"
	"testing"

	"github.com/alignlab/alignlab/algos/sb"
)

// TestLightSBBenchmarks checks that the full replication runs the
// notebook's reduced benchmark and the paper's length over three seeds,
// and that a quick one is one seed of a subset of the same cells.
func TestLightSBBenchmarks(t *testing.T) {
	nb := sb.ReducedBenchmarkConfig()
	for _, quick := range []bool{false, true} {
		reduced, paper := lightsbBenchmarks(quick, 7)
		wantSeeds := []int64{7, 8, 9}
		if quick {
			wantSeeds = []int64{7}
		}
		if !slices.Equal(reduced.Seeds, wantSeeds) || !slices.Equal(paper.Seeds, wantSeeds) {
			t.Errorf("quick %v: seeds %v, %v, want %v", quick, reduced.Seeds, paper.Seeds, wantSeeds)
		}
		if reduced.Steps != nb.Steps || reduced.TestPoints != nb.TestPoints {
			t.Errorf("quick %v: reduced benchmark %+v, want the notebook's %+v", quick, reduced, nb)
		}
		for _, d := range reduced.Dims {
			if !slices.Contains(nb.Dims, d) {
				t.Errorf("quick %v: reduced D = %d is not a notebook cell", quick, d)
			}
		}
		for _, e := range reduced.Epsilons {
			if !slices.Contains(nb.Epsilons, e) || reduced.LearningRate(e) != nb.LearningRate(e) {
				t.Errorf("quick %v: reduced ε = %g (lr %g) is not a notebook cell", quick, e, reduced.LearningRate(e))
			}
		}
		if paper.Steps != 10000 || paper.TestPoints != 1000 || paper.SamplesPerX != 1000 || paper.LearningRate != nil || len(paper.Params) != 0 {
			t.Errorf("quick %v: paper-length config %+v, want 10,000 steps, 1,000 × 1,000 samples, the plugin's defaults", quick, paper)
		}
		for _, d := range paper.Dims {
			for _, e := range paper.Epsilons {
				if _, ok := sb.PaperCBW2UVP(d, e); !ok {
					t.Errorf("quick %v: paper-length cell D = %d, ε = %g has no paper value", quick, d, e)
				}
			}
		}
		if !quick && (len(reduced.Dims)*len(reduced.Epsilons) != 6 || len(paper.Dims)*len(paper.Epsilons) != 6) {
			t.Errorf("full: %v × %v reduced, %v × %v paper-length cells; want every D ∈ {2, 16}, ε ∈ {0.1, 1, 10}", reduced.Dims, reduced.Epsilons, paper.Dims, paper.Epsilons)
		}
		// Quick reads the metric's floor from the reduced cells: one must be at ε ≥ 1.
		if quick && !slices.ContainsFunc(reduced.Epsilons, func(e float64) bool { return e >= 1 }) {
			t.Errorf("quick: reduced ε %v has no cell at ε ≥ 1 for the floor claim", reduced.Epsilons)
		}
	}
	if got, want := lightsbPaperRows(), "D = 2: 0.03/0.05/0.07, D = 16: 0.08/0.09/0.11 for ε = 0.1/1/10"; got != want {
		t.Errorf("paper rows %q, want %q", got, want)
	}
}

// TestLightSBQuick runs the quick replication at seed 1 (about 10 s on
// two cores): every claim holds (the floor claim as a known difference)
// and the report renders.
func TestLightSBQuick(t *testing.T) {
	if !slices.Contains(Names(), "lightsb") {
		t.Fatalf("papers %v lack lightsb", Names())
	}
	if testing.Short() {
		t.Skip("about 10 s: trains LightSB for 14,000 steps")
	}
	checkQuick(t, "lightsb", 4)
}
