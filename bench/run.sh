#!/usr/bin/env bash
# `make bench`: every benchmark of plinth, one after the other, each printing its own figures.
# Each script starts (and stops) its own throwaway PostgreSQL cluster; they take minutes each.
#   bench/migrate_scale.sh  diff/apply 1,000 migrations over 200 tables (issue 2)
#   bench/runtime.sh        the data runtime vs pgbench pipelined (issue 3)
#   build/release/crypto_benchmark, auth figures: see docs/security.md (issue 4)
#   bench/http.sh           plinth serve vs the seeds' stack and PostgreSQL's floor (issue 5)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd); cd "$root"
echo "== bench/migrate_scale.sh"; bash bench/migrate_scale.sh
echo "== bench/runtime.sh";       bash bench/runtime.sh
echo "== crypto_benchmark";       build/release/crypto_benchmark --benchmark_min_time=0.3
echo "== bench/http.sh";          bash bench/http.sh
