"""Benchmark of the worker as a fleet member: bursts of starts and handovers.

Measures, in one run on this machine:
  * burst: N audio-track starts produced at once to one worker; each one's
    latency from the start request produced to its first media byte
    written (its `active` event), with `spare_jobs` N (warm job processes)
    and, as the baseline in the same run, `spare_jobs` 0 (every job process
    starts from scratch, as before); the memory a spare holds (PSS); and
    the machine's busy CPU per start;
  * fleet: three workers with their default settings, --fleet audio-track
    starts (100) in bursts of --fleet-burst (20), request to first media;
  * handover: three workers with room for three participant recordings
    each (150 thousandths of a core), starts produced one at a time into
    one partition, so each start after the third reaches a full worker:
    time from the full worker reading it to another taking it, with
    `handover` 1 and, as the baseline, `handover` 0 (the full worker
    leaves the group and a rebalance moves the partition).
Writes the figures to BENCHMARKS.md (between its bench_fleet markers).
Needs root (network namespace), like the integration tests.

    /usr/bin/python3 bench/bench_fleet.py [--burst N] [--handovers N] [--fleet N]
"""

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault("EGW_SOURCE_DIR", ROOT)
os.environ.setdefault("EGW_BUILD_DIR", os.path.join(ROOT, "build"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "tests", "world"))
import benchmd  # noqa: E402
import egwtest  # noqa: E402
import procstat  # noqa: E402
from egwtest import parse_time  # noqa: E402

def pct(vals, p):
    vals = sorted(vals)
    return vals[min(len(vals) - 1, int(round(p / 100.0 * (len(vals) - 1))))]


def metric(env, sample):
    r = env.w.call(["curl", "-sS", "-m", "5", "http://127.0.0.1:9464/metrics"], check=False)
    for line in r.stdout.decode().splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[1])
    return None


