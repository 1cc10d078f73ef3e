package sb

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/algos/artifact"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/internal/modeltest"
	"github.com/alignlab/alignlab/kernel"
	"github.com/alignlab/alignlab/kernel/report"
	"gonum.org/v1/gonum/mat"
)

// writeVectors writes rows as a CSV file in dir and returns its path.
func writeVectors(t *testing.T, dir, name string, rows [][]float64) string {
	t.Helper()
	var buf bytes.Buffer
	if err := datasets.WriteVectorsCSV(&buf, rows); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// writePair writes a benchmark pair file of a generated eot_mixture pair
// and returns its path.
func writePair(t *testing.T, dir string, d int, eps float64, seed uint64) string {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed))
	pair, err := datasets.GenerateEOT(datasets.EOTMixtureConfig(d, eps, false), r)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := datasets.WriteEOTBenchmark(&buf, &datasets.EOTBenchmark{Pair: pair, TestInputs: pair.SampleSource(30, r)}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "pair.json")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestModelRoundTrip trains sb.light on a 4-D pair of sample files and on
// a benchmark pair file, saves and reloads each model, and checks that the
// loaded model scores and samples (plan and SDE) byte for byte as the one
// in memory.
func TestModelRoundTrip(t *testing.T) {
	dir := t.TempDir()
	files, err := plugin{}.SampleData(dir)
	if err != nil {
		t.Fatal(err)
	}
	xs := writeVectors(t, dir, "xs.csv", [][]float64{{0, 0, 0, 0}, {1, -1, 0.5, 2}, {-0.3, 0.2, 1, -1}})
	res := modeltest.Train(t, "sb.light", withParams(nil), files...)
	if got, want := res.Model.Kind(), "LightSB Gaussian-mixture potential, K = 8, D = 4, ε = 0.1"; got != want {
		t.Errorf("kind %q, want %q", got, want)
	}
	p := modeltest.RoundTrip(t, res)
	for _, name := range []string{kernel.ManifestFile, ModelFile, artifact.WeightsDir} {
		if _, err := os.Stat(filepath.Join(p.Dir, name)); err != nil {
			t.Errorf("saved model lacks %s: %v", name, err)
		}
	}
	sc := p.Score(t, nil, files...)
	scores := sc.Tables["scores"]
	if scores == nil || len(scores.Rows) != sampleSourceRows+sampleTargetRows {
		t.Fatalf("scores table %v, want %d rows", scores, sampleSourceRows+sampleTargetRows)
	}
	if f := sc.Final; f[FinalLoss] != f[FinalMeanLogC]-f[FinalMeanLogV] {
		t.Errorf("loss %v, want mean_log_c − mean_log_v = %v", f[FinalLoss], f[FinalMeanLogC]-f[FinalMeanLogV])
	}
	for _, params := range []map[string]any{nil, {ParamSampler: SamplerSDE, ParamSDESteps: 5}} {
		s := p.Sample(t, 4, params, xs)
		tab := s.Tables["samples"]
		want := []string{"x_index", "x1", "x2", "x3", "x4", "y1", "y2", "y3", "y4"}
		if tab == nil || !slices.Equal(tab.Columns, want) || len(tab.Rows) != 3*4 {
			t.Fatalf("sampler %v: samples table %v, want columns %v and 12 rows", params, tab, want)
		}
		if got := tab.Floats("x3")[4]; got != 0.5 {
			t.Errorf("sampler %v: row 4 (x 1) has x3 = %v, want 0.5", params, got)
		}
		if _, err := report.Charts(s); err != nil {
			t.Errorf("sampler %v: charts: %v", params, err)
		}
	}

	pairFile := writePair(t, dir, 3, 1, 5)
	pres := modeltest.Train(t, "sb.light", withParams(map[string]any{ParamEpsilon: 1.0}), pairFile)
	pp := modeltest.RoundTrip(t, pres)
	psc := pp.Score(t, nil, pairFile)
	// The run's own pair file with its seed: the run's own finals, exactly.
	for _, k := range []string{FinalLoss, FinalCBW, FinalCBWExact, FinalCBWFloor, FinalCBWIndep, FinalTargetVar, FinalKL} {
		if got, want := psc.Final[k], pres.Final[k]; got != want {
			t.Errorf("score of the training pair: %s = %v, want the run's %v", k, got, want)
		}
	}
}

