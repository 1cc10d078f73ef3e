package plots

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/render"
)

// Series is one line or point cloud: Y[i] is drawn at X[i].
type Series struct {
	Name string
	X, Y []float64
	// Low and High, when set (both, each as long as X), give Line an error
	// bar from Low[i] to High[i] at X[i] (mean ± standard error, say), in
	// the line's colour. A bar with an end that cannot be placed is left
	// out. Scatter ignores them.
	Low, High []float64
}

// BarSeries is one group of bars: Values[i] belongs to the i-th category.
type BarSeries struct {
	Name   string
	Values []float64
}

// Axes names the axes and chooses log scales. A log axis leaves out values
// that are not positive.
type Axes struct {
	XLabel, YLabel string
	LogX, LogY     bool
	// Equal gives both axes of a Line or Scatter the same scale (a unit is
	// as long across as up), for 2-D point clouds and paths where a circle
	// must stay a circle. It is ignored with a log axis.
	Equal bool
}

// echart is what the plots package needs from a go-echarts chart; every
// rectangular chart type (*charts.Line, *charts.Bar, ...) has it.
type echart interface {
	Validate()
	JSONNotEscaped() template.HTML
	RenderSnippet() render.ChartSnippet
	Accept(charts.ConfigurationVisitor)
}

// Chart is a go-echarts chart with a validated element ID, and the
// renderer-neutral description of what it draws, for SVG.
type Chart struct {
	id  string
	ec  echart
	fig *figure
}

// ID returns the chart's element id.
func (c *Chart) ID() string { return c.id }

// Title returns the chart's title, as drawn.
func (c *Chart) Title() string { return c.fig.title }

// Snippet returns the chart's <div> (as wide as its container) and its
// init <script>, without any <script src> for assets and without a static
// image: the page must already define window.echarts (see Script) when the
// script runs. Block is the chart for pages and notebooks; Snippet is the
// bare interactive chart.
func (c *Chart) Snippet() string {
	s := c.ec.RenderSnippet()
	return c.element("") + "\n" + closeOnlyAtEnd(s.Script) + "\n"
}

// element is the chart's <div>, full width and its height, with extra
// style declarations.
func (c *Chart) element(style string) string {
	return fmt.Sprintf(`<div class="item" id="%s" style="%swidth:100%%;height:%dpx;"></div>`, c.id, style, c.fig.height)
}

// closeOnlyAtEnd makes sure the one "</script>" of an inline script is its
// last one. Option JSON is inlined unescaped by go-echarts, so a title
// holding "</script>" would otherwise end the script early. Everything before
// the final tag that can contain "<" is a string literal of the option, where
// "<\/" reads as "</" and "<\!--" as "<!--".
func closeOnlyAtEnd(script string) string {
	const end = "</script>"
	i := strings.LastIndex(script, end)
	if i < 0 {
		return script
	}
	body := strings.ReplaceAll(script[:i], "</", `<\/`)
	body = strings.ReplaceAll(body, "<!--", `<\!--`)
	return body + script[i:]
}

// OptionsJSON returns the chart's ECharts option as indented JSON. Map keys
// are sorted, so the bytes are stable for golden tests.
func (c *Chart) OptionsJSON() ([]byte, error) {
	c.ec.Validate()
	raw := bytes.TrimSpace([]byte(c.ec.JSONNotEscaped()))
	if !json.Valid(raw) {
		return nil, fmt.Errorf("plots: chart %q: option does not encode as JSON", c.id)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return nil, fmt.Errorf("plots: chart %q: %w", c.id, err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// ValidID reports whether id can be a chart ID: one or more of
// [A-Za-z0-9_].
func ValidID(id string) bool {
	if id == "" {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

func mustID(id string) {
	if !ValidID(id) {
		panic(fmt.Sprintf("plots: chart ID %q must match [A-Za-z0-9_]+", id))
	}
}

// RandomID returns a fresh chart ID ("c" and 16 hex digits) for notebook
// outputs, where re-running a cell must not reuse an ID.
func RandomID() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("plots: crypto/rand failed: " + err.Error())
	}
	return "c" + hex.EncodeToString(b[:])
}

// patch is a go-echarts visitor that sets option keys go-echarts' own
// types cannot express: its VisualMap holds float32 bounds that omitempty
// drops when they are 0, its series and axes lack boxWidth and
// boundaryGap, and its text styles lack font sizes.
type patch struct {
	charts.BaseConfigurationVisitor
	top     map[string]any                    // top-level keys, replaced
	objects map[string]map[string]any         // object key ("title") → keys deep-merged into it
	items   map[string]map[int]map[string]any // list key ("series", "xAxis") → index → keys deep-merged into that item
}

// Visit runs after go-echarts has assembled the option.
func (p *patch) Visit(obj map[string]any) {
	for k, v := range p.top {
		obj[k] = v
	}
	for key, kv := range p.objects {
		var m map[string]any
		if !generic(obj[key], &m) {
			continue
		}
		if m == nil {
			m = map[string]any{}
		}
		deepMerge(m, kv)
		obj[key] = m
	}
	for key, byIndex := range p.items {
		var list []map[string]any
		if !generic(obj[key], &list) {
			continue
		}
		for i, kv := range byIndex {
			if i < len(list) {
				deepMerge(list[i], kv)
			}
		}
		obj[key] = list
	}
}

// generic decodes the JSON of v into out (a map or a list of maps); false
// when v does not encode as that (OptionsJSON reports a value that does not
// encode at all).
func generic(v any, out any) bool {
	raw, err := json.Marshal(v)
	return err == nil && json.Unmarshal(raw, out) == nil
}

// deepMerge sets src's keys in dst, merging maps into maps; src's own maps
// are copied, never shared.
func deepMerge(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			dm, ok := dst[k].(map[string]any)
			if !ok {
				dm = map[string]any{}
				dst[k] = dm
			}
			deepMerge(dm, sm)
			continue
		}
		dst[k] = v
	}
}

// missing is ECharts' marker for a value that is not there.
const missing = "-"

// num returns v, or the missing marker when v is not finite or, on a log
// axis, not positive.
func num(v float64, log bool) any {
	if math.IsNaN(v) || math.IsInf(v, 0) || log && v <= 0 {
		return missing
	}
	return v
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// text keeps go-echarts from treating user text as code: its renderer
// deletes every "__f__" (its marker for raw JS functions) together with an
// adjacent quote, so a label holding it could splice code into the option.
func text(s string) string {
	for strings.Contains(s, "__f__") { // overlapping markers need more passes
		s = strings.ReplaceAll(s, "__f__", "_\u200b_f__")
	}
	return s
}

func texts(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = text(s)
	}
	return out
}
