package notebook

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alignlab/alignlab/kernel"
	"github.com/janpfeifer/gonb/gonbui/protocol"
)

// linePlugin reports final y = x + b + u, u ~ U(0, 1) from the seed;
// before each run it calls at(x, seed, job), which may stop it.
func linePlugin(id string, at func(x float64, seed int64, job *kernel.Job) error) nbPlugin {
	return nbPlugin{
		info: kernel.Info{ID: id, Summary: "a noisy line", Params: []kernel.Param{
			kernel.FloatParam("x", 0, -10, 10, "x"),
			kernel.IntParam("b", 0, 0, 10, "intercept"),
		}},
		run: func(job *kernel.Job) error {
			x, b := job.Params.Float("x"), float64(job.Params.Int("b"))
			if at != nil {
				if err := at(x, job.Params.Int64(kernel.ParamSeed), job); err != nil {
					return err
				}
			}
			job.SetFinal("y", x+b+job.Rand().Float64())
			return nil
		},
	}
}

var lineStudy = kernel.Study{Plugin: "nb.study", Grid: []kernel.Axis{kernel.Vary("x", 1.0, 2.0, 3.0), kernel.Vary("b", 0, 5)}, Seeds: []int64{1, 2}}

func TestRunStudyOutsideNotebook(t *testing.T) {
	registerNB(t, linePlugin("nb.study", nil))
	o := fakeNotebook(t, false)
	got, err := RunStudy(context.Background(), lineStudy, kernel.StudyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := kernel.RunStudyWith(context.Background(), lineStudy, kernel.StudyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := got.JSON()
	b, _ := want.JSON()
	if string(a) != string(b) {
		t.Errorf("RunStudy outside a notebook differs from kernel.RunStudyWith")
	}
	if n := len(o.html) + len(o.md) + len(o.updates) + o.syncs; n != 0 {
		t.Errorf("outside a notebook: got %d display calls, want 0", n)
	}
}

func TestRunStudyInNotebook(t *testing.T) {
	registerNB(t, linePlugin("nb.study", nil))
	dir := t.TempDir()
	for _, run := range []struct {
		name, counts string
	}{
		{"first", "12 cells: 12 run, 0 cached, 0 failed"},
		{"again", "12 cells: 0 run, 12 cached, 0 failed"}, // every cell from the cache
	} {
		t.Run(run.name, func(t *testing.T) {
			o := fakeNotebook(t, true)
			var seen int
			res, err := RunStudy(context.Background(), lineStudy, kernel.StudyOptions{Dir: dir, Jobs: 2,
				Observer: func(done, total int, c *kernel.Cell) { seen++ }})
			if err != nil {
				t.Fatal(err)
			}
			if seen != 12 || len(res.Cells) != 12 {
				t.Errorf("the caller's observer saw %d cells of %d, want 12", seen, len(res.Cells))
			}
			if len(o.updates) < 2 || len(o.html) != 0 {
				t.Fatalf("got %d updates and %d other outputs, want the progress at 0 and the summary in its place", len(o.updates), len(o.html))
			}
			first, last := o.updates[0], o.updates[len(o.updates)-1]
			for _, u := range o.updates {
				if u.id != first.id || !strings.HasPrefix(u.id, "alignlab_study_") {
					t.Errorf("update of display %q, want them all in %q", u.id, first.id)
				}
			}
			if !strings.Contains(first.html, "study of nb.study: cell 0/12<") || !strings.Contains(first.html, "width:0.0%") {
				t.Errorf("first update: got %q, want cell 0/12 and an empty bar", first.html)
			}
			// The summary replaces the progress: the study table with its
			// intervals and a chart with error bars per metric.
			for _, want := range []string{"<b>nb.study</b> study &middot; x × b: 6 points × 2 seeds (1, 2) &middot; " + run.counts,
				"&middot; done in ", "<th>y_low</th>", "<th>y_high</th>", `"type":"custom"`} {
				if !strings.Contains(last.html, want) {
					t.Errorf("summary lacks %q", want)
				}
			}
			if plain := o.all[len(o.all)-1].text(protocol.MIMETextPlain); !strings.Contains(plain, "[chart: y against x (mean ± s.e. over 2 seeds)]") {
				t.Errorf("summary's text/plain: got %q, want the chart's title", plain)
			}
		})
	}
}

func TestRunStudyInterrupted(t *testing.T) {
	o := fakeNotebook(t, true)
	dir := t.TempDir()
	// The ninth cell (x = 3, b = 0, seed 1) interrupts the kernel and
	// waits for its context, as a plugin stopping at its next step does.
	interrupt := true
	registerNB(t, linePlugin("nb.study", func(x float64, seed int64, job *kernel.Job) error {
		if x == 3 && job.Params.Int("b") == 0 && seed == 1 && interrupt {
			o.irq.interrupt()
			<-job.Context().Done()
			return job.Context().Err()
		}
		return nil
	}))
	res, err := RunStudy(context.Background(), lineStudy, kernel.StudyOptions{Dir: dir})
	if res != nil || err == nil {
		t.Fatalf("got result %v and error %v, want the study stopped", res, err)
	}
	var stopped *StudyStoppedError
	if !errors.As(err, &stopped) {
		t.Fatalf("got %T %v, want a *StudyStoppedError", err, err)
	}
	if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) {
		t.Errorf("errors.Is(err, ErrInterrupted), (err, context.Canceled): got %v, %v, want both true",
			errors.Is(err, ErrInterrupted), errors.Is(err, context.Canceled))
	}
	want := "study of nb.study: interrupted after 8 / 12 cells; the finished cells are cached in " + dir + ": run it again to continue"
	if err.Error() != want {
		t.Errorf("error: got %q, want %q", err, want)
	}
	if last := o.updates[len(o.updates)-1]; !strings.Contains(last.html, "interrupted after 8 / 12 cells<") {
		t.Errorf("final progress: got %q, want the line \"interrupted after 8 / 12 cells\"", last.html)
	}
	if len(o.html) != 1 || !strings.Contains(o.html[0], "interrupted after 8 / 12 cells") {
		t.Errorf("got HTML outputs %q, want only the error line", o.html)
	}
	if n := o.irq.registered(); n != 0 {
		t.Errorf("RunStudy returned with %d channels registered for SIGINT, want 0", n)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "cells", "*.json"))
	if len(files) != 8 {
		t.Errorf("%d cells cached, want the 8 finished", len(files))
	}

	// Running the cell again continues: 8 cells from the cache, 4 run.
	interrupt = false
	o2 := fakeNotebook(t, true)
	again, err := RunStudy(context.Background(), lineStudy, kernel.StudyOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if again.Cached != 8 || again.Ran != 4 {
		t.Errorf("rerun: %d cached, %d run, want 8 and 4", again.Cached, again.Ran)
	}
	if last := o2.updates[len(o2.updates)-1]; !strings.Contains(last.html, "12 cells: 4 run, 8 cached, 0 failed") {
		t.Errorf("rerun summary: got %.300q", last.html)
	}
	if _, err := os.Stat(filepath.Join(dir, kernel.StudySpecFile)); err != nil {
		t.Error(err)
	}
}

func TestRunStudyBadStudy(t *testing.T) {
	registerNB(t, linePlugin("nb.study", nil))
	o := fakeNotebook(t, true)
	_, err := RunStudy(context.Background(), kernel.Study{Plugin: "nb.study", Grid: []kernel.Axis{kernel.Vary("z", 1.0)}}, kernel.StudyOptions{})
	var stopped *StudyStoppedError
	if err == nil || errors.As(err, &stopped) || !strings.Contains(err.Error(), `"z"`) {
		t.Fatalf("got %v, want the kernel's error naming param z", err)
	}
	if last := o.updates[len(o.updates)-1]; !strings.Contains(last.html, "failed after 0 / 1 cells") {
		t.Errorf("final progress: got %q, want \"failed after 0 / 1 cells\"", last.html)
	}
	if len(o.html) != 1 || !strings.Contains(o.html[0], "unknown param &#34;z&#34;") {
		t.Errorf("got HTML outputs %q, want the error line", o.html)
	}
}

func TestCellText(t *testing.T) {
	res := &kernel.Result{}
	for _, tc := range []struct {
		c    kernel.Cell
		want string
	}{
		{kernel.Cell{Point: map[string]any{"x": 2.0, "b": 5}, Seed: 3, Result: res}, "x=2 b=5 seed 3"},
		{kernel.Cell{Point: map[string]any{"x": 2.0, "b": 5}, Seed: 3, Result: res, Cached: true}, "x=2 b=5 seed 3 (cached)"},
		{kernel.Cell{Point: map[string]any{"x": 0.5, "b": 0}, Seed: 1, Err: "boom"}, "x=0.5 b=0 seed 1 (failed)"},
		{kernel.Cell{Point: map[string]any{"x": 0.5, "b": 0}, Seed: 1, Err: "boom", Cached: true}, "x=0.5 b=0 seed 1 (cached, failed)"},
	} {
		if got := cellText([]string{"x", "b"}, &tc.c); got != tc.want {
			t.Errorf("cellText(%+v): got %q, want %q", tc.c, got, tc.want)
		}
	}
	if got := cellText(nil, &kernel.Cell{Seed: 7, Result: res}); got != "seed 7" {
		t.Errorf("cellText of a study without a grid: got %q, want \"seed 7\"", got)
	}
}

func TestStudyCells(t *testing.T) {
	s := kernel.Study{Grid: []kernel.Axis{kernel.Vary("x", 1, 2, 3), kernel.Vary("b", 0, 5)}, Seeds: []int64{1, 2, 3, 4, 5}} // 30 cells
	for _, tc := range []struct {
		shard, shards, want int
	}{{0, 0, 30}, {1, 4, 8}, {2, 4, 8}, {3, 4, 7}, {4, 4, 7}, {1, 1, 30}, {7, 30, 1}, {1, 31, 1}, {31, 31, 0}} {
		if got := studyCells(s, kernel.StudyOptions{Shard: tc.shard, Shards: tc.shards}); got != tc.want {
			t.Errorf("shard %d/%d: got %d cells, want %d", tc.shard, tc.shards, got, tc.want)
		}
	}
	if got := studyCells(kernel.Study{}, kernel.StudyOptions{}); got != 1 {
		t.Errorf("no grid, default seed: got %d cells, want 1", got)
	}
}
