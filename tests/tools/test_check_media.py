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

Composite-like files (6 s each): a 2x2 grid whose four tiles flash at
their own times, with four mixed tones (440/550/660/880 Hz) and four beeps
(2000/2500/3000/3500 Hz, one of them 18 dB quieter, two overlapping in time)
at known offsets from their tile's flashes (H.264 + AAC in MP4); one tile
appears at 2 s (colour timeline, first_time_color); a stereo VP8 + Opus
WebM with a different tone and beep per channel and a 600 ms audio gap; a
VP8 file with two jittered frame timestamps (20 ms: off, 10 ms: within half
a frame). Each new option is checked to pass on the truth and to fail on a
wrong expectation. Flashes damaged or lost on the network (a first frame
not white, a first frame missing) are flagged, from frames as decoded.

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
sys.path.insert(0, HERE)
import check_media as media  # noqa: E402  (the module API the integration tests use)
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



# ---------------------------------------------------------------- composites
# Files like a room composite's: several participants, each with its tile,
# its flashes, its tone and its own marker beep, mixed into one track.

MIX_DUR = 6
TILES = [(0, 0, 320, 180), (320, 0, 320, 180), (0, 180, 320, 180), (320, 180, 320, 180)]
MIX_COLORS = ["ff0000", "00ff00", "0000ff", "ffff00"]
MIX_FLASH = [0.5, 0.5, 1.0, 1.3]          # first flash of each tile (then every 2 s)
MIX_D = [0.0, 0.04, -0.03, 0.08]           # beep - flash per participant, s
MIX_BEEP = [2000, 2500, 3000, 3500]
MIX_BEEP_AMP = [0.3, 0.3, 0.3, 0.04]        # the last one quiet, among loud beeps
MIX_TONE = [440, 550, 660, 880]
TILE2_FROM = 2.0                           # tile 2 shows its colour from then on (grey before)


def marker(start, length=0.1):
    """lavfi expression: true for `length` s every 2 s from `start`, sample
    and frame exact (1 ms early so that a frame at `start` is in)."""
    return "gte(t,%.4f)*lt(mod(t-%.4f,2),%.4f)" % (start - 0.001, start - 0.001, length)


def mix_video():
    parts = ["color=c=0x404040:s=640x360:r=30:d=%g" % MIX_DUR]
    for k, (x, y, w, h) in enumerate(TILES):
        en = ":enable='gte(t,%g)'" % TILE2_FROM if k == 2 else ""
        parts.append("drawbox=x=%d:y=%d:w=%d:h=%d:c=0x%s:t=fill%s" % (x, y, w, h, MIX_COLORS[k], en))
    for k, (x, y, w, h) in enumerate(TILES):
        parts.append("drawbox=x=%d:y=%d:w=%d:h=%d:c=white:t=fill:enable='%s'"
                     % (x, y, w, h, marker(MIX_FLASH[k])))
    return ",".join(parts)


def mix_audio():
    terms = []
    for k in range(4):
        terms.append("if(%s,%g*sin(2*PI*%d*t),0.12*sin(2*PI*%d*t))"
                     % (marker(MIX_FLASH[k] + MIX_D[k]), MIX_BEEP_AMP[k], MIX_BEEP[k], MIX_TONE[k]))
    return "aevalsrc=exprs='%s':s=48000:d=%g" % ("+".join(terms), MIX_DUR)


# Stereo: left 440 Hz with 2000 Hz beeps (loud, quiet, loud) in time with the
# flashes; right 660 Hz with 3000 Hz beeps 50 ms late; audio missing 3.2-3.8 s.
STEREO_AUDIO = ("aevalsrc=exprs='if(%s,if(between(t,2,4),0.05,0.8)*sin(2*PI*2000*t),0.25*sin(2*PI*440*t))|"
                "if(%s,0.8*sin(2*PI*3000*t),0.25*sin(2*PI*660*t))':s=48000:d=6:c=stereo"
                % (marker(0.5), marker(0.55)))


def build_mix(path, tmp):
    ffmpeg("-f", "lavfi", "-i", mix_video(), "-f", "lavfi", "-i", mix_audio(), *H264, *AAC, path)


def build_stereo(path, tmp):
    ffmpeg("-f", "lavfi", "-i", video_src("0000ff", 6).replace("320x240", "320x180"),
           "-f", "lavfi", "-i", STEREO_AUDIO, "-af", "aselect='not(between(t,3.2,3.8))'",
           *VP8, "-c:a", "libopus", "-b:a", "128k", path)