def pss_kb(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def spare_pids(env):
    out = []
    for pid in egwtest.world._ns_pids(env.w.ns):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                if b"--spare" in f.read().split(b"\0"):
                    out.append(pid)
        except OSError:
            pass
    return out


def proc_cpu():
    """{pid: (kind, CPU seconds)} of every process on the machine, its kind
    from its command line."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
            out[int(d)] = (proc_kind(argv), procstat.cpu_of(int(d)))
        except OSError:
            continue
    return out


def proc_kind(argv):
    if not argv:
        return "kernel threads"
    exe = os.path.basename(argv[0])
    if exe == "egress" and len(argv) > 1:
        return {"run": "job processes", "worker": "worker"}.get(argv[1], "egress " + argv[1])
    if "janus" in exe:
        return "Janus"
    if any("egw-publish" in a or "publish" in os.path.basename(a) for a in argv[:2]):
        return "publisher"
    if exe.startswith("python"):
        return "test harness (python)"
    return exe


def cpu_by_kind(before, after):
    """CPU seconds between two proc_cpu() snapshots by kind (processes
    that ended in between are not counted; new ones count whole)."""
    out = {}
    for pid, (kind, s) in after.items():
        s0 = before.get(pid, (kind, 0.0))[1]
        out[kind] = out.get(kind, 0.0) + max(0.0, s - s0)
    return out


def burst(n, spares):
    """[latency ms] of n audio-track starts produced at once, the mean
    PSS of a warm spare (kB, 0 without spares), and the machine's busy CPU
    seconds from the requests to the last `active` per start."""
    wenv = {"EGRESS_SPARE_JOBS": spares, "EGRESS_HTTP_LISTEN": "127.0.0.1:9464",
            "EGRESS_CAPACITY_MCORES": 4000}
    with egwtest.Env("bburst%d" % spares, max_jobs=n + 5, worker_env=wenv) as env:
        alice = env.w.start_publisher("alice", color="ff0000", freq=440, video="vp8")
        alice.wait_for("webrtcup", 30)
        deadline = time.time() + 30 + 3 * spares
        while spares and time.time() < deadline and \
                (metric(env, 'egress_spare_processes{state="warm"}') or 0) < spares:
            time.sleep(0.5)
        warm = metric(env, 'egress_spare_processes{state="warm"}') or 0
        if warm < spares:
            raise egwtest.Failure("only %d of %d spares warm" % (warm, spares))
        pss = [pss_kb(p) for p in spare_pids(env)]
        time.sleep(2)
        ids = ["EG_b%02d" % i for i in range(n)]
        jobs = [env.job(eid, {"kind": "track", "participant": "alice", "media": "audio"},
                        [{"kind": "file", "format": "ogg", "path": "{egress_id}.ogg"}])
                for eid in ids]
        perf = None
        if os.environ.get("EGW_BENCH_PERF"):  # where the burst's CPU goes, by hand
            perf = subprocess.Popen(["perf", "record", "-a", "-F", "999", "-q", "-o",
                                     os.environ["EGW_BENCH_PERF"]])
            time.sleep(1)
        c0, p0 = procstat.machine_jiffies(), proc_cpu()
        t0 = time.time()
        env.submit_all(jobs)
        lat = []
        for eid in ids:
            ev = env.wait(eid, "active", 120)
            lat.append((parse_time(ev["time"]) - t0) * 1000)
        c1, p1 = procstat.machine_jiffies(), proc_cpu()
        kinds = cpu_by_kind(p0, p1)
        if perf:
            perf.send_signal(signal.SIGINT)
            perf.wait()
        busy_s = (c1[1] - c0[1]) / procstat.CLK
        for eid in ids:
            env.stop(eid)
        for eid in ids:
            env.wait(eid, "complete", 120)
        return lat, (statistics.mean(pss) if pss else 0), busy_s / n, \
            {k: v / n for k, v in kinds.items()}


def fleet_bursts(total, size, workers=3):
    """[latency ms] of `total` audio-track starts arriving in bursts of
    `size` at a fleet of `workers` workers with their default settings
    (spare_jobs 4), keyed by egress id (spread over the partitions); each
    burst's egresses are stopped before the next."""
    with egwtest.Env("bfleet", max_jobs=size + 5,
                     worker_env={"EGRESS_SPARE_JOBS": 4}) as env:  # (the default)
        for k in range(2, workers + 1):
            env.worker_env = dict(env.worker_env, EGRESS_WORKER_ID="worker-bfleet-%d" % k)
            env.restart_worker()
        alice = env.w.start_publisher("alice", color="ff0000", freq=440, video="vp8")
        alice.wait_for("webrtcup", 30)
        time.sleep(5)  # every worker's spares warm
        lat, per_worker = [], {}
        for b in range(total // size):
            ids = ["EG_f%d_%02d" % (b, i) for i in range(size)]
            jobs = [env.job(eid, {"kind": "track", "participant": "alice", "media": "audio"},
                            [{"kind": "file", "format": "ogg", "path": "{egress_id}.ogg"}])
                    for eid in ids]
            t0 = time.time()
            env.submit_all(jobs)
            for eid in ids:
                ev = env.wait(eid, "active", 120)
                lat.append((parse_time(ev["time"]) - t0) * 1000)
                per_worker[ev["worker_id"]] = per_worker.get(ev["worker_id"], 0) + 1
            for eid in ids:
                env.stop(eid)
            for eid in ids:
                env.wait(eid, "complete", 120)
            time.sleep(3)  # spares refilled
        return lat, per_worker


def handovers(n, on):
    """[ms] from a start produced (to a partition whose owner is full) to
    another worker's job process taking it."""
    cap = {"EGRESS_CAPACITY_MCORES": 150, "EGRESS_MAX_UTILISATION_PCT": 100,
           "EGRESS_HANDOVER": 1 if on else 0, "EGRESS_SPARE_JOBS": 2}
    with egwtest.Env("bhand%d" % on, max_jobs=10, worker_env=cap) as env:
        for k in (2, 3):
            env.worker_env = dict(env.worker_env, EGRESS_WORKER_ID="worker-bhand-%d" % k)
            env.restart_worker()
        time.sleep(3)
        alice = env.w.start_publisher("alice", color="ff8000", freq=520, video="vp8")
        alice.wait_for("webrtcup", 30)
        out = []
        for i in range(n):
            # three on the partition's owner, then one that does not fit
            ids = ["EG_h%d_%d" % (i, k) for k in range(4)]
            for eid in ids:
                env.submit(env.job(eid, {"kind": "participant", "participant": "alice"},
                                   [{"kind": "file", "format": "mkv",
                                     "path": "{egress_id}.mkv"}]), key="room-bench")
                env.wait(eid, "active", 90)
            ev = egwtest.egress_log_lines(env.w, ["worker", "worker2", "worker3"])
            seen = env.t_produced[ids[3]]  # (before kcat starts: an upper bound)
            taken = [t for t, _, e, m in ev if e == ids[3] and
                     (m.startswith("taken over") or m.startswith("job process"))]
            out.append((max(taken) - seen) * 1000)
            for eid in ids:
                env.stop(eid)
            for eid in ids:
                env.wait(eid, "complete", 60)
            time.sleep(8 if not on else 1)  # the full worker rejoins (baseline)
        return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--burst", type=int, default=50)
    ap.add_argument("--handovers", type=int, default=5)
    ap.add_argument("--fleet", type=int, default=100, help="starts to the three workers")
    ap.add_argument("--fleet-burst", type=int, default=20)
    ap.add_argument("--warm-only", action="store_true",
                    help="only the burst on warm spares, printed, BENCHMARKS.md untouched")
    a = ap.parse_args()
    if a.warm_only:
        warm, pss, warm_cpu, kinds = burst(a.burst, a.burst)
        print("p50 %.0f p99 %.0f max %.0f ms; busy CPU per start %.0f ms" % (
            pct(warm, 50), pct(warm, 99), max(warm), warm_cpu * 1000))
        for k, v in sorted(kinds.items(), key=lambda kv: -kv[1]):
            print("  %-28s %6.1f ms per start" % (k, v * 1000))
        return
    cold, _, cold_cpu, cold_kinds = burst(a.burst, 0)
    warm, pss, warm_cpu, warm_kinds = burst(a.burst, a.burst)
    fleet, spread = fleet_bursts(a.fleet, a.fleet_burst)
    hand = handovers(a.handovers, True)
    rebal = handovers(a.handovers, False)
    md = ["<!-- bench_fleet:begin -->", "",
          "### Bursts and handovers (`bench/bench_fleet.py`)", "",
          "Run %s UTC on this machine (%s, %d cores, shared with other work)." %
          (time.strftime("%Y-%m-%d %H:%M", time.gmtime()), platform.machine(), os.cpu_count()),
          "",
          "Burst: %d audio-track starts produced at once to one worker (Janus, the "
          "publisher and the broker on the same 2 cores); latency from the requests "
          "produced to each one's first media byte written (`active`), ms:" % a.burst, "",
          "| worker | p50 | p99 | max | within 1.5 s |", "|---|---|---|---|---|"]
    for name, vals in (("`spare_jobs` %d (warm job processes)" % a.burst, warm),
                       ("baseline: `spare_jobs` 0 (each job process starts from scratch)",
                        cold)):
        md.append("| %s | %.0f | %.0f | %.0f | %d of %d |" % (
            name, pct(vals, 50), pct(vals, 99), max(vals),
            sum(1 for v in vals if v <= 1500), len(vals)))
    md += ["", "A warm spare holds %.1f MB (PSS: its share of the pages it shares with "
           "the other job processes counted in part). The machine's busy CPU from the "
           "requests to the last `active`, per start (every process: jobs, worker, Janus, "
           "broker; the egresses already recording included): %.0f ms with spares, %.0f ms "
           "without. On 2 cores the burst cannot end sooner than %d x that / 2: CPU, not "
           "waiting, bounds it." % (
               pss / 1024.0, warm_cpu * 1000, cold_cpu * 1000, a.burst), "",
           "Where the machine's CPU went during the bursts, ms per start (every process "
           "by its command line; the egresses already recording included):", "",
           "| processes | with spares | without |", "|---|---|---|"] + [
           "| %s | %.1f | %.1f |" % (k, warm_kinds.get(k, 0) * 1000, cold_kinds.get(k, 0) * 1000)
           for k in sorted(set(warm_kinds) | set(cold_kinds),
                           key=lambda k: -(warm_kinds.get(k, 0) + cold_kinds.get(k, 0)))
           if warm_kinds.get(k, 0) + cold_kinds.get(k, 0) >= 0.0005] + ["",
           "Fleet: three workers with their default settings (`spare_jobs` 4), %d "
           "audio-track starts in bursts of %d (each burst stopped before the next), keyed "
           "by egress id; from each request produced to its `active`, ms:" % (
               a.fleet, a.fleet_burst), "",
           "| starts | p50 | p99 | max | within 1.5 s | taken per worker |",
           "|---|---|---|---|---|---|",
           "| %d | %.0f | %.0f | %.0f | %d of %d | %s |" % (
               len(fleet), pct(fleet, 50), pct(fleet, 99), max(fleet),
               sum(1 for v in fleet if v <= 1500), len(fleet),
               ", ".join(str(v) for _, v in sorted(spread.items()))), "",
           "Handover: three workers with room for three participant recordings each; "
           "the fourth start of a partition reaches its full owner. From the start "
           "produced to another worker's job process taking it, %d starts, ms:" % a.handovers, "",
           "| worker | median | min | max |", "|---|---|---|---|"]
    for name, vals in (("`handover` 1: copy + offset in one transaction", hand),
                       ("baseline: `handover` 0: leave the group, rebalance", rebal)):
        md.append("| %s | %.0f | %.0f | %.0f |" % (name, statistics.median(vals), min(vals),
                                                  max(vals)))
    md += ["", "<!-- bench_fleet:end -->"]
    benchmd.write_block(md)


if __name__ == "__main__":
    main()
