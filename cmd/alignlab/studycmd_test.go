package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alignlab/alignlab/internal/slurmtest"
	"github.com/alignlab/alignlab/kernel"
)

// dpoStudy is a 3 × 2 grid (dim, and beta zipped with learning_rate) × 3
// seeds of dpo.dpo on small planted data: 18 cells of a few tens of ms.
var dpoStudy = []string{"study", "dpo.dpo",
	"--grid", "dim=2,4,8", "--grid", "beta,learning_rate=0.5:0.05,1:0.1", "--seeds", "1-3",
	"--set", "pairs=400", "--set", "test_prompts=50", "--set", "steps=15", "--set", "batch_size=64"}

// dpoFixed are dpoStudy's --set flags, for the same runs one by one.
var dpoFixed = []string{"--set", "pairs=400", "--set", "test_prompts=50", "--set", "steps=15", "--set", "batch_size=64"}

// studyJSON is the part of study.json the tests read.
type studyJSON struct {
	Cells []struct {
		Point  map[string]any  `json:"point"`
		Seed   int64           `json:"seed"`
		Key    string          `json:"key"`
		Err    string          `json:"error"`
		Result json.RawMessage `json:"result"`
	} `json:"cells"`
	Summary struct {
		Columns []string `json:"columns"`
		Rows    [][]any  `json:"rows"`
	} `json:"summary"`
}

func readStudy(t *testing.T, dir string) (raw []byte, s studyJSON) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, kernel.StudyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%s: %v", filepath.Join(dir, kernel.StudyFile), err)
	}
	return raw, s
}

// withoutTiming re-encodes a result without its timing, keys sorted and
// compact, so that a cell of study.json and a "run --json" compare.
func withoutTiming(t *testing.T, js []byte) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatalf("not a JSON object: %v: %.200s", err, js)
	}
	delete(m, "timing")
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var cachedLine = regexp.MustCompile(`(\d+) cells cached, (\d+) run, (\d+) failed`)

// counts reads "N cells cached, M run, F failed" from a study's stdout.
func counts(t *testing.T, stdout string) (cached, ran, failed int) {
	t.Helper()
	m := cachedLine.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("stdout has no %q line:\n%s", "N cells cached, M run, F failed", stdout)
	}
	cached, _ = strconv.Atoi(m[1])
	ran, _ = strconv.Atoi(m[2])
	failed, _ = strconv.Atoi(m[3])
	return cached, ran, failed
}

func studyIn(dir string, args ...string) []string {
	return append(append([]string{}, args...), "--out", dir)
}

