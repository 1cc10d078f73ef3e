// Command nbcheck checks the repository's notebooks for scripts/run-notebooks.sh:
//
//	nbcheck clean NOTEBOOK...       committed notebooks: the alignlab kernel, the
//	                                module first cell, no outputs
//	nbcheck outputs NOTEBOOK...     executed notebooks: no error output, no
//	                                panic, fatal error or exit status in a stream
//	nbcheck browser [-screenshot PNG] [-height PX] PAGE.html...
//	                                every chart of the exported page drew in
//	                                headless Chromium
//	nbcheck nojs [-screenshot PNG] PAGE.html...
//	                                with JavaScript disabled, every chart
//	                                position of the page shows a static image
//	nbcheck untrusted -url URL NOTEBOOK.ipynb
//	                                the notebook page at URL (an unsigned copy
//	                                of the executed NOTEBOOK on a running
//	                                classic Jupyter server) shows every chart's
//	                                static image and every Markdown output
//	nbcheck layout [-warn] -url URL the notebook page at URL (a trusted copy)
//	                                has no output wider than the notebook and
//	                                none folded into a scroll box (-warn:
//	                                report only)
//	nbcheck selftest [-dir DIR] [-jupyter URL -jupyter-dir DIR]
//	                                each check passes a good chart and fails
//	                                broken ones (the untrusted check too, given
//	                                a Jupyter server serving -jupyter-dir)
//
// Exit status 0 when every check passes, 1 when one fails, 2 on bad usage.
//
// nbconvert fails a notebook on a compile error, but a Go program that
// panics in a goroutine or exits may leave only text in a stream; and a
// chart can be in the page yet never draw (the library captured by RequireJS,
// a script error, a zero-size element). Hence the output scan, and the real
// browser that counts what each chart drew.
//
// A chart must also read where scripts do not run: in an HTML export viewed
// with JavaScript off, and in a colleague's untrusted copy, whose outputs
// classic Jupyter sanitizes (no scripts, no styles). There each chart
// position must show its static image — an img.alignlab-static whose SVG
// draws at least minDrawnElements things and whose picture in the browser
// is not blank — and each Markdown output its text.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/alignlab/alignlab/plots"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: nbcheck clean|outputs NOTEBOOK... | browser [-screenshot PNG] [-height PX] PAGE.html... |
       nojs [-screenshot PNG] PAGE.html... | untrusted -url URL NOTEBOOK.ipynb | layout [-warn] -url URL |
       selftest [-dir DIR] [-jupyter URL -jupyter-dir DIR]`

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
	case "nojs":
		fs := flag.NewFlagSet("nojs", flag.ContinueOnError)
		fs.SetOutput(stderr)
		shot := fs.String("screenshot", "", "also write a PNG of the (single) page as it shows without JavaScript")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() == 0 || (*shot != "" && fs.NArg() > 1) {
			fmt.Fprintln(stderr, usage)
			return 2
		}
		failed := 0
		for _, page := range fs.Args() {
			res, err := checkStatic(ctx, page, *shot)
			if err != nil {
				fmt.Fprintf(stderr, "nbcheck: %v\n", err)
				failed++
				continue
			}
			if reportStatic(stdout, stderr, page, res) > 0 {
				failed++
			}
		}
		if failed > 0 {
			return 1
		}
		return 0
	case "selftest":
		fs := flag.NewFlagSet("selftest", flag.ContinueOnError)
		fs.SetOutput(stderr)
		dir := fs.String("dir", "", "where to write the fixture pages (default: a temporary dir)")
		jupyterURL := fs.String("jupyter", "", "base URL of a running classic Jupyter server, for the untrusted check's self-test")
		jupyterDir := fs.String("jupyter-dir", "", "the server's notebook dir, where the fixture notebook goes")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 0 || (*jupyterURL == "") != (*jupyterDir == "") {
			fmt.Fprintln(stderr, usage)
			return 2
		}
		code := 0
		if err := selftest(ctx, *dir, stdout); err != nil {
			fmt.Fprintf(stderr, "nbcheck: selftest: %v\n", err)
			code = 1
		}
		if err := selftestStatic(ctx, *dir, stdout); err != nil {
			fmt.Fprintf(stderr, "nbcheck: selftest (JavaScript off): %v\n", err)
			code = 1
		}
		if *jupyterURL != "" {
			if err := selftestUntrusted(ctx, *jupyterURL, *jupyterDir, stdout); err != nil {
				fmt.Fprintf(stderr, "nbcheck: selftest (untrusted copy): %v\n", err)
				code = 1
			}
		}
		return code
	case "untrusted", "layout":
		fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
		fs.SetOutput(stderr)
		url := fs.String("url", "", "the notebook's page on a running Jupyter server")
		warn := fs.Bool("warn", false, "layout: report problems but exit 0")
		if err := fs.Parse(args[1:]); err != nil || *url == "" || (args[0] == "untrusted") != (fs.NArg() == 1) || fs.NArg() > 1 {
			fmt.Fprintln(stderr, usage)
			return 2
		}
		name := strings.TrimSuffix(path.Base(*url), ".ipynb")
		if args[0] == "layout" {
			res, err := checkLayout(ctx, *url)
			if err != nil {
				fmt.Fprintf(stderr, "nbcheck: %v\n", err)
				return 1
			}
			if !reportLayout(stdout, stderr, name, res) && !*warn {
				return 1
			}
			return 0
		}
		nb, err := readNotebook(fs.Arg(0))
		if err != nil {
			fmt.Fprintf(stderr, "nbcheck: %v\n", err)
			return 1
		}
		res, err := checkUntrusted(ctx, *url, nb)
		if err != nil {
			fmt.Fprintf(stderr, "nbcheck: %v\n", err)
			return 1
		}
		if !reportUntrusted(stdout, stderr, name, res) {
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

// selftestDir returns dir, or a fresh temporary directory (removed by done)
// when dir is empty.
func selftestDir(dir string) (string, func(), error) {
	if dir != "" {
		return dir, func() {}, nil
	}
	d, err := os.MkdirTemp("", "nbcheck-selftest-")
	if err != nil {
		return "", nil, err
	}
	return d, func() { os.RemoveAll(d) }, nil
}

// selftest checks the browser check on fixturePage: the good chart must
// pass and both broken ones fail, or the check proves nothing.
func selftest(ctx context.Context, dir string, stdout io.Writer) error {
	dir, done, err := selftestDir(dir)
	if err != nil {
		return err
	}
	defer done()
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

// selftestStatic checks the JavaScript-off check on staticFixturePage: the
// good chart position must show its image and every broken one must not.
func selftestStatic(ctx context.Context, dir string, stdout io.Writer) error {
	dir, done, err := selftestDir(dir)
	if err != nil {
		return err
	}
	defer done()
	page := filepath.Join(dir, "nbcheck-nojs-fixture.html")
	if err := os.WriteFile(page, staticFixturePage(), 0o644); err != nil {
		return err
	}
	res, err := checkStatic(ctx, page, "")
	if err != nil {
		return err
	}
	if err := compareVerdicts(res.Positions, staticFixtureWant); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "nbcheck selftest: the JavaScript-off check passes the good chart and fails the %d broken ones\n", len(staticFixtureWant)-1)
	return nil
}

// compareVerdicts checks that each position shows an image exactly when
// want says so, and that want names every position.
func compareVerdicts(ps []chartPosition, want map[string]bool) error {
	got := map[string]bool{}
	for i := range ps {
		ok, why := ps[i].Shows()
		got[ps[i].ID] = ok
		if w, known := want[ps[i].ID]; known && w != ok {
			return fmt.Errorf("chart %s: shows=%v, want %v (%s)", ps[i].ID, ok, w, why)
		}
	}
	for id := range want {
		if _, ok := got[id]; !ok {
			return fmt.Errorf("chart %s was not found", id)
		}
	}
	if len(got) != len(want) {
		return fmt.Errorf("found %d chart positions, want %d", len(got), len(want))
	}
	return nil
}

// selftestUntrusted writes untrustedFixture into the notebook dir of a
// running Jupyter server (unsigned) and checks that the untrusted check
// faults exactly the cells it must.
func selftestUntrusted(ctx context.Context, baseURL, dir string, stdout io.Writer) error {
	const name = "nbcheck-untrusted-fixture.ipynb"
	file := filepath.Join(dir, name)
	raw := untrustedFixture()
	if err := os.WriteFile(file, raw, 0o644); err != nil {
		return err
	}
	defer os.Remove(file)
	var nb notebook
	if err := json.Unmarshal(raw, &nb); err != nil {
		return err
	}
	res, err := checkUntrusted(ctx, strings.TrimSuffix(baseURL, "/")+"/notebooks/"+name, &nb)
	if err != nil {
		return err
	}
	var bad []int
	for _, p := range res.Problems {
		var cell int
		if _, err := fmt.Sscanf(p, "cell %d:", &cell); err != nil {
			return fmt.Errorf("unexpected problem: %s", p)
		}
		if len(bad) == 0 || bad[len(bad)-1] != cell {
			bad = append(bad, cell)
		}
	}
	if fmt.Sprint(bad) != fmt.Sprint(untrustedFixtureBad) {
		return fmt.Errorf("faulted cells %v, want %v; problems: %q", bad, untrustedFixtureBad, res.Problems)
	}
	if got := [2]int{res.ChartsShown, res.Charts}; got != untrustedFixtureCharts {
		return fmt.Errorf("charts %d/%d, want %d/%d", got[0], got[1], untrustedFixtureCharts[0], untrustedFixtureCharts[1])
	}
	if got := [2]int{res.MarkdownShown, res.Markdown}; got != untrustedFixtureMarkdown {
		return fmt.Errorf("markdown %d/%d, want %d/%d", got[0], got[1], untrustedFixtureMarkdown[0], untrustedFixtureMarkdown[1])
	}
	fmt.Fprintf(stdout, "nbcheck selftest: the untrusted-copy check passes the good chart and Markdown twin and fails the %d broken outputs\n", len(untrustedFixtureBad))
	return nil
}
