#!/usr/bin/env bash
# Executes every notebooks/*.ipynb headless with the "alignlab" kernel and
# checks it; `make notebooks` (and so `make test`) runs this.
#
#   1. go build ./... first: with a warm build cache a cell compiles in seconds.
#   2. The kernel is installed into a scratch Jupyter data dir under build/
#      (never the user's), with its tools built into build/kernel-bin.
#   3. The browser check's self-test: a page with one good and two broken
#      charts must fail, or the check proves nothing.
#   4. One classic Jupyter server (python3 -m notebook) for the whole run,
#      on a free port, with a scratch Jupyter data dir of its own (so nothing
#      it serves is trusted and no kernel starts) and build/notebooks-server/nb
#      as its notebook dir; its self-test: a fixture notebook whose broken
#      outputs the untrusted-copy check must fault.
#   5. Per notebook: the committed file is clean (first cell, kernel, no
#      outputs); nbconvert executes it into build/notebooks/NAME.ipynb (the
#      committed file is never touched) and fails on a cell error; the
#      streams are scanned for panic / fatal error / exit status (a Go program
#      can die without an error output); the HTML export is opened in
#      headless Chromium, where every chart must have drawn (screenshot
#      build/notebooks/NAME.png); the export is opened again with JavaScript
#      disabled, where every chart position must show its static image
#      (screenshot build/notebooks/NAME-nojs.png); an unsigned copy is opened
#      in the Jupyter server, where every chart must show its static image
#      and every Markdown output its text; a signed copy is opened there
#      too, for the notebooks in NB_LAYOUT_STRICT (default 00-quickstart),
#      where no output may be wider than the notebook or folded into a scroll
#      box. The checks of a notebook run in the background while the next
#      one executes; their lines are printed, in order, after the last one.
#   6. The interrupt check (scripts/nbinterrupt.py): a cell running a
#      plugin for hours must stop, by itself, soon after the kernel is
#      interrupted, and the kernel must run the next cell.
#
# A table of every notebook's executed size and chart/Markdown counts comes
# before the last line, "notebooks: N passed, M failed"; the exit status is 1
# if anything failed.
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"
export GOMLX_BACKEND="${GOMLX_BACKEND:-go}"
export GOEXPERIMENT="${GOEXPERIMENT-simd}"
export PATH="$("$(dirname "$0")/gotoolchain.sh"):$PATH" # go1.27.3 with its SIMD partial loads fixed
PY=/usr/bin/python3 # the Debian Jupyter
OUT=build/notebooks
JUP=build/jupyter
SRV=build/notebooks-server # the Jupyter server of the untrusted and layout checks
# Notebooks whose layout (no horizontal scrollbar, no folded output) must hold.
NB_LAYOUT_STRICT="${NB_LAYOUT_STRICT:-00-quickstart}"
JUPYTER_APT="apt-get install jupyter-notebook jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

passed=0
failed=0
die() {
	echo "run-notebooks: $*" >&2
	echo "notebooks: $passed passed, $((failed + 1)) failed"
	exit 1
}

