package datasets

import (
	"fmt"
	"strings"
)

// Error is a problem with an input file, located as precisely as known:
// file, line (1-based, 0 when not known) and field (empty when not known).
// Its message is one line: "arena.jsonl:12: winner: want one of ..., got \"x\"".
type Error struct {
	File  string
	Line  int
	Field string
	Msg   string
}

// lineBreaks keeps an error on one line whatever the input put in its
// field or message (a CSV header cell may hold a carriage return).
var lineBreaks = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(lineBreaks.Replace(e.File))
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(lineBreaks.Replace(e.Field))
	}
	b.WriteString(": ")
	b.WriteString(lineBreaks.Replace(e.Msg))
	return b.String()
}

// Errorf returns an *Error for file:line:field with a formatted message.
func Errorf(file string, line int, field, format string, args ...any) *Error {
	return &Error{File: file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)}
}
