#!/usr/bin/env bash
# Wall time of one 24-cell study (dpo.dpo: dim 4, 8, 16, 32 × flip_rate 0,
# 0.2 × seeds 1-3, each cell about half a second) run with --jobs 1 and
# --jobs 2: alternating (1 2 1 2 …), each run into a fresh directory so that
# no cell is cached, REPS of each, medians and their ratio. Every run's
# study.json must be the same bytes, or the script fails.
# Usage: bench/study/run.sh [REPS] (default 3). Outputs go to
# bench/out/study/ (ignored by git). Run it on an otherwise idle machine.
set -euo pipefail
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"
export GOEXPERIMENT="${GOEXPERIMENT-simd}" # as make: the SIMD kernels (GOEXPERIMENT= for the scalar build)
export PATH="$("$(dirname "$0")/../../scripts/gotoolchain.sh"):$PATH" # go1.27.3 with its SIMD partial loads fixed
cd "$(dirname "$0")/../.."
reps="${1:-3}"
out=bench/out/study
rm -rf "$out"
mkdir -p "$out"
go build -o "$out/alignlab" ./cmd/alignlab
study=(study dpo.dpo --grid dim=4,8,16,32 --grid flip_rate=0,0.2 --seeds 1-3
  --set pairs=2000 --set test_prompts=200 --set steps=1000)
echo "machine: $(nproc) cores, load average $(cut -d" " -f1-3 /proc/loadavg); $(go env GOVERSION); GOMLX_BACKEND=${GOMLX_BACKEND:-go}"
echo "study: ${study[*]} (24 cells)"

declare -A times
for ((r = 1; r <= reps; r++)); do
  for jobs in 1 2; do
    dir="$out/jobs$jobs-rep$r"
    start=$(date +%s.%N)
    "$out/alignlab" "${study[@]}" --jobs "$jobs" --out "$dir" >"$dir.stdout" 2>"$dir.stderr"
    end=$(date +%s.%N)
    grep -q ": 0 cells cached, 24 run, 0 failed" "$dir.stdout" || { echo "run $dir: not 24 fresh cells:"; cat "$dir.stdout" "$dir.stderr"; exit 1; }
    cmp -s "$dir/study.json" "$out/jobs1-rep1/study.json" || { echo "$dir/study.json differs from jobs1-rep1's"; exit 1; }
    t=$(echo "$end - $start" | bc -l)
    times[$jobs]+="$t "
    printf "  rep %d  --jobs %d  %6.2f s\n" "$r" "$jobs" "$t"
  done
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
m1=$(echo "${times[1]}" | median)
m2=$(echo "${times[2]}" | median)
printf "median wall time: --jobs 1 %.2f s, --jobs 2 %.2f s; speed-up (jobs 1 ÷ jobs 2) %.2f×\n" "$m1" "$m2" "$(echo "$m1 / $m2" | bc -l)"
echo "study.json identical across all $((2 * reps)) runs"