shopt -s nullglob
# Arguments name the notebooks to check (all of notebooks/ without any).
notebooks=(notebooks/*.ipynb)
if (($# > 0)); then
	notebooks=("$@")
fi
if ((${#notebooks[@]} == 0)); then
	echo "run-notebooks: no notebooks/*.ipynb"
	echo "notebooks: 0 passed, 0 failed"
	exit 0
fi

if ! "$PY" -c 'import nbconvert, nbclient, nbformat, jupyter_client' 2>/dev/null || ! command -v jupyter >/dev/null; then
	die "Jupyter with nbconvert is missing; install it with: $JUPYTER_APT"
fi
[[ -x "$CHROMIUM" ]] || die "no Chromium at $CHROMIUM (the chart check needs it); install it with: apt-get install chromium"

echo "run-notebooks: go build ./..."
go build ./... || die "go build ./... failed"
mkdir -p build/bin
go build -o build/bin/alignlab ./cmd/alignlab || die "building cmd/alignlab failed"
go build -o build/bin/nbcheck ./scripts/nbcheck || die "building scripts/nbcheck failed"

rm -rf "$OUT" "$JUP"
mkdir -p "$OUT" "$JUP/data" "$JUP/config" "$JUP/runtime"
export JUPYTER_DATA_DIR="$ROOT/$JUP/data" JUPYTER_CONFIG_DIR="$ROOT/$JUP/config" JUPYTER_RUNTIME_DIR="$ROOT/$JUP/runtime"
echo "run-notebooks: installing the alignlab kernel into $JUP (tools in build/kernel-bin)"
build/bin/alignlab kernel install --user --bin "$ROOT/build/kernel-bin" || die "alignlab kernel install failed"

# The server of the untrusted-copy and layout checks: its own data dir, so
# that no notebook is trusted but the ones signed here, and no kernel (the
# saved outputs are what is checked; a missing kernel does not stop them
# rendering).
rm -rf "$SRV"
mkdir -p "$SRV/data" "$SRV/config" "$SRV/runtime" "$SRV/nb"
srv_env=(JUPYTER_DATA_DIR="$ROOT/$SRV/data" JUPYTER_CONFIG_DIR="$ROOT/$SRV/config" JUPYTER_RUNTIME_DIR="$ROOT/$SRV/runtime")
port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
env "${srv_env[@]}" "$PY" -m notebook --no-browser --allow-root --ip=127.0.0.1 --port="$port" \
	--NotebookApp.token='' --NotebookApp.password='' --notebook-dir="$ROOT/$SRV/nb" \
	>"$OUT/jupyter-server.log" 2>&1 &
srv_pid=$!
trap 'kill "$srv_pid" 2>/dev/null' EXIT
BASE="http://127.0.0.1:$port"
if ! "$PY" - "$BASE/api" <<'PYEOF'; then
import sys, time, urllib.request
for _ in range(120):
    try:
        urllib.request.urlopen(sys.argv[1], timeout=2).read()
        sys.exit(0)
    except Exception:
        time.sleep(0.5)
sys.exit(1)
PYEOF
	tail -n 20 "$OUT/jupyter-server.log" >&2
	die "the Jupyter server did not answer at $BASE within 60 s (log: $OUT/jupyter-server.log)"
fi
echo "run-notebooks: Jupyter server for the untrusted and layout checks at $BASE (log: $OUT/jupyter-server.log)"

if ! build/bin/nbcheck selftest -jupyter "$BASE" -jupyter-dir "$SRV/nb"; then
	echo "run-notebooks: the browser checks' self-test failed, so their verdicts cannot be trusted" >&2
	failed=$((failed + 1))
fi

# count PATTERN FILE: the first "n/N" after PATTERN in FILE, or "-".
count() {
	local c
	c=$(sed -nE "s|.*$1 ([0-9]+/[0-9]+).*|\1|p" "$2" 2>/dev/null | head -n 1)
	echo "${c:--}"
}
summary=()

# check_notebook NAME NB: the checks of one executed notebook (outputs, HTML
# export, JavaScript on, JavaScript off, untrusted copy, layout). It runs in
# the background while the next notebook executes; what it prints goes to
# $OUT/NAME.checks, its verdict to $OUT/NAME.status, its summary row to
# $OUT/NAME.row.
check_notebook() {
	local name=$1 nb=$2 log="$OUT/$1.log" ok=1 checks_start warn checks_secs
	checks_start=$(date +%s.%N)
	{
		build/bin/nbcheck outputs "$OUT/$name.ipynb" || ok=0
		if "$PY" -m nbconvert --to html --output-dir "$OUT" "$OUT/$name.ipynb" >>"$log" 2>&1; then
			build/bin/nbcheck browser -screenshot "$OUT/$name.png" "$OUT/$name.html" || ok=0
			build/bin/nbcheck nojs -screenshot "$OUT/$name-nojs.png" "$OUT/$name.html" || ok=0
		else
			echo "run-notebooks: $nb: HTML export failed (see $log)"
			ok=0
		fi
		# An unsigned copy: the server's data dir has never trusted it.
		cp "$OUT/$name.ipynb" "$SRV/nb/$name.ipynb"
		build/bin/nbcheck untrusted -url "$BASE/notebooks/$name.ipynb" "$OUT/$name.ipynb" || ok=0
		# A signed copy, for the layout the author sees (interactive charts),
		# for the notebooks whose layout is enforced.
		if [[ " $NB_LAYOUT_STRICT " == *" $name "* ]]; then
			cp "$OUT/$name.ipynb" "$SRV/nb/$name-trusted.ipynb"
			if env "${srv_env[@]}" "$PY" -m nbformat.sign "$SRV/nb/$name-trusted.ipynb" >>"$log" 2>&1; then
				build/bin/nbcheck layout -url "$BASE/notebooks/$name-trusted.ipynb" || ok=0
			else
				echo "run-notebooks: $nb: signing the copy for the layout check failed (see $log)"
				ok=0
			fi
		fi
	} >"$OUT/$name.checks" 2>&1
	echo "$ok" >"$OUT/$name.status"
	checks_secs=$(awk -v a="$checks_start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
	printf '%-34s %10s %7s %9s %9s %9s  %s' "$name" "$(stat -c %s "$OUT/$name.ipynb")" "$checks_secs" \
		"$(count 'JavaScript off:' "$OUT/$name.checks")" "$(count 'untrusted copy: charts' "$OUT/$name.checks")" \
		"$(count 'markdown' "$OUT/$name.checks")" \
		"$(sed -nE 's|.*layout \(trusted copy\): ([0-9]+) outputs wider than the notebook, ([0-9]+) folded.*|\1 wide, \2 folded|p' "$OUT/$name.checks")" >"$OUT/$name.row"
}

checked=()
checkers=()
for nb in "${notebooks[@]}"; do
	name=$(basename "$nb" .ipynb)
	log="$OUT/$name.log"
	rm -f "$OUT/$name.status" "$OUT/$name.row" "$OUT/$name.checks"
	if ! build/bin/nbcheck clean "$nb"; then
		echo "run-notebooks: $nb FAILED" >&2
		failed=$((failed + 1))
		continue
	fi
	start=$(date +%s.%N)
	if timeout 900 "$PY" -m nbconvert --to notebook --execute \
		--ExecutePreprocessor.kernel_name=alignlab --ExecutePreprocessor.timeout=600 \
		--output-dir "$OUT" --output "$name" "$nb" >"$log" 2>&1; then
		secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
		echo "$nb: executed in $secs s"
		check_notebook "$name" "$nb" &
		checkers+=($!)
		checked+=("$name")
	else
		echo "run-notebooks: $nb: execution failed; the end of $log (kernel log lines left out):" >&2
		grep -v -E '^[IWEF][0-9]{4} ' "$log" | tail -n 25 | sed 's/^/    /' >&2
		summary+=("$(printf '%-34s %s' "$name" "execution failed")")
		echo "run-notebooks: $nb FAILED" >&2
		failed=$((failed + 1))
	fi
done
for pid in "${checkers[@]}"; do
	wait "$pid"
done
for name in "${checked[@]}"; do
	cat "$OUT/$name.checks"
	summary+=("$(cat "$OUT/$name.row" 2>/dev/null)")
	if [[ "$(cat "$OUT/$name.status" 2>/dev/null)" == 1 ]]; then
		passed=$((passed + 1))
	else
		echo "run-notebooks: notebooks/$name.ipynb FAILED" >&2
		failed=$((failed + 1))
	fi
done

# Counted as a failure, like the browser self-test, but not as a notebook.
echo "run-notebooks: interrupting a running cell (scripts/nbinterrupt.py)"
if timeout 600 "$PY" scripts/nbinterrupt.py >"$OUT/nbinterrupt.log" 2>&1; then
	grep '^nbinterrupt: cell stopped' "$OUT/nbinterrupt.log"
else
	echo "run-notebooks: the interrupt check failed; the end of $OUT/nbinterrupt.log (kernel log lines left out):" >&2
	grep -v -E '^[IWEF][0-9]{4} ' "$OUT/nbinterrupt.log" | tail -n 25 | sed 's/^/    /' >&2
	failed=$((failed + 1))
fi

kill "$srv_pid" 2>/dev/null
wait "$srv_pid" 2>/dev/null

if ((${#summary[@]} > 0)); then
	echo
	printf '%-34s %10s %7s %9s %9s %9s  %s\n' "notebook" "bytes" "checks" "JS off" "untrusted" "markdown" "layout"
	printf '%s\n' "${summary[@]}"
	echo
fi
echo "notebooks: $passed passed, $failed failed"
((failed == 0))
