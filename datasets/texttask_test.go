package datasets

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestVerify(t *testing.T) {
	for _, tc := range []struct {
		prompt, completion string
		maxChars           int
		correct, principle bool
	}{
		{"12+7=", "19", 3, true, true},
		{"12+7=", "19 ok!", 3, true, false},
		{"12+7=", "19 ok!", 6, true, true},
		{"12+7=", "  19", 3, true, false}, // leading spaces are trimmed for correctness, counted for the principle
		{"12+7=", "19abc", 5, true, true},
		{"12+7=", "18", 3, false, true},
		{"12+7=", "20", 3, false, true},
		{"12+7=", "190", 3, false, true},
		{"12+7=", "119", 3, false, true},
		{"12+7=", "019", 3, false, true}, // leading zeros: not the sum as written
		{"12+7=", "", 3, false, true},
		{"12+7=", "x19", 3, false, true},
		{"12+7=", "-19", 3, false, true},
		{"12+7=", "\t19", 3, false, true}, // only spaces are trimmed
		{"0+0=", "0", 1, true, true},
		{"0+0=", "00", 2, false, true},
		{"007+03=", "10", 2, true, true}, // operands may have leading zeros
		{"99999999999999999999+1=", "100000000000000000000", 21, true, true},
	} {
		correct, principle, err := Verify(tc.prompt, tc.completion, tc.maxChars)
		if err != nil {
			t.Errorf("Verify(%q, %q, %d): %v", tc.prompt, tc.completion, tc.maxChars, err)
			continue
		}
		if correct != tc.correct || principle != tc.principle {
			t.Errorf("Verify(%q, %q, %d): got %v, %v, want %v, %v", tc.prompt, tc.completion, tc.maxChars, correct, principle, tc.correct, tc.principle)
		}
	}
}

func TestVerifyBadPrompt(t *testing.T) {
	task := &TextTask{Config: DefaultTextTaskConfig()}
	for _, p := range []string{"", "=", "+=", "1+=", "+1=", "1+1", "1+1= ", " 1+1=", "1 + 1=", "a+b=", "-1+2=", "1+2+3=", "1-2=", "１+1="} {
		want := "datasets: text task: want a prompt of the form \"a+b=\" with decimal a and b, got " + strconv.Quote(p)
		if _, _, err := Verify(p, "2", 3); err == nil || err.Error() != want {
			t.Errorf("Verify(%q): got error %v, want %s", p, err, want)
		}
		if _, err := Answer(p); err == nil || err.Error() != want {
			t.Errorf("Answer(%q): got error %v, want %s", p, err, want)
		}
		if c, pr := task.Verify(p, "2"); c || pr {
			t.Errorf("TextTask.Verify(%q): got %v, %v, want false, false", p, c, pr)
		}
		if s := task.Score(p, "2"); s != 0 {
			t.Errorf("Score(%q): got %v, want 0", p, s)
		}
	}
}

