"""Google Cloud Storage with a service account key (storage.credentials_json):
the worker signs a JWT assertion with the account's key, trades it for an
access token at the account's token_uri, and sends Cloud Storage's XML API
requests with that token. Google cannot run here: the token endpoint and
the gate that checks tokens are tests/world/gcs_auth.py (RS256 verified
with python3-cryptography), the objects land in s3rver. A file in parts
and HLS segments are stored (checked with boto3), every request carried a
token the endpoint issued (or a signed URL), short-lived tokens are fetched again before
they run out. Then abuse: a key the endpoint does not accept (invalid_grant:
failed at once, the file kept), a token endpoint that refuses connections
(retried, then storage_unreachable). Presigned URLs are V4 signed URLs
(GOOG4-RSA-SHA256) that the gate verifies; a tampered one is refused."""

import json
import os
import time

import egwtest
from egwtest import expect
from gcs_world import make_rsa_key

BUCKET = "recordings"


def mkv(path):
    return [{"kind": "file", "format": "mkv", "path": path}]


def test():
    with egwtest.Env("gcs", worker_env={"EGRESS_UPLOAD_PART_SIZE_KB": 64,
                                        "EGRESS_UPLOAD_PARALLEL": 3,
                                        "EGRESS_UPLOAD_RETRY_WINDOW_S": 300}) as env:
        w = env.w
        spool = env.spool
        s3 = w.start_s3()
        s3.make_bucket(BUCKET)
        # tokens of 302 s: with the worker's 5-minute margin, each is used
        # for 2 s, then fetched again
        gcs = w.start_gcs_auth(s3, expires_in=302)
        alice = w.start_publisher("alice", color="ff00ff", freq=770, video="vp8")
        alice.wait_for("webrtcup", 30)

        def storage(**extra):
            st = {"kind": "gcs", "bucket": BUCKET, "endpoint": gcs.endpoint,
                  "credentials_json": gcs.credentials()}
            st.update(extra)
            return st

        env.submit(env.job("EG_sa", {"kind": "participant", "participant": "alice"},
                           mkv("{egress_id}.mkv") +
                           [{"kind": "segments", "prefix": "hls/{egress_id}", "segment_s": 2}],
                           storage=storage(prefix="sa", presign_s=600)))
        env.wait("EG_sa", "active", 30)
        time.sleep(10)  # (enough bytes for three parts, even under load)
        env.stop("EG_sa")
        done = env.wait("EG_sa", "complete", 90)
        f = done["outputs"][0]
        expect(f["location"] == "gs://%s/sa/EG_sa.mkv" % BUCKET,
               "the file's location: %s" % f["location"])
        expect(s3.sha256(BUCKET, "sa/EG_sa.mkv") == f["sha256"],
               "the object's SHA-256 is the local file's")
        reqs = gcs.requests()
        parts = [r for r in reqs if "partNumber=" in r["path"] and "EG_sa.mkv" in r["path"]]
        expect(len(parts) >= 3 and all(r["status"] == 200 for r in parts),
               "the file went up in %d parts through the gate" % len(parts))
        reqs = [r for r in reqs if r["auth"] != "signed"]
        expect(reqs and all(r["auth"] == "ok" for r in reqs),
               "every one of the %d storage requests carried an issued token: %s"
               % (len(reqs), [r for r in reqs if r["auth"] != "ok"][:3]))
        tokens = gcs.tokens()
        expect(len(tokens) >= 2 and all(t["ok"] for t in tokens),
               "short-lived tokens were fetched again (%d token requests, all verified)"
               % len(tokens))
        expect(tokens[0]["kid"] == "k-%d" % gcs.port, "the assertion names its key: %s"
               % tokens[0]["kid"])
        keys = {o["key"] for o in s3.list(BUCKET, "sa/hls/")}
        expect("sa/hls/EG_sa.m3u8" in keys and len(keys) >= 3,
               "the playlist and its segments are stored: %d objects" % len(keys))
        url = f.get("url", "")
        expect("X-Goog-Algorithm=GOOG4-RSA-SHA256" in url and "X-Goog-Signature=" in url,
               "a V4 signed URL, signed with the account's key: %s" % url.split("&X-Goog-Sig")[0])
        status, sha = s3.presigned_get_ok(url)
        expect(status == 200 and sha == f["sha256"], "it fetches the object (curl)")
        tampered = url[:-4] + ("0000" if not url.endswith("0000") else "1111")
        status, _ = s3.presigned_get_ok(tampered)
        expect(status == 403 and [x["ok"] for x in gcs.signed()] == [True, False],
               "a tampered signature is refused (%d)" % status)
        expect(not os.path.exists(os.path.join(spool, "EG_sa")), "the spool is empty")

        # A key the token endpoint does not accept: failed at once, kept.
        other = make_rsa_key(os.path.join(w.dir, "other.pem"))
        env.submit(env.job("EG_sabad", {"kind": "participant", "participant": "alice"},
                           mkv("{egress_id}.mkv"),
                           storage=storage(credentials_json=gcs.credentials(key_pem=other))))
        env.wait("EG_sabad", "active", 30)
        time.sleep(2)
        env.stop("EG_sabad")
        ev = env.wait("EG_sabad", "failed", 60)
        expect(ev["error"]["code"] == "storage_error" and "invalid_grant" in ev["error"]["message"],
               "a refused assertion fails with the endpoint's error: %s" % ev["error"])
        kept = ev["outputs"][0]["location"]
        expect(kept.startswith(spool) and os.path.getsize(kept) == ev["outputs"][0]["size"],
               "the file stays in the spool: %s" % kept)

        # A token endpoint that refuses connections: retried for the window
        # (3 s for this `egress run`), then storage_unreachable.
        run = egwtest.Run(w, "sarefused", env.job(
            "EG_sarefused", {"kind": "participant", "participant": "alice"}, mkv("{egress_id}.mkv"),
            storage=storage(credentials_json=gcs.credentials(
                token_uri="http://127.0.0.1:9/token"))),
            {"EGRESS_SPOOL_DIR": spool, "EGRESS_UPLOAD_RETRY_WINDOW_S": 3}, ["--duration", "10"])
        ev = run.wait("failed", 60)
        run.exit(20)
        expect(ev["error"]["code"] == "storage_unreachable" and
               "token endpoint" in ev["error"]["message"],
               "an unreachable token endpoint fails after the window: %s" % ev["error"])

        text = w.log_text("worker") + json.dumps(env.status.events())
        key_line = gcs.key_pem.splitlines()[1]
        expect(key_line not in text and "ya29.test-" not in text,
               "neither the private key nor a token in the worker's log or the events")


if __name__ == "__main__":
    egwtest.main(test)
