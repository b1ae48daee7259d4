# SPDX-License-Identifier: MIT
"""Turn results.json (from bench/run.py) into REPORT.md and PNG plots.

Usage: report.py OUT_DIR      (reads OUT_DIR/results.json, and OUT_DIR/gates.txt and
                               gates.json when there are; writes OUT_DIR/REPORT.md
                               and OUT_DIR/*.png)
"""

import json
import math
import os
import sys

import matplotlib
matplotlib.use("Agg")           # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import scipy  # noqa: E402

import stats  # noqa: E402

SYSTEM_ROWS = [
    ("date", "Date"), ("kernel", "Kernel"), ("os", "OS"), ("cpu", "CPU model"),
    ("cpus", "CPUs"), ("memory", "Memory"), ("numa_nodes", "NUMA nodes"),
    ("virtualization", "Virtualization"), ("data_device", "Data device"),
    ("io_scheduler", "I/O scheduler"), ("filesystem", "File system (data)"),
    ("liburing", "liburing"), ("compiler", "Compiler"),
    ("ring_setup_flags", "Ring setup flags (safer-ring and the liburing baselines)"),
    ("cp", "cp"), ("rsync", "rsync"), ("git_commit", "Commit"),
    ("busy_start", "Other load at start (load average 1/5/15 min; PSI some, 60 s)"),
    ("busy_end", "Other load at end"), ("bench_seconds", "Duration of the run (s)"),
]


# --- numbers ----------------------------------------------------------------------------

def num(x, like=None):
    """x with about four significant digits (as many decimals as `like` needs)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    ref = abs(like if like is not None else x)
    if ref >= 1000:
        return "{:,.0f}".format(x)
    if ref >= 100:
        return "%.1f" % x
    if ref >= 10:
        return "%.2f" % x
    return "%.3f" % x


def pm(mean, half, unit=""):
    unit = " " + unit if unit else ""
    if math.isnan(half):
        return "%s%s (one run, no interval)" % (num(mean), unit)
    return "%s ± %s%s (95%% CI)" % (num(mean), num(half, like=mean), unit)


def pct(x):
    return "n/a" if math.isnan(x) else "%.1f%%" % x


def pval(p):
    if p is None or math.isnan(p):
        return "n/a"
    return "%.2g" % p if p >= 0.001 else "<0.001"


# --- analysis ---------------------------------------------------------------------------

def analyse(w):
    """Per program: mean and CI of the metric (and of CPU time when recorded);
    per comparison: the stats.compare result and the target's verdict."""
    progs = {p["name"]: p for p in w["programs"]}
    for p in w["programs"]:
        values = [s["value"] for s in p["samples"]]
        p["mean"], p["ci"] = stats.mean_ci(values) if values else (math.nan, math.nan)
        cpu = [s["cpu"] for s in p["samples"] if s.get("cpu") is not None]
        p["cpu_mean"], p["cpu_ci"] = stats.mean_ci(cpu) if cpu else (math.nan, math.nan)
    for c in w["comparisons"]:
        cand, base = progs[c["candidate"]], progs[c["baseline"]]
        c["cand"], c["base"] = cand, base
        c["cpu_result"] = None
        if not cand["samples"] or not base["samples"]:
            missing = cand if not cand["samples"] else base
            c["result"] = None
            c["why"] = "%s: %s" % (missing["label"], missing["skip"] or "no runs")
            c["verdict"] = "not measured"
            c["cpu_verdict"] = "not measured" if c.get("cpu_target") else None
            continue
        r = stats.compare([s["value"] for s in cand["samples"]],
                          [s["value"] for s in base["samples"]], w["better"])
        c["result"] = r
        cpu_a = [s["cpu"] for s in cand["samples"] if s.get("cpu") is not None]
        cpu_b = [s["cpu"] for s in base["samples"] if s.get("cpu") is not None]
        c["cpu_result"] = stats.compare(cpu_a, cpu_b, "lower") if cpu_a and cpu_b else None
        c["verdict"] = verdict(r, c["target"])
        c["cpu_verdict"] = verdict(c["cpu_result"], c.get("cpu_target"))


