"""Unit tests of slaplan_ray's pure parts (no Ray needed): what a bundle
ships and how a worker lays it out, the shard archives, the sweep's seeds
and layout, and the capacity bisection's probe order (the same as
`slaplan frontier --capacity`, whose Rust test these cases mirror)."""

import os
import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slaplan_ray import bundle, commands, shards  # noqa: E402

SCENARIO = """
[simulation]
start = "2026-01-01"
duration = "1h"

[[endpoints]]
name = "a"
concurrency = 4

[[tenants]]
name = "t"
chain = ["a"]

[[tenants.workflows]]
name = "w"
replay = { path = "../traces/t.csv", format = "generic" }

[[tenants.workflows]]
name = "v"
rate = 1.0
"""


class BundleTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        root = Path(self.tmp.name)
        (root / "proj" / "scenarios").mkdir(parents=True)
        (root / "proj" / "traces").mkdir()
        (root / "proj" / "scenarios" / "s.toml").write_text(SCENARIO)
        (root / "proj" / "traces" / "t.csv").write_text("timestamp,tenant\n")
        self.root = root

    def tearDown(self):
        self.tmp.cleanup()

    def test_relative_scenario_is_run_as_typed_with_its_trace_beside_it(self):
        b = bundle.build("scenarios/s.toml", cwd=str(self.root / "proj"))
        self.assertEqual(b.scenario_arg, "scenarios/s.toml")
        self.assertEqual(sorted(b.files), ["scenarios/s.toml", "traces/t.csv"])
        self.assertEqual(b.cwd, ".")
        self.assertEqual(b.scenario_key(), "scenarios/s.toml")
        with tempfile.TemporaryDirectory() as worker:
            cwd = b.lay_out(Path(worker))
            scenario = cwd / b.scenario_arg
            self.assertEqual(scenario.read_text(), SCENARIO)
            # The trace path resolves from the scenario's directory as on the driver.
            self.assertTrue((scenario.parent / "../traces/t.csv").is_file())

    def test_working_directory_below_the_files_is_mirrored(self):
        (self.root / "proj" / "run").mkdir()
        b = bundle.build("../scenarios/s.toml", cwd=str(self.root / "proj" / "run"))
        self.assertEqual(b.cwd, "run")
        self.assertEqual(b.scenario_arg, "../scenarios/s.toml")
        self.assertEqual(b.scenario_key(), "scenarios/s.toml")
        with tempfile.TemporaryDirectory() as worker:
            cwd = b.lay_out(Path(worker))
            self.assertEqual(cwd, Path(worker) / "run")
            self.assertTrue((cwd / "../traces/t.csv").is_file())

    def test_an_absolute_scenario_is_run_relative_to_the_working_directory(self):
        absolute = str(self.root / "proj" / "scenarios" / "s.toml")
        b = bundle.build(absolute, cwd=str(self.root / "proj"))
        self.assertEqual(b.scenario_arg, os.path.join("scenarios", "s.toml"))

    def test_a_probe_replaces_the_scenario_bytes_only(self):
        b = bundle.build("scenarios/s.toml", cwd=str(self.root / "proj"))
        probe = b.with_scenario_bytes(b"probe")
        self.assertEqual(probe.files["scenarios/s.toml"], b"probe")
        self.assertEqual(probe.files["traces/t.csv"], b.files["traces/t.csv"])
        self.assertEqual(b.files["scenarios/s.toml"], SCENARIO.encode())

    def test_unshippable_scenarios_are_refused(self):
        (self.root / "proj" / "scenarios" / "abs.toml").write_text(
            SCENARIO.replace("../traces/t.csv", "/data/t.csv")
        )
        with self.assertRaisesRegex(bundle.BundleError, "absolute"):
            bundle.build("scenarios/abs.toml", cwd=str(self.root / "proj"))
        with self.assertRaisesRegex(bundle.BundleError, "cannot read"):
            bundle.build("scenarios/missing.toml", cwd=str(self.root / "proj"))
        (self.root / "proj" / "scenarios" / "bad.toml").write_text("[[x")
        with self.assertRaisesRegex(bundle.BundleError, "not TOML"):
            bundle.build("scenarios/bad.toml", cwd=str(self.root / "proj"))
        (self.root / "proj" / "scenarios" / "gone.toml").write_text(
            SCENARIO.replace("../traces/t.csv", "../traces/gone.csv")
        )
        with self.assertRaisesRegex(bundle.BundleError, "gone.csv"):
            bundle.build("scenarios/gone.toml", cwd=str(self.root / "proj"))


