package notebook

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alignlab/alignlab/kernel"
	"github.com/alignlab/alignlab/plots"
	"github.com/janpfeifer/gonb/gonbui"
	"github.com/janpfeifer/gonb/gonbui/dom"
	"github.com/janpfeifer/gonb/gonbui/widgets"
)

// widgetTimeout is how long Widgets waits for the browser to answer before
// deciding there is none (a notebook executed by nbconvert, a closed tab).
// GoNB itself gives the page 3 s to open its connection.
var widgetTimeout = 8 * time.Second

// widgetDebounce lets a slider being dragged settle before a rerun.
var widgetDebounce = 300 * time.Millisecond

// widgetHint is the number of controls above which Widgets suggests
// WidgetsFor.
const widgetHint = 8

// Widgets shows a control for each numeric, boolean and choice param of
// plugin id — a slider over a grid of values (log-spaced where the range
// spans decades) or a menu — starting at the value in opts.Params or the
// default. It runs the plugin once, then again each time a control changes,
// and calls onChange with the validated params of the run; with onChange
// nil, it shows each run's result in place of the previous one. It returns
// when ctx is done; in a notebook, interrupting the kernel stops it (ctx is
// made interruptible as by CellContext). It is WidgetsFor with every param.
//
// Under the controls a state line says what is going on: "running: step
// 120 / 500 (24%)" during a run, "done in 0.5 s", a failure, or, once
// Widgets has returned, "stopped after an interrupt: controls inactive —
// rerun the cell" (the controls are greyed out too). When a rerun fails or
// is interrupted, the last good result stays, marked stale.
//
// Widgets needs a live notebook in a browser, since GoNB's widgets talk to
// the page: outside a notebook it returns nil at once, and in a notebook
// executed without a browser (nbconvert) it says so in the output and
// returns nil after about 8 s. String params get no control.
func Widgets(ctx context.Context, id string, opts kernel.Options, onChange func(kernel.Params)) error {
	return WidgetsFor(ctx, id, opts, nil, onChange)
}

// WidgetsFor is Widgets with controls for the named params only, in that
// order (every param with a control if params is empty): a plugin such as
// dpo.rdpo has about 20, most of them beside the point of a given cell.
// The other params keep their value in opts.Params or their default. It
// is an error to name a param that has no control (a string param, one the
// plugin does not have).
func WidgetsFor(ctx context.Context, id string, opts kernel.Options, params []string, onChange func(kernel.Params)) error {
	if !inNotebook() {
		return nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	p, err := kernel.Lookup(id)
	if err != nil {
		return err
	}
	controls, err := widgetControls(p.Info(), opts.Params)
	if err != nil {
		return err
	}
	if len(controls) == 0 {
		return fmt.Errorf("notebook: widgets: %s has no numeric, boolean or choice params", id)
	}
	if controls, err = pickControls(id, controls, params); err != nil {
		return err
	}
	ctx, cancel := interruptible(ctx)
	defer cancel()

	page := newWidgetPage()
	changes := make(chan widgetChange, 64)
	built := make(chan struct{})
	go func() {
		// Each widget's Done waits for the page to acknowledge it, which
		// never happens without a browser: hence the goroutine and timeout.
		page.build(controls, changes)
		close(built)
	}()
	select {
	case <-built:
	case <-ctx.Done():
		return nil
	case <-time.After(widgetTimeout):
		ShowMarkdown(fmt.Sprintf("**No browser answered in %s: open the notebook in Jupyter and rerun the cell.** "+
			"Widgets need a live notebook in a browser (GoNB's controls talk to the page); executed without one, "+
			"as by nbconvert, there is nothing to interact with here.", formatWait(widgetTimeout)))
		return nil
	}

	w := &widgetRun{
		id: id, plugin: p, opts: opts, controls: controls, onChange: onChange,
		stateID: "alignlab_widgets_state_" + plots.RandomID(),
		outID:   "alignlab_widgets_" + plots.RandomID(),
	}
	if len(params) == 0 && len(controls) > widgetHint {
		w.hint = fmt.Sprintf("%d controls: pick the few you need with notebook.WidgetsFor(ctx, %q, opts, []string{%q, %q}, onChange)",
			len(controls), id, controls[0].Key, controls[1].Key)
	}
	w.rerun(ctx, "")
	var settle <-chan time.Time
	changed := map[int]bool{}
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case ch := <-changes:
			c := &w.controls[ch.control]
			if ch.index < 0 || ch.index >= len(c.Values) || ch.index == c.Index {
				continue
			}
			c.Index = ch.index
			page.setLabel(ch.control, c.Labels[c.Index])
			changed[ch.control] = true
			settle = time.After(widgetDebounce)
		case <-settle:
			settle = nil
			var what []string
			for i := range w.controls {
				if changed[i] {
					what = append(what, w.controls[i].Key+"="+w.controls[i].Labels[w.controls[i].Index])
				}
			}
			clear(changed)
			w.rerun(ctx, strings.Join(what, " "))
		}
	}
	page.disable()
	w.stop(context.Cause(ctx))
	return nil
}

