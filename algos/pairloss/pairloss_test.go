package pairloss

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/algos/backend"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// The closed forms are written from the papers' formulas with log σ,
// independently of the softplus forms of the implementation.

func logSigmoid(x float64) float64 { return -math.Log1p(math.Exp(-x)) }

func closedLoss(l Loss, h float64) float64 {
	z, eps := l.Beta*h, l.Epsilon
	switch l.Kind {
	case Logistic:
		return -logSigmoid(z)
	case Conservative:
		return -(1-eps)*logSigmoid(z) - eps*logSigmoid(-z)
	case Robust:
		return (-(1-eps)*logSigmoid(z) + eps*logSigmoid(-z)) / (1 - 2*eps)
	case Square:
		return (h - l.Margin) * (h - l.Margin)
	case Margin:
		return -logSigmoid(z - l.Margin)
	}
	panic(l.Kind)
}

// closedGrad is dℓ/dh, from d/dx log σ(x) = σ(−x).
func closedGrad(l Loss, h float64) float64 {
	z, eps, b := l.Beta*h, l.Epsilon, l.Beta
	switch l.Kind {
	case Logistic:
		return -b * Sigmoid(-z)
	case Conservative:
		return -(1-eps)*b*Sigmoid(-z) + eps*b*Sigmoid(z)
	case Robust:
		return (-(1-eps)*b*Sigmoid(-z) - eps*b*Sigmoid(z)) / (1 - 2*eps)
	case Square:
		return 2 * (h - l.Margin)
	case Margin:
		return -b * Sigmoid(l.Margin-z)
	}
	panic(l.Kind)
}

var (
	testHs    = []float64{-3, -0.7, 0, 0.25, 1.5, 4}
	testBetas = []float64{0.1, 1, 2.5}
	testEps   = []float64{0, 0.1, 0.3, 0.45}
)

// testLosses is every kind at every β and ε of the tables (margins 0.7).
func testLosses() []Loss {
	var out []Loss
	for _, k := range Kinds {
		for _, b := range testBetas {
			for _, e := range testEps {
				l := Loss{Kind: k, Beta: b, Epsilon: e}
				switch k {
				case Square:
					l = IPO(b)
					l.Epsilon = e
				case Margin:
					l.Margin = 0.7
				}
				out = append(out, l)
			}
		}
	}
	return out
}

func lossAndGrad(t *testing.T, l Loss, hs []float64) (loss, grad []float64) {
	t.Helper()
	be, err := backend.Get("")
	if err != nil {
		t.Fatal(err)
	}
	outs := graph.MustExecOnceN(be, func(h *graph.Node) (*graph.Node, *graph.Node) {
		v := l.Pairs(h)
		return v, graph.Gradient(graph.ReduceAllSum(v), h)[0]
	}, hs)
	return tensors.MustCopyFlatData[float64](outs[0]), tensors.MustCopyFlatData[float64](outs[1])
}

func TestClosedForm(t *testing.T) {
	const tol = 1e-12
	for _, l := range testLosses() {
		loss, grad := lossAndGrad(t, l, testHs)
		for i, h := range testHs {
			want := closedLoss(l, h)
			if got := l.Float64(h); math.Abs(got-want) > tol*(1+math.Abs(want)) {
				t.Errorf("%+v h=%v: Float64 got %v, want %v", l, h, got, want)
			}
			if got := loss[i]; math.Abs(got-want) > tol*(1+math.Abs(want)) {
				t.Errorf("%+v h=%v: Pairs got %v, want %v", l, h, got, want)
			}
			wantG := closedGrad(l, h)
			if got := grad[i]; math.Abs(got-wantG) > tol*(1+math.Abs(wantG)) {
				t.Errorf("%+v h=%v: autodiff dℓ/dh got %v, want %v", l, h, got, wantG)
			}
		}
	}
}

// The softplus form stays finite far out, where log σ underflows, and its
// gradient at the kink z = 0 is the true −β/2.
func TestStable(t *testing.T) {
	const tol = 1e-12
	hs := []float64{-1000, 1000, 0}
	l := Loss{Kind: Robust, Beta: 1, Epsilon: 0.2}
	loss, grad := lossAndGrad(t, l, hs)
	c := 0.2 / (1 - 2*0.2)
	for i, want := range []float64{1000 + c*1000, -c * 1000, math.Ln2} {
		if math.Abs(loss[i]-want) > tol*math.Abs(want) {
			t.Errorf("h=%v: loss got %v, want %v", hs[i], loss[i], want)
		}
	}
	for i, want := range []float64{-1 - c, -c, -0.5 - c} {
		if math.Abs(grad[i]-want) > tol {
			t.Errorf("h=%v: gradient got %v, want %v", hs[i], grad[i], want)
		}
	}
}

