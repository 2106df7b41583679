#!/usr/bin/env bash
# Install the Debian packages orch needs to build (and, with --test, to run
# its test suite). Idempotent: apt runs only when something is missing.
set -euo pipefail

build_pkgs=(gcc cmake ninja-build pkg-config libyaml-dev libjansson-dev
            libsqlite3-dev libcurl4-openssl-dev libssh2-1-dev libpq-dev
            libmicrohttpd-dev libssl-dev nettle-dev libexpat1-dev libprotobuf-c-dev
            protobuf-c-compiler)
test_pkgs=(libcmocka-dev python3 python3-yaml procps git curl openssl tzdata
           docker.io busybox-static postgresql-15 postgresql-client-15
           openssh-server openssh-client dpkg-dev systemd adduser debootstrap python3-jsonschema man-db
           docker-compose tmux zsh fish
           clang libclang-rt-14-dev   # the fuzz targets: libFuzzer's runtime is in libclang-rt
           chromium)                  # the web UI's browser test (tests/e2e/test_ui_browser.sh)

pkgs=("${build_pkgs[@]}")
if [ "${1:-}" = "--test" ]; then
  pkgs+=("${test_pkgs[@]}")
  # node/npm (for the S3 test server) and awscli (the independent S3
  # client) may come from elsewhere on a machine (NodeSource's nodejs
  # carries npm and conflicts with Debian's): install only when missing.
  command -v node >/dev/null || pkgs+=(nodejs)
  command -v npm >/dev/null || pkgs+=(npm)
  command -v aws >/dev/null || pkgs+=(awscli)
fi

missing=()
for p in "${pkgs[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] ||
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
