# SPDX-License-Identifier: MIT
"""Tests of bench/stats.py: known answers, and verdicts that must flip."""

import math
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stats  # noqa: E402


class MeanCI(unittest.TestCase):
    def test_known_interval(self):
        mean, half = stats.mean_ci([1.0, 2.0, 3.0])
        self.assertAlmostEqual(mean, 2.0)
        # t(0.975, 2 degrees of freedom) = 4.3027; sd = 1; n = 3
        self.assertAlmostEqual(half, 4.302653 / math.sqrt(3), places=5)

    def test_one_sample_has_no_interval(self):
        mean, half = stats.mean_ci([5.0])
        self.assertEqual(mean, 5.0)
        self.assertTrue(math.isnan(half))


class Compare(unittest.TestCase):
    base = [100.0, 102.0, 98.0, 101.0, 99.0, 100.0, 103.0, 97.0]

    def test_ten_percent_slower_is_significant(self):
        slower = [x * 1.10 for x in self.base]
        r = stats.compare(slower, self.base, "lower")
        self.assertAlmostEqual(r["overhead_pct"], 10.0, places=6)
        self.assertAlmostEqual(r["speed"], 1 / 1.1, places=6)
        self.assertTrue(r["significant"])
        self.assertLess(r["p_mwu"], 0.05)
        self.assertFalse(stats.target_met(r, ("overhead", 2.0)))
        self.assertFalse(stats.target_met(r, ("speed", 0.97)))

    def test_same_distribution_is_not_significant(self):
        shuffled = [self.base[i] for i in (3, 0, 6, 1, 7, 2, 5, 4)]
        r = stats.compare(shuffled, self.base, "lower")
        self.assertFalse(r["significant"])
        self.assertGreater(r["p_welch"], 0.5)
        self.assertTrue(stats.target_met(r, ("overhead", 2.0)))

    def test_small_significant_overhead_meets_the_two_percent_target(self):
        slower = [x * 1.01 for x in self.base]
        r = stats.compare(slower, self.base, "lower")
        self.assertAlmostEqual(r["overhead_pct"], 1.0, places=6)
        self.assertTrue(stats.target_met(r, ("overhead", 2.0)))

    def test_rates_are_inverted(self):
        r = stats.compare([90.0, 90.0, 90.0], [100.0, 100.0, 100.0], "higher")
        self.assertAlmostEqual(r["speed"], 0.9)
        self.assertAlmostEqual(r["overhead_pct"], 100 / 90 * 100 - 100)
        self.assertTrue(r["significant"])       # no spread, different means
        self.assertFalse(stats.target_met(r, ("speed", 0.97)))
        self.assertTrue(stats.target_met(r, ("speed", 0.9)))

    def test_one_run_has_no_verdict(self):
        r = stats.compare([1.0], [2.0], "lower")
        self.assertIsNone(r["significant"])
        self.assertTrue(math.isnan(r["p_welch"]))


if __name__ == "__main__":
    unittest.main(verbosity=1)
