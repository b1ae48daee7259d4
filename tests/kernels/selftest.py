# SPDX-License-Identifier: MIT
"""Can compare.py fail?  Every way a real-kernel run can go wrong, on small
made-up logs: each must fail the check with the right message, and the
clean run must pass.  Run by make check-kernels before any kernel boots.

Usage: selftest.py WORK_DIR
"""
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

MANIFEST = """\
sr-probe-json   60  simulate  sr-probe --json
kfacts          60  -         sr-kfacts
conformance     150 simulate  conformance
variants        120 -         sr-variants
fallback-matrix 150 simulate  fallback-matrix
"""


def probe(sim, ladder="IORING_SETUP_SINGLE_ISSUER", pipe="unavailable: pipe needs Linux 6.16; running R"):
    return """{
  "kernel": "R", "kernel_checked": "6.1.0", "simulated": %s,
  "setup_flags": "%s", "probe_last_op": 48,
  "ops": [
    {"op": "nop", "opcode": 0, "kernel": "5.1", "status": "native"},
    {"op": "read", "opcode": 22, "kernel": "5.6", "status": "native"},
    {"op": "pipe", "opcode": 62, "kernel": "6.16", "status": "%s"}
  ]
}""" % ("true" if sim else "false", ladder, pipe)


HELPERS = "conformance-helpers: helpers=2 sqe_equal=2 live_pass=2 skipped=0 failed=0"


def conf(read="", pipe="skip: pipe: pipe needs Linux 6.16; running 6.1.0-9-test", summary=None, helpers=HELPERS):
    lines = ["  Test: nop ...passed", read, pipe,
             summary or "conformance: ops=3 sqe_equal=3 live_pass=%d skipped=1 failed=%d" % (
                 1 if read else 2, 1 if read else 0), helpers]
    return "\n".join(l for l in lines if l)


def matrix(read="N F", summary="fallback-matrix: configs=2 ops=3 native=2 fallback=1 error=0 failed=0"):
    return ("op                           native SR_BACK\n"
            "nop                               N       F\n"
            "read                              %s\n"
            "pipe                              F       F\n\n%s" % ("       ".join(read.split()), summary))


def section(name, body, status="exit:0"):
    return "==== sr-init begin %s ====\n%s\n==== sr-init end %s status=%s ms=10 ====\n" % (name, body, name, status)


def base():
    guest = ("==== sr-init start ====\nsr-init: release=6.1.0-9-test machine=x86_64 ready_ms=1\n" +
             section("sr-probe-json", probe(False)) +
             section("kfacts", "opcode 0 nop: spec 5.1, kernel supports it: agree\n"
                     "kfacts: kernel=R opcodes=1 setup_flags=0 features=0 agree=1 disagree=0") +
             section("conformance", conf()) +
             section("variants", "sr-variants: running R; ops the spec dates later whose opcode it has: 1: "
                     "fadvise64\nFAIL: fadvise64: sync.c:1: c.res == -22\n"
                     "conformance: ops=1 sqe_equal=1 live_pass=0 skipped=0 failed=1", "exit:1") +
             section("fallback-matrix", matrix()) +
             "==== sr-init done errors=0 ====\n")
    host = (section("sr-probe-json", "safer-ring: a note on stderr\n" + probe(True)) +
            section("conformance", conf()) +
            section("fallback-matrix", matrix()))
    return {"name": "test-6.1", "qemu.status": "0", "boot.seconds": "1.0", "simulated": "6.1.0",
            "console.log": "[    1.0] reboot: Power down\n", "guest.log": guest, "host.log": host}


def apply(files, edits):
    """Each edit is (file, old, new): replace old by new once; old None sets
    the whole file, new None removes it."""
    for name, old, new in edits:
        if new is None:
            files.pop(name)
        elif old is None:
            files[name] = new
        else:
            assert old in files[name], (name, old)
            files[name] = files[name].replace(old, new, 1)
    return files


G, H = "guest.log", "host.log"
CLEAN_SUM = "live_pass=2 skipped=1 failed=0"
VARIANT_FAILS = "FAIL: fadvise64: sync.c:1: c.res == -22\nconformance: ops=1 sqe_equal=1 live_pass=0 skipped=0 failed=1"

