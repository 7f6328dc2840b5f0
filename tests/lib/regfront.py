#!/usr/bin/python3
"""regfront: a front for a test registry, for di-pull's and di-push's tests.

It forwards GET and HEAD requests, and the POST, PATCH and PUT of pushes
(Location answers made to point at itself), to the registry behind it
(--upstream) and can, on request:
  --bearer          demand Bearer tokens, which its own /token issues
                    (--token-creds USER:PASS: only with Basic credentials;
                    --token-ttl S: their expires_in; --token-uses N: each
                    is good for N requests; --scope-once: the first token
                    grants nothing, so the registry answers
                    insufficient_scope; --token-field access_token;
                    --refresh-token T: a POST to /token with OAuth2's
                    refresh_token grant and that token gets one too)
  --fault KIND,...  the Nth request of each path that holds --fault-path
                    (default /blobs/) gets the Nth KIND ("ok": none; with
                    --fault-repeat the last KIND goes on for ever):
                    drop: cut the connection half way through a blob;
                    corrupt: flip a byte of a blob; 500, 429: answer that
                    instead; redirect: send blobs to another host
                    (localhost:PORT2, served here too, with
                    --upstream-creds of its own); norange: ignore
                    Range; badrange: a 206 that does not continue where
                    asked; stall: stop sending half way through a blob;
                    slow: answer after 0.6 s; notfound: answer 404;
                    endless404, endless500, endless302: that status with
                    a body that never ends (302: to the redirect host);
                    drip: the answer --drip-bytes at a time, one lot
                    every --drip-interval seconds; drip404: a 404 whose
                    endless body drips so.
Faults of pushes (on the POST, PATCH and PUT requests whose path holds
--fault-path): cut: send the registry the first half of a chunk, then
hang up on the client without an answer; flip: change a byte of a chunk
on its way; quota: answer 403 DENIED "quota exceeded"; badmanifest:
change a manifest on its way (the registry then refuses it).
--max-faults N: no more than N faults in all.
With --stable-uploads the front keeps an upload's URL stable, as
registries whose upload URLs carry no state do: a request to any URL of
an upload goes to the registry's latest one.
Tokens for a push must grant "repository:NAME:pull,push", and a mount
"repository:FROM:pull" too.
With --tls CERT,KEY it speaks https (the redirect host stays http).
It logs one line per request to --log: "PORT METHOD PATH range=R auth=A"
(A: none, basic, bearer, other), never a secret.  It listens on 127.0.0.1
only, writes its ports to --port-file, and exits after --lifetime seconds.
"""
import argparse
import base64
import http.client
import http.server
import json
import os
import secrets
import ssl
import threading
import time
import urllib.parse

ARGS = None
LOCK = threading.Lock()
TOKENS = {}  # token -> [expiry, uses left, granted scope]
SEEN = {}  # path -> requests so far
REDIRECT_PORT = [0]
UPLOADS = {}  # upload path -> the registry's latest URL (path and query)


def log(port, handler, note=""):
    auth = handler.headers.get("Authorization", "")
    kind = auth.split(" ", 1)[0].lower() if auth else "none"
    if kind not in ("none", "basic", "bearer"):
        kind = "other"
    rng = handler.headers.get("Range", "-")
    if handler.headers.get("Content-Range"):
        note = f" content-range={handler.headers['Content-Range']}" + note
    with LOCK, open(ARGS.log, "a") as f:
        f.write(f"{time.monotonic():.3f} {port} {handler.command} {handler.path} range={rng} "
                f"auth={kind}{note}\n")


def upstream(method, path, headers, own_auth=False, body=None):
    conn = http.client.HTTPConnection(ARGS.upstream, timeout=30)
    keep = {k: v for k, v in headers.items()
            if k.lower() in ("accept", "range", "content-type",
                             "content-range") or
            (k.lower() == "authorization" and (own_auth or not ARGS.bearer))}
    conn.request(method, path, body=body if body is not None else
                 (b"" if method in ("POST", "PUT", "PATCH") else None),
                 headers=keep)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, resp.getheaders(), body


def repo_of(path):
    """The repository in /v2/NAME/(manifests|blobs)/REF, or None."""
    for kind in ("/manifests/", "/blobs/"):
        if path.startswith("/v2/") and kind in path:
            return path[4:path.index(kind)]
    return None


