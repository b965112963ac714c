"""Kafka delivery: a terminal status event produced while the broker is
down, for longer than the operator's message.timeout.ms (which the
status outbox's producer does not take), is delivered once the broker is
back; a message over 1 MB forced into the jobs topic is
dead-lettered as too large and the partition keeps delivering; dead-letter
copies of requests full of secrets carry none of them."""

import json
import time

import egwtest
from egwtest import expect
import kafkatest as kt

SECRET = "SEKRIT"  # every secret below contains it


def outage(env, broker, worker):
    env.submit(kt.job(env.janus, "EG_outage", limits={"max_duration_s": 8}))
    env.wait("EG_outage", "active", timeout=30)
    broker.command("down")
    # The job ends (8 s) during the outage; its `complete` waits in the
    # outbox, longer than message.timeout.ms (3000 here: the outbox's
    # producer does not take it), and is delivered once the broker is back.
    kt.wait_log(env.w, worker, r"\[EG_outage\] job process \d+ ended", 60)
    time.sleep(4)
    expect(all(e["status"] != "complete" for e in env.status.events("EG_outage")),
           "no complete event could be read during the outage")
    broker.command("up")
    done = env.wait("EG_outage", "complete", timeout=60)
    expect(done["outputs"] and done["outputs"][0]["size"] > 0,
           "the complete event, produced during the outage, arrived after it")
    log = kt.log_text(env.w, worker)
    expect("not delivered" not in log and "lost" not in log,
           "no delivery failure logged (the producer waits for the broker)")


def oversized(env):
    w, boot = env.w, env.bootstrap
    big = json.dumps({"type": "start", "egress_id": "EG_huge",
                      "room": {"sfu": "janus", "url": env.janus, "room_id": 1234,
                               "pin": SECRET + "_HUGE"},
                      "pad": "x" * 2000000})
    kt.produce(w, boot, "egress.jobs", "EG_huge", big, ["-X", "message.max.bytes=3000000"])
    ev = env.wait("EG_huge", "failed", timeout=30)
    expect("too large" in ev["error"]["message"], "oversized start refused: %s" % ev["error"])
    # Same key, same partition: later messages are still delivered.
    for eid in ("EG_after1", "EG_after2"):
        kt.produce(w, boot, "egress.jobs", "EG_huge", {"type": "start", "egress_id": eid})
        ev = env.wait(eid, "failed", timeout=30)
        expect(ev["error"]["message"] == "room: is required",
               "%s, after it in its partition, is read: %s" % (eid, ev["error"]))
    dl = kt.wait_topic(w, boot, "egress.deadletter", lambda e: e["key"] == "EG_huge", 20)[0]
    copy = json.loads(dl["payload"])
    expect(copy.get("redacted") == "request too large" and copy.get("size") == len(big),
           "its dead-letter copy is a summary: %s" % copy)
    expect("too large" in dl["headers"].get("error", ""), "with the reason: %s" % dl["headers"])


def secrets(env):
    w, boot = env.w, env.bootstrap
    req = kt.job(env.janus, "EG_secrets",
                 outputs=[{"kind": "file", "format": "avi"},
                          {"kind": "stream", "urls": ["rtmp://live.test/app/%s_KEY1" % SECRET,
                                                      "srt://10.0.0.9:9000?passphrase=%s_2" % SECRET]}],
                 storage={"kind": "s3", "bucket": "b", "access_key": SECRET + "_AK",
                          "secret_key": SECRET + "_SK", "session_token": SECRET + "_ST"},
                 webhook={"url": "https://hooks.test/h/%s_HOOK" % SECRET, "secret": SECRET + "_WS"},
                 extra={"api_token": SECRET + "_TOK", "password": SECRET + "_PW"})
    req["room"]["pin"] = SECRET + "_PIN"
    req["room"]["url"] = env.janus.replace("http://", "http://user:%s_UI@" % SECRET)
    env.submit(req)
    env.wait("EG_secrets", "failed")
    kt.produce(w, boot, "egress.jobs", "EG_unparsable",
               '{"type":"start","egress_id":"EG_unparsable","room":{"pin":"%s_RAW"' % SECRET)
    env.wait("EG_unparsable", "failed")
    kt.produce(w, boot, "egress.control", "EG_ctl_secret",
               {"type": "update_stream", "egress_id": "EG_ctl_secret",
                "add_urls": ["rtmp://live.test/app/%s_ADD" % SECRET,
                             "https://not-a-stream.test/%s_BAD" % SECRET]})
    for key in ("EG_secrets", "EG_unparsable", "EG_ctl_secret"):
        kt.wait_topic(w, boot, "egress.deadletter", lambda e, k=key: e["key"] == k, 20)
    raw, envs = kt.read_topic(w, boot, "egress.deadletter")
    expect(SECRET not in raw, "no secret in the dead-letter topic (%d copies)%s" % (len(envs), "" if SECRET not in raw else ": " + raw[:3000]))
    copy = json.loads([e for e in envs if e["key"] == "EG_secrets"][0]["payload"])
    expect(copy["egress_id"] == "EG_secrets" and copy["room"]["pin"] == "***" and
           copy["outputs"][1]["urls"][0] == "rtmp://live.test/***",
           "the copy keeps what is not secret: %s" % json.dumps(copy)[:300])
    unp = json.loads([e for e in envs if e["key"] == "EG_unparsable"][0]["payload"])
    expect(unp.get("redacted") == "not valid JSON" and len(unp.get("fnv1a64", "")) == 16,
           "an unparsable request is summarised: %s" % unp)
    raw_status, _ = kt.read_topic(w, boot, "egress.status")
    expect(SECRET not in raw_status, "no secret in status events")
    expect(SECRET not in kt.log_text(w, "worker"), "no secret in the worker's log")


def test():
    with kt.Env("delivery", EGRESS_KAFKA_MESSAGE_TIMEOUT_MS=3000) as env:
        alice = env.w.start_publisher("alice", color="0000ff", freq=550, video="vp8")
        alice.wait_for("webrtcup", 15)
        secrets(env)
        oversized(env)
        outage(env, env.broker, "worker")


if __name__ == "__main__":
    egwtest.main(test)
