"""A camera that freezes in a room composite: bob's publisher is stopped
(SIGSTOP: its connection stays, nothing is sent) for 8 s, then resumed.
The canvas goes on at its frame rate and alice's tile keeps its picture
and its flashes; bob's tile holds his last picture, then, 3 s without one,
shows his placeholder in the same cell (the layout unchanged), and his
picture again after he resumes (the worker asks for a keyframe; the
pictures he sends late on resuming are dropped before decoding). The
worker logs these changes; the egress ends `complete`."""

import os
import signal
import time

import egwtest
from egwtest import expect

STALL_S = 3.0  # EGW_STALL_MS in pipelines/composite_input.c
FROZEN_S = 8.0
# How long the worker may take to see the stall (a tick of 100 ms after
# STALL_S) and to show bob again after he resumes (a keyframe asked for and
# sent): generous, the sanitizers slow both.
SLACK_S = 3.0 if egwtest.SANITIZED else 1.0
BACK_S = 10.0 if egwtest.SANITIZED else 5.0


def corner(tile, size=32, inset=8):
    """A small square in a tile's top-left corner: the placeholder's colour
    there, away from its initials in the middle."""
    x, y = (int(v) for v in tile.split(",")[:2])
    return "%d,%d,%d,%d" % (x + inset, y + inset, size, size)


def test():
    with egwtest.Env("cstall", worker_env={"EGRESS_LOG_LEVEL": "debug"}) as env:
        alice = env.w.start_publisher("alice", color="00c000", freq=523, extra=["--marks"])
        bob = env.w.start_publisher("bob", color="0000ff", freq=660, extra=["--marks"])
        for p in (alice, bob):
            p.wait_for("webrtcup", 15)
        eid = "EG_stall"
        env.submit(env.job(eid, {"kind": "room_composite", "layout": "grid"},
                           [{"kind": "file", "format": "mp4", "path": "{egress_id}.mp4"}],
                           encoding={"width": 640, "height": 360, "fps": 15},
                           limits={"empty_room_timeout_s": 30}))
        env.wait(eid, "active", 30)
        env.w.wait_log("worker", "[%s] receiving video vp8 of bob" % eid, 30)
        time.sleep(5)

        # Frozen 0.3-0.8 s after one of bob's flashes (100 ms of white every
        # 2 s), so that the picture his tile holds is his colour.
        deadline = time.time() + 10
        while time.time() < deadline:
            marks = [int(l.split()[1]) / 1e6 for l in bob.lines if l.startswith("mark ")]
            if marks and 0.3 <= time.time() - marks[-1] <= 0.8:
                break
            time.sleep(0.02)
        t_freeze = time.time()
        os.kill(bob.proc.pid, signal.SIGSTOP)
        time.sleep(FROZEN_S)
        t_thaw = time.time()
        os.kill(bob.proc.pid, signal.SIGCONT)
        time.sleep(BACK_S + 3)
        env.stop(eid)
        done = env.wait(eid, "complete", 30)
        expect(not [e for e in env.status.events(eid) if e["status"] == "failed"],
               "the egress never failed")

        # The worker saw the stall after STALL_S (not at the first missing
        # frame, not never) and the pictures again after the thaw.
        stalled = [t for t in egwtest.log_times(env.w, eid, "no picture from bob") if t > t_freeze]
        expect(len(stalled) == 1 and STALL_S - 0.3 <= stalled[0] - t_freeze <= STALL_S + SLACK_S,
               "bob's stall seen once, %s s after the freeze (after %.0f s without a picture)"
               % (["%.1f" % (t - t_freeze) for t in stalled], STALL_S))
        again = [t for t in egwtest.log_times(env.w, eid, "pictures from bob") if t > t_thaw]
        expect(len(again) == 1 and again[0] - t_thaw <= BACK_S,
               "bob's pictures back %s s after he resumed (bound %.0f s)"
               % (["%.1f" % (t - t_thaw) for t in again], BACK_S))
        t_stall, t_again = stalled[0], again[0]
        # Resumed, bob's publisher sends the pictures it owed at once, seconds
        # late: dropped before decoding (the tile could not show them), not a
        # backlog the decoder works through.
        late = [t for t in egwtest.log_times(env.w, eid, "bob's video came too late to be shown")
                if t > t_thaw]
        expect(late, "bob's stale pictures dropped before decoding after he resumed")

        log = egwtest.JobLog(env.w, "worker", eid)
        before = log.scene_at(t_freeze - 0.5)["tiles"]
        during = log.scene_at(t_thaw - 0.2)["tiles"]
        after = log.scene_at(t_again + 0.5)["tiles"]
        cells = [[(t["x"], t["y"], t["width"], t["height"]) for t in sc]
                 for sc in (before, during, after)]
        expect(cells[0] == cells[1] == cells[2], "the layout never moved: %s" % cells)
        tracks = [{log.names.get(t["participant"]): t.get("track") for t in sc}
                  for sc in (before, during, after)]
        expect(all(tracks[0].values()) and tracks[1]["bob"] is None and tracks[1]["alice"]
               and tracks[2] == tracks[0],
               "bob's tile: camera, placeholder, camera again; alice's camera throughout: %s"
               % tracks)
        bob_ph = [t for t in during if log.names.get(t["participant"]) == "bob"][0]

        path = done["outputs"][0]["location"]
        F = log.media_time
        # The canvas never stopped: 15 fps, no gap, nothing undecodable.
        rep = egwtest.check_media(path, "--expect-codecs", "h264,aac", "--expect-fps", 15,
                                  "--max-video-gap-ms", 150, "--max-decode-errors", 0)
        expect(rep["duration"] >= FROZEN_S + 10, "one output across the freeze (%.1f s)"
               % rep["duration"])
        tiles = log.tiles_at(t_freeze - 0.5)
        # alice's picture all along;
        egwtest.check_media(path, "--crop", tiles["alice"], "--start", F(t_freeze),
                            "--end", F(t_thaw), "--expect-color", "00c000")
        # bob: his last picture until the stall, then his placeholder.
        egwtest.check_media(path, "--crop", tiles["bob"], "--start", F(t_freeze) + 0.5,
                            "--end", F(t_stall) - 0.3, "--expect-color", "0000ff")
        egwtest.check_media(path, "--crop", corner(tiles["bob"]), "--start", F(t_stall) + 0.5,
                            "--end", F(t_thaw) - 0.3, "--expect-color",
                            bob_ph["color"].lstrip("#"))
        # and his camera again.
        egwtest.check_media(path, "--crop", tiles["bob"], "--start", F(t_again) + 0.5,
                            "--end", F(t_again) + 2.5, "--expect-color", "0000ff")


if __name__ == "__main__":
    egwtest.main(test)
