#!/usr/bin/env bash
# Validates OpenAPI documents:
#   1. against the OpenAPI 3.1 JSON Schema, as bundled by the npm package
#      @seriousme/openapi-schema-validator (installed on demand into a cache directory outside
#      the repository, never committed);
#   2. every schema in them compiles as JSON Schema 2020-12 (Ajv, a dependency of that package)
#      and every $ref resolves;
#   3. every example (request bodies, parameters, problem responses) validates against its schema.
# usage: tests/api/validate_openapi.sh FILE.json...
# exit:  0 all valid · 1 a document is invalid (or the install failed with the registry up)
#        77 npm or its registry cannot be reached, so nothing could be checked (callers skip)
# env:   PLINTH_NPM_CACHE (default ~/.cache/plinth/openapi-validator)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pkg="@seriousme/openapi-schema-validator@2.11.0"
cache=${PLINTH_NPM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/plinth/openapi-validator}
[ $# -gt 0 ] || { echo "usage: $0 FILE.json..." >&2; exit 2; }

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "validate_openapi: node/npm not installed: cannot validate" >&2
  exit 77
fi
mkdir -p "$cache"
marker="$cache/node_modules/@seriousme/openapi-schema-validator/package.json"
(
  # One installer at a time (tests run in parallel).
  flock 9
  if [ ! -f "$marker" ]; then
    if ! npm install --prefix "$cache" --no-audit --no-fund --loglevel=error "$pkg" >"$cache/install.log" 2>&1; then
      if ! timeout 20 npm ping >/dev/null 2>&1; then
        echo "validate_openapi: the npm registry is unreachable: cannot install $pkg" >&2
        exit 77
      fi
      echo "validate_openapi: npm install $pkg failed:" >&2
      cat "$cache/install.log" >&2
      exit 1
    fi
  fi
  # Beside node_modules, so that its imports resolve. Replaced by a rename, under the lock: tests
  # run this in parallel, and two cp onto one file fail ("cannot create regular file … File
  # exists") or let node read it half-written.
  cp "$here/validate_openapi.mjs" "$cache/validate_openapi.mjs.$$"
  mv -f "$cache/validate_openapi.mjs.$$" "$cache/validate_openapi.mjs"
) 9>"$cache/.lock"
exec node "$cache/validate_openapi.mjs" "$@"
