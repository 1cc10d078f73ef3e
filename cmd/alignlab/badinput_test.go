package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// badInput is one bad input file (or command line) given to a plugin
// through the binary. Every case must give exit status 2, nothing on
// stdout, exactly one line on stderr that starts with "alignlab: " and the
// location msg ("{dir}" is the case's folder; an exact case gives the whole
// line), no stack trace, and no --out folder. Unless the case notes a known
// deficiency of the message, the line must also say what was expected
// ("want …") and stay short.
type badInput struct {
	name   string
	files  map[string]string // written into {dir} before the run
	setup  func(t *testing.T, dir string)
	args   []string // after "run"; "{dir}" is replaced
	msg    string   // the line must start with "alignlab: " + msg
	exact  bool     // the line must be exactly "alignlab: " + msg (msg ends in "\n")
	known  string   // a known deficiency of the message, reported, not asserted
	asRoot bool     // the case cannot work as root
}

const maxMessage = 1000 // bytes of a readable one-line error

// bigLine returns a JSON battle line of about n bytes whose winner is bad.
func bigLine(n int) string {
	return `{"model_a":"a","model_b":"b","conversation":"` + strings.Repeat("x", n) + `","winner":"bob"}` + "\n"
}

var badInputs = []badInput{
	// bt.ratings: arena battles (JSONL, JSON array, CSV).
	{name: "battles empty file", files: map[string]string{"b.jsonl": ""},
		args: []string{"bt.ratings", "--data", "{dir}/b.jsonl"}, msg: "{dir}/b.jsonl: want at least one battle, got an empty file"},
	{name: "battles truncated JSON", files: map[string]string{"b.jsonl": `{"model_a":"a","model_b":"b","winner":"model_a"}` + "\n" + `{"model_a":"a","mod`},
		args: []string{"bt.ratings", "--data", "{dir}/b.jsonl"}, msg: "{dir}/b.jsonl:2: want a complete JSON object, got truncated JSON"},
	{name: "battles wrong type", files: map[string]string{"b.jsonl": `{"model_a":1,"model_b":"b","winner":"model_a"}`},
		args: []string{"bt.ratings", "--data", "{dir}/b.jsonl"}, msg: "{dir}/b.jsonl:1: model_a: want a string, got number"},
	{name: "battles unknown winner", files: map[string]string{"b.jsonl": `{"model_a":"a","model_b":"b","winner":"bob"}`},
		args: []string{"bt.ratings", "--data", "{dir}/b.jsonl"}, msg: `{dir}/b.jsonl:1: winner: want one of "model_a", "model_b", "tie", "tie (bothbad)", got "bob"`},
	{name: "battles same model twice", files: map[string]string{"b.jsonl": `{"model_a":"a","model_b":"a","winner":"tie"}`},
		args: []string{"bt.ratings", "--data", "{dir}/b.jsonl"}, msg: `{dir}/b.jsonl:1: model_b: want a model other than model_a, got "a" on both sides`},
	{name: "battles non-UTF-8", files: map[string]string{"b.jsonl": "{\"model_a\":\"a\xff\",\"model_b\":\"b\",\"winner\":\"model_a\"}\n"},
		args: []string{"bt.ratings", "--data", "{dir}/b.jsonl"}, msg: "{dir}/b.jsonl:1: want UTF-8 text, got byte 0xff at column 14"},
	{name: "battles JSON array truncated", files: map[string]string{"b.json": `[{"model_a":"a","model_b":"b","winner":"tie"},`},
		args: []string{"bt.ratings", "--data", "{dir}/b.json"}, msg: "{dir}/b.json:1: want a complete JSON array, got truncated JSON"},
	{name: "battles CSV without winner column", files: map[string]string{"b.csv": "model_a,model_b\na,b\n"},
		args: []string{"bt.ratings", "--data", "{dir}/b.csv"}, msg: `{dir}/b.csv:1: winner: want a header with columns model_a, model_b, winner, got "model_a,model_b"`},
	{name: "battles 20 MB line, bad winner", setup: func(t *testing.T, dir string) { writeFile(t, dir, "b.jsonl", bigLine(20<<20)) },
		args: []string{"bt.ratings", "--data", "{dir}/b.jsonl"}, msg: `{dir}/b.jsonl:1: winner: want one of "model_a", "model_b", "tie", "tie (bothbad)", got "bob"`},
	{name: "battles 20 MB winner value", setup: func(t *testing.T, dir string) {
		writeFile(t, dir, "b.jsonl", `{"model_a":"a","model_b":"b","winner":"`+strings.Repeat("x", 20<<20)+`"}`+"\n")
	}, args: []string{"bt.ratings", "--data", "{dir}/b.jsonl"},
		msg: `{dir}/b.jsonl:1: winner: want one of "model_a", "model_b", "tie", "tie (bothbad)", got "` + strings.Repeat("x", 64) + `"… (20971520 bytes)` + "\n", exact: true},
	{name: "directory instead of a file", args: []string{"bt.ratings", "--data", "{dir}"}, msg: "{dir}: is a directory, want a data file"},
	{name: "dangling symlink", setup: func(t *testing.T, dir string) {
		if err := os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(dir, "b.jsonl")); err != nil {
			t.Fatal(err)
		}
	}, args: []string{"bt.ratings", "--data", "{dir}/b.jsonl"}, msg: "{dir}/b.jsonl: no such file or directory", known: "the OS error, as the OS words it (no \"want\")"},
	{name: "FIFO instead of a file", setup: func(t *testing.T, dir string) {
		if err := syscall.Mkfifo(filepath.Join(dir, "b.jsonl"), 0o644); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
	}, args: []string{"bt.ratings", "--data", "{dir}/b.jsonl"}, msg: "{dir}/b.jsonl: is not a regular file (a pipe, socket or device), want a data file"},
	{name: "unreadable file", asRoot: true, setup: func(t *testing.T, dir string) {
		writeFile(t, dir, "b.jsonl", `{"model_a":"a","model_b":"b","winner":"tie"}`)
		if err := os.Chmod(filepath.Join(dir, "b.jsonl"), 0); err != nil {
			t.Fatal(err)
		}
	}, args: []string{"bt.ratings", "--data", "{dir}/b.jsonl"}, msg: "{dir}/b.jsonl: permission denied", known: "the OS error, as the OS words it (no \"want\")"},

	// bt.reward: reward-model pairs (JSONL); bt.plackett_luce: rankings (JSONL).
	{name: "reward pairs vectors of different lengths", files: map[string]string{"p.jsonl": `{"chosen": [1, 2], "rejected": [1]}`},
		args: []string{"bt.reward", "--data", "{dir}/p.jsonl"}, msg: "{dir}/p.jsonl:1: rejected: want 2 numbers (the length of chosen), got 1"},
	{name: "reward pairs NaN", files: map[string]string{"p.jsonl": `{"chosen": [NaN, 1], "rejected": [1, 2]}`},
		args: []string{"bt.reward", "--data", "{dir}/p.jsonl"}, msg: "{dir}/p.jsonl:1: chosen[0]: want a finite number, got NaN"},
	{name: "reward pairs negative strength", files: map[string]string{"p.jsonl": `{"chosen": [1, 2], "rejected": [1, 2], "strength": -1}`},
		args: []string{"bt.reward", "--data", "{dir}/p.jsonl"}, msg: "{dir}/p.jsonl:1: strength: want a finite number ≥ 0, got -1"},
	{name: "rankings repeated item", files: map[string]string{"r.jsonl": `{"ranking": ["a", "b", "a"]}`},
		args: []string{"bt.plackett_luce", "--data", "{dir}/r.jsonl"}, msg: `{dir}/r.jsonl:1: ranking[2]: want distinct items, got "a" again (ranking[0])`},
	{name: "rankings increasing rewards", files: map[string]string{"r.jsonl": `{"candidates": [[1], [2]], "rewards": [1, 2]}`},
		args: []string{"bt.plackett_luce", "--data", "{dir}/r.jsonl"}, msg: "{dir}/r.jsonl:1: rewards[1]: want rewards non-increasing along the list (best first), got 2 after 1"},
	{name: "rankings kinds mixed", files: map[string]string{"r.jsonl": `{"ranking": ["a", "b"]}` + "\n" + `{"candidates": [[1], [2]]}`},
		args: []string{"bt.plackett_luce", "--data", "{dir}/r.jsonl"}, msg: "{dir}/r.jsonl:2: candidates: want items on every line, as on the first line"},
	{name: "leaderboards one file only", files: map[string]string{"b.jsonl": `{"model_a":"a","model_b":"b","winner":"tie"}`},
		args: []string{"bt.compare", "--data", "{dir}/b.jsonl"}, msg: "bt.compare: --data: want 2 files, two leaderboards (--data A --data B), got 1 file\n", exact: true},
	{name: "data given to a generator-only plugin", files: map[string]string{"p.jsonl": `{"chosen": [1, 2], "rejected": [1, 2]}`},
		args: []string{"bt.reward_losses", "--data", "{dir}/p.jsonl"}, msg: "bt.reward_losses reads no --data files: want none, got 1 file\n", exact: true},

	// dpo.*: preference comparisons (JSONL).
	{name: "prefs NaN", files: map[string]string{"p.jsonl": `{"features": [[NaN, 1], [0, 1]], "chosen": 0, "rejected": 1}`},
		args: []string{"dpo.dpo", "--data", "{dir}/p.jsonl"}, msg: "{dir}/p.jsonl:1: features[0][0]: want a finite number, got NaN"},
	{name: "prefs Inf", files: map[string]string{"p.jsonl": `{"features": [[1e999, 1], [0, 1]], "chosen": 0, "rejected": 1}`},
		args: []string{"dpo.rdpo", "--data", "{dir}/p.jsonl"}, msg: "{dir}/p.jsonl:1: features[0][0]: want a finite number, got number 1e999 (out of range)"},
	{name: "prefs vectors of different lengths", files: map[string]string{"p.jsonl": `{"features": [[1, 2], [3]], "chosen": 0, "rejected": 1}`},
		args: []string{"dpo.cdpo", "--data", "{dir}/p.jsonl"}, msg: "{dir}/p.jsonl:1: features[1]: want 2 numbers (the file's feature dimension), got 1"},
	{name: "prefs dimension changes between lines", files: map[string]string{"p.jsonl": `{"features": [[1, 2], [3, 4]], "chosen": 0, "rejected": 1}` + "\n" + `{"features": [[1, 2, 3], [3, 4, 5]], "chosen": 0, "rejected": 1}`},
		args: []string{"dpo.ipo", "--data", "{dir}/p.jsonl"}, msg: "{dir}/p.jsonl:2: features[0]: want 2 numbers (the file's feature dimension), got 3"},
	{name: "prefs index out of range", files: map[string]string{"p.jsonl": `{"features": [[1, 2], [3, 4]], "chosen": 0, "rejected": 5}`},
		args: []string{"dpo.dpo", "--data", "{dir}/p.jsonl"}, msg: "{dir}/p.jsonl:1: rejected: want a candidate index in [0, 2), got 5"},
	{name: "prefs wrong type", files: map[string]string{"p.jsonl": `{"features": [[1, 2], [3, 4]], "chosen": "0", "rejected": 1}`},
		args: []string{"dpo.dpo", "--data", "{dir}/p.jsonl"}, msg: "{dir}/p.jsonl:1: chosen: want an integer, got string"},
	{name: "prefs missing field", files: map[string]string{"p.jsonl": `{"features": [[1, 2], [3, 4]], "chosen": 0}`},
		args: []string{"dpo.dpo", "--data", "{dir}/p.jsonl"}, msg: "{dir}/p.jsonl:1: rejected: missing: want a candidate index in [0, 2)"},
	{name: "prefs negative weight", files: map[string]string{"p.jsonl": `{"features": [[1, 2], [3, 4]], "chosen": 0, "rejected": 1, "weight": -1}`},
		args: []string{"dpo.dpo", "--data", "{dir}/p.jsonl"}, msg: "{dir}/p.jsonl:1: weight: want a finite number > 0, got -1"},
	{name: "prefs two files of different dimensions", files: map[string]string{
		"a.jsonl": `{"features": [[1, 2], [3, 4]], "chosen": 0, "rejected": 1}`, "b.jsonl": `{"features": [[1, 2, 3], [3, 4, 5]], "chosen": 0, "rejected": 1}`},
		args: []string{"dpo.dpo", "--data", "{dir}/a.jsonl", "--data", "{dir}/b.jsonl"}, msg: "{dir}/b.jsonl:1: features: want vectors of length 2 (as in {dir}/a.jsonl), got 3"},
	{name: "prefs non-UTF-8", files: map[string]string{"p.jsonl": "\xff\xfe{\"features\": [[1, 2], [3, 4]], \"chosen\": 0, \"rejected\": 1}"},
		args: []string{"dpo.dpo", "--data", "{dir}/p.jsonl"}, msg: "{dir}/p.jsonl:1: want one JSON object per line (UTF-8), got byte 0xff at column 1\n", exact: true},
	{name: "prefs non-UTF-8 inside a line", files: map[string]string{"p.jsonl": "{\"features\": [[1, 2], [3, 4]], \"chosen\": 0, \"rejected\": \xff1}"},
		args: []string{"dpo.dpo", "--data", "{dir}/p.jsonl"}, msg: "{dir}/p.jsonl:1: rejected: want one JSON object per line (UTF-8), got byte 0xff at column 57\n", exact: true},
	{name: "prefs 20 MB truncated line", setup: func(t *testing.T, dir string) {
		writeFile(t, dir, "p.jsonl", `{"features": [[`+strings.Repeat("1,", 10<<20))
	}, args: []string{"dpo.dpo", "--data", "{dir}/p.jsonl"}, msg: "{dir}/p.jsonl:1: features[0]: unclosed array: want a complete JSON object, got end of line\n", exact: true},
	{name: "prefs given a CSV file", files: map[string]string{"p.csv": "1,2\n3,4\n"},
		args: []string{"dpo.dpo", "--data", "{dir}/p.csv"}, msg: "{dir}/p.csv:1: want one JSON object per line, got ',' after a complete value at column 2\n", exact: true},
	{name: "prefs given a CSV file with a header", files: map[string]string{"p.csv": "x,y\n1,2\n"},
		args: []string{"dpo.dpo", "--data", "{dir}/p.csv"}, msg: "{dir}/p.csv:1: want one JSON object per line, got 'x' at column 1\n", exact: true},
	{name: "prefs missing comma", files: map[string]string{"p.jsonl": `{"features": [[1, 2], [3, 4]] "chosen": 0, "rejected": 1}`},
		args: []string{"dpo.dpo", "--data", "{dir}/p.jsonl"}, msg: "{dir}/p.jsonl:1: features: want ',' or '}' after the value, got '\"' at column 31\n", exact: true},

	// nash.*: preference games (JSON).
	{name: "game matrix not square", files: map[string]string{"g.json": `{"matrix": [[0.5, 0.9], [0.1]]}`},
		args: []string{"nash.inpo", "--data", "{dir}/g.json"}, msg: "{dir}/g.json:1: matrix[1]: want a row of 2 numbers (the matrix must be square), got an array of 1"},
	{name: "game P + Pᵀ ≠ 1", files: map[string]string{"g.json": `{"matrix": [[0.5, 0.9], [0.2, 0.5]]}`},
		args: []string{"nash.mwu", "--data", "{dir}/g.json"}, msg: "{dir}/g.json:1: matrix[1][0]: want 1 − matrix[0][1] = 0.1 within 1e-06 (P + Pᵀ = 1), got 0.2"},
	{name: "game unknown field", files: map[string]string{"g.json": `{"matrix": [[0.5, 0.9], [0.1, 0.5]], "colour": 1}`},
		args: []string{"nash.dno", "--data", "{dir}/g.json"}, msg: "{dir}/g.json:1: colour: unknown field, want one of actions, matrix, ref, features, prompts"},
	{name: "game wrong type", files: map[string]string{"g.json": `{"matrix": [[0.5, "x"], [0.1, 0.5]]}`},
		args: []string{"nash.bt_rlhf", "--data", "{dir}/g.json"}, msg: `{dir}/g.json:1: matrix[0][1]: want a probability in [0, 1], got "x"`},
	{name: "game ref does not sum to 1", files: map[string]string{"g.json": `{"matrix": [[0.5, 0.9], [0.1, 0.5]], "ref": [0.5, 0.6]}`},
		args: []string{"nash.compare", "--data", "{dir}/g.json"}, msg: "{dir}/g.json:1: ref: want probabilities summing to 1 within 1e-06, got sum 1.1"},
	{name: "game NaN", files: map[string]string{"g.json": `{"matrix": [[0.5, NaN], [0.1, 0.5]]}`},
		args: []string{"nash.inpo", "--data", "{dir}/g.json"}, msg: "{dir}/g.json:1: matrix[0][1]: want a probability in [0, 1], got NaN\n", exact: true},
	{name: "game number out of range", files: map[string]string{"g.json": "{\"matrix\": [[0.5, 0.5],\n [0.5, 0.5]], \"features\": [[1], [1e999]]}"},
		args: []string{"nash.inpo", "--data", "{dir}/g.json"}, msg: "{dir}/g.json:2: features[1][0]: want a finite number, got 1e999\n", exact: true},
	{name: "game truncated", files: map[string]string{"g.json": "{\"matrix\": [[0.5, 0.9],\n [0.1, 0.5]"},
		args: []string{"nash.inpo", "--data", "{dir}/g.json"}, msg: "{dir}/g.json:2: matrix: unclosed array: want a complete JSON object, got end of file\n", exact: true},
	{name: "game nested 20000 deep", setup: func(t *testing.T, dir string) {
		writeFile(t, dir, "g.json", `{"matrix": `+strings.Repeat("[", 20000)+strings.Repeat("]", 20000)+"}")
	}, args: []string{"nash.inpo", "--data", "{dir}/g.json"},
		msg: "{dir}/g.json:1: matrix" + strings.Repeat("[0]", 19) + "…: want JSON nested at most 10000 deep, got deeper at column 10011\n", exact: true},

	// sb.light: source and target vectors (CSV or JSONL).
	{name: "vectors ragged CSV", files: map[string]string{"x0.csv": "1,2\n3\n", "x1.csv": "1,2\n3,4\n"},
		args: []string{"sb.light", "--data", "{dir}/x0.csv", "--data", "{dir}/x1.csv"}, msg: "{dir}/x0.csv:2: row: want 2 values (as on line 1), got 1"},
	{name: "vectors NaN", files: map[string]string{"x0.csv": "1,2\n3,4\n", "x1.csv": "x,y\nNaN,2\n"},
		args: []string{"sb.light", "--data", "{dir}/x0.csv", "--data", "{dir}/x1.csv"}, msg: "{dir}/x1.csv:2: x: want a finite number, got NaN"},
	{name: "vectors JSONL of different lengths", files: map[string]string{"x0.jsonl": "[1, 2]\n[3]\n", "x1.csv": "1,2\n3,4\n"},
		args: []string{"sb.light", "--data", "{dir}/x0.jsonl", "--data", "{dir}/x1.csv"}, msg: "{dir}/x0.jsonl:2: line: want 2 numbers (as on line 1), got 1"},
	{name: "vectors source and target dimensions differ", files: map[string]string{"x0.csv": "1,2\n3,4\n", "x1.csv": "1,2,3\n3,4,5\n"},
		args: []string{"sb.light", "--data", "{dir}/x0.csv", "--data", "{dir}/x1.csv"}, msg: "{dir}/x1.csv:1: row: want vectors of dimension 2 (as in {dir}/x0.csv), got 3"},
	{name: "vectors 20 MB JSONL line", setup: func(t *testing.T, dir string) {
		writeFile(t, dir, "x0.jsonl", "["+strings.Repeat("1,", 10<<20)+"1]\n")
		writeFile(t, dir, "x1.csv", "1,2\n")
	}, args: []string{"sb.light", "--data", "{dir}/x0.jsonl", "--data", "{dir}/x1.csv"}, msg: "{dir}/x0.jsonl:1: want a line of at most 16 MiB, got a longer one\n", exact: true},
	{name: "vectors one file only", files: map[string]string{"x0.csv": "1,2\n3,4\n"},
		args: []string{"sb.light", "--data", "{dir}/x0.csv"}, msg: "sb.light: --data: want 2 sample files (--data x0 --data x1: source samples, then target samples) or 1 benchmark pair file (--data pair.json), got 1 file\n", exact: true},

	// bilevel.reweight: labelled examples with sources (JSONL).
	{name: "sources label out of range", files: map[string]string{"t.jsonl": `{"features": [1, 2], "label": 2, "source": "a"}`, "v.jsonl": `{"features": [1, 2], "label": 1}`},
		args: []string{"bilevel.reweight", "--data", "{dir}/t.jsonl", "--data", "{dir}/v.jsonl"}, msg: "{dir}/t.jsonl:1: label: want 0 or 1, got 2"},
	{name: "sources missing source", files: map[string]string{"t.jsonl": `{"features": [1, 2], "label": 1}`, "v.jsonl": `{"features": [1, 2], "label": 1}`},
		args: []string{"bilevel.reweight", "--data", "{dir}/t.jsonl", "--data", "{dir}/v.jsonl"}, msg: "{dir}/t.jsonl:1: source: missing: want the name of the example's data source"},
	{name: "sources one file only", files: map[string]string{"t.jsonl": `{"features": [1, 2], "label": 1, "source": "a"}`},
		args: []string{"bilevel.reweight", "--data", "{dir}/t.jsonl"}, msg: "bilevel.reweight: --data: want 2 or 3 files (TRAIN VAL [TEST]), got 1 file\n", exact: true},
	{name: "sources four files", files: map[string]string{"t.jsonl": `{"features": [1, 2], "label": 1, "source": "a"}`},
		args: []string{"bilevel.reweight", "--data", "{dir}/t.jsonl", "--data", "{dir}/t.jsonl", "--data", "{dir}/t.jsonl", "--data", "{dir}/t.jsonl"},
		msg:  "bilevel.reweight: --data: want 2 or 3 files (TRAIN VAL [TEST]), got 4 files\n", exact: true},

	// Params from the command line.
	{name: "param out of range", args: []string{"dpo.rdpo", "--set", "epsilon=0.7"}, msg: `dpo.rdpo: param epsilon: got "0.7", want float [0, 0.5)`},
	{name: "param NaN", args: []string{"dpo.dpo", "--set", "learning_rate=NaN"}, msg: `dpo.dpo: param learning_rate: got "NaN", want float (0, inf)`},
	{name: "param seed beyond 2^53", args: []string{"nash.mwu", "--seed", "9007199254740993"}, msg: `nash.mwu: param seed: got "9007199254740993", want int [0, 9007199254740992]`},
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBadInput(t *testing.T) {
	for _, tc := range badInputs {
		t.Run(tc.name, func(t *testing.T) {
			if tc.asRoot && os.Geteuid() == 0 {
				t.Skip("root reads a chmod 000 file")
			}
			dir := t.TempDir()
			for name, content := range tc.files {
				writeFile(t, dir, name, content)
			}
			if tc.setup != nil {
				tc.setup(t, dir)
			}
			out := filepath.Join(t.TempDir(), "out")
			args := []string{"run"}
			for _, a := range tc.args {
				args = append(args, strings.ReplaceAll(a, "{dir}", dir))
			}
			code, stdout, stderr := exeWithin(t, time.Minute, append(args, "--out", out)...)
			want := "alignlab: " + strings.ReplaceAll(tc.msg, "{dir}", dir)
			short := stderr
			if len(short) > 300 {
				short = short[:300] + "…"
			}
			if code != exitUsage {
				t.Errorf("exit %d, want %d (stderr %q)", code, exitUsage, short)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") || strings.ContainsRune(stderr, '\r') {
				t.Errorf("stderr is not one line: %q", short)
			}
			if tc.exact && stderr != want {
				t.Errorf("stderr %q\nwant exactly %q", short, want)
			}
			if !tc.exact && !strings.HasPrefix(stderr, want) {
				t.Errorf("stderr %q\nwant it to start with %q", short, want)
			}
			if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
				t.Errorf("a stack trace or panic reached the user: %q", short)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("--out folder exists after bad input (%v)", err)
			}
			if tc.known != "" {
				t.Logf("known deficiency, reported: %s", tc.known)
				return
			}
			if !strings.Contains(stderr, "want ") || len(stderr) > maxMessage {
				t.Errorf("message does not say what was expected in under %d bytes: %q", maxMessage, short)
			}
		})
	}
}

