package kernel

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
)

// Result is what one run produces. It encodes to JSON and back; with the same
// seed and backend, two runs give byte-identical CanonicalJSON (Timing is the
// only field that differs).
type Result struct {
	Plugin     string             `json:"plugin"`
	Params     map[string]any     `json:"params"`
	Seed       int64              `json:"seed"`
	Backend    string             `json:"backend"`
	Provenance Provenance         `json:"provenance"`
	Final      map[string]float64 `json:"final"`
	Series     map[string][]Point `json:"series"`
	Tables     map[string]*Table  `json:"tables"`
	Charts     []Chart            `json:"charts,omitempty"`
	Notes      []string           `json:"notes,omitempty"`
	Timing     *Timing            `json:"timing,omitempty"`
	// Model is what the run trained, if its plugin saves one (Info.Model);
	// SaveModel writes it, it is not part of the JSON.
	Model Model `json:"-"`
}

// Timing holds the fields that legitimately differ between identical runs.
type Timing struct {
	Started     string  `json:"started"` // RFC 3339, UTC
	WallSeconds float64 `json:"wall_seconds"`
}

// Provenance says what produced a Result.
type Provenance struct {
	Module        string            `json:"module"`
	ModuleVersion string            `json:"module_version"`
	GoVersion     string            `json:"go_version"`
	Deps          map[string]string `json:"deps,omitempty"` // module path → version, for gomlx, compute, gonum
	Data          []DataHash        `json:"data,omitempty"`
	// Init is the saved model the run started from (run --model DIR).
	Init *ModelRef `json:"init,omitempty"`
	// Model is the saved model a score or sample used.
	Model *ModelRef `json:"model,omitempty"`
}

