#!/usr/bin/env bash
# Throughput of the http layer alone: starts bench/http_hello_benchmark (a trivial GET /hello)
# and runs wrk against it. Prints wrk's summary and one line:
#   RESULT http_hello rps=<requests/s> p50_ms=… p99_ms=… errors=…
# Env: BUILD_DIR (default build/release), THREADS (server I/O threads, 2), DURATION (5s),
#      CONNECTIONS (64), WRK_THREADS (2), ROUTE (/hello), ACCESS_LOG (a path: log every request).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd); cd "$root"
build=${BUILD_DIR:-build/release}
if [ ! -f "$build/build.ninja" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --target http_hello_benchmark >/dev/null
command -v wrk >/dev/null || { echo "wrk is not installed (scripts/deps.sh)" >&2; exit 1; }

out=$(mktemp); lua=$(mktemp --suffix=.lua)
args=(--threads "${THREADS:-2}")
[ -n "${ACCESS_LOG:-}" ] && args+=(--access-log "$ACCESS_LOG")
"$build/http_hello_benchmark" "${args[@]}" >"$out" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -f "$out" "$lua"' EXIT
for _ in $(seq 100); do grep -q '^LISTENING' "$out" && break; sleep 0.05; done
port=$(awk '/^LISTENING/ {print $2}' "$out")
[ -n "$port" ] || { cat "$out" >&2; echo "the server did not start" >&2; exit 1; }

cat >"$lua" <<'LUA'
function done(summary, latency, requests)
  io.write(string.format("RESULT http_hello rps=%.1f p50_ms=%.3f p99_ms=%.3f errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout))
end
LUA
wrk -t"${WRK_THREADS:-2}" -c"${CONNECTIONS:-64}" -d"${DURATION:-5s}" -s "$lua" \
  "http://127.0.0.1:$port${ROUTE:-/hello}"
