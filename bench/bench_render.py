#!/usr/bin/python3
"""Render speed: N recorded tracks of 640x360 (VP8 + Opus in Matroska,
made with FFmpeg, each its own colour and tone) composited into a grid,
H.264 + AAC MP4, by `egress render` and, in the same run, by FFmpeg from
the same files (`xstack` + `amix`, the same x264 preset, bitrate and
keyframe interval, flat out). For each: wall time, x real time, and the
CPU-seconds of the process (user + system). Cases: 4 tracks into 720p30,
9 tracks into 1080p30. Writes BENCHMARKS.md (between its bench_render
markers) and prints the figures.

    bench/bench_render.py [--seconds 60] [--rounds 3]

Needs the build (EGW_BUILD_DIR, default build/) and ffmpeg."""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import benchmd  # noqa: E402

BUILD = os.path.abspath(os.environ.get("EGW_BUILD_DIR") or os.path.join(ROOT, "build"))
EGRESS = os.path.join(BUILD, "egress")
COLORS = ["ff0000", "00ff00", "0000ff", "ffff00", "ff00ff", "00ffff", "ff8000", "8000ff",
          "808080"]
PRESETS = {(1280, 720): "H264_720P_30", (1920, 1080): "H264_1080P_30"}
# The presets' figures (contract/request_start.c, pipelines/encode.c):
# veryfast, 2 s keyframes; 720p 3000 kb/s, 1080p 4500 kb/s; AAC 128 kb/s.
KBPS = {(1280, 720): 3000, (1920, 1080): 4500}


def make(d, i, seconds):
    path = os.path.join(d, "t%d.mkv" % i)
    subprocess.run(["ffmpeg", "-v", "error", "-y",
                    "-f", "lavfi", "-i", "testsrc2=s=640x360:r=30:d=%d" % seconds,
                    "-f", "lavfi", "-i", "sine=f=%d:sample_rate=48000:d=%d" % (300 + 70 * i, seconds),
                    "-vf", "drawbox=x=0:y=0:w=120:h=120:color=0x%s:t=fill" % COLORS[i],
                    "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "800k",
                    "-g", "60", "-c:a", "libopus", "-b:a", "48k", path], check=True)
    return path


def manifest(d, files, seconds):
    people = []
    for i, f in enumerate(files):
        pub = [{"start_s": 0.0, "end_s": float(seconds)}]
        people.append({"participant": "p%d" % i, "present": pub, "tracks": [
            {"track_id": "%d/%s" % (100 + i, mid), "media": media, "codec": codec,
             "screen": False, "published": pub, "muted": [], "outputs": [],
             "file": os.path.basename(f), "offset_s": 0.0}
            for mid, media, codec in (("v", "video", "vp8"), ("a", "audio", "opus"))]})
    path = os.path.join(d, "bench.manifest.json")
    with open(path, "w") as f:
        json.dump({"manifest_version": 1, "egress_id": "EG_bench", "room": {"sfu": "janus",
                   "room_id": "1"}, "status": "complete", "duration_s": float(seconds),
                   "composite": False, "participants": people, "outputs": []}, f)
    return path


def timed(argv):
    """(wall s, CPU s of the child) of argv run to the end."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def ffmpeg_argv(files, out, size, cols):
    w, h = size
    rows = (len(files) + cols - 1) // cols
    cw = (w - 4 * (cols - 1)) // cols // 2 * 2
    ch = min(cw * 9 // 16, (h - 4 * (rows - 1)) // rows) // 2 * 2
    argv = ["ffmpeg", "-v", "error", "-y"]
    for f in files:
        argv += ["-i", f]
    scale = ";".join("[%d:v]scale=%d:%d[v%d]" % (i, cw, ch, i) for i in range(len(files)))
    layout = "|".join("%d_%d" % ((i % cols) * (cw + 4), (i // cols) * (ch + 4))
                      for i in range(len(files)))
    graph = ("%s;%s xstack=inputs=%d:layout=%s:fill=black,pad=%d:%d:(ow-iw)/2:(oh-ih)/2[v];"
             "%s amix=inputs=%d[a]"
             % (scale, "".join("[v%d]" % i for i in range(len(files))), len(files), layout,
                w, h, "".join("[%d:a]" % i for i in range(len(files))), len(files)))
    assert rows * (ch + 4) - 4 <= h
    return argv + ["-filter_complex", graph, "-map", "[v]", "-map", "[a]",
                   "-c:v", "libx264", "-preset", "veryfast", "-b:v", "%dk" % KBPS[size],
                   "-g", "60", "-bf", "0", "-r", "30", "-c:a", "aac", "-b:a", "128k", out]


def case(d, n, size, seconds, rounds):
    files = [make(d, i, seconds) for i in range(n)]
    m = manifest(d, files, seconds)
    cols = 2 if n <= 4 else 3
    res = {"egress": [], "ffmpeg": []}
    for r in range(rounds):
        for tool in ("egress", "ffmpeg"):
            out = os.path.join(d, "%s_%d_%d.mp4" % (tool, n, r))
            argv = ([EGRESS, "render", m, "--output", out, "--preset", PRESETS[size]]
                    if tool == "egress" else ffmpeg_argv(files, out, size, cols))
            res[tool].append(timed(argv))
    out = {}
    for tool, runs in res.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        out[tool] = {"wall_s": wall, "speed": seconds / wall, "cpu_s": cpu}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="egw-bench-render-")
    try:
        rows = []
        for n, size in ((4, (1280, 720)), (9, (1920, 1080))):
            r = case(d, n, size, a.seconds, a.rounds)
            rows.append((n, size, r))
            print(n, size, json.dumps(r), flush=True)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    md = ["<!-- bench_render begin -->",
          "## Render (bench/bench_render.py)", "",
          "%d s of N tracks of 640x360 (VP8 + Opus, Matroska) composited into a grid, H.264 "
          "(veryfast, 2 s keyframes, the preset's bitrate) + AAC in MP4, flat out, on this "
          "2-core machine; `egress render` against FFmpeg (`scale` + `xstack` + `amix`, "
          "libx264 with the same preset, bitrate and keyframe interval) from the same files "
          "in the same run; medians of %d rounds. CPU-seconds: the process's user + system "
          "time." % (a.seconds, a.rounds), "",
          "| case | egress render | FFmpeg | speed ratio | CPU ratio |",
          "|---|---|---|---|---|"]
    for n, (w, h), r in rows:
        e, f = r["egress"], r["ffmpeg"]
        md.append("| %d tracks -> %dx%d@30 | %.1fx real time, %.1f CPU-s | %.1fx, %.1f CPU-s | "
                  "%.2f | %.2f |" % (n, w, h, e["speed"], e["cpu_s"], f["speed"], f["cpu_s"],
                                     e["speed"] / f["speed"], e["cpu_s"] / f["cpu_s"]))
    md += ["", "Speed ratio above 1: the render is faster; CPU ratio below 1: it uses less.",
           "<!-- bench_render end -->"]
    benchmd.write_block(md)


if __name__ == "__main__":
    main()
