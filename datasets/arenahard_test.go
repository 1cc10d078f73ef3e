package datasets

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// judgments is a small file in arena-hard-auto's model_judgment layout:
// game 1 shows the baseline as A, game 2 the model as A.
const judgments = `{"question_id":"q1","model":"alpha","judge":"gpt-4-1106-preview","games":[{"user_prompt":"…","judgment":"…","score":"B>>A"},{"user_prompt":"…","judgment":"…","score":"A>B"}]}
{"question_id":"q2","model":"alpha","judge":"gpt-4-1106-preview","games":[{"score":"A=B"},{"score":null}]}
{"question_id":"q1","model":"beta","judge":"gpt-4-1106-preview","games":[{"score":"A>>B"},{"score":"B>A"}]}
{"question_id":"q2","model":"beta","judge":"gpt-4-1106-preview","games":[null,{"score":"B<<A"}]}
`

func TestReadArenaHard(t *testing.T) {
	const base = DefaultArenaHardBaseline
	got, skipped, err := ReadArenaHard(strings.NewReader(judgments), "j.jsonl", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Battle{
		{ModelA: base, ModelB: "alpha", Winner: WinnerB, Weight: 3}, // B>>A: the model, strongly
		{ModelA: "alpha", ModelB: base, Winner: WinnerA, Weight: 1}, // game 2: A is the model
		{ModelA: base, ModelB: "alpha", Winner: WinnerTie, Weight: 1},
		{ModelA: base, ModelB: "beta", Winner: WinnerA, Weight: 3}, // A>>B: the baseline, strongly
		{ModelA: "beta", ModelB: base, Winner: WinnerB, Weight: 1},
		{ModelA: "beta", ModelB: base, Winner: WinnerA, Weight: 3}, // B<<A is A>>B
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("battles\ngot  %v\nwant %v", got, want)
	}
	if skipped != (ArenaSkips{NullScore: 2}) {
		t.Errorf("skipped %+v, want 2 null scores", skipped)
	}

	// Detected by its fields; options for the baseline and the strong weight.
	dir := t.TempDir()
	path := writeFile(t, dir, "judgments.jsonl.gz", gzipBytes(t, []byte(strings.ReplaceAll(judgments, base, "ref"))))
	c, err := LoadArena(&ArenaOptions{Baseline: "ref", StrongWeight: 2}, path)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(c.Models) != "[alpha beta ref]" || fmt.Sprint(c.Formats) != "[arena_hard]" || c.Skipped.NullScore != 2 || c.Battles() != 6 {
		t.Errorf("models %v, formats %v, skipped %+v, %d battles", c.Models, c.Formats, c.Skipped, c.Battles())
	}
	// alpha vs ref: alpha won 2 (strong) + 1, tied 1.
	if w := c.Weights()[0]; w != (PairWeights{WinsA: 3, Ties: 1}) {
		t.Errorf("alpha vs ref: weights %+v, want 3 wins and 1 tie", w)
	}
	// A battle file is read as battles even with a "games" field, and a
	// judgment file with format battles fails on model_a.
	mixed := writeFile(t, dir, "battles.jsonl", []byte(`{"model_a":"a","model_b":"b","winner":"tie","games":[]}`+"\n"))
	if c, err := LoadArena(nil, mixed); err != nil || c.Formats[0] != ArenaFormatBattles {
		t.Errorf("battle file with games: %v", err)
	}
	_, err = LoadArena(&ArenaOptions{Format: ArenaFormatBattles}, path)
	checkMessage(t, "judgments read as battles", err, path+":1: model_a: want a model name, got no such field")
}

func TestReadArenaHardErrors(t *testing.T) {
	const ok = `{"model":"m","games":[{"score":"A>B"},{"score":"B>A"}]}` + "\n"
	cases := []struct{ name, text, want string }{
		{"unknown verdict", ok + `{"model":"m","games":[{"score":"A>B"},{"score":"A>>>B"}]}`,
			`h.jsonl:2: games[1].score: want one of "A>>B", "A>B", "A=B", "B>A", "B>>A" (or "B<<A", "B<A", "B=A", "A<B", "A<<B"), or null, got "A>>>B"`},
		{"number verdict", `{"model":"m","games":[{"score":1}]}`,
			`h.jsonl:1: games[0].score: want one of "A>>B", "A>B", "A=B", "B>A", "B>>A" (or "B<<A", "B<A", "B=A", "A<B", "A<<B"), or null, got number`},
		{"no score", `{"model":"m","games":[{"judgment":"x"}]}`,
			`h.jsonl:1: games[0].score: want one of "A>>B", "A>B", "A=B", "B>A", "B>>A" (or "B<<A", "B<A", "B=A", "A<B", "A<<B"), or null, got no such field`},
		{"game not an object", `{"model":"m","games":["A>B"]}`,
			`h.jsonl:1: games[0]: want a game object, got string`},
		{"three games", `{"model":"m","games":[null,null,null]}`,
			`h.jsonl:1: games: want an array of 1 or 2 games, got 3`},
		{"games not an array", `{"model":"m","games":{"score":"A>B"}}`,
			`h.jsonl:1: games: want an array of games, got object`},
		{"no model", ok + `{"games":[{"score":"A>B"}]}`,
			`h.jsonl:2: model: want a model name, got no such field`},
		{"model not a string", `{"model":7,"games":[{"score":"A>B"}]}`,
			`h.jsonl:1: model: want a string, got number`},
		{"the baseline judged", ok + `{"model":"gpt-4-0314","games":[{"score":"A=B"}]}`,
			`h.jsonl:2: model: want a model other than the baseline, got "gpt-4-0314"; set self_battles=skip to drop such battles`},
		{"only nulls", `{"model":"m","games":[{"score":null},null]}`,
			`h.jsonl: want at least one battle, got none kept: skipped 2 without a verdict (score null)`},
		{"not an object", ok + `[1]`, `h.jsonl:2: want a JSON object, got array`},
		{"truncated", ok + `{"model":"m","games":[`, `h.jsonl:2: want a complete JSON object, got truncated JSON`},
	}
	for _, c := range cases {
		_, _, err := ReadArenaHard(strings.NewReader(c.text), "h.jsonl", nil)
		checkMessage(t, c.name, err, c.want)
	}
	battles, skipped, err := ReadArenaHard(strings.NewReader(ok+`{"model":"gpt-4-0314","games":[{"score":"A=B"},{"score":"A>B"}]}`), "h.jsonl",
		&ArenaOptions{SelfBattles: SelfBattlesSkip})
	if err != nil || len(battles) != 2 || skipped.Self != 2 {
		t.Errorf("baseline judged, skip: %d battles, %+v, %v", len(battles), skipped, err)
	}
	_, err = LoadArena(&ArenaOptions{Format: ArenaFormatArenaHard}, writeFile(t, t.TempDir(), "j.csv", []byte("model,games\n")))
	var de *Error
	if !errors.As(err, &de) || !strings.HasSuffix(err.Error(), "j.csv: want arena-hard judgments as JSON Lines, got a .csv file") {
		t.Errorf("csv as arena_hard: got %v", err)
	}
	for _, opt := range []ArenaOptions{{Format: "fastchat"}, {StrongWeight: -1}} {
		if _, err := LoadArena(&opt, filepath.Join(t.TempDir(), "none.jsonl")); err == nil || errors.As(err, &de) {
			t.Errorf("%+v: got %v, want an options error", opt, err)
		}
	}
}

func ExampleReadArenaHard() {
	text := `{"question_id":"q1","model":"m","judge":"j","games":[{"score":"B>>A"},{"score":"A=B"}]}`
	battles, skipped, err := ReadArenaHard(strings.NewReader(text), "judgments.jsonl", nil)
	for _, b := range battles {
		fmt.Printf("%s vs %s: %s, weight %g\n", b.ModelA, b.ModelB, b.Winner, b.Weight)
	}
	fmt.Println(skipped.NullScore, err)
	// Output:
	// gpt-4-0314 vs m: model_b, weight 3
	// m vs gpt-4-0314: tie, weight 1
	// 0 <nil>
}
