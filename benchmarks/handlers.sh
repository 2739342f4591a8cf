#!/usr/bin/env bash
# Where a policy's extra time goes, handler by handler: runs one of opscope_overhead's pairs (Null's VM and
# the policy's, the same runs each, in one process) under `perf record -e cpu-clock`, and attributes every
# sample in each instantiation's interpreter loop to the handler it fell in. A handler's range starts at
# its entry in that instantiation's dispatch table (its plain and its leader entry) and ends at the next
# entry, so cold code placed after a handler counts as that handler's. Prints per handler the samples of
# both VMs and the difference, largest difference first: on a machine without hardware counters (these
# guests) this is how to find which handler a layout made slow (BENCHMARKS.md section 9).
#
#   benchmarks/handlers.sh [--workload W] [--policy P] [--ms MS] [--top K] [--annotate OP] [BINARY]
#
# Defaults: fib, full, samples of at least 1000 ms in three interleaved rounds (--ms), the top 12 handlers,
# BINARY build/benchmarks/opscope_overhead (a layouts.sh build works too). perf samples at 2 kHz: each
# sample interrupts the guest for tens of microseconds (BENCHMARKS.md section 5), which both VMs pay alike.
# --annotate OP also prints the instructions of handler OP in both loops with their samples. Needs perf
# (Debian: linux-perf) and a position-independent binary (the default build's).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

usage() { sed -n '10,10s/^# \{0,1\}//p' "$0"; }
die() { echo "handlers.sh: $*" >&2; exit 2; }

workload=fib policy=full ms=1000 top=12 annotate="" binary=build/benchmarks/opscope_overhead
while (($#)); do
  case $1 in
    --workload) workload=${2:?}; shift 2 ;;
    --policy) policy=${2:?}; shift 2 ;;
    --ms) ms=${2:?}; shift 2 ;;
    --top) top=${2:?}; shift 2 ;;
    --annotate) annotate=${2:?}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    -*) usage >&2; die "unknown argument '$1'" ;;
    *) binary=$1; shift ;;
  esac
done
[[ $ms =~ ^[1-9][0-9]*$ ]] || die "--ms takes a positive number of milliseconds"
[[ $top =~ ^[1-9][0-9]*$ ]] || die "--top takes a positive number"
[ -x "$binary" ] || die "no opscope_overhead at '$binary' (build it: tools/bootstrap.sh -DOPSCOPE_BUILD_BENCHMARKS=ON)"
command -v perf >/dev/null || die "perf is missing (Debian: apt-get install linux-perf)"
command -v python3 >/dev/null || die "python3 is missing"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
perf record -q -e cpu-clock -F 2000 -o "$tmp/perf.data" -- \
  "$binary" --pair "$workload" "$policy" null-first --min-sample-ms "$ms" --rounds 3 >"$tmp/pair" 2>"$tmp/log" ||
  { cat "$tmp/log" >&2; die "perf record of the $workload/$policy pair failed"; }
read -r null_s policy_s ratio <"$tmp/pair" || die "the pair printed nothing: $(cat "$tmp/log")"
perf script -i "$tmp/perf.data" -F ip,sym,symoff >"$tmp/samples" 2>/dev/null || die "perf script failed"
readelf -rW "$binary" >"$tmp/relocations"
nm -C -S "$binary" >"$tmp/symbols"

exec python3 - "$tmp" "$workload" "$policy" "$null_s" "$policy_s" "$ratio" "$top" "$annotate" include/opscope/opcodes.hpp "$binary" <<'EOF'
import bisect, collections, re, subprocess, sys
tmp, workload, policy, null_s, policy_s, ratio, top, annotate, table, binary = sys.argv[1:]
top = int(top)

def die(message):
    print(f"handlers.sh: {message}", file=sys.stderr)
    sys.exit(2)

# The opcodes in dispatch-table order: the X(...) rows of OPSCOPE_OPCODES, then OPSCOPE_INTERNAL_OPCODES.
source = open(table).read()
def rows(macro):
    start = source.index(f"#define {macro}(X)")
    names = []
    for line in source[start:].split("\n")[1:]:
        row = re.match(r"\s*X\((\w+)", line)
        if row:
            names.append(row.group(1))
        if not line.rstrip().endswith("\\"):
            return names
ops = rows("OPSCOPE_OPCODES") + rows("OPSCOPE_INTERNAL_OPCODES")

relocated = {}  # address -> what the loader writes there (a position-independent binary's table entries)
for line in open(f"{tmp}/relocations"):
    f = line.split()
    if len(f) >= 4 and f[2] == "R_X86_64_RELATIVE":
        relocated[int(f[0], 16)] = int(f[3], 16)
