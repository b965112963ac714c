"""Requests refused while an egress runs never change its state: an invalid
start or a duplicate start carrying a running egress's id, and a stop sent
on the jobs topic, each get a `rejected` event (keyed <id>/rejected) and a
dead-letter copy, and the egress records on until the real stop. (The
lifeline when the worker dies: test_supervision.py.)"""

import json
import time

import egwtest
from egwtest import expect
import kafkatest as kt


def test():
    with egwtest.Env("rejected") as env:
        w, boot = env.w, env.bootstrap
        alice = w.start_publisher("alice", color="00ff00", freq=660, video="vp8")
        alice.wait_for("webrtcup", 15)

        env.submit(kt.job(env.janus, "EG_run"))
        env.wait("EG_run", "active", timeout=30)

        bad = kt.job(env.janus, "EG_run", outputs=[{"kind": "file", "format": "avi"}])
        env.submit(bad)
        ev = env.wait("EG_run", "rejected")
        expect(ev["_key"] == "EG_run/rejected", "rejected event keyed EG_run/rejected")
        expect(ev["error"]["code"] == "invalid_request" and "outputs[0].format" in
               ev["error"]["message"], "it names the invalid field: %s" % ev["error"])
        expect(ev.get("ended_at") is None, "a rejected event says nothing about an end")

        env.submit(kt.job(env.janus, "EG_run"))
        ev = kt.wait_nth(env.status, "EG_run", "rejected", 2)
        expect("duplicate" in ev["error"]["message"], "duplicate start rejected: %s" % ev["error"])

        w.produce(boot, "egress.jobs", "EG_run", json.dumps({"type": "stop", "egress_id": "EG_run"}))
        ev = kt.wait_nth(env.status, "EG_run", "rejected", 3)
        expect("control topic" in ev["error"]["message"],
               "stop on the jobs topic rejected: %s" % ev["error"])

        time.sleep(3)
        own = [e["status"] for e in env.status.events("EG_run") if e["_key"] == "EG_run"]
        expect(own[-1] == "active", "the egress still records after three refusals: %s" % own)

        # A refused request for an egress that does not run here: failed, as before.
        env.submit(kt.job(env.janus, "EG_other", outputs=[{"kind": "file", "format": "avi"}]))
        ev = env.wait("EG_other", "failed")
        expect(ev["_key"] == "EG_other" and ev["error"]["code"] == "invalid_request",
               "an invalid start of an egress not running here fails it")

        env.stop("EG_run")
        done = env.wait("EG_run", "complete", timeout=30)
        own = [e["status"] for e in env.status.events("EG_run") if e["_key"] == "EG_run"]
        expect("failed" not in own and "rejected" not in own and "ending" in own,
               "the egress's own events: %s" % own)
        rej = [e for e in env.status.events("EG_run") if e["_key"] == "EG_run/rejected"]
        expect(len(rej) == 3 and all(e["status"] == "rejected" for e in rej),
               "three rejected events under EG_run/rejected")
        egwtest.check_media(done["outputs"][0]["location"], "--expect-codecs", "vp8,opus",
                            "--expect-freq", 660, "--max-decode-errors", 0)
        dl = kt.wait_topic(w, boot, "egress.deadletter", lambda e: e["key"] == "EG_run", 20, 3)
        reasons = sorted(e["headers"].get("error", "") for e in dl)
        expect(len(dl) == 3, "three dead-letter copies for EG_run: %s" % reasons)


if __name__ == "__main__":
    egwtest.main(test)
