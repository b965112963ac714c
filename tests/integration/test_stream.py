"""Live stream outputs of a room composite, with `egress run`, against real
nginx RTMP servers (libnginx-mod-rtmp, recording what they receive) and an
SRT listener (GStreamer's srtsrc):
  * one composite streamed to three RTMP servers, an SRT listener and a
    file at once: every recording and the file decode without errors and
    show the participants; the SRT capture and the untouched RTMP server's
    recording are as long as the file (within 0.5 s);
  * a server killed mid-stream and started again: its destination says
    `reconnecting`, then `active` again within 5 s of the server's return,
    and the server records a second stream; the file has no gap;
  * a server frozen (SIGSTOP): the destination notices within 10 s
    (`reconnecting`), the others and the file go on;
  * a server that stays down past the reconnect window: that destination
    `failed`, the egress goes on and ends `complete`;
  * a refused stream key (on_publish answers 403): that destination fails
    at once with a clear error, before streaming; the file is unaffected;
  * no stream key appears in any log line or status event."""

import json
import os
import time

import egwtest
from egwtest import expect

# A small canvas: these tests check outputs, not the encoder, and run beside
# others (and under ASan) on two cores.
SMALL = {"width": 640, "height": 360, "fps": 25}

KEYS = ["k3y-alpha-7f1c", "k3y-bravo-2d9e", "k3y-charlie-55aa", "k3y-denied-0b0b",
        "k3y-srt-delta-6e6e"]


DEST = ("stream_state", "url")  # events of a destination, by URL


def test():
    egwtest.in_world("stream", run)


