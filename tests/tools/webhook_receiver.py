#!/usr/bin/python3
"""A webhook receiver for the tests: an HTTP server on 127.0.0.1:PORT that
records every POST as one JSON line in DIR/requests.jsonl, written before
it answers:

  {"time": unix float, "path", "headers": {lower-case name: value},
   "body": text, "valid": bool or null, "why": reason when invalid,
   "answered": HTTP status, or null when it hangs}

  --secret S        check signatures (else valid is null): headers
                    Egress-Timestamp: <unix seconds, an integer> and
                    Egress-Signature: v1=<lowercase hex HMAC-SHA256(S,
                    timestamp + "." + raw body)>; valid is false when one
                    is missing or wrong, or the timestamp is more than
                    300 s away from now
  --fail-first N    answer the first N requests (of this process) with
                    --fail-status (default 500), then 200
  --hang            accept requests and never answer

DIR/mode, re-read on every request, switches behaviour at run time: "ok"
(200, after the --fail-first ones), "fail" (--fail-status) or "hang". Without
the file: "hang" with --hang, else "ok". Other methods than POST get 405 and
are not recorded. Prints "listening 127.0.0.1:PORT", then one line per request.
"""

import argparse
import hashlib
import hmac
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_SKEW = 300


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def check_signature(secret, headers, body, now):
    """(valid, why) for one request."""
    ts, sig = headers.get("egress-timestamp"), headers.get("egress-signature")
    if ts is None or sig is None:
        return False, "missing Egress-Timestamp or Egress-Signature"
    if not re.fullmatch(r"[0-9]+", ts):
        return False, "timestamp not an integer: %r" % ts
    if abs(now - int(ts)) > MAX_SKEW:
        return False, "timestamp %s is %d s away from now" % (ts, int(now) - int(ts))
    want = "v1=" + hmac.new(secret.encode(), ts.encode() + b"." + body,
                            hashlib.sha256).hexdigest()
    if not hmac.compare_digest(sig.encode(), want.encode()):
        return False, "signature mismatch"
    return True, None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--secret")
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--fail-status", type=int, default=500)
    ap.add_argument("--hang", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    log_path = os.path.join(args.dir, "requests.jsonl")
    mode_path = os.path.join(args.dir, "mode")
    lock = threading.Lock()
    count = [0]

    def mode():
        try:
            with open(mode_path) as f:
                m = f.read().strip()
        except OSError:
            m = ""
        return m if m in ("ok", "fail", "hang") else ("hang" if args.hang else "ok")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def read_body(self):
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                body = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass  # trailers
                        return body
                    body += self.rfile.read(size)
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def answer(self, status, text):
            data = (text + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            body = self.read_body()
            now = time.time()
            headers = {}
            for k, v in self.headers.items():
                k = k.lower()
                headers[k] = headers[k] + ", " + v if k in headers else v
            valid, why = None, None
            if args.secret is not None:
                valid, why = check_signature(args.secret, headers, body, now)
            m = mode()
            with lock:
                count[0] += 1
                n = count[0]
                if m == "hang":
                    status = None
                elif m == "fail" or n <= args.fail_first:
                    status = args.fail_status
                else:
                    status = 200
                rec = {"time": now, "path": self.path, "headers": headers,
                       "body": body.decode(errors="replace"), "valid": valid,
                       "answered": status}
                if why:
                    rec["why"] = why
                with open(log_path, "a") as f:
                    f.write(json.dumps(rec) + "\n")
            say("request %d %s valid=%s answered=%s%s"
                % (n, self.path, valid, status, " (%s)" % why if why else ""))
            if status is None:
                while True:  # hang: the client gives up, or we are killed
                    time.sleep(3600)
            self.answer(status, "ok" if status == 200 else "failing on purpose")

        def do_other(self):
            self.answer(405, "POST only")

        do_GET = do_PUT = do_DELETE = do_PATCH = do_other

    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    say("listening 127.0.0.1:%d" % args.port)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
