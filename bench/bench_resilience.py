"""Media resilience figures, measured in the impaired test world (the worker
in its own namespace; loss and 30 +- 10 ms of delay on the UDP from Janus to
the worker only, tests/world/relay.py):

  * per loss level (0, 2, 5 and 10%), a participant recording (VP8 + Opus
    -> MKV) and a room composite of two participants (grid, 640x360 15 fps
    -> MP4), recorded at the same time: the participant's longest video
    freeze, video frames kept, audio missing and flash-to-beep offsets; the
    composite's longest output frame gap, audio missing and the
    participant's flash-to-beep in its tile;
  * at each level, after them, the reference: bare GStreamer receivers
    (bench/bare_receiver.py: webrtcbin with its defaults, and with do-nack)
    recording the same participant as it arrives, for as long;
  * Janus SIGKILLed mid-recording and started again 2 s later (publishers
    rejoining): how long the worker takes to notice and to be back in the
    room after Janus answers again.

Writes the figures to BENCHMARKS.md (between its bench_resilience markers).

    /usr/bin/python3 bench/bench_resilience.py [--seconds S] [--restarts N]
"""

import argparse
import os
import signal
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_record  # noqa: E402,F401  (sets up the paths of the test world)
import benchmd  # noqa: E402
import egwtest  # noqa: E402

LEVELS = (0.0, 0.02, 0.05, 0.10)
BARE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bare_receiver.py")
BARES = (("bare webrtcbin (defaults)", []), ("bare webrtcbin + do-nack", ["--nack"]))


def publishers(env):
    return [env.w.start_publisher("alice", color="00c000", freq=523, extra=["--marks"]),
            env.w.start_publisher("bob", color="0000ff", freq=660, video="h264",
                                  extra=["--width", "320", "--height", "180",
                                         "--beep-hz", "4500"])]  # alice's are 3000 Hz


def one_level(env, loss, seconds, k):
    env.w.impair(loss=loss)
    s0 = env.w.relay_stats()
    part, comp = "EG_part%d" % k, "EG_comp%d" % k
    env.submit(env.job(part, {"kind": "participant", "participant": "alice"},
                       [{"kind": "file", "format": "mkv", "path": part + ".mkv"}]))
    env.submit(env.job(comp, {"kind": "room_composite", "layout": "grid"},
                       [{"kind": "file", "format": "mp4", "path": comp + ".mp4"}],
                       encoding={"width": 640, "height": 360, "fps": 15}))
    env.wait(part, "active", 30)
    env.wait(comp, "active", 30)
    time.sleep(seconds)
    env.stop(part)
    env.stop(comp)
    p = env.wait(part, "complete", 30)["outputs"][0]["location"]
    c = env.wait(comp, "complete", 30)["outputs"][0]["location"]
    s1 = env.w.relay_stats()
    # Then the reference receivers, together, on their own (the relay and
    # the machine no busier than for the worker's run).
    bares = []
    for j, (_, extra) in enumerate(BARES):
        out = os.path.join(env.w.dir, "bare%d_%d.mkv" % (k, j))
        bares.append((out, env.w.run(["/usr/bin/python3", BARE, "--janus", env.w.janus_url,
                                      "--participant", "alice", "--seconds", seconds,
                                      "--out", out] + extra, name="bare%d_%d" % (k, j))))
    for out, proc in bares:
        if proc.wait(timeout=seconds + 30) != 0:
            raise egwtest.Failure("%s: exit %s\n%s" % (proc.egw_name, proc.returncode,
                                                       env.w.tail(proc.egw_name)))
    # alice in the composite: her tile's flashes, her beeps (bob's beep higher)
    tile = egwtest.JobLog(env.w, "worker", comp).tiles_at(time.time() - 3)["alice"]
    rc = egwtest.check_media(c)
    c_sync = participant(egwtest.check_media(c, "--crop", tile))["sync"]
    r = dict(participant(egwtest.check_media(p)),
             loss=100.0 * (s1["udp_dropped"] - s0["udp_dropped"]) / max(1, s1["udp"] - s0["udp"]),
             c_gap=rc["video"]["max_frame_gap_ms"], c_fps=rc["video"].get("fps"),
             c_a_gap=rc["audio"].get("max_packet_gap_ms") or 0, c_sync=c_sync)
    r["bare"] = [participant(egwtest.check_media(out)) for out, _ in bares]
    return r


def fmt_sync(s):
    """Median (min..max; pairs counted of pairs found)."""
    return "%+.0f ms (%+.0f..%+.0f; %d of %d)" % s if s else "no pair seen"


def participant(rep):
    """A participant file's (or tile's) figures. Flash-to-beep leaves out
    the flashes whose time only bounds their onset (egwtest.onset_offsets)."""
    pairs = rep["sync"].get("pairs") or []
    offs = egwtest.onset_offsets(rep)
    return {"freeze": rep["video"]["max_frame_gap_ms"], "frames": rep["video"]["frames"],
            "dur": rep["duration"], "a_gap": rep["audio"].get("max_packet_gap_ms") or 0,
            "sync": ((statistics.median(offs), min(offs), max(offs), len(offs), len(pairs))
                     if offs else None)}


