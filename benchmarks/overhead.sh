#!/usr/bin/env bash
# Overhead of each profiling policy against NullProfiler on every workload: interleaved pairs, median
# ratio with min..max, checked against the budgets (Counting 5%, Timing 10%, Full 10%); exits 1 when a
# policy is over budget. Builds build/ first (tools/bootstrap.sh installs what is missing).
#
#   benchmarks/overhead.sh [--pairs N] [--min-sample-ms MS] [--workloads a,b] [--policies p,q] [--smoke]
#
# Takes about 5 minutes at the default sizes (every pair runs in a fresh process); run it on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build} tools/bootstrap.sh -DOPSCOPE_BUILD_BENCHMARKS=ON >/dev/null
exec "${BUILD_DIR:-build}/benchmarks/opscope_overhead" "$@"
