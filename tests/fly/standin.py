"""A stand-in for the Fly.io Machines API (https://api.machines.dev), for
tests only: there is no internet here. It serves the paths, fields, status
codes and error bodies of the public Machines API reference and of the
official Go client (superfly/fly-go, package flaps), and each machine is a
real container on the test Docker engine, so exec really runs commands.

Where each behaviour comes from (../shared/SERVICES.md lists the facts):
- /v1/apps, /v1/apps/{app}, /v1/apps/{app}/machines[/{id}[/wait|/exec|/stop|
  /start|/lease]], /v1/apps/{app}/volumes: flaps.Client paths (flaps_*.go),
  all under /v1, bearer token in Authorization.
- Create answers 200 with state "created"; the machine becomes "starting",
  then "started" a moment later (asynchronously); /start meanwhile is 412.
- /wait takes state and timeout (whole seconds, 1..60, else 400); a timeout
  is 408 {"error": "deadline_exceeded: ..."}.
- /exec takes {"command": [argv], "timeout": s, "stdin": text} ("cmd", a
  string, is the deprecated form; stdin as fly-go's MachineExecRequest has
  it); no env, no cwd. A non-zero exit is still 200; zero
  values (exit_code 0, empty stdout/stderr) are omitted. Not started: 412.
- Destroy needs ?force=true unless stopped (412 otherwise); stop and
  destroy are asynchronous; a destroyed machine answers "destroyed" for a
  moment, then 404. A DELETE of a machine already destroying (or
  destroyed) is 412 "already being destroyed".
- Stop's body is {signal, timeout} with timeout a Go duration ("30s").
- Leases: POST/DELETE .../lease, header fly-machine-lease-nonce; POST takes
  {"ttl": seconds, "description"} in its body and answers 201 with
  {status, data: {nonce, expires_at, owner, description, version}}; while
  held, another POST is 409 {status: "error", message, code}, and writes
  (stop, start, exec, destroy) without the nonce are 409.
- Errors are {"error": "..."}; every answer has a fly-request-id header.
- Unknown JSON fields are ignored; a wrong type is 400; invalid values
  are 422 (as Fly's "Validation failed"): env names must be shell names
  and values strings; region a known region code; guest.cpu_kind shared
  or performance, cpus 1/2/4/8 (16 for performance), memory_mb a multiple
  of 256 from 256 (shared) or 2048 (performance) a CPU to 2048 or 8192 a
  CPU, 256 when omitted (docs: Machine sizing); machine names at most 63
  lowercase letters, digits and dashes, unique in the app among machines
  not destroyed; volume names lowercase letters, digits and underscores,
  at most 30; app names at most 63 lowercase letters, digits and dashes,
  taken = 422.
- Rate limits per action per machine: about 1 request/s with bursts of 3
  for writes and exec, 5/s for reads; creates per action per app (1/s,
  burst 3): 429 with Retry-After.

Test-only controls live under /_standin (not part of the API): POST
/_standin/faults {"method", "path" (regex), "status", "count", "after":
bool, "body" (regex, optional)} makes the next `count` matching requests
(method, path with its query, and the body when given) fail with `status`, before
or (after: true) after doing their work, as a 5xx on create may still have
created the machine; GET /_standin/faults lists those not yet served in
full (a test checks its faults were met); GET /_standin/machines lists every
machine ever made. POST /_standin/storm {"app", "phases": [{"seconds",
"rate", "burst"}, ...]} puts every API request on that app, phase after
phase, through one app-wide bucket of `rate` requests/s (0: none at all),
refused with 429 and Retry-After (the seconds until a token, at least 1):
the app-level limit a busy organisation meets; an empty list ends it. GET
/_standin/storm?app=A tells how many were refused and whether it is on.

usage: standin.py --port-file F --token T --docker-host unix:///... [--log F]
"""
import argparse
import json
import re
import secrets
import signal
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--port-file", required=True)
ap.add_argument("--token", required=True)
ap.add_argument("--docker-host", required=True)
ap.add_argument("--log", default="/dev/null")
ap.add_argument("--start-delay", type=float, default=0.4)
args = ap.parse_args()

lock = threading.RLock()
apps = {}          # name -> app
machines = {}      # id -> machine (with private fields prefixed _)
volumes = {}       # id -> volume
faults = []        # {"method", "path", "status", "count", "after"}
buckets = {}       # (machine or app, action) -> [tokens, last]
storms = {}        # app -> {"phases": [[until, rate, burst]], "tokens", "last", "refused"}

