package notebook

import (
	"context"
	"fmt"
	"html"
	"math"
	"slices"
	"sort"
	"strconv"
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
const widgetDebounce = 300 * time.Millisecond

// Widgets shows a control for each numeric, boolean and choice param of
// plugin id — a slider over a grid of values (log-spaced where the range
// spans decades) or a menu — starting at the value in opts.Params or the
// default. It runs the plugin once, then again each time a control changes,
// and calls onChange with the validated params of the run; with onChange
// nil, it shows each run's result in place of the previous one. It returns
// when ctx is done; in a notebook, interrupting the cell stops it.
//
// Widgets needs a live notebook in a browser, since GoNB's widgets talk to
// the page: outside a notebook it returns nil at once, and in a notebook
// executed without a browser (nbconvert) it says so in the output and
// returns nil after about 8 s. String params get no control.
func Widgets(ctx context.Context, id string, opts kernel.Options, onChange func(kernel.Params)) error {
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

	type change struct{ control, index int }
	changes := make(chan change, 64)
	built := make(chan struct{})
	go func() {
		// Each widget's Done waits for the page to acknowledge it, which
		// never happens without a browser: hence the goroutine and timeout.
		root := dom.CreateTransientDiv()
		for i := range controls {
			c := &controls[i]
			c.labelID = "alignlab_w_" + gonbui.UniqueId()
			rowID := c.labelID + "_row"
			dom.Append(root, fmt.Sprintf(`<div id="%s" style="margin:2px 0"><code style="display:inline-block;min-width:14em">%s</code> </div>`,
				rowID, html.EscapeString(c.Key)))
			var listen func() <-chan int
			if c.Slider {
				s := widgets.Slider(0, len(c.Values)-1, c.Index).AppendTo(rowID).Done()
				ch := s.Listen().LatestOnly()
				listen = func() <-chan int { return ch.C }
			} else {
				s := widgets.Select(c.Labels).SetDefault(c.Index).AppendTo(rowID).Done()
				ch := s.Listen().LatestOnly()
				listen = func() <-chan int { return ch.C }
			}
			dom.Append(rowID, fmt.Sprintf(` <span id="%s">%s</span>`, c.labelID, html.EscapeString(c.Labels[c.Index])))
			go func(i int, in <-chan int) {
				for v := range in {
					changes <- change{i, v}
				}
			}(i, listen())
		}
		close(built)
	}()
	select {
	case <-built:
	case <-ctx.Done():
		return nil
	case <-time.After(widgetTimeout):
		ShowMarkdown("*Widgets need a live notebook in a browser (GoNB widgets talk to the page); " +
			"none answered, so there is nothing to interact with here.*")
		return nil
	}

	outID := "alignlab_widgets_" + gonbui.UniqueId()
	rerun := func() {
		raw := map[string]any{}
		for k, v := range opts.Params {
			raw[k] = v
		}
		for _, c := range controls {
			raw[c.Key] = c.Values[c.Index]
		}
		info := p.Info()
		params, err := kernel.Validate(info, raw)
		if err != nil {
			updateHTML(outID, fmt.Sprintf("<p style=\"color:#b00\">%s</p>", html.EscapeString(err.Error())))
			syncOut()
			return
		}
		if onChange != nil {
			onChange(params)
			return
		}
		o := opts
		o.Params = raw
		updateHTML(outID, "<p><i>running…</i></p>")
		res, err := kernel.Run(ctx, id, o)
		if err != nil {
			updateHTML(outID, fmt.Sprintf("<p style=\"color:#b00\">%s</p>", html.EscapeString(err.Error())))
		} else {
			updateHTML(outID, resultHTML(res, plots.RandomID()))
		}
		syncOut()
	}
	rerun()
	var settle <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case ch := <-changes:
			c := &controls[ch.control]
			if ch.index < 0 || ch.index >= len(c.Values) || ch.index == c.Index {
				continue
			}
			c.Index = ch.index
			dom.SetInnerText(c.labelID, c.Labels[c.Index])
			settle = time.After(widgetDebounce)
		case <-settle:
			settle = nil
			rerun()
		}
	}
}

// widgetControl is one control of Widgets: the values it can take (a slider
// or a menu moves an index over them) and the one it starts at.
type widgetControl struct {
	Key     string
	Slider  bool // else a menu
	Values  []any
	Labels  []string
	Index   int
	labelID string
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
