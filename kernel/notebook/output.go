package notebook

import (
	"errors"
	"fmt"
	"html"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/alignlab/alignlab/kernel"
	"github.com/alignlab/alignlab/kernel/report"
	"github.com/alignlab/alignlab/plots"
	"github.com/janpfeifer/gonb/gonbui/protocol"
)

// output is one display_data of a cell: the same content in the MIME
// types a front end chooses from (see doc.go for why these). An empty html
// with an empty markdown is still sent as text/html, which is how an
// updatable output is cleared.
type output struct {
	html     string // text/html
	markdown string // text/markdown; with it, html is not sent
	plain    string // text/plain, the twin that every viewer can show; "" for none
}

// data is the MIME bundle of o.
func (o output) data() map[protocol.MIMEType]any {
	d := map[protocol.MIMEType]any{}
	if o.markdown != "" {
		d[protocol.MIMETextMarkdown] = o.markdown
	} else {
		d[protocol.MIMETextHTML] = o.html
	}
	if o.plain != "" {
		d[protocol.MIMETextPlain] = o.plain
	}
	return d
}

// show sends o as a new output of the cell.
func show(o output) { sendData(&protocol.DisplayData{Data: o.data()}) }

// update sends o as the content of the output with display id id: the
// first call creates it, later ones replace it in place.
func update(id string, o output) {
	sendData(&protocol.DisplayData{Data: o.data(), DisplayID: id})
}

// libraryMarker is the file, in the kernel session's directory, whose
// existence says that an output of this session already carried the
// ECharts library.
const libraryMarker = "alignlab-echarts-sent"

// library decides which chart outputs carry the ECharts library (see
// doc.go): the first chart output of a kernel session, every later version
// of that output (display id), and the next one after IncludeLibrary.
var library = &libraryState{}

type libraryState struct {
	mu       sync.Mutex
	forced   bool            // IncludeLibrary was called
	carriers map[string]bool // display ids whose first chart version carried it
}

// reset forgets this process's state; the kernel session's marker stays.
func (l *libraryState) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.forced = false
	l.carriers = nil
}

// script returns plots.Script() if the output with display id displayID
// ("" for an output that is never updated) must carry the library, else "".
func (l *libraryState) script(displayID string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	carry := false
	switch {
	case displayID != "" && l.carriers[displayID]:
		carry = true // the version it replaces carried it
	case l.forced:
		l.forced = false
		markSession() // later outputs can rely on this one too
		carry = true
	default:
		carry = markSession()
	}
	if !carry {
		return ""
	}
	if displayID != "" {
		if l.carriers == nil {
			l.carriers = map[string]bool{}
		}
		l.carriers[displayID] = true
	}
	return plots.Script()
}

// markSession creates the session's marker and reports whether this call
// created it, that is, whether no output of the session has carried the
// library yet. Without a session directory (a program GoNB did not start,
// an old GoNB) or if the marker cannot be written, every chart output
// carries the library: bigger, never blank.
func markSession() bool {
	dir := sessionDir()
	if dir == "" {
		return true
	}
	f, err := os.OpenFile(filepath.Join(dir, libraryMarker), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return !errors.Is(err, fs.ErrExist)
	}
	f.Close()
	return true
}

// IncludeLibrary makes the next chart output of the cell carry the ECharts
// library (about 1 MB) even if an earlier output of the kernel session
// did. Call it at the top of a cell whose output must stand alone with
// interactive charts: a notebook exported cell by cell, or the cell that
// carried the library rerun after earlier outputs were cleared. Without it
// such an output shows each chart's static picture instead.
func IncludeLibrary() {
	library.mu.Lock()
	defer library.mu.Unlock()
	library.forced = true
}

// chartsHTML returns the blocks of charts for the output with display id
// displayID, after the library if that output must carry it. It panics if
// two charts share an ID.
func chartsHTML(displayID string, charts []*plots.Chart) string {
	if len(charts) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(library.script(displayID))
	seen := make(map[string]bool, len(charts))
	for _, c := range charts {
		if seen[c.ID()] {
			panic(fmt.Sprintf("notebook: two charts have ID %q", c.ID()))
		}
		seen[c.ID()] = true
		b.WriteString(c.Block())
	}
	return b.String()
}

// chartTitle is a chart's title, or its ID if it has none.
func chartTitle(c *plots.Chart) string {
	if t := c.Title(); t != "" {
		return t
	}
	return c.ID()
}

// chartsText is the text/plain twin of charts: one line each.
func chartsText(charts []*plots.Chart) string {
	var lines []string
	for _, c := range charts {
		lines = append(lines, "[chart: "+chartTitle(c)+"]")
	}
	return strings.Join(lines, "\n")
}

// tableText renders t as aligned plain text: the text/plain twin of a table.
// It keeps the first ShowRows rows and says how many it left out.
func tableText(t *kernel.Table) string {
	if t == nil {
		return ""
	}
	n := min(len(t.Rows), ShowRows)
	cells := make([][]string, 0, n+1)
	cells = append(cells, t.Columns)
	for _, row := range t.Rows[:n] {
		line := make([]string, len(t.Columns))
		for c := range line {
			if c < len(row) {
				line[c] = report.CellText(row[c])
			}
		}
		cells = append(cells, line)
	}
	width := make([]int, len(t.Columns))
	for _, line := range cells {
		for c, s := range line {
			width[c] = max(width[c], len([]rune(s)))
		}
	}
	var b strings.Builder
	for r, line := range cells {
		var row strings.Builder
		for c, s := range line {
			if c > 0 {
				row.WriteString("  ")
			}
			pad := strings.Repeat(" ", width[c]-len([]rune(s)))
			if r > 0 && c < len(t.Rows[r-1]) && report.NumberCell(t.Rows[r-1][c]) { // numbers right-aligned, as in the HTML
				row.WriteString(pad + s)
			} else {
				row.WriteString(s + pad)
			}
		}
		b.WriteString(strings.TrimRight(row.String(), " ") + "\n")
	}
	if len(t.Rows) > n {
		fmt.Fprintf(&b, "… %d more rows\n", len(t.Rows)-n)
	}
	return strings.TrimRight(b.String(), "\n")
}

// htmlText is a plain-text reading of HTML, the text/plain twin of
// ShowHTML: scripts and styles go, a few block tags become line breaks,
// other tags go and entities are decoded.
func htmlText(s string) string {
	s = dropBlocks.ReplaceAllString(s, "")
	s = breakTags.ReplaceAllString(s, "\n")
	s = anyTag.ReplaceAllString(s, "")
	s = html.UnescapeString(s)
	s = blankLines.ReplaceAllString(s, "\n\n")
	return strings.TrimSpace(s)
}

var (
	dropBlocks = regexp.MustCompile(`(?is)<(script|style)\b.*?</(script|style)\s*>`)
	breakTags  = regexp.MustCompile(`(?i)<(br|/p|/div|/tr|/li|/h[1-6]|/table|/pre)\b[^>]*>`)
	anyTag     = regexp.MustCompile(`<[^>]*>`)
	blankLines = regexp.MustCompile(`\n\s*\n(\s*\n)+`)
)

// markdownText is the text/plain twin of Markdown: the source, which is
// meant to read as text, without the emphasis markers that only clutter
// it ("**bold**" → "bold"); math, code and links stay as written.
func markdownText(md string) string {
	return strings.TrimSpace(strings.ReplaceAll(md, "**", ""))
}
