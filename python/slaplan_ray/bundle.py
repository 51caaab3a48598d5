"""What a shard task needs on a worker that shares no disk with the driver.

A :class:`Bundle` holds the scenario file and every trace file it replays,
keyed by their paths relative to one root directory, and the driver's
working directory relative to that root. A worker lays the files out under
a scratch directory in the same shape and runs ``slaplan`` from the
mirrored working directory with the scenario argument exactly as the user
typed it, so relative trace paths resolve as on the driver and ``run.json``
records the same scenario path as a run on the driver would.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


class BundleError(Exception):
    """The scenario cannot be shipped (unreadable, or a path that cannot be mirrored)."""


@dataclass(frozen=True)
class Bundle:
    """Files to lay out on a worker, and how to run ``slaplan`` among them."""

    #: Relative POSIX path under the root -> file bytes.
    files: dict[str, bytes] = field(default_factory=dict)
    #: The driver's working directory, relative to the root ("." for the root).
    cwd: str = "."
    #: The scenario argument for ``slaplan`` (relative to ``cwd``).
    scenario_arg: str = ""

    def with_scenario_bytes(self, data: bytes) -> "Bundle":
        """The same bundle with the scenario file's bytes replaced (a probe
        scenario derived from the original, at the original's path)."""
        files = dict(self.files)
        files[self.scenario_key()] = data
        return Bundle(files=files, cwd=self.cwd, scenario_arg=self.scenario_arg)

    def scenario_key(self) -> str:
        """The scenario's key in :attr:`files`."""
        return _normalize(PurePosixPath(self.cwd) / self.scenario_arg)

    def lay_out(self, root: Path) -> Path:
        """Writes the files under ``root``; returns the working directory to run in."""
        for rel, data in sorted(self.files.items()):
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        cwd = root / self.cwd
        cwd.mkdir(parents=True, exist_ok=True)
        return cwd


def _normalize(p: PurePosixPath) -> str:
    """Removes "." and resolves ".." lexically; refuses to climb above the root."""
    parts: list[str] = []
    for part in p.parts:
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise BundleError(f"{p} climbs above the bundle's root")
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts) or "."


def replayed_traces(scenario_text: str, scenario_path: str) -> list[str]:
    """The ``replay.path`` of every workflow, as written (relative to the
    scenario file's directory)."""
    try:
        doc = tomllib.loads(scenario_text)
    except tomllib.TOMLDecodeError as e:
        raise BundleError(f"{scenario_path}: not TOML: {e} (run `slaplan validate` on it)") from e
    paths = []
    for tenant in doc.get("tenants", []) or []:
        for workflow in tenant.get("workflows", []) or []:
            replay = workflow.get("replay")
            if isinstance(replay, dict) and isinstance(replay.get("path"), str):
                paths.append(replay["path"])
    return paths


def build(scenario: str, cwd: str | None = None) -> Bundle:
    """The bundle for running ``scenario`` (a path as the user typed it,
    relative to ``cwd``, by default the current directory)."""
    cwd_abs = Path(os.path.abspath(cwd or os.getcwd()))
    scenario_abs = Path(os.path.abspath(cwd_abs / scenario))
    try:
        text = scenario_abs.read_text(encoding="utf-8")
    except OSError as e:
        raise BundleError(f"{scenario}: cannot read: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise BundleError(f"{scenario}: not UTF-8 text") from e
    wanted = [scenario_abs]
    for trace in replayed_traces(text, scenario):
        if os.path.isabs(trace):
            raise BundleError(
                f"{scenario}: replay path {trace!r} is absolute: only a path relative to the "
                "scenario file can be shipped to workers (and found there at the same place)"
            )
        wanted.append(Path(os.path.abspath(scenario_abs.parent / trace)))
    root = Path(os.path.commonpath([str(cwd_abs), *map(str, wanted)]))
    files: dict[str, bytes] = {}
    for path in wanted:
        try:
            files[PurePosixPath(path.relative_to(root)).as_posix()] = path.read_bytes()
        except OSError as e:
            raise BundleError(f"{path}: cannot read: {e.strerror or e}") from e
    arg = scenario if not os.path.isabs(scenario) else os.path.relpath(scenario_abs, cwd_abs)
    rel_cwd = PurePosixPath(cwd_abs.relative_to(root)).as_posix()
    return Bundle(files=files, cwd=rel_cwd, scenario_arg=arg)
