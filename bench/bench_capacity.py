"""How many egresses of each kind one worker holds at its admission limit,
and whether every recording still meets the quality bars there.

For each kind, one worker (by default pinned to one core with
`capacity_mcores` 1000, Janus, the publishers and the broker on the other:
the SFU kept off the worker's cores as in production) with the default
utilisation (85 %) gets one start more than its admission costs allow, all
at once: it runs what fits (the last start is left for the group: there is
no other worker). Once every admitted egress is active, they record for
--seconds, and each file is checked from that moment on by the
independent checker: no decode errors, flash-to-beep offset within 40 ms,
no video gap over 200 ms, no audio gap over 100 ms. The CPU of the worker
and its jobs and the machine's (/proc/stat) are sampled over that part.
Writes the figures to BENCHMARKS.md (bench_capacity).
Needs root (network namespace), like the integration tests.

    /usr/bin/python3 bench/bench_capacity.py [--seconds S] [--kinds a,b]
                                             [--worker-cores N]
"""

import argparse
import os
import platform
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("EGW_SOURCE_DIR", ROOT)
os.environ.setdefault("EGW_BUILD_DIR", os.path.join(ROOT, "build"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "tests", "world"))
import benchmd  # noqa: E402
import egwtest  # noqa: E402
import procstat  # noqa: E402
from egwtest import parse_time  # noqa: E402

UTILISATION = 0.85
# name, colour, tone, codec, marker beep (Hz), marker phase (ms): beeps of
# different pitches 400 ms apart, so that each participant's flash-to-beep
# is measured in a composite's mix (as in tests/integration/test_composite.py)
PEOPLE = [("p1", "ff0000", 440, "vp8", 2000, 0), ("p2", "00ff00", 550, "h264", 2500, 400),
          ("p3", "0000ff", 660, "vp8", 3000, 800), ("p4", "ffff00", 770, "h264", 3500, 1200)]
