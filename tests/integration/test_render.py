"""Render (source.kind render, `egress render`): three participants'
tracks, recorded as files (VP8 + Opus in Matroska, made with FFmpeg, each
its own colour, tone, marker beep and marker phase), joining at different
times, one leaving and coming back (a real gap in its file), described by
a manifest; composited as fast as the machine goes. Checked with FFmpeg:
each participant's tile present exactly while it published (within one
frame of the manifest's times), every tone in the mix while its
participant was there and not after it left, flash-to-beep per tile
within 40 ms, the output as long as the recording; the speaker layout
follows the loudest participant; two renders of the same input give the
same tiles and the same pictures; trim; HLS; a file cut short (the
recorder killed) or damaged inside is rendered as far as it goes; bad manifests and files
fail with errors naming what is wrong. No SFU: the binary runs directly."""

import json
import os
import re
import shutil
import subprocess
import tempfile

import egwtest
from egwtest import expect

cm = egwtest.media
EGRESS = egwtest.EGRESS
FRAME_S = 1 / 30.0

# name, colour, tone, tone amplitude, beep, marker phase (s),
# published [(start, end)] on the timeline (s)
PEOPLE = [
    ("p0", "ff0000", 440, 0.1, 2000, 0.0, [(0.0, 12.0)]),
    ("p1", "00ff00", 550, 0.4, 2500, 0.4, [(3.0, 12.0)]),
    ("p2", "0000ff", 660, 0.1, 3000, 0.8, [(1.0, 5.0), (8.0, 12.0)]),
]
DURATION = 12.0
# Small: the render runs flat out on both cores beside other tests.
W, H = 640, 360    # the render's canvas (--size)
PW, PH = 320, 180  # each participant's picture
TIMEOUT = 600 if egwtest.SANITIZED else 120


def make_file(d, name, color, freq, amp, beep, phase, published):
    """The participant's recording: from its first publication to its
    last, a gap (no media) where it was away, file time 0 at the first."""
    t0, t1 = published[0][0], published[-1][1]
    length = t1 - t0
    flash = "lt(mod(t+2-%g+0.001\\,2)\\,0.03)" % phase
    tone = ("if(lt(mod(t+2-%g\\,2)\\,0.1)\\,0.8*sin(2*PI*%d*t)\\,%g*sin(2*PI*%d*t))"
            % (phase, beep, amp, freq))
    vf = "drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='%s'" % flash
    af = "anull"
    if len(published) > 1:
        a, b = published[0][1] - t0, published[1][0] - t0
        vf += ",select='not(between(t\\,%g\\,%g-0.001))'" % (a, b)
        af = "aselect='not(between(t\\,%g\\,%g-0.001))'" % (a, b)
    path = os.path.join(d, name + ".mkv")
    subprocess.run(["nice", "-n", "10", "ffmpeg", "-v", "error", "-y",
                    "-f", "lavfi", "-i", "color=c=0x%s:s=%dx%d:r=30:d=%g" % (color, PW, PH, length),
                    "-f", "lavfi", "-i", "aevalsrc='%s':s=48000:d=%g" % (tone, length),
                    "-vf", vf, "-af", af, "-fps_mode", "passthrough",
                    "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "800k",
                    "-g", "60", "-c:a", "libopus", "-b:a", "64k", path],
                   check=True, timeout=120)
    return path


def manifest_of(files):
    people = []
    for i, (name, color, freq, amp, beep, phase, published) in enumerate(PEOPLE):
        pub = [{"start_s": a, "end_s": b} for a, b in published]
        tracks = [{"track_id": "%d/%s" % (100 + i, mid), "media": media, "codec": codec,
                   "screen": False, "published": pub, "muted": [], "outputs": [],
                   "file": os.path.basename(files[name]), "offset_s": published[0][0]}
                  for mid, media, codec in (("video0", "video", "vp8"),
                                            ("audio1", "audio", "opus"))]
        people.append({"participant": name, "present": pub, "tracks": tracks})
    return {"manifest_version": 1, "egress_id": "EG_rec", "room": {"sfu": "janus",
            "room_id": "1234"}, "status": "complete", "duration_s": DURATION,
            "composite": False, "participants": people, "outputs": []}


