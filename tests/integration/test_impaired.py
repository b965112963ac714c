"""Egresses over a lossy link: the worker in its own namespace, 5% of the
UDP from Janus to it dropped and the rest delayed 30 +- 10 ms (so also
reordered), the publishers' leg clean (tests/world/relay.py). A participant
recording and a room composite both end `complete`, with files that decode
without an error, both tones, the participant's audio timeline whole (its
holes filled with empty Opus frames) and in sync within 40 ms; Janus retransmits
lost video packets (RTX seen on the link; the frames they save, 37-76% kept
against 18-30% without, are printed: docs/architecture.md, "Loss on the
SFU's leg"); the
composite's output is clock-driven: every frame at 15 fps from the first
to the last however its inputs freeze. The longest freeze (a retransmission
lost too, until the next keyframe) is printed, not asserted."""

import time

import egwtest
from egwtest import expect

IMPAIR = {"loss": 0.05, "delay_ms": 30, "jitter_ms": 10, "seed": 7}


def test():
    with egwtest.Env("impaired", impair=IMPAIR) as env:
        alice = env.w.start_publisher("alice", color="00c000", freq=523, extra=["--marks"])
        bob = env.w.start_publisher("bob", color="0000ff", freq=660, video="h264",
                                    extra=["--width", "320", "--height", "180"])
        alice.wait_for("webrtcup", 15)
        bob.wait_for("webrtcup", 15)
        # A publisher that has just started sends late for a moment when
        # the machine is busy (seconds, seen in CI): not the link's doing.
        time.sleep(3)
        env.submit(env.job("EG_loss_part", {"kind": "participant", "participant": "alice"},
                           [{"kind": "file", "format": "mkv", "path": "{egress_id}.mkv"}]))
        env.submit(env.job("EG_loss_comp", {"kind": "room_composite", "layout": "grid"},
                           [{"kind": "file", "format": "mp4", "path": "{egress_id}.mp4"}],
                           encoding={"width": 640, "height": 360, "fps": 15}))
        env.wait("EG_loss_part", "active", 30)
        env.wait("EG_loss_comp", "active", 30)
        s0 = env.w.relay_stats()
        time.sleep(15)
        s1 = env.w.relay_stats()
        env.stop("EG_loss_part")
        env.stop("EG_loss_comp")
        part = env.wait("EG_loss_part", "complete", 30)
        comp = env.wait("EG_loss_comp", "complete", 30)

        udp = s1["udp"] - s0["udp"]
        dropped = s1["udp_dropped"] - s0["udp_dropped"]
        expect(udp > 1000 and 0.03 <= dropped / udp <= 0.07,
               "the link dropped %d of %d datagrams toward the worker (%.1f%%)"
               % (dropped, udp, 100.0 * dropped / max(udp, 1)))

        # (lost audio is not resent: its holes are filled with empty Opus
        # frames, so no 20 ms frame is missing from the audio timeline: no
        # interval of two)
        rep = egwtest.check_media(part["outputs"][0]["location"], "--expect-codecs", "vp8,opus",
                                  "--expect-freq", 523, "--max-decode-errors", 0,
                                  "--max-audio-gap-ms", 35)
        expect(rep["duration"] >= 14.0, "participant: the whole span recorded (%.2f s)"
               % rep["duration"])
        # Janus retransmits what the worker asks for, as RTX (payload type
        # 97 in its offer), seen on the link before the loss.
        rtx = s1["rtp_pt"].get("97", 0) - s0["rtp_pt"].get("97", 0)
        vid = s1["rtp_pt"].get("96", 0) - s0["rtp_pt"].get("96", 0)
        expect(rtx >= 5, "Janus retransmitted %d video packets (RTX) of %d sent, 5%% lost "
               "(RTP toward the worker by payload type: %s)" % (rtx, vid, s1["rtp_pt"]))
        kept = rep["video"]["frames"] / (30.0 * rep["duration"])
        print("participant video at 5%% loss: %.0f%% of 30 fps kept" % (100 * kept), flush=True)
        # Not asserted: the freezes (a retransmission lost too). A/V sync
        # from the flashes whose time is their onset: not those right after
        # missing frames or with frames that came damaged (their first may
        # be among them: seen late); a real-time bound, so the release
        # stage's, reported under the sanitizers.
        offs = egwtest.onset_offsets(rep)
        print("participant video at 5%% loss: longest freeze %.0f ms, %s frames; "
              "flash-to-beep %s ms (of %d pairs)"
              % (rep["video"]["max_frame_gap_ms"], rep["video"].get("frames"), offs,
                 len(rep["sync"].get("pairs") or [])), flush=True)
        expect(len(offs) >= 3 and (egwtest.SANITIZED or max(abs(o) for o in offs) <= 40),
               "participant at 5%% loss: flash-to-beep within 40 ms (%s)" % offs)

        rep = egwtest.check_media(comp["outputs"][0]["location"], "--expect-codecs", "h264,aac",
                                  "--expect-fps", 15, "--max-video-gap-ms", 100,
                                  "--expect-freq", "523,660", "--max-decode-errors", 0,
                                  "--max-audio-gap-ms", 100)
        expect(rep["duration"] >= 14.0, "composite: the whole span recorded (%.2f s)"
               % rep["duration"])
        expect(env.worker.poll() is None, "the worker is still running")


if __name__ == "__main__":
    egwtest.main(test)
