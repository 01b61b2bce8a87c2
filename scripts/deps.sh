#!/usr/bin/env bash
# Installs the Debian packages plinth needs to build, test and benchmark, when missing.
# Idempotent and quiet when everything is present. Needs root (or sudo) only when installing.
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config clang-14 libclang-rt-14-dev lld
      libpq-dev libsqlite3-dev sqlite3 postgresql-15 postgresql-client-15
      libboost1.81-dev libboost-json1.81-dev libssl-dev libsodium-dev libargon2-dev
      libtomlplusplus-dev nlohmann-json3-dev libcli11-dev libfmt-dev libspdlog-dev
      libgtest-dev libgmock-dev libbenchmark-dev libtcmalloc-minimal4 curl wrk python3)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm: the OpenAPI validation check (tests/api/validate_openapi.sh). Checked by command,
# since a nodejs build that bundles npm satisfies it without Debian's npm package.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "plinth: installing ${missing[*]}" >&2
sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
export DEBIAN_FRONTEND=noninteractive
# The PostgreSQL package would start a system cluster on 5432; plinth's tests start their own.
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
  $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
