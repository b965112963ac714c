#!/usr/bin/python3
"""Validates check_media.py against synthetic files with KNOWN marker
offsets, without the real publisher.

Files carry the publisher's marker pattern: every 2 s from t=0.5 a 100 ms
whole-white video flash, and a 100 ms 3000 Hz beep (amplitude 0.8, in place
of a 0.25 tone) starting D seconds after the flash (D known per file). They
are generated with ffmpeg's lavfi sources (and GStreamer's matroskamux for the
file closest to what the worker writes) in mkv, webm, mp4 and ogg, with
audio/video-only variants, leading offsets and gaps. The measured offsets
must match D within 3 ms of the container's known bias and within one frame
of D.

Known bias: FFmpeg 5.1's own Matroska/WebM muxer writes Opus 6.5 ms (one
pre-skip) early relative to video (its demuxer subtracts CodecDelay that its
muxer never added); GStreamer's matroskamux reads back exact.

Exit 0 when everything matches, 1 otherwise. Standard library + numpy; needs
ffmpeg/ffprobe and gst-launch-1.0 (the GStreamer case is skipped with a note
when gst-launch-1.0 is missing).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "check_media.py")
PY = sys.executable or "/usr/bin/python3"
DUR = 10
FRAME_MS = 1000.0 / 30
OPUS_MKV_BIAS_MS = -6.5

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg)


def video_src(color="ff0000", dur=DUR):
    return ("color=c=0x%s:s=320x240:r=30:d=%g,"
            "drawbox=c=white:t=fill:enable='gte(t,0.5)*lt(mod(t-0.5,2),0.1)'" % (color, dur))


def audio_src(d, freq=440, dur=DUR):
    on = 0.5 + d
    return ("aevalsrc=exprs='if(gte(t,%.4f)*lt(mod(t-%.4f,2),0.1),0.8*sin(2*PI*3000*t),"
            "0.25*sin(2*PI*%g*t))':s=48000:d=%g" % (on, on, freq, dur))


def ffmpeg(*args):
    argv = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y"] + list(args)
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError("%s\n%s" % (" ".join(argv), r.stderr.decode(errors="replace")))


VP8 = ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "400k"]
H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
OPUS = ["-c:a", "libopus", "-b:a", "64k"]
AAC = ["-c:a", "aac", "-b:a", "96k"]


def av(d, color="ff0000", freq=440):
    return ["-f", "lavfi", "-i", video_src(color), "-f", "lavfi", "-i", audio_src(d, freq)]


# Each case: name, builder(path), expectations.
def build_gst_mkv(path, tmp):
    master = os.path.join(tmp, "master.mkv")
    ffmpeg(*av(0.0), "-c:v", "ffv1", "-c:a", "pcm_s16le", master)
    argv = ["gst-launch-1.0", "-q", "filesrc", "location=" + master, "!", "decodebin", "name=d",
            "d.", "!", "queue", "!", "videoconvert", "!", "vp8enc", "deadline=1", "!",
            "matroskamux", "name=m", "!", "filesink", "location=" + path,
            "d.", "!", "queue", "!", "audioconvert", "!", "audioresample", "!", "opusenc", "!", "m."]
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("gst-launch: %s" % r.stderr.decode(errors="replace"))


CASES = [
    dict(name="gst_vp8_opus.mkv", gst=True, build=build_gst_mkv, codecs="opus,vp8", d=0.0, bias=0.0,
         pairs=5, freq=440, color="ff0000"),
    dict(name="ff_vp8_opus_60.mkv", build=lambda p, t: ffmpeg(*av(0.06), *VP8, *OPUS, p),
         codecs="opus,vp8", d=0.06, bias=OPUS_MKV_BIAS_MS, pairs=5, freq=440, color="ff0000"),
    dict(name="ff_vp8_opus_0.webm", build=lambda p, t: ffmpeg(*av(0.0, "0000ff", 880), *VP8, *OPUS, p),
         codecs="opus,vp8", d=0.0, bias=OPUS_MKV_BIAS_MS, pairs=5, freq=880, color="0000ff"),
    dict(name="ff_h264_aac_60.mp4", build=lambda p, t: ffmpeg(*av(0.06, "00ff00", 660), *H264, *AAC, p),
         codecs="aac,h264", d=0.06, bias=0.0, pairs=5, freq=660, color="00ff00"),
    dict(name="ff_h264_opus_m40.mp4", build=lambda p, t: ffmpeg(*av(-0.04), *H264, *OPUS, p),
         codecs="h264,opus", d=-0.04, bias=0.0, pairs=5, freq=440, color="ff0000"),
    dict(name="ff_opus_60.ogg",
         build=lambda p, t: ffmpeg("-f", "lavfi", "-i", audio_src(0.06), *OPUS, p),
         codecs="opus", audio_only=True, d=0.06, beeps=[0.56 + 2 * k for k in range(5)], freq=440),
    dict(name="ff_vp8_only.mkv",
         build=lambda p, t: ffmpeg("-f", "lavfi", "-i", video_src("ffff00"), *VP8, p),
         codecs="vp8", video_only=True, flashes=[0.5 + 2 * k for k in range(5)], color="ffff00"),
    # Leading offsets: video starts at 1.0, audio at 0.3 (timestamps kept),
    # then the whole file is shifted by +2 s.
    dict(name="ff_offset_h264_aac_60.mp4",
         build=lambda p, t: ffmpeg(*av(0.06), "-filter_complex",
                                   "[0:v]trim=start=1[v];[1:a]atrim=start=0.3[a]",
                                   "-map", "[v]", "-map", "[a]", "-fps_mode", "vfr", *H264, *AAC,
                                   "-output_ts_offset", "2", p),
         codecs="aac,h264", d=0.06, bias=0.0, pairs=4, freq=440, color="ff0000",
         flashes=[4.5, 6.5, 8.5, 10.5], first_video=3.0),
    # Gaps: audio missing 3.0-4.2 s, video missing 5.0-6.0 s (timestamps kept).
    dict(name="ff_gaps_h264_aac_60.mp4",
         build=lambda p, t: ffmpeg(*av(0.06), "-filter_complex",
                                   "[0:v]select='not(between(t,5,5.99))'[v];"
                                   "[1:a]aselect='not(between(t,3,4.2))'[a]",
                                   "-map", "[v]", "-map", "[a]", "-fps_mode", "vfr", *H264, *AAC, p),
         codecs="aac,h264", d=0.06, bias=0.0, pairs=5, freq=440, color="ff0000",
         video_gap=(1000, 1100, 4.9, 5.1), audio_gap=(1100, 1400, 2.9, 3.1)),
]


def check_json(path, *extra):
    r = subprocess.run([PY, CHECK, path, "--json"] + list(extra), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    try:
        rep = json.loads(r.stdout)
    except ValueError:
        rep = None
    return r.returncode, rep, r.stderr.decode(errors="replace")


def verify(case, path):
    name = case["name"]
    rc, rep, err = check_json(path)
    if rc != 0 or rep is None:
        fail("%s: check_media exit %d: %s" % (name, rc, err.strip()))
        return None
    got_codecs = ",".join(sorted(s["codec"] for s in rep["streams"] if s["type"] in ("audio", "video")))
    if got_codecs != case["codecs"]:
        fail("%s: codecs %s, want %s" % (name, got_codecs, case["codecs"]))
    if rep["decode_errors"]["count"]:
        fail("%s: decode errors %s" % (name, rep["decode_errors"]["lines"]))
    if abs((rep["duration"] or 0) - DUR) > 0.6 and "first_video" not in case:
        fail("%s: duration %s, want %s" % (name, rep["duration"], DUR))
    s = rep["sync"]
    line = "%-28s" % name
    if "pairs" in case:
        want = case["d"] * 1000 + case["bias"]
        offs = [p["offset_ms"] for p in s["pairs"]]
        line += " pairs %d offsets %s (mean %+.1f, expected %+.1f = D %+.0f %+.1f bias)" % (
            s["count"], " ".join("%+.1f" % o for o in offs), s["mean_ms"] or 0, want,
            case["d"] * 1000, case["bias"])
        if s["count"] != case["pairs"]:
            fail("%s: %d pairs, want %d (flashes %d, beeps %d)"
                 % (name, s["count"], case["pairs"], s["flashes"], s["beeps"]))
        for o in offs:
            if abs(o - want) > 3.0 or abs(o - case["d"] * 1000) > FRAME_MS:
                fail("%s: offset %+.2f ms, want %+.1f +- 3 (D %+.0f)" % (name, o, want, case["d"] * 1000))
    if "flashes" in case:
        fl = rep["video"]["flashes"]
        line += " flashes %s" % fl
        if len(fl) != len(case["flashes"]) or any(abs(a - b) > 0.002 for a, b in zip(fl, case["flashes"])):
            fail("%s: flashes at %s, want %s" % (name, fl, case["flashes"]))
    if "beeps" in case:
        bp = rep["audio"]["beeps"]
        line += " beeps %s" % bp
        if len(bp) != len(case["beeps"]) or any(abs(a - b) > 0.002 for a, b in zip(bp, case["beeps"])):
            fail("%s: beeps at %s, want %s" % (name, bp, case["beeps"]))
    if case.get("audio_only"):
        if "video" in rep or s["flashes"]:
            fail("%s: audio-only file reported video" % name)
    if case.get("video_only"):
        if "audio" in rep or s["beeps"]:
            fail("%s: video-only file reported audio" % name)
    if "freq" in case:
        fr = [f["freq"] for f in rep["audio"]["dominant_freqs"]]
        line += " freqs %s" % fr
        if not fr or abs(fr[0] - case["freq"]) > 2:
            fail("%s: dominant frequencies %s, want %s first" % (name, fr, case["freq"]))
        if any(abs(f - 3000) < 50 for f in fr):
            fail("%s: the beep leaked into the dominant frequencies %s" % (name, fr))
    if "color" in case:
        want = [int(case["color"][i:i + 2], 16) for i in (0, 2, 4)]
        got = rep["video"].get("mean_rgb")
        line += " colour %s" % rep["video"].get("mean_color")
        if not got or max(abs(a - b) for a, b in zip(want, got)) > 12:
            fail("%s: mean colour %s, want %s" % (name, rep["video"].get("mean_color"), case["color"]))
        if rep["video"]["frames"] < 250 and "video_gap" not in case and "first_video" not in case:
            fail("%s: %d video frames" % (name, rep["video"]["frames"]))
    if "first_video" in case:
        v0 = rep["video"]["first_pts"]
        if abs(v0 - case["first_video"]) > 0.002:
            fail("%s: first video frame at %s, want %s" % (name, v0, case["first_video"]))
    if "video_gap" in case:
        lo, hi, at_lo, at_hi = case["video_gap"]
        g, at = rep["video"]["max_frame_gap_ms"], rep["video"]["max_frame_gap_at"]
        line += " video gap %s ms at %s" % (g, at)
        if not (lo <= g <= hi and at_lo <= at <= at_hi):
            fail("%s: video gap %s ms at %s, want %s-%s ms at %s-%s" % (name, g, at, lo, hi, at_lo, at_hi))
    elif "video" in rep and rep["video"].get("max_frame_gap_ms", 0) > 40:
        fail("%s: unexpected video gap %s ms" % (name, rep["video"]["max_frame_gap_ms"]))
    if "audio_gap" in case:
        lo, hi, at_lo, at_hi = case["audio_gap"]
        g, at = rep["audio"]["max_packet_delta_ms"], rep["audio"]["max_packet_gap_at"]
        line += " audio gap %s ms at %s" % (g, at)
        if not (lo <= g <= hi and at_lo <= at <= at_hi):
            fail("%s: audio gap %s ms at %s, want %s-%s ms at %s-%s" % (name, g, at, lo, hi, at_lo, at_hi))
    elif "audio" in rep and rep["audio"].get("max_packet_delta_ms", 0) > 40:
        fail("%s: unexpected audio gap %s ms" % (name, rep["audio"]["max_packet_delta_ms"]))
    print(line)
    return rep


def expect_rc(path, args, want, what):
    r = subprocess.run([PY, CHECK, path] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=120)
    msg = r.stderr.decode(errors="replace").strip()
    if r.returncode != want:
        fail("%s: exit %d, want %d (%s)" % (what, r.returncode, want, msg))
    else:
        print("%-28s exit %d as expected%s" % (what, r.returncode, (": " + msg.splitlines()[0]) if msg else ""))


def main():
    t0 = time.time()
    tmp = tempfile.mkdtemp(prefix="egw-check-media-")
    try:
        have_gst = shutil.which("gst-launch-1.0") is not None
        cases = [c for c in CASES if have_gst or not c.get("gst")]
        if not have_gst:
            print("note: gst-launch-1.0 missing, GStreamer case skipped")

        def one(case):
            path = os.path.join(tmp, case["name"])
            try:
                case["build"](path, tmp)
            except Exception as e:  # reported, the rest still runs
                return case, path, e
            return case, path, None

        with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as ex:
            built = list(ex.map(one, cases))
        print("generated %d files in %.1f s" % (len(built), time.time() - t0))
        ready = []
        for case, path, err in built:
            if err:
                fail("%s: could not generate: %s" % (case["name"], err))
            else:
                ready.append((case, path))
        with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as ex:
            list(ex.map(lambda cp: verify(*cp), ready))
        by_name = {case["name"]: path for case, path in ready}

        # The CLI's expectations and exit statuses.
        p60 = by_name.get("ff_h264_aac_60.mp4")
        if p60:
            expect_rc(p60, ["--max-sync-ms", "70", "--min-markers", "5", "--expect-codecs", "h264,aac",
                            "--expect-duration", "10", "--expect-freq", "660", "--expect-color", "00ff00",
                            "--max-video-gap-ms", "40", "--max-audio-gap-ms", "40",
                            "--max-decode-errors", "0"], 0, "all expectations met")
            expect_rc(p60, ["--max-sync-ms", "40"], 1, "sync 60 ms > 40 ms")
            expect_rc(p60, ["--expect-freq", "440"], 1, "wrong frequency")
            expect_rc(p60, ["--expect-codecs", "vp8,opus"], 1, "wrong codecs")
            expect_rc(p60, ["--expect-duration", "12"], 1, "wrong duration")
            expect_rc(p60, ["--min-markers", "6"], 1, "too few markers")
            expect_rc(p60, ["--expect-color", "ff0000"], 1, "wrong colour")
        pg = by_name.get("ff_gaps_h264_aac_60.mp4")
        if pg:
            expect_rc(pg, ["--max-video-gap-ms", "500"], 1, "video gap > 500 ms")
            expect_rc(pg, ["--max-audio-gap-ms", "500"], 1, "audio gap > 500 ms")
        po = by_name.get("ff_opus_60.ogg")
        if po:
            expect_rc(po, ["--min-markers", "5", "--expect-freq", "440"], 0, "audio-only markers")
            expect_rc(po, ["--max-sync-ms", "40"], 1, "audio-only has no pairs")
        expect_rc(os.path.join(tmp, "missing.mkv"), [], 2, "missing file")
        junk = os.path.join(tmp, "junk.mkv")
        with open(junk, "wb") as f:
            f.write(b"not a media file" * 100)
        expect_rc(junk, [], 2, "unreadable file")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%s in %.1f s" % ("FAILED (%d)" % len(failures) if failures else "OK", time.time() - t0))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
