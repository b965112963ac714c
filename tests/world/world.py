"""The integration-test world: a network namespace with Janus, a local Kafka
broker, synthetic publishers and Kafka clients, all torn down on close.

Usage (from an integration test)::

    sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "world"))
    from world import World

    with World("record") as w:
        url = w.start_janus()
        boot = w.start_broker()
        status = w.status_reader(boot)
        alice = w.start_publisher("alice", color="ff0000", freq=440)
        alice.wait_for("webrtcup", 5)
        w.produce(boot, "egress.jobs", "EG_1", {...})
        ev = status.wait_for("EG_1", "active", 15)
        assert w.listparticipants(1234) == [...]

Everything started through a World runs inside the namespace `egw-<name>-<pid>`
(lo up; veth pair egw0 198.18.0.1/24 <-> egw1 198.18.0.2/24 created inside it;
IPv6 disabled), via `ip netns exec`. Python in this process is NOT inside the
namespace: talk to anything in there through World.call()/run() (curl, kcat).

The impaired world, World(name, impair={...}), has two namespaces joined by
one link whose Janus -> worker direction loses, delays and reorders UDP:

    media namespace egw-<name>-<pid>-media (w.media_ns): Janus, publishers
        lo, TAP egw0 198.18.0.1/24
            | relay.py (a host process copying frames between the TAPs;
            |           IPv4 UDP egw0 -> egw1 impaired, all else untouched)
        lo, TAP egw1 198.18.0.2/24
    worker namespace egw-<name>-<pid> (w.ns, the default of run()/call()):
        broker, kcat, `egress worker`, `egress run`, RTMP/S3/... servers

Janus's HTTP API listens on 198.18.0.1 there, so w.janus_url works from both.
w.impair(loss=0.1) changes the link at run time, w.relay_stats() counts.

Needs root (ip netns). Facts behind the choices: docs/testing.md ("The test world").

Environment:
  EGW_SOURCE_DIR   source tree (default: two levels above this file)
  EGW_BUILD_DIR    build tree (default: <source>/build)
  EGW_KEEP_WORLD=1 keep the per-run directory (logs, rendered configs)
  EGW_JANUS_LIBDIR directory holding Janus's plugins/ and transports/
  EGW_NO_REAP=1    do not delete namespaces left behind by dead test processes
"""

import atexit
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.abspath(os.environ.get("EGW_SOURCE_DIR") or os.path.join(HERE, "..", ".."))
BUILD_DIR = os.path.abspath(os.environ.get("EGW_BUILD_DIR") or os.path.join(SOURCE_DIR, "build"))
JANUS_TEMPLATES = os.path.join(HERE, "janus")

EGRESS_BIN = os.path.join(BUILD_DIR, "egress")
PUBLISH_BIN = os.path.join(BUILD_DIR, "tests", "egw-publish")

NS_ADDR_A = "198.18.0.1"  # egw0: Janus announces this address
NS_ADDR_B = "198.18.0.2"  # egw1: clients' ICE candidates
NS_PREFIX = "egw-"
MEDIA_SUFFIX = "-media"   # the impaired world's second namespace: egw-<name>-<pid>-media
RELAY = os.path.join(HERE, "relay.py")
# What World.impair() may change (relay.py checks the values).
IMPAIR_KEYS = ("loss", "delay_ms", "jitter_ms", "seed")

TERMINAL_STATUSES = ("complete", "failed", "aborted")


class WorldError(Exception):
    """Something in the test world did not come up or answer; the message
    carries the relevant log tail."""


# ---------------------------------------------------------------- helpers

def _sh(argv, check=True, timeout=30, input=None):
    """Runs a command in THIS namespace (host side), capturing output."""
    r = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    if check and r.returncode != 0:
        raise WorldError("%s: exit %d: %s" % (" ".join(argv), r.returncode,
                                               r.stderr.decode(errors="replace").strip()))
    return r


def _tail_file(path, n=40):
    try:
        with open(path, "rb") as f:
            try:
                f.seek(-64 * 1024, os.SEEK_END)
            except OSError:
                pass
            data = f.read().decode(errors="replace")
    except OSError:
        return ""
    lines = data.splitlines()
    return "\n".join(lines[-n:])


