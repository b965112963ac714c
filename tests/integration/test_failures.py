"""Bad rooms, unreachable SFUs, absent participants, early stops, a job
process that dies and an SFU that vanishes mid-recording for good: each is reported
with a clear error on the status topic, the worker keeps running, and what
was recorded stays playable."""

import json
import os
import signal
import time

import egwtest
from egwtest import expect

MKV = [{"kind": "file", "format": "mkv", "path": "{egress_id}.mkv"}]


def job_pids(env):
    return env.job_pids()


def test():
    with egwtest.Env("fail", max_jobs=4) as env:
        alice = env.w.start_publisher("alice", color="ff0000", freq=440, video="vp8")
        alice.wait_for("webrtcup", 15)
        src = {"kind": "participant", "participant": "alice"}

        env.submit(env.job("EG_noroom", src, MKV, room={"sfu": "janus", "url": env.janus,
                                                        "room_id": 999999}))
        ev = env.wait("EG_noroom", "failed")
        expect(ev["error"]["code"] == "not_found" and "999999" in ev["error"]["message"],
               "missing room: %s" % ev["error"])

        env.submit(env.job("EG_nosfu", src, MKV, room={"sfu": "janus", "room_id": 1234,
                                                       "url": "http://127.0.0.1:9/janus"}))
        ev = env.wait("EG_nosfu", "failed")
        expect(ev["error"]["code"] == "sfu_unreachable", "unreachable SFU: %s" % ev["error"])

        # A refused subscription: the room wants a PIN and the job's is wrong.
        carol = env.w.start_publisher("carol", color="00ff00", freq=880, room=4321,
                                      pin="room-pin-4321")
        carol.wait_for("webrtcup", 15)
        pinned = {"sfu": "janus", "url": env.janus, "room_id": 4321, "pin": "wrong-pin-123"}
        env.submit(env.job("EG_badpin", {"kind": "participant", "participant": "carol"}, MKV,
                           room=pinned))
        ev = env.wait("EG_badpin", "failed")
        expect(ev["error"]["code"] == "unauthorized", "wrong PIN: %s" % ev["error"])
        expect("wrong-pin-123" not in json.dumps(ev), "the PIN is not in the event")
        expect(not os.path.exists(os.path.join(env.out, "EG_badpin.mkv")),
               "a refused egress leaves no file")
        pinned["pin"] = "room-pin-4321"
        env.submit(env.job("EG_pin", {"kind": "participant", "participant": "carol"}, MKV,
                           room=pinned))
        env.wait("EG_pin", "active")
        env.stop("EG_pin")
        env.wait("EG_pin", "complete")
        carol.close()

        env.submit(env.job("EG_ghost", {"kind": "participant", "participant": "ghost"}, MKV,
                           limits={"empty_room_timeout_s": 2}))
        ev = env.wait("EG_ghost", "failed", timeout=20)
        expect(ev["error"]["code"] == "not_found" and "ghost" in ev["error"]["message"],
               "absent participant: %s" % ev["error"])

        env.submit(env.job("EG_early", {"kind": "participant", "participant": "nobody"}, MKV))
        env.wait("EG_early", "starting")
        env.stop("EG_early")
        env.wait("EG_early", "aborted")
        expect(not os.path.exists(os.path.join(env.out, "EG_early.mkv")),
               "an egress aborted before media leaves no empty file")

        # The job process dies: failed (worker_lost), the file plays as far as it got.
        env.submit(env.job("EG_killed", src, MKV))
        env.wait("EG_killed", "active")
        time.sleep(4)
        for pid in job_pids(env):
            os.kill(pid, signal.SIGKILL)
        ev = env.wait("EG_killed", "failed")
        expect(ev["error"]["code"] == "worker_lost", "killed job process: %s" % ev["error"])
        egwtest.check_media(os.path.join(env.out, "EG_killed.mkv"), "--expect-codecs", "vp8,opus",
                            "--expect-freq", 440, "--max-decode-errors", 0, "--min-markers", 1)

        # The worker carries on.
        env.submit(env.job("EG_after", src, MKV, limits={"empty_room_timeout_s": 6}))
        env.wait("EG_after", "active")
        time.sleep(5)

        # The SFU vanishes mid-recording for good: the egress reports it
        # and waits for its return (integration.janus_restart: it comes
        # back) as long as for an empty room, then fails, with the file as
        # far as it got.
        t_kill = time.time()
        env.w.stop(env.w.janus_proc, sig=signal.SIGKILL)
        ev = env.wait("EG_after", "failed", timeout=40)
        t_failed = time.time()
        expect(ev["error"]["code"] == "sfu_unreachable" and
               "did not come back within 6 s" in ev["error"]["message"],
               "SFU gone: %s" % ev["error"])
        expect(6 <= t_failed - t_kill <= 20, "failed %.1f s after the SFU went: "
               "empty_room_timeout_s (6 s) after it was noticed" % (t_failed - t_kill))
        lost = egwtest.detail_events(env.status.events("EG_after"), "sfu_disconnected")
        expect(len(lost) == 1 and lost[0]["status"] == "active" and lost[0]["details"]["reason"],
               "one sfu_disconnected event, with its reason, before the end: %s" % lost)
        expect([o["kind"] for o in ev["outputs"]] == ["file", "manifest"] and
               ev["outputs"][0]["size"] > 0,
               "the failed event lists what was recorded, and its manifest: %s" % ev["outputs"])
        with open(ev["outputs"][1]["location"]) as f:
            man = json.load(f)
        expect(man["status"] == "failed" and man["outputs"][0] == ev["outputs"][0],
               "the manifest of a failed egress says so and lists the file")
        rep = egwtest.check_media(ev["outputs"][0]["location"], "--expect-codecs", "vp8,opus",
                                  "--max-decode-errors", 0, "--expect-freq", 440)
        expect(rep["duration"] >= 4.0, "recording kept up to the SFU's end (%.2f s)" % rep["duration"])
        expect(env.worker.poll() is None, "the worker is still running")
        text = json.dumps(env.status.events())
        expect("S3RVER" not in text and "room-pin-4321" not in text, "no secrets in events")


if __name__ == "__main__":
    egwtest.main(test)
