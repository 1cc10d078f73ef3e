package plural

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/algos/backend"
	"github.com/alignlab/alignlab/kernel"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"gonum.org/v1/gonum/stat"
)

// The RLBFF loss and its gradients on a tiny case equal the closed forms,
// written from −log σ(y ĥ) with d/dz log σ(z) = σ(−z), independently of
// pairloss's softplus form.
func TestRLBFFLossClosedForm(t *testing.T) {
	const tol = 1e-12
	items := [][]float64{{1, -0.5, 2}, {0, 1.5, -1}, {-2, 0.3, 0.7}}
	js := []Judgment{{0, 0, true}, {1, 0, false}, {2, 1, true}, {0, 1, false}, {1, 1, true}}
	w := [][]float64{{0.4, -1, 0.2}, {-0.3, 0.8, 1.1}}
	beta := []float64{0.5, -0.2}
	const l2 = 0.1
	nj, d := len(w), len(items[0])

	// Closed forms.
	sig := func(z float64) float64 { return 1 / (1 + math.Exp(-z)) }
	wantMean := 0.0
	wantGW := make([][]float64, nj)
	for j := range wantGW {
		wantGW[j] = make([]float64, d)
		for k := range d {
			wantGW[j][k] = 2 * l2 * w[j][k]
		}
	}
	wantGB := make([]float64, nj)
	m := float64(len(js))
	for _, jd := range js {
		y := -1.0
		if jd.Yes {
			y = 1
		}
		h := dot(w[jd.Principle], items[jd.Item]) + beta[jd.Principle]
		wantMean += math.Log1p(math.Exp(-y*h)) / m
		g := -y * sig(-y*h) / m
		for k := range d {
			wantGW[jd.Principle][k] += g * items[jd.Item][k]
		}
		wantGB[jd.Principle] += g
	}
	wantTotal := wantMean
	for j := range w {
		for _, v := range w[j] {
			wantTotal += l2 * v * v
		}
	}

	be, err := backend.Get("")
	if err != nil {
		t.Fatal(err)
	}
	x, onehot, sign := rlbffInputs(items, nj, js)
	outs := MustExecOnceN(be, func(wn, bn, xn, hn, sn *Node) []*Node {
		mean, total := rlbffLoss(wn, bn, xn, hn, sn, l2)
		grads := Gradient(total, wn, bn)
		return []*Node{mean, total, grads[0], grads[1]}
	}, tensors.FromFlatDataAndDimensions(append(append([]float64{}, w[0]...), w[1]...), nj, d), beta,
		tensors.FromFlatDataAndDimensions(x, len(js), d), tensors.FromFlatDataAndDimensions(onehot, len(js), nj), sign)
	near := func(got, want float64) bool { return math.Abs(got-want) <= tol*(1+math.Abs(want)) }
	if got := tensors.ToScalar[float64](outs[0]); !near(got, wantMean) {
		t.Errorf("mean loss got %v, want %v", got, wantMean)
	}
	if got := tensors.ToScalar[float64](outs[1]); !near(got, wantTotal) {
		t.Errorf("loss with L2 got %v, want %v", got, wantTotal)
	}
	gw := tensors.MustCopyFlatData[float64](outs[2])
	for j := range nj {
		for k := range d {
			if got := gw[j*d+k]; !near(got, wantGW[j][k]) {
				t.Errorf("∂L/∂w[%d][%d] got %v, want %v", j, k, got, wantGW[j][k])
			}
		}
	}
	gb := tensors.MustCopyFlatData[float64](outs[3])
	for j := range nj {
		if got := gb[j]; !near(got, wantGB[j]) {
			t.Errorf("∂L/∂β[%d] got %v, want %v", j, got, wantGB[j])
		}
	}
}

