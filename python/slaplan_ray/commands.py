"""The three fan-outs: ``run`` (one scenario in S shards), ``sweep`` (several
scenarios and seeds, every shard of every run submitted at once) and
``frontier`` (the threshold frontier from a fanned-out run; the capacity
bisection with each probe fanned out).

Every run ends with ``slaplan merge`` on the driver, so each output
directory is exactly what ``slaplan run`` writes on one machine.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import bundle as bundles
from .shards import ShardJob, ShardResult, fan_out, log, shippable_binary, unpack

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


class CommandError(Exception):
    """A usage or input problem reported to the user (exit 2)."""


@dataclass(frozen=True)
class Cluster:
    """How to reach Ray and what each shard may use."""

    address: str
    cpus_per_shard: int
    retries: int


@dataclass(frozen=True)
class RunSpec:
    """One run to fan out: a scenario (as typed) and its ``slaplan run`` flags."""

    scenario: str
    out: Path
    shards: int
    args: tuple[str, ...]
    label: str
    bundle_key: str = "main"


def find_binary(given: str | None) -> Path:
    """The slaplan binary: ``--slaplan``, else ``$SLAPLAN_BIN``, else ``slaplan`` on PATH."""
    candidate = given or os.environ.get("SLAPLAN_BIN") or shutil.which("slaplan")
    if not candidate:
        raise CommandError(
            "no slaplan binary: give --slaplan PATH, set SLAPLAN_BIN, or put slaplan on PATH "
            "(cargo build --release writes target/release/slaplan)"
        )
    path = Path(candidate)
    if not path.is_file() or not os.access(path, os.X_OK):
        raise CommandError(f"{path}: not an executable file")
    return path


def connect(cluster: Cluster) -> None:
    """Joins the Ray cluster, shipping this package to its workers."""
    import ray

    import slaplan_ray

    try:
        ray.init(
            address=cluster.address,
            runtime_env={"py_modules": [slaplan_ray]},
            logging_level="warning",
            log_to_driver=False,
        )
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise CommandError(f"cannot join the Ray cluster at {cluster.address!r}: {e}") from None


def sim_args(replications: int | None, seed: int | None, confidence: float | None, threads: int) -> tuple[str, ...]:
    """``slaplan run`` flags shared by every shard of a run."""
    args: list[str] = ["--threads", str(threads)]
    if replications is not None:
        args += ["--replications", str(replications)]
    if seed is not None:
        args += ["--seed", str(seed)]
    if confidence is not None:
        args += ["--confidence", repr(confidence)]
    return tuple(args)


def merge(binary: Path, out: Path, shard_dirs: list[Path]) -> None:
    """``slaplan merge OUT SHARD...``; its table goes to standard output."""
    proc = subprocess.run([str(binary), "merge", str(out), *map(str, shard_dirs)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise CommandError(f"slaplan merge failed (exit {proc.returncode}): {proc.stderr.strip()}")
    sys.stdout.write(proc.stdout)


def fan_out_runs(
    binary: Path,
    cluster: Cluster,
    runs: list[RunSpec],
    bundle_for: dict[str, bundles.Bundle],
    keep_shards: Path | None,
) -> None:
    """Runs every shard of every run on the cluster, then merges each run
    into its ``out`` as soon as its last shard is back."""
    jobs: list[ShardJob] = []
    owner: list[int] = []
    for k, run in enumerate(runs):
        for i in range(1, run.shards + 1):
            jobs.append(
                ShardJob(
                    label=f"{run.label} {i}/{run.shards}",
                    args=run.args,
                    index=i,
                    count=run.shards,
                    bundle_key=run.bundle_key,
                )
            )
            owner.append(k)
    scratch = Path(tempfile.mkdtemp(prefix="slaplan-ray-"))
    shard_root = keep_shards or scratch
    missing = [run.shards for run in runs]

    def shard_dir(k: int, i: int) -> Path:
        name = f"shard-{i}-of-{runs[k].shards}"
        return shard_root / name if len(runs) == 1 else shard_root / f"run-{k:04d}" / name

    def on_done(result: ShardResult) -> None:
        k = owner[result.position]
        unpack(result.archive, shard_dir(k, result.job.index))
        missing[k] -= 1
        if missing[k] == 0:
            run = runs[k]
            dirs = [shard_dir(k, i) for i in range(1, run.shards + 1)]
            run.out.parent.mkdir(parents=True, exist_ok=True)
            merge(binary, run.out, dirs)
            log(f"merged {run.label} into {run.out}")

    try:
        fan_out(
            shippable_binary(binary),
            bundle_for,
            jobs,
            cpus_per_shard=cluster.cpus_per_shard,
            retries=cluster.retries,
            on_done=on_done,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# ---------------------------------------------------------------- run


def run(
    binary: Path,
    cluster: Cluster,
    scenario: str,
    out: Path,
    shards: int,
    args: tuple[str, ...],
    keep_shards: Path | None,
) -> None:
    """One scenario in ``shards`` shards, merged into ``out``."""
    b = bundles.build(scenario)
    label = Path(scenario).stem
    connect(cluster)
    fan_out_runs(binary, cluster, [RunSpec(scenario, out, shards, args, label)], {"main": b}, keep_shards)


# ---------------------------------------------------------------- sweep


def parse_seeds(text: str) -> list[int]:
    """``1,2,5`` or ``1-4`` or a mix (``1-3,7``): distinct seeds in order."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        try:
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                if lo > hi:
                    raise ValueError
                seeds.extend(range(lo, hi + 1))
            else:
                seeds.append(int(part))
        except ValueError:
            raise CommandError(
                f"--seeds {text!r}: {part!r} is not a seed or a range A-B of seeds (whole numbers, A <= B)"
            ) from None
    if any(s < 0 for s in seeds):
        raise CommandError(f"--seeds {text!r}: seeds are whole numbers of 0 or more")
    if len(set(seeds)) != len(seeds):
        raise CommandError(f"--seeds {text!r}: a seed is listed twice")
    return seeds


