"""``python -m slaplan_ray {run,sweep,frontier} ...``: see ``--help``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import bundle, commands, shards


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a probability strictly between 0 and 1, got {text!r}")
    return value


def common(p: argparse.ArgumentParser, shards_default: int | None = None) -> None:
    p.add_argument("--replications", type=positive, help="Monte Carlo replications (default: the scenario's)")
    p.add_argument(
        "--shards", type=positive, required=shards_default is None, default=shards_default,
        help="shards per run: one Ray task each",
    )
    p.add_argument("--seed", type=int, help="override the scenario's master seed")
    p.add_argument("--confidence", type=probability, help="required probability for 'enforceable' (default 0.95)")
    p.add_argument("--address", default="auto", help="Ray cluster address (default: auto, the running cluster)")
    p.add_argument("--cpus-per-shard", type=positive, default=1, help="Ray CPUs per shard task, and slaplan --threads")
    p.add_argument("--retries", type=int, default=3, help="times a failed shard is submitted again (default 3)")
    p.add_argument("--slaplan", help="the slaplan binary (default: $SLAPLAN_BIN, else slaplan on PATH)")
    p.add_argument("--out", type=Path, required=True, help="output directory")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m slaplan_ray",
        description="Fan slaplan's replications out on a Ray cluster: one task per shard, "
        "binary and scenario shipped through Ray, failed shards retried, results merged.",
    )
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="one scenario in S shards, merged into OUT (as `slaplan run --out OUT`)")
    p.add_argument("scenario", help="the scenario file (a relative path is recorded as typed in run.json)")
    common(p)
    p.add_argument("--keep-shards", type=Path, help="keep the shard directories here (default: removed)")

    p = sub.add_parser(
        "sweep",
        help="several scenarios and/or seeds, every shard of every run at once; "
        "OUT/<stem>[/seed-<n>]/ per run and OUT/sweep.csv",
    )
    p.add_argument("scenarios", nargs="+", help="scenario files (distinct file names)")
    p.add_argument("--seeds", help="seeds to run each scenario at: 1,2,5 or 1-4 or 1-3,7 (default: its own)")
    common(p)
    p.add_argument("--keep-shards", type=Path, help="keep the shard directories here (default: removed)")

    p = sub.add_parser(
        "frontier",
        help="slaplan frontier with its simulations fanned out: --tenant T --clause-index K "
        "(threshold), or --capacity ENDPOINT (bisection, each probe fanned out)",
    )
    p.add_argument("scenario")
    p.add_argument("--tenant", help="the tenant whose clause (or, with --capacity, whose clauses) to study")
    p.add_argument("--clause-index", type=int, help="the clause: its 0-based position among the tenant's clauses")
    p.add_argument("--capacity", metavar="ENDPOINT", help="bisect this endpoint's concurrency")
    p.add_argument("--max-capacity", type=positive, default=4096, help="largest concurrency to try (default 4096)")
    common(p)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        binary = commands.find_binary(args.slaplan)
        if args.retries < 0:
            raise commands.CommandError("--retries must be 0 or more")
        cluster = commands.Cluster(address=args.address, cpus_per_shard=args.cpus_per_shard, retries=args.retries)
        sim = commands.sim_args(args.replications, args.seed, args.confidence, args.cpus_per_shard)
        if args.command == "run":
            commands.run(binary, cluster, args.scenario, args.out, args.shards, sim, args.keep_shards)
        elif args.command == "sweep":
            seeds = commands.parse_seeds(args.seeds) if args.seeds else None
            commands.sweep(
                binary, cluster, args.scenarios, seeds, args.out, args.shards,
                args.replications, args.confidence, args.cpus_per_shard, args.keep_shards,
            )
        else:
            frontier(binary, cluster, args, sim)
    except (commands.CommandError, bundle.BundleError, shards.ShardInputError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except shards.ShardFailed as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


def frontier(binary: Path, cluster: commands.Cluster, args: argparse.Namespace, sim: tuple[str, ...]) -> None:
    if args.capacity is not None:
        if args.clause_index is not None:
            raise commands.CommandError("--capacity and --clause-index exclude each other")
        commands.frontier_capacity(
            binary, cluster, args.scenario, args.out, args.shards, sim, args.capacity, args.max_capacity, args.tenant
        )
        return
    if args.tenant is None or args.clause_index is None:
        raise commands.CommandError(
            "frontier needs --tenant T --clause-index K (a clause in the scenario file), or --capacity ENDPOINT"
        )
    extra = ["--tenant", args.tenant, "--clause-index", str(args.clause_index)]
    if args.confidence is not None:
        extra += ["--confidence", repr(args.confidence)]
    commands.frontier_threshold(binary, cluster, args.scenario, args.out, args.shards, sim, extra)


if __name__ == "__main__":
    sys.exit(main())
