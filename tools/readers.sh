#!/usr/bin/env bash
# Opens opscope's exports with the real readers a user would open them with, and checks what each reader
# shows against the profile's JSON (content, not exit codes: several readers exit 0 on bad input; see
# docs/exports.md).
#
# Usage: tools/readers.sh --install                 installs the readers that are missing (apt, npm ci)
#        tools/readers.sh [OPSCOPE] READER...        checks with each READER; OPSCOPE defaults to build/opscope
# Readers: pprof-go (go tool pprof -raw/-top/-diff_base), pprof-format (npm pprof-format 2.3.2 with Parca's and
# Pyroscope's structural rules), callgrind (callgrind_annotate), flamegraph (flamegraph.pl), flamegraph-diff
# (flamegraph.pl on `opscope diff --format folded` of two runs), html (the HTML report in Debian's headless
# chromium, driven by npm puppeteer-core: tools/readers/htmlcheck.mjs), diff-html (`opscope diff --format html`
# of two runs at two sizes, same browser: htmlcheck.mjs --diff), speedscope (npm speedscope 1.25.0's own
# importer in headless chromium: tools/readers/sscheck.mjs), chrome (the Chrome DevTools trace engine, npm
# @paulirish/trace_engine 0.0.65, under node: tools/readers/techeck.mjs), or `all`.
# Profiles come from every workload in examples/ (the .ops ones at small sizes) under each policy that records
# what the format needs, written as JSON by `opscope profile` and exported by `opscope export` and `opscope
# merge`. A reader that is not installed: "skipped: reader X not installed", exit 77 (CTest's skip code)
# when every reader asked for was skipped (with OPSCOPE_REQUIRE_READERS=1, as tools/test.sh sets: exit 1).
# Any mismatch exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."

readers_dir=tools/readers
apt_packages=(golang-go valgrind libdevel-nytprof-perl chromium nodejs npm)

