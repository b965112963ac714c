"""Webhook receivers of a World (tests/tools/webhook_receiver.py run inside
the namespace): what an HTTP endpoint would get from the worker's signed
webhooks. Used through World.start_webhook_receiver()."""

import hashlib
import hmac
import json
import os
import time

from served import Served

HERE = os.path.dirname(os.path.abspath(__file__))
RECEIVER = os.path.join(HERE, "..", "tools", "webhook_receiver.py")


def sign(secret, body, timestamp=None):
    """The headers of a correctly signed webhook (for checks by hand):
    {"Egress-Timestamp", "Egress-Signature"}. body: bytes or str."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    if isinstance(body, str):
        body = body.encode()
    mac = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"Egress-Timestamp": ts, "Egress-Signature": "v1=" + mac}


class HookReceiver(Served):
    """One receiver on 127.0.0.1:port. Every run records into the same
    directory, so requests() spans stop()/start() and so does the mode set
    with set_mode(); the --fail-first count starts again with each run.
    freeze()/thaw(): SIGSTOP/SIGCONT."""

    def __init__(self, world, name, port, secret=None, fail_first=0, fail_status=500,
                 hang=False):
        self.world, self.name, self.port = world, name, port
        self.secret, self.fail_first = secret, fail_first
        self.fail_status, self.hang = fail_status, hang
        self.dir = os.path.join(world.dir, "hook-" + name)
        os.makedirs(self.dir, exist_ok=True)
        self.proc = None

    def url(self, path="/hook"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def start(self, timeout=10):
        argv = ["/usr/bin/python3", RECEIVER, "--port", self.port, "--dir", self.dir,
                "--fail-first", self.fail_first, "--fail-status", self.fail_status]
        if self.secret is not None:
            argv += ["--secret", self.secret]
        if self.hang:
            argv.append("--hang")
        self.proc = self.world.run(argv, name="hook-" + self.name,
                                   env={"PYTHONUNBUFFERED": "1"})
        return self._await_listening("webhook receiver %s" % self.name, timeout)

    def set_mode(self, mode):
        """"ok", "fail" or "hang", from the next request on."""
        assert mode in ("ok", "fail", "hang"), mode
        tmp = os.path.join(self.dir, "mode.tmp")
        with open(tmp, "w") as f:
            f.write(mode + "\n")
        os.rename(tmp, os.path.join(self.dir, "mode"))

    def requests(self):
        """Every POST recorded so far, oldest first: [{"time", "path",
        "headers" (lower-case names), "body", "valid", "answered", ("why")}]."""
        out = []
        try:
            with open(os.path.join(self.dir, "requests.jsonl")) as f:
                for line in f:
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        pass  # a line being written
        except OSError:
            pass
        return out

    def wait_requests(self, n, timeout=10):
        """Waits until at least n requests are recorded; returns them all.
        Raises WorldError on timeout."""
        from world import WorldError
        deadline = time.time() + timeout
        while True:
            reqs = self.requests()
            if len(reqs) >= n:
                return reqs
            if time.time() > deadline:
                raise WorldError("webhook receiver %s: %d request(s) after %.1f s, wanted %d\n%s"
                                 % (self.name, len(reqs), timeout, n,
                                    self.world.tail(self.proc.egw_name)))
            time.sleep(0.05)