def sweep_layout(scenarios: list[str], seeds: list[int] | None, out: Path) -> list[tuple[str, int | None, Path]]:
    """(scenario, seed, output directory) of every run of a sweep:
    ``OUT/<scenario stem>/`` without seeds, ``OUT/<stem>/seed-<n>/`` with."""
    stems = [Path(s).stem for s in scenarios]
    dupes = sorted({s for s in stems if stems.count(s) > 1})
    if dupes:
        raise CommandError(
            f"two scenarios share the file name {dupes[0]!r}: their outputs would collide under {out}; rename one"
        )
    runs = []
    for scenario, stem in zip(scenarios, stems):
        if seeds is None:
            runs.append((scenario, None, out / stem))
        else:
            runs.extend((scenario, seed, out / stem / f"seed-{seed}") for seed in seeds)
    return runs


def sweep_table(runs: list[tuple[str, int | None, Path]], root: Path) -> str:
    """``sweep.csv``: every run's ``summary.csv`` rows, prefixed with the
    scenario, the seed (from its ``run.json``) and the run's directory."""
    import json

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    header_written = None
    for scenario, _, path in runs:
        seed = json.loads((path / "run.json").read_text())["seed"]
        with open(path / "summary.csv", newline="") as f:
            rows = list(csv.reader(f))
        header, body = rows[0], rows[1:]
        if header_written is None:
            writer.writerow(["scenario", "seed", "out", *header])
            header_written = header
        elif header != header_written:
            raise CommandError(f"{path}/summary.csv has other columns than the first run's")
        rel = os.path.relpath(path, root)
        for row in body:
            writer.writerow([scenario, seed, rel, *row])
    return out.getvalue()


def sweep(
    binary: Path,
    cluster: Cluster,
    scenarios: list[str],
    seeds: list[int] | None,
    out: Path,
    shards: int,
    replications: int | None,
    confidence: float | None,
    threads: int,
    keep_shards: Path | None,
) -> None:
    """Every scenario at every seed, each in ``shards`` shards, all at once."""
    layout = sweep_layout(scenarios, seeds, out)
    keys = {s: f"s{n}" for n, s in enumerate(dict.fromkeys(scenarios))}
    bundle_for = {keys[s]: bundles.build(s) for s in keys}
    runs = [
        RunSpec(
            scenario=s,
            out=path,
            shards=shards,
            args=sim_args(replications, seed, confidence, threads),
            label=f"{Path(s).stem}" + (f" seed {seed}" if seed is not None else ""),
            bundle_key=keys[s],
        )
        for s, seed, path in layout
    ]
    connect(cluster)
    fan_out_runs(binary, cluster, runs, bundle_for, keep_shards)
    table = sweep_table(layout, out)
    (out / "sweep.csv").write_text(table)
    log(f"wrote {out / 'sweep.csv'} ({len(runs)} run(s))")


# ---------------------------------------------------------------- frontier


