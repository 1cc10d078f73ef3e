package dpo

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/internal/modeltest"
	"github.com/alignlab/alignlab/kernel"
	"github.com/gomlx/compute/dtypes"
)

// withParams returns a copy of base with the pairs of kv set.
func withParams(base map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// quickMLP returns the quick params of id with the MLP policy and dtype.
func quickMLP(t *testing.T, id, dtype string) map[string]any {
	t.Helper()
	q, ok := kernel.QuickParams(id)
	if !ok {
		t.Fatalf("%s has no quick params", id)
	}
	return withParams(q, ParamPolicy, PolicyMLP, fit.ParamDType, dtype)
}

// tolBefore is the relative tolerance of the tests that compare float64
// runs with the values of the code before dtype (TestDTypeFloat64ReproducesBefore,
// TestDTypeLegacyModel). The values were measured under GOEXPERIMENT=simd
// at commit 9d1ebb0. Two later changes move them in the last bits: the
// scalar build's exp and tanh kernels (within 7e-15, measured), and the
// plain mean loss summed by block products (pairloss.SumSoftplusNeg;
// within 4e-15, measured).
const tolBefore = 1e-12

// sameBefore reports whether got is want, a value of the code before
// dtype, within tolBefore.
func sameBefore(got, want float64) bool {
	return got == want || math.Abs(got-want) <= tolBefore*math.Abs(want)
}

// dtype=float64 gives the MLP runs of before the dtype param, to the last
// bits (see tolBefore): the values below
// are those of the float64-only code (commit 9d1ebb0) for the quick runs
// of dpo.dpo and dpo.rdpo with policy=mlp, and for TestMLPLearns's
// configuration through Train.
func TestDTypeFloat64ReproducesBefore(t *testing.T) {
	for _, tc := range []struct {
		id        string
		final     map[string]float64
		loss, gap []float64 // the series at steps 0, 5, 10, 15
	}{
		{"dpo.dpo",
			map[string]float64{MetricJ: 0.4573364432080384, MetricJStar: 0.4951042000574498, MetricAccuracy: 0.73, MetricAccuracyClean: 0.78,
				MetricGap: 0.037767756849411416, MetricLoss: 0.5468398973036885, MetricMargin: 0.8874820599185795},
			[]float64{0.6931471805599467, 0.6019876460823547, 0.5511730600707204, 0.5468398973036885},
			[]float64{0.4919982637256373, 0.21167866773661764, 0.036032645263803065, 0.037767756849411416}},
		{"dpo.rdpo",
			map[string]float64{MetricJ: 0.13156221234401802, MetricJStar: 0.4951042000574498, MetricAccuracy: 0.67, MetricAccuracyClean: 0.7625,
				MetricGap: 0.3635419877134318, MetricLoss: 0.42861689670530245, MetricMargin: 1.2856642222177586},
			[]float64{0.6931471805599467, 0.4527318617627628, 0.43290372871544286, 0.42861689670530245},
			[]float64{0.4919982637256373, 0.0424392622862953, 0.22033139104851773, 0.3635419877134318}},
	} {
		res, err := runPlugin(t, tc.id, quickMLP(t, tc.id, fit.DTypeFloat64))
		if err != nil {
			t.Fatalf("%s: %v", tc.id, err)
		}
		if len(res.Final) != len(tc.final) {
			t.Errorf("%s: %d finals, want %d", tc.id, len(res.Final), len(tc.final))
		}
		for name, want := range tc.final {
			if got := res.Final[name]; !sameBefore(got, want) {
				t.Errorf("%s: final %s = %v, want %v", tc.id, name, got, want)
			}
		}
		for name, want := range map[string][]float64{MetricLoss: tc.loss, MetricGap: tc.gap} {
			s := res.Series[name]
			if len(s) != len(want) {
				t.Fatalf("%s: series %s has %d points, want %d", tc.id, name, len(s), len(want))
			}
			for i, p := range s {
				if !sameBefore(p.Value, want[i]) {
					t.Errorf("%s: %s at step %d = %v, want %v", tc.id, name, p.Step, p.Value, want[i])
				}
			}
		}
	}

	data := planted(t, 2000, 0, 2)
	cfg := DefaultConfig(DPO)
	cfg.Policy, cfg.LearningRate, cfg.BatchSize, cfg.Steps, cfg.EvalEvery = PolicyMLP, 0.01, 256, 200, 100
	cfg.DType = fit.DTypeFloat64
	f, err := Train(context.Background(), data, cfg, rand.New(rand.NewPCG(1, 2)), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Metrics{Loss: 0.5206147472889724, Accuracy: 0.7415, AccuracyClean: 0.7415, Margin: 0.8191475455668527,
		Gap: 0.015928566254089505, J: 0.48285409077754987, JStar: 0.4987826570316394, HasClean: true, HasTruth: true}
	got := f.Metrics
	for _, v := range []struct{ got, want float64 }{
		{got.Loss, want.Loss}, {got.Accuracy, want.Accuracy}, {got.AccuracyClean, want.AccuracyClean}, {got.Margin, want.Margin},
		{got.Gap, want.Gap}, {got.J, want.J}, {got.JStar, want.JStar},
	} {
		if !sameBefore(v.got, v.want) {
			t.Errorf("Train, MLP in float64: metrics %+v, want %+v", got, want)
			break
		}
	}
	if got.HasClean != want.HasClean || got.HasTruth != want.HasTruth || got.HasParamError != want.HasParamError {
		t.Errorf("Train, MLP in float64: metrics %+v, want %+v", got, want)
	}
}

// A float32 run and a float64 run from the same seed (the same data,
// initial weights, rounded to float32, and mini-batches) reach the same
// metrics within the tolerances below. Measured on seeds 1–4: |Δ loss| ≤
// 1.4e-5, |Δ gap| ≤ 3.2e-5 and relative Δ margin ≤ 4.5e-5 for full-batch
// rDPO (unbounded below: its weights keep growing, and so does the
// rounding); ≤ 5e-8 in loss and gap for the mini-batch DPO and IPO MLPs and
// the log-linear rDPO in float32; accuracies equal under GOEXPERIMENT=simd,
// one pair of 2,000 apart (full-batch rDPO) in the scalar build.
func TestDTypeFloat32NearFloat64(t *testing.T) {
	const (
		tolLoss   = 1e-4 // |Δ loss|, |Δ gap|, |Δ J| and |Δ param_error|
		tolMargin = 2e-4 // relative Δ margin
		tolAcc    = 1e-3 // accuracies: at most 2 of the 2,000 pairs change side
	)
	for _, tc := range []struct {
		name      string
		kind      Kind
		policy    string
		flip, lr  float64
		batch     int
		seed      uint64
		hidden    int
		wantGaps  bool
		wantTheta bool
	}{
		{"mlp dpo mini-batch", DPO, PolicyMLP, 0, 0.01, 256, 1, 32, true, false},
		{"mlp rdpo full batch", RDPO, PolicyMLP, 0.2, 0.01, 0, 3, 32, true, false},
		{"mlp ipo mini-batch", IPO, PolicyMLP, 0.1, 0.01, 256, 2, 16, true, false},
		{"loglinear rdpo", RDPO, PolicyLogLinear, 0.3, 0.05, 0, 1, 0, true, true},
	} {
		data := planted(t, 2000, tc.flip, tc.seed)
		var m [2]Metrics
		for i, dt := range []string{fit.DTypeFloat32, fit.DTypeFloat64} {
			cfg := DefaultConfig(tc.kind)
			if tc.kind == RDPO {
				cfg.Epsilon = tc.flip
			}
			cfg.Policy, cfg.LearningRate, cfg.BatchSize, cfg.Steps, cfg.EvalEvery = tc.policy, tc.lr, tc.batch, 200, 200
			if tc.hidden > 0 {
				cfg.Hidden = tc.hidden
			}
			cfg.DType = dt
			f, err := Train(context.Background(), data, cfg, rand.New(rand.NewPCG(tc.seed, 2)), nil)
			if err != nil {
				t.Fatalf("%s %s: %v", tc.name, dt, err)
			}
			if got, want := f.Policy.DType, []dtypes.DType{dtypes.Float32, dtypes.Float64}[i]; got != want {
				t.Errorf("%s: dtype=%s trained a %s policy", tc.name, dt, got)
			}
			m[i] = f.Metrics
		}
		f32, f64 := m[0], m[1]
		if f32 == f64 {
			t.Errorf("%s: float32 and float64 metrics are identical: is the float32 run float32?", tc.name)
		}
		for _, c := range []struct {
			name     string
			got, ref float64
			tol      float64
		}{
			{MetricLoss, f32.Loss, f64.Loss, tolLoss},
			{MetricGap, f32.Gap, f64.Gap, tolLoss},
			{MetricJ, f32.J, f64.J, tolLoss},
			{MetricParamError, f32.ParamError, f64.ParamError, tolLoss},
			{MetricMargin, f32.Margin, f64.Margin, tolMargin * math.Abs(f64.Margin)},
			{MetricAccuracy, f32.Accuracy, f64.Accuracy, tolAcc},
			{MetricAccuracyClean, f32.AccuracyClean, f64.AccuracyClean, tolAcc},
		} {
			if d := math.Abs(c.got - c.ref); !(d <= c.tol) {
				t.Errorf("%s: %s float32 %v, float64 %v: |Δ| = %.3g, want ≤ %.3g", tc.name, c.name, c.got, c.ref, d, c.tol)
			}
		}
		if f32.HasParamError != tc.wantTheta || !f32.HasTruth {
			t.Errorf("%s: float32 metrics %+v", tc.name, f32)
		}
	}
}

// auto trains the MLP in float32 and the log-linear policy in float64: the
// log-linear run with auto is the dtype=float64 run, bit for bit.
func TestDTypeAuto(t *testing.T) {
	for _, tc := range []struct {
		id     string
		params map[string]any
		want   dtypes.DType
	}{
		{"dpo.rdpo", smallRun, dtypes.Float64},
		{"dpo.cdpo", withParams(smallRun, ParamPolicy, PolicyLogLinear), dtypes.Float64},
		{"dpo.dpo", quickMLP(t, "dpo.dpo", fit.DTypeAuto), dtypes.Float32},
		{"dpo.cdpo", withParams(smallRun, ParamPolicy, PolicyMLP, ParamHidden, 4, fit.ParamBatchSize, 100), dtypes.Float32},
	} {
		auto, err := runPlugin(t, tc.id, withParams(tc.params, fit.ParamDType, fit.DTypeAuto))
		if err != nil {
			t.Fatal(err)
		}
		explicit, err := runPlugin(t, tc.id, withParams(tc.params, fit.ParamDType, fit.DTypeName(tc.want)))
		if err != nil {
			t.Fatal(err)
		}
		p := auto.Model.(*Policy)
		if p.DType != tc.want {
			t.Errorf("%s %s: auto trained a %s policy, want %s", tc.id, p.Arch, p.DType, tc.want)
		}
		for name, w := range p.Weights {
			if (w.F32 != nil) != (tc.want == dtypes.Float32) {
				t.Errorf("%s %s: array %s is not %s", tc.id, p.Arch, name, tc.want)
			}
		}
		if got := auto.Params[fit.ParamDType]; got != fit.DTypeAuto {
			t.Errorf("%s: the record says dtype %v, want auto", tc.id, got)
		}
		a, b := *auto, *explicit
		a.Params, b.Params, a.Model, b.Model = nil, nil, nil, nil
		ja, _ := a.CanonicalJSON()
		jb, _ := b.CanonicalJSON()
		if string(ja) != string(jb) {
			t.Errorf("%s %s: auto differs from dtype=%s", tc.id, p.Arch, tc.want)
		}
	}
}

// A dtype that is none of auto, float32 and float64 is refused before any
// training, by the kernel (params) or by Train (Config).
func TestDTypeRefused(t *testing.T) {
	for _, id := range []string{"dpo.dpo", "dpo.rdpo", "dpo.sweep"} {
		for _, v := range []any{"bad", "float16", 32} {
			_, err := runPlugin(t, id, map[string]any{fit.ParamDType: v})
			var pe *kernel.ParamError
			if !errors.As(err, &pe) || pe.Key != fit.ParamDType {
				t.Fatalf("%s: dtype %v: got %v, want a *kernel.ParamError for dtype", id, v, err)
			}
			if want := "param dtype: got"; !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "one of auto, float32, float64") {
				t.Errorf("%s: dtype %v: error %q does not list the choices", id, v, err)
			}
		}
	}
	cfg := DefaultConfig(DPO)
	cfg.DType = "float16"
	_, err := Train(context.Background(), planted(t, 10, 0, 1), cfg, rand.New(rand.NewPCG(1, 2)), nil)
	if want := `dpo: fit: dtype: want one of [auto float32 float64], got "float16"`; err == nil || err.Error() != want {
		t.Errorf("Train with dtype float16: got %v, want %q", err, want)
	}
}

// Saved and loaded, a policy keeps its dtype (model.json's dtype, arrays
// of that type) and scores exactly as the policy in memory.
func TestDTypeModelRoundTrip(t *testing.T) {
	file := writePrefs(t, t.TempDir(), "new.jsonl", DefaultDim, 40, 1)
	for _, tc := range []struct {
		id     string
		params map[string]any
		want   dtypes.DType
		kind   string
	}{
		{"dpo.dpo", quickMLP(t, "dpo.dpo", fit.DTypeAuto), dtypes.Float32, "MLP policy, d = 8, 1 × 8 tanh units, float32 (dpo)"},
		{"dpo.dpo", quickMLP(t, "dpo.dpo", fit.DTypeFloat64), dtypes.Float64, "MLP policy, d = 8, 1 × 8 tanh units (dpo)"},
		{"dpo.ipo", quickMLP(t, "dpo.ipo", fit.DTypeFloat32), dtypes.Float32, "MLP policy, d = 8, 1 × 32 tanh units, float32 (ipo)"},
		{"dpo.rdpo", withParams(smallRun, fit.ParamDType, fit.DTypeFloat32), dtypes.Float32, "log-linear policy, d = 8, float32 (rdpo)"},
		{"dpo.rdpo", smallRun, dtypes.Float64, "log-linear policy, d = 8 (rdpo)"},
	} {
		res := modeltest.Train(t, tc.id, tc.params)
		pair := modeltest.RoundTrip(t, res)
		p := pair.Loaded.Model.(*Policy)
		if p.DType != tc.want || p.Kind() != tc.kind {
			t.Errorf("%s: loaded %q (%s), want %q (%s)", tc.id, p.Kind(), p.DType, tc.kind, tc.want)
		}
		var meta policyMeta
		if err := readMeta(pair.Dir, &meta); err != nil {
			t.Fatal(err)
		}
		if meta.DType != fit.DTypeName(tc.want) {
			t.Errorf("%s: %s says dtype %q, want %q", tc.id, PolicyFile, meta.DType, fit.DTypeName(tc.want))
		}
		pair.Score(t, nil, file)
	}
}

// readMeta decodes the PolicyFile of dir.
func readMeta(dir string, m *policyMeta) error {
	b, err := os.ReadFile(filepath.Join(dir, PolicyFile))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, m)
}