// TestScoreClosedForm scores two files with a hand-made potential in 1-D
// (K = 1, ε = ½, α = e^0.3, r = 1, s = 2), for which
//
//	log c(x) = 0.3 + (s x² + 2 r x)/(2ε) = 0.3 + 2x² + 2x,
//	log v(y) = 0.3 + log N(y | r, εs) = 0.3 − ½(y − 1)² − ½ log 2π.
func TestScoreClosedForm(t *testing.T) {
	const tol = 1e-12
	dir := t.TempDir()
	x0 := writeVectors(t, dir, "x0.csv", [][]float64{{0}, {1}, {-2}})
	x1 := writeVectors(t, dir, "x1.csv", [][]float64{{1}, {3}})
	m := &Model{Epsilon: 0.5, LogAlpha: []float64{0.3}, R: [][]float64{{1}}, LogS: [][]float64{{math.Log(2)}}}
	l, err := kernel.LoadedOf(&kernel.Result{Plugin: "sb.light", Params: map[string]any{ParamEpsilon: 0.5}, Model: m})
	if err != nil {
		t.Fatal(err)
	}
	res, err := l.Score(context.Background(), kernel.Options{Data: []string{x0, x1}})
	if err != nil {
		t.Fatal(err)
	}
	half := 0.5 * math.Log(2*math.Pi)
	logC := []float64{0.3, 4.3, 4.3}
	logV := []float64{0.3 - half, 0.3 - 2 - half}
	wantRows := append(slices.Clone(logC), logV...)
	if got := res.Tables["scores"].Floats("score"); len(got) != len(wantRows) {
		t.Fatalf("scores %v, want %v", got, wantRows)
	} else {
		for i := range got {
			if math.Abs(got[i]-wantRows[i]) > tol {
				t.Errorf("score of row %d: got %v, want %v", i, got[i], wantRows[i])
			}
		}
	}
	if sides := res.Tables["scores"].Strings("side"); sides[2] != "source" || sides[3] != "target" {
		t.Errorf("sides %v, want 3 source then 2 target", sides)
	}
	meanC, meanV := (logC[0]+logC[1]+logC[2])/3, (logV[0]+logV[1])/2
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{FinalMeanLogC, res.Final[FinalMeanLogC], meanC},
		{FinalMeanLogV, res.Final[FinalMeanLogV], meanV},
		{FinalLoss, res.Final[FinalLoss], meanC - meanV},
	} {
		if math.Abs(c.got-c.want) > tol {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}

// TestRunSamplesKeepAllCoordinates: a 4-D run's samples table holds whole
// points (before, it kept the first two coordinates): every source row is
// a row of the source file, and the chart still draws x against y. A 2-D
// run's table is unchanged.
func TestRunSamplesKeepAllCoordinates(t *testing.T) {
	dir := t.TempDir()
	files, err := plugin{}.SampleData(dir)
	if err != nil {
		t.Fatal(err)
	}
	x0, err := datasets.LoadVectors(files[0])
	if err != nil {
		t.Fatal(err)
	}
	res, err := kernel.Run(context.Background(), "sb.light", kernel.Options{Params: withParams(nil), Data: files})
	if err != nil {
		t.Fatal(err)
	}
	tab := res.Tables["samples"]
	if want := []string{"x", "y", "kind", "coord_3", "coord_4"}; !slices.Equal(tab.Columns, want) {
		t.Fatalf("columns %v, want %v", tab.Columns, want)
	}
	cols := [][]float64{tab.Floats("x"), tab.Floats("y"), tab.Floats("coord_3"), tab.Floats("coord_4")}
	kinds := tab.Strings("kind")
	sources := 0
	for i, kind := range kinds {
		pt := []float64{cols[0][i], cols[1][i], cols[2][i], cols[3][i]}
		if kind == "source" {
			sources++
			if !slices.ContainsFunc(x0, func(row []float64) bool { return slices.Equal(row, pt) }) {
				t.Errorf("source row %d %v is not a row of %s", i, pt, files[0])
			}
		}
		for _, v := range pt {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Errorf("%s row %d: %v", kind, i, pt)
			}
		}
	}
	if sources != 30 {
		t.Errorf("%d source rows, want 30", sources)
	}
	if _, err := report.Charts(res); err != nil {
		t.Errorf("charts: %v", err)
	}
	two, err := kernel.Run(context.Background(), "sb.light", kernel.Options{Params: withParams(map[string]any{ParamDim: 2})})
	if err != nil {
		t.Fatal(err)
	}
	if got := two.Tables["samples"].Columns; !slices.Equal(got, []string{"x", "y", "kind"}) {
		t.Errorf("2-D columns %v, want x, y, kind", got)
	}
}

