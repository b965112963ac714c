"""Benchmark of room composites (decode every participant, lay them out on
a canvas, mix the audio, encode once).

Measures, in one run on this machine:
  * CPU-seconds per media-second and peak RSS of a room composite job
    (`egress run`, grid layout, H.264 + AAC into MP4) of 4 participants at
    720p30 and 1080p30 and of 9 at 720p30, side by side with the bare
    equivalent: one ffmpeg process decoding the same participants from
    files, laying them out the same way (scale + xstack), mixing the audio
    (amix) and encoding with the same x264 and AAC settings, paced to real
    time (-re);
  * how the job's cost grows with participants (1, 2, 4, 9, 16 at 720p30),
    with the CPU of the publishers, Janus and the whole machine beside it
    (2 cores: the machine saturates);
  * glass-to-file latency: from a white flash leaving a publisher's video
    source (its wall-clock time, egw-publish --marks) to the bytes of the
    first composite frame showing it being in the file (Matroska output,
    the file's size polled), with and without audio in the file;
  * optionally (--perf, needs perf), where the job's CPU goes, by library
    and by thread, next to ffmpeg's.
The cases are taken in turn, round after round, so that the load of a
shared machine falls on all of them alike; figures are medians and ranges
over the rounds. Writes them to BENCHMARKS.md (between its bench_composite
markers) and prints them. Needs root (network namespace) and ffmpeg.

    /usr/bin/python3 bench/bench_composite.py [--rounds N] [--seconds S] [--perf]
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("EGW_SOURCE_DIR", ROOT)
os.environ.setdefault("EGW_BUILD_DIR", os.path.join(ROOT, "build"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import egwtest  # noqa: E402
from egwtest import world  # noqa: E402

CLK = os.sysconf("SC_CLK_TCK")
ROOM = 5678  # created by the benchmark: the template rooms take 6 publishers
GRID_GAP = 4  # compositor/compositor.h EGW_GRID_GAP
FIT_NATIVE_PERMILLE = 20  # compositor/compositor.h EGW_FIT_NATIVE_PERMILLE
# Publisher backgrounds: distinct, none near white (the flash is white).
COLORS = ["c00000", "00a000", "0000c0", "a000a0", "00a0a0", "a0a000", "c06000", "6000c0",
          "008060", "806000", "600060", "006080", "a04040", "40a040", "4040a0", "804080"]
CANVAS = {"720p": (1280, 720, 3000, "H264_720P_30"), "1080p": (1920, 1080, 4500, "H264_1080P_30")}
FPS = 30
STOP_TIMEOUT = 10  # s a job may take to finish its file after SIGTERM
STOP_HANGS = []    # jobs that did not
BROKEN = []        # jobs whose file ffprobe could not read
COMPOSITES = []    # every composite job started
STALLED = []       # those that wrote (almost) no video


class Failure(Exception):
    pass


# ---------------------------------------------------------------- geometry

def even_floor(v):
    return 0 if v < 0 else v & ~1


def native_fit(pw, ph, cw, ch):
    """compositor/fit.c egw_fit_native: a picture of pw x ph shown at its
    own size in a cell of cw x ch, (crop left, right, top, bottom, x, y, w,
    h in the cell), or None where it is scaled."""
    def one(p, c):
        d = abs(p - c)
        close = d * 1000 <= p * FIT_NATIVE_PERMILLE
        if p > c and not close:
            return None
        if p >= c:
            return close, (d // 2) & ~1, d - ((d // 2) & ~1), 0, c
        return close, 0, 0, (d // 2) & ~1, p
    fx, fy = one(pw, cw), one(ph, ch)
    if not fx or not fy or not (fx[0] or fy[0]):
        return None
    return fx[1], fx[2], fy[1], fy[2], fx[3], fy[3], fx[4], fy[4]


def grid_crops(n, width, height, src_w, src_h):
    """The crop (left, right, top, bottom) of each of n pictures of src_w x
    src_h shown at its own size in its grid cell, or None where it is
    scaled."""
    out = []
    for _, _, cw, ch in grid_cells(n, width, height)[0]:
        f = native_fit(src_w, src_h, cw, ch)
        out.append(f[:4] if f else None)
    return out


def grid_cells(n, width, height):
    """The cells of compositor/layout_grid.c (choose + place, EGW_GRID_GAP
    apart) for n sources on the canvas. [(x, y, w, h)]."""
    def cell(length, k):
        return even_floor((length - GRID_GAP * (k - 1)) // k)

    best, best_empty, cols, rows = -1, 0, 0, 0
    for c in range(1, n + 1):
        r = (n + c - 1) // c
        cw, ch = cell(width, c), cell(height, r)
        if cw < 2 or ch < 2:
            continue
        picture = min(cw, ch * 16 // 9)
        empty = c * r - n
        if picture > best or (picture == best and empty <= best_empty):
            best, best_empty, cols, rows = picture, empty, c, r
    cw, ch = cell(width, cols), cell(height, rows)
    used_rows = (n + cols - 1) // cols
    y0 = even_floor((height - (used_rows * ch + (used_rows - 1) * GRID_GAP)) // 2)
    out = []
    for i in range(n):
        row, col = i // cols, i % cols
        in_row = n - row * cols if row == used_rows - 1 else cols
        x0 = even_floor((width - (in_row * cw + (in_row - 1) * GRID_GAP)) // 2)
        out.append((x0 + col * (cw + GRID_GAP), y0 + row * (ch + GRID_GAP), cw, ch))
    return out, cols, rows


def grid_pictures(n, width, height, src_w, src_h):
    """Where the grid layout puts n pictures of src_w x src_h on the canvas:
    in the cells of grid_cells, at their own size when they almost fit
    (native_fit: cropped or centred), else fitted into the cell keeping
    their aspect ratio as the compositor's pads do (gst_video_center_rect).
    [(x, y, w, h)], columns, rows."""
    cells, cols, rows = grid_cells(n, width, height)
    out = []
    for x, y, cw, ch in cells:
        f = native_fit(src_w, src_h, cw, ch)
        if f:
            out.append((x + f[4], y + f[5], f[6], f[7]))
            continue
        src_ratio, dst_ratio = src_w / src_h, cw / ch
        if src_ratio > dst_ratio:
            w, h = cw, int(cw / src_ratio)
            out.append((x, y + (ch - h) // 2, w, h))
        elif src_ratio < dst_ratio:
            w, h = int(ch * src_ratio), ch
            out.append((x + (cw - w) // 2, y, w, h))
        else:
            out.append((x, y, cw, ch))
    return out, cols, rows


# ---------------------------------------------------------------- sampling

def stat_of(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def cpu_of(pid):
    """CPU seconds (user + system) a live process has used so far."""
    fields = stat_of(pid)
    return (int(fields[11]) + int(fields[12])) / CLK if fields else 0.0


def faults_of(pid):
    """Minor page faults of a live process so far."""
    fields = stat_of(pid)
    return int(fields[7]) if fields else 0


def machine_jiffies():
    """(busy, steal, total) jiffies of the whole machine so far."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (v + [0] * 8)[:8]
    return user + nice + system + irq + softirq, steal, sum(v[:8])


