"""Consumer groups: a new group does not replay starts produced before it
existed, a start older than start_max_age_s is not run (failed, expired),
two workers of a cooperative-sticky group share the jobs topic, and a bad
control message is dead-lettered exactly once by a two-worker fleet."""

import time

import egwtest
from egwtest import expect
import kafkatest as kt


def no_replay(env):
    w = env.w
    # Before any worker of group egress-new exists.
    env.submit(kt.job(env.janus, "EG_old"))
    kt.start_worker(w, env.bootstrap, env.out, "worker-new", EGRESS_CONSUMER_GROUP="egress-new")
    kt.wait_log(w, "worker-new", "jobs partitions assigned", 30)
    env.submit(kt.job(env.janus, "EG_new"))
    env.wait("EG_new", "active", timeout=30)
    env.stop("EG_new")
    env.wait("EG_new", "complete", timeout=30)
    expect(env.status.statuses("EG_old") == [],
           "the start produced before the group existed never ran: %s"
           % env.status.statuses("EG_old"))


def max_age(env):
    w = env.w
    first = dict(w._procs)["worker-new"]
    expect(w.stop(first, timeout=20) == 0, "worker-new stopped")
    # The group has committed offsets now: a restarted member resumes there.
    env.submit(kt.job(env.janus, "EG_stale"))
    time.sleep(3)
    kt.start_worker(w, env.bootstrap, env.out, "worker-aged", EGRESS_CONSUMER_GROUP="egress-new",
                    EGRESS_START_MAX_AGE_S=2)
    ev = env.wait("EG_stale", "failed", timeout=30)
    expect(ev["error"]["code"] == "expired" and "start_max_age_s" in ev["error"]["message"],
           "a start older than start_max_age_s fails as expired: %s" % ev["error"])
    dl = kt.wait_topic(w, env.bootstrap, "egress.deadletter", lambda e: e["key"] == "EG_stale", 20)
    expect("expired" in dl[0]["headers"].get("error", ""), "and is dead-lettered: %s"
           % dl[0]["headers"])
    env.submit(kt.job(env.janus, "EG_fresh"))
    env.wait("EG_fresh", "active", timeout=30)
    env.stop("EG_fresh")
    env.wait("EG_fresh", "complete", timeout=30)
    expect(env.status.statuses("EG_old") == [], "EG_old still never ran")
    w.stop(dict(w._procs)["worker-aged"], timeout=20)


def cooperative(env):
    """Like integration.fleet, with partition.assignment.strategy
    cooperative-sticky (incremental assign/unassign)."""
    w = env.w
    for name in ("coop-a", "coop-b"):
        kt.start_worker(w, env.bootstrap, env.out, name, max_jobs=1,
                        EGRESS_CONSUMER_GROUP="egress-coop",
                        EGRESS_KAFKA_PARTITION_ASSIGNMENT_STRATEGY="cooperative-sticky")
    for name in ("coop-a", "coop-b"):
        kt.wait_log(w, name, r"jobs partitions assigned: \[\d.*\(incremental\)", 40)
        kt.wait_log(w, name, "control dead-letter partitions assigned", 40)
    ids = ["EG_coop1", "EG_coop2"]
    for eid in ids:
        env.submit(kt.job(env.janus, eid), key="room-1234")
    actives = [env.wait(eid, "active", timeout=60) for eid in ids]
    workers = sorted(ev["worker_id"] for ev in actives)
    expect(workers == ["coop-a", "coop-b"], "each job runs on its own worker: %s" % workers)
    for name in ("coop-a", "coop-b"):
        expect("applying the rebalance" not in kt.log_text(w, name),
               "%s applied every rebalance" % name)
    return ids


def control_dead_letter_once(env):
    """Both coop workers read every control message; one dead-letters it."""
    w = env.w
    kt.produce(w, env.bootstrap, "egress.control", "EG_badctl", {"type": "stop"})
    kt.wait_topic(w, env.bootstrap, "egress.deadletter", lambda e: e["key"] == "EG_badctl", 20)
    time.sleep(5)
    _, envs = kt.read_topic(w, env.bootstrap, "egress.deadletter")
    copies = [e for e in envs if e["key"] == "EG_badctl"]
    expect(len(copies) == 1, "one dead-letter copy of a bad control message (%d)" % len(copies))
    logged = [n for n in ("coop-a", "coop-b") if "rejected control request" in kt.log_text(w, n)]
    expect(len(logged) == 1, "reported by one worker: %s" % logged)


def test():
    with kt.Env("groups", worker=False) as env:
        alice = env.w.start_publisher("alice", color="ffff00", freq=440, video="vp8")
        alice.wait_for("webrtcup", 15)
        no_replay(env)
        max_age(env)
        ids = cooperative(env)
        control_dead_letter_once(env)
        for eid in ids:
            env.stop(eid)
        for eid in ids:
            env.wait(eid, "complete", timeout=30)
            starts = env.statuses(eid).count("starting")
            expect(starts == 1, "%s started exactly once (%d)" % (eid, starts))


if __name__ == "__main__":
    egwtest.main(test)
