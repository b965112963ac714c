"""Azure Blob Storage (against Azurite, Microsoft's emulator, which checks
Shared Key and SAS signatures; every check through Microsoft's own SDK): a
recording goes through the spool to the container as a block blob in
blocks, its SHA-256 and Content-Type right, no block left
uncommitted, a SAS URL fetches it, the manifest last. Then abuse: a wrong
account key (clear failure naming the service's error, never the key, the
file kept in the spool), a container that does not exist, a key that is
not base64 (refused at the start), and the service down in the middle of
the uploads (the egress completes once it is back)."""

import json
import os
import time

import egwtest
from egwtest import expect

CONTAINER = "recordings"
WRONG_KEY = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ=="


def storage(az, **extra):
    st = {"kind": "azure", "account": az.account, "account_key": az.account_key,
          "container": CONTAINER, "endpoint": az.endpoint}
    st.update(extra)
    return st


def mkv(path):
    return [{"kind": "file", "format": "mkv", "path": path}]


def record(env, eid, st, seconds):
    env.submit(env.job(eid, {"kind": "participant", "participant": "alice"},
                       mkv("{egress_id}.mkv"), storage=st))
    env.wait(eid, "active", 30)
    time.sleep(seconds)
    env.stop(eid)


def test():
    with egwtest.Env("azure", worker_env={"EGRESS_UPLOAD_PART_SIZE_KB": 64,
                                          "EGRESS_UPLOAD_PARALLEL": 3,
                                          "EGRESS_UPLOAD_RETRY_WINDOW_S": 300}) as env:
        w = env.w
        spool = env.spool
        az = w.start_azurite()
        az.make_container(CONTAINER)
        alice = w.start_publisher("alice", color="0000ff", freq=550, video="vp8")
        alice.wait_for("webrtcup", 30)

        # A recording, under a prefix, with a SAS URL.
        env.submit(env.job("EG_az", {"kind": "participant", "participant": "alice"},
                           mkv("{room_id}/{egress_id}.mkv"),
                           storage=storage(az, prefix="rec", presign_s=600)))
        env.wait("EG_az", "active", 30)
        time.sleep(10)  # (enough bytes for three 64 KiB blocks, even under load)
        env.stop("EG_az")
        env.wait("EG_az", "uploading", 30)
        done = env.wait("EG_az", "complete", 60)
        f = done["outputs"][0]
        blob = "rec/1234/EG_az.mkv"
        expect(f["location"] == "%s/%s/%s" % (az.endpoint, CONTAINER, blob),
               "the file's location is its blob's URL: %s" % f["location"])
        props = az.props(CONTAINER, blob)
        expect(props and props["size"] == f["size"] and props["content_type"] == "video/x-matroska",
               "blob size %s = reported %s, Content-Type %s"
               % (props and props["size"], f["size"], props and props["content_type"]))
        expect(az.sha256(CONTAINER, blob) == f["sha256"], "the blob's SHA-256 is the local file's")
        blocks = az.blocks(CONTAINER, blob)
        expect(blocks["committed"] >= 3 and blocks["uncommitted"] == 0,
               "the %d-byte file went up in %d blocks of 64 KiB, none left uncommitted"
               % (f["size"], blocks["committed"]))
        status, sha = az.fetch(f["url"])
        expect(status == 200 and sha == f["sha256"], "the SAS URL fetches the blob")
        expect("sig=" in f["url"] and "sp=r" in f["url"], "a read-only SAS: %s"
               % f["url"].split("sig=")[0])
        local = os.path.join(w.dir, "EG_az.mkv")
        az.get(CONTAINER, blob, local)
        egwtest.check_media(local, "--expect-codecs", "vp8,opus", "--max-decode-errors", 0,
                            "--expect-color", "0000ff", "--expect-freq", 550)
        man = done["outputs"][-1]
        expect(man["kind"] == "manifest" and
               man["location"] == "%s/%s/rec/EG_az.manifest.json" % (az.endpoint, CONTAINER),
               "the manifest is stored: %s" % man)
        names = [b["name"] for b in az.list(CONTAINER, "rec/")]
        expect(sorted(names) == ["rec/1234/EG_az.mkv", "rec/EG_az.manifest.json"],
               "the container holds the file and the manifest: %s" % names)
        expect(not os.path.exists(os.path.join(spool, "EG_az")), "the spool is empty")

        # A wrong account key: the service's error, not the key; kept.
        record(env, "EG_azbad", storage(az, account_key=WRONG_KEY), 2)
        ev = env.wait("EG_azbad", "failed", 60)
        expect(ev["error"]["code"] == "storage_error" and
               ("AuthenticationFailed" in ev["error"]["message"] or  # Azure's code
                "AuthorizationFailure" in ev["error"]["message"]) and  # Azurite's
               WRONG_KEY not in json.dumps(ev),
               "a wrong key fails with the service's error: %s" % ev["error"])
        kept = ev["outputs"][0]["location"]
        expect(kept.startswith(spool) and os.path.getsize(kept) == ev["outputs"][0]["size"],
               "the file stays in the spool: %s" % kept)

        # No such container.
        record(env, "EG_aznone", storage(az, container="no-such-container"), 2)
        ev = env.wait("EG_aznone", "failed", 60)
        expect(ev["error"]["code"] == "storage_error" and
               "ContainerNotFound" in ev["error"]["message"],
               "no such container: %s" % ev["error"])

        # A key that is not base64: refused at the start, nothing spooled.
        env.submit(env.job("EG_azkey", {"kind": "participant", "participant": "alice"},
                           mkv("x.mkv"), storage=storage(az, account_key="not base64!")))
        ev = env.wait("EG_azkey", "failed", 30)
        expect(ev["error"]["code"] == "invalid_request" and "not base64" in ev["error"]["message"]
               and "not base64!" not in ev["error"]["message"],
               "a key that is not base64: %s" % ev["error"])
        expect(not os.path.exists(os.path.join(spool, "EG_azkey")), "nothing spooled")

        # The service down while the egress uploads: retried, then stored.
        az.stop()
        record(env, "EG_azout", storage(az), 3)
        env.wait("EG_azout", "uploading", 30)
        time.sleep(8)
        az.start()
        done = env.wait("EG_azout", "complete", 120)
        expect(az.sha256(CONTAINER, "EG_azout.mkv") == done["outputs"][0]["sha256"],
               "after the outage the blob is the file")

        text = w.log_text("worker") + json.dumps(env.status.events())
        expect(az.account_key not in text and WRONG_KEY not in text,
               "no account key in the worker's log or the status events")


if __name__ == "__main__":
    egwtest.main(test)
