// Package replicate re-runs the lab's paper replications and checks each
// headline number against a stated band, so that "does the paper still
// reproduce?" is one command: alignlab replicate [PAPER...] [--quick].
//
// A Paper is a named replication: its Run function runs the plugins through
// kernel.Run (or the families' exported helpers, such as dpo.Sweep, which
// build their results the same way), the same runs as the paper's notebook,
// and returns Claims. A Claim is a measured number, the band it must fall
// in, and where the band comes from: the paper's table, a theorem, or a
// derivation written next to the check. Bands are never fitted to this
// lab's own measurements; where a threshold is a convention rather than a
// derivation, its Source says so.
//
// The report is a scorecard, not a list of passes. Each claim carries the
// paper's own value beside ours (PaperValue, or PaperText where the paper
// gives no number) and a Status:
//
//   - reproduced (Check): the paper's claim holds here; the measurement is
//     in the band derived from it.
//   - known difference (KnownDifference): the paper's result does not hold
//     on this testbed. Why says why, and the band checks what the testbed
//     stably shows instead, so a regression still fails.
//   - failed: the measurement left its band.
//
// The summary reads "N reproduced, K known differences, F failed"; the
// report passes (exit status 0) when F is 0 and every paper ran.
//
// Each paper registers itself in this package's init functions (bt.go,
// rdpo.go, tdpo.go, nash.go, lightsb.go, scalebio.go, helpsteer2.go). Replicate runs the named
// papers in order and returns a Report, which prints as a table, encodes
// as replication.json and renders as an offline report.html with every
// result's charts.
//
// quick selects a reduced replication (fewer replicates, smaller samples)
// that runs all papers in well under a minute on two cores, for CI; the
// bands are derived for the sizes actually run, so a quick run is checked
// as strictly as a full one, only with wider statistical tolerances.
package replicate
