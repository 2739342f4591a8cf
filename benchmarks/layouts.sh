#!/usr/bin/env bash
# The policies' overhead across perturbed code layouts: a build's speed depends on where its code lands
# (Mytkowicz et al., ASPLOS 2009; Stabilizer, ASPLOS 2013), so one build's table says little. For each
# compiler this builds opscope_overhead K times, each with a different layout, runs it in every build, and
# reports per workload x policy the median and the worst build's overhead against the budgets
# (Counting 5%, Timing 10%, Full 10%). Exits 1 when the worst build of some row is over budget.
#
#   benchmarks/layouts.sh [--builds K] [--compilers g++,clang++] [--perturb both|link|pad] [--processes P]
#                         [--cxxflags FLAGS] [--out DIR] [-- opscope_overhead arguments...]
#
# Build i (1..K) perturbs two things, each a thing a user's rebuild changes without touching the interpreter:
#   link  the order of every function in the binary: every function in its own section (-ffunction-sections),
#         shuffled by lld with seed i (--shuffle-sections), which moves each function's address, the
#         interpreter's included, and what sits beside it;
#   pad   the interpreter's code within its page: OPSCOPE_LAYOUT_PAD bytes (0..4095, a hash of i) at the
#         start of Vm::interpret, as a different compiler or a changed handler would shift it.
# Besides the three policies, each build measures the control "twin": Null's interpreter in a second,
# byte-identical copy, which adds no work. Its spread across builds is what placement alone does to a row
# (the floor under any budget verdict); it has no budget of its own.
# The builds are measured in turns, not one after another: P rounds (--processes, default 5), each running
# every build once (one process: `--pairs 1`), starting at another build each round, and a build's row is the
# median of its P processes. The machine's state drifts over minutes (BENCHMARKS.md section 9: the same binary
# measured +16% and 0% half an hour apart), and in turns every build sees the same drift.
# --cxxflags adds compiler flags to every build (e.g. -DOPSCOPE_HOT_LOOP_ALIGNMENT=16 to measure the
# interpreter without its page alignment). Arguments after -- go to opscope_overhead (`--pairs 1` is added
# last); the default is "--rounds 5 --min-sample-ms 30 --policies counting,timing,full,twin" with sizes that
# run each workload 20-200 ms. Builds go to build-layouts/ (reused when the flags are the same); reports to
# --out (default a new directory under build-layouts/). About 15 minutes per compiler for 5 builds on 2 cores.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
root=$PWD

usage() { sed -n '7,8s/^# \{0,1\}//p' "$0"; }
die() { echo "layouts.sh: $*" >&2; exit 2; }

builds=5
compilers=g++,clang++
perturb=both
cxxflags=""
out=""
processes=5
overhead_args=(--rounds 5 --min-sample-ms 30 --policies counting,timing,full,twin
               --sizes fib=30,loop=20000000,sieve=1000000,calls=5000000,trees=14,callgraph=1000000)
while (($#)); do
  case $1 in
    --builds) builds=${2:?}; shift 2 ;;
    --compilers) compilers=${2:?}; shift 2 ;;
    --perturb) perturb=${2:?}; shift 2 ;;
    --processes) processes=${2:?}; shift 2 ;;
    --cxxflags) cxxflags=${2?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --) shift; overhead_args=("$@"); break ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
[[ $builds =~ ^[1-9][0-9]*$ ]] || die "--builds takes a positive number"
[[ $processes =~ ^[1-9][0-9]*$ ]] || die "--processes takes a positive number"
case $perturb in both | link | pad) ;; *) die "--perturb is both, link or pad" ;; esac
command -v ld.lld >/dev/null || die "ld.lld is missing: tools/bootstrap.sh installs it (Debian package lld)"
command -v python3 >/dev/null || die "python3 is missing: tools/bootstrap.sh installs it"

