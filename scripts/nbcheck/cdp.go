package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// devtools is a headless Chromium driven over its DevTools pipe
// (--remote-debugging-pipe: requests on fd 3, replies and events on fd 4,
// each a JSON message ended by a NUL byte), attached to one page.
//
// The checks need it rather than --dump-dom because with scripts disabled
// (--blink-settings=scriptEnabled=false) --dump-dom prints nothing, while
// DevTools' own evaluation still works; and because layout (visibility,
// sizes, scroll widths) and per-element screenshots are only known inside
// the browser.
type devtools struct {
	cmd     *exec.Cmd
	profile string
	in      *os.File // we write requests here
	session string

	mu      sync.Mutex
	nextID  int
	replies map[int]chan cdpMessage
	events  map[string]int // how many times each event arrived
	eventCh chan struct{}  // closed and replaced on every event
	readErr error
	done    chan struct{} // closed when the reader stops
	stderr  *strings.Builder
}

type cdpMessage struct {
	ID        int             `json:"id"`
	Method    string          `json:"method"`
	SessionID string          `json:"sessionId"`
	Result    json.RawMessage `json:"result"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// viewWidth is the width, in CSS pixels, of every page the checks open: a
// laptop browser window, where classic Jupyter's notebook is ~1140 px wide.
const viewWidth = 1280

// startDevtools starts Chromium with a fresh profile and extra flags, and
// attaches to a new blank page of viewWidth×900 CSS pixels.
func startDevtools(ctx context.Context, extra ...string) (*devtools, error) {
	profile, err := os.MkdirTemp("", "nbcheck-chromium-")
	if err != nil {
		return nil, err
	}
	toChrome, in, err := os.Pipe()
	if err != nil {
		os.RemoveAll(profile)
		return nil, err
	}
	out, fromChrome, err := os.Pipe()
	if err != nil {
		toChrome.Close()
		in.Close()
		os.RemoveAll(profile)
		return nil, err
	}
	args := append([]string{}, chromiumFlags...)
	args = append(args, "--remote-debugging-pipe", "--user-data-dir="+profile)
	args = append(args, extra...)
	args = append(args, "about:blank")
	cmd := exec.Command(chromiumPath(), withoutVirtualTime(args)...)
	cmd.ExtraFiles = []*os.File{toChrome, fromChrome} // fds 3 and 4
	d := &devtools{cmd: cmd, profile: profile, in: in, replies: map[int]chan cdpMessage{},
		events: map[string]int{}, eventCh: make(chan struct{}), done: make(chan struct{}), stderr: &strings.Builder{}}
	cmd.Stderr = &lockedWriter{w: d.stderr}
	if err := cmd.Start(); err != nil {
		toChrome.Close()
		fromChrome.Close()
		in.Close()
		out.Close()
		os.RemoveAll(profile)
		return nil, fmt.Errorf("%s: %v", chromiumPath(), err)
	}
	toChrome.Close()
	fromChrome.Close()
	go d.read(out)
	if err := d.attach(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// withoutVirtualTime drops --virtual-time-budget: the DevTools checks wait
// in real time for what they need.
func withoutVirtualTime(args []string) []string {
	var out []string
	for _, a := range args {
		if !strings.HasPrefix(a, "--virtual-time-budget") {
			out = append(out, a)
		}
	}
	return out
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (d *devtools) read(out *os.File) {
	defer close(d.done)
	defer out.Close()
	br := bufio.NewReaderSize(out, 1<<20)
	for {
		raw, err := br.ReadBytes(0)
		if err != nil {
			d.mu.Lock()
			d.readErr = fmt.Errorf("chromium closed the DevTools pipe: %v", err)
			for id, ch := range d.replies {
				close(ch)
				delete(d.replies, id)
			}
			d.mu.Unlock()
			return
		}
		var m cdpMessage
		if json.Unmarshal(raw[:len(raw)-1], &m) != nil {
			continue
		}
		d.mu.Lock()
		if m.ID != 0 {
			if ch, ok := d.replies[m.ID]; ok {
				ch <- m
				delete(d.replies, m.ID)
			}
		} else if m.Method != "" {
			d.events[m.Method]++
			close(d.eventCh)
			d.eventCh = make(chan struct{})
		}
		d.mu.Unlock()
	}
}

// call sends a DevTools command (to the page, once attached) and decodes
// its result into result (if not nil).
func (d *devtools) call(ctx context.Context, method string, params any, result any) error {
	d.mu.Lock()
	if d.readErr != nil {
		err := d.readErr
		d.mu.Unlock()
		return fmt.Errorf("%s: %v%s", method, err, d.lastStderr())
	}
	d.nextID++
	id := d.nextID
	ch := make(chan cdpMessage, 1)
	d.replies[id] = ch
	d.mu.Unlock()
	msg := map[string]any{"id": id, "method": method, "params": params}
	if params == nil {
		msg["params"] = map[string]any{}
	}
	if d.session != "" {
		msg["sessionId"] = d.session
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	if _, err := d.in.Write(append(b, 0)); err != nil {
		return fmt.Errorf("%s: writing to chromium: %v%s", method, err, d.lastStderr())
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return fmt.Errorf("%s: chromium went away%s", method, d.lastStderr())
		}
		if m.Error != nil {
			return fmt.Errorf("%s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		if result != nil {
			return json.Unmarshal(m.Result, result)
		}
		return nil
	case <-ctx.Done():
		d.mu.Lock()
		delete(d.replies, id)
		d.mu.Unlock()
		return fmt.Errorf("%s: %v", method, ctx.Err())
	}
}

func (d *devtools) lastStderr() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s := strings.TrimSpace(d.stderr.String()); s != "" {
		return ": " + lastLines(s, 3)
	}
	return ""
}

func (d *devtools) attach(ctx context.Context) error {
	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := d.call(ctx, "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		return err
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	if err := d.call(ctx, "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att); err != nil {
		return err
	}
	d.session = att.SessionID
	if err := d.call(ctx, "Page.enable", nil, nil); err != nil {
		return err
	}
	return d.call(ctx, "Emulation.setDeviceMetricsOverride",
		map[string]any{"width": viewWidth, "height": 900, "deviceScaleFactor": 1, "mobile": false}, nil)
}

// navigate opens url and waits for its load event and a complete document.
func (d *devtools) navigate(ctx context.Context, url string) error {
	d.mu.Lock()
	loads := d.events["Page.loadEventFired"]
	d.mu.Unlock()
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	if err := d.call(ctx, "Page.navigate", map[string]any{"url": url}, &nav); err != nil {
		return err
	}
	if nav.ErrorText != "" {
		return fmt.Errorf("opening %s: %s", url, nav.ErrorText)
	}
	for {
		d.mu.Lock()
		n, ch := d.events["Page.loadEventFired"], d.eventCh
		d.mu.Unlock()
		if n > loads {
			return d.waitFor(ctx, `document.readyState === 'complete' && location.href !== 'about:blank'`, time.Minute)
		}
		select {
		case <-ch:
		case <-d.done:
			return fmt.Errorf("opening %s: chromium went away%s", url, d.lastStderr())
		case <-ctx.Done():
			return fmt.Errorf("opening %s: no load event: %v", url, ctx.Err())
		}
	}
}

// eval evaluates a JavaScript expression in the page (DevTools evaluation
// works with the page's scripts disabled) and decodes its JSON value.
func (d *devtools) eval(ctx context.Context, expr string, result any) error {
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := d.call(ctx, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &r); err != nil {
		return err
	}
	if e := r.ExceptionDetails; e != nil {
		return fmt.Errorf("probe: %s %s", e.Text, firstLine(e.Exception.Description))
	}
	if result == nil {
		return nil
	}
	if len(r.Result.Value) == 0 {
		return errors.New("probe: no value")
	}
	return json.Unmarshal(r.Result.Value, result)
}

// waitFor evaluates cond (a JavaScript boolean expression) every 200 ms
// until it is true or timeout passes.
func (d *devtools) waitFor(ctx context.Context, cond string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error // a page being replaced cannot evaluate for a moment
	for {
		var ok bool
		err := d.eval(ctx, "!!("+cond+")", &ok)
		if err == nil && ok {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("waited %v for %s (last error: %v)", timeout, cond, last)
			}
			return fmt.Errorf("waited %v for %s", timeout, cond)
		case <-d.done:
			return fmt.Errorf("chromium went away%s", d.lastStderr())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// rect is a box in CSS pixels, in page (document) coordinates.
type rect struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
	W float64 `json:"w"`
	H float64 `json:"h"`
}

// capture returns a PNG of a box of the page (beyond the viewport too).
func (d *devtools) capture(ctx context.Context, r rect) ([]byte, error) {
	var shot struct {
		Data string `json:"data"`
	}
	err := d.call(ctx, "Page.captureScreenshot", map[string]any{
		"format": "png", "captureBeyondViewport": true,
		"clip": map[string]any{"x": r.X, "y": r.Y, "width": r.W, "height": r.H, "scale": 1},
	}, &shot)
	if err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(shot.Data)
}

// Close ends Chromium and removes its profile.
func (d *devtools) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	d.session = ""
	_ = d.call(ctx, "Browser.close", nil, nil)
	cancel()
	exited := make(chan struct{})
	go func() { d.cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		d.cmd.Process.Kill()
		<-exited
	}
	d.in.Close()
	os.RemoveAll(d.profile)
}
