#!/usr/bin/python3
"""Independent checker of a recorded media file, built on FFmpeg's CLIs.

    check_media.py FILE [--json] [--expect-codecs vp8,opus]
                   [--expect-duration 10 --duration-tol 0.5]
                   [--expect-freq 440[,660] --freq-tol 5]
                   [--max-sync-ms 40] [--min-markers N] [--beep-hz 3000]
                   [--expect-color ff0000 --color-tol 40] [--crop X,Y,W,H]
                   [--max-video-gap-ms MS] [--max-audio-gap-ms MS]
                   [--expect-fps N] [--max-decode-errors N]
                   [--channel mono|left|right] [--start S] [--end S]
                   [--color-timeline X,Y,W,H] [--participant X,Y,W,H:HZ ...]

Reports the container format, each stream's codec and type, durations
(container and per stream), decoded video frame count, decode errors, the
dominant audio frequencies (marker beeps excluded; per channel too for a
stereo file), the mean colour of the video (flash frames excluded), the A/V
sync markers and the largest timestamp jumps. Exits 1 with a message per
failed expectation, 2 when the file cannot be read at all.

A/V sync markers (tests/tools/egw_publish): every 2 s the synthetic
publisher sends a run of whole-white video frames (100 ms) and, at the same
instant, a 100 ms beep (3000 Hz, or its --beep-hz) at amplitude 0.8 in place
of its 0.25 tone. Flash onsets come from the per-frame mean luma (exact frame
PTS), beep onsets from the decoded audio (sample accurate: 50 % crossing of
the envelope at the beep frequency, corrected for the detector's delay).
Each flash is paired with the nearest beep within 500 ms; offset = beep -
flash (positive: audio late). A flash's time is only a bound when frames
were lost near it: the video report lists the flashes right after missing
frames (flashes_after_gap) and those with fewer white frames than 100 ms
covers at the file's frame rate (flashes_short: some came damaged, maybe
the first).

Composites: --crop picks one participant's tile (its flashes) and --beep-hz
its own beep in the mix (or --participant X,Y,W,H:HZ, repeatable, measures
several from one decode: report "participants", each checked by
--max-sync-ms and --min-markers instead of the whole picture); beeps of other participants >= 500 Hz away and
steady tones do not disturb the detector (> 70 dB down), and beeps down to
~ -50 dBFS or 2 % of the file's loudest beep count. Dominant frequencies
come from the per-bin median spectrum of 0.5 s windows, so the tones present
most of the time show (4 mixed tones at similar levels all do) and
intermittent beeps do not.

--channel analyses the left or right channel of a stereo stream instead of
their mean. --start/--end restrict the analysis (frames, samples, markers,
packet jumps, frame rate, timeline) to that window of file timestamps; the
container and stream durations stay whole-file, and an audio stream's
overlap_total_ms / hole_total_ms (its packets' overlaps and holes, added
up: how far its samples played back to back stray from their timestamps)
run from the file's start to the window's end. --color-timeline reports
[t, "rrggbb"] of a region for every decoded frame (color_timeline).
--expect-fps N: every interval between frame timestamps is 1/N s within
half a frame (reported: short ones as duplicates, long ones as gaps) and
the mean rate is within 0.5 % of N (video.frame_rate). --max-audio-gap-ms
checks the largest jump between audio packet timestamps (AAC in MP4, Opus
in WebM/Matroska/Ogg alike).

Video and audio are decoded in ONE ffmpeg run, so both sets of times are on
the same timeline (ffmpeg subtracts the file's start_time; reported times add
it back, i.e. they are the file's own timestamps). Audio is decoded with
aresample=async=1:first_pts=0 to 48 kHz (mono, or stereo for files with two
or more channels), so sample index = time since the start even across gaps
in the audio packets. A --start more than SEEK_FROM_S into the file seeks
there (less SEEK_MARGIN_S) instead of decoding everything before it: the
samples then count from the seek point, the times stay the file's.

As a module (tests import it): analyse(path, crop=..., beep_hz=...,
channel=..., start=..., end=..., timeline=..., expect_fps=...) returns the
report; color_timeline(path, crop) the [(t, "rrggbb")] of a region;
first_time_color(path or timeline, crop, rgb, tol, after=, hold=) the first
time a region shows a colour.

Only the first video and first audio stream are analysed. The signal
analysis itself is in media_signals.py beside this file. Standard library +
numpy only.
"""

import argparse
import json
import os
import subprocess
import sys
import threading

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from media_signals import (BEEP_HZ, SR, analyse_video, color_distance, dominant_freqs,  # noqa: E402,F401
                           find_beeps, frame_rate, parse_rgb, rms_dbfs, yuv_to_rgb)

