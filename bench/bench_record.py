"""Benchmark of pass-through recording (track and participant egress).

Measures, in one run on this machine:
  * start latency: start request produced to Kafka -> first media byte
    written, through the worker (Kafka + job process + Janus join), and the
    same job with `egress run` (no Kafka) as the baseline;
  * CPU-seconds per media-second of a job process recording one audio
    track, one video track, and a participant (both), side by side with
    the cheapest equivalent: Janus rtp_forward of the same publisher to
    plain RTP on loopback, recorded by a gst-launch-1.0 pipeline
    (jitterbuffer, depayloader, muxer; no ICE/DTLS/SRTP).
Writes the figures to BENCHMARKS.md (between its bench_record markers) and
prints them. Needs root (network namespace), like the integration tests.

    /usr/bin/python3 bench/bench_record.py [--runs N] [--seconds S]
"""

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("EGW_SOURCE_DIR", ROOT)
os.environ.setdefault("EGW_BUILD_DIR", os.path.join(ROOT, "build"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import benchmd  # noqa: E402
import egwtest  # noqa: E402

from procstat import cpu_of  # noqa: E402


def job_pid(env):
    """The one job process of this world (other worlds may run theirs)."""
    pids = env.job_pids()
    if len(pids) != 1:
        raise egwtest.Failure("expected one job process, found %s" % pids)
    return pids[0]


def steady_cpu(pid, seconds):
    """CPU per second of pid over `seconds`, after its start-up."""
    c0, t0 = cpu_of(pid), time.time()
    time.sleep(seconds)
    return (cpu_of(pid) - c0) / (time.time() - t0)


def wait_assigned(env, timeout=30):
    """Until the worker holds partitions of the jobs topic (after boot the
    group needs a few seconds: not what a running fleet pays per start)."""
    env.w.wait_log("worker", "jobs partitions assigned", timeout)


def start_latencies(env, runs):
    src = {"kind": "participant", "participant": "alice"}
    wait_assigned(env)
    out = []
    for i in range(runs):
        eid = "EG_lat%d" % i
        env.submit(env.job(eid, src, [{"kind": "file", "format": "mkv", "path": eid + ".mkv"}]))
        ev = env.wait(eid, "active", timeout=30)
        out.append((egwtest.parse_time(ev["started_at"]) - env.t_produced[eid]) * 1000)
        env.stop(eid)
        env.wait(eid, "complete", timeout=30)
    return out


def run_latencies(env, runs, binary=None, tag="run"):
    """Baseline: the same job with `egress run`, no Kafka (with binary: an
    earlier build's, for a comparison in the same run)."""
    out = []
    for i in range(runs):
        eid = "EG_%s%d" % (tag, i)
        job = env.job(eid, {"kind": "participant", "participant": "alice"},
                      [{"kind": "file", "format": "mkv", "path": eid + ".mkv"}])
        path = os.path.join(env.w.dir, eid + ".json")
        with open(path, "w") as f:
            json.dump(job, f)
        t0 = time.time()
        p = env.w.run([binary or egwtest.EGRESS, "run", path, "--duration", "1.5"], name=eid,
                      stdout=subprocess.PIPE, env={"EGRESS_STORAGE_DIR": env.out})
        lines, _ = p.communicate(timeout=30)
        for line in lines.decode().splitlines():
            ev = json.loads(line)
            if ev["status"] == "active":
                out.append((egwtest.parse_time(ev["started_at"]) - t0) * 1000)
    return out


def job_cpu(env, eid, source, fmt, seconds):
    """(steady CPU-s per s, whole-job CPU-s per media-s) of one job process."""
    env.submit(env.job(eid, source, [{"kind": "file", "format": fmt, "path": eid + "." + fmt}]))
    env.wait(eid, "active", timeout=30)
    time.sleep(1)
    steady = steady_cpu(job_pid(env), seconds)
    env.stop(eid)
    ev = env.wait(eid, "complete", timeout=30)
    return steady, ev["usage"]["cpu_s"] / ev["outputs"][0]["duration_s"]


def run_cpu(env, binary, eid, source, fmt, seconds):
    """Steady CPU per second of `egress run` of binary (an earlier build)."""
    job = env.job(eid, source, [{"kind": "file", "format": fmt, "path": eid + "." + fmt}])
    path = os.path.join(env.w.dir, eid + ".json")
    with open(path, "w") as f:
        json.dump(job, f)
    p = env.w.run([binary, "run", path, "--duration", "%.1f" % (seconds + 4)], name=eid,
                  env={"EGRESS_STORAGE_DIR": env.out})
    time.sleep(3)
    steady = steady_cpu(p.pid, seconds)
    p.wait(30)
    return steady


def baseline_cpu(env, pub_id, kinds, seconds, rnd=0):
    """rtp_forward to loopback + gst-launch-1.0 recording the same media."""
    branches, fwd = [], {"request": "rtp_forward", "room": 1234, "publisher_id": pub_id,
                         "host": "198.18.0.2"}
    if "audio" in kinds:
        fwd["audio_port"] = 5002
        branches.append("udpsrc port=5002 ! application/x-rtp,media=audio,"
                        "encoding-name=OPUS,clock-rate=48000,payload=111 ! rtpjitterbuffer latency=200 ! "
                        "rtpopusdepay ! opusparse ! queue ! mux.")
    if "video" in kinds:
        fwd["video_port"] = 5004
        branches.append("udpsrc port=5004 ! application/x-rtp,media=video,"
                        "encoding-name=VP8,clock-rate=90000,payload=96 ! rtpjitterbuffer latency=200 ! "
                        "rtpvp8depay ! queue ! mux.")
    path = os.path.join(env.out, "baseline-%s-%d.mkv" % ("-".join(kinds), rnd))
    argv = ["gst-launch-1.0", "-q", "-e"] + " ".join(branches).split() + \
        ["matroskamux", "name=mux", "!", "filesink", "location=" + path]
    p = env.w.run(argv, name="baseline-%s-%d" % ("-".join(kinds), rnd))
    time.sleep(0.5)
    r = env.w.videoroom_request(fwd)
    time.sleep(1)
    steady = steady_cpu(p.pid, seconds)
    os.kill(p.pid, signal.SIGINT)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = status
    for key in ("audio_stream_id", "video_stream_id"):
        if key in r.get("rtp_stream", {}):
            env.w.videoroom_request({"request": "stop_rtp_forward", "room": 1234,
                                     "publisher_id": pub_id, "stream_id": r["rtp_stream"][key]})
    rep = egwtest.check_media(path)
    return steady, (ru.ru_utime + ru.ru_stime) / rep["duration"]


def write_markdown(rows, lat, lat_full, run_lat, seconds, prev_lat=None, prev_name=None,
                   rounds=1):
    begin, end = "<!-- bench_record:begin -->", "<!-- bench_record:end -->"
    md = [begin, "",
          "### Pass-through recording (`bench/bench_record.py`)", "",
          "Run %s on %s, %d cores; %d s of media per case; publisher: synthetic "
          "640x360 30 fps VP8 + Opus." % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                           platform.node() and "this machine", os.cpu_count(),
                                           seconds), "",
          "Start latency, start request produced -> first media byte written (ms):", "",
          "| path | runs | median | min | max |", "|---|---|---|---|---|"]
    for name, vals in (("worker with free capacity: Kafka -> job process -> Janus join", lat),
                       ("worker that was full (max_jobs=1): includes rejoining the group",
                        lat_full),
                       ("baseline: `egress run` (no Kafka)", run_lat)) + \
            ((("earlier build `%s`: `egress run` (no Kafka)" % prev_name, prev_lat),)
             if prev_lat is not None else ()):
        if not vals:
            raise egwtest.Failure("no start latencies for: %s" % name)
        if vals:
            md.append("| %s | %d | %.0f | %.0f | %.0f |" % (name, len(vals), statistics.median(vals),
                                                          min(vals), max(vals)))
    md += ["", "Most of a start, and most of its spread, is the RSA key GStreamer's DTLS makes "
           "for each job process's certificate (0.1-1 s of CPU, random prime search); the job "
           "starts it on a thread of its own as soon as it starts.",
           "", "CPU cost, CPU-seconds per media-second (lower is better), medians of %d "
           "rounds taken in turn. Steady: sampled from /proc over %d s while recording; "
           "whole: the job's own getrusage (start-up and finalising included) over the "
           "file's duration." % (rounds, seconds), "",
           "| case | tracks | egress steady | per track | baseline steady | ratio | egress whole "
           "| baseline whole |" + (" earlier build steady |" if prev_lat is not None else ""),
           "|---|---|---|---|---|---|---|---|" + ("---|" if prev_lat is not None else "")]
    for name, tracks, ours, base, ours_all, base_all, prev in rows:
        md.append("| %s | %d | %.4f | %.4f | %.4f | %.2fx | %.4f | %.4f |" % (
            name, tracks, ours, ours / tracks, base, ours / base if base else 0, ours_all,
            base_all) + (" %.4f |" % prev if prev is not None else ""))
    md += ["", "Baseline: Janus `rtp_forward` of the same publisher to plain RTP inside the "
           "test namespace, recorded by `gst-launch-1.0 udpsrc ! rtpjitterbuffer ! depay ! "
           "matroskamux ! filesink`. The job process also does what the baseline does not: "
           "ICE, DTLS and SRTP decryption of a WebRTC subscription, RTCP, Janus signalling "
           "and its start-up. A track job subscribes to its one stream only (Janus is asked "
           "not to send the participant's other streams).", "",
           "Earlier figures, for comparison (2026-11-25, same method, one subscription per "
           "participant that received every stream): start median 511 ms through Kafka, "
           "451 ms with `egress run`; steady CPU audio track 0.0175, video track 0.0170, "
           "participant 0.0220.", "", end]
    benchmd.write_block(md)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--rounds", type=int, default=3,
                    help="CPU samples per case (medians are reported)")
    ap.add_argument("--previous", metavar="BINARY",
                    help="an earlier build's egress, whose `egress run` start latency is "
                         "measured in the same run for comparison")
    ap.add_argument("--previous-name", default="previous",
                    help="how the earlier build is named in BENCHMARKS.md (e.g. a commit)")
    a = ap.parse_args()
    with egwtest.Env("benchfull", max_jobs=1) as env:
        env.w.start_publisher("alice", color="ff0000", freq=440, video="vp8").wait_for("webrtcup", 15)
        time.sleep(1)
        lat_full = start_latencies(env, a.runs)
    with egwtest.Env("bench", max_jobs=2) as env:
        alice = env.w.start_publisher("alice", color="ff0000", freq=440, video="vp8")
        pub_id = int(alice.wait_for("joined", 15).split()[1])
        alice.wait_for("webrtcup", 15)
        time.sleep(1)
        lat = start_latencies(env, a.runs)
        run_lat = run_latencies(env, a.runs)
        prev_lat = run_latencies(env, a.runs, a.previous, "prev") if a.previous else None
        rows = []
        cases = (("audio track (Opus -> Ogg)", {"kind": "track", "participant": "alice",
                                                 "media": "audio"}, "ogg", ["audio"]),
                 ("video track (VP8 -> WebM)", {"kind": "track", "participant": "alice",
                                                "media": "video"}, "webm", ["video"]),
                 ("participant (VP8 + Opus -> MKV)", {"kind": "participant",
                                                       "participant": "alice"}, "mkv",
                  ["audio", "video"]))
        # Each figure is the median of --rounds samples, the cases taken in
        # turn (ours, the baseline, the earlier build), so that the load of
        # a shared machine falls on all of them alike.
        samples = {i: [] for i in range(len(cases))}
        for rnd in range(a.rounds):
            for i, (name, src, fmt, kinds) in enumerate(cases):
                steady, whole = job_cpu(env, "EG_cpu%d_%d" % (i, rnd), src, fmt, a.seconds)
                bsteady, bwhole = baseline_cpu(env, pub_id, kinds, a.seconds, rnd)
                prev = run_cpu(env, a.previous, "EG_prevcpu%d_%d" % (i, rnd), src, fmt,
                               a.seconds) if a.previous else None
                samples[i].append((steady, bsteady, whole, bwhole, prev))
        med = statistics.median
        for i, (name, src, fmt, kinds) in enumerate(cases):
            cols = list(zip(*samples[i]))
            rows.append((name, len(kinds), med(cols[0]), med(cols[1]), med(cols[2]),
                         med(cols[3]), med(cols[4]) if a.previous else None))
    write_markdown(rows, lat, lat_full, run_lat, a.seconds, prev_lat, a.previous_name,
                   a.rounds)


if __name__ == "__main__":
    main()
