"""The worker and its job processes under abuse:

* control requests reach a running job through its lifeline: an
  update_layout and an update_stream to a participant egress come back as
  `active` events saying they were ignored (and the stream key is nowhere);
* a job process frozen with SIGSTOP is stopped, then killed 2 s after
  stop_grace_s and reported failed (worker_lost); its file plays as far as
  it got;
* the worker killed with SIGKILL while two jobs run: both job processes
  see their lifeline end, finalise their files (both playable) and exit
  within seconds; their final events wait in the spool's outbox and the
  next worker sends them."""

import json
import os
import signal
import time

import egwtest
from egwtest import expect
import kafkatest as kt

KEY = "live_sk_0123456789abcdef"


def mkv(eid):
    return [{"kind": "file", "format": "mkv", "path": "%s.mkv" % eid}]


def test():
    with egwtest.Env("superv", max_jobs=3, worker_env={"EGRESS_STOP_GRACE_S": 4}) as env:
        alice = env.w.start_publisher("alice", color="ff0000", freq=440, video="vp8")
        bob = env.w.start_publisher("bob", color="0000ff", freq=660, video="h264")
        alice.wait_for("webrtcup", 15)
        bob.wait_for("webrtcup", 15)
        src_a = {"kind": "participant", "participant": "alice"}
        src_b = {"kind": "participant", "participant": "bob"}

        # Control requests through the lifeline.
        env.submit(env.job("EG_a", src_a, mkv("EG_a")))
        env.wait("EG_a", "active", timeout=30)
        env.w.produce(env.bootstrap, "egress.control", "EG_a",
                      json.dumps({"type": "update_layout", "egress_id": "EG_a",
                                  "layout": "speaker"}))
        env.w.produce(env.bootstrap, "egress.control", "EG_a",
                      json.dumps({"type": "update_stream", "egress_id": "EG_a",
                                  "add_urls": ["rtmp://live.example.test/app/" + KEY]}))
        deadline = time.time() + 15
        ignored = []
        while time.time() < deadline and len(ignored) < 2:
            ignored = [e["details"] for e in env.status.events("EG_a")
                       if e.get("details", {}).get("event") == "update_ignored"]
            time.sleep(0.2)
        expect(sorted(d["request"] for d in ignored) == ["update_layout", "update_stream"],
               "both updates reached the job and were answered: %s" % ignored)

        # A frozen job process: stop, then SIGKILL 2 s after stop_grace_s
        # (a job's own deadline: a live one closes its outputs then).
        env.submit(env.job("EG_frozen", src_b, mkv("EG_frozen")))
        env.wait("EG_frozen", "active", timeout=30)
        time.sleep(5)
        # The newest job process is EG_frozen's (process ids grow).
        target = max(env.job_pids(), key=lambda p: kt.start_time(p))
        os.kill(target, signal.SIGSTOP)
        t0 = time.time()
        env.stop("EG_frozen")
        ev = env.wait("EG_frozen", "failed", timeout=30)
        took = time.time() - t0
        expect(ev["error"]["code"] == "worker_lost" and "grace" in ev["error"]["message"],
               "a frozen job is killed and reported: %s" % ev["error"])
        expect(4 + 2 <= took < 4 + 2 + 5, "killed %.1f s after the stop (stop_grace_s 4, then 2 s)" % took)
        egwtest.check_media(os.path.join(env.out, "EG_frozen.mkv"), "--expect-codecs",
                            "h264,opus", "--min-markers", 1)

        # Two jobs running, the worker killed with SIGKILL.
        env.submit(env.job("EG_b", src_b, mkv("EG_b")))
        env.wait("EG_b", "active", timeout=30)
        time.sleep(4)
        jobs = env.job_pids()
        expect(len(jobs) == 2, "two job processes run: %s" % jobs)
        os.kill(env.worker.pid, signal.SIGKILL)
        env.worker.wait(5)
        t0 = time.time()
        while time.time() - t0 < 20 and any(kt.alive(p) for p in jobs):
            time.sleep(0.1)
        gone = time.time() - t0
        expect(not any(kt.alive(p) for p in jobs),
               "both job processes exited %.1f s after the worker died" % gone)
        expect(gone < 5, "within seconds (%.1f s)" % gone)
        for eid, freq, codecs in (("EG_a", 440, "vp8,opus"), ("EG_b", 660, "h264,opus")):
            rep = egwtest.check_media(os.path.join(env.out, eid + ".mkv"), "--expect-codecs",
                                      codecs, "--max-decode-errors", 0, "--expect-freq", freq,
                                      "--min-markers", 1)
            expect(rep["duration"] >= 3.0, "%s finalised (%.2f s)" % (eid, rep["duration"]))
        # Their last events wait in the spool's outbox: the next worker
        # on that spool sends them.
        env.restart_worker()
        for eid in ("EG_a", "EG_b"):
            done = env.wait(eid, "complete", timeout=30)
            expect(done.get("reason") == "worker gone",
                   "%s complete, reason %s, delivered by the next worker"
                   % (eid, done.get("reason")))
        text = json.dumps(env.status.events()) + env.w.log_text("worker")
        expect(KEY not in text, "the stream key appears in no event or log line")


if __name__ == "__main__":
    egwtest.main(test)
