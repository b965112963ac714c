"""Benchmark of the rtp source against the Janus adapter.

CPU-seconds per media-second of a job process recording one participant
(VP8 + Opus -> MKV), in one run on this machine, the cases taken in turn:
  * the Janus adapter (a WebRTC subscription: ICE, DTLS, SRTP);
  * room.sfu "rtp": Janus rtp_forward of the same publisher to the job, in
    plain RTP and in SRTP (AES_CM_128_HMAC_SHA1_80);
  * baseline: the same forward recorded by a bare gst-launch-1.0 pipeline
    (bench_record.py's).
Writes the figures to BENCHMARKS.md (between its bench_rtp markers).

    /usr/bin/python3 bench/bench_rtp.py [--seconds S] [--rounds N]
"""

import argparse
import base64
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_record  # noqa: E402  (sets up the paths of the test world)
import benchmd  # noqa: E402
import egwtest  # noqa: E402

KEY = base64.b64encode(b"bench-rtp-key-0123456789abcdef").decode()


def sdp(port, key=None):
    proto = "RTP/SAVP" if key else "RTP/AVP"
    crypto = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:%s\r\n" % key if key else ""
    return ("v=0\r\ns=alice\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            "m=audio %d %s 111\r\na=rtpmap:111 opus/48000/2\r\n%s"
            "m=video %d %s 96\r\na=rtpmap:96 VP8/90000\r\n%s"
            % (port, proto, crypto, port + 2, proto, crypto))


def rtp_cpu(env, pub_id, eid, port, key, seconds):
    """(steady, whole) CPU per second of an rtp participant egress."""
    job = env.job(eid, {"kind": "participant", "participant": "alice"},
                  [{"kind": "file", "format": "mkv", "path": eid + ".mkv"}])
    job["room"] = {"sfu": "rtp", "room_id": "bench", "sdp": sdp(port, key)}
    env.submit(job)
    env.w.wait_log("worker", "listening for video of alice on 127.0.0.1:%d" % (port + 2), 30)
    fwd = {"request": "rtp_forward", "room": 1234, "publisher_id": pub_id, "host": "127.0.0.1",
           "streams": [{"mid": "audio1", "port": port, "pt": 111},
                       {"mid": "video0", "port": port + 2, "pt": 96}]}
    if key:
        fwd.update({"srtp_suite": 80, "srtp_crypto": key})
    r = env.w.videoroom_request(fwd)
    env.wait(eid, "active", timeout=30)
    time.sleep(1)
    steady = bench_record.steady_cpu(bench_record.job_pid(env), seconds)
    env.stop(eid)
    ev = env.wait(eid, "complete", timeout=30)
    for f in r.get("forwarders", []):
        env.w.videoroom_request({"request": "stop_rtp_forward", "room": 1234,
                                 "publisher_id": pub_id, "stream_id": f["stream_id"]})
    return steady, ev["usage"]["cpu_s"] / ev["outputs"][0]["duration_s"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    src = {"kind": "participant", "participant": "alice"}
    names = ("Janus adapter (WebRTC: ICE, DTLS, SRTP)", "rtp, plain RTP",
             "rtp, SRTP AES_CM_128_HMAC_SHA1_80", "baseline: gst-launch-1.0 of plain RTP")
    samples = {n: [] for n in names}
    with egwtest.Env("benchrtp", max_jobs=1) as env:
        alice = env.w.start_publisher("alice", color="ff0000", freq=440, video="vp8")
        pub_id = int(alice.wait_for("joined", 15).split()[1])
        alice.wait_for("webrtcup", 15)
        bench_record.wait_assigned(env)
        for rnd in range(a.rounds):
            samples[names[0]].append(bench_record.job_cpu(env, "EG_janus%d" % rnd, src, "mkv",
                                                          a.seconds))
            samples[names[1]].append(rtp_cpu(env, pub_id, "EG_rtp%d" % rnd, 23000 + 10 * rnd,
                                             None, a.seconds))
            samples[names[2]].append(rtp_cpu(env, pub_id, "EG_srtp%d" % rnd, 23100 + 10 * rnd,
                                             KEY, a.seconds))
            samples[names[3]].append(bench_record.baseline_cpu(env, pub_id, ["audio", "video"],
                                                               a.seconds, rnd))
    med = statistics.median
    base = med(s[0] for s in samples[names[3]])
    md = ["<!-- bench_rtp:begin -->", "",
          "### Forwarded RTP vs the Janus adapter (`bench/bench_rtp.py`)", "",
          "Run %s, %d cores; one participant (synthetic 640x360 30 fps VP8 + Opus) recorded "
          "to MKV; medians of %d rounds of %d s, the cases taken in turn. CPU-seconds per "
          "media-second of the job process (lower is better): steady from /proc while "
          "recording, whole from the job's getrusage over the file's duration."
          % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.cpu_count(), a.rounds,
             a.seconds), "",
          "| source | steady | per track | vs baseline | whole |", "|---|---|---|---|---|"]
    for n in names:
        steady, whole = med(s[0] for s in samples[n]), med(s[1] for s in samples[n])
        md.append("| %s | %.4f | %.4f | %.2fx | %.4f |" % (n, steady, steady / 2,
                                                          steady / base if base else 0, whole))
    md += ["", "The rtp source skips ICE, DTLS and the WebRTC bin: what is left is the "
           "socket, SRTP when keyed, rtpbin's jitter buffers and the recording itself. "
           "The baseline has no RTCP, no lip-sync and no status reporting.", "",
           "<!-- bench_rtp:end -->"]
    benchmd.write_block(md)


if __name__ == "__main__":
    main()
