"""A dumb-protocol git server over HTTP that wants Basic auth with user
x-access-token and the token in $GIT_TEST_TOKEN; it writes its port to
argv[2] and every Authorization header it receives to argv[3].

usage: git_http.py ROOT PORTFILE AUTHLOG"""
import base64
import functools
import http.server
import os
import sys

root, portfile, authlog = sys.argv[1:4]
cred = "x-access-token:" + os.environ["GIT_TEST_TOKEN"]
want = "Basic " + base64.b64encode(cred.encode()).decode()


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        got = self.headers.get("Authorization", "")
        with open(authlog, "a") as f:
            f.write(got + "\n")
        if got != want:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, *args):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=root))
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
