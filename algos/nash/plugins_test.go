package nash

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
	"github.com/alignlab/alignlab/kernel/report"
)

func run(t *testing.T, id string, params map[string]any, data ...string) *kernel.Result {
	t.Helper()
	res, err := kernel.Run(context.Background(), id, kernel.Options{Params: params, Data: data})
	if err != nil {
		t.Fatalf("%s %v: %v", id, params, err)
	}
	return res
}

func seriesAt(t *testing.T, res *kernel.Result, name string, step int) float64 {
	t.Helper()
	for _, p := range res.Series[name] {
		if p.Step == int64(step) {
			return p.Value
		}
	}
	t.Fatalf("series %q has no step %d", name, step)
	return 0
}

// TestINPOExactConverges checks the paper's claim on the default
// intransitive game: the last iterate converges to π*_τ, linearly.
func TestINPOExactConverges(t *testing.T) {
	res := run(t, IDINPO, map[string]any{ParamIterations: 150})
	l50, l100, l150 := seriesAt(t, res, MetricL1TauNash, 50), seriesAt(t, res, MetricL1TauNash, 100), seriesAt(t, res, MetricL1TauNash, 150)
	if !(l150 < l100 && l100 < l50) || l150 > 1e-4 {
		t.Errorf("‖π_t − π*_τ‖₁ at t = 50, 100, 150: %.3g, %.3g, %.3g; want decreasing to < 1e-4", l50, l100, l150)
	}
	// The limit is π*_τ, whose exploitability is known from the solver.
	g := datasets.CyclicGame(5, 3, 1)
	star, _ := RegularizedNash(g.Prompts[0].P, g.RefPolicy(0), 0.1)
	if got, want := res.Final[MetricExploitability], Exploitability(g.Prompts[0].P, star); math.Abs(got-want) > 1e-4 {
		t.Errorf("final exploitability %v, want e(π*_τ) = %v", got, want)
	}
	// The policy table is the final policy, one distribution per prompt.
	tab := res.Tables[TablePolicy]
	if strings.Join(tab.Columns, ",") != "prompt,action,prob" || len(tab.Rows) != 5 {
		t.Fatalf("policy table %v with %d rows", tab.Columns, len(tab.Rows))
	}
	var sum float64
	for _, v := range tab.Floats("prob") {
		sum += v
	}
	if math.Abs(sum-1) > exactTol {
		t.Errorf("policy sums to %v", sum)
	}
}

// TestMWUCycles checks that multiplicative weights' last iterate does not
// converge (its exploitability stays above 0.1 over the second half of 1000
// iterations; the Nash is interior on 3 actions) while the average's
// exploitability, the average regret, keeps falling.
func TestMWUCycles(t *testing.T) {
	const iters = 1000
	res := run(t, IDMWU, map[string]any{ParamIterations: iters})
	low := math.Inf(1)
	for _, p := range res.Series[MetricExploitability] {
		if p.Step >= iters/2 {
			low = math.Min(low, p.Value)
		}
	}
	if low < 0.1 {
		t.Errorf("last iterate: min exploitability over t ∈ [%d, %d] = %.4f, want ≥ 0.1 (no convergence)", iters/2, iters, low)
	}
	a100, aEnd := seriesAt(t, res, MetricExploitability+"_avg", 100), seriesAt(t, res, MetricExploitability+"_avg", iters)
	if aEnd >= a100 || aEnd > 0.01 {
		t.Errorf("average iterate: exploitability %.4f at t=100, %.4f at t=%d; want falling below 0.01", a100, aEnd, iters)
	}
}

// TestDNOExactIsMWU: DNO's population target π_t·exp(r_t/η) is Hedge with step 1/η.
func TestDNOExactIsMWU(t *testing.T) {
	dno := run(t, IDDNO, map[string]any{ParamEta: 2.0, ParamIterations: 30})
	mwu := run(t, IDMWU, map[string]any{ParamEta: 0.5, ParamIterations: 30})
	for i, p := range dno.Series[MetricExploitability] {
		if q := mwu.Series[MetricExploitability][i]; math.Abs(p.Value-q.Value) > exactTol {
			t.Fatalf("t=%d: DNO %v, MWU %v", p.Step, p.Value, q.Value)
		}
	}
}

