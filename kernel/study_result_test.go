package kernel

import (
	"context"
	"math"
	"strings"
	"testing"
)

// The study table of Result holds, next to each metric's mean and
// standard error, the interval mean ± s.e. that its chart draws as error
// bars; with one seed there is no standard error, so no interval.
func TestStudyResultInterval(t *testing.T) {
	registerLine(t)
	res, err := RunStudy(context.Background(), Study{Plugin: "study.line",
		Grid: []Axis{Vary("x", 1.0, 2.0), Vary("b", 0, 5)}, Seeds: []int64{1, 2, 3}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := res.Result()
	tb := r.Tables["study"]
	want := "group,x,b,x2,x2_se,x2_low,x2_high,y,y_se,y_low,y_high,runs"
	if got := strings.Join(tb.Columns, ","); got != want {
		t.Fatalf("columns %s, want %s", got, want)
	}
	for i, row := range tb.Rows {
		// Each row against the cells of its grid point, computed here.
		var ys []float64
		for _, c := range res.Cells[3*i : 3*i+3] {
			ys = append(ys, c.Result.Final["y"])
		}
		mean, se := MeanSE(ys)
		if se <= 0 || math.IsNaN(se) {
			t.Fatalf("row %d: standard error %v of %v, want a positive number", i, se, ys)
		}
		if row[7] != mean || row[8] != se || row[9] != mean-se || row[10] != mean+se {
			t.Errorf("row %d: y %v ± %v in [%v, %v], want %v ± %v in [%v, %v]", i, row[7], row[8], row[9], row[10], mean, se, mean-se, mean+se)
		}
		if row[3] != row[5] || row[3] != row[6] || row[4] != 0.0 { // x² does not depend on the seed
			t.Errorf("row %d: x2 %v ± %v in [%v, %v], want a zero-width interval", i, row[3], row[4], row[5], row[6])
		}
	}
	if len(r.Charts) != 2 {
		t.Fatalf("%d charts, want one per metric (x2, y)", len(r.Charts))
	}
	ch := r.Charts[1]
	if ch.Kind != "xy" || ch.Value != "y" || ch.Low != "y_low" || ch.High != "y_high" || ch.X != "x" || ch.Group != "group" ||
		ch.Title != "y against x (mean ± s.e. over 3 seeds)" {
		t.Errorf("chart %+v, want y against x with error bars y_low to y_high, by group", ch)
	}

	one, err := RunStudy(context.Background(), Study{Plugin: "study.line", Grid: []Axis{Vary("x", 1.0, 2.0)}, Seeds: []int64{7}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r1 := one.Result("y")
	t1 := r1.Tables["study"]
	if got, want := strings.Join(t1.Columns, ","), "x,x2,x2_se,x2_low,x2_high,y,y_se,y_low,y_high,runs"; got != want {
		t.Fatalf("one seed, one key: columns %s, want %s", got, want)
	}
	for i, low := range t1.Floats("y_low") {
		if !math.IsNaN(low) || !math.IsNaN(t1.Floats("y_high")[i]) {
			t.Errorf("one seed, row %d: interval [%v, %v], want NaN (no standard error)", i, low, t1.Floats("y_high")[i])
		}
	}
	if len(r1.Charts) != 1 || r1.Charts[0].Group != "" || r1.Charts[0].Title != "y against x (1 seed: no error bars)" {
		t.Errorf("one seed: charts %+v, want one ungrouped chart of y", r1.Charts)
	}

	// A shard's partial result has no summary: nothing to tabulate or draw.
	part := &StudyResult{Study: one.Study, Cells: one.Cells}
	if pr := part.Result(); pr.Tables["study"] != nil || len(pr.Charts) != 0 {
		t.Errorf("partial result: tables %v, %d charts; want none", pr.TableNames(), len(pr.Charts))
	}
}
