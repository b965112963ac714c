#!/usr/bin/env node
// An independent Azure Blob Storage client for the tests: Microsoft's own
// SDK (@azure/storage-blob, installed in tests/world/azurite), Shared Key
// credentials. The test world runs it inside the namespace
// (tests/world/azure_world.py) and reads one JSON value from stdout.
//
//   azure_client.js URL ACCOUNT KEY COMMAND ...
//
//   make_container NAME        -> true
//   list CONTAINER [PREFIX]    -> [{"name", "size", "content_type"}]
//   sha256 CONTAINER BLOB      -> hex SHA-256 of the blob, or null
//   get CONTAINER BLOB DEST    -> DEST (the blob, downloaded to a file)
//   props CONTAINER BLOB       -> {"size", "content_type", "content_md5" (hex or null)} or null
//   blocks CONTAINER BLOB      -> {"committed": N, "uncommitted": N} (a block blob's lists)
//
// URL is the Blob service's ("http://127.0.0.1:10000/devstoreaccount1"). An
// error prints {"error": CODE, "status": HTTP status, "message"} and exits 3.
"use strict";

const path = require("path");
const crypto = require("crypto");
const modules = path.join(__dirname, "..", "world", "azurite", "node_modules");
const { BlobServiceClient, StorageSharedKeyCredential } =
    require(path.join(modules, "@azure", "storage-blob"));

async function main(argv) {
    const [url, account, key, cmd, ...a] = argv;
    const service = new BlobServiceClient(url, new StorageSharedKeyCredential(account, key),
                                          { retryOptions: { maxTries: 1, tryTimeoutInMs: 15000 } });
    const blob = () => service.getContainerClient(a[0]).getBlockBlobClient(a[1]);
    const missing = (e) => e.statusCode === 404;
    switch (cmd) {
    case "make_container":
        await service.getContainerClient(a[0]).create();
        return true;
    case "list": {
        const out = [];
        for await (const b of service.getContainerClient(a[0]).listBlobsFlat({ prefix: a[1] || "" }))
            out.push({ name: b.name, size: b.properties.contentLength,
                       content_type: b.properties.contentType || null });
        return out;
    }
    case "sha256":
        try {
            const buf = await blob().downloadToBuffer();
            return crypto.createHash("sha256").update(buf).digest("hex");
        } catch (e) {
            if (missing(e)) return null;
            throw e;
        }
    case "get":
        await blob().downloadToFile(a[2]);
        return a[2];
    case "props":
        try {
            const p = await blob().getProperties();
            return { size: p.contentLength, content_type: p.contentType || null,
                     content_md5: p.contentMD5 ? Buffer.from(p.contentMD5).toString("hex") : null };
        } catch (e) {
            if (missing(e)) return null;
            throw e;
        }
    case "blocks": {
        const l = await blob().getBlockList("all");
        return { committed: (l.committedBlocks || []).length,
                 uncommitted: (l.uncommittedBlocks || []).length };
    }
    }
    throw Object.assign(new Error("unknown command " + cmd), { code: "usage" });
}

main(process.argv.slice(2)).then(
    (v) => { process.stdout.write(JSON.stringify(v) + "\n"); },
    (e) => {
        process.stdout.write(JSON.stringify({ error: e.code || e.name || null,
                                              status: e.statusCode || null,
                                              message: String(e.message).split("\n")[0] }) + "\n");
        process.exit(3);
    });
