"""The recording survives the participant leaving and rejoining: the file
goes on with a gap in time, stays valid and in sync, and the status topic
reports the participant's departure and return. Across two rejoins, a
participant egress and a video-track egress (which subscribes to the video
stream only) keep the same number of pipeline elements: nothing piles up."""

import re
import time

import egwtest
from egwtest import expect


def test():
    with egwtest.Env("repub") as env:
        alice = env.w.start_publisher("alice", color="00c000", freq=523, video="vp8")
        alice.wait_for("webrtcup", 15)
        env.submit(env.job("EG_repub", {"kind": "participant", "participant": "alice"},
                           [{"kind": "file", "format": "webm", "path": "{egress_id}.webm"}]))
        env.submit(env.job("EG_repub_v", {"kind": "track", "participant": "alice",
                                          "media": "video"},
                           [{"kind": "file", "format": "webm", "path": "{egress_id}.webm"}]))
        active = env.wait("EG_repub", "active", timeout=30)
        env.wait("EG_repub_v", "active", timeout=30)
        t_media = egwtest.parse_time(active["started_at"])
        time.sleep(4)

        for cycle in range(2):
            alice.send("leave")
            alice.wait_for("left", 10)
            t_left = time.time()
            time.sleep(3 if cycle == 0 else 1)
            alice.send("join")
            alice.wait_for("webrtcup", 15)
            if cycle == 0:
                t_back = time.time()
            time.sleep(5 if cycle == 0 else 3)
            if cycle == 0:
                gap_s = t_back - t_left
        env.stop("EG_repub")
        env.stop("EG_repub_v")
        done = env.wait("EG_repub", "complete", timeout=30)
        done_v = env.wait("EG_repub_v", "complete", timeout=30)

        events = env.status.events("EG_repub")
        details = [e.get("details", {}).get("event") for e in events if e["status"] == "active"]
        expect("participant_unpublished" in details and "participant_published" in details,
               "active updates report the participant leaving and returning: %s" % details)
        out = done["outputs"][0]
        wall = time.time() - t_media
        rep = egwtest.check_media(out["location"], "--expect-codecs", "vp8,opus",
                                  "--expect-freq", 523, "--max-sync-ms", 40, "--min-markers", 4,
                                  "--max-decode-errors", 0)
        # Timeline kept: the gap is in the file, not squeezed out or reset.
        vgap = rep["video"]["max_frame_gap_ms"] / 1000.0
        expect(gap_s - 1.0 <= vgap <= gap_s + 2.0,
               "video gap %.2f s matches the absence of %.2f s" % (vgap, gap_s))
        expect(rep["duration"] >= 11.0 and rep["duration"] <= wall + 0.5,
               "file duration %.2f s spans before and after the gap (wall %.2f s)"
               % (rep["duration"], wall))
        expect(rep["sync"]["count"] >= 4, "markers found on both sides of the gap")
        egwtest.check_media(done_v["outputs"][0]["location"], "--expect-codecs", "vp8",
                            "--max-decode-errors", 0)

        # Three subscriptions each (start + two rejoins): same element count.
        log = env.w.log_text("worker")
        for eid in ("EG_repub", "EG_repub_v"):
            counts = [int(n) for n in re.findall(
                r"\[%s\] subscribed to alice: .*\(pipeline: (\d+) elements\)" % eid, log)]
            expect(len(counts) == 3 and len(set(counts)) == 1,
                   "%s: pipeline elements per subscription %s" % (eid, counts))
        expect("receiving audio" not in "".join(
            l for l in log.splitlines() if "[EG_repub_v]" in l),
               "the video-track egress never receives the audio stream")


if __name__ == "__main__":
    egwtest.main(test)
