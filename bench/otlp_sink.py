#!/usr/bin/env python3
"""otlp_sink.py PORTFILE: an OTLP/HTTP collector that accepts every export
and keeps nothing, for bench/run.sh's traced rows: the cost measured is
orch's (building, batching, sending spans), not a collector's. Listens on a
free 127.0.0.1 port, written to PORTFILE."""
import http.server
import sys


class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
with open(sys.argv[1], "w") as f:
    f.write(str(srv.server_address[1]))
srv.serve_forever()