PAIR_WINDOW_S = 0.500
SEEK_FROM_S, SEEK_MARGIN_S = 120.0, 5.0  # see decode(): a window far into a file
SCALE_W, SCALE_H = 160, 90
BENIGN = ("non monotonically increasing dts", "non-monotonically increasing dts")


class MediaError(Exception):
    pass


def run(argv, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def fdur(v):
    """Seconds from a number or a Matroska DURATION tag (HH:MM:SS.nnnnnnnnn)."""
    x = fnum(v)
    if x is not None or not isinstance(v, str):
        return x
    try:
        h, m, sec = v.strip().split(":")
        return int(h) * 3600 + int(m) * 60 + float(sec)
    except ValueError:
        return None


def fnum(v):
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if np.isfinite(x) else None


# ---------------------------------------------------------------- probing

def probe(path):
    r = run(["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", path])
    if r.returncode != 0:
        raise MediaError("ffprobe cannot read %s: %s" % (path, r.stderr.decode(errors="replace").strip()))
    return json.loads(r.stdout)


def packets(path):
    """{stream_index: [(pts, duration)]} sorted by pts."""
    r = run(["ffprobe", "-v", "error", "-show_entries", "packet=stream_index,pts_time,duration_time",
             "-of", "csv=p=0", path])
    out = {}
    for line in r.stdout.decode(errors="replace").splitlines():
        parts = line.strip().split(",")
        if len(parts) < 3:
            continue
        try:
            idx = int(parts[0])
        except ValueError:
            continue
        pts, dur = fnum(parts[1]), fnum(parts[2])
        if pts is None:
            continue
        out.setdefault(idx, []).append((pts, dur or 0.0))
    for v in out.values():
        v.sort()
    return out


def parse_stats(text):
    """[(t, Y, U, V)] from the metadata filter's print-out of signalstats."""
    frames, cur = [], None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("frame:"):
            if cur and cur[0] is not None:
                frames.append(cur)
            t = None
            for tok in line.split():
                if tok.startswith("pts_time:"):
                    t = fnum(tok[len("pts_time:"):])
            cur = [t, None, None, None]
        elif cur is not None and "=" in line:
            k, v = line.split("=", 1)
            if k == "lavfi.signalstats.YAVG":
                cur[1] = fnum(v)
            elif k == "lavfi.signalstats.UAVG":
                cur[2] = fnum(v)
            elif k == "lavfi.signalstats.VAVG":
                cur[3] = fnum(v)
    if cur and cur[0] is not None:
        frames.append(cur)
    return [tuple(f) for f in frames if f[1] is not None]


def decode(path, has_video, has_audio, regions=(None,), channels=1, until=None, since=0.0):
    """One ffmpeg run: per-frame luma/chroma means of the first video stream
    for each region (a crop X,Y,W,H, or None for the whole picture), and
    48 kHz float samples of the first audio stream (mono, or stereo when
    channels >= 2). until: stop about there (decode timeline, s); since:
    begin there (ffmpeg seeks, then decodes from the keyframe before it and
    drops what comes before it): frame times stay on the decode timeline,
    and the first sample is at `since`. Returns (frames per region
    [[(t, Y, U, V)]], samples np.float32 shaped (n, channels), error lines,
    exit status)."""
    seek = ["-ss", "%.6f" % since] if since > 0 else []
    argv = ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error"] + seek + ["-i", path]
    # (an input -ss starts the output timestamps at 0: -to counts from there)
    stop = ["-to", "%.3f" % (until - since)] if until is not None else []
    # One output per region and one for the audio, each with its own simple
    # graph: ffmpeg decodes the input once for all of them, and a video size
    # change re-creates a video graph without re-creating (re-padding) the
    # audio one.
    pipes = []
    if has_video:
        for crop in regions:
            rfd, wfd = os.pipe()
            pipes.append((rfd, wfd))
            chain = ""
            if crop:
                chain += "crop=%d:%d:%d:%d," % (crop[2], crop[3], crop[0], crop[1])
            chain += ("scale=%d:%d,format=yuv444p,signalstats,metadata=mode=print:file='pipe\\:%d'"
                      % (SCALE_W, SCALE_H, wfd))
            argv += ["-map", "0:v:0", "-vf", chain, "-fps_mode", "passthrough"] + stop + ["-f", "null", "-"]
    nch = 2 if channels >= 2 else 1
    if has_audio:
        argv += ["-map", "0:a:0", "-af", "aresample=%d:async=1:first_pts=0,"
                 "aformat=sample_fmts=flt:channel_layouts=%s" % (SR, "stereo" if nch == 2 else "mono")]
        argv += stop + ["-f", "f32le", "pipe:1"]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE if has_audio else subprocess.DEVNULL,
                         stderr=subprocess.PIPE, pass_fds=tuple(w for _, w in pipes))
    for _, w in pipes:
        os.close(w)
    meta_chunks = [[] for _ in pipes]
    err_chunks, audio_chunks = [], []

    def drain(f, sink):
        for chunk in iter(lambda: f.read(1 << 16), b""):
            sink.append(chunk)

    threads = [threading.Thread(target=drain, args=(p.stderr, err_chunks))]
    files = [os.fdopen(r, "rb") for r, _ in pipes]
    for f, sink in zip(files, meta_chunks):
        threads.append(threading.Thread(target=drain, args=(f, sink)))
    if has_audio:
        threads.append(threading.Thread(target=drain, args=(p.stdout, audio_chunks)))
    for t in threads:
        t.start()
    rc = p.wait()
    for t in threads:
        t.join()
    for f in files:
        f.close()

    frames = [[(f[0] + since,) + tuple(f[1:]) for f in parse_stats(b"".join(c).decode(errors="replace"))]
              for c in meta_chunks]
    raw = b"".join(audio_chunks)
    samples = np.frombuffer(raw[: len(raw) // (4 * nch) * 4 * nch], dtype="<f4").reshape(-1, nch)
    errors, last_benign = [], False
    for l in b"".join(err_chunks).decode(errors="replace").splitlines():
        if not l.strip():
            continue
        if "Last message repeated" in l:  # repeats the line before it
            if not last_benign:
                errors.append(l)
            continue
        last_benign = any(b in l for b in BENIGN)
        if not last_benign:
            errors.append(l)
    return frames, samples, errors, rc


# ---------------------------------------------------------------- analysis

def in_window(t, start, end):
    return (start is None or t >= start) and (end is None or t < end)


def packet_stats(plist):
    """Largest jump between packet PTS (and hole after a packet's duration)."""
    if len(plist) < 2:
        return {}
    pts = np.array([p for p, _ in plist])
    durs = np.array([d for _, d in plist])
    delta = np.diff(pts)
    k = int(np.argmax(delta))
    holes = delta - durs[:-1]
    return {"max_packet_delta_ms": round(float(delta[k]) * 1000, 1),
            "max_packet_delta_at": round(float(pts[k]), 3),
            "max_packet_gap_ms": round(max(0.0, float(holes.max())) * 1000, 1)}


def timeline_drift(plist):
    """How far the packets' samples, played back to back from the first
    (as players play audio), stray from their timestamps by the last one:
    the overlaps (samples ahead of time: sound later than its timestamps)
    and the holes (sound earlier) added up from the file's start."""
    if len(plist) < 2:
        return {}
    pts = np.array([p for p, _ in plist])
    durs = np.array([d for _, d in plist])
    step = pts[1:] - (pts[:-1] + durs[:-1])
    return {"overlap_total_ms": round(float(-step[step < -1e-4].sum()) * 1000, 1),
            "hole_total_ms": round(float(step[step > 1e-4].sum()) * 1000, 1)}


def stream_entry(s, plist, start, end):
    """One stream of the report. Its packet and duration figures cover the
    whole file; its packet jumps only the analysed window."""
    ent = {"index": s.get("index"), "type": s.get("codec_type"), "codec": s.get("codec_name")}
    if s.get("codec_type") == "video":
        ent.update(width=s.get("width"), height=s.get("height"), pix_fmt=s.get("pix_fmt"),
                   profile=s.get("profile"))
    elif s.get("codec_type") == "audio":
        ent.update(sample_rate=fnum(s.get("sample_rate")), channels=s.get("channels"))
    ent["start_time"] = fnum(s.get("start_time"))
    ent["header_duration"] = fnum(s.get("duration")) or fdur((s.get("tags") or {}).get("DURATION"))
    ent["packets"] = len(plist)
    if plist:
        first = plist[0][0]
        last = max(p + d for p, d in plist)
        ent["first_pts"] = round(first, 6)
        ent["duration"] = round(last - first, 6)
        ent.update(packet_stats([p for p in plist if in_window(p[0], start, end)]))
        if s.get("codec_type") == "audio":
            ent.update(timeline_drift([p for p in plist if end is None or p[0] < end]))
    else:
        ent["duration"] = ent["header_duration"]
    return ent


def color_of(frame, full_range):
    return "%02x%02x%02x" % tuple(yuv_to_rgb(frame[1], frame[2] if frame[2] is not None else 128.0,
                                             frame[3] if frame[3] is not None else 128.0, full_range))


def select_channel(samples, channel):
    """The analysed signal: one column of (n, channels) samples, or their
    mean for mono (a mono file's only channel for any choice)."""
    if samples.shape[1] == 1:
        return samples[:, 0]
    if channel == "left":
        return samples[:, 0]
    if channel == "right":
        return samples[:, 1]
    return samples.mean(axis=1)


def analyse_audio(samples, start, beep_hz, channel):
    """samples: (n, channels) from the decode timeline's first sample on,
    already cut to the window whose first sample is at file time start."""
    x = select_channel(samples, channel)
    a = {"decoded_s": round(len(x) / SR, 3), "channel": channel, "beep_hz": beep_hz}
    onsets, ranges = find_beeps(x, beep_hz)
    beeps = [t + start for t in onsets]
    a["beeps"] = [round(t, 4) for t in beeps]
    a["rms_dbfs"] = rms_dbfs(x)
    peaks, _ = dominant_freqs(x, ranges, beep_hz)
    a["dominant_freqs"] = [{"freq": f, "level_db": l} for f, l in peaks]
    if samples.shape[1] == 2:
        a["channels"] = {}
        for name, col in (("left", 0), ("right", 1)):
            c = samples[:, col]
            _, cr = find_beeps(c, beep_hz)
            cp, _ = dominant_freqs(c, cr, beep_hz)
            a["channels"][name] = {"rms_dbfs": rms_dbfs(c),
                                   "dominant_freqs": [{"freq": f, "level_db": l} for f, l in cp]}
    return a, beeps


def pair_markers(flashes, beeps):
    pairs = []
    if flashes and beeps:
        b = np.array(beeps)
        for f in flashes:
            k = int(np.argmin(np.abs(b - f)))
            if abs(b[k] - f) <= PAIR_WINDOW_S:
                pairs.append({"flash": round(f, 4), "beep": round(float(b[k]), 4),
                              "offset_ms": round(float(b[k] - f) * 1000, 2)})
    offs = np.array([p["offset_ms"] for p in pairs])
    return {
        "flashes": len(flashes), "beeps": len(beeps), "count": len(pairs), "pairs": pairs,
        "mean_ms": round(float(offs.mean()), 2) if len(offs) else None,
        "max_abs_ms": round(float(np.abs(offs).max()), 2) if len(offs) else None,
    }


def analyse(path, crop=None, beep_hz=BEEP_HZ, channel="mono", start=None, end=None,
            timeline=None, expect_fps=None, participants=None):
    """The report of one file. crop: region X,Y,W,H for the video analysis;
    beep_hz: the marker beep to look for; channel: mono, left or right;
    start/end: analyse only that window (file timestamps, s); timeline: a
    region whose colour is reported for every frame (color_timeline);
    expect_fps: measure the frame rate against it (video.frame_rate);
    participants: [(crop, beep_hz)], the sync of each (its tile's flashes
    with its beep) from the same decode (report "participants")."""
    info = probe(path)
    fmt = info.get("format", {})
    streams = info.get("streams", [])
    vstreams = [s for s in streams if s.get("codec_type") == "video"
                and not (s.get("disposition") or {}).get("attached_pic")]
    astreams = [s for s in streams if s.get("codec_type") == "audio"]
    t0 = fnum(fmt.get("start_time")) or 0.0
    pk = packets(path)

    rep = {
        "file": path,
        "size": fnum(fmt.get("size")),
        "format": fmt.get("format_name"),
        "format_long": fmt.get("format_long_name"),
        "start_time": round(t0, 6),
        "duration": fnum(fmt.get("duration")),
        "streams": [stream_entry(s, pk.get(s.get("index"), []), start, end) for s in streams],
    }
    if start is not None or end is not None:
        rep["window"] = [start, end]
    if rep["duration"] is None:
        ds = [e["duration"] for e in rep["streams"] if e.get("duration")]
        rep["duration"] = max(ds) if ds else None

    has_v, has_a = bool(vstreams), bool(astreams)
    participants = [(tuple(c), float(hz)) for c, hz in (participants or [])]
    regions = [crop] + ([timeline] if timeline else []) + [c for c, _ in participants]
    frames, samples, errors, rc = ([[] for _ in regions], np.zeros((0, 1), np.float32), [], 0)
    if has_v or has_a:
        channels = int(astreams[0].get("channels") or 1) if has_a else 1
        until = end - t0 + 1.0 if end is not None else None
        # a window far into a file: seek to it rather than decode up to it
        since = max(0.0, start - t0 - SEEK_MARGIN_S) if start is not None and start - t0 > SEEK_FROM_S else 0.0
        frames, samples, errors, rc = decode(path, has_v, has_a, regions, channels, until, since)
        sample0 = int(round(since * SR))
    rep["decode_errors"] = {"count": len(errors) + (1 if rc != 0 and not errors else 0),
                            "exit_status": rc, "lines": errors[:20]}

    flashes, beeps = [], []
    if has_v:
        vs = vstreams[0]
        full = vs.get("color_range") == "pc" or (vs.get("pix_fmt") or "").startswith("yuvj")
        region = [f for f in frames[0] if in_window(f[0] + t0, start, end)]
        rep["video"], flashes = analyse_video(region, t0, full)
        rep["video"]["stream"] = vs.get("index")
        rep["video"]["codec"] = vs.get("codec_name")
        se = next(e for e in rep["streams"] if e["index"] == vs.get("index"))
        rep["video"]["max_packet_delta_ms"] = se.get("max_packet_delta_ms")
        if crop:
            rep["video"]["crop"] = list(crop)
        if expect_fps:
            rep["video"]["frame_rate"] = frame_rate(sorted(f[0] + t0 for f in region), expect_fps)
        if timeline:
            rep["color_timeline"] = [[round(f[0] + t0, 4), color_of(f, full)]
                                     for f in sorted(frames[1]) if in_window(f[0] + t0, start, end)]
    x, x_start = None, None
    if has_a:
        first = 0 if start is None else max(0, int(round((start - t0) * SR)) - sample0)
        last = len(samples) if end is None else max(first, int(round((end - t0) * SR)) - sample0)
        x, x_start = select_channel(samples[first:last], channel), t0 + (sample0 + first) / SR
        rep["audio"], beeps = analyse_audio(samples[first:last], x_start, beep_hz, channel)
        rep["audio"].update(stream=astreams[0].get("index"), codec=astreams[0].get("codec_name"))
        se = next(e for e in rep["streams"] if e["index"] == astreams[0].get("index"))
        rep["audio"]["max_packet_delta_ms"] = se.get("max_packet_delta_ms")
        rep["audio"]["max_packet_gap_ms"] = se.get("max_packet_gap_ms")
        rep["audio"]["max_packet_gap_at"] = se.get("max_packet_delta_at")

    rep["sync"] = pair_markers(flashes, beeps)
    if participants:
        base = len(regions) - len(participants)
        full = has_v and (vstreams[0].get("color_range") == "pc"
                          or (vstreams[0].get("pix_fmt") or "").startswith("yuvj"))
        rep["participants"] = []
        for k, (pcrop, hz) in enumerate(participants):
            pflash = []
            if has_v:
                pframes = [f for f in frames[base + k] if in_window(f[0] + t0, start, end)]
                pflash = analyse_video(pframes, t0, full)[1]
            pbeeps = [t + x_start for t in find_beeps(x, hz)[0]] if x is not None else []
            rep["participants"].append({"crop": list(pcrop), "beep_hz": hz,
                                        "flashes": [round(t, 4) for t in pflash],
                                        "beeps": [round(t, 4) for t in pbeeps],
                                        "sync": pair_markers(pflash, pbeeps)})
    return rep


def color_timeline(path, crop, start=None, end=None):
    """[(t, "rrggbb")] of region crop (X, Y, W, H) for every decoded frame
    of the first video stream, t in file timestamps (only the video is
    decoded)."""
    info = probe(path)
    t0 = fnum(info.get("format", {}).get("start_time")) or 0.0
    vs = next((s for s in info.get("streams", []) if s.get("codec_type") == "video"), None)
    if vs is None:
        raise MediaError("%s has no video stream" % path)
    full = vs.get("color_range") == "pc" or (vs.get("pix_fmt") or "").startswith("yuvj")
    until = end - t0 + 1.0 if end is not None else None
    frames, _, errors, rc = decode(path, True, False, [tuple(crop)], 1, until)
    if rc != 0 and not frames[0]:
        raise MediaError("ffmpeg cannot decode %s: %s" % (path, "; ".join(errors[:3])))
    return [(round(f[0] + t0, 4), color_of(f, full)) for f in sorted(frames[0])
            if in_window(f[0] + t0, start, end)]


def first_time_color(path_or_timeline, crop=None, rgb="ffffff", tol=40, after=None, hold=1):
    """The first time (file timestamp, s) at or after `after` from which the
    region shows rgb within tol (per channel, 0-255) for `hold` consecutive
    frames; None if never. path_or_timeline: a file (crop required) or a
    timeline from color_timeline()."""
    tl = (color_timeline(path_or_timeline, crop) if isinstance(path_or_timeline, str)
          else path_or_timeline)
    run = 0
    for i, (t, c) in enumerate(tl):
        if after is not None and t < after:
            continue
        run = run + 1 if color_distance(c, rgb) <= tol else 0
        if run >= hold:
            return tl[i - hold + 1][0]
    return None


# ---------------------------------------------------------------- checks

def marker_failures(rep, args):
    """--max-sync-ms and --min-markers: on the participants when there are
    any, else on the whole picture (flashes or beeps alone for one-kind
    files)."""
    fails = []
    # With participants, the markers are theirs, not the whole picture's.
    if not rep.get("participants"):
        markers = rep["sync"]["count"]
        if "video" in rep and "audio" not in rep:
            markers = rep["sync"]["flashes"]
        elif "audio" in rep and "video" not in rep:
            markers = rep["sync"]["beeps"]
        if args.max_sync_ms is not None:
            s = rep["sync"]
            if s["count"] == 0:
                fails.append("A/V sync: no flash/beep pairs (flashes %d, beeps %d)" % (s["flashes"], s["beeps"]))
            elif s["max_abs_ms"] > args.max_sync_ms:
                fails.append("A/V sync: max |beep - flash| %.1f ms > %.1f ms (mean %.1f ms, %d pairs)"
                             % (s["max_abs_ms"], args.max_sync_ms, s["mean_ms"], s["count"]))
        if args.min_markers is not None and markers < args.min_markers:
            fails.append("markers: expected at least %d, found %d (flashes %d, beeps %d)"
                         % (args.min_markers, markers, rep["sync"]["flashes"], rep["sync"]["beeps"]))
    for k, p in enumerate(rep.get("participants") or []):
        s, who = p["sync"], "participant %d (%s, %g Hz)" % (k, ",".join(map(str, p["crop"])), p["beep_hz"])
        if args.max_sync_ms is not None and s["count"] == 0:
            fails.append("A/V sync of %s: no flash/beep pairs (flashes %d, beeps %d)"
                         % (who, s["flashes"], s["beeps"]))
        elif args.max_sync_ms is not None and s["max_abs_ms"] > args.max_sync_ms:
            fails.append("A/V sync of %s: max |beep - flash| %.1f ms > %.1f ms (mean %.1f ms, %d pairs)"
                         % (who, s["max_abs_ms"], args.max_sync_ms, s["mean_ms"], s["count"]))
        if args.min_markers is not None and s["count"] < args.min_markers:
            fails.append("markers of %s: expected at least %d pairs, found %d (flashes %d, beeps %d)"
                         % (who, args.min_markers, s["count"], s["flashes"], s["beeps"]))
    return fails


def check(rep, args):
    fails = []
    if args.expect_codecs is not None:
        want = sorted(c.strip().lower() for c in args.expect_codecs.split(",") if c.strip())
        got = sorted((s["codec"] or "").lower() for s in rep["streams"] if s["type"] in ("audio", "video"))
        if want != got:
            fails.append("codecs: expected %s, found %s" % (",".join(want), ",".join(got) or "none"))
    if args.expect_duration is not None:
        d = rep["duration"]
        if d is None or abs(d - args.expect_duration) > args.duration_tol:
            fails.append("duration: expected %.3f +- %.3f s, found %s"
                         % (args.expect_duration, args.duration_tol, "none" if d is None else "%.3f s" % d))
    if args.expect_freq:
        found = [f["freq"] for f in rep.get("audio", {}).get("dominant_freqs", [])]
        for want in (float(x) for x in args.expect_freq.split(",") if x.strip()):
            if not any(abs(f - want) <= args.freq_tol for f in found):
                fails.append("audio frequency (%s): expected %g Hz +- %g, dominant: %s"
                             % (args.channel, want, args.freq_tol, found or "none (no audio or silence)"))
    fails += marker_failures(rep, args)
    if args.expect_color:
        want = args.expect_color.lstrip("#")
        got = rep.get("video", {}).get("mean_rgb")
        if not got or color_distance(want, got) > args.color_tol:
            fails.append("video colour: expected %s +- %d, found %s"
                         % (want, args.color_tol, rep.get("video", {}).get("mean_color", "none")))
    if args.max_video_gap_ms is not None:
        g = rep.get("video", {}).get("max_frame_gap_ms")
        if g is None or g > args.max_video_gap_ms:
            fails.append("video gap: largest frame interval %s ms > %s ms (at %s s)"
                         % (g, args.max_video_gap_ms, rep.get("video", {}).get("max_frame_gap_at")))
    if args.expect_fps is not None:
        fr = rep.get("video", {}).get("frame_rate") or {}
        m = fr.get("measured_fps")
        if m is None:
            fails.append("frame rate: expected %g fps, found %d frames" % (args.expect_fps, fr.get("frames", 0)))
        elif fr["bad_intervals"] or abs(m - args.expect_fps) > 0.005 * args.expect_fps:
            fails.append("frame rate: expected constant %g fps, measured %.3f fps, %d intervals off "
                         "by more than half a frame (%d duplicates, %d gaps), largest deviation "
                         "%+.1f ms at %s s" % (args.expect_fps, m, fr["bad_intervals"], fr["duplicates"],
                                               fr["gaps"], fr["max_deviation_ms"], fr["max_deviation_at"]))
    if args.max_audio_gap_ms is not None:
        g = rep.get("audio", {}).get("max_packet_delta_ms")
        if g is None or g > args.max_audio_gap_ms:
            fails.append("audio gap: largest packet interval %s ms > %s ms (at %s s)"
                         % (g, args.max_audio_gap_ms, rep.get("audio", {}).get("max_packet_gap_at")))
    if args.max_decode_errors is not None and rep["decode_errors"]["count"] > args.max_decode_errors:
        fails.append("decode errors: %d > %d: %s" % (rep["decode_errors"]["count"], args.max_decode_errors,
                                                     "; ".join(rep["decode_errors"]["lines"][:3])))
    return fails


def summary(rep):
    L = []
    L.append("%s: %s, %s bytes, start %.3f s, duration %s s"
             % (rep["file"], rep["format"], int(rep["size"] or 0), rep["start_time"],
                "%.3f" % rep["duration"] if rep["duration"] is not None else "?"))
    for s in rep["streams"]:
        extra = ""
        if s["type"] == "video":
            extra = " %sx%s %s" % (s.get("width"), s.get("height"), s.get("pix_fmt"))
        elif s["type"] == "audio":
            extra = " %s Hz %s ch" % (int(s.get("sample_rate") or 0), s.get("channels"))
        L.append("  #%s %s %s%s: first pts %s, duration %s s, %d packets, max packet delta %s ms"
                 % (s["index"], s["type"], s["codec"], extra, s.get("first_pts"), s.get("duration"),
                    s["packets"], s.get("max_packet_delta_ms")))
    v = rep.get("video")
    if v:
        L.append("  video: %d frames, %s fps, max frame gap %s ms at %s s, mean colour #%s (YUV %s), "
                 "%d flashes"
                 % (v["frames"], v.get("fps"), v.get("max_frame_gap_ms"), v.get("max_frame_gap_at"),
                    v.get("mean_color", "?"), v.get("mean_yuv"), len(v.get("flashes", []))))
        fr = v.get("frame_rate")
        if fr and fr.get("measured_fps") is not None:
            L.append("  frame rate: %.3f fps measured (%g expected), largest interval deviation %+.2f ms "
                     "at %s s, %d intervals off by > half a frame"
                     % (fr["measured_fps"], fr["expected_fps"], fr["max_deviation_ms"],
                        fr["max_deviation_at"], fr["bad_intervals"]))
    a = rep.get("audio")

    def freqs(lst):
        return ", ".join("%g Hz (%g dB)" % (f["freq"], f["level_db"]) for f in lst) or "none"

    if a:
        L.append("  audio (%s): %.3f s decoded, %s dBFS, dominant %s, %d beeps at %g Hz, "
                 "max packet delta %s ms"
                 % (a["channel"], a["decoded_s"], a["rms_dbfs"], freqs(a["dominant_freqs"]),
                    len(a["beeps"]), a["beep_hz"], a.get("max_packet_delta_ms")))
        for name, c in sorted((a.get("channels") or {}).items()):
            L.append("    %s: %s dBFS, dominant %s" % (name, c["rms_dbfs"], freqs(c["dominant_freqs"])))
    for k, p in enumerate(rep.get("participants") or []):
        ps = p["sync"]
        L.append("  participant %d (%s, beep %g Hz): %d pairs, %s"
                 % (k, ",".join(map(str, p["crop"])), p["beep_hz"], ps["count"],
                    "offsets " + " ".join("%+.1f" % q["offset_ms"] for q in ps["pairs"]) if ps["count"]
                    else "flashes %d, beeps %d" % (ps["flashes"], ps["beeps"])))
    if "color_timeline" in rep:
        tl = rep["color_timeline"]
        changes = [e for i, e in enumerate(tl) if i == 0 or color_distance(e[1], tl[i - 1][1]) > 40]
        L.append("  colour timeline: %d frames; changes %s"
                 % (len(tl), " ".join("%.3f #%s" % (t, c) for t, c in changes[:12])))
    s = rep["sync"]
    if s["count"]:
        L.append("  sync: %d pairs, beep-flash mean %+.1f ms, max |%.1f| ms; offsets %s"
                 % (s["count"], s["mean_ms"], s["max_abs_ms"],
                    " ".join("%+.1f" % p["offset_ms"] for p in s["pairs"])))
    else:
        L.append("  sync: no pairs (flashes %d, beeps %d)" % (s["flashes"], s["beeps"]))
    d = rep["decode_errors"]
    L.append("  decode errors: %d%s" % (d["count"], (": " + d["lines"][0]) if d["lines"] else ""))
    return "\n".join(L)


def parser():
    """The command line (also for check(report, parser().parse_args([...])))."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    ap.add_argument("--expect-codecs", help="comma list of the audio/video codecs, e.g. vp8,opus")
    ap.add_argument("--expect-duration", type=float, help="container duration in s")
    ap.add_argument("--duration-tol", type=float, default=0.5)
    ap.add_argument("--expect-freq", help="tone frequencies that must be dominant, e.g. 440,660")
    ap.add_argument("--freq-tol", type=float, default=5.0)
    ap.add_argument("--max-sync-ms", type=float, help="max |beep - flash| over all pairs")
    ap.add_argument("--min-markers", type=int, help="min flash/beep pairs (flashes or beeps for one-kind files)")
    ap.add_argument("--expect-color", help="mean video colour RRGGBB (flash frames excluded)")
    ap.add_argument("--color-tol", type=int, default=40, help="per channel, 0-255")
    ap.add_argument("--max-video-gap-ms", type=float, help="largest allowed jump between frame PTS")
    ap.add_argument("--max-audio-gap-ms", type=float, help="largest allowed jump between audio packet PTS")
    ap.add_argument("--max-decode-errors", type=int)
    ap.add_argument("--crop", help="X,Y,W,H: analyse only this video region (a tile)")
    ap.add_argument("--beep-hz", type=float, default=BEEP_HZ,
                    help="marker beep frequency to look for (default %g)" % BEEP_HZ)
    ap.add_argument("--channel", choices=("mono", "left", "right"), default="mono",
                    help="audio channel analysed (mono: the channels' mean)")
    ap.add_argument("--start", type=float, help="analyse from this file timestamp (s)")
    ap.add_argument("--end", type=float, help="analyse up to this file timestamp (s)")
    ap.add_argument("--skip", type=float,
                    help="analyse from this many seconds after the file's first timestamp "
                         "(for files that do not start at 0, such as MPEG-TS; with --start, "
                         "the later of the two)")
    ap.add_argument("--color-timeline", metavar="X,Y,W,H",
                    help="report the region's colour for every frame (color_timeline)")
    ap.add_argument("--participant", action="append", metavar="X,Y,W,H:HZ",
                    help="a participant's tile and beep; its sync is reported (participants) and "
                         "checked by --max-sync-ms and --min-markers (pairs) instead of the "
                         "whole picture's; repeatable")
    ap.add_argument("--expect-fps", type=float,
                    help="constant frame rate: every frame interval 1/N s within half a frame")
    return ap


def main(argv=None):
    ap = parser()
    args = ap.parse_args(argv)

    def region(text, opt):
        try:
            r = tuple(int(v) for v in text.split(","))
        except ValueError:
            r = ()
        if len(r) != 4 or r[2] <= 0 or r[3] <= 0 or r[0] < 0 or r[1] < 0:
            ap.error("%s wants X,Y,W,H (non-negative, W and H > 0)" % opt)
        return r

    crop = region(args.crop, "--crop") if args.crop else None
    timeline = region(args.color_timeline, "--color-timeline") if args.color_timeline else None
    participants = []
    for text in args.participant or []:
        tile, _, hz = text.partition(":")
        try:
            hz = float(hz)
        except ValueError:
            ap.error("--participant wants X,Y,W,H:HZ")
        participants.append((region(tile, "--participant"), hz))
    if args.beep_hz <= 50 or args.beep_hz >= SR / 2 - 50:
        ap.error("--beep-hz wants a frequency between 50 and %d Hz" % (SR / 2 - 50))
    if args.start is not None and args.end is not None and args.end <= args.start:
        ap.error("--end must be after --start")
    if args.expect_fps is not None and args.expect_fps <= 0:
        ap.error("--expect-fps wants a positive rate")
    if not os.path.exists(args.file):
        print("check_media: %s: no such file" % args.file, file=sys.stderr)
        return 2
    try:
        if args.skip is not None:
            t0 = fnum(probe(args.file).get("format", {}).get("start_time")) or 0.0
            args.start = max(t0 + args.skip, args.start if args.start is not None else t0)
            if args.end is not None and args.end <= args.start:
                ap.error("--end must be after the start (--skip)")
        rep = analyse(args.file, crop, beep_hz=args.beep_hz, channel=args.channel, start=args.start,
                      end=args.end, timeline=timeline, expect_fps=args.expect_fps,
                      participants=participants)
    except MediaError as e:
        print("check_media: %s" % e, file=sys.stderr)
        return 2
    fails = check(rep, args)
    rep["failures"] = fails
    rep["ok"] = not fails
    if args.json:
        print(json.dumps(rep, indent=1))
    else:
        print(summary(rep))
    for f in fails:
        print("FAIL: %s" % f, file=sys.stderr)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
