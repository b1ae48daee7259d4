#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Mutation testing of the runtime (C) and the generator (Python).

Mutants are made at run time by operators over the current source
(cmut.py, pymut.py), applied one at a time to a scratch copy of the tree
(never the working tree), and each is run against the fast tests until
one fails.  A mutant is killed (a test failed), timed out (counted as
killed, listed apart), survived, equivalent (a survivor equivalent.txt
explains), or stillborn (it does not compile).  The report lists every
survivor with file:line, operator, key and diff: text and JSON.

Run through `make mutate` (mk/mutate.mk), which passes the build's
compilers, flags and source lists; see tools/mutate/README.md.
"""
import argparse
import hashlib
import json
import os
import queue
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cmut  # noqa: E402
import pymut  # noqa: E402
from mutant import assign_keys  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# What a scratch tree needs: sources, generated code, tests, the generator.
TREE = ("Makefile", "runtime", "generated", "tests", "generator", "spec", "templates")
# Mutants compile with the project's warnings, but a swapped && / || may
# want parentheses: that is the bug being modelled, not a reason to refuse it.
MUTANT_CFLAGS = ["-Wno-parentheses"]


def die(msg):
    print(f"mutate: {msg}", file=sys.stderr)
    sys.exit(2)


# --- the mutants ---------------------------------------------------------------------------

def source_files(root):
    out = []
    for top, exts in (("runtime", (".c", ".h")), ("generator", (".py",))):
        for d, dirs, files in os.walk(os.path.join(root, top)):
            dirs[:] = sorted(x for x in dirs if x != "__pycache__")
            for f in sorted(files):
                if f.endswith(exts):
                    out.append(os.path.relpath(os.path.join(d, f), root))
    return out


def make_mutants(root, files):
    muts, srcs = [], {}
    for rel in files:
        with open(os.path.join(root, rel), encoding="utf-8") as fh:
            src = fh.read()
        srcs[rel] = src
        try:
            muts += (pymut if rel.endswith(".py") else cmut).mutants(rel, src)
        except (ValueError, SyntaxError) as e:
            print(f"mutate: {rel}: cannot scan ({e}); no mutants from it", file=sys.stderr)
    return assign_keys(muts), srcs


def load_equivalents(path):
    """equivalent.txt: blocks of `mutant: KEY` and `why: REASON` (indented lines continue it)."""
    out = {}
    if not os.path.exists(path):
        return out
    key = why = None
    lineno = 0

    def flush():
        if key is not None:
            if not why:
                die(f"{path}:{lineno}: mutant without a `why:` line: {key}")
            out[key] = why.strip()

    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.startswith("#"):
                continue
            if line.startswith("mutant:"):
                flush()
                key, why = line[len("mutant:"):].strip(), None
            elif line.startswith("why:"):
                why = line[len("why:"):].strip()
            elif line.startswith((" ", "\t")) and line.strip() and why is not None:
                why += " " + line.strip()
            elif line.strip():
                die(f"{path}:{lineno}: expected `mutant:`, `why:` or an indented continuation")
    flush()
    return out


def select(muts, args):
    if args.only:
        prefixes = [p.strip().rstrip("/") for p in args.only.split(",") if p.strip()]
        muts = [m for m in muts if any(m.path == p or m.path.startswith(p + "/") for p in prefixes)]
    if args.ops:
        ops = set(args.ops.split(","))
        muts = [m for m in muts if m.op in ops]
    if args.match:
        muts = [m for m in muts if args.match in m.key]
    if args.sample_from:
        keys = {d["key"] for d in load_report(args.sample_from).get("mutants", [])}
        muts = [m for m in muts if m.key in keys]
        print(f"mutate: {len(muts)} of the {len(keys)} mutants of {args.sample_from} are still in the source")
    elif args.limit and len(muts) > args.limit:
        pick = random.Random(args.seed).sample(sorted(muts, key=lambda m: m.key), args.limit)
        muts = pick
    return sorted(muts, key=lambda m: (m.path, m.start, m.key))


# --- processes ----------------------------------------------------------------------------

class Runner:
    """Runs commands with a timeout, killing the whole process group; can stop all."""

    def __init__(self):
        self.lock = threading.Lock()
        self.procs = set()
        self.stopping = False

    def run(self, cmd, cwd, env=None, timeout=None):
        """(returncode or None on timeout, output, seconds)."""
        t0 = time.monotonic()
        with self.lock:
            if self.stopping:
                raise KeyboardInterrupt
            p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 start_new_session=True)
            self.procs.add(p)
        try:
            out, _ = p.communicate(timeout=timeout)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            self.kill(p)
            out, _ = p.communicate()
            rc = None
        finally:
            with self.lock:
                self.procs.discard(p)
        return rc, out.decode(errors="replace"), time.monotonic() - t0

    @staticmethod
    def kill(p):
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def stop(self):
        with self.lock:
            self.stopping = True
            for p in list(self.procs):
                self.kill(p)


def test_env(extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SR_", "CONF_", "ASAN_", "UBSAN_"))}
    env["ASAN_OPTIONS"] = "detect_leaks=1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra or {})
    return env


def why_failed(out, rc):
    """A line or two saying what failed: the tests, or the sanitizer's report."""
    failed = re.findall(r"Test: (.*?) \.\.\.FAILED", out)
    for pat in (r"ERROR: AddressSanitizer: [^\n]*", r"ERROR: LeakSanitizer: [^\n]*", r"runtime error: [^\n]*",
                r"FAIL[^\n]*", r"error: [^\n]*"):
        m = re.search(pat, out)
        if m:
            san = m.group().strip()
            break
    else:
        san = None
    parts = []
    if failed:
        parts.append("failed: " + "; ".join(failed[:3]) + (f" (+{len(failed) - 3})" if len(failed) > 3 else ""))
    if san and not (failed and san.startswith("FAIL")):
        parts.append(san[:200])
    if not parts:
        if rc is not None and rc < 0:
            parts.append(f"killed by {signal.Signals(-rc).name}")
        else:
            lines = [x for x in out.strip().splitlines() if x.strip()]
            parts.append((lines[-1] if lines else f"exit {rc}")[:200])
    return " | ".join(parts)


