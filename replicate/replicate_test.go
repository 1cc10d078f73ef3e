package replicate

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/algos/dpo"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

func TestBand(t *testing.T) {
	inf := math.Inf(1)
	for _, tc := range []struct {
		b       Band
		text    string
		in, out []float64
	}{
		{AtMost(0.05), "≤ 0.05", []float64{-inf, 0, 0.05}, []float64{0.0500001, inf, math.NaN()}},
		{AtLeast(0.9), "≥ 0.9", []float64{0.9, 1, inf}, []float64{0.8999, -inf, math.NaN()}},
		{Above(1), "> 1", []float64{1.0000001, 44}, []float64{1, 0.5, math.NaN()}},
		{Within(0.9, 0.97), "[0.9, 0.97]", []float64{0.9, 0.93, 0.97}, []float64{0.89, 0.98, math.NaN()}},
		{Within(1, 1), "= 1", []float64{1}, []float64{0.9999999}},
		{Band{Low: 0, High: 0.5, HighOpen: true}, "[0, 0.5)", []float64{0, 0.4999}, []float64{0.5}},
		{Band{Low: math.Inf(-1), High: inf}, "any", []float64{0, -1e300}, []float64{math.NaN()}},
	} {
		if got := tc.b.String(); got != tc.text {
			t.Errorf("String: got %q, want %q", got, tc.text)
		}
		for _, v := range tc.in {
			if !tc.b.Contains(v) {
				t.Errorf("%s does not contain %v", tc.text, v)
			}
		}
		for _, v := range tc.out {
			if tc.b.Contains(v) {
				t.Errorf("%s contains %v", tc.text, v)
			}
		}
	}
}

func TestClaimStatus(t *testing.T) {
	for _, tc := range []struct {
		name   string
		c      Claim
		status Status
		why    string
	}{
		{"reproduced", Check("a", "a", 0.5, AtMost(1), "theory"), StatusReproduced, ""},
		{"failed", Check("a", "a", 1.5, AtMost(1), "theory"), StatusFailed, ""},
		{"NaN fails", Check("a", "a", math.NaN(), AtMost(1), "theory"), StatusFailed, ""},
		{"known difference", KnownDifference("k", "k", 0.3, AtMost(0.5), "ours", " the paper's gain does not show here "), StatusKnownDifference, "the paper's gain does not show here"},
		// A known difference whose band no longer holds is a regression
		// (or the paper's result now reproduces): it fails, reason kept.
		{"known difference left its band", KnownDifference("k", "k", 0.7, AtMost(0.5), "ours", "no gain here"), StatusFailed, "no gain here"},
		{"known difference without a reason", KnownDifference("k", "k", 0.3, AtMost(0.5), "ours", " "), StatusFailed, `replicate: KnownDifference "k" was given no reason`},
	} {
		if tc.c.Status != tc.status || tc.c.Why != tc.why {
			t.Errorf("%s: status %q, why %q; want %q, %q", tc.name, tc.c.Status, tc.c.Why, tc.status, tc.why)
		}
		if got := tc.c.Failed(); got != (tc.status == StatusFailed) {
			t.Errorf("%s: Failed() = %v", tc.name, got)
		}
	}
	if (Claim{}).Failed() != true {
		t.Error("a claim with no status does not count as failed")
	}
}

func TestClaimPaperString(t *testing.T) {
	c := Check("a", "a", 0.5, AtMost(1), "theory")
	for _, tc := range []struct {
		c    Claim
		want string
	}{
		{c, "—"},
		{c.WithPaper(0.95, ""), "0.95"},
		{c.WithPaper(0.95, "nominal"), "0.95 (nominal)"},
		{c.WithPaperText("far below DPO's"), "far below DPO's"},
		{c.WithPaper(2, "x").WithPaperText("y"), "y"},
	} {
		if got := tc.c.PaperString(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

func TestClaimJSON(t *testing.T) {
	for _, tc := range []struct {
		c    Claim
		want string
	}{
		{Check("a", "claim a", 0.5, AtMost(1), "theory").WithPaper(0.25, "Table 2"),
			`{"paper":"","name":"a","claim":"claim a","measured":0.5,"paper_value":0.25,"paper_text":"Table 2","status":"reproduced","expected":"≤ 1","low":null,"high":1,"source":"theory"}`},
		{Check("b", "claim b", math.NaN(), Above(1), "paper"),
			`{"paper":"","name":"b","claim":"claim b","measured":"NaN","paper_value":null,"status":"failed","expected":"> 1","low":1,"high":null,"low_open":true,"source":"paper"}`},
		{KnownDifference("k", "claim k", 0.1, AtMost(0.5), "ours", "the gain does not show").WithPaperText("a visible gain"),
			`{"paper":"","name":"k","claim":"claim k","measured":0.1,"paper_value":null,"paper_text":"a visible gain","status":"known difference","why":"the gain does not show","expected":"≤ 0.5","low":null,"high":0.5,"source":"ours"}`},
	} {
		b, err := tc.c.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("got  %s\nwant %s", b, tc.want)
		}
	}
}

func TestRegisterRejects(t *testing.T) {
	run := func(context.Context, bool, int64) ([]Claim, []*kernel.Result, error) { return nil, nil, nil }
	for _, p := range []Paper{{Name: "", Run: run}, {Name: "Upper", Run: run}, {Name: "a b", Run: run}, {Name: "nil_run"}, {Name: "bt", Run: run}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) did not panic", p.Name)
				}
			}()
			Register(p)
		}()
	}
}