// TestBTRLHF: on a BT game the BT-RLHF policy is nearly unexploitable; on the
// intransitive default game it puts its mass on the top BT item and stays
// exploitable, far above INPO's π*_τ.
func TestBTRLHF(t *testing.T) {
	bt := run(t, IDBTRLHF, map[string]any{ParamGame: GameTransitive})
	if e := bt.Final[MetricExploitability]; e > 0.01 {
		t.Errorf("transitive game: BT-RLHF exploitability %.4f, want < 0.01", e)
	}
	cyc := run(t, IDBTRLHF, nil)
	inpo := run(t, IDINPO, nil)
	if e, ei := cyc.Final[MetricExploitability], inpo.Final[MetricExploitability]; e < 0.2 || ei > 0.05 {
		t.Errorf("cyclic game: BT-RLHF exploitability %.4f (want ≥ 0.2), INPO %.4f (want ≤ 0.05)", e, ei)
	}
	sampled := run(t, IDBTRLHF, map[string]any{ParamMode: ModeSampled, ParamPairs: 20000})
	if d := math.Abs(sampled.Final[MetricExploitability] - cyc.Final[MetricExploitability]); d > 0.05 {
		t.Errorf("sampled BT fit: exploitability differs from the population fit by %.4f", d)
	}
}

// TestSampledINPO: with 4000 pairs per iteration the sampled INPO iterate
// stays within a noise band of π*_τ (the exact run reaches 1e-4).
func TestSampledINPO(t *testing.T) {
	res := run(t, IDINPO, map[string]any{ParamMode: ModeSampled, ParamIterations: 60, ParamPairs: 4000})
	if l := res.Final[MetricL1TauNash]; l > 0.06 {
		t.Errorf("sampled INPO: ‖π_T − π*_τ‖₁ = %.4f, want ≤ 0.06", l)
	}
	if _, ok := res.Series[MetricLoss]; !ok {
		t.Error("sampled run has no loss series")
	}
}

// TestLogLinearRichFeatures: with d = 32 features for X·K = 40 (prompt,
// action) cells the log-linear policy does about as well as the tabular one
// (with d = 4 it stays near its initial exploitability, see the notebook).
// Exploitability after 30 sampled iterations on the contextual game.
func TestLogLinearRichFeatures(t *testing.T) {
	common := map[string]any{ParamMode: ModeSampled, ParamGame: GameContextual, ParamFeatures: 32, ParamIterations: 30}
	with := func(policy string) float64 {
		p := map[string]any{ParamPolicy: policy}
		for k, v := range common {
			p[k] = v
		}
		return run(t, IDINPO, p).Final[MetricExploitability]
	}
	tab, ll := with(PolicyTabular), with(PolicyLogLinear)
	if math.Abs(tab-ll) > 0.02 || ll > 0.07 {
		t.Errorf("d = 32: exploitability tabular %.4f, log-linear %.4f; want both ≤ 0.07 and within 0.02", tab, ll)
	}
}

func TestDeterminism(t *testing.T) {
	p := map[string]any{ParamIterations: 10, kernel.ParamSeed: 3, ParamPairs: 200, fit.ParamSteps: 50}
	a, b := run(t, IDCompare, p), run(t, IDCompare, p)
	ja, _ := a.CanonicalJSON()
	jb, _ := b.CanonicalJSON()
	if !bytes.Equal(ja, jb) {
		t.Error("same seed, different results")
	}
	p[kernel.ParamSeed] = 4
	c := run(t, IDCompare, p)
	if seriesAt(t, c, MetricExploitability+"/"+MethodINPOSampled, 10) == seriesAt(t, a, MetricExploitability+"/"+MethodINPOSampled, 10) {
		t.Error("different seeds, same sampled trajectory")
	}
	if seriesAt(t, c, MetricExploitability+"/"+MethodINPOExact, 10) != seriesAt(t, a, MetricExploitability+"/"+MethodINPOExact, 10) {
		t.Error("the exact trajectory depends on the seed")
	}
}

