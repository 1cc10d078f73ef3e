package kernel

import (
	"fmt"
	"regexp"
	"strings"
)

// Paper is the reference a plugin implements.
type Paper struct {
	Title   string `json:"title"`
	Authors string `json:"authors"`
	Year    int    `json:"year"`
	ArXiv   string `json:"arxiv,omitempty"` // e.g. "2403.00409"
}

func (p Paper) String() string {
	s := fmt.Sprintf("%s (%d). %s.", p.Authors, p.Year, p.Title)
	if p.ArXiv != "" {
		s += " arXiv:" + p.ArXiv
	}
	return s
}

// DataFormat describes one kind of input a plugin accepts through --data.
type DataFormat struct {
	Name    string // e.g. "arena battles (JSONL)"
	Doc     string // fields and conventions, may span lines
	Example string // one line of an example file
}

// Info is what a plugin declares about itself. It must not change after Register.
type Info struct {
	ID      string // lowercase, dot-namespaced: "bt.ratings"
	Summary string // one line
	Papers  []Paper
	Params  []Param
	Data    []DataFormat
	// Doc is the longer text of `alignlab describe`: the loss formula, what
	// the plugin reports, and what it does without --data.
	Doc string
	// Model says what a run saves (Job.SetModel; `run --out DIR` writes
	// DIR/model) and what `alignlab score` and `alignlab sample` do with it;
	// empty for a plugin that trains nothing it could hand back (a
	// comparison, a sweep). A plugin with a Model must be a ModelLoader.
	Model string
	// Init says what starting from a saved model (Options.Init, `run
	// --model DIR`) means, e.g. "the ratings are the starting strengths";
	// empty when the plugin cannot.
	Init string
	// Precision says which float type the plugin computes in and why, e.g.
	// "float32 (GoMLX transformer)" or "float64: an exact testbed".
	Precision string
}

// Plugin is an algorithm the lab can run. Run is called by kernel.Run with
// validated params, a seeded random source and a context; it reports metrics
// through the Job and fills the Job's Result.
type Plugin interface {
	Info() Info
	Run(job *Job) error
}

// Quick is an optional ability of a Plugin, found by type assertion in the
// manner of database/sql's optional driver interfaces: params that make a
// run take well under a second while still drawing random numbers
// (sampling, mini-batches, bootstraps), so that the tests that run every
// registered plugin (determinism, provenance) need no edit elsewhere when a
// plugin is added. A plugin without it is run with its defaults there.
type Quick interface {
	QuickParams() map[string]any
}

// SampleData is an optional ability of a Plugin that reads --data, found by
// type assertion like Quick: it writes small valid input files into dir and
// returns their paths in --data order, so that the tests that run every
// plugin on files (provenance: what a run on data records) need no edit
// elsewhere when a plugin is added. Run with QuickParams, the files must
// make a run take well under a second.
type SampleData interface {
	SampleData(dir string) ([]string, error)
}

// QuickParams returns the Quick params of the plugin registered as id, and
// whether it has any.
func QuickParams(id string) (map[string]any, bool) {
	p, err := Lookup(id)
	if err != nil {
		return nil, false
	}
	q, ok := p.(Quick)
	if !ok {
		return nil, false
	}
	return q.QuickParams(), true
}

var (
	registry = NewRegistry[Plugin]("plugin")
	validID  = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)
)

// Register makes a plugin available by its ID. It panics if p is nil, if the
// ID is not lowercase and dot-namespaced, if a param is declared twice or has
// a default outside its range, or if the ID is already registered.
func Register(p Plugin) {
	if p == nil {
		panic("kernel: Register plugin is nil")
	}
	info := p.Info()
	if !validID.MatchString(info.ID) {
		panic(fmt.Sprintf("kernel: Register: plugin ID %q is not lowercase and dot-namespaced", info.ID))
	}
	if _, ok := p.(ModelLoader); info.Model != "" && !ok {
		panic(fmt.Sprintf("kernel: Register %s: Info.Model is set but the plugin is no ModelLoader", info.ID))
	}
	seen := map[string]bool{}
	for _, prm := range allParams(&info) {
		if seen[prm.Key] {
			panic(fmt.Sprintf("kernel: Register %s: param %q declared twice", info.ID, prm.Key))
		}
		seen[prm.Key] = true
		if _, err := prm.convert(prm.Default); err != nil {
			panic(fmt.Sprintf("kernel: Register %s: default %v of param %q is not %s %s",
				info.ID, prm.Default, prm.Key, prm.Type, prm.Allowed()))
		}
	}
	registry.Add(info.ID, p)
}