// withPapers registers throw-away papers for one test.
func withPapers(t *testing.T, papers ...Paper) {
	t.Helper()
	for _, p := range papers {
		Register(p)
	}
	t.Cleanup(func() {
		for _, p := range papers {
			registry.Remove(p.Name)
		}
	})
}

func fakeResult(t *testing.T) *kernel.Result {
	t.Helper()
	job := kernel.NewJob(context.Background(), "test.fake", kernel.Params{kernel.ParamSeed: int64(3)}, nil)
	job.Record(0, "x", 1)
	job.Record(1, "x", 0.5)
	job.SetFinal("x", 0.5)
	job.AddChart(kernel.Chart{Kind: "line", ID: "x", Title: "x <&>", Series: []string{"x"}})
	return job.Result
}

func TestReplicateReport(t *testing.T) {
	var seeds []int64
	withPapers(t,
		Paper{Name: "zz_good", Title: "Good <paper>", Run: func(_ context.Context, quick bool, seed int64) ([]Claim, []*kernel.Result, error) {
			seeds = append(seeds, seed)
			return []Claim{Check("c1", "one <b>", 1, AtMost(2), "a derivation").WithPaper(1.25, ""),
				KnownDifference("k1", "kd", 0.1, AtMost(0.5), "our finding", "no gain here").WithPaperText("a gain")}, []*kernel.Result{fakeResult(t)}, nil
		}},
		Paper{Name: "zz_bad", Title: "Bad", Run: func(context.Context, bool, int64) ([]Claim, []*kernel.Result, error) {
			return []Claim{Check("c2", "two", 3, AtMost(2), "the paper"), Check("c3", "three", 1, AtLeast(1), "the paper"),
				KnownDifference("k2", "kd2", 0.9, AtMost(0.5), "our finding", "it differed")}, nil, nil
		}},
		Paper{Name: "zz_err", Title: "Err", Run: func(context.Context, bool, int64) ([]Claim, []*kernel.Result, error) {
			return nil, nil, errors.New("no data\nsecond line")
		}},
		Paper{Name: "zz_panic", Title: "Panic", Run: func(context.Context, bool, int64) ([]Claim, []*kernel.Result, error) {
			var m map[string]int
			m["x"] = 1
			return nil, nil, nil
		}},
		Paper{Name: "zz_none", Title: "None", Run: func(context.Context, bool, int64) ([]Claim, []*kernel.Result, error) {
			return nil, nil, nil
		}},
	)
	var progress []string
	rep, err := Replicate(context.Background(), []string{"zz_good", "zz_bad", "zz_err", "zz_panic", "zz_none", "zz_good"}, Options{
		Quick: true, Seed: 5,
		Progress: func(p string, done bool, _ *PaperReport) {
			if done {
				progress = append(progress, p+" done")
			} else {
				progress = append(progress, p)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seeds) != 1 || seeds[0] != 5 {
		t.Errorf("zz_good ran with seeds %v, want once with 5", seeds)
	}
	if got := strings.Join(progress, ","); got != "zz_good,zz_good done,zz_bad,zz_bad done,zz_err,zz_err done,zz_panic,zz_panic done,zz_none,zz_none done" {
		t.Errorf("progress %s", got)
	}
	if r, k, f := rep.Counts(); r != 2 || k != 1 || f != 2 {
		t.Errorf("counts %d reproduced, %d known, %d failed; want 2 (c1, c3), 1 (k1), 2 (c2, k2)", r, k, f)
	}
	if rep.Pass() || rep.Failures() != 5 || rep.NotRun() != 3 || len(rep.Claims()) != 5 {
		t.Errorf("pass %v, failures %d, not run %d, claims %d; want false, 5 (c2, k2, err, panic, none), 3, 5", rep.Pass(), rep.Failures(), rep.NotRun(), len(rep.Claims()))
	}
	if c := rep.Claims()[0]; c.Paper != "zz_good" {
		t.Errorf("claim paper %q, want zz_good", c.Paper)
	}
	if err := rep.Papers[3].Err; err == nil || err.Error() != "replicate: zz_panic: panic: assignment to entry in nil map" {
		t.Errorf("panic became %v", err)
	}
	var b strings.Builder
	rep.WriteTable(&b)
	out := b.String()
	for _, want := range []string{
		"paper     claim          ours  band   paper's  status\n",
		"zz_good   one <b>        1     ≤ 2    1.25     reproduced\n",
		"zz_good   kd             0.1   ≤ 0.5  a gain   known difference\n",
		"zz_bad    two            3     ≤ 2    —        FAILED\n",
		"zz_bad    kd2            0.9   ≤ 0.5  —        FAILED\n",
		"zz_err    (did not run)                        ERROR\n",
		"zz_err: no data second line\n",
		"zz_none: replicate: zz_none: the replication checked no claim\n",
		"known differences (the paper's result does not hold here; the band checks ours):\n  zz_good/k1: no gain here\n  zz_bad/k2 (FAILED: left its band): it differed\n",
		"\n2 reproduced, 1 known difference, 2 failed; 3 paper(s) did not run (quick, seed 5, ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table misses %q:\n%s", want, out)
		}
	}
	js, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		Seed             int64
		Quick            bool
		Pass             bool
		Summary          string
		Reproduced       int
		KnownDifferences int `json:"known_differences"`
		Failed           int
		PapersNotRun     int `json:"papers_not_run"`
		Failures         int
		Papers           []struct {
			Name    string
			Error   string
			Claims  []map[string]any
			Results []struct {
				Plugin     string
				Provenance kernel.Provenance
				Final      map[string]any
			}
		}
	}
	if err := json.Unmarshal(js, &decoded); err != nil {
		t.Fatalf("replication.json: %v\n%s", err, js)
	}
	if decoded.Seed != 5 || !decoded.Quick || decoded.Pass || decoded.Failures != 5 || len(decoded.Papers) != 5 ||
		decoded.Reproduced != 2 || decoded.KnownDifferences != 1 || decoded.Failed != 2 || decoded.PapersNotRun != 3 ||
		decoded.Summary != "2 reproduced, 1 known difference, 2 failed; 3 paper(s) did not run" {
		t.Errorf("decoded %+v", decoded)
	}
	if k := decoded.Papers[0].Claims[1]; k["status"] != "known difference" || k["why"] != "no gain here" || k["paper_text"] != "a gain" || k["measured"] != 0.1 {
		t.Errorf("known difference in replication.json: %v", k)
	}
	if c := decoded.Papers[0].Claims[0]; c["status"] != "reproduced" || c["paper_value"] != 1.25 || c["why"] != nil {
		t.Errorf("reproduced claim in replication.json: %v", c)
	}
	if k := decoded.Papers[1].Claims[2]; k["status"] != "failed" || k["why"] != "it differed" {
		t.Errorf("known difference that left its band in replication.json: %v", k)
	}
	if r := decoded.Papers[0].Results; len(r) != 1 || r[0].Plugin != "test.fake" || r[0].Provenance.GoVersion == "" || r[0].Final["x"] != 0.5 {
		t.Errorf("result summary %+v", r)
	}
	if decoded.Papers[2].Error != "no data second line" {
		t.Errorf("error %q", decoded.Papers[2].Error)
	}
	html, err := rep.HTML()
	if err != nil {
		t.Fatal(err)
	}
	h := string(html)
	for _, want := range []string{"one &lt;b&gt;", "Good &lt;paper&gt;", "FAILED", "a derivation", "goecharts_p0_r0_test_fake_x", "did not run: no data second line",
		"<b>2 reproduced, 1 known difference, 2 failed; 3 paper(s) did not run</b>", ">known difference</td><td>no gain here</td>", "<td>1.25</td>"} {
		if !strings.Contains(h, want) {
			t.Errorf("report.html misses %q", want)
		}
	}
	if strings.Contains(h, "one <b>") {
		t.Error("report.html does not escape claim text")
	}
	if strings.Contains(h, ">pass<") || strings.Contains(out, " pass") {
		t.Error("the report still reads a claim as \"pass\"")
	}
}

