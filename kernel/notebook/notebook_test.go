package notebook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alignlab/alignlab/kernel"
	"github.com/alignlab/alignlab/plots"
	"github.com/janpfeifer/gonb/gonbui/protocol"
)

// nbPlugin is a plugin whose Run is a function, for the notebook tests.
type nbPlugin struct {
	info kernel.Info
	run  func(*kernel.Job) error
}

// The registry has no Unregister, so registerNB registers each ID once, as
// an nbProxy that runs the nbPlugin the running test gave for that ID: tests
// can reuse an ID, and go test -count=N works.
var (
	nbMu         sync.Mutex
	nbPlugins    = map[string]nbPlugin{} // by ID, while a test uses it
	nbRegistered = map[string]bool{}
)

type nbProxy string

func (id nbProxy) current() (nbPlugin, bool) {
	nbMu.Lock()
	defer nbMu.Unlock()
	p, ok := nbPlugins[string(id)]
	return p, ok
}

func (id nbProxy) Info() kernel.Info {
	if p, ok := id.current(); ok {
		return p.info
	}
	return kernel.Info{ID: string(id), Summary: "left by an earlier test"}
}

func (id nbProxy) Run(job *kernel.Job) error {
	if p, ok := id.current(); ok {
		return p.run(job)
	}
	return fmt.Errorf("%s: left by an earlier test", string(id))
}

func registerNB(t *testing.T, p nbPlugin) {
	t.Helper()
	id := p.info.ID
	nbMu.Lock()
	nbPlugins[id] = p
	first := !nbRegistered[id]
	nbRegistered[id] = true
	nbMu.Unlock()
	if first {
		kernel.Register(nbProxy(id))
	}
	t.Cleanup(func() {
		nbMu.Lock()
		delete(nbPlugins, id)
		nbMu.Unlock()
	})
}

// curvePlugin records "loss" = 1/step and "acc" = 1-1/step for steps 1..n,
// declares a line chart and a table, and leaves a note.
func curvePlugin(id string) nbPlugin {
	return nbPlugin{
		info: kernel.Info{ID: id, Summary: "a curve", Params: []kernel.Param{kernel.IntParam("steps", 40, 1, 100000, "steps")}},
		run: func(job *kernel.Job) error {
			n := job.Params.Int64("steps")
			job.SetTotal(n)
			for s := int64(1); s <= n; s++ {
				if err := job.Record(s, "loss", 1/float64(s)); err != nil {
					return err
				}
				if err := job.Record(s, "acc", 1-1/float64(s)); err != nil {
					return err
				}
			}
			job.SetFinal("loss", 1/float64(n))
			t := job.AddTable("rows", "i", "name")
			for i := 0; i < 50; i++ {
				t.Add(i, "<b>x</b>")
			}
			job.AddChart(kernel.Chart{Kind: "line", ID: "curve", Title: "loss", Series: []string{"loss"}})
			job.Note("a <note> & more")
			return nil
		},
	}
}

// outputs records what the display hooks were asked to show: every
// display_data (all), and by kind: new HTML outputs, new Markdown outputs
// and updates of an output by display id (with their HTML).
type outputs struct {
	mu      sync.Mutex
	all     []sent
	html    []string
	md      []string
	updates []struct{ id, html string }
	syncs   int
	irq     *fakeInterrupts
	dir     string // the kernel session's directory
}

// sent is one display_data: its display id ("" for a new output) and MIME bundle.
type sent struct {
	id   string
	data map[protocol.MIMEType]any
}

func (s sent) text(mime protocol.MIMEType) string {
	v, _ := s.data[mime].(string)
	return v
}

// snapshot returns a copy of what was sent so far.
func (o *outputs) snapshot() []sent {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.all)
}

// fakeInterrupts stands for the kernel's SIGINT: the channels CellContext
// registered, and an interrupt that reaches them without signalling the
// test process.
type fakeInterrupts struct {
	mu    sync.Mutex
	chans map[chan<- os.Signal]bool
}

func (f *fakeInterrupts) notify(c chan<- os.Signal) func() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chans[c] = true
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.chans, c)
	}
}

