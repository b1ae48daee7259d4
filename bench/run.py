# SPDX-License-Identifier: MIT
"""Run the benchmark workloads and record every sample in results.json.

Workloads (each compares programs doing identical I/O):

  nop    NOP submit + complete at batch 1, 8, 32, 128: the checked API and
         the _raw variant (bench/nop_sr.c) against raw liburing
         (bench/nop_liburing.c); ns per op, timed inside each program
         around the op loop only (ring setup and a warmup are outside).
  ops    the paths people use (bench/ops.h: owned-buffer read and write,
         pool read, fixed read, multishot recv on a buffer group, send,
         multishot accept, callback delivery) at batch 1, 8, 32: the checked
         API and the _raw variant (bench/ops_sr.c) against raw liburing doing
         the same work (bench/ops_liburing.c); ns per op, timed like nop.
  copy   a 1 GiB file, page cache hot, without and with the final fsync:
         the file_copy example, raw liburing (bench/copy_liburing.c), cp,
         and a read/write loop (bench/copy_rw.c); GiB/s.
  echo   TCP echo on 127.0.0.1: the echo_server example, raw liburing
         (bench/echo_liburing.c), epoll (bench/echo_epoll.c), driven by
         bench/echo_load.c (closed loop, C connections, fixed message
         size, bounded in time); requests/s and latency percentiles.
  sync   10,000 files of 4 KiB, and one 1 GiB file: uring-sync against
         cp -a and rsync -a; seconds.

Copies and syncs are timed from the command's start to its exit, the same
way for every program (so a program's own setup, e.g. its ring, counts
the way cp's does; for the C baselines it is also printed on its own).
Nothing that prepares a run is timed: source files are made once and read
into the page cache, and the destination is removed (and the file system
synced) before each run.

Runs are interleaved: in repetition k, the programs of a workload run in
turn, starting with the k-th (A B C, B C A, C A B, ...), so slow phases of
a noisy machine hit every program alike.  A program that is not built is
skipped with its reason, and the report says "not measured".

Usage: run.py [--quick] --build BUILD --data DATA_DIR --out OUT_DIR [--only nop,copy,...]
"""

import argparse
import filecmp
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import sysinfo

GiB = 1 << 30


class BenchError(Exception):
    """A run failed: the program is dropped from its workload."""


# --- running one command -------------------------------------------------------------