// formatWait says a wait as people do: "8 s", "50 ms".
func formatWait(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%d s", d/time.Second)
	}
	return formatSeconds(d.Seconds())
}

// pickControls keeps the controls of the named params, in that order (all
// of them if none is named).
func pickControls(id string, controls []widgetControl, params []string) ([]widgetControl, error) {
	if len(params) == 0 {
		return controls, nil
	}
	byKey := map[string]int{}
	keys := make([]string, len(controls))
	for i, c := range controls {
		byKey[c.Key] = i
		keys[i] = c.Key
	}
	var out []widgetControl
	seen := map[string]bool{}
	for _, k := range params {
		i, ok := byKey[k]
		if !ok {
			return nil, fmt.Errorf("notebook: widgets: %s has no control for param %q; the params with one are: %s", id, k, strings.Join(keys, ", "))
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, controls[i])
		}
	}
	return out, nil
}

// widgetChange is a control moved on the page: control i now at index.
type widgetChange struct{ control, index int }

// widgetPage is the browser side of Widgets: GoNB's controls. Tests
// replace newWidgetPage, since GoNB's need a browser to answer.
type widgetPage interface {
	// build draws the controls and sends each change to changes; it
	// returns once the page has acknowledged them all (never without a
	// browser).
	build(controls []widgetControl, changes chan<- widgetChange)
	// setLabel shows the value control i is at.
	setLabel(i int, label string)
	// disable greys the controls out: nothing listens to them any more.
	disable()
}

var newWidgetPage = func() widgetPage { return &gonbPage{} }

// gonbPage draws the controls with GoNB's widgets under a transient div.
type gonbPage struct {
	root     string
	labelIDs []string
}

func (g *gonbPage) build(controls []widgetControl, changes chan<- widgetChange) {
	g.root = dom.CreateTransientDiv()
	g.labelIDs = make([]string, len(controls))
	for i := range controls {
		c := &controls[i]
		g.labelIDs[i] = "alignlab_w_" + gonbui.UniqueId()
		rowID := g.labelIDs[i] + "_row"
		dom.Append(g.root, fmt.Sprintf(`<div id="%s" style="margin:2px 0"><code style="display:inline-block;min-width:14em">%s</code> </div>`,
			rowID, html.EscapeString(c.Key)))
		var in <-chan int
		if c.Slider {
			s := widgets.Slider(0, len(c.Values)-1, c.Index).AppendTo(rowID).Done()
			in = s.Listen().LatestOnly().C
		} else {
			s := widgets.Select(c.Labels).SetDefault(c.Index).AppendTo(rowID).Done()
			in = s.Listen().LatestOnly().C
		}
		dom.Append(rowID, fmt.Sprintf(` <span id="%s">%s</span>`, g.labelIDs[i], html.EscapeString(c.Labels[c.Index])))
		go func(i int, in <-chan int) {
			for v := range in {
				changes <- widgetChange{i, v}
			}
		}(i, in)
	}
}

