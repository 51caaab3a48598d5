"""A hand-worked case of `fidelity_paired.py` (run by .ci/run:
`python -m unittest discover -s notebooks -p 'test_*.py'`)."""

import json
import math
import os
import tempfile
import unittest

import fidelity_paired as fp


def log(path, rows):
    with open(path, "w") as f:
        for key, tenant, arrival_s, latency_ms, outcome in rows:
            start = f"2026-01-05T00:00:{arrival_s:02d}.000000000Z"
            end_ns = arrival_s * 10**9 + latency_ms * 10**6
            end = f"2026-01-05T00:{end_ns // 60 // 10**9:02d}:{end_ns // 10**9 % 60:02d}.{end_ns % 10**9:09d}Z"
            row = {"draw_key": key, "tenant": tenant, "arrival": start, "end": end, "outcome": outcome}
            f.write(json.dumps(row) + "\n")


class HandWorked(unittest.TestCase):
    def test_pairs_percentiles_and_correlation(self):
        with tempfile.TemporaryDirectory() as d:
            m, s = os.path.join(d, "m.jsonl"), os.path.join(d, "s.jsonl")
            # Four served calls on both sides (one block: all arrive in the
            # first minute), one failed measured call and one simulated
            # call with no measured counterpart, which are not paired.
            log(m, [("a", "t", 1, 100, "success"), ("b", "t", 2, 200, "success"),
                    ("c", "t", 3, 300, "success"), ("d", "t", 4, 400, "success"),
                    ("e", "t", 5, 900, "error")])
            log(s, [("a", "t", 1, 100, "success"), ("b", "t", 2, 200, "success"),
                    ("c", "t", 3, 300, "success"), ("d", "t", 4, 500, "success"),
                    ("e", "t", 5, 950, "success"), ("f", "t", 6, 50, "success")])
            measured, simulated = fp.calls(m), fp.calls(s)
            rows = {r["figure"]: r for r in fp.paired(fp.served(measured), fp.served(simulated))}
            (avail,) = fp.availability(measured, simulated)
        p50, p95 = rows["p50_ms"], rows["p95_ms"]
        self.assertEqual((p50["calls_measured"], p50["calls_simulated"], p50["pairs"]), (4, 6, 4))
        # Nearest rank: the 2nd of 4 for p50 (200 against 200), the 4th for
        # p95 and p99 (400 against 500).
        self.assertAlmostEqual(p50["measured_ms"], 200, places=6)
        self.assertAlmostEqual(p50["error"], 0.0, places=9)
        self.assertAlmostEqual(p95["measured_ms"], 400, places=6)
        self.assertAlmostEqual(p95["simulated_ms"], 500, places=6)
        self.assertAlmostEqual(p95["error"], -0.2, places=9)
        # Pearson over (1,2,3,4) and (1,2,3,5): 6.5 / sqrt(5 * 8.75).
        self.assertAlmostEqual(p50["correlation"], 6.5 / math.sqrt(43.75), places=9)
        # One block: every resample is the run itself, so the interval is
        # the point.
        self.assertAlmostEqual(p95["low"], -0.2, places=9)
        self.assertAlmostEqual(p95["high"], -0.2, places=9)
        # Availability over the five calls judged on both sides: 4 of 5
        # served against 5 of 5, -20 points, call e the one disagreeing.
        self.assertEqual(avail["pairs"], 5)
        self.assertAlmostEqual(avail["difference_pp"], -20.0, places=9)
        self.assertAlmostEqual(avail["low"], -20.0, places=9)
        self.assertEqual(avail["disagree"], 1)


class NoPairs(unittest.TestCase):
    def test_a_tenant_with_no_call_served_on_both_sides_is_reported_not_dropped(self):
        measured = {"a": ("t", 0.0, 100.0)}
        rows = fp.paired(measured, {})
        self.assertEqual([r["figure"] for r in rows], ["p50_ms", "p95_ms", "p99_ms"])
        self.assertTrue(all(r["pairs"] == 0 and math.isnan(r["error"]) for r in rows))
        (avail,) = fp.availability(measured, {})
        self.assertEqual(avail["pairs"], 0)
        self.assertTrue(math.isnan(avail["difference_pp"]))


if __name__ == "__main__":
    unittest.main()
