"""Webhooks: every status event of an egress with a `webhook` reaches the
receiver, signed (the receiver checks HMAC-SHA256 over timestamp and
body), in order, at least once: a receiver that answers 500 twice gets the
event on the third try, the later events after it. A receiver that hangs
delays neither that egress's recording and status events nor another
egress's webhooks. A refused start is sent to its webhook too. Events not
delivered when the worker stops are sent by the next one. The webhook
secret appears in no log or event."""

import json
import os
import time

import egwtest
from egwtest import expect

SECRET = "whsec-0f1e2d3c4b5a"


def hooked(env, eid, url, secret=SECRET):
    return env.job(eid, {"kind": "participant", "participant": "alice"},
                   [{"kind": "file", "format": "mkv", "path": "{egress_id}.mkv"}],
                   webhook={"url": url, "secret": secret})


def bodies(hook, eid):
    return [json.loads(r["body"]) for r in hook.requests()
            if json.loads(r["body"])["egress"]["egress_id"] == eid]


def test():
    with egwtest.Env("hooks", worker_env={"EGRESS_WEBHOOK_TIMEOUT_MS": 2000}) as env:
        w = env.w
        alice = w.start_publisher("alice", color="0000ff", freq=440, video="vp8")
        alice.wait_for("webrtcup", 30)
        good = w.start_webhook_receiver("good", 8901, secret=SECRET, fail_first=2)
        stuck = w.start_webhook_receiver("stuck", 8902, secret=SECRET)
        stuck.set_mode("hang")

        # One egress to the receiver that fails twice, one to the hanging one.
        env.submit(hooked(env, "EG_hook", good.url()))
        env.submit(hooked(env, "EG_stuck", stuck.url()))
        env.wait("EG_hook", "active", 30)
        env.wait("EG_stuck", "active", 30)
        time.sleep(3)
        env.stop("EG_hook")
        env.stop("EG_stuck")
        env.wait("EG_hook", "complete", 30)
        done = env.wait("EG_stuck", "complete", 30)
        expect(done["outputs"][0]["size"] > 0, "the egress with a hanging receiver recorded "
               "and completed: %s" % done["outputs"][0])

        # All of EG_hook's events, in order, signed; the first one tried three times.
        deadline = time.time() + 30
        want = ["starting", "active", "ending", "complete"]
        got = []
        while time.time() < deadline:
            seen = bodies(good, "EG_hook")
            got = [b["egress"]["status"] for b in seen]
            ok = [b for r, b in zip(good.requests(), seen) if r["answered"] == 200]
            if [b["egress"]["status"] for b in ok] == want:
                break
            time.sleep(0.3)
        reqs = [r for r in good.requests() if "EG_hook" in r["body"]]
        delivered = [json.loads(r["body"]) for r in reqs if r["answered"] == 200]
        expect([b["egress"]["status"] for b in delivered] == want,
               "every event delivered once accepted, in order: %s" % got)
        expect([b["event"] for b in delivered] == ["egress.started", "egress.updated",
                                                   "egress.updated", "egress.ended"],
               "event names: %s" % [b["event"] for b in delivered])
        expect(all(r["valid"] for r in reqs), "every request is validly signed: %s"
               % [(r["valid"], r.get("why")) for r in reqs])
        first = [r for r in reqs if json.loads(r["body"])["id"] == delivered[0]["id"]]
        expect([r["answered"] for r in first] == [500, 500, 200],
               "the first event came three times (500, 500, 200): %s"
               % [r["answered"] for r in first])
        ids = [b["id"] for b in delivered]
        expect(ids == sorted(ids, key=lambda i: [int(x) for x in i.split(".")[1:]]) and
               len(set(ids)) == 4,
               "event ids unique and rising: %s" % ids)
        hdr = reqs[-1]["headers"]
        expect(hdr.get("egress-event") == "egress.ended" and
               hdr.get("egress-event-id") == delivered[-1]["id"],
               "headers name the event: %s" % {k: v for k, v in hdr.items()
                                                if k.startswith("egress-")})

        # The hanging receiver got the first event (and keeps it waiting);
        # nothing after it was sent before it was answered.
        stuck_seen = [json.loads(r["body"])["egress"]["status"] for r in stuck.requests()]
        expect(stuck_seen and set(stuck_seen) == {"starting"},
               "the hanging receiver holds the first event, in order: %s" % stuck_seen)
        stuck.set_mode("ok")
        deadline = time.time() + 90
        while time.time() < deadline and \
                [b["egress"]["status"] for b in bodies(stuck, "EG_stuck")][-1:] != ["complete"]:
            time.sleep(0.5)
        final = [b["egress"]["status"] for b in bodies(stuck, "EG_stuck")]
        expect(final[-1:] == ["complete"], "once it answers, the rest follows: %s" % final)

        # A start refused at once: its failure goes to its webhook.
        bad = hooked(env, "EG_refused", good.url())
        bad["storage"] = {"kind": "azure", "account": "acct1", "container": "c",
                          "account_key": "not base64!"}
        env.submit(bad)
        env.wait("EG_refused", "failed", 30)
        deadline = time.time() + 15
        while time.time() < deadline and \
                [b["event"] for b in bodies(good, "EG_refused")][-1:] != ["egress.failed"]:
            time.sleep(0.3)
        refused = bodies(good, "EG_refused")
        expect(refused and refused[-1]["event"] == "egress.failed" and
               refused[-1]["egress"]["error"]["code"] == "invalid_request",
               "a refused start is reported to its webhook: %s" % refused)

        # Events not delivered when the worker stops are kept (in the spool,
        # 0600: they hold the secret) and sent by the next worker, in order,
        # with the same ids.
        good.set_mode("fail")
        env.submit(hooked(env, "EG_kept", good.url()))
        env.wait("EG_kept", "active", 30)
        time.sleep(2)
        env.stop("EG_kept")
        env.wait("EG_kept", "complete", 30)
        tried = [b["id"] for b in bodies(good, "EG_kept")]
        expect(tried, "the receiver refused the first event: %s" % tried)
        w.stop(env.worker, 15)
        kept = os.path.join(env.spool, ".webhooks")
        files = sorted(os.listdir(kept)) if os.path.isdir(kept) else []
        expect(len(files) == 4 and all(os.stat(os.path.join(kept, f)).st_mode & 0o777 == 0o600
                                       for f in files),
               "the worker stopped with 4 events kept, private: %s" % files)
        good.set_mode("ok")
        env.worker = env.restart_worker()
        deadline = time.time() + 30
        while time.time() < deadline and \
                [b["egress"]["status"] for b in bodies(good, "EG_kept")][-1:] != ["complete"]:
            time.sleep(0.3)
        reqs = [r for r in good.requests() if "EG_kept" in r["body"] and r["answered"] == 200]
        delivered = [json.loads(r["body"]) for r in reqs]
        expect([b["egress"]["status"] for b in delivered] == want and
               delivered[0]["id"] == tried[0] and all(r["valid"] for r in reqs),
               "the next worker sent them, in order, signed, the same ids: %s"
               % [(b["egress"]["status"], b["id"]) for b in delivered])
        expect(not os.listdir(kept), "and forgot them once delivered")

        text = (w.log_text("worker") + w.log_text("worker2") + json.dumps(env.status.events()) +
                "".join(open(os.path.join(kept, f)).read() for f in os.listdir(kept)))
        expect(SECRET not in text, "the webhook secret appears nowhere")


if __name__ == "__main__":
    egwtest.main(test)
