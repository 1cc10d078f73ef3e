package notebook

import (
	"context"
	"errors"
	"fmt"
	"html"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alignlab/alignlab/kernel"
	"github.com/alignlab/alignlab/plots"
)

// RunStudy runs a study like kernel.RunStudyWith while a progress line and
// bar update in place in the cell output ("cell 4/18: x=2 b=5 seed 3
// (cached)"), then replaces them in place with its summary, drawn as Show
// draws res.Result(metrics...): the table of each final metric's mean,
// standard error and mean ± s.e. per grid point, and a chart of each named
// metric (all of them if none is named) with those error bars; the header
// names the grid, the seeds and the time. opts.Observer still gets every
// cell. Outside a notebook it is kernel.RunStudyWith.
//
// In a notebook, interrupting the kernel stops the study whatever ctx is
// (it is made interruptible as by CellContext); RunStudy returns a
// *StudyStoppedError, as it does when ctx ends first. The cells finished
// by then stay cached in opts.Dir, if set, so running the cell again
// continues the study. The error is shown under the progress line.
func RunStudy(ctx context.Context, s kernel.Study, opts kernel.StudyOptions, metrics ...string) (*kernel.StudyResult, error) {
	if !inNotebook() {
		return kernel.RunStudyWith(ctx, s, opts)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := interruptible(ctx)
	defer cancel()
	sp := newStudyProgress(s, opts)
	next := opts.Observer
	opts.Observer = func(done, total int, c *kernel.Cell) {
		sp.observe(done, total, c)
		if next != nil {
			next(done, total, c)
		}
	}
	sp.start()
	res, err := kernel.RunStudyWith(ctx, s, opts)
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		done, total := sp.progress()
		err = &StudyStoppedError{Plugin: s.Plugin, Done: done, Total: total, Dir: opts.Dir, Cause: context.Cause(ctx), Err: err}
	}
	if err == nil {
		sp.finish(res, metrics)
	} else {
		sp.stop(err)
	}
	return res, err
}

// studyHeader is the header line of a study's summary: the plugin, the
// grid, the seeds and the cells ("dpo.dpo study · pairs × flip_rate: 6
// points × 3 seeds (1, 2, 3) · 18 cells: 18 run, 0 cached, 0 failed ·
// backend go").
func studyHeader(r *kernel.StudyResult) string {
	s := r.Study
	var keys []string
	points := 1
	for _, ax := range s.Grid {
		keys = append(keys, strings.Join(ax.Keys, "+"))
		points *= len(ax.Values)
	}
	seeds := "the default seed"
	if len(s.Seeds) > 0 {
		list := make([]string, len(s.Seeds))
		for i, seed := range s.Seeds {
			list[i] = strconv.FormatInt(seed, 10)
		}
		seeds = fmt.Sprintf("%d seeds (%s)", len(s.Seeds), strings.Join(list, ", "))
	}
	grid := fmt.Sprintf("%d points × %s", points, seeds)
	if len(keys) > 0 {
		grid = strings.Join(keys, " × ") + ": " + grid
	}
	return fmt.Sprintf("<b>%s</b> study &middot; %s &middot; %d cells: %d run, %d cached, %d failed &middot; backend %s",
		html.EscapeString(s.Plugin), html.EscapeString(grid), len(r.Cells), r.Ran, r.Cached, len(r.Failed()), html.EscapeString(kernel.Backend()))
}

// StudyStoppedError is RunStudy's error for a study that its context
// stopped before the end: the kernel's interrupt, a deadline, a cancel.
// errors.Is finds both the cause (ErrInterrupted, context.DeadlineExceeded,
// …) and what kernel.RunStudyWith returned.
type StudyStoppedError struct {
	Plugin      string
	Done, Total int    // cells finished (run or read from the cache) and cells to do
	Dir         string // the study's cache directory, "" if none
	Cause       error  // context.Cause of the study's context
	Err         error  // kernel.RunStudyWith's error
}

func (e *StudyStoppedError) Error() string {
	msg := fmt.Sprintf("study of %s: %s", e.Plugin, studyStoppedText(e.Cause, e.Done, e.Total))
	if e.Dir != "" {
		return msg + "; the finished cells are cached in " + e.Dir + ": run it again to continue"
	}
	return msg + "; with a Dir in the StudyOptions a rerun would continue from the finished cells"
}

// Unwrap returns kernel.RunStudyWith's error and the cause.
func (e *StudyStoppedError) Unwrap() []error { return []error{e.Err, e.Cause} }

// studyStoppedText says why and where a study stopped: "interrupted after 4 / 18 cells".
func studyStoppedText(cause error, done, total int) string {
	return fmt.Sprintf("%s after %d / %d cells", stopReason(cause), done, total)
}

// studyProgress is the state of one RunStudy display: counts and the last
// cell, redrawn in place by its own goroutine at most every LiveInterval.
type studyProgress struct {
	plugin string
	keys   []string // the grid keys, in grid order
	outID  string   // display id of the progress output

	mu          sync.Mutex
	done, total int
	last        string // the last cell's line
	dirty       bool
	began       time.Time
	end         string // the final line, set by stop
	endErr      bool
	stopDraw    chan struct{}
	stopped     chan struct{}
}

