// Package notebook is the GoNB (Jupyter) side of alignlab.
//
// In a notebook cell, Show displays a [kernel.Result] (header, final
// metrics, notes, charts, tables); ShowCharts, ShowTable, ShowMarkdown and
// ShowHTML display the rest; RunLive runs a plugin while its chart redraws
// in place; RunStudy runs a kernel.Study with a progress line updated in
// place and shows its summary (mean ± s.e. per grid point, charts with
// error bars); CellContext returns a context cancelled by the notebook's
// interrupt; and Widgets builds controls from a plugin's params and reruns
// it as they change. Each is a no-op outside a notebook (InNotebook is
// false), so the same code runs under go test and in a command.
//
// InstallKernelspec and UninstallKernelspec install and remove the
// "alignlab" Jupyter kernel (`alignlab kernel install`): GoNB with the Go
// toolchain and backend the notebooks need.
//
// It is the only package of alignlab that imports GoNB; plugins import
// kernel alone, and reports come from package report.
package notebook
