package replicate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alignlab/alignlab/kernel"
	"github.com/alignlab/alignlab/kernel/report"
	"github.com/alignlab/alignlab/plots"
)

// Band is the interval a measured number must fall in. An infinite end is
// open; LowOpen and HighOpen make a finite end strict.
type Band struct {
	Low, High         float64
	LowOpen, HighOpen bool
}

// AtMost is the band (−∞, x].
func AtMost(x float64) Band { return Band{Low: math.Inf(-1), High: x} }

// AtLeast is the band [x, ∞).
func AtLeast(x float64) Band { return Band{Low: x, High: math.Inf(1)} }

// Above is the band (x, ∞).
func Above(x float64) Band { return Band{Low: x, High: math.Inf(1), LowOpen: true} }

// Within is the closed band [lo, hi].
func Within(lo, hi float64) Band { return Band{Low: lo, High: hi} }

// Contains reports whether v is in b. NaN never is.
func (b Band) Contains(v float64) bool {
	if math.IsNaN(v) {
		return false
	}
	if v < b.Low || (b.LowOpen && v == b.Low) {
		return false
	}
	if v > b.High || (b.HighOpen && v == b.High) {
		return false
	}
	return true
}

// String writes b as a reader expects it: "≤ 0.05", "> 1", "[0.9, 0.97]".
func (b Band) String() string {
	lo, hi := !math.IsInf(b.Low, -1), !math.IsInf(b.High, 1)
	switch {
	case lo && hi && b.Low == b.High && !b.LowOpen && !b.HighOpen:
		return "= " + fmtNum(b.Low)
	case lo && hi:
		l, r := "[", "]"
		if b.LowOpen {
			l = "("
		}
		if b.HighOpen {
			r = ")"
		}
		return l + fmtNum(b.Low) + ", " + fmtNum(b.High) + r
	case lo:
		if b.LowOpen {
			return "> " + fmtNum(b.Low)
		}
		return "≥ " + fmtNum(b.Low)
	case hi:
		if b.HighOpen {
			return "< " + fmtNum(b.High)
		}
		return "≤ " + fmtNum(b.High)
	}
	return "any"
}

