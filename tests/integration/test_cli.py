"""The command line and the worker's start: brokers (none configured,
`embedded`, unreachable), stop signals while connecting, numbers and
arguments, --version, unknown EGRESS_ variables. No Janus and no namespace:
the binary runs directly, on loopback only."""

import os
import re
import signal
import socket
import subprocess
import time

import egwtest
from egwtest import expect

EGRESS = egwtest.EGRESS


def clean_env(**extra):
    """The caller's environment without any EGRESS_ variable, plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGRESS_")}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def finish(p, timeout):
    """(exit status or None when still running after timeout, stdout, stderr)."""
    try:
        out, err = p.communicate(timeout=timeout)
        return p.returncode, out, err
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        return None, out, err


class Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def run(argv, timeout=10, **env):
    """Runs egress to its end; returncode None when it was still running
    after timeout (and was killed)."""
    p = subprocess.Popen([EGRESS] + argv, env=clean_env(**env), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    return Result(*finish(p, timeout))


def closed_port():
    """A loopback port nobody listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_worker(**env):
    return subprocess.Popen([EGRESS, "worker"], env=clean_env(**env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def project_version():
    with open(os.path.join(egwtest.SRC, "CMakeLists.txt")) as f:
        return re.search(r"project\(egress VERSION ([0-9.]+)", f.read()).group(1)


def test_brokers():
    r = run(["worker"])
    expect(r.returncode == 2, "no brokers configured: the worker refuses to start (exit %s)"
           % r.returncode)
    expect("no Kafka brokers configured: set kafka_brokers or EGRESS_KAFKA_BROKERS, or "
           "`embedded` for a local test broker" in r.stderr,
           "no brokers configured: the message says how to configure them")

    p = start_worker(EGRESS_KAFKA_BROKERS="embedded")
    line = p.stdout.readline().strip()
    m = re.match(r"^bootstrap: (127\.0\.0\.1:\d+)$", line)
    expect(m is not None, "embedded: first stdout line is 'bootstrap: HOST:PORT' (%r)" % line)
    if m:
        md = subprocess.run(["kcat", "-L", "-b", m.group(1), "-m", "5"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, timeout=20)
        expect('topic "egress.jobs"' in md.stdout,
               "embedded: a real Kafka broker with the jobs topic answers at %s" % m.group(1))
    time.sleep(0.5)
    p.send_signal(signal.SIGTERM)
    rc, _, err = finish(p, 15)
    expect(rc == 0, "embedded: the worker ends on SIGTERM with exit 0 (%s)" % rc)
    expect(re.search(r"warn .*embedded broker on 127\.0\.0\.1:\d+.*nothing is persisted", err)
           is not None, "embedded: a WARN line says which broker and that nothing is persisted")

    r_port = closed_port()
    p = start_worker(EGRESS_KAFKA_BROKERS="127.0.0.1:%d" % r_port)
    time.sleep(1)
    p.send_signal(signal.SIGTERM)
    t0 = time.time()
    rc, _, err = finish(p, 5)
    expect(rc is not None, "unreachable broker: SIGTERM during the connect ends the worker "
           "within 5 s (%.1f s)" % (time.time() - t0))
    expect(rc == 0, "unreachable broker: stopped while connecting is a clean exit (%s)" % rc)
    expect("Kafka brokers: 127.0.0.1:%d" % r_port in err, "the worker logs the brokers it uses")

    p = start_worker(EGRESS_KAFKA_BROKERS="127.0.0.1:%d" % r_port,
                     EGRESS_KAFKA_CONNECT_TIMEOUT_S=2)
    rc, _, err = finish(p, 20)
    expect(rc not in (None, 0), "unreachable broker: the worker gives up after "
           "kafka_connect_timeout_s with an error (exit %s)" % rc)
    last = [l for l in err.splitlines() if " error " in l]
    expect(last and "unreachable" in last[-1] and "127.0.0.1:%d" % r_port in last[-1],
           "unreachable broker: the error names the brokers and says unreachable (%r)"
           % (last[-1] if last else err[-300:]))


def test_arguments():
    for bad in ("abc", "-5", "0", "nan", "inf", ""):
        r = run(["run", "/nonexistent-job.json", "--duration", bad])
        expect(r.returncode == 2 and "--duration must be a number of seconds greater than 0"
               in r.stderr, "run --duration %r: exit 2 with a message (%s)" % (bad, r.returncode))
    r = run(["run", "/nonexistent-job.json", "--duration", "1.5"])
    expect("--duration" not in r.stderr, "run --duration 1.5 is accepted")
    cases = [
        (["worker", "extra"], "unexpected argument 'extra'"),
        (["worker", "--duration", "5"], "--duration is not an option of worker"),
        (["run", "a.json", "b.json"], "unexpected argument 'b.json'"),
        (["run"], "missing JOB.json"),
        (["run", "a.json", "--bogus"], "unknown option '--bogus'"),
        (["run", "a.json", "--duration"], "option '--duration' needs a value"),
        (["broker", "now"], "unexpected argument 'now'"),
        (["config-doc", "x"], "unexpected argument 'x'"),
        (["version", "x"], "unexpected argument 'x'"),
        (["help", "x"], "unexpected argument 'x'"),
        (["frobnicate"], "unknown command 'frobnicate'"),
    ]
    for argv, want in cases:
        r = run(argv)
        expect(r.returncode == 2 and want in r.stderr,
               "egress %s: exit 2, says %r (%s: %s)" % (" ".join(argv), want, r.returncode,
                                                         r.stderr.strip()[-200:]))
    version = project_version()
    for argv in (["--version"], ["version"]):
        r = run(argv)
        expect(r.returncode == 0 and r.stdout.strip() == "egress " + version,
               "egress %s prints 'egress %s' (%r)" % (argv[0], version, r.stdout.strip()))
    r = run(["help"])
    expect(r.returncode == 0 and "version" in r.stdout, "help lists the version command")


def test_environment():
    r = run(["worker"], EGRESS_KAFKA_BROKERS="embedded", EGRESS_FOO="1")
    expect(r.returncode == 2 and "EGRESS_FOO" in r.stderr,
           "an unknown EGRESS_FOO stops the start, naming it (%s)" % r.returncode)
    r = run(["worker"], EGRESS_KAFKA_BROKERS="embedded", EGRESS_LOG_LEVEL="loud")
    expect(r.returncode == 2 and "EGRESS_LOG_LEVEL" in r.stderr,
           "a bad EGRESS_LOG_LEVEL stops the start, naming it (%s)" % r.returncode)
    r = run(["run", "/nonexistent-job.json"], EGRESS_STORAGE_DIR="")
    expect(r.returncode == 2 and "storage_dir must not be empty" in r.stderr,
           "an empty EGRESS_STORAGE_DIR stops `egress run` too (%s)" % r.returncode)


def main():
    test_arguments()
    test_environment()
    test_brokers()


if __name__ == "__main__":
    egwtest.main(main)
