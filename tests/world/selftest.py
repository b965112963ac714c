#!/usr/bin/python3
"""Self-test of the test world: namespace up, Janus answers, room 1234 is
empty, everything is gone after close. Needs root. Exit 0 on success."""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from world import World  # noqa: E402


def ns_list():
    out = subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE, check=True).stdout
    return [line.split()[0] for line in out.decode().splitlines() if line.strip()]


def main():
    t0 = time.time()
    with World("selftest") as w:
        ns, d = w.ns, w.dir
        assert ns in ns_list(), ns
        addrs = w.call(["ip", "-o", "addr"]).stdout.decode()
        assert "egw0    inet 198.18.0.1/24" in addrs and "egw1    inet 198.18.0.2/24" in addrs, addrs
        assert "inet6" not in addrs, "IPv6 should be off in the namespace:\n" + addrs

        t1 = time.time()
        url = w.start_janus()
        print("janus up at %s in %.2f s" % (url, time.time() - t1))
        info = w.janus_request("info")
        assert info["janus"] == "server_info", info
        plugins = sorted(info.get("plugins", {}))
        transports = sorted(info.get("transports", {}))
        print("plugins:", plugins, "transports:", transports)
        assert plugins == ["janus.plugin.videoroom"], plugins
        assert transports == ["janus.transport.http"], transports
        for room in (1234, 1235, 1236):
            parts = w.listparticipants(room)
            assert parts == [], (room, parts)
        rooms = w.videoroom_request({"request": "list"})["list"]
        r1234 = [r for r in rooms if r["room"] == 1234][0]
        print("room 1234:", {k: r1234.get(k) for k in ("videocodec", "audiocodec", "max_publishers",
                                                       "record", "notify_joining")})
        assert r1234["videocodec"] == "vp8,h264" and r1234["audiocodec"] == "opus", r1234
        assert r1234["max_publishers"] == 6 and not r1234["record"], r1234
        assert w.call(["ip", "netns", "identify", str(w.janus_proc.pid)]).stdout.decode().strip() == ns
        # Janus gathers on egw0 only (its log names the interface).
        log = open(os.path.join(d, "janus-8088", "janus.log")).read()
        assert "egw0" in log, log[-2000:]
    assert ns not in ns_list(), "namespace %s still exists" % ns
    assert not os.path.exists(d) or os.environ.get("EGW_KEEP_WORLD") == "1", d
    print("selftest OK in %.2f s" % (time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