if [ "${1:-}" = --install ]; then
  missing=()
  for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # node and npm preinstalled outside apt count as installed.
  if command -v node >/dev/null && command -v npm >/dev/null; then
    missing=("${missing[@]/nodejs/}"); missing=("${missing[@]/npm/}")
  fi
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sed '/^$/d')
  if ((${#missing[@]})); then
    echo "readers: installing ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  if [ ! -f "$readers_dir/node_modules/pprof-format/package.json" ] ||
     [ ! -f "$readers_dir/node_modules/puppeteer-core/package.json" ] ||
     [ ! -f "$readers_dir/node_modules/speedscope/package.json" ] ||
     [ ! -f "$readers_dir/node_modules/@paulirish/trace_engine/package.json" ] ||
     ! cmp -s "$readers_dir/package-lock.json" "$readers_dir/node_modules/.package-lock.json.installed" 2>/dev/null; then
    echo "readers: npm ci in $readers_dir"
    (cd "$readers_dir" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp "$readers_dir/package-lock.json" "$readers_dir/node_modules/.package-lock.json.installed"
  fi
  echo "readers: installed (go tool pprof, pprof-format, callgrind_annotate, flamegraph.pl, chromium + puppeteer-core, speedscope, trace_engine)"
  exit 0
fi

opscope=build/opscope
if [ $# -gt 0 ] && [ -x "$1" ] && [ ! -d "$1" ]; then opscope=$1; shift; fi
[ -x "$opscope" ] || { echo "readers: $opscope not built" >&2; exit 1; }
opscope=$(realpath "$opscope")
(($#)) || set -- all
# Every reader, in order: `all`, and CTest's readers_* tests (tests/CMakeLists.txt reads this line).
readers=(pprof-go pprof-format callgrind flamegraph flamegraph-diff html diff-html speedscope chrome)
if [ "$1" = all ]; then set -- "${readers[@]}"; fi

# Why a reader cannot run here (empty: it can).
absent() {
  command -v node >/dev/null || { echo "node"; return; }
  case $1 in
    pprof-go) command -v go >/dev/null || echo "go tool pprof (apt golang-go)" ;;
    pprof-format) [ -f "$readers_dir/node_modules/pprof-format/package.json" ] || echo "pprof-format (npm ci in $readers_dir)" ;;
    callgrind) command -v callgrind_annotate >/dev/null || echo "callgrind_annotate (apt valgrind)" ;;
    flamegraph|flamegraph-diff) [ -n "$(flamegraph_pl)" ] || echo "flamegraph.pl (apt libdevel-nytprof-perl)" ;;
    html|diff-html) if ! command -v chromium >/dev/null; then echo "chromium (apt chromium)"
          elif [ ! -f "$readers_dir/node_modules/puppeteer-core/package.json" ]; then echo "puppeteer-core (npm ci in $readers_dir)"; fi ;;
    speedscope) if ! command -v chromium >/dev/null; then echo "chromium (apt chromium)"
          elif [ ! -f "$readers_dir/node_modules/puppeteer-core/package.json" ]; then echo "puppeteer-core (npm ci in $readers_dir)"
          elif [ ! -f "$readers_dir/node_modules/speedscope/package.json" ]; then echo "speedscope (npm ci in $readers_dir)"; fi ;;
    chrome) [ -f "$readers_dir/node_modules/@paulirish/trace_engine/package.json" ] || echo "@paulirish/trace_engine (npm ci in $readers_dir)" ;;
    *) echo "unknown reader $1 (${readers[*]}, all)" >&2; exit 2 ;;
  esac
}
flamegraph_pl() { dpkg -L libdevel-nytprof-perl 2>/dev/null | grep 'flamegraph.pl$' | head -n 1 || true; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HOME=${HOME:-$work} GOCACHE=${GOCACHE:-$work/gocache}  # go tool pprof wants both set

# The workloads: every example with its size made small, so all of them run in seconds: the size is the first
# top-level `let NAME = NUMBER;` of a .ops file and the `push NUMBER ; @size` of a .opasm file; a size up to 40
# (a depth, fib's argument) becomes two thirds of itself, a larger one a hundredth. The copies keep their line
# numbers, so every line count still refers to the example's own lines.
mkdir -p "$work/examples"
workloads=()
for f in examples/*.ops examples/*.opasm; do
  copy=$work/examples/$(basename "$f")
  awk 'function small(n) { n = n + 0; return n <= 40 ? int(n * 2 / 3) : int(n / 100) }
       !done && /^let [A-Za-z_]+ = [0-9]+;/ && FILENAME ~ /\.ops$/ {
         match($0, /[0-9]+/); $0 = substr($0, 1, RSTART - 1) small(substr($0, RSTART, RLENGTH)) substr($0, RSTART + RLENGTH); done = 1 }
       /push [0-9]+ +; @size/ {
         match($0, /[0-9]+/); $0 = substr($0, 1, RSTART - 1) small(substr($0, RSTART, RLENGTH)) substr($0, RSTART + RLENGTH) }
       { print }' "$f" >"$copy"
  workloads+=("$copy")
done

ran=0
failed=0
for reader in "$@"; do
  why=$(absent "$reader")
  if [ -n "$why" ]; then
    echo "skipped: reader $reader not installed ($why)"
    # CI (tools/test.sh) requires every reader: a failed install must not pass as a skipped check.
    [ "${OPSCOPE_REQUIRE_READERS:-0}" = 1 ] && { echo "readers: OPSCOPE_REQUIRE_READERS=1 and $reader is missing" >&2; failed=1; }
    continue
  fi
  ran=$((ran + 1))
  script=(check.mjs "$reader")
  case $reader in
    html) script=(htmlcheck.mjs) ;;
    diff-html) script=(htmlcheck.mjs --diff) ;;
    speedscope) script=(sscheck.mjs) ;;
    chrome) script=(techeck.mjs) ;;
  esac
  if FLAMEGRAPH_PL=$(flamegraph_pl) node "$readers_dir/${script[0]}" "${script[@]:1}" "$opscope" "$work" "${workloads[@]}"; then
    :
  else
    failed=1
  fi
done
((failed == 0)) || exit 1
((ran > 0)) || exit 77
