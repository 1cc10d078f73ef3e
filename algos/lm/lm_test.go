package lm

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/algos/decoder"
	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

const (
	// tolF32 bounds the difference between the float32 graph and a float64
	// recomputation of sums of a few log-softmax terms.
	tolF32 = 2e-4
	// tolStart bounds h at π = π_ref: the offsets are log π_ref from an
	// evaluation graph, the training graph recomputes log π in float32 in
	// batches of another shape, so h is 0 to float32 rounding (≈ 1e-6).
	tolStart = 1e-5
)

// smallEnv is a task of 12 training prompts and a test-size model.
func smallEnv(t *testing.T) *Env {
	t.Helper()
	cfg := datasets.DefaultTextTaskConfig()
	cfg.Prompts, cfg.TestPrompts, cfg.MaxOperand, cfg.Demos, cfg.PrincipleMaxChars = 12, 4, 9, 48, 2
	task, err := datasets.GenerateTextTask(cfg, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEnv(task, "byte", decoder.SizeTest, "")
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// handSeq is log π(y|x) of row i of b from the model's logits, in float64.
func handSeq(t *testing.T, m *decoder.Model, b *decoder.Batch) []float64 {
	t.Helper()
	lg, err := m.Logits(b)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, b.B)
	for i := range b.B {
		for tt := range b.L {
			if b.Mask[i*b.L+tt] == 0 {
				continue
			}
			out[i] += logSoftmax(lg[i][tt])[b.Targets[i*b.L+tt]]
		}
	}
	return out
}

func logSoftmax(z []float64) []float64 {
	mx := slices.Max(z)
	s := 0.0
	for _, v := range z {
		s += math.Exp(v - mx)
	}
	out := make([]float64, len(z))
	for i, v := range z {
		out[i] = v - mx - math.Log(s)
	}
	return out
}

// handKL is Σ_t mask·KL(ref ‖ π) at every completion position of row i.
func handKL(t *testing.T, m, ref *decoder.Model, b *decoder.Batch) []float64 {
	t.Helper()
	lp, err := m.Logits(b)
	if err != nil {
		t.Fatal(err)
	}
	lr, err := ref.Logits(b)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, b.B)
	for i := range b.B {
		for tt := range b.L {
			if b.Mask[i*b.L+tt] == 0 {
				continue
			}
			p, q := logSoftmax(lr[i][tt]), logSoftmax(lp[i][tt])
			for v := range p {
				out[i] += math.Exp(p[v]) * (p[v] - q[v])
			}
		}
	}
	return out
}

func testPairs() *datasets.TextPairs {
	return &datasets.TextPairs{Pairs: []datasets.TextPair{
		{Prompt: "1+2=", Chosen: "3", Rejected: "4 ok!", Weight: 1},
		{Prompt: "5+5=", Chosen: "10", Rejected: "11", Weight: 1},
		{Prompt: "0+7=", Chosen: "7", Rejected: "7 yes", Weight: 1},
	}}
}

// moved returns a copy of ref moved away from it by a few DPO steps, so
// that policy and reference differ.
func moved(t *testing.T, e *Env, ref *decoder.Model, pairs *datasets.TextPairs) *decoder.Model {
	t.Helper()
	pol, err := ref.Clone()
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.PairData(pairs, ref, false, false)
	if err != nil {
		t.Fatal(err)
	}
	cfg := PrefConfig{Config: fit.Config{Optimizer: fit.Adam, LearningRate: 1e-2, Steps: 3, EvalEvery: 3}, Loss: LossDPO, Beta: 0.1}
	if err := Prefer(context.Background(), pol, d, cfg, rand.New(rand.NewPCG(1, 2)), nil, nil); err != nil {
		t.Fatal(err)
	}
	return pol
}

