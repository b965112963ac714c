"""Shared set-up of the integration tests: a World (tests/world/world.py)
with Janus, a broker (`egress broker`), a worker (`egress worker`) and
helpers to submit jobs and check outputs with the FFmpeg-based checker."""

import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("EGW_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(SRC, "tests", "world"))
sys.path.insert(0, os.path.join(SRC, "tests", "tools"))
import world  # noqa: E402
import check_media as media  # noqa: E402  (media.color_timeline, media.first_time_color, media.analyse)

BUILD = world.BUILD_DIR
# Under the sanitizers (the ASan stage of the suite) the job runs several
# times slower: real-time precision checks (A/V offset, a frame's timing)
# are looser or only reported there; the release stage checks the bounds.
SANITIZED = bool(os.environ.get("ASAN_OPTIONS"))
EGRESS = os.path.join(BUILD, "egress")
CHECK = os.path.join(SRC, "tests", "tools", "check_media.py")


class Failure(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise Failure(what)
    print("ok: " + what, flush=True)


class Env:
    """World + Janus + broker + worker + status reader. impair: a World
    impaired between Janus and the worker (world.World's impair)."""

    def __init__(self, name, max_jobs=2, worker_env=None, impair=None):
        self.w = world.World(name, impair=impair)
        self.out = os.path.join(self.w.dir, "out")
        self.spool = os.path.join(self.w.dir, "spool")
        self.janus = self.w.start_janus()
        self.bootstrap = self.w.start_broker()
        env = {
            "EGRESS_KAFKA_BROKERS": self.bootstrap,
            "EGRESS_STORAGE_DIR": self.out,
            "EGRESS_SPOOL_DIR": self.spool,
            "EGRESS_MAX_JOBS": max_jobs,
            "EGRESS_WORKER_ID": "worker-" + name,
            "EGRESS_KAFKA_SESSION_TIMEOUT_MS": 6000,
            "EGRESS_KAFKA_HEARTBEAT_INTERVAL_MS": 500,
            # One spare job process (not the default 4): every start path
            # still goes through a spare first, without each short-lived
            # test worker warming four processes (seconds of CPU each
            # under ASan) beside the other tests.
            "EGRESS_SPARE_JOBS": 1,
        }
        env.update(worker_env or {})
        self.worker_env = env
        self.first_worker_id = env["EGRESS_WORKER_ID"]
        self.workers = 1
        self.worker = self.w.run([EGRESS, "worker"], name="worker", env=env)
        self.status = self.w.status_reader(self.bootstrap)
        self.t_produced = {}
        # A new consumer group starts at the end of the jobs topic (docs/jobs.md,
        # "Messages and topics"): starts produced before the worker holds its
        # partitions would not be run.
        self.w.wait_log("worker", "jobs partitions assigned", 30)

    def restart_worker(self):
        """Starts another worker with the same settings: after the first
        was killed (same worker id: the same spool, where it finds what the
        first left), or beside it (another EGRESS_WORKER_ID in worker_env: a
        spool of its own, as on another machine); returns its process, once
        it holds the jobs partitions."""
        self.workers += 1
        name = "worker%d" % self.workers
        env = dict(self.worker_env)
        wid = env["EGRESS_WORKER_ID"]
        if wid != self.first_worker_id and env.get("EGRESS_SPOOL_DIR") == self.spool:
            env["EGRESS_SPOOL_DIR"] = self.spool + "-" + wid
        self.worker = self.w.run([EGRESS, "worker"], name=name, env=env)
        self.w.wait_log(name, "jobs partitions assigned", 30)
        return self.worker

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        if et is not None:
            print(self.w.logs(60), flush=True)
        # Let every process finish (and report) before the logs are read.
        self.w.close()
        reports = self.w.sanitizer_found
        if reports and et is None:
            raise Failure("sanitizer reports:\n" + "\n".join(reports[:20]))
        return False

    def job(self, egress_id, source, outputs, **extra):
        req = {"type": "start", "egress_id": egress_id,
               "room": {"sfu": "janus", "url": self.janus, "room_id": 1234},
               "source": source, "outputs": outputs}
        req.update(extra)
        return req

    def submit(self, req, key=None):
        # Taken before kcat starts: latencies measured from it are upper bounds.
        self.t_produced[req.get("egress_id")] = time.time()
        self.w.produce(self.bootstrap, "egress.jobs", key or req.get("egress_id", ""),
                       json.dumps(req))

    def submit_raw(self, key, text):
        self.w.produce(self.bootstrap, "egress.jobs", key, text)

    def submit_all(self, reqs, key=None):
        """Produces every start at once (one kcat: within milliseconds),
        keyed by key or each one's egress_id."""
        for r in reqs:
            self.t_produced[r.get("egress_id")] = time.time()
        lines = "".join("%s\t%s\n" % (key or r["egress_id"], json.dumps(r)) for r in reqs)
        self.w.call(["kcat", "-P", "-b", self.bootstrap, "-t", "egress.jobs", "-K", "\t"],
                    input=lines.encode(), timeout=60)

    def stop(self, egress_id):
        self.w.produce(self.bootstrap, "egress.control", egress_id,
                       json.dumps({"type": "stop", "egress_id": egress_id}))

    def wait(self, egress_id, status, timeout=30):
        ev = self.status.wait_for(egress_id, status, timeout=timeout)
        print("event: %s %s" % (egress_id, json.dumps(ev)), flush=True)
        return ev

    def job_pids(self):
        """Job processes (`egress run`) of this world only: other tests may
        run theirs at the same time. Spares count once a worker gave them a
        job (its log says so)."""
        taken = set()
        for i in range(1, self.workers + 1):
            log = self.w.log_text("worker" if i == 1 else "worker%d" % i)
            taken |= {int(n) for n in re.findall(r"job process (\d+) \(a spare", log)}
        pids = []
        for pid in world._ns_pids(self.w.ns):
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if len(argv) > 1 and argv[0].endswith(b"egress") and argv[1] == b"run" and \
                    (b"--spare" not in argv or pid in taken):
                pids.append(pid)
        return pids

    def statuses(self, egress_id):
        return self.status.statuses(egress_id)


class Run:
    """One `egress run JOB` inside the world, its events read as they come."""

    def __init__(self, w, name, job, env, args=()):
        self.path = os.path.join(w.dir, name + ".json")
        with open(self.path, "w") as f:
            json.dump(job, f)
        self.proc = w.run([EGRESS, "run", self.path] + list(args), name=name, env=env,
                          stdout=subprocess.PIPE)
        self.reader = world._LineReader(self.proc.stdout,
                                        os.path.join(w.logdir, name + ".events"))
        self.w, self.name = w, name

    def wait(self, status, timeout):
        line = self.reader.wait_for(lambda l: json.loads(l).get("status") == status, timeout)
        if line is None:
            raise Failure("%s: no %r event within %.0f s\n%s"
                          % (self.name, status, timeout, self.w.tail(self.name, 30)))
        return json.loads(line)

    def events(self):
        return [json.loads(l) for l in self.reader.lines]

    def states(self, event, key, part):
        """(status time, state, reason) of every event whose details are a
        `event` (stream_state, websocket_state) with `part` in details[key]
        (a destination's URL, an output's name)."""
        out = []
        for e in self.events():
            d = e.get("details") or {}
            if d.get("event") == event and part in d.get(key, ""):
                out.append((parse_time(e["time"]), d["state"], d.get("reason")))
        return out

    def wait_state(self, event, key, part, state, timeout, after=0.0):
        """(time, reason) of the first such event in `state` at or after
        `after` (seconds since the epoch), waiting up to `timeout` s."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for t, s, why in self.states(event, key, part):
                if s == state and t >= after:
                    return t, why
            time.sleep(0.2)
        raise Failure("%s never became %s within %d s: %s"
                      % (part, state, timeout, self.states(event, key, part)))

    def exit(self, timeout=20):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Failure("%s did not exit within %d s" % (self.name, timeout))


def detail_events(events, kind):
    """The status events (of a list) whose details.event is kind."""
    return [e for e in events if (e.get("details") or {}).get("event") == kind]


def wait_detail(env, eid, kind, n=1, timeout=15):
    """The n-th event of egress eid whose details.event is kind, and the
    wall time it was seen; Failure after timeout s."""
    deadline = time.time() + timeout
    while True:
        found = detail_events(env.status.events(eid), kind)
        if len(found) >= n:
            return found[n - 1], time.time()
        if time.time() >= deadline:
            raise Failure("%s: no %s event (%d wanted) within %.0f s: %s\n%s"
                          % (eid, kind, n, timeout, env.statuses(eid), env.w.tail("worker", 30)))
        time.sleep(0.1)


def log_times(w, eid, text, name="worker"):
    """Wall times of the log lines of job eid (in process name's log) that
    hold text."""
    return [parse_time(line.split(" ", 1)[0]) for line in w.log_text(name).splitlines()
            if "[%s]" % eid in line and text in line]


def memory_mb(pid, field="VmRSS"):
    """A memory figure of a live process from /proc/<pid>/status, in MB
    (VmRSS: resident now; VmHWM: its peak); 0.0 when the field is absent.
    Raises OSError when the process is gone."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def fit_16_9(x, y, w, h):
    """The 16:9 picture letterboxed in a cell (the compositor keeps aspect)."""
    if w * 9 > h * 16:  # bars left and right
        return x + (w - h * 16 // 9) // 2, y, h * 16 // 9, h
    if w * 9 < h * 16:  # bars above and below
        return x, y + (h - w * 9 // 16) // 2, w, w * 9 // 16
    return x, y, w, h


class JobLog:
    """What a composite job's log says (EGRESS_LOG_LEVEL=debug): the wall
    clock time of media time 0, the participants' names by id, and each
    scene the compositor applied (tiles as "X,Y,W,H" crops), with when."""

    def __init__(self, w, name, egress_id=None):
        self.time0 = None
        self.names = {}
        self.scenes = []  # (wall time, scene)
        self.text = w.log_text(name)
        for line in self.text.splitlines():
            if egress_id and "[%s]" % egress_id not in line:
                continue  # a worker's log holds every job's lines
            stamp, _, rest = line.partition(" ")
            if "media time 0 is " in rest:
                self.time0 = parse_time(rest.split("media time 0 is ")[1].split()[0])
            elif "subscribing to " in rest and "(feed " in rest:
                who = rest.split("subscribing to ", 1)[1]
                name, feed = who.rsplit(" (feed ", 1)
                self.names[feed.rstrip(")")] = name
            elif "] scene: " in rest:
                self.scenes.append((parse_time(stamp), json.loads(rest.split("] scene: ", 1)[1])))
        if self.time0 is None:
            raise Failure("%s: no 'media time 0' line in the log" % name)

    def tracks(self):
        """{(participant name, "audio" or "video"): track id} received."""
        found = {}
        for m in re.finditer(r"receiving (audio|video) \S+ of (.+?) \(track (\S+)\)", self.text):
            found[(m.group(2), m.group(1))] = m.group(3)
        return found

    def media_time(self, wall):
        return wall - self.time0

    def scene_at(self, wall):
        last = None
        for t, sc in self.scenes:
            if t <= wall:
                last = sc
        if last is None:
            raise Failure("no scene before %.1f" % wall)
        return last

    def tiles_at(self, wall, fit=True):
        """{participant name: "X,Y,W,H"} of the scene at wall (its first
        tile): the 16:9 picture letterboxed in the cell (fit), or the cell."""
        tiles = {}
        for t in self.scene_at(wall)["tiles"]:
            name = self.names.get(t.get("participant"), t.get("participant"))
            x, y, w, h = t["x"], t["y"], t["width"], t["height"]
            if fit:
                x, y, w, h = fit_16_9(x, y, w, h)
            tiles.setdefault(name, "%d,%d,%d,%d" % (x, y, w, h))
        return tiles


def onset_offsets(rep):
    """Flash-to-beep offsets (ms) of a check_media report, leaving out the
    flashes whose time only bounds their onset: right after missing frames,
    or with fewer white frames than a whole flash (lost on the network,
    their first may be in the gap or came damaged: flashes_after_gap,
    flashes_short)."""
    bound = set(rep["video"].get("flashes_after_gap") or []) | \
        set(rep["video"].get("flashes_short") or [])
    return [p["offset_ms"] for p in rep["sync"].get("pairs") or [] if p["flash"] not in bound]


def check_media(path, *args):
    """Runs the independent checker; returns its JSON report, raises with
    its messages when an expectation fails."""
    p = subprocess.run(["/usr/bin/python3", CHECK, path, "--json"] + [str(a) for a in args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=180)
    try:
        report = json.loads(p.stdout)
    except ValueError:
        report = None
    if p.returncode != 0:
        raise Failure("check_media %s %s failed:\n%s\n%s" % (path, " ".join(map(str, args)),
                                                             p.stderr, p.stdout[-3000:]))
    sync = {k: v for k, v in (report.get("sync") or {}).items() if k != "pairs"}
    print("checked %s: duration %s s, codecs %s, sync %s" % (
        path, report.get("duration"), [s.get("codec") for s in report.get("streams", [])],
        json.dumps(sync)), flush=True)
    return report


def expect_span(report, out, t_first, t_stop, t_end, what):
    """The file runs from its first byte to the end the stop caused: at
    least from the first byte to the stop request, at most to the final
    event (how long the stop takes to arrive depends on load), and its
    reported duration matches what FFmpeg decodes."""
    d = report["duration"]
    # Audio waits for the first video frame (at most 2 s, graph_passthrough.c)
    # where a muxer needs both to start (MP4): when the first keyframe comes
    # late, the audio before it is kept and the first byte is written with
    # that frame, so the file may begin that much before its first byte.
    starts = {s["type"]: s.get("start_time") for s in report.get("streams", [])
              if s.get("start_time") is not None}
    lead = max(0.0, starts["video"] - starts["audio"]) if len(starts) == 2 else 0.0
    # Under the sanitizers a job that starts on a loaded machine writes its
    # first byte late behind its first media (seen in CI: 1.6 s, both
    # files of an egress, audio and video alike; later 2.5 s with more
    # tests beside it): that stage reports the excess, the release stage
    # holds the bound.
    slack = 3.5 if SANITIZED else 0.5
    if d > t_end - t_first + lead + 0.5:
        print("metric: %s begins %.2f s before its first byte was written"
              % (what, d - (t_end - t_first + lead)), flush=True)
    expect(t_stop - t_first - 0.5 <= d <= t_end - t_first + lead + slack,
           "%s: %.2f s, between first byte -> stop (%.2f s) and first byte -> end (%.2f s, "
           "+ %.2f s of audio before the first video frame)"
           % (what, d, t_stop - t_first, t_end - t_first, lead))
    expect(abs(out["duration_s"] - d) <= 0.5,
           "%s: reported duration %.2f s, decoded %.2f s" % (what, out["duration_s"], d))


def parse_time(text):
    """Seconds since the epoch of an event time ("2026-11-25T20:15:12.345Z")."""
    import calendar
    base, frac = text.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) + float("0." + frac)


LOG_LINE = re.compile(r"^(\S+Z) \S+\s+\S+\s+\[(EG_\w+)\] (.*)$")


def egress_log_lines(w, names):
    """[(time, log name, egress id, message)] of the egress lines in the
    text logs of the processes named."""
    out = []
    for name in names:
        for line in w.log_text(name).splitlines():
            m = LOG_LINE.match(line)
            if m:
                out.append((parse_time(m.group(1)), name, m.group(2), m.group(3)))
    return out


def in_order(statuses, expected):
    """True when `expected` appears in `statuses` in this order (repeated
    'active' updates allowed)."""
    compact = [s for i, s in enumerate(statuses) if i == 0 or s != statuses[i - 1]]
    return compact == expected


def in_world(name, run):
    """Runs run(w) in a World of its own, closed whatever happens; then
    fails on any sanitizer report its processes left."""
    w = world.World(name)
    try:
        run(w)
    finally:
        w.close()
    if w.sanitizer_found:
        raise Failure("sanitizer reports:\n" + "\n".join(w.sanitizer_found[:20]))


def main(test):
    try:
        test()
    except (Failure, world.WorldError) as e:
        print("FAIL: %s" % e, flush=True)
        sys.exit(1)
    print("PASS", flush=True)