// A policy saved before policies had a dtype (testdata/mlp-float64-v0: an
// MLP of d = 3 and 2 units, saved by the float64-only code of commit
// 9d1ebb0, whose model.json has no dtype) loads as float64 and scores as
// it did then: the log-ratios and finals below are that code's.
func TestDTypeLegacyModel(t *testing.T) {
	l, err := kernel.Load(filepath.Join("testdata", "mlp-float64-v0"))
	if err != nil {
		t.Fatal(err)
	}
	p := l.Model.(*Policy)
	if p.DType != dtypes.Float64 {
		t.Errorf("legacy policy loaded as %s, want float64", p.DType)
	}
	for name, w := range p.Weights {
		if w.F64 == nil {
			t.Errorf("legacy array %s is not float64", name)
		}
	}
	sc, err := l.Score(context.Background(), kernel.Options{Data: []string{filepath.Join("testdata", "mlp-float64-v0-pairs.jsonl")}})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{0.3015143088670981, -0.2056878219569142} {
		if got := sc.Tables[TableScores].Floats("log_ratio")[i]; !sameBefore(got, want) {
			t.Errorf("pair %d: h = %v, want %v", i, got, want)
		}
	}
	for name, want := range map[string]float64{MetricAccuracy: 0.5, "log_loss": 0.6774906647554055, MetricLoss: 0.6774906647554055, "mean_margin": 0.04791324345509196} {
		if got := sc.Final[name]; !sameBefore(got, want) {
			t.Errorf("final %s = %v, want %v", name, got, want)
		}
	}
}