func TestVerifyGeneratedPrompts(t *testing.T) {
	task, err := GenerateTextTask(DefaultTextTaskConfig(), rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(append([]string{}, task.Train...), task.Test...) {
		ans, err := Answer(p)
		if err != nil {
			t.Fatal(err)
		}
		var a, b int
		if _, err := fmt.Sscanf(p, "%d+%d=", &a, &b); err != nil || ans != strconv.Itoa(a+b) {
			t.Fatalf("Answer(%q): got %q, want %d", p, ans, a+b)
		}
		if c, pr := task.Verify(p, ans); !c || !pr {
			t.Errorf("Verify(%q, %q): got %v, %v, want true, true", p, ans, c, pr)
		}
		if s := task.Score(p, ans); s != 3 {
			t.Errorf("Score(%q, %q): got %v, want 3", p, ans, s)
		}
		wrong := []string{strconv.Itoa(a + b + 1), ans + "0", "1" + ans, "", "x" + ans, "0" + ans}
		if a+b > 0 {
			wrong = append(wrong, strconv.Itoa(a+b-1))
		}
		for _, w := range wrong {
			if c, _ := task.Verify(p, w); c {
				t.Errorf("Verify(%q, %q): correct, want wrong", p, w)
			}
		}
		if c, pr := task.Verify(p, ans+" ok!"); !c || pr {
			t.Errorf("Verify(%q, %q): got %v, %v, want true, false", p, ans+" ok!", c, pr)
		}
	}
}

func TestGenerateTextTask(t *testing.T) {
	cfg := DefaultTextTaskConfig()
	task, err := GenerateTextTask(cfg, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	if len(task.Train) != cfg.Prompts || len(task.Test) != cfg.TestPrompts || len(task.Demos) != cfg.Demos {
		t.Fatalf("got %d train, %d test prompts, %d demos, want %d, %d, %d",
			len(task.Train), len(task.Test), len(task.Demos), cfg.Prompts, cfg.TestPrompts, cfg.Demos)
	}
	seen := map[string]string{}
	for split, prompts := range map[string][]string{"train": task.Train, "test": task.Test} {
		for _, p := range prompts {
			var a, b int
			if _, err := fmt.Sscanf(p, "%d+%d=", &a, &b); err != nil || fmt.Sprintf("%d+%d=", a, b) != p ||
				a < 0 || b < 0 || a > cfg.MaxOperand || b > cfg.MaxOperand {
				t.Errorf("%s prompt %q: want a+b= with 0 ≤ a, b ≤ %d", split, p, cfg.MaxOperand)
			}
			if other, ok := seen[p]; ok {
				t.Errorf("prompt %q in %s and %s", p, other, split)
			}
			seen[p] = split
		}
	}
	train := map[string]bool{}
	for _, p := range task.Train {
		train[p] = true
	}
	var wrong, verbose int
	for i, d := range task.Demos {
		if !train[d.Prompt] {
			t.Errorf("demo %d: prompt %q not a training prompt", i, d.Prompt)
		}
		c, pr := task.Verify(d.Prompt, d.Completion)
		if d.Wrong != !c || d.Verbose != !pr {
			t.Errorf("demo %d %+v: verifier says correct %v, principle %v", i, d, c, pr)
		}
		if d.Wrong {
			wrong++
			ans, _ := Answer(d.Prompt)
			sum, _ := strconv.Atoi(ans)
			got, _ := strconv.Atoi(strings.Fields(d.Completion)[0])
			if diff := got - sum; got < 0 || diff == 0 || diff < -2 || diff > 2 {
				t.Errorf("demo %d %+v: want the sum %d ± 1..2, never negative", i, d, sum)
			}
		}
		if d.Verbose {
			verbose++
		}
	}
	// Binomial standard errors of the planted rates.
	n := float64(cfg.Demos)
	for _, c := range []struct {
		what  string
		count int
		rate  float64
	}{{"wrong", wrong, cfg.WrongRate}, {"verbose", verbose, cfg.VerboseRate}} {
		tolRate := 4 * math.Sqrt(c.rate*(1-c.rate)/n)
		if got := float64(c.count) / n; math.Abs(got-c.rate) > tolRate {
			t.Errorf("%s fraction: got %v, want %v ± %v", c.what, got, c.rate, tolRate)
		}
	}

	again, _ := GenerateTextTask(cfg, rand.New(rand.NewPCG(3, 4)))
	if !reflect.DeepEqual(task, again) {
		t.Error("same seed: got different tasks")
	}
	other, _ := GenerateTextTask(cfg, rand.New(rand.NewPCG(3, 5)))
	if reflect.DeepEqual(task.Train, other.Train) || reflect.DeepEqual(task.Demos, other.Demos) {
		t.Error("different seeds: got the same task")
	}
}

// Every prompt drawn: train and test cover the whole grid.
func TestGenerateTextTaskFullGrid(t *testing.T) {
	cfg := TextTaskConfig{Prompts: 3, TestPrompts: 1, MaxOperand: 1, Demos: 50, WrongRate: 1, VerboseRate: 1, PrincipleMaxChars: 1}
	task, err := GenerateTextTask(cfg, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	all := append(append([]string{}, task.Train...), task.Test...)
	slices.Sort(all)
	got := strings.Join(all, " ")
	if want := "0+0= 0+1= 1+0= 1+1="; got != want {
		t.Errorf("prompts: got %s, want %s", got, want)
	}
	for i, d := range task.Demos {
		if c, pr := task.Verify(d.Prompt, d.Completion); c || pr || !d.Wrong || !d.Verbose {
			t.Errorf("demo %d %+v: correct %v, principle %v, want both false", i, d, c, pr)
		}
	}
}

func TestGenerateTextTaskConfigErrors(t *testing.T) {
	def := DefaultTextTaskConfig()
	with := func(f func(c *TextTaskConfig)) TextTaskConfig {
		c := def
		f(&c)
		return c
	}
	for _, tc := range []struct {
		cfg  TextTaskConfig
		want string
	}{
		{TextTaskConfig{}, "prompts must be ≥ 1, got 0"},
		{with(func(c *TextTaskConfig) { c.TestPrompts = -1 }), "test prompts must be ≥ 0, got -1"},
		{with(func(c *TextTaskConfig) { c.MaxOperand = -1 }), "max operand must be ≥ 0, got -1"},
		{with(func(c *TextTaskConfig) { c.Demos = -5 }), "demos must be ≥ 0, got -5"},
		{with(func(c *TextTaskConfig) { c.WrongRate = math.NaN() }), "wrong rate must be in [0, 1], got NaN"},
		{with(func(c *TextTaskConfig) { c.VerboseRate = 1.5 }), "verbose rate must be in [0, 1], got 1.5"},
		{with(func(c *TextTaskConfig) { c.PrincipleMaxChars = 1 }),
			`principle max chars must be at least 2 (the longest plain answer, 2·max operand + 2 = 40) and below 5 (the shortest answer with filler, "0 ok!"), got 1`},
		{with(func(c *TextTaskConfig) { c.PrincipleMaxChars = 5 }),
			`principle max chars must be at least 2 (the longest plain answer, 2·max operand + 2 = 40) and below 5 (the shortest answer with filler, "0 ok!"), got 5`},
		{with(func(c *TextTaskConfig) { c.MaxOperand = math.MaxInt }),
			`principle max chars must be at least 20 (the longest plain answer, 2·max operand + 2 = 18446744073709551616) and below 5 (the shortest answer with filler, "0 ok!"), got 3`},
		{with(func(c *TextTaskConfig) { c.Prompts = 301 }), "prompts + test prompts must be at most (max operand + 1)² = 400, got 301 + 100"},
	} {
		_, err := GenerateTextTask(tc.cfg, rand.New(rand.NewPCG(1, 1)))
		if want := "datasets: text task: " + tc.want; err == nil || err.Error() != want {
			t.Errorf("config %+v: got error %v, want %s", tc.cfg, err, want)
		}
	}
}

func TestDrawDistinct(t *testing.T) {
	// Each of n values is first with probability 1/n.
	const n, draws = 5, 50000
	r := rand.New(rand.NewPCG(8, 8))
	var first [n]int
	for range draws {
		v := drawDistinct(n, n, r)
		seen := map[int]bool{}
		for _, x := range v {
			if x < 0 || x >= n || seen[x] {
				t.Fatalf("got %v, want a permutation of 0..%d", v, n-1)
			}
			seen[x] = true
		}
		first[v[0]]++
	}
	p := 1.0 / n
	tolRate := 4 * math.Sqrt(p*(1-p)/draws)
	for x, c := range first {
		if got := float64(c) / draws; math.Abs(got-p) > tolRate {
			t.Errorf("P(first = %d): got %v, want %v ± %v", x, got, p, tolRate)
		}
	}
}

func TestPreference(t *testing.T) {
	const tol = 1e-15
	task := &TextTask{Config: DefaultTextTaskConfig()}
	const prompt = "12+7="
	completions := []string{"", "1", "19", "18", "19 ok!", "19 yes!", "19 done.", "18 ok!", "x", "190", "19   "}
	for _, y := range completions {
		for _, y2 := range completions {
			for _, sc := range [][2]float64{{1, 0}, {2, 0.7}, {0.3, 5}, {40, 40}, {1e-9, -3}} {
				p, q := task.Preference(prompt, y, y2, sc[0], sc[1]), task.Preference(prompt, y2, y, sc[0], sc[1])
				if p+q != 1 {
					t.Errorf("P(%q ≻ %q) + P(%q ≻ %q) = %v + %v = %v, want exactly 1", y, y2, y2, y, p, q, p+q)
				}
				if y == y2 && p != 0.5 {
					t.Errorf("P(%q ≻ %q): got %v, want 0.5", y, y, p)
				}
			}
		}
	}

	for _, tc := range []struct {
		y, y2            string
		sharpness, cycle float64
		want             float64
	}{
		// Score 3 vs 2; lengths 2 and 6: class 2 beats class 0.
		{"19", "19 ok!", 1, 0.5, 1 / (1 + math.Exp(-1.5))},
		{"19 ok!", "19", 1, 0.5, 1 - 1/(1+math.Exp(-1.5))},
		// Bradley–Terry in Score: 3 vs 0.
		{"19", "18 ok!", 2, 0, 1 / (1 + math.Exp(-6))},
		{"18", "19 done.", 1, 0, 1 / (1 + math.Exp(1))}, // score 1 vs 2
	} {
		if got := task.Preference(prompt, tc.y, tc.y2, tc.sharpness, tc.cycle); math.Abs(got-tc.want) > tol {
			t.Errorf("P(%q ≻ %q; sharpness %v, cycle %v): got %v, want %v", tc.y, tc.y2, tc.sharpness, tc.cycle, got, tc.want)
		}
	}

	// Equal scores (2: correct, verbose), lengths 6, 7, 8 ≡ 0, 1, 2 mod 3:
	// each beats the next around the cycle, so no ranking is consistent.
	a, b, c := "19 ok!", "19 yes!", "19 done."
	const cycle = 1.2
	want := 1 / (1 + math.Exp(-cycle))
	for _, pair := range [][2]string{{a, b}, {b, c}, {c, a}} {
		if got := task.Preference(prompt, pair[0], pair[1], 3, cycle); math.Abs(got-want) > tol || got <= 0.5 {
			t.Errorf("P(%q ≻ %q): got %v, want %v > ½", pair[0], pair[1], got, want)
		}
		if got := task.Preference(prompt, pair[0], pair[1], 3, 0); got != 0.5 {
			t.Errorf("P(%q ≻ %q) without the cycle: got %v, want 0.5", pair[0], pair[1], got)
		}
	}
}

func TestLabel(t *testing.T) {
	task := &TextTask{Config: DefaultTextTaskConfig()}
	const prompt = "3+4="
	for _, tc := range []struct {
		y1, y2, chosen, rejected string
		ok                       bool
	}{
		{"7", "8", "7", "8", true},
		{"8", "7", "7", "8", true},
		{"7 ok!", "8", "7 ok!", "8", true}, // 2 beats 1
		{"8", "8 ok!", "8", "8 ok!", true}, // 1 beats 0
		{"8", "6", "", "", false},          // both 1
		{"7", "7", "", "", false},
	} {
		// flip = 0: r is not used, so nil is fine.
		chosen, rejected, flipped, ok := task.Label(prompt, tc.y1, tc.y2, 0, nil)
		if chosen != tc.chosen || rejected != tc.rejected || flipped || ok != tc.ok {
			t.Errorf("Label(%q, %q): got %q, %q, %v, %v, want %q, %q, false, %v", tc.y1, tc.y2, chosen, rejected, flipped, ok, tc.chosen, tc.rejected, tc.ok)
		}
	}

	const n, flip = 20000, 0.2
	r := rand.New(rand.NewPCG(11, 12))
	flips := 0
	for range n {
		chosen, rejected, flipped, ok := task.Label(prompt, "8", "7", flip, r)
		if !ok || flipped != (chosen == "8") || chosen == rejected {
			t.Fatalf("got %q, %q, flipped %v, ok %v", chosen, rejected, flipped, ok)
		}
		if flipped {
			flips++
		}
	}
	tolRate := 4 * math.Sqrt(flip*(1-flip)/n)
	if got := float64(flips) / n; math.Abs(got-flip) > tolRate {
		t.Errorf("flip rate: got %v, want %v ± %v", got, flip, tolRate)
	}
}
