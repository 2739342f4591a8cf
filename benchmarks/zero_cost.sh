#!/usr/bin/env bash
# Zero-cost check: Vm<NullProfiler> must execute exactly the machine instructions of an interpreter whose
# hook calls were deleted from the source (OPSCOPE_HOOKS_REMOVED). Both drivers run every workload under
# `valgrind --tool=callgrind` at two sizes, counting the instructions of the run (Vm::run and everything it
# calls; the process start-up varies by a few thousand instructions between identical runs, so it is left
# out). The check fails unless the counts are equal at both sizes.
#
#   benchmarks/zero_cost.sh [BUILD_DIR]        (default build; tools/bootstrap.sh builds it)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}

BUILD_DIR=$build tools/bootstrap.sh -DOPSCOPE_BUILD_BENCHMARKS=ON >/dev/null  # installs valgrind if missing

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Total instructions (Ir) of one run.
instructions() {
  valgrind --tool=callgrind --toggle-collect='measured_run*' --callgrind-out-file="$tmp/out" "$@" >/dev/null 2>"$tmp/log" ||
    { cat "$tmp/log" >&2; echo "zero_cost: '$*' failed" >&2; exit 1; }
  sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$tmp/out"
}

failed=0
printf '%-10s %8s %16s %16s %10s\n' workload size "NullProfiler Ir" "hooks removed Ir" difference
# workload, small size, large size (the large one does several times the work)
while read -r workload small large; do
  for size in "$small" "$large"; do
    null=$(instructions "$build/benchmarks/opscope_zero_cost_null" "$workload" "$size")
    removed=$(instructions "$build/benchmarks/opscope_zero_cost_removed" "$workload" "$size")
    printf '%-10s %8s %16s %16s %10s\n' "$workload" "$size" "$null" "$removed" "$((null - removed))"
    if [ -z "$null" ] || [ "$null" = 0 ]; then
      echo "zero_cost: $workload: callgrind counted nothing (is measured_run still a function?)" >&2
      failed=1
    elif [ "$null" != "$removed" ]; then
      failed=1
    fi
  done
done <<'SIZES'
fib 15 20
loop 20000 80000
sieve 5000 20000
calls 20000 80000
trees 4 7
callgraph 2000 8000
SIZES

if [ "$failed" = 0 ]; then
  echo "zero_cost: NullProfiler executes the same instructions as the hooks-removed build"
else
  echo "zero_cost: FAILED: NullProfiler's run differs from the hooks-removed build" >&2
  exit 1
fi
