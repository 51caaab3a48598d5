"""Executes the notebooks in this folder headless, as CI does.

    python notebooks/run_all.py [NOTEBOOK ...] [--timeout SECONDS] [--keep DIR]

Each notebook runs in a fresh kernel with its own folder as working
directory. The notebooks themselves are never rewritten: executed copies
are written only with --keep, into DIR (keep DIR outside the clone). Exits
non-zero if any cell raises or times out, or if a committed notebook was
saved with outputs (they are kept clean so that diffs show code only).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

HERE = Path(__file__).resolve().parent


def saved_with_outputs(nb: nbformat.NotebookNode) -> list[str]:
    """The ids of code cells that carry outputs or an execution count."""
    return [
        cell.get("id", "?")
        for cell in nb.cells
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]


def run(path: Path, timeout: int, keep: Path | None) -> str | None:
    """Executes the notebook at `path`; returns why it failed, or None."""
    nb = nbformat.read(path, as_version=4)
    dirty = saved_with_outputs(nb)
    if dirty:
        return f"saved with outputs in cell(s) {', '.join(dirty)}: clear them before committing"
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:
        return str(e)
    finally:
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, keep / path.name)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every .ipynb beside this script")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell (default 600)")
    parser.add_argument("--keep", type=Path, help="write the executed notebooks into this directory")
    args = parser.parse_args()
    # The kernels inherit this: importing slaplan_nb leaves no __pycache__ in the clone.
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"

    notebooks = args.notebooks or sorted(HERE.glob("*.ipynb"))
    if not notebooks:
        print("no notebook found", file=sys.stderr)
        return 1
    failed = 0
    for path in notebooks:
        started = time.monotonic()
        why = run(path.resolve(), args.timeout, args.keep)
        seconds = time.monotonic() - started
        if why is None:
            print(f"ok      {path.name} ({seconds:.1f}s)")
        else:
            failed += 1
            print(f"FAILED  {path.name} ({seconds:.1f}s)\n{why}\n")
    print(f"notebooks: {len(notebooks) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