class Window:
    """CPU of the measured process, the publishers, Janus and the machine
    over one steady window."""

    def __init__(self, pid, others):
        self.pid, self.others = pid, others
        self.c0, self.f0 = cpu_of(pid), faults_of(pid)
        self.o0 = {k: sum(cpu_of(p) for p in pids) for k, pids in others.items()}
        self.m0 = machine_jiffies()
        self.t0 = time.time()

    def close(self):
        dt = time.time() - self.t0
        m1 = machine_jiffies()
        r = {"cpu": (cpu_of(self.pid) - self.c0) / dt, "rss": egwtest.memory_mb(self.pid, "VmHWM"),
             "faults": (faults_of(self.pid) - self.f0) / dt,
             "machine": (m1[0] - self.m0[0]) / CLK / dt,
             "steal": (m1[1] - self.m0[1]) / CLK / dt, "seconds": dt}
        for k, pids in self.others.items():
            r[k] = (sum(cpu_of(p) for p in pids) - self.o0[k]) / dt
        return r


def video_pts(path):
    """Presentation times (s) of a file's video frames."""
    p = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                        "packet=pts_time", "-of", "csv=p=0", path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=120)
    if p.returncode != 0:
        raise Failure("ffprobe %s: %s" % (path, p.stderr.strip()[-500:]))
    return [float(x) for x in p.stdout.split() if x.strip() not in ("", "N/A")]


def probe(path):
    """(frames, duration s, width, height) of a file's video."""
    p = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
                        "-show_entries", "stream=nb_read_packets,width,height",
                        "-show_entries", "format=duration", "-of", "json", path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    try:
        j = json.loads(p.stdout)
        s = j["streams"][0]
        return int(s["nb_read_packets"]), float(j["format"]["duration"]), s["width"], s["height"]
    except (ValueError, KeyError, IndexError):
        raise Failure("ffprobe %s: %s" % (path, p.stderr.strip()[-500:]))


# ---------------------------------------------------------------- the world

class Pool:
    """Synthetic publishers of one video size, started as needed, kept
    (left or joined) for the whole run."""

    def __init__(self, w, size, prefix):
        self.w, self.size, self.prefix = w, size, prefix
        self.pubs = []     # Publisher, in order
        self.joined = []   # whether each is in the room

    def publisher_args(self, i):
        return {"color": COLORS[i % len(COLORS)], "freq": 300 + 40 * i,
                "video": "vp8" if i % 2 == 0 else "h264",
                "extra": ["--marks", "--width", str(self.size[0]), "--height", str(self.size[1])]}

    def ensure(self, n):
        """Exactly the first n publishers in the room (the others left,
        their pipelines stopped). Returns whether anything changed."""
        # One at a time: many DTLS handshakes at once on a loaded machine
        # take long enough to time out.
        changed = False
        for i in range(max(n, len(self.pubs))):
            if i >= len(self.pubs):
                self.pubs.append(self.w.start_publisher("%s%02d" % (self.prefix, i), room=ROOM,
                                                        **self.publisher_args(i)))
                self.joined.append(True)
                self.pubs[i].wait_for("webrtcup", 60)
            elif i < n and not self.joined[i]:
                self.pubs[i].drain()
                self.pubs[i].send("join")
                self.joined[i] = True
                self.pubs[i].wait_for("webrtcup", 60)
            elif i >= n and self.joined[i]:
                self.pubs[i].drain()
                self.pubs[i].send("leave")
                self.pubs[i].wait_for("left", 10)
                self.joined[i] = False
            else:
                continue
            changed = True
        return changed


class Bench:
    def __init__(self, w, args):
        self.w, self.a = w, args
        self.url = w.start_janus()
        r = w.videoroom_request({"request": "create", "room": ROOM, "publishers": 20,
                                 "bitrate": 1024000, "videocodec": "vp8,h264",
                                 "audiocodec": "opus", "notify_joining": False})
        if r.get("videoroom") != "created":
            raise Failure("cannot create room %d: %s" % (ROOM, r))
        self.out = os.path.join(w.dir, "out")
        os.makedirs(self.out)
        self.pools = {False: Pool(w, args.pub_size, "p"), True: Pool(w, args.small_size, "s")}
        self.small = False  # which pool is in the room

    @property
    def pubs(self):
        return self.pools[self.small].pubs

    @property
    def pub_w(self):
        return self.pools[self.small].size[0]

    @property
    def pub_h(self):
        return self.pools[self.small].size[1]

    def ensure(self, n, small=False):
        """Exactly the first n publishers of one pool in the room."""
        changed = self.pools[not small].ensure(0)
        self.small = small
        if self.pools[small].ensure(n) or changed:
            time.sleep(1)

    def others(self, n):
        return {"pubs": [p.proc.pid for p in self.pubs[:n]], "janus": [self.w.janus_proc.pid]}

    def request(self, eid, source, outputs, encoding=None):
        req = {"type": "start", "egress_id": eid,
               "room": {"sfu": "janus", "url": self.url, "room_id": ROOM},
               "source": source, "outputs": outputs}
        if encoding:
            req["encoding"] = encoding
        path = os.path.join(self.w.dir, eid + ".json")
        with open(path, "w") as f:
            json.dump(req, f)
        return path


