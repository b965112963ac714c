"""A 10 s broker outage with the worker's default settings: the egress
running through it goes on recording (its file grows while the broker is
down) and ends during the outage (max_duration_s); every status event it
produced, those made during the outage included, arrives once the broker
is back, once each and in order; the worker reconnects by itself and runs
the next start. Then a second outage with the worker killed in it
(killed_in_outage)."""

import json
import os
import signal
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

        killed_in_outage(env)


def killed_in_outage(env):
    """A second outage, the worker killed with SIGKILL in it: the events of
    an egress that ended during the outage wait in the worker's outbox; a
    job process left running finalises on its own and leaves its last
    events there too; the next worker on that spool sends them all, once
    each and in order."""
    carol = env.w.start_publisher("carol", color="ff00ff", freq=880, video="vp8")
    carol.wait_for("webrtcup", 15)
    env.submit(kt.job(env.janus, "EG_out3", {"kind": "participant", "participant": "carol"},
                      limits={"empty_room_timeout_s": 2}))
    env.submit(kt.job(env.janus, "EG_out4"))
    env.wait("EG_out3", "active", timeout=30)
    env.wait("EG_out4", "active", timeout=30)
    env.broker.command("down")
    carol.send("leave")  # EG_out3 ends in the outage: its source is gone
    kt.wait_log(env.w, "worker", r"EG_out3.*job process \d+ ended", 30)
    jobs = kt.children(env.worker.pid)
    os.kill(env.worker.pid, signal.SIGKILL)
    env.worker.wait(5)
    deadline = time.time() + 30
    while time.time() < deadline and any(kt.alive(p) for p in jobs):
        time.sleep(0.1)
    expect(not any(kt.alive(p) for p in jobs), "the job processes ended without their worker")
    spool = os.path.join(env.w.dir, "worker-spool")
    outbox = os.path.join(spool, ".outbox")
    # (the worker's own files; the orphaned job's in jobs/)
    left = sorted(os.path.join(d, n) for d in (outbox, os.path.join(outbox, "jobs"))
                  for n in os.listdir(d) if n.endswith(".msg"))
    kinds = []
    for n in sorted(left, key=os.path.basename):
        with open(n) as f:
            rec = json.load(f)
        ev = json.loads(rec["value"])
        kinds.append("%s/%s" % (ev["egress_id"], ev["status"]))
    print("left in the outbox: %s" % kinds, flush=True)
    for want in ("EG_out3/ending", "EG_out3/complete", "EG_out4/ending", "EG_out4/complete"):
        expect(want in kinds, "%s waits in the outbox" % want)
    seen_down = env.statuses("EG_out3") + env.statuses("EG_out4")
    expect("complete" not in seen_down, "nothing ended could be read during the outage: %s"
           % seen_down)

    env.broker.command("up")
    kt.start_worker(env.w, env.bootstrap, env.out, "worker-b", EGRESS_SPOOL_DIR=spool)
    kt.wait_log(env.w, "worker-b", r"outbox: \d+ message\(s\) left by", 30)
    done3 = env.wait("EG_out3", "complete", timeout=30)
    done4 = env.wait("EG_out4", "complete", timeout=30)
    expect(done3.get("reason") == "source absent", "EG_out3: %s" % done3.get("reason"))
    expect(done4.get("reason") == "worker gone", "EG_out4: %s" % done4.get("reason"))
    egwtest.check_media(done4["outputs"][0]["location"], "--expect-codecs", "vp8,opus",
                        "--max-decode-errors", 0)
    time.sleep(1)
    for eid in ("EG_out3", "EG_out4"):
        evs = [json.dumps({k: v for k, v in e.items() if k != "_key"}, sort_keys=True)
               for e in env.status.events(eid)]
        got = env.statuses(eid)
        expect(len(evs) == len(set(evs)), "%s: each event once: %s" % (eid, got))
        # (`active` repeats when something happened: carol leaving)
        runs = [s for i, s in enumerate(got) if i == 0 or got[i - 1] != s]
        expect([s for s in ORDER if s in runs] == runs and runs[0] == "starting" and
               runs[-1] == "complete", "%s: in order: %s" % (eid, got))
    def waiting():
        return [n for d in (outbox, os.path.join(outbox, "jobs")) if os.path.isdir(d)
                for n in os.listdir(d) if n.endswith(".msg")]
    deadline = time.time() + 10
    while time.time() < deadline and waiting():
        time.sleep(0.2)
    expect(not waiting(), "the outbox is empty once Kafka has them: %s" % waiting())


if __name__ == "__main__":
    egwtest.main(test)
