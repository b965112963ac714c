"""room_tracks: every track of a room recorded as it arrives, each in its
own file, with one manifest; then rendered. Three synthetic participants
(VP8 and H.264, each its own colour, tone and marker beep) join at
different times, one leaves the room and comes back (Janus gives it a new
publisher id: new tracks, new files). Checked: a file per track (its codec
as published, readable by FFmpeg), the manifest's files and offsets;
nothing left when nobody published; then `egress render` of the
manifest: the output as long as the recording, each participant's tile
from its first media (the manifest's offset) within one frame in the
schedule and in the pictures, flash-to-beep per tile within 40 ms, every
tone in the mix."""

import json
import os
import re
import signal
import subprocess
import time

import egwtest
from egwtest import expect

cm = egwtest.media
FRAME_S = 1 / 30.0

PEOPLE = [  # name, colour, tone, beep, codec, marker phase (ms)
    ("p0", "ff0000", 440, 2000, "vp8", 0),
    ("p1", "00ff00", 550, 2500, "h264", 400),
    ("p2", "0000ff", 660, 3000, "vp8", 800),
]
COLOR = {p[0]: p[1] for p in PEOPLE}
BEEP = {p[0]: p[3] for p in PEOPLE}
CODEC = {p[0]: p[4] for p in PEOPLE}


def start(w, spec):
    name, color, freq, beep, codec, phase = spec
    return w.start_publisher(name, color=color, freq=freq, video=codec,
                             extra=["--beep-hz", str(beep), "--width", "320", "--height", "180",
                                    "--mark-phase", str(phase)])


def test():
    egwtest.in_world("rtracks", run)