class Job:
    """One `egress run`, its status events read from its stdout."""

    def __init__(self, b, eid, source, outputs, encoding=None, duration=600, env=None):
        path = b.request(eid, source, outputs, encoding)
        if source["kind"] == "room_composite":
            COMPOSITES.append(eid)
        e = {"EGRESS_STORAGE_DIR": b.out}
        e.update(env or {})
        self.t_start = time.time()
        self.p = b.w.run([egwtest.EGRESS, "run", path, "--duration", str(duration)], name=eid,
                         stdout=subprocess.PIPE, env=e)
        self.events, self.cond = [], threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in iter(self.p.stdout.readline, b""):
            try:
                ev = json.loads(raw)
            except ValueError:
                continue
            with self.cond:
                self.events.append(ev)
                self.cond.notify_all()

    def wait(self, status, timeout=30):
        deadline = time.time() + timeout
        with self.cond:
            while True:
                for ev in self.events:
                    if ev.get("status") == status:
                        return ev
                    if ev.get("status") in ("failed", "aborted"):
                        raise Failure("job %s: %s" % (ev.get("egress_id"), json.dumps(ev)))
                if time.time() > deadline:
                    raise Failure("job: no %r within %d s (events %s)" % (
                        status, timeout, [e.get("status") for e in self.events]))
                self.cond.wait(0.2)

    def stop(self, timeout=STOP_TIMEOUT, signal_it=True):
        """Stops the job; its final event, or None when it did not finish
        within timeout s (then it is killed: its figures so far stand)."""
        if signal_it:
            self.p.send_signal(signal.SIGTERM)
        try:
            ev = self.wait("complete", timeout)
        except Failure:
            STOP_HANGS.append(self.p.pid)
            print("job %d did not finish within %d s of SIGTERM; killed" % (self.p.pid, timeout),
                  flush=True)
            self.p.kill()
            ev = None
        self.p.wait(30)
        return ev


def composite_source(video_only=False):
    src = {"kind": "room_composite", "layout": "grid"}
    if video_only:
        src["video_only"] = True
    return src


def run_ours(b, n, canvas, tag):
    """Steady-window figures of a room composite job of the n publishers."""
    eid = "EG_%s" % tag
    job = Job(b, eid, composite_source(), [{"kind": "file", "format": "mp4", "path": eid + ".mp4"}],
              {"preset": CANVAS[canvas][3]})
    t_first = egwtest.parse_time(job.wait("active", 30)["started_at"])  # first media
    time.sleep(b.a.warmup)
    win = Window(job.p.pid, b.others(n))
    time.sleep(b.a.seconds)
    r = win.close()
    job.stop()
    path = os.path.join(b.out, eid + ".mp4")
    # Frames the job wrote for the window (file time 0 = its first media).
    t0 = win.t0 - t_first
    try:
        pts = video_pts(path)
    except Failure as e:
        print("%s: unreadable: %s" % (eid, e), flush=True)
        BROKEN.append(eid)
        shutil.copy(path, os.path.join(b.a.keep_dir, eid + ".mp4"))
        pts = []
    r["fps"] = sum(1 for t in pts if t0 <= t < t0 + r["seconds"]) / r["seconds"]
    r["stalled"] = r["fps"] < 5
    if r["stalled"]:
        STALLED.append(eid)
    os.unlink(path)
    return r


def ffmpeg_argv(b, n, canvas, path, progress):
    width, height, kbps, _ = CANVAS[canvas]
    pics, _, _ = grid_pictures(n, width, height, b.pub_w, b.pub_h)
    argv = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-progress", progress, "-stats_period", "0.25"]
    for i in range(n):
        argv += ["-re", "-i", b.inputs[i]]
    # Each input on the 30 fps grid (otherwise xstack emits a frame for
    # every input frame), cropped or scaled to its picture as the job does,
    # stacked where the grid layout puts it, then padded to the canvas.
    crops = grid_crops(n, width, height, b.pub_w, b.pub_h)
    chains = ["[%d:v]fps=%d,%s[v%d]" % (i, FPS, "crop=%d:%d:%d:%d" % (pw, ph, c[0], c[2]) if c
                                        else "scale=%d:%d" % (pw, ph), i)
              for i, ((_, _, pw, ph), c) in enumerate(zip(pics, crops))]
    layout = "|".join("%d_%d" % (x, y) for x, y, _, _ in pics)
    chains.append("".join("[v%d]" % i for i in range(n)) +
                  "xstack=inputs=%d:layout=%s:fill=black,pad=%d:%d:0:0:black[v]"
                  % (n, layout, width, height))
    chains.append("".join("[%d:a]" % i for i in range(n)) +
                  "amix=inputs=%d:normalize=0[a]" % n)
    argv += ["-filter_complex", ";".join(chains), "-map", "[v]", "-map", "[a]",
             "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-bf", "0",
             "-g", str(FPS * 2), "-b:v", "%dk" % kbps, "-maxrate", "%dk" % kbps,
             "-bufsize", "%dk" % kbps, "-pix_fmt", "yuv420p", "-r", str(FPS),
             "-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2",
             "-movflags", "+empty_moov+default_base_moof", "-frag_duration", "1000000", path]
    return argv


