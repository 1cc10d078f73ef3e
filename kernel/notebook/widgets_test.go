package notebook

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alignlab/alignlab/kernel"
	"github.com/janpfeifer/gonb/gonbui/protocol"
)

// TestWidgetsWithoutBrowser: in a notebook with no page to answer (as under
// nbconvert), Widgets gives up, says why and returns.
func TestWidgetsWithoutBrowser(t *testing.T) {
	registerNB(t, curvePlugin("nb.widgets"))
	o := fakeNotebook(t, true)
	saved := widgetTimeout
	widgetTimeout = 50 * time.Millisecond
	defer func() { widgetTimeout = saved }()
	if err := Widgets(context.Background(), "nb.widgets", kernel.Options{}, nil); err != nil {
		t.Fatal(err)
	}
	if len(o.md) != 1 || !strings.Contains(o.md[0], "need a live notebook in a browser") {
		t.Errorf("got Markdown outputs %q, want the note that widgets need a browser", o.md)
	}
	if want := "No browser answered in 50 ms: open the notebook in Jupyter and rerun the cell."; len(o.md) == 1 && !strings.Contains(o.md[0], want) {
		t.Errorf("got %q, want it to say %q", o.md[0], want)
	}
	if err := Widgets(context.Background(), "nb.nope", kernel.Options{}, nil); err == nil {
		t.Error("unknown plugin: got nil error")
	}
}

func TestWidgetControls(t *testing.T) {
	info := kernel.Info{ID: "w.toy", Params: []kernel.Param{
		{Key: "epsilon", Type: kernel.Float, Default: 0.1, Range: kernel.Range{Min: 0, Max: 0.5, MaxExclusive: true}},
		{Key: "learning_rate", Type: kernel.Float, Default: 0.01, Range: kernel.Range{Min: 0, Max: math.Inf(1), MinExclusive: true}},
		kernel.IntParam("steps", 500, 1, 1000000, "steps"),
		kernel.IntParam("layers", 2, 1, 8, "layers"),
		kernel.ChoiceParam("loss", "margin_bt", []string{"bt", "margin_bt"}, "loss"),
		kernel.BoolParam("center", true, "center"),
		kernel.StringParam("name", "x", "no control"),
	}}
	controls, err := widgetControls(info, map[string]any{"layers": 3})
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]widgetControl{}
	var keys []string
	for _, c := range controls {
		byKey[c.Key] = c
		keys = append(keys, c.Key)
		if len(c.Values) != len(c.Labels) || c.Index < 0 || c.Index >= len(c.Values) {
			t.Errorf("%s: %d values, %d labels, index %d", c.Key, len(c.Values), len(c.Labels), c.Index)
		}
		for _, v := range c.Values {
			if _, err := kernel.Validate(info, map[string]any{c.Key: v}); err != nil {
				t.Errorf("%s: grid value %v is not allowed: %v", c.Key, v, err)
			}
		}
	}
	if want := "epsilon learning_rate steps layers loss center seed"; joinKeys(keys) != want {
		t.Errorf("controls: got %s, want %s (no control for string params)", joinKeys(keys), want)
	}
	for _, tc := range []struct {
		key    string
		slider bool
		start  any
	}{
		{"epsilon", true, 0.1},
		{"learning_rate", true, 0.01},
		{"steps", true, int64(500)},
		{"layers", true, int64(3)}, // from the params given
		{"loss", false, "margin_bt"},
		{"center", false, true},
		{"seed", true, int64(1)},
	} {
		c := byKey[tc.key]
		if c.Slider != tc.slider || c.Values[c.Index] != tc.start {
			t.Errorf("%s: got slider=%v starting at %v, want slider=%v starting at %v", tc.key, c.Slider, c.Values[c.Index], tc.slider, tc.start)
		}
	}
	if got := len(byKey["layers"].Values); got != 8 {
		t.Errorf("layers: got %d values, want every integer 1..8", got)
	}
	// learning_rate spans two decades each side of 0.01, log-spaced.
	lr := byKey["learning_rate"].Values
	if lo, hi := lr[0].(float64), lr[len(lr)-1].(float64); math.Abs(lo-1e-4) > 1e-12 || math.Abs(hi-1) > 1e-12 {
		t.Errorf("learning_rate grid: got [%v, %v], want [1e-4, 1]", lo, hi)
	}
	// steps: log-spaced between 5 and 50000, increasing.
	st := byKey["steps"].Values
	if st[0].(int64) != 5 || st[len(st)-1].(int64) != 50000 {
		t.Errorf("steps grid: got [%v, %v], want [5, 50000]", st[0], st[len(st)-1])
	}
	for i := 1; i < len(st); i++ {
		if st[i].(int64) <= st[i-1].(int64) {
			t.Fatalf("steps grid not increasing at %d: %v", i, st)
		}
	}
	if _, err := widgetControls(info, map[string]any{"epsilon": 0.7}); err == nil {
		t.Error("a start value out of range: got nil error")
	}
}