def verdict(r, target):
    """A target's verdict on a stats.compare result (None: no target)."""
    if not target:
        return None
    if r is None:
        return "not measured"
    if r["pairs"] < 2:
        return "not judged (one run)"
    if not stats.target_met(r, target):
        return "not met"
    if target[0] == "overhead" and r["overhead_ci_pct"] > target[1]:
        # Met, but the noise is larger than the effect looked for.
        return "met, inconclusive (the interval, ±%s, is wider than %g%%)" % (
            pct(r["overhead_ci_pct"]), target[1])
    return "met"


def speed(r):
    if math.isnan(r["speed_ci"]):
        return "%.3fx" % r["speed"]
    return "%.3fx ± %.3f" % (r["speed"], r["speed_ci"])


def target_text(target):
    kind, limit = target
    if kind == "overhead":
        return "overhead not significant at 95%%, or under %g%%" % limit
    return "at least %gx" % limit


def who(p):
    """safer-ring and raw io_uring programs go by their side, others by name."""
    return p["side"] if p["side"] in ("safer-ring", "raw io_uring") else p["label"]


def comparison_block(w, c):
    """The lines the issue asks for, for one comparison."""
    cand, base, r = c["cand"], c["base"], c["result"]
    lines = ["**%s** against **%s**" % (cand["label"], base["label"]), ""]
    if r is None:
        lines.append("Not measured: %s." % c["why"])
        if c["target"]:
            lines.append("Target (%s): not measured." % target_text(c["target"]))
        if c.get("cpu_target"):
            lines.append("Target (CPU time: %s): not measured." % target_text(c["cpu_target"]))
        return lines
    verdict = {True: "significant", False: "not significant", None: "n/a"}[r["significant"]]
    lines += ["```",
              "%s: %s" % (who(cand), pm(cand["mean"], cand["ci"], w["unit"])),
              "%s: %s" % (who(base), pm(base["mean"], base["ci"], w["unit"])),
              "Overhead: %s ± %s (p=%s, %s)" % (
                  pct(r["overhead_pct"]), pct(r["overhead_ci_pct"]), pval(r["p_welch"]), verdict),
              "Speed: %s of %s (Mann-Whitney U p=%s, %d pairs)" % (
                  speed(r), base["label"], pval(r["p_mwu"]), r["pairs"])]
    cr = c.get("cpu_result")
    if cr:
        lines.append("CPU time overhead: %s ± %s (p=%s, %s)" % (
            pct(cr["overhead_pct"]), pct(cr["overhead_ci_pct"]), pval(cr["p_welch"]),
            {True: "significant", False: "not significant", None: "n/a"}[cr["significant"]]))
    lines.append("```")
    if c["target"]:
        lines.append("Target (%s): **%s**." % (target_text(c["target"]), c["verdict"]))
    if c.get("cpu_target"):
        lines.append("Target (CPU time: %s): **%s**." % (target_text(c["cpu_target"]),
                                                         c["cpu_verdict"]))
    return lines


