#!/usr/bin/python3
"""An independent S3 client for the tests (boto3, Debian python3-boto3):
path-style addressing, region us-east-1, signature v4. The test world runs
it inside the namespace (tests/world/s3_world.py) and reads one JSON value
from stdout.

  s3_client.py --endpoint URL [--access-key K] [--secret-key S] COMMAND ...

  make_bucket BUCKET            -> true
  list BUCKET [PREFIX]          -> [{"key", "size", "etag"}]   (every page)
  head BUCKET KEY               -> {"size", "etag", "content_type"} or null
  get BUCKET KEY DEST           -> DEST (the object, downloaded to a file)
  sha256 BUCKET KEY             -> hex SHA-256 of the object, or null
  put BUCKET KEY SRC [TYPE]     -> {"etag"}                    (one PUT)
  presign_get BUCKET KEY [SECS] -> a presigned GET URL (query-string SigV4)

ETags are given as the server sends them (with their double quotes). An S3
error prints {"error": CODE, "status": HTTP status, "message": ...} and
exits 3; a connection failure (refused, or no answer within 15 s: no
retries) prints {"error": "connection", ...} and exits 4.
"""

import argparse
import hashlib
import json
import sys

import boto3
import botocore.exceptions
from botocore.config import Config


def client(args):
    return boto3.client(
        "s3", endpoint_url=args.endpoint, region_name="us-east-1",
        aws_access_key_id=args.access_key, aws_secret_access_key=args.secret_key,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                      connect_timeout=5, read_timeout=15, retries={"total_max_attempts": 1}))


def status_of(e):
    return e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")


def run(s3, cmd, a):
    if cmd == "make_bucket":
        s3.create_bucket(Bucket=a[0])
        return True
    if cmd == "list":
        out, kw = [], {"Bucket": a[0], "Prefix": a[1] if len(a) > 1 else ""}
        while True:
            r = s3.list_objects_v2(**kw)
            out += [{"key": o["Key"], "size": o["Size"], "etag": o["ETag"]}
                    for o in r.get("Contents", [])]
            if not r.get("IsTruncated"):
                return out
            kw["ContinuationToken"] = r["NextContinuationToken"]
    if cmd == "head":
        try:
            r = s3.head_object(Bucket=a[0], Key=a[1])
        except botocore.exceptions.ClientError as e:
            if status_of(e) == 404:
                return None
            raise
        return {"size": r["ContentLength"], "etag": r["ETag"],
                "content_type": r.get("ContentType")}
    if cmd == "get":
        s3.download_file(a[0], a[1], a[2])
        return a[2]
    if cmd == "sha256":
        try:
            body = s3.get_object(Bucket=a[0], Key=a[1])["Body"]
        except botocore.exceptions.ClientError as e:
            if status_of(e) == 404:
                return None
            raise
        h = hashlib.sha256()
        for chunk in iter(lambda: body.read(1 << 20), b""):
            h.update(chunk)
        return h.hexdigest()
    if cmd == "put":
        with open(a[2], "rb") as f:
            kw = {"ContentType": a[3]} if len(a) > 3 else {}
            r = s3.put_object(Bucket=a[0], Key=a[1], Body=f, **kw)
        return {"etag": r["ETag"]}
    if cmd == "presign_get":
        return s3.generate_presigned_url("get_object", Params={"Bucket": a[0], "Key": a[1]},
                                         ExpiresIn=int(a[2]) if len(a) > 2 else 3600)
    raise SystemExit("unknown command %r" % cmd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--access-key", default="S3RVER")
    ap.add_argument("--secret-key", default="S3RVER")
    ap.add_argument("command")
    ap.add_argument("args", nargs="*")
    args = ap.parse_args()
    try:
        out = run(client(args), args.command, args.args)
    except botocore.exceptions.ClientError as e:
        err = e.response.get("Error", {})
        # head_object has no body: its "code" is the HTTP status.
        print(json.dumps({"error": err.get("Code"), "status": status_of(e),
                          "message": err.get("Message")}))
        return 3
    except (botocore.exceptions.ConnectionError,   # refused, connect timeout
            botocore.exceptions.HTTPClientError) as e:  # closed, read timeout
        print(json.dumps({"error": "connection", "status": None, "message": str(e)}))
        return 4
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
