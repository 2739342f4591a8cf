#!/usr/bin/env bash
# opscope as a host project sees it (tools/test.sh runs this after its Release build):
#   1. installs BUILD_DIR to a temporary prefix, lists the tree and checks it holds exactly the public headers
#      (include/opscope/, the same files as the source's include/opscope/), the library, the package config
#      (lib/cmake/opscope/), the CLI if it was built, and the C API's libopscope.so with lib/pkgconfig/opscope.pc
#      if it was built; no sources, nothing else;
#   2. compiles every installed header alone (#include <opscope/...> in an empty file, -fsyntax-only, warnings as
#      errors) against the prefix only: each public header is self-contained; the C header also as C11 (-pedantic);
#   3. builds examples/consumer against the prefix with find_package(opscope), runs both programs and checks
#      what they print (and embed_c, the C example linked to opscope::opscope_c, with the C API); with the C API,
#      builds examples/embed.c with `pkg-config --cflags --libs opscope` alone and runs it;
#   4. builds examples/consumer with this source tree as a sub-project (add_subdirectory, no build type given)
#      and checks that it built the library alone (no CLI, tests, examples or benchmarks), left the host's
#      CMAKE_BUILD_TYPE empty, and that both programs print the same again.
# Usage: tools/consumer_check.sh [BUILD_DIR]   (default build; configured and built, e.g. by tools/bootstrap.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
build=${1:-build}
[ -f "$build/CMakeCache.txt" ] || { echo "consumer_check: $build is not a configured build directory" >&2; exit 2; }
cached() { sed -n "s/^$1:[A-Z]*=//p" "$2/CMakeCache.txt" | tail -n 1; }
cxx=$(cached CMAKE_CXX_COMPILER "$build")
jobs=$(nproc)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
fail() { echo "consumer_check: FAILED: $*" >&2; failed=1; }

# Runs a command quietly; on failure prints its output and stops.
quiet() {
  if ! "$@" >"$work/log" 2>&1; then
    cat "$work/log" >&2
    echo "consumer_check: FAILED: $*" >&2
    exit 1
  fi
  if grep -q "CMake Warning" "$work/log"; then cat "$work/log"; fi
}

# Both example programs of one consumer build, run and checked.
check_programs() {
  local dir=$1 out
  out=$("$dir/embed") || fail "$dir/embed exited with status $?"
  [ "$out" = "result: 42" ] || fail "$dir/embed printed '$out', not 'result: 42'"
  echo "  embed: $out"

  out=$("$dir/custom_policy") || fail "$dir/custom_policy exited with status $?"
  [ "$(sed -n 1p <<<"$out")" = 4999950610 ] || fail "$dir/custom_policy: the program's output is not 4999950610"
  [ "$(sed -n 2p <<<"$out")" = "opscope profile of timed.ops (policy custom)" ] ||
    fail "$dir/custom_policy: no report title"
  grep -Eq '^  function +calls +self +self % +inclusive +incl %$' <<<"$out" ||
    fail "$dir/custom_policy: the Functions section has no time columns"
  # CallTimer: exact counts, and main's inclusive time is the sum of every function's self time.
  local timer
  timer=$(sed -n '/^CallTimer:$/,$p' <<<"$out" | tail -n +2)
  if ! awk '
      !/^[a-z_]+ calls=[0-9]+ self_ns=[0-9]+ inclusive_ns=[0-9]+$/ { bad = 1; next }
      { split($2, c, "="); split($3, s, "="); split($4, t, "=");
        calls[$1] = c[2]; self_sum += s[2]; incl[$1] = t[2]; n++ }
      END { exit !(n == 3 && !bad && calls["main"] == 1 && calls["work"] == 1 && calls["fib"] == 1973 &&
                   self_sum == incl["main"] && incl["work"] > 0) }' <<<"$timer"; then
    fail "$dir/custom_policy: CallTimer lines wrong:"$'\n'"$timer"
  fi
  echo "  custom_policy: 4999950610, the report, and CallTimer:"
  sed 's/^/    /' <<<"$timer"
}