REGIONS = {"ams", "arn", "atl", "bog", "bom", "bos", "cdg", "den", "dfw", "ewr", "eze", "fra",
           "gdl", "gig", "gru", "hkg", "iad", "jnb", "lax", "lhr", "mad", "mia", "nrt", "ord",
           "otp", "phx", "qro", "scl", "sea", "sin", "sjc", "syd", "waw", "yul", "yyz"}
NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
VOLUME_NAME = re.compile(r"[a-z0-9_]{1,30}")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def docker(*argv, timeout=None, input=None):
    return subprocess.run(["docker", "-H", args.docker_host, *argv], capture_output=True,
                          timeout=timeout, input=input)


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def log(line):
    with open(args.log, "a") as f:
        f.write(line + "\n")


def public(m):
    return {k: v for k, v in m.items() if not k.startswith("_")}


def set_state(m, state):
    m["state"] = state
    m["updated_at"] = now_iso()
    m["_changed"].set()
    m["_changed"] = threading.Event()


def boot(m):
    """created -> starting -> started, with a real container behind it."""
    time.sleep(args.start_delay / 2)
    with lock:
        if m["state"] != "created":
            return
        set_state(m, "starting")
    cfg = m["config"]
    argv = ["run", "-d", "--network", "none", "--name", m["_container"],
            "--label", "fly-standin=1", "--label", f"fly-machine={m['id']}",
            "--label", f"fly-app={m['_app']}"]
    for k, v in (cfg.get("env") or {}).items():
        argv += ["-e", f"{k}={v}"]
    for mnt in cfg.get("mounts") or []:
        argv += ["-v", f"flystandin-{mnt['volume']}:{mnt['path']}"]
    init = (cfg.get("init") or {}).get("cmd") or ["sleep", "2147483647"]
    r = docker(*argv, cfg["image"], *init)
    time.sleep(args.start_delay / 2)
    with lock:
        # Destroyed while `docker run` was under way: the destroy's `rm`
        # may have come before the container existed, so it goes now.
        gone = m["state"] in ("destroying", "destroyed")
        if gone:
            pass
        elif r.returncode != 0:
            m["_error"] = r.stderr.decode(errors="replace").strip()
            set_state(m, "failed")
        elif m["state"] == "starting":
            set_state(m, "started")
    if gone:
        docker("rm", "-f", "-v", m["_container"])


