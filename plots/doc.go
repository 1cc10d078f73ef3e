// Package plots builds the lab's charts with go-echarts and renders them
// offline: the ECharts library (npm echarts 5.6.0, Apache-2.0, see
// assets/README.md) is embedded in the binary and inlined into every page or
// notebook output, so nothing is ever fetched from a CDN.
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
// Each returns a *Chart: Snippet is the chart's <div> and init <script>
// (go-echarts RenderSnippet), OptionsJSON the ECharts option as stable,
// indented JSON (golden-tested), ID the element id.
//
// Charts use the SVG renderer, so a browser test can count the <path>
// elements under each div[_echarts_instance_], and animation is off, so the
// first frame is the final one.
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
// HTML(charts...) is Script plus the snippets, for one notebook output;
// Page(title, body, charts...) is a standalone HTML document with the
// library inlined once.
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
// Text (titles, names, labels) is drawn as text, and the snippet's script is
// written so that a "</script>" inside a label cannot end it.
package plots
