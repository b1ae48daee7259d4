# SPDX-License-Identifier: MIT
"""Deterministic benchmark gates: counts, never times.

For the NOP workload at batch 32 this measures, per op:

  * user-space instructions, with valgrind's callgrind: the instruction
    count of a 2N-op run minus that of an N-op run, divided by N, so that
    start-up, ring setup and exit cancel out;
  * io_uring_enter calls, with strace, the same way (2N run minus N run);
  * heap allocations, with valgrind's memcheck ("total heap usage"), the
    same way.

Programs (built by mk/bench.mk, all with the same flags):

  raw      nop_liburing wait     liburing, each completion on its own
                                 (io_uring_wait_cqe + io_uring_cqe_seen)
  batch    nop_liburing batch    liburing, completions in batches
                                 (io_uring_for_each_cqe + io_uring_cq_advance)
  checked  nop_sr checked        the checked API (sr_submit + sr_wait)
  rawapi   nop_sr raw            the _raw variant (sr_nop_raw + sr_raw_reap)

The gates (a failing gate makes this script exit 1):

  checked <= raw + 24 instructions per op
  rawapi  <= batch + 2 instructions per op
  io_uring_enter calls per op: checked <= raw and rawapi <= batch, at
      batch 1, 8, 32 and 128
  heap allocations per op: 0 for checked and rawapi

Each measurement is also checked for sense (a count of zero, or a control
program that allocates once per op not showing 1.0), so that a broken
measurement fails instead of passing.

Usage: gates.py --build BUILD_DIR [--ops N] [--selftest]
"""

import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile

BATCH = 32
CHECKED_LIMIT = 24      # instructions per op over raw liburing (per-op wait)
RAWAPI_LIMIT = 2        # instructions per op over raw liburing (batched reap)

PROGRAMS = {
    "raw": ["nop_liburing", "wait"],
    "batch": ["nop_liburing", "batch"],
    "checked": ["nop_sr", "checked"],
    "rawapi": ["nop_sr", "raw"],
    "control": ["nop_liburing", "control_alloc"],
}


def command(build, name, batch, ops):
    """The command line of one NOP program run: BATCH, OPS, no warmup."""
    binary, mode = PROGRAMS[name]
    return [os.path.join(build, "bench", binary), mode, str(batch), str(ops), "0"]


def run(cmd):
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        sys.exit("bench-gates: %s failed (exit %d):\n%s"
                 % (" ".join(cmd), result.returncode, result.stderr[-2000:]))
    return result


def instructions(build, name, ops, tmp, batch=BATCH):
    """User-space instructions of one run, counted by callgrind."""
    out = os.path.join(tmp, "callgrind.%s.%d.%d.out" % (name, batch, ops))
    run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out]
        + command(build, name, batch, ops))
    with open(out) as f:
        for line in f:
            if line.startswith("totals:") or line.startswith("summary:"):
                return int(line.split()[1])
    sys.exit("bench-gates: no instruction total in callgrind's output")


def enters(build, name, batch, ops, tmp):
    """io_uring_enter calls of one run, counted by strace."""
    out = os.path.join(tmp, "strace.%s.%d.%d.out" % (name, batch, ops))
    run(["strace", "-f", "-qq", "-e", "trace=io_uring_enter", "-o", out]
        + command(build, name, batch, ops))
    with open(out) as f:
        return sum(1 for line in f if "io_uring_enter(" in line)


def allocations(build, name, ops):
    """Heap allocations of one run, counted by memcheck."""
    result = run(["valgrind", "--tool=memcheck"] + command(build, name, BATCH, ops))
    found = re.search(r"total heap usage: ([\d,]+) allocs", result.stderr)
    if not found:
        sys.exit("bench-gates: no heap summary in memcheck's output")
    return int(found.group(1).replace(",", ""))


def decide(m):
    """The gates, from the measurements m; returns a list of (ok, text)."""
    batches = sorted(m["enters"])
    checks = [
        (m["checked"] <= m["raw"] + CHECKED_LIMIT,
         "instructions/op: checked %.1f <= raw %.1f + %d"
         % (m["checked"], m["raw"], CHECKED_LIMIT)),
        (m["rawapi"] <= m["batch"] + RAWAPI_LIMIT,
         "instructions/op: rawapi %.1f <= raw batched %.1f + %d"
         % (m["rawapi"], m["batch"], RAWAPI_LIMIT)),
    ]
    for b in batches:
        e = m["enters"][b]
        checks.append((e["checked"] <= e["raw"] and e["rawapi"] <= e["batch"],
                       "io_uring_enter/op at batch %d: checked %.5f <= raw %.5f, "
                       "rawapi %.5f <= raw batched %.5f"
                       % (b, e["checked"], e["raw"], e["rawapi"], e["batch"])))
    checks.append((m["allocs"]["checked"] == 0 and m["allocs"]["rawapi"] == 0,
                   "heap allocations/op: checked %.3f, rawapi %.3f, both 0"
                   % (m["allocs"]["checked"], m["allocs"]["rawapi"])))
    # Sanity: the measurements themselves must have worked.
    for name in ("raw", "batch", "checked", "rawapi"):
        checks.append((10 < m[name] < 10000,
                       "sanity: %s counts a plausible %.1f instructions/op" % (name, m[name])))
    checks.append((all(abs(m["enters"][b]["raw"] - 1.0 / b) < 1e-9 for b in batches),
                   "sanity: raw liburing enters the kernel once per batch"))
    checks.append((m["allocs"]["control"] == 1.0,
                   "sanity: the control program's one malloc per op counts as %.3f"
                   % m["allocs"]["control"]))
    return checks


