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
)

// The notebook side: every Show… function writes one output of the running
// GoNB cell, and does nothing when the program is not a notebook cell, so
// the same code runs under `go test` and in a command.
//
// An output that holds charts carries the ECharts library inline (about
// 1 MB, guarded so that a page runs it once): notebooks and their HTML
// exports must render offline, and nbconvert's HTML drops GoNB's separate
// Javascript outputs, while a <script> inside HTML output runs.

// The display hooks: GoNB in a notebook; tests replace them to see what
// would be shown.
var (
	inNotebook = func() bool { return gonbui.IsNotebook }
	sendHTML   = gonbui.DisplayHTML
	sendMD     = gonbui.DisplayMarkdown
	updateHTML = gonbui.UpdateHTML // replaces the output with the same display id
	syncOut    = gonbui.Sync       // waits until GoNB has the outputs, or the last ones of a cell can be lost

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

// ShowHTML shows s, raw HTML, as an output of the cell.
func ShowHTML(s string) {
	if !inNotebook() {
		return
	}
	sendHTML(s)
	syncOut()
}

// ShowMarkdown shows s, Markdown (with $…$ math), as an output of the cell.
func ShowMarkdown(s string) {
	if !inNotebook() {
		return
	}
	sendMD(s)
	syncOut()
}

// ShowCharts shows charts in one output, with the ECharts library inline.
// Chart IDs must be unique in the notebook: build them with plots.RandomID
// so that running a cell again does not reuse one.
func ShowCharts(charts ...*plots.Chart) {
	if !inNotebook() || len(charts) == 0 {
		return
	}
	sendHTML(plots.HTML(charts...))
	syncOut()
}

// ShowTable shows t as an HTML table.
func ShowTable(t *kernel.Table) {
	if !inNotebook() || t == nil {
		return
	}
	sendHTML(`<div class="alignlab-out">` + tableCSS + report.TableHTML(t) + "</div>\n")
	syncOut()
}

// Show shows a result in one output: a header (plugin, seed, backend,
// time), its final metrics, its notes, each declared chart, then each table
// (the first ShowRows rows). It shows nothing outside a notebook, and an
// error line in place of the charts if they cannot be drawn.
func Show(res *kernel.Result) {
	if !inNotebook() || res == nil {
		return
	}
	sendHTML(resultHTML(res, plots.RandomID()))
	syncOut()
}

// ShowRows is the number of rows of each table that Show prints; the whole
// table stays in kernel.Result.Tables.
const ShowRows = 20

// resultHTML builds the output of Show. Chart IDs get prefix, so that the
// same result shown twice on a page has distinct element IDs.
func resultHTML(res *kernel.Result, prefix string) string {
	header := fmt.Sprintf("<b>%s</b> &middot; seed %d &middot; backend %s", html.EscapeString(res.Plugin), res.Seed, html.EscapeString(res.Backend))
	if res.Timing != nil {
		header += " &middot; " + formatSeconds(res.Timing.WallSeconds)
	}
	return resultHTMLWith(res, prefix, header)
}

// resultHTMLWith is resultHTML with its header line (HTML) given.
func resultHTMLWith(res *kernel.Result, prefix, header string) string {
	var b strings.Builder
	b.WriteString(`<div class="alignlab-out alignlab-result">` + "\n" + tableCSS)
	b.WriteString("<p>" + header + "</p>\n")
	b.WriteString(finalHTML(res.Final))
	if len(res.Notes) > 0 {
		b.WriteString("<ul>\n")
		for _, n := range res.Notes {
			fmt.Fprintf(&b, "<li>%s</li>\n", html.EscapeString(n))
		}
		b.WriteString("</ul>\n")
	}
	if len(res.Charts) > 0 {
		charts, err := report.ChartsWithPrefix(res, prefix)
		if err != nil {
			fmt.Fprintf(&b, "<p style=\"color:#b00\">charts: %s</p>\n", html.EscapeString(err.Error()))
		}
		if len(charts) > 0 {
			b.WriteString(plots.HTML(charts...))
		}
	}
	for _, name := range res.TableNames() {
		t := res.Tables[name]
		fmt.Fprintf(&b, "<h4>%s</h4>\n", html.EscapeString(name))
		if len(t.Rows) > ShowRows {
			head := &kernel.Table{Columns: t.Columns, Rows: t.Rows[:ShowRows]}
			b.WriteString(report.TableHTML(head))
			fmt.Fprintf(&b, "<p><i>first %d of %d rows; all are in Result.Tables[%s]</i></p>\n",
				ShowRows, len(t.Rows), html.EscapeString(strconv.Quote(name)))
		} else {
			b.WriteString(report.TableHTML(t))
		}
	}
	b.WriteString("</div>\n")
	return b.String()
}

// tableCSS undoes Jupyter's right-aligned table cells for text (its rule
// has specificity (0,2,1); this one (0,2,3)); TableHTML and finalHTML
// right-align numbers with inline styles, which win.
const tableCSS = `<style>.alignlab-out table.alignlab-table td, .alignlab-out table.alignlab-table th { text-align: left; }</style>
`

// finalHTML writes final metrics as a two-column table, sorted by name.
func finalHTML(final map[string]float64) string {
	if len(final) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("<table class=\"alignlab-table\">\n<tr><th>metric</th><th>value</th></tr>\n")
	for _, k := range slices.Sorted(maps.Keys(final)) {
		fmt.Fprintf(&b, "<tr><td>%s</td><td style=\"text-align:right\">%s</td></tr>\n", html.EscapeString(k), formatValue(final[k]))
	}
	b.WriteString("</table>\n")
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
// output, then replaces it with the final chart and Shows the result. An
// Observer in opts still gets every event. Outside a notebook it is
// kernel.Run.
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
	lv.stop(err)
	if err == nil {
		Show(res)
	}
	return res, err
}

// live is the state of one RunLive chart: the series so far and the two
// updatable outputs (the chart, and a script that feeds it new data).
type live struct {
	plugin  string
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
	end     string // the final progress line, set by stop
	done    chan struct{}
	stopped chan struct{}
}

func newLive(plugin string, metrics []string) *live {
	lv := &live{
		plugin:  plugin,
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

// start draws the empty chart and redraws it, at most every LiveInterval,
// from its own goroutine, so a slow front end never slows the plugin.
func (lv *live) start() {
	updateHTML(lv.outID, lv.chartHTML(false))
	go func() {
		defer close(lv.stopped)
		tick := time.NewTicker(LiveInterval)
		defer tick.Stop()
		for {
			select {
			case <-lv.done:
				return
			case <-tick.C:
				if s, ok := lv.feed(); ok {
					updateHTML(lv.feedID, s)
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

// stop ends the redraws and leaves the final chart (with the library
// inline, so a saved notebook renders it) in place of the live one; its
// progress line says how the run ended.
func (lv *live) stop(runErr error) {
	close(lv.done)
	<-lv.stopped
	lv.mu.Lock()
	lv.end = endText(runErr, lv.step, lv.total)
	lv.mu.Unlock()
	updateHTML(lv.feedID, "")
	updateHTML(lv.outID, lv.chartHTML(true))
	if runErr != nil {
		sendHTML(fmt.Sprintf("<p style=\"color:#b00\">%s</p>\n", html.EscapeString(runErr.Error())))
	}
	syncOut()
}

// chartHTML is the live output: the chart of the series so far and a
// progress line. The first one carries the library; the final one too, and
// gets a fresh element ID since the first one's script has run on the page.
func (lv *live) chartHTML(final bool) string {
	lv.mu.Lock()
	defer lv.mu.Unlock()
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
		s := plots.Series{Name: name, X: make([]float64, len(pts)), Y: make([]float64, len(pts))}
		for i, p := range pts {
			s.X[i], s.Y[i] = float64(p.Step), p.Value
		}
		series = append(series, s)
	}
	title := lv.plugin
	if !final {
		title += " (running)"
	}
	chart := plots.Line(id, title, series, plots.Axes{XLabel: "step"})
	var b strings.Builder
	b.WriteString(plots.HTML(chart))
	progress := lv.end
	if !final || progress == "" {
		progress = progressText(lv.step, lv.total, final)
	}
	fmt.Fprintf(&b, "<div id=\"%s_progress\" style=\"font-family:monospace;font-size:0.85em\">%s</div>\n",
		lv.chartID, html.EscapeString(progress))
	return b.String()
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
