#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generator tests.

golden   tests/gen/small (a small spec) generates exactly tests/gen/expected/,
         twice in a row (the output is deterministic).
bad      every tests/gen/bad/*.yaml (an ops.yaml, or a ring.yaml when named
         ring-*.yaml, with one mistake) makes the generator fail with
         FILE:LINE:COL: error: MESSAGE, at the line marked `# <- here` and the
         column and message its `# expect:` line gives, and write nothing.

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
       os.path.join(TOP, "spec", "schema.yaml"), "--oracle", "none"]
SMALL = os.path.join("tests", "gen", "small")  # relative to TOP, where it runs
EXPECTED = os.path.join(TOP, "tests", "gen", "expected")
BAD = os.path.join(TOP, "tests", "gen", "bad")


def run(spec_dir, out_dir):
    return subprocess.run(GEN + ["--spec", spec_dir, "--out", out_dir], cwd=TOP,
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
            r = run(SMALL, d)
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
        r = run(spec, out)
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


def main():
    update = "--update-golden" in sys.argv
    failures = golden(update)
    cases = sorted(os.path.join(BAD, f) for f in os.listdir(BAD) if f.endswith(".yaml"))
    for c in cases:
        failures += bad_case(c)
    for f in failures:
        print("FAIL:", f)
    print(f"generator: golden {'ok' if not any(f.startswith('golden') for f in failures) else 'FAILED'}, "
          f"bad specs {len(cases) - len({f.split(':')[0] for f in failures if not f.startswith('golden')})}"
          f"/{len(cases)} reported at the right place")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
