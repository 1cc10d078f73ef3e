// Package kernel is the heart of alignlab: the plugin registry, the run
// contract and the notebook side.
//
// # Registry
//
// Algorithm packages register a Plugin in their init, in the manner of
// database/sql drivers; a program imports them for their side effect:
//
//	import _ "github.com/alignlab/alignlab/algos/all"
//
// Register panics on a duplicate ID; Lookup of an unknown ID lists the known
// ones and names the forgotten import; IDs returns them sorted.
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
// # Reports and notebooks
//
// Charts turns a Result's chart declarations into plots charts, and
// ReportHTML renders a whole Result as one offline page. In a GoNB notebook
// (kernel is the only package that imports GoNB), Show displays a Result,
// ShowCharts/ShowTable/ShowMarkdown/ShowHTML display the rest, RunLive runs a
// plugin while its chart redraws in place, CellContext is cancelled by the
// notebook's interrupt, and Widgets builds controls from a plugin's params.
// Each is a no-op outside a notebook, so the same code runs in go test.
// InstallKernelspec installs the "alignlab" Jupyter kernel
// (alignlab kernel install).
package kernel