// TestStudy: the study equals the same 18 runs done one by one with
// "alignlab run"; its summary holds their mean and standard error; --jobs 1
// and --jobs 2 write the same study.json; so do three --shard runs and a
// merge, and a merge with a shard missing names the missing cells.
func TestStudy(t *testing.T) {
	tmp := t.TempDir()
	ref := filepath.Join(tmp, "jobs2")
	code, out, errs := exe(t, append(studyIn(ref, dpoStudy...), "--jobs", "2")...)
	if code != 0 {
		t.Fatalf("study: exit %d, stderr %q", code, errs)
	}
	if c, r, f := counts(t, out); c != 0 || r != 18 || f != 0 {
		t.Errorf("first run: %d cached, %d run, %d failed; want 0, 18, 0", c, r, f)
	}
	wantErr := fmt.Sprintf("alignlab: wrote %s and %s\n", filepath.Join(ref, "study.json"), filepath.Join(ref, "report.html"))
	if errs != wantErr {
		t.Errorf("stderr %q, want %q", errs, wantErr)
	}
	mustContain(t, "summary", out, "study (6 grid points; mean ± standard error over seeds):\n",
		"\n  dim  beta  learning_rate  J  ", "\n  2    0.5   0.05           ", "\n  8    1     0.1            ")
	raw, st := readStudy(t, ref)
	if len(st.Cells) != 18 {
		t.Fatalf("study.json has %d cells, want 18", len(st.Cells))
	}

	// Cell by cell against "alignlab run", in grid order: dim slowest, seeds innermost.
	i := 0
	for _, dim := range []string{"2", "4", "8"} {
		for _, bl := range [][2]string{{"0.5", "0.05"}, {"1", "0.1"}} {
			finals := map[string][]float64{}
			for _, seed := range []string{"1", "2", "3"} {
				args := append([]string{"run", "dpo.dpo", "--json", "--seed", seed,
					"--set", "dim=" + dim, "--set", "beta=" + bl[0], "--set", "learning_rate=" + bl[1]}, dpoFixed...)
				code, js, errs := exe(t, args...)
				if code != 0 {
					t.Fatalf("%v: exit %d, stderr %q", args, code, errs)
				}
				c := st.Cells[i]
				if got, want := fmt.Sprint(c.Point["dim"], " ", c.Point["beta"], " ", c.Point["learning_rate"], " seed ", c.Seed), dim+" "+bl[0]+" "+bl[1]+" seed "+seed; got != want {
					t.Fatalf("cell %d is %s, want %s", i, got, want)
				}
				if got, want := withoutTiming(t, c.Result), withoutTiming(t, []byte(js)); got != want {
					t.Errorf("cell %d (dim=%s beta=%s seed %s) differs from its own run:\n%.300s\n%.300s", i, dim, bl[0], seed, got, want)
				}
				var r result
				if err := json.Unmarshal([]byte(js), &r); err != nil {
					t.Fatal(err)
				}
				for m, v := range r.Final {
					finals[m] = append(finals[m], v)
				}
				i++
			}
			row := st.Summary.Rows[i/3-1]
			for m, vs := range finals {
				mean, se := kernel.MeanSE(vs)
				col := indexOf(st.Summary.Columns, m)
				if col < 0 {
					t.Fatalf("summary has no column %s: %v", m, st.Summary.Columns)
				}
				const tol = 1e-12
				if got := row[col].(float64); math.Abs(got-mean) > tol*math.Max(1, math.Abs(mean)) {
					t.Errorf("dim=%s beta=%s: %s mean %v, want %v", dim, bl[0], m, got, mean)
				}
				if got := row[col+1].(float64); math.Abs(got-se) > tol*math.Max(1, math.Abs(se)) {
					t.Errorf("dim=%s beta=%s: %s_se %v, want %v", dim, bl[0], m, got, se)
				}
			}
			if n := row[len(row)-1]; n != 3.0 {
				t.Errorf("dim=%s beta=%s: runs %v, want 3", dim, bl[0], n)
			}
		}
	}
	html, err := os.ReadFile(filepath.Join(ref, "report.html"))
	if err != nil || !bytes.Contains(html, []byte("gap against dim")) {
		t.Errorf("report.html lacks the chart of gap against dim (%v)", err)
	}

	t.Run("jobs 1", func(t *testing.T) {
		dir := filepath.Join(tmp, "jobs1")
		code, _, errs := call(t, append(studyIn(dir, dpoStudy...), "--jobs", "1")...)
		if code != 0 {
			t.Fatalf("exit %d, stderr %q", code, errs)
		}
		if got, _ := readStudy(t, dir); !bytes.Equal(got, raw) {
			t.Errorf("study.json with --jobs 1 differs from --jobs 2")
		}
	})

	t.Run("shards and merge", func(t *testing.T) {
		dir := filepath.Join(tmp, "shards")
		for i := 1; i <= 3; i++ {
			shard := fmt.Sprintf("%d/3", i)
			code, out, errs := exe(t, append(studyIn(dir, dpoStudy...), "--shard", shard, "--jobs", "1")...)
			if want := fmt.Sprintf("shard %s: 6 cells (6 run, 0 cached)\n", shard); code != 0 || out != want || errs != "" {
				t.Fatalf("--shard %s: exit %d, stdout %q, stderr %q; want %q", shard, code, out, errs, want)
			}
			if _, err := os.Stat(filepath.Join(dir, kernel.StudyFile)); !os.IsNotExist(err) {
				t.Fatalf("--shard %s wrote study.json (%v)", shard, err)
			}
			if i == 2 {
				// Shard 3 not run yet: the merge names its six cells.
				code, out, errs := exe(t, "study", "merge", dir)
				if code != exitFailure || out != "" || strings.Count(errs, "\n") != 1 ||
					!strings.Contains(errs, "6 of 18 cells missing or invalid: ") || strings.Count(errs, " seed ") != 6 {
					t.Errorf("merge without shard 3: exit %d, stdout %q, stderr %q; want exit 1 naming 6 missing cells", code, out, errs)
				}
			}
		}
		code, out, errs := exe(t, "study", "merge", dir)
		if code != 0 || !strings.HasPrefix(out, "dpo.dpo study, 18 cells merged from "+dir+", 0 failed\n") {
			t.Fatalf("merge: exit %d, stdout %q, stderr %q", code, out, errs)
		}
		if got, _ := readStudy(t, dir); !bytes.Equal(got, raw) {
			t.Errorf("merged study.json differs from the local run's")
		}
	})
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

// slowStudy is 8 cells of about half a second each, one at a time, so
// that a signal lands halfway.
var slowStudy = []string{"study", "dpo.dpo", "--seeds", "1-8",
	"--set", "pairs=2000", "--set", "test_prompts=50", "--set", "steps=1000"}

// cellFiles counts the finished cells in dir/cells (temporary files of a
// write in progress start with a dot).
func cellFiles(t *testing.T, dir string) int {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "cells", "[0-9a-f]*.json"))
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}

