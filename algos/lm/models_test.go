package lm

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/alignlab/alignlab/algos/fit"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/internal/modeltest"
	"github.com/alignlab/alignlab/kernel"
)

const (
	// tolLoss bounds the difference between the training graph's float32
	// mean token loss and Score's float64 sum of the same log-probs.
	tolLoss = 1e-5
	// tolStill bounds how far one Adam step at learning rate 1e-30 moves a
	// score: not at all, or by the rounding of weights that were 0.
	tolStill = 1e-9
)

// modelFiles are the small files the model tests train and score on.
type modelFiles struct {
	sft, pairs, refPairs, prompts, promptsJSONL string
}

// filePairs are the 8 preference pairs of the files, with reference
// log-probs (written without them too).
func filePairs() *datasets.TextPairs {
	p := &datasets.TextPairs{HasRef: true}
	for i, q := range [][3]string{{"1+2=", "3", "4 ok!"}, {"4+4=", "8", "9"}, {"2+5=", "7", "7 yes"}, {"9+0=", "9", "10"},
		{"3+3=", "6", "5"}, {"7+8=", "15", "16 done."}, {"0+0=", "0", "00"}, {"5+6=", "11", "1"}} {
		p.Pairs = append(p.Pairs, datasets.TextPair{Prompt: q[0], Chosen: q[1], Rejected: q[2], RefChosen: -1.5 - float64(i)/4, RefRejected: -2 - float64(i%3)})
	}
	return p
}

// writeModelFiles writes 6 SFT examples, the pairs with and without
// reference log-probs, and 3 prompts as text and 2 as JSON Lines into dir.
func writeModelFiles(dir string) (modelFiles, error) {
	f := modelFiles{
		sft: filepath.Join(dir, "sft.jsonl"), pairs: filepath.Join(dir, "pairs.jsonl"), refPairs: filepath.Join(dir, "ref.jsonl"),
		prompts: filepath.Join(dir, "prompts.txt"), promptsJSONL: filepath.Join(dir, "prompts.jsonl"),
	}
	texts := map[string]string{
		f.sft: `{"prompt": "1+2=", "completion": "3"}
{"prompt": "4+4=", "completion": "8"}
{"prompt": "2+5=", "completion": "7 ok!"}
{"prompt": "9+0=", "completion": "9"}
{"prompt": [{"role": "user", "content": "3+3="}], "completion": "6"}
{"prompt": "7+8=", "completion": "15"}
`,
		f.prompts:      "1+2=\n\n4+4=\r\n6+1=\n",
		f.promptsJSONL: `{"prompt": "1+2="}` + "\n" + `{"prompt": [{"role": "user", "content": "hi"}], "completion": "x"}` + "\n",
	}
	for path, s := range texts {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			return f, err
		}
	}
	p := filePairs()
	for _, c := range []struct {
		path string
		ref  bool
	}{{f.pairs, false}, {f.refPairs, true}} {
		p.HasRef = c.ref
		var b strings.Builder
		if err := datasets.WriteTextPairs(&b, p); err != nil {
			return f, err
		}
		if err := os.WriteFile(c.path, []byte(b.String()), 0o644); err != nil {
			return f, err
		}
	}
	return f, nil
}

// shared holds the files and runs the model tests share: one run per
// plugin (each takes a second or two), in a directory TestMain removes.
var shared = struct {
	sync.Mutex
	dir   string
	files modelFiles
	res   map[string]*kernel.Result
}{res: map[string]*kernel.Result{}}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// sharedFiles returns the shared files, written on first use.
func sharedFiles(t *testing.T) modelFiles {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if shared.dir == "" {
		dir, err := os.MkdirTemp("", "lm-models-")
		if err != nil {
			t.Fatal(err)
		}
		shared.dir = dir
		if shared.files, err = writeModelFiles(dir); err != nil {
			t.Fatal(err)
		}
	}
	return shared.files
}

// testParams are a plugin's quick params with extra ones.
func testParams(t *testing.T, id string, extra map[string]any) map[string]any {
	t.Helper()
	p, ok := kernel.QuickParams(id)
	if !ok {
		t.Fatalf("%s has no quick params", id)
	}
	maps.Copy(p, extra)
	return p
}

