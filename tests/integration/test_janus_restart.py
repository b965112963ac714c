"""Janus restarts mid-egress (SIGKILL, back 2 s later, its publishers
rejoining as clients do): a participant recording and a room composite go
on through it. Each reports the loss (`sfu_disconnected`, with its reason)
and the return (`sfu_reconnected`, with how long the SFU was gone) on the
status topic, makes a new session and resubscribes by itself within a few
seconds of Janus's return; the participant's file has a gap no longer than
the outage, not an end, with sound and picture in sync on both sides; the
composite's output never stops (clock-driven) and shows the participants
again. Both end `complete` when stopped."""

import signal
import time

import egwtest
from egwtest import expect

# Janus gone for DOWN_S; the egresses must be back in the room within
# BACK_S of its return (generous: under the sanitizers a new session, its
# subscriptions and their DTLS take several times longer).
DOWN_S = 2.0
BACK_S = 8.0 if egwtest.SANITIZED else 4.0


def publishers(env):
    return [env.w.start_publisher("alice", color="00c000", freq=523, extra=["--marks"]),
            env.w.start_publisher("bob", color="0000ff", freq=660, video="h264",
                                  extra=["--width", "320", "--height", "180"])]


def test():
    # debug: the composite's scenes are in its log (egwtest.JobLog)
    with egwtest.Env("jrestart", worker_env={"EGRESS_LOG_LEVEL": "debug"}) as env:
        pubs = publishers(env)
        for p in pubs:
            p.wait_for("webrtcup", 15)
        env.submit(env.job("EG_jr_part", {"kind": "participant", "participant": "alice"},
                           [{"kind": "file", "format": "mkv", "path": "{egress_id}.mkv"}],
                           limits={"empty_room_timeout_s": 30}))
        env.submit(env.job("EG_jr_comp", {"kind": "room_composite", "layout": "grid"},
                           [{"kind": "file", "format": "mp4", "path": "{egress_id}.mp4"}],
                           encoding={"width": 640, "height": 360, "fps": 15},
                           limits={"empty_room_timeout_s": 30}))
        env.wait("EG_jr_part", "active", 30)
        env.wait("EG_jr_comp", "active", 30)
        time.sleep(7)  # markers every 2 s: at least two in the window before

        t_kill = time.time()
        env.w.stop(env.w.janus_proc, sig=signal.SIGKILL)
        for p in pubs:  # their sessions died with Janus
            env.w.stop(p.proc, sig=signal.SIGKILL)
        for eid in ("EG_jr_part", "EG_jr_comp"):
            lost, t_lost = egwtest.wait_detail(env, eid, "sfu_disconnected", timeout=15)
            expect(lost["status"] == "active" and lost["details"].get("reason"),
                   "%s: the loss reported with its reason: %s" % (eid, lost["details"]))
            print("%s: noticed %.1f s after the kill" % (eid, t_lost - t_kill), flush=True)
        time.sleep(max(0.0, DOWN_S - (time.time() - t_kill)))

        env.w.restart_janus()
        t_back = time.time()
        pubs = publishers(env)
        for p in pubs:
            p.wait_for("webrtcup", 15)
        for eid in ("EG_jr_part", "EG_jr_comp"):
            ev, t_seen = egwtest.wait_detail(env, eid, "sfu_reconnected", timeout=BACK_S + 5)
            back_s = egwtest.parse_time(ev["time"]) - t_back
            expect(back_s <= BACK_S, "%s: back in the room %.1f s after Janus's return "
                   "(bound %.0f s)" % (eid, back_s, BACK_S))
            lost = egwtest.detail_events(env.status.events(eid), "sfu_disconnected")[0]
            gone_s = egwtest.parse_time(ev["time"]) - egwtest.parse_time(lost["time"])
            expect(abs(ev["details"]["down_s"] - gone_s) <= 0.3,
                   "%s: down_s %.1f is the time from the loss to the return (%.1f s)"
                   % (eid, ev["details"]["down_s"], gone_s))
        t_media = time.time()
        time.sleep(10)
        env.stop("EG_jr_part")
        env.stop("EG_jr_comp")
        part = env.wait("EG_jr_part", "complete", 30)
        comp = env.wait("EG_jr_comp", "complete", 30)
        t_end = time.time()
        for eid in ("EG_jr_part", "EG_jr_comp"):
            expect(not [e for e in env.status.events(eid) if e["status"] == "failed"],
                   "%s never failed" % eid)
        expect(env.worker.poll() is None, "the worker is still running")

        # The participant: before and after, in sync, the gap no longer
        # than the time alice was away: from the kill to the worker's
        # "receiving video of alice" after the return (the new
        # subscription's media), plus a keyframe's wait.
        back = egwtest.log_times(env.w, "EG_jr_part", "receiving video vp8 of alice")
        expect(len(back) == 2 and back[1] > t_kill,
               "participant: alice's video received before and after the outage (%d times)"
               % len(back))
        gap_wall = back[-1] - t_kill
        loc = part["outputs"][0]["location"]
        rep = egwtest.check_media(loc, "--expect-codecs", "vp8,opus", "--expect-freq", 523,
                                  "--max-decode-errors", 0)
        # In sync before the outage and after it. (Not the first seconds of
        # a publisher: one that starts on a busy machine sends late for a
        # moment, seen at -283 ms under the sanitizers after the rejoin and
        # -272 ms at the file's first marker when CI ran beside other
        # work; the start of a recording is checked by the tests of each
        # kind, this one is about the outage.)
        # Flash-to-beep is a real-time bound: held by the release stage,
        # reported under the sanitizers, where the publishers share the
        # loaded machine (as in test_kinds.py).
        sync = [] if egwtest.SANITIZED else ["--max-sync-ms", 40]
        egwtest.check_media(loc, "--start", 1.5, "--end", 6.5, "--min-markers", 2, *sync)
        # (the last 6.5 s but the very end, which a stop may cut in one
        # stream first: markers every 2 s). After the rejoin the A/V is
        # the new publisher's as Janus forwards it: Janus's sender reports
        # map each stream from its first forwarded packet, so a publisher
        # that starts on a sanitizer-loaded machine, one stream's first
        # packets leaving up to a second late (its own log: "send delay
        # after capture ... max 1095 ms"), keeps that offset (-49 and
        # -204 ms seen there).
        egwtest.check_media(loc, "--start", rep["duration"] - 6.5, "--end",
                            rep["duration"] - 0.5, "--min-markers", 2, *sync)
        vgap = rep["video"]["max_frame_gap_ms"] / 1000.0
        expect(vgap <= gap_wall + 0.5, "participant: the video gap %.2f s is the outage "
               "(alice away %.2f s), not an end" % (vgap, gap_wall))
        expect(rep["duration"] >= (t_end - t_media) + 4.0,
               "participant: the file goes on after the return (%.2f s)" % rep["duration"])

        # The composite: the clock-driven output never stopped; alice and
        # bob back in their tiles at the end.
        rep = egwtest.check_media(comp["outputs"][0]["location"], "--expect-codecs", "h264,aac",
                                  "--expect-fps", 15, "--max-video-gap-ms", 150,
                                  "--expect-freq", "523,660", "--max-decode-errors", 0)
        expect(rep["duration"] >= 14.0, "composite: one output across the outage (%.2f s)"
               % rep["duration"])
        log = egwtest.JobLog(env.w, "worker", "EG_jr_comp")
        t_look = t_end - 2.5  # the last seconds before the stop
        tiles = log.tiles_at(t_look)
        expect(sorted(tiles) == ["alice", "bob"], "composite: both tiles back at the end: %s"
               % tiles)
        at = log.media_time(t_look)
        for name, colour in (("alice", "00c000"), ("bob", "0000ff")):
            egwtest.check_media(comp["outputs"][0]["location"], "--crop", tiles[name],
                                "--start", at - 1.5, "--end", at + 0.5, "--expect-color", colour)


if __name__ == "__main__":
    egwtest.main(test)
