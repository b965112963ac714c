"""room.sfu "rtp": Janus's rtp_forward sends two publishers to the worker,
one in plain RTP and one in SRTP (SDES key in the job's SDP); both
recordings checked by FFmpeg like the Janus-adapter ones (codecs, tone,
colour, flash-to-beep). The plain one ends by itself when Janus stops
forwarding (source absent). Bad input: a wrong key (failed, unauthorized,
counted packets), a payload type the SDP does not list, a port already in
use, an SDP that does not parse, ports nobody sends to. No key appears in
any log, status event or manifest."""

import base64
import glob
import json
import os
import time

import egwtest
from egwtest import expect

KEY = base64.b64encode(b"rtp-test-key-0123456789abcdef!").decode()      # 30 bytes
OTHER_KEY = base64.b64encode(b"not-the-senders-key-0123456789").decode()
# The publisher tool's mids (webrtcbin's): video first.
AUDIO_MID, VIDEO_MID = "audio1", "video0"
OPUS_PT, VP8_PT = 111, 96


def sdp(name, audio_port, video_port, key=None, audio_pt=OPUS_PT):
    proto = "RTP/SAVP" if key else "RTP/AVP"
    crypto = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:%s\r\n" % key if key else ""
    return ("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=%s\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            "m=audio %d %s %d\r\na=rtpmap:%d opus/48000/2\r\na=mid:a\r\n%s"
            "m=video %d %s %d\r\na=rtpmap:%d VP8/90000\r\na=mid:v\r\n%s"
            % (name, audio_port, proto, audio_pt, audio_pt, crypto,
               video_port, proto, VP8_PT, VP8_PT, crypto))


def rtp_job(env, egress_id, sdp_text, participant, timeout_s=None):
    job = env.job(egress_id, {"kind": "participant", "participant": participant},
                  [{"kind": "file", "format": "mkv", "path": "{room_id}/{egress_id}.mkv"}])
    job["room"] = {"sfu": "rtp", "room_id": "fwd", "sdp": sdp_text}
    if timeout_s:
        job["limits"] = {"empty_room_timeout_s": timeout_s}
    return job


def forward(env, display, audio_port, video_port, key=None):
    """Janus forwards display's audio and video to the worker; returns the
    forwarder ids (for stop_rtp_forward)."""
    pid = next(p["id"] for p in env.w.listparticipants(1234) if p.get("display") == display)
    req = {"request": "rtp_forward", "room": 1234, "publisher_id": pid, "host": "127.0.0.1",
           "streams": [{"mid": AUDIO_MID, "port": audio_port, "pt": OPUS_PT},
                       {"mid": VIDEO_MID, "port": video_port, "pt": VP8_PT}]}
    if key:
        req.update({"srtp_suite": 80, "srtp_crypto": key})
    r = env.w.videoroom_request(req)
    fwd = r.get("forwarders") or []
    expect(len(fwd) == 2, "Janus forwards %s's 2 streams to ports %d/%d%s: %s"
           % (display, audio_port, video_port, " in SRTP" if key else "", r))
    return pid, [f["stream_id"] for f in fwd]


def stop_forward(env, pid, ids):
    for sid in ids:
        env.w.videoroom_request({"request": "stop_rtp_forward", "room": 1234,
                                 "publisher_id": pid, "stream_id": sid})


def check_recording(done, color, freq, what):
    out = done["outputs"][0]
    # Flash-to-beep is a real-time bound: held by the release stage, only
    # reported under the sanitizers (jobs run several times slower there,
    # and without sender reports the streams are aligned by their first
    # packets' arrival).
    sync = [] if egwtest.SANITIZED else ["--max-sync-ms", 40, "--min-markers", 3]
    rep = egwtest.check_media(out["location"], "--expect-codecs", "vp8,opus",
                              "--expect-freq", freq, "--expect-color", color,
                              "--max-decode-errors", 0, "--max-video-gap-ms", 500,
                              "--max-audio-gap-ms", 500, *sync)
    expect(rep["duration"] >= 6, "%s: %.1f s recorded" % (what, rep["duration"]))
    return rep


