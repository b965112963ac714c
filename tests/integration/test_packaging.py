"""The packaging in docker/, checked without Docker (it cannot run on this
machine): the Dockerfile builds from the set-up script's package list and
runs as a non-root user with a health check; every shared library the built
`egress` links and every GStreamer element its code makes comes from
docker/runtime-packages.txt or the packages those depend on (apt resolves
the dependencies, dpkg says which package holds each file); the compose
file has the services and settings it promises; the Kubernetes objects
give the drain its time and probe /readyz and /healthz; the Grafana
dashboard queries only metrics the worker exports."""

import glob
import json
import os
import re
import subprocess

import yaml

import egwtest
from egwtest import expect

SRC = egwtest.SRC
DOCKER = os.path.join(SRC, "docker")


def packages(path):
    with open(path) as f:
        return [l.strip() for l in f if l.strip() and not l.startswith("#")]


def run(argv):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          check=False)


def closure(pkgs):
    """The packages pkgs need, recursively (apt-cache), pkgs included."""
    r = run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
             "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"] + pkgs)
    expect(r.returncode == 0, "apt resolves the runtime packages' dependencies")
    out = set(pkgs)
    for line in r.stdout.splitlines():
        line = line.strip()
        m = re.match(r"^(?:\|?(?:Pre)?Depends: )?<?([a-z0-9][a-z0-9+.:-]*)>?$", line)
        if m:
            out.add(m.group(1).split(":")[0])
    return out


def owner(path):
    """The Debian package that holds path (merged /usr: either spelling)."""
    real = os.path.realpath(path)
    for p in (path, real, real.replace("/usr/lib/", "/lib/", 1),
              real.replace("/lib/", "/usr/lib/", 1)):
        r = run(["dpkg", "-S", p])
        if r.returncode == 0:
            return r.stdout.split(":")[0].strip()
    return None


def element_names():
    """Names of the GStreamer element factories installed here."""
    r = run(["gst-inspect-1.0"])
    names = set()
    for line in r.stdout.splitlines():
        parts = [p.strip() for p in line.split(":")]
        if len(parts) >= 3 and parts[1]:
            names.add(parts[1])
    return names


def used_elements(installed):
    """String literals of the media code that are element names."""
    literals = set()
    for path in glob.glob(os.path.join(SRC, "pipelines", "*.c")) + \
            glob.glob(os.path.join(SRC, "sfu", "*.c")):
        with open(path) as f:
            literals |= set(re.findall(r'"([a-z0-9_]+)"', f.read()))
    return sorted(literals & installed)


def test_dockerfile():
    with open(os.path.join(DOCKER, "Dockerfile")) as f:
        text = f.read()
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    expect(len(stages) == 2 and stages[0].startswith("debian:12 AS build") and
           stages[1].startswith("debian:12-slim"), "two stages: build on Debian 12, run on slim")
    build, runtime = stages
    expect("COPY scripts/packages.txt" in build and "xargs apt-get install" in build,
           "the build stage installs the set-up script's package list")
    expect("COPY docker/runtime-packages.txt" in runtime and "xargs apt-get install" in runtime,
           "the runtime stage installs runtime-packages.txt")
    user = re.findall(r"^USER (\S+)", runtime, flags=re.M)
    expect(user and user[-1] not in ("root", "0"), "it runs as a non-root user: %s" % user)
    expect(re.search(r"^HEALTHCHECK .*/healthz", runtime, flags=re.M) and
           "EXPOSE 9464" in runtime and "EGRESS_HTTP_LISTEN=0.0.0.0:9464" in runtime,
           "health check on /healthz of the metrics port it exposes")
    expect(re.search(r"^STOPSIGNAL SIGTERM", runtime, flags=re.M) and
           'CMD ["worker"]' in runtime, "SIGTERM (the drain) stops the worker it runs")
    listed = packages(os.path.join(SRC, "scripts", "packages.txt"))
    expect("libmicrohttpd-dev" in listed, "the set-up list has what the build needs")


