package tdpo

import (
	"context"
	"math"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/alignlab/alignlab/algos/backend"
	"github.com/alignlab/alignlab/algos/pairloss"
)

// The expected values below are written from the paper's formulas with
// log σ, independently of the implementation's softplus form.

func logSigmoid(z float64) float64 { return -math.Log1p(math.Exp(-z)) }
func sig(z float64) float64        { return 1 / (1 + math.Exp(-z)) }

// paperLoss is the paper's loss, term by term; TDPO2's value does not
// depend on the stop-gradient.
func paperLoss(kind Kind, uw, ul, dw, dl, beta, alpha float64) float64 {
	switch kind {
	case DPO:
		return -logSigmoid(beta * (uw - ul))
	case TDPO1:
		return -logSigmoid(beta * ((uw - ul) - (dl - dw)))
	case TDPO2:
		return -logSigmoid(beta * ((uw - ul) - alpha*(dl-dw)))
	}
	panic(kind)
}

func testBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := backend.Get("")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lossCases are (u_w, u_l, δ_w, δ_l) with δ ≥ 0, including large margins
// where log σ underflows in the naive form.
var lossCases = [][4]float64{
	{0, 0, 0, 0}, {0.3, -0.2, 0.05, 0.4}, {-1.5, 0.7, 2, 0.1}, {4, -3, 0.5, 6}, {250, -250, 1, 3}, {-300, 200, 0, 9},
}

func TestPairLossesFormula(t *testing.T) {
	const tol = 1e-12
	for _, kind := range Kinds {
		for _, beta := range []float64{0.1, 1, 3} {
			for _, alpha := range []float64{0, 0.5, 2} {
				for _, c := range lossCases {
					want := paperLoss(kind, c[0], c[1], c[2], c[3], beta, alpha)
					if math.IsInf(want, 1) { // the naive form overflows: −log σ(z) → −z
						want = -logitFloat64(kind, c[0], c[1], c[2], c[3], beta, alpha)
					}
					got := PairLossFloat64(kind, c[0], c[1], c[2], c[3], beta, alpha)
					if math.Abs(got-want) > tol*(1+math.Abs(want)) {
						t.Errorf("%s β=%v α=%v %v: PairLossFloat64 got %v, want %v", kind, beta, alpha, c, got, want)
					}
					out := MustExecOnceN(testBackend(t), func(uw, ul, dw, dl *Node) *Node {
						return PairLosses(kind, uw, ul, dw, dl, beta, alpha)
					}, c[0], c[1], c[2], c[3])
					if g := tensors.ToScalar[float64](out[0]); math.Abs(g-want) > tol*(1+math.Abs(want)) {
						t.Errorf("%s β=%v α=%v %v: PairLosses got %v, want %v", kind, beta, alpha, c, g, want)
					}
				}
			}
		}
	}
}

// The gradient of TDPO2 with respect to δ_w is zero (stop-gradient), while
// TDPO1's is −βσ(−z); the other partial derivatives follow the chain rule
// ∂ℓ/∂z = −σ(−z).
func TestPairLossGradients(t *testing.T) {
	const tol = 1e-12
	beta, alpha := 0.7, 0.5
	for _, kind := range Kinds {
		for _, c := range lossCases[:4] {
			out := MustExecOnceN(testBackend(t), func(uw, ul, dw, dl *Node) []*Node {
				return Gradient(PairLosses(kind, uw, ul, dw, dl, beta, alpha), uw, ul, dw, dl)
			}, c[0], c[1], c[2], c[3])
			s := sig(-logitFloat64(kind, c[0], c[1], c[2], c[3], beta, alpha)) // σ(−z)
			var wantDW, wantDL float64
			switch kind {
			case TDPO1:
				wantDW, wantDL = -beta*s, beta*s
			case TDPO2:
				wantDW, wantDL = 0, alpha*beta*s
			}
			want := []float64{-beta * s, beta * s, wantDW, wantDL}
			for i, name := range []string{"u_w", "u_l", "δ_w", "δ_l"} {
				if got := tensors.ToScalar[float64](out[i]); math.Abs(got-want[i]) > tol {
					t.Errorf("%s %v: ∂ℓ/∂%s got %v, want %v", kind, c, name, got, want[i])
				}
			}
		}
	}
}

