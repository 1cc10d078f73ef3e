package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/alignlab/alignlab/kernel"

	_ "github.com/alignlab/alignlab/cmd/alignlab/internal/toy" // test.toy, for the in-process tests
)

// binary is the alignlab command built once by TestMain, with test.toy linked
// in (-tags alignlab_toy), for the tests that must see real exit statuses,
// signals and stderr of a separate process.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "alignlab-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "alignlab")
	build := exec.Command("go", "build", "-tags", "alignlab_toy", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building alignlab: %v\n", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// call runs the command in-process.
func call(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runContext(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// exe runs the built binary, with a limit far above any test's run.
func exe(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return exeWithin(t, 5*time.Minute, args...)
}

// exeWithin runs the built binary with a time limit, so that a loader that
// blocks fails the test instead of hanging it.
func exeWithin(t *testing.T, limit time.Duration, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%v: still running after %v", args, limit)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errb.String()
	}
	if err != nil {
		t.Fatalf("running %v: %v", args, err)
	}
	return 0, out.String(), errb.String()
}

func TestList(t *testing.T) {
	for name, runner := range map[string]func(*testing.T, ...string) (int, string, string){"in-process": call, "binary": exe} {
		code, out, errs := runner(t, "list")
		if code != 0 || errs != "" {
			t.Fatalf("%s: list: exit %d, stderr %q", name, code, errs)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		var ids []string
		for _, l := range lines {
			id, summary, ok := strings.Cut(l, "\t")
			if !ok || id == "" || summary == "" || strings.Contains(summary, "\t") {
				t.Errorf("%s: list line %q: want ID<TAB>summary", name, l)
			}
			ids = append(ids, id)
		}
		if !sort.StringsAreSorted(ids) {
			t.Errorf("%s: list not sorted: %v", name, ids)
		}
		if !strings.Contains(out, "test.toy\ttest plugin: noisy running estimate of a mean\n") {
			t.Errorf("%s: list misses test.toy:\n%s", name, out)
		}
		if !strings.Contains(out, "\nbt.ratings\t") && !strings.HasPrefix(out, "bt.ratings\t") {
			t.Errorf("%s: list misses bt.ratings (algos/all):\n%s", name, out)
		}
	}
}

func TestDescribe(t *testing.T) {
	code, out, errs := call(t, "describe", "test.toy")
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	mustContain(t, "describe", out,
		"test.toy — test plugin: noisy running estimate of a mean\n",
		"  rate                   float  default 0.5        (0, 1]\n      step size towards the target\n",
		"  mode                   choice default \"ok\"       one of ok, panic, diverge, slow\n",
		"  seed                   int    default 1 ",
		"Data (--data):\n  numbers (text)\n",
	)
}

// mustContain reports each of wants that out lacks; what names out.
func mustContain(t *testing.T, what, out string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("%s misses %q:\n%s", what, want, out)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		code, out, errs := call(t, args...)
		if code != 0 || errs != "" || !strings.Contains(out, "alignlab run ID [flags]") {
			t.Errorf("%v: exit %d, stderr %q, stdout %q", args, code, errs, out)
		}
	}
	code, out, _ := call(t, "run", "--help")
	if code != 0 || !strings.HasPrefix(out, "Usage: alignlab run ID") {
		t.Errorf("run --help: exit %d, stdout %q", code, out)
	}
	code, _, errs := call(t)
	if code != exitUsage || !strings.Contains(errs, "Usage:") {
		t.Errorf("no args: exit %d, stderr %q; want usage on stderr, exit 2", code, errs)
	}
	code, out, errs = exe(t, "version")
	if code != 0 || errs != "" {
		t.Fatalf("version: exit %d, stderr %q", code, errs)
	}
	mustContain(t, "version", out, "alignlab ", "\ngo go1.", "\nbackend go ")
}

// result is the part of the JSON result the command's tests look at.
type result struct {
	Plugin string             `json:"plugin"`
	Seed   int64              `json:"seed"`
	Params map[string]any     `json:"params"`
	Final  map[string]float64 `json:"final"`
	Series map[string][][2]float64
	Tables map[string]struct {
		Columns []string `json:"columns"`
		Rows    [][]any  `json:"rows"`
	} `json:"tables"`
	Notes  []string        `json:"notes"`
	Timing json.RawMessage `json:"timing"`
}

func TestRunJSON(t *testing.T) {
	// Flags before and after the ID, both spellings of a flag value.
	code, out, errs := call(t, "run", "--seed", "5", "test.toy", "--set", "steps=7", "--set=rate=0.25", "--json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if errs != "alignlab: test.toy: note: toy result, not an algorithm\n" {
		t.Errorf("stderr %q, want only the note", errs)
	}
	var r result
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("stdout is not a JSON result: %v\n%s", err, out)
	}
	if dec.More() {
		t.Errorf("stdout holds more than one JSON value")
	}
	if r.Plugin != "test.toy" || r.Seed != 5 || r.Params["steps"] != 7.0 || r.Params["rate"] != 0.25 {
		t.Errorf("got plugin %q seed %d params %v, want test.toy, 5, steps 7, rate 0.25", r.Plugin, r.Seed, r.Params)
	}
	if len(r.Series["x"]) != 7 {
		t.Errorf("series x has %d points, want 7", len(r.Series["x"]))
	}
	if _, ok := r.Final["estimate"]; !ok || len(r.Tables["summary"].Rows) != 3 || len(r.Notes) != 1 || r.Timing == nil {
		t.Errorf("result lacks final estimate, summary table, note or timing: %s", out)
	}
}

func TestRunSummary(t *testing.T) {
	code, out, errs := call(t, "run", "test.toy")
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	mustContain(t, "summary", out,
		"test.toy  seed 1  backend go  ",
		"\nfinal:\n  error     ",
		"\nsummary (3 rows):\n  name      value\n  target    3\n  estimate  ",
		"\n  steps     20\n",
		"\nseries:\n  x  20 points  last ",
		"\nnotes:\n  - toy result, not an algorithm\n",
	)
}

func TestRunOut(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b") // created by the command
	code, out, errs := call(t, "run", "test.toy", "--out", dir, "--json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	want := fmt.Sprintf("alignlab: wrote %s, %s\n", filepath.Join(dir, "report.html"), filepath.Join(dir, "result.json"))
	if !strings.HasSuffix(errs, want) {
		t.Errorf("stderr %q, want it to end with %q", errs, want)
	}
	js, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if string(js) != out {
		t.Errorf("result.json differs from the --json output")
	}
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(bytes.ToLower(html), []byte("<html")) || !bytes.Contains(html, []byte("test.toy")) {
		t.Errorf("report.html does not look like the run's report: %.200s", html)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("out dir holds %v, want result.json and report.html only (no temp files)", names)
	}
}

// TestUsageErrors checks each bad command line and bad input: exit 2 and
// exactly one line on stderr, both in-process and from the binary.
func TestUsageErrors(t *testing.T) {
	tmp := t.TempDir()
	bad := filepath.Join(tmp, "numbers.txt")
	if err := os.WriteFile(bad, []byte("1\n2.5\n\nx\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(tmp, "missing.txt")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"frob"}, `unknown command "frob" (want list, describe, run, score, sample, study, replicate, kernel, version or help)`},
		{[]string{"run", "nope.x"}, `unknown plugin "nope.x" (known: `},
		{[]string{"describe", "nope.x"}, `unknown plugin "nope.x" (known: `},
		{[]string{"describe"}, `describe wants one plugin ID (see alignlab list)`},
		{[]string{"run"}, `run wants a plugin ID (see alignlab list)`},
		{[]string{"run", "test.toy", "test.toy"}, `run takes one plugin ID, got "test.toy" and "test.toy"`},
		{[]string{"run", "test.toy", "--frob"}, `unknown flag --frob for run (want --set, --data, --seed, --model, --out or --json)`},
		{[]string{"run", "test.toy", "--out"}, `flag --out needs a value`},
		{[]string{"run", "test.toy", "--set", "bogus=1"}, `test.toy: unknown param "bogus" (known: mode, rate, seed, steps)`},
		{[]string{"run", "test.toy", "--set", "rate=0"}, `test.toy: param rate: got "0", want float (0, 1]`},
		{[]string{"run", "test.toy", "--set", "steps=1e9"}, `test.toy: param steps: got "1e9", want int [1, 10000]`},
		{[]string{"run", "test.toy", "--set", "mode=fast"}, `test.toy: param mode: got "fast", want choice one of ok, panic, diverge, slow`},
		{[]string{"run", "test.toy", "--set", "rate"}, `--set "rate": want key=value`},
		{[]string{"run", "test.toy", "--set", "=1"}, `--set "=1": want key=value`},
		{[]string{"run", "test.toy", "--set", "steps=2", "--set", "steps=3"}, `--set steps given twice`},
		{[]string{"run", "test.toy", "--seed", "3", "--set", "seed=4"}, `--seed 3 conflicts with --set seed=4: give one`},
		{[]string{"run", "test.toy", "--seed", "-1"}, `test.toy: param seed: got "-1", want int [0, 9007199254740992]`},
		{[]string{"run", "test.toy", "--data", missing}, missing + `: no such file or directory`},
		{[]string{"run", "test.toy", "--data", tmp}, tmp + `: is a directory, want a data file`},
		{[]string{"run", "test.toy", "--data", bad}, bad + `:4: x: want a finite number, got "x"`},
		{[]string{"run", "test.toy", "--out", bad}, `--out ` + bad + `: not a directory`},
	}
	for _, tt := range tests {
		for name, runner := range map[string]func(*testing.T, ...string) (int, string, string){"in-process": call, "binary": exe} {
			code, out, errs := runner(t, tt.args...)
			if code != exitUsage {
				t.Errorf("%s %v: exit %d, want 2", name, tt.args, code)
			}
			if out != "" {
				t.Errorf("%s %v: stdout %q, want nothing", name, tt.args, out)
			}
			line := "alignlab: " + tt.want
			if strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, line) ||
				(!strings.HasSuffix(tt.want, " ") && errs != line+"\n") {
				t.Errorf("%s %v:\nstderr %q\nwant   %q", name, tt.args, errs, line+"\n")
			}
		}
	}
}

func TestRunFailures(t *testing.T) {
	tests := []struct {
		mode, want string
	}{
		{"panic", "alignlab: test.toy: assignment to entry in nil map\n"},
		{"diverge", "alignlab: test.toy: diverged at step 11: x is +Inf (last finite: x="},
	}
	for _, tt := range tests {
		dir := filepath.Join(t.TempDir(), "out")
		code, out, errs := exe(t, "run", "test.toy", "--set", "mode="+tt.mode, "--out", dir)
		if code != exitFailure || out != "" || !strings.HasPrefix(errs, tt.want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("mode %s: exit %d, stdout %q, stderr %q; want exit 1 and one line %q", tt.mode, code, out, errs, tt.want)
		}
		if strings.Contains(errs, "goroutine") {
			t.Errorf("mode %s: a stack trace reached the user: %s", tt.mode, errs)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("mode %s: --out dir exists after a failed run (%v)", tt.mode, err)
		}
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := filepath.Join(t.TempDir(), "out")
	var out, errs bytes.Buffer
	code := runContext(ctx, []string{"run", "test.toy", "--set", "mode=slow", "--out", dir}, &out, &errs)
	if code != exitInterrupted || errs.String() != "alignlab: interrupted\n" {
		t.Errorf("exit %d, stderr %q; want 130 and %q", code, errs.String(), "alignlab: interrupted\n")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("--out dir exists after an interrupted run (%v)", err)
	}
}

// TestInterrupt sends a real SIGINT to a running binary.
func TestInterrupt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	rest := interruptAfterStart(t, []string{"run", "test.toy", "--set", "mode=slow", "--json", "--out", dir}, "alignlab: test.toy: note: started")
	if rest != "alignlab: interrupted\n" {
		t.Errorf("after SIGINT: stderr %q; want only %q", rest, "alignlab: interrupted\n")
	}
	if _, err := os.Stat(filepath.Join(dir, "result.json")); !os.IsNotExist(err) {
		t.Errorf("result.json exists after an interrupted run (%v)", err)
	}
}

// interruptAfterStart runs the binary, waits for the stderr line started,
// sends SIGINT and checks the exit: status 130 within 30 s, "alignlab:
// interrupted" ending the stderr that follows, nothing on stdout. It
// returns that stderr.
func interruptAfterStart(t *testing.T, args []string, started string) (stderrAfter string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout strings.Builder
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	if !sc.Scan() || sc.Text() != started {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("first stderr line %q, want %q", sc.Text(), started)
	}
	time.Sleep(300 * time.Millisecond) // into the work, past start-up
	sent := time.Now()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	var rest []byte
	done := make(chan error, 1)
	go func() {
		rest, _ = io.ReadAll(stderr)
		done <- cmd.Wait()
	}()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%v: still running 30 s after SIGINT", args)
	}
	t.Logf("%v stopped %.2f s after SIGINT", args, time.Since(sent).Seconds())
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != exitInterrupted {
		t.Fatalf("%v: wait: %v; want exit status 130", args, err)
	}
	if !strings.HasSuffix(string(rest), "alignlab: interrupted\n") || strings.Contains(string(rest), "goroutine") || stdout.Len() != 0 {
		t.Errorf("%v after SIGINT: stderr %q, stdout %q; want it to end with %q", args, rest, stdout.String(), "alignlab: interrupted\n")
	}
	return string(rest)
}

// canonical drops the timing, the one part of a result allowed to differ
// between runs with the same seed.
func canonical(t *testing.T, js string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatalf("not a JSON object: %v", err)
	}
	if _, ok := m["timing"]; !ok {
		t.Errorf("result has no timing")
	}
	delete(m, "timing")
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDeterministic(t *testing.T) {
	for _, id := range []string{"test.toy", "bt.ratings"} {
		var outs [3]string
		for i, seed := range []string{"3", "3", "4"} {
			code, out, errs := exe(t, "run", id, "--json", "--seed", seed)
			if code != 0 {
				t.Fatalf("%s: exit %d, stderr %q", id, code, errs)
			}
			outs[i] = canonical(t, out)
		}
		if outs[0] != outs[1] {
			t.Errorf("%s: two runs with --seed 3 differ", id)
		}
		if outs[0] == outs[2] {
			t.Errorf("%s: --seed 3 and --seed 4 give the same result; is the seed used?", id)
		}
	}
}

// TestProgressThrottle feeds a terminal-mode progress bar a burst of events
// under a fake clock: one redraw per 100 ms, not one per event.
func TestProgressThrottle(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, "test.toy", false)
	p.tty = true
	now := time.Unix(0, 0)
	p.clock = func() time.Time { return now }
	p.observe(kernel.Event{Total: 1000})
	for s := int64(1); s <= 1000; s++ {
		now = now.Add(time.Millisecond) // 1 s in all
		p.observe(kernel.Event{Step: s, Total: 1000, Metric: "loss", Value: 1 / float64(s)})
	}
	p.finish()
	draws := strings.Count(buf.String(), "\x1b[K") - 1 // the last one is the clearing
	if draws < 9 || draws > 12 {
		t.Errorf("%d redraws for 1000 events over 1 s, want about 10", draws)
	}
	if want := "\rtest.toy [==                  ]  10% 100/1000  loss 0.01\x1b[K"; !strings.Contains(buf.String(), want) {
		t.Errorf("bar at step 100 is not %q: %q", want, buf.String())
	}
	if !strings.HasSuffix(buf.String(), "\r\x1b[K") {
		t.Errorf("finish did not clear the line: %q", buf.String())
	}
}

