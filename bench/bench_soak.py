"""Long recordings: a participant recording (VP8 + Opus -> MKV) and a room
composite of the same participant (grid 640x360 30 fps -> MP4) run side
by side for --minutes; each job process's resident memory is sampled every
10 s, and flash-to-beep (A/V sync) is measured over each file's first and
last minute. Run by hand (the issue's figure is 120 minutes); CI runs the
short churn test instead.

Writes the figures to BENCHMARKS.md (between its bench_soak markers).

    /usr/bin/python3 bench/bench_soak.py [--minutes M]
"""

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_record  # noqa: E402,F401  (sets up the paths of the test world)
import benchmd  # noqa: E402
import egwtest  # noqa: E402


def rss_mb(pid):
    """VmRSS in MB, or None once the process is gone."""
    try:
        return egwtest.memory_mb(pid)
    except OSError:
        return None


def sync(path, start, end):
    """Flash-to-beep (min, max, pairs) between start and end (s), and the
    audio's overlaps minus holes (ms) from the file's start to end: how
    far its samples played back to back have strayed from their
    timestamps by then (check_media seeks to a window far into a file and
    measures there by the timestamps; this adds what a player playing
    every sample from the start would hear on top)."""
    p = subprocess.run(["/usr/bin/python3", egwtest.CHECK, path, "--json", "--start", str(start),
                        "--end", str(end)], stdout=subprocess.PIPE, text=True, timeout=7200)
    rep = json.loads(p.stdout)
    offs = [x["offset_ms"] for x in rep["sync"].get("pairs") or []]
    audio = next((s for s in rep["streams"] if s.get("type") == "audio"), {})
    drift = (audio.get("overlap_total_ms") or 0.0) - (audio.get("hole_total_ms") or 0.0)
    return ((min(offs), max(offs), len(offs)) if offs else None), drift


def fmt(s):
    return "%+.0f..%+.0f ms (%d)" % s if s else "no pair seen"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=20)
    a = ap.parse_args()
    secs = a.minutes * 60
    with egwtest.Env("soak", max_jobs=2) as env:
        alice = env.w.start_publisher("alice", color="00c000", freq=523, extra=["--marks"])
        alice.wait_for("webrtcup", 15)
        bench_record.wait_assigned(env)
        env.submit(env.job("EG_soak_part", {"kind": "participant", "participant": "alice"},
                           [{"kind": "file", "format": "mkv", "path": "EG_soak_part.mkv"}],
                           limits={"max_duration_s": int(secs) + 600}))
        env.wait("EG_soak_part", "active", 30)
        part_pid = env.job_pids()[0]
        env.submit(env.job("EG_soak_comp", {"kind": "room_composite", "layout": "grid"},
                           [{"kind": "file", "format": "mp4", "path": "EG_soak_comp.mp4"}],
                           encoding={"width": 640, "height": 360, "fps": 30},
                           limits={"max_duration_s": int(secs) + 600}))
        env.wait("EG_soak_comp", "active", 30)
        comp_pid = [p for p in env.job_pids() if p != part_pid][0]
        t0 = time.time()
        rss = {"part": [], "comp": []}
        while time.time() - t0 < secs:
            rss["part"].append((time.time() - t0, rss_mb(part_pid)))
            rss["comp"].append((time.time() - t0, rss_mb(comp_pid)))
            # in the log as they come: a long run's samples outlive a crash
            print("rss t=%.0f s participant %s MB composite %s MB"
                  % (rss["part"][-1][0], rss["part"][-1][1], rss["comp"][-1][1]), flush=True)
            time.sleep(10)
        env.stop("EG_soak_part")
        env.stop("EG_soak_comp")
        part = env.wait("EG_soak_part", "complete", 120)["outputs"][0]
        comp = env.wait("EG_soak_comp", "complete", 120)["outputs"][0]
        rows = []
        for name, out, key in (("participant recording (MKV)", part, "part"),
                               ("room composite (MP4)", comp, "comp")):
            d = out["duration_s"]
            (first, _), (last, drift) = sync(out["location"], 0, 60), sync(out["location"], d - 60, d)
            print("%s: A/V first minute %s, last minute %s, audio drift %+.0f ms"
                  % (name, fmt(first), fmt(last), drift), flush=True)
            samples = [m for t, m in rss[key] if m is not None]
            at2 = next((m for t, m in rss[key] if t >= 120 and m is not None), samples[0])
            rows.append("| %s | %.1f min | %s | %s | %+.0f ms | %.0f MB | %.0f MB | %.0f MB |"
                        % (name, d / 60, fmt(first), fmt(last), drift, at2, samples[-1],
                           max(samples)))
    md = ["<!-- bench_soak:begin -->", "",
          "### Long recordings (`bench/bench_soak.py`)", "",
          "Run %s, %d cores: one participant (VP8 640x360 30 fps + Opus, a flash and a beep "
          "every 2 s) recorded as a participant egress and as a room composite (grid 640x360 30 fps), side by "
          "side, %.0f minutes. A/V: flash-to-beep over the first and the last minute of each "
          "file (min..max, pairs), by the file's timestamps; audio drift: the audio's "
          "overlaps minus its holes over the whole file (what playing every sample from the "
          "start adds to the last minute's figure). RSS of each job process, sampled every 10 s."
          % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.cpu_count(), a.minutes),
          "",
          "| egress | length | A/V first minute | A/V last minute | audio drift | RSS at 2 min "
          "| RSS at the end | RSS max |", "|---|---|---|---|---|---|---|---|"] + rows + [
          "", "<!-- bench_soak:end -->"]
    benchmd.write_block(md)


if __name__ == "__main__":
    main()
