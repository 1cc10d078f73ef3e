// Package notebook is the GoNB (Jupyter) side of alignlab.
//
// In a notebook cell, Show displays a [kernel.Result] (header, final
// metrics, notes, charts, tables); ShowCharts, ShowTable, ShowMarkdown and
// ShowHTML display the rest; RunLive runs a plugin while its chart redraws
// in place, then leaves the result in that place; RunStudy runs a
// kernel.Study with a progress line updated in place, then leaves its
// summary there (mean ± s.e. per grid point, charts with error bars);
// CellContext returns a context cancelled by the notebook's interrupt; and
// Widgets (WidgetsFor, to choose the params) builds controls from a
// plugin's params and reruns it as they change. Each is a no-op outside a
// notebook (InNotebook is false), so the same code runs under go test and
// in a command.
//
// InstallKernelspec and UninstallKernelspec install and remove the
// "alignlab" Jupyter kernel (`alignlab kernel install`): GoNB with the Go
// toolchain and backend the notebooks need.
//
// It is the only package of alignlab that imports GoNB; plugins import
// kernel alone, and reports come from package report.
//
// # What each output carries, and why
//
// A front end shows one MIME type of an output's bundle. Classic Jupyter
// (notebook 6, outputarea.js) takes the first type present in the order
// javascript, text/html, text/markdown, text/latex, image/svg+xml,
// image/png, image/jpeg, image/gif, application/pdf, text/plain. In a
// notebook that is not trusted (a copy opened without `jupyter trust`, a
// download) it sanitizes text/html (scripts, <style> elements and style
// attributes go; <img> with a data: URI and <details> stay), drops
// text/markdown, text/latex and image/svg+xml, and keeps text/plain and
// the raster images. nbconvert's HTML export prefers text/html, then
// text/markdown, then image/svg+xml; its LaTeX and PDF exports skip HTML,
// and turn image/svg+xml into PDF with Inkscape, failing where it is not
// installed. JupyterLab, like classic, takes sanitized text/html over
// image/svg+xml in an untrusted notebook.
//
// So:
//
//   - A chart output (ShowCharts, Show, RunLive, RunStudy, Widgets) is
//     text/html: each chart is plots.Chart.Block, a static SVG picture (an
//     <img> with a data: URI, which survives sanitizing and needs no
//     script) replaced by the interactive ECharts chart where scripts run.
//     Its text/plain twin names each chart ("[chart: TITLE]") and, for a
//     result, gives the header, final metrics, notes and table names.
//     image/svg+xml is left out: no viewer above would show it where
//     text/html is present, it would double the picture's bytes, and it
//     would make `nbconvert --to pdf` need Inkscape.
//   - ShowMarkdown is text/markdown with a text/plain twin (the Markdown
//     source without ** markers): untrusted, classic Jupyter falls through
//     to the text, instead of showing nothing. No text/html: classic
//     Jupyter would prefer it to the Markdown even when trusted, losing its
//     Markdown and math rendering.
//   - ShowTable, ShowHTML and the progress lines are text/html with a
//     text/plain twin (an aligned table, the HTML's text).
//
// # The ECharts library, once per kernel session
//
// The interactive charts need the ECharts library (plots.Script, about
// 1 MB). It is sent with the first chart output of a kernel session only,
// guarded so that a page runs it once; every chart's script waits up to
// about 5 s for the library to appear (another output of the page may
// carry it) and otherwise leaves its static picture. The session is GoNB's
// GONB_TMP_DIR: a directory GoNB creates per kernel process
// (/tmp/gonb_<random id>) for the scratch module it compiles every cell in,
// set in each cell's environment and removed when the kernel exits; a
// marker file there (alignlab-echarts-sent) says the library went out.
// Without that variable, or if the marker cannot be written, every chart
// output carries the library. An updatable output that carried it (the
// first RunLive chart, say) carries it again in each version that replaces
// it; IncludeLibrary makes a cell's next chart output carry it regardless.
//
// What a reader sees:
//
//   - The live notebook, cells run in any order: interactive charts (the
//     page has run the library once, wherever its output sits).
//   - The notebook reopened, or exported with nbconvert --to html: the
//     interactive charts, as long as the output that carried the library is
//     still in it, wherever it sits on the page (the others wait for it).
//   - After that output was cleared or replaced (Clear Output, or its cell
//     rerun in the same kernel session, which sends no new copy): the
//     static pictures, until the next kernel restart or a cell calling
//     IncludeLibrary. In the live page the charts stay interactive until
//     it is reloaded.
//   - JavaScript off, an untrusted copy, GitHub or another static viewer:
//     the static pictures, and Markdown as text in an untrusted copy.
//
// An executed notebook thus holds one copy of the library, not one per
// chart output.
//
// # Layout
//
// Show is compact (classic Jupyter folds a cell's outputs taller than 100
// lines, about 1,800 px, into a scroll box, unless the cell's metadata says
// "scrolled": false, as every code cell of the lab's notebooks does): the header, the final metrics in as many columns as fit, the
// notes, the first OpenCharts charts, then closed <details> lines for the
// other charts and for the tables. Charts and tables take the output's
// width and no more; a table wider than it scrolls on its own. RunLive and
// RunStudy replace their progress in place by the result, so a chart is
// never drawn twice.
//
// # Widgets
//
// Under the controls, a state line says what is going on: "running with
// epsilon=0.2: step 120 / 500 (24%)", "done in 0.5 s", a failure, and once
// the cell has stopped, "stopped after an interrupt: controls inactive —
// rerun the cell", with the controls greyed out. A rerun that fails or is
// interrupted leaves the last good result in place, marked stale with the
// params it was run with. WidgetsFor limits the controls to the params
// named. Without a browser (nbconvert, a closed tab) Widgets says, after
// 8 s, "no browser answered in 8 s: open the notebook in Jupyter and rerun
// the cell".
package notebook