// fmtNum writes a number to 4 significant digits, the precision of every
// band and measurement in the table.
func fmtNum(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

// Status is a claim's verdict.
type Status string

const (
	// StatusReproduced: the paper's claim holds here; Measured is in the
	// band derived from it.
	StatusReproduced Status = "reproduced"
	// StatusKnownDifference: the paper's claim does not hold on this
	// testbed, for the reason in Claim.Why; the band checks this testbed's
	// own stable behaviour, so a regression still fails.
	StatusKnownDifference Status = "known difference"
	// StatusFailed: Measured left its band, a regression.
	StatusFailed Status = "failed"
)

// Claim is one headline number of a paper, measured and checked against a
// band, beside what the paper reports.
type Claim struct {
	Paper    string  // the replication's name ("bt"); filled in by Replicate
	Name     string  // stable key, snake_case: "recovery_rmse"
	Text     string  // the claim in a few words, for the table
	Measured float64 // what this run measured
	Band     Band    // where Measured must fall
	Source   string  // where the band comes from: the paper's table, a theorem, a derivation

	// The paper's own value: PaperValue when HasPaperValue, else PaperText
	// (a qualitative result, "between DPO and TDPO2"), else nothing stated.
	// PaperText may also qualify a number ("Table 2, HH-RLHF").
	PaperValue    float64
	HasPaperValue bool
	PaperText     string

	Why    string // for a known difference: why the paper's result does not hold here
	Status Status
}

// Check returns a claim the paper makes and this testbed reproduces: its
// Status is StatusReproduced when measured is in band, else StatusFailed.
func Check(name, text string, measured float64, band Band, source string) Claim {
	c := Claim{Name: name, Text: text, Measured: measured, Band: band, Source: source, Status: StatusReproduced}
	if !band.Contains(measured) {
		c.Status = StatusFailed
	}
	return c
}

// KnownDifference returns a claim where the paper's result does not hold on
// this testbed. why says why (it must not be empty); band checks what this
// testbed stably shows instead, so Status is StatusKnownDifference when
// measured is in band and StatusFailed when it is not.
func KnownDifference(name, text string, measured float64, band Band, source, why string) Claim {
	c := Check(name, text, measured, band, source)
	c.Why = strings.TrimSpace(why)
	if c.Why == "" {
		c.Why = "replicate: KnownDifference " + strconv.Quote(name) + " was given no reason"
		c.Status = StatusFailed
		return c
	}
	if c.Status == StatusReproduced {
		c.Status = StatusKnownDifference
	}
	return c
}

// WithPaper returns c with the paper's value v; note, if not empty,
// qualifies it ("Table 2, HH-RLHF").
func (c Claim) WithPaper(v float64, note string) Claim {
	c.PaperValue, c.HasPaperValue, c.PaperText = v, true, note
	return c
}

// WithPaperText returns c with the paper's result as text, for a claim
// whose paper gives no single number.
func (c Claim) WithPaperText(text string) Claim {
	c.PaperValue, c.HasPaperValue, c.PaperText = 0, false, text
	return c
}

// Failed reports whether the claim's measurement left its band.
func (c Claim) Failed() bool {
	return c.Status != StatusReproduced && c.Status != StatusKnownDifference
}

// PaperString writes the paper's value for the table: the number, the
// text, both ("0.94 (Table 2)"), or "—" when the paper states none.
func (c Claim) PaperString() string {
	switch {
	case c.HasPaperValue && c.PaperText != "":
		return fmtNum(c.PaperValue) + " (" + c.PaperText + ")"
	case c.HasPaperValue:
		return fmtNum(c.PaperValue)
	case c.PaperText != "":
		return c.PaperText
	}
	return "—"
}

// MarshalJSON writes the band's ends as numbers (null when infinite) next
// to its text, the paper's value (paper_value null when the paper states no
// number), the status and, for a known difference, the reason; a
// non-finite measurement is written as a string.
func (c Claim) MarshalJSON() ([]byte, error) {
	end := func(v float64) any {
		if math.IsInf(v, 0) {
			return nil
		}
		return v
	}
	var paperValue any
	if c.HasPaperValue {
		paperValue = jsonNumber(c.PaperValue)
	}
	return marshalPlain(struct {
		Paper      string `json:"paper"`
		Name       string `json:"name"`
		Text       string `json:"claim"`
		Measured   any    `json:"measured"`
		PaperValue any    `json:"paper_value"`
		PaperText  string `json:"paper_text,omitempty"`
		Status     Status `json:"status"`
		Why        string `json:"why,omitempty"`
		Expected   string `json:"expected"`
		Low        any    `json:"low"`
		High       any    `json:"high"`
		LowOpen    bool   `json:"low_open,omitempty"`
		HighOpen   bool   `json:"high_open,omitempty"`
		Source     string `json:"source"`
	}{c.Paper, c.Name, c.Text, jsonNumber(c.Measured), paperValue, c.PaperText, c.Status, c.Why,
		c.Band.String(), end(c.Band.Low), end(c.Band.High), c.Band.LowOpen, c.Band.HighOpen, c.Source})
}

// marshalPlain encodes v without escaping <, > and & (bands read "≥ 0.9",
// not "\u003e").
func marshalPlain(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// jsonNumber maps a non-finite float to its name, which JSON can hold.
func jsonNumber(v float64) any {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return v
}

// Paper is one replication. Run does the runs of the paper's notebook (a
// reduced version when quick) with every random draw derived from seed, and
// returns its claims and the results worth showing in the report. It must
// stop soon after ctx is done and return ctx's error.
type Paper struct {
	Name  string // lowercase command-line name: "bt", "rdpo", "nash"
	Title string // the paper(s), one line
	Run   func(ctx context.Context, quick bool, seed int64) ([]Claim, []*kernel.Result, error)
}

var registry = kernel.NewRegistry[Paper]("paper")

// Register adds a paper. It panics on an empty or duplicate name or a nil Run.
func Register(p Paper) {
	if p.Name == "" || p.Name != strings.ToLower(p.Name) || strings.ContainsAny(p.Name, " \t\n") || p.Run == nil {
		panic(fmt.Sprintf("replicate: Register: want a lowercase name and a Run function, got %q", p.Name))
	}
	registry.Add(p.Name, p)
}

// Names returns the registered papers' names, sorted.
func Names() []string { return registry.Names() }

// UnknownPaperError is returned for a name nobody registered.
type UnknownPaperError struct {
	Name  string
	Known []string
}

func (e *UnknownPaperError) Error() string {
	return fmt.Sprintf("replicate: unknown paper %q (known: %s)", e.Name, strings.Join(e.Known, ", "))
}

// Lookup returns the paper registered under name.
func Lookup(name string) (Paper, error) {
	p, ok := registry.Get(name)
	if !ok {
		return Paper{}, &UnknownPaperError{Name: name, Known: Names()}
	}
	return p, nil
}

// Options are the settings of one replication.
type Options struct {
	Quick bool
	Seed  int64
	// Progress, if set, is called before each paper (done false) and after it
	// (done true, with its report).
	Progress func(paper string, done bool, rep *PaperReport)
}

// PaperReport is the outcome of one paper's replication.
type PaperReport struct {
	Name, Title string
	Claims      []Claim
	Results     []*kernel.Result
	Err         error // the replication could not run; its claims are missing
	Seconds     float64
}

// Report is the outcome of a replication of one or more papers.
type Report struct {
	Seed    int64
	Quick   bool
	Started time.Time
	Seconds float64
	Papers  []*PaperReport
}

// Replicate runs the named papers (all registered ones when names is
// empty), in order, and returns the report. Claims that fail do not stop
// it, nor does a paper that fails to run (its PaperReport.Err is set). It
// returns an *UnknownPaperError before running anything if a name is
// unknown, and ctx's error, with no report, when ctx is done.
func Replicate(ctx context.Context, names []string, opts Options) (*Report, error) {
	if len(names) == 0 {
		names = Names()
	}
	papers := make([]Paper, 0, len(names))
	seen := map[string]bool{}
	for _, n := range names {
		p, err := Lookup(n)
		if err != nil {
			return nil, err
		}
		if !seen[n] {
			seen[n] = true
			papers = append(papers, p)
		}
	}
	rep := &Report{Seed: opts.Seed, Quick: opts.Quick, Started: time.Now()}
	for _, p := range papers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if opts.Progress != nil {
			opts.Progress(p.Name, false, nil)
		}
		start := time.Now()
		pr := &PaperReport{Name: p.Name, Title: p.Title}
		claims, results, err := runPaper(ctx, p, opts)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		pr.Seconds = time.Since(start).Seconds()
		if err != nil {
			pr.Err = err
		} else {
			for i := range claims {
				claims[i].Paper = p.Name
			}
			pr.Claims, pr.Results = claims, results
		}
		rep.Papers = append(rep.Papers, pr)
		if opts.Progress != nil {
			opts.Progress(p.Name, true, pr)
		}
	}
	rep.Seconds = time.Since(rep.Started).Seconds()
	return rep, nil
}

// runPaper calls the paper's Run, turning a panic into an error: one broken
// replication must not hide the others' results.
func runPaper(ctx context.Context, p Paper, opts Options) (claims []Claim, results []*kernel.Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			msg, _, _ := strings.Cut(fmt.Sprint(r), "\n")
			err = fmt.Errorf("replicate: %s: panic: %s", p.Name, msg)
		}
	}()
	claims, results, err = p.Run(ctx, opts.Quick, opts.Seed)
	if err == nil && len(claims) == 0 {
		err = fmt.Errorf("replicate: %s: the replication checked no claim", p.Name)
	}
	return claims, results, err
}

