#!/usr/bin/env bash
# Matmul throughput, side by side: GoMLX's pure-Go backend (as alignlab
# configures it, bench/matmul/main.go) at 1 and 2 cores, then numpy and
# PyTorch on the same n×n×n float32 product.
# Usage: bench/matmul/run.sh [N]   (default 1024)
set -euo pipefail
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"
export GOEXPERIMENT="${GOEXPERIMENT-simd}" # as make: the SIMD kernels (GOEXPERIMENT= for the scalar build)
export PATH="$("$(dirname "$0")/../../scripts/gotoolchain.sh"):$PATH" # go1.27.3 with its SIMD partial loads fixed
cd "$(dirname "$0")/../.."
n="${1:-1024}"
mkdir -p bench/out/matmul
go build -o bench/out/matmul/matmul ./bench/matmul
echo "machine: $(nproc) cores, load average $(cut -d" " -f1-3 /proc/loadavg); Go $(go env GOVERSION), GOEXPERIMENT=${GOEXPERIMENT}"
for p in 1 2; do GOMAXPROCS=$p bench/out/matmul/matmul -n "$n"; done
GOMAXPROCS=2 bench/out/matmul/matmul -n "$n" -config go:ops_parallel | sed "s/\$/ [GoMLX's own default executor]/"
/usr/bin/python3 - "$n" <<'PY'
import sys, time, os
n = int(sys.argv[1])
def gflops(f, reps=7):
    f()
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    ts.sort()
    return 2 * n**3 / ts[len(ts) // 2] / 1e9
import numpy as np
a = np.random.default_rng(1).standard_normal((n, n)).astype(np.float32)
b = np.random.default_rng(2).standard_normal((n, n)).astype(np.float32)
print(f"numpy {np.__version__} (OpenBLAS threads: {os.environ.get('OPENBLAS_NUM_THREADS', 'default')}): {gflops(lambda: a @ b):.1f} GFLOP/s")
try:
    import torch
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    for th in (1, 2):
        torch.set_num_threads(th)
        print(f"torch {torch.__version__}, {th} thread(s): {gflops(lambda: ta @ tb):.1f} GFLOP/s")
except ImportError:
    print("no torch")
PY
