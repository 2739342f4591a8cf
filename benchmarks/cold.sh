#!/usr/bin/env bash
# What one `opscope profile` costs a user, cold: whole processes of `opscope run` and `opscope profile --policy
# counting|timing|full -o /dev/null` (the report written: the default text one, and --format json), interleaved,
# each round starting one runner later, on fib(30) and fib(20) (examples/fib.ops with its first `let N = ...;`
# set to the size). Each process's CPU time (user + system) is its own rusage (os.wait4: microseconds), so
# start-up, loading, the run, building the profile, formatting and writing the report are all in. Prints the
# medians (min..max), median minor page faults, each median's ratio to `opscope run`'s (the verdict's), and
# the ratio of the minima (the least disturbed processes: on a shared machine medians move by ±10%). Every
# process's output is checked (fib(N), computed here), and each report once, untimed (the text's header, the
# JSON's policy and fib's exact call count). Exits 1 when a median ratio at fib(30) is over its budget
# (Counting 1.05, Timing and Full 1.10), 2 on a wrong output or a failed process.
#
#   benchmarks/cold.sh [--rounds N] [--sizes 30,20] [--formats text,json] [--breakdown] [--baseline OPSCOPE] [BUILD_DIR]
#   benchmarks/cold.sh --smoke     (fib(15), 2 rounds, no budget verdict: CI checks it works)
#
# --baseline OPSCOPE: another opscope binary (an older build, say) whose runners take part in the same rounds,
# interleaved with these, and get a table of their own (ratios to its own run; no verdict): before and after
# measured under the same load.
# --breakdown adds, per runner, the instructions (callgrind, user space only: the kernel's share of signals
# and page faults is not in them) of one process at the smallest size, split into what runs outside main
# (dynamic loading, static constructors, exit; and the sampler's signal handler), the interpreter loop,
# building the profile (profile_into), the report's formatting, and the rest of main (options, compiling and
# linking the program, the policy's set-up, writing the report).
# Under callgrind the program runs ~50 times slower, so the sampler's ticks (and Full's timeline windows)
# are ~50 times as many as natively.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=15 sizes=30,20 formats=text,json breakdown=0 smoke=0 build=build baseline=""
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --formats) formats=$2; shift 2 ;;
    --breakdown) breakdown=1; shift ;;
    --baseline) baseline=$2; shift 2 ;;
    --smoke) smoke=1 rounds=2 sizes=15; shift ;;
    -h|--help) sed -n '2,25s/^# \{0,1\}//p' "$0"; exit 0 ;;
    -*) echo "cold.sh: unknown option $1" >&2; exit 2 ;;
    *) build=$1; shift ;;
  esac
done
opscope=$build/opscope
[ -x "$opscope" ] || { echo "cold.sh: $opscope not found: build it with tools/bootstrap.sh" >&2; exit 2; }
[ -z "$baseline" ] || [ -x "$baseline" ] || { echo "cold.sh: --baseline $baseline is not an executable" >&2; exit 2; }
if [ "$breakdown" = 1 ]; then
  command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null ||
    { echo "cold.sh: --breakdown needs valgrind (tools/bootstrap.sh installs it)" >&2; exit 2; }
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "opscope cold benchmark: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) CPU(s)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
exec python3 - "$opscope" examples/fib.ops "$tmp" "$rounds" "$sizes" "$formats" "$breakdown" "$smoke" "$baseline" <<'EOF'
import json, os, re, statistics, subprocess, sys

opscope, source, tmp, rounds, sizes, formats, breakdown, smoke, baseline = sys.argv[1:]
rounds, breakdown, smoke = int(rounds), breakdown == "1", smoke == "1"
sizes = [int(s) for s in sizes.split(",")]
formats = formats.split(",")
if rounds < 1 or not sizes or any(f not in ("text", "json") for f in formats):
    sys.exit("cold.sh: --rounds must be positive, --formats text and/or json")
