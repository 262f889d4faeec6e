"""Re-execute course notebooks in place, each in a fresh kernel, storing the outputs.

Made so that re-executing an unchanged notebook changes nothing but output that
genuinely varies (timings): no timing metadata is recorded, and each cell's stream
outputs are merged into one per stream (a cell's prints can reach the client in a
different number of pieces on every run). Interactive widgets (ipywidgets sliders) leave
no trace but their text: no widget state in the notebook's metadata and no widget view in the
outputs (see ``drop_widget_views``). The kernel runs in the notebook's folder, as it does in
JupyterLab.

Usage: ``python -m course_lib.authoring.execute notebooks/05_softmax.ipynb ...`` (what
``make notebooks`` runs).
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import nbformat
from nbclient import NotebookClient

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def drop_widget_views(notebook: nbformat.NotebookNode) -> None:
    """Remove every widget view from the outputs of ``notebook``, keeping the rest of each output.

    A widget view names its model by a random id, different on every run, so storing it would
    change the notebook each time; and a stored id can never reconnect to a live widget anyway:
    in JupyterLab the widget exists only once its cell has run. What stays is the output's
    ``text/plain``, which says how to get the widget (course_lib.widgets: "run the notebook to
    drag it"). An output that held nothing but a widget view is removed, and so is widget
    state that JupyterLab may have saved in the notebook's metadata.
    """
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.outputs:
            output.get("data", {}).pop(WIDGET_VIEW, None)
        cell.outputs = [o for o in cell.outputs if "data" not in o or o["data"]]


def execute(path: pathlib.Path, timeout: int = 300) -> float:
    """Execute the notebook at ``path`` top to bottom and write it back; return the seconds taken."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        coalesce_streams=True,
        store_widget_state=False,  # widget state holds random model ids (see drop_widget_views)
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    drop_widget_views(notebook)
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
