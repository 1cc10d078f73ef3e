package datasets

import (
	"strings"
	"testing"
)

func TestQuoteValue(t *testing.T) {
	long := strings.Repeat("x", 20<<20)
	for _, tc := range []struct{ got, want string }{
		{quoteValue("bob"), `"bob"`},
		{quoteValue(strings.Repeat("y", maxQuoted)), `"` + strings.Repeat("y", maxQuoted) + `"`},
		{quoteValue(long), `"` + strings.Repeat("x", maxQuoted) + `"… (20971520 bytes)`},
		// 100 two-byte runes: the cut keeps whole runes (32 of them).
		{quoteValue(strings.Repeat("é", 100)), `"` + strings.Repeat("é", 32) + `"… (200 bytes)`},
		{clipValue("1e999"), "1e999"},
		{clipValue("1" + strings.Repeat("0", 100)), "1" + strings.Repeat("0", maxQuoted-1) + "… (101 bytes)"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %s, want %s", tc.got, tc.want)
		}
	}
}

func TestNonFiniteOrigin(t *testing.T) {
	orig := []byte(`[NaN, "NaN", -Infinity, x]`)
	q := quoteNonFinite(orig)
	for i := range q {
		if q[i] == 'x' || q[i] == ',' {
			if o := nonFiniteOrigin(orig, i); orig[o] != q[i] {
				t.Errorf("index %d (%q) maps to %d (%q)", i, q[i], o, orig[o])
			}
		}
	}
	if o := nonFiniteOrigin([]byte("[1, y]"), 4); o != 4 {
		t.Errorf("no tokens: index 4 maps to %d", o)
	}
}

