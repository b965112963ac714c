"""What the test world's servers run by a World share (S3Server, Azurite,
HookReceiver): waiting for a process to say it listens, and stopping,
killing, freezing and thawing it. A subclass sets self.world and self.proc
(None until started)."""

import hashlib
import os
import signal
import time


class Served:
    def _await_listening(self, what, timeout, word="listening"):
        """Returns self once the process logged word; WorldError (with its
        log tail) when it exits first or timeout s pass."""
        from world import WorldError
        deadline = time.time() + timeout
        while time.time() < deadline:
            if word in self.world.log_text(self.proc.egw_name):
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise WorldError("%s did not listen on %d:\n%s"
                         % (what, self.port, self.world.tail(self.proc.egw_name)))

    def stop(self, timeout=5):
        """SIGTERM (SIGKILL after timeout); what it recorded stays."""
        if self.proc and self.proc.poll() is None:
            self.world.stop(self.proc, timeout)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.world.stop(self.proc, 0, signal.SIGKILL)

    def freeze(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def curl_get(self, url):
        """GETs url with curl inside the namespace: (HTTP status, hex SHA-256
        of the body; None without one). self.dir holds the body meanwhile."""
        body_path = os.path.join(self.dir, "get-%d.body" % int(time.time() * 1e6))
        r = self.world.call(["curl", "-sS", "-m", "20", "-o", body_path, "-w", "%{http_code}", url],
                            timeout=30, check=False)
        try:
            with open(body_path, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            os.unlink(body_path)
        except OSError:
            digest = None
        try:
            status = int(r.stdout.strip() or 0)
        except ValueError:
            status = 0
        return status, digest