// TestImplicitReward: PairMargins's h (β·h is DPO's implicit-reward
// margin) equals [log π − log π_ref](y_w) − [log π − log π_ref](y_l)
// recomputed from the two models' logits.
func TestImplicitReward(t *testing.T) {
	e := smallEnv(t)
	ref, _ := e.NewModel(3)
	pairs := testPairs()
	pol := moved(t, e, ref, pairs)
	d, err := e.PairData(pairs, ref, false, false)
	if err != nil {
		t.Fatal(err)
	}
	h, err := PairMargins(pol, d)
	if err != nil {
		t.Fatal(err)
	}
	sp, sr := handSeq(t, pol, d.Rows), handSeq(t, ref, d.Rows)
	for i := range h {
		want := (sp[i] - sr[i]) - (sp[d.P+i] - sr[d.P+i])
		if math.Abs(h[i]-want) > tolF32 {
			t.Errorf("pair %d: h = %v, by hand %v", i, h[i], want)
		}
		if want == 0 {
			t.Errorf("pair %d: the policy did not move", i)
		}
	}
}

// lossAt returns the loss Prefer reports for one full-batch step taken at
// a learning rate too small to move the weights: the loss at the current
// weights.
func lossAt(t *testing.T, pol *decoder.Model, d *PairData, cfg PrefConfig) float64 {
	t.Helper()
	c, err := pol.Clone()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Config = fit.Config{Optimizer: fit.SGD, LearningRate: 1e-30, Steps: 1, EvalEvery: 1}
	var got float64
	rec := func(step int64, name string, v float64) error {
		if name == "loss" {
			got = v
		}
		return nil
	}
	if err := Prefer(context.Background(), c, d, cfg, rand.New(rand.NewPCG(1, 1)), rec, nil); err != nil {
		t.Fatal(err)
	}
	return got
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// TestLossesByHand checks every loss of Prefer against its formula, from
// the models' logits: at π = π_ref (h = 0, δ = 0) and after π moved.
func TestLossesByHand(t *testing.T) {
	e := smallEnv(t)
	ref, _ := e.NewModel(5)
	pairs := testPairs()
	pol := moved(t, e, ref, pairs)
	const beta, eps, alpha, kappa, tau = 0.5, 0.2, 0.5, 2.0, 0.1
	d, err := e.PairData(pairs, ref, true, false)
	if err != nil {
		t.Fatal(err)
	}
	sp, sr := handSeq(t, pol, d.Rows), handSeq(t, ref, d.Rows)
	kl := handKL(t, pol, ref, d.Rows)
	P := d.P
	mean := func(f func(i int) float64) float64 {
		s := 0.0
		for i := range P {
			s += f(i)
		}
		return s / float64(P)
	}
	h := func(i int) float64 { return (sp[i] - sr[i]) - (sp[P+i] - sr[P+i]) }
	nls := func(x float64) float64 { return -math.Log(sigmoid(x)) }
	// INPO's offsets: κτ·log π_ref + (1−κτ)·log π_t with π_t = ref here
	// scaled differently on purpose: π_t's log-probs replaced by 0.
	di := *d
	di.Offset = make([]float64, 2*P)
	for i := range di.Offset {
		di.Offset[i] = kappa * tau * d.Offset[i]
	}
	hi := func(i int) float64 { return (sp[i] - kappa*tau*sr[i]) - (sp[P+i] - kappa*tau*sr[P+i]) }
	cases := []struct {
		loss string
		data *PairData
		want float64
	}{
		{LossDPO, d, mean(func(i int) float64 { return nls(beta * h(i)) })},
		{LossCDPO, d, mean(func(i int) float64 { return (1-eps)*nls(beta*h(i)) + eps*nls(-beta*h(i)) })},
		{LossRDPO, d, mean(func(i int) float64 { return ((1-eps)*nls(beta*h(i)) - eps*nls(-beta*h(i))) / (1 - 2*eps) })},
		{LossIPO, d, mean(func(i int) float64 { x := h(i) - 1/(2*beta); return x * x })},
		{LossTDPO1, d, mean(func(i int) float64 { return nls(beta * (h(i) - (kl[P+i] - kl[i]))) })},
		{LossTDPO2, d, mean(func(i int) float64 { return nls(beta * (h(i) - alpha*(kl[P+i]-kl[i]))) })},
		{LossINPO, &di, mean(func(i int) float64 { x := hi(i) - kappa/2; return x * x })},
	}
	for _, c := range cases {
		cfg := PrefConfig{Loss: c.loss, Beta: beta, Epsilon: eps, Alpha: alpha, Kappa: kappa}
		got := lossAt(t, pol, c.data, cfg)
		if math.Abs(got-c.want) > tolF32*math.Max(1, math.Abs(c.want)) {
			t.Errorf("%s: loss %v, by hand %v", c.loss, got, c.want)
		}
	}
	// At π = π_ref: h = 0 and δ = 0, so DPO and TDPO give log 2 and IPO 1/(2β)².
	for _, c := range []struct {
		loss string
		want float64
	}{{LossDPO, math.Ln2}, {LossTDPO1, math.Ln2}, {LossTDPO2, math.Ln2}, {LossIPO, 1 / (4 * beta * beta)}} {
		got := lossAt(t, ref, d, PrefConfig{Loss: c.loss, Beta: beta, Alpha: alpha})
		if math.Abs(got-c.want) > tolStart {
			t.Errorf("%s at π = π_ref: loss %v, want %v", c.loss, got, c.want)
		}
	}
}

// TestSFTRecoversDemonstration: SFT on one clean demonstration makes the
// greedy completion equal to it (the planted answer recovered).
func TestSFTRecoversDemonstration(t *testing.T) {
	e := smallEnv(t)
	m, _ := e.NewModel(7)
	ex := []datasets.TextExample{{Prompt: "3+4=", Completion: "7"}, {Prompt: "2+9=", Completion: "11"}}
	b, err := e.SFTBatch(ex)
	if err != nil {
		t.Fatal(err)
	}
	var last float64
	rec := func(step int64, name string, v float64) error { last = v; return nil }
	// EvalEvery 10: rec receives the mean loss of steps 51–60.
	cfg := fit.Config{Optimizer: fit.Adam, LearningRate: 1e-2, Steps: 60, EvalEvery: 10}
	if err := SFT(context.Background(), m, b, cfg, rand.New(rand.NewPCG(1, 1)), rec, nil); err != nil {
		t.Fatal(err)
	}
	if last > 0.05 {
		t.Errorf("SFT loss %v after 60 steps on two demonstrations", last)
	}
	got, _, err := m.Sample(e.Tok, []string{"3+4=", "2+9="}, decoder.SampleOptions{TopK: 1}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != "7" || got[1] != "11" {
		t.Errorf("greedy completions %q, want [7 11]", got)
	}
}

// TestGeneratePairsLabels: generated pairs are ordered by the verifier
// (chosen scores higher) unless flipped, and the flip rate is near the
// asked one.
func TestGeneratePairsLabels(t *testing.T) {
	e := smallEnv(t)
	m, _ := e.NewModel(2)
	// A fresh model emits junk; SFT for a few steps so scores differ.
	b, _ := e.SFTBatch(e.Task.Demos)
	_ = SFT(context.Background(), m, b, fit.Config{Optimizer: fit.Adam, LearningRate: 3e-3, Steps: 30, BatchSize: 16, EvalEvery: 30}, rand.New(rand.NewPCG(1, 1)), nil, nil)
	const flip = 0.3
	p, err := e.GeneratePairs(m, 300, flip, rand.New(rand.NewPCG(4, 4)))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, q := range p.Pairs {
		sc, sr := e.Task.Score(q.Prompt, q.Chosen), e.Task.Score(q.Prompt, q.Rejected)
		if (sc > sr) == q.Flipped || sc == sr {
			t.Fatalf("pair %+v: scores %v, %v", q, sc, sr)
		}
		if q.Flipped {
			n++
		}
	}
	rate := float64(n) / float64(len(p.Pairs))
	se := math.Sqrt(flip * (1 - flip) / float64(len(p.Pairs)))
	if math.Abs(rate-flip) > 4*se {
		t.Errorf("flip rate %v, want %v ± %v", rate, flip, 4*se)
	}
}

func TestParseModels(t *testing.T) {
	n, d, err := parseModels("sft=/a, dpo=/b")
	if err != nil || !slices.Equal(n, []string{"sft", "dpo"}) || !slices.Equal(d, []string{"/a", "/b"}) {
		t.Fatalf("got %v %v %v", n, d, err)
	}
	for _, bad := range []string{"sft", "=x", "a=/x,a=/y"} {
		if _, _, err := parseModels(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestPairDataReadsRefLogps: TRL's ref_chosen_logps/ref_rejected_logps
// are the offsets when every pair has them (no reference model needed).
func TestPairDataReadsRefLogps(t *testing.T) {
	e := smallEnv(t)
	pairs := testPairs()
	pairs.HasRef = true
	for i := range pairs.Pairs {
		pairs.Pairs[i].RefChosen, pairs.Pairs[i].RefRejected = -float64(i+1), -float64(10*i+5)
	}
	d, err := e.PairData(pairs, nil, false, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{-1, -2, -3, -5, -15, -25}
	if !slices.Equal(d.Offset, want) {
		t.Fatalf("offsets %v, want %v", d.Offset, want)
	}
}

// TestRunsOnFiles: lm.sft and lm.dpo read TRL's JSONL files, and a bad line
// is an error naming the file and line.
func TestRunsOnFiles(t *testing.T) {
	dir := t.TempDir()
	sft := filepath.Join(dir, "sft.jsonl")
	write(t, sft, `{"prompt": "1+2=", "completion": "3"}`+"\n"+`{"prompt": [{"role": "user", "content": "4+4="}], "completion": "8"}`+"\n")
	prefs := filepath.Join(dir, "prefs.jsonl")
	write(t, prefs, `{"prompt": "1+2=", "chosen": "3", "rejected": "4 ok!"}`+"\n"+`{"prompt": "4+4=", "chosen": "8", "rejected": "9"}`+"\n")
	quick := func(id string) map[string]any {
		p, _ := kernel.QuickParams(id)
		return p
	}
	if _, err := kernel.Run(context.Background(), IDSFT, kernel.Options{Params: quick(IDSFT), Data: []string{sft}}); err != nil {
		t.Fatal(err)
	}
	res, err := kernel.Run(context.Background(), IDDPO, kernel.Options{Params: quick(IDDPO), Data: []string{prefs}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := res.Final["pairs"]; ok {
		t.Errorf("a run on a file reports generated pairs: %v", res.Final)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	write(t, bad, `{"prompt": "1+2=", "chosen": "3", "rejected": "4"}`+"\n"+`{"prompt": "1+2=", "chosen": 3, "rejected": "4"}`+"\n")
	_, err = kernel.Run(context.Background(), IDDPO, kernel.Options{Params: quick(IDDPO), Data: []string{bad}})
	var de *datasets.Error
	if !errors.As(err, &de) || de.Line != 2 || de.Field != "chosen" {
		t.Fatalf("bad file: got %v, want a *datasets.Error at line 2, field chosen", err)
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBPEChain: a model saved with a BPE tokenizer brings its
// tokenizer.json along: lm.dpo started from it needs no tokenizer param.
func TestBPEChain(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sft")
	p, _ := kernel.QuickParams(IDSFT)
	p[ParamTokenizer], p[ParamSave] = "bpe", dir
	if _, err := kernel.Run(context.Background(), IDSFT, kernel.Options{Params: p}); err != nil {
		t.Fatal(err)
	}
	q, _ := kernel.QuickParams(IDDPO)
	q[ParamSFT] = dir
	res, err := kernel.Run(context.Background(), IDDPO, kernel.Options{Params: q})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Notes) == 0 || !strings.Contains(res.Notes[0], "tokenizer: bpe:") {
		t.Errorf("notes %q: want the saved tokenizer named", res.Notes)
	}
}
