package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// regPlugin is a plugin assembled from an Info and a run function, for the
// registry and run-contract tests.
type regPlugin struct {
	info Info
	run  func(*Job) error
}

func (p regPlugin) Info() Info { return p.info }

func (p regPlugin) Run(job *Job) error {
	if p.run == nil {
		return nil
	}
	return p.run(job)
}

// registerTemp registers a throw-away plugin for the duration of the test.
func registerTemp(t *testing.T, info Info, run func(*Job) error) {
	t.Helper()
	Register(regPlugin{info, run})
	t.Cleanup(func() { unregister(info.ID) })
}

// panicText runs f and returns what it panicked with, or "" if it did not.
func panicText(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

func TestRegisterPanics(t *testing.T) {
	registerTemp(t, Info{ID: "reg.taken"}, nil)
	tests := []struct {
		name string
		p    Plugin
		want string
	}{
		{"nil", nil, "kernel: Register plugin is nil"},
		{"empty ID", regPlugin{info: Info{}}, `kernel: Register: plugin ID "" is not lowercase and dot-namespaced`},
		{"no namespace", regPlugin{info: Info{ID: "bt"}}, `kernel: Register: plugin ID "bt" is not lowercase and dot-namespaced`},
		{"upper case", regPlugin{info: Info{ID: "BT.ratings"}}, `kernel: Register: plugin ID "BT.ratings" is not lowercase and dot-namespaced`},
		{"trailing dot", regPlugin{info: Info{ID: "bt."}}, `kernel: Register: plugin ID "bt." is not lowercase and dot-namespaced`},
		{"empty part", regPlugin{info: Info{ID: "bt..x"}}, `kernel: Register: plugin ID "bt..x" is not lowercase and dot-namespaced`},
		{"dash", regPlugin{info: Info{ID: "bt-x.y"}}, `kernel: Register: plugin ID "bt-x.y" is not lowercase and dot-namespaced`},
		{"digit first", regPlugin{info: Info{ID: "1bt.x"}}, `kernel: Register: plugin ID "1bt.x" is not lowercase and dot-namespaced`},
		{"duplicate ID", regPlugin{info: Info{ID: "reg.taken"}}, "kernel: Register called twice for plugin reg.taken"},
		{"duplicate param", regPlugin{info: Info{ID: "reg.dup", Params: []Param{
			IntParam("n", 1, 0, 9, ""), FloatParam("n", 1, 0, 9, ""),
		}}}, `kernel: Register reg.dup: param "n" declared twice`},
		{"seed declared twice", regPlugin{info: Info{ID: "reg.seed", Params: []Param{
			IntParam(ParamSeed, 1, 0, 9, ""), IntParam(ParamSeed, 2, 0, 9, ""),
		}}}, `kernel: Register reg.seed: param "seed" declared twice`},
		{"int default out of range", regPlugin{info: Info{ID: "reg.def", Params: []Param{
			IntParam("n", 0, 1, 9, ""),
		}}}, `kernel: Register reg.def: default 0 of param "n" is not int [1, 9]`},
		{"default on an exclusive bound", regPlugin{info: Info{ID: "reg.def", Params: []Param{
			{Key: "e", Type: Float, Default: 0.5, Range: Range{Min: 0, Max: 0.5, MaxExclusive: true}},
		}}}, `kernel: Register reg.def: default 0.5 of param "e" is not float [0, 0.5)`},
		{"default of the wrong type", regPlugin{info: Info{ID: "reg.def", Params: []Param{
			{Key: "f", Type: Float, Default: true},
		}}}, `kernel: Register reg.def: default true of param "f" is not float (-inf, inf)`},
		{"choice default not a choice", regPlugin{info: Info{ID: "reg.def", Params: []Param{
			ChoiceParam("loss", "dpo", []string{"bt", "margin_bt"}, ""),
		}}}, `kernel: Register reg.def: default dpo of param "loss" is not choice one of bt, margin_bt`},
		{"missing default", regPlugin{info: Info{ID: "reg.def", Params: []Param{
			{Key: "b", Type: Bool},
		}}}, `kernel: Register reg.def: default <nil> of param "b" is not bool true or false`},
	}
	for _, tt := range tests {
		got := panicText(func() { Register(tt.p) })
		if got != tt.want {
			t.Errorf("%s:\ngot  %q\nwant %q", tt.name, got, tt.want)
		}
		if tt.p != nil && tt.p.Info().ID != "reg.taken" {
			if _, err := Lookup(tt.p.Info().ID); err == nil {
				t.Errorf("%s: the plugin was registered despite the panic", tt.name)
				unregister(tt.p.Info().ID)
			}
		}
	}
}

func TestRegisterOwnSeed(t *testing.T) {
	// A plugin may declare "seed" itself, e.g. with another default; it is
	// then not added a second time.
	registerTemp(t, Info{ID: "reg.ownseed", Params: []Param{IntParam(ParamSeed, 42, 0, 1000, "the seed")}}, nil)
	res, err := Run(context.Background(), "reg.ownseed", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Seed != 42 || len(res.Params) != 1 {
		t.Errorf("seed %d, params %v; want the plugin's default 42 and one param", res.Seed, res.Params)
	}
}

func TestIDsSortedAndLookup(t *testing.T) {
	for _, id := range []string{"zz.reg", "aa.reg", "mm.reg.sub"} {
		registerTemp(t, Info{ID: id}, nil)
	}
	ids := IDs()
	pos := map[string]int{}
	for i, id := range ids {
		pos[id] = i
		if i > 0 && ids[i-1] >= id {
			t.Errorf("IDs() not sorted: %q before %q", ids[i-1], id)
		}
	}
	if !(pos["aa.reg"] < pos["mm.reg.sub"] && pos["mm.reg.sub"] < pos["zz.reg"]) {
		t.Errorf("IDs() = %v", ids)
	}
	if p, err := Lookup("mm.reg.sub"); err != nil || p.Info().ID != "mm.reg.sub" {
		t.Errorf("Lookup(mm.reg.sub) = %v, %v", p, err)
	}

	_, err := Lookup("nope.x")
	var ue *UnknownPluginError
	if !errors.As(err, &ue) || ue.ID != "nope.x" || strings.Join(ue.Known, ",") != strings.Join(IDs(), ",") {
		t.Fatalf("Lookup(nope.x) = %#v, want an *UnknownPluginError listing IDs()", err)
	}
	want := `kernel: unknown plugin "nope.x" (forgotten import of github.com/alignlab/alignlab/algos/all?); known: ` + strings.Join(IDs(), ", ")
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}
	none := &UnknownPluginError{ID: "x.y"}
	if got := none.Error(); got != `kernel: unknown plugin "x.y" (forgotten import of github.com/alignlab/alignlab/algos/all?); known: none` {
		t.Errorf("with nothing registered: %s", got)
	}
	if _, err := Describe("nope.x"); !errors.As(err, &ue) {
		t.Errorf("Describe(nope.x): %v, want an *UnknownPluginError", err)
	}
}

var describeInfo = Info{
	ID:      "example.coin",
	Summary: "estimate a coin's bias from seeded flips",
	Papers:  []Paper{{Title: "On coins", Authors: "A. Author and B. Author", Year: 2024, ArXiv: "2401.00001"}},
	Params: []Param{
		IntParam("flips", 100, 1, 1000000, "number of flips"),
		{Key: "bias", Type: Float, Default: 0.5, Range: Range{Min: 0, Max: 1, MinExclusive: true, MaxExclusive: true}, Doc: "probability of heads"},
		ChoiceParam("prior", "flat", []string{"flat", "jeffreys"}, "prior on the bias"),
	},
	Data: []DataFormat{{
		Name:    "flips (text)",
		Doc:     "one flip per line:\nH or T",
		Example: "H",
	}},
	Doc: "Posterior mean (h + a) / (n + a + b).\nReports the estimate per flip.\n",
}

func ExampleDescribe() {
	Register(regPlugin{info: describeInfo})
	defer unregister(describeInfo.ID)
	text, _ := Describe("example.coin")
	fmt.Print(text)
	// Output:
	// example.coin — estimate a coin's bias from seeded flips
	//
	// Paper:
	//   A. Author and B. Author (2024). On coins. arXiv:2401.00001
	//
	// Posterior mean (h + a) / (n + a + b).
	// Reports the estimate per flip.
	//
	// Params:
	//   flips                  int    default 100        [1, 1000000]
	//       number of flips
	//   bias                   float  default 0.5        (0, 1)
	//       probability of heads
	//   prior                  choice default "flat"     one of flat, jeffreys
	//       prior on the bias
	//   seed                   int    default 1          [0, 9007199254740992]
	//       seed of every random draw in the run
	//
	// Data (--data):
	//   flips (text)
	//       one flip per line:
	//       H or T
	//       example: H
}

func TestDescribeWithoutDataOrPaper(t *testing.T) {
	registerTemp(t, Info{ID: "reg.bare", Summary: "bare"}, nil)
	got, err := Describe("reg.bare")
	if err != nil {
		t.Fatal(err)
	}
	want := "reg.bare — bare\n\nParams:\n" +
		"  seed                   int    default 1          [0, 9007199254740992]\n" +
		"      seed of every random draw in the run\n" +
		"\nData (--data):\n  none: the plugin generates its own data from its params\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestResultJSONRoundTrip(t *testing.T) {
	registerTemp(t, Info{ID: "reg.json", Params: []Param{FloatParam("lr", 0.5, 0, 1, "")}}, func(job *Job) error {
		for s := int64(1); s <= 3; s++ {
			if err := job.Record(s, "loss", 1/float64(s)); err != nil {
				return err
			}
		}
		job.SetFinal("loss", 1.0/3)
		tb := job.AddTable("cells", "name", "f", "i", "b")
		tb.Add("nan", math.NaN(), 1, true)
		tb.Add("+inf", math.Inf(1), int64(-2), false)
		tb.Add("-inf", math.Inf(-1), 3, true)
		tb.Add("finite", 0.25, 4, false)
		tb.Add("f32", float32(0.5), 5, false)
		job.AddChart(Chart{Kind: "line", Series: []string{"loss"}})
		job.AddChart(Chart{Kind: "bar", ID: "b", Table: "cells", X: "name", Value: "f"})
		job.Note("a note with\ttab")
		return nil
	})
	res, err := Run(context.Background(), "reg.json", Options{Params: map[string]any{"seed": 9}})
	if err != nil {
		t.Fatal(err)
	}
	canon, err := res.CanonicalJSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"NaN"`, `"+Inf"`, `"-Inf"`, `"id": "c0"`, `"seed": 9`} {
		if !strings.Contains(string(canon), want) {
			t.Errorf("JSON misses %s:\n%s", want, canon)
		}
	}
	full, _ := res.JSON()
	var back Result
	if err := json.Unmarshal(full, &back); err != nil {
		t.Fatal(err)
	}
	if back.Timing == nil || back.Timing.Started != res.Timing.Started {
		t.Errorf("timing lost in the round trip: %+v", back.Timing)
	}
	again, _ := back.CanonicalJSON()
	if string(again) != string(canon) {
		t.Errorf("round trip differs:\n%s\n%s", canon, again)
	}
	cells := back.Tables["cells"]
	f := cells.Floats("f")
	if !math.IsNaN(f[0]) || f[3] != 0.25 || f[4] != 0.5 {
		t.Errorf("decoded column f = %v, want [NaN … 0.25 0.5]", f)
	}
	if got := cells.Strings("name"); strings.Join(got, ",") != "nan,+inf,-inf,finite,f32" {
		t.Errorf("decoded names %v", got)
	}
	if cells.Rows[1][2] != int64(-2) || cells.Rows[0][3] != true {
		t.Errorf("decoded int and bool cells: %#v %#v", cells.Rows[1][2], cells.Rows[0][3])
	}
	if back.Params["seed"] != int64(9) || back.Params["lr"] != 0.5 {
		t.Errorf("decoded params %#v", back.Params)
	}
	if back.Final["loss"] != 1.0/3 || len(back.Series["loss"]) != 3 || back.Series["loss"][2] != (Point{3, 1.0 / 3}) {
		t.Errorf("decoded final %v, series %v", back.Final, back.Series)
	}
	if len(back.Charts) != 2 || back.Charts[1].Table != "cells" || len(back.Notes) != 1 {
		t.Errorf("decoded charts %+v, notes %v", back.Charts, back.Notes)
	}

	// Non-finite final metrics never leave Run, but a Result built by hand
	// must still encode: they travel as strings.
	hand := &Result{Plugin: "x.y", Final: map[string]float64{"a": math.NaN(), "b": math.Inf(-1)}}
	b, err := hand.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var handBack Result
	if err := json.Unmarshal(b, &handBack); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(handBack.Final["a"]) || !math.IsInf(handBack.Final["b"], -1) {
		t.Errorf("final NaN/-Inf did not survive: %v from %s", handBack.Final, b)
	}
}

func TestPointJSON(t *testing.T) {
	for _, tt := range []struct {
		p    Point
		json string
	}{
		{Point{1, 0.5}, `[1,0.5]`},
		{Point{-1, math.Inf(1)}, `[-1,"+Inf"]`},
		{Point{7, 3}, `[7,3]`},
	} {
		b, err := json.Marshal(tt.p)
		if err != nil || string(b) != tt.json {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tt.p, b, err, tt.json)
		}
		var back Point
		if err := json.Unmarshal(b, &back); err != nil || back != tt.p {
			t.Errorf("Unmarshal(%s) = %v, %v", b, back, err)
		}
	}
	var p Point
	if err := json.Unmarshal([]byte(`[1,"half"]`), &p); err == nil || err.Error() != `kernel: "half" is not a number` {
		t.Errorf("Unmarshal of a bad value: %v", err)
	}
	if err := json.Unmarshal([]byte(`{"step":1}`), &p); err == nil || !strings.HasPrefix(err.Error(), "kernel: point: want [step, value]") {
		t.Errorf("Unmarshal of an object: %v", err)
	}
}

func TestCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var steps int64
	registerTemp(t, Info{ID: "reg.forever"}, func(job *Job) error {
		for s := int64(1); ; s++ {
			steps = s
			if err := job.Record(s, "x", float64(s)); err != nil {
				return err
			}
			if s > 1e7 {
				return errors.New("not cancelled")
			}
		}
	})
	observer := func(e Event) {
		if e.Step == 100 {
			cancel()
		}
	}
	res, err := Run(ctx, "reg.forever", Options{Observer: observer})
	if !errors.Is(err, context.Canceled) || res != nil {
		t.Fatalf("Run = %v, %v; want nil, context.Canceled", res, err)
	}
	if steps != 100 {
		t.Errorf("the plugin ran %d steps, want it to stop at the cancelled step 100", steps)
	}

	// A plugin that ignores the context still returns nothing once cancelled.
	registerTemp(t, Info{ID: "reg.deaf"}, func(*Job) error { return nil })
	if _, err := Run(ctx, "reg.deaf", Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Run with a cancelled context: %v, want context.Canceled", err)
	}
}

func TestPanicError(t *testing.T) {
	sentinel := errors.New("graph: shapes (3) and (4) differ\nsecond line")
	registerTemp(t, Info{ID: "reg.panicerr"}, func(*Job) error { panic(sentinel) })
	registerTemp(t, Info{ID: "reg.panicstr"}, func(*Job) error {
		var m map[string]int
		m["x"] = 1
		return nil
	})
	_, err := Run(context.Background(), "reg.panicerr", Options{})
	var pe *PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("got %v, want a *PanicError", err)
	}
	if err.Error() != "reg.panicerr: graph: shapes (3) and (4) differ" {
		t.Errorf("Error() = %q, want the first line only", err.Error())
	}
	if !errors.Is(err, sentinel) {
		t.Errorf("the panic's error is not reachable with errors.Is")
	}
	if !strings.Contains(pe.Stack, "registry_test.go") {
		t.Errorf("Stack does not show the panicking function:\n%s", pe.Stack)
	}
	_, err = Run(context.Background(), "reg.panicstr", Options{})
	if !errors.As(err, &pe) || err.Error() != "reg.panicstr: assignment to entry in nil map" || pe.Unwrap() == nil {
		t.Errorf("got %v", err)
	}
	if (&PanicError{Plugin: "a.b", Value: "plain"}).Unwrap() != nil {
		t.Errorf("Unwrap of a non-error panic value is not nil")
	}
}

func TestDivergedError(t *testing.T) {
	registerTemp(t, Info{ID: "reg.diverge"}, func(job *Job) error {
		for _, r := range []struct {
			step   int64
			metric string
			v      float64
		}{{1, "loss", 0.7}, {1, "acc", 0.5}, {2, "loss", 0.25}, {3, "loss", math.NaN()}} {
			if err := job.Record(r.step, r.metric, r.v); err != nil {
				// Once diverged, every Record returns the same error.
				if again := job.Record(4, "acc", 0.9); again != err {
					return fmt.Errorf("second Record returned %v", again)
				}
				return err
			}
		}
		return nil
	})
	_, err := Run(context.Background(), "reg.diverge", Options{})
	var de *DivergedError
	if !errors.As(err, &de) {
		t.Fatalf("got %v, want a *DivergedError", err)
	}
	want := "reg.diverge: diverged at step 3: loss is NaN (last finite: acc=0.5@1, loss=0.25@2)"
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err, want)
	}

	// A plugin that ignores Record's error is stopped anyway.
	registerTemp(t, Info{ID: "reg.ignores"}, func(job *Job) error {
		job.Record(1, "loss", math.Inf(1))
		return nil
	})
	if _, err := Run(context.Background(), "reg.ignores", Options{}); !errors.As(err, &de) || de.Step != 1 {
		t.Errorf("got %v, want a *DivergedError at step 1", err)
	}

	// A non-finite final metric is a divergence too, at no particular step.
	registerTemp(t, Info{ID: "reg.badfinal"}, func(job *Job) error {
		job.SetFinal("elo", math.Inf(-1))
		return nil
	})
	_, err = Run(context.Background(), "reg.badfinal", Options{})
	if want := "reg.badfinal: final metric elo is -Inf"; err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

func TestObserverEvents(t *testing.T) {
	registerTemp(t, Info{ID: "reg.events"}, func(job *Job) error {
		job.SetTotal(2)
		if err := job.Step(1); err != nil {
			return err
		}
		if err := job.Record(2, "loss", 0.5); err != nil {
			return err
		}
		job.Note("done after %d steps", 2)
		return nil
	})
	var got []Event
	res, err := Run(context.Background(), "reg.events", Options{Observer: func(e Event) { got = append(got, e) }})
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{{Total: 2}, {Step: 1, Total: 2}, {Step: 2, Total: 2, Metric: "loss", Value: 0.5}, {Note: "done after 2 steps"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events %v, want %v", got, want)
	}
	if len(res.Notes) != 1 || res.Notes[0] != "done after 2 steps" {
		t.Errorf("notes %v", res.Notes)
	}
}

func TestRandStreams(t *testing.T) {
	draws := func(seed int64) [2]uint64 {
		job := NewJob(context.Background(), "reg.rand", Params{ParamSeed: seed}, nil)
		return [2]uint64{job.Rand().Uint64(), job.Rand().Uint64()}
	}
	a, b, c := draws(3), draws(3), draws(4)
	if a != b {
		t.Errorf("same seed, different draws: %v %v", a, b)
	}
	if a[0] == a[1] {
		t.Errorf("two streams of one job start alike: %v", a)
	}
	if a == c {
		t.Errorf("seeds 3 and 4 draw alike: %v", a)
	}
}

func TestBadDataPaths(t *testing.T) {
	registerTemp(t, Info{ID: "reg.data", Data: []DataFormat{{Name: "anything"}}}, nil)
	dir := t.TempDir()
	for _, tt := range []struct {
		path, want string
	}{
		{dir + "/missing.jsonl", dir + "/missing.jsonl: no such file or directory"},
		{dir, dir + ": is a directory, want a data file"},
	} {
		_, err := Run(context.Background(), "reg.data", Options{Data: []string{tt.path}})
		if err == nil || err.Error() != tt.want {
			t.Errorf("data %s: got %v, want %s", tt.path, err, tt.want)
		}
	}
}