// TestStudyResume stops a study halfway, by SIGINT (exit 130, a clean
// stop) and by SIGKILL (no chance to clean up), then runs the same command
// again: it must run only the cells not cached (the count printed equals
// the files there) and give the study.json of an uninterrupted run.
func TestStudyResume(t *testing.T) {
	tmp := t.TempDir()
	ref := filepath.Join(tmp, "ref")
	if code, _, errs := exe(t, append(studyIn(ref, slowStudy...), "--jobs", "2")...); code != 0 {
		t.Fatalf("uninterrupted study: exit %d, stderr %q", code, errs)
	}
	want, _ := readStudy(t, ref)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := filepath.Join(tmp, fmt.Sprint(int(sig)))
			cmd := exec.Command(binary, append(studyIn(dir, slowStudy...), "--jobs", "1")...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(time.Minute)
			for cellFiles(t, dir) < 2 {
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("no 2 cells cached after a minute; stderr %q", stderr.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err := cmd.Wait()
			ee, ok := err.(*exec.ExitError)
			if !ok {
				t.Fatalf("study after %v: %v, want a non-zero exit", sig, err)
			}
			if sig == syscall.SIGINT {
				if ee.ExitCode() != exitInterrupted || !strings.HasSuffix(stderr.String(), "alignlab: interrupted\n") ||
					!strings.Contains(stderr.String(), "run the same command again to go on") || stdout.Len() != 0 {
					t.Errorf("after SIGINT: exit %d, stdout %q, stderr %q; want 130 and the cells kept", ee.ExitCode(), stdout.String(), stderr.String())
				}
			}
			done := cellFiles(t, dir)
			if done < 2 || done >= 8 {
				t.Fatalf("%d cells cached after %v, want between 2 and 7 (stopped halfway)", done, sig)
			}
			code, out, errs := exe(t, studyIn(dir, slowStudy...)...)
			if code != 0 {
				t.Fatalf("rerun: exit %d, stderr %q", code, errs)
			}
			if c, r, _ := counts(t, out); c != done || r != 8-done {
				t.Errorf("rerun: %d cached, %d run; want the %d cells on disk cached and %d run", c, r, done, 8-done)
			}
			if got, _ := readStudy(t, dir); !bytes.Equal(got, want) {
				t.Errorf("study.json after %v and a rerun differs from the uninterrupted run's", sig)
			}
			t.Logf("%v after %d of 8 cells; the rerun ran %d", sig, done, 8-done)
		})
	}
}

