package bilevel

import (
	"fmt"
	"math"
	"math/rand/v2"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/alignlab/alignlab/algos/pairloss"
)

// The inner models (ParamModel).
const (
	ModelLogistic = "logistic" // z = w·x + b, ℓ = −[y log σ(z) + (1−y) log σ(−z)]
	ModelMLP      = "mlp"      // z = v·tanh(Wx + c) + b, the same ℓ
	ModelDPO      = "dpo"      // h = θ·Δφ, ℓ = −log σ(βh) (pairloss.Logistic, DPO's loss)
)

// Models lists the inner models.
var Models = []string{ModelLogistic, ModelMLP, ModelDPO}

// learner is an inner model: the shapes of its parameters and its
// per-example loss as a graph function. Every trainer keeps one copy of the
// parameters per scope (w, u).
type learner struct {
	kind   string
	dim    int
	hidden int     // MLP units
	beta   float64 // DPO's β
}

func (m learner) check(kind string) error {
	switch m.kind {
	case ModelLogistic, ModelMLP:
		if kind != KindClassification {
			return fmt.Errorf("bilevel: model %s needs classification data, got %s data (use model %s)", m.kind, kind, ModelDPO)
		}
		if m.kind == ModelMLP && m.hidden < 1 {
			return fmt.Errorf("bilevel: the MLP needs ≥ 1 hidden unit, got %d", m.hidden)
		}
	case ModelDPO:
		if kind != KindPreference {
			return fmt.Errorf("bilevel: model %s needs preference pairs, got %s data", ModelDPO, kind)
		}
		if err := m.pairLoss().Check("bilevel"); err != nil {
			return err
		}
	default:
		return fmt.Errorf("bilevel: unknown model %q (known: %s, %s, %s)", m.kind, ModelLogistic, ModelMLP, ModelDPO)
	}
	return nil
}

// param is one named parameter tensor of a learner.
type param struct {
	name string
	dims []int
	init []float64
}

// params returns the learner's parameters at their initial values: zero
// for the linear models (the logistic model starts at σ = ½, the DPO policy
// at π_ref), and for the MLP N(0, 1/d) hidden weights with zero biases and a
// zero output layer (so it also starts at σ = ½). Draws come from r.
func (m learner) params(r *rand.Rand) []param {
	switch m.kind {
	case ModelLogistic:
		return []param{{"w", []int{m.dim}, make([]float64, m.dim)}, {"b", nil, []float64{0}}}
	case ModelMLP:
		w := make([]float64, m.hidden*m.dim)
		sd := 1 / math.Sqrt(float64(m.dim))
		for i := range w {
			w[i] = r.NormFloat64() * sd
		}
		return []param{
			{"hidden_w", []int{m.hidden, m.dim}, w}, // [out, in]: the contraction is over the last axis
			{"hidden_b", []int{m.hidden}, make([]float64, m.hidden)},
			{"out_w", []int{m.hidden}, make([]float64, m.hidden)},
			{"out_b", nil, []float64{0}},
		}
	}
	return []param{{"theta", []int{m.dim}, make([]float64, m.dim)}}
}

// createParams makes the variables of ps in scope.
func createParams(scope *model.Scope, ps []param) error {
	for _, p := range ps {
		t := tensors.FromFlatDataAndDimensions(append([]float64(nil), p.init...), p.dims...)
		if _, err := scope.CreateVariable(p.name, t); err != nil {
			return fmt.Errorf("bilevel: %w", err)
		}
	}
	return nil
}

// scores returns z (the logit of y = 1), or h (the implicit reward margin)
// for DPO, of every row of x [N, d], from the parameters in scope.
func (m learner) scores(scope *model.Scope, x *Node) *Node {
	g := x.Graph()
	v := func(name string) *Node { return scope.GetVariable(name).NodeValue(g) }
	switch m.kind {
	case ModelLogistic:
		return addScalar(Dot(x, v("w")).Product(), v("b"))
	case ModelMLP:
		h := Tanh(Add(Einsum("nd,hd->nh", x, v("hidden_w")), ExpandLeftToRank(v("hidden_b"), 2)))
		return addScalar(Dot(h, v("out_w")).Product(), v("out_b"))
	}
	return Dot(x, v("theta")).Product()
}

// addScalar adds the scalar node s to every element of x.
func addScalar(x, s *Node) *Node { return Add(x, BroadcastToShape(s, x.Shape())) }

// pairLoss is DPO's pair loss −log σ(βh).
func (m learner) pairLoss() pairloss.Loss {
	return pairloss.Loss{Kind: pairloss.Logistic, Beta: m.beta}
}

// losses returns the per-example loss ℓ_i of scores z with labels y.
// Classification: the logistic loss softplus(z) − y·z (= −log σ(z) for
// y = 1, −log σ(−z) for y = 0), a loss per example, not per pair, written
// with GoMLX's Softplus. DPO: the pair loss −log σ(βh), whose labels are
// all 1.
func (m learner) losses(z, y *Node) *Node {
	if m.kind == ModelDPO {
		return m.pairLoss().Pairs(z)
	}
	return Sub(Softplus(z), Mul(y, z))
}

// accuracy returns the fraction of examples whose score has the label's
// sign, ties counting ½.
func accuracy(z, y *Node) *Node {
	pos := ConvertDType(GreaterThan(z, ZerosLike(z)), z.DType())
	tie := ConvertDType(Equal(z, ZerosLike(z)), z.DType())
	pred := Add(pos, MulScalar(tie, 0.5))
	// Agreement with y ∈ {0, 1}: pred·y + (1 − pred)(1 − y).
	agree := Add(Mul(pred, y), Mul(OneMinus(pred), OneMinus(y)))
	return ReduceAllMean(agree)
}
