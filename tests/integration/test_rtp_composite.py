"""A room composite of forwarded RTP (room.sdps, `egress run`): two Janus
publishers forwarded by rtp_forward (one in plain RTP, one in SRTP
AES_CM_128_HMAC_SHA1_80) and a third sender, a GStreamer pipeline, in
SRTP AEAD_AES_128_GCM (a suite Janus does not offer). Each SDP is one
participant: three tiles in their colours, the three tones mixed."""

import base64
import os
import signal
import time

import egwtest
from egwtest import expect

KEY_CM = base64.b64encode(b"composite-cm-key-0123456789abc").decode()          # 30 bytes
GCM_RAW = b"composite-gcm-key-0123456789"                                        # 28 bytes
KEY_GCM = base64.b64encode(GCM_RAW).decode()


def sdp(name, audio_port, video_port, suite=None, key=None):
    proto = "RTP/SAVP" if key else "RTP/AVP"
    crypto = "a=crypto:1 %s inline:%s\r\n" % (suite, key) if key else ""
    return ("v=0\r\ns=%s\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            "m=audio %d %s 111\r\na=rtpmap:111 opus/48000/2\r\n%s"
            "m=video %d %s 96\r\na=rtpmap:96 VP8/90000\r\n%s"
            % (name, audio_port, proto, crypto, video_port, proto, crypto))


def forward(w, display, audio_port, video_port, key=None):
    pid = next(p["id"] for p in w.listparticipants(1234) if p.get("display") == display)
    req = {"request": "rtp_forward", "room": 1234, "publisher_id": pid, "host": "127.0.0.1",
           "streams": [{"mid": "audio1", "port": audio_port, "pt": 111},
                       {"mid": "video0", "port": video_port, "pt": 96}]}
    if key:
        req.update({"srtp_suite": 80, "srtp_crypto": key})
    r = w.videoroom_request(req)
    expect(len(r.get("forwarders") or []) == 2, "Janus forwards %s: %s" % (display, r))


def gcm_sender(w, audio_port, video_port):
    """880 Hz and a green picture, SRTP with AEAD_AES_128_GCM."""
    srtp = ("srtpenc key=%s rtp-cipher=aes-128-gcm rtp-auth=null rtcp-cipher=aes-128-gcm "
            "rtcp-auth=null" % GCM_RAW.hex())
    pipeline = (
        "audiotestsrc is-live=true freq=880 volume=0.5 ! audioconvert ! audioresample ! "
        "opusenc ! rtpopuspay pt=111 ! application/x-rtp,ssrc=(uint)1111 ! %s ! "
        "udpsink host=127.0.0.1 port=%d "
        "videotestsrc is-live=true pattern=solid-color foreground-color=0xff00ff00 ! "
        "video/x-raw,width=640,height=360,framerate=30/1 ! vp8enc deadline=1 "
        "keyframe-max-dist=30 ! rtpvp8pay pt=96 ! application/x-rtp,ssrc=(uint)2222 ! %s ! "
        "udpsink host=127.0.0.1 port=%d" % (srtp, audio_port, srtp, video_port))
    return w.run(["gst-launch-1.0", "-q"] + pipeline.split(), name="gcm-sender")


def run(w):
    out = os.path.join(w.dir, "out")
    env = {"EGRESS_STORAGE_DIR": out, "EGRESS_LOG_LEVEL": "debug"}
    w.start_janus()
    red = w.start_publisher("red", color="ff0000", freq=440, video="vp8")
    blue = w.start_publisher("blue", color="0000ff", freq=660, video="vp8")
    red.wait_for("webrtcup", 30)
    blue.wait_for("webrtcup", 30)
    sdps = [sdp("red", 22000, 22002), sdp("blue", 22010, 22012, "AES_CM_128_HMAC_SHA1_80", KEY_CM),
            sdp("green", 22020, 22022, "AEAD_AES_128_GCM", KEY_GCM)]
    req = {"type": "start", "egress_id": "EG_rtpc",
           "room": {"sfu": "rtp", "room_id": "fwd", "sdps": sdps},
           "source": {"kind": "room_composite", "layout": "grid"},
           "outputs": [{"kind": "file", "format": "mp4", "path": "{egress_id}.mp4"}]}
    r = egwtest.Run(w, "rtpc", req, env)
    w.wait_log("rtpc", "listening for video of green", 60)
    gcm_sender(w, 22020, 22022)
    forward(w, "red", 22000, 22002)
    forward(w, "blue", 22010, 22012, KEY_CM)
    # Ten seconds once all three are in (each started at its own pace);
    # the check looks at five seconds from the fourth: a job starved of CPU
    # (the sanitizer build beside other tests) gets its first packets to
    # the mixer late, which drops them, until it has caught up.
    for who in ("red", "blue", "green"):
        for media in ("audio opus", "video vp8"):
            w.wait_log("rtpc", "receiving %s of %s" % (media, who), 60)
    t_all = time.time()
    time.sleep(10)
    r.proc.send_signal(signal.SIGINT)
    done = r.wait("complete", 60)
    r.exit()
    path = done["outputs"][0]["location"]
    log = egwtest.JobLog(w, "rtpc")
    start, end = log.media_time(t_all) + 4, log.media_time(t_all) + 9
    egwtest.check_media(path, "--expect-codecs", "h264,aac", "--expect-freq", "440,660,880",
                        "--start", start, "--end", end, "--max-decode-errors", 0)
    tiles = log.tiles_at(t_all + 6)
    expect(sorted(tiles) == ["blue", "green", "red"], "three tiles: %s" % sorted(tiles))
    for name, color in (("red", "ff0000"), ("blue", "0000ff"), ("green", "00ff00")):
        egwtest.check_media(path, "--crop", tiles[name], "--start", start, "--end", end,
                            "--expect-color", color)


def test():
    egwtest.in_world("rtpc", run)


if __name__ == "__main__":
    egwtest.main(test)