// TestBTRatings runs the real bt.ratings plugin through the binary: the
// command's contract with a plugin it did not write.
func TestBTRatings(t *testing.T) {
	code, out, errs := exe(t, "describe", "bt.ratings")
	if code != 0 || errs != "" || !strings.HasPrefix(out, "bt.ratings — ") || !strings.Contains(out, "\nParams:\n  ties ") {
		t.Errorf("describe bt.ratings: exit %d, stderr %q, stdout:\n%s", code, errs, out)
	}

	dir := filepath.Join(t.TempDir(), "demo")
	code, out, errs = exe(t, "run", "bt.ratings", "--out", dir)
	if code != 0 {
		t.Fatalf("run bt.ratings: exit %d, stderr %q", code, errs)
	}
	if !strings.Contains(out, "\nleaderboard (") || !strings.Contains(out, "\n  model ") {
		t.Errorf("the summary does not show the leaderboard:\n%s", out)
	}
	var r result
	js, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &r); err != nil || r.Plugin != "bt.ratings" || len(r.Tables["leaderboard"].Rows) == 0 {
		t.Errorf("result.json: %v; plugin %q, %d leaderboard rows", err, r.Plugin, len(r.Tables["leaderboard"].Rows))
	}
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(html, []byte("echarts")) || bytes.Contains(html, []byte("<script src=\"http")) {
		t.Errorf("report.html does not inline its charts")
	}

	bad := filepath.Join(t.TempDir(), "arena.jsonl")
	if err := os.WriteFile(bad, []byte(`{"model_a":"a","model_b":"b","winner":"model_a"}`+"\n"+`{"model_a":"a","model_b":"b","winner":"x"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--set", "ties=x"}, `bt.ratings: param ties: got "x", want choice one of half, rao_kupper, davidson`},
		{[]string{"--set", "bootstrap_rounds=-1"}, `bt.ratings: param bootstrap_rounds: got "-1", want int [0, 100000]`},
		{[]string{"--set", "bogus=1"}, `bt.ratings: unknown param "bogus" (known: `},
		{[]string{"--data", bad}, bad + `:2: winner: `},
	} {
		code, out, errs := exe(t, append([]string{"run", "bt.ratings"}, tt.args...)...)
		if code != exitUsage || out != "" || !strings.HasPrefix(errs, "alignlab: "+tt.want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line %q…", tt.args, code, out, errs, "alignlab: "+tt.want)
		}
	}
}