def _pid_alive(pid):
    """Is pid running? An exited process nobody has reaped yet (a zombie:
    an orphan waits for whoever adopts it) is not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _ns_pids(ns):
    r = _sh(["ip", "netns", "pids", ns], check=False)
    if r.returncode != 0:
        return []
    return [int(x) for x in r.stdout.split() if x.strip().isdigit()]


def _ns_exists(ns):
    return os.path.exists(os.path.join("/run/netns", ns)) or ns in _ns_list()


def _ns_list():
    r = _sh(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in r.stdout.decode().splitlines() if line.strip()]


def _kill_ns_pids(ns, grace=1.0):
    """SIGTERM then SIGKILL everything still inside namespace ns."""
    pids = _ns_pids(ns)
    if not pids:
        return []
    for p in pids:
        try:
            os.kill(p, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.time() + grace
    while time.time() < deadline and _ns_pids(ns):
        time.sleep(0.05)
    left = _ns_pids(ns)
    for p in left:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    deadline = time.time() + 3
    while time.time() < deadline and _ns_pids(ns):
        time.sleep(0.05)
    return pids


def _destroy_ns(ns):
    _kill_ns_pids(ns)
    _sh(["ip", "netns", "del", ns], check=False)


def _relay_pids(ns):
    """Relays (relay.py) joining namespace ns to another, by their command
    line."""
    pids = []
    for d in glob.glob("/proc/[0-9]*/cmdline"):
        try:
            with open(d, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if any(a.endswith(b"relay.py") for a in argv[:2]) and \
                any(a.startswith((ns + ":").encode()) for a in argv):
            pids.append(int(d.split("/")[2]))
    return pids


def reap_stale_namespaces():
    """Deletes egw-<name>-<pid> (and egw-<name>-<pid>-media) namespaces whose
    owning test process is gone (a test killed with SIGKILL cannot clean up
    after itself), and a relay still joining them (it exits by itself when
    its parent dies, within 0.2 s)."""
    for ns in _ns_list():
        m = re.match(r"^egw-.+-(\d+)(?:%s)?$" % re.escape(MEDIA_SUFFIX), ns)
        if not m:
            continue
        pid = int(m.group(1))
        if pid == os.getpid() or _pid_alive(pid):
            continue
        for rp in _relay_pids(ns):
            try:
                os.kill(rp, signal.SIGKILL)
            except OSError:
                pass
        _destroy_ns(ns)


def _find_janus_libdir():
    cands = []
    if os.environ.get("EGW_JANUS_LIBDIR"):
        cands.append(os.environ["EGW_JANUS_LIBDIR"])
    cands += sorted(glob.glob("/usr/lib/*/janus")) + ["/usr/lib/janus", "/usr/local/lib/janus",
                                                     "/opt/janus/lib/janus"]
    for d in cands:
        if os.path.exists(os.path.join(d, "plugins", "libjanus_videoroom.so")):
            return d
    raise WorldError("cannot find Janus plugins (libjanus_videoroom.so) in %s; set EGW_JANUS_LIBDIR"
                     % ", ".join(cands))


# Every live World, for the atexit/signal cleanup.
_LIVE = set()
_LIVE_LOCK = threading.Lock()
_HANDLERS_INSTALLED = False
_IN_SIGNAL_CLEANUP = False


def _cleanup_all():
    with _LIVE_LOCK:
        worlds = list(_LIVE)
    for w in worlds:
        try:
            w.close()
        except Exception as e:  # keep going: other worlds must go too
            sys.stderr.write("world: cleanup of %s failed: %s\n" % (w.ns, e))


def _on_signal(signum, frame):
    global _IN_SIGNAL_CLEANUP
    if _IN_SIGNAL_CLEANUP:
        return
    _IN_SIGNAL_CLEANUP = True
    sys.stderr.write("world: signal %d, tearing down\n" % signum)
    _cleanup_all()
    # Unwind the test normally (finally blocks, atexit); worlds are closed.
    raise SystemExit(128 + signum)


def _install_handlers():
    global _HANDLERS_INSTALLED
    if _HANDLERS_INSTALLED:
        return
    _HANDLERS_INSTALLED = True
    atexit.register(_cleanup_all)
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            if signal.getsignal(sig) in (signal.SIG_DFL, None):
                signal.signal(sig, _on_signal)
        except (ValueError, OSError):
            pass
    # SIGINT: Python's KeyboardInterrupt unwinds the with-block; atexit covers the rest.


class _LineReader:
    """Drains a process's stdout pipe in a thread: appends every line to a log
    file and keeps it for wait_for(). Lines are consumed when matched."""

    def __init__(self, pipe, logpath):
        self.lines = []          # every line ever read, in order
        self._pending = []       # indices of lines not yet matched by wait_for
        self._cond = threading.Condition()
        self.eof = False
        self._log = open(logpath, "a", buffering=1, errors="replace")
        self._t = threading.Thread(target=self._run, args=(pipe,), daemon=True)
        self._t.start()

    def _run(self, pipe):
        try:
            for raw in iter(pipe.readline, b""):
                line = raw.decode(errors="replace").rstrip("\r\n")
                self._log.write(line + "\n")
                with self._cond:
                    self._pending.append(len(self.lines))
                    self.lines.append(line)
                    self._cond.notify_all()
        except (OSError, ValueError):
            pass
        finally:
            with self._cond:
                self.eof = True
                self._cond.notify_all()
            try:
                self._log.close()
            except OSError:
                pass

    def drain(self):
        """Forgets every line not yet matched."""
        with self._cond:
            self._pending = []

    def wait_for(self, match, timeout, stop_on=None):
        """Returns the first pending line for which match(line) is true (and
        marks it consumed). Returns None on timeout or EOF. If stop_on(line)
        is true for a pending line before a match, returns ("stop", line)."""
        deadline = time.time() + timeout
        with self._cond:
            while True:
                for k, idx in enumerate(self._pending):
                    line = self.lines[idx]
                    if match(line):
                        del self._pending[k]
                        return line
                    if stop_on and stop_on(line):
                        del self._pending[k]
                        return ("stop", line)
                left = deadline - time.time()
                if self.eof or left <= 0:
                    return None
                self._cond.wait(min(left, 0.5))


# ---------------------------------------------------------------- Publisher

class Publisher:
    """A synthetic participant: <build>/tests/egw-publish in the namespace.

    stdin commands: leave, join, mute audio|video|screen, unmute audio|video|screen,
                    screen on|off, volume X, quit.
    stdout lines:   joined <id>, webrtcup, media audio|video, left, muted <kind>,
                    unmuted <kind>, screen on|off, volume <X>, error <msg>.
    Options (extra=[...]): --beep-hz HZ, --screen-color RRGGBB, --screen-size WxH,
    --screen-fps N (see `egw-publish` usage).
    """

    def __init__(self, world, display, proc, reader, name):
        self.world = world
        self.display = display
        self.proc = proc
        self.name = name
        self._reader = reader
        self.id = None  # publisher id from the last "joined <id>"

    @property
    def lines(self):
        return list(self._reader.lines)

    def send(self, cmd):
        if self.proc.poll() is not None:
            raise WorldError("publisher %s exited (%s) before %r\n%s"
                             % (self.display, self.proc.returncode, cmd, self.tail()))
        try:
            self.proc.stdin.write((cmd.strip() + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise WorldError("publisher %s: cannot send %r: %s\n%s"
                             % (self.display, cmd, e, self.tail()))

    def switch(self, device, on, timeout=10):
        """device ("camera", "mic" or "screen") on or off; returns once the
        tool reported it."""
        state = "%s %s" % (device, "on" if on else "off")
        self.send(state)
        return self.wait_for(state, timeout)

    def wait_for(self, prefix, timeout=10, fail_on_error=True):
        """Waits for the next not-yet-consumed stdout line starting with
        prefix and returns it. Raises WorldError (with the log tail) on
        timeout, on process exit, or, unless fail_on_error is False or the
        prefix itself is "error", on an `error ...` line."""
        def match(line):
            return line.startswith(prefix)

        stop = None
        if fail_on_error and not prefix.startswith("error"):
            def stop(line):
                return line.startswith("error")
        t0 = time.time()
        r = self._reader.wait_for(match, timeout, stop)
        if isinstance(r, tuple):
            raise WorldError("publisher %s reported %r while waiting for %r\n%s"
                             % (self.display, r[1], prefix, self.tail()))
        if r is None:
            if self._reader.eof or self.proc.poll() is not None:
                try:
                    self.proc.wait(1)
                except subprocess.TimeoutExpired:
                    pass
                why = "exited with %s" % self.proc.returncode
            else:
                why = "timed out after %.1f s" % (time.time() - t0)
            raise WorldError("publisher %s %s waiting for %r\n%s"
                             % (self.display, why, prefix, self.tail()))
        if r.startswith("joined"):
            parts = r.split()
            if len(parts) > 1:
                try:
                    self.id = int(parts[1])
                except ValueError:
                    self.id = parts[1]
        return r

    def drain(self):
        """Forgets stdout lines not yet consumed by wait_for."""
        self._reader.drain()

    def tail(self, n=40):
        return self.world.tail(self.name, n)

    def close(self, timeout=5):
        """Sends quit, then terminates if it does not exit."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b"quit\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                try:
                    self.proc.wait(3)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(3)
        try:
            self.proc.stdin.close()
        except (OSError, ValueError):
            pass
        return self.proc.returncode


