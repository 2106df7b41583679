"""A checking proxy in front of the test S3 server (s3rver, which does not
verify signatures): every request's AWS Signature V4 is recomputed here from
the AWS specification with the known secret, and the payload's
x-amz-content-sha256 compared with the body. A request that fails either
gets S3's own 403 SignatureDoesNotMatch / 400 XAmzContentSHA256Mismatch;
the rest are passed on unchanged. Usage: s3_sigv4_check.py UPSTREAM_PORT
SECRET PORT_FILE LOG."""
import hashlib
import hmac
import http.client
import http.server
import sys
import urllib.parse

UPSTREAM, SECRET, PORT_FILE, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]


def h(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def enc(s):
    return urllib.parse.quote(s, safe="-_.~")


def expected_signature(method, raw_path, headers, auth):
    parts = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
    ak, date, region, service, _ = parts["Credential"].split("/")
    signed = parts["SignedHeaders"].split(";")
    path, _, query = raw_path.partition("?")
    pairs = []
    for item in query.split("&") if query else []:
        k, _, v = item.partition("=")
        pairs.append((enc(urllib.parse.unquote(k)), enc(urllib.parse.unquote(v))))
    canonical_query = "&".join(f"{k}={v}" for k, v in sorted(pairs))
    lower = {k.lower(): " ".join(v.split()) for k, v in headers.items()}
    canonical_headers = "".join(f"{n}:{lower.get(n, '')}\n" for n in signed)
    canonical = "\n".join([method, path, canonical_query, canonical_headers,
                           ";".join(signed), lower.get("x-amz-content-sha256", "")])
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", lower["x-amz-date"], scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = h(h(h(h(("AWS4" + SECRET).encode(), date), region), service), "aws4_request")
    return parts["Signature"], hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def refuse(self, status, code):
        body = f"<Error><Code>{code}</Code><Message>{code}</Message></Error>".encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        with open(LOG, "a") as f:
            f.write(f"{code} {self.command} {self.path}\n")

    def handle_any(self):
        n = int(self.headers.get("Content-Length", 0) or 0)
        body = self.rfile.read(n) if n else b""
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return self.refuse(403, "AccessDenied")
        got, want = expected_signature(self.command, self.path, self.headers, auth)
        if not hmac.compare_digest(got, want):
            return self.refuse(403, "SignatureDoesNotMatch")
        sha = self.headers.get("x-amz-content-sha256", "")
        if sha != "UNSIGNED-PAYLOAD" and sha != hashlib.sha256(body).hexdigest():
            return self.refuse(400, "XAmzContentSHA256Mismatch")
        with open(LOG, "a") as f:
            f.write(f"ok {self.command} {self.path}\n")
        c = http.client.HTTPConnection("127.0.0.1", UPSTREAM)
        c.request(self.command, self.path, body=body,
                  headers={k: v for k, v in self.headers.items() if k.lower() != "host"}
                  | {"Host": self.headers.get("Host", "")})
        r = c.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("transfer-encoding", "content-length", "connection"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

    def log_message(self, *a):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
with open(PORT_FILE, "w") as f:
    f.write(str(server.server_port))
server.serve_forever()
