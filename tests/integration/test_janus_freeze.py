"""Janus frozen mid-egress (SIGSTOP: its sockets stay open, the kernel
still accepts connections, nothing answers) for 14 s, then resumed. A
participant recording notices the silence (the listings time out; no
answer for 5 s after the last one is an outage), reports
`sfu_disconnected`, tries new sessions (they hang until Janus answers),
and once Janus runs again is back in the room within a few seconds
(`sfu_reconnected`); the file goes on after a gap no longer than the
freeze plus that return, in sync; it ends `complete` when stopped."""

import os
import signal
import time

import egwtest
from egwtest import expect

FROZEN_S = 14.0
# Noticed: the first listing to time out (sfu_timeout_ms, 10 s by default)
# after 5 s of silence; back: a new session, its subscription and DTLS.
NOTICE_S = 15.0 if egwtest.SANITIZED else 12.0
BACK_S = 8.0 if egwtest.SANITIZED else 4.0


def test():
    with egwtest.Env("jfreeze") as env:
        alice = env.w.start_publisher("alice", color="00c000", freq=523, extra=["--marks"])
        alice.wait_for("webrtcup", 15)
        eid = "EG_freeze"
        env.submit(env.job(eid, {"kind": "participant", "participant": "alice"},
                           [{"kind": "file", "format": "mkv", "path": "{egress_id}.mkv"}],
                           limits={"empty_room_timeout_s": 60}))
        env.wait(eid, "active", 30)
        env.w.wait_log("worker", "[%s] receiving video vp8 of alice" % eid, 30)
        time.sleep(7)  # markers every 2 s: at least two in the window before

        t_freeze = time.time()
        os.kill(env.w.janus_proc.pid, signal.SIGSTOP)
        try:
            deadline = t_freeze + NOTICE_S + 5
            while time.time() < deadline and not egwtest.detail_events(env.status.events(eid), "sfu_disconnected"):
                time.sleep(0.2)
            lost = egwtest.detail_events(env.status.events(eid), "sfu_disconnected")
            expect(lost and lost[0]["status"] == "active" and lost[0]["details"].get("reason"),
                   "the silence reported as sfu_disconnected with a reason: %s"
                   % [e["details"] for e in lost])
            noticed = egwtest.parse_time(lost[0]["time"]) - t_freeze
            expect(noticed <= NOTICE_S, "noticed %.1f s after the freeze (bound %.0f s)"
                   % (noticed, NOTICE_S))
            time.sleep(max(0.0, FROZEN_S - (time.time() - t_freeze)))
        finally:
            os.kill(env.w.janus_proc.pid, signal.SIGCONT)
        t_thaw = time.time()

        deadline = t_thaw + BACK_S + 10
        while time.time() < deadline and not egwtest.detail_events(env.status.events(eid), "sfu_reconnected"):
            time.sleep(0.2)
        back = egwtest.detail_events(env.status.events(eid), "sfu_reconnected")
        expect(back, "back in the room after Janus resumed:\n%s" % env.w.tail("worker", 30))
        back_s = egwtest.parse_time(back[0]["time"]) - t_thaw
        expect(back_s <= BACK_S, "back %.1f s after Janus resumed (bound %.0f s)"
               % (back_s, BACK_S))
        time.sleep(9)
        env.stop(eid)
        done = env.wait(eid, "complete", 30)
        expect(not [e for e in env.status.events(eid) if e["status"] == "failed"],
               "the egress never failed")
        expect(env.worker.poll() is None, "the worker is still running")

        # The file: before and after, in sync; its gap the freeze and the
        # return, not an end.
        video_back = egwtest.log_times(env.w, eid, "receiving video vp8 of alice")
        expect(len(video_back) == 2, "alice's video received before and after the freeze "
               "(%d times)" % len(video_back))
        loc = done["outputs"][0]["location"]
        rep = egwtest.check_media(loc, "--expect-codecs", "vp8,opus", "--expect-freq", 523,
                                  "--max-decode-errors", 0)
        vgap = rep["video"]["max_frame_gap_ms"] / 1000.0
        away = video_back[1] - t_freeze
        expect(FROZEN_S - 1 <= vgap <= away + 0.5,
               "the video gap %.2f s is the freeze and the return (%.2f s)" % (vgap, away))
        # (from 1 s: see test_janus_restart.py on a busy publisher's first marker)
        # (flash-to-beep a real-time bound: the release stage's, reported
        # under the sanitizers, as in test_kinds.py)
        sync = [] if egwtest.SANITIZED else ["--max-sync-ms", 40]
        egwtest.check_media(loc, "--start", 1.0, "--end", 6.0, "--min-markers", 2, *sync)
        # (the last 6.5 s but the very end, which a stop may cut in one
        # stream first: markers every 2 s)
        egwtest.check_media(loc, "--start", rep["duration"] - 6.5, "--end",
                            rep["duration"] - 0.5, "--min-markers", 2, *sync)


if __name__ == "__main__":
    egwtest.main(test)