// TestInitFromSavedModel: a run that starts from a saved potential with a
// vanishing learning rate ends where it started: the same parameters, bit
// for bit (through float32 training variables that hold ε·log α), hence the
// same final loss.
func TestInitFromSavedModel(t *testing.T) {
	dir := t.TempDir()
	files, err := plugin{}.SampleData(dir)
	if err != nil {
		t.Fatal(err)
	}
	res := modeltest.Train(t, "sb.light", withParams(nil), files...)
	saved := modeltest.Save(t, res)
	still, err := kernel.Run(context.Background(), "sb.light", kernel.Options{Init: saved, Data: files,
		Params: withParams(map[string]any{ParamLearningRate: 1e-30, ParamSteps: 1, ParamEvalEvery: 1})})
	if err != nil {
		t.Fatal(err)
	}
	a, b := res.Model.(*Model).weights(), still.Model.(*Model).weights()
	for _, name := range a.Names() {
		if !slices.Equal(a[name].F64, b[name].F64) {
			t.Errorf("%s: after a step of size 1e-30 from the saved model\n got %v\nwant %v", name, b[name].F64, a[name].F64)
		}
	}
	if got, want := still.Final[FinalLoss], res.Final[FinalLoss]; got != want {
		t.Errorf("final loss %v, want the saved model's %v", got, want)
	}
	if in := still.Provenance.Init; in == nil || in.Dir != saved || in.Plugin != "sb.light" {
		t.Errorf("provenance init %+v, want %s", in, saved)
	}
	if notes := strings.Join(still.Notes, "\n"); !strings.Contains(notes, "training starts from the saved potential") {
		t.Errorf("notes %q lack the warm start", notes)
	}
}

