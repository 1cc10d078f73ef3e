package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/kernel/notebook"
)

func TestParseKernelArgs(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    notebook.KernelspecOptions
		verbose bool
		err     string
	}{
		{args: nil, want: notebook.KernelspecOptions{}},
		{args: []string{"--user", "--name", "lab2"}, want: notebook.KernelspecOptions{Scope: notebook.ScopeUser, Name: "lab2"}},
		{args: []string{"--prefix=/opt/j", "-v"}, want: notebook.KernelspecOptions{Scope: notebook.ScopePrefix, Prefix: "/opt/j"}, verbose: true},
		{args: []string{"--sys-prefix", "--bin", "/b", "--skip-build"}, want: notebook.KernelspecOptions{Scope: notebook.ScopeSysPrefix, BinDir: "/b", SkipBuild: true}},
		{args: []string{"--prefix"}, err: "flag --prefix needs a value"},
		{args: []string{"--user", "--sys-prefix"}, err: "choose one of --user, --prefix DIR and --sys-prefix"},
		{args: []string{"--frob"}, err: `unknown flag "--frob"`},
		{args: []string{"extra"}, err: `unexpected argument "extra"`},
	} {
		got, verbose, err := parseKernelArgs(tc.args)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: got error %v, want %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want || verbose != tc.verbose {
			t.Errorf("%q: got %+v verbose=%v err=%v, want %+v verbose=%v", tc.args, got, verbose, err, tc.want, tc.verbose)
		}
	}
}

func TestKernelCmd(t *testing.T) {
	var out, errb bytes.Buffer
	if code := kernelCmd([]string{"help"}, &out, &errb); code != exitOK || !strings.Contains(out.String(), "alignlab kernel install") {
		t.Errorf("help: got %d, %q", code, out.String())
	}
	errb.Reset()
	if code := kernelCmd([]string{"frob"}, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), `unknown subcommand "frob"`) {
		t.Errorf("frob: got %d, %q", code, errb.String())
	}
	errb.Reset()
	if code := kernelCmd(nil, &out, &errb); code != exitUsage {
		t.Errorf("no subcommand: got %d, want %d", code, exitUsage)
	}

	// Without Jupyter on PATH, install refuses in one line saying what to install.
	t.Setenv("PATH", t.TempDir())
	errb.Reset()
	code := kernelCmd([]string{"install", "--prefix", t.TempDir()}, &out, &errb)
	msg := errb.String()
	if code != exitFailure || strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "jupyter not found") ||
		!strings.Contains(msg, "apt-get install jupyter-notebook jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel") {
		t.Errorf("without jupyter: got %d, %q", code, msg)
	}
}

// TestKernelUninstallNothing removes a kernel that is not there, with a
// stand-in jupyter so that the test needs no Jupyter.
func TestKernelUninstallNothing(t *testing.T) {
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "jupyter"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	prefix := t.TempDir()
	var out, errb bytes.Buffer
	code := kernelCmd([]string{"uninstall", "--prefix", prefix}, &out, &errb)
	want := filepath.Join(prefix, "share", "jupyter", "kernels", "alignlab")
	if code != exitOK || !strings.Contains(out.String(), "nothing to remove") || !strings.Contains(out.String(), want) {
		t.Errorf("got %d, %q, %q; want 0 and nothing to remove in %s", code, out.String(), errb.String(), want)
	}
}