# --- building -----------------------------------------------------------------------------

class Build:
    """Compiles the runtime and the test programs of one tree into one directory."""

    def __init__(self, args, runner):
        self.a, self.runner = args, runner
        self.cflags = shlex.split(args.cflags) + MUTANT_CFLAGS
        self.tflags = shlex.split(args.test_cflags) + MUTANT_CFLAGS
        self.ldlibs = shlex.split(args.ldlibs)
        self.rt_src = args.runtime_src.split()
        # The test programs: what a stage `needs`, its sources, extra flags, the binary.
        self.programs = {
            "unit": (args.unit_src.split(), [], "test_runtime"),
            "conf": (args.conf_src.split(), [], "conformance"),
            "oom": (args.oom_src.split(), [], "test_oom"),
            "fuzz": (args.fuzz_src.split(), shlex.split(args.fuzz_flags), "api_fuzz"),
        }

    @staticmethod
    def obj(d, src):
        return os.path.join(d, src.replace("/", "__")[:-2] + ".o")

    def cc(self, tree, src, out, flags):
        rc, log, _ = self.runner.run([self.a.cc] + flags + ["-c", "-o", out, src], tree,
                                     timeout=self.a.timeout * 4)
        if rc != 0:
            raise CompileError(src, log)

    def compile(self, tree, srcs, d, flags):
        os.makedirs(d, exist_ok=True)
        for s in srcs:
            self.cc(tree, s, self.obj(d, s), flags)

    def archive(self, tree, objs, out):
        if os.path.exists(out):
            os.unlink(out)
        rc, log, _ = self.runner.run(["ar", "rcs", out] + objs, tree)
        if rc != 0:
            raise CompileError("ar", log)

    def link(self, tree, objs, lib, out, extra=()):
        rc, log, _ = self.runner.run([self.a.cc] + self.tflags + list(extra) + ["-o", out] + objs +
                                     [lib, "-lcunit"] + self.ldlibs, tree, timeout=self.a.timeout * 4)
        if rc != 0:
            raise CompileError("link " + os.path.basename(out), log)

    def program(self, tree, what, objdir, lib, outdir, compile_it=True):
        """Build test program `what` (a key of self.programs) against lib into outdir."""
        srcs, extra, name = self.programs[what]
        if not srcs:
            raise CompileError(what, f"no sources for the {what} stage (run through `make mutate`)")
        if compile_it:
            self.compile(tree, srcs, objdir, self.tflags + extra)
        self.link(tree, [Build.obj(objdir, s) for s in srcs], lib, os.path.join(outdir, name), extra)