def run(w):
    out = os.path.join(w.dir, "out")
    env = {"EGRESS_STORAGE_DIR": out, "EGRESS_STOP_GRACE_S": 20}
    w.start_janus()
    servers = [w.start_nginx("a", 1935), w.start_nginx("b", 1936), w.start_nginx("c", 1937)]
    ts = os.path.join(w.dir, "srt.ts")
    # (a receive latency of 1 s: on a loaded machine the default 125 ms
    # drops packets that come late, and the capture has holes)
    w.run(["gst-launch-1.0", "-q", "srtsrc", "uri=srt://127.0.0.1:7001?mode=listener",
           "latency=1000", "!", "filesink", "buffer-mode=unbuffered", "location=" + ts],
          name="srt-listener")
    red = w.start_publisher("red", color="ff0000", freq=440, video="vp8")
    blue = w.start_publisher("blue", color="0000ff", freq=660, video="h264")
    red.wait_for("webrtcup", 30)
    blue.wait_for("webrtcup", 30)

    urls = [s.url(k) for s, k in zip(servers, KEYS)]
    denied = servers[0].url(KEYS[3], app="deny")
    srt = "srt://127.0.0.1:7001?streamid=" + KEYS[4]
    req = {"type": "start", "egress_id": "EG_live",
           "room": {"sfu": "janus", "url": w.janus_url, "room_id": 1234},
           "source": {"kind": "room_composite", "layout": "grid"},
           "encoding": SMALL,
           "outputs": [{"kind": "stream", "urls": urls + [denied, srt], "reconnect_window_s": 12},
                       {"kind": "file", "format": "mkv", "path": "{egress_id}.mkv"}]}
    r = egwtest.Run(w, "live", req, env, ["--duration", "45"])
    r.wait("active", 60)
    t_active = time.time()
    for u in ("127.0.0.1:1935/live", "127.0.0.1:1936/live", "127.0.0.1:1937/live",
              "127.0.0.1:7001"):
        r.wait_state(*DEST, u, "active", 10)

    # The refused key: failed, never retried, named (not its key).
    t_denied, why = r.wait_state(*DEST, "127.0.0.1:1935/deny", "failed", 10)
    expect(t_denied - t_active < 5, "the refused key fails within 5 s (%.1f s)"
           % (t_denied - t_active))
    expect(why and "refused the stream" in why, "the refused destination says why: %s" % why)
    expect([s for _, s, _ in r.states(*DEST, "/deny")].count("reconnecting") == 0,
           "a destination refused before it streamed is not retried")

    # Server b killed, back 3 s later: reconnecting, then active again.
    time.sleep(4)
    servers[1].kill()
    t_kill = time.time()
    t_rec, _ = r.wait_state(*DEST, "127.0.0.1:1936", "reconnecting", 10, after=t_kill - 1)
    time.sleep(3)
    servers[1].start()
    t_back = time.time()
    t_again, why = r.wait_state(*DEST, "127.0.0.1:1936", "active", 15, after=t_back - 0.5)
    expect(t_again - t_back < 5, "b reconnects within 5 s of its return (%.1f s)"
           % (t_again - t_back))

    # Server c frozen: noticed within 10 s, handled like a drop; the
    # others go on. It stays frozen past the window: failed.
    servers[2].freeze()
    t_freeze = time.time()
    t_stall, why = r.wait_state(*DEST, "127.0.0.1:1937", "reconnecting", 15, after=t_freeze - 0.5)
    expect(t_stall - t_freeze < 10, "the frozen server is noticed within 10 s (%.1f s: %s)"
           % (t_stall - t_freeze, why))
    t_fail, why = r.wait_state(*DEST, "127.0.0.1:1937", "failed", 25, after=t_stall)
    expect("reconnecting" in (why or ""), "past its window c has failed: %s" % why)
    servers[2].thaw()

    done = r.wait("complete", 90)
    outs = done["outputs"]
    stream = [o for o in outs if o["kind"] == "stream"][0]
    by_url = {d["url"]: d for d in stream["destinations"]}
    expect(len(by_url) == 5, "five destinations reported: %s" % stream)
    final = {u.split("/")[2]: d["state"] for u, d in by_url.items() if "/deny" not in u}
    expect(final == {"127.0.0.1:1935": "complete", "127.0.0.1:1936": "complete",
                     "127.0.0.1:1937": "failed", "127.0.0.1:7001": "complete"},
           "final states: %s" % by_url)
    r.exit()

    # What the servers recorded, and the file.
    mkv = [o for o in outs if o["kind"] == "file"][0]["location"]
    rep = egwtest.check_media(mkv, "--expect-codecs", "h264,aac", "--max-decode-errors", 0,
                              "--max-video-gap-ms", 200, "--expect-freq", "440,660",
                              "--start", 2)
    file_s = rep["duration"]
    a = servers[0].recordings(KEYS[0])
    expect(len(a) == 1, "a recorded one stream: %s" % a)
    rep_a = egwtest.check_media(a[0], "--expect-codecs", "h264,aac", "--max-decode-errors", 0,
                                "--expect-freq", "440,660", "--start", 2)
    expect(abs(rep_a["duration"] - file_s) < 0.5,
           "a's recording is as long as the file: %.2f s vs %.2f s"
           % (rep_a["duration"], file_s))
    rep_srt = egwtest.check_media(ts, "--expect-codecs", "h264,aac", "--max-decode-errors", 0,
                                  "--expect-freq", "440,660", "--skip", 2)
    expect(abs(rep_srt["duration"] - file_s) < 0.5,
           "the SRT capture is as long as the file: %.2f s vs %.2f s"
           % (rep_srt["duration"], file_s))
    b = servers[1].recordings(KEYS[1])
    expect(len(b) == 2, "b recorded two streams (before the kill and after): %s" % b)
    for path in b:
        egwtest.check_media(path, "--expect-codecs", "h264,aac", "--max-decode-errors", 0)
    expect(servers[0].recordings(KEYS[3]) == [], "nothing recorded for the refused key")

    # No key anywhere.
    text = "\n".join(w.log_text(n) for n in ("live",)) + json.dumps(r.events())
    for k in KEYS:
        expect(k not in text, "the stream key %s... appears nowhere" % k[:5])


if __name__ == "__main__":
    egwtest.main(test)