def remember(location):
    """Keep the registry's latest URL of an upload."""
    path = urllib.parse.urlsplit(location)
    if "/uploads/" in path.path:
        with LOCK:
            UPLOADS[path.path] = path.path + ("?" + path.query
                                              if path.query else "")


class Front(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, status, headers, body, length=None):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length",
                         str(len(body) if length is None else length))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def challenge(self, error=None, scope=None):
        scheme = "https" if ARGS.tls else "http"
        realm = f"{scheme}://127.0.0.1:{self.server.server_port}/token"
        value = f'Bearer realm="{realm}",service="di-test"'
        if scope:
            value += f',scope="{scope}"'
        if error:
            value += f',error="{error}"'
        body = json.dumps({"errors": [{"code": "UNAUTHORIZED",
                                       "message": "authentication required"}]})
        self.send(401, [("WWW-Authenticate", value),
                        ("Content-Type", "application/json")], body.encode())

    def issue_token(self):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        scope = q.get("scope", [""])[0]
        if ARGS.token_creds:
            want = "Basic " + base64.b64encode(
                ARGS.token_creds.encode()).decode()
            if self.headers.get("Authorization") != want:
                self.send(401, [("Content-Type", "application/json")],
                          b'{"details":"bad credentials"}')
                return
        token = secrets.token_hex(16)
        with LOCK:
            first = not TOKENS
            grant = [] if ARGS.scope_once and first else q.get("scope", [])
            TOKENS[token] = [time.monotonic() + ARGS.token_ttl,
                             ARGS.token_uses or -1, grant]
        body = {ARGS.token_field: token, "expires_in": ARGS.token_ttl}
        self.send(200, [("Content-Type", "application/json")],
                  json.dumps(body).encode())

    def check_token(self):
        """True if the request may pass; else a 401 has been sent."""
        auth = self.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else None
        repo = repo_of(self.path)
        push = self.command in ("POST", "PUT", "PATCH", "DELETE")
        need = [f"repository:{repo}:pull,push" if push else
                f"repository:{repo}:pull"] if repo else []
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        if "from" in q:
            need.append(f"repository:{q['from'][0]}:pull")
        with LOCK:
            entry = TOKENS.get(token)
            ok = entry is not None and entry[0] > time.monotonic() and \
                entry[1] != 0
            if ok:
                entry[1] -= 1
            granted = entry[2] if entry else []
        if not ok:
            self.challenge("invalid_token" if token else None,
                           need[0] if need else None)
            return False
        missing = [n for n in need if n not in granted]
        if missing:
            self.challenge("insufficient_scope", missing[0])
            return False
        return True

    def fault_now(self):
        """The fault for this request: the Nth of --fault for the Nth
        request of a path that holds --fault-path."""
        if not ARGS.fault or ARGS.fault_path not in self.path:
            return None
        key = self.path.split("?")[0]  # an upload's chunks count as one
        with LOCK:
            n = SEEN.get(key, 0)
            SEEN[key] = n + 1
        kinds = ARGS.fault.split(",")
        if n >= len(kinds) and not ARGS.fault_repeat:
            return None
        kind = kinds[min(n, len(kinds) - 1)]
        if kind == "ok" or (kind in ("cut", "flip") and
                            self.command != "PATCH"):
            return None
        with LOCK:
            if ARGS.max_faults is not None:
                if ARGS.max_faults == 0:
                    return None
                ARGS.max_faults -= 1
        return kind

    def do_HEAD(self):
        self.do_GET()

    def do_POST(self):
        if self.path.startswith("/token") and ARGS.refresh_token:
            return self.refresh_grant()
        self.do_write()

    def refresh_grant(self):
        """OAuth2's refresh-token grant, as docker sends it."""
        log(self.server.server_port, self)
        n = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(n).decode())
        if (form.get("grant_type") != ["refresh_token"]
                or form.get("refresh_token") != [ARGS.refresh_token]):
            self.send(401, [("Content-Type", "application/json")],
                      b'{"details":"bad refresh token"}')
            return
        token = secrets.token_hex(16)
        with LOCK:
            TOKENS[token] = [time.monotonic() + ARGS.token_ttl,
                             ARGS.token_uses or -1, form.get("scope", [])]
        body = {"access_token": token, "expires_in": ARGS.token_ttl}
        self.send(200, [("Content-Type", "application/json")],
                  json.dumps(body).encode())

    def do_PUT(self):
        self.do_write()

    def do_PATCH(self):
        self.do_write()

    def upload_path(self):
        """The registry's latest URL of this request's upload (with
        --stable-uploads), else the request's own."""
        key = self.path.split("?")[0]
        if not ARGS.stable_uploads or "/uploads/" not in key:
            return self.path
        with LOCK:
            latest = UPLOADS.get(key)
        if latest is None:
            return self.path
        # the registry's latest state, the client's other parameters
        q = urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query)
        state = urllib.parse.parse_qs(urllib.parse.urlsplit(latest).query)
        q = [(k, v) for k, v in q if k != "_state"] + \
            [("_state", v) for v in state.get("_state", [])]
        return key + ("?" + urllib.parse.urlencode(q) if q else "")

    def relocate(self, headers):
        """The registry's answer headers, its Location made ours."""
        scheme = "https" if ARGS.tls else "http"
        mine = f"{scheme}://127.0.0.1:{self.server.server_port}"
        keep = []
        for k, v in headers:
            if k.lower() == "location":
                remember(v)
                v = v.replace(f"http://{ARGS.upstream}", mine)
            if k.lower() in ("location", "range", "docker-upload-uuid",
                             "docker-content-digest", "content-type",
                             "www-authenticate"):
                keep.append((k, v))
        return keep

    def do_write(self):
        log(self.server.server_port, self)
        n = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(n) if n else b""
        if ARGS.bearer and not self.check_token():
            return
        fault = self.fault_now()
        if fault == "quota":
            err = {"errors": [{"code": "DENIED",
                               "message": "quota exceeded: 0 bytes left"}]}
            return self.send(403, [("Content-Type", "application/json")],
                             json.dumps(err).encode())
        if fault == "flip" and self.command == "PATCH" and body:
            i = len(body) // 2
            body = body[:i] + bytes([body[i] ^ 0xFF]) + body[i + 1:]
        if fault == "badmanifest" and "/manifests/" in self.path:
            body = body.replace(b'"sha256:', b'"sha256:0', 1)[:-1] + \
                body[-1:]
        headers = dict(self.headers.items())
        if fault == "cut" and self.command == "PATCH" and len(body) > 1:
            half = len(body) // 2
            start = int(headers.get("Content-Range", "0-0").split("-")[0])
            headers["Content-Range"] = f"{start}-{start + half - 1}"
            _, rh, _ = upstream("PATCH", self.upload_path(), headers,
                                body=body[:half])
            self.relocate(rh)
            log(self.server.server_port, self, f" cut after {half}")
            self.close_connection = True
            self.connection.shutdown(2)
            return
        status, rheaders, rbody = upstream(self.command, self.upload_path(),
                                           headers, body=body)
        self.send(status, self.relocate(rheaders), rbody)

    def do_GET(self):
        port = self.server.server_port
        if port == REDIRECT_PORT[0]:
            return self.serve_redirected()
        log(port, self)
        if self.path.startswith("/token"):
            return self.issue_token()
        if ARGS.bearer and not self.check_token():
            return
        fault = self.fault_now()
        if fault == "slow":
            time.sleep(0.6)
        if fault == "notfound":
            return self.send(404, [], b"404 page not found\n")
        if fault in ("500", "429"):
            extra = [("Retry-After", "1")] if fault == "429" else []
            return self.send(int(fault), extra, b"")
        if fault == "redirect":
            loc = f"http://localhost:{REDIRECT_PORT[0]}{self.path}"
            return self.send(307, [("Location", loc)], b"")
        if fault and fault.startswith("endless"):
            return self.endless(int(fault[7:]))
        if fault == "drip404":
            return self.drip(404, [], None)
        status, headers, body = upstream(self.command, self.upload_path(),
                                         self.headers)
        keep = [(k, v) for k, v in self.relocate(headers)
                if k.lower() != "range" or "/uploads/" in self.path] + \
            [(k, v) for k, v in headers if k.lower() in (
                "content-range", "docker-distribution-api-version")]
        if self.command == "HEAD":
            length = dict((k.lower(), v) for k, v in headers).get(
                "content-length", "0")
            return self.send(status, keep, b"", int(length))
        if status not in (200, 206) or fault is None:
            return self.send(status, keep, body)
        self.blob_fault(fault, status, keep, body)

    def endless(self, status):
        """STATUS with a body that goes on until the client hangs up;
        logs how much the client took."""
        self.send_response(status)
        if status == 302:
            self.send_header("Location",
                             f"http://localhost:{REDIRECT_PORT[0]}{self.path}")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        chunk, sent = b"x" * 65536, 0
        try:
            while sent < ARGS.endless_max:
                self.wfile.write(chunk)
                sent += len(chunk)
        except OSError:
            pass
        log(self.server.server_port, self, f" endless sent={sent}")

    def drip(self, status, keep, body):
        """The answer, --drip-bytes every --drip-interval seconds; BODY
        None: an endless one."""
        self.send_response(status)
        for k, v in keep:
            self.send_header(k, v)
        if body is None:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        i, n = 0, ARGS.drip_bytes
        try:
            while body is None or i < len(body):
                self.wfile.write(body[i:i + n] if body else b"x" * n)
                self.wfile.flush()
                i += n
                time.sleep(ARGS.drip_interval)
        except OSError:
            pass
        self.close_connection = True

    def blob_fault(self, fault, status, keep, body):
        if fault == "drip":
            return self.drip(status, keep, body)
        if fault == "corrupt":
            i = len(body) // 2
            body = body[:i] + bytes([body[i] ^ 0xFF]) + body[i + 1:]
            return self.send(status, keep, body)
        if fault in ("drop", "stall"):
            self.send(status, keep, body[:len(body) // 2], len(body))
            self.wfile.flush()
            if fault == "stall":
                time.sleep(min(ARGS.lifetime, 30))
            self.close_connection = True
            return
        if fault == "norange" and status == 206:
            _, headers, body = upstream(self.command, self.path, {})
            keep = [(k, v) for k, v in headers
                    if k.lower() in ("content-type", "docker-content-digest")]
            return self.send(200, keep, body)
        if fault == "badrange" and status == 206:
            keep = [(k, v) for k, v in keep if k.lower() != "content-range"]
            keep.append(("Content-Range", f"bytes 0-{len(body) - 1}/*"))
            return self.send(206, keep, body)
        self.send(status, keep, body)

    def serve_redirected(self):
        """Blobs for a redirected client: like a storage service that
        trusts its signed URLs, it has credentials of its own."""
        log(self.server.server_port, self, " redirected")
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() == "range"}
        if ARGS.upstream_creds:
            headers["Authorization"] = "Basic " + base64.b64encode(
                ARGS.upstream_creds.encode()).decode()
        status, headers, body = upstream(self.command, self.path, headers,
                                         own_auth=True)
        keep = [(k, v) for k, v in headers
                if k.lower() in ("content-type", "content-range")]
        self.send(status, keep, body)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that hangs up on a fault is expected


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--upstream", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--bearer", action="store_true")
    p.add_argument("--token-creds")
    p.add_argument("--refresh-token")
    p.add_argument("--upstream-creds")
    p.add_argument("--token-ttl", type=int, default=300)
    p.add_argument("--token-uses", type=int, default=0)
    p.add_argument("--token-field", default="token")
    p.add_argument("--scope-once", action="store_true")
    p.add_argument("--fault")
    p.add_argument("--fault-path", default="/blobs/")
    p.add_argument("--fault-repeat", action="store_true")
    p.add_argument("--lifetime", type=int, default=300)
    p.add_argument("--stable-uploads", action="store_true")
    p.add_argument("--max-faults", type=int)
    p.add_argument("--drip-bytes", type=int, default=1)
    p.add_argument("--drip-interval", type=float, default=0.5)
    p.add_argument("--endless-max", type=int, default=8 << 30)
    p.add_argument("--tls", metavar="CERT,KEY")
    ARGS = p.parse_args()
    main_srv = Server(("127.0.0.1", 0), Front)
    if ARGS.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*ARGS.tls.split(","))
        main_srv.socket = ctx.wrap_socket(main_srv.socket, server_side=True)
    side_srv = Server(("127.0.0.1", 0), Front)
    REDIRECT_PORT[0] = side_srv.server_port
    for srv in (main_srv, side_srv):
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{main_srv.server_port} {side_srv.server_port}\n")
    os.rename(tmp, ARGS.port_file)
    time.sleep(ARGS.lifetime)


if __name__ == "__main__":
    main()
