"""Headless Chromium (Debian's `chromium`) inside a test World's namespace:
the DOM of a page after its scripts ran (--dump-dom), a screenshot, and a
Page kept open and driven over the DevTools protocol (--remote-debugging-pipe:
JSON messages ended by NUL on file descriptors 3 and 4, no WebSocket), to
watch a page update itself. Chromium runs as root here: --no-sandbox, each
run with a profile directory of its own."""

import base64
import json
import os
import select
import subprocess
import tempfile
import time

BINARY = "chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--no-default-browser-check", "--disable-extensions", "--disable-sync",
         "--disable-background-networking", "--disable-component-update", "--mute-audio",
         "--hide-scrollbars"]


class ChromiumError(Exception):
    pass


def _argv(w, *args):
    profile = tempfile.mkdtemp(prefix="chromium-", dir=w.dir)
    return [BINARY] + FLAGS + ["--user-data-dir=" + profile] + list(args)


def _run(w, args, timeout):
    r = w.call(_argv(w, *args), timeout=timeout, check=False)
    if r.returncode != 0:
        raise ChromiumError("chromium %s: exit %d: %s" % (" ".join(args), r.returncode,
                            r.stderr.decode(errors="replace")[-2000:]))
    return r.stdout.decode(errors="replace")


def dump_dom(w, url, budget_ms=4000, timeout=60):
    """The page's DOM (HTML) once its scripts had budget_ms of virtual time."""
    return _run(w, ["--virtual-time-budget=%d" % budget_ms, "--dump-dom", url], timeout)


def screenshot(w, url, path, width=1280, height=800, budget_ms=4000, timeout=60):
    """A PNG of the page in a width x height window, written to path."""
    _run(w, ["--virtual-time-budget=%d" % budget_ms, "--window-size=%d,%d" % (width, height),
             "--screenshot=" + path, url], timeout)
    if not os.path.exists(path):
        raise ChromiumError("chromium wrote no screenshot to %s" % path)
    return path


class Page:
    """One page open in a headless Chromium in w's namespace, driven over
    the DevTools pipe. Close it (or use `with`)."""

    def __init__(self, w, url, width=1280, height=800):
        to_chromium, self._w = os.pipe()
        self._r, from_chromium = os.pipe()

        def fds():  # (in the child) fd 3: commands in, fd 4: answers out
            a, b = os.dup(to_chromium), os.dup(from_chromium)
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        argv = _argv(w, "--remote-debugging-pipe", "--window-size=%d,%d" % (width, height),
                     "about:blank")
        self._log = open(os.path.join(w.logdir, "chromium-page.err"), "ab")
        self.proc = subprocess.Popen(
            w.ns_argv(["setpriv", "--pdeathsig", "KILL", "--"] + argv), preexec_fn=fds,
            close_fds=False, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log)
        os.close(to_chromium)
        os.close(from_chromium)
        self._buf, self._n, self._session = b"", 0, None
        try:
            target = self.call("Target.createTarget", {"url": url})["targetId"]
            self._session = self.call("Target.attachToTarget",
                                      {"targetId": target, "flatten": True})["sessionId"]
        except BaseException:
            self.close()
            raise

    def call(self, method, params=None, timeout=20):
        """Sends one command; returns its result (events are skipped)."""
        self._n += 1
        msg = {"id": self._n, "method": method, "params": params or {}}
        if self._session:
            msg["sessionId"] = self._session
        try:
            os.write(self._w, json.dumps(msg).encode() + b"\0")
        except OSError as e:
            raise ChromiumError("%s: chromium is gone (%s)" % (method, e))
        deadline = time.time() + timeout
        while True:
            while b"\0" in self._buf:
                raw, self._buf = self._buf.split(b"\0", 1)
                m = json.loads(raw)
                if m.get("id") == self._n:
                    if "error" in m:
                        raise ChromiumError("%s: %s" % (method, m["error"]))
                    return m.get("result", {})
            left = deadline - time.time()
            if left <= 0 or not select.select([self._r], [], [], left)[0]:
                raise ChromiumError("%s: no answer within %d s" % (method, timeout))
            chunk = os.read(self._r, 1 << 16)
            if not chunk:
                raise ChromiumError("%s: chromium closed its pipe" % method)
            self._buf += chunk

    def eval(self, expression):
        """The value of a JavaScript expression in the page (JSON-able)."""
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in r:
            raise ChromiumError("%s: %s" % (expression, r["exceptionDetails"]))
        return r["result"].get("value")

    def wait(self, expression, timeout):
        """Waits until expression is truthy; returns its value, or None."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = self.eval(expression)
            if v:
                return v
            time.sleep(0.2)
        return None

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.call("Page.captureScreenshot",
                                               {"format": "png"})["data"]))
        return path

    def close(self):
        if self.proc.poll() is None:
            try:
                self._session = None
                self.call("Browser.close", timeout=5)
            except ChromiumError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for fd in (self._w, self._r):
            try:
                os.close(fd)
            except OSError:
                pass
        self._log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
