package datasets

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// checkMessage checks that err is a *datasets.Error whose message is want,
// exactly; what names the case.
func checkMessage(t *testing.T, what string, err error, want string) {
	t.Helper()
	var de *Error
	if !errors.As(err, &de) {
		t.Errorf("%s: got %v, want a *datasets.Error", what, err)
		return
	}
	if err.Error() != want {
		t.Errorf("%s:\n got  %s\n want %s", what, err, want)
	}
}

// TestScanJSONLines checks the line bookkeeping every JSONL loader relies
// on: blank lines skipped but counted, white space and a byte order mark
// on line 1 trimmed with the columns they took kept in col0, and the
// message for a line over the limit.
func TestScanJSONLines(t *testing.T) {
	var got []string
	err := scanJSONLines(strings.NewReader("\xef\xbb\xbf {\"a\": 1}\n\n\t[2] \r\n  \n\xef\xbb\xbf3\n"), "f", 1<<20,
		func(b []byte, line, col0 int) error {
			got = append(got, fmt.Sprintf("%d:%d:%s", line, col0, b))
			return nil
		})
	// Only line 1 may start with a byte order mark; elsewhere it is text.
	// Blanks after the mark stay, as JSON allows them.
	want := []string{`1:3: {"a": 1}`, "3:1:[2]", "5:0:\xef\xbb\xbf3"}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}

	stop := errors.New("stop")
	if err := scanJSONLines(strings.NewReader("1\n2\n"), "f", 1<<20, func([]byte, int, int) error { return stop }); err != stop {
		t.Errorf("fn's error: got %v, want it returned as is", err)
	}

	long := "1\n" + strings.Repeat("x", 1<<20+1) + "\n"
	err = scanJSONLines(strings.NewReader(long), "f", 1<<20, func([]byte, int, int) error { return nil })
	checkMessage(t, "long line", err, "f:2: want a line of at most 1 MiB, got a longer one")

	err = readJSONRecords(strings.NewReader(" \n\n"), "f", 1<<20, "things", func([]byte, int, int) error { return nil })
	checkMessage(t, "no records", err, "f: no things: want one JSON object per line")
}

// TestQuoteNonFinite checks the quoting of Python's non-finite tokens
// outside strings, and the offsets of the closing quotes that ReadGame uses
// to tell a quoted token from a string.
func TestQuoteNonFinite(t *testing.T) {
	orig := `{"a": [NaN, -Infinity, "NaN", "x\"Infinity", +Infinity], "b": Infinity}`
	want := `{"a": ["NaN", "-Infinity", "NaN", "x\"Infinity", "+Infinity"], "b": "Infinity"}`
	if got := string(quoteNonFinite([]byte(orig))); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	q, at := gameQuoteNonFinite([]byte(orig))
	if len(at) != 4 {
		t.Errorf("got %d quoted tokens, want 4: %v", len(at), at)
	}
	for end, tok := range at {
		if start := int(end) - len(tok) - 1; start < 0 || string(q[start:end+1]) != `"`+tok+`"` {
			t.Errorf("offset %d does not close the quoted token %s in %s", end, tok, q)
		}
	}
	plain := []byte(`{"a": "NaN"}`)
	if q, at := gameQuoteNonFinite(plain); string(q) != string(plain) || len(at) != 0 {
		t.Errorf("no bare token: got %s, %v", q, at)
	}
}

// TestFiniteNumbers checks the reading of an array of numbers: the first
// element that is not a finite number is named with what it is.
func TestFiniteNumbers(t *testing.T) {
	for _, tc := range []struct {
		text string
		at   int
		got  string
	}{
		{`[1, -2.5, 1e300]`, -1, ""},
		{`[1, "NaN"]`, 1, "NaN"},
		{`["-Infinity"]`, 0, "-Inf"},
		{`[1, 2, "x"]`, 2, `string "x"`},
		{`[1, null]`, 1, "null"},
		{`[true]`, 0, "bool true"},
		{`[[1]]`, 0, "array"},
		{`[1e999]`, 0, "number 1e999 (out of range)"},
	} {
		var elems []json.RawMessage
		if err := json.Unmarshal([]byte(tc.text), &elems); err != nil {
			t.Fatal(err)
		}
		dst := make([]float64, len(elems))
		if at, got := finiteNumbers(dst, elems); at != tc.at || got != tc.got {
			t.Errorf("%s: got %d, %q; want %d, %q", tc.text, at, got, tc.at, tc.got)
		}
	}
}