BUDGET_SIZE = 30  # the example's own size: the budgets are for fib(30)
BUDGETS = {"counting": 1.05, "timing": 1.10, "full": 1.10}

# The runners: (name, what it runs: None for `run`, else (policy, format), binary).
binaries = [opscope] + ([baseline] if baseline else [])
runners = []
for binary in binaries:
    prefix = "" if binary == opscope else "base "
    runners.append((prefix + "run", None, binary))
    for fmt in formats:
        for policy in ("counting", "timing", "full"):
            runners.append((prefix + (policy if fmt == "text" else f"{policy} json"), (policy, fmt), binary))

def args_of(runner, program, output="/dev/null"):
    _, spec, binary = runner
    if spec is None:
        return [binary, "run", program]
    policy, fmt = spec
    extra = [] if fmt == "text" else ["--format", "json"]  # text is profile's default format
    return [binary, "profile", program, "--policy", policy, *extra, "-o", output]

def program_of(n):
    text = open(source).read()
    changed, count = re.subn(r"(?m)^let N = \d+;", f"let N = {n};", text, count=1)
    if count != 1:
        sys.exit(f"cold.sh: {source} has no 'let N = ...;' line")
    path = os.path.join(tmp, f"fib{n}.ops")
    open(path, "w").write(changed)
    return path

