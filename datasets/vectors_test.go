package datasets

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadVectorsFormats(t *testing.T) {
	want := [][]float64{{1, -2.5}, {0.25, 3e-3}}
	for _, tc := range []struct{ name, text string }{
		{"csv", "1,-2.5\n0.25, 3e-3\n"},
		{"csv header", "x,y\n1,-2.5\n\n0.25,3e-3\n"},
		{"csv crlf bom", "\xEF\xBB\xBFa,b\r\n1,-2.5\r\n0.25,3e-3\r\n"},
		{"jsonl", "[1, -2.5]\n\n[0.25, 3e-3]\n"},
		{"jsonl leading blank", "\n  [1, -2.5]\n[0.25, 0.003]"},
	} {
		got, err := ReadVectors(strings.NewReader(tc.text), "v")
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, want)
		}
	}
}

func TestReadVectorsErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"1,2\n3,4,5\n", "v.csv:2: row: want 2 values (as on line 1), got 3"},
		{"x,y\n1,2\n3\n", "v.csv:3: row: want 2 values (as in the header on line 1), got 1"},
		{"1,2\n3,NaN\n", "v.csv:2: column 2: want a finite number, got NaN"},
		{"a,b\n1,inf\n", "v.csv:2: b: want a finite number, got inf"},
		{"1,2\n3,abc\n", `v.csv:2: column 2: want a finite number, got "abc"`},
		{"1,2\n3,1e999\n", "v.csv:2: column 2: want a finite number, got 1e999"},
		{"\"a\nb\",c\nNaN,1\n", "v.csv:3: column 1: want a finite number, got NaN"},
		{"x,y\n", "v.csv: no vectors: want one vector per line (CSV numbers or JSON arrays)"},
		{"", "v.csv: no vectors: want one vector per line (CSV numbers or JSON arrays)"},
		{" \n\n", "v.csv: no vectors: want one vector per line (CSV numbers or JSON arrays)"},
		{"1,\"2\n", "v.csv:1: want CSV, got extraneous or missing \" in quoted-field at column 6"},
		{"[1, 2]\n[3]\n", "v.csv:2: line: want 2 numbers (as on line 1), got 1"},
		{"[1, 2]\n[3, NaN]\n", "v.csv:2: [1]: want a finite number, got NaN"},
		{"[1, 2]\n[-Infinity, 0]\n", "v.csv:2: [0]: want a finite number, got -Inf"},
		{"[1, 2]\n[3, \"4\"]\n", `v.csv:2: [1]: want a finite number, got string "4"`},
		{"[1, 2]\n[3, null]\n", "v.csv:2: [1]: want a finite number, got null"},
		{"[]\n", "v.csv:1: line: want a non-empty vector, got []"},
		{"[1, 2]\n{\"x\": 1}\n", "v.csv:2: line: want a JSON array of numbers, got object"},
		{"[1, 2\n", "v.csv:1: want a complete JSON array of numbers, got end of line"},
	} {
		_, err := ReadVectors(strings.NewReader(tc.text), "v.csv")
		checkMessage(t, fmt.Sprintf("%q", tc.text), err, tc.want)
	}
}

func TestVectorsRoundTrip(t *testing.T) {
	rows := StandardNormal(50, 3, rand.New(rand.NewPCG(2, 2)))
	path := filepath.Join(t.TempDir(), "x.csv")
	var buf bytes.Buffer
	if err := WriteVectorsCSV(&buf, rows); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := LoadVectors(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rows) {
		t.Error("vectors changed on the way through CSV")
	}
	if _, err := LoadVectors(filepath.Join(t.TempDir(), "missing.csv")); err == nil || !strings.HasSuffix(err.Error(), "missing.csv: no such file or directory") {
		t.Errorf("missing file: got %v", err)
	}
}

func ExampleReadVectors() {
	rows, err := ReadVectors(strings.NewReader("x,y\n0.5,1\n-2,3\n"), "points.csv")
	fmt.Println(rows, err)
	_, err = ReadVectors(strings.NewReader("0.5,1\n-2\n"), "points.csv")
	fmt.Println(err)
	// Output:
	// [[0.5 1] [-2 3]] <nil>
	// points.csv:2: row: want 2 values (as on line 1), got 1
}
