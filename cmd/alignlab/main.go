// Command alignlab lists, describes and runs the lab's plugins.
//
//	alignlab list
//	alignlab describe ID
//	alignlab run ID [--set key=value]... [--data PATH]... [--seed N] [--out DIR] [--json]
//	alignlab study ID --grid key=v1,v2,... [--seeds 1-5] [--jobs N] --out DIR [--shard i/n] [--executor local|slurm]
//	alignlab study merge DIR
//	alignlab replicate [PAPER...]
//	alignlab kernel install|uninstall
//	alignlab version
//
// Exit status: 0 on success, 2 on bad usage or bad input (unknown command,
// flag, plugin or param, --data files the plugin cannot use, a bad --data
// file), 1 on any other failure, 130 when interrupted. Errors are one line
// on stderr, prefixed "alignlab: ".
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"

	_ "github.com/alignlab/alignlab/algos/all"
	"github.com/alignlab/alignlab/datasets"
	"github.com/alignlab/alignlab/kernel"
)

// Exit statuses.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInterrupted = 130 // 128 + SIGINT, what shells report for Ctrl-C
)

const usageText = `alignlab — a notebook lab for preference learning and alignment

Usage:
  alignlab list                      one line per plugin: ID<TAB>summary
  alignlab describe ID               params (type, default, range), paper, data formats
  alignlab run ID [flags]            run a plugin
  alignlab score ID --model DIR --data FILE
                                     measure a saved model on new data, without training
  alignlab sample ID --model DIR [--x FILE] [--n N]
                                     draw from a saved model (e.g. sb.light's y | x)
  alignlab study ID [flags]          run a plugin over a grid of params × seeds (resumable;
                                     parallel, sharded or on Slurm): "alignlab study --help"
  alignlab study merge DIR           assemble a study from its shards' cells
  alignlab replicate [PAPER...]      re-run paper replications, check each claim's band
  alignlab kernel install|uninstall  install the "alignlab" Jupyter kernel (GoNB)
  alignlab version                   module, Go and backend versions
  alignlab help                      this text

Run flags (before or after ID):
  --set key=value   set a param (repeatable); see "alignlab describe ID"
  --data PATH       input file (repeatable); without it the plugin uses its default data
  --seed N          the seed of every random draw (same as --set seed=N)
  --model DIR       start from a saved model (DIR is an earlier run's OUT/model)
  --out DIR         write DIR/result.json and DIR/report.html, and DIR/model when the plugin trains one
  --json            print the result as JSON on stdout (progress and notes go to stderr)

Environment:
  GOMLX_BACKEND     GoMLX backend: "go" (default, pure Go) or "xla:cpu"/"xla:cuda" in a -tags xla build
  ALIGNLAB_TRACE    if set, a plugin panic or internal error also prints its stack trace

Study flags (see "alignlab study --help"):
  --grid key=v1,v2,...  an axis of the grid (repeatable); k1,k2=a1:b1,a2:b2 zips params
  --seeds 1-5           seeds of every grid point (also 1,3,7 and 1-3,9)
  --jobs N              cells at once (default: the number of CPUs)
  --out DIR             cells cached in DIR/cells/ (a rerun skips them), DIR/study.json, DIR/report.html
  --shard i/n           run only shard i of n into DIR; then "alignlab study merge DIR"
  --executor slurm      run the shards as a Slurm job array (sbatch), wait, merge
  A failed cell is printed on stderr and kept in study.json; the study goes on and
  exits 0 (1 only if every cell failed).

Exit status: 0 ok, 1 run failed, 2 bad usage or bad input, 130 interrupted.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole command: it parses args, writes to stdout and stderr and
// returns the exit status. SIGINT cancels a run in progress; a second SIGINT
// kills the process the usual way.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // restore the default action for a second Ctrl-C
	}()
	return runContext(ctx, args, stdout, stderr)
}

// runContext is run with the context given, so that tests can cancel it.
func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	// A panic in the command itself (plugin panics are already errors from
	// kernel.Run) becomes one line, not a Go stack trace.
	defer func() {
		if r := recover(); r != nil {
			msg, _, _ := strings.Cut(fmt.Sprint(r), "\n")
			fmt.Fprintf(stderr, "alignlab: internal error: %s\n", msg)
			if os.Getenv("ALIGNLAB_TRACE") != "" {
				stderr.Write(debug.Stack())
			}
			code = exitFailure
		}
	}()
	if len(args) == 0 {
		io.WriteString(stderr, usageText)
		return exitUsage
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "help", "-h", "-help", "--help":
		io.WriteString(stdout, usageText)
		return exitOK
	case "list":
		return listCmd(rest, stdout, stderr)
	case "describe":
		return describeCmd(rest, stdout, stderr)
	case "run":
		return runCmd(ctx, rest, stdout, stderr)
	case "score":
		return scoreCmd(ctx, rest, stdout, stderr)
	case "sample":
		return sampleCmd(ctx, rest, stdout, stderr)
	case "kernel":
		return kernelCmd(rest, stdout, stderr)
	case "replicate":
		return replicateCmd(ctx, rest, stdout, stderr)
	case "study":
		return studyCmd(ctx, rest, stdout, stderr)
	case "version", "-version", "--version":
		return versionCmd(rest, stdout, stderr)
	default:
		return usagef(stderr, "unknown command %q (want list, describe, run, score, sample, study, replicate, kernel, version or help)", cmd)
	}
}

// usagef reports bad usage or bad input in one line and returns exitUsage.
func usagef(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "alignlab: %s\n", oneLine(fmt.Sprintf(format, args...)))
	return exitUsage
}

// oneLine keeps an error message to the single line the exit contract promises.
func oneLine(s string) string {
	s = strings.TrimRight(s, "\n")
	return strings.ReplaceAll(s, "\n", " ")
}

func listCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		return usagef(stderr, "list takes no arguments, got %q", args[0])
	}
	for _, id := range kernel.IDs() {
		p, err := kernel.Lookup(id)
		if err != nil {
			continue // unregistered between IDs and Lookup: only tests do that
		}
		fmt.Fprintf(stdout, "%s\t%s\n", id, p.Info().Summary)
	}
	return exitOK
}

func describeCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		return usagef(stderr, "describe wants one plugin ID (see alignlab list)")
	}
	text, err := kernel.Describe(args[0])
	if err != nil {
		return reportError(stderr, err)
	}
	io.WriteString(stdout, text)
	return exitOK
}

func versionCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		return usagef(stderr, "version takes no arguments, got %q", args[0])
	}
	version := "(devel)"
	var deps []string
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, d := range bi.Deps {
			switch d.Path {
			case "github.com/gomlx/gomlx", "github.com/gomlx/compute", "github.com/janpfeifer/gonb",
				"github.com/go-echarts/go-echarts/v2", "gonum.org/v1/gonum":
				deps = append(deps, d.Path+" "+d.Version)
			}
		}
	}
	fmt.Fprintf(stdout, "alignlab %s\n", version)
	fmt.Fprintf(stdout, "go %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(stdout, "backend %s (%s)\n", kernel.Backend(), backendSource())
	for _, d := range deps {
		fmt.Fprintf(stdout, "dep %s\n", d)
	}
	return exitOK
}

func backendSource() string {
	if strings.TrimSpace(os.Getenv(kernel.BackendEnv)) != "" {
		return "from " + kernel.BackendEnv
	}
	return "default; set " + kernel.BackendEnv + " to change"
}

// reportError prints err in one line and returns its exit status: 2 for
// what the user can fix in the command line or the input file, 130 for an
// interruption, 1 for the rest.
func reportError(stderr io.Writer, err error) int {
	var (
		unknown *kernel.UnknownPluginError
		perr    *kernel.ParamError
		uerr    *kernel.DataUsageError
		derr    *datasets.Error
		merr    *kernel.ModelUsageError
		panicE  *kernel.PanicError
	)
	switch {
	case errors.As(err, &unknown):
		known := "none"
		if len(unknown.Known) > 0 {
			known = strings.Join(unknown.Known, ", ")
		}
		return usagef(stderr, "unknown plugin %q (known: %s)", unknown.ID, known)
	case errors.As(err, &perr):
		return usagef(stderr, "%s", perr.Error())
	case errors.As(err, &uerr):
		return usagef(stderr, "%s", uerr.Error())
	case errors.As(err, &derr):
		return usagef(stderr, "%s", derr.Error())
	case errors.As(err, &merr):
		return usagef(stderr, "%s", merr.Error())
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "alignlab: interrupted")
		return exitInterrupted
	case errors.As(err, &panicE):
		fmt.Fprintf(stderr, "alignlab: %s\n", oneLine(panicE.Error()))
		if os.Getenv("ALIGNLAB_TRACE") != "" {
			io.WriteString(stderr, panicE.Stack)
		}
		return exitFailure
	}
	fmt.Fprintf(stderr, "alignlab: %s\n", oneLine(err.Error()))
	return exitFailure
}