// tinyTables are the policy and reference logits of a tabular model with
// P = 1, V = 2, T = 2: rows are the previous token 0, 1, then the begin token.
var (
	tinyPolicy = []float64{0.5, -0.5, 0, 1, 1, 0}
	tinyRef    = []float64{0, 0, 0.3, 0, -0.2, 0.2}
)

// tinyTask is a hand-made task on the tiny tables with one pair,
// y_w = (0, 1) and y_l = (1, 1), and the policy set to tinyPolicy.
func tinyTask(t *testing.T) (*Task, Spec) {
	t.Helper()
	s := Spec{Prompts: 1, Vocab: 2, Length: 2, Arch: ArchTabular}
	ref, err := NewNet(s, map[string][]float64{"table": tinyRef}, "")
	if err != nil {
		t.Fatal(err)
	}
	task := &Task{Config: TaskConfig{Spec: s}, Reward: []float64{1, -0.5}, Ref: ref,
		Pairs: []Pair{{Prompt: 0, Chosen: []int{0, 1}, Rejected: []int{1, 1}}}, refTable: logSoftmaxRows(tinyRef, 2)}
	pp, seqs := task.pairSequences()
	if task.refLogp, err = ref.LogProbs(pp, seqs); err != nil {
		t.Fatal(err)
	}
	return task, s
}

// handLogSoftmax is log softmax of two logits, written out.
func handLogSoftmax(a, b float64) [2]float64 {
	z := math.Log(math.Exp(a) + math.Exp(b))
	return [2]float64{a - z, b - z}
}

