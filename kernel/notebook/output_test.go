package notebook

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/kernel"
	"github.com/alignlab/alignlab/plots"
	"github.com/janpfeifer/gonb/gonbui/protocol"
)

func lineChart(title string) *plots.Chart {
	return plots.Line(plots.RandomID(), title, []plots.Series{{Name: "loss", X: []float64{1, 2, 3}, Y: []float64{3, 2, 1}}}, plots.Axes{XLabel: "step"})
}

func mimeTypes(s sent) []string {
	var out []string
	for k := range s.data {
		out = append(out, string(k))
	}
	slices.Sort(out)
	return out
}

// TestMIMEBundles: what each Show… sends. Charts and results are text/html
// with a text/plain twin; Markdown is text/markdown with a text/plain twin
// and no text/html (which classic Jupyter would prefer to the Markdown).
func TestMIMEBundles(t *testing.T) {
	registerNB(t, curvePlugin("nb.mime"))
	o := fakeNotebook(t, true)
	res, err := kernel.Run(context.Background(), "nb.mime", kernel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ShowCharts(lineChart("Loss <by> step"))
	ShowMarkdown("Top model: **m1**, rating $1200$.")
	ShowTable(res.Tables["rows"])
	ShowHTML("<pre>a &amp; b</pre><script>x()</script>")
	Show(res)
	for i, tc := range []struct {
		mime  []string
		plain string // what text/plain holds (a part of it)
	}{
		{[]string{"text/html", "text/plain"}, "[chart: Loss <by> step]"},
		{[]string{"text/markdown", "text/plain"}, "Top model: m1, rating $1200$."},
		{[]string{"text/html", "text/plain"}, "i   name\n 0  <b>x</b>"},
		{[]string{"text/html", "text/plain"}, "a & b"},
		{[]string{"text/html", "text/plain"}, "loss = 0.025"},
	} {
		s := o.all[i]
		if got := mimeTypes(s); !slices.Equal(got, tc.mime) {
			t.Errorf("output %d: got MIME types %v, want %v", i, got, tc.mime)
		}
		if plain := s.text(protocol.MIMETextPlain); !strings.Contains(plain, tc.plain) {
			t.Errorf("output %d: text/plain %q lacks %q", i, plain, tc.plain)
		}
		if h := s.text(protocol.MIMETextHTML); strings.Contains(h, `class="container"`) {
			t.Errorf("output %d: has a class=\"container\" (Jupyter makes it 1140 px wide)", i)
		}
		if s.id != "" {
			t.Errorf("output %d: got display id %q, want a new output", i, s.id)
		}
	}
	if strings.Contains(o.all[3].text(protocol.MIMETextPlain), "x()") {
		t.Error("the text/plain of ShowHTML keeps a script")
	}
}

// TestLibraryOncePerSession: the first chart output of a kernel session
// carries the ECharts library, later ones (this cell's or the next
// cell's) do not, unless a cell asks with IncludeLibrary.
func TestLibraryOncePerSession(t *testing.T) {
	registerNB(t, curvePlugin("nb.once"))
	o := fakeNotebook(t, true)
	res, err := kernel.Run(context.Background(), "nb.once", kernel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ShowMarkdown("no chart")
	ShowCharts(lineChart("first"))
	ShowCharts(lineChart("second"))
	Show(res)
	library.reset() // the next cell: a new process, the same kernel session
	ShowCharts(lineChart("next cell"))
	IncludeLibrary()
	ShowCharts(lineChart("forced"))
	ShowCharts(lineChart("after"))

	var got []bool
	for _, s := range o.all[1:] {
		got = append(got, hasLibrary(s.text(protocol.MIMETextHTML)))
	}
	if want := []bool{true, false, false, false, true, false}; !slices.Equal(got, want) {
		t.Errorf("outputs carrying the library: got %v, want %v", got, want)
	}
	for i, s := range o.all[1:] {
		if n := strings.Count(s.text(protocol.MIMETextHTML), `class="alignlab-chart"`); n != 1 {
			t.Errorf("output %d: got %d chart blocks, want 1", i+1, n)
		}
	}
	if _, err := os.Stat(filepath.Join(o.dir, libraryMarker)); err != nil {
		t.Errorf("the session's marker: %v", err)
	}
}

// TestLibraryWithoutSession: with no kernel session directory every chart
// output carries the library: bigger, never blank.
func TestLibraryWithoutSession(t *testing.T) {
	o := fakeNotebook(t, true)
	sessionDir = func() string { return "" }
	ShowCharts(lineChart("a"))
	ShowCharts(lineChart("b"))
	for i, s := range o.all {
		if !hasLibrary(s.text(protocol.MIMETextHTML)) {
			t.Errorf("output %d lacks the library", i)
		}
	}
	o2 := fakeNotebook(t, true)
	sessionDir = func() string { return filepath.Join(o2.dir, "gone") } // cannot write the marker
	ShowCharts(lineChart("c"))
	ShowCharts(lineChart("d"))
	for i, s := range o2.all {
		if !hasLibrary(s.text(protocol.MIMETextHTML)) {
			t.Errorf("unwritable session dir: output %d lacks the library", i)
		}
	}
}

// TestLibraryCarrierUpdated: an updatable output that carried the library
// carries it in every later version, since each replaces the last; others
// never do.
func TestLibraryCarrierUpdated(t *testing.T) {
	fakeNotebook(t, true)
	a := chartsHTML("out_a", []*plots.Chart{lineChart("a1")})
	b := chartsHTML("out_b", []*plots.Chart{lineChart("b1")})
	a2 := chartsHTML("out_a", []*plots.Chart{lineChart("a2")})
	b2 := chartsHTML("out_b", []*plots.Chart{lineChart("b2")})
	if got := []bool{hasLibrary(a), hasLibrary(b), hasLibrary(a2), hasLibrary(b2)}; !slices.Equal(got, []bool{true, false, true, false}) {
		t.Errorf("library in a, b, a again, b again: got %v, want [true false true false]", got)
	}
}

// manyCharts declares five line charts.
func manyCharts(id string) nbPlugin {
	return nbPlugin{
		info: kernel.Info{ID: id, Summary: "many charts"},
		run: func(job *kernel.Job) error {
			for _, m := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"} {
				if err := job.Record(1, m, 1); err != nil {
					return err
				}
				job.AddChart(kernel.Chart{Kind: "line", ID: m, Title: "chart " + m, Series: []string{m}})
			}
			return nil
		},
	}
}

// TestShowCompact: the first OpenCharts charts are open, the others under a
// closed <details> line that names them; the charts of the metrics a
// RunLive watched come first.
func TestShowCompact(t *testing.T) {
	registerNB(t, manyCharts("nb.many"))
	fakeNotebook(t, true)
	res, err := kernel.Run(context.Background(), "nb.many", kernel.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		first []string
		open  []string
		more  string
	}{
		{nil, []string{"a", "b", "c", "d", "e", "f"}, "3 more charts: chart g; chart h; chart i"},
		{[]string{"h"}, []string{"h", "a", "b", "c", "d", "e"}, "3 more charts: chart f; chart g; chart i"},
	} {
		h := resultOutput(res, "", "p", resultView{first: tc.first}).html
		i := strings.Index(h, `<details class="alignlab-more"`)
		if i < 0 {
			t.Fatalf("first %v: no <details> for the other charts", tc.first)
		}
		for _, id := range tc.open {
			if j := strings.Index(h, `data-chart-id="p_nb_many_`+id+`"`); j < 0 || j > i {
				t.Errorf("first %v: chart %s is not open", tc.first, id)
			}
		}
		if !strings.Contains(h[i:], "<summary>"+tc.more+"</summary>") {
			t.Errorf("first %v: the closed line lacks %q", tc.first, tc.more)
		}
		if n := strings.Count(h, `class="alignlab-chart"`); n != 9 {
			t.Errorf("first %v: got %d charts, want 9", tc.first, n)
		}
		if strings.Contains(h, "<details open") {
			t.Errorf("first %v: a <details> is open", tc.first)
		}
	}
}

func TestTableText(t *testing.T) {
	tab := kernel.NewTable("model", "rating", "note")
	tab.Add("alpha", 1200.5, "ok")
	tab.Add("b", 7, "")
	want := "model  rating  note\nalpha  1200.5  ok\nb           7"
	if got := tableText(tab); got != want {
		t.Errorf("tableText:\ngot\n%s\nwant\n%s", got, want)
	}
	long := kernel.NewTable("i")
	for i := 0; i < ShowRows+5; i++ {
		long.Add(i)
	}
	if got := tableText(long); !strings.HasSuffix(got, "\n19\n… 5 more rows") {
		t.Errorf("a long table: got …%q, want the first %d rows and \"… 5 more rows\"", got[len(got)-30:], ShowRows)
	}
}

func TestHTMLText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"<p>a &lt;b&gt;</p><p>c</p>", "a <b>\nc"},
		{"<style>p{}</style><script>alert(1)</script><b>x</b>", "x"},
		{"<pre>col  val\n1    2</pre>", "col  val\n1    2"},
		{"<div>a</div>\n\n\n\n<div>b</div>", "a\n\nb"},
	} {
		if got := htmlText(tc.in); got != tc.want {
			t.Errorf("htmlText(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMarkdownText(t *testing.T) {
	if got, want := markdownText("**Top**: `m1`, $x^2$ and *a*\n"), "Top: `m1`, $x^2$ and *a*"; got != want {
		t.Errorf("markdownText: got %q, want %q", got, want)
	}
}
