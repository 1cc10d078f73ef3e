package notebook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"maps"
	"math"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alignlab/alignlab/kernel"
	"github.com/alignlab/alignlab/kernel/report"
	"github.com/alignlab/alignlab/plots"
	"github.com/janpfeifer/gonb/gonbui"
	"github.com/janpfeifer/gonb/gonbui/protocol"
)

// The notebook side: every Show… function writes one output of the running
// GoNB cell, and does nothing when the program is not a notebook cell, so
// the same code runs under `go test` and in a command. doc.go says which
// MIME types each output carries, and which outputs carry the ECharts
// library.

// The display hooks: GoNB in a notebook; tests replace them to see what
// would be shown.
var (
	inNotebook = func() bool { return gonbui.IsNotebook }
	sendData   = gonbui.SendData // one display_data, or an update of one when DisplayID is set
	syncOut    = gonbui.Sync     // waits until GoNB has the outputs, or the last ones of a cell can be lost

	// sessionDir is a directory of the kernel session, shared by its cells
	// and removed with it: GoNB's GONB_TMP_DIR (the scratch module it
	// compiles every cell in), "" if unknown.
	sessionDir = func() string { return os.Getenv(protocol.GONB_TMP_DIR_ENV) }

	// notifyInterrupt relays the kernel's interrupt (SIGINT, see
	// CellContext) to c until the returned stop is called; tests replace
	// it to interrupt without signalling the test process.
	notifyInterrupt = func(c chan<- os.Signal) (stop func()) {
		signal.Notify(c, os.Interrupt)
		return func() { signal.Stop(c) }
	}
)

// InNotebook reports whether the program runs as a GoNB notebook cell.
func InNotebook() bool { return inNotebook() }

// ShowHTML shows s, raw HTML, as an output of the cell, with a plain-text
// reading of it for viewers that show no HTML.
func ShowHTML(s string) {
	if !inNotebook() {
		return
	}
	show(output{html: s, plain: htmlText(s)})
	syncOut()
}

// ShowMarkdown shows s, Markdown (with $…$ math), as an output of the
// cell. The output carries s as text/plain too, so that a copy of the
// notebook opened without trust, where Jupyter drops Markdown outputs,
// still shows the text.
func ShowMarkdown(s string) {
	if !inNotebook() {
		return
	}
	show(output{markdown: s, plain: markdownText(s)})
	syncOut()
}

// ShowCharts shows charts in one output: each one's static picture, which
// its interactive chart replaces where scripts run (see doc.go). Chart IDs
// must be unique in the notebook: build them with plots.RandomID so that
// running a cell again does not reuse one.
func ShowCharts(charts ...*plots.Chart) {
	if !inNotebook() || len(charts) == 0 {
		return
	}
	show(output{html: `<div class="alignlab-out">` + "\n" + chartsHTML("", charts) + "</div>\n", plain: chartsText(charts)})
	syncOut()
}

// ShowTable shows t as an HTML table.
func ShowTable(t *kernel.Table) {
	if !inNotebook() || t == nil {
		return
	}
	show(output{html: `<div class="alignlab-out">` + outCSS + scrollable(report.TableHTML(t)) + "</div>\n", plain: tableText(t)})
	syncOut()
}

// Show shows a result in one output, compact enough that Jupyter does not
// fold it into a scroll box: a header line (plugin, seed, backend, time),
// the final metrics, the notes, the first OpenCharts declared charts, the
// other charts under a closed "N more charts" line, then the tables (the
// first ShowRows rows of each) under a closed "N tables" line. It shows
// nothing outside a notebook, and an error line in place of the charts if
// they cannot be drawn.
func Show(res *kernel.Result) {
	if !inNotebook() || res == nil {
		return
	}
	show(resultOutput(res, "", plots.RandomID(), resultView{}))
	syncOut()
}

// ShowRows is the number of rows of each table that Show prints; the whole
// table stays in kernel.Result.Tables.
const ShowRows = 20

