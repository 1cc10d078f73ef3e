package plots

import (
	"encoding/base64"
	"html"
	"regexp"
	"strconv"
	"strings"
)

// funcMarkers matches go-echarts' marks around a JS function in option
// JSON, with the quote next to each, as its renderer removes them. User
// text cannot hold a mark (see text).
var funcMarkers = regexp.MustCompile(`(__f__")|("__f__)|(__f__)`)

// libraryPolls is how often, 100 ms apart, a chart's script looks for
// window.echarts (another output of the page may carry the library, and
// run later) before it leaves the static image in place.
const libraryPolls = 50

// Block returns the HTML of the chart for a page or a notebook output,
// without the library:
//
//	<div class="alignlab-chart" data-chart-id="ID">
//	  <img class="alignlab-static" alt="TITLE" width="100%" src="data:image/svg+xml;base64,…">
//	  <div hidden class="item" id="ID" style="display:none;…"></div>
//	  <script>…</script>
//	</div>
//
// The image is SVG, as wide as the output. Where scripts run, the script
// waits up to 5 s (libraryPolls polls, 100 ms apart) for window.echarts,
// then shows the interactive chart with the same option as Snippet, hides
// the image, and resizes the chart with its container; where they do not
// (an untrusted notebook, a static renderer, JavaScript off), or the
// library never comes, the image stays. A chart whose option fails to
// draw also leaves the image.
func (c *Chart) Block() string {
	svg := c.SVG()
	alt := c.fig.title
	if alt == "" {
		alt = "chart"
	}
	if c.fig.note != "" {
		alt += " (" + c.fig.note + ")"
	}
	var b strings.Builder
	b.Grow(len(svg)*4/3 + 4096)
	b.WriteString(`<div class="alignlab-chart" data-chart-id="` + c.id + `" style="width:100%;max-width:100%;">` + "\n")
	b.WriteString(`<img class="alignlab-static" alt="` + html.EscapeString(alt) +
		`" width="100%" style="display:block;width:100%;height:auto;" src="data:image/svg+xml;base64,`)
	b.WriteString(base64.StdEncoding.EncodeToString([]byte(svg)))
	b.WriteString("\">\n")
	// Hidden by an attribute as well as by style: Jupyter's sanitizer of
	// untrusted outputs drops style attributes but keeps hidden (and the
	// img's width attribute), so an untrusted copy shows the image alone.
	b.WriteString(strings.Replace(c.element("display:none;"), "<div ", "<div hidden ", 1) + "\n")
	b.WriteString(c.blockScript())
	b.WriteString("</div>\n")
	return b.String()
}

// blockScript is the inline script of Block. It declares nothing global,
// so a chart shown twice, or a cell run again, does not clash.
func (c *Chart) blockScript() string {
	// The option as go-echarts writes it into its own script: JSON with
	// the marked functions (error bars' renderItem) turned into code.
	// (RenderSnippet's Option field keeps them as strings.)
	c.ec.Validate()
	option := funcMarkers.ReplaceAllString(strings.TrimSpace(string(c.ec.JSONNotEscaped())), "")
	var b strings.Builder
	b.WriteString("(function () {\n")
	b.WriteString("\tvar id = \"" + c.id + "\", tries = 0;\n")
	b.WriteString("\tfunction draw() {\n")
	b.WriteString("\t\tvar el = document.getElementById(id);\n")
	b.WriteString("\t\tif (!el || el.getAttribute(\"data-alignlab-drawn\")) { return; }\n")
	b.WriteString("\t\tvar box = el.parentNode, img = box.querySelector(\"img.alignlab-static\"), chart = null;\n")
	b.WriteString("\t\tel.hidden = false;\n")
	b.WriteString("\t\tel.style.display = \"block\";\n")
	b.WriteString("\t\ttry {\n")
	b.WriteString("\t\t\tchart = window.echarts.init(el, \"white\", {renderer: \"svg\"});\n")
	b.WriteString("\t\t\tchart.setOption(" + option + ");\n")
	b.WriteString("\t\t} catch (e) {\n")
	b.WriteString("\t\t\tif (chart) { chart.dispose(); }\n")
	b.WriteString("\t\t\tel.style.display = \"none\";\n")
	b.WriteString("\t\t\tel.hidden = true;\n")
	b.WriteString("\t\t\treturn;\n")
	b.WriteString("\t\t}\n")
	b.WriteString("\t\tel.setAttribute(\"data-alignlab-drawn\", \"1\");\n")
	b.WriteString("\t\tif (img) { img.style.display = \"none\"; img.hidden = true; }\n")
	b.WriteString("\t\tvar fit = function () {\n")
	b.WriteString("\t\t\tchart.resize();\n")
	if e := c.fig.equal; e != nil {
		// Equal scales: the axis ranges that give one unit the same length
		// on both axes in the plot area this chart has now.
		g := c.fig.grid
		num := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
		b.WriteString("\t\t\tvar w = el.clientWidth - " + strconv.Itoa(g[0]+g[1]) + ", h = el.clientHeight - " + strconv.Itoa(g[2]+g[3]) + ";\n")
		b.WriteString("\t\t\tif (w > 0 && h > 0) {\n")
		b.WriteString("\t\t\t\tvar s = Math.max(" + num(e.sx) + " / w, " + num(e.sy) + " / h);\n")
		b.WriteString("\t\t\t\tchart.setOption({xAxis: [{min: " + num(e.cx) + " - s * w / 2, max: " + num(e.cx) + " + s * w / 2}], " +
			"yAxis: [{min: " + num(e.cy) + " - s * h / 2, max: " + num(e.cy) + " + s * h / 2}]});\n")
		b.WriteString("\t\t\t}\n")
	}
	b.WriteString("\t\t};\n")
	b.WriteString("\t\tfit();\n")
	b.WriteString("\t\tif (typeof ResizeObserver !== \"undefined\") { new ResizeObserver(fit).observe(box); }\n")
	b.WriteString("\t\telse { window.addEventListener(\"resize\", fit); }\n")
	b.WriteString("\t}\n")
	b.WriteString("\t(function wait() {\n")
	b.WriteString("\t\tif (typeof window.echarts !== \"undefined\") { draw(); }\n")
	b.WriteString("\t\telse if (++tries <= " + strconv.Itoa(libraryPolls) + ") { setTimeout(wait, 100); }\n")
	b.WriteString("\t})();\n")
	b.WriteString("})();\n")
	return closeOnlyAtEnd("<script type=\"text/javascript\">\n" + b.String() + "</script>\n")
}