func TestCompare(t *testing.T) {
	res := run(t, IDCompare, map[string]any{ParamIterations: 40, ParamPairs: 500, fit.ParamSteps: 100})
	sum := res.Tables[TableSummary]
	if got := strings.Join(sum.Strings("method"), ","); got != strings.Join(Methods, ",") {
		t.Errorf("summary methods %s, want %s", got, strings.Join(Methods, ","))
	}
	for _, m := range Methods {
		if n := len(res.Series[MetricExploitability+"/"+m]); n != 41 {
			t.Errorf("%s: %d exploitability points, want 41", m, n)
		}
	}
	if _, ok := res.Series["exploitability_avg/mwu"]; ok {
		t.Error("average series kept its internal name")
	}
	kinds := map[string]bool{}
	for _, c := range res.Charts {
		kinds[c.Kind] = true
	}
	for _, k := range []string{"line", "heatmap", "bar"} {
		if !kinds[k] {
			t.Errorf("no %s chart", k)
		}
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"matrix": [[0.5, 0.9], [0.2, 0.5]]}`), 0o644)
	for _, tc := range []struct {
		name   string
		id     string
		params map[string]any
		data   []string
		want   string
	}{
		{"kappa tau", IDINPO, map[string]any{ParamKappa: 20.0}, nil, "kappa·tau"},
		{"exact loglinear", IDINPO, map[string]any{ParamPolicy: PolicyLogLinear}, nil, "needs mode=sampled"},
		{"prct exact", IDDNO, map[string]any{ParamVariant: VariantPrct}, nil, "use mode=sampled"},
		{"two files", IDMWU, nil, []string{bad, bad}, "want at most 1 file (a game), got 2 files"},
		{"bad file", IDINPO, nil, []string{bad}, "bad.json:1: matrix[1][0]"},
	} {
		_, err := kernel.Run(context.Background(), tc.id, kernel.Options{Params: tc.params, Data: tc.data})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	_, err := kernel.Run(context.Background(), IDINPO, kernel.Options{Data: []string{bad}})
	var de *datasets.Error
	if !errors.As(err, &de) || de.Field != "matrix[1][0]" {
		t.Errorf("bad file: got %v (%T), want *datasets.Error at matrix[1][0]", err, err)
	}
}

// TestGameFile runs INPO on rock–paper–scissors read from a file: by
// symmetry π*_τ is uniform for a uniform π_ref, and INPO reaches it.
func TestGameFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rps.json")
	var buf bytes.Buffer
	datasets.RockPaperScissors().WriteJSON(&buf)
	os.WriteFile(path, buf.Bytes(), 0o644)
	res := run(t, IDINPO, map[string]any{ParamIterations: 300}, path)
	for _, v := range res.Tables[TablePolicy].Floats("prob") {
		if math.Abs(v-1.0/3) > 1e-6 {
			t.Errorf("policy %v, want uniform", res.Tables[TablePolicy].Rows)
			break
		}
	}
}

// TestCharts checks that every plugin's declared charts can be drawn from
// its own result (series and tables exist, kinds are known).
func TestCharts(t *testing.T) {
	for _, id := range []string{IDINPO, IDDNO, IDMWU, IDBTRLHF, IDCompare} {
		res := run(t, id, map[string]any{ParamIterations: 5})
		charts, err := report.ChartsWithPrefix(res, "t")
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		if len(charts) < 3 {
			t.Errorf("%s: %d charts, want ≥ 3 (line, heatmap, bar)", id, len(charts))
		}
	}
}

// TestIterateLossAndDivergence checks the iteration loop's wiring: exact
// updates record no loss, learned ones record theirs at their iteration,
// and a NaN loss stops the run as a *kernel.DivergedError naming the
// iteration and the loss metric.
func TestIterateLossAndDivergence(t *testing.T) {
	g := datasets.CyclicGame(5, 3, 1)
	ev, err := newEvaluator(g, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	losses := []float64{0, 0.5, 0.25, math.NaN()} // by iteration; t = 0 unused
	for _, tc := range []struct {
		name    string
		iters   int
		learned func(t int) bool
		want    []kernel.Point // loss series
		diverge int64          // iteration of the divergence; 0 for none
	}{
		{"exact", 2, func(int) bool { return false }, nil, 0},
		{"learned", 2, func(int) bool { return true }, []kernel.Point{{Step: 1, Value: 0.5}, {Step: 2, Value: 0.25}}, 0},
		{"skipped", 2, func(t int) bool { return t != 1 }, []kernel.Point{{Step: 2, Value: 0.25}}, 0},
		{"diverged", 3, func(int) bool { return true }, nil, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job := kernel.NewJob(context.Background(), IDINPO, kernel.Params{}, nil)
			observed := 0
			_, _, err := iterate(job, ev, logAll(ev.ref), tc.iters, "", func(t int, logPi [][]float64) ([][]float64, float64, bool, error) {
				return logPi, losses[t], tc.learned(t), nil
			}, func(int, [][]float64, [][]float64) error { observed++; return nil })
			if tc.diverge > 0 {
				var de *kernel.DivergedError
				if !errors.As(err, &de) || de.Step != tc.diverge || de.Metric != MetricLoss {
					t.Fatalf("got %v, want a *kernel.DivergedError of %s at step %d", err, MetricLoss, tc.diverge)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := job.Result.Series[MetricLoss]; !slices.Equal(got, tc.want) {
				t.Errorf("loss series %v, want %v", got, tc.want)
			}
			if n := len(job.Result.Series[MetricExploitability]); n != tc.iters+1 || observed != tc.iters+1 {
				t.Errorf("%d exploitability points and %d observed iterates, want %d", n, observed, tc.iters+1)
			}
		})
	}
}
