"""Room composite, grid layout, with a room that changes: four synthetic
participants (VP8 and H.264, each its own colour, tone and marker beep),
then one leaves, one joins, everyone leaves for 5 s and comes back. The
MP4 is checked with FFmpeg: each participant's colour in the tile the
compositor assigned it (read from the job's scene log), every tone in the
mix, flash-to-beep per participant, constant frame rate, no gaps, no
decode errors; the leave and the join show within 1 s, the whole room's
return within 2 s, each tile then stays; the empty room keeps the output
going (background, silence)."""

import os
import signal
import time

import egwtest
from egwtest import expect

cm = egwtest.media


PEOPLE = [  # name, colour, tone, beep, codec, marker phase (ms)
    ("p0", "ff0000", 440, 2000, "vp8", 0),
    ("p1", "00ff00", 550, 2500, "h264", 400),
    ("p2", "0000ff", 660, 3000, "vp8", 800),
    ("p3", "ffff00", 880, 3500, "h264", 1200),
]
LATE = ("p4", "ff00ff", 770, 4000, "vp8", 1600)
# A leave or a join shows within 1 s, the whole room coming back at once
# within 2 s. Under the sanitizers the job is several times slower (an
# answer alone takes ~0.8 s to build, four at once share two cores with
# another test): there these are generous timeouts, not latency figures.
BOUND_S = 4.0 if egwtest.SANITIZED else 1.0
BACK_BOUND_S = 8.0 if egwtest.SANITIZED else 2.0


def start(w, spec):
    name, color, freq, beep, codec, phase = spec
    # Small pictures: five publishers and the composite share two cores,
    # and a loaded publisher delays its own video (its A/V offset as sent).
    # Markers 400 ms apart: beeps that overlap in the mix mask one another
    # in AAC, which moves their measured onsets.
    return w.start_publisher(name, color=color, freq=freq, video=codec,
                             extra=["--beep-hz", str(beep), "--width", "320", "--height", "180",
                                    "--mark-phase", str(phase), "--marks"])  # flashes' times


def check_sync(w, log, name, sync):
    """Flash-to-beep within 40 ms on at least 2 markers. When not, the
    failure tells which of the two is off: each flash's and each beep's
    time in the file against the wall-clock time the publisher printed for
    that flash (an early sound with an on-time picture was once an open
    defect, docs/architecture.md, "A/V sync through the SFU")."""
    pairs = sync.get("pairs") or []
    offs = [p["offset_ms"] for p in pairs]
    expect(len(pairs) >= 2, "%s: flash and beep pairs found (%d)" % (name, len(pairs)))
    if max(abs(o) for o in offs) <= 40:
        print("ok: %s flash-to-beep within 40 ms (%s)" % (name, offs), flush=True)
        return
    with open(os.path.join(w.dir, "logs", "pub-%s.out" % name)) as f:
        marks = [int(l.split()[1]) / 1e6 - log.time0 for l in f if l.startswith("mark ")]
    video, audio = [], []
    for p in pairs:
        m = min(marks, key=lambda t: abs(t - p["flash"]))
        video.append((p["flash"] - m) * 1000)
        audio.append((p["beep"] - m) * 1000)
    expect(False, "%s: A/V sync: flash-to-beep %s ms (picture %s, sound %s ms after its flash "
           "left the publisher)" % (name, offs, [round(v) for v in video],
                                    [round(a) for a in audio]))


def test():
    egwtest.in_world("comp", run)


