package plots

import (
	"math"
	"strconv"
	"strings"
)

// scale maps data values on one axis to pixels, linearly or by log10.
type scale struct {
	lo, hi float64 // the data range; for a log scale, positive
	log    bool
	p0, p1 float64 // the pixels of lo and hi
	ticks  []float64
	labels []string
}

// px maps v to a pixel.
func (s *scale) px(v float64) float64 {
	a, b, x := s.lo, s.hi, v
	if s.log {
		a, b, x = math.Log10(a), math.Log10(b), math.Log10(v)
	}
	if b == a {
		return (s.p0 + s.p1) / 2
	}
	return s.p0 + (x-a)/(b-a)*(s.p1-s.p0)
}

// extent is the range of the finite values fed to it (on a log axis, the
// positive ones).
type extent struct {
	lo, hi float64
	log    bool
	n      int
}

func newExtent(log bool) extent { return extent{lo: math.Inf(1), hi: math.Inf(-1), log: log} }

func (e *extent) add(v float64) {
	if !finite(v) || e.log && v <= 0 {
		return
	}
	e.lo, e.hi = math.Min(e.lo, v), math.Max(e.hi, v)
	e.n++
}

// niceStep returns a step of 1, 2 or 5 × 10^k that cuts span into about n
// parts.
func niceStep(span float64, n int) float64 {
	if !(span > 0) || n < 1 {
		return 1
	}
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	switch f := raw / mag; {
	case f < 1.5:
		return mag
	case f < 3:
		return 2 * mag
	case f < 7:
		return 5 * mag
	}
	return 10 * mag
}

// linearRange returns the range an axis shows for data in [lo, hi] and the
// step of its ticks (1, 2 or 5 × 10^k, about n of them): widened out to
// multiples of the step when snap is set (as ECharts' scaled value axis
// does), and a unit around a single value.
func linearRange(lo, hi float64, n int, snap bool) (float64, float64, float64) {
	if !(lo <= hi) { // no data
		lo, hi = 0, 1
	}
	if lo == hi {
		d := math.Abs(lo) / 2
		if d == 0 {
			d = 1
		}
		lo, hi = lo-d, hi+d
	}
	step := niceStep(hi-lo, n)
	if !snap {
		return lo, hi, step
	}
	return math.Floor(lo/step+1e-9) * step, math.Ceil(hi/step-1e-9) * step, step
}

// linearTicks returns the multiples of step inside [lo, hi] and their
// labels.
func linearTicks(lo, hi, step float64) ([]float64, []string) {
	var ticks []float64
	var labels []string
	for k := math.Ceil(lo/step - 1e-9); k*step <= hi+step*1e-9; k++ {
		v := k * step
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		ticks = append(ticks, v)
		labels = append(labels, tickLabel(v, step))
	}
	return ticks, labels
}

// logRange returns whole decades around [lo, hi] (both positive).
func logRange(lo, hi float64) (float64, float64) {
	if !(lo <= hi) {
		return 1, 10
	}
	a, b := math.Floor(math.Log10(lo)+1e-9), math.Ceil(math.Log10(hi)-1e-9)
	if b <= a {
		b = a + 1
	}
	return math.Pow(10, a), math.Pow(10, b)
}

// logTicks returns the ticks of a log axis over [lo, hi]: every power of
// ten (every second or more one when there are many decades), and 2× and
// 5× each decade when the axis spans at most two.
func logTicks(lo, hi float64) (ticks []float64, labels []string) {
	a, b := int(math.Round(math.Log10(lo))), int(math.Round(math.Log10(hi)))
	every := 1 + (b-a)/8
	minor := b-a <= 2
	for k := a; k <= b; k++ {
		if (k-a)%every != 0 {
			continue
		}
		for _, m := range []float64{1, 2, 5} {
			if m > 1 && (!minor || k == b) {
				continue
			}
			v := m * math.Pow(10, float64(k))
			ticks = append(ticks, v)
			labels = append(labels, logLabel(m, k))
		}
	}
	return ticks, labels
}

// logLabel writes m×10^k as a plain decimal from 0.001 to 10,000 and as
// "1e5" beyond.
func logLabel(m float64, k int) string {
	if k >= -3 && k <= 4 {
		return groupThousands(strconv.FormatFloat(m*math.Pow(10, float64(k)), 'f', max(0, -k), 64))
	}
	return strconv.FormatFloat(m, 'f', -1, 64) + "e" + strconv.Itoa(k)
}

// tickLabel writes a tick of a linear axis with as many decimals as its
// step needs: "0.25", "1,100", "2e6", "5e-5".
func tickLabel(v, step float64) string {
	if v == 0 {
		return "0"
	}
	v = math.Round(v/step) * step
	decimals := max(0, -int(math.Floor(math.Log10(step)+1e-9)))
	if step >= 1e-4 && math.Abs(v) < 1e6 {
		return groupThousands(strconv.FormatFloat(v, 'f', decimals, 64))
	}
	digits := int(math.Floor(math.Log10(math.Abs(v))+1e-9)) - int(math.Floor(math.Log10(step)+1e-9)) + 1
	return expLabel(strconv.FormatFloat(v, 'e', min(max(digits, 1), 15)-1, 64))
}

// expLabel shortens Go's exponent form: "2.50e+06" → "2.5e6".
func expLabel(s string) string {
	mant, exp, ok := strings.Cut(s, "e")
	if !ok {
		return s
	}
	if strings.Contains(mant, ".") {
		mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
	}
	n, _ := strconv.Atoi(exp)
	return mant + "e" + strconv.Itoa(n)
}

// groupThousands puts commas into the whole part of a decimal from 10,000
// up (ECharts writes axis labels the same way), so that 1100 stays 1100.
func groupThousands(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	if len(whole) <= 4 {
		return sign + s
	}
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if hasFrac {
		b.WriteString("." + frac)
	}
	return sign + b.String()
}

// count writes a whole number with thousands separators: 1,500.
func count(n int) string {
	s := strconv.Itoa(n)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
