#!/usr/bin/python3
"""Self-test of the test world's S3 server and webhook receiver: s3rver
takes a SigV4-signed PUT from curl (as libcurl in the worker signs it),
boto3 lists/heads/hashes it, a wrong secret gets 403, a restart keeps the
object, a presigned GET works; the webhook receiver tells a correctly
signed POST from a badly signed one and switches modes. Needs root. Exit 0
on success."""

import hashlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from world import World  # noqa: E402
from s3_world import S3Error  # noqa: E402
from hook_world import sign  # noqa: E402


def curl_put(w, s3, bucket, key, path, secret=None):
    """PUT with libcurl's SigV4 signing; returns (HTTP status, response body)."""
    r = w.call(["curl", "-sS", "-o", "-", "-w", "\n%{http_code}",
                "--aws-sigv4", "aws:amz:us-east-1:s3",
                "--user", "%s:%s" % (s3.access_key, secret or s3.secret_key),
                "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
                "-T", path, "%s/%s/%s" % (s3.endpoint, bucket, key)])
    body, _, status = r.stdout.decode(errors="replace").rpartition("\n")
    return int(status), body


def check_s3(w):
    s3 = w.start_s3()
    assert s3.endpoint == "http://127.0.0.1:9000", s3.endpoint
    s3.make_bucket("egress")
    data = os.urandom(300 * 1024)
    src = os.path.join(w.dir, "obj.bin")
    with open(src, "wb") as f:
        f.write(data)
    status, body = curl_put(w, s3, "egress", "rec/EG_1/a.bin", src)
    assert status == 200, (status, body)

    objs = s3.list("egress", "rec/")
    assert objs == [{"key": "rec/EG_1/a.bin", "size": len(data),
                     "etag": '"%s"' % hashlib.md5(data).hexdigest()}], objs
    head = s3.head("egress", "rec/EG_1/a.bin")
    assert head["size"] == len(data) and head["etag"] == objs[0]["etag"], head
    assert s3.head("egress", "missing") is None
    assert s3.sha256("egress", "rec/EG_1/a.bin") == hashlib.sha256(data).hexdigest()
    dest = s3.get("egress", "rec/EG_1/a.bin", os.path.join(w.dir, "dl.bin"))
    assert open(dest, "rb").read() == data

    status, body = curl_put(w, s3, "egress", "bad.bin", src, secret="wrong")
    assert status == 403 and "<Code>SignatureDoesNotMatch</Code>" in body, (status, body)
    status, body = curl_put(w, s3, "nobucket", "x.bin", src)
    assert status == 404 and "<Code>NoSuchBucket</Code>" in body, (status, body)
    try:
        s3.list("nobucket")
        raise AssertionError("listing a missing bucket worked")
    except S3Error as e:
        assert (e.code, e.status) == ("NoSuchBucket", 404), e

    url = s3.presign_get("egress", "rec/EG_1/a.bin", 60)
    assert s3.presigned_get_ok(url) == (200, hashlib.sha256(data).hexdigest())
    assert s3.presigned_get_ok(url.replace("a.bin", "b.bin"))[0] == 403

    # a multipart upload in progress shows in the data directory
    r = w.call(["curl", "-sS", "-X", "POST", "--aws-sigv4", "aws:amz:us-east-1:s3",
                "--user", "S3RVER:S3RVER", "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",
                s3.endpoint + "/egress/mp.bin?uploads="]).stdout.decode()
    uid = r.split("<UploadId>")[1].split("<")[0]
    ups = s3.list_multipart_uploads("egress")
    assert ups == [{"upload_id": uid, "key": "mp.bin", "parts": []}], ups

    s3.stop()
    s3.start()
    assert s3.sha256("egress", "rec/EG_1/a.bin") == hashlib.sha256(data).hexdigest()
    assert [o["key"] for o in s3.list("egress")] == ["rec/EG_1/a.bin"]
    assert any(r["method"] == "PUT" and r["status"] == 403 for r in s3.requests())
    print("s3 OK")


def post(w, url, body, headers):
    argv = ["curl", "-sS", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}",
            "--data-binary", "@-", "-H", "Content-Type: application/json"]
    for k, v in headers.items():
        argv += ["-H", "%s: %s" % (k, v)]
    r = w.call(argv + [url], check=False, input=body.encode())
    return int(r.stdout or 0)


def check_hook(w):
    hook = w.start_webhook_receiver(secret="s3cret", fail_first=1)
    body = json.dumps({"egress_id": "EG_1", "status": "complete"})
    assert post(w, hook.url(), body, sign("s3cret", body)) == 500  # --fail-first 1
    assert post(w, hook.url(), body, sign("s3cret", body)) == 200
    assert post(w, hook.url("/other"), body, sign("wrong", body)) == 200
    assert post(w, hook.url(), body, sign("s3cret", body, time.time() - 400)) == 200
    assert post(w, hook.url(), body, {}) == 200
    reqs = hook.wait_requests(5)
    assert [r["valid"] for r in reqs] == [True, True, False, False, False], reqs
    assert [r["answered"] for r in reqs] == [500, 200, 200, 200, 200], reqs
    assert reqs[2]["path"] == "/other" and reqs[0]["body"] == body, reqs
    assert reqs[0]["headers"]["egress-signature"].startswith("v1="), reqs[0]

    hook.set_mode("fail")
    assert post(w, hook.url(), body, sign("s3cret", body)) == 500
    hook.set_mode("hang")
    t0 = time.time()
    assert post(w, hook.url(), body, sign("s3cret", body)) == 0  # curl gives up after 5 s
    assert time.time() - t0 > 4.5
    assert hook.requests()[-1]["answered"] is None
    hook.set_mode("ok")
    hook.stop()
    hook.start()
    assert post(w, hook.url(), body, sign("s3cret", body)) == 500  # a new run fails first again
    assert len(hook.requests()) == 8
    print("webhook receiver OK")


def main():
    t0 = time.time()
    with World("s3selftest") as w:
        check_s3(w)
        check_hook(w)
    print("s3 selftest OK in %.2f s" % (time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