// Claims returns every claim of the report, in paper order.
func (r *Report) Claims() []Claim {
	var out []Claim
	for _, p := range r.Papers {
		out = append(out, p.Claims...)
	}
	return out
}

// Counts returns how many claims were reproduced, are known differences,
// and failed (left their band).
func (r *Report) Counts() (reproduced, known, failed int) {
	for _, c := range r.Claims() {
		switch c.Status {
		case StatusReproduced:
			reproduced++
		case StatusKnownDifference:
			known++
		default:
			failed++
		}
	}
	return reproduced, known, failed
}

// NotRun counts the papers whose replication could not run.
func (r *Report) NotRun() int {
	n := 0
	for _, p := range r.Papers {
		if p.Err != nil {
			n++
		}
	}
	return n
}

// Failures counts the claims that failed and the papers that did not run.
// Known differences are not failures: their bands check this testbed's
// own behaviour and they held.
func (r *Report) Failures() int {
	_, _, failed := r.Counts()
	return failed + r.NotRun()
}

// Pass reports whether every paper ran and no claim failed: every claim is
// reproduced or a known difference.
func (r *Report) Pass() bool { return r.Failures() == 0 }

// Summary is the verdict in one line: "12 reproduced, 3 known differences,
// 0 failed", then "; 1 paper(s) did not run" when one did not.
func (r *Report) Summary() string {
	rep, known, failed := r.Counts()
	kd := "known differences"
	if known == 1 {
		kd = "known difference"
	}
	s := fmt.Sprintf("%d reproduced, %d %s, %d failed", rep, known, kd, failed)
	if n := r.NotRun(); n > 0 {
		s += fmt.Sprintf("; %d paper(s) did not run", n)
	}
	return s
}