// TestJSONSyntaxMessages checks what the JSON loaders say about broken JSON:
// the field where reading stopped, what was wanted there, and the column in
// the file (after blanks trimmed and NaN tokens quoted).
func TestJSONSyntaxMessages(t *testing.T) {
	const pair = `"chosen": 0, "rejected": 1`
	for _, tc := range []struct {
		loader, text, want string
	}{
		{"prefs", "\xff\xfe{\"features\": [[1, 2], [3, 4]], " + pair + "}",
			"f:1: want one JSON object per line (UTF-8), got byte 0xff at column 1"},
		{"prefs", `{"features": [[1, 1, 1,`, "f:1: features[0]: unclosed array: want a complete JSON object, got end of line"},
		{"prefs", `{"features": [[1, 2], [3, 4]], "chosen": 0,`, "f:1: want a complete JSON object, got end of line"},
		{"prefs", `{"features": [[1, 2], [3, 4]], "note": "ab`, "f:1: note: unclosed string: want a complete JSON object, got end of line"},
		{"prefs", "1,2\n", "f:1: want one JSON object per line, got ',' after a complete value at column 2"},
		{"prefs", "  {\"features\": [[NaN, 1], [0, 1]] " + pair + "}",
			`f:1: features: want ',' or '}' after the value, got '"' at column 35`},
		{"prefs", `{"features": [[1, 2], [3, x]], ` + pair + "}",
			"f:1: features[1][1]: want a JSON value (number, string, array, object, true, false or null), got 'x' at column 27"},
		{"prefs", `{"features": [[1, 2], [3, 4]], ` + pair + `,}`, "f:1: want a quoted key, got '}' at column 59"},
		{"prefs", `{"features": [[1, 2], [3, 4]], "chosen" 0, "rejected": 1}`, "f:1: chosen: want ':' after the key, got '0' at column 41"},
		{"prefs", `{"features": [[1, 2] [3, 4]], ` + pair + "}", "f:1: features[0]: want ',' or ']' after the element, got '[' at column 22"},
		{"prefs", `{"features": [[1, 2], [3, 4]], "chosen": tru, "rejected": 1}`, "f:1: chosen: want true, got ',' at column 45"},
		{"prefs", `{"features": [[1, 2], [3, 4]], "chosen": -, "rejected": 1}`, "f:1: chosen: want a number, got ',' at column 43"},
		{"prefs", `{"features": [[1, 2], [3, 4]], ` + pair + `, "note": "a` + "\x01" + `"}`,
			`f:1: note: want a string without raw control characters (escape them), got '\x01' at column 70`},
		{"prefs", `{"features": [[1, 2], [3, 4]], ` + pair + `, "note": "\q"}`,
			`f:1: note: want an escape \" \\ \/ \b \f \n \r \t or \u and 4 hex digits, got \q at column 69`},
		{"prefs", `{"features": ` + strings.Repeat("[", 10001),
			"f:1: features" + strings.Repeat("[0]", 18) + "…: want JSON nested at most 10000 deep, got deeper at column 10013"},
		{"vectors", "[1, 2]\n  [NaN, 3 4]\n", "f:2: [1]: want ',' or ']' after the element, got '4' at column 11"},
		{"vectors", "[1, 2\n", "f:1: want a complete JSON array of numbers, got end of line"},
		{"game", "{\"matrix\": [[0.5, NaN],\n [0.1, 0.5 x]]}", "f:2: matrix[1][1]: want ',' or ']' after the element, got 'x' at column 12"},
		{"game", "{\"matrix\": [[0.5, 0.5], [0.5, 0.5]]}\n{}", "f:2: want a JSON object, got '{' after a complete value at column 1"},
		{"game", "{\"matrix\": [[0.5, 0.9],\n [0.1, 0.5]", "f:2: matrix: unclosed array: want a complete JSON object, got end of file"},
		{"game", " \n", `f: want a JSON object with "matrix" or "prompts", got an empty file`},
		{"pairs", "  {\"chosen\": [NaN, 1] \"rejected\": [1, 2]}", `f:1: chosen: want ',' or '}' after the value, got '"' at column 23`},
		{"pairs", `{"chosen": [1, 2], "rejected": [1,`, "f:1: rejected: unclosed array: want a complete JSON object, got end of line"},
		{"sources", "\xef\xbb\xbf{\"features\": [1, 2], \"label\": 1, \"source\": x}",
			"f:1: source: want a JSON value (number, string, array, object, true, false or null), got 'x' at column 47"},
		{"sources", "{\"features\": [1, 2], \"label\": 1, \"source\": \"a\"}\n{\"features\": [Infinity, 2}",
			"f:2: features[1]: want ',' or ']' after the element, got '}' at column 26"},
		{"rankings", `{"ranking": ["a", "b"],}`, "f:1: want a quoted key, got '}' at column 24"},
	} {
		var err error
		switch tc.loader {
		case "prefs":
			_, err = ReadPrefs(strings.NewReader(tc.text), "f")
		case "vectors":
			_, err = ReadVectors(strings.NewReader(tc.text), "f")
		case "game":
			_, err = ReadGame(strings.NewReader(tc.text), "f")
		case "pairs":
			_, err = ReadRewardPairs(strings.NewReader(tc.text), "f", nil)
		case "sources":
			_, err = ReadLabeled(strings.NewReader(tc.text), "f", true)
		case "rankings":
			_, err = ReadRankings(strings.NewReader(tc.text), "f")
		}
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s %.40q:\n got  %v\n want %s", tc.loader, tc.text, err, tc.want)
		}
	}
}

// TestGameNonFinite checks that the non-finite tokens Python writes reach
// validation, which names the entry, and that a string "NaN" stays a string.
func TestGameNonFinite(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{`{"matrix": [[0.5, NaN], [0.1, 0.5]]}`, "g:1: matrix[0][1]: want a probability in [0, 1], got NaN"},
		{"{\"matrix\": [[0.5, 0.5],\n [0.5, 0.5]], \"ref\": [-Infinity, 0.5]}", "g:2: ref[0]: want a probability in [0, 1], got -Infinity"},
		{"{\"matrix\": [[0.5, 0.5],\n [0.5, 0.5]], \"features\": [[1], [1e999]]}", "g:2: features[1][0]: want a finite number, got 1e999"},
		{`{"actions": [Infinity, "b"], "matrix": [[0.5, 0.5], [0.5, 0.5]]}`, "g:1: actions[0]: want a non-empty string, got Infinity"},
		{`{"actions": ["NaN", "b"], "matrix": [[0.5, 0.5], [0.5, 0.5]]}`, ""},
	} {
		g, err := ReadGame(strings.NewReader(tc.text), "g")
		switch {
		case tc.want == "" && (err != nil || g.Actions[0] != "NaN"):
			t.Errorf("%s: got %v, want action \"NaN\"", tc.text, err)
		case tc.want != "" && (err == nil || err.Error() != tc.want):
			t.Errorf("%s:\n got  %v\n want %s", tc.text, err, tc.want)
		}
	}
}
