package plots

import (
	"fmt"
	"math"
	"strconv"
	"testing"
)

// notebookNames are the series names that share charts in the lab's
// notebooks, by chart family; each family must get distinct colours.
var notebookNames = [][]string{
	{"dpo", "cdpo", "ipo", "rdpo", "rdpo theory", "dpo theory", "tdpo1", "tdpo2", "inpo", "dno", "mwu"},
	{"dpo", "cdpo", "ipo", "rdpo", "rdpo theory ∝ 1/(1−2ε)"},
	{"nash", "tau_nash", "inpo_exact", "inpo_sampled", "dno_sampled", "dno_prct", "mwu", "mwu_avg", "bt_rlhf"},
	{"final", "ref", "nash", "tau_nash"},
	{"source", "target", "model", "sde"},
	{"tdpo1", "tdpo2", "optimal", "dpo"},
}

func TestColorStableAndDistinct(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"dpo", "#1f77b4"}, {"rdpo", "#d62728"}, {"RDPO", "#d62728"}, {" cdpo ", "#2ca02c"},
		{"rdpo theory ∝ 1/(1−2ε)", Color("rdpo theory")}, {"tdpo2 α=0.5", Color("tdpo2")},
		{"dpo β=0.1", Color("dpo")},
	} {
		if got := Color(tc.name); got != tc.want {
			t.Errorf("Color(%q) = %s, want %s", tc.name, got, tc.want)
		}
	}
	// An unknown name hashes: the same colour every time, from the palette.
	a, b := Color("loss"), Color("loss")
	if a != b || !inPalette(a) {
		t.Errorf("Color(loss) gave %s then %s", a, b)
	}
	for _, names := range notebookNames {
		seen := map[string]string{}
		for _, n := range names {
			c := Color(n)
			if other, ok := seen[c]; ok {
				t.Errorf("%q and %q share %s", other, n, c)
			}
			seen[c] = n
		}
	}
}

func inPalette(c string) bool {
	for _, p := range palette {
		if p == c {
			return true
		}
	}
	return false
}

// TestSeriesColors: in one chart, a series whose colour an earlier one took
// gets the next free colour; the first keeps Color.
func TestSeriesColors(t *testing.T) {
	// Two unknown names that hash to one colour.
	var x, y string
	byColour := map[string]string{}
	for i := 0; x == ""; i++ {
		n := "s" + strconv.Itoa(i)
		if m, ok := byColour[Color(n)]; ok {
			x, y = m, n
		}
		byColour[Color(n)] = n
	}
	got := seriesColors([]string{x, y, "dpo", "dpo"})
	if got[0] != Color(x) || got[1] == got[0] || got[2] != Color("dpo") || got[3] == got[2] {
		t.Errorf("seriesColors(%q, %q, dpo, dpo) = %v: want the first of each pair on Color, the second elsewhere", x, y, got)
	}
	many := make([]string, len(palette)+3)
	for i := range many {
		many[i] = "s" + strconv.Itoa(i)
	}
	cs := seriesColors(many)
	seen := map[string]bool{}
	for _, c := range cs[:len(palette)] {
		if seen[c] {
			t.Errorf("the first %d series share a colour: %v", len(palette), cs)
		}
		seen[c] = true
	}
}

// TestPalette: at least 12 colours, each pair at least ΔE*76 = 20 apart in
// CIELAB, each with a contrast of at least 2.5:1 against white (pale
// yellow has 1.6).
func TestPalette(t *testing.T) {
	const minDelta, minContrast = 20.0, 2.5
	if len(palette) < 12 {
		t.Fatalf("palette has %d colours, want at least 12", len(palette))
	}
	for i, a := range palette {
		if c := 1.05 / (luminance(parseHex(a)) + 0.05); c < minContrast {
			t.Errorf("%s: contrast %.2f against white, want at least %.1f", a, c, minContrast)
		}
		for _, b := range palette[i+1:] {
			if d := deltaE(a, b); d < minDelta {
				t.Errorf("%s and %s: ΔE %.1f, want at least %.0f", a, b, d, minDelta)
			}
		}
	}
	if c := 1.05 / (luminance(parseHex("#fac858")) + 0.05); c >= minContrast {
		t.Errorf("the old pale yellow passes the contrast check (%.2f): the check proves nothing", c)
	}
}

// deltaE is the CIE76 distance of two sRGB colours in CIELAB (D65).
func deltaE(a, b string) float64 {
	la, lb := lab(a), lab(b)
	return math.Sqrt((la[0]-lb[0])*(la[0]-lb[0]) + (la[1]-lb[1])*(la[1]-lb[1]) + (la[2]-lb[2])*(la[2]-lb[2]))
}

func lab(hex string) [3]float64 {
	c := parseHex(hex)
	lin := func(v uint8) float64 {
		x := float64(v) / 255
		if x <= 0.04045 {
			return x / 12.92
		}
		return math.Pow((x+0.055)/1.055, 2.4)
	}
	r, g, b := lin(c.R), lin(c.G), lin(c.B)
	x := (0.4124*r + 0.3576*g + 0.1805*b) / 0.95047
	y := 0.2126*r + 0.7152*g + 0.0722*b
	z := (0.0193*r + 0.1192*g + 0.9505*b) / 1.08883
	f := func(t float64) float64 {
		if t > 0.008856 {
			return math.Cbrt(t)
		}
		return 7.787*t + 16.0/116
	}
	return [3]float64{116*f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))}
}

// A method keeps its colour in every chart; a theory line is told apart
// from its method.
func ExampleColor() {
	for _, name := range []string{"dpo", "rdpo", "rdpo theory ∝ 1/√n", "ipo"} {
		fmt.Println(name, Color(name))
	}
	// Output:
	// dpo #1f77b4
	// rdpo #d62728
	// rdpo theory ∝ 1/√n #8b1a4a
	// ipo #ff7f0e
}