func (g *gonbPage) setLabel(i int, label string) { dom.SetInnerText(g.labelIDs[i], label) }

func (g *gonbPage) disable() {
	if g.root == "" {
		return
	}
	idJSON, _ := json.Marshal(g.root)
	dom.TransientJavascript(fmt.Sprintf(`(() => {
  const el = document.getElementById(%s);
  if (!el) { return; }
  el.style.opacity = '0.45';
  el.title = 'inactive: rerun the cell';
  el.querySelectorAll('input, select, button').forEach((e) => { e.disabled = true; });
})();`, idJSON))
}

// widgetRun is the state of one Widgets: its controls, the state line and
// the result output (two updatable outputs under the controls), and the
// last good result.
type widgetRun struct {
	id       string
	plugin   kernel.Plugin
	opts     kernel.Options
	controls []widgetControl
	onChange func(kernel.Params)
	stateID  string // display id of the state line
	outID    string // display id of the result
	hint     string // a line under the state, "" for none

	mu          sync.Mutex
	step, total int64
	progressed  bool

	last    *kernel.Result // the last good result (onChange nil)
	lastIdx []int          // the control indexes it was run with
}

// rerun runs the plugin (or onChange) at the controls' values; what
// names the controls that changed ("" for the first run).
func (w *widgetRun) rerun(ctx context.Context, what string) {
	raw := map[string]any{}
	for k, v := range w.opts.Params {
		raw[k] = v
	}
	for _, c := range w.controls {
		raw[c.Key] = c.Values[c.Index]
	}
	running := "running"
	if what != "" {
		running += " with " + what
	}
	w.state(running, false)
	began := time.Now()
	params, err := kernel.Validate(w.plugin.Info(), raw)
	if err != nil {
		w.failed(what, err, began)
		return
	}
	if w.onChange != nil {
		w.onChange(params)
		if ctx.Err() == nil {
			w.state("done in "+formatSeconds(time.Since(began).Seconds())+" · move a control to rerun", false)
		}
		return
	}

	w.mu.Lock()
	w.step, w.total, w.progressed = 0, 0, false
	w.mu.Unlock()
	o := w.opts
	o.Params = raw
	next := o.Observer
	o.Observer = func(e kernel.Event) {
		w.mu.Lock()
		if e.Total > 0 {
			w.total = e.Total
		}
		if e.Step > w.step {
			w.step, w.progressed = e.Step, true
		}
		w.mu.Unlock()
		if next != nil {
			next(e)
		}
	}
	done := make(chan struct{})
	drawn := make(chan struct{})
	go func() { // the progress, at most every LiveInterval
		defer close(drawn)
		tick := time.NewTicker(liveTick)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				w.mu.Lock()
				step, total, moved := w.step, w.total, w.progressed
				w.progressed = false
				w.mu.Unlock()
				if moved {
					w.state(running+": "+progressText(step, total, false), false)
				}
			}
		}
	}()
	res, err := kernel.Run(ctx, w.id, o)
	close(done)
	<-drawn
	if err != nil {
		if ctx.Err() != nil {
			w.mu.Lock()
			step, total := w.step, w.total
			w.mu.Unlock()
			w.staleResult(fmt.Sprintf("the run with %s was %s", orFirst(what), stoppedText(context.Cause(ctx), step, total)))
			return
		}
		w.failed(what, err, began)
		return
	}
	w.last = res
	w.lastIdx = w.indexes()
	update(w.outID, resultOutput(res, w.outID, plots.RandomID(), resultView{}))
	w.state("done in "+formatSeconds(time.Since(began).Seconds())+" · move a control to rerun", false)
}

func orFirst(what string) string {
	if what == "" {
		return "the first params"
	}
	return what
}

