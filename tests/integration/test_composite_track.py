"""Track composites and composites given bad input, with `egress run`:
  * a room that never fills: `empty_room_timeout_s` ends the composite
    `failed`/`not_found` with the reason, and no file is left;
  * a participant publishing audio in a codec composites do not decode
    (G.711): that track is skipped with a `track_skipped` event, the rest
    is composited (its video tile, the other participant's tone), on a
    background colour of the job's;
  * `track_composite` of one participant's VP8 video and another's Opus
    audio, into WebM (VP8 + Opus): that colour, that tone only;
  * beside it, a `track_composite` whose video track id names a mid its
    publisher does not publish: a `track_skipped` event naming the track
    and why (once), the audio recorded all the same;
  * an audio-only room composite mixed dual channel into Ogg: one
    participant on the left, the other on the right."""

import os

import egwtest
from egwtest import expect


def test():
    egwtest.in_world("ctrk", run)


def job(w, eid, source, fmt, room=1234, **extra):
    req = {"type": "start", "egress_id": eid,
           "room": {"sfu": "janus", "url": w.janus_url, "room_id": room},
           "source": source,
           "outputs": [{"kind": "file", "format": fmt, "path": "{egress_id}." + fmt}]}
    req.update(extra)
    return req


def run(w):
    out = os.path.join(w.dir, "out")
    env = {"EGRESS_STORAGE_DIR": out, "EGRESS_STOP_GRACE_S": 20, "EGRESS_LOG_LEVEL": "debug"}
    w.start_janus()

    # Nobody ever comes: the egress ends, says why, and writes nothing.
    r = egwtest.Run(w, "empty", job(w, "EG_empty", {"kind": "room_composite", "layout": "grid"},
                                    "mp4", room=1235, limits={"empty_room_timeout_s": 3}), env)
    ev = r.wait("failed", 30)
    expect(ev["error"]["code"] == "not_found" and "3 s" in ev["error"]["message"],
           "an empty room ends the composite: %s" % ev["error"])
    expect(not os.path.exists(os.path.join(out, "EG_empty.mp4")), "no file for an empty room")
    r.exit()

    # G.711 audio beside Opus: skipped with an event, the rest goes on.
    red = w.start_publisher("red", color="ff0000", freq=440, video="vp8", room=1238,
                            extra=["--audio", "pcmu"])
    blue = w.start_publisher("blue", color="0000ff", freq=660, video="h264", room=1238)
    red.wait_for("webrtcup", 30)
    blue.wait_for("webrtcup", 30)
    # (On a background of its own colour: drawn by a canvas-sized source,
    # where black is the compositor's own fill.)
    r = egwtest.Run(w, "mixed", job(w, "EG_mixed", {"kind": "room_composite", "layout": "grid",
                                                    "background": "#3050a0"},
                                    "mkv", room=1238), env, ["--duration", "8"])
    done = r.wait("complete", 60)
    skipped = [e["details"] for e in egwtest.detail_events(r.events(), "track_skipped")]
    expect(len(skipped) == 1 and skipped[0]["participant"] == "red" and
           "pcmu" in skipped[0]["reason"],
           "red's G.711 audio is skipped with an event: %s" % skipped)
    egwtest.check_media(done["outputs"][0]["location"], "--expect-codecs", "h264,aac",
                        "--expect-freq", "660", "--start", 2, "--max-decode-errors", 0)
    log = egwtest.JobLog(w, "mixed")
    tiles = log.tiles_at(log.time0 + 6)
    expect(sorted(tiles) == ["blue", "red"], "both are on the canvas: %s" % sorted(tiles))
    for name, color in (("red", "ff0000"), ("blue", "0000ff")):
        egwtest.check_media(done["outputs"][0]["location"], "--crop", tiles[name],
                            "--start", 2, "--end", 6, "--expect-color", color)
    # Two 16:9 tiles side by side leave bands above and below them.
    egwtest.check_media(done["outputs"][0]["location"], "--crop", "0,0,1280,160",
                        "--start", 2, "--end", 6, "--expect-color", "3050a0")
    tracks = log.tracks()
    red.close()
    blue.close()

    # Track composite: green's VP8 video, yellow's Opus audio.
    green = w.start_publisher("green", color="00ff00", freq=550, video="vp8")
    yellow = w.start_publisher("yellow", color="ffff00", freq=880, video="h264")
    green.wait_for("webrtcup", 30)
    yellow.wait_for("webrtcup", 30)
    r = egwtest.Run(w, "probe", job(w, "EG_probe", {"kind": "room_composite", "layout": "grid"},
                                    "mp4"), env, ["--duration", "8"])
    r.wait("complete", 60)
    tracks = egwtest.JobLog(w, "probe").tracks()
    video = tracks[("green", "video")]
    audio = tracks[("yellow", "audio")]
    r = egwtest.Run(w, "tc", job(w, "EG_tc", {"kind": "track_composite", "video_track_id": video,
                                              "audio_track_id": audio}, "webm"),
                    env, ["--duration", "8"])
    wrong = video.split("/")[0] + "/nosuchmid"
    bad = egwtest.Run(w, "tcbad", job(w, "EG_tcbad", {"kind": "track_composite",
                                                      "video_track_id": wrong,
                                                      "audio_track_id": audio}, "webm"),
                      env, ["--duration", "8"])
    done = r.wait("complete", 60)
    done_bad = bad.wait("complete", 60)
    skipped = [e["details"] for e in egwtest.detail_events(bad.events(), "track_skipped")]
    expect(len(skipped) == 1 and skipped[0]["track"] == wrong and
           skipped[0]["participant"] == "green" and
           "does not publish" in skipped[0]["reason"],
           "a track id its publisher does not publish: one track_skipped event: %s" % skipped)
    egwtest.check_media(done_bad["outputs"][0]["location"], "--expect-codecs", "vp8,opus",
                        "--expect-freq", "880", "--start", 1, "--max-decode-errors", 0)
    expect(w.log_text("tcbad").count("does not publish track") == 1,
           "the missing track is warned about once")
    rep = egwtest.check_media(done["outputs"][0]["location"], "--expect-codecs", "vp8,opus",
                              "--expect-color", "00ff00", "--expect-freq", "880",
                              "--expect-fps", 30, "--max-decode-errors", 0)
    freqs = [round(f["freq"]) for f in rep["audio"]["dominant_freqs"]]
    expect(not any(abs(f - 550) < 10 for f in freqs), "only yellow's tone in the audio: %s" % freqs)
    # Dual channel: green on the left, everyone else on the right.
    r = egwtest.Run(w, "dual", job(w, "EG_dual", {"kind": "room_composite", "layout": "grid",
                                                  "audio_only": True, "audio_mix": "dual_channel",
                                                  "audio_mix_participant": "green"}, "ogg"),
                    env, ["--duration", "6"])
    done = r.wait("complete", 60)
    path = done["outputs"][0]["location"]
    for channel, want, other in (("left", 550, 880), ("right", 880, 550)):
        rep = egwtest.check_media(path, "--expect-codecs", "opus", "--channel", channel,
                                  "--expect-freq", want, "--start", 1)
        freqs = [round(f["freq"]) for f in rep["audio"]["dominant_freqs"]]
        expect(not any(abs(f - other) < 10 for f in freqs),
               "dual channel: %s has %d Hz only (%s)" % (channel, want, freqs))

    text = w.log_text("tc")
    expect("receiving video vp8 of green" in text and "receiving audio opus of yellow" in text
           and "of green (track %s" % audio not in text,
           "the track composite receives exactly the two tracks")


if __name__ == "__main__":
    egwtest.main(test)
