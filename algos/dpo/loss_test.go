package dpo

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/algos/backend"
	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// The closed forms below are written from the paper's formulas with log σ,
// independently of the implementation's softplus forms.

func logSigmoid(x float64) float64 { return -math.Log1p(math.Exp(-x)) }
func sigmoid(x float64) float64    { return 1 / (1 + math.Exp(-x)) }

func closedLoss(kind Kind, h, beta, eps float64) float64 {
	z := beta * h
	switch kind {
	case DPO:
		return -logSigmoid(z)
	case CDPO:
		return -(1-eps)*logSigmoid(z) - eps*logSigmoid(-z)
	case IPO:
		return (h - 1/(2*beta)) * (h - 1/(2*beta))
	case RDPO:
		return (-(1-eps)*logSigmoid(z) + eps*logSigmoid(-z)) / (1 - 2*eps)
	}
	panic(kind)
}

// closedGrad is dℓ/dh, from d/dx log σ(x) = σ(−x).
func closedGrad(kind Kind, h, beta, eps float64) float64 {
	z := beta * h
	switch kind {
	case DPO:
		return -beta * sigmoid(-z)
	case CDPO:
		return -(1-eps)*beta*sigmoid(-z) + eps*beta*sigmoid(z)
	case IPO:
		return 2 * (h - 1/(2*beta))
	case RDPO:
		return (-(1-eps)*beta*sigmoid(-z) - eps*beta*sigmoid(z)) / (1 - 2*eps)
	}
	panic(kind)
}

// closedCurvature is d²ℓ/dh²: β²σ(z)σ(−z) for the logistic losses (for
// rDPO times (1−2ε)/(1−2ε) = 1), 2 for IPO.
func closedCurvature(kind Kind, h, beta float64) float64 {
	if kind == IPO {
		return 2
	}
	z := beta * h
	return beta * beta * sigmoid(z) * sigmoid(-z)
}

var (
	testHs    = []float64{-3, -0.7, 0, 0.25, 1.5, 4}
	testBetas = []float64{0.1, 1, 2.5}
	testEps   = []float64{0, 0.1, 0.3, 0.45}
)

func testBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := backend.Get("")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// graphLossAndGrad evaluates PairLosses and its autodiff gradient at hs.
func graphLossAndGrad(t *testing.T, kind Kind, hs []float64, beta, eps float64) (loss, grad []float64) {
	t.Helper()
	outs := MustExecOnceN(testBackend(t), func(h *Node) (*Node, *Node) {
		l := PairLosses(kind, h, beta, eps)
		return l, Gradient(ReduceAllSum(l), h)[0]
	}, hs)
	return tensors.MustCopyFlatData[float64](outs[0]), tensors.MustCopyFlatData[float64](outs[1])
}

func TestPairLossesClosedForm(t *testing.T) {
	const tol = 1e-12
	for _, kind := range Kinds {
		for _, beta := range testBetas {
			for _, eps := range testEps {
				loss, grad := graphLossAndGrad(t, kind, testHs, beta, eps)
				for i, h := range testHs {
					want := closedLoss(kind, h, beta, eps)
					if got := PairLossFloat64(kind, h, beta, eps); math.Abs(got-want) > tol*(1+math.Abs(want)) {
						t.Errorf("%s β=%v ε=%v h=%v: PairLossFloat64 got %v, want %v", kind, beta, eps, h, got, want)
					}
					if got := loss[i]; math.Abs(got-want) > tol*(1+math.Abs(want)) {
						t.Errorf("%s β=%v ε=%v h=%v: PairLosses got %v, want %v", kind, beta, eps, h, got, want)
					}
					wantG := closedGrad(kind, h, beta, eps)
					if got := grad[i]; math.Abs(got-wantG) > tol*(1+math.Abs(wantG)) {
						t.Errorf("%s β=%v ε=%v h=%v: autodiff dℓ/dh got %v, want %v", kind, beta, eps, h, got, wantG)
					}
				}
			}
		}
	}
}

// The softplus form stays finite far out, where log σ underflows.
func TestPairLossesStable(t *testing.T) {
	const tol = 1e-12
	hs := []float64{-1000, 1000}
	loss, grad := graphLossAndGrad(t, RDPO, hs, 1, 0.2)
	c := 0.2 / (1 - 2*0.2)
	for i, want := range []float64{1000 + c*1000, -c * 1000} { // −log σ(z) → max(−z, 0)
		if math.Abs(loss[i]-want) > tol*math.Abs(want) {
			t.Errorf("h=%v: loss got %v, want %v", hs[i], loss[i], want)
		}
	}
	for i, want := range []float64{-1 - c, -c} {
		if math.Abs(grad[i]-want) > tol {
			t.Errorf("h=%v: gradient got %v, want %v", hs[i], grad[i], want)
		}
	}
}