// OpenCharts is the number of a result's charts that Show draws open; the
// others wait under a closed <details> line, one click away, so that a
// result with many charts stays short. The lab's plugins declare 2 to 5
// charts a result, so all of them are open: a reader without JavaScript (an
// untrusted copy, a static export) sees every chart's image without a click.
const OpenCharts = 6

// resultView is how an output draws a result besides its content: Show's
// defaults, or the final state of RunLive, RunStudy and Widgets.
type resultView struct {
	header   string         // the first line (HTML); "" for resultHeader's
	progress string         // appended to the header: how the run ended
	stale    string         // a warning above all: this result is not the current one
	extra    []*plots.Chart // drawn before the declared charts
	first    []string       // declared line charts of these metrics come first
}

// resultHeader is Show's header line (HTML): plugin, seed, backend, time.
func resultHeader(res *kernel.Result) string {
	header := fmt.Sprintf("<b>%s</b> &middot; seed %d &middot; backend %s", html.EscapeString(res.Plugin), res.Seed, html.EscapeString(res.Backend))
	if res.Timing != nil {
		header += " &middot; " + formatSeconds(res.Timing.WallSeconds)
	}
	return header
}

// resultOutput builds the output that shows res (HTML and its plain-text
// twin) as the output with display id displayID ("" for one never
// updated). Chart IDs get prefix, so that the same result shown twice on a
// page has distinct element IDs.
func resultOutput(res *kernel.Result, displayID, prefix string, v resultView) output {
	header := v.header
	if header == "" {
		header = resultHeader(res)
	}
	if v.progress != "" {
		header += " &middot; " + html.EscapeString(v.progress)
	}
	var b, t strings.Builder
	b.WriteString(`<div class="alignlab-out alignlab-result">` + "\n" + outCSS)
	if v.stale != "" {
		fmt.Fprintf(&b, "<p class=\"alignlab-stale\" style=\"%s\">%s</p>\n", staleStyle, html.EscapeString(v.stale))
		t.WriteString(v.stale + "\n")
	}
	b.WriteString("<p class=\"alignlab-header\">" + header + "</p>\n")
	t.WriteString(htmlText(header) + "\n")
	b.WriteString(finalHTML(res.Final))
	for _, k := range slices.Sorted(maps.Keys(res.Final)) {
		fmt.Fprintf(&t, "%s = %s\n", k, formatValue(res.Final[k]))
	}
	if len(res.Notes) > 0 {
		b.WriteString("<ul class=\"alignlab-notes\">\n")
		for _, n := range res.Notes {
			fmt.Fprintf(&b, "<li>%s</li>\n", html.EscapeString(n))
			t.WriteString("- " + n + "\n")
		}
		b.WriteString("</ul>\n")
	}
	charts := slices.Clone(v.extra)
	if len(res.Charts) > 0 {
		declared, err := report.ChartsWithPrefix(res, prefix)
		if err != nil {
			fmt.Fprintf(&b, "<p style=\"color:#b00\">charts: %s</p>\n", html.EscapeString(err.Error()))
			t.WriteString("charts: " + err.Error() + "\n")
		}
		charts = append(charts, firstCharts(res.Charts, declared, v.first)...)
	}
	if len(charts) > 0 {
		open, more := charts[:min(len(charts), OpenCharts)], charts[min(len(charts), OpenCharts):]
		lib := library.script(displayID)
		b.WriteString(lib)
		for _, c := range open {
			b.WriteString(c.Block())
		}
		if len(more) > 0 {
			titles := make([]string, len(more))
			for i, c := range more {
				titles[i] = chartTitle(c)
			}
			// A chart drawn while its <details> was closed has no size:
			// the window's resize event, which every chart follows, redraws it.
			fmt.Fprintf(&b, "<details class=\"alignlab-more\" ontoggle=\"window.dispatchEvent(new Event('resize'))\"><summary>%d more charts: %s</summary>\n",
				len(more), html.EscapeString(strings.Join(titles, "; ")))
			for _, c := range more {
				b.WriteString(c.Block())
			}
			b.WriteString("</details>\n")
		}
		t.WriteString(chartsText(charts) + "\n")
	}
	if names := res.TableNames(); len(names) > 0 {
		summary := make([]string, len(names))
		for i, name := range names {
			summary[i] = fmt.Sprintf("%s (%d rows)", name, len(res.Tables[name].Rows))
		}
		fmt.Fprintf(&b, "<details class=\"alignlab-tables\"><summary>%s: %s</summary>\n", plural(len(names), "table"), html.EscapeString(strings.Join(summary, ", ")))
		fmt.Fprintf(&t, "[%s: %s]\n", plural(len(names), "table"), strings.Join(summary, ", "))
		for _, name := range names {
			tab := res.Tables[name]
			fmt.Fprintf(&b, "<h4>%s</h4>\n", html.EscapeString(name))
			if len(tab.Rows) > ShowRows {
				head := &kernel.Table{Columns: tab.Columns, Rows: tab.Rows[:ShowRows]}
				b.WriteString(scrollable(report.TableHTML(head)))
				fmt.Fprintf(&b, "<p><i>first %d of %d rows; all are in Result.Tables[%s]</i></p>\n",
					ShowRows, len(tab.Rows), html.EscapeString(strconv.Quote(name)))
			} else {
				b.WriteString(scrollable(report.TableHTML(tab)))
			}
		}
		b.WriteString("</details>\n")
	}
	b.WriteString("</div>\n")
	return output{html: b.String(), plain: strings.TrimRight(t.String(), "\n")}
}

