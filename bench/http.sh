#!/usr/bin/env bash
# The tenant API benchmark (../shared/bench/README.md), one command:
#   bench/http.sh [seconds per mix]        (env: TENANTS=100 DOCS=1000 BUILD=build/release PORT=18090
#                                           PG_PORT=55434 WORK=/tmp/plinth-http-bench WARMUP=3)
# Seeds the documents app (TENANTS x DOCS documents, one key per tenant) on PostgreSQL (a
# throwaway cluster on :55434, migrated as the owner role, served as the unprivileged runtime
# role) and on SQLite, runs wrk -t2 -c64 with ../shared/bench/workload.lua for the get, list,
# create and mixed mixes against `plinth serve` on each, then ../shared/bench/run-peer.sh (the
# seeds' FastAPI stack and PostgreSQL's floor, :55433 / :18081), and prints one table with the
# ratios against the goals of issue 5. Each plinth run starts with /health/live alone (3 s: the
# HTTP stack without the database) and an unmeasured warm-up of the mixed workload (WARMUP s).
# Needs wrk, psql and the Release build of plinth and http_seed_benchmark.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd); cd "$root"
secs=${1:-10}
shared=${SHARED:-$root/../shared/bench}
build=${BUILD:-build/release}
bin=$build/plinth; seed=$build/http_seed_benchmark
work=${WORK:-/tmp/plinth-http-bench}; pgport=${PG_PORT:-55434}; port=${PORT:-18090}
tenants=${TENANTS:-100}; docs=${DOCS:-1000}
[ -x "$bin" ] && [ -x "$seed" ] || { echo "build first: cmake --build $build --target plinth http_seed_benchmark" >&2; exit 2; }
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }; }
rm -rf "$work"; mkdir -p "$work"
. "$root/bench/http_lib.sh"

load_start=$(cut -d' ' -f1-3 /proc/loadavg)  # other work on the machine skews every figure: recorded in the table
declare -A R   # R[contestant,mix] = "rps p50 p99 non2xx sockerr"; R[contestant,rss]

