#!/usr/bin/env bash
# Installs what is missing (Debian packages only), then configures and builds opscope into ./build.
# Usage: tools/bootstrap.sh [extra cmake arguments...]
#
# The build is the one CI tests: Release, g++, warnings as errors (-DOPSCOPE_WERROR=OFF to relax). tools/test.sh
# configures ./build through this script with the same settings plus the benchmarks, so the README's two
# commands share one build and run in any order, any number of times, without rebuilding from scratch.
#
# Environment: BUILD_DIR (default: build), CXX (compiler for a new build directory; default: g++).
# To change the compiler of an existing build directory pass -DCMAKE_CXX_COMPILER=...: the compiler is
# resolved to an absolute path (how CMake caches it), and a different one configures the directory afresh
# with every option given and the OPSCOPE_* options set before, instead of CMake's own reset, which drops them.
# Configure output is printed only on failure; every -D option given is checked against the cache.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake ninja-build g++ lld libboost-dev libboost-test-dev libfmt-dev nlohmann-json3-dev libcli11-dev
          libbenchmark-dev clang libclang-rt-14-dev valgrind zlib1g-dev pkg-config python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "bootstrap: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build_dir=${BUILD_DIR:-build}
cache=$build_dir/CMakeCache.txt

# The value of NAME in the cache (empty when absent).
cached() { [ -f "$cache" ] && sed -n "s/^$1:[A-Z]*=//p" "$cache" | tail -n 1 || true; }

# The arguments, with "-D NAME=VALUE" joined into "-DNAME=VALUE" and the compiler taken out.
args=()
compiler=""
while (($#)); do
  arg=$1
  shift
  if [ "$arg" = -D ] && (($#)); then arg=-D$1; shift; fi
  case $arg in
    -DCMAKE_CXX_COMPILER=* | -DCMAKE_CXX_COMPILER:*=*) compiler=${arg#*=} ;;
    *) args+=("$arg") ;;
  esac
done

# A compiler as CMake finds it: a bare name through PATH, a path made absolute (symbolic links kept).
resolve() { if [[ $1 != */* ]]; then command -v -- "$1"; else realpath -s -- "$1"; fi; }

if [ -z "$compiler" ]; then
  if [ ! -f "$cache" ]; then
    compiler=${CXX:-g++}
  elif [ -n "${CXX:-}" ] && [ "$(resolve "$CXX" || true)" != "$(resolve "$(cached CMAKE_CXX_COMPILER)" || true)" ]; then
    echo "bootstrap: $build_dir keeps its compiler $(cached CMAKE_CXX_COMPILER) (CXX applies to a new build" \
         "directory; pass -DCMAKE_CXX_COMPILER=$CXX to switch)" >&2
  fi
fi
if [ -n "$compiler" ]; then
  resolved=$(resolve "$compiler") || { echo "bootstrap: compiler '$compiler' not found" >&2; exit 1; }
  compiler=$resolved
  previous=$(cached CMAKE_CXX_COMPILER)
  # A cache written by "-DCMAKE_CXX_COMPILER=g++" holds the bare name; CMake compares it resolved, so do we.
  if [ -n "$previous" ]; then previous=$(resolve "$previous") || previous=$(cached CMAKE_CXX_COMPILER); fi
  if [ -n "$previous" ] && [ "$previous" != "$compiler" ]; then
    # CMake would delete the cache itself, then configure without the options given here. The opscope options
    # set earlier are carried over (the ones given now override them).
    echo "bootstrap: $build_dir changes compiler ($previous -> $compiler): configuring it afresh"
    mapfile -t carried < <(sed -n 's/^\(OPSCOPE_[A-Z_]*:BOOL=.*\)$/-D\1/p' "$cache")
    args=("${carried[@]}" "${args[@]}")
    rm -rf "$cache" "$build_dir/CMakeFiles"
  fi
  args=("-DCMAKE_CXX_COMPILER=$compiler" "${args[@]}")
fi

# The house settings first, so that the caller's arguments override them.
args=(-DCMAKE_BUILD_TYPE=Release -DOPSCOPE_WERROR=ON "${args[@]}")

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! cmake -S . -B "$build_dir" -G Ninja "${args[@]}" >"$log" 2>&1; then
  cat "$log" >&2
  echo "bootstrap: configuring $build_dir failed (cmake ${args[*]})" >&2
  exit 1
fi

# Every option asked for must be in the cache: a configure that silently dropped one (as CMake's reset on a
# compiler change does) fails here rather than as a missing binary later.
declare -A wanted=()
for arg in "${args[@]}"; do
  if [[ $arg =~ ^-D([A-Za-z_][A-Za-z0-9_]*)(:[A-Z]+)?=(.*)$ ]]; then wanted[${BASH_REMATCH[1]}]=${BASH_REMATCH[3]}; fi
done
for name in "${!wanted[@]}"; do
  case $name in CMAKE_CXX_COMPILER | CMAKE_BUILD_TYPE | OPSCOPE_*) ;; *) continue ;; esac
  if [ "$(cached "$name")" != "${wanted[$name]}" ]; then
    cat "$log" >&2
    echo "bootstrap: $build_dir was configured with $name='$(cached "$name")', not '${wanted[$name]}'" >&2
    exit 1
  fi
done
echo "bootstrap: $build_dir: $(cached CMAKE_BUILD_TYPE), $(cached CMAKE_CXX_COMPILER)," \
     "warnings as errors $(cached OPSCOPE_WERROR), benchmarks $(cached OPSCOPE_BUILD_BENCHMARKS)," \
     "sanitizers $(cached OPSCOPE_SANITIZE)"

cmake --build "$build_dir" --parallel "$(nproc)"
