"""Two workers with room for one job each share the jobs topic: two starts
in the same partition run at once, one on each worker (the full worker hands
the second over to the other), and a stop on the control
topic reaches the worker that runs the job."""

import time

import egwtest
from egwtest import expect



def test():
    with egwtest.Env("fleet", max_jobs=1) as env:
        env.w.run([egwtest.EGRESS, "worker"], name="worker-b",
                  env={"EGRESS_KAFKA_BROKERS": env.bootstrap, "EGRESS_STORAGE_DIR": env.out,
                       "EGRESS_MAX_JOBS": 1, "EGRESS_WORKER_ID": "worker-b",
                       "EGRESS_SPARE_JOBS": 1,
                       "EGRESS_KAFKA_SESSION_TIMEOUT_MS": 6000,
                       "EGRESS_KAFKA_HEARTBEAT_INTERVAL_MS": 500})
        alice = env.w.start_publisher("alice", color="ff0000", freq=440, video="vp8")
        alice.wait_for("webrtcup", 15)
        env.w.wait_log("worker", "jobs partitions assigned", 30)
        env.w.wait_log("worker-b", "jobs partitions assigned", 30)

        # One key: both starts land in the same partition, so the second can
        # only run if the worker that took the first gives the partition up.
        ids = ["EG_fleet1", "EG_fleet2"]
        for eid in ids:
            env.submit(env.job(eid, {"kind": "participant", "participant": "alice"},
                               [{"kind": "file", "format": "mkv", "path": eid + ".mkv"}]),
                       key="room-1234")
        actives = [env.wait(eid, "active", timeout=60) for eid in ids]
        workers = sorted(ev["worker_id"] for ev in actives)
        expect(workers == ["worker-b", "worker-fleet"],
               "each job runs on its own worker: %s" % workers)
        time.sleep(3)
        for eid in ids:
            env.stop(eid)
        for eid in ids:
            done = env.wait(eid, "complete", timeout=30)
            starts = env.statuses(eid).count("starting")
            expect(starts == 1, "%s started exactly once in the fleet (%d)" % (eid, starts))
            egwtest.check_media(done["outputs"][0]["location"], "--expect-codecs", "vp8,opus",
                                "--expect-freq", 440, "--max-decode-errors", 0)


if __name__ == "__main__":
    egwtest.main(test)