# (what goes wrong, edits to the clean run, exit status wanted, text wanted)
CASES = [
    ("nothing: the clean run", [], 0,
     "real-kernels: kernels=1 ops_checked=3 native=2 fallback=1 agree_with_simulation=3 failed=0"),
    ("a live round trip fails on the real kernel",
     [(G, conf(), conf(read="FAIL: read: rw.c:9: c.res == -22"))], 1,
     "DISAGREE read: real kernel: FAILED (rw.c:9: c.res == -22); simulated: native (passed)"),
    ("the real kernel's probe lacks an op the simulation runs",
     [(G, conf(), conf(read="skip: read: read: the kernel's opcode probe lacks opcode 22 (running R)",
                       summary="conformance: ops=3 sqe_equal=3 live_pass=1 skipped=2 failed=0"))], 1,
     "DISAGREE read: real kernel: unavailable: the opcode probe lacks opcode 22"),
    ("a scenario skips in the guest only (its environment)",
     [(G, conf(), conf(read="skip: read: /tmp/sr-live-read-a1B2c3 does not support user xattrs",
                       summary="conformance: ops=3 sqe_equal=3 live_pass=1 skipped=2 failed=0"))], 1,
     "DISAGREE read: real kernel: skipped: /tmp/sr-live-read-XXXXXX does not support user xattrs"),
    ("an SQE differs in the guest",
     [(G, "  Test: nop ...passed", "  sqe nop: checked builder vs reference differs: byte 4 (fd) 00 != ff;"),
      (G, CLEAN_SUM, "live_pass=2 skipped=1 failed=1")], 1, "DISAGREE nop: real kernel: FAILED (SQE:"),
    ("an op fails on both sides alike", [(G, conf(), conf(read="FAIL: read: rw.c:9: bad")),
                                         (H, conf(), conf(read="FAIL: read: rw.c:9: bad"))], 1,
     "read fails on both: real kernel: rw.c:9: bad"),
    ("the summary does not add up", [(G, CLEAN_SUM, "live_pass=2 skipped=0 failed=0")], 1,
     "conformance output in the guest is inconsistent"),
    ("the conformance summary is missing", [(G, "conformance: ops=3 sqe_equal=3 " + CLEAN_SUM, "")], 1, "printed no summary line"),
    ("a helper's live round trip fails in the guest",
     [(G, conf(), conf(read="FAIL: helper rw: raw.c:9: sr_prep_rw(READ): res -22",
                       helpers="conformance-helpers: helpers=2 sqe_equal=2 live_pass=1 skipped=0 failed=1"))], 1,
     "conformance in the guest: helper rw: raw.c:9"),
    ("a helper skips in the guest only",
     [(G, conf(), conf(read="skip: helper send_set_addr: send_zc needs Linux 6.0",
                       helpers="conformance-helpers: helpers=2 sqe_equal=2 live_pass=1 skipped=1 failed=0"))], 1,
     "DISAGREE conformance-helpers: real kernel: helpers=2 sqe_equal=2 live_pass=1 skipped=1"),
    ("the helpers' summary is missing", [(G, conf(), conf(helpers=""))], 1, "printed no 'conformance-helpers:' line"),
    ("the setup ladder lands elsewhere", [(G, probe(False), probe(False, ladder="none"))], 1,
     "DISAGREE setup ladder: real kernel lands on none"),
    ("sr-probe statuses differ", [(G, probe(False), probe(False, pipe="native"))], 1, "DISAGREE sr-probe pipe"),
    ("SR_KERNEL was ignored here", [(H, probe(True), probe(False))], 1, "did not simulate the guest's kernel"),
    ("the simulation could not run here",
     [("simulated", None, None), (H, None, None), ("host.error", None, "the guest never reported")], 1,
     "no simulation on this machine: the guest never reported"),
    ("a guest newer than this machine is judged against the spec: clean",
     [("simulated", None, None), (H, None, None), ("spec-only", None, "the guest runs 6.1.0-9-test, newer")], 0,
     "agree_with_spec=3"),
    ("a guest newer than this machine lacks an op the spec dates before it",
     [("simulated", None, None), (H, None, None), ("spec-only", None, "the guest runs 6.1.0-9-test, newer"),
      (G, conf(), conf(read="skip: read: read: the kernel's opcode probe lacks opcode 22 (running R)",
                       summary="conformance: ops=3 sqe_equal=3 live_pass=1 skipped=2 failed=0"))], 1,
     "SPEC read (Linux 5.6) on 6.1: unavailable: the opcode probe lacks opcode 22"),
    ("a backport the kernel's probe shows explains a difference from the simulation",
     [(G, "opcode 0 nop: spec 5.1, kernel supports it: agree",
       "opcode 0 nop: spec 5.1, kernel supports it: agree\nopcode 63 pipe: spec 6.16, kernel supports it: ahead (x)"),
      (G, "kfacts: kernel=R opcodes=1 setup_flags=0 features=0 agree=1 disagree=0",
       "kfacts: kernel=R opcodes=2 setup_flags=0 features=0 agree=1 ahead=1 disagree=0"),
      (G, '"status": "unavailable: pipe needs Linux 6.16; running R"', '"status": "native"'),
      (G, "skip: pipe: pipe needs Linux 6.16; running 6.1.0-9-test\n", ""),
      (G, CLEAN_SUM, "live_pass=3 skipped=0 failed=0")], 0, "explained conformance pipe: native on the real kernel"),
    ("the same difference without a backport in kfacts fails",
     [(G, '"status": "unavailable: pipe needs Linux 6.16; running R"', '"status": "native"'),
      (G, "skip: pipe: pipe needs Linux 6.16; running 6.1.0-9-test\n", ""),
      (G, CLEAN_SUM, "live_pass=3 skipped=0 failed=0")], 1, "DISAGREE pipe: real kernel: native"),
    ("the spec dates an opcode wrongly", [(G, "kernel supports it: agree", "kernel lacks it: DISAGREE")], 1,
     "spec vs kernel: opcode 0 nop: spec 5.1, kernel lacks it: DISAGREE"),
    ("a variant the spec dates later works",
     [(G, VARIANT_FAILS, "conformance: ops=1 sqe_equal=1 live_pass=1 skipped=0 failed=0")], 1,
     "SPEC fadvise64: the spec dates it after 6.1.0-9-test"),
    ("the fallback matrix disagrees with its simulation in one cell",
     [(G, matrix(), matrix(read="F F", summary="fallback-matrix: configs=2 ops=3 native=1 fallback=2 error=0 failed=0"))],
     1, "DISAGREE fallback-matrix read [native]: real kernel F, simulated N"),
    ("the fallback matrix prints no table", [(G, matrix(), "fallback-matrix: configs=2 ops=3 native=2 fallback=1 "
                                              "error=0 failed=0")], 1, "fallback-matrix: no table to compare"),
    ("the fallback matrix fails in the guest", [(G, "error=0 failed=0", "error=0 failed=1")], 1,
     "fallback-matrix in the guest: failed=1"),
    ("a test crashes in the guest", [(G, "end kfacts status=exit:0", "end kfacts status=signal:11")], 1,
     "kfacts: signal:11"),
    ("a test never runs", [(G, "begin variants", "begin other")], 1, "variants: never ran in the guest"),
    ("the guest stops before the end", [(G, "==== sr-init done errors=0 ====\n", "")], 1,
     "did not finish its tests"),
    ("qemu is killed by the time limit", [("qemu.status", "0", "124")], 1, "KERNEL_TIMEOUT"),
    ("the guest lacks something it needs",
     [(G, "ready_ms=1\n", "ready_ms=1\nsr-init: ERROR: no scratch disk\n")], 1, "guest environment: no scratch disk"),
    ("the kernel warns",
     [("console.log", "[    1.0]", "[    0.5] WARNING: CPU: 0 PID: 1 at io_uring/x.c:1\n[    1.0]")], 1,
     "the kernel reported: [    0.5] WARNING"),
    ("a refusal does not name the kernel",
     [(G, "needs Linux 6.16; running 6.1.0-9-test", "needs Linux 6.16; running 6.1")], 1,
     "pipe: the refusal does not name the running kernel 6.1.0-9-test"),
    ("init never starts", [(G, "==== sr-init start ====", "")], 1, "the guest's init never reported"),
]


def main():
    work = sys.argv[1]
    failures = 0
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    with open(os.path.join(work, "manifest"), "w") as f:
        f.write(MANIFEST)
    for i, (what, edits, want_rc, want_text) in enumerate(CASES):
        files = apply(base(), edits)
        d = os.path.join(work, "case%02d" % i)
        os.makedirs(d)
        for name, text in files.items():
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        r = subprocess.run([sys.executable, os.path.join(HERE, "compare.py"), os.path.join(work, "manifest"), d],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        if r.returncode != want_rc or want_text not in r.stdout:
            failures += 1
            print("kernels selftest: FAIL: %s: want exit %d and '%s'; got exit %d:\n%s" % (
                what, want_rc, want_text, r.returncode, r.stdout))
    print("kernels selftest: %d cases, %d failed (compare.py on made-up runs)" % (len(CASES), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
