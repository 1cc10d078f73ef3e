package datasets

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// This file holds the arithmetic text task: seeded prompts "a+b=", a
// verifier that knows the answer, a binary principle, and the rewards and
// preference oracles built on them, so that a text policy's every metric has
// ground truth.

// textFillers are the endings of verbose demonstrations. The shortest is 4
// bytes, which bounds PrincipleMaxChars from above (see TextTaskConfig).
var textFillers = []string{" ok!", " done.", " yes"}

// TextTaskConfig configures GenerateTextTask.
type TextTaskConfig struct {
	// Prompts is the number of training prompts ≥ 1: distinct (a, b) pairs
	// drawn without replacement (default 300).
	Prompts int
	// TestPrompts is the number of held-out prompts ≥ 0, disjoint from the
	// training ones (default 100).
	TestPrompts int
	// MaxOperand bounds the operands, 0 ≤ a, b ≤ MaxOperand, so that there
	// are (MaxOperand+1)² possible prompts (default 19: 400 prompts).
	MaxOperand int
	// Demos is the number of SFT demonstrations ≥ 0, each on a training
	// prompt drawn uniformly (default 2000).
	Demos int
	// WrongRate in [0, 1] is the probability that a demonstration's answer
	// is wrong: the sum ± 1 or 2, uniform over those that are ≥ 0 (default
	// 0.3).
	WrongRate float64
	// VerboseRate in [0, 1] is the probability, independent of WrongRate,
	// that a demonstration has filler appended: " ok!", " done." or " yes",
	// uniformly (default 0.3).
	VerboseRate float64
	// PrincipleMaxChars is the principle "answer concisely": a completion
	// of at most this many bytes satisfies it (default 3). It must be at
	// least the length of the longest plain answer, 2·MaxOperand+2, and at
	// most 4, below the shortest answer with filler ("0 yes"), so that the
	// principle tells plain answers from verbose ones exactly.
	PrincipleMaxChars int
}

// DefaultTextTaskConfig returns the defaults documented on TextTaskConfig:
// 300 training and 100 held-out prompts out of the 400 with operands up to
// 19, 2000 demonstrations of which 30% are wrong and, independently, 30%
// verbose, and a 3-byte principle.
func DefaultTextTaskConfig() TextTaskConfig {
	return TextTaskConfig{Prompts: 300, TestPrompts: 100, MaxOperand: 19, Demos: 2000,
		WrongRate: 0.3, VerboseRate: 0.3, PrincipleMaxChars: 3}
}

func (c *TextTaskConfig) check() error {
	errf := func(format string, args ...any) error {
		return fmt.Errorf("datasets: text task: "+format, args...)
	}
	switch {
	case c.Prompts < 1:
		return errf("prompts must be ≥ 1, got %d", c.Prompts)
	case c.TestPrompts < 0:
		return errf("test prompts must be ≥ 0, got %d", c.TestPrompts)
	case c.MaxOperand < 0:
		return errf("max operand must be ≥ 0, got %d", c.MaxOperand)
	case c.Demos < 0:
		return errf("demos must be ≥ 0, got %d", c.Demos)
	case !(c.WrongRate >= 0 && c.WrongRate <= 1):
		return errf("wrong rate must be in [0, 1], got %v", c.WrongRate)
	case !(c.VerboseRate >= 0 && c.VerboseRate <= 1):
		return errf("verbose rate must be in [0, 1], got %v", c.VerboseRate)
	}
	// Computed in decimal so that no MaxOperand overflows.
	m := fmt.Sprint(c.MaxOperand)
	longest := decimalSum(decimalSum(m, m), "2")
	shortest := "0" + textFillers[0]
	for _, f := range textFillers {
		if len("0"+f) < len(shortest) {
			shortest = "0" + f
		}
	}
	if c.PrincipleMaxChars < len(longest) || c.PrincipleMaxChars >= len(shortest) {
		return errf("principle max chars must be at least %d (the longest plain answer, 2·max operand + 2 = %s) and below %d (the shortest answer with filler, %q), got %d",
			len(longest), longest, len(shortest), shortest, c.PrincipleMaxChars)
	}
	// MaxOperand ≤ 4998 here, so the square does not overflow.
	if n := (c.MaxOperand + 1) * (c.MaxOperand + 1); c.Prompts+c.TestPrompts > n {
		return errf("prompts + test prompts must be at most (max operand + 1)² = %d, got %d + %d", n, c.Prompts, c.TestPrompts)
	}
	return nil
}

