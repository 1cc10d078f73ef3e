#!/usr/bin/env bash
# Benchmarks bt.ratings against the scikit-learn Chatbot Arena method on one
# shared file: 100 models × 1,000,000 battles, 100 bootstrap rounds.
# Usage: bench/btratings/run.sh [MODELS] [BATTLES] [ROUNDS]
# Outputs go to bench/out/btratings/ (ignored by git); the arena file is
# generated once and reused.
set -euo pipefail
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"
export GOEXPERIMENT="${GOEXPERIMENT-simd}" # as make: the SIMD kernels (GOEXPERIMENT= for the scalar build)
export PATH="$("$(dirname "$0")/../../scripts/gotoolchain.sh"):$PATH" # go1.27.3 with its SIMD partial loads fixed
cd "$(dirname "$0")/../.."
models="${1:-100}" battles="${2:-1000000}" rounds="${3:-100}"
out=bench/out/btratings
mkdir -p "$out"
arena="$out/arena-${models}x${battles}.jsonl"
go build -o "$out/btratings" ./bench/btratings
[ -f "$arena" ] || "$out/btratings" -gen "$arena" -models "$models" -battles "$battles"
echo "machine: $(nproc) cores, load average $(cut -d" " -f1-3 /proc/loadavg); Go $(go env GOVERSION); OpenBLAS threads: ${OPENBLAS_NUM_THREADS:-default}"
"$out/btratings" -data "$arena" -rounds "$rounds" -json "$out/go.json"
"$out/btratings" -data "$arena" -rounds "$rounds" -solver mm -repeat 1 -json "$out/go-mm.json" | tail -2 | sed "s/^  /  [solver mm] /"
echo
if /usr/bin/python3 -c 'import sklearn' 2>/dev/null; then
  /usr/bin/python3 bench/btratings/arena_sklearn.py "$arena" "$out/go.json" "$rounds"
else
  echo "/usr/bin/python3 has no scikit-learn: skipping the side-by-side run"
fi
