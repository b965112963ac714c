"""Object storage (S3, against s3rver, which checks SigV4 signatures): a
recording and its HLS segments go through the spool to the bucket, the
`uploading` status comes before `complete`, the object's SHA-256 is the
local file's, a large file goes up in parts, a presigned URL fetches it.
Then abuse: a wrong secret key (clear failure, file kept in the spool), a
bucket that does not exist, no credentials anywhere, a prefix that would
escape, the S3 server down for 30 s in the middle of the uploads (the
egress completes), and the worker killed (SIGKILL) with uploads pending,
once before they began and once in the middle of a multipart upload: a
new worker finishes them, and every multipart upload begun is completed
or aborted."""

import json
import os
import signal
import time
from urllib.parse import parse_qs, urlparse

import egwtest
from egwtest import expect

BUCKET = "recordings"
WRONG_SECRET = "not-the-secret-0x5eed"
HOOK_SECRET = "whsec-storage-7e1d"


def storage(s3, **extra):
    st = {"kind": "s3", "bucket": BUCKET, "endpoint": s3.endpoint, "path_style": True,
          "access_key": s3.access_key, "secret_key": s3.secret_key}
    st.update(extra)
    return st


def mkv(path):
    return [{"kind": "file", "format": "mkv", "path": path}]


def record(env, eid, st, outputs, seconds):
    env.submit(env.job(eid, {"kind": "participant", "participant": "alice"}, outputs,
                       storage=st))
    env.wait(eid, "active", 30)
    time.sleep(seconds)
    env.stop(eid)


def orphaned_uploads(s3):
    """Multipart uploads left unfinished on the server that were never
    aborted: s3rver keeps unfinished ones on disk (and answers Abort with
    405, keeping them too), so those on disk must all have had an Abort."""
    aborted = {parse_qs(urlparse(r["url"]).query).get("uploadId", [""])[0]
               for r in s3.requests() if r["method"] == "DELETE" and "uploadId=" in r["url"]}
    left = s3.list_multipart_uploads(BUCKET)
    return [u for u in left if u["upload_id"] not in aborted]


