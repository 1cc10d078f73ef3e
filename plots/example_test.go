package plots_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"

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

// A chart's static image is an SVG document drawn in Go: here a rect per
// bar that has a finite value, and a legend entry per series.
func ExampleChart_SVG() {
	c := plots.Bar("acc", "Accuracy", []string{"hh", "shp"}, []plots.BarSeries{
		{Name: "dpo", Values: []float64{0.6, 0.7}},
		{Name: "rdpo", Values: []float64{0.65, math.NaN()}},
	}, plots.Axes{YLabel: "accuracy"})
	svg := c.SVG()
	fmt.Println(strings.HasPrefix(svg, `<svg xmlns="http://www.w3.org/2000/svg" width="900" height="440" viewBox="0 0 900 440"`))
	fmt.Println("bars:", strings.Count(svg, `class="bar"`))
	fmt.Println("legend entries:", strings.Count(svg, `class="swatch"`))
	fmt.Println("same bytes again:", svg == c.SVG())
	// Output:
	// true
	// bars: 3
	// legend entries: 2
	// same bytes again: true
}

// A Block is one chart for a page or a notebook output: the static image,
// shown where scripts do not run, and the interactive chart, hidden until
// its script finds window.echarts (from Script, once per page).
func ExampleChart_Block() {
	c := plots.Line("loss", "Training loss", []plots.Series{
		{Name: "dpo", X: []float64{1, 2, 3}, Y: []float64{0.69, 0.52, 0.40}},
	}, plots.Axes{XLabel: "step", YLabel: "loss"})
	b := c.Block()
	fmt.Println(strings.HasPrefix(b, `<div class="alignlab-chart" data-chart-id="loss"`))
	fmt.Println("static image:", strings.Contains(b, `<img class="alignlab-static" alt="Training loss"`))
	fmt.Println("interactive chart hidden:", strings.Contains(b, `<div hidden class="item" id="loss" style="display:none;`))
	fmt.Println("library inside:", strings.Contains(b, "(function (define, exports, module) {"))
	fmt.Println("in HTML after the library:", strings.HasSuffix(plots.HTML(c), b))
	// Output:
	// true
	// static image: true
	// interactive chart hidden: true
	// library inside: false
	// in HTML after the library: true
}