// TestModelErrors: another plugin's model, a potential of another K or D,
// conditions or samples of another dimension, an ε the model was not
// trained at, and a damaged save each give an error that says what is wrong.
func TestModelErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	files, err := plugin{}.SampleData(dir)
	if err != nil {
		t.Fatal(err)
	}
	res := modeltest.Train(t, "sb.light", withParams(nil), files...)
	saved := modeltest.Save(t, res)
	other := modeltest.OtherModel(t)
	x2 := writeVectors(t, dir, "x2.csv", [][]float64{{0, 0}, {1, 1}})

	var mu *kernel.ModelUsageError
	for _, c := range []struct {
		name   string
		init   string
		params map[string]any
		data   []string
		want   string
	}{
		{"another plugin's model", other, nil, files, "sb.light: --model: a constant, want a LightSB potential (a model saved by sb.light)"},
		{"another K", saved, map[string]any{ParamK: 4}, files, "sb.light: --model: the saved potential has 8 components, the run's components param is 4: set components=8"},
		{"another D", saved, nil, nil, "sb.light: --model: the saved potential has dimension D = 4, the run's data 2"},
	} {
		_, err := kernel.Run(ctx, "sb.light", kernel.Options{Init: c.init, Data: c.data, Params: withParams(c.params)})
		if !errors.As(err, &mu) || err.Error() != c.want {
			t.Errorf("%s: got %v, want *kernel.ModelUsageError %q", c.name, err, c.want)
		}
	}

	l, err := kernel.Load(saved)
	if err != nil {
		t.Fatal(err)
	}
	var de *datasets.Error
	if _, err := l.Sample(ctx, 3, kernel.Options{Data: []string{x2}}); !errors.As(err, &de) ||
		err.Error() != x2+":1: row: want vectors of dimension 4 (the model's D), got 2" {
		t.Errorf("conditions of another dimension: got %v", err)
	}
	if _, err := l.Score(ctx, kernel.Options{Data: []string{x2, x2}}); !errors.As(err, &de) ||
		err.Error() != x2+":1: row: want vectors of dimension 4 (the model's D), got 2" {
		t.Errorf("samples of another dimension: got %v", err)
	}
	var ue *kernel.DataUsageError
	if _, err := l.Sample(ctx, 3, kernel.Options{Data: files}); !errors.As(err, &ue) || !strings.Contains(err.Error(), "want 1 file of conditions") {
		t.Errorf("two condition files: got %v", err)
	}
	if _, err := l.Score(ctx, kernel.Options{Data: files, Params: map[string]any{ParamEpsilon: 1.0}}); !errors.As(err, &mu) ||
		err.Error() != "sb.light: the model was trained at ε = 0.1; scoring cannot change it (epsilon = 1 given)" {
		t.Errorf("score at another ε: got %v", err)
	}
	if _, err := l.Sample(ctx, 3, kernel.Options{Data: []string{x2}, Params: map[string]any{ParamSampler: "gibbs"}}); err == nil || !strings.Contains(err.Error(), "sampler") {
		t.Errorf("unknown sampler: got %v", err)
	}
	pairFile := writePair(t, dir, 4, 1, 3)
	if _, err := l.Score(ctx, kernel.Options{Data: []string{pairFile}}); !errors.As(err, &de) ||
		err.Error() != pairFile+": epsilon: the pair's ε is 1 but the model's is 0.1: score it with a model trained at ε = 1" {
		t.Errorf("pair of another ε: got %v", err)
	}

	// A damaged save: model.json says D = 3 but the arrays are 4 wide; no
	// model.json at all.
	facts := filepath.Join(saved, ModelFile)
	if err := os.WriteFile(facts, []byte(`{"epsilon": 0.1, "components": 8, "dim": 3}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := kernel.Load(saved); err == nil || !strings.Contains(err.Error(), `array "r" has shape [8 4], want [8 3]`) || !strings.Contains(err.Error(), saved) {
		t.Errorf("arrays of another shape: got %v", err)
	}
	if err := os.Remove(facts); err != nil {
		t.Fatal(err)
	}
	if _, err := kernel.Load(saved); err == nil || !strings.Contains(err.Error(), "holds no model.json") {
		t.Errorf("no model.json: got %v", err)
	}
}

// symFunc returns Q f(Λ) Qᵀ for the symmetric matrix a = QΛQᵀ.
func symFunc(a mat.Matrix, f func(float64) float64) *mat.Dense {
	d, _ := a.Dims()
	s := mat.NewSymDense(d, nil)
	for i := range d {
		for j := i; j < d; j++ {
			s.SetSym(i, j, 0.5*(a.At(i, j)+a.At(j, i)))
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(s, true) {
		panic("symFunc: no eigendecomposition")
	}
	lam := eig.Values(nil)
	for i := range lam {
		lam[i] = f(lam[i])
	}
	var q, ql, out mat.Dense
	eig.VectorsTo(&q)
	ql.Mul(&q, mat.NewDiagDense(d, lam))
	out.Mul(&ql, q.T())
	return &out
}

// gaussianEOT returns the cross-covariance C = Cov(x, y) of the entropic
// OT plan between N(·, s0) and N(·, s1) for the cost ½‖x − y‖² and entropy
// weight ε (sb's convention; Janati et al. 2020's cost ‖x − y‖² with
// regulariser 2σ² KL at σ² = ε):
//
//	C = ½ (s0^½ (4 s0^½ s1 s0^½ + ε² I)^½ s0^−½ − ε I),
//
// and the conditional law's slope A = Cᵀ s0⁻¹ and covariance s1 − A C:
// y | x ~ N(μ1 + A(x − μ0), s1 − A C).
func gaussianEOT(s0, s1 *mat.Dense, eps float64) (c, slope, cov *mat.Dense) {
	d, _ := s0.Dims()
	root := symFunc(s0, math.Sqrt)
	invRoot := symFunc(s0, func(v float64) float64 { return 1 / math.Sqrt(v) })
	var inner, tmp mat.Dense
	tmp.Mul(root, s1)
	inner.Mul(&tmp, root)
	inner.Scale(4, &inner)
	for i := range d {
		inner.Set(i, i, inner.At(i, i)+eps*eps)
	}
	c = &mat.Dense{}
	tmp.Mul(root, symFunc(&inner, math.Sqrt))
	c.Mul(&tmp, invRoot)
	for i := range d {
		c.Set(i, i, c.At(i, i)-eps)
	}
	c.Scale(0.5, c)
	var inv0 mat.Dense
	if err := inv0.Inverse(s0); err != nil {
		panic(err)
	}
	slope, cov = &mat.Dense{}, &mat.Dense{}
	slope.Mul(c.T(), &inv0)
	tmp.Mul(slope, c)
	cov.Sub(s1, &tmp)
	return c, slope, cov
}

// The user's 4-D Gaussian pair of the sampling test: N(mu0, sigma0) to
// N(mu1, sigma1), both covariances full.
var (
	mu0    = []float64{0.5, -1, 0, 1}
	mu1    = []float64{2, 0, -1, 0.5}
	sigma0 = mat.NewDense(4, 4, []float64{
		1.0, 0.3, 0.0, 0.2,
		0.3, 0.8, 0.1, 0.0,
		0.0, 0.1, 1.2, -0.3,
		0.2, 0.0, -0.3, 0.9,
	})
	sigma1 = mat.NewDense(4, 4, []float64{
		1.5, -0.4, 0.2, 0.0,
		-0.4, 1.0, 0.0, 0.3,
		0.2, 0.0, 0.7, 0.1,
		0.0, 0.3, 0.1, 1.3,
	})
)

// maxAbsDiff returns the largest |a_ij − b_ij|.
func maxAbsDiff(a, b mat.Matrix) float64 {
	r, c := a.Dims()
	m := 0.0
	for i := range r {
		for j := range c {
			m = math.Max(m, math.Abs(a.At(i, j)-b.At(i, j)))
		}
	}
	return m
}

// TestGaussianEOTClosedForm checks gaussianEOT three ways: in 1-D against
// the root of c² + εc − ab = 0 (the plan ∝ f(x) exp(−(x − y)²/(2ε)) g(y)
// has joint precision −1/ε off the diagonal, i.e. −c/(ab − c²) = −1/ε);
// in 4-D, that the joint precision's x–y block is −I/ε; and against the
// plan of datasets.EOTPair built the other way round, from a Gaussian
// potential g (π*(y|x) ∝ N(y|x, εI) g(y)), whose second marginal P₁ is
// Gaussian with moments read off the plan. The same closed form at 2ε
// (the cost ‖x − y‖² at regulariser ε) does not fit that plan.
func TestGaussianEOTClosedForm(t *testing.T) {
	const tol = 1e-10
	for _, c := range []struct{ a, b, eps float64 }{{1, 1, 0.1}, {2, 0.5, 1}, {0.3, 4, 10}} {
		cross, _, _ := gaussianEOT(mat.NewDense(1, 1, []float64{c.a}), mat.NewDense(1, 1, []float64{c.b}), c.eps)
		want := (math.Sqrt(4*c.a*c.b+c.eps*c.eps) - c.eps) / 2
		if got := cross.At(0, 0); math.Abs(got-want) > tol || math.Abs(want*want+c.eps*want-c.a*c.b) > tol {
			t.Errorf("1-D a=%v b=%v ε=%v: c = %v, want %v", c.a, c.b, c.eps, got, want)
		}
	}

	const eps = 1.0
	cross, _, _ := gaussianEOT(sigma0, sigma1, eps)
	joint := mat.NewDense(8, 8, nil)
	joint.Slice(0, 4, 0, 4).(*mat.Dense).Copy(sigma0)
	joint.Slice(4, 8, 4, 8).(*mat.Dense).Copy(sigma1)
	joint.Slice(0, 4, 4, 8).(*mat.Dense).Copy(cross)
	joint.Slice(4, 8, 0, 4).(*mat.Dense).Copy(cross.T())
	var prec mat.Dense
	if err := prec.Inverse(joint); err != nil {
		t.Fatal(err)
	}
	minusI := mat.NewDiagDense(4, []float64{-1 / eps, -1 / eps, -1 / eps, -1 / eps})
	if got := maxAbsDiff(prec.Slice(0, 4, 4, 8), minusI); got > tol {
		t.Errorf("joint precision's x–y block is %v off −I/ε", got)
	}
	var chol mat.Cholesky
	if !chol.Factorize(mat.NewSymDense(8, joint.RawMatrix().Data)) {
		t.Error("the plan's joint covariance is not positive definite")
	}

	potential := datasets.GaussianMixture{Weights: []float64{1}, Means: [][]float64{{1, -0.5, 0.3, 2}},
		Covs: [][]float64{{0.9, 0.2, -0.1, 0, 0.2, 1.4, 0.3, 0.1, -0.1, 0.3, 0.6, 0, 0, 0.1, 0, 1.1}}}
	source := datasets.GaussianMixture{Weights: []float64{1}, Means: [][]float64{mu0}, Covs: [][]float64{sigma0.RawMatrix().Data}}
	pair, err := datasets.NewEOTPair(source, potential, eps)
	if err != nil {
		t.Fatal(err)
	}
	bias, condCov := pair.ConditionalMoments(make([]float64, 4))
	slope := mat.NewDense(4, 4, nil)
	for j := range 4 {
		e := make([]float64, 4)
		e[j] = 1
		m, _ := pair.ConditionalMoments(e)
		for i := range 4 {
			slope.Set(i, j, m[i]-bias[i])
		}
	}
	var s1, tmp mat.Dense
	tmp.Mul(slope, sigma0)
	s1.Mul(&tmp, slope.T())
	s1.Add(&s1, mat.NewDense(4, 4, condCov))
	_, gotSlope, gotCov := gaussianEOT(sigma0, &s1, eps)
	if d := maxAbsDiff(gotSlope, slope); d > 1e-9 {
		t.Errorf("slope differs from the pair's plan by %v", d)
	}
	if d := maxAbsDiff(gotCov, mat.NewDense(4, 4, condCov)); d > 1e-9 {
		t.Errorf("conditional covariance differs from the pair's plan by %v", d)
	}
	if _, wrongSlope, _ := gaussianEOT(sigma0, &s1, 2*eps); maxAbsDiff(wrongSlope, slope) < 0.01 {
		t.Error("the closed form at 2ε fits the pair's plan too: the convention test tells nothing")
	}
}

// drawGaussian draws n points of N(mu, cov).
func drawGaussian(mu []float64, cov *mat.Dense, n int, r *rand.Rand) [][]float64 {
	d := len(mu)
	var chol mat.Cholesky
	if !chol.Factorize(mat.NewSymDense(d, cov.RawMatrix().Data)) {
		panic("drawGaussian: covariance not positive definite")
	}
	var l mat.TriDense
	chol.LTo(&l)
	out := make([][]float64, n)
	z := make([]float64, d)
	for i := range out {
		for j := range z {
			z[j] = r.NormFloat64()
		}
		y := slices.Clone(mu)
		for a := range d {
			for b := 0; b <= a; b++ {
				y[a] += l.At(a, b) * z[b]
			}
		}
		out[i] = y
	}
	return out
}

// TestSampleGaussianCBW is the check of `alignlab sample sb.light`:
// sb.light trained through kernel.Run on 4,000 draws each of a user's 4-D
// Gaussian pair (full covariances, ε = 1), saved and loaded back, samples
// 1,000 y | x at 8 held-out x; the samples' cBW₂²-UVP against the
// closed-form entropic plan (gaussianEOT) must be below 2 %.
func TestSampleGaussianCBW(t *testing.T) {
	const (
		eps      = 1.0
		rows     = 4000
		heldOut  = 8
		perX     = 1000
		maxUVP   = 2.0 // %
		dataSeed = 41
	)
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(dataSeed, 1))
	x0 := writeVectors(t, dir, "x0.csv", drawGaussian(mu0, sigma0, rows, r))
	x1 := writeVectors(t, dir, "x1.csv", drawGaussian(mu1, sigma1, rows, r))
	tests := drawGaussian(mu0, sigma0, heldOut, r)
	xs := writeVectors(t, dir, "xs.csv", tests)

	res := modeltest.Train(t, "sb.light", map[string]any{
		ParamEpsilon: eps, ParamSteps: 3000, ParamEvalEvery: 100, ParamPlotSamples: 0, ParamTrajectories: 0, "seed": 3,
	}, x0, x1)
	p := modeltest.RoundTrip(t, res)
	samples := p.Sample(t, perX, nil, xs).Tables["samples"]
	if len(samples.Rows) != heldOut*perX {
		t.Fatalf("%d samples, want %d", len(samples.Rows), heldOut*perX)
	}

	_, slope, condCov := gaussianEOT(sigma0, sigma1, eps)
	cov := condCov.RawMatrix().Data
	ys := make([][][]float64, heldOut)
	idx := samples.Floats("x_index")
	cols := make([][]float64, 4)
	for j := range cols {
		cols[j] = samples.Floats("y" + string(rune('1'+j)))
	}
	for i := range samples.Rows {
		ys[int(idx[i])] = append(ys[int(idx[i])], []float64{cols[0][i], cols[1][i], cols[2][i], cols[3][i]})
	}
	m := p.Loaded.Model.(*Model)
	sampled, exact := 0.0, 0.0
	for i, x := range tests {
		mean := slices.Clone(mu1)
		for a := range 4 {
			for b := range 4 {
				mean[a] += slope.At(a, b) * (x[b] - mu0[b])
			}
		}
		ms, cs := GaussianFit(ys[i])
		sampled += HalfBW2(ms, cs, mean, cov)
		me, ce := m.PlanMoments(x)
		exact += HalfBW2(me, ce, mean, cov)
	}
	halfVar := 0.5 * mat.Trace(sigma1)
	sampled *= 100 / (heldOut * halfVar)
	exact *= 100 / (heldOut * halfVar)
	t.Logf("cBW₂²-UVP at %d held-out x: %.3f %% from %d samples each, %.3f %% from the model plan's exact moments", heldOut, sampled, perX, exact)
	if !(sampled < maxUVP) {
		t.Errorf("cBW₂²-UVP %.3f %%, want < %v %%", sampled, maxUVP)
	}
}