// TestStudyBadCells truncates one cell file, replaces another with a
// third cell's (a foreign file under its name) and fills a fourth with
// junk: the rerun runs exactly those three again and gives the same study.
func TestStudyBadCells(t *testing.T) {
	dir := t.TempDir()
	args := studyIn(dir, "study", "test.toy", "--grid", "rate=0.25,0.5,1", "--seeds", "1-4")
	if code, _, errs := call(t, args...); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	want, st := readStudy(t, dir)
	path := func(i int) string { return filepath.Join(dir, "cells", st.Cells[i].Key+".json") }
	b, err := os.ReadFile(path(0))
	if err != nil {
		t.Fatal(err)
	}
	other, err := os.ReadFile(path(5))
	if err != nil {
		t.Fatal(err)
	}
	for i, content := range map[int][]byte{0: b[:len(b)/2], 3: other, 7: []byte("not json\n")} {
		if err := os.WriteFile(path(i), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errs := call(t, args...)
	if code != 0 {
		t.Fatalf("rerun: exit %d, stderr %q", code, errs)
	}
	if c, r, _ := counts(t, out); c != 9 || r != 3 {
		t.Errorf("rerun: %d cached, %d run; want 9 and the 3 bad ones run", c, r)
	}
	if got, _ := readStudy(t, dir); !bytes.Equal(got, want) {
		t.Errorf("study.json after repairing 3 cells differs")
	}
}

// TestStudyFailedCells: failed cells are results: one line each on
// stderr, their errors in study.json, left out of the means, exit 0; a
// study whose every cell failed exits 1.
func TestStudyFailedCells(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := call(t, studyIn(dir, "study", "test.toy", "--grid", "mode=ok,panic,diverge", "--seeds", "1,2", "--jobs", "1")...)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if _, _, f := counts(t, out); f != 4 {
		t.Errorf("%d failed, want 4", f)
	}
	mustContain(t, "stderr", errs,
		"alignlab: study: cell mode=panic seed 1 failed: test.toy: assignment to entry in nil map\n",
		"alignlab: study: cell mode=panic seed 2 failed: test.toy: assignment to entry in nil map\n",
		"alignlab: study: cell mode=diverge seed 1 failed: test.toy: diverged at step 11: x is +Inf",
		"alignlab: study: cell mode=diverge seed 2 failed: test.toy: diverged at step 11: x is +Inf")
	if n := strings.Count(errs, "\n"); n != 5 {
		t.Errorf("stderr has %d lines, want 4 failures and the wrote line:\n%s", n, errs)
	}
	var rows []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "  ") {
			rows = append(rows, strings.Join(strings.Fields(l), " "))
		}
	}
	if len(rows) != 4 || rows[0] != "mode error estimate runs" || !strings.HasPrefix(rows[1], "ok 0.0") || !strings.HasSuffix(rows[1], " 2") ||
		rows[2] != "panic - - 0" || rows[3] != "diverge - - 0" {
		t.Errorf("summary rows %q, want mode error estimate runs; ok … 2; panic - - 0; diverge - - 0", rows)
	}
	_, st := readStudy(t, dir)
	if st.Cells[2].Err != "test.toy: assignment to entry in nil map" || st.Cells[2].Result != nil || st.Cells[0].Err != "" {
		t.Errorf("study.json cells: %+v", st.Cells[:3])
	}
	html, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	if !bytes.Contains(html, []byte("estimate by mode (mean over")) {
		t.Errorf("report.html has no bar chart of the metric by the categorical key mode")
	}

	code, out, errs = call(t, studyIn(t.TempDir(), "study", "test.toy", "--set", "mode=panic", "--seeds", "1,2")...)
	if code != exitFailure || !strings.HasSuffix(errs, "alignlab: study: every cell failed; the first: test.toy: assignment to entry in nil map\n") {
		t.Errorf("every cell failed: exit %d, stdout %q, stderr %q; want exit 1", code, out, errs)
	}
}

// TestStudyCancelled: a study whose context is cancelled while its cells
// run (test.toy's slow mode runs until then) exits 130 and writes no
// study.json; the cells it stopped are not cached as failures.
func TestStudyCancelled(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	var out, errs bytes.Buffer
	code := runContext(ctx, studyIn(dir, "study", "test.toy", "--set", "mode=slow", "--seeds", "1-3", "--jobs", "2"), &out, &errs)
	if code != exitInterrupted || errs.String() != "alignlab: interrupted\n" || out.Len() != 0 {
		t.Errorf("exit %d, stdout %q, stderr %q; want 130 and %q", code, out.String(), errs.String(), "alignlab: interrupted\n")
	}
	if n := cellFiles(t, dir); n != 0 {
		t.Errorf("%d cells cached from cancelled runs, want 0", n)
	}
	if _, err := os.Stat(filepath.Join(dir, kernel.StudyFile)); !os.IsNotExist(err) {
		t.Errorf("study.json written by a cancelled study (%v)", err)
	}
}