# serve <label> <database url> [admin url]: starts plinth serve, runs the mixes, records RSS.
run_plinth() {
  local label=$1 url=$2 admin=${3:-} keys=$4
  serve_plinth "$work/$label.log" "$url" "$admin" 2
  local hello
  hello=$(wrk -t2 -c64 -d3s http://127.0.0.1:$port/health/live | awk '/Requests\/sec/ {print $2}')
  R[$label,live]=$hello
  # Warm-up, not measured: the pool grows to its working size (PostgreSQL: DB_POOL_SIZE +
  # overflow connections opened under this load) and every connection prepares its statements.
  KEYS_FILE=$keys MIX=mixed wrk -t2 -c64 -d${WARMUP:-3}s -s "$shared/workload.lua" http://127.0.0.1:$port >/dev/null
  for mix in get list create mixed; do
    local line
    line=$(KEYS_FILE=$keys MIX=$mix wrk -t2 -c64 -d${secs}s -s "$shared/workload.lua" http://127.0.0.1:$port | grep '^RESULT')
    R[$label,$mix]=$(echo "$line" | sed -E 's/.*rps=([0-9.]+) p50_ms=([0-9.]+) p99_ms=([0-9.]+) errors_non2xx=([0-9]+) socket_errors=([0-9]+).*/\1 \2 \3 \4 \5/')
    echo "  $label $mix: $line" >&2
  done
  R[$label,rss]=$(( $(ps -o rss= -p "$spid") / 1024 ))
  stop_plinth
}

echo "== PostgreSQL: seeding $tenants x $docs" >&2
su=$("$shared/pg-throwaway.sh" start "$work/pg" "$pgport")
"$seed" --app examples/documents --keys "$work/keys-pg.txt" --tenants "$tenants" --docs "$docs" \
  --pg-superuser "$su" --pg-database plinth_bench >"$work/pg-urls.txt"
runtime_url=$(sed -n 's/^RUNTIME_URL=//p' "$work/pg-urls.txt"); admin_url=$(sed -n 's/^ADMIN_URL=//p' "$work/pg-urls.txt")
run_plinth pg "$runtime_url" "$admin_url" "$work/keys-pg.txt"
"$shared/pg-throwaway.sh" stop "$work/pg" >/dev/null 2>&1 || true

echo "== SQLite: seeding $tenants x $docs" >&2
"$seed" --app examples/documents --keys "$work/keys-sqlite.txt" --tenants "$tenants" --docs "$docs" --sqlite "$work/bench.db"
run_plinth sqlite "sqlite://$work/bench.db" "" "$work/keys-sqlite.txt"

echo "== the seeds' stack and PostgreSQL's floor (run-peer.sh)" >&2
TENANTS=$tenants DOCS=$docs "$shared/run-peer.sh" "$secs" >"$work/peer.txt" 2>"$work/peer.err" || { cat "$work/peer.err" >&2; exit 1; }
cat "$work/peer.txt" >&2
while read -r tag mix rest; do
  case $tag in
    PEER)
      if [[ $mix == rss_mib=* ]]; then R[peer,rss]=${mix#rss_mib=}
      else R[peer,$mix]=$(echo "$rest" | sed -E 's/.*rps=([0-9.]+) p50_ms=([0-9.]+) p99_ms=([0-9.]+) errors_non2xx=([0-9]+) socket_errors=([0-9]+).*/\1 \2 \3 \4 \5/'); fi ;;
    LIMIT) R[floor,$mix]=${rest#tps=} ;;
  esac
done <"$work/peer.txt"

f() { echo "${R[$1,$2]:-0 0 0 0 0}" | awk -v i="$3" '{print $i}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
ok() { awk -v v="$1" -v goal="$2" -v dir="$3" 'BEGIN { if (v == "n/a") print "?"; else if ((dir == ">=" && v + 0 >= goal) || (dir == "<=" && v + 0 <= goal)) print "met"; else print "MISSED" }'; }

echo
echo "HTTP benchmark: documents app, $tenants tenants x $docs documents, wrk -t2 -c64 -d${secs}s, $(nproc) cores shared by wrk, the server and the database"
echo "load average at the start: $load_start; at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-16s %-7s %10s %9s %9s %7s %7s\n' contestant mix "req/s" "p50 ms" "p99 ms" non2xx sockerr
for c in pg sqlite peer; do
  name=$c; [ $c = pg ] && name="plinth/postgres"; [ $c = sqlite ] && name="plinth/sqlite"; [ $c = peer ] && name="fastapi (peer)"
  for mix in get list create mixed; do
    printf '%-16s %-7s %10s %9s %9s %7s %7s\n' "$name" "$mix" "$(f $c $mix 1)" "$(f $c $mix 2)" "$(f $c $mix 3)" "$(f $c $mix 4)" "$(f $c $mix 5)"
  done
done
printf '%-16s %-7s %10s\n' "postgres floor" read "${R[floor,read]:-?}" "postgres floor" write "${R[floor,write]:-?}"
printf 'RSS MiB: plinth/postgres %s, plinth/sqlite %s, peer %s (workers)\n' "${R[pg,rss]}" "${R[sqlite,rss]}" "${R[peer,rss]:-?}"
printf '/health/live req/s (the HTTP stack alone): plinth/postgres %s, plinth/sqlite %s\n' "${R[pg,live]}" "${R[sqlite,live]}"
echo
printf '%-44s %9s %8s %s\n' goal value target verdict
g() { printf '%-44s %9s %8s %s\n' "$1" "$2" "$4$3" "$(ok "$2" "$3" "$4")"; }
g "get pg / peer get" "$(ratio "$(f pg get 1)" "$(f peer get 1)")" 30 ">="
g "get pg / floor read" "$(ratio "$(f pg get 1)" "${R[floor,read]:-0}")" 0.5 ">="
g "create pg / peer create" "$(ratio "$(f pg create 1)" "$(f peer create 1)")" 15 ">="
g "create pg / floor write" "$(ratio "$(f pg create 1)" "${R[floor,write]:-0}")" 0.5 ">="
worst_p99=0; for c in pg sqlite; do for mix in get list create mixed; do worst_p99=$(awk -v a="$worst_p99" -v b="$(ratio "$(f $c $mix 3)" "$(f peer $mix 3)")" 'BEGIN{ if (b != "n/a" && b + 0 > a + 0) print b; else print a }'); done; done
g "worst p99 plinth / peer (same mix)" "$worst_p99" 0.05 "<="
g "RSS plinth/postgres / peer" "$(ratio "${R[pg,rss]}" "${R[peer,rss]:-0}")" 0.33 "<="
g "get sqlite / get pg" "$(ratio "$(f sqlite get 1)" "$(f pg get 1)")" 1 ">="
errs=0; for c in pg sqlite; do for mix in get list create mixed; do errs=$((errs + $(f $c $mix 4) + $(f $c $mix 5))); done; done
g "errors (non-2xx + socket), plinth" "$errs" 0 "<="
