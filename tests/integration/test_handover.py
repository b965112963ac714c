"""Handover between three workers, each with room for 150 thousandths of a
core (a participant recording costs 50, a track 20). Twelve starts of mixed
kinds, all in one partition: its owner runs what fits and hands each other
start over to another worker in one Kafka transaction (no group rebalance:
no worker leaves the group), and each runs there within 1 s of the full
worker reading it; the jobs are spread within every worker's budget; none
runs twice; duplicate starts (of one the owner runs and of one it handed
over) are refused, not run. Then a start nobody has room for goes from
worker to worker until each has had it, stays with the group (the workers
leave it), and runs, once, as soon as a worker has room again."""

import time

import egwtest
from egwtest import expect

KEY = "room-handover"  # one partition for every start
COST = {"P": 50, "T": 20}
def job(env, eid):
    who = "alice" if int(eid[-1]) % 2 else "bob"
    if eid[5] == "P":
        return env.job(eid, {"kind": "participant", "participant": who},
                       [{"kind": "file", "format": "mkv", "path": "{egress_id}.mkv"}])
    media = "audio" if int(eid[-1]) <= 3 else "video"
    fmt = "ogg" if media == "audio" else "webm"
    return env.job(eid, {"kind": "track", "participant": who, "media": media},
                   [{"kind": "file", "format": fmt, "path": "{egress_id}." + fmt}])


def starts(env, eid):
    return [s for s in env.statuses(eid) if s == "starting"]


def test():
    cap = {"EGRESS_CAPACITY_MCORES": 150, "EGRESS_MAX_UTILISATION_PCT": 100}
    with egwtest.Env("handover", max_jobs=10, worker_env=cap) as env:
        w = env.w
        logs = ["worker", "worker2", "worker3"]
        for n in (2, 3):
            env.worker_env = dict(env.worker_env, EGRESS_WORKER_ID="worker-handover-%d" % n)
            env.restart_worker()
        time.sleep(2)  # the last rebalance settles on every member
        alice = w.start_publisher("alice", color="ff8000", freq=520, video="vp8")
        bob = w.start_publisher("bob", color="0080ff", freq=780, video="vp8")
        alice.wait_for("webrtcup", 30)
        bob.wait_for("webrtcup", 30)

        ids = ["EG_hoP%d" % i for i in range(1, 7)] + ["EG_hoT%d" % i for i in range(1, 7)]
        for eid in ids:
            env.submit(job(env, eid), key=KEY)
        actives = {eid: env.wait(eid, "active", 90) for eid in ids}
        where = {eid: ev["worker_id"] for eid, ev in actives.items()}
        print("placement: %s" % where, flush=True)
        used = {}
        for eid, wid in where.items():
            used[wid] = used.get(wid, 0) + COST[eid[5]]
        expect(len(used) == 3 and all(u <= 150 for u in used.values()),
               "spread over the three workers within their budgets: %s" % used)
        for eid in ids:
            expect(len(starts(env, eid)) == 1, "%s ran once" % eid)

        events = egwtest.egress_log_lines(w, logs)
        for name in logs:
            expect("left the jobs group" not in w.log_text(name),
                   "%s stayed in the jobs group (no rebalance)" % name)
        handed = sorted({e for _, _, e, msg in events if msg.startswith("handed over to")})
        expect(len(handed) >= 6, "starts were handed over: %s" % handed)
        for eid in handed:
            first_seen = min(t for t, _, e, msg in events
                             if e == eid and msg.startswith("no room here"))
            taken = [t for t, _, e, msg in events if e == eid and msg.startswith("taken over")]
            expect(len(taken) == 1, "%s taken over once: %d" % (eid, len(taken)))
            expect(taken[0] - first_seen < 1.0,
                   "%s runs elsewhere %.3f s after a full worker read it" %
                   (eid, taken[0] - first_seen))
        delays = [min(t for t, _, e, m in events if e == eid and m.startswith("taken over")) -
                  min(t for t, _, e, m in events if e == eid and m.startswith("no room here"))
                  for eid in handed]
        print("handover delays (s): %s" % ["%.3f" % d for d in delays], flush=True)

        # Duplicates: one the partition's owner runs, one it handed over.
        own = [eid for eid in ids if eid not in handed][0]
        for eid in (own, handed[-1]):
            env.submit(job(env, eid), key=KEY)
            ev = env.wait(eid, "rejected", 30)
            expect("duplicate" in ev["error"]["message"],
                   "%s: the duplicate start is refused: %s" % (eid, ev["error"]))
        time.sleep(2)
        for eid in ids:
            expect(len(starts(env, eid)) == 1, "%s still ran once" % eid)

        # No room anywhere (each worker has at most 30 mc left).
        env.submit(job(env, "EG_hoP9"), key=KEY)
        deadline = time.time() + 60
        while time.time() < deadline and not any(
                "every other worker had no room for it either" in w.log_text(n) for n in logs):
            time.sleep(0.3)
        expect(any("every other worker had no room for it either" in w.log_text(n)
                   for n in logs), "the fleet is found full")
        time.sleep(3)
        expect(not starts(env, "EG_hoP9"), "it does not run while nobody has room")
        # room on one worker: two of its participant recordings end
        wid = max(used, key=lambda k: sum(1 for e in ids if where[e] == k and e[5] == "P"))
        mine = [e for e in ids if where[e] == wid and e[5] == "P"][:2]
        expect(len(mine) == 2, "%s runs two participant recordings" % wid)
        for eid in mine:
            env.stop(eid)
        ev = env.wait("EG_hoP9", "active", 90)
        expect(ev["worker_id"] == wid, "it runs where room was made: %s" % ev["worker_id"])
        expect(len(starts(env, "EG_hoP9")) == 1, "EG_hoP9 ran once")

        for eid in ids + ["EG_hoP9"]:
            if eid not in mine:
                env.stop(eid)
        for eid in ids + ["EG_hoP9"]:
            env.wait(eid, "complete", 60)


if __name__ == "__main__":
    egwtest.main(test)
