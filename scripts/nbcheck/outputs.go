package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// notebook is the part of an .ipynb file the checks read.
type notebook struct {
	Cells    []cell `json:"cells"`
	Metadata struct {
		Kernelspec struct {
			Name string `json:"name"`
		} `json:"kernelspec"`
	} `json:"metadata"`
}

type cell struct {
	CellType       string    `json:"cell_type"`
	Source         multiline `json:"source"`
	ExecutionCount *int      `json:"execution_count"`
	Outputs        []output  `json:"outputs"`
}

type output struct {
	OutputType string               `json:"output_type"`
	Name       string               `json:"name"` // stdout or stderr, for streams
	Text       multiline            `json:"text"`
	Ename      string               `json:"ename"`
	Evalue     string               `json:"evalue"`
	Data       map[string]multiline `json:"data"`
}

// multiline is nbformat's string-or-list-of-strings.
type multiline string

func (m *multiline) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*m = multiline(s)
		return nil
	}
	var parts []string
	if err := json.Unmarshal(b, &parts); err != nil {
		// Non-text data (a JSON object of application/json): not ours to read.
		*m = ""
		return nil
	}
	*m = multiline(strings.Join(parts, ""))
	return nil
}

func readNotebook(path string) (*notebook, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var nb notebook
	if err := json.Unmarshal(b, &nb); err != nil {
		return nil, fmt.Errorf("%s: not a notebook: %v", path, err)
	}
	return &nb, nil
}

// FirstCell is the first cell every notebook of the repository starts with:
// it makes the notebook's module require this one, replaced by the checkout
// the notebook lives in, whatever its path.
const FirstCell = "!*go mod edit -require=github.com/alignlab/alignlab@v0.0.0 -replace=github.com/alignlab/alignlab=${GONB_DIR}/.."

// KernelName is the kernelspec the notebooks name.
const KernelName = "alignlab"

// cleanProblems lists what is wrong with a notebook as committed: it must
// start with FirstCell, name the alignlab kernel and carry no outputs or
// execution counts (outputs are build products, and megabytes each).
func cleanProblems(nb *notebook) []string {
	var probs []string
	if nb.Metadata.Kernelspec.Name != KernelName {
		probs = append(probs, fmt.Sprintf("kernelspec is %q, want %q", nb.Metadata.Kernelspec.Name, KernelName))
	}
	first := -1
	for i, c := range nb.Cells {
		if c.CellType == "code" {
			first = i
			break
		}
	}
	if first < 0 || strings.TrimSpace(string(nb.Cells[first].Source)) != FirstCell {
		probs = append(probs, "the first code cell must be exactly: "+FirstCell)
	}
	for i, c := range nb.Cells {
		if len(c.Outputs) > 0 {
			probs = append(probs, fmt.Sprintf("cell %d has %d outputs: commit notebooks without outputs", i+1, len(c.Outputs)))
		}
		if c.ExecutionCount != nil {
			probs = append(probs, fmt.Sprintf("cell %d has an execution count: commit notebooks without outputs", i+1))
		}
	}
	return probs
}

// crashText matches what a Go program that died prints: nbconvert fails on
// GoNB's error outputs, but a panic in a goroutine or an os.Exit may leave
// only these lines in a stream.
var crashText = regexp.MustCompile(`(?m)(^panic: |^fatal error: |exit status [0-9]+)`)

// outputProblems lists the failures recorded in an executed notebook (cells
// numbered from 1, as Jupyter shows them): error
// outputs, and streams with a panic, a fatal error or an exit status.
func outputProblems(nb *notebook) []string {
	var probs []string
	for i, c := range nb.Cells {
		for _, o := range c.Outputs {
			switch o.OutputType {
			case "error":
				probs = append(probs, fmt.Sprintf("cell %d: error output: %s: %s", i+1, o.Ename, firstLine(o.Evalue)))
			case "stream":
				if m := crashText.FindStringIndex(string(o.Text)); m != nil {
					probs = append(probs, fmt.Sprintf("cell %d: %s: %s", i+1, o.Name, lineAt(string(o.Text), m[0])))
				}
			}
		}
	}
	return probs
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// lineAt returns the line of s that holds byte i.
func lineAt(s string, i int) string {
	start := strings.LastIndexByte(s[:i], '\n') + 1
	end := strings.IndexByte(s[i:], '\n')
	if end < 0 {
		return s[start:]
	}
	return s[start : i+end]
}
