"""Admission by cost: two workers offering 120 thousandths of a core each
(a participant recording costs 50). Three starts in one partition: the
worker that owns it runs two, has no room for the third (100 + 50 > 120)
and hands it over to the other worker, which runs it; none runs twice.
/metrics shows the costs in use and the handover; once a job ends, the
owner has room again and runs the next start itself. (test_handover: three
workers, and a start nobody has room for.)"""

import re
import time

import egwtest
from egwtest import expect

KEY = "room-1234"  # one partition for all three


def participant(env, eid):
    return env.job(eid, {"kind": "participant", "participant": "alice"},
                   [{"kind": "file", "format": "mkv", "path": "{egress_id}.mkv"}])


def metric(env, sample):
    r = env.w.call(["curl", "-sS", "-m", "5", "http://127.0.0.1:9464/metrics"], check=False)
    for line in r.stdout.decode().splitlines():
        if line.startswith(sample + " "):
            return int(float(line.split()[1]))
    return None


def used_mc(env):
    return metric(env, "egress_capacity_used_mcores")


def test():
    with egwtest.Env("admit", max_jobs=10,
                     worker_env={"EGRESS_CAPACITY_MCORES": 120,
                                 "EGRESS_MAX_UTILISATION_PCT": 100}) as env:
        w = env.w
        w.wait_log("worker", "admission: jobs' costs up to 120 mc", 10)
        # the second worker: same group, and the metrics server (one per
        # namespace port: only this one listens)
        env.worker_env = dict(env.worker_env, EGRESS_HTTP_LISTEN="127.0.0.1:9464",
                              EGRESS_WORKER_ID="worker-admit-2")
        second = env.restart_worker()
        w.wait_log("worker", "jobs partitions assigned", 30)
        alice = w.start_publisher("alice", color="ff8000", freq=520, video="vp8")
        alice.wait_for("webrtcup", 30)

        ids = ["EG_adm1", "EG_adm2", "EG_adm3"]
        for eid in ids:
            env.submit(participant(env, eid), key=KEY)
        actives = {eid: env.wait(eid, "active", 60) for eid in ids}
        where = {eid: ev["worker_id"] for eid, ev in actives.items()}
        owner = where["EG_adm1"]
        expect(where["EG_adm2"] == owner and where["EG_adm3"] != owner,
               "two on the partition's owner, the third on the other worker: %s" % where)
        full_log = "worker" if owner == "worker-admit" else "worker2"
        text = w.log_text(full_log)
        expect("[EG_adm3] no room here: it costs 50 mc, 100 of 120 mc and 2 of 10 jobs are in "
               "use; handing it over" in text, "the full worker says why it hands the third over")
        expect("[EG_adm3] handed over to egress.jobs[" in text, "and hands it over")
        expect("left the jobs group" not in text, "without leaving the jobs group")
        for eid in ids:
            starts = [e for e in env.status.events(eid) if e.get("status") == "starting"]
            expect(len(starts) == 1, "%s ran once (%d starts)" % (eid, len(starts)))
        # (the second worker serves /metrics)
        want = 100 if owner == "worker-admit-2" else 50
        expect(used_mc(env) == want, "/metrics of the second worker: %d mc in use (%s)"
               % (want, used_mc(env)))
        handed = metric(env, 'egress_handovers_total{result="handed_over"}')
        expect(handed == (1 if owner == "worker-admit-2" else 0),
               "/metrics counts the handover where it happened: %s" % handed)

        env.stop("EG_adm1")
        env.wait("EG_adm1", "complete", 30)
        w.wait_log(full_log, "[EG_adm1] job process", 1)  # (its start line)
        deadline = time.time() + 30  # its process gone: its cost is free
        while time.time() < deadline and not re.search(r"\[EG_adm1\] job process \d+ ended",
                                                       w.log_text(full_log)):
            time.sleep(0.2)
        env.submit(participant(env, "EG_adm4"), key=KEY)
        ev = env.wait("EG_adm4", "active", 60)
        expect(ev["worker_id"] == owner, "with room again, the owner runs the next start: %s"
               % ev["worker_id"])
        for eid in ("EG_adm2", "EG_adm3", "EG_adm4"):
            env.stop(eid)
            env.wait(eid, "complete", 30)
        second.send_signal(15)


if __name__ == "__main__":
    egwtest.main(test)
