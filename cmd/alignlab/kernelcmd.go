package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/alignlab/alignlab/kernel/notebook"
)

const kernelUsageText = `Usage:
  alignlab kernel install   [--user | --prefix DIR | --sys-prefix] [--name NAME] [--bin DIR] [--skip-build] [-v]
  alignlab kernel uninstall [--user | --prefix DIR | --sys-prefix] [--name NAME]

install builds GoNB (the version pinned in go.mod), goimports and gopls into
--bin (default: go env GOBIN, else GOPATH/bin) and installs the Jupyter kernel
NAME (default "alignlab", shown as "Go (alignlab)") whose environment sets
GOTOOLCHAIN, PATH, GOMLX_BACKEND=go and GOEXPERIMENT=simd (the backend's SIMD
kernels, as make builds) when the go on PATH is the fixed go1.27.3 of
scripts/gotoolchain.sh, else the scalar build. Run it inside the repository.
Running it again replaces the earlier install.

Where, as with "jupyter kernelspec install":
  --user          the Jupyter data dir (jupyter --data-dir; JUPYTER_DATA_DIR honoured); the default
  --prefix DIR    DIR/share/jupyter/kernels (Jupyter finds it if JUPYTER_PATH has DIR/share/jupyter)
  --sys-prefix    sys.prefix/share/jupyter/kernels of the Python that runs jupyter
Other flags:
  --skip-build    use gonb, goimports and gopls already in --bin
  -v              show the build and install commands and their output
`

// kernelCmd is "alignlab kernel install|uninstall".
func kernelCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		io.WriteString(stderr, kernelUsageText)
		return exitUsage
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "help", "-h", "-help", "--help":
		io.WriteString(stdout, kernelUsageText)
		return exitOK
	case "install", "uninstall":
	default:
		return usagef(stderr, "kernel: unknown subcommand %q (want install or uninstall)", sub)
	}
	opts, verbose, err := parseKernelArgs(rest)
	if errors.Is(err, errHelp) {
		io.WriteString(stdout, kernelUsageText)
		return exitOK
	}
	if err != nil {
		return usagef(stderr, "kernel %s: %v", sub, err)
	}
	if verbose {
		opts.Log = stderr
	}
	name, display := opts.Name, opts.DisplayName
	if name == "" {
		name = notebook.DefaultKernelName
	}
	if display == "" {
		display = notebook.DefaultKernelDisplayName
	}
	if sub == "uninstall" {
		dir, removed, err := notebook.UninstallKernelspec(opts)
		if err != nil {
			return kernelFailure(stderr, err)
		}
		if removed {
			fmt.Fprintf(stdout, "removed Jupyter kernel %q from %s\n", name, dir)
		} else {
			fmt.Fprintf(stdout, "no Jupyter kernel %q in %s: nothing to remove\n", name, dir)
		}
		return exitOK
	}
	// Refuse early (no Jupyter, bad flags) before a minute of building.
	dest, err := notebook.KernelspecDir(opts)
	if err != nil {
		return kernelFailure(stderr, err)
	}
	if !verbose && !opts.SkipBuild {
		fmt.Fprintf(stderr, "alignlab: building gonb, goimports and gopls (a minute or two the first time), then installing into %s\n", dest)
	}
	dir, err := notebook.InstallKernelspec(opts)
	if err != nil {
		return kernelFailure(stderr, err)
	}
	fmt.Fprintf(stdout, "installed Jupyter kernel %q (%s) in %s\n", name, display, dir)
	return exitOK
}

// kernelFailure reports a failed install in one line (for a missing
// Jupyter, the line says which packages to install).
func kernelFailure(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "alignlab: %s\n", oneLine(err.Error()))
	return exitFailure
}

func parseKernelArgs(args []string) (opts notebook.KernelspecOptions, verbose bool, err error) {
	scopes := 0
	for i := 0; i < len(args); i++ {
		arg := args[i]
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if !strings.HasPrefix(arg, "-") {
			return opts, false, fmt.Errorf("unexpected argument %q", arg)
		}
		needValue := func() (string, error) {
			if hasValue {
				return value, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("flag --%s needs a value", name)
			}
			i++
			return args[i], nil
		}
		switch name {
		case "h", "help":
			return opts, false, errHelp
		case "user":
			opts.Scope, scopes = notebook.ScopeUser, scopes+1
		case "sys-prefix":
			opts.Scope, scopes = notebook.ScopeSysPrefix, scopes+1
		case "prefix":
			if opts.Prefix, err = needValue(); err != nil {
				return opts, false, err
			}
			opts.Scope, scopes = notebook.ScopePrefix, scopes+1
		case "name":
			if opts.Name, err = needValue(); err != nil {
				return opts, false, err
			}
		case "display-name":
			if opts.DisplayName, err = needValue(); err != nil {
				return opts, false, err
			}
		case "bin":
			if opts.BinDir, err = needValue(); err != nil {
				return opts, false, err
			}
		case "skip-build":
			opts.SkipBuild = true
		case "v", "verbose":
			verbose = true
		default:
			return opts, false, fmt.Errorf("unknown flag %q", arg)
		}
	}
	if scopes > 1 {
		return opts, false, errors.New("choose one of --user, --prefix DIR and --sys-prefix")
	}
	return opts, verbose, nil
}
