#!/usr/bin/env bash
# LightSB training steps/s, GoMLX Go backend vs PyTorch, side by side:
#   bench/lightsb/run.sh [-dims 2,64] [-rounds 5] [-torch-threads 1] ...
# (flags: go run ./bench/lightsb -h). Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"
export GOEXPERIMENT="${GOEXPERIMENT-simd}" # as make: the SIMD kernels (GOEXPERIMENT= for the scalar build)
export PATH="$("$(dirname "$0")/../../scripts/gotoolchain.sh"):$PATH" # go1.27.3 with its SIMD partial loads fixed
exec go run ./bench/lightsb "$@"