// DataHash identifies one input file.
type DataHash struct {
	Path   string `json:"path"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
	// Shape is what the plugin read from the file (rows, dimension,
	// models, actions…), set with Job.DataShape.
	Shape map[string]any `json:"shape,omitempty"`
}

// Point is one value of a metric series; it encodes as [step, value].
type Point struct {
	Step  int64
	Value float64
}

// MarshalJSON encodes p as [step, value].
func (p Point) MarshalJSON() ([]byte, error) {
	return json.Marshal([2]any{p.Step, jsonFloat(p.Value)})
}

// UnmarshalJSON decodes [step, value].
func (p *Point) UnmarshalJSON(b []byte) error {
	var raw [2]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("kernel: point: want [step, value]: %w", err)
	}
	if err := json.Unmarshal(raw[0], &p.Step); err != nil {
		return err
	}
	v, err := decodeFloat(raw[1])
	p.Value = v
	return err
}

// Table is a named table of a Result: rows of values under named columns.
// Cells are float64, int64, string, bool or nil; non-finite floats encode as
// the strings "NaN", "+Inf" and "-Inf". A nil cell is a quantity that does
// not exist (an interval without a bootstrap), not a failed computation: it
// encodes as JSON null and decodes back to nil, and Floats reads it as NaN.
type Table struct {
	Columns []string `json:"columns"`
	Rows    [][]any  `json:"rows"`
}

// NewTable returns an empty table with the given columns.
func NewTable(columns ...string) *Table { return &Table{Columns: columns, Rows: [][]any{}} }

// Add appends a row; it panics if the number of cells is not the number of columns.
func (t *Table) Add(cells ...any) {
	if len(cells) != len(t.Columns) {
		panic(fmt.Sprintf("kernel: table row has %d cells for %d columns", len(cells), len(t.Columns)))
	}
	row := make([]any, len(cells))
	for i, c := range cells {
		switch x := c.(type) {
		case int:
			row[i] = int64(x)
		case float32:
			row[i] = float64(x)
		default:
			row[i] = c
		}
	}
	t.Rows = append(t.Rows, row)
}

// WriteCSV writes the table as CSV: a header of the column names, then a
// line a row; floats in the shortest form that reads back exactly, a nil
// cell (a quantity that does not exist) as an empty field.
func (t *Table) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.Columns); err != nil {
		return err
	}
	rec := make([]string, len(t.Columns))
	for _, row := range t.Rows {
		for i, c := range row {
			switch x := c.(type) {
			case nil:
				rec[i] = ""
			case float64:
				rec[i] = strconv.FormatFloat(x, 'g', -1, 64)
			default:
				rec[i] = fmt.Sprint(x)
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Col returns the index of column name, or -1.
func (t *Table) Col(name string) int {
	for i, c := range t.Columns {
		if c == name {
			return i
		}
	}
	return -1
}

// Floats returns column name as floats (ints converted; nil and other cells
// NaN).
func (t *Table) Floats(name string) []float64 {
	c := t.Col(name)
	out := make([]float64, len(t.Rows))
	for i, r := range t.Rows {
		out[i] = math.NaN()
		if c < 0 {
			continue
		}
		switch x := r[c].(type) {
		case float64:
			out[i] = x
		case int64:
			out[i] = float64(x)
		case json.Number:
			out[i], _ = x.Float64()
		case string:
			if v, err := decodeFloat(json.RawMessage(strconv.Quote(x))); err == nil {
				out[i] = v
			}
		}
	}
	return out
}

// Strings returns column name formatted as strings ("" for nil cells).
func (t *Table) Strings(name string) []string {
	c := t.Col(name)
	out := make([]string, len(t.Rows))
	for i, r := range t.Rows {
		if c >= 0 && r[c] != nil {
			out[i] = fmt.Sprint(r[c])
		}
	}
	return out
}

// Chart declares a chart of a Result, drawn from its series or tables by
// report.Charts (for reports and notebooks). Being data, it survives JSON.
type Chart struct {
	// Kind is one of "line" (Series vs step), "leaderboard" (Label, Value,
	// Low, High columns of Table), "heatmap" (X, Y, Value columns of Table),
	// "bar" (X category, Value columns, one bar series per Group value) and
	// "xy" (X, Value columns of Table, one line per Group value; with Low
	// and High columns, an error bar from low to high at each point) and
	// "scatter" (X, Y columns of Table, one point cloud per Group value).
	Kind   string   `json:"kind"`
	ID     string   `json:"id"` // [A-Za-z0-9_]+, unique within the result
	Title  string   `json:"title"`
	Series []string `json:"series,omitempty"`
	Table  string   `json:"table,omitempty"`
	Label  string   `json:"label,omitempty"`
	X      string   `json:"x,omitempty"`
	Y      string   `json:"y,omitempty"`
	Value  string   `json:"value,omitempty"`
	Low    string   `json:"low,omitempty"`
	High   string   `json:"high,omitempty"`
	Group  string   `json:"group,omitempty"`
	XLabel string   `json:"x_label,omitempty"`
	YLabel string   `json:"y_label,omitempty"`
	LogX   bool     `json:"log_x,omitempty"`
	// Equal asks for equal scales on both axes (a scatter of 2-D points,
	// where a circle must stay a circle).
	Equal bool `json:"equal,omitempty"`
}

// jsonFloat maps non-finite floats to strings, which JSON can hold.
func jsonFloat(v float64) any {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return v
}

func decodeFloat(raw json.RawMessage) (float64, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "NaN":
			return math.NaN(), nil
		case "+Inf":
			return math.Inf(1), nil
		case "-Inf":
			return math.Inf(-1), nil
		}
		return 0, fmt.Errorf("kernel: %q is not a number", s)
	}
	var v float64
	err := json.Unmarshal(raw, &v)
	return v, err
}

// MarshalJSON encodes the table, writing non-finite floats as strings and
// nil cells as null.
func (t *Table) MarshalJSON() ([]byte, error) {
	rows := make([][]any, len(t.Rows))
	for i, r := range t.Rows {
		rows[i] = make([]any, len(r))
		for j, c := range r {
			if f, ok := c.(float64); ok {
				rows[i][j] = jsonFloat(f)
			} else {
				rows[i][j] = c
			}
		}
	}
	type plain struct {
		Columns []string `json:"columns"`
		Rows    [][]any  `json:"rows"`
	}
	return json.Marshal(plain{t.Columns, rows})
}

// MarshalJSON encodes r with non-finite final metrics written as strings.
func (r *Result) MarshalJSON() ([]byte, error) {
	type alias Result
	final := make(map[string]any, len(r.Final))
	for k, v := range r.Final {
		final[k] = jsonFloat(v)
	}
	return json.Marshal(struct {
		*alias
		Final map[string]any `json:"final"`
	}{(*alias)(r), final})
}

// UnmarshalJSON decodes a Result written by MarshalJSON. Integer cells and
// params decode as int64 where they are whole numbers written without a point.
func (r *Result) UnmarshalJSON(b []byte) error {
	type alias Result
	aux := struct {
		*alias
		Final  map[string]json.RawMessage `json:"final"`
		Params map[string]json.RawMessage `json:"params"`
		Tables map[string]*struct {
			Columns []string            `json:"columns"`
			Rows    [][]json.RawMessage `json:"rows"`
		} `json:"tables"`
	}{alias: (*alias)(r)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	r.Final = make(map[string]float64, len(aux.Final))
	for k, raw := range aux.Final {
		v, err := decodeFloat(raw)
		if err != nil {
			return fmt.Errorf("kernel: result final %q: %w", k, err)
		}
		r.Final[k] = v
	}
	r.Params = make(map[string]any, len(aux.Params))
	for k, raw := range aux.Params {
		r.Params[k] = decodeScalar(raw)
	}
	r.Tables = make(map[string]*Table, len(aux.Tables))
	for name, t := range aux.Tables {
		nt := &Table{Columns: t.Columns, Rows: make([][]any, len(t.Rows))}
		for i, row := range t.Rows {
			nt.Rows[i] = make([]any, len(row))
			for j, cell := range row {
				nt.Rows[i][j] = decodeScalar(cell)
			}
		}
		r.Tables[name] = nt
	}
	return nil
}

// decodeScalar decodes a JSON scalar to int64, float64, bool, string or nil.
// The strings "NaN", "+Inf" and "-Inf" stay strings in tables and params.
func decodeScalar(raw json.RawMessage) any {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil
	}
	if n, ok := v.(json.Number); ok {
		if i, err := n.Int64(); err == nil && !bytes.ContainsAny(raw, ".eE") {
			return i
		}
		f, _ := n.Float64()
		return f
	}
	return v
}

// JSON returns r indented, with timing. Arrays of scalars (series points,
// table rows) stay on one line each, so a long series is as many lines.
func (r *Result) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(collapseScalarArrays(b), '\n'), nil
}

// scalarArray matches an indented array whose elements are all scalars, one
// per line. A line holding a bracket or brace (even inside a string) does not
// match, so such arrays simply stay expanded.
var scalarArray = regexp.MustCompile(`\[\n(?:[ ]*[^\[\]{}\n]+\n)+[ ]*\]`)

func collapseScalarArrays(b []byte) []byte {
	return scalarArray.ReplaceAllFunc(b, func(m []byte) []byte {
		lines := bytes.Split(m[2:len(m)-1], []byte("\n"))
		out := []byte{'['}
		for _, l := range lines {
			l = bytes.TrimSpace(l)
			if len(l) == 0 {
				continue
			}
			if len(out) > 1 {
				out = append(out, ' ')
			}
			out = append(out, l...)
		}
		return append(out, ']')
	})
}

// CanonicalJSON returns r indented, without the timing section: the bytes
// that must be identical across runs with the same seed and backend.
func (r *Result) CanonicalJSON() ([]byte, error) {
	c := *r
	c.Timing = nil
	return c.JSON()
}

// SeriesNames returns the names of r's metric series, sorted.
func (r *Result) SeriesNames() []string {
	names := make([]string, 0, len(r.Series))
	for k := range r.Series {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// TableNames returns the names of r's tables, sorted.
func (r *Result) TableNames() []string {
	names := make([]string, 0, len(r.Tables))
	for k := range r.Tables {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