class ArchiveTest(unittest.TestCase):
    def test_archives_depend_only_on_names_and_contents(self):
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            for d, stamp in ((Path(a), 1_000_000), (Path(b), 2_000_000)):
                (d / "run.json").write_text("{}\n")
                (d / "replications.jsonl").write_bytes(b"x\n" * 1000)
                for p in d.iterdir():
                    os.utime(p, (stamp, stamp))
            first = shards.deterministic_tar(Path(a))
            self.assertEqual(first, shards.deterministic_tar(Path(b)))
            with tempfile.TemporaryDirectory() as out:
                shards.unpack(first, Path(out) / "shard")
                self.assertEqual((Path(out) / "shard" / "replications.jsonl").read_bytes(), b"x\n" * 1000)
                self.assertEqual(sorted(os.listdir(Path(out) / "shard")), ["replications.jsonl", "run.json"])


class SweepTest(unittest.TestCase):
    def test_seeds(self):
        self.assertEqual(commands.parse_seeds("1,2,5"), [1, 2, 5])
        self.assertEqual(commands.parse_seeds("1-3,7"), [1, 2, 3, 7])
        for bad in ["", "x", "3-1", "1,1", "-2", "1-"]:
            with self.assertRaises(commands.CommandError, msg=bad):
                commands.parse_seeds(bad)

    def test_layout(self):
        out = Path("/o")
        self.assertEqual(
            commands.sweep_layout(["a/x.toml", "b/y.toml"], None, out),
            [("a/x.toml", None, out / "x"), ("b/y.toml", None, out / "y")],
        )
        self.assertEqual(
            [p for _, _, p in commands.sweep_layout(["x.toml"], [1, 2], out)],
            [out / "x" / "seed-1", out / "x" / "seed-2"],
        )
        with self.assertRaisesRegex(commands.CommandError, "share the file name"):
            commands.sweep_layout(["a/x.toml", "b/x.toml"], None, out)


class CapacityTest(unittest.TestCase):
    def test_bisection_finds_the_boundary_and_probes_the_one_below(self):
        for answer in [1, 2, 3, 7, 8, 9, 100]:
            for start in [1, 4, 8, 64]:
                probes = []

                def passes(c):
                    probes.append(c)
                    return c >= answer

                self.assertEqual(commands.bisect_capacity(start, 1024, passes), answer)
                if answer > 1:
                    self.assertIn(answer - 1, probes)
                self.assertLessEqual(len(probes), 20)
        self.assertIsNone(commands.bisect_capacity(4, 64, lambda c: False))
        # The M/M/c fixture's sequence from concurrency 2: 2 fails, 4 passes, 3 fails.
        probes = []
        commands.bisect_capacity(2, 4096, lambda c: probes.append(c) or c >= 4)
        self.assertEqual(probes, [2, 4, 3])

    def test_probe_scenarios_change_only_the_concurrency(self):
        from slaplan_ray.bundle import tomllib

        probe = tomllib.loads(commands.with_concurrency(SCENARIO, "a", 9).decode())
        original = tomllib.loads(SCENARIO)
        original["endpoints"][0]["concurrency"] = 9
        self.assertEqual(probe, original)
        with self.assertRaisesRegex(commands.CommandError, "expected one of a"):
            commands.with_concurrency(SCENARIO, "nowhere", 9)


if __name__ == "__main__":
    unittest.main()