class CompileError(Exception):
    def __init__(self, what, log):
        lines = [x for x in log.splitlines() if "error" in x] or log.splitlines()[-1:]
        super().__init__(f"{what}: {lines[0].strip() if lines else 'failed'}"[:300])


def copy_tree(root, dst):
    """The tracked and new (not ignored) files the tests need, with their times."""
    rc = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z", "--"] + list(TREE), cwd=root,
                        capture_output=True)
    if rc.returncode:
        files = []
        for top in TREE:
            p = os.path.join(root, top)
            if os.path.isfile(p):
                files.append(top)
            for d, dirs, fs in os.walk(p):
                files += [os.path.relpath(os.path.join(d, f), root) for f in fs]
    else:
        files = [f for f in rc.stdout.decode().split("\0") if f]
    for f in files:
        src = os.path.join(root, f)
        if not os.path.isfile(src):
            continue	# deleted in the working tree
        os.makedirs(os.path.dirname(os.path.join(dst, f)), exist_ok=True)
        shutil.copy2(src, os.path.join(dst, f))


# --- stages -------------------------------------------------------------------------------

class Stage:
    def __init__(self, name, kind, cmd, env=None, needs=None):
        self.name, self.kind, self.cmd, self.env, self.needs = name, kind, cmd, env or {}, needs
        self.base = 0.0	# seconds on the unmutated tree


def c_stages(args):
    st = [
        Stage("unit", "c", ["{d}/test_runtime"], needs="unit"),
        Stage("unit-fallback", "c", ["{d}/test_runtime"], {"SR_BACKEND": "fallback"}, needs="unit"),
        # The API fuzzer's fixed seeds: ownership rules the unit tests do not walk, and
        # allocation failures injected at random points.
        Stage("api-fuzz", "c", ["{d}/api_fuzz", "--seeds", str(args.fuzz_seeds), "--first", "1",
                                "--workers", "1"], needs="fuzz"),
        Stage("conformance", "c", ["{d}/conformance"], needs="conf"),
        Stage("matrix", "c", ["{d}/conformance", "--matrix"], needs="conf"),
        # Every allocation of a scenario failing in turn, on both backends: the ENOMEM paths.
        Stage("oom", "c", ["{d}/test_oom"], needs="oom"),
        Stage("compile-fail", "h", ["sh", "tests/compile-fail/run.sh", args.cc]),
    ]
    want = args.stages.split(",") if args.stages else None
    return [s for s in st if not want or s.name in want]


def py_stages(args):
    gen = shlex.split(args.gen_cmd)
    st = [
        Stage("check-gen", "py", gen + ["--out", "{d}/gen"], needs="checkgen"),
        Stage("gen-tests", "py", [args.python, "tests/gen/run_tests.py"]),
    ]
    want = args.stages.split(",") if args.stages else None
    return [s for s in st if not want or s.name in want]