// The robust loss is unbiased: with labels flipped at rate ε (h → −h) its
// expectation, and that of its gradient, is the clean logistic loss.
func TestRobustUnbiased(t *testing.T) {
	const tol = 1e-12
	neg := make([]float64, len(testHs))
	for i, h := range testHs {
		neg[i] = -h
	}
	for _, beta := range testBetas {
		for _, eps := range testEps {
			r := Loss{Kind: Robust, Beta: beta, Epsilon: eps}
			loss, grad := lossAndGrad(t, r, testHs)
			lossF, gradF := lossAndGrad(t, r, neg)
			clean, cleanG := lossAndGrad(t, Loss{Kind: Logistic, Beta: beta}, testHs)
			for i, h := range testHs {
				if got := (1-eps)*loss[i] + eps*lossF[i]; math.Abs(got-clean[i]) > tol*(1+clean[i]) {
					t.Errorf("β=%v ε=%v h=%v: E robust = %v, want logistic %v", beta, eps, h, got, clean[i])
				}
				if got := (1-eps)*grad[i] - eps*gradF[i]; math.Abs(got-cleanG[i]) > tol {
					t.Errorf("β=%v ε=%v h=%v: E ∇robust = %v, want ∇logistic %v", beta, eps, h, got, cleanG[i])
				}
			}
		}
	}
}

// At ε = 0 the three logistic losses are one function, bit for bit; a
// margin of 0 is the logistic loss too.
func TestReducesToLogistic(t *testing.T) {
	for _, beta := range testBetas {
		base, baseG := lossAndGrad(t, Loss{Kind: Logistic, Beta: beta}, testHs)
		for _, k := range []Kind{Conservative, Robust, Margin} {
			l, g := lossAndGrad(t, Loss{Kind: k, Beta: beta}, testHs)
			for i, h := range testHs {
				if l[i] != base[i] || g[i] != baseG[i] {
					t.Errorf("%s β=%v h=%v: got (%v, %v), want logistic (%v, %v)", k, beta, h, l[i], g[i], base[i], baseG[i])
				}
			}
		}
	}
}

// A margin per pair equals the scalar margin pair by pair.
func TestPairsMargin(t *testing.T) {
	be, err := backend.Get("")
	if err != nil {
		t.Fatal(err)
	}
	ms := []float64{0, 0.5, -1, 2, 0.7, 3}
	l := Loss{Kind: Margin, Beta: 1}
	out := graph.MustExecOnce(be, func(h, m *graph.Node) *graph.Node { return l.PairsMargin(h, m) }, testHs, ms)
	got := tensors.MustCopyFlatData[float64](out)
	for i, h := range testHs {
		lm := l
		lm.Margin = ms[i]
		if want := lm.Float64(h); math.Abs(got[i]-want) > 1e-15 {
			t.Errorf("h=%v m=%v: got %v, want %v", h, ms[i], got[i], want)
		}
	}
}

// Mean is the weighted mean Σ w ℓ / Σ w and its gradient in w_i is
// (ℓ_i − L)/Σ w, the quantity a reweighting scheme follows.
func TestMeanWeights(t *testing.T) {
	const tol = 1e-12
	be, err := backend.Get("")
	if err != nil {
		t.Fatal(err)
	}
	hs := []float64{-1, 0.5, 2, 3}
	ws := []float64{1, 2, 0.5, 0}
	l := Loss{Kind: Conservative, Beta: 0.5, Epsilon: 0.1}
	outs := graph.MustExecOnceN(be, func(h, w *graph.Node) (*graph.Node, *graph.Node) {
		m := l.Mean(h, w)
		return m, graph.Gradient(m, w)[0]
	}, hs, ws)
	mean := tensors.ToScalar[float64](outs[0])
	gw := tensors.MustCopyFlatData[float64](outs[1])
	want, err := l.MeanFloat64("test", hs, ws)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(mean-want) > tol {
		t.Errorf("Mean got %v, MeanFloat64 %v", mean, want)
	}
	for i, h := range hs {
		if w := (l.Float64(h) - want) / 3.5; math.Abs(gw[i]-w) > tol {
			t.Errorf("∂L/∂w_%d got %v, want %v", i, gw[i], w)
		}
	}
}

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		l    Loss
		want string
	}{
		{Loss{Kind: "hinge", Beta: 1}, `dpo: unknown pair loss "hinge" (known: logistic, conservative, robust, square, margin)`},
		{Loss{Kind: Logistic}, "dpo: beta must be finite and > 0, got 0"},
		{Loss{Kind: Logistic, Beta: math.Inf(1)}, "dpo: beta must be finite and > 0, got +Inf"},
		{Loss{Kind: Robust, Beta: 1, Epsilon: 0.5}, "dpo: epsilon must be in [0, 0.5), got 0.5"},
		{Loss{Kind: Logistic, Beta: 1, Epsilon: math.NaN()}, "dpo: epsilon must be in [0, 0.5), got NaN"},
		{Loss{Kind: Square, Beta: 1, Margin: math.NaN()}, "dpo: margin must be finite, got NaN"},
		{IPO(0.1), ""},
	} {
		err := c.l.Check("dpo")
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.want {
			t.Errorf("%+v: got %q, want %q", c.l, got, c.want)
		}
	}
	if _, err := (Loss{Kind: Logistic, Beta: 1}).MeanFloat64("bt", nil, nil); err == nil || !strings.HasPrefix(err.Error(), "bt: ") {
		t.Errorf("MeanFloat64 of no pairs: got %v, want a bt: error", err)
	}
	if _, err := (Loss{Kind: Logistic, Beta: 1}).MeanFloat64("bt", []float64{1}, []float64{0}); err == nil {
		t.Error("MeanFloat64 with weights summing to 0: no error")
	}
}

