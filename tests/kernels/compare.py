# SPDX-License-Identifier: MIT
"""Judge the real-kernel runs of tests/kernels/run.sh.

Usage: compare.py MANIFEST RUN_DIR...

Each RUN_DIR holds one kernel's run: guest.log (the results port of the
guest, sections between "==== sr-init begin/end NAME" markers),
console.log (the kernel's console), host.log (the same programs on this
machine with SR_KERNEL set to the guest's version, same markers),
qemu.status, name, simulated or host.error.

For every kernel, and every test in MANIFEST:
  conformance    (simulate) each op's outcome on the real kernel must be
                 the one the simulation gives: passed natively, or
                 unavailable for the same reason ("needs Linux 6.7", "the
                 probe lacks opcode N", "needs a ring set up with ...");
                 a failure anywhere, or a scenario skipped for want of
                 something in one place only, is a disagreement.  The
                 helpers that are not one op's prep (sr_prep_rw, ...)
                 must not fail, and their summary must be the simulation's.
  sr-probe-json  (simulate) the setup-flag rung the ladder lands on, and
                 each op's status, must agree.
  sr-probe       the report is printed here, and must exit 0.
  kfacts         the kernel's opcode probe, setup flags and features
                 must agree with the spec's dates (kfacts.c).
  variants       an op the spec dates after the kernel, but whose opcode
                 the kernel has, must fail its live round trip (unlock.c).
  anything else  must exit 0, print "NAME: key=N ..." with failed=0 when
                 it has a failed key, and, when simulated, print the same
                 summary on both sides; its fallback=N counts.

Prints every disagreement naming the op and both outcomes, then
  real-kernels: kernels=N ops_checked=N native=N fallback=N agree_with_simulation=N failed=N
and exits 1 when failed is not 0 (or no kernel ran).
"""
import json
import os
import re
import sys

BEGIN = re.compile(r"^==== sr-init begin (\S+) ====$")
END = re.compile(r"^==== sr-init end (\S+) status=(\S+) ms=(\d+) ====$")
# Kernel console lines that mean the kernel itself went wrong.
KERNEL_TROUBLE = re.compile(
    r"\] (BUG:|WARNING:|Oops|Kernel panic|general protection fault|kernel BUG|INFO: task .* blocked|"
    r"UBSAN:|KASAN:|Call Trace:)")


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace").replace("\r", "")
    except OSError:
        return None


def sections(text):
    """{name: (lines, status, ms)} and the lines outside any section."""
    out, outside, cur, lines = {}, [], None, []
    for line in (text or "").split("\n"):
        m = BEGIN.match(line)
        if m:
            if cur:
                out[cur] = (lines, "unfinished", 0)
            cur, lines = m.group(1), []
            continue
        m = END.match(line)
        if m and cur == m.group(1):
            out[cur] = (lines, m.group(2), int(m.group(3)))
            cur = None
            continue
        (lines if cur else outside).append(line)
    if cur:
        out[cur] = (lines, "unfinished (the guest stopped inside it)", 0)
    return out, outside


def manifest(path):
    tests = []
    for line in open(path):
        w = line.split()
        if not w or w[0].startswith("#"):
            continue
        tests.append({"name": w[0], "timeout": w[1], "host": w[2], "prog": w[3], "args": w[4:]})
    return tests


# --- conformance output -----------------------------------------------------------------

def classify(reason):
    """The outcome class of a skip reason, without what names this machine."""
    m = re.search(r"needs Linux (\d+\.\d+); running ", reason)
    if m:
        return "unavailable: needs Linux " + m.group(1)
    m = re.search(r"the kernel's opcode probe lacks opcode (\d+)", reason)
    if m:
        return "unavailable: the opcode probe lacks opcode " + m.group(1)
    m = re.search(r"needs a ring set up with (.*)$", reason)
    if m:
        return "unavailable: needs a ring set up with " + m.group(1)
    if "is disabled (SR_DISABLE" in reason:
        return "unavailable: disabled"
    # A scenario's own skip: mkdtemp names differ from run to run.
    return "skipped: " + re.sub(r"(/tmp/sr-live-[\w.]+-)\w{6}", r"\1XXXXXX", reason)


