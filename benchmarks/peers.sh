#!/usr/bin/env bash
# Runs the benchmark workloads in opscope and in peer interpreters (lua5.4, luajit -joff, luajit, python3)
# side by side, checks that every runner prints the same output, and prints median times and ratios to
# lua5.4.
#
# Usage: benchmarks/peers.sh [--smoke] [--runs K] [--only w1,w2] [--clock cpu|wall]
#   --smoke       tiny sizes and 1 run (a quick check that everything works and agrees)
#   --runs K      K interleaved rounds per workload (default 3; 1 with --smoke)
#   --only LIST   comma-separated subset of: fib loop sieve calls trees callgraph
#   --clock C     cpu: each process's user + system CPU time (default); wall: elapsed time
# Environment: OPSCOPE = the opscope binary (default: build/opscope in the repository root).
#
# opscope runs examples/W.ops with its first `let NAME = NUMBER;` line set to the size; the peers run
# benchmarks/peers/W.{lua,py} with the size as their first argument. python3 is the reference: its output
# (one extra, untimed run) is the expected output of every runner. A mismatch or a failing runner is
# reported and makes the script exit 1 after the tables.
set -euo pipefail
export LC_ALL=C  # a "." decimal point in $EPOCHREALTIME, awk and sort

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
peers_dir="$root/benchmarks/peers"
examples_dir="$root/examples"

all_workloads=(fib loop sieve calls trees callgraph)
declare -A default_size=([fib]=30 [loop]=100000000 [sieve]=2000000 [calls]=10000000 [trees]=16 [callgraph]=2000000)
declare -A smoke_size=([fib]=15 [loop]=100000 [sieve]=20000 [calls]=10000 [trees]=6 [callgraph]=1000)
# Known outputs at the default sizes: a sanity check of the reference itself.
declare -A default_output=([fib]=832040 [loop]=45150 [sieve]=148933 [calls]=50000005000000 [trees]=14723759
                           [callgraph]=487998)

