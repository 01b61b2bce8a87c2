#!/usr/bin/env bash
# Where a request's CPU goes, on PostgreSQL:
#   bench/cost.sh [mix ...]      (default: get create; env: SECS=8 THREADS=2 TENANTS=100 DOCS=1000
#                                 BUILD=build/release PG_PORT=15437 PORT=18097 WORK=/tmp/plinth-cost)
# Starts a throwaway PostgreSQL (../shared/bench/pg-throwaway.sh: fsync and synchronous commit
# on, as in bench/http.sh), seeds the documents app, serves it as bench/http.sh does, and for each
# mix runs wrk -t2 -c64 with ../shared/bench/workload.lua, reading /proc/<pid>/stat of plinth, of
# wrk and of every PostgreSQL process around the run: CPU µs per request for each of the three.
# Then it runs through pgbench (pipelined, prepared, 32 clients, as ../shared/bench/pg-limit.sh
# does) the statements plinth sends for a get and for a create, and pg-limit.sh's own shorter
# ones, on the same database: PostgreSQL's CPU per transaction for the statements alone, which
# separates PostgreSQL's share of a request from what the HTTP path adds to it.
# On 2 cores the three shares bound the rate: 2 s / (plinth + PostgreSQL + wrk) per request.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd); cd "$root"
shared=${SHARED:-$root/../shared/bench}
build=${BUILD:-build/release}; bin=$build/plinth; seed=$build/http_seed_benchmark
work=${WORK:-/tmp/plinth-cost}; pgport=${PG_PORT:-15437}; port=${PORT:-18097}
secs=${SECS:-8}; threads=${THREADS:-2}
mixes=("$@"); [ ${#mixes[@]} -gt 0 ] || mixes=(get create)
[ -x "$bin" ] && [ -x "$seed" ] || { echo "build first: cmake --build $build --target plinth http_seed_benchmark" >&2; exit 2; }
command -v wrk >/dev/null && command -v pgbench >/dev/null || { echo "needs wrk and pgbench" >&2; exit 2; }
tck=$(getconf CLK_TCK)
rm -rf "$work"; mkdir -p "$work"
. "$root/bench/http_lib.sh"

# ticks PID... : user + system CPU ticks of the live ones among PID...
ticks() { local t=0 p; for p in "$@"; do [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo "$t"; }
# pg_snap FILE: "pid ticks" of every PostgreSQL process; pg_delta A B: the ticks spent between
# the two snapshots by the processes in both, plus all of those that started in between
# (backends come and go: a process that ended in between is counted in neither).
pg_snap() {
  local p files=()
  for p in $(pgrep -u postgres -f '^postgres'); do files+=("/proc/$p/stat"); done
  awk '{ print $1, $14 + $15 }' "${files[@]}" >"$1" 2>/dev/null || true
}
pg_delta() { awk 'NR == FNR { a[$1] = $2; next } { d += $2 - (($1 in a) ? a[$1] : 0) } END { print d + 0 }' "$1" "$2"; }
per() { awk -v t="$1" -v n="$2" -v tck="$tck" 'BEGIN { if (n + 0 == 0) print "?"; else printf "%.0f", t / tck * 1e6 / n }'; }

su=$("$shared/pg-throwaway.sh" start "$work/pg" "$pgport")
"$seed" --app examples/documents --keys "$work/keys.txt" --tenants "${TENANTS:-100}" --docs "${DOCS:-1000}" \
  --pg-superuser "$su" --pg-database plinth_cost >"$work/urls.txt"
runtime_url=$(sed -n 's/^RUNTIME_URL=//p' "$work/urls.txt"); admin_url=$(sed -n 's/^ADMIN_URL=//p' "$work/urls.txt")
serve_plinth "$work/serve.log" "$runtime_url" "$admin_url" "$threads"
KEYS_FILE=$work/keys.txt MIX=mixed wrk -t2 -c64 -d3s -s "$shared/workload.lua" http://127.0.0.1:$port >/dev/null

echo "CPU per request, plinth serve --threads $threads on PostgreSQL, wrk -t2 -c64 -d${secs}s, $(nproc) cores"
printf '%-8s %9s %9s %9s %9s %9s %9s\n' mix "req/s" "p99 ms" "plinth µs" "postgres" "wrk" "bound/s"
for mix in "${mixes[@]}"; do
  p0=$(ticks "$spid"); pg_snap "$work/g0"
  KEYS_FILE=$work/keys.txt MIX=$mix wrk -t2 -c64 -d${secs}s -s "$shared/workload.lua" http://127.0.0.1:$port >"$work/wrk.txt" &
  wpid=$!
  sleep 0.2; w0=$(ticks "$wpid"); wt0=$(date +%s%N)
  sleep $((secs - 1)); w1=$(ticks "$wpid"); wt1=$(date +%s%N)
  wait "$wpid"
  p1=$(ticks "$spid"); pg_snap "$work/g1"; gd=$(pg_delta "$work/g0" "$work/g1")
  line=$(grep '^RESULT' "$work/wrk.txt")
  rps=$(echo "$line" | sed -E 's/.*rps=([0-9.]+).*/\1/'); p99=$(echo "$line" | sed -E 's/.*p99_ms=([0-9.]+).*/\1/')
  n=$(awk -v r="$rps" -v s="$secs" 'BEGIN { print r * s }')
  # wrk's ticks are read inside the run (its process ends with it), over a known wall time.
  nw=$(awk -v r="$rps" -v a="$wt0" -v b="$wt1" 'BEGIN { print r * (b - a) / 1e9 }')
  pu=$(per $((p1 - p0)) "$n"); gu=$(per "$gd" "$n"); wu=$(per $((w1 - w0)) "$nw")
  bound=$(awk -v a="$pu" -v b="$gu" -v c="$wu" -v k="$(nproc)" 'BEGIN { printf "%.0f", k * 1e6 / (a + b + c) }')
  printf '%-8s %9.0f %9s %9s %9s %9s %9s\n' "$mix" "$rps" "$p99" "$pu" "$gu" "$wu" "$bound"
done
stop_plinth

# The statements alone through pgbench. plinth's are what `log_statement = all` shows it send
# for GET /api/v1/documents/{id} and POST /api/v1/documents with an admin's API key (three
# principal settings, the row by tenant and id; the insert returning the row, the audit row).
read -r _ doc < "$work/keys.txt"
db_admin=${su%/*}/plinth_cost
tenant=$(psql -Atc "select tenant_id from documents where id = '$doc'" "$db_admin")
user=$(psql -Atc "select user_id from documents where id = '$doc'" "$db_admin")
claims="SELECT set_config('plinth.tenant_id', '$tenant', true), set_config('plinth.user_id', '$user', true), set_config('plinth.roles', 'admin', true);"
cols='"id", "tenant_id", "user_id", "title", "content_hash", "metadata", "created_at", "updated_at"'
cat >"$work/get-plinth.sql" <<SQL
\startpipeline
$claims
SELECT $cols FROM "documents" WHERE "tenant_id" = '$tenant'::uuid AND "id" = '$doc'::uuid;
\endpipeline
SQL
cat >"$work/get-limit.sql" <<SQL
\startpipeline
SELECT set_config('plinth.tenant_id', '$tenant', true);
SELECT id, tenant_id, user_id, title, content_hash, metadata, created_at, updated_at FROM documents WHERE id = '$doc';
\endpipeline
SQL
cat >"$work/create-plinth.sql" <<SQL
\startpipeline
$claims
INSERT INTO "documents" ("tenant_id", "title", "metadata", "id") VALUES ('$tenant'::uuid, 'cost doc'::text, '{"source":"pgbench"}'::jsonb, gen_random_uuid()) RETURNING $cols;
INSERT INTO "plinth_audit" ("tenant_id", "principal_kind", "user_id", "credential_id", "action", "table_name", "row_key", "changes", "reason", "request_id", "ip", "user_agent") VALUES ('$tenant'::text::uuid, 'api_key', '$user'::text::uuid, '72a4299b-2fa1-40f1-94fc-c33dcbe09a94', 'insert', 'documents', '07579d8e-1c09-481d-b615-f17e6eb1b052', '{"id":"07579d8e-1c09-481d-b615-f17e6eb1b052","title":"cost doc","metadata":"{\\"source\\":\\"pgbench\\"}","tenant_id":"$tenant"}'::text::jsonb, NULL, '2478d2a4-2f55-4b2b-9cca-3e4b111e2faa', '127.0.0.1', 'wrk');
\endpipeline
SQL
cat >"$work/create-limit.sql" <<SQL
\startpipeline
SELECT set_config('plinth.tenant_id', '$tenant', true);
INSERT INTO documents (tenant_id, title, metadata) VALUES ('$tenant', 'cost doc', '{"source":"pgbench"}') RETURNING id, created_at;
INSERT INTO plinth_audit (tenant_id, principal_kind, action, table_name) VALUES ('$tenant', 'api_key', 'insert', 'documents');
\endpipeline
SQL
echo
echo "PostgreSQL alone: the same statements through pgbench -M prepared -c 32 -j 2 (pipelined), ${secs}s measured each"
printf '%-16s %9s %12s %12s\n' statements tps "postgres µs" "pgbench µs"
for f in get-plinth get-limit create-plinth create-limit; do
  # Measured from 1 s in to 1 s before the end: inside the run, when every client is connected.
  pgbench "$runtime_url" -n -M prepared -c 32 -j 2 -T $((secs + 2)) -f "$work/$f.sql" >"$work/$f.out" 2>&1 &
  bpid=$!
  sleep 1; pg_snap "$work/g0"; b0=$(ticks "$bpid"); t0=$(date +%s%N)
  sleep "$secs"; pg_snap "$work/g1"; b1=$(ticks "$bpid"); t1=$(date +%s%N)
  wait "$bpid" || { cat "$work/$f.out" >&2; exit 1; }
  tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$work/$f.out")
  n=$(awk -v r="$tps" -v a="$t0" -v b="$t1" 'BEGIN { print r * (b - a) / 1e9 }')
  printf '%-16s %9.0f %12s %12s\n' "$f" "$tps" "$(per "$(pg_delta "$work/g0" "$work/g1")" "$n")" "$(per $((b1 - b0)) "$n")"
done
