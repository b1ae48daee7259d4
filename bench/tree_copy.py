#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Tree copies: uring-sync against cp -a and rsync -aHAX on a real tree.

    tree_copy.py --bin BUILD/uring-sync --data DIR --out bench/results [--reps N] [--dest LIST]
    tree_copy.py --bin BUILD/uring-sync --data DIR --out bench/results --million

The workload: copies of Debian's documentation tree (/usr/share/doc), the
python3 library tree and the C header tree (/usr/include) in DIR/src, plus
a hard link and an extended attribute.  For every repetition and
destination, in rotating order (A B C, B C A, ...) so that a slow phase of a
shared machine hits every tool alike:

  copy, hot    the source in the page cache, the file system synced before
               the run (not timed);
  copy, cold   the same with the source's pages dropped first: every file
               of the source gets POSIX_FADV_DONTNEED after a sync (only
               this tree's pages: the machine's other users keep theirs);
  rerun        after a hot copy, the same command again: nothing to do
               (uring-sync and rsync only; cp has no such mode).

Destinations (--dest, default all three, in this order):

  fresh-ext4   a new ext4 file system for every copy (mkfs.ext4's defaults,
               with a journal, as users have it), on a loop device backed
               by a file in DIR: no copy meets what an earlier one left.
               Needs root; skipped with the reason otherwise.
  one-ext4     the same, with the source copied onto that file system first
               (not timed): source and copy on one file system, where
               uring-sync and cp use copy_file_range.  Needs root.
  data         a directory of its own for every copy under DIR/runs, on
               DIR's file system, all removed at the end.  Its state is the
               machine's: on ext4 without a journal (this project's VM) the
               inode allocator skips inodes freed in the last minutes
               (recently_deleted()), and after a test run that removed
               hundreds of thousands of files a new inode costs every tool
               some 300 us of CPU: the copy then measures the kernel.

Each run is timed from the command's start to its exit (wall), with the
CPU time and peak RSS of the process from wait4.  Every uring-sync copy is
checked with rsync -aHAXn --checksum --delete --itemize-changes (nothing
may differ).  Results: OUT/tree_copy.json (every sample) and
OUT/tree_copy.md (medians and ratios), each written whole or not at all.

--million makes a tree of 1,000,010 entries (10 directories of 100
directories of 999 empty or small files) and measures uring-sync's time and peak RSS on it,
against the target of 100 MB + 1 MB per 1,000 entries.
"""
import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

TREES = [("/usr/share/doc", "doc"), ("/usr/lib/python3.{}".format(sys.version_info.minor), "python3"),
         ("/usr/include", "include")]


def run(argv, **kw):
    """(wall s, cpu s, peak RSS KiB) of one command (RSS and CPU from time(1): a child forked
    from this interpreter would count the interpreter's pages as its own)."""
    rep = os.path.join(os.environ.get("TMPDIR", "/tmp"), "tree_copy.time.%d" % os.getpid())
    t0 = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-o", rep, "-f", "%U %S %M"] + argv, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, **kw)
    wall = time.monotonic() - t0
    if p.returncode:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(argv), p.returncode, p.stderr.decode()[:300]))
    with open(rep) as f:
        user, sys_, rss = f.read().split()[-3:]
    os.unlink(rep)
    return wall, float(user) + float(sys_), int(rss)


def make_source(src):
    if os.path.isdir(src):
        return
    tmp = src + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for path, name in TREES:
        subprocess.run(["cp", "-a", path, os.path.join(tmp, name)], check=True)
    os.link(os.path.join(tmp, "include", "stdio.h"), os.path.join(tmp, "stdio-hardlink.h"))
    os.setxattr(os.path.join(tmp, "doc"), "user.bench", b"tree copy")
    os.rename(tmp, src)


def tree_size(top):
    n, size = 0, 0
    for d, dirs, files in os.walk(top):
        n += len(dirs) + len(files)
        for f in files:
            st = os.lstat(os.path.join(d, f))
            size += st.st_size
    return n, size


def evict(top):
    """Drop this tree's pages from the page cache."""
    os.sync()
    for d, _, files in os.walk(top):
        for f in files:
            p = os.path.join(d, f)
            try:
                fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def warm(top):
    for d, _, files in os.walk(top):
        for f in files:
            p = os.path.join(d, f)
            if os.path.islink(p):
                continue
            with open(p, "rb") as fh:
                while fh.read(1 << 20):
                    pass


