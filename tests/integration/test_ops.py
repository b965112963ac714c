"""The operator's commands over Kafka against a worker: `egress submit`
refuses a bad job file before it reaches Kafka (the worker's own error,
exit 2) and produces a good one; `egress watch ID`, started before, prints
the egress's events and exits 0 when it completes, a late one still sees
every event from the first, and one on a failing egress exits 1; `egress
list` shows it running, then only with --all; `egress update` reaches the
job (answered update_ignored: a participant egress has no layout) and
`egress stop --reason` ends it with that reason."""

import json
import os
import time

from prometheus_client.parser import text_string_to_metric_families

import egwtest
from egwtest import expect

HTTP = "127.0.0.1:9464"

EGRESS = egwtest.EGRESS


def cli(env, *args, check=False, timeout=40):
    r = env.w.call(["env", "EGRESS_KAFKA_BROKERS=" + env.bootstrap, EGRESS] + list(args),
                   timeout=timeout, check=False)
    out, err = r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
    print("egress %s -> %d\n%s%s" % (" ".join(args), r.returncode, out, err), flush=True)
    return r.returncode, out, err


def write(w, name, obj):
    path = os.path.join(w.dir, name)
    with open(path, "w") as f:
        json.dump(obj, f)
    return path


def lines(text):
    return [json.loads(l) for l in text.splitlines() if l.startswith("{")]


def get(env, path):
    """(HTTP status, body) of GET path on the worker's health server."""
    r = env.w.call(["curl", "-sS", "-m", "5", "-w", "\n%{http_code}", "http://%s%s" % (HTTP, path)],
                   check=False)
    body, _, code = r.stdout.decode().rpartition("\n")
    return int(code or 0), body.strip()


def metrics(env):
    """{(name, frozenset(labels)): value} of every sample."""
    status, text = get(env, "/metrics")
    expect(status == 200, "/metrics answers")
    out = {}
    for fam in text_string_to_metric_families(text):
        for smp in fam.samples:
            out[(smp.name, frozenset(smp.labels.items()))] = smp.value
    return out


def value(m, name, **labels):
    return m.get((name, frozenset(labels.items())))


