#!/usr/bin/python3
"""regfront: a front for a test registry, for di-pull's tests.

It forwards GET and HEAD requests to the registry behind it (--upstream)
and can, on request:
  --bearer          demand Bearer tokens, which its own /token issues
                    (--token-creds USER:PASS: only with Basic credentials;
                    --token-ttl S: their expires_in; --token-uses N: each
                    is good for N requests; --scope-once: the first token
                    grants nothing, so the registry answers
                    insufficient_scope; --token-field access_token)
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


def log(port, handler, note=""):
    auth = handler.headers.get("Authorization", "")
    kind = auth.split(" ", 1)[0].lower() if auth else "none"
    if kind not in ("none", "basic", "bearer"):
        kind = "other"
    rng = handler.headers.get("Range", "-")
    with LOCK, open(ARGS.log, "a") as f:
        f.write(f"{time.monotonic():.3f} {port} {handler.command} {handler.path} range={rng} "
                f"auth={kind}{note}\n")


def upstream(method, path, headers, own_auth=False):
    conn = http.client.HTTPConnection(ARGS.upstream, timeout=30)
    keep = {k: v for k, v in headers.items()
            if k.lower() in ("accept", "range") or
            (k.lower() == "authorization" and (own_auth or not ARGS.bearer))}
    conn.request(method, path, headers=keep)
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
            grant = "" if ARGS.scope_once and first else scope
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
        need = f"repository:{repo}:pull" if repo else None
        with LOCK:
            entry = TOKENS.get(token)
            ok = entry is not None and entry[0] > time.monotonic() and \
                entry[1] != 0
            if ok:
                entry[1] -= 1
            granted = entry[2] if entry else ""
        if not ok:
            self.challenge("invalid_token" if token else None, need)
            return False
        if need and granted != need:
            self.challenge("insufficient_scope", need)
            return False
        return True

    def fault_now(self):
        """The fault for this request: the Nth of --fault for the Nth
        request of a path that holds --fault-path."""
        if not ARGS.fault or ARGS.fault_path not in self.path:
            return None
        with LOCK:
            n = SEEN.get(self.path, 0)
            SEEN[self.path] = n + 1
        kinds = ARGS.fault.split(",")
        if n >= len(kinds) and not ARGS.fault_repeat:
            return None
        kind = kinds[min(n, len(kinds) - 1)]
        return None if kind == "ok" else kind

    def do_HEAD(self):
        self.do_GET()

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
        status, headers, body = upstream(self.command, self.path,
                                         self.headers)
        keep = [(k, v) for k, v in headers if k.lower() in (
            "content-type", "docker-content-digest", "www-authenticate",
            "content-range", "location", "docker-distribution-api-version")]
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
    p.add_argument("--upstream-creds")
    p.add_argument("--token-ttl", type=int, default=300)
    p.add_argument("--token-uses", type=int, default=0)
    p.add_argument("--token-field", default="token")
    p.add_argument("--scope-once", action="store_true")
    p.add_argument("--fault")
    p.add_argument("--fault-path", default="/blobs/")
    p.add_argument("--fault-repeat", action="store_true")
    p.add_argument("--lifetime", type=int, default=300)
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
