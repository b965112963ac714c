"""Churn in a room composite: eight participants (VP8 and H.264) leave and
join again every couple of seconds, one at a time in a seeded random
order, for CHURN_S seconds (60 here; EGW_CHURN_S=120 or more by hand),
then all come back. The egress never fails and its job process never
restarts; the output is 15 fps from the first frame to the last and
decodes without an error; the last scene has exactly the eight tiles; the
job's resident memory is flat after the warm-up (not checked under the
sanitizers, whose quarantine grows it by design)."""

import os
import random
import time

import egwtest
from egwtest import expect

CHURN_S = float(os.environ.get("EGW_CHURN_S", "60"))
EVERY_S = 2.0
NAMES = ["p%d" % i for i in range(8)]
RSS_GROWTH_MB = 20
ROOM = 1237  # up to 16 publishers (tests/world/janus)  # after the warm-up (the first quarter of the samples)


def test():
    rnd = random.Random(12)
    with egwtest.Env("churn", worker_env={"EGRESS_LOG_LEVEL": "debug"}) as env:
        pubs = {}
        for i, n in enumerate(NAMES):
            pubs[n] = env.w.start_publisher(
                n, color="%02x%02x%02x" % (30 * i, 255 - 30 * i, 120), freq=300 + 70 * i,
                video="vp8" if i % 2 == 0 else "h264", room=ROOM,
                extra=["--width", "160", "--height", "90", "--fps", "15"])
        for p in pubs.values():
            p.wait_for("webrtcup", 30)
        job = env.job("EG_churn", {"kind": "room_composite", "layout": "grid"},
                      [{"kind": "file", "format": "mp4", "path": "{egress_id}.mp4"}],
                      encoding={"width": 640, "height": 360, "fps": 15})
        job["room"]["room_id"] = ROOM
        env.submit(job)
        env.wait("EG_churn", "active", 30)
        pids = env.job_pids()
        expect(len(pids) == 1, "one job process: %s" % pids)
        pid = pids[0]

        present = set(NAMES)
        samples, toggles = [], 0
        t_end = time.time() + CHURN_S
        while time.time() < t_end:
            n = rnd.choice(NAMES)
            if n in present:
                pubs[n].send("leave")
                pubs[n].wait_for("left", 15)
                present.discard(n)
            else:
                pubs[n].send("join")
                pubs[n].wait_for("webrtcup", 30)
                present.add(n)
            toggles += 1
            samples.append(egwtest.memory_mb(pid))
            time.sleep(EVERY_S)
        for n in NAMES:
            if n not in present:
                pubs[n].send("join")
                pubs[n].wait_for("webrtcup", 30)
        time.sleep(5)
        t_look = time.time() - 1.5
        samples.append(egwtest.memory_mb(pid))
        env.stop("EG_churn")
        done = env.wait("EG_churn", "complete", 60)
        print("churn: %d leaves and joins in %.0f s; job RSS %s MB"
              % (toggles, CHURN_S, [round(s) for s in samples]), flush=True)

        expect(not [e for e in env.status.events("EG_churn") if e["status"] == "failed"],
               "the egress never failed")
        deadline = time.time() + 15
        while pid in env.job_pids() and time.time() < deadline:
            time.sleep(0.2)
        expect(pid not in env.job_pids() and env.worker.poll() is None,
               "the job process ended with its egress; the worker runs on")
        expect(toggles >= CHURN_S / (EVERY_S + 3) and len(samples) >= 4,
               "participants left and joined %d times" % toggles)
        rep = egwtest.check_media(done["outputs"][0]["location"], "--expect-codecs", "h264,aac",
                                  "--expect-fps", 15, "--max-video-gap-ms", 150,
                                  "--max-decode-errors", 0)
        expect(rep["duration"] >= CHURN_S, "the output spans the churn (%.1f s)"
               % rep["duration"])
        tiles = egwtest.JobLog(env.w, "worker", "EG_churn").tiles_at(t_look)
        expect(sorted(tiles) == NAMES, "the last scene has the eight tiles: %s" % sorted(tiles))
        if not egwtest.SANITIZED:
            warm = samples[len(samples) // 4:]
            expect(max(warm) - warm[0] <= RSS_GROWTH_MB,
                   "job RSS flat after the warm-up: %.0f -> %.0f MB (max %.0f)"
                   % (warm[0], warm[-1], max(warm)))


if __name__ == "__main__":
    egwtest.main(test)
