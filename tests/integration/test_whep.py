"""room.sfu "whep" (`egress run`) against Meetecho's janus-whep-server in
front of the world's Janus, both WHEP flows:
  * an endpoint on a VideoRoom publisher: Janus offers, so the server
    answers the worker's POST with 406 and its offer, and the worker's
    answer goes back in a PATCH; with a bearer token;
  * an endpoint on a Streaming mountpoint fed by the VideoRoom's
    rtp_forward: the worker's offer is answered (201), its candidates
    trickled in PATCHes.
A participant recording (checked by FFmpeg: codecs, tone, colour,
flash-to-beep) that ends by itself when the publisher leaves (the server
ends the session), a 2-endpoint room composite (one endpoint of each
flow), the sessions DELETEd at the end, and bad input: a wrong token, no
such endpoint, a server error, a server answering garbage. No token in any
log or event."""

import glob
import os
import textwrap

import egwtest
from egwtest import expect
from whep_world import WhepServer

TOKEN = "whep-secret-token-4711"
JANUS_WS = 8188


def job(eid, room, source, fmt="mkv", **extra):
    req = {"type": "start", "egress_id": eid, "room": dict(room, sfu="whep", room_id="w"),
           "source": source,
           "outputs": [{"kind": "file", "format": fmt, "path": "{egress_id}." + fmt}]}
    req.update(extra)
    return req


def streaming_mountpoint(w, mp_id, publisher_id, audio_port, video_port):
    """A Streaming mountpoint fed by rtp_forward of a VideoRoom publisher."""
    s = w.janus_request("", {"janus": "create"})["data"]["id"]
    h = w.janus_request(s, {"janus": "attach", "plugin": "janus.plugin.streaming"})["data"]["id"]
    r = w.janus_request("%s/%s" % (s, h), {"janus": "message", "body": {
        "request": "create", "type": "rtp", "id": mp_id, "media": [
            {"type": "audio", "mid": "a", "port": audio_port, "pt": 111, "codec": "opus"},
            {"type": "video", "mid": "v", "port": video_port, "pt": 96, "codec": "vp8"}]}})
    expect(r.get("plugindata", {}).get("data", {}).get("streaming") == "created",
           "mountpoint %d created: %s" % (mp_id, r))
    r = w.videoroom_request({"request": "rtp_forward", "room": 1234, "publisher_id": publisher_id,
                             "host": "127.0.0.1",
                             "streams": [{"mid": "audio1", "port": audio_port, "pt": 111},
                                         {"mid": "video0", "port": video_port, "pt": 96}]})
    expect(len(r.get("forwarders") or []) == 2, "bob forwarded to the mountpoint: %s" % r)


def garbage_server(w, port):
    """A WHEP endpoint that answers 201 with text that is no SDP."""
    code = textwrap.dedent("""
        import http.server
        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(201)
                self.send_header("Location", "/resource/1")
                self.send_header("Content-Type", "application/sdp")
                self.end_headers()
                self.wfile.write(b"this is not an SDP")
            def do_DELETE(self):
                self.send_response(200)
                self.end_headers()
        http.server.HTTPServer(("127.0.0.1", %d), H).serve_forever()
    """ % port)
    return w.run(["/usr/bin/python3", "-c", code], name="garbage")