def render(manifest, *args, env=None):
    """(exit status, final status event, stderr) of `egress render`."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("EGRESS_")}
    e["EGRESS_LOG_LEVEL"] = "debug"
    e.update(env or {})
    p = subprocess.run([EGRESS, "render", manifest, "--size", "%dx%d" % (W, H)] +
                       [str(a) for a in args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=TIMEOUT, env=e)
    events = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    for mark in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
        if mark in p.stderr:
            raise egwtest.Failure("sanitizer report from egress render:\n" + p.stderr[-4000:])
    return p.returncode, events[-1] if events else {}, p.stderr, events


SCHEDULE = re.compile(r"schedule: (video|audio|placeholder) (\S+) \((\S+)\) at ([0-9.]+) s: "
                      r"(hidden|(\d+),(\d+) (\d+)x(\d+))")


def schedule(stderr):
    """{(kind, participant): [(t, None | (x, y, w, h))]} from the debug log."""
    out = {}
    for m in SCHEDULE.finditer(stderr):
        rect = None if m.group(5) == "hidden" else tuple(int(m.group(i)) for i in range(6, 10))
        out.setdefault((m.group(1), m.group(3)), []).append((float(m.group(4)), rect))
    return out


def at(lane, t):
    cur = None
    for when, rect in lane:
        if when <= t + 1e-9:
            cur = rect
    return cur


def crop(rect):
    """Where the picture is in its cell: at its own size, centred, when it
    nearly fits (a pixel or two cut off), else scaled into it, aspect
    kept; less a margin."""
    x, y, w, h = rect
    if abs(w - PW) <= PW * 0.02 + 2 and abs(h - PH) <= PH * 0.02 + 2:
        pw, ph = min(PW, w), min(PH, h)
    else:
        pw, ph = (w, w * 9 // 16) if w * 9 <= h * 16 else (h * 16 // 9, h)
    px, py = x + (w - pw) // 2, y + (h - ph) // 2
    return "%d,%d,%d,%d" % (px + pw // 20, py + ph // 20, pw - pw // 10, ph - ph // 5)


def crop_tuple(rect):
    return tuple(int(v) for v in crop(rect).split(","))


def dominant(path, start, end):
    rep = egwtest.check_media(path, "--start", start, "--end", end)
    return [round(f["freq"]) for f in (rep.get("audio") or {}).get("dominant_freqs") or []]


def test():
    d = tempfile.mkdtemp(prefix="egw-render-")
    try:
        run(d)
    finally:
        if not os.environ.get("EGW_KEEP_WORLD"):
            shutil.rmtree(d, ignore_errors=True)
        else:
            print("kept " + d)


def run(d):
    files = {p[0]: make_file(d, *p) for p in PEOPLE}
    manifest = os.path.join(d, "EG_rec.manifest.json")
    with open(manifest, "w") as f:
        json.dump(manifest_of(files), f)

    # ---- grid ----
    grid = os.path.join(d, "grid.mp4")
    rc, final, err, events = render(manifest, "--output", grid)
    expect(rc == 0 and final.get("status") == "complete" and final.get("reason") == "rendered",
           "grid render complete (exit %s, %s)" % (rc, final.get("error") or final.get("status")))
    expect(egwtest.detail_events(events, "progress"),
           "progress events on the way")
    sched = schedule(err)
    rep = egwtest.check_media(grid, "--expect-codecs", "h264,aac", "--expect-duration", DURATION,
                              "--duration-tol", 0.1, "--expect-fps", 30,
                              "--max-decode-errors", 0)
    print("metric: render duration %.3f s" % rep["duration"], flush=True)
    v = {name: sched.get(("video", name)) for name, *_ in PEOPLE}
    expect(all(v.values()), "a schedule for every participant's video: %s" % sorted(sched))
    # present exactly while publishing (the schedule) ...
    for name, *_rest, published in PEOPLE:
        for a, b in published:
            expect(at(v[name], a - 0.001) is None and at(v[name], a) is not None,
                   "%s's tile from %.1f s" % (name, a))
            if b < DURATION:
                expect(at(v[name], b - 0.001) is not None and at(v[name], b) is None,
                       "%s's tile gone at %.1f s" % (name, b))
    # ... and in the pictures, within a frame of those times
    for name, color, _, _, _, _, published in PEOPLE:
        for a, _b in published:
            if a == 0:
                continue
            seen = cm.first_time_color(grid, crop_tuple(at(v[name], a)), color, 50,
                                       after=a - 1.0, hold=2)
            expect(seen is not None and abs(seen - a) <= FRAME_S + 0.005,
                   "%s shows at %s s (published at %.1f s)"
                   % (name, "never" if seen is None else "%.3f" % seen, a))
    # p2 away from 5 s to 8 s: the others re-flowed, its colour nowhere
    for name in ("p0", "p1"):
        color = {p[0]: p[1] for p in PEOPLE}[name]
        egwtest.check_media(grid, "--crop", crop(at(v[name], 6.0)), "--start", 5.1, "--end",
                            7.9, "--expect-color", color)
    # tones: everyone's while there, p2's not while away
    tones = dominant(grid, 3.5, 4.9)
    expect(all(any(abs(t - f) <= 5 for t in tones) for f in (440, 550, 660)),
           "440, 550 and 660 Hz in the mix at 3.5-4.9 s: %s" % tones)
    tones = dominant(grid, 5.3, 7.7)
    expect(not any(abs(t - 660) <= 5 for t in tones) and
           all(any(abs(t - f) <= 5 for t in tones) for f in (440, 550)),
           "p2's 660 Hz gone while it was away, 440 and 550 there: %s" % tones)
    # flash-to-beep per tile, everyone there (8-12 s)
    for name, color, _, _, beep, _, _ in PEOPLE:
        rep = egwtest.check_media(grid, "--crop", crop(at(v[name], 10.0)), "--start", 7.95,
                                  "--end", 12.0, "--expect-color", color, "--beep-hz", beep,
                                  "--max-sync-ms", 40, "--min-markers", 2)
        print("metric: render %s flash-to-beep %s" % (name, rep.get("sync")), flush=True)

    # ---- the same again: the same tiles, the same pictures ----
    again = os.path.join(d, "grid2.mp4")
    rc, final, err2, _ = render(manifest, "--output", again)
    expect(rc == 0 and schedule(err2) == sched, "a second render has the same schedule")
    # The same tiles in the same frames; the encoder (x264 on several
    # threads) may round a block differently: the pictures are compared,
    # not the bytes (the worst frame of any run so far: 52 dB).
    p = subprocess.run(["ffmpeg", "-v", "info", "-i", grid, "-i", again, "-lavfi", "psnr",
                        "-f", "null", "-"], stderr=subprocess.PIPE, text=True, check=True)
    m = re.search(r"PSNR .* min:([0-9.]+|inf)", p.stderr)
    worst = float("inf") if m and m.group(1) == "inf" else float(m.group(1)) if m else 0.0
    print("metric: render repeat worst frame PSNR %s dB" % worst, flush=True)
    expect(worst >= 40.0, "a second render gives the same pictures (worst frame %.1f dB)" % worst)

    # ---- speaker: the stage follows the loudest (p1, from 3 s) ----
    spk = os.path.join(d, "speaker.mp4")
    rc, final, err, _ = render(manifest, "--output", spk, "--layout", "speaker")
    sv = schedule(err)
    big = lambda name, t: (at(sv[("video", name)], t) or (0, 0, 0, 0))[2]  # noqa: E731
    expect(rc == 0 and big("p0", 2.9) > big("p2", 2.9), "p0 on the stage before p1 joins")
    switch = next((t for t, r in sv[("video", "p1")] if r and r[2] >= W * 3 // 4), None)
    expect(switch is not None and 3.0 + 1.0 <= switch <= 3.0 + 2.5,
           "p1, the loudest, takes the stage %s s after joining (sustain 1.5 s)"
           % (None if switch is None else "%.1f" % (switch - 3.0)))
    egwtest.check_media(spk, "--crop", crop(at(sv[("video", "p1")], 6.0)), "--start", 6.0,
                        "--end", 7.5, "--expect-color", "00ff00")

    # ---- trim ----
    trim = os.path.join(d, "trim.mkv")
    rc, final, err, _ = render(manifest, "--output", trim, "--from", 2, "--to", 6)
    tv = schedule(err)
    expect(rc == 0, "trimmed render complete")
    egwtest.check_media(trim, "--expect-duration", 4.0, "--duration-tol", 0.1)
    seen = cm.first_time_color(trim, crop_tuple(at(tv[("video", "p1")], 1.0)), "00ff00", 50,
                               after=0.0, hold=2)
    expect(seen is not None and abs(seen - 1.0) <= FRAME_S + 0.005,
           "trimmed from 2 s: p1 shows at %s s (1.0)" % seen)

    # ---- HLS ----
    hls = os.path.join(d, "hls", "grid.m3u8")
    os.makedirs(os.path.dirname(hls))
    rc, final, err, _ = render(manifest, "--output", hls)
    segs = [f for f in os.listdir(os.path.dirname(hls)) if f.endswith(".ts")]
    expect(rc == 0 and os.path.exists(hls) and len(segs) >= 2,
           "HLS render: a playlist and %d segments" % len(segs))
    egwtest.check_media(hls, "--expect-duration", DURATION, "--duration-tol", 0.5)

    # ---- a file cut short: rendered as far as it goes ----
    cut = os.path.join(d, "cut")
    os.makedirs(cut)
    for name, path in files.items():
        shutil.copy(path, cut)
    shutil.copy(manifest, cut)
    with open(os.path.join(cut, "p0.mkv"), "r+b") as f:
        f.truncate(os.path.getsize(files["p0"]) * 6 // 10)
    out = os.path.join(d, "cut.mp4")
    rc, final, err, _ = render(os.path.join(cut, "EG_rec.manifest.json"), "--output", out)
    expect(rc == 0 and final.get("status") == "complete",
           "a file cut short renders (%s)" % (final.get("error") or final.get("status")))
    egwtest.check_media(out, "--expect-duration", DURATION, "--duration-tol", 0.1)

    # ---- a file damaged inside: rendered (as far as it can be read) ----
    dmg = os.path.join(d, "damaged")
    os.makedirs(dmg)
    for name, path in files.items():
        shutil.copy(path, dmg)
    shutil.copy(manifest, dmg)
    size = os.path.getsize(files["p1"])
    with open(os.path.join(dmg, "p1.mkv"), "r+b") as f:
        f.seek(size // 2)
        f.write(os.urandom(size // 10))
    out = os.path.join(d, "damaged.mp4")
    rc, final, err, _ = render(os.path.join(dmg, "EG_rec.manifest.json"), "--output", out)
    expect(rc == 0 and final.get("status") == "complete",
           "a file damaged inside renders (%s)" % (final.get("error") or final.get("status")))
    egwtest.check_media(out, "--expect-duration", DURATION, "--duration-tol", 0.1,
                        "--expect-fps", 30)

    # ---- bad input ----
    def bad(doc, what, code, words, name="bad"):
        path = os.path.join(d, name + ".manifest.json")
        with open(path, "w") as f:
            f.write(doc if isinstance(doc, str) else json.dumps(doc))
        rc, final, err, _ = render(path, "--output", os.path.join(d, name + ".mp4"))
        error = final.get("error") or {}
        expect(rc != 0 and final.get("status") == "failed" and error.get("code") == code and
               all(w in error.get("message", "") for w in words),
               "%s: failed %s naming %s (%s)" % (what, code, words, error))
        expect(not os.path.exists(os.path.join(d, name + ".mp4")), "%s: no output left" % what)

    doc = manifest_of(files)
    doc["participants"][1]["tracks"][0]["file"] = "gone.mkv"
    bad(doc, "a missing file", "not_found", ["101/video0", "gone.mkv", "missing"])
    with open(os.path.join(d, "junk.mkv"), "wb") as f:
        f.write(os.urandom(50000))
    doc = manifest_of(files)
    doc["participants"][2]["tracks"][1]["file"] = "junk.mkv"
    bad(doc, "a corrupt file", "invalid_request", ["102/audio1", "junk.mkv"])
    doc = manifest_of(files)
    doc["participants"][0]["tracks"][0]["published"] = "always"
    bad(doc, "wrong types", "invalid_request", ["participants[0].tracks[0]", "published"])
    doc = manifest_of(files)
    doc["manifest_version"] = 2
    bad(doc, "a newer schema", "invalid_request", ["manifest_version", "2"])
    bad("{\"manifest_version\": 1, ", "not JSON", "invalid_request", ["not a manifest"])
    doc = manifest_of(files)
    doc["composite"] = True
    bad(doc, "a composite's manifest", "invalid_request", ["composite"])


if __name__ == "__main__":
    egwtest.main(test)