// interrupt delivers one interrupt as the runtime does: to every
// registered channel, never blocking.
func (f *fakeInterrupts) interrupt() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.chans {
		select {
		case c <- os.Interrupt:
		default:
		}
	}
}

func (f *fakeInterrupts) registered() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.chans)
}

// waitDone waits for ctx to end; the bound only keeps a broken CellContext
// from hanging the test.
func waitDone(t *testing.T, ctx context.Context) {
	t.Helper()
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the context was not cancelled")
	}
}

// fakeNotebook makes the package believe it runs in a notebook cell of a
// fresh kernel session and records every output; the hooks are restored
// when the test ends.
func fakeNotebook(t *testing.T, in bool) *outputs {
	t.Helper()
	o := &outputs{irq: &fakeInterrupts{chans: map[chan<- os.Signal]bool{}}, dir: t.TempDir()}
	savedIn, savedSend, savedSync, savedNotify, savedDir := inNotebook, sendData, syncOut, notifyInterrupt, sessionDir
	notifyInterrupt = o.irq.notify
	inNotebook = func() bool { return in }
	sessionDir = func() string { return o.dir }
	library.reset()
	sendData = func(d *protocol.DisplayData) {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.all = append(o.all, sent{d.DisplayID, maps.Clone(d.Data)})
		h, _ := d.Data[protocol.MIMETextHTML].(string)
		md, isMD := d.Data[protocol.MIMETextMarkdown].(string)
		switch {
		case d.DisplayID != "":
			o.updates = append(o.updates, struct{ id, html string }{d.DisplayID, h})
		case isMD:
			o.md = append(o.md, md)
		default:
			o.html = append(o.html, h)
		}
	}
	syncOut = func() { o.mu.Lock(); o.syncs++; o.mu.Unlock() }
	t.Cleanup(func() {
		inNotebook, sendData, syncOut, notifyInterrupt, sessionDir = savedIn, savedSend, savedSync, savedNotify, savedDir
		library.reset()
	})
	return o
}

