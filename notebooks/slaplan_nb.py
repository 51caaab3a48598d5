"""What the notebooks share: finding the repository and running slaplan.

slaplan is the binary named by the environment variable SLAPLAN_BIN when it
is set (CI points it at the release build), else `cargo run --release
--quiet --` from the repository root, which builds it on first use.
"""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path


def repo_root(start: Path | None = None) -> Path:
    """The nearest directory above `start` (default: the working directory,
    which Jupyter sets to the notebook's folder) holding slaplan's Cargo.toml."""
    here = (start or Path.cwd()).resolve()
    for d in [here, *here.parents]:
        manifest = d / "Cargo.toml"
        if manifest.is_file():
            package = tomllib.loads(manifest.read_text()).get("package", {})
            if package.get("name") == "slaplan":
                return d
    raise FileNotFoundError(f"no slaplan Cargo.toml in {here} or above it")


def slaplan_command(root: Path) -> list[str]:
    """The command that starts slaplan, before its arguments."""
    binary = os.environ.get("SLAPLAN_BIN")
    if binary:
        return [binary]
    return ["cargo", "run", "--release", "--quiet", "--"]


def slaplan(*args: str | os.PathLike, root: Path | None = None) -> str:
    """Runs slaplan with `args` from the repository root and returns its
    standard output; raises with slaplan's message if it fails."""
    root = root or repo_root()
    command = slaplan_command(root) + [str(a) for a in args]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited with {done.returncode}:\n{done.stderr.strip()}"
        )
    return done.stdout
