package main

// The Slurm executor of "alignlab study": one job array whose task k runs
// shard k+1/n of the study into the shared DIR, then a merge here.
//
// Other schedulers need no executor of their own: run n copies of
//
//	alignlab study ID <flags> --shard $((INDEX+1))/n --out DIR --jobs 1
//
// with INDEX their index, DIR on a volume they all see, then
// "alignlab study merge DIR". On Kubernetes that is an Indexed Job
// (completionMode: Indexed, completions = parallelism = n; INDEX is
// $JOB_COMPLETION_INDEX) mounting a ReadWriteMany volume at DIR; the
// manifest is in docs/studies.md.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/alignlab/alignlab/kernel"
)

// slurmPoll is how often squeue is asked whether the job is still there.
const slurmPoll = time.Second

// slurmCommandLimit bounds one sbatch, squeue or scancel call, so that a
// controller that does not answer cannot hang the command.
const slurmCommandLimit = 60 * time.Second

// slurmStudy runs s as a Slurm job array and merges it into sa.out.
func slurmStudy(ctx context.Context, sa *studyArgs, s kernel.Study, stdout, stderr io.Writer) int {
	if _, err := exec.LookPath("sbatch"); err != nil {
		fmt.Fprintln(stderr, "alignlab: --executor slurm: sbatch not found on PATH (is this a Slurm login node?)")
		return exitFailure
	}
	dir, err := filepath.Abs(sa.out)
	if err != nil {
		fmt.Fprintf(stderr, "alignlab: %s\n", oneLine(err.Error()))
		return exitFailure
	}
	cwd, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(stderr, "alignlab: %s\n", oneLine(err.Error()))
		return exitFailure
	}
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		fmt.Fprintf(stderr, "alignlab: --executor slurm: cannot find this binary for the tasks to run: %s\n", oneLine(err.Error()))
		return exitFailure
	}
	for _, p := range []string{dir, cwd} {
		if strings.ContainsAny(p, " \t\n\"'%\\") {
			return usagef(stderr, "--executor slurm: path %q holds a space, quote, backslash or %%, which #SBATCH lines cannot carry; use another directory", p)
		}
	}
	total := studyCells(s)
	n := min(sa.jobs, total)
	// Every check the tasks would make (plugin, params, data files), and
	// the spec written into dir, before anything is queued.
	if _, err := kernel.PrepareStudy(s, dir); err != nil {
		return reportError(stderr, err)
	}
	script := sbatchScript(sa, exe, cwd, dir, n)
	slurmDir := filepath.Join(dir, "slurm")
	if err := os.MkdirAll(slurmDir, 0o755); err != nil {
		fmt.Fprintf(stderr, "alignlab: %s\n", oneLine(err.Error()))
		return exitFailure
	}
	scriptPath := filepath.Join(slurmDir, "study.sbatch")
	if err := writeFileAtomic(scriptPath, []byte(script)); err != nil {
		fmt.Fprintf(stderr, "alignlab: %s\n", oneLine(err.Error()))
		return exitFailure
	}
	// Output files of an earlier submission would be taken for this one's.
	old, _ := filepath.Glob(filepath.Join(slurmDir, "task-*.*"))
	for _, f := range old {
		os.Remove(f)
	}
	out, err := slurmCommand(ctx, "sbatch", "--parsable", scriptPath)
	if err != nil {
		if ctx.Err() != nil {
			return reportError(stderr, ctx.Err())
		}
		fmt.Fprintf(stderr, "alignlab: submitting %s: %s\n", scriptPath, oneLine(err.Error()))
		return exitFailure
	}
	// --parsable prints "ID" or "ID;cluster".
	job, _, _ := strings.Cut(strings.TrimSpace(out), ";")
	if job == "" || strings.ContainsAny(job, " \n") {
		fmt.Fprintf(stderr, "alignlab: sbatch printed %q, want a job ID\n", out)
		return exitFailure
	}
	fmt.Fprintf(stderr, "alignlab: submitted slurm job %s: %d cells in %d array tasks (%s)\n", job, total, n, scriptPath)

	if code := waitSlurm(ctx, job, sa.slurmTimeout, n, stderr); code != exitOK {
		if code == exitInterrupted {
			fmt.Fprintf(stderr, "alignlab: study: finished cells stay cached in %s; run the same command again to go on\n", filepath.Join(dir, "cells"))
			return reportError(stderr, context.Canceled)
		}
		return code
	}
	res, err := kernel.MergeStudy(dir)
	if err != nil {
		errFiles := nonEmpty(filepath.Join(slurmDir, "task-*.err"))
		where := "the tasks' stderr is in " + filepath.Join(slurmDir, "task-*.err")
		if len(errFiles) > 0 {
			where += " (not empty: " + strings.Join(errFiles, ", ") + ")"
		}
		fmt.Fprintf(stderr, "alignlab: slurm job %s ended without every cell: %s; %s\n", job, oneLine(err.Error()), where)
		return exitFailure
	}
	printFailures(stderr, res)
	header := fmt.Sprintf("%s study, %d cells: run by slurm job %s in %d tasks", s.Plugin, len(res.Cells), job, n)
	if cached, ran, ok := shardCounts(slurmDir, n); ok {
		header += fmt.Sprintf(": %d cells cached, %d run", cached, ran)
	}
	return finishStudy(stdout, stderr, dir, res, fmt.Sprintf("%s, %d failed", header, len(res.Failed())))
}