class Worker:
    def __init__(self, n, args, runner, base, stages):
        self.n, self.a, self.runner, self.base = n, args, runner, base
        self.dir = os.path.join(args.build, f"w{n}")
        self.tree = os.path.join(self.dir, "tree")
        self.out = os.path.join(self.dir, "out")
        self.stages = stages
        shutil.rmtree(self.dir, ignore_errors=True)
        copy_tree(args.root, self.tree)
        os.makedirs(self.out)

    def run_stage(self, st, d, timeout):
        if st.name == "check-gen":
            gen = os.path.join(self.out, "gen")
            shutil.rmtree(gen, ignore_errors=True)
            cmd = [c.replace("{d}", self.out) for c in st.cmd]
            rc, out, secs = self.runner.run(cmd, self.tree, test_env(), timeout)
            if rc == 0:
                rc2, diff, _ = self.runner.run(["diff", "-r", "-q", "-x", ".stamp", gen, "generated"], self.tree)
                if rc2 != 0:
                    return 1, "generated output differs: " + diff.strip().splitlines()[0][:200], secs
            return rc, why_failed(out, rc) if rc else "", secs
        cmd = [c.replace("{d}", d) for c in st.cmd]
        rc, out, secs = self.runner.run(cmd, self.tree, test_env(st.env), timeout)
        return rc, why_failed(out, rc) if rc else "", secs

    def mutant(self, m, src):
        """Build and test one mutant; fills in m.status, m.stage, m.detail."""
        path = os.path.join(self.tree, m.path)
        t0 = time.monotonic()
        write(path, m.apply(src))
        try:
            self.test(m)
        finally:
            write(path, src)
            if m.path.endswith(".py"):
                # Keep the generator's file times, so nothing looks newer than generated/.
                st = os.stat(os.path.join(self.a.root, m.path))
                os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
            m.seconds = time.monotonic() - t0

    def test(self, m):
        b = self.base.build
        kind = "py" if m.path.endswith(".py") else "c" if m.path in b.rt_src else "h"
        d = self.out
        built = set()

        def need(what):
            if what is None or what in built:
                return
            if what == "lib":
                if kind == "c":
                    mo = os.path.join(d, "mutant.o")
                    b.cc(self.tree, m.path, mo, b.cflags)
                    objs = [mo if s == m.path else Build.obj(self.base.obj, s) for s in b.rt_src]
                else:
                    b.compile(self.tree, b.rt_src, os.path.join(d, "obj"), b.cflags)
                    objs = [Build.obj(os.path.join(d, "obj"), s) for s in b.rt_src]
                b.archive(self.tree, objs, os.path.join(d, "lib.a"))
            elif what in b.programs:
                need("lib")
                if kind == "h":
                    b.program(self.tree, what, os.path.join(d, "obj"), os.path.join(d, "lib.a"), d)
                else:
                    b.program(self.tree, what, self.base.obj, os.path.join(d, "lib.a"), d, compile_it=False)
            built.add(what)

        for st in self.stages:
            if st.kind == "py" and kind != "py" or st.kind != "py" and kind == "py":
                continue
            if st.kind == "h" and (kind != "h" or not m.path.startswith("runtime/include/")):
                continue
            if kind == "h" and st.name not in self.a.header_stages.split(","):
                continue	# a header rebuilds everything: only the stages that pay for it
            try:
                need(st.needs)
            except CompileError as e:
                m.status, m.stage, m.detail = "stillborn", "build", str(e)
                return
            timeout = max(self.a.timeout, st.base * 10)
            rc, detail, _ = self.run_stage(st, d, timeout)
            if rc is None:
                m.status, m.stage, m.detail = "timeout", st.name, f"no result after {timeout:.0f} s"
                return
            if rc != 0:
                m.status, m.stage, m.detail = "killed", st.name, detail
                return
        m.status = "survived"


def write(path, text):
    tmp = path + ".mut-tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


