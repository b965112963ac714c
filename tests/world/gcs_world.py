"""Google Cloud Storage with a service account, as far as it can run here
(tests/world/gcs_auth.py): an OAuth2 token endpoint that verifies the JWT
assertions and a gate that lets requests carrying its tokens through to
an S3Server (Cloud Storage's XML API is S3's protocol). The service
account's RSA key is made here, per run. Used through World.start_gcs_auth().
"""

import json
import os
import subprocess

from served import Served

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "gcs_auth.py")


def make_rsa_key(path):
    """A new 2048-bit RSA private key (PKCS#8 PEM) at path; returns its PEM."""
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", path], check=True, capture_output=True)
    with open(path) as f:
        return f.read()


class GcsAuth(Served):
    email = "egress-writer@egw-test.iam.gserviceaccount.com"

    def __init__(self, world, name, port, s3, expires_in):
        self.world, self.name, self.port, self.s3 = world, name, port, s3
        self.expires_in = expires_in
        self.dir = os.path.join(world.dir, "gcs-" + name)
        os.makedirs(self.dir, exist_ok=True)
        self.key_pem = make_rsa_key(os.path.join(self.dir, "key.pem"))
        self.public_pem = os.path.join(self.dir, "public.pem")
        subprocess.run(["openssl", "pkey", "-in", os.path.join(self.dir, "key.pem"), "-pubout",
                        "-out", self.public_pem], check=True, capture_output=True)
        self.proc = None

    @property
    def endpoint(self):
        """What storage.endpoint takes (the XML API, behind the gate)."""
        return "http://127.0.0.1:%d" % self.port

    @property
    def token_uri(self):
        return "http://127.0.0.1:%d/token" % self.port

    def credentials(self, key_pem=None, token_uri=None):
        """A service account key file (as a dict) for this account; key_pem:
        another private key (one the endpoint will not accept)."""
        return {"type": "service_account", "project_id": "egw-test",
                "private_key_id": "k-%d" % self.port,
                "private_key": key_pem or self.key_pem, "client_email": self.email,
                "client_id": "100000000000000000001",
                "token_uri": token_uri or self.token_uri}

    def start(self, timeout=15):
        self.proc = self.world.run(["/usr/bin/python3", SERVER, str(self.port), self.s3.endpoint,
                                    self.public_pem, self.email, "--expires-in",
                                    str(self.expires_in)], name="gcs-" + self.name)
        return self._await_listening("gcs auth %s" % self.name, timeout)

    def _lines(self, kind):
        out = []
        for line in self.world.log_text(self.proc.egw_name).splitlines():
            if line.startswith(kind + " {"):
                out.append(json.loads(line[len(kind) + 1:]))
        return out

    def tokens(self):
        """[{"ok", "reason", "kid"}]: every token request, oldest first."""
        return self._lines("token")

    def requests(self):
        """[{"method", "path", "auth", "status"}]: every storage request."""
        return self._lines("request")

    def signed(self):
        """[{"path", "ok", "reason"}]: every GET with a signed URL."""
        return self._lines("signed")