func (r *Report) mode() string {
	if r.Quick {
		return "quick"
	}
	return "full"
}

// WriteTable prints the claims as a table (paper, claim, ours, band,
// paper's value, status), a line per paper that failed to run, the reason
// for each known difference, and the summary line.
func (r *Report) WriteTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "paper\tclaim\tours\tband\tpaper's\tstatus")
	for _, p := range r.Papers {
		if p.Err != nil {
			fmt.Fprintf(tw, "%s\t(did not run)\t\t\t\tERROR\n", p.Name)
		}
		for _, c := range p.Claims {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Paper, c.Text, fmtNum(c.Measured), c.Band, c.PaperString(), statusWord(c.Status))
		}
	}
	tw.Flush()
	for _, p := range r.Papers {
		if p.Err != nil {
			fmt.Fprintf(w, "%s: %s\n", p.Name, oneLine(p.Err.Error()))
		}
	}
	first := true
	for _, c := range r.Claims() {
		if c.Why == "" {
			continue
		}
		if first {
			fmt.Fprintln(w, "known differences (the paper's result does not hold here; the band checks ours):")
			first = false
		}
		mark := ""
		if c.Failed() {
			mark = " (FAILED: left its band)"
		}
		fmt.Fprintf(w, "  %s/%s%s: %s\n", c.Paper, c.Name, mark, oneLine(c.Why))
	}
	fmt.Fprintf(w, "%s (%s, seed %d, %.1f s)\n", r.Summary(), r.mode(), r.Seed, r.Seconds)
}

// statusWord is the status as the table shows it: a failure in capitals.
func statusWord(s Status) string {
	switch s {
	case StatusReproduced, StatusKnownDifference:
		return string(s)
	}
	return "FAILED"
}

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", " ") }

// resultSummary is what replication.json keeps of a result: what produced
// it and its final numbers. The series, tables and charts are in the
// report; rerunning the plugin with these params and seed gives them back.
type resultSummary struct {
	Plugin     string            `json:"plugin"`
	Seed       int64             `json:"seed"`
	Backend    string            `json:"backend"`
	Params     map[string]any    `json:"params"`
	Provenance kernel.Provenance `json:"provenance"`
	Final      map[string]any    `json:"final"`
	Notes      []string          `json:"notes,omitempty"`
}