// With 20,000 judgments (5,000 per principle) the fitted heads point along
// the planted ones (Pearson correlation of w_j with v_j ≥ 0.95 for every
// principle), and each principle's held-out accuracy is within tolAcc of
// its exact Bayes accuracy (about 2,000 held-out judgments per principle:
// a standard error near 0.009, plus the sampling of items from the pool).
// Over seeds 0–9 of the plugin at this size the smallest correlation is
// 0.987 and the largest gap to Bayes 0.030.
func TestRLBFFRecoversPrincipleWeights(t *testing.T) {
	const minCorr, tolAcc = 0.95, 0.04
	cfg := DefaultPrincipleConfig()
	cfg.Judgments, cfg.Test = 20000, 8000
	pr, err := GeneratePrinciples(cfg, rand.New(rand.NewPCG(7, 1)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := FitRLBFF(context.Background(), pr, pr.Train, DefaultRLBFFConfig(), rand.New(rand.NewPCG(7, 2)), nil)
	if err != nil {
		t.Fatal(err)
	}
	per, _ := m.JudgmentAccuracy(pr.Items, pr.Test)
	for j := range pr.Satisfy {
		if got := stat.Correlation(pr.Satisfy[j], m.W[j], nil); !(got >= minCorr) {
			t.Errorf("principle %d: correlation of w with v got %v, want ≥ %v", j, got, minCorr)
		}
		if got, want := per[j], pr.JudgmentBayes(j); !(math.Abs(got-want) <= tolAcc) {
			t.Errorf("principle %d: held-out accuracy got %v, want within %v of the Bayes accuracy %v", j, got, tolAcc, want)
		}
	}
}

// At matched data (2,000 binary judgments vs 2,000 preference labels on a
// pool of 200 items) the principle-based reward model is at least as
// accurate as the single BT model under the population weighting it was
// trained for, at every point of the matched-data curve; under the other
// weightings, which BT cannot follow, it is ahead by at least minGain; and
// it sits within tolBayes of each weighting's exact Bayes bound. Over seeds
// 0–9 every matched point has RLBFF ≥ BT (by 0.02–0.05 at 2,000 labels),
// the smallest gain off the population weighting is 0.040 (the ramp, close
// to uniform) and the largest gap to Bayes 0.036.
func TestRLBFFMatchedDataVsBT(t *testing.T) {
	const minGain, tolBayes = 0.03, 0.04
	res, err := kernel.Run(context.Background(), RLBFFID, kernel.Options{Params: map[string]any{kernel.ParamSeed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	f := res.Final
	if got, bt := f["accuracy_population"], f["bt_accuracy_population"]; !(got >= bt) {
		t.Errorf("population weighting: RLBFF accuracy got %v, want ≥ BT's %v", got, bt)
	}
	tab := res.Tables["matched_data"]
	labels, models, accs := tab.Floats("labels"), tab.Strings("model"), tab.Floats("accuracy")
	byLabels := map[float64]map[string]float64{}
	for i := range labels {
		if byLabels[labels[i]] == nil {
			byLabels[labels[i]] = map[string]float64{}
		}
		byLabels[labels[i]][models[i]] = accs[i]
	}
	if len(byLabels) != 5 {
		t.Errorf("matched-data curve has %d sizes, want 5", len(byLabels))
	}
	for n, a := range byLabels {
		if !(a["rlbff"] >= a["bt"]) {
			t.Errorf("matched data, %v labels: RLBFF got %v, want ≥ BT's %v", n, a["rlbff"], a["bt"])
		}
	}
	for w := 1; w < len(DefaultWeightings(4)); w++ {
		name := weightingName(w)
		if got, bt := f["accuracy_"+name], f["bt_accuracy_"+name]; !(got >= bt+minGain) {
			t.Errorf("weighting %s: RLBFF got %v, want ≥ BT's %v + %v", name, got, bt, minGain)
		}
	}
	for w := range DefaultWeightings(4) {
		name := weightingName(w)
		if got, want := f["accuracy_"+name], f["bayes_accuracy_"+name]; !(math.Abs(got-want) <= tolBayes) {
			t.Errorf("weighting %s: RLBFF got %v, want within %v of the Bayes bound %v", name, got, tolBayes, want)
		}
	}
	if got, lo, hi := f["accuracy"], f["irreducible_accuracy"], f["oracle_accuracy"]; !(got > lo && got <= hi+tolBayes) {
		t.Errorf("overall accuracy got %v, want above the irreducible %v and at most the oracle %v + %v", got, lo, hi, tolBayes)
	}
	if got := f["matched_labels"]; got != 2000 {
		t.Errorf("matched_labels got %v, want 2000", got)
	}
}

// With a single weighting the bounds coincide: a user-agnostic predictor
// loses nothing (irreducible = oracle = PairBayes) and the majority order
// is the composed reward's, hence transitive. With two opposite-leaning
// weightings the irreducible accuracy is strictly below the oracle.
func TestPrinciplesBounds(t *testing.T) {
	const tol = 1e-12
	cfg := DefaultPrincipleConfig()
	cfg.Items, cfg.Judgments, cfg.Test = 30, 10, 10
	cfg.Weightings = [][]float64{{1, 2, 0, 1}}
	pr, err := GeneratePrinciples(cfg, rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	c := pr.Weightings[0]
	if got := c[1]; math.Abs(got-0.5) > tol {
		t.Errorf("normalised weight got %v, want 0.5", got)
	}
	irr, transitive := pr.IrreducibleAccuracy()
	if bayes, oracle := pr.PairBayes(c), pr.OracleAccuracy(); math.Abs(irr-bayes) > tol || math.Abs(oracle-bayes) > tol {
		t.Errorf("one weighting: irreducible %v, oracle %v, want both = PairBayes %v", irr, oracle, bayes)
	}
	if !transitive {
		t.Errorf("one weighting: majority got intransitive, want the composed reward's order")
	}
	// PairBayes by brute force from Reward.
	want, pairs := 0.0, 0
	for a := range pr.Items {
		for b := a + 1; b < len(pr.Items); b++ {
			q := 1 / (1 + math.Exp(-cfg.PrefScale*(pr.Reward(c, a)-pr.Reward(c, b))))
			want += math.Max(q, 1-q)
			pairs++
		}
	}
	if got := pr.PairBayes(c); math.Abs(got-want/float64(pairs)) > tol {
		t.Errorf("PairBayes got %v, want %v", got, want/float64(pairs))
	}
	cfg.Weightings = [][]float64{{1, 0, 0, 0}, {0, 0, 0, 1}}
	pr, err = GeneratePrinciples(cfg, rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	if irr, _ := pr.IrreducibleAccuracy(); !(irr < pr.OracleAccuracy()) {
		t.Errorf("two weightings: irreducible %v, want < oracle %v", irr, pr.OracleAccuracy())
	}
}

func TestPrinciplesConfigErrors(t *testing.T) {
	base := DefaultPrincipleConfig()
	for _, tc := range []struct {
		edit func(*PrincipleConfig)
		want string
	}{
		{func(c *PrincipleConfig) { c.Principles = 0 }, "plural: principles and dimension must be ≥ 1, got 0 and 8"},
		{func(c *PrincipleConfig) { c.Items = 1 }, "plural: items must be ≥ 2, got 1"},
		{func(c *PrincipleConfig) { c.Test = 0 }, "plural: judgments and test must be ≥ 1, got 2000 and 0"},
		{func(c *PrincipleConfig) { c.LogitScale = math.NaN() }, "plural: logit scale must be finite and > 0, got NaN"},
		{func(c *PrincipleConfig) { c.PrefScale = 0 }, "plural: preference scale must be finite and > 0, got 0"},
		{func(c *PrincipleConfig) { c.Weightings = [][]float64{} }, "plural: want at least one weighting (the population's)"},
		{func(c *PrincipleConfig) { c.Weightings = [][]float64{{1, 1}} }, "plural: weighting [1 1] has 2 weights, want 4"},
		{func(c *PrincipleConfig) { c.Weightings = [][]float64{{1, -1, 0, 0}} }, "plural: principle weights must be finite and ≥ 0, got [1 -1 0 0]"},
		{func(c *PrincipleConfig) { c.Weightings = [][]float64{{0, 0, 0, 0}} }, "plural: principle weights [0 0 0 0] sum to 0, want > 0"},
	} {
		cfg := base
		tc.edit(&cfg)
		_, err := GeneratePrinciples(cfg, rand.New(rand.NewPCG(1, 1)))
		if err == nil || err.Error() != tc.want {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}

func TestParseWeightings(t *testing.T) {
	got, err := ParseWeightings(" 1,1,2 ; 0,0,3", 3)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float64{{0.25, 0.25, 0.5}, {0, 0, 1}}
	for i := range want {
		for j := range want[i] {
			if got[i][j] != want[i][j] {
				t.Errorf("weighting %d: got %v, want %v", i, got[i], want[i])
			}
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"1,1", `plural: weighting "1,1" has 2 weights, want one per principle (3)`},
		{"1,x,1", `plural: weighting "1,x,1": strconv.ParseFloat: parsing "x": invalid syntax`},
		{"0,0,0", "plural: principle weights [0 0 0] sum to 0, want > 0"},
	} {
		if _, err := ParseWeightings(tc.in, 3); err == nil || err.Error() != tc.want {
			t.Errorf("%q: got %v, want %q", tc.in, err, tc.want)
		}
	}
	// Through the plugin: a bad weighting is the run's error.
	_, err = kernel.Run(context.Background(), RLBFFID, kernel.Options{Params: map[string]any{RLBFFParamWeightings: "1,1"}})
	if err == nil || !strings.Contains(err.Error(), "has 2 weights, want one per principle (4)") {
		t.Errorf("plugin with a bad weighting: got %v", err)
	}
}

// The quick params run in well under a second, record the series the
// chart names and report every weighting.
func TestRLBFFQuick(t *testing.T) {
	res, err := kernel.Run(context.Background(), RLBFFID, kernel.Options{Params: rlbffPlugin{}.QuickParams()})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{MetricRLBFFLoss, MetricBTLoss, MetricRLBFFTestJudg} {
		if len(res.Series[s]) == 0 {
			t.Errorf("series %s: got none", s)
		}
	}
	if got := len(res.Tables["weightings"].Rows); got != 4 {
		t.Errorf("weightings table: got %d rows, want 4", got)
	}
	if got := len(res.Tables["steering"].Rows); got != 4*3 {
		t.Errorf("steering table: got %d rows, want 12", got)
	}
}

// A planted world of 3 principles: the principle heads are fitted from
// binary judgments, then steered by two users' weights without refitting.
func ExampleFitRLBFF() {
	cfg := DefaultPrincipleConfig()
	cfg.Principles, cfg.Items, cfg.Judgments, cfg.Test = 3, 50, 3000, 3000
	cfg.Weightings = [][]float64{{1, 1, 1}, {1, 0, 0}, {0, 0, 1}}
	pr, err := GeneratePrinciples(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := FitRLBFF(context.Background(), pr, pr.Train, DefaultRLBFFConfig(), rand.New(rand.NewPCG(1, 3)), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	per, _ := m.JudgmentAccuracy(pr.Items, pr.Test)
	for j := range per {
		fmt.Printf("principle %d: held-out accuracy %.2f (Bayes %.2f)\n", j, per[j], pr.JudgmentBayes(j))
	}
	for _, c := range pr.Weightings {
		est, truth := make([]float64, len(pr.Items)), make([]float64, len(pr.Items))
		for i, phi := range pr.Items {
			est[i], truth[i] = m.Reward(c, phi, ComposeProb), pr.Reward(c, i)
		}
		fmt.Printf("weights %.2f: top items %v, truth %v\n", c, rankItems(est)[:3], rankItems(truth)[:3])
	}
	// Output:
	// principle 0: held-out accuracy 0.80 (Bayes 0.80)
	// principle 1: held-out accuracy 0.79 (Bayes 0.80)
	// principle 2: held-out accuracy 0.79 (Bayes 0.80)
	// weights [0.33 0.33 0.33]: top items [7 15 4], truth [7 15 4]
	// weights [1.00 0.00 0.00]: top items [35 39 45], truth [35 45 39]
	// weights [0.00 0.00 1.00]: top items [21 15 49], truth [21 15 49]
}
