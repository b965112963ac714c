"""WebSocket audio output of a participant egress, with `egress run`, against
real WebSocket servers (Python websockets, tests/tools/ws_receiver.py):
  * the participant's tone arrives as s16le PCM (16 kHz mono, as asked),
    after a `start` text frame naming the format; FFmpeg decodes it (as a
    WAV) and finds the tone, and its length matches the file recorded
    beside it;
  * muting the microphone (digital silence) gives a `muted` text frame,
    unmuting an `unmuted` one;
  * a server refusing the handshake (HTTP 403): that output fails at once
    with the status, the others go on;
  * the server killed and started again: `reconnecting`, then `active`
    within 5 s of its return, with a new `start` frame;
  * the server frozen (SIGSTOP): noticed within 10 s (no pong), reconnected
    once it thaws;
  * the participant leaving: a `participant_left` frame; at the end an
    `end` frame and a normal close; the final event says `complete`;
  * the job's handshake header (Authorization) reaches the server;
  * the URL's token and the header's value appear in no log line or
    status event."""

import json
import os
import time
import wave

import egwtest
from egwtest import expect

TOKEN = "t0ken-ws-9c1e77"
HEADER_TOKEN = "h34der-t0ken-51ab"
RATE = 16000


OUT = ("websocket_state", "output")  # events of an output, by name


def test():
    egwtest.in_world("websocket", run)


