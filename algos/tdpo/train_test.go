package tdpo

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// smallTask is the default task with the tabular policy and fewer pairs:
// built in about a tenth of a second.
func smallTask(t testing.TB, seed uint64) *Task {
	t.Helper()
	cfg := DefaultTaskConfig(ArchTabular)
	cfg.Pairs = 500
	task, err := NewTask(context.Background(), cfg, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// SFT is maximum likelihood: the tabular π_ref recovers the true process's
// first-token distribution of each prompt (1000 samples per prompt: a
// standard error ≤ 0.016 per probability) within 0.05.
func TestSFTRecoversTrueProcess(t *testing.T) {
	const band = 0.05
	task := smallTask(t, 1)
	s := task.Config.Spec
	V1 := s.Vocab + 1
	for x := range s.Prompts {
		row := (x*V1 + s.bos()) * s.Vocab
		for v := range s.Vocab {
			got, want := math.Exp(task.refTable[row+v]), math.Exp(task.World[row+v])
			if math.Abs(got-want) > band {
				t.Errorf("x=%d v=%d: π_ref %.3f, true %.3f", x, v, got, want)
			}
		}
	}
	if d := task.SFTLoss - task.SFTEntropy; math.Abs(d) > 0.05 {
		t.Errorf("SFT loss %.4f, entropy of the true process %.4f", task.SFTLoss, task.SFTEntropy)
	}
	// Labels follow Bradley–Terry on the reward: most agree with it.
	if task.Accuracy < 0.6 || task.Accuracy > 0.9 {
		t.Errorf("label accuracy %.3f, want in [0.6, 0.9] for s = 1", task.Accuracy)
	}
	for i, p := range task.Pairs {
		if equalInts(p.Chosen, p.Rejected) {
			t.Fatalf("pair %d has identical responses %v", i, p.Chosen)
		}
	}
}

// At step 0 the policy is π_ref: u = δ = 0 on every pair, so the loss is
// log 2, every implicit reward ties (accuracy ½, margin 0), and KL = 0.
func TestStartsAtReference(t *testing.T) {
	const tol = 1e-12
	task := smallTask(t, 2)
	for _, kind := range Kinds {
		tr, err := NewTrainer(task, DefaultConfig(kind), rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		m, err := tr.Evaluate()
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(m.Loss-math.Ln2) > tol || m.Accuracy != 0.5 || math.Abs(m.Margin) > tol ||
			math.Abs(m.SeqKLChosen) > tol || math.Abs(m.SeqKLRejected) > tol || math.Abs(m.KL) > tol {
			t.Errorf("%s at step 0: %+v, want loss log 2, accuracy ½ and zeros", kind, m)
		}
	}
}

// Training moves the policy (variables are read as parameters, not frozen
// constants), raises the reward and, for one seed, TDPO2 keeps both
// sequential KLs well below DPO's, as the paper reports.
func TestTDPO2KeepsSeqKLBelowDPO(t *testing.T) {
	task := smallTask(t, 3)
	got := map[Kind]Metrics{}
	for _, kind := range []Kind{DPO, TDPO2} {
		cfg := DefaultConfig(kind)
		cfg.LearningRate, cfg.Steps, cfg.EvalEvery = 0.05, 100, 100
		m, err := Train(context.Background(), task, cfg, rand.New(rand.NewPCG(3, 2)), nil)
		if err != nil {
			t.Fatal(err)
		}
		got[kind] = m
		t.Logf("%s: %+v", kind, m)
	}
	dpo, tdpo2 := got[DPO], got[TDPO2]
	if dpo.KL < 0.1 || dpo.Reward < task.OptimalReward(0)+0.2 {
		t.Errorf("DPO did not move: KL %.4f, reward %.4f (π_ref %.4f)", dpo.KL, dpo.Reward, task.OptimalReward(0))
	}
	if tdpo2.SeqKLChosen > 0.6*dpo.SeqKLChosen || tdpo2.SeqKLRejected > 0.6*dpo.SeqKLRejected {
		t.Errorf("SeqKL (chosen, rejected): TDPO2 (%.3f, %.3f), DPO (%.3f, %.3f): want TDPO2's below 0.6× DPO's",
			tdpo2.SeqKLChosen, tdpo2.SeqKLRejected, dpo.SeqKLChosen, dpo.SeqKLRejected)
	}
}

// The same seeds give the same task and the same run, bit for bit.
func TestDeterministic(t *testing.T) {
	run := func() Metrics {
		task := smallTask(t, 4)
		cfg := DefaultConfig(TDPO2)
		cfg.Steps, cfg.EvalEvery = 20, 20
		m, err := Train(context.Background(), task, cfg, rand.New(rand.NewPCG(4, 2)), nil)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a, b := run(), run()
	if a != b {
		t.Errorf("two runs with the same seeds differ:\n%+v\n%+v", a, b)
	}
}

// A GRU too large to enumerate is measured by sampling; the run still works.
func TestGRUSampledMeasures(t *testing.T) {
	cfg := DefaultTaskConfig(ArchGRU)
	cfg.Vocab, cfg.Length, cfg.Prompts, cfg.Hidden = 8, 7, 2, 4
	cfg.SFTSamples, cfg.SFTSteps, cfg.Pairs = 200, 5, 64
	task, err := NewTask(context.Background(), cfg, rand.New(rand.NewPCG(5, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if task.Tree != nil || !math.IsNaN(task.OptimalReward(1)) {
		t.Fatalf("2·8^6 prefixes should not be enumerated")
	}
	tc := DefaultConfig(TDPO1)
	tc.Steps, tc.EvalEvery, tc.KLSamples = 3, 3, 64
	m, err := Train(context.Background(), task, tc, rand.New(rand.NewPCG(5, 2)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Exact || !(m.KL >= 0) {
		t.Errorf("got %+v, want a sampled, non-negative KL", m.Measures)
	}
}

func TestTaskErrors(t *testing.T) {
	for _, c := range []struct {
		edit func(*TaskConfig)
		want string
	}{
		{func(c *TaskConfig) { c.Arch = "lstm" }, `unknown policy "lstm"`},
		{func(c *TaskConfig) { c.Positive, c.Negative = 4, 3 }, "do not fit a vocabulary of 6"},
		{func(c *TaskConfig) { c.Positive, c.Negative = 0, 0 }, "needs a positive or a negative token"},
		{func(c *TaskConfig) { c.Vocab = 1 }, "vocab must be ≥ 2"},
		{func(c *TaskConfig) { c.Pairs = 0 }, "pairs must be ≥ 1"},
	} {
		cfg := DefaultTaskConfig(ArchTabular)
		c.edit(&cfg)
		_, err := NewTask(context.Background(), cfg, rand.New(rand.NewPCG(1, 1)))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "tdpo: ") {
			t.Errorf("got error %v, want one containing %q", err, c.want)
		}
	}
}