def run(w):
    out = os.path.join(w.dir, "out")
    env = {"EGRESS_STORAGE_DIR": out, "EGRESS_LOG_LEVEL": "debug"}
    w.start_janus(ws_port=JANUS_WS, streaming=True)
    alice = w.start_publisher("alice", color="ff0000", freq=440, video="vp8")
    bob = w.start_publisher("bob", color="0000ff", freq=660, video="vp8")
    alice.wait_for("webrtcup", 30)
    bob.wait_for("webrtcup", 30)
    ids = {p["display"]: p["id"] for p in w.listparticipants(1234)}
    streaming_mountpoint(w, 77, ids["bob"], 24000, 24002)
    whep = WhepServer(w, JANUS_WS)
    alice_url = whep.videoroom("alice", 1234, ids["alice"], TOKEN)
    alice2_url = whep.videoroom("alice2", 1234, ids["alice"])
    bob_url = whep.url("bob")
    whep._send("streaming bob 77")
    whep._expect("endpoint bob", 10)
    whep._send("streaming ghost 999")  # no such mountpoint: Janus refuses
    whep._expect("endpoint ghost", 10)
    garbage_server(w, 7099)

    # Bad input: each fails with what went wrong.
    bad = {"wrong_token": ({"url": alice_url, "token": "not-" + TOKEN}, "unauthorized",
                           "refused the offer (HTTP 403): check room.token"),
           "no_endpoint": ({"url": whep.url("nobody")}, "not_found", "HTTP 404"),
           "server_error": ({"url": whep.url("ghost")}, "sfu_error",
                            "answered the offer with HTTP 500"),
           "garbage": ({"url": "http://127.0.0.1:7099/whep/endpoint/x"}, "sfu_error",
                       "answered with an SDP that has no audio or video stream")}
    runs = {k: egwtest.Run(w, "bad_" + k, job("EG_" + k, room, {"kind": "room_composite",
                                                               "layout": "grid"}, "mp4"), env)
            for k, (room, _, _) in bad.items()}
    for k, (room, code, text) in bad.items():
        ev = runs[k].wait("failed", 30)
        expect(ev["error"]["code"] == code and text in ev["error"]["message"],
               "%s: %s" % (k, ev["error"]))
        runs[k].exit()

    # The recordings; the server names a STUN server in Link headers (none
    # answers there: the host candidates connect).
    whep.ice_servers("stun:198.18.0.1:3478")
    p = egwtest.Run(w, "whep_p", job("EG_wp", {"url": alice_url, "token": TOKEN},
                                     {"kind": "participant", "participant": "alice"},
                                     limits={"empty_room_timeout_s": 8}), env)
    c = egwtest.Run(w, "whep_c", job("EG_wc", {"endpoints": [
        {"url": alice2_url, "participant": "alice"}, {"url": bob_url}]},
        {"kind": "room_composite", "layout": "grid"}, "mp4"), env, ["--duration", "8"])
    p.wait("active", 30)
    done_c = c.wait("complete", 60)
    c.exit()
    path = done_c["outputs"][0]["location"]
    egwtest.check_media(path, "--expect-codecs", "h264,aac", "--expect-freq", "440,660",
                        "--start", 2, "--max-decode-errors", 0)
    log = egwtest.JobLog(w, "whep_c")
    tiles = log.tiles_at(log.time0 + 6)
    expect(sorted(tiles) == ["alice", "bob"], "two tiles: %s" % sorted(tiles))
    for name, color in (("alice", "ff0000"), ("bob", "0000ff")):
        egwtest.check_media(path, "--crop", tiles[name], "--start", 3, "--end", 7,
                            "--expect-color", color)
    c_log = w.log_text("whep_c")
    expect("(the server offers, 2 tracks)" in c_log and "(answered, 2 tracks)" in c_log,
           "the composite used both WHEP flows (406 and 201)")

    # alice leaves: the server ends her session, her recording ends.
    alice.close()
    done_p = p.wait("complete", 40)
    expect(done_p.get("reason") == "source absent", "alice left: %s" % done_p.get("reason"))
    p.exit()
    expect("the WHEP session ended" in w.log_text("whep_p"), "the session's end is logged")
    expect("alice: 1 ICE server from the WHEP server" in w.log_text("whep_p"),
           "the Link header's STUN server is used")
    # (flash-to-beep: a real-time bound, held by the release stage)
    sync = [] if egwtest.SANITIZED else ["--max-sync-ms", 40, "--min-markers", 3]
    egwtest.check_media(done_p["outputs"][0]["location"], "--expect-codecs", "vp8,opus",
                        "--expect-freq", 440, "--expect-color", "ff0000",
                        "--max-decode-errors", 0, *sync)
    ended = w.log_text("whep").count("Terminating WHEP session")
    expect(ended >= 2, "the composite's two sessions were DELETEd (%d DELETEs)" % ended)

    leaks = [f for f in glob.glob(os.path.join(w.logdir, "*"))
             if not os.path.basename(f).startswith(("whep.", "janus"))
             and TOKEN in open(f, errors="replace").read()]
    expect(not leaks, "the token is in no egress log or event: %s" % leaks)


def test():
    egwtest.in_world("whep", run)


if __name__ == "__main__":
    egwtest.main(test)