// TestReportPassesWithKnownDifferences: reproduced claims and known
// differences pass the report; one failed claim does not.
func TestReportPassesWithKnownDifferences(t *testing.T) {
	rep := &Report{Papers: []*PaperReport{{Name: "p", Claims: []Claim{
		Check("a", "a", 1, AtMost(2), "x"),
		KnownDifference("k", "k", 1, AtMost(2), "x", "the paper's result does not hold here"),
	}}}}
	if !rep.Pass() || rep.Summary() != "1 reproduced, 1 known difference, 0 failed" {
		t.Errorf("pass %v, summary %q; want true, \"1 reproduced, 1 known difference, 0 failed\"", rep.Pass(), rep.Summary())
	}
	rep.Papers[0].Claims = append(rep.Papers[0].Claims, KnownDifference("k2", "k2", 3, AtMost(2), "x", "why"))
	if rep.Pass() || rep.Summary() != "1 reproduced, 1 known difference, 1 failed" {
		t.Errorf("pass %v, summary %q; want false, \"1 reproduced, 1 known difference, 1 failed\"", rep.Pass(), rep.Summary())
	}
}

func TestReplicateErrors(t *testing.T) {
	_, err := Replicate(context.Background(), []string{"bt", "nope"}, Options{})
	var ue *UnknownPaperError
	if !errors.As(err, &ue) || ue.Name != "nope" || !strings.Contains(err.Error(), "(known: "+strings.Join(Names(), ", ")+")") {
		t.Errorf("got %v, want an UnknownPaperError listing the papers", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if rep, err := Replicate(ctx, []string{"bt"}, Options{}); !errors.Is(err, context.Canceled) || rep != nil {
		t.Errorf("cancelled: got %v, %v", rep, err)
	}
}

// TestBTFisherEqualStrengths checks the Fisher covariance against its
// closed form when every p = ½: I = n/(2K(K−1))·(K·I − 11ᵀ), whose
// pseudo-inverse has trace 2(K−1)²/n.
func TestBTFisherEqualStrengths(t *testing.T) {
	const k, n, tol = 6, 1000, 1e-12
	c := btFisher(make([]float64, k), n)
	if got, want := c.trace(), 2*float64((k-1)*(k-1))/n; math.Abs(got-want) > tol {
		t.Errorf("trace %v, want %v", got, want)
	}
	if len(c.eig) != k-1 {
		t.Errorf("%d non-zero eigenvalues, want %d", len(c.eig), k-1)
	}
	lo, hi := c.rmseBand(0.001)
	pred := math.Sqrt(c.trace() / k)
	if !(lo < pred && pred < hi) {
		t.Errorf("RMSE band [%v, %v] misses the predicted %v", lo, hi, pred)
	}
	// Equal strengths: every pair is a coin flip, so half of all pairs
	// are expected discordant.
	if got, want := c.expectedDiscordant(), float64(k*(k-1)/2)/2; math.Abs(got-want) > tol {
		t.Errorf("expected discordant %v, want %v", got, want)
	}
}

// TestINPOContractionRPS: for rock–paper–scissors with a uniform π_ref,
// π*_τ is uniform and (P − ½)D has eigenvalues 0, ±i√3/6, so
// ρ = |1 − κτ + iκ√3/6| and the initial distance is 0.
func TestINPOContractionRPS(t *testing.T) {
	g := datasets.RockPaperScissors()
	u := []float64{1.0 / 3, 1.0 / 3, 1.0 / 3}
	const kappa, tau, tol = 1.0, 0.1, 1e-12
	rho, d0 := inpoContraction(g.Prompts[0].P, u, u, kappa, tau)
	if want := math.Hypot(1-kappa*tau, kappa*math.Sqrt(3)/6); math.Abs(rho-want) > tol || d0 != 0 {
		t.Errorf("ρ = %v, ‖δ₀‖ = %v; want %v, 0", rho, d0, want)
	}
}

// TestRDPOTheoryNoFlips: without flips rDPO is DPO (ratio 1) and the soft
// labels are the well-specified model's own probabilities, whose logistic
// fit is w* itself (shrinkage 1).
func TestRDPOTheoryNoFlips(t *testing.T) {
	cfg := dpo.DefaultSweepConfig()
	cfg.Data.Pairs, cfg.Data.TestPrompts, cfg.Replicates = 2000, 10, 2
	th, err := rdpoTheory(cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	const tol = 1e-9
	if math.Abs(th.ratio-1) > tol || math.Abs(th.shrink-1) > tol {
		t.Errorf("ε = 0: ratio %v, shrinkage %v; want 1, 1", th.ratio, th.shrink)
	}
	th, err = rdpoTheory(cfg, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	if th.ratio < 1/(1-2*0.3) || th.shrink >= 1 || th.shrink <= 0 {
		t.Errorf("ε = 0.3: ratio %v (want ≥ 2.5), shrinkage %v (want in (0, 1))", th.ratio, th.shrink)
	}
}