// rDPO is unbiased: if the label is flipped with probability ε (h → −h),
// the expected rDPO loss is the clean DPO loss, and so is its gradient.
func TestRDPOUnbiased(t *testing.T) {
	const tol = 1e-12
	for _, beta := range testBetas {
		for _, eps := range testEps {
			neg := make([]float64, len(testHs))
			for i, h := range testHs {
				neg[i] = -h
			}
			loss, grad := graphLossAndGrad(t, RDPO, testHs, beta, eps)
			lossF, gradF := graphLossAndGrad(t, RDPO, neg, beta, eps)
			clean, cleanG := graphLossAndGrad(t, DPO, testHs, beta, 0)
			for i, h := range testHs {
				if got := (1-eps)*loss[i] + eps*lossF[i]; math.Abs(got-clean[i]) > tol*(1+clean[i]) {
					t.Errorf("β=%v ε=%v h=%v: E rDPO = %v, want DPO %v", beta, eps, h, got, clean[i])
				}
				// d/dh of rdpo(−h) is −rdpo'(−h).
				if got := (1-eps)*grad[i] - eps*gradF[i]; math.Abs(got-cleanG[i]) > tol {
					t.Errorf("β=%v ε=%v h=%v: E ∇rDPO = %v, want ∇DPO %v", beta, eps, h, got, cleanG[i])
				}
				f := (1-eps)*PairLossFloat64(RDPO, h, beta, eps) + eps*PairLossFloat64(RDPO, -h, beta, eps)
				if want := PairLossFloat64(DPO, h, beta, 0); math.Abs(f-want) > tol*(1+want) {
					t.Errorf("β=%v ε=%v h=%v: float64 E rDPO = %v, want %v", beta, eps, h, f, want)
				}
			}
		}
	}
}

// At ε = 0 the three logistic losses are the same function, bit for bit.
func TestEpsilonZero(t *testing.T) {
	for _, beta := range testBetas {
		dpo, dpoG := graphLossAndGrad(t, DPO, testHs, beta, 0)
		for _, kind := range []Kind{CDPO, RDPO} {
			l, g := graphLossAndGrad(t, kind, testHs, beta, 0)
			for i, h := range testHs {
				if l[i] != dpo[i] || g[i] != dpoG[i] {
					t.Errorf("%s β=%v h=%v: got (%v, %v), want DPO's (%v, %v)", kind, beta, h, l[i], g[i], dpo[i], dpoG[i])
				}
				if a, b := PairLossFloat64(kind, h, beta, 0), PairLossFloat64(DPO, h, beta, 0); a != b {
					t.Errorf("%s β=%v h=%v: float64 got %v, want %v", kind, beta, h, a, b)
				}
			}
		}
	}
}

// IPO's minimum is at h = 1/(2β), where it is 0, with curvature 2.
func TestIPOClosedForm(t *testing.T) {
	const tol = 1e-15
	for _, beta := range testBetas {
		h0 := 1 / (2 * beta)
		if got := PairLossFloat64(IPO, h0, beta, 0); got != 0 {
			t.Errorf("β=%v: loss at 1/(2β) got %v, want 0", beta, got)
		}
		if got := PairLossFloat64(IPO, h0+1, beta, 0); math.Abs(got-1) > tol {
			t.Errorf("β=%v: loss at 1/(2β)+1 got %v, want 1", beta, got)
		}
		_, g := graphLossAndGrad(t, IPO, []float64{h0, 0}, beta, 0)
		if g[0] != 0 || math.Abs(g[1]+1/beta) > tol {
			t.Errorf("β=%v: gradients at 1/(2β) and 0 got %v, want [0 %v]", beta, g, -1/beta)
		}
	}
}

