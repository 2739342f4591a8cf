#!/usr/bin/env bash
# Instructions each policy executes, as a ratio to NullProfiler: callgrind counts of the interpreter loop
# (Vm::interpret and what it calls) under `opscope run` and `opscope profile --policy P`, at reduced sizes.
# Deterministic, unlike times: the check of what a change to a hook costs, independent of machine noise and
# code placement (which benchmarks/overhead.sh measures, noise included).
#
#   benchmarks/instructions.sh [BUILD_DIR]        (default build; tools/bootstrap.sh builds it)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
BUILD_DIR=$build tools/bootstrap.sh >/dev/null  # installs valgrind if missing

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
declare -A size=([fib]=22 [loop]=300000 [sieve]=50000 [calls]=100000 [trees]=8 [callgraph]=20000)

# Instructions (Ir) of the interpreter loop in: opscope ARGS...
instructions() {
  valgrind --tool=callgrind --toggle-collect='*::interpret*' --callgrind-out-file="$tmp/out" \
    "$build/opscope" "$@" >/dev/null 2>"$tmp/log" || { cat "$tmp/log" >&2; exit 1; }
  sed -n 's/^totals: *//p' "$tmp/out"
}

# counting+incl and full+incl: the same policies with --inclusive (exact inclusive instructions).
printf '%-10s %8s %14s %9s %9s %9s %14s %10s\n' workload size "null Ir" counting timing full counting+incl full+incl
for w in fib loop sieve calls trees callgraph; do
  # The workload's first `let NAME = NUMBER;` line sets its size.
  perl -0pe "s/let (\w+) = \d+;/let \$1 = ${size[$w]};/" "examples/$w.ops" >"$tmp/$w.ops"
  null=$(instructions run "$tmp/$w.ops")
  ratios=()
  for p in counting timing full counting+incl full+incl; do
    incl=(); [[ $p == *+incl ]] && incl=(--inclusive)
    ir=$(instructions profile "$tmp/$w.ops" --policy "${p%+incl}" "${incl[@]}" -o /dev/null)
    ratios+=("$(awk -v a="$ir" -v b="$null" 'BEGIN { printf "%.3f", a / b }')")
  done
  printf '%-10s %8s %14s %9s %9s %9s %14s %10s\n' "$w" "${size[$w]}" "$null" "${ratios[@]}"
done