usage() { sed -n '6,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
die() { echo "peers.sh: $*" >&2; exit 2; }

smoke=0
runs=""
only=""
# CPU time by default: on these shared VMs a neighbour's load moves wall times by 30-50% within minutes
# (lua5.4's sieve: 0.61 s, then 0.91 s), while CPU time counts only the cycles the process itself ran.
clock=cpu
while (($#)); do
  case "$1" in
    --smoke) smoke=1; shift ;;
    --runs) (($# >= 2)) || die "--runs needs a value"; runs=$2; shift 2 ;;
    --runs=*) runs=${1#--runs=}; shift ;;
    --only) (($# >= 2)) || die "--only needs a value"; only=$2; shift 2 ;;
    --only=*) only=${1#--only=}; shift ;;
    --clock) (($# >= 2)) || die "--clock needs a value"; clock=$2; shift 2 ;;
    --clock=*) clock=${1#--clock=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done

if [[ -z $runs ]]; then
  if ((smoke)); then runs=1; else runs=3; fi
fi
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer, got '$runs'"
[[ $clock == cpu || $clock == wall ]] || die "--clock is cpu or wall, got '$clock'"

workloads=()
if [[ -n $only ]]; then
  IFS=, read -r -a requested <<<"$only"
  for w in "${requested[@]}"; do
    [[ -n ${default_size[$w]+x} ]] || die "unknown workload '$w' (known: ${all_workloads[*]})"
    workloads+=("$w")
  done
  ((${#workloads[@]})) || die "--only: no workloads given"
else
  workloads=("${all_workloads[@]}")
fi

# The opscope binary (a relative OPSCOPE is taken relative to the current directory).
opscope=${OPSCOPE:-$root/build/opscope}
if [[ ! -x $opscope ]]; then
  die "opscope binary not found or not executable: $opscope
  build it with tools/bootstrap.sh (from the repository root), or set OPSCOPE=path/to/opscope"
fi
opscope=$(cd "$(dirname "$opscope")" && pwd)/$(basename "$opscope")

# The peer interpreters: install what is missing (Debian packages).
apt_install() {
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  echo "peers.sh: installing $*" >&2
  export DEBIAN_FRONTEND=noninteractive
  if ! $sudo apt-get install -y -qq "$@" >/dev/null; then
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq "$@" >/dev/null
  fi
}
command -v python3 >/dev/null || apt_install python3
missing=()
command -v lua5.4 >/dev/null || missing+=(lua5.4)
command -v luajit >/dev/null || missing+=(luajit)
((${#missing[@]} == 0)) || apt_install lua5.4 luajit
for tool in python3 lua5.4 luajit; do
  command -v "$tool" >/dev/null || die "$tool is still missing after installing it"
done
# The interpreters' own executables: a python3 on PATH may be a wrapper script (a pyenv shim costs ~0.1 s a
# start), which must not be timed.
lua54=$(command -v lua5.4)
luajit=$(command -v luajit)
python3=$(python3 -c 'import sys; print(sys.executable)')
[[ -x $python3 ]] || python3=$(command -v python3)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/opscope-peers.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

runner_names=("opscope run" "opscope profile" "lua5.4" "luajit -joff" "luajit" "python3")

# runner_cmd INDEX WORKLOAD SIZE: sets the array `cmd` to the command line of that runner.
runner_cmd() {
  local w=$2 n=$3
  case "$1" in
    0) cmd=("$opscope" run "$tmp/$w.ops") ;;
    1) cmd=("$opscope" profile "$tmp/$w.ops" --policy full -o /dev/null) ;;
    2) cmd=("$lua54" "$peers_dir/$w.lua" "$n") ;;
    3) cmd=("$luajit" -joff "$peers_dir/$w.lua" "$n") ;;
    4) cmd=("$luajit" "$peers_dir/$w.lua" "$n") ;;
    5) cmd=("$python3" "$peers_dir/$w.py" "$n") ;;
  esac
}

# Writes examples/W.ops to $tmp/W.ops with the number of its first `let NAME = NUMBER;` line set to SIZE.
substitute_size() {
  local w=$1 n=$2 src="$examples_dir/$1.ops"
  [[ -f $src ]] || die "missing $src"
  awk -v n="$n" '
    !done && /^[ \t]*let[ \t]+[A-Za-z_][A-Za-z0-9_]*[ \t]*=[ \t]*[0-9]+[ \t]*;/ {
      sub(/=[ \t]*[0-9]+/, "= " n); done = 1
    }
    { print }
    END { if (!done) exit 1 }' "$src" >"$tmp/$w.ops" || die "$src has no 'let NAME = NUMBER;' line to set the size"
}

# median of the arguments (the mean of the two middle values for an even count)
median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) printf "%.6f\n", v[(NR + 1) / 2]; else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# x to 3 significant digits, without an exponent
sig3() {
  awk -v x="$1" 'BEGIN {
    if (x <= 0) { print "0"; exit }
    e = log(x) / log(10); f = int(e); if (f > e) f--
    d = 2 - f; if (d < 0) d = 0
    printf ("%." d "f\n", x) }'
}

declare -A median_s failed
mismatches=()
for w in "${workloads[@]}"; do
  if ((smoke)); then n=${smoke_size[$w]}; else n=${default_size[$w]}; fi
  substitute_size "$w" "$n"
  # The expected output: python3 is the reference.
  if ! "$python3" "$peers_dir/$w.py" "$n" >"$tmp/expected" 2>"$tmp/err"; then
    cat "$tmp/err" >&2
    die "the reference $python3 $peers_dir/$w.py $n failed"
  fi
  expected=$(<"$tmp/expected")
  if [[ $n == "${default_size[$w]}" && $expected != "${default_output[$w]}" ]]; then
    mismatches+=("$w: reference python3 printed '$expected', the known output is '${default_output[$w]}'")
  fi
  echo "peers.sh: $w (size $n, expected $expected), $runs round(s)" >&2

  declare -A times=()
  for ((k = 1; k <= runs; k++)); do
    # Each round starts one runner later, so no runner always follows the same one (the process after
    # python3's sieve paid for the kernel's reclaiming of its memory: opscope's sieve 0.51 s, else 0.35 s).
    for ((j = 0; j < ${#runner_names[@]}; j++)); do
      r=$(((j + k - 1) % ${#runner_names[@]}))
      runner_cmd "$r" "$w" "$n"
      rc=0
      TIMEFORMAT='%3R %3U %3S'
      { time { "${cmd[@]}" >"$tmp/out" 2>"$tmp/err" || rc=$?; }; } 2>"$tmp/time"
      read -r wall user system <"$tmp/time"
      if [[ $clock == cpu ]]; then
        secs=$(awk -v u="$user" -v s="$system" 'BEGIN { printf "%.3f", u + s }')
      else
        secs=$wall
      fi
      times[$r]+="$secs "
      got=$(<"$tmp/out")
      name=${runner_names[$r]}
      if ((rc != 0)); then
        failed[$w,$r]=1
        err=$(head -c 300 "$tmp/err")
        mismatches+=("$w: $name (round $k) failed with exit status $rc: ${cmd[*]}${err:+ -- $err}")
      elif [[ $got != "$expected" ]]; then
        failed[$w,$r]=1
        mismatches+=("$w: $name (round $k) expected '$expected', got '$got'")
      fi
      printf 'peers.sh:   round %d  %-16s %ss\n' "$k" "$name" "$secs" >&2
    done
  done
  for r in "${!runner_names[@]}"; do
    # shellcheck disable=SC2086  # the times are a space-separated list
    median_s[$w,$r]=$(median ${times[$r]})
  done
  unset times
done

# The report.
model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
echo "opscope peers benchmark: $(date '+%Y-%m-%d %H:%M:%S %Z')"
echo "machine: $(nproc) CPU(s), ${model:-unknown CPU model}"
echo "opscope: $opscope ($("$opscope" --version 2>/dev/null || echo 'version unknown'))"
echo "lua5.4:  $lua54: $("$lua54" -v 2>&1 | head -n1)"
echo "luajit:  $luajit: $("$luajit" -v 2>&1 | head -n1)"
echo "python3: $python3: $("$python3" --version 2>&1)"
if ((smoke)); then echo "sizes: smoke"; else echo "sizes: default"; fi
if [[ $clock == cpu ]]; then
  echo "rounds: $runs (interleaved; median CPU seconds, user + system)"
else
  echo "rounds: $runs (interleaved; median wall seconds)"
fi
echo

print_row() {
  printf '%-10s %11s' "$1" "$2"
  shift 2
  printf ' %16s' "$@"
  printf '\n'
}
print_row workload size "${runner_names[@]}"
for w in "${workloads[@]}"; do
  if ((smoke)); then n=${smoke_size[$w]}; else n=${default_size[$w]}; fi
  cells=()
  for r in "${!runner_names[@]}"; do
    cell=$(sig3 "${median_s[$w,$r]}")
    [[ -z ${failed[$w,$r]+x} ]] || cell="$cell(!)"
    cells+=("$cell")
  done
  print_row "$w" "$n" "${cells[@]}"
done
echo
echo "ratio of each median to lua5.4's (lower is faster)"
print_row workload size "${runner_names[@]}"
lua_index=2
for w in "${workloads[@]}"; do
  if ((smoke)); then n=${smoke_size[$w]}; else n=${default_size[$w]}; fi
  cells=()
  for r in "${!runner_names[@]}"; do
    cells+=("$(awk -v a="${median_s[$w,$r]}" -v b="${median_s[$w,$lua_index]}" \
                 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')")
  done
  print_row "$w" "$n" "${cells[@]}"
done

if ((${#mismatches[@]})); then
  echo
  echo "MISMATCHES ((!) in the table):"
  printf '  %s\n' "${mismatches[@]}"
  exit 1
fi
echo
echo "all outputs agree"