// TextExample is one prompt and completion: an SFT demonstration.
type TextExample struct {
	Prompt, Completion string
	// Wrong and Verbose are the planted flags of generated demonstrations
	// (a wrong answer; filler appended); false for loaded ones.
	Wrong, Verbose bool
}

// TextTask is a synthetic text task with a verifiable reward: the prompts
// are "a+b=" and the correct completion is the decimal sum ("12+7=" →
// "19"). Beside correctness, a binary principle in the manner of RLBFF's
// binary principles, "answer concisely", holds when the completion has at
// most Config.PrincipleMaxChars bytes: "19" satisfies it, "19 ok!" is
// correct but does not. The verifier's reward (Score) is 2·correct +
// principle, so a plain right answer scores 3, a verbose right one 2, a
// plain wrong one 1, a verbose wrong one 0.
//
// Demos are SFT demonstrations with planted mistakes (Wrong, Verbose) that
// Verify recovers exactly; Preference is a preference oracle on
// completions, Bradley–Terry in Score or intransitive; Label turns two
// samples into a preference pair with planted label noise.
//
// The text task (GenerateTextTask) is arithmetic in text, "a+b=" → the
// decimal sum, with a verifier (Verify, Score) and the binary principle
// "answer concisely", for small language-model policies whose correctness,
// principle compliance and preference win rates have known answers; LoadSFT
// and LoadTextPairs read TRL's prompt–completion and preference JSON Lines.
type TextTask struct {
	Config      TextTaskConfig
	Train, Test []string // prompts, disjoint
	Demos       []TextExample
}

// GenerateTextTask draws a text task from r: Prompts + TestPrompts distinct
// (a, b) pairs uniformly without replacement (the first Prompts train, the
// rest held out), then Demos demonstrations, each on a uniform training
// prompt, wrong with probability WrongRate and, independently, verbose with
// probability VerboseRate (see TextTaskConfig). A config that cannot be
// drawn (too many prompts, a principle that does not tell plain answers from
// verbose ones) is an error.
func GenerateTextTask(cfg TextTaskConfig, r *rand.Rand) (*TextTask, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	side := cfg.MaxOperand + 1
	idx := drawDistinct(side*side, cfg.Prompts+cfg.TestPrompts, r)
	prompts := make([]string, len(idx))
	for i, k := range idx {
		prompts[i] = fmt.Sprintf("%d+%d=", k/side, k%side)
	}
	t := &TextTask{Config: cfg, Train: prompts[:cfg.Prompts:cfg.Prompts], Test: prompts[cfg.Prompts:],
		Demos: make([]TextExample, cfg.Demos)}
	for i := range t.Demos {
		j := r.IntN(cfg.Prompts)
		sum := idx[j]/side + idx[j]%side
		d := TextExample{Prompt: t.Train[j], Wrong: r.Float64() < cfg.WrongRate, Verbose: r.Float64() < cfg.VerboseRate}
		ans := sum
		if d.Wrong {
			var near []int
			for _, delta := range []int{-2, -1, 1, 2} {
				if sum+delta >= 0 {
					near = append(near, sum+delta)
				}
			}
			ans = near[r.IntN(len(near))]
		}
		d.Completion = fmt.Sprint(ans)
		if d.Verbose {
			d.Completion += textFillers[r.IntN(len(textFillers))]
		}
		t.Demos[i] = d
	}
	return t, nil
}

// drawDistinct draws k distinct integers of [0, n) uniformly, in random
// order, by a Fisher–Yates shuffle of which only the first k steps are run
// and only the moved entries are stored.
func drawDistinct(n, k int, r *rand.Rand) []int {
	moved := map[int]int{}
	at := func(i int) int {
		if v, ok := moved[i]; ok {
			return v
		}
		return i
	}
	out := make([]int, k)
	for i := range out {
		j := i + r.IntN(n-i)
		out[i] = at(j)
		moved[j] = at(i)
	}
	return out
}

// Verify checks completion against prompt, which must be of the form
// "a+b=" with a and b runs of decimal digits (any such prompt, not only
// generated ones; operands of any length). correct: after leading spaces
// are trimmed, the completion's leading run of decimal digits is exactly
// the decimal a+b, so "19 ok!" is correct for "12+7=" while "", "x19",
// "190" and "019" are not (no leading zeros: the digits must be the sum as
// written in decimal). principle: len(completion) ≤ maxChars bytes. A
// prompt of another form is an error.
func Verify(prompt, completion string, maxChars int) (correct, principle bool, err error) {
	sum, err := Answer(prompt)
	if err != nil {
		return false, false, err
	}
	c := strings.TrimLeft(completion, " ")
	n := 0
	for n < len(c) && isDigit(c[n]) {
		n++
	}
	return n > 0 && c[:n] == sum, len(completion) <= maxChars, nil
}