def program_table(w):
    has_cpu = any(not math.isnan(p["cpu_mean"]) for p in w["programs"])
    has_lat = any("p99_us" in s for p in w["programs"] for s in p["samples"])
    cpu_unit = {"nop": "CPU ns/op", "ops": "CPU ns/op", "copy": "CPU s", "sync": "CPU s",
                "echo": "server CPU µs/req"}
    head = ["program", "side", "%s (%s), mean ± 95%% CI" % (w["metric"], w["unit"]), "runs"]
    if has_cpu:
        head.insert(3, cpu_unit.get(w["group"], "CPU"))
    if has_lat:
        head[3 + has_cpu:3 + has_cpu] = ["p50 µs (mean of runs)", "p99 µs", "p99.9 µs"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for p in w["programs"]:
        if not p["samples"]:
            cells = [p["label"], p["side"], "not measured: %s" % p["skip"]] + [""] * (len(head) - 3)
        else:
            cells = [p["label"], p["side"], pm(p["mean"], p["ci"]).replace(" (95% CI)", "")]
            if has_cpu:
                cells.append(pm(p["cpu_mean"], p["cpu_ci"]).replace(" (95% CI)", ""))
            if has_lat:
                for key in ("p50_us", "p99_us", "p999_us"):
                    cells.append(num(float(np.mean([s[key] for s in p["samples"]]))))
            cells.append(str(len(p["samples"])))
        rows.append("| " + " | ".join(cells) + " |")
    return rows


# --- plots ------------------------------------------------------------------------------

def grouped_bars(ax, workloads, ylabel, value=lambda s: s["value"], xlabel=lambda w: w["title"]):
    """One group of bars per workload, one bar per program, 95% CI error bars,
    every run as a dot."""
    names = []
    for w in workloads:
        for p in w["programs"]:
            if p["name"] not in names:
                names.append(p["name"])
    width = 0.8 / max(1, len(names))
    for i, name in enumerate(names):
        xs, means, errs, label = [], [], [], name
        for g, w in enumerate(workloads):
            p = next((q for q in w["programs"] if q["name"] == name), None)
            if not p:
                continue
            label = p["label"]
            x = g + (i - (len(names) - 1) / 2) * width
            values = [value(s) for s in p["samples"]]
            if not values:
                ax.text(x, 0, " not measured", rotation=90, ha="center", va="bottom", fontsize=7)
                continue
            mean, half = stats.mean_ci(values)
            xs.append(x)
            means.append(mean)
            errs.append(0 if math.isnan(half) else half)
            ax.plot([x] * len(values), values, ".", color="black", markersize=3, alpha=0.5)
        below = [min(e, m) for e, m in zip(errs, means)]        # error bars stop at 0
        ax.bar(xs, means, width, yerr=[below, errs], capsize=3, label=label)
    ax.set_xlim(-0.5, len(workloads) - 0.5)     # room for programs not measured
    ax.set_xticks(range(len(workloads)))
    ax.set_xticklabels([xlabel(w) for w in workloads], fontsize=8)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)


def plot_group(out, group, workloads):
    if not workloads:
        return None
    w0 = workloads[0]
    short = {"nop": lambda w: w["id"].replace("nop-b", "batch "),
             "ops": lambda w: "batch " + w["id"].rsplit("-b", 1)[1],
             "copy": lambda w: "no fsync" if w["id"] == "copy-hot" else "with fsync",
             "echo": lambda w: w["title"].replace("Echo, ", ""),
             "sync": lambda w: w["title"].replace("Tree copy: ", "")}.get(group, lambda w: w["title"])
    if group == "ops":              # one panel per path, its batches side by side
        paths = []
        for w in workloads:
            path = w["id"].split("-")[1]
            if path not in paths:
                paths.append(path)
        cols = 4
        rows = (len(paths) + cols - 1) // cols
        fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.6 * rows), squeeze=False)
        for ax, path in zip(axes.flat, paths):
            grouped_bars(ax, [w for w in workloads if w["id"].split("-")[1] == path],
                         "ns/op (lower is better)", xlabel=short)
            ax.set_title(path, fontsize=9)
        for ax in list(axes.flat)[len(paths):]:
            ax.axis("off")
    elif group == "echo":
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
        grouped_bars(axes[0], workloads, "requests/s (higher is better)", xlabel=short)
        grouped_bars(axes[1], workloads, "p99 latency, µs (lower is better)",
                     value=lambda s: s["p99_us"], xlabel=short)
    elif group == "nop":
        fig, axes = plt.subplots(1, 2, figsize=(13, 4.5))
        grouped_bars(axes[0], workloads, "wall clock, ns/op (lower is better)", xlabel=short)
        grouped_bars(axes[1], workloads, "CPU time, ns/op (lower is better)",
                     value=lambda s: s["cpu"], xlabel=short)
    elif group == "sync":           # seconds differ by orders of magnitude: one panel each
        fig, axes = plt.subplots(1, len(workloads), figsize=(6 * len(workloads), 4.5))
        for ax, w in zip(np.atleast_1d(axes), workloads):
            grouped_bars(ax, [w], "seconds (lower is better)", xlabel=short)
    else:
        fig, ax = plt.subplots(figsize=(10, 4.5))
        better = "lower" if w0["better"] == "lower" else "higher"
        grouped_bars(ax, workloads, "%s (%s is better)" % (w0["unit"], better), xlabel=short)
    fig.suptitle({"nop": "NOP submit + complete", "ops": "The paths people use: wall clock per op",
                  "copy": "File copy", "echo": "TCP echo", "sync": "Tree copy"}.get(group, group))
    fig.tight_layout()
    name = group + ".png"
    fig.savefig(os.path.join(out, name), dpi=110)
    plt.close(fig)
    return name


