// Package kernel is the heart of alignlab: the plugin contract — the
// registry, the declared params, the run contract and its Result — and
// nothing else, so that a plugin package links neither GoNB nor the chart
// library.
//
// # Registry
//
// Algorithm packages register a Plugin in their init, in the manner of
// database/sql drivers; a program imports them for their side effect:
//
//	import _ "github.com/alignlab/alignlab/algos/all"
//
// Register panics on a duplicate ID; Lookup of an unknown ID lists the known
// ones and names the forgotten import; IDs returns them sorted. A renamed
// plugin keeps its old ID working with RegisterAlias (Describe marks it
// deprecated). The registry is a Registry[Plugin]; replicate's papers use
// the same generic type.
//
// Optional abilities are found by type assertion, as database/sql finds a
// driver's: a plugin that implements Quick carries the small params with
// which the tests that run every registered plugin (determinism,
// provenance) run it, so adding a plugin needs no edit elsewhere.
//
// # The run contract
//
// Run(ctx, id, opts) does, in order:
//
//  1. validate: every raw param is checked against its declaration (unknown
//     key, wrong type, out of range → *ParamError naming the key and the
//     allowed range), and defaults fill the rest;
//  2. seed: the one "seed" param (every plugin has it) seeds Job.Rand;
//  3. check the --data files: a plugin that declares no data formats gets
//     none (*DataUsageError), each file is hashed into the provenance (bad
//     paths → *datasets.Error);
//  4. run: Plugin.Run(job) on the backend named by GOMLX_BACKEND (default
//     "go", the pure-Go backend); panics become *PanicError; a NaN or
//     infinite metric becomes *DivergedError; cancellation of ctx stops it;
//  5. return the Result: params, seed, backend, provenance, final metrics,
//     series, tables, chart declarations, notes and timing.
//
// With the same seed and backend, Result.CanonicalJSON is byte-identical.
//
// # Studies
//
// RunStudy runs a registered plugin over a grid of params (Vary one key, or
// Zip several that move together) and seeds, every cell a Run; a failed
// cell is kept with its error. The StudyResult's Summary has the mean and
// standard error of every final metric per grid point, and its Result
// declares the charts a report or notebook draws.
//
// # Reports and notebooks
//
// The two sides that show a Result live in subpackages:
// [github.com/alignlab/alignlab/kernel/report] draws its chart declarations
// (report.Charts) and renders it as one offline HTML page (report.HTML);
// [github.com/alignlab/alignlab/kernel/notebook] displays results, tables
// and charts in a GoNB notebook (notebook.Show, notebook.RunLive,
// notebook.Widgets, notebook.CellContext, …) and installs the "alignlab"
// Jupyter kernel. Only the notebook package imports GoNB.
package kernel