def conformance(lines):
    """{op: (class, detail)} for the ops with a line, the number of skip
    lines, and the summary dict (None when there is none)."""
    ops, sqe, skips, summary = {}, {}, 0, None
    for line in lines:
        if re.match(r"^(skip|FAIL): helper ", line):
            continue    # helpers(): not ops
        m = re.match(r"^(skip|FAIL): (\S+): (.*)$", line)
        if m:
            kind, op, why = m.groups()
            ops[op] = ("FAILED", why) if kind == "FAIL" else (classify(why), why)
            skips += kind == "skip"
            continue
        m = re.match(r"^\s+sqe (\S+): (.*)$", line)
        if m:
            sqe.setdefault(m.group(1), "SQE: " + m.group(2))
            continue
        m = re.match(r"^conformance: (ops=\d+ .*)$", line)
        if m:
            summary = {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    # A wrong SQE fails the op whatever its live round trip did.
    for op, why in sqe.items():
        if ops.get(op, ("",))[0] != "FAILED":
            ops[op] = ("FAILED", why)
    return ops, skips, summary


def helpers(lines):
    """The helpers' summary dict (None when there is none) and their FAIL lines."""
    summary, fails = None, []
    for line in lines:
        m = re.match(r"^conformance-helpers: ((?:\S+=\d+ ?)+)$", line)
        if m:
            summary = {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
        elif line.startswith("FAIL: helper "):
            fails.append(line[len("FAIL: "):])
    return summary, fails


def judge_helpers(k, lines, hl):
    g, fails = helpers(lines)
    if g is None:
        k.fail("conformance in the guest printed no 'conformance-helpers:' line")
        return
    for f in fails:
        k.fail("conformance in the guest: " + f)
    if g.get("failed"):
        k.fail("conformance in the guest: %d helper(s) failed" % g["failed"])
    print("    helpers:    " + " ".join("%s=%d" % kv for kv in g.items()))
    if hl is None:
        return
    h, _ = helpers(hl[0])
    if h != g:
        k.fail("DISAGREE conformance-helpers: real kernel: %s; simulated: %s" % (
            " ".join("%s=%d" % kv for kv in g.items()), h and " ".join("%s=%d" % kv for kv in h.items())))


def outcome(ops, op):
    return ops.get(op, ("native", "passed"))


def consistent(ops, skips, summary, names):
    """Do the per-op lines add up to the summary line?  A parse we cannot trust must fail."""
    failed = sum(1 for o in names if outcome(ops, o)[0] == "FAILED")
    native = sum(1 for o in names if outcome(ops, o)[0] == "native")
    got = {"ops": len(names), "failed": failed, "skipped": skips}
    want = {k: summary.get(k) for k in got}
    # An op failing only its SQE test passed its live round trip too, so
    # live_pass may exceed the ops passing outright, never fall short.
    if got != want or native > summary.get("live_pass", -1):
        return "parsed ops=%d failed=%d skipped=%d native=%d but the summary says %s" % (
            len(names), failed, skips, native, " ".join("%s=%s" % kv for kv in sorted(summary.items())))
    return None


# --- one kernel --------------------------------------------------------------------------

class Kernel:
    def __init__(self, rundir):
        self.dir = rundir
        self.name = (read(os.path.join(rundir, "name")) or rundir).strip()
        self.failures = []
        self.ops_checked = self.native = self.fallback = self.agree = 0
        self.probe_counts = None    # sr-probe's "N ops: N native, N fallback, N unavailable"
        self.ahead = 0              # kfacts: what the kernel has before its mainline date
        self.ahead_ops = set()      # ... of them the ops whose opcode the probe lists (first forms)
        self.explained = []         # differences from the simulation with their reason

    def fail(self, msg):
        self.failures.append(msg)
        print("  FAIL %s: %s" % (self.name, msg))


def console_tail(text, n=15):
    # Without the BIOS's terminal escapes.
    text = re.sub(r"\x1b(\[[0-9;?]*[A-Za-z]|.)", "", text or "")
    lines = [l for l in text.split("\n") if l.strip()]
    return "\n".join("      | " + l for l in lines[-n:]) or "      | (empty)"


def judge(k, tests):
    d = k.dir
    qemu = (read(os.path.join(d, "qemu.status")) or "?").strip()
    console = read(os.path.join(d, "console.log"))
    glog = read(os.path.join(d, "guest.log"))
    guest, outside = sections(glog)
    release = re.search(r"^sr-init: release=(\S+)", glog or "", re.M)
    release = release.group(1) if release else None
    simulated = (read(os.path.join(d, "simulated")) or "").strip()
    host_error = (read(os.path.join(d, "host.error")) or "").strip()
    spec_only = (read(os.path.join(d, "spec-only")) or "").strip()
    level = (read(os.path.join(d, "level")) or "").strip()
    host, _ = sections(read(os.path.join(d, "host.log")))
    k.spec_only = bool(spec_only)
    # The io_uring the guest has, as a version: its release, or later
    # where it shows backports (run.sh wrote it).
    k.level = level or (re.match(r"(\d+\.\d+)", release or "") or [None, None])[1]

    print("\n== %s: %s under qemu (TCG), %s s ==" % (
        k.name, release or "no release reported", (read(os.path.join(d, "boot.seconds")) or "?").strip()))
    if qemu != "0":
        k.fail("qemu exited with %s%s; qemu said:\n%s\n    the kernel console ends:\n%s" % (
            qemu, " (killed after %s s: KERNEL_TIMEOUT)" % (read(os.path.join(d, "qemu.timeout")) or "?").strip()
            if qemu in ("124", "137") else "", console_tail(read(os.path.join(d, "qemu.out")), 5),
            console_tail(console)))
    if not glog or "==== sr-init start ====" not in glog:
        k.fail("the guest's init never reported (no kernel? no initramfs? no serial port ttyS1?); "
               "the kernel console ends:\n%s" % console_tail(console))
        return
    m = re.search(r"^==== sr-init done errors=(\d+) ====$", glog, re.M)
    if not m:
        k.fail("the guest did not finish its tests; the kernel console ends:\n%s" % console_tail(console))
    for line in outside:
        if line.startswith("sr-init: ERROR:"):
            k.fail("guest environment: " + line[len("sr-init: ERROR: "):])
        elif line.startswith("sr-init:"):
            print("  " + line)
    for line in (console or "").split("\n"):
        if KERNEL_TROUBLE.search(line):
            k.fail("the kernel reported: " + line.strip())
    if host_error:
        k.fail("no simulation on this machine: " + host_error)
    elif spec_only:
        print("  no simulation (%s): judged against the spec: every op dated at or before %s must run "
              "natively and pass" % (spec_only, k.level))
    elif simulated:
        print("  simulation here: SR_KERNEL=%s" % simulated)

    # What the kernel has before its mainline date, known before any
    # comparison that it explains.
    for l in guest.get("kfacts", ([],))[0]:
        m = re.match(r"^opcode (\d+) (\S+): spec .*: ahead", l)
        if m:
            k.ahead_ops.add(m.group(2))
    names = None
    if "sr-probe-json" in guest:
        try:
            names = [o["op"] for o in json.loads("\n".join(guest["sr-probe-json"][0]))["ops"]]
        except (ValueError, KeyError) as e:
            k.fail("sr-probe --json output in the guest does not parse: %s" % e)
    for t in tests:
        name = t["name"]
        if name not in guest:
            k.fail("%s: never ran in the guest" % name)
            continue
        lines, status, ms = guest[name]
        hl = host.get(name) if t["host"] == "simulate" else None
        if t["host"] == "simulate" and not host_error and not spec_only and hl is None:
            k.fail("%s: never ran on this machine under SR_KERNEL" % name)
        print("  %-14s %-8s %6.1f s in the guest" % (name, status, ms / 1000.0))
        if name == "conformance":
            judge_conformance(k, lines, status, hl, names, release)
        elif name == "sr-probe-json":
            judge_probe(k, lines, status, hl)
        elif name == "sr-probe":
            if status != "exit:0":
                k.fail("sr-probe: %s" % status)
            print("\n".join("    | " + l for l in lines))
            for l in lines:
                m = re.match(r"^(\d+) ops: (\d+) native, (\d+) fallback, (\d+) unavailable$", l)
                if m:
                    k.probe_counts = tuple(int(x) for x in m.groups())
            if not k.probe_counts:
                k.fail("sr-probe printed no 'N ops: N native, N fallback, N unavailable' line")
        elif name == "kfacts":
            judge_kfacts(k, lines, status)
        elif name == "variants":
            judge_variants(k, lines, status, release)
        elif name == "fallback-matrix":
            judge_matrix(k, lines, status, hl)
        else:
            judge_generic(k, name, lines, status, hl)


def judge_conformance(k, lines, status, hl, names, release):
    if status not in ("exit:0", "exit:1"):
        k.fail("conformance in the guest: %s" % status)
    gops, gskips, gsum = conformance(lines)
    if gsum is None:
        k.fail("conformance in the guest printed no summary line")
        return
    if names is None:
        k.fail("conformance: no op list (sr-probe-json must run in the guest too)")
        return
    bad = consistent(gops, gskips, gsum, names)
    if bad:
        k.fail("conformance output in the guest is inconsistent: " + bad)
    print("    guest:      " + " ".join("%s=%d" % kv for kv in gsum.items()))
    judge_helpers(k, lines, None if getattr(k, "spec_only", False) else hl)
    # An op refused for its date must say which kernel refused it.
    for op, (cls, why) in sorted(gops.items()):
        if cls.startswith("unavailable: needs Linux") and ("running %s" % release) not in why:
            k.fail("%s: the refusal does not name the running kernel %s: %s" % (op, release, why))
    if getattr(k, "spec_only", False):
        judge_conformance_spec(k, gops, names)
        return
    if hl is None:
        return
    hlines, hstatus, _ = hl
    if hstatus not in ("exit:0", "exit:1"):
        k.fail("conformance under SR_KERNEL here: %s" % hstatus)
    hops, hskips, hsum = conformance(hlines)
    if hsum is None:
        k.fail("conformance under SR_KERNEL here printed no summary line")
        return
    bad = consistent(hops, hskips, hsum, names)
    if bad:
        k.fail("conformance output under SR_KERNEL is inconsistent: " + bad)
    print("    simulated:  " + " ".join("%s=%d" % kv for kv in hsum.items()))
    for op in names:
        g, h = outcome(gops, op), outcome(hops, op)
        k.ops_checked += 1
        if g[0] == "native":
            k.native += 1
        if g[0] == h[0] and g[0] != "FAILED":
            k.agree += 1
            continue
        if backport(k, op, g[0] == "native", h[0].startswith("unavailable: needs Linux"), "conformance"):
            continue
        k.fail("DISAGREE %s: real kernel: %s (%s); simulated: %s (%s)" % (op, g[0], g[1], h[0], h[1])
               if g[0] != h[0] else "%s fails on both: real kernel: %s; simulated: %s" % (op, g[1], h[1]))


def vkey(v):
    return tuple(int(x) for x in re.findall(r"\d+", v or "0"))[:2]


def judge_conformance_spec(k, gops, names):
    """A kernel newer than this machine: the spec is the judge.  Every op
    dated at or before the kernel passes natively (or its scenario skips
    for want of hardware or privilege, said here); every later one is
    refused for its date."""
    dates = getattr(k, "op_dates", {})
    for op in names:
        g = outcome(gops, op)
        k.ops_checked += 1
        if g[0] == "native":
            k.native += 1
        want_native = vkey(dates.get(op)) <= vkey(k.level)
        if want_native and g[0] == "native":
            k.agree += 1
        elif want_native and g[0].startswith("skipped: "):
            k.agree += 1
            print("    %s: the scenario skipped: %s" % (op, g[1]))
        elif not want_native and g[0] == "unavailable: needs Linux " + (dates.get(op) or "?"):
            k.agree += 1
        else:
            k.fail("SPEC %s (Linux %s) on %s: %s (%s)" % (op, dates.get(op), k.level, g[0], g[1]))


def backport(k, op, real_native, sim_dated, where):
    """A difference the kernel explains: its probe lists the opcode of op
    (kfacts: ahead of the spec's mainline date), so the library runs op
    natively there, while SR_KERNEL, a version and nothing more, cannot
    know the backport.  Listed, never silent; anything else fails."""
    if op in k.ahead_ops and real_native and sim_dated:
        k.agree += 1 if where == "conformance" else 0
        k.explained.append("%s %s" % (where, op))
        print("    explained %s %s: native on the real kernel, whose probe lists its opcode (a backport); "
              "the simulation goes by the version alone" % (where, op))
        return True
    return False


def probe_status(s):
    if s.startswith("unavailable: "):
        return classify(s[len("unavailable: "):])
    return s


def judge_probe(k, lines, status, hl):
    if status != "exit:0":
        k.fail("sr-probe --json in the guest: %s" % status)
    try:
        g = json.loads("\n".join(lines))
    except ValueError as e:
        k.fail("sr-probe --json in the guest does not parse: %s" % e)
        return
    print("    guest:      setup flags %s; probe last_op %s" % (g["setup_flags"], g["probe_last_op"]))
    k.op_dates = {o["op"]: o["kernel"] for o in g["ops"]}
    if getattr(k, "spec_only", False):
        for o in g["ops"]:
            if vkey(o["kernel"]) <= vkey(k.level) and not o["status"].startswith("native"):
                k.fail("SPEC sr-probe %s (Linux %s) on %s: %s" % (o["op"], o["kernel"], k.level, o["status"]))
        return
    if hl is None:
        return
    try:
        h = json.loads("\n".join(l for l in hl[0] if not l.startswith("safer-ring: ")))
    except ValueError as e:
        k.fail("sr-probe --json under SR_KERNEL here does not parse: %s" % e)
        return
    if not h.get("simulated"):
        k.fail("sr-probe here did not simulate the guest's kernel (SR_KERNEL ignored?): kernel_checked %s" %
               h.get("kernel_checked"))
    if h["kernel_checked"].split(".")[:2] != g["kernel_checked"].split(".")[:2]:
        k.fail("sr-probe: the guest checks ops against %s, the simulation against %s" % (
            g["kernel_checked"], h["kernel_checked"]))
    if h["setup_flags"] != g["setup_flags"]:
        k.fail("DISAGREE setup ladder: real kernel lands on %s; simulated: %s" % (g["setup_flags"], h["setup_flags"]))
    else:
        print("    setup ladder lands on the same rung as simulated")
    hs = {o["op"]: o["status"] for o in h["ops"]}
    for o in g["ops"]:
        a, b = probe_status(o["status"]), probe_status(hs.get(o["op"], "missing"))
        if a != b and not backport(k, o["op"], a.startswith("native"), not b.startswith("native"), "sr-probe"):
            k.fail("DISAGREE sr-probe %s: real kernel: %s; simulated: %s" % (o["op"], o["status"], hs.get(o["op"])))


def judge_kfacts(k, lines, status):
    summary = [l for l in lines if l.startswith("kfacts: ")]
    for l in lines:
        if "DISAGREE" in l:
            k.fail("spec vs kernel: " + l)
    if not summary:
        k.fail("kfacts printed no summary line (%s)" % status)
        return
    print("    " + summary[-1])
    for l in lines:
        if ": ahead" in l:
            k.ahead += 1
            print("    kfacts: " + l)

    if status != "exit:0" and not any("DISAGREE" in l for l in lines):
        k.fail("kfacts: %s" % status)


def judge_variants(k, lines, status, release):
    head = [l for l in lines if l.startswith("sr-variants: ")]
    if not head:
        k.fail("variants printed no list of ops (%s)" % status)
        return
    listed = head[0].rsplit(": ", 1)[1]
    names = [] if listed == "none" else listed.split(",")
    ops, _, summary = conformance(lines)
    if summary is None or summary.get("ops") != len(names):
        k.fail("variants: the run did not cover the %d ops it listed (%s)" % (len(names), status))
        return
    if status not in ("exit:0", "exit:1"):
        k.fail("variants: %s" % status)
    confirmed = 0
    for op in names:
        o = outcome(ops, op)
        if o[0] == "native" and k.ahead:
            # A stable series with later io_uring (kfacts found it ahead):
            # the spec's mainline date stands; the library, which goes
            # by what the kernel shows, does not use it here.
            print("    variants: %s passes on %s before its mainline release: this kernel's io_uring "
                  "carries it (a backport); the library leaves it unused here" % (op, release))
        elif o[0] == "native":
            k.fail("SPEC %s: the spec dates it after %s, but its live round trip passes on that real kernel" %
                   (op, release))
        elif o[0] == "FAILED":
            confirmed += 1
            print("    variants: %s fails as the spec says: %s" % (op, o[1].replace(" (last error: no error)", "")))
        else:
            print("    variants: %s: cannot tell, the scenario skipped: %s" % (op, o[1]))
    print("    variants: %d of %d ops the spec dates later fail here as the spec says (%s)" % (
        confirmed, len(names), ", ".join(names) or "none"))


def summary_of(name, lines):
    for l in reversed(lines):
        m = re.match(r"^%s: ((?:\S+=\S+ ?)+)$" % re.escape(name), l)
        if m:
            return dict(kv.split("=", 1) for kv in m.group(1).split())
    return None


def judge_generic(k, name, lines, status, hl):
    if status != "exit:0":
        k.fail("%s in the guest: %s" % (name, status))
    g = summary_of(name, lines)
    if g is None:
        k.fail("%s printed no summary line '%s: key=N ...' in the guest" % (name, name))
        return
    print("    guest:      " + " ".join("%s=%s" % kv for kv in g.items()))
    if g.get("failed", "0") != "0":
        k.fail("%s in the guest: failed=%s" % (name, g["failed"]))
    # kTLS: a kernel whose packages brought tls.ko must carry both
    # versions' records itself; every kernel serves both over userspace
    # TLS with the module absent.
    if name == "ktls":
        k.ktls = g
        if g.get("module") == "loaded" and g.get("kernel_tls") != "2":
            k.fail("ktls: tls.ko was loaded, but kTLS carried %s of 2 connections" % g.get("kernel_tls"))
        if g.get("served") != g.get("bytes_equal") or int(g.get("served", "0")) < 2:
            k.fail("ktls: served=%s bytes_equal=%s" % (g.get("served"), g.get("bytes_equal")))
    # kernel.io_uring_disabled is 6.6: from there on every mode must run.
    if name == "io_uring-disabled" and vkey(k.level) >= (6, 6) and (g.get("ran") != "3" or g.get("matrix_runs") != "2"):
        k.fail("io_uring-disabled: the kernel has the sysctl (6.6), but ran=%s matrix_runs=%s (want 3 and 2)" % (
            g.get("ran"), g.get("matrix_runs")))
    if g.get("fallback", "").isdigit():
        k.fallback += int(g["fallback"])
    if hl is None:
        return
    if hl[1] != "exit:0":
        k.fail("%s under SR_KERNEL here: %s" % (name, hl[1]))
    h = summary_of(name, hl[0])
    if h is None:
        k.fail("%s printed no summary line under SR_KERNEL here" % name)
    elif h != g:
        k.fail("DISAGREE %s: real kernel: %s; simulated: %s" % (
            name, " ".join("%s=%s" % kv for kv in g.items()), " ".join("%s=%s" % kv for kv in h.items())))


def matrix_table(lines):
    """{op: {column: cell}} from the matrix's table, and the columns."""
    cols, rows = None, {}
    for l in lines:
        w = l.split()
        if w and w[0] == "op" and cols is None and len(w) > 2:
            cols = w[1:]
            continue
        if cols and len(w) == len(cols) + 1 and all(len(c) == 1 and c in "NFESX-" for c in w[1:]):
            rows[w[0]] = dict(zip(cols, w[1:]))
    return cols or [], rows


def judge_matrix(k, lines, status, hl):
    """The generic judgement, then the simulation row by row: every cell
    that ran on both sides must hold the same letter."""
    judge_generic(k, "fallback-matrix", lines, status, None)
    if hl is None:
        return
    if hl[1] != "exit:0":
        k.fail("fallback-matrix under SR_KERNEL here: %s" % hl[1])
    gcols, g = matrix_table(lines)
    hcols, h = matrix_table(hl[0])
    if not g or not h or gcols != hcols:
        k.fail("fallback-matrix: no table to compare (guest %d rows, simulation %d rows)" % (len(g), len(h)))
        return
    same = diff = 0
    skipped = set()
    for op in g:
        for col in gcols:
            a, b = g[op].get(col), h.get(op, {}).get(col)
            if a == "-" or b == "-":
                skipped.add(col) if a != b else None
                continue
            if a == b:
                same += 1
            elif backport(k, op, a == "N", b != "N", "fallback-matrix[%s]" % col):
                same += 1
            else:
                diff += 1
                k.fail("DISAGREE fallback-matrix %s [%s]: real kernel %s, simulated %s" % (op, col, a, b))
    print("    matrix cells: %d the same on the real kernel and in the simulation, %d different%s" % (
        same, diff, "; columns run on one side only: " + ", ".join(sorted(skipped)) if skipped else ""))


def main():
    if len(sys.argv) < 3:
        print("usage: compare.py MANIFEST RUN_DIR...", file=sys.stderr)
        return 2
    tests = manifest(sys.argv[1])
    kernels = []
    for d in sys.argv[2:]:
        k = Kernel(d)
        judge(k, tests)
        kernels.append(k)
    failed = sum(len(k.failures) for k in kernels)
    print()
    for k in kernels:
        pc = k.probe_counts or (0, 0, 0, 0)
        print("kernel %s: ops=%d native=%d fallback=%d unavailable=%d ahead=%d | ops_checked=%d "
              "agree_with_%s=%d explained=%d matrix_fallback=%d failed=%d" % (
                  k.name, pc[0], pc[1], pc[2], pc[3], k.ahead, k.ops_checked,
                  "spec" if getattr(k, "spec_only", False) else "simulation", k.agree, len(k.explained),
                  k.fallback, len(k.failures)))
    kt = [k.ktls for k in kernels if getattr(k, "ktls", None)]
    if kt:
        print("ktls: kernels=%d served=%d bytes_equal=%d (kTLS connections %d, userspace TLS %d; kernels "
              "with kTLS: %s)" % (
                  sum(1 for g in kt if int(g.get("kernel_tls", "0")) > 0), sum(int(g.get("served", "0")) for g in kt),
                  sum(int(g.get("bytes_equal", "0")) for g in kt), sum(int(g.get("kernel_tls", "0")) for g in kt),
                  sum(int(g.get("user_tls", "0")) for g in kt),
                  ", ".join(k.name for k in kernels if int(getattr(k, "ktls", {}).get("kernel_tls", "0")) > 0)
                  or "none"))
    print("real-kernels: kernels=%d ops_checked=%d native=%d fallback=%d agree_with_simulation=%d failed=%d" % (
        len(kernels), sum(k.ops_checked for k in kernels), sum(k.native for k in kernels),
        sum(k.fallback for k in kernels), sum(k.agree for k in kernels), failed + (0 if kernels else 1)))
    return 1 if failed or not kernels else 0


if __name__ == "__main__":
    sys.exit(main())
