package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/kernel"
	"github.com/alignlab/alignlab/replicate"
)

// Throw-away papers for the in-process tests of the command (the binary
// has only the real ones).
func init() {
	claim := func(measured float64, why string) func(context.Context, bool, int64) ([]replicate.Claim, []*kernel.Result, error) {
		return func(_ context.Context, quick bool, seed int64) ([]replicate.Claim, []*kernel.Result, error) {
			res, err := kernel.Run(context.Background(), "test.toy", kernel.Options{Params: map[string]any{kernel.ParamSeed: seed}})
			if err != nil {
				return nil, nil, err
			}
			c := replicate.Check("x", "x is at most 1", measured, replicate.AtMost(1), "a test").WithPaper(0.25, "")
			if why != "" {
				c = replicate.KnownDifference("x", "x is at most 1", measured, replicate.AtMost(1), "a test", why).WithPaperText("x < 0")
			}
			return []replicate.Claim{c}, []*kernel.Result{res}, nil
		}
	}
	replicate.Register(replicate.Paper{Name: "zz_pass", Title: "passes", Run: claim(0.5, "")})
	replicate.Register(replicate.Paper{Name: "zz_fail", Title: "fails", Run: claim(2, "")})
	replicate.Register(replicate.Paper{Name: "zz_known", Title: "differs", Run: claim(0.5, "x is positive on this testbed")})
}

func TestReplicateUsageErrors(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "f")
	os.WriteFile(file, nil, 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"replicate", "nope"}, `unknown paper "nope" (known: `},
		{[]string{"replicate", "--frob"}, `unknown flag --frob for replicate (want --quick, --out or --seed)`},
		{[]string{"replicate", "--seed"}, `flag --seed needs a value`},
		{[]string{"replicate", "--seed", "x"}, `--seed "x": want an integer in [0, 9007199254740992]`},
		{[]string{"replicate", "--seed", "-1"}, `--seed "-1": want an integer in [0, 9007199254740992]`},
		{[]string{"replicate", "--seed=1", "--seed=2"}, `--seed given twice`},
		{[]string{"replicate", "--quick=maybe"}, `--quick=maybe: want true or false`},
		{[]string{"replicate", "--out", ""}, `--out needs a directory`},
		{[]string{"replicate", "zz_pass", "--out", file}, `--out ` + file + `: not a directory`},
	} {
		code, out, errs := call(t, tc.args...)
		if code != exitUsage || out != "" || strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, "alignlab: "+tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and one line %q", tc.args, code, out, errs, tc.want)
		}
	}
	code, out, _ := call(t, "replicate", "--help")
	if code != 0 || !strings.HasPrefix(out, "Usage: alignlab replicate [PAPER...]") || !strings.Contains(out, "Papers: "+strings.Join(replicate.Names(), ", ")+"\n") {
		t.Errorf("--help: exit %d, stdout %q", code, out)
	}
}

func TestReplicateOut(t *testing.T) {
	for _, tc := range []struct {
		papers []string
		code   int
		lines  []string
	}{
		{[]string{"zz_pass"}, 0, []string{"paper    claim           ours  band  paper's  status\n",
			"zz_pass  x is at most 1  0.5   ≤ 1   0.25     reproduced\n", "\n1 reproduced, 0 known differences, 0 failed (quick, seed 4, "}},
		// A known difference is not a failure: exit 0, and its reason printed.
		{[]string{"zz_pass", "zz_known"}, 0, []string{"zz_known  x is at most 1  0.5   ≤ 1   x < 0    known difference\n",
			"known differences (the paper's result does not hold here; the band checks ours):\n  zz_known/x: x is positive on this testbed\n",
			"\n1 reproduced, 1 known difference, 0 failed (quick, seed 4, "}},
		{[]string{"zz_pass", "zz_fail"}, 1, []string{"zz_fail  x is at most 1  2     ≤ 1   0.25     FAILED\n", "\n1 reproduced, 0 known differences, 1 failed (quick, seed 4, "}},
	} {
		dir := filepath.Join(t.TempDir(), "out")
		args := append([]string{"replicate", "--quick", "--seed", "4", "--out", dir}, tc.papers...)
		code, out, errs := call(t, args...)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d; stderr %q", tc.papers, code, tc.code, errs)
		}
		mustContain(t, fmt.Sprintf("%v: stdout", tc.papers), out, tc.lines...)
		if !strings.HasPrefix(errs, "alignlab: replicate: zz_pass …\nalignlab: replicate: zz_pass: 1 reproduced, 0 known differences, 0 failed (") ||
			!strings.HasSuffix(errs, "alignlab: wrote "+filepath.Join(dir, "replication.json")+" and "+filepath.Join(dir, "report.html")+"\n") {
			t.Errorf("%v: stderr %q", tc.papers, errs)
		}
		entries, _ := os.ReadDir(dir)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		sort.Strings(names)
		if strings.Join(names, ",") != "replication.json,report.html" {
			t.Errorf("%v: out dir holds %v, want replication.json and report.html only", tc.papers, names)
		}
		var rep struct {
			Seed    int64
			Quick   bool
			Pass    bool
			Summary string
			Papers  []struct {
				Name   string
				Claims []struct {
					Status     string
					Why        string
					Measured   float64
					PaperValue any    `json:"paper_value"`
					PaperText  string `json:"paper_text"`
				}
				Results []struct{ Plugin string }
			}
		}
		js, err := os.ReadFile(filepath.Join(dir, "replication.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(js, &rep); err != nil {
			t.Fatalf("replication.json: %v", err)
		}
		if rep.Seed != 4 || !rep.Quick || rep.Pass != (tc.code == 0) || len(rep.Papers) != len(tc.papers) || rep.Papers[0].Results[0].Plugin != "test.toy" ||
			!strings.Contains(out, "\n"+rep.Summary+" (quick, seed 4, ") {
			t.Errorf("%v: replication.json %s", tc.papers, js)
		}
		last := rep.Papers[len(rep.Papers)-1].Claims[0]
		want := map[string]string{"zz_pass": "reproduced", "zz_fail": "failed", "zz_known": "known difference"}[tc.papers[len(tc.papers)-1]]
		if last.Status != want || (want == "known difference") != (last.Why != "" && last.PaperText == "x < 0" && last.PaperValue == nil) {
			t.Errorf("%v: last claim in replication.json %+v, want status %q", tc.papers, last, want)
		}
		html, err := os.ReadFile(filepath.Join(dir, "report.html"))
		if err != nil || !strings.Contains(string(html), "x is at most 1") || !strings.Contains(string(html), "goecharts_p0_r0_test_toy_") {
			t.Errorf("%v: report.html lacks the claims or the charts (%v)", tc.papers, err)
		}
	}
}

// TestReplicateInterrupt sends SIGINT to "alignlab replicate rdpo" (the
// full sweep, ~40 s) once it has started, and checks that it stops with
// status 130, says so in one line and writes nothing. How long it took to
// stop is logged, not asserted: the machine may be loaded.
func TestReplicateInterrupt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	interruptAfterStart(t, []string{"replicate", "rdpo", "--out", dir}, "alignlab: replicate: rdpo …")
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("--out dir exists after an interrupted replication (%v)", err)
	}
}
