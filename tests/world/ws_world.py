"""WebSocket receivers of a World (tests/tools/ws_receiver.py run inside
the namespace): what a transcription service would get from a websocket
output. Used through World.start_ws_receiver()."""

import glob
import json
import os
import signal
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RECEIVER = os.path.join(HERE, "..", "tools", "ws_receiver.py")


class WsReceiver:
    """One receiver on 127.0.0.1:port. kill(), start() again (each run
    records into its own directory), freeze()/thaw() (SIGSTOP: connections
    stay open, nothing is read or answered)."""

    def __init__(self, world, name, port, reject=0, tls=None):
        self.world, self.name, self.port = world, name, port
        self.reject, self.tls = reject, tls
        self.dir = os.path.join(world.dir, "ws-" + name)
        self.proc = None
        self._runs = 0

    def url(self, path="/listen", tls=False):
        return "%s://127.0.0.1:%d%s" % ("wss" if tls else "ws", self.port, path)

    def start(self, timeout=10):
        self._runs += 1
        run_dir = os.path.join(self.dir, "run_%02d" % self._runs)
        argv = ["/usr/bin/python3", RECEIVER, "--port", self.port, "--dir", run_dir]
        if self.reject:
            argv += ["--reject", self.reject]
        if self.tls:
            argv += ["--tls", "%s,%s" % self.tls]
        self.proc = self.world.run(argv, name="ws-%s-%d" % (self.name, self._runs),
                                   env={"PYTHONUNBUFFERED": "1"})
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = self.world.call(["ss", "-ltnH", "sport = :%d" % self.port], check=False)
            if b"LISTEN" in r.stdout:
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("ws receiver %s did not listen on %d:\n%s"
                           % (self.name, self.port, self.world.tail(self.proc.egw_name)))

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def freeze(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def connections(self):
        """Every connection recorded so far, oldest first, across restarts:
        [{"pcm": path, "texts": [{"t", "event", ...}], "headers": {...}}]."""
        out = []
        for run in sorted(glob.glob(os.path.join(self.dir, "run_*"))):
            n = 1
            while os.path.exists(os.path.join(run, "conn_%d.pcm" % n)):
                base = os.path.join(run, "conn_%d" % n)
                texts = []
                if os.path.exists(base + ".jsonl"):
                    with open(base + ".jsonl") as f:
                        for line in f:
                            try:
                                item = json.loads(line)
                                msg = json.loads(item["text"])
                            except ValueError:
                                continue  # a line being written
                            msg["t"] = item["t"]
                            texts.append(msg)
                headers = {}
                if os.path.exists(base + ".headers.json"):
                    with open(base + ".headers.json") as f:
                        headers = json.load(f)
                out.append({"pcm": base + ".pcm", "texts": texts, "headers": headers})
                n += 1
        return out
