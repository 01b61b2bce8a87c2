#!/usr/bin/env bash
# The main job (`make run`): `plinth serve` on the `documents` example app with an embedded SQLite
# database under ./var/. Migrations are applied at start (--migrate); the first start creates a
# demo tenant, admin user and API key, prints the key once with ready curl lines and keeps it in
# var/demo-key.txt (mode 0600); later starts reuse them. Serves on 127.0.0.1:8080 in the
# foreground until Ctrl-C (a graceful stop). Settings: docs/operations.md (PLINTH_LISTEN=…, …).
#   DATABASE_URL / PLINTH_APP override the database and the app; PLINTH_BIN the binary.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd); cd "$root"
umask 077
mkdir -p var
export DATABASE_URL=${DATABASE_URL:-sqlite://$root/var/documents.db}
export PLINTH_APP=${PLINTH_APP:-$root/examples/documents}
export PLINTH_DEMO_KEY_FILE=${PLINTH_DEMO_KEY_FILE:-$root/var/demo-key.txt}
# A signing secret kept across restarts, so access tokens survive them.
[ -s var/jwt-secret ] || head -c 48 /dev/urandom | base64 -w0 > var/jwt-secret
export JWT_SECRET=${JWT_SECRET:-$(cat var/jwt-secret)}
bin=${PLINTH_BIN:-$root/build/release/plinth}
[ -x "$bin" ] || { echo "no $bin: run \`make build\` first (\`make run\` does)" >&2; exit 2; }

# var/ is scratch: a database migrated by an older checkout whose migration files have since been
# regenerated cannot be brought forward, so it is started afresh (the demo key goes with it).
db_file=${DATABASE_URL#sqlite://}
if [[ $DATABASE_URL == "sqlite://$root/var/"* && -f $db_file ]] && ! "$bin" -q migrate status >/dev/null 2>&1; then
  echo "== $DATABASE_URL was migrated by other migration files; starting it afresh"
  rm -f "$db_file" "$db_file-wal" "$db_file-shm" "$PLINTH_DEMO_KEY_FILE"
fi

echo "== plinth serve --migrate   (app $PLINTH_APP, database $DATABASE_URL)"
exec "$bin" serve --migrate