def plot_overheads(out, workloads):
    """Every safer-ring vs raw io_uring overhead with its 95% CI, wall clock
    and CPU time."""
    rows = [(w["title"].replace("NOP submit + complete, ", "NOP ") + ": " + c["cand"]["label"], c)
            for w in workloads for c in w["comparisons"]
            if c["result"] and c["headline"] and c["base"]["side"] == "raw io_uring"
            and c["cand"]["side"] == "safer-ring"]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(10, 0.6 * len(rows) + 1.5))
    ys = np.arange(len(rows))
    for key, shift, colour, label in (("result", -0.2, "tab:blue", "wall clock"),
                                      ("cpu_result", 0.2, "tab:orange", "CPU time")):
        picked = [(y, c[key]) for y, (_, c) in zip(ys, rows) if c.get(key)]
        if not picked:
            continue
        means = [r["overhead_pct"] for _, r in picked]
        errs = [[0 if math.isnan(r["overhead_low_pct"]) else r["overhead_pct"] - r["overhead_low_pct"]
                 for _, r in picked],
                [0 if math.isnan(r["overhead_high_pct"]) else r["overhead_high_pct"] - r["overhead_pct"]
                 for _, r in picked]]
        ax.barh([y + shift for y, _ in picked], means, height=0.4, xerr=errs, capsize=3,
                color=colour, label=label)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.axvline(2, color="tab:red", linestyle="--", linewidth=0.8, label="2% target (NOP)")
    ax.axvline(3, color="tab:purple", linestyle=":", linewidth=0.8,
               label="3% target (read, batch 32; echo CPU time)")
    ax.set_yticks(ys)
    ax.set_yticklabels([label for label, _ in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("overhead against raw liburing, % (95% CI)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "overhead.png"), dpi=110)
    plt.close(fig)
    return "overhead.png"


# --- the report -------------------------------------------------------------------------

def targets_table(workloads):
    rows = ["| workload | comparison | target | measured | verdict |", "|---|---|---|---|---|"]
    for w in workloads:
        for c in w["comparisons"]:
            for target, r, what, ver in ((c["target"], c["result"], "", c["verdict"]),
                                         (c.get("cpu_target"), c["cpu_result"], "CPU time: ",
                                          c.get("cpu_verdict"))):
                if not target:
                    continue
                if c["result"] is None:
                    measured = "not measured: %s" % c["why"]
                elif r is None:
                    measured = "not measured"
                elif target[0] == "overhead":
                    measured = "%s ± %s, p=%s" % (pct(r["overhead_pct"]), pct(r["overhead_ci_pct"]),
                                                 pval(r["p_welch"]))
                else:
                    measured = speed(r)
                rows.append("| %s | %s vs %s | %s%s | %s | %s |" % (
                    w["title"], c["cand"]["label"], c["base"]["label"], what, target_text(target),
                    measured, ver))
    return rows


def summary_table(workloads):
    """The headline comparisons: wall clock and CPU time, side by side."""
    rows = ["| workload | safer-ring | against | wall clock: overhead (p) | speed | "
            "CPU time: overhead (p) |", "|---|---|---|---|---|---|"]
    for w in workloads:
        for c in w["comparisons"]:
            if not c["headline"]:
                continue
            r, cr = c["result"], c.get("cpu_result")
            if r is None:
                cells = ["not measured: " + c["why"], "", ""]
            else:
                cells = ["%s ± %s (p=%s)" % (pct(r["overhead_pct"]), pct(r["overhead_ci_pct"]),
                                            pval(r["p_welch"])),
                         speed(r),
                         "%s ± %s (p=%s)" % (pct(cr["overhead_pct"]), pct(cr["overhead_ci_pct"]),
                                            pval(cr["p_welch"])) if cr else ""]
            rows.append("| %s | %s | %s | %s |" % (w["title"], c["cand"]["label"],
                                                  c["base"]["label"], " | ".join(cells)))
    return rows


def gates_tables(g):
    """Instructions per op, every path and batch, against the limits; from gates.json."""
    m, lim = g["measurements"], g["limits"]
    ir = m["ir"]
    batches = sorted({int(b) for p in ir.values() for b in p["checked"]})
    head = ["path"] + ["batch %d: checked / liburing (diff)" % b for b in batches] + \
        ["`_raw` batch 32: raw / liburing batched (diff)"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for path, sides in ir.items():
        cells = ["%s: %s" % (path, m["paths"][path]["what"])]
        for b in batches:
            c, l = sides["checked"].get(str(b)), sides["base"].get(str(b))
            if c is None:
                cells.append("")
                continue
            limit = {1: lim["checked_b1"], 32: lim["nop_b32"] if path == "nop"
                     else lim["checked_b32"]}.get(b)
            text = "%.1f / %.1f (%+.1f)" % (c, l, c - l)
            if limit is not None and c - l > limit:
                text += " **over +%d by %.1f**" % (limit, c - l - limit)
            cells.append(text)
        if "raw" in sides:
            r, l = sides["raw"]["32"], sides["rawbase"]["32"]
            text = "%.1f / %.1f (%+.1f)" % (r, l, r - l)
            if r - l > lim["raw_b32"]:
                text += " **over +%d by %.2f**" % (lim["raw_b32"], r - l - lim["raw_b32"])
            cells.append(text)
        else:
            cells.append("no `_raw` variant" if path != "recv" else
                         "no `_raw` way to name a buffer group")
        rows.append("| " + " | ".join(cells) + " |")
    out = ["Instructions per op:", ""] + rows + [""]
    # Enters and allocations, per path: the worst case of every batch.
    rows = ["| path | io_uring_enter per op at batch 1 / 32: checked vs liburing | "
            "heap allocations per op (checked, `_raw`) |", "|---|---|---|"]
    for path in ir:
        e = m["enters"][path]
        cells = []
        for b in ("1", "32"):
            cells.append("%.4f vs %.4f" % (e["checked"][b], e["base"][b]))
        allocs = ", ".join("%.3f" % v for k, v in sorted(m["allocs"][path].items()))
        note = (" (each batch waited for whole first, both sides: OPS_SETTLE)"
                if m["paths"][path].get("settle") else "")
        rows.append("| %s | %s%s | %s |" % (path, "; ".join(cells), note, allocs))
    return out + ["System calls and allocations:", ""] + rows


def write_report(out, data, gates, gates_json=None):
    workloads = data["workloads"]
    for w in workloads:
        analyse(w)
    groups = {}
    for w in workloads:
        groups.setdefault(w["group"], []).append(w)
    plots = {g: plot_group(out, g, ws) for g, ws in groups.items()}
    overhead_png = plot_overheads(out, workloads)
    system = data["system"]

    md = ["<!-- SPDX-License-Identifier: MIT -->",
          "# safer-ring benchmarks%s" % (" (quick smoke run)" if data["quick"] else ""), "",
          "Made by `make %s` (bench/run.py, then bench/report.py); every run's numbers are "
          "in results.json beside this file." % ("bench-quick" if data["quick"] else "bench"), ""]
    if data["quick"]:
        md += ["A quick run measures each workload once, on small data: it checks that the "
               "harness works. Its numbers are not results, and its targets are not judged.", ""]

    md += ["## System", "", "| | |", "|---|---|"]
    md += ["| %s | %s |" % (label, system.get(key, "unknown")) for key, label in SYSTEM_ROWS]
    md += ["| Python, NumPy, SciPy | %s, %s, %s |" % (sys.version.split()[0], np.__version__,
                                                     scipy.__version__), ""]

    md += ["## Deterministic gates (`make bench-gates`, part of `make check`)", ""]
    if gates:
        if "FAIL" in gates:
            md += ["**The gates fail on this commit:** see the FAIL lines.", ""]
        line = [l for l in gates.splitlines() if l.startswith("bench-gates:")]
        md += ["```"] + line + ["```", ""]
    else:
        md += ["Not run with this report.", ""]
    md += ["Counts, not times (bench/gates.py): user-space instructions per op under callgrind "
           "(a 2N-op run minus an N-op run, divided by N, so start-up cancels out), "
           "io_uring_enter calls per op under strace, heap allocations per op under memcheck. "
           "The checked API's baseline is raw liburing completing each op on its own "
           "(`io_uring_wait_cqe` + `io_uring_cqe_seen`; the callback path: an event loop calling "
           "a function per completion); the `_raw` variant's is raw liburing reaping in batches "
           "(`io_uring_for_each_cqe` + `io_uring_cq_advance`). Limits: every checked path "
           "+40 instructions per op at batch 32 and +50 at batch 1, NOP +12 at batch 32, `_raw` "
           "+2; no more enters than liburing; no allocation per op. `make check` enforces what "
           "`GATES_ENFORCE` says (mk/bench.mk): `today` enforces the gates the library met when "
           "they were written (NOP +24, `_raw` +2 for NOP, read, write and fixed, enters, "
           "allocations) and prints the others as OVER with their excess; `all` enforces every "
           "gate.", ""]
    if gates_json:
        if gates_json.get("commit") and gates_json["commit"] != system.get("git_commit"):
            md += ["The gates were counted at commit %s; the timed runs below at %s."
                   % (gates_json["commit"], system.get("git_commit", "unknown")), ""]
        md += gates_tables(gates_json) + [""]
    if gates:
        md += ["<details><summary>Every gate (gates.txt)</summary>", "", "```"]
        md += gates.strip().splitlines() + ["```", "", "</details>", ""]

    md += ["## Summary", "",
           "Overhead: how much more time the safer-ring program needs for the same work "
           "(negative: less); speed: its work per second over the other's. Wall clock is what "
           "the targets judge; CPU time moves less on a busy machine.", ""]
    md += summary_table(workloads) + [""]

    md += ["## Targets", "",
           "Stated, never gated (the machine is noisy). A speed target is met when the mean "
           "paired speed ratio reaches it; an overhead target is met when the overhead is not "
           "significant (Welch p >= 0.05) or is under its limit (2% for NOP, 3% for the read "
           "path at batch 32 and for the echo server's CPU time).", ""]
    md += targets_table(workloads) + [""]

    md += ["## How it is measured", "",
           "- Runs are interleaved: in repetition k the programs of a workload run in turn "
           "starting with the k-th, so that slow phases of the machine hit all of them; "
           "repetitions per workload: %s%s." % (
               ", ".join("%s %d" % kv for kv in data["reps"].items()),
               "" if data["quick"] else "; NOP and echo runs start with one discarded warmup "
               "round (copies read a source that is already in the page cache)"),
           "- X ± Y is the mean of the runs and half the width of its 95% Student t interval. "
           "Runs pair up (the k-th run of each program): overhead is the geometric mean of the "
           "paired ratios candidate cost / baseline cost, minus 1 (cost: time per unit of "
           "work), and its ± is the wider side of the 95% t interval of the mean log ratio; "
           "speed is 1 / (1 + overhead). p is Welch's t-test on the runs; Mann-Whitney U's p "
           "is given beside it. Significant means Welch's p < 0.05.",
           "- Setup is never timed: NOP programs time only their op loop (ring creation and "
           "warmup ops are outside it). Copies and tree copies are timed from the command's "
           "start to its exit, the same way for every program, after the destination was "
           "removed and the file system synced; source data is made once and is in the page "
           "cache. Echo is timed by the load generator after its warmup.",
           "- Which raw liburing: the checked API completes each op on its own (`sr_wait` on "
           "its handle), so its baseline consumes each completion on its own with liburing's "
           "`io_uring_wait_cqe` + `io_uring_cqe_seen` after one `io_uring_submit`. The `_raw` "
           "variant reaps in batches (`sr_raw_reap` after "
           "`io_uring_submit_and_wait(sr_ring_uring(ring), batch)`), so its baseline is "
           "`io_uring_submit_and_wait(ring, batch)` + `io_uring_for_each_cqe` + "
           "`io_uring_cq_advance`. Every program checks res == 0 on each completion. The "
           "liburing baselines set up their rings with the flags safer-ring chose (see System).",
           "- The machine is shared and noisy: wall-clock numbers move between runs, which the "
           "intervals show. CPU time (user + system of the process, io-wq workers included) is "
           "given beside wall clock where it is recorded; it is less disturbed by other load.",
           ""]

    titles = {"nop": "NOP: the cost of safety", "ops": "The paths people use",
              "copy": "File copy", "echo": "TCP echo", "sync": "Many small files, and one big file"}
    intros = {"ops": ["Each path against raw liburing doing the same work with the same ring "
                      "flags (bench/ops.h, bench/ops_sr.c, bench/ops_liburing.c): the checked API "
                      "against liburing's per-op wait (the callback path: against a liburing "
                      "event loop calling a function per completion), the `_raw` variant against "
                      "liburing's batched reap.  Every completion's result is checked, and every "
                      "read's first byte.  The instruction counts of the same paths are in the "
                      "gates above; where they go, by function, in profile-baseline.md.", ""]}
    for g, ws in groups.items():
        md += ["## %s" % titles.get(g, g), ""] + intros.get(g, [])
        if plots.get(g):
            md += ["![%s](%s)" % (g, plots[g]), ""]
        if g == "nop" and overhead_png:
            md += ["![overhead](%s)" % overhead_png, ""]
        for w in ws:
            md += ["### %s" % w["title"], "", w["notes"], ""]
            md += program_table(w) + [""]
            for c in w["comparisons"]:
                md += comparison_block(w, c) + [""]

    path = os.path.join(out, "REPORT.md")
    with open(path, "w") as f:
        f.write("\n".join(md).rstrip() + "\n")
    return path


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    with open(os.path.join(out, "results.json")) as f:
        data = json.load(f)
    gates = gates_json = None
    if os.path.exists(os.path.join(out, "gates.txt")):
        with open(os.path.join(out, "gates.txt")) as f:
            gates = f.read()
    if os.path.exists(os.path.join(out, "gates.json")):
        with open(os.path.join(out, "gates.json")) as f:
            gates_json = json.load(f)
    path = write_report(out, data, gates, gates_json)
    print("bench: report in %s" % path)


if __name__ == "__main__":
    main()
