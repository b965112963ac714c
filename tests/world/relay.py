#!/usr/bin/python3
"""The impaired test world's link: copies Ethernet frames between two TAP
devices in two network namespaces, impairing the IPv4 UDP ones going from
the first to the second (loss, delay, jitter; reordering follows from the
jitter).

    relay.py --a NS_A:egw0 --b NS_B:egw1 --control SOCK [--settings JSON]

world.World(name, impair={...}) starts it from the host side (it does not
run inside a namespace: it enters each one only to open its TAP, then goes
back) and talks to it through the control socket. The devices must exist
already (`ip -n NS tuntap add dev X mode tap`): a persistent TAP with no
reader has no carrier, so the link comes up when the relay attaches.

What is impaired: frames A -> B that are IPv4 UDP (the media Janus sends to
the worker, STUN, DTLS, RTP/RTCP). Each is dropped with probability `loss`,
or held for delay_ms + uniform(-jitter_ms, +jitter_ms) (at least 0), drawn
independently per packet, so two packets closer together than the jitter
may swap. What is not: every other frame A -> B (ARP, TCP: Janus's HTTP
API, ICMP) and every frame B -> A, passed straight through, in order,
undelayed.

Settings (JSON object): loss (0..1), delay_ms, jitter_ms (>= 0), seed (the
random generator's seed: the same seed and the same packets give the same
drops and delays).

Control: one request per connection on the UNIX stream socket, a JSON line
in, a JSON line out:
    {"cmd": "get"}                       -> {"ok": true, "settings": {...}, "stats": {...}}
    {"cmd": "set", "settings": {...}}    -> the same, after the change
    {"cmd": "stats"}                     -> the same
    bad request                          -> {"ok": false, "error": "..."}
The socket exists once both TAPs are open: its appearance means ready.

Counters (stats): a_to_b_in / a_to_b_out (frames read from A / written to
B), b_to_a (frames copied B -> A), udp (IPv4 UDP frames A -> B seen),
rtp_pt ({payload type: RTP packets A -> B, before the loss}: e.g. RTX),
udp_dropped, udp_delayed (held for a delay > 0), udp_passed (written to B,
delayed or not), queued (held right now), write_errors, oversize (frames
longer than a 1500-byte MTU allows: offloads would hand those over; there
should be none).

It exits on SIGTERM/SIGINT (frames still held are discarded) and when its
parent process dies (getppid() changes; checked at least every 0.2 s),
logging its counters to stderr.
"""

import argparse
import ctypes
import errno
import fcntl
import heapq
import json
import math
import os
import random
import select
import signal
import socket
import struct
import sys
import time

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA       # _IOW('T', 202, int)
TUNSETOFFLOAD = 0x400454D0   # _IOW('T', 208, unsigned int)
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000

ETH_HLEN = 14
MAX_FRAME = 1500 + ETH_HLEN
READ_BURST = 64              # frames read from one TAP before looking at the other
PARENT_CHECK_S = 0.2

DEFAULTS = {"loss": 0.0, "delay_ms": 0.0, "jitter_ms": 0.0, "seed": 1}

_libc = ctypes.CDLL(None, use_errno=True)


def log(msg):
    sys.stderr.write("%s relay: %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def setns_fd(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: %s" % os.strerror(e))


def open_tap(ns, dev):
    """Opens TAP `dev` of namespace `ns` (the calling thread enters it: a
    tun fd belongs to the namespace it was opened in). No IFF_VNET_HDR and
    every offload off: reads return finished frames, checksums computed,
    none longer than the MTU."""
    nsfd = os.open(os.path.join("/run/netns", ns), os.O_RDONLY | os.O_CLOEXEC)
    try:
        setns_fd(nsfd)
    finally:
        os.close(nsfd)
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", dev.encode(), IFF_TAP | IFF_NO_PI))
        fcntl.ioctl(fd, TUNSETOFFLOAD, 0)
    except OSError:
        os.close(fd)
        raise
    return fd


def is_ipv4_udp(frame):
    # Ethernet II, EtherType 0x0800, IPv4 protocol 17. (No VLAN tags here.)
    return len(frame) >= ETH_HLEN + 20 and frame[12] == 0x08 and frame[13] == 0x00 \
        and frame[ETH_HLEN + 9] == 17


