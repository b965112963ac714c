"""Azure Blob Storage of a World: Azurite (npm package azurite, installed in
tests/world/azurite by scripts/setup.sh with npm ci), Microsoft's emulator,
run inside the namespace. It checks Shared Key and SAS signatures. Its
well-known development account is used (devstoreaccount1 and its published
key); its URLs are path-style: http://127.0.0.1:PORT/devstoreaccount1/...
Used through World.start_azurite().

Every check goes through an independent client, Microsoft's own SDK
(@azure/storage-blob, run by tests/tools/azure_client.js inside the
namespace); SAS URLs are fetched with curl.
"""

import json
import os
import shutil

from served import Served

HERE = os.path.dirname(os.path.abspath(__file__))
AZURITE_DIR = os.path.join(HERE, "azurite")
CLIENT = os.path.join(HERE, "..", "tools", "azure_client.js")


class AzureError(Exception):
    """An error answer of the service (code "ContainerNotFound", ..., status)."""

    def __init__(self, code, status, message):
        Exception.__init__(self, "%s (%s): %s" % (code, status, message))
        self.code, self.status = code, status


class Azurite(Served):
    """One Azurite Blob service on 127.0.0.1:port; its data lives in
    data_dir (kept across stop()/start())."""

    account = "devstoreaccount1"
    # Azurite's published development key (the same in every installation)
    account_key = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
                   "K1SZFPTOtr/KBHBeksoGMGw==")

    def __init__(self, world, name, port):
        self.world, self.name, self.port = world, name, port
        self.dir = os.path.join(world.dir, "azure-" + name)
        self.data_dir = os.path.join(self.dir, "data")
        os.makedirs(self.data_dir, exist_ok=True)
        self.proc = None

    @property
    def endpoint(self):
        """The Blob service's URL, as storage.endpoint takes it."""
        return "http://127.0.0.1:%d/%s" % (self.port, self.account)

    def start(self, timeout=30):
        from world import WorldError
        node = shutil.which("node")
        main = os.path.join(AZURITE_DIR, "node_modules", "azurite", "dist", "src", "blob",
                            "main.js")
        if not node:
            raise WorldError("node not found: Azure tests need Node.js >= 20 (see scripts/setup.sh)")
        if not os.path.isfile(main):
            raise WorldError("%s/node_modules missing: run scripts/setup.sh (npm ci)" % AZURITE_DIR)
        self.proc = self.world.run([node, main, "--blobHost", "127.0.0.1", "--blobPort",
                                    str(self.port), "--location", self.data_dir,
                                    # (the SDK speaks a newer API version than
                                    # this Azurite knows; signatures are checked)
                                    "--skipApiVersionCheck",
                                    "--debug", os.path.join(self.dir, "debug.log")],
                                   name="azurite-" + self.name)
        return self._await_listening("azurite %s" % self.name, timeout,
                                     word="successfully listens")

    def requests(self):
        """(method, url) of every request Azurite received, from its debug
        log, oldest first."""
        out = []
        try:
            with open(os.path.join(self.dir, "debug.log"), errors="replace") as f:
                for line in f:
                    i = line.find("IncomingRequest: ")
                    if i >= 0:
                        words = line[i:].split()
                        # "... IncomingRequest: RequestURL=http://... RequestMethod=PUT ..."
                        kv = dict(w.split("=", 1) for w in words if "=" in w)
                        out.append((kv.get("RequestMethod"), kv.get("RequestURL")))
        except OSError:
            pass
        return out

    # -- client operations (the SDK inside the namespace)
    def client(self, *args, timeout=60):
        argv = [shutil.which("node") or "node", CLIENT, self.endpoint, self.account,
                self.account_key] + list(args)
        r = self.world.call(argv, timeout=timeout, check=False)
        try:
            out = json.loads(r.stdout)
        except ValueError:
            raise AzureError(None, None, "azure_client %s: exit %d: %s %s"
                             % (args[0], r.returncode, r.stdout[-300:],
                                r.stderr.decode(errors="replace")[-1500:]))
        if r.returncode != 0:
            raise AzureError(out.get("error"), out.get("status"), out.get("message"))
        return out

    def make_container(self, name):
        return self.client("make_container", name)

    def list(self, container, prefix=""):
        """[{"name", "size", "content_type"}] of the blobs under prefix."""
        return self.client("list", container, prefix)

    def sha256(self, container, blob):
        """Hex SHA-256 of the blob (None if missing)."""
        return self.client("sha256", container, blob)

    def get(self, container, blob, dest_path):
        """Downloads the blob to dest_path; returns dest_path."""
        return self.client("get", container, blob, dest_path)

    def props(self, container, blob):
        """{"size", "content_type", "content_md5"} or None."""
        return self.client("props", container, blob)

    def blocks(self, container, blob):
        """{"committed": N, "uncommitted": N}."""
        return self.client("blocks", container, blob)

    def fetch(self, url):
        """GETs url with curl inside the namespace: (HTTP status, hex
        SHA-256 of the body)."""
        return self.curl_get(url)