// shardCounts adds up the "shard i/n: K cells (R run, C cached)" lines of
// the n tasks' outputs; ok is false unless every task printed its line.
func shardCounts(slurmDir string, n int) (cached, ran int, ok bool) {
	for k := range n {
		b, err := os.ReadFile(filepath.Join(slurmDir, fmt.Sprintf("task-%d.out", k)))
		if err != nil {
			return 0, 0, false
		}
		var i, m, cells, r, c int
		if _, err := fmt.Sscanf(string(b), "shard %d/%d: %d cells (%d run, %d cached)", &i, &m, &cells, &r, &c); err != nil || i != k+1 || m != n {
			return 0, 0, false
		}
		cached, ran = cached+c, ran+r
	}
	return cached, ran, true
}

// sbatchScript is the job array: task k runs this binary on shard k+1/n
// with the study's own flags, so every task plans the same study and
// writes the same spec; --chdir keeps relative --data paths (which are part
// of the spec) meaning what they meant here.
func sbatchScript(sa *studyArgs, exe, cwd, dir string, n int) string {
	var b strings.Builder
	slurmDir := filepath.Join(dir, "slurm")
	fmt.Fprintf(&b, "#!/bin/sh\n")
	fmt.Fprintf(&b, "#SBATCH --job-name=alignlab-%s\n", sa.id)
	fmt.Fprintf(&b, "#SBATCH --array=0-%d\n", n-1)
	fmt.Fprintf(&b, "#SBATCH --chdir=%s\n", cwd)
	fmt.Fprintf(&b, "#SBATCH --output=%s\n", filepath.Join(slurmDir, "task-%a.out"))
	fmt.Fprintf(&b, "#SBATCH --error=%s\n", filepath.Join(slurmDir, "task-%a.err"))
	for _, opt := range sa.slurmOpts {
		fmt.Fprintf(&b, "#SBATCH %s\n", opt)
	}
	fmt.Fprintf(&b, "#\n# alignlab study %s as a job array of %d tasks, written by \"alignlab study --executor slurm\":\n", sa.id, n)
	fmt.Fprintf(&b, "# task k runs shard k+1/%d of the cells into %s; then\n", n, dir)
	fmt.Fprintf(&b, "# \"alignlab study merge %s\" writes study.json and report.html.\n", dir)
	fmt.Fprintf(&b, "# Resubmitting it (sbatch %s) runs only the cells not yet cached.\n", filepath.Join(slurmDir, "study.sbatch"))
	args := []string{exe, "study", sa.id}
	for _, g := range sa.grids {
		args = append(args, "--grid", g)
	}
	if sa.seedsArg != "" {
		args = append(args, "--seeds", sa.seedsArg)
	}
	for _, set := range sa.sets {
		args = append(args, "--set", set)
	}
	for _, d := range sa.data {
		args = append(args, "--data", d)
	}
	args = append(args, "--out", dir, "--executor", "local", "--jobs", "1")
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = shellQuote(a)
	}
	fmt.Fprintf(&b, "exec %s --shard \"$((SLURM_ARRAY_TASK_ID + 1))/%d\"\n", strings.Join(quoted, " "), n)
	return b.String()
}

