"""A worker's drain on SIGTERM: it leaves the jobs group at once (a start
produced meanwhile is not taken, and runs on the next worker), its running
egresses go on (/readyz: 503 draining) and still obey stop requests (with their `reason`), the
deadline (`drain_timeout_s`) ends what is left cleanly (`complete`, reason
`worker shutting down`, files playable), the worker exits 0; a second
SIGTERM ends a drain at once."""

import os
import signal
import time

import egwtest
from egwtest import expect

DRAIN_S = 12


def participant(env, eid):
    return env.job(eid, {"kind": "participant", "participant": "alice"},
                   [{"kind": "file", "format": "mkv", "path": "{egress_id}.mkv"}])


def reason(env, eid):
    return [e for e in env.status.events() if e.get("egress_id") == eid and
            e.get("status") == "complete"][-1].get("reason")


def playable(done):
    egwtest.check_media(done["outputs"][0]["location"], "--expect-codecs", "vp8,opus",
                        "--max-decode-errors", 0)


def test():
    with egwtest.Env("drain", max_jobs=2,
                     worker_env={"EGRESS_DRAIN_TIMEOUT_S": DRAIN_S,
                                 "EGRESS_HTTP_LISTEN": "127.0.0.1:9464"}) as env:
        w = env.w
        alice = w.start_publisher("alice", color="00ffff", freq=500, video="vp8")
        alice.wait_for("webrtcup", 30)
        for eid in ("EG_d1", "EG_d2"):
            env.submit(participant(env, eid))
        env.wait("EG_d1", "active", 30)
        env.wait("EG_d2", "active", 30)
        time.sleep(2)

        # SIGTERM: draining; a start produced now is not taken.
        t_term = time.time()
        env.worker.send_signal(signal.SIGTERM)
        w.wait_log("worker", "draining: 2 job(s)", 10)
        w.wait_log("worker", "left the jobs group", 10)
        env.submit(participant(env, "EG_d3"))
        r = w.call(["curl", "-sS", "-m", "5", "-w", " %{http_code}",
                    "http://127.0.0.1:9464/readyz"], check=False)
        expect(" ".join(r.stdout.decode().split()) == "not ready: draining 503",
               "/readyz says it drains: %s" % r.stdout.decode().strip())
        # A stop with a reason reaches a draining worker's egress.
        env.w.produce(env.bootstrap, "egress.control", "EG_d1",
                      {"type": "stop", "egress_id": "EG_d1", "reason": "meeting ended"})
        d1 = env.wait("EG_d1", "complete", 30)
        expect(reason(env, "EG_d1") == "meeting ended",
               "a stop during the drain ends its egress with its reason: %s" % d1.get("reason"))
        expect("ending" not in env.statuses("EG_d2"), "the other egress goes on: %s"
               % env.statuses("EG_d2"))

        # The deadline ends the rest, cleanly; the worker exits 0.
        d2 = env.wait("EG_d2", "complete", DRAIN_S + 30)
        t_end = time.time()
        expect(DRAIN_S - 1 <= t_end - t_term < DRAIN_S + 15,
               "the deadline (%d s) ended it %.1f s after SIGTERM" % (DRAIN_S, t_end - t_term))
        expect(reason(env, "EG_d2") == "worker shutting down",
               "with the reason: %s" % reason(env, "EG_d2"))
        rc = env.worker.wait(30)
        expect(rc == 0, "the drained worker exits 0 (%s)" % rc)
        expect(env.statuses("EG_d3") == [], "the start produced during the drain was not taken "
               "(%s)" % env.statuses("EG_d3"))
        playable(d1)
        playable(d2)

        # The next worker takes it. A second SIGTERM ends its drain at once.
        env.worker = env.restart_worker()
        env.wait("EG_d3", "active", 30)
        time.sleep(2)
        env.worker.send_signal(signal.SIGTERM)
        w.wait_log("worker2", "draining: 1 job(s)", 10)
        t_second = time.time()
        env.worker.send_signal(signal.SIGTERM)
        d3 = env.wait("EG_d3", "complete", 30)
        expect(time.time() - t_second < DRAIN_S - 2,
               "a second SIGTERM ends the drain at once (%.1f s)" % (time.time() - t_second))
        expect(reason(env, "EG_d3") == "worker shutting down", "reason %s" % reason(env, "EG_d3"))
        expect(env.worker.wait(30) == 0, "and the worker exits 0")
        playable(d3)
        starts = [e for e in env.status.events() if e.get("egress_id") == "EG_d3" and
                  e.get("status") == "starting"]
        expect(len(starts) == 1, "EG_d3 ran once: %d starts" % len(starts))
        expect(os.path.exists(d3["outputs"][0]["location"]), "its file is there")


if __name__ == "__main__":
    egwtest.main(test)