def gate_line(m):
    e = m["enters"][BATCH]
    return ("bench-gates: raw_b32=%.1f checked_b32=%.1f rawapi_b32=%.1f "
            "enter_per_op_raw=%.5f enter_per_op_checked=%.5f allocs_per_op=%.3f"
            % (m["raw"], m["checked"], m["rawapi"], e["raw"], e["checked"],
               m["allocs"]["checked"]))


def measure(build, ops, all_batches=False):
    """Every count, each from an N-op and a 2N-op run (the runs go in parallel:
    counts do not depend on timing).  With all_batches, instructions per op
    at batch 1, 8 and 128 too (reported, not gated)."""
    names = ("raw", "batch", "checked", "rawapi")
    strace_n = 128 * 25         # divisible by every batch; strace is slow per call
    with tempfile.TemporaryDirectory(prefix="sr-gates-") as tmp:
        jobs = {}
        with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            for name in names:
                for n in (ops, 2 * ops):
                    jobs["ir", name, n] = pool.submit(instructions, build, name, n, tmp)
            for b in (1, 8, 32, 128):
                for name in names:
                    for n in (strace_n, 2 * strace_n):
                        jobs["enter", name, b, n] = pool.submit(enters, build, name, b, n, tmp)
            for name in ("checked", "rawapi", "control"):
                for n in (ops // 10, ops // 5):
                    jobs["alloc", name, n] = pool.submit(allocations, build, name, n)
            for b in (1, 8, 128) if all_batches else ():
                for name in names:
                    for n in (1000 * b, 2000 * b):
                        jobs["irb", name, b, n] = pool.submit(instructions, build, name, n, tmp, b)
            count = {key: job.result() for key, job in jobs.items()}

    def per_op(kind, name, n, *batch):
        """What one op adds: (count of a 2N-op run - count of an N-op run) / N."""
        return (count[(kind, name) + batch + (2 * n,)] - count[(kind, name) + batch + (n,)]) / n

    m = {name: per_op("ir", name, ops) for name in names}
    m["enters"] = {b: {name: per_op("enter", name, strace_n, b) for name in names}
                   for b in (1, 8, 32, 128)}
    m["allocs"] = {name: per_op("alloc", name, ops // 10)
                   for name in ("checked", "rawapi", "control")}
    m["by_batch"] = {b: {name: per_op("irb", name, 1000 * b, b) for name in names}
                     for b in ((1, 8, 128) if all_batches else ())}
    m["by_batch"][BATCH] = {name: m[name] for name in names}
    return m


def selftest():
    """The decision must fail when a number is over its limit."""
    good = {"raw": 62.5, "batch": 51.0, "checked": 84.8, "rawapi": 52.0,
            "enters": {b: {k: 1.0 / b for k in ("raw", "batch", "checked", "rawapi")}
                       for b in (1, 8, 32, 128)},
            "allocs": {"checked": 0.0, "rawapi": 0.0, "control": 1.0}}
    assert all(ok for ok, _ in decide(good)), decide(good)
    bad_cases = []
    for key, value in (("checked", 62.5 + 24.1), ("rawapi", 51.0 + 2.1), ("raw", 0.0)):
        bad = dict(good, **{key: value})
        bad_cases.append(bad)
    more = dict(good, enters={b: dict(good["enters"][b]) for b in good["enters"]})
    more["enters"][32]["checked"] = 2.0 / 32
    bad_cases.append(more)
    for key in ("checked", "rawapi"):
        bad_cases.append(dict(good, allocs=dict(good["allocs"], **{key: 1.0 / 32})))
    bad_cases.append(dict(good, allocs=dict(good["allocs"], control=0.0)))
    for bad in bad_cases:
        assert not all(ok for ok, _ in decide(bad)), bad
    print("bench-gates selftest: %d over-limit cases fail, the good case passes" % len(bad_cases))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build", help="the build directory (default: build)")
    ap.add_argument("--ops", type=int, default=32000, help="N, the smaller run (default 32000)")
    ap.add_argument("--selftest", action="store_true", help="only test the decision logic")
    ap.add_argument("--all-batches", action="store_true",
                    help="also report (not gate) instructions per op at batch 1, 8 and 128")
    args = ap.parse_args()
    selftest()
    if args.selftest:
        return
    for tool in ("valgrind", "strace"):
        if not shutil.which(tool):
            sys.exit("bench-gates: %s is not installed (make deps installs it)" % tool)
    if args.ops % (BATCH * 10):
        sys.exit("bench-gates: --ops must be a multiple of %d" % (BATCH * 10))

    m = measure(args.build, args.ops, args.all_batches)
    checks = decide(m)
    for ok, text in checks:
        print("  %s  %s" % ("ok  " if ok else "FAIL", text))
    for b in sorted(m["by_batch"]) if args.all_batches else ():
        i = m["by_batch"][b]
        print("  info  instructions/op at batch %d: checked %.1f, raw %.1f (+%.1f); "
              "rawapi %.1f, raw batched %.1f (+%.1f)"
              % (b, i["checked"], i["raw"], i["checked"] - i["raw"],
                 i["rawapi"], i["batch"], i["rawapi"] - i["batch"]))
    print(gate_line(m))
    if not all(ok for ok, _ in checks):
        sys.exit("bench-gates: FAILED (see the FAIL lines above)")


if __name__ == "__main__":
    main()
