package slurmtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestJobArray submits an 8-task array to the real cluster; each task
// writes its index to a file named by it, so a lost, repeated or
// mis-numbered task shows as a missing file or a wrong content.
func TestJobArray(t *testing.T) {
	env := Cluster(t)
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	const tasks = 8

	start := time.Now()
	id := submit(t, env, dir,
		fmt.Sprintf("--array=0-%d", tasks-1),
		"--job-name=slurmtest-array",
		"--chdir="+dir,
		"--output="+filepath.Join(dir, "slurm-%A_%a.out"),
		"--wrap", `echo $SLURM_ARRAY_TASK_ID > out/$SLURM_ARRAY_TASK_ID`)
	if err := waitGone(env, id, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)

	for i := range tasks {
		got, err := os.ReadFile(filepath.Join(dir, "out", fmt.Sprint(i)))
		if err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("slurm-%s_%d.out", id, i)))
			t.Errorf("task %d of job %s: %v (%s; its output: %q)", i, id, err, taskState(env, id, i), log)
			continue
		}
		if want := fmt.Sprintf("%d\n", i); string(got) != want {
			t.Errorf("task %d wrote %q, want %q", i, got, want)
		}
	}
	entries, err := os.ReadDir(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != tasks {
		t.Errorf("out/ holds %d files, want %d", len(entries), tasks)
	}
	t.Logf("%d-task array job %s: submitted and finished in %.2f s", tasks, id, elapsed.Seconds())
}

// submit runs sbatch --parsable in dir and returns the job ID; the job is
// cancelled when the test ends, in case it is still queued or running.
func submit(t *testing.T, env []string, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("sbatch", append([]string{"--parsable"}, args...)...)
	cmd.Dir, cmd.Env = dir, env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sbatch %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	// --parsable prints "ID" or "ID;cluster".
	id, _, _ := strings.Cut(strings.TrimSpace(string(out)), ";")
	if id == "" {
		t.Fatalf("sbatch printed no job ID (stdout %q, stderr %q)", out, stderr.String())
	}
	t.Cleanup(func() {
		c := exec.Command("scancel", id)
		c.Env = env
		_ = c.Run()
	})
	return id
}

// taskState returns the state and exit code the controller holds for
// array task i of job id, for a failure message.
func taskState(env []string, id string, i int) string {
	cmd := exec.Command("scontrol", "-o", "show", "job", fmt.Sprintf("%s_%d", id, i))
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Sprintf("scontrol: %v: %s", err, bytes.TrimSpace(out))
	}
	var fields []string
	for _, f := range strings.Fields(string(out)) {
		if strings.HasPrefix(f, "JobState=") || strings.HasPrefix(f, "ExitCode=") {
			fields = append(fields, f)
		}
	}
	return strings.Join(fields, " ")
}

// waitGone polls squeue until job id has left the queue (every array task
// finished), or fails after timeout with what squeue last showed.
func waitGone(env []string, id string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		cmd := exec.Command("squeue", "-h", "-j", id, "-o", "%i %T %R")
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		switch {
		case err == nil && len(bytes.TrimSpace(out)) == 0:
			return nil
		case err != nil && strings.Contains(stderr.String(), "Invalid job id"):
			// Already purged from the controller (past MinJobAge).
			return nil
		case err != nil:
			return fmt.Errorf("squeue -j %s: %v: %s", id, err, strings.TrimSpace(stderr.String()))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("job %s still queued after %v:\n%s", id, timeout, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestConfPath(t *testing.T) {
	dir := t.TempDir()
	mine := filepath.Join(dir, "mine.conf")
	shell := filepath.Join(dir, "shell.conf")
	root := filepath.Join(dir, "repo")
	built := filepath.Join(root, DefaultDir, "etc", "slurm.conf")
	for _, p := range []string{mine, shell, built} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("ClusterName=x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	missing := filepath.Join(dir, "missing.conf")

	tests := []struct {
		name    string
		env     map[string]string
		root    string
		want    string
		wantErr []string // substrings of the error
	}{
		{"ALIGNLAB_SLURM_CONF wins", map[string]string{EnvConf: mine, "SLURM_CONF": shell}, root, mine, nil},
		{"SLURM_CONF next", map[string]string{"SLURM_CONF": shell}, root, shell, nil},
		{"build dir last", nil, root, built, nil},
		{"nothing", nil, filepath.Join(dir, "elsewhere"), "", []string{"no slurm cluster configured", "apt-get install slurm-wlm munge", "scripts/slurm-cluster.sh start build/slurm"}},
		{"no module root", nil, "", "", []string{"no slurm cluster configured"}},
		{"named file missing", map[string]string{EnvConf: missing}, root, "", []string{EnvConf + "=" + missing}},
		{"SLURM_CONF file missing", map[string]string{"SLURM_CONF": missing}, root, "", []string{"SLURM_CONF=" + missing}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := confPath(func(k string) string { return tt.env[k] }, tt.root)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("got %q, want an error", got)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEnviron(t *testing.T) {
	base := []string{
		"PATH=/usr/bin",
		"SLURM_CONF=/etc/slurm/slurm.conf",
		"SLURM_JOB_ID=41",
		"SBATCH_PARTITION=gpu",
		"SQUEUE_FORMAT=%i",
		"SINFO_PARTITION=gpu",
		"HOME=/root",
		"MYSLURM_X=kept", // only the prefixes Slurm reads go
	}
	got := environ(base, "/b/slurm.conf")
	want := []string{"PATH=/usr/bin", "HOME=/root", "MYSLURM_X=kept", "SLURM_CONF=/b/slurm.conf"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestUsable(t *testing.T) {
	for s, want := range map[string]bool{
		"idle": true, "mix": true, "alloc": true, "comp": true,
		"idle*": false, "down": false, "down*": false, "drain": false, "unk": false, "idle~": false, "": false,
	} {
		if got := usable(s); got != want {
			t.Errorf("usable(%q) = %v, want %v", s, got, want)
		}
	}
}

// recorder stands in for a test to see whether unavailable skips or fails.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Skipf(format string, a ...any)  { r.skipped = fmt.Sprintf(format, a...) }
func (r *recorder) Fatalf(format string, a ...any) { r.failed = fmt.Sprintf(format, a...) }

func TestUnavailableSkipsOutsideCI(t *testing.T) {
	cause := errors.New("slurm not installed (sbatch not on PATH): " + hint)
	for _, tt := range []struct {
		ci   string
		fail bool
	}{
		{"", false}, {"false", false}, {"0", false},
		{"true", true}, {"1", true}, {"TRUE", true},
	} {
		r := &recorder{}
		unavailable(r, tt.ci, cause)
		msg := r.skipped
		if tt.fail {
			msg = r.failed
		}
		if tt.fail && (r.failed == "" || r.skipped != "") {
			t.Errorf("CI=%q: skipped %q, failed %q; want a failure", tt.ci, r.skipped, r.failed)
		}
		if !tt.fail && (r.skipped == "" || r.failed != "") {
			t.Errorf("CI=%q: skipped %q, failed %q; want a skip", tt.ci, r.skipped, r.failed)
		}
		if !strings.Contains(msg, "apt-get install slurm-wlm munge") {
			t.Errorf("CI=%q: message %q does not say how to install Slurm", tt.ci, msg)
		}
	}
}