func TestAgreement(t *testing.T) {
	for _, c := range []struct{ h, want float64 }{{2, 1}, {1e-300, 1}, {0, 0.5}, {-0.1, 0}, {math.NaN(), 0}} {
		if got := Agreement(c.h); got != c.want {
			t.Errorf("Agreement(%v) got %v, want %v", c.h, got, c.want)
		}
	}
}

// The plain mean sums the softplus by products of blocks (SumSoftplusNeg);
// it must agree with the mean of the per-pair closed forms, and its
// gradient with theirs, at every size around the block lengths and far
// out where a factor rounds to 1.
func TestMeanUnweighted(t *testing.T) {
	const (
		tolMean64 = 3e-14 // relative, float64 (1.1e-15 measured, 1.1e-14 in the scalar build at n = 100,000)
		tolGrad64 = 1e-15 // relative to max(1, |g|)·β/n: σ is evaluated directly
		tolMean32 = 5e-5  // relative, float32: the scalar build sums in order (1.5e-5 measured at n = 20,000)
		tolGrad32 = 2e-6
	)
	be, err := backend.Get("")
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(19, 5))
	for _, n := range []int{1, 6, 63, 64, 65, 511, 512, 513, 1600, 20000} {
		hs := make([]float64, n)
		for i := range hs {
			hs[i] = 3 * r.NormFloat64()
		}
		if n >= 6 {
			copy(hs, []float64{-1000, 1000, 0, 40, -40, 745})
		}
		for _, l := range testLosses() {
			var sum neumaier
			wantG := make([]float64, n)
			for i, h := range hs {
				sum.add(closedLoss(l, h))
				wantG[i] = closedGrad(l, h) / float64(n)
			}
			want := sum.value() / float64(n)
			for _, dt := range []dtypes.DType{dtypes.Float64, dtypes.Float32} {
				tolM, tolG := tolMean64, tolGrad64
				if dt == dtypes.Float32 {
					tolM, tolG = tolMean32, tolGrad32
				}
				outs := graph.MustExecOnceN(be, func(h *graph.Node) (*graph.Node, *graph.Node) {
					h = graph.ConvertDType(h, dt)
					m := l.Mean(h, nil)
					return graph.ConvertDType(m, dtypes.Float64), graph.ConvertDType(graph.Gradient(m, h)[0], dtypes.Float64)
				}, hs)
				got := tensors.ToScalar[float64](outs[0])
				if math.Abs(got-want) > tolM*math.Abs(want) {
					t.Errorf("%s n=%d %+v: Mean got %v, want %v (rel. %.1e)", dt, n, l, got, want, math.Abs(got-want)/math.Abs(want))
				}
				g := tensors.MustCopyFlatData[float64](outs[1])
				for i := range hs {
					if math.Abs(g[i]-wantG[i]) > tolG*math.Max(1, math.Abs(wantG[i]*float64(n)))*l.Beta/float64(n)*4 {
						t.Errorf("%s n=%d %+v h=%v: gradient got %v, want %v", dt, n, l, hs[i], g[i], wantG[i])
						break
					}
				}
			}
		}
	}
}

// neumaier is compensated summation: the reference sums of thousands of
// terms must be exact to about one ulp, below the tolerances they check.
type neumaier struct{ s, c float64 }

func (k *neumaier) add(x float64) {
	t := k.s + x
	if math.Abs(k.s) >= math.Abs(x) {
		k.c += (k.s - t) + x
	} else {
		k.c += (x - t) + k.s
	}
	k.s = t
}

func (k *neumaier) value() float64 { return k.s + k.c }
