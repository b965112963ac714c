"""S3 servers of a World: @20minutes/s3rver (tests/world/s3rver/serve.js,
installed by scripts/setup.sh with npm ci) run inside the namespace. It
checks SigV4 signatures; facts about it in /work/shared/TESTWORLD.md (S3).
Used through World.start_s3().

Every check goes through an independent client, boto3, run inside the
namespace by tests/tools/s3_client.py; presigned URLs are fetched with curl.
"""

import glob
import json
import os
import shutil

from served import Served

HERE = os.path.dirname(os.path.abspath(__file__))
S3RVER_DIR = os.path.join(HERE, "s3rver")
CLIENT = os.path.join(HERE, "..", "tools", "s3_client.py")

# s3rver keeps a multipart upload in progress as files:
# DATA/<bucket>/._S3rver_uploads/<uploadId>/{key,metadata,<part>,<part>.md5}
# and deletes that directory when the upload completes (it has no ListMultipartUploads).
UPLOADS_DIR = "._S3rver_uploads"


class S3Error(Exception):
    """An S3 error answer (code: "NoSuchBucket", ..., status: HTTP status)
    or a client failure (code "connection", or None)."""

    def __init__(self, code, status, message):
        Exception.__init__(self, "%s (%s): %s" % (code, status, message))
        self.code, self.status = code, status


class S3Server(Served):
    """One s3rver on 127.0.0.1:port; its data lives in data_dir (kept across
    stop()/start()). freeze()/thaw(): SIGSTOP/SIGCONT (connections stay open,
    nothing is answered)."""

    access_key = "S3RVER"
    secret_key = "S3RVER"
    region = "us-east-1"

    def __init__(self, world, name, port):
        self.world, self.name, self.port = world, name, port
        self.dir = os.path.join(world.dir, "s3-" + name)
        self.data_dir = os.path.join(self.dir, "data")
        os.makedirs(self.data_dir, exist_ok=True)
        self.proc = None
        self._log_names = []  # one per run

    @property
    def endpoint(self):
        return "http://127.0.0.1:%d" % self.port

    # -- the server
    def start(self, timeout=15):
        from world import WorldError
        node = shutil.which("node")
        if not node:
            raise WorldError("node not found: S3 tests need Node.js >= 20 (see scripts/setup.sh)")
        if not os.path.isdir(os.path.join(S3RVER_DIR, "node_modules", "@20minutes", "s3rver")):
            raise WorldError("%s/node_modules missing: run scripts/setup.sh (npm ci)" % S3RVER_DIR)
        self.proc = self.world.run([node, os.path.join(S3RVER_DIR, "serve.js"), self.port,
                                    self.data_dir], name="s3-" + self.name)
        self._log_names.append(self.proc.egw_name)
        return self._await_listening("s3rver %s" % self.name, timeout)

    def requests(self):
        """Every request answered so far, across restarts, oldest first:
        [{"method", "url" (path and query), "status", "start", "end" (ms since
        the epoch: arrived, answered)}]. The way to see that a
        client tried an operation s3rver does not support (e.g. an abort:
        DELETE ...?uploadId=... answered 405)."""
        out = []
        for name in self._log_names:
            for line in self.world.log_text(name).splitlines():
                if line.startswith("request {"):
                    try:
                        out.append(json.loads(line[len("request "):]))
                    except ValueError:
                        pass
        return out

    # -- client operations (boto3 inside the namespace)
    def client(self, *args, timeout=60):
        """Runs one s3_client.py command; returns its JSON answer or raises
        S3Error."""
        argv = ["/usr/bin/python3", CLIENT, "--endpoint", self.endpoint,
                "--access-key", self.access_key, "--secret-key", self.secret_key] + list(args)
        r = self.world.call(argv, timeout=timeout, check=False)
        try:
            out = json.loads(r.stdout)
        except ValueError:
            raise S3Error(None, None, "s3_client %s: exit %d: %s %s"
                          % (args[0], r.returncode, r.stdout[-300:],
                             r.stderr.decode(errors="replace")[-1500:]))
        if r.returncode != 0:
            raise S3Error(out.get("error"), out.get("status"), out.get("message"))
        return out

    def make_bucket(self, bucket, exist_ok=False):
        """Creates a bucket (s3rver: names of 3 to 63 characters; an
        existing one is 409 BucketAlreadyExists unless exist_ok)."""
        try:
            self.client("make_bucket", bucket)
        except S3Error as e:
            if not (exist_ok and e.code in ("BucketAlreadyExists", "BucketAlreadyOwnedByYou")):
                raise

    def list(self, bucket, prefix=""):
        """[{"key", "size", "etag"}] of the objects under prefix."""
        return self.client("list", bucket, prefix)

    def head(self, bucket, key):
        """{"size", "etag", "content_type"}, or None if there is no such object."""
        return self.client("head", bucket, key)

    def get(self, bucket, key, dest_path):
        """Downloads the object to dest_path; returns dest_path."""
        return self.client("get", bucket, key, dest_path)

    def sha256(self, bucket, key):
        """Hex SHA-256 of the object's bytes (None if missing)."""
        return self.client("sha256", bucket, key)

    def put(self, bucket, key, src_path, content_type=None):
        """Uploads a file with one PUT; returns its ETag."""
        extra = [content_type] if content_type else []
        return self.client("put", bucket, key, src_path, *extra)["etag"]

    def presign_get(self, bucket, key, expires=3600):
        """A presigned GET URL (query-string SigV4) made by boto3."""
        return self.client("presign_get", bucket, key, str(expires))

    def presigned_get_ok(self, url):
        """Fetches url with curl inside the namespace: (HTTP status, hex
        SHA-256 of the body)."""
        return self.curl_get(url)

    def list_multipart_uploads(self, bucket):
        """The multipart uploads in progress (initiated, not completed, still
        on disk), read from the data directory because s3rver answers
        ListMultipartUploads with 501 NotImplemented:
        [{"upload_id", "key", "parts": [{"part_number", "size"}]}]. key is
        None for a directory s3rver made when a part was uploaded under an
        uploadId it never issued. s3rver cannot abort (405), so an upload a
        client aborted stays listed: see requests() for the DELETE."""
        out = []
        for d in sorted(glob.glob(os.path.join(self.data_dir, bucket, UPLOADS_DIR, "*"))):
            try:
                with open(os.path.join(d, "key")) as f:
                    key = f.read()
            except OSError:
                key = None
            parts = sorted(int(p) for p in os.listdir(d) if p.isdigit())
            out.append({"upload_id": os.path.basename(d), "key": key,
                        "parts": [{"part_number": n,
                                   "size": os.path.getsize(os.path.join(d, str(n)))}
                                  for n in parts]})
        return out
