"""A worker whose spool disk is nearly full takes no new jobs instead of
failing mid-recording: its spool is a small tmpfs (64 MB, min_free_disk_mb
32); filled to under 32 MB free, the worker leaves the jobs group (saying
why), a start sent then is not run; once space is back the worker joins
again and runs it. A second worker whose machine has less memory
available than its min_free_memory_mb says so and never joins the group:
starts go to the first. (A disk that fills mid-recording is
test_lifecycle's.)"""

import os
import subprocess
import time

import egwtest
from egwtest import expect


def mkv(eid):
    return [{"kind": "file", "format": "mkv", "path": eid + ".mkv"}]


def test():
    # The spool on a 64 MB tmpfs made before the worker starts.
    base = os.path.join("/tmp", "egw-disk-spool-%d" % os.getpid())
    os.makedirs(base, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", base], check=True)
    spool = base
    try:
        with egwtest.Env("disk", worker_env={"EGRESS_MIN_FREE_DISK_MB": 32,
                                             "EGRESS_SPOOL_DIR": spool,
                                             "EGRESS_STORAGE_DIR": os.path.join(spool, "out")}
                         ) as env:
            alice = env.w.start_publisher("alice", color="ff0000", freq=440, video="vp8")
            alice.wait_for("webrtcup", 30)
            # One job first (the group's offsets are committed from then on).
            env.submit(env.job("EG_first", {"kind": "participant", "participant": "alice"},
                               mkv("EG_first")))
            env.wait("EG_first", "active", 30)
            env.stop("EG_first")
            env.wait("EG_first", "complete", 30)

            filler = os.path.join(spool, "filler")
            subprocess.run(["dd", "if=/dev/zero", "of=" + filler, "bs=1M", "count=40"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            env.w.wait_log("worker", "min_free_disk_mb 32: this worker takes no new jobs", 20)
            log = env.w.log_text("worker")
            expect("left the jobs group" in log and "spool_dir %s" % spool in log,
                   "the worker left the jobs group, naming the disk")
            env.submit(env.job("EG_later", {"kind": "participant", "participant": "alice"},
                               mkv("EG_later")))
            time.sleep(8)
            expect(not env.statuses("EG_later"), "a start sent meanwhile is not run: %s"
                   % env.statuses("EG_later"))
            os.unlink(filler)
            ev = env.wait("EG_later", "active", 60)
            expect(ev["status"] == "active", "with space back, the worker takes it")
            env.stop("EG_later")
            done = env.wait("EG_later", "complete", 30)
            egwtest.check_media(done["outputs"][0]["location"], "--expect-codecs", "vp8,opus",
                                "--max-decode-errors", 0)

            # A second worker on a machine with too little memory available
            # (it asks for more than the machine has) stays out of the group.
            env.w.run([egwtest.EGRESS, "worker"], name="worker-mem",
                      env=dict(env.worker_env, EGRESS_MIN_FREE_MEMORY_MB=1048576,
                               EGRESS_WORKER_ID="worker-mem",
                               EGRESS_SPOOL_DIR=os.path.join(env.w.dir, "spool-mem")))
            env.w.wait_log("worker-mem", "not joining the jobs group: memory: ", 20)
            env.w.wait_log("worker-mem", "less than min_free_memory_mb 1048576", 1)
            for i in range(3):
                eid = "EG_mem%d" % i
                env.submit(env.job(eid, {"kind": "participant", "participant": "alice"},
                                   mkv(eid)))
                ev = env.wait(eid, "active", 60)
                expect(ev["worker_id"] == "worker-disk", "%s runs on the worker with memory: %s"
                       % (eid, ev["worker_id"]))
                env.stop(eid)
                env.wait(eid, "complete", 30)
    finally:
        subprocess.run(["umount", spool], check=False)
        os.rmdir(base)


if __name__ == "__main__":
    egwtest.main(test)
