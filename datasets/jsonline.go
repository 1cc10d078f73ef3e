package datasets

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"unicode"
)

// This file holds what the JSON Lines loaders share, so that a file is read
// and its mistakes are worded the same way whatever it holds: opening it,
// splitting it into lines, decoding a line with Python's NaN and Infinity
// let through to the field that holds them, and reading numbers; and the
// writers' number format.

// gzipMagic are the first two bytes of a gzip stream (RFC 1952).
var gzipMagic = []byte{0x1f, 0x8b}

// Open opens the file a loader reads; every reader of input files (the
// loaders here, and the plugins' own readers) opens through it. A file that starts with the gzip
// magic bytes is decompressed as it is read, whatever its name, so that every
// loader takes .gz exports as they are; lines and fields in errors are then
// those of the decompressed text, and a corrupt stream is reported by the
// loader, with the line it reached. Its error is an *Error (see fileError).
func Open(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileError(path, err)
	}
	br := bufio.NewReaderSize(f, 1<<16)
	if head, _ := br.Peek(len(gzipMagic)); !bytes.Equal(head, gzipMagic) {
		return &bufferedFile{Reader: br, f: f}, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		f.Close()
		return nil, &Error{File: path, Msg: "want a gzip stream after its magic bytes, got " + err.Error()}
	}
	return &gzipFile{Reader: zr, f: f}, nil
}

// bufferedFile is an input file read through the buffer that looked for the
// gzip magic bytes.
type bufferedFile struct {
	*bufio.Reader
	f *os.File
}

func (b *bufferedFile) Close() error { return b.f.Close() }

// gzipFile is a gzip-compressed input file, read decompressed.
type gzipFile struct {
	*gzip.Reader
	f *os.File
}

// Read reports a stream cut short in the loaders' words rather than as a
// bare "unexpected EOF".
func (g *gzipFile) Read(p []byte) (int, error) {
	n, err := g.Reader.Read(p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = errGzipTruncated
	}
	return n, err
}

var errGzipTruncated = errors.New("want a complete gzip stream, got a truncated one")

func (g *gzipFile) Close() error {
	err := g.Reader.Close()
	if cerr := g.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// fileError is the *Error of a file that could not be opened or read: the
// OS's reason alone ("no such file or directory"), since the message already
// starts with the file name that *os.PathError would repeat.
func fileError(path string, err error) *Error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &Error{File: path, Msg: err.Error()}
}

// utf8BOM is the byte order mark some editors put at the start of a file.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// scanJSONLines calls fn on every non-blank line of r with its 1-based
// number. fn gets the line without surrounding white space (nor, on line 1,
// a byte order mark) and col0, the number of bytes of the line before it,
// so that a message can give the column in the file. A line longer than
// maxLine bytes (a whole number of MiB) stops the scan with an *Error.
func scanJSONLines(r io.Reader, name string, maxLine int, fn func(b []byte, line, col0 int) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), maxLine)
	line := 0
	for sc.Scan() {
		line++
		raw := sc.Bytes()
		b := bytes.TrimSpace(raw)
		col0 := len(raw) - len(bytes.TrimLeftFunc(raw, unicode.IsSpace))
		if line == 1 && bytes.HasPrefix(b, utf8BOM) {
			b, col0 = b[len(utf8BOM):], col0+len(utf8BOM)
		}
		if len(b) == 0 {
			continue
		}
		if err := fn(b, line, col0); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return Errorf(name, line+1, "", "want a line of at most %d MiB, got a longer one", maxLine>>20)
		}
		return &Error{File: name, Line: line, Msg: err.Error()}
	}
	return nil
}

// readJSONRecords is scanJSONLines for a file of records, one JSON object
// per line, each read by fn: a file without any is an *Error "no <what>:
// want one JSON object per line".
func readJSONRecords(r io.Reader, name string, maxLine int, what string, fn func(b []byte, line, col0 int) error) error {
	n := 0
	err := scanJSONLines(r, name, maxLine, func(b []byte, line, col0 int) error {
		n++
		return fn(b, line, col0)
	})
	if err == nil && n == 0 {
		return &Error{File: name, Msg: "no " + what + ": want one JSON object per line"}
	}
	return err
}

// ReadJSONLines reads the file at path (opened by Open: gzip or not) as
// records, one JSON object per line, each handed to fn with its 1-based
// line number: blank lines and a leading byte order mark are skipped, a
// line longer than maxLine bytes (a whole number of MiB) and a file without
// records ("no <what>") are *Errors naming the file. It is the reader of
// the plugins' own line formats, with the loaders' conventions.
func ReadJSONLines(path string, maxLine int, what string, fn func(b []byte, line int) error) error {
	r, err := Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	return readJSONRecords(r, path, maxLine, what, func(b []byte, line, _ int) error { return fn(b, line) })
}

