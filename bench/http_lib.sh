# Sourced by bench/http.sh and bench/cost.sh: the benchmark server's lifecycle and the cleanup of
# what a run started. The caller sets bin (the plinth binary), shared (../shared/bench), work (the
# run's directory, whose pg/ holds the throwaway cluster) and port.
spid=
http_bench_cleanup() {
  [ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null || true
  "$shared/pg-throwaway.sh" stop "$work/pg" >/dev/null 2>&1 || true
}
trap http_bench_cleanup EXIT

# serve_plinth LOG DATABASE_URL [ADMIN_URL] [THREADS]: `plinth serve` on the documents app as the
# benchmarks measure it (no access log, no per-key rate limit), in the background; returns when
# /health/ready answers (exits with the server's log when it does not within 10 s).
serve_plinth() {
  local log=$1 url=$2 admin=${3:-} threads=${4:-2}
  DATABASE_URL=$url ADMIN_DATABASE_URL=$admin "$bin" serve --app examples/documents --listen 127.0.0.1:$port \
    --threads "$threads" --access-log off --rate-limit-key 0 >"$log" 2>&1 &
  spid=$!
  for _ in $(seq 100); do curl -fs http://127.0.0.1:$port/health/ready >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fs http://127.0.0.1:$port/health/ready >/dev/null || { cat "$log" >&2; exit 1; }
}

# stop_plinth: SIGTERM (graceful shutdown) and wait.
stop_plinth() {
  kill -TERM "$spid"
  wait "$spid" || true
  spid=
}
