"""The recording survives the participant leaving and rejoining: the file
goes on with a gap in time, stays valid and in sync, and the status topic
reports the participant's departure and return."""

import time

import egwtest
from egwtest import expect


def test():
    with egwtest.Env("repub") as env:
        alice = env.w.start_publisher("alice", color="00c000", freq=523, video="vp8")
        alice.wait_for("webrtcup", 15)
        env.submit(env.job("EG_repub", {"kind": "participant", "participant": "alice"},
                           [{"kind": "file", "format": "webm", "path": "{egress_id}.webm"}]))
        active = env.wait("EG_repub", "active", timeout=30)
        t_media = egwtest.parse_time(active["started_at"])
        time.sleep(4)

        alice.send("leave")
        alice.wait_for("left", 10)
        t_left = time.time()
        time.sleep(3)
        alice.send("join")
        alice.wait_for("webrtcup", 15)
        t_back = time.time()
        time.sleep(5)
        env.stop("EG_repub")
        done = env.wait("EG_repub", "complete", timeout=30)

        events = env.status.events("EG_repub")
        details = [e.get("details", {}).get("event") for e in events if e["status"] == "active"]
        expect("participant_unpublished" in details and "participant_published" in details,
               "active updates report the participant leaving and returning: %s" % details)
        out = done["outputs"][0]
        wall = time.time() - t_media
        gap_s = t_back - t_left
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


if __name__ == "__main__":
    egwtest.main(test)
