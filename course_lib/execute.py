"""Re-execute course notebooks in place, each in a fresh kernel, storing the outputs.

Made so that re-executing an unchanged notebook changes nothing but output that
genuinely varies (timings): no timing metadata is recorded, and each cell's stream
outputs are merged into one per stream (a cell's prints can reach the client in a
different number of pieces on every run). The kernel runs in the notebook's folder,
as it does in JupyterLab.

Usage: ``python -m course_lib.execute notebooks/05_softmax.ipynb ...`` (what
``make notebooks`` runs).
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import nbformat
from nbclient import NotebookClient


def execute(path: pathlib.Path, timeout: int = 300) -> float:
    """Execute the notebook at ``path`` top to bottom and write it back; return the seconds taken."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        coalesce_streams=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    nbformat.write(notebook, path)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=pathlib.Path, help="notebooks to execute in place")
    parser.add_argument("--timeout", type=int, default=300, help="seconds one cell may take (default 300)")
    args = parser.parse_args(argv)
    for path in args.notebooks:
        print(f"{path}: executed in {execute(path, args.timeout):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