def bisect_capacity(start: int, maximum: int, passes) -> int | None:
    """The smallest capacity in 1..=maximum for which ``passes`` holds
    (assumed monotone), probing as ``slaplan frontier --capacity`` does:
    from ``start`` downward by bisection if it passes, else doubling until
    one passes, then bisection."""
    start = min(max(start, 1), max(maximum, 1))
    if passes(start):
        lo, hi = 0, start
    else:
        lo = start
        while True:
            if lo >= maximum:
                return None
            nxt = min(lo * 2, maximum)
            if passes(nxt):
                lo, hi = lo, nxt
                break
            lo = nxt
    while hi - lo > 1:
        mid = lo + (hi - lo) // 2
        if passes(mid):
            hi = mid
        else:
            lo = mid
    return hi


def with_concurrency(scenario_text: str, endpoint: str, concurrency: int) -> bytes:
    """The scenario with ``endpoint``'s concurrency set (a probe)."""
    import tomli_w

    doc = tomllib.loads(scenario_text)
    found = [e for e in doc.get("endpoints", []) if e.get("name") == endpoint]
    if not found:
        names = ", ".join(str(e.get("name")) for e in doc.get("endpoints", []))
        raise CommandError(f"no endpoint {endpoint!r}: expected one of {names}")
    found[0]["concurrency"] = concurrency
    return tomli_w.dumps(doc).encode()


def summary_verdicts(out: Path, tenant: str | None) -> list[tuple[str, str, str]]:
    """(tenant, clause, verdict) of the judged clauses of a run's summary.csv."""
    with open(out / "summary.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return [(r["tenant"], r["clause"], r["verdict"]) for r in rows if tenant is None or r["tenant"] == tenant]


def frontier_threshold(
    binary: Path,
    cluster: Cluster,
    scenario: str,
    out: Path,
    shards: int,
    args: tuple[str, ...],
    frontier_args: list[str],
) -> None:
    """The threshold frontier of an existing clause, from a fanned-out run
    (``OUT/run``) read back by ``slaplan frontier --from``."""
    run_dir = out / "run"
    run(binary, cluster, scenario, run_dir, shards, args, None)
    proc = subprocess.run(
        [str(binary), "frontier", scenario, *frontier_args, "--from", str(run_dir), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    sys.stdout.write(proc.stdout)
    if proc.returncode != 0:
        raise CommandError(f"slaplan frontier --from failed (exit {proc.returncode}): {proc.stderr.strip()}")


def frontier_capacity(
    binary: Path,
    cluster: Cluster,
    scenario: str,
    out: Path,
    shards: int,
    args: tuple[str, ...],
    endpoint: str,
    maximum: int,
    tenant: str | None,
) -> int | None:
    """The smallest concurrency of ``endpoint`` making every clause (of
    ``tenant``) enforceable: each probe a fanned-out run of the scenario
    with that concurrency, in ``OUT/probes/concurrency-C``."""
    base = bundles.build(scenario)
    text = base.files[base.scenario_key()].decode()
    doc = tomllib.loads(text)
    start = next((int(e.get("concurrency", 1)) for e in doc.get("endpoints", []) if e.get("name") == endpoint), None)
    if start is None:
        with_concurrency(text, endpoint, 1)  # raises the error naming the endpoints
    connect(cluster)
    probes: list[tuple[int, bool, int, int]] = []

    def passes(c: int) -> bool:
        probe = base.with_scenario_bytes(with_concurrency(text, endpoint, c))
        probe_out = out / "probes" / f"concurrency-{c}"
        spec = RunSpec(scenario, probe_out, shards, args, f"concurrency {c}")
        fan_out_runs(binary, cluster, [spec], {"main": probe}, None)
        verdicts = summary_verdicts(probe_out, tenant)
        if not verdicts:
            raise CommandError("no clause to make enforceable")
        ok = sum(v == "enforceable" for _, _, v in verdicts)
        result = ok == len(verdicts)
        log(f"probe concurrency {c}: {ok}/{len(verdicts)} clause(s) enforceable -> {'passes' if result else 'fails'}")
        probes.append((c, result, ok, len(verdicts)))
        return result

    answer = bisect_capacity(start or 1, maximum, passes)
    probes.sort()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["concurrency", "all_enforceable", "enforceable", "clauses", "out"])
    for c, result, ok, n in probes:
        w.writerow([c, str(result).lower(), ok, n, f"probes/concurrency-{c}"])
    out.mkdir(parents=True, exist_ok=True)
    (out / "capacity.csv").write_text(buf.getvalue())
    if answer is None:
        print(f"no concurrency of {endpoint} up to {maximum} makes every clause enforceable")
    else:
        print(f"smallest concurrency of {endpoint} making every clause enforceable: {answer}")
    print(f"wrote {out / 'capacity.csv'}")
    return answer
