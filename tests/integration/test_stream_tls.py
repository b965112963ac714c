"""TLS destinations of a participant egress (transcoded to H.264 + AAC), with
`egress run` and the worker setting `tls_ca_file` (a test CA):
  * `rtmps://` to nginx-rtmp behind a TLS front (nginx's stream module,
    a certificate the test made and the worker trusts): the server records
    the stream, it decodes (H.264 + AAC, the publisher's tone) and is as
    long as the file recorded beside it;
  * `rtmps://` to a front whose certificate nobody trusts: that
    destination fails at once, saying it is TLS, and the others go on;
  * `wss://` websocket to a TLS WebSocket server with the trusted
    certificate: it gets the tone as PCM;
  * no stream key or token in any log line or status event."""

import json
import os
import time
import wave

import egwtest
from egwtest import expect

KEYS = ["k3y-tls-ok-4e21", "k3y-tls-untrusted-93c0"]
TOKEN = "t0ken-wss-5d0f"


DEST = ("stream_state", "url")  # events of a destination, by URL


def test():
    egwtest.in_world("stream_tls", run)


def run(w):
    out = os.path.join(w.dir, "out")
    trusted = w.make_cert("trusted")
    untrusted = w.make_cert("untrusted")
    env = {"EGRESS_STORAGE_DIR": out, "EGRESS_STOP_GRACE_S": 20,
           "EGRESS_TLS_CA_FILE": trusted[0]}
    w.start_janus()
    good = w.start_nginx("good", 1945, tls=(1946,) + trusted)
    bad = w.start_nginx("bad", 1947, tls=(1948,) + untrusted)
    rx = w.start_ws_receiver("asr", 8775, tls=trusted)
    alice = w.start_publisher("alice", color="ff0000", freq=440, video="vp8")
    alice.wait_for("webrtcup", 30)

    req = {"type": "start", "egress_id": "EG_tls",
           "room": {"sfu": "janus", "url": w.janus_url, "room_id": 1234},
           "source": {"kind": "participant", "participant": "alice"},
           "encoding": {"width": 640, "height": 360, "fps": 25},
           "outputs": [{"kind": "stream", "urls": [good.url(KEYS[0], tls=True),
                                                   bad.url(KEYS[1], tls=True)]},
                       {"kind": "websocket", "url": rx.url("/listen?token=" + TOKEN, tls=True)},
                       {"kind": "file", "format": "mkv", "path": "{egress_id}.mkv"}]}
    r = egwtest.Run(w, "tls", req, env, ["--duration", "20"])
    r.wait("active", 60)
    t_active = time.time()
    r.wait_state(*DEST, "127.0.0.1:1946", "active", 15)
    t_bad, why = r.wait_state(*DEST, "127.0.0.1:1948", "failed", 15)
    expect(t_bad - t_active < 5, "the untrusted front fails within 5 s (%.1f s)"
           % (t_bad - t_active))
    expect(why and "TLS" in why, "the untrusted front says it is TLS: %s" % why)

    done = r.wait("complete", 60)
    r.exit()
    stream = [o for o in done["outputs"] if o["kind"] == "stream"][0]
    final = {d["url"].split("/")[2]: d["state"] for d in stream["destinations"]}
    expect(final == {"127.0.0.1:1946": "complete", "127.0.0.1:1948": "failed"},
           "final states: %s" % stream["destinations"])
    ws = [o for o in done["outputs"] if o["kind"] == "websocket"][0]
    expect(ws["state"] == "complete" and ws["bytes"] > 0, "the wss output completed: %s" % ws)

    mkv = [o for o in done["outputs"] if o["kind"] == "file"][0]["location"]
    file_s = egwtest.check_media(mkv, "--expect-codecs", "h264,aac", "--max-decode-errors", 0,
                                 "--expect-freq", "440", "--start", 2)["duration"]
    recs = good.recordings(KEYS[0])
    expect(len(recs) == 1, "the RTMPS server recorded one stream: %s" % recs)
    rep = egwtest.check_media(recs[0], "--expect-codecs", "h264,aac", "--max-decode-errors", 0,
                              "--expect-freq", "440", "--start", 2)
    expect(abs(rep["duration"] - file_s) < 0.5, "the RTMPS recording is as long as the file: "
           "%.2f s vs %.2f s" % (rep["duration"], file_s))
    expect(bad.recordings() == [], "nothing recorded behind the untrusted front")

    conns = rx.connections()
    expect(len(conns) == 1, "one wss connection: %d" % len(conns))
    wav = conns[0]["pcm"][:-4] + ".wav"
    with open(conns[0]["pcm"], "rb") as f, wave.open(wav, "wb") as wv:
        wv.setnchannels(1)
        wv.setsampwidth(2)
        wv.setframerate(48000)
        wv.writeframes(f.read())
    pcm = egwtest.check_media(wav, "--expect-freq", "440", "--start", 2)
    expect(abs(pcm["duration"] - file_s) < 1.0, "the PCM over wss is as long as the file: "
           "%.2f s vs %.2f s" % (pcm["duration"], file_s))

    text = w.log_text("tls") + json.dumps(r.events())
    for secret in KEYS + [TOKEN]:
        expect(secret not in text, "%s... appears nowhere" % secret[:6])


if __name__ == "__main__":
    egwtest.main(test)
