package plots

import (
	"hash/fnv"
	"strings"
)

// palette holds the series colours: fifteen hues that stay apart on white
// and on a washed-out projector (every pair differs by ΔE*76 ≥ 24 in
// CIELAB, each has a contrast of at least 2.5:1 against white, so there is
// no pale yellow). The order only matters for the names Color knows.
var palette = []string{
	"#1f77b4", // 0 blue
	"#d62728", // 1 red
	"#2ca02c", // 2 green
	"#ff7f0e", // 3 orange
	"#9467bd", // 4 purple
	"#8c564b", // 5 brown
	"#e377c2", // 6 pink
	"#1293a8", // 7 teal blue
	"#7f7f7f", // 8 grey
	"#9a9a00", // 9 olive
	"#1a3f7a", // 10 navy
	"#8b1a4a", // 11 maroon
	"#006d5b", // 12 dark teal
	"#c47a00", // 13 mustard
	"#f0027f", // 14 magenta
}

// knownColors fixes the colour of the series names the lab's notebooks
// draw, so that the methods that share a chart never share a colour (a hash
// would put two of ten names on one colour more often than not). Names are
// lower case; see Color for how a name is matched.
var knownColors = map[string]int{
	// dpo.*: pair losses, sweeps and their theory lines.
	"dpo": 0, "rdpo": 1, "cdpo": 2, "ipo": 3,
	"dpo theory": 10, "rdpo theory": 11,
	// tdpo.*
	"tdpo1": 4, "tdpo2": 5, "optimal": 8,
	// nash.*: the reference policies and the methods of nash.compare.
	"nash": 10, "tau_nash": 11, "ref": 8, "final": 1,
	"inpo": 6, "inpo_exact": 6, "inpo_sampled": 14,
	"dno": 7, "dno_sampled": 7, "dno_prct": 12,
	"mwu": 13, "mwu_avg": 9, "bt_rlhf": 5,
	// sb.light's point clouds.
	"source": 8, "target": 0, "model": 1, "sde": 3,
}

// Color returns the colour ("#rrggbb") of a series name, the same in every
// chart and every process, so that a method keeps its colour across the
// charts of a notebook. The name is matched in lower case, first whole,
// then by its longest known leading words ("rdpo theory ∝ 1/√n" takes the
// colour of "rdpo theory", "tdpo2 α=0.5" that of "tdpo2"); names the lab
// does not know get a colour from a hash of the name.
//
// Builders colour series by Color, except that a series whose colour an
// earlier series of the same chart already took gets the next colour of the
// palette that is still free: two series of one chart never share a colour
// while the palette lasts.
func Color(name string) string { return palette[colorIndex(name)] }

func colorIndex(name string) int {
	key := strings.ToLower(strings.TrimSpace(name))
	if i, ok := knownColors[key]; ok {
		return i
	}
	for j := len(key) - 1; j > 0; j-- {
		if key[j] == ' ' {
			if i, ok := knownColors[strings.TrimSpace(key[:j])]; ok {
				return i
			}
		}
	}
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(len(palette)))
}

// seriesColors returns the colour of each name for one chart: Color, or,
// where an earlier name of the chart took that colour, the next free one.
func seriesColors(names []string) []string {
	used := make([]bool, len(palette))
	free := len(palette)
	out := make([]string, len(names))
	for k, name := range names {
		i := colorIndex(name)
		if free > 0 {
			for used[i] {
				i = (i + 1) % len(palette)
			}
			used[i] = true
			free--
		}
		out[k] = palette[i]
	}
	return out
}