def run_timed(argv, timeout=300):
    """Run argv; return (wall seconds, CPU seconds, stdout).

    The wall time runs from just before the fork to the exit; the CPU time
    is the child's user + system time (its threads included, so io_uring's
    io-wq workers count too)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise BenchError("%s exited with %d: %s" % (" ".join(argv), proc.returncode,
                                                      err.read().strip()[-500:]))
        return wall, usage.ru_utime + usage.ru_stime, out.read()


def fields(line):
    """The key=value pairs of a result line, numbers as floats."""
    found = {}
    for key, value in re.findall(r"(\w+)=(\S+)", line):
        try:
            found[key] = float(value)
        except ValueError:
            found[key] = value
    return found


def remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def settle(path):
    """Before a run (untimed): remove the destination, write back what is dirty."""
    remove(path)
    os.sync()


def warm(path):
    """Read a file or a tree once, so that it is in the page cache."""
    paths = [path] if os.path.isfile(path) else [
        os.path.join(d, f) for d, _, files in os.walk(path) for f in files]
    for p in paths:
        with open(p, "rb") as f:
            while f.read(1 << 20):
                pass


def tree_size(path):
    """(number of files, total bytes) under path."""
    if os.path.isfile(path):
        return 1, os.path.getsize(path)
    files = size = 0
    for d, _, names in os.walk(path):
        for name in names:
            files += 1
            size += os.path.getsize(os.path.join(d, name))
    return files, size


# --- programs and workloads ----------------------------------------------------------

class Program:
    """One contender of a workload."""

    def __init__(self, name, label, side, binary):
        self.name = name            # key in results.json
        self.label = label          # shown in the report
        self.side = side            # "safer-ring", "raw io_uring" or "alternative"
        self.binary = binary        # checked for existence before the runs
        self.samples = []
        self.skip = None            # why it was not measured, if it was not
        self.verified = False       # its output was compared in full once

    def check(self):
        if self.binary and not (os.path.isfile(self.binary) or shutil.which(self.binary)):
            self.skip = "not built (%s does not exist)" % self.binary
        return self.skip is None


class Workload:
    """Programs, how to measure one run of one of them, and what to compare."""

    def __init__(self, wid, group, title, metric, unit, better, programs, measure,
                 comparisons, notes=""):
        self.id = wid
        self.group = group
        self.title = title
        self.metric = metric
        self.unit = unit
        self.better = better        # "lower" or "higher"
        self.programs = programs
        self.measure = measure      # measure(program) -> sample dict with "value"
        self.comparisons = comparisons
        self.notes = notes
        self.prepare = None         # run once before the first run, untimed
        self.reps = None            # repetitions, when not the group's

    def to_json(self):
        return {
            "id": self.id, "group": self.group, "title": self.title, "metric": self.metric,
            "unit": self.unit, "better": self.better, "notes": self.notes,
            "comparisons": self.comparisons,
            "programs": [{"name": p.name, "label": p.label, "side": p.side, "skip": p.skip,
                          "samples": p.samples} for p in self.programs],
        }


def comparison(candidate, baseline, target=None, headline=False, cpu_target=None):
    """candidate against baseline; target is ("overhead", max percent) or
    ("speed", minimum speed ratio), stated as met or not met in the report;
    cpu_target the same, judged on the CPU time samples."""
    return {"candidate": candidate, "baseline": baseline, "target": target,
            "headline": headline, "cpu_target": cpu_target}


def nop_workloads(cfg):
    build = cfg.build
    ops = cfg.nop_ops
    workloads = []
    for batch in (1, 8, 32, 128):
        progs = [
            Program("sr_checked", "safer-ring checked API", "safer-ring",
                    os.path.join(build, "bench", "nop_sr")),
            Program("sr_raw", "safer-ring _raw variant", "safer-ring",
                    os.path.join(build, "bench", "nop_sr")),
            Program("liburing_wait", "liburing, wait_cqe + cqe_seen per op", "raw io_uring",
                    os.path.join(build, "bench", "nop_liburing")),
            Program("liburing_batch", "liburing, for_each_cqe + cq_advance", "raw io_uring",
                    os.path.join(build, "bench", "nop_liburing")),
        ]
        mode = {"sr_checked": "checked", "sr_raw": "raw",
                "liburing_wait": "wait", "liburing_batch": "batch"}

        def measure(p, batch=batch):
            _, _, out = run_timed([p.binary, mode[p.name], str(batch), str(ops), str(ops // 8)])
            f = fields(out)
            return {"value": f["ns_per_op"], "cpu": f["cpu_ns_per_op"], "setup_ns": f["setup_ns"]}

        workloads.append(Workload(
            "nop-b%d" % batch, "nop", "NOP submit + complete, batch %d" % batch,
            "time per op", "ns/op", "lower", progs, measure,
            [comparison("sr_checked", "liburing_wait", ("overhead", 2.0), headline=True),
             comparison("sr_raw", "liburing_batch", ("overhead", 2.0), headline=True)],
            notes="%d ops per run after %d warmup ops; the clock runs around the op loop only."
                  % (ops, ops // 8)))
    return workloads


# Ops per run at batch 32 (fewer at smaller batches, where each op enters
# the kernel): about 0.05-0.1 s a run on an idle machine here; the read path
# at batch 32, which has a target, runs longer and more often.
OPS_RUN = {"read": 1 << 17, "write": 1 << 14, "pool": 1 << 16, "fixed": 1 << 17,
           "recv": 1 << 14, "send": 1 << 15, "accept": 1 << 12, "cb": 1 << 17}
OPS_PATHS = [  # path, what, has a _raw variant, liburing's mode for the checked API
    ("read", "64-byte read into an owned buffer (page cache)", True, "wait"),
    ("write", "64-byte write from an owned buffer (page cache)", True, "wait"),
    ("pool", "4 KiB read into a pool buffer, taken and put back per op", False, "wait"),
    ("fixed", "64-byte read into a registered (fixed) buffer", True, "wait"),
    ("recv", "64-byte datagrams from a multishot recv on a buffer group", False, "wait"),
    ("send", "64-byte send from an owned buffer", True, "wait"),
    ("accept", "connections from a multishot accept", True, "wait"),
    ("cb", "64-byte reads delivered to callbacks (sr_ring_run)", False, "loop"),
]


def ops_workloads(cfg):
    sr = os.path.join(cfg.build, "bench", "ops_sr")
    lu = os.path.join(cfg.build, "bench", "ops_liburing")
    workloads = []
    for path, what, has_raw, base_mode in OPS_PATHS:
        for batch in (1, 8, 32):
            ops = max(OPS_RUN[path] >> {1: 3, 8: 1, 32: 0}[batch], 256)
            if (path, batch) == ("read", 32):
                ops *= 2
            if cfg.quick:
                ops = max(ops >> 4, 256)
            base_label = {"wait": "liburing, wait_cqe + cqe_seen per op",
                          "loop": "liburing event loop, a function per completion"}[base_mode]
            progs = [Program("sr_checked", "safer-ring checked API", "safer-ring", sr),
                     Program("liburing_" + base_mode, base_label, "raw io_uring", lu)]
            target = ("overhead", 3.0) if (path, batch) == ("read", 32) else None
            comps = [comparison("sr_checked", "liburing_" + base_mode, target,
                                headline=batch == 32, cpu_target=target)]
            if has_raw:
                progs += [Program("sr_raw", "safer-ring _raw variant", "safer-ring", sr),
                          Program("liburing_batch", "liburing, for_each_cqe + cq_advance",
                                  "raw io_uring", lu)]
                comps.append(comparison("sr_raw", "liburing_batch", headline=batch == 32))
            mode = {"sr_checked": "checked", "sr_raw": "raw", "liburing_wait": "wait",
                    "liburing_loop": "loop", "liburing_batch": "batch"}

            def measure(p, path=path, batch=batch, ops=ops):
                _, _, out = run_timed([p.binary, path, mode[p.name], str(batch), str(ops),
                                       str(max(ops // 8 // batch, 1) * batch)])
                f = fields(out)
                return {"value": f["ns_per_op"], "cpu": f["cpu_ns_per_op"],
                        "setup_ns": f["setup_ns"], "setup_flags": f["setup_flags"]}

            w = Workload(
                "ops-%s-b%d" % (path, batch), "ops", "%s, batch %d" % (what, batch),
                "time per op", "ns/op", "lower", progs, measure, comps,
                notes="%d ops per run after %d warmup ops; the clock runs around the op loop "
                      "only (bench/ops.h)." % (ops, max(ops // 8 // batch, 1) * batch))
            if (path, batch) == ("read", 32):
                w.reps = cfg.reps["ops_target"]
            workloads.append(w)
    return workloads


def copy_workloads(cfg):
    src = os.path.join(cfg.data, "file.bin")
    dst = os.path.join(cfg.data, "copy.out")
    workloads = []
    for synced in (False, True):
        progs = [
            Program("file_copy", "safer-ring file_copy example", "safer-ring",
                    os.path.join(cfg.build, "examples", "file_copy")),
            Program("copy_liburing", "raw liburing (8 x 128 KiB in flight)", "raw io_uring",
                    os.path.join(cfg.build, "bench", "copy_liburing")),
            Program("cp", "cp (coreutils: copy_file_range)", "alternative", "cp"),
            Program("copy_rw", "read/write loop (128 KiB)", "alternative",
                    os.path.join(cfg.build, "bench", "copy_rw")),
        ]

        def measure(p, synced=synced):
            settle(dst)
            if p.name == "cp":
                wall, cpu, _ = run_timed(["cp", src, dst])
                if synced:      # cp has no fsync of its own: sync(1) on the file does it
                    wall2, cpu2, _ = run_timed(["sync", dst])
                    wall, cpu = wall + wall2, cpu + cpu2
            else:
                wall, cpu, _ = run_timed([p.binary] + (["--sync"] if synced else []) + [src, dst])
            size = os.path.getsize(dst)
            if size != cfg.file_size:
                raise BenchError("%s wrote %d bytes, not %d" % (p.name, size, cfg.file_size))
            if not p.verified:
                if not filecmp.cmp(src, dst, shallow=False):
                    raise BenchError("%s: the copy differs from the source" % p.name)
                p.verified = True
            return {"value": cfg.file_size / wall / GiB, "cpu": cpu, "seconds": wall}

        mode = "with the final fsync" if synced else "page cache hot, no fsync"
        w = Workload(
            "copy-sync" if synced else "copy-hot", "copy",
            "File copy of %s, %s" % (human(cfg.file_size), mode), "throughput", "GiB/s",
            "higher", progs, measure,
            [comparison("file_copy", "copy_liburing", ("speed", 0.97), headline=True),
             comparison("file_copy", "cp", ("speed", 0.95), headline=True),
             comparison("copy_liburing", "cp"),
             comparison("copy_liburing", "copy_rw")],
            notes="Source in the page cache; destination removed and the file system synced "
                  "before each run (untimed). Time: the command's start to its exit%s."
                  % ("; cp is followed by sync(1) on the copy, which fsyncs it" if synced else ""))
        w.prepare = lambda: warm(src)
        workloads.append(w)
    return workloads


def numa_nodes():
    n = 0
    while os.path.exists("/sys/devices/system/node/node%d" % n):
        n += 1
    return max(n, 1)


def numa_workloads(cfg):
    """One ring per NUMA node, each reading into a registered pool on its own node
    (sr_pool_create_on_node) or on the next one (bench/numa_sr.c)."""
    binary = os.path.join(cfg.build, "bench", "numa_sr")
    nodes = numa_nodes()
    progs = [
        Program("sr_local", "safer-ring, each ring's pool on its node", "safer-ring", binary),
        Program("sr_remote", "safer-ring, each ring's pool on the next node", "safer-ring", binary),
    ]
    if nodes < 2:
        progs[1].skip = "this machine has one NUMA node: no pool is remote"
    ops = cfg.numa_ops

    def measure(p):
        _, _, out = run_timed([p.binary, "local" if p.name == "sr_local" else "remote", "64",
                               str(ops), str(ops // 8)])
        f = fields(out)
        return {"value": f["ns_per_op"], "cpu": f["cpu_ns_per_op"], "setup_ns": f["setup_ns"],
                "mib_per_s": f["mib_per_s"]}

    return [Workload(
        "numa-rings", "numa", "One ring per NUMA node (%d here), 64 KiB fixed reads into its pool" % nodes,
        "time per op", "ns/op", "lower", progs, measure,
        [comparison("sr_local", "sr_remote")] if nodes > 1 else [],
        notes="Each ring on a thread pinned to its node's first CPU reads a memfd written there "
              "(its node's page cache) into 8 registered buffers of a pool made with "
              "sr_pool_create_on_node, %d ops per ring; time per op of all rings together. "
              "`make check-numa` checks the placement page by page." % ops)]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """An echo server process: started, ready when it prints its port, stopped by SIGTERM."""

    def __init__(self, argv):
        self.err = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.err, text=True)
        line = [None]
        reader = threading.Thread(target=lambda: line.__setitem__(0, self.proc.stdout.readline()))
        reader.start()
        reader.join(10)
        found = re.search(r"listening on [\d.]+:(\d+)", line[0] or "")
        if not found:
            self.stop()
            self.err.seek(0)
            raise BenchError("%s did not print 'listening on 127.0.0.1:PORT' (got %r; %s)"
                             % (" ".join(argv), line[0], self.err.read().strip()[-300:]))
        self.port = int(found.group(1))

    def cpu_ns(self):
        """CPU time the server's threads have used so far, in ns (schedstat:
        nanoseconds, where rusage and /proc/PID/stat count clock ticks)."""
        total = 0
        task_dir = "/proc/%d/task" % self.proc.pid
        try:
            for tid in os.listdir(task_dir):
                try:
                    with open(os.path.join(task_dir, tid, "schedstat")) as f:
                        total += int(f.read().split()[0])
                except (OSError, ValueError, IndexError):
                    pass            # a thread that just ended
        except OSError as e:
            raise BenchError("cannot read the server's CPU time: %s" % e)
        return total

    def stop(self):
        """SIGTERM; returns the server's CPU seconds."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            timer = threading.Timer(10, self.proc.kill)
            timer.start()
            _, status, usage = os.wait4(self.proc.pid, 0)
            timer.cancel()
            self.proc.returncode = os.waitstatus_to_exitcode(status)
            return usage.ru_utime + usage.ru_stime
        except ChildProcessError:
            return float("nan")
        finally:
            self.proc.stdout.close()
            self.err.close()