def wait_text(rx, event, timeout, after=0.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for c in rx.connections():
            for m in c["texts"]:
                if m.get("event") == event and m["t"] >= after:
                    return m
        time.sleep(0.1)
    raise egwtest.Failure("no %r text frame within %d s: %s"
                          % (event, timeout, [[m.get("event") for m in c["texts"]]
                                              for c in rx.connections()]))


def as_wav(pcm_path):
    path = pcm_path[:-4] + ".wav"
    with open(pcm_path, "rb") as f, wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(f.read())
    return path


def run(w):
    out = os.path.join(w.dir, "out")
    env = {"EGRESS_STORAGE_DIR": out, "EGRESS_STOP_GRACE_S": 20}
    w.start_janus()
    rx = w.start_ws_receiver("asr", 8765)
    deny = w.start_ws_receiver("deny", 8766, reject=403)
    alice = w.start_publisher("alice", color="ff0000", freq=440, video="vp8")
    alice.wait_for("webrtcup", 30)

    req = {"type": "start", "egress_id": "EG_ws",
           "room": {"sfu": "janus", "url": w.janus_url, "room_id": 1234},
           "source": {"kind": "participant", "participant": "alice", "audio_only": True},
           "encoding": {"preset": "AAC_AUDIO_ONLY"},
           "outputs": [{"kind": "websocket", "url": rx.url("/listen?token=" + TOKEN),
                        "headers": {"Authorization": "Bearer " + HEADER_TOKEN},
                        "sample_rate": RATE, "reconnect_window_s": 20},
                       {"kind": "websocket", "url": deny.url("/" + TOKEN)},
                       {"kind": "file", "format": "mkv", "path": "{egress_id}.mkv"}]}
    r = egwtest.Run(w, "ws", req, env, ["--duration", "40"])
    r.wait("active", 60)
    t_active = time.time()
    r.wait_state(*OUT, "outputs[0]", "active", 10)

    # The refused handshake: failed at once, with the server's status.
    t_denied, why = r.wait_state(*OUT, "outputs[1]", "failed", 10)
    expect(t_denied - t_active < 5, "the refused websocket fails within 5 s (%.1f s)"
           % (t_denied - t_active))
    expect(why and "403" in why, "the refused websocket says why: %s" % why)

    start = wait_text(rx, "start", 10)
    hdrs = rx.connections()[0]["headers"]
    expect(hdrs.get("authorization") == "Bearer " + HEADER_TOKEN,
           "the handshake carries the job's header: %s" % sorted(hdrs))
    expect(start.get("format") == "s16le" and start.get("sample_rate") == RATE
           and start.get("channels") == 1, "the start frame names the format: %s" % start)

    # Mute and unmute.
    time.sleep(3)
    alice.send("mute audio")
    t_mute = time.time()
    m = wait_text(rx, "muted", 5, after=t_mute)
    expect(m.get("participant") == "alice" and m.get("track"),
           "the muted frame names the participant and track: %s" % m)
    expect(m["t"] - t_mute < 3, "muted told within 3 s (%.1f s)" % (m["t"] - t_mute))
    time.sleep(1)
    alice.send("unmute audio")
    t_unmute = time.time()
    m = wait_text(rx, "unmuted", 5, after=t_unmute)
    expect(m["t"] - t_unmute < 1.5, "unmuted told within 1.5 s (%.1f s)" % (m["t"] - t_unmute))

    # Killed and back: reconnecting, then active again with a new start.
    time.sleep(2)
    rx.kill()
    t_kill = time.time()
    r.wait_state(*OUT, "outputs[0]", "reconnecting", 10, after=t_kill - 0.5)
    time.sleep(2)
    rx.start()
    t_back = time.time()
    t_again, _ = r.wait_state(*OUT, "outputs[0]", "active", 15, after=t_back - 0.5)
    expect(t_again - t_back < 5, "reconnected within 5 s of the return (%.1f s)"
           % (t_again - t_back))
    wait_text(rx, "start", 5, after=t_back)

    # Frozen: no pong; noticed within 10 s; back once thawed.
    time.sleep(2)
    rx.freeze()
    t_freeze = time.time()
    t_stall, why = r.wait_state(*OUT, "outputs[0]", "reconnecting", 15, after=t_freeze - 0.5)
    expect(t_stall - t_freeze < 10, "the frozen server is noticed within 10 s (%.1f s: %s)"
           % (t_stall - t_freeze, why))
    rx.thaw()
    t_thaw = time.time()
    r.wait_state(*OUT, "outputs[0]", "active", 15, after=t_thaw - 0.5)

    # The participant leaves (the egress ends when its duration is up).
    time.sleep(2)
    t_leave = time.time()
    alice.send("leave")
    wait_text(rx, "participant_left", 10, after=t_leave)

    done = r.wait("complete", 90)
    ws = [o for o in done["outputs"] if o["kind"] == "websocket"]
    expect(len(ws) == 2, "both websocket outputs reported: %s" % done["outputs"])
    final = {o["url"].split("/")[2]: o for o in ws}
    expect(final["127.0.0.1:8765"]["state"] == "complete",
           "the websocket ended complete: %s" % final)
    expect(final["127.0.0.1:8766"]["state"] == "failed" and "error" in final["127.0.0.1:8766"],
           "the refused websocket is failed: %s" % final)
    r.exit()

    conns = rx.connections()
    expect(len(conns) >= 3, "three connections at least (first, after the kill, after the "
           "freeze): %d" % len(conns))
    last = conns[-1]["texts"]
    expect(last and last[-1].get("event") == "end", "the last frame says end: %s"
           % [m.get("event") for m in last])
    expect(deny.connections() == [], "the refusing server recorded nothing")

    # The first connection's PCM: the tone, decoded by FFmpeg, as long as it ran.
    first = conns[0]
    size_s = os.path.getsize(first["pcm"]) / 2.0 / RATE
    rep = egwtest.check_media(as_wav(first["pcm"]), "--expect-freq", "440", "--end", 3,
                              "--max-decode-errors", 0)
    span = t_kill - t_active
    expect(span - 2.5 < rep["duration"] < span + 1.0,
           "the first connection carried the audio until the kill: %.1f s of PCM (%.1f s "
           "from active to kill; %.1f s by size)" % (rep["duration"], span, size_s))
    mkv = [o for o in done["outputs"] if o["kind"] == "file"][0]["location"]
    egwtest.check_media(mkv, "--expect-codecs", "aac", "--max-decode-errors", 0,
                        "--expect-freq", "440", "--end", 3)

    # No token anywhere.
    text = w.log_text("ws") + json.dumps(r.events())
    expect(TOKEN not in text, "the URL's token appears nowhere")
    expect(HEADER_TOKEN not in text, "the header's token appears nowhere")


if __name__ == "__main__":
    egwtest.main(test)
