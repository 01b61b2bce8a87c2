#!/usr/bin/env bash
# The data runtime against PostgreSQL's own pipelined floor, on a throwaway cluster.
#   bench/runtime.sh [seconds] [io_threads] [rounds]   (PORT=57390 BUILD=build/release by default)
# Starts a loopback cluster (scripts/pg.sh), runs build/…/runtime_benchmark (tenant-scoped
# point reads and inserts through data::Runtime, then pgbench pipelined on the same tables as
# the same runtime role), prints the figures and the ratios, and stops the cluster.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd); cd "$root"
secs=${1:-3}; threads=${2:-2}; rounds=${3:-5}; port=${PORT:-57390}; build=${BUILD:-build/release}
bin="$build/runtime_benchmark"
[ -x "$bin" ] || { echo "build $bin first (cmake --build $build --target runtime_benchmark)" >&2; exit 2; }
dir=$(mktemp -d /tmp/plinth-rtbench-pg.XXXXXX)
trap 'scripts/pg.sh stop "$dir"' EXIT
url=$(scripts/pg.sh start "$dir" "$port")
"$bin" "$url" "$secs" "$threads" "$rounds"
