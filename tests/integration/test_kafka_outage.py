"""A 10 s broker outage with the worker's default settings: the egress
running through it goes on recording (its file grows while the broker is
down) and ends during the outage (max_duration_s); every status event it
produced, those made during the outage included, arrives once the broker
is back, once each and in order; the worker reconnects by itself and runs
the next start."""

import os
import time

import egwtest
from egwtest import expect, parse_time
import kafkatest as kt

ORDER = ["starting", "active", "ending", "uploading", "complete"]


def test():
    with kt.Env("outage") as env:
        alice = env.w.start_publisher("alice", color="00ff00", freq=660, video="vp8")
        alice.wait_for("webrtcup", 15)
        env.submit(kt.job(env.janus, "EG_out1", limits={"max_duration_s": 8}))
        env.wait("EG_out1", "active", timeout=30)
        path = os.path.join(env.out, "EG_out1.mkv")
        size0 = os.path.getsize(path)
        t_down = time.time()
        env.broker.command("down")
        time.sleep(4)
        size1 = os.path.getsize(path)
        expect(size1 > size0, "recording goes on while the broker is down: %d -> %d bytes"
               % (size0, size1))
        time.sleep(max(0.0, t_down + 10 - time.time()))
        seen_down = env.statuses("EG_out1")
        env.broker.command("up")
        t_up = time.time()
        done = env.wait("EG_out1", "complete", timeout=60)
        print("delivered %.1f s after the broker came back" % (time.time() - t_up), flush=True)
        expect("complete" not in seen_down, "nothing ended could be read during the outage: %s"
               % seen_down)
        expect(t_down < parse_time(done["time"]) < t_up,
               "the complete event was made during the outage (%s)" % done["time"])
        time.sleep(1)
        got = env.statuses("EG_out1")
        expect(len(got) == len(set(got)), "each event once: %s" % got)
        expect([s for s in ORDER if s in got] == got and got[0] == "starting" and
               got[-1] == "complete", "in order: %s" % got)
        expect(done["outputs"] and done["outputs"][0]["size"] >= size1,
               "the file holds what was recorded during the outage")
        log = kt.log_text(env.w, "worker")
        expect("lost" not in log, "no event given up")

        env.submit(kt.job(env.janus, "EG_out2"))
        env.wait("EG_out2", "active", timeout=30)
        env.stop("EG_out2")
        env.wait("EG_out2", "complete", timeout=30)


if __name__ == "__main__":
    egwtest.main(test)