// RegisterAlias keeps old working as another ID of the registered plugin
// id, after a rename: Lookup and Run accept it (the result carries id),
// IDs does not list it, and Describe marks it deprecated. It panics if old
// is not a valid ID or is taken, or if id is not registered.
func RegisterAlias(old, id string) {
	if !validID.MatchString(old) {
		panic(fmt.Sprintf("kernel: RegisterAlias: plugin ID %q is not lowercase and dot-namespaced", old))
	}
	registry.Alias(old, id)
}

// Deprecated returns the current ID of an alias and true, or id and false.
func Deprecated(id string) (string, bool) { return registry.Canonical(id) }

// IDs returns the IDs of the registered plugins, sorted (without aliases).
func IDs() []string { return registry.Names() }

// UnknownPluginError is returned by Lookup for an ID nobody registered.
type UnknownPluginError struct {
	ID    string
	Known []string
}

func (e *UnknownPluginError) Error() string {
	known := "none"
	if len(e.Known) > 0 {
		known = strings.Join(e.Known, ", ")
	}
	return fmt.Sprintf("kernel: unknown plugin %q (forgotten import of github.com/alignlab/alignlab/algos/all?); known: %s", e.ID, known)
}

// Lookup returns the plugin registered under id.
func Lookup(id string) (Plugin, error) {
	p, ok := registry.Get(id)
	if !ok {
		return nil, &UnknownPluginError{ID: id, Known: IDs()}
	}
	return p, nil
}

// unregister is for tests that register throw-away plugins.
func unregister(id string) { registry.Remove(id) }

// Options are the inputs of one run besides the plugin ID.
type Options struct {
	// Params are raw parameter values (strings or Go values); missing keys
	// take their defaults. The seed is Params["seed"].
	Params map[string]any
	// Data are input files; each plugin documents the formats it reads.
	// Without data, plugins use their documented default (a generator or an
	// embedded sample).
	Data []string
	// Init, if set, is a saved model's directory the run starts from
	// (Job.InitModel); only plugins whose Info.Init is set accept one.
	Init string
	// Observer, if set, receives every progress event, in order, from the
	// goroutine running the plugin. It must be quick.
	Observer func(Event)
}

// Describe returns the text of `alignlab describe id`.
func Describe(id string) (string, error) {
	p, err := Lookup(id)
	if err != nil {
		return "", err
	}
	info := p.Info()
	var b strings.Builder
	fmt.Fprintf(&b, "%s — %s\n", info.ID, info.Summary)
	if to, ok := Deprecated(id); ok {
		fmt.Fprintf(&b, "\nDeprecated: %s is an old ID of %s; use %s.\n", id, to, to)
	}
	if len(info.Papers) > 0 {
		b.WriteString("\nPaper:\n")
		for _, pp := range info.Papers {
			fmt.Fprintf(&b, "  %s\n", pp)
		}
	}
	if info.Doc != "" {
		b.WriteString("\n")
		b.WriteString(strings.TrimRight(info.Doc, "\n"))
		b.WriteString("\n")
	}
	if info.Precision != "" {
		fmt.Fprintf(&b, "\nPrecision: %s\n", info.Precision)
	}
	if info.Model != "" {
		b.WriteString("\nModel (run --out DIR writes DIR/model; alignlab score / sample --model DIR use it):\n")
		for _, line := range strings.Split(strings.TrimRight(info.Model, "\n"), "\n") {
			fmt.Fprintf(&b, "  %s\n", line)
		}
	}
	if info.Init != "" {
		b.WriteString("\nStarting from a saved model (run --model DIR):\n")
		for _, line := range strings.Split(strings.TrimRight(info.Init, "\n"), "\n") {
			fmt.Fprintf(&b, "  %s\n", line)
		}
	}
	b.WriteString("\nParams:\n")
	for _, prm := range allParams(&info) {
		doc := prm.Doc
		if prm.Generator && len(info.Data) > 0 {
			doc += " [generated data only: ignored with --data]"
		}
		fmt.Fprintf(&b, "  %-22s %-6s default %-10v %s\n      %s\n", prm.Key, prm.Type, fmtValue(prm.Default), prm.Allowed(), doc)
	}
	b.WriteString("\nData (--data):\n")
	if len(info.Data) == 0 {
		b.WriteString("  none: the plugin generates its own data from its params\n")
	}
	for _, d := range info.Data {
		fmt.Fprintf(&b, "  %s\n", d.Name)
		for _, line := range strings.Split(strings.TrimRight(d.Doc, "\n"), "\n") {
			fmt.Fprintf(&b, "      %s\n", line)
		}
		if d.Example != "" {
			fmt.Fprintf(&b, "      example: %s\n", d.Example)
		}
	}
	return b.String(), nil
}
