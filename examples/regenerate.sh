#!/usr/bin/env bash
# Writes examples/*/migrations/ from scratch with `plinth migrate diff`, deterministically:
# created_at comes from SOURCE_DATE_EPOCH (default 2026-01-01), so the same schemas give the same
# files, byte for byte. documents reproduces the original's four migrations: it diffs each file
# of stages/ in order, then schema.toml (the last stage).
#
# Regenerating rewrites history: do it only while no database has these migrations applied.
# A change to an app once its migrations are in use is `plinth migrate diff -m "…"` in the app
# directory, which appends the next migration.
#   examples/regenerate.sh [APP...]        (default: documents escrow settings curatore)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd); cd "$root"
bin=${PLINTH:-$root/build/release/plinth}
[ -x "$bin" ] || { echo "build plinth first (make build) or set PLINTH=path/to/plinth" >&2; exit 2; }
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1767225600}
apps=${*:-documents escrow settings curatore}
declare -A last_message=([documents]="add tenant configs")
for app in $apps; do
  dir=examples/$app
  work=$(mktemp -d /tmp/plinth-regen.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  mkdir "$work/app"
  if [ -d "$dir/stages" ]; then
    for stage in "$dir"/stages/*.toml; do
      name=$(basename "$stage" .toml); name=${name#*_}
      cp "$stage" "$work/app/schema.toml"
      "$bin" --app "$work/app" -q migrate diff -m "${name//_/ }" 2>/dev/null
    done
  fi
  cp "$dir/schema.toml" "$work/app/schema.toml"
  "$bin" --app "$work/app" -q migrate diff -m "${last_message[$app]:-initial schema}"
  rm -rf "$dir/migrations"
  mv "$work/app/migrations" "$dir/migrations"
  rm -rf "$work"
  echo "$dir/migrations: $(ls "$dir/migrations" | tr '\n' ' ')"
done
