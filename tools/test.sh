#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run calls exactly this):
#   1. Release build with g++ (warnings are errors), the exports' real readers installed (tools/readers.sh
#      --install), all Boost.Test suites and the reader checks via ctest;
#   2. the benchmark and overhead binaries in smoke mode (tiny sizes; every workload's output is checked),
#      continuous profiling end to end (benchmarks/continuous.sh --smoke: interval files merge exactly),
#      the cold-process benchmark (benchmarks/cold.sh --smoke: run and profile under each policy, text and JSON,
#      every output and report checked),
#      the zero-cost check (callgrind instruction counts of NullProfiler == hooks removed), the peers
#      script in smoke mode (installs lua5.4 and luajit if missing; every interpreter's output agrees), and
#      the fuel check (benchmarks/fuel_in_register.sh: every loop of g++'s CLI and overhead binaries keeps
#      fuel in a register);
#   3. the host's view (tools/consumer_check.sh): the Release build installed to a temporary prefix (exactly
#      the public headers, libraries, package config, opscope.pc and CLI), each installed header compiled alone
#      (the C API's also as C11), examples/consumer built and run both with find_package(opscope) and as an
#      add_subdirectory sub-project, and examples/embed.c built with pkg-config;
#   4. every fuzz target (tests/fuzz/, libFuzzer + ASan + UBSan, clang++) for a fixed time from its committed
#      corpus (tools/fuzz.sh; OPSCOPE_FUZZ_SECONDS per target, default 20, 0 skips): any finding fails with its
#      reproducer;
#   5. ASan + UBSan build with clang++ (warnings are errors), all suites again (of the C API's examples, only
#      clang's C one: python3 is not instrumented and gcc's sanitizer runtime is not clang's).
#   6. ThreadSanitizer build with clang++ (build-tsan/, RelWithDebInfo: the samplers' optimized paths) of the
#      thread tests only: test_threads, test_timing's host_signals, and test_snapshot's suites that reach a
#      running VM from another thread; any report fails (halt_on_error).
# Step 1 configures build/ through tools/bootstrap.sh with the settings it uses itself (plus the benchmarks), so
# this script and the README's first command share build/ in either order.
# OPSCOPE_SKIP_SANITIZERS=1 skips steps 5 and 6 for a quick local run.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
# Each step's header carries the clock time and the seconds since this script started, so a slow step shows.
step() { echo "== $1  [$(date -u +%H:%M:%S), ${SECONDS}s]"; }

step "release build (g++) and tests"
BUILD_DIR=build tools/bootstrap.sh -DCMAKE_CXX_COMPILER=g++ -DOPSCOPE_WERROR=ON -DOPSCOPE_BUILD_BENCHMARKS=ON
# The real readers of the exports (go tool pprof, pprof-format, callgrind_annotate, flamegraph.pl, chromium for
# the HTML and speedscope, the DevTools trace engine): every reader check (ctest readers_*) runs; a reader
# that failed to install fails its check here (OPSCOPE_REQUIRE_READERS=1) instead of being skipped.
tools/readers.sh --install
OPSCOPE_REQUIRE_READERS=1 ctest --test-dir build --output-on-failure -j "$jobs"

step "benchmark smoke run"
OPSCOPE_BENCH_SMOKE=1 build/benchmarks/opscope_bench --benchmark_min_time=0.01 >/dev/null
echo "benchmarks: every workload ran and printed its expected output"
build/benchmarks/opscope_overhead --smoke --pairs 1 --min-sample-ms 1 --policies counting,timing,full,twin >/dev/null
echo "overhead command: every policy (and the twin control) printed the expected output"

step "zero-cost check (callgrind: NullProfiler vs hooks removed from the source)"
benchmarks/zero_cost.sh build

step "fuel in a register (objdump: no loop of g++'s binaries charges fuel through a stack slot)"
benchmarks/fuel_in_register.sh build/opscope build/benchmarks/opscope_overhead

step "continuous profiling smoke run (a 1 s run cut every 100ms: the interval files merge into the whole run)"
benchmarks/continuous.sh --smoke build

step "cold-process smoke run (fib(15): opscope run and profile --policy counting|timing|full, text and JSON)"
benchmarks/cold.sh --smoke build >/dev/null
echo "cold: every process printed fib(15), every report checked"

step "peers smoke run (tiny sizes: opscope run/profile, lua5.4, luajit, python3 agree)"
OPSCOPE=build/opscope benchmarks/peers.sh --smoke >/dev/null
echo "peers: every runner printed the same output"

step "install and consumers (find_package, add_subdirectory)"
tools/consumer_check.sh build

if [ "${OPSCOPE_FUZZ_SECONDS:-20}" != "0" ]; then
  step "fuzzing (libFuzzer + ASan + UBSan, ${OPSCOPE_FUZZ_SECONDS:-20} s per target from the committed corpora)"
  FUZZ_JOBS=$jobs tools/fuzz.sh "${OPSCOPE_FUZZ_SECONDS:-20}"
fi

if [ "${OPSCOPE_SKIP_SANITIZERS:-0}" != "1" ]; then
  step "ASan+UBSan build (clang++) and tests"
  # Line tables rather than full debug information: a report still names each frame's file and line, and the
  # build took 14% less time here (292 s to 251 s). (-O1 would halve the tests' time but more than double the build's.)
  BUILD_DIR=build-sanitize tools/bootstrap.sh -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ \
    -DOPSCOPE_SANITIZE=ON -DOPSCOPE_WERROR=ON "-DCMAKE_CXX_FLAGS_DEBUG=-O0 -gline-tables-only"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-sanitize --output-on-failure -j "$jobs" -E '^readers_'  # readers: the Release CLI's
fi

step "clang++ Release build and the interpreter's semantic tests"
# The hot loop is a header compiled by the host's compiler at the host's optimisation: clang++ -O3 once
# miscompiled a comparison that g++ and clang's debug builds got right, which only an optimised clang build shows.
clang_log=$(mktemp)
if ! cmake -S . -B build-clang -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ \
     -DOPSCOPE_WERROR=ON >"$clang_log" 2>&1; then
  cat "$clang_log" >&2
  exit 1
fi
rm -f "$clang_log"
clang_suites=(test_opcodes test_runtime test_language_differential test_counting test_examples_policy)
cmake --build build-clang --parallel "$jobs" --target "${clang_suites[@]}"
for suite in "${clang_suites[@]}"; do build-clang/tests/$suite; done

if [ "${OPSCOPE_SKIP_SANITIZERS:-0}" != "1" ]; then
  step "ThreadSanitizer build (clang++) and the thread tests"
  # Configured here rather than through tools/bootstrap.sh, which builds everything: only the two suites are built.
  tsan_log=$(mktemp)
  if ! cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
       "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -gline-tables-only -DNDEBUG" \
       -DOPSCOPE_SANITIZE_THREAD=ON -DOPSCOPE_WERROR=ON >"$tsan_log" 2>&1; then
    cat "$tsan_log" >&2
    exit 1
  fi
  rm -f "$tsan_log"
  cmake --build build-tsan --parallel "$jobs" --target test_threads test_timing test_snapshot
  export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
  build-tsan/tests/test_threads
  build-tsan/tests/test_timing --run_test=host_signals
  build-tsan/tests/test_snapshot --run_test=snapshot_from_another_thread:safe_points
  unset TSAN_OPTIONS
fi