class Base:
    """The unmutated tree, built once: its objects are reused by every mutant of a .c file."""

    def __init__(self, args, runner):
        self.a = args
        self.dir = os.path.join(args.build, "base")
        self.tree = os.path.join(self.dir, "tree")
        self.obj = os.path.join(self.dir, "obj")
        self.build = Build(args, runner)
        shutil.rmtree(self.dir, ignore_errors=True)
        copy_tree(args.root, self.tree)

    def prepare(self, stages, kinds):
        b = self.build
        t0 = time.monotonic()
        needs = {st.needs for st in stages}
        try:
            if "c" in kinds or "h" in kinds:
                b.compile(self.tree, b.rt_src, self.obj, b.cflags)
                b.archive(self.tree, [Build.obj(self.obj, s) for s in b.rt_src], os.path.join(self.dir, "lib.a"))
                for what in b.programs:	# only the stages asked for are built
                    if what in needs:
                        b.program(self.tree, what, self.obj, os.path.join(self.dir, "lib.a"), self.dir)
        except CompileError as e:
            die(f"the unmutated tree does not build: {e}")
        print(f"mutate: built the unmutated tree in {time.monotonic() - t0:.0f} s; checking it passes")
        w = Worker.__new__(Worker)
        w.a, w.runner, w.tree, w.out = self.a, b.runner, self.tree, self.dir
        for st in stages:
            if st.kind not in kinds:
                continue
            rc, detail, secs = w.run_stage(st, self.dir, max(self.a.timeout, 300))
            if rc != 0:
                die(f"stage {st.name} fails on the unmutated tree ({detail or 'timeout'}); fix that first")
            st.base = secs
        print("mutate: stages " + ", ".join(f"{s.name} {s.base:.1f} s" for s in stages if s.kind in kinds))


# --- the report ---------------------------------------------------------------------------

STATUSES = ("killed", "timeout", "survived", "equivalent", "stillborn")


def load_report(path):
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError) as e:
        die(f"{path}: {e}")


def resume(path, muts, shas):
    """Take killed / timeout / stillborn results of unchanged files from an earlier report."""
    old = load_report(path)
    same = {f for f, h in old.get("sha1", {}).items() if shas.get(f) == h}
    prev = {d["key"]: d for d in old.get("mutants", []) if d["file"] in same and
            d["status"] in ("killed", "timeout", "stillborn")}
    out = []
    for m in muts:
        d = prev.get(m.key)
        if d:
            m.status, m.stage, m.detail = d["status"], d["stage"], d["detail"]
            m.seconds = d.get("seconds", 0.0)
            out.append(m)
    return out


def summarize(muts):
    files = {}
    for m in muts:
        f = files.setdefault(m.path, dict.fromkeys(STATUSES, 0))
        f[m.status] += 1
    total = dict.fromkeys(STATUSES, 0)
    for f in files.values():
        for s in STATUSES:
            total[s] += f[s]
    for f in list(files.values()) + [total]:
        live = f["killed"] + f["timeout"] + f["survived"]
        f["mutants"] = live + f["equivalent"] + f["stillborn"]
        f["killed_pct"] = round(100.0 * (f["killed"] + f["timeout"]) / live, 1) if live else None
    return files, total