def test_runtime_packages():
    pkgs = packages(os.path.join(DOCKER, "runtime-packages.txt"))
    missing = [p for p in pkgs if run(["apt-cache", "show", "--no-all-versions", p]).returncode]
    expect(not missing, "every runtime package exists in Debian 12: %s" % missing)
    need = closure(pkgs)
    r = run(["ldd", egwtest.EGRESS])
    libs = [l.split("=>")[1].split()[0] for l in r.stdout.splitlines()
            if "=>" in l and "/" in l.split("=>")[1]]
    expect(len(libs) > 10, "ldd lists the binary's libraries (%d)" % len(libs))
    # (a sanitizer build links its runtimes: not part of the image's build)
    libs = [l for l in libs if not re.search(r"/lib(a|ub|l|t)san\.so", l)]
    uncovered = {lib: owner(lib) for lib in libs if owner(lib) not in need}
    expect(not uncovered, "every library of egress comes from the runtime packages: %s"
           % uncovered)
    installed = element_names()
    used = used_elements(installed)
    expect(len(used) > 20, "the media code names %d installed elements" % len(used))
    plugins = {}
    for name in used:
        out = run(["gst-inspect-1.0", name]).stdout
        m = re.search(r"^\s*Filename\s+(\S+)", out, flags=re.M)
        plugins[name] = owner(m.group(1)) if m else "libgstreamer1.0-0"  # (core elements)
    uncovered = {n: p for n, p in plugins.items() if p not in need}
    expect(not uncovered, "every GStreamer element it makes comes from the runtime packages: "
           "%s" % uncovered)


def test_compose():
    with open(os.path.join(DOCKER, "compose.yaml")) as f:
        c = yaml.safe_load(f)
    s = c["services"]
    expect({"kafka", "janus", "minio", "rtmp", "worker-1", "worker-2", "prometheus",
            "grafana"} <= set(s), "services: %s" % sorted(s))
    expect("controller" in s["kafka"]["environment"]["KAFKA_PROCESS_ROLES"],
           "Kafka in KRaft mode (no ZooKeeper)")
    for name in ("worker-1", "worker-2"):
        env = s[name]["environment"]
        grace = int(s[name]["stop_grace_period"].rstrip("s"))
        expect(env["EGRESS_KAFKA_BROKERS"] == "kafka:9092" and env["EGRESS_WORKER_ID"] == name
               and grace >= int(env["EGRESS_DRAIN_TIMEOUT_S"]) + int(env["EGRESS_STOP_GRACE_S"]),
               "%s: brokers, its id, a stop grace covering the drain" % name)
    with open(os.path.join(DOCKER, "prometheus.yml")) as f:
        prom = yaml.safe_load(f)
    targets = prom["scrape_configs"][0]["static_configs"][0]["targets"]
    expect(targets == ["worker-1:9464", "worker-2:9464"], "Prometheus scrapes both workers")


def test_k8s():
    with open(os.path.join(DOCKER, "k8s", "egress.yaml")) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    by_kind = {d["kind"]: d for d in docs}
    env = by_kind["ConfigMap"]["data"]
    pod = by_kind["StatefulSet"]["spec"]["template"]["spec"]
    expect(pod["terminationGracePeriodSeconds"] >=
           int(env["EGRESS_DRAIN_TIMEOUT_S"]) + int(env["EGRESS_STOP_GRACE_S"]),
           "terminationGracePeriodSeconds covers the drain")
    c = pod["containers"][0]
    port = int(env["EGRESS_HTTP_LISTEN"].split(":")[1])
    expect(c["readinessProbe"]["httpGet"]["path"] == "/readyz" and
           c["livenessProbe"]["httpGet"]["path"] == "/healthz" and
           c["ports"][0]["containerPort"] == port, "probes on /readyz and /healthz, port %d" % port)
    expect(c["resources"]["requests"]["cpu"] and c["resources"]["limits"]["memory"],
           "resources set")
    expect(pod["securityContext"]["runAsNonRoot"] is True, "non-root")
    hpa = by_kind["HorizontalPodAutoscaler"]
    expect(hpa["spec"]["scaleTargetRef"]["name"] == by_kind["StatefulSet"]["metadata"]["name"]
           and hpa["spec"]["metrics"][0]["pods"]["metric"]["name"] == "egress_jobs",
           "an autoscaler on the workers' recording jobs")


def test_dashboard():
    with open(os.path.join(SRC, "worker", "metrics.c")) as f:
        exported = set(re.findall(r'metric\(\w+, "([a-z_]+)"', f.read()))
    expect(len(exported) >= 10, "the worker exports %d metric families" % len(exported))
    with open(os.path.join(DOCKER, "grafana", "egress-dashboard.json")) as f:
        dash = json.load(f)
    used = set()
    for p in dash["panels"]:
        for t in p["targets"]:
            used |= set(re.findall(r"\b(egress_[a-z_]+)", t["expr"]))
    base = {re.sub(r"_(bucket|sum|count)$", "", u) for u in used}
    expect(base and base <= exported, "the dashboard queries only exported metrics: %s"
           % sorted(base - exported))


def test():
    test_dockerfile()
    test_runtime_packages()
    test_compose()
    test_k8s()
    test_dashboard()


if __name__ == "__main__":
    egwtest.main(test)