func TestDisplayIsNoOpOutsideNotebook(t *testing.T) {
	registerNB(t, curvePlugin("nb.noop"))
	o := fakeNotebook(t, false)
	res, err := kernel.Run(context.Background(), "nb.noop", kernel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if InNotebook() {
		t.Fatal("InNotebook: got true, want false")
	}
	Show(res)
	ShowCharts()
	ShowTable(res.Tables["rows"])
	ShowMarkdown("# hi")
	ShowHTML("<p>hi</p>")
	if err := Widgets(context.Background(), "nb.noop", kernel.Options{}, nil); err != nil {
		t.Errorf("Widgets outside a notebook: got %v, want nil", err)
	}
	live, err := RunLive(context.Background(), "nb.noop", kernel.Options{}, "loss")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := res.CanonicalJSON()
	b, _ := live.CanonicalJSON()
	if string(a) != string(b) {
		t.Errorf("RunLive outside a notebook differs from Run:\n%s\n%s", a, b)
	}
	if n := len(o.all) + o.syncs; n != 0 {
		t.Errorf("outside a notebook: got %d display calls, want 0", n)
	}
}

func TestShowInNotebook(t *testing.T) {
	registerNB(t, curvePlugin("nb.show"))
	o := fakeNotebook(t, true)
	res, err := kernel.Run(context.Background(), "nb.show", kernel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	Show(res)
	Show(res)
	ShowMarkdown("**bold**")
	ShowTable(res.Tables["rows"])
	if len(o.html) != 3 || len(o.md) != 1 || o.syncs != 4 {
		t.Fatalf("got %d HTML, %d Markdown outputs and %d syncs, want 3, 1 and 4", len(o.html), len(o.md), o.syncs)
	}
	ids := regexp.MustCompile(`<div class="alignlab-chart" data-chart-id="([A-Za-z0-9_]+)"`)
	first, second := ids.FindAllStringSubmatch(o.html[0], -1), ids.FindAllStringSubmatch(o.html[1], -1)
	if len(first) != 1 || len(second) != 1 || first[0][1] == second[0][1] {
		t.Errorf("chart element IDs of two Shows: got %v and %v, want one each, distinct", first, second)
	}
	if !strings.Contains(o.html[2], "<table") {
		t.Errorf("ShowTable: got %.200q, want a table", o.html[2])
	}
}

func TestResultOutput(t *testing.T) {
	registerNB(t, curvePlugin("nb.html"))
	fakeNotebook(t, true)
	res, err := kernel.Run(context.Background(), "nb.html", kernel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := resultOutput(res, "", "pfx", resultView{})
	h := out.html
	// The parts, in this order: summary, charts, tables (closed).
	var at []int
	for _, want := range []string{
		"<b>nb.html</b>",
		"<li><span>loss</span> <span>0.025</span></li>",                 // final metric 1/40
		"a &lt;note&gt; &amp; more",                                     // notes escaped
		"typeof window.echarts === 'undefined'",                         // library inline, guarded, before the first chart
		`<div class="alignlab-chart" data-chart-id="pfx_nb_html_curve"`, // chart IDs prefixed
		`<details class="alignlab-tables"><summary>1 table: rows (50 rows)</summary>`,
		"&lt;b&gt;x&lt;/b&gt;", // cells escaped
		"first 20 of 50 rows",  // long tables cut
	} {
		i := strings.Index(h, want)
		if i < 0 {
			t.Errorf("resultOutput lacks %q", want)
			continue
		}
		if len(at) > 0 && i < at[len(at)-1] {
			t.Errorf("%q comes before the part listed above it", want)
		}
		at = append(at, i)
	}
	if strings.Contains(h, "<note>") || strings.Count(h, "<tr><td") != 20 {
		t.Errorf("got %d data rows, want 20, and nothing unescaped", strings.Count(h, "<tr><td"))
	}
	if strings.Contains(h, `class="container"`) {
		t.Error(`resultOutput has a class="container" (Jupyter makes it 1140 px wide)`)
	}
	for _, want := range []string{"nb.html · seed 1 · backend ", "loss = 0.025", "- a <note> & more", "[chart: loss]", "[1 table: rows (50 rows)]"} {
		if !strings.Contains(out.plain, want) {
			t.Errorf("text/plain twin lacks %q:\n%s", want, out.plain)
		}
	}

	bad := *res
	bad.Charts = []kernel.Chart{{Kind: "line", ID: "x", Series: []string{"missing"}}}
	if h := resultOutput(&bad, "", "p", resultView{}).html; !strings.Contains(h, "charts: ") || strings.Contains(h, "window.echarts") {
		t.Errorf("a chart that cannot be drawn: got %.300q, want an error line and no library", h)
	}
	plain := *res
	plain.Charts = nil
	if strings.Contains(resultOutput(&plain, "", "p", resultView{}).html, "window.echarts") {
		t.Error("a result without charts should not carry the ECharts library")
	}
}

// hasLibrary reports whether an output carries the ECharts library.
func hasLibrary(html string) bool { return strings.Contains(html, plots.Script()) }

// setLiveTick sets the time between two redraws for one test.
func setLiveTick(t *testing.T, d time.Duration) {
	saved := liveTick
	liveTick = d
	t.Cleanup(func() { liveTick = saved })
}

func TestRunLiveInNotebook(t *testing.T) {
	registerNB(t, curvePlugin("nb.live"))
	o := fakeNotebook(t, true)
	setLiveTick(t, time.Hour) // no redraw: the first chart, then the final output
	res, err := RunLive(context.Background(), "nb.live", kernel.Options{Params: map[string]any{"steps": 300}}, "loss")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(res.Series["loss"]); got != 300 {
		t.Fatalf("loss series: got %d points, want 300", got)
	}
	if len(o.updates) != 2 || len(o.html) != 0 || len(o.md) != 0 {
		t.Fatalf("got %d updates and %d other outputs, want the live chart and the final output, in place, and nothing else",
			len(o.updates), len(o.html)+len(o.md))
	}
	first, last := o.updates[0], o.updates[1]
	if last.id != first.id {
		t.Errorf("the final output has display id %s, want the live chart's %s", last.id, first.id)
	}
	if !hasLibrary(first.html) || !strings.Contains(o.all[0].text(protocol.MIMETextPlain), "(running)") {
		t.Errorf("first update: got %.200q, want the library and a running chart", first.html)
	}
	// The result as Show draws it, with the progress line; the declared
	// chart draws "loss", so there is no second chart of it.
	for _, want := range []string{"<b>nb.live</b>", "done: 300 / 300 steps"} {
		if !strings.Contains(last.html, want) {
			t.Errorf("final output lacks %q", want)
		}
	}
	if !hasLibrary(last.html) {
		t.Error("the final output replaces the one that carried the library: it must carry it too")
	}
	if n := strings.Count(last.html, `class="alignlab-chart"`); n != 1 {
		t.Errorf("final output: got %d charts, want 1 (the declared chart of loss)", n)
	}
	if plain := o.all[1].text(protocol.MIMETextPlain); !strings.Contains(plain, "done: 300 / 300 steps") || !strings.Contains(plain, "[chart: loss]") {
		t.Errorf("final text/plain: got %q", plain)
	}
}

// TestRunLiveUndeclared: the watched metrics no declared chart draws get a
// chart of their own in the final output, first; the others are not drawn
// twice.
func TestRunLiveUndeclared(t *testing.T) {
	registerNB(t, curvePlugin("nb.live2"))
	o := fakeNotebook(t, true)
	setLiveTick(t, time.Hour)
	if _, err := RunLive(context.Background(), "nb.live2", kernel.Options{}); err != nil {
		t.Fatal(err)
	}
	last := o.all[len(o.all)-1]
	if n := strings.Count(last.text(protocol.MIMETextHTML), `class="alignlab-chart"`); n != 2 {
		t.Errorf("final output: got %d charts, want 2 (acc, then the declared one of loss)", n)
	}
	plain := last.text(protocol.MIMETextPlain)
	if i, j := strings.Index(plain, "[chart: nb.live2]"), strings.Index(plain, "[chart: loss]"); i < 0 || j < i {
		t.Errorf("final text/plain: got %q, want the chart of acc, then loss", plain)
	}
}

// TestRunLiveFeed: the redraws feed the first chart through a script
// output, which is emptied before the final output replaces the chart.
func TestRunLiveFeed(t *testing.T) {
	registerNB(t, nbPlugin{
		info: kernel.Info{ID: "nb.slow", Summary: "slow"},
		run: func(job *kernel.Job) error {
			job.SetTotal(30)
			for s := int64(1); s <= 30; s++ {
				time.Sleep(2 * time.Millisecond)
				if err := job.Record(s, "loss", 1/float64(s)); err != nil {
					return err
				}
			}
			return nil
		},
	})
	o := fakeNotebook(t, true)
	setLiveTick(t, time.Millisecond)
	if _, err := RunLive(context.Background(), "nb.slow", kernel.Options{}, "loss"); err != nil {
		t.Fatal(err)
	}
	outID := o.updates[0].id
	if n := len(o.updates); n < 4 {
		t.Fatalf("got %d updates, want the chart, feeds, the emptied feed and the final output", n)
	}
	for _, u := range o.updates[1 : len(o.updates)-2] {
		if u.id == outID || !strings.Contains(u.html, "setOption") || hasLibrary(u.html) {
			t.Errorf("a feed update: got id %s (chart %s) and %.100q, want a setOption script without the library", u.id, outID, u.html)
		}
	}
	if clr := o.updates[len(o.updates)-2]; clr.id == outID || clr.html != "" {
		t.Errorf("the feed output must be emptied before the final output; got id %s html %.50q", clr.id, clr.html)
	}
	if last := o.updates[len(o.updates)-1]; last.id != outID || !strings.Contains(last.html, "done: 30 / 30 steps") {
		t.Errorf("last update: got id %s and %.200q, want the final output in %s", last.id, last.html, outID)
	}
}

func TestRunLiveErrorShown(t *testing.T) {
	registerNB(t, nbPlugin{
		info: kernel.Info{ID: "nb.fail", Summary: "fails"},
		run: func(job *kernel.Job) error {
			job.Record(1, "loss", 1)
			return job.Record(2, "loss", math.NaN())
		},
	})
	o := fakeNotebook(t, true)
	_, err := RunLive(context.Background(), "nb.fail", kernel.Options{})
	if err == nil {
		t.Fatal("want the divergence error")
	}
	if len(o.html) != 1 || !strings.Contains(o.html[0], "diverged at step 2") {
		t.Errorf("got outputs %q, want one error line", o.html)
	}
	var stopped *StoppedError
	if errors.As(err, &stopped) {
		t.Errorf("a divergence is not a stop by the context: got %v", err)
	}
	if last := o.updates[len(o.updates)-1]; !strings.Contains(last.html, "failed at step 1<") {
		t.Errorf("final chart: got %.300q, want the progress line \"failed at step 1\"", last.html)
	}
}

func TestCellContextOutsideNotebook(t *testing.T) {
	o := fakeNotebook(t, false)
	ctx, cancel := CellContext()
	defer cancel()
	if n := o.irq.registered(); n != 0 {
		t.Fatalf("outside a notebook CellContext must leave SIGINT alone; it registered %d channels", n)
	}
	o.irq.interrupt()
	if ctx.Err() != nil {
		t.Fatalf("got %v before cancel, want a live context", ctx.Err())
	}
	cancel()
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("after cancel: got %v, want context.Canceled", ctx.Err())
	}
}

func TestCellContextInterrupt(t *testing.T) {
	o := fakeNotebook(t, true)
	ctx, cancel := CellContext()
	defer cancel()
	if n := o.irq.registered(); n != 1 {
		t.Fatalf("got %d channels registered for SIGINT, want 1", n)
	}
	if ctx.Err() != nil {
		t.Fatalf("got %v before any interrupt, want a live context", ctx.Err())
	}
	o.irq.interrupt()
	waitDone(t, ctx)
	if got := context.Cause(ctx); got != ErrInterrupted {
		t.Errorf("cause: got %v, want ErrInterrupted", got)
	}
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Errorf("ctx.Err: got %v, want context.Canceled", ctx.Err())
	}
	// The relay stops at the first interrupt, so a second one gets Go's
	// default handling (the program ends) instead of being swallowed.
	if n := o.irq.registered(); n != 0 {
		t.Errorf("after the interrupt %d channels are still registered, want 0", n)
	}
}

func TestCellContextCancel(t *testing.T) {
	o := fakeNotebook(t, true)
	ctx, cancel := CellContext()
	cancel()
	if n := o.irq.registered(); n != 0 {
		t.Errorf("cancel returned with %d channels registered for SIGINT, want 0", n)
	}
	if got := context.Cause(ctx); got != context.Canceled {
		t.Errorf("cause: got %v, want context.Canceled", got)
	}
	cancel() // twice is fine
}

// TestCellContextSIGINT sends a real SIGINT to the test process, as GoNB
// does to a cell's program. A channel of the test's own stays registered
// meanwhile, so that the signal cannot kill the process even if
// CellContext failed to catch it.
func TestCellContextSIGINT(t *testing.T) {
	fakeNotebook(t, true)
	notifyInterrupt = func(c chan<- os.Signal) func() { // the real one
		signal.Notify(c, os.Interrupt)
		return func() { signal.Stop(c) }
	}
	guard := make(chan os.Signal, 1)
	signal.Notify(guard, os.Interrupt)
	defer signal.Stop(guard)

	ctx, cancel := CellContext()
	defer cancel()
	self, err := os.FindProcess(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if err := self.Signal(os.Interrupt); err != nil {
		t.Skipf("cannot send SIGINT to the test process here: %v", err)
	}
	<-guard // delivered
	waitDone(t, ctx)
	if got := context.Cause(ctx); got != ErrInterrupted {
		t.Errorf("cause: got %v, want ErrInterrupted", got)
	}
}

// foreverPlugin records "loss" at every step until its context stops it,
// calling at(step) after each record; it gives up (returning nil, which
// the tests take as a failure to stop) after a million steps.
func foreverPlugin(id string, at func(step int64)) nbPlugin {
	return nbPlugin{
		info: kernel.Info{ID: id, Summary: "runs until stopped"},
		run: func(job *kernel.Job) error {
			job.SetTotal(1_000_000)
			for s := int64(1); s <= 1_000_000; s++ {
				if err := job.Record(s, "loss", 1/float64(s)); err != nil {
					return err
				}
				at(s)
			}
			return nil
		},
	}
}

func TestRunLiveInterrupted(t *testing.T) {
	o := fakeNotebook(t, true)
	registerNB(t, foreverPlugin("nb.forever", func(step int64) {
		if step == 100 {
			o.irq.interrupt()
		}
	}))
	// context.Background: RunLive itself listens for the interrupt.
	res, err := RunLive(context.Background(), "nb.forever", kernel.Options{}, "loss")
	if res != nil || err == nil {
		t.Fatalf("got result %v and error %v, want the run stopped", res, err)
	}
	var stopped *StoppedError
	if !errors.As(err, &stopped) {
		t.Fatalf("got %T %v, want a *StoppedError", err, err)
	}
	if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) {
		t.Errorf("errors.Is(err, ErrInterrupted), (err, context.Canceled): got %v, %v, want both true",
			errors.Is(err, ErrInterrupted), errors.Is(err, context.Canceled))
	}
	if stopped.Step < 100 || stopped.Total != 1_000_000 {
		t.Errorf("stopped at step %d of %d, want step ≥ 100 of 1000000", stopped.Step, stopped.Total)
	}
	want := fmt.Sprintf("interrupted at step %d / 1000000", stopped.Step)
	if got := err.Error(); got != "nb.forever: "+want {
		t.Errorf("error: got %q, want %q", got, "nb.forever: "+want)
	}
	last := o.updates[len(o.updates)-1]
	if !strings.Contains(last.html, want+"<") || !strings.Contains(last.html, `"loss"`) {
		t.Errorf("final chart: got %.300q, want the loss curve and the progress line %q", last.html, want)
	}
	if len(o.html) != 1 || !strings.Contains(o.html[0], "nb.forever: "+want) {
		t.Errorf("got HTML outputs %q, want only the error line", o.html)
	}
	if n := o.irq.registered(); n != 0 {
		t.Errorf("RunLive returned with %d channels registered for SIGINT, want 0", n)
	}
}

func TestRunLiveCellContextInterrupted(t *testing.T) {
	o := fakeNotebook(t, true)
	registerNB(t, foreverPlugin("nb.forever2", func(step int64) {
		if step == 10 {
			o.irq.interrupt()
		}
	}))
	ctx, cancel := CellContext()
	defer cancel()
	_, err := RunLive(ctx, "nb.forever2", kernel.Options{})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("got %v, want ErrInterrupted", err)
	}
	waitDone(t, ctx) // the cell's context ends too: the rest of the cell can stop
}