def echo_workloads(cfg):
    load = os.path.join(cfg.build, "bench", "echo_load")
    workloads = []
    for conns, size in cfg.echo_configs:
        progs = [
            Program("echo_server", "safer-ring echo_server example", "safer-ring",
                    os.path.join(cfg.build, "examples", "echo_server")),
            Program("echo_liburing", "raw liburing echo", "raw io_uring",
                    os.path.join(cfg.build, "bench", "echo_liburing")),
            Program("echo_liburing_mshot", "raw liburing echo, echo_server's design",
                    "raw io_uring", os.path.join(cfg.build, "bench", "echo_liburing_mshot")),
            Program("echo_epoll", "epoll echo", "alternative",
                    os.path.join(cfg.build, "bench", "echo_epoll")),
        ]

        def measure(p, conns=conns, size=size):
            server = Server([p.binary, "--port", str(free_port())])
            try:
                # The server's CPU time while the load runs (its start-up and
                # shutdown, which differ by program, are not per request).
                cpu0 = server.cpu_ns()
                _, _, out = run_timed([load, "--port", str(server.port), "--conns", str(conns),
                                       "--size", str(size), "--duration", str(cfg.echo_seconds),
                                       "--warmup", str(cfg.echo_warmup)], timeout=60)
                cpu = server.cpu_ns() - cpu0
            finally:
                server.stop()
            f = fields(out)
            if not f.get("requests"):
                raise BenchError("%s served no request" % p.name)
            return {"value": f["rps"], "p50_us": f["p50_us"], "p99_us": f["p99_us"],
                    "p999_us": f["p999_us"], "mean_us": f["mean_us"],
                    "cpu": cpu / f["total"] / 1e3}      # server CPU µs per request

        workloads.append(Workload(
            "echo-c%d-s%d" % (conns, size), "echo",
            "Echo, %d connections, %d-byte messages" % (conns, size),
            "requests per second", "req/s", "higher", progs, measure,
            [comparison("echo_server", "echo_liburing", ("speed", 0.97), headline=True,
                        cpu_target=("overhead", 3.0)),
             comparison("echo_server", "echo_liburing_mshot", ("speed", 0.97), headline=True,
                        cpu_target=("overhead", 3.0)),
             comparison("echo_server", "echo_epoll", ("speed", 1.0), headline=True),
             comparison("echo_liburing_mshot", "echo_liburing"),
             comparison("echo_liburing", "echo_epoll")],
            notes="echo_load keeps one request in flight per connection; %.1f s warmup, then "
                  "%.1f s measured. Server and load generator share the machine's %d CPUs. CPU "
                  "time: the server's (all its threads') time on a CPU from just before the "
                  "load starts to just after it ends, per request served (warmup included in "
                  "both), from /proc/PID/task/*/schedstat. echo_liburing receives into a buffer "
                  "of each connection's own; echo_liburing_mshot is built like echo_server "
                  "(multishot accept, multishot recv on a shared buffer ring, one send at a "
                  "time per connection, the buffer back after its send), so echo_server "
                  "against it is what safer-ring costs, and it against echo_liburing what "
                  "the design costs."
                  % (cfg.echo_warmup, cfg.echo_seconds, os.cpu_count())))
    return workloads


