#!/usr/bin/python3
"""Google's side of a service-account upload, as far as the tests can have
it here: an OAuth2 token endpoint and a gate in front of the S3 server.
Google's own services cannot run here; Cloud Storage's XML API is S3's
protocol, so the objects go to s3rver (tests/world/s3rver) and this gate
stands for what Google adds: it lets a request through only with a token
it issued (then without the Authorization header: s3rver takes anonymous
requests), and issues a token only for an assertion that verifies.

  gcs_auth.py PORT UPSTREAM_URL PUBLIC_KEY_PEM CLIENT_EMAIL [--expires-in S]

POST /token (application/x-www-form-urlencoded, grant_type
urn:ietf:params:oauth:grant-type:jwt-bearer, assertion): the JWT is
checked with python3-cryptography (RS256 under PUBLIC_KEY_PEM), and its
claims: iss CLIENT_EMAIL, aud this endpoint's /token URL, scope
devstorage.read_write, iat not in the future, exp within an hour after
iat and not past. Answers {"access_token", "expires_in", "token_type"}
or 400 {"error": "invalid_grant", "error_description"}.

A GET with a V4 signed URL (X-Goog-Signature: GOOG4-RSA-SHA256 over the
canonical request, as Google documents it, verified with the public key;
not expired): forwarded without its query. Any other request: 401 unless
"Authorization: Bearer <a token issued and not expired>", then forwarded
to UPSTREAM_URL.

Logs "listening" once it listens, then one line per request:
  token {"ok": bool, "reason", "kid"}
  request {"method", "path", "auth": "ok"|"missing"|"bad"|"signed", "status"}
  signed {"path", "ok": bool, "reason"}
"""

import base64
import calendar
import hashlib
import http.client
import http.server
import json
import secrets
import sys
import threading
import time
from urllib.parse import parse_qs, unquote, urlparse

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SCOPE = "https://www.googleapis.com/auth/devstorage.read_write"


def b64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class State:
    def __init__(self, port, upstream, public_key, email, expires_in):
        self.port, self.upstream, self.email, self.expires_in = port, upstream, email, expires_in
        self.public_key = public_key
        self.tokens = {}  # token -> monotonic end
        self.lock = threading.Lock()


LOG_LOCK = threading.Lock()


def log(kind, obj):
    # One write per line under a lock: the server's threads log at once,
    # and print() writes the text and its newline separately (two lines
    # were once run together into one, which the test could not parse).
    with LOG_LOCK:
        sys.stdout.write("%s %s\n" % (kind, json.dumps(obj)))
        sys.stdout.flush()