func TestStudyUsageErrors(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out := []string{"--out", filepath.Join(tmp, "out")}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"study"}, `study wants a plugin ID (see alignlab list)`},
		{[]string{"study", "test.toy", "--seeds", "1"}, `study wants --out DIR: its cells, study.json and report.html go there`},
		{[]string{"study", "nope.x", "--out", tmp}, `unknown plugin "nope.x" (known: `},
		{[]string{"study", "test.toy", "test.toy"}, `study takes one plugin ID, got "test.toy" and "test.toy"`},
		{[]string{"study", "test.toy", "--frob"}, `unknown flag --frob for study (want --grid, --seeds, --set, --data, --jobs, --out, --shard, --executor, --slurm-opt or --slurm-timeout)`},
		{[]string{"study", "test.toy", "--grid", "bogus=1,2"}, `test.toy: unknown param "bogus" (known: mode, rate, seed, steps)`},
		{[]string{"study", "test.toy", "--grid", "rate=0.5,2"}, `test.toy: param rate: got "2", want float (0, 1]`},
		{[]string{"study", "test.toy", "--grid", "rate"}, `--grid "rate": want key=v1,v2,... or k1,k2=a1:b1,a2:b2,...`},
		{[]string{"study", "test.toy", "--grid", "rate=0.5,"}, `--grid "rate=0.5,": empty value for rate`},
		{[]string{"study", "test.toy", "--grid", "rate,steps=0.5:3,1"}, `--grid "rate,steps=0.5:3,1": value "1" has 1 parts for 2 keys; want rate:steps`},
		{[]string{"study", "test.toy", "--grid", "rate=0.5,0.50"}, `--grid rate: value 0.50 given twice`},
		{[]string{"study", "test.toy", "--grid", "rate=0.5", "--grid", "rate=1"}, `--grid rate: the key is on two axes`},
		{[]string{"study", "test.toy", "--grid", "seed=1,2"}, `--grid seed: a study's seeds are set by --seeds`},
		{[]string{"study", "test.toy", "--grid", "rate=0.5,1", "--set", "rate=1"}, `--grid rate conflicts with --set rate=1: give one`},
		{[]string{"study", "test.toy", "--set", "seed=3"}, `--set seed=3: a study's seeds are set by --seeds`},
		{[]string{"study", "test.toy", "--seeds", "1-"}, `--seeds "1-": "1-" is not a range of seeds in [0, 2^53]; want seeds and ranges such as 1-5, 1,3,7 or 1-3,9`},
		{[]string{"study", "test.toy", "--seeds", "a"}, `--seeds "a": "a" is not a seed in [0, 2^53]; want seeds `},
		{[]string{"study", "test.toy", "--seeds", "5-3"}, `--seeds "5-3": range 5-3 ends before it starts; want `},
		{[]string{"study", "test.toy", "--seeds", "1-3,2"}, `--seeds "1-3,2": seed 2 given twice; want `},
		{[]string{"study", "test.toy", "--seeds", "1,,2"}, `--seeds "1,,2": "" is not a seed in [0, 2^53]; want `},
		{[]string{"study", "test.toy", "--seeds", "0-1000000000"}, `--seeds "0-1000000000": more than 100000 seeds; want `},
		{[]string{"study", "test.toy", "--seeds", "1", "--seeds", "2"}, `--seeds given twice`},
		{[]string{"study", "test.toy", "--shard", "3/2"}, `--shard "3/2": want i/n with 1 ≤ i ≤ n, such as 1/4`},
		{[]string{"study", "test.toy", "--shard", "0/2"}, `--shard "0/2": want i/n with 1 ≤ i ≤ n, such as 1/4`},
		{[]string{"study", "test.toy", "--shard", "1"}, `--shard "1": want i/n with 1 ≤ i ≤ n, such as 1/4`},
		{[]string{"study", "test.toy", "--jobs", "0"}, `--jobs "0": want an integer in [1, 4096]`},
		{[]string{"study", "test.toy", "--executor", "k8s"}, `--executor "k8s": want local or slurm`},
		{[]string{"study", "test.toy", "--executor", "slurm", "--shard", "1/2"}, `--shard is for one task of a study; --executor slurm makes the shards itself`},
		{[]string{"study", "test.toy", "--slurm-opt", "--time=5"}, `--slurm-opt and --slurm-timeout need --executor slurm`},
		{[]string{"study", "test.toy", "--executor", "slurm", "--slurm-opt", "--array=0-9"}, `--slurm-opt --array=0-9: alignlab sets --array, --output, --error and --chdir itself`},
		{[]string{"study", "test.toy", "--executor", "slurm", "--slurm-opt", "gpu"}, `--slurm-opt "gpu": want sbatch options such as "--partition=cpu --time=30"`},
		{[]string{"study", "test.toy", "--executor", "slurm", "--slurm-timeout", "soon"}, `--slurm-timeout "soon": want a positive duration such as 90m or 2h`},
		{[]string{"study", "test.toy", "--data", filepath.Join(tmp, "missing")}, filepath.Join(tmp, "missing") + `: no such file or directory`},
		{[]string{"study", "merge"}, `study merge wants the study's directory (the --out of its shards)`},
		{[]string{"study", "merge", file}, `study merge ` + file + `: not a directory`},
		{[]string{"study", "merge", tmp, tmp}, `study merge takes one directory, got "` + tmp + `" and "` + tmp + `"`},
	} {
		args := tc.args
		if len(args) > 1 && args[1] == "test.toy" && !strings.HasPrefix(tc.want, "study wants --out") {
			args = append(append([]string{}, args...), out...)
		}
		for name, runner := range map[string]func(*testing.T, ...string) (int, string, string){"in-process": call, "binary": exe} {
			if name == "binary" && len(args) > 1 && args[1] != "test.toy" && args[1] != "nope.x" {
				continue // the in-process run is enough for the rest
			}
			code, stdout, errs := runner(t, args...)
			if code != exitUsage || stdout != "" || strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, "alignlab: "+tc.want) {
				t.Errorf("%s %v: exit %d, stdout %q, stderr %q; want 2 and one line %q", name, tc.args, code, stdout, errs, "alignlab: "+tc.want)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(tmp, "out")); !os.IsNotExist(err) {
		t.Errorf("a refused study created its --out directory (%v)", err)
	}
	code, stdout, _ := call(t, "study", "--help")
	if code != 0 || !strings.HasPrefix(stdout, "Usage: alignlab study ID --grid") {
		t.Errorf("study --help: exit %d, stdout %q", code, stdout)
	}
}

