#!/usr/bin/env bash
# Runs a compile command that must fail, and checks the compiler's diagnostics: for compile-fail tests.
#   tools/expect_compile_error.sh REGEX [REGEX...] -- COMPILER ARGS...
# Exits 0 when the command fails and its output (stdout and stderr) matches every REGEX (grep -E); exits 1
# when it compiles, or fails for another reason (a REGEX not matched), printing the output; 2 on misuse.
set -uo pipefail

regexes=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do regexes+=("$1"); shift; done
if [ $# -lt 2 ] || [ ${#regexes[@]} -eq 0 ]; then
  echo "usage: $0 REGEX [REGEX...] -- COMPILER ARGS..." >&2
  exit 2
fi
shift  # the --

output=$("$@" 2>&1)
status=$?
if [ $status -eq 0 ]; then
  echo "FAIL: compiled, but should not have: $*"
  exit 1
fi
for regex in "${regexes[@]}"; do
  if ! grep -Eq -- "$regex" <<<"$output"; then
    echo "FAIL: the compiler failed (status $status), but its output does not match '$regex':"
    echo "$output"
    exit 1
  fi
done
echo "ok: failed to compile as expected, output matching: ${regexes[*]}"
head -n 40 <<<"$output"
exit 0
