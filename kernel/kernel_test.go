package kernel

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
)

type toyPlugin struct{ id string }

func (t toyPlugin) Info() Info {
	return Info{
		ID: t.id, Summary: "toy",
		Params: []Param{
			FloatParam("learning_rate", 0.1, 0, 10, "step size"),
			{Key: "epsilon", Type: Float, Default: 0.0, Range: Range{Min: 0, Max: 0.5, MaxExclusive: true}, Doc: "flip rate"},
			IntParam("steps", 5, 1, 1000, "steps"),
			ChoiceParam("loss", "bt", []string{"bt", "margin_bt"}, "loss"),
		},
	}
}

func (t toyPlugin) Run(job *Job) error {
	r := job.Rand()
	x := 1.0
	for s := int64(1); s <= int64(job.Params.Int("steps")); s++ {
		x -= job.Params.Float("learning_rate") * (x - r.Float64())
		if job.Params.Float("learning_rate") > 5 {
			x = x * 1e300 * 1e300
		}
		if err := job.Record(s, "x", x); err != nil {
			return err
		}
	}
	job.SetFinal("x", x)
	tb := job.AddTable("t", "name", "value")
	tb.Add("a", math.NaN())
	return nil
}

func TestRunDeterministicAndErrors(t *testing.T) {
	Register(toyPlugin{"toy.a"})
	defer unregister("toy.a")
	r1, err := Run(context.Background(), "toy.a", Options{Params: map[string]any{"seed": "7"}})
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := Run(context.Background(), "toy.a", Options{Params: map[string]any{"seed": 7}})
	b1, _ := r1.CanonicalJSON()
	b2, _ := r2.CanonicalJSON()
	if string(b1) != string(b2) {
		t.Fatalf("not deterministic:\n%s\n%s", b1, b2)
	}
	var back Result
	if err := back.UnmarshalJSON(b1); err != nil {
		t.Fatal(err)
	}
	b3, _ := back.CanonicalJSON()
	if string(b3) != string(b1) {
		t.Fatalf("round trip differs:\n%s\n%s", b1, b3)
	}
	_, err = Run(context.Background(), "toy.a", Options{Params: map[string]any{"epsilon": "0.5"}})
	var pe *ParamError
	if !errors.As(err, &pe) || err.Error() != `toy.a: param epsilon: got "0.5", want float [0, 0.5)` {
		t.Errorf("got %v", err)
	}
	_, err = Run(context.Background(), "toy.a", Options{Params: map[string]any{"bogus": 1}})
	if err == nil || !strings.Contains(err.Error(), `unknown param "bogus" (known: epsilon, learning_rate, loss, seed, steps)`) {
		t.Errorf("got %v", err)
	}
	_, err = Run(context.Background(), "toy.a", Options{Params: map[string]any{"learning_rate": 6.0}})
	var de *DivergedError
	if !errors.As(err, &de) {
		t.Errorf("got %v", err)
	}
	_, err = Run(context.Background(), "nope.x", Options{})
	if err == nil || !strings.Contains(err.Error(), "forgotten import") {
		t.Errorf("got %v", err)
	}
	t.Logf("%s", b1)
}
