# hashFiles() on every remote backend (docker, ssh, the Fly stand-in):
# the executor walks the instance's work dir through the backend's
# list_dir and reads each file through get_file, so the same files give
# the same hash everywhere, GitHub Actions' (checked with python hashlib),
# with a directory tree, a dot directory, an exclusion and a symbolic link
# that is not followed. The local backend is tests/e2e/test_hash_files.sh.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/docker.sh"
. "$(dirname "$0")/../lib/step_env.sh"
env_remote_setup
want=$(python3 -c '
import hashlib
a = hashlib.sha256()
for c in (b"hid", b"two", b"one"):   # .h/z.c, s/a/b/y.c, s/x.c
    a.update(hashlib.sha256(c).digest())
print(a.hexdigest())')

for be in docker ssh fly; do
  {
    echo "version: 1"
    env_backends_yaml "orch-hash-$$"
    cat <<'YAML'
workflows:
  h:
    steps:
      - id: mk
        uses: exec
        with:
          run: |
            mkdir -p s/a/b .h
            printf one > s/x.c; printf two > s/a/b/y.c; printf no > s/skip.c; printf hid > .h/z.c
            ln -s /etc/hostname s/link.c
      - id: use
        needs: [mk]
        uses: exec
        env: {H: "${{ hashFiles('**/*.c', '!s/skip.c') }}"}
        with: {run: 'echo "H=$H"'}
YAML
  } >"$T/$be.yaml"
  sed -i "s/^    steps:/    backend: $be\n    steps:/" "$T/$be.yaml"
  o run "$T/$be.yaml" h
  expect_rc 0 "hashFiles on $be"
  expect_out "H=$want" "$be: the files' hash, GitHub's way"
  pass "$be: hashFiles over the instance's files through list_dir and get_file"
done