// A model.json whose dtype is unknown, or contradicts the arrays, does not
// load; the error names the file and the field.
func TestDTypeModelErrors(t *testing.T) {
	res := modeltest.Train(t, "dpo.dpo", quickMLP(t, "dpo.dpo", fit.DTypeFloat32))
	for _, tc := range []struct {
		dtype, want string
	}{
		{"float16", `model.json: dtype: want float32 or float64, got "float16"`},
		{"float64", `model.json: dtype: float64, but the array "mlp/b0" is float32`},
		{"", `model.json: dtype: float64, but the array "mlp/b0" is float32`}, // read as a policy saved before dtype
	} {
		dir := modeltest.Tamper(t, res, PolicyFile, func(m *policyMeta) { m.DType = tc.dtype })
		_, err := kernel.Load(dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), dir) {
			t.Errorf("dtype %q: got %v, want an error naming %s and containing %q", tc.dtype, err, dir, tc.want)
		}
	}
}

// A policy of either dtype starts a run of the other: its weights are
// converted, so step 0 measures it up to the dtypes' rounding. Measured:
// |Δ| ≤ 7.1e-9 in loss, gap and margin, both ways.
func TestDTypeWarmStartAcrossDTypes(t *testing.T) {
	const tol = 1e-6
	base := map[string]any{ParamPolicy: PolicyMLP, ParamHidden: 4, fit.ParamBatchSize: 50,
		ParamPairs: 200, ParamTestPrompts: 30, ParamDim: 3, fit.ParamSteps: 10, fit.ParamEvalEvery: 5}
	for _, tc := range []struct{ saved, run string }{
		{fit.DTypeFloat64, fit.DTypeFloat32},
		{fit.DTypeFloat32, fit.DTypeFloat64},
	} {
		res := modeltest.Train(t, "dpo.dpo", withParams(base, fit.ParamDType, tc.saved))
		dir := modeltest.Save(t, res)
		warm, err := kernel.Run(context.Background(), "dpo.dpo", kernel.Options{Params: withParams(base, fit.ParamDType, tc.run), Init: dir})
		if err != nil {
			t.Fatalf("%s policy, %s run: %v", tc.saved, tc.run, err)
		}
		if got := warm.Model.(*Policy).DType.String(); !strings.EqualFold(got, tc.run) {
			t.Errorf("%s policy, %s run: trained a %s policy", tc.saved, tc.run, got)
		}
		for _, name := range []string{MetricLoss, MetricGap, MetricMargin} {
			if got, want := warm.Series[name][0].Value, res.Final[name]; !(math.Abs(got-want) <= tol) {
				t.Errorf("%s policy, %s run: %s at step 0 = %v, want the saved run's final %v ± %g", tc.saved, tc.run, name, got, want, tol)
			}
		}
	}
}

