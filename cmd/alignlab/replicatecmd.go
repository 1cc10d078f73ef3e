package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/alignlab/alignlab/kernel"
	"github.com/alignlab/alignlab/replicate"
)

func replicateUsageText() string {
	return `Usage: alignlab replicate [PAPER...] [--quick] [--out DIR] [--seed N]

Re-runs each paper's replication (every paper when none is named) and prints
a scorecard: per claim our measurement, the band it must fall in, the paper's
value and a status. "reproduced": the paper's claim holds here. "known
difference": the paper's result does not hold on this testbed; the reason is
printed and the band checks our own stable behaviour. "FAILED": the
measurement left its band (a regression). The last line counts them:
"N reproduced, K known differences, F failed".

Papers: ` + strings.Join(replicate.Names(), ", ") + `

  --quick      a reduced replication, for CI (all papers in well under a minute)
  --out DIR    write DIR/replication.json and DIR/report.html (with the charts)
  --seed N     the seed of every random draw (default 1)

Exit status: 0 every claim is reproduced or a known difference, 1 a claim
failed or a replication could not run, 2 bad usage, 130 interrupted (nothing
is written).
`
}

// replicateArgs are the parsed arguments of "alignlab replicate".
type replicateArgs struct {
	papers []string
	quick  bool
	out    string
	seed   int64
}

func parseReplicateArgs(args []string) (*replicateArgs, error) {
	ra := &replicateArgs{seed: kernel.DefaultSeed}
	seedSet := false
	var err error
	s := &flagScanner{args: args}
	for s.scan() {
		if !s.isFlag {
			ra.papers = append(ra.papers, s.arg)
			continue
		}
		switch s.name {
		case "h", "help":
			return nil, errHelp
		case "quick":
			if ra.quick, err = s.boolValue(); err != nil {
				return nil, err
			}
		case "out":
			if ra.out, err = s.needNonEmpty("a directory"); err != nil {
				return nil, err
			}
		case "seed":
			value, err := s.needValue()
			if err != nil {
				return nil, err
			}
			if seedSet {
				return nil, errors.New("--seed given twice")
			}
			seedSet = true
			n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
			if err != nil || n < 0 || n > 1<<53 {
				return nil, fmt.Errorf("--seed %q: want an integer in [0, 9007199254740992]", value)
			}
			ra.seed = n
		default:
			return nil, s.unknown("replicate", "--quick, --out or --seed")
		}
	}
	return ra, nil
}

func replicateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	ra, err := parseReplicateArgs(args)
	if errors.Is(err, errHelp) {
		io.WriteString(stdout, replicateUsageText())
		return exitOK
	}
	if err != nil {
		return usagef(stderr, "%v", err)
	}
	if st, err := os.Stat(ra.out); ra.out != "" && err == nil && !st.IsDir() {
		return usagef(stderr, "--out %s: not a directory", ra.out)
	}
	progress := func(paper string, done bool, pr *replicate.PaperReport) {
		switch {
		case !done:
			fmt.Fprintf(stderr, "alignlab: replicate: %s …\n", paper)
		case pr.Err != nil:
			fmt.Fprintf(stderr, "alignlab: replicate: %s: did not run (%.1f s)\n", paper, pr.Seconds)
		default:
			var reproduced, known, failed int
			for _, c := range pr.Claims {
				switch c.Status {
				case replicate.StatusReproduced:
					reproduced++
				case replicate.StatusKnownDifference:
					known++
				default:
					failed++
				}
			}
			kd := "known differences"
			if known == 1 {
				kd = "known difference"
			}
			fmt.Fprintf(stderr, "alignlab: replicate: %s: %d reproduced, %d %s, %d failed (%.1f s)\n",
				paper, reproduced, known, kd, failed, pr.Seconds)
		}
	}
	rep, err := replicate.Replicate(ctx, ra.papers, replicate.Options{Quick: ra.quick, Seed: ra.seed, Progress: progress})
	if err == nil && ctx.Err() != nil {
		err = ctx.Err() // interrupted after the last paper: write nothing
	}
	var unknown *replicate.UnknownPaperError
	if errors.As(err, &unknown) { // found before anything ran
		return usagef(stderr, "unknown paper %q (known: %s)", unknown.Name, strings.Join(unknown.Known, ", "))
	}
	if err != nil {
		return reportError(stderr, err)
	}
	rep.WriteTable(stdout)
	if ra.out != "" {
		if err := writeReplication(ra.out, rep); err != nil {
			fmt.Fprintf(stderr, "alignlab: %s\n", oneLine(err.Error()))
			return exitFailure
		}
		fmt.Fprintf(stderr, "alignlab: wrote %s and %s\n",
			filepath.Join(ra.out, "replication.json"), filepath.Join(ra.out, "report.html"))
	}
	if !rep.Pass() {
		return exitFailure
	}
	return exitOK
}

// writeReplication renders both files before writing either, and lands each
// by rename (writeFileAtomic), so a reader never sees a partial file.
func writeReplication(dir string, rep *replicate.Report) error {
	js, err := rep.JSON()
	if err != nil {
		return fmt.Errorf("encoding replication: %w", err)
	}
	html, err := rep.HTML()
	if err != nil {
		return fmt.Errorf("rendering report: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, "replication.json"), js); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, "report.html"), html)
}