// Loss is the weighted mean Σ w ℓ / Σ w, and its gradient in w_i is
// (ℓ_i − L)/Σ w, the quantity a reweighting scheme follows.
func TestLossWeights(t *testing.T) {
	const tol = 1e-12
	hs := []float64{-1, 0.5, 2, 3}
	ws := []float64{0.5, 1, 2, 0.25}
	for _, kind := range Kinds {
		beta, eps := 1.5, 0.2
		wsum, want := 0.0, 0.0
		for i, h := range hs {
			want += ws[i] * closedLoss(kind, h, beta, eps)
			wsum += ws[i]
		}
		want /= wsum
		outs := MustExecOnceN(testBackend(t), func(h, w *Node) (*Node, *Node, *Node) {
			l := Loss(kind, h, beta, eps, w)
			gr := Gradient(l, h, w)
			return l, gr[0], gr[1]
		}, hs, ws)
		if got := tensors.ToScalar[float64](outs[0]); math.Abs(got-want) > tol {
			t.Errorf("%s: Loss got %v, want %v", kind, got, want)
		}
		gh, gw := tensors.MustCopyFlatData[float64](outs[1]), tensors.MustCopyFlatData[float64](outs[2])
		for i, h := range hs {
			if w := ws[i] / wsum * closedGrad(kind, h, beta, eps); math.Abs(gh[i]-w) > tol {
				t.Errorf("%s: ∂L/∂h[%d] got %v, want %v", kind, i, gh[i], w)
			}
			if w := (closedLoss(kind, h, beta, eps) - want) / wsum; math.Abs(gw[i]-w) > tol {
				t.Errorf("%s: ∂L/∂w[%d] got %v, want %v", kind, i, gw[i], w)
			}
		}
		got, err := LossFloat64(kind, hs, beta, eps, ws)
		if err != nil || math.Abs(got-want) > tol {
			t.Errorf("%s: LossFloat64 got %v, %v, want %v", kind, got, err, want)
		}
		plain := MustExecOnce(testBackend(t), func(h *Node) *Node { return Loss(kind, h, beta, eps, nil) }, hs)
		mean, _ := LossFloat64(kind, hs, beta, eps, nil)
		if got := tensors.ToScalar[float64](plain); math.Abs(got-mean) > tol {
			t.Errorf("%s: unweighted Loss got %v, want %v", kind, got, mean)
		}
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		kind      Kind
		beta, eps float64
		want      string
	}{
		{RDPO, 1, 0.5, "dpo: epsilon must be in [0, 0.5), got 0.5"},
		{RDPO, 1, 0.7, "dpo: epsilon must be in [0, 0.5), got 0.7"},
		{CDPO, 1, -0.1, "dpo: epsilon must be in [0, 0.5), got -0.1"},
		{RDPO, 1, math.NaN(), "dpo: epsilon must be in [0, 0.5), got NaN"},
		{DPO, 0, 0, "dpo: beta must be finite and > 0, got 0"},
		{"kto", 1, 0, `dpo: unknown loss "kto" (known: dpo, cdpo, ipo, rdpo)`},
	} {
		err := Check(tc.kind, tc.beta, tc.eps)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Check(%s, %v, %v): got %v, want %q", tc.kind, tc.beta, tc.eps, err, tc.want)
		}
	}
	if err := Check(RDPO, 1, 0.499); err != nil {
		t.Errorf("ε = 0.499: got %v, want nil", err)
	}
	// Graph building refuses with the same error.
	_, err := ExecOnce(testBackend(t), func(h *Node) *Node { return Loss(RDPO, h, 1, 0.5, nil) }, []float64{1})
	if err == nil || !errorContains(err, "dpo: epsilon must be in [0, 0.5), got 0.5") {
		t.Errorf("graph Loss at ε = 0.5: got %v", err)
	}
	if _, err := LossFloat64(RDPO, []float64{1}, 1, 0.6, nil); err == nil || err.Error() != "dpo: epsilon must be in [0, 0.5), got 0.6" {
		t.Errorf("LossFloat64 at ε = 0.6: got %v", err)
	}
}

func errorContains(err error, s string) bool {
	for ; err != nil; err = errors.Unwrap(err) {
		if strings.Contains(err.Error(), s) {
			return true
		}
	}
	return false
}

func ExamplePairLossFloat64() {
	// With labels flipped at rate ε, the rDPO loss is unbiased for the clean
	// DPO loss: (1−ε)·ℓ(h) + ε·ℓ(−h) = −log σ(βh).
	beta, eps, h := 1.0, 0.3, 0.8
	robust := (1-eps)*PairLossFloat64(RDPO, h, beta, eps) + eps*PairLossFloat64(RDPO, -h, beta, eps)
	fmt.Printf("E rdpo = %.6f\n", robust)
	fmt.Printf("dpo    = %.6f\n", PairLossFloat64(DPO, h, beta, 0))
	// Output:
	// E rdpo = 0.371101
	// dpo    = 0.371101
}

func ExampleLossFloat64() {
	h := []float64{1.2, -0.4, 0.3}
	for _, kind := range Kinds {
		l, err := LossFloat64(kind, h, 1, 0.1, nil)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%-4s %.4f\n", kind, l)
	}
	_, err := LossFloat64(RDPO, h, 1, 0.5, nil)
	fmt.Println(err)
	// Output:
	// dpo  0.5769
	// cdpo 0.6136
	// ipo  0.4467
	// rdpo 0.5311
	// dpo: epsilon must be in [0, 0.5), got 0.5
}