// trainData are the files each plugin trains on in these tests: lm.sft the
// SFT examples, lm.reward and lm.dpo the pairs with reference log-probs.
func trainData(f modelFiles, id string) []string {
	if id == IDSFT {
		return []string{f.sft}
	}
	return []string{f.refPairs}
}

// trained returns the shared run of id with its quick params on
// trainData.
func trained(t *testing.T, id string) (*kernel.Result, modelFiles) {
	t.Helper()
	f := sharedFiles(t)
	shared.Lock()
	defer shared.Unlock()
	if res := shared.res[id]; res != nil {
		return res, f
	}
	res := modeltest.Train(t, id, testParams(t, id, nil), trainData(f, id)...)
	shared.res[id] = res
	return res, f
}

// TestModelRoundTrip: lm.sft, lm.reward and lm.dpo hand back their
// models; saved and loaded back, each scores both file formats (and a
// policy samples) to the byte as the model in memory does, and scoring the
// run's own training pairs reproduces its final pair_accuracy exactly.
// lm.tdpo and lm.inpo hand back their policies through the same code (a
// run of each is two seconds more: replicate's test of every plugin trains
// them); here the policy of lm.dpo, as theirs, round-trips through their
// loaders.
func TestModelRoundTrip(t *testing.T) {
	for _, id := range []string{IDSFT, IDReward, IDDPO, IDTDPO, IDINPO} {
		t.Run(id, func(t *testing.T) {
			var res *kernel.Result
			var f modelFiles
			switch id {
			case IDTDPO, IDINPO:
				dpo, files := trained(t, IDDPO)
				pol := *dpo.Model.(*Policy).Model
				pol.Plugin = id
				res, f = &kernel.Result{Plugin: id, Seed: dpo.Seed, Model: &Policy{&pol}}, files
			default:
				res, f = trained(t, id)
			}
			p := modeltest.RoundTrip(t, res)
			if _, err := os.Stat(filepath.Join(p.Dir, DecoderDir, "weights")); err != nil {
				t.Errorf("no checkpoint in %s/%s: %v", p.Dir, DecoderDir, err)
			}
			sc := p.Score(t, nil, f.refPairs)
			if got := len(sc.Tables["scores"].Rows); got != 8 {
				t.Errorf("pairs scored: %d rows, want 8", got)
			}
			if want, ok := res.Final[MetricPairAccuracy]; ok {
				if got := sc.Final[MetricPairAccuracy]; got != want {
					t.Errorf("pair_accuracy scored on the training pairs: %v, the run's %v", got, want)
				}
			}
			ex := p.Score(t, nil, f.sft)
			if got := len(ex.Tables["scores"].Rows); got != 6 {
				t.Errorf("examples scored: %d rows, want 6", got)
			}
			if id == IDReward {
				if _, ok := res.Model.(kernel.Sampler); ok {
					t.Errorf("a reward model samples")
				}
				if _, ok := ex.Final[MetricScoreCorr]; !ok {
					t.Errorf("no score_corr on a+b= prompts: %v", ex.Final)
				}
				return
			}
			sa := p.Sample(t, 2, nil, f.prompts)
			if got := len(sa.Tables["samples"].Rows); got != 6 {
				t.Errorf("3 prompts × 2: %d rows", got)
			}
			if _, ok := sa.Final[MetricAccuracy]; !ok {
				t.Errorf("no verifier finals for a+b= prompts: %v", sa.Final)
			}
			if id == IDSFT {
				// Without a file: the task's prompts, the run's own (its
				// samples table shows the training ones).
				st := p.Sample(t, 1, nil).Tables["samples"]
				var train []string
				for i, set := range st.Strings("set") {
					if set == "train" {
						train = append(train, st.Strings("prompt")[i])
					}
				}
				var after []string
				for i, stage := range res.Tables["samples"].Strings("stage") {
					if stage == "after" {
						after = append(after, res.Tables["samples"].Strings("prompt")[i])
					}
				}
				if !reflect.DeepEqual(train, after) {
					t.Errorf("the task's training prompts %q, the run's %q", train, after)
				}
				// Prompts that are not all "a+b=": no verifier.
				sj := p.Sample(t, 1, nil, f.promptsJSONL)
				if tab := sj.Tables["samples"]; len(tab.Rows) != 2 || tab.Col("correct") >= 0 {
					t.Errorf("JSONL prompts: %d rows, columns %v", len(tab.Rows), tab.Columns)
				}
			}
		})
	}
}