func newStudyProgress(s kernel.Study, opts kernel.StudyOptions) *studyProgress {
	sp := &studyProgress{
		plugin:   s.Plugin,
		outID:    "alignlab_study_" + plots.RandomID(),
		total:    studyCells(s, opts),
		began:    time.Now(),
		stopDraw: make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	for _, ax := range s.Grid {
		sp.keys = append(sp.keys, ax.Keys...)
	}
	return sp
}

// studyCells is the number of cells a study will run as opts say, shown
// before the first cell ends; the observer's count replaces it.
func studyCells(s kernel.Study, opts kernel.StudyOptions) int {
	n := max(len(s.Seeds), 1)
	for _, ax := range s.Grid {
		n *= len(ax.Values)
	}
	if opts.Shards > 0 && opts.Shard >= 1 && opts.Shard <= opts.Shards {
		// Cells i with i mod Shards = Shard − 1.
		return (n - opts.Shard + opts.Shards) / opts.Shards
	}
	return n
}

// observe runs on the study's goroutines, one call at a time: it only records.
func (sp *studyProgress) observe(done, total int, c *kernel.Cell) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.done, sp.total = done, total
	sp.last = fmt.Sprintf("cell %d/%d: %s", done, total, cellText(sp.keys, c))
	sp.dirty = true
}

// cellText names a cell by its grid point and seed, and says whether it
// came from the cache or failed: "x=2 b=5 seed 3 (cached)".
func cellText(keys []string, c *kernel.Cell) string {
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%v ", k, c.Point[k])
	}
	fmt.Fprintf(&b, "seed %d", c.Seed)
	switch {
	case c.Result == nil && c.Cached:
		b.WriteString(" (cached, failed)")
	case c.Result == nil:
		b.WriteString(" (failed)")
	case c.Cached:
		b.WriteString(" (cached)")
	}
	return b.String()
}

func (sp *studyProgress) progress() (done, total int) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.done, sp.total
}

// start shows the progress at 0 and redraws it, when a cell has ended
// since the last redraw, at most every LiveInterval from its own
// goroutine, so that a slow front end never slows the study.
func (sp *studyProgress) start() {
	update(sp.outID, output{html: sp.html(), plain: sp.text()})
	go func() {
		defer close(sp.stopped)
		tick := time.NewTicker(LiveInterval)
		defer tick.Stop()
		for {
			select {
			case <-sp.stopDraw:
				return
			case <-tick.C:
				sp.mu.Lock()
				dirty := sp.dirty
				sp.dirty = false
				sp.mu.Unlock()
				if dirty {
					update(sp.outID, output{html: sp.html(), plain: sp.text()})
				}
			}
		}
	}()
}

// halt ends the redraws.
func (sp *studyProgress) halt() {
	close(sp.stopDraw)
	<-sp.stopped
}

// finish ends the redraws and replaces the progress in place with the
// study's summary.
func (sp *studyProgress) finish(res *kernel.StudyResult, metrics []string) {
	sp.halt()
	took := "done in " + formatSeconds(time.Since(sp.began).Seconds())
	update(sp.outID, resultOutput(res.Result(metrics...), sp.outID, plots.RandomID(), resultView{header: studyHeader(res), progress: took}))
	syncOut()
}

// stop ends the redraws and leaves the final line in place: how the study
// stopped or failed; the error is shown under it.
func (sp *studyProgress) stop(err error) {
	sp.halt()
	sp.mu.Lock()
	var stopped *StudyStoppedError
	if errors.As(err, &stopped) {
		sp.end = studyStoppedText(stopped.Cause, stopped.Done, stopped.Total)
	} else {
		sp.end = fmt.Sprintf("failed after %d / %d cells", sp.done, sp.total)
	}
	sp.endErr = true
	sp.mu.Unlock()
	update(sp.outID, output{html: sp.html(), plain: sp.text()})
	show(output{html: fmt.Sprintf("<p style=\"color:#b00\">%s</p>\n", html.EscapeString(err.Error())), plain: err.Error()})
	syncOut()
}

// line is the progress line: the last cell's while the study runs, the
// final one after stop. sp.mu must be held.
func (sp *studyProgress) line() string {
	switch {
	case sp.end != "":
		return sp.end
	case sp.last == "":
		return fmt.Sprintf("cell 0/%d", sp.total)
	}
	return sp.last
}

// text is the plain-text twin of the progress output.
func (sp *studyProgress) text() string {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return fmt.Sprintf("study of %s: %s", sp.plugin, sp.line())
}

// html is the progress output: a bar of done / total and the line.
func (sp *studyProgress) html() string {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	pct := 0.0
	if sp.total > 0 {
		pct = 100 * float64(sp.done) / float64(sp.total)
	}
	line := sp.line()
	colour := "#5470c6"
	if sp.endErr {
		colour = "#ee6666"
	}
	return fmt.Sprintf(`<div class="alignlab-out alignlab-study-progress" style="font-family:monospace;font-size:0.85em">
<div style="width:420px;max-width:100%%;height:10px;background:#e8e8e8;border-radius:3px;margin:4px 0"><div style="width:%.1f%%;height:100%%;background:%s;border-radius:3px"></div></div>
<div>study of %s: %s</div>
</div>
`, pct, colour, html.EscapeString(sp.plugin), html.EscapeString(line))
}