# The C example, linked to the installed libopscope.so (found through LD_LIBRARY_PATH: no rpath into the prefix).
check_c_example() {
  local program=$1 what=$2 out
  out=$(LD_LIBRARY_PATH="$prefix/lib" "$program") || fail "$what exited with status $?"
  [ "$(sed -n 1p <<<"$out")" = "result: 9900" ] || fail "$what printed '$(sed -n 1p <<<"$out")', not 'result: 9900'"
  grep -qx "OPSCOPE_ERROR_RUNTIME: in native 'twice': expected an int" <<<"$out" ||
    fail "$what did not report the native's error"
  echo "  $what: $(sed -n 1p <<<"$out"), and its errors"
}

echo "== install $build to a temporary prefix"
prefix=$work/prefix
quiet cmake --install "$build" --prefix "$prefix"
(cd "$prefix" && find . -type f -o -type l | sed 's|^\./||' | LC_ALL=C sort) >"$work/installed"
sed 's/^/  /' "$work/installed"
c_api=0
[ -e "$build/libopscope.so" ] && c_api=1
# The C header is installed with the C API's library only.
c_headers=(-false)
((c_api)) && c_headers=(-name '*.h')
(cd include && find opscope -type f \( -name '*.hpp' -o "${c_headers[@]}" \) | sed 's|^|include/|' | LC_ALL=C sort) \
  >"$work/headers"
grep '^include/' "$work/installed" >"$work/installed_headers" || true
if ! cmp -s "$work/headers" "$work/installed_headers"; then
  fail "the installed headers are not the source's include/opscope/*.hpp and *.h (< source, > installed):"
  diff "$work/headers" "$work/installed_headers" >&2 || true
fi
grep -E '\.(cpp|cc|cxx|c|inl)$' "$work/installed" | sed 's/^/  source file installed: /' >&2 && fail "sources installed"
expected="^(include/opscope/.*\.hpp|include/opscope/opscope\.h|lib/libopscope\.(a|so[.0-9]*)|lib/cmake/opscope/opscope(Config|ConfigVersion|Targets|Targets-[a-z]+)\.cmake"
[ -x "$build/opscope" ] && expected+="|bin/opscope"
((c_api)) && expected+="|lib/pkgconfig/opscope\.pc"
expected+=")$"
grep -Ev "$expected" "$work/installed" | sed 's/^/  unexpected: /' >&2 && fail "unexpected files installed"
for file in lib/cmake/opscope/opscopeConfig.cmake lib/cmake/opscope/opscopeConfigVersion.cmake \
            lib/cmake/opscope/opscopeTargets.cmake; do
  grep -qx "$file" "$work/installed" || fail "$file not installed"
done
grep -Eq '^lib/libopscope\.a$' "$work/installed" || fail "the library is not installed"
if ((c_api)); then
  for file in lib/libopscope.so lib/pkgconfig/opscope.pc include/opscope/opscope.h; do
    grep -qx "$file" "$work/installed" || fail "the C API's $file is not installed"
  done
  # Relocatable: the .pc names no absolute path (the prefix is found from the file's own folder).
  grep -E '^(prefix|includedir|libdir)=/' "$prefix/lib/pkgconfig/opscope.pc" >&2 && fail "opscope.pc holds an absolute path"
fi
if [ -x "$build/opscope" ]; then
  out=$("$prefix/bin/opscope" run examples/fib.opasm)
  [ "$out" = 832040 ] || fail "installed CLI: fib printed '$out'"
fi
((failed == 0)) || exit 1

echo "== each installed header compiles alone against the prefix ($cxx)"
mkdir "$work/headers_alone"
sed 's|^include/||' "$work/headers" | while read -r header; do
  printf '#include <%s>\n' "$header" >"$work/headers_alone/$(tr '/.' '__' <<<"$header").cpp"
done
export cxx prefix
if ! find "$work/headers_alone" -name '*.cpp' -print0 | xargs -0 -n 1 -P "$jobs" bash -c '
    "$cxx" -std=c++20 -fsyntax-only -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion \
      -Werror -I"$prefix/include" "$0" 2>&1 || { echo "^ in $(head -n 1 "$0")"; exit 1; }'; then
  fail "an installed header does not compile alone"
  exit 1
