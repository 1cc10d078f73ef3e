package plots

import (
	_ "embed"
	"fmt"
	"html"
	"strings"
)

// EChartsVersion is the version of the embedded ECharts library.
const EChartsVersion = "5.6.0"

//go:embed assets/echarts.min.js
var echartsJS string

// Script returns a <script> element that defines window.echarts from the
// embedded library, unless the page already has it.
//
// The library is a UMD bundle: where a global define (RequireJS, loaded by
// classic Jupyter and nbconvert's HTML) or exports/module exist it registers
// with them instead of setting window.echarts. It therefore runs inside a
// function whose define, exports and module parameters are undefined.
func Script() string {
	var b strings.Builder
	b.Grow(len(echartsJS) + 256)
	b.WriteString("<script type=\"text/javascript\">\n")
	b.WriteString("if (typeof window.echarts === 'undefined') {\n")
	b.WriteString("(function (define, exports, module) {\n")
	b.WriteString(echartsJS)
	b.WriteString("\n}).call(window);\n}\n</script>\n")
	return b.String()
}

// HTML returns Script followed by the charts' Blocks: the content of one
// self-sufficient notebook output. It panics if two charts share an ID.
func HTML(charts ...*Chart) string {
	var b strings.Builder
	b.WriteString(Script())
	writeBlocks(&b, "HTML", charts)
	return b.String()
}

// Page returns a standalone, offline HTML document: the title, the embedded
// ECharts library (once), body (pre-rendered HTML, inserted as is; may be
// empty), then each chart's Block, so that the charts show as images with
// JavaScript off. It panics if two charts share an ID.
func Page(title string, body string, charts ...*Chart) []byte {
	var b strings.Builder
	t := html.EscapeString(title)
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	fmt.Fprintf(&b, "<title>%s</title>\n<style>\n%s</style>\n", t, pageCSS)
	b.WriteString(Script())
	b.WriteString("</head>\n<body>\n")
	if title != "" {
		fmt.Fprintf(&b, "<h1>%s</h1>\n", t)
	}
	b.WriteString(body)
	b.WriteString("\n")
	writeBlocks(&b, "Page", charts)
	b.WriteString("</body>\n</html>\n")
	return []byte(b.String())
}

func writeBlocks(b *strings.Builder, fn string, charts []*Chart) {
	seen := make(map[string]bool, len(charts))
	for _, c := range charts {
		if seen[c.id] {
			panic(fmt.Sprintf("plots: %s: two charts have ID %q", fn, c.id))
		}
		seen[c.id] = true
		b.WriteString(c.Block())
	}
}

const pageCSS = `body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
h1 { font-size: 1.6em; }
h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; }
th { background: #f4f4f4; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.alignlab-chart { margin: 1.5em 0; }
`
