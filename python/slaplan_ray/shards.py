"""One Ray task per shard, and the driver loop that submits, retries and
collects them.

A task receives the ``slaplan`` binary and a :class:`~slaplan_ray.bundle.Bundle`
as Ray objects (put once by the driver, fetched once per node), lays them
out in a scratch directory, runs ``slaplan run SCENARIO --shard i/S ...``
and returns the shard directory as the bytes of a tar archive (entries
sorted, times and owners zeroed). A shard whose worker dies, or whose
``slaplan`` fails for a reason other than bad input, is submitted again, up
to ``retries`` times; bad input (exit 2) stops the whole run at once.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from .bundle import Bundle

#: Exit code of ``slaplan`` for bad input: retrying cannot help.
BAD_INPUT = 2


class ShardInputError(Exception):
    """``slaplan`` refused its input (exit 2): the same input fails again."""


class ShardFailed(Exception):
    """``slaplan`` failed in a way a retry may not repeat."""


@dataclass(frozen=True)
class ShardJob:
    """One shard of one run."""

    #: A name for progress lines and the shard's directory, e.g. "quickstart 2/4".
    label: str
    #: ``slaplan`` arguments after the scenario, without ``--shard`` and ``--out``.
    args: tuple[str, ...]
    #: 1-based shard index and shard count.
    index: int
    count: int
    #: The bundle this shard runs (an ObjectRef in flight).
    bundle_key: str = "main"


@dataclass
class ShardResult:
    """A finished shard."""

    job: ShardJob
    #: The job's position in the list given to :func:`fan_out`.
    position: int
    #: The shard directory as a tar archive.
    archive: bytes
    #: SHA-256 of the shard's replications.jsonl (equal for any retry).
    replications_sha256: str
    node: str
    pid: int
    seconds: float
    attempts: int


def deterministic_tar(directory: Path) -> bytes:
    """The files of ``directory`` (flat) as a tar archive whose bytes depend
    only on their names and contents."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for path in sorted(directory.iterdir()):
            if not path.is_file():
                continue
            data = path.read_bytes()
            info = tarfile.TarInfo(path.name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def unpack(archive: bytes, directory: Path) -> None:
    """Extracts a shard archive (regular files, no paths) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r") as tar:
        for member in tar.getmembers():
            name = member.name
            if not member.isfile() or "/" in name or name in ("", ".", ".."):
                raise ShardFailed(f"unexpected entry {name!r} in a shard archive")
            src = tar.extractfile(member)
            if src is None:
                raise ShardFailed(f"unreadable entry {name!r} in a shard archive")
            (directory / name).write_bytes(src.read())


def run_shard(binary: bytes, bundle: Bundle, job: ShardJob) -> dict:
    """Runs one shard here (on a Ray worker); returns the archive and where it ran."""
    import ray  # imported here: the unit tests of this module run without Ray

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="slaplan-shard-") as scratch:
        scratch_path = Path(scratch)
        exe = scratch_path / "bin" / "slaplan"
        exe.parent.mkdir()
        exe.write_bytes(zlib.decompress(binary))
        exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        cwd = bundle.lay_out(scratch_path / "root")
        out = scratch_path / "out" / "shard"
        argv = [
            str(exe),
            "run",
            bundle.scenario_arg,
            *job.args,
            "--shard",
            f"{job.index}/{job.count}",
            "--out",
            str(out),
        ]
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = proc.stderr.strip().splitlines()[-5:]
            why = f"slaplan exited {proc.returncode}: " + " / ".join(tail)
            if proc.returncode == BAD_INPUT:
                raise ShardInputError(why)
            raise ShardFailed(why)
        replications = (out / "replications.jsonl").read_bytes()
        return {
            "archive": deterministic_tar(out),
            "replications_sha256": hashlib.sha256(replications).hexdigest(),
            "node": ray.util.get_node_ip_address(),
            "pid": os.getpid(),
            "seconds": time.monotonic() - started,
        }


def log(line: str) -> None:
    """A progress line on standard error."""
    print(line, file=sys.stderr, flush=True)


_shippable: dict[tuple[str, int, int], bytes] = {}


def shippable_binary(path: Path) -> bytes:
    """The binary as shipped to the workers: without its debug information
    when ``strip`` is at hand (a release build's line tables are most of its
    size and change no result), zlib-compressed. Made once per binary (the
    probes of a capacity bisection reuse it)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _shippable:
        _shippable[key] = _strip_and_compress(path)
    return _shippable[key]


def _strip_and_compress(path: Path) -> bytes:
    data = path.read_bytes()
    strip = shutil.which("strip")
    if strip is not None:
        with tempfile.TemporaryDirectory(prefix="slaplan-bin-") as tmp:
            stripped = Path(tmp) / "slaplan"
            done = subprocess.run(
                [strip, "--strip-debug", "-o", str(stripped), str(path)], capture_output=True
            )
            if done.returncode == 0:
                data = stripped.read_bytes()
    return zlib.compress(data, 6)


def fan_out(
    binary: bytes,
    bundles: dict[str, Bundle],
    jobs: Iterable[ShardJob],
    *,
    cpus_per_shard: int,
    retries: int,
    on_done: Callable[[ShardResult], None] | None = None,
) -> list[ShardResult]:
    """Runs every job as a Ray task, retrying failed ones; returns the
    results in job order. ``binary`` is as :func:`shippable_binary` makes
    it. ``on_done`` sees each result as it arrives."""
    import ray

    task = ray.remote(num_cpus=cpus_per_shard, max_retries=0)(run_shard)
    binary_ref = ray.put(binary)
    bundle_refs = {key: ray.put(b) for key, b in bundles.items()}
    jobs = list(jobs)
    attempts = [0] * len(jobs)
    pending: dict = {}

    def submit(i: int) -> None:
        attempts[i] += 1
        job = jobs[i]
        ref = task.remote(binary_ref, bundle_refs[job.bundle_key], job)
        pending[ref] = i

    for i in range(len(jobs)):
        submit(i)
    results: list[ShardResult | None] = [None] * len(jobs)
    done = 0
    log(f"submitted {len(jobs)} shard task(s) to the Ray cluster")
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            i = pending.pop(ref)
            job = jobs[i]
            try:
                value = ray.get(ref)
            except ray.exceptions.RayTaskError as e:
                cause = e.cause if getattr(e, "cause", None) is not None else e
                if isinstance(cause, ShardInputError):
                    for other in pending:
                        ray.cancel(other, force=True)
                    raise ShardInputError(f"shard {job.label}: {cause}") from None
                if attempts[i] > retries:
                    raise ShardFailed(f"shard {job.label} failed {attempts[i]} time(s); last: {cause}") from None
                log(f"shard {job.label} failed on attempt {attempts[i]} ({cause}); retrying")
                submit(i)
                continue
            except ray.exceptions.RayError as e:
                # The worker or its node died, or the result was lost.
                if attempts[i] > retries:
                    raise ShardFailed(f"shard {job.label} failed {attempts[i]} time(s); last: {e}") from None
                first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                log(f"shard {job.label} lost on attempt {attempts[i]} ({type(e).__name__}: {first_line}); retrying")
                submit(i)
                continue
            result = ShardResult(
                job=job,
                position=i,
                archive=value["archive"],
                replications_sha256=value["replications_sha256"],
                node=value["node"],
                pid=value["pid"],
                seconds=value["seconds"],
                attempts=attempts[i],
            )
            results[i] = result
            done += 1
            retried = f", attempt {result.attempts}" if result.attempts > 1 else ""
            log(
                f"[{done}/{len(jobs)}] shard {job.label} done on {result.node} in {result.seconds:.1f}s{retried}"
            )
            if on_done is not None:
                on_done(result)
    return [r for r in results if r is not None]
