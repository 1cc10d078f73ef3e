package slurmtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// EnvConf names the environment variable that points the tests at a
// slurm.conf; it takes precedence over SLURM_CONF, so a developer can test
// against one cluster while their shell talks to another.
const EnvConf = "ALIGNLAB_SLURM_CONF"

// DefaultDir is where scripts/slurm-cluster.sh keeps the test cluster,
// relative to the module root (.ci/run uses it).
const DefaultDir = "build/slurm"

// hint says how to get a cluster; every "not available" message ends in it.
const (
	startHint = "start one with scripts/slurm-cluster.sh start " + DefaultDir
	hint      = "apt-get install slurm-wlm munge; " + startHint
)

// commands are the client commands the tests and the study executor run.
var commands = []string{"sbatch", "squeue", "sinfo"}

// readyTimeout bounds how long Locate waits for a just-started node.
const readyTimeout = 15 * time.Second

// Cluster returns the environment for running Slurm's client commands
// against the test cluster: the process environment without any SLURM_*,
// SBATCH_*, SQUEUE_* or SINFO_* variable (an enclosing Slurm job's context
// or personal submission defaults would change what a test submits), plus
// SLURM_CONF naming the cluster's configuration.
//
// Where no cluster is available it skips the test with the reason and how
// to get one; with CI=true (or 1) in the environment it fails instead.
func Cluster(tb testing.TB) []string {
	tb.Helper()
	conf, err := Locate()
	if err != nil {
		unavailable(tb, os.Getenv("CI"), err)
		return nil
	}
	return environ(os.Environ(), conf)
}

// Locate finds the test cluster's slurm.conf (see the package doc for the
// order), checks that sbatch, squeue and sinfo are installed, and waits up
// to 15 s for the cluster's node to answer. The error says what is missing
// and how to get it.
func Locate() (conf string, err error) {
	for _, name := range commands {
		if _, err := exec.LookPath(name); err != nil {
			return "", fmt.Errorf("slurm not installed (%s not on PATH): %s", name, hint)
		}
	}
	root, _ := moduleRoot()
	conf, err = confPath(os.Getenv, root)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if err := waitReady(ctx, environ(os.Environ(), conf)); err != nil {
		return "", fmt.Errorf("slurm cluster of %s not ready: %v; %s (its logs: the log/ folder beside etc/)", conf, err, startHint)
	}
	return conf, nil
}

// confPath picks the configuration: EnvConf, then SLURM_CONF, then
// DefaultDir under root. A variable that names a missing file is an error,
// not a fall-through: the user asked for that cluster.
func confPath(getenv func(string) string, root string) (string, error) {
	for _, name := range []string{EnvConf, "SLURM_CONF"} {
		p := getenv(name)
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %v", name, p, err)
		}
		return filepath.Abs(p)
	}
	if root != "" {
		p := filepath.Join(root, DefaultDir, "etc", "slurm.conf")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no slurm cluster configured (neither %s nor SLURM_CONF is set, and there is no %s/etc/slurm.conf under the module root %q): %s",
		EnvConf, DefaultDir, root, hint)
}

// moduleRoot walks up from the working directory (a test's is its
// package's folder) to the folder holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("slurmtest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// environ returns base without the variables that steer Slurm's client
// commands, plus SLURM_CONF=conf.
func environ(base []string, conf string) []string {
	env := make([]string, 0, len(base)+1)
	for _, kv := range base {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "SLURM_"),
			strings.HasPrefix(name, "SBATCH_"),
			strings.HasPrefix(name, "SQUEUE_"),
			strings.HasPrefix(name, "SINFO_"):
			continue
		}
		env = append(env, kv)
	}
	return append(env, "SLURM_CONF="+conf)
}

// waitReady polls sinfo until some node of the cluster can take jobs
// (idle, mixed, allocated or completing) or ctx ends.
func waitReady(ctx context.Context, env []string) error {
	var last error
	for {
		states, err := nodeStates(ctx, env)
		if err == nil {
			for _, s := range states {
				if usable(s) {
					return nil
				}
			}
			last = fmt.Errorf("no node is up (sinfo node states: %q)", states)
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			return last
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// nodeStates runs sinfo for the compact state of every node.
func nodeStates(ctx context.Context, env []string) ([]string, error) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, "sinfo", "-h", "-N", "-o", "%t")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		if cctx.Err() != nil {
			return nil, errors.New("sinfo got no answer from slurmctld in 5 s")
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			return nil, fmt.Errorf("sinfo: %v: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return nil, fmt.Errorf("sinfo: %v", err)
	}
	return strings.Fields(string(out)), nil
}

// usable reports whether a node in sinfo's compact state s takes jobs now.
// Any suffix ("idle*": not responding, "idle~": powered off, "idle$":
// reserved, ...) means it does not.
func usable(s string) bool {
	switch s {
	case "idle", "mix", "alloc", "comp":
		return true
	}
	return false
}

// unavailable skips tb with err, or fails it when ci (the CI variable)
// says this is a CI run.
func unavailable(tb testing.TB, ci string, err error) {
	tb.Helper()
	if on, _ := strconv.ParseBool(ci); on {
		tb.Fatalf("slurmtest: %v (CI=%s: a CI run must have its Slurm cluster; .ci/run starts it)", err, ci)
		return
	}
	tb.Skipf("slurmtest: %v", err)
}