def clear(dst):
    if os.path.exists(dst):
        subprocess.run(["rm", "-rf", dst], check=True)
    os.sync()


def check(src, dst):
    out = subprocess.run(["rsync", "-aHAXn", "--checksum", "--delete", "--itemize-changes", src + "/", dst + "/"],
                         capture_output=True, text=True, check=True).stdout
    if out.strip():
        raise RuntimeError("the copy differs from the source: " + out[:300])


def med(xs):
    return statistics.median(xs) if xs else float("nan")


class DataDirs:
    """Copies into directories of their own under DATA/runs, on the data directory's file system, all
    removed at the end: on ext4 without a journal the inode allocator skips inodes freed in the last
    minutes (recently_deleted()), and a copy right after the removal of the one before would measure
    that."""

    name = "data"

    def __init__(self, data):
        self.runs = os.path.join(data, "runs")
        clear(self.runs)
        os.makedirs(self.runs)
        self.what = "the data directory's file system (%s)" % fs_type(self.runs)

    @contextlib.contextmanager
    def place(self, label, src):
        yield src, os.path.join(self.runs, label)

    def close(self):
        clear(self.runs)


class FreshExt4:
    """Each copy onto a new ext4 file system made by mkfs.ext4 with its defaults (a journal, as
    users have it) on a loop device backed by a file in DATA, made and mounted before the copy and
    unmounted after (neither timed): no tool meets what an earlier run left behind.  Inode tables
    and the journal are initialised by mkfs, so no background thread of the kernel zeroes them
    during a timed copy."""

    name = "fresh-ext4"

    def __init__(self, data, size, one=False):
        self.one = one
        if one:
            self.name = "one-ext4"
        self.img = os.path.join(data, self.name + ".img")
        self.mnt = os.path.join(data, self.name + ".mnt")
        self.size = max((3 if one else 2) * size + (512 << 20), 1 << 30)
        self.what = "a fresh ext4 (mkfs.ext4 defaults, with a journal) on a loop device, one a copy"
        if one:
            self.what += ", the source copied onto it first (copy_file_range within one file system)"
        os.makedirs(self.mnt, exist_ok=True)
        why = self._try()
        if why:
            raise OSError(why)

    def _sh(self, argv):
        p = subprocess.run(argv, capture_output=True, text=True)
        if p.returncode:
            return "%s: %s" % (" ".join(argv), (p.stderr or p.stdout).strip()[:200] or "exit %d" % p.returncode)
        return None

    def _mkfs(self):
        with open(self.img, "wb") as f:
            f.truncate(self.size)
        return self._sh(["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", self.img])

    def _try(self):
        if os.geteuid() != 0:
            return "not root: mounting a loop device needs root"
        if not shutil.which("mkfs.ext4"):
            return "no mkfs.ext4"
        return self._mkfs() or self._sh(["mount", "-o", "loop", self.img, self.mnt]) or \
            self._sh(["umount", self.mnt])

    @contextlib.contextmanager
    def place(self, label, src):
        why = self._mkfs() or self._sh(["mount", "-o", "loop", self.img, self.mnt])
        if why:
            raise RuntimeError(why)
        try:
            if self.one:
                here = os.path.join(self.mnt, "src")
                subprocess.run(["cp", "-a", src, here], check=True)
                src = here
            yield src, os.path.join(self.mnt, label)
        finally:
            why = self._sh(["umount", self.mnt])
            if why:
                raise RuntimeError(why)

    def close(self):
        if os.path.exists(self.img):
            os.unlink(self.img)


def fs_type(path):
    p = subprocess.run(["stat", "-f", "-c", "%T", path], capture_output=True, text=True)
    kind = p.stdout.strip() or "?"
    if kind.startswith("ext"):
        dev = subprocess.run(["findmnt", "-n", "-o", "SOURCE", "-T", path], capture_output=True,
                             text=True).stdout.strip()
        task = os.path.join("/sys/fs/ext4", os.path.basename(dev), "journal_task")
        try:
            with open(task) as f:
                kind = "ext4 without a journal" if f.read().strip() == "<none>" else "ext4 with a journal"
        except OSError:
            pass
    return kind


