"""Publisher -> Janus -> start job over Kafka -> 10 s -> stop over Kafka ->
status events in order -> the file checked by FFmpeg. A malformed job in
between fails with invalid_request and the next valid job still runs. The
worker stays hidden from the room."""

import json
import os
import time

import egwtest
from egwtest import expect


def test():
    with egwtest.Env("rec") as env:
        alice = env.w.start_publisher("alice", color="ff0000", freq=440, video="vp8")
        alice.wait_for("webrtcup", 15)

        # A malformed job: reported as failed, the worker carries on.
        bad = env.job("EG_bad", {"kind": "participant", "participant": "alice"},
                      [{"kind": "file", "format": "avi", "path": "x.avi"}])
        env.submit(bad)
        ev = env.wait("EG_bad", "failed")
        expect(ev["error"]["code"] == "invalid_request", "malformed job fails with invalid_request")
        expect("outputs[0].format" in ev["error"]["message"], "the error names the field")
        env.submit_raw("EG_garbage", "{not json")
        ev = env.wait("EG_garbage", "failed")
        expect(ev["error"]["code"] == "invalid_request", "unparsable job fails with invalid_request")

        job = env.job("EG_rec", {"kind": "participant", "participant": "alice"},
                      [{"kind": "file", "format": "mkv", "path": "{room_id}/{egress_id}.mkv"}])
        env.submit(job)
        active = env.wait("EG_rec", "active", timeout=30)
        t_media = egwtest.parse_time(active["started_at"])
        print("metric: start job produced -> first media written: %.0f ms"
              % ((t_media - env.t_produced["EG_rec"]) * 1000), flush=True)

        # Hidden: the room lists only the publisher.
        parts = env.w.listparticipants(1234)
        names = sorted(p.get("display", "") for p in parts)
        expect(names == ["alice"], "room participants while recording are only %s" % names)

        # Ten seconds of media: the stop goes out 10 s after the first byte.
        time.sleep(max(0.0, 10.0 - (time.time() - t_media)))
        t_stop = time.time()
        env.stop("EG_rec")
        done = env.wait("EG_rec", "complete", timeout=30)
        t_end = egwtest.parse_time(done["ended_at"])
        statuses = env.statuses("EG_rec")
        expect(egwtest.in_order(statuses, ["starting", "active", "ending", "complete"]),
               "status events in order: %s" % statuses)
        expect(done["worker_id"] == "worker-rec", "events carry the worker id")
        out = done["outputs"][0]
        expect(out["location"].endswith("1234/EG_rec.mkv"), "file at the templated path")
        expect(os.path.getsize(out["location"]) == out["size"] and out["size"] > 0,
               "reported size matches the file")
        rep = egwtest.check_media(out["location"], "--expect-codecs", "vp8,opus",
                            "--expect-freq", 440, "--max-sync-ms", 40, "--min-markers", 4,
                            "--expect-color", "ff0000", "--max-decode-errors", 0,
                            "--max-video-gap-ms", 500, "--max-audio-gap-ms", 500)
        egwtest.expect_span(rep, out, t_media, t_stop, t_end, "the file")

        # The manifest beside it: the room, the request without secrets,
        # alice's two tracks on the egress's timeline, the file holding them.
        man_out = done["outputs"][-1]
        expect(man_out["kind"] == "manifest" and
               man_out["location"] == os.path.join(env.out, "EG_rec.manifest.json"),
               "the manifest is listed: %s" % man_out)
        with open(man_out["location"]) as f:
            man = json.load(f)
        expect(man["manifest_version"] == 1 and man["egress_id"] == "EG_rec" and
               man["room"]["room_id"] == "1234" and man["status"] == "complete",
               "manifest header: %s" % {k: man.get(k) for k in ("egress_id", "room", "status")})
        expect(man["request"]["source"]["participant"] == "alice", "the request is kept")
        parts = {p["participant"]: p for p in man["participants"]}
        expect(list(parts) == ["alice"], "participants: %s" % list(parts))
        tracks = {t["media"]: t for t in parts["alice"]["tracks"]}
        expect(sorted(tracks) == ["audio", "video"] and tracks["video"]["codec"] == "vp8" and
               tracks["audio"]["codec"] == "opus", "alice's tracks: %s" % parts["alice"]["tracks"])
        for t in tracks.values():
            pub = t["published"]
            expect(len(pub) == 1 and pub[0]["start_s"] < 1.0 and
                   abs(pub[0]["end_s"] - man["duration_s"]) < 1.5 and t["outputs"] == ["outputs[0]"],
                   "%s published over the whole egress, in outputs[0]: %s (duration %.2f)"
                   % (t["media"], t, man["duration_s"]))
        expect(abs(man["duration_s"] - rep["duration"]) < 1.5,
               "the manifest's duration %.2f s is the file's %.2f s" % (man["duration_s"], rep["duration"]))
        expect(man["outputs"][0]["location"] == out["location"], "the manifest lists the file")
        print(json.dumps({"events": env.status.events("EG_rec")})[:2000])


if __name__ == "__main__":
    egwtest.main(test)