def sync_workloads(cfg):
    workloads = []
    datasets = [
        ("small", os.path.join(cfg.data, "small"),
         "%d files of 4 KiB" % cfg.small_files, True),
        ("big", os.path.join(cfg.data, "big"), "one %s file" % human(cfg.file_size), False),
    ]
    for key, src, what, targets in datasets:
        dst = os.path.join(cfg.data, "sync.out")
        progs = [
            Program("uring_sync", "uring-sync", "safer-ring",
                    os.path.join(cfg.build, "uring-sync")),
            Program("cp_a", "cp -a", "alternative", "cp"),
            Program("rsync_a", "rsync -a", "alternative", "rsync"),
        ]
        argv = {"uring_sync": lambda p, s, d: [p.binary, s + "/", d],   # SRC/: its contents, as rsync
                "cp_a": lambda p, s, d: ["cp", "-a", s, d],
                "rsync_a": lambda p, s, d: ["rsync", "-a", s + "/", d + "/"]}

        def measure(p, src=src, dst=dst):
            settle(dst)
            wall, cpu, _ = run_timed(argv[p.name](p, src, dst))
            if tree_size(dst) != tree_size(src):
                raise BenchError("%s: the copy has %s (files, bytes), the source %s"
                                 % (p.name, tree_size(dst), tree_size(src)))
            return {"value": wall, "cpu": cpu}

        w = Workload(
            "sync-" + key, "sync", "Tree copy: %s" % what, "time", "s", "lower", progs, measure,
            [comparison("uring_sync", "cp_a", ("speed", 1.0) if targets else None, headline=True),
             comparison("uring_sync", "rsync_a", ("speed", 2.0) if targets else None,
                        headline=True),
             comparison("cp_a", "rsync_a")],
            notes="Source tree in the page cache; destination removed and the file system synced "
                  "before each run (untimed); no fsync in the timed copy. Time: the command's "
                  "start to its exit. Each copy's file count and bytes are checked.")
        w.prepare = lambda src=src: warm(src)
        workloads.append(w)
    return workloads


