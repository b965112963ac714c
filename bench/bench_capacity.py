"""How many egresses of each kind one worker holds at its admission limit,
and whether every recording still meets the quality bars there.

For each kind, one worker with its default budget (cores x 85 %) gets one
start more than its admission costs allow, all at once: it runs what fits
(the last start is left for the group: there is no other worker), every
egress records for --seconds, and then each file is checked by the
independent checker: no decode errors, flash-to-beep offset within 40 ms,
no video gap over 200 ms, no audio gap over 100 ms. The machine's CPU
(/proc/stat, all processes: Janus and the publishers too) is sampled over
the steady part. Writes the figures to BENCHMARKS.md (bench_capacity).
Needs root (network namespace), like the integration tests.

    /usr/bin/python3 bench/bench_capacity.py [--seconds S] [--kinds a,b]
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

BUDGET = int(os.cpu_count() * 1000 * 0.85)
PEOPLE = [("p1", "ff0000", 440, "vp8"), ("p2", "00ff00", 550, "h264"),
          ("p3", "0000ff", 660, "vp8"), ("p4", "ffff00", 770, "h264")]


def kinds():
    """name: (cost mc, publishers, source, encoding, output format, checks)"""
    part = {"kind": "participant", "participant": "p1"}
    return {
        "participant": (50, 1, part, None, "mkv",
                        ["--max-sync-ms", 40, "--min-markers", 3]),
        "track (audio)": (20, 1, {"kind": "track", "participant": "p1", "media": "audio"}, None,
                          "ogg", ["--min-markers", 3]),
        "room_composite 720p30 grid of 4": (
            350, 4, {"kind": "room_composite", "layout": "grid"},
            {"width": 1280, "height": 720, "fps": 30}, "mp4", ["--min-markers", 3]),
    }


def cpu_times():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v), v[3] + v[4]  # total, idle + iowait


def run_kind(name, spec, seconds):
    cost, n_pubs, source, encoding, fmt, checks = spec
    admitted = BUDGET // cost
    with egwtest.Env("bcap", max_jobs=admitted + 10) as env:
        for pid, color, freq, video in PEOPLE[:n_pubs]:
            env.w.start_publisher(pid, color=color, freq=freq, video=video).wait_for(
                "webrtcup", 30)
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
        t0, i0 = cpu_times()
        time.sleep(seconds)
        t1, i1 = cpu_times()
        busy = (t1 - t0 - (i1 - i0)) / float(t1 - t0) * os.cpu_count()
        for eid in running:
            env.stop(eid)
        done = [env.wait(eid, "complete", 120) for eid in running]
        good, worst_sync, worst_vgap, worst_agap, fails = 0, 0.0, 0.0, 0.0, []
        for ev in done:
            path = ev["outputs"][0]["location"]
            args = ["--max-decode-errors", 0, "--max-audio-gap-ms", 100, "--skip", 1] + checks
            if fmt != "ogg":
                args += ["--max-video-gap-ms", 200]
            try:
                rep = egwtest.check_media(path, *args)
                good += 1
            except egwtest.Failure as e:
                # (the checker's reasons: the lines after the first, before its JSON report)
                why = [l for l in str(e).splitlines()[1:] if l.strip() and
                       not l.lstrip().startswith(("{", "}", '"'))]
                fails.append("%s: %s" % (ev["egress_id"], "; ".join(why)[:300]))
                rep = egwtest.check_media(path)
            s = rep.get("sync") or {}
            if s.get("max_abs_ms") is not None:
                worst_sync = max(worst_sync, s["max_abs_ms"])
            worst_vgap = max(worst_vgap, (rep.get("video") or {}).get("max_frame_gap_ms") or 0)
            worst_agap = max(worst_agap, (rep.get("audio") or {}).get("max_packet_delta_ms") or 0)
        return {"cost": cost, "admitted": admitted, "extra_ran": extra_ran, "cpu": busy,
                "good": good, "sync": worst_sync, "vgap": worst_vgap, "agap": worst_agap,
                "fails": fails}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--kinds", help="comma list of kind names (default: all)")
    a = ap.parse_args()
    chosen = kinds()
    if a.kinds:
        chosen = {k: v for k, v in chosen.items() if k in a.kinds.split(",")}
    res = {name: run_kind(name, spec, a.seconds) for name, spec in chosen.items()}
    md = ["<!-- bench_capacity:begin -->", "",
          "### Egresses per worker at the admission limit (`bench/bench_capacity.py`)", "",
          "Run %s UTC on this machine (%s, %d cores; Janus, the publishers and the broker "
          "on the same cores); one worker, default budget %d mc (cores x 85 %%); one start "
          "more than fits, all at once; %.0f s recorded. Quality bars per file: no decode "
          "errors, flash-to-beep within 40 ms (participants), no video gap over 200 ms, no "
          "audio gap over 100 ms." % (time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
                                      platform.machine(), os.cpu_count(), BUDGET, a.seconds),
          "",
          "| kind | cost (mc) | admitted | the one more ran | machine CPU (cores) | files "
          "meeting the bars | worst A/V (ms) | worst video gap (ms) | worst audio gap (ms) |",
          "|---|---|---|---|---|---|---|---|---|"]
    for name, r in res.items():
        md.append("| %s | %d | %d | %s | %.2f | %d of %d | %s | %.0f | %.0f |" % (
            name, r["cost"], r["admitted"], "yes" if r["extra_ran"] else "no", r["cpu"],
            r["good"], r["admitted"], "%.1f" % r["sync"] if r["sync"] else "-",
            r["vgap"], r["agap"]))
    for name, r in res.items():
        for f in r["fails"][:5]:
            md.append("")
            md.append("%s: %s" % (name, f))
    md += ["", "<!-- bench_capacity:end -->"]
    benchmd.write_block(md)


if __name__ == "__main__":
    main()
