#!/bin/bash
# The Debian packages, all on the test engine (never on this host's root
# filesystem): build orch, orchd, orch-plugin-dev and their -dbgsym
# packages with debhelper in a build container, and the previous release
# (tests/packaging/previous-release) with its own scripts/package.sh;
# lintian with no error and every warning explained in packaging/README.md;
# stripped binaries without an RPATH, compressed man pages, copyright and
# changelog in each package; then in a fresh Debian container
# (deb_cycle.sh) install the previous release, make runs, upgrade, check
# that config, state, user and runs survived with the schema current,
# remove, reinstall and purge.
. "$(dirname "$0")/../lib/common.sh"
: "${ORCH_SOURCE_DIR:?}" "${ORCH_DOCKER_SOCKET:?}"
S=$ORCH_SOURCE_DIR
export DOCKER_HOST="unix://$ORCH_DOCKER_SOCKET" DOCKER_BUILDKIT=0
builder=orch-test/deb-build:2
base=orch-base/debian:bookworm
b="orch-test-debbuild-$$" i="orch-test-debinst-$$"
finish() {
  docker rm -f -v "$b" "$i" >/dev/null 2>&1 || true
  t_cleanup
}
trap finish EXIT
prev_commit=$(sed -n 's/^commit //p' "$S/tests/packaging/previous-release")
prev_version=$(sed -n 's/^version //p' "$S/tests/packaging/previous-release")
version=$(dpkg-parsechangelog -l "$S/packaging/debian/changelog" -S Version)
[ -n "$prev_commit" ] && [ -n "$version" ] || fail "no previous release or version"
dpkg --compare-versions "$version" gt "$prev_version" ||
  fail "the package version $version is not above the previous release $prev_version"
git -C "$S" cat-file -e "$prev_commit^{commit}" 2>/dev/null ||
  fail "the previous release's commit $prev_commit is not in $S's history (a shallow clone?)"

"$S/scripts/services/docker-base.sh" "$ORCH_DOCKER_SOCKET" || fail "making the base image"
docker build -q --network host --build-arg "BASE=$base" -t "$builder" \
  -f "$S/tests/packaging/build-env.Dockerfile" "$S/tests/packaging" >"$T/img.log" 2>&1 ||
  { tail -30 "$T/img.log"; fail "building the package build image"; }
docker run -d --name "$b" --network host "$builder" sleep infinity >/dev/null || fail "docker run $b"
# The sources: what git knows of this tree (uncommitted edits included, no
# build directories), and the previous release's commit.
if git -C "$S" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$S" && git ls-files -z -co --exclude-standard | tar --null -T - -cf -)
else
  tar -C "$S" --exclude='./build*' -cf - .
fi | docker exec -i "$b" sh -c 'mkdir -p /src/new && tar -C /src/new -xf -' || fail "copying the tree"
git -C "$S" archive "$prev_commit" | docker exec -i "$b" sh -c 'mkdir -p /src/prev && tar -C /src/prev -xf -' ||
  fail "copying the previous release"
docker exec "$b" sh -c 'cd /src/new && scripts/package.sh /out/new' >"$T/build.log" 2>&1 ||
  { tail -40 "$T/build.log"; fail "building the packages"; }
docker exec "$b" sh -c 'cd /src/prev && mkdir -p /out/prev && cp "$(scripts/package.sh /out/prev-build | tail -1)" /out/prev/' \
  >"$T/build-prev.log" 2>&1 || { tail -40 "$T/build-prev.log"; fail "building the previous release $prev_commit"; }
mkdir -p "$T/new" "$T/prev"
docker exec "$b" sh -c 'cd /out/new && tar -cf - *.deb *.changes *.buildinfo' | tar -C "$T/new" -xf - &&
  docker exec "$b" sh -c 'cd /out/prev && tar -cf - *.deb' | tar -C "$T/prev" -xf - || fail "copying the packages out"
for p in orch orchd orch-plugin-dev orch-dbgsym orchd-dbgsym orch-plugin-dev-dbgsym; do
  [ -f "$T/new/${p}_${version}_amd64.deb" ] || fail "no package ${p}_${version}_amd64.deb (have: $(ls "$T/new"))"
done
# ORCH_PKG_KEEP=DIR keeps the packages (DIR/new, DIR/prev) after the test.
if [ -n "${ORCH_PKG_KEEP:-}" ]; then
  rm -rf "$ORCH_PKG_KEEP" && mkdir -p "$ORCH_PKG_KEEP" && cp -a "$T/new" "$T/prev" "$ORCH_PKG_KEEP/"
fi
pass "built $(ls "$T/new" | grep -c '\.deb$') packages at $version and the previous release $(ls "$T/prev")"