def rtp_pt(frame):
    """The payload type of an RTP packet in an IPv4 UDP frame (SRTP keeps
    the header in the clear), or None (RTCP: payload types 64-95 with the
    marker bit, RFC 5761; STUN, DTLS: another version)."""
    off = ETH_HLEN + (frame[ETH_HLEN] & 0x0F) * 4 + 8
    if len(frame) < off + 12 or frame[off] >> 6 != 2:
        return None
    pt = frame[off + 1] & 0x7F
    return None if 64 <= pt <= 95 else pt


def check_settings(new, old):
    """old updated with new (validated); raises ValueError."""
    if not isinstance(new, dict):
        raise ValueError("settings must be an object")
    out = dict(old)
    for k, v in new.items():
        if k not in DEFAULTS:
            raise ValueError("unknown setting %r (known: %s)" % (k, ", ".join(sorted(DEFAULTS))))
        if k == "seed":
            if not isinstance(v, int) or isinstance(v, bool):
                raise ValueError("seed must be an integer")
            out[k] = v
            continue
        if not isinstance(v, (int, float)) or isinstance(v, bool) or math.isnan(v):
            raise ValueError("%s must be a number" % k)
        if k == "loss" and not 0.0 <= v <= 1.0:
            raise ValueError("loss must be within 0..1")
        if k != "loss" and v < 0:
            raise ValueError("%s must be >= 0" % k)
        out[k] = float(v)
    return out