def check_assertion(st, jwt):
    """None when jwt is good, else why not."""
    try:
        h64, c64, s64 = jwt.split(".")
        header, claims = json.loads(b64url(h64)), json.loads(b64url(c64))
    except ValueError:
        return "not a JWT", None
    if header.get("alg") != "RS256" or header.get("typ") != "JWT":
        return "header %s" % header, header.get("kid")
    try:
        st.public_key.verify(b64url(s64), (h64 + "." + c64).encode(), padding.PKCS1v15(),
                             hashes.SHA256())
    except Exception:
        return "signature does not verify", header.get("kid")
    now = time.time()
    want_aud = "http://127.0.0.1:%d/token" % st.port
    if claims.get("iss") != st.email:
        return "iss %s" % claims.get("iss"), header.get("kid")
    if claims.get("aud") != want_aud:
        return "aud %s" % claims.get("aud"), header.get("kid")
    if claims.get("scope") != SCOPE:
        return "scope %s" % claims.get("scope"), header.get("kid")
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int) or not isinstance(exp, int) or iat > now + 60 or exp < now or \
            exp - iat > 3600:
        return "iat %s exp %s" % (iat, exp), header.get("kid")
    return None, header.get("kid")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _answer(self, status, body, ctype):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _token(self):
        st = self.server.st
        form = parse_qs(self._body().decode(errors="replace"))
        if form.get("grant_type") != [GRANT] or len(form.get("assertion", [])) != 1:
            reason, kid = "grant_type %s" % form.get("grant_type"), None
        else:
            reason, kid = check_assertion(st, form["assertion"][0])
        log("token", {"ok": reason is None, "reason": reason, "kid": kid})
        if reason:
            self._answer(400, json.dumps({"error": "invalid_grant",
                                          "error_description": "Invalid JWT: " + reason}),
                         "application/json")
            return
        token = "ya29.test-" + secrets.token_urlsafe(24)
        with st.lock:
            st.tokens[token] = time.monotonic() + st.expires_in
        self._answer(200, json.dumps({"access_token": token, "expires_in": st.expires_in,
                                      "token_type": "Bearer"}), "application/json")

    def _signed(self):
        """None when this GET carries a V4 signed URL that verifies (then it
        goes through without credentials), else why not."""
        st = self.server.st
        path, _, query = self.path.partition("?")
        pairs = [p.split("=", 1) for p in query.split("&") if p]
        params = {k: unquote(v) for k, v in pairs}
        try:
            cred = params["X-Goog-Credential"].split("/")
            email, scope = cred[0], "/".join(cred[1:])
            stamp, expires = params["X-Goog-Date"], int(params["X-Goog-Expires"])
            sig = bytes.fromhex(params["X-Goog-Signature"])
        except (KeyError, ValueError, IndexError):
            return "incomplete signed URL"
        if params.get("X-Goog-Algorithm") != "GOOG4-RSA-SHA256" or email != st.email:
            return "algorithm or account"
        if calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ")) + expires < time.time():
            return "expired"
        canonical_query = "&".join("%s=%s" % (k, v) for k, v in
                                   sorted(p for p in pairs if p[0] != "X-Goog-Signature"))
        canonical = "GET\n%s\n%s\nhost:%s\n\nhost\nUNSIGNED-PAYLOAD" % (
            path, canonical_query, self.headers.get("Host"))
        to_sign = "GOOG4-RSA-SHA256\n%s\n%s\n%s" % (
            stamp, scope, hashlib.sha256(canonical.encode()).hexdigest())
        try:
            st.public_key.verify(sig, to_sign.encode(), padding.PKCS1v15(), hashes.SHA256())
        except Exception:
            return "signature does not verify"
        return None

    def _forward(self):
        st = self.server.st
        body = self._body()
        if self.command == "GET" and "X-Goog-Signature=" in self.path:
            why = self._signed()
            log("signed", {"path": self.path.partition("?")[0], "ok": why is None,
                           "reason": why})
            if why:
                self._answer(403, "<?xml version='1.0' encoding='UTF-8'?><Error><Code>"
                             "AccessDenied</Code><Message>%s</Message></Error>" % why,
                             "application/xml")
                return
            self.path = self.path.partition("?")[0]
            return self._send_upstream(body, "signed")
        auth = self.headers.get("Authorization") or ""
        with st.lock:
            end = st.tokens.get(auth[len("Bearer "):]) if auth.startswith("Bearer ") else None
        state = "missing" if not auth else "ok" if end and end > time.monotonic() else "bad"
        if state != "ok":
            log("request", {"method": self.command, "path": self.path, "auth": state,
                            "status": 401})
            self._answer(401, "<?xml version='1.0' encoding='UTF-8'?><Error><Code>"
                         "AuthenticationRequired</Code><Message>Invalid Credentials</Message>"
                         "</Error>", "application/xml")
            return
        self._send_upstream(body, state)

    def _send_upstream(self, body, state):
        st = self.server.st
        up = urlparse(st.upstream)
        conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("authorization", "host", "connection", "expect")}
        conn.request(self.command, self.path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        log("request", {"method": self.command, "path": self.path, "auth": state,
                        "status": r.status})
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    def do_POST(self):
        if urlparse(self.path).path == "/token":
            self._token()
        else:
            self._forward()

    def do_PUT(self):
        self._forward()

    def do_GET(self):
        self._forward()

    def do_HEAD(self):
        self._forward()

    def do_DELETE(self):
        self._forward()


def main(argv):
    port, upstream, key_path, email = int(argv[1]), argv[2], argv[3], argv[4]
    expires_in = int(argv[argv.index("--expires-in") + 1]) if "--expires-in" in argv else 3600
    with open(key_path, "rb") as f:
        public_key = serialization.load_pem_public_key(f.read())
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.st = State(port, upstream, public_key, email, expires_in)
    print("listening on 127.0.0.1:%d" % port, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main(sys.argv)
