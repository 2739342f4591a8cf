#!/usr/bin/env bash
# Continuous profiling, end to end: a run of about SECONDS (default 60) under `opscope profile --every
# INTERVAL` (default 5s), against `opscope run` of the same program. Checks that the interval files merge
# into exactly the counts of one whole-run profile (`opscope merge` against `opscope profile --format json`),
# and reports the CPU time (user + system, the whole process, report writing included) of each, interleaved
# with `opscope profile` writing one report at the end: PAIRS rounds, median ratios.
#
#   benchmarks/continuous.sh [--seconds S] [--every DURATION] [--policy full|timing|counting] [--pairs N] [BUILD_DIR]
#   benchmarks/continuous.sh --smoke     (a 1 s run cut every 100ms, one pair: CI checks it works)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60 every=5s policy=full pairs=3 build=build
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --every) every=$2; shift 2 ;;
    --policy) policy=$2; shift 2 ;;
    --pairs) pairs=$2; shift 2 ;;
    --smoke) seconds=1 every=100ms pairs=1; shift ;;
    *) build=$1; shift ;;
  esac
done
opscope=$build/opscope
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The sieve workload (primes up to 2,000,000), its repetitions R scaled to last about `seconds` (measured on
# one repetition).
size_of() { perl -pe "s/^let R = \d+;/let R = $1;/" examples/sieve.ops >"$tmp/prog.ops"; }
probe=1
size_of $probe
TIMEFORMAT='%3U %3S'
probe_cpu=$( { time "$opscope" run "$tmp/prog.ops" >/dev/null; } 2>&1 | awk '{print $1 + $2}')
size=$(awk -v s="$seconds" -v p="$probe" -v c="$probe_cpu" 'BEGIN { n = int(p * s / (c > 0.01 ? c : 0.01)); print (n < 1 ? 1 : n) }')
size_of "$size"
echo "program: examples/sieve.ops with R = $size (about ${seconds} s); --policy $policy --every $every"

cpu() {  # CPU seconds of: opscope ARGS...
  { time "$opscope" "$@" >/dev/null 2>&1; } 2>&1 | awk '{print $1 + $2}'
}
# Each round: run, profile (one report at the end), profile --every; the ratios to run, and --every's to
# profile's (what the snapshots and their files add).
ratios=() whole_ratios=() every_ratios=()
median() { printf '%s\n' "$@" | sort -n | awk '{ r[NR] = $1 } END { print r[int((NR + 1) / 2)] }'; }
for ((pair = 1; pair <= pairs; pair++)); do
  rm -rf "$tmp/intervals"
  run=$(cpu run "$tmp/prog.ops")
  whole=$(cpu profile "$tmp/prog.ops" --policy "$policy" --format json -o "$tmp/whole_report.json")
  profiled=$(cpu profile "$tmp/prog.ops" --policy "$policy" --format json --every "$every" --out-dir "$tmp/intervals")
  files=$(ls "$tmp/intervals" | wc -l)
  ratio=$(awk -v a="$profiled" -v b="$run" 'BEGIN { printf "%.3f", a / b }')
  whole_ratio=$(awk -v a="$whole" -v b="$run" 'BEGIN { printf "%.3f", a / b }')
  every_ratio=$(awk -v a="$profiled" -v b="$whole" 'BEGIN { printf "%.3f", a / b }')
  ratios+=("$ratio") whole_ratios+=("$whole_ratio") every_ratios+=("$every_ratio")
  echo "round $pair: run ${run} s, profile ${whole} s (${whole_ratio}x), profile --every ${profiled} s (${ratio}x; ${every_ratio}x profile), ${files} interval files"
done
echo "median: profile --every / run $(median "${ratios[@]}"), profile / run $(median "${whole_ratios[@]}"), profile --every / profile $(median "${every_ratios[@]}")"

# Exactness: the last pair's files merged against one whole-run profile.
"$opscope" merge "$tmp"/intervals/*.json --format json -o "$tmp/merged.json"
"$opscope" profile "$tmp/prog.ops" --policy "$policy" --format json -o "$tmp/whole.json" >/dev/null
python3 - "$tmp/merged.json" "$tmp/whole.json" <<'EOF'
import json, sys
merged, whole = (json.load(open(p)) for p in sys.argv[1:3])
def counts(p):
    return {
        "total": p["summary"]["total_instructions"],
        "lines": sorted((e["line"], e["count"]) for e in p["lines"]),
        "functions": sorted((e["name"], e["calls"]) for e in p["functions"]),
        "edges": sorted((e["caller"], e["callee"], e["calls"]) for e in p["call_graph"]),
        "pairs": sorted((e["first"], e["second"], e["count"]) for e in p["opcode_pairs"]),
        "branches": sorted((e["function"], e["offset"], e["executed"], e["taken"]) for e in p["branches"]),
    }
m, w = counts(merged), counts(whole)
bad = [k for k in m if m[k] != w[k]]
if bad:
    sys.exit("continuous: the interval files merged differ from the whole run in: " + ", ".join(bad))
print(f"exact: the interval files merge into the whole run's counts ({m['total']} instructions)")
EOF