// JSON encodes the report (replication.json): the settings, the verdict
// and its counts, every claim with ours, the paper's value, the status
// (and why, for a known difference), its band and source, and a summary of
// every result.
func (r *Report) JSON() ([]byte, error) {
	type paperJSON struct {
		Name    string          `json:"name"`
		Title   string          `json:"title"`
		Error   string          `json:"error,omitempty"`
		Seconds float64         `json:"seconds"`
		Claims  []Claim         `json:"claims"`
		Results []resultSummary `json:"results"`
	}
	out := struct {
		Seed     int64       `json:"seed"`
		Quick    bool        `json:"quick"`
		Pass     bool        `json:"pass"`
		Summary  string      `json:"summary"`
		Claims   int         `json:"claims"`
		Repro    int         `json:"reproduced"`
		Known    int         `json:"known_differences"`
		Failed   int         `json:"failed"`
		NotRun   int         `json:"papers_not_run"`
		Failures int         `json:"failures"`
		Started  string      `json:"started"`
		Seconds  float64     `json:"seconds"`
		Papers   []paperJSON `json:"papers"`
	}{Seed: r.Seed, Quick: r.Quick, Pass: r.Pass(), Summary: r.Summary(), Claims: len(r.Claims()),
		NotRun: r.NotRun(), Failures: r.Failures(),
		Started: r.Started.UTC().Format(time.RFC3339), Seconds: r.Seconds}
	out.Repro, out.Known, out.Failed = r.Counts()
	for _, p := range r.Papers {
		pj := paperJSON{Name: p.Name, Title: p.Title, Seconds: p.Seconds, Claims: p.Claims, Results: []resultSummary{}}
		if pj.Claims == nil {
			pj.Claims = []Claim{}
		}
		if p.Err != nil {
			pj.Error = oneLine(p.Err.Error())
		}
		for _, res := range p.Results {
			final := make(map[string]any, len(res.Final))
			for k, v := range res.Final {
				final[k] = jsonNumber(v)
			}
			pj.Results = append(pj.Results, resultSummary{Plugin: res.Plugin, Seed: res.Seed, Backend: res.Backend,
				Params: res.Params, Provenance: res.Provenance, Final: final, Notes: res.Notes})
		}
		out.Papers = append(out.Papers, pj)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// HTML renders the report as one offline page: the verdict, the claims
// table, then per paper its claims with their sources, the results' final
// metrics and every chart the results declare.
func (r *Report) HTML() ([]byte, error) {
	esc := html.EscapeString
	var b strings.Builder
	fmt.Fprintf(&b, "<p><b>%s</b>", esc(r.Summary()))
	fmt.Fprintf(&b, " — %s replication, seed %d, started %s, %.1f s.</p>\n", r.mode(), r.Seed,
		esc(r.Started.UTC().Format(time.RFC3339)), r.Seconds)
	b.WriteString(claimsHTML(r.Claims(), true))
	for pi, p := range r.Papers {
		fmt.Fprintf(&b, "<h2>%s — %s</h2>\n", esc(p.Name), esc(p.Title))
		if p.Err != nil {
			fmt.Fprintf(&b, "<p style=\"color:#b00\">did not run: %s</p>\n", esc(oneLine(p.Err.Error())))
			continue
		}
		fmt.Fprintf(&b, "<p>%.1f s.</p>\n", p.Seconds)
		b.WriteString(claimsHTML(p.Claims, false))
		for ri, res := range p.Results {
			fmt.Fprintf(&b, "<h3>%s (seed %d)</h3>\n", esc(res.Plugin), res.Seed)
			if len(res.Final) > 0 {
				t := kernel.NewTable("metric", "value")
				for _, k := range sortedKeys(res.Final) {
					t.Add(k, res.Final[k])
				}
				b.WriteString(report.TableHTML(t))
			}
			charts, err := report.ChartsWithPrefix(res, fmt.Sprintf("p%d_r%d", pi, ri))
			if err != nil {
				return nil, fmt.Errorf("replicate: %s: %w", p.Name, err)
			}
			for _, c := range charts {
				b.WriteString(c.Snippet())
			}
		}
	}
	return plots.Page("alignlab replication", b.String()), nil
}

// claimsHTML renders claims as a table: ours, the band, the paper's value,
// the status and, for a known difference, why. withPaper adds the paper
// column; without it the band's source is shown instead.
func claimsHTML(claims []Claim, withPaper bool) string {
	esc := html.EscapeString
	var b strings.Builder
	b.WriteString("<table class=\"alignlab-table\">\n<thead><tr>")
	if withPaper {
		b.WriteString("<th>paper</th>")
	}
	b.WriteString("<th>claim</th><th>ours</th><th>band</th><th>paper's</th><th>status</th><th>why it differs</th>")
	if !withPaper {
		b.WriteString("<th>source of the band</th>")
	}
	b.WriteString("</tr></thead>\n<tbody>\n")
	for _, c := range claims {
		style := `color:#070`
		switch c.Status {
		case StatusKnownDifference:
			style = `color:#a60`
		case StatusReproduced:
		default:
			style = `color:#b00;font-weight:bold`
		}
		b.WriteString("<tr>")
		if withPaper {
			fmt.Fprintf(&b, "<td>%s</td>", esc(c.Paper))
		}
		fmt.Fprintf(&b, "<td>%s</td><td style=\"text-align:right\">%s</td><td>%s</td><td>%s</td><td style=\"%s\">%s</td><td>%s</td>",
			esc(c.Text), esc(fmtNum(c.Measured)), esc(c.Band.String()), esc(c.PaperString()), style, esc(statusWord(c.Status)), esc(c.Why))
		if !withPaper {
			fmt.Fprintf(&b, "<td>%s</td>", esc(c.Source))
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody>\n</table>\n")
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// errNoRow is returned when a result lacks a row a claim reads: the
// plugin's tables changed shape.
var errNoRow = errors.New("replicate: no such row")

// final returns the final metric name of res, or an error of paper's that
// names the plugin and the metric.
func final(paper string, res *kernel.Result, name string) (float64, error) {
	v, ok := res.Final[name]
	if !ok {
		return 0, fmt.Errorf("replicate: %s: %s has no final %q: %w", paper, res.Plugin, name, errNoRow)
	}
	return v, nil
}
