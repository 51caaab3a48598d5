"""Fan slaplan's Monte Carlo replications out on a Ray cluster.

``python -m slaplan_ray run SCENARIO --replications N --shards S --out DIR``
submits one Ray task per shard. Each task runs the ``slaplan`` binary with
``run --shard i/S`` in a scratch directory on whichever node Ray picks; the
binary, the scenario and the trace files it replays travel through Ray's
object store (no shared disk is assumed), and the shard directory comes back
as the bytes of a tar archive. A failed shard is submitted again: a
replication depends only on the scenario, the seed and its index, so a
retry gives the same replications. The driver then runs ``slaplan merge``,
whose output is byte for byte the single-machine run's (``run.json``'s
``timing`` block aside).

``frontier`` and ``sweep`` fan out the same way; see ``python -m slaplan_ray
--help`` and the README's "Running on a cluster".

The modules: ``bundle`` (what is shipped: files, working directory,
arguments), ``shards`` (the Ray task and the driver's submit / retry /
progress loop), ``commands`` (run, sweep, frontier) and ``__main__`` (the
command line).
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