def test():
    with egwtest.Env("rtp", max_jobs=5) as env:
        alice = env.w.start_publisher("alice", color="ff0000", freq=440, video="vp8")
        bob = env.w.start_publisher("bob", color="0000ff", freq=660, video="vp8")
        alice.wait_for("webrtcup", 15)
        bob.wait_for("webrtcup", 15)

        # Malformed SDP: refused at once, naming the line.
        bad = rtp_job(env, "EG_rtp_parse", "v=0\r\ns=x\r\nm=audio 5000 RTP/AVP 111\r\n", "x")
        env.submit(bad)
        ev = env.wait("EG_rtp_parse", "failed")
        expect(ev["error"]["code"] == "invalid_request" and
               "room.sdp: line 3: m=audio: no c= line" in ev["error"]["message"],
               "an SDP without an address: %s" % ev["error"])

        # The recordings: listening before Janus sends. alice's egress ends
        # by itself later (8 s without her): Janus forwards to it as soon
        # as it listens (the timeout counts from its start).
        env.submit(rtp_job(env, "EG_rtp_plain", sdp("alice", 21000, 21002), "alice",
                           timeout_s=8))
        env.w.wait_log("worker", "listening for video of alice on 127.0.0.1:21002", 60)
        a_pid, a_fwd = forward(env, "alice", 21000, 21002)
        env.submit(rtp_job(env, "EG_rtp_srtp", sdp("bob", 21010, 21012, KEY), "bob"))
        # A track egress takes one m= line by track_id "<s=>/<mid>": only
        # its port is bound.
        track = rtp_job(env, "EG_rtp_track", sdp("bob", 21060, 21062, KEY), "bob")
        track["source"] = {"kind": "track", "track_id": "bob/v"}
        track["outputs"][0].update(format="webm", path="{room_id}/{egress_id}.webm")
        env.submit(track)
        env.w.wait_log("worker", "listening for video of bob on 127.0.0.1:21062", 60)
        env.w.wait_log("worker", "listening for video of bob on 127.0.0.1:21012", 60)

        # A port in use: the plain job holds 21000.
        env.submit(rtp_job(env, "EG_rtp_busy", sdp("carol", 21000, 21040), "carol"))
        ev = env.wait("EG_rtp_busy", "failed")
        expect("cannot listen on 127.0.0.1 port 21000" in ev["error"]["message"] and
               "in use" in ev["error"]["message"], "a port in use: %s" % ev["error"])

        forward(env, "bob", 21010, 21012, KEY)
        forward(env, "bob", 21060, 21062, KEY)
        act_a = env.wait("EG_rtp_plain", "active", 30)
        env.wait("EG_rtp_srtp", "active", 30)
        t_a = egwtest.parse_time(act_a["started_at"])
        print("metric: rtp_forward -> first media written: plain %.0f ms"
              % ((t_a - env.t_produced["EG_rtp_plain"]) * 1000), flush=True)

        # Wrong key, and a payload type the SDP does not list: Janus sends
        # bob (SRTP with KEY) and alice (opus as 111) to two more jobs.
        env.submit(rtp_job(env, "EG_rtp_key", sdp("bob", 21020, 21022, OTHER_KEY), "bob"))
        env.submit(rtp_job(env, "EG_rtp_pt", sdp("alice", 21030, 21032, audio_pt=100),
                           "alice"))
        env.w.wait_log("worker", "listening for video of bob on 127.0.0.1:21022", 30)
        env.w.wait_log("worker", "listening for video of alice on 127.0.0.1:21032", 30)
        forward(env, "bob", 21020, 21022, KEY)
        forward(env, "alice", 21030, 21032)
        ev = env.wait("EG_rtp_key", "failed", 30)
        msg = ev["error"]["message"]
        expect(ev["error"]["code"] == "unauthorized" and
               "packets arrived but failed SRTP authentication" in msg,
               "a wrong key fails the egress: %s" % ev["error"])
        ev = env.wait("EG_rtp_pt", "failed", 30)
        expect(ev["error"]["code"] == "invalid_request" and
               "payload type 111, which its m= line does not list (it has 100)"
               in ev["error"]["message"], "an unlisted payload type: %s" % ev["error"])

        # Nobody sends to these ports: the egress ends after its timeout.
        env.submit(rtp_job(env, "EG_rtp_none", sdp("dave", 21050, 21052), "dave",
                           timeout_s=2))
        ev = env.wait("EG_rtp_none", "failed", 30)
        expect(ev["error"]["code"] == "not_found" and "did not publish within 2 s"
               in ev["error"]["message"], "nothing arrives: %s" % ev["error"])

        # Eight seconds of both; then Janus stops forwarding alice: her
        # egress ends by itself, bob's by a stop.
        time.sleep(max(0.0, 8.0 - (time.time() - t_a)))
        t_unfwd = time.time()
        stop_forward(env, a_pid, a_fwd)
        env.stop("EG_rtp_srtp")
        env.stop("EG_rtp_track")
        done_a = env.wait("EG_rtp_plain", "complete", 40)
        expect(done_a.get("reason") == "source absent",
               "alice's egress ends when nothing comes: %s" % done_a.get("reason"))
        ended = egwtest.parse_time(done_a["ended_at"]) - t_unfwd
        expect(8 <= ended <= 20, "...%.1f s after the forwarding stopped (3 s silence, "
               "8 s empty_room_timeout_s)" % ended)
        done_b = env.wait("EG_rtp_srtp", "complete", 30)
        check_recording(done_a, "ff0000", 440, "plain RTP (alice)")
        check_recording(done_b, "0000ff", 660, "SRTP (bob)")
        done_t = env.wait("EG_rtp_track", "complete", 30)
        rep = egwtest.check_media(done_t["outputs"][0]["location"], "--expect-codecs", "vp8",
                                  "--expect-color", "0000ff", "--max-decode-errors", 0)
        expect(rep["duration"] >= 6, "the track egress: bob's video only, %.1f s"
               % rep["duration"])
        expect("listening for audio of bob on 127.0.0.1:21060" not in env.w.log_text("worker"),
               "the track egress left the other m= line's port alone")
        man = json.load(open(done_b["outputs"][-1]["location"]))
        tracks = sorted((t["track_id"], t["codec"]) for p in man["participants"]
                        for t in p["tracks"])
        expect(tracks == [("bob/a", "opus"), ("bob/v", "vp8")], "bob's tracks: %s" % tracks)

        # Secrets: neither key anywhere.
        events = json.dumps(env.status.events())
        texts = [events]
        for path in glob.glob(os.path.join(env.w.logdir, "*")) + \
                glob.glob(os.path.join(env.out, "*.json")):
            with open(path, errors="replace") as f:
                texts.append(f.read())
        leaks = [k for k in (KEY, OTHER_KEY) for t in texts if k in t]
        expect(not leaks and "inline:***" in open(done_b["outputs"][-1]["location"]).read(),
               "no SRTP key in logs, status events or manifests (masked in the request kept)")


if __name__ == "__main__":
    egwtest.main(test)
