"""Helpers of the Kafka tests (test_kafka_*.py): a broker that takes
'down' / 'up' commands on stdin, workers with chosen settings, kcat with
extra options, raw reads of a topic, and waits on log lines."""

import json
import os
import re
import subprocess
import tempfile
import time

import egwtest
from egwtest import Failure
import world

MKV = [{"kind": "file", "format": "mkv", "path": "{egress_id}.mkv"}]
ALICE = {"kind": "participant", "participant": "alice"}


class Broker:
    """`egress broker` with its stdin kept open for fault commands."""

    def __init__(self, w):
        self.w = w
        self.proc = w.run([egwtest.EGRESS, "broker"], name="broker", stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE)
        self.out = world._LineReader(self.proc.stdout,
                                     os.path.join(w.logdir, self.proc.egw_name + ".out"))
        line = self.out.wait_for(lambda l: True, 10)
        m = re.match(r"^bootstrap: (\S+:\d+)\s*$", line or "")
        if not m:
            raise Failure("broker: first line %r\n%s" % (line, w.tail("broker")))
        self.bootstrap = m.group(1)

    def command(self, cmd, timeout=10):
        self.proc.stdin.write((cmd + "\n").encode())
        self.proc.stdin.flush()
        line = self.out.wait_for(lambda l: l.startswith(("ok ", "error ")), timeout)
        if line != "ok " + cmd:
            raise Failure("broker %s: answered %r" % (cmd, line))


class Env(egwtest.Env):
    """egwtest.Env with a Broker (fault commands) and worker settings
    (environment variables) of the test's choice; no worker when
    worker=False."""

    def __init__(self, name, max_jobs=2, worker=True, **settings):
        self.w = world.World(name)
        try:
            self.out = os.path.join(self.w.dir, "out")
            self.janus = self.w.start_janus()
            self.broker = Broker(self.w)
            self.bootstrap = self.broker.bootstrap
            self.t_produced = {}
            self.status = self.w.status_reader(self.bootstrap)
            self.worker = None
            if worker:
                self.worker = start_worker(self.w, self.bootstrap, self.out, "worker",
                                           max_jobs, **settings)
                wait_log(self.w, "worker", "jobs partitions assigned", 30)
                wait_log(self.w, "worker", "control dead-letter partitions assigned", 30)
        except BaseException:
            print(self.w.logs(60), flush=True)
            self.w.close()
            raise


def start_worker(w, bootstrap, out, name, max_jobs=2, **settings):
    """An `egress worker` named `name` (log name and worker id) with a
    spool of its own (`<name>-spool` in the world: a worker started again
    under the same name finds what the earlier one left); settings are
    extra environment variables."""
    env = {"EGRESS_KAFKA_BROKERS": bootstrap, "EGRESS_STORAGE_DIR": out,
           "EGRESS_SPOOL_DIR": os.path.join(w.dir, name + "-spool"),
           "EGRESS_MAX_JOBS": max_jobs, "EGRESS_WORKER_ID": name,
           "EGRESS_KAFKA_SESSION_TIMEOUT_MS": 6000, "EGRESS_KAFKA_HEARTBEAT_INTERVAL_MS": 500,
           "EGRESS_SPARE_JOBS": 1}  # (as egwtest.Env)
    env.update(settings)
    return w.run([egwtest.EGRESS, "worker"], name=name, env=env)


def log_text(w, name):
    return w.tail(name, 100000)


def wait_log(w, name, pattern, timeout, count=1):
    """Waits until process `name` has logged `count` lines matching the
    regular expression `pattern`; returns them."""
    rx = re.compile(pattern)
    deadline = time.time() + timeout
    while True:
        hits = [l for l in log_text(w, name).splitlines() if rx.search(l)]
        if len(hits) >= count:
            return hits
        if time.time() > deadline:
            raise Failure("%s never logged %r (%d times)\n%s"
                          % (name, pattern, count, w.tail(name, 30)))
        time.sleep(0.1)


def produce(w, bootstrap, topic, key, value, extra=()):
    """One message with kcat (value: dict, str or bytes); extra: kcat
    arguments such as ["-X", "message.max.bytes=3000000"]."""
    if isinstance(value, (dict, list)):
        value = json.dumps(value)
    if isinstance(value, str):
        value = value.encode()
    fd, path = tempfile.mkstemp(prefix="msg-", dir=w.dir)
    with os.fdopen(fd, "wb") as f:
        f.write(value)
    argv = ["kcat", "-P", "-b", bootstrap, "-t", topic, "-X", "message.timeout.ms=20000"]
    argv += list(extra)
    if key is not None:
        argv += ["-k", key]
    argv.append(path)
    try:
        r = w.call(argv, timeout=40, check=False)
    finally:
        os.unlink(path)
    err = r.stderr.decode(errors="replace").strip()
    if r.returncode != 0 or "ERROR" in err:
        raise Failure("kcat produce to %s: exit %d: %s" % (topic, r.returncode, err))


def read_topic(w, bootstrap, topic):
    """(raw kcat output, [envelopes]) of every message now in topic; an
    envelope has key, payload (text), headers (dict), partition, offset."""
    r = w.call(["kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-u",
                "-J", "-q"], timeout=30, check=False)
    raw = r.stdout.decode(errors="replace")
    envs = []
    for line in raw.splitlines():
        try:
            env = json.loads(line)
        except ValueError:
            continue
        h = env.get("headers") or []
        env["headers"] = dict(zip(h[0::2], h[1::2])) if isinstance(h, list) else h
        envs.append(env)
    return raw, envs


def wait_topic(w, bootstrap, topic, match, timeout, count=1):
    """Waits until `count` messages of topic satisfy match(envelope)."""
    deadline = time.time() + timeout
    while True:
        _, envs = read_topic(w, bootstrap, topic)
        hits = [e for e in envs if match(e)]
        if len(hits) >= count:
            return hits
        if time.time() > deadline:
            raise Failure("%d message(s) of %s matching, %d wanted: %s"
                          % (len(hits), topic, count, [e.get("key") for e in envs]))
        time.sleep(0.3)


def job(janus, egress_id, source=ALICE, outputs=MKV, **extra):
    req = {"type": "start", "egress_id": egress_id,
           "room": {"sfu": "janus", "url": janus, "room_id": 1234},
           "source": source, "outputs": outputs}
    req.update(extra)
    return req


def wait_nth(status, egress_id, state, n, timeout=30):
    """The n-th (1-based) event of egress_id with status `state`."""
    deadline = time.time() + timeout
    while True:
        evs = [e for e in status.events(egress_id) if e.get("status") == state]
        if len(evs) >= n:
            print("event: %s %s" % (egress_id, json.dumps(evs[n - 1])), flush=True)
            return evs[n - 1]
        if time.time() > deadline:
            raise Failure("no %d-th %r event for %s within %d s (got %s)"
                          % (n, state, egress_id, timeout, status.statuses(egress_id)))
        time.sleep(0.2)


def children(pid):
    """Pids whose parent is pid (from /proc)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            out.append(int(d))
    return out


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return False


def start_time(pid):
    """When pid started (clock ticks since boot), for telling processes apart."""
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[-1].split()[19])