# The 2x2 grid's cells at 1280x720, their middles (clear of the borders)
CELLS = ["%d,%d,560,280" % (40 + 640 * (i % 2), 40 + 360 * (i // 2)) for i in range(4)]


def kinds():
    """name: (cost mc, publishers, source, encoding, output format, checks)"""
    part = {"kind": "participant", "participant": "p1"}
    return {
        "participant": (50, 1, part, None, "mkv",
                        ["--max-sync-ms", 40, "--min-markers", 3, "--beep-hz", PEOPLE[0][4]]),
        "track (audio)": (20, 1, {"kind": "track", "participant": "p1", "media": "audio"}, None,
                          "ogg", ["--min-markers", 3, "--beep-hz", PEOPLE[0][4]]),
        "room_composite 720p30 grid of 4": (
            350, 4, {"kind": "room_composite", "layout": "grid"},
            {"width": 1280, "height": 720, "fps": 30}, "mp4", "tiles"),
    }


def tile_checks(path, skip):
    """The checker's arguments for a 2x2 grid: each cell's participant
    found by its colour, its flash-to-beep checked in its cell."""
    out = ["--max-sync-ms", 40, "--min-markers", 3]
    for cell in CELLS:
        rep = egwtest.check_media(path, "--crop", cell, "--skip", "%.2f" % skip)
        mean = (rep.get("video") or {}).get("mean_color") or "000000"
        rgb = [int(mean[i:i + 2], 16) for i in (0, 2, 4)]
        who = min(PEOPLE, key=lambda p: sum((int(p[1][i * 2:i * 2 + 2], 16) - rgb[i]) ** 2
                                            for i in range(3)))
        out += ["--participant", "%s:%d" % (cell, who[4])]
    return out


def ns_procs(env):
    """[(pid, is the worker's: `egress` worker or job process)] of the
    world's namespace."""
    out = []
    for pid in egwtest.world._ns_pids(env.w.ns):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        ours = os.path.basename(argv[0]) == b"egress" and len(argv) > 1 and \
            argv[1] in (b"worker", b"run", b"upload")
        out.append((pid, ours))
    return out


def pin(env, worker_cores):
    """The worker and its job processes (and, by inheritance, those it
    starts later) on the first worker_cores CPUs; Janus, the publishers
    and the broker on the others: the SFU kept off the worker's cores."""
    mine = set(range(worker_cores))
    rest = set(range(worker_cores, os.cpu_count())) or mine
    for pid, ours in ns_procs(env):
        for tid in os.listdir("/proc/%d/task" % pid) if os.path.isdir("/proc/%d/task" % pid) \
                else []:
            try:
                os.sched_setaffinity(int(tid), mine if ours else rest)
            except OSError:
                pass


def worker_cpu_s(env):
    """CPU seconds of the worker and its job processes, now."""
    total = 0.0
    for pid, ours in ns_procs(env):
        try:
            total += procstat.cpu_of(pid) if ours else 0.0
        except OSError:  # (ended meanwhile)
            pass
    return total


def run_kind(name, spec, seconds, worker_cores):
    cost, n_pubs, source, encoding, fmt, checks = spec
    cores = worker_cores or os.cpu_count()
    admitted = int(cores * 1000 * UTILISATION) // cost
    wenv = {"EGRESS_CAPACITY_MCORES": cores * 1000} if worker_cores else {}
    with egwtest.Env("bcap", max_jobs=admitted + 10, worker_env=wenv) as env:
        for pid, color, freq, video, beep, phase in PEOPLE[:n_pubs]:
            env.w.start_publisher(pid, color=color, freq=freq, video=video, extra=[
                "--beep-hz", str(beep), "--mark-phase", str(phase)]).wait_for("webrtcup", 30)
        if worker_cores:
            pin(env, worker_cores)
        ids = ["EG_c%03d" % i for i in range(admitted + 1)]
        jobs = []
        for eid in ids:
            job = env.job(eid, source, [{"kind": "file", "format": fmt,
                                         "path": "{egress_id}." + fmt}])
            if encoding:
                job["encoding"] = encoding
            jobs.append(job)
        env.submit_all(jobs)
        # (the starts land in several partitions: which one is left over
        # is not known in advance)
        deadline = time.time() + 180
        running = []
        while time.time() < deadline and len(running) < admitted:
            running = [eid for eid in ids if "active" in env.statuses(eid)]
            time.sleep(1)
        if len(running) < admitted:
            raise egwtest.Failure("%s: %d of %d admitted egresses active within 180 s"
                                  % (name, len(running), admitted))
        time.sleep(5)
        extra_ran = sum(1 for eid in ids if env.statuses(eid)) > admitted
        # The steady part: every admitted egress active (the storm of
        # starts is the burst benchmark's subject, bench_fleet.py).
        t_steady = time.time()
        t0, b0 = procstat.machine_jiffies()
        w0 = worker_cpu_s(env)
        time.sleep(seconds)
        t1, b1 = procstat.machine_jiffies()
        wcpu = (worker_cpu_s(env) - w0) / (time.time() - t_steady)
        busy = (b1 - b0) / float(t1 - t0) * os.cpu_count()
        first_media = {eid: parse_time(env.wait(eid, "active", 5)["time"]) for eid in running}
        for eid in running:
            env.stop(eid)
        good, worst_sync, worst_vgap, worst_agap, fails, done = 0, 0.0, 0.0, 0.0, [], []
        for eid in running:
            try:
                done.append(env.wait(eid, "complete", 120))
            except egwtest.world.WorldError as e:  # (an egress that failed at the limit)
                fails.append("%s: %s" % (eid, str(e)[-300:]))
        for ev in done:
            path = ev["outputs"][0]["location"]
            skip = max(1.0, t_steady - first_media[ev["egress_id"]])
            args = ["--max-decode-errors", 0, "--max-audio-gap-ms", 100, "--skip",
                    "%.2f" % skip] + (tile_checks(path, skip) if checks == "tiles" else checks)
            if fmt != "ogg":
                args += ["--max-video-gap-ms", 200]
            try:
                rep = egwtest.check_media(path, *args)
                good += 1
            except egwtest.Failure as e:
                # (the checker's reasons: the lines after the first, before its JSON report)
                why = [l for l in str(e).splitlines()[1:] if l.startswith("FAIL")]
                fails.append("%s: %s" % (ev["egress_id"], "; ".join(why)[:300]))
                # the same analysis without the bars, for the worst figures
                plain, it = [], iter(args)
                for a in it:
                    if str(a).startswith(("--max-", "--min-")):
                        next(it)
                    else:
                        plain.append(a)
                rep = egwtest.check_media(path, *plain)
            for s in [rep.get("sync") or {}] + [p.get("sync") or {}
                                                for p in rep.get("participants") or []]:
                if s.get("max_abs_ms") is not None:
                    worst_sync = max(worst_sync, s["max_abs_ms"])
            worst_vgap = max(worst_vgap, (rep.get("video") or {}).get("max_frame_gap_ms") or 0)
            worst_agap = max(worst_agap, (rep.get("audio") or {}).get("max_packet_delta_ms") or 0)
        return {"cost": cost, "admitted": admitted, "extra_ran": extra_ran, "cpu": busy,
                "wcpu": wcpu, "budget": int(cores * 1000 * UTILISATION),
                "good": good, "sync": worst_sync, "vgap": worst_vgap, "agap": worst_agap,
                "fails": fails}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--kinds", help="comma list of kind names (default: all)")
    ap.add_argument("--worker-cores", type=int, default=1,
                    help="CPUs for the worker and its jobs (capacity_mcores = 1000 x this), "
                         "the others for Janus, the publishers and the broker; 0: all "
                         "processes share every CPU and the worker's capacity is the machine")
    a = ap.parse_args()
    chosen = kinds()
    if a.kinds:
        chosen = {k: v for k, v in chosen.items() if k in a.kinds.split(",")}
    res = {name: run_kind(name, spec, a.seconds, a.worker_cores)
           for name, spec in chosen.items()}
    budget = next(iter(res.values()))["budget"] if res else 0
    if a.worker_cores:
        where = ("the worker and its job processes pinned to %d of the %d cores "
                 "(`capacity_mcores` %d), Janus, the publishers and the broker to the "
                 "other" % (a.worker_cores, os.cpu_count(), a.worker_cores * 1000))
    else:
        where = "Janus, the publishers and the broker on the same cores as the worker"
    mark = "bench_capacity" if a.worker_cores else "bench_capacity_shared"
    md = ["<!-- %s:begin -->" % mark, "",
          "### Egresses per worker at the admission limit (`bench/bench_capacity.py%s`)"
          % ("" if a.worker_cores == 1 else " --worker-cores %d" % a.worker_cores), "",
          "Run %s UTC on this machine (%s, %d cores); %s; one worker, budget %d mc "
          "(capacity x 85 %%); one start more than fits, all at once; once every admitted "
          "egress is active, %.0f s recorded and checked (the files from that moment on). "
          "Quality bars per file: no decode errors, flash-to-beep within 40 ms "
          "(participants), no video gap over 200 ms, no audio gap over 100 ms." % (
              time.strftime("%Y-%m-%d %H:%M", time.gmtime()), platform.machine(),
              os.cpu_count(), where, budget, a.seconds),
          "",
          "| kind | cost (mc) | admitted | the one more ran | worker + jobs CPU (cores) | "
          "machine CPU (cores) | files meeting the bars | worst A/V (ms) | worst video gap "
          "(ms) | worst audio gap (ms) |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in res.items():
        md.append("| %s | %d | %d | %s | %.2f | %.2f | %d of %d | %s | %.0f | %.0f |" % (
            name, r["cost"], r["admitted"], "yes" if r["extra_ran"] else "no", r["wcpu"],
            r["cpu"], r["good"], r["admitted"], "%.1f" % r["sync"] if r["sync"] else "-",
            r["vgap"], r["agap"]))
    for name, r in res.items():
        for f in r["fails"][:5]:
            md.append("")
            md.append("%s: %s" % (name, f))
    md += ["", "<!-- %s:end -->" % mark]
    benchmd.write_block(md)


if __name__ == "__main__":
    main()
