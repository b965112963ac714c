"""The WHEP server of a World: Meetecho's janus-whep-server (npm, installed
by scripts/setup.sh with npm ci into tests/world/whep) in front of the
world's Janus, whose WebSocket transport it speaks (start_janus(ws_port=)).
It serves /whep/endpoint/<id> on 127.0.0.1:port inside the namespace; an
endpoint subscribes to one VideoRoom publisher (Janus offers, so the server
answers a client's POST with 406 and its own offer, the answer coming back
in a PATCH)."""

import os
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
WHEP_DIR = os.path.join(HERE, "whep")


class WhepServer:
    def __init__(self, world, janus_ws_port, port=7090, name="whep"):
        from world import WorldError, _LineReader
        if not os.path.isdir(os.path.join(WHEP_DIR, "node_modules", "janus-whep-server")):
            raise WorldError("janus-whep-server is not installed: run scripts/setup.sh")
        self.world, self.port = world, port
        self.proc = world.run([shutil.which("node"), os.path.join(WHEP_DIR, "serve.js"),
                               "--janus", "ws://127.0.0.1:%d" % janus_ws_port,
                               "--port", str(port)],
                              name=name, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.reader = _LineReader(self.proc.stdout, os.path.join(world.logdir, name + ".out"))
        self._expect("ready", 20)

    def url(self, endpoint_id):
        return "http://127.0.0.1:%d/whep/endpoint/%s" % (self.port, endpoint_id)

    def _expect(self, prefix, timeout):
        from world import WorldError
        line = self.reader.wait_for(lambda l: l.startswith(prefix) or l.startswith("error"),
                                    timeout)
        if not line or not line.startswith(prefix):
            raise WorldError("WHEP server: wanted %r, got %r\n%s"
                             % (prefix, line, self.world.tail(self.proc.egw_name, 30)))
        return line

    def _send(self, line):
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def videoroom(self, endpoint_id, room, feed, token=None):
        """An endpoint serving VideoRoom publisher feed; returns its URL."""
        self._send("videoroom %s %d %d%s" % (endpoint_id, room, feed,
                                              " " + token if token else ""))
        self._expect("endpoint " + endpoint_id, 10)
        return self.url(endpoint_id)

    def ice_servers(self, *uris):
        """Later answers carry these ICE servers in Link headers."""
        self._send("ice " + " ".join(uris))
        self._expect("ice %d" % len(uris), 10)

    def destroy(self, endpoint_id):
        self._send("destroy " + endpoint_id)
        self._expect("destroyed " + endpoint_id, 10)