# ---------------------------------------------------------------- StatusReader

class StatusReader:
    """Consumes a status topic from the beginning with kcat in the namespace
    (a background thread), parsing each value as JSON."""

    def __init__(self, world, bootstrap, topic):
        self.world = world
        self.bootstrap = bootstrap
        self.topic = topic
        self._cond = threading.Condition()
        self._events = []        # parsed events (dicts), arrival order
        self._raw = []           # kcat envelopes
        self._seen = set()       # (partition, offset): dedup across kcat restarts
        self._closed = False
        self._proc = None
        self._n = 0
        self.name = "kcat-status-%s" % re.sub(r"[^A-Za-z0-9_.-]", "_", topic)
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _start_kcat(self):
        self._n += 1
        return self.world.run(
            ["kcat", "-C", "-b", self.bootstrap, "-t", self.topic, "-o", "beginning", "-u", "-J",
             "-q", "-X", "topic.metadata.refresh.interval.ms=500", "-X", "fetch.wait.max.ms=50"],
            name="%s.%d" % (self.name, self._n), stdout=subprocess.PIPE)

    def _run(self):
        while True:
            with self._cond:
                if self._closed:
                    return
            try:
                p = self._start_kcat()
            except Exception as e:
                if not (self._closed or self.world.closed):
                    sys.stderr.write("world: status reader: %s\n" % e)
                return
            with self._cond:
                self._proc = p
            for raw in iter(p.stdout.readline, b""):
                self._handle(raw)
            p.wait()
            with self._cond:
                if self._closed:
                    return
            # kcat gives up on a topic that does not exist yet or when all
            # brokers are down: restart it; offsets dedup the replay.
            time.sleep(0.3)

    def _handle(self, raw):
        try:
            env = json.loads(raw.decode(errors="replace"))
        except ValueError:
            return
        key = (env.get("partition"), env.get("offset"))
        payload = env.get("payload")
        try:
            ev = json.loads(payload) if payload is not None else None
        except ValueError:
            ev = {"_unparsed": payload}
        if not isinstance(ev, dict):
            ev = {"_value": ev}
        ev.setdefault("_key", env.get("key"))
        with self._cond:
            if key in self._seen:
                return
            self._seen.add(key)
            self._raw.append(env)
            self._events.append(ev)
            self._cond.notify_all()

    @staticmethod
    def _eid(ev):
        return ev.get("egress_id", ev.get("_key"))

    def events(self, egress_id=None):
        """All parsed events (for egress_id, or all), in arrival order."""
        with self._cond:
            return [e for e in self._events if egress_id is None or self._eid(e) == egress_id]

    def statuses(self, egress_id):
        return [e.get("status") for e in self.events(egress_id)]

    def wait_for(self, egress_id, status, timeout=30, fail_on=None):
        """Returns the first event of egress_id with this status. Raises
        WorldError on timeout, or as soon as a status in fail_on arrives for
        egress_id first (default: the terminal statuses other than `status`)."""
        if fail_on is None:
            fail_on = [s for s in TERMINAL_STATUSES if s != status]
        deadline = time.time() + timeout
        with self._cond:
            while True:
                for e in self._events:
                    if self._eid(e) != egress_id:
                        continue
                    if e.get("status") == status:
                        return e
                    if e.get("status") in fail_on:
                        raise WorldError("egress %s ended %r while waiting for %r: %s"
                                         % (egress_id, e.get("status"), status, json.dumps(e)))
                left = deadline - time.time()
                if left <= 0:
                    got = [e.get("status") for e in self._events if self._eid(e) == egress_id]
                    raise WorldError("no %r status for %s within %.1f s (got %s)\n%s"
                                     % (status, egress_id, timeout, got, self.world.logs(20)))
                self._cond.wait(min(left, 0.5))

    def close(self):
        with self._cond:
            self._closed = True
            p = self._proc
        if p and p.poll() is None:
            p.terminate()
            try:
                p.wait(3)
            except subprocess.TimeoutExpired:
                p.kill()


# ---------------------------------------------------------------- World

