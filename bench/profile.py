# SPDX-License-Identifier: MIT
"""Where the instructions of a path go, per op: a breakdown by function.

For each target (a program of bench/, a path, a batch) this runs callgrind
twice, on N and 2N ops, and reads both outputs the way callgrind_annotate
does (--inclusive=no and --inclusive=yes), per function: what the 2N run
spent minus what the N run spent, divided by N, is what one op costs there;
set-up and exit cancel out.  Code the compiler inlined into the benchmark's
loop (sr_submit, sr_wait and everything in the headers) is attributed to the
inline function whose source lines it came from, found in that header, and
shown as "name (file, inlined)".

Writes a Markdown report (default bench/results/profile.md).

Usage: profile.py [--build BUILD] [--out FILE] [--targets read:32,read:1,...] [--top N]
"""

import argparse
import concurrent.futures
import os
import re
import sys
import tempfile
from collections import defaultdict

import gates
import sysinfo

# path:batch.  The default: what the owned-buffer optimisation aims at.
DEFAULT_TARGETS = "read:32,read:1,pool:32,recv:32,cb:32,nop:32"
N = gates.IR_OPS


def run_callgrind(build, prog, batch, n, out, env=None):
    """Callgrind on one run, as bench/gates.py runs it (env: OPS_SETTLE)."""
    gates.run(["valgrind", "--tool=callgrind", "--compress-strings=no", "--compress-pos=no",
               "--callgrind-out-file=" + out] + gates.command(build, prog, batch, n), env)
    return parse(out)


class Functions:
    """Where a source line belongs: the function whose body (kernel style:
    '{' and '}' at column 0) holds it."""

    def __init__(self):
        self.files = {}

    def name(self, path, line):
        if path not in self.files:
            self.files[path] = self._scan(path)
        for start, end, name in self.files[path]:
            if start <= line <= end:
                return name
        return None

    @staticmethod
    def _scan(path):
        try:
            with open(path, errors="replace") as f:
                lines = f.read().splitlines()
        except OSError:
            return []
        spans, start, name = [], None, None
        for i, text in enumerate(lines, 1):
            if text.startswith("{") and start is None:
                # The name: the first identifier before '(' on the nearest line
                # above that starts at column 0 (the others continue the
                # parameter list).
                start, name = i, None
                for above in range(i - 2, max(-1, i - 8), -1):
                    head = lines[above]
                    if head[:1].isalpha() or head[:1] == "_":
                        found = re.search(r"(\w+)\s*\(", head)
                        name = found.group(1) if found else None
                        break
            elif text.startswith("}") and start is not None:
                if name:
                    spans.append((start, i, name))
                start = None
        return spans


def parse(out):
    """Per function: self cost, inclusive cost; and self cost per
    (function, source file, line) for code inlined from other files."""
    self_cost = defaultdict(int)
    incl_calls = defaultdict(int)
    inlined = defaultdict(int)
    objs = {}
    files = {}
    ob = fl = fi = fn = None
    in_call = False
    total = None
    with open(out) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            if line[0].isdigit() or line[0] in "+-*":
                parts = line.split()
                if len(parts) < 2:
                    in_call = False
                    continue
                cost = int(parts[1])
                if in_call:
                    incl_calls[fn] += cost
                    in_call = False
                else:
                    self_cost[fn] += cost
                    if fi and fi != fl:
                        inlined[fn, fi, int(parts[0])] += cost
                continue
            key, _, value = line.partition("=")
            if key == "ob":
                ob = value
            elif key == "fl":
                fl = fi = value
            elif key in ("fi", "fe"):
                fi = value
            elif key == "fn":
                fn = value
                fi = fl
                objs[fn] = ob
                files.setdefault(fn, fl)
            elif key == "calls":
                in_call = True
            elif line.startswith("summary:") or line.startswith("totals:"):
                total = int(line.split()[1])
    incl = {k: self_cost[k] + incl_calls[k] for k in set(self_cost) | set(incl_calls)}
    return {"self": dict(self_cost), "incl": incl, "inlined": dict(inlined), "objs": objs,
            "files": files, "total": total}


def per_op(big, small, n):
    keys = set(big) | set(small)
    return {k: (big.get(k, 0) - small.get(k, 0)) / n for k in keys}


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def short(path):
    """A path in the project relative to its root; others by their base name."""
    full = os.path.abspath(path)
    if full.startswith(ROOT + os.sep):
        return os.path.relpath(full, ROOT)
    return os.path.basename(path) if path != "???" else "(no debug info)"