class Relay:
    def __init__(self, fd_a, fd_b, ctl, settings):
        self.a, self.b, self.ctl = fd_a, fd_b, ctl
        self.settings = check_settings(settings, DEFAULTS)
        self.rng = random.Random(self.settings["seed"])
        self.heap = []           # (release time, sequence, frame)
        self.seq = 0
        self.stats = dict.fromkeys(("a_to_b_in", "a_to_b_out", "b_to_a", "udp", "udp_dropped",
                                    "udp_delayed", "udp_passed", "write_errors", "oversize"), 0)
        self.stats["rtp_pt"] = {}  # RTP packets A -> B by payload type (before the loss)
        self.stop = False

    # -- frames
    def _write(self, fd, frame):
        try:
            os.write(fd, frame)
            return True
        except OSError:
            self.stats["write_errors"] += 1
            return False

    def _read_some(self, fd):
        """Up to READ_BURST frames waiting on fd."""
        frames = []
        for _ in range(READ_BURST):
            try:
                f = os.read(fd, 65536)
            except BlockingIOError:
                break
            except OSError as e:
                if e.errno == errno.EINTR:
                    continue
                raise
            if not f:
                break
            if len(f) > MAX_FRAME:
                self.stats["oversize"] += 1
            frames.append(f)
        return frames

    def from_a(self):
        s = self.settings
        for f in self._read_some(self.a):
            # A frame's hold starts no earlier than its read: a burst
            # read while the relay is descheduled spans milliseconds.
            now = time.monotonic()
            self.stats["a_to_b_in"] += 1
            if not is_ipv4_udp(f):
                if self._write(self.b, f):
                    self.stats["a_to_b_out"] += 1
                continue
            self.stats["udp"] += 1
            pt = rtp_pt(f)
            if pt is not None:
                self.stats["rtp_pt"][str(pt)] = self.stats["rtp_pt"].get(str(pt), 0) + 1
            if s["loss"] > 0 and self.rng.random() < s["loss"]:
                self.stats["udp_dropped"] += 1
                continue
            d = s["delay_ms"]
            if s["jitter_ms"] > 0:
                d += self.rng.uniform(-s["jitter_ms"], s["jitter_ms"])
            if d <= 0:
                if self._write(self.b, f):
                    self.stats["a_to_b_out"] += 1
                    self.stats["udp_passed"] += 1
                continue
            self.stats["udp_delayed"] += 1
            self.seq += 1
            heapq.heappush(self.heap, (now + d / 1000.0, self.seq, f))

    def from_b(self):
        for f in self._read_some(self.b):
            if self._write(self.a, f):
                self.stats["b_to_a"] += 1

    def release(self, now):
        while self.heap and self.heap[0][0] <= now:
            _, _, f = heapq.heappop(self.heap)
            if self._write(self.b, f):
                self.stats["a_to_b_out"] += 1
                self.stats["udp_passed"] += 1

    # -- control
    def state(self):
        st = dict(self.stats, queued=len(self.heap))
        return {"ok": True, "settings": dict(self.settings), "stats": st}

    def control(self):
        try:
            conn, _ = self.ctl.accept()
        except (BlockingIOError, InterruptedError):
            return
        with conn:
            conn.settimeout(1.0)
            try:
                data = b""
                while not data.endswith(b"\n") and len(data) < 65536:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                try:
                    req = json.loads(data.decode() or "null")
                    if not isinstance(req, dict):
                        raise ValueError("request must be an object")
                    cmd = req.get("cmd")
                    if cmd == "set":
                        new = check_settings(req.get("settings"), self.settings)
                        if "seed" in req["settings"]:
                            self.rng.seed(new["seed"])
                        self.settings = new
                        log("settings %s" % json.dumps(new, sort_keys=True))
                    elif cmd not in ("get", "stats"):
                        raise ValueError("unknown cmd %r" % cmd)
                    answer = self.state()
                except ValueError as e:
                    answer = {"ok": False, "error": str(e)}
                conn.sendall((json.dumps(answer) + "\n").encode())
            except OSError as e:
                log("control connection: %s" % e)

    # -- loop
    def run(self, wake_fd, parent):
        p = select.poll()
        for fd in (self.a, self.b, self.ctl.fileno(), wake_fd):
            p.register(fd, select.POLLIN)
        next_parent_check = 0.0
        while not self.stop:
            now = time.monotonic()
            if now >= next_parent_check:
                if os.getppid() != parent:
                    log("parent %d gone" % parent)
                    break
                next_parent_check = now + PARENT_CHECK_S
            wait = next_parent_check - now
            if self.heap:
                wait = min(wait, self.heap[0][0] - now)
            # poll() takes whole milliseconds: round up, or it spins.
            ms = max(0, int(math.ceil(wait * 1000.0)))
            try:
                events = p.poll(ms)
            except InterruptedError:
                events = []
            now = time.monotonic()
            for fd, ev in events:
                if ev & (select.POLLERR | select.POLLNVAL):
                    if fd in (self.a, self.b):
                        raise OSError("TAP fd %d: poll events 0x%x" % (fd, ev))
                if fd == self.a:
                    self.from_a()
                elif fd == self.b:
                    self.from_b()
                elif fd == self.ctl.fileno():
                    self.control()
                elif fd == wake_fd:
                    try:
                        os.read(wake_fd, 512)
                    except OSError:
                        pass
            self.release(time.monotonic())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--a", required=True, metavar="NS:DEV", help="the media side (Janus)")
    ap.add_argument("--b", required=True, metavar="NS:DEV", help="the impaired side (worker)")
    ap.add_argument("--control", required=True, metavar="PATH", help="UNIX socket to listen on")
    ap.add_argument("--settings", default="{}", metavar="JSON", help="initial settings")
    ap.add_argument("--parent", type=int, default=os.getppid(),
                    help="exit when this process is no longer our parent (default: the parent)")
    args = ap.parse_args()
    parent = args.parent
    if os.getppid() != parent:
        log("parent %d gone before start" % parent)
        return 1
    settings = json.loads(args.settings)

    stop = {"sig": None}

    def on_signal(signum, frame):
        stop["sig"] = signum
        if relay is not None:
            relay.stop = True

    relay = None
    # Signals wake poll() through this pipe (set_wakeup_fd) instead of
    # waiting for its timeout.
    rd, wr = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wr)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)

    home = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    ns_a, dev_a = args.a.split(":", 1)
    ns_b, dev_b = args.b.split(":", 1)
    try:
        fd_a = open_tap(ns_a, dev_a)
        fd_b = open_tap(ns_b, dev_b)
    finally:
        setns_fd(home)  # back to where we were started: not a process of either namespace
        os.close(home)

    try:
        os.unlink(args.control)
    except FileNotFoundError:
        pass
    ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ctl.bind(args.control + ".tmp")
    ctl.listen(8)
    ctl.setblocking(False)
    relay = Relay(fd_a, fd_b, ctl, settings)
    os.rename(args.control + ".tmp", args.control)  # appears only when ready
    log("ready: %s:%s -> %s:%s impaired, settings %s"
        % (ns_a, dev_a, ns_b, dev_b, json.dumps(relay.settings, sort_keys=True)))
    if stop["sig"] is None:
        relay.run(rd, parent)
    if stop["sig"] is not None:
        log("signal %d" % stop["sig"])
    log("exit: %s" % json.dumps(relay.state()["stats"], sort_keys=True))
    try:
        os.unlink(args.control)
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