def build_jitter(path, tmp):
    # Frame 45 (1.5 s) 20 ms late, frame 75 (2.5 s) 10 ms late.
    ffmpeg("-f", "lavfi", "-i", "color=c=0x808080:s=160x90:r=30:d=3",
           "-vf", "settb=1/1000,setpts='(N+0.6*eq(N,45)+0.3*eq(N,75))/(30*TB)'", "-fps_mode", "vfr",
           "-enc_time_base", "1:1000", *VP8, path)


COMPOSITE_FILES = {"mix4_h264_aac.mp4": build_mix, "stereo_vp8_opus.webm": build_stereo,
                   "jitter_vp8.webm": build_jitter}


def near(a, b, tol):
    return a is not None and b is not None and abs(a - b) <= tol


def expect_json(path, args, want_fails, what):
    """One run: its report, after checking that exactly the expectations
    named in want_fails (failure message prefixes) failed."""
    rc, rep, err = check_json(path, *args)
    if rep is None:
        fail("%s: check_media exit %d: %s" % (what, rc, err.strip()))
        return None
    got = rep.get("failures", [])
    unexpected = [f for f in got if not any(f.startswith(w) for w in want_fails)]
    missing = [w for w in want_fails if not any(f.startswith(w) for f in got)]
    if rc != (1 if want_fails else 0) or unexpected or missing:
        fail("%s: exit %d, failures %s, want exactly %s" % (what, rc, got, want_fails or "none"))
    elif want_fails:
        print("%-28s failed as expected: %s" % (what, " | ".join(got)))
    return rep


def expect_check(rep, args, want_fails, what):
    """check_media's verdict on an existing report with other expectations
    (no new decode): exactly the failures named in want_fails."""
    if rep is None:
        return
    got = media.check(rep, media.parser().parse_args([rep["file"]] + args))
    unexpected = [f for f in got if not any(f.startswith(w) for w in want_fails)]
    missing = [w for w in want_fails if not any(f.startswith(w) for f in got)]
    if unexpected or missing:
        fail("%s: failures %s, want exactly %s" % (what, got, want_fails or "none"))
    else:
        print("%-28s failed as expected: %s" % (what, " | ".join(got)))


def check_offsets(what, sync, k):
    offs = [p["offset_ms"] for p in sync["pairs"]]
    print("%-28s pairs %d offsets %s (expected %+.0f)"
          % (what, sync["count"], " ".join("%+.1f" % o for o in offs), MIX_D[k] * 1000))
    if sync["count"] != 3 or sync["beeps"] != 3:
        fail("%s: %d pairs, %d beeps, want 3" % (what, sync["count"], sync["beeps"]))
    if any(abs(o - MIX_D[k] * 1000) > 3.0 for o in offs):
        fail("%s: offsets %s, want %+.0f +- 3 ms" % (what, offs, MIX_D[k] * 1000))


def check_participants(path):
    """Per participant: its tile's flashes with its own beep in the mix, all
    four from one decode (--participant), one alone (--crop, --beep-hz)."""
    args = []
    for k in range(4):
        args += ["--participant", "%s:%d" % (",".join(map(str, TILES[k])), MIX_BEEP[k])]
    rep = expect_json(path, args + ["--expect-freq", "440,550,660,880", "--max-audio-gap-ms", "40",
                                    "--expect-fps", "30", "--max-sync-ms", "85", "--min-markers", "3"],
                      [], "mix, 4 participants")
    if rep is None:
        return
    parts = rep.get("participants") or []
    if len(parts) != 4:
        fail("mix: %d participants reported, want 4" % len(parts))
        return
    for k in range(4):
        check_offsets("mix participant %d (%d Hz)" % (k, MIX_BEEP[k]), parts[k]["sync"], k)
    fr = [f["freq"] for f in rep["audio"]["dominant_freqs"]]
    print("%-28s dominant %s" % ("mix of 4 tones", fr))
    if not all(any(near(f, t, 2) for f in fr[:4]) for t in MIX_TONE):
        fail("mix: the 4 tones %s are not the 4 dominant frequencies %s" % (MIX_TONE, fr))
    if any(abs(f - b) < 100 for f in fr for b in MIX_BEEP):
        fail("mix: a beep leaked into the dominant frequencies %s" % fr)
    # Wrong expectations on the same report.
    expect_check(rep, ["--max-sync-ms", "35"], ["A/V sync of participant 1", "A/V sync of participant 3"],
                 "mix: 40 and 80 ms > 35 ms")
    expect_check(rep, ["--min-markers", "4"], ["markers"], "mix: 3 pairs each, not 4")
    expect_check(rep, ["--expect-freq", "440,550,660,990"], ["audio frequency"], "mix: no 990 Hz tone")
    expect_check(rep, ["--expect-fps", "25"], ["frame rate"], "mix: 30 fps is not 25")
    # The quiet one alone, through --crop and --beep-hz.
    rep = expect_json(path, ["--crop", ",".join(map(str, TILES[3])), "--beep-hz", str(MIX_BEEP[3]),
                             "--max-sync-ms", "20"], ["A/V sync: max"], "mix participant 3 alone")
    if rep is not None:
        check_offsets("mix participant 3 alone", rep["sync"], 3)