def progress_us(path):
    """The last out_time_us ffmpeg reported, and when (its file's mtime)."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return None
    v = re.findall(r"^out_time_us=(\d+)$", text, re.M)
    return int(v[-1]) if v else None


def run_bare(b, n, canvas, tag):
    """Steady-window figures of the ffmpeg equivalent (CPU per media
    second from its own progress reports)."""
    path = os.path.join(b.out, "bare-%s.mp4" % tag)
    progress = os.path.join(b.out, "bare-%s.progress" % tag)
    p = b.w.run(ffmpeg_argv(b, n, canvas, path, progress), name="ffmpeg-" + tag)
    time.sleep(1 + b.a.warmup)
    if p.poll() is not None:
        raise Failure("ffmpeg exited with %s\n%s" % (p.returncode, b.w.tail(p.egw_name)))
    win, m0 = Window(p.pid, b.others(n)), progress_us(progress)
    time.sleep(b.a.seconds)
    m1 = progress_us(progress)
    r = win.close()
    p.send_signal(signal.SIGINT)
    p.wait(30)
    frames, dur, w, h = probe(path)
    r["speed"] = (m1 - m0) / 1e6 / r["seconds"] if m0 is not None and m1 else 0
    r["starved"] = r["speed"] < 0.25  # hardly ran: no figure per media second
    if not r["starved"]:
        r["cpu"] /= r["speed"]  # per media second
    r["fps"] = frames / dur if dur else 0
    os.unlink(path)
    return r


BARE_RECEIVER = os.path.join(ROOT, "bench", "bare_receiver.py")


def run_recv(b, n, tag):
    """Steady-window figures of receiving alone: a bare webrtcbin
    subscriber (bench/bare_receiver.py --discard) of the same n publishers,
    every stream depayloaded and dropped; the part of the job's work that
    the ffmpeg equivalent, reading files, does not do."""
    log = "recv-" + tag
    p = b.w.run(["/usr/bin/python3", BARE_RECEIVER, "--janus", b.url, "--room", str(ROOM),
                 "--discard", "--seconds", str(b.a.seconds + b.a.warmup + 30)] +
                sum((["--participant", "p%02d" % i] for i in range(n)), []), name=log)
    deadline = time.time() + 30
    while b.w.tail(log, 1000).count("bare_receiver: receiving") < 2 * n:
        if p.poll() is not None or time.time() > deadline:
            p.kill()
            raise Failure("bare receiver of %d: %d of %d streams after 30 s\n%s" % (
                n, b.w.tail(log, 1000).count("bare_receiver: receiving"), 2 * n, b.w.tail(log)))
        time.sleep(0.2)
    time.sleep(b.a.warmup)
    win = Window(p.pid, b.others(n))
    time.sleep(b.a.seconds)
    r = win.close()
    p.send_signal(signal.SIGTERM)  # it leaves Janus and exits
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(10)
    return r


def record_inputs(b, n, seconds):
    """The first n publishers recorded once, as published (participant
    egress jobs into Matroska: VP8 or H.264 + Opus), for ffmpeg to read."""
    b.ensure(n)
    jobs = [Job(b, "EG_in%02d" % i, {"kind": "participant", "participant": "p%02d" % i},
                [{"kind": "file", "format": "mkv", "path": "in%02d.mkv" % i}])
            for i in range(n)]
    for j in jobs:  # nine starts at once (DTLS keys, joins) take a while here
        j.wait("active", 90)
    time.sleep(seconds + 1)
    for j in jobs:
        if not j.stop():
            raise Failure("recording %s did not finish" % j.p.egw_name)
    b.inputs = [os.path.join(b.out, "in%02d.mkv" % i) for i in range(n)]
    for path in b.inputs:
        frames, dur, w, h = probe(path)
        if dur < seconds - 3 or (w, h) != (b.pub_w, b.pub_h):
            raise Failure("%s: %.1f s %dx%d, expected ~%d s %dx%d" % (
                path, dur, w, h, seconds, b.pub_w, b.pub_h))


# ---------------------------------------------------------------- latency

class SizePoller:
    """Polls a file's size (every ~1 ms) from its creation on: the wall
    clock time at which each byte count was first seen."""

    def __init__(self, path):
        self.path, self.samples, self.done = path, [], False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        last = -1
        while not self.done:
            try:
                size = os.stat(self.path).st_size
            except OSError:
                size = -1
            if size > last:
                self.samples.append((time.time(), size))
                last = size
            time.sleep(0.001)

    def stop(self):
        self.done = True
        self.t.join()

    def time_of(self, nbytes):
        for t, size in self.samples:
            if size >= nbytes:
                return t
        return None


def flash_frames(path, pics, width, height):
    """Per picture: indices of frames where it turns white (its flash
    begins), and its usual colour (RGB) between flashes."""
    sw, sh = 128, 72
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-map", "0:v:0", "-fps_mode",
                          "passthrough", "-vf", "scale=%d:%d" % (sw, sh), "-pix_fmt", "rgb24",
                          "-f", "rawvideo", "-"], stdout=subprocess.PIPE, timeout=300).stdout
    nframes = len(raw) // (sw * sh * 3)
    out = []
    for x, y, w, h in pics:
        # The middle half of the picture, in the scaled frame.
        x0, x1 = (x + w // 4) * sw // width, (x + 3 * w // 4) * sw // width
        y0, y1 = (y + h // 4) * sh // height, (y + 3 * h // 4) * sh // height
        means = []
        for k in range(nframes):
            base = k * sw * sh * 3
            acc, cnt = [0, 0, 0], 0
            for yy in range(y0, y1, 2):
                row = base + yy * sw * 3
                for xx in range(x0, x1, 2):
                    o = row + xx * 3
                    acc[0] += raw[o]
                    acc[1] += raw[o + 1]
                    acc[2] += raw[o + 2]
                    cnt += 1
            means.append(tuple(a / cnt for a in acc))
        white = [min(m) > 180 for m in means]
        rises = [k for k in range(1, nframes) if white[k] and not white[k - 1]]
        usual = tuple(statistics.median(m[c] for m, wt in zip(means, white) if not wt)
                      for c in range(3))
        out.append((rises, usual))
    return out, nframes


def video_packets(path):
    """(pos, size) of each video packet in file order."""
    p = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                        "packet=pos,size", "-of", "csv=p=0", path], stdout=subprocess.PIPE,
                       text=True, timeout=120)
    out = []
    for line in p.stdout.split():
        pos, size = line.split(",")[:2]
        out.append((int(pos), int(size)))
    return out


def flash_latencies(b, n, path, tiles, packets, poller):
    """For every flash frame of every tile (flash_frames) whose bytes were
    written 2 s or more after the file's first: the time (ms) from the
    publisher's flash (its `mark` lines; the publisher told by the tile's
    usual colour) to the file holding the frame's bytes (poller), or None
    when that publisher flashed not in the 1.9 s before."""
    marks = {}
    for i, p in enumerate(b.pubs[:n]):
        marks[i] = [int(l.split()[1]) / 1e6 for l in p.lines if l.startswith("mark ")]
    colors = [tuple(int(COLORS[i][k:k + 2], 16) for k in (0, 2, 4)) for i in range(n)]
    lat = []
    t_first = poller.samples[0][0] if poller.samples else 0
    for rises, usual in tiles:
        who = min(range(n), key=lambda i: sum((a - c) ** 2 for a, c in zip(usual, colors[i])))
        for k in rises:
            pos, size = packets[k]
            t_file = poller.time_of(pos + size)
            if t_file is None or t_file - t_first < 2:
                continue
            before = [m for m in marks[who] if m <= t_file]
            if not before or t_file - before[-1] > 1.9:
                # Later than 1.9 s (flashes come every 2 s: a later one
                # cannot be told from the next) or not a flash at all.
                print("%s frame %d: no flash of p%02d in the 1.9 s before" % (path, k, who))
                lat.append(None)
                continue
            lat.append((t_file - before[-1]) * 1000)
    return lat


def latency_run(b, n, video_only, seconds, tag):
    """Glass-to-file latencies (ms) of every flash of every publisher seen
    in the composite after its first 2 s (None: no flash of that publisher
    in the 1.9 s before it); None when the job wrote (almost) no video."""
    b.ensure(n)
    width, height = CANVAS["720p"][:2]
    eid = "EG_lat%s" % tag
    path = os.path.join(b.out, eid + ".mkv")
    poller = SizePoller(path)
    job = Job(b, eid, composite_source(video_only),
              [{"kind": "file", "format": "mkv", "path": eid + ".mkv"}], {"preset": "H264_720P_30"},
              duration=seconds)
    job.wait("ending", seconds + 60)
    job.stop(signal_it=False)  # it ends by itself (--duration)
    poller.stop()
    pics, _, _ = grid_pictures(n, width, height, b.pub_w, b.pub_h)
    packets = video_packets(path)
    if len(packets) < 5 * seconds:
        print("%s: %d video frames in %d s: stalled" % (eid, len(packets), seconds), flush=True)
        STALLED.append(eid)
        return None
    tiles, nframes = flash_frames(path, pics, width, height)
    if len(packets) != nframes:
        raise Failure("%s: %d video packets but %d decoded frames" % (path, len(packets), nframes))
    lat = flash_latencies(b, n, path, tiles, packets, poller)
    if len(lat) < n * (seconds - 4) // 2 - n:
        raise Failure("%s: only %d flashes found" % (path, len(lat)))
    os.unlink(path)
    return lat


# ---------------------------------------------------------------- perf

def perf_profile(b, pid, seconds, what):
    """perf samples of pid over seconds: [(share %, thread, dso)]."""
    data = os.path.join(b.w.dir, "perf-%s.data" % what)
    subprocess.run(["perf", "record", "-q", "-F", "999", "-o", data, "-p", str(pid), "--",
                    "sleep", str(seconds)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    p = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "comm,dso",
                        "--stdio", "-q", "-g", "none", "-t", "|"], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    rows = []  # (share %, thread, dso)
    for line in p.stdout.splitlines():
        f = [x.strip() for x in line.split("|")]
        if len(f) >= 3 and f[0].endswith("%"):
            rows.append((float(f[0].rstrip("%")), f[1], f[2]))
    os.unlink(data)
    return rows


def dso_class(dso, thread):
    if dso.startswith("orcexec"):
        return "ORC (run-time compiled: scaling, blending, conversion)"
    if "libx264" in dso:
        return "x264 (H.264 encoding)"
    if "kernel" in dso:
        return "kernel (page faults, scheduling, network)"
    if "libavcodec" in dso:
        if thread.startswith("audiomixer") or "aac" in thread:
            return "libavcodec: AAC encoding"
        return "libavcodec: decoding (and AAC encoding in ffmpeg)"
    if "libvpx" in dso:
        return "libvpx (VP8 decoding)"
    if "libopus" in dso:
        return "libopus (Opus decoding)"
    if "libgstvideo" in dso or "libswscale" in dso:
        return "video scaling/conversion C code (libgstvideo, libswscale)"
    if "libavfilter" in dso or "libavutil" in dso:
        return "libavfilter/libavutil (xstack, amix, fps, pad)"
    if dso.startswith("libc.") or "libm." in dso:
        return "libc (memcpy, malloc, syscalls)"
    return "other (GLib, GStreamer core, ICE, DTLS/SRTP, ...)"


def perf_classes(rows):
    acc = {}
    for share, thread, dso in rows:
        c = dso_class(dso, thread)
        acc[c] = acc.get(c, 0) + share
    return sorted(acc.items(), key=lambda kv: -kv[1])


def thread_groups(rows):
    acc = {}
    for share, thread, dso in rows:
        g = re.sub(r"\d+", "N", thread)
        acc[g] = acc.get(g, 0) + share
    return sorted(acc.items(), key=lambda kv: -kv[1])


def perf_phase(b, seconds):
    b.ensure(4)
    for attempt in range(3):
        eid = "EG_perf%d" % attempt
        job = Job(b, eid, composite_source(), [{"kind": "file", "format": "mp4",
                                                "path": eid + ".mp4"}],
                  {"preset": "H264_720P_30"})
        job.wait("active", 30)
        time.sleep(b.a.warmup)
        ours = perf_profile(b, job.p.pid, seconds, "ours")
        job.stop()
        try:
            frames = len(video_pts(os.path.join(b.out, eid + ".mp4")))
        except Failure:
            frames = 0
        if frames >= 5 * seconds:
            break
        STALLED.append(eid)
    else:
        raise Failure("three profiled jobs in a row stalled")
    progress = os.path.join(b.out, "perf.progress")
    p = b.w.run(ffmpeg_argv(b, 4, "720p", os.path.join(b.out, "perf.mp4"), progress),
                name="ffmpeg-perf")
    time.sleep(1 + b.a.warmup)
    bare = perf_profile(b, p.pid, seconds, "bare")
    p.send_signal(signal.SIGINT)
    p.wait(30)
    return ours, bare


# ---------------------------------------------------------------- report

def med_range(vals, fmt="%.3f"):
    vals = list(vals)
    if not vals:
        return "-"
    return (fmt + " (" + fmt + "-" + fmt + ")") % (statistics.median(vals), min(vals), max(vals))


def usable(rs):
    """The samples of a case in which the job kept producing frames."""
    return [r for r in rs if not r.get("stalled")]


def composite_table(a, res):
    md = ["| case | ours | ours per 30 output frames | bare ffmpeg | bare WebRTC receive | "
          "ratio ours/ffmpeg | ratio ours/(ffmpeg + receive) | ratio, ours per 30 frames/"
          "(ffmpeg + receive) | ours peak RSS MB | bare peak RSS MB | output fps in window "
          "ours / bare | minor page faults/s ours / bare |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for key, name in (("4@720p", "4 participants, 2x2, 720p30"),
                      ("4@1080p", "4 participants, 2x2, 1080p30"),
                      ("9@720p", "9 participants, 3x3, 720p30")):
        # receiving does not depend on the canvas: the 720p round's sample
        recv = res["recv"].get(key.split("@")[0] + "@720p", [])
        rows = [(o, x, v) for o, x, v in zip(res["ours"][key], res["bare"][key], recv)
                if not o["stalled"] and not x["starved"]]
        ours, bare = [o for o, _, _ in rows], [x for _, x, _ in rows]
        if not rows:
            md.append("| %s | stalled in every round | | | | | | | | | | |" % name)
            continue
        norm = [o["cpu"] * FPS / o["fps"] for o in ours]
        md.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.1f / %.1f | %.0f / %.0f |"
                  % (name, med_range(o["cpu"] for o in ours), med_range(norm),
                     med_range(x["cpu"] for x in bare),
                     med_range(v["cpu"] for _, _, v in rows),
                     med_range((o["cpu"] / x["cpu"] for o, x, _ in rows), "%.2f"),
                     med_range((o["cpu"] / (x["cpu"] + v["cpu"]) for o, x, v in rows), "%.2f"),
                     med_range((c / (x["cpu"] + v["cpu"]) for c, (_, x, v) in zip(norm, rows)),
                               "%.2f"),
                     med_range((o["rss"] for o in ours), "%.0f"),
                     med_range((x["rss"] for x in bare), "%.0f"),
                     statistics.median(o["fps"] for o in ours),
                     statistics.median(x["fps"] for x in bare),
                     statistics.median(o["faults"] for o in ours),
                     statistics.median(x["faults"] for x in bare)))
    return md


def growth_table(a, res):
    med = statistics.median
    md = ["| participants | publishers' video | grid, picture | job CPU | per participant "
          "| job peak RSS MB | output fps in window | publishers | Janus | machine busy (of %d) "
          "| others | steal |" % os.cpu_count(),
          "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    series = [(n, "", a.pub_size) for n in a.counts] + \
        [(n, "s", a.small_size) for n in a.small_counts]
    for n, suffix, (pw, ph) in series:
        rs = usable(res["ours"]["%d%s@720p" % (n, suffix)])
        pics, cols, rows = grid_pictures(n, 1280, 720, pw, ph)
        if not rs:
            md.append("| %d | %dx%d | %dx%d | stalled in every round | | | | | | | | |"
                      % (n, pw, ph, cols, rows))
            continue
        mach = med(r["machine"] for r in rs)
        sat = " **saturated**" if mach > 0.9 * os.cpu_count() else ""
        md.append("| %d | %dx%d | %dx%d, %dx%d | %s | %.3f | %s | %.1f | %.2f | %.2f | %.2f%s "
                  "| %.2f | %.2f |" % (
                      n, pw, ph, cols, rows, pics[0][2], pics[0][3],
                      med_range(r["cpu"] for r in rs), med(r["cpu"] for r in rs) / n,
                      med_range((r["rss"] for r in rs), "%.0f"), med(r["fps"] for r in rs),
                      med(r["pubs"] for r in rs), med(r["janus"] for r in rs), mach, sat,
                      med(r["machine"] - r["cpu"] - r["pubs"] - r["janus"] for r in rs),
                      med(r["steal"] for r in rs)))
    return md


def latency_table(lat):
    md = ["| file | flashes | median ms | p90 ms | min ms | max ms | median of each round ms "
          "| later than 1.9 s (or unmatched) |", "|---|---|---|---|---|---|---|---|"]
    for name, rounds in lat:
        vals = [v for r in rounds for v in r]
        s = sorted(v for v in vals if v is not None)
        per_round = ", ".join("%.0f" % statistics.median(v for v in r if v is not None)
                              for r in rounds)
        md.append("| %s | %d | %.0f | %.0f | %.0f | %.0f | %s | %d |" % (
            name, len(vals), statistics.median(s), s[int(0.9 * (len(s) - 1))], s[0], s[-1],
            per_round, len(vals) - len(s)))
    return md


def perf_tables(prof):
    md = ["| work | job | bare ffmpeg |", "|---|---|---|"]
    ours_c, bare_c = dict(perf_classes(prof[0])), dict(perf_classes(prof[1]))
    for k in sorted(set(ours_c) | set(bare_c), key=lambda k: -ours_c.get(k, 0)):
        md.append("| %s | %.1f%% | %.1f%% |" % (k, ours_c.get(k, 0), bare_c.get(k, 0)))
    md += ["", "The job by thread (GStreamer names its streaming threads after the element; "
           "x264's and the compositor's worker threads inherit the name of the thread that "
           "made them, GLib's pool threads are `pool-egress`):", "",
           "| thread | share | of which |", "|---|---|---|"]
    for g, share in thread_groups(prof[0])[:8]:
        parts = {}
        for sh, thread, dso in prof[0]:
            if re.sub(r"\d+", "N", thread) == g:
                c = dso_class(dso, thread).split(" (")[0]
                parts[c] = parts.get(c, 0) + sh
        top = sorted(parts.items(), key=lambda kv: -kv[1])[:3]
        md.append("| %s | %.1f%% | %s |" % (g, share, ", ".join("%s %.1f%%" % kv for kv in top)))
    return md


def write_markdown(b, res, lat, prof, started):
    a = b.a
    begin, end = "<!-- bench_composite:begin -->", "<!-- bench_composite:end -->"
    stalls = sum(1 for rs in res["ours"].values() for r in rs if r["stalled"])
    md = [begin, "", "### Room composite (`bench/bench_composite.py`)", "",
          "Run %s on this machine, %d cores, shared: other work was running (the `others` "
          "column below is the machine's load from outside the benchmark); %d rounds, the "
          "cases taken in turn in each (ours and the baseline in alternating order); steady "
          "window %d s, opening %d s after the job's first media. Publishers: synthetic "
          "%s 30 fps (%s for the %s-participant cases), even ones VP8, odd ones H.264 (x264 "
          "ultrafast), each with Opus, in one Janus room."
          % (started, os.cpu_count(), a.rounds, a.seconds, a.warmup, "%dx%d" % a.pub_size,
             "%dx%d" % a.small_size, ", ".join(str(n) for n in a.small_counts)), "",
          "Job: `egress run` of a `room_composite` with `layout: grid`, `encoding.preset` "
          "`H264_720P_30` (1280x720, 3000 kbps) or `H264_1080P_30` (1920x1080, 4500 kbps), "
          "one MP4 file output (H.264 by x264enc veryfast, zerolatency, no B-frames, "
          "keyframe every 2 s, VBV 1 s; AAC 128 kbps 48 kHz stereo by avenc_aac; 1 s "
          "fragments).", "",
          "Bare equivalent: one `ffmpeg` process reading the same participants from files "
          "(`-re`: paced to real time), each put on the 30 fps grid (`fps=30`) and brought "
          "to the picture the grid layout gives it as the job does: cropped where the "
          "picture is within 2 %% of its cell (640x360 -> 638x358 in the 2x2 grid at 720p: "
          "`crop`), scaled otherwise (`scale`), "
          "`xstack` at the same positions, `pad` to the canvas, `amix` of the audio "
          "(`normalize=0`), `libx264 -preset veryfast -tune zerolatency -bf 0 -g 60 -b:v "
          "-maxrate -bufsize` at the job's bitrate, `aac -b:a 128k -ar 48000 -ac 2`, "
          "fragmented MP4. Its inputs were recorded once before the rounds, from the same "
          "publishers, by `participant` egress jobs into Matroska (VP8 or H.264 + Opus as "
          "published, %d s each). Its CPU is divided by its media progress over the "
          "window (its `-progress` output), so it is per media second even if it fell "
          "behind; its output is a constant 30 fps. The job runs on its own clock (per wall "
          "second = per media second) but drops output frames when it cannot keep up: the "
          "frames it wrote for the window are counted in its file, and `per 30 output "
          "frames` scales its CPU to a full 30 fps (an upper bound: decoding is not "
          "skipped with the dropped frames)." % a.record_seconds, "",
          "Bare WebRTC receive: what the ffmpeg equivalent, reading files, does not do: "
          "`bench/bare_receiver.py --discard`, a plain webrtcbin (GStreamer's defaults) "
          "subscribing to the same participants in one multistream subscription, ICE, "
          "DTLS-SRTP, RTCP and jitter buffers, each stream depayloaded into a fakesink, "
          "measured over its own window in the same round (once per participant count: it "
          "does not depend on the canvas). The target compares the job with ffmpeg plus "
          "this receive.", "",
          "CPU-seconds per media-second (cores busy), median (min-max) of the rounds; "
          "ratios: median (min-max) of each round's ours/bare. Peak RSS: VmHWM at the end "
          "of the window.", ""]
    md += composite_table(a, res)
    md += ["", "Target (issue): at most 1.2x the bare pipeline including WebRTC receive "
           "(`ratio ours/(ffmpeg + receive)`), peak RSS under 150 MB.", ""]
    if STALLED:
        md += ["**%d of the %d composite jobs this run started wrote (almost) no video** "
               "(fewer than 5 frames a second; %d of their files FFmpeg could not even "
               "open); each was run once more, and a sample that stalled twice (%d) is left "
               "out of the figures above and below." % (
                   len(STALLED), len(COMPOSITES), len(BROKEN), stalls), ""]
    starved = sum(1 for rs in res["bare"].values() for r in rs if r["starved"])
    if starved:
        md += ["In %d of ffmpeg's samples the loaded machine left it nearly no CPU (under "
               "0.25 s of media a second): those rounds are left out of the comparison."
               % starved, ""]
    if STOP_HANGS:
        md += ["**%d job(s) of this run did not finish within %d s of being stopped** "
               "(SIGTERM, or their --duration) and were killed; the figures of their window "
               "stand." % (len(STOP_HANGS), STOP_TIMEOUT), ""]
    md += ["Growth with participants, 720p30 grid (the job's CPU in cores, median (min-max); "
           "publishers, Janus and the machine over the same windows, medians; `others` = "
           "machine - job - publishers - Janus; steal: time the hypervisor took). Each "
           "publisher encodes its own video (~0.1 core at 640x360), so %s participants use "
           "publishers of %dx%d (same pattern, same codecs, same bitrate cap): at 640x360 "
           "they alone would take most of the 2 cores:" % (
               ", ".join(str(n) for n in a.small_counts), *a.small_size), ""]
    md += growth_table(a, res)
    md += ["", "Glass-to-file latency, 4 participants at 720p30, one %d s run of each kind "
           "per round, every flash after each file's first 2 s: from a white flash leaving "
           "a publisher's video source (its wall-clock time, printed by `egw-publish "
           "--marks`) to the moment the job's file (Matroska) holds all the bytes of the "
           "first composite frame that shows it (the file's size polled every ~1 ms; the "
           "frame found by decoding the file, its bytes by `ffprobe` packet positions). It "
           "includes the publisher's conversion and encoding, RTP through Janus, the job's "
           "jitter buffer, decoding, the compositor (which waits up to 260 ms for late "
           "inputs), x264, the muxer and the file sink's 8 KiB buffer (~20 ms at 3 Mbps). "
           "Video only: the same job without audio (the muxer has nothing to interleave)."
           % a.latency_seconds, ""]
    md += latency_table(lat)
    md += ["", "Target (issue): under 400 ms."]
    if prof:
        md += ["", "Where the CPU goes (`perf record -F 999 -p PID`, %d s of the 4-participant "
               "720p case, after the rounds; shares of each process's samples; the "
               "libraries have no debug symbols here, so by library). By kind of work:"
               % a.perf_seconds, ""]
        md += perf_tables(prof)
    md += ["", "NOTES_PLACEHOLDER", "", end]
    block = "\n".join(md)
    path = os.path.join(ROOT, "BENCHMARKS.md")
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n\n"
    if begin in text:
        old = re.search(re.escape(begin) + ".*?" + re.escape(end), text, flags=re.S).group(0)
        notes = re.search(r"<!-- notes -->.*<!-- /notes -->", old, flags=re.S)
        block = block.replace("NOTES_PLACEHOLDER", notes.group(0) if notes else
                              "<!-- notes -->\n<!-- /notes -->")
        text = text.replace(old, block)
    else:
        block = block.replace("NOTES_PLACEHOLDER", "<!-- notes -->\n<!-- /notes -->")
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(text)
    print(block)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=12, help="steady window per sample")
    ap.add_argument("--warmup", type=int, default=3,
                    help="seconds after the first media before the window opens")
    ap.add_argument("--counts", default="1,2,4,9",
                    help="participants in the growth table (4 and 9 always)")
    ap.add_argument("--pub-size", default="640x360", help="publishers' video size")
    ap.add_argument("--small-counts", default="16",
                    help="participants in the growth table with small publishers (their "
                         "encoders cost less: 16 large ones saturate 2 cores by themselves)")
    ap.add_argument("--small-size", default="320x180", help="small publishers' video size")
    ap.add_argument("--latency-seconds", type=int, default=14,
                    help="length of each latency run (one with audio, one without, per round)")
    ap.add_argument("--perf", action="store_true", help="also profile with perf")
    ap.add_argument("--perf-seconds", type=int, default=10)
    ap.add_argument("--keep-dir", default="/tmp",
                    help="where unreadable outputs are copied for inspection")
    a = ap.parse_args()
    a.counts = sorted({int(x) for x in a.counts.split(",")} | {4, 9})
    a.pub_size = tuple(int(x) for x in a.pub_size.split("x"))
    a.small_size = tuple(int(x) for x in a.small_size.split("x"))
    a.small_counts = sorted({int(x) for x in a.small_counts.split(",") if x})
    a.record_seconds = a.warmup + a.seconds + 8
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    res, lat = {"ours": {}, "bare": {}, "recv": {}}, {}
    with world.World("benchcomp") as w:
        b = Bench(w, a)
        record_inputs(b, 9, a.record_seconds)
        for rnd in range(a.rounds):
            for n, small in [(n, False) for n in a.counts] + [(n, True) for n in a.small_counts]:
                b.ensure(n, small)
                pairs = [[("ours", "720p")]]
                if n in (4, 9) and not small:
                    pairs[0] += [("bare", "720p"), ("recv", "720p")]
                if n == 4 and not small:
                    pairs.append([("ours", "1080p"), ("bare", "1080p")])
                # The baseline first every other round.
                cases = [c for pair in pairs for c in (pair[::-1] if rnd % 2 else pair)]
                for kind, canvas in cases:
                    key = "%d%s@%s" % (n, "s" if small else "", canvas)
                    tag = "%s-%d%s-%s-%d" % (kind, n, "s" if small else "", canvas, rnd)
                    if kind == "recv":
                        r = run_recv(b, n, tag)
                    else:
                        r = (run_ours if kind == "ours" else run_bare)(b, n, canvas, tag)
                    if r.get("stalled"):  # once more, so that the round has its sample
                        r = run_ours(b, n, canvas, tag + "-again")
                    res[kind].setdefault(key, []).append(r)
                    print("round %d %-4s %-7s cpu %.3f rss %.0f MB pubs %.2f machine %.2f "
                          "fps %.1f%s" % (rnd, kind, key, r["cpu"], r["rss"], r["pubs"],
                                          r["machine"], r.get("fps") or 0,
                                          " speed %.2f" % r["speed"] if "speed" in r else ""),
                          flush=True)
                if n == 4 and not small:  # the latency runs, in the same rounds
                    for name, video_only in (("audio and video (MKV)", False),
                                             ("video only (MKV)", True)):
                        for attempt in range(3):
                            vals = latency_run(b, 4, video_only, a.latency_seconds, "%s%d-%d" % (
                                "v" if video_only else "av", rnd, attempt))
                            if vals is not None:
                                break
                        else:
                            raise Failure("three latency runs in a row stalled")
                        lat.setdefault(name, []).append(vals)
                        ok = [v for v in vals if v is not None]
                        print("round %d latency %s: median %.0f ms over %d flashes, %d "
                              "unmatched" % (rnd, name, statistics.median(ok), len(ok),
                                             len(vals) - len(ok)), flush=True)
        lat = list(lat.items())
        prof = perf_phase(b, a.perf_seconds) if a.perf else None
        for pool in b.pools.values():
            for p in pool.pubs:
                p.close()
    write_markdown(b, res, lat, prof, started)


if __name__ == "__main__":
    try:
        main()
    except (Failure, world.WorldError) as e:
        print("FAIL: %s" % e, flush=True)
        sys.exit(1)