def restart(env, pubs, rounds):
    out = []
    env.submit(env.job("EG_restart", {"kind": "participant", "participant": "alice"},
                       [{"kind": "file", "format": "mkv", "path": "EG_restart.mkv"}],
                       limits={"empty_room_timeout_s": 60}))
    env.wait("EG_restart", "active", 30)
    for r in range(rounds):
        time.sleep(4)
        seen = len(env.status.events("EG_restart"))
        t_kill = time.time()
        env.w.stop(env.w.janus_proc, sig=signal.SIGKILL)
        for p in pubs:  # their sessions died with Janus
            env.w.stop(p.proc, sig=signal.SIGKILL)
        time.sleep(2)
        env.w.restart_janus()
        t_back = time.time()
        pubs = publishers(env)
        lost = back = None
        deadline = time.time() + 30
        while time.time() < deadline and back is None:
            for e in env.status.events("EG_restart")[seen:]:
                d = (e.get("details") or {}).get("event")
                if d == "sfu_disconnected" and lost is None:
                    lost = egwtest.parse_time(e["time"])
                if d == "sfu_reconnected":
                    back = egwtest.parse_time(e["time"])
            time.sleep(0.1)
        if lost is None or back is None:
            raise egwtest.Failure("round %d: no disconnect/reconnect events" % r)
        out.append((lost - t_kill, back - t_back))
    env.stop("EG_restart")
    env.wait("EG_restart", "complete", 30)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--restarts", type=int, default=3)
    ap.add_argument("--note", default="", help="said of this run in BENCHMARKS.md "
                    "(e.g. what else ran on the machine)")
    a = ap.parse_args()
    rows = []
    with egwtest.Env("benchres", max_jobs=3, worker_env={"EGRESS_LOG_LEVEL": "debug"},
                     impair={"loss": 0.0, "delay_ms": 30, "jitter_ms": 10, "seed": 11}) as env:
        pubs = publishers(env)
        for p in pubs:
            p.wait_for("webrtcup", 15)
        for k, loss in enumerate(LEVELS):
            rows.append((loss, one_level(env, loss, a.seconds, k)))
            print(rows[-1], flush=True)
        env.w.impair(loss=0.0)
        rec = restart(env, pubs, a.restarts)
    md = ["<!-- bench_resilience:begin -->", "",
          "### Loss and SFU restarts (`bench/bench_resilience.py`)", "",
          "Run %s, %d cores, in the impaired test world: loss and 30 +- 10 ms of delay "
          "(hence reordering) on the UDP from Janus to the worker only. At each level a "
          "participant recording (VP8 640x360 30 fps + Opus -> MKV) and a room composite of "
          "two participants (grid 640x360 15 fps -> MP4) record %d s at the same time."
          % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.cpu_count(), a.seconds)
          + (" " + a.note if a.note else ""),
          "",
          "| loss asked (measured) | participant: longest video freeze | video frames | "
          "audio: largest hole | flash-to-beep median (min..max, pairs) | composite: longest frame "
          "gap | composite fps | composite audio: largest hole | composite: the participant's "
          "flash-to-beep |",
          "|---|---|---|---|---|---|---|---|---|"]
    for loss, r in rows:
        md.append("| %.0f%% (%.1f%%) | %.0f ms | %d in %.1f s | %.0f ms | %s | %.0f ms | %s | "
                  "%.0f ms | %s |" % (100 * loss, r["loss"], r["freeze"], r["frames"], r["dur"],
                                      r["a_gap"], fmt_sync(r["sync"]), r["c_gap"], r["c_fps"],
                                      r["c_a_gap"], fmt_sync(r["c_sync"])))
    md += ["", "The same participant right after, as long, at the same loss, recorded by the "
           "reference receivers "
           "(bench/bare_receiver.py: webrtcbin subscribing to Janus, VP8 and Opus written "
           "as they arrive, no decoding):", "",
           "| loss | receiver | longest video freeze | video frames | audio: largest hole | "
           "flash-to-beep |", "|---|---|---|---|---|---|"]
    for loss, r in rows:
        for (name, _), b in zip(BARES, r["bare"]):
            md.append("| %.0f%% | %s | %.0f ms | %d in %.1f s | %.0f ms | %s |"
                      % (100 * loss, name, b["freeze"], b["frames"], b["dur"], b["a_gap"],
                         fmt_sync(b["sync"])))
    noticed = [x[0] for x in rec]
    back = [x[1] for x in rec]
    md += ["",
           "Janus SIGKILLed and started again 2 s later, %d times, during one participant "
           "recording: noticed %.1f s after the kill (median; %.1f-%.1f), back in the room "
           "%.1f s after Janus answered again (median; %.1f-%.1f). The recording goes on in "
           "the same file, with a gap as long as the participant was away."
           % (len(rec), statistics.median(noticed), min(noticed), max(noticed),
              statistics.median(back), min(back), max(back)), "",
           "The worker asks for lost packets (NACK; Janus answers with RTX) and for a "
           "keyframe (PLI) when one stays lost: each freeze above is a packet whose "
           "retransmission was lost or late, until the next keyframe. Janus keeps a "
           "subscriber's packets only 200 ms (its min_nack_queue) and does not answer audio "
           "NACKs (it does not offer them for Opus). The composite's output stays at its "
           "frame rate whatever its inputs do. Flash-to-beep under loss is not only timing: "
           "a flash whose first frames were lost is seen at its first frame that came, "
           "late; pairs whose flash follows missing frames, or has fewer white frames than "
           "a whole flash (some came damaged), are left out (\"n of m\": pairs counted of "
           "pairs found). The bare receivers "
           "keep no keyframe requests of their own (GStreamer's depayloader asks for none "
           "by default) and, without NACK, repair nothing; with do-nack they ask, but "
           "webrtcbin's default reports give Janus no round-trip time, so Janus keeps no "
           "packets to resend (docs/architecture.md, \"Loss on the SFU's leg\").", "",
           "<!-- bench_resilience:end -->"]
    benchmd.write_block(md)


if __name__ == "__main__":
    main()