func (w *widgetRun) indexes() []int {
	idx := make([]int, len(w.controls))
	for i, c := range w.controls {
		idx[i] = c.Index
	}
	return idx
}

// failed shows a failed run: the error in the state line, and the last
// good result, marked stale, or the error alone if there is none.
func (w *widgetRun) failed(what string, err error, began time.Time) {
	w.state(fmt.Sprintf("failed after %s: %v", formatSeconds(time.Since(began).Seconds()), err), true)
	w.staleResult(fmt.Sprintf("the run with %s failed: %v", orFirst(what), err))
}

// staleResult redraws the last good result under a note that it is not
// the controls' (why says what happened to their run), or shows why alone
// when no run has succeeded.
func (w *widgetRun) staleResult(why string) {
	if w.last == nil {
		update(w.outID, output{html: fmt.Sprintf("<p style=\"color:#b00\">%s</p>\n", html.EscapeString(why)), plain: why})
		syncOut()
		return
	}
	var was []string
	for i, c := range w.controls {
		if w.lastIdx[i] != c.Index {
			was = append(was, c.Key+"="+c.Labels[w.lastIdx[i]])
		}
	}
	stale := "stale: " + why + ". Shown: the last good result"
	if len(was) > 0 {
		stale += ", with " + strings.Join(was, " ")
	}
	update(w.outID, resultOutput(w.last, w.outID, plots.RandomID(), resultView{stale: stale + "."}))
	syncOut()
}

// stop draws the final state once the context has ended.
func (w *widgetRun) stop(cause error) {
	line := "stopped"
	switch why := stopReason(cause); why {
	case "interrupted":
		line += " after an interrupt"
	default:
		line += " (" + why + ")"
	}
	w.state(line+": controls inactive — rerun the cell", true)
}

// state draws the state line (and the hint under it).
func (w *widgetRun) state(line string, bad bool) {
	colour := "#555"
	if bad {
		colour = "#b00"
	}
	h := fmt.Sprintf(`<div class="alignlab-widgets-state" style="font-family:monospace;font-size:0.85em;color:%s">%s</div>`, colour, html.EscapeString(line))
	plain := line
	if w.hint != "" {
		h += fmt.Sprintf(`<div style="font-size:0.85em;color:#555">%s</div>`, html.EscapeString(w.hint))
		plain += "\n" + w.hint
	}
	update(w.stateID, output{html: h + "\n", plain: plain})
	syncOut()
}

// widgetControl is one control of Widgets: the values it can take (a slider
// or a menu moves an index over them) and the one it starts at.
type widgetControl struct {
	Key    string
	Slider bool // else a menu
	Values []any
	Labels []string
	Index  int
}

// widgetGridSize is the number of grid points of a float slider.
const widgetGridSize = 41

