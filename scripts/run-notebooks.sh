#!/usr/bin/env bash
# Executes every notebooks/*.ipynb headless with the "alignlab" kernel and
# checks it; `make notebooks` (and so `make test`) runs this.
#
#   1. go build ./... first: with a warm build cache a cell compiles in seconds.
#   2. The kernel is installed into a scratch Jupyter data dir under build/
#      (never the user's), with its tools built into build/kernel-bin.
#   3. The browser check's self-test: a page with one good and two broken
#      charts must fail, or the check proves nothing.
#   4. Per notebook: the committed file is clean (first cell, kernel, no
#      outputs); nbconvert executes it into build/notebooks/NAME.ipynb (the
#      committed file is never touched) and fails on a cell error; the
#      streams are scanned for panic / fatal error / exit status (a Go program
#      can die without an error output); the HTML export is opened in
#      headless Chromium, where every chart must have drawn; a screenshot
#      goes to build/notebooks/NAME.png.
#   5. The interrupt check (scripts/nbinterrupt.py): a cell running a
#      plugin for hours must stop, by itself, soon after the kernel is
#      interrupted, and the kernel must run the next cell.
#
# The last line is "notebooks: N passed, M failed"; the exit status is 1 if
# anything failed.
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"
export GOMLX_BACKEND="${GOMLX_BACKEND:-go}"
PY=/usr/bin/python3 # the Debian Jupyter
OUT=build/notebooks
JUP=build/jupyter
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

if ! build/bin/nbcheck selftest; then
	echo "run-notebooks: the browser check's self-test failed, so its verdicts cannot be trusted" >&2
	failed=$((failed + 1))
fi

for nb in "${notebooks[@]}"; do
	name=$(basename "$nb" .ipynb)
	log="$OUT/$name.log"
	ok=1
	build/bin/nbcheck clean "$nb" || ok=0
	start=$(date +%s.%N)
	if timeout 900 "$PY" -m nbconvert --to notebook --execute \
		--ExecutePreprocessor.kernel_name=alignlab --ExecutePreprocessor.timeout=600 \
		--output-dir "$OUT" --output "$name" "$nb" >"$log" 2>&1; then
		secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
		echo "$nb: executed in $secs s"
		build/bin/nbcheck outputs "$OUT/$name.ipynb" || ok=0
		if "$PY" -m nbconvert --to html --output-dir "$OUT" "$OUT/$name.ipynb" >>"$log" 2>&1; then
			build/bin/nbcheck browser -screenshot "$OUT/$name.png" "$OUT/$name.html" || ok=0
		else
			echo "run-notebooks: $nb: HTML export failed (see $log)" >&2
			ok=0
		fi
	else
		echo "run-notebooks: $nb: execution failed; the end of $log (kernel log lines left out):" >&2
		grep -v -E '^[IWEF][0-9]{4} ' "$log" | tail -n 25 | sed 's/^/    /' >&2
		ok=0
	fi
	if ((ok)); then
		passed=$((passed + 1))
	else
		echo "run-notebooks: $nb FAILED" >&2
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

echo "notebooks: $passed passed, $failed failed"
((failed == 0))
