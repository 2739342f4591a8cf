#!/usr/bin/env bash
# Runs an example of the C API against a built libopscope.so and checks it prints what the README says
# (the ``` block after `<!-- OUTPUT_OF examples/embed.c -->` or `.py` in README.md), so the two cannot drift.
#   tools/c_api_example.sh c CC LIBRARY [FLAGS...]    compiles examples/embed.c as C11 with CC
#                                                    (-std=c11 -Wall -Wextra -Werror -pedantic, warnings are
#                                                    errors), links LIBRARY (then FLAGS), runs it
#   tools/c_api_example.sh python LIBRARY            runs python3 examples/embed.py with OPSCOPE_LIBRARY=LIBRARY
# CTest runs both (tests/CMakeLists.txt): the C one with gcc and clang.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=$1
shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

case $kind in
c)
  cc=$1 library=$2
  shift 2
  "$cc" -std=c11 -Wall -Wextra -Werror -pedantic -Iinclude examples/embed.c -o "$work/embed" \
    "$library" -Wl,-rpath,"$(dirname "$library")" "$@"
  example=examples/embed.c
  "$work/embed" >"$work/out"
  ;;
python)
  library=$1
  example=examples/embed.py
  OPSCOPE_LIBRARY=$library python3 examples/embed.py >"$work/out"
  ;;
*)
  echo "usage: $0 c CC LIBRARY [CFLAGS...] | python LIBRARY" >&2
  exit 2
  ;;
esac

# The README's expected output: the fenced block right after the marker.
awk -v marker="<!-- OUTPUT_OF $example -->" '
  $0 == marker { found = 1; next }
  found == 1 && /^```/ { found = 2; next }
  found == 2 && /^```/ { exit }
  found == 2 { print }' README.md >"$work/expected"
[ -s "$work/expected" ] || { echo "c_api_example: README.md has no output block for $example" >&2; exit 1; }
if ! diff -u "$work/expected" "$work/out"; then
  echo "c_api_example: $example printed something else than README.md says (- README, + printed)" >&2
  exit 1
fi
echo "c_api_example: $example printed what README.md says"
