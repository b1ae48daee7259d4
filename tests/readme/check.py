#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The README's code is true: every ```c block compiles (as a function body
when it is not a whole program), and every call written in running text,
`sr_NAME(args)`, passes as many arguments as the function (or macro) of the
headers takes.  Usage: check.py [--cc CC] README.md INCLUDE_DIR..."""
import argparse
import os
import re
import subprocess
import sys
import tempfile

WARN = ["-Wall", "-Wextra", "-Werror", "-Wno-unused-variable", "-Wno-unused-value", "-Wno-unused-but-set-variable"]


def blocks(text):
    return [(text[:m.start()].count("\n") + 2, m.group(1))
            for m in re.finditer(r"^```c\n(.*?)^```", text, re.S | re.M)]


def program(code):
    """A block as a translation unit: includes on top, the rest in main()."""
    if re.search(r"\bmain\s*\(", code):
        return code
    inc = [x for x in code.splitlines() if x.startswith("#include")]
    body = [x for x in code.splitlines() if not x.startswith("#include")]
    # Names a snippet takes from its surroundings: a descriptor to read.
    return ("\n".join(inc + ["#include <stdio.h>", "int main(void)", "{", "\tint fd = 0;", ""]
                      + ["\t" + x for x in body] + ["\treturn 0;", "}"]) + "\n")


# `sr_name(arg, arg)` in running text; NAME stands for every op, args for an op's own.
CALL = re.compile(r"`(sr_[a-z0-9_]+)\(([^`()]*)\)`")


def calls(text):
    seen = {}
    for m in CALL.finditer(text):
        name, args = m.group(1), m.group(2).strip()
        if "NAME" in name or "FIELD" in name or "..." in args or "args" in args.split(", "):
            continue
        seen.setdefault((name, args), text[:m.start()].count("\n") + 1)
    return seen


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cc", default="gcc")
    ap.add_argument("readme")
    ap.add_argument("includes", nargs="+")
    a = ap.parse_args()
    with open(a.readme, encoding="utf-8") as f:
        text = f.read()
    inc = [x for d in a.includes for x in ("-I", d)]
    failures = []
    with tempfile.TemporaryDirectory() as t:
        for line, code in blocks(text):
            src = os.path.join(t, f"block{line}.c")
            with open(src, "w") as f:
                f.write(program(code))
            r = subprocess.run([a.cc, "-std=c11", "-fsyntax-only", *WARN, *inc, src], capture_output=True, text=True)
            if r.returncode:
                failures.append(f"{a.readme}:{line}: the ```c block does not compile:\n" +
                                "\n".join(r.stderr.splitlines()[:12]))
        # Every call with as many arguments as it has: zeros fit pointers
        # and integers; a wrong count is the only error looked at.
        found = calls(text)
        src = os.path.join(t, "calls.c")
        lines = ["#include <safer-ring.h>", "void sr_readme_calls(void);", "void sr_readme_calls(void)", "{"]
        where = {}
        for (name, args), line in sorted(found.items(), key=lambda x: x[1]):
            n = len([x for x in args.split(",") if x.strip()]) if args else 0
            where[len(lines) + 1] = (name, args, line)
            lines.append(f"\t(void){name}({', '.join(['0'] * n)});")
        lines.append("}")
        with open(src, "w") as f:
            f.write("\n".join(lines) + "\n")
        r = subprocess.run([a.cc, "-std=gnu11", "-fsyntax-only", *inc, src], capture_output=True, text=True)
        for m in re.finditer(r"calls\.c:(\d+):\d+: error: (too (?:many|few) arguments[^\n]*|macro \"[a-z_0-9]+\" "
                             r"(?:passed \d+ arguments, but takes just \d+|requires \d+ arguments, but only \d+ given)"
                             r"|implicit declaration of function[^\n]*)", r.stderr):
            k = int(m.group(1))
            if k in where:
                name, args, line = where[k]
                failures.append(f"{a.readme}:{line}: `{name}({args})`: {m.group(2)}")
        if not found:
            failures.append(f"{a.readme}: found no `sr_...(...)` call to check")
    if failures:
        print("\n".join(failures))
        print(f"readme: {len(failures)} snippet(s) of {a.readme} are not true to the headers")
        return 1
    print(f"readme: {len(blocks(text))} code block(s) compile, {len(found)} calls in the text have the "
          f"headers' argument counts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
