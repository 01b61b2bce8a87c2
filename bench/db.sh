#!/usr/bin/env bash
# The request-path database against PostgreSQL's own pipelined floor, on a throwaway cluster.
#   bench/db.sh [seconds] [io_threads]      (PORT=57250 BUILD=build/release by default)
# Starts a loopback cluster (scripts/pg.sh), runs build/…/db_benchmark (plinth reads and
# inserts through db::Database::Run, then pgbench pipelined on the same tables), prints the
# figures and the ratios, and stops the cluster.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd); cd "$root"
secs=${1:-8}; threads=${2:-2}; port=${PORT:-57250}; build=${BUILD:-build/release}
bin="$build/db_benchmark"
[ -x "$bin" ] || { echo "build $bin first (cmake --build $build --target db_benchmark)" >&2; exit 2; }
dir=$(mktemp -d /tmp/plinth-dbbench-pg.XXXXXX)
trap 'scripts/pg.sh stop "$dir"' EXIT
url=$(scripts/pg.sh start "$dir" "$port")
"$bin" "$url" "$secs" "$threads"
