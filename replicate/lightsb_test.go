package replicate

import (
	"slices"
	"testing"

	"github.com/alignlab/alignlab/algos/sb"
)

// TestLightSBBenchmarks checks that the full replication runs the
// notebook's reduced benchmark and the paper's length, and that a quick
// one is a subset of the same cells.
func TestLightSBBenchmarks(t *testing.T) {
	nb := sb.ReducedBenchmarkConfig()
	for _, quick := range []bool{false, true} {
		reduced, paper := lightsbBenchmarks(quick, 7)
		if reduced.Seed != 7 || paper.Seed != 7 {
			t.Errorf("quick %v: seeds %d, %d, want 7", quick, reduced.Seed, paper.Seed)
		}
		if reduced.Steps != nb.Steps || reduced.TestPoints != nb.TestPoints || !slices.Equal(reduced.Dims, nb.Dims) {
			t.Errorf("quick %v: reduced benchmark %+v, want the notebook's %+v", quick, reduced, nb)
		}
		for _, e := range reduced.Epsilons {
			if !slices.Contains(nb.Epsilons, e) || reduced.LearningRate(e) != nb.LearningRate(e) {
				t.Errorf("quick %v: reduced ε = %g (lr %g) is not a notebook cell", quick, e, reduced.LearningRate(e))
			}
		}
		if paper.Steps != 10000 || paper.TestPoints != 1000 || paper.SamplesPerX != 1000 {
			t.Errorf("quick %v: paper-length config %+v, want 10,000 steps and 1,000 × 1,000 samples", quick, paper)
		}
		for _, d := range paper.Dims {
			for _, e := range paper.Epsilons {
				if _, ok := sb.PaperCBW2UVP(d, e); !ok || paper.LearningRate(e) != lightsbPaperLR {
					t.Errorf("quick %v: paper-length cell D = %d, ε = %g has no paper value or lr %g", quick, d, e, paper.LearningRate(e))
				}
			}
		}
		if !quick && (len(reduced.Epsilons) != 3 || len(paper.Dims)*len(paper.Epsilons) != 6) {
			t.Errorf("full: %v × %v reduced, %v × %v paper-length cells; want every D ∈ {2, 16}, ε ∈ {0.1, 1, 10}", reduced.Dims, reduced.Epsilons, paper.Dims, paper.Epsilons)
		}
	}
	if got, want := lightsbPaperRows(), "D = 2: 0.03/0.05/0.07, D = 16: 0.08/0.09/0.11 for ε = 0.1/1/10"; got != want {
		t.Errorf("paper rows %q, want %q", got, want)
	}
}

// TestLightSBQuick runs the quick replication at seed 1 (about 10 s on
// two cores): every claim passes and the report renders.
func TestLightSBQuick(t *testing.T) {
	if !slices.Contains(Names(), "lightsb") {
		t.Fatalf("papers %v lack lightsb", Names())
	}
	if testing.Short() {
		t.Skip("about 10 s: trains LightSB for 14,000 steps")
	}
	checkQuick(t, "lightsb", 3)
}