// widgetControls derives the controls of Widgets from the plugin's params,
// starting at the values in raw (validated) or the defaults.
func widgetControls(info kernel.Info, raw map[string]any) ([]widgetControl, error) {
	params, err := kernel.Validate(info, raw)
	if err != nil {
		return nil, err
	}
	var out []widgetControl
	for _, p := range controlParams(info) {
		cur := params[p.Key]
		c := widgetControl{Key: p.Key}
		switch p.Type {
		case kernel.Bool:
			c.Values = []any{false, true}
		case kernel.Choice:
			for _, ch := range p.Choices {
				c.Values = append(c.Values, ch)
			}
		case kernel.Int:
			c.Slider = true
			for _, v := range intGrid(p, cur.(int64)) {
				c.Values = append(c.Values, v)
			}
		case kernel.Float:
			c.Slider = true
			for _, v := range floatGrid(p, cur.(float64)) {
				c.Values = append(c.Values, v)
			}
		default:
			continue
		}
		for i, v := range c.Values {
			c.Labels = append(c.Labels, fmt.Sprint(v))
			if v == cur {
				c.Index = i
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// controlParams returns the params kernel.Validate knows for a plugin: those it
// declares and, unless it declares its own, the seed every plugin has. The
// seed's slider offers seeds 0 to 99 whatever its range, so an Int param
// with no range stands for it.
func controlParams(info kernel.Info) []kernel.Param {
	for _, p := range info.Params {
		if p.Key == kernel.ParamSeed {
			return info.Params
		}
	}
	return append(slices.Clip(info.Params), kernel.Param{Key: kernel.ParamSeed, Type: kernel.Int})
}

// intGrid lists the integers of a slider: all of them for a short range,
// else about 40 log-spaced values around cur (within the range), or linear
// ones where the range does not allow logs.
func intGrid(p kernel.Param, cur int64) []int64 {
	lo, hi := p.Range.Min, p.Range.Max
	if (p.Range == kernel.Range{}) {
		lo, hi = math.Inf(-1), math.Inf(1)
	}
	if p.Range.MinExclusive {
		lo = math.Floor(lo) + 1
	}
	if p.Range.MaxExclusive {
		hi = math.Ceil(hi) - 1
	}
	if p.Key == kernel.ParamSeed { // any seed will do: offer a hundred
		lo, hi = math.Max(lo, 0), math.Max(lo, 0)+99
	}
	c := float64(cur)
	if hi-lo > 100 {
		// Keep the grid within two decades of the current value.
		if c >= 1 && lo >= 0 {
			lo, hi = math.Max(lo, math.Max(1, math.Floor(c/100))), math.Min(hi, c*100)
		} else {
			lo, hi = math.Max(lo, c-50), math.Min(hi, c+50)
		}
	}
	var vals []int64
	if hi-lo <= 100 {
		for v := lo; v <= hi; v++ {
			vals = append(vals, int64(v))
		}
	} else {
		for _, f := range logGrid(lo, hi, widgetGridSize) {
			vals = append(vals, int64(math.Round(f)))
		}
	}
	vals = append(vals, cur)
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	out := vals[:0]
	for i, v := range vals {
		if i == 0 || v != vals[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// floatGrid lists widgetGridSize values of a float slider over the param's
// range (within two decades of cur where the range is open), log-spaced
// when it is positive and spans two decades or more, with cur among them.
func floatGrid(p kernel.Param, cur float64) []float64 {
	lo, hi := p.Range.Min, p.Range.Max
	if (p.Range == kernel.Range{}) {
		lo, hi = math.Inf(-1), math.Inf(1)
	}
	if math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		switch {
		case cur > 0:
			lo, hi = math.Max(lo, cur/100), math.Min(hi, cur*100)
		case cur < 0:
			lo, hi = math.Max(lo, cur*100), math.Min(hi, cur/100)
		default:
			lo, hi = math.Max(lo, -1), math.Min(hi, 1)
		}
	}
	var vals []float64
	if lo > 0 && hi/lo >= 100 {
		vals = logGrid(lo, hi, widgetGridSize)
	} else {
		for i := 0; i < widgetGridSize; i++ {
			vals = append(vals, lo+(hi-lo)*float64(i)/float64(widgetGridSize-1))
		}
	}
	out := make([]float64, 0, len(vals)+1)
	for _, v := range vals {
		v, _ = strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64) // labels people can read
		if p.Range.Contains(v) || (p.Range == kernel.Range{}) {
			out = append(out, v)
		}
	}
	out = append(out, cur)
	sort.Float64s(out)
	uniq := out[:0]
	for i, v := range out {
		if i == 0 || v != out[i-1] {
			uniq = append(uniq, v)
		}
	}
	return uniq
}

// logGrid returns n values from lo to hi (both > 0), evenly spaced in log.
func logGrid(lo, hi float64, n int) []float64 {
	out := make([]float64, n)
	a, b := math.Log(lo), math.Log(hi)
	for i := range out {
		out[i] = math.Exp(a + (b-a)*float64(i)/float64(n-1))
	}
	out[0], out[n-1] = lo, hi
	return out
}