tables, loops = {}, {}
for line in open(f"{tmp}/symbols"):
    m = re.match(r"([0-9a-f]+) ([0-9a-f]+) \w (.*)$", line)
    if not m:
        continue
    address, size, name = int(m.group(1), 16), int(m.group(2), 16), m.group(3)
    if (t := re.fullmatch(r"opscope::Vm<(.*)>::interpret\(\)::dispatch_table", name)):
        tables[t.group(1)] = (address, size)
    elif (f := re.fullmatch(r"opscope::Vm<(.*)>::interpret\(\)", name)):
        loops[f.group(1)] = (address, size)

def policy_class(name):  # the instantiation that opscope_overhead runs for a --policies name
    known = {"null": "opscope::NullProfiler", "counting": "opscope::CountingProfiler",
             "timing": "opscope::TimingProfiler", "full": "opscope::FullProfiler",
             "twin": "(anonymous namespace)::NullTwin"}
    return known.get(name) or die(f"unknown policy '{name}'")

def handlers(cls):
    """Sorted entry offsets (from the loop's start) and the handler names at each."""
    if cls not in tables or cls not in loops:
        die(f"no Vm<{cls}>::interpret or its dispatch table in the binary's symbols")
    address, size = tables[cls]
    if size != 2 * len(ops) * 8:
        die(f"Vm<{cls}>'s dispatch table has {size // 8} entries, {table} names {2 * len(ops)}: "
            "the binary was built from other opcodes")
    start = loops[cls][0]
    names = collections.defaultdict(list)
    for i in range(2 * len(ops)):
        target = relocated.get(address + 8 * i)
        if target is None:
            die("the dispatch table has no relocations: build position-independent (the default)")
        names[target - start].append(ops[i % len(ops)] + (" (leader)" if i >= len(ops) else ""))
    return sorted(names), names

samples = collections.defaultdict(collections.Counter)  # class -> offset in its loop -> samples
for line in open(f"{tmp}/samples"):
    m = re.search(r"opscope::Vm<(.*)>::interpret\+0x([0-9a-f]+)", line)
    if m:
        samples[m.group(1)][int(m.group(2), 16)] += 1

def by_handler(cls):
    entries, names = handlers(cls)
    per = collections.Counter()
    for offset, n in samples[cls].items():
        k = bisect.bisect_right(entries, offset) - 1
        # A handler by its plain opcode; a leader whose label is its own block, by the leader's.
        label = names[entries[k]] if k >= 0 else ["(loop entry)"]
        plain = [name for name in label if not name.endswith("(leader)")]
        per[(plain or label)[0]] += n
    return per, entries, names

cls = policy_class(policy)
null_per, null_entries, null_names = by_handler("opscope::NullProfiler")
policy_per, policy_entries, policy_names = by_handler(cls)
null_total, policy_total = sum(null_per.values()), sum(policy_per.values())
if null_total == 0 or policy_total == 0:
    die("no samples in the interpreter loops (is perf allowed to sample? see perf_event_paranoid)")
print(f"{workload} under {policy}: this process's ratio {float(ratio):.3f} (Null {float(null_s) * 1e3:.2f} ms, "
      f"{policy} {float(policy_s) * 1e3:.2f} ms a run); loop samples: Null {null_total}, {policy} {policy_total} "
      f"({policy_total / null_total - 1:+.1%})")
print(f"{'handler':<24} {'null':>7} {policy:>9} {'difference':>11}  {'offset (null / ' + policy + ')'}")
def offset_of(entries, names, op):
    return next((f"{e:#06x}" for e in entries if op in names[e]), "-")
ordered = sorted(set(null_per) | set(policy_per), key=lambda h: -abs(policy_per[h] - null_per[h]))
for h in ordered[:top]:
    print(f"{h:<24} {null_per[h]:>7} {policy_per[h]:>9} {policy_per[h] - null_per[h]:>+11}  "
          f"{offset_of(null_entries, null_names, h)} / {offset_of(policy_entries, policy_names, h)}")

if annotate:
    for c, entries, names in ((cls, policy_entries, policy_names),
                              ("opscope::NullProfiler", null_entries, null_names)):
        starts = [e for e in entries if annotate in names[e]]
        if not starts:
            die(f"no handler '{annotate}' in Vm<{c}>")
        begin = starts[0]
        k = entries.index(begin)
        end = entries[k + 1] if k + 1 < len(entries) else loops[c][1]
        base = loops[c][0]
        print(f"\n{annotate} in Vm<{c}>, loop offsets {begin:#x}..{end:#x}: samples per instruction")
        listing = subprocess.run(["objdump", "-d", "--no-show-raw-insn", f"--start-address={base + begin}",
                                  f"--stop-address={base + end}", binary], capture_output=True, text=True).stdout
        for line in listing.splitlines():
            m = re.match(r"\s*([0-9a-f]+):\s+(.*)", line)
            if m:
                offset = int(m.group(1), 16) - base
                print(f"  {samples[c][offset]:>6}  {offset:#07x}  {m.group(2)}")
EOF