func TestParseSeeds(t *testing.T) {
	for in, want := range map[string]string{
		"1-5": "[1 2 3 4 5]", "1,3,7": "[1 3 7]", "1-3,9": "[1 2 3 9]", " 4 - 5 , 0 ": "[4 5 0]", "7": "[7]",
		"9007199254740992": "[9007199254740992]",
	} {
		got, err := parseSeeds(in)
		if err != nil || fmt.Sprint(got) != want {
			t.Errorf("parseSeeds(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, in := range []string{"", "-1", "1-", "3-1", "x", "1,1", "9007199254740993", "1.5"} {
		if got, err := parseSeeds(in); err == nil {
			t.Errorf("parseSeeds(%q) = %v, want an error", in, got)
		}
	}
}

func TestParseGrid(t *testing.T) {
	for in, want := range map[string]string{
		"dim=2,16":                   "[dim] [[2] [16]]",
		"backend=xla:cpu,go":         "[backend] [[xla:cpu] [go]]",
		"eps, lr = 0.1:1e-3, 1:3e-3": "[eps lr] [[0.1 1e-3] [1 3e-3]]",
	} {
		ax, err := parseGrid(in)
		if got := fmt.Sprint(ax.keys, " ", ax.rows); err != nil || got != want {
			t.Errorf("parseGrid(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
}

func TestSlurmOpts(t *testing.T) {
	got, err := parseSlurmOpts("--partition=cpu  --time 30 -c 2")
	if want := "[--partition=cpu --time 30 -c 2]"; err != nil || fmt.Sprint(got) != want {
		t.Errorf("got %q, %v; want %s", got, err, want)
	}
}

// TestSbatchScript checks the job array script against the exact text.
func TestSbatchScript(t *testing.T) {
	sa, err := parseStudyArgs([]string{"dpo.dpo", "--grid", "dim=2,16", "--grid", "beta,learning_rate=0.5:0.05,1:0.1",
		"--seeds", "1-3", "--set", "steps=15", "--data", "d/x y.jsonl", "--out", "ignored", "--executor", "slurm",
		"--slurm-opt", "--partition=cpu --time 10", "--jobs", "4"})
	if err != nil {
		t.Fatal(err)
	}
	got := sbatchScript(sa, "/opt/bin/alignlab", "/home/u", "/scratch/st", 4)
	want := `#!/bin/sh
#SBATCH --job-name=alignlab-dpo.dpo
#SBATCH --array=0-3
#SBATCH --chdir=/home/u
#SBATCH --output=/scratch/st/slurm/task-%a.out
#SBATCH --error=/scratch/st/slurm/task-%a.err
#SBATCH --partition=cpu
#SBATCH --time 10
#
# alignlab study dpo.dpo as a job array of 4 tasks, written by "alignlab study --executor slurm":
# task k runs shard k+1/4 of the cells into /scratch/st; then
# "alignlab study merge /scratch/st" writes study.json and report.html.
# Resubmitting it (sbatch /scratch/st/slurm/study.sbatch) runs only the cells not yet cached.
exec /opt/bin/alignlab study dpo.dpo --grid dim=2,16 --grid beta,learning_rate=0.5:0.05,1:0.1 --seeds 1-3 --set steps=15 --data 'd/x y.jsonl' --out /scratch/st --executor local --jobs 1 --shard "$((SLURM_ARRAY_TASK_ID + 1))/4"
`
	if got != want {
		t.Errorf("script:\n%s\nwant:\n%s", got, want)
	}
	if q := shellQuote("it's"); q != `'it'\''s'` {
		t.Errorf("shellQuote(it's) = %s", q)
	}
}

// TestStudySlurm runs the study on a real Slurm cluster (see
// internal/slurmtest) as a 4-task job array: the merged study.json must
// equal the one-machine run's, byte for byte.
func TestStudySlurm(t *testing.T) {
	env := slurmtest.Cluster(t)
	tmp := t.TempDir()
	local := filepath.Join(tmp, "local")
	if code, _, errs := exe(t, append(studyIn(local, dpoStudy...), "--jobs", "2")...); code != 0 {
		t.Fatalf("local study: exit %d, stderr %q", code, errs)
	}
	want, _ := readStudy(t, local)

	dir := filepath.Join(tmp, "cluster")
	cmd := exec.Command(binary, append(studyIn(dir, dpoStudy...), "--executor", "slurm", "--jobs", "4",
		"--slurm-opt", "--time=10", "--slurm-timeout", "3m")...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("study --executor slurm: %v\nstdout %s\nstderr %s", err, stdout.String(), stderr.String())
	}
	t.Logf("slurm study of 18 cells in 4 tasks: %.1f s\n%s", time.Since(start).Seconds(), stderr.String())
	if !regexp.MustCompile(`^dpo\.dpo study, 18 cells: run by slurm job \d+ in 4 tasks: 0 cells cached, 18 run, 0 failed\n`).MatchString(stdout.String()) {
		t.Errorf("stdout does not start with the slurm header:\n%s", stdout.String())
	}
	if !regexp.MustCompile(`alignlab: submitted slurm job \d+: 18 cells in 4 array tasks`).MatchString(stderr.String()) {
		t.Errorf("stderr does not report the submission:\n%s", stderr.String())
	}
	if got, _ := readStudy(t, dir); !bytes.Equal(got, want) {
		t.Errorf("study.json merged from slurm differs from the local run's")
	}
	script, err := os.ReadFile(filepath.Join(dir, "slurm", "study.sbatch"))
	if err != nil || !bytes.Contains(script, []byte("\n#SBATCH --array=0-3\n")) || !bytes.Contains(script, []byte("\n#SBATCH --time=10\n")) {
		t.Errorf("study.sbatch (%v):\n%s", err, script)
	}
	for k := range 4 {
		out, err := os.ReadFile(filepath.Join(dir, "slurm", fmt.Sprintf("task-%d.out", k)))
		if want := fmt.Sprintf("shard %d/4: ", k+1); err != nil || !bytes.HasPrefix(out, []byte(want)) {
			t.Errorf("task %d output %q (%v), want it to start with %q", k, out, err, want)
		}
	}
}

// fakeSbatch stands in for sbatch on a machine without Slurm: it runs
// every task of the array script now, one after the other, as Slurm would
// (in --chdir, SLURM_ARRAY_TASK_ID set, output to --output and --error with
// %a replaced), except task $FAKE_LOSE, whose "node" is lost before it
// starts. It prints a job ID as sbatch --parsable does.
const fakeSbatch = `#!/bin/sh
set -e
[ "$1" = --parsable ] || { echo "fake sbatch: want --parsable first" >&2; exit 1; }
script=$2
opt() { sed -n "s/^#SBATCH --$1=//p" "$script"; }
last=$(opt array | sed 's/^0-//')
cd "$(opt chdir)"
k=0
while [ "$k" -le "$last" ]; do
	out=$(opt output | sed "s/%a/$k/") err=$(opt error | sed "s/%a/$k/")
	if [ "$k" = "${FAKE_LOSE:-}" ]; then
		echo "fake: node lost" >"$err"
	else
		SLURM_ARRAY_TASK_ID=$k sh "$script" >"$out" 2>"$err" || true
	fi
	k=$((k + 1))
done
echo "42;fake"
`

// fakeSqueue lists the finished tasks, as squeue -j does for a while after
// a job ends: the poll must take them for gone.
const fakeSqueue = "#!/bin/sh\nprintf 'COMPLETED\\nCOMPLETED\\nFAILED\\n'\n"

// TestStudySlurmFake runs the Slurm executor against a stand-in sbatch
// and squeue, so that it is checked on every machine: the merged study
// equals the local one, the task outputs add up to the counts printed, a
// rerun runs nothing, and a lost task's cells are named with a pointer to
// the tasks' stderr files.
func TestStudySlurmFake(t *testing.T) {
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, script := range map[string]string{"sbatch": fakeSbatch, "squeue": fakeSqueue, "scancel": "#!/bin/sh\nexit 0\n"} {
		writeFile(t, bin, name, script)
		if err := os.Chmod(filepath.Join(bin, name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	study := []string{"study", "test.toy", "--grid", "rate=0.25,0.5,1", "--seeds", "1-3"}
	local := filepath.Join(tmp, "local")
	if code, _, errs := call(t, studyIn(local, study...)...); code != 0 {
		t.Fatalf("local study: exit %d, stderr %q", code, errs)
	}
	want, _ := readStudy(t, local)
	slurm := func(dir string, moreEnv ...string) (int, string, string) {
		cmd := exec.Command(binary, append(studyIn(dir, study...), "--executor", "slurm", "--jobs", "4")...)
		cmd.Env = append(env, moreEnv...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), stdout.String(), stderr.String()
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, stdout.String(), stderr.String()
	}

	dir := filepath.Join(tmp, "slurm")
	code, out, errs := slurm(dir)
	if code != 0 || !strings.HasPrefix(out, "test.toy study, 9 cells: run by slurm job 42 in 4 tasks: 0 cells cached, 9 run, 0 failed\n") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if !strings.HasPrefix(errs, "alignlab: submitted slurm job 42: 9 cells in 4 array tasks ("+filepath.Join(dir, "slurm", "study.sbatch")+")\n") {
		t.Errorf("stderr %q does not start with the submission", errs)
	}
	if got, _ := readStudy(t, dir); !bytes.Equal(got, want) {
		t.Errorf("study.json merged from the job array differs from the local run's")
	}
	if code, out, errs := slurm(dir); code != 0 || !strings.Contains(out, ": 9 cells cached, 0 run, 0 failed\n") {
		t.Errorf("rerun: exit %d, stdout %q, stderr %q; want every cell cached", code, out, errs)
	}

	lost := filepath.Join(tmp, "lost")
	code, out, errs = slurm(lost, "FAKE_LOSE=1")
	wantErr := "alignlab: slurm job 42 ended without every cell: kernel: merge " + lost + ": 2 of 9 cells missing or invalid: "
	if code != exitFailure || out != "" || !strings.Contains(errs, wantErr) ||
		!strings.HasSuffix(errs, "; the tasks' stderr is in "+filepath.Join(lost, "slurm", "task-*.err")+" (not empty: task-1.err)\n") {
		t.Errorf("lost task: exit %d, stdout %q, stderr %q; want exit 1, %q… naming task-1.err", code, out, errs, wantErr)
	}
}

// TestStudyProgress: on a terminal, a bar of cells done, redrawn at most
// every 100 ms and always at the last cell; a failed cell clears it and
// prints its line.
func TestStudyProgress(t *testing.T) {
	var buf bytes.Buffer
	p := newStudyProgress(&buf, "test.toy", []string{"rate"})
	p.tty = true
	now := time.Unix(0, 0)
	p.clock = func() time.Time { return now } // the clock stands still: one redraw, then the last
	ok := &kernel.Cell{Point: map[string]any{"rate": 0.5}, Seed: 1, Result: &kernel.Result{}}
	for i := 1; i <= 3; i++ {
		p.observe(i, 4, ok)
	}
	p.observe(4, 4, &kernel.Cell{Point: map[string]any{"rate": 1.0}, Seed: 2, Err: "boom", Cached: true})
	p.finish()
	want := "\rstudy test.toy [=====               ] 1/4 cells  0 cached  0 failed\x1b[K" +
		"\r\x1b[K" + "alignlab: study: cell rate=1 seed 2 failed (cached): boom\n" +
		"\rstudy test.toy [====================] 4/4 cells  1 cached  1 failed\x1b[K" + "\r\x1b[K"
	if got := buf.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