def report(args, muts, srcs, equiv, stale, elapsed, interrupted, shas, nresumed):
    files, total = summarize(muts)
    out = []
    head = (f"make mutate: {len(muts)} mutants" + (f" (a sample of seed {args.seed}, limit {args.limit})"
                                                   if args.limit else "") +
            f", {elapsed / 60:.1f} min" + (" -- INTERRUPTED, partial" if interrupted else ""))
    out.append(head)
    if nresumed:
        out.append(f"{nresumed} killed, timed-out or stillborn results were taken from {args.resume_from}; "
                   f"the other {len(muts) - nresumed} ran now")
    out.append("killed% = (killed + timeout) / (killed + timeout + survived); equivalent and stillborn apart")
    out.append("")
    w = max([len(f) for f in files] + [5])
    cols = ("mutants", "killed", "timeout", "survived", "equivalent", "stillborn")
    out.append(f"{'file':<{w}}  " + " ".join(f"{c:>10}" for c in cols) + "   killed%")
    for f in sorted(files):
        r = files[f]
        pct = f"{r['killed_pct']:.1f}%" if r["killed_pct"] is not None else "-"
        out.append(f"{f:<{w}}  " + " ".join(f"{r[c]:>10}" for c in cols) + f"  {pct:>8}")
    pct = f"{total['killed_pct']:.1f}%" if total["killed_pct"] is not None else "-"
    out.append(f"{'total':<{w}}  " + " ".join(f"{total[c]:>10}" for c in cols) + f"  {pct:>8}")
    kills = {}
    for m in muts:
        if m.status in ("killed", "timeout"):
            kills[m.stage] = kills.get(m.stage, 0) + 1
    out.append("")
    out.append("killed by stage: " + ", ".join(f"{k} {v}" for k, v in sorted(kills.items(), key=lambda x: -x[1])))

    def section(title, ms, body):
        out.append("")
        out.append(f"== {title} ({len(ms)}) ==")
        for m in ms:
            out.append("")
            body(m)

    survivors = [m for m in muts if m.status == "survived"]

    def show_survivor(m):
        out.append(f"{m.path}:{m.line}: {m.op} in {m.func}")
        out.append(f"  key: {m.key}")
        out.extend("  " + x for x in m.diff(srcs[m.path]).rstrip("\n").splitlines())

    section("survivors", survivors, show_survivor)

    def show_timeout(m):
        out.append(f"{m.path}:{m.line}: {m.op} in {m.func}: {m.stage}: {m.detail}")
        out.append(f"  key: {m.key}")
        out.extend("  " + x for x in m.diff(srcs[m.path]).rstrip("\n").splitlines())

    section("timeouts (counted as killed)", [m for m in muts if m.status == "timeout"], show_timeout)

    def show_equiv(m):
        out.append(f"{m.path}:{m.line}: {m.op} in {m.func}")
        out.append(f"  key: {m.key}")
        out.append(f"  why: {m.reason}")

    section("equivalent (tools/mutate/equivalent.txt)", [m for m in muts if m.status == "equivalent"], show_equiv)
    wrong = [m for m in muts if m.reason and m.status in ("killed", "timeout")]
    if wrong:
        section("marked equivalent, but killed (remove them from equivalent.txt)", wrong,
                lambda m: out.append(f"{m.key}\n  {m.stage}: {m.detail}"))
    if stale:
        out.append("")
        out.append(f"== equivalent.txt entries that match no mutant of this run's files ({len(stale)}) ==")
        out.extend(f"  {k}" for k in stale)
    stillborn = [m for m in muts if m.status == "stillborn"]
    out.append("")
    out.append(f"== stillborn: {len(stillborn)} mutants do not compile (listed in the JSON report) ==")
    text = "\n".join(out) + "\n"
    os.makedirs(args.report_dir, exist_ok=True)
    txt = os.path.join(args.report_dir, "mutate-report.txt")
    js = os.path.join(args.report_dir, "mutate-report.json")
    write(txt, text)
    data = {
        "seed": args.seed, "limit": args.limit, "only": args.only, "ops": args.ops, "interrupted": interrupted,
        "minutes": round(elapsed / 60, 1), "total": total, "files": files,
        "sha1": {f: shas[f] for f in sorted({m.path for m in muts})}, "resumed": nresumed,
        "stale_equivalents": stale,
        "mutants": [m.to_json(srcs[m.path] if m.status in ("survived", "timeout", "equivalent") else None)
                    for m in muts],
    }
    write(js, json.dumps(data, indent=1) + "\n")
    return text, txt, js, total


# --- main -----------------------------------------------------------------------------------

