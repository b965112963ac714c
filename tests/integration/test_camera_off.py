"""A camera that stops sending while the microphone goes on, in a
participant recording kept as it came (MKV and MP4 side by side): alice's
camera sends nothing for 15 s (longer than an output's 10 s queue), Janus
is not told (a browser's camera track replaced by none). The muxers wait
for every stream, so the worker puts her last key frame in again while
the camera is quiet. Her audio must be whole in both files (no packet
lost, no hole), the video must hold (stand-ins, decodable) and come back
after the camera does, the worker logs both. Then her audio stops for
12 s the same way: silence (empty Opus frames) stands in, the video goes
on whole. The egress ends `complete`."""

import time

import egwtest
from egwtest import expect

OFF_S = 15.0
MIC_OFF_S = 12.0


def pause(pub, device, seconds):
    """device ("camera" or "mic") off for seconds: (when off, when on)."""
    t_off = time.time()
    pub.switch(device, False)
    time.sleep(seconds)
    t_on = time.time()
    pub.switch(device, True)
    return t_off, t_on


def test():
    with egwtest.Env("camoff", worker_env={"EGRESS_LOG_LEVEL": "debug"}) as env:
        alice = env.w.start_publisher("alice", color="ff0000", freq=440, video="h264")
        alice.wait_for("webrtcup", 15)
        eid = "EG_camoff"
        env.submit(env.job(eid, {"kind": "participant", "participant": "alice"},
                           [{"kind": "file", "format": "mkv", "path": "{egress_id}.mkv"},
                            {"kind": "file", "format": "mp4", "path": "{egress_id}.mp4"}]))
        env.wait(eid, "active", 30)
        time.sleep(4)
        t_off, t_on = pause(alice, "camera", OFF_S)
        time.sleep(6)
        t_mute, t_unmute = pause(alice, "mic", MIC_OFF_S)
        time.sleep(5)
        env.stop(eid)
        done = env.wait(eid, "complete", 40)

        log = egwtest.JobLog(env.w, "worker", eid)
        F = log.media_time
        files = [o for o in done["outputs"] if o["kind"] == "file"]
        expect(len(files) == 2, "two files: %s" % files)
        for out in files:
            path = out["location"]
            # The audio all along: no packet missing, the tone throughout.
            rep = egwtest.check_media(path, "--expect-codecs", "h264,opus",
                                      "--max-audio-gap-ms", 100, "--max-decode-errors", 0)
            audio = [s for s in rep["streams"] if s["type"] == "audio"][0]
            video = [s for s in rep["streams"] if s["type"] == "video"][0]
            expect(audio["duration"] >= OFF_S + MIC_OFF_S + 13,
                   "%s: the audio spans both pauses (%.1f s)" % (path, audio["duration"]))
            egwtest.check_media(path, "--start", F(t_off) + 1, "--end", F(t_on) - 1,
                                "--expect-freq", 440)
            # The picture before the pause and again after it.
            egwtest.check_media(path, "--start", F(t_off) - 3, "--end", F(t_off) - 0.5,
                                "--expect-color", "ff0000")
            egwtest.check_media(path, "--start", F(t_on) + 2, "--end", F(t_on) + 5,
                                "--expect-color", "ff0000")
            # The picture all through the audio's pause, the tone after it.
            egwtest.check_media(path, "--start", F(t_mute) + 1, "--end", F(t_unmute) - 1,
                                "--expect-color", "ff0000", "--max-video-gap-ms", 200)
            egwtest.check_media(path, "--start", F(t_unmute) + 1.5, "--end", F(t_unmute) + 4,
                                "--expect-freq", 440)
            # (a stand-in once the video is 1.5 s behind, up to 0.5 s behind
            # the audio: at most about 3 s between two pictures)
            expect(video["max_packet_delta_ms"] <= 3200,
                   "%s: the video holds while the camera is off (largest step %.0f ms)"
                   % (path, video["max_packet_delta_ms"]))
        for media, t0, t1 in (("audio", t_mute, t_unmute),):
            q = [t for t in egwtest.log_times(env.w, eid, "no %s since" % media) if t > t0]
            expect(len(q) == 1 and q[0] - t0 < 4, "the worker saw the %s stop: %s"
                   % (media, ["%.1f" % (t - t0) for t in q]))
        quiet = [t for t in egwtest.log_times(env.w, eid, "no video since") if t > t_off]
        back = [t for t in egwtest.log_times(env.w, eid, "video again after") if t > t_on]
        expect(len(quiet) == 1 and quiet[0] - t_off < 4 and len(back) == 1 and back[0] - t_on < 4,
               "the worker saw the camera stop (%s s after) and come back (%s s after)"
               % (["%.1f" % (t - t_off) for t in quiet], ["%.1f" % (t - t_on) for t in back]))


if __name__ == "__main__":
    egwtest.main(test)
