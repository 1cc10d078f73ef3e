package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/alignlab/alignlab/kernel"
)

// redrawEvery throttles the progress line: plugins may record thousands of
// values a second, a terminal needs ten.
const redrawEvery = 100 * time.Millisecond

// progressWidth keeps the line inside an 80-column terminal, so that \r
// returns to its start instead of leaving wrapped remnants.
const progressWidth = 79

// progress draws a one-line progress bar on stderr when stderr is a
// terminal, from the kernel's Observer events. Otherwise it draws nothing
// per step; with --json it prints the plugin's notes, which would otherwise
// only be inside the JSON.
type progress struct {
	w        io.Writer
	tty      bool
	id       string
	notes    bool
	step     int64
	total    int64
	values   map[string]float64
	order    []string // metrics in the order first seen
	lastDraw time.Time
	termLine
	clock func() time.Time
}

func newProgress(w io.Writer, id string, jsonMode bool) *progress {
	return &progress{w: w, tty: isTerminal(w), id: id, notes: jsonMode, values: map[string]float64{}, clock: time.Now}
}

// isTerminal reports whether w is a character device (a terminal), without a
// dependency on x/term.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (p *progress) observe(e kernel.Event) {
	if e.Note != "" {
		if p.notes {
			p.clear()
			fmt.Fprintf(p.w, "alignlab: %s: note: %s\n", p.id, oneLine(e.Note))
		}
		return
	}
	if e.Total > 0 {
		p.total = e.Total
	}
	if e.Step > p.step {
		p.step = e.Step
	}
	if e.Metric != "" {
		if _, seen := p.values[e.Metric]; !seen {
			p.order = append(p.order, e.Metric)
		}
		p.values[e.Metric] = e.Value
	}
	if !p.tty {
		return
	}
	if now := p.clock(); now.Sub(p.lastDraw) >= redrawEvery {
		p.lastDraw = now
		p.draw()
	}
}

func (p *progress) draw() {
	var b strings.Builder
	b.WriteString(p.id)
	if p.total > 0 {
		frac := float64(p.step) / float64(p.total)
		frac = min(max(frac, 0), 1)
		const cells = 20
		done := int(frac * cells)
		fmt.Fprintf(&b, " [%s%s] %3.0f%% %d/%d", strings.Repeat("=", done), strings.Repeat(" ", cells-done), 100*frac, p.step, p.total)
	} else {
		fmt.Fprintf(&b, " step %d", p.step)
	}
	for _, m := range p.order {
		fmt.Fprintf(&b, "  %s %s", m, fmtCell(p.values[m]))
	}
	p.show(p.w, b.String())
}

// termLine is the one line a progress display redraws in place on a
// terminal.
type termLine struct{ drawn bool }

// show replaces the line with line, cut to progressWidth bytes.
func (l *termLine) show(w io.Writer, line string) {
	if len(line) > progressWidth {
		line = line[:progressWidth]
	}
	fmt.Fprintf(w, "\r%s\x1b[K", line)
	l.drawn = true
}

// erase clears the line, so that what follows starts on a clean line.
func (l *termLine) erase(w io.Writer) {
	if l.drawn {
		io.WriteString(w, "\r\x1b[K")
		l.drawn = false
	}
}

// clear erases the progress line, so that what follows starts on a clean line.
func (p *progress) clear() { p.erase(p.w) }

func (p *progress) finish() { p.clear() }