def check_mix(path):
    check_participants(path)
    # The tile that appears at 2 s: the timeline (CLI) and the module agree.
    rep = expect_json(path, ["--color-timeline", ",".join(map(str, TILES[2])), "--expect-fps", "30",
                             "--beep-hz", "4000", "--start", "2", "--end", "4.5"], [], "mix timeline")
    if rep is None:
        return
    tl = rep.get("color_timeline") or []
    if not (74 <= len(tl) <= 76) or not near(tl[0][0], 2.0, 0.001):
        fail("mix timeline: %d entries from %s, want 75 from 2.0" % (len(tl), tl[:1]))
    if rep["audio"]["beeps"]:
        fail("mix: beeps found at 4000 Hz where there are none: %s" % rep["audio"]["beeps"])
    if rep["video"]["flashes"] != [2.5] or rep["sync"]["flashes"] != 1:
        fail("mix window 2-4.5 s: flashes %s, want [2.5]" % rep["video"]["flashes"])
    fps = rep["video"].get("frame_rate", {})
    if fps.get("bad_intervals") != 0 or not near(fps.get("measured_fps"), 30, 0.01):
        fail("mix: frame rate %s, want 30 without bad intervals" % fps)
    t_appear = media.first_time_color(path, TILES[2], MIX_COLORS[2], tol=40, hold=3)
    t_cli = media.first_time_color([tuple(e) for e in tl], None, MIX_COLORS[2], tol=40)
    t_red = media.first_time_color(path, TILES[2], "ff0000", tol=40)
    print("%-28s tile 2 shows #%s from %s s (timeline %s), red never: %s"
          % ("mix colour timeline", MIX_COLORS[2], t_appear, t_cli, t_red))
    if not near(t_appear, TILE2_FROM, 0.001) or not near(t_cli, TILE2_FROM, 0.001) or t_red is not None:
        fail("mix: tile 2 appears at %s / %s (red at %s), want %s / never"
             % (t_appear, t_cli, t_red, TILE2_FROM))


def check_seek(path):
    """A window far into a file is sought, not decoded up to: the same
    markers at the same times as a decode from the start (the threshold
    and margin lowered to make a 6 s file long enough)."""
    kw = dict(crop=TILES[1], beep_hz=MIX_BEEP[1], start=2.2, end=MIX_DUR)
    saved = media.SEEK_FROM_S, media.SEEK_MARGIN_S
    try:
        media.SEEK_FROM_S = 1e9
        full = media.analyse(path, **kw)
        media.SEEK_FROM_S, media.SEEK_MARGIN_S = 1.0, 1.0  # from 1.2 s
        sought = media.analyse(path, **kw)
    finally:
        media.SEEK_FROM_S, media.SEEK_MARGIN_S = saved
    pf, ps = full["sync"]["pairs"], sought["sync"]["pairs"]
    print("%-28s full %s, sought %s" % ("window sought (2.2-6 s)", [(p["flash"], p["beep"]) for p in pf],
                                         [(p["flash"], p["beep"]) for p in ps]))
    if len(pf) != 2 or len(ps) != len(pf) or any(
            not near(a["flash"], b["flash"], 0.001) or not near(a["beep"], b["beep"], 0.002)
            for a, b in zip(pf, ps)):
        fail("seek: pairs %s sought, %s decoded from the start" % (ps, pf))
    if sought["video"]["frames"] != full["video"]["frames"]:
        fail("seek: %s frames sought, %s decoded" % (sought["video"]["frames"], full["video"]["frames"]))


