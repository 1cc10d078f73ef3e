package datasets

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file holds what the loaders' error messages share: bad values are
// clipped, because a value can be megabytes long and a message must stay
// one short line; and a syntax error of encoding/json becomes a field path
// and a "want …, got …" message instead of the decoder's own words
// ("invalid character 'N' looking for beginning of value").

// maxQuoted is how many bytes of a bad value a message shows.
const maxQuoted = 64

// quoteValue is strconv.Quote(s), cut at maxQuoted bytes when longer and
// followed by "…" and the whole length: "xxxx"… (20971520 bytes).
func quoteValue(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	return strconv.Quote(clipUTF8(s)) + fmt.Sprintf("… (%d bytes)", len(s))
}

// clipValue is quoteValue for text shown as it is (a number as written,
// raw JSON, a field name).
func clipValue(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	return clipUTF8(s) + fmt.Sprintf("… (%d bytes)", len(s))
}

// clipUTF8 returns the first maxQuoted bytes of s, less a rune cut in two.
func clipUTF8(s string) string {
	n := maxQuoted
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// nonFiniteOrigin maps index i of quoteNonFinite(orig) back to an index of
// orig: every token quoted before i moved the rest 2 bytes on, and an index
// inside a quoted token maps to the token's first byte.
func nonFiniteOrigin(orig []byte, i int) int {
	shift, at := 0, -1
	eachNonFinite(orig, func(k int, tok string) {
		start := k + shift // of the quoted token, at its opening quote
		switch {
		case at >= 0 || i < start:
		case i < start+len(tok)+2:
			at = k
		default:
			shift += 2
		}
	})
	if at >= 0 {
		return at
	}
	return i - shift
}

// jsonText is a JSON text that encoding/json failed to read, with what the
// loader wanted it to be.
type jsonText struct {
	src   []byte // what was given to encoding/json
	value string // what src should hold: "JSON object", "JSON array of numbers"
	lines bool   // src is one line of a JSON Lines file, not a whole file
	// column maps an index of src to the 1-based column in the file (src
	// may be a trimmed line, or have NaN tokens quoted); nil means index + 1.
	column func(i int) int
}

// jsonMaxDepth is encoding/json's limit on nesting.
const jsonMaxDepth = 10000

// syntaxError describes err, the error encoding/json returned for t.src (a
// *json.SyntaxError, or io.EOF or io.ErrUnexpectedEOF from a Decoder that
// ran out of input): the field path where reading stopped ("" at the top
// level), the index in src of the byte it stopped at (the last non-blank
// byte when the input ended early), and a message saying what was wanted
// there and what came instead.
func (t jsonText) syntaxError(err error) (field string, at int, msg string) {
	var se *json.SyntaxError
	eof := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
	at = len(t.src)
	if errors.As(err, &se) {
		if se.Error() == "unexpected end of JSON input" {
			eof = true
		} else {
			at = min(max(int(se.Offset)-1, 0), len(t.src)) // Offset counts the offending byte
		}
	}
	if eof || at >= len(t.src) {
		return t.unclosed()
	}
	open, _ := jsonScan(t.src, at)
	field = jsonPath(open)
	col := func(i int) int {
		if t.column != nil {
			return t.column(i)
		}
		return i + 1
	}
	r, size := utf8.DecodeRune(t.src[at:])
	if r == utf8.RuneError && size == 1 {
		return field, at, fmt.Sprintf("want %s (UTF-8), got byte 0x%02x at column %d", t.one(), t.src[at], col(at))
	}
	got := fmt.Sprintf("%s at column %d", strconv.QuoteRune(r), col(at))
	ctx := ""
	if se != nil {
		ctx = se.Error()
	}
	// The contexts of encoding/json's messages, in the words of both its
	// implementations (Go 1.27 builds it on encoding/json/v2 by default).
	switch {
	case strings.HasSuffix(ctx, "exceeded max depth"):
		return field, at, fmt.Sprintf("want JSON nested at most %d deep, got deeper at column %d", jsonMaxDepth, col(at))
	case strings.HasSuffix(ctx, " after top-level value"):
		return field, at, fmt.Sprintf("want %s, got %s after a complete value at column %d", t.one(), strconv.QuoteRune(r), col(at))
	case strings.HasSuffix(ctx, " looking for beginning of value"):
		if len(open) == 0 {
			return field, at, fmt.Sprintf("want %s, got %s", t.one(), got)
		}
		return field, at, "want a JSON value (number, string, array, object, true, false or null), got " + got
	case strings.HasSuffix(ctx, " looking for beginning of object key string"):
		return field, at, "want a quoted key, got " + got
	case strings.HasSuffix(ctx, " after object key"):
		return field, at, "want ':' after the key, got " + got
	case strings.HasSuffix(ctx, " after object key:value pair"):
		return field, at, "want ',' or '}' after the value, got " + got
	case strings.HasSuffix(ctx, " after array element"):
		return field, at, "want ',' or ']' after the element, got " + got
	case strings.Contains(ctx, " escape"): // "in string escape code", "invalid escape sequence `\q` in string"
		k := bytes.LastIndexByte(t.src[:at+1], '\\')
		if k < 0 {
			k = at
		}
		return field, k, fmt.Sprintf(`want an escape \" \\ \/ \b \f \n \r \t or \u and 4 hex digits, got %s at column %d`,
			clipValue(string(t.src[k:at+1])), col(k))
	case strings.HasSuffix(ctx, " in string literal"), strings.HasSuffix(ctx, " in string"):
		return field, at, "want a string without raw control characters (escape them), got " + got
	case strings.HasSuffix(ctx, " numeric literal"):
		return field, at, "want a number, got " + got
	case strings.Contains(ctx, " in literal "):
		lit, _, _ := strings.Cut(ctx[strings.Index(ctx, " in literal ")+len(" in literal "):], " ")
		return field, at, fmt.Sprintf("want %s, got %s", lit, got)
	}
	return field, at, fmt.Sprintf("want %s, got invalid JSON at column %d (%v)", t.one(), col(at), err)
}

// one is what the whole of src should be.
func (t jsonText) one() string {
	if t.lines {
		return "one " + t.value + " per line"
	}
	return "a " + t.value
}

// unclosed describes input that ended inside a value: the innermost open
// string, array or object names the field.
func (t jsonText) unclosed() (field string, at int, msg string) {
	at = max(len(bytes.TrimRight(t.src, " \t\r\n"))-1, 0)
	end := "end of file"
	if t.lines {
		end = "end of line"
	}
	msg = fmt.Sprintf("want a complete %s, got %s", t.value, end)
	open, inString := jsonScan(t.src, len(t.src))
	switch {
	case inString:
		return jsonPath(open), at, "unclosed string: " + msg
	case len(open) > 1:
		kind := "object"
		if open[len(open)-1].array {
			kind = "array"
		}
		return jsonPath(open[:len(open)-1]), at, "unclosed " + kind + ": " + msg
	}
	return "", at, msg
}

// jsonFrame is an array or object open at some point of a JSON text.
type jsonFrame struct {
	array  bool
	index  int    // array: the element being read
	key    []byte // object: the key of the member being read, as written
	hasKey bool   // object: past the key of a member (false between members)
}

// jsonScan walks src[:end], which encoding/json has read without error, and
// returns the arrays and objects open at end, outermost first, and whether
// end is inside a string.
func jsonScan(src []byte, end int) (open []jsonFrame, inString bool) {
	for i := 0; i < end; i++ {
		switch src[i] {
		case '"':
			j := i + 1
			for j < end && src[j] != '"' {
				if src[j] == '\\' {
					j++
				}
				j++
			}
			if j >= end {
				return open, true
			}
			if n := len(open); n > 0 && !open[n-1].array && !open[n-1].hasKey {
				open[n-1].key, open[n-1].hasKey = src[i:j+1], true
			}
			i = j
		case '{':
			open = append(open, jsonFrame{})
		case '[':
			open = append(open, jsonFrame{array: true})
		case '}', ']':
			if len(open) > 0 {
				open = open[:len(open)-1]
			}
		case ',':
			if n := len(open); n > 0 {
				if open[n-1].array {
					open[n-1].index++
				} else {
					open[n-1].hasKey = false
				}
			}
		}
	}
	return open, false
}

// jsonPath names the value being read inside open in the loaders' field
// style: features[1][0], prompts[0].matrix. A path longer than maxQuoted
// bytes ends in "…" after the last part that fits.
func jsonPath(open []jsonFrame) string {
	var b strings.Builder
	for _, f := range open {
		var part string
		switch {
		case f.array:
			part = "[" + strconv.Itoa(f.index) + "]"
		case !f.hasKey:
			return b.String()
		default:
			var key string
			if json.Unmarshal(f.key, &key) != nil {
				key = string(f.key)
			}
			if b.Len() > 0 {
				key = "." + key
			}
			part = key
		}
		if b.Len()+len(part) > maxQuoted {
			if b.Len() == 0 { // one long key
				return clipUTF8(part) + "…"
			}
			return b.String() + "…"
		}
		b.WriteString(part)
	}
	return b.String()
}
