#!/usr/bin/env bash
# The data runtime against PostgreSQL's own pipelined floor, on a throwaway cluster.
#   bench/runtime.sh [seconds] [io_threads] [rounds]   (PORT=57390 BUILD=build/release by default)
# Starts a loopback cluster (scripts/pg.sh), then in the same run:
# 1. build/…/runtime_benchmark: tenant-scoped point reads and inserts through data::Runtime,
#    interleaved round by round with pgbench running the same transactions pipelined on the
#    same tables as the same runtime role; prints RUNTIME / PGBENCH / RATIO lines;
# 2. ../shared/bench/pg-limit.sh itself, on the peer schema (../shared/peers/fastapi-seedstack/
#    schema.sql, seeded with the same 100 tenants x 1,000 documents) in another database of the
#    same cluster; prints its LIMIT lines and the runtime's ratio to them (RATIO_VS_PG_LIMIT).
# Stops the cluster. Quote ratios from one run: absolute figures drift on shared machines.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd); cd "$root"
secs=${1:-3}; threads=${2:-2}; rounds=${3:-5}; port=${PORT:-57390}; build=${BUILD:-build/release}
shared=${SHARED:-$root/../shared}
bin="$build/runtime_benchmark"
[ -x "$bin" ] || { echo "build $bin first (ninja -C $build runtime_benchmark)" >&2; exit 2; }
dir=$(mktemp -d /tmp/plinth-rtbench-pg.XXXXXX)
out=$(mktemp /tmp/plinth-rtbench-out.XXXXXX)
trap 'scripts/pg.sh stop "$dir"; rm -f "$out"' EXIT
url=$(scripts/pg.sh start "$dir" "$port")
"$bin" "$url" "$secs" "$threads" "$rounds" | tee "$out"

limit="$shared/bench/pg-limit.sh"; peer_schema="$shared/peers/fastapi-seedstack/schema.sql"
if [ ! -x "$limit" ] || [ ! -f "$peer_schema" ]; then
  echo "# $limit or $peer_schema not found: pg-limit.sh skipped (SHARED=path/to/shared)"
  exit 0
fi
admin="host=127.0.0.1 port=$port user=postgres"
psql "$admin dbname=postgres" -qAtc 'DROP DATABASE IF EXISTS peer' -c 'CREATE DATABASE peer'
psql "$admin dbname=peer" -qAt -v ON_ERROR_STOP=1 -f "$peer_schema" >/dev/null
psql "$admin dbname=peer" -qAt -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
INSERT INTO tenants (id, name) SELECT gen_random_uuid(), 'tenant-' || t FROM generate_series(1, 100) t;
INSERT INTO users (tenant_id, email) SELECT id, 'u' || row_number() OVER () || '@example.com' FROM tenants;
INSERT INTO documents (tenant_id, user_id, title, content_hash, metadata)
  SELECT u.tenant_id, u.id, 'doc ' || n, md5(u.id::text || n), jsonb_build_object('n', n, 'kind', 'bench')
  FROM users u, generate_series(1, 1000) n;
VACUUM ANALYZE;
SQL
echo "# ../shared/bench/pg-limit.sh on the peer schema, same cluster, ${secs}s per transaction type"
"$limit" "host=127.0.0.1 port=$port dbname=peer user=peer_app" "$secs" | tee -a "$out"
awk '/^RUNTIME read/ { split($3, a, "="); r = a[2] } /^RUNTIME write/ { split($3, a, "="); w = a[2] }
     /^LIMIT read/ { split($3, a, "="); lr = a[2] } /^LIMIT write/ { split($3, a, "="); lw = a[2] }
     END { if (lr > 0 && lw > 0) printf "RATIO_VS_PG_LIMIT read=%.2f write=%.2f (runtime medians / pg-limit.sh)\n", r / lr, w / lw }' "$out"
