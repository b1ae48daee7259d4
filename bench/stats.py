# SPDX-License-Identifier: MIT
"""Statistics of benchmark samples: means, intervals, tests and verdicts.

Every sample is one run of one program.  Runs of a workload are
interleaved (A B, B A, A B, ...), so the k-th run of a candidate and the
k-th run of its baseline happened close in time: they form a pair.

  mean and 95% CI     mean of the runs, +- half the width of Student's t
                      interval (n - 1 degrees of freedom)
  paired ratio        per pair, the candidate's cost over the baseline's
                      (cost: time per unit of work, so 1/rate for rates)
  overhead            the geometric mean of the paired ratios, minus 1, in
                      percent; its 95% interval is the t interval of the
                      mean log ratio, brought back the same way (it is not
                      quite symmetric: +- gives the wider side)
  speed               1 / (1 + overhead): 1.05x means the candidate does 5%
                      more work per second than the baseline
  Welch t-test        do the two means differ? (unequal variances)
  Mann-Whitney U      do the two distributions differ? (ranks, no normality)
  verdict             "significant" when Welch's p < 0.05

With one run per program (make bench-quick) there is no interval and no
test: they print as n/a.
"""

import math

import numpy as np
from scipy import stats

ALPHA = 0.05            # significance level, for a 95% confidence


def mean_ci(samples):
    """(mean, half-width of the 95% confidence interval); the half-width is
    nan with fewer than two samples."""
    x = np.asarray(samples, dtype=float)
    mean = float(x.mean())
    if len(x) < 2:
        return mean, math.nan
    sem = float(x.std(ddof=1)) / math.sqrt(len(x))
    return mean, float(stats.t.ppf(1 - ALPHA / 2, len(x) - 1)) * sem


def costs(samples, better):
    """Samples as costs, lower is better: rates (higher is better) are inverted."""
    x = np.asarray(samples, dtype=float)
    return x if better == "lower" else 1.0 / x


def p_values(a, b):
    """(Welch's t-test p, Mann-Whitney U p), two-sided; nan without two runs each."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return math.nan, math.nan
    if a.std() == 0 and b.std() == 0:          # no spread at all: the t-test is undefined
        same = a.mean() == b.mean()
        return (1.0 if same else 0.0), (1.0 if same else 0.0)
    welch = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    mwu = float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)
    return welch, mwu


def compare(candidate, baseline, better):
    """The candidate's samples against the baseline's, paired run by run."""
    n = min(len(candidate), len(baseline))
    a = costs(candidate, better)[:n]
    b = costs(baseline, better)[:n]
    # Ratios are averaged as logarithms: a run twice as slow and a run twice
    # as fast cancel out, which plain means of ratios do not.
    m, h = mean_ci(np.log(a / b))
    overhead = math.exp(m) - 1.0
    speed = math.exp(-m)
    if math.isnan(h):
        overhead_ci = speed_ci = lo = hi = math.nan
    else:
        lo, hi = math.exp(m - h) - 1.0, math.exp(m + h) - 1.0
        overhead_ci = max(math.exp(m + h) - 1.0 - overhead, overhead - (math.exp(m - h) - 1.0))
        speed_ci = max(math.exp(-m + h) - speed, speed - math.exp(-m - h))
    welch, mwu = p_values(candidate, baseline)
    return {
        "pairs": n,
        "overhead_pct": overhead * 100.0,
        "overhead_ci_pct": overhead_ci * 100.0,
        "overhead_low_pct": lo * 100.0,        # the interval itself
        "overhead_high_pct": hi * 100.0,
        "speed": speed,
        "speed_ci": speed_ci,
        "p_welch": welch,
        "p_mwu": mwu,
        "significant": None if math.isnan(welch) else welch < ALPHA,
    }


def target_met(result, target):
    """Is the target met?  ("overhead", P): the overhead is not significant,
    or under P percent.  ("speed", S): the mean speed ratio is at least S."""
    kind, limit = target
    if kind == "overhead":
        return result["significant"] is not True or result["overhead_pct"] < limit
    if kind == "speed":
        return result["speed"] >= limit - 1e-9     # exp(log(x)) may miss x by a rounding

    raise ValueError("unknown target kind %r" % kind)
