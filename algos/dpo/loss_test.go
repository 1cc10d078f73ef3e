package dpo

import (
	"fmt"
	"math"
	"testing"

	"github.com/alignlab/alignlab/algos/backend"
	"github.com/alignlab/alignlab/algos/pairloss"
	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// The closed forms below are written from the paper's formulas with log σ,
// independently of the implementation's softplus forms.

func logSigmoid(x float64) float64 { return -math.Log1p(math.Exp(-x)) }

var sigmoid = pairloss.Sigmoid

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

// graphLossAndGrad evaluates kind's pair loss and its autodiff gradient at hs.
func graphLossAndGrad(t *testing.T, kind Kind, hs []float64, beta, eps float64) (loss, grad []float64) {
	t.Helper()
	outs := MustExecOnceN(testBackend(t), func(h *Node) (*Node, *Node) {
		l := kind.PairLoss(beta, eps).Pairs(h)
		return l, Gradient(ReduceAllSum(l), h)[0]
	}, hs)
	return tensors.MustCopyFlatData[float64](outs[0]), tensors.MustCopyFlatData[float64](outs[1])
}

// Each of the family's names maps to the pairloss loss with the paper's
// formula: values and autodiff gradients against the closed forms (IPO's
// margin 1/(2β) included).
func TestPairLossClosedForm(t *testing.T) {
	const tol = 1e-12
	for _, kind := range Kinds {
		for _, beta := range testBetas {
			for _, eps := range testEps {
				loss, grad := graphLossAndGrad(t, kind, testHs, beta, eps)
				for i, h := range testHs {
					want := closedLoss(kind, h, beta, eps)
					if got := kind.PairLoss(beta, eps).Float64(h); math.Abs(got-want) > tol*(1+math.Abs(want)) {
						t.Errorf("%s β=%v ε=%v h=%v: Float64 got %v, want %v", kind, beta, eps, h, got, want)
					}
					if got := loss[i]; math.Abs(got-want) > tol*(1+math.Abs(want)) {
						t.Errorf("%s β=%v ε=%v h=%v: Pairs got %v, want %v", kind, beta, eps, h, got, want)
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

// The family's names and error messages: unknown names list dpo's names;
// invalid constants fail with the dpo prefix.
func TestCheckLoss(t *testing.T) {
	for _, tc := range []struct {
		kind      Kind
		beta, eps float64
		want      string
	}{
		{RDPO, 1, 0.5, "dpo: epsilon must be in [0, 0.5), got 0.5"},
		{RDPO, 1, 0.7, "dpo: epsilon must be in [0, 0.5), got 0.7"},
		{CDPO, 1, -0.1, "dpo: epsilon must be in [0, 0.5), got -0.1"},
		{IPO, 1, math.NaN(), "dpo: epsilon must be in [0, 0.5), got NaN"},
		{DPO, 0, 0, "dpo: beta must be finite and > 0, got 0"},
		{"kto", 1, 0, `dpo: unknown loss "kto" (known: dpo, cdpo, ipo, rdpo)`},
		{"logistic", 1, 0, `dpo: unknown loss "logistic" (known: dpo, cdpo, ipo, rdpo)`},
	} {
		err := checkLoss(tc.kind, tc.beta, tc.eps)
		if err == nil || err.Error() != tc.want {
			t.Errorf("checkLoss(%s, %v, %v): got %v, want %q", tc.kind, tc.beta, tc.eps, err, tc.want)
		}
	}
	if err := checkLoss(RDPO, 1, 0.499); err != nil {
		t.Errorf("ε = 0.499: got %v, want nil", err)
	}
	// A bad config fails before any graph is built.
	cfg := DefaultConfig(RDPO)
	cfg.Epsilon = 0.5
	if _, err := NewTrainer(planted(t, 10, 0, 1), cfg, nil); err == nil || err.Error() != "dpo: epsilon must be in [0, 0.5), got 0.5" {
		t.Errorf("NewTrainer at ε = 0.5: got %v", err)
	}
}

func ExampleKind_PairLoss() {
	// With labels flipped at rate ε, the rDPO loss is unbiased for the clean
	// DPO loss: (1−ε)·ℓ(h) + ε·ℓ(−h) = −log σ(βh).
	beta, eps, h := 1.0, 0.3, 0.8
	rdpo := RDPO.PairLoss(beta, eps)
	fmt.Printf("E rdpo = %.6f\n", (1-eps)*rdpo.Float64(h)+eps*rdpo.Float64(-h))
	fmt.Printf("dpo    = %.6f\n", DPO.PairLoss(beta, 0).Float64(h))

	// The mean loss of three pairs under each of the family's names.
	hs := []float64{1.2, -0.4, 0.3}
	for _, kind := range Kinds {
		l, err := kind.PairLoss(1, 0.1).MeanFloat64("dpo", hs, nil)
		if err != nil {
			panic(err)
		}
		fmt.Printf("%-4s %.4f\n", kind, l)
	}
	// Output:
	// E rdpo = 0.371101
	// dpo    = 0.371101
	// dpo  0.5769
	// cdpo 0.6136
	// ipo  0.4467
	// rdpo 0.5311
}