def check_timeline_drift():
    """Audio packets' overlaps and holes added up (20 ms packets: one 13 ms
    late, then back on time; one lost)."""
    pk = [(i * 0.02 + (0.013 if i == 10 else 0.0), 0.02) for i in range(40) if i != 30]
    got = media.timeline_drift(pk)
    print("timeline drift: %s" % got)
    if got != {"overlap_total_ms": 13.0, "hole_total_ms": 33.0}:
        fail("timeline drift: %s, want 13 ms of overlap and 13 + 20 ms of holes" % got)


def check_stereo(path):
    want = OPUS_MKV_BIAS_MS
    rep = expect_json(path, ["--channel", "left", "--beep-hz", "2000", "--end", "3.1", "--expect-freq", "440",
                             "--max-audio-gap-ms", "40"], [], "stereo left to 3.1 s")
    if rep is None:
        return
    rep_left = rep
    ch = rep["audio"].get("channels") or {}
    left = [f["freq"] for f in ch.get("left", {}).get("dominant_freqs", [])]
    right = [f["freq"] for f in ch.get("right", {}).get("dominant_freqs", [])]
    offs = [p["offset_ms"] for p in rep["sync"]["pairs"]]
    print("%-28s left %s right %s; left beeps %s offsets %s; packet delta %s ms before 3.1 s"
          % ("stereo_vp8_opus.webm", left, right, rep["audio"]["beeps"], offs,
             rep["audio"]["max_packet_delta_ms"]))
    if not left or not near(left[0], 440, 2) or any(near(f, 660, 20) for f in left):
        fail("stereo: left channel dominant %s, want 440 alone" % left)
    if not right or not near(right[0], 660, 2) or any(near(f, 440, 20) for f in right):
        fail("stereo: right channel dominant %s, want 660 alone" % right)
    if len(offs) != 2 or any(abs(o - want) > 3 for o in offs):   # 0.5 loud, 2.5 quiet
        fail("stereo: left beeps (2000 Hz) offsets %s, want 2 at %+.1f" % (offs, want))
    # Right: 3000 Hz beeps 50 ms late; the gap 3.2-3.8 s is in the window.
    rep = expect_json(path, ["--channel", "right", "--expect-freq", "660", "--max-audio-gap-ms", "100"],
                      ["audio gap"], "stereo right, Opus gap")
    offs = [p["offset_ms"] for p in rep["sync"]["pairs"]] if rep else []
    print("%-28s right beeps offsets %s" % ("stereo_vp8_opus.webm", offs))
    if len(offs) != 3 or any(abs(o - (50 + want)) > 3 for o in offs):
        fail("stereo: right channel offsets %s, want 3 at %+.1f" % (offs, 50 + want))
    expect_check(rep_left, ["--channel", "left", "--expect-freq", "660"], ["audio frequency"],
                 "stereo left is not 660 Hz")


def check_jitter(path):
    rep = expect_json(path, ["--expect-fps", "30"], ["frame rate"], "jitter")
    fr = (rep or {}).get("video", {}).get("frame_rate", {})
    if fr.get("bad_intervals") != 2 or not near(abs(fr.get("max_deviation_ms") or 0), 20, 1.5):
        fail("jitter: frame rate %s, want 2 intervals 20 ms off" % fr)
    rep = expect_json(path, ["--expect-fps", "30", "--start", "2"], [], "jitter from 2 s")
    fr = (rep or {}).get("video", {}).get("frame_rate", {})
    if not near(abs(fr.get("max_deviation_ms") or 0), 10, 1.5):
        fail("jitter from 2 s: frame rate %s, want 10 ms deviation (within half a frame)" % fr)
    else:
        print("%-28s passes, largest deviation %+.1f ms within half a frame"
              % ("jitter from 2 s", fr["max_deviation_ms"]))

