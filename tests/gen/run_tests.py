#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Generator tests.

golden   tests/gen/small (a small spec) generates exactly tests/gen/expected/,
         twice in a row (the output is deterministic).
bad      every tests/gen/bad/*.yaml (an ops.yaml, or a ring.yaml when named
         ring-*.yaml, with one mistake) makes the generator fail with
         FILE:LINE:COL: error: MESSAGE, at the line marked `# <- here` and the
         column and message its `# expect:` line gives (and the text of a
         `# note:` line, if any, somewhere in what it prints), and write nothing.
op ids   adding a variant to opcode 0 and a new opcode to a copy of spec/
         leaves every existing SR_OP_* value as it was; the new ops take the
         next ids, and SR_OPS() lists the ops in id order.
headers  every header of spec/ring.yaml `headers:` declares the names listed
         for it (compiled, one header at a time, as the generated file that
         includes it would); a system call from a header added to the list
         (getdents64, dirent.h) reaches op_table.c with its #include.

Usage: run_tests.py [--update-golden]
"""
import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback

TOP = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
SMALL = os.path.join("tests", "gen", "small")  # relative to TOP, where it runs
EXPECTED = os.path.join(TOP, "tests", "gen", "expected")
BAD = os.path.join(TOP, "tests", "gen", "bad")


sys.path.insert(0, os.path.join(TOP, "generator"))
from srgen import cli  # noqa: E402


def run(spec_dir, out_dir, extra=()):
    """The generator, in this process (as `make generate` runs it, from the top)."""
    argv = ["--schema", os.path.join(TOP, "spec", "schema.yaml"), "--spec", spec_dir, "--out", out_dir] + list(extra)
    err, out = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(TOP)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            rc = cli.main(argv)
    except Exception:
        rc, err = 99, io.StringIO("the generator crashed:\n" + traceback.format_exc())
    finally:
        os.chdir(cwd)
    return subprocess.CompletedProcess(argv, rc, out.getvalue(), err.getvalue())


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
        note = re.search(r"^# note: (.*)$", text, re.M)
        if note and note.group(1) not in r.stderr:
            problems.append(f"no note '{note.group(1)}' in\n    {r.stderr.strip()}")
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
        # The new opcode goes after the last op (before the helpers: list, if any).
        helpers = text.find("\nhelpers:")
        tail = len(text) if helpers < 0 else helpers
        text = text[:end] + variant + text[end:tail].rstrip("\n") + "\n" + op + text[tail:]
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


# How each list's headers are compiled: as the generated file including them is.
HEADER_FLAGS = {"runtime": ["-D_GNU_SOURCE"], "prep": [], "api": [], "fallback": ["-D_GNU_SOURCE"]}


def header_names():
    """Each header declares what spec/ring.yaml says it does."""
    cc = shutil.which(os.environ.get("CC", "gcc")) or shutil.which("gcc")
    if not cc:
        print("headers: SKIP (no C compiler to check spec/ring.yaml headers: with)")
        return []
    model = cli.load_spec(os.path.join(TOP, "spec"))
    failures, checked = [], 0
    with tempfile.TemporaryDirectory() as t:
        for lst, headers in model.headers.items():
            for h in headers:
                lines = [f"#include <{h.include}>", "void sr_check(void);", "void sr_check(void)", "{"]
                for name in h.names:
                    if " " in name:
                        lines.append(f"\t(void)sizeof({name});")
                    else:
                        lines += [f"#ifndef {name}", f"\t(void)sizeof({name});", "#endif"]
                lines.append("}")
                src = os.path.join(t, "check.c")
                with open(src, "w") as f:
                    f.write("\n".join(lines) + "\n")
                r = subprocess.run([cc, "-std=gnu11", "-fsyntax-only", "-w"] + HEADER_FLAGS[lst] +
                                   ["-I", os.path.join(TOP, "runtime", "include"),
                                    "-I", os.path.join(TOP, "generated", "include"), src],
                                   capture_output=True, text=True)
                checked += 1
                if r.returncode:
                    errs = [ln for ln in r.stderr.split("\n") if "error" in ln][:3]
                    failures.append(f"headers: {h.loc}: <{h.include}> does not declare what headers.{lst} "
                                    f"lists: " + "; ".join(e.split("error: ", 1)[-1] for e in errs))
    print(f"headers: {checked} headers of spec/ring.yaml declare the names listed for them"
          if not failures else "headers: FAILED")
    return failures


def header_added():
    """A system call from a header added to headers.fallback reaches op_table.c."""
    with tempfile.TemporaryDirectory() as t:
        spec = os.path.join(t, "spec")
        shutil.copytree(os.path.join(TOP, SMALL), spec)
        ring, ops = os.path.join(spec, "ring.yaml"), os.path.join(spec, "ops.yaml")
        with open(ring) as f:
            text = f.read()
        text = text.replace("    - {include: sys/uio.h, names: [struct iovec]}\n",
                            "    - {include: sys/uio.h, names: [struct iovec]}\n"
                            "    - {include: dirent.h, names: [getdents64]}\n")
        with open(ring, "w") as f:
            f.write(text)
        with open(ops) as f:
            text = f.read()
        text = text.replace('{syscall: "statx(dfd, path, flags, mask, statxbuf)"}',
                            '{syscall: "getdents64(dfd, statxbuf, mask)"}')
        with open(ops, "w") as f:
            f.write(text)
        r = run(spec, os.path.join(t, "out"), ["--oracle", "none"])
        if r.returncode:
            return [f"headers: a spec adding dirent.h for getdents64 failed to generate:\n{r.stderr}"]
        with open(os.path.join(t, "out", "src", "op_table.c")) as f:
            c = f.read()
    if "#include <sys/uio.h>\n#include <dirent.h>\n" not in c or "getdents64(dfd, statxbuf, mask)" not in c:
        return ["headers: op_table.c lacks #include <dirent.h> (after sys/uio.h) or the getdents64 call"]
    return []


def limits():
    """The loader's nesting limit, exactly at its bound, and a schema that
    has no root for a spec file: refused, nothing written."""
    from srgen import loader
    from srgen.errors import SpecError
    failures = []
    with tempfile.TemporaryDirectory() as t:
        for depth in (loader._MAX_DEPTH, loader._MAX_DEPTH + 1):
            p = os.path.join(t, "deep.yaml")
            with open(p, "w") as f:
                # the scalar sits `depth` levels below the top mapping
                f.write("# SPDX-License-Identifier: MIT\na: " + "[" * (depth - 1) + "x" + "]" * (depth - 1) + "\n")
            try:
                loader.load(p, "deep.yaml")
                err = None
            except SpecError as e:
                err = str(e)
            deep = err is not None and "nested more than" in err
            if deep != (depth > loader._MAX_DEPTH):
                failures.append(f"limits: nesting {depth} deep: {err or 'accepted'}")
        spec, out = os.path.join(t, "spec"), os.path.join(t, "out")
        os.mkdir(spec)
        os.mkdir(out)
        for f in ("ops.yaml", "ring.yaml"):
            shutil.copy(os.path.join(TOP, SMALL, f), spec)
        with open(os.path.join(TOP, "spec", "schema.yaml"), encoding="utf-8") as f:
            schema = f.read()
        with open(os.path.join(t, "schema.yaml"), "w", encoding="utf-8") as f:
            f.write(re.sub(r"^  ops.yaml: .*\n", "", schema, count=1, flags=re.M))
        r = run(spec, out, ["--oracle", "none", "--schema", os.path.join(t, "schema.yaml")])
        if r.returncode == 0 or "no schema root for a file named ops.yaml" not in r.stderr or os.listdir(out):
            failures.append(f"limits: a schema without a root for ops.yaml: rc {r.returncode}, {r.stderr.strip()}")
    return failures


def main():
    update = "--update-golden" in sys.argv
    failures = golden(update)
    cases = sorted(os.path.join(BAD, f) for f in os.listdir(BAD) if f.endswith(".yaml"))
    bad = []
    for c in cases:
        bad += bad_case(c)
    ids = op_ids()
    hdrs = header_names() + header_added() + limits()
    for f in failures + bad + ids + hdrs:
        print("FAIL:", f)
    print(f"generator: golden {'ok' if not failures else 'FAILED'}, "
          f"bad specs {len(cases) - len({f.split(':')[0] for f in bad})}/{len(cases)} reported at the right place, "
          f"op ids {'stable' if not ids else 'CHANGED'} when ops and variants are added, "
          f"headers {'ok' if not hdrs else 'FAILED'}")
    return 1 if failures or bad or ids or hdrs else 0


if __name__ == "__main__":
    sys.exit(main())
