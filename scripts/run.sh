#!/usr/bin/env bash
# The main job (`make run`, after `make build`): the `documents` example app on an embedded SQLite
# database under ./var/ — every migration applied, then `plinth check` on it (exit 1 when a check
# fails). Until `plinth serve` exists this is the whole job.
#   DATABASE_URL / PLINTH_APP override the database and the app.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd); cd "$root"
mkdir -p var
export DATABASE_URL=${DATABASE_URL:-sqlite://$root/var/documents.db}
export PLINTH_APP=${PLINTH_APP:-$root/examples/documents}
bin=$root/build/release/plinth
[ -x "$bin" ] || { echo "no $bin: run \`make build\` first (\`make run\` does)" >&2; exit 2; }

# var/ is scratch: a database migrated by an older checkout whose migration files have since been
# regenerated cannot be brought forward, so it is started afresh (anything else stops the job).
if [[ $DATABASE_URL == "sqlite://$root/var/"* ]] && ! "$bin" -q migrate status >/dev/null 2>&1; then
  echo "== $DATABASE_URL was migrated by other migration files; starting it afresh"
  rm -f "${DATABASE_URL#sqlite://}" "${DATABASE_URL#sqlite://}-wal" "${DATABASE_URL#sqlite://}-shm"
fi

echo "== plinth migrate up   (app $PLINTH_APP, database $DATABASE_URL)"
"$bin" migrate up
echo "== plinth check"
"$bin" check
