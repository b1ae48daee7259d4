# SPDX-License-Identifier: MIT
"""Describe the machine a benchmark ran on.

Every report starts with this: kernel, CPU, memory, I/O scheduler and file
system of the data directory, NUMA nodes, liburing version, compiler, the
setup flags safer-ring chose, and how busy the machine was.
"""

import datetime
import os
import platform
import re
import shutil
import subprocess


def _run(argv):
    """The output of a command, or "" when it is missing or fails."""
    if not shutil.which(argv[0]) and not os.path.exists(argv[0]):
        return ""
    try:
        out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True, timeout=20)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def cpu_model():
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def memory():
    found = re.search(r"MemTotal:\s+(\d+) kB", _read("/proc/meminfo"))
    return "%.1f GiB" % (int(found.group(1)) / 2**20) if found else "unknown"


def numa_nodes():
    base = "/sys/devices/system/node"
    if not os.path.isdir(base):
        return "unknown"
    return str(len([d for d in os.listdir(base) if re.fullmatch(r"node\d+", d)]))


def block_device(path):
    """The block device holding path, its I/O scheduler, and the file system."""
    st = os.stat(path)
    sysdir = "/sys/dev/block/%d:%d" % (os.major(st.st_dev), os.minor(st.st_dev))
    device, scheduler = "unknown", "unknown"
    if os.path.exists(sysdir):
        real = os.path.realpath(sysdir)
        if not os.path.isdir(os.path.join(real, "queue")):
            real = os.path.dirname(real)        # a partition: its disk has the queue
        device = os.path.basename(real)
        sched = _read(os.path.join(real, "queue", "scheduler"))
        chosen = re.search(r"\[(\S+)\]", sched)
        scheduler = chosen.group(1) if chosen else (sched or "unknown")
    fs = _run(["findmnt", "-n", "-o", "FSTYPE,OPTIONS", "--target", path]) or "unknown"
    return device, scheduler, fs


def liburing_version():
    version = _run(["dpkg-query", "-W", "-f=${Version}", "liburing-dev"])
    return version or "unknown"


def git_commit(tree):
    commit = _run(["git", "-C", tree, "rev-parse", "--short", "HEAD"])
    # The results directory is what a run writes: its changes do not make
    # the measured build differ from the commit.
    if commit and _run(["git", "-C", tree, "status", "--porcelain", "--untracked-files=no",
                        "--", ".", ":(exclude)bench/results"]):
        commit += " (with uncommitted changes)"
    return commit or "unknown"


def busy():
    """How busy the machine is: load average, and the share of time in the last
    minute some task waited for a CPU or for I/O (pressure stall information)."""
    text = "load %.2f %.2f %.2f" % os.getloadavg()
    for what in ("cpu", "io"):
        found = re.search(r"some avg10=\S+ avg60=(\S+)", _read("/proc/pressure/" + what))
        if found:
            text += ", %s pressure %s%%" % (what, found.group(1))
    return text


def describe(data_dir, build_dir, cc, tree="."):
    """A dict describing this machine; keys are shown in this order."""
    device, scheduler, fs = block_device(data_dir)
    probe = _run([os.path.join(build_dir, "sr-probe")])
    setup = re.search(r"^setup flags\s+(.*)$", probe, re.M)
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "kernel": platform.release(),
        "os": _read("/etc/debian_version") and "Debian " + _read("/etc/debian_version"),
        "cpu": cpu_model(),
        "cpus": str(os.cpu_count()),
        "memory": memory(),
        "numa_nodes": numa_nodes(),
        "virtualization": _run(["systemd-detect-virt"]) or "unknown",
        "data_device": device,
        "io_scheduler": scheduler,
        "filesystem": fs,
        "liburing": liburing_version(),
        "compiler": _run([cc, "--version"]).splitlines()[0] if _run([cc, "--version"]) else cc,
        "ring_setup_flags": setup.group(1).strip() if setup else "unknown",
        "cp": _run(["cp", "--version"]).splitlines()[0] if shutil.which("cp") else "missing",
        "rsync": (_run(["rsync", "--version"]).splitlines() or ["missing"])[0],
        "git_commit": git_commit(tree),
        "busy_start": busy(),
    }