// TestScorePolicyByHand: a policy's scores are its log-probs: the chosen
// responses of the pairs file score as the same rows of the SFT format,
// the margins and h are their differences (h against the file's
// reference log-probs), and nll is −Σ logp / Σ tokens with a byte's token
// per character plus EOS.
func TestScorePolicyByHand(t *testing.T) {
	res, f := trained(t, IDDPO)
	mem, err := kernel.LoadedOf(res)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sc, err := mem.Score(ctx, kernel.Options{Data: []string{f.refPairs}})
	if err != nil {
		t.Fatal(err)
	}
	pairs := filePairs().Pairs
	tab := sc.Tables["scores"]
	lw, ll, m, h := tab.Floats("logp_chosen"), tab.Floats("logp_rejected"), tab.Floats("margin"), tab.Floats("implicit_margin")
	var sumM, sumH, acc float64
	for i, q := range pairs {
		if m[i] != lw[i]-ll[i] || h[i] != (lw[i]-q.RefChosen)-(ll[i]-q.RefRejected) {
			t.Errorf("pair %d: margin %v, h %v from logps %v, %v", i, m[i], h[i], lw[i], ll[i])
		}
		sumM, sumH = sumM+m[i], sumH+h[i]
		if h[i] > 0 {
			acc++
		}
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{MetricLogpMargin, sc.Final[MetricLogpMargin], sumM / 8},
		{MetricImplicitMargin, sc.Final[MetricImplicitMargin], sumH / 8},
		{MetricPairAccuracy, sc.Final[MetricPairAccuracy], acc / 8},
	} {
		if math.Abs(c.got-c.want) > 1e-12 {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	// The same rows in the SFT format: prompt + chosen.
	sftFile := filepath.Join(t.TempDir(), "chosen.jsonl")
	var ex []datasets.TextExample
	tokens := 0
	for _, q := range pairs {
		ex = append(ex, datasets.TextExample{Prompt: q.Prompt, Completion: q.Chosen})
		tokens += len(q.Chosen) + 1
	}
	var b strings.Builder
	if err := datasets.WriteSFT(&b, ex); err != nil {
		t.Fatal(err)
	}
	write(t, sftFile, b.String())
	es, err := mem.Score(ctx, kernel.Options{Data: []string{sftFile}})
	if err != nil {
		t.Fatal(err)
	}
	lp := es.Tables["scores"].Floats("logp")
	sum := 0.0
	for i := range lp {
		if lp[i] != lw[i] {
			t.Errorf("row %d: logp %v as SFT, %v as a pair's chosen", i, lp[i], lw[i])
		}
		sum += lp[i]
	}
	if got, want := es.Final[MetricNLL], -sum/float64(tokens); math.Abs(got-want) > 1e-12 || es.Final["tokens"] != float64(tokens) {
		t.Errorf("nll %v over %v tokens, want %v over %d", got, es.Final["tokens"], want, tokens)
	}
}

// TestInitFromSavedModel: lm.sft started from a saved model (--model) at a
// learning rate too small to move it records, as its first loss, the
// model's own nll on the file (Score's, to float32 rounding) and hands
// back the same model; init=DIR gives the same run.
func TestInitFromSavedModel(t *testing.T) {
	res, f := trained(t, IDSFT)
	dir := modeltest.Save(t, res)
	ctx := context.Background()
	saved, err := kernel.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	before, err := saved.Score(ctx, kernel.Options{Data: []string{f.sft}})
	if err != nil {
		t.Fatal(err)
	}
	still := map[string]any{fit.ParamLearningRate: 1e-30, fit.ParamSteps: 1, fit.ParamBatchSize: 64, fit.ParamEvalEvery: 1}
	run := func(params map[string]any, init string) *kernel.Result {
		t.Helper()
		r, err := kernel.Run(ctx, IDSFT, kernel.Options{Params: testParams(t, IDSFT, params), Data: []string{f.sft}, Init: init})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	again := run(still, dir)
	if ref := again.Provenance.Init; ref == nil || ref.Dir != dir || ref.Plugin != IDSFT {
		t.Errorf("provenance init %+v", ref)
	}
	nll := before.Final[MetricNLL]
	if got := again.Series["sft_loss"][0].Value; math.Abs(got-nll) > tolLoss*nll {
		t.Errorf("first loss from the saved model %v, its nll %v", got, nll)
	}
	mem, _ := kernel.LoadedOf(again)
	after, err := mem.Score(ctx, kernel.Options{Data: []string{f.sft}})
	if err != nil {
		t.Fatal(err)
	}
	if got := after.Final[MetricNLL]; math.Abs(got-nll) > tolStill {
		t.Errorf("nll after a step at learning rate 1e-30: %v, before %v", got, nll)
	}
	withInit := maps.Clone(still)
	withInit[ParamInit] = dir
	byParam := run(withInit, "")
	if !reflect.DeepEqual(byParam.Final, again.Final) || !reflect.DeepEqual(byParam.Series, again.Series) {
		t.Errorf("init=DIR and --model DIR differ:\n%v\n%v", byParam.Final, again.Final)
	}
}

// TestPreferenceFromSavedModel: lm.dpo with --model DIR gives the same run
// as with sft=DIR.
func TestPreferenceFromSavedModel(t *testing.T) {
	res, f := trained(t, IDSFT)
	dir := modeltest.Save(t, res)
	ctx := context.Background()
	a, err := kernel.Run(ctx, IDDPO, kernel.Options{Params: testParams(t, IDDPO, nil), Data: []string{f.pairs}, Init: dir})
	if err != nil {
		t.Fatal(err)
	}
	b, err := kernel.Run(ctx, IDDPO, kernel.Options{Params: testParams(t, IDDPO, map[string]any{ParamSFT: dir}), Data: []string{f.pairs}})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Final, b.Final) || !reflect.DeepEqual(a.Series, b.Series) {
		t.Errorf("lm.dpo: --model DIR and sft=DIR differ:\n%v\n%v", a.Final, b.Final)
	}
}

// TestRewardWarmStart: lm.reward started from its saved model (--model)
// at a learning rate too small to move it evaluates, before its first
// step, the model's own pair_accuracy on the file, and its first loss is
// the model's log_loss (a fresh head would give ½ and log 2).
func TestRewardWarmStart(t *testing.T) {
	res, f := trained(t, IDReward)
	dir := modeltest.Save(t, res)
	ctx := context.Background()
	l, err := kernel.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := l.Score(ctx, kernel.Options{Data: []string{f.refPairs}})
	if err != nil {
		t.Fatal(err)
	}
	params := testParams(t, IDReward, map[string]any{fit.ParamLearningRate: 1e-30, fit.ParamSteps: 1, fit.ParamBatchSize: 8, fit.ParamEvalEvery: 1})
	again, err := kernel.Run(ctx, IDReward, kernel.Options{Params: params, Data: []string{f.refPairs}, Init: dir})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := again.Series[MetricPairAccuracy][0].Value, sc.Final[MetricPairAccuracy]; got != want {
		t.Errorf("pair_accuracy at step 0 from the saved model: %v, its score %v", got, want)
	}
	loss := sc.Final[MetricLogLoss]
	if math.Abs(loss-math.Ln2) < 100*tolLoss {
		t.Fatalf("the trained reward model's log_loss %v is log 2: the test cannot tell a warm start", loss)
	}
	if got := again.Series["loss"][0].Value; math.Abs(got-loss) > tolLoss*loss {
		t.Errorf("first loss from the saved model %v, its log_loss %v", got, loss)
	}
}

// TestBPEModel: a model trained with a BPE saves its tokenizer.json, reads
// it back (to the same scores and samples), and brings it to a run started
// from it.
func TestBPEModel(t *testing.T) {
	f := sharedFiles(t)
	res := modeltest.Train(t, IDSFT, testParams(t, IDSFT, map[string]any{ParamTokenizer: "bpe"}), f.sft)
	p := modeltest.RoundTrip(t, res)
	if !strings.Contains(p.Loaded.Model.Kind(), "(bpe:") {
		t.Errorf("kind %q: want the BPE named", p.Loaded.Model.Kind())
	}
	p.Score(t, nil, f.pairs)
	p.Sample(t, 1, nil, f.prompts)
	again, err := kernel.Run(context.Background(), IDSFT, kernel.Options{Params: testParams(t, IDSFT, nil), Data: []string{f.sft}, Init: p.Dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Notes) == 0 || !strings.Contains(again.Notes[0], "tokenizer: bpe:") {
		t.Errorf("notes %q: want the saved tokenizer named", again.Notes)
	}
	if got, want := again.Model.Kind(), res.Model.Kind(); got != want {
		t.Errorf("kind of the model trained from it %q, want %q", got, want)
	}
}

// fakeModel is a model of another family.
type fakeModel struct{}

func (fakeModel) Kind() string             { return "a fake model" }
func (fakeModel) Shapes() map[string][]int { return nil }
func (fakeModel) Save(string) error        { return nil }

// TestModelErrors: a model of the wrong kind, a tokenizer that does not
// match, a damaged directory and bad files are errors that say what is
// wrong and where.
func TestModelErrors(t *testing.T) {
	ctx := context.Background()
	sft, f := trained(t, IDSFT)
	rw, _ := trained(t, IDReward)
	sftDir, rwDir := modeltest.Save(t, sft), modeltest.Save(t, rw)

	var mu *kernel.ModelUsageError
	for _, c := range []struct{ id, want string }{
		{IDDPO, "lm.dpo: --model: a fake model, want a transformer policy (a model of lm.sft, lm.dpo, lm.tdpo or lm.inpo)"},
		{IDReward, "lm.reward: --model: a fake model, want a transformer policy (a model of lm.sft, lm.dpo, lm.tdpo or lm.inpo) or an lm.reward model"},
	} {
		if _, err := policyOf(c.id, fakeModel{}); !errors.As(err, &mu) || err.Error() != c.want {
			t.Errorf("a model of another family: got %v, want %s", err, c.want)
		}
	}
	check := func(what string, err error, want string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error containing %q", what, err, want)
		}
	}
	_, err := kernel.Run(ctx, IDDPO, kernel.Options{Params: testParams(t, IDDPO, nil), Data: []string{f.pairs}, Init: rwDir})
	check("a reward model as --model", err, "lm.dpo: --model: transformer reward model")
	_, err = kernel.Run(ctx, IDSFT, kernel.Options{Params: testParams(t, IDSFT, map[string]any{ParamTokenizer: "bpe:300"}), Data: []string{f.sft}, Init: sftDir})
	check("another tokenizer", err, "trained with tokenizer byte (vocab 259); this run uses bpe:")
	_, err = kernel.Run(ctx, IDSFT, kernel.Options{Params: testParams(t, IDSFT, map[string]any{ParamInit: rwDir}), Data: []string{f.sft}, Init: sftDir})
	var pe *kernel.ParamError
	if !errors.As(err, &pe) || pe.Key != ParamInit || !strings.Contains(err.Error(), "give one of the two") {
		t.Errorf("init=DIR and --model naming two models: %v", err)
	}
	if !sameDir(sftDir, filepath.Join(sftDir, DecoderDir)) || sameDir(sftDir, rwDir) {
		t.Errorf("sameDir: a model dir and its decoder/ are one, two models are two")
	}

	// Damaged directories.
	damage := func(t *testing.T, src string, edit func(dir string, man map[string]any)) string {
		t.Helper()
		dir := filepath.Join(t.TempDir(), "m")
		if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, kernel.ManifestFile)
		b, _ := os.ReadFile(path)
		var man map[string]any
		if err := json.Unmarshal(b, &man); err != nil {
			t.Fatal(err)
		}
		edit(dir, man)
		b, _ = json.Marshal(man)
		write(t, path, string(b))
		return dir
	}
	dir := damage(t, sftDir, func(_ string, man map[string]any) {
		man["shapes"].(map[string]any)["policy/token_embed/embeddings"] = []int{3, 4}
	})
	_, err = kernel.Load(dir)
	check("a manifest with other shapes", err, `array "policy/token_embed/embeddings" has shape [259 32], the manifest says [3 4]`)
	dir = damage(t, sftDir, func(d string, _ map[string]any) { os.RemoveAll(filepath.Join(d, DecoderDir)) })
	_, err = kernel.Load(dir)
	check("no decoder/", err, "holds no decoder/manifest.json: not a model saved by lm.sft")
	dir = damage(t, sftDir, func(_ string, man map[string]any) { man["plugin"] = IDReward })
	_, err = kernel.Load(dir)
	check("a policy under lm.reward", err, "an lm.reward model without a reward head")

	// Bad files.
	l, err := kernel.Load(sftDir)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	bad := filepath.Join(tmp, "bad.jsonl")
	write(t, bad, `{"prompt": "1+2=", "chosen": "3", "rejected": "4"}`+"\n"+`{"prompt": "1+2=", "chosen": 3, "rejected": "4"}`+"\n")
	_, err = l.Score(ctx, kernel.Options{Data: []string{bad}})
	var de *datasets.Error
	if !errors.As(err, &de) || de.File != bad || de.Line != 2 || de.Field != "chosen" {
		t.Errorf("a bad pair: got %v, want a *datasets.Error at line 2, field chosen", err)
	}
	other := filepath.Join(tmp, "other.jsonl")
	write(t, other, "\n"+`{"prompt": "1+2=", "answer": "3"}`+"\n")
	_, err = l.Score(ctx, kernel.Options{Data: []string{other}})
	check("neither pairs nor SFT", err, "other.jsonl:2: chosen: missing: want chosen and rejected (TRL's preference format) or completion (its SFT format); the line has answer, prompt")
	_, err = l.Score(ctx, kernel.Options{Data: []string{f.sft, f.pairs}})
	var du *kernel.DataUsageError
	if !errors.As(err, &du) {
		t.Errorf("two files to score: %v", err)
	}
	badPrompts := filepath.Join(tmp, "prompts.jsonl")
	write(t, badPrompts, `{"prompt": "1+2="}`+"\n"+`{"prompt": 7}`+"\n")
	_, err = l.Sample(ctx, 1, kernel.Options{Data: []string{badPrompts}})
	if !errors.As(err, &de) || de.Line != 2 || de.Field != "prompt" {
		t.Errorf("a bad prompt: got %v, want a *datasets.Error at line 2, field prompt", err)
	}
	long := filepath.Join(tmp, "long.txt")
	write(t, long, "1+2=\n"+strings.Repeat("9", 40)+"+1=\n")
	_, err = l.Sample(ctx, 1, kernel.Options{Data: []string{long}})
	check("a prompt longer than the model", err, "long.txt:2: prompt: takes 44 of the model's 16 positions (BOS included), leaving none to generate")
}

// TestEvalReadsModelDirs: lm.eval's models param takes the directories
// runs save their models in.
func TestEvalReadsModelDirs(t *testing.T) {
	res, _ := trained(t, IDSFT)
	dir := modeltest.Save(t, res)
	params := testParams(t, IDEval, map[string]any{ParamModels: "sft=" + dir, ParamArena: ""})
	ev, err := kernel.Run(context.Background(), IDEval, kernel.Options{Params: params})
	if err != nil {
		t.Fatal(err)
	}
	if got := ev.Tables["models"].Strings("model"); !reflect.DeepEqual(got, []string{"sft"}) {
		t.Errorf("models %v, want [sft]", got)
	}
}

// TestReadPrompts: prompts from text (blank lines skipped, CRLF), JSON
// Lines (strings and messages) and gzip.
func TestReadPrompts(t *testing.T) {
	dir := t.TempDir()
	gz := filepath.Join(dir, "p.txt.gz")
	fh, err := os.Create(gz)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(fh)
	zw.Write([]byte("1+1=\n2+2=\n"))
	zw.Close()
	fh.Close()
	cases := []struct {
		name, text string
		want       []string
		lines      []int
	}{
		{"text", "1+2=\n\n4+4=\r\n", []string{"1+2=", "4+4="}, []int{1, 3}},
		{"jsonl", "\n" + `{"prompt": "a"}` + "\n" + `{"prompt": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}], "chosen": "x"}`, []string{"a", "s\nu"}, []int{2, 3}},
		{"gzip", "", []string{"1+1=", "2+2="}, []int{1, 2}},
	}
	for _, c := range cases {
		path := gz
		if c.text != "" {
			path = filepath.Join(dir, c.name)
			write(t, path, c.text)
		}
		got, lines, err := readPrompts(path)
		if err != nil || !reflect.DeepEqual(got, c.want) || !reflect.DeepEqual(lines, c.lines) {
			t.Errorf("%s: got %q at lines %v (%v), want %q at %v", c.name, got, lines, err, c.want, c.lines)
		}
	}
	empty := filepath.Join(dir, "empty")
	write(t, empty, "\n\n")
	if _, _, err := readPrompts(empty); err == nil || !strings.Contains(err.Error(), "no prompts") {
		t.Errorf("an empty file: %v", err)
	}
}
