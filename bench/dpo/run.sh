#!/usr/bin/env bash
# Benchmarks the dpo training step (log-linear and MLP policies) against the
# same math in PyTorch on shared data files; see main.go for the protocol.
# Usage: bench/dpo/run.sh [flags of main.go, e.g. -rounds 7 -threads 2]
# Outputs go to bench/out/dpo/ (ignored by git).
set -euo pipefail
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"
export GOEXPERIMENT="${GOEXPERIMENT-simd}" # as make: the SIMD kernels (GOEXPERIMENT= for the scalar build)
export PATH="$("$(dirname "$0")/../../scripts/gotoolchain.sh"):$PATH" # go1.27.3 with its SIMD partial loads fixed
cd "$(dirname "$0")/../.."
mkdir -p bench/out/dpo
go build -o bench/out/dpo/dpo-bench ./bench/dpo
bench/out/dpo/dpo-bench "$@"