def fib(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a

def calls_of_fib(n):  # naive recursion: calls(n) = 1 + calls(n-1) + calls(n-2), calls(0) = calls(1) = 1
    return 2 * fib(n + 1) - 1

failures = []

def check_reports(n, program):
    """Each profiling runner once, untimed, its report to a file: the right header or document."""
    for runner in runners:
        if runner[1] is None:
            continue
        policy, fmt = runner[1]
        out = os.path.join(tmp, f"report.{fmt}")
        p = subprocess.run(args_of(runner, program, out), capture_output=True, text=True)
        if p.returncode != 0:
            failures.append(f"fib({n}) {runner[0]}: exit {p.returncode}: {p.stderr[:300]}")
            continue
        try:
            report = open(out, encoding="utf-8", errors="replace").read()
            os.remove(out)
        except OSError as e:
            failures.append(f"fib({n}) {runner[0]}: no report written: {e}")
            continue
        if fmt == "text":
            if not report.startswith(f"opscope profile of {program} (policy {policy})"):
                failures.append(f"fib({n}) {runner[0]}: the text report does not start with its header")
        else:
            try:
                doc = json.loads(report)
                calls = {f["name"]: f["calls"] for f in doc["functions"]}
            except (ValueError, KeyError, TypeError) as e:
                failures.append(f"fib({n}) {runner[0]}: the JSON report does not read as a profile: {e!r}")
                continue
            if doc["policy"] != policy or calls.get("fib") != calls_of_fib(n):
                failures.append(f"fib({n}) {runner[0]}: JSON policy {doc['policy']!r}, fib called {calls.get('fib')} "
                                f"times, expected {policy!r} and {calls_of_fib(n)}")

def measure(n, program):
    """rounds x every runner, interleaved; per runner the CPU ms and minor faults of each process."""
    expected = f"{fib(n)}\n"
    cpu = {r[0]: [] for r in runners}
    faults = {r[0]: [] for r in runners}
    stdout_path, stderr_path = os.path.join(tmp, "stdout"), os.path.join(tmp, "stderr")
    for k in range(rounds):
        for j in range(len(runners)):
            runner = runners[(j + k) % len(runners)]  # each round starts one runner later
            with open(stdout_path, "wb") as stdout, open(stderr_path, "wb") as stderr:
                p = subprocess.Popen(args_of(runner, program), stdout=stdout, stderr=stderr)
                _, status, usage = os.wait4(p.pid, 0)  # reaps it: this child's own rusage
                p.returncode = code = os.waitstatus_to_exitcode(status)
            out = open(stdout_path, errors="replace").read()
            if code != 0 or out != expected:
                failures.append(f"fib({n}) {runner[0]} (round {k + 1}): exit {code}, printed {out[:60]!r}, "
                                f"expected {expected!r} {open(stderr_path, errors='replace').read()[:200]}")
            cpu[runner[0]].append((usage.ru_utime + usage.ru_stime) * 1e3)
            faults[runner[0]].append(usage.ru_minflt)
    return cpu, faults

over = []
for n in sizes:
    program = program_of(n)
    check_reports(n, program)
    cpu, faults = measure(n, program)
    for binary in binaries:
        prefix = "" if binary == opscope else "base "
        base = statistics.median(cpu[prefix + "run"])
        title = "" if binary == opscope else f", baseline {binary}"
        print(f"\nfib({n}){title}: {rounds} rounds, median CPU ms (user + system, whole process; report to /dev/null)")
        print(f"{'runner':<19} {'median':>8} {'(min..max)':>18} {'faults':>7} {'/ run':>7} {'budget':>7}  {'verdict':<7} {'min / run min':>13}")
        for name, _, runner_binary in runners:
            if runner_binary != binary:
                continue
            m = statistics.median(cpu[name])
            ratio = m / base
            policy = name.removeprefix("base ").split()[0]
            budget = BUDGETS.get(policy) if n == BUDGET_SIZE and not smoke and binary == opscope else None
            verdict = "" if budget is None else ("ok" if ratio <= budget else "OVER")
            if verdict == "OVER":
                over.append(f"fib({n}) {name} {ratio:.3f} > {budget:.2f}")
            span = f"({min(cpu[name]):.2f}..{max(cpu[name]):.2f})"
            least = min(cpu[name]) / min(cpu[prefix + "run"])  # the least disturbed processes (no verdict)
            print(f"{name:<19} {m:8.2f} {span:>18} {statistics.median(faults[name]):7.0f} {ratio:7.3f} "
                  f"{'' if budget is None else f'{budget:.2f}':>7}  {verdict:<7} {least:13.3f}")

def breakdown_of(n, program):
    """callgrind instructions of one process per runner, by phase (inclusive costs of a few functions)."""
    print(f"\nbreakdown, fib({n}): instructions (callgrind, one process each; user space only)")
    phases = ["outside main", "interpreter", "profile_into", "format", "rest of main", "total"]
    print(f"{'runner':<19}" + "".join(f"{p:>14}" for p in phases))
    for runner in runners:
        out = os.path.join(tmp, "callgrind.out")
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *args_of(runner, program)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", out],
                              capture_output=True, text=True, check=True).stdout
        inclusive = {}
        for line in text.splitlines():
            m = re.match(r"\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(.*)$", line)
            if m and ":" in m.group(2):
                inclusive.setdefault(m.group(2), int(m.group(1).replace(",", "")))
        def total_of(pattern):  # the functions matching, none called by another (the outermost)
            return sum(v for k, v in inclusive.items() if re.search(pattern, k))
        total = int(re.search(r"(?m)^totals:\s*(\d+)", open(out).read()).group(1))
        main = total_of(r":main \[")
        interpreter = total_of(r"::interpret\(\)")
        profile_into = total_of(r"::profile_into\(")  # each part of a composition has its own
        formatting = total_of(r"opscope::format_(text|json)\[")
        row = [total - main, interpreter, profile_into, formatting, main - interpreter - profile_into - formatting, total]
        print(f"{runner[0]:<19}" + "".join(f"{v:>14,}" for v in row))

if breakdown:
    breakdown_of(min(sizes), program_of(min(sizes)))

if failures:
    print("\ncold.sh: FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
    sys.exit(2)
if smoke:
    print("\ncold.sh: smoke run: every process printed fib(N), every report checked (no budget verdict)")
elif over:
    print("\ncold.sh: over budget: " + "; ".join(over), file=sys.stderr)
    sys.exit(1)
elif BUDGET_SIZE in sizes:
    print(f"\ncold.sh: every policy within budget at fib({BUDGET_SIZE}) (counting 1.05, timing 1.10, full 1.10)")
EOF