def test():
    with egwtest.Env("ops", worker_env={"EGRESS_HTTP_LISTEN": HTTP}) as env:
        w = env.w
        alice = w.start_publisher("alice", color="ffff00", freq=600, video="vp8")
        alice.wait_for("webrtcup", 30)

        bad = env.job("EG_opsbad", {"kind": "participant", "participant": "alice"},
                      [{"kind": "file", "format": "mp3", "path": "x.mp3"}])
        rc, _, err = cli(env, "submit", write(w, "bad.json", bad))
        expect(rc == 2 and "outputs[0].format" in err and "nothing was sent" in err,
               "a bad job file is refused before Kafka: %s" % err.strip())

        watch = w.run(["env", "EGRESS_KAFKA_BROKERS=" + env.bootstrap, EGRESS, "watch",
                       "EG_ops", "--timeout", "120"], name="watch")
        job = env.job("EG_ops", {"kind": "participant", "participant": "alice"},
                      [{"kind": "file", "format": "mkv", "path": "{egress_id}.mkv"}])
        rc, out, _ = cli(env, "submit", write(w, "good.json", job))
        expect(rc == 0 and "EG_ops submitted" in out, "a good one is submitted")
        env.wait("EG_ops", "active", 30)

        m = metrics(env)
        expect(value(m, "egress_jobs", state="recording") == 1 and
               value(m, "egress_jobs_started_total") == 1 and
               value(m, "egress_accepting") == 1,
               "/metrics: one egress recording, one started, accepting")
        expect(value(m, "egress_start_latency_seconds_count") == 1 and
               0 < value(m, "egress_start_latency_seconds_sum") < 30,
               "its start latency measured: %.2f s" % value(m, "egress_start_latency_seconds_sum"))
        expect(value(m, "egress_job_memory_bytes", egress_id="EG_ops") > 10e6 and
               value(m, "egress_job_cpu_seconds_total", egress_id="EG_ops") > 0,
               "its job's memory and CPU: %.0f MB, %.2f s"
               % (value(m, "egress_job_memory_bytes", egress_id="EG_ops") / 1e6,
                  value(m, "egress_job_cpu_seconds_total", egress_id="EG_ops")))
        expect(get(env, "/healthz") == (200, "ok") and get(env, "/readyz") == (200, "ready"),
               "/healthz and /readyz: 200")
        skew = wait_metric(env, "egress_job_av_skew_seconds", egress_id="EG_ops")
        expect(skew is not None and abs(skew) < 1.0,
               "its A/V skew at the outputs: %s s" % skew)

        rc, out, _ = cli(env, "list")
        row = [l for l in out.splitlines() if l.startswith("EG_ops ")]
        expect(rc == 0 and row and " active " in row[0] and "worker-ops" in row[0],
               "list shows it running on its worker: %s" % row)

        rc, _, _ = cli(env, "update", "EG_ops", "--layout", "speaker")
        expect(rc == 0, "update sent")
        deadline, ignored = time.time() + 20, []
        while not ignored and time.time() < deadline:
            ignored = egwtest.detail_events(env.status.events("EG_ops"), "update_ignored")
            time.sleep(0.2)
        expect(ignored, "the job answered the update: %s" % (ignored and ignored[0]["details"]))

        rc, _, _ = cli(env, "stop", "EG_ops", "--reason", "ended from the cli")
        done = env.wait("EG_ops", "complete", 30)
        expect(rc == 0 and done.get("reason") == "ended from the cli",
               "stop with a reason: %s" % done.get("reason"))
        expect(watch.wait(30) == 0, "watch exits 0 when the egress completes")
        seen = [e["status"] for e in lines(w.log_text("watch"))]
        expect(egwtest.in_order(seen, ["starting", "active", "ending", "complete"]),
               "watch printed its events: %s" % seen)

        rc, out, _ = cli(env, "watch", "EG_ops", "--timeout", "30")
        late = [e["status"] for e in lines(out)]
        expect(rc == 0 and late[:1] == ["starting"] and late[-1:] == ["complete"],
               "a late watch sees every event from the first: %s" % late)

        deadline = time.time() + 20  # (its process exits a moment after its last event)
        m = metrics(env)
        while value(m, "egress_jobs", state="recording") and time.time() < deadline:
            time.sleep(0.3)
            m = metrics(env)
        expect(value(m, "egress_jobs", state="recording") == 0 and
               value(m, "egress_jobs_ended_total", status="complete") == 1 and
               value(m, "egress_job_memory_bytes", egress_id="EG_ops") is None,
               "/metrics after: none recording, one complete, its job gone")

        rc, out, _ = cli(env, "list")
        expect(rc == 0 and "EG_ops " not in out, "list no longer shows it")
        rc, out, _ = cli(env, "list", "--all")
        expect(rc == 0 and any(l.startswith("EG_ops ") and " complete " in l
                               for l in out.splitlines()), "list --all does")

        gone = env.job("EG_opsfail", {"kind": "participant", "participant": "alice"},
                       [{"kind": "file", "format": "mkv", "path": "{egress_id}.mkv"}])
        gone["room"]["room_id"] = 987654
        rc, _, _ = cli(env, "submit", write(w, "gone.json", gone))
        rc, out, _ = cli(env, "watch", "EG_opsfail", "--timeout", "60", timeout=80)
        expect(rc == 1 and lines(out)[-1]["status"] == "failed",
               "watch exits 1 for a failed egress (%d)" % rc)

        # A composite: its encoded video's frames, those it did not get.
        comp = env.job("EG_opscomp", {"kind": "room_composite", "layout": "grid"},
                       [{"kind": "file", "format": "mp4", "path": "{egress_id}.mp4"}])
        comp["encoding"] = {"width": 320, "height": 180, "fps": 15}
        env.submit(comp)
        env.wait("EG_opscomp", "active", 60)
        wait_metric(env, "egress_job_video_frames_total", egress_id="EG_opscomp")
        time.sleep(6)
        m = metrics(env)
        frames = value(m, "egress_job_video_frames_total", egress_id="EG_opscomp")
        dropped = value(m, "egress_job_video_frames_dropped_total", egress_id="EG_opscomp")
        skew = value(m, "egress_job_av_skew_seconds", egress_id="EG_opscomp")
        print("metric: composite frames %s, dropped %s, A/V skew %s s" % (frames, dropped, skew),
              flush=True)
        expect(frames and frames >= 15 * 5 and dropped is not None and skew is not None,
               "the composite's frames (%s), dropped frames (%s) and skew (%s) are exported"
               % (frames, dropped, skew))
        # (under the sanitizers a live encoder is several times slower:
        # there the figures are reported, not judged)
        if not egwtest.SANITIZED:
            expect(dropped <= frames * 0.05 and abs(skew) < 0.5,
                   "few frames dropped (%d of %d), skew %.3f s" % (dropped, frames, skew))
        env.stop("EG_opscomp")
        env.wait("EG_opscomp", "complete", 30)


def wait_metric(env, name, timeout=15, **labels):
    """The metric's value once the worker exports it (the jobs report
    every 5 s); None if it did not within timeout."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = value(metrics(env), name, **labels)
        if v is not None:
            return v
        time.sleep(0.5)
    return None


if __name__ == "__main__":
    egwtest.main(test)