flags_id=$(printf '%s' "$cxxflags" | cksum | cut -d' ' -f1)
out=${out:-build-layouts/report-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
out=$(realpath "$out")
: >"$out/summary.txt"
object=benchmarks/CMakeFiles/opscope_overhead.dir/overhead.cpp.o

IFS=, read -ra compiler_list <<<"$compilers"
binaries=() names=()
for compiler in "${compiler_list[@]}"; do
  command -v "$compiler" >/dev/null || die "compiler '$compiler' not found"
  dir=build-layouts/$(basename "$compiler")-$flags_id
  echo "== $compiler: building the library and opscope_overhead in $dir (CXXFLAGS: -ffunction-sections $cxxflags)"
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$compiler" \
    -DOPSCOPE_BUILD_BENCHMARKS=ON -DOPSCOPE_BUILD_TESTS=OFF -DOPSCOPE_BUILD_CLI=OFF -DOPSCOPE_BUILD_EXAMPLES=OFF \
    -DOPSCOPE_BUILD_C_API=OFF -DOPSCOPE_INSTALL=OFF "-DCMAKE_CXX_FLAGS=-ffunction-sections $cxxflags" \
    -DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld >"$out/configure-$(basename "$compiler").log" 2>&1 ||
    { cat "$out/configure-$(basename "$compiler").log" >&2; die "configuring $dir failed"; }
  cmake --build "$dir" --target opscope_overhead --parallel "$(nproc)" >/dev/null
  # The commands ninja ran for the object and the link, to repeat with a perturbation each.
  commands=$(ninja -C "$dir" -t commands benchmarks/opscope_overhead)
  compile=$(grep -F -- "-o $object" <<<"$commands" | head -n 1)
  link=$(tail -n 1 <<<"$commands")
  link=${link#: && }
  link=${link% && :}
  [ -n "$compile" ] && [[ $link == *"-o benchmarks/opscope_overhead "* ]] || die "cannot read the build commands in $dir"
  for ((i = 1; i <= builds; ++i)); do
    pad=0 seed=0
    [ "$perturb" = link ] || pad=$(((i * 2654435761) % 4096))
    [ "$perturb" = pad ] || seed=$i
    name=$(basename "$compiler")-$i
    obj=layout-pad$pad.o
    binary=layout-$i
    echo "-- build $i of $compiler: pad $pad bytes, link shuffle seed $seed"
    # An object is reused while it is newer than the one ninja keeps up to date with the sources.
    [ "$dir/$obj" -nt "$dir/$object" ] || (cd "$dir" && eval "${compile//$object/$obj} -DOPSCOPE_LAYOUT_PAD=$pad")
    shuffle=""
    ((seed == 0)) || shuffle="'-Wl,--shuffle-sections=*=$seed'"
    linked=${link//$object/$obj}
    (cd "$dir" && eval "${linked//-o benchmarks\/opscope_overhead /-o $binary } $shuffle") ||
      die "linking build $i of $compiler failed"
    binaries+=("$dir/$binary") names+=("$(basename "$compiler") $i")
  done
done

# The measurements, in turns: round r runs every build once, from build r on. One line per process and row
# in processes.txt: compiler build round workload policy ratio null_ms.
: >"$out/processes.txt"
count=${#binaries[@]}
for ((r = 1; r <= processes; ++r)); do
  for ((k = 0; k < count; ++k)); do
    j=$(((k + r - 1) % count))
    tag=${names[j]// /-}-round$r
    echo "-- round $r of $processes: ${names[j]}"
    : >"$out/$tag.summary"
    # Exit 1 (over budget) is this process's verdict, for the summary; anything else is a failure.
    rc=0
    "${binaries[j]}" "${overhead_args[@]}" --pairs 1 --summary "$out/$tag.summary" >"$out/$tag.txt" || rc=$?
    ((rc <= 1)) || die "${names[j]}: opscope_overhead failed (exit $rc): $out/$tag.txt"
    awk -v prefix="${names[j]} $r" '{ print prefix, $1, $2, $3, $6 }' "$out/$tag.summary" >>"$out/processes.txt"
  done
done

# Per build and row: the median of its processes (min..max), as opscope_overhead reports a row.
python3 - "$out/processes.txt" >"$out/summary.txt" <<'EOF'
import statistics, sys
by = {}
for line in open(sys.argv[1]):
    compiler, build, _round, workload, policy, ratio, null_ms = line.split()
    by.setdefault((compiler, build, workload, policy), []).append((float(ratio), float(null_ms)))
for (compiler, build, workload, policy), v in by.items():
    ratios = [r for r, _ in v]
    print(compiler, build, workload, policy, f"{statistics.median(ratios):.6f} {min(ratios):.6f} {max(ratios):.6f}",
          f"{statistics.median(n for _, n in v):.6f}")
EOF
echo "per build: the median of $processes processes (min..max)"
awk '{ printf "  %-8s %s  %-10s %-9s %+6.1f%% (%+.1f..%+.1f)  null %.1f ms\n", $1, $2, $3, $4, $5 * 100, $6 * 100, $7 * 100, $8 }' "$out/summary.txt"

python3 - "$out/summary.txt" <<'EOF'
import statistics, sys
rows = {}
budgets = {"counting": 0.05, "timing": 0.10, "full": 0.10, "twin": None}  # twin: the control
for line in open(sys.argv[1]):
    compiler, build, workload, policy, median, lo, hi, null_ms = line.split()
    rows.setdefault((workload, policy), {}).setdefault(compiler, []).append(float(median))
compilers = sorted({c for r in rows.values() for c in r})
# The control's worst build per workload (over every compiler): how far placement alone took a copy of Null.
floor = {w: max(max(v) for v in by.values()) for (w, p), by in rows.items() if p == "twin"}
print(f"\noverhead across layouts: per row the median of the builds' medians, and the worst build\n")
print(f"{'workload':<10} {'policy':<9}" + "".join(f" {c + ' median':>16} {c + ' worst':>15}" for c in compilers)
      + f" {'all worst':>10} {'budget':>7}  {'verdict':<12}" + (f" {'twin worst':>10}  against the twin" if floor else ""))
over = over_floor = 0
for (workload, policy), by in rows.items():
    cells, worst = "", -1.0
    for c in compilers:
        v = by.get(c, [])
        cells += f" {statistics.median(v) * 100:>+15.1f}% {max(v) * 100:>+14.1f}%" if v else f" {'-':>16} {'-':>15}"
        worst = max([worst] + v)
    budget = budgets[policy]
    ok = budget is None or worst <= budget
    over += not ok
    verdict = "control" if budget is None else "ok" if ok else "OVER BUDGET"
    line = f"{workload:<10} {policy:<9}{cells} {worst * 100:>+9.1f}% {'-' if budget is None else f'{budget * 100:.0f}%':>7}  {verdict:<12}"
    # A policy's worst build can be no better than placement allows: the budget is read above the twin's worst.
    if budget is not None and workload in floor:
        within = worst <= budget + max(floor[workload], 0.0)
        over_floor += not within
        line += f" {floor[workload] * 100:>+9.1f}%  {'ok' if within else 'OVER'}"
    print(line)
builds = {c: max(len(v) for r in rows.values() for cc, v in r.items() if cc == c) for c in compilers}
print("\nbuilds: " + ", ".join(f"{c} {n}" for c, n in builds.items()))
print("every row within budget in every build" if not over else f"{over} row(s) over budget in some build")
if floor:
    print("against the twin (budget + the twin's worst build of the workload): "
          + ("every row within" if not over_floor else f"{over_floor} row(s) over"))
sys.exit(1 if over else 0)
EOF