def main(argv):
    ap = argparse.ArgumentParser(description="Mutation testing of runtime/ and generator/ (see README.md).")
    ap.add_argument("--root", default=".", help="the tree to mutate (it is never written)")
    ap.add_argument("--build", default="build/mutate", help="scratch directory (removed at the end)")
    ap.add_argument("--report-dir", default=None, help="where the reports go (default: the build directory)")
    ap.add_argument("--cc", default="gcc")
    ap.add_argument("--cflags", default="", help="runtime compile flags (CPPFLAGS CFLAGS)")
    ap.add_argument("--test-cflags", default="", help="test compile flags (TEST_CPPFLAGS TEST_CFLAGS)")
    ap.add_argument("--ldlibs", default="-luring -lpthread")
    ap.add_argument("--runtime-src", default="", help="RUNTIME_SRC")
    ap.add_argument("--unit-src", default="", help="UNIT_SRC")
    ap.add_argument("--conf-src", default="", help="CONF_SRC")
    ap.add_argument("--oom-src", default="", help="the oom test's sources (tests/unit/oom.c)")
    ap.add_argument("--fuzz-src", default="", help="FUZZ_SRC (the API fuzzer)")
    ap.add_argument("--fuzz-flags", default="", help="FUZZ_HAVE FUZZ_WRAP: the fuzzer's compile and link flags")
    ap.add_argument("--fuzz-seeds", type=int, default=1000, help="seeds the api-fuzz stage runs (from 1)")
    ap.add_argument("--gen-cmd", default="", help="GEN_CMD (without --out)")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--only", default="", help="comma-separated files or directories (prefixes) to mutate")
    ap.add_argument("--ops", default="", help="comma-separated operators")
    ap.add_argument("--match", default="", help="only mutants whose key contains this")
    ap.add_argument("--limit", type=int, default=0, help="at most this many mutants, chosen by --seed")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sample-from", default="", help="a JSON report: run the mutants it ran (those whose "
                    "key still matches the source) instead of drawing a sample")
    ap.add_argument("--jobs", type=int, default=2, help="parallel mutants (at most 2)")
    ap.add_argument("--timeout", type=float, default=10, help="minimum seconds per stage (else 10x its time)")
    ap.add_argument("--stages", default="", help="comma-separated stages to run (default: all)")
    ap.add_argument("--header-stages", default="unit,unit-fallback,compile-fail",
                    help="stages for mutants of headers, which rebuild every test program (default: %(default)s)")
    ap.add_argument("--equivalent", default=os.path.join(HERE, "equivalent.txt"))
    ap.add_argument("--resume-from", default="", help="a JSON report: its killed, timed-out and stillborn "
                    "mutants of files unchanged since are taken as they were; only the rest run")
    ap.add_argument("--list", action="store_true", help="list the selected mutants' keys and stop")
    ap.add_argument("--show", action="store_true", help="print the selected mutants' diffs and stop")
    ap.add_argument("--keep", action="store_true", help="keep the scratch trees")
    ap.add_argument("-v", "--verbose", action="store_true", help="a line per mutant")
    args = ap.parse_args(argv)
    args.root = os.path.abspath(args.root)
    args.build = os.path.abspath(args.build)
    args.report_dir = os.path.abspath(args.report_dir or args.build)
    args.jobs = max(1, min(args.jobs, 2))

    files = source_files(args.root)
    muts, srcs = make_mutants(args.root, files)
    equiv = load_equivalents(args.equivalent)
    scanned = {m.path for m in muts}
    selected = select(muts, args)
    if args.list or args.show:
        for m in selected:
            print(f"{m.path}:{m.line}: {m.key}")
            if args.show:
                print(m.diff(srcs[m.path]))
        print(f"{len(selected)} of {len(muts)} mutants", file=sys.stderr)
        return 0
    if not selected and not args.resume_from:
        die("no mutants selected")
    all_keys = {m.key for m in muts}
    stale = sorted(k for k in equiv if k not in all_keys and k.split(" | ")[0] in scanned |
                   {k.split(" | ")[0]} and (not args.only or any(k.startswith(p) for p in args.only.split(","))))
    for m in selected:
        m.reason = equiv.get(m.key)
    shas = {f: hashlib.sha1(srcs[f].encode()).hexdigest() for f in srcs}
    resumed = []
    if args.resume_from:
        resumed = resume(args.resume_from, selected, shas)
        print(f"mutate: {len(resumed)} results taken from {args.resume_from} (files unchanged since)")
        selected_all, selected = selected, [m for m in selected if not m.status]
    else:
        selected_all = selected

    if not args.runtime_src and any(not m.path.endswith(".py") for m in selected):
        die("--runtime-src, --unit-src, --conf-src and the flags come from the Makefile: run `make mutate`")
    kinds = {"py" if m.path.endswith(".py") else "c" for m in selected}
    if any(m.path.startswith("runtime/include/") for m in selected):
        kinds.add("h")
    stages = [s for s in c_stages(args) + py_stages(args)]
    paths = sorted({m.path for m in selected_all})
    print(f"mutate: {len(selected)} of {len(muts)} mutants to run "
          f"({', '.join(paths) if len(paths) <= 4 else str(len(paths)) + ' files'}), "
          f"{args.jobs} at a time, in {os.path.relpath(args.build)}")
    runner = Runner()
    os.makedirs(args.build, exist_ok=True)
    t0 = time.monotonic()
    interrupted = False
    done = []
    old = signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        if selected:
            base = Base(args, runner)
            base.prepare(stages, kinds | ({"c"} if "h" in kinds else set()))
        q = queue.Queue()
        for m in selected:
            q.put(m)
        lock = threading.Lock()
        errors = []

        def work(n):
            try:
                w = Worker(n, args, runner, base, stages)
                while True:
                    try:
                        m = q.get_nowait()
                    except queue.Empty:
                        return
                    w.mutant(m, srcs[m.path])
                    if m.status == "survived" and m.reason:
                        m.status = "equivalent"
                    with lock:
                        done.append(m)
                        progress(m, len(done), len(selected), t0, args.verbose)
            except KeyboardInterrupt:
                return
            except Exception as e:	# a bug here: stop the run, say where
                errors.append(e)
                runner.stop()

        threads = [threading.Thread(target=work, args=(n,), daemon=True)
                   for n in range(min(args.jobs, len(selected)))]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            for t in threads:
                t.join(0.2)
        if errors:
            raise errors[0]
    except KeyboardInterrupt:
        interrupted = True
        runner.stop()
        print("\nmutate: interrupted; reporting what ran", file=sys.stderr)
    finally:
        signal.signal(signal.SIGTERM, old)
        if not args.keep:
            for d in os.listdir(args.build) if os.path.isdir(args.build) else []:
                if d == "base" or re.fullmatch(r"w\d+", d):
                    shutil.rmtree(os.path.join(args.build, d), ignore_errors=True)
    finished = [m for m in selected_all if m.status]
    text, txt, js, total = report(args, finished, srcs, equiv, stale, time.monotonic() - t0, interrupted, shas,
                                  len(resumed))
    print()
    print(text.split("\n== survivors")[0].rstrip())
    print(f"\nmutate: {total['survived']} survivor(s) with their diffs in {os.path.relpath(txt)}; JSON: {os.path.relpath(js)}")
    return 1 if interrupted else 0


def progress(m, n, total, t0, verbose):
    if verbose or m.status in ("survived", "timeout"):
        extra = f" ({m.stage}: {m.detail})" if m.status == "timeout" else f" ({m.stage})" if verbose and m.stage else ""
        print(f"  [{n}/{total}] {m.status:<10} {m.path}:{m.line} {m.op} in {m.func}{extra}", flush=True)
    if n % 50 == 0 or n == total:
        el = time.monotonic() - t0
        print(f"  ... {n}/{total} done, {el / 60:.1f} min, about {el / n * (total - n) / 60:.0f} min left",
              flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
