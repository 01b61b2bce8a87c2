#!/usr/bin/env bash
# The test command (`make test`): installs what is missing, builds plinth twice (release, and
# AddressSanitizer + UndefinedBehaviorSanitizer), starts a throwaway PostgreSQL cluster on
# loopback, runs every test of both builds against SQLite and PostgreSQL, and stops the cluster
# even when tests fail.
#   PLINTH_TEST_BUILDS="release asan" (default both)   CTEST_ARGS="-R schema" (extra ctest args)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd); cd "$root"
bash scripts/deps.sh
builds=${PLINTH_TEST_BUILDS:-release asan}
jobs=$(nproc)

configure_build() {
  case $1 in
    release) cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null ;;
    asan) cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS=-O1 \
            -DPLINTH_SANITIZE=ON -DPLINTH_BENCH=OFF >/dev/null ;;
  esac
  echo "== build $1"
  cmake --build "build/$1" -j"$jobs"
}
for b in $builds; do configure_build "$b"; done

# A free loopback port for the throwaway cluster.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
pgdir=$(mktemp -d /tmp/plinth-test-pg.XXXXXX)
trap 'scripts/pg.sh stop "$pgdir"' EXIT
export PLINTH_TEST_PG_URL=$(scripts/pg.sh start "$pgdir" "$port")
echo "== PostgreSQL at $PLINTH_TEST_PG_URL"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

status=0
for b in $builds; do
  echo "== tests ($b)"
  ctest --test-dir "build/$b" --output-on-failure -j"$jobs" --timeout 600 ${CTEST_ARGS:-} || status=1
done
[ $status -eq 0 ] && echo "== all tests passed" || echo "== TESTS FAILED"
exit $status
