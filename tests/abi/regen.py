#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""An ABI that survives regeneration (docs/abi.md).

A program is compiled against today's headers and linked with today's
shared library (tests/abi/old_program.c).  A copy of the tree gets an op
variant (of nop) and a new opcode added to its spec, is regenerated, and
its library rebuilt; the old binary must then run correctly against the
new library, and abidiff must find nothing but additions.  As a control,
a library whose spec swaps two existing op ids (what renumbering does)
must make the same old binary fail: the test can tell.

Usage: regen.py --build BUILD [--cc CC]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

TOP = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
PYTHON = sys.executable


def sh(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def fail(msg, r=None):
    print(f"abi-regen: FAIL: {msg}")
    if r is not None:
        print((r.stdout + r.stderr)[-3000:])
    sys.exit(1)


def add_op_and_variant(ops_yaml):
    with open(ops_yaml, encoding="utf-8") as f:
        text = f.read()
    ids = [int(x) for x in re.findall(r"^\s+id: (\d+)$", text, re.M)]
    opcodes = [int(x) for x in re.findall(r"^    opcode: (\d+)$", text, re.M)]
    kernels = [tuple(int(v) for v in k.split(".")) for k in re.findall(r'^    kernel: "([0-9.]+)"$', text, re.M)]
    newest = ".".join(str(v) for v in max(kernels))
    n = max(ids) + 1
    nop = text.index("\n  - name: nop\n")
    end = text.index("\n\n  - name:", nop + 1)
    variant = (f"\n    variants:\n      - name: nop_abi_test\n        id: {n}\n        kernel: \"5.1\"\n"
               "        doc: \"A variant added after the fact.\"\n        helper: none\n")
    op = (f"\n  - name: abi_test_op\n    id: {n + 1}\n    opcode: {max(opcodes) + 1}\n"
          f"    kernel: \"{newest}\"\n    doc: \"An opcode added after the fact.\"\n"
          "    helper: none\n    fd_kind: none\n    shape: single\n    result: status\n"
          "    fallback:\n      - {none: \"a test op\"}\n")
    text = text[:end] + variant + text[end:]
    # The new op ends the ops: list, before any top-level key after it (helpers:).
    after = re.search(r"^\S", text[end + len(variant):], re.M)
    cut = end + len(variant) + after.start() if after else len(text)
    text = text[:cut].rstrip("\n") + "\n" + op + ("\n" + text[cut:] if after else "")
    with open(ops_yaml, "w", encoding="utf-8") as f:
        f.write(text)
    return 2


def swap_ids(ops_yaml, a, b):
    with open(ops_yaml, encoding="utf-8") as f:
        text = f.read()
    ia = re.search(r"\n  - name: %s\n    id: (\d+)\n" % a, text)
    ib = re.search(r"\n  - name: %s\n    id: (\d+)\n" % b, text)
    text = text.replace(ia.group(0), f"\n  - name: {a}\n    id: {ib.group(1)}\n")
    text = text.replace(ib.group(0), f"\n  - name: {b}\n    id: {ia.group(1)}\n")
    with open(ops_yaml, "w", encoding="utf-8") as f:
        f.write(text)


def library(tmp, name, cc, edit):
    """A copy of the tree with its spec edited, regenerated, its shared library built."""
    src = os.path.join(tmp, name)
    os.makedirs(src)
    for d in ("spec", "generator", "templates", "runtime", "generated", "mk"):
        shutil.copytree(os.path.join(TOP, d), os.path.join(src, d),
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(os.path.join(TOP, "Makefile"), src)
    edit(os.path.join(src, "spec", "ops.yaml"))
    r = sh([PYTHON, "generator/gen.py", "--spec", "spec", "--out", "generated", "--oracle", "none"], cwd=src)
    if r.returncode:
        fail(f"{name}: the edited spec does not generate", r)
    with open(os.path.join(src, "generated", ".stamp"), "w"):
        pass
    build = os.path.join(tmp, name + "-build")
    r = sh(["make", "-s", "-j2", f"BUILD={build}", f"CC={cc}", "PYTHON=" + PYTHON,
            os.path.join(build, "libsafer-ring.so.0.1.0")], cwd=src)
    if r.returncode:
        fail(f"{name}: the library does not build", r)
    return build


def run_old(prog, libdir):
    env = dict(os.environ, LD_LIBRARY_PATH=libdir)
    return sh([prog], env=env, timeout=60)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--cc", default="gcc")
    ap.add_argument("--baseline", default=os.path.join(TOP, "abi", "libsafer-ring.so.0.abi"))
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    with tempfile.TemporaryDirectory(prefix="sr-abi-") as tmp:
        prog = os.path.join(tmp, "old_program")
        r = sh([args.cc, "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic",
                "-I", os.path.join(TOP, "runtime", "include"), "-I", os.path.join(TOP, "generated", "include"),
                os.path.join(TOP, "tests", "abi", "old_program.c"), "-L", build, "-lsafer-ring", "-luring",
                "-o", prog])
        if r.returncode:
            fail("the old program does not build against today's headers", r)
        r = run_old(prog, build)
        m = re.match(r"ok (\d+) (\d+)$", r.stdout.strip())
        if r.returncode or not m or m.group(1) != m.group(2):
            fail("the old program fails against today's library", r)
        count = int(m.group(1))

        added = {}
        newer = library(tmp, "added", args.cc, lambda p: added.setdefault("n", add_op_and_variant(p)))
        r = run_old(prog, newer)
        m = re.match(r"ok (\d+) (\d+)$", r.stdout.strip())
        if r.returncode or not m:
            fail("the old program fails against the library regenerated with an op and a variant added", r)
        if int(m.group(1)) != count + added["n"] or int(m.group(2)) != count:
            fail(f"the old program did not run against the regenerated library ({r.stdout.strip()})")

        abi = ""
        if shutil.which("abidiff") and os.path.exists(args.baseline):
            r = sh(["abidiff", "--no-added-syms", "--suppressions", os.path.join(TOP, "abi", "suppressions"),
                    args.baseline, os.path.join(newer, "libsafer-ring.so.0.1.0")])
            if r.returncode:
                fail("abidiff finds more than additions in the regenerated library", r)
            abi = "; abidiff against abi/: additions only"

        control = library(tmp, "renumbered", args.cc, lambda p: swap_ids(p, "read", "write"))
        r = run_old(prog, control)
        if r.returncode == 0:
            fail("control: the old program passed against a library whose read and write ids were "
                 "swapped; the test cannot tell a renumbering")
        print(f"abi-regen: a program built against today's headers ({count} ops) runs correctly against the "
              f"library regenerated with an op and a variant added ({count + added['n']} ops){abi}; "
              f"with read and write renumbered it fails ({r.stdout.strip()[:80]})")


if __name__ == "__main__":
    main()