class World:
    """A network namespace and everything the tests start inside it; with
    impair, two namespaces joined by an impairing relay (module docstring)."""

    def __init__(self, name, impair=None):
        """impair: None for the usual world (one namespace, a veth pair);
        a dict of relay settings for the impaired world, e.g. {"loss": 0.05,
        "delay_ms": 30, "jitter_ms": 10, "seed": 1} ({} for a clean link
        through the relay). Keys: IMPAIR_KEYS."""
        _install_handlers()
        if os.environ.get("EGW_NO_REAP") != "1":
            try:
                reap_stale_namespaces()
            except Exception:
                pass
        safe = re.sub(r"[^A-Za-z0-9_-]", "_", name)[:32] or "w"
        if impair is not None:
            impair = dict(impair)
            bad = sorted(set(impair) - set(IMPAIR_KEYS))
            if bad:
                raise WorldError("impair: unknown settings %s (known: %s)"
                                 % (bad, ", ".join(IMPAIR_KEYS)))
        with _LIVE_LOCK:
            used = {n for w in _LIVE for n in w.namespaces}
        base, k = safe, 1
        while "%s%s-%d" % (NS_PREFIX, safe, os.getpid()) in used:
            k += 1
            safe = "%s%d" % (base, k)
        self.name = safe
        # The worker's namespace: the default of run()/call()/ns_argv().
        self.ns = "%s%s-%d" % (NS_PREFIX, safe, os.getpid())
        # Where Janus and the publishers run: the same one unless impaired.
        self.impaired = impair is not None
        self.media_ns = self.ns + MEDIA_SUFFIX if self.impaired else self.ns
        self.relay_proc = None
        self._relay_sock = None
        self.dir = tempfile.mkdtemp(prefix="egw-%s-" % safe)
        self.logdir = os.path.join(self.dir, "logs")
        os.makedirs(self.logdir)
        self._procs = []          # [(name, Popen)]
        self._logs = {}           # name -> [log paths]
        self._readers = []
        self._closed = False
        self._lock = threading.RLock()
        self.janus_url = None
        self.janus_port = None
        self.sanitizer_found = []
        with _LIVE_LOCK:
            _LIVE.add(self)
        try:
            if self.impaired:
                self._make_impaired(impair)
            else:
                self._make_ns()
        except BaseException:
            self.close()
            raise

    @property
    def namespaces(self):
        """Every namespace of this world (the media one first)."""
        return [self.media_ns, self.ns] if self.impaired else [self.ns]

    # -- namespace
    def _new_ns(self, ns):
        """An empty namespace ns, lo up, IPv6 off (first, so no interface
        ever gets an fe80:: address)."""
        if _ns_exists(ns):
            _destroy_ns(ns)
        _sh(["ip", "netns", "add", ns])
        for key in ("all", "default", "lo"):
            _sh(["ip", "netns", "exec", ns, "sysctl", "-q", "-w",
                 "net.ipv6.conf.%s.disable_ipv6=1" % key], check=False)
        _sh(["ip", "-n", ns, "link", "set", "lo", "up"])

    def _make_ns(self):
        self._new_ns(self.ns)
        ns = self.ns
        _sh(["ip", "-n", ns, "link", "add", "egw0", "type", "veth", "peer", "name", "egw1"])
        _sh(["ip", "-n", ns, "addr", "add", NS_ADDR_A + "/24", "dev", "egw0"])
        _sh(["ip", "-n", ns, "addr", "add", NS_ADDR_B + "/24", "dev", "egw1"])
        _sh(["ip", "-n", ns, "link", "set", "egw0", "up"])
        _sh(["ip", "-n", ns, "link", "set", "egw1", "up"])

    def _make_impaired(self, settings, timeout=5):
        """Two namespaces, each with a TAP on the same /24, and the relay
        joining them (see relay.py). Not veths: frames between TAPs pass
        through a process of ours, which can drop and delay them (this
        kernel has no netem). One L2 link, not a routed hop: libnice pins
        every ICE socket to its interface (IP_UNICAST_IF), so the worker
        must sit on the link of Janus's ICE interface, egw0."""
        for ns, dev, addr in ((self.media_ns, "egw0", NS_ADDR_A), (self.ns, "egw1", NS_ADDR_B)):
            self._new_ns(ns)
            _sh(["ip", "-n", ns, "tuntap", "add", "dev", dev, "mode", "tap"])
            _sh(["ip", "-n", ns, "addr", "add", addr + "/24", "dev", dev])
            _sh(["ip", "-n", ns, "link", "set", dev, "up"])
        # The relay runs on the host side (it enters each namespace only to
        # open its TAP) and exits when this process dies; its control
        # socket appears once both TAPs are open.
        self._relay_sock = os.path.join(self.dir, "relay.sock")
        name = self._log_name("relay")
        out_path = os.path.join(self.logdir, name + ".out")
        err_path = os.path.join(self.logdir, name + ".err")
        with open(out_path, "ab") as out, open(err_path, "ab") as err:
            p = subprocess.Popen(
                ["/usr/bin/python3", RELAY, "--a", "%s:egw0" % self.media_ns,
                 "--b", "%s:egw1" % self.ns, "--control", self._relay_sock,
                 "--settings", json.dumps(settings), "--parent", str(os.getpid())],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        p.egw_name = name
        self._procs.append((name, p))
        self._logs[name] = [out_path, err_path]
        self.relay_proc = p
        deadline = time.time() + timeout
        while not os.path.exists(self._relay_sock):
            if p.poll() is not None or time.time() > deadline:
                raise WorldError("relay did not come up (%s)\n%s"
                                 % ("exit %s" % p.returncode if p.poll() is not None
                                    else "timeout", self.tail(name)))
            time.sleep(0.02)

    def _relay(self, req, timeout=5):
        """One request to the relay's control socket; returns its answer."""
        if not self.impaired:
            raise WorldError("world %s is not impaired (World(name, impair={...}))" % self.ns)
        if self.relay_proc is None or self.relay_proc.poll() is not None:
            raise WorldError("relay of %s is not running\n%s" % (self.ns, self.tail("relay")))
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(self._relay_sock)
            s.sendall((json.dumps(req) + "\n").encode())
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except OSError as e:
            raise WorldError("relay %s: %s\n%s" % (req.get("cmd"), e, self.tail("relay")))
        finally:
            s.close()
        try:
            answer = json.loads(data)
        except ValueError:
            raise WorldError("relay %s: answer %r" % (req.get("cmd"), data[:200]))
        if not answer.get("ok"):
            raise WorldError("relay %s: %s" % (req.get("cmd"), answer.get("error")))
        return answer

    def impair(self, **settings):
        """Changes the impaired link at run time, e.g. w.impair(loss=0.1) or
        w.impair(delay_ms=30, jitter_ms=10); settings not given stay as they
        are (seed reseeds the random generator). Takes effect with the next
        packet (packets already held keep their release time). Returns every
        setting now in force."""
        bad = sorted(set(settings) - set(IMPAIR_KEYS))
        if bad:
            raise WorldError("impair: unknown settings %s (known: %s)"
                             % (bad, ", ".join(IMPAIR_KEYS)))
        return self._relay({"cmd": "set", "settings": settings})["settings"]

    def relay_stats(self):
        """The relay's counters: a_to_b_in, a_to_b_out (frames read from
        egw0, written to egw1), b_to_a, udp (IPv4 UDP frames Janus's side ->
        worker's side), udp_dropped, udp_delayed, udp_passed, queued (held
        now), write_errors, oversize (should stay 0), rtp_pt ({"96": n, ...}:
        RTP packets toward the worker by payload type, before the loss);
        plus "settings", the settings in force."""
        a = self._relay({"cmd": "stats"})
        return dict(a["stats"], settings=a["settings"])

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        if et is not None and not issubclass(et, (SystemExit, KeyboardInterrupt)):
            sys.stderr.write("world %s: failing with %s; process logs:\n%s\n"
                             % (self.ns, et.__name__, self.logs(25)))
        self.close()
        return False

    # -- processes
    def _log_name(self, name):
        base = re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "proc"
        n, k = base, 1
        while n in self._logs:
            k += 1
            n = "%s.%d" % (base, k)
        return n

    def ns_argv(self, argv, ns=None):
        """argv wrapped to run inside namespace ns (default: self.ns, the
        worker's)."""
        return ["ip", "netns", "exec", ns or self.ns] + [str(a) for a in argv]

    def run(self, argv, name=None, stdin=subprocess.DEVNULL, stdout=None, stderr=None,
            env=None, cwd=None, pdeathsig=True, ns=None):
        """Starts argv inside namespace ns (default self.ns; self.media_ns
        for Janus's) and returns the Popen (its pid is
        the program's own: ip netns exec execs). By default stdout and stderr
        go to <dir>/logs/<name>.out/.err (see logs()/tail()); pass
        subprocess.PIPE or a file to override. The process is killed on
        close(). pdeathsig: when called from the main thread, the child also
        gets SIGKILL if this Python process dies without cleaning up."""
        with self._lock:
            if self._closed:
                raise WorldError("world %s is closed" % self.ns)
            name = self._log_name(name or os.path.basename(str(argv[0])))
            out_path = os.path.join(self.logdir, name + ".out")
            err_path = os.path.join(self.logdir, name + ".err")
            files = []
            if stdout is None:
                stdout = open(out_path, "ab")
                files.append(stdout)
            if stderr is None:
                stderr = open(err_path, "ab")
                files.append(stderr)
            full = [str(a) for a in argv]
            if pdeathsig and threading.current_thread() is threading.main_thread():
                full = ["setpriv", "--pdeathsig", "KILL", "--"] + full
            e = dict(os.environ)
            if env:
                e.update({k: str(v) for k, v in env.items()})
            try:
                p = subprocess.Popen(self.ns_argv(full, ns), stdin=stdin, stdout=stdout,
                                     stderr=stderr, env=e, cwd=cwd)
            finally:
                for f in files:
                    f.close()
            p.egw_name = name
            self._procs.append((name, p))
            self._logs[name] = [out_path, err_path]
            return p

    def call(self, argv, timeout=30, check=True, input=None, ns=None):
        """Runs argv inside namespace ns (default self.ns) to completion;
        returns the CompletedProcess (bytes stdout/stderr)."""
        r = subprocess.run(self.ns_argv(argv, ns), input=input, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
        if check and r.returncode != 0:
            raise WorldError("%s: exit %d: %s" % (" ".join(map(str, argv)), r.returncode,
                                                   r.stderr.decode(errors="replace").strip()))
        return r

    def add_log(self, name, path):
        """Registers an extra log file shown by logs()/tail(name)."""
        self._logs.setdefault(name, []).append(path)

    def log_text(self, name):
        """Everything process `name` logged so far (all its log files)."""
        text = []
        for path in self._logs.get(name, []):
            try:
                with open(path, errors="replace") as f:
                    text.append(f.read())
            except OSError:
                pass
        return "\n".join(text)

    def wait_log(self, name, text, timeout):
        """Waits until process `name` has logged `text`; raises WorldError
        (with its log tail) after timeout seconds."""
        deadline = time.time() + timeout
        while text not in self.log_text(name):
            if time.time() > deadline:
                raise WorldError("%s never logged %r\n%s" % (name, text, self.tail(name)))
            time.sleep(0.1)

    def tail(self, name, n=40):
        """The last n lines of each log of process `name`."""
        parts = []
        for path in self._logs.get(name, []):
            t = _tail_file(path, n)
            if t:
                parts.append("--- %s\n%s" % (os.path.basename(path), t))
        return "\n".join(parts) if parts else "(no output from %s)" % name

    def logs(self, n=40):
        """Tails of every process's logs, for failure messages."""
        out = []
        for name in list(self._logs):
            p = dict(self._procs).get(name)
            state = "" if p is None else (
                " (running)" if p.poll() is None else " (exit %s)" % p.returncode)
            out.append("===== %s%s\n%s" % (name, state, self.tail(name, n)))
        return "\n".join(out)

    SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                       "ERROR: UndefinedBehaviorSanitizer")

    def sanitizer_reports(self, context=40):
        """AddressSanitizer/UBSan reports in any process log (the egress
        binaries are built with sanitizers in CI), each as its first line
        followed by up to `context` lines of the report; [] when clean."""
        found = []
        for name, paths in list(self._logs.items()):
            for path in paths:
                try:
                    with open(path, errors="replace") as f:
                        lines = f.read().splitlines()
                except OSError:
                    continue
                for i, line in enumerate(lines):
                    if any(m in line for m in self.SANITIZER_MARKS):
                        block = [l.rstrip() for l in lines[i + 1:i + 1 + context]
                                 if l.strip().startswith(("#", "Direct", "Indirect", "SUMMARY"))]
                        found.append("%s: %s%s" % (name, line.strip(),
                                                   "".join("\n    " + b for b in block)))
        return found

    def stop(self, proc, timeout=5, sig=signal.SIGTERM):
        """Signals one process and waits for it (SIGKILL after timeout);
        returns its exit status."""
        if proc.poll() is None:
            try:
                proc.send_signal(sig)
            except OSError:
                pass
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        return proc.returncode

    # -- Janus
    def start_janus(self, port=8088, timeout=10, ws_port=None, streaming=False):
        """Renders tests/world/janus into <dir>/janus-<port>, starts Janus in
        the namespace (the media one when impaired) and waits until GET
        /janus/info answers with the videoroom plugin and the HTTP transport.
        Returns the REST URL: http://127.0.0.1:PORT/janus, or when impaired
        http://198.18.0.1:PORT/janus (Janus's transports listen on egw0's
        address there, reached from both namespaces).
        ws_port: also the WebSocket transport, on 127.0.0.1:ws_port (for
        clients speaking Janus's WebSocket API, e.g. the WHEP server;
        198.18.0.1 when impaired).
        streaming: also the Streaming plugin (mountpoints made through the
        API, e.g. fed by a VideoRoom rtp_forward)."""
        jdir = os.path.join(self.dir, "janus-%d" % port)
        os.makedirs(jdir)
        libdir = _find_janus_libdir()
        transports = ["libjanus_http.so"] + (["libjanus_websockets.so"] if ws_port else [])
        plugins = ["libjanus_videoroom.so"] + (["libjanus_streaming.so"] if streaming else [])
        for sub, keep in (("plugins", plugins), ("transports", transports),
                          ("events", []), ("loggers", [])):
            os.makedirs(os.path.join(jdir, sub))
            for so in keep:
                os.symlink(os.path.join(libdir, sub, so), os.path.join(jdir, sub, so))
        # Impaired: the worker is in another namespace, so the API listens
        # on egw0's address instead of the namespace's loopback.
        api_ip = NS_ADDR_A if self.impaired else "127.0.0.1"
        for tpl in sorted(glob.glob(os.path.join(JANUS_TEMPLATES, "*.jcfg"))):
            with open(tpl) as f:
                text = f.read()
            text = text.replace("@DIR@", jdir).replace("@PORT@", str(port))
            if self.impaired and os.path.basename(tpl) == "janus.transport.http.jcfg":
                loop = 'ip = "127.0.0.1"'
                if text.count(loop) != 1:
                    raise WorldError("%s: expected one line %s to render for the impaired world"
                                     % (tpl, loop))
                text = text.replace(loop, 'ip = "%s"' % api_ip)
            if ws_port:
                text = text.replace(",libjanus_websockets.so", "")
            if streaming:
                text = text.replace("libjanus_streaming.so,", "")
            with open(os.path.join(jdir, os.path.basename(tpl)), "w") as f:
                f.write(text)
        if streaming:
            with open(os.path.join(jdir, "janus.plugin.streaming.jcfg"), "w") as f:
                f.write("general: {\n\tevents = false\n}\n")
        if ws_port:
            with open(os.path.join(jdir, "janus.transport.websockets.jcfg"), "w") as f:
                f.write('general: {\n\tjson = "indented"\n\tws = true\n\tws_port = %d\n'
                        '\tws_ip = "%s"\n\twss = false\n}\n'
                        'admin: {\n\tadmin_ws = false\n\tadmin_wss = false\n}\n'
                        % (ws_port, api_ip))
        name = "janus" if self.janus_port is None else "janus-%d" % port
        p = self.run(["janus", "-C", os.path.join(jdir, "janus.jcfg"), "-F", jdir], name=name,
                     ns=self.media_ns)
        self.add_log(p.egw_name, os.path.join(jdir, "janus.log"))
        # Checked from the worker's namespace: when impaired, through the relay.
        url = "http://%s:%d/janus" % (api_ip, port)
        deadline = time.time() + timeout
        last = ""
        while True:
            if p.poll() is not None:
                raise WorldError("Janus exited with %s during startup\n%s"
                                 % (p.returncode, self.tail(p.egw_name, 60)))
            r = self.call(["curl", "-s", "-m", "2", url + "/info"], check=False, timeout=10)
            if r.returncode == 0 and r.stdout:
                try:
                    info = json.loads(r.stdout)
                except ValueError:
                    info = None
                if isinstance(info, dict) and info.get("janus") == "server_info":
                    if "janus.plugin.videoroom" not in info.get("plugins", {}):
                        raise WorldError("Janus is up without the videoroom plugin\n%s"
                                         % self.tail(p.egw_name, 60))
                    break
                last = r.stdout.decode(errors="replace")[:200]
            else:
                last = "curl exit %d %s" % (r.returncode, r.stderr.decode(errors="replace").strip())
            if time.time() > deadline:
                raise WorldError("Janus REST %s did not answer within %.0f s (last: %s)\n%s"
                                 % (url, timeout, last, self.tail(p.egw_name, 60)))
            time.sleep(0.05)
        if self.janus_url is None:
            self.janus_url, self.janus_port = url, port
        self.janus_proc = p
        return url

    def restart_janus(self, timeout=10):
        """Starts the world's first Janus again after it was stopped or
        killed (same port, same URL, a fresh configuration directory and
        log; rooms as configured, no sessions). Returns the REST URL."""
        if self.janus_port is None:
            raise WorldError("start_janus() first")
        old = self.janus_proc
        if old.poll() is None:
            raise WorldError("Janus (pid %d) is still running: stop it first" % old.pid)
        port = self.janus_port
        jdir = os.path.join(self.dir, "janus-%d" % port)
        k = 1
        while os.path.exists("%s.run%d" % (jdir, k)):
            k += 1
        os.rename(jdir, "%s.run%d" % (jdir, k))
        self.janus_port = self.janus_url = None  # start_janus() sets them again
        return self.start_janus(port=port, timeout=timeout)

    def janus_request(self, path="", body=None, url=None, timeout=10):
        """One Janus REST call from inside the (worker's) namespace: POST body (a dict,
        a "transaction" is added) to <url>/<path>, or GET when body is None.
        Returns the parsed JSON answer."""
        base = url or self.janus_url
        if not base:
            raise WorldError("start_janus() first")
        full = base.rstrip("/") + ("/" + str(path).lstrip("/") if path != "" else "")
        argv = ["curl", "-s", "-S", "-m", str(timeout), "-H", "Content-Type: application/json"]
        inp = None
        if body is not None:
            body = dict(body)
            body.setdefault("transaction", "egw-%d" % int(time.time() * 1e6))
            inp = json.dumps(body).encode()
            argv += ["-X", "POST", "--data-binary", "@-"]
        argv.append(full)
        r = self.call(argv, timeout=timeout + 5, check=False, input=inp)
        if r.returncode != 0:
            raise WorldError("Janus %s: curl exit %d: %s\n%s"
                             % (full, r.returncode, r.stderr.decode(errors="replace").strip(),
                                self.logs(20)))
        try:
            return json.loads(r.stdout)
        except ValueError:
            raise WorldError("Janus %s: not JSON: %r" % (full, r.stdout[:300]))

    def videoroom_request(self, body, url=None, timeout=10):
        """A synchronous VideoRoom request (listparticipants, exists, list,
        create, ...) on a throwaway session; returns plugindata.data."""
        s = self.janus_request("", {"janus": "create"}, url, timeout)
        if s.get("janus") != "success":
            raise WorldError("Janus create: %s" % s)
        sid = s["data"]["id"]
        try:
            h = self.janus_request(sid, {"janus": "attach", "plugin": "janus.plugin.videoroom"},
                                   url, timeout)
            if h.get("janus") != "success":
                raise WorldError("Janus attach: %s" % h)
            hid = h["data"]["id"]
            r = self.janus_request("%s/%s" % (sid, hid), {"janus": "message", "body": body},
                                   url, timeout)
            if r.get("janus") != "success":
                raise WorldError("videoroom %s: %s" % (body, r))
            return r["plugindata"]["data"]
        finally:
            try:
                self.janus_request(sid, {"janus": "destroy"}, url, timeout)
            except WorldError:
                pass

    def listparticipants(self, room=1234, url=None):
        """The room's participants as Janus lists them (list of dicts with
        id, display, publisher, ...). The worker's subscriber must never
        appear here."""
        d = self.videoroom_request({"request": "listparticipants", "room": room}, url)
        if d.get("videoroom") != "participants":
            raise WorldError("listparticipants %s: %s" % (room, d))
        return d.get("participants", [])

    # -- Kafka
    def start_broker(self, timeout=10, argv=None):
        """Runs `<build>/egress broker` in the namespace; returns the bootstrap
        "HOST:PORT" from its first stdout line `bootstrap: HOST:PORT`."""
        argv = argv or [EGRESS_BIN, "broker"]
        if not os.path.exists(argv[0]) and os.path.isabs(argv[0]):
            raise WorldError("%s not built (EGW_BUILD_DIR=%s)" % (argv[0], BUILD_DIR))
        p = self.run(argv, name="broker", stdout=subprocess.PIPE)
        reader = _LineReader(p.stdout, os.path.join(self.logdir, p.egw_name + ".out"))
        self._readers.append(reader)
        line = reader.wait_for(lambda l: True, timeout)
        m = re.match(r"^bootstrap: (\S+:\d+)\s*$", line or "")
        if not m:
            raise WorldError("broker: first stdout line %r, expected 'bootstrap: HOST:PORT'%s\n%s"
                             % (line, "" if p.poll() is None else " (exit %s)" % p.returncode,
                                self.tail(p.egw_name)))
        self.broker_proc = p
        return m.group(1)

    def produce(self, bootstrap, topic, key, value, headers=None, timeout=20):
        """Produces one message with kcat from inside the namespace. value: a
        dict/list (sent as JSON), str or bytes; key may be None; headers a
        dict. Returns when the broker has acknowledged it."""
        if isinstance(value, (dict, list)):
            value = json.dumps(value)
        if isinstance(value, str):
            value = value.encode()
        fd, path = tempfile.mkstemp(prefix="msg-", dir=self.dir)
        with os.fdopen(fd, "wb") as f:
            f.write(value)
        argv = ["kcat", "-P", "-b", bootstrap, "-t", topic, "-X", "message.timeout.ms=%d" % (timeout * 1000)]
        if key is not None:
            argv += ["-k", str(key)]
        for k, v in (headers or {}).items():
            argv += ["-H", "%s=%s" % (k, v)]
        argv.append(path)  # a file argument is sent as ONE message
        try:
            r = self.call(argv, timeout=timeout + 10, check=False)
        finally:
            os.unlink(path)
        err = r.stderr.decode(errors="replace").strip()
        if r.returncode != 0 or "ERROR" in err:
            raise WorldError("kcat produce to %s: exit %d: %s" % (topic, r.returncode, err))

    def consume(self, bootstrap, topic, timeout=10):
        """Every message currently in topic, as dicts {key, value, partition,
        offset, headers} (value parsed as JSON when possible)."""
        r = self.call(["kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-u",
                       "-J", "-q"], timeout=timeout, check=False)
        out = []
        for raw in r.stdout.splitlines():
            try:
                env = json.loads(raw)
            except ValueError:
                continue
            v = env.get("payload")
            try:
                v = json.loads(v) if v is not None else None
            except ValueError:
                pass
            out.append({"key": env.get("key"), "value": v, "partition": env.get("partition"),
                        "offset": env.get("offset"), "headers": env.get("headers")})
        return out

    def status_reader(self, bootstrap, topic="egress.status"):
        """A StatusReader consuming topic from the beginning."""
        r = StatusReader(self, bootstrap, topic)
        self._readers.append(r)
        return r

    # -- publishers
    def start_publisher(self, display, color="ff0000", freq=440, video="vp8", audio="opus",
                        room=1234, url=None, extra=None, pin=None):
        """Starts a synthetic participant (in the media namespace when
        impaired: its leg to Janus is not); returns a Publisher (call
        wait_for("webrtcup") before relying on its media)."""
        url = url or self.janus_url
        if not url:
            raise WorldError("start_janus() first")
        if not os.path.exists(PUBLISH_BIN):
            raise WorldError("%s not built (EGW_BUILD_DIR=%s)" % (PUBLISH_BIN, BUILD_DIR))
        argv = [PUBLISH_BIN, "--janus", url, "--room", str(room), "--display", display,
                "--color", color, "--freq", str(freq), "--video", video, "--audio", audio]
        if pin:
            argv += ["--pin", pin]
        argv += list(extra or [])
        p = self.run(argv, name="pub-" + display, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     ns=self.media_ns)
        reader = _LineReader(p.stdout, os.path.join(self.logdir, p.egw_name + ".out"))
        self._readers.append(reader)
        return Publisher(self, display, p, reader, p.egw_name)

    # -- RTMP servers
    def make_cert(self, name, host="127.0.0.1"):
        """A self-signed certificate for host (an IP address), made with
        openssl in the run directory: (cert path, key path)."""
        cert = os.path.join(self.dir, name + ".crt")
        key = os.path.join(self.dir, name + ".key")
        _sh(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=" + host, "-addext", "subjectAltName=IP:" + host,
             "-keyout", key, "-out", cert], timeout=60)
        return cert, key

    def start_nginx(self, name="rtmp", port=1935, ack_window=65536, tls=None):
        """Starts an nginx RTMP server (libnginx-mod-rtmp) on 127.0.0.1:port
        inside the namespace; returns an Nginx. It records every stream it
        receives (record all) into its rec_dir. Application "live" takes
        any stream; "deny" refuses every publish (on_publish answers 403).
        ack_window: the RTMP acknowledgement window it asks for (a small one
        lets a sender notice a frozen server within seconds). tls: (port,
        cert, key): also an RTMPS front on 127.0.0.1:port (nginx's stream
        module ends TLS and passes the bytes on to the RTMP port)."""
        n = Nginx(self, name, port, ack_window, tls)
        n.start()
        return n

    # -- WebSocket receivers
    def start_ws_receiver(self, name="ws", port=8765, reject=0, tls=None):
        """Starts a WebSocket server on 127.0.0.1:port inside the namespace
        that records what it receives (ws_world.WsReceiver). reject: answer
        every handshake with that HTTP status; tls: (cert, key) for wss."""
        from ws_world import WsReceiver
        return WsReceiver(self, name, port, reject, tls).start()

    # -- S3
    def start_s3(self, name="s3", port=9000):
        """Starts an S3 server (s3rver, checks SigV4; credentials S3RVER /
        S3RVER; no bucket until a client makes one) on 127.0.0.1:port inside
        the namespace; returns an s3_world.S3Server, whose methods check
        buckets and objects with an independent client (boto3)."""
        from s3_world import S3Server
        return S3Server(self, name, port).start()

    # -- Azure Blob Storage
    def start_azurite(self, name="azure", port=10000):
        """Starts Azurite's Blob service (checks Shared Key and SAS; its
        development account, no container until a client makes one) on
        127.0.0.1:port inside the namespace; returns an
        azure_world.Azurite, whose methods check containers and blobs with
        Microsoft's SDK."""
        from azure_world import Azurite
        return Azurite(self, name, port).start()

    def start_gcs_auth(self, s3, name="gcs", port=9400, expires_in=3600):
        """Starts Google's side of service-account uploads (gcs_world.GcsAuth):
        a token endpoint verifying JWT assertions and a gate to s3 (an
        S3Server) on 127.0.0.1:port inside the namespace; tokens live
        expires_in s. Its credentials() is a key file for storage.credentials_json."""
        from gcs_world import GcsAuth
        return GcsAuth(self, name, port, s3, expires_in).start()

    # -- webhooks
    def start_webhook_receiver(self, name="hook", port=8900, secret=None, fail_first=0,
                               fail_status=500, hang=False):
        """Starts an HTTP server on 127.0.0.1:port inside the namespace that
        records every POST and checks its Egress-Signature when secret is
        given (hook_world.HookReceiver). fail_first: answer the first N
        requests with fail_status; hang: never answer."""
        from hook_world import HookReceiver
        return HookReceiver(self, name, port, secret, fail_first, fail_status, hang).start()

    # -- teardown
    def close(self, grace=3.0):
        """Kills every process (SIGTERM, SIGKILL after `grace` s), makes sure
        the namespace is empty, deletes it and removes the run directory
        (kept with EGW_KEEP_WORLD=1). Impaired: both namespaces; the relay
        goes last, so goodbyes between them still pass. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            for r in self._readers:
                if isinstance(r, StatusReader):
                    r._closed = True
            procs = [p for _, p in self._procs if p is not self.relay_proc]
            for p in procs:
                if p.poll() is None:
                    try:
                        p.terminate()
                    except OSError:
                        pass
            deadline = time.time() + grace
            for p in procs:
                try:
                    p.wait(max(0.0, deadline - time.time()))
                except subprocess.TimeoutExpired:
                    pass
            for p in procs:
                if p.poll() is None:
                    try:
                        p.kill()
                    except OSError:
                        pass
                    try:
                        p.wait(3)
                    except subprocess.TimeoutExpired:
                        pass
            for p in procs:
                for f in (p.stdin, p.stdout, p.stderr):
                    try:
                        if f:
                            f.close()
                    except OSError:
                        pass
            # Anything else in there (children of our processes).
            for ns in self.namespaces:
                stray = _kill_ns_pids(ns) if _ns_exists(ns) else []
                if stray:
                    sys.stderr.write("world %s: killed stray pids %s\n" % (ns, stray))
            # The relay holds both namespaces (its TAP fds): it goes before
            # they are deleted, or deleting only removes their names.
            if self.relay_proc is not None:
                self.stop(self.relay_proc, timeout=grace)
                for f in (self.relay_proc.stdout, self.relay_proc.stderr):
                    if f:
                        f.close()
            for ns in self.namespaces:
                left = _ns_pids(ns) if _ns_exists(ns) else []
                if left:
                    sys.stderr.write("world %s: pids still inside after SIGKILL: %s\n" % (ns, left))
                if _ns_exists(ns):
                    _sh(["ip", "netns", "del", ns], check=False)
                if _ns_exists(ns):
                    sys.stderr.write("world %s: namespace could not be deleted\n" % ns)
        finally:
            with _LIVE_LOCK:
                _LIVE.discard(self)
            self.sanitizer_found = self.sanitizer_reports()
            for report in self.sanitizer_found[:10]:
                sys.stderr.write("world %s: SANITIZER %s\n" % (self.ns, report))
            if os.environ.get("EGW_KEEP_WORLD") == "1":
                sys.stderr.write("world %s: kept %s\n" % (self.ns, self.dir))
            else:
                shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def closed(self):
        return self._closed


NGINX_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"
NGINX_STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"

NGINX_TLS_FRONT = """
stream {
    server {
        listen 127.0.0.1:%(tls_port)d ssl;
        ssl_certificate %(cert)s;
        ssl_certificate_key %(key)s;
        proxy_pass 127.0.0.1:%(port)d;
    }
}
"""

NGINX_CONF = """daemon off;
master_process off;
worker_processes 1;
pid %(dir)s/nginx.pid;
error_log %(dir)s/error.log info;
load_module %(module)s;
%(stream_module)s
events { worker_connections 128; }
http {
    access_log off;
    client_body_temp_path %(dir)s/tmp;
    server {
        listen 127.0.0.1:%(http_port)d;
        location /deny { return 403; }
    }
}
rtmp {
    server {
        listen 127.0.0.1:%(port)d;
        ack_window %(ack_window)d;
        application live {
            live on;
            record all;
            record_path %(dir)s/rec;
            record_unique on;
        }
        application deny {
            live on;
            on_publish http://127.0.0.1:%(http_port)d/deny;
        }
    }
}
"""


class Nginx:
    """One nginx RTMP server of a World (see World.start_nginx). stop(),
    kill(), freeze()/thaw() and start() again on the same port."""

    def __init__(self, world, name, port, ack_window, tls=None):
        self.world, self.name, self.port = world, name, port
        self.tls_port = tls[0] if tls else None
        self.dir = os.path.join(world.dir, "nginx-" + name)
        self.rec_dir = os.path.join(self.dir, "rec")
        os.makedirs(os.path.join(self.dir, "tmp"), exist_ok=True)
        os.makedirs(self.rec_dir, exist_ok=True)
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            stream_module, stream = "", ""
            if tls:
                if not os.path.exists(NGINX_STREAM_MODULE):
                    raise WorldError("%s missing (apt install libnginx-mod-stream)"
                                     % NGINX_STREAM_MODULE)
                stream_module = "load_module %s;" % NGINX_STREAM_MODULE
                stream = NGINX_TLS_FRONT % {"tls_port": tls[0], "cert": tls[1], "key": tls[2],
                                            "port": port}
            f.write(NGINX_CONF % {"dir": self.dir, "module": NGINX_MODULE, "port": port,
                                  "http_port": port + 10000, "ack_window": ack_window,
                                  "stream_module": stream_module} + stream)
        world.add_log("nginx-" + name, os.path.join(self.dir, "error.log"))
        self.proc = None

    def url(self, stream, app="live", tls=False):
        if tls:
            return "rtmps://127.0.0.1:%d/%s/%s" % (self.tls_port, app, stream)
        return "rtmp://127.0.0.1:%d/%s/%s" % (self.port, app, stream)

    def start(self, timeout=5):
        if not os.path.exists(NGINX_MODULE):
            raise WorldError("%s missing (apt install libnginx-mod-rtmp)" % NGINX_MODULE)
        self.proc = self.world.run(["nginx", "-p", self.dir + "/", "-c", self.conf,
                                    "-e", os.path.join(self.dir, "error.log")],
                                   name="nginx-" + self.name)
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = self.world.call(["ss", "-ltnH", "sport = :%d" % self.port], check=False)
            if b"LISTEN" in r.stdout:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise WorldError("nginx %s did not listen on %d:\n%s"
                         % (self.name, self.port, self.world.tail("nginx-" + self.name)))

    def kill(self):
        """SIGKILL: connections drop at once."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()

    def freeze(self):
        """SIGSTOP: connections stay open and the kernel keeps accepting
        bytes until its buffers are full; nothing is read."""
        os.kill(self.proc.pid, signal.SIGSTOP)

    def thaw(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def recordings(self, stream=None):
        """The FLV files it recorded (of one stream name), oldest first."""
        files = glob.glob(os.path.join(self.rec_dir, "%s*.flv" % (stream or "")))
        return sorted(files, key=os.path.getmtime)
