#!/usr/bin/env bash
# The main job (`make run`): the `documents` example app on an embedded SQLite database under
# ./var/: migrations applied, then `plinth check` on it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd); cd "$root"
mkdir -p var
export DATABASE_URL=${DATABASE_URL:-sqlite://$root/var/documents.db}
export PLINTH_APP=${PLINTH_APP:-$root/examples/documents}
bin=build/release/plinth
echo "== plinth migrate up   (app $PLINTH_APP, database $DATABASE_URL)"
$bin migrate up
echo "== plinth check"
$bin check
