#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Mutational fuzzer of the spec loader and checks.

Each case takes a spec (tests/gen/small, or spec/ itself), changes ops.yaml
or ring.yaml (or, in spec/, an oracle table) a little (a line dropped, doubled, moved or re-indented, a
value swapped for another or for a hostile one, a key renamed, a character
flipped, an entry copied, the file cut short) and runs the generator on
it, in this process.  Whatever the mutation, the generator must either
succeed or report
    FILE:LINE:COL: error: MESSAGE
with FILE one of the spec's files and LINE:COL inside it, and write
nothing.  A traceback, a message without a position, a position outside
the file, an output file written after an error, or a case taking more
than a few seconds is a failure; the mutated file is kept under
$BUILD/fuzz-failures/ to reproduce it with generator/gen.py.

Usage: fuzz.py [--cases N] [--seconds S] [--seed N] [--full-every K]
  --cases/--seconds  stop after N cases or S seconds (whichever first)
  --seed             the run's seed (cases are reproducible from it)
  --full-every       every K-th case mutates the full spec/ instead of
                     tests/gen/small (slower: it renders 19k lines)
"""
import argparse
import contextlib
import io
import os
import random
import re
import shutil
import sys
import tempfile
import time
import traceback

TOP = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(TOP, "generator"))
from srgen import cli  # noqa: E402

SLOW = 5.0      # seconds a case may take
ERROR = re.compile(r"^(?P<file>[^\n:]+):(?P<line>\d+):(?P<col>\d+): error: \S")

# Values that have broken parsers before: wrong types, boundaries, YAML
# syntax of its own (anchors, tags, flow collections), C-looking text.
HOSTILE = [
    "-1", "0", "255", "256", "65", "4294967296", "99999999999999999999999", "-0x10", "0x7fffffffffffffff",
    '"99.0"', '"5.0"', '"5.66"', '"0.1"', '"7.3"', '"2.6.16"', '"1.2.3.4"', "5.10", "0.5", "1e9",
    "true", "false", "null", "~", "yes", "off", "[]", "{}", "[[]]", "{a: }", '""', "''", '"x"',
    "&anchor x", "*alias", "&a [*a]", "!!python/object:os.system", "!!binary aGVsbG8=", "!!set {a, b}",
    '"@"', '"sizeof("', '"a b"', '"struct"', '"struct 1"', '"(((("', '"))"', '"\\"unterminated"',
    '"x; system(1)"', '"é"', '"\\u0000"', '"' + "A" * 300 + '"', "|\n  block", ">-\n  folded",
    "io_uring_prep_x@9.9", "io_uring_prep_nop@unreleased", "none", "{none: why}", "{op: nop}",
    "{syscall: \"close(fd)\"}", "{emulate: complete}", "[fd, buf]", "{kind: buffer}",
]
CHARS = [":", "-", "{", "}", "[", "]", '"', "'", "#", "\t", " ", ",", "&", "*", "!", "|", ">", "%", "@", "\\",
         "\x00", "\r", "\u2028", "é", "0", "9", "_", "x"]


def mutate(text, rng, words):
    """One random change to a YAML text."""
    lines = text.split("\n")
    k = rng.randrange(11)
    i = rng.randrange(len(lines))
    if k == 0:                      # drop a line
        del lines[i]
    elif k == 1:                    # double a line
        lines.insert(i, lines[i])
    elif k == 2:                    # move a line
        j = rng.randrange(len(lines))
        lines.insert(j, lines.pop(i))
    elif k == 3:                    # re-indent a line
        lines[i] = (" " * rng.choice([1, 2, 4])) + lines[i] if rng.random() < 0.5 else lines[i][2:]
    elif k == 4:                    # cut the file short
        return text[:rng.randrange(len(text) + 1)]
    elif k == 5 or k == 6:          # a value: hostile, or another one from the files
        spots = [m for m in re.finditer(r"(?<=: )[^,{}\[\]\n#]+", lines[i])]
        if spots:
            m = rng.choice(spots)
            new = rng.choice(HOSTILE) if k == 5 else rng.choice(words)
            lines[i] = lines[i][:m.start()] + new + lines[i][m.end():]
        else:
            lines[i] = lines[i] + " " + rng.choice(HOSTILE)
    elif k == 7:                    # a key renamed
        keys = list(re.finditer(r"[A-Za-z_]+(?=:)", lines[i]))
        if keys:
            m = rng.choice(keys)
            lines[i] = lines[i][:m.start()] + rng.choice(words) + lines[i][m.end():]
    elif k == 8:                    # a character flipped, inserted or dropped
        s = lines[i]
        p = rng.randrange(len(s) + 1)
        op = rng.randrange(3)
        if op == 0:
            s = s[:p] + rng.choice(CHARS) + s[p:]
        elif op == 1 and p < len(s):
            s = s[:p] + s[p + 1:]
        elif p < len(s):
            s = s[:p] + rng.choice(CHARS) + s[p + 1:]
        lines[i] = s
    elif k == 9:                    # an entry (a run of lines) copied elsewhere
        n = rng.randrange(1, 16)
        block = lines[i:i + n]
        j = rng.randrange(len(lines))
        lines[j:j] = block
    else:                           # an identifier inside a C expression
        m = list(re.finditer(r"(?<=[\"( ,])[A-Za-z_][A-Za-z0-9_]*(?=[,)\s])", lines[i]))
        if m:
            x = rng.choice(m)
            lines[i] = lines[i][:x.start()] + rng.choice(words + ["getdents64", "struct", "sizeof", "__x"]) + \
                lines[i][x.end():]
    return "\n".join(lines)


def words_of(texts):
    ws = set()
    for t in texts:
        ws.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", t))
        ws.update(re.findall(r'"[0-9.]+"', t))
        ws.update(re.findall(r"\b\d+\b", t))
    return sorted(ws)


def run_case(spec_dir, out_dir, oracle):
    """Run the generator; return (rc, stderr, crash traceback or None)."""
    err, out = io.StringIO(), io.StringIO()
    argv = ["--spec", spec_dir, "--schema", os.path.join(TOP, "spec", "schema.yaml"), "--out", out_dir,
            "--oracle", oracle]
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            rc = cli.main(argv)
        return rc, err.getvalue(), None
    except KeyboardInterrupt:
        raise
    except BaseException:       # RecursionError, MemoryError, SystemExit from argparse: all failures
        return None, err.getvalue(), traceback.format_exc()


def check(rc, stderr, crash, files, out_dir):
    """Why this outcome is wrong, or None."""
    if crash:
        return "traceback:\n" + crash
    if rc == 0:
        return None
    first = stderr.split("\n", 1)[0]
    m = ERROR.match(first)
    if rc != 1 or not m:
        return f"exit {rc} without FILE:LINE:COL: error: (stderr: {first[:300]!r})"
    path, line, col = m.group("file"), int(m.group("line")), int(m.group("col"))
    if path not in files:
        return f"error names {path}, not one of the spec's files: {first[:300]}"
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        text_lines = re.split("\r\n|[\r\n\x85\u2028\u2029]", f.read())   # YAML's line breaks
    # YAML counts lines as it breaks them; the end of the file is a position too.
    if not 1 <= line <= len(text_lines) + 1 or col < 1 or \
            (line <= len(text_lines) and col > len(text_lines[line - 1]) + 2):
        return f"position {line}:{col} is outside {path} ({len(text_lines)} lines): {first[:300]}"
    if sorted(os.listdir(out_dir)) != ["untouched"]:
        return f"wrote output after an error: {sorted(os.listdir(out_dir))}: {first[:300]}"
    return None


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--cases", type=int, default=400)
    ap.add_argument("--seconds", type=float, default=25.0)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--full-every", type=int, default=25)
    args = ap.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 30)
    build = os.environ.get("BUILD", os.path.join(TOP, "build"))
    keep = os.path.join(build if os.path.isabs(build) else os.path.join(TOP, build), "fuzz-failures")
    sources = {
        "small": (os.path.join(TOP, "tests", "gen", "small"), ("ops.yaml", "ring.yaml")),
        "full": (os.path.join(TOP, "spec"), ("ops.yaml", "ring.yaml", "ops.yaml", "ring.yaml",
                                              "oracle/opcodes.tsv", "oracle/variants.tsv")),
    }
    texts = {}
    for key, (d, targets) in sources.items():
        for f in targets:
            with open(os.path.join(d, f), encoding="utf-8") as fh:
                texts[(key, f)] = fh.read()
    words = words_of(texts.values())
    start, n, failures, errors, oks = time.monotonic(), 0, 0, 0, 0
    with tempfile.TemporaryDirectory() as t:
        while n < args.cases and time.monotonic() - start < args.seconds:
            rng = random.Random(f"{seed}/{n}")
            key = "full" if args.full_every and n % args.full_every == args.full_every - 1 else "small"
            src, targets = sources[key]
            spec = os.path.join(t, "spec")
            shutil.rmtree(spec, ignore_errors=True)
            shutil.copytree(src, spec)
            oracle = os.path.join(spec, "oracle", "opcodes.tsv") if key == "full" else "none"
            target = rng.choice(targets)
            text = texts[(key, target)]
            for _ in range(rng.choice([1, 1, 1, 2, 3])):
                text = mutate(text, rng, words)
            with open(os.path.join(spec, target), "w", encoding="utf-8", newline="") as f:
                f.write(text)
            out = os.path.join(t, "out")
            shutil.rmtree(out, ignore_errors=True)
            os.mkdir(out)
            with open(os.path.join(out, "untouched"), "w") as f:
                f.write("x")
            files = {os.path.normpath(os.path.join(spec, x)) for x in targets}
            files.add(os.path.join(TOP, "spec", "schema.yaml"))
            t0 = time.monotonic()
            rc, stderr, crash = run_case(spec, out, oracle)
            took = time.monotonic() - t0
            why = check(rc, stderr, crash, files, out)
            if why is None and took > SLOW:
                why = f"took {took:.1f} s"
            n += 1
            if rc == 0:
                oks += 1
            elif rc == 1:
                errors += 1
            if why:
                failures += 1
                os.makedirs(keep, exist_ok=True)
                saved = os.path.join(keep, f"{key}-{seed}-{n - 1}-{os.path.basename(target)}")
                with open(saved, "w", encoding="utf-8", newline="") as f:
                    f.write(text)
                print(f"FAIL: case {n - 1} (seed {seed}, {key} spec, {target}): {why}\n"
                      f"  the mutated {target} is {os.path.relpath(saved, TOP)}")
    took = time.monotonic() - start
    print(f"fuzz: {n} mutated specs in {took:.0f} s (seed {seed}): {errors} reported as FILE:LINE:COL, "
          f"{oks} accepted, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
