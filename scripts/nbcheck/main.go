// Command nbcheck checks the repository's notebooks for scripts/run-notebooks.sh:
//
//	nbcheck clean NOTEBOOK...       committed notebooks: the alignlab kernel, the
//	                                module first cell, no outputs
//	nbcheck outputs NOTEBOOK...     executed notebooks: no error output, no
//	                                panic, fatal error or exit status in a stream
//	nbcheck browser [-screenshot PNG] [-height PX] PAGE.html...
//	                                every chart of the exported page drew in
//	                                headless Chromium
//	nbcheck selftest [-dir DIR]     the browser check passes a good chart and
//	                                fails broken ones
//
// Exit status 0 when every check passes, 1 when one fails, 2 on bad usage.
//
// nbconvert fails a notebook on a compile error, but a Go program that
// panics in a goroutine or exits may leave only text in a stream; and a
// chart can be in the page yet never draw (the library captured by RequireJS,
// a script error, a zero-size element). Hence the output scan, and the real
// browser that counts what each chart drew.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/alignlab/alignlab/plots"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: nbcheck clean|outputs NOTEBOOK... | browser [-screenshot PNG] [-height PX] PAGE.html... | selftest [-dir DIR]`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	ctx := context.Background()
	switch args[0] {
	case "clean", "outputs":
		if len(args) < 2 {
			fmt.Fprintln(stderr, usage)
			return 2
		}
		failed := 0
		for _, path := range args[1:] {
			nb, err := readNotebook(path)
			if err != nil {
				fmt.Fprintf(stderr, "nbcheck: %v\n", err)
				failed++
				continue
			}
			probs := outputProblems(nb)
			if args[0] == "clean" {
				probs = cleanProblems(nb)
			}
			for _, p := range probs {
				fmt.Fprintf(stderr, "nbcheck: %s: %s\n", path, p)
			}
			if len(probs) > 0 {
				failed++
			}
		}
		if failed > 0 {
			return 1
		}
		return 0
	case "browser":
		fs := flag.NewFlagSet("browser", flag.ContinueOnError)
		fs.SetOutput(stderr)
		shot := fs.String("screenshot", "", "also write a PNG of the (single) page")
		height := fs.Int("height", 0, "screenshot height in pixels (0: the page's height, at most 16000)")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() == 0 || (*shot != "" && fs.NArg() > 1) {
			fmt.Fprintln(stderr, usage)
			return 2
		}
		failed := 0
		for _, page := range fs.Args() {
			res, err := checkPage(ctx, page)
			if err != nil {
				fmt.Fprintf(stderr, "nbcheck: %v\n", err)
				failed++
				continue
			}
			if bad := report(stdout, stderr, page, res); bad > 0 {
				failed++
			}
			if *shot != "" {
				h := *height
				if h <= 0 {
					h = min(max(res.Height+40, 800), 16000)
				}
				if err := screenshot(ctx, page, *shot, h); err != nil {
					fmt.Fprintf(stderr, "nbcheck: screenshot of %s: %v\n", page, err)
					failed++
				} else {
					fmt.Fprintf(stdout, "%s: screenshot %s (1280x%d)\n", page, *shot, h)
				}
			}
		}
		if failed > 0 {
			return 1
		}
		return 0
	case "selftest":
		fs := flag.NewFlagSet("selftest", flag.ContinueOnError)
		fs.SetOutput(stderr)
		dir := fs.String("dir", "", "where to write the fixture page (default: a temporary dir)")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 0 {
			fmt.Fprintln(stderr, usage)
			return 2
		}
		if err := selftest(ctx, *dir, stdout); err != nil {
			fmt.Fprintf(stderr, "nbcheck: selftest: %v\n", err)
			return 1
		}
		return 0
	}
	fmt.Fprintln(stderr, usage)
	return 2
}

// report prints one line per page and one per chart that did not draw, and
// returns the number of those.
func report(stdout, stderr io.Writer, page string, res *probeResult) int {
	bad := 0
	for _, c := range res.Charts {
		if !c.Drew() {
			bad++
			fmt.Fprintf(stderr, "nbcheck: %s: chart %s did not draw: %s\n", page, c.ID, c.Why())
		}
	}
	if res.Unnamed > 0 {
		fmt.Fprintf(stderr, "nbcheck: %s: %d ECharts instances have no element ID and were not checked\n", page, res.Unnamed)
	}
	if bad > 0 {
		for _, e := range res.Errors {
			fmt.Fprintf(stderr, "nbcheck: %s: script error: %s\n", page, e)
		}
	}
	fmt.Fprintf(stdout, "%s: %d/%d charts drew\n", page, len(res.Charts)-bad, len(res.Charts))
	return bad
}

// Fixture chart IDs: one that draws and two broken the ways charts break in
// notebooks.
const (
	fixtureGood   = "nbcheck_good"
	fixtureNoLib  = "nbcheck_broken_nolib"  // its script runs before the library exists
	fixtureHidden = "nbcheck_broken_hidden" // its element has no size
)

// fixturePage is an offline page with a good chart and two broken ones.
func fixturePage() []byte {
	series := []plots.Series{{Name: "loss", X: []float64{1, 2, 3, 4}, Y: []float64{1, 0.5, 0.3, 0.25}}}
	good := plots.Line(fixtureGood, "good", series, plots.Axes{XLabel: "step"})
	noLib := plots.Line(fixtureNoLib, "no library", series, plots.Axes{})
	hidden := plots.Line(fixtureHidden, "hidden", series, plots.Axes{})
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>nbcheck fixture</title></head>\n<body>\n")
	b.WriteString(noLib.Snippet())
	b.WriteString(plots.Script())
	b.WriteString(good.Snippet())
	b.WriteString("<div style=\"display:none\">\n" + hidden.Snippet() + "</div>\n")
	b.WriteString("</body>\n</html>\n")
	return []byte(b.String())
}

// selftest checks the browser check on fixturePage: the good chart must
// pass and both broken ones fail, or the check proves nothing.
func selftest(ctx context.Context, dir string, stdout io.Writer) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "nbcheck-selftest-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	page := filepath.Join(dir, "nbcheck-fixture.html")
	if err := os.WriteFile(page, fixturePage(), 0o644); err != nil {
		return err
	}
	res, err := checkPage(ctx, page)
	if err != nil {
		return err
	}
	want := map[string]bool{fixtureGood: true, fixtureNoLib: false, fixtureHidden: false}
	got := map[string]bool{}
	for _, c := range res.Charts {
		got[c.ID] = c.Drew()
	}
	for id, drew := range want {
		g, ok := got[id]
		switch {
		case !ok:
			return fmt.Errorf("chart %s was not probed", id)
		case g != drew:
			return fmt.Errorf("chart %s: drew=%v, want %v", id, g, drew)
		}
	}
	if len(got) != len(want) {
		return fmt.Errorf("probed %d charts, want %d", len(got), len(want))
	}
	fmt.Fprintf(stdout, "nbcheck selftest: the browser check passes the good chart and fails the 2 broken ones\n")
	return nil
}