def test():
    with egwtest.Env("store", worker_env={"EGRESS_UPLOAD_PART_SIZE_KB": 64,
                                          "EGRESS_UPLOAD_PARALLEL": 3,
                                          "EGRESS_UPLOAD_RETRY_WINDOW_S": 300}) as env:
        w = env.w
        spool = env.spool
        s3 = w.start_s3()
        s3.make_bucket(BUCKET)
        alice = w.start_publisher("alice", color="00ff00", freq=660, video="vp8")
        alice.wait_for("webrtcup", 30)

        # A file and HLS segments (one encode: H.264 + AAC), stored under a
        # prefix, with presigned URLs.
        # While it records, segments go up as they close and the playlist
        # after them: polled, the stored playlist never names a missing
        # segment (the playlist read first, then the listing).
        # (640x360: under ASan a 720p30 encode falls behind real time
        # and its backlog outlasted stop_grace_s once)
        st = storage(s3, prefix="rec/", presign_s=600)
        env.submit(env.job("EG_s3", {"kind": "participant", "participant": "alice"},
                           mkv("{room_id}/{egress_id}.mkv") +
                           [{"kind": "segments", "prefix": "hls/{egress_id}", "segment_s": 2}],
                           storage=st, encoding={"width": 640, "height": 360}))
        env.wait("EG_s3", "active", 30)
        t_end, live, seen = time.time() + 10, os.path.join(w.dir, "live.m3u8"), 0
        while time.time() < t_end:
            if s3.head(BUCKET, "rec/hls/EG_s3.m3u8"):
                s3.get(BUCKET, "rec/hls/EG_s3.m3u8", live)
                named = [l.strip() for l in open(live) if l.strip() and not l.startswith("#")]
                keys = {o["key"] for o in s3.list(BUCKET, "rec/hls/")}
                missing = [n for n in named if "rec/hls/" + n not in keys]
                expect(not missing, "the live playlist names only stored segments (missing %s)"
                       % missing)
                seen = max(seen, len(named))
            time.sleep(0.3)
        expect(seen >= 2, "segments were stored while recording (%d in the playlist)" % seen)
        # (loopback throttled for the final upload: each part then takes a
        # while at the server, so parts in flight together show as such
        # however loaded the machine is)
        w.call(["tc", "qdisc", "add", "dev", "lo", "root", "tbf", "rate", "8mbit", "burst",
                "128kb", "latency", "400ms"])
        try:
            env.stop("EG_s3")
            up = env.wait("EG_s3", "uploading", 30)
            expect(up["details"]["files"] >= 2, "uploading announces what is left: %s"
                   % up["details"])
            done = env.wait("EG_s3", "complete", 90)
        finally:
            w.call(["tc", "qdisc", "del", "dev", "lo", "root"], check=False)
        statuses = env.statuses("EG_s3")
        expect(egwtest.in_order(statuses, ["starting", "active", "ending", "uploading", "complete"]),
               "uploading comes before complete: %s" % statuses)
        f = done["outputs"][0]
        expect(f["location"] == "s3://%s/rec/1234/EG_s3.mkv" % BUCKET,
               "the file's location is its object: %s" % f["location"])
        obj = s3.head(BUCKET, "rec/1234/EG_s3.mkv")
        expect(obj and obj["size"] == f["size"], "object size %s = reported %s"
               % (obj and obj["size"], f["size"]))
        expect(obj["content_type"] == "video/x-matroska", "Content-Type %s" % obj["content_type"])
        expect(s3.sha256(BUCKET, "rec/1234/EG_s3.mkv") == f["sha256"],
               "the object's SHA-256 is the local file's")
        parts = [r for r in s3.requests() if r["method"] == "PUT" and "partNumber" in r["url"]
                 and "EG_s3.mkv" in r["url"] and r["status"] == 200]
        expect(len(parts) >= 3, "the %d-byte file went up in %d parts of 64 KiB"
               % (f["size"], len(parts)))
        def most_at_once(reqs):
            return max(sum(1 for q in reqs if q["start"] < p["end"] and p["start"] < q["end"])
                       for p in reqs)
        # (the segment closed at the end and the playlist share the 3
        # requests in flight with the file's parts, so the file alone may
        # have fewer; the throttle makes each request last, so sequential
        # requests never look simultaneous)
        mine = [r for r in s3.requests() if r["method"] in ("PUT", "POST") and "EG_s3" in r["url"]
                and r["start"] >= parts[0]["start"] - 2000]
        # (how many of the 3 allowed overlap at once depends on the
        # machine's load; two of the file's parts at once is the proof)
        expect(most_at_once(parts) >= 2,
               "parts in parallel: %d of the file's, %d requests of the egress in flight at once "
               "at the server" % (most_at_once(parts), most_at_once(mine)))
        status, sha = s3.presigned_get_ok(f["url"])
        expect(status == 200 and sha == f["sha256"], "the presigned URL fetches the object")
        local = os.path.join(w.dir, "EG_s3.mkv")
        s3.get(BUCKET, "rec/1234/EG_s3.mkv", local)
        egwtest.check_media(local, "--expect-codecs", "h264,aac", "--max-decode-errors", 0,
                            "--expect-color", "00ff00", "--expect-freq", 660)
        man_out = done["outputs"][-1]
        expect(man_out["kind"] == "manifest" and
               man_out["location"] == "s3://%s/rec/EG_s3.manifest.json" % BUCKET,
               "the manifest is stored: %s" % man_out)
        puts = [r["url"] for r in s3.requests() if r["method"] in ("PUT", "POST")
                and "EG_s3" in r["url"] and r["status"] == 200]
        expect(puts[-1].endswith("EG_s3.manifest.json"), "and stored last: %s" % puts[-3:])
        man_path = os.path.join(w.dir, "EG_s3.manifest.json")
        s3.get(BUCKET, "rec/EG_s3.manifest.json", man_path)
        with open(man_path) as fm:
            man = json.load(fm)
        expect(man["outputs"][0]["location"] == f["location"] and
               man["outputs"][1]["location"] == "s3://%s/rec/hls/EG_s3.m3u8" % BUCKET,
               "the manifest lists the stored locations: %s" % man["outputs"])
        expect("S3RVER" not in json.dumps(man["request"]), "its request has no secret")
        expect(man["composite"] is True, "tracks transcoded for HLS: composited")
        hls = done["outputs"][1]
        expect(hls["location"] == "s3://%s/rec/hls/EG_s3.m3u8" % BUCKET, "playlist %s"
               % hls["location"])
        keys = {o["key"] for o in s3.list(BUCKET, "rec/hls/")}
        playlist = os.path.join(w.dir, "EG_s3.m3u8")
        s3.get(BUCKET, "rec/hls/EG_s3.m3u8", playlist)
        named = [l.strip() for l in open(playlist) if l.strip() and not l.startswith("#")]
        expect(named and all("rec/hls/" + n in keys for n in named),
               "every segment the playlist names is stored: %s" % named)
        expect(not os.path.exists(os.path.join(spool, "EG_s3")) and
               not os.path.exists(os.path.join(spool, "EG_s3.json")),
               "the spool is empty once everything is stored")

        # Google Cloud Storage through its XML API with HMAC keys (here the
        # same S3-compatible server): gs:// locations. A service-account key
        # missing its fields is refused at the start.
        gcs = {"kind": "gcs", "bucket": BUCKET, "endpoint": s3.endpoint,
               "access_key": s3.access_key, "secret_key": s3.secret_key}
        record(env, "EG_gcs", gcs, mkv("gcs/{egress_id}.mkv"), 2)
        done = env.wait("EG_gcs", "complete", 60)
        expect(done["outputs"][0]["location"] == "gs://%s/gcs/EG_gcs.mkv" % BUCKET and
               s3.sha256(BUCKET, "gcs/EG_gcs.mkv") == done["outputs"][0]["sha256"],
               "a GCS (HMAC) egress is stored: %s" % done["outputs"][0]["location"])
        env.submit(env.job("EG_gcs_sa", {"kind": "participant", "participant": "alice"},
                           mkv("x.mkv"), storage={"kind": "gcs", "bucket": BUCKET,
                                                  "credentials_json": {"type": "service_account"}}))
        ev = env.wait("EG_gcs_sa", "failed", 30)
        expect(ev["error"]["code"] == "invalid_request" and
               "storage.credentials_json: service_account.client_email" in ev["error"]["message"],
               "a service-account key without its fields: refused at the start: %s" % ev["error"])

        # A wrong secret key: failed, the storage's error named, not the key;
        # the file stays in the spool, at the location reported.
        record(env, "EG_badkey", storage(s3, secret_key=WRONG_SECRET), mkv("{egress_id}.mkv"), 3)
        ev = env.wait("EG_badkey", "failed", 60)
        expect(ev["error"]["code"] == "storage_error" and
               "SignatureDoesNotMatch" in ev["error"]["message"],
               "a wrong secret fails with the storage's error: %s" % ev["error"])
        kept = ev["outputs"][0]["location"]
        expect(kept.startswith(spool) and os.path.getsize(kept) == ev["outputs"][0]["size"],
               "the file stays in the spool: %s" % kept)

        # No such bucket.
        record(env, "EG_nobucket", storage(s3, bucket="no-such-bucket"), mkv("{egress_id}.mkv"), 2)
        ev = env.wait("EG_nobucket", "failed", 60)
        expect("NoSuchBucket" in ev["error"]["message"], "no such bucket: %s" % ev["error"])

        # An endpoint that refuses connections: retried (it may come back)
        # for the retry window (3 s for this `egress run`), then failed with
        # the reason; the file stays in the spool.
        run = egwtest.Run(w, "refused", env.job(
            "EG_refused", {"kind": "participant", "participant": "alice"},
            mkv("{egress_id}.mkv"), storage=storage(s3, endpoint="http://127.0.0.1:9")),
            {"EGRESS_SPOOL_DIR": spool, "EGRESS_UPLOAD_RETRY_WINDOW_S": 3},
            ["--duration", "10"])
        ev = run.wait("failed", 60)
        run.exit(20)
        expect(ev["error"]["code"] == "storage_unreachable" and
               "gave up after 3 s" in ev["error"]["message"] and
               "Couldn't connect" in ev["error"]["message"],
               "a refusing endpoint fails after the window: %s" % ev["error"])
        expect(os.path.getsize(ev["outputs"][0]["location"]) == ev["outputs"][0]["size"],
               "its file stays in the spool: %s" % ev["outputs"][0]["location"])

        # No credentials anywhere; a prefix that escapes: refused at once.
        st = storage(s3)
        del st["access_key"], st["secret_key"]
        env.submit(env.job("EG_nocreds", {"kind": "participant", "participant": "alice"},
                           mkv("x.mkv"), storage=st))
        ev = env.wait("EG_nocreds", "failed", 30)
        expect("no credentials" in ev["error"]["message"], "no credentials: %s" % ev["error"])
        expect(not os.path.exists(os.path.join(spool, "EG_nocreds")), "nothing spooled")
        env.submit(env.job("EG_escape", {"kind": "participant", "participant": "alice"},
                           mkv("x.mkv"), storage=storage(s3, prefix="../other/")))
        ev = env.wait("EG_escape", "failed", 30)
        expect(ev["error"]["code"] == "invalid_request" and "storage.prefix" in ev["error"]["message"],
               "an escaping prefix is refused: %s" % ev["error"])

        # The S3 server down for 30 s in the middle of the uploads.
        s3.stop()
        record(env, "EG_outage", storage(s3), mkv("{egress_id}.mkv"), 4)
        env.wait("EG_outage", "uploading", 30)
        time.sleep(30)
        s3.start()
        done = env.wait("EG_outage", "complete", 120)
        expect(s3.sha256(BUCKET, "EG_outage.mkv") == done["outputs"][0]["sha256"],
               "after the outage the object is the file")

        # The worker killed with uploads pending; a new worker finishes them,
        # and reports the end to the egress's webhook too.
        hook = w.start_webhook_receiver("hook", 8903, secret=HOOK_SECRET)
        s3.stop()
        env.submit(env.job("EG_crash", {"kind": "participant", "participant": "alice"},
                           mkv("{egress_id}.mkv"), storage=storage(s3),
                           webhook={"url": hook.url(), "secret": HOOK_SECRET}))
        env.wait("EG_crash", "active", 30)
        time.sleep(4)
        env.stop("EG_crash")
        env.wait("EG_crash", "uploading", 30)
        os.kill(env.worker.pid, signal.SIGKILL)
        env.worker.wait(5)
        deadline = time.time() + 15
        while time.time() < deadline and env.job_pids():
            time.sleep(0.2)
        expect(not env.job_pids(), "the job process left when its worker died")
        journal = os.path.join(spool, "EG_crash.json")
        expect(os.path.exists(journal), "its journal stays in the spool")
        expect(os.stat(journal).st_mode & 0o777 == 0o600, "journals are private (0600)")
        s3.start()
        env.worker = env.restart_worker()
        done = env.wait("EG_crash", "complete", 90)
        expect(s3.sha256(BUCKET, "EG_crash.mkv") == done["outputs"][0]["sha256"],
               "the new worker stored the file")
        expect(not os.path.exists(journal), "and cleared its journal")
        deadline = time.time() + 20
        while time.time() < deadline and not any(
                json.loads(r["body"])["egress"]["status"] == "complete" for r in hook.requests()):
            time.sleep(0.3)
        got = [(json.loads(r["body"])["egress"]["status"], r["valid"]) for r in hook.requests()]
        expect(got and got[-1] == ("complete", True) and ("uploading", True) in got,
               "the webhook got the events of both workers, the end from the new one: %s" % got)
        # The worker killed in the middle of a multipart upload (loopback
        # throttled so that the parts take seconds): the new worker aborts
        # the upload begun and stores the file anew.
        env.submit(env.job("EG_midpart", {"kind": "participant", "participant": "alice"},
                           mkv("{egress_id}.mkv"), storage=storage(s3)))
        env.wait("EG_midpart", "active", 30)
        time.sleep(12)  # (a file well beyond the throttle's 128 KB burst: seconds of parts)
        w.call(["tc", "qdisc", "add", "dev", "lo", "root", "tbf", "rate", "512kbit", "burst",
                "128kb", "latency", "400ms"])
        try:
            env.stop("EG_midpart")
            env.wait("EG_midpart", "uploading", 30)
            journal = os.path.join(spool, "EG_midpart.json")
            begun, deadline = {}, time.time() + 30
            while not begun and time.time() < deadline:
                try:
                    with open(journal) as fj:
                        begun = json.load(fj)["multipart"]
                except (OSError, ValueError):
                    pass
                time.sleep(0.02)
            expect(begun, "a multipart upload was begun: %s" % begun)
            os.kill(env.worker.pid, signal.SIGKILL)
            env.worker.wait(5)
            deadline = time.time() + 15
            while time.time() < deadline and env.job_pids():
                time.sleep(0.2)
            expect(not env.job_pids(), "its job process left with it")
        finally:
            w.call(["tc", "qdisc", "del", "dev", "lo", "root"], check=False)
        expect(s3.head(BUCKET, "EG_midpart.mkv") is None, "killed before the upload completed")
        env.worker = env.restart_worker()
        done = env.wait("EG_midpart", "complete", 90)
        expect(s3.sha256(BUCKET, "EG_midpart.mkv") == done["outputs"][0]["sha256"],
               "the new worker stored the file")
        upload_id = list(begun.values())[0]
        aborted = [r for r in s3.requests() if r["method"] == "DELETE" and upload_id in r["url"]]
        expect(aborted, "the upload the killed worker began was aborted (%s)" % upload_id[:8])
        orphans = orphaned_uploads(s3)
        expect(not orphans, "every multipart upload begun was completed or aborted: %s" % orphans)
        text = (w.log_text("worker") + w.log_text("worker2") + w.log_text("worker3") +
                json.dumps(env.status.events()))
        for secret in (WRONG_SECRET, "S3RVER:S3RVER", HOOK_SECRET):
            expect(secret not in text, "the secret %s... appears nowhere" % secret[:6])


if __name__ == "__main__":
    egwtest.main(test)
