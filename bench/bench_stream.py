"""Benchmark of live outputs: what a room composite's stream, HLS and
thumbnail outputs cost beside its file, and its memory while a stream
destination is frozen.

Measures, in one run on this machine:
  * the job's CPU-seconds per media-second (a steady window) of a room
    composite of 2 publishers (grid, 720p30, H.264 + AAC) writing one MP4,
    and the same with 1 and 6 RTMP destinations (nginx-rtmp servers in the
    test world), with HLS segments, and with thumbnails every 2 s; the
    cases taken in turn, round after round; the first RTMP destination's
    cost is (1 destination - file only), each additional one's
    (6 destinations - 1 destination) / 5 (two per nginx server); a websocket output (16 kHz PCM
    to a WebSocket server of the test world) beside the file;
  * the job's resident memory (VmRSS) every 5 s for 60 s after one of its
    two RTMP servers is frozen (SIGSTOP), with the destination's states.
  * glass-to-RTMP latency: a flash at a publisher to the frame showing it
    written by nginx (its recording's size polled).
Writes the figures to
BENCHMARKS.md (between its bench_stream markers) and prints them. Needs
root (network namespace) and nginx with libnginx-mod-rtmp.

    /usr/bin/python3 bench/bench_stream.py [--rounds N] [--seconds S]
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_composite as bc  # noqa: E402
import benchmd  # noqa: E402
from bench_composite import Bench, Failure, Job, Window  # noqa: E402

N = 2
CASES = ["file", "file + 1 RTMP", "file + 6 RTMP", "file + HLS", "file + thumbnails",
         "file + websocket"]


def outputs(case, eid, servers, rx):
    out = [{"kind": "file", "format": "mp4", "path": eid + ".mp4"}]
    if "websocket" in case:
        out.append({"kind": "websocket", "url": rx.url("/" + eid), "sample_rate": 16000})
    if "RTMP" in case:
        k = int(case.split("+ ")[1].split()[0])
        # (several destinations on one server: each its own stream key)
        out.append({"kind": "stream", "urls": [servers[i % len(servers)].url("%s-%d" % (eid, i))
                                               for i in range(k)]})
    elif "HLS" in case:
        out.append({"kind": "segments", "prefix": "hls/" + eid, "segment_s": 4})
    elif "thumbnails" in case:
        out.append({"kind": "images", "prefix": "img/" + eid, "every_s": 2})
    return out


def run_case(b, case, servers, rx, tag, seconds, warmup):
    eid = "EG_%s" % tag
    job = Job(b, eid, bc.composite_source(), outputs(case, eid, servers, rx),
              {"preset": "H264_720P_30"})
    job.wait("active", 30)
    time.sleep(warmup)
    win = Window(job.p.pid, b.others(N))
    time.sleep(seconds)
    r = win.close()
    job.stop()
    return r


def frozen_run(b, servers, seconds=60, step=5):
    eid = "EG_frozen"
    job = Job(b, eid, bc.composite_source(),
              outputs("file + 2 RTMP", eid, servers, None),
              {"preset": "H264_720P_30"})
    job.wait("active", 30)
    time.sleep(5)
    samples = [(0, bc.egwtest.memory_mb(job.p.pid))]
    servers[1].freeze()
    t0 = time.time()
    try:
        while time.time() - t0 < seconds:
            time.sleep(step)
            samples.append((round(time.time() - t0), bc.egwtest.memory_mb(job.p.pid)))
    finally:
        servers[1].thaw()
    states = []
    for ev in job.events:
        d = ev.get("details") or {}
        if d.get("event") == "stream_state" and ":%d/" % servers[1].port in d.get("url", ""):
            states.append((round(bc.egwtest.parse_time(ev["time"]) - t0, 1), d["state"]))
    job.stop()
    return samples, states


class GlobPoller(bc.SizePoller):
    """SizePoller of the first file matching a pattern (nginx names its
    recordings <stream>-<unix time>.flv)."""

    def __init__(self, pattern):
        self.pattern = pattern
        super().__init__(None)

    def _run(self):
        import glob
        while not self.done and not self.path:
            found = glob.glob(self.pattern)
            self.path = found[0] if found else None
            time.sleep(0.001)
        super()._run()


def glass_to_rtmp(b, servers, seconds=14):
    """Glass-to-RTMP latencies (ms): from a white flash leaving a
    publisher's video source to nginx having written the bytes of the first
    composite frame that shows it (nginx writes each frame it receives to
    its recording as it comes)."""
    eid = "EG_lat"
    width, height = bc.CANVAS["720p"][:2]
    poller = GlobPoller(os.path.join(servers[0].rec_dir, "lat-*.flv"))
    job = Job(b, eid, bc.composite_source(), [{"kind": "stream", "urls": [servers[0].url("lat")]}],
              {"preset": "H264_720P_30"}, duration=seconds)
    job.wait("ending", seconds + 60)
    job.stop(signal_it=False)
    poller.stop()
    path = poller.path
    pics, _, _ = bc.grid_pictures(N, width, height, b.pub_w, b.pub_h)
    packets = bc.video_packets(path)
    tiles, _ = bc.flash_frames(path, pics, width, height)
    lat = bc.flash_latencies(b, N, path, tiles, packets, poller)
    return [v for v in lat if v is not None]


def med(v):
    return statistics.median(v) if v else float("nan")


def write_markdown(a, res, samples, states, lat, started):
    begin, end = "<!-- bench_stream:begin -->", "<!-- bench_stream:end -->"
    md = [begin, "", "### Live outputs (`bench/bench_stream.py`)", "",
          "Run %s UTC on this machine, %d cores, shared; %d rounds, the cases taken in turn; "
          "steady window %d s opening %d s after the job's first media. Job: `egress run` of a "
          "`room_composite` of %d synthetic publishers (640x360 30 fps, VP8 and H.264, Opus), "
          "grid, `H264_720P_30`, one MP4 file, and beside it the output of each case: RTMP "
          "destinations are nginx-rtmp servers of the test world (recording what they get), "
          "HLS segments of 4 s, thumbnails every 2 s at the canvas's size."
          % (started, os.cpu_count(), a.rounds, a.seconds, a.warmup, N), "",
          "| case | job CPU (cores), median (min-max) | more than the file alone (median of each "
          "round's difference) | peak RSS MB |", "|---|---|---|---|"]
    for case in CASES:
        cpu = [r["cpu"] for r in res[case]]
        diffs = [r["cpu"] - b["cpu"] for r, b in zip(res[case], res["file"])]
        md.append("| %s | %.3f (%.3f-%.3f) | %s | %.0f |" % (
            case, med(cpu), min(cpu), max(cpu),
            "" if case == "file" else "%+.3f" % med(diffs), med([r["rss"] for r in res[case]])))
    first = [r["cpu"] - b["cpu"] for r, b in zip(res["file + 1 RTMP"], res["file"])]
    more = [(r6["cpu"] - r1["cpu"]) / 5
            for r6, r1 in zip(res["file + 6 RTMP"], res["file + 1 RTMP"])]
    md += ["", "RTMP destinations: the first costs %.4f core (the 1-destination case over the "
           "file alone: the output's H.264 parser, its one FLV muxer and the destination), "
           "each additional one %.4f core (the 6-destination case over the 1-destination "
           "case, / 5: its queue, connection and sink; target: under 0.01). Medians of each "
           "round's difference; the machine's noise between rounds is of the same order: see "
           "the ranges. The websocket case sends the mix as 16 kHz mono PCM to a Python "
           "websockets server of the test world." % (med(first), med(more)), "",
           "Memory with one of two RTMP servers frozen (SIGSTOP) for %d s: the job's VmRSS "
           "(MB) every 5 s from the freeze: %s. The frozen destination's states (s after the "
           "freeze): %s." % (samples[-1][0], ", ".join("%d s: %.0f" % s for s in samples),
                             ", ".join("%s %s" % (t, s) for t, s in states) or "none"), "",
           "Glass-to-RTMP latency, the same 2-participant composite streamed to one nginx: "
           "from a white flash leaving a publisher's video source (`egw-publish --marks`) to "
           "nginx having written the bytes of the first frame that shows it to its recording "
           "(the file's size polled every ~1 ms; the frame found by decoding the recording, "
           "its bytes by `ffprobe` packet positions), every flash after the first 2 s: "
           "median %.0f ms, p90 %.0f ms, min %.0f, max %.0f over %d flashes (target: under "
           "1 s)." % (med(lat), sorted(lat)[int(0.9 * (len(lat) - 1))] if lat else float("nan"),
                      min(lat) if lat else float("nan"), max(lat) if lat else float("nan"),
                      len(lat)), "", end]
    benchmd.write_block(md)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    a = ap.parse_args()
    a.pub_size, a.small_size = (640, 360), (320, 180)
    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    res = {c: [] for c in CASES}
    with bc.world.World("bstream") as w:
        b = Bench(w, a)
        servers = [w.start_nginx("n%d" % i, 1935 + i) for i in range(3)]
        rx = w.start_ws_receiver("asr", 8765)
        b.ensure(N)
        for r in range(a.rounds):
            for i, case in enumerate(CASES):
                out = run_case(b, case, servers, rx, "r%dc%d" % (r, i), a.seconds, a.warmup)
                res[case].append(out)
                print("round %d %-18s cpu %.3f rss %.0f MB machine %.2f"
                      % (r, case, out["cpu"], out["rss"], out["machine"]), flush=True)
        samples, states = frozen_run(b, servers)
        print("frozen: rss %s states %s" % (samples, states), flush=True)
        lat = glass_to_rtmp(b, servers)
        print("glass-to-RTMP ms: %s" % ["%.0f" % v for v in lat], flush=True)
    write_markdown(a, res, samples, states, lat, started)


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        print("FAIL: %s" % e)
        sys.exit(1)
