// Package plots builds the lab's charts with go-echarts and renders them
// offline, twice: as an interactive ECharts chart (the library, npm echarts
// 5.6.0, Apache-2.0, see assets/README.md, is embedded in the binary and
// inlined into pages, so nothing is ever fetched from a CDN) and as a static
// SVG image drawn in Go, which shows wherever scripts do not run.
//
// # Builders
//
//	Line        metrics vs step, one line per run (value x axis); a
//	            series with Low and High also gets an error bar with caps
//	            at each point, in its colour (an ECharts custom series)
//	Scatter     2-D point clouds, small symbols
//	Leaderboard labels in the given order with a point per value and an
//	            error bar from low to high (a boxplot whose box collapses
//	            onto the value, so the whiskers and their caps are the bar)
//	Heatmap     values[y][x] with a visualMap over the data range and
//	            value labels
//	Bar         grouped bars over categories
//
// Slices that must line up (X and Y of a series, values and categories)
// make a builder panic when their lengths differ: the caller built them.
//
// Each returns a *Chart: Block is the chart for a page or a notebook output
// (below), SVG its static image, Snippet the bare interactive chart (its
// <div> and init <script>), OptionsJSON the ECharts option as stable,
// indented JSON (golden-tested), ID the element id.
//
// Interactive charts use ECharts' SVG renderer, so a browser test can count
// the <path> elements under each div[_echarts_instance_], and animation is
// off, so the first frame is the final one.
//
// # Static images
//
// Each builder also keeps a renderer-neutral description of what it draws
// (the same cleaned values it gives ECharts), and SVG draws that: title,
// axes (linear or log) with ticks and names, grid, series, error bars and a
// legend that wraps, in a 900-wide viewBox with text of at least 14 px, no
// scripts and no outside references; the same chart gives the same bytes.
// Writing SVG in Go, rather than running ECharts' server-side renderer,
// needs no JavaScript engine and no browser at display time.
//
// # Theme
//
// Charts are made to be read on a projector: title 18 px, axis labels,
// axis names and legend 14 px, dark axis text. Series are coloured by name
// with Color (a palette of 15 colours that differ clearly on white and
// include no pale yellow), so that a method has one colour in every chart
// of a notebook. Axes.Equal gives a Line or Scatter equal scales on both
// axes (a ring of points stays round; the static image keeps the aspect,
// the interactive chart sets its axis ranges for its size whenever it is
// resized). A Scatter of more than MaxScatterPoints points is subsampled
// evenly within each series, drawn at half opacity, and says so under its
// title.
//
// # Missing values
//
// encoding/json refuses NaN and ±Inf, and go-echarts would then render an
// empty option. The builders write non-finite values (and values ≤ 0 on a log
// axis) as ECharts' missing value "-": a gap in a line, no bar, no error bar.
// Scatter points and heatmap cells with a non-finite value are left out.
//
// # Pages and notebooks
//
// Script returns a <script> that defines window.echarts from the embedded
// library unless it is already defined. The library runs inside a function
// whose define, exports and module parameters are undefined, so that
// RequireJS (loaded by classic Jupyter and nbconvert's HTML export) does not
// capture it as an AMD module, which would leave window.echarts undefined.
//
// Block is one chart without the library: a <div class="alignlab-chart">
// holding the static image (an <img> of the SVG, as wide as the output)
// and the interactive chart's <div>, hidden, with a script that waits up
// to 5 s for window.echarts (another output of the page may carry it),
// then shows and draws the interactive chart, hides the image and resizes
// the chart with its container. Where scripts do not run (an untrusted
// notebook, a static renderer, JavaScript off) or the library never comes,
// the image stays. Nothing is wrapped in go-echarts' <div class="container">,
// which Jupyter's CSS makes wider than the output. HTML(charts...) is Script
// plus the Blocks, for one self-sufficient notebook output; Page(title,
// body, charts...) is a standalone HTML document with the library inlined
// once and the Blocks.
//
// # Chart IDs
//
// A chart ID becomes an element id and part of a JS identifier
// (goecharts_<ID>), so it must match [A-Za-z0-9_]+ and be unique on a page.
// The builders panic on an invalid ID (it is a programming error; check with
// ValidID first where the ID comes from data), and Page and HTML panic on a
// duplicate. Use fixed IDs in golden tests and RandomID in notebooks, where
// re-running a cell must not declare the same identifier twice.
//
// Text (titles, names, labels) is drawn as text: escaped in the SVG, and
// the scripts are written so that a "</script>" inside a label cannot end
// them.
package plots