// dpo.sweep takes dtype too, records it, and trains its MLPs in it.
func TestDTypeSweep(t *testing.T) {
	cfg := DefaultSweepConfig()
	cfg.Data.Pairs, cfg.Data.TestPrompts = 300, 50
	cfg.Epsilons, cfg.Losses, cfg.PairsGrid, cfg.Replicates = []float64{0.2}, []Kind{RDPO}, nil, 1
	cfg.Train.Policy, cfg.Train.Hidden, cfg.Train.Steps, cfg.Train.BatchSize, cfg.Train.LearningRate = PolicyMLP, 8, 20, 100, 0.01
	gaps := map[string]float64{}
	for _, dt := range []string{"", fit.DTypeFloat32, fit.DTypeFloat64} {
		cfg.Train.DType = dt
		res, err := Sweep(context.Background(), cfg)
		if err != nil {
			t.Fatalf("dtype %q: %v", dt, err)
		}
		want := dt
		if dt == "" {
			want = fit.DTypeAuto
		}
		if got := res.Params[fit.ParamDType]; got != want {
			t.Errorf("dtype %q: recorded %v, want %s", dt, got, want)
		}
		gaps[want] = res.Tables["sweep"].Floats("gap")[0]
	}
	if gaps[fit.DTypeAuto] != gaps[fit.DTypeFloat32] {
		t.Errorf("sweep: auto's gap %v is not float32's %v", gaps[fit.DTypeAuto], gaps[fit.DTypeFloat32])
	}
	if gaps[fit.DTypeFloat32] == gaps[fit.DTypeFloat64] {
		t.Errorf("sweep: float32 and float64 gaps are identical (%v)", gaps[fit.DTypeFloat64])
	}
}

// describe shows the dtype param with what auto picks, and the precision
// of the default configuration first.
func TestDescribeDType(t *testing.T) {
	for _, id := range []string{"dpo.dpo", "dpo.cdpo", "dpo.ipo", "dpo.rdpo", "dpo.sweep"} {
		s, err := kernel.Describe(id)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"dtype", "auto: float32 for the MLP policy, float64 for the log-linear one", "\nPrecision: float64 for the log-linear policy"} {
			if !strings.Contains(s, want) {
				t.Errorf("describe %s lacks %q", id, want)
			}
		}
	}
}