def check_skip(tmp):
    """--skip counts from the file's first timestamp: an MPEG-TS starting at
    3600 s, black for its first 2 s and red after, is red with --skip 2 and
    not with --start 2 (a file timestamp, before the whole file)."""
    ts = os.path.join(tmp, "offset_h264.ts")
    ffmpeg("-f", "lavfi", "-i", "color=c=0xff0000:s=320x240:r=30:d=5,"
           "drawbox=c=black:t=fill:enable='lt(t,2)'", *H264, "-output_ts_offset", "3600", ts)
    rep = expect_json(ts, ["--skip", "2", "--expect-color", "ff0000"], [], "--skip from the first timestamp")
    if rep and not near(rep.get("duration") or 0, 5, 0.2):
        fail("--skip: duration %s, want 5 (the whole file)" % rep.get("duration"))
    expect_json(ts, ["--start", "2", "--expect-color", "ff0000"], ["video colour"],
                "--start is a file timestamp")


def check_damaged_flashes():
    """Flashes whose time only bounds their onset, from frames as decoded
    (30 fps, dark, a 100 ms flash = 3 white frames every 2 s): whole; its
    first frame damaged (decoded, not white); its first frame missing."""
    frames, white = [], set()
    for k in range(3):
        white.update(15 + 60 * k + i for i in range(3))  # from 0.5 s, 2.5 s, 4.5 s
    white.discard(75)  # 2.5 s: damaged
    for n in range(6 * 30):
        if n == 135:
            continue  # 4.5 s: lost
        frames.append((n / 30.0, 235.0 if n in white else 40.0, 128.0, 128.0))
    rep, flashes = media.analyse_video(frames, 0.0, False)
    want = {"flashes": [0.5, 2.5333, 4.5333], "flashes_short": [2.5333, 4.5333],
            "flashes_after_gap": [4.5333]}
    got = {k: rep.get(k) for k in want}
    print("damaged flashes: %s" % got)
    if got != want:
        fail("damaged flashes: %s, want %s" % (got, want))


def main():
    t0 = time.time()
    check_damaged_flashes()
    check_timeline_drift()
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

        extra = [dict(name=n, build=b) for n, b in COMPOSITE_FILES.items()]
        with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as ex:
            built = list(ex.map(one, cases + extra))
        print("generated %d files in %.1f s" % (len(built), time.time() - t0))
        ready = []
        for case, path, err in built:
            if err:
                fail("%s: could not generate: %s" % (case["name"], err))
            else:
                ready.append((case, path))
        by_name = {case["name"]: path for case, path in ready}
        checks = [lambda c=c, p=p: verify(c, p) for c, p in ready if c["name"] not in COMPOSITE_FILES]
        for name, fn in (("mix4_h264_aac.mp4", check_mix), ("stereo_vp8_opus.webm", check_stereo),
                         ("jitter_vp8.webm", check_jitter)):
            if name in by_name:
                checks.append(lambda fn=fn, p=by_name[name]: fn(p))
        with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as ex:
            list(ex.map(lambda f: f(), checks))
        if "mix4_h264_aac.mp4" in by_name:  # (alone: it sets the module's thresholds)
            check_seek(by_name["mix4_h264_aac.mp4"])

        # The CLI's expectations and exit statuses: every expectation met,
        # then each wrong one reported (one run for all of them).
        p60 = by_name.get("ff_h264_aac_60.mp4")
        if p60:
            rep = expect_json(p60, ["--max-sync-ms", "70", "--min-markers", "5", "--expect-codecs", "h264,aac",
                                    "--expect-duration", "10", "--expect-freq", "660", "--expect-color", "00ff00",
                                    "--max-video-gap-ms", "40", "--max-audio-gap-ms", "40",
                                    "--max-decode-errors", "0", "--expect-fps", "30"], [], "all expectations met")
            expect_check(rep, ["--max-sync-ms", "40", "--expect-freq", "440", "--expect-codecs", "vp8,opus",
                              "--expect-duration", "12", "--min-markers", "6", "--expect-color", "ff0000"],
                         ["A/V sync: max", "audio frequency", "codecs", "duration", "markers", "video colour"],
                         "wrong expectations")
        pg = by_name.get("ff_gaps_h264_aac_60.mp4")
        if pg:
            expect_json(pg, ["--max-video-gap-ms", "500", "--max-audio-gap-ms", "500", "--expect-fps", "30"],
                        ["video gap", "audio gap", "frame rate"], "gaps > 500 ms")
        po = by_name.get("ff_opus_60.ogg")
        if po:
            expect_json(po, ["--min-markers", "5", "--expect-freq", "440", "--max-sync-ms", "40"],
                        ["A/V sync: no flash/beep pairs"], "audio-only: markers, no pairs")
        check_skip(tmp)
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