func TestRunLiveCancelled(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(cancel context.CancelFunc)
		ctx  func() (context.Context, context.CancelFunc)
		want string
		is   error
	}{
		{"cancel", func(c context.CancelFunc) { c() }, func() (context.Context, context.CancelFunc) {
			return context.WithCancel(context.Background())
		}, "cancelled at step ", context.Canceled},
		{"deadline", func(context.CancelFunc) { time.Sleep(20 * time.Millisecond) }, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), time.Millisecond)
		}, "timed out at step ", context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := fakeNotebook(t, true)
			ctx, cancel := tc.ctx()
			defer cancel()
			id := "nb.forever." + tc.name
			registerNB(t, foreverPlugin(id, func(step int64) {
				if step == 5 {
					tc.stop(cancel)
				}
			}))
			_, err := RunLive(ctx, id, kernel.Options{})
			var stopped *StoppedError
			if !errors.As(err, &stopped) || !errors.Is(err, tc.is) || errors.Is(err, ErrInterrupted) {
				t.Fatalf("got %v, want a *StoppedError that is %v and not ErrInterrupted", err, tc.is)
			}
			if !strings.HasPrefix(err.Error(), id+": "+tc.want) {
				t.Errorf("error: got %q, want it to start with %q", err, id+": "+tc.want)
			}
			if last := o.updates[len(o.updates)-1]; !strings.Contains(last.html, tc.want) {
				t.Errorf("final chart: got %.300q, want %q", last.html, tc.want)
			}
		})
	}
}