def tree_bench(args):
    src = os.path.join(args.data, "src")
    make_source(src)
    entries, size = tree_size(src)
    tools = {
        "uring-sync": lambda s, d: [args.bin, s + "/", d],
        "cp -a": lambda s, d: ["cp", "-a", s, d],
        "rsync -aHAX": lambda s, d: ["rsync", "-aHAX", s + "/", d + "/"],
    }
    names = list(tools)
    samples = []
    dests, skipped = [], {}
    for kind in args.dest.split(","):
        try:
            dests.append(FreshExt4(args.data, size, kind == "one-ext4") if kind in ("fresh-ext4", "one-ext4")
                         else DataDirs(args.data))
        except OSError as e:
            skipped[kind] = str(e)
            print("tree_copy: skipping destination %s: %s" % (kind, e), flush=True)
    if not dests:
        raise RuntimeError("no destination to copy to")
    try:
        for rep in range(args.reps):
            for dest in dests:
                for mode in ("hot", "cold"):
                    order = names[rep % 3:] + names[:rep % 3]
                    for name in order:
                        with dest.place("%s-%s-%d" % (name.split()[0], mode, rep), src) as (here, dst):
                            os.sync()
                            if mode == "hot":
                                warm(here)
                            else:
                                evict(here)
                            wall, cpu, rss = run(tools[name](here, dst))
                            if name == "uring-sync":
                                check(here, dst)
                            samples.append(dict(dest=dest.name, workload="copy-" + mode, tool=name, rep=rep,
                                                wall=wall, cpu=cpu, rss_kib=rss))
                            print("%-10s copy %-4s %-12s %6.2f s wall %6.2f s cpu %7d KiB" %
                                  (dest.name, mode, name, wall, cpu, rss), flush=True)
                            if mode == "cold" or name == "cp -a":
                                continue
                            # A rerun with nothing to do, into the complete copy just made.
                            warm(here)
                            wall, cpu, rss = run(tools[name](here, dst))
                            samples.append(dict(dest=dest.name, workload="rerun", tool=name, rep=rep,
                                                wall=wall, cpu=cpu, rss_kib=rss))
                            print("%-10s rerun     %-12s %6.2f s wall %6.2f s cpu %7d KiB" %
                                  (dest.name, name, wall, cpu, rss), flush=True)
    finally:
        for dest in dests:
            dest.close()
    return dict(entries=entries, bytes=size, dests={d.name: d.what for d in dests}, skipped=skipped), samples


def summary(dest, workload, samples):
    by = {}
    for s in samples:
        if s.get("dest", "data") == dest and s["workload"] == workload:
            by.setdefault(s["tool"], []).append(s)
    return {t: dict(wall=med([s["wall"] for s in v]), wall_min=min(s["wall"] for s in v),
                    cpu=med([s["cpu"] for s in v]), rss_kib=max(s["rss_kib"] for s in v), n=len(v))
            for t, v in by.items()}