// firstCharts orders the declared charts (plots of res.Charts, in the same
// order) so that the line charts of the metrics in first come first, the
// others keeping their order: the curves a RunLive watched stay open.
func firstCharts(declared []kernel.Chart, drawn []*plots.Chart, first []string) []*plots.Chart {
	if len(first) == 0 || len(declared) != len(drawn) {
		return drawn
	}
	var lead, rest []*plots.Chart
	for i, c := range declared {
		if c.Kind == "line" && slices.ContainsFunc(c.Series, func(s string) bool { return slices.Contains(first, s) }) {
			lead = append(lead, drawn[i])
		} else {
			rest = append(rest, drawn[i])
		}
	}
	return append(lead, rest...)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// scrollable wraps a table so that a wide one scrolls by itself instead of
// widening the whole output. Jupyter's output area is a flex item, which
// grows to the widest thing inside it, scroll box or not; width 0 keeps the
// table out of that measure and min-width 100% gives the box the output's
// width back.
func scrollable(table string) string {
	return `<div class="alignlab-scroll" style="overflow-x:auto;width:0;min-width:100%">` + "\n" + table + "</div>\n"
}

// staleStyle marks a result kept from an earlier run.
const staleStyle = "background:#fff4e0;border-left:4px solid #e69500;padding:4px 8px;margin:4px 0"

// outCSS lays out Show's output. It undoes Jupyter's right-aligned table
// cells for text (its rule has specificity (0,2,1); this one (0,2,3));
// TableHTML right-aligns numbers with inline styles, which win. The final
// metrics flow in as many columns as the output's width holds.
const outCSS = `<style>
.alignlab-out { max-width: 100%; }
.alignlab-out table.alignlab-table td, .alignlab-out table.alignlab-table th { text-align: left; }
.alignlab-out ul.alignlab-final { display: grid; grid-template-columns: repeat(auto-fill, minmax(16em, 1fr)); column-gap: 2em; list-style: none; margin: 0.3em 0; padding: 0; }
.alignlab-out ul.alignlab-final li { display: flex; justify-content: space-between; gap: 1em; margin: 0; border-bottom: 1px dotted #ccc; }
.alignlab-out ul.alignlab-final li span + span { font-variant-numeric: tabular-nums; }
.alignlab-out details > summary { cursor: pointer; margin: 0.3em 0; }
</style>
`

// finalHTML writes final metrics as a list of "name value" items, sorted
// by name, that outCSS lays out in columns.
func finalHTML(final map[string]float64) string {
	if len(final) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("<ul class=\"alignlab-final\">\n")
	for _, k := range slices.Sorted(maps.Keys(final)) {
		fmt.Fprintf(&b, "<li><span>%s</span> <span>%s</span></li>\n", html.EscapeString(k), formatValue(final[k]))
	}
	b.WriteString("</ul>\n")
	return b.String()
}

// formatValue prints v with 6 significant digits, as people read metrics.
func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

func formatSeconds(s float64) string {
	if s < 1 {
		return fmt.Sprintf("%.0f ms", s*1000)
	}
	return fmt.Sprintf("%.1f s", s)
}

// LiveInterval is the least time between two redraws of RunLive's chart
// (at most 4 updates a second: each redraw crosses GoNB, Jupyter and the
// browser).
const LiveInterval = 250 * time.Millisecond

// livePoints is the most points per series a live redraw sends; the final
// chart has them all.
const livePoints = 500

// ErrInterrupted is the cause (context.Cause) of a CellContext, or of
// RunLive's context, cancelled by the kernel's interrupt.
var ErrInterrupted = errors.New("notebook: interrupted")

// CellContext returns a context for the work of a notebook cell that is
// cancelled, with cause ErrInterrupted, when the kernel is interrupted
// (Jupyter's ■): GoNB sends the cell's program SIGINT, and kills it 5 s
// later if it still runs. Go's default SIGINT handling kills the program at
// once, losing what the cell would have shown; with CellContext a run
// (kernel.Run, RunLive, Widgets, a loop of your own) stops at its next step
// and the program ends by itself, showing what it has. A second interrupt kills
// the program as usual. cancel releases the signal: defer it.
//
// Outside a notebook it is context.WithCancel(context.Background()): a
// command or a test keeps its own SIGINT handling.
func CellContext() (ctx context.Context, cancel context.CancelFunc) {
	if !inNotebook() {
		return context.WithCancel(context.Background())
	}
	return interruptible(context.Background())
}

// interruptible returns a child of parent cancelled with ErrInterrupted on
// the first interrupt. The relay stops at that interrupt (so a second one
// gets the default handling) or when the context ends; cancel stops it
// before returning, so no interrupt after it is swallowed.
func interruptible(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancelCause := context.WithCancelCause(parent)
	sig := make(chan os.Signal, 1)
	stop := sync.OnceFunc(notifyInterrupt(sig))
	go func() {
		select {
		case <-sig:
			stop()
			cancelCause(ErrInterrupted)
		case <-ctx.Done():
			stop()
		}
	}()
	return ctx, func() {
		stop()
		cancelCause(context.Canceled)
	}
}

// StoppedError is RunLive's error for a run that its context stopped before
// the end: the kernel's interrupt, a deadline, a cancel. errors.Is finds
// both the cause (ErrInterrupted, context.DeadlineExceeded, …) and what
// kernel.Run returned (context.Canceled, …).
type StoppedError struct {
	Plugin string
	Step   int64 // the last step the plugin reported
	Total  int64 // its total steps, 0 if unknown
	Cause  error // context.Cause of the run's context
	Err    error // kernel.Run's error
}

func (e *StoppedError) Error() string {
	return e.Plugin + ": " + stoppedText(e.Cause, e.Step, e.Total)
}

// Unwrap returns kernel.Run's error and the cause.
func (e *StoppedError) Unwrap() []error { return []error{e.Err, e.Cause} }

// stopReason says why a run or a study stopped: "interrupted" (the
// kernel's interrupt), "timed out" or "cancelled".
func stopReason(cause error) string {
	switch {
	case errors.Is(cause, ErrInterrupted):
		return "interrupted"
	case errors.Is(cause, context.DeadlineExceeded):
		return "timed out"
	}
	return "cancelled"
}

// stoppedText says why and where a run stopped: "interrupted at step 120 / 1500".
func stoppedText(cause error, step, total int64) string {
	why := stopReason(cause)
	if total > 0 {
		return fmt.Sprintf("%s at step %d / %d", why, step, total)
	}
	return fmt.Sprintf("%s at step %d", why, step)
}

// RunLive runs plugin id like kernel.Run while a line chart of the named
// metrics (all of them if none is named) redraws in place in the cell
// output. When the run ends, that output is replaced in place by the
// result as Show draws it, its header saying "done: N / N steps", with the
// declared charts of the watched metrics first and a chart of the watched
// metrics no declared chart draws: each curve is drawn once. An Observer
// in opts still gets every event. Outside a notebook it is kernel.Run.
//
// In a notebook, interrupting the kernel stops the run whatever ctx is (it
// is made interruptible as by CellContext): the chart keeps the curves so
// far and says "interrupted at step N", and RunLive returns a
// *StoppedError, as it does when ctx ends first. The error is shown under
// the chart; a plugin error too.
func RunLive(ctx context.Context, id string, opts kernel.Options, metrics ...string) (*kernel.Result, error) {
	if !inNotebook() {
		return kernel.Run(ctx, id, opts)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := interruptible(ctx)
	defer cancel()
	lv := newLive(id, metrics)
	next := opts.Observer
	opts.Observer = func(e kernel.Event) {
		lv.observe(e)
		if next != nil {
			next(e)
		}
	}
	lv.start()
	res, err := kernel.Run(ctx, id, opts)
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		step, total := lv.progress()
		err = &StoppedError{Plugin: id, Step: step, Total: total, Cause: context.Cause(ctx), Err: err}
	}
	lv.stop(res, err)
	return res, err
}

// live is the state of one RunLive chart: the series so far and the two
// updatable outputs (the chart, and a script that feeds it new data).
type live struct {
	plugin  string
	metrics []string        // as named, nil: every metric
	want    map[string]bool // nil: every metric
	chartID string          // element ID of the chart drawn first
	outID   string          // display id of the chart output
	feedID  string          // display id of the feeding script

	mu      sync.Mutex
	series  map[string][]kernel.Point
	order   []string
	step    int64
	total   int64
	dirty   bool
	fed     bool   // the feed output exists
	end     string // the final progress line, set by stop
	done    chan struct{}
	stopped chan struct{}
}

func newLive(plugin string, metrics []string) *live {
	lv := &live{
		plugin:  plugin,
		metrics: metrics,
		chartID: plots.RandomID(),
		series:  map[string][]kernel.Point{},
		done:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	lv.outID = "alignlab_live_" + lv.chartID
	lv.feedID = lv.outID + "_feed"
	if len(metrics) > 0 {
		lv.want = map[string]bool{}
		for _, m := range metrics {
			lv.want[m] = true
			lv.order = append(lv.order, m)
			lv.series[m] = nil
		}
	}
	return lv
}

// observe runs on the plugin's goroutine: it only records.
func (lv *live) observe(e kernel.Event) {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	if e.Total > 0 {
		lv.total = e.Total
	}
	if e.Step > lv.step {
		lv.step = e.Step
	}
	if e.Metric == "" || (lv.want != nil && !lv.want[e.Metric]) {
		return
	}
	if _, ok := lv.series[e.Metric]; !ok {
		lv.order = append(lv.order, e.Metric)
	}
	lv.series[e.Metric] = append(lv.series[e.Metric], kernel.Point{Step: e.Step, Value: e.Value})
	lv.dirty = true
}

// liveTick is the time between two redraws (LiveInterval; tests shorten it).
var liveTick = LiveInterval

// start draws the empty chart and redraws it, at most every LiveInterval,
// from its own goroutine, so a slow front end never slows the plugin.
func (lv *live) start() {
	update(lv.outID, lv.chartOutput(false))
	go func() {
		defer close(lv.stopped)
		tick := time.NewTicker(liveTick)
		defer tick.Stop()
		for {
			select {
			case <-lv.done:
				return
			case <-tick.C:
				if s, ok := lv.feed(); ok {
					update(lv.feedID, output{html: s})
					lv.mu.Lock()
					lv.fed = true
					lv.mu.Unlock()
				}
			}
		}
	}()
}

// progress returns the last step reported and the total.
func (lv *live) progress() (step, total int64) {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	return lv.step, lv.total
}

// stop ends the redraws and replaces the live chart in place: with the
// result as Show draws it if the run succeeded, else with the chart of the
// curves so far (and the library if the live one carried it, so a saved
// notebook renders it); the progress line says how the run ended.
func (lv *live) stop(res *kernel.Result, runErr error) {
	close(lv.done)
	<-lv.stopped
	lv.mu.Lock()
	lv.end = endText(runErr, lv.step, lv.total)
	fed := lv.fed
	lv.mu.Unlock()
	if fed {
		update(lv.feedID, output{}) // its script has nothing left to feed
	}
	if runErr == nil && res != nil {
		update(lv.outID, lv.resultOutput(res))
	} else {
		update(lv.outID, lv.chartOutput(true))
	}
	if runErr != nil {
		show(output{html: fmt.Sprintf("<p style=\"color:#b00\">%s</p>\n", html.EscapeString(runErr.Error())), plain: runErr.Error()})
	}
	syncOut()
}

// resultOutput is the final output of a run that succeeded: the result
// with its declared charts, the watched metrics' first, and before them a
// chart of the watched metrics that no declared line chart draws.
func (lv *live) resultOutput(res *kernel.Result) output {
	watched := lv.metrics
	if len(watched) == 0 {
		watched = slices.Sorted(maps.Keys(res.Series))
	}
	drawn := map[string]bool{}
	for _, c := range res.Charts {
		if c.Kind == "line" {
			for _, s := range c.Series {
				drawn[s] = true
			}
		}
	}
	var series []plots.Series
	for _, name := range watched {
		pts, ok := res.Series[name]
		if !ok || drawn[name] {
			continue
		}
		series = append(series, plotSeries(name, pts))
	}
	prefix := plots.RandomID()
	v := resultView{progress: lv.endLine(), first: watched}
	if len(series) > 0 {
		v.extra = []*plots.Chart{plots.Line(prefix+"_live", lv.plugin, series, plots.Axes{XLabel: "step"})}
	}
	return resultOutput(res, lv.outID, prefix, v)
}

func (lv *live) endLine() string {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	return lv.end
}

func plotSeries(name string, pts []kernel.Point) plots.Series {
	s := plots.Series{Name: name, X: make([]float64, len(pts)), Y: make([]float64, len(pts))}
	for i, p := range pts {
		s.X[i], s.Y[i] = float64(p.Step), p.Value
	}
	return s
}

// chartOutput is the live output: the chart of the series so far and a
// progress line. The final one (a run that failed or stopped) has every
// point and gets a fresh element ID, since the first one's script has run
// on the page.
func (lv *live) chartOutput(final bool) output {
	lv.mu.Lock()
	id := lv.chartID
	if final {
		id = plots.RandomID()
	}
	series := make([]plots.Series, 0, len(lv.order))
	for _, name := range lv.order {
		pts := lv.series[name]
		if !final {
			pts = thin(pts, livePoints)
		}
		series = append(series, plotSeries(name, pts))
	}
	title := lv.plugin
	if !final {
		title += " (running)"
	}
	progress := lv.end
	if !final || progress == "" {
		progress = progressText(lv.step, lv.total, final)
	}
	lv.mu.Unlock()
	chart := plots.Line(id, title, series, plots.Axes{XLabel: "step"})
	var b strings.Builder
	b.WriteString(`<div class="alignlab-out">` + "\n")
	b.WriteString(chartsHTML(lv.outID, []*plots.Chart{chart}))
	fmt.Fprintf(&b, "<div id=\"%s_progress\" style=\"font-family:monospace;font-size:0.85em\">%s</div>\n</div>\n",
		lv.chartID, html.EscapeString(progress))
	return output{html: b.String(), plain: title + ": " + progress}
}

// feed returns a script that sets the new data on the chart drawn first and
// updates the progress line, or false when nothing changed.
func (lv *live) feed() (string, bool) {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	if !lv.dirty {
		return "", false
	}
	lv.dirty = false
	return feedScript(lv.chartID, lv.order, lv.series, progressText(lv.step, lv.total, false)), true
}

// feedScript is the Javascript of one live redraw: ECharts merges the new
// series data into the existing chart (no re-creation, no flicker).
func feedScript(chartID string, order []string, series map[string][]kernel.Point, progress string) string {
	type echartsSeries struct {
		Name       string       `json:"name"`
		Type       string       `json:"type"`
		ShowSymbol bool         `json:"showSymbol"`
		Data       [][2]float64 `json:"data"`
	}
	opt := struct {
		Legend struct {
			Data []string `json:"data"`
		} `json:"legend"`
		Series []echartsSeries `json:"series"`
	}{}
	opt.Legend.Data = order
	for _, name := range order {
		pts := thin(series[name], livePoints)
		s := echartsSeries{Name: name, Type: "line", Data: make([][2]float64, 0, len(pts))}
		for _, p := range pts {
			if !math.IsNaN(p.Value) && !math.IsInf(p.Value, 0) {
				s.Data = append(s.Data, [2]float64{float64(p.Step), p.Value})
			}
		}
		opt.Series = append(opt.Series, s)
	}
	optJSON, _ := json.Marshal(opt) // only strings and finite floats: cannot fail
	progJSON, _ := json.Marshal(progress)
	idJSON, _ := json.Marshal(chartID)
	// json.Marshal escapes <, > and & as \u003c…, so no "</script>" can appear.
	return fmt.Sprintf(`<script>
(function () {
  var el = document.getElementById(%s);
  if (!el || typeof window.echarts === 'undefined') { return; }
  var chart = window.echarts.getInstanceByDom(el);
  if (chart) { chart.setOption(%s); }
  var p = document.getElementById(%s + '_progress');
  if (p) { p.textContent = %s; }
})();
</script>
`, idJSON, optJSON, idJSON, progJSON)
}

// thin keeps at most n points of pts, evenly spaced, always the last one.
func thin(pts []kernel.Point, n int) []kernel.Point {
	if len(pts) <= n || n < 2 {
		return pts
	}
	out := make([]kernel.Point, 0, n)
	stride := float64(len(pts)-1) / float64(n-1)
	for i := 0; i < n; i++ {
		out = append(out, pts[int(math.Round(float64(i)*stride))])
	}
	return out
}

// endText is the progress line of the final chart: done, stopped by the
// context (*StoppedError), or failed.
func endText(err error, step, total int64) string {
	var stopped *StoppedError
	switch {
	case err == nil:
		return progressText(step, total, true)
	case errors.As(err, &stopped):
		return stoppedText(stopped.Cause, stopped.Step, stopped.Total)
	case total > 0:
		return fmt.Sprintf("failed at step %d / %d", step, total)
	}
	return fmt.Sprintf("failed at step %d", step)
}

func progressText(step, total int64, final bool) string {
	switch {
	case final && total > 0:
		return fmt.Sprintf("done: %d / %d steps", step, total)
	case final:
		return fmt.Sprintf("done: %d steps", step)
	case total > 0:
		return fmt.Sprintf("step %d / %d (%.0f%%)", step, total, 100*float64(step)/float64(total))
	}
	return fmt.Sprintf("step %d", step)
}
