#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/*_fuzz.cc) with clang-14, AddressSanitizer and
# UndefinedBehaviorSanitizer in build/fuzz, and runs each over its seed corpus
# (fuzz/corpus/<name>/) for a few seconds. Fails when any target crashes, leaks, trips a
# sanitizer or an invariant; the input that did it is kept in build/fuzz/artifacts/.
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET…]    (default 20 s, every target)
#   PLINTH_FUZZ_BUILD=dir overrides build/fuzz.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd); cd "$root"
seconds=${1:-20}
shift || true
build=${PLINTH_FUZZ_BUILD:-build/fuzz}

if ! command -v clang++-14 >/dev/null; then
  echo "fuzz: clang++-14 is missing (scripts/deps.sh installs it)" >&2
  exit 1
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/*_fuzz.cc; do targets+=("$(basename "$f" .cc)"); done
fi

CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPLINTH_FUZZ=ON \
  -DPLINTH_SANITIZE=ON -DPLINTH_TESTS=OFF -DPLINTH_BENCH=OFF >/dev/null
echo "== fuzz: building ${targets[*]}"
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}"

artifacts="$build/artifacts"
mkdir -p "$artifacts"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for t in "${targets[@]}"; do
  name=${t%_fuzz}
  seeds="fuzz/corpus/$name"
  work=$(mktemp -d "/tmp/plinth-fuzz-$name.XXXXXX")  # new inputs go here, not into the repository
  echo "== fuzz: $t for ${seconds}s (seeds: $seeds)"
  if "$build/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
       -artifact_prefix="$artifacts/$name-" "$work" $( [ -d "$seeds" ] && echo "$seeds" ) >"$build/$name.log" 2>&1; then
    grep -E "^(#[0-9]+.*DONE|stat::number_of_executed_units)" "$build/$name.log" | tail -2 || true
  else
    echo "== fuzz: $t FAILED (log: $build/$name.log; input: $artifacts/$name-*)" >&2
    grep -E "ERROR|runtime error|deadly signal|Test unit written" -A3 "$build/$name.log" | head -40 >&2 || true
    status=1
  fi
  rm -rf "$work"
done
[ $status -eq 0 ] && echo "== fuzz: every target ran without a crash" || echo "== fuzz: CRASHES FOUND"
exit $status
