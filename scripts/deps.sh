#!/usr/bin/env bash
# Install the Debian packages orch needs to build (and, with --test, to run
# its test suite). Idempotent: apt runs only when something is missing.
set -euo pipefail

build_pkgs=(gcc cmake ninja-build pkg-config libyaml-dev libjansson-dev
            libsqlite3-dev libcurl4-openssl-dev libssh2-1-dev libpq-dev
            libmicrohttpd-dev libssl-dev)
test_pkgs=(libcmocka-dev python3 python3-yaml procps git curl openssl tzdata
           docker.io busybox-static postgresql-15 postgresql-client-15)

pkgs=("${build_pkgs[@]}")
[ "${1:-}" = "--test" ] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages: ${missing[*]} (run as root, or install them)" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
