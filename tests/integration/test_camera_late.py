"""A participant whose camera is off from the start (its video track
published, nothing sent: a browser's camera track replaced by none), in a
participant recording kept as it came (MKV and WebM). The muxers wait for
every stream and there is no picture to stand in: 3 s into the recording
the worker ends the video stream, says so, and the files go on with the
audio whole. The camera comes on 16 s later: the worker says it is not in
this recording (a muxer cannot take a new stream once it began). The
egress ends `complete` with both files playable. (An MP4 output cannot
begin without the stream: there the audio beyond its output queue is
lost until the video comes; written down as not solved.)"""

import time

import egwtest
from egwtest import expect


def test():
    with egwtest.Env("camlate", worker_env={"EGRESS_LOG_LEVEL": "debug"}) as env:
        alice = env.w.start_publisher("alice", color="ff0000", freq=440, video="vp8")
        alice.wait_for("webrtcup", 15)
        alice.switch("camera", False)
        time.sleep(1)
        eid = "EG_camlate"
        env.submit(env.job(eid, {"kind": "participant", "participant": "alice"},
                           [{"kind": "file", "format": "mkv", "path": "{egress_id}.mkv"},
                            {"kind": "file", "format": "webm", "path": "{egress_id}.webm"}]))
        env.wait(eid, "active", 30)
        time.sleep(16)
        t_on = time.time()
        alice.switch("camera", True)
        time.sleep(5)
        env.stop(eid)
        done = env.wait(eid, "complete", 40)

        files = [o for o in done["outputs"] if o["kind"] == "file"]
        expect(len(files) == 2 and not [o for o in files if o.get("error")],
               "two files, no output failed: %s" % files)
        for out in files:
            rep = egwtest.check_media(out["location"], "--expect-codecs", "opus",
                                      "--expect-freq", 440, "--max-audio-gap-ms", 100,
                                      "--max-decode-errors", 0)
            kinds = [s["type"] for s in rep["streams"]]
            audio = [s for s in rep["streams"] if s["type"] == "audio"][0]
            expect(kinds == ["audio"], "%s: the audio only (%s)" % (out["location"], kinds))
            expect(audio["duration"] >= 20, "%s: the audio whole from the start (%.1f s)"
                   % (out["location"], audio["duration"]))
        ended = egwtest.log_times(env.w, eid, "no video at all in the first 3 s")
        late = [t for t in egwtest.log_times(env.w, eid, "video came after its stream was ended")
                if t > t_on]
        expect(len(ended) == 1 and len(late) == 1,
               "the worker said it ended the video (%d) and that the late camera is not "
               "recorded (%d)" % (len(ended), len(late)))


if __name__ == "__main__":
    egwtest.main(test)
