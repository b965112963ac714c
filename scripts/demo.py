"""The demo behind scripts/demo.sh (see there)."""

import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("EGW_SOURCE_DIR", ROOT)
os.environ.setdefault("EGW_BUILD_DIR", os.path.join(ROOT, "build"))
sys.path.insert(0, os.path.join(ROOT, "tests", "world"))
import world  # noqa: E402

OUT = os.path.join(ROOT, "out")
SECONDS = float(os.environ.get("DEMO_SECONDS", "10"))


def say(msg):
    print("demo: " + msg, flush=True)


def main():
    with world.World("demo") as w:
        janus = w.start_janus()
        say("Janus VideoRoom at %s (room 1234), in network namespace %s" % (janus, w.ns))
        pubs = [w.start_publisher("alice", color="e02020", freq=440, video="vp8"),
                w.start_publisher("bob", color="2040e0", freq=660, video="h264")]
        for p in pubs:
            p.wait_for("webrtcup", 15)
        say("participants alice (VP8 + Opus, 440 Hz) and bob (H.264 + Opus, 660 Hz) publishing")

        worker = w.run([os.path.join(world.BUILD_DIR, "egress"), "worker"], name="worker",
                       stdout=subprocess.PIPE, env={"EGRESS_KAFKA_BROKERS": "embedded",
                                                    "EGRESS_STORAGE_DIR": OUT,
                                                    "EGRESS_WORKER_ID": "demo-worker"})
        line = worker.stdout.readline().decode().strip()
        if not line.startswith("bootstrap: "):
            raise SystemExit("worker did not start its embedded broker:\n" + w.tail("worker"))
        bootstrap = line.split(" ", 1)[1]
        say("worker running with its embedded Kafka broker at %s" % bootstrap)
        status = w.status_reader(bootstrap)
        # A new consumer group starts at the end of the jobs topic: starts
        # go in once the worker holds its partitions.
        w.wait_log("worker", "jobs partitions assigned", 30)

        jobs = {"EG_demo_alice": ("alice", "mkv"), "EG_demo_bob": ("bob", "mp4")}
        for eid, (who, fmt) in jobs.items():
            req = {"type": "start", "egress_id": eid,
                   "room": {"sfu": "janus", "url": janus, "room_id": 1234},
                   "source": {"kind": "participant", "participant": who},
                   "outputs": [{"kind": "file", "format": fmt,
                                "path": "{room_id}/{egress_id}-{time}." + fmt}]}
            w.produce(bootstrap, "egress.jobs", eid, json.dumps(req))
            say("start job %s: record %s to %s" % (eid, who, fmt))
        for eid in jobs:
            status.wait_for(eid, "active", timeout=30)
        say("recording for %.0f s ..." % SECONDS)
        time.sleep(SECONDS)
        for eid in jobs:
            w.produce(bootstrap, "egress.control", eid, json.dumps({"type": "stop", "egress_id": eid}))
        results = [status.wait_for(eid, "complete", timeout=30) for eid in jobs]
        for eid in jobs:
            say("%s status events: %s" % (eid, " -> ".join(status.statuses(eid))))

    check = os.path.join(ROOT, "tests", "tools", "check_media.py")
    for ev in results:
        out = ev["outputs"][0]
        say("wrote %s (%d bytes, %.2f s)" % (os.path.relpath(out["location"], ROOT), out["size"],
                                              out["duration_s"]))
        subprocess.run(["/usr/bin/python3", check, out["location"]], check=False)


if __name__ == "__main__":
    main()
