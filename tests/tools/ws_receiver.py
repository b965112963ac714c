#!/usr/bin/python3
"""A WebSocket server for the tests, standing in for a transcription
service: it accepts connections on 127.0.0.1:PORT and records each one
(N = 1, 2, ...) as DIR/conn_N.pcm (every binary frame, in order),
DIR/conn_N.jsonl (every text frame, one per line, with the time it
arrived) and DIR/conn_N.headers.json (the handshake's request headers,
names in lower case). It prints "connected N", "text N <frame>" and "closed N <code>"
on stdout as they happen.

  --reject STATUS   refuse every handshake with that HTTP status
  --tls CERT,KEY    wss:// instead of ws://
"""

import argparse
import asyncio
import http
import json
import os
import ssl
import sys
import time

import websockets


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--reject", type=int, default=0)
    ap.add_argument("--tls", default="")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    count = [0]

    async def refuse(path, headers):
        if args.reject:
            return (http.HTTPStatus(args.reject), [], b"")
        return None

    async def handler(ws):
        count[0] += 1
        n = count[0]
        say("connected %d %s" % (n, ws.path))
        base = os.path.join(args.dir, "conn_%d" % n)
        with open(base + ".headers.json", "w") as f:
            json.dump({k.lower(): v for k, v in ws.request_headers.raw_items()}, f)
        with open(base + ".pcm", "wb") as pcm, open(base + ".jsonl", "w") as texts:
            try:
                async for msg in ws:
                    if isinstance(msg, bytes):
                        pcm.write(msg)
                    else:
                        texts.write(json.dumps({"t": time.time(), "text": msg}) + "\n")
                        texts.flush()
                        say("text %d %s" % (n, msg))
            except websockets.ConnectionClosed:
                pass
        say("closed %d %s" % (n, ws.close_code))

    ctx = None
    if args.tls:
        cert, key = args.tls.split(",")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)

    async def serve():
        async with websockets.serve(handler, "127.0.0.1", args.port, ssl=ctx,
                                    process_request=refuse, ping_interval=None):
            say("listening %d" % args.port)
            await asyncio.Future()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