// TestDivergence drives IPO to overflow with plain SGD at a huge learning
// rate: the run must stop with exit 1, one line naming the step and the
// last finite values, and write nothing.
func TestDivergence(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := exeWithin(t, time.Minute, "run", "dpo.ipo", "--set", "optimizer=sgd", "--set", "learning_rate=1e10",
		"--set", "pairs=500", "--set", "test_prompts=50", "--set", "steps=100", "--set", "eval_every=1", "--out", out)
	if code != exitFailure || stdout != "" || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1 and one line", code, stdout, stderr)
	}
	mustContain(t, "stderr", stderr, "alignlab: dpo.ipo: diverged at step ", " is +Inf (last finite: ", "loss=", "; try a smaller learning_rate\n")
	if _, err := os.Stat(filepath.Join(out, "result.json")); !os.IsNotExist(err) {
		t.Errorf("result.json exists after a diverged run (%v)", err)
	}
}

// TestInterruptLongRun interrupts a DPO run of a million steps once it has
// started (its first note is on stderr).
func TestInterruptLongRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	interruptAfterStart(t, []string{"run", "dpo.rdpo", "--json", "--set", "flip_rate=0.2", "--set", "steps=1000000", "--out", dir},
		"alignlab: dpo.rdpo: note: dpo.rdpo: epsilon 0.1 differs from the data's flip_rate 0.2; the loss assumes the wrong noise rate")
	if _, err := os.Stat(filepath.Join(dir, "result.json")); !os.IsNotExist(err) {
		t.Errorf("result.json exists after an interrupted run (%v)", err)
	}
}