func TestFeedScript(t *testing.T) {
	series := map[string][]kernel.Point{
		"loss":      {{Step: 1, Value: 0.5}, {Step: 2, Value: math.NaN()}, {Step: 3, Value: 0.25}},
		"</script>": {{Step: 1, Value: 1}},
	}
	s := feedScript("cX", []string{"loss", "</script>"}, series, "step 3 / 10 (30%)")
	if strings.Count(s, "</script>") != 1 || !strings.HasSuffix(strings.TrimSpace(s), "</script>") {
		t.Fatalf("the only </script> must be the closing tag:\n%s", s)
	}
	i, j := strings.Index(s, "setOption("), strings.Index(s, "); }")
	var opt struct {
		Series []struct {
			Name string       `json:"name"`
			Type string       `json:"type"`
			Data [][2]float64 `json:"data"`
		} `json:"series"`
	}
	if err := json.Unmarshal([]byte(s[i+len("setOption("):j]), &opt); err != nil {
		t.Fatalf("option JSON: %v\n%s", err, s)
	}
	if len(opt.Series) != 2 || opt.Series[0].Name != "loss" || opt.Series[0].Type != "line" {
		t.Fatalf("got %+v", opt.Series)
	}
	if got := opt.Series[0].Data; len(got) != 2 || got[1] != [2]float64{3, 0.25} {
		t.Errorf("loss data: got %v, want the NaN left out: [[1 0.5] [3 0.25]]", got)
	}
	if !strings.Contains(s, `"cX"`) || !strings.Contains(s, `"step 3 / 10 (30%)"`) {
		t.Error("want the chart ID and the progress text in the script")
	}
}

