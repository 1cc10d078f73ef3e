#!/usr/bin/env bash
# Benchmarks the decoder transformer (algos/decoder) against the same
# transformer in PyTorch: training tokens/s (SFT loss, Adam) and greedy
# generation tokens/s, alternating Go and PyTorch runs at 1 and 2 threads,
# and prints markdown tables of the medians; see main.go for the protocol.
# Usage: bench/lm/run.sh [flags of main.go, e.g. -size test -steps 50 -rounds 5 -threads 1]
# The defaults (size small, 20 steps, 3 rounds, threads 1 and 2) take about
# 2 minutes on an idle 2-core machine. The Go side is built, as make builds
# everything, with GOEXPERIMENT=simd (the backend's AVX2/AVX-512 kernels;
# the decoder differentiates GELU itself, see algos/decoder);
# GOEXPERIMENT= bench/lm/run.sh measures the scalar build.
# Outputs go to bench/out/lm/ (ignored by git).
set -euo pipefail
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"
export GOEXPERIMENT="${GOEXPERIMENT-simd}"
export PATH="$("$(dirname "$0")/../../scripts/gotoolchain.sh"):$PATH" # go1.27.3 with its SIMD partial loads fixed
cd "$(dirname "$0")/../.."
mkdir -p bench/out/lm
go build -o bench/out/lm/lm-bench ./bench/lm
bench/out/lm/lm-bench "$@"
