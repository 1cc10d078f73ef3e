package decoder

import (
	"math/rand/v2"
	"testing"

	"github.com/alignlab/alignlab/algos/backend"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers/attention/pos"
)

// rope gives pos.RoPE's values and gradients bit for bit, in float32 and
// float64, at position offsets as a KV cache would pass them; inputs of
// other layouts fall back to pos.RoPE.
func TestRoPEIsZooRoPE(t *testing.T) {
	be, err := backend.Get("")
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	const B, L, H, Dh = 3, 7, 2, 8
	xs := make([]float64, B*L*H*Dh)
	ws := make([]float64, len(xs))
	for i := range xs {
		xs[i], ws[i] = 2*r.NormFloat64(), r.NormFloat64()
	}
	for _, dt := range []dtypes.DType{dtypes.Float32, dtypes.Float64} {
		for _, offset := range []int32{0, 5} {
			run := func(enc pos.QKEncoder) [][]float64 {
				outs := MustExecOnceN(be, func(x, w *Node) []*Node {
					x = ConvertDType(Reshape(x, B, L, H, Dh), dt)
					w = ConvertDType(Reshape(w, B, L, H, Dh), dt)
					p := AddScalar(Iota(x.Graph(), shapes.Make(dtypes.Int32, L), 0), float64(offset))
					q, k := enc.EncodeQK(x, MulScalar(x, 0.5), p, 1)
					loss := ReduceAllSum(Mul(Add(q, k), w))
					return []*Node{ConvertDType(q, dtypes.Float64), ConvertDType(k, dtypes.Float64),
						ConvertDType(Gradient(loss, x)[0], dtypes.Float64)}
				}, xs, ws)
				res := make([][]float64, len(outs))
				for i, o := range outs {
					res[i] = tensors.MustCopyFlatData[float64](o)
				}
				return res
			}
			got, want := run(newRoPE(10000)), run(pos.NewRoPE(10000))
			for i, name := range []string{"q", "k", "gradient"} {
				for j := range want[i] {
					if got[i][j] != want[i][j] {
						t.Errorf("%s offset %d: %s[%d] = %v, pos.RoPE gives %v", dt, offset, name, j, got[i][j], want[i][j])
						break
					}
				}
			}
		}
	}
}