# lintian as an unprivileged user (as it wants), pedantic, infos shown.
set +e
docker exec "$b" sh -c 'useradd -m lint && chown -R lint /out/new &&
  su lint -c "cd /out/new && lintian --pedantic --display-info --fail-on error orch_*.changes"' \
  >"$T/lintian.txt" 2>&1
lrc=$?
set -e
grep -E '^(E|W|I|P|X|O):' "$T/lintian.txt" >"$T/tags" || true
if grep -q '^E:' "$T/tags" || [ "$lrc" -ne 0 ]; then cat "$T/lintian.txt"; fail "lintian reports errors (exit $lrc)"; fi
grep -qi "running with root" "$T/lintian.txt" && fail "lintian ran as root"
unexplained=$(grep -E '^(W|I|P):' "$T/tags" | awk '{print $3}' | sort -u |
  while read -r tag; do grep -qF "\`$tag\`" "$S/packaging/README.md" || echo "$tag"; done)
[ -z "$unexplained" ] || { cat "$T/tags"; fail "lintian tags not explained in packaging/README.md: $unexplained"; }
pass "lintian: no error; $(grep -c '^W:' "$T/tags" || true) warnings, $(grep -c '^I:' "$T/tags" || true) infos, each explained in packaging/README.md"

# What lintian checks too, asserted directly: stripped, no RPATH, the
# debug info in -dbgsym, man pages compressed, copyright and changelog.
mkdir -p "$T/x"
for d in "$T/new/"*-dbgsym_*.deb; do dpkg-deb -c "$d"; done >"$T/dbgsym-files"
for p in orch orchd orch-plugin-dev; do dpkg-deb -x "$T/new/${p}_${version}_amd64.deb" "$T/x"; done
for f in "$T/x/usr/bin/orch" "$T/x/usr/bin/orchd" "$T/x/usr/bin/orch-plugin" "$T/x/usr/libexec/orch/orch-exec" \
         "$T"/x/usr/lib/*/orch/plugins/*.so "$T"/x/usr/lib/*/liborch-conformance.so.*.*; do
  [ -f "$f" ] || fail "missing ${f#"$T/x"}"
  readelf -S "$f" | grepq '\.debug_info' && fail "${f#"$T/x"} is not stripped"
  readelf -d "$f" | grepq -E 'RPATH|RUNPATH' && fail "${f#"$T/x"} has an RPATH"
  id=$(readelf -n "$f" | sed -n 's/^ *Build ID: //p')
  [ -n "$id" ] || fail "${f#"$T/x"} has no build id"
  grep -qF "/usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug" "$T/dbgsym-files" ||
    fail "no -dbgsym package has the debug info of ${f#"$T/x"}"
done
for page in man1/orch.1 man1/orch-plugin.1 man5/orch.yaml.5 man8/orchd.8; do
  [ -f "$T/x/usr/share/man/$page.gz" ] || fail "man page $page is not installed compressed"
done
for p in orch orchd orch-plugin-dev; do
  [ -f "$T/x/usr/share/doc/$p/copyright" ] && [ -f "$T/x/usr/share/doc/$p/changelog.Debian.gz" ] ||
    fail "$p lacks its copyright or changelog.Debian.gz"
done
[ -f "$T/x/lib/systemd/system/orchd.service" ] && [ -f "$T/x/etc/orch/orchd.yaml" ] || fail "the unit or the config is missing"
dpkg-deb -f "$T/new/orchd_${version}_amd64.deb" Depends >"$T/out"
for dep in adduser "orch (= $version)" libmicrohttpd12; do expect_out "$dep" "orchd depends on $dep"; done
dpkg-deb -f "$T/new/orch_${version}_amd64.deb" Depends >"$T/out"
for lib in libcurl4 libjansson4 libpq5 libsqlite3-0 libssh2-1 libyaml-0-2 git; do expect_out "$lib" "orch depends on $lib"; done
pass "stripped binaries without RPATH, debug info in -dbgsym, compressed man pages, copyright and changelog, dependencies"

# The install, upgrade and purge cycle in a fresh container.
echo "$version" >"$T/new/version"
docker run -d --name "$i" --network host "$base" sleep infinity >/dev/null || fail "docker run $i"
docker exec "$i" mkdir -p /debs /t || fail "docker exec $i"
docker cp "$T/new" "$i:/debs/new" && docker cp "$T/prev" "$i:/debs/prev" &&
  docker cp "$S/tests/packaging/deb_cycle.sh" "$i:/t/deb_cycle.sh" &&
  docker cp "$S/tests/lib/grepq.sh" "$i:/t/grepq.sh" || fail "copying into $i"
set +e
docker exec "$i" bash /t/deb_cycle.sh >"$T/cycle.log" 2>&1
crc=$?
set -e
sed 's/^/  /' "$T/cycle.log"
[ "$crc" -eq 0 ] || fail "the install/upgrade/purge cycle (above)"
pass "install $prev_version, runs, upgrade to $version, runs kept and schema current, remove, reinstall, purge"