// TestTinyTabularHandComputed checks the loss of every kind, as the
// training executable computes it through the tabular model, against u
// and δ computed by hand from the logits tables.
func TestTinyTabularHandComputed(t *testing.T) {
	const tol = 1e-12
	row := func(tab []float64, prev int) [2]float64 { return handLogSoftmax(tab[2*prev], tab[2*prev+1]) }
	const bos = 2
	// u and SeqKL of y = (y0, y1): conditionals at the begin token, then at y0.
	stats := func(y [2]int) (u, d float64) {
		for t, prev := range []int{bos, y[0]} {
			p, q := row(tinyPolicy, prev), row(tinyRef, prev)
			u += p[y[t]] - q[y[t]]
			for v := range 2 {
				d += math.Exp(q[v]) * (q[v] - p[v])
			}
		}
		return u, d
	}
	uw, dw := stats([2]int{0, 1})
	ul, dl := stats([2]int{1, 1})
	for _, kind := range Kinds {
		beta, alpha := 0.5, 0.5
		task, _ := tinyTask(t)
		tr, err := NewTrainer(task, Config{Loss: kind, Beta: beta, Alpha: alpha, LearningRate: 0.1, Steps: 1, EvalEvery: 1, KLSamples: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Policy.SetWeights(map[string][]float64{"table": tinyPolicy}); err != nil {
			t.Fatal(err)
		}
		m, err := tr.Evaluate()
		if err != nil {
			t.Fatal(err)
		}
		want := paperLoss(kind, uw, ul, dw, dl, beta, alpha)
		if math.Abs(m.Loss-want) > tol {
			t.Errorf("%s: Evaluate loss got %v, want %v", kind, m.Loss, want)
		}
		if math.Abs(m.SeqKLChosen-dw) > tol || math.Abs(m.SeqKLRejected-dl) > tol {
			t.Errorf("%s: SeqKL got (%v, %v), want (%v, %v)", kind, m.SeqKLChosen, m.SeqKLRejected, dw, dl)
		}
		out, err := tr.train.Exec(tr.full...) // the graph's loss, before its update
		if err != nil {
			t.Fatal(err)
		}
		if got := tensors.ToScalar[float64](out[0]); math.Abs(got-want) > tol {
			t.Errorf("%s: training graph loss got %v, want %v", kind, got, want)
		}
	}
	// The hand computation itself, checked against NumPy (log_softmax of
	// the same tables) to 5 digits.
	if math.Abs(uw+0.02036) > 1e-5 || math.Abs(dl-0.44409) > 1e-5 {
		t.Errorf("hand values moved: u_w = %.5f, δ_l = %.5f", uw, dl)
	}
}

// TestTDPO2StopGradientThroughModel differentiates the TDPO2 loss with
// respect to the policy's logits table: the gradient must equal that of
// the same loss with δ_w fed in as a constant (its value), and differ from
// the loss without the stop-gradient — so no gradient flows through δ_w.
func TestTDPO2StopGradientThroughModel(t *testing.T) {
	const tol = 1e-12
	task, s := tinyTask(t)
	policy, err := NewNet(s, map[string][]float64{"table": tinyPolicy}, "")
	if err != nil {
		t.Fatal(err)
	}
	be := testBackend(t)
	beta, alpha := 0.5, 0.5
	pp, seqs := task.pairSequences()
	p32, prev := contextInputs(s, pp, seqs)
	in := []any{p32, prev, targets(seqs, 2, s.Length), tensors.FromFlatDataAndDimensions(task.refLogp, 2, s.Length, s.Vocab)}
	// grads returns ∂loss/∂table for a loss built from u and δ ([2]: chosen, rejected).
	grads := func(loss func(u, d, dwConst *Node) *Node, dwValue float64) []float64 {
		exec, err := model.NewExec(be, policy.store, func(scope *model.Scope, xs []*Node) *Node {
			g := xs[0].Graph()
			scope.SetTraining(g, true)
			u, d := sequenceStats(scope, s, xs[0], xs[1], xs[2], xs[3])
			l := loss(u, d, Scalar(g, u.DType(), dwValue))
			return Gradient(l, scope.GetVariable("table").NodeValue(g))[0]
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Exec(in...)
		if err != nil {
			t.Fatal(err)
		}
		return tensors.MustCopyFlatData[float64](out[0])
	}
	elem := func(x *Node, i int) *Node { return Reshape(Slice(x, AxisElem(i)), 1) }
	tdpo2 := grads(func(u, d, _ *Node) *Node {
		return ReduceAllSum(PairLosses(TDPO2, elem(u, 0), elem(u, 1), elem(d, 0), elem(d, 1), beta, alpha))
	}, 0)
	_, dw := sequenceStatsFloat(t, policy, task)
	constant := grads(func(u, d, dwc *Node) *Node {
		z := MulScalar(Sub(Sub(elem(u, 0), elem(u, 1)), MulScalar(Sub(elem(d, 1), Reshape(dwc, 1)), alpha)), beta)
		return ReduceAllSum(pairloss.SoftplusNeg(z))
	}, dw)
	noStop := grads(func(u, d, _ *Node) *Node {
		z := MulScalar(Sub(Sub(elem(u, 0), elem(u, 1)), MulScalar(Sub(elem(d, 1), elem(d, 0)), alpha)), beta)
		return ReduceAllSum(pairloss.SoftplusNeg(z))
	}, 0)
	differs := false
	for i := range tdpo2 {
		if math.Abs(tdpo2[i]-constant[i]) > tol {
			t.Errorf("∂ℓ/∂table[%d]: TDPO2 got %v, with δ_w constant %v", i, tdpo2[i], constant[i])
		}
		if math.Abs(tdpo2[i]-noStop[i]) > 1e-6 {
			differs = true
		}
	}
	if !differs {
		t.Errorf("the gradient without stop-gradient equals TDPO2's %v: the test cannot see δ_w's gradient", tdpo2)
	}
}

// sequenceStatsFloat returns the chosen response's u and δ under policy.
func sequenceStatsFloat(t *testing.T, policy *Net, task *Task) (u, d float64) {
	t.Helper()
	tr, err := NewTrainer(task, Config{Loss: DPO, Beta: 1, LearningRate: 1, Steps: 1, EvalEvery: 1, KLSamples: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Policy.SetWeights(policy.Weights()); err != nil {
		t.Fatal(err)
	}
	out, err := tr.eval.Exec(tr.full...)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float64](out[0])[0], tensors.MustCopyFlatData[float64](out[1])[0]
}

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		kind        Kind
		beta, alpha float64
		ok          bool
	}{
		{TDPO2, 0.1, 0.5, true}, {DPO, 1, 0, true}, {"ipo", 0.1, 0.5, false},
		{TDPO1, 0, 0.5, false}, {TDPO1, math.Inf(1), 0.5, false}, {TDPO2, 0.1, -1, false}, {TDPO2, 0.1, math.NaN(), false},
	} {
		if err := Check(c.kind, c.beta, c.alpha); (err == nil) != c.ok {
			t.Errorf("Check(%q, %v, %v) = %v, want ok %v", c.kind, c.beta, c.alpha, err, c.ok)
		}
	}
	if _, err := Train(context.Background(), nil, DefaultConfig(TDPO2), nil, nil); err == nil {
		t.Error("Train on a nil task: got no error")
	}
}
