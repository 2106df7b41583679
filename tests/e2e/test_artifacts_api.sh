# A run's artifacts over orchd's API and `orch --server`: listed and
# fetched with a read token (whole, to a file and to standard output),
# byte for byte with the sha256 the ledger holds; refused without a token
# or with an unknown name (.. and an encoded slash included); a blob
# changed in the store is a 500 that says so and never takes the --output
# name; at most 8 are served at once; and the CLI checks what it received against the answer's ETag, so
# a server (or anything between) handing over other bytes is caught.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"

head -c 3000000 /dev/urandom >"$T/big.dat" # larger than any socket buffer: streamed
od_config "$T/orchd.yaml" <<YAML
version: 1
$OD_SERVER
worker: {tick: 100ms}
defaults:
  host_paths: ["$T"]
workflows:
  store:
    steps:
      - {id: text, uses: file, with: {action: write, path: "artifact:reports/r.txt", content: "hello artifact\n"}}
      - {id: big, uses: file, with: {action: copy, from: "host:$T/big.dat", to: "artifact:big.dat"}}
YAML
od_start "$T/orchd.yaml"
api POST /v1/runs '{"workflow":"store"}'
expect_http 201 "start the run"
R=$(resp "d['run']['id']")
od_wait_run "$R" succeeded

export ORCH_TOKEN=reader-token
S=(--server "unix:$OD_SOCK")
o "${S[@]}" --json runs artifacts "$R"
expect_rc 0 "orch --server runs artifacts"
want="[('big.dat', 3000000, '$(sha256sum "$T/big.dat" | cut -d' ' -f1)', 'big'), ('reports/r.txt', 15, '$(printf 'hello artifact\n' | sha256sum | cut -d' ' -f1)', 'text')]"
[ "$(jq_py "[(a['name'], a['size'], a['sha256'], a['step']) for a in d]" <"$T/out")" = "$want" ] ||
  fail "the list: $(cat "$T/out")"
o "${S[@]}" runs artifacts "$R"
expect_out "reports/r.txt                                    15  " "the table"
pass "listed over the API with a read token: names, sizes, sha256 and steps"

"$ORCH" "${S[@]}" runs artifact "$R" big.dat -o "$T/big.got" || fail "fetching big.dat"
cmp -s "$T/big.dat" "$T/big.got" || fail "the fetched artifact differs"
[ "$("$ORCH" "${S[@]}" runs artifact "$R" reports/r.txt)" = "hello artifact" ] ||
  fail "to standard output"
pass "fetched over the API to a file and to standard output, byte for byte"

o "${S[@]}" runs artifact "$R" ../../etc/passwd -o "$T/nope"
expect_rc 1 "a name the run did not store"
expect_out "run $R has no artifact '../../etc/passwd' (HTTP 404)" "said so"
[ ! -e "$T/nope" ] || fail "a refused fetch created its --output file"
api GET "/v1/runs/$R/artifacts/reports%2F..%2F..%2Fetc%2Fpasswd" "" reader
expect_http 404 "an encoded traversal"
api GET "/v1/runs/$R/artifacts/big.dat" "" ""
expect_http 401 "no token"
ORCH_TOKEN= o "${S[@]}" runs artifact "$R" big.dat
expect_rc 2 "the CLI without a token"
o "${S[@]}" runs artifacts r-no-such-run
expect_rc 1 "the artifacts of no run"
expect_out "no run r-no-such-run" "said so"
pass "refusals: a name not stored (.. and %2F included), no token, no run"

# At most 8 answers hold a spooled artifact at once: 8 clients that read
# only their status line keep theirs (the body waits on their full
# sockets), the ninth is told to come back (503, Retry-After), and once
# they hang up the artifact is served again. Each of the 8 is seen holding
# (its 200 is out, which comes after the spool) before the ninth asks, so
# the check does not depend on how fast a loaded machine spools.
python3 - "$OD_SOCK" "$R" <<'PY' || fail "the bound on artifacts served at once"
import socket, sys, time
sock, run = sys.argv[1], sys.argv[2]
req = (f"GET /v1/runs/{run}/artifacts/big.dat HTTP/1.1\r\nHost: orchd\r\n"
       "Authorization: Bearer reader-token\r\n\r\n").encode()
def connect():
    s = socket.socket(socket.AF_UNIX)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(110)  # below the server's 120 s idle limit
    s.connect(sock)
    s.sendall(req)
    return s
def head_of(s):
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)  # no further than the head: the body stays queued
        if not chunk:
            break
        head += chunk
    return head.split(b" ")[1].decode() if b" " in head else "none", head
def status():
    s = connect()
    r = head_of(s)
    s.close()
    return r
held = []
for i in range(8):
    s = connect()
    code, head = head_of(s)
    if code != "200":
        sys.exit(f"held answer {i + 1} of 8 is {code}: {head!r}")
    held.append(s)
code, head = status()
if code != "503":
    sys.exit(f"the ninth answer with 8 held is {code}: {head!r}")
if b"Retry-After: 1" not in head:
    sys.exit(f"503 without Retry-After: {head!r}")
for s in held:
    s.close()
end = time.time() + 120
while status()[0] != "200":
    if time.time() > end:
        sys.exit("not served again after the 8 hung up")
    time.sleep(0.05)
PY
pass "at most 8 artifacts served at once: the ninth is a 503 with Retry-After, then served again"

# A blob changed behind orch's back: the server finds it before it answers.
sqlite_blob_tamper "$T/state/orch.db" "runs/$R/artifacts/big.dat"
api GET "/v1/runs/$R/artifacts/big.dat" "" reader
expect_http 500 "a changed blob"
[ "$(resp "d['error']['code']")" = artifact_unreadable ] || fail "the error: $(cat "$T/resp")"
echo old >"$T/keep"
o "${S[@]}" runs artifact "$R" big.dat -o "$T/keep"
expect_rc 1 "the CLI on a changed blob"
expect_out "artifact 'big.dat' of run $R changed in its store: 8 bytes" "the change named"
[ "$(cat "$T/keep")" = old ] || fail "a bad fetch replaced the --output file"
[ -z "$(ls "$T" | grep '^keep.orch-')" ] || fail "the temporary file of a refused fetch is left"
pass "a blob changed in the store: 500 naming it; --output keeps its old bytes"

# A server that hands over other bytes than its ETag says: the CLI's own
# check catches it.
python3 - "$T/fake.port" <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"not the bytes"
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", '"' + "0" * 64 + '"')
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".tmp", "w").write(str(s.server_port))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
PY
T_PIDS+=($!)
wait_file "$T/fake.port"
echo old >"$T/keep"
o --server "http://127.0.0.1:$(cat "$T/fake.port")" runs artifact "$R" big.dat -o "$T/keep"
expect_rc 1 "bytes that are not the ETag's"
expect_out "the bytes received have sha256 $(printf 'not the bytes' | sha256sum | cut -d' ' -f1); the server's ETag is \"$(printf '0%.0s' $(seq 64))\"" "said so"
[ "$(cat "$T/keep")" = old ] || fail "bytes that did not check out replaced the --output file"
pass "the CLI checks the bytes it received against the answer's ETag"