def reap_later(m):
    time.sleep(1.5)
    with lock:
        machines.pop(m["id"], None)


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    # ---- answers
    def send(self, status, obj=None, headers=None):
        body = b"" if obj is None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("fly-request-id", self.rid)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        log(f"{status} {self.command} {self.path}")

    def err(self, status, msg, headers=None):
        self.send(status, {"error": msg}, headers)

    # ---- plumbing
    def body(self):
        if not self.raw:
            return {}
        try:
            b = json.loads(self.raw)
        except ValueError:
            raise Bad("invalid JSON body")
        if not isinstance(b, dict):
            raise Bad("body must be a JSON object")
        return b

    def stormed(self, app):
        """The app-wide bucket of a storm's current phase, when one is on."""
        with lock:
            st = storms.get(app)
            t = time.monotonic()
            while st and st["phases"] and t > st["phases"][0][0]:
                st["phases"].pop(0)
            if not st or not st["phases"]:
                return False
            _, rate, burst = st["phases"][0]
            st["tokens"] = min(burst, st["tokens"] + (t - st["last"]) * rate)
            st["last"] = t
            if st["tokens"] >= 1:
                st["tokens"] -= 1
                return False
            st["refused"] += 1
            wait = (1 - st["tokens"]) / rate if rate > 0 else 1
        self.err(429, "rate limit exceeded", {"Retry-After": str(max(1, int(wait + 0.999)))})
        return True

    def limited(self, machine, action):
        """Token buckets: writes and exec 1/s burst 3, reads 5/s burst 10."""
        rate, burst = (5.0, 10) if action == "get" else (1.0, 3)
        with lock:
            tokens, last = buckets.get((machine, action), (burst, time.monotonic()))
            t = time.monotonic()
            tokens = min(burst, tokens + (t - last) * rate)
            if tokens < 1:
                buckets[(machine, action)] = (tokens, t)
                wait = max(1, int((1 - tokens) / rate + 0.999))
                self.err(429, "rate limit exceeded", {"Retry-After": str(wait)})
                return True
            buckets[(machine, action)] = (tokens - 1, t)
        return False

    def fault(self, after):
        with lock:
            for f in faults:
                if f["count"] > 0 and f["method"] == self.command and \
                        re.search(f["path"], self.path) and bool(f.get("after")) == after and \
                        (not f.get("body") or
                         re.search(f["body"], self.raw.decode(errors="replace"))):
                    f["count"] -= 1
                    return f["status"]
        return None

    def handle_any(self):
        self.rid = uuid.uuid4().hex[:20]
        # Read the whole body first: an answer given without reading it
        # would leave it to be taken for the next request on the connection.
        n = int(self.headers.get("Content-Length") or 0)
        self.raw = self.rfile.read(n) if n else b""
        try:
            if self.path.startswith("/_standin/"):
                return self.control()
            if self.headers.get("Authorization") != f"Bearer {args.token}":
                return self.err(401, "You must be authenticated to view this.")
            status = self.fault(False)
            if status:
                return self.err(status, "injected failure") if status < 500 else self.bare(status)
            self.route()
        except Bad as e:
            self.err(400, str(e))

    def bare(self, status):
        """A 5xx from the proxy: not JSON."""
        body = b"upstream error\n"
        self.send_response(status)
        self.send_header("fly-request-id", self.rid)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        log(f"{status} {self.command} {self.path} (injected)")

    def done(self, status, obj=None, headers=None):
        """The work is done; an injected 'after' fault still fails the answer."""
        f = self.fault(True)
        if f:
            return self.bare(f) if f >= 500 else self.err(f, "injected failure")
        self.send(status, obj, headers)

    do_GET = do_POST = do_DELETE = do_PUT = handle_any

    def control(self):
        if self.path == "/_standin/faults" and self.command == "POST":
            with lock:
                faults.append(self.body())
            return self.send(200, {"ok": True})
        if self.path == "/_standin/faults" and self.command == "GET":
            with lock:  # the ones not yet served in full
                return self.send(200, [f for f in faults if f["count"] > 0])
        if self.path == "/_standin/storm" and self.command == "POST":
            b = self.body()
            t, phases = time.monotonic(), []
            for ph in b.get("phases", []):
                t += float(ph["seconds"])
                phases.append([t, float(ph.get("rate", 0)), float(ph.get("burst", 1))])
            with lock:
                old = storms.get(b["app"])
                storms[b["app"]] = {"phases": phases, "tokens": 0.0, "last": time.monotonic(),
                                    "refused": old["refused"] if old else 0}
            return self.send(200, {"ok": True})
        if self.path.startswith("/_standin/storm?app=") and self.command == "GET":
            with lock:
                st = storms.get(self.path.split("=", 1)[1])
                return self.send(200, {"refused": st["refused"] if st else 0,
                                       "on": bool(st and st["phases"] and
                                                  time.monotonic() < st["phases"][-1][0])})
        if self.path == "/_standin/machines":
            with lock:
                return self.send(200, [public(m) | {"_gone": m.get("_gone", False),
                                                    "_app": m["_app"]} for m in all_made])
        self.err(404, "no such control")

    # ---- the API
    def route(self):
        path, _, query = self.path.partition("?")
        q = {}
        for kv in query.split("&") if query else []:
            k, _, v = kv.partition("=")
            q.setdefault(k, []).append(v)
        parts = [p for p in path.split("/") if p]
        if parts[:1] != ["v1"]:
            return self.err(404, "not found")
        parts = parts[1:]
        if parts == ["apps"] and self.command == "POST":
            return self.create_app()
        if len(parts) < 2 or parts[0] != "apps":
            return self.err(404, "not found")
        app = parts[1]
        if self.stormed(app):
            return
        if len(parts) == 2 and self.command == "GET":
            with lock:
                a = apps.get(app)
            return self.send(200, a) if a else self.err(404, f"app {app} not found")
        with lock:
            if app not in apps:
                return self.err(404, f"app {app} not found")
        rest = parts[2:]
        if rest[:1] == ["volumes"]:
            return self.volumes(app, rest[1:])
        if rest[:1] != ["machines"]:
            return self.err(404, "not found")
        if len(rest) == 1:
            if self.command == "GET":
                return self.list_machines(app, q)
            if self.limited(app, "create"):
                return
            return self.create_machine(app)
        mid = rest[1]
        with lock:
            m = machines.get(mid)
        if not m or m["_app"] != app:
            return self.err(404, f"machine {mid} not found")
        action = rest[2] if len(rest) > 2 else ""
        kind = "get" if self.command == "GET" else action or "delete"
        if self.limited(mid, kind):
            return
        if action == "" and self.command == "GET":
            return self.send(200, public(m))
        if action == "" and self.command == "DELETE":
            return self.destroy(m, q)
        if action == "wait":
            return self.wait(m, q)
        if action == "lease":
            return self.lease(m, q)
        if action in ("exec", "stop", "start") and self.command == "POST":
            if not self.nonce_ok(m):
                return
            return getattr(self, action)(m)
        self.err(404, "not found")

    def create_app(self):
        b = self.body()
        name = b.get("app_name", b.get("name"))
        if not isinstance(name, str) or not name:
            raise Bad("app_name is required")
        if not NAME.fullmatch(name):
            return self.err(422, "Validation failed: Name under 63 chars using numbers, "
                                 "lowercase letters and dashes")
        with lock:
            if name in apps:
                return self.err(422, "Validation failed: Name has already been taken")
            apps[name] = {"id": name, "name": name, "status": "pending",
                          "organization": {"slug": b.get("org_slug", "personal")},
                          "machine_count": 0, "volume_count": 0}
        self.done(201, apps[name])

    def list_machines(self, app, q):
        with lock:
            out = []
            for m in machines.values():
                if m["_app"] != app or m["state"] == "destroyed":
                    continue
                meta = (m["config"].get("metadata") or {})
                if any(k.startswith("metadata.") and meta.get(k[9:]) != v[0] for k, v in q.items()):
                    continue
                if "state" in q and m["state"] not in q["state"][0].split(","):
                    continue
                out.append(public(m))
        self.done(200, out)

    def create_machine(self, app):
        b = self.body()
        cfg = b.get("config")
        if not isinstance(cfg, dict) or not isinstance(cfg.get("image"), str):
            raise Bad("config.image is required")
        env = cfg.get("env") or {}
        if not isinstance(env, dict) or any(not isinstance(v, str) for v in env.values()):
            raise Bad("json: cannot unmarshal number into Go struct field MachineConfig.config.env of type string")
        bad_env = [k for k in env if not ENV_NAME.fullmatch(k)]
        if bad_env:
            return self.err(422, f"invalid env var name: {bad_env[0]!r}")
        region = b.get("region")
        if region is not None and (not isinstance(region, str) or region not in REGIONS):
            return self.err(422, f"invalid region {region!r}: no such region")
        guest = cfg.get("guest") or {}
        if not isinstance(guest, dict):
            raise Bad("json: cannot unmarshal into Go struct field MachineConfig.config.guest")
        kind, cpus, mem = guest.get("cpu_kind", "shared"), guest.get("cpus", 1), \
            guest.get("memory_mb", 256)
        if not isinstance(cpus, int) or not isinstance(mem, int) or not isinstance(kind, str):
            raise Bad("json: cannot unmarshal into Go struct field MachineGuest")
        if kind not in ("shared", "performance"):
            return self.err(422, f"invalid cpu_kind {kind!r}: shared or performance")
        if cpus not in ((1, 2, 4, 8, 16) if kind == "performance" else (1, 2, 4, 8)):
            return self.err(422, f"invalid number of CPUs for {kind}: {cpus}")
        lo, hi = (2048, 8192) if kind == "performance" else (256, 2048)
        if mem % 256:
            return self.err(422, "invalid memory size, must be a multiple of 256")
        if not lo * cpus <= mem <= hi * cpus:
            return self.err(422, f"invalid memory size {mem} for {cpus} {kind} CPU(s): "
                                 f"{lo * cpus} to {hi * cpus} MB")
        for mnt in cfg.get("mounts") or []:
            with lock:
                if mnt.get("volume") not in volumes:
                    return self.err(404, f"volume {mnt.get('volume')} not found")
        name = b.get("name")
        if name is not None and (not isinstance(name, str) or not NAME.fullmatch(name)):
            return self.err(422, "invalid machine name: at most 63 lowercase letters, digits "
                                 "and dashes")
        with lock:
            if name and any(m["_app"] == app and m["name"] == name and
                            m["state"] not in ("destroying", "destroyed")
                            for m in machines.values()):
                return self.err(422, f"a machine named {name!r} already exists in app {app}")
        mid = secrets.token_hex(7)
        m = {"id": mid, "name": name or f"m-{mid}", "state": "created",
             "region": b.get("region") or "ord", "instance_id": uuid.uuid4().hex[:26].upper(),
             "private_ip": "fdaa::3", "created_at": now_iso(), "updated_at": now_iso(),
             "config": cfg, "image_ref": {"repository": cfg["image"]},
             "_app": app, "_container": f"flystandin-{mid}", "_changed": threading.Event(),
             "_lease": None}
        with lock:
            if name and any(o["_app"] == app and o["name"] == name and
                            o["state"] not in ("destroying", "destroyed")
                            for o in machines.values()):
                return self.err(422, f"a machine named {name!r} already exists in app {app}")
            machines[mid] = m
            all_made.append(m)
        threading.Thread(target=boot, args=(m,), daemon=True).start()
        self.done(200, public(m))

    def wait(self, m, q):
        want = (q.get("state") or ["started"])[0]
        try:
            t = int((q.get("timeout") or ["60"])[0])
        except ValueError:
            raise Bad("timeout must be an integer number of seconds")
        if not 1 <= t <= 60:
            raise Bad("timeout must be between 1 and 60 seconds")
        deadline = time.monotonic() + t
        while True:
            with lock:
                if m["state"] == want:
                    return self.done(200, {"ok": True})
                if m["state"] == "failed":
                    return self.err(422, f"machine failed to start: {m.get('_error', '')}")
                ev = m["_changed"]
            left = deadline - time.monotonic()
            if left <= 0:
                return self.err(408, f"deadline_exceeded: machine {m['id']} did not reach {want}")
            ev.wait(min(left, 1))

    def nonce_ok(self, m):
        with lock:
            l = m["_lease"]
            if l and l["expires_at"] > time.time() and \
                    self.headers.get("fly-machine-lease-nonce") != l["nonce"]:
                self.err(409, f"machine ID {m['id']} lease currently held by {l['owner']}, "
                              f"expires at {l['expires_at']}")
                return False
        return True

    def lease(self, m, q):
        with lock:
            l = m["_lease"]
            held = l and l["expires_at"] > time.time()
            if self.command == "POST":
                if m["state"] in ("destroying", "destroyed"):
                    return self.err(412, f"machine {m['id']} is {m['state']}")
                if held and self.headers.get("fly-machine-lease-nonce") != l["nonce"]:
                    return self.send(409, {"status": "error", "code": "invalid",
                                           "message": f"machine ID {m['id']} lease currently "
                                                      f"held by {l['owner']}, expires at "
                                                      f"{l['expires_at']}"})
                b = self.body()
                ttl = b.get("ttl", 30)
                if not isinstance(ttl, int) or ttl < 1:
                    raise Bad("ttl must be a positive integer number of seconds")
                m["_lease"] = l = {"nonce": secrets.token_hex(6), "owner": "orch@standin",
                                   "description": str(b.get("description", "")),
                                   "expires_at": int(time.time()) + ttl,
                                   "version": m["instance_id"]}
                return self.done(201, {"status": "success", "data": l})
            if self.command == "DELETE":
                if held and self.headers.get("fly-machine-lease-nonce") != l["nonce"]:
                    return self.err(409, "lease nonce does not match")
                m["_lease"] = None
                return self.done(200, {"ok": True})
            return self.send(200, {"status": "success", "data": l} if held else None)

    def exec(self, m):
        b = self.body()
        argv = b.get("command")
        if argv is None and isinstance(b.get("cmd"), str):
            argv = b["cmd"].split()
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
            raise Bad("command must be a non-empty array of strings")
        if m["state"] != "started":
            return self.err(412, f"machine {m['id']} is {m['state']}, not started")
        t = b.get("timeout", 60)
        if not isinstance(t, int):
            raise Bad("timeout must be an integer number of seconds")
        stdin = b.get("stdin")
        if stdin is not None and not isinstance(stdin, str):
            raise Bad("stdin must be a string")
        try:
            r = docker("exec", *(["-i"] if stdin is not None else []), m["_container"], *argv,
                       timeout=t, input=stdin.encode() if stdin is not None else None)
        except subprocess.TimeoutExpired:
            return self.err(408, "deadline_exceeded: exec timed out")
        out = {}
        if r.returncode:
            out["exit_code"] = r.returncode
        if r.stdout:
            out["stdout"] = r.stdout.decode(errors="replace")
        if r.stderr:
            out["stderr"] = r.stderr.decode(errors="replace")
        self.done(200, out)

    def stop(self, m):
        b = self.body()
        t = b.get("timeout", "5s")
        if not isinstance(t, str) or not re.fullmatch(r"\d+(ms|s|m)", t):
            raise Bad("timeout must be a duration such as 30s")
        secs = int(re.match(r"\d+", t).group()) // (1000 if t.endswith("ms") else 1)
        with lock:
            if m["state"] not in ("started", "starting"):
                return self.done(200, {"ok": True})
            set_state(m, "stopping")

        def run():
            docker("stop", "-t", str(secs), m["_container"])
            with lock:
                if m["state"] == "stopping":
                    set_state(m, "stopped")
        threading.Thread(target=run, daemon=True).start()
        self.done(200, {"ok": True})

    def start(self, m):
        with lock:
            if m["state"] != "stopped":
                return self.err(412, f"machine {m['id']} is {m['state']}: it cannot be started")
            set_state(m, "starting")

        def run():
            docker("start", m["_container"])
            with lock:
                if m["state"] == "starting":
                    set_state(m, "started")
        threading.Thread(target=run, daemon=True).start()
        self.done(200, {"previous_state": "stopped"})

    def destroy(self, m, q):
        force = (q.get("force") or ["false"])[0] == "true"
        with lock:
            if m["state"] in ("destroying", "destroyed"):
                return self.err(412, f"failed_precondition: machine {m['id']} is already being "
                                     "destroyed")
            if m["state"] in ("started", "starting", "created") and not force:
                return self.err(412, "failed_precondition: machine is still active, "
                                     "refusing to destroy (use ?force=true)")
            if not self.nonce_ok(m):
                return
            set_state(m, "destroying")

        def run():
            docker("rm", "-f", "-v", m["_container"])
            with lock:
                set_state(m, "destroyed")
                m["_gone"] = True
            reap_later(m)
        threading.Thread(target=run, daemon=True).start()
        self.done(200, {"ok": True})

    def volumes(self, app, rest):
        if not rest and self.command == "POST":
            b = self.body()
            size = b.get("size_gb", 1)
            if not isinstance(size, int) or size < 1:
                raise Bad("size_gb must be a positive integer")
            vname = b.get("name")
            if not isinstance(vname, str) or not VOLUME_NAME.fullmatch(vname):
                return self.err(422, "Volume name can only contain lowercase letters, numbers "
                                     "and underscores, and at most 30 characters")
            region = b.get("region")
            if region is not None and region not in REGIONS:
                return self.err(422, f"invalid region {region!r}: no such region")
            vid = "vol_" + secrets.token_hex(8)
            v = {"id": vid, "name": vname, "state": "created", "size_gb": size,
                 "region": b.get("region") or "ord", "encrypted": b.get("encrypted", True),
                 "attached_machine_id": None, "created_at": now_iso(), "_app": app}
            docker("volume", "create", f"flystandin-{vid}")
            with lock:
                volumes[vid] = v
            return self.done(200, public(v))
        if not rest and self.command == "GET":
            with lock:
                return self.send(200, [public(v) for v in volumes.values() if v["_app"] == app])
        with lock:
            v = volumes.get(rest[0]) if rest else None
        if not v:
            return self.err(404, "volume not found")
        if self.command == "GET":
            return self.send(200, public(v))
        if self.command == "DELETE":
            docker("volume", "rm", "-f", f"flystandin-{v['id']}")
            with lock:
                volumes.pop(v["id"], None)
            return self.done(200, public(v) | {"state": "destroyed"})
        self.err(404, "not found")


class Bad(Exception):
    pass


all_made = []


def shutdown(signum, frame):
    """The stand-in's machines die with it: no container outlives the tests."""
    with lock:  # the gone ones too: a boot may have outrun its destroy
        names = [m["_container"] for m in all_made]
    if names:
        docker("rm", "-f", "-v", *names)
    raise SystemExit(0)


signal.signal(signal.SIGTERM, shutdown)
server = ThreadingHTTPServer(("127.0.0.1", 0), H)
server.daemon_threads = True
with open(args.port_file, "w") as f:
    f.write(str(server.server_port))
server.serve_forever()