func TestThin(t *testing.T) {
	pts := make([]kernel.Point, 1001)
	for i := range pts {
		pts[i] = kernel.Point{Step: int64(i), Value: float64(i)}
	}
	got := thin(pts, 11)
	if len(got) != 11 || got[0].Step != 0 || got[10].Step != 1000 || got[5].Step != 500 {
		t.Errorf("thin(1001 points, 11): got %v, want steps 0, 100, …, 1000", got)
	}
	if got := thin(pts[:5], 11); len(got) != 5 {
		t.Errorf("thin of a short series: got %d points, want all 5", len(got))
	}
}

func TestEndText(t *testing.T) {
	for _, tc := range []struct {
		err         error
		step, total int64
		want        string
	}{
		{nil, 20, 20, "done: 20 / 20 steps"},
		{errors.New("boom"), 7, 20, "failed at step 7 / 20"},
		{errors.New("boom"), 7, 0, "failed at step 7"},
		{&StoppedError{Step: 3, Total: 9, Cause: ErrInterrupted}, 4, 9, "interrupted at step 3 / 9"},
		{&StoppedError{Step: 3, Cause: context.DeadlineExceeded}, 4, 0, "timed out at step 3"},
		{&StoppedError{Step: 3, Cause: context.Canceled}, 4, 0, "cancelled at step 3"},
	} {
		if got := endText(tc.err, tc.step, tc.total); got != tc.want {
			t.Errorf("endText(%v, %d, %d): got %q, want %q", tc.err, tc.step, tc.total, got, tc.want)
		}
	}
}

func TestProgressText(t *testing.T) {
	for _, tc := range []struct {
		step, total int64
		final       bool
		want        string
	}{
		{5, 20, false, "step 5 / 20 (25%)"},
		{5, 0, false, "step 5"},
		{20, 20, true, "done: 20 / 20 steps"},
		{7, 0, true, "done: 7 steps"},
	} {
		if got := progressText(tc.step, tc.total, tc.final); got != tc.want {
			t.Errorf("progressText(%d, %d, %v): got %q, want %q", tc.step, tc.total, tc.final, got, tc.want)
		}
	}
}

// A cell's loop of runs stops when the kernel is interrupted; outside a
// notebook CellContext is an ordinary cancellable context, never cancelled
// by a signal.
func ExampleCellContext() {
	ctx, cancel := CellContext()
	defer cancel()
	done := 0
	for seed := 1; seed <= 3 && ctx.Err() == nil; seed++ {
		done++ // e.g. kernel.Run(ctx, id, kernel.Options{Params: map[string]any{"seed": seed}})
	}
	fmt.Println(done, "runs; interrupted:", errors.Is(context.Cause(ctx), ErrInterrupted))
	// Output: 3 runs; interrupted: false
}