// shellQuote quotes s for sh, in single quotes unless it needs none.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// waitSlurm polls squeue until job has left the queue, printing the count
// of its tasks by state when it changes. Ctrl-C and the timeout cancel the
// job (scancel).
func waitSlurm(ctx context.Context, job string, timeout time.Duration, tasks int, stderr io.Writer) int {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(slurmPoll)
	defer tick.Stop()
	last, failures := "", 0
	for {
		states, gone, err := slurmStates(ctx, job)
		switch {
		case ctx.Err() != nil:
			cancelSlurm(job, stderr)
			return exitInterrupted
		case err != nil:
			// The controller can be briefly busy; a minute of failures is not.
			if failures++; failures >= 60 {
				fmt.Fprintf(stderr, "alignlab: waiting for slurm job %s: %s (job left running; scancel %s to stop it)\n", job, oneLine(err.Error()), job)
				return exitFailure
			}
		case gone:
			return exitOK
		default:
			failures = 0
			if now := describeStates(states, tasks); now != last {
				fmt.Fprintf(stderr, "alignlab: slurm job %s: %s\n", job, now)
				last = now
			}
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(stderr, "alignlab: slurm job %s still queued after %v (--slurm-timeout); cancelling it\n", job, timeout)
			cancelSlurm(job, stderr)
			return exitFailure
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
}

// slurmStates returns the states of job's tasks still in the queue, one
// per task (a pending remainder of an array counts once per task); gone is
// true when none is left, finished ones included (squeue -j lists them for
// a while after, as COMPLETED, FAILED, …).
func slurmStates(ctx context.Context, job string) (states map[string]int, gone bool, err error) {
	out, err := slurmCommand(ctx, "squeue", "-h", "-r", "-j", job, "-o", "%T")
	if err != nil {
		if strings.Contains(err.Error(), "Invalid job id") {
			return nil, true, nil // purged from the controller already
		}
		return nil, false, err
	}
	states = map[string]int{}
	for _, s := range strings.Fields(out) {
		switch s {
		case "COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
			"PREEMPTED", "BOOT_FAIL", "DEADLINE", "REVOKED", "SPECIAL_EXIT":
			continue
		}
		states[strings.ToLower(s)]++
	}
	return states, len(states) == 0, nil
}

func describeStates(states map[string]int, tasks int) string {
	names := make([]string, 0, len(states))
	left := 0
	for s, k := range states {
		names = append(names, s)
		left += k
	}
	sort.Strings(names)
	var parts []string
	for _, s := range names {
		parts = append(parts, fmt.Sprintf("%d %s", states[s], s))
	}
	return fmt.Sprintf("%s; %d of %d tasks done", strings.Join(parts, ", "), max(tasks-left, 0), tasks)
}

func cancelSlurm(job string, stderr io.Writer) {
	// Not under ctx, which is cancelled by now.
	if _, err := slurmCommand(context.Background(), "scancel", job); err != nil {
		fmt.Fprintf(stderr, "alignlab: scancel %s: %s\n", job, oneLine(err.Error()))
		return
	}
	fmt.Fprintf(stderr, "alignlab: cancelled slurm job %s\n", job)
}

// slurmCommand runs a Slurm client command and returns its stdout; the
// error holds its stderr.
func slurmCommand(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, slurmCommandLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", errors.New(name + ": " + msg)
	}
	return stdout.String(), nil
}

// nonEmpty lists the files matching pattern that hold something.
func nonEmpty(pattern string) []string {
	files, _ := filepath.Glob(pattern)
	var out []string
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.Size() > 0 {
			out = append(out, filepath.Base(f))
		}
	}
	return out
}
