package notebook

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/alignlab/alignlab/kernel"
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
