"""CPU figures from /proc, shared by the benchmarks."""

import os

CLK = os.sysconf("SC_CLK_TCK")


def cpu_of(pid):
    """CPU seconds (user + system) a process has used so far; OSError when
    it is gone."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def machine_jiffies():
    """(all, busy) jiffies of the whole machine so far (/proc/stat's first
    line; busy: all but idle and iowait)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v), sum(v) - v[3] - v[4]
