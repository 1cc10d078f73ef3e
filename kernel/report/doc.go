// Package report draws and renders a [kernel.Result] for people to read:
// Charts (and ChartsWithPrefix) turn the result's chart declarations into
// plots charts, TableHTML renders one table, and HTML renders the whole
// result — header and provenance, params, final metrics, notes, charts,
// tables — as one standalone, offline HTML page (the report.html of
// `alignlab run --out`), whose charts are plots Blocks: static SVG images
// that the interactive charts replace where JavaScript runs.
//
// It imports kernel and plots, never GoNB: commands and tests use it, and
// package notebook builds its cell outputs on it.
package report
