#!/usr/bin/env bash
# The test command (`make test`): installs what is missing, builds plinth twice — release (g++)
# and AddressSanitizer + UndefinedBehaviorSanitizer (clang, with the libFuzzer targets) — starts
# a throwaway PostgreSQL cluster on loopback, runs every test of both builds against SQLite and
# PostgreSQL, runs each fuzzer briefly on its corpus, and stops the cluster even when tests fail.
#
#   PLINTH_TEST_BUILDS="release asan"   the builds to test (default both)
#   CTEST_ARGS="-R migrate"             extra ctest arguments
#   PLINTH_FUZZ_SECONDS=5               seconds per fuzzer (0 skips them)
#
# Time on a 2-core machine is dominated by compiling. CMakeLists.txt precompiles the heavy
# header-only libraries (PLINTH_PCH), compiles the cases shared by the SQLite and PostgreSQL
# test binaries once, builds release with line tables only (-g1) and its test code at -O1, and
# links with lld. The sanitizer build compiles at -O0 -g1 (2.6x faster to compile than -O1;
# ASan and UBSan find the same errors, the tests only run slower), and the fuzz targets share
# it instead of a third build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd); cd "$root"
bash scripts/deps.sh
builds=${PLINTH_TEST_BUILDS:-release asan}
fuzz_seconds=${PLINTH_FUZZ_SECONDS:-5}
jobs=$(nproc)
start=$SECONDS

configure_build() {
  case $1 in
    release)
      cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null ;;
    asan)
      cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
        -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
        -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" -DCMAKE_C_FLAGS_DEBUG="-O0 -g1" \
        -DPLINTH_SANITIZE=ON -DPLINTH_FUZZ=ON -DPLINTH_BENCH=OFF >/dev/null ;;
    *) echo "unknown build '$1' (expected release or asan)" >&2; exit 2 ;;
  esac
  echo "== build $1"
  cmake --build "build/$1" -j"$jobs"
  echo "== build $1 done at $((SECONDS - start)) s"
}
for b in $builds; do configure_build "$b"; done

# A free loopback port for the throwaway cluster.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
pgdir=$(mktemp -d /tmp/plinth-test-pg.XXXXXX)
fuzzdir=$(mktemp -d /tmp/plinth-test-fuzz.XXXXXX)
trap 'scripts/pg.sh stop "$pgdir"; rm -rf "$fuzzdir"' EXIT
export PLINTH_TEST_PG_URL=$(scripts/pg.sh start "$pgdir" "$port")
echo "== PostgreSQL at $PLINTH_TEST_PG_URL"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

status=0
for b in $builds; do
  echo "== tests ($b)"
  ctest --test-dir "build/$b" --output-on-failure -j"$jobs" --timeout 600 ${CTEST_ARGS:-} || status=1
done

# The fuzzers of the sanitizer build, briefly, each on its corpus (read-only: new inputs go to a
# temporary directory).
if [[ " $builds " == *" asan "* && $fuzz_seconds -gt 0 ]]; then
  for f in build/asan/*_fuzz; do
    [ -x "$f" ] || continue
    name=$(basename "$f" _fuzz)
    corpus=()
    [ -d "fuzz/corpus/$name" ] && corpus=("fuzz/corpus/$name")
    mkdir -p "$fuzzdir/$name"
    echo "== fuzz $name (${fuzz_seconds} s)"
    "$f" -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 -print_final_stats=0 "$fuzzdir/$name" "${corpus[@]}" \
      >"$fuzzdir/$name.log" 2>&1 || { status=1; tail -50 "$fuzzdir/$name.log"; }
  done
fi

echo "== $((SECONDS - start)) s"
[ $status -eq 0 ] && echo "== all tests passed" || echo "== TESTS FAILED"
exit $status