// Answer returns the reference completion of a prompt "a+b=": the decimal
// sum without leading zeros. A prompt of another form is an error.
func Answer(prompt string) (string, error) {
	plus := strings.IndexByte(prompt, '+')
	if plus > 0 && strings.HasSuffix(prompt, "=") {
		a, b := prompt[:plus], prompt[plus+1:len(prompt)-1]
		if allDigits(a) && allDigits(b) {
			return decimalSum(a, b), nil
		}
	}
	return "", fmt.Errorf("datasets: text task: want a prompt of the form \"a+b=\" with decimal a and b, got %s", quoteValue(prompt))
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// decimalSum adds two runs of decimal digits by hand, so that operands of
// any length add exactly; the sum has no leading zeros ("0" for zero).
func decimalSum(a, b string) string {
	out := make([]byte, max(len(a), len(b))+1)
	carry := byte(0)
	for i := 1; i <= len(out); i++ {
		d := carry
		if i <= len(a) {
			d += a[len(a)-i] - '0'
		}
		if i <= len(b) {
			d += b[len(b)-i] - '0'
		}
		out[len(out)-i] = '0' + d%10
		carry = d / 10
	}
	s := strings.TrimLeft(string(out), "0")
	if s == "" {
		return "0"
	}
	return s
}

// Verify is the package-level Verify with the config's PrincipleMaxChars;
// a prompt not of the form "a+b=" gives false, false.
func (t *TextTask) Verify(prompt, completion string) (correct, principle bool) {
	correct, principle, err := Verify(prompt, completion, t.Config.PrincipleMaxChars)
	if err != nil {
		return false, false
	}
	return correct, principle
}

// Score is the verifier's reward 2·correct + principle ∈ {0, 1, 2, 3} (see
// TextTask.Verify): 0 for a malformed prompt.
func (t *TextTask) Score(prompt, completion string) float64 {
	correct, principle := t.Verify(prompt, completion)
	s := 0.0
	if correct {
		s += 2
	}
	if principle {
		s++
	}
	return s
}

// Preference is a general preference oracle on two completions y, y2 of one
// prompt, possibly intransitive:
//
//	P(y ≻ y2) = σ(sharpness·(Score(y) − Score(y2)) + cycle·c(y, y2))
//
// where c is rock–paper–scissors on the completions' lengths mod 3: with
// k = len(y) mod 3 and k2 = len(y2) mod 3, c = +1 when k2 = (k+1) mod 3
// (class k beats class k+1), −1 when k = (k2+1) mod 3, 0 when k = k2. With
// cycle = 0 it is Bradley–Terry in Score; with cycle > 0 three completions
// of equal Score and lengths 0, 1, 2 mod 3 beat each other in a cycle, each
// with probability σ(cycle). P(y ≻ y2) + P(y2 ≻ y) = 1 exactly in floating
// point (the smaller of the two is computed as 1 minus the larger).
func (t *TextTask) Preference(prompt, y, y2 string, sharpness, cycle float64) float64 {
	c := 0.0
	switch k, k2 := len(y)%3, len(y2)%3; {
	case k2 == (k+1)%3:
		c = 1
	case k == (k2+1)%3:
		c = -1
	}
	z := sharpness*(t.Score(prompt, y)-t.Score(prompt, y2)) + cycle*c
	if z >= 0 {
		return sigmoid(z)
	}
	// 1 − σ(−z) is exact for σ(−z) ≥ ½ (Sterbenz), so the two orders sum to 1.
	return 1 - sigmoid(-z)
}

// Label turns two samples of one prompt into a preference pair by the
// verifier: the completion with the higher Score is chosen. Equal scores
// give ok = false (and empty strings), without drawing from r. With
// probability flip the label is then reversed (flipped = true): one draw
// from r per pair, made only when flip > 0, so r may be nil when flip is 0.
func (t *TextTask) Label(prompt, y1, y2 string, flip float64, r *rand.Rand) (chosen, rejected string, flipped, ok bool) {
	s1, s2 := t.Score(prompt, y1), t.Score(prompt, y2)
	if s1 == s2 {
		return "", "", false, false
	}
	chosen, rejected = y1, y2
	if s2 > s1 {
		chosen, rejected = y2, y1
	}
	if flip > 0 && r.Float64() < flip {
		chosen, rejected, flipped = rejected, chosen, true
	}
	return chosen, rejected, flipped, true
}