# --- data -------------------------------------------------------------------------------

def human(n):
    for unit, size in (("GiB", GiB), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return "%d %s" % (n // size, unit)
    return "%d bytes" % n


def make_data(cfg):
    """The source files, made once per size and kept (untimed)."""
    os.makedirs(cfg.data, exist_ok=True)
    marker = os.path.join(cfg.data, ".ready-%d-%d" % (cfg.file_size, cfg.small_files))
    if os.path.exists(marker):
        return
    for old in os.listdir(cfg.data):
        remove(os.path.join(cfg.data, old))
    print("bench: making the data in %s (once)" % cfg.data, flush=True)
    # The big file: 1 MiB of random bytes, each copy stamped with its index,
    # so that no two MiB are alike (faster than reading /dev/urandom).
    block = bytearray(os.urandom(1 << 20))
    with open(os.path.join(cfg.data, "file.bin"), "wb") as f:
        for i in range(cfg.file_size >> 20):
            block[:8] = i.to_bytes(8, "little")
            f.write(block)
    os.makedirs(os.path.join(cfg.data, "big"))
    os.link(os.path.join(cfg.data, "file.bin"), os.path.join(cfg.data, "big", "file.bin"))
    # The small files: 100 per directory.
    for i in range(cfg.small_files):
        d = os.path.join(cfg.data, "small", "d%03d" % (i // 100))
        if i % 100 == 0:
            os.makedirs(d)
        with open(os.path.join(d, "f%03d" % (i % 100)), "wb") as f:
            f.write(os.urandom(4096))
    os.sync()
    open(marker, "w").close()


# --- the runner -------------------------------------------------------------------------

def run_workload(w, reps, warmup_round):
    reps = w.reps or reps
    if w.prepare:
        w.prepare()
    ready = [p for p in w.programs if p.check()]
    for p in w.programs:
        if p.skip:
            print("bench: %s: skip %s: %s" % (w.id, p.label, p.skip), flush=True)
    if warmup_round:
        for p in list(ready):
            try:
                w.measure(p)
            except BenchError as e:
                p.skip = "failed: %s" % e
                ready.remove(p)
    for rep in range(reps):
        k = rep % max(1, len(ready))
        for p in ready[k:] + ready[:k]:
            if p.skip:
                continue
            try:
                p.samples.append(w.measure(p))
            except BenchError as e:
                p.skip = "failed: %s" % e
                p.samples = []
                print("bench: %s: %s %s" % (w.id, p.label, p.skip), flush=True)
    summary = ", ".join("%s %.4g" % (p.name, sum(s["value"] for s in p.samples) / len(p.samples))
                        for p in w.programs if p.samples)
    print("bench: %-14s %s (%s, %d runs each)" % (w.id, summary or "nothing measured",
                                                  w.unit, reps), flush=True)


class Config:
    def __init__(self, args):
        self.build = args.build
        self.data = os.path.abspath(args.data)
        self.quick = args.quick
        if args.quick:          # each workload once, small: a smoke test
            self.reps = {"nop": 1, "ops": 1, "ops_target": 1, "copy": 1, "echo": 1, "sync": 1,
                         "numa": 1}
            self.nop_ops = 1 << 16
            self.numa_ops = 1 << 12
            self.file_size = 64 << 20
            self.small_files = 500
            self.echo_configs = [(16, 64)]
            self.echo_seconds, self.echo_warmup = 0.5, 0.1
        else:
            self.reps = {"nop": 20, "ops": 8, "ops_target": 30, "copy": 5, "echo": 8, "sync": 5,
                         "numa": 8}
            self.nop_ops = 1 << 19
            self.numa_ops = 1 << 15
            self.file_size = GiB
            self.small_files = 10000
            self.echo_configs = [(16, 64), (16, 4096)]
            self.echo_seconds, self.echo_warmup = 1.5, 0.3
        if args.reps:
            self.reps = {k: args.reps for k in self.reps}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="each workload once, small")
    ap.add_argument("--build", default="build")
    ap.add_argument("--data", default="build/bench-data", help="where the source files live")
    ap.add_argument("--out", required=True, help="where results.json goes")
    ap.add_argument("--only", default="", help="comma-separated groups: nop,ops,copy,echo,sync,numa")
    ap.add_argument("--reps", type=int, default=0, help="repetitions (default: per workload)")
    ap.add_argument("--cc", default=os.environ.get("CC", "gcc"))
    args = ap.parse_args()
    cfg = Config(args)
    groups = [g for g in args.only.split(",") if g] or ["nop", "ops", "copy", "echo", "sync", "numa"]

    started = time.time()
    make_data(cfg)
    system = sysinfo.describe(cfg.data, cfg.build, args.cc)
    makers = {"nop": nop_workloads, "ops": ops_workloads, "copy": copy_workloads,
              "echo": echo_workloads, "sync": sync_workloads, "numa": numa_workloads}
    workloads = []
    for group in groups:
        for w in makers[group](cfg):
            # A discarded warmup round where runs are short; copies start from a warm cache.
            warmup = not cfg.quick and group in ("nop", "ops", "echo")
            run_workload(w, cfg.reps[group], warmup_round=warmup)
            workloads.append(w)
    for path in (os.path.join(cfg.data, "copy.out"), os.path.join(cfg.data, "sync.out")):
        remove(path)
    system["busy_end"] = sysinfo.busy()
    system["bench_seconds"] = "%.0f" % (time.time() - started)

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "results.json")
    with open(path, "w") as f:
        json.dump({"system": system, "quick": cfg.quick, "reps": cfg.reps,
                   "workloads": [w.to_json() for w in workloads]}, f, indent=1)
    print("bench: %d workloads in %.0f s; samples in %s" % (len(workloads), time.time() - started,
                                                            path), flush=True)


if __name__ == "__main__":
    sys.exit(main())
