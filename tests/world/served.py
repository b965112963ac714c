"""What the test world's servers run by a World share (S3Server, Azurite,
HookReceiver): waiting for a process to say it listens, and stopping,
killing, freezing and thawing it. A subclass sets self.world and self.proc
(None until started)."""

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
