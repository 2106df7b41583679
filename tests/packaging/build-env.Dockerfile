# Where tests/packaging builds and lints the Debian packages: Debian 12
# with the Build-Depends of packaging/debian/control, debhelper and
# lintian, so nothing is installed on the host. Built FROM the base that
# scripts/services/docker-base.sh makes from Debian's archive.
ARG BASE=orch-base/debian:bookworm
FROM ${BASE}
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      build-essential debhelper lintian cmake ninja-build pkgconf git ca-certificates \
      libcurl4-openssl-dev libjansson-dev libmicrohttpd-dev libpq-dev libsqlite3-dev \
      libssh2-1-dev libssl-dev libyaml-dev nettle-dev libexpat1-dev libprotobuf-c-dev \
      protobuf-c-compiler \
 && apt-get clean