def run(w):
    out = os.path.join(w.dir, "out")
    env = {"EGRESS_STORAGE_DIR": out, "EGRESS_LOG_LEVEL": "debug", "EGRESS_STOP_GRACE_S": 20}
    w.start_janus()
    pubs = {p[0]: start(w, p) for p in PEOPLE}
    for p in pubs.values():
        p.wait_for("webrtcup", 30)

    job = {"type": "start", "egress_id": "EG_grid",
           "room": {"sfu": "janus", "url": w.janus_url, "room_id": 1234},
           "source": {"kind": "room_composite", "layout": "grid"},
           "encoding": {"width": 640, "height": 360, "fps": 30, "video_bitrate_kbps": 1200},
           "outputs": [{"kind": "file", "format": "mp4", "path": "grid.mp4"}]}
    r = egwtest.Run(w, "grid", job, env)
    r.wait("active", 60)
    time.sleep(10)

    t_leave = time.time()
    pubs["p3"].send("leave")
    time.sleep(4)

    pubs["p4"] = start(w, LATE)
    pubs["p4"].wait_for("webrtcup", 30)
    t_join = time.time()
    time.sleep(5)

    present = ["p0", "p1", "p2", "p4"]
    t_empty = time.time()
    for n in present:
        pubs[n].send("leave")
    time.sleep(5)
    for n in present:
        pubs[n].send("join")
    for n in present:
        pubs[n].wait_for("webrtcup", 30)
    t_back = time.time()
    time.sleep(BACK_BOUND_S + 4)

    r.proc.send_signal(signal.SIGINT)
    done = r.wait("complete", 40)
    expect(r.exit() == 0, "egress run exits 0")
    path = done["outputs"][0]["location"]
    log = egwtest.JobLog(w, "grid")
    F = log.media_time

    # The whole file: constant rate, no gaps, nothing broken.
    rep = egwtest.check_media(path, "--expect-codecs", "h264,aac", "--expect-fps", 30,
                              "--max-video-gap-ms", 40, "--max-audio-gap-ms", 30,
                              "--max-decode-errors", 0)
    span = t_back + BACK_BOUND_S + 4 - log.time0
    expect(rep["duration"] >= span - 1.0, "the output runs from the first participant to the "
           "stop (%.1f s, the room's changes %.1f s)" % (rep["duration"], span))

    # Four participants: colours in their tiles, tones in the mix, sync.
    a0, a1 = 1.5, F(t_leave) - 0.5
    tiles = log.tiles_at(t_leave - 1)
    expect(sorted(tiles) == ["p0", "p1", "p2", "p3"], "four tiles: %s" % sorted(tiles))
    for name, color, freq, beep, _, _ in PEOPLE:
        # Each tile from its first frame on (an H.264 participant's first
        # keyframe takes longer, more so on a loaded machine), which must
        # come within BACK_BOUND_S of the output's start.
        # Under the sanitizers a first H.264 picture once took 20 s after
        # its track arrived (its keyframe late, the machine loaded): there
        # it must come, in time or not (a real-time bound, reported).
        seen = cm.first_time_color(path, parse_crop(tiles[name]), color, 50, after=0, hold=3)
        expect(seen is not None and (egwtest.SANITIZED or seen <= BACK_BOUND_S),
               "%s's first frame at %s s (at most %g s%s)"
               % (name, "never" if seen is None else "%.2f" % seen, BACK_BOUND_S,
                  "; reported under the sanitizers" if egwtest.SANITIZED else ""))
        if seen + 0.2 > a1 - 2.0:
            print("metric: %s shown too late for its A/V window" % name, flush=True)
            continue
        # A/V precision is checked in the release stage; under the
        # sanitizers (several times slower, frames late) it is reported.
        rep = egwtest.check_media(path, "--crop", tiles[name], "--start", max(a0, seen + 0.2),
                                  "--end", a1, "--expect-color", color, "--beep-hz", beep)
        print("metric: %s flash-to-beep %s" % (name, rep.get("sync")), flush=True)
        if not egwtest.SANITIZED:
            check_sync(w, log, name, rep.get("sync") or {})
    egwtest.check_media(path, "--start", a0, "--end", a1, "--expect-freq", "440,550,660,880")

    # A leave: its tile goes and the grid re-flows within 1 s.
    after = log.tiles_at(t_join - 0.5)
    expect(sorted(after) == ["p0", "p1", "p2"], "three tiles after p3 left: %s" % sorted(after))
    moved = [n for n in after if after[n] != tiles[n]] or ["p0"]
    seen = cm.first_time_color(path, parse_crop(after[moved[0]]), dict_color(moved[0]), 50,
                               after=F(t_leave) - 0.5, hold=3)
    expect(seen is not None and seen - F(t_leave) <= BOUND_S,
           "re-flow after a leave shows %.2f s after it (at most %g s)"
           % (seen - F(t_leave), BOUND_S))

    # A join: its tile appears within 1 s of it publishing.
    joined = log.tiles_at(t_empty - 0.5)
    expect("p4" in joined and len(joined) == 4, "four tiles after p4 joined: %s" % sorted(joined))
    seen = cm.first_time_color(path, parse_crop(joined["p4"]), LATE[1], 50,
                               after=F(t_join) - 3, hold=3)
    expect(seen is not None and seen - F(t_join) <= BOUND_S,
           "a joining participant shows %.2f s after publishing (at most %g s)"
           % (seen - F(t_join), BOUND_S))

    # Everyone gone for 5 s: background, and the output goes on.
    egwtest.check_media(path, "--start", F(t_empty) + 1.5, "--end", F(t_back) - 1.5,
                        "--expect-color", "000000", "--color-tol", 20)
    # Everyone back at once: each tile shows within the bound, then stays.
    end = F(t_back) + BACK_BOUND_S + 3
    back = log.tiles_at(t_back + BACK_BOUND_S + 1)
    expect(sorted(back) == ["p0", "p1", "p2", "p4"], "everyone back: %s" % sorted(back))
    for name in sorted(back):
        seen = cm.first_time_color(path, parse_crop(back[name]), dict_color(name), 50,
                                   after=F(t_back) - 1, hold=3)
        expect(seen is not None and seen - F(t_back) <= BACK_BOUND_S,
               "%s shows %s s after everyone published again (at most %g s)"
               % (name, "never" if seen is None else "%.2f" % (seen - F(t_back)), BACK_BOUND_S))
        egwtest.check_media(path, "--crop", back[name], "--start", seen + 0.2,
                            "--end", end, "--expect-color", dict_color(name))


def dict_color(name):
    return {p[0]: p[1] for p in PEOPLE + [LATE]}[name]


def parse_crop(text):
    return tuple(int(v) for v in text.split(","))


if __name__ == "__main__":
    egwtest.main(test)