def million(args):
    top = os.path.join(args.data, "million")
    if not os.path.isdir(top):
        tmp = top + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        for d in range(1000):
            p = os.path.join(tmp, "d%03d" % (d // 100), "e%03d" % d)
            os.makedirs(p)
            for f in range(999):
                fd = os.open(os.path.join(p, "f%03d" % f), os.O_WRONLY | os.O_CREAT, 0o644)
                if f % 10 == 0:
                    os.write(fd, b"x" * (f + 1))
                os.close(fd)
        os.rename(tmp, top)
    entries, size = tree_size(top)
    dst = os.path.join(args.data, "million-dst")
    clear(dst)
    wall, cpu, rss = run([args.bin, top + "/", dst])
    rwall, rcpu, rrss = run([args.bin, top + "/", dst])
    n2, _ = tree_size(dst)
    clear(dst)
    if n2 != entries:
        raise RuntimeError("copied %d entries of %d" % (n2, entries))
    limit = 100 * 1024 + entries // 1000 * 1024
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    res = dict(entries=entries, bytes=size, wall=wall, cpu=cpu, rss_kib=rss, rerun_wall=rwall, rerun_rss_kib=rrss,
               limit_kib=limit, commit=git, load=os.getloadavg()[0])
    print("million: %d entries, copy %.1f s, peak RSS %.1f MiB (limit %.0f MiB); rerun %.1f s, %.1f MiB" %
          (entries, wall, rss / 1024, limit / 1024, rwall, rrss / 1024))
    if max(rss, rrss) > limit:
        raise RuntimeError("peak RSS over the limit")
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--million", action="store_true")
    ap.add_argument("--dest", default="fresh-ext4,one-ext4,data",
                    help="where copies go, in order: fresh-ext4 (a new file system a copy, needs root), "
                         "one-ext4 (the same with the source on it), data (directories under DATA)")
    args = ap.parse_args()
    args.bin = os.path.realpath(args.bin)
    os.makedirs(args.data, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "tree_copy.json")
    try:
        with open(path) as f:
            res = json.load(f)
    except (OSError, ValueError):
        res = {}
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    res["machine"] = dict(kernel=platform.release(), cpus=os.cpu_count(), load=os.getloadavg(), commit=git,
                          date=time.strftime("%Y-%m-%d %H:%M"))
    if args.million:
        res["million"] = million(args)
    else:
        tree, samples = tree_bench(args)
        res["tree"] = tree
        res["samples"] = samples
        res["summary"] = {d: {w: summary(d, w, samples) for w in ("copy-hot", "copy-cold", "rerun")}
                          for d in tree["dests"]}
    write_atomic(path, json.dumps(res, indent=1) + "\n")
    write_atomic(os.path.join(args.out, "tree_copy.md"), md(res))


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def md(res):
    m = res["machine"]
    lines = ["# Tree copies: uring-sync, cp -a, rsync -aHAX", "",
             "Written by bench/tree_copy.py (commit %s, %s; Linux %s, %d CPUs, load %.1f at the start)." %
             (m["commit"], m["date"], m["kernel"], m["cpus"], m["load"][0]), ""]
    if "tree" in res:
        t = res["tree"]
        lines += ["Workload: copies of /usr/share/doc, the python3 library tree and /usr/include, a hard link and an "
                  "xattr: %d entries, %.0f MiB.  Wall time, median of n (minimum), CPU time (user + system, all "
                  "threads) and peak RSS; ratios of medians from the same runs; a rerun goes into the tool's "
                  "complete copy just made.  Destinations:" % (t["entries"], t["bytes"] / 2**20), ""]
        dests = t.get("dests", {"data": "the data directory's file system"})
        lines += ["- %s: %s" % kv for kv in dests.items()]
        lines += ["- %s: skipped (%s)" % kv for kv in t.get("skipped", {}).items()]
        lines += ["", "| destination | workload | tool | wall s | min s | CPU s | peak RSS | uring-sync faster by |",
                  "|---|---|---|---|---|---|---|---|"]
        summ = res["summary"] if "copy-hot" not in res["summary"] else {"data": res["summary"]}
        for d in dests:
            for w, title in (("copy-hot", "copy, source cached"), ("copy-cold", "copy, source pages dropped"),
                             ("rerun", "rerun, nothing to do")):
                s = summ.get(d, {}).get(w, {})
                us = s.get("uring-sync")
                for tool, v in s.items():
                    ratio = "" if tool == "uring-sync" or not us else "%.2fx" % (v["wall"] / us["wall"])
                    lines.append("| %s | %s | %s | %.2f | %.2f | %.2f | %.1f MiB | %s |" %
                                 (d, title, tool, v["wall"], v["wall_min"], v["cpu"], v["rss_kib"] / 1024, ratio))
        lines.append("")
    if "million" in res:
        r = res["million"]
        lines += ["1,000,000-entry tree (%d entries: 1,000 directories of 999 empty and small files; commit %s, "
                  "load %.1f): copy %.1f s, peak RSS %.1f MiB; rerun %.1f s, %.1f MiB.  Target: under %.0f MiB "
                  "(100 MB + 1 MB per 1,000 entries)." %
                  (r["entries"], r.get("commit", "?"), r.get("load", float("nan")), r["wall"], r["rss_kib"] / 1024,
                   r["rerun_wall"], r["rerun_rss_kib"] / 1024, r["limit_kib"] / 1024), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
