package plots_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"

	"github.com/alignlab/alignlab/plots"
)

// Two runs' losses on one chart, written into an offline page. A NaN loss
// becomes ECharts' missing value "-", a gap in the line.
func ExampleLine() {
	steps := []float64{1, 2, 3}
	c := plots.Line("loss", "Training loss", []plots.Series{
		{Name: "lr=0.1", X: steps, Y: []float64{0.69, 0.52, 0.40}},
		{Name: "lr=1", X: steps, Y: []float64{0.69, math.NaN(), 0.31}},
	}, plots.Axes{XLabel: "step", YLabel: "loss"})

	b, err := c.OptionsJSON()
	if err != nil {
		panic(err)
	}
	var opt struct {
		Series []struct {
			Name string
			Data [][2]any
		}
	}
	if err := json.Unmarshal(b, &opt); err != nil {
		panic(err)
	}
	for _, s := range opt.Series {
		fmt.Println(s.Name, s.Data)
	}
	page := plots.Page("Losses", "", c)
	fmt.Println("library inlined once:", bytes.Count(page, []byte("(function (define, exports, module) {")) == 1)
	// Output:
	// lr=0.1 [[1 0.69] [2 0.52] [3 0.4]]
	// lr=1 [[1 0.69] [2 -] [3 0.31]]
	// library inlined once: true
}

// A leaderboard with 95% intervals; the labels keep the given order, top to
// bottom. Each error bar is a boxplot item [low, value, value, value, high].
func ExampleLeaderboard() {
	c := plots.Leaderboard("arena", "Elo ratings",
		[]string{"model-a", "model-b"},
		[]float64{1100, 1000}, []float64{1080, 985}, []float64{1121, 1014})
	b, _ := c.OptionsJSON()
	var opt struct {
		Series []struct {
			Type string
			Data []json.RawMessage
		}
	}
	_ = json.Unmarshal(b, &opt)
	for _, s := range opt.Series {
		var item bytes.Buffer
		_ = json.Compact(&item, s.Data[0])
		fmt.Println(s.Type, item.String())
	}
	// Output:
	// boxplot [1080,1100,1100,1100,1121]
	// scatter {"name":"model-a: 1100 [1080, 1121]","value":[1100,0]}
}
