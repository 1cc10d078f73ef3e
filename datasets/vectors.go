package datasets

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// This file holds the files of vectors: LoadVectors and ReadVectors read
// JSONL or CSV, WriteVectorsCSV writes CSV.

// vectorsMaxLine bounds one line of a vector file.
const vectorsMaxLine = 16 << 20

// LoadVectors reads a file of equal-length vectors, one per line, in one of
// two formats, told apart by the first non-blank character:
//
//   - JSONL, when it is '[': one JSON array of numbers per line, e.g.
//     [0.5, -1.2]. Python's NaN and Infinity tokens are read and rejected.
//   - CSV otherwise: comma-separated numbers, one row per vector; a first
//     row without any number is a header naming the columns.
//
// Blank lines are skipped. Problems are *Error values naming the file, the
// 1-based line and the field ("[2]" in JSONL, the header's column name or
// "column 3" in CSV): a ragged row, a value that is not a finite number, or
// a file without vectors.
func LoadVectors(path string) ([][]float64, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadVectors(f, path)
}

// ReadVectors reads vectors from r in LoadVectors's formats; name is the
// file name used in errors.
func ReadVectors(r io.Reader, name string) ([][]float64, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	first, err := vecFirstByte(br)
	if err != nil {
		return nil, &Error{File: name, Msg: err.Error()}
	}
	var rows [][]float64
	switch first {
	case 0:
	case '[':
		rows, err = vecJSONL(br, name)
	default:
		rows, err = vecCSV(br, name)
	}
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, &Error{File: name, Msg: "no vectors: want one vector per line (CSV numbers or JSON arrays)"}
	}
	return rows, nil
}

// vecFirstByte peeks at the first byte that is not blank or a UTF-8 byte
// order mark; 0 means the input is blank.
func vecFirstByte(br *bufio.Reader) (byte, error) {
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = br.Discard(3)
	}
	for n := 1; ; n++ {
		b, err := br.Peek(n)
		if len(b) < n {
			if err == io.EOF || err == bufio.ErrBufferFull {
				return 0, nil
			}
			return 0, err
		}
		c := b[n-1]
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return c, nil
		}
	}
}

// vecJSONL reads the JSONL form, whose first non-blank byte is '['.
func vecJSONL(br *bufio.Reader, name string) ([][]float64, error) {
	var rows [][]float64
	dimLine := 0
	err := scanJSONLines(br, name, vectorsMaxLine, func(b []byte, line, col0 int) error {
		var raw []json.RawMessage
		if err := decodeJSONLine(&raw, b, name, line, col0, "JSON array of numbers"); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return Errorf(name, line, "line", "want a JSON array of numbers, got %s", clipValue(te.Value))
			}
			return err
		}
		if len(rows) > 0 && len(raw) != len(rows[0]) {
			return Errorf(name, line, "line", "want %d numbers (as on line %d), got %d", len(rows[0]), dimLine, len(raw))
		}
		if len(raw) == 0 {
			return Errorf(name, line, "line", "want a non-empty vector, got []")
		}
		if len(rows) == 0 {
			dimLine = line
		}
		v := make([]float64, len(raw))
		if j, got := finiteNumbers(v, raw); j >= 0 {
			return Errorf(name, line, fmt.Sprintf("[%d]", j), "want a finite number, got %s", got)
		}
		rows = append(rows, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func vecCSV(br *bufio.Reader, name string) ([][]float64, error) {
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1 // ragged rows are reported below, with the expected count
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	var rows [][]float64
	var header []string
	dimLine := 0
	for rec := 0; ; rec++ {
		fields, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, Errorf(name, pe.Line, "", "want CSV, got %v at column %d", pe.Err, pe.Column)
			}
			return nil, &Error{File: name, Msg: err.Error()}
		}
		line, _ := cr.FieldPos(0)
		if rec == 0 && vecIsHeader(fields) {
			header = append([]string(nil), fields...)
			dimLine = line
			continue
		}
		want := len(header)
		if want == 0 && len(rows) > 0 {
			want = len(rows[0])
		}
		if want > 0 && len(fields) != want {
			what := "as on line"
			if header != nil {
				what = "as in the header on line"
			}
			return nil, Errorf(name, line, "row", "want %d values (%s %d), got %d", want, what, dimLine, len(fields))
		}
		if want == 0 {
			dimLine = line
		}
		v := make([]float64, len(fields))
		for j, s := range fields {
			s = strings.TrimSpace(s)
			f, err := strconv.ParseFloat(s, 64)
			field := fmt.Sprintf("column %d", j+1)
			if header != nil {
				// A header name names the field unless it would break the one-line message.
				if h := strings.TrimSpace(header[j]); h != "" && !strings.ContainsAny(h, "\r\n") {
					field = clipValue(h)
				}
			}
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				return nil, Errorf(name, line, field, "want a finite number, got %s", quoteValue(s))
			}
			if err != nil || !isFinite(f) {
				return nil, Errorf(name, line, field, "want a finite number, got %s", clipValue(s))
			}
			v[j] = f
		}
		rows = append(rows, v)
	}
	return rows, nil
}

// vecIsHeader reports whether a first CSV row is a header: none of its
// fields reads as a number (a row with some numbers is data with a typo).
func vecIsHeader(fields []string) bool {
	for _, s := range fields {
		if _, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
			return false
		}
	}
	return true
}

// WriteVectorsCSV writes rows as CSV without a header, each number in the
// shortest form that reads back exactly.
func WriteVectorsCSV(w io.Writer, rows [][]float64) error {
	bw := bufio.NewWriter(w)
	buf := make([]byte, 0, 64)
	for _, v := range rows {
		buf = buf[:0]
		for j, f := range v {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = strconv.AppendFloat(buf, f, 'g', -1, 64)
		}
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}
