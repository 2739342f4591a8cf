#!/usr/bin/env bash
# The fuel counter stays in a register in every interpreter loop: each control transfer charges fuel
# (CHARGE_COST in interpreter.hpp: subtract, then branch on the sign), and a counter kept in a stack slot turns
# that into a load and a store at every jump, call and return, each waiting on the last one's store. Register
# allocation answers to the whole loop, so a change anywhere in it can move fuel to the stack: clang 14 keeps
# the policies' fuel there (BENCHMARKS.md section 9, where the ways out measured slower); g++ keeps it in a
# register in every loop, which CI checks with this. It reads the machine code: in each Vm<P>::interpret of
# each binary, a `sub` into a stack slot followed by a sign branch is a charge in memory; any one fails the
# check. Deterministic: no timing.
#
#   benchmarks/fuel_in_register.sh BINARY...     (e.g. build/opscope: every policy's loop)
set -euo pipefail
export LC_ALL=C

(($#)) || { sed -n '11s/^# \{0,1\}//p' "$0" >&2; exit 2; }
command -v objdump >/dev/null || { echo "fuel_in_register: objdump (binutils) not found" >&2; exit 2; }
command -v c++filt >/dev/null || { echo "fuel_in_register: c++filt (binutils) not found" >&2; exit 2; }

failed=0
for binary in "$@"; do
  [ -f "$binary" ] || { echo "fuel_in_register: no such file: $binary" >&2; exit 2; }
  # One line per interpret instantiation: the charges in memory, then its name.
  report=$(objdump -d --no-show-raw-insn "$binary" | awk '
    /^[0-9a-f]+ <.*>:$/ { name = $2; loop = (name ~ /interpret/); if (loop) charges[name] += 0 }
    loop && stack_sub && /\tj(s|ns) / { charges[name]++ }
    { stack_sub = loop && /\tsub +[^,]+,(-?0x[0-9a-f]+)?\(%rsp\)$/ }
    END { for (n in charges) print charges[n], n }' | c++filt | sed 's/^\([0-9]*\) <\(.*\)>:$/\1 \2/' | sort -k2)
  if [ -z "$report" ]; then
    echo "fuel_in_register: $binary: no interpreter loop found (stripped, or not an x86-64 binary with Vm<P>)" >&2
    exit 2
  fi
  while read -r charges loop; do
    if [ "$charges" = 0 ]; then
      echo "ok    $binary: $loop keeps fuel in a register"
    else
      echo "FAIL  $binary: $loop charges fuel in a stack slot at $charges transfers" >&2
      failed=1
    fi
  done <<<"$report"
done
exit "$failed"
