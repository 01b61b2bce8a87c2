#!/usr/bin/env bash
# Migration engine at scale: an app of 200 tables built by 1,000 migrations. Reports the time to
# diff (replay 1,000 migrations + load the schema + compare: `migrate diff` with nothing to do),
# to render all SQL offline, and to apply everything from empty on SQLite and on PostgreSQL.
#   bench/migrate_scale.sh [TABLES=200] [STEPS=1000]
#   PLINTH_BIN=path/to/plinth (default build/release/plinth)   BENCH_PG_PORT=56999   BENCH_WORK=/tmp/…
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd); cd "$root"
tables=${1:-200}; steps=${2:-1000}
bin=${PLINTH_BIN:-$root/build/release/plinth}
[ -x "$bin" ] || make build >/dev/null
work=${BENCH_WORK:-/tmp/plinth-bench-migrate}
app=$work/app-$tables-$steps
if [ ! -f "$app/.complete" ]; then
  rm -rf "$app"; mkdir -p "$app"
  python3 bench/gen_migrations.py "$bin" "$app" "$tables" "$steps"
  touch "$app/.complete"
fi
secs() { local s=$EPOCHREALTIME; "$@" >/dev/null; local e=$EPOCHREALTIME; awk -v s="$s" -v e="$e" 'BEGIN { print e - s }'; }

pgdir=$(mktemp -d /tmp/plinth-bench-pg.XXXXXX)
trap 'scripts/pg.sh stop "$pgdir"' EXIT
pgurl=$(scripts/pg.sh start "$pgdir" "${BENCH_PG_PORT:-56999}")
rm -f "$work/scale.db" "$work/scale.db-wal" "$work/scale.db-shm"

diff_s=$(secs "$bin" --app "$app" -q migrate diff -m nothing)
sql_s=$(secs "$bin" --app "$app" -q migrate sql --dialect postgresql)
sqlite_s=$(secs "$bin" --app "$app" -q --database-url "sqlite://$work/scale.db" migrate up)
pg_s=$(secs "$bin" --app "$app" -q --database-url "$pgurl" migrate up)
check_sqlite_s=$(secs "$bin" --app "$app" -q --database-url "sqlite://$work/scale.db" migrate check)
check_pg_s=$(secs "$bin" --app "$app" -q --database-url "$pgurl" migrate check)
full_check_pg_s=$(secs "$bin" --app "$app" -q --database-url "$pgurl" check)
printf 'MIGRATE tables=%s migrations=%s\n' "$tables" "$steps"
printf '  diff (replay + load + compare, nothing to do)  %8.2f s\n' "$diff_s"
printf '  sql  (render every migration, postgresql)      %8.2f s\n' "$sql_s"
printf '  up from empty, SQLite                          %8.2f s\n' "$sqlite_s"
printf '  up from empty, PostgreSQL                      %8.2f s\n' "$pg_s"
printf '  check (introspect + compare), SQLite           %8.2f s\n' "$check_sqlite_s"
printf '  check (introspect + compare), PostgreSQL       %8.2f s\n' "$check_pg_s"
printf '  plinth check (every object), PostgreSQL        %8.2f s\n' "$full_check_pg_s"
