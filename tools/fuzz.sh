#!/usr/bin/env bash
# Fuzzes every entry point for a fixed time: tools/fuzz.sh [SECONDS_PER_TARGET] (default 30).
#   1. configures and builds build-fuzz/ (clang++, RelWithDebInfo, OPSCOPE_BUILD_FUZZERS: the library with
#      -fsanitize=fuzzer-no-link,address,undefined, the targets in tests/fuzz/ with -fsanitize=fuzzer,...);
#   2. runs each target on a copy of its committed corpus (tests/fuzz/corpus/TARGET/) with its dictionary,
#      -max_total_time=SECONDS -timeout=10 -rss_limit_mb=2048, and prints executions, exec/s and coverage;
#   3. exits 1 if any target crashed, hit a sanitizer report, a timeout or the memory limit, after printing
#      the report, each reproducer's path, a hex dump and its base64 (decode with `base64 -d > repro`).
# Environment: FUZZ_TARGETS="fuzz_run ..." runs only those; FUZZ_JOBS build jobs (default 2);
# FUZZ_BUILD_DIR (default build-fuzz); FUZZ_RUNS=N also stops a target after N executions (long campaigns:
# FUZZ_RUNS=10000000 tools/fuzz.sh 3600 stops each at 10 million executions or an hour, whichever is first);
# FUZZ_CPU_SECONDS=S stops a target once its process has used S seconds of CPU (an hour on one core, however
# loaded the machine: run it nice'd next to other work, with a large SECONDS as the wall-clock cap).
# Logs, grown corpora and reproducers stay in BUILD_DIR/fuzz-work/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
build=${FUZZ_BUILD_DIR:-build-fuzz}
all_targets=$(sed -n 's/^set(OPSCOPE_FUZZ_TARGETS \(.*\))$/\1/p' tests/fuzz/targets.cmake)
targets=(${FUZZ_TARGETS:-$all_targets})

echo "== build ($build: clang++, libFuzzer + ASan + UBSan)"
# Line tables only: a report names each frame's file and line all the same, and the build is ~15% faster.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -gline-tables-only -DNDEBUG" \
  -DOPSCOPE_BUILD_FUZZERS=ON -DOPSCOPE_BUILD_TESTS=OFF -DOPSCOPE_BUILD_CLI=OFF -DOPSCOPE_BUILD_EXAMPLES=OFF \
  -DOPSCOPE_INSTALL=OFF -DOPSCOPE_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$build" -j "${FUZZ_JOBS:-2}" --target "${targets[@]}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for target in "${targets[@]}"; do
  work=$build/fuzz-work/$target
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  cp tests/fuzz/corpus/"$target"/* "$work/corpus/"
  seeds=$(ls "$work/corpus" | wc -l)
  dict=()
  # fuzz_run reads .opasm text (or .opc bytes): it shares the assembler's dictionary.
  # fuzz_load_file reads any program file: it shares the assembler's dictionary too.
  dict_name=$target; [ "$target" = fuzz_run ] || [ "$target" = fuzz_load_file ] && dict_name=fuzz_assembler
  [ -f tests/fuzz/"$dict_name".dict ] && dict=(-dict=tests/fuzz/"$dict_name".dict)
  echo "== $target: ${seconds}s on $seeds seeds"
  status=0
  runs_limit=(); [ -n "${FUZZ_RUNS:-}" ] && runs_limit=(-runs="$FUZZ_RUNS")
  "$build/tests/fuzz/$target" "$work/corpus" "${dict[@]}" "${runs_limit[@]}" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/artifacts/" >"$work/log" 2>&1 &
  pid=$!
  started=$SECONDS
  cpu_ticks=0 stopped_for_cpu=0
  ticks_per_second=$(getconf CLK_TCK)
  while kill -0 "$pid" 2>/dev/null; do
    sleep 2
    # Fields 14 and 15 of /proc/PID/stat: user and system CPU time in clock ticks.
    cpu_ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo "$cpu_ticks")
    if [ -n "${FUZZ_CPU_SECONDS:-}" ] && [ "$stopped_for_cpu" = 0 ] &&
       [ "$cpu_ticks" -ge $((FUZZ_CPU_SECONDS * ticks_per_second)) ]; then
      stopped_for_cpu=1
      kill -INT "$pid"  # libFuzzer prints its final stats and exits 72 (its -interrupted_exitcode)
    fi
  done
  wait "$pid" || status=$?
  [ "$stopped_for_cpu" = 1 ] && [ "$status" = 72 ] && status=0
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1 || true)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -1 || true)
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*' "$work/log" | tail -1 || true)
  cpu=$((cpu_ticks / ticks_per_second))
  wall=$((SECONDS - started))
  echo "$target: ${runs:-?} executions, ${rate:-?} exec/s, ${cov:-no coverage line}, ${wall} s wall, about ${cpu} s CPU$([ "$stopped_for_cpu" = 1 ] && echo ' (stopped at its CPU budget)')"
  artifacts=$(find "$work/artifacts" -type f)
  if [ "$status" != 0 ] || [ -n "$artifacts" ]; then
    failed+=("$target")
    echo "!! $target FAILED (exit $status); log: $work/log"
    # The report: from the first sanitizer/libFuzzer/opscope error line to the end.
    awk '/^==[0-9]+==ERROR|runtime error:|==opscope fuzz finding|ALARM: working on the last Unit|out-of-memory|deadly signal/ {p=1} p' \
      "$work/log" | head -80
    for artifact in $artifacts; do
      echo "-- reproducer: $artifact ($(wc -c <"$artifact") bytes)"
      od -A x -t x1z "$artifact" | head -20
      echo "-- base64: $(base64 -w0 "$artifact")"
      echo "-- rerun: $build/tests/fuzz/$target $artifact"
    done
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing FAILED: ${failed[*]}"
  exit 1
fi
echo "fuzzing: ${#targets[@]} targets, ${seconds}s each, no crash, timeout, leak or sanitizer report"