fi
cc=${CC:-cc}
for header in $(grep '\.h$' "$work/headers" | sed 's|^include/||'); do
  printf '#include <%s>\nint main(void) { return 0; }\n' "$header" >"$work/header_alone.c"
  "$cc" -std=c11 -fsyntax-only -Wall -Wextra -Werror -pedantic -I"$prefix/include" "$work/header_alone.c" ||
    fail "$header does not compile alone as C11 ($cc)"
done
((failed == 0)) || exit 1
echo "  $(wc -l <"$work/headers") headers, each self-contained (C headers also as C11 with $cc)"

echo "== consumer: find_package(opscope) from the prefix"
consumer=$work/installed_consumer
quiet cmake -S examples/consumer -B "$consumer" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
[ "$(cached opscope_DIR "$consumer")" = "$prefix/lib/cmake/opscope" ] ||
  fail "found opscope in $(cached opscope_DIR "$consumer"), not in the prefix"
grep -Eo "$src/(include|vm|policies|report)[^ ]*" "$consumer/build.ninja" | sort -u | sed 's/^/  /' >&2 &&
  fail "the consumer's build uses the source tree"
quiet cmake --build "$consumer" --parallel "$jobs"
check_programs "$consumer"
if ((c_api)); then
  [ -x "$consumer/embed_c" ] || fail "the consumer did not build embed_c against opscope::opscope_c"
  check_c_example "$consumer/embed_c" "embed_c (find_package, opscope::opscope_c)"

  echo "== C consumer: examples/embed.c with pkg-config --cflags --libs opscope ($cc)"
  flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs opscope)
  echo "  pkg-config: $flags"
  include_dir=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags-only-I opscope | sed 's/^ *-I//; s/ *$//')
  [ "$(realpath "$include_dir")" = "$(realpath "$prefix/include")" ] ||
    fail "pkg-config's include path $include_dir is not the prefix's"
  # shellcheck disable=SC2086  # the flags are words
  "$cc" -std=c11 -Wall -Wextra -Werror -pedantic examples/embed.c $flags -o "$work/embed_pkg_config" ||
    fail "examples/embed.c does not build with pkg-config's flags"
  check_c_example "$work/embed_pkg_config" "embed.c (pkg-config)"
fi
((failed == 0)) || exit 1

echo "== consumer: opscope as a sub-project (add_subdirectory, no build type)"
consumer=$work/subproject_consumer
quiet env -u CMAKE_BUILD_TYPE cmake -S examples/consumer -B "$consumer" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" \
  -DOPSCOPE_SUBDIRECTORY="$src"
[ -z "$(cached CMAKE_BUILD_TYPE "$consumer")" ] ||
  fail "opscope set the host's CMAKE_BUILD_TYPE to '$(cached CMAKE_BUILD_TYPE "$consumer")'"
for option in OPSCOPE_BUILD_CLI OPSCOPE_BUILD_EXAMPLES OPSCOPE_BUILD_TESTS OPSCOPE_BUILD_BENCHMARKS OPSCOPE_BUILD_C_API \
              OPSCOPE_INSTALL; do
  [ "$(cached $option "$consumer")" = OFF ] || fail "$option is '$(cached $option "$consumer")' in a sub-project"
done
# What the build links: the host's two programs and opscope's library, nothing else.
linked=$(ninja -C "$consumer" -t targets all | sed -n 's/: CXX_[A-Z_]*LINKER__.*//p' | LC_ALL=C sort | tr '\n' ' ')
[ "$linked" = "custom_policy embed opscope/libopscope.a " ] || fail "the sub-project links more than the library: $linked"
((failed == 0)) || exit 1
quiet cmake --build "$consumer" --parallel "$jobs"
[ ! -e "$consumer/opscope/opscope" ] && [ ! -d "$consumer/opscope/tests" ] ||
  fail "the sub-project built the CLI or the tests"
echo "  build type left empty, CLI/examples/tests/benchmarks/install off; linked: $linked"
check_programs "$consumer"

if ((failed)); then exit 1; fi
echo "consumer_check: the install tree, the headers alone and both consumers are as a host expects"