def breakdown(big, small, n, funcs):
    """(total per op, self rows, inclusive rows, rows by source file);
    rows: {name: per op}."""
    total = (big["total"] - small["total"]) / n
    self_rows = defaultdict(float)
    by_file = defaultdict(float)
    # Inlined code: moved from the function it was inlined into to its origin.
    moved = defaultdict(float)
    for (fn, fi, line), cost in per_op(big["inlined"], small["inlined"], n).items():
        origin = funcs.name(fi, line) or "line %d" % line
        self_rows["%s (%s, inlined)" % (origin, short(fi))] += cost
        by_file[short(fi) + " (inlined)"] += cost
        moved[fn] += cost
    for fn, cost in per_op(big["self"], small["self"], n).items():
        self_rows[fn] += cost - moved.get(fn, 0.0)
        where = big["files"].get(fn) or small["files"].get(fn) or "???"
        obj = big["objs"].get(fn) or small["objs"].get(fn) or ""
        by_file[short(where) if where != "???" else "(%s)" % os.path.basename(obj)] += \
            cost - moved.get(fn, 0.0)
    # Inclusive: the functions below the benchmark's main (start-up and
    # unnamed stubs say nothing).
    incl_rows = {k: v for k, v in per_op(big["incl"], small["incl"], n).items()
                 if k not in ("main", "(below main)") and not k.startswith("__libc_start")
                 and not k.startswith("0x")}
    return total, self_rows, incl_rows, by_file


def table(rows, top, total, head):
    picked = sorted(((v, k) for k, v in rows.items() if abs(v) >= 0.05), reverse=True)[:top]
    lines = ["| %s | instructions/op | share |" % head, "|---|---:|---:|"]
    for v, k in picked:
        lines.append("| `%s` | %.1f | %.0f%% |" % (k, v, 100.0 * v / total if total else 0))
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--out", default="bench/results/profile.md")
    ap.add_argument("--targets", default=DEFAULT_TARGETS,
                    help="comma-separated path:batch (default %s)" % DEFAULT_TARGETS)
    ap.add_argument("--top", type=int, default=25, help="rows per table (default 25)")
    args = ap.parse_args()
    paths = {p.name: p for p in gates.PATHS}
    targets = []
    for t in args.targets.split(","):
        name, _, batch = t.partition(":")
        if name not in paths or not batch.isdigit() or int(batch) not in N:
            sys.exit("bench-profile: bad target %r (path:batch, batch one of %s)"
                     % (t, ", ".join(map(str, sorted(N)))))
        targets.append((paths[name], int(batch)))

    funcs = Functions()
    with tempfile.TemporaryDirectory(prefix="sr-profile-") as tmp, \
            concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        jobs = {}
        for p, b in targets:
            for side in ("checked", "base"):
                for k in (1, 2):
                    out = os.path.join(tmp, "%s.%s.%d.%d" % (p.name, side, b, k))
                    jobs[p.name, side, b, k] = pool.submit(run_callgrind, args.build,
                                                           p.sides[side], b, k * N[b], out,
                                                           p.env(side, b))
        got = {key: job.result() for key, job in jobs.items()}

    md = ["<!-- SPDX-License-Identifier: MIT -->",
          "# Where the instructions go, per op",
          "",
          "Made by `make bench-profile` (bench/profile.py).  For each path, callgrind counts a "
          "2N-op and an N-op run; a function's cost per op is the difference divided by N "
          "(set-up and exit cancel out), by function as `callgrind_annotate` reports it: "
          "*self* (instructions in the function's own code) and *inclusive* (with what it "
          "calls).  Code inlined into the benchmark's loop is attributed to the inline "
          "function whose source lines it came from: `name (file, inlined)`.  Sides: the "
          "checked API (bench/ops_sr.c, bench/nop_sr.c) and raw liburing doing the same work "
          "(bench/ops_liburing.c, bench/nop_liburing.c); see bench/README.md.",
          "",
          "Counted at commit %s." % sysinfo.git_commit("."),
          ""]
    summary = ["| path | what | batch | checked API | liburing | difference |",
               "|---|---|---:|---:|---:|---:|"]
    body = []
    for p, b in targets:
        n = N[b]
        tot = {}
        for side in ("checked", "base"):
            total, self_rows, incl_rows, by_file = breakdown(
                got[p.name, side, b, 2], got[p.name, side, b, 1], n, funcs)
            tot[side] = total
            who = "checked API" if side == "checked" else "liburing"
            top = args.top if side == "checked" else 10
            body += ["### %s, batch %d: %s, %.1f instructions/op" % (p.name, b, who, total), ""]
            body += ["By source file (self):", ""] + table(by_file, top, total, "file") + [""]
            body += ["Self:", ""] + table(self_rows, top, total, "function") + [""]
            body += ["Inclusive:", ""] + table(incl_rows, top, total, "function") + [""]
        summary.append("| %s | %s | %d | %.1f | %.1f | %+.1f |" % (
            p.name, p.what, b, tot["checked"], tot["base"], tot["checked"] - tot["base"]))
    md += ["## Totals", ""] + summary + ["", "## By function", ""] + body
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out + ".tmp", "w") as f:
        f.write("\n".join(md).rstrip() + "\n")
    os.replace(args.out + ".tmp", args.out)
    print("bench-profile: %s" % args.out)


if __name__ == "__main__":
    main()