def run(w):
    out = os.path.join(w.dir, "out")
    env = {"EGRESS_STORAGE_DIR": out, "EGRESS_STOP_GRACE_S": 20}
    w.start_janus()

    # Nobody publishes: nothing is left behind.
    job = {"type": "start", "egress_id": "EG_none",
           "room": {"sfu": "janus", "url": w.janus_url, "room_id": 1234},
           "source": {"kind": "room_tracks"},
           "limits": {"empty_room_timeout_s": 3},
           "outputs": [{"kind": "file", "format": "mkv", "path": "{egress_id}/{track}.mkv"}]}
    r = egwtest.Run(w, "none", job, env)
    done = r.wait("failed", 30)
    expect(done["error"]["code"] == "not_found" and not os.path.exists(os.path.join(out, "EG_none")),
           "an empty room: failed not_found, no files (%s)" % done["error"]["message"])

    # The recording goes to object storage (spooled, uploaded at the end).
    s3 = w.start_s3()
    s3.make_bucket("rec")
    storage = {"kind": "s3", "bucket": "rec", "endpoint": s3.endpoint, "path_style": True,
               "access_key": s3.access_key, "secret_key": s3.secret_key, "prefix": "room/"}
    spool = os.path.join(w.dir, "spool")
    env_s3 = dict(env, EGRESS_SPOOL_DIR=spool)

    pubs = {"p0": start(w, PEOPLE[0])}
    pubs["p0"].wait_for("webrtcup", 30)
    job = dict(job, egress_id="EG_tracks", limits={"empty_room_timeout_s": 30}, storage=storage,
               outputs=[{"kind": "file", "format": "mkv",
                         "path": "{egress_id}/{participant}-{media}-{track}.mkv"}])
    r = egwtest.Run(w, "tracks", job, env_s3)
    r.wait("active", 60)
    time.sleep(3)
    pubs["p1"] = start(w, PEOPLE[1])
    pubs["p1"].wait_for("webrtcup", 30)
    time.sleep(3)
    pubs["p2"] = start(w, PEOPLE[2])
    pubs["p2"].wait_for("webrtcup", 30)
    time.sleep(5)
    pubs["p2"].send("leave")
    time.sleep(3)
    pubs["p2"].send("join")
    pubs["p2"].wait_for("webrtcup", 30)
    time.sleep(7)
    r.proc.send_signal(signal.SIGINT)
    done = r.wait("complete", 40)
    expect(r.exit() == 0, "egress run exits 0")

    files = [o for o in done["outputs"] if o["kind"] == "file"]
    manifest_out = [o for o in done["outputs"] if o["kind"] == "manifest"]
    expect(len(files) == 8 and len(manifest_out) == 1,
           "a file per track (8: p2 twice) and a manifest: %s" % [o["location"] for o in files])
    expect(all(o["location"].startswith("s3://rec/room/EG_tracks/") for o in files) and
           manifest_out[0]["location"] == "s3://rec/room/EG_tracks.manifest.json" and
           not os.listdir(spool), "every file and the manifest stored, the spool empty: %s, %s"
           % (manifest_out[0]["location"], os.listdir(spool)))
    # The recording as the bucket holds it, here: the manifest's relative
    # `file`s must still lead to the files.
    for o in s3.list("rec", "room/"):
        dest = os.path.join(out, o["key"][len("room/"):])
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        s3.get("rec", o["key"], dest)
    manifest_path = os.path.join(out, "EG_tracks.manifest.json")
    with open(manifest_path) as f:
        m = json.load(f)
    tracks, all_tracks = {}, []
    for p in m["participants"]:
        for t in sorted(p["tracks"], key=lambda t: t["published"][0]["start_s"]):
            tracks.setdefault((p["participant"], t["media"]), t)  # the first of each
            all_tracks.append((p["participant"], t["media"], t))
    expect(sorted(tracks) == sorted((n, k) for n in COLOR for k in ("audio", "video")) and
           len(all_tracks) == 8, "the manifest lists every track: %s" % sorted(tracks))
    for name, media, t in all_tracks:
        path = os.path.join(out, t["file"])
        expect(os.path.exists(path) and t["offset_s"] >= 0 and
               t["offset_s"] <= t["published"][0]["start_s"] + 3.0,
               "%s %s: file %s at %.3f s (published at %.3f s)"
               % (name, media, t["file"], t["offset_s"], t["published"][0]["start_s"]))
        codec = CODEC[name] if media == "video" else "opus"
        egwtest.check_media(path, "--expect-codecs", codec, "--max-decode-errors", 0)
        expect(len(t["outputs"]) == 1 and
               files[int(t["outputs"][0][8:-1])]["location"].endswith(t["file"]),
               "%s %s: its output entry is its own file" % (name, media))
    p2v = [t for n, k, t in all_tracks if n == "p2" and k == "video"]
    expect(len(p2v) == 2 and p2v[1]["offset_s"] > p2v[0]["published"][0]["end_s"],
           "p2 left and came back: its second video file begins after the first ended")
    expect(tracks[("p1", "video")]["offset_s"] > 2.0 and tracks[("p2", "video")]["offset_s"] >
           tracks[("p1", "video")]["offset_s"] + 2.0, "later participants, later offsets")

    # ---- the render of it ----
    grid = os.path.join(w.dir, "grid.mp4")
    e = {k: v for k, v in os.environ.items() if not k.startswith("EGRESS_")}
    e["EGRESS_LOG_LEVEL"] = "debug"
    p = subprocess.run([egwtest.EGRESS, "render", manifest_path, "--output", grid,
                        "--size", "640x360"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=900 if egwtest.SANITIZED else 180, env=e)
    final = json.loads(p.stdout.strip().splitlines()[-1])
    expect(p.returncode == 0 and final["status"] == "complete", "the recording renders")
    rep = egwtest.check_media(grid, "--expect-codecs", "h264,aac", "--expect-fps", 30,
                              "--expect-duration", m["duration_s"], "--duration-tol", 0.2)
    sched = {}
    for mm in re.finditer(r"schedule: video (\S+) \(\S+\) at ([0-9.]+) s: (hidden|(\d+),(\d+) "
                          r"(\d+)x(\d+))", p.stderr):
        rect = None if mm.group(3) == "hidden" else tuple(int(mm.group(i)) for i in range(4, 8))
        sched.setdefault(mm.group(1), []).append((float(mm.group(2)), rect))

    def at(track, t):
        cur = None
        for when, rect in sched.get(track["track_id"], []):
            if when <= t + 1e-9:
                cur = rect
        return cur

    def crop(rect):
        """The 320x180 picture at its own size when it nearly fits its
        cell, else scaled into it (aspect kept); less a margin."""
        x, y, w_, h = rect
        if abs(w_ - 320) <= 8.4 and abs(h - 180) <= 5.6:
            pw, ph = min(320, w_), min(180, h)
        else:
            pw, ph = (w_, w_ * 9 // 16) if w_ * 9 <= h * 16 else (h * 16 // 9, h)
        px, py = x + (w_ - pw) // 2, y + (h - ph) // 2
        return (px + pw // 20, py + ph // 20, pw - pw // 10, ph - ph // 5)

    for name in COLOR:
        v = tracks[(name, "video")]
        first = max(v["offset_s"], v["published"][0]["start_s"])
        expect(at(v, first - 0.01) is None and at(v, first + 0.001) is not None,
               "%s's tile from its first media, %.3f s (the schedule)" % (name, first))
        seen = cm.first_time_color(grid, crop(at(v, first + 0.5)), COLOR[name], 60,
                                   after=max(0, first - 1.0), hold=2)
        expect(seen is not None and seen - first <= 1.0,
               "%s shows at %s s (first media %.3f s)" % (name, seen, first))
    end = m["duration_s"] - 0.3
    back = p2v[1]["offset_s"]
    last = {"p0": tracks[("p0", "video")], "p1": tracks[("p1", "video")], "p2": p2v[1]}
    for name in COLOR:
        sync = [] if egwtest.SANITIZED else ["--max-sync-ms", 40, "--min-markers", 2]
        rep = egwtest.check_media(grid, "--crop", ",".join(map(str, crop(at(last[name], end)))),
                                  "--start", back + 1.0, "--end", end, "--beep-hz", BEEP[name],
                                  "--expect-color", COLOR[name], *sync)
        print("metric: room_tracks render %s flash-to-beep %s" % (name, rep.get("sync")),
              flush=True)
    egwtest.check_media(grid, "--start", back + 1.0, "--end", end, "--expect-freq",
                        "440,550,660")

    # ---- a render job (egress run) from object storage into it ----
    render_storage = dict(storage, prefix="renders/")
    job = {"type": "start", "egress_id": "EG_rendered",
           "source": {"kind": "render", "manifest": manifest_out[0]["location"],
                      "layout": "speaker", "trim_start_s": 2.0},
           "encoding": {"width": 640, "height": 360},
           "storage": render_storage,
           "outputs": [{"kind": "file", "format": "mp4", "path": "{egress_id}.mp4"}]}
    r = egwtest.Run(w, "rendered", job, env_s3)
    done = r.wait("complete", 900 if egwtest.SANITIZED else 120)
    stored = [o for o in done["outputs"] if o["kind"] == "file"]
    expect(r.exit() == 0 and stored and
           stored[0]["location"] == "s3://rec/renders/EG_rendered.mp4" and
           s3.head("rec", "renders/EG_rendered.mp4"),
           "a render job reads the recording from the bucket and stores its file there: %s"
           % [o["location"] for o in stored])
    expect(not os.listdir(spool), "what it fetched is gone from the spool: %s"
           % os.listdir(spool))
    fetched = re.search(r"fetched the recording: (\d+) files", w.log_text("rendered"))
    expect(fetched and int(fetched.group(1)) == 9, "it fetched the manifest and 8 files (%s)"
           % (fetched.group(0) if fetched else "no log line"))
    got = os.path.join(w.dir, "rendered.mp4")
    s3.get("rec", "renders/EG_rendered.mp4", got)
    egwtest.check_media(got, "--expect-codecs", "h264,aac",
                        "--expect-duration", m["duration_s"] - 2.0, "--duration-tol", 0.2)

    # ---- renders from object storage that cannot be ----
    broken = json.loads(json.dumps(m))
    broken["participants"][0]["tracks"][0]["file"] = "EG_tracks/gone.mkv"
    broken_path = os.path.join(w.dir, "broken.manifest.json")
    with open(broken_path, "w") as f:
        json.dump(broken, f)
    s3.put("rec", "room/broken.manifest.json", broken_path)
    cases = [("s3://rec/room/nope.manifest.json", "not_found", "nope.manifest.json"),
             ("s3://rec/room/broken.manifest.json", "not_found",
              "participants[0].tracks[0] (%s)" % broken["participants"][0]["tracks"][0]["track_id"]),
             ("s3://elsewhere/room/EG_tracks.manifest.json", "invalid_request",
              "not in the job's storage")]
    for i, (where, code, named) in enumerate(cases):
        job = dict(job, egress_id="EG_bad%d" % i, source={"kind": "render", "manifest": where})
        r = egwtest.Run(w, "bad%d" % i, job, env_s3)
        done = r.wait("failed", 120 if egwtest.SANITIZED else 30)
        err = done.get("error") or {}
        expect(err.get("code") == code and named in err.get("message", "") and
               s3.access_key not in json.dumps(done) and s3.secret_key not in json.dumps(done),
               "render of %s: failed %s naming %s (%s)" % (where, code, named, err))
        r.exit()
    expect(not os.listdir(spool), "the failed renders leave nothing in the spool: %s"
           % os.listdir(spool))


if __name__ == "__main__":
    egwtest.main(test)