// decodeJSONLine decodes b, line `line` of file name (col0 bytes into it),
// into v, with the bare non-finite tokens quoted (quoteNonFinite) so that
// decoding reaches the field that holds one and validation names it. value
// is what the line should be ("JSON object"). A line that is not JSON gives
// an *Error naming the field and column where reading stopped
// (jsonText.syntaxError); JSON of another shape than v gives the
// *json.UnmarshalTypeError itself, which the caller words for its format.
func decodeJSONLine(v any, b []byte, name string, line, col0 int, value string) error {
	q := quoteNonFinite(b)
	err := json.Unmarshal(q, v)
	var te *json.UnmarshalTypeError
	if err == nil || errors.As(err, &te) {
		return err
	}
	t := jsonText{src: q, value: value, lines: true,
		column: func(i int) int { return col0 + nonFiniteOrigin(b, i) + 1 }}
	field, _, msg := t.syntaxError(err)
	return &Error{File: name, Line: line, Field: field, Msg: msg}
}

// decodeJSONRecord is decodeJSONLine for a line that is one JSON object
// decoded into the struct v: a member of another type than v's field is
// named by its path ("features[1]: want an array, got number").
func decodeJSONRecord(v any, b []byte, name string, line, col0 int) error {
	err := decodeJSONLine(v, b, name, line, col0, "JSON object")
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := jsonFieldPath(te.Field)
		if field == "" {
			field = "line"
		}
		return Errorf(name, line, field, "want %s, got %s", jsonKind(te.Type.Kind().String()), clipValue(te.Value))
	}
	return err
}

// jsonFieldPath turns encoding/json's "features.1" into "features[1]".
func jsonFieldPath(f string) string {
	var b strings.Builder
	for i, part := range strings.Split(f, ".") {
		if _, err := strconv.Atoi(part); err == nil && i > 0 {
			b.WriteString("[" + part + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(part)
	}
	return b.String()
}

func jsonKind(kind string) string {
	switch kind {
	case "int", "int64":
		return "an integer"
	case "float64":
		return "a number"
	case "slice":
		return "an array"
	case "struct":
		return "an object"
	}
	return kind
}

// nonFiniteTokens are the spellings of non-finite numbers that Python's json
// module writes and JSON lacks. The loaders that accept them quote them
// outside strings before decoding (quoteNonFinite, gameQuoteNonFinite),
// trying them in this order at each byte.
var nonFiniteTokens = []string{"NaN", "Infinity", "-Infinity", "+Infinity"}

// eachNonFinite calls fn with the index in b and the spelling of every bare
// non-finite token (nonFiniteTokens) outside the strings of b, in order.
func eachNonFinite(b []byte, fn func(i int, tok string)) {
	if !bytes.Contains(b, []byte("NaN")) && !bytes.Contains(b, []byte("Infinity")) {
		return
	}
	inString, escaped := false, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		if c == '"' {
			inString = true
			continue
		}
		for _, tok := range nonFiniteTokens {
			if bytes.HasPrefix(b[i:], []byte(tok)) {
				fn(i, tok)
				i += len(tok) - 1
				break
			}
		}
	}
}

// quoteNonFinite rewrites the bare non-finite tokens of b (eachNonFinite)
// as strings, so that the JSON decodes and the field holding one can be
// named; b itself when it has none. jsonNumber reads them back.
func quoteNonFinite(b []byte) []byte {
	var out []byte
	last := 0
	eachNonFinite(b, func(i int, tok string) {
		if out == nil {
			out = make([]byte, 0, len(b)+16)
		}
		out = append(out, b[last:i]...)
		out = append(append(append(out, '"'), tok...), '"')
		last = i + len(tok)
	})
	if out == nil {
		return b
	}
	return append(out, b[last:]...)
}

// jsonNumber decodes one JSON value that must be a number. The non-finite
// spellings of Python's json module, quoted by quoteNonFinite, decode to
// their values, which the caller then rejects by name; bad describes
// anything that is not a number ("string \"x\"", "null"), for a message.
func jsonNumber(raw json.RawMessage) (f float64, bad string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0, "nothing"
	}
	switch raw[0] {
	case '"':
		var s string
		_ = json.Unmarshal(raw, &s)
		switch s {
		case "NaN":
			return math.NaN(), ""
		case "Infinity", "+Infinity":
			return math.Inf(1), ""
		case "-Infinity":
			return math.Inf(-1), ""
		}
		return 0, "string " + quoteValue(s)
	case 't', 'f':
		return 0, "bool " + string(raw)
	case 'n':
		return 0, "null"
	case '[':
		return 0, "array"
	case '{':
		return 0, "object"
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		// Only out-of-range numbers get here: the line parsed as JSON.
		return 0, "number " + clipValue(string(raw)) + " (out of range)"
	}
	return f, ""
}

// finiteNumbers decodes elems, the elements of a JSON array, into dst (as
// long): each must be a finite number. It returns the index of the first
// that is not and what that one is ("NaN", `string "x"`), or −1.
func finiteNumbers(dst []float64, elems []json.RawMessage) (at int, got string) {
	for j, raw := range elems {
		f, bad := jsonNumber(raw)
		if bad != "" || !isFinite(f) {
			return j, badOr(bad, f)
		}
		dst[j] = f
	}
	return -1, ""
}

// badOr is what a message says a value is: bad, jsonNumber's description
// of a non-number, or else the number f.
func badOr(bad string, f float64) string {
	if bad != "" {
		return bad
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// appendFloats appends v as a JSON array, each number in the shortest form
// that reads back exactly.
func appendFloats(buf []byte, v []float64) []byte {
	buf = append(buf, '[')
	for j, f := range v {
		if j > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendFloat(buf, f, 'g', -1, 64)
	}
	return append(buf, ']')
}