func joinKeys(keys []string) string {
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += " "
		}
		s += k
	}
	return s
}

// fakePage is a browser that answers at once: the test moves the controls
// with move and sees the labels and whether they were disabled.
type fakePage struct {
	mu       sync.Mutex
	keys     []string
	changes  chan<- widgetChange
	labels   map[int]string
	disabled bool
	built    chan struct{}
}

func (f *fakePage) build(controls []widgetControl, changes chan<- widgetChange) {
	f.mu.Lock()
	for _, c := range controls {
		f.keys = append(f.keys, c.Key)
	}
	f.changes = changes
	f.mu.Unlock()
	close(f.built)
}

func (f *fakePage) setLabel(i int, label string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.labels[i] = label
}

func (f *fakePage) disable() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.disabled = true
}

// move sets the control of param key to index i, as a user would.
func (f *fakePage) move(t *testing.T, key string, i int) {
	t.Helper()
	<-f.built
	f.mu.Lock()
	defer f.mu.Unlock()
	for c, k := range f.keys {
		if k == key {
			f.changes <- widgetChange{c, i}
			return
		}
	}
	t.Fatalf("no control for %s among %v", key, f.keys)
}

// fakeWidgets makes Widgets draw its controls on a fakePage, rerun at once
// and redraw its progress often.
func fakeWidgets(t *testing.T) *fakePage {
	page := &fakePage{labels: map[int]string{}, built: make(chan struct{})}
	savedPage, savedDebounce := newWidgetPage, widgetDebounce
	newWidgetPage = func() widgetPage { return page }
	widgetDebounce = time.Millisecond
	setLiveTick(t, time.Millisecond)
	t.Cleanup(func() { newWidgetPage, widgetDebounce = savedPage, savedDebounce })
	return page
}

