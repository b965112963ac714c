"""Lifecycles under abuse, with `egress run` (one job, no Kafka):

* a recording stopped by --duration ends complete and its process exits
  cleanly (under ASan in CI: no use-after-free in the teardown);
* Janus frozen (SIGSTOP) at stop time: the file is finalised and `complete`
  reported within stop_grace_s, the goodbye to Janus does not hold it up;
* two jobs with the same output path: the second fails with output_exists
  and the first file is untouched; re-running a finished egress against an
  unreachable SFU keeps the earlier recording;
* storage.dir outside the worker's roots is refused and creates nothing;
* a disk that fills up under one of two outputs: that output is reported
  failed and cut off, the other records on to `complete`."""

import os
import signal
import subprocess
import time

import egwtest
from egwtest import expect

EGRESS = egwtest.EGRESS


def job(w, eid, path="{egress_id}.mkv", **extra):
    req = {"type": "start", "egress_id": eid,
           "room": {"sfu": "janus", "url": w.janus_url, "room_id": 1234},
           "source": {"kind": "participant", "participant": "alice"},
           "outputs": [{"kind": "file", "format": "mkv", "path": path}]}
    req.update(extra)
    return req


def test():
    egwtest.in_world("life", run_all)


def run_all(w):
    out = os.path.join(w.dir, "out")
    env = {"EGRESS_STORAGE_DIR": out, "EGRESS_STOP_GRACE_S": 6, "EGRESS_SFU_TIMEOUT_MS": 10000}
    w.start_janus()
    alice = w.start_publisher("alice", color="ff0000", freq=440, video="vp8")
    alice.wait_for("webrtcup", 15)

    # Stopped by --duration: complete, a clean exit, a playable file.
    r = egwtest.Run(w, "duration", job(w, "EG_dur"), env, ["--duration", "4"])
    ev = r.wait("complete", 30)
    expect(r.exit() == 0, "egress run exits 0 after complete")
    expect(ev["reason"] == "duration reached", "reason %s" % ev.get("reason"))
    location = ev["outputs"][0]["location"]
    expect(os.path.isabs(location) and location == os.path.join(out, "EG_dur.mkv"),
           "location is absolute: %s" % location)
    egwtest.check_media(location, "--expect-codecs", "vp8,opus", "--max-decode-errors", 0,
                        "--expect-freq", 440)

    # Janus frozen at stop time: EOS first, the goodbye after; the file is
    # finalised within stop_grace_s.
    r = egwtest.Run(w, "frozen", job(w, "EG_frozen"), env)
    r.wait("active", 30)
    time.sleep(3)
    os.kill(w.janus_proc.pid, signal.SIGSTOP)
    try:
        t0 = time.time()
        r.proc.send_signal(signal.SIGTERM)
        ev = r.wait("complete", 20)
        took = time.time() - t0
        expect(took < env["EGRESS_STOP_GRACE_S"],
               "complete %.1f s after the stop with Janus frozen (grace %d s)"
               % (took, env["EGRESS_STOP_GRACE_S"]))
        expect(r.exit(15) == 0, "the job exits even though Janus never answers its goodbye")
    finally:
        os.kill(w.janus_proc.pid, signal.SIGCONT)
    egwtest.check_media(ev["outputs"][0]["location"], "--expect-codecs", "vp8,opus",
                        "--max-decode-errors", 0, "--min-markers", 1)

    # The same path twice at once: one records, the other fails clearly and
    # touches nothing.
    a = egwtest.Run(w, "same-a", job(w, "EG_a", path="shared/one.mkv"), env)
    a.wait("active", 30)
    b = egwtest.Run(w, "same-b", job(w, "EG_b", path="shared/one.mkv"), env, ["--duration", "3"])
    ev = b.wait("failed", 20)
    expect(ev["error"]["code"] == "output_exists" and "outputs[0].path" in ev["error"]["message"],
           "a taken path is refused: %s" % ev["error"])
    expect(b.exit() != 0, "the refused run exits non-zero")
    time.sleep(2)
    a.proc.send_signal(signal.SIGTERM)
    ev = a.wait("complete", 20)
    size = os.path.getsize(os.path.join(out, "shared", "one.mkv"))
    expect(ev["outputs"][0]["size"] == size and size > 0, "the first recording is intact")
    egwtest.check_media(os.path.join(out, "shared", "one.mkv"), "--max-decode-errors", 0)

    # Re-running a finished egress against an unreachable SFU keeps the
    # earlier recording.
    before = os.path.getsize(os.path.join(out, "EG_dur.mkv"))
    again = job(w, "EG_dur")
    again["room"]["url"] = "http://127.0.0.1:9/janus"
    r = egwtest.Run(w, "rerun", again, env)
    ev = r.wait("failed", 20)
    r.exit()
    expect(ev["error"]["code"] == "output_exists", "rerun refused: %s" % ev["error"])
    expect(os.path.getsize(os.path.join(out, "EG_dur.mkv")) == before,
           "the earlier recording is untouched")

    # An SFU that cannot be reached, at a fresh path: failed, and no empty
    # file or directory is left behind.
    fresh = job(w, "EG_nosfu", path="deep/er/{egress_id}.mkv")
    fresh["room"]["url"] = "http://127.0.0.1:9/janus"
    r = egwtest.Run(w, "nosfu", fresh, env)
    ev = r.wait("failed", 20)
    r.exit()
    expect(ev["error"]["code"] == "sfu_unreachable", "unreachable: %s" % ev["error"])
    expect(not os.path.exists(os.path.join(out, "deep")), "no empty directories left behind")

    # A full disk under one of two outputs: it fails alone.
    small = os.path.join(out, "small")
    os.makedirs(small, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", small], check=True)
    try:
        two = job(w, "EG_full")
        two["outputs"].append({"kind": "file", "format": "mkv", "path": "small/{egress_id}.mkv"})
        r = egwtest.Run(w, "full", two, env, ["--duration", "12"])
        ev = r.wait("complete", 30)
        r.exit()
        failed = [e["details"] for e in r.events()
                  if e.get("details", {}).get("event") == "output_failed"]
        expect(len(failed) == 1 and failed[0]["output"] == "outputs[1]",
               "the full output is reported failed: %s" % failed)
        outs = [o for o in ev["outputs"] if o["kind"] != "manifest"]
        expect(len(outs) == 2 and "error" not in outs[0] and "error" in outs[1],
               "complete lists both outputs, the full one with its error: %s" % outs)
        egwtest.check_media(outs[0]["location"], "--expect-codecs", "vp8,opus",
                            "--max-decode-errors", 0, "--min-markers", 2,
                            "--expect-duration", outs[0]["duration_s"], "--duration-tol", 0.5)
    finally:
        subprocess.run(["umount", small], check=False)

    # storage.dir must stay inside the worker's roots.
    for bad in ("/", "../../..", "/etc"):
        r = egwtest.Run(w, "root-" + bad.replace("/", "_"),
                job(w, "EG_root", storage={"kind": "local", "dir": bad}), env)
        ev = r.wait("failed", 20)
        r.exit()
        expect(ev["error"]["code"] == "invalid_request" and
               ev["error"]["message"].startswith("storage.dir"),
               "storage.dir %s refused: %s" % (bad, ev["error"]))
    expect(not os.path.exists("/EG_root.mkv") and not os.path.exists("/etc/1234"),
           "nothing created outside the roots")


if __name__ == "__main__":
    egwtest.main(test)
