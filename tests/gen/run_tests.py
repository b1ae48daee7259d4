#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generator tests.

golden   tests/gen/small (a small spec) generates exactly tests/gen/expected/,
         twice in a row (the output is deterministic).
bad      every tests/gen/bad/*.yaml (an ops.yaml, or a ring.yaml when named
         ring-*.yaml, with one mistake) makes the generator fail with
         FILE:LINE:COL: error: MESSAGE, at the line marked `# <- here` and the
         column and message its `# expect:` line gives, and write nothing.
op ids   adding a variant to opcode 0 and a new opcode to a copy of spec/
         leaves every existing SR_OP_* value as it was; the new ops take the
         next ids, and SR_OPS() lists the ops in id order.

Usage: run_tests.py [--update-golden]
"""
import filecmp
import os
import re
import shutil
import subprocess
import sys
import tempfile

TOP = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
GEN = [sys.executable, os.path.join(TOP, "generator", "gen.py"), "--schema",
       os.path.join(TOP, "spec", "schema.yaml")]
SMALL = os.path.join("tests", "gen", "small")  # relative to TOP, where it runs
EXPECTED = os.path.join(TOP, "tests", "gen", "expected")
BAD = os.path.join(TOP, "tests", "gen", "bad")


def run(spec_dir, out_dir, extra=()):
    return subprocess.run(GEN + ["--spec", spec_dir, "--out", out_dir] + list(extra), cwd=TOP,
                          capture_output=True, text=True)


def tree(d):
    out = {}
    for root, _, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, d)] = fh.read()
    return out


def golden(update):
    failures = []
    with tempfile.TemporaryDirectory() as t:
        a, b = os.path.join(t, "a"), os.path.join(t, "b")
        for d in (a, b):
            r = run(SMALL, d, ["--oracle", "none"])
            if r.returncode:
                return [f"golden: the small spec failed to generate:\n{r.stderr}"]
        if tree(a) != tree(b):
            failures.append("golden: two runs on the same spec differ (output is not deterministic)")
        if update:
            shutil.rmtree(EXPECTED, ignore_errors=True)
            shutil.copytree(a, EXPECTED)
            print(f"golden: updated {os.path.relpath(EXPECTED, TOP)}")
            return failures
        got, want = tree(a), tree(EXPECTED)
        for rel in sorted(set(got) | set(want)):
            if got.get(rel) != want.get(rel):
                failures.append(f"golden: {rel} differs from tests/gen/expected/{rel} "
                                "(if the change is intended: tests/gen/run_tests.py --update-golden)")
    return failures


def bad_case(path):
    name = os.path.basename(path)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"^# expect: column (\d+): (.*)$", text, re.M)
    if not m:
        return [f"{name}: no '# expect: column N: message' line"]
    col, msg = int(m.group(1)), m.group(2)
    line = next(i for i, l in enumerate(text.split("\n"), 1) if "# <- here" in l)
    target = "ring.yaml" if name.startswith("ring-") else "ops.yaml"
    with tempfile.TemporaryDirectory() as t:
        spec = os.path.join(t, "spec")
        os.mkdir(spec)
        for f in ("ops.yaml", "ring.yaml"):
            shutil.copy(os.path.join(TOP, SMALL, f), spec)
        shutil.copy(path, os.path.join(spec, target))
        out = os.path.join(t, "out")
        os.mkdir(out)
        sentinel = os.path.join(out, "untouched")
        with open(sentinel, "w") as f:
            f.write("x")
        r = run(spec, out, ["--oracle", "none"])
        first = r.stderr.split("\n", 1)[0]
        want = f"{os.path.normpath(os.path.join(spec, target))}:{line}:{col}: error: "
        problems = []
        if r.returncode == 0:
            problems.append("the generator accepted it")
        if not first.startswith(want) or msg not in first:
            problems.append(f"reported\n    {first}\n  expected\n    {want}...{msg}...")
        if sorted(os.listdir(out)) != ["untouched"]:
            problems.append(f"it wrote output: {sorted(os.listdir(out))}")
        return [f"{name}: {p}" for p in problems]


def op_ids_in(ops_h):
    """{SR_OP_X: value} of enum sr_op_id, and the names SR_OPS() lists, in order."""
    with open(ops_h, encoding="utf-8") as f:
        text = f.read()
    enum = text[text.index("enum sr_op_id {"):]
    enum = enum[:enum.index("};")]
    ids = {m.group(1): int(m.group(2)) for m in re.finditer(r"\b(SR_OP_[A-Z0-9_]+) = (\d+),", enum)}
    ids.pop("SR_OP__COUNT", None)
    xm = text[text.index("#define SR_OPS(X)"):]
    xm = xm[:xm.index("\n\n")]
    order = ["SR_OP_" + m.group(1) for m in re.finditer(r"X\(([A-Z0-9_]+),", xm)]
    return ids, order


def op_ids():
    """The ABI of op ids survives adding ops and variants (issue 17)."""
    sys.path.insert(0, os.path.join(TOP, "generator"))
    from srgen import cli
    failures = []
    with tempfile.TemporaryDirectory() as t:
        spec = os.path.join(t, "spec")
        shutil.copytree(os.path.join(TOP, "spec"), spec)
        model = cli.load_spec(spec)
        n = len(model.ops)
        newest = max(oc.base.kernel for oc in model.opcodes)
        next_opcode = max(oc.number for oc in model.opcodes) + 1
        r = run(spec, os.path.join(t, "a"), ["--oracle", "none"])
        if r.returncode:
            return [f"op ids: the spec failed to generate:\n{r.stderr}"]
        before, _ = op_ids_in(os.path.join(t, "a", "include", "safer-ring", "ops.h"))
        path = os.path.join(spec, "ops.yaml")
        with open(path, encoding="utf-8") as f:
            text = f.read()
        nop = text.index("\n  - name: nop\n")
        end = text.index("\n\n  - name:", nop + 1)
        variant = (f"\n    variants:\n      - name: nop_abi_test\n        id: {n}\n        kernel: \"5.1\"\n"
                   "        doc: \"A variant added after the fact.\"\n        helper: none\n")
        op = (f"\n  - name: abi_test_op\n    id: {n + 1}\n    opcode: {next_opcode}\n"
              f"    kernel: \"{newest}\"\n    doc: \"An opcode added after the fact.\"\n"
              "    helper: none\n    fd_kind: none\n    shape: single\n    result: status\n"
              "    fallback:\n      - {none: \"a test op\"}\n")
        text = text[:end] + variant + text[end:].rstrip("\n") + "\n" + op
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        r = run(spec, os.path.join(t, "b"), ["--oracle", "none"])
        if r.returncode:
            return [f"op ids: the spec with a new op and variant failed to generate:\n{r.stderr}"]
        after, order = op_ids_in(os.path.join(t, "b", "include", "safer-ring", "ops.h"))
    for name, v in sorted(before.items()):
        if after.get(name) != v:
            failures.append(f"op ids: {name} was {v}, is {after.get(name)} after adding an op and a variant")
    for name, v in (("SR_OP_NOP_ABI_TEST", n), ("SR_OP_ABI_TEST_OP", n + 1)):
        if after.get(name) != v:
            failures.append(f"op ids: the new {name} is {after.get(name)}, expected the next id {v}")
    if [after.get(x) for x in order] != list(range(len(order))) or len(order) != len(after):
        failures.append("op ids: SR_OPS() does not list the ops in id order")
    if not before:
        failures.append("op ids: found no SR_OP_* in ops.h")
    return failures


def main():
    update = "--update-golden" in sys.argv
    failures = golden(update)
    cases = sorted(os.path.join(BAD, f) for f in os.listdir(BAD) if f.endswith(".yaml"))
    bad = []
    for c in cases:
        bad += bad_case(c)
    ids = op_ids()
    for f in failures + bad + ids:
        print("FAIL:", f)
    print(f"generator: golden {'ok' if not failures else 'FAILED'}, "
          f"bad specs {len(cases) - len({f.split(':')[0] for f in bad})}/{len(cases)} reported at the right place, "
          f"op ids {'stable' if not ids else 'CHANGED'} when ops and variants are added")
    return 1 if failures or bad or ids else 0


if __name__ == "__main__":
    sys.exit(main())