// waitFor waits until the last version of an output (its display id
// starting with prefix) satisfies ok; the bound only keeps a broken
// Widgets from hanging the test.
func waitFor(t *testing.T, o *outputs, prefix, what string, ok func(html, plain string) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		all := o.snapshot()
		for i := len(all) - 1; i >= 0; i-- {
			if strings.HasPrefix(all[i].id, prefix) {
				if ok(all[i].text(protocol.MIMETextHTML), all[i].text(protocol.MIMETextPlain)) {
					return
				}
				break
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%s: never saw it", what)
}

// knobPlugin has a control for steps, fail (the run fails) and block (the
// run records its steps, then waits for its context).
func knobPlugin(id string, started chan<- struct{}) nbPlugin {
	return nbPlugin{
		info: kernel.Info{ID: id, Summary: "knobs", Params: []kernel.Param{
			kernel.IntParam("steps", 10, 1, 100, "steps"),
			kernel.BoolParam("fail", false, "fail"),
			kernel.BoolParam("block", false, "block"),
			kernel.StringParam("name", "x", "no control"),
		}},
		run: func(job *kernel.Job) error {
			n := job.Params.Int64("steps")
			job.SetTotal(n)
			for s := int64(1); s <= n; s++ {
				if err := job.Record(s, "loss", 1/float64(s)); err != nil {
					return err
				}
			}
			if job.Params.Bool("fail") {
				return errors.New("boom")
			}
			if job.Params.Bool("block") {
				started <- struct{}{}
				<-job.Context().Done()
				return job.Context().Err()
			}
			job.SetFinal("loss", 1/float64(n))
			job.AddChart(kernel.Chart{Kind: "line", ID: "loss", Title: "loss", Series: []string{"loss"}})
			return nil
		},
	}
}

// TestWidgetsStates walks Widgets through its states: a first good run, a
// failed rerun (the good result kept, stale), a rerun interrupted (kept,
// stale) and the end (controls inactive).
func TestWidgetsStates(t *testing.T) {
	started := make(chan struct{}, 1)
	registerNB(t, knobPlugin("nb.knobs", started))
	o := fakeNotebook(t, true)
	page := fakeWidgets(t)
	done := make(chan error, 1)
	go func() { done <- Widgets(context.Background(), "nb.knobs", kernel.Options{}, nil) }()

	const state, result = "alignlab_widgets_state_", "alignlab_widgets_c"
	waitFor(t, o, state, "the first run done", func(_, plain string) bool { return strings.HasPrefix(plain, "done in ") })
	waitFor(t, o, result, "the first result", func(h, _ string) bool {
		return strings.Contains(h, "<b>nb.knobs</b>") && !strings.Contains(h, "stale")
	})

	page.move(t, "fail", 1)
	waitFor(t, o, state, "the failure", func(_, plain string) bool {
		return strings.Contains(plain, "failed after") && strings.Contains(plain, "boom")
	})
	waitFor(t, o, result, "the stale result", func(h, plain string) bool {
		return strings.Contains(h, "<b>nb.knobs</b>") &&
			strings.Contains(plain, "stale: the run with fail=true failed: boom. Shown: the last good result, with fail=false.")
	})
	if page.labels[1] != "true" {
		t.Errorf("label of fail: got %q, want true", page.labels[1])
	}

	page.move(t, "fail", 0)
	page.move(t, "block", 1)
	<-started
	waitFor(t, o, state, "the progress", func(_, plain string) bool {
		return strings.HasPrefix(plain, "running with ") && strings.HasSuffix(plain, ": step 10 / 10 (100%)")
	})
	o.irq.interrupt()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Widgets: got %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Widgets did not return after the interrupt")
	}
	waitFor(t, o, result, "the result kept after the interrupt", func(h, plain string) bool {
		return strings.Contains(h, "<b>nb.knobs</b>") && strings.Contains(plain, "was interrupted at step 10 / 10. Shown: the last good result, with block=false.")
	})
	waitFor(t, o, state, "the stopped state", func(_, plain string) bool {
		return plain == "stopped after an interrupt: controls inactive — rerun the cell"
	})
	if !page.disabled {
		t.Error("the controls were not disabled")
	}
	if n := o.irq.registered(); n != 0 {
		t.Errorf("Widgets returned with %d channels registered for SIGINT, want 0", n)
	}
	for _, s := range o.snapshot() {
		if s.text(protocol.MIMETextHTML) == "<p><i>running…</i></p>" || strings.Contains(s.text(protocol.MIMETextHTML), ">context canceled<") {
			t.Errorf("an output replaced the result with %q", s.text(protocol.MIMETextHTML))
		}
	}
}

// TestWidgetsFor: only the named params get controls, in that order;
// naming one without a control is an error that lists those with one.
func TestWidgetsFor(t *testing.T) {
	registerNB(t, knobPlugin("nb.knobs2", nil))
	o := fakeNotebook(t, true)
	page := fakeWidgets(t)
	ctx, cancel := context.WithCancel(context.Background())
	var got kernel.Params
	done := make(chan error, 1)
	go func() {
		done <- WidgetsFor(ctx, "nb.knobs2", kernel.Options{Params: map[string]any{"steps": 7}}, []string{"fail", "steps"},
			func(p kernel.Params) { got = p })
	}()
	waitFor(t, o, "alignlab_widgets_state_", "the first call of onChange", func(_, plain string) bool { return strings.HasPrefix(plain, "done in ") })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if strings.Join(page.keys, " ") != "fail steps" {
		t.Errorf("controls: got %v, want [fail steps]", page.keys)
	}
	if got.Int64("steps") != 7 || got.Bool("fail") {
		t.Errorf("onChange got %v, want steps 7 and fail false", got)
	}
	waitFor(t, o, "alignlab_widgets_state_", "the stopped state", func(_, plain string) bool {
		return plain == "stopped (cancelled): controls inactive — rerun the cell"
	})

	err := WidgetsFor(context.Background(), "nb.knobs2", kernel.Options{}, []string{"fail", "name"}, nil)
	if err == nil || !strings.Contains(err.Error(), `no control for param "name"; the params with one are: steps, fail, block, seed`) {
		t.Errorf("a param without a control: got %v", err)
	}
}

// TestWidgetsHint: a plugin with many controls gets a line saying how to
// pick a few.
func TestWidgetsHint(t *testing.T) {
	var params []kernel.Param
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"} {
		params = append(params, kernel.IntParam(k, 1, 1, 5, k))
	}
	registerNB(t, nbPlugin{info: kernel.Info{ID: "nb.many", Summary: "many", Params: params}, run: func(*kernel.Job) error { return nil }})
	o := fakeNotebook(t, true)
	fakeWidgets(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Widgets(ctx, "nb.many", kernel.Options{}, func(kernel.Params) {}) }()
	waitFor(t, o, "alignlab_widgets_state_", "the hint", func(_, plain string) bool {
		return strings.Contains(plain, `10 controls: pick the few you need with notebook.WidgetsFor(ctx, "nb.many", opts, []string{"a", "b"}, onChange)`)
	})
	cancel()
	<-done
}
